/* SPDX-License-Identifier: MIT */
/* Listeners and TCP clients. A TCP client owns an input buffer for one
 * query and an output buffer for its answers, both reserved at start-up and
 * touched only for what a turn cannot finish: an incomplete query, answers
 * its socket would not take. Whole queries are read in shared space and
 * answers are written from shared space. A client that stops reading gets
 * back-pressure, then is closed, and never holds up anyone else. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "acl.h"
#include "client.h"
#include "dns.h"
#include "log.h"
#include "loop.h"
#include "port.h"
#include "query.h"
#include "source.h"
#include "stats.h"
#include "xfr.h"

/* Room for the back-pressure threshold plus one largest answer. */
#define TCP_OUT_SIZE (TCP_CLIENT_OUT_HIGH + 2 + DNS_MSG_MAX)
#define TCP_IN_SIZE (2 + DNS_QUERY_MAX)

struct listener {
	int fd;
	int is_udp;
	int want_local;         /* UDP on a wildcard address: learns each query's local address */
	const struct conf_listen *cf;
};

struct client_tcp {
	int fd;                 /* -1 when the slot is free */
	uint32_t gen;           /* changes at every accept */
	unsigned inflight;      /* its queries not yet answered */
	int eof;                /* the client closed its side */
	int source;             /* its client's counters (source.c), or -1 */
	union pq_addr peer;     /* for log lines */
	uint64_t idle_deadline; /* closed when idle past this */
	size_t in_len;          /* bytes kept: in in_short[] up to TCP_IN_SHORT, else in[] */
	size_t skip;            /* bytes of an oversize query still to discard */
	size_t out_off, out_len; /* unsent answer bytes are out[out_off..out_len) */
	size_t staged;          /* answer bytes staged this turn (framed) */
	uint32_t stage_first;   /* its first and last entry in stage[], or STAGE_END */
	uint32_t stage_last;
	uint8_t *out;           /* TCP_OUT_SIZE bytes, reserved at start-up */
	uint8_t *in;            /* TCP_IN_SIZE bytes, reserved at start-up */
	uint8_t in_short[TCP_IN_SHORT];
};

/* Where a query came from, to send its reply back. */
struct origin {
	int transport;
	int denied;                     /* outside --allow */
	struct listener *l;             /* UDP */
	const struct sockaddr *sa;      /* UDP */
	socklen_t addrlen;
	const struct port_local *local; /* UDP: where it was sent, to answer from */
	struct client_tcp *c;           /* TCP */
};

static const struct conf *conf;
static struct listener listeners[2 * MAX_LISTEN];
static unsigned listener_count;
static struct client_tcp *clients;
static unsigned *free_clients;  /* stack of client slots used and freed */
static unsigned free_count;
static unsigned clients_used;   /* slots [0, clients_used) have been used */
static uint8_t *out_block;      /* every client's output buffer, one block */
static uint8_t *in_block;       /* every client's input buffer, one block */
/* A read from a client holding no incomplete query lands here; only what
 * is left of it once its whole queries are taken goes to the client's own
 * in[]. Used within one read, never across turns. */
static uint8_t tcp_rx[TCP_IN_SIZE];
/* TCP answers of a turn for every client, written at its end with one
 * write per client (TCP_STAGE_ARENA); only what a socket does not take is
 * copied to the client's own out[]. An entry: the offset of the client's
 * next one (STAGE_END: none), then the framed message. The arena starts
 * over once no client has anything staged. */
#define STAGE_END UINT32_MAX
#define STAGE_HDR 4
#define STAGE_IOV 64
static uint8_t stage[TCP_STAGE_ARENA];
static size_t stage_used;
static unsigned stage_clients;  /* clients with staged bytes */
static int listening = 1;      /* cleared at shutdown: no new queries */
static uint64_t accept_paused_until; /* after EMFILE and the like */
/* UDP in: one batch of datagrams per system call. */
static uint8_t rx_bufs[UDP_BATCH][DNS_QUERY_MAX + 1];
static struct port_dgram rx[UDP_BATCH];
/* UDP out: replies of this turn for one socket, sent together. */
static struct port_dgram tx[UDP_BATCH];
static unsigned tx_count;
static int tx_fd = -1;
static uint8_t tx_arena[UDP_TX_ARENA];
static size_t tx_used;
static uint8_t reply_buf[DNS_QUERY_ROOM + 64]; /* replies the proxy makes itself */
static struct log_limit full_log, refuse_log, acl_log, accept_log, drop_log;
static struct log_limit tcp_client_log, acl_tcp_log, xfr_log;
static struct log_limit client_log = { 0, 0, LOG_CLIENT_LIMIT_MS };

static void tcp_close(struct client_tcp *c);
static query_done_fn client_done;
static query_room_fn client_room;

static void
addr_text(const union pq_addr *a, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (a->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &a->sin6.sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(a->sin6.sin6_port));
	} else {
		inet_ntop(AF_INET, &a->sin.sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(a->sin.sin_port));
	}
}

static void tcp_flush(struct client_tcp *c, uint64_t now);

/* Bytes queued for c and not yet written. */
static size_t
tcp_unsent(const struct client_tcp *c)
{
	return c->out_len - c->out_off + c->staged;
}

/* c has nothing staged any more. */
static void
stage_forget(struct client_tcp *c)
{
	if (c->staged == 0)
		return;
	c->staged = 0;
	c->stage_first = c->stage_last = STAGE_END;
	if (--stage_clients == 0)
		stage_used = 0;
}

/* Write what every client has staged. */
static void
stage_flush_all(uint64_t now)
{
	unsigned i;

	for (i = 0; i < clients_used && stage_clients > 0; i++)
		if (clients[i].fd != -1 && clients[i].staged > 0)
			tcp_flush(&clients[i], now);
}

/* Append a framed message to c's staged entries; 0, or -1 when the arena
 * has no room for it. */
static int
stage_put(struct client_tcp *c, const uint8_t *msg, size_t len)
{
	size_t at = stage_used;
	uint32_t end = STAGE_END;

	if (STAGE_HDR + 2 + len > sizeof(stage) - stage_used)
		return -1;
	memcpy(stage + at, &end, sizeof(end));
	dns_put16(stage + at + STAGE_HDR, (uint16_t)len);
	memcpy(stage + at + STAGE_HDR + 2, msg, len);
	stage_used += STAGE_HDR + 2 + len;
	if (c->staged == 0) {
		c->stage_first = (uint32_t)at;
		stage_clients++;
	} else {
		memcpy(stage + c->stage_last, &(uint32_t){ (uint32_t)at }, sizeof(uint32_t));
	}
	c->stage_last = (uint32_t)at;
	c->staged += 2 + len;
	return 0;
}

