/* SPDX-License-Identifier: MIT */
/* Fuzz target: the upstream answer path. The input is a byte stream as it
 * comes out of a TLS connection; the first byte picks how it is cut into
 * pieces. Each message the framer yields is checked and matched against a
 * fixed query (question, RD, CD and DO), its hop-by-hop EDNS options are
 * stripped, and a matching one is truncated for a UDP client, as the proxy
 * does. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "frame.h"
#include "bounds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* "a.test IN A" with an OPT record, ID 0x1234. */
static const uint8_t query[] = {
	0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x01, 'a', 0x04, 't', 'e', 's', 't', 0x00, 0x00, 0x01, 0x00, 0x01,
	0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
#define QUERY_QEND 24

/* Stripping the TLS hop's options keeps a response with the same header
 * and question, never grows it, leaves no keepalive behind when it changed
 * something, and has nothing more to do the second time. */
static void
check_strip(const uint8_t *msg, size_t len, uint16_t qend)
{
	static uint8_t copy[DNS_MSG_MAX];
	uint16_t qend2;
	size_t n, again;

	if (len > sizeof(copy))
		return;
	memcpy(copy, msg, len);
	n = dns_strip_answer_opt(copy, len, qend);
	if (n > len || n < DNS_HEADER_LEN || memcmp(copy, msg, qend != 0 ? qend : DNS_HEADER_LEN) != 0)
		abort();
	if (n == len) {
		if (memcmp(copy, msg, len) != 0)
			abort();
		return;
	}
	if (dns_check_answer(copy, n, &qend2) != 0 || qend2 != qend ||
	    dns_keepalive(copy, n, dns_answer_opt(copy, n, qend)) != -1)
		abort();
	again = dns_strip_answer_opt(copy, n, qend);
	if (again != n)
		abort();
}

static int
on_message(void *arg, uint8_t *msg, size_t len)
{
	static uint8_t out[DNS_QUERY_ROOM + 64];
	size_t *count = arg;
	uint16_t qend, opt;

	(*count)++;
	if (len == 0 || dns_check_answer(msg, len, &qend) != 0)
		return *count > 1000 ? -1 : 0;
	if (qend > len)
		abort();
	opt = dns_answer_opt(msg, len, qend);
	if (opt != 0 && ((size_t)opt + 11 > len || msg[opt] != 0 || dns_get16(msg + opt + 1) != 41))
		abort();
	if (dns_keepalive(msg, len, opt) > 0xffff)
		abort();
	check_strip(msg, len, qend);
	if (dns_answer_match(query, QUERY_QEND, 0, msg, len, qend, opt)) {
		size_t n;

		/* Taken: the question, RD and CD as asked, DO clear. */
		if (!dns_question_match(query, QUERY_QEND, msg, len, qend) ||
		    ((msg[2] ^ query[2]) & 0x01) != 0 || ((msg[3] ^ query[3]) & 0x10) != 0 ||
		    (opt != 0 && (msg[opt + 7] & 0x80) != 0))
			abort();
		dns_put16(msg, 0xbeef);
		n = dns_truncate(out, sizeof(out), msg, len, qend, 1);
		if (n == 0 || dns_check_answer(out, n, &qend) != 0 || dns_get16(out) != 0xbeef)
			abort();
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[FRAME_BUF_SIZE];
	struct frame_reader fr = { buf, 0 };
	uint8_t *copy;
	size_t off = 0, count = 0, piece;

	if (size < 1)
		return 0;
	piece = (size_t)data[0] + 1;
	data++;
	size--;
	/* frame_feed may modify messages in place: give it a private copy. */
	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	while (off < size) {
		size_t n = size - off < piece ? size - off : piece;
		size_t used = frame_feed(&fr, copy + off, n, on_message, &count);

		if (used > n)
			abort();
		if (used < n)
			break;
		off += n;
	}
	if (fr.have > FRAME_BUF_SIZE)
		abort();
	free(copy);
	return 0;
}
