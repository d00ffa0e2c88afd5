/* SPDX-License-Identifier: MIT */
/* Unit tests for port/fmt.c, the static router build's printf family:
 * compiled here under other names, beside this libc's. Every conversion,
 * flag and length the proxy and musl's inet_ntop use is compared with
 * this libc's snprintf at every buffer size from 0 to one past the
 * output (nothing written past the size, always terminated, the full
 * length returned); an unknown conversion comes out literally, with the
 * rest of the format, and reads no argument; streams write through their
 * descriptor in pieces. */
#include "fmt_ours.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "unit.h"

#define OUT_MAX 512
#define GUARD 16

/* Ours at size sz against want (wn characters, from this libc). */
static void
check_sized(const char *what, int line, const char *want, int wn, const char *got, size_t sz, int gn)
{
	size_t keep = sz == 0 ? 0 : (size_t)wn < sz - 1 ? (size_t)wn : sz - 1;
	size_t i;

	CHECK(gn == wn, "line %d %s size %zu: returned %d, want %d", line, what, sz, gn, wn);
	if (sz > 0) {
		CHECK(memcmp(got, want, keep) == 0 && got[keep] == '\0',
		    "line %d %s size %zu: \"%.*s\", want \"%.*s\"", line, what, sz, (int)keep, got, (int)keep,
		    want);
	}
	for (i = sz; i < sz + GUARD; i++)
		CHECK(got[i] == '#', "line %d %s size %zu: byte %zu written", line, what, sz, i);
}

/* FORMAT, ARGS...: ours and this libc's agree at every size. */
#define SAME(...)                                                                       \
	do {                                                                            \
		char want_[OUT_MAX], got_[OUT_MAX + GUARD];                             \
		int wn_ = snprintf(want_, sizeof(want_), __VA_ARGS__);                  \
		size_t sz_;                                                             \
		CHECK(wn_ >= 0 && wn_ < OUT_MAX - 1, "line %d: reference output", __LINE__); \
		for (sz_ = 0; wn_ >= 0 && sz_ <= (size_t)wn_ + 1; sz_++) {              \
			memset(got_, '#', sizeof(got_));                                \
			check_sized(#__VA_ARGS__, __LINE__, want_, wn_, got_, sz_,      \
			    fmt_test_snprintf(got_, sz_, __VA_ARGS__));                 \
		}                                                                       \
	} while (0)

static void
test_integers(void)
{
	SAME("%d %d %d %d", 0, 1, -1, 42);
	SAME("%d|%d", INT_MIN, INT_MAX);
	SAME("%i|%i", INT_MIN, -7);
	SAME("%u|%u|%u", 0u, 1u, UINT_MAX);
	SAME("%lu|%lu", 0ul, ULONG_MAX);
	SAME("%llu|%llu|%llu", 0ull, 1ull, ULLONG_MAX);
	SAME("%lld|%lld|%lld", LLONG_MIN, LLONG_MAX, -1ll);
	SAME("%zu|%zu", (size_t)0, SIZE_MAX);
	SAME("%hhu|%hu|%hhd|%hd", (unsigned char)200, (unsigned short)60000, (signed char)-100, (short)-30000);
	SAME("%x|%X|%x|%X", 0u, 0xabcdefu, UINT_MAX, 0x1234u);
	SAME("%lx|%llX", ULONG_MAX, 0xdeadbeefcafef00dull);
	/* Widths and zero padding, narrower and wider than the value. */
	SAME("%02d|%02d|%02d|%02d", 0, 7, 59, 123);
	SAME("%03d|%03d|%04d|%04d", -5, 1000, 2026, -2026);
	SAME("%03u|%06llu|%02llu", 7u, 12345ull, 1234567ull);
	SAME("%02X|%02lX|%04lX|%04x", 0xau, 0x3ful, 0x20acul, 0xffffu);
	SAME("%0*u|%0*u|%0*u", 1, 5u, 3, 5u, 0, 5u);
	SAME("%5d|%-5d|%-5u|%5u", -42, -42, 42u, 123456u);
	SAME("%*d|%*d|%-*d", 6, 1, -6, 1, 3, 12345);
	SAME("%+d|%+d|% d|% d", 5, -5, 5, -5);
	SAME("%.3d|%.0d|%.0d|%5.3d|%-6.2d|", 7, 0, 1, -7, 3);
	SAME("%.*u|%.*u", 4, 12u, -1, 12u);
	SAME("%08d|%-+6d|", -12, 3);
	/* inet_ntop's (musl) */
	SAME("%d.%d.%d.%d", 192, 0, 2, 255);
	SAME("%x:%x:%x:%x:%x:%x:%d.%d.%d.%d", 0u, 0u, 0u, 0u, 0u, 0xffffu, 10, 0, 0, 1);
	/* log.c's time stamp */
	SAME("%04d-%02d-%02d %02d:%02d:%02d,%03dZ - %s - ", 1970, 1, 1, 0, 0, 0, 7, "WARNING");
}

