/* SPDX-License-Identifier: MIT */
/* Unit tests for frame.c: a length-prefixed stream cut anywhere must give
 * back the same messages, in order, each once; a message whole in one piece
 * is handed over where it lies, one that spans pieces is assembled in the
 * reader's buffer; the callback can stop the feed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "unit.h"

#define MAX_MSGS 8

/* The messages a stream is made of. Byte k of message m is a function of
 * both, so a message delivered in the wrong place or order shows. */
struct stream {
	size_t lens[MAX_MSGS];
	int count;
	uint8_t *bytes; /* the prefixed stream, malloc'd */
	size_t len;
};

static uint8_t
msg_byte(int m, size_t k)
{
	return (uint8_t)(m * 31 + k * 7 + 1);
}

static int
stream_make(struct stream *s, const size_t *lens, int count)
{
	size_t total = 0, off = 0, k;
	int m;

	memset(s, 0, sizeof *s);
	for (m = 0; m < count; m++)
		total += 2 + lens[m];
	if ((s->bytes = malloc(total)) == NULL) {
		CHECK(0, "malloc(%zu) failed", total);
		return -1;
	}
	for (m = 0; m < count; m++) {
		s->lens[m] = lens[m];
		s->bytes[off++] = (uint8_t)(lens[m] >> 8);
		s->bytes[off++] = (uint8_t)lens[m];
		for (k = 0; k < lens[m]; k++)
			s->bytes[off++] = msg_byte(m, k);
	}
	s->count = count;
	s->len = total;
	return 0;
}

enum where { NOWHERE, IN_PLACE, ASSEMBLED };

/* What the callback saw. */
struct seen {
	const struct stream *s;
	const uint8_t *chunk;   /* the piece being fed */
	size_t chunk_len;
	const uint8_t *buf;     /* the reader's buffer */
	int count;              /* messages delivered */
	enum where where[MAX_MSGS];
	const uint8_t *ptr[MAX_MSGS];
	int stop_at;            /* return -1 for this message (-1: never) */
	int bad;                /* a length or byte was wrong */
};

static void
seen_init(struct seen *v, const struct stream *s, const uint8_t *buf)
{
	memset(v, 0, sizeof *v);
	v->s = s;
	v->buf = buf;
	v->stop_at = -1;
}

static int
on_msg(void *arg, uint8_t *msg, size_t len)
{
	struct seen *v = arg;
	int m = v->count++;
	size_t k;

	if (m >= v->s->count) {
		CHECK(0, "message %d delivered; the stream has %d", m, v->s->count);
		v->bad = 1;
		return -1;
	}
	if (len != v->s->lens[m]) {
		CHECK(0, "message %d: len %zu, want %zu", m, len, v->s->lens[m]);
		v->bad = 1;
		return 0;
	}
	for (k = 0; k < len; k++) {
		if (msg[k] != msg_byte(m, k)) {
			CHECK(0, "message %d: byte %zu is %u, want %u", m, k, msg[k],
			    msg_byte(m, k));
			v->bad = 1;
			break;
		}
	}
	v->ptr[m] = msg;
	if (msg >= v->chunk + 2 && msg + len <= v->chunk + v->chunk_len)
		v->where[m] = IN_PLACE;
	else if (msg == v->buf + 2)
		v->where[m] = ASSEMBLED;
	else
		v->where[m] = NOWHERE;
	return m == v->stop_at ? -1 : 0;
}

/* Feed data[0..len) as one piece; returns what frame_feed returned. */
static size_t
feed(struct frame_reader *fr, struct seen *v, uint8_t *data, size_t len)
{
	v->chunk = data;
	v->chunk_len = len;
	return frame_feed(fr, data, len, on_msg, v);
}

/* A reader with a malloc'd FRAME_BUF_SIZE buffer. */
static int
reader_init(struct frame_reader *fr)
{
	fr->have = 0;
	if ((fr->buf = malloc(FRAME_BUF_SIZE)) == NULL) {
		CHECK(0, "malloc(FRAME_BUF_SIZE) failed");
		return -1;
	}
	return 0;
}

/* Feed the stream cut at the given offsets (ascending, within the stream)
 * and check every message came out whole, once, in order. */
static void
feed_cut(const struct stream *s, const size_t *cuts, int ncuts, const char *what)
{
	struct frame_reader fr;
	struct seen v;
	size_t from = 0, n;
	int i;

	if (reader_init(&fr) != 0)
		return;
	seen_init(&v, s, fr.buf);
	for (i = 0; i <= ncuts; i++) {
		size_t to = i < ncuts ? cuts[i] : s->len;

		n = feed(&fr, &v, s->bytes + from, to - from);
		if (n != to - from) {
			CHECK(0, "%s: piece %zu..%zu: consumed %zu", what, from, to, n);
			break;
		}
		from = to;
	}
	CHECK(v.count == s->count && !v.bad, "%s: %d messages delivered, want %d%s", what,
	    v.count, s->count, v.bad ? " (some wrong)" : "");
	CHECK(fr.have == 0, "%s: %zu bytes left in the reader", what, fr.have);
	free(fr.buf);
}

