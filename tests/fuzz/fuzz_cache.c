/* SPDX-License-Identifier: MIT */
/* Fuzz target: the answer cache's insert and lookup paths, on the smallest
 * cache (so the ring wraps and evicts) and a clock the input moves. The
 * first byte picks the TTL settings; then operations, each an op byte, a
 * 16-bit length and that many bytes:
 *   op & 3 == 0  store the bytes as an upstream answer to a query made from
 *                its question (RD, CD, EDNS, DO and the name's case from the
 *                op's other bits); a stored answer must then be found
 *   op & 3 == 1  look up the query made from the bytes the same way
 *   op & 3 == 2  move the clock on by length seconds (no bytes follow)
 *   op & 3 == 3  the bytes as a client's query to cache_key, which must give
 *                no key to a query without RD; length 0 flushes
 * After every operation the ring and the index must agree (cache_audit),
 * and every reply must parse to its end, carry the query's ID and question,
 * and give every record the TTL the lookup reported. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "cache.h"
#include "dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEC 1000000ULL
#define OP_RD 0x04
#define OP_CD 0x08
#define OP_EDNS 0x10
#define OP_DO 0x20
#define OP_UPPER 0x40
#define OP_STALE 0x80

static uint64_t now;

static void
fail(const char *what)
{
	fprintf(stderr, "fuzz_cache: %s\n", what);
	abort();
}

static void
audit(void)
{
	char why[256];

	if (cache_audit(why, sizeof(why)) != 0)
		fail(why);
}

/* A query asking the question at the start of msg (after its header):
 * returns its length, or 0 when msg has no plain question there. */
static size_t
make_query(const uint8_t *msg, size_t len, unsigned op, uint8_t *q)
{
	size_t pos = DNS_HEADER_LEN, i;

	if (len < DNS_HEADER_LEN)
		return 0;
	for (;;) {
		if (pos >= len || msg[pos] > DNS_LABEL_MAX || pos + 1 + msg[pos] > len)
			return 0;
		if (msg[pos] == 0)
			break;
		pos += 1 + (size_t)msg[pos];
	}
	pos += 5;
	if (pos > len || pos > DNS_HEADER_LEN + DNS_NAME_MAX + 4)
		return 0;
	memset(q, 0, DNS_HEADER_LEN);
	q[0] = 0x5a;
	q[1] = (uint8_t)op;
	q[2] = op & OP_RD ? 0x01 : 0;
	q[3] = op & OP_CD ? 0x10 : 0;
	q[5] = 1;
	memcpy(q + DNS_HEADER_LEN, msg + DNS_HEADER_LEN, pos - DNS_HEADER_LEN);
	if (op & OP_UPPER)
		for (i = DNS_HEADER_LEN; i < pos - 4; i++)
			if (q[i] >= 'a' && q[i] <= 'z')
				q[i] = (uint8_t)(q[i] - 32);
	if (op & (OP_EDNS | OP_DO)) {
		static const uint8_t opt[11] = { 0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0 };

		memcpy(q + pos, opt, sizeof(opt));
		if (op & OP_DO)
			q[pos + 7] = 0x80;
		q[11] = 1;
		pos += sizeof(opt);
	}
	return pos;
}

