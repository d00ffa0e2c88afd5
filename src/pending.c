/* SPDX-License-Identifier: MIT */
/* Pending-query slots. The ID hash is uthash, fed from an arena reserved at
 * start-up instead of malloc: its buckets double from 32 up to a cap (the
 * slot count rounded up to a power of two, so chains stay short), and the
 * arena holds that whole series. When the hash empties uthash frees
 * everything, and the arena starts over. */
/* A full arena makes HASH_ADD fail softly instead of exiting. */
#define HASH_NONFATAL_OOM 1

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pending.h"

static struct pending_query *slots;
static unsigned slot_count;
static unsigned slots_touched;          /* slots[0..slots_touched) have been used */
static struct pending_query *free_list; /* used and returned, linked through q.next */
static unsigned in_use;
static struct pq_list deadlines;        /* linked through d; FIFO = deadline order */
static uint8_t *large;                  /* large query buffers, DNS_QUERY_ROOM each */
static uint8_t **large_free;            /* stack of free large buffers */
static unsigned large_count, large_free_count;
static struct pending_query *id_hash;

static unsigned char *arena;
static size_t arena_size, arena_used;
static unsigned arena_live;             /* allocations not yet freed */
static unsigned bucket_cap;

/* uthash's allocator hooks (see uthash.h "uthash_malloc"). Declared here and
 * defined below, before any uthash macro expands in this file. */
static void *hash_alloc(size_t size);
static void hash_release(void *ptr);

