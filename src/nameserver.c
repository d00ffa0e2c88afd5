/* SPDX-License-Identifier: MIT */
/* Nameservers and their connection pools (nameserver.h): back-off and
 * rest after failures, which nameserver and which of its connections a
 * waiting query goes to, when a connection is opened, and the probing of
 * a resting nameserver. One connection's life is conn.c's. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "loop.h"
#include "nameserver.h"
#include "port.h"
#include "query.h"
#include "stats.h"

static const struct conf *conf;
static struct nameserver nameservers[MAX_NAMESERVERS];
static unsigned ns_count;
static struct upstream_conn *conns;
static unsigned conn_count;
static unsigned char *conn_block; /* TLS buffers and answer assembly, all connections */
static uint8_t *id_block;        /* every connection's ID map, zeroed (calloc) */
static uint64_t last_probe;
/* Zone transfers: XFR_MAX_ACTIVE connections after the pools, each with
 * its relay, when --allow-transfer is given (docs/design.md). */
static struct xfr_relay relays[XFR_MAX_ACTIVE];
static struct upstream_conn *xfr_conns;
static unsigned xfr_count;

static unsigned
transfer_conns(const struct conf *cf)
{
	return cf->allow_transfer_count > 0 ? XFR_MAX_ACTIVE : 0;
}

size_t
ns_memory(const struct conf *cf)
{
	size_t per_conn = sizeof(struct upstream_conn) + conn_buf_bytes() + ID_MAP_BYTES;

	return ((size_t)cf->ns_count * cf->pool_size + transfer_conns(cf)) * per_conn;
}

int
ns_init(const struct conf *cf, const br_x509_trust_anchor *tas, size_t ntas)
{
	unsigned i;

	conf = cf;
	conn_init(cf, tas, ntas);
	/* One block for every connection's buffers; a connection is set up
	 * (and its memory touched) when first opened. */
	ns_count = (unsigned)cf->ns_count;
	xfr_count = transfer_conns(cf);
	conn_count = ns_count * cf->pool_size + xfr_count;
	conn_block = malloc((size_t)conn_count * conn_buf_bytes());
	if (conn_block == NULL)
		return -1;
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
			unsigned index = i * cf->pool_size + (unsigned)j;

			conn_setup(&ns->pool[j], (uint16_t)index, ns,
			    conn_block + (size_t)index * conn_buf_bytes(),
			    id_block + (size_t)index * ID_MAP_BYTES);
		}
		for (j = 0; j < cf->pin_count; j++)
			if (strcasecmp(cf->pins[j].name, ns->cf->name) == 0 && ns->npins < MAX_PINS)
				ns->pins[ns->npins++] = cf->pins[j].key;
	}
	xfr_conns = &conns[(size_t)ns_count * cf->pool_size];
	for (i = 0; i < xfr_count; i++) {
		unsigned index = ns_count * cf->pool_size + i;

		conn_setup(&xfr_conns[i], (uint16_t)index, &nameservers[0],
		    conn_block + (size_t)index * conn_buf_bytes(),
		    id_block + (size_t)index * ID_MAP_BYTES);
		xfr_conns[i].xfr = &relays[i];
	}
	return 0;
}

uint64_t
ns_backoff_ms(unsigned fails)
{
	unsigned shift = fails > 6 ? 6 : fails;
	uint64_t rest = (uint64_t)BACKOFF_BASE_MS << shift;

	return rest > BACKOFF_CAP_MS ? BACKOFF_CAP_MS : rest;
}

void
ns_rest(struct nameserver *ns, uint64_t now)
{
	uint64_t rest = ns_backoff_ms(ns->fails);

	ns->fails++;
	ns->last_fail = now;
	ns->rest_until = now + rest * 1000;
}

