/* SPDX-License-Identifier: MIT */
/* Nameservers and their connection pools. Each connection is a state
 *   IDLE -> CONNECTING -> HANDSHAKING -> READY -> (CLOSING) -> IDLE
 * plus one step function (conn_run) that moves bytes between the socket and
 * the BearSSL engine as far as the engine's state allows. Queries are only
 * ever written on a READY connection: one whose certificate chain and name
 * were verified. There is no clear-text path. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns.h"
#include "frame.h"
#include "log.h"
#include "loop.h"
#include "port.h"
#include "query.h"
#include "stats.h"
#include "tls.h"
#include "upstream.h"

enum conn_state { CONN_IDLE, CONN_CONNECTING, CONN_HANDSHAKING, CONN_READY, CONN_CLOSING };

/* How a connection was lost. */
enum conn_loss {
	LOSS_NET,    /* refused, closed, reset, unreadable: maybe over a query */
	LOSS_AUTH,   /* certificate or name failure */
	LOSS_SILENT, /* nothing came back, not even to a probe: the path or the server */
};

static const char *const state_names[] = { "idle", "connecting", "handshaking", "ready", "closing" };

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

struct upstream_conn {
	enum conn_state state;
	int fd;
	uint32_t gen;            /* changes at every open: stale poll results are ignored */
	uint16_t index;          /* in conns[]; the high half of the ID-hash key */
	struct nameserver *ns;
	uint64_t deadline;       /* CONNECTING/HANDSHAKING/CLOSING: give up then */
	uint64_t last_rx;        /* READY: last message received, or the first query sent */
	uint64_t probe_sent;     /* when the liveness probe went out */
	uint16_t probe_id;       /* its ID, kept out of the way of queries */
	uint8_t probe_due;       /* write a probe at the next chance */
	uint8_t probe_out;       /* a probe is unanswered */
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
	unsigned char *iobuf;    /* engine input then output buffer */
	uint8_t *id_burnt;       /* ID_MAP_BYTES: IDs given up unanswered, not to reuse */
	unsigned burnt;          /* bits set in id_burnt */
};

static const struct conf *conf;
static struct nameserver nameservers[MAX_NAMESERVERS];
static unsigned ns_count;
static struct upstream_conn *conns;
static unsigned conn_count;
static unsigned char *conn_block; /* TLS buffers and answer assembly, all connections */
static uint8_t *id_block;        /* every connection's ID map, zeroed (calloc) */
static const br_x509_trust_anchor *anchors;
static size_t anchor_count;
static uint64_t last_probe;
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
static void conn_event(void *obj, uint32_t gen, short revents, uint64_t now);

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
	    ((c->probe_out || c->probe_due) && id == c->probe_id));
	return id;
}

size_t
up_memory(const struct conf *cf)
{
	size_t per_conn = sizeof(struct upstream_conn) + CONN_BUF_BYTES + ID_MAP_BYTES;

	return (size_t)cf->ns_count * cf->pool_size * per_conn;
}

int
up_init(const struct conf *cf, const br_x509_trust_anchor *tas, size_t ntas)
{
	unsigned i;

	conf = cf;
	ns_count = (unsigned)cf->ns_count;
	conn_count = ns_count * cf->pool_size;
	conns = calloc(conn_count, sizeof(*conns));
	/* Zeroed and untouched: a page is written only when a query is given
	 * up on a connection. */
	id_block = calloc(conn_count, ID_MAP_BYTES);
	if (conns == NULL || id_block == NULL)
		return -1;
	for (i = 0; i < ns_count; i++) {
		struct nameserver *ns = &nameservers[i];
		int j;

		ns->cf = &cf->ns[i];
		ns->pool = &conns[(size_t)i * cf->pool_size];
		for (j = 0; j < (int)cf->pool_size; j++) {
			struct upstream_conn *c = &ns->pool[j];

			c->index = (uint16_t)(i * cf->pool_size + (unsigned)j);
			c->fd = -1;
			c->ns = ns;
			c->id_burnt = id_block + (size_t)c->index * ID_MAP_BYTES;
		}
		for (j = 0; j < cf->pin_count; j++)
			if (strcasecmp(cf->pins[j].name, ns->cf->name) == 0 && ns->npins < MAX_PINS)
				ns->pins[ns->npins++] = cf->pins[j].key;
	}
	/* One block for every connection's buffers; a connection is set up
	 * (and its memory touched) when first opened. */
	conn_block = malloc((size_t)conn_count * CONN_BUF_BYTES);
	if (conn_block == NULL)
		return -1;
	anchors = tas;
	anchor_count = ntas;
	if (port_entropy(&rng_state, sizeof(rng_state)) != 0 || rng_state == 0)
		rng_state = (uint32_t)port_now_us() | 1;
	return 0;
}

