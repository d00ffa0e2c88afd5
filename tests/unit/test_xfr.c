/* SPDX-License-Identifier: MIT */
/* Unit tests for xfr.c: which queries are zone transfers, and where a
 * transfer's response ends, for every form RFC 5936 and RFC 1995 allow,
 * split over messages in every way, and for the ways it can go wrong.
 * Messages are built record by record with the small writer below. */
#include <stdint.h>
#include <string.h>

#include "dns.h"
#include "xfr.h"
#include "unit.h"

#define T_A 1
#define T_NS 2
#define C_IN 1
#define ZONE "zone.test"
/* The question "zone.test" TYPE IN ends at 12 + 11 + 4. */
#define ZQEND 27

struct msg {
	uint8_t b[4096];
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
put32(struct msg *m, uint32_t v)
{
	put16(m, v >> 16);
	put16(m, v & 0xffff);
}

static void
put_name(struct msg *m, const char *dotted)
{
	while (*dotted != '\0') {
		size_t n = strcspn(dotted, ".");

		put8(m, (unsigned)n);
		while (n-- > 0)
			put8(m, (unsigned char)*dotted++);
		if (*dotted == '.')
			dotted++;
	}
	put8(m, 0);
}

static void
bump(struct msg *m, unsigned section)
{
	unsigned at = 4 + 2 * section;

	dns_put16(m->b + at, (uint16_t)(dns_get16(m->b + at) + 1));
}

/* A header; the question for ZONE with qtype when with_question. */
static void
start(struct msg *m, unsigned flags2, unsigned rcode, int with_question, unsigned qtype)
{
	memset(m, 0, sizeof *m);
	put16(m, 0x5a5a);
	put8(m, flags2);
	put8(m, rcode);
	put16(m, 0);
	put16(m, 0);
	put16(m, 0);
	put16(m, 0);
	if (with_question) {
		put_name(m, ZONE);
		put16(m, qtype);
		put16(m, C_IN);
		bump(m, 0);
	}
}

/* Owner: the zone, as a pointer to the question when there is one. */
static void
put_owner(struct msg *m)
{
	if (dns_get16(m->b + 4) == 1)
		put16(m, 0xc000 | DNS_HEADER_LEN);
	else
		put_name(m, ZONE);
}

/* An SOA record of the zone in section (1 answer, 2 authority); its RNAME
 * points at its MNAME, as servers compress it. */
static void
add_soa(struct msg *m, unsigned section, uint32_t serial)
{
	size_t rdlen_at, mname;

	put_owner(m);
	put16(m, DNS_TYPE_SOA);
	put16(m, C_IN);
	put32(m, 3600);
	rdlen_at = m->len;
	put16(m, 0);
	mname = m->len;
	put8(m, 2);
	put8(m, 'n');
	put8(m, 's');
	put_name(m, ZONE);
	put8(m, 4);
	put8(m, 'h');
	put8(m, 'o');
	put8(m, 's');
	put8(m, 't');
	put16(m, 0xc000 | (unsigned)mname);
	put32(m, serial);
	put32(m, 7200);
	put32(m, 900);
	put32(m, 1209600);
	put32(m, 300);
	dns_put16(m->b + rdlen_at, (uint16_t)(m->len - rdlen_at - 2));
	bump(m, section);
}

static void
add_a(struct msg *m, unsigned last)
{
	put_owner(m);
	put16(m, T_A);
	put16(m, C_IN);
	put32(m, 300);
	put16(m, 4);
	put8(m, 192);
	put8(m, 0);
	put8(m, 2);
	put8(m, last);
	bump(m, 1);
}

static void
add_ns(struct msg *m)
{
	put_owner(m);
	put16(m, T_NS);
	put16(m, C_IN);
	put32(m, 300);
	put16(m, 5);
	put8(m, 2);
	put8(m, 'n');
	put8(m, 's');
	put16(m, 0xc000 | DNS_HEADER_LEN);
	bump(m, 1);
}

/* A transfer query: AXFR, or IXFR with the client's serial. */
static void
make_xfr_query(struct msg *q, unsigned qtype, uint32_t serial, struct dns_query_info *qi)
{
	start(q, 0, 0, 1, qtype);
	if (qtype == DNS_TYPE_IXFR)
		add_soa(q, 2, serial);
	CHECK(!q->overflow, "query overflowed");
	CHECK(dns_check_query(q->b, q->len, qi) == DNS_FORWARD, "transfer query not forwarded");
}

static const char *
step_name(enum xfr_step s)
{
	return s == XFR_MORE ? "MORE" : s == XFR_DONE ? "DONE" : "ERROR";
}

#define CHECK_STEP(x, m, want)                                                  \
	do {                                                                    \
		enum xfr_step s_ = xfr_feed((x), (m)->b, (m)->len);             \
		CHECK(!(m)->overflow, "message overflowed");                    \
		CHECK(s_ == (want), "step %s, want %s", step_name(s_), step_name(want)); \
	} while (0)

static void
begin(struct xfr_state *x, unsigned qtype, uint32_t serial)
{
	struct msg q;
	struct dns_query_info qi;

	make_xfr_query(&q, qtype, serial, &qi);
	CHECK_EQ_INT(xfr_start(x, q.b, q.len, &qi), 0);
}

/* --- xfr_classify */

static void
test_classify(void)
{
	struct msg q;
	struct dns_query_info qi;
	uint32_t serial = 0;
	struct xfr_state x;

	make_xfr_query(&q, T_A, 0, &qi);
	CHECK_EQ_INT(xfr_classify(q.b, q.len, &qi, &serial), XFR_NONE);
	CHECK_EQ_INT(xfr_start(&x, q.b, q.len, &qi), -1);
	make_xfr_query(&q, DNS_TYPE_AXFR, 0, &qi);
	CHECK_EQ_INT(xfr_classify(q.b, q.len, &qi, &serial), XFR_AXFR);
	make_xfr_query(&q, DNS_TYPE_IXFR, 0x01020304, &qi);
	CHECK_EQ_INT(xfr_classify(q.b, q.len, &qi, &serial), XFR_IXFR);
	CHECK_EQ_INT(serial, 0x01020304);
	CHECK_EQ_INT(xfr_start(&x, q.b, q.len, &qi), 0);
	CHECK_EQ_INT(x.client_serial, 0x01020304);
	CHECK_EQ_INT(x.kind, XFR_IXFR);

	/* IXFR without the client's SOA (RFC 1995 §3): FORMERR for phase B. */
	start(&q, 0, 0, 1, DNS_TYPE_IXFR);
	CHECK(dns_check_query(q.b, q.len, &qi) == DNS_FORWARD, "bare IXFR");
	CHECK_EQ_INT(xfr_classify(q.b, q.len, &qi, &serial), XFR_BAD);
	CHECK_EQ_INT(xfr_start(&x, q.b, q.len, &qi), -1);
	/* An A record in the authority section is not an SOA. */
	start(&q, 0, 0, 1, DNS_TYPE_IXFR);
	add_a(&q, 1);
	dns_put16(q.b + 6, 0);
	dns_put16(q.b + 8, 1);
	CHECK(dns_check_query(q.b, q.len, &qi) == DNS_FORWARD, "IXFR with an A");
	CHECK_EQ_INT(xfr_classify(q.b, q.len, &qi, &serial), XFR_BAD);
	/* An SOA whose RDATA is one byte short: RDLENGTH one less, the last
	 * byte gone. */
	make_xfr_query(&q, DNS_TYPE_IXFR, 7, &qi);
	{
		size_t rdlen_at = ZQEND + 2 + 2 + 2 + 4;

		dns_put16(q.b + rdlen_at, (uint16_t)(dns_get16(q.b + rdlen_at) - 1));
		q.len--;
		CHECK(dns_check_query(q.b, q.len, &qi) == DNS_FORWARD, "short SOA query");
		CHECK_EQ_INT(xfr_classify(q.b, q.len, &qi, &serial), XFR_BAD);
	}
	/* No question: nothing to classify. */
	memset(&qi, 0, sizeof qi);
	CHECK_EQ_INT(xfr_classify(q.b, q.len, &qi, &serial), XFR_NONE);
	qi.qend = (uint16_t)(q.len + 1);
	CHECK_EQ_INT(xfr_classify(q.b, q.len, &qi, &serial), XFR_NONE);
}

/* --- AXFR */

static void
test_axfr_one_message(void)
{
	struct xfr_state x;
	struct msg m;

	begin(&x, DNS_TYPE_AXFR, 0);
	start(&m, 0x84, 0, 1, DNS_TYPE_AXFR);
	add_soa(&m, 1, 2024);
	add_ns(&m);
	add_a(&m, 1);
	add_a(&m, 2);
	add_soa(&m, 1, 2024);
	CHECK_STEP(&x, &m, XFR_DONE);
	CHECK_EQ_INT(x.records, 5);
	CHECK_EQ_INT(x.messages, 1);
	CHECK_EQ_INT(x.rcode, 0);
	CHECK_EQ_INT(x.end_serial, 2024);
	/* Anything after the end is not part of it. */
	CHECK_STEP(&x, &m, XFR_ERROR);

	/* A zone of its SOA alone: SOA, SOA. */
	begin(&x, DNS_TYPE_AXFR, 0);
	start(&m, 0x84, 0, 1, DNS_TYPE_AXFR);
	add_soa(&m, 1, 9);
	add_soa(&m, 1, 9);
	CHECK_STEP(&x, &m, XFR_DONE);
}

/* The same transfer cut into one message per record, with and without the
 * question in the messages after the first. */
static void
test_axfr_many_messages(void)
{
	struct xfr_state x;
	struct msg m;
	int with_q, i;

	for (with_q = 0; with_q <= 1; with_q++) {
		begin(&x, DNS_TYPE_AXFR, 0);
		start(&m, 0x84, 0, 1, DNS_TYPE_AXFR);
		add_soa(&m, 1, 77);
		CHECK_STEP(&x, &m, XFR_MORE);
		for (i = 0; i < 100; i++) {
			start(&m, 0x84, 0, with_q, DNS_TYPE_AXFR);
			add_a(&m, (unsigned)i);
			add_a(&m, (unsigned)i + 1);
			CHECK_STEP(&x, &m, XFR_MORE);
		}
		/* A message with no answer records mid-transfer: harmless. */
		start(&m, 0x84, 0, with_q, DNS_TYPE_AXFR);
		CHECK_STEP(&x, &m, XFR_MORE);
		start(&m, 0x84, 0, with_q, DNS_TYPE_AXFR);
		add_soa(&m, 1, 77);
		CHECK_STEP(&x, &m, XFR_DONE);
		CHECK_EQ_INT(x.records, 202);
		CHECK_EQ_INT(x.messages, 103);
	}
}

static void
test_axfr_broken(void)
{
	struct xfr_state x;
	struct msg m;

	/* The first record is not the SOA. */
	begin(&x, DNS_TYPE_AXFR, 0);
	start(&m, 0x84, 0, 1, DNS_TYPE_AXFR);
	add_a(&m, 1);
	CHECK_STEP(&x, &m, XFR_ERROR);
	/* NOERROR without records to open it. */
	begin(&x, DNS_TYPE_AXFR, 0);
	start(&m, 0x84, 0, 1, DNS_TYPE_AXFR);
	CHECK_STEP(&x, &m, XFR_ERROR);
	/* The closing SOA is another version. */
	begin(&x, DNS_TYPE_AXFR, 0);
	start(&m, 0x84, 0, 1, DNS_TYPE_AXFR);
	add_soa(&m, 1, 5);
	add_a(&m, 1);
	add_soa(&m, 1, 6);
	CHECK_STEP(&x, &m, XFR_ERROR);
	/* Records after the closing SOA. */
	begin(&x, DNS_TYPE_AXFR, 0);
	start(&m, 0x84, 0, 1, DNS_TYPE_AXFR);
	add_soa(&m, 1, 5);
	add_soa(&m, 1, 5);
	add_a(&m, 1);
	CHECK_STEP(&x, &m, XFR_ERROR);
	/* Another question in a later message. */
	begin(&x, DNS_TYPE_AXFR, 0);
	start(&m, 0x84, 0, 1, DNS_TYPE_AXFR);
	add_soa(&m, 1, 5);
	CHECK_STEP(&x, &m, XFR_MORE);
	start(&m, 0x84, 0, 1, DNS_TYPE_IXFR);
	add_a(&m, 1);
	CHECK_STEP(&x, &m, XFR_ERROR);
	CHECK_STEP(&x, &m, XFR_ERROR); /* and it stays broken */
	/* TC, no QR, another opcode, a short or cut message. */
	{
		static const struct {
			unsigned flags2;
			size_t cut;
		} bad[] = { { 0x86, 0 }, { 0x04, 0 }, { 0x84 | 0x10, 0 }, { 0x84, 1 }, { 0x84, 30 } };
		size_t i;

		for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			begin(&x, DNS_TYPE_AXFR, 0);
			start(&m, bad[i].flags2, 0, 1, DNS_TYPE_AXFR);
			add_soa(&m, 1, 5);
			if (bad[i].cut > 0)
				m.len = bad[i].cut == 30 ? 30 : m.len - bad[i].cut;
			CHECK_STEP(&x, &m, XFR_ERROR);
		}
	}
	/* More answer records claimed than there are bytes. */
	begin(&x, DNS_TYPE_AXFR, 0);
	start(&m, 0x84, 0, 1, DNS_TYPE_AXFR);
	add_soa(&m, 1, 5);
	dns_put16(m.b + 6, 0xffff);
	CHECK_STEP(&x, &m, XFR_ERROR);
}