/* Lost with queries on it before a single answer: a server that takes
 * connections but does not serve, or a query that makes it drop them.
 * Silent even to a probe, it is the server: rest it like one that refuses
 * connections, or queries would reconnect in a loop. Closed or reset, the
 * first time the query is blamed (conn.c, requeue_all); when it happens
 * again with no answer in between, on a connection whose first query was
 * not blamed before, it is the server. Resting for a query's sake would
 * fail every other client's query meanwhile. */
int
ns_loss_rests(uint32_t received, unsigned moved, enum conn_loss loss, int first_suspect,
    int *lost_unanswered)
{
	int rests = 0;

	if (received != 0 || moved == 0)
		return 0;
	if (loss == LOSS_SILENT)
		return 1;
	if (first_suspect != 1) {
		rests = *lost_unanswered;
		*lost_unanswered = 1;
	}
	return rests;
}

void
ns_lost(struct nameserver *ns, const struct upstream_conn *c, enum conn_loss loss,
    const char *why, unsigned moved, uint64_t now)
{
	if (c->state == CONN_READY) {
		ns->st.reconnects++;
		if (ns_loss_rests(c->received, moved, loss, c->first_suspect, &ns->lost_unanswered)) {
			ns->st.failures++;
			ns_rest(ns, now);
		}
	} else if (loss == LOSS_AUTH) {
		ns->st.auth_failures++;
		ns->have_session = 0;
		log_error("upstream: AUTHENTICATION FAILED ns=%s conn=%u reason=\"%s\": "
		    "no query was sent on this connection", ns->cf->text, c->index, why);
		ns_rest(ns, now);
	} else {
		ns->st.failures++;
		log_warnx("upstream: cannot reach ns=%s conn=%u state=%s reason=\"%s\"",
		    ns->cf->text, c->index, conn_state_name(c->state), why);
		ns_rest(ns, now);
	}
}

void
ns_connected(struct nameserver *ns, const br_ssl_session_parameters *session, int resumed)
{
	ns->st.handshakes++;
	ns->st.resumed += (uint64_t)resumed;
	ns->fails = 0;
	ns->rest_until = 0;
	ns->session = *session;
	ns->have_session = 1;
}

void
ns_sample(struct nameserver *ns, uint64_t rtt)
{
	if (rtt > 60000000u)
		rtt = 60000000u;
	if (ns->srtt_us == 0)
		ns->srtt_us = (uint32_t)rtt;
	else
		ns->srtt_us = (uint32_t)(((uint64_t)ns->srtt_us * 7 + rtt) / 8);
}

static int
ns_resting(const struct nameserver *ns, uint64_t now)
{
	return ns->rest_until > now;
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
			conn_reset(&ns->pool[i]);
			return &ns->pool[i];
		}
	return NULL;
}

int
ns_choose_conn(const struct upstream_conn *pool, unsigned n)
{
	int best = -1;
	unsigned i;

	/* Fill the first below CONN_SPREAD_AT, so that at moderate load a
	 * turn's queries share one TLS record and one write (and spare
	 * connections go idle and close). */
	for (i = 0; i < n; i++) {
		const struct upstream_conn *c = &pool[i];

		if (c->state != CONN_READY || conn_load(c) >= CONN_INFLIGHT_MAX ||
		    c->burnt >= ID_BURNT_MAX)
			continue;
		if (conn_load(c) < CONN_SPREAD_AT)
			return (int)i;
		if (best < 0 || conn_load(c) < conn_load(&pool[best]))
			best = (int)i;
	}
	return best;
}

int
ns_wants_conn(const struct upstream_conn *pool, unsigned n)
{
	int ready = ns_choose_conn(pool, n);
	unsigned i;

	if (ready >= 0 && conn_load(&pool[ready]) < CONN_SPREAD_AT)
		return 0;
	/* One handshake at a time. */
	for (i = 0; i < n; i++)
		if (pool[i].state == CONN_CONNECTING || pool[i].state == CONN_HANDSHAKING)
			return 0;
	return 1;
}

