/* SPDX-License-Identifier: MIT */
/* Zone transfers on the wire: which queries are transfers, and where a
 * transfer's response ends. A response is a stream of messages whose answer
 * sections, put end to end, are a sequence of records:
 *
 *   AXFR (RFC 5936 §2.2)      SOA(n) records... SOA(n)
 *   IXFR up to date (RFC 1995 §4)   SOA(n), n not newer than the client's
 *   IXFR incremental          SOA(n) { SOA(old) deleted... SOA(new) added... }... SOA(n)
 *   IXFR in AXFR form         as AXFR
 *
 * The second record tells the last two apart: an SOA with the client's
 * serial starts a difference sequence (as BIND's xfrin.c decides). Serials
 * compare in RFC 1982 arithmetic. */
#include <string.h>

#include "feature.h"
#include "xfr.h"

#define FLAG_QR 0x80 /* byte 2 */
#define FLAG_TC 0x02 /* byte 2 */

/* Where in the record sequence the next record falls. */
enum phase {
	PH_FIRST,     /* the first SOA */
	PH_FIRSTDATA, /* the second record: AXFR form or incremental */
	PH_AXFR,      /* zone records, until the closing SOA */
	PH_IXFR_DEL,  /* deletions, until the SOA of the new version */
	PH_IXFR_ADD,  /* additions, until the next old SOA or the closing SOA */
	PH_END,       /* complete: nothing may follow */
	PH_FAILED,    /* broken, or fed after the end */
};

/* The SERIAL of an SOA record: after MNAME and RNAME (compressed names
 * allowed), the first of five 32-bit fields that end the RDATA. */
static int
soa_serial(const uint8_t *msg, size_t len, const struct dns_rr *rr, uint32_t *serial)
{
	size_t end = (size_t)rr->rdata + rr->rdlen;
	int e = dns_name_end(msg, len, rr->rdata);

	if (e < 0 || (size_t)e > end)
		return -1;
	e = dns_name_end(msg, len, (size_t)e);
	if (e < 0 || (size_t)e + 20 != end)
		return -1;
	*serial = (uint32_t)dns_get16(msg + e) << 16 | dns_get16(msg + e + 2);
	return 0;
}

enum xfr_kind
xfr_classify(const uint8_t *query, size_t len, const struct dns_query_info *qi, uint32_t *serial)
{
	size_t off = qi->qend;
	unsigned an, ns;
	struct dns_rr rr;
	uint16_t qtype;

	if (qi->qend < DNS_HEADER_LEN + 5 || qi->qend > len)
		return XFR_NONE;
	qtype = dns_get16(query + qi->qend - 4);
	if (qtype == DNS_TYPE_AXFR)
		return XFR_AXFR;
	if (qtype != DNS_TYPE_IXFR)
		return XFR_NONE;
	/* RFC 1995 §3: the client's SOA is in the authority section. */
	an = dns_get16(query + 6);
	ns = dns_get16(query + 8);
	while (an-- > 0)
		if (dns_rr_next(query, len, &off, &rr) != 0)
			return XFR_BAD;
	while (ns-- > 0) {
		if (dns_rr_next(query, len, &off, &rr) != 0)
			return XFR_BAD;
		if (rr.type == DNS_TYPE_SOA)
			return soa_serial(query, len, &rr, serial) == 0 ? XFR_IXFR : XFR_BAD;
	}
	return XFR_BAD;
}

#if FEATURE_XFR

/* RFC 1982 §3.2: a is newer than b. */
static int
serial_gt(uint32_t a, uint32_t b)
{
	return a != b && (uint32_t)(a - b) < UINT32_C(0x80000000);
}

int
xfr_start(struct xfr_state *x, const uint8_t *query, size_t len, const struct dns_query_info *qi)
{
	uint32_t serial = 0;
	enum xfr_kind kind = xfr_classify(query, len, qi, &serial);

	memset(x, 0, sizeof(*x));
	if ((kind != XFR_AXFR && kind != XFR_IXFR) || qi->qend > sizeof(x->query))
		return -1;
	x->kind = (uint8_t)kind;
	x->phase = PH_FIRST;
	x->client_serial = serial;
	x->qend = qi->qend;
	memcpy(x->query, query, qi->qend);
	return 0;
}

/* One answer record through the sequence. Returns -1 when it cannot be
 * there. */
static int
step(struct xfr_state *x, const uint8_t *msg, size_t len, const struct dns_rr *rr)
{
	uint32_t serial = 0;
	int soa = rr->type == DNS_TYPE_SOA;

	if (soa && soa_serial(msg, len, rr, &serial) != 0)
		return -1;
	switch ((enum phase)x->phase) {
	case PH_FIRST:
		if (!soa)
			return -1;
		x->end_serial = serial;
		/* Not newer than the client's: the single SOA "up to date". */
		if (x->kind == XFR_IXFR && !serial_gt(serial, x->client_serial))
			x->phase = PH_END;
		else
			x->phase = PH_FIRSTDATA;
		return 0;
	case PH_FIRSTDATA:
		if (x->kind == XFR_IXFR && soa && serial == x->client_serial) {
			x->incremental = 1;
			x->cur_serial = serial;
			x->phase = PH_IXFR_DEL;
			return 0;
		}
		x->phase = PH_AXFR;
		/* This record is the zone's first: an AXFR-form record. */
		/* FALLTHROUGH */
	case PH_AXFR:
		if (soa) {
			if (serial != x->end_serial)
				return -1; /* the closing SOA is the opening one */
			x->phase = PH_END;
		}
		return 0;
	case PH_IXFR_DEL:
		if (soa) {
			x->cur_serial = serial;
			x->phase = PH_IXFR_ADD;
		}
		return 0;
	case PH_IXFR_ADD:
		if (!soa)
			return 0;
		if (serial == x->end_serial)
			x->phase = PH_END;
		else if (serial == x->cur_serial)
			x->phase = PH_IXFR_DEL; /* the next difference starts */
		else
			return -1; /* out of sequence */
		return 0;
	case PH_END:
	case PH_FAILED:
		break;
	}
	return -1;
}

