/* SPDX-License-Identifier: MIT */
/* Unit tests for dns.c: the verdict on a client's message, the checks on an
 * upstream answer, and the replies the proxy writes itself (errors and
 * truncated answers). Messages are built field by field with the small
 * writer below, so each test shows the bytes that matter to it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "bounds.h"
#include "unit.h"

#define T_A 1
#define T_AAAA 28
#define C_IN 1

#define OP_QUERY 0
#define OP_STATUS 2
#define OP_NOTIFY 4
#define OP_UPDATE 5

/* Byte 2 of the header. */
#define H_QR 0x80
#define H_TC 0x02
#define H_RD 0x01

/* A message under construction. Writes past the end are dropped and
 * remembered, so a test with a wrong size fails instead of overrunning. */
struct msg {
	uint8_t b[2048];
	size_t len;
	int overflow;
};

static void
put8(struct msg *m, unsigned v)
{
	if (m->len < sizeof m->b)
		m->b[m->len++] = (uint8_t)v;
	else
		m->overflow = 1;
}

static void
put16(struct msg *m, unsigned v)
{
	put8(m, v >> 8);
	put8(m, v & 0xff);
}

static void
put_bytes(struct msg *m, const void *p, size_t n)
{
	const uint8_t *s = p;

	while (n-- > 0)
		put8(m, *s++);
}

/* A compression pointer to offset target. */
static void
put_ptr(struct msg *m, unsigned target)
{
	put16(m, 0xc000 | target);
}

/* One label of n bytes, filled with letters. */
static void
put_label(struct msg *m, unsigned n)
{
	unsigned i;

	put8(m, n);
	for (i = 0; i < n; i++)
		put8(m, 'a' + i % 26);
}

/* A dotted name ("www.example.com"; "" is the root) in wire form. */
static void
put_name(struct msg *m, const char *dotted)
{
	while (*dotted != '\0') {
		size_t n = strcspn(dotted, ".");

		put8(m, (unsigned)n);
		put_bytes(m, dotted, n);
		dotted += n;
		if (*dotted == '.')
			dotted++;
	}
	put8(m, 0);
}

/* A name whose wire form (length bytes and final zero included) is exactly
 * wire_len bytes, made of labels as long as allowed. */
static void
put_name_of_len(struct msg *m, unsigned wire_len)
{
	unsigned left = wire_len - 1; /* the root byte */

	while (left > 0) {
		unsigned l = left - 1 > DNS_LABEL_MAX ? DNS_LABEL_MAX : left - 1;

		if (left - (l + 1) == 1) /* a lone byte cannot be a label */
			l--;
		put_label(m, l);
		left -= l + 1;
	}
	put8(m, 0);
}

static void
header(struct msg *m, unsigned id, unsigned flags2, unsigned flags3,
    unsigned qd, unsigned an, unsigned ns, unsigned ar)
{
	memset(m, 0, sizeof *m);
	put16(m, id);
	put8(m, flags2);
	put8(m, flags3);
	put16(m, qd);
	put16(m, an);
	put16(m, ns);
	put16(m, ar);
}

static void
set_count(struct msg *m, unsigned index, unsigned v)
{
	dns_put16(m->b + 4 + 2 * index, (uint16_t)v);
}

static void
set_opcode(struct msg *m, unsigned opcode)
{
	m->b[2] = (uint8_t)((m->b[2] & ~0x78) | (opcode & 0x0f) << 3);
}

static void
put_question(struct msg *m, const char *name, unsigned type)
{
	put_name(m, name);
	put16(m, type);
	put16(m, C_IN);
}

/* The fixed part of a record after its owner name, then its data. */
static void
put_rr_tail(struct msg *m, unsigned type, unsigned class, uint32_t ttl,
    const void *rdata, unsigned rdlen)
{
	put16(m, type);
	put16(m, class);
	put16(m, ttl >> 16);
	put16(m, ttl & 0xffff);
	put16(m, rdlen);
	put_bytes(m, rdata, rdlen);
}

static const uint8_t addr4[4] = { 192, 0, 2, 1 };

/* An A record for the question's name (pointer to offset 12). */
static void
put_a_rr(struct msg *m)
{
	put_ptr(m, DNS_HEADER_LEN);
	put_rr_tail(m, T_A, C_IN, 300, addr4, sizeof addr4);
}

/* An OPT record: root owner, the UDP size in CLASS, ttl = extended RCODE,
 * version and flags, then opt_len bytes of options. */
static void
put_opt_rr(struct msg *m, unsigned udp_size, uint32_t ttl,
    const void *options, unsigned opt_len)
{
	put8(m, 0);
	put_rr_tail(m, DNS_TYPE_OPT, udp_size, ttl, options, opt_len);
}

/* "www.example.com" A IN, the question every test starts from. Its end:
 * 12 + 17 (name) + 4 = 33. */
#define QNAME "www.example.com"
#define QEND 33

static void
make_query(struct msg *m, unsigned id, unsigned ar)
{
	header(m, id, H_RD, 0, 1, 0, 0, ar);
	put_question(m, QNAME, T_A);
}

static void
make_edns_query(struct msg *m, unsigned udp_size)
{
	make_query(m, 0x0e0e, 1);
	put_opt_rr(m, udp_size, 0x00008000, NULL, 0);
}

/* A NOERROR answer with n A records, and an OPT with the given TTL field
 * when with_opt. */
static void
make_answer(struct msg *m, unsigned n, int with_opt, uint32_t opt_ttl)
{
	unsigned i;

	header(m, 0x4242, H_QR | H_RD, 0x80, 1, n, 0, with_opt ? 1 : 0);
	put_question(m, QNAME, T_A);
	for (i = 0; i < n; i++)
		put_a_rr(m);
	if (with_opt)
		put_opt_rr(m, 4096, opt_ttl, NULL, 0);
}

static enum dns_verdict
check(const struct msg *m, struct dns_query_info *qi)
{
	CHECK(!m->overflow, "test message overflowed its buffer");
	return dns_check_query(m->b, m->len, qi);
}

static const char *
verdict_name(enum dns_verdict v)
{
	switch (v) {
	case DNS_FORWARD:
		return "FORWARD";
	case DNS_DROP:
		return "DROP";
	case DNS_FORMERR:
		return "FORMERR";
	case DNS_NOTIMP:
		return "NOTIMP";
	}
	return "?";
}

#define CHECK_VERDICT(m, qi, want, what)                                      \
	do {                                                                  \
		enum dns_verdict v_ = check((m), (qi));                       \
		CHECK(v_ == (want), "%s: verdict %s, want %s", (what),        \
		    verdict_name(v_), verdict_name(want));                    \
	} while (0)

/* --- dns_check_query: well-formed queries are forwarded with their facts. */

static void
test_query_good_a(void)
{
	struct msg m;
	struct dns_query_info qi;

	make_query(&m, 0x1234, 0);
	CHECK_VERDICT(&m, &qi, DNS_FORWARD, "plain A query");
	CHECK_EQ_INT(qi.id, 0x1234);
	CHECK_EQ_INT(qi.qend, QEND);
	CHECK_EQ_INT(qi.udp_size, DNS_UDP_MIN);
	CHECK_EQ_INT(qi.has_edns, 0);
	CHECK_EQ_INT(qi.opt_off, 0);
	CHECK_EQ_INT(qi.opcode, OP_QUERY);
	CHECK_EQ_INT(qi.rd, 1);

	m.b[2] &= (uint8_t)~H_RD;
	CHECK_VERDICT(&m, &qi, DNS_FORWARD, "query without RD");
	CHECK_EQ_INT(qi.rd, 0);

	/* The root name is a name too. */
	header(&m, 7, 0, 0, 1, 0, 0, 0);
	put_question(&m, "", T_A);
	CHECK_VERDICT(&m, &qi, DNS_FORWARD, "root query");
	CHECK_EQ_INT(qi.qend, DNS_HEADER_LEN + 1 + 4);
}

static void
test_query_edns_size(void)
{
	static const struct {
		unsigned advertised, want;
	} sizes[] = {
		{ 4096, 4096 }, { 1232, 1232 }, { 512, 512 }, { 511, 512 },
		{ 100, 512 }, { 0, 512 }, { 65535, 65535 },
	};
	static const uint8_t cookie[] = { 0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8 };
	struct msg m;
	struct dns_query_info qi;
	size_t i;

	for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		make_edns_query(&m, sizes[i].advertised);
		CHECK_VERDICT(&m, &qi, DNS_FORWARD, "EDNS query");
		CHECK(qi.udp_size == sizes[i].want, "advertised %u: udp_size %u, want %u",
		    sizes[i].advertised, qi.udp_size, sizes[i].want);
		CHECK_EQ_INT(qi.has_edns, 1);
		CHECK_EQ_INT(qi.opt_off, QEND);
	}

	/* An OPT with options, after another additional record. */
	make_query(&m, 1, 2);
	put_a_rr(&m);
	put_opt_rr(&m, 1400, 0, cookie, sizeof cookie);
	CHECK_VERDICT(&m, &qi, DNS_FORWARD, "OPT second in additional");
	CHECK_EQ_INT(qi.opt_off, QEND + 16);
	CHECK_EQ_INT(qi.udp_size, 1400);
	CHECK_EQ_INT(qi.has_edns, 1);
	CHECK_EQ_INT(m.b[qi.opt_off], 0);
	CHECK_EQ_INT(dns_get16(m.b + qi.opt_off + 1), DNS_TYPE_OPT);
}

/* Records in the answer and authority sections are walked, not used: an
 * OPT-typed record there is not the query's EDNS. */
