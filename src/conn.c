/* SPDX-License-Identifier: MIT */
/* One DNS-over-TLS connection (conn.h): its state, the only writer of
 * c->state; the step function that drives the BearSSL engine from poll
 * readiness; writing queries and the liveness probe; reading, matching and
 * delivering answers; its timers; and what happens to its queries when it
 * is lost. Queries are only ever written on a READY connection: one whose
 * certificate chain and name were verified. There is no clear-text path. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "dns.h"
#include "log.h"
#include "loop.h"
#include "nameserver.h"
#include "port.h"
#include "stats.h"

static const char *const state_names[] = { "idle", "connecting", "handshaking", "ready", "closing" };

static const struct conf *conf;
static const br_x509_trust_anchor *anchors;
static size_t anchor_count;
static unsigned requeued;        /* queries put back by failed connections */
static uint32_t rng_state;       /* xorshift32 for upstream IDs */

#define TLS_OUT_BYTES TLS_OUT_SIZE(TLS_OUT_PAYLOAD)
/* The engine asks for a record header, then its body: reading ahead into a
 * buffer of our own takes one read for several records, not two per
 * record. */
#define RX_AHEAD 16384
/* A write ends with a record of one query (write_queries). The engine
 * holds one record at a time, so sealed records wait here, to go out
 * together in one write. */
#define TX_AHEAD 16384
/* Most a query's record takes: its length prefix and bytes, and BearSSL's
 * largest record overhead (header, explicit IV, MAC, padding). */
#define QUERY_RECORD_MAX (2 + DNS_QUERY_ROOM + 85)
#define CONN_BUF_BYTES (TLS_IN_SIZE + TLS_OUT_BYTES + FRAME_BUF_SIZE + RX_AHEAD + TX_AHEAD)
#define CLOSE_GRACE_US 1000000u

/* ". IN SOA" with RD, the ID written in when sent. */
static const uint8_t probe_query[] = {
	0, 0, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 1,
};

static void conn_run(struct upstream_conn *c, uint64_t now);

static uint16_t
next_id(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return (uint16_t)(rng_state >> 8);
}

/* IDs of queries given up on the connection while unanswered (bounds.h,
 * ID_MAP_BYTES): not used again until their answer comes or the
 * connection is replaced. */
static int
id_is_burnt(const struct upstream_conn *c, uint16_t id)
{
	return (c->id_burnt[id >> 3] >> (id & 7)) & 1;
}

static void
id_burn(struct upstream_conn *c, uint16_t id)
{
	if (id_is_burnt(c, id))
		return;
	c->id_burnt[id >> 3] |= (uint8_t)(1u << (id & 7));
	if (++c->burnt == ID_BURNT_MAX)
		log_info("upstream: %u queries given up on ns=%s conn=%u; it takes no new ones "
		    "and is replaced once idle", c->burnt, c->ns->cf->text, c->index);
}

/* A late answer to a given-up query: its ID is free again. */
static void
id_unburn(struct upstream_conn *c, uint16_t id)
{
	if (!id_is_burnt(c, id))
		return;
	c->id_burnt[id >> 3] &= (uint8_t)~(1u << (id & 7));
	c->burnt--;
}

/* An ID for a new query or probe on c: random, not in flight on c, not
 * given up on it, not its probe's. */
static uint16_t
conn_new_id(const struct upstream_conn *c)
{
	uint16_t id;

	do
		id = next_id();
	while (pq_hash_find((uint32_t)c->index << 16 | id) != NULL || id_is_burnt(c, id) ||
	    (c->probe != PROBE_NONE && id == c->probe_id));
	return id;
}

const char *
conn_state_name(enum conn_state state)
{
	return state_names[state];
}

void
conn_init(const struct conf *cf, const br_x509_trust_anchor *tas, size_t ntas)
{
	conf = cf;
	anchors = tas;
	anchor_count = ntas;
	if (port_entropy(&rng_state, sizeof(rng_state)) != 0 || rng_state == 0)
		rng_state = (uint32_t)port_now_us() | 1;
}

size_t
conn_buf_bytes(void)
{
	return CONN_BUF_BYTES;
}

void
conn_setup(struct upstream_conn *c, uint16_t index, struct nameserver *ns,
    unsigned char *block, uint8_t *id_map)
{
	c->index = index;
	c->fd = -1;
	c->ns = ns;
	c->block = block;
	c->id_burnt = id_map;
}

unsigned
conn_load(const struct upstream_conn *c)
{
	return c->sendq.count + c->sent.count;
}