enum xfr_step
xfr_feed(struct xfr_state *x, const uint8_t *msg, size_t len)
{
	uint16_t qend;
	unsigned an;
	size_t off;

	if (x->phase == PH_END || x->phase == PH_FAILED)
		goto fail;
	x->messages++;
	/* A response to a QUERY, whole: TC has no meaning on a stream. */
	if (len < DNS_HEADER_LEN || (msg[2] & FLAG_QR) == 0 || (msg[2] & 0x78) != 0 ||
	    (msg[2] & FLAG_TC) != 0 || dns_check_answer(msg, len, &qend) != 0)
		goto fail;
	/* The question may be left out after the first message; when it is
	 * there, it is the query's (RFC 5936 §2.2). */
	if (qend != 0 && !dns_question_match(x->query, x->qend, msg, len, qend))
		goto fail;
	if (dns_rcode(msg) != DNS_RCODE_NOERROR) {
		/* The server gave up (or refused): the client hears it so. */
		x->rcode = (uint8_t)dns_rcode(msg);
		x->phase = PH_END;
		return XFR_DONE;
	}
	an = dns_get16(msg + 6);
	if (an == 0 && x->phase == PH_FIRST)
		goto fail; /* NOERROR without the SOA that must open it */
	off = qend != 0 ? qend : DNS_HEADER_LEN;
	while (an-- > 0) {
		struct dns_rr rr;

		if (dns_rr_next(msg, len, &off, &rr) != 0 || step(x, msg, len, &rr) != 0)
			goto fail;
		x->records++;
	}
	return x->phase == PH_END ? XFR_DONE : XFR_MORE;
fail:
	x->phase = PH_FAILED;
	return XFR_ERROR;
}

enum xfr_step
xfr_relay(struct xfr_state *x, uint8_t *msg, size_t *len, uint16_t client_id)
{
	enum xfr_step st = xfr_feed(x, msg, *len);
	uint16_t qend;

	if (st == XFR_ERROR)
		return st;
	/* xfr_feed checked it; this only finds the end of the question. */
	if (dns_check_answer(msg, *len, &qend) != 0)
		return XFR_ERROR;
	*len = dns_strip_answer_opt(msg, *len, qend);
	dns_put16(msg, client_id);
	return st;
}

#else /* !FEATURE_XFR: a build without the relay (DTP_NO_XFR). conf.c
       * refuses --allow-transfer, so every transfer query is refused
       * (xfr_classify above still tells it from others) and none starts. */

int
xfr_start(struct xfr_state *x, const uint8_t *query, size_t len, const struct dns_query_info *qi)
{
	(void)query, (void)len, (void)qi;
	memset(x, 0, sizeof(*x));
	return -1;
}

enum xfr_step
xfr_feed(struct xfr_state *x, const uint8_t *msg, size_t len)
{
	(void)x, (void)msg, (void)len;
	return XFR_ERROR;
}


enum xfr_step
xfr_relay(struct xfr_state *x, uint8_t *msg, size_t *len, uint16_t client_id)
{
	(void)x, (void)msg, (void)len, (void)client_id;
	return XFR_ERROR;
}

#endif

/* Admission, flow and deadline: pure decisions, in every build (without the
 * relay, conf.c refuses --allow-transfer, so xfr_admit only ever refuses). */
struct xfr_counters xfr_counters;

enum xfr_admit
xfr_admit(enum xfr_kind kind, int over_udp, int allowed)
{
	if (kind == XFR_NONE)
		return XFR_ADMIT_QUERY;
	/* Refused first: a client outside the list learns nothing more, not
	 * even whether its query was well formed. */
	if (!allowed)
		return XFR_ADMIT_REFUSED;
	if (kind == XFR_BAD)
		return XFR_ADMIT_FORMERR;
	/* RFC 5936 §4.1: AXFR needs TCP. RFC 1995 §2 would let an IXFR answer
	 * come over UDP when it fits, but the upstream hears it over TLS and
	 * may answer in several messages, which one datagram cannot carry:
	 * TC, and the client asks again over TCP. */
	if (over_udp)
		return XFR_ADMIT_TC;
	return XFR_ADMIT_RELAY;
}

enum xfr_flow
xfr_flow(size_t queued, size_t cap)
{
	return queued <= cap && cap - queued >= 2 + (size_t)DNS_MSG_MAX ? XFR_FLOW_TAKE : XFR_FLOW_PAUSE;
}

uint64_t
xfr_deadline(uint64_t last_upstream_us, uint64_t last_client_us, int paused,
    unsigned transfer_idle_ms, unsigned client_idle_ms)
{
	uint64_t from;

	if (paused)
		return last_client_us + (uint64_t)client_idle_ms * 1000;
	from = last_upstream_us > last_client_us ? last_upstream_us : last_client_us;
	return from + (uint64_t)transfer_idle_ms * 1000;
}
