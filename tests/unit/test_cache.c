/* SPDX-License-Identifier: MIT */
/* Unit tests for cache.c, on a fake clock: keys (case, CD/DO apart,
 * queries that bypass, RD clear among them), replies (the client's ID and spelling, compression
 * pointers still right, TTLs counting down, our own OPT), what is never
 * stored, negative answers per the SOA (RFC 2308), TTL clamps, prefetch and
 * stale windows (RFC 8767), and a flood of names that evicts without
 * anything growing, checked by cache_audit after every step. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache.h"
#include "dns.h"
#include "log.h"
#include "metrics.h"
#include "unit.h"

#define SEC 1000000ULL
/* A monotonic clock a router might show: not 0, not the epoch. */
#define T0 (1234 * SEC)

struct msg {
	uint8_t b[8192];
	size_t len;
};

static void
put8(struct msg *m, unsigned v)
{
	m->b[m->len++] = (uint8_t)v;
}

static void
put16(struct msg *m, unsigned v)
{
	put8(m, v >> 8);
	put8(m, v & 0xff);
}

static void
put32(struct msg *m, uint32_t v)
{
	put16(m, v >> 16);
	put16(m, v & 0xffff);
}

/* A dotted name in wire form; "" is the root. */
static void
put_name(struct msg *m, const char *name)
{
	while (*name != '\0') {
		size_t n = strcspn(name, ".");

		put8(m, (unsigned)n);
		memcpy(m->b + m->len, name, n);
		m->len += n;
		name += n;
		if (*name == '.')
			name++;
	}
	put8(m, 0);
}

static void
put_ptr(struct msg *m, unsigned off)
{
	put16(m, 0xc000 | off);
}

static void
header(struct msg *m, unsigned id, unsigned f2, unsigned f3, unsigned qd, unsigned an,
    unsigned ns, unsigned ar)
{
	m->len = 0;
	put16(m, id);
	put8(m, f2);
	put8(m, f3);
	put16(m, qd);
	put16(m, an);
	put16(m, ns);
	put16(m, ar);
}

/* Type, class IN, TTL, then the RDATA length is patched by rr_end. */
static size_t
rr_start(struct msg *m, unsigned type, uint32_t ttl)
{
	put16(m, type);
	put16(m, 1);
	put32(m, ttl);
	put16(m, 0);
	return m->len;
}

static void
rr_end(struct msg *m, size_t rd)
{
	dns_put16(m->b + rd - 2, (uint16_t)(m->len - rd));
}

static void
put_opt(struct msg *m, unsigned size, int dnssec_ok, int ecs)
{
	put8(m, 0);
	put16(m, DNS_TYPE_OPT);
	put16(m, size);
	put32(m, dnssec_ok ? 0x8000 : 0);
	put16(m, ecs ? 8 + 4 : 0);
	if (ecs) {
		put16(m, 8);    /* Client Subnet: family 1, /24, scope 0, 192.0.2 */
		put16(m, 8);
		put16(m, 1);
		put8(m, 24);
		put8(m, 0);
		put8(m, 192);
		put8(m, 0);
		put8(m, 2);
		put8(m, 0);
	}
}

#define Q_RD 0x01
#define Q_CD 0x02
#define Q_DO 0x04
#define Q_EDNS 0x08
#define Q_AD 0x10
#define Q_ECS 0x20

static void
query(struct msg *m, unsigned id, const char *name, unsigned type, unsigned flags)
{
	header(m, id, flags & Q_RD ? 0x01 : 0, (flags & Q_CD ? 0x10 : 0) | (flags & Q_AD ? 0x20 : 0),
	    1, 0, 0, flags & (Q_EDNS | Q_DO | Q_ECS) ? 1 : 0);
	put_name(m, name);
	put16(m, type);
	put16(m, 1);
	if (flags & (Q_EDNS | Q_DO | Q_ECS))
		put_opt(m, 1232, flags & Q_DO, flags & Q_ECS);
}

/* The answer's header and question, as a resolver sends them back. */
static void
answer_start(struct msg *m, const char *name, unsigned type, unsigned rcode, unsigned an,
    unsigned ns, unsigned ar)
{
	header(m, 0xdead, 0x81, 0x80 | rcode, 1, an, ns, ar);
	put_name(m, name);
	put16(m, type);
	put16(m, 1);
}

/* "NAME A 192.0.2.N" with TTL ttl, owner a pointer to the question. */
static void
answer_a(struct msg *m, const char *name, uint32_t ttl, unsigned n)
{
	size_t rd;

	answer_start(m, name, 1, 0, 1, 0, 0);
	put_ptr(m, DNS_HEADER_LEN);
	rd = rr_start(m, 1, ttl);
	put32(m, 0xc0000200 | n);
	rr_end(m, rd);
}

/* An SOA for the zone at off (a pointer), TTL ttl, MINIMUM minimum. */
static void
put_soa(struct msg *m, unsigned off, uint32_t ttl, uint32_t minimum)
{
	size_t rd;

	put_ptr(m, off);
	rd = rr_start(m, 6, ttl);
	put_name(m, "ns1.example.com");
	put_name(m, "hostmaster.example.com");
	put32(m, 2024010101);
	put32(m, 7200);
	put32(m, 3600);
	put32(m, 1209600);
	put32(m, minimum);
	rr_end(m, rd);
}

static int
setup(unsigned kib)
{
	char why[256];

	if (cache_init(kib) != 0) {
		CHECK(0, "cache_init(%u) failed", kib);
		return -1;
	}
	cache_set_ttl(DEF_CACHE_MIN_TTL, DEF_CACHE_MAX_TTL, DEF_STALE_MAX_S);
	CHECK(cache_audit(why, sizeof(why)) == 0, "audit: %s", why);
	return 0;
}

static void
audit(void)
{
	char why[256];

	CHECK(cache_audit(why, sizeof(why)) == 0, "audit: %s", why);
}

static int
key_of(const struct msg *q, struct cache_key *k)
{
	int rc = cache_key(q->b, q->len, k);

	CHECK(rc == 0, "cache_key refused a query of %zu bytes", q->len);
	return rc;
}

static int
insert(const struct msg *q, const struct msg *a, uint64_t now)
{
	struct cache_key k;

	if (key_of(q, &k) != 0)
		return -1;
	return cache_insert(&k, a->b, a->len, now);
}

static struct msg reply;

static enum cache_state
lookup(const struct msg *q, int serve_stale, uint64_t now, struct cache_result *res)
{
	struct cache_key k;

	reply.len = 0;
	memset(res, 0, sizeof(*res));
	if (key_of(q, &k) != 0)
		return CACHE_MISS;
	cache_lookup(&k, q->b, serve_stale, now, reply.b, sizeof(reply.b), res);
	reply.len = res->len;
	audit();
	return res->state;
}

/* The reply parses to its end (dns_check_query does it, with QR clear),
 * carries the query's ID and exact question, and every record but OPT has
 * TTL ttl. Returns the number of records checked. */
