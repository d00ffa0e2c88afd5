/* SPDX-License-Identifier: MIT */
/* Unit tests for pending.c: the slot table (exactly max slots, returned on
 * free), the deadline FIFO, the intrusive queue lists, and the ID hash with
 * its arena (which must empty whenever the hash does, so fill/empty cycles
 * never run it out). pending.c keeps module globals and pq_init may run
 * once per process, so every test starts from unit_pq_setup() and gives
 * back every slot it took. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "pending.h"
#include "unit.h"

#define SLOTS 300

/* pq_init(SLOTS) on first use (once per process: test_query.c shares
 * it); then check the table is empty. */
int
unit_pq_setup(void)
{
	static int done, ok;

	if (!done) {
		done = 1;
		ok = pq_init(SLOTS) == 0;
		CHECK(ok, "pq_init(%d) failed", SLOTS);
	}
	if (!ok)
		return -1;
	CHECK(pq_in_use() == 0, "a test left %u slots in use", pq_in_use());
	CHECK(pq_oldest() == NULL, "a test left a slot on the deadline list");
	CHECK(pq_hash_arena_used() == 0, "a test left %zu bytes in the hash arena",
	    pq_hash_arena_used());
	return pq_in_use() == 0 ? 0 : -1;
}

/* Take every slot, with deadlines now, now+1, ... (ms apart). Returns how
 * many were taken (all SLOTS unless something is wrong). */
static unsigned
alloc_all(struct pending_query **pqs, uint64_t now)
{
	unsigned n = 0;

	while (n < SLOTS + 1 && (pqs[n] = pq_alloc(now + n, 1000)) != NULL)
		n++;
	CHECK(n == SLOTS, "pq_alloc gave %u slots, want %d", n, SLOTS);
	return n;
}

static void
free_all(struct pending_query **pqs, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (pqs[i] != NULL)
			pq_free(pqs[i]);
}

/* The hash key the upstream side uses: connection index and upstream ID. */
static uint32_t
key_of(unsigned conn, unsigned id)
{
	return (uint32_t)conn << 16 | (id & 0xffff);
}

/* Give pq a key and put it in the hash, as an upstream connection does. */
static int
hash_in(struct pending_query *pq, unsigned conn, unsigned id)
{
	pq->key = key_of(conn, id);
	pq->conn = (int)conn;
	return pq_hash_add(pq);
}

/* Arena bytes reserved for SLOTS slots: pq_memory minus the slots. */
static size_t
arena_capacity(void)
{
	return pq_memory(SLOTS) - (size_t)SLOTS * sizeof(struct pending_query);
}

/* --- Slots: exactly max of them, each returned by pq_free. */

static void
test_alloc_until_full(void)
{
	static struct pending_query *pqs[SLOTS + 1];
	unsigned n, i, j;

	if (unit_pq_setup() != 0)
		return;
	n = alloc_all(pqs, 1000);
	CHECK_EQ_INT(pq_in_use(), n);
	CHECK(pq_alloc(5000, 1000) == NULL, "an allocation past max succeeded");
	for (i = 0; i < n; i++) {
		CHECK(pqs[i]->conn == -1 && pqs[i]->list == NULL,
		    "slot %u: conn %d list %p", i, pqs[i]->conn, (void *)pqs[i]->list);
		for (j = i + 1; j < n; j += 37)
			CHECK(pqs[i] != pqs[j], "slots %u and %u are the same", i, j);
	}

	/* A freed slot can be taken again, once. */
	pq_free(pqs[17]);
	CHECK_EQ_INT(pq_in_use(), n - 1);
	pqs[17] = pq_alloc(6000, 1000);
	CHECK(pqs[17] != NULL, "no slot after a free");
	CHECK(pq_alloc(6000, 1000) == NULL, "two slots after one free");
	free_all(pqs, n);
	CHECK_EQ_INT(pq_in_use(), 0);
	CHECK(pq_oldest() == NULL, "pq_oldest not NULL with every slot free");

	/* All of them again: nothing was lost. */
	n = alloc_all(pqs, 1000);
	free_all(pqs, n);
}

