/* SPDX-License-Identifier: MIT */
/* Unit-test frame: one runner binary (tests/run) with a table of named tests.
 * Each test file exports a NULL-terminated table of struct unit_test; the
 * runner (runner.c) lists the tables. CHECK records a failure with a message
 * and carries on, so one run reports every broken assertion. */
#ifndef UNIT_H
#define UNIT_H

#include <stdio.h>

struct unit_test {
	const char *name;
	void (*fn)(void);
};

extern int unit_failures;

void unit_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define CHECK(cond, ...)                                                  \
	do {                                                              \
		if (!(cond))                                              \
			unit_fail(__FILE__, __LINE__, __VA_ARGS__);       \
	} while (0)

#define CHECK_EQ_INT(got, want)                                           \
	do {                                                              \
		long long got_ = (long long)(got), want_ = (long long)(want); \
		if (got_ != want_)                                        \
			unit_fail(__FILE__, __LINE__, "%s = %lld, want %lld", \
			    #got, got_, want_);                           \
	} while (0)

/* test_pending.c: the pending-query table, made once per process, and
 * checked empty; -1 when it is not. */
int unit_pq_setup(void);

/* test_client.c: the event loop, made once per process for the tests
 * that drive one (loop_init(64)); -1 when it could not be. */
int unit_loop_setup(void);

#endif