static void
test_query_other_sections(void)
{
	struct msg m;
	struct dns_query_info qi;

	make_query(&m, 1, 0);
	set_count(&m, 1, 1);
	set_count(&m, 2, 1);
	put_a_rr(&m);
	put_a_rr(&m);
	CHECK_VERDICT(&m, &qi, DNS_FORWARD, "answer + authority records");
	CHECK_EQ_INT(qi.has_edns, 0);
}

/* --- Messages dropped without a reply: no header, or not a query. */

static void
test_query_no_header(void)
{
	struct msg m;
	struct dns_query_info qi;
	size_t len;

	make_query(&m, 0x1234, 0);
	for (len = 0; len < DNS_HEADER_LEN; len++) {
		enum dns_verdict v = dns_check_query(m.b, len, &qi);

		CHECK(v == DNS_DROP, "%zu bytes: verdict %s, want DROP", len,
		    verdict_name(v));
	}
	/* A header alone (QDCOUNT 0) parses, so it gets FORMERR, not silence. */
	header(&m, 1, 0, 0, 0, 0, 0, 0);
	CHECK_VERDICT(&m, &qi, DNS_FORMERR, "bare header");
	CHECK_EQ_INT(qi.id, 1);
}

static void
test_query_qr_set(void)
{
	struct msg m;
	struct dns_query_info qi;

	make_answer(&m, 1, 0, 0);
	CHECK_VERDICT(&m, &qi, DNS_DROP, "answer sent as a query");
	make_query(&m, 1, 0);
	m.b[2] |= H_QR;
	set_opcode(&m, OP_NOTIFY);
	CHECK_VERDICT(&m, &qi, DNS_DROP, "NOTIFY response");
}

/* A message of more than 65535 bytes cannot have come from a client. */
static void
test_query_oversize(void)
{
	struct msg m;
	struct dns_query_info qi;
	uint8_t *big = calloc(1, DNS_MSG_MAX + 1);
	enum dns_verdict v;

	if (big == NULL) {
		CHECK(0, "calloc failed");
		return;
	}
	make_query(&m, 1, 0);
	memcpy(big, m.b, m.len);
	v = dns_check_query(big, DNS_MSG_MAX + 1, &qi);
	CHECK(v == DNS_FORMERR, "65536 bytes: verdict %s, want FORMERR", verdict_name(v));
	free(big);
}

/* --- Opcodes other than QUERY: NOTIMP, with the question when it parses
 * (so the error reply can echo it). */

static void
test_query_opcode_notimp(void)
{
	static const unsigned opcodes[] = { OP_STATUS, OP_NOTIFY, OP_UPDATE, 15 };
	struct msg m;
	struct dns_query_info qi;
	size_t i;

	for (i = 0; i < sizeof opcodes / sizeof opcodes[0]; i++) {
		make_query(&m, 0x77, 0);
		set_opcode(&m, opcodes[i]);
		CHECK_VERDICT(&m, &qi, DNS_NOTIMP, "opcode");
		CHECK(qi.opcode == opcodes[i], "opcode %u reported as %u", opcodes[i],
		    qi.opcode);
		CHECK(qi.qend == QEND, "opcode %u: qend %u, want %u", opcodes[i], qi.qend,
		    QEND);
		CHECK_EQ_INT(qi.id, 0x77);
	}

	/* No usable question: still NOTIMP, with qend 0. */
	header(&m, 1, OP_NOTIFY << 3, 0, 0, 0, 0, 0);
	CHECK_VERDICT(&m, &qi, DNS_NOTIMP, "NOTIFY without question");
	CHECK_EQ_INT(qi.qend, 0);
	header(&m, 1, OP_UPDATE << 3, 0, 1, 0, 0, 0);
	put_ptr(&m, DNS_HEADER_LEN);
	put16(&m, T_A);
	put16(&m, C_IN);
	CHECK_VERDICT(&m, &qi, DNS_NOTIMP, "UPDATE with a pointer question");
	CHECK_EQ_INT(qi.qend, 0);
}

/* --- FORMERR: the header parses, the rest does not (RFC 1035 §4.1.1). */

static void
test_query_qdcount(void)
{
	struct msg m;
	struct dns_query_info qi;

	header(&m, 1, 0, 0, 0, 0, 0, 0);
	CHECK_VERDICT(&m, &qi, DNS_FORMERR, "QDCOUNT 0");
	CHECK_EQ_INT(qi.qend, 0);

	header(&m, 1, 0, 0, 2, 0, 0, 0);
	put_question(&m, QNAME, T_A);
	put_question(&m, QNAME, T_AAAA);
	CHECK_VERDICT(&m, &qi, DNS_FORMERR, "QDCOUNT 2");
	CHECK_EQ_INT(qi.qend, 0);

	/* QDCOUNT 1 but the message holds two questions: trailing bytes. */
	set_count(&m, 0, 1);
	CHECK_VERDICT(&m, &qi, DNS_FORMERR, "second question not counted");
}

/* Pointers are never valid in a query's question (nothing to point back
 * to but the name itself). */
static void
test_query_question_pointer(void)
{
	struct msg m;
	struct dns_query_info qi;

	header(&m, 1, 0, 0, 1, 0, 0, 0);
	put_ptr(&m, DNS_HEADER_LEN);
	put16(&m, T_A);
	put16(&m, C_IN);
	CHECK_VERDICT(&m, &qi, DNS_FORMERR, "question is a pointer");

	header(&m, 1, 0, 0, 1, 0, 0, 0);
	put_label(&m, 3);
	put_ptr(&m, DNS_HEADER_LEN);
	put16(&m, T_A);
	put16(&m, C_IN);
	CHECK_VERDICT(&m, &qi, DNS_FORMERR, "question ends in a pointer");
}

/* Owner names in the additional section may use pointers, but only ones
 * that point strictly backwards, after the header, and lead to a name. */
static void
test_query_bad_pointers(void)
{
	struct msg m;
	struct dns_query_info qi;
	unsigned at;

	/* Control: a pointer back to the question name is fine. */
	make_query(&m, 1, 1);
	put_a_rr(&m);
	CHECK_VERDICT(&m, &qi, DNS_FORWARD, "pointer to the question");

	/* A label, then a pointer back to that label: a loop. */
	make_query(&m, 1, 1);
	at = (unsigned)m.len;
	put_label(&m, 1);
	put_ptr(&m, at);
	put_rr_tail(&m, T_A, C_IN, 0, addr4, 4);
	CHECK_VERDICT(&m, &qi, DNS_FORMERR, "pointer loop through a label");

	/* A pointer to itself. */
	make_query(&m, 1, 1);
	put_ptr(&m, (unsigned)m.len);
	put_rr_tail(&m, T_A, C_IN, 0, addr4, 4);
	CHECK_VERDICT(&m, &qi, DNS_FORMERR, "pointer to itself");

	/* Two pointers to each other: the first points forward. */
	make_query(&m, 1, 2);
	at = (unsigned)m.len;
	put_ptr(&m, at + 16);
	put_rr_tail(&m, T_A, C_IN, 0, addr4, 4);
	put_ptr(&m, at);
	put_rr_tail(&m, T_A, C_IN, 0, addr4, 4);
	CHECK_VERDICT(&m, &qi, DNS_FORMERR, "pointer pair (forward, back)");

	/* A forward pointer to a well-formed name later in the message. */
	make_query(&m, 1, 2);
	at = (unsigned)m.len;
	put_ptr(&m, at + 16);
	put_rr_tail(&m, T_A, C_IN, 0, addr4, 4);
	put_name(&m, "later.example");
	put_rr_tail(&m, T_A, C_IN, 0, addr4, 4);
	CHECK_VERDICT(&m, &qi, DNS_FORMERR, "forward pointer");

	/* Into the header, and past the end of the message. */
	make_query(&m, 1, 1);
	put_ptr(&m, 4);
	put_rr_tail(&m, T_A, C_IN, 0, addr4, 4);
	CHECK_VERDICT(&m, &qi, DNS_FORMERR, "pointer into the header");
	make_query(&m, 1, 1);
	put_ptr(&m, 0x3fff);
	put_rr_tail(&m, T_A, C_IN, 0, addr4, 4);
	CHECK_VERDICT(&m, &qi, DNS_FORMERR, "pointer past the end");

	/* A pointer cut in half by the end of the message. */
	make_query(&m, 1, 1);
	put8(&m, 0xc0);
	CHECK_VERDICT(&m, &qi, DNS_FORMERR, "half a pointer");
}

static void
test_query_label_64(void)
{
	struct msg m;
	struct dns_query_info qi;

	header(&m, 1, 0, 0, 1, 0, 0, 0);
	put_label(&m, 63);
	put8(&m, 0);
	put16(&m, T_A);
	put16(&m, C_IN);
	CHECK_VERDICT(&m, &qi, DNS_FORWARD, "label of 63");

	header(&m, 1, 0, 0, 1, 0, 0, 0);
	put_label(&m, 64);
	put8(&m, 0);
	put16(&m, T_A);
	put16(&m, C_IN);
	CHECK_VERDICT(&m, &qi, DNS_FORMERR, "label of 64");
}

