/* SPDX-License-Identifier: MIT */
/* Fuzz target: zone transfers. The first byte picks the mode:
 *   bit 1 clear: a transfer's response. Bit 0 picks AXFR or IXFR, the next
 *     four bytes are the client's serial (IXFR), the rest is a stream of
 *     messages, each a two-byte length and its bytes, fed to xfr_relay
 *     (xfr_feed, then the hop's EDNS stripped and the client's ID put) in
 *     order. Each message is copied to a buffer of its exact size, so a read
 *     past its end is caught.
 *   bit 1 set: the rest is a client's query, for xfr_classify.
 * Checks: verdicts in range, ERROR for good once the transfer has ended,
 * a relayed message no longer and with the client's ID, a broken one
 * untouched, counters that add up, and classify agreeing with xfr_start. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "feature.h"
#include "xfr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* "zone.test" AXFR, or IXFR with an SOA in the authority section whose
 * serial is patched in. */
static const uint8_t axfr_query[] = {
	0x5a, 0x5a, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	4, 'z', 'o', 'n', 'e', 4, 't', 'e', 's', 't', 0, 0x00, 252, 0x00, 0x01,
};
static const uint8_t ixfr_query[] = {
	0x5a, 0x5a, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
	4, 'z', 'o', 'n', 'e', 4, 't', 'e', 's', 't', 0, 0x00, 251, 0x00, 0x01,
	0xc0, 0x0c, 0x00, 0x06, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x16,
	0, 0,                                     /* MNAME, RNAME: the root */
	0, 0, 0, 0,                               /* SERIAL, patched */
	0, 0, 0x1c, 0x20, 0, 0, 0x03, 0x84, 0, 0x12, 0x75, 0x00, 0, 0, 0x01, 0x2c,
};
#define IXFR_SERIAL_AT 41

static void
classify(const uint8_t *data, size_t size)
{
	struct dns_query_info qi;
	struct xfr_state x;
	uint32_t serial = 0;
	enum xfr_kind kind;
	int started;

	if (dns_check_query(data, size, &qi) != DNS_FORWARD)
		return;
	kind = xfr_classify(data, size, &qi, &serial);
	if (kind != XFR_NONE && kind != XFR_AXFR && kind != XFR_IXFR && kind != XFR_BAD)
		abort();
	started = xfr_start(&x, data, size, &qi) == 0;
	if (started != (kind == XFR_AXFR || kind == XFR_IXFR))
		abort();
	if (started && (x.kind != kind || (kind == XFR_IXFR && x.client_serial != serial) ||
	    memcmp(x.query, data, qi.qend) != 0))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t query[sizeof(ixfr_query)];
	struct dns_query_info qi;
	struct xfr_state x;
	size_t qlen, off;
	int ended = 0;
	uint32_t fed = 0, answers = 0;

	if (!FEATURE_XFR) /* a build without it (src/feature.h): nothing to try */
		return 0;

	if (size < 1)
		return 0;
	if (data[0] & 2) {
		classify(data + 1, size - 1);
		return 0;
	}
	if (size < 5)
		return 0;
	if (data[0] & 1) {
		memcpy(query, ixfr_query, sizeof(ixfr_query));
		memcpy(query + IXFR_SERIAL_AT, data + 1, 4);
		qlen = sizeof(ixfr_query);
	} else {
		memcpy(query, axfr_query, sizeof(axfr_query));
		qlen = sizeof(axfr_query);
	}
	if (dns_check_query(query, qlen, &qi) != DNS_FORWARD || xfr_start(&x, query, qlen, &qi) != 0)
		abort();
	for (off = 5; off + 2 <= size;) {
		size_t len = (size_t)data[off] << 8 | data[off + 1], rlen;
		uint8_t *msg;
		enum xfr_step step;

		off += 2;
		if (len > size - off)
			len = size - off;
		if ((msg = malloc(len + 1)) == NULL)
			return 0;
		memcpy(msg, data + off, len);
		off += len;
		rlen = len;
		step = xfr_relay(&x, msg, &rlen, 0xbeef);
		/* Relayed: no longer, with the client's ID; broken: untouched. */
		if (rlen > len || (step == XFR_ERROR && (rlen != len || memcmp(msg, data + off - len, len) != 0)) ||
		    (step != XFR_ERROR && (msg[0] != 0xbe || msg[1] != 0xef)))
			abort();
		free(msg);
		if (step != XFR_MORE && step != XFR_DONE && step != XFR_ERROR)
			abort();
		if (ended) {
			/* Nothing after the end belongs to the transfer, and the
			 * state does not move. */
			if (step != XFR_ERROR || x.messages != fed)
				abort();
			continue;
		}
		fed++;
		if (len >= 12)
			answers += (uint32_t)data[off - len + 6] << 8 | data[off - len + 7];
		if (x.messages != fed || x.records > answers)
			abort();
		if (step == XFR_DONE && x.rcode == 0 && x.records == 0)
			abort(); /* complete without a single record */
		if (step != XFR_MORE)
			ended = 1;
	}
	return 0;
}
