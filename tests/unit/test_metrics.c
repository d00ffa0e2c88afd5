/* SPDX-License-Identifier: MIT */
/* The metrics endpoint (metrics.c): the request parser case by case, the
 * two pages rendered whole and in chunks of every size, the Prometheus page
 * checked by promtool and the JSON page by Python's parser, and the server
 * over real sockets in the poll loop: one answer per connection, errors,
 * pipelined garbage, the client limit, and every state's deadline (with
 * the loop's clock moved forward rather than waited for). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bounds.h"
#include "conf.h"
#include "loop.h"
#include "metrics.h"
#include "port.h"
#include "stats.h"
#include "metrics_golden.h"
#include "unit.h"
#include "version.h"

#define CHECK_STR(got, want) \
	CHECK(strcmp((got), (want)) == 0, "got  \"%s\"\n     want \"%s\"", (got), (want))

/* ---- Parser ------------------------------------------------------------ */

struct parse_case {
	const char *text;
	int status;              /* 0: needs more */
	int page;                /* for 200 */
	int head_only;
};

#define H11 " HTTP/1.1\r\nHost: x\r\n"

static const struct parse_case parse_cases[] = {
	{ "GET /metrics" H11 "\r\n", 200, METRICS_PAGE_PROMETHEUS, 0 },
	{ "GET /stats.json" H11 "User-Agent: curl/7.88\r\nAccept: */*\r\n\r\n", 200, METRICS_PAGE_JSON, 0 },
	{ "HEAD /metrics" H11 "\r\n", 200, METRICS_PAGE_PROMETHEUS, 1 },
	{ "GET /metrics?name[]=x HTTP/1.1\r\nhOsT:x\r\n\r\n", 200, METRICS_PAGE_PROMETHEUS, 0 },
	{ "GET /stats.json HTTP/1.0\r\n\r\n", 200, METRICS_PAGE_JSON, 0 },
	{ "GET /metrics HTTP/1.1\nHost: x\n\n", 200, METRICS_PAGE_PROMETHEUS, 0 },
	{ "\r\n\r\nGET /metrics" H11 "\r\n", 200, METRICS_PAGE_PROMETHEUS, 0 },
	{ "GET /metrics" H11 "Content-Length: 0\r\n\r\n", 200, METRICS_PAGE_PROMETHEUS, 0 },
	{ "GET /metrics" H11 "X-Empty:\r\nX-Blank:   \r\nX-Latin: caf\xc3\xa9\r\n\r\n", 200,
	  METRICS_PAGE_PROMETHEUS, 0 },
	/* Prometheus 2.42's scrape, as sent. */
	{ "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9153\r\nUser-Agent: Prometheus/2.42.0\r\n"
	  "Accept: application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
	  "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n"
	  "Accept-Encoding: gzip\r\nX-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n", 200,
	  METRICS_PAGE_PROMETHEUS, 0 },
	/* Another path, method, version. */
	{ "GET /" H11 "\r\n", 404, 0, 0 },
	{ "GET /metricsx" H11 "\r\n", 404, 0, 0 },
	{ "GET /Metrics" H11 "\r\n", 404, 0, 0 },
	{ "GET /metrics/" H11 "\r\n", 404, 0, 0 },
	{ "GET /%6detrics" H11 "\r\n", 404, 0, 0 },
	{ "POST /metrics" H11 "Content-Length: 3\r\n\r\n", 405, 0, 0 },
	{ "OPTIONS /metrics" H11 "\r\n", 405, 0, 0 },
	{ "get /metrics" H11 "\r\n", 405, 0, 0 },
	{ "ABCDEFGHIJKLMNOPQ", 405, 0, 0 },
	{ "GET /metrics HTTP/2.0\r\n\r\n", 505, 0, 0 },
	{ "GET /metrics HTTP/0.9\r\n\r\n", 505, 0, 0 },
	/* A body. */
	{ "GET /metrics" H11 "Content-Length: 5\r\n\r\n", 413, 0, 0 },
	{ "GET /metrics" H11 "Transfer-Encoding: chunked\r\n\r\n", 413, 0, 0 },
	{ "GET /metrics" H11 "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, 0, 0 },
	{ "GET /metrics" H11 "Content-Length: 0\r\nContent-Length: 0\r\n\r\n", 400, 0, 0 },
	{ "GET /metrics" H11 "Content-Length: 5a\r\n\r\n", 400, 0, 0 },
	{ "GET /metrics" H11 "Content-Length: -1\r\n\r\n", 400, 0, 0 },
	{ "GET /metrics" H11 "Content-Length:\r\n\r\n", 400, 0, 0 },
	/* Host: exactly one in HTTP/1.1, at most one in 1.0. */
	{ "GET /metrics HTTP/1.1\r\n\r\n", 400, 0, 0 },
	{ "GET /metrics" H11 "Host: y\r\n\r\n", 400, 0, 0 },
	{ "GET /metrics HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400, 0, 0 },
	/* Malformed request lines, detected as soon as the bytes show it. */
	{ "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400, 0, 0 },
	{ "GET /metrics\r\n", 400, 0, 0 },
	{ "GET  /metrics HTTP/1.1\r\n", 400, 0, 0 },
	{ "GET metrics HTTP/1.1\r\n", 400, 0, 0 },
	{ "GET http://x/metrics HTTP/1.1\r\n", 400, 0, 0 },
	{ "GET * HTTP/1.1\r\n", 400, 0, 0 },
	{ "GET /metrics http/1.1\r\n", 400, 0, 0 },
	{ "GET /metrics HTTP/1.1 \r\n", 400, 0, 0 },
	{ "GET /metrics HTTP/1.10\r\n", 400, 0, 0 },
	{ "GET /met\x01rics HTTP/1.1\r\n", 400, 0, 0 },
	{ "GET /m\xc3\xa9trics HTTP/1.1\r\n", 400, 0, 0 },
	{ " GET /metrics HTTP/1.1\r\n", 400, 0, 0 },
	{ "\rGET /metrics HTTP/1.1\r\n", 400, 0, 0 },
	{ "GET /metrics HTTP/1.1\rHost: x\r\n\r\n", 400, 0, 0 },
	/* Malformed header fields. */
	{ "GET /metrics" H11 "Bad : x\r\n\r\n", 400, 0, 0 },
	{ "GET /metrics" H11 "X-A: 1\r\n folded\r\n\r\n", 400, 0, 0 },
	{ "GET /metrics HTTP/1.1\r\n Host: x\r\n\r\n", 400, 0, 0 },
	{ "GET /metrics" H11 "NoColon\r\n\r\n", 400, 0, 0 },
	{ "GET /metrics" H11 ": empty name\r\n\r\n", 400, 0, 0 },
	{ "GET /metrics" H11 "X-A: a\rz\r\n\r\n", 400, 0, 0 },
	{ "GET /metrics" H11 "X-A: a\x7fz\r\n\r\n", 400, 0, 0 },
	{ "GET /metrics" H11 "X(A): z\r\n\r\n", 400, 0, 0 },
	{ "GET /metrics" H11 "\r\r\n", 400, 0, 0 },
	/* Not yet whole. */
	{ "", 0, 0, 0 },
	{ "\r", 0, 0, 0 },
	{ "\r\n", 0, 0, 0 },
	{ "GET", 0, 0, 0 },
	{ "GET /metrics HTTP/1.1", 0, 0, 0 },
	{ "GET /metrics HTTP/1.1\r", 0, 0, 0 },
	{ "GET /metrics" H11, 0, 0, 0 },
	{ "GET /metrics" H11 "\r", 0, 0, 0 },
	{ "POST /metrics" H11, 0, 0, 0 },
	{ "GET /nowhere" H11, 0, 0, 0 },
};

static void
test_parse_cases(void)
{
	size_t i;

	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];
		struct metrics_request req;
		size_t len = strlen(c->text);
		int r;

		r = metrics_http_parse(c->text, len, &req);
		if (c->status == 0) {
			CHECK(r == 0, "case %zu \"%s\": status %d, want more", i, c->text, req.status);
			continue;
		}
		CHECK(r == 1 && req.status == c->status, "case %zu \"%s\": r %d status %d, want %d", i,
		    c->text, r, req.status, c->status);
		if (c->status == 200)
			CHECK(req.page == (enum metrics_page)c->page && req.head_only == c->head_only &&
			    req.used == len, "case %zu \"%s\": page %d head %d used %zu", i, c->text,
			    req.page, req.head_only, req.used);
	}
}

/* A NUL inside a header value (the table above cannot hold one). */
static void
test_parse_nul(void)
{
	static const char text[] = "GET /metrics" H11 "X-A: a\0z\r\n\r\n";
	struct metrics_request req;

	CHECK(metrics_http_parse(text, sizeof(text) - 1, &req) == 1 && req.status == 400,
	    "a NUL in a value: %d", req.status);
}

/* Every strict prefix of a good request asks for more; bytes after it
 * (pipelining, garbage) do not change the answer and are not taken. */
static void
test_parse_prefixes_and_pipelining(void)
{
	static const char req1[] = "GET /metrics" H11 "Accept: text/plain\r\n\r\n";
	char buf[512];
	struct metrics_request req;
	size_t i, n = sizeof(req1) - 1;

	for (i = 0; i < n; i++)
		CHECK(metrics_http_parse(req1, i, &req) == 0, "prefix of %zu: status %d", i, req.status);
	snprintf(buf, sizeof(buf), "%sGET /stats.json" H11 "\r\n\x16\x03garbage\r\n\r\n", req1);
	CHECK(metrics_http_parse(buf, strlen(buf), &req) == 1 && req.status == 200 &&
	    req.page == METRICS_PAGE_PROMETHEUS && req.used == n, "pipelined: %d page %d used %zu",
	    req.status, req.page, req.used);
}

static void
test_parse_limits(void)
{
	char buf[METRICS_REQ_MAX + 64];
	struct metrics_request req;
	size_t n;
	int i;

	/* A request line over METRICS_REQ_LINE_MAX: 414, without waiting for
	 * the rest; at the limit, fine. */
	n = (size_t)snprintf(buf, sizeof(buf), "GET /");
	memset(buf + n, 'a', METRICS_REQ_LINE_MAX);
	n += METRICS_REQ_LINE_MAX;
	CHECK(metrics_http_parse(buf, n, &req) == 1 && req.status == 414, "long target: %d", req.status);
	n = (size_t)snprintf(buf, sizeof(buf), "GET /metrics?");
	memset(buf + n, 'a', METRICS_REQ_LINE_MAX - n);
	n = METRICS_REQ_LINE_MAX;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, H11 "\r\n");
	CHECK(metrics_http_parse(buf, n, &req) == 1 && req.status == 200, "target at the limit: %d",
	    req.status);
	/* A header line over METRICS_HEADER_LINE_MAX: 431. */
	n = (size_t)snprintf(buf, sizeof(buf), "GET /metrics" H11 "X-Long: ");
	memset(buf + n, 'v', METRICS_HEADER_LINE_MAX);
	n += METRICS_HEADER_LINE_MAX;
	CHECK(metrics_http_parse(buf, n, &req) == 1 && req.status == 431, "long field: %d", req.status);
	n = (size_t)snprintf(buf, sizeof(buf), "GET /metrics" H11 "X-");
	memset(buf + n, 'n', METRICS_HEADER_LINE_MAX);
	n += METRICS_HEADER_LINE_MAX;
	CHECK(metrics_http_parse(buf, n, &req) == 1 && req.status == 431, "long name: %d", req.status);
	/* More than METRICS_HEADERS_MAX fields: 431; exactly that many: fine. */
	n = (size_t)snprintf(buf, sizeof(buf), "GET /metrics HTTP/1.1\r\nHost: x\r\n");
	for (i = 1; i < METRICS_HEADERS_MAX; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X-%d: %d\r\n", i, i);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\r\n");
	CHECK(metrics_http_parse(buf, n, &req) == 1 && req.status == 200, "%d fields: %d",
	    METRICS_HEADERS_MAX, req.status);
	n -= 2;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X-Over: 1\r\n\r\n");
	CHECK(metrics_http_parse(buf, n, &req) == 1 && req.status == 431, "too many fields: %d",
	    req.status);
	/* A head that fills the buffer without ending: 431. */
	n = (size_t)snprintf(buf, sizeof(buf), "GET /metrics HTTP/1.1\r\nHost: x\r\n");
	for (i = 0; n < METRICS_REQ_MAX; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X-%d: %0200d\r\n", i, i);
	CHECK(metrics_http_parse(buf, METRICS_REQ_MAX - 1, &req) == 0, "just under: %d", req.status);
	CHECK(metrics_http_parse(buf, METRICS_REQ_MAX, &req) == 1 && req.status == 431,
	    "a full buffer: %d", req.status);
	/* Empty lines alone, as many as fill it. */
	memset(buf, '\n', METRICS_REQ_MAX);
	CHECK(metrics_http_parse(buf, METRICS_REQ_MAX - 1, &req) == 0, "empty lines: %d", req.status);
	CHECK(metrics_http_parse(buf, METRICS_REQ_MAX, &req) == 1 && req.status == 431,
	    "empty lines filling it: %d", req.status);
}

/* ---- Rendering --------------------------------------------------------- */

static void
fill_snapshot(struct metrics_snapshot *s, unsigned ns_count, int max)
{
	static const char *const names[] = {
		"1.1.1.1:853:cloudflare-dns.com", "[2620:fe::fe]:853:dns.quad9.net",
		"9.9.9.9:853:dns.quad9.net",
	};
	unsigned i;

	memset(s, 0, sizeof(*s));
	s->uptime_us = 3723500000ull;
	s->inflight = 7;
	s->st.udp.requests = 1000;
	s->st.udp.answered = 990;
	s->st.udp.latency_us = 12345678;
	s->st.tcp.requests = 20;
	s->st.tcp.answered = 20;
	s->st.tcp.latency_us = 400000;
	s->st.servfail = 11;
	s->st.send_errors = 26;
	stats_hist_add(&s->st.latency, 100);
	stats_hist_add(&s->st.latency, 700);
	stats_hist_add(&s->st.latency, 12000);
	stats_hist_add(&s->st.latency, 12000);
	stats_hist_add(&s->st.latency, 9000000);
	s->http.served = 3;
	s->http.refused = 1;
	s->xfr.started = 5;
	s->xfr.completed = 4;
	s->xfr.failed = 1;
	s->xfr.refused = 2;
	s->xfr.messages = 9;
	s->xfr.bytes = 123456;
	s->ns_count = ns_count;
	for (i = 0; i < ns_count; i++) {
		struct metrics_ns *ns = &s->ns[i];

		if (max) {
			memset(ns->name, 'x', sizeof(ns->name) - 1);
			ns->name[0] = '"';
			ns->name[1] = '\\';
			ns->name[2] = '\n';
			ns->name[sizeof(ns->name) - 1] = '\0';
			ns->name[sizeof(ns->name) - 2] = (char)('a' + i);
		} else {
			snprintf(ns->name, sizeof(ns->name), "%s", names[i % 3]);
		}
		ns->state = (enum metrics_ns_state)(i % METRICS_NS_STATES);
		ns->queries = max ? UINT64_MAX : 100 + i;
		ns->answers = max ? UINT64_MAX : 90 + i;
		ns->failures = 2;
		ns->auth_failures = max ? UINT64_MAX : 0;
		ns->timeouts = 3;
		ns->reconnects = 4;
		ns->handshakes = 5;
		ns->resumed = 6;
		ns->bad_answers = 7;
		ns->inflight = max ? UINT32_MAX : 8;
		ns->connections = 2;
		ns->srtt_us = i == 1 ? 0 : max ? UINT32_MAX : 23456;
	}
	if (max) {
		s->st.udp.requests = UINT64_MAX;
		s->st.udp.latency_us = UINT64_MAX;
		s->st.latency.sum_us = UINT64_MAX;
		s->uptime_us = UINT64_MAX;
	}
	s->cache_count = 2;
	s->cache[0].name = "hits_total";
	s->cache[0].help = "Answers from the cache, with a \\ and\na line break.";
	s->cache[0].counter = 1;
	s->cache[0].value = 42;
	s->cache[1].name = "entries";
	s->cache[1].help = "Entries held.";
	s->cache[1].value = 17;
}

static char page_buf[1 << 20];

static size_t
render_all(enum metrics_page page, const struct metrics_snapshot *s, size_t chunk)
{
	struct metrics_cursor cur = { 0, 0 };
	size_t n = 0, got;

	while (n + chunk < sizeof(page_buf) &&
	    (got = metrics_render(page, s, &cur, page_buf + n, chunk)) > 0)
		n += got;
	page_buf[n] = '\0';
	return n;
}

static void
test_render_prometheus(void)
{
	static struct metrics_snapshot s;
	static const char *const want[] = {
		"# HELP dns_tls_proxy_build_info The running version.\n"
		"# TYPE dns_tls_proxy_build_info gauge\n"
		"dns_tls_proxy_build_info{version=\"" DNS_TLS_PROXY_VERSION "\"} 1\n",
		"\ndns_tls_proxy_uptime_seconds 3723.5\n",
		"\ndns_tls_proxy_requests_total{listener=\"udp\"} 1000\n"
		"dns_tls_proxy_requests_total{listener=\"tcp\"} 20\n",
		"\ndns_tls_proxy_answers_total{listener=\"udp\"} 990\n",
		"\ndns_tls_proxy_answer_seconds_total{listener=\"udp\"} 12.345678\n"
		"dns_tls_proxy_answer_seconds_total{listener=\"tcp\"} 0.4\n",
		"\ndns_tls_proxy_queries_in_flight 7\n",
		"# TYPE dns_tls_proxy_servfail_total counter\ndns_tls_proxy_servfail_total 11\n",
		"\ndns_tls_proxy_send_errors_total 26\n",
		"# TYPE dns_tls_proxy_answer_duration_seconds histogram\n"
		"dns_tls_proxy_answer_duration_seconds_bucket{le=\"0.00025\"} 1\n"
		"dns_tls_proxy_answer_duration_seconds_bucket{le=\"0.0005\"} 1\n"
		"dns_tls_proxy_answer_duration_seconds_bucket{le=\"0.001\"} 2\n",
		"dns_tls_proxy_answer_duration_seconds_bucket{le=\"0.01\"} 2\n"
		"dns_tls_proxy_answer_duration_seconds_bucket{le=\"0.025\"} 4\n",
		"dns_tls_proxy_answer_duration_seconds_bucket{le=\"5\"} 4\n"
		"dns_tls_proxy_answer_duration_seconds_bucket{le=\"+Inf\"} 5\n"
		"dns_tls_proxy_answer_duration_seconds_sum 9.0248\n"
		"dns_tls_proxy_answer_duration_seconds_count 5\n",
		"# TYPE dns_tls_proxy_nameserver_queries_total counter\n"
		"dns_tls_proxy_nameserver_queries_total{nameserver=\"1.1.1.1:853:cloudflare-dns.com\"} 100\n"
		"dns_tls_proxy_nameserver_queries_total{nameserver=\"[2620:fe::fe]:853:dns.quad9.net\"} 101\n",
		"dns_tls_proxy_nameserver_resumptions_total{nameserver=\"9.9.9.9:853:dns.quad9.net\"} 6\n",
		"dns_tls_proxy_nameserver_srtt_seconds{nameserver=\"1.1.1.1:853:cloudflare-dns.com\"} 0.023456\n"
		"dns_tls_proxy_nameserver_srtt_seconds{nameserver=\"9.9.9.9:853:dns.quad9.net\"} 0.023456\n",
		"dns_tls_proxy_nameserver_state{nameserver=\"[2620:fe::fe]:853:dns.quad9.net\",state=\"idle\"} 0\n"
		"dns_tls_proxy_nameserver_state{nameserver=\"[2620:fe::fe]:853:dns.quad9.net\",state=\"connecting\"} 1\n"
		"dns_tls_proxy_nameserver_state{nameserver=\"[2620:fe::fe]:853:dns.quad9.net\",state=\"up\"} 0\n",
		"# HELP dns_tls_proxy_cache_hits_total Answers from the cache, with a \\\\ and\\na line break.\n"
		"# TYPE dns_tls_proxy_cache_hits_total counter\ndns_tls_proxy_cache_hits_total 42\n"
		"# HELP dns_tls_proxy_cache_entries Entries held.\n"
		"# TYPE dns_tls_proxy_cache_entries gauge\ndns_tls_proxy_cache_entries 17\n",
		"dns_tls_proxy_metrics_requests_total{result=\"served\"} 3\n"
		"dns_tls_proxy_metrics_requests_total{result=\"error\"} 0\n"
		"dns_tls_proxy_metrics_requests_total{result=\"refused\"} 1\n",
	};
	size_t i, n;

	fill_snapshot(&s, 3, 0);
	n = render_all(METRICS_PAGE_PROMETHEUS, &s, 65536);
	CHECK_EQ_INT(n, metrics_render_length(METRICS_PAGE_PROMETHEUS, &s));
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		CHECK(strstr(page_buf, want[i]) != NULL, "missing:\n%s", want[i]);
	/* An unmeasured nameserver has no srtt sample. */
	CHECK(strstr(page_buf, "srtt_seconds{nameserver=\"[2620") == NULL, "srtt for unmeasured");
	/* Every line a comment or a sample; each family's HELP before its TYPE. */
	CHECK(n > 0 && page_buf[n - 1] == '\n', "no final newline");
	CHECK(strstr(page_buf, "\n\n") == NULL, "empty line");
}

static void
test_render_json(void)
{
	static struct metrics_snapshot s;
	static const char *const want[] = {
		("{\"version\":\"" DNS_TLS_PROXY_VERSION "\",\"uptime_seconds\":3723.5,"
		"\"queries_in_flight\":7,\"listeners\":{\"udp\":{\"requests\":1000,\"answered\":990,"
		"\"answer_seconds\":12.345678},\"tcp\":{\"requests\":20,\"answered\":20,"
		"\"answer_seconds\":0.4}},\"errors\":{\"servfail\":11,\"timeouts\":0,"),
		"\"send_errors\":26},\"answer_duration\":{\"buckets\":[{\"le\":\"0.00025\",\"count\":1},",
		"{\"le\":\"+Inf\",\"count\":5}],\"sum_seconds\":9.0248,\"count\":5},\"nameservers\":[",
		("{\"nameserver\":\"1.1.1.1:853:cloudflare-dns.com\",\"state\":\"idle\",\"queries\":100,"
		"\"answers\":90,\"failures\":2,\"auth_failures\":0,\"timeouts\":3,\"reconnects\":4,"
		"\"handshakes\":5,\"resumed\":6,\"bad_answers\":7,\"inflight\":8,\"connections\":2,"
		"\"srtt_seconds\":0.023456},"),
		"\"state\":\"connecting\"",
		"\"srtt_seconds\":null}",
		("],\"cache\":{\"hits_total\":42,\"entries\":17},\"transfers\":{\"started\":5,"
		"\"completed\":4,\"failed\":1,\"refused\":2,\"truncated\":0,\"busy\":0,\"messages\":9,"
		"\"bytes\":123456},\"metrics_requests\":{\"served\":3,\"error\":0,\"refused\":1,"
		"\"timeout\":0}}\n"),
	};
	size_t i, n;

	fill_snapshot(&s, 3, 0);
	n = render_all(METRICS_PAGE_JSON, &s, 65536);
	CHECK_EQ_INT(n, metrics_render_length(METRICS_PAGE_JSON, &s));
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		CHECK(strstr(page_buf, want[i]) != NULL, "missing:\n%s\nin\n%s", want[i], page_buf);
	/* No nameservers, no cache: still one JSON object. */
	s.ns_count = 0;
	s.cache_count = 0;
	render_all(METRICS_PAGE_JSON, &s, 65536);
	CHECK(strstr(page_buf, "\"nameservers\":[],\"transfers\":{") != NULL, "%s", page_buf);
}

/* Both pages whole, against the golden text (metrics_golden.h): every
 * name, help text, label, value and separator as scrapers read them. */
static void
test_render_golden(void)
{
	static struct metrics_snapshot s;
	size_t n, i;

	fill_snapshot(&s, 3, 0);
	n = render_all(METRICS_PAGE_PROMETHEUS, &s, 65536);
	for (i = 0; i < n && page_buf[i] == golden_prometheus[i]; i++)
		;
	CHECK(strcmp(page_buf, golden_prometheus) == 0, "Prometheus page differs at byte %zu:\n%.200s",
	    i, page_buf + (i > 60 ? i - 60 : 0));
	n = render_all(METRICS_PAGE_JSON, &s, 65536);
	for (i = 0; i < n && page_buf[i] == golden_json[i]; i++)
		;
	CHECK(strcmp(page_buf, golden_json) == 0, "JSON page differs at byte %zu:\n%.200s", i,
	    page_buf + (i > 60 ? i - 60 : 0));
}

/* The same bytes whatever the chunk size, for both pages and the largest
 * snapshot (16 nameservers, longest names with characters to escape,
 * largest numbers). */
static void
test_render_chunks(void)
{
	static struct metrics_snapshot s;
	static char whole[1 << 18];
	static const size_t chunks[] = { 1, 2, 7, 100, 1023, 4096 - 320, 65536 };
	int page, max;
	size_t i, n, len;

	for (max = 0; max < 2; max++) {
		fill_snapshot(&s, max ? MAX_NAMESERVERS : 3, max);
		for (page = 0; page < 2; page++) {
			len = metrics_render_length((enum metrics_page)page, &s);
			CHECK(len < sizeof(whole), "page %d of %zu bytes", page, len);
			n = render_all((enum metrics_page)page, &s, 65536);
			CHECK_EQ_INT(n, len);
			memcpy(whole, page_buf, n + 1);
			for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
				n = render_all((enum metrics_page)page, &s, chunks[i]);
				CHECK(n == len && memcmp(page_buf, whole, n) == 0,
				    "page %d max %d in chunks of %zu: %zu bytes, differ", page, max,
				    chunks[i], n);
			}
		}
	}
	/* The largest page, as a reference for the buffer sizes in bounds.h. */
	CHECK(len < 128 * 1024, "largest JSON page %zu bytes", len);
}

