/* SPDX-License-Identifier: MIT */
/* Resolver choice (select.c) with a fake clock: each strategy, the
 * occasional query that keeps a passed-over nameserver measured, two
 * nameservers that swap speeds, and when a SERVFAIL or REFUSED is asked
 * again of another provider. */
#include <string.h>

#include "bounds.h"
#include "dns.h"
#include "select.h"
#include "unit.h"

#define MS 1000ull
#define SEC 1000000ull
/* A monotonic clock that has run a while, as on a real box. */
#define T0 (1000 * SEC)

static void
all_ready(struct select_ns *ns, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		ns[i].ready = ns[i].usable = 1;
}

static void
test_strategy_names(void)
{
	CHECK_EQ_INT(select_strategy_parse("fastest"), SELECT_FASTEST);
	CHECK_EQ_INT(select_strategy_parse("order"), SELECT_ORDER);
	CHECK_EQ_INT(select_strategy_parse("round-robin"), SELECT_ROUND_ROBIN);
	CHECK_EQ_INT(select_strategy_parse("Fastest"), -1);
	CHECK_EQ_INT(select_strategy_parse("roundrobin"), -1);
	CHECK_EQ_INT(select_strategy_parse(""), -1);
	CHECK(strcmp(select_strategy_name(SELECT_ROUND_ROBIN), "round-robin") == 0, "name");
	CHECK(strcmp(select_strategy_name(SELECT_FASTEST), "fastest") == 0, "name");
}

static void
test_providers(void)
{
	struct conf_nameserver ns[4];
	uint8_t prov[4];

	memset(ns, 0, sizeof(ns));
	strcpy(ns[0].name, "cloudflare-dns.com");
	strcpy(ns[1].name, "dns.quad9.net");
	strcpy(ns[2].name, "Cloudflare-DNS.com");
	strcpy(ns[3].name, "dns.google");
	CHECK_EQ_INT(select_providers(ns, 4, prov), 3);
	CHECK_EQ_INT(prov[0], 0);
	CHECK_EQ_INT(prov[1], 1);
	CHECK_EQ_INT(prov[2], 0);
	CHECK_EQ_INT(prov[3], 3);
	CHECK_EQ_INT(select_providers(ns, 1, NULL), 1);
	CHECK_EQ_INT(select_providers(ns, 0, NULL), 0);
}

static void
test_fastest_basic(void)
{
	struct select_state st = { SELECT_FASTEST, 0 };
	struct select_ns ns[3];

	memset(ns, 0, sizeof(ns));
	all_ready(ns, 3);
	/* Unmeasured ones first, in order, so each gets measured. */
	CHECK_EQ_INT(select_pick(&st, ns, 3, T0), 0);
	select_sample(&ns[0], 30 * MS, T0);
	CHECK_EQ_INT(select_pick(&st, ns, 3, T0), 1);
	select_sample(&ns[1], 10 * MS, T0);
	CHECK_EQ_INT(select_pick(&st, ns, 3, T0), 2);
	select_sample(&ns[2], 20 * MS, T0);
	/* Then the fastest, again and again. */
	CHECK_EQ_INT(select_pick(&st, ns, 3, T0 + 1), 1);
	CHECK_EQ_INT(select_pick(&st, ns, 3, T0 + 2), 1);
	/* Not ready: the fastest of the ready ones, and a connection wanted
	 * for the fastest usable one. */
	ns[1].ready = 0;
	CHECK_EQ_INT(select_pick(&st, ns, 3, T0 + 3), 2);
	CHECK_EQ_INT(select_want(&st, ns, 3, T0 + 3), 1);
	/* Resting: neither picked nor wanted. */
	ns[1].usable = 0;
	CHECK_EQ_INT(select_want(&st, ns, 3, T0 + 3), -1);
	ns[0].ready = ns[2].ready = 0;
	CHECK_EQ_INT(select_pick(&st, ns, 3, T0 + 4), -1);
	CHECK_EQ_INT(select_want(&st, ns, 3, T0 + 4), 2);
	ns[0].usable = ns[2].usable = 0;
	CHECK_EQ_INT(select_want(&st, ns, 3, T0 + 4), -1);
	CHECK_EQ_INT(select_pick(&st, ns, 0, T0), -1);
	CHECK_EQ_INT(select_want(&st, ns, 0, T0), -1);
}

/* Queries at a fixed rate for a while, each answered at once with the
 * nameserver's true time: how many went to each. */