static unsigned
check_reply(const struct msg *q, uint32_t ttl)
{
	struct dns_query_info qi;
	uint8_t copy[sizeof(reply.b)];
	size_t qend, off;
	unsigned i, count, n = 0;

	if (reply.len < DNS_HEADER_LEN) {
		CHECK(0, "no reply");
		return 0;
	}
	memcpy(copy, reply.b, reply.len);
	copy[2] &= 0x7f;
	CHECK(dns_check_query(copy, reply.len, &qi) == DNS_FORWARD, "reply does not parse");
	CHECK((reply.b[2] & 0x80) != 0, "QR clear in reply");
	CHECK(dns_get16(reply.b) == dns_get16(q->b), "reply ID %04x, query's %04x",
	    dns_get16(reply.b), dns_get16(q->b));
	qend = qi.qend;
	CHECK(qend <= q->len && memcmp(reply.b + DNS_HEADER_LEN, q->b + DNS_HEADER_LEN,
	    qend - DNS_HEADER_LEN) == 0, "reply's question is not the query's");
	count = (unsigned)dns_get16(reply.b + 6) + dns_get16(reply.b + 8) + dns_get16(reply.b + 10);
	for (off = qend, i = 0; i < count; i++) {
		int e = dns_name_end(reply.b, reply.len, off);

		if (e < 0 || (size_t)e + 10 > reply.len) {
			CHECK(0, "record %u does not parse", i);
			return n;
		}
		if (dns_get16(reply.b + e) != DNS_TYPE_OPT) {
			uint32_t got = (uint32_t)dns_get16(reply.b + e + 4) << 16 | dns_get16(reply.b + e + 6);

			CHECK(got == ttl, "record %u has TTL %u, want %u", i, got, ttl);
			n++;
		}
		off = (size_t)e + 10 + dns_get16(reply.b + e + 8);
	}
	return n;
}

/* The name at off in msg, following pointers, as dotted text. */
static void
name_text(const uint8_t *msg, size_t len, size_t off, char *out, size_t cap)
{
	size_t n = 0;
	int hops = 0;

	out[0] = '\0';
	while (off < len && hops < 64) {
		uint8_t b = msg[off];

		if ((b & 0xc0) == 0xc0) {
			off = (size_t)(b & 0x3f) << 8 | msg[off + 1];
			hops++;
			continue;
		}
		if (b == 0 || off + 1 + b > len || n + b + 2 > cap)
			break;
		memcpy(out + n, msg + off + 1, b);
		n += b;
		out[n++] = '.';
		out[n] = '\0';
		off += 1 + (size_t)b;
	}
}

/* Offset of the owner name of record i (0-based, all sections). */
static size_t
record_at(const struct msg *m, unsigned i)
{
	struct dns_query_info qi;
	uint8_t copy[sizeof(m->b)];
	size_t off;

	memcpy(copy, m->b, m->len);
	copy[2] &= 0x7f;
	if (dns_check_query(copy, m->len, &qi) != DNS_FORWARD)
		return 0;
	for (off = qi.qend; i > 0; i--) {
		int e = dns_name_end(m->b, m->len, off);
		off = (size_t)e + 10 + dns_get16(m->b + e + 8);
	}
	return off;
}

static void
test_keys(void)
{
	struct msg q1, q2;
	struct cache_key k1, k2;
	static const struct {
		const char *name;
		unsigned type, flags;
	} apart[] = {
		{ "www.example.com", 28, Q_RD },       /* type */
		{ "www.example.com", 1, Q_RD | Q_CD },  /* CD */
		{ "www.example.com", 1, Q_RD | Q_DO },  /* DO */
		{ "www.example.org", 1, Q_RD },        /* name */
		{ "www.example.com.x", 1, Q_RD },
	};
	size_t i;

	if (setup(64) != 0)
		return;
	query(&q1, 1, "www.example.com", 1, Q_RD);
	query(&q2, 2, "WwW.eXaMpLe.CoM", 1, Q_RD | Q_EDNS | Q_AD);
	if (key_of(&q1, &k1) != 0 || key_of(&q2, &k2) != 0)
		return;
	CHECK(k1.hash == k2.hash && k1.len == k2.len && memcmp(k1.wire, k2.wire, k1.len) == 0,
	    "the same name in another case, with EDNS and AD, has another key");
	CHECK(k2.edns == 1 && k2.ad == 1 && k1.edns == 0 && k1.ad == 0, "edns/ad not recorded");
	CHECK_EQ_INT(k1.qend, q1.len);
	for (i = 0; i < sizeof(apart) / sizeof(apart[0]); i++) {
		query(&q2, 2, apart[i].name, apart[i].type, apart[i].flags);
		if (key_of(&q2, &k2) != 0)
			continue;
		CHECK(k1.len != k2.len || memcmp(k1.wire, k2.wire, k1.len) != 0,
		    "case %zu: same key as www.example.com A RD", i);
	}
}

/* Queries that must bypass the cache, and garbage. */
static void
test_key_bypass(void)
{
	struct msg q;
	struct cache_key k;
	static const unsigned meta[] = { 41, 249, 250, 251, 252, 253, 254 };
	size_t i;

	if (setup(64) != 0)
		return;
	query(&q, 1, "www.example.com", 1, Q_RD | Q_ECS);
	CHECK(cache_key(q.b, q.len, &k) == -1, "a query with Client Subnet got a key");
	/* RD clear: a secondary's SOA refresh must see the primary's serial
	 * now, not one kept here (issue 15). */
	query(&q, 1, "www.example.com", 6, Q_CD | Q_EDNS);
	CHECK(cache_key(q.b, q.len, &k) == -1, "a query without RD got a key");
	query(&q, 1, "www.example.com", 1, Q_RD | Q_EDNS);
	q.b[q.len - 5] = 1; /* EDNS version 1 */
	CHECK(cache_key(q.b, q.len, &k) == -1, "EDNS version 1 got a key");
	for (i = 0; i < sizeof(meta) / sizeof(meta[0]); i++) {
		query(&q, 1, "example.com", meta[i], 0);
		CHECK(cache_key(q.b, q.len, &k) == -1, "QTYPE %u got a key", meta[i]);
	}
	query(&q, 1, "example.com", 255, Q_RD);
	CHECK(cache_key(q.b, q.len, &k) == 0, "ANY refused");
	/* A TSIG record in the additional section. */
	query(&q, 1, "example.com", 1, Q_RD);
	dns_put16(q.b + 10, 1);
	put_name(&q, "key.example");
	rr_end(&q, rr_start(&q, 250, 0));
	CHECK(cache_key(q.b, q.len, &k) == -1, "a TSIG-signed query got a key");
	/* Not a query, a second question, trailing bytes, short. */
	query(&q, 1, "example.com", 1, Q_RD);
	q.b[2] |= 0x80;
	CHECK(cache_key(q.b, q.len, &k) == -1, "a response got a key");
	query(&q, 1, "example.com", 1, Q_RD);
	dns_put16(q.b + 4, 2);
	CHECK(cache_key(q.b, q.len, &k) == -1, "QDCOUNT 2 got a key");
	query(&q, 1, "example.com", 1, Q_RD);
	put8(&q, 0);
	CHECK(cache_key(q.b, q.len, &k) == -1, "trailing byte accepted");
	for (i = 0; i < q.len - 1; i++)
		CHECK(cache_key(q.b, i, &k) == -1, "a query cut to %zu bytes got a key", i);
	/* A compression pointer in the question. */
	header(&q, 1, 1, 0, 1, 0, 0, 0);
	put_ptr(&q, DNS_HEADER_LEN);
	put16(&q, 1);
	put16(&q, 1);
	CHECK(cache_key(q.b, q.len, &k) == -1, "a pointer in the question got a key");
}

