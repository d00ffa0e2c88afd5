/* SPDX-License-Identifier: MIT */
/* DNS wire helpers (RFC 1035 §4, RFC 6891). Every read is bounds-checked
 * against the message length before it happens; compression pointers must
 * point backwards, so following them always ends. */
#include <string.h>

#include "dns.h"
#include "bounds.h"

#define FLAG_QR 0x80 /* byte 2 */
#define FLAG_TC 0x02 /* byte 2 */
#define FLAG_RD 0x01 /* byte 2 */
#define FLAG_RA 0x80 /* byte 3 */
#define FLAG_CD 0x10 /* byte 3 */
#define OPT_DO 0x80  /* byte 2 of the OPT record's TTL field (RFC 3225) */

/* Offset just past the name at off, or -1 when it is malformed: a label over
 * 63 bytes, a name over 255, a reserved label type, a compression pointer
 * when none is allowed, or one that does not point strictly backwards into
 * the message after the header. */
static int
name_end(const uint8_t *msg, size_t len, size_t off, int allow_ptr)
{
	size_t pos = off, total = 0;
	int end = -1;

	for (;;) {
		uint8_t b;

		if (pos >= len)
			return -1;
		b = msg[pos];
		if ((b & 0xc0) == 0xc0) {
			size_t target;

			if (!allow_ptr || pos + 1 >= len)
				return -1;
			target = (size_t)(b & 0x3f) << 8 | msg[pos + 1];
			if (end == -1)
				end = (int)(pos + 2);
			if (target >= pos || target < DNS_HEADER_LEN)
				return -1;
			pos = target;
			continue;
		}
		if ((b & 0xc0) != 0)
			return -1; /* 0x40 and 0x80 label types are not in use */
		total += (size_t)b + 1;
		if (total > DNS_NAME_MAX)
			return -1;
		if (b == 0)
			return end != -1 ? end : (int)(pos + 1);
		pos += (size_t)b + 1;
	}
}

/* Skip count resource records from *off. Records the offset of an OPT
 * record in *opt_off (and fails on a second one, RFC 6891 §6.1.1) when
 * opt_off is not NULL. Returns 0, or -1 when a record runs past the end. */
static int
skip_rrs(const uint8_t *msg, size_t len, size_t *off, unsigned count, uint16_t *opt_off)
{
	while (count-- > 0) {
		size_t start = *off;
		int e = name_end(msg, len, start, 1);
		size_t pos, rdlen;

		if (e < 0 || (size_t)e + 10 > len)
			return -1;
		pos = (size_t)e;
		rdlen = dns_get16(msg + pos + 8);
		if (pos + 10 + rdlen > len)
			return -1;
		if (opt_off != NULL && dns_get16(msg + pos) == DNS_TYPE_OPT) {
			/* The OPT owner name is the root (RFC 6891 §6.1.2). */
			if (*opt_off != 0 || msg[start] != 0)
				return -1;
			*opt_off = (uint16_t)start;
		}
		*off = pos + 10 + rdlen;
	}
	return 0;
}

/* Offset just past a question that starts after the header, or 0. */
static uint16_t
question_end(const uint8_t *msg, size_t len)
{
	int e = name_end(msg, len, DNS_HEADER_LEN, 0);

	if (e < 0 || (size_t)e + 4 > len)
		return 0;
	return (uint16_t)(e + 4);
}

