/* SPDX-License-Identifier: MIT */
/* The answer-time histogram (stats.c): each time lands in the first bucket
 * whose bound is not below it (Prometheus "le"), the rest in the last. */
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

const struct unit_test stats_tests[] = {
	{ "stats_hist_buckets", test_hist_buckets },
	{ NULL, NULL },
};