static void
run(struct select_state *st, struct select_ns *ns, unsigned n, const uint64_t *true_rtt,
    uint64_t *now, uint64_t span, uint64_t every, unsigned *count)
{
	uint64_t end = *now + span;

	for (; *now < end; *now += every) {
		int c = select_pick(st, ns, n, *now);

		if (c < 0) {
			unit_fail(__FILE__, __LINE__, "no nameserver picked at %llu",
			    (unsigned long long)*now);
			return;
		}
		select_sample(&ns[c], true_rtt[c], *now);
		count[c]++;
	}
}

static void
test_fastest_explores(void)
{
	struct select_state st = { SELECT_FASTEST, 0 };
	struct select_ns ns[2];
	uint64_t rtt[2] = { 10 * MS, 100 * MS }, now = T0;
	unsigned count[2] = { 0, 0 };

	memset(ns, 0, sizeof(ns));
	all_ready(ns, 2);
	/* Both measured, then 100 queries a second for a minute: the slow one
	 * gets one query per SELECT_EXPLORE_MS, no more. */
	run(&st, ns, 2, rtt, &now, 2 * MS, MS, count);
	CHECK_EQ_INT(count[1], 1);
	memset(count, 0, sizeof(count));
	run(&st, ns, 2, rtt, &now, 60 * SEC, 10 * MS, count);
	CHECK(count[1] >= 60000 / SELECT_EXPLORE_MS - 1 && count[1] <= 60000 / SELECT_EXPLORE_MS,
	    "slow one had %u queries in a minute at 100/s, want one per %d ms", count[1],
	    SELECT_EXPLORE_MS);
	CHECK(ns[1].srtt_us > 90 * MS, "slow one's time stays slow: %u", ns[1].srtt_us);
	/* One query every 3 s for an hour: at most one in SELECT_EXPLORE_SHARE. */
	memset(count, 0, sizeof(count));
	run(&st, ns, 2, rtt, &now, 3600 * SEC, 3 * SEC, count);
	CHECK(count[1] >= 1200 / (SELECT_EXPLORE_SHARE + 1) - 1 &&
	    count[1] <= 1200 / SELECT_EXPLORE_SHARE + 1,
	    "slow one had %u of 1200 queries, want about one in %d", count[1], SELECT_EXPLORE_SHARE);
	/* A nameserver not ready is not explored, but once it is due a
	 * connection to it is wanted, and it has the next query once ready. */
	ns[1].ready = 0;
	run(&st, ns, 2, rtt, &now, SELECT_EXPLORE_MS * MS + SEC, 10 * MS, count);
	CHECK_EQ_INT(select_want(&st, ns, 2, now), 1);
	CHECK_EQ_INT(select_pick(&st, ns, 2, now), 0);
	ns[1].ready = 1;
	CHECK_EQ_INT(select_pick(&st, ns, 2, now + 1), 1);
	CHECK_EQ_INT(select_want(&st, ns, 2, now + 2), -1);
}

static void
test_fastest_follows_a_swap(void)
{
	struct select_state st = { SELECT_FASTEST, 0 };
	struct select_ns ns[2];
	uint64_t rtt[2] = { 10 * MS, 100 * MS }, now = T0, swap;
	unsigned count[2] = { 0, 0 }, i;

	memset(ns, 0, sizeof(ns));
	all_ready(ns, 2);
	run(&st, ns, 2, rtt, &now, 120 * SEC, 20 * MS, count);
	CHECK(count[0] > 10 * count[1], "before the swap: %u fast, %u slow", count[0], count[1]);
	/* The speeds swap. Within a few exploration periods nearly every
	 * query goes to the one that is now fast. */
	rtt[0] = 100 * MS;
	rtt[1] = 10 * MS;
	swap = now;
	for (i = 0; i < 3 * SELECT_EXPLORE_MS / 20; i++) {
		int c = select_pick(&st, ns, 2, now);

		select_sample(&ns[c], rtt[c], now);
		now += 20 * MS;
	}
	CHECK(ns[1].srtt_us < ns[0].srtt_us, "%llu s after the swap: srtt %u and %u",
	    (unsigned long long)((now - swap) / SEC), ns[0].srtt_us, ns[1].srtt_us);
	memset(count, 0, sizeof(count));
	run(&st, ns, 2, rtt, &now, 60 * SEC, 20 * MS, count);
	CHECK(count[1] > 10 * count[0], "after the swap: %u slow, %u fast", count[0], count[1]);
	/* And back. */
	rtt[0] = 10 * MS;
	rtt[1] = 100 * MS;
	run(&st, ns, 2, rtt, &now, 3 * SELECT_EXPLORE_MS * MS, 20 * MS, count);
	memset(count, 0, sizeof(count));
	run(&st, ns, 2, rtt, &now, 60 * SEC, 20 * MS, count);
	CHECK(count[0] > 10 * count[1], "swapped back: %u fast, %u slow", count[0], count[1]);
}