static const size_t three[] = { 20, 0, 33 };

/* --- Whole streams, and streams cut anywhere. */

static void
test_whole_stream(void)
{
	static const size_t lens[] = { 12, 0, 300, 1, 512 };
	struct stream s;
	struct frame_reader fr;
	struct seen v;
	int m;

	if (stream_make(&s, lens, 5) != 0)
		return;
	if (reader_init(&fr) == 0) {
		seen_init(&v, &s, fr.buf);
		CHECK_EQ_INT(feed(&fr, &v, s.bytes, s.len), s.len);
		CHECK_EQ_INT(v.count, 5);
		for (m = 0; m < v.count && m < 5; m++)
			CHECK(v.where[m] == IN_PLACE, "message %d not delivered in place", m);
		CHECK_EQ_INT(fr.have, 0);
		CHECK_EQ_INT(feed(&fr, &v, s.bytes, 0), 0);
		CHECK_EQ_INT(v.count, 5);
		free(fr.buf);
	}
	free(s.bytes);
}

static void
test_byte_by_byte(void)
{
	struct stream s;
	struct frame_reader fr;
	struct seen v;
	size_t i;
	int m;

	if (stream_make(&s, three, 3) != 0)
		return;
	if (reader_init(&fr) == 0) {
		seen_init(&v, &s, fr.buf);
		for (i = 0; i < s.len; i++)
			CHECK(feed(&fr, &v, s.bytes + i, 1) == 1, "byte %zu not consumed", i);
		CHECK_EQ_INT(v.count, 3);
		for (m = 0; m < v.count && m < 3; m++)
			CHECK(v.where[m] == ASSEMBLED, "message %d not assembled in fr->buf", m);
		CHECK_EQ_INT(fr.have, 0);
		free(fr.buf);
	}
	free(s.bytes);
}

/* Three messages, every one and every two cut points. */
static void
test_every_split(void)
{
	struct stream s;
	size_t cuts[2];
	char what[64];

	if (stream_make(&s, three, 3) != 0)
		return;
	for (cuts[0] = 0; cuts[0] <= s.len; cuts[0]++) {
		snprintf(what, sizeof what, "cut at %zu", cuts[0]);
		feed_cut(&s, cuts, 1, what);
		for (cuts[1] = cuts[0]; cuts[1] <= s.len; cuts[1]++) {
			snprintf(what, sizeof what, "cut at %zu and %zu", cuts[0], cuts[1]);
			feed_cut(&s, cuts, 2, what);
		}
	}
	free(s.bytes);
}

/* The largest message, in TLS-record-sized pieces and in odd ones, then
 * whole; a small message after it in the last piece is handed in place. */
static void
test_large_message(void)
{
	static const size_t lens[] = { 65535, 40 };
	static const size_t piece_sizes[] = { 16384, 1000, 65536, 7 };
	struct stream s;
	struct frame_reader fr;
	struct seen v;
	size_t p, off, n;

	if (stream_make(&s, lens, 2) != 0)
		return;
	if (reader_init(&fr) != 0) {
		free(s.bytes);
		return;
	}
	for (p = 0; p < sizeof piece_sizes / sizeof piece_sizes[0]; p++) {
		seen_init(&v, &s, fr.buf);
		for (off = 0; off < s.len; off += n) {
			n = s.len - off < piece_sizes[p] ? s.len - off : piece_sizes[p];
			CHECK(feed(&fr, &v, s.bytes + off, n) == n, "pieces of %zu: not consumed",
			    piece_sizes[p]);
		}
		CHECK(v.count == 2 && !v.bad, "pieces of %zu: %d messages", piece_sizes[p], v.count);
		CHECK(v.where[0] == ASSEMBLED, "pieces of %zu: 65535 bytes not assembled",
		    piece_sizes[p]);
		if (piece_sizes[p] > 42)
			CHECK(v.where[1] == IN_PLACE, "pieces of %zu: small message not in place",
			    piece_sizes[p]);
		CHECK_EQ_INT(fr.have, 0);
	}

	seen_init(&v, &s, fr.buf);
	CHECK_EQ_INT(feed(&fr, &v, s.bytes, s.len), s.len);
	CHECK(v.count == 2 && v.where[0] == IN_PLACE && v.ptr[0] == s.bytes + 2,
	    "whole: 65535 bytes not delivered in place");
	free(fr.buf);
	free(s.bytes);
}