/* A reused slot starts clean, whatever the last user left in it. */
static void
test_alloc_resets(void)
{
	static struct pending_query *pqs[SLOTS + 1];
	unsigned n, i;

	if (unit_pq_setup() != 0)
		return;
	n = alloc_all(pqs, 1);
	for (i = 0; i < n; i++) {
		pqs[i]->client_id = 0xabcd;
		pqs[i]->resends = 3;
		pqs[i]->sent_us = 99;
		pqs[i]->qlen = 512;
		pqs[i]->transport = PQ_TCP;
	}
	free_all(pqs, n);
	n = alloc_all(pqs, 2);
	for (i = 0; i < n; i++)
		CHECK(pqs[i]->client_id == 0 && pqs[i]->resends == 0 && pqs[i]->sent_us == 0 &&
		    pqs[i]->qlen == 0 && pqs[i]->transport == PQ_UDP && pqs[i]->conn == -1 &&
		    pqs[i]->list == NULL && pqs[i]->key == 0,
		    "reused slot %u not reset", i);
	free_all(pqs, n);
}

/* --- Deadlines: absolute, now + timeout; the FIFO head is the oldest. */

static void
test_deadlines(void)
{
	struct pending_query *a, *b, *c;

	if (unit_pq_setup() != 0)
		return;
	a = pq_alloc(1000000, 3000);
	b = pq_alloc(2000000, 0);
	c = pq_alloc(3000000, 4300000); /* 4.3e9 us: past 32 bits */
	if (a == NULL || b == NULL || c == NULL) {
		CHECK(0, "pq_alloc failed");
		return;
	}
	CHECK_EQ_INT(a->start_us, 1000000);
	CHECK_EQ_INT(a->deadline_us, 4000000);
	CHECK_EQ_INT(b->deadline_us, 2000000);
	CHECK_EQ_INT(c->deadline_us, 3000000 + UINT64_C(4300000000));
	pq_free(a);
	pq_free(b);
	pq_free(c);
}

static void
test_oldest_fifo(void)
{
	static struct pending_query *pqs[SLOTS + 1];
	static const unsigned freed[] = { 3, 4, 9, 0, 1, 150, 299 };
	unsigned n, i, k, next;

	if (unit_pq_setup() != 0)
		return;
	n = alloc_all(pqs, 1000);
	CHECK(pq_oldest() == pqs[0], "oldest is not the first allocated");
	for (k = 0; k < sizeof freed / sizeof freed[0]; k++) {
		pq_free(pqs[freed[k]]);
		pqs[freed[k]] = NULL;
	}
	/* Walk the FIFO by freeing its head: allocation order, freed skipped. */
	for (next = 0; next < n; next++) {
		struct pending_query *head = pq_oldest();

		if (pqs[next] == NULL)
			continue;
		CHECK(head == pqs[next], "head is not slot %u", next);
		if (head == NULL)
			break;
		pq_free(head);
		pqs[next] = NULL;
	}
	CHECK(pq_oldest() == NULL, "FIFO not empty after freeing every slot");
	for (i = 0; i < n; i++)
		if (pqs[i] != NULL)
			pq_free(pqs[i]);
}

/* Being on a queue list does not move a slot on the deadline FIFO. */
static void
test_oldest_ignores_lists(void)
{
	struct pq_list l = { NULL, NULL, 0 };
	struct pending_query *a, *b;

	if (unit_pq_setup() != 0)
		return;
	a = pq_alloc(10, 100);
	b = pq_alloc(20, 100);
	if (a == NULL || b == NULL) {
		CHECK(0, "pq_alloc failed");
		return;
	}
	pq_list_push(&l, b);
	pq_list_push_front(&l, a);
	pq_list_remove(a);
	pq_list_push(&l, a);
	CHECK(pq_oldest() == a, "list moves changed the deadline order");
	pq_free(a);
	CHECK(pq_oldest() == b, "oldest after freeing the head is not b");
	CHECK(l.count == 1 && l.head == b && l.tail == b, "pq_free left a on its list");
	pq_free(b);
	CHECK(l.count == 0 && l.head == NULL && l.tail == NULL, "pq_free left b on its list");
}