/* The 255-byte limit is on the whole wire name, pointers followed. */
static void
test_query_name_255(void)
{
	struct msg m;
	struct dns_query_info qi;

	header(&m, 1, 0, 0, 1, 0, 0, 0);
	put_name_of_len(&m, 255);
	put16(&m, T_A);
	put16(&m, C_IN);
	CHECK_EQ_INT(m.len, DNS_HEADER_LEN + 255 + 4);
	CHECK_VERDICT(&m, &qi, DNS_FORWARD, "name of 255");
	CHECK_EQ_INT(qi.qend, DNS_HEADER_LEN + 255 + 4);

	header(&m, 1, 0, 0, 1, 0, 0, 0);
	put_name_of_len(&m, 256);
	put16(&m, T_A);
	put16(&m, C_IN);
	CHECK_EQ_INT(m.len, DNS_HEADER_LEN + 256 + 4);
	CHECK_VERDICT(&m, &qi, DNS_FORMERR, "name of 256");

	/* A 200-byte question name, and an additional owner of one label plus
	 * a pointer to it: 55 + 200 is fine, 56 + 200 is not. */
	header(&m, 1, 0, 0, 1, 0, 0, 1);
	put_name_of_len(&m, 200);
	put16(&m, T_A);
	put16(&m, C_IN);
	put_label(&m, 54);
	put_ptr(&m, DNS_HEADER_LEN);
	put_rr_tail(&m, T_A, C_IN, 0, addr4, 4);
	CHECK_VERDICT(&m, &qi, DNS_FORWARD, "owner of 255 through a pointer");

	header(&m, 1, 0, 0, 1, 0, 0, 1);
	put_name_of_len(&m, 200);
	put16(&m, T_A);
	put16(&m, C_IN);
	put_label(&m, 55);
	put_ptr(&m, DNS_HEADER_LEN);
	put_rr_tail(&m, T_A, C_IN, 0, addr4, 4);
	CHECK_VERDICT(&m, &qi, DNS_FORMERR, "owner of 256 through a pointer");
}

static void
test_query_reserved_labels(void)
{
	static const unsigned types[] = { 0x40, 0x80 };
	struct msg m;
	struct dns_query_info qi;
	size_t i;

	for (i = 0; i < 2; i++) {
		header(&m, 1, 0, 0, 1, 0, 0, 0);
		put_name(&m, "www");
		m.len--; /* drop the root byte */
		put8(&m, types[i] | 1);
		put8(&m, 'x');
		put8(&m, 0);
		put16(&m, T_A);
		put16(&m, C_IN);
		CHECK(check(&m, &qi) == DNS_FORMERR,
		    "label type 0x%02x in the question accepted", types[i]);

		make_query(&m, 1, 1);
		put8(&m, types[i] | 1);
		put8(&m, 'x');
		put8(&m, 0);
		put_rr_tail(&m, T_A, C_IN, 0, addr4, 4);
		CHECK(check(&m, &qi) == DNS_FORMERR,
		    "label type 0x%02x in an owner accepted", types[i]);
	}
}

/* Every cut of the message before its end is FORMERR: in the question, in a
 * record's fixed part, and in its data. */
static void
test_query_truncated(void)
{
	struct msg m;
	struct dns_query_info qi;
	size_t full, len;

	make_query(&m, 1, 1);
	put_opt_rr(&m, 1232, 0, "\x00\x0c\x00\x02\x00\x00", 6);
	full = m.len;
	CHECK_VERDICT(&m, &qi, DNS_FORWARD, "whole message");
	for (len = DNS_HEADER_LEN; len < full; len++) {
		enum dns_verdict v = dns_check_query(m.b, len, &qi);

		CHECK(v == DNS_FORMERR, "cut at %zu of %zu: verdict %s", len, full,
		    verdict_name(v));
		CHECK(qi.has_edns == 0 && qi.opt_off == 0,
		    "cut at %zu: EDNS reported", len);
	}

	/* RDLENGTH one past the end. */
	make_query(&m, 1, 1);
	put_a_rr(&m);
	dns_put16(m.b + m.len - 6, 5);
	CHECK_VERDICT(&m, &qi, DNS_FORMERR, "rdlen past the end");

	/* ARCOUNT says two records, there is one. */
	make_edns_query(&m, 1232);
	set_count(&m, 3, 2);
	CHECK_VERDICT(&m, &qi, DNS_FORMERR, "ARCOUNT one too many");
}

static void
test_query_trailing_garbage(void)
{
	struct msg m;
	struct dns_query_info qi;

	make_query(&m, 1, 0);
	put8(&m, 0);
	CHECK_VERDICT(&m, &qi, DNS_FORMERR, "one byte after the question");
	CHECK_EQ_INT(qi.qend, QEND);

	make_edns_query(&m, 4096);
	put16(&m, 0xdead);
	CHECK_VERDICT(&m, &qi, DNS_FORMERR, "two bytes after the OPT");
	CHECK_EQ_INT(qi.has_edns, 0);
	CHECK_EQ_INT(qi.opt_off, 0);
	CHECK_EQ_INT(qi.udp_size, DNS_UDP_MIN);
}

/* RFC 6891 §6.1.1: at most one OPT; §6.1.2: its owner is the root. */
static void
test_query_opt_rules(void)
{
	struct msg m;
	struct dns_query_info qi;

	make_query(&m, 1, 2);
	put_opt_rr(&m, 1232, 0, NULL, 0);
	put_opt_rr(&m, 4096, 0, NULL, 0);
	CHECK_VERDICT(&m, &qi, DNS_FORMERR, "two OPT records");
	CHECK_EQ_INT(qi.has_edns, 0);

	make_query(&m, 1, 1);
	put_name(&m, "a");
	put_rr_tail(&m, DNS_TYPE_OPT, 1232, 0, NULL, 0);
	CHECK_VERDICT(&m, &qi, DNS_FORMERR, "OPT owned by a.");

	make_query(&m, 1, 1);
	put_ptr(&m, DNS_HEADER_LEN);
	put_rr_tail(&m, DNS_TYPE_OPT, 1232, 0, NULL, 0);
	CHECK_VERDICT(&m, &qi, DNS_FORMERR, "OPT owned by the question name");
}

/* --- dns_check_answer: a response with at most one question. */

static void
test_answer_check(void)
{
	struct msg m;
	uint16_t qend = 99;

	make_answer(&m, 2, 1, 0);
	CHECK_EQ_INT(dns_check_answer(m.b, m.len, &qend), 0);
	CHECK_EQ_INT(qend, QEND);

	header(&m, 1, H_QR, DNS_RCODE_SERVFAIL, 0, 0, 0, 0);
	qend = 99;
	CHECK_EQ_INT(dns_check_answer(m.b, m.len, &qend), 0);
	CHECK_EQ_INT(qend, 0);

	make_query(&m, 1, 0);
	CHECK(dns_check_answer(m.b, m.len, &qend) == -1, "QR clear accepted");

	make_answer(&m, 0, 0, 0);
	CHECK(dns_check_answer(m.b, DNS_HEADER_LEN - 1, &qend) == -1,
	    "11-byte answer accepted");
	CHECK(dns_check_answer(m.b, QEND - 1, &qend) == -1,
	    "answer with a cut question accepted");
	CHECK_EQ_INT(qend, 0);

	header(&m, 1, H_QR, 0, 2, 0, 0, 0);
	put_question(&m, QNAME, T_A);
	put_question(&m, QNAME, T_A);
	CHECK(dns_check_answer(m.b, m.len, &qend) == -1, "QDCOUNT 2 accepted");

	header(&m, 1, H_QR, 0, 1, 0, 0, 0);
	put_ptr(&m, DNS_HEADER_LEN);
	put16(&m, T_A);
	put16(&m, C_IN);
	CHECK(dns_check_answer(m.b, m.len, &qend) == -1,
	    "pointer in the answer's question accepted");
}

/* --- dns_question_match: name without regard to ASCII case, type and
 * class exactly; no question only for error answers. */

static int
match(const struct msg *query, const struct msg *answer)
{
	uint16_t qqend = 0, aqend = 0;
	struct dns_query_info qi;

	if (dns_check_query(query->b, query->len, &qi) == DNS_FORWARD)
		qqend = qi.qend;
	CHECK(qqend != 0, "test query does not parse");
	CHECK(dns_check_answer(answer->b, answer->len, &aqend) == 0,
	    "test answer does not parse");
	return dns_question_match(query->b, qqend, answer->b, answer->len, aqend);
}

static void
answer_for(struct msg *m, const char *name, unsigned type, unsigned class)
{
	header(m, 1, H_QR, 0, 1, 0, 0, 0);
	put_name(m, name);
	put16(m, type);
	put16(m, class);
}

static void
test_match_question(void)
{
	struct msg q, a;

	make_query(&q, 1, 0);
	answer_for(&a, QNAME, T_A, C_IN);
	CHECK(match(&q, &a) == 1, "same question does not match");
	answer_for(&a, "WWW.Example.COM", T_A, C_IN);
	CHECK(match(&q, &a) == 1, "case-changed name does not match");
	answer_for(&a, QNAME, T_AAAA, C_IN);
	CHECK(match(&q, &a) == 0, "other type matches");
	answer_for(&a, QNAME, T_A, 3);
	CHECK(match(&q, &a) == 0, "other class matches");
	answer_for(&a, "www.examplf.com", T_A, C_IN);
	CHECK(match(&q, &a) == 0, "other name of the same length matches");
	answer_for(&a, "ww.example.com", T_A, C_IN);
	CHECK(match(&q, &a) == 0, "shorter name matches");
	answer_for(&a, "www.example.com.au", T_A, C_IN);
	CHECK(match(&q, &a) == 0, "longer name matches");
	answer_for(&a, "www.example.c.m", T_A, C_IN); /* 17 bytes, other labels */
	CHECK(match(&q, &a) == 0, "other label split matches");

	/* Only ASCII letters fold: '[' is not '{', 0xC1 is not 0xE1. */
	header(&q, 1, 0, 0, 1, 0, 0, 0);
	put_name(&q, "a[b.\xc1");
	put16(&q, T_A);
	put16(&q, C_IN);
	answer_for(&a, "a{b.\xc1", T_A, C_IN);
	CHECK(match(&q, &a) == 0, "'[' matched '{'");
	answer_for(&a, "A[B.\xe1", T_A, C_IN);
	CHECK(match(&q, &a) == 0, "0xC1 matched 0xE1");
	answer_for(&a, "A[B.\xc1", T_A, C_IN);
	CHECK(match(&q, &a) == 1, "A[B matched nothing");
}

