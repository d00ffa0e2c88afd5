/* SPDX-License-Identifier: MIT */
/* A query's life, from admission to its end, owned here:
 *
 *   query_new -> ADMITTED -> query_start -> WAITING -> (upstream) SENT
 *     -> query_done: ANSWERED | FAILED | EXPIRED | ...
 *
 * The slot (pending.h) carries its origin (where the answer goes) and its
 * completion (the function every end goes through). Dependencies point
 * here and nowhere else: client.c makes queries and supplies their
 * completion; nameserver.c takes WAITING queries to a connection and
 * conn.c sends them and ends them with an answer or a failure; query.c
 * calls neither, except through the completion in the slot and the one
 * upstream hook given to query_init (ns_forget). No include cycle.
 *
 * The answer cache (issue 15, src/cache.c) is used from here:
 *  - query_cached, at admission before query_new: a hit is answered by the
 *    caller at once and takes no slot; a hit in the last 10 % of its TTL
 *    also starts a refresh, a query of our own (origin PQ_NONE) that
 *    answers no one; an expired entry (stale) sends the query upstream
 *    with q->stale set.
 *  - query_done stores every QUERY_ANSWERED answer (cache_insert keeps
 *    what may be kept) before the completion runs.
 *  - Serve stale (RFC 8767): a query with q->stale still unanswered
 *    --stale-answer-timeout after it came gets the expired answer through
 *    query_reply (the slot lives on, so the upstream's answer still
 *    refreshes the entry); one that fails first (every nameserver
 *    unreachable, SERVFAIL from the upstream, the deadline) gets it
 *    instead of SERVFAIL.
 * Where the next pieces hook in (each without reaching around this file):
 *  - A second try on another provider after SERVFAIL (select_retry, issue
 *    17): conn.c decides in its answer path and calls query_requeue
 *    instead of query_done; the slot keeps its deadline.
 *  - Query log line and latency sample (qlog.c, stats_hist_add): in
 *    query_done, once per query, from q->start_us and the end's kind
 *    (enum query_end says where the reply came from).
 *  - Zone transfers (issue 16): a TCP query marked by query_stream, whose
 *    completion is called for each message of the stream (query_part, end
 *    QUERY_PART, the origin kept) and once more at its end (query_done);
 *    the upstream asks the origin's room (query_room) before it reads on,
 *    and the transfer's own connection runs its deadlines once it has
 *    taken it (query_streaming).
 * Nothing here allocates: slots come from pending.c, reserved at start-up. */
#ifndef QUERY_H
#define QUERY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "conf.h"
#include "dns.h"
#include "pending.h"

/* Where a query is in its life (pending_query.state). enum query_end
 * (pending.h) says how it ended. */
enum query_state {
	QUERY_ADMITTED, /* a slot, its deadline running; being filled in */
	QUERY_WAITING,  /* on the waiting queue, for a connection */
	QUERY_SENT,     /* with a connection: queued on it or written, unanswered */
	QUERY_REPLIED,  /* its origin answered (serve stale); the upstream query goes on */
};

/* The upstream's hook: q is ending while a connection holds it (q->conn >=
 * 0, not answered there): account for it and take it off the connection. */
typedef void query_forget_fn(struct pending_query *q, enum query_end how, uint64_t now);

/* Start-up: the deadline every query gets, the stale answer timer, the
 * UDP size cap, and the upstream's hook. */
void query_init(const struct conf *conf, query_forget_fn *forget);

/* What the cache has for a query at admission. */
enum query_cache {
	QUERY_CACHE_MISS,  /* nothing: forward it */
	QUERY_CACHE_HIT,   /* a reply: send it, no slot taken */
	QUERY_CACHE_STALE, /* an expired answer: forward it with q->stale set */
};
/* At admission, before query_new: look msg up in the cache (msg is a query
 * dns_check_query forwards, qi its summary). HIT: *reply and *rlen hold the
 * reply, with the client's ID and spelling of the question, in a buffer of
 * query.c's that lives until the next call; over UDP the caller truncates
 * it to the client's size. A hit in the last 10 % of the TTL also sends
 * the query upstream with no client (prefetch). */
