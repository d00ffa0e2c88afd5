/* SPDX-License-Identifier: MIT */
/* Query-log lines (qlog.c): the fields, dig's escapes in names, and that no
 * name a client can send splits or forges a line. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "bounds.h"
#include "conf.h"
#include "dns.h"
#include "qlog.h"
#include "unit.h"

/* A query: header (ID 0x1234, RD, one question), the name given as
 * length-prefixed labels (wire form without the root), type, class IN. */
static size_t
make_query(uint8_t *buf, const uint8_t *labels, size_t labels_len, uint16_t type)
{
	static const uint8_t header[12] = { 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 };
	size_t n = sizeof(header);

	memcpy(buf, header, n);
	memcpy(buf + n, labels, labels_len);
	n += labels_len;
	buf[n++] = 0;
	dns_put16(buf + n, type);
	dns_put16(buf + n + 2, 1);
	return n + 4;
}

static struct sockaddr_in
v4(const char *ip, uint16_t port)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	inet_pton(AF_INET, ip, &sin.sin_addr);
	return sin;
}

#define CHECK_STR(got, want) \
	CHECK(strcmp((got), (want)) == 0, "got  \"%s\"\n     want \"%s\"", (got), (want))

/* Every byte of the line is printable ASCII: no line break, no control
 * character, nothing a terminal or a log parser takes for something else. */
static int
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

static void
test_fields(void)
{
	static const uint8_t name[] = "\7example\3com";
	struct sockaddr_in sin = v4("192.0.2.7", 53124);
	struct sockaddr_in6 sin6;
	uint8_t q[600];
	char line[QLOG_LINE_MAX];
	struct qlog_entry e;
	size_t n;

	memset(&e, 0, sizeof(e));
	e.client = (const struct sockaddr *)&sin;
	e.query = q;
	e.query_len = make_query(q, name, sizeof(name) - 1, 28);
	e.rcode = DNS_RCODE_NOERROR;
	e.time_us = 12345;
	e.source = QLOG_NAMESERVER;
	e.nameserver = "1.1.1.1:853:cloudflare-dns.com";
	n = qlog_format(line, sizeof(line), &e);
	CHECK_STR(line, "query client=192.0.2.7:53124 proto=udp qname=example.com. qtype=AAAA "
	    "rcode=NOERROR time=12.34ms from=1.1.1.1:853:cloudflare-dns.com");
	CHECK_EQ_INT(n, strlen(line));

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(5353);
	inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr);
	e.client = (const struct sockaddr *)&sin6;
	e.tcp = 1;
	e.query_len = make_query(q, name, sizeof(name) - 1, 65280);
	e.rcode = DNS_RCODE_NXDOMAIN;
	e.time_us = 250;
	e.source = QLOG_CACHE;
	qlog_format(line, sizeof(line), &e);
	CHECK_STR(line, "query client=[2001:db8::1]:5353 proto=tcp qname=example.com. "
	    "qtype=TYPE65280 rcode=NXDOMAIN time=0.25ms from=cache");

	e.client = NULL;
	e.query_len = make_query(q, (const uint8_t *)"", 0, 2);
	e.rcode = 11;
	e.time_us = 3000000;
	e.source = QLOG_STALE;
	qlog_format(line, sizeof(line), &e);
	CHECK_STR(line, "query client=- proto=tcp qname=. qtype=NS rcode=RCODE11 time=3000.00ms "
	    "from=stale");

	/* An answer the proxy made for a query it could not read. */
	e.client = (const struct sockaddr *)&sin;
	e.tcp = 0;
	e.query_len = 5;
	e.rcode = DNS_RCODE_FORMERR;
	e.time_us = 0;
	e.source = QLOG_PROXY;
	qlog_format(line, sizeof(line), &e);
	CHECK_STR(line, "query client=192.0.2.7:53124 proto=udp qname=- qtype=- rcode=FORMERR "
	    "time=0.00ms from=proxy");
	e.source = QLOG_NAMESERVER;
	e.nameserver = NULL;
	qlog_format(line, sizeof(line), &e);
	CHECK(strstr(line, " from=-") != NULL, "no nameserver text: %s", line);
}

static void
test_name_escapes(void)
{
	/* Specials as dig writes them: \. \\ \" \; \( \) \@ \$, a blank and
	 * bytes outside printable ASCII as \DDD. */
	static const uint8_t name[] = "\x0a" "a.b\\c\"d;e(" "\x06" ")@$ \x7f\xc3" "\x03" "com";
	uint8_t q[600];
	char out[4 * DNS_NAME_MAX + 2];
	size_t len = make_query(q, name, sizeof(name) - 1, 1);

	CHECK(qlog_name(out, sizeof(out), q, len) > 0, "name not read");
	CHECK_STR(out, "a\\.b\\\\c\\\"d\\;e\\(.\\)\\@\\$\\032\\127\\195.com.");
	/* Case is kept as sent (0x20 randomisation shows). */
	len = make_query(q, (const uint8_t *)"\3WwW\2Ex", 7, 1);
	qlog_name(out, sizeof(out), q, len);
	CHECK_STR(out, "WwW.Ex.");
}