enum dns_verdict
dns_check_query(const uint8_t *msg, size_t len, struct dns_query_info *qi)
{
	enum dns_verdict verdict;
	unsigned an, ns, ar;
	size_t off;

	memset(qi, 0, sizeof(*qi));
	if (len < DNS_HEADER_LEN || (msg[2] & FLAG_QR) != 0)
		return DNS_DROP;
	qi->id = dns_get16(msg);
	qi->opcode = (msg[2] >> 3) & 0x0f;
	qi->rd = msg[2] & FLAG_RD;
	qi->udp_size = DNS_UDP_MIN;
	if (len > DNS_MSG_MAX)
		return DNS_FORMERR;
	if (dns_get16(msg + 4) == 1)
		qi->qend = question_end(msg, len);
	verdict = qi->opcode != 0 ? DNS_NOTIMP : DNS_FORWARD;
	if (qi->qend == 0)
		return verdict == DNS_NOTIMP ? DNS_NOTIMP : DNS_FORMERR;
	/* Other opcodes share the layout (RFC 1996, RFC 2136): walk them too,
	 * so that a NOTIMP reply can echo the OPT record. */
	an = dns_get16(msg + 6);
	ns = dns_get16(msg + 8);
	ar = dns_get16(msg + 10);
	off = qi->qend;
	if (skip_rrs(msg, len, &off, an + ns, NULL) != 0 ||
	    skip_rrs(msg, len, &off, ar, &qi->opt_off) != 0 || off != len) {
		qi->opt_off = 0;
		return verdict == DNS_NOTIMP ? DNS_NOTIMP : DNS_FORMERR;
	}
	if (qi->opt_off != 0) {
		uint16_t size = dns_get16(msg + qi->opt_off + 3);

		qi->has_edns = 1;
		qi->udp_size = size < DNS_UDP_MIN ? DNS_UDP_MIN : size;
		qi->dnssec_ok = (msg[qi->opt_off + 7] & OPT_DO) != 0;
	}
	return verdict;
}

int
dns_check_answer(const uint8_t *msg, size_t len, uint16_t *qend)
{
	unsigned qd;

	*qend = 0;
	if (len < DNS_HEADER_LEN || (msg[2] & FLAG_QR) == 0)
		return -1;
	qd = dns_get16(msg + 4);
	if (qd > 1)
		return -1;
	if (qd == 1 && (*qend = question_end(msg, len)) == 0)
		return -1;
	return 0;
}

static uint8_t
lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

/* The errors a server may send without echoing the question or OPT. */
static int
error_rcode(const uint8_t *msg)
{
	int rc = dns_rcode(msg);

	return rc == DNS_RCODE_FORMERR || rc == DNS_RCODE_NOTIMP ||
	    rc == DNS_RCODE_REFUSED || rc == DNS_RCODE_SERVFAIL;
}

int
dns_question_match(const uint8_t *query, uint16_t query_qend,
    const uint8_t *answer, size_t answer_len, uint16_t answer_qend)
{
	size_t i;

	if (answer_len < DNS_HEADER_LEN)
		return 0;
	if (answer_qend == 0)
		return error_rcode(answer);
	if (answer_qend != query_qend || answer_qend > answer_len)
		return 0;
	/* Servers echo the question as asked: the byte compare nearly always
	 * settles it. */
	if (memcmp(query + DNS_HEADER_LEN, answer + DNS_HEADER_LEN,
	    (size_t)answer_qend - DNS_HEADER_LEN) == 0)
		return 1;
	/* Length bytes are at most 63, below 'A', so folding leaves them be. */
	for (i = DNS_HEADER_LEN; i + 4 < answer_qend; i++)
		if (lower(query[i]) != lower(answer[i]))
			return 0;
	return memcmp(query + i, answer + i, 4) == 0;
}

int
dns_answer_match(const uint8_t *query, uint16_t query_qend, int query_do,
    const uint8_t *answer, size_t answer_len, uint16_t answer_qend, uint16_t answer_opt)
{
	int answer_do;

	if (!dns_question_match(query, query_qend, answer, answer_len, answer_qend))
		return 0;
	/* Two header bytes: RD and CD as asked (RFC 1035 §4.1.1, RFC 4035
	 * §3.2.2). */
	if (((query[2] ^ answer[2]) & FLAG_RD) != 0 || ((query[3] ^ answer[3]) & FLAG_CD) != 0)
		return 0;
	/* DO as asked (RFC 3225 §3). An answer without OPT has DO clear,
	 * unless it is an error, which may come without OPT. */
	if (answer_opt == 0 || (size_t)answer_opt + 11 > answer_len)
		return !query_do || error_rcode(answer);
	answer_do = (answer[answer_opt + 7] & OPT_DO) != 0;
	return answer_do == (query_do != 0);
}