/* An error RCODE ends it, first message or later: relayed, then done. */
static void
test_xfr_rcode(void)
{
	struct xfr_state x;
	struct msg m;

	begin(&x, DNS_TYPE_AXFR, 0);
	start(&m, 0x84, DNS_RCODE_REFUSED, 1, DNS_TYPE_AXFR);
	CHECK_STEP(&x, &m, XFR_DONE);
	CHECK_EQ_INT(x.rcode, DNS_RCODE_REFUSED);
	/* Without a question, as some servers send errors. */
	begin(&x, DNS_TYPE_IXFR, 1);
	start(&m, 0x84, DNS_RCODE_NOTIMP, 0, 0);
	CHECK_STEP(&x, &m, XFR_DONE);
	CHECK_EQ_INT(x.rcode, DNS_RCODE_NOTIMP);
	begin(&x, DNS_TYPE_AXFR, 0);
	start(&m, 0x84, 0, 1, DNS_TYPE_AXFR);
	add_soa(&m, 1, 5);
	add_a(&m, 1);
	CHECK_STEP(&x, &m, XFR_MORE);
	start(&m, 0x84, DNS_RCODE_SERVFAIL, 0, 0);
	CHECK_STEP(&x, &m, XFR_DONE);
	CHECK_EQ_INT(x.rcode, DNS_RCODE_SERVFAIL);
}