/* --- Queue lists: order, head/tail and links both ways, counts. */

/* The list holds exactly want[0..n) in order, walked both ways. */
static void
check_list(const struct pq_list *l, struct pending_query *const *want, unsigned n,
    const char *what)
{
	const struct pending_query *p;
	unsigned i;

	CHECK(l->count == n, "%s: count %u, want %u", what, l->count, n);
	CHECK(l->head == (n ? want[0] : NULL), "%s: wrong head", what);
	CHECK(l->tail == (n ? want[n - 1] : NULL), "%s: wrong tail", what);
	for (i = 0, p = l->head; p != NULL && i <= n; p = p->q.next, i++) {
		CHECK(i < n && p == want[i], "%s: forward walk differs at %u", what, i);
		CHECK(p->list == l, "%s: element %u does not point at its list", what, i);
	}
	CHECK(i == n, "%s: forward walk found %u, want %u", what, i, n);
	for (i = n, p = l->tail; p != NULL && i > 0; p = p->q.prev, i--)
		CHECK(p == want[i - 1], "%s: backward walk differs at %u", what, i - 1);
	CHECK(i == 0 && p == NULL, "%s: backward walk does not end at the head", what);
}

static void
test_list_ops(void)
{
	struct pq_list l1 = { NULL, NULL, 0 }, l2 = { NULL, NULL, 0 };
	struct pending_query *s[5];
	unsigned i;

	if (unit_pq_setup() != 0)
		return;
	for (i = 0; i < 5; i++)
		if ((s[i] = pq_alloc(i, 100)) == NULL) {
			CHECK(0, "pq_alloc failed");
			free_all(s, i);
			return;
		}
	check_list(&l1, NULL, 0, "empty");

	pq_list_push(&l1, s[0]);
	check_list(&l1, (struct pending_query *[]){ s[0] }, 1, "push one");
	pq_list_push(&l1, s[1]);
	pq_list_push(&l1, s[2]);
	check_list(&l1, (struct pending_query *[]){ s[0], s[1], s[2] }, 3, "push three");
	pq_list_push_front(&l1, s[3]);
	check_list(&l1, (struct pending_query *[]){ s[3], s[0], s[1], s[2] }, 4, "push_front");

	pq_list_remove(s[0]); /* middle */
	check_list(&l1, (struct pending_query *[]){ s[3], s[1], s[2] }, 3, "remove middle");
	CHECK(s[0]->list == NULL, "removed slot still names its list");
	pq_list_remove(s[0]); /* not on a list: nothing happens */
	check_list(&l1, (struct pending_query *[]){ s[3], s[1], s[2] }, 3, "remove twice");
	pq_list_remove(s[3]); /* head */
	check_list(&l1, (struct pending_query *[]){ s[1], s[2] }, 2, "remove head");
	pq_list_remove(s[2]); /* tail */
	check_list(&l1, (struct pending_query *[]){ s[1] }, 1, "remove tail");

	/* Move between lists, as a requeue does. */
	pq_list_push(&l2, s[4]);
	pq_list_remove(s[1]);
	pq_list_push_front(&l2, s[1]);
	check_list(&l1, NULL, 0, "source after move");
	check_list(&l2, (struct pending_query *[]){ s[1], s[4] }, 2, "destination after move");

	pq_list_push_front(&l1, s[2]);
	check_list(&l1, (struct pending_query *[]){ s[2] }, 1, "push_front on empty");

	/* pq_free takes a slot off whatever list it is on. */
	pq_free(s[4]);
	check_list(&l2, (struct pending_query *[]){ s[1] }, 1, "after pq_free");
	pq_free(s[0]);
	pq_free(s[1]);
	pq_free(s[2]);
	pq_free(s[3]);
	check_list(&l1, NULL, 0, "l1 at the end");
	check_list(&l2, NULL, 0, "l2 at the end");
}

/* --- The ID hash: every key found, deleted ones gone, pq_free unhashes. */