/* Stored once, answered with the client's ID, the client's spelling, the
 * stored data, TTL counting down; the upstream's ID and spelling do not
 * come back. */
static void
test_hit_and_countdown(void)
{
	struct msg q, a, q2;
	struct cache_result res;
	char owner[300];

	if (setup(64) != 0)
		return;
	query(&q, 0x1111, "www.example.com", 1, Q_RD);
	answer_a(&a, "www.example.com", 300, 7);
	CHECK(lookup(&q, 0, T0, &res) == CACHE_MISS, "empty cache hit");
	CHECK_EQ_INT(insert(&q, &a, T0), 0);
	CHECK_EQ_INT(cache_stats()->entries, 1);
	CHECK(lookup(&q, 0, T0, &res) == CACHE_FRESH, "no hit after insert");
	CHECK_EQ_INT(res.ttl, 300);
	CHECK_EQ_INT(check_reply(&q, 300), 1);
	CHECK_EQ_INT(reply.len, a.len);
	CHECK(memcmp(reply.b + q.len, a.b + q.len, a.len - q.len) == 0, "sections differ from the answer's");
	CHECK_EQ_INT(reply.b[2], 0x81);
	CHECK_EQ_INT(reply.b[3], 0x80);

	/* 100.9 seconds on (whole seconds of age): 200 left. */
	query(&q2, 0x2222, "WWW.Example.COM", 1, Q_RD);
	CHECK(lookup(&q2, 0, T0 + 100 * SEC + 900000, &res) == CACHE_FRESH, "no hit after 100 s");
	CHECK_EQ_INT(res.ttl, 200);
	CHECK_EQ_INT(check_reply(&q2, 200), 1);
	/* The owner is a pointer to the question: it reads as the client's
	 * spelling now. */
	name_text(reply.b, reply.len, record_at(&reply, 0), owner, sizeof(owner));
	CHECK(strcmp(owner, "WWW.Example.COM.") == 0, "owner reads \"%s\"", owner);
	CHECK(lookup(&q2, 0, T0 + 269 * SEC, &res) == CACHE_FRESH, "no hit at 269 s");
	CHECK_EQ_INT(res.ttl, 31);
	CHECK_EQ_INT(cache_stats()->hits, 3);
	CHECK_EQ_INT(cache_stats()->misses, 1);
	CHECK_EQ_INT(cache_stats()->inserts, 1);
}

/* A CNAME chain whose names point into the question and into each other's
 * RDATA, queried in another case: every pointer still reads right, and the
 * entry lives as long as its shortest TTL. */
static void
test_cname_chain_pointers(void)
{
	struct msg q, a;
	struct cache_result res;
	char text[300];
	size_t rd, cname1, cname2;

	if (setup(64) != 0)
		return;
	query(&q, 7, "Www.Example.Com", 1, Q_RD | Q_EDNS);
	answer_start(&a, "www.example.com", 1, 0, 3, 0, 1);
	put_ptr(&a, DNS_HEADER_LEN);
	rd = rr_start(&a, 5, 3600);
	cname1 = a.len;
	put8(&a, 3);
	memcpy(a.b + a.len, "cdn", 3);
	a.len += 3;
	put_ptr(&a, DNS_HEADER_LEN + 4);   /* "cdn" + "example.com" of the question */
	rr_end(&a, rd);
	put_ptr(&a, (unsigned)cname1);
	rd = rr_start(&a, 5, 60);
	cname2 = a.len;
	put_name(&a, "edge.cdn-provider.net");
	rr_end(&a, rd);
	put_ptr(&a, (unsigned)cname2);
	rd = rr_start(&a, 1, 300);
	put32(&a, 0xc0000201);
	rr_end(&a, rd);
	put_opt(&a, 4096, 0, 0);
	CHECK_EQ_INT(insert(&q, &a, T0), 0);
	CHECK(lookup(&q, 0, T0 + 10 * SEC, &res) == CACHE_FRESH, "chain not answered");
	CHECK_EQ_INT(res.ttl, 50);
	CHECK_EQ_INT(check_reply(&q, 50), 3);
	name_text(reply.b, reply.len, record_at(&reply, 0), text, sizeof(text));
	CHECK(strcmp(text, "Www.Example.Com.") == 0, "first owner \"%s\"", text);
	name_text(reply.b, reply.len, record_at(&reply, 1), text, sizeof(text));
	CHECK(strcmp(text, "cdn.Example.Com.") == 0, "second owner \"%s\"", text);
	name_text(reply.b, reply.len, record_at(&reply, 2), text, sizeof(text));
	CHECK(strcmp(text, "edge.cdn-provider.net.") == 0, "third owner \"%s\"", text);
}

/* CD and DO are part of the key: each combination is its own entry. */
static void
test_flags_apart(void)
{
	static const unsigned combos[] = { Q_RD, Q_RD | Q_CD, Q_RD | Q_DO, Q_RD | Q_CD | Q_DO };
	struct msg q, a;
	struct cache_result res;
	size_t i, j;

	if (setup(64) != 0)
		return;
	for (i = 0; i < sizeof(combos) / sizeof(combos[0]); i++) {
		query(&q, 1, "flags.example", 1, combos[i]);
		answer_a(&a, "flags.example", 300, (unsigned)i);
		CHECK_EQ_INT(insert(&q, &a, T0), 0);
	}
	CHECK_EQ_INT(cache_stats()->entries, 4);
	for (i = 0; i < sizeof(combos) / sizeof(combos[0]); i++) {
		query(&q, 1, "flags.example", 1, combos[i]);
		CHECK(lookup(&q, 0, T0, &res) == CACHE_FRESH, "combination %zu not found", i);
		/* The A record's last byte, before our OPT when DO was asked. */
		j = reply.len - 1 - (combos[i] & Q_DO ? 11 : 0);
		CHECK(reply.len > 0 && reply.b[j] == i, "combination %zu got the answer of %u", i,
		    reply.len > 0 ? reply.b[j] : 0xff);
	}
	/* The same with EDNS but no DO is the no-DO entry; the reply has an OPT
	 * of ours: UDP size 1232, no DO, no options. */
	query(&q, 1, "flags.example", 1, Q_RD | Q_EDNS);
	CHECK(lookup(&q, 0, T0, &res) == CACHE_FRESH, "EDNS without DO missed");
	CHECK_EQ_INT(dns_get16(reply.b + 10), 1);
	CHECK_EQ_INT(reply.b[reply.len - 11 + 0], 0);
	CHECK_EQ_INT(dns_get16(reply.b + reply.len - 10), DNS_TYPE_OPT);
	CHECK_EQ_INT(dns_get16(reply.b + reply.len - 8), DNS_EDNS_OUR_SIZE);
	CHECK_EQ_INT(reply.b[reply.len - 4], 0);
	CHECK_EQ_INT(dns_get16(reply.b + reply.len - 2), 0);
	CHECK_EQ_INT(reply.b[reply.len - 12], 0); /* the A record of combination 0 */
	query(&q, 1, "flags.example", 1, Q_RD | Q_DO);
	CHECK(lookup(&q, 0, T0, &res) == CACHE_FRESH, "DO missed");
	CHECK_EQ_INT(reply.b[reply.len - 4], 0x80);
}

/* The upstream's OPT (its options: padding, cookie, keepalive) never comes
 * back: a client without EDNS gets no OPT, one with EDNS gets ours. */