/* --- IXFR */

static void
test_ixfr_up_to_date(void)
{
	struct xfr_state x;
	struct msg m;
	static const struct {
		uint32_t client, server;
		enum xfr_step want;
	} cases[] = {
		{ 10, 10, XFR_DONE },          /* same version */
		{ 10, 9, XFR_DONE },           /* the client is newer */
		{ 5, 0xfffffff0u, XFR_DONE },  /* newer across the wrap (RFC 1982) */
		{ 0xfffffff0u, 5, XFR_MORE },  /* the server is newer across it */
		{ 10, 11, XFR_MORE },
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		begin(&x, DNS_TYPE_IXFR, cases[i].client);
		start(&m, 0x84, 0, 1, DNS_TYPE_IXFR);
		add_soa(&m, 1, cases[i].server);
		CHECK_STEP(&x, &m, cases[i].want);
	}
	/* The single SOA with more after it is no up-to-date answer. */
	begin(&x, DNS_TYPE_IXFR, 10);
	start(&m, 0x84, 0, 1, DNS_TYPE_IXFR);
	add_soa(&m, 1, 10);
	add_a(&m, 1);
	CHECK_STEP(&x, &m, XFR_ERROR);
}

/* SOA 30 { SOA 10, -A1, SOA 20, +A2 } { SOA 20, -A2, SOA 30, +A3 +A4 } SOA 30:
 * as one message, and as one message per record. */
