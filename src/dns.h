/* SPDX-License-Identifier: MIT */
/* DNS wire helpers: validate a client's query, validate an upstream answer
 * and match it to a query, build error replies and truncated replies, strip
 * the TLS hop's EDNS options, walk resource records.
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

#define DNS_TYPE_SOA 6
#define DNS_TYPE_OPT 41
#define DNS_TYPE_IXFR 251
#define DNS_TYPE_AXFR 252
#define DNS_OPT_COOKIE 10    /* RFC 7873 */
#define DNS_OPT_KEEPALIVE 11 /* edns-tcp-keepalive, RFC 7828 */
#define DNS_OPT_PADDING 12   /* RFC 7830 */
#define DNS_OPT_EDE 15       /* Extended DNS Error, RFC 8914 */
/* The DO bit (RFC 3225), in the OPT record's TTL field, and CD (RFC 4035
 * §3.2.2), in byte 3 of the header. */
#define DNS_EDNS_DO 0x8000
#define DNS_FLAG_CD 0x10
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

/* Also for DNS_NOTIMP, has_edns and opt_off are set when the rest of the
 * message parses, so that the NOTIMP reply can carry an OPT record. */
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

/* Why the proxy answers a query itself. Each reason but DNS_WHY_NONE
 * carries an Extended DNS Error (RFC 8914): an INFO-CODE and a short
 * EXTRA-TEXT, chosen in dns.c. */
enum dns_why {
	DNS_WHY_NONE,        /* no EDE: FORMERR, NOTIMP (the message says it all) */
	DNS_WHY_UNREACHABLE, /* 22 No Reachable Authority: no upstream reachable */
	DNS_WHY_TIMEOUT,     /* 23 Network Error: no answer before the deadline */
	DNS_WHY_DENIED,      /* 18 Prohibited: client outside --allow */
	DNS_WHY_XFR_DENIED,  /* 18 Prohibited: zone transfer outside --allow-transfer */
	DNS_WHY_BUSY,        /* 0 Other: every pending slot or buffer busy */
	DNS_WHY_TOO_BIG,     /* 0 Other: a query over DNS_QUERY_MAX */
	DNS_WHY_SHUTDOWN,    /* 0 Other: the proxy is stopping */
};

/* Extended DNS Error INFO-CODEs the proxy writes (RFC 8914 §4). */
#define DNS_EDE_OTHER 0
#define DNS_EDE_PROHIBITED 18
#define DNS_EDE_NO_REACHABLE_AUTHORITY 22
#define DNS_EDE_NETWORK_ERROR 23
/* The longest EXTRA-TEXT the proxy writes. With it, an error reply to the
 * longest question is 12 + 259 + 11 + 6 + 32 = 320 bytes: under the 512 a
 * UDP client always takes. */
#define DNS_EDE_TEXT_MAX 32

/* Write into out a reply to query with rcode: header (ID from qi, opcode,
 * RD and CD from the query; RA), the question when it parsed, and, when the
 * query had EDNS, an OPT record that echoes its DO bit (RFC 3225, RFC 4035
 * §3.2.2) with an Extended DNS Error option saying why (RFC 8914). cap is
 * the most the reply may take: the buffer, and over UDP the client's size.
 * When the EDE does not fit, its EXTRA-TEXT goes first, then the option.
 * Returns the length, or 0 when not even the bare reply fits. */
size_t dns_make_error(uint8_t *out, size_t cap, const uint8_t *query, size_t qlen,
    const struct dns_query_info *qi, int rcode, enum dns_why why);

/* The same reply, NOERROR with TC set and no EDE: "ask again over TCP"
 * (RFC 1035 §4.2.1; RFC 5936 §4.1: an AXFR over UDP). */
size_t dns_make_tc(uint8_t *out, size_t cap, const uint8_t *query, size_t qlen,
    const struct dns_query_info *qi);

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

/* Offset just past the name at off, which may be compressed (pointers must
 * point strictly backwards, after the header), or -1 when it is malformed or
 * runs past len. */
int dns_name_end(const uint8_t *msg, size_t len, size_t off);

/* The edns-tcp-keepalive timeout in an answer's OPT record at opt_off
 * (dns_answer_opt; RFC 7828 §3.3.2: units of 100 ms), or -1 when it has
 * none. */
int dns_keepalive(const uint8_t *msg, size_t len, uint16_t opt_off);

/* Remove from an upstream answer, in place, the EDNS options that belong to
 * the TLS hop and not to the client: Padding (RFC 7830), edns-tcp-keepalive
 * (RFC 7828) and COOKIE (RFC 7873: the server cookie was made for the
 * proxy's address). Call it after dns_keepalive and before the size check
 * against the client's UDP size. Only when the OPT record is the message's
 * last record (so never under TSIG or SIG(0), which sign those bytes).
 * Returns the new length (len when nothing changed). */
size_t dns_strip_answer_opt(uint8_t *msg, size_t len, uint16_t qend);

/* Remove the client's COOKIE option from a query before it goes upstream:
 * the client cookie was made for the proxy's address and would tag each
 * client's queries at the upstream; TLS gives the hop what cookies give
 * UDP. Same rule as dns_pad_query (OPT at opt_off, the last record).
 * Returns the new length (len when nothing changed). */
size_t dns_strip_query_cookie(uint8_t *msg, size_t len, uint16_t opt_off);

/* One resource record, as dns_rr_next reads it; offsets into the message. */
struct dns_rr {
	uint16_t owner;  /* the owner name */
	uint16_t type;
	uint16_t rclass;
	uint32_t ttl;
	uint16_t rdata;  /* the RDATA */
	uint16_t rdlen;
};

/* Read the record at *off (compressed owner names allowed) and move *off
 * past it. Returns 0, or -1 when the record is malformed or runs past len. */
int dns_rr_next(const uint8_t *msg, size_t len, size_t *off, struct dns_rr *rr);

/* Offset just past the (possibly compressed) name at off, or -1 when it is
 * malformed or runs past len. */
int dns_name_end(const uint8_t *msg, size_t len, size_t off);

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
