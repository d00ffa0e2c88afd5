/* SPDX-License-Identifier: MIT */
/* Rate-limited log lines (log.c) with a fake clock: the plain limiter, and
 * the per-nameserver one for failure lines while it stays down. */
#include "bounds.h"
#include "log.h"
#include "unit.h"

#define SEC 1000000ull
#define T0 (5000 * SEC)

static void
test_ratelimit(void)
{
	struct log_limit l = { 0, 0, 0 };
	unsigned skipped = 99;

	CHECK_EQ_INT(log_ratelimit_at(&l, T0, &skipped), 1);
	CHECK_EQ_INT(skipped, 0);
	CHECK_EQ_INT(log_ratelimit_at(&l, T0 + 1, &skipped), 0);
	CHECK_EQ_INT(log_ratelimit_at(&l, T0 + LOG_RATELIMIT_MS * 1000ull - 1, &skipped), 0);
	CHECK_EQ_INT(log_ratelimit_at(&l, T0 + LOG_RATELIMIT_MS * 1000ull, &skipped), 1);
	CHECK_EQ_INT(skipped, 2);
}

/* A nameserver down for an hour, failing every second: the first failure,
 * then one line a minute, each with the count held back; one line when it
 * works again, with the whole outage. */
static void
test_quiet_outage(void)
{
	struct log_quiet q = { 0, 0, 0, 0 };
	unsigned skipped = 99, lines = 0, held = 0, failures = 0, i;
	uint64_t down = 0;

	CHECK_EQ_INT(log_quiet_recovered(&q, T0, &failures, &down), 0);
	for (i = 0; i < 3600; i++) {
		if (log_quiet_failure(&q, T0 + i * SEC, &skipped)) {
			CHECK(lines > 0 || skipped == 0, "the first line holds nothing back");
			CHECK(lines == 0 || skipped == LOG_QUIET_MS / 1000 - 1,
			    "line %u held back %u", lines, skipped);
			lines++;
			held += skipped;
		}
	}
	CHECK_EQ_INT(lines, 3600 / (LOG_QUIET_MS / 1000));
	CHECK_EQ_INT(lines + held + q.suppressed, 3600);
	CHECK_EQ_INT(log_quiet_recovered(&q, T0 + 3600 * SEC, &failures, &down), 1);
	CHECK_EQ_INT(failures, 3600);
	CHECK_EQ_INT(down, 3600 * SEC);
	/* Once: working on, nothing more to say. */
	CHECK_EQ_INT(log_quiet_recovered(&q, T0 + 3601 * SEC, &failures, &down), 0);
	/* The next outage starts afresh: its first failure is logged at once. */
	CHECK_EQ_INT(log_quiet_failure(&q, T0 + 3602 * SEC, &skipped), 1);
	CHECK_EQ_INT(skipped, 0);
	CHECK_EQ_INT(log_quiet_recovered(&q, T0 + 3603 * SEC, &failures, &down), 1);
	CHECK_EQ_INT(failures, 1);
	CHECK_EQ_INT(down, SEC);
}

/* A monotonic clock at 0 (a fresh boot, a test) is not taken for "no
 * outage". */
static void
test_quiet_at_zero(void)
{
	struct log_quiet q = { 0, 0, 0, 0 };
	unsigned skipped, failures;
	uint64_t down;

	CHECK_EQ_INT(log_quiet_failure(&q, 0, &skipped), 1);
	CHECK_EQ_INT(log_quiet_failure(&q, 1, &skipped), 0);
	CHECK_EQ_INT(log_quiet_recovered(&q, 2, &failures, &down), 1);
	CHECK_EQ_INT(failures, 2);
}

const struct unit_test log_tests[] = {
	{ "log_ratelimit", test_ratelimit },
	{ "log_quiet_outage", test_quiet_outage },
	{ "log_quiet_at_zero", test_quiet_at_zero },
	{ NULL, NULL },
};
