/* SPDX-License-Identifier: MIT */
/* Nameservers and their connection pools (nameserver.h): back-off and
 * rest after failures, which nameserver and which of its connections a
 * waiting query goes to, when a connection is opened, and the probing of
 * a resting nameserver. One connection's life is conn.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns.h"
#include "log.h"
#include "metrics.h"
#include "loop.h"
#include "nameserver.h"
#include "port.h"
#include "query.h"
#include "select.h"
#include "stats.h"

static const struct conf *conf;
static struct nameserver nameservers[MAX_NAMESERVERS];
static unsigned ns_count;
static struct upstream_conn *conns;
static unsigned conn_count;
static unsigned char *conn_block; /* TLS buffers and answer assembly, all connections */
static uint8_t *id_block;        /* every connection's ID map, zeroed (calloc) */
static uint64_t last_probe;
/* Resolver choice (select.c): each nameserver as selection sees it. */
static struct select_ns sel[MAX_NAMESERVERS];
static struct select_state sel_state;
static int last_pick = -1;       /* the nameserver the last query went to */

/* Which nameservers are one provider (their certificate name): a
 * SERVFAIL is asked again only of another. */
static void
set_providers(void)
{
	uint8_t provider[MAX_NAMESERVERS];
	unsigned i;

	select_providers(conf->ns, ns_count, provider);
	for (i = 0; i < ns_count; i++)
		sel[i].provider = provider[i];
}

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
	set_providers();
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

/* " (N more failure lines held back)", or "" when none were. */
static const char *
held_back(unsigned skipped, char *buf, size_t len)
{
	if (skipped == 0)
		return "";
	snprintf(buf, len, " (%u more failures since the last line)", skipped);
	return buf;
}

void
ns_lost(struct nameserver *ns, const struct upstream_conn *c, enum conn_loss loss,
    const char *why, unsigned moved, uint64_t now)
{
	char more[64];
	unsigned skipped;

	if (c->state == CONN_READY) {
		ns->st.reconnects++;
		if (ns_loss_rests(c->received, moved, loss, c->first_suspect, &ns->lost_unanswered)) {
			ns->st.failures++;
			ns_rest(ns, now);
		}
	} else if (loss == LOSS_AUTH) {
		ns->st.auth_failures++;
		ns->have_session = 0;
		/* While it lasts, one line a minute (issue 17: no log floods
		 * while the WAN is down or a certificate is wrong). */
		if (log_quiet_failure(&ns->quiet, now, &skipped))
			log_error("upstream: AUTHENTICATION FAILED ns=%s conn=%u reason=\"%s\": "
			    "no query was sent on this connection%s", ns->cf->text, c->index, why,
			    held_back(skipped, more, sizeof(more)));
		ns_rest(ns, now);
		last_probe = now;
	} else {
		ns->st.failures++;
		if (log_quiet_failure(&ns->quiet, now, &skipped))
			log_warnx("upstream: cannot reach ns=%s conn=%u state=%s reason=\"%s\"%s",
			    ns->cf->text, c->index, conn_state_name(c->state), why,
			    held_back(skipped, more, sizeof(more)));
		ns_rest(ns, now);
		/* A failed connect or handshake is as good as a probe: the next
		 * one (when every nameserver rests) waits PROBE_INTERVAL_MS from
		 * here, or it would follow this failure within a millisecond. A
		 * lost connection that rests the nameserver is probed at once, as
		 * before: the server may well answer a new connection. */
		last_probe = now;
	}
}