static struct upstream_conn *
ns_ready_conn(struct nameserver *ns)
{
	int i = ns_choose_conn(ns->pool, conf->pool_size);

	return i < 0 ? NULL : &ns->pool[i];
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
			if (ns_wants_conn(target->pool, conf->pool_size))
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
	/* The hash's arena is sized so that this cannot fail. */
	if (conn_assign(c, pq) != 0)
		query_done(pq, QUERY_FAILED, NULL, 0, 0, now);
}

/* A zone transfer gets a connection of its own (docs/design.md), to the
 * nameserver an ordinary query would prefer (the one that failed longest
 * ago when every one rests); SERVFAIL when every transfer slot is taken. */
static void
start_transfer(struct pending_query *pq, uint64_t now)
{
	struct nameserver *target = NULL, *oldest = NULL;
	struct upstream_conn *c = NULL;
	unsigned i;

	for (i = 0; i < xfr_count && c == NULL; i++)
		if (xfr_conns[i].state == CONN_IDLE && relays[i].q == NULL)
			c = &xfr_conns[i];
	if (c == NULL) {
		xfr_counters.busy++;
		query_done(pq, QUERY_BUSY, NULL, 0, 0, now);
		return;
	}
	for (i = 0; i < ns_count; i++) {
		struct nameserver *ns = &nameservers[i];

		if (!ns_resting(ns, now) && ns_better(ns, target))
			target = ns;
		if (oldest == NULL || ns->last_fail < oldest->last_fail)
			oldest = ns;
	}
	c->ns = target != NULL ? target : oldest;
	if (conn_assign(c, pq) != 0) {
		query_done(pq, QUERY_FAILED, NULL, 0, 0, now);
		return;
	}
	conn_transfer(c, pq, now);
}

/* Give every waiting query a connection, or fail them all fast when no
 * nameserver can be reached: a client then gets SERVFAIL at once rather
 * than after its deadline. */
static void
dispatch(uint64_t now)
{
	struct pending_query *pq;
	struct upstream_conn *c;
	int ordinary = 0;

	/* Connections are opened for queries, never ahead of them: an idle
	 * proxy holds none open. */
	if (query_waiting() == NULL)
		return;
	while ((pq = query_waiting()) != NULL) {
		if (pq->room != NULL) {
			start_transfer(pq, now);
			continue;
		}
		ordinary = 1;
		if ((c = pick_conn()) == NULL)
			break;
		assign(c, pq, now);
	}
	/* Only transfers: they have connections of their own. */
	if (!ordinary)
		return;
	if (grow_pool(now) || query_waiting() == NULL)
		return;
	while ((pq = query_waiting()) != NULL)
		query_done(pq, QUERY_UNREACHABLE, NULL, 0, 0, now);
}

void
ns_forget(struct pending_query *pq, enum query_end how, uint64_t now)
{
	struct upstream_conn *c;

	if (pq->conn < 0)
		return;
	c = &conns[pq->conn];
	if (how == QUERY_EXPIRED) {
		/* A nameserver that takes the whole deadline (or answers with
		 * the wrong ID or question) loses its place to the others. */
		c->ns->st.timeouts++;
		ns_sample(c->ns, (uint64_t)conf->timeout_ms * 1000);
	}
	conn_forget(c, pq, now);
}

void
ns_prepare(uint64_t now)
{
	unsigned i;

	/* Place new queries first, so an idle connection takes them before its
	 * idle timer can close it; then the timers; then place what a failed
	 * connection put back. */
	dispatch(now);
	for (i = 0; i < conn_count; i++)
		conn_timers(&conns[i], now);
	dispatch(now);
	(void)conn_take_requeued();
	for (i = 0; i < conn_count; i++)
		conn_prepare(&conns[i], now);
	/* A write above may have failed and put queries back: another turn. */
	if (conn_take_requeued() != 0)
		loop_deadline(now);
}

void
ns_shutdown(void)
{
	unsigned i;

	for (i = 0; i < conn_count; i++)
		conn_shutdown(&conns[i], port_now_us());
}

void
ns_log_stats(void)
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