uint16_t
dns_answer_opt(const uint8_t *msg, size_t len, uint16_t qend)
{
	uint16_t opt_off = 0;
	size_t off = qend != 0 ? qend : DNS_HEADER_LEN;
	unsigned count;

	if (len < DNS_HEADER_LEN || off > len || dns_get16(msg + 10) == 0)
		return 0;
	count = (unsigned)dns_get16(msg + 6) + dns_get16(msg + 8);
	if (skip_rrs(msg, len, &off, count, NULL) != 0 ||
	    skip_rrs(msg, len, &off, dns_get16(msg + 10), &opt_off) != 0)
		return 0;
	return opt_off;
}

/* Append an OPT record (RFC 6891 §6.1.2): root owner, our UDP size, the
 * given TTL field (extended RCODE, version, flags), rdlen bytes of options
 * for the caller to write after it. */
static size_t
put_opt(uint8_t *p, const uint8_t *ttl, uint16_t rdlen)
{
	static const uint8_t zero_ttl[4];

	p[0] = 0;
	dns_put16(p + 1, DNS_TYPE_OPT);
	dns_put16(p + 3, DNS_EDNS_OUR_SIZE);
	memcpy(p + 5, ttl != NULL ? ttl : zero_ttl, 4);
	dns_put16(p + 9, rdlen);
	return 11;
}

/* The Extended DNS Error of each reason (RFC 8914 §4); code -1: none.
 * Texts are short: dig prints them, and each byte counts against a UDP
 * client's size. */
static const struct {
	int code;
	const char *text;
} why_ede[] = {
	[DNS_WHY_NONE] = { -1, NULL },
	[DNS_WHY_UNREACHABLE] = { DNS_EDE_NO_REACHABLE_AUTHORITY, "no upstream reachable" },
	[DNS_WHY_TIMEOUT] = { DNS_EDE_NETWORK_ERROR, "upstream timed out" },
	[DNS_WHY_DENIED] = { DNS_EDE_PROHIBITED, "client not allowed" },
	[DNS_WHY_XFR_DENIED] = { DNS_EDE_PROHIBITED, "zone transfer not allowed" },
	[DNS_WHY_BUSY] = { DNS_EDE_OTHER, "too many queries in flight" },
	[DNS_WHY_TOO_BIG] = { DNS_EDE_OTHER, "query too large" },
	[DNS_WHY_SHUTDOWN] = { DNS_EDE_OTHER, "shutting down" },
};

/* The query's DO bit (RFC 3225), from its OPT record. */
static int
query_do(const uint8_t *query, size_t qlen, const struct dns_query_info *qi)
{
	uint16_t opt_off = qi->opt_off;

	if (!qi->has_edns || qi->qend == 0 || qi->qend > qlen)
		return 0;
	/* Replies to queries in flight get a dns_query_info without opt_off
	 * (and the query may have been padded since): look for it. */
	if (opt_off == 0 || (size_t)opt_off + 11 > qlen || query[opt_off] != 0 ||
	    dns_get16(query + opt_off + 1) != DNS_TYPE_OPT)
		opt_off = dns_answer_opt(query, qlen, qi->qend);
	return opt_off != 0 && (dns_get16(query + opt_off + 7) & DNS_EDNS_DO) != 0;
}

static size_t
make_reply(uint8_t *out, size_t cap, const uint8_t *query, size_t qlen,
    const struct dns_query_info *qi, uint8_t tc, int rcode, enum dns_why why)
{
	size_t qsize = qi->qend != 0 && qi->qend <= qlen ? qi->qend - DNS_HEADER_LEN : 0;
	size_t n = DNS_HEADER_LEN + qsize + (qi->has_edns ? 11 : 0);
	size_t text = 0, ede = 0;
	int code = (unsigned)why < sizeof(why_ede) / sizeof(why_ede[0]) ? why_ede[why].code : -1;
	uint8_t *p;

	if (n > cap || qlen < DNS_HEADER_LEN)
		return 0;
	if (qi->has_edns && code >= 0) {
		/* Whatever room there is: the text, then the option, give way. */
		text = strlen(why_ede[why].text);
		ede = 6 + text;
		if (n + ede > cap) {
			text = 0;
			ede = 6;
		}
		if (n + ede > cap)
			ede = 0;
	}
	memset(out, 0, DNS_HEADER_LEN);
	dns_put16(out, qi->id);
	out[2] = (uint8_t)(FLAG_QR | (query[2] & 0x78) | (query[2] & FLAG_RD) | tc);
	out[3] = (uint8_t)(FLAG_RA | (query[3] & DNS_FLAG_CD) | (rcode & 0x0f));
	dns_put16(out + 4, qsize != 0);
	memcpy(out + DNS_HEADER_LEN, query + DNS_HEADER_LEN, qsize);
	p = out + DNS_HEADER_LEN + qsize;
	if (qi->has_edns) {
		uint8_t ttl[4] = { 0, 0, 0, 0 };

		if (query_do(query, qlen, qi))
			ttl[2] = DNS_EDNS_DO >> 8;
		dns_put16(out + 10, 1);
		p += put_opt(p, ttl, (uint16_t)ede);
		if (ede != 0) {
			dns_put16(p, DNS_OPT_EDE);
			dns_put16(p + 2, (uint16_t)(ede - 4));
			dns_put16(p + 4, (uint16_t)code);
			memcpy(p + 6, why_ede[why].text, text);
		}
	}
	return n + ede;
}

