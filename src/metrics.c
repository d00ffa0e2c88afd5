/* SPDX-License-Identifier: MIT */
/* The metrics endpoint (metrics.h): the request parser, the two renderers,
 * and the small server. One request per connection: the answer says
 * "Connection: close", and once it is written the proxy shuts its side and
 * reads what the client still sends until it closes (or a short deadline),
 * so bytes sent after the request cannot reset the connection under the
 * answer. Each client's state is an enum and one step per event; its
 * deadline is absolute and depends on the state. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "acl.h"
#include "feature.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "pending.h"
#include "port.h"
#include "version.h"
#include "xfr.h"

#if FEATURE_METRICS

#define PREFIX "dns_tls_proxy_"
/* The longest piece of a page: a sample line with a nameserver label
 * (escaped, at most twice its length) or a HELP line. */
#define PIECE_MAX 1024
_Static_assert(PIECE_MAX >= 2 * (CONF_NAME_MAX + 64) + 200, "PIECE_MAX too small");
/* A figure's name from another module: its length at most. */
#define FIGURE_NAME_MAX 64

/* ---- Rendering ---------------------------------------------------------
 * A page is a sequence of pieces (a line, or a few short ones). A pass over
 * the page numbers the pieces; those before the cursor are skipped without
 * being formatted, so each chunk costs little more than its own bytes. */

struct sink {
	char *buf;                 /* NULL: only count */
	size_t cap, len;
	size_t total;              /* counting: the page's length */
	unsigned piece;            /* pieces met this pass */
	struct metrics_cursor *cur; /* resume point, moved as pieces go out */
	int full;
};

static void emit(struct sink *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
emit(struct sink *k, const char *fmt, ...)
{
	char text[PIECE_MAX];
	unsigned idx = k->piece++;
	size_t n, start, take;
	va_list ap;
	int r;

	if (k->full || (k->buf != NULL && idx < k->cur->piece))
		return;
	va_start(ap, fmt);
	r = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (r < 0)
		return;
	n = (size_t)r < sizeof(text) ? (size_t)r : sizeof(text) - 1;
	if (k->buf == NULL) {
		k->total += n;
		return;
	}
	start = idx == k->cur->piece ? k->cur->off : 0;
	take = n - start < k->cap - k->len ? n - start : k->cap - k->len;
	memcpy(k->buf + k->len, text + start, take);
	k->len += take;
	if (start + take < n) {
		k->cur->piece = idx;
		k->cur->off = start + take;
		k->full = 1;
	} else {
		k->cur->piece = idx + 1;
		k->cur->off = 0;
	}
}

/* Microseconds as decimal seconds, without trailing zeros: "0.00025", "2.5". */
static const char *
seconds(char *buf, size_t len, uint64_t us)
{
	int n = snprintf(buf, len, "%llu.%06llu", (unsigned long long)(us / 1000000),
	    (unsigned long long)(us % 1000000));

	while (n > 0 && buf[n - 1] == '0')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '.')
		buf[--n] = '\0';
	return buf;
}

/* How a text is escaped: a label value (\\, \", \n), a HELP text (\\, \n),
 * a JSON string (those and \u00XX for the rest outside printable ASCII). */
enum esc { ESC_LABEL, ESC_HELP, ESC_JSON };

static const char *
escape(char *buf, size_t len, const char *s, enum esc how)
{
	size_t n = 0;

	for (; *s != '\0' && n + 7 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\\' || (c == '"' && how != ESC_HELP)) {
			buf[n++] = '\\';
			buf[n++] = (char)c;
		} else if (c == '\n') {
			buf[n++] = '\\';
			buf[n++] = 'n';
		} else if (how == ESC_JSON && (c < 0x20 || c >= 0x7f)) {
			n += (size_t)snprintf(buf + n, len - n, "\\u%04x", c);
		} else if (c < 0x20 || c >= 0x7f) {
			continue; /* nothing of the kind in a nameserver's text */
		} else {
			buf[n++] = (char)c;
		}
	}
	buf[n] = '\0';
	return buf;
}

/* ---- The figures ---------------------------------------------------------
 * One table says, for each metric: its name (after PREFIX) and help on the
 * Prometheus page, its key in /stats.json, its type, its labels, where its
 * value lies and how it is written. Both renderers walk it; only the build
 * version, the histogram, the nameservers' state and the cache's figures
 * (named by the cache) have code of their own. */

enum label_set {
	L_NONE,     /* one sample */
	L_LISTENER, /* listener="udp", "tcp": consecutive struct listener_stats */
	L_RESULT,   /* result="served", ...: consecutive uint64_t */
	L_NS,       /* nameserver="IP:PORT:NAME": off is in struct metrics_ns */
};

/* Where /stats.json puts it. */
enum json_group { G_TOP, G_LISTENERS, G_ERRORS, G_NS, G_TRANSFERS, G_HTTP };

enum value_kind {
	V_U64,   /* uint64_t */
	V_UINT,  /* unsigned */
	V_SEC,   /* uint64_t microseconds, written as seconds */
	V_SEC32, /* uint32_t microseconds as seconds; 0 (not measured): no sample, JSON null */
};

struct metric {
	const char *text;      /* its name, key and help, each ended by a NUL (one
	                        * pointer, not three: a third of the table) */
	unsigned char counter; /* 1: counter; 0: gauge */
	unsigned char labels;  /* enum label_set */
	unsigned char group;   /* enum json_group */
	unsigned char kind;    /* enum value_kind */
	unsigned short off;    /* in struct metrics_snapshot (L_NS: struct metrics_ns) */
};

