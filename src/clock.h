/* SPDX-License-Identifier: MIT */
/* The time certificates are checked against. A router without a real-time
 * clock boots at 1970 and needs DNS to reach NTP, so the system clock is
 * trusted only at or after a floor: the build time of the binary, or the
 * last trusted time recorded in --time-file when that is later. Before the
 * floor, the verifier checks a chain at the latest of the floor and the
 * chain's own notBefore dates (clock_judge). */
#ifndef CLOCK_H
#define CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* The build time, seconds since the epoch (SOURCE_DATE_EPOCH when the
 * build set it, else the last commit's time). */
extern const int64_t clock_build_time;

/* What a chain's dates were checked against. */
enum clock_basis {
	CLOCK_SYSTEM,	/* the system clock, at or after the floor */
	CLOCK_BUILD,	/* the floor: the build time */
	CLOCK_SAVED,	/* the floor: the last trusted time, from --time-file */
	CLOCK_CERT,	/* the newest notBefore in the chain, after the floor */
};

struct clock_verdict {
	enum clock_basis basis;
	int64_t at;	/* the time the chain was checked against */
	int valid;	/* every certificate in the chain is valid at `at` */
};

/* The decision, a pure function of its arguments (all in seconds since
 * the epoch): now is the system clock, build and saved the two floors
 * (saved 0 when there is none), newest_nb the latest notBefore and
 * oldest_na the earliest notAfter of the certificates in the chain. At or
 * after the floor, the chain is checked at now; before it, at the latest
 * of the floor and newest_nb, so a certificate issued after the build
 * still validates, and one that expired before the floor never does. */
struct clock_verdict clock_judge(int64_t now, int64_t build, int64_t saved,
    int64_t newest_nb, int64_t oldest_na);

/* The floor in force: the build time, or the saved time when later. */
int64_t clock_floor(void);
/* The saved time read from --time-file at start-up (0: none). */
int64_t clock_saved(void);

/* Start-up: open (creating it if needed) the time file, whose one line is
 * the last trusted time, and take that time as a further floor. A file
 * that is empty or does not hold a time counts as no time. Returns 0, or
 * -1 with one line in err. */
int clock_open_file(const char *path, char *err, size_t errlen);

/* A chain verified against the system clock at now: from then on the
 * system clock is trusted, and clock_save records it. */
void clock_confirm(int64_t now);

/* Record the system clock (now) in the time file, once it has been
 * confirmed, at most once an hour unless final (at stop), and never
 * a time earlier than the one the file holds. Returns -1 (errno set) when
 * the write failed, else 0. */
int clock_save(int64_t now, int final);

/* "2026-01-31T12:00:00Z" and a NUL. */
#define CLOCK_TEXT_MAX 21

/* t as ISO 8601 UTC into buf (CLOCK_TEXT_MAX bytes); returns buf. Times
 * outside years 0..9999 print as "out of range". */
char *clock_format(int64_t t, char *buf);

#endif