static void
test_match_bounds(void)
{
	struct msg q, a;

	make_query(&q, 1, 0);
	answer_for(&a, QNAME, T_A, C_IN);
	CHECK(dns_question_match(q.b, QEND, a.b, QEND - 1, QEND) == 0,
	    "answer_qend past answer_len matched");
	CHECK(dns_question_match(q.b, QEND, a.b, DNS_HEADER_LEN - 1, 0) == 0,
	    "answer without a header matched");
	CHECK(dns_question_match(q.b, 0, a.b, a.len, QEND) == 0,
	    "query without a question matched an answer with one");
}

static void
test_match_empty_question(void)
{
	struct msg q, a;
	int rcode;

	make_query(&q, 1, 0);
	for (rcode = 0; rcode < 16; rcode++) {
		int want = rcode == DNS_RCODE_FORMERR || rcode == DNS_RCODE_NOTIMP ||
		    rcode == DNS_RCODE_REFUSED || rcode == DNS_RCODE_SERVFAIL;
		int got;

		header(&a, 1, H_QR, (unsigned)rcode, 0, 0, 0, 0);
		got = match(&q, &a);
		CHECK(got == want, "no question, rcode %d: match %d, want %d", rcode, got,
		    want);
	}
}

/* --- dns_answer_match: the question, and RD, CD and DO as asked. */

#define H3_CD 0x10

/* An answer to make_query's question with the given header bytes 2 and 3,
 * and an OPT with the given TTL field when with_opt. */
static void
bits_answer(struct msg *a, unsigned flags2, unsigned flags3, int with_opt, uint32_t opt_ttl)
{
	header(a, 1, H_QR | flags2, flags3, 1, 1, 0, with_opt ? 1 : 0);
	put_question(a, QNAME, T_A);
	put_a_rr(a);
	if (with_opt)
		put_opt_rr(a, 1232, opt_ttl, NULL, 0);
}

static int
full_match(const struct msg *q, int query_do, const struct msg *a)
{
	uint16_t aqend = 0, opt;

	CHECK(!a->overflow && dns_check_answer(a->b, a->len, &aqend) == 0, "test answer is bad");
	opt = dns_answer_opt(a->b, a->len, aqend);
	return dns_answer_match(q->b, QEND, query_do, a->b, a->len, aqend, opt);
}

static void
test_match_bits(void)
{
	struct msg q, a;
	struct dns_query_info qi;

	/* RD set, CD clear, no OPT. */
	make_query(&q, 1, 0);
	bits_answer(&a, H_RD, 0, 0, 0);
	CHECK(full_match(&q, 0, &a) == 1, "same bits do not match");
	bits_answer(&a, 0, 0, 0, 0);
	CHECK(full_match(&q, 0, &a) == 0, "RD clear in the answer matched an RD query");
	bits_answer(&a, H_RD, H3_CD, 0, 0);
	CHECK(full_match(&q, 0, &a) == 0, "a CD answer matched a query without CD");
	bits_answer(&a, H_RD, 0x80 | DNS_RCODE_NXDOMAIN, 0, 0);
	CHECK(full_match(&q, 0, &a) == 1, "RA and the rcode are not the query's business");

	/* CD set in the query. */
	q.b[3] |= H3_CD;
	bits_answer(&a, H_RD, H3_CD, 0, 0);
	CHECK(full_match(&q, 0, &a) == 1, "CD answer to a CD query does not match");
	bits_answer(&a, H_RD, 0, 0, 0);
	CHECK(full_match(&q, 0, &a) == 0, "an answer without CD matched a CD query");

	/* DO: the answer's OPT says; no OPT reads as DO clear. */
	make_query(&q, 1, 0);
	bits_answer(&a, H_RD, 0, 1, 0x00008000);
	CHECK(full_match(&q, 1, &a) == 1, "DO answer to a DO query does not match");
	CHECK(full_match(&q, 0, &a) == 0, "a DO answer matched a query without DO");
	bits_answer(&a, H_RD, 0, 1, 0);
	CHECK(full_match(&q, 1, &a) == 0, "an answer with DO clear matched a DO query");
	CHECK(full_match(&q, 0, &a) == 1, "DO clear both ways does not match");
	bits_answer(&a, H_RD, 0, 0, 0);
	CHECK(full_match(&q, 1, &a) == 0, "an answer without OPT matched a DO query");
	/* ... unless it is an error, which may come without OPT. */
	bits_answer(&a, H_RD, DNS_RCODE_SERVFAIL, 0, 0);
	CHECK(full_match(&q, 1, &a) == 1, "SERVFAIL without OPT refused for a DO query");
	bits_answer(&a, H_RD, DNS_RCODE_NXDOMAIN, 0, 0);
	CHECK(full_match(&q, 1, &a) == 0, "NXDOMAIN without OPT matched a DO query");

	/* A wrong question is still wrong whatever the bits. */
	answer_for(&a, "www.examplf.com", T_A, C_IN);
	a.b[2] |= H_RD;
	CHECK(full_match(&q, 0, &a) == 0, "another question matched");

	/* The query's DO comes from dns_check_query. */
	make_edns_query(&q, 1232);
	CHECK_VERDICT(&q, &qi, DNS_FORWARD, "EDNS query with DO");
	CHECK_EQ_INT(qi.dnssec_ok, 1);
	make_query(&q, 1, 1);
	put_opt_rr(&q, 1232, 0, NULL, 0);
	CHECK_VERDICT(&q, &qi, DNS_FORWARD, "EDNS query without DO");
	CHECK_EQ_INT(qi.dnssec_ok, 0);
}

static void
test_answer_opt(void)
{
	struct msg a;
	uint16_t aqend = 0;

	make_answer(&a, 3, 1, 0);
	CHECK_EQ_INT(dns_check_answer(a.b, a.len, &aqend), 0);
	CHECK_EQ_INT(dns_answer_opt(a.b, a.len, aqend), a.len - 11);
	make_answer(&a, 3, 0, 0);
	CHECK_EQ_INT(dns_answer_opt(a.b, a.len, aqend), 0);
	/* ARCOUNT says 1, the record is cut short: none. */
	make_answer(&a, 3, 1, 0);
	CHECK_EQ_INT(dns_answer_opt(a.b, a.len - 1, aqend), 0);
	/* An OPT at an offset past the message is never read. */
	CHECK_EQ_INT(dns_keepalive(a.b, 20, (uint16_t)(a.len - 11)), -1);
}

/* --- dns_make_error: header, question when it parsed, OPT iff EDNS. */

static void
test_error_reply(void)
{
	struct msg q;
	struct dns_query_info qi;
	uint8_t out[512];
	uint16_t aqend = 0;
	size_t n;

	make_query(&q, 0xbeef, 0);
	CHECK_VERDICT(&q, &qi, DNS_FORWARD, "query");
	n = dns_make_error(out, sizeof out, q.b, q.len, &qi, DNS_RCODE_SERVFAIL, DNS_WHY_NONE);
	CHECK_EQ_INT(n, QEND);
	CHECK_EQ_INT(dns_get16(out), 0xbeef);
	CHECK(out[2] & H_QR, "QR not set");
	CHECK(out[2] & H_RD, "RD not copied");
	CHECK(!(out[2] & H_TC), "TC set");
	CHECK_EQ_INT((out[2] >> 3) & 0x0f, OP_QUERY);
	CHECK_EQ_INT(dns_rcode(out), DNS_RCODE_SERVFAIL);
	CHECK_EQ_INT(dns_get16(out + 4), 1);
	CHECK_EQ_INT(dns_get16(out + 6), 0);
	CHECK_EQ_INT(dns_get16(out + 8), 0);
	CHECK_EQ_INT(dns_get16(out + 10), 0);
	CHECK(memcmp(out + DNS_HEADER_LEN, q.b + DNS_HEADER_LEN,
	    QEND - DNS_HEADER_LEN) == 0, "question not copied");
	CHECK_EQ_INT(dns_check_answer(out, n, &aqend), 0);
	CHECK_EQ_INT(dns_question_match(q.b, qi.qend, out, n, aqend), 1);

	/* RD clear stays clear; the opcode of a NOTIMP query is echoed. */
	q.b[2] = 0;
	set_opcode(&q, OP_NOTIFY);
	CHECK_VERDICT(&q, &qi, DNS_NOTIMP, "NOTIFY");
	n = dns_make_error(out, sizeof out, q.b, q.len, &qi, DNS_RCODE_NOTIMP, DNS_WHY_NONE);
	CHECK_EQ_INT(n, QEND);
	CHECK(!(out[2] & H_RD), "RD set in the reply to a query without it");
	CHECK_EQ_INT((out[2] >> 3) & 0x0f, OP_NOTIFY);
	CHECK_EQ_INT(dns_rcode(out), DNS_RCODE_NOTIMP);
}

static void
test_error_no_question(void)
{
	struct msg q;
	struct dns_query_info qi;
	uint8_t out[512];
	uint16_t aqend = 1;
	size_t n;

	header(&q, 0x0102, H_RD, 0, 0, 0, 0, 0);
	CHECK_VERDICT(&q, &qi, DNS_FORMERR, "no question");
	n = dns_make_error(out, sizeof out, q.b, q.len, &qi, DNS_RCODE_FORMERR, DNS_WHY_NONE);
	CHECK_EQ_INT(n, DNS_HEADER_LEN);
	CHECK_EQ_INT(dns_get16(out), 0x0102);
	CHECK_EQ_INT(dns_get16(out + 4), 0);
	CHECK_EQ_INT(dns_rcode(out), DNS_RCODE_FORMERR);
	CHECK_EQ_INT(dns_check_answer(out, n, &aqend), 0);
	CHECK_EQ_INT(aqend, 0);

	/* Fewer than 12 bytes: nothing to answer. */
	memset(&qi, 0, sizeof qi);
	CHECK_EQ_INT(dns_make_error(out, sizeof out, q.b, DNS_HEADER_LEN - 1, &qi,
	    DNS_RCODE_FORMERR, DNS_WHY_NONE), 0);
}