#define SNAP(field) offsetof(struct metrics_snapshot, field)
#define NS(field) offsetof(struct metrics_ns, field)
#define TEXT(name, key, help) name "\0" key "\0" help
#define GAUGE(name, key, group, kind, off, help) { TEXT(name, key, help), 0, L_NONE, group, kind, off }
#define COUNTER(name, key, group, off, help) { TEXT(name, key, help), 1, L_NONE, group, V_U64, SNAP(off) }
#define NS_COUNTER(name, key, field, help) \
	{ TEXT("nameserver_" name, key, help), 1, L_NS, G_NS, V_U64, NS(field) }

_Static_assert(offsetof(struct stats, tcp) == offsetof(struct stats, udp) + sizeof(struct listener_stats),
    "the listeners' figures are consecutive");
_Static_assert(sizeof(struct metrics_http_stats) == 4 * sizeof(uint64_t), "the endpoint's figures are consecutive");
_Static_assert(sizeof(unsigned) == sizeof(uint32_t), "V_UINT reads 4 bytes");
_Static_assert(sizeof(struct metrics_snapshot) <= 0xffff, "offsets fit 16 bits");

/* In Prometheus order: the build version first, the histogram after the
 * last G_ERRORS one, the nameservers' state after the last L_NS one, the
 * cache's figures before the first G_TRANSFERS one. */
static const struct metric metrics[] = {
	GAUGE("uptime_seconds", "uptime_seconds", G_TOP, V_SEC, SNAP(uptime_us),
	    "Time since the proxy started."),
	{ TEXT("requests_total", "requests",
	  "Queries taken in, by listener (messages dropped unanswered are not counted)."),
	  1, L_LISTENER, G_LISTENERS, V_U64, SNAP(st.udp.requests) },
	{ TEXT("answers_total", "answered", "Replies sent, errors included, by listener."),
	  1, L_LISTENER, G_LISTENERS, V_U64, SNAP(st.udp.answered) },
	{ TEXT("answer_seconds_total", "answer_seconds",
	  "Time from query to reply, summed over the replies, by listener."),
	  1, L_LISTENER, G_LISTENERS, V_SEC, SNAP(st.udp.latency_us) },
	GAUGE("queries_in_flight", "queries_in_flight", G_TOP, V_UINT, SNAP(inflight),
	    "Queries waiting for an answer."),
	/* struct stats, keyed as in the stats lines */
	COUNTER("servfail_total", "servfail", G_ERRORS, st.servfail,
	    "SERVFAIL replies made by the proxy (timeouts, no nameserver, full table)."),
	COUNTER("timeouts_total", "timeouts", G_ERRORS, st.timeouts,
	    "Queries whose deadline (--timeout) passed."),
	COUNTER("fast_fail_total", "fast_fail", G_ERRORS, st.fast_fail,
	    "Queries answered SERVFAIL at once: no nameserver could be reached."),
	COUNTER("formerr_total", "formerr", G_ERRORS, st.formerr, "Malformed queries answered FORMERR."),
	COUNTER("notimp_total", "notimp", G_ERRORS, st.notimp,
	    "Queries with an opcode other than QUERY, answered NOTIMP."),
	COUNTER("oversize_refused_total", "refused", G_ERRORS, st.refused,
	    "Queries too large to hold, answered REFUSED."),
	COUNTER("acl_refused_total", "acl_refused", G_ERRORS, st.acl_refused,
	    "Queries from clients outside --allow, answered REFUSED."),
	COUNTER("dropped_total", "dropped", G_ERRORS, st.dropped,
	    "Messages dropped unanswered: no header, a response, a zero-length TCP message."),
	COUNTER("truncated_total", "truncated", G_ERRORS, st.truncated, "UDP answers sent with TC set."),
	COUNTER("table_full_total", "table_full", G_ERRORS, st.table_full,
	    "Queries answered SERVFAIL for want of a pending slot or a large-query buffer."),
	COUNTER("tcp_refused_total", "tcp_refused", G_ERRORS, st.tcp_refused,
	    "TCP connections closed over --max-tcp-clients."),
	COUNTER("tcp_slow_total", "tcp_slow", G_ERRORS, st.tcp_slow,
	    "TCP clients closed for not reading their answers."),
	COUNTER("tcp_idle_total", "tcp_idle", G_ERRORS, st.tcp_idle,
	    "TCP clients closed after --tcp-idle-timeout."),
	COUNTER("unmatched_answers_total", "unmatched", G_ERRORS, st.unmatched,
	    "Upstream answers for no query in flight (late ones)."),
	COUNTER("send_errors_total", "send_errors", G_ERRORS, st.send_errors,
	    "UDP replies the kernel would not take."),
	/* struct metrics_ns */
	NS_COUNTER("queries_total", "queries", queries, "Queries written to the nameserver."),
	NS_COUNTER("answers_total", "answers", answers, "Answers from the nameserver matched to a query."),
	NS_COUNTER("failures_total", "failures", failures,
	    "Connections that could not be set up, or were lost before any answer."),
	NS_COUNTER("auth_failures_total", "auth_failures", auth_failures,
	    "Handshakes that failed the certificate, name or pin checks."),
	NS_COUNTER("timeouts_total", "timeouts", timeouts, "Queries on the nameserver whose deadline passed."),
	NS_COUNTER("reconnects_total", "reconnects", reconnects, "Ready connections lost."),
	NS_COUNTER("handshakes_total", "handshakes", handshakes, "TLS handshakes completed."),
	NS_COUNTER("resumptions_total", "resumed", resumed, "TLS handshakes that resumed a session."),
	NS_COUNTER("bad_answers_total", "bad_answers", bad_answers,
	    "Answers discarded: malformed, or with the wrong question."),
	{ TEXT("nameserver_queries_in_flight", "inflight",
	  "Queries on the nameserver's connections waiting for an answer."),
	  0, L_NS, G_NS, V_UINT, NS(inflight) },
	{ TEXT("nameserver_connections", "connections", "Connections to the nameserver open."),
	  0, L_NS, G_NS, V_UINT, NS(connections) },
	{ TEXT("nameserver_srtt_seconds", "srtt_seconds",
	  "Smoothed answer time of the nameserver (absent until measured)."),
	  0, L_NS, G_NS, V_SEC32, NS(srtt_us) },
	/* struct xfr_counters, keyed as in the stats line */
	COUNTER("transfers_started_total", "started", G_TRANSFERS, xfr.started,
	    "Zone transfers relayed, each on a connection of its own."),
	COUNTER("transfers_completed_total", "completed", G_TRANSFERS, xfr.completed,
	    "Zone transfers relayed whole."),
	COUNTER("transfers_failed_total", "failed", G_TRANSFERS, xfr.failed,
	    "Zone transfers ended early: a broken stream, the upstream lost or silent, the client gone."),
	COUNTER("transfers_refused_total", "refused", G_TRANSFERS, xfr.refused,
	    "Zone transfers asked from outside --allow-transfer, answered REFUSED."),
	COUNTER("transfers_truncated_total", "truncated", G_TRANSFERS, xfr.truncated,
	    "Zone transfers asked over UDP, answered with TC."),
	COUNTER("transfers_busy_total", "busy", G_TRANSFERS, xfr.busy,
	    "Zone transfers answered SERVFAIL: every transfer slot taken."),
	COUNTER("transfer_messages_total", "messages", G_TRANSFERS, xfr.messages,
	    "Messages of zone transfers relayed to clients."),
	COUNTER("transfer_bytes_total", "bytes", G_TRANSFERS, xfr.bytes,
	    "Bytes of those messages, length prefixes left out."),
	{ TEXT("metrics_requests_total", "", /* keyed by result */
	  "Requests to this endpoint, by result (refused: closed at once, over the client limit "
	  "or outside --allow)."), 1, L_RESULT, G_HTTP, V_U64, SNAP(http.served) },
};
#define N_METRICS (sizeof(metrics) / sizeof(metrics[0]))

