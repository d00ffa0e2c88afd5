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

#endif
