/* SPDX-License-Identifier: MIT */
/* Stats lines in the original tool's format ("--- Stats of the proxy:
 * #requests N / qps Q / avg_time Tms"), followed by error counters and one
 * line per nameserver. */
#include "cache.h"
#include "log.h"
#include "nameserver.h"
#include "stats.h"
#include "xfr.h"

struct stats stats;

static struct stats last;
static uint64_t last_us, start_us;

const uint32_t stats_hist_bounds_us[STATS_HIST_BUCKETS - 1] = {
	250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000,
};

void
stats_start(uint64_t now)
{
	last_us = start_us = now;
}

uint64_t
stats_uptime_us(uint64_t now)
{
	return now - start_us;
}

void
stats_hist_add(struct stats_hist *h, uint64_t us)
{
	unsigned i = 0;

	/* Most answers take milliseconds: a few comparisons from the low end. */
	while (i < STATS_HIST_BUCKETS - 1 && us > stats_hist_bounds_us[i])
		i++;
	h->bucket[i]++;
	h->sum_us += us;
}

uint64_t
stats_hist_count(const struct stats_hist *h)
{
	uint64_t n = 0;
	unsigned i;

	for (i = 0; i < STATS_HIST_BUCKETS; i++)
		n += h->bucket[i];
	return n;
}

uint64_t
stats_fixed(uint64_t num, uint64_t den, unsigned digits)
{
	uint64_t q = num / den, r = num % den;

	/* Long division, a decimal digit at a time: num * 10^digits may not
	 * fit in 64 bits (qps: requests * 10^8). */
	while (digits-- > 0) {
		r *= 10;
		q = q * 10 + r / den;
		r %= den;
	}
	return q + (r >= den - r);
}

/* The original tool's line, byte for byte: qps and avg_time with two
 * decimals. */
static void
log_listener(const char *what, const struct listener_stats *cur,
    const struct listener_stats *prev, uint64_t elapsed_us)
{
	uint64_t req = cur->requests - prev->requests;
	uint64_t ans = cur->answered - prev->answered;
	uint64_t lat = cur->latency_us - prev->latency_us;
	uint64_t qps = elapsed_us > 0 ? stats_fixed(req, elapsed_us, 2 + 6) : 0;
	uint64_t avg = ans > 0 ? stats_fixed(lat, ans * 1000, 2) : 0;

	log_stats("--- Stats of %s: #requests %llu / qps %llu.%02u / avg_time %llu.%02ums",
	    what, (unsigned long long)cur->requests, (unsigned long long)(qps / 100), (unsigned)(qps % 100),
	    (unsigned long long)(avg / 100), (unsigned)(avg % 100));
}

void
stats_log(uint64_t now)
{
	uint64_t elapsed_us = now - last_us;
	struct listener_stats total = {
		stats.udp.requests + stats.tcp.requests,
		stats.udp.answered + stats.tcp.answered,
		stats.udp.latency_us + stats.tcp.latency_us,
	};
	struct listener_stats prev_total = {
		last.udp.requests + last.tcp.requests,
		last.udp.answered + last.tcp.answered,
		last.udp.latency_us + last.tcp.latency_us,
	};

	log_listener("the proxy", &total, &prev_total, elapsed_us);
	log_listener("UDP listener", &stats.udp, &last.udp, elapsed_us);
	log_listener("TCP listener", &stats.tcp, &last.tcp, elapsed_us);
	log_stats("--- Stats of errors: servfail %llu / timeouts %llu / fast_fail %llu / "
	    "formerr %llu / notimp %llu / refused %llu / acl_refused %llu / dropped %llu / truncated %llu / "
	    "table_full %llu / tcp_refused %llu / tcp_slow %llu / tcp_idle %llu / "
	    "unmatched %llu / send_errors %llu / lost_twice %llu / client_limit %llu / "
	    "tcp_client_limit %llu / tcp_evicted %llu",
	    (unsigned long long)stats.servfail, (unsigned long long)stats.timeouts,
	    (unsigned long long)stats.fast_fail, (unsigned long long)stats.formerr,
	    (unsigned long long)stats.notimp, (unsigned long long)stats.refused,
	    (unsigned long long)stats.acl_refused,
	    (unsigned long long)stats.dropped, (unsigned long long)stats.truncated,
	    (unsigned long long)stats.table_full, (unsigned long long)stats.tcp_refused,
	    (unsigned long long)stats.tcp_slow, (unsigned long long)stats.tcp_idle,
	    (unsigned long long)stats.unmatched, (unsigned long long)stats.send_errors,
	    (unsigned long long)stats.lost_twice, (unsigned long long)stats.client_limit,
	    (unsigned long long)stats.tcp_client_limit, (unsigned long long)stats.tcp_evicted);
	log_stats("--- Stats of transfers: started %llu / completed %llu / failed %llu / "
	    "refused %llu / truncated %llu / busy %llu / messages %llu / bytes %llu",
	    (unsigned long long)xfr_counters.started, (unsigned long long)xfr_counters.completed,
	    (unsigned long long)xfr_counters.failed, (unsigned long long)xfr_counters.refused,
	    (unsigned long long)xfr_counters.truncated, (unsigned long long)xfr_counters.busy,
	    (unsigned long long)xfr_counters.messages, (unsigned long long)xfr_counters.bytes);
	ns_log_stats();
	cache_log_stats();
	last = stats;
	last_us = now;
}
