/* SPDX-License-Identifier: MIT */
/* Query-log lines (qlog.h):
 *   query client=192.0.2.7:53124 proto=udp qname=example.com. qtype=AAAA
 *         rcode=NOERROR time=12.34ms from=1.1.1.1:853:cloudflare-dns.com
 * on one line, key=value, values without blanks. The name is escaped as dig
 * prints it; the type and rcode are mnemonics or TYPEnnn / RCODEnn
 * (RFC 3597); the nameserver text, though it comes from the configuration,
 * is escaped the same way. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "dns.h"
#include "feature.h"
#include "qlog.h"

#if FEATURE_QLOG

/* The line's fixed parts are short (200); the name (escaped, four times
 * its length at most) and the nameserver's text (320 at most, conf.h) are
 * the long ones. */
_Static_assert(QLOG_LINE_MAX >= 4 * DNS_NAME_MAX + 320 + 200, "QLOG_LINE_MAX too small");
_Static_assert(LOG_LINE_MAX >= QLOG_LINE_MAX + 64, "LOG_LINE_MAX cannot hold a query-log line");

struct out {
	char *buf;
	size_t cap, len; /* len < cap: buf[len] is always the NUL */
};

static void
put(struct out *o, const char *s, size_t n)
{
	if (n > o->cap - 1 - o->len)
		n = o->cap - 1 - o->len;
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void
puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* One byte as dig writes it in a label: specials behind a backslash,
 * anything outside printable ASCII (and the blank) as \DDD. */
static void
put_escaped(struct out *o, uint8_t c, int in_name)
{
	char e[5];

	if (c <= 0x20 || c >= 0x7f) {
		snprintf(e, sizeof(e), "\\%03u", c);
		put(o, e, 4);
	} else if (c == '\\' || c == '"' || (in_name && (c == '.' || c == ';' || c == '(' ||
	    c == ')' || c == '@' || c == '$'))) {
		e[0] = '\\';
		e[1] = (char)c;
		put(o, e, 2);
	} else {
		e[0] = (char)c;
		put(o, e, 1);
	}
}

size_t
qlog_name(char *buf, size_t cap, const uint8_t *msg, size_t len)
{
	struct out o = { buf, cap, 0 };
	size_t pos = DNS_HEADER_LEN, total = 0;

	buf[0] = '\0';
	if (len < DNS_HEADER_LEN || dns_get16(msg + 4) == 0)
		goto unreadable;
	for (;;) {
		size_t n, i;

		if (pos >= len || (msg[pos] & 0xc0) != 0)
			goto unreadable; /* past the end, or compression in a question */
		n = msg[pos];
		total += n + 1;
		if (total > DNS_NAME_MAX || pos + 1 + n > len)
			goto unreadable;
		if (n == 0)
			break;
		for (i = 0; i < n; i++)
			put_escaped(&o, msg[pos + 1 + i], 1);
		puts_(&o, ".");
		pos += 1 + n;
	}
	if (o.len == 0)
		puts_(&o, ".");
	return o.len;
unreadable:
	o.len = 0;
	puts_(&o, "-");
	return 0;
}

static const struct {
	uint16_t type;
	const char *name;
} type_names[] = {
	{ 1, "A" }, { 2, "NS" }, { 5, "CNAME" }, { 6, "SOA" }, { 12, "PTR" }, { 13, "HINFO" },
	{ 15, "MX" }, { 16, "TXT" }, { 28, "AAAA" }, { 29, "LOC" }, { 33, "SRV" },
	{ 35, "NAPTR" }, { 39, "DNAME" }, { 41, "OPT" }, { 43, "DS" }, { 46, "RRSIG" },
	{ 47, "NSEC" }, { 48, "DNSKEY" }, { 50, "NSEC3" }, { 51, "NSEC3PARAM" }, { 52, "TLSA" },
	{ 59, "CDS" }, { 60, "CDNSKEY" }, { 64, "SVCB" }, { 65, "HTTPS" }, { 99, "SPF" },
	{ 251, "IXFR" }, { 252, "AXFR" }, { 255, "ANY" }, { 256, "URI" }, { 257, "CAA" },
};

static const char *const rcode_names[] = {
	"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
	"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE",
};

static void
put_type(struct out *o, const uint8_t *msg, size_t len)
{
	char text[16];
	size_t pos = DNS_HEADER_LEN;
	unsigned type, i;

	/* qlog_name has read the name: find its end again. */
	while (pos < len && msg[pos] != 0)
		pos += 1 + (size_t)msg[pos];
	if (pos + 3 > len) {
		puts_(o, "-");
		return;
	}
	type = dns_get16(msg + pos + 1);
	for (i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
		if (type_names[i].type == type) {
			puts_(o, type_names[i].name);
			return;
		}
	}
	snprintf(text, sizeof(text), "TYPE%u", type);
	puts_(o, text);
}

static void
put_client(struct out *o, const struct sockaddr *sa)
{
	char host[INET6_ADDRSTRLEN], text[INET6_ADDRSTRLEN + 16];

	if (sa != NULL && sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;

		if (inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host)) != NULL) {
			snprintf(text, sizeof(text), "%s:%u", host, ntohs(sin->sin_port));
			puts_(o, text);
			return;
		}
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)sa;

		if (inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host)) != NULL) {
			snprintf(text, sizeof(text), "[%s]:%u", host, ntohs(sin6->sin6_port));
			puts_(o, text);
			return;
		}
	}
	puts_(o, "-");
}