static uint32_t
stage_next(uint32_t at)
{
	uint32_t next;

	memcpy(&next, stage + at, sizeof(next));
	return next;
}

static size_t
stage_len(uint32_t at)
{
	return 2 + (size_t)dns_get16(stage + at + STAGE_HDR);
}

/* Write c's staged answers, one system call for up to STAGE_IOV of them.
 * What the socket does not take moves to c's own buffer (empty while
 * anything is staged, and at least as big as the arena). Returns 0 when
 * all went, 1 when the socket is full, -1 when c was closed. */
static int
stage_write(struct client_tcp *c, uint64_t now)
{
	uint32_t at = c->stage_first;

	while (at != STAGE_END) {
		struct iovec iov[STAGE_IOV];
		struct msghdr mh;
		uint32_t next = at;
		size_t want = 0, skip;
		int n_iov = 0;
		ssize_t n;

		while (next != STAGE_END && n_iov < STAGE_IOV) {
			iov[n_iov].iov_base = stage + next + STAGE_HDR;
			iov[n_iov].iov_len = stage_len(next);
			want += iov[n_iov++].iov_len;
			next = stage_next(next);
		}
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = iov;
		mh.msg_iovlen = (size_t)n_iov;
		n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK) {
			log_debug("client: TCP write failed fd=%d: %s", c->fd, strerror(errno));
			tcp_close(c);
			return -1;
		}
		if (n > 0)
			c->idle_deadline = now + (uint64_t)conf->tcp_idle_ms * 1000;
		if (n == (ssize_t)want) {
			at = next;
			continue;
		}
		/* The socket is full: keep the rest, from the first byte not
		 * sent, in the client's own buffer. */
		skip = n > 0 ? (size_t)n : 0;
		c->out_off = c->out_len = 0;
		for (; at != STAGE_END; at = stage_next(at)) {
			size_t len = stage_len(at);

			if (skip >= len) {
				skip -= len;
				continue;
			}
			memcpy(c->out + c->out_len, stage + at + STAGE_HDR + skip, len - skip);
			c->out_len += len - skip;
			skip = 0;
		}
		stage_forget(c);
		return 1;
	}
	stage_forget(c);
	return 0;
}

/* May a message of len bytes for c be staged: nothing of c's waits in
 * out[] (it would go first), and it fits the arena and c's share. */
static int
tcp_can_stage(const struct client_tcp *c, size_t len)
{
	return c->out_off == c->out_len && STAGE_HDR + 2 + len <= sizeof(stage) &&
	    c->staged + 2 + len <= TCP_OUT_SIZE;
}

/* Queue a framed message on a TCP client; written at the end of the turn,
 * with the other answers of the turn. When the buffer lacks room, write
 * what is queued first. A client whose buffer still cannot take a whole
 * answer is not reading them: close it (RFC 7766 §6.2.3 lets a server
 * close; the client retries). The idle timer restarts only when nothing
 * was waiting: a client whose answers do not go out times out however
 * many more it asks for. */
static void
tcp_queue(struct client_tcp *c, const uint8_t *msg, size_t len, uint64_t now)
{
	int was_empty = tcp_unsent(c) == 0;

	if (tcp_can_stage(c, len)) {
		if (STAGE_HDR + 2 + len > sizeof(stage) - stage_used)
			stage_flush_all(now); /* the turn's answers so far go now */
		if (c->fd == -1)
			return;
		/* What c had staged may have moved to out[] meanwhile. */
		if (tcp_can_stage(c, len) && stage_put(c, msg, len) == 0) {
			if (was_empty)
				c->idle_deadline = now + (uint64_t)conf->tcp_idle_ms * 1000;
			return;
		}
	}
	/* Behind what is staged, which goes first (or moves to out[]). */
	if (c->staged > 0) {
		tcp_flush(c, now);
		if (c->fd == -1)
			return;
	}
	if (c->out_len + 2 + len > TCP_OUT_SIZE) {
		tcp_flush(c, now);
		if (c->fd == -1)
			return;
		if (c->out_off > 0) {
			memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
			c->out_len -= c->out_off;
			c->out_off = 0;
		}
	}
	if (c->out_len + 2 + len > TCP_OUT_SIZE) {
		stats.tcp_slow++;
		log_info("client: closing a TCP client that does not read its answers fd=%d", c->fd);
		tcp_close(c);
		return;
	}
	dns_put16(c->out + c->out_len, (uint16_t)len);
	memcpy(c->out + c->out_len + 2, msg, len);
	c->out_len += 2 + len;
	if (was_empty)
		c->idle_deadline = now + (uint64_t)conf->tcp_idle_ms * 1000;
}

/* Send this turn's UDP replies in one system call. A reply the kernel
 * will not take now is dropped, as UDP may be: the client asks again. */
static void
udp_flush(void)
{
	int sent;

	if (tx_count == 0)
		return;
	sent = port_send_batch(tx_fd, tx, tx_count);
	if (sent < (int)tx_count) {
		stats.send_errors += tx_count - (unsigned)(sent < 0 ? 0 : sent);
		log_debug("client: %u UDP replies not sent: %s", tx_count - (unsigned)(sent < 0 ? 0 : sent),
		    sent < 0 ? strerror(errno) : "send buffer full");
	}
	tx_count = 0;
	tx_used = 0;
}

/* Queue a UDP reply to o, from the address its query was sent to. msg is
 * only read (writable because a big one is handed to the kernel as it is). */