static unsigned
conn_load(const struct upstream_conn *c)
{
	return c->sendq.count + c->sent.count;
}

static void
rest_nameserver(struct nameserver *ns, uint64_t now)
{
	unsigned shift = ns->fails > 6 ? 6 : ns->fails;
	uint64_t rest = (uint64_t)BACKOFF_BASE_MS << shift;

	if (rest > BACKOFF_CAP_MS)
		rest = BACKOFF_CAP_MS;
	ns->fails++;
	ns->last_fail = now;
	ns->rest_until = now + rest * 1000;
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

static void
conn_close_fd(struct upstream_conn *c)
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

/* A connection failed or was lost: release it, move its queries on. */
static void
conn_fail(struct upstream_conn *c, uint64_t now, const char *why, enum conn_loss loss)
{
	struct nameserver *ns = c->ns;
	unsigned moved = conn_load(c), failed;

	if (c->state == CONN_READY) {
		ns->st.reconnects++;
		/* Lost with queries on it before a single answer: a server that
		 * takes connections but does not serve, or a query that makes it
		 * drop them. Silent even to a probe, it is the server: rest it
		 * like one that refuses connections, or queries would reconnect
		 * in a loop. Closed or reset, the first time the query is blamed
		 * (requeue_all); when it happens again with no answer in between,
		 * on a connection whose first query was not blamed before, it is
		 * the server. Resting for a query's sake would fail every other
		 * client's query meanwhile. */
		if (c->received == 0 && moved > 0 && loss == LOSS_SILENT) {
			ns->st.failures++;
			rest_nameserver(ns, now);
		} else if (c->received == 0 && moved > 0 && c->first_suspect != 1) {
			if (ns->lost_unanswered) {
				ns->st.failures++;
				rest_nameserver(ns, now);
			}
			ns->lost_unanswered = 1;
		}
	} else if (loss == LOSS_AUTH) {
		ns->st.auth_failures++;
		ns->have_session = 0;
		log_error("upstream: AUTHENTICATION FAILED ns=%s conn=%u reason=\"%s\": "
		    "no query was sent on this connection", ns->cf->text, c->index, why);
		rest_nameserver(ns, now);
	} else {
		ns->st.failures++;
		log_warnx("upstream: cannot reach ns=%s conn=%u state=%s reason=\"%s\"",
		    ns->cf->text, c->index, state_names[c->state], why);
		rest_nameserver(ns, now);
	}
	failed = requeue_all(c, now, loss != LOSS_SILENT);
	if (c->state == CONN_READY)
		log_info("upstream: connection lost ns=%s conn=%u reason=\"%s\" requeued=%u "
		    "failed=%u", ns->cf->text, c->index, why, moved - failed, failed);
	conn_close_fd(c);
}

static void
conn_start_tls(struct upstream_conn *c, uint64_t now)
{
	struct nameserver *ns = c->ns;

	if (tls_start(&c->tls, ns->cf->name, ns->pins, ns->npins,
	    ns->have_session ? &ns->session : NULL) != 0) {
		conn_fail(c, now, tls_error_name(br_ssl_engine_last_error(&c->tls.sc.eng)), LOSS_NET);
		return;
	}
	c->state = CONN_HANDSHAKING;
	conn_run(c, now);
}

static void
conn_open(struct upstream_conn *c, uint64_t now)
{
	const struct conf_nameserver *cf = c->ns->cf;

	if (c->iobuf == NULL) {
		unsigned char *buf = conn_block + (size_t)c->index * CONN_BUF_BYTES;

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
		conn_fail(c, now, "no socket", LOSS_NET);
		return;
	}
	port_tcp_nodelay(c->fd);
	c->deadline = now + (uint64_t)conf->connect_timeout_ms * 1000;
	c->state = CONN_CONNECTING;
	log_debug("upstream: connecting ns=%s conn=%u", cf->text, c->index);
	if (connect(c->fd, (const struct sockaddr *)&cf->addr, cf->addrlen) == 0) {
		conn_start_tls(c, now);
	} else if (errno != EINPROGRESS) {
		conn_fail(c, now, strerror(errno), LOSS_NET);
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

static void
update_srtt(struct nameserver *ns, uint64_t rtt)
{
	if (rtt > 60000000u)
		rtt = 60000000u;
	if (ns->srtt_us == 0)
		ns->srtt_us = (uint32_t)rtt;
	else
		ns->srtt_us = (uint32_t)(((uint64_t)ns->srtt_us * 7 + rtt) / 8);
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
	if (c->probe_out && dns_get16(msg) == c->probe_id) {
		c->probe_out = 0;
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
	update_srtt(c->ns, now - pq->sent_us);
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
		rest_nameserver(c->ns, ctx->now);
		conn_fail(c, ctx->now, "malformed answer", LOSS_NET);
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

	while (c->probe_due || c->sendq.head != NULL) {
		size_t room, put = 0, free_tx = TX_AHEAD - (c->tx_len - c->tx_off);
		uint8_t *buf;
		int multi;

		if (free_tx < QUERY_RECORD_MAX || (buf = br_ssl_engine_sendapp_buf(eng, &room)) == NULL)
			break;
		/* Room for this record at its fullest and a last one after it. */
		multi = free_tx >= TLS_OUT_BYTES + QUERY_RECORD_MAX;
		if (c->probe_due) {
			/* Liveness probe: the root's SOA, which every resolver has
			 * at hand and answers at once, even while a slow recursion
			 * is pending. */
			put = put_message(buf, probe_query, sizeof(probe_query), c->probe_id);
			c->probe_due = 0;
			c->probe_out = 1;
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
				conn_close_fd(c);
			} else if (err == BR_ERR_OK && c->state != CONN_READY) {
				conn_fail(c, now, "closed by server during handshake", LOSS_NET);
			} else if (err == BR_ERR_OK) {
				log_debug("upstream: server closed ns=%s conn=%u", c->ns->cf->text, c->index);
				if (conn_load(c) == 0)
					conn_close_fd(c);
				else
					conn_fail(c, now, "closed by server", LOSS_NET);
			} else {
				conn_fail(c, now, tls_failure(&c->tls.v, err),
				    tls_is_auth_error(err) ? LOSS_AUTH : LOSS_NET);
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
				if (c->state == CONN_CLOSING)
					conn_close_fd(c);
				else
					conn_fail(c, now, strerror(errno), LOSS_NET);
				return;
			}
		}
		if (st & BR_SSL_RECVAPP) {
			if (c->state == CONN_READY) {
				read_answers(c, now);
			} else {
				/* Data while closing is of no use. */
				size_t len;
				br_ssl_engine_recvapp_buf(eng, &len);
				br_ssl_engine_recvapp_ack(eng, len);
			}
			if (c->state == CONN_IDLE)
				return;
			progress = 1;
		}
		if ((st & BR_SSL_SENDAPP) && c->state == CONN_HANDSHAKING) {
			int resumed = tls_resumed(&c->tls);

			c->state = CONN_READY;
			c->ns->st.handshakes++;
			c->ns->st.resumed += (uint64_t)resumed;
			c->ns->fails = 0;
			c->ns->rest_until = 0;
			c->last_rx = c->idle_since = now;
			c->idle_us = (uint64_t)conf->up_idle_ms * 1000;
			c->probe_due = c->probe_out = 0;
			c->received = 0;
			c->first_suspect = -1;
			/* Keep the session: the next connection resumes it and skips
			 * the certificate work. */
			br_ssl_engine_get_session_parameters(eng, &c->ns->session);
			c->ns->have_session = 1;
			log_info("upstream: connected ns=%s conn=%u version=%s suite=%s%s",
			    c->ns->cf->text, c->index, tls_version_name(c->ns->session.version),
			    tls_suite_name(c->ns->session.cipher_suite),
			    resumed ? " (resumed session)" : "");
			progress = 1;
		}
		if ((st & BR_SSL_SENDAPP) && c->state == CONN_READY &&
		    (c->sendq.head != NULL || c->probe_due))
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
				if (c->state == CONN_CLOSING || (c->state == CONN_READY && conn_load(c) == 0))
					conn_close_fd(c);
				else
					conn_fail(c, now, "connection closed", LOSS_NET);
				return;
			} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
				c->can_read = 0;
			} else if (errno != EINTR) {
				if (c->state == CONN_CLOSING)
					conn_close_fd(c);
				else
					conn_fail(c, now, strerror(errno), LOSS_NET);
				return;
			}
		}
		if (!progress)
			break;
	}
	if (did_read && c->state == CONN_READY && c->sent.count > 0)
		c->ack_owed = 1;
}