/* A connection was lost with queries on it: put them back at the front of
 * the waiting queue, to go out again on another connection within their
 * deadline. Of those written and unanswered, the oldest is the one a
 * server that reads and answers in order read last: it is blamed for the
 * loss (pq->resends) and goes back after the others, so that on the next
 * connection they are read (and answered) before it. Blamed a second time,
 * it gets SERVFAIL and is not sent again: a query that makes the server
 * drop connections (a drop rule, a query that crashes it) would otherwise
 * take every connection down, and other clients' queries with it. Those
 * behind it were not read, and go again as they were. No query is blamed
 * when blame is 0 (a connection that went silent, or the process leaving).
 * Returns how many got SERVFAIL. */
static unsigned
requeue_all(struct upstream_conn *c, uint64_t now, int blame)
{
	struct pending_query *pq, *blamed = blame ? c->sent.head : NULL;
	unsigned failed = 0;

	if (blamed != NULL) {
		pq_list_remove(blamed);
		pq_hash_del(blamed);
		if (++blamed->resends >= 2) {
			failed++;
			query_done(blamed, QUERY_LOST, NULL, 0, 0, now);
		} else {
			requeued++;
			query_requeue(blamed);
		}
	}
	/* The rest in the order written, the unwritten after them. */
	while ((pq = c->sendq.tail) != NULL) {
		pq_hash_del(pq);
		requeued++;
		query_requeue(pq);
	}
	while ((pq = c->sent.tail) != NULL) {
		pq_hash_del(pq);
		requeued++;
		query_requeue(pq);
	}
	return failed;
}

void
conn_reset(struct upstream_conn *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->state = CONN_IDLE;
	if (c->burnt != 0) {
		/* The next connection starts with every ID free. */
		memset(c->id_burnt, 0, ID_MAP_BYTES);
		c->burnt = 0;
	}
	c->reasm.have = 0;
	c->rx_off = c->rx_len = 0;
	c->tx_off = c->tx_len = 0;
	c->can_read = c->ack_owed = 0;
}

/* The transfer on c ends: off the connection, counted, and its query
 * done: ANSWERED with the last message, or a failure, which is BROKEN
 * once messages have gone to the client. The connection stays as it is. */
static void
transfer_end(struct upstream_conn *c, enum query_end how, uint8_t *msg, size_t len,
    uint64_t now)
{
	struct xfr_relay *r = c->xfr;
	struct pending_query *q = r->q;

	r->q = NULL;
	pq_list_remove(q);
	if (q->conn >= 0)
		pq_hash_del(q);
	if (how == QUERY_ANSWERED && r->st.rcode == DNS_RCODE_NOERROR) {
		xfr_counters.completed++;
	} else {
		xfr_counters.failed++;
		if (how != QUERY_ANSWERED && how != QUERY_SHUTDOWN && r->parts > 0)
			how = QUERY_BROKEN;
	}
	log_debug("upstream: zone transfer ended ns=%s conn=%u messages=%u records=%u rcode=%u%s",
	    c->ns->cf->text, c->index, r->parts, r->st.records, r->st.rcode,
	    how == QUERY_ANSWERED ? "" : " (failed)");
	query_done(q, how, msg, len, 0, now);
}

/* The one way a connection ends other than a close it asked for: a
 * CLOSING one (its queries long gone) and a READY one closed by the server
 * with nothing in flight just close. Otherwise the nameserver is told (it
 * counts, logs, and may rest), the queries move on, and it closes. */
static void
conn_fail(struct upstream_conn *c, enum conn_loss loss, const char *why, uint64_t now)
{
	unsigned moved = conn_load(c), failed;

	if (c->xfr != NULL) {
		/* A transfer is never sent again: some of it may have reached
		 * the client. Before READY the nameserver is at fault as for
		 * any connection. */
		if (c->xfr->q != NULL) {
			if (c->state != CONN_READY)
				ns_lost(c->ns, c, loss, why, moved, now);
			log_info("upstream: zone transfer connection lost ns=%s conn=%u reason=\"%s\" "
			    "messages=%u", c->ns->cf->text, c->index, why, c->xfr->parts);
			transfer_end(c, QUERY_UNREACHABLE, NULL, 0, now);
		}
		conn_reset(c);
		return;
	}
	if (c->state == CONN_CLOSING ||
	    (loss == LOSS_CLOSED && c->state == CONN_READY && moved == 0)) {
		conn_reset(c);
		return;
	}
	ns_lost(c->ns, c, loss, why, moved, now);
	failed = requeue_all(c, now, loss != LOSS_SILENT);
	if (c->state == CONN_READY)
		log_info("upstream: connection lost ns=%s conn=%u reason=\"%s\" requeued=%u "
		    "failed=%u", c->ns->cf->text, c->index, why, moved - failed, failed);
	conn_reset(c);
}