static void
test_sample(void)
{
	struct select_ns ns;

	memset(&ns, 0, sizeof(ns));
	select_sample(&ns, 80 * MS, T0);
	CHECK_EQ_INT(ns.srtt_us, 80 * MS);
	/* Soon after: a step of an eighth. */
	select_sample(&ns, 0, T0 + SEC);
	CHECK_EQ_INT(ns.srtt_us, 70 * MS);
	/* After a long gap: half the way. */
	select_sample(&ns, 10 * MS, T0 + SEC + SELECT_EXPLORE_MS * MS);
	CHECK_EQ_INT(ns.srtt_us, 40 * MS);
	/* Capped; a zero sample still counts as measured. */
	memset(&ns, 0, sizeof(ns));
	select_sample(&ns, 3600 * SEC, T0);
	CHECK_EQ_INT(ns.srtt_us, 60 * SEC);
	memset(&ns, 0, sizeof(ns));
	select_sample(&ns, 0, T0);
	CHECK(ns.srtt_us != 0, "a zero sample leaves it unmeasured");
}

static void
test_order(void)
{
	struct select_state st = { SELECT_ORDER, 0 };
	struct select_ns ns[3];

	memset(ns, 0, sizeof(ns));
	all_ready(ns, 3);
	ns[0].srtt_us = 90 * MS;
	ns[1].srtt_us = 10 * MS;
	/* The first, however slow. */
	CHECK_EQ_INT(select_pick(&st, ns, 3, T0), 0);
	CHECK_EQ_INT(select_pick(&st, ns, 3, T0 + 20 * SEC), 0);
	/* The first fails and rests: the second. */
	ns[0].ready = ns[0].usable = 0;
	CHECK_EQ_INT(select_pick(&st, ns, 3, T0 + 21 * SEC), 1);
	CHECK_EQ_INT(select_want(&st, ns, 3, T0 + 21 * SEC), -1);
	/* Its rest is over: a connection to it is wanted at once, queries go
	 * to the second meanwhile, and back to the first once it works. */
	ns[0].usable = 1;
	CHECK_EQ_INT(select_want(&st, ns, 3, T0 + 22 * SEC), 0);
	CHECK_EQ_INT(select_pick(&st, ns, 3, T0 + 22 * SEC), 1);
	ns[0].ready = 1;
	CHECK_EQ_INT(select_pick(&st, ns, 3, T0 + 23 * SEC), 0);
	CHECK_EQ_INT(select_want(&st, ns, 3, T0 + 23 * SEC), -1);
	/* Only the third usable. */
	ns[0].ready = ns[0].usable = ns[1].ready = ns[1].usable = 0;
	CHECK_EQ_INT(select_pick(&st, ns, 3, T0 + 24 * SEC), 2);
}

static void
test_round_robin(void)
{
	struct select_state st = { SELECT_ROUND_ROBIN, 0 };
	struct select_ns ns[3];
	unsigned count[3] = { 0, 0, 0 }, i;

	memset(ns, 0, sizeof(ns));
	all_ready(ns, 3);
	ns[2].srtt_us = 500 * MS;
	for (i = 0; i < 300; i++)
		count[select_pick(&st, ns, 3, T0 + i)]++;
	CHECK(count[0] == 100 && count[1] == 100 && count[2] == 100, "%u %u %u", count[0],
	    count[1], count[2]);
	/* One not ready: skipped, and a connection wanted for it. */
	ns[1].ready = 0;
	memset(count, 0, sizeof(count));
	for (i = 0; i < 300; i++)
		count[select_pick(&st, ns, 3, T0 + i)]++;
	CHECK(count[0] == 150 && count[1] == 0 && count[2] == 150, "%u %u %u", count[0],
	    count[1], count[2]);
	CHECK_EQ_INT(select_want(&st, ns, 3, T0), 1);
	ns[1].usable = 0;
	CHECK_EQ_INT(select_want(&st, ns, 3, T0), -1);
}

