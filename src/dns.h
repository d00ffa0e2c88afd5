/* SPDX-License-Identifier: MIT */
/* DNS wire helpers: validate a client's query, validate an upstream answer
 * and match it to a query, build error replies and truncated replies.
 * Pure functions on byte buffers; no state, no allocation. */
#ifndef DNS_H
#define DNS_H

#include <stddef.h>
#include <stdint.h>

#define DNS_RCODE_NOERROR 0
#define DNS_RCODE_FORMERR 1
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NXDOMAIN 3
#define DNS_RCODE_NOTIMP 4
#define DNS_RCODE_REFUSED 5

#define DNS_TYPE_OPT 41
#define DNS_OPT_KEEPALIVE 11 /* edns-tcp-keepalive, RFC 7828 */
#define DNS_OPT_PADDING 12   /* RFC 7830 */
/* Queries are padded to a multiple of this (RFC 8467 §4.1). */
#define DNS_PAD_BLOCK 128
/* UDP payload size the proxy advertises in OPT records it writes itself:
 * the DNS Flag Day 2020 figure, safe on every path MTU. */
#define DNS_EDNS_OUR_SIZE 1232

/* What the proxy must know of a query. Offsets are into the message. */
struct dns_query_info {
	uint16_t id;
	uint16_t qend;     /* just past QTYPE/QCLASS; 0 if the question is unusable */
	uint16_t udp_size; /* what the client accepts over UDP (RFC 6891 §6.2.5) */
	uint16_t opt_off;  /* offset of the OPT record, 0 when there is none */
	uint8_t has_edns;
	uint8_t dnssec_ok; /* the DO bit of its OPT record (RFC 3225) */
	uint8_t opcode;
	uint8_t rd;
};

/* How to treat a client's message. */
enum dns_verdict {
	DNS_FORWARD,  /* well-formed query: forward it */
	DNS_DROP,     /* no header or a response (QR set): drop silently, count */
	DNS_FORMERR,  /* header parses, the rest does not (RFC 1035 §4.1.1) */
	DNS_NOTIMP,   /* opcode other than QUERY */
};

enum dns_verdict dns_check_query(const uint8_t *msg, size_t len, struct dns_query_info *qi);

/* Check an upstream answer's header and question. Returns 0 when it is a
 * response with zero or one question (qend set, 0 when there is none), -1
 * when it is not a usable DNS response. */
int dns_check_answer(const uint8_t *msg, size_t len, uint16_t *qend);

/* Is the answer's question the query's question? Names compare without
 * regard to ASCII case (RFC 4343), type and class exactly. An answer with no
 * question matches only when it reports an error (FORMERR, NOTIMP, REFUSED,
 * SERVFAIL), which some servers send without echoing the question. */
int dns_question_match(const uint8_t *query, uint16_t query_qend,
    const uint8_t *answer, size_t answer_len, uint16_t answer_qend);

/* Is the answer the one to this query? Its question (dns_question_match),
 * and the bits that change what an answer holds, copied back as asked: RD
 * (RFC 1035 §4.1.1), CD (RFC 4035 §3.2.2) and DO (RFC 3225 §3). query_do
 * is the query's DO bit; answer_opt the answer's OPT record
 * (dns_answer_opt), 0 when it has none, which reads as DO clear, except
 * in an error answer (as above), which may come without OPT. Otherwise an
 * answer made for a CD or DO query could reach a client who asked without. */
int dns_answer_match(const uint8_t *query, uint16_t query_qend, int query_do,
    const uint8_t *answer, size_t answer_len, uint16_t answer_qend, uint16_t answer_opt);

/* The offset of an answer's OPT record (qend: end of its question, 0 when
 * it has none), or 0 when it has none or its records do not parse. */
uint16_t dns_answer_opt(const uint8_t *msg, size_t len, uint16_t qend);

/* Write into out a reply to query with rcode: header, the question when it
 * parsed, and an OPT record when the query had one. Returns the length, or 0
 * when out is too small. */
size_t dns_make_error(uint8_t *out, size_t cap, const uint8_t *query, size_t qlen,
    const struct dns_query_info *qi, int rcode);

/* Write into out a truncated copy of answer (RFC 1035 §4.2.1, RFC 6891 §7):
 * its header with TC set and only the question, plus an OPT record when the
 * client used EDNS. Returns the length, or 0 when out is too small. */
size_t dns_truncate(uint8_t *out, size_t cap, const uint8_t *answer, size_t alen,
    uint16_t answer_qend, int client_edns);

/* Prepare a query with EDNS for a TLS upstream: drop any Padding and
 * edns-tcp-keepalive options the client sent, add an empty
 * edns-tcp-keepalive (RFC 7828 §3.2.1) and a Padding option (RFC 7830)
 * that makes the message a multiple of DNS_PAD_BLOCK bytes. Only when the
 * OPT record at opt_off is the message's last record (so never under TSIG).
 * Returns the new length, or 0 with msg untouched (an option list that
 * does not parse, or no room): the query then goes as the client sent it. */
size_t dns_pad_query(uint8_t *msg, size_t len, size_t cap, uint16_t opt_off);

/* The edns-tcp-keepalive timeout in an answer's OPT record at opt_off
 * (dns_answer_opt; RFC 7828 §3.3.2: units of 100 ms), or -1 when it has
 * none. */
int dns_keepalive(const uint8_t *msg, size_t len, uint16_t opt_off);

static inline uint16_t
dns_get16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline void
dns_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline int
dns_rcode(const uint8_t *msg)
{
	return msg[3] & 0x0f;
}

#endif
