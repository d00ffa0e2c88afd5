/* SPDX-License-Identifier: MIT */
/* Counters for the stats lines: totals and per listener (requests, qps,
 * average time, as the original tool logged them), and what went wrong.
 * Per-nameserver counters live with the nameservers (nameserver.c). */
#ifndef STATS_H
#define STATS_H

#include <stdint.h>

struct listener_stats {
	uint64_t requests;   /* queries taken in (dropped ones not counted) */
	uint64_t answered;   /* replies sent, errors included */
	uint64_t latency_us; /* summed over the replies */
};

/* Answer times, from a query's arrival to its reply, in fixed buckets:
 * counted per bucket (not cumulatively), so an update is a short search and
 * one add. The bounds (stats_hist_bounds_us) run from a cache hit's fraction
 * of a millisecond to a slow recursion's seconds; the last bucket takes the
 * rest (up to --timeout). */
#define STATS_HIST_BUCKETS 15
struct stats_hist {
	uint64_t bucket[STATS_HIST_BUCKETS]; /* [i]: at most bounds[i], above bounds[i-1] */
	uint64_t sum_us;
};

extern const uint32_t stats_hist_bounds_us[STATS_HIST_BUCKETS - 1];

struct stats {
	struct listener_stats udp, tcp;
	struct stats_hist latency; /* every reply counted in answered, both listeners */
	uint64_t servfail;    /* SERVFAIL replies we made (timeouts, no upstream, full table) */
	uint64_t timeouts;    /* queries whose deadline passed */
	uint64_t fast_fail;   /* SERVFAIL at once: no nameserver could be reached */
	uint64_t formerr;     /* malformed queries answered FORMERR */
	uint64_t notimp;      /* opcodes other than QUERY */
	uint64_t refused;     /* queries too large to hold */
	uint64_t acl_refused; /* queries (UDP) and connections (TCP) from outside --allow */
	uint64_t dropped;     /* no header, QR set, zero-length TCP message */
	uint64_t truncated;   /* UDP answers sent with TC set */
	uint64_t table_full;  /* no free pending slot */
	uint64_t tcp_refused; /* TCP connections over the client limit */
	uint64_t tcp_slow;    /* TCP clients closed for not reading answers */
	uint64_t tcp_idle;    /* TCP clients closed after the idle timeout */
	uint64_t unmatched;   /* upstream answers for no query in flight (late ones) */
	uint64_t send_errors; /* UDP replies the kernel would not take */
	uint64_t lost_twice;  /* SERVFAIL: blamed for two lost upstream connections */
	uint64_t client_limit; /* SERVFAIL: the client's queries in flight at its limit */
	uint64_t tcp_client_limit; /* TCP connections over --max-tcp-per-client */
	uint64_t tcp_evicted; /* idle TCP clients closed to make room for a new one */
};

extern struct stats stats;

void stats_start(uint64_t now);
/* Time since stats_start. */
uint64_t stats_uptime_us(uint64_t now);
/* Count one answer time. */
void stats_hist_add(struct stats_hist *h, uint64_t us);
/* Answers counted, all buckets together. */
uint64_t stats_hist_count(const struct stats_hist *h);
/* Log the stats lines; rates are over the time since the last call. */
void stats_log(uint64_t now);
/* num / den in units of 10^-digits, rounded half up (den > 0, below 2^60):
 * log lines print it as "%llu.%02u" (two digits), not with %f, which the
 * static build's printf (port/fmt.c) leaves out. */
uint64_t stats_fixed(uint64_t num, uint64_t den, unsigned digits);

#endif
