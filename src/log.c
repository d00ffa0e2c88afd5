/* SPDX-License-Identifier: MIT */
/* Log output: formats a line with a wall-clock timestamp and writes it with a
 * single write(2), so lines from concurrent writers never interleave. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "bounds.h"
#include "log.h"
#include "port.h"

int log_level = LOG_LEVEL_WARN;

static int log_fd = 2;
static const char *log_path; /* owned by the configuration, lives forever */

static const char *const level_names[] = { "ERROR", "WARNING", "INFO", "DEBUG" };

int
log_open(const char *path)
{
	int fd;

	if (path == NULL) {
		if (log_fd != 2)
			close(log_fd);
		log_fd = 2;
		log_path = NULL;
		return 0;
	}
	/* Opened as root at start-up: never through a symbolic link, which
	 * whoever may write the directory could point at any file. */
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd == -1)
		return -1;
	if (log_fd != 2)
		close(log_fd);
	log_fd = fd;
	log_path = path;
	return 0;
}

int
log_reopen(void)
{
	return log_path == NULL ? 0 : log_open(log_path);
}

int
log_give_to(uid_t uid)
{
	struct stat st;

	if (log_fd == 2 || fstat(log_fd, &st) != 0 || st.st_uid == uid)
		return 0;
	/* Only a plain file with no other name: a hard link planted in the
	 * directory must not hand someone else's file over. */
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1) {
		errno = EPERM;
		return -1;
	}
	return fchown(log_fd, uid, (gid_t)-1);
}

static void log_write(const char *level, const char *fmt, va_list ap, int err)
    __attribute__((format(printf, 2, 0)));

static void
log_write(const char *level, const char *fmt, va_list ap, int err)
{
	char line[LOG_LINE_MAX];
	struct timeval tv;
	struct tm tm;
	size_t n;
	int r;

	/* UTC: the same on every box, and no time-zone code (8 KiB of a
	 * static binary); syslog and journald add local time if wanted. */
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = 0;
	r = snprintf(line, sizeof(line), "%04d-%02d-%02d %02d:%02d:%02d,%03dZ - %s - ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    (int)(tv.tv_usec / 1000), level);
	if (r > 0)
		n = (size_t)r;
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (r > 0)
		n = n + (size_t)r < sizeof(line) ? n + (size_t)r : sizeof(line) - 1;
	if (err != 0 && n < sizeof(line) - 1) {
		r = snprintf(line + n, sizeof(line) - n, ": %s", strerror(err));
		if (r > 0)
			n = n + (size_t)r < sizeof(line) ? n + (size_t)r : sizeof(line) - 1;
	}
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* A log that cannot be written has nowhere to report to. */
	if (write(log_fd, line, n) < 0)
		return;
}

void
log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	log_write(level_names[level], fmt, ap, 0);
	va_end(ap);
}

void
log_errno(int level, const char *fmt, ...)
{
	va_list ap;
	int err = errno;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	log_write(level_names[level], fmt, ap, err);
	va_end(ap);
}

void
log_stats(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_write("WARNING", fmt, ap, 0);
	va_end(ap);
}

void
log_query(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_write("QUERY", fmt, ap, 0);
	va_end(ap);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("dns-tls-proxy: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

int
log_ratelimit(struct log_limit *l, unsigned *skipped)
{
	return log_ratelimit_at(l, port_now_us(), skipped);
}

int
log_ratelimit_at(struct log_limit *l, uint64_t now, unsigned *skipped)
{
	unsigned interval_ms = l->interval_ms != 0 ? l->interval_ms : LOG_RATELIMIT_MS;

	if (l->last_us != 0 && now - l->last_us < (uint64_t)interval_ms * 1000) {
		l->suppressed++;
		return 0;
	}
	l->last_us = now;
	*skipped = l->suppressed;
	l->suppressed = 0;
	return 1;
}

int
log_quiet_failure(struct log_quiet *q, uint64_t now, unsigned *skipped)
{
	/* A monotonic clock may start near 0: keep 0 for "working". */
	if (now == 0)
		now = 1;
	q->failures++;
	if (q->since_us == 0) {
		q->since_us = now;
	} else if (now - q->last_us < (uint64_t)LOG_QUIET_MS * 1000) {
		q->suppressed++;
		return 0;
	}
	q->last_us = now;
	*skipped = q->suppressed;
	q->suppressed = 0;
	return 1;
}

int
log_quiet_recovered(struct log_quiet *q, uint64_t now, unsigned *failures, uint64_t *down_us)
{
	if (q->since_us == 0)
		return 0;
	*failures = q->failures;
	*down_us = now > q->since_us ? now - q->since_us : 0;
	q->since_us = q->last_us = 0;
	q->failures = q->suppressed = 0;
	return 1;
}
