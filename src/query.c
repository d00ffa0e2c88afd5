/* SPDX-License-Identifier: MIT */
/* A query's life: admitted, waiting for a connection, sent, and its one
 * end (answered, failed, expired), each through query_done. The slots and
 * their lists are pending.c's; the waiting queue and the deadlines are
 * run from here, and so is the answer cache's part in it (cache.c):
 * lookup at admission, prefetch, insert, stale answers. */
#include <string.h>

#include "cache.h"
#include "dns.h"
#include "log.h"
#include "loop.h"
#include "qlog.h"
#include "query.h"
#include "stats.h"

static unsigned timeout_ms, max_udp_size;
static uint64_t stale_us;        /* --stale-answer-timeout */
static query_forget_fn *upstream_forget;
static struct pq_list waiting;   /* queries with no connection yet, FIFO */
static int log_queries;
static query_namer_fn *namer;

void
query_set_log(int enabled, query_namer_fn *fn)
{
	log_queries = enabled;
	namer = fn;
}

void
query_set_timeout(unsigned ms)
{
	timeout_ms = ms;
}

/* One reply's answer time in the histogram and, with --log-queries, its
 * line. nameserver: who answered, NULL for a reply made here. */
static void
note(const struct sockaddr *client, int tcp, const uint8_t *query, size_t len, int rcode,
    uint64_t start_us, enum qlog_source source, const char *nameserver, uint64_t now)
{
	char line[QLOG_LINE_MAX];
	struct qlog_entry e;

	stats_hist_add(&stats.latency, now - start_us);
	if (!log_queries)
		return;
	e.client = client;
	e.tcp = tcp;
	e.query = query;
	e.query_len = len;
	e.rcode = rcode;
	e.time_us = now - start_us;
	e.source = nameserver != NULL ? QLOG_NAMESERVER : source;
	e.nameserver = nameserver;
	qlog_format(line, sizeof(line), &e);
	log_query("%s", line);
}

void
query_note(const struct sockaddr *client, int tcp, const uint8_t *query, size_t len, int rcode,
    uint64_t start_us, uint64_t now)
{
	note(client, tcp, query, len, rcode, start_us, QLOG_PROXY, NULL, now);
}

void
query_note_cached(const struct sockaddr *client, int tcp, const uint8_t *reply, size_t len,
    uint64_t now)
{
	note(client, tcp, reply, len, dns_rcode(reply), now, QLOG_CACHE, NULL, now);
}
/* The oldest query with q->stale whose stale timer has not run: the
 * deadline FIFO is in order of arrival and every query has the same
 * timer, so the rest come after it. NULL: none. */
static struct pending_query *stale_next;
/* A reply from the cache, from query_cached or a stale answer until the
 * caller or the completion has sent it. */
static uint8_t cache_reply[CACHE_REPLY_MAX];

void
query_init(const struct conf *conf, query_forget_fn *forget)
{
	timeout_ms = conf->timeout_ms;
	max_udp_size = conf->max_udp_size;
	stale_us = (uint64_t)conf->stale_answer_timeout_ms * 1000;
	upstream_forget = forget;
	waiting.head = waiting.tail = NULL;
	waiting.count = 0;
	stale_next = NULL;
}

/* The first query from q on (in arrival order) whose stale timer is to
 * run, or NULL. */
static struct pending_query *
next_stale(struct pending_query *q)
{
	while (q != NULL && (!q->stale || q->state == QUERY_REPLIED))
		q = q->d.next;
	return q;
}

/* q's slot is about to be freed. */
static void
stale_forget(struct pending_query *q)
{
	if (stale_next == q)
		stale_next = next_stale(q->d.next);
}

/* The cache's reply to q's query, written into cache_reply, stale entries
 * included (RFC 8767: their TTL is 30); its length, 0 when none. */
static size_t
stale_answer(struct pending_query *q, uint16_t *qend, uint64_t now)
{
	struct cache_key key;
	struct cache_result res;

	if (cache_key(q->query, q->qlen, &key) != 0)
		return 0;
	cache_lookup(&key, q->query, 1, now, cache_reply, sizeof(cache_reply), &res);
	*qend = key.qend;
	return res.len;
}