static void
udp_queue(const struct origin *o, uint8_t *msg, size_t len)
{
	int fd = o->l->fd;
	struct port_dgram *d;

	if (len > UDP_TX_ARENA / 4) {
		/* Too big to be worth batching. */
		struct port_dgram one;

		memset(&one, 0, sizeof(one));
		one.buf = msg;
		one.len = len;
		memcpy(&one.addr, o->sa, o->addrlen);
		one.addrlen = o->addrlen;
		one.local = *o->local;
		if (port_send_batch(fd, &one, 1) != 1) {
			stats.send_errors++;
			log_debug("client: sending a reply failed len=%zu: %s", len, strerror(errno));
		}
		return;
	}
	if (tx_count == UDP_BATCH || tx_used + len > UDP_TX_ARENA || (tx_count > 0 && fd != tx_fd))
		udp_flush();
	d = &tx[tx_count++];
	d->buf = tx_arena + tx_used;
	d->len = len;
	memcpy(d->buf, msg, len);
	memcpy(&d->addr, o->sa, o->addrlen);
	d->addrlen = o->addrlen;
	d->local = *o->local;
	tx_used += len;
	tx_fd = fd;
}

static void
send_reply(const struct origin *o, uint8_t *msg, size_t len, uint64_t now)
{
	if (o->transport == PQ_UDP)
		udp_queue(o, msg, len);
	else
		tcp_queue(o->c, msg, len, now);
}

/* A reply the proxy writes itself. Over UDP it fits the client's size, and
 * a client outside --allow gets no more bytes than it sent. */
static void
reply_error(const struct origin *o, const uint8_t *msg, size_t len,
    const struct dns_query_info *qi, int rcode, enum dns_why why, uint64_t now)
{
	size_t cap = sizeof(reply_buf), n;

	if (o->transport == PQ_UDP) {
		if (qi->udp_size >= DNS_UDP_MIN && qi->udp_size < cap)
			cap = qi->udp_size;
		if (o->denied && len < cap)
			cap = len;
	}
	n = dns_make_error(reply_buf, cap, msg, len, qi, rcode, why);
	if (n > 0)
		send_reply(o, reply_buf, n, now);
}

static struct listener_stats *
listener_stats_of(int transport)
{
	return transport == PQ_UDP ? &stats.udp : &stats.tcp;
}

/* A query the proxy answers itself at admission: count the reply (and why,
 * in *counter; SERVFAIL in stats.servfail too) and send it. */
static void
refuse(const struct origin *o, const uint8_t *msg, size_t len, const struct dns_query_info *qi,
    uint64_t *counter, int rcode, enum dns_why why, uint64_t now)
{
	listener_stats_of(o->transport)->answered++;
	(*counter)++;
	if (rcode == DNS_RCODE_SERVFAIL)
		stats.servfail++;
	query_note(o->transport == PQ_UDP ? o->sa : &o->c->peer.sa, o->transport == PQ_TCP, msg, len,
	    rcode, now, now);
	reply_error(o, msg, len, qi, rcode, why, now);
}

/* pq no longer counts against its client's share. */
static void
release_source(struct pending_query *pq)
{
	if (pq->source < 0)
		return;
	source_count(pq->source)->inflight--;
	source_put(pq->source);
	pq->source = -1;
}

/* Count pq against its client's share of the table (pq->source), or
 * return 1 when the client already has --max-inflight-per-client queries
 * in flight. */
static int
over_client_share(const struct origin *o, struct pending_query *pq)
{
	int src = o->transport == PQ_TCP ? o->c->source : source_get(o->sa);

	pq->source = src;
	if (src < 0)
		return 0; /* not counted: the table is sized so that it cannot be full */
	if (source_count(src)->inflight >= conf->max_inflight_per_client) {
		source_put(src);
		return 1;
	}
	source_count(src)->inflight++;
	return 0;
}

/* A reply from the cache (the client's ID and question already in it):
 * over UDP, TC when it is bigger than the client takes (RFC 6891 §7). */
static void
send_cached(const struct origin *o, uint8_t *reply, size_t len, const struct dns_query_info *qi,
    uint64_t now)
{
	size_t cap = qi->udp_size < conf->max_udp_size ? qi->udp_size : conf->max_udp_size;

	if (o->transport == PQ_UDP && len > cap) {
		len = dns_truncate(reply_buf, sizeof(reply_buf), reply, len, qi->qend, qi->has_edns);
		stats.truncated++;
		reply = reply_buf;
		if (len == 0)
			return;
	}
	log_debug("client: answer id=%u len=%zu rcode=%d from the cache", qi->id, len,
	    dns_rcode(reply));
	query_note_cached(o->transport == PQ_UDP ? o->sa : &o->c->peer.sa, o->transport == PQ_TCP,
	    reply, len, now);
	send_reply(o, reply, len, now);
}

/* Is the query a zone transfer, and what does its client get (xfr.h)? */
static enum xfr_admit
transfer_admit(const struct origin *o, const uint8_t *msg, size_t len,
    const struct dns_query_info *qi)
{
	const struct sockaddr *sa = o->transport == PQ_UDP ? o->sa : &o->c->peer.sa;
	uint32_t serial;
	enum xfr_kind kind = xfr_classify(msg, len, qi, &serial);

	if (kind == XFR_NONE)
		return XFR_ADMIT_QUERY;
	return xfr_admit(kind, o->transport == PQ_UDP,
	    acl_allows(conf->allow_transfer, conf->allow_transfer_count, sa));
}

/* One message from a client: validate it first (RFC 1035 §4.1.1), then take
 * a pending slot and hand it to the upstream side. */
