/* SPDX-License-Identifier: MIT */
/* The clock floor, the time file that raises it, and the choice of the
 * time certificates are checked against while the system clock is below
 * it (see clock.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bounds.h"
#include "clock.h"

#ifndef BUILD_EPOCH
#define BUILD_EPOCH 0
#endif
const int64_t clock_build_time = BUILD_EPOCH;

static int64_t saved;		/* from the time file at start-up; 0: none */
static int64_t confirmed;	/* when a chain verified against the system clock */
static int64_t written;		/* the latest time in the file */
static int64_t next_write;	/* no write before this system time */
static int time_fd = -1;	/* the time file, open for the process's life */

struct clock_verdict
clock_judge(int64_t now, int64_t build, int64_t saved_time, int64_t newest_nb,
    int64_t oldest_na)
{
	struct clock_verdict v;
	int64_t floor = saved_time > build ? saved_time : build;

	if (now >= floor) {
		v.basis = CLOCK_SYSTEM;
		v.at = now;
	} else if (newest_nb > floor) {
		v.basis = CLOCK_CERT;
		v.at = newest_nb;
	} else {
		v.basis = saved_time > build ? CLOCK_SAVED : CLOCK_BUILD;
		v.at = floor;
	}
	v.valid = newest_nb <= v.at && v.at <= oldest_na;
	return v;
}

int64_t
clock_floor(void)
{
	return saved > clock_build_time ? saved : clock_build_time;
}

int64_t
clock_saved(void)
{
	return saved;
}

int
clock_open_file(const char *path, char *err, size_t errlen)
{
	char text[64];
	ssize_t n;
	int64_t t = 0;
	size_t i;

	/* Opened once, before privileges are dropped: the writes that follow
	 * need neither the path (a chroot) nor the rights to the directory. */
	if ((time_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	do
		n = read(time_fd, text, sizeof(text) - 1);
	while (n == -1 && errno == EINTR);
	if (n == -1) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	if (n == 0)
		return 0;	/* a new file */
	/* Decimal seconds since the epoch, then a newline. */
	for (i = 0; i < (size_t)n && i < 12 && text[i] >= '0' && text[i] <= '9'; i++)
		t = t * 10 + (text[i] - '0');
	if (i == 0 || i == 12 || (i < (size_t)n && text[i] != '\n')) {
		snprintf(err, errlen, "%s holds no time; ignored", path);
		return 1;
	}
	if (t > clock_build_time + CLOCK_SAVED_MAX_S) {
		snprintf(err, errlen, "%s holds a time over 20 years after the build; ignored", path);
		return 1;
	}
	saved = written = t;
	return 0;
}

void
clock_confirm(int64_t now)
{
	if (now > confirmed)
		confirmed = now;
}

int
clock_save(int64_t now, int final)
{
	char text[24];
	int n;

	if (time_fd == -1 || confirmed == 0 || now <= written || (!final && now < next_write))
		return 0;
	next_write = now + CLOCK_SAVE_INTERVAL_S;
	n = snprintf(text, sizeof(text), "%lld\n", (long long)now);
	/* Rewritten in place: one short write, then the length set. */
	if (lseek(time_fd, 0, SEEK_SET) != 0 || write(time_fd, text, (size_t)n) != n ||
	    ftruncate(time_fd, n) != 0 || fsync(time_fd) != 0)
		return -1;
	written = now;
	return 0;
}

/* Year, month and day of a day count since 1970-01-01, proleptic
 * Gregorian, for years 0 to 9999 (the inverse of x509.c's count: eras of
 * 400 years starting in March, counted from year -400 to stay unsigned). */
static void
civil_from_days(unsigned days, unsigned *y, unsigned *m, unsigned *d)
{
	unsigned z = days, era = z / 146097, doe = z - era * 146097;
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;

	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * 400 + (*m <= 2) - 400;
}

/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: what X.509 dates can say. */
#define CLOCK_MIN (-62167219200LL)
#define CLOCK_MAX 253402300799LL

/* width decimal digits of v at p. */
static char *
put_digits(char *p, unsigned v, int width)
{
	int i;

	for (i = width - 1; i >= 0; i--, v /= 10)
		p[i] = (char)('0' + v % 10);
	return p + width;
}

char *
clock_format(int64_t t, char *buf)
{
	unsigned secs, y, m, d;
	uint64_t u;
	char *p = buf;

	if (t < CLOCK_MIN || t > CLOCK_MAX) {
		snprintf(buf, CLOCK_TEXT_MAX, "out of range");
		return buf;
	}
	/* Seconds from 0000-03-01 less 400 years, which civil_from_days counts
	 * its days from. */
	u = (uint64_t)(t + (719468LL + 146097) * 86400);
	secs = (unsigned)(u % 86400);
	civil_from_days((unsigned)(u / 86400), &y, &m, &d);
	p = put_digits(p, y, 4);
	*p++ = '-';
	p = put_digits(p, m, 2);
	*p++ = '-';
	p = put_digits(p, d, 2);
	*p++ = 'T';
	p = put_digits(p, secs / 3600, 2);
	*p++ = ':';
	p = put_digits(p, secs / 60 % 60, 2);
	*p++ = ':';
	p = put_digits(p, secs % 60, 2);
	*p++ = 'Z';
	*p = '\0';
	return buf;
}