static size_t
round_up(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

static size_t
arena_need(unsigned max)
{
	size_t need = round_up(sizeof(UT_hash_table));
	unsigned b = HASH_INITIAL_NUM_BUCKETS, cap = HASH_INITIAL_NUM_BUCKETS;

	while (cap < max)
		cap *= 2;
	for (;;) {
		need += round_up(b * sizeof(UT_hash_bucket));
		if (b >= cap)
			break;
		b *= 2;
	}
	return need;
}

static void *
hash_alloc(size_t size)
{
	void *p;

	size = round_up(size);
	if (arena_used + size > arena_size) {
		/* Cannot happen with the sizing above; fail softly if it does. */
		log_error("pending: id hash arena exhausted size=%zu", size);
		return NULL;
	}
	p = arena + arena_used;
	arena_used += size;
	arena_live++;
	return p;
}

static void
hash_release(void *ptr)
{
	(void)ptr;
	if (--arena_live == 0)
		arena_used = 0;
}

#undef uthash_malloc
#undef uthash_free
#undef uthash_expand_fyi
#define uthash_malloc(sz) hash_alloc(sz)
#define uthash_free(ptr, sz) hash_release(ptr)
/* Stop doubling at the cap: the arena holds no more. */
#define uthash_expand_fyi(tbl)                          \
	do {                                            \
		if ((tbl)->num_buckets >= bucket_cap)   \
			(tbl)->noexpand = 1;            \
	} while (0)

static unsigned
large_buffers(unsigned max)
{
	unsigned n = max / LARGE_QUERY_SHARE;

	return n < LARGE_QUERY_MIN ? LARGE_QUERY_MIN : n;
}

size_t
pq_memory(unsigned max)
{
	return (size_t)max * sizeof(struct pending_query) + arena_need(max) +
	    (size_t)large_buffers(max) * (DNS_QUERY_ROOM + sizeof(uint8_t *));
}

int
pq_init(unsigned max)
{
	unsigned i;

	slots = calloc(max, sizeof(*slots));
	arena_size = arena_need(max);
	arena = malloc(arena_size);
	large_count = large_buffers(max);
	large = malloc((size_t)large_count * DNS_QUERY_ROOM);
	large_free = malloc(large_count * sizeof(*large_free));
	if (slots == NULL || arena == NULL || large == NULL || large_free == NULL)
		return -1;
	for (i = 0; i < large_count; i++)
		large_free[i] = large + (size_t)i * DNS_QUERY_ROOM;
	large_free_count = large_count;
	slot_count = max;
	bucket_cap = HASH_INITIAL_NUM_BUCKETS;
	while (bucket_cap < max)
		bucket_cap *= 2;
	/* Slots are handed out from the start of the table and only then
	 * touched, so resident memory follows the peak load, not the limit. */
	free_list = NULL;
	slots_touched = 0;
	return 0;
}

static struct pq_link *
link_of(const struct pq_list *l, struct pending_query *pq)
{
	return l == &deadlines ? &pq->d : &pq->q;
}

static void
list_insert(struct pq_list *l, struct pending_query *pq, int front)
{
	struct pq_link *lk = link_of(l, pq);

	if (front) {
		lk->prev = NULL;
		lk->next = l->head;
		if (l->head != NULL)
			link_of(l, l->head)->prev = pq;
		else
			l->tail = pq;
		l->head = pq;
	} else {
		lk->next = NULL;
		lk->prev = l->tail;
		if (l->tail != NULL)
			link_of(l, l->tail)->next = pq;
		else
			l->head = pq;
		l->tail = pq;
	}
	l->count++;
}

static void
list_unlink(struct pq_list *l, struct pending_query *pq)
{
	struct pq_link *lk = link_of(l, pq);

	if (lk->prev != NULL)
		link_of(l, lk->prev)->next = lk->next;
	else
		l->head = lk->next;
	if (lk->next != NULL)
		link_of(l, lk->next)->prev = lk->prev;
	else
		l->tail = lk->prev;
	lk->prev = lk->next = NULL;
	l->count--;
}

void
pq_list_push(struct pq_list *l, struct pending_query *pq)
{
	list_insert(l, pq, 0);
	pq->list = l;
}

void
pq_list_push_front(struct pq_list *l, struct pending_query *pq)
{
	list_insert(l, pq, 1);
	pq->list = l;
}

void
pq_list_remove(struct pending_query *pq)
{
	if (pq->list != NULL) {
		list_unlink(pq->list, pq);
		pq->list = NULL;
	}
}

struct pending_query *
pq_alloc(uint64_t now, unsigned timeout_ms)
{
	struct pending_query *pq = free_list;

	if (pq != NULL)
		free_list = pq->q.next;
	else if (slots_touched < slot_count)
		pq = &slots[slots_touched++];
	else
		return NULL;
	/* Only the header fields; the query bytes are written by the caller. */
	memset(pq, 0, offsetof(struct pending_query, inline_query));
	pq->query = pq->inline_query;
	pq->query_cap = DNS_QUERY_INLINE;
	pq->conn = -1;
	pq->start_us = now;
	pq->deadline_us = now + (uint64_t)timeout_ms * 1000;
	list_insert(&deadlines, pq, 0);
	in_use++;
	return pq;
}

int
pq_reserve(struct pending_query *pq, size_t need)
{
	if (need <= pq->query_cap)
		return 0;
	if (need > DNS_QUERY_ROOM || large_free_count == 0)
		return -1;
	pq->query = large_free[--large_free_count];
	pq->query_cap = DNS_QUERY_ROOM;
	return 0;
}

void
pq_free(struct pending_query *pq)
{
	if (pq->query != pq->inline_query)
		large_free[large_free_count++] = pq->query;
	pq_list_remove(pq);
	if (pq->conn >= 0)
		pq_hash_del(pq);
	if (!pq->streaming)
		list_unlink(&deadlines, pq);
	pq->q.next = free_list;
	free_list = pq;
	in_use--;
}

void
pq_no_deadline(struct pending_query *pq)
{
	if (!pq->streaming)
		list_unlink(&deadlines, pq);
	pq->streaming = 1;
}

struct pending_query *
pq_oldest(void)
{
	return deadlines.head;
}

unsigned
pq_in_use(void)
{
	return in_use;
}

int
pq_hash_add(struct pending_query *pq)
{
	unsigned before = HASH_COUNT(id_hash);

	HASH_ADD(hh, id_hash, key, sizeof(pq->key), pq);
	return HASH_COUNT(id_hash) == before + 1 ? 0 : -1;
}

struct pending_query *
pq_hash_find(uint32_t key)
{
	struct pending_query *pq;

	HASH_FIND(hh, id_hash, &key, sizeof(key), pq);
	return pq;
}

void
pq_hash_del(struct pending_query *pq)
{
	HASH_DELETE(hh, id_hash, pq);
	pq->conn = -1;
}

size_t
pq_hash_arena_used(void)
{
	return arena_used;
}