int
query_fill(struct pending_query *q, const uint8_t *msg, size_t len,
    const struct dns_query_info *qi)
{
	/* Room for the query once padded: 8 bytes of option headers, rounded
	 * up to the padding block (dns_pad_query never needs more). */
	size_t need = qi->has_edns ? (len + 8 + DNS_PAD_BLOCK - 1) / DNS_PAD_BLOCK * DNS_PAD_BLOCK : len;

	if (pq_reserve(q, need) != 0)
		return -1;
	memcpy(q->query, msg, len);
	q->qlen = (uint16_t)len;
	if (qi->has_edns) {
		/* The client's cookie was made for the proxy, not the upstream
		 * (RFC 7873; TLS gives this hop what cookies give UDP). Pad to
		 * hide the query's length (RFC 7830, RFC 8467), and ask the
		 * server how long it keeps idle connections (RFC 7828). */
		size_t stripped = dns_strip_query_cookie(q->query, len, qi->opt_off);
		size_t padded = dns_pad_query(q->query, stripped, q->query_cap, qi->opt_off);

		q->qlen = (uint16_t)(padded != 0 ? padded : stripped);
	}
	q->qend = qi->qend;
	q->client_id = qi->id;
	/* The client's EDNS size (at least 512), capped by --max-udp-size so
	 * that no answer needs a fragmented datagram: a bigger one gets TC
	 * and the client asks again over TCP (RFC 6891 §6.2.5, §7). */
	q->udp_size = qi->udp_size < max_udp_size ? qi->udp_size : (uint16_t)max_udp_size;
	q->client_edns = qi->has_edns;
	q->query_do = qi->dnssec_ok;
	return 0;
}

/* The completion of a refresh (prefetch): its answer went into the cache
 * in query_done; there is no one to answer. */
static void
refresh_done(struct pending_query *q, enum query_end how, uint8_t *msg, size_t len,
    uint16_t qend, uint64_t now)
{
	(void)msg;
	(void)len;
	(void)qend;
	log_debug("cache: refresh id=%u %s time=%llu.%02ums", q->client_id,
	    how == QUERY_ANSWERED ? "answered" : "failed",
	    (unsigned long long)(stats_fixed(now - q->start_us, 1000, 2) / 100),
	    (unsigned)(stats_fixed(now - q->start_us, 1000, 2) % 100));
}

/* Ask the upstream for msg again, for the cache only. With every slot busy
 * there is no refresh: the entry expires and the next query asks. */
static void
refresh(const uint8_t *msg, size_t len, const struct dns_query_info *qi, uint64_t now)
{
	struct pending_query *q = query_new(PQ_NONE, refresh_done, now);

	if (q == NULL)
		return;
	q->source = -1;
	if (query_fill(q, msg, len, qi) != 0) {
		query_drop(q);
		return;
	}
	query_start(q, now);
}

enum query_cache
query_cached(const uint8_t *msg, size_t len, const struct dns_query_info *qi, uint8_t **reply,
    size_t *rlen, uint64_t now)
{
	struct cache_key key;
	struct cache_result res;

	if (cache_key(msg, len, &key) != 0)
		return QUERY_CACHE_MISS;
	cache_lookup(&key, msg, 0, now, cache_reply, sizeof(cache_reply), &res);
	switch (res.state) {
	case CACHE_FRESH:
	case CACHE_PREFETCH:
		log_debug("cache: hit id=%u ttl=%u len=%zu%s", qi->id, res.ttl, res.len,
		    res.refresh ? " prefetch" : "");
		*reply = cache_reply;
		*rlen = res.len;
		/* RFC 8767 §5 spirit for fresh data: refresh it before it goes,
		 * so a name in use never expires. */
		if (res.refresh)
			refresh(msg, len, qi, now);
		return QUERY_CACHE_HIT;
	case CACHE_STALE:
		log_debug("cache: stale entry id=%u: asking the upstream, stale answer after %llu.%us",
		    qi->id, (unsigned long long)(stats_fixed(stale_us, 1000000, 1) / 10),
		    (unsigned)(stats_fixed(stale_us, 1000000, 1) % 10));
		return QUERY_CACHE_STALE;
	case CACHE_MISS:
		break;
	}
	log_debug("cache: miss id=%u", qi->id);
	return QUERY_CACHE_MISS;
}

struct pending_query *
query_new(uint8_t origin, query_done_fn *done, uint64_t now)
{
	struct pending_query *q = pq_alloc(now, timeout_ms);

	if (q == NULL)
		return NULL;
	q->transport = origin;
	q->done = done;
	q->state = QUERY_ADMITTED;
	return q;
}

void
query_drop(struct pending_query *q)
{
	stale_forget(q);
	pq_free(q);
}

void
query_start(struct pending_query *q, uint64_t now)
{
	(void)now;
	q->state = QUERY_WAITING;
	/* Every query between the cursor and q has been passed over. */
	if (q->stale && stale_next == NULL)
		stale_next = q;
	pq_list_push(&waiting, q);
}

struct pending_query *
query_waiting(void)
{
	return waiting.head;
}

void
query_assign(struct pending_query *q, struct pq_list *sendq, int conn)
{
	pq_list_remove(q);
	q->conn = conn;
	q->last_conn = conn;
	q->state = QUERY_SENT;
	pq_list_push(sendq, q);
}

void
query_requeue(struct pending_query *q)
{
	pq_list_remove(q);
	q->state = QUERY_WAITING;
	pq_list_push_front(&waiting, q);
}