static void
handle_query(const struct origin *o, const uint8_t *msg, size_t len, uint64_t now)
{
	struct dns_query_info qi;
	struct pending_query *pq;
	struct listener_stats *ls = listener_stats_of(o->transport);
	unsigned skipped;
	uint8_t *reply, stale = 0;
	size_t rlen;
	int transfer = 0;
	enum dns_verdict verdict = dns_check_query(msg, len, &qi);

	loop_work(1);

	/* Too big to hold (over UDP we may only have its first bytes): refuse
	 * it whatever the rest looks like. */
	if (len > DNS_QUERY_MAX && verdict != DNS_DROP)
		verdict = DNS_FORWARD;
	switch (verdict) {
	case DNS_DROP:
		stats.dropped++;
		/* Rate-limited even at debug level: a flood of them is cheap to
		 * send and must not fill the disk. */
		if (log_level >= LOG_LEVEL_DEBUG && log_ratelimit(&drop_log, &skipped))
			log_msg(LOG_LEVEL_DEBUG, "client: dropped a message that is not a query "
			    "len=%zu (and %u more)", len, skipped);
		return;
	case DNS_FORMERR:
		ls->requests++;
		refuse(o, msg, len, &qi, &stats.formerr, DNS_RCODE_FORMERR, DNS_WHY_NONE, now);
		return;
	case DNS_NOTIMP:
		ls->requests++;
		refuse(o, msg, len, &qi, &stats.notimp, DNS_RCODE_NOTIMP, DNS_WHY_NONE, now);
		return;
	case DNS_FORWARD:
		break;
	}
	ls->requests++;
	if (o->denied) {
		/* Not forwarded: an open forwarder is an amplification tool. The
		 * reply is no bigger than the query. */
		if (log_ratelimit(&acl_log, &skipped))
			log_info("client: refused a query from outside --allow (and %u more)", skipped);
		refuse(o, msg, len, &qi, &stats.acl_refused, DNS_RCODE_REFUSED, DNS_WHY_DENIED, now);
		return;
	}
	if (len > DNS_QUERY_MAX) {
		refuse(o, msg, len, &qi, &stats.refused, DNS_RCODE_REFUSED, DNS_WHY_TOO_BIG, now);
		return;
	}
	switch (query_cached(msg, len, &qi, &reply, &rlen, now)) {
	case QUERY_CACHE_HIT:
		/* No slot, no share of the client's: answered now. */
		ls->answered++;
		send_cached(o, reply, rlen, &qi, now);
		return;
	case QUERY_CACHE_STALE:
		stale = 1;
		break;
	case QUERY_CACHE_MISS:
		break;
}

	switch (transfer_admit(o, msg, len, &qi)) {
	case XFR_ADMIT_QUERY:
		break;
	case XFR_ADMIT_RELAY:
		transfer = 1;
		break;
	case XFR_ADMIT_REFUSED:
		if (log_ratelimit(&xfr_log, &skipped))
			log_info("client: refused a zone transfer from outside --allow-transfer "
			    "(and %u more)", skipped);
		refuse(o, msg, len, &qi, &xfr_counters.refused, DNS_RCODE_REFUSED,
		    DNS_WHY_XFR_DENIED, now);
		return;
	case XFR_ADMIT_FORMERR:
		refuse(o, msg, len, &qi, &stats.formerr, DNS_RCODE_FORMERR, DNS_WHY_NONE, now);
		return;
	case XFR_ADMIT_TC: {
		/* RFC 5936 §4.1: a transfer needs TCP. */
		size_t n = dns_make_tc(reply_buf, qi.udp_size >= DNS_UDP_MIN &&
		    qi.udp_size < sizeof(reply_buf) ? qi.udp_size : sizeof(reply_buf), msg, len, &qi);

		ls->answered++;
		xfr_counters.truncated++;
		if (n > 0)
			send_reply(o, reply_buf, n, now);
		return;
	}
	}
	pq = query_new((uint8_t)o->transport, client_done, now);
	if (pq != NULL && over_client_share(o, pq)) {
		query_drop(pq);
		if (log_ratelimit(&client_log, &skipped)) {
			char peer[64];

			addr_text(o->transport == PQ_UDP ? (const union pq_addr *)(const void *)o->sa :
			    &o->c->peer, peer, sizeof(peer));
			log_warnx("client: %s has %u queries in flight (max-inflight-per-client); "
			    "answering SERVFAIL (and %u more)", peer, conf->max_inflight_per_client,
			    skipped);
		}
		refuse(o, msg, len, &qi, &stats.client_limit, DNS_RCODE_SERVFAIL, DNS_WHY_BUSY, now);
		return;
	}
	if (pq == NULL) {
		if (log_ratelimit(&full_log, &skipped))
			log_warnx("client: every pending slot is busy (max-inflight %u); "
			    "answering SERVFAIL (and %u more)", conf->max_inflight, skipped);
		refuse(o, msg, len, &qi, &stats.table_full, DNS_RCODE_SERVFAIL, DNS_WHY_BUSY, now);
		return;
	}
	if (query_fill(pq, msg, len, &qi) != 0) {
		release_source(pq);
		query_drop(pq);
		if (log_ratelimit(&full_log, &skipped))
			log_warnx("client: every buffer for large queries is busy; "
			    "answering SERVFAIL (and %u more)", skipped);
		refuse(o, msg, len, &qi, &stats.table_full, DNS_RCODE_SERVFAIL, DNS_WHY_BUSY, now);
		return;
	}
	pq->stale = stale;
	if (o->transport == PQ_UDP) {
		pq->listener = (uint8_t)(o->l - listeners);
		memcpy(&pq->addr, o->sa, o->addrlen);
		pq->addrlen = o->addrlen;
		pq->local = *o->local;
	} else {
		pq->tcp_client = (uint32_t)(o->c - clients);
		pq->tcp_gen = o->c->gen;
		/* The peer, for the query log. */
		pq->addr = o->c->peer;
		pq->addrlen = o->c->peer.sa.sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
		    sizeof(struct sockaddr_in);
		o->c->inflight++;
	}
	if (transfer) {
		int sndbuf = XFR_CLIENT_SNDBUF;

		/* Best effort: without it the kernel holds more, that is all. */
		(void)setsockopt(o->c->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		query_stream(pq, client_room);
	}
	query_start(pq, now);
}

/* The origin of a pending query, or 0 when its TCP client has gone. */
static int
origin_of(struct pending_query *pq, struct origin *o)
{
	memset(o, 0, sizeof(*o));
	o->transport = pq->transport;
	if (pq->transport == PQ_UDP) {
		o->l = &listeners[pq->listener];
		o->sa = &pq->addr.sa;
		o->addrlen = pq->addrlen;
		o->local = &pq->local;
		return o->l->fd != -1;
	}
	o->c = &clients[pq->tcp_client];
	if (o->c->fd == -1 || o->c->gen != pq->tcp_gen)
		return 0;
	o->c->inflight--;
	return 1;
}

static void
account(struct pending_query *pq, uint64_t now)
{
	struct listener_stats *ls = listener_stats_of(pq->transport);

	ls->answered++;
	ls->latency_us += now - pq->start_us;
	release_source(pq);
}

/* Send the upstream answer msg (qend: end of its question) for pq, with
 * the client's own ID written into it. */
static void
client_answer(struct pending_query *pq, uint8_t *msg, size_t len, uint16_t qend, uint64_t now)
{
	struct origin o;

	account(pq, now);
	if (!origin_of(pq, &o))
		return;
	dns_put16(msg, pq->client_id);
	/* The TLS hop's EDNS options (Padding, keepalive, the server's
	 * cookie) are not the client's, and must not decide truncation: a
	 * 1055-byte answer padded to 1404 would come back TC to a client
	 * offering 1232. */
	len = dns_strip_answer_opt(msg, len, qend);
	if (pq->transport == PQ_UDP && len > pq->udp_size) {
		/* RFC 1035 §4.2.1 / RFC 6891 §7: too big for the client's UDP
		 * size, so send TC and let it retry over TCP. */
		len = dns_truncate(reply_buf, sizeof(reply_buf), msg, len, qend, pq->client_edns);
		stats.truncated++;
		msg = reply_buf;
		if (len == 0)
			return;
	}
	log_debug("client: answer id=%u len=%zu rcode=%d time=%llu.%02ums", pq->client_id, len,
	    dns_rcode(msg), (unsigned long long)(stats_fixed(now - pq->start_us, 1000, 2) / 100),
	    (unsigned)(stats_fixed(now - pq->start_us, 1000, 2) % 100));
	send_reply(&o, msg, len, now);
}

/* Answer pq with SERVFAIL made by the proxy. */
static void
client_fail(struct pending_query *pq, enum query_end how, uint64_t now)
{
	struct dns_query_info qi;
	struct origin o;
	enum dns_why why;
	int rcode = DNS_RCODE_SERVFAIL;

	account(pq, now);
	stats.servfail++;
	if (!origin_of(pq, &o))
		return;
	memset(&qi, 0, sizeof(qi));
	qi.id = pq->client_id;
	qi.qend = pq->qend;
	qi.has_edns = pq->client_edns;
	qi.udp_size = pq->udp_size;
	/* Why, for the Extended DNS Error (RFC 8914): stopping; the deadline
	 * passed; or failed before it, when no upstream could be reached. */
	if (!listening)
		why = DNS_WHY_SHUTDOWN;
	else if (how == QUERY_BUSY)
		why = DNS_WHY_BUSY;
	else if (now >= pq->deadline_us)
		why = DNS_WHY_TIMEOUT;
	else
		why = DNS_WHY_UNREACHABLE;
	log_debug("client: error reply id=%u rcode=%d", pq->client_id, rcode);
	reply_error(&o, pq->query, pq->qlen, &qi, rcode, why, now);
}

/* The TCP client of a transfer, or NULL when it has gone. */
static struct client_tcp *
transfer_client(const struct pending_query *pq)
{
	struct client_tcp *c = &clients[pq->tcp_client];

	return pq->transport == PQ_TCP && c->fd != -1 && c->gen == pq->tcp_gen ? c : NULL;
}

/* A transfer's origin's room (query_room_fn): its output buffer. */
static int
client_room(const struct pending_query *pq, size_t *queued, size_t *cap)
{
	const struct client_tcp *c = transfer_client(pq);

	if (c == NULL)
		return -1;
	*queued = tcp_unsent(c);
	*cap = TCP_OUT_SIZE;
	return 0;
}

/* A transfer broke after some of it went out: the client cannot be told
 * in the stream (RFC 5936 §2.2), so its connection is closed and it asks
 * again. */
static void
client_broken(struct pending_query *pq, uint64_t now)
{
	struct origin o;

	account(pq, now);
	if (!origin_of(pq, &o) || o.c == NULL)
		return;
	log_info("client: closing a TCP client whose zone transfer failed fd=%d", o.c->fd);
	/* What was relayed goes first, as far as the socket takes it now. */
	tcp_flush(o.c, now);
	if (o.c->fd != -1)
		tcp_close(o.c);
}

/* The completion of every query a client asked (query_done_fn). */
static void
client_done(struct pending_query *pq, enum query_end how, uint8_t *msg, size_t len,
    uint16_t qend, uint64_t now)
{
	struct client_tcp *c;

	switch (how) {
	case QUERY_ANSWERED:
	case QUERY_STALE:
		client_answer(pq, msg, len, qend, now);
		break;
	case QUERY_PART:
		/* One message of a transfer: the upstream took it only with room
		 * for it (xfr_flow), so it is queued whole. */
		if ((c = transfer_client(pq)) != NULL)
			tcp_queue(c, msg, len, now);
		break;
	case QUERY_BROKEN:
		client_broken(pq, now);
		break;
	case QUERY_EXPIRED:
	case QUERY_UNREACHABLE:
	case QUERY_LOST:
	case QUERY_FAILED:
	case QUERY_SHUTDOWN:
	case QUERY_BUSY:
		client_fail(pq, how, now);
		break;
	}
}

static void
udp_event(void *obj, uint32_t gen, short revents, uint64_t now)
{
	struct listener *l = obj;
	unsigned done = 0;

	(void)gen;
	(void)revents;
	while (done < UDP_BURST) {
		int i, n;

		for (i = 0; i < UDP_BATCH; i++) {
			rx[i].buf = rx_bufs[i];
			rx[i].cap = sizeof(rx_bufs[i]);
		}
		n = port_recv_batch(l->fd, rx, UDP_BATCH, l->want_local);
		if (n < 0) {
			if (errno != EINTR)
				log_warn("client: receiving on %s", l->cf->text);
			return;
		}
		for (i = 0; i < n; i++) {
			struct origin o;
			const struct sockaddr *sa = (const struct sockaddr *)&rx[i].addr;

			if (rx[i].addrlen > sizeof(union pq_addr))
				continue; /* not an IP client */
			memset(&o, 0, sizeof(o));
			o.transport = PQ_UDP;
			o.l = l;
			o.sa = sa;
			o.addrlen = rx[i].addrlen;
			o.local = &rx[i].local;
			o.denied = !acl_allows(conf->allow, conf->allow_count, sa);
			/* A datagram bigger than any query we hold is handled as the
			 * oversize query it is (REFUSED), from the bytes we have. */
			handle_query(&o, rx_bufs[i], rx[i].truncated ? DNS_QUERY_MAX + 1 : rx[i].len, now);
		}
		done += (unsigned)n;
		if (n < UDP_BATCH)
			return;
	}
}

static void
tcp_close(struct client_tcp *c)
{
	close(c->fd);
	c->fd = -1;
	c->gen++;
	stage_forget(c);
	if (c->source >= 0) {
		source_count(c->source)->tcp--;
		source_put(c->source);
		c->source = -1;
	}
	free_clients[free_count++] = (unsigned)(c - clients);
}

static int
tcp_backpressured(const struct client_tcp *c)
{
	return c->inflight >= TCP_CLIENT_INFLIGHT_MAX ||
	    tcp_unsent(c) > TCP_CLIENT_OUT_HIGH;
}

/* Cut buf[0..len) into queries (RFC 1035 §4.2.2 length prefixes) and
 * handle them; returns the bytes taken. What is left is an incomplete
 * query, or whole ones held back by back-pressure (tcp_keep). */
static size_t
tcp_parse(struct client_tcp *c, const uint8_t *buf, size_t len, uint64_t now)
{
	struct origin o;
	size_t used = 0;

	memset(&o, 0, sizeof(o));
	o.transport = PQ_TCP;
	o.c = c;
	while (c->fd != -1 && !tcp_backpressured(c)) {
		size_t left = len - used, mlen;

		if (c->skip > 0) {
			size_t n = left < c->skip ? left : c->skip;
			used += n;
			c->skip -= n;
			if (c->skip > 0)
				break;
			continue;
		}
		if (left < 2)
			break;
		mlen = dns_get16(buf + used);
		if (mlen == 0) {
			/* Not a DNS message at all: the stream cannot be trusted. */
			stats.dropped++;
			log_debug("client: zero-length TCP message, closing fd=%d", c->fd);
			tcp_close(c);
			break;
		}
		if (mlen > DNS_QUERY_MAX) {
			/* Too big to hold: answer REFUSED from its header, then
			 * discard its bytes as they come. */
			struct dns_query_info qi;

			if (left < 2 + DNS_HEADER_LEN)
				break;
			memset(&qi, 0, sizeof(qi));
			qi.id = dns_get16(buf + used + 2);
			stats.tcp.requests++;
			refuse(&o, buf + used + 2, DNS_HEADER_LEN, &qi, &stats.refused,
			    DNS_RCODE_REFUSED, DNS_WHY_TOO_BIG, now);
			used += 2;
			c->skip = mlen;
			continue;
		}
		if (left < 2 + mlen)
			break;
		/* The idle timer restarts when the answer is queued (or, for a
		 * query in flight, is not running): a client that only sends
		 * messages the proxy drops stays idle. */
		handle_query(&o, buf + used + 2, mlen, now);
		used += 2 + mlen;
	}
	return used;
}

/* Where the bytes kept from the last read are. */
static uint8_t *
tcp_kept(struct client_tcp *c)
{
	return c->in_len > TCP_IN_SHORT ? c->in : c->in_short;
}

/* What tcp_parse left of buf[0..len) is kept for the next read: in the
 * client's slot when short (an incomplete query, usually), else in its own
 * in[]. buf may be either. */
static void
tcp_keep(struct client_tcp *c, const uint8_t *buf, size_t len, size_t used)
{
	if (c->fd == -1)
		return;
	c->in_len = len - used;
	if (c->in_len > 0)
		memmove(tcp_kept(c), buf + used, c->in_len);
}

static void
tcp_read(struct client_tcp *c, uint64_t now)
{
	int reads = 0;

	/* Poll reports what is left next turn, after the other clients. */
	while (c->fd != -1 && !c->eof && !tcp_backpressured(c) && c->in_len < TCP_IN_SIZE &&
	    reads++ < TCP_READ_BURST) {
		/* In the shared buffer, behind a short rest of the last read;
		 * behind a long one, in the client's own. */
		uint8_t *buf = c->in_len > TCP_IN_SHORT ? c->in : tcp_rx;
		size_t room = TCP_IN_SIZE - c->in_len;
		ssize_t n;

		if (buf == tcp_rx && c->in_len > 0)
			memcpy(tcp_rx, c->in_short, c->in_len);
		n = recv(c->fd, buf + c->in_len, room, 0);
		if (n > 0) {
			size_t len = c->in_len + (size_t)n;

			tcp_keep(c, buf, len, tcp_parse(c, buf, len, now));
			/* A short read drained the socket; poll tells of more. */
			if ((size_t)n < room)
				return;
		} else if (n == 0) {
			c->eof = 1; /* answers still in flight are delivered first */
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			return;
		} else if (errno != EINTR) {
			log_debug("client: TCP read failed fd=%d: %s", c->fd, strerror(errno));
			tcp_close(c);
		}
	}
}

/* Write queued answers. Progress counts as activity for the idle timer, so
 * a client that reads slowly is not closed, and one that never reads is. */
static void
tcp_flush(struct client_tcp *c, uint64_t now)
{
	int full;

	if (c->fd == -1)
		return;
	/* A zone transfer paused for this client (xfr_flow) reads on at the
	 * upstream's next turn: when this write makes the room, that turn
	 * comes at once, not at the next poll event. */
	full = xfr_flow(tcp_unsent(c), TCP_OUT_SIZE) == XFR_FLOW_PAUSE;
	if (c->staged > 0) {
		/* Nothing waits in out[] while anything is staged. */
		int r = stage_write(c, now);

		if (r < 0)
			return;
		if (full && xfr_flow(tcp_unsent(c), TCP_OUT_SIZE) == XFR_FLOW_TAKE)
			loop_deadline(now);
		if (r > 0)
			return; /* the socket is full */
	}
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

		if (n > 0) {
			c->out_off += (size_t)n;
			c->idle_deadline = now + (uint64_t)conf->tcp_idle_ms * 1000;
			if (full && xfr_flow(tcp_unsent(c), TCP_OUT_SIZE) == XFR_FLOW_TAKE) {
				loop_deadline(now);
				full = 0;
			}
		} else if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			return;
		} else if (n == -1 && errno == EINTR) {
			continue;
		} else {
			log_debug("client: TCP write failed fd=%d: %s", c->fd, strerror(errno));
			tcp_close(c);
			return;
		}
	}
	/* All sent: reuse the buffer from its start, so only its first pages
	 * are ever touched. */
	c->out_off = c->out_len = 0;
}

