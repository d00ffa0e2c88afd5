/* SPDX-License-Identifier: MIT */
/* The answer-time histogram (stats.c): each time lands in the first bucket
 * whose bound is not below it (Prometheus "le"), the rest in the last. */
#include <stdio.h>
#include <string.h>

#include "stats.h"
#include "unit.h"

static void
test_hist_buckets(void)
{
	struct stats_hist h;
	unsigned i;

	memset(&h, 0, sizeof(h));
	for (i = 1; i < STATS_HIST_BUCKETS - 1; i++)
		CHECK(stats_hist_bounds_us[i] > stats_hist_bounds_us[i - 1], "bounds not rising at %u", i);
	for (i = 0; i < STATS_HIST_BUCKETS - 1; i++) {
		stats_hist_add(&h, stats_hist_bounds_us[i]);
		stats_hist_add(&h, stats_hist_bounds_us[i] + 1);
	}
	/* Each bound in its own bucket, one more than it in the next. */
	CHECK_EQ_INT(h.bucket[0], 1);
	for (i = 1; i < STATS_HIST_BUCKETS - 1; i++)
		CHECK_EQ_INT(h.bucket[i], 2);
	CHECK_EQ_INT(h.bucket[STATS_HIST_BUCKETS - 1], 1);
	stats_hist_add(&h, 0);
	stats_hist_add(&h, 60000000);
	CHECK_EQ_INT(h.bucket[0], 2);
	CHECK_EQ_INT(h.bucket[STATS_HIST_BUCKETS - 1], 2);
	CHECK_EQ_INT(stats_hist_count(&h), 2 * (STATS_HIST_BUCKETS - 1) + 2);
	CHECK_EQ_INT(h.sum_us, 2 * 9444250 + 14 + 60000000);
}

/* The log lines' fixed point (stats_fixed, printed "%llu.%02u") says what
 * %.2f and %.1f of the quotient said, but at an exact half, which it rounds
 * up (printf: to the nearest double, then half to even). */
static void
test_fixed(void)
{
	char want[32], got[32];
	uint64_t us, t;

	for (us = 0; us < 300000; us += us < 3000 ? 1 : 7) {
		if (us % 10 == 5)
			continue;
		snprintf(want, sizeof(want), "%.2f", us / 1000.0);
		t = stats_fixed(us, 1000, 2);
		snprintf(got, sizeof(got), "%llu.%02u", (unsigned long long)(t / 100), (unsigned)(t % 100));
		CHECK(strcmp(got, want) == 0, "%llu us: %s ms, want %s", (unsigned long long)us, got, want);
		if (us % 100000 == 50000)
			continue;
		snprintf(want, sizeof(want), "%.1f", us / 1e6);
		t = stats_fixed(us, 1000000, 1);
		snprintf(got, sizeof(got), "%llu.%u", (unsigned long long)(t / 10), (unsigned)(t % 10));
		CHECK(strcmp(got, want) == 0, "%llu us: %s s, want %s", (unsigned long long)us, got, want);
	}
	/* Halves round up. */
	CHECK_EQ_INT(stats_fixed(1235, 1000, 2), 124);
	CHECK_EQ_INT(stats_fixed(1, 8, 2), 13);
	CHECK_EQ_INT(stats_fixed(1, 3, 2), 33);
	CHECK_EQ_INT(stats_fixed(2, 3, 2), 67);
	/* qps: requests over microseconds, 10^8 times, past 64 bits before the
	 * division; and an interval of a year. */
	CHECK_EQ_INT(stats_fixed(300000000000ull, 60000000, 8), 500000000000ull);
	CHECK_EQ_INT(stats_fixed(12345678, 365ull * 86400 * 1000000, 8), 39);
	CHECK(stats_fixed(UINT64_MAX, 1, 0) == UINT64_MAX, "no digits");
}

const struct unit_test stats_tests[] = {
	{ "stats_hist_buckets", test_hist_buckets },
	{ "stats_fixed", test_fixed },
	{ NULL, NULL },
};