static void
test_upstream_opt_dropped(void)
{
	struct msg q, a;
	struct cache_result res;
	size_t rd, i;

	if (setup(64) != 0)
		return;
	query(&q, 9, "opt.example", 1, Q_RD | Q_EDNS);
	answer_start(&a, "opt.example", 1, 0, 1, 0, 1);
	put_ptr(&a, DNS_HEADER_LEN);
	rd = rr_start(&a, 1, 300);
	put32(&a, 0xc0000209);
	rr_end(&a, rd);
	put8(&a, 0);
	put16(&a, DNS_TYPE_OPT);
	put16(&a, 1232);
	put32(&a, 0);
	rd = a.len + 2;
	put16(&a, 0);
	put16(&a, 11);  /* keepalive */
	put16(&a, 2);
	put16(&a, 100);
	put16(&a, 10);  /* cookie */
	put16(&a, 16);
	for (i = 0; i < 16; i++)
		put8(&a, 0xcc);
	put16(&a, 12);  /* padding */
	put16(&a, 40);
	for (i = 0; i < 40; i++)
		put8(&a, 0);
	rr_end(&a, rd);
	CHECK_EQ_INT(insert(&q, &a, T0), 0);
	CHECK(lookup(&q, 0, T0, &res) == CACHE_FRESH, "miss");
	CHECK_EQ_INT(check_reply(&q, 300), 1);
	CHECK_EQ_INT(reply.len, q.len - 11 + 16 + 11);
	CHECK_EQ_INT(dns_get16(reply.b + reply.len - 2), 0);
	CHECK(dns_keepalive(reply.b, reply.len, (uint16_t)(q.len - 11)) == -1, "keepalive came back");
	query(&q, 9, "opt.example", 1, Q_RD);
	CHECK(lookup(&q, 0, T0, &res) == CACHE_FRESH, "miss without EDNS");
	CHECK_EQ_INT(dns_get16(reply.b + 10), 0);
	CHECK_EQ_INT(reply.len, q.len + 16);
}

/* NXDOMAIN and NODATA live min(SOA TTL, SOA MINIMUM), the SOA's TTL counts
 * down with the rest; without an SOA they are not kept. */
static void
test_negative_per_soa(void)
{
	struct msg q, a;
	struct cache_result res;
	size_t rd;

	if (setup(64) != 0)
		return;
	/* NXDOMAIN: SOA TTL 3600, MINIMUM 300: 300. */
	query(&q, 1, "nope.example.com", 1, Q_RD);
	answer_start(&a, "nope.example.com", 1, DNS_RCODE_NXDOMAIN, 0, 1, 0);
	put_soa(&a, DNS_HEADER_LEN + 5, 3600, 300);
	CHECK_EQ_INT(insert(&q, &a, T0), 0);
	CHECK(lookup(&q, 0, T0 + 20 * SEC, &res) == CACHE_FRESH, "NXDOMAIN not kept");
	CHECK_EQ_INT(res.ttl, 280);
	CHECK_EQ_INT(check_reply(&q, 280), 1);
	CHECK_EQ_INT(dns_rcode(reply.b), DNS_RCODE_NXDOMAIN);
	CHECK(lookup(&q, 0, T0 + 300 * SEC, &res) == CACHE_STALE, "NXDOMAIN alive at 300 s");
	/* NODATA: SOA TTL 60 below MINIMUM 900: 60. */
	query(&q, 1, "example.com", 28, Q_RD);
	answer_start(&a, "example.com", 28, 0, 0, 1, 0);
	put_soa(&a, DNS_HEADER_LEN, 60, 900);
	CHECK_EQ_INT(insert(&q, &a, T0), 0);
	CHECK(lookup(&q, 0, T0 + 59 * SEC, &res) != CACHE_MISS, "NODATA not kept");
	CHECK_EQ_INT(res.ttl, 1);
	CHECK_EQ_INT(check_reply(&q, 1), 1);
	/* An SOA MINIMUM of 2 days is capped at CACHE_NEG_TTL_MAX, and the
	 * cap is not lifted by --cache-min-ttl. */
	cache_set_ttl(7200, DEF_CACHE_MAX_TTL, DEF_STALE_MAX_S);
	query(&q, 1, "long.example.com", 1, Q_RD);
	answer_start(&a, "long.example.com", 1, DNS_RCODE_NXDOMAIN, 0, 1, 0);
	put_soa(&a, DNS_HEADER_LEN + 5, 172800, 172800);
	CHECK_EQ_INT(insert(&q, &a, T0), 0);
	CHECK(lookup(&q, 0, T0, &res) == CACHE_FRESH, "long NXDOMAIN not kept");
	CHECK_EQ_INT(res.ttl, CACHE_NEG_TTL_MAX);
	query(&q, 1, "short.example.com", 1, Q_RD);
	answer_start(&a, "short.example.com", 1, DNS_RCODE_NXDOMAIN, 0, 1, 0);
	put_soa(&a, DNS_HEADER_LEN + 6, 30, 30);
	CHECK_EQ_INT(insert(&q, &a, T0), 0);
	CHECK(lookup(&q, 0, T0, &res) == CACHE_FRESH, "short NXDOMAIN not kept");
	CHECK_EQ_INT(res.ttl, 30);
	cache_set_ttl(DEF_CACHE_MIN_TTL, DEF_CACHE_MAX_TTL, DEF_STALE_MAX_S);
	/* No SOA: NXDOMAIN, and NOERROR with no answer (a referral). */
	query(&q, 1, "bare.example.com", 1, Q_RD);
	answer_start(&a, "bare.example.com", 1, DNS_RCODE_NXDOMAIN, 0, 0, 0);
	CHECK_EQ_INT(insert(&q, &a, T0), -1);
	answer_start(&a, "bare.example.com", 1, 0, 0, 1, 0);
	put_ptr(&a, DNS_HEADER_LEN + 5);
	rd = rr_start(&a, 2, 3600);
	put_name(&a, "ns1.example.com");
	rr_end(&a, rd);
	CHECK_EQ_INT(insert(&q, &a, T0), -1);
	CHECK(lookup(&q, 0, T0, &res) == CACHE_MISS, "referral kept");
	/* A bad SOA (RDATA not ending with its five numbers) is malformed. */
	query(&q, 1, "bad.example.com", 1, Q_RD);
	answer_start(&a, "bad.example.com", 1, DNS_RCODE_NXDOMAIN, 0, 1, 0);
	put_ptr(&a, DNS_HEADER_LEN + 4);
	rd = rr_start(&a, 6, 300);
	put_name(&a, "ns1.example.com");
	put32(&a, 1);
	rr_end(&a, rd);
	CHECK_EQ_INT(insert(&q, &a, T0), -1);
	audit();
}

/* A CNAME to a name with no data: the SOA bounds the whole answer. */
static void
test_cname_to_nodata(void)
{
	struct msg q, a;
	struct cache_result res;
	size_t rd;

	if (setup(64) != 0)
		return;
	query(&q, 1, "alias.example.com", 28, Q_RD);
	answer_start(&a, "alias.example.com", 28, 0, 1, 1, 0);
	put_ptr(&a, DNS_HEADER_LEN);
	rd = rr_start(&a, 5, 3600);
	put8(&a, 6);
	memcpy(a.b + a.len, "target", 6);
	a.len += 6;
	put_ptr(&a, DNS_HEADER_LEN + 6);
	rr_end(&a, rd);
	put_soa(&a, DNS_HEADER_LEN + 6, 3600, 120);
	CHECK_EQ_INT(insert(&q, &a, T0), 0);
	CHECK(lookup(&q, 0, T0, &res) == CACHE_FRESH, "miss");
	CHECK_EQ_INT(res.ttl, 120);
	CHECK_EQ_INT(check_reply(&q, 120), 2);
}