/* RFC 9103: zone transfers over TLS offer the ALPN token "dot"; BIND
 * answers a transfer on a connection without it with SERVFAIL. */
static const char *alpn_dot[] = { "dot" };

static void
conn_start_tls(struct upstream_conn *c, uint64_t now)
{
	struct nameserver *ns = c->ns;

	if (c->xfr != NULL)
		br_ssl_engine_set_protocol_names(&c->tls.sc.eng, alpn_dot, 1);

	if (tls_start(&c->tls, ns->cf->name, ns->pins, ns->npins,
	    ns->have_session ? &ns->session : NULL) != 0) {
		conn_fail(c, LOSS_NET, tls_error_name(br_ssl_engine_last_error(&c->tls.sc.eng)), now);
		return;
	}
	c->state = CONN_HANDSHAKING;
	conn_run(c, now);
}

void
conn_open(struct upstream_conn *c, uint64_t now)
{
	const struct conf_nameserver *cf = c->ns->cf;

	if (c->iobuf == NULL) {
		unsigned char *buf = c->block;

		c->iobuf = buf;
		c->reasm.buf = buf + TLS_IN_SIZE + TLS_OUT_BYTES;
		c->rx = c->reasm.buf + FRAME_BUF_SIZE;
		c->tx = c->rx + RX_AHEAD;
		tls_init(&c->tls, c->iobuf, TLS_IN_SIZE, c->iobuf + TLS_IN_SIZE, TLS_OUT_BYTES,
		    anchors, anchor_count);
	}
	c->gen++;
	c->fd = port_socket(cf->addr.ss_family, SOCK_STREAM);
	if (c->fd == -1) {
		log_warn("upstream: socket ns=%s", cf->text);
		c->state = CONN_CONNECTING; /* so conn_fail counts a failure */
		conn_fail(c, LOSS_NET, "no socket", now);
		return;
	}
	port_tcp_nodelay(c->fd);
	c->deadline = now + (uint64_t)conf->connect_timeout_ms * 1000;
	c->state = CONN_CONNECTING;
	log_debug("upstream: connecting ns=%s conn=%u", cf->text, c->index);
	if (connect(c->fd, (const struct sockaddr *)&cf->addr, cf->addrlen) == 0) {
		conn_start_tls(c, now);
	} else if (errno != EINPROGRESS) {
		conn_fail(c, LOSS_NET, strerror(errno), now);
	}
}

/* Graceful close of an idle connection: send close_notify, then wait
 * briefly for the server's, bounded by a deadline. */
static void
conn_close(struct upstream_conn *c, uint64_t now)
{
	log_debug("upstream: closing idle connection ns=%s conn=%u", c->ns->cf->text, c->index);
	br_ssl_engine_close(&c->tls.sc.eng);
	c->state = CONN_CLOSING;
	c->deadline = now + CLOSE_GRACE_US;
	conn_run(c, now);
}

/* One whole answer from the upstream: validate, match, deliver. Returns -1
 * when it is not a DNS response at all: the stream cannot be trusted. */
static int
handle_answer(struct upstream_conn *c, uint8_t *msg, size_t len, uint64_t now)
{
	struct pending_query *pq;
	uint16_t qend, opt;

	c->last_rx = now;
	c->received++;
	c->ns->lost_unanswered = 0;
	if (dns_check_answer(msg, len, &qend) != 0)
		return -1;
	if (c->probe == PROBE_OUT && dns_get16(msg) == c->probe_id) {
		c->probe = PROBE_NONE;
		return 0;
	}
	pq = pq_hash_find((uint32_t)c->index << 16 | dns_get16(msg));
	if (pq == NULL || pq->list != &c->sent) {
		/* Late (the client already had SERVFAIL) or never asked. A late
		 * one frees its ID for reuse on this connection. */
		id_unburn(c, dns_get16(msg));
		stats.unmatched++;
		log_debug("upstream: answer matches no query ns=%s id=%u", c->ns->cf->text, dns_get16(msg));
		return 0;
	}
	opt = dns_answer_opt(msg, len, qend);
	if (!dns_answer_match(pq->query, pq->qend, pq->query_do, msg, len, qend, opt)) {
		c->ns->st.bad_answers++;
		log_debug("upstream: discarded answer with the wrong question or RD/CD/DO bits "
		    "ns=%s id=%u", c->ns->cf->text, dns_get16(msg));
		return 0;
	}
	c->ns->st.answers++;
	ns_sample(c->ns, now - pq->sent_us);
	/* RFC 7828 §3.3.2: the server says how long it keeps an idle
	 * connection; close ours before then (a value of 0: close when idle). */
	if (opt != 0) {
		int keepalive = dns_keepalive(msg, len, opt);

		if (keepalive >= 0 && (uint64_t)keepalive * 100000 < c->idle_us)
			c->idle_us = (uint64_t)keepalive * 100000;
	}
	pq_list_remove(pq);
	pq_hash_del(pq);
	query_done(pq, QUERY_ANSWERED, msg, len, qend, now);
	if (conn_load(c) == 0)
		c->idle_since = now;
	return 0;
}