static const char *const listener_names[] = { "udp", "tcp" };
static const char *const http_results[] = { "served", "error", "refused", "timeout" };
static const char *const ns_state_names[METRICS_NS_STATES] = {
	"idle", "connecting", "up", "resting",
};

/* The label's name, its values' count, and the distance between them. */
static const struct label_def {
	const char *name;
	const char *const *values;
	unsigned count;
	size_t stride;
} labels[] = {
	[L_NONE] = { NULL, NULL, 1, 0 },
	[L_LISTENER] = { "listener", listener_names, 2, sizeof(struct listener_stats) },
	[L_RESULT] = { "result", http_results, 4, sizeof(uint64_t) },
	[L_NS] = { "nameserver", NULL, 0, sizeof(struct metrics_ns) },
};

static const char *
m_name(const struct metric *m)
{
	return m->text;
}

static const char *
m_key(const struct metric *m)
{
	return m->text + strlen(m->text) + 1;
}

static const char *
m_help(const struct metric *m)
{
	const char *key = m_key(m);

	return key + strlen(key) + 1;
}

/* m's value at base (a snapshot, or L_NS a nameserver) moved j labels on,
 * written into num; NULL when it has none (V_SEC32 not measured). */
static const char *
figure(char *num, size_t len, const struct metric *m, const void *base, unsigned j)
{
	const char *p = (const char *)base + m->off + (m->labels == L_NS ? 0 : j * labels[m->labels].stride);
	uint64_t v;
	uint32_t w;

	if (m->kind == V_U64 || m->kind == V_SEC) {
		memcpy(&v, p, sizeof(v));
	} else {
		memcpy(&w, p, sizeof(w));
		v = w;
		if (m->kind == V_SEC32 && v == 0)
			return NULL;
	}
	if (m->kind >= V_SEC)
		return seconds(num, len, v);
	snprintf(num, len, "%llu", (unsigned long long)v);
	return num;
}

static void
family(struct sink *k, const char *name, const char *type, const char *help)
{
	emit(k, "# HELP " PREFIX "%s %s\n# TYPE " PREFIX "%s %s\n", name, help, name, type);
}

/* One metric's HELP, TYPE and samples. */
static void
prom_metric(struct sink *k, const struct metric *m, const struct metrics_snapshot *s)
{
	const struct label_def *l = &labels[m->labels];
	char num[32], label[2 * (CONF_NAME_MAX + 64) + 8];
	unsigned j, n = m->labels == L_NS ? s->ns_count : l->count;

	family(k, m_name(m), m->counter ? "counter" : "gauge", m_help(m));
	for (j = 0; j < n; j++) {
		const void *base = m->labels == L_NS ? (const void *)&s->ns[j] : (const void *)s;

		if (figure(num, sizeof(num), m, base, j) == NULL)
			continue;
		if (m->labels == L_NONE)
			emit(k, PREFIX "%s %s\n", m_name(m), num);
		else
			emit(k, PREFIX "%s{%s=\"%s\"} %s\n", m_name(m), l->name, m->labels == L_NS ?
			    escape(label, sizeof(label), s->ns[j].name, ESC_LABEL) : l->values[j], num);
	}
}

