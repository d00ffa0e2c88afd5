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

/* Coalescing under load: when the loop has been woken often (at least
 * BUSY_WAKEUPS times in the last BUSY_WINDOW_US) but the last wake-up found
 * little to do (fewer than FEW_EVENTS ready sockets), it lets
 * BATCH_WINDOW_US pass between wake-ups, so that what arrives meanwhile on
 * every socket is handled in one turn: fewer wake-ups, system calls, TLS
 * records and segments per query. At low load it never waits, and when
 * every wake-up already finds many sockets ready (many busy TCP clients),
 * waiting would only add latency. */
#define BUSY_WINDOW_US 10000u
#define BUSY_WAKEUPS 10
#define FEW_EVENTS 8

static struct pollfd *pfds;
static uint64_t last_wake, busy_window_start;
static unsigned wakeups, wakeups_before, last_ready;
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
	uint64_t now;

	if (wakeups_before >= BUSY_WAKEUPS && last_ready < FEW_EVENTS &&
	    turn_start < last_wake + BATCH_WINDOW_US &&
	    earliest > last_wake + BATCH_WINDOW_US) {
		uint64_t rest = last_wake + BATCH_WINDOW_US - turn_start;
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
	n = poll(pfds, used, timeout);
	if (n <= 0) {
		if (n == -1 && errno != EINTR)
			log_warn("loop: poll");
		return;
	}
	now = port_now_us();
	last_wake = now;
	if (now - busy_window_start >= BUSY_WINDOW_US) {
		wakeups_before = now - busy_window_start < (uint64_t)2 * BUSY_WINDOW_US ? wakeups : 0;
		wakeups = 0;
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