/* Answers never kept. */
static void
test_never_cached(void)
{
	struct msg q, a, other;
	struct cache_result res;
	size_t rd;
	uint64_t before;
	int rcode;

	if (setup(64) != 0)
		return;
	query(&q, 1, "never.example", 1, Q_RD);
	for (rcode = 0; rcode < 16; rcode++) {
		if (rcode == DNS_RCODE_NOERROR || rcode == DNS_RCODE_NXDOMAIN)
			continue;
		answer_a(&a, "never.example", 300, 1);
		a.b[3] = (uint8_t)(0x80 | rcode);
		CHECK(insert(&q, &a, T0) == -1, "RCODE %d kept", rcode);
	}
	answer_a(&a, "never.example", 300, 1);
	a.b[2] |= 0x02;
	CHECK(insert(&q, &a, T0) == -1, "a TC answer kept");
	answer_a(&a, "never.example", 300, 1);
	a.b[2] &= 0x7f;
	CHECK(insert(&q, &a, T0) == -1, "a query (QR clear) kept");
	answer_a(&a, "never.example", 300, 1);
	a.b[2] |= 0x28;
	CHECK(insert(&q, &a, T0) == -1, "opcode 5 kept");
	answer_a(&a, "never.other", 300, 1);
	CHECK(insert(&q, &a, T0) == -1, "an answer to another name kept");
	answer_a(&a, "never.exampld", 300, 1);
	CHECK(insert(&q, &a, T0) == -1, "an answer to another name of the same length kept");
	query(&other, 1, "never.example", 28, Q_RD);
	answer_a(&a, "never.example", 300, 1);
	CHECK(insert(&other, &a, T0) == -1, "an A answer kept for AAAA");
	answer_a(&a, "never.example", 0, 1);
	CHECK(insert(&q, &a, T0) == -1, "TTL 0 kept");
	/* Malformed: every cut short, trailing byte, forward pointer. */
	answer_a(&a, "never.example", 300, 1);
	{
		struct cache_key k;
		size_t len;

		if (key_of(&q, &k) == 0)
			for (len = 0; len < a.len; len++)
				CHECK(cache_insert(&k, a.b, len, T0) == -1, "answer cut to %zu bytes kept", len);
	}
	answer_a(&a, "never.example", 300, 1);
	put8(&a, 0);
	CHECK(insert(&q, &a, T0) == -1, "trailing byte kept");
	answer_a(&a, "never.example", 300, 1);
	dns_put16(a.b + q.len, 0xc000 | (uint16_t)(q.len + 2));
	CHECK(insert(&q, &a, T0) == -1, "a forward pointer kept");
	/* OPT not last, OPT in the answer section, two OPTs, extended RCODE. */
	answer_a(&a, "never.example", 300, 1);
	dns_put16(a.b + 10, 2);
	put_opt(&a, 1232, 0, 0);
	put_ptr(&a, DNS_HEADER_LEN);
	rd = rr_start(&a, 1, 300);
	put32(&a, 1);
	rr_end(&a, rd);
	CHECK(insert(&q, &a, T0) == -1, "OPT before another record kept");
	answer_start(&a, "never.example", 1, 0, 1, 0, 0);
	put_opt(&a, 1232, 0, 0);
	CHECK(insert(&q, &a, T0) == -1, "OPT in the answer section kept");
	answer_a(&a, "never.example", 300, 1);
	dns_put16(a.b + 10, 2);
	put_opt(&a, 1232, 0, 0);
	put_opt(&a, 1232, 0, 0);
	CHECK(insert(&q, &a, T0) == -1, "two OPTs kept");
	answer_a(&a, "never.example", 300, 1);
	dns_put16(a.b + 10, 1);
	put_opt(&a, 1232, 0, 0);
	a.b[a.len - 6] = 1; /* extended RCODE: BADVERS */
	CHECK(insert(&q, &a, T0) == -1, "an extended RCODE kept");
	/* A name aimed into an earlier record's TTL: legal on the wire, but it
	 * would read differently once the reply's TTLs are written. An owner,
	 * then a CNAME's target. */
	answer_a(&a, "never.example", 256, 1);
	dns_put16(a.b + 6, 2);
	put_ptr(&a, (unsigned)q.len + 2 + 4 + 3);   /* the TTL's last byte, 0: the root */
	rd = rr_start(&a, 1, 300);
	put32(&a, 2);
	rr_end(&a, rd);
	CHECK(insert(&q, &a, T0) == -1, "an owner name read from a TTL kept");
	answer_a(&a, "never.example", 256, 1);
	dns_put16(a.b + 6, 2);
	put_ptr(&a, DNS_HEADER_LEN);
	rd = rr_start(&a, 5, 300);
	put_ptr(&a, (unsigned)q.len + 2 + 4 + 3);
	rr_end(&a, rd);
	CHECK(insert(&q, &a, T0) == -1, "a CNAME target read from a TTL kept");
	/* The same CNAME aimed at the question is fine. */
	answer_a(&a, "never.example", 256, 1);
	dns_put16(a.b + 6, 2);
	put_ptr(&a, DNS_HEADER_LEN);
	rd = rr_start(&a, 5, 300);
	put_ptr(&a, DNS_HEADER_LEN + 6);
	rr_end(&a, rd);
	CHECK(insert(&q, &a, T0) == 0, "a CNAME to a name in the question refused");
	cache_flush();
	/* A malformed CNAME target. */
	answer_a(&a, "never.example", 300, 1);
	dns_put16(a.b + 6, 2);
	put_ptr(&a, DNS_HEADER_LEN);
	rd = rr_start(&a, 5, 300);
	put8(&a, 5);
	put8(&a, 'x');
	rr_end(&a, rd);
	CHECK(insert(&q, &a, T0) == -1, "a malformed CNAME kept");
	/* TSIG in the answer. */
	answer_a(&a, "never.example", 300, 1);
	dns_put16(a.b + 10, 1);
	put_name(&a, "key.example");
	rr_end(&a, rr_start(&a, 250, 0));
	CHECK(insert(&q, &a, T0) == -1, "a TSIG-signed answer kept");
	/* Over CACHE_ANSWER_MAX of sections. */
	answer_start(&a, "never.example", 16, 0, 1, 0, 0);
	put_ptr(&a, DNS_HEADER_LEN);
	rd = rr_start(&a, 16, 300);
	memset(a.b + a.len, 'x', CACHE_ANSWER_MAX);
	a.len += CACHE_ANSWER_MAX;
	rr_end(&a, rd);
	query(&other, 1, "never.example", 16, Q_RD);
	CHECK(insert(&other, &a, T0) == -1, "an answer over CACHE_ANSWER_MAX kept");
	before = cache_stats()->uncacheable;
	CHECK(before > 20, "uncacheable counted %llu", (unsigned long long)before);
	CHECK_EQ_INT(cache_stats()->entries, 0);
	CHECK_EQ_INT(cache_stats()->inserts, 1);
	CHECK(lookup(&q, 1, T0, &res) == CACHE_MISS, "something was kept");
}