static void
test_hash_find(void)
{
	static struct pending_query *pqs[SLOTS + 1];
	unsigned n, i;

	if (unit_pq_setup() != 0)
		return;
	n = alloc_all(pqs, 1);
	for (i = 0; i < n; i++)
		CHECK(hash_in(pqs[i], i % 4, i * 211 + 7) == 0, "pq_hash_add %u failed", i);
	for (i = 0; i < n; i++)
		CHECK(pq_hash_find(key_of(i % 4, i * 211 + 7)) == pqs[i], "key %u not found", i);
	CHECK(pq_hash_find(key_of(4, 7)) == NULL, "a key never added was found");
	CHECK(pq_hash_find(key_of(1, 7)) == NULL, "same ID on another connection found");

	/* Delete every third; the rest stay. */
	for (i = 0; i < n; i += 3) {
		pq_hash_del(pqs[i]);
		CHECK(pqs[i]->conn == -1, "pq_hash_del left conn %d", pqs[i]->conn);
	}
	for (i = 0; i < n; i++) {
		struct pending_query *found = pq_hash_find(key_of(i % 4, i * 211 + 7));

		if (i % 3 == 0)
			CHECK(found == NULL, "deleted key %u still found", i);
		else
			CHECK(found == pqs[i], "key %u lost by other deletes", i);
	}

	/* pq_free unhashes slots with conn >= 0 and leaves the others be. */
	pq_free(pqs[1]);
	CHECK(pq_hash_find(key_of(1, 211 + 7)) == NULL, "pq_free left its key in the hash");
	CHECK(pq_hash_find(key_of(2, 2 * 211 + 7)) == pqs[2], "pq_free of another slot lost a key");
	pqs[1] = NULL;
	pq_free(pqs[0]); /* conn -1 */
	pqs[0] = NULL;
	CHECK(pq_hash_find(key_of(2, 2 * 211 + 7)) == pqs[2], "pq_free of an unhashed slot lost a key");
	free_all(pqs, n);
	CHECK_EQ_INT(pq_hash_arena_used(), 0);
}

/* --- The hash arena: uthash frees everything when the hash empties and
 * the arena starts over; up to max keys always fit. */

static void
test_hash_arena_empties(void)
{
	static struct pending_query *pqs[SLOTS + 1];
	unsigned n, i;
	size_t full;

	if (unit_pq_setup() != 0)
		return;
	n = alloc_all(pqs, 1);
	CHECK(hash_in(pqs[0], 0, 1) == 0, "first add failed");
	CHECK(pq_hash_arena_used() > 0, "one key, empty arena");
	pq_hash_del(pqs[0]);
	CHECK_EQ_INT(pq_hash_arena_used(), 0);

	for (i = 0; i < n; i++)
		CHECK(hash_in(pqs[i], 3, i) == 0, "add %u failed", i);
	full = pq_hash_arena_used();
	CHECK(full > 0 && full <= arena_capacity(), "arena used %zu of %zu", full,
	    arena_capacity());
	for (i = n; i-- > 1;)
		pq_hash_del(pqs[i]);
	CHECK(pq_hash_arena_used() > 0, "arena reset with a key still in the hash");
	CHECK(pq_hash_find(key_of(3, 0)) == pqs[0], "last key lost");
	pq_hash_del(pqs[0]);
	CHECK_EQ_INT(pq_hash_arena_used(), 0);
	free_all(pqs, n);
}