static void
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
			conn_fail(c, now, strerror(err), LOSS_NET);
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

static int
ns_resting(const struct nameserver *ns, uint64_t now)
{
	return ns->rest_until > now;
}

static int
ns_establishing(const struct nameserver *ns)
{
	unsigned i;

	for (i = 0; i < conf->pool_size; i++)
		if (ns->pool[i].state == CONN_CONNECTING || ns->pool[i].state == CONN_HANDSHAKING)
			return 1;
	return 0;
}

/* An idle connection of ns to open, or one still closing (cut short). */
static struct upstream_conn *
ns_free_conn(struct nameserver *ns)
{
	unsigned i;

	for (i = 0; i < conf->pool_size; i++)
		if (ns->pool[i].state == CONN_IDLE)
			return &ns->pool[i];
	for (i = 0; i < conf->pool_size; i++)
		if (ns->pool[i].state == CONN_CLOSING) {
			conn_close_fd(&ns->pool[i]);
			return &ns->pool[i];
		}
	return NULL;
}

/* The ready connection of ns to put a query on, or NULL: the first one
 * carrying fewer than CONN_SPREAD_AT queries, so that at moderate load a
 * turn's queries share one TLS record and one write (and spare connections
 * go idle and close); when every one is busier, the least loaded with room. */