struct answer_ctx {
	struct upstream_conn *c;
	uint64_t now;
};

static int
answer_cb(void *arg, uint8_t *msg, size_t len)
{
	struct answer_ctx *ctx = arg;
	struct upstream_conn *c = ctx->c;

	if (len == 0 || handle_answer(c, msg, len, ctx->now) != 0) {
		/* Garbage where an answer should be: the framing may be lost.
		 * Drop the connection and send its queries again elsewhere. */
		c->ns->st.bad_answers++;
		log_warnx("upstream: malformed answer from ns=%s len=%zu; closing the connection",
		    c->ns->cf->text, len);
		ns_rest(c->ns, ctx->now);
		conn_fail(c, LOSS_NET, "malformed answer", ctx->now);
		return -1;
	}
	return 0;
}

/* Take decrypted bytes from the engine, cut into messages (frame.c). */
static void
read_answers(struct upstream_conn *c, uint64_t now)
{
	struct answer_ctx ctx = { c, now };
	size_t avail;
	uint8_t *buf = br_ssl_engine_recvapp_buf(&c->tls.sc.eng, &avail);

	br_ssl_engine_recvapp_ack(&c->tls.sc.eng, frame_feed(&c->reasm, buf, avail, answer_cb, &ctx));
}

/* May the transfer on c take its next message (xfr_flow)? Notes when the
 * client read (the deadline's clock); ends the transfer, and the
 * connection, when the client has gone: returns -1 then. */
static int
transfer_may_take(struct upstream_conn *c, uint64_t now)
{
	struct xfr_relay *r = c->xfr;
	size_t queued, cap;
	int paused;

	if (query_room(r->q, &queued, &cap) != 0) {
		log_debug("upstream: zone transfer client gone ns=%s conn=%u", c->ns->cf->text, c->index);
		transfer_end(c, QUERY_FAILED, NULL, 0, now);
		conn_reset(c);
		return -1;
	}
	if (queued < r->last_queued)
		r->last_client = now;
	r->last_queued = queued;
	paused = xfr_flow(queued, cap) == XFR_FLOW_PAUSE;
	if (r->paused && !paused)
		r->last_client = now; /* reading again: the primary's clock restarts */
	r->paused = (uint8_t)paused;
	return !paused;
}

/* One message of a transfer (frame_fn): checked and relayed, in order,
 * with the client's ID (xfr_relay); stop at the end, or when the client
 * has no room for the next. */
static int
transfer_cb(void *arg, uint8_t *msg, size_t len)
{
	struct answer_ctx *ctx = arg;
	struct upstream_conn *c = ctx->c;
	struct xfr_relay *r = c->xfr;
	struct pending_query *q = r->q;
	enum xfr_step step = XFR_ERROR;

	c->last_rx = r->last_upstream = ctx->now;
	c->received++;
	if (len >= DNS_HEADER_LEN && dns_get16(msg) == dns_get16(q->query))
		step = xfr_relay(&r->st, msg, &len, q->client_id);
	switch (step) {
	case XFR_MORE:
		xfr_counters.messages++;
		xfr_counters.bytes += len;
		r->parts++;
		query_part(q, msg, len, ctx->now);
		return transfer_may_take(c, ctx->now) > 0 ? 0 : -1;
	case XFR_DONE:
		xfr_counters.messages++;
		xfr_counters.bytes += len;
		r->parts++;
		transfer_end(c, QUERY_ANSWERED, msg, len, ctx->now);
		return -1;
	case XFR_ERROR:
		break;
	}
	c->ns->st.bad_answers++;
	log_warnx("upstream: zone transfer broken ns=%s conn=%u after %u messages len=%zu; closing it",
	    c->ns->cf->text, c->index, r->parts, len);
	transfer_end(c, QUERY_FAILED, NULL, 0, ctx->now);
	conn_reset(c);
	return -1;
}

