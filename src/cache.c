/* SPDX-License-Identifier: MIT */
/* The answer cache. cache_init reserves one block: a hash index (bucket
 * heads) and a ring in which entries lie back to back, each a header, its
 * key and the answer's sections as the upstream sent them (OPT left out).
 *
 * Why a ring, not uthash over an arena as src/pending.c: answers run from
 * 30 bytes to 4 KiB, so fixed slots would waste most of each, and size
 * classes fix at start-up a split between sizes that traffic then ignores.
 * In a ring an entry wastes only its rounding to 8 bytes, there are no free
 * lists and no fragmentation, and eviction is the oldest entry, always the
 * one at the tail. A hit on an entry in the older half of the ring copies
 * it to the head, so names in use stay while a flood of new names passes
 * through (LRU, approximately, for one copy per half turn of the ring).
 * The index is our own chained hash of 32-bit ring offsets, one 4-byte
 * bucket per CACHE_BUCKET_BYTES of cache, keyed with SipHash-2-4 under a
 * random key so that clients cannot aim names at one chain.
 *
 * A reply is the query's header and question, then the stored sections.
 * Compression pointers in them stay valid: they point at offsets of the
 * answer, whose question has the same length as the client's (the names
 * differ at most in case), and the OPT record, always the last, is cut
 * from the end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "dns.h"
#include "feature.h"
#include "log.h"
#include "metrics.h"
#include "port.h"

#if FEATURE_CACHE

#define FLAG_QR 0x80 /* byte 2 */
#define FLAG_OPCODE 0x78
#define FLAG_TC 0x02
#define FLAG_RD 0x01
#define FLAG_RA 0x80 /* byte 3 */
#define FLAG_AD 0x20
#define FLAG_CD 0x10

#define TYPE_SOA 6
#define TYPE_TSIG 250
#define OPT_ECS 8    /* EDNS Client Subnet, RFC 7871 */
#define OPT_LEN 11   /* an OPT record without options */

/* An entry's header in the ring; its key (cache_key.wire) and sections
 * follow. */
struct entry {
	uint32_t next;     /* next in its hash chain: ring offset + 1; 0 ends it */
	uint32_t hash;
	uint32_t born;     /* seconds, when stored */
	uint32_t ttl;      /* seconds it stays fresh */
	uint16_t size;     /* bytes it takes in the ring, header included */
	uint16_t data_len; /* bytes of sections */
	uint16_t an, ns, ar; /* records in each section, OPT not counted */
	uint16_t key_len;
	uint8_t flags2, flags3; /* the answer's header bytes 2 and 3 */
	uint8_t state;     /* ENTRY_* */
	uint8_t unused;
};
#define ENTRY_LIVE 0x01    /* in the index; else dropped, its bytes wait for the tail */
#define ENTRY_REFRESH 0x02 /* a refresh was asked for */

_Static_assert(sizeof(struct entry) == 32, "entry header is 32 bytes");
_Static_assert(sizeof(struct entry) + DNS_NAME_MAX + 5 + CACHE_ANSWER_MAX + 7 <= 0xffff,
    "entry size fits 16 bits");

static uint8_t *block;          /* the whole reservation */
static size_t block_size;
static uint32_t *buckets;       /* ring offset + 1 of each chain's first entry */
static uint32_t bucket_mask;
static uint8_t *ring;
static uint32_t ring_size;
/* Entries lie from tail to head; when wrapped, from tail to wrap, then
 * from 0 to head, and [head, tail) is free. */
static uint32_t head, tail, wrap;
static int wrapped;
static uint32_t min_ttl = DEF_CACHE_MIN_TTL, max_ttl = DEF_CACHE_MAX_TTL;
static uint32_t stale_max = DEF_STALE_MAX_S;
static uint64_t sip_k0, sip_k1;
static struct cache_stats st;

static uint8_t
lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
min32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

static uint32_t
seconds(uint64_t now)
{
	return (uint32_t)(now / 1000000);
}

/* SipHash-2-4 (Aumasson and Bernstein, 2012). */
#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                        \
	do {                                                            \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                  \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                  \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
	} while (0)