static struct upstream_conn *
ns_ready_conn(struct nameserver *ns)
{
	struct upstream_conn *best = NULL;
	unsigned i;

	for (i = 0; i < conf->pool_size; i++) {
		struct upstream_conn *c = &ns->pool[i];

		if (c->state != CONN_READY || conn_load(c) >= CONN_INFLIGHT_MAX ||
		    c->burnt >= ID_BURNT_MAX)
			continue;
		if (conn_load(c) < CONN_SPREAD_AT)
			return c;
		if (best == NULL || conn_load(c) < conn_load(best))
			best = c;
	}
	return best;
}

/* Selection: among nameservers, prefer the lowest smoothed answer time
 * (unmeasured ones first, so each is tried), ties to the order given. */
static int
ns_better(const struct nameserver *a, const struct nameserver *b)
{
	return b == NULL || a->srtt_us < b->srtt_us;
}

static struct upstream_conn *
pick_conn(void)
{
	struct upstream_conn *best = NULL;
	unsigned i;

	for (i = 0; i < ns_count; i++) {
		struct upstream_conn *c = ns_ready_conn(&nameservers[i]);

		if (c != NULL && (best == NULL || ns_better(c->ns, best->ns)))
			best = c;
	}
	return best;
}

/* Open connections where they are wanted: to the preferred nameserver when
 * it has no ready connection with room, or its ready ones are busy enough
 * to spread load; at most one handshake at a time per nameserver. When
 * every nameserver is resting, probe the one that failed longest ago, at
 * most every PROBE_INTERVAL_MS.
 * Returns 1 when a waiting query can expect a connection soon: one is
 * ready, or one is being set up to a nameserver with no recent failure.
 * A connection to a nameserver that has just failed is not waited for:
 * while the upstream is down, queries get SERVFAIL at once and the probes
 * run in the background. */
