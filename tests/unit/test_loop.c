/* SPDX-License-Identifier: MIT */
/* The loop's batching rules (loop_window_for, loop_batching_next): the wait
 * between wake-ups under load follows the arrival rate within its bounds,
 * and batching starts and stops where the comment in loop.c says. */
#include "bounds.h"
#include "loop.h"
#include "unit.h"

/* Work is counted per 10 ms: N queries a second is N/100 units. */
static void
test_window_follows_rate(void)
{
	/* 5000 a second: 16 queries take 3.2 ms, so the whole maximum. */
	CHECK_EQ_INT(loop_window_for(50, 1000), 1000);
	CHECK_EQ_INT(loop_window_for(50, 2000), 2000);
	/* 40000 a second: 16 queries take 400 us. */
	CHECK_EQ_INT(loop_window_for(400, 1000), 400);
	/* Full rate far beyond: never below the floor. */
	CHECK_EQ_INT(loop_window_for(100000, 1000), 100);
	/* Nothing counted: the maximum. */
	CHECK_EQ_INT(loop_window_for(0, 1000), 1000);
	/* A maximum under the floor is kept; 0 stays 0 (never wait). */
	CHECK_EQ_INT(loop_window_for(100000, 50), 50);
	CHECK_EQ_INT(loop_window_for(400, 0), 0);
	CHECK_EQ_INT(loop_window_for(0, 0), 0);
	/* The default and the largest allowed maximum stay within range. */
	CHECK_EQ_INT(loop_window_for(1, MAX_BATCH_WINDOW_US), MAX_BATCH_WINDOW_US);
	CHECK_EQ_INT(loop_window_for(1, DEF_BATCH_WINDOW_US), DEF_BATCH_WINDOW_US);
}

static void
test_batching_starts_and_stops(void)
{
	/* 5000 queries a second (50 in 10 ms): starts at 10 wake-ups in 10 ms
	 * (1000 a second), not below. */
	CHECK_EQ_INT(loop_batching_next(0, 9, 0, 50, 1000), 0);
	CHECK_EQ_INT(loop_batching_next(0, 10, 0, 50, 1000), 1);
	/* While batching it goes on while the loop spent less than half of the
	 * 10 ms blocked in poll with nothing to do, however few its wake-ups
	 * (turns longer than the window: 45 wake-ups in 10 ms at a 100 us
	 * window, the case that used to switch it off at full rate). */
	CHECK_EQ_INT(loop_batching_next(1, 45, 0, 1600, 1000), 1);
	CHECK_EQ_INT(loop_batching_next(1, 5, 4999, 50, 1000), 1);
	CHECK_EQ_INT(loop_batching_next(1, 5, 5000, 50, 1000), 0);
	CHECK_EQ_INT(loop_batching_next(1, 1, 9000, 50, 1000), 0);
	/* A quiet spell (nothing counted) stops it. */
	CHECK_EQ_INT(loop_batching_next(1, 0, 10000, 0, 1000), 0);
	CHECK_EQ_INT(loop_batching_next(1, 0, 0, 0, 1000), 0);
	/* Too few queries for a window to gather two: 1000 a second (a query
	 * and its answer make the wake-ups) at a 1 ms maximum, not at 2 ms;
	 * 2000 a second at 1 ms. Full rate always (the window shrinks to 16
	 * queries' worth). */
	CHECK_EQ_INT(loop_batching_next(0, 20, 0, 10, 1000), 0);
	CHECK_EQ_INT(loop_batching_next(1, 10, 0, 10, 1000), 0);
	CHECK_EQ_INT(loop_batching_next(0, 20, 0, 10, 2000), 1);
	CHECK_EQ_INT(loop_batching_next(0, 20, 0, 20, 1000), 1);
	CHECK_EQ_INT(loop_batching_next(0, 20, 0, 100000, 1000), 1);
	/* --batch-window 0: never, however busy. */
	CHECK_EQ_INT(loop_batching_next(0, 100000, 0, 100000, 0), 0);
	CHECK_EQ_INT(loop_batching_next(1, 100000, 0, 100000, 0), 0);
}

const struct unit_test loop_tests[] = {
	{ "loop_window_follows_rate", test_window_follows_rate },
	{ "loop_batching_starts_and_stops", test_batching_starts_and_stops },
	{ NULL, NULL },
};
