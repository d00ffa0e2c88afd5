/* SPDX-License-Identifier: MIT */
/* Zone transfers on the wire (AXFR, RFC 5936; IXFR, RFC 1995; over TLS,
 * RFC 9103): tell a transfer query from others, and follow the messages of
 * a transfer's response, in order, to know when it ends. The zone is never
 * assembled: each message is looked at once and relayed. Pure functions on
 * byte buffers and a small fixed state; no allocation. */
#ifndef XFR_H
#define XFR_H

#include <stddef.h>
#include <stdint.h>

#include "bounds.h"
#include "dns.h"

enum xfr_kind {
	XFR_NONE, /* an ordinary query */
	XFR_AXFR, /* QTYPE 252 */
	XFR_IXFR, /* QTYPE 251, with the client's SOA in the authority section */
	XFR_BAD,  /* an IXFR without a usable SOA (RFC 1995 §3): FORMERR */
};

/* What a query that dns_check_query forwards asks for. For an IXFR, the
 * serial of the client's version is stored in *serial. */
enum xfr_kind xfr_classify(const uint8_t *query, size_t len,
    const struct dns_query_info *qi, uint32_t *serial);

/* The verdict on one message of a transfer's response. */
enum xfr_step {
	XFR_MORE,  /* relay it; more messages follow */
	XFR_DONE,  /* relay it; the transfer is over (complete, or ended by an
	            * error RCODE, see xfr_state.rcode) */
	XFR_ERROR, /* not a valid next message: the transfer is broken */
};

/* One transfer in progress. About 300 bytes, most of them a copy of the
 * query's header and question, to match the question in every message
 * that carries one (RFC 5936 §2.2). */
struct xfr_state {
	uint8_t kind;           /* XFR_AXFR or XFR_IXFR */
	uint8_t phase;          /* where in the response we are (xfr.c) */
	uint8_t rcode;          /* of the message that ended it */
	uint8_t incremental;    /* IXFR: the response has the incremental form */
	uint16_t qend;          /* end of the question in query[] */
	uint32_t client_serial; /* IXFR: the version the client has */
	uint32_t end_serial;    /* the first SOA's serial: the version sent */
	uint32_t cur_serial;    /* IXFR: the version the current difference reaches */
	uint32_t messages;      /* messages fed */
	uint32_t records;       /* answer records in them */
	uint8_t query[DNS_HEADER_LEN + DNS_NAME_MAX + 4];
};

/* Set up x for the response to a transfer query. Returns 0, or -1 when the
 * query is not an AXFR or IXFR that xfr_classify accepts. */
int xfr_start(struct xfr_state *x, const uint8_t *query, size_t len,
    const struct dns_query_info *qi);

/* Feed the next message of the response (as it came from the upstream,
 * its ID already matched). Once DONE or ERROR has been returned, every
 * further message is an ERROR. Work is bounded by len. */
enum xfr_step xfr_feed(struct xfr_state *x, const uint8_t *msg, size_t len);

/* One message of the response on its way to the client: xfr_feed, then,
 * unless that says ERROR, the hop-by-hop EDNS options of the TLS hop are
 * stripped (dns_strip_answer_opt) and the client's ID written. *len is
 * updated (it only shrinks). Returns what xfr_feed said. */
enum xfr_step xfr_relay(struct xfr_state *x, uint8_t *msg, size_t *len, uint16_t client_id);

/* What to do with a query, given its kind (xfr_classify), whether it came
 * over UDP and whether its client is in --allow-transfer. */
enum xfr_admit {
	XFR_ADMIT_QUERY,   /* not a transfer: forward it as any query */
	XFR_ADMIT_RELAY,   /* relay the transfer on a connection of its own */
	XFR_ADMIT_TC,      /* over UDP: TC, the client asks again over TCP */
	XFR_ADMIT_REFUSED, /* outside --allow-transfer: REFUSED, EDE 18 */
	XFR_ADMIT_FORMERR, /* an IXFR without its SOA */
};

enum xfr_admit xfr_admit(enum xfr_kind kind, int over_udp, int allowed);

/* Back-pressure: may the relay take the next message of a transfer from
 * its upstream connection, with queued bytes waiting in the client's
 * output buffer of cap bytes? Only while a largest framed message (2 +
 * DNS_MSG_MAX) still fits behind them: then every message taken is queued
 * at once, and a transfer never holds more than the client's buffer and
 * its connection's own buffers. Otherwise the relay stops reading that
 * connection (TCP then slows the upstream) until the client has read. */
enum xfr_flow {
	XFR_FLOW_TAKE,  /* read on, relay the next message */
	XFR_FLOW_PAUSE, /* leave the upstream's bytes where they are */
};

enum xfr_flow xfr_flow(size_t queued, size_t cap);

/* When a transfer is given up if nothing moves (microseconds, on the
 * caller's monotonic clock). While paused for its client (XFR_FLOW_PAUSE),
 * the upstream is not being read, so its silence means nothing: the client
 * has client_idle_ms from when it last took bytes, as any TCP client that
 * does not read its answers. While reading, the upstream has
 * transfer_idle_ms (--transfer-timeout) from the later of its last message
 * (or the query sent) and the client's last read, so the time spent paused
 * is not counted against it. */
uint64_t xfr_deadline(uint64_t last_upstream_us, uint64_t last_client_us, int paused,
    unsigned transfer_idle_ms, unsigned client_idle_ms);

/* Counters for the stats line and the metrics. */
struct xfr_counters {
	uint64_t started;   /* transfers relayed (a connection opened for each) */
	uint64_t completed; /* ended as xfr_feed said DONE */
	uint64_t failed;    /* broken stream, upstream lost or silent, client gone */
	uint64_t refused;   /* outside --allow-transfer */
	uint64_t truncated; /* asked over UDP: TC */
	uint64_t busy;      /* every transfer slot taken: SERVFAIL */
	uint64_t messages;  /* messages relayed to clients */
	uint64_t bytes;     /* their bytes, length prefixes left out */
};

extern struct xfr_counters xfr_counters;

#endif
