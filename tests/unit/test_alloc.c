/* SPDX-License-Identifier: MIT */
/* Unit tests for port/alloc.c, the static router build's malloc: compiled
 * here under other names, beside the runner's own malloc. Random blocks
 * keep their bytes through reallocs and other blocks' frees; calloc gives
 * zeros, also for a reused block; alignment is 16; a freed small block is
 * reused; overflowing sizes fail. */
#define malloc alloc_test_malloc
#define calloc alloc_test_calloc
#define realloc alloc_test_realloc
#define free alloc_test_free
#include "../../port/alloc.c"
#undef malloc
#undef calloc
#undef realloc
#undef free

#include "unit.h"

#define BLOCKS 64

static unsigned rng = 12345;

static unsigned
next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

/* A size from each range in turn: tiny, small classes, just around
 * LARGE_MIN, pages. */
static size_t
some_size(void)
{
	switch (next_rand() % 4) {
	case 0:
		return next_rand() % 40;
	case 1:
		return next_rand() % 2100;
	case 2:
		return LARGE_MIN - HEAD - 8 + next_rand() % 16;
	default:
		return next_rand() % 70000;
	}
}

static uint8_t
fill_byte(unsigned id, size_t k)
{
	return (uint8_t)(id * 13 + k * 7 + 1);
}

static void
test_random(void)
{
	uint8_t *p[BLOCKS] = { 0 };
	size_t len[BLOCKS] = { 0 };
	unsigned id[BLOCKS] = { 0 };
	unsigned round, i;
	size_t k;

	for (round = 0; round < 4000; round++) {
		unsigned b = next_rand() % BLOCKS, op = next_rand() % 3;
		size_t n = some_size();

		if (p[b] != NULL) {
			for (k = 0; k < len[b]; k++)
				if (p[b][k] != fill_byte(id[b], k))
					break;
			CHECK(k == len[b], "round %u: block %u (%zu bytes) changed at byte %zu", round, b,
			    len[b], k);
		}
		if (op == 0) {
			alloc_test_free(p[b]);
			p[b] = NULL;
			len[b] = 0;
			continue;
		}
		if (op == 1 && p[b] != NULL) {
			uint8_t *q = alloc_test_realloc(p[b], n);

			CHECK(q != NULL, "realloc %zu -> %zu failed", len[b], n);
			if (q == NULL)
				continue;
			for (k = 0; k < len[b] && k < n; k++)
				if (q[k] != fill_byte(id[b], k))
					break;
			CHECK(k == (len[b] < n ? len[b] : n), "realloc %zu -> %zu lost byte %zu", len[b], n, k);
			p[b] = q;
		} else {
			alloc_test_free(p[b]);
			p[b] = alloc_test_calloc(1, n);
			CHECK(p[b] != NULL, "calloc %zu failed", n);
			if (p[b] == NULL)
				continue;
			for (k = 0; k < n; k++)
				if (p[b][k] != 0)
					break;
			CHECK(k == n, "calloc %zu: byte %zu not zero", n, k);
		}
		CHECK(((uintptr_t)p[b] & 15) == 0, "block %p not 16-byte aligned", (void *)p[b]);
		id[b] = round;
		len[b] = n;
		for (k = 0; k < n; k++)
			p[b][k] = fill_byte(round, k);
	}
	for (i = 0; i < BLOCKS; i++)
		alloc_test_free(p[i]);
}

static void
test_reuse_and_limits(void)
{
	uint8_t *a = alloc_test_malloc(100), *b;

	CHECK(a != NULL, "malloc 100");
	memset(a, 0xee, 100);
	alloc_test_free(a);
	b = alloc_test_calloc(10, 10);
	CHECK(b == a, "a freed block of the same class is reused (%p, then %p)", (void *)a, (void *)b);
	CHECK(b != NULL && b[0] == 0 && b[99] == 0, "calloc zeroes a reused block");
	alloc_test_free(b);
	CHECK(alloc_test_calloc(SIZE_MAX / 8, 16) == NULL, "calloc overflow fails");
	CHECK(alloc_test_malloc(SIZE_MAX - 8) == NULL, "a huge malloc fails");
	alloc_test_free(NULL);
	a = alloc_test_realloc(NULL, 10);
	CHECK(a != NULL, "realloc(NULL) allocates");
	alloc_test_free(a);
}

const struct unit_test alloc_tests[] = {
	{ "alloc_random", test_random },
	{ "alloc_reuse_and_limits", test_reuse_and_limits },
	{ NULL, NULL },
};