void
ns_connected(struct nameserver *ns, const br_ssl_session_parameters *session, int resumed)
{
	unsigned failures;
	uint64_t down_us, now = port_now_us();

	if (log_quiet_recovered(&ns->quiet, now, &failures, &down_us))
		log_warnx("upstream: ns=%s works again (%u failures in %llu.%u s)", ns->cf->text,
		    failures, (unsigned long long)(stats_fixed(down_us, 1000000, 1) / 10),
		    (unsigned)(stats_fixed(down_us, 1000000, 1) % 10));
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
	struct select_ns *v = &sel[ns - nameservers];

	/* A sample after a long gap counts for half (select.c): a nameserver
	 * measured again after a while is followed at once. */
	select_sample(v, rtt, port_now_us());
	ns->srtt_us = v->srtt_us;
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

/* For a zone transfer's connection: the lowest smoothed answer time
 * (unmeasured first), ties to the order given. */
static int
ns_better(const struct nameserver *a, const struct nameserver *b)
{
	return b == NULL || a->srtt_us < b->srtt_us;
}

/* The view select.c chooses from: who has a ready connection with room,
 * who may be connected to (not resting). */
static void
fill_view(uint64_t now)
{
	unsigned i;

	sel_state.strategy = (enum select_strategy)conf->strategy;
	for (i = 0; i < ns_count; i++) {
		sel[i].ready = ns_ready_conn(&nameservers[i]) != NULL;
		sel[i].usable = !ns_resting(&nameservers[i], now);
	}
}

/* The connection the next query goes to, by --strategy (select_pick). */
static struct upstream_conn *
pick_conn(uint64_t now)
{
	int i;

	fill_view(now);
	i = select_pick(&sel_state, sel, ns_count, now);
	if (i < 0)
		return NULL;
	last_pick = i;
	return ns_ready_conn(&nameservers[i]);
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
		int hopeful = 0, setting_up = 0, want;

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
			if (oldest == NULL || ns->last_fail < oldest->last_fail)
				oldest = ns;
		}
		/* The strategy's choice if every usable nameserver had a ready
		 * connection, when it has none; else the one queries go to, when
		 * its connections are busy enough to spread load. */
		fill_view(now);
		want = select_want(&sel_state, sel, ns_count, now);
		if (want >= 0)
			target = &nameservers[want];
		else if (last_pick >= 0 && (unsigned)last_pick < ns_count && sel[last_pick].usable)
			target = &nameservers[last_pick];
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

	for (i = 0; i < xfr_count; i++)
		if (xfr_conns[i].state == CONN_IDLE && relays[i].q == NULL) {
			c = &xfr_conns[i];
			break;
		}
	/* A finished transfer's connection waits up to a second for the
	 * server's close_notify: transfers in quick succession (a secondary
	 * pulling several zones) take such a slot rather than SERVFAIL. */
	for (i = 0; i < xfr_count && c == NULL; i++)
		if (xfr_conns[i].state == CONN_CLOSING && relays[i].q == NULL) {
			struct upstream_conn *spare = &xfr_conns[i];

			if (conn_drop(spare, now) >= 0)
				c = spare;
		}
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
		if ((c = pick_conn(now)) == NULL)
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
		uint64_t srtt = stats_fixed(ns->srtt_us, 1000, 2);
		unsigned j, open = 0, inflight = 0;

		for (j = 0; j < conf->pool_size; j++) {
			if (ns->pool[j].state != CONN_IDLE)
				open++;
			inflight += conn_load(&ns->pool[j]);
		}
		log_stats("--- Stats of nameserver %s: queries %llu / answers %llu / "
		    "failures %llu / auth_failures %llu / timeouts %llu / reconnects %llu / "
		    "handshakes %llu / resumed %llu / bad_answers %llu / inflight %u / connections %u / "
		    "srtt %llu.%02ums%s",
		    ns->cf->text, (unsigned long long)ns->st.queries,
		    (unsigned long long)ns->st.answers, (unsigned long long)ns->st.failures,
		    (unsigned long long)ns->st.auth_failures, (unsigned long long)ns->st.timeouts,
		    (unsigned long long)ns->st.reconnects, (unsigned long long)ns->st.handshakes,
		    (unsigned long long)ns->st.resumed,
		    (unsigned long long)ns->st.bad_answers, inflight, open,
		    (unsigned long long)(srtt / 100), (unsigned)(srtt % 100),
		    ns_resting(ns, port_now_us()) ? " / resting" : "");
	}
}

/* The metrics endpoint's source (metrics_sources.nameservers): each
 * nameserver's counters and state, in the configured order. */
unsigned
ns_metrics(struct metrics_ns *out, unsigned max, uint64_t now)
{
	unsigned i, j, n = ns_count < max ? ns_count : max;

	for (i = 0; i < n; i++) {
		const struct nameserver *ns = &nameservers[i];
		struct metrics_ns *m = &out[i];
		int ready = 0, opening = 0;

		memset(m, 0, sizeof(*m));
		snprintf(m->name, sizeof(m->name), "%s", ns->cf->text);
		for (j = 0; j < conf->pool_size; j++) {
			enum conn_state st = ns->pool[j].state;

			if (st != CONN_IDLE)
				m->connections++;
			ready |= st == CONN_READY;
			opening |= st == CONN_CONNECTING || st == CONN_HANDSHAKING;
			m->inflight += conn_load(&ns->pool[j]);
		}
		m->state = ready ? METRICS_NS_UP : ns_resting(ns, now) ? METRICS_NS_RESTING :
		    opening ? METRICS_NS_CONNECTING : METRICS_NS_IDLE;
		m->queries = ns->st.queries;
		m->answers = ns->st.answers;
		m->failures = ns->st.failures;
		m->auth_failures = ns->st.auth_failures;
		m->timeouts = ns->st.timeouts;
		m->reconnects = ns->st.reconnects;
		m->handshakes = ns->st.handshakes;
		m->resumed = ns->st.resumed;
		m->bad_answers = ns->st.bad_answers;
		m->srtt_us = ns->srtt_us;
	}
	return n;
}