size_t
dns_make_error(uint8_t *out, size_t cap, const uint8_t *query, size_t qlen,
    const struct dns_query_info *qi, int rcode, enum dns_why why)
{
	return make_reply(out, cap, query, qlen, qi, 0, rcode, why);
}

size_t
dns_make_tc(uint8_t *out, size_t cap, const uint8_t *query, size_t qlen,
    const struct dns_query_info *qi)
{
	return make_reply(out, cap, query, qlen, qi, FLAG_TC, DNS_RCODE_NOERROR, DNS_WHY_NONE);
}

size_t
dns_truncate(uint8_t *out, size_t cap, const uint8_t *answer, size_t alen,
    uint16_t answer_qend, int client_edns)
{
	size_t qend = answer_qend != 0 ? answer_qend : DNS_HEADER_LEN;
	size_t n = qend + (client_edns ? 11 : 0);
	const uint8_t *ttl = NULL;

	if (n > cap || qend > alen)
		return 0;
	memcpy(out, answer, qend);
	out[2] |= FLAG_TC;
	memset(out + 6, 0, 6);
	if (client_edns) {
		/* Keep the answer's extended RCODE and flags when it has an OPT. */
		uint16_t opt_off = dns_answer_opt(answer, alen, answer_qend);

		if (opt_off != 0)
			ttl = answer + opt_off + 5;
		dns_put16(out + 10, 1);
		put_opt(out + qend, ttl, 0);
	}
	return n;
}

size_t
dns_pad_query(uint8_t *msg, size_t len, size_t cap, uint16_t opt_off)
{
	size_t rd, rdlen, r, w, end, pad, olen = 0;
	uint16_t code;

	if (opt_off == 0 || (size_t)opt_off + 11 > len)
		return 0;
	rd = (size_t)opt_off + 11;
	rdlen = dns_get16(msg + opt_off + 9);
	if (rd + rdlen != len)
		return 0; /* not the last record */
	/* Everything is checked before a byte moves: on failure the query is
	 * forwarded as the client sent it. First the option list must parse
	 * to the end of the record, and the result must fit. */
	for (r = rd, w = len; r < len; r += 4 + olen) {
		if (r + 4 > len)
			return 0;
		code = dns_get16(msg + r);
		olen = dns_get16(msg + r + 2);
		if (r + 4 + olen > len)
			return 0;
		if (code == DNS_OPT_PADDING || code == DNS_OPT_KEEPALIVE)
			w -= 4 + olen;
	}
	end = w + 8; /* with the keepalive and padding option headers */
	pad = (DNS_PAD_BLOCK - end % DNS_PAD_BLOCK) % DNS_PAD_BLOCK;
	if (end + pad > cap || end + pad > DNS_MSG_MAX)
		return 0;
	/* Then keep every option but padding and keepalive, in place. */
	for (r = w = rd; r < len; r += 4 + olen) {
		code = dns_get16(msg + r);
		olen = dns_get16(msg + r + 2);
		if (code != DNS_OPT_PADDING && code != DNS_OPT_KEEPALIVE) {
			memmove(msg + w, msg + r, 4 + olen);
			w += 4 + olen;
		}
	}
	dns_put16(msg + w, DNS_OPT_KEEPALIVE);
	dns_put16(msg + w + 2, 0);
	dns_put16(msg + w + 4, DNS_OPT_PADDING);
	dns_put16(msg + w + 6, (uint16_t)pad);
	memset(msg + end, 0, pad);
	dns_put16(msg + opt_off + 9, (uint16_t)(end + pad - rd));
	return end + pad;
}

