/* SPDX-License-Identifier: MIT */
/* The answer cache: upstream answers kept in memory reserved at start-up,
 * found by question (name without regard to case, type, class, and the
 * CD and DO bits; queries without RD are never cached), given back with
 * TTLs counting down, stale answers kept for RFC 8767, and a refresh asked
 * for near expiry (prefetch). Nothing allocates after cache_init; time
 * comes in as `now`. */
#ifndef CACHE_H
#define CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "bounds.h"

/* Key flag bits (the last byte of cache_key.wire). */
#define CACHE_KEY_CD 0x02
#define CACHE_KEY_DO 0x04

/* A query's key, made by cache_key from the query's bytes. Lives on the
 * caller's stack while one query is looked up or one answer stored. */
struct cache_key {
	uint32_t hash;
	uint16_t len;   /* bytes of wire */
	uint16_t qend;  /* end of the question in the query */
	uint8_t edns;   /* the query has an OPT record: so will the reply */
	uint8_t ad;     /* the query set AD (RFC 6840 §5.7) */
	/* The name in wire form and lower case, QTYPE, QCLASS, key flags. */
	uint8_t wire[DNS_NAME_MAX + 5];
};

/* Largest reply cache_lookup writes: header, question, the largest
 * answer kept and an OPT record. */
#define CACHE_REPLY_MAX (DNS_HEADER_LEN + DNS_NAME_MAX + 4 + CACHE_ANSWER_MAX + 11)

enum cache_state {
	CACHE_MISS,     /* nothing usable: forward the query */
	CACHE_FRESH,    /* reply written */
	CACHE_PREFETCH, /* reply written; the entry is in the last 10 % of its TTL */
	CACHE_STALE,    /* expired, within --stale-max (RFC 8767) */
};

struct cache_result {
	enum cache_state state;
	size_t len;       /* reply bytes written into out; 0 when none */
	uint32_t ttl;     /* the TTL the reply's records carry */
	int refresh;      /* PREFETCH or STALE: the first lookup to find the
	                   * entry so; the caller asks the upstream for a fresh
	                   * answer. Later lookups get 0 until the entry is
	                   * stored again. */
};

/* Counters for the stats lines. */
struct cache_stats {
	uint64_t hits;        /* fresh replies given (prefetch window included) */
	uint64_t misses;      /* lookups that gave no reply (stale ones not served included) */
	uint64_t stale;       /* stale replies given (RFC 8767) */
	uint64_t prefetch;    /* refreshes asked for by hits near expiry */
	uint64_t evictions;   /* live entries dropped to make room */
	uint64_t inserts;     /* answers stored */
	uint64_t uncacheable; /* answers offered and not stored */
	unsigned entries;     /* live entries now */
	size_t bytes;         /* ring bytes in use, entries dropped but not yet reused included */
	size_t capacity;      /* ring bytes */
};

/* Bytes cache_init(kib) reserves: kib KiB, or 0 when kib is 0. */
size_t cache_memory(unsigned kib);
/* Reserve the cache (start-up only; again drops everything). kib 0 turns
 * it off: then every lookup misses and nothing is stored. -1 on no memory
 * or no entropy for the hash key. */
int cache_init(unsigned kib);
/* --cache-min-ttl, --cache-max-ttl, --stale-max, in seconds (stale_max 0:
 * no stale answers). Defaults are those of bounds.h. */
void cache_set_ttl(uint32_t min_ttl, uint32_t max_ttl, uint32_t stale_max);

/* Make the key of a well-formed query (dns_check_query said DNS_FORWARD).
 * Returns -1 when the query must bypass the cache: RD clear (the
 * upstream's current data asked for, such as a secondary's SOA refresh:
 * never looked up, never stored), EDNS Client Subnet
 * (RFC 7871: the answer depends on the client), TSIG, EDNS version other
 * than 0, a meta or transfer QTYPE (OPT, TKEY, TSIG, IXFR, AXFR, MAILA,
 * MAILB), or a message that does not parse. */
int cache_key(const uint8_t *query, size_t qlen, struct cache_key *key);

/* Look key up at now (microseconds, monotonic). query is the message the
 * key was made from. FRESH and PREFETCH write the reply into out; STALE
 * writes it (every TTL CACHE_STALE_TTL) only when serve_stale is set. The
 * reply: the query's ID and question (the client's spelling), the answer's
 * sections with every TTL the remaining time, an OPT record of our own when
 * the query had one (no options; DO as asked). Over UDP the caller
 * truncates it to the client's size (dns_truncate). A reply that does not
 * fit cap is a miss. */
void cache_lookup(const struct cache_key *key, const uint8_t *query, int serve_stale,
    uint64_t now, uint8_t *out, size_t cap, struct cache_result *res);

/* Store an upstream answer to the query whose key this is (the caller has
 * matched it to the query). Stored: NOERROR with answers (TTL the least of
 * its records', clamped to --cache-min-ttl and --cache-max-ttl), NXDOMAIN
 * and NODATA with an SOA (RFC 2308). Not stored: other RCODEs, TC, a
 * question that is not the key's, anything malformed, a TTL of 0, an answer
 * over CACHE_ANSWER_MAX. Replaces the key's entry. 0 when stored, else -1. */
int cache_insert(const struct cache_key *key, const uint8_t *answer, size_t alen, uint64_t now);

/* Drop every entry (SIGHUP with new nameservers, or on request). */
void cache_flush(void);

const struct cache_stats *cache_stats(void);

/* The stats line ("--- Stats of cache: hits N / misses N / ..."), logged
 * with the others on SIGUSR1 and every --stats-interval. */
void cache_log_stats(void);
/* The cache's line of the -d memory plan: its size, index and ring, and
 * about how many answers it holds; or that it is off. After cache_init. */
void cache_log_memory(void);

struct metrics_figure;
/* The cache's figures for the metrics endpoint (metrics_sources.cache):
 * the counters and gauges of cache_stats. Fills out[0..max), returns how
 * many; none when the cache is off. */
unsigned cache_figures(struct metrics_figure *out, unsigned max);

/* Test hook: check the ring and the index agree (every entry in the ring
 * walk, every linked entry live, counts and bytes right). 0 when they do;
 * else -1 with why. */
int cache_audit(char *why, size_t len);

#endif