static void
test_strings(void)
{
	static const char nonterminated[4] = { 'a', 'b', 'c', 'd' };

	SAME("%s", "");
	SAME("%s|%s", "hello", "a longer string than most");
	SAME("%c%c%c", 'a', '\0', 0xff);
	SAME("%3c|%-3c|", 'x', 'y');
	SAME("%-32s|%-32s|", "short", "a string that is longer than thirty-two bytes");
	SAME("%8s|%-8s|%8s", "r", "l", "wider than eight");
	SAME("%.60s|%.40s|%.80s|%.0s|", "cut", "0123456789012345678901234567890123456789012345", "x", "gone");
	SAME("%.*s|%.*s|%.*s|", 2, "abcdef", 0, "abc", -1, "all");
	SAME("%.*s", 4, nonterminated);
	SAME("%.2s", nonterminated);
	SAME("%10.3s|%-10.3s|", "abcdef", "abcdef");
	SAME("%%|%s%%|100%%", "x");
	SAME("--- Stats of %s: #requests %llu / qps %llu.%02u / avg_time %llu.%02ums", "UDP listener",
	    123456789ull, 12ull, 5u, 0ull, 99u);
	SAME("no conversions at all");
	SAME("%s", "a string of 300 bytes ....................................................."
	    "............................................................................."
	    "............................................................................."
	    "..........................................................................");
}

/* This libc's %s of NULL is "(null)" too, but the compiler may warn. */
static void
test_null_string(void)
{
	const char *volatile none = NULL;
	char buf[32];

	CHECK_EQ_INT(fmt_test_snprintf(buf, sizeof(buf), "[%s|%.3s|%8s]", none, none, none), 21);
	CHECK(strcmp(buf, "[(null)|(nu|  (null)]") == 0, "NULL: \"%s\"", buf);
}

/* Through a function, so that neither compiler checks these formats. */
static int
ours(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = fmt_test_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return r;
}

static void
test_unknown(void)
{
	static const struct {
		const char *fmt;
		const char *want;
	} cases[] = {
		{ "a %f b %s", "a %f b %s" },
		{ "%d %n %s", "1 %n %s" },
		{ "%d %p", "1 %p" },
		{ "%ls|%lc|%zs", "%ls|%lc|%zs" },
		{ "x %5.2q %d", "x %5.2q %d" },
		{ "%d %", "1 %" },
		{ "%d %-0", "1 %-0" },
		{ "%d %ll", "1 %ll" },
		{ "%d %5%", "1 %5%" },
		{ "%d %Lf", "1 %Lf" },
		{ "%d %jd", "1 %jd" },
	};
	char buf[64];
	size_t i, sz;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int want = (int)strlen(cases[i].want);

		/* A NULL pointer where the unknown conversion's argument would
		 * be, and after it: neither may be read. */
		CHECK_EQ_INT(ours(buf, sizeof(buf), cases[i].fmt, 1, (char *)NULL, (char *)NULL), want);
		CHECK(strcmp(buf, cases[i].want) == 0, "%s: \"%s\"", cases[i].fmt, buf);
		for (sz = 0; sz <= (size_t)want; sz++) {
			memset(buf, '#', sizeof(buf));
			CHECK_EQ_INT(ours(buf, sz, cases[i].fmt, 1, (char *)NULL), want);
			CHECK(sz == 0 || (strncmp(buf, cases[i].want, sz - 1) == 0 && buf[sz - 1] == '\0'),
			    "%s at size %zu", cases[i].fmt, sz);
			CHECK(buf[sz] == '#', "%s at size %zu: written past", cases[i].fmt, sz);
		}
	}
}