static void
tcp_event(void *obj, uint32_t gen, short revents, uint64_t now)
{
	struct client_tcp *c = obj;

	if (c->fd == -1 || c->gen != gen)
		return;
	if (revents & (POLLERR | POLLHUP)) {
		/* Reset or closed both ways: nothing more can be delivered, and
		 * poll would report it again every turn. Its queries in flight
		 * are dropped by generation when they come back. */
		log_debug("client: TCP client gone fd=%d", c->fd);
		tcp_close(c);
		return;
	}
	if (revents & POLLOUT) {
		tcp_flush(c, now);
		if (c->fd == -1)
			return;
	}
	if (revents & POLLIN)
		tcp_read(c, now);
}

/* Every TCP slot is taken: close the client idle longest (nothing in
 * flight, nothing left to write) to make room for a new one. Returns 0, or
 * -1 when every client is busy. */
static int
evict_idle(void)
{
	struct client_tcp *oldest = NULL;
	unsigned i;

	for (i = 0; i < clients_used; i++) {
		struct client_tcp *c = &clients[i];

		if (c->fd == -1 || c->inflight != 0 || tcp_unsent(c) > 0)
			continue;
		if (oldest == NULL || c->idle_deadline < oldest->idle_deadline)
			oldest = c;
	}
	if (oldest == NULL)
		return -1;
	stats.tcp_evicted++;
	log_debug("client: closing the TCP client idle longest fd=%d to make room", oldest->fd);
	tcp_close(oldest);
	return 0;
}