/* Run a command with text on its standard input; its exit status, and
 * what it printed in out. */
static int
pipe_through(const char *cmd, const char *text, size_t len, char *out, size_t outlen)
{
	char path[] = "/tmp/dtp-metrics-XXXXXX", line[512];
	FILE *p;
	int fd = mkstemp(path), status;
	size_t n = 0;

	out[0] = '\0';
	if (fd == -1 || write(fd, text, len) != (ssize_t)len) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	close(fd);
	snprintf(line, sizeof(line), "%s <%s 2>&1", cmd, path);
	if ((p = popen(line, "r")) == NULL) {
		unlink(path);
		return -1;
	}
	while (n + 1 < outlen && fgets(out + n, (int)(outlen - n), p) != NULL)
		n += strlen(out + n);
	status = pclose(p);
	unlink(path);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* promtool (Debian package prometheus) reads and lints the Prometheus page;
 * Python's json module reads the JSON page. */
static void
test_render_checked_by_promtool(void)
{
	static struct metrics_snapshot s;
	char out[4096];
	int max, rc;
	size_t n;

	if (system("command -v promtool >/dev/null 2>&1") != 0) {
		unit_fail(__FILE__, __LINE__, "promtool not found (apt-get install prometheus)");
		return;
	}
	for (max = 0; max < 2; max++) {
		fill_snapshot(&s, max ? MAX_NAMESERVERS : 3, max);
		n = render_all(METRICS_PAGE_PROMETHEUS, &s, 4096);
		rc = pipe_through("promtool check metrics", page_buf, n, out, sizeof(out));
		CHECK(rc == 0 && out[0] == '\0', "promtool check metrics (max %d): exit %d\n%s", max,
		    rc, out);
		n = render_all(METRICS_PAGE_JSON, &s, 4096);
		rc = pipe_through("python3 -c 'import json, sys; json.load(sys.stdin)'", page_buf, n,
		    out, sizeof(out));
		CHECK(rc == 0, "JSON page (max %d) does not parse: %s", max, out);
	}
	/* A broken page is caught: the check can fail. */
	rc = pipe_through("promtool check metrics", "dns_tls_proxy_x_total{a=\"b} 1\n", 30, out,
	    sizeof(out));
	CHECK(rc != 0, "promtool took a broken page");
}

/* ---- Server ------------------------------------------------------------ */

static struct conf server_conf;
static uint64_t clock_skew; /* added to the clock metrics_prepare sees */

static void
turn(void)
{
	uint64_t now = port_now_us() + clock_skew;

	loop_begin(now);
	metrics_prepare(now);
	/* Wait at most 10 ms: the clients are in this process. */
	loop_deadline(now + 10000);
	loop_poll();
}

static int
connect_client(void)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)metrics_port());
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		unit_fail(__FILE__, __LINE__, "connect: %s", strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

/* Run turns and read what the server sends until it closes (1), resets
 * (-1), or 2000 turns pass (0). */
static int
read_all(int fd, char *buf, size_t cap, size_t *len)
{
	int i;

	*len = 0;
	for (i = 0; i < 2000; i++) {
		ssize_t n;

		turn();
		while ((n = recv(fd, buf + *len, cap - 1 - *len, 0)) > 0)
			*len += (size_t)n;
		buf[*len] = '\0';
		if (n == 0)
			return 1;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
	}
	return 0;
}

static int
server_start(void)
{
	char err[CONF_ERR_MAX];
	struct sockaddr_in *sin = (struct sockaddr_in *)&server_conf.metrics.addr;

	if (unit_loop_setup() != 0)
		return -1;
	conf_defaults(&server_conf);
	memset(&server_conf.metrics, 0, sizeof(server_conf.metrics));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	server_conf.metrics.addrlen = sizeof(*sin);
	snprintf(server_conf.metrics.text, sizeof(server_conf.metrics.text), "127.0.0.1:0");
	clock_skew = 0;
	if (metrics_init(&server_conf, err, sizeof(err)) != 0) {
		unit_fail(__FILE__, __LINE__, "metrics_init: %s", err);
		return -1;
	}
	CHECK(metrics_port() != 0, "no port");
	return 0;
}

/* Send a request, read the whole answer; its status, and its body in
 * *body (NULL when there is no blank line after the head). */
static int
exchange(const char *request, size_t reqlen, char *buf, size_t cap, char **body, int *closed)
{
	int fd = connect_client(), status = -1;
	size_t len;

	*body = NULL;
	if (fd == -1)
		return -1;
	if (send(fd, request, reqlen, 0) != (ssize_t)reqlen)
		unit_fail(__FILE__, __LINE__, "send: %s", strerror(errno));
	*closed = read_all(fd, buf, cap, &len);
	close(fd);
	if (sscanf(buf, "HTTP/1.1 %d ", &status) != 1)
		return -1;
	if ((*body = strstr(buf, "\r\n\r\n")) != NULL)
		*body += 4;
	return status;
}

static size_t
content_length(const char *head)
{
	const char *p = strstr(head, "\r\nContent-Length: ");

	return p != NULL ? (size_t)strtoul(p + 18, NULL, 10) : (size_t)-1;
}

static void
test_server_answers(void)
{
	static char buf[1 << 17];
	static const char get[] = "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n";
	static const char json[] = "GET /stats.json HTTP/1.0\r\n\r\n";
	static const char head[] = "HEAD /metrics HTTP/1.1\r\nHost: t\r\n\r\n";
	static const char piped[] = "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n"
	    "GET /stats.json HTTP/1.1\r\nHost: t\r\n\r\n\x16\x03\x01garbage garbage garbage";
	static const char tls[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
	char big[METRICS_REQ_MAX + 512], *body;
	int status, closed;
	size_t n;

	if (server_start() != 0)
		return;
	status = exchange(get, sizeof(get) - 1, buf, sizeof(buf), &body, &closed);
	CHECK(status == 200 && closed == 1, "GET /metrics: %d closed %d", status, closed);
	CHECK(body != NULL && strlen(body) == content_length(buf), "Content-Length %zu, body %zu",
	    content_length(buf), body != NULL ? strlen(body) : 0);
	CHECK(strstr(buf, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n") != NULL &&
	    strstr(buf, "\r\nConnection: close\r\n") != NULL, "headers:\n%s", buf);
	CHECK(body != NULL && strncmp(body, "# HELP dns_tls_proxy_build_info", 31) == 0, "body");

	status = exchange(json, sizeof(json) - 1, buf, sizeof(buf), &body, &closed);
	CHECK(status == 200 && closed == 1, "GET /stats.json: %d closed %d", status, closed);
	CHECK(strstr(buf, "\r\nContent-Type: application/json\r\n") != NULL, "type:\n%s", buf);
	CHECK(body != NULL && body[0] == '{' && strlen(body) == content_length(buf), "JSON body");
	/* The second request's counter shows the first. */
	CHECK(body != NULL && strstr(body, "\"metrics_requests\":{\"served\":2,") != NULL,
	    "served count: %s", body != NULL ? body : "");

	status = exchange(head, sizeof(head) - 1, buf, sizeof(buf), &body, &closed);
	CHECK(status == 200 && closed == 1 && body != NULL && *body == '\0' &&
	    content_length(buf) > 100, "HEAD: %d, body \"%.20s\", length %zu", status,
	    body != NULL ? body : "", content_length(buf));

	/* Pipelined requests and garbage: one answer, then a clean close (no
	 * reset under the answer). */
	status = exchange(piped, sizeof(piped) - 1, buf, sizeof(buf), &body, &closed);
	CHECK(status == 200 && closed == 1, "pipelined: %d closed %d", status, closed);
	CHECK(body != NULL && strlen(body) == content_length(buf) && strstr(body, "HTTP/1.1") == NULL,
	    "pipelined: one answer only");

	status = exchange(tls, sizeof(tls) - 1, buf, sizeof(buf), &body, &closed);
	CHECK(status == 400 && closed == 1, "TLS hello: %d closed %d", status, closed);
	CHECK(body != NULL && strcmp(body, "400 Bad Request\n") == 0, "400 body");

	status = exchange("POST /metrics HTTP/1.1\r\nHost: t\r\n\r\n", 36, buf, sizeof(buf), &body,
	    &closed);
	CHECK(status == 405 && strstr(buf, "\r\nAllow: GET, HEAD\r\n") != NULL, "POST: %d", status);
	status = exchange("GET /x HTTP/1.1\r\nHost: t\r\n\r\n", 29, buf, sizeof(buf), &body, &closed);
	CHECK(status == 404 && closed == 1, "GET /x: %d", status);

	/* Huge header fields: 431 once the buffer is full, and the rest of
	 * what was sent does not reset the answer. */
	n = (size_t)snprintf(big, sizeof(big), "GET /metrics HTTP/1.1\r\nHost: t\r\nCookie: ");
	memset(big + n, 'c', sizeof(big) - n);
	status = exchange(big, sizeof(big), buf, sizeof(buf), &body, &closed);
	CHECK(status == 431 && closed == 1, "huge header: %d closed %d", status, closed);
	metrics_stop();
	CHECK_EQ_INT(metrics_port(), 0);
}

/* The listening socket, found by its port: a small send buffer set on it
 * is inherited by the connections it accepts (Linux). */
static int
find_listener(void)
{
	int fd;

	for (fd = 3; fd < 1024; fd++) {
		struct sockaddr_in sin;
		socklen_t len = sizeof(sin), alen;
		int acc = 0;

		alen = sizeof(acc);
		if (getsockname(fd, (struct sockaddr *)&sin, &len) == 0 && sin.sin_family == AF_INET &&
		    ntohs(sin.sin_port) == metrics_port() &&
		    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &alen) == 0 && acc)
			return fd;
	}
	return -1;
}

/* Sixteen nameservers and a cache, so a page is tens of KiB. */
static unsigned
many_nameservers(struct metrics_ns *out, unsigned max, uint64_t now)
{
	unsigned i;

	(void)now;
	for (i = 0; i < max; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		snprintf(out[i].name, sizeof(out[i].name), "192.0.2.%u:853:resolver-%u.example.net", i, i);
		out[i].state = METRICS_NS_UP;
		out[i].queries = 1000 + i;
		out[i].srtt_us = 10000 + i;
	}
	return max;
}

static unsigned
cache_figures(struct metrics_figure *out, unsigned max)
{
	static const struct metrics_figure figs[] = {
		{ "hits_total", "Answers from the cache.", 1, 5 },
		{ "Bad-Name", "Dropped: not a metric name.", 1, 6 },
		{ "entries", "Entries held.", 0, 7 },
		{ "no_help", NULL, 0, 8 },
	};
	unsigned n = max < 4 ? max : 4;

	memcpy(out, figs, n * sizeof(figs[0]));
	return n;
}

/* Read until the answer's head and its Content-Length of body are in. */
static int
read_answer(int fd, char *buf, size_t cap, size_t *len)
{
	int i;

	*len = 0;
	for (i = 0; i < 2000; i++) {
		char *body;
		ssize_t n;

		turn();
		while ((n = recv(fd, buf + *len, cap - 1 - *len, 0)) > 0)
			*len += (size_t)n;
		buf[*len] = '\0';
		if ((body = strstr(buf, "\r\n\r\n")) != NULL &&
		    strlen(body + 4) == content_length(buf))
			return 1;
		if (n == 0)
			return 0;
	}
	return 0;
}

/* More clients than METRICS_MAX_CLIENTS: the one over is closed at once;
 * every state's deadline frees its slot (silent, half a request, an answer
 * not read, a connection left open after its answer); then all are served
 * again. */
static void
test_server_limits_and_deadlines(void)
{
	static char buf[1 << 18];
	static const char get[] = "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n";
	static const struct metrics_sources src = { many_nameservers, cache_figures };
	int fds[METRICS_MAX_CLIENTS], over, lfd, small = 2048, i, r, closed;
	size_t len;
	char *body;

	if (server_start() != 0)
		return;
	metrics_set_sources(&src);
	lfd = find_listener();
	CHECK(lfd != -1 && setsockopt(lfd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)) == 0,
	    "listener's send buffer");
	for (i = 0; i < METRICS_MAX_CLIENTS; i++) {
		if (i == 2) {
			/* This one will not read: a small window, a small buffer. */
			int fd = socket(AF_INET, SOCK_STREAM, 0);
			struct sockaddr_in sin;

			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
			memset(&sin, 0, sizeof(sin));
			sin.sin_family = AF_INET;
			sin.sin_port = htons((uint16_t)metrics_port());
			sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0)
				unit_fail(__FILE__, __LINE__, "connect: %s", strerror(errno));
			fds[i] = fd;
		} else {
			fds[i] = connect_client();
		}
		turn();
	}
	if (send(fds[1], "GET /met", 8, 0) != 8 || send(fds[2], get, sizeof(get) - 1, 0) < 0 ||
	    send(fds[3], get, sizeof(get) - 1, 0) < 0)
		unit_fail(__FILE__, __LINE__, "send");
	r = read_answer(fds[3], buf, sizeof(buf), &len);
	CHECK(r == 1 && strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0 && len > 20000,
	    "the reading client: %d, %zu bytes", r, len);
	/* The sources: 16 nameservers, the cache's well-named figures. */
	CHECK(strstr(buf, "dns_tls_proxy_nameserver_queries_total{nameserver=\"192.0.2.15:853:"
	    "resolver-15.example.net\"} 1015\n") != NULL, "16th nameserver");
	CHECK(strstr(buf, "\ndns_tls_proxy_cache_hits_total 5\n") != NULL &&
	    strstr(buf, "\ndns_tls_proxy_cache_entries 7\n") != NULL &&
	    strstr(buf, "Bad-Name") == NULL && strstr(buf, "no_help") == NULL, "cache figures");
	for (i = 0; i < 20; i++)
		turn();
	over = connect_client();
	r = read_all(over, buf, sizeof(buf), &len);
	CHECK(r != 0 && len == 0, "over the limit: not closed at once (%d, %zu bytes)", r, len);
	close(over);
	/* The silent and the half-request clients have no answer yet. */
	CHECK(recv(fds[0], buf, 16, MSG_DONTWAIT) == -1 && errno == EAGAIN, "silent one answered");
	CHECK(recv(fds[1], buf, 16, MSG_DONTWAIT) == -1 && errno == EAGAIN, "half one answered");
	/* The request timeout: 408 to both. */
	clock_skew = (uint64_t)METRICS_REQUEST_TIMEOUT_MS * 1000;
	for (i = 0; i < 2; i++) {
		r = read_all(fds[i], buf, sizeof(buf), &len);
		CHECK(r == 1 && strncmp(buf, "HTTP/1.1 408 Request Timeout\r\n", 30) == 0,
		    "client %d after the request timeout: %d \"%.40s\"", i, r, buf);
	}
	/* Past the write timeout the non-reading client goes, past the linger
	 * time those that do not close. */
	clock_skew += (uint64_t)(METRICS_WRITE_TIMEOUT_MS + METRICS_LINGER_MS) * 1000;
	for (i = 0; i < 20; i++)
		turn();
	clock_skew = 0;
	for (i = 0; i < METRICS_MAX_CLIENTS; i++)
		close(fds[i]);
	/* Every slot is free again: four clients at once are all served. */
	for (i = 0; i < METRICS_MAX_CLIENTS; i++) {
		fds[i] = connect_client();
		if (send(fds[i], get, sizeof(get) - 1, 0) < 0)
			unit_fail(__FILE__, __LINE__, "send");
	}
	for (i = 0; i < METRICS_MAX_CLIENTS; i++) {
		r = read_all(fds[i], buf, sizeof(buf), &len);
		body = strstr(buf, "\r\n\r\n");
		CHECK(r == 1 && strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0 && body != NULL &&
		    strlen(body + 4) == content_length(buf), "client %d after the deadlines: %d \"%.40s\"",
		    i, r, buf);
		close(fds[i]);
	}
	/* What the endpoint counted: seven served (this one too), the one
	 * refused, two request timeouts and a write timeout. */
	r = exchange("GET /stats.json HTTP/1.0\r\n\r\n", 28, buf, sizeof(buf), &body, &closed);
	CHECK(r == 200 && body != NULL && strstr(body, "\"metrics_requests\":{\"served\":7,"
	    "\"error\":0,\"refused\":1,\"timeout\":3}") != NULL, "counters: %s",
	    body != NULL ? body : buf);
	metrics_set_sources(NULL);
	metrics_stop();
}

