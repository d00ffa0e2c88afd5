/* SPDX-License-Identifier: MIT */
/* The time certificates are checked against. A router without a real-time
 * clock boots at 1970 and needs DNS to reach NTP, so the system clock is
 * trusted only at or after a floor: the build time of the binary, raised by
 * the last trusted time recorded in --time-file. Before the floor, the
 * verifier picks a time from the floor and the certificates themselves
 * (clock_judge). */
#ifndef CLOCK_H
#define CLOCK_H

#include <stdint.h>

/* The build time, seconds since the epoch (SOURCE_DATE_EPOCH when the
 * build set it, else the last commit's time). */
extern const int64_t clock_build_time;

/* "2026-01-31T12:00:00Z" and a NUL. */
#define CLOCK_TEXT_MAX 21

/* t as ISO 8601 UTC into buf (CLOCK_TEXT_MAX bytes); returns buf. Times
 * outside years 0..9999 print as "out of range". */
char *clock_format(int64_t t, char *buf);

#endif
