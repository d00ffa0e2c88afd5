/* SPDX-License-Identifier: MIT */
/* Fuzz target: port/fmt.c's snprintf (the static router build's printf),
 * any format, any buffer size. The first byte is the size, the rest the
 * format, cut after its eighth '%'. The arguments are all pointers to one
 * string, which every conversion may read in its own way (on the ABIs we
 * build for a pointer is passed like a long): more than eight conversions,
 * each with * width and precision and a long long taking two slots, could
 * need. Checks: the length is the same for every size, never a byte
 * written at or past the size (the buffer is exactly that big), the output
 * ended by a NUL, and each shorter output a prefix of the longest. */
#include "../unit/fmt_ours.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FORMAT_MAX 512
#define CONVERSIONS_MAX 8
#define FULL_MAX 65536 /* outputs longer than this are only counted */

static int
run(char *buf, size_t n, const char *format)
{
	static const char s[] = "an argument";
	const char *a = s;

	/* 48 slots: 8 conversions * (2 for *.* + 2 for a long long + 1 to
	 * align it) with room to spare. */
	return fmt_test_snprintf(buf, n, format, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a,
	    a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char format[FORMAT_MAX + 1], full[FULL_MAX + 1];
	size_t i, len = 0, n;
	unsigned conversions = 0;
	char *buf;
	int r, r2;

	if (size < 1)
		return 0;
	n = data[0];
	for (i = 1; i < size && len < FORMAT_MAX && data[i] != '\0'; i++) {
		if (data[i] == '%' && ++conversions > CONVERSIONS_MAX)
			break;
		format[len++] = (char)data[i];
	}
	format[len] = '\0';

	r = run(NULL, 0, format);
	if (r >= 0 && (size_t)r <= FULL_MAX) {
		memset(full, 'x', sizeof(full));
		if (run(full, (size_t)r + 1, format) != r || full[r] != '\0' || strlen(full) > (size_t)r)
			abort();
	}
	/* Exactly n bytes (malloc(0) may be NULL: size 0 writes nothing). */
	if ((buf = malloc(n > 0 ? n : 1)) == NULL)
		return 0;
	memset(buf, 'x', n > 0 ? n : 1);
	r2 = run(n > 0 ? buf : NULL, n, format);
	if (r2 != r)
		abort();
	if (n > 0) {
		size_t keep = r >= 0 && (size_t)r < n - 1 ? (size_t)r : n - 1;

		if (buf[keep] != '\0')
			abort();
		if (r >= 0 && (size_t)r <= FULL_MAX && memcmp(buf, full, keep) != 0)
			abort();
	}
	free(buf);
	return 0;
}