static void
render_prometheus(struct sink *k, const struct metrics_snapshot *s)
{
	char num[32], label[2 * (CONF_NAME_MAX + 64) + 8];
	uint64_t cum = 0;
	unsigned i, j;

	family(k, "build_info", "gauge", "The running version.");
	emit(k, PREFIX "build_info{version=\"%s\"} 1\n",
	    escape(label, sizeof(label), DNS_TLS_PROXY_VERSION, ESC_LABEL));
	for (i = 0; i < N_METRICS; i++) {
		const struct metric *m = &metrics[i];

		if (m->group == G_TRANSFERS && i > 0 && metrics[i - 1].group != G_TRANSFERS) {
			for (j = 0; j < s->cache_count; j++) {
				const struct metrics_figure *f = &s->cache[j];

				emit(k, "# HELP " PREFIX "cache_%s %s\n# TYPE " PREFIX "cache_%s %s\n"
				    PREFIX "cache_%s %llu\n", f->name,
				    escape(label, sizeof(label), f->help, ESC_HELP), f->name,
				    f->counter ? "counter" : "gauge", f->name, (unsigned long long)f->value);
			}
		}
		if (m->labels != L_NS || s->ns_count > 0)
			prom_metric(k, m, s);
		if (m->group == G_ERRORS && i + 1 < N_METRICS && metrics[i + 1].group != G_ERRORS) {
			family(k, "answer_duration_seconds", "histogram",
			    "Time from a query's arrival to its reply, both listeners.");
			for (j = 0; j < STATS_HIST_BUCKETS; j++) {
				cum += s->st.latency.bucket[j];
				emit(k, PREFIX "answer_duration_seconds_bucket{le=\"%s\"} %llu\n",
				    j < STATS_HIST_BUCKETS - 1 ?
				    seconds(num, sizeof(num), stats_hist_bounds_us[j]) : "+Inf",
				    (unsigned long long)cum);
			}
			emit(k, PREFIX "answer_duration_seconds_sum %s\n"
			    PREFIX "answer_duration_seconds_count %llu\n",
			    seconds(num, sizeof(num), s->st.latency.sum_us), (unsigned long long)cum);
		}
		if (m->labels == L_NS && i + 1 < N_METRICS && metrics[i + 1].labels != L_NS &&
		    s->ns_count > 0) {
			unsigned n;

			family(k, "nameserver_state", "gauge",
			    "The nameserver's state: 1 for the state it is in, 0 for the others.");
			for (n = 0; n < s->ns_count; n++)
				for (j = 0; j < METRICS_NS_STATES; j++)
					emit(k, PREFIX "nameserver_state{nameserver=\"%s\",state=\"%s\"} %d\n",
					    escape(label, sizeof(label), s->ns[n].name, ESC_LABEL),
					    ns_state_names[j], s->ns[n].state == (enum metrics_ns_state)j);
		}
	}
}

/* The group's figures at base, label j, as "key":value pairs. */
static void
json_group(struct sink *k, enum json_group g, const void *base, unsigned j, int first)
{
	char num[32];
	unsigned i;

	for (i = 0; i < N_METRICS; i++) {
		const struct metric *m = &metrics[i];
		const char *v;

		if (m->group != g)
			continue;
		v = figure(num, sizeof(num), m, base, j);
		emit(k, "%s\"%s\":%s", first ? "" : ",", *m_key(m) != '\0' ? m_key(m) : http_results[j],
		    v != NULL ? v : "null");
		first = 0;
	}
}

static void
render_json(struct sink *k, const struct metrics_snapshot *s)
{
	char num[32], text[2 * (CONF_NAME_MAX + 64) + 8];
	uint64_t cum = 0;
	unsigned i;

	emit(k, "{\"version\":\"%s\"", escape(text, sizeof(text), DNS_TLS_PROXY_VERSION, ESC_JSON));
	json_group(k, G_TOP, s, 0, 0);
	emit(k, ",\"listeners\":{");
	for (i = 0; i < 2; i++) {
		emit(k, "%s\"%s\":{", i > 0 ? "," : "", listener_names[i]);
		json_group(k, G_LISTENERS, s, i, 1);
		emit(k, "}");
	}
	emit(k, "},\"errors\":{");
	json_group(k, G_ERRORS, s, 0, 1);
	emit(k, "},\"answer_duration\":{\"buckets\":[");
	for (i = 0; i < STATS_HIST_BUCKETS; i++) {
		cum += s->st.latency.bucket[i];
		emit(k, "%s{\"le\":\"%s\",\"count\":%llu}", i > 0 ? "," : "",
		    i < STATS_HIST_BUCKETS - 1 ? seconds(num, sizeof(num), stats_hist_bounds_us[i]) : "+Inf",
		    (unsigned long long)cum);
	}
	emit(k, "],\"sum_seconds\":%s,\"count\":%llu},\"nameservers\":[",
	    seconds(num, sizeof(num), s->st.latency.sum_us), (unsigned long long)cum);
	for (i = 0; i < s->ns_count; i++) {
		const struct metrics_ns *ns = &s->ns[i];

		emit(k, "%s{\"nameserver\":\"%s\",\"state\":\"%s\"", i > 0 ? "," : "",
		    escape(text, sizeof(text), ns->name, ESC_JSON),
		    (unsigned)ns->state < METRICS_NS_STATES ? ns_state_names[ns->state] : "?");
		json_group(k, G_NS, ns, 0, 0);
		emit(k, "}");
	}
	emit(k, "]");
	if (s->cache_count > 0) {
		emit(k, ",\"cache\":{");
		for (i = 0; i < s->cache_count; i++)
			emit(k, "%s\"%s\":%llu", i > 0 ? "," : "", s->cache[i].name,
			    (unsigned long long)s->cache[i].value);
		emit(k, "}");
	}
	emit(k, ",\"transfers\":{");
	json_group(k, G_TRANSFERS, s, 0, 1);
	emit(k, "},\"metrics_requests\":{");
	for (i = 0; i < labels[L_RESULT].count; i++)
		json_group(k, G_HTTP, s, i, i == 0);
	emit(k, "}}\n");
}

