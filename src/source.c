/* SPDX-License-Identifier: MIT */
/* Per-client counters in a chained hash table: a bucket array and a pool of
 * entries, both reserved at start-up, entries linked by index so that an
 * entry's index (held by a TCP client or a pending query) stays valid for
 * its whole life. The hash is keyed at random at start-up, so a client
 * cannot pick addresses (an IPv6 client has 2^64 of them) that pile up in
 * one bucket. */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "port.h"
#include "source.h"

#define NONE UINT32_MAX

struct source_entry {
	uint64_t key;      /* IPv4 address, or the /64 of an IPv6 one */
	uint8_t family;    /* AF_INET or AF_INET6; 0: free */
	uint32_t next;     /* in the bucket's chain, or the free list */
	struct source_count count;
};

static struct source_entry *entries;
static uint32_t *buckets;
static uint32_t bucket_mask;
static uint32_t free_head, touched, capacity, used;
static uint64_t hash_key;

static unsigned
bucket_count(unsigned max)
{
	unsigned n = 16;

	while (n < max)
		n *= 2;
	return n;
}

size_t
source_memory(unsigned max)
{
	return (size_t)max * sizeof(struct source_entry) + bucket_count(max) * sizeof(uint32_t);
}

int
source_init(unsigned max)
{
	unsigned n = bucket_count(max);

	/* A table set up before (the unit tests make several) goes. */
	free(entries);
	free(buckets);
	/* Zeroed pages, touched only as clients come. */
	entries = calloc(max, sizeof(*entries));
	buckets = malloc(n * sizeof(*buckets));
	if (entries == NULL || buckets == NULL)
		return -1;
	memset(buckets, 0xff, n * sizeof(*buckets)); /* every chain empty: NONE */
	bucket_mask = n - 1;
	capacity = max;
	free_head = NONE;
	touched = used = 0;
	if (port_entropy(&hash_key, sizeof(hash_key)) != 0)
		hash_key = port_now_us() * 0x9e3779b97f4a7c15u;
	return 0;
}

/* A keyed mix of the address (splitmix64's finalizer): every bit of the
 * bucket depends on every bit of the address and of the secret key. */
static uint32_t
bucket_of(uint64_t key, uint8_t family)
{
	uint64_t h = key ^ hash_key ^ ((uint64_t)family << 56);

	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9u;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebu;
	h ^= h >> 31;
	return (uint32_t)h & bucket_mask;
}

static uint64_t
load64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* The client an address belongs to: IPv4 (IPv4-mapped IPv6 included) by
 * address, IPv6 by /64. Returns 0, or -1 when sa is not IP. */
static int
key_of(const struct sockaddr *sa, uint64_t *key, uint8_t *family)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;

		*key = ntohl(sin->sin_addr.s_addr);
		*family = AF_INET;
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const uint8_t *a = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;

		if (memcmp(a, mapped, sizeof(mapped)) == 0) {
			*key = (uint64_t)a[12] << 24 | (uint64_t)a[13] << 16 | (uint64_t)a[14] << 8 | a[15];
			*family = AF_INET;
		} else {
			*key = load64(a);
			*family = AF_INET6;
		}
		return 0;
	}
	return -1;
}

int
source_get(const struct sockaddr *sa)
{
	uint64_t key;
	uint8_t family;
	uint32_t b, i;

	if (key_of(sa, &key, &family) != 0)
		return -1;
	b = bucket_of(key, family);
	for (i = buckets[b]; i != NONE; i = entries[i].next)
		if (entries[i].key == key && entries[i].family == family)
			return (int)i;
	if (free_head != NONE) {
		i = free_head;
		free_head = entries[i].next;
	} else if (touched < capacity) {
		i = touched++;
	} else {
		return -1;
	}
	entries[i].key = key;
	entries[i].family = family;
	entries[i].count.tcp = entries[i].count.inflight = 0;
	entries[i].next = buckets[b];
	buckets[b] = i;
	used++;
	return (int)i;
}

struct source_count *
source_count(int id)
{
	return &entries[id].count;
}

void
source_put(int id)
{
	struct source_entry *e = &entries[id];
	uint32_t *link;

	if (e->family == 0 || e->count.tcp != 0 || e->count.inflight != 0)
		return;
	for (link = &buckets[bucket_of(e->key, e->family)]; *link != (uint32_t)id;
	    link = &entries[*link].next)
		if (*link == NONE)
			return; /* not in its chain: cannot happen */
	*link = e->next;
	e->family = 0;
	e->next = free_head;
	free_head = (uint32_t)id;
	used--;
}

unsigned
source_used(void)
{
	return used;
}