static void
test_sizes(void)
{
	char buf[16];

	/* Size 0 with no buffer: only the length. */
	CHECK_EQ_INT(fmt_test_snprintf(NULL, 0, "%s=%u", "abc", 12345u), 9);
	/* Wider than INT_MAX: -1 and EOVERFLOW, and still nothing past the size. */
	memset(buf, '#', sizeof(buf));
	errno = 0;
	CHECK_EQ_INT(ours(buf, 4, "%*d%*d", INT_MAX, 1, INT_MAX, 1), -1);
	CHECK_EQ_INT(errno, EOVERFLOW);
	CHECK(memcmp(buf, "   \0####", 8) == 0, "width INT_MAX: \"%.8s\"", buf);
	CHECK_EQ_INT(ours(buf, sizeof(buf), "%99999999999999d|", 1), -1);
	CHECK_EQ_INT(ours(buf, sizeof(buf), "%.99999999999999d|", 1), -1);
	CHECK_EQ_INT(ours(buf, sizeof(buf), "%*d", INT_MIN + 1, 1), INT_MAX);
	CHECK(strcmp(buf, "1              ") == 0, "width -(INT_MAX): \"%s\"", buf);
	/* hh and h cut the argument as C says; flags that others override
	 * (formats the compiler would warn about, as in this libc). */
	CHECK_EQ_INT(ours(buf, sizeof(buf), "%hhu|%hd", 300, 40000), 9);
	CHECK(strcmp(buf, "44|-25536") == 0, "hh, h: \"%s\"", buf);
	CHECK_EQ_INT(ours(buf, sizeof(buf), "%+u|%05.3d|%-04d|", 5u, 7, 1), 13);
	CHECK(strcmp(buf, "5|  007|1   |") == 0, "+u, 0 with precision, 0 with -: \"%s\"", buf);
}

/* Everything readable from fd, which the writer has closed. */
static size_t
drain(int fd, char *buf, size_t size)
{
	size_t n = 0;
	ssize_t r;

	while (n < size && (r = read(fd, buf + n, size - n)) > 0)
		n += (size_t)r;
	return n;
}

static void
test_streams(void)
{
	static char big[3000], got[4000];
	fmt_test_FILE f = { -1, 0 };
	int fds[2];
	size_t n;

	memset(big, 'z', sizeof(big) - 1);
	if (pipe(fds) != 0) {
		CHECK(0, "pipe");
		return;
	}
	f.fd = fds[1];
	/* All of it fits in a pipe's buffer (64 KiB on Linux): read after
	 * the writes. */
	CHECK_EQ_INT(fmt_test_fprintf(&f, "%-32s|%u\n", "help", 7u), 35);
	CHECK_EQ_INT(fmt_test_fprintf(&f, "%s.\n", big), (int)sizeof(big) + 1);
	CHECK_EQ_INT(fmt_test_fputs("fputs\n", &f), 0);
	CHECK_EQ_INT(fmt_test_fputc('c', &f), 'c');
	CHECK_EQ_INT(fmt_test_fwrite("fwrite", 2, 3, &f), 3);
	CHECK_EQ_INT(fmt_test_fflush(&f), 0);
	CHECK_EQ_INT(fmt_test_ferror(&f), 0);
	close(fds[1]);
	n = drain(fds[0], got, sizeof(got));
	close(fds[0]);
	CHECK_EQ_INT(n, 35 + sizeof(big) + 1 + 6 + 1 + 6);
	CHECK(memcmp(got, "help                            |7\n", 35) == 0, "fprintf: \"%.35s\"", got);
	CHECK(memcmp(got + 35, big, sizeof(big) - 1) == 0 && memcmp(got + 35 + sizeof(big) - 1, ".\n", 2) == 0,
	    "a long fprintf in pieces");
	CHECK(memcmp(got + 35 + sizeof(big) + 1, "fputs\ncfwrite", 13) == 0, "fputs, fputc, fwrite: \"%.13s\"",
	    got + 35 + sizeof(big) + 1);

	/* A stream that cannot be written: -1 or EOF, and the error stays. */
	f.fd = open("/dev/null", O_RDONLY);
	f.err = 0;
	CHECK_EQ_INT(fmt_test_fprintf(&f, "x%d", 1), -1);
	CHECK(fmt_test_ferror(&f) != 0, "error not kept");
	CHECK_EQ_INT(fmt_test_fputs("x", &f), EOF);
	CHECK_EQ_INT(fmt_test_fputc('x', &f), EOF);
	CHECK_EQ_INT(fmt_test_fwrite("x", 1, 1, &f), 0);
	close(f.fd);
}

const struct unit_test fmt_tests[] = {
	{ "fmt_integers", test_integers },
	{ "fmt_strings", test_strings },
	{ "fmt_null_string", test_null_string },
	{ "fmt_unknown", test_unknown },
	{ "fmt_sizes", test_sizes },
	{ "fmt_streams", test_streams },
	{ NULL, NULL },
};
