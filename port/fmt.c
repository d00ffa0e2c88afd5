/* SPDX-License-Identifier: MIT */
/* The printf family and the little of stdio the proxy uses, for the static
 * router build (make static: musl), in place of musl's, which take 14 KiB
 * of that binary (printf_core, fmt_fp for floating point the proxy never
 * prints, the FILE layer) where this takes 2.5 (make static, x86_64,
 * 2026-12-04: 202,408 -> 190,536 bytes stripped). Call sites stay
 * standard C; the other builds keep their libc.
 *
 * Conversions: d i u x X c s %, flags - 0 + space, width and precision as
 * digits or *, lengths hh h l ll z (none on c and s). Anything else
 * (%f, %p, %n, %jd, %ls, a lone % at the end) is copied out literally with the
 * rest of the format: the arguments no longer line up with the
 * conversions, so reading one more could crash. NULL for %s prints
 * "(null)", as both glibc and musl do.
 * snprintf is C99's: nothing written at or past size, the output ended by
 * a NUL when size > 0, the return value the length of the whole output (-1,
 * EOVERFLOW, past INT_MAX). stdout and stderr have no buffer: a call writes
 * its output with write(2), in CHUNK-byte pieces. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

/* musl's <stdio.h> leaves struct _IO_FILE incomplete (and this file does
 * not include it: the unit tests compile it beside glibc's). Here a FILE is
 * a descriptor and a sticky error flag. None of musl's stdio may be linked
 * beside it: port/router.mk checks the static binary for it. */
struct _IO_FILE {
	int fd;
	int err; /* a write failed (ferror) */
};
typedef struct _IO_FILE FILE;

#define FMT_EOF (-1)
#define CHUNK 256 /* bytes a FILE's output is written in: one write(2) for most lines */

static struct _IO_FILE stdout_file = { 1, 0 };
static struct _IO_FILE stderr_file = { 2, 0 };
FILE *const stdout = &stdout_file;
FILE *const stderr = &stderr_file;

int vsnprintf(char *s, size_t size, const char *fmt, va_list ap);
int snprintf(char *s, size_t size, const char *fmt, ...);
int vfprintf(FILE *f, const char *fmt, va_list ap);
int fprintf(FILE *f, const char *fmt, ...);
int vprintf(const char *fmt, va_list ap);
int printf(const char *fmt, ...);
size_t fwrite(const void *p, size_t size, size_t count, FILE *f);
int fputs(const char *s, FILE *f);
int puts(const char *s);
int fputc(int c, FILE *f);
int putc(int c, FILE *f);
int putchar(int c);
int fflush(FILE *f);
int ferror(FILE *f);

/* Where formatted characters go: buf, and when it is full either f (a
 * stream) or nowhere (snprintf: only counted). */
struct sink {
	char *buf;
	size_t room;  /* characters buf takes */
	size_t used;  /* characters in buf */
	size_t total; /* characters of the whole output (saturating) */
	FILE *f;      /* NULL: drop what does not fit */
	int failed;   /* a write to f failed in this call */
};