enum query_cache query_cached(const uint8_t *msg, size_t len, const struct dns_query_info *qi,
    uint8_t **reply, size_t *rlen, uint64_t now);
/* Put msg into q as it goes upstream: padded when it has EDNS (RFC 7830,
 * RFC 8467), with its ID, question end, DO bit, and the client's UDP size
 * capped by --max-udp-size. -1 when it needs a large buffer and every one
 * is busy. */
int query_fill(struct pending_query *q, const uint8_t *msg, size_t len,
    const struct dns_query_info *qi);

/* A new query from origin (PQ_UDP, PQ_TCP, or PQ_NONE for one of the
 * proxy's own), ended through done: ADMITTED, its deadline running. NULL
 * when every slot is busy. The caller fills in the query and origin. */
struct pending_query *query_new(uint8_t origin, query_done_fn *done, uint64_t now);
/* Give back an ADMITTED query that was not started (refused at
 * admission): no completion runs. */
void query_drop(struct pending_query *q);
/* Its bytes and question are in place: it waits for the upstream. */
void query_start(struct pending_query *q, uint64_t now);

/* The upstream side: the oldest WAITING query, or NULL. */
struct pending_query *query_waiting(void);
/* Off the waiting queue onto a connection's send queue: SENT. */
void query_assign(struct pending_query *q, struct pq_list *sendq, int conn);
/* Back to the front of the waiting queue (its connection was lost); its
 * deadline is unchanged. */
void query_requeue(struct pending_query *q);

/* The one end of every query: run the completion, tell the upstream if a
 * connection still holds it, count it, free the slot. msg/len/qend: the
 * answer for QUERY_ANSWERED, else NULL/0/0. */
void query_done(struct pending_query *q, enum query_end how, uint8_t *msg, size_t len,
    uint16_t qend, uint64_t now);
/* Answer the origin now, keep the slot (serve stale): the completion runs
 * and the origin becomes PQ_NONE, so the final query_done answers no one. */
void query_reply(struct pending_query *q, enum query_end how, uint8_t *msg, size_t len,
    uint16_t qend, uint64_t now);

/* The query log (--log-queries): on or off, and the upstream's way to name
 * the nameserver behind a connection (its "IP:PORT:NAME"). */
typedef const char *query_namer_fn(int conn);
void query_set_log(int enabled, query_namer_fn *namer);
/* A new --timeout (a reload): for the queries admitted from now on. */
void query_set_timeout(unsigned ms);
/* A reply the proxy made without a slot (FORMERR, REFUSED, a full table):
 * counted in the answer-time histogram and logged like a query's end.
 * client: its address (NULL when not known); query: as the client sent it. */
/* The same for an answer from the cache at admission (reply: the answer as
 * it goes back, the client's question in it). */
void query_note_cached(const struct sockaddr *client, int tcp, const uint8_t *reply, size_t len,
    uint64_t now);
void query_note(const struct sockaddr *client, int tcp, const uint8_t *query, size_t len,
    int rcode, uint64_t start_us, uint64_t now);

/* Zone transfers. q (ADMITTED, from a TCP client) is a stream: the
 * upstream gives it a connection of its own; room tells how full the
 * origin's output is. */
void query_stream(struct pending_query *q, query_room_fn *room);
/* The stream's connection has it: its deadlines are that connection's
 * (xfr_deadline), no longer --timeout's. */
void query_streaming(struct pending_query *q);
/* One message of the stream for the origin (the completion, QUERY_PART);
 * the query goes on. */
void query_part(struct pending_query *q, uint8_t *msg, size_t len, uint64_t now);
/* The origin's output: bytes queued and its capacity; -1 when it is gone. */
int query_room(const struct pending_query *q, size_t *queued, size_t *cap);

/* Once a turn: queries whose deadline passed end QUERY_EXPIRED (the
 * deadline list is a FIFO, its head the next due), and those with a stale
 * answer unanswered for --stale-answer-timeout get it; the next deadline
 * is given to the loop. */
void query_expire(uint64_t now);
/* At exit: every query still in flight ends QUERY_SHUTDOWN. */
void query_end_all(uint64_t now);

#endif