static void
test_retry_servfail(void)
{
	struct select_state st = { SELECT_FASTEST, 0 };
	struct select_ns ns[4];
	uint64_t deadline = T0 + 3 * SEC;

	memset(ns, 0, sizeof(ns));
	all_ready(ns, 4);
	/* cloudflare twice, quad9, google. */
	ns[0].provider = ns[1].provider = 0;
	ns[2].provider = 2;
	ns[3].provider = 3;
	ns[2].srtt_us = 40 * MS;
	ns[3].srtt_us = 20 * MS;
	/* Another provider, the fastest of them; never the same provider. */
	CHECK_EQ_INT(select_retry(&st, ns, 4, 0, DNS_RCODE_SERVFAIL, 0, 1, T0, deadline), 3);
	CHECK_EQ_INT(select_retry(&st, ns, 4, 1, DNS_RCODE_REFUSED, 0, 1, T0, deadline), 3);
	CHECK_EQ_INT(select_retry(&st, ns, 4, 3, DNS_RCODE_SERVFAIL, 0, 1, T0, deadline), 2);
	/* Only SERVFAIL and REFUSED; only once; only when enabled. */
	CHECK_EQ_INT(select_retry(&st, ns, 4, 0, DNS_RCODE_NXDOMAIN, 0, 1, T0, deadline), -1);
	CHECK_EQ_INT(select_retry(&st, ns, 4, 0, DNS_RCODE_NOERROR, 0, 1, T0, deadline), -1);
	CHECK_EQ_INT(select_retry(&st, ns, 4, 0, DNS_RCODE_FORMERR, 0, 1, T0, deadline), -1);
	CHECK_EQ_INT(select_retry(&st, ns, 4, 3, DNS_RCODE_SERVFAIL, 1, 1, T0, deadline), -1);
	CHECK_EQ_INT(select_retry(&st, ns, 4, 0, DNS_RCODE_SERVFAIL, 0, 0, T0, deadline), -1);
	/* A ready one before one that needs a connection; none resting. */
	ns[3].ready = 0;
	CHECK_EQ_INT(select_retry(&st, ns, 4, 0, DNS_RCODE_SERVFAIL, 0, 1, T0, deadline), 2);
	ns[2].ready = ns[2].usable = 0;
	CHECK_EQ_INT(select_retry(&st, ns, 4, 0, DNS_RCODE_SERVFAIL, 0, 1, T0, deadline), 3);
	ns[3].usable = 0;
	CHECK_EQ_INT(select_retry(&st, ns, 4, 0, DNS_RCODE_SERVFAIL, 0, 1, T0, deadline), -1);
	/* Time left: at least SELECT_RETRY_MIN_LEFT_MS, and twice the
	 * candidate's answer time. */
	all_ready(ns, 4);
	CHECK_EQ_INT(select_retry(&st, ns, 4, 0, DNS_RCODE_SERVFAIL, 0, 1,
	    deadline - SELECT_RETRY_MIN_LEFT_MS * MS, deadline), 3);
	CHECK_EQ_INT(select_retry(&st, ns, 4, 0, DNS_RCODE_SERVFAIL, 0, 1,
	    deadline - SELECT_RETRY_MIN_LEFT_MS * MS + 1, deadline), -1);
	CHECK_EQ_INT(select_retry(&st, ns, 4, 0, DNS_RCODE_SERVFAIL, 0, 1, deadline + 1, deadline), -1);
	ns[2].srtt_us = ns[3].srtt_us = 800 * MS;
	CHECK_EQ_INT(select_retry(&st, ns, 4, 0, DNS_RCODE_SERVFAIL, 0, 1,
	    deadline - 1600 * MS, deadline), 2);
	CHECK_EQ_INT(select_retry(&st, ns, 4, 0, DNS_RCODE_SERVFAIL, 0, 1,
	    deadline - 1599 * MS, deadline), -1);
	/* One provider only: nowhere to go. */
	ns[2].provider = ns[3].provider = 0;
	CHECK_EQ_INT(select_retry(&st, ns, 4, 0, DNS_RCODE_SERVFAIL, 0, 1, T0, deadline), -1);
	/* Order: the first other provider in the order given. */
	st.strategy = SELECT_ORDER;
	ns[2].provider = 2;
	ns[3].provider = 3;
	ns[2].srtt_us = 900 * MS;
	ns[3].srtt_us = 10 * MS;
	CHECK_EQ_INT(select_retry(&st, ns, 4, 0, DNS_RCODE_SERVFAIL, 0, 1, T0, deadline), 2);
}

const struct unit_test select_tests[] = {
	{ "select_strategy_names", test_strategy_names },
	{ "select_providers", test_providers },
	{ "select_fastest_basic", test_fastest_basic },
	{ "select_fastest_explores", test_fastest_explores },
	{ "select_fastest_follows_a_swap", test_fastest_follows_a_swap },
	{ "select_sample", test_sample },
	{ "select_order", test_order },
	{ "select_round_robin", test_round_robin },
	{ "select_retry_servfail", test_retry_servfail },
	{ NULL, NULL },
};