static void
add_incremental(struct msg *m, int record, int *n)
{
	/* The n-th record of the sequence, for record == *n. */
	static const struct {
		int soa;
		uint32_t serial;
	} seq[] = {
		{ 1, 30 }, { 1, 10 }, { 0, 1 }, { 1, 20 }, { 0, 2 }, { 1, 20 }, { 0, 2 },
		{ 1, 30 }, { 0, 3 }, { 0, 4 }, { 1, 30 },
	};

	if (record < 0) {
		*n = (int)(sizeof seq / sizeof seq[0]);
		return;
	}
	if (seq[record].soa)
		add_soa(m, 1, seq[record].serial);
	else
		add_a(m, seq[record].serial);
}

static void
test_ixfr_incremental(void)
{
	struct xfr_state x;
	struct msg m;
	int n, i;

	add_incremental(NULL, -1, &n);
	begin(&x, DNS_TYPE_IXFR, 10);
	start(&m, 0x84, 0, 1, DNS_TYPE_IXFR);
	for (i = 0; i < n; i++)
		add_incremental(&m, i, &n);
	CHECK_STEP(&x, &m, XFR_DONE);
	CHECK_EQ_INT(x.incremental, 1);
	CHECK_EQ_INT(x.records, n);

	begin(&x, DNS_TYPE_IXFR, 10);
	for (i = 0; i < n; i++) {
		start(&m, 0x84, 0, i == 0, DNS_TYPE_IXFR);
		add_incremental(&m, i, &n);
		CHECK_STEP(&x, &m, i == n - 1 ? XFR_DONE : XFR_MORE);
	}
	CHECK_EQ_INT(x.incremental, 1);
	CHECK_EQ_INT(x.messages, n);

	/* Cut anywhere short of the end: not done. */
	for (i = 1; i < n; i++) {
		int j;

		begin(&x, DNS_TYPE_IXFR, 10);
		start(&m, 0x84, 0, 1, DNS_TYPE_IXFR);
		for (j = 0; j < i; j++)
			add_incremental(&m, j, &n);
		CHECK_STEP(&x, &m, XFR_MORE);
	}
}