static uint64_t
siphash(const uint8_t *in, size_t len)
{
	uint64_t v0 = 0x736f6d6570736575ULL ^ sip_k0, v1 = 0x646f72616e646f6dULL ^ sip_k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ sip_k0, v3 = 0x7465646279746573ULL ^ sip_k1;
	uint64_t m, last = (uint64_t)len << 56;
	size_t i, j, end = len - len % 8;

	for (i = 0; i < end; i += 8) {
		for (m = 0, j = 0; j < 8; j++)
			m |= (uint64_t)in[i + j] << (8 * j);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (j = 0; j < len % 8; j++)
		last |= (uint64_t)in[end + j] << (8 * j);
	v3 ^= last;
	SIPROUND;
	SIPROUND;
	v0 ^= last;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

size_t
cache_memory(unsigned kib)
{
	return (size_t)kib * 1024;
}

void
cache_flush(void)
{
	if (ring == NULL)
		return;
	memset(buckets, 0, ((size_t)bucket_mask + 1) * sizeof(*buckets));
	head = tail = wrap = 0;
	wrapped = 0;
	st.entries = 0;
	st.bytes = 0;
}

int
cache_init(unsigned kib)
{
	size_t total = cache_memory(kib), nbuckets = 16;
	uint8_t key[16];
	int i;

	free(block);
	block = ring = NULL;
	buckets = NULL;
	memset(&st, 0, sizeof(st));
	if (kib == 0)
		return 0;
	if (kib < CACHE_MIN_KIB || kib > MAX_CACHE_KIB || port_entropy(key, sizeof(key)) != 0)
		return -1;
	for (sip_k0 = sip_k1 = 0, i = 0; i < 8; i++) {
		sip_k0 |= (uint64_t)key[i] << (8 * i);
		sip_k1 |= (uint64_t)key[8 + i] << (8 * i);
	}
	while (nbuckets * 2 * CACHE_BUCKET_BYTES <= total)
		nbuckets *= 2;
	/* Untouched pages cost nothing: the ring is resident only as far as
	 * entries have filled it. */
	if ((block = malloc(total)) == NULL)
		return -1;
	block_size = total;
	buckets = (uint32_t *)(void *)block;
	bucket_mask = (uint32_t)nbuckets - 1;
	ring = block + nbuckets * sizeof(*buckets);
	ring_size = (uint32_t)(total - nbuckets * sizeof(*buckets)) & ~7u;
	st.capacity = ring_size;
	cache_flush();
	return 0;
}

void
cache_set_ttl(uint32_t min, uint32_t max, uint32_t stale)
{
	max_ttl = min32(max, MAX_CACHE_TTL);
	min_ttl = min32(min, max_ttl);
	stale_max = stale;
}

const struct cache_stats *
cache_stats(void)
{
	return &st;
}

void
cache_log_stats(void)
{
	log_stats("--- Stats of cache: hits %llu / misses %llu / stale %llu / prefetch %llu / "
	    "evictions %llu / inserts %llu / uncacheable %llu / entries %u / bytes %zu / capacity %zu",
	    (unsigned long long)st.hits, (unsigned long long)st.misses,
	    (unsigned long long)st.stale, (unsigned long long)st.prefetch,
	    (unsigned long long)st.evictions, (unsigned long long)st.inserts,
	    (unsigned long long)st.uncacheable, st.entries, st.bytes, st.capacity);
}

void
cache_log_memory(void)
{
	if (ring == NULL) {
		log_debug("memory: cache off (--cache-size 0)");
		return;
	}
	/* The index is sized for one entry per CACHE_BUCKET_BYTES, about a
	 * typical answer's (docs/cache.md); 4 KiB answers make it fewer. */
	log_debug("memory: cache %zu KiB (index of %u buckets + ring of %u bytes: about %u answers "
	    "of %d bytes)", block_size / 1024, bucket_mask + 1, ring_size, ring_size / CACHE_BUCKET_BYTES, CACHE_BUCKET_BYTES);
}

unsigned
cache_figures(struct metrics_figure *out, unsigned max)
{
	const struct metrics_figure figs[] = {
		{ "hits_total", "Answers given from the cache while fresh (the prefetch window included).", 1, st.hits },
		{ "misses_total", "Lookups that gave no answer, so the query went upstream.", 1, st.misses },
		{ "stale_total", "Expired answers given (RFC 8767 serve-stale).", 1, st.stale },
		{ "prefetch_total", "Refreshes asked for by hits near expiry.", 1, st.prefetch },
		{ "evictions_total", "Live entries dropped to make room.", 1, st.evictions },
		{ "inserts_total", "Answers stored.", 1, st.inserts },
		{ "uncacheable_total", "Answers offered and not stored.", 1, st.uncacheable },
		{ "entries", "Entries held.", 0, st.entries },
		{ "bytes", "Bytes of the cache's ring in use.", 0, st.bytes },
		{ "capacity_bytes", "Bytes of the cache's ring.", 0, st.capacity },
	};
	unsigned n = sizeof(figs) / sizeof(figs[0]);

	if (ring == NULL)
		return 0;
	if (n > max)
		n = max;
	memcpy(out, figs, n * sizeof(figs[0]));
	return n;
}

int
cache_key(const uint8_t *q, size_t qlen, struct cache_key *key)
{
	size_t pos = DNS_HEADER_LEN, off, n = 0;
	unsigned i, count, before_ar;
	uint16_t qtype;
	uint8_t kflags;

	/* RD clear asks for the upstream's own view as it is now (a
	 * secondary's SOA refresh, a probe of a resolver's cache): an answer
	 * kept here would hide a change, such as a new serial, for its TTL. */
	if (qlen < DNS_HEADER_LEN || qlen > DNS_MSG_MAX || (q[2] & (FLAG_QR | FLAG_OPCODE)) != 0 ||
	    (q[2] & FLAG_RD) == 0 || dns_get16(q + 4) != 1)
		return -1;
	/* The question's name, as labels (no compression in a query's
	 * question, as dns_check_query wants), folded to lower case. */
	for (;;) {
		uint8_t b;

		if (pos >= qlen || (b = q[pos]) > DNS_LABEL_MAX || n + 1 + b > DNS_NAME_MAX ||
		    pos + 1 + b > qlen)
			return -1;
		key->wire[n++] = b;
		pos++;
		if (b == 0)
			break;
		for (i = 0; i < b; i++)
			key->wire[n++] = lower(q[pos + i]);
		pos += b;
	}
	if (pos + 4 > qlen)
		return -1;
	qtype = dns_get16(q + pos);
	/* Meta and transfer types (RFC 6895 §3.1): not answers to keep. */
	if (qtype == DNS_TYPE_OPT || (qtype >= 128 && qtype <= 254))
		return -1;
	memcpy(key->wire + n, q + pos, 4);
	n += 4;
	pos += 4;
	key->qend = (uint16_t)pos;
	key->edns = 0;
	key->ad = (q[3] & FLAG_AD) != 0;
	kflags = q[3] & FLAG_CD ? CACHE_KEY_CD : 0;
	before_ar = (unsigned)dns_get16(q + 6) + dns_get16(q + 8);
	count = before_ar + dns_get16(q + 10);
	for (off = pos, i = 0; i < count; i++) {
		int e = dns_name_end(q, qlen, off);
		size_t rd, end;
		uint16_t type;

		if (e < 0 || (size_t)e + 10 > qlen)
			return -1;
		type = dns_get16(q + e);
		rd = (size_t)e + 10;
		end = rd + dns_get16(q + e + 8);
		if (end > qlen || type == TYPE_TSIG)
			return -1;
		if (type == DNS_TYPE_OPT) {
			/* One, in the additional section, root owner, version 0
			 * (else the answer is BADVERS), no Client Subnet. */
			if (i < before_ar || key->edns || q[off] != 0 || q[e + 5] != 0)
				return -1;
			key->edns = 1;
			if (q[e + 6] & 0x80)
				kflags |= CACHE_KEY_DO;
			while (rd < end) {
				if (rd + 4 > end || rd + 4 + dns_get16(q + rd + 2) > end ||
				    dns_get16(q + rd) == OPT_ECS)
					return -1;
				rd += 4 + (size_t)dns_get16(q + rd + 2);
			}
		}
		off = end;
	}
	if (off != qlen)
		return -1;
	key->wire[n++] = kflags;
	key->len = (uint16_t)n;
	key->hash = (uint32_t)siphash(key->wire, n);
	return 0;
}

static struct entry *
entry_at(uint32_t off)
{
	return (struct entry *)(void *)(ring + off);
}

static uint8_t *
entry_key(struct entry *e)
{
	return (uint8_t *)(e + 1);
}

static uint32_t
entry_bytes(size_t key_len, size_t data_len)
{
	return (uint32_t)((sizeof(struct entry) + key_len + data_len + 7) & ~(size_t)7);
}

/* Ring offset + 1 of key's entry, or 0. */
static uint32_t
find(const struct cache_key *key)
{
	uint32_t ref = buckets[key->hash & bucket_mask];

	while (ref != 0) {
		struct entry *e = entry_at(ref - 1);

		if (e->hash == key->hash && e->key_len == key->len &&
		    memcmp(entry_key(e), key->wire, key->len) == 0)
			return ref;
		ref = e->next;
	}
	return 0;
}

static void
link_entry(uint32_t off)
{
	struct entry *e = entry_at(off);
	uint32_t *b = &buckets[e->hash & bucket_mask];

	e->next = *b;
	*b = off + 1;
	e->state |= ENTRY_LIVE;
	st.entries++;
}

/* Take a live entry out of the index; its bytes stay until the tail
 * passes them. */
static void
unlink_entry(uint32_t off)
{
	struct entry *e = entry_at(off);
	uint32_t *p = &buckets[e->hash & bucket_mask];

	while (*p != 0 && *p != off + 1)
		p = &entry_at(*p - 1)->next;
	if (*p != 0)
		*p = e->next;
	e->state &= (uint8_t)~ENTRY_LIVE;
	st.entries--;
}

/* Drop the oldest entry. Only while wrapped: unwrapped, the free room is
 * at the head and alloc wraps first. */
static void
evict_tail(void)
{
	struct entry *e = entry_at(tail);

	if (e->state & ENTRY_LIVE) {
		unlink_entry(tail);
		st.evictions++;
	}
	tail += e->size;
	st.bytes -= e->size;
	if (wrapped && tail == wrap) {
		tail = 0;
		wrapped = 0;
	}
	if (st.bytes == 0) {
		head = tail = 0;
		wrapped = 0;
	}
}

/* Room for size bytes at the head, evicting from the tail as needed. The
 * bytes of entries evicted or dropped are not written here: a dropped
 * entry can still be copied from (promote). size <= ring_size / 4. */
static uint32_t
ring_alloc(uint32_t size)
{
	uint32_t off;

	for (;;) {
		if (!wrapped) {
			if (ring_size - head >= size)
				break;
			/* [head, ring_size) stays unused until the tail wraps too. */
			wrap = head;
			head = 0;
			wrapped = 1;
		}
		if (tail - head >= size)
			break;
		evict_tail();
	}
	off = head;
	head += size;
	st.bytes += size;
	return off;
}

/* Bytes written to the ring since the entry at off. */
static uint32_t
ring_age(uint32_t off)
{
	return off < head ? head - off : wrap - off + head;
}

/* Copy a hit entry in the older half of the ring to the head, so a name in
 * use is not the next evicted. */
static void
promote(uint32_t off)
{
	uint32_t size = entry_at(off)->size, to;

	unlink_entry(off);
	to = ring_alloc(size);
	/* The source is out of the index: nothing alloc did wrote into it. */
	memmove(ring + to, ring + off, size);
	link_entry(to);
}

/* RFC 8767 §4: a TTL with the high bit set is positive, and capped at
 * 7 days like every other. */
static uint32_t
ttl_value(const uint8_t *p)
{
	return min32(get32(p), MAX_CACHE_TTL);
}

struct answer_info {
	size_t data_end;   /* the sections end here (the OPT record starts) */
	unsigned an, ns, ar;
	uint32_t ttl;
};

#define TYPE_NS 2
#define TYPE_CNAME 5
#define TYPE_PTR 12
#define TYPE_MX 15
/* Bytes of an answer a kept name can reach: the question and sections. */
#define SPAN_MAX (DNS_HEADER_LEN + DNS_NAME_MAX + 4 + CACHE_ANSWER_MAX)

/* A bit per byte of the answer, set on the TTL fields seen so far. */
struct ttl_map {
	uint8_t bits[(SPAN_MAX + 7) / 8];
};

static int
in_ttl(const struct ttl_map *m, size_t pos)
{
	return (m->bits[pos / 8] >> (pos % 8)) & 1;
}

/* Does the name at off (checked by dns_name_end) read a TTL byte, through
 * a compression pointer aimed into a TTL field? Legal on the wire, but the
 * name would change when the reply's TTLs are written. Pointers point
 * backwards, so every TTL it can reach is already marked. */
static int
reads_ttl(const uint8_t *msg, size_t off, const struct ttl_map *m)
{
	for (;;) {
		size_t i;

		if (in_ttl(m, off))
			return 1;
		if ((msg[off] & 0xc0) == 0xc0) {
			if (in_ttl(m, off + 1))
				return 1;
			off = (size_t)(msg[off] & 0x3f) << 8 | msg[off + 1];
			continue;
		}
		if (msg[off] == 0)
			return 0;
		for (i = 1; i <= msg[off]; i++)
			if (in_ttl(m, off + i))
				return 1;
		off += 1 + (size_t)msg[off];
	}
}

/* The end of a well-formed name at off that ends by limit and reads no
 * TTL byte, else -1. */
static int
kept_name(const uint8_t *msg, size_t off, size_t limit, const struct ttl_map *m)
{
	int e = dns_name_end(msg, limit, off);

	return e < 0 || reads_ttl(msg, off, m) ? -1 : e;
}

/* The names in a record's RDATA that may be compressed (RFC 1035 types,
 * RFC 3597 §4; the obsolete MB, MD, MF, MG, MINFO and MR left out): each
 * well-formed, filling the RDATA, reading no TTL byte. For an SOA (RFC 2308
 * §5), *minimum gets min(TTL, MINIMUM). */
static int
check_rdata(const uint8_t *a, uint16_t type, size_t rd, size_t end, const struct ttl_map *m,
    uint32_t ttl, uint32_t *minimum)
{
	int e;

	switch (type) {
	case TYPE_NS:
	case TYPE_CNAME:
	case TYPE_PTR:
		return kept_name(a, rd, end, m) == (int)end ? 0 : -1;
	case TYPE_MX:
		return rd + 2 < end && kept_name(a, rd + 2, end, m) == (int)end ? 0 : -1;
	case TYPE_SOA:
		if ((e = kept_name(a, rd, end, m)) < 0 || (e = kept_name(a, (size_t)e, end, m)) < 0 ||
		    (size_t)e + 20 != end)
			return -1;
		*minimum = min32(*minimum, min32(ttl, ttl_value(a + end - 4)));
		return 0;
	default:
		return 0;
	}
}

/* Is this answer one to keep for key, and for how long? */
static int
check_answer(const struct cache_key *key, const uint8_t *a, size_t alen, struct answer_info *ai)
{
	size_t qend = DNS_HEADER_LEN + (size_t)key->len - 1, name_len = (size_t)key->len - 5, off, i;
	uint32_t least = UINT32_MAX, neg = UINT32_MAX, unused = UINT32_MAX;
	struct ttl_map ttls;
	unsigned count;
	int rcode, opt = 0, soa = 0;

	if (alen < DNS_HEADER_LEN || alen > DNS_MSG_MAX || (a[2] & FLAG_QR) == 0 ||
	    (a[2] & (FLAG_OPCODE | FLAG_TC)) != 0 || dns_get16(a + 4) != 1 || qend > alen)
		return -1;
	rcode = dns_rcode(a);
	if (rcode != DNS_RCODE_NOERROR && rcode != DNS_RCODE_NXDOMAIN)
		return -1;
	/* The question is the key's: same labels (length bytes are under 'A',
	 * so folding leaves them be), type and class. */
	for (i = 0; i < name_len; i++)
		if (lower(a[DNS_HEADER_LEN + i]) != key->wire[i])
			return -1;
	if (memcmp(a + DNS_HEADER_LEN + name_len, key->wire + name_len, 4) != 0)
		return -1;
	memset(&ttls, 0, sizeof(ttls));
	ai->an = dns_get16(a + 6);
	ai->ns = dns_get16(a + 8);
	ai->ar = dns_get16(a + 10);
	ai->data_end = alen;
	count = ai->an + ai->ns + ai->ar;
	for (off = qend, i = 0; i < count; i++) {
		int e = dns_name_end(a, alen, off);
		size_t rd, end, pos;
		uint16_t type;
		uint32_t ttl;

		if (e < 0 || (size_t)e + 10 > alen)
			return -1;
		type = dns_get16(a + e);
		rd = (size_t)e + 10;
		end = rd + dns_get16(a + e + 8);
		if (end > alen || type == TYPE_TSIG)
			return -1;
		if (type == DNS_TYPE_OPT) {
			/* In the additional section, once, root owner (RFC 6891
			 * §6.1.1), no extended RCODE or version; and the last
			 * record, so cutting it moves nothing. */
			if (i < (size_t)ai->an + ai->ns || opt || a[off] != 0 || end != alen ||
			    a[e + 4] != 0 || a[e + 5] != 0)
				return -1;
			opt = 1;
			ai->data_end = off;
			off = end;
			continue;
		}
		/* Past the largest answer kept: no need to look further (and
		 * the TTL map covers no more). */
		if (end - qend > CACHE_ANSWER_MAX || reads_ttl(a, off, &ttls))
			return -1;
		ttl = ttl_value(a + e + 4);
		least = min32(least, ttl);
		for (pos = (size_t)e + 4; pos < (size_t)e + 8; pos++)
			ttls.bits[pos / 8] |= (uint8_t)(1u << (pos % 8));
		/* RFC 2308 §5: a negative answer lives min(SOA TTL, SOA
		 * MINIMUM); an SOA elsewhere bounds nothing. */
		if (type == TYPE_SOA && i >= ai->an && i < (size_t)ai->an + ai->ns) {
			soa = 1;
			if (check_rdata(a, type, rd, end, &ttls, ttl, &neg) != 0)
				return -1;
		} else if (check_rdata(a, type, rd, end, &ttls, ttl, &unused) != 0) {
			return -1;
		}
		off = end;
	}
	if (off != alen)
		return -1;
	ai->ar -= (unsigned)opt;
	if (rcode == DNS_RCODE_NXDOMAIN || ai->an == 0) {
		/* NXDOMAIN or NODATA: only with an SOA (RFC 2308 §5); a referral
		 * is not an answer. */
		if (!soa)
			return -1;
		ai->ttl = min32(min32(least, neg), min32(max_ttl, CACHE_NEG_TTL_MAX));
	} else {
		/* A CNAME chain to a name with no data carries an SOA too. */
		ai->ttl = min32(least, neg);
		if (ai->ttl < min_ttl)
			ai->ttl = min_ttl;
		ai->ttl = min32(ai->ttl, max_ttl);
	}
	return ai->ttl == 0 ? -1 : 0;
}

int
cache_insert(const struct cache_key *key, const uint8_t *a, size_t alen, uint64_t now)
{
	size_t qend = DNS_HEADER_LEN + (size_t)key->len - 1;
	struct answer_info ai;
	struct entry *e;
	uint32_t ref, size, off;

	if (ring == NULL)
		return -1;
	if (check_answer(key, a, alen, &ai) != 0 ||
	    (size = entry_bytes(key->len, ai.data_end - qend)) > ring_size / 4) {
		st.uncacheable++;
		return -1;
	}
	if ((ref = find(key)) != 0) {
		struct entry *old = entry_at(ref - 1);

		/* A burst of one question before its first answer came sends
		 * each copy upstream, and each answer comes here: keep the one
		 * stored this second (fresh, no refresh asked for) rather than
		 * fill the ring with copies that evict other names. */
		if (old->born == seconds(now) && old->ttl > 0 && !(old->state & ENTRY_REFRESH) &&
		    old->data_len == ai.data_end - qend && old->key_len == key->len)
			return 0;
		unlink_entry(ref - 1);
	}
	off = ring_alloc(size);
	e = entry_at(off);
	memset(e, 0, sizeof(*e));
	e->hash = key->hash;
	e->born = seconds(now);
	e->ttl = ai.ttl;
	e->size = (uint16_t)size;
	e->data_len = (uint16_t)(ai.data_end - qend);
	e->an = (uint16_t)ai.an;
	e->ns = (uint16_t)ai.ns;
	e->ar = (uint16_t)ai.ar;
	e->key_len = key->len;
	e->flags2 = a[2];
	e->flags3 = a[3];
	memcpy(entry_key(e), key->wire, key->len);
	memcpy(entry_key(e) + key->len, a + qend, e->data_len);
	link_entry(off);
	st.inserts++;
	return 0;
}

/* Set the TTL of count records from off to ttl; they must end at end. */
static int
set_ttls(uint8_t *msg, size_t off, size_t end, unsigned count, uint32_t ttl)
{
	while (count-- > 0) {
		/* Skip the owner name: stored names were checked on the way in. */
		for (;;) {
			if (off >= end)
				return -1;
			if ((msg[off] & 0xc0) == 0xc0) {
				off += 2;
				break;
			}
			if (msg[off] == 0) {
				off++;
				break;
			}
			off += (size_t)msg[off] + 1;
		}
		if (off + 10 > end)
			return -1;
		put32(msg + off + 4, ttl);
		off += 10 + (size_t)dns_get16(msg + off + 8);
	}
	return off == end ? 0 : -1;
}

/* The reply to query from entry e with every TTL ttl; its length, or 0 when
 * it does not fit cap. */
static size_t
build_reply(struct entry *e, const struct cache_key *key, const uint8_t *q, uint32_t ttl,
    uint8_t *out, size_t cap)
{
	size_t qend = key->qend, end = qend + e->data_len;
	int dnssec_ok = (key->wire[key->len - 1] & CACHE_KEY_DO) != 0;

	if (end + (key->edns ? OPT_LEN : 0) > cap || qend != DNS_HEADER_LEN + (size_t)key->len - 1)
		return 0;
	memcpy(out, q, 2);
	/* No answer from a cache claims authority (AA clear). AD only to a
	 * client that asked with AD or DO (RFC 6840 §5.7, §5.8). RD (always
	 * set: see cache_key) and CD are the query's, which are the key's. */
	out[2] = (uint8_t)(FLAG_QR | (q[2] & FLAG_RD));
	out[3] = (uint8_t)((e->flags3 & (FLAG_RA | 0x0f)) | (q[3] & FLAG_CD) |
	    (key->ad || dnssec_ok ? e->flags3 & FLAG_AD : 0));
	dns_put16(out + 4, 1);
	dns_put16(out + 6, e->an);
	dns_put16(out + 8, e->ns);
	dns_put16(out + 10, (uint16_t)(e->ar + key->edns));
	memcpy(out + DNS_HEADER_LEN, q + DNS_HEADER_LEN, qend - DNS_HEADER_LEN);
	memcpy(out + qend, entry_key(e) + e->key_len, e->data_len);
	if (set_ttls(out, qend, end, (unsigned)e->an + e->ns + e->ar, ttl) != 0)
		return 0;
	if (key->edns) {
		/* Our own OPT (RFC 6891 §7): our UDP size, DO as asked (RFC 3225
		 * §3), no options: the client's options are its own. */
		uint8_t *p = out + end;

		p[0] = 0;
		dns_put16(p + 1, DNS_TYPE_OPT);
		dns_put16(p + 3, DNS_EDNS_OUR_SIZE);
		put32(p + 5, dnssec_ok ? 0x8000 : 0);
		dns_put16(p + 9, 0);
		end += OPT_LEN;
	}
	return end;
}

void
cache_lookup(const struct cache_key *key, const uint8_t *q, int serve_stale, uint64_t now,
    uint8_t *out, size_t cap, struct cache_result *res)
{
	uint32_t ref, age, now_s = seconds(now);
	struct entry *e;
	enum cache_state state;

	memset(res, 0, sizeof(*res));
	if (ring == NULL)
		return;
	if ((ref = find(key)) == 0) {
		st.misses++;
		return;
	}
	e = entry_at(ref - 1);
	age = now_s > e->born ? now_s - e->born : 0;
	if (age >= e->ttl) {
		if (age - e->ttl >= stale_max) {
			/* Past --stale-max (or stale answers are off): gone. */
			unlink_entry(ref - 1);
			st.misses++;
			return;
		}
		state = CACHE_STALE;
		res->ttl = CACHE_STALE_TTL;
	} else {
		res->ttl = e->ttl - age;
		state = (uint64_t)res->ttl * CACHE_PREFETCH_SHARE <= e->ttl ? CACHE_PREFETCH : CACHE_FRESH;
	}
	if (state != CACHE_STALE || serve_stale) {
		res->len = build_reply(e, key, q, res->ttl, out, cap);
		if (res->len == 0) {
			res->ttl = 0;
			st.misses++;
			return;
		}
	}
	res->state = state;
	if (state != CACHE_FRESH && !(e->state & ENTRY_REFRESH)) {
		e->state |= ENTRY_REFRESH;
		res->refresh = 1;
		if (state == CACHE_PREFETCH)
			st.prefetch++;
	}
	if (res->len == 0)
		st.misses++;
	else if (state == CACHE_STALE)
		st.stale++;
	else
		st.hits++;
	if (res->len != 0 && ring_age(ref - 1) > ring_size / 2)
		promote(ref - 1);
}

static int
audit_fail(char *why, size_t len, const char *msg, uint32_t off)
{
	snprintf(why, len, "%s (offset %u; head %u tail %u wrap %u wrapped %d bytes %zu entries %u)",
	    msg, off, head, tail, wrap, wrapped, st.bytes, st.entries);
	return -1;
}

int
cache_audit(char *why, size_t len)
{
	uint32_t off = tail, b;
	size_t bytes = 0;
	unsigned live = 0, linked = 0;
	int w = wrapped;

	if (ring == NULL)
		return 0;
	if (st.bytes > ring_size || head > ring_size || tail > ring_size || (w && wrap > ring_size))
		return audit_fail(why, len, "ring pointers out of range", 0);
	while (bytes < st.bytes) {
		struct entry *e;

		if (w && off == wrap) {
			off = 0;
			w = 0;
		}
		if ((!w && off >= head) || off + sizeof(struct entry) > ring_size)
			return audit_fail(why, len, "ring walk passed the head", off);
		e = entry_at(off);
		if (e->size != entry_bytes(e->key_len, e->data_len) || off + e->size > ring_size ||
		    (w && off + e->size > wrap))
			return audit_fail(why, len, "entry size wrong", off);
		if (e->state & ENTRY_LIVE) {
			uint32_t ref = buckets[e->hash & bucket_mask];

			while (ref != 0 && ref != off + 1)
				ref = entry_at(ref - 1)->next;
			if (ref == 0)
				return audit_fail(why, len, "live entry not in its hash chain", off);
			live++;
		}
		bytes += e->size;
		off += e->size;
	}
	if (w && off == wrap) {
		off = 0;
		w = 0;
	}
	if (bytes != st.bytes || off != head || w)
		return audit_fail(why, len, "ring walk does not end at the head", off);
	for (b = 0; b <= bucket_mask; b++) {
		uint32_t ref;

		for (ref = buckets[b]; ref != 0; ref = entry_at(ref - 1)->next) {
			struct entry *e;

			if (ref - 1 >= ring_size || ++linked > live)
				return audit_fail(why, len, "hash chain has an entry the ring has not", ref - 1);
			e = entry_at(ref - 1);
			if (!(e->state & ENTRY_LIVE) || (e->hash & bucket_mask) != b)
				return audit_fail(why, len, "hash chain has a dropped or misplaced entry", ref - 1);
		}
	}
	if (linked != live || live != st.entries)
		return audit_fail(why, len, "entry counts disagree", linked);
	return 0;
}

#else /* !FEATURE_CACHE: a build without the cache (DTP_NO_CACHE). conf.c
       * refuses --cache-size other than 0, so none is ever reserved: every
       * lookup misses and nothing is stored. */

static struct cache_stats st;

size_t
cache_memory(unsigned kib)
{
	(void)kib;
	return 0;
}

int
cache_init(unsigned kib)
{
	return kib == 0 ? 0 : -1;
}

void
cache_set_ttl(uint32_t min, uint32_t max, uint32_t stale)
{
	(void)min, (void)max, (void)stale;
}

int
cache_key(const uint8_t *q, size_t qlen, struct cache_key *key)
{
	(void)q, (void)qlen;
	memset(key, 0, sizeof(*key));
	return -1;
}

void
cache_lookup(const struct cache_key *key, const uint8_t *q, int serve_stale, uint64_t now,
    uint8_t *out, size_t cap, struct cache_result *res)
{
	(void)key, (void)q, (void)serve_stale, (void)now, (void)out, (void)cap;
	memset(res, 0, sizeof(*res));
	res->state = CACHE_MISS;
}

int
cache_insert(const struct cache_key *key, const uint8_t *a, size_t alen, uint64_t now)
{
	(void)key, (void)a, (void)alen, (void)now;
	return -1;
}

void
cache_flush(void)
{
}

const struct cache_stats *
cache_stats(void)
{
	return &st;
}

void
cache_log_stats(void)
{
}

void
cache_log_memory(void)
{
}

unsigned
cache_figures(struct metrics_figure *out, unsigned max)
{
	(void)out, (void)max;
	return 0;
}

int
cache_audit(char *why, size_t len)
{
	(void)why, (void)len;
	return 0;
}

#endif