static void
render(struct sink *k, enum metrics_page page, const struct metrics_snapshot *s)
{
	if (page == METRICS_PAGE_JSON)
		render_json(k, s);
	else
		render_prometheus(k, s);
}

size_t
metrics_render(enum metrics_page page, const struct metrics_snapshot *s,
    struct metrics_cursor *cur, char *buf, size_t cap)
{
	struct sink k;

	memset(&k, 0, sizeof(k));
	k.buf = buf;
	k.cap = cap;
	k.cur = cur;
	if (cap == 0)
		return 0;
	render(&k, page, s);
	return k.len;
}

size_t
metrics_render_length(enum metrics_page page, const struct metrics_snapshot *s)
{
	struct metrics_cursor cur = { 0, 0 };
	struct sink k;

	memset(&k, 0, sizeof(k));
	k.cur = &cur;
	render(&k, page, s);
	return k.total;
}

/* ---- Snapshot ---------------------------------------------------------- */

static const struct metrics_sources *sources;
static struct metrics_http_stats http;

void
metrics_set_sources(const struct metrics_sources *src)
{
	sources = src;
}

/* A metric name's tail: [a-z0-9_], not empty, at most FIGURE_NAME_MAX. */
static int
figure_name_ok(const char *name)
{
	size_t n;

	if (name == NULL)
		return 0;
	for (n = 0; name[n] != '\0'; n++)
		if (n >= FIGURE_NAME_MAX || !((name[n] >= 'a' && name[n] <= 'z') ||
		    (name[n] >= '0' && name[n] <= '9') || name[n] == '_'))
			return 0;
	return n > 0;
}

void
metrics_snapshot(struct metrics_snapshot *s, uint64_t now)
{
	struct metrics_figure figs[METRICS_CACHE_FIGURES];
	unsigned i, n;

	s->st = stats;
	s->http = http;
	s->xfr = xfr_counters;
	s->uptime_us = stats_uptime_us(now);
	s->inflight = pq_in_use();
	s->ns_count = 0;
	s->cache_count = 0;
	if (sources != NULL && sources->nameservers != NULL) {
		n = sources->nameservers(s->ns, MAX_NAMESERVERS, now);
		s->ns_count = n < MAX_NAMESERVERS ? n : MAX_NAMESERVERS;
		for (i = 0; i < s->ns_count; i++)
			s->ns[i].name[sizeof(s->ns[i].name) - 1] = '\0';
	}
	if (sources != NULL && sources->cache != NULL) {
		n = sources->cache(figs, METRICS_CACHE_FIGURES);
		for (i = 0; i < n && i < METRICS_CACHE_FIGURES; i++)
			if (figure_name_ok(figs[i].name) && figs[i].help != NULL)
				s->cache[s->cache_count++] = figs[i];
	}
}

/* ---- Request parser (RFC 9112 §2-§6, strictly) ------------------------ */

static int
is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL); /* not a format */
}

/* A line end at pos: its length (2 for CRLF, 1 for a bare LF, which
 * RFC 9112 §2.2 lets a server accept), 0 when the bytes stop short, -1 for
 * a bare CR, -2 when there is none. */
static int
line_end(const unsigned char *p, size_t len, size_t pos)
{
	if (pos >= len)
		return 0;
	if (p[pos] == '\n')
		return 1;
	if (p[pos] != '\r')
		return -2;
	if (pos + 1 >= len)
		return 0;
	return p[pos + 1] == '\n' ? 2 : -1;
}

static int
done(struct metrics_request *req, int status)
{
	req->status = status;
	return 1;
}

/* The head ran out before its end: more to come, unless it is already as
 * long as a head may be. */
static int
more(struct metrics_request *req, size_t len)
{
	if (len >= METRICS_REQ_MAX)
		return done(req, 431);
	return 0;
}