static void
test_ixfr_out_of_sequence(void)
{
	struct xfr_state x;
	struct msg m;

	/* After the difference to 20, the next one must start at 20. */
	begin(&x, DNS_TYPE_IXFR, 10);
	start(&m, 0x84, 0, 1, DNS_TYPE_IXFR);
	add_soa(&m, 1, 30);
	add_soa(&m, 1, 10);
	add_soa(&m, 1, 20);
	add_a(&m, 1);
	add_soa(&m, 1, 25);
	CHECK_STEP(&x, &m, XFR_ERROR);
}

/* The server has no differences from the client's version: it sends the
 * zone (RFC 1995 §4). The second record is not an SOA of the client's
 * serial. */
static void
test_ixfr_axfr_form(void)
{
	struct xfr_state x;
	struct msg m;

	begin(&x, DNS_TYPE_IXFR, 10);
	start(&m, 0x84, 0, 1, DNS_TYPE_IXFR);
	add_soa(&m, 1, 30);
	add_ns(&m);
	add_a(&m, 1);
	CHECK_STEP(&x, &m, XFR_MORE);
	start(&m, 0x84, 0, 0, 0);
	add_a(&m, 2);
	add_soa(&m, 1, 30);
	CHECK_STEP(&x, &m, XFR_DONE);
	CHECK_EQ_INT(x.incremental, 0);
	/* A zone of its SOA alone, in AXFR form. */
	begin(&x, DNS_TYPE_IXFR, 10);
	start(&m, 0x84, 0, 1, DNS_TYPE_IXFR);
	add_soa(&m, 1, 30);
	add_soa(&m, 1, 30);
	CHECK_STEP(&x, &m, XFR_DONE);
	CHECK_EQ_INT(x.incremental, 0);
	/* An SOA of a third serial second: neither form. */
	begin(&x, DNS_TYPE_IXFR, 10);
	start(&m, 0x84, 0, 1, DNS_TYPE_IXFR);
	add_soa(&m, 1, 30);
	add_soa(&m, 1, 12);
	CHECK_STEP(&x, &m, XFR_ERROR);
}