const char *
ns_conn_name(int conn)
{
	return conn >= 0 && (unsigned)conn < conn_count ? conns[conn].ns->cf->text : NULL;
}

void
ns_reset(uint64_t now)
{
	unsigned i, closed = 0, rested = 0;

	for (i = 0; i < conn_count - xfr_count; i++) /* transfers keep theirs */
		closed += (unsigned)conn_drop(&conns[i], now);
	for (i = 0; i < ns_count; i++) {
		struct nameserver *ns = &nameservers[i];

		rested += ns->fails != 0 || ns_resting(ns, now);
		ns->fails = 0;
		ns->rest_until = 0;
		ns->lost_unanswered = 0;
	}
	last_probe = 0;
	log_info("reset: closed %u upstream connections, cleared the back-off of %u nameservers; "
	    "%u queries go out again", closed, rested, conn_take_requeued());
	/* The queries put back go out on new connections this turn. */
	loop_deadline(now);
}

/* The pins of ns's certificate name, from the settings. */
static void
ns_set_pins(struct nameserver *ns)
{
	int j;

	ns->npins = 0;
	for (j = 0; j < conf->pin_count; j++)
		if (strcasecmp(conf->pins[j].name, ns->cf->name) == 0 && ns->npins < MAX_PINS)
			ns->pins[ns->npins++] = conf->pins[j].key;
}

_Static_assert(MAX_NAMESERVERS <= 32, "ns_reload_begin's mask holds 32 slots");

unsigned
ns_reload_begin(const struct conf *next, uint64_t now)
{
	unsigned i, j, changed = 0, closed = 0;

	for (i = 0; i < ns_count; i++) {
		struct nameserver *ns = &nameservers[i];

		if ((int)i < next->ns_count && strcmp(ns->cf->text, next->ns[i].text) == 0)
			continue;
		changed |= 1u << i;
		for (j = 0; j < conf->pool_size; j++)
			closed += (unsigned)conn_drop(&ns->pool[j], now);
	}
	for (; i < (unsigned)next->ns_count; i++)
		changed |= 1u << i;
	if (closed != 0)
		log_info("reload: closed %u connections to nameservers changed or removed; "
		    "%u queries go out again", closed, conn_take_requeued());
	return changed;
}

void
ns_reload_end(unsigned changed, uint64_t now)
{
	unsigned i;

	ns_count = (unsigned)conf->ns_count;
	for (i = 0; i < ns_count; i++) {
		struct nameserver *ns = &nameservers[i];

		if (changed & (1u << i)) {
			/* A new nameserver in this slot: nothing of the old one's. */
			ns->fails = 0;
			ns->lost_unanswered = 0;
			ns->rest_until = ns->last_fail = 0;
			ns->srtt_us = 0;
			ns->have_session = 0;
			memset(&ns->st, 0, sizeof(ns->st));
			memset(&ns->quiet, 0, sizeof(ns->quiet));
			memset(&sel[i], 0, sizeof(sel[i]));
		}
		ns->cf = &conf->ns[i];
		ns_set_pins(ns);
	}
	set_providers();
	last_pick = -1;
	/* Queries put back go out this turn. */
	loop_deadline(now);
}

int
ns_retry(struct nameserver *from, struct pending_query *pq, const uint8_t *msg, uint64_t now)
{
	struct nameserver *ns;
	struct upstream_conn *c, *pool;
	unsigned i;
	int to, ready;

	if (!conf->retry_servfail || pq->retries > 0)
		return 0;
	fill_view(now);
	to = select_retry(&sel_state, sel, ns_count, (unsigned)(from - nameservers), dns_rcode(msg),
	    pq->retries, conf->retry_servfail, now, pq->deadline_us);
	if (to < 0 || nameservers[to].pool == NULL)
		return 0;
	ns = &nameservers[to];
	/* A ready connection; else one being set up (the query waits on its
	 * send queue); else a new one. */
	pool = ns->pool;
	ready = ns_choose_conn(pool, conf->pool_size);
	c = ready >= 0 ? &pool[ready] : NULL;
	for (i = 0; c == NULL && i < conf->pool_size; i++)
		if (pool[i].state == CONN_CONNECTING || pool[i].state == CONN_HANDSHAKING)
			c = &pool[i];
	if (c == NULL && (c = ns_free_conn(ns)) != NULL) {
		conn_open(c, now);
		if (c->state == CONN_IDLE)
			c = NULL;
	}
	if (c == NULL || conn_assign(c, pq) != 0)
		return 0;
	pq->retries++;
	log_debug("upstream: rcode %d from ns=%s; asking ns=%s", dns_rcode(msg), from->cf->text,
	    ns->cf->text);
	return 1;
}