/* The connected socket fd becomes a TCP client from peer, counted in its
 * client's share src (or -1), in a free slot (the caller made sure of
 * one). */
static void
tcp_adopt(int fd, const union pq_addr *peer, int src, uint64_t now)
{
	/* Reuse a freed slot first; a new one only at a new peak, so
	 * resident memory follows the peak number of clients. */
	struct client_tcp *c = free_count > 0 ? &clients[free_clients[--free_count]] :
	    &clients[clients_used++];
	int sndbuf = TCP_CLIENT_SNDBUF;

	c->out = out_block + (size_t)(c - clients) * TCP_OUT_SIZE;
	c->in = in_block + (size_t)(c - clients) * TCP_IN_SIZE;
	c->fd = fd;
	c->inflight = 0;
	c->eof = 0;
	c->source = src;
	if (src >= 0)
		source_count(src)->tcp++;
	c->peer = *peer;
	c->in_len = c->skip = 0;
	c->out_off = c->out_len = 0;
	c->staged = 0;
	c->stage_first = c->stage_last = STAGE_END;
	c->idle_deadline = now + (uint64_t)conf->tcp_idle_ms * 1000;
	port_tcp_nodelay(fd);
	/* Best effort (bounds.h): without it Linux lets the kernel hold
	 * megabytes for a client that does not read. */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
}

