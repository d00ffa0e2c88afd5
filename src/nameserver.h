/* SPDX-License-Identifier: MIT */
/* The upstream side: the nameservers, their pools of DNS-over-TLS
 * connections (conn.h), back-off and rest after failures, choosing where
 * each waiting query goes and when a connection is opened, and the hooks
 * a connection reports its events through. */
#ifndef NAMESERVER_H
#define NAMESERVER_H

#include <stddef.h>
#include <stdint.h>

#include <bearssl.h>

#include "conf.h"
#include "conn.h"
#include "query.h"
#include "tls.h"

struct nameserver {
	const struct conf_nameserver *cf;
	struct upstream_conn *pool;  /* its pool_size connections */
	unsigned fails;              /* consecutive connect/handshake failures */
	int lost_unanswered;         /* a connection was lost before any answer, and
	                              * none has come on any connection since */
	uint64_t rest_until;         /* no new connection before this */
	uint64_t last_fail;
	uint32_t srtt_us;            /* smoothed answer time, 0 until measured */
	struct tls_pin pins[MAX_PINS]; /* keys its certificate may carry, if any */
	size_t npins;
	br_ssl_session_parameters session; /* to resume on the next connection */
	int have_session;
	struct up_ns_stats {
		uint64_t queries, answers, timeouts, failures, auth_failures;
		uint64_t reconnects, handshakes, resumed, bad_answers;
	} st;
};

/* Reserve every connection and buffer. Start-up only; -1 on no memory. */
int ns_init(const struct conf *conf, const br_x509_trust_anchor *tas, size_t ntas);
/* Bytes ns_init reserves for this configuration (the debug memory plan). */
size_t ns_memory(const struct conf *conf);

/* query.c's hook (query_forget_fn): pq ends (expired, or the process
 * leaving) while a connection holds it: account for it, take it off. */
void ns_forget(struct pending_query *pq, enum query_end how, uint64_t now);

/* Once a turn before polling: place waiting queries (query_waiting),
 * write queued queries, run timers, and register poll interest and
 * deadlines. */
void ns_prepare(uint64_t now);

/* Close every connection (at exit). */
void ns_shutdown(void);

/* Log one stats line per nameserver. */
void ns_log_stats(void);

/* What a connection reports to its nameserver. */
/* The handshake finished (session: to resume next time). */
void ns_connected(struct nameserver *ns, const br_ssl_session_parameters *session,
    int resumed);
/* c ends before it could be used or while in use: count it, log it, rest
 * the nameserver when the loss says the server is at fault. moved: queries
 * it carried. */
void ns_lost(struct nameserver *ns, const struct upstream_conn *c, enum conn_loss loss,
    const char *why, unsigned moved, uint64_t now);
/* No new connection for a while (back-off). */
void ns_rest(struct nameserver *ns, uint64_t now);
/* An answer time sample (an answer, or the penalty for a timeout). */
void ns_sample(struct nameserver *ns, uint64_t rtt_us);

/* Decisions, pure for the tests. */
/* How long a nameserver rests after its fails-th consecutive failure. */
uint64_t ns_backoff_ms(unsigned fails);
/* A lost READY connection (received: messages it had; moved: queries it
 * carried): 1 when the nameserver is at fault and rests. *lost_unanswered
 * is the nameserver's memory of a loss before any answer, updated. */
int ns_loss_rests(uint32_t received, unsigned moved, enum conn_loss loss, int first_suspect,
    int *lost_unanswered);
/* The ready connection of a pool to put a query on, or -1: the first
 * carrying fewer than CONN_SPREAD_AT queries; when every one is busier,
 * the least loaded with room. */
int ns_choose_conn(const struct upstream_conn *pool, unsigned n);
/* 1 when the pool wants another connection: none ready with room, or the
 * chosen one busy enough to spread load, and none being set up. */
int ns_wants_conn(const struct upstream_conn *pool, unsigned n);

#endif