static int
grow_pool(uint64_t now)
{
	unsigned attempt, i, j;

	for (attempt = 0; attempt <= ns_count; attempt++) {
		struct nameserver *target = NULL, *oldest = NULL;
		struct upstream_conn *spare = NULL;
		int hopeful = 0, setting_up = 0;

		for (i = 0; i < ns_count; i++) {
			struct nameserver *ns = &nameservers[i];

			for (j = 0; j < conf->pool_size; j++) {
				enum conn_state st = ns->pool[j].state;

				if (st == CONN_READY) {
					hopeful = 1;
				} else if (st == CONN_CONNECTING || st == CONN_HANDSHAKING) {
					setting_up = 1;
					if (ns->fails == 0)
						hopeful = 1;
				}
			}
			if (!ns_resting(ns, now) && ns_better(ns, target))
				target = ns;
			if (oldest == NULL || ns->last_fail < oldest->last_fail)
				oldest = ns;
		}
		if (target != NULL) {
			struct upstream_conn *ready = ns_ready_conn(target);

			if ((ready == NULL || conn_load(ready) >= CONN_SPREAD_AT) &&
			    !ns_establishing(target))
				spare = ns_free_conn(target);
		} else if (!hopeful && !setting_up && oldest != NULL &&
		    now - last_probe >= (uint64_t)PROBE_INTERVAL_MS * 1000) {
			last_probe = now;
			spare = ns_free_conn(oldest);
			log_debug("upstream: every nameserver is resting; probing ns=%s",
			    oldest->cf->text);
		}
		if (spare == NULL)
			return hopeful;
		conn_open(spare, now);
		if (spare->state != CONN_IDLE)
			return hopeful || spare->ns->fails == 0;
		/* It failed at once (the nameserver now rests): look again. */
	}
	return 0;
}

static void
assign(struct upstream_conn *c, struct pending_query *pq, uint64_t now)
{
	uint16_t id = conn_new_id(c);

	pq->key = (uint32_t)c->index << 16 | id;
	dns_put16(pq->query, id);
	if (pq_hash_add(pq) != 0) {
		/* The arena is sized so that this cannot happen. */
		query_done(pq, QUERY_FAILED, NULL, 0, 0, now);
		return;
	}
	query_assign(pq, &c->sendq, c->index);
}

/* Give every waiting query a connection, or fail them all fast when no
 * nameserver can be reached: a client then gets SERVFAIL at once rather
 * than after its deadline. */
static void
dispatch(uint64_t now)
{
	struct pending_query *pq;
	struct upstream_conn *c;

	/* Connections are opened for queries, never ahead of them: an idle
	 * proxy holds none open. */
	if (query_waiting() == NULL)
		return;
	while ((pq = query_waiting()) != NULL && (c = pick_conn()) != NULL)
		assign(c, pq, now);
	if (grow_pool(now) || query_waiting() == NULL)
		return;
	while ((pq = query_waiting()) != NULL)
		query_done(pq, QUERY_UNREACHABLE, NULL, 0, 0, now);
}