static void
check_reply(const uint8_t *q, size_t qlen, const struct cache_key *k, const struct cache_result *res,
    const uint8_t *out)
{
	static uint8_t copy[CACHE_REPLY_MAX];
	struct dns_query_info qi;
	size_t off;
	unsigned i, count;

	if (res->len > CACHE_REPLY_MAX)
		fail("reply longer than CACHE_REPLY_MAX");
	if ((res->state == CACHE_FRESH || res->state == CACHE_PREFETCH) && res->len == 0)
		fail("a hit with no reply");
	if (res->state == CACHE_MISS && (res->len != 0 || res->refresh))
		fail("a miss with a reply or a refresh");
	if (res->len == 0)
		return;
	if (res->state == CACHE_STALE ? res->ttl != CACHE_STALE_TTL : res->ttl == 0 || res->ttl > MAX_CACHE_TTL)
		fail("reply TTL out of range");
	memcpy(copy, out, res->len);
	copy[2] &= 0x7f;
	if ((out[2] & 0x80) == 0 || dns_check_query(copy, res->len, &qi) != DNS_FORWARD)
		fail("reply does not parse");
	if (memcmp(out, q, 2) != 0 || qi.qend != k->qend ||
	    memcmp(out + DNS_HEADER_LEN, q + DNS_HEADER_LEN, k->qend - DNS_HEADER_LEN) != 0)
		fail("reply's ID or question is not the query's");
	if ((qi.opt_off != 0) != (k->edns != 0) || qlen < k->qend)
		fail("reply's OPT does not follow the query's");
	count = (unsigned)dns_get16(out + 6) + dns_get16(out + 8) + dns_get16(out + 10);
	for (off = qi.qend, i = 0; i < count; i++) {
		int e = dns_name_end(out, res->len, off);

		if (e < 0)
			fail("reply record does not parse");
		if (dns_get16(out + e) != DNS_TYPE_OPT &&
		    ((uint32_t)dns_get16(out + e + 4) << 16 | dns_get16(out + e + 6)) != res->ttl)
			fail("a record's TTL is not the reported TTL");
		off = (size_t)e + 10 + dns_get16(out + e + 8);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	static uint8_t q[DNS_HEADER_LEN + DNS_NAME_MAX + 4 + 11], out[CACHE_REPLY_MAX];
	static const uint32_t stale_choices[] = { DEF_STALE_MAX_S, 0, 60, 3600 };
	struct cache_key k;
	struct cache_result res;
	size_t off = 1;

	if (!ready) {
		if (cache_init(CACHE_MIN_KIB) != 0)
			fail("cache_init");
		ready = 1;
	}
	if (size < 1)
		return 0;
	cache_flush();
	cache_set_ttl(data[0] & 1 ? 60 : 0, data[0] & 2 ? 300 : DEF_CACHE_MAX_TTL,
	    stale_choices[(data[0] >> 2) & 3]);
	now = 1000 * SEC;
	while (off + 3 <= size) {
		unsigned op = data[off];
		size_t len = (size_t)data[off + 1] << 8 | data[off + 2], qlen;
		const uint8_t *msg = data + off + 3;

		off += 3;
		if ((op & 3) == 2) {
			now += len * SEC;
			continue;
		}
		if (len > size - off)
			len = size - off;
		off += len;
		switch (op & 3) {
		case 0:
			if ((qlen = make_query(msg, len, op, q)) == 0 || cache_key(q, qlen, &k) != 0)
				break;
			if (cache_insert(&k, msg, len, now) == 0) {
				audit();
				cache_lookup(&k, q, 0, now, out, sizeof(out), &res);
				if (res.state != CACHE_FRESH)
					fail("a stored answer is not found fresh");
				check_reply(q, qlen, &k, &res, out);
			}
			break;
		case 1:
			if ((qlen = make_query(msg, len, op, q)) == 0 || cache_key(q, qlen, &k) != 0)
				break;
			cache_lookup(&k, q, (op & OP_STALE) != 0, now, out, sizeof(out), &res);
			check_reply(q, qlen, &k, &res, out);
			break;
		default:
			if (len == 0)
				cache_flush();
			else if (cache_key(msg, len, &k) == 0 && (k.qend > len || k.len < 6))
				fail("cache_key made a key past the query");
			else if (len > 2 && (msg[2] & 0x01) == 0 && cache_key(msg, len, &k) == 0)
				fail("a query without RD got a key");
			break;
		}
		audit();
		if (cache_stats()->bytes > cache_stats()->capacity)
			fail("the ring holds more than its capacity");
	}
	return 0;
}
