/* SPDX-License-Identifier: MIT */
/* Logging: one line per event, "key=value" details, to stderr or a file that
 * SIGHUP reopens. Levels mean: error needs a person, warning is degraded
 * service, info is lifecycle, debug is per query. */
#ifndef LOG_H
#define LOG_H

#include <stdint.h>
#include <sys/types.h>

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

extern int log_level;

/* Log to path (appending), or to stderr when path is NULL. Returns -1 with
 * errno set when the file cannot be opened; the previous target stays. */
int log_open(const char *path);
/* Reopen the same file (after rotation, on SIGHUP). */
int log_reopen(void);
/* Make the open log file uid's (its group and mode stay), so that after
 * dropping root the process can reopen it: rotation that recreates the
 * file with the old one's owner (logrotate's "create") then works, and so
 * does a SIGHUP with no rotation. Start-up, as root. Returns -1 with errno
 * set when the file is not a plain file with one name. */
int log_give_to(uid_t uid);

void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Like log_msg, with ": strerror(errno)" appended. */
void log_errno(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Stats lines are logged whatever the level, as the original tool did. */
void log_stats(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Query-log lines (--log-queries), whatever the level, marked QUERY. */
void log_query(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Start-up errors only: print one line and exit(1). */
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* One rate-limited kind of log line. */
struct log_limit {
	uint64_t last_us;
	unsigned suppressed;
	unsigned interval_ms; /* 0: LOG_RATELIMIT_MS */
};

/* True at most once per interval for this kind of line; then *skipped is
 * how many were held back since the last one logged. */
int log_ratelimit(struct log_limit *l, unsigned *skipped);
/* The same at a given time (monotonic microseconds), for tests. */
int log_ratelimit_at(struct log_limit *l, uint64_t now, unsigned *skipped);

/* Failure lines of one thing that goes down and comes back (a nameserver):
 * the first failure of an outage is logged, then at most one per
 * LOG_QUIET_MS with the count of those held back, and one line when it
 * works again. Zero is the state of a thing that works. */
struct log_quiet {
	uint64_t since_us;   /* first failure of this outage; 0 while it works */
	uint64_t last_us;    /* the last failure line logged */
	unsigned failures;   /* failures in this outage */
	unsigned suppressed; /* failure lines held back since the last one logged */
};

/* A failure at now: 1 when its line should be logged, with *skipped the
 * failure lines held back since the last one logged. */
int log_quiet_failure(struct log_quiet *q, uint64_t now, unsigned *skipped);
/* It works at now: 1 once after an outage, when a line should say so, with
 * *failures the failures of the outage and *down_us its length from the
 * first failure. The outage is over either way. */
int log_quiet_recovered(struct log_quiet *q, uint64_t now, unsigned *failures, uint64_t *down_us);

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warnx(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_warn(...) log_errno(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...)                                           \
	do {                                                    \
		if (log_level >= LOG_LEVEL_INFO)                \
			log_msg(LOG_LEVEL_INFO, __VA_ARGS__);   \
	} while (0)
#define log_debug(...)                                          \
	do {                                                    \
		if (log_level >= LOG_LEVEL_DEBUG)               \
			log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__);  \
	} while (0)

#endif