/* Take a transfer's messages from the engine while the client has room.
 * Once it is over, the connection closes (close_notify). Returns 1 when
 * bytes were taken. */
static int
transfer_read(struct upstream_conn *c, uint64_t now)
{
	struct answer_ctx ctx = { c, now };
	size_t avail, used;
	uint8_t *buf;

	if (c->xfr->q == NULL || transfer_may_take(c, now) <= 0)
		return 0;
	buf = br_ssl_engine_recvapp_buf(&c->tls.sc.eng, &avail);
	used = frame_feed(&c->reasm, buf, avail, transfer_cb, &ctx);
	br_ssl_engine_recvapp_ack(&c->tls.sc.eng, used);
	if (c->state == CONN_READY && c->xfr->q == NULL) {
		br_ssl_engine_close(&c->tls.sc.eng);
		c->state = CONN_CLOSING;
		c->deadline = now + CLOSE_GRACE_US;
	}
	return used > 0;
}

void
conn_transfer(struct upstream_conn *c, struct pending_query *q, uint64_t now)
{
	struct xfr_relay *r = c->xfr;
	struct dns_query_info qi;

	memset(&qi, 0, sizeof(qi));
	qi.qend = q->qend;
	(void)xfr_start(&r->st, q->query, q->qlen, &qi); /* the client classified it */
	r->q = q;
	r->parts = 0;
	r->paused = 0;
	r->last_upstream = r->last_client = now;
	r->last_queued = 0;
	r->idle_ms = conf->transfer_idle_ms;
	r->client_idle_ms = conf->tcp_idle_ms;
	xfr_counters.started++;
	/* From here --transfer-timeout bounds it, not --timeout. */
	query_streaming(q);
	log_debug("upstream: zone transfer ns=%s conn=%u", c->ns->cf->text, c->index);
	conn_open(c, now);
}

/* Move the sealed record bytes the engine holds to c->tx, as far as they
 * fit, which frees the engine for the next record. */
static void
take_records(struct upstream_conn *c)
{
	br_ssl_engine_context *eng = &c->tls.sc.eng;

	if (c->tx_off > 0) {
		memmove(c->tx, c->tx + c->tx_off, c->tx_len - c->tx_off);
		c->tx_len -= c->tx_off;
		c->tx_off = 0;
	}
	while ((br_ssl_engine_current_state(eng) & BR_SSL_SENDREC) && c->tx_len < TX_AHEAD) {
		size_t len;
		uint8_t *rec = br_ssl_engine_sendrec_buf(eng, &len);

		if (len > TX_AHEAD - c->tx_len)
			len = TX_AHEAD - c->tx_len;
		memcpy(c->tx + c->tx_len, rec, len);
		c->tx_len += len;
		br_ssl_engine_sendrec_ack(eng, len);
	}
}

/* Frame one message (a query or probe, RFC 7858 §3.3, RFC 1035 §4.2.2)
 * into the engine's buffer at buf, with this ID; returns its size. */
static size_t
put_message(uint8_t *buf, const uint8_t *msg, size_t len, uint16_t id)
{
	dns_put16(buf, (uint16_t)len);
	memcpy(buf + 2, msg, len);
	dns_put16(buf + 2, id);
	return 2 + len;
}

/* Write queued queries into TLS records, to go out together in one send
 * (conn_run). A record holds several only when another record follows it
 * in the same write: the last record of a write always holds one query.
 * A server that reads one record at a time and then waits for its socket
 * (dnsdist 1.7's DoT front end) leaves the rest of a record unread until
 * more bytes arrive; with a record of one query still in its socket, it
 * reads on through the others. (A record per query would do too, and cost
 * the server and the proxy a record's work per query.) A query goes in
 * whole or waits: the engine's buffer holds the largest one, and a query
 * is never left half written when its slot is freed. */