int
metrics_http_parse(const char *buf, size_t len, struct metrics_request *req)
{
	static const unsigned char version[] = "HTTP/d.d";
	const unsigned char *p = (const unsigned char *)buf;
	size_t pos = 0, line, method, target, target_len, i;
	int e, get, head, major, minor, hosts = 0, lengths = 0, chunked = 0, body = 0;
	unsigned fields = 0;

	memset(req, 0, sizeof(*req));
	req->status = 400;
	/* Empty lines before the request line are ignored (RFC 9112 §2.2). */
	while ((e = line_end(p, len, pos)) > 0)
		pos += (size_t)e;
	if (e == 0)
		return more(req, len);
	if (e == -1)
		return done(req, 400);
	/* request-line = method SP request-target SP HTTP-version CRLF */
	line = method = pos;
	while (pos < len && is_tchar(p[pos]) && pos - method <= 16)
		pos++;
	if (pos - method > 16)
		return done(req, 405); /* no method we serve is that long */
	if (pos == len)
		return more(req, len);
	if (p[pos] != ' ' || pos == method)
		return done(req, 400);
	get = pos - method == 3 && memcmp(p + method, "GET", 3) == 0;
	head = pos - method == 4 && memcmp(p + method, "HEAD", 4) == 0;
	target = ++pos;
	while (pos < len && p[pos] > 0x20 && p[pos] < 0x7f && pos - line <= METRICS_REQ_LINE_MAX)
		pos++;
	if (pos - line > METRICS_REQ_LINE_MAX)
		return done(req, 414);
	if (pos == len)
		return more(req, len);
	/* Only the origin form: a path. */
	if (p[pos] != ' ' || pos == target || p[target] != '/')
		return done(req, 400);
	target_len = pos - target;
	pos++;
	for (i = 0; i < sizeof(version) - 1; i++, pos++) {
		if (pos == len)
			return more(req, len);
		if (version[i] == 'd' ? p[pos] < '0' || p[pos] > '9' : p[pos] != version[i])
			return done(req, 400);
	}
	major = p[pos - 3] - '0';
	minor = p[pos - 1] - '0';
	if ((e = line_end(p, len, pos)) == 0)
		return more(req, len);
	if (e < 0)
		return done(req, 400);
	pos += (size_t)e;
	/* field-line = field-name ":" OWS field-value OWS CRLF; no folding. */
	for (;;) {
		size_t name, name_len, value, value_end;

		if ((e = line_end(p, len, pos)) > 0) {
			pos += (size_t)e;
			break;
		}
		if (e == 0)
			return more(req, len);
		if (e == -1)
			return done(req, 400);
		if (++fields > METRICS_HEADERS_MAX)
			return done(req, 431);
		line = name = pos;
		while (pos < len && is_tchar(p[pos]) && pos - line <= METRICS_HEADER_LINE_MAX)
			pos++;
		if (pos - line > METRICS_HEADER_LINE_MAX)
			return done(req, 431);
		if (pos == len)
			return more(req, len);
		/* A blank before the colon, or a folded line (RFC 9112 §5.1, §5.2). */
		if (p[pos] != ':' || pos == name)
			return done(req, 400);
		name_len = pos - name;
		pos++;
		while (pos < len && (p[pos] == ' ' || p[pos] == '\t'))
			pos++;
		value = value_end = pos;
		while (pos < len && (p[pos] == '\t' || (p[pos] >= 0x20 && p[pos] != 0x7f)) &&
		    pos - line <= METRICS_HEADER_LINE_MAX) {
			if (p[pos] != ' ' && p[pos] != '\t')
				value_end = pos + 1;
			pos++;
		}
		if (pos - line > METRICS_HEADER_LINE_MAX)
			return done(req, 431);
		if ((e = line_end(p, len, pos)) == 0)
			return more(req, len);
		if (e < 0)
			return done(req, 400); /* a control character in the value */
		pos += (size_t)e;
		if (name_len == 4 && strncasecmp((const char *)p + name, "host", 4) == 0) {
			hosts++;
		} else if (name_len == 14 &&
		    strncasecmp((const char *)p + name, "content-length", 14) == 0) {
			lengths++;
			if (value_end == value)
				return done(req, 400);
			for (i = value; i < value_end; i++) {
				if (p[i] < '0' || p[i] > '9')
					return done(req, 400);
				body |= p[i] != '0';
			}
		} else if (name_len == 17 &&
		    strncasecmp((const char *)p + name, "transfer-encoding", 17) == 0) {
			chunked = 1;
		}
	}
	req->used = pos;
	if (major != 1)
		return done(req, 505);
	/* RFC 9112 §3.2: exactly one Host in HTTP/1.1; RFC 9112 §6.3: a
	 * Content-Length beside a Transfer-Encoding, or two, is an attack. */
	if ((minor >= 1 && hosts != 1) || hosts > 1 || lengths > 1 || (lengths > 0 && chunked))
		return done(req, 400);
	if (!get && !head)
		return done(req, 405);
	if (body || chunked)
		return done(req, 413);
	/* The query string, if any, is not used. */
	for (i = 0; i < target_len && p[target + i] != '?'; i++)
		;
	if (i == 8 && memcmp(p + target, "/metrics", 8) == 0)
		req->page = METRICS_PAGE_PROMETHEUS;
	else if (i == 11 && memcmp(p + target, "/stats.json", 11) == 0)
		req->page = METRICS_PAGE_JSON;
	else
		return done(req, 404);
	req->head_only = head;
	return done(req, 200);
}

/* ---- Server ------------------------------------------------------------ */

enum mc_state {
	MC_FREE,
	MC_READING, /* the request head: until it is whole, or METRICS_REQUEST_TIMEOUT_MS */
	MC_WRITING, /* the answer: until it is taken, or METRICS_WRITE_TIMEOUT_MS */
	MC_LINGER,  /* our side shut: read and drop until the client closes, or METRICS_LINGER_MS */
};

struct metrics_client {
	int fd;
	uint32_t gen;            /* changes at every accept: stale poll results are ignored */
	enum mc_state state;
	uint64_t deadline;       /* absolute, for the state */
	size_t in_len;           /* READING: request bytes in buf */
	size_t out_off, out_len; /* WRITING: buf[out_off..out_len) still to send */
	int body;                /* WRITING: more of the page to render after buf */
	enum metrics_page page;
	struct metrics_cursor cur;
	struct metrics_snapshot snap; /* what the answer shows */
	char buf[METRICS_REQ_MAX];    /* the request, then each chunk of the answer */
};

/* The status line, the headers and an error's body fit in a chunk. */
#define HEAD_MAX 320
_Static_assert(METRICS_REQ_MAX > 2 * HEAD_MAX, "METRICS_REQ_MAX too small for an answer's head");

