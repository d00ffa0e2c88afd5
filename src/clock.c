/* SPDX-License-Identifier: MIT */
/* The clock floor and the choice of the time certificates are checked
 * against while the system clock is not yet trusted (see clock.h). */
#include <stdio.h>

#include "clock.h"

#ifndef BUILD_EPOCH
#define BUILD_EPOCH 0
#endif
const int64_t clock_build_time = BUILD_EPOCH;

/* Year, month and day of a day count since 1970-01-01, proleptic Gregorian
 * (the inverse of the count in x509.c; eras of 400 years, March first). */
static void
civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;

	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
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
	int64_t days, secs, y;
	unsigned m, d;
	char *p = buf;

	if (t < CLOCK_MIN || t > CLOCK_MAX) {
		snprintf(buf, CLOCK_TEXT_MAX, "out of range");
		return buf;
	}
	days = (t >= 0 ? t : t - 86399) / 86400;
	secs = t - days * 86400;
	civil_from_days(days, &y, &m, &d);
	p = put_digits(p, (unsigned)y, 4);
	*p++ = '-';
	p = put_digits(p, m, 2);
	*p++ = '-';
	p = put_digits(p, d, 2);
	*p++ = 'T';
	p = put_digits(p, (unsigned)(secs / 3600), 2);
	*p++ = ':';
	p = put_digits(p, (unsigned)(secs / 60 % 60), 2);
	*p++ = ':';
	p = put_digits(p, (unsigned)(secs % 60), 2);
	*p++ = 'Z';
	*p = '\0';
	return buf;
}
