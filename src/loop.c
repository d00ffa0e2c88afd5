/* SPDX-License-Identifier: MIT */
/* poll() set and dispatch. The arrays are reserved at start-up for every
 * descriptor the configuration can have open at once. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <time.h>

#include "bounds.h"
#include "log.h"
#include "loop.h"
#include "port.h"

struct watcher {
	loop_fn fn;
	void *obj;
	uint32_t gen;
};

/* Coalescing under load: once the loop is busy, it lets a batch window pass
 * between wake-ups, so that what arrives meanwhile on every socket is
 * handled in one turn: fewer wake-ups, system calls, TLS records and
 * segments per query.
 * - Busy: woken at least BUSY_WAKEUPS times in a BUSY_WINDOW_US (1000 a
 *   second). While batching, it goes on as long as the loop spent less than
 *   half of the last BUSY_WINDOW_US blocked in poll with nothing to do (the
 *   windows themselves are waited out on purpose and do not count). Not by
 *   counting turns: a turn whose work outlasts the window leaves fewer turns
 *   than windows, and at 100,000 cached queries a second that rule switched
 *   batching off every other 10 ms, for ten times the wake-ups. At low load
 *   it never waits.
 * - The window is the time BATCH_TARGET queries take to arrive at the rate
 *   of the last BUSY_WINDOW_US, within [BATCH_MIN_US, the configured
 *   maximum]: waiting longer than that saves little more and only adds
 *   latency, and at high rates (where every wake-up finds plenty) the window
 *   shrinks by itself. So a fixed 5000 queries a second is handled in turns
 *   of the maximum, a full-rate load in short ones.
 * - Only when a window would gather at least BATCH_MIN_SHARE queries (2000
 *   a second at a 1 ms maximum): below that, a turn still has about one
 *   query to handle, so waiting saves little and only adds latency.
 * - A wake-up that already found FEW_EVENTS or more sockets ready (many busy
 *   TCP clients) is not followed by a wait. */
#define BUSY_WINDOW_US 10000u
#define BUSY_WAKEUPS 10
#define FEW_EVENTS 8
#define BATCH_TARGET 16u
#define BATCH_MIN_US 100u
#define BATCH_MIN_SHARE 2u

static struct pollfd *pfds;
static uint64_t last_wake, busy_window_start, idle;
static unsigned wakeups, last_ready, work;
static int batching;
static unsigned window_max = DEF_BATCH_WINDOW_US, window;
static struct watcher *watchers;
static unsigned cap, used;
static uint64_t turn_start, earliest;

int
loop_init(unsigned max)
{
	pfds = calloc(max, sizeof(*pfds));
	watchers = calloc(max, sizeof(*watchers));
	cap = max;
	return pfds != NULL && watchers != NULL ? 0 : -1;
}

unsigned
loop_window_for(unsigned units, unsigned max_us)
{
	uint64_t w = units > 0 ? (uint64_t)BATCH_TARGET * BUSY_WINDOW_US / units : max_us;

	if (w < BATCH_MIN_US)
		w = BATCH_MIN_US;
	if (w > max_us)
		w = max_us;
	return (unsigned)w;
}

int
loop_batching_next(int on, unsigned woken, unsigned idle_us, unsigned units, unsigned max_us)
{
	/* Too few queries to share a turn: waiting would only add latency. */
	if (max_us == 0 || (uint64_t)units * loop_window_for(units, max_us) <
	    (uint64_t)BATCH_MIN_SHARE * BUSY_WINDOW_US)
		return 0;
	if (!on)
		return woken >= BUSY_WAKEUPS;
	return (uint64_t)idle_us * 2 < BUSY_WINDOW_US;
}

void
loop_set_window(unsigned max_us)
{
	window_max = max_us;
}

void
loop_work(unsigned n)
{
	work += n;
}

void
loop_begin(uint64_t now)
{
	used = 0;
	turn_start = now;
	earliest = UINT64_MAX;
}

void
loop_watch(int fd, short events, loop_fn fn, void *obj, uint32_t gen)
{
	/* Nothing wanted this turn (a socket resting after a read, or with
	 * nothing to write): leave it out; poll's cost grows with every fd. */
	if (events == 0)
		return;
	if (used >= cap) {
		/* The set is sized for every descriptor we can own; a miss is a bug. */
		log_error("loop: pollfd set full cap=%u", cap);
		return;
	}
	pfds[used].fd = fd;
	pfds[used].events = events;
	pfds[used].revents = 0;
	watchers[used].fn = fn;
	watchers[used].obj = obj;
	watchers[used].gen = gen;
	used++;
}

void
loop_deadline(uint64_t t)
{
	if (t < earliest)
		earliest = t;
}

void
loop_poll(void)
{
	int timeout = -1, n;
	unsigned i;
	uint64_t now, polled = 0;

	if (batching && last_ready < FEW_EVENTS && turn_start < last_wake + window &&
	    earliest > last_wake + window) {
		uint64_t rest = last_wake + window - turn_start;
		struct timespec ts = { 0, (long)rest * 1000 };

		nanosleep(&ts, NULL);
		turn_start += rest;
	}
	if (earliest != UINT64_MAX) {
		uint64_t wait = earliest > turn_start ? earliest - turn_start : 0;
		/* Round up so a deadline is never polled for as "not yet". */
		uint64_t ms = (wait + 999) / 1000;
		timeout = ms > 60000 ? 60000 : (int)ms;
	}
	if (batching)
		polled = port_now_us();
	n = poll(pfds, used, timeout);
	now = port_now_us();
	if (batching)
		idle += now - polled;
	if (n <= 0) {
		if (n == -1 && errno != EINTR)
			log_warn("loop: poll");
		return;
	}
	last_wake = now;
	if (now - busy_window_start >= BUSY_WINDOW_US) {
		/* After a quiet spell the counts are stale: start afresh. */
		int fresh = now - busy_window_start < (uint64_t)2 * BUSY_WINDOW_US;
		unsigned units = fresh ? work : 0;

		batching = loop_batching_next(batching, fresh ? wakeups : 0,
		    fresh ? (unsigned)(idle < BUSY_WINDOW_US ? idle : BUSY_WINDOW_US) : BUSY_WINDOW_US,
		    units, window_max);
		window = loop_window_for(units, window_max);
		wakeups = 0;
		idle = 0;
		work = 0;
		busy_window_start = now;
	}
	wakeups++;
	last_ready = (unsigned)n;
	for (i = 0; i < used && n > 0; i++) {
		if (pfds[i].revents == 0)
			continue;
		n--;
		watchers[i].fn(watchers[i].obj, watchers[i].gen, pfds[i].revents, now);
	}
}