static const struct conf *conf;
static int listen_fd = -1;
static unsigned bound_port;
static struct metrics_client *clients;  /* METRICS_MAX_CLIENTS, reserved by metrics_init */
static uint64_t accept_paused_until;
static struct log_limit refuse_log, accept_log;

static void
mc_close(struct metrics_client *c)
{
	close(c->fd);
	c->fd = -1;
	c->state = MC_FREE;
}

static const char *
reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

static void mc_write(struct metrics_client *c, uint64_t now);

/* Start the answer: the head, then as much of the body as the buffer takes. */
static void
mc_respond(struct metrics_client *c, int status, int head_only, enum metrics_page page, uint64_t now)
{
	char body[64];
	size_t body_len;
	int n;

	c->body = 0;
	if (status == 200) {
		metrics_snapshot(&c->snap, now);
		body_len = metrics_render_length(page, &c->snap);
	} else {
		body_len = (size_t)snprintf(body, sizeof(body), "%d %s\n", status, reason(status));
	}
	n = snprintf(c->buf, HEAD_MAX, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
	    "%sConnection: close\r\n\r\n", status, reason(status),
	    status != 200 ? "text/plain; charset=utf-8" : page == METRICS_PAGE_JSON ?
	    "application/json" : "text/plain; version=0.0.4; charset=utf-8",
	    body_len, status == 405 ? "Allow: GET, HEAD\r\n" : "");
	c->out_len = n > 0 && n < HEAD_MAX ? (size_t)n : 0;
	c->out_off = 0;
	if (status != 200 && !head_only) {
		memcpy(c->buf + c->out_len, body, body_len);
		c->out_len += body_len;
	} else if (status == 200 && !head_only) {
		c->page = page;
		c->cur.piece = 0;
		c->cur.off = 0;
		c->body = 1;
		c->out_len += metrics_render(page, &c->snap, &c->cur, c->buf + c->out_len,
		    sizeof(c->buf) - c->out_len);
	}
	c->state = MC_WRITING;
	c->deadline = now + (uint64_t)METRICS_WRITE_TIMEOUT_MS * 1000;
	mc_write(c, now);
}

static void
mc_read(struct metrics_client *c, uint64_t now)
{
	struct metrics_request req;
	ssize_t n = recv(c->fd, c->buf + c->in_len, sizeof(c->buf) - c->in_len, 0);

	if (n == 0) {
		mc_close(c); /* gone before a whole request: nobody to answer */
		return;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			mc_close(c);
		return;
	}
	c->in_len += (size_t)n;
	if (!metrics_http_parse(c->buf, c->in_len, &req)) {
		if (c->in_len < sizeof(c->buf))
			return;
		req.status = 431; /* metrics_http_parse says so first; kept for safety */
		req.head_only = 0;
	}
	/* Whatever follows the head (pipelined requests, garbage) is not
	 * read: one answer, then the connection closes. */
	if (req.status == 200)
		http.served++;
	else
		http.errors++;
	mc_respond(c, req.status, req.head_only, req.page, now);
}

static void
mc_write(struct metrics_client *c, uint64_t now)
{
	for (;;) {
		ssize_t n;

		if (c->out_off == c->out_len && c->body) {
			c->out_off = 0;
			c->out_len = metrics_render(c->page, &c->snap, &c->cur, c->buf, sizeof(c->buf));
			c->body = c->out_len > 0;
		}
		if (c->out_off == c->out_len) {
			/* All sent: close our side, let the client close first. */
			(void)shutdown(c->fd, SHUT_WR);
			c->state = MC_LINGER;
			c->deadline = now + (uint64_t)METRICS_LINGER_MS * 1000;
			return;
		}
		n = send(c->fd, c->buf + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n > 0) {
			c->out_off += (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			return;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else {
			mc_close(c);
			return;
		}
	}
}

/* Read and drop what the client still sends, a bounded amount a turn. */
static void
mc_drain(struct metrics_client *c)
{
	int reads;

	for (reads = 0; reads < 4; reads++) {
		ssize_t n = recv(c->fd, c->buf, sizeof(c->buf), 0);

		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0 && errno == EINTR)
			continue;
		mc_close(c);
		return;
	}
}

static void
client_event(void *obj, uint32_t gen, short revents, uint64_t now)
{
	struct metrics_client *c = obj;

	(void)revents;
	if (c->fd == -1 || c->gen != gen)
		return;
	switch (c->state) {
	case MC_READING:
		mc_read(c, now);
		break;
	case MC_WRITING:
		mc_write(c, now);
		break;
	case MC_LINGER:
		mc_drain(c);
		break;
	case MC_FREE:
		break;
	}
}

static void
accept_event(void *obj, uint32_t gen, short revents, uint64_t now)
{
	unsigned i, skipped;

	(void)obj;
	(void)gen;
	(void)revents;
	for (i = 0; i <= METRICS_MAX_CLIENTS; i++) {
		union pq_addr from;
		socklen_t fromlen = sizeof(from);
		struct metrics_client *c = NULL;
		unsigned j;
		int fd = port_accept(listen_fd, &from.sa, &fromlen);

		if (fd == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
			    errno == ECONNABORTED)
				return;
			/* Out of descriptors or memory: look again a little later
			 * rather than spin on a listener that stays readable. */
			accept_paused_until = now + (uint64_t)ACCEPT_PAUSE_MS * 1000;
			if (log_ratelimit(&accept_log, &skipped))
				log_warn("metrics: accept (pausing %d ms; and %u more)", ACCEPT_PAUSE_MS,
				    skipped);
			return;
		}
		for (j = 0; j < METRICS_MAX_CLIENTS && c == NULL; j++)
			if (clients[j].state == MC_FREE)
				c = &clients[j];
		if (c == NULL || !acl_allows(conf->allow, conf->allow_count, &from.sa)) {
			close(fd);
			http.refused++;
			if (log_ratelimit(&refuse_log, &skipped))
				log_info("metrics: closed a connection %s (and %u more)", c == NULL ?
				    "over the client limit" : "from outside --allow", skipped);
			continue;
		}
		c->fd = fd;
		c->gen++;
		c->state = MC_READING;
		c->in_len = 0;
		c->deadline = now + (uint64_t)METRICS_REQUEST_TIMEOUT_MS * 1000;
	}
}