static void
test_error_edns(void)
{
	struct msg q;
	struct dns_query_info qi;
	uint8_t out[512];
	uint16_t aqend = 0;
	const uint8_t *opt = out + QEND;
	size_t n;

	make_edns_query(&q, 4096);
	CHECK_VERDICT(&q, &qi, DNS_FORWARD, "EDNS query");
	n = dns_make_error(out, sizeof out, q.b, q.len, &qi, DNS_RCODE_REFUSED, DNS_WHY_NONE);
	CHECK_EQ_INT(n, QEND + 11);
	CHECK_EQ_INT(dns_get16(out + 4), 1);
	CHECK_EQ_INT(dns_get16(out + 10), 1);
	CHECK_EQ_INT(opt[0], 0);
	CHECK_EQ_INT(dns_get16(opt + 1), DNS_TYPE_OPT);
	CHECK_EQ_INT(dns_get16(opt + 3), DNS_EDNS_OUR_SIZE);
	CHECK_EQ_INT(dns_get16(opt + 5), 0);
	/* The query's DO bit comes back (RFC 3225); nothing else. */
	CHECK_EQ_INT(dns_get16(opt + 7), DNS_EDNS_DO);
	CHECK_EQ_INT(dns_get16(opt + 9), 0);
	CHECK_EQ_INT(dns_check_answer(out, n, &aqend), 0);
	CHECK_EQ_INT(aqend, QEND);

	/* The reply parses as a whole (QR cleared so the query check runs). */
	out[2] &= (uint8_t)~H_QR;
	CHECK(dns_check_query(out, n, &qi) == DNS_FORWARD && qi.has_edns,
	    "error reply with OPT does not parse");
}

static void
test_error_too_small(void)
{
	struct msg q;
	struct dns_query_info qi;
	uint8_t out[512];

	make_edns_query(&q, 4096);
	CHECK_VERDICT(&q, &qi, DNS_FORWARD, "EDNS query");
	CHECK_EQ_INT(dns_make_error(out, QEND + 10, q.b, q.len, &qi, DNS_RCODE_SERVFAIL, DNS_WHY_NONE), 0);
	CHECK_EQ_INT(dns_make_error(out, QEND + 11, q.b, q.len, &qi, DNS_RCODE_SERVFAIL, DNS_WHY_NONE), QEND + 11);
	CHECK_EQ_INT(dns_make_error(out, 0, q.b, q.len, &qi, DNS_RCODE_SERVFAIL, DNS_WHY_NONE), 0);
	make_query(&q, 1, 0);
	CHECK_VERDICT(&q, &qi, DNS_FORWARD, "query");
	CHECK_EQ_INT(dns_make_error(out, QEND - 1, q.b, q.len, &qi, DNS_RCODE_SERVFAIL, DNS_WHY_NONE), 0);
	CHECK_EQ_INT(dns_make_error(out, QEND, q.b, q.len, &qi, DNS_RCODE_SERVFAIL, DNS_WHY_NONE), QEND);
}

/* --- dns_truncate: header with TC, the question, and an OPT for EDNS
 * clients that keeps the answer's extended RCODE and flags. */

/* Checks every truncated reply must pass; returns the OPT, or NULL. */
static const uint8_t *
check_truncated(const uint8_t *out, size_t n, const struct msg *answer, int edns)
{
	struct dns_query_info qi;
	uint8_t copy[512];
	uint16_t qend = 0;

	CHECK_EQ_INT(n, QEND + (edns ? 11 : 0));
	if (n != QEND + (edns ? 11u : 0u) || n > sizeof copy)
		return NULL;
	CHECK(out[2] & H_TC, "TC not set");
	CHECK(out[2] & H_QR, "QR lost");
	CHECK_EQ_INT(dns_get16(out), dns_get16(answer->b));
	CHECK_EQ_INT(out[3], answer->b[3]);
	CHECK_EQ_INT(dns_get16(out + 4), 1);
	CHECK_EQ_INT(dns_get16(out + 6), 0);
	CHECK_EQ_INT(dns_get16(out + 8), 0);
	CHECK_EQ_INT(dns_get16(out + 10), edns ? 1 : 0);
	CHECK(memcmp(out + DNS_HEADER_LEN, answer->b + DNS_HEADER_LEN,
	    QEND - DNS_HEADER_LEN) == 0, "question not kept");
	CHECK_EQ_INT(dns_check_answer(out, n, &qend), 0);
	CHECK_EQ_INT(qend, QEND);
	/* Every record parses and nothing trails (QR cleared to use the
	 * query walker). */
	memcpy(copy, out, n);
	copy[2] &= (uint8_t)~H_QR;
	CHECK(dns_check_query(copy, n, &qi) == DNS_FORWARD, "truncated reply does not parse");
	CHECK_EQ_INT(qi.has_edns, edns);
	if (!edns)
		return NULL;
	CHECK_EQ_INT(out[QEND], 0);
	CHECK_EQ_INT(dns_get16(out + QEND + 1), DNS_TYPE_OPT);
	CHECK_EQ_INT(dns_get16(out + QEND + 3), DNS_EDNS_OUR_SIZE);
	CHECK_EQ_INT(dns_get16(out + QEND + 9), 0);
	return out + QEND + 5;
}

static void
test_truncate_plain(void)
{
	struct msg a;
	uint8_t out[512];
	size_t n;

	make_answer(&a, 40, 1, 0x00008000);
	CHECK(!a.overflow && a.len > DNS_UDP_MIN, "test answer is %zu bytes", a.len);
	n = dns_truncate(out, sizeof out, a.b, a.len, QEND, 0);
	check_truncated(out, n, &a, 0);
}

static void
test_truncate_edns_keeps_ttl(void)
{
	struct msg a;
	uint8_t out[512];
	const uint8_t *ttl;
	size_t n;

	/* Extended RCODE 1, version 0, DO set; NXDOMAIN in the header. */
	make_answer(&a, 40, 1, 0x01008000);
	a.b[3] = (uint8_t)(0x80 | DNS_RCODE_NXDOMAIN);
	n = dns_truncate(out, sizeof out, a.b, a.len, QEND, 1);
	ttl = check_truncated(out, n, &a, 1);
	CHECK(ttl != NULL && ttl[0] == 0x01 && ttl[1] == 0x00 && ttl[2] == 0x80 &&
	    ttl[3] == 0x00, "answer's OPT TTL field not kept");
	CHECK_EQ_INT(dns_rcode(out), DNS_RCODE_NXDOMAIN);

	/* No OPT in the answer: a zero TTL field. */
	make_answer(&a, 40, 0, 0);
	n = dns_truncate(out, sizeof out, a.b, a.len, QEND, 1);
	ttl = check_truncated(out, n, &a, 1);
	CHECK(ttl != NULL && ttl[0] == 0 && ttl[1] == 0 && ttl[2] == 0 && ttl[3] == 0,
	    "TTL field not zero without an OPT in the answer");
}

static void
test_truncate_edge(void)
{
	struct msg a;
	uint8_t out[512];
	uint16_t qend = 1;
	size_t n;

	make_answer(&a, 3, 1, 0);
	CHECK_EQ_INT(dns_truncate(out, QEND + 10, a.b, a.len, QEND, 1), 0);
	CHECK_EQ_INT(dns_truncate(out, QEND - 1, a.b, a.len, QEND, 0), 0);
	CHECK_EQ_INT(dns_truncate(out, QEND, a.b, a.len, QEND, 0), QEND);
	CHECK_EQ_INT(dns_truncate(out, sizeof out, a.b, QEND - 1, QEND, 0), 0);

	/* An answer without a question: the header alone. */
	header(&a, 9, H_QR, DNS_RCODE_SERVFAIL, 0, 0, 0, 0);
	n = dns_truncate(out, sizeof out, a.b, a.len, 0, 0);
	CHECK_EQ_INT(n, DNS_HEADER_LEN);
	CHECK(out[2] & H_TC, "TC not set");
	CHECK_EQ_INT(dns_check_answer(out, n, &qend), 0);
	CHECK_EQ_INT(qend, 0);
}

/* --- The replies the proxy writes: RD and CD kept, DO echoed, and an
 * Extended DNS Error (RFC 8914) that never pushes the reply over its cap.
 * Read back with a parser of its own, not dns.c's. */

#define H_CD 0x10 /* byte 3 */
#define H_AD 0x20 /* byte 3 */

struct raw_reply {
	int ok;          /* the whole message parsed, nothing left over */
	uint8_t flags2, flags3;
	int has_opt;
	uint16_t opt_size;
	uint32_t opt_ttl;
	int options;     /* how many options in the OPT */
	int ede_code;    /* -1: no EDE option */
	char ede_text[64];
	int ede_count;
};

/* Skip an uncompressed or compressed name; -1 past the end. */
static long
raw_skip_name(const uint8_t *m, size_t len, size_t off)
{
	while (off < len) {
		if ((m[off] & 0xc0) == 0xc0)
			return off + 2 <= len ? (long)(off + 2) : -1;
		if (m[off] == 0)
			return (long)off + 1;
		off += (size_t)m[off] + 1;
	}
	return -1;
}