int
client_tcp_adopt(int fd, uint64_t now)
{
	union pq_addr nowhere;

	if (free_count == 0 && clients_used >= conf->max_tcp_clients)
		return -1;
	memset(&nowhere, 0, sizeof(nowhere));
	tcp_adopt(fd, &nowhere, -1, now);
	return 0;
}

static void
accept_event(void *obj, uint32_t gen, short revents, uint64_t now)
{
	struct listener *l = obj;
	unsigned skipped;
	int i;

	(void)gen;
	(void)revents;
	for (i = 0; i < ACCEPT_BURST; i++) {
		union pq_addr from;
		socklen_t fromlen = sizeof(from);
		int fd = port_accept(l->fd, &from.sa, &fromlen), src;
		char peer[64];

		if (fd == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
			    errno == ECONNABORTED)
				return;
			/* Out of descriptors or memory: the connection stays in the
			 * backlog and poll would say so at once, forever. Look
			 * again a little later. */
			accept_paused_until = now + (uint64_t)ACCEPT_PAUSE_MS * 1000;
			if (log_ratelimit(&accept_log, &skipped))
				log_warn("client: accept on %s (pausing %d ms; and %u more)",
				    l->cf->text, ACCEPT_PAUSE_MS, skipped);
			return;
		}
		/* Outside --allow: closed at once, holding no slot an allowed
		 * client could use (a UDP query from there gets REFUSED). */
		if (!acl_allows(conf->allow, conf->allow_count, &from.sa)) {
			close(fd);
			stats.acl_refused++;
			if (log_level >= LOG_LEVEL_INFO && log_ratelimit(&acl_tcp_log, &skipped)) {
				addr_text(&from, peer, sizeof(peer));
				log_info("client: closed a TCP connection from outside --allow "
				    "from %s (and %u more)", peer, skipped);
			}
			continue;
		}
		src = source_get(&from.sa);
		if (src >= 0 && source_count(src)->tcp >= conf->max_tcp_per_client) {
			source_put(src);
			close(fd);
			stats.tcp_client_limit++;
			if (log_ratelimit(&tcp_client_log, &skipped)) {
				addr_text(&from, peer, sizeof(peer));
				log_warnx("client: %s holds %u TCP connections (max-tcp-per-client); "
				    "closed a new one (and %u more)", peer, conf->max_tcp_per_client,
				    skipped);
			}
			continue;
		}
		if (free_count == 0 && clients_used >= conf->max_tcp_clients && evict_idle() != 0) {
			if (src >= 0)
				source_put(src);
			close(fd);
			stats.tcp_refused++;
			if (log_ratelimit(&refuse_log, &skipped)) {
				addr_text(&from, peer, sizeof(peer));
				log_warnx("client: TCP client limit reached (max-tcp-clients %u), none "
				    "idle; closed connection from %s (and %u more)",
				    conf->max_tcp_clients, peer, skipped);
			}
			continue;
		}
		tcp_adopt(fd, &from, src, now);
	}
}

