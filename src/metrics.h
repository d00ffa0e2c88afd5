/* SPDX-License-Identifier: MIT */
/* The metrics endpoint (--metrics ADDR:PORT): GET /metrics in the
 * Prometheus text format 0.0.4 and GET /stats.json, served over HTTP/1.1
 * from the poll loop. The figures are copied into a snapshot when a
 * request is complete, and the answer is rendered from it a chunk at a time
 * as the socket takes it: fixed memory, reserved at start-up, whatever the
 * client does. */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "bounds.h"
#include "conf.h"
#include "stats.h"
#include "xfr.h"

/* A nameserver's state, as a Prometheus state set. */
enum metrics_ns_state {
	METRICS_NS_IDLE,       /* no connection open, none failing */
	METRICS_NS_CONNECTING, /* a connection being set up, none ready */
	METRICS_NS_UP,         /* a ready connection */
	METRICS_NS_RESTING,    /* backing off after failures */
};
#define METRICS_NS_STATES 4

/* One nameserver's figures, filled by the nameserver code. */
struct metrics_ns {
	char name[CONF_NAME_MAX + 64]; /* "IP:PORT:NAME" as in the log */
	enum metrics_ns_state state;
	uint64_t queries, answers, failures, auth_failures, timeouts;
	uint64_t reconnects, handshakes, resumed, bad_answers;
	unsigned inflight;             /* queries on its connections */
	unsigned connections;          /* connections open */
	uint32_t srtt_us;              /* smoothed answer time, 0 until measured */
};

/* A figure another module adds (the cache): name is the metric's name
 * after "dns_tls_proxy_cache_" (a counter's ends in _total), help one line.
 * Both are static strings; names of more than 64 characters are dropped. */
struct metrics_figure {
	const char *name;
	const char *help;
	int counter;      /* 1: a counter; 0: a gauge */
	uint64_t value;
};

/* The endpoint's own counters. */
struct metrics_http_stats {
	uint64_t served;  /* 200 answers */
	uint64_t errors;  /* 4xx and 5xx answers */
	uint64_t refused; /* connections closed at once: client limit, --allow */
	uint64_t timeouts; /* requests not whole in time, answers not taken in time */
};

/* Everything one answer shows, as it was when the request was complete. */
struct metrics_snapshot {
	struct stats st;
	struct metrics_http_stats http;
	struct xfr_counters xfr;
	uint64_t uptime_us;
	unsigned inflight;                 /* queries in flight */
	unsigned ns_count;
	struct metrics_ns ns[MAX_NAMESERVERS];
	unsigned cache_count;              /* 0: no cache figures */
	struct metrics_figure cache[METRICS_CACHE_FIGURES];
};

/* Where the figures beyond struct stats come from. Any may be NULL: that
 * part is left out. */
struct metrics_sources {
	/* Fill out[0..max) with the nameservers in their configured order. */
	unsigned (*nameservers)(struct metrics_ns *out, unsigned max, uint64_t now);
	/* Fill out[0..max) with the cache's figures. */
	unsigned (*cache)(struct metrics_figure *out, unsigned max);
};

/* Set the sources (the pointer is kept; the struct must live on). */
void metrics_set_sources(const struct metrics_sources *src);
/* Copy the figures now: stats, queries in flight (pq_in_use), the
 * endpoint's counters, the sources. */
void metrics_snapshot(struct metrics_snapshot *s, uint64_t now);

enum metrics_page { METRICS_PAGE_PROMETHEUS, METRICS_PAGE_JSON };

/* Where rendering stopped; all zero: at the start. */
struct metrics_cursor {
	unsigned piece;
	size_t off;
};

/* Render page from s into buf[0..cap), from *cur on, and move *cur past
 * what was written. Returns the bytes written: 0 once the page is done.
 * The same snapshot always gives the same bytes, however they are cut. */
size_t metrics_render(enum metrics_page page, const struct metrics_snapshot *s,
    struct metrics_cursor *cur, char *buf, size_t cap);
/* The page's whole length (its Content-Length). */
size_t metrics_render_length(enum metrics_page page, const struct metrics_snapshot *s);

/* A parsed request head. */
struct metrics_request {
	int status;             /* 200, or the error to answer */
	int head_only;          /* HEAD: the headers without the body */
	enum metrics_page page; /* status 200: what to send */
	size_t used;            /* bytes of the request head */
};

/* Parse the request head in buf[0..len). Returns 0 when more bytes are
 * needed (and none of the limits is passed yet), else 1 with req filled:
 * 200, or 400 (malformed), 404 (another path), 405 (another method), 413
 * (a body), 414 (request line too long), 431 (header fields too many or
 * too long, or the head too long), 505 (not HTTP/1.x). */
int metrics_http_parse(const char *buf, size_t len, struct metrics_request *req);

/* Bind the endpoint when --metrics is given (a no-op otherwise) and reserve
 * its clients. Start-up only: -1 with a one-line reason in err. */
int metrics_init(const struct conf *conf, char *err, size_t errlen);
size_t metrics_memory(const struct conf *conf);
/* Descriptors the endpoint can hold at once (0 when off). */
unsigned metrics_max_fds(const struct conf *conf);
/* The port it listens on, 0 when off. */
unsigned metrics_port(void);
/* Once a turn before polling: run deadlines, register poll interest. */
void metrics_prepare(uint64_t now);
/* Close the endpoint and its clients (at exit). */
void metrics_stop(void);

#endif