static struct raw_reply
raw_parse(const uint8_t *m, size_t len)
{
	struct raw_reply r;
	size_t off = DNS_HEADER_LEN;
	unsigned i, qd, rrs;

	memset(&r, 0, sizeof r);
	r.ede_code = -1;
	if (len < DNS_HEADER_LEN)
		return r;
	r.flags2 = m[2];
	r.flags3 = m[3];
	qd = (unsigned)(m[4] << 8 | m[5]);
	rrs = (unsigned)(m[6] << 8 | m[7]) + (unsigned)(m[8] << 8 | m[9]) +
	    (unsigned)(m[10] << 8 | m[11]);
	for (i = 0; i < qd; i++) {
		long e = raw_skip_name(m, len, off);
		if (e < 0 || (size_t)e + 4 > len)
			return r;
		off = (size_t)e + 4;
	}
	for (i = 0; i < rrs; i++) {
		long e = raw_skip_name(m, len, off);
		size_t p, rdlen;

		if (e < 0 || (size_t)e + 10 > len)
			return r;
		p = (size_t)e;
		rdlen = (size_t)(m[p + 8] << 8 | m[p + 9]);
		if (p + 10 + rdlen > len)
			return r;
		if ((m[p] << 8 | m[p + 1]) == DNS_TYPE_OPT) {
			size_t o = p + 10, end = p + 10 + rdlen;

			r.has_opt++;
			r.opt_size = (uint16_t)(m[p + 2] << 8 | m[p + 3]);
			r.opt_ttl = (uint32_t)m[p + 4] << 24 | (uint32_t)m[p + 5] << 16 |
			    (uint32_t)m[p + 6] << 8 | m[p + 7];
			while (o < end) {
				unsigned code, olen;

				if (o + 4 > end)
					return r;
				code = (unsigned)(m[o] << 8 | m[o + 1]);
				olen = (unsigned)(m[o + 2] << 8 | m[o + 3]);
				if (o + 4 + olen > end)
					return r;
				r.options++;
				if (code == DNS_OPT_EDE) {
					if (olen < 2 || olen - 2 >= sizeof r.ede_text)
						return r;
					r.ede_count++;
					r.ede_code = m[o + 4] << 8 | m[o + 5];
					memcpy(r.ede_text, m + o + 6, olen - 2);
					r.ede_text[olen - 2] = '\0';
				}
				o += 4 + olen;
			}
		}
		off = p + 10 + rdlen;
	}
	r.ok = off == len;
	return r;
}

/* An EDNS query for QNAME with the given header byte 3 and OPT TTL. */
static void
make_flagged_query(struct msg *m, unsigned flags2, unsigned flags3, uint32_t opt_ttl)
{
	header(m, 0x3131, flags2, flags3, 1, 0, 0, 1);
	put_question(m, QNAME, T_A);
	put_opt_rr(m, 1232, opt_ttl, NULL, 0);
}

static void
test_error_keeps_rd_cd(void)
{
	static const struct {
		unsigned flags2, flags3;
	} cases[] = {
		{ H_RD, H_CD }, { H_RD, 0 }, { 0, H_CD }, { 0, 0 }, { H_RD, H_CD | H_AD },
	};
	struct msg q;
	struct dns_query_info qi;
	uint8_t out[512];
	size_t i, n;
	int edns;

	for (edns = 0; edns <= 1; edns++) {
		for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
			struct raw_reply r;

			if (edns) {
				make_flagged_query(&q, cases[i].flags2, cases[i].flags3, 0);
			} else {
				header(&q, 0x3131, cases[i].flags2, cases[i].flags3, 1, 0, 0, 0);
				put_question(&q, QNAME, T_A);
			}
			CHECK_VERDICT(&q, &qi, DNS_FORWARD, "flagged query");
			n = dns_make_error(out, sizeof out, q.b, q.len, &qi, DNS_RCODE_SERVFAIL,
			    DNS_WHY_TIMEOUT);
			r = raw_parse(out, n);
			CHECK(r.ok, "case %zu: reply does not parse", i);
			CHECK_EQ_INT(r.flags2 & H_RD, cases[i].flags2 & H_RD);
			CHECK_EQ_INT(r.flags3 & H_CD, cases[i].flags3 & H_CD);
			CHECK(!(r.flags3 & H_AD), "case %zu: AD set in an error reply", i);
			CHECK(r.flags3 & 0x80, "case %zu: RA not set", i);
			CHECK(!(r.flags2 & H_TC), "case %zu: TC set", i);
			CHECK_EQ_INT(r.flags3 & 0x0f, DNS_RCODE_SERVFAIL);
			CHECK_EQ_INT(r.has_opt, edns);
		}
	}
}

static void
test_error_echoes_do(void)
{
	struct msg q;
	struct dns_query_info qi;
	uint8_t out[512];
	struct raw_reply r;
	size_t n;

	/* DO set, with extended RCODE and version bits the reply must not copy. */
	make_flagged_query(&q, H_RD, 0, 0x0000ffff);
	CHECK_VERDICT(&q, &qi, DNS_FORWARD, "DO query");
	n = dns_make_error(out, sizeof out, q.b, q.len, &qi, DNS_RCODE_REFUSED, DNS_WHY_DENIED);
	r = raw_parse(out, n);
	CHECK(r.ok && r.has_opt == 1, "reply without one OPT");
	CHECK_EQ_INT(r.opt_ttl, DNS_EDNS_DO);
	CHECK_EQ_INT(r.opt_size, DNS_EDNS_OUR_SIZE);

	make_flagged_query(&q, H_RD, 0, 0);
	CHECK_VERDICT(&q, &qi, DNS_FORWARD, "no-DO query");
	n = dns_make_error(out, sizeof out, q.b, q.len, &qi, DNS_RCODE_REFUSED, DNS_WHY_DENIED);
	r = raw_parse(out, n);
	CHECK(r.ok && r.has_opt == 1, "reply without one OPT");
	CHECK_EQ_INT(r.opt_ttl, 0);
}

/* A query in flight: padded since, and described without opt_off (as the
 * pending slot describes it). DO is still found. */
static void
test_error_do_after_padding(void)
{
	struct msg q;
	struct dns_query_info qi, slot;
	uint8_t padded[DNS_QUERY_ROOM], out[512];
	struct raw_reply r;
	size_t n, plen;

	make_flagged_query(&q, H_RD, H_CD, DNS_EDNS_DO);
	CHECK_VERDICT(&q, &qi, DNS_FORWARD, "query");
	memcpy(padded, q.b, q.len);
	plen = dns_pad_query(padded, q.len, sizeof padded, qi.opt_off);
	CHECK(plen == DNS_PAD_BLOCK, "padded to %zu", plen);
	memset(&slot, 0, sizeof slot);
	slot.id = 0x4444;
	slot.qend = qi.qend;
	slot.has_edns = 1;
	slot.udp_size = qi.udp_size;
	n = dns_make_error(out, sizeof out, padded, plen, &slot, DNS_RCODE_SERVFAIL,
	    DNS_WHY_UNREACHABLE);
	r = raw_parse(out, n);
	CHECK(r.ok, "reply does not parse");
	CHECK_EQ_INT(dns_get16(out), 0x4444);
	CHECK_EQ_INT(r.opt_ttl, DNS_EDNS_DO);
	CHECK(r.flags3 & H_CD, "CD lost");
	CHECK_EQ_INT(r.ede_code, DNS_EDE_NO_REACHABLE_AUTHORITY);
	/* Padding from the query never reaches the reply. */
	CHECK_EQ_INT(r.options, 1);
}

/* Each reason's code and text, as dig would print them. */
static void
test_error_ede_codes(void)
{
	static const struct {
		enum dns_why why;
		int code;
		const char *text;
	} cases[] = {
		{ DNS_WHY_NONE, -1, "" },
		{ DNS_WHY_UNREACHABLE, 22, "no upstream reachable" },
		{ DNS_WHY_TIMEOUT, 23, "upstream timed out" },
		{ DNS_WHY_DENIED, 18, "client not allowed" },
		{ DNS_WHY_XFR_DENIED, 18, "zone transfer not allowed" },
		{ DNS_WHY_BUSY, 0, "too many queries in flight" },
		{ DNS_WHY_TOO_BIG, 0, "query too large" },
		{ DNS_WHY_SHUTDOWN, 0, "shutting down" },
	};
	struct msg q;
	struct dns_query_info qi;
	uint8_t out[512];
	size_t i, n;

	make_flagged_query(&q, H_RD, 0, 0);
	CHECK_VERDICT(&q, &qi, DNS_FORWARD, "query");
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct raw_reply r;
		size_t text = strlen(cases[i].text);

		n = dns_make_error(out, sizeof out, q.b, q.len, &qi, DNS_RCODE_SERVFAIL,
		    cases[i].why);
		r = raw_parse(out, n);
		CHECK(r.ok, "reason %zu: reply does not parse", i);
		CHECK(text <= DNS_EDE_TEXT_MAX, "reason %zu: text over DNS_EDE_TEXT_MAX", i);
		CHECK_EQ_INT(r.ede_code, cases[i].code);
		CHECK_EQ_INT(r.ede_count, cases[i].code >= 0);
		CHECK(strcmp(r.ede_text, cases[i].text) == 0, "reason %zu: text '%s', want '%s'",
		    i, r.ede_text, cases[i].text);
		CHECK_EQ_INT(n, QEND + 11 + (cases[i].code >= 0 ? 6 + text : 0));
	}

	/* No EDNS in the query: no OPT, so no EDE (RFC 6891 §7). */
	make_query(&q, 7, 0);
	CHECK_VERDICT(&q, &qi, DNS_FORWARD, "query");
	n = dns_make_error(out, sizeof out, q.b, q.len, &qi, DNS_RCODE_SERVFAIL, DNS_WHY_TIMEOUT);
	CHECK_EQ_INT(n, QEND);
	CHECK_EQ_INT(raw_parse(out, n).has_opt, 0);
}