static int
write_queries(struct upstream_conn *c, uint64_t now)
{
	br_ssl_engine_context *eng = &c->tls.sc.eng;
	int wrote = 0;

	while (c->probe == PROBE_DUE || c->sendq.head != NULL) {
		size_t room, put = 0, free_tx = TX_AHEAD - (c->tx_len - c->tx_off);
		uint8_t *buf;
		int multi;

		if (free_tx < QUERY_RECORD_MAX || (buf = br_ssl_engine_sendapp_buf(eng, &room)) == NULL)
			break;
		/* Room for this record at its fullest and a last one after it. */
		multi = free_tx >= TLS_OUT_BYTES + QUERY_RECORD_MAX;
		if (c->probe == PROBE_DUE) {
			/* Liveness probe: the root's SOA, which every resolver has
			 * at hand and answers at once, even while a slow recursion
			 * is pending. */
			put = put_message(buf, probe_query, sizeof(probe_query), c->probe_id);
			c->probe = PROBE_OUT;
			c->probe_sent = now;
		}
		while (c->sendq.head != NULL) {
			struct pending_query *pq = c->sendq.head;

			if (2 + (size_t)pq->qlen > room - put ||
			    (put > 0 && (!multi || pq->q.next == NULL)))
				break;
			put += put_message(buf + put, pq->query, pq->qlen, dns_get16(pq->query));
			pq_list_remove(pq);
			pq->sent_us = now;
			if (c->first_suspect < 0)
				c->first_suspect = pq->resends > 0;
			if (c->sent.count == 0)
				c->last_rx = now; /* the stall clock starts with the first query */
			pq_list_push(&c->sent, pq);
			c->ns->st.queries++;
		}
		if (put == 0)
			break;
		br_ssl_engine_sendapp_ack(eng, put);
		br_ssl_engine_flush(eng, 0);
		take_records(c);
		wrote = 1;
	}
	return wrote;
}

/* Drive the engine as far as it goes without blocking. */
static void
conn_run(struct upstream_conn *c, uint64_t now)
{
	br_ssl_engine_context *eng = &c->tls.sc.eng;
	int did_read = 0;

	for (;;) {
		unsigned st = br_ssl_engine_current_state(eng);
		int progress = 0;

		if (st & BR_SSL_CLOSED) {
			int err = br_ssl_engine_last_error(eng);

			if (c->state == CONN_CLOSING) {
				conn_reset(c);
			} else if (err == BR_ERR_OK && c->state != CONN_READY) {
				conn_fail(c, LOSS_NET, "closed by server during handshake", now);
			} else if (err == BR_ERR_OK) {
				log_debug("upstream: server closed ns=%s conn=%u", c->ns->cf->text, c->index);
				conn_fail(c, LOSS_CLOSED, "closed by server", now);
			} else {
				conn_fail(c, tls_is_auth_error(err) ? LOSS_AUTH : LOSS_NET,
				    tls_failure(&c->tls.v, err), now);
			}
			return;
		}
		if (c->tx_off < c->tx_len || (st & BR_SSL_SENDREC)) {
			/* Records taken out of the engine first: they came before
			 * whatever it holds now. */
			int staged = c->tx_off < c->tx_len;
			size_t len = c->tx_len - c->tx_off;
			const uint8_t *buf = staged ? c->tx + c->tx_off : br_ssl_engine_sendrec_buf(eng, &len);
			ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);

			if (n > 0) {
				if (!staged)
					br_ssl_engine_sendrec_ack(eng, (size_t)n);
				else if ((c->tx_off += (size_t)n) == c->tx_len)
					c->tx_off = c->tx_len = 0;
				c->ack_owed = 0; /* the segment carried the ACK */
				progress = 1;
			} else if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				conn_fail(c, LOSS_NET, strerror(errno), now);
				return;
			}
		}
		if (st & BR_SSL_RECVAPP) {
			if (c->state == CONN_READY && c->xfr != NULL) {
				/* Back-pressure: nothing is taken while the client's
				 * output is full, and the engine then asks the
				 * socket for nothing more either. */
				progress = transfer_read(c, now);
			} else if (c->state == CONN_READY) {
				read_answers(c, now);
				progress = 1;
			} else {
				/* Data while closing is of no use. */
				size_t len;
				br_ssl_engine_recvapp_buf(eng, &len);
				br_ssl_engine_recvapp_ack(eng, len);
				progress = 1;
			}
			if (c->state == CONN_IDLE)
				return;
		}
		if ((st & BR_SSL_SENDAPP) && c->state == CONN_HANDSHAKING) {
			int resumed = tls_resumed(&c->tls);

			br_ssl_session_parameters session;

			c->state = CONN_READY;
			c->last_rx = c->idle_since = now;
			c->idle_us = (uint64_t)conf->up_idle_ms * 1000;
			c->probe = PROBE_NONE;
			c->received = 0;
			c->first_suspect = -1;
			/* Keep the session: the next connection resumes it and skips
			 * the certificate work. */
			br_ssl_engine_get_session_parameters(eng, &session);
			ns_connected(c->ns, &session, resumed);
			log_info("upstream: connected ns=%s conn=%u version=%s suite=%s%s",
			    c->ns->cf->text, c->index, tls_version_name(c->ns->session.version),
			    tls_suite_name(c->ns->session.cipher_suite),
			    resumed ? " (resumed session)" : "");
			progress = 1;
		}
		if ((st & BR_SSL_SENDAPP) && c->state == CONN_READY &&
		    (c->sendq.head != NULL || c->probe == PROBE_DUE))
			progress |= write_queries(c, now);
		if ((st & BR_SSL_RECVREC) && c->rx_off < c->rx_len) {
			size_t len, take;
			uint8_t *buf = br_ssl_engine_recvrec_buf(eng, &len);

			take = c->rx_len - c->rx_off < len ? c->rx_len - c->rx_off : len;
			memcpy(buf, c->rx + c->rx_off, take);
			c->rx_off += take;
			br_ssl_engine_recvrec_ack(eng, take);
			progress = 1;
		} else if ((st & BR_SSL_RECVREC) && c->can_read) {
			ssize_t n = recv(c->fd, c->rx, RX_AHEAD, 0);

			if (n > 0) {
				c->rx_off = 0;
				c->rx_len = (size_t)n;
				/* A short read drained the socket: poll says when there
				 * is more, which saves a read that would only fail. */
				if ((size_t)n < RX_AHEAD)
					c->can_read = 0;
				did_read = 1;
				progress = 1;
			} else if (n == 0) {
				conn_fail(c, LOSS_CLOSED, "connection closed", now);
				return;
			} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
				c->can_read = 0;
			} else if (errno != EINTR) {
				conn_fail(c, LOSS_NET, strerror(errno), now);
				return;
			}
		}
		if (!progress)
			break;
	}
	if (did_read && c->state == CONN_READY && c->sent.count > 0)
		c->ack_owed = 1;
}

