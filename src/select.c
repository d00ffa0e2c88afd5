/* SPDX-License-Identifier: MIT */
/* Resolver choice (select.h). The rule that keeps "fastest" learning: a
 * usable nameserver other than the fastest is due a query once both
 * SELECT_EXPLORE_MS and SELECT_EXPLORE_SHARE queries to the others have
 * passed since its last one; the next query goes to the one due longest.
 * Its answer time is then at most about that old, and it costs at most
 * one query in SELECT_EXPLORE_SHARE at low rates, one per SELECT_EXPLORE_MS
 * at high rates. A sample taken after such a gap counts for half, so two or
 * three of them follow a nameserver whose speed changed. */
#include <strings.h>
#include <string.h>

#include "bounds.h"
#include "dns.h"
#include "feature.h"
#include "select.h"

/* The strategy in force: a build without the choice (DTP_NO_SELECT, conf.c
 * refuses any other) has "order" only, and the rest compiles away. */
#define STRATEGY(s) (FEATURE_SELECT ? (s)->strategy : SELECT_ORDER)

#define EXPLORE_US ((uint64_t)SELECT_EXPLORE_MS * 1000)
#define RETRY_MIN_LEFT_US ((uint64_t)SELECT_RETRY_MIN_LEFT_MS * 1000)
/* No answer time is longer than the longest --timeout. */
#define SRTT_MAX_US 60000000u

static const char *const strategy_names[] = { "fastest", "order", "round-robin" };

int
select_strategy_parse(const char *name)
{
	unsigned i;

	for (i = 0; i < sizeof(strategy_names) / sizeof(strategy_names[0]); i++)
		if (strcmp(name, strategy_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
select_strategy_name(enum select_strategy s)
{
	return (unsigned)s < sizeof(strategy_names) / sizeof(strategy_names[0]) ?
	    strategy_names[s] : "?";
}

unsigned
select_providers(const struct conf_nameserver *ns, unsigned n, uint8_t *provider)
{
	unsigned i, j, count = 0;

	for (i = 0; i < n; i++) {
		for (j = 0; j < i && strcasecmp(ns[i].name, ns[j].name) != 0; j++)
			;
		if (j == i)
			count++;
		if (provider != NULL)
			provider[i] = (uint8_t)j;
	}
	return count;
}

static int
usable(const struct select_ns *ns)
{
	return ns->usable || ns->ready;
}

/* Lowest smoothed time first; an unmeasured one (0) before any, so each is
 * tried; ties to the order given. */
static int
fastest_of(const struct select_ns *ns, unsigned n, int ready_only)
{
	int best = -1;
	unsigned i;

	for (i = 0; i < n; i++) {
		if (ready_only ? !ns[i].ready : !usable(&ns[i]))
			continue;
		if (best < 0 || ns[i].srtt_us < ns[best].srtt_us)
			best = (int)i;
	}
	return best;
}

/* The passed-over nameserver due a query (see the top of the file), the
 * one waiting longest, or -1. */
static int
explore_of(const struct select_ns *ns, unsigned n, int ready_only, int best, uint64_t now)
{
	int due = -1;
	unsigned i;

	for (i = 0; i < n; i++) {
		if ((int)i == best || (ready_only ? !ns[i].ready : !usable(&ns[i])))
			continue;
		if (now - ns[i].picked_us < EXPLORE_US || ns[i].passed < SELECT_EXPLORE_SHARE)
			continue;
		if (due < 0 || ns[i].picked_us < ns[due].picked_us)
			due = (int)i;
	}
	return due;
}

static int
choose(const struct select_state *s, const struct select_ns *ns, unsigned n, int ready_only,
    uint64_t now)
{
	unsigned i, k;
	int best;

	switch (STRATEGY(s)) {
	case SELECT_ORDER:
		for (i = 0; i < n; i++)
			if (ready_only ? ns[i].ready : usable(&ns[i]))
				return (int)i;
		return -1;
	case SELECT_ROUND_ROBIN:
		for (k = 0; k < n; k++) {
			i = (s->next + k) % n;
			if (ready_only ? ns[i].ready : usable(&ns[i]))
				return (int)i;
		}
		return -1;
	case SELECT_FASTEST:
		break;
	}
	best = fastest_of(ns, n, ready_only);
	if (best >= 0) {
		int due = explore_of(ns, n, ready_only, best, now);

		if (due >= 0)
			return due;
	}
	return best;
}

int
select_pick(struct select_state *s, struct select_ns *ns, unsigned n, uint64_t now)
{
	int c = n > 0 ? choose(s, ns, n, 1, now) : -1;
	unsigned i;

	if (c < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (ns[i].passed < UINT32_MAX)
			ns[i].passed++;
	ns[c].picked_us = now;
	ns[c].passed = 0;
	s->next = ((unsigned)c + 1) % n;
	return c;
}

int
select_want(const struct select_state *s, const struct select_ns *ns, unsigned n, uint64_t now)
{
	int c;

	if (n == 0)
		return -1;
	if (STRATEGY(s) == SELECT_ROUND_ROBIN) {
		unsigned k;

		/* Every usable one takes its turn: each needs a connection. */
		for (k = 0; k < n; k++) {
			unsigned i = (s->next + k) % n;

			if (ns[i].usable && !ns[i].ready)
				return (int)i;
		}
		return -1;
	}
	c = choose(s, ns, n, 0, now);
	return c >= 0 && !ns[c].ready ? c : -1;
}

void
select_sample(struct select_ns *ns, uint64_t rtt_us, uint64_t now)
{
	uint64_t rtt = rtt_us == 0 ? 1 : rtt_us > SRTT_MAX_US ? SRTT_MAX_US : rtt_us;

	if (ns->srtt_us == 0)
		ns->srtt_us = (uint32_t)rtt;
	else if (now - ns->measured_us >= EXPLORE_US)
		ns->srtt_us = (uint32_t)(((uint64_t)ns->srtt_us + rtt) / 2);
	else
		ns->srtt_us = (uint32_t)(((uint64_t)ns->srtt_us * 7 + rtt) / 8);
	ns->measured_us = now;
}

/* For a retry: a ready one before one that needs a connection; then by the
 * strategy (fastest: a measured time before none, lower before higher;
 * otherwise the order given). */
static int
retry_better(const struct select_state *s, const struct select_ns *a, const struct select_ns *b)
{
	if (a->ready != b->ready)
		return a->ready;
	if (STRATEGY(s) != SELECT_FASTEST)
		return 0;
	if ((a->srtt_us == 0) != (b->srtt_us == 0))
		return a->srtt_us != 0;
	return a->srtt_us < b->srtt_us;
}

int
select_retry(const struct select_state *s, const struct select_ns *ns, unsigned n,
    unsigned from, int rcode, unsigned tries, int enabled, uint64_t now, uint64_t deadline)
{
	uint64_t need;
	int best = -1;
	unsigned i;

	if (!enabled || tries > 0 || from >= n ||
	    (rcode != DNS_RCODE_SERVFAIL && rcode != DNS_RCODE_REFUSED))
		return -1;
	for (i = 0; i < n; i++) {
		if (i == from || ns[i].provider == ns[from].provider || !usable(&ns[i]))
			continue;
		if (best < 0 || retry_better(s, &ns[i], &ns[best]))
			best = (int)i;
	}
	if (best < 0)
		return -1;
	need = 2 * (uint64_t)ns[best].srtt_us;
	if (need < RETRY_MIN_LEFT_US)
		need = RETRY_MIN_LEFT_US;
	if (deadline <= now || deadline - now < need)
		return -1;
	return best;
}