/* The EDE gives way to the cap: first its text, then the option. */
static void
test_error_ede_cap(void)
{
	struct msg q;
	struct dns_query_info qi;
	uint8_t out[512];
	const size_t bare = QEND + 11, text = strlen("upstream timed out");
	size_t cap;

	make_flagged_query(&q, H_RD, 0, DNS_EDNS_DO);
	CHECK_VERDICT(&q, &qi, DNS_FORWARD, "query");
	for (cap = bare - 1; cap <= bare + 6 + text + 1; cap++) {
		size_t n = dns_make_error(out, cap, q.b, q.len, &qi, DNS_RCODE_SERVFAIL,
		    DNS_WHY_TIMEOUT);
		struct raw_reply r = raw_parse(out, n);

		CHECK(n <= cap, "cap %zu: reply of %zu bytes", cap, n);
		if (cap < bare) {
			CHECK_EQ_INT(n, 0);
			continue;
		}
		CHECK(r.ok && r.has_opt == 1, "cap %zu: no OPT", cap);
		CHECK_EQ_INT(r.opt_ttl, DNS_EDNS_DO);
		if (cap < bare + 6) {
			CHECK_EQ_INT(n, bare);
			CHECK_EQ_INT(r.ede_count, 0);
		} else if (cap < bare + 6 + text) {
			CHECK_EQ_INT(n, bare + 6);
			CHECK_EQ_INT(r.ede_code, DNS_EDE_NETWORK_ERROR);
			CHECK_EQ_INT(strlen(r.ede_text), 0);
		} else {
			CHECK_EQ_INT(n, bare + 6 + text);
			CHECK(strcmp(r.ede_text, "upstream timed out") == 0, "text '%s'", r.ede_text);
		}
	}

	/* A client outside --allow gets no more than it sent: the query's own
	 * length as the cap. dig's query with a COOKIE (12 bytes of option)
	 * leaves room for the code, not the text. */
	{
		static const uint8_t cookie[12] = { 0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8 };
		size_t n;
		struct raw_reply r;

		header(&q, 0x3131, H_RD, 0, 1, 0, 0, 1);
		put_question(&q, QNAME, T_A);
		put_opt_rr(&q, 1232, 0, cookie, sizeof cookie);
		CHECK_VERDICT(&q, &qi, DNS_FORWARD, "cookie query");
		n = dns_make_error(out, q.len, q.b, q.len, &qi, DNS_RCODE_REFUSED, DNS_WHY_DENIED);
		r = raw_parse(out, n);
		CHECK(n <= q.len, "reply of %zu bytes to a query of %zu", n, q.len);
		CHECK_EQ_INT(r.ede_code, DNS_EDE_PROHIBITED);
		CHECK_EQ_INT(r.options, 1); /* the client's cookie is not echoed */
	}
}

/* NOTIMP for an EDNS query echoes the OPT (the walk now covers it). */
static void
test_error_notimp_opt(void)
{
	struct msg q;
	struct dns_query_info qi;
	uint8_t out[512];
	struct raw_reply r;
	size_t n;

	make_flagged_query(&q, H_RD, H_CD, DNS_EDNS_DO);
	set_opcode(&q, OP_NOTIFY);
	CHECK_VERDICT(&q, &qi, DNS_NOTIMP, "NOTIFY with EDNS");
	CHECK_EQ_INT(qi.has_edns, 1);
	n = dns_make_error(out, sizeof out, q.b, q.len, &qi, DNS_RCODE_NOTIMP, DNS_WHY_NONE);
	r = raw_parse(out, n);
	CHECK(r.ok && r.has_opt == 1, "NOTIMP reply without OPT");
	CHECK_EQ_INT(r.opt_ttl, DNS_EDNS_DO);
	CHECK_EQ_INT(r.ede_count, 0);
	CHECK_EQ_INT((r.flags2 >> 3) & 0x0f, OP_NOTIFY);
	CHECK(r.flags3 & H_CD, "CD lost");

	/* A NOTIMP query whose body does not parse: no OPT, still NOTIMP. */
	q.len--;
	CHECK_VERDICT(&q, &qi, DNS_NOTIMP, "short NOTIFY");
	CHECK_EQ_INT(qi.has_edns, 0);
}

static void
test_tc_reply(void)
{
	struct msg q;
	struct dns_query_info qi;
	uint8_t out[512];
	struct raw_reply r;
	size_t n;

	make_flagged_query(&q, H_RD, H_CD, DNS_EDNS_DO);
	CHECK_VERDICT(&q, &qi, DNS_FORWARD, "query");
	n = dns_make_tc(out, sizeof out, q.b, q.len, &qi);
	r = raw_parse(out, n);
	CHECK(r.ok, "TC reply does not parse");
	CHECK(r.flags2 & H_TC, "TC not set");
	CHECK(r.flags2 & H_QR, "QR not set");
	CHECK_EQ_INT(r.flags3 & 0x0f, DNS_RCODE_NOERROR);
	CHECK(r.flags3 & H_CD, "CD lost");
	CHECK_EQ_INT(r.opt_ttl, DNS_EDNS_DO);
	CHECK_EQ_INT(r.ede_count, 0);
	CHECK_EQ_INT(n, QEND + 11);
	CHECK_EQ_INT(dns_get16(out + 6), 0);
}

/* --- Hop-by-hop EDNS options out of answers, the client's cookie out of
 * queries. */

/* Options: Padding, NSID, keepalive, COOKIE (client + server), EDE. */
static const uint8_t hop_options[] = {
	0, 12, 0, 5, 0, 0, 0, 0, 0,                /* Padding, 5 zero bytes */
	0, 3, 0, 2, 'n', 's',                      /* NSID "ns" */
	0, 11, 0, 2, 0, 50,                        /* keepalive 5 s */
	0, 10, 0, 16, 1, 2, 3, 4, 5, 6, 7, 8,      /* COOKIE */
	9, 9, 9, 9, 9, 9, 9, 9,
	0, 15, 0, 4, 0, 3, 'o', 'k',               /* EDE 3 "ok" */
};
/* What stays: NSID and EDE. */
static const uint8_t kept_options[] = {
	0, 3, 0, 2, 'n', 's',
	0, 15, 0, 4, 0, 3, 'o', 'k',
};

static void
test_strip_answer(void)
{
	struct msg a;
	size_t n, opt;

	make_answer(&a, 2, 0, 0);
	set_count(&a, 3, 1);
	opt = a.len;
	put_opt_rr(&a, 4096, DNS_EDNS_DO, hop_options, sizeof hop_options);
	CHECK_EQ_INT(dns_keepalive(a.b, a.len, dns_answer_opt(a.b, a.len, QEND)), 50);
	n = dns_strip_answer_opt(a.b, a.len, QEND);
	CHECK_EQ_INT(n, opt + 11 + sizeof kept_options);
	CHECK(memcmp(a.b + opt + 11, kept_options, sizeof kept_options) == 0,
	    "NSID and EDE not kept in order");
	CHECK_EQ_INT(dns_get16(a.b + opt + 9), sizeof kept_options);
	CHECK_EQ_INT(dns_get16(a.b + opt + 7), DNS_EDNS_DO);
	CHECK_EQ_INT(dns_keepalive(a.b, n, dns_answer_opt(a.b, n, QEND)), -1);
	{
		struct raw_reply r = raw_parse(a.b, n);
		CHECK(r.ok && r.options == 2 && r.ede_code == 3, "stripped answer: %d options",
		    r.options);
	}
	/* Again: nothing left to strip. */
	CHECK_EQ_INT(dns_strip_answer_opt(a.b, n, QEND), n);

	/* Only hop options: an empty OPT remains. */
	make_answer(&a, 1, 0, 0);
	set_count(&a, 3, 1);
	opt = a.len;
	put_opt_rr(&a, 4096, 0, hop_options, 21); /* Padding, NSID, keepalive */
	n = dns_strip_answer_opt(a.b, a.len, QEND);
	CHECK_EQ_INT(n, opt + 11 + 6);
	/* No question (an error answer): found all the same. */
	header(&a, 1, H_QR, DNS_RCODE_SERVFAIL, 0, 0, 0, 1);
	put_opt_rr(&a, 4096, 0, hop_options, 9);
	CHECK_EQ_INT(dns_strip_answer_opt(a.b, a.len, 0), DNS_HEADER_LEN + 11);
}

static void
test_strip_answer_leaves(void)
{
	static const uint8_t tsig_tail[] = { 0, 0, 250, 0, 255, 0, 0, 0, 0, 0, 0 };
	static const uint8_t bad[] = { 0, 12, 0, 9, 0, 0 }; /* runs past the OPT */
	struct msg a, before;

	/* No OPT. */
	make_answer(&a, 3, 0, 0);
	CHECK_EQ_INT(dns_strip_answer_opt(a.b, a.len, QEND), a.len);
	/* OPT followed by a record (TSIG signs the bytes): left alone. */
	make_answer(&a, 1, 0, 0);
	set_count(&a, 3, 2);
	put_opt_rr(&a, 4096, 0, hop_options, sizeof hop_options);
	put_bytes(&a, tsig_tail, sizeof tsig_tail);
	before = a;
	CHECK_EQ_INT(dns_strip_answer_opt(a.b, a.len, QEND), a.len);
	CHECK(memcmp(a.b, before.b, a.len) == 0, "message under TSIG changed");
	/* Malformed options, trailing bytes: left alone. */
	make_answer(&a, 1, 0, 0);
	set_count(&a, 3, 1);
	put_opt_rr(&a, 4096, 0, bad, sizeof bad);
	CHECK_EQ_INT(dns_strip_answer_opt(a.b, a.len, QEND), a.len);
	make_answer(&a, 1, 0, 0);
	set_count(&a, 3, 1);
	put_opt_rr(&a, 4096, 0, hop_options, sizeof hop_options);
	put8(&a, 0);
	CHECK_EQ_INT(dns_strip_answer_opt(a.b, a.len, QEND), a.len);
	/* Records that do not parse: left alone. */
	make_answer(&a, 1, 1, 0);
	set_count(&a, 1, 4);
	CHECK_EQ_INT(dns_strip_answer_opt(a.b, a.len, QEND), a.len);
}