size_t
qlog_format(char *buf, size_t cap, const struct qlog_entry *e)
{
	struct out o = { buf, cap, 0 };
	char name[4 * DNS_NAME_MAX + 2], text[64];
	const char *p;
	int named;

	if (cap == 0)
		return 0;
	buf[0] = '\0';
	named = qlog_name(name, sizeof(name), e->query, e->query_len) > 0;
	puts_(&o, "query client=");
	put_client(&o, e->client);
	puts_(&o, e->tcp ? " proto=tcp qname=" : " proto=udp qname=");
	puts_(&o, name);
	puts_(&o, " qtype=");
	if (named)
		put_type(&o, e->query, e->query_len);
	else
		puts_(&o, "-");
	puts_(&o, " rcode=");
	if (e->rcode >= 0 && (size_t)e->rcode < sizeof(rcode_names) / sizeof(rcode_names[0])) {
		puts_(&o, rcode_names[e->rcode]);
	} else {
		snprintf(text, sizeof(text), "RCODE%d", e->rcode);
		puts_(&o, text);
	}
	snprintf(text, sizeof(text), " time=%llu.%02llums from=",
	    (unsigned long long)(e->time_us / 1000), (unsigned long long)(e->time_us % 1000 / 10));
	puts_(&o, text);
	switch (e->source) {
	case QLOG_NAMESERVER:
		if (e->nameserver == NULL || e->nameserver[0] == '\0') {
			puts_(&o, "-");
			break;
		}
		for (p = e->nameserver; *p != '\0'; p++)
			put_escaped(&o, (uint8_t)*p, 0);
		break;
	case QLOG_CACHE:
		puts_(&o, "cache");
		break;
	case QLOG_STALE:
		puts_(&o, "stale");
		break;
	case QLOG_PROXY:
		puts_(&o, "proxy");
		break;
	}
	return o.len;
}

#else /* !FEATURE_QLOG: a build without the query log (DTP_NO_QLOG). conf.c
       * refuses --log-queries, so no line is ever made. */

size_t
qlog_format(char *buf, size_t cap, const struct qlog_entry *e)
{
	(void)e;
	if (cap > 0)
		buf[0] = '\0';
	return 0;
}

size_t
qlog_name(char *buf, size_t cap, const uint8_t *msg, size_t len)
{
	(void)msg, (void)len;
	if (cap > 0)
		buf[0] = '\0';
	return 0;
}

#endif