static void
test_hash_arena_cycles(void)
{
	static struct pending_query *pqs[SLOTS + 1];
	unsigned n, i, cycle, fails = 0;
	size_t first_full = 0;

	if (unit_pq_setup() != 0)
		return;
	CHECK(arena_capacity() > 0 && pq_memory(SLOTS) > pq_memory(SLOTS / 2),
	    "pq_memory: %zu for %d slots", pq_memory(SLOTS), SLOTS);
	n = alloc_all(pqs, 1);

	/* Full cycles, each with other keys: fill to max, empty, repeat. */
	for (cycle = 0; cycle < 8; cycle++) {
		for (i = 0; i < n; i++)
			if (hash_in(pqs[i], cycle, i * (2 * cycle + 1) + cycle) != 0)
				fails++;
		CHECK(pq_hash_arena_used() <= arena_capacity(), "cycle %u: arena %zu of %zu",
		    cycle, pq_hash_arena_used(), arena_capacity());
		for (i = 0; i < n; i++)
			pq_hash_del(pqs[i]);
		CHECK(pq_hash_arena_used() == 0, "cycle %u: %zu bytes left after emptying", cycle,
		    pq_hash_arena_used());
	}
	CHECK(fails == 0, "%u of %u adds failed in full cycles", fails, 8 * n);

	/* Partial cycles, the hash never empty (so the arena never resets):
	 * nothing may be taken beyond what the first fill took. */
	fails = 0;
	for (cycle = 0; cycle < 20; cycle++) {
		for (i = cycle == 0 ? 0 : 1; i < n; i++)
			if (hash_in(pqs[i], 9, i) != 0)
				fails++;
		if (cycle == 0)
			first_full = pq_hash_arena_used();
		CHECK(pq_hash_arena_used() == first_full, "partial cycle %u: arena grew %zu -> %zu",
		    cycle, first_full, pq_hash_arena_used());
		for (i = 1; i < n; i++)
			pq_hash_del(pqs[i]);
	}
	CHECK(fails == 0, "%u adds failed in partial cycles", fails);
	pq_hash_del(pqs[0]);
	CHECK_EQ_INT(pq_hash_arena_used(), 0);

	/* Interleaved churn at full load: delete one, add one, many times. */
	fails = 0;
	for (i = 0; i < n; i++)
		if (hash_in(pqs[i], 1, i) != 0)
			fails++;
	for (cycle = 0; cycle < 10 * n; cycle++) {
		struct pending_query *pq = pqs[cycle % n];

		pq_hash_del(pq);
		if (hash_in(pq, 2 + cycle / n, cycle) != 0)
			fails++;
	}
	CHECK(fails == 0, "%u adds failed under churn", fails);
	CHECK(pq_hash_arena_used() <= arena_capacity(), "churn: arena %zu of %zu",
	    pq_hash_arena_used(), arena_capacity());
	free_all(pqs, n); /* conn >= 0: pq_free takes them out of the hash */
	CHECK_EQ_INT(pq_hash_arena_used(), 0);
}

/* The worst case for the arena: keys uthash puts in one bucket whatever the
 * table size (their hashes agree in the low 9 bits, and 512 buckets is the
 * cap for 300 slots), so every add lands on the longest chain and asks for
 * another doubling. The adds must still all succeed within the arena. */
static void
test_hash_arena_collisions(void)
{
	static struct pending_query *pqs[SLOTS + 1];
	static uint32_t keys[SLOTS];
	unsigned n, i, found = 0, fails = 0, round;
	uint32_t k;

	for (k = 0; found < SLOTS && k < UINT32_MAX; k++) {
		unsigned hashv;

		HASH_VALUE(&k, sizeof k, hashv);
		if ((hashv & 511) == 0)
			keys[found++] = k;
	}
	CHECK(found == SLOTS, "found %u colliding keys", found);
	if (found != SLOTS || unit_pq_setup() != 0)
		return;
	n = alloc_all(pqs, 1);
	for (round = 0; round < 3; round++) {
		for (i = 0; i < n; i++) {
			pqs[i]->key = keys[i];
			pqs[i]->conn = (int)(keys[i] >> 16);
			if (pq_hash_add(pqs[i]) != 0)
				fails++;
		}
		CHECK(pq_hash_arena_used() <= arena_capacity(), "round %u: arena %zu of %zu",
		    round, pq_hash_arena_used(), arena_capacity());
		for (i = 0; i < n; i++)
			CHECK(pq_hash_find(keys[i]) == pqs[i], "colliding key %u not found", i);
		for (i = 0; i < n; i++)
			pq_hash_del(pqs[i]);
		CHECK_EQ_INT(pq_hash_arena_used(), 0);
	}
	CHECK(fails == 0, "%u adds of colliding keys failed", fails);
	free_all(pqs, n);
}

/* Large queries borrow from a pool of SLOTS / LARGE_QUERY_SHARE buffers:
 * each slot starts inline, pq_reserve switches to a pool buffer only when
 * needed, refuses when the pool is empty, and pq_free gives it back. */
