/* SPDX-License-Identifier: MIT */
/* Trust anchors from root certificates: PEM/DER decoding into BearSSL
 * br_x509_trust_anchor (for --ca-file at start-up) and C emission of an
 * anchor table (for the compiled-in bundle, see ca_gen.c). Everything here
 * allocates and is meant for start-up or build time, never the query path. */
#ifndef CA_H
#define CA_H

#include <stddef.h>
#include <stdio.h>

#include <bearssl.h>

/*
 * Decode one DER certificate into *ta. The DN and key bytes are copied to
 * the heap (release with ca_free). Flags: BR_X509_TA_CA if the certificate
 * says it is a CA (basicConstraints cA) or is a v1/v2 certificate, which
 * cannot carry that extension and is a CA only by out-of-band trust
 * (RFC 5280 6.1.4 (k)): being listed as a root is that trust. A v3
 * certificate without cA gets flags 0, which BearSSL treats as "direct
 * trust": it accepts a server whose own certificate has exactly this
 * subject DN and key, and never lets that key sign other certificates.
 * Returns 0, or -1 with a one-line reason in err (ta left zeroed).
 */
int ca_decode_cert(const unsigned char *der, size_t len,
    br_x509_trust_anchor *ta, char *err, size_t errlen);

/*
 * Decode every CERTIFICATE (or X509 CERTIFICATE) object in a PEM buffer
 * and append the anchors to the heap array *tas of *count entries (start
 * with NULL and 0). Other PEM objects are skipped. Malformed PEM or DER,
 * a truncated object, or no certificate at all is an error naming the
 * certificate (1-based index) and its BEGIN line. On error, anchors added
 * by this call are released and *count is restored, so the caller can
 * always ca_free(*tas, *count).
 */
int ca_load_pem(const unsigned char *pem, size_t len,
    br_x509_trust_anchor **tas, size_t *count, char *err, size_t errlen);

/* Read a PEM file and ca_load_pem it; errors start with the path. */
int ca_load_file(const char *path, br_x509_trust_anchor **tas,
    size_t *count, char *err, size_t errlen);

/* Release anchors made by this module and the array itself. */
void ca_free(br_x509_trust_anchor *tas, size_t count);

/*
 * Write C source defining `const br_x509_trust_anchor SYMBOL[]` and
 * `const size_t SYMBOL_count`. The output depends only on the arguments
 * (no dates), so the same input gives byte-identical output. source is
 * free text for the header comment (where the anchors came from; newlines
 * start new comment lines), or NULL. Returns 0, or -1 with errno set:
 * EINVAL if SYMBOL is not a C identifier or count is 0, otherwise the
 * write error.
 */
int ca_emit_c(FILE *out, const br_x509_trust_anchor *tas, size_t count,
    const char *symbol, const char *source);

#endif