static void
test_unreadable_names(void)
{
	uint8_t q[600];
	char out[64];
	size_t len = make_query(q, (const uint8_t *)"\3www\2ex", 7, 1);

	/* No question, a header only, a name cut short, a compression
	 * pointer, a reserved label type, a name over 255 bytes. */
	q[5] = 0;
	CHECK_EQ_INT(qlog_name(out, sizeof(out), q, len), 0);
	CHECK_STR(out, "-");
	q[5] = 1;
	CHECK_EQ_INT(qlog_name(out, sizeof(out), q, 12), 0);
	CHECK_EQ_INT(qlog_name(out, sizeof(out), q, 15), 0);
	CHECK_STR(out, "-");
	q[12] = 0xc0;
	CHECK_EQ_INT(qlog_name(out, sizeof(out), q, len), 0);
	q[12] = 0x43;
	CHECK_EQ_INT(qlog_name(out, sizeof(out), q, len), 0);
	{
		uint8_t big[600], labels[300];
		size_t i;

		for (i = 0; i < 5 * 52; i += 52) {
			labels[i] = 51;
			memset(labels + i + 1, 'a', 51);
		}
		len = make_query(big, labels, 5 * 52, 1);
		CHECK_EQ_INT(qlog_name(out, sizeof(out), big, len), 0);
	}
}

/* A query whose name carries a line break and a forged log line: the line
 * stays one line of printable ASCII. */
static void
test_no_forged_lines(void)
{
	static const char forged[] = "\n2030-01-01 00:00:00,000Z - ERROR - upstream: AUTHENTICATION";
	struct sockaddr_in sin = v4("10.0.0.1", 1);
	uint8_t q[600], labels[300];
	char line[QLOG_LINE_MAX];
	struct qlog_entry e;

	labels[0] = (uint8_t)(sizeof(forged) - 1);
	memcpy(labels + 1, forged, sizeof(forged) - 1);
	memset(&e, 0, sizeof(e));
	e.client = (const struct sockaddr *)&sin;
	e.query = q;
	e.query_len = make_query(q, labels, sizeof(forged), 1);
	e.source = QLOG_NAMESERVER;
	e.nameserver = "9.9.9.9:853:dns.quad9.net\r\nWARNING";
	qlog_format(line, sizeof(line), &e);
	CHECK(printable(line), "line has a control character: %s", line);
	CHECK(strstr(line, "qname=\\0102030-01-01\\03200:00:00,000Z\\032-\\032ERROR\\032-\\032"
	    "upstream:\\032AUTHENTICATION. qtype=A") != NULL, "%s", line);
	CHECK(strstr(line, "from=9.9.9.9:853:dns.quad9.net\\013\\010WARNING") != NULL, "%s", line);
}

/* The longest name, every byte escaped, and the longest nameserver text: the
 * whole line fits QLOG_LINE_MAX and a log line; a short buffer cuts it
 * cleanly. */
static void
test_longest_line(void)
{
	struct sockaddr_in6 sin6;
	uint8_t q[600], labels[300];
	char line[QLOG_LINE_MAX], ns[CONF_NAME_MAX + 64], small[40];
	struct qlog_entry e;
	const char *p;
	size_t i, pos = 0, n;

	/* 254 bytes of wire name: three labels of 63 and one of 60, all 0xff. */
	while (pos < 253) {
		size_t l = 253 - pos - 1 < 63 ? 253 - pos - 1 : 63;

		labels[pos] = (uint8_t)l;
		memset(labels + pos + 1, 0xff, l);
		pos += l + 1;
	}
	memset(&sin6, 0xff, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	memset(ns, 'n', sizeof(ns) - 1);
	ns[sizeof(ns) - 1] = '\0';
	memset(&e, 0, sizeof(e));
	e.client = (const struct sockaddr *)&sin6;
	e.query = q;
	e.query_len = make_query(q, labels, pos, 1);
	e.rcode = 15;
	e.time_us = UINT64_MAX;
	e.source = QLOG_NAMESERVER;
	e.nameserver = ns;
	n = qlog_format(line, sizeof(line), &e);
	CHECK(n < sizeof(line) - 1, "line of %zu filled the buffer", n);
	CHECK(n + 64 < LOG_LINE_MAX, "line of %zu does not fit a log line", n);
	CHECK(n >= sizeof(ns) - 1 && strcmp(line + n - (sizeof(ns) - 1), ns) == 0,
	    "the line does not end with the nameserver");
	for (i = 0, p = line; (p = strstr(p, "\\255")) != NULL; p++)
		i++;
	CHECK_EQ_INT(i, 249);
	n = qlog_format(small, sizeof(small), &e);
	CHECK_EQ_INT(n, sizeof(small) - 1);
	CHECK_EQ_INT(strlen(small), sizeof(small) - 1);
}

const struct unit_test qlog_tests[] = {
	{ "qlog_fields", test_fields },
	{ "qlog_name_escapes", test_name_escapes },
	{ "qlog_unreadable_names", test_unreadable_names },
	{ "qlog_no_forged_lines", test_no_forged_lines },
	{ "qlog_longest_line", test_longest_line },
	{ NULL, NULL },
};