/* --cache-min-ttl and --cache-max-ttl, and RFC 8767's reading of a TTL
 * with the high bit set. */
static void
test_ttl_clamps(void)
{
	struct msg q, a;
	struct cache_result res;

	if (setup(64) != 0)
		return;
	cache_set_ttl(60, 3600, DEF_STALE_MAX_S);
	query(&q, 1, "short.example", 1, Q_RD);
	answer_a(&a, "short.example", 5, 1);
	CHECK_EQ_INT(insert(&q, &a, T0), 0);
	CHECK(lookup(&q, 0, T0 + 30 * SEC, &res) == CACHE_FRESH, "raised TTL not applied");
	CHECK_EQ_INT(check_reply(&q, 30), 1);
	/* TTL 0 raised by --cache-min-ttl is kept: the user asked for it. */
	answer_a(&a, "short.example", 0, 1);
	CHECK_EQ_INT(insert(&q, &a, T0), 0);
	query(&q, 1, "long.example", 1, Q_RD);
	answer_a(&a, "long.example", 100000, 1);
	CHECK_EQ_INT(insert(&q, &a, T0), 0);
	CHECK(lookup(&q, 0, T0, &res) == CACHE_FRESH, "miss");
	CHECK_EQ_INT(check_reply(&q, 3600), 1);
	cache_set_ttl(0, MAX_CACHE_TTL, DEF_STALE_MAX_S);
	query(&q, 1, "high.example", 1, Q_RD);
	answer_a(&a, "high.example", 0x80000000u, 1);
	CHECK_EQ_INT(insert(&q, &a, T0), 0);
	CHECK(lookup(&q, 0, T0, &res) == CACHE_FRESH, "high-bit TTL not kept");
	CHECK_EQ_INT(res.ttl, MAX_CACHE_TTL);
	cache_set_ttl(DEF_CACHE_MIN_TTL, DEF_CACHE_MAX_TTL, DEF_STALE_MAX_S);
	query(&q, 1, "day.example", 1, Q_RD);
	answer_a(&a, "day.example", 172800, 1);
	CHECK_EQ_INT(insert(&q, &a, T0), 0);
	CHECK(lookup(&q, 0, T0, &res) == CACHE_FRESH, "miss");
	CHECK_EQ_INT(res.ttl, DEF_CACHE_MAX_TTL);
}

/* The last 10 % of the TTL: one refresh asked for, then none until the
 * entry is stored again. */
static void
test_prefetch_window(void)
{
	struct msg q, a;
	struct cache_result res;

	if (setup(64) != 0)
		return;
	query(&q, 1, "hot.example", 1, Q_RD);
	answer_a(&a, "hot.example", 300, 1);
	CHECK_EQ_INT(insert(&q, &a, T0), 0);
	CHECK(lookup(&q, 0, T0 + 269 * SEC, &res) == CACHE_FRESH && !res.refresh,
	    "refresh at 31 s left");
	CHECK(lookup(&q, 0, T0 + 270 * SEC, &res) == CACHE_PREFETCH && res.refresh,
	    "no refresh at 30 s left");
	CHECK_EQ_INT(check_reply(&q, 30), 1);
	CHECK(lookup(&q, 0, T0 + 271 * SEC, &res) == CACHE_PREFETCH && !res.refresh,
	    "second refresh asked");
	CHECK_EQ_INT(res.len, reply.len);
	CHECK_EQ_INT(cache_stats()->prefetch, 1);
	CHECK_EQ_INT(cache_stats()->hits, 3);
	/* The refresh's answer comes: fresh again, a new window later. */
	CHECK_EQ_INT(insert(&q, &a, T0 + 272 * SEC), 0);
	CHECK(lookup(&q, 0, T0 + 273 * SEC, &res) == CACHE_FRESH && !res.refresh, "not fresh");
	CHECK(lookup(&q, 0, T0 + 542 * SEC, &res) == CACHE_PREFETCH && res.refresh, "no new window");
	CHECK_EQ_INT(cache_stats()->entries, 1);
	/* A TTL under 10 s has no window. */
	query(&q, 1, "brief.example", 1, Q_RD);
	answer_a(&a, "brief.example", 9, 1);
	CHECK_EQ_INT(insert(&q, &a, T0), 0);
	CHECK(lookup(&q, 0, T0 + 8 * SEC, &res) == CACHE_FRESH, "a 9 s TTL prefetched");
}

/* Expired: stale for --stale-max, given with TTL 30 only when asked for,
 * then gone. */
static void
test_stale_window(void)
{
	struct msg q, a;
	struct cache_result res;

	if (setup(64) != 0)
		return;
	cache_set_ttl(0, DEF_CACHE_MAX_TTL, 3600);
	query(&q, 0x4242, "old.example", 1, Q_RD | Q_EDNS);
	answer_a(&a, "old.example", 300, 1);
	CHECK_EQ_INT(insert(&q, &a, T0), 0);
	CHECK(lookup(&q, 0, T0 + 299 * SEC, &res) == CACHE_PREFETCH, "not fresh at 299 s");
	CHECK(lookup(&q, 0, T0 + 300 * SEC, &res) == CACHE_STALE, "not stale at 300 s");
	CHECK(res.len == 0 && reply.len == 0, "stale reply written without serve_stale");
	CHECK(!res.refresh, "refresh asked twice (prefetch, then stale)");
	CHECK(lookup(&q, 1, T0 + 1000 * SEC, &res) == CACHE_STALE, "not stale at 1000 s");
	CHECK_EQ_INT(res.ttl, CACHE_STALE_TTL);
	CHECK_EQ_INT(check_reply(&q, CACHE_STALE_TTL), 1);
	CHECK_EQ_INT(cache_stats()->stale, 1);
	CHECK(lookup(&q, 1, T0 + 3899 * SEC, &res) == CACHE_STALE, "not stale at 3899 s");
	CHECK(lookup(&q, 1, T0 + 3900 * SEC, &res) == CACHE_MISS, "stale past --stale-max");
	CHECK_EQ_INT(cache_stats()->entries, 0);
	/* Stale answers off. */
	cache_set_ttl(0, DEF_CACHE_MAX_TTL, 0);
	CHECK_EQ_INT(insert(&q, &a, T0), 0);
	CHECK(lookup(&q, 1, T0 + 300 * SEC, &res) == CACHE_MISS, "stale with --stale-max 0");
	CHECK_EQ_INT(cache_stats()->entries, 0);
	/* A stale entry never asked near expiry: the first stale lookup asks
	 * for a refresh. */
	cache_set_ttl(0, DEF_CACHE_MAX_TTL, 3600);
	CHECK_EQ_INT(insert(&q, &a, T0), 0);
	CHECK(lookup(&q, 0, T0 + 400 * SEC, &res) == CACHE_STALE && res.refresh, "no refresh");
	CHECK(lookup(&q, 1, T0 + 401 * SEC, &res) == CACHE_STALE && !res.refresh, "refresh twice");
}