static void
test_strip_query_cookie(void)
{
	static const uint8_t opts[] = {
		0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8, /* COOKIE, client only */
		0, 8, 0, 4, 0, 1, 0, 0,              /* ECS, kept */
	};
	struct msg q;
	struct dns_query_info qi;
	size_t n;

	header(&q, 1, H_RD, 0, 1, 0, 0, 1);
	put_question(&q, QNAME, T_A);
	put_opt_rr(&q, 1232, DNS_EDNS_DO, opts, sizeof opts);
	CHECK_VERDICT(&q, &qi, DNS_FORWARD, "cookie query");
	n = dns_strip_query_cookie(q.b, q.len, qi.opt_off);
	CHECK_EQ_INT(n, q.len - 12);
	CHECK(memcmp(q.b + qi.opt_off + 11, opts + 12, 8) == 0, "ECS not kept");
	q.len = n;
	CHECK_VERDICT(&q, &qi, DNS_FORWARD, "stripped query");
	CHECK_EQ_INT(qi.has_edns, 1);
	/* Nothing to strip, or a wrong offset: unchanged. */
	CHECK_EQ_INT(dns_strip_query_cookie(q.b, q.len, qi.opt_off), q.len);
	CHECK_EQ_INT(dns_strip_query_cookie(q.b, q.len, 0), q.len);
	CHECK_EQ_INT(dns_strip_query_cookie(q.b, q.len, QEND - 4), q.len);
	CHECK_EQ_INT(dns_strip_query_cookie(q.b, q.len, (uint16_t)(q.len - 5)), q.len);
}

static void
test_rr_next(void)
{
	struct msg a;
	struct dns_rr rr;
	size_t off = QEND;

	make_answer(&a, 2, 1, 0x1234);
	CHECK_EQ_INT(dns_rr_next(a.b, a.len, &off, &rr), 0);
	CHECK_EQ_INT(rr.owner, QEND);
	CHECK_EQ_INT(rr.type, T_A);
	CHECK_EQ_INT(rr.rclass, C_IN);
	CHECK_EQ_INT(rr.ttl, 300);
	CHECK_EQ_INT(rr.rdlen, 4);
	CHECK(memcmp(a.b + rr.rdata, addr4, 4) == 0, "rdata offset wrong");
	CHECK_EQ_INT(dns_rr_next(a.b, a.len, &off, &rr), 0);
	CHECK_EQ_INT(dns_rr_next(a.b, a.len, &off, &rr), 0);
	CHECK_EQ_INT(rr.type, DNS_TYPE_OPT);
	CHECK_EQ_INT(rr.ttl, 0x1234);
	CHECK_EQ_INT(off, a.len);
	CHECK_EQ_INT(dns_rr_next(a.b, a.len, &off, &rr), -1);
	off = QEND;
	CHECK_EQ_INT(dns_rr_next(a.b, QEND + 15, &off, &rr), -1);
	CHECK_EQ_INT(off, QEND);
	CHECK_EQ_INT(dns_name_end(a.b, a.len, DNS_HEADER_LEN), QEND - 4);
	CHECK_EQ_INT(dns_name_end(a.b, a.len, QEND), QEND + 2);
	CHECK_EQ_INT(dns_name_end(a.b, QEND + 1, QEND), -1);
}

/* --- dns_pad_query: keepalive and padding added, the client's own ones
 * dropped, a multiple of 128 bytes; on failure the query is untouched. */

/* An EDNS query whose OPT carries the given option bytes. */
static void
make_opt_query(struct msg *m, const void *options, unsigned opt_len)
{
	make_query(m, 0x0e0e, 1);
	put_opt_rr(m, 1232, 0, options, opt_len);
}

static void
test_pad_query(void)
{
	/* A cookie (10, 8 bytes), the client's padding (12, 3 bytes), and a
	 * keepalive (11, empty). */
	static const uint8_t opts[] = {
		0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8,
		0, 12, 0, 3, 0, 0, 0,
		0, 11, 0, 0,
	};
	struct msg q;
	struct dns_query_info qi;
	size_t n, rd = QEND + 11;

	make_opt_query(&q, opts, sizeof opts);
	CHECK_VERDICT(&q, &qi, DNS_FORWARD, "EDNS query with options");
	n = dns_pad_query(q.b, q.len, sizeof q.b, qi.opt_off);
	CHECK_EQ_INT(n, DNS_PAD_BLOCK);
	CHECK(dns_check_query(q.b, n, &qi) == DNS_FORWARD, "padded query does not parse");
	CHECK(memcmp(q.b + rd, opts, 12) == 0, "the cookie was not kept first");
	CHECK_EQ_INT(dns_get16(q.b + rd + 12), DNS_OPT_KEEPALIVE);
	CHECK_EQ_INT(dns_get16(q.b + rd + 14), 0);
	CHECK_EQ_INT(dns_get16(q.b + rd + 16), DNS_OPT_PADDING);
	CHECK_EQ_INT(dns_get16(q.b + rd + 18), n - (rd + 20));
	CHECK_EQ_INT(dns_get16(q.b + QEND + 9), n - rd);

	/* No room for the padding: 0, nothing changed. */
	make_opt_query(&q, opts, sizeof opts);
	{
		struct msg before = q;

		CHECK_EQ_INT(dns_pad_query(q.b, q.len, DNS_PAD_BLOCK - 1, qi.opt_off), 0);
		CHECK(memcmp(q.b, before.b, q.len) == 0, "query changed without room to pad");
	}
}

/* An option list that stops parsing after options the proxy drops: the
 * query must come back exactly as it was (it used to be compacted first,
 * and then forwarded altered). */
static void
test_pad_query_malformed_untouched(void)
{
	/* Each: an option the proxy drops, one it keeps (so it would move),
	 * then the fault. */
	static const uint8_t bad[][16] = {
		/* padding, a cookie, then an option running past the record */
		{ 0, 12, 0, 2, 0, 0, 0, 10, 0, 2, 7, 7, 0, 8, 0, 9 },
		/* keepalive, an empty option, then half an option header */
		{ 0, 11, 0, 0, 0, 10, 0, 0, 0, 3 },
		/* padding, a cookie, then a header cut after three bytes */
		{ 0, 12, 0, 1, 0, 0, 10, 0, 1, 5, 0, 8, 0 },
	};
	static const unsigned bad_len[] = { 16, 10, 13 };
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct msg q, before;
		struct dns_query_info qi;
		size_t n;

		make_opt_query(&q, bad[i], bad_len[i]);
		CHECK_VERDICT(&q, &qi, DNS_FORWARD, "query with a bad option list");
		before = q;
		n = dns_pad_query(q.b, q.len, sizeof q.b, qi.opt_off);
		CHECK(n == 0, "case %zu: padded a malformed option list (%zu)", i, n);
		CHECK(memcmp(q.b, before.b, sizeof q.b) == 0,
		    "case %zu: a failed dns_pad_query changed the query", i);
	}
}

const struct unit_test dns_tests[] = {
	{ "dns_query_good_a", test_query_good_a },
	{ "dns_query_edns_size", test_query_edns_size },
	{ "dns_query_other_sections", test_query_other_sections },
	{ "dns_query_no_header", test_query_no_header },
	{ "dns_query_qr_set", test_query_qr_set },
	{ "dns_query_oversize", test_query_oversize },
	{ "dns_query_opcode_notimp", test_query_opcode_notimp },
	{ "dns_query_qdcount", test_query_qdcount },
	{ "dns_query_question_pointer", test_query_question_pointer },
	{ "dns_query_bad_pointers", test_query_bad_pointers },
	{ "dns_query_label_64", test_query_label_64 },
	{ "dns_query_name_255", test_query_name_255 },
	{ "dns_query_reserved_labels", test_query_reserved_labels },
	{ "dns_query_truncated", test_query_truncated },
	{ "dns_query_trailing_garbage", test_query_trailing_garbage },
	{ "dns_query_opt_rules", test_query_opt_rules },
	{ "dns_answer_check", test_answer_check },
	{ "dns_match_question", test_match_question },
	{ "dns_match_bounds", test_match_bounds },
	{ "dns_match_empty_question", test_match_empty_question },
	{ "dns_match_bits", test_match_bits },
	{ "dns_answer_opt", test_answer_opt },
	{ "dns_error_reply", test_error_reply },
	{ "dns_error_no_question", test_error_no_question },
	{ "dns_error_edns", test_error_edns },
	{ "dns_error_too_small", test_error_too_small },
	{ "dns_truncate_plain", test_truncate_plain },
	{ "dns_truncate_edns_keeps_ttl", test_truncate_edns_keeps_ttl },
	{ "dns_truncate_edge", test_truncate_edge },
	{ "dns_error_keeps_rd_cd", test_error_keeps_rd_cd },
	{ "dns_error_echoes_do", test_error_echoes_do },
	{ "dns_error_do_after_padding", test_error_do_after_padding },
	{ "dns_error_ede_codes", test_error_ede_codes },
	{ "dns_error_ede_cap", test_error_ede_cap },
	{ "dns_error_notimp_opt", test_error_notimp_opt },
	{ "dns_tc_reply", test_tc_reply },
	{ "dns_strip_answer", test_strip_answer },
	{ "dns_strip_answer_leaves", test_strip_answer_leaves },
	{ "dns_strip_query_cookie", test_strip_query_cookie },
	{ "dns_rr_next", test_rr_next },
	{ "dns_pad_query", test_pad_query },
	{ "dns_pad_query_malformed_untouched", test_pad_query_malformed_untouched },
	{ NULL, NULL },
};