void
conn_event(void *obj, uint32_t gen, short revents, uint64_t now)
{
	struct upstream_conn *c = obj;

	if (c->gen != gen || c->state == CONN_IDLE)
		return;
	if (c->state == CONN_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
		if (err != 0) {
			conn_fail(c, LOSS_NET, strerror(err), now);
			return;
		}
		if ((revents & POLLOUT) == 0)
			return;
		conn_start_tls(c, now);
		return;
	}
	if (revents & (POLLIN | POLLHUP | POLLERR))
		c->can_read = 1;
	conn_run(c, now);
}

uint64_t
conn_deadline(const struct upstream_conn *c, unsigned timeout_ms)
{
	switch (c->state) {
	case CONN_CONNECTING:
	case CONN_HANDSHAKING:
	case CONN_CLOSING:
		return c->deadline;
	case CONN_READY:
		if (c->xfr != NULL)
			return c->xfr->q == NULL ? 0 : xfr_deadline(c->xfr->last_upstream,
			    c->xfr->last_client, c->xfr->paused, c->xfr->idle_ms, c->xfr->client_idle_ms);
		/* Queries out and nothing back for a third of a query's deadline:
		 * probe. Nothing back for another third after the probe: the path
		 * is dead (a WAN reconnect, a stalled server). */
		if (c->sent.count > 0) {
			uint64_t third = (uint64_t)timeout_ms * 1000 / 3;

			if (c->probe == PROBE_OUT)
				return (c->last_rx > c->probe_sent ? c->last_rx : c->probe_sent) + third;
			/* A probe that could not even be written for a third (the
			 * socket full on a dead path) judges the path as well. */
			return c->last_rx + (c->probe == PROBE_DUE ? 2 * third : third);
		}
		if (c->sendq.count == 0)
			return c->burnt >= ID_BURNT_MAX ? c->idle_since : c->idle_since + c->idle_us;
		return 0;
	case CONN_IDLE:
		break;
	}
	return 0;
}