/* Off unless --metrics is given. */
static void
test_server_off(void)
{
	struct conf c;
	char err[CONF_ERR_MAX];

	conf_defaults(&c);
	CHECK_EQ_INT(metrics_init(&c, err, sizeof(err)), 0);
	CHECK_EQ_INT(metrics_port(), 0);
	CHECK_EQ_INT(metrics_max_fds(&c), 0);
	CHECK_EQ_INT(metrics_memory(&c), 0);
	metrics_prepare(port_now_us());
	metrics_stop();
}

const struct unit_test metrics_tests[] = {
	{ "metrics_parse_cases", test_parse_cases },
	{ "metrics_parse_nul", test_parse_nul },
	{ "metrics_parse_prefixes_and_pipelining", test_parse_prefixes_and_pipelining },
	{ "metrics_parse_limits", test_parse_limits },
	{ "metrics_render_prometheus", test_render_prometheus },
	{ "metrics_render_json", test_render_json },
	{ "metrics_render_golden", test_render_golden },
	{ "metrics_render_chunks", test_render_chunks },
	{ "metrics_render_checked_by_promtool", test_render_checked_by_promtool },
	{ "metrics_server_answers", test_server_answers },
	{ "metrics_server_limits_and_deadlines", test_server_limits_and_deadlines },
	{ "metrics_server_off", test_server_off },
	{ NULL, NULL },
};