void
query_reply(struct pending_query *q, enum query_end how, uint8_t *msg, size_t len,
    uint16_t qend, uint64_t now)
{
	if (q->state == QUERY_REPLIED)
		return;
	q->done(q, how, msg, len, qend, now);
	q->transport = PQ_NONE;
	q->state = QUERY_REPLIED;
}

void
query_done(struct pending_query *q, enum query_end how, uint8_t *msg, size_t len,
    uint16_t qend, uint64_t now)
{
	/* Still held by a connection (expired, or the process leaving): the
	 * upstream accounts for it and takes it off its lists first. */
	if (q->conn >= 0 && upstream_forget != NULL)
		upstream_forget(q, how, now);
	pq_list_remove(q); /* the waiting queue */
	if (how == QUERY_ANSWERED) {
		struct cache_key key;

		/* The query as sent has the client's question and flags. */
		if (cache_key(q->query, q->qlen, &key) == 0 && cache_insert(&key, msg, len, now) == 0)
			log_debug("cache: stored id=%u entries=%u", q->client_id, cache_stats()->entries);
	}
	switch (how) {
	case QUERY_EXPIRED:
		stats.timeouts++;
		break;
	case QUERY_UNREACHABLE:
		stats.fast_fail++;
		break;
	case QUERY_LOST:
		stats.lost_twice++;
		break;
	case QUERY_ANSWERED:
	case QUERY_FAILED:
	case QUERY_SHUTDOWN:
	case QUERY_STALE:
	case QUERY_PART:
	case QUERY_BROKEN:
	case QUERY_BUSY:
		break;
	}
	/* RFC 8767: rather than SERVFAIL (every nameserver unreachable, the
	 * upstream's own SERVFAIL, the deadline), the expired answer. */
	if (q->stale && q->state != QUERY_REPLIED && how != QUERY_SHUTDOWN &&
	    (how != QUERY_ANSWERED || dns_rcode(msg) == DNS_RCODE_SERVFAIL)) {
		uint16_t sq;
		size_t n = stale_answer(q, &sq, now);

		if (n > 0) {
			log_debug("cache: stale answer id=%u instead of a failure", q->client_id);
			how = QUERY_STALE;
			msg = cache_reply;
			len = n;
			qend = sq;
		}
	}
	if (q->state != QUERY_REPLIED && q->transport != PQ_NONE)
		note(q->addrlen != 0 ? &q->addr.sa : NULL, q->transport == PQ_TCP, q->query, q->qlen,
		    how == QUERY_ANSWERED || how == QUERY_STALE ? dns_rcode(msg) : DNS_RCODE_SERVFAIL, q->start_us,
		    how == QUERY_STALE ? QLOG_STALE : QLOG_PROXY,
		    how == QUERY_ANSWERED && namer != NULL ? namer(q->last_conn) : NULL, now);
	if (q->state != QUERY_REPLIED)
		q->done(q, how, msg, len, qend, now);
	stale_forget(q);
	pq_free(q);
}

/* RFC 8767 §5: no answer within --stale-answer-timeout, so the expired one
 * now; the query stays in flight, and its answer refreshes the entry. */
static void
stale_timers(uint64_t now)
{
	struct pending_query *q;

	while ((q = stale_next) != NULL && q->start_us + stale_us <= now) {
		uint16_t qend;
		size_t n;

		stale_next = next_stale(q->d.next);
		if ((n = stale_answer(q, &qend, now)) > 0) {
			log_debug("cache: stale answer id=%u after %llu.%02ums", q->client_id,
			    (unsigned long long)(stats_fixed(now - q->start_us, 1000, 2) / 100),
			    (unsigned)(stats_fixed(now - q->start_us, 1000, 2) % 100));
			query_reply(q, QUERY_STALE, cache_reply, n, qend, now);
		}
	}
	if (q != NULL)
		loop_deadline(q->start_us + stale_us);
}

void
query_stream(struct pending_query *q, query_room_fn *room)
{
	q->room = room;
}

void
query_streaming(struct pending_query *q)
{
	pq_no_deadline(q);
}

void
query_part(struct pending_query *q, uint8_t *msg, size_t len, uint64_t now)
{
	if (q->state != QUERY_REPLIED)
		q->done(q, QUERY_PART, msg, len, 0, now);
}

int
query_room(const struct pending_query *q, size_t *queued, size_t *cap)
{
	if (q->room == NULL || q->state == QUERY_REPLIED)
		return -1;
	return q->room(q, queued, cap);
}

/* RFC 8906: silence is not an answer. */
void
query_expire(uint64_t now)
{
	struct pending_query *q;

	while ((q = pq_oldest()) != NULL && q->deadline_us <= now)
		query_done(q, QUERY_EXPIRED, NULL, 0, 0, now);
	if (q != NULL)
		loop_deadline(q->deadline_us);
	stale_timers(now);
}

void
query_end_all(uint64_t now)
{
	struct pending_query *q;

	while ((q = pq_oldest()) != NULL)
		query_done(q, QUERY_SHUTDOWN, NULL, 0, 0, now);
}
