/* SPDX-License-Identifier: MIT */
/* malloc, calloc, realloc and free for the static router build (make
 * static: musl, one thread). The proxy allocates only at start-up and on a
 * reload (STYLE.md: nothing on the query path), so a general-purpose
 * allocator (musl's mallocng, 12 KiB of code) is more than it needs:
 *   large blocks (LARGE_MIN bytes and up: the tables, the buffers) are a
 *   mapping each, which free unmaps; calloc leaves their fresh zero pages
 *   untouched, so they count in RSS only once used (the ID maps);
 *   small ones (trust anchors read from --ca-file, stdio's FILE) come from
 *   free lists of power-of-two sizes, carved from CHUNK-byte mappings
 *   that are kept for reuse: a reload takes back the blocks the last one
 *   freed. */
#define _GNU_SOURCE /* mremap */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

/* Every block starts with this header: 16 bytes keep the 16-byte alignment
 * malloc promises (padded where size_t is 4 bytes: the unit tests run it on
 * 32-bit targets). */
struct block_head {
	_Alignas(16) size_t size; /* large: the mapping's length; small: the class's size */
	size_t large; /* 1: a mapping of its own */
};
#define HEAD sizeof(struct block_head)
#define SMALL_MIN 32      /* smallest class, header included */
#define SMALL_CLASSES 7   /* 32 .. 2048 bytes, header included */
#define LARGE_MIN 2048    /* from here on (header included), a mapping */
#define CHUNK 16384       /* small blocks are carved from mappings this big */

_Static_assert(HEAD == 16, "block header must keep 16-byte alignment");
_Static_assert((SMALL_MIN << (SMALL_CLASSES - 1)) == LARGE_MIN, "classes end at LARGE_MIN");

struct free_block {
	struct block_head head;
	struct free_block *next;
};

static struct free_block *free_lists[SMALL_CLASSES];
static unsigned char *chunk; /* the rest of the current chunk */
static size_t chunk_left;

void *malloc(size_t n);
void *calloc(size_t count, size_t n);
void *realloc(void *p, size_t n);
void free(void *p);

static void *
map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static struct block_head *
head_of(void *p)
{
	return (struct block_head *)((unsigned char *)p - HEAD);
}

/* A fresh block for n bytes: *fresh is set when it is a new mapping (all
 * zero). */
static void *
alloc(size_t n, int *fresh)
{
	struct block_head *h;
	size_t want, size;
	unsigned cls;

	*fresh = 0;
	if (n > SIZE_MAX / 2 - HEAD - 4096) {
		errno = ENOMEM;
		return NULL;
	}
	want = n + HEAD;
	if (want >= LARGE_MIN) {
		size = (want + 4095) & ~(size_t)4095;
		if ((h = map(size)) == NULL) {
			errno = ENOMEM;
			return NULL;
		}
		h->size = size;
		h->large = 1;
		*fresh = 1;
		return h + 1;
	}
	for (cls = 0, size = SMALL_MIN; size < want; cls++)
		size <<= 1;
	if (free_lists[cls] != NULL) {
		struct free_block *f = free_lists[cls];

		free_lists[cls] = f->next;
		h = &f->head;
	} else {
		if (chunk_left < size) {
			/* The rest of the old chunk (less than a block of this
			 * class) is left unused: at most LARGE_MIN per chunk. */
			if ((chunk = map(CHUNK)) == NULL) {
				chunk_left = 0;
				errno = ENOMEM;
				return NULL;
			}
			chunk_left = CHUNK;
		}
		h = (struct block_head *)chunk;
		chunk += size;
		chunk_left -= size;
	}
	h->size = size;
	h->large = 0;
	return h + 1;
}

void *
malloc(size_t n)
{
	int fresh;

	return alloc(n, &fresh);
}

void *
calloc(size_t count, size_t n)
{
	void *p;
	int fresh;

	if (n != 0 && count > SIZE_MAX / n) {
		errno = ENOMEM;
		return NULL;
	}
	p = alloc(count * n, &fresh);
	if (p != NULL && !fresh)
		memset(p, 0, count * n);
	return p;
}

void
free(void *p)
{
	struct block_head *h;
	struct free_block *f;
	unsigned cls;
	size_t size;

	if (p == NULL)
		return;
	h = head_of(p);
	if (h->large) {
		munmap(h, h->size);
		return;
	}
	for (cls = 0, size = SMALL_MIN; size < h->size; cls++)
		size <<= 1;
	f = (struct free_block *)h;
	f->next = free_lists[cls];
	free_lists[cls] = f;
}

void *
realloc(void *p, size_t n)
{
	struct block_head *h;
	size_t have;
	void *q;
	int fresh;

	if (p == NULL)
		return malloc(n);
	h = head_of(p);
	have = h->size - HEAD;
	if (n <= have && (h->large || n + HEAD > h->size / 2))
		return p; /* fits, and a smaller class would not do */
	if (h->large && n + HEAD >= LARGE_MIN && n <= SIZE_MAX / 2 - HEAD - 4096) {
		size_t size = (n + HEAD + 4095) & ~(size_t)4095;
		void *m = mremap(h, h->size, size, MREMAP_MAYMOVE);

		if (m == MAP_FAILED) {
			errno = ENOMEM;
			return NULL;
		}
		h = m;
		h->size = size;
		return h + 1;
	}
	if ((q = alloc(n, &fresh)) == NULL)
		return NULL;
	memcpy(q, p, n < have ? n : have);
	free(p);
	return q;
}
