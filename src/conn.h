/* SPDX-License-Identifier: MIT */
/* One DNS-over-TLS connection to a nameserver: a state
 *   IDLE -> CONNECTING -> HANDSHAKING -> READY -> (CLOSING) -> IDLE
 * written only by conn.c, one step function (conn_run) that moves bytes
 * between the socket and the BearSSL engine as far as its state allows,
 * the liveness probe (an enum state of its own), the IDs in flight, and
 * the matching of answers to queries. The nameserver side (nameserver.c)
 * chooses connections and opens them; a connection reports what happens to
 * its nameserver through the ns_ hooks in nameserver.h. */
#ifndef CONN_H
#define CONN_H

#include <stddef.h>
#include <stdint.h>

#include <bearssl.h>

#include "conf.h"
#include "frame.h"
#include "pending.h"
#include "query.h"
#include "tls.h"
#include "xfr.h"

enum conn_state { CONN_IDLE, CONN_CONNECTING, CONN_HANDSHAKING, CONN_READY, CONN_CLOSING };

/* The liveness probe of a READY connection (". IN SOA", answered at once
 * by any resolver): none; due, to be written at the next chance; out,
 * written and unanswered. */
enum conn_probe { PROBE_NONE, PROBE_DUE, PROBE_OUT };

/* How a connection ended (conn_fail). */
enum conn_loss {
	LOSS_NET,    /* refused, reset, unreadable, timed out: maybe over a query */
	LOSS_CLOSED, /* closed by the server: quiet when nothing was in flight */
	LOSS_AUTH,   /* certificate or name failure */
	LOSS_SILENT, /* nothing came back, not even to a probe: the path or the server */
};

struct nameserver;

/* A zone transfer relayed on a connection of its own (docs/design.md):
 * the query, where its response is (xfr.h), and the clocks of its
 * deadline (xfr_deadline). */
struct xfr_relay {
	struct pending_query *q;  /* NULL when the slot is free */
	struct xfr_state st;
	uint64_t last_upstream;   /* the last message, or the query sent */
	uint64_t last_client;     /* the client last took bytes, or the relay resumed */
	size_t last_queued;       /* the client's output then */
	uint32_t parts;           /* messages relayed */
	unsigned idle_ms;         /* --transfer-timeout */
	unsigned client_idle_ms;  /* --tcp-idle-timeout, for a client that does not read */
	uint8_t paused;           /* waiting for the client to read (XFR_FLOW_PAUSE) */
};

struct upstream_conn {
	enum conn_state state;
	enum conn_probe probe;
	int fd;
	uint32_t gen;            /* changes at every open: stale poll results are ignored */
	uint16_t index;          /* in the connection table; the high half of the ID-hash key */
	struct nameserver *ns;
	uint64_t deadline;       /* CONNECTING/HANDSHAKING/CLOSING: give up then */
	uint64_t last_rx;        /* READY: last message received, or the first query sent */
	uint64_t probe_sent;     /* when the liveness probe went out */
	uint16_t probe_id;       /* its ID, kept out of the way of queries */
	uint32_t received;       /* messages received since the handshake */
	int8_t first_suspect;    /* the first query written since was blamed for a lost
	                          * connection before: 1 or 0; -1 before any */
	uint64_t idle_since;     /* READY with nothing in flight since */
	uint64_t idle_us;        /* close when idle this long (the server may lower it) */
	int can_read;            /* poll reported readable; cleared on EAGAIN */
	int ack_owed;            /* answers read and not yet acknowledged */
	struct pq_list sendq;    /* assigned, not yet wholly written to the engine */
	struct pq_list sent;     /* written, awaiting answers, oldest first */
	struct frame_reader reasm; /* answer reassembly; buffer reserved at start-up */
	uint8_t *rx;             /* bytes read from the socket ahead of the engine */
	size_t rx_off, rx_len;   /* rx[rx_off..rx_len) not yet given to the engine */
	uint8_t *tx;             /* sealed records taken from the engine, to write */
	size_t tx_off, tx_len;   /* tx[tx_off..tx_len) not yet written to the socket */
	struct tls_conn tls;     /* BearSSL engine and certificate verifier */
	unsigned char *block;    /* CONN_BUF_BYTES reserved at start-up, set up at first open */
	unsigned char *iobuf;    /* engine input then output buffer (in block) */
	uint8_t *id_burnt;       /* ID_MAP_BYTES: IDs given up unanswered, not to reuse */
	unsigned burnt;          /* bits set in id_burnt */
	struct xfr_relay *xfr;   /* a transfer's own connection, else NULL */
};

/* "idle", "connecting"...: for log lines. */
const char *conn_state_name(enum conn_state state);
/* Start-up: the configuration and trust anchors every connection uses. */
void conn_init(const struct conf *conf, const br_x509_trust_anchor *tas, size_t ntas);
/* Bytes of buffers one connection needs (its block). */
size_t conn_buf_bytes(void);
/* A connection slot, IDLE, with its reserved memory (not touched here). */
void conn_setup(struct upstream_conn *c, uint16_t index, struct nameserver *ns,
    unsigned char *block, uint8_t *id_map);

/* Open an IDLE connection (it may fail at once: IDLE again). */
void conn_open(struct upstream_conn *c, uint64_t now);
/* Close at once, without a word to the server (one cut short, or at exit). */
void conn_reset(struct upstream_conn *c);
/* Queries it carries: queued and written, unanswered. */
unsigned conn_load(const struct upstream_conn *c);
/* Put a WAITING query on c's send queue with a new ID: -1 when the ID
 * hash refuses it (the caller ends it). */
int conn_assign(struct upstream_conn *c, struct pending_query *pq);
/* pq ends while c holds it: its ID is not reused while its answer may come. */
void conn_forget(struct upstream_conn *c, struct pending_query *pq, uint64_t now);

/* Relay the transfer q (assigned to c with conn_assign) on c, an IDLE
 * connection of its own (c->xfr set, c->ns the nameserver to ask): open
 * it. Its end comes through query_done like any query's. */
void conn_transfer(struct upstream_conn *c, struct pending_query *q, uint64_t now);

/* The poll callback (loop.h) registered by conn_prepare: obj is the
 * connection, gen its generation then. */
void conn_event(void *obj, uint32_t gen, short revents, uint64_t now);
/* Once a turn: run the timers (connect, handshake, probe, idle, close). */
void conn_timers(struct upstream_conn *c, uint64_t now);
/* Once a turn, after placing queries: write them, register poll interest
 * and the next deadline. */
void conn_prepare(struct upstream_conn *c, uint64_t now);
/* At exit: best-effort close_notify, queries put back, closed. */
void conn_shutdown(struct upstream_conn *c, uint64_t now);
/* Queries put back by lost connections since the last call (then 0). */
unsigned conn_take_requeued(void);

/* Decisions, pure for the tests. */
/* When the connection's next timer falls due, or 0 when it has none. */
uint64_t conn_deadline(const struct upstream_conn *c, unsigned timeout_ms);
/* The poll events the state asks for (engine_state: br_ssl_engine_current_state). */
short conn_poll_events(enum conn_state state, unsigned engine_state, int tx_pending);

#endif