/* An SOA whose RDATA does not hold its names and five numbers. */
static void
test_xfr_bad_soa(void)
{
	struct xfr_state x;
	struct msg m;
	size_t rdlen_at;

	begin(&x, DNS_TYPE_AXFR, 0);
	start(&m, 0x84, 0, 1, DNS_TYPE_AXFR);
	rdlen_at = m.len + 2 + 2 + 2 + 4;
	add_soa(&m, 1, 5);
	dns_put16(m.b + rdlen_at, (uint16_t)(dns_get16(m.b + rdlen_at) + 1));
	put8(&m, 0);
	CHECK_STEP(&x, &m, XFR_ERROR);
}

/* An OPT record in the additional section with Padding (4 bytes) and
 * edns-tcp-keepalive (5 s): the options of the TLS hop. */
static void
add_hop_opt(struct msg *m)
{
	put8(m, 0);
	put16(m, 41);
	put16(m, 4096);
	put32(m, 0);
	put16(m, 4 + 4 + 4 + 2);
	put16(m, 12); /* Padding */
	put16(m, 4);
	put32(m, 0);
	put16(m, 11); /* edns-tcp-keepalive */
	put16(m, 2);
	put16(m, 50);
	bump(m, 3);
}

/* --- xfr_relay: each message fed, stripped of the hop's EDNS options and
 * given the client's ID; a broken one left as it is. */
static void
test_xfr_relay(void)
{
	struct xfr_state x;
	struct msg m;
	size_t len, opt;

	begin(&x, DNS_TYPE_AXFR, 0);
	start(&m, 0x84, 0, 1, DNS_TYPE_AXFR);
	add_soa(&m, 1, 5);
	add_a(&m, 1);
	opt = m.len;
	add_hop_opt(&m);
	len = m.len;
	CHECK_EQ_INT(xfr_relay(&x, m.b, &len, 0xbeef), XFR_MORE);
	CHECK_EQ_INT(len, opt + 11); /* an empty OPT is left */
	CHECK_EQ_INT(dns_get16(m.b), 0xbeef);
	CHECK_EQ_INT(dns_get16(m.b + 10), 1);
	CHECK_EQ_INT(dns_get16(m.b + opt + 9), 0);
	/* The last message, without question or OPT: only the ID changes. */
	start(&m, 0x84, 0, 0, 0);
	add_a(&m, 2);
	add_soa(&m, 1, 5);
	len = m.len;
	CHECK_EQ_INT(xfr_relay(&x, m.b, &len, 0xbeef), XFR_DONE);
	CHECK_EQ_INT(len, m.len);
	CHECK_EQ_INT(dns_get16(m.b), 0xbeef);
	/* After the end: ERROR, and the message is not touched. */
	len = m.len;
	dns_put16(m.b, 0x5a5a);
	CHECK_EQ_INT(xfr_relay(&x, m.b, &len, 0xbeef), XFR_ERROR);
	CHECK_EQ_INT(dns_get16(m.b), 0x5a5a);
	CHECK_EQ_INT(len, m.len);
	/* The single-SOA IXFR answer, ended by its OPT. */
	begin(&x, DNS_TYPE_IXFR, 9);
	start(&m, 0x84, 0, 1, DNS_TYPE_IXFR);
	add_soa(&m, 1, 9);
	opt = m.len;
	add_hop_opt(&m);
	len = m.len;
	CHECK_EQ_INT(xfr_relay(&x, m.b, &len, 7), XFR_DONE);
	CHECK_EQ_INT(len, opt + 11);
	CHECK_EQ_INT(dns_get16(m.b), 7);
}

/* --- xfr_admit: every kind, both transports, in and outside the list. */
static void
test_xfr_admit(void)
{
	int udp, allowed;

	for (udp = 0; udp <= 1; udp++)
		for (allowed = 0; allowed <= 1; allowed++)
			CHECK_EQ_INT(xfr_admit(XFR_NONE, udp, allowed), XFR_ADMIT_QUERY);
	for (udp = 0; udp <= 1; udp++) {
		/* Outside the list: REFUSED, however it came and whatever it is. */
		CHECK_EQ_INT(xfr_admit(XFR_AXFR, udp, 0), XFR_ADMIT_REFUSED);
		CHECK_EQ_INT(xfr_admit(XFR_IXFR, udp, 0), XFR_ADMIT_REFUSED);
		CHECK_EQ_INT(xfr_admit(XFR_BAD, udp, 0), XFR_ADMIT_REFUSED);
		CHECK_EQ_INT(xfr_admit(XFR_BAD, udp, 1), XFR_ADMIT_FORMERR);
	}
	CHECK_EQ_INT(xfr_admit(XFR_AXFR, 1, 1), XFR_ADMIT_TC);
	CHECK_EQ_INT(xfr_admit(XFR_IXFR, 1, 1), XFR_ADMIT_TC);
	CHECK_EQ_INT(xfr_admit(XFR_AXFR, 0, 1), XFR_ADMIT_RELAY);
	CHECK_EQ_INT(xfr_admit(XFR_IXFR, 0, 1), XFR_ADMIT_RELAY);
}