/* The AD bit goes back only to a client that asked with AD or DO. */
static void
test_ad_bit(void)
{
	struct msg q, a;
	struct cache_result res;

	if (setup(64) != 0)
		return;
	query(&q, 1, "signed.example", 1, Q_RD);
	answer_a(&a, "signed.example", 300, 1);
	a.b[3] |= 0x20;
	a.b[2] |= 0x04; /* AA */
	CHECK_EQ_INT(insert(&q, &a, T0), 0);
	lookup(&q, 0, T0, &res);
	CHECK_EQ_INT(reply.b[3] & 0x20, 0);
	CHECK_EQ_INT(reply.b[2] & 0x04, 0);
	query(&q, 1, "signed.example", 1, Q_RD | Q_AD);
	lookup(&q, 0, T0, &res);
	CHECK_EQ_INT(reply.b[3] & 0x20, 0x20);
	query(&q, 1, "signed.example", 1, Q_RD | Q_CD);
	CHECK(lookup(&q, 0, T0, &res) == CACHE_MISS, "CD shares the entry");
}

/* A newer answer replaces the entry. A reply that does not fit is a miss. */
static void
test_replace_and_small_buffer(void)
{
	struct msg q, a;
	struct cache_result res;
	struct cache_key k;
	uint8_t small[64];

	if (setup(64) != 0)
		return;
	query(&q, 1, "twice.example", 1, Q_RD);
	answer_a(&a, "twice.example", 300, 1);
	CHECK_EQ_INT(insert(&q, &a, T0), 0);
	answer_a(&a, "twice.example", 600, 2);
	CHECK_EQ_INT(insert(&q, &a, T0 + SEC), 0);
	CHECK_EQ_INT(cache_stats()->entries, 1);
	lookup(&q, 0, T0 + SEC, &res);
	CHECK_EQ_INT(res.ttl, 600);
	CHECK_EQ_INT(reply.b[reply.len - 1], 2);
	if (key_of(&q, &k) != 0 || q.len + 16 > sizeof(small))
		return;
	cache_lookup(&k, q.b, 0, T0, small, q.len + 15, &res);
	CHECK(res.state == CACHE_MISS && res.len == 0, "a reply written past cap");
	cache_lookup(&k, q.b, 0, T0, small, q.len + 16, &res);
	CHECK(res.state == CACHE_FRESH && res.len == q.len + 16, "an exact fit refused");
	audit();
}

static void
test_flush_and_off(void)
{
	struct msg q, a;
	struct cache_result res;
	struct cache_key k;
	uint8_t out[CACHE_REPLY_MAX];

	if (setup(64) != 0)
		return;
	query(&q, 1, "flush.example", 1, Q_RD);
	answer_a(&a, "flush.example", 300, 1);
	CHECK_EQ_INT(insert(&q, &a, T0), 0);
	cache_flush();
	audit();
	CHECK_EQ_INT(cache_stats()->entries, 0);
	CHECK_EQ_INT(cache_stats()->bytes, 0);
	CHECK(lookup(&q, 0, T0, &res) == CACHE_MISS, "hit after flush");
	CHECK_EQ_INT(insert(&q, &a, T0), 0);
	CHECK(lookup(&q, 0, T0, &res) == CACHE_FRESH, "miss after flush and insert");
	/* --cache-size 0: nothing reserved, nothing stored, nothing found. */
	CHECK_EQ_INT(cache_memory(0), 0);
	CHECK_EQ_INT(cache_init(0), 0);
	CHECK(key_of(&q, &k) == 0 && cache_insert(&k, a.b, a.len, T0) == -1, "stored with the cache off");
	cache_lookup(&k, q.b, 1, T0, out, sizeof(out), &res);
	CHECK(res.state == CACHE_MISS, "hit with the cache off");
	CHECK_EQ_INT(cache_stats()->capacity, 0);
	cache_flush();
	CHECK(cache_init(CACHE_MIN_KIB - 1) == -1, "a cache under CACHE_MIN_KIB reserved");
}

/* A flood of unique names through the smallest cache: the oldest go, the
 * ring and the index stay consistent, bytes never pass the capacity, and a
 * name asked all along stays (it is copied forward as the ring turns). */
static void
test_flood_evicts(void)
{
	struct msg q, a, hot_q, hot_a;
	struct cache_result res;
	char name[64];
	const struct cache_stats *s;
	unsigned i, hot_misses = 0, max_entries = 0;
	size_t max_bytes = 0;

	if (setup(CACHE_MIN_KIB) != 0)
		return;
	s = cache_stats();
	CHECK(s->capacity <= cache_memory(CACHE_MIN_KIB) && s->capacity > cache_memory(CACHE_MIN_KIB) * 9 / 10,
	    "ring %zu bytes of %zu", s->capacity, cache_memory(CACHE_MIN_KIB));
	query(&hot_q, 1, "hot.example", 1, Q_RD);
	answer_a(&hot_a, "hot.example", 86400, 1);
	CHECK_EQ_INT(insert(&hot_q, &hot_a, T0), 0);
	for (i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "n%u.flood.example", i);
		query(&q, 1, name, 1, Q_RD);
		answer_a(&a, name, 3600, i & 0xff);
		CHECK_EQ_INT(insert(&q, &a, T0 + i * 1000), 0);
		if (i % 16 == 0) {
			lookup(&hot_q, 0, T0 + i * 1000, &res);
			hot_misses += res.state == CACHE_MISS;
		}
		if (i % 997 == 0)
			audit();
		if (s->entries > max_entries)
			max_entries = s->entries;
		if (s->bytes > max_bytes)
			max_bytes = s->bytes;
	}
	audit();
	CHECK_EQ_INT(hot_misses, 0);
	CHECK(max_bytes <= s->capacity, "bytes %zu over capacity %zu", max_bytes, s->capacity);
	CHECK(s->evictions > 19000, "only %llu evictions", (unsigned long long)s->evictions);
	CHECK_EQ_INT(s->inserts - s->evictions, s->entries);
	/* Entries of 80 bytes: the ring holds that many, no fewer. */
	CHECK(max_entries >= s->capacity / 80 - 2, "at most %u entries in %zu bytes", max_entries,
	    s->capacity);
	/* The first names are gone, the last are there. */
	query(&q, 1, "n0.flood.example", 1, Q_RD);
	CHECK(lookup(&q, 0, T0 + 20 * SEC, &res) == CACHE_MISS, "the oldest name survived");
	query(&q, 1, "n19999.flood.example", 1, Q_RD);
	CHECK(lookup(&q, 0, T0 + 20 * SEC, &res) == CACHE_FRESH, "the newest name is gone");
	CHECK(lookup(&hot_q, 0, T0 + 20 * SEC, &res) == CACHE_FRESH, "the hot name is gone");
}

/* Mixed sizes through a small ring, with replacements, flushes and
 * lookups at random: the audit holds after every step. */
static void
test_ring_random(void)
{
	struct msg q, a;
	struct cache_result res;
	char name[64];
	uint32_t x = 12345;
	unsigned i, j;

	if (setup(CACHE_MIN_KIB) != 0)
		return;
	for (i = 0; i < 30000; i++) {
		unsigned n, big, op;
		size_t rd;

		x = x * 1103515245 + 12345;
		n = (x >> 8) % 300;
		big = (x >> 20) % 8 == 0 ? (x >> 4) % 3000 : (x >> 4) % 64;
		op = (x >> 28) % 16;
		snprintf(name, sizeof(name), "r%u.random.example", n);
		query(&q, 1, name, 16, Q_RD);
		if (op == 0) {
			lookup(&q, (int)(x & 1), T0 + i * 100000ULL, &res);
			continue;
		}
		if (op == 1 && (x & 0xff) == 0) {
			cache_flush();
			audit();
			continue;
		}
		answer_start(&a, name, 16, 0, 1, 0, 0);
		put_ptr(&a, DNS_HEADER_LEN);
		rd = rr_start(&a, 16, 60 + n);
		for (j = 0; j < big; j++)
			put8(&a, 'a' + j % 26);
		rr_end(&a, rd);
		CHECK(insert(&q, &a, T0 + i * 100000ULL) == 0, "insert %u (%u bytes) refused", i, big);
		audit();
		if (unit_failures > 10)
			return;
	}
}