/* Zero-length messages are delivered (len 0), not skipped. */
static void
test_zero_length(void)
{
	static const size_t lens[] = { 0, 0, 0 };
	struct stream s;
	struct frame_reader fr;
	struct seen v;
	size_t i;

	if (stream_make(&s, lens, 3) != 0)
		return;
	if (reader_init(&fr) == 0) {
		seen_init(&v, &s, fr.buf);
		CHECK_EQ_INT(feed(&fr, &v, s.bytes, s.len), 6);
		CHECK_EQ_INT(v.count, 3);
		seen_init(&v, &s, fr.buf);
		for (i = 0; i < s.len; i++)
			feed(&fr, &v, s.bytes + i, 1);
		CHECK_EQ_INT(v.count, 3);
		CHECK(v.where[0] == ASSEMBLED, "split empty message not from fr->buf");
		free(fr.buf);
	}
	free(s.bytes);
}

/* --- The callback stops the feed; the rest can be fed later. */

static void
test_stop(void)
{
	struct stream s;
	struct frame_reader fr;
	struct seen v;
	size_t n, first = 2 + three[0], second = first + 2 + three[1];

	if (stream_make(&s, three, 3) != 0)
		return;
	if (reader_init(&fr) != 0) {
		free(s.bytes);
		return;
	}
	/* In place: stop on the second message. */
	seen_init(&v, &s, fr.buf);
	v.stop_at = 1;
	n = feed(&fr, &v, s.bytes, s.len);
	CHECK_EQ_INT(n, second);
	CHECK_EQ_INT(v.count, 2);
	v.stop_at = -1;
	CHECK_EQ_INT(feed(&fr, &v, s.bytes + n, s.len - n), s.len - n);
	CHECK_EQ_INT(v.count, 3);

	/* Assembled: the first message split, stop when it completes. */
	seen_init(&v, &s, fr.buf);
	v.stop_at = 0;
	CHECK_EQ_INT(feed(&fr, &v, s.bytes, 5), 5);
	CHECK_EQ_INT(v.count, 0);
	n = feed(&fr, &v, s.bytes + 5, s.len - 5);
	CHECK_EQ_INT(n, first - 5);
	CHECK_EQ_INT(v.count, 1);
	CHECK(v.where[0] == ASSEMBLED, "split message not assembled");
	CHECK_EQ_INT(fr.have, 0);
	v.stop_at = -1;
	CHECK_EQ_INT(feed(&fr, &v, s.bytes + first, s.len - first), s.len - first);
	CHECK_EQ_INT(v.count, 3);

	/* Stop on the very last message: everything was consumed. */
	seen_init(&v, &s, fr.buf);
	v.stop_at = 2;
	CHECK_EQ_INT(feed(&fr, &v, s.bytes, s.len), s.len);
	free(fr.buf);
	free(s.bytes);
}

/* --- Where a message lies: in the input when whole in one piece (and
 * writable there), in fr->buf when it spans pieces. */

static void
test_in_place_vs_assembled(void)
{
	struct stream s;
	struct frame_reader fr;
	struct seen v;
	size_t cut = 2 + three[0] + 1; /* one byte into the second prefix */

	if (stream_make(&s, three, 3) != 0)
		return;
	if (reader_init(&fr) == 0) {
		seen_init(&v, &s, fr.buf);
		CHECK_EQ_INT(feed(&fr, &v, s.bytes, cut), cut);
		CHECK(v.count == 1 && v.ptr[0] == s.bytes + 2,
		    "first message not at its place in the input");
		CHECK_EQ_INT(fr.have, 1);
		CHECK_EQ_INT(feed(&fr, &v, s.bytes + cut, s.len - cut), s.len - cut);
		CHECK_EQ_INT(v.count, 3);
		CHECK(v.ptr[1] == fr.buf + 2, "message spanning pieces not in fr->buf");
		CHECK(v.where[2] == IN_PLACE && v.ptr[2] == s.bytes + s.len - three[2],
		    "message after an assembled one not in place");
		free(fr.buf);
	}
	free(s.bytes);
}

const struct unit_test frame_tests[] = {
	{ "frame_whole_stream", test_whole_stream },
	{ "frame_byte_by_byte", test_byte_by_byte },
	{ "frame_every_split", test_every_split },
	{ "frame_large_message", test_large_message },
	{ "frame_zero_length", test_zero_length },
	{ "frame_stop", test_stop },
	{ "frame_in_place_vs_assembled", test_in_place_vs_assembled },
	{ NULL, NULL },
};