/* --- xfr_flow: read on exactly while a largest framed message fits. */
static void
test_xfr_flow(void)
{
	const size_t big = 2 + DNS_MSG_MAX, cap = 8192 + big;

	CHECK_EQ_INT(xfr_flow(0, cap), XFR_FLOW_TAKE);
	CHECK_EQ_INT(xfr_flow(8192, cap), XFR_FLOW_TAKE);
	CHECK_EQ_INT(xfr_flow(8193, cap), XFR_FLOW_PAUSE);
	CHECK_EQ_INT(xfr_flow(cap, cap), XFR_FLOW_PAUSE);
	/* Nonsense (more queued than the buffer holds) pauses, never wraps. */
	CHECK_EQ_INT(xfr_flow(cap + 1, cap), XFR_FLOW_PAUSE);
	CHECK_EQ_INT(xfr_flow(0, big), XFR_FLOW_TAKE);
	CHECK_EQ_INT(xfr_flow(1, big), XFR_FLOW_PAUSE);
	CHECK_EQ_INT(xfr_flow(0, big - 1), XFR_FLOW_PAUSE);
	CHECK_EQ_INT(xfr_flow(0, 0), XFR_FLOW_PAUSE);
}

/* --- xfr_deadline: whose silence counts, from when. */
static void
test_xfr_deadline(void)
{
	const uint64_t s = 1000000; /* one second in microseconds */

	/* Reading: --transfer-timeout after the upstream's last message. */
	CHECK_EQ_INT(xfr_deadline(100 * s, 90 * s, 0, 30000, 10000), 130 * s);
	/* ... or after the client last read, when that is later: time spent
	 * paused for the client is not the upstream's silence. */
	CHECK_EQ_INT(xfr_deadline(100 * s, 150 * s, 0, 30000, 10000), 180 * s);
	/* Paused: the client's idle timeout from its last read, whatever the
	 * upstream did. */
	CHECK_EQ_INT(xfr_deadline(100 * s, 90 * s, 1, 30000, 10000), 100 * s);
	CHECK_EQ_INT(xfr_deadline(200 * s, 90 * s, 1, 30000, 10000), 100 * s);
	/* The largest timeouts the options take do not overflow. */
	CHECK_EQ_INT(xfr_deadline(0, 0, 0, 3600000, 0), 3600 * s);
	CHECK(xfr_deadline(UINT64_C(1) << 62, 0, 0, 3600000, 0) > UINT64_C(1) << 62,
	    "a deadline from a late clock stays after it");
}

const struct unit_test xfr_tests[] = {
	{ "xfr_classify", test_classify },
	{ "xfr_axfr_one_message", test_axfr_one_message },
	{ "xfr_axfr_many_messages", test_axfr_many_messages },
	{ "xfr_axfr_broken", test_axfr_broken },
	{ "xfr_rcode", test_xfr_rcode },
	{ "xfr_ixfr_up_to_date", test_ixfr_up_to_date },
	{ "xfr_ixfr_incremental", test_ixfr_incremental },
	{ "xfr_ixfr_out_of_sequence", test_ixfr_out_of_sequence },
	{ "xfr_ixfr_axfr_form", test_ixfr_axfr_form },
	{ "xfr_bad_soa", test_xfr_bad_soa },
	{ "xfr_relay", test_xfr_relay },
	{ "xfr_admit", test_xfr_admit },
	{ "xfr_flow", test_xfr_flow },
	{ "xfr_deadline", test_xfr_deadline },
	{ NULL, NULL },
};