void
conn_timers(struct upstream_conn *c, uint64_t now)
{
	uint64_t due = conn_deadline(c, conf->timeout_ms);

	if (due == 0 || now < due)
		return;
	switch (c->state) {
	case CONN_CONNECTING:
		conn_fail(c, LOSS_NET, "connect timed out", now);
		break;
	case CONN_HANDSHAKING:
		conn_fail(c, LOSS_NET, "handshake timed out", now);
		break;
	case CONN_READY:
		if (c->xfr != NULL) {
			/* Paused for the client: it does not read, and is closed
			 * as any client that does not read its answers. Else the
			 * primary has gone quiet. */
			log_info("upstream: zone transfer given up ns=%s conn=%u messages=%u: %s",
			    c->ns->cf->text, c->index, c->xfr->parts, c->xfr->paused ?
			    "the client stopped reading" : "nothing from the primary for --transfer-timeout");
			if (c->xfr->paused)
				stats.tcp_slow++;
			transfer_end(c, QUERY_FAILED, NULL, 0, now);
			conn_reset(c);
			break;
		}
		if (c->sent.count > 0 && c->probe == PROBE_NONE) {
			c->probe_id = conn_new_id(c);
			c->probe = PROBE_DUE;
			log_debug("upstream: no answer for a while, probing ns=%s conn=%u",
			    c->ns->cf->text, c->index);
		} else if (c->sent.count > 0) {
			/* Silent even to the probe: move the queries on while they
			 * can still be answered. The path, not the server, is
			 * suspect (a WAN reconnect kills connections silently), so a
			 * new connection may be tried at once; the smoothed time
			 * takes a penalty so that another nameserver is preferred. */
			ns_sample(c->ns, (uint64_t)conf->timeout_ms * 1000);
			conn_fail(c, LOSS_SILENT, "no answer even to a probe, connection judged dead", now);
		} else {
			conn_close(c, now);
		}
		break;
	case CONN_CLOSING:
		conn_reset(c);
		break;
	case CONN_IDLE:
		break;
	}
}

int
conn_assign(struct upstream_conn *c, struct pending_query *pq)
{
	uint16_t id = conn_new_id(c);

	pq->key = (uint32_t)c->index << 16 | id;
	dns_put16(pq->query, id);
	if (pq_hash_add(pq) != 0)
		return -1;
	query_assign(pq, &c->sendq, c->index);
	return 0;
}

void
conn_forget(struct upstream_conn *c, struct pending_query *pq, uint64_t now)
{
	if (c->xfr != NULL) {
		/* Its transfer ends from outside (the process leaving): the
		 * connection goes with it. */
		if (c->xfr->q == pq) {
			c->xfr->q = NULL;
			xfr_counters.failed++;
		}
		pq_list_remove(pq);
		pq_hash_del(pq);
		conn_reset(c);
		return;
	}
	/* Written and unanswered: its answer may still come, so its ID is
	 * not given to another query on this connection. */
	if (pq->list == &c->sent)
		id_burn(c, (uint16_t)(pq->key & 0xffff));
	pq_list_remove(pq);
	pq_hash_del(pq);
	if (conn_load(c) == 0)
		c->idle_since = now;
}

short
conn_poll_events(enum conn_state state, unsigned engine_state, int tx_pending)
{
	short events = 0;

	switch (state) {
	case CONN_IDLE:
		break;
	case CONN_CONNECTING:
		events = POLLOUT;
		break;
	case CONN_HANDSHAKING:
	case CONN_READY:
	case CONN_CLOSING:
		if ((engine_state & BR_SSL_SENDREC) || tx_pending)
			events |= POLLOUT;
		if (engine_state & BR_SSL_RECVREC)
			events |= POLLIN;
		break;
	}
	return events;
}

void
conn_prepare(struct upstream_conn *c, uint64_t now)
{
	uint64_t due;

	if (c->state == CONN_READY && (c->sendq.head != NULL || c->probe == PROBE_DUE))
		conn_run(c, now);
	/* A transfer paused for its client: read on once it has room (or
	 * end when it has gone). */
	if (c->state == CONN_READY && c->xfr != NULL && c->xfr->q != NULL &&
	    transfer_may_take(c, now) > 0 && (br_ssl_engine_current_state(&c->tls.sc.eng) & BR_SSL_RECVAPP))
		conn_run(c, now);
	if (c->state == CONN_IDLE)
		return;
	if (c->ack_owed) {
		/* Answers came in this turn and no query went out to carry
		 * the ACK: send it now, not after the delayed-ACK timer. */
		port_tcp_quickack(c->fd);
		c->ack_owed = 0;
	}
	if ((due = conn_deadline(c, conf->timeout_ms)) != 0)
		loop_deadline(due);
	loop_watch(c->fd, conn_poll_events(c->state, br_ssl_engine_current_state(&c->tls.sc.eng),
	    c->tx_off < c->tx_len), conn_event, c, c->gen);
}

void
conn_shutdown(struct upstream_conn *c, uint64_t now)
{
	if (c->state == CONN_READY) {
		/* Best effort close_notify; the process is leaving. */
		br_ssl_engine_close(&c->tls.sc.eng);
		conn_run(c, now);
	}
	if (c->xfr != NULL && c->xfr->q != NULL)
		transfer_end(c, QUERY_SHUTDOWN, NULL, 0, now);
	if (c->state != CONN_IDLE) {
		requeue_all(c, now, 0);
		conn_reset(c);
	}
}

unsigned
conn_take_requeued(void)
{
	unsigned n = requeued;

	requeued = 0;
	return n;
}
