/* SPDX-License-Identifier: MIT */
/* Fuzz target: a client's message, as the UDP and TCP listeners see it.
 * Checks dns_check_query's verdict is consistent with what it reports, and
 * that every reply the proxy could make from it (error, truncated answer)
 * is a well-formed response. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "bounds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_query_info qi;
	static uint8_t out[DNS_QUERY_ROOM + 64];
	enum dns_verdict v = dns_check_query(data, size, &qi);
	uint16_t qend;
	size_t n;
	enum dns_why why;

	if (v == DNS_DROP)
		return 0;
	if (qi.qend > size || (qi.opt_off != 0 && qi.opt_off >= size) || qi.udp_size < 512)
		abort();
	/* Every reason, at the client's size and at the query's own length
	 * (what a client outside --allow gets): never over the cap, always a
	 * response with the query's ID, RD and CD. */
	for (why = DNS_WHY_NONE; why <= DNS_WHY_SHUTDOWN; why++) {
		size_t cap = why == DNS_WHY_DENIED ? size : qi.udp_size;

		if (cap > sizeof(out))
			cap = sizeof(out);
		n = dns_make_error(out, cap, data, size, &qi,
		    v == DNS_FORWARD ? DNS_RCODE_SERVFAIL : DNS_RCODE_FORMERR, why);
		if (n > cap || (why != DNS_WHY_DENIED && qi.qend <= DNS_QUERY_ROOM && n == 0))
			abort();
		if (n > 0 && (dns_check_answer(out, n, &qend) != 0 || dns_get16(out) != qi.id ||
		    (out[2] & 0x01) != (data[2] & 0x01) || (out[3] & 0x10) != (data[3] & 0x10)))
			abort();
	}
	n = dns_make_tc(out, sizeof(out), data, size, &qi);
	if (n > 0 && (dns_check_answer(out, n, &qend) != 0 || (out[2] & 0x02) == 0))
		abort();
	if (v == DNS_FORWARD) {
		/* The query is its own question's match, and truncating a
		 * response built from it gives a response. */
		uint8_t *copy = malloc(size);

		if (copy == NULL)
			return 0;
		memcpy(copy, data, size);
		copy[2] |= 0x80;
		if (dns_check_answer(copy, size, &qend) != 0 || qend != qi.qend ||
		    !dns_question_match(data, qi.qend, copy, size, qend))
			abort();
		n = dns_truncate(out, sizeof(out), copy, size, qend, qi.has_edns);
		if (n == 0 || dns_check_answer(out, n, &qend) != 0 || (out[2] & 0x02) == 0)
			abort();
		free(copy);
		/* Padding keeps it a well-formed query with the same question,
		 * a multiple of 128 bytes long; when it cannot pad, the query
		 * is left exactly as it was. */
		if (qi.has_edns && size <= DNS_QUERY_MAX) {
			static uint8_t padded[DNS_QUERY_ROOM];
			struct dns_query_info pi;

			memcpy(padded, data, size);
			n = dns_pad_query(padded, size, sizeof(padded), qi.opt_off);
			if (n != 0 && (n % DNS_PAD_BLOCK != 0 ||
			    dns_check_query(padded, n, &pi) != DNS_FORWARD || pi.qend != qi.qend ||
			    memcmp(padded, data, qi.qend) != 0 || pi.udp_size != qi.udp_size))
				abort();
			if (n == 0 && memcmp(padded, data, size) != 0)
				abort();
		}
	}
	return 0;
}
