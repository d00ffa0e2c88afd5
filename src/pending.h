/* SPDX-License-Identifier: MIT */
/* Pending queries: a fixed table of slots reserved at start-up, one per
 * query in flight, with the lists that order them and the hash that finds
 * one from an upstream answer. Nothing here allocates after pq_init. */
#ifndef PENDING_H
#define PENDING_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <uthash.h>

#include "bounds.h"
#include "port.h"

struct pending_query;

/* An intrusive FIFO; a slot is on at most one queue list (waiting, a
 * connection's send queue, or its sent list) and on the deadline list. */
struct pq_list {
	struct pending_query *head, *tail;
	unsigned count;
};

struct pq_link {
	struct pending_query *prev, *next;
};

/* A query's origin: where its answer goes. PQ_NONE: one of the proxy's
 * own (no client to answer). */
enum pq_transport { PQ_UDP, PQ_TCP, PQ_NONE };

/* How a query ended (query.h owns a query's life; the slot holds its
 * completion, so the types live here). */
enum query_end {
	QUERY_ANSWERED,    /* an upstream answer: msg/len hold it */
	QUERY_EXPIRED,     /* its deadline passed: SERVFAIL (RFC 8906) */
	QUERY_UNREACHABLE, /* no nameserver could be reached: SERVFAIL at once */
	QUERY_LOST,        /* blamed twice for a lost upstream connection: SERVFAIL */
	QUERY_FAILED,      /* some other failure of ours: SERVFAIL */
	QUERY_SHUTDOWN,    /* still in flight when the grace time ran out: SERVFAIL */
	QUERY_STALE,       /* an expired answer from the cache (RFC 8767): msg/len hold it */
	/* Zone transfers (a stream of messages, xfr.h): */
	QUERY_PART,        /* one message of the stream: msg/len hold it, more follow */
	QUERY_BROKEN,      /* the stream failed after messages went out: close the
	                    * client's connection, the only way left to tell it */
	QUERY_BUSY,        /* every transfer slot was taken: SERVFAIL */
};

/* The completion in a slot: deliver the end to the origin. msg is the
 * answer for QUERY_ANSWERED and QUERY_STALE (writable: the client's ID
 * goes in), NULL otherwise; qend is the end of its question. Runs once per origin, before
 * the slot is freed, with the query off every upstream list. */
typedef void query_done_fn(struct pending_query *q, enum query_end how, uint8_t *msg,
    size_t len, uint16_t qend, uint64_t now);

/* A stream's origin (a zone transfer's TCP client): the bytes its output
 * buffer holds (*queued) and can hold (*cap); -1 when it has gone. */
typedef int query_room_fn(const struct pending_query *q, size_t *queued, size_t *cap);

union pq_addr {
	struct sockaddr sa;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
};

struct pending_query {
	UT_hash_handle hh;        /* in the ID hash while assigned to a connection */
	uint32_t key;             /* connection index << 16 | upstream ID */
	struct pq_link q;         /* on *list */
	struct pq_link d;         /* on the deadline FIFO */
	struct pq_list *list;     /* the queue list it is on, or NULL */
	uint64_t start_us;        /* arrival, for latency */
	uint64_t deadline_us;     /* SERVFAIL after this */
	uint64_t sent_us;         /* written to the upstream connection */
	int conn;                 /* upstream connection index, -1 when unassigned */
	int last_conn;            /* the connection it was last given to (an answer
	                           * came from there: the query log names it) */
	uint16_t client_id;       /* the client's ID; query[0..1] holds the upstream ID */
	uint16_t qlen, qend;      /* query length and end of its question */
	uint16_t udp_size;        /* largest answer the client takes over UDP */
	uint8_t transport;        /* enum pq_transport: the origin */
	uint8_t state;            /* enum query_state (query.h) */
	uint8_t client_edns;
	uint8_t query_do;         /* its DO bit, which the answer must echo */
	uint8_t listener;         /* UDP: which socket it came in on */
	uint8_t retries;          /* times asked again of another provider after a
	                           * SERVFAIL or REFUSED (--retry-servfail) */
	uint8_t stale;            /* the cache holds an expired answer to it, given after
	                           * --stale-answer-timeout or when the upstream fails
	                           * (RFC 8767); set before query_start */
	uint8_t resends;          /* times blamed for a lost upstream connection (the
	                           * oldest unanswered on it) and sent again */
	socklen_t addrlen;        /* UDP client address */
	union pq_addr addr;
	struct port_local local;  /* UDP: the address it was sent to, to answer from */
	uint32_t tcp_client, tcp_gen; /* TCP: client slot and its generation */
	int source;               /* its client's counters (source.c), or -1 */
	query_done_fn *done;      /* its completion, set by query_new */
	query_room_fn *room;      /* a stream's origin's room (query_stream), else NULL */
	uint8_t streaming;        /* a zone transfer: off the deadline FIFO once its own
	                           * connection takes it (query_streaming) */
	uint8_t *query;           /* the query as sent upstream: inline_query or a large buffer */
	uint16_t query_cap;       /* bytes query can hold */
	uint8_t inline_query[DNS_QUERY_INLINE];
};

/* Reserve max slots and the hash's memory. Start-up only; -1 on no memory. */
int pq_init(unsigned max);
size_t pq_memory(unsigned max);

/* A free slot, put on the deadline FIFO with deadline now + timeout, or NULL
 * when every slot is busy. */
struct pending_query *pq_alloc(uint64_t now, unsigned timeout_ms);
/* Make pq->query hold at least need bytes (need <= DNS_QUERY_ROOM): a
 * large buffer when the inline room is too small. Returns -1 when every
 * large buffer is in use. */
int pq_reserve(struct pending_query *pq, size_t need);
/* Return a slot: off its list, the hash and the deadline FIFO. */
void pq_free(struct pending_query *pq);
/* Off the deadline FIFO for good (a stream with timers of its own); sets
 * pq->streaming. */
void pq_no_deadline(struct pending_query *pq);
/* The slot allocated first, or NULL when none is in use: the one whose
 * deadline comes first, as every query gets the same timeout. */
struct pending_query *pq_oldest(void);
unsigned pq_in_use(void);

int pq_hash_add(struct pending_query *pq);
struct pending_query *pq_hash_find(uint32_t key);
void pq_hash_del(struct pending_query *pq);
/* Test hook: how many bytes the hash has taken from its arena. */
size_t pq_hash_arena_used(void);

void pq_list_push(struct pq_list *l, struct pending_query *pq);
void pq_list_push_front(struct pq_list *l, struct pending_query *pq);
void pq_list_remove(struct pending_query *pq);

#endif