void
metrics_prepare(uint64_t now)
{
	unsigned i;

	if (listen_fd == -1)
		return;
	if (now < accept_paused_until)
		loop_deadline(accept_paused_until);
	else
		loop_watch(listen_fd, POLLIN, accept_event, NULL, 0);
	for (i = 0; i < METRICS_MAX_CLIENTS; i++) {
		struct metrics_client *c = &clients[i];

		if (c->state != MC_FREE && now >= c->deadline) {
			if (c->state != MC_LINGER)
				http.timeouts++;
			if (c->state == MC_READING)
				mc_respond(c, 408, 0, METRICS_PAGE_PROMETHEUS, now);
			else
				mc_close(c);
		}
		if (c->state == MC_FREE)
			continue;
		loop_deadline(c->deadline);
		loop_watch(c->fd, c->state == MC_WRITING ? POLLOUT : POLLIN, client_event, c, c->gen);
	}
}

size_t
metrics_memory(const struct conf *cf)
{
	return cf->metrics.addrlen != 0 ? METRICS_MAX_CLIENTS * sizeof(struct metrics_client) : 0;
}

unsigned
metrics_max_fds(const struct conf *cf)
{
	return cf->metrics.addrlen != 0 ? 1 + METRICS_MAX_CLIENTS : 0;
}

unsigned
metrics_port(void)
{
	return bound_port;
}

int
metrics_init(const struct conf *cf, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	unsigned i;

	conf = cf;
	memset(&http, 0, sizeof(http));
	accept_paused_until = 0;
	if (cf->metrics.addrlen == 0)
		return 0;
	clients = calloc(METRICS_MAX_CLIENTS, sizeof(*clients));
	if (clients == NULL) {
		snprintf(err, errlen, "--metrics: out of memory");
		return -1;
	}
	for (i = 0; i < METRICS_MAX_CLIENTS; i++)
		clients[i].fd = -1;
	listen_fd = port_socket(cf->metrics.addr.ss_family, SOCK_STREAM);
	if (listen_fd == -1) {
		snprintf(err, errlen, "--metrics %s: socket: %s", cf->metrics.text, strerror(errno));
		return -1;
	}
	port_listen_opts(listen_fd, cf->metrics.addr.ss_family);
	if (bind(listen_fd, (const struct sockaddr *)&cf->metrics.addr, cf->metrics.addrlen) == -1 ||
	    listen(listen_fd, 2 * METRICS_MAX_CLIENTS) == -1 ||
	    getsockname(listen_fd, (struct sockaddr *)&ss, &sslen) == -1) {
		snprintf(err, errlen, "--metrics %s: %s", cf->metrics.text, strerror(errno));
		close(listen_fd);
		listen_fd = -1;
		return -1;
	}
	bound_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
	    ((struct sockaddr_in *)&ss)->sin_port);
	return 0;
}

void
metrics_stop(void)
{
	unsigned i;

	if (listen_fd != -1)
		close(listen_fd);
	listen_fd = -1;
	bound_port = 0;
	for (i = 0; clients != NULL && i < METRICS_MAX_CLIENTS; i++)
		if (clients[i].state != MC_FREE)
			mc_close(&clients[i]);
	free(clients);
	clients = NULL;
}

#else /* !FEATURE_METRICS: a build without the endpoint (DTP_NO_METRICS).
       * conf.c refuses --metrics, so nothing is ever served; these keep the
       * callers as they are. */

void
metrics_set_sources(const struct metrics_sources *src)
{
	(void)src;
}

void
metrics_snapshot(struct metrics_snapshot *s, uint64_t now)
{
	(void)now;
	memset(s, 0, sizeof(*s));
}

size_t
metrics_render(enum metrics_page page, const struct metrics_snapshot *s,
    struct metrics_cursor *cur, char *buf, size_t cap)
{
	(void)page, (void)s, (void)cur, (void)buf, (void)cap;
	return 0;
}

size_t
metrics_render_length(enum metrics_page page, const struct metrics_snapshot *s)
{
	(void)page, (void)s;
	return 0;
}

int
metrics_http_parse(const char *buf, size_t len, struct metrics_request *req)
{
	(void)buf;
	memset(req, 0, sizeof(*req));
	req->status = 404;
	req->used = len;
	return 1;
}

int
metrics_init(const struct conf *cf, char *err, size_t errlen)
{
	if (cf->metrics.addrlen == 0)
		return 0;
	snprintf(err, errlen, "--metrics: " FEATURE_MISSING, "metrics endpoint", "DTP_NO_METRICS");
	return -1;
}

size_t
metrics_memory(const struct conf *cf)
{
	(void)cf;
	return 0;
}

unsigned
metrics_max_fds(const struct conf *cf)
{
	(void)cf;
	return 0;
}

unsigned
metrics_port(void)
{
	return 0;
}

void
metrics_prepare(uint64_t now)
{
	(void)now;
}

void
metrics_stop(void)
{
}

#endif