static int
write_all(FILE *f, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t r = write(f->fd, p, n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			f->err = 1;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static void
flush(struct sink *k)
{
	if (k->f != NULL && k->used > 0 && write_all(k->f, k->buf, k->used) != 0)
		k->failed = 1;
	k->used = 0;
}

/* n characters: those at s, or n times c when s is NULL. */
static void
emit(struct sink *k, const char *s, char c, size_t n)
{
	k->total = n > SIZE_MAX - k->total ? SIZE_MAX : k->total + n;
	while (n > 0) {
		size_t fit;

		if (k->used == k->room) {
			if (k->f == NULL)
				return;
			flush(k);
		}
		fit = k->room - k->used < n ? k->room - k->used : n;
		if (s != NULL) {
			memcpy(k->buf + k->used, s, fit);
			s += fit;
		} else {
			memset(k->buf + k->used, c, fit);
		}
		k->used += fit;
		n -= fit;
	}
}

static int
result(const struct sink *k)
{
	if (k->failed)
		return -1;
	if (k->total > INT_MAX) {
		errno = EOVERFLOW;
		return -1;
	}
	return (int)k->total;
}

#define F_LEFT 1  /* '-' */
#define F_ZERO 2  /* '0' */
#define F_PLUS 4  /* '+' */
#define F_SPACE 8 /* ' ' */

/* A field of n characters at s (with its sign, if any, before them), in
 * width. */
static void
field(struct sink *k, const char *s, size_t n, unsigned flags, size_t width)
{
	size_t fill = width > n ? width - n : 0;

	if (!(flags & F_LEFT))
		emit(k, NULL, ' ', fill);
	emit(k, s, 0, n);
	if (flags & F_LEFT)
		emit(k, NULL, ' ', fill);
}

/* An integer for conversion conv (d, u, x or X): magnitude v, sign from
 * neg and the flags; prec < 0 when there was none. */
static void
integer(struct sink *k, uintmax_t v, int neg, char conv, unsigned flags, size_t width, int prec)
{
	const char *digits = conv == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
	unsigned base = conv == 'x' || conv == 'X' ? 16 : 10;
	char text[sizeof(uintmax_t) * 3]; /* 20 decimal digits for 64 bits */
	char *p = text + sizeof(text);
	size_t n, zeros, len;
	char sign = neg ? '-' : flags & F_PLUS ? '+' : flags & F_SPACE ? ' ' : 0;

	for (; v != 0; v /= base)
		*--p = digits[v % base];
	n = (size_t)(text + sizeof(text) - p);
	/* '0' pads with zeros after the sign; a precision turns it off. */
	if (prec >= 0 || (flags & F_LEFT))
		flags &= ~(unsigned)F_ZERO;
	if (prec < 0)
		prec = 1;
	zeros = (size_t)prec > n ? (size_t)prec - n : 0;
	len = n + zeros + (sign != 0);
	if ((flags & F_ZERO) && width > len) {
		zeros += width - len;
		len = width;
	}
	if (!(flags & F_LEFT) && width > len)
		emit(k, NULL, ' ', width - len);
	if (sign != 0)
		emit(k, &sign, 0, 1);
	emit(k, NULL, '0', zeros);
	emit(k, p, 0, n);
	if ((flags & F_LEFT) && width > len)
		emit(k, NULL, ' ', width - len);
}

enum length { LEN_NONE, LEN_HH, LEN_H, LEN_L, LEN_LL, LEN_Z };

/* Digits at *pp as a number, INT_MAX at most. */
static int
number(const char **pp)
{
	const char *p = *pp;
	int v = 0;

	while (*p >= '0' && *p <= '9') {
		v = v > (INT_MAX - 9) / 10 ? INT_MAX : v * 10 + (*p - '0');
		p++;
	}
	*pp = p;
	return v;
}

static void
format(struct sink *k, const char *fmt, va_list ap)
{
	const char *lit, *spec, *s;
	unsigned flags;
	size_t width, n;
	int prec, w, neg;
	enum length len;
	uintmax_t u;
	intmax_t i;
	char c;

	for (;;) {
		for (lit = fmt; *fmt != '\0' && *fmt != '%'; fmt++)
			;
		emit(k, lit, 0, (size_t)(fmt - lit));
		if (*fmt == '\0')
			return;
		spec = fmt++;
		flags = 0;
		for (;; fmt++) {
			if (*fmt == '-')
				flags |= F_LEFT;
			else if (*fmt == '0')
				flags |= F_ZERO;
			else if (*fmt == '+')
				flags |= F_PLUS;
			else if (*fmt == ' ')
				flags |= F_SPACE;
			else
				break;
		}
		if (*fmt == '*') {
			fmt++;
			w = va_arg(ap, int);
			if (w < 0) {
				/* C11 7.21.6.1: a negative width is '-' and its size. */
				flags |= F_LEFT;
				width = (size_t)-(intmax_t)w;
			} else {
				width = (size_t)w;
			}
		} else {
			width = (size_t)number(&fmt);
		}
		prec = -1;
		if (*fmt == '.') {
			fmt++;
			if (*fmt == '*') {
				fmt++;
				prec = va_arg(ap, int); /* negative: as if none */
				if (prec < 0)
					prec = -1;
			} else {
				prec = number(&fmt);
			}
		}
		len = LEN_NONE;
		switch (*fmt) {
		case 'h':
			len = fmt[1] == 'h' ? LEN_HH : LEN_H;
			fmt += len == LEN_HH ? 2 : 1;
			break;
		case 'l':
			len = fmt[1] == 'l' ? LEN_LL : LEN_L;
			fmt += len == LEN_LL ? 2 : 1;
			break;
		case 'z':
			len = LEN_Z;
			fmt++;
			break;
		default:
			break;
		}
		switch (*fmt) {
		case '%':
			if (fmt != spec + 1)
				goto unknown;
			emit(k, "%", 0, 1);
			break;
		case 'c':
			if (len != LEN_NONE)
				goto unknown;
			c = (char)va_arg(ap, int);
			field(k, &c, 1, flags, width);
			break;
		case 's':
			if (len != LEN_NONE)
				goto unknown;
			s = va_arg(ap, const char *);
			if (s == NULL)
				s = "(null)";
			/* With a precision, s need not end within it. */
			for (n = 0; (prec < 0 || n < (size_t)prec) && s[n] != '\0'; n++)
				;
			field(k, s, n, flags, width);
			break;
		case 'd':
		case 'i':
			switch (len) {
			case LEN_L: i = va_arg(ap, long); break;
			case LEN_LL: i = va_arg(ap, long long); break;
			case LEN_Z: i = va_arg(ap, ssize_t); break;
			default: i = va_arg(ap, int); break;
			}
			/* hh and h: the argument (an int) cut to its type's size. */
			if (len == LEN_HH)
				i = (intmax_t)(((uintmax_t)i & 0xff) ^ 0x80) - 0x80;
			else if (len == LEN_H)
				i = (intmax_t)(((uintmax_t)i & 0xffff) ^ 0x8000) - 0x8000;
			neg = i < 0;
			integer(k, neg ? 0 - (uintmax_t)i : (uintmax_t)i, neg, 'd', flags, width, prec);
			break;
		case 'u':
		case 'x':
		case 'X':
			switch (len) {
			case LEN_L: u = va_arg(ap, unsigned long); break;
			case LEN_LL: u = va_arg(ap, unsigned long long); break;
			case LEN_Z: u = va_arg(ap, size_t); break;
			default: u = va_arg(ap, unsigned); break;
			}
			if (len == LEN_HH)
				u &= 0xff;
			else if (len == LEN_H)
				u &= 0xffff;
			integer(k, u, 0, *fmt, flags & ~(unsigned)(F_PLUS | F_SPACE), width, prec);
			break;
		default:
		unknown:
			emit(k, spec, 0, strlen(spec));
			return;
		}
		fmt++;
	}
}

int
vsnprintf(char *s, size_t size, const char *fmt, va_list ap)
{
	struct sink k = { s, size > 0 ? size - 1 : 0, 0, 0, NULL, 0 };

	format(&k, fmt, ap);
	if (size > 0)
		s[k.used] = '\0';
	return result(&k);
}

int
snprintf(char *s, size_t size, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(s, size, fmt, ap);
	va_end(ap);
	return r;
}

int
vfprintf(FILE *f, const char *fmt, va_list ap)
{
	char buf[CHUNK];
	struct sink k = { buf, sizeof(buf), 0, 0, f, 0 };

	format(&k, fmt, ap);
	flush(&k);
	return result(&k);
}

int
fprintf(FILE *f, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfprintf(f, fmt, ap);
	va_end(ap);
	return r;
}

int
vprintf(const char *fmt, va_list ap)
{
	return vfprintf(stdout, fmt, ap);
}

int
printf(const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfprintf(stdout, fmt, ap);
	va_end(ap);
	return r;
}

size_t
fwrite(const void *p, size_t size, size_t count, FILE *f)
{
	if (size == 0 || count == 0)
		return 0;
	if (count > SIZE_MAX / size) {
		errno = EOVERFLOW;
		return 0;
	}
	return write_all(f, p, size * count) == 0 ? count : 0;
}

int
fputs(const char *s, FILE *f)
{
	return write_all(f, s, strlen(s)) == 0 ? 0 : FMT_EOF;
}

/* s and a newline in one write for a short s. */
int
puts(const char *s)
{
	char buf[CHUNK];
	struct sink k = { buf, sizeof(buf), 0, 0, stdout, 0 };

	emit(&k, s, 0, strlen(s));
	emit(&k, "\n", 0, 1);
	flush(&k);
	return k.failed ? FMT_EOF : 0;
}

int
fputc(int c, FILE *f)
{
	unsigned char b = (unsigned char)c;

	return write_all(f, (const char *)&b, 1) == 0 ? b : FMT_EOF;
}

int
putc(int c, FILE *f)
{
	return fputc(c, f);
}

int
putchar(int c)
{
	return fputc(c, stdout);
}

/* Nothing is buffered. */
int
fflush(FILE *f)
{
	(void)f;
	return 0;
}

int
ferror(FILE *f)
{
	return f->err;
}