static void
test_reserve_large(void)
{
	enum { POOL = SLOTS / LARGE_QUERY_SHARE };
	struct pending_query *pqs[POOL + 2];
	unsigned i;

	if (unit_pq_setup() != 0)
		return;
	for (i = 0; i < POOL + 2; i++) {
		pqs[i] = pq_alloc(100, 1000);
		CHECK(pqs[i] != NULL && pqs[i]->query == pqs[i]->inline_query,
		    "slot %u does not start with its inline buffer", i);
	}
	CHECK_EQ_INT(pq_reserve(pqs[0], DNS_QUERY_INLINE), 0);
	CHECK(pqs[0]->query == pqs[0]->inline_query, "a fitting query left the inline buffer");
	for (i = 0; i < POOL; i++) {
		CHECK_EQ_INT(pq_reserve(pqs[i], DNS_QUERY_INLINE + 1), 0);
		CHECK(pqs[i]->query != pqs[i]->inline_query && pqs[i]->query_cap == DNS_QUERY_ROOM,
		    "slot %u did not get a large buffer", i);
		memset(pqs[i]->query, 0xab, DNS_QUERY_ROOM); /* the whole buffer is usable */
	}
	CHECK(pq_reserve(pqs[POOL], DNS_QUERY_INLINE + 1) == -1, "more large buffers than the pool");
	CHECK(pq_reserve(pqs[POOL], DNS_QUERY_ROOM + 1) == -1, "a query over DNS_QUERY_ROOM");
	pq_free(pqs[0]);
	CHECK_EQ_INT(pq_reserve(pqs[POOL], DNS_QUERY_ROOM), 0);
	for (i = 1; i < POOL + 2; i++)
		pq_free(pqs[i]);
	/* Every buffer is back: the pool can be taken whole again. */
	for (i = 0; i < POOL; i++) {
		pqs[i] = pq_alloc(200, 1000);
		CHECK(pqs[i] != NULL && pq_reserve(pqs[i], DNS_QUERY_ROOM) == 0,
		    "large buffer %u not returned by pq_free", i);
	}
	for (i = 0; i < POOL; i++)
		pq_free(pqs[i]);
}

/* --- A stream off the deadline FIFO: the others expire in order around
 * it, and freeing it leaves the FIFO whole. */
static void
test_no_deadline(void)
{
	struct pending_query *a, *b, *c;

	if (unit_pq_setup() != 0)
		return;
	a = pq_alloc(1000, 100);
	b = pq_alloc(2000, 100);
	c = pq_alloc(3000, 100);
	CHECK(a != NULL && b != NULL && c != NULL, "three slots");
	if (a == NULL || b == NULL || c == NULL)
		return;
	CHECK(pq_oldest() == a, "a first");
	pq_no_deadline(a);
	CHECK_EQ_INT(a->streaming, 1);
	pq_no_deadline(a); /* twice: no harm */
	CHECK(pq_oldest() == b, "b first once a streams");
	pq_free(b);
	CHECK(pq_oldest() == c, "then c");
	pq_free(a);
	CHECK(pq_oldest() == c, "freeing the stream leaves the FIFO as it was");
	pq_free(c);
	CHECK(pq_oldest() == NULL, "FIFO empty");
	CHECK_EQ_INT(pq_in_use(), 0);
}

const struct unit_test pending_tests[] = {
	{ "pending_no_deadline", test_no_deadline },
	{ "pending_alloc_until_full", test_alloc_until_full },
	{ "pending_alloc_resets", test_alloc_resets },
	{ "pending_deadlines", test_deadlines },
	{ "pending_oldest_fifo", test_oldest_fifo },
	{ "pending_oldest_ignores_lists", test_oldest_ignores_lists },
	{ "pending_list_ops", test_list_ops },
	{ "pending_hash_find", test_hash_find },
	{ "pending_hash_arena_empties", test_hash_arena_empties },
	{ "pending_hash_arena_cycles", test_hash_arena_cycles },
	{ "pending_hash_arena_collisions", test_hash_arena_collisions },
	{ "pending_reserve_large", test_reserve_large },
	{ NULL, NULL },
};