void
up_forget(struct pending_query *pq, enum query_end how, uint64_t now)
{
	struct upstream_conn *c;

	if (pq->conn < 0)
		return;
	c = &conns[pq->conn];
	if (how == QUERY_EXPIRED) {
		/* A nameserver that takes the whole deadline (or answers with
		 * the wrong ID or question) loses its place to the others. */
		c->ns->st.timeouts++;
		update_srtt(c->ns, (uint64_t)conf->timeout_ms * 1000);
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

/* When the connection's next timer falls due, or 0 when it has none. */
static uint64_t
conn_deadline(const struct upstream_conn *c)
{
	switch (c->state) {
	case CONN_CONNECTING:
	case CONN_HANDSHAKING:
	case CONN_CLOSING:
		return c->deadline;
	case CONN_READY:
		/* Queries out and nothing back for a third of a query's deadline:
		 * probe. Nothing back for another third after the probe: the path
		 * is dead (a WAN reconnect, a stalled server). */
		if (c->sent.count > 0) {
			uint64_t third = (uint64_t)conf->timeout_ms * 1000 / 3;

			if (c->probe_out)
				return (c->last_rx > c->probe_sent ? c->last_rx : c->probe_sent) + third;
			/* A probe that could not even be written for a third (the
			 * socket full on a dead path) judges the path as well. */
			return c->last_rx + (c->probe_due ? 2 * third : third);
		}
		if (c->sendq.count == 0)
			return c->burnt >= ID_BURNT_MAX ? c->idle_since : c->idle_since + c->idle_us;
		return 0;
	case CONN_IDLE:
		break;
	}
	return 0;
}

static void
conn_timers(struct upstream_conn *c, uint64_t now)
{
	uint64_t due = conn_deadline(c);

	if (due == 0 || now < due)
		return;
	switch (c->state) {
	case CONN_CONNECTING:
		conn_fail(c, now, "connect timed out", LOSS_NET);
		break;
	case CONN_HANDSHAKING:
		conn_fail(c, now, "handshake timed out", LOSS_NET);
		break;
	case CONN_READY:
		if (c->sent.count > 0 && !c->probe_out && !c->probe_due) {
			c->probe_id = conn_new_id(c);
			c->probe_due = 1;
			log_debug("upstream: no answer for a while, probing ns=%s conn=%u",
			    c->ns->cf->text, c->index);
		} else if (c->sent.count > 0) {
			/* Silent even to the probe: move the queries on while they
			 * can still be answered. The path, not the server, is
			 * suspect (a WAN reconnect kills connections silently), so a
			 * new connection may be tried at once; the smoothed time
			 * takes a penalty so that another nameserver is preferred. */
			update_srtt(c->ns, (uint64_t)conf->timeout_ms * 1000);
			conn_fail(c, now, "no answer even to a probe, connection judged dead", LOSS_SILENT);
		} else {
			conn_close(c, now);
		}
		break;
	case CONN_CLOSING:
		conn_close_fd(c);
		break;
	case CONN_IDLE:
		break;
	}
}

void
up_prepare(uint64_t now)
{
	unsigned i;

	/* Place new queries first, so an idle connection takes them before its
	 * idle timer can close it; then the timers; then place what a failed
	 * connection put back. */
	dispatch(now);
	for (i = 0; i < conn_count; i++)
		conn_timers(&conns[i], now);
	dispatch(now);
	requeued = 0;
	for (i = 0; i < conn_count; i++) {
		struct upstream_conn *c = &conns[i];
		short events = 0;
		uint64_t due;

		if (c->state == CONN_READY && (c->sendq.head != NULL || c->probe_due))
			conn_run(c, now);
		if (c->state == CONN_IDLE)
			continue;
		if (c->ack_owed) {
			/* Answers came in this turn and no query went out to carry
			 * the ACK: send it now, not after the delayed-ACK timer. */
			port_tcp_quickack(c->fd);
			c->ack_owed = 0;
		}
		if ((due = conn_deadline(c)) != 0)
			loop_deadline(due);
		if (c->state == CONN_CONNECTING) {
			events = POLLOUT;
		} else {
			unsigned st = br_ssl_engine_current_state(&c->tls.sc.eng);

			if ((st & BR_SSL_SENDREC) || c->tx_off < c->tx_len)
				events |= POLLOUT;
			if (st & BR_SSL_RECVREC)
				events |= POLLIN;
		}
		loop_watch(c->fd, events, conn_event, c, c->gen);
	}
	/* A write above may have failed and put queries back: another turn. */
	if (requeued != 0)
		loop_deadline(now);
}

void
up_shutdown(void)
{
	unsigned i;

	for (i = 0; i < conn_count; i++) {
		struct upstream_conn *c = &conns[i];

		if (c->state == CONN_READY) {
			/* Best effort close_notify; the process is leaving. */
			br_ssl_engine_close(&c->tls.sc.eng);
			conn_run(c, port_now_us());
		}
		if (c->state != CONN_IDLE) {
			requeue_all(c, port_now_us(), 0);
			conn_close_fd(c);
		}
	}
}

void
up_log_stats(void)
{
	unsigned i;

	for (i = 0; i < ns_count; i++) {
		const struct nameserver *ns = &nameservers[i];
		unsigned j, open = 0, inflight = 0;

		for (j = 0; j < conf->pool_size; j++) {
			if (ns->pool[j].state != CONN_IDLE)
				open++;
			inflight += conn_load(&ns->pool[j]);
		}
		log_stats("--- Stats of nameserver %s: queries %llu / answers %llu / "
		    "failures %llu / auth_failures %llu / timeouts %llu / reconnects %llu / "
		    "handshakes %llu / resumed %llu / bad_answers %llu / inflight %u / connections %u / "
		    "srtt %.2fms%s",
		    ns->cf->text, (unsigned long long)ns->st.queries,
		    (unsigned long long)ns->st.answers, (unsigned long long)ns->st.failures,
		    (unsigned long long)ns->st.auth_failures, (unsigned long long)ns->st.timeouts,
		    (unsigned long long)ns->st.reconnects, (unsigned long long)ns->st.handshakes,
		    (unsigned long long)ns->st.resumed,
		    (unsigned long long)ns->st.bad_answers, inflight, open,
		    ns->srtt_us / 1000.0, ns_resting(ns, port_now_us()) ? " / resting" : "");
	}
}