void
client_prepare(uint64_t now)
{
	unsigned i;

	udp_flush();
	for (i = 0; i < listener_count; i++) {
		struct listener *l = &listeners[i];

		/* Watched even when every TCP slot is taken: a connection over
		 * the limit is accepted and closed at once, not left hanging. */
		if (l->fd == -1 || !listening)
			continue;
		if (!l->is_udp && now < accept_paused_until) {
			loop_deadline(accept_paused_until);
			continue;
		}
		loop_watch(l->fd, POLLIN, l->is_udp ? udp_event : accept_event, l, 0);
	}
	for (i = 0; i < clients_used; i++) {
		struct client_tcp *c = &clients[i];
		short events = 0;
		int unsent;

		if (c->fd == -1)
			continue;
		if (tcp_unsent(c) > 0)
			tcp_flush(c, now);
		if (c->fd != -1 && c->in_len > 0 && !tcp_backpressured(c)) {
			/* Queries that waited for back-pressure to ease: take them
			 * now, write what the cache answered, and run another turn
			 * at once to send the others upstream. */
			unsigned before = pq_in_use();
			uint8_t *kept = tcp_kept(c);

			tcp_keep(c, kept, c->in_len, tcp_parse(c, kept, c->in_len, now));
			if (c->fd != -1 && c->staged > 0)
				tcp_flush(c, now);
			if (pq_in_use() != before)
				loop_deadline(now);
		}
		if (c->fd == -1)
			continue;
		unsent = tcp_unsent(c) > 0;
		/* The idle timer runs while nothing is in flight, and while
		 * answers wait to be written, whatever is in flight: a client
		 * whose answers make no progress for the idle timeout is not
		 * reading them, however many queries it sends. */
		if (c->inflight == 0 || unsent) {
			if (c->eof && !unsent && c->inflight == 0) {
				tcp_close(c);
				continue;
			}
			if (now >= c->idle_deadline) {
				if (unsent)
					stats.tcp_slow++;
				else
					stats.tcp_idle++;
				log_debug("client: closing %s TCP client fd=%d",
				    unsent ? "a non-reading" : "an idle", c->fd);
				tcp_close(c);
				continue;
			}
			loop_deadline(c->idle_deadline);
		}
		if (!c->eof && !tcp_backpressured(c) && listening)
			events |= POLLIN;
		if (unsent)
			events |= POLLOUT;
		loop_watch(c->fd, events, tcp_event, c, c->gen);
	}
}

/* 0.0.0.0 or :: */
static int
is_wildcard(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)(const void *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr);
}

static int
open_listener(struct listener *l, const struct conf_listen *cf, int is_udp, char *err, size_t errlen)
{
	int fd = port_socket(cf->addr.ss_family, is_udp ? SOCK_DGRAM : SOCK_STREAM);

	l->cf = cf;
	l->is_udp = is_udp;
	l->fd = fd;
	if (fd == -1) {
		snprintf(err, errlen, "--listen %s: socket: %s", cf->text, strerror(errno));
		return -1;
	}
	port_listen_opts(fd, cf->addr.ss_family);
	if (is_udp) {
		/* Room for a burst of queries while a turn runs (the kernel caps
		 * it at net.core.rmem_max). */
		int size = UDP_SOCKET_BUFFER;

		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	}
	l->want_local = is_udp && is_wildcard(&cf->addr);
	if (l->want_local && port_udp_local(fd, cf->addr.ss_family) != 0) {
		/* Bound to every address, it must know which one a query was
		 * sent to: a reply from another is dropped by the client. */
		snprintf(err, errlen, "--listen %s: this system cannot tell which of its "
		    "addresses a UDP query was sent to (%s); listen on each address instead",
		    cf->text, strerror(errno));
		close(fd);
		l->fd = -1;
		return -1;
	}
	if (bind(fd, (const struct sockaddr *)&cf->addr, cf->addrlen) == -1 ||
	    (!is_udp && listen(fd, 128) == -1)) {
		snprintf(err, errlen, "--listen %s --port %u (%s): %s", cf->text, conf->port,
		    is_udp ? "udp" : "tcp", strerror(errno));
		close(fd);
		l->fd = -1;
		return -1;
	}
	return 0;
}

size_t
client_memory(const struct conf *cf)
{
	return (size_t)cf->max_tcp_clients *
	    (sizeof(struct client_tcp) + TCP_OUT_SIZE + TCP_IN_SIZE + sizeof(unsigned)) +
	    sizeof(tcp_rx) + sizeof(stage) +
	    sizeof(rx_bufs) + sizeof(tx_arena) + sizeof(reply_buf) +
	    source_memory(cf->max_tcp_clients + cf->max_inflight + 1);
}

unsigned
client_max_fds(const struct conf *cf)
{
	return 2u * (unsigned)cf->listen_count + cf->max_tcp_clients;
}

int
client_init(const struct conf *cf, char *err, size_t errlen)
{
	int i;

	conf = cf;
	/* Every client holds a connection or a query in flight. */
	if (source_init(cf->max_tcp_clients + cf->max_inflight + 1) != 0) {
		snprintf(err, errlen, "--max-inflight %u: out of memory", cf->max_inflight);
		return -1;
	}
	clients = calloc(cf->max_tcp_clients, sizeof(*clients));
	free_clients = calloc(cf->max_tcp_clients, sizeof(*free_clients));
	/* One block for every output buffer: untouched pages cost nothing. */
	if (cf->tcp) {
		out_block = malloc((size_t)cf->max_tcp_clients * TCP_OUT_SIZE);
		in_block = malloc((size_t)cf->max_tcp_clients * TCP_IN_SIZE);
	}
	if (clients == NULL || free_clients == NULL ||
	    (cf->tcp && (out_block == NULL || in_block == NULL))) {
		snprintf(err, errlen, "--max-tcp-clients %u: out of memory", cf->max_tcp_clients);
		return -1;
	}
	for (i = 0; i < cf->listen_count; i++) {
		if (cf->udp && open_listener(&listeners[listener_count++], &cf->listen[i], 1, err, errlen) != 0)
			return -1;
		if (cf->tcp && open_listener(&listeners[listener_count++], &cf->listen[i], 0, err, errlen) != 0)
			return -1;
	}
	return 0;
}

void
client_stop_listening(void)
{
	unsigned i;

	/* UDP sockets stay open to answer what is in flight; TCP listeners
	 * close so new connections are refused at once. */
	for (i = 0; i < listener_count; i++) {
		if (listeners[i].fd != -1 && !listeners[i].is_udp) {
			close(listeners[i].fd);
			listeners[i].fd = -1;
		}
	}
	listening = 0;
}

void
client_flush_all(uint64_t now)
{
	unsigned i;

	udp_flush();
	for (i = 0; i < clients_used; i++)
		if (clients[i].fd != -1 && tcp_unsent(&clients[i]) > 0)
			tcp_flush(&clients[i], now);
}

int
client_flushed(void)
{
	unsigned i;

	for (i = 0; i < clients_used; i++)
		if (clients[i].fd != -1 && tcp_unsent(&clients[i]) > 0)
			return 0;
	return 1;
}
