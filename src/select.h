/* SPDX-License-Identifier: MIT */
/* Resolver choice: which nameserver a query goes to (--strategy), the
 * occasional query that keeps a passed-over nameserver's answer time
 * current, the smoothed answer time itself, and whether a SERVFAIL or
 * REFUSED answer is asked again of another provider (--retry-servfail).
 * Pure functions over a small view of each nameserver, with the clock
 * passed in; the nameserver code fills the view and acts on the answer. */
#ifndef SELECT_H
#define SELECT_H

#include <stdint.h>

#include "conf.h"

enum select_strategy {
	SELECT_FASTEST,     /* lowest smoothed answer time; the others measured now and then */
	SELECT_ORDER,       /* the first usable in the order given */
	SELECT_ROUND_ROBIN, /* each usable one in turn */
};

/* One nameserver as selection sees it. */
struct select_ns {
	/* Set by the caller before each call. */
	uint8_t ready;        /* a ready connection with room: a query can go now */
	uint8_t usable;       /* not resting after a failure: a connection may be opened */
	uint8_t provider;     /* select_providers: one per certificate name */
	/* Kept here between calls; all zero at start. */
	uint32_t srtt_us;     /* smoothed answer time, 0 until measured */
	uint64_t measured_us; /* when srtt_us last took a sample */
	uint64_t picked_us;   /* when select_pick last chose it */
	uint32_t passed;      /* queries select_pick sent elsewhere since */
};

struct select_state {
	enum select_strategy strategy;
	unsigned next;        /* round-robin: where the next look starts */
};

/* "fastest", "order", "round-robin": the strategy, or -1. */
int select_strategy_parse(const char *name);
const char *select_strategy_name(enum select_strategy s);

/* Number the providers: provider[i] is the index of the first nameserver
 * with ns[i]'s certificate name (1.1.1.1 and 1.0.0.1 are one provider,
 * cloudflare-dns.com: a SERVFAIL from one is the other's answer too).
 * Returns how many providers there are; provider may be NULL. */
unsigned select_providers(const struct conf_nameserver *ns, unsigned n, uint8_t *provider);

/* The nameserver the next query goes to, among the ready ones, or -1 when
 * none is ready. The choice is recorded (picked_us, passed). */
int select_pick(struct select_state *s, struct select_ns *ns, unsigned n, uint64_t now);

/* The nameserver a new connection should be opened to: the one the
 * strategy would choose if every usable nameserver had a ready connection,
 * when it has none. -1 when that one is ready or none is usable. */
int select_want(const struct select_state *s, const struct select_ns *ns, unsigned n,
    uint64_t now);

/* Take an answer time sample (an answer, or the penalty for a timeout).
 * A sample after a long gap counts for half: the old figure is stale. */
void select_sample(struct select_ns *ns, uint64_t rtt_us, uint64_t now);

/* An answer with rcode came from nameserver from for a query asked tries
 * times before (0: first answer), due by deadline. The nameserver of
 * another provider to ask again, or -1 to pass the answer on: only for
 * SERVFAIL and REFUSED, only once, only when enabled (--retry-servfail)
 * and when enough time is left. */
int select_retry(const struct select_state *s, const struct select_ns *ns, unsigned n,
    unsigned from, int rcode, unsigned tries, int enabled, uint64_t now, uint64_t deadline);

#endif