int
dns_keepalive(const uint8_t *msg, size_t len, uint16_t opt_off)
{
	size_t rd, end;

	if (opt_off == 0 || (size_t)opt_off + 11 > len)
		return -1;
	rd = (size_t)opt_off + 11;
	end = rd + dns_get16(msg + opt_off + 9);
	if (end > len)
		return -1;
	while (rd + 4 <= end) {
		uint16_t code = dns_get16(msg + rd), olen = dns_get16(msg + rd + 2);

		if (rd + 4 + olen > end)
			return -1;
		if (code == DNS_OPT_KEEPALIVE && olen == 2)
			return dns_get16(msg + rd + 4);
		rd += 4 + (size_t)olen;
	}
	return -1;
}

/* Remove the options whose codes are in drop (a bit per code, codes under
 * 32) from the OPT record at opt_off, which must end the message. Returns
 * the new length, or len when nothing changed or the options are malformed
 * (then they are left for the receiver to judge). */
static size_t
opt_remove(uint8_t *msg, size_t len, size_t opt_off, uint32_t drop)
{
	size_t rd = opt_off + 11, r, w;

	if (rd > len || rd + dns_get16(msg + opt_off + 9) != len)
		return len;
	for (r = rd; r < len; r += 4 + (size_t)dns_get16(msg + r + 2))
		if (r + 4 > len || r + 4 + dns_get16(msg + r + 2) > len)
			return len;
	for (r = w = rd; r < len;) {
		uint16_t code = dns_get16(msg + r);
		size_t size = 4 + (size_t)dns_get16(msg + r + 2);

		if (code >= 32 || (drop & (UINT32_C(1) << code)) == 0) {
			memmove(msg + w, msg + r, size);
			w += size;
		}
		r += size;
	}
	dns_put16(msg + opt_off + 9, (uint16_t)(w - rd));
	return w;
}

size_t
dns_strip_answer_opt(uint8_t *msg, size_t len, uint16_t qend)
{
	uint16_t opt_off = dns_answer_opt(msg, len, qend);

	if (opt_off == 0)
		return len;
	return opt_remove(msg, len, opt_off, UINT32_C(1) << DNS_OPT_PADDING |
	    UINT32_C(1) << DNS_OPT_KEEPALIVE | UINT32_C(1) << DNS_OPT_COOKIE);
}

size_t
dns_strip_query_cookie(uint8_t *msg, size_t len, uint16_t opt_off)
{
	if (opt_off < DNS_HEADER_LEN || (size_t)opt_off + 11 > len || msg[opt_off] != 0 ||
	    dns_get16(msg + opt_off + 1) != DNS_TYPE_OPT)
		return len;
	return opt_remove(msg, len, opt_off, UINT32_C(1) << DNS_OPT_COOKIE);
}

int
dns_name_end(const uint8_t *msg, size_t len, size_t off)
{
	return name_end(msg, len, off, 1);
}

int
dns_rr_next(const uint8_t *msg, size_t len, size_t *off, struct dns_rr *rr)
{
	int e = name_end(msg, len, *off, 1);
	size_t pos;

	if (e < 0 || (size_t)e + 10 > len)
		return -1;
	pos = (size_t)e;
	rr->owner = (uint16_t)*off;
	rr->type = dns_get16(msg + pos);
	rr->rclass = dns_get16(msg + pos + 2);
	rr->ttl = (uint32_t)dns_get16(msg + pos + 4) << 16 | dns_get16(msg + pos + 6);
	rr->rdlen = dns_get16(msg + pos + 8);
	rr->rdata = (uint16_t)(pos + 10);
	if (pos + 10 + rr->rdlen > len)
		return -1;
	*off = pos + 10 + rr->rdlen;
	return 0;
}