/* A burst of one question answered 64 times in the same second (each copy
 * went upstream before the first answer came) takes one entry's bytes,
 * not 64: the copies would evict other names. A second later the answer
 * replaces the entry as before. */
static void
test_burst_one_entry(void)
{
	struct msg q, a, other_q, other_a;
	struct cache_result res;
	size_t one;
	unsigned i;

	if (setup(16) != 0)
		return;
	query(&other_q, 1, "other.example", 1, Q_RD);
	answer_a(&other_a, "other.example", 300, 9);
	CHECK_EQ_INT(insert(&other_q, &other_a, T0), 0);
	query(&q, 1, "burst.example", 16, Q_RD);
	answer_start(&a, "burst.example", 16, 0, 1, 0, 0);
	{
		size_t rd;

		put_ptr(&a, DNS_HEADER_LEN);
		rd = rr_start(&a, 16, 300);
		for (i = 0; i < 2000; i++)
			put8(&a, 'a' + i % 26);
		rr_end(&a, rd);
	}
	CHECK_EQ_INT(insert(&q, &a, T0), 0);
	one = cache_stats()->bytes;
	for (i = 0; i < 64; i++)
		CHECK_EQ_INT(insert(&q, &a, T0 + SEC / 2), 0);
	audit();
	CHECK_EQ_INT(cache_stats()->bytes, one);
	CHECK_EQ_INT(cache_stats()->evictions, 0);
	CHECK(lookup(&other_q, 0, T0 + SEC / 2, &res) == CACHE_FRESH, "the burst evicted another name");
	CHECK_EQ_INT(insert(&q, &a, T0 + SEC), 0);
	CHECK(cache_stats()->bytes > one, "a second later the answer is stored again");
	audit();
}

/* Run fn with the log going to a file; the file's text into text. */
static void
logged(void (*fn)(void), char *text, size_t cap)
{
	char path[] = "/tmp/dtp-unit-cache.XXXXXX";
	int fd = mkstemp(path), level = log_level;
	size_t n = 0;
	FILE *f;

	text[0] = '\0';
	if (fd == -1 || log_open(path) != 0) {
		unit_fail(__FILE__, __LINE__, "cannot log to %s", path);
		return;
	}
	close(fd);
	log_level = LOG_LEVEL_DEBUG;
	fn();
	log_level = level;
	log_open(NULL);
	if ((f = fopen(path, "r")) != NULL) {
		n = fread(text, 1, cap - 1, f);
		fclose(f);
	}
	text[n] = '\0';
	unlink(path);
}

/* The stats line, the -d memory plan line and the metrics figures say what
 * cache_stats says, and that the cache is off when it is. */
static void
test_reports(void)
{
	struct msg q, a;
	struct cache_result res;
	struct metrics_figure figs[METRICS_CACHE_FIGURES];
	char text[1024], want[256];
	unsigned n, i;

	if (setup(256) != 0)
		return;
	query(&q, 1, "report.example", 1, Q_RD);
	answer_a(&a, "report.example", 300, 1);
	CHECK(lookup(&q, 0, T0, &res) == CACHE_MISS, "hit before insert");
	CHECK_EQ_INT(insert(&q, &a, T0), 0);
	CHECK(lookup(&q, 0, T0, &res) == CACHE_FRESH, "miss after insert");
	CHECK(lookup(&q, 0, T0 + SEC, &res) == CACHE_FRESH, "miss after insert");
	logged(cache_log_stats, text, sizeof(text));
	snprintf(want, sizeof(want), "--- Stats of cache: hits 2 / misses 1 / stale 0 / prefetch 0 / "
	    "evictions 0 / inserts 1 / uncacheable 0 / entries 1 / bytes %zu / capacity %zu\n",
	    cache_stats()->bytes, cache_stats()->capacity);
	CHECK(strstr(text, want) != NULL, "stats line: %s", text);
	logged(cache_log_memory, text, sizeof(text));
	/* 256 KiB: 2048 buckets of 4 bytes (one per 128 bytes), the rest ring. */
	CHECK(strstr(text, "DEBUG - memory: cache 256 KiB (index of 2048 buckets + ring of 253952 "
	    "bytes: about 1984 answers of 128 bytes)\n") != NULL, "memory line: %s", text);
	n = cache_figures(figs, METRICS_CACHE_FIGURES);
	CHECK_EQ_INT(n, 10);
	for (i = 0; i < n; i++) {
		CHECK(figs[i].help != NULL && figs[i].name != NULL, "figure %u unnamed", i);
		if (strcmp(figs[i].name, "hits_total") == 0)
			CHECK(figs[i].counter && figs[i].value == 2, "hits_total %llu", (unsigned long long)figs[i].value);
		if (strcmp(figs[i].name, "entries") == 0)
			CHECK(!figs[i].counter && figs[i].value == 1, "entries %llu", (unsigned long long)figs[i].value);
		if (strcmp(figs[i].name, "capacity_bytes") == 0)
			CHECK_EQ_INT(figs[i].value, 253952);
	}
	CHECK_EQ_INT(cache_figures(figs, 3), 3);
	CHECK_EQ_INT(cache_init(0), 0);
	logged(cache_log_memory, text, sizeof(text));
	CHECK(strstr(text, "DEBUG - memory: cache off (--cache-size 0)\n") != NULL, "memory line: %s", text);
	logged(cache_log_stats, text, sizeof(text));
	CHECK(strstr(text, "--- Stats of cache: hits 0 / misses 0 /") != NULL &&
	    strstr(text, "/ capacity 0\n") != NULL, "stats line when off: %s", text);
	CHECK_EQ_INT(cache_figures(figs, METRICS_CACHE_FIGURES), 0);
}

const struct unit_test cache_tests[] = {
	{ "cache_keys", test_keys },
	{ "cache_key_bypass", test_key_bypass },
	{ "cache_hit_and_countdown", test_hit_and_countdown },
	{ "cache_cname_chain_pointers", test_cname_chain_pointers },
	{ "cache_flags_apart", test_flags_apart },
	{ "cache_upstream_opt_dropped", test_upstream_opt_dropped },
	{ "cache_negative_per_soa", test_negative_per_soa },
	{ "cache_cname_to_nodata", test_cname_to_nodata },
	{ "cache_never_cached", test_never_cached },
	{ "cache_ttl_clamps", test_ttl_clamps },
	{ "cache_prefetch_window", test_prefetch_window },
	{ "cache_stale_window", test_stale_window },
	{ "cache_ad_bit", test_ad_bit },
	{ "cache_replace_and_small_buffer", test_replace_and_small_buffer },
	{ "cache_flush_and_off", test_flush_and_off },
	{ "cache_flood_evicts", test_flood_evicts },
	{ "cache_ring_random", test_ring_random },
	{ "cache_reports", test_reports },
	{ "cache_burst_one_entry", test_burst_one_entry },
	{ NULL, NULL },
};
