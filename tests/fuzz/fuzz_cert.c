/* SPDX-License-Identifier: MIT */
/* Fuzz target: certificates as a server sends them. The first byte picks
 * the piece size the verifier is fed in and whether the system clock is
 * below the floor (bit 7); the rest is up to four certificates, each with
 * a two-byte length as in a TLS Certificate message. Each certificate's
 * head, SubjectPublicKeyInfo, version and issuer name are read (x509.c)
 * and checked for consistency; then the chain goes through the verifier
 * wrapper and BearSSL (tls.c) against the compiled-in roots, and the
 * failure, if any, is explained. (The DN brief and full formatters also
 * read every issuer name.) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ca_bundle.h"
#include "log.h"
#include "tls.h"
#include "x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_CERTS 4

/* The head read from every length agrees with the head read from all. */
static void
check_cert(const uint8_t *der, size_t len)
{
	struct x509_head h, p;
	const unsigned char *spki;
	size_t slen;
	char dn[256];

	if (x509_read_head(der, len, &h) == X509_HEAD_OK) {
		if (h.end > len || h.issuer < der || h.issuer_len == 0 ||
		    h.issuer + h.issuer_len > der + h.end || h.tbs_end < h.end)
			abort();
		if (x509_read_head(der, h.end, &p) != X509_HEAD_OK || p.end != h.end ||
		    p.not_before != h.not_before || p.not_after != h.not_after ||
		    p.issuer != h.issuer || p.issuer_len != h.issuer_len)
			abort();
		if (x509_read_head(der, h.end - 1, &p) != X509_HEAD_SHORT)
			abort();
		x509_dn_format(h.issuer, h.issuer_len, dn, sizeof(dn));
		if (strlen(dn) >= sizeof(dn))
			abort();
		x509_dn_brief(h.issuer, h.issuer_len, dn, sizeof(dn));
		if (strlen(dn) >= sizeof(dn))
			abort();
	}
	if (x509_find_spki(der, len, &spki, &slen) == 0 &&
	    (spki < der || slen == 0 || slen > len || spki + slen > der + len))
		abort();
	(void)x509_cert_version(der, len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tls_verifier v;
	static int ready;
	const br_x509_class **x = &v.vtable;
	const uint8_t *certs[MAX_CERTS];
	size_t lens[MAX_CERTS], n = 0, off, i, piece;
	unsigned err;
	/* 2026-01-01, and the system clock at 2030-01-01 or 1970-01-02. */
	const int64_t build = 1767225600;

	if (size < 1)
		return 0;
	if (!ready) {
		log_level = LOG_LEVEL_ERROR;
		tls_verifier_init(&v, ca_bundle, ca_bundle_count);
		ready = 1;
	}
	piece = (size_t)(data[0] & 0x7f) + 1;
	for (off = 1; n < MAX_CERTS && size - off >= 2; n++) {
		size_t len = (size_t)data[off] << 8 | data[off + 1];

		off += 2;
		if (len > size - off)
			len = size - off;
		certs[n] = data + off;
		lens[n] = len;
		off += len;
		check_cert(certs[n], lens[n]);
	}
	tls_verifier_prepare(&v, "dot.test", data[0] & 0x80 ? 86400 : 1893456000, build, 0);
	(*x)->start_chain(x, "dot.test");
	for (i = 0; i < n; i++) {
		(*x)->start_cert(x, (uint32_t)lens[i]);
		for (off = 0; off < lens[i]; off += piece)
			(*x)->append(x, certs[i] + off, piece < lens[i] - off ? piece : lens[i] - off);
		(*x)->end_cert(x);
	}
	err = (*x)->end_chain(x);
	if (err != 0 && strlen(tls_failure(&v, (int)err)) == 0)
		abort();
	return 0;
}
