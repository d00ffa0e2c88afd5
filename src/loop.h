/* SPDX-License-Identifier: MIT */
/* The event loop: one poll() a turn over a pollfd set rebuilt from every
 * object's state, with the timeout set by the earliest absolute deadline.
 * Objects register interest each turn; nothing is remembered between turns. */
#ifndef LOOP_H
#define LOOP_H

#include <stdint.h>

typedef void (*loop_fn)(void *obj, uint32_t gen, short revents, uint64_t now);

/* Reserve room for max descriptors. Start-up only. */
int loop_init(unsigned max);
/* Watch fd for events this turn; fn(obj, gen, revents, now) runs when it is
 * ready. POLLERR and POLLHUP always come back as readiness, so the next read
 * or write reports the error through the normal path. With no events the fd
 * is left out of this turn's set (its errors show when it is next watched). */
void loop_watch(int fd, short events, loop_fn fn, void *obj, uint32_t gen);
/* Longest wait between wake-ups under load (microseconds; 0: never wait).
 * See loop.c. */
void loop_set_window(unsigned max_us);
/* Count n units of work (queries received) towards the load estimate. */
void loop_work(unsigned n);
/* The batching rules, exposed for tests. Over the last 10 ms, with work
 * units (queries) counted, wake-ups seen and the time spent blocked in poll
 * while batching (idle_us): the window to use next (microseconds, at most
 * max_us), and whether to batch at all. */
unsigned loop_window_for(unsigned units, unsigned max_us);
int loop_batching_next(int batching, unsigned wakeups, unsigned idle_us, unsigned units,
    unsigned max_us);
/* Wake no later than t (monotonic microseconds) this turn. */
void loop_deadline(uint64_t t);
/* Start a turn: forget last turn's interest. */
void loop_begin(uint64_t now);
/* Poll until something is ready or the earliest deadline, then dispatch. */
void loop_poll(void);

#endif
