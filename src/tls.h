/* SPDX-License-Identifier: MIT */
/* TLS client set-up for one upstream connection: BearSSL's client engine
 * restricted to TLS 1.2 with ECDHE and AEAD suites, and a certificate
 * verifier that wraps BearSSL's minimal X.509 engine to add SPKI pinning
 * (RFC 7858 §4.2), a clock that never goes below the build time, and a
 * way to tell a resumed session from a full handshake. */
#ifndef TLS_H
#define TLS_H

#include <stddef.h>
#include <stdint.h>

#include <bearssl.h>

/* Error code for "the chain and name verified, but the key matches no pin"
 * (in the X.509 error range, which BearSSL leaves unused at 63). */
#define TLS_ERR_PIN_MISMATCH 63
/* End-entity certificates are kept for pinning up to this size; real ones
 * are 1-3 KiB. A larger one fails a pinned connection rather than pass. */
#define TLS_EE_MAX 8192

struct tls_pin {
	unsigned char sha256[32]; /* SHA-256 of the SubjectPublicKeyInfo DER */
};

/* The verifier: the engine calls it through vtable, which must come first. */
struct tls_verifier {
	const br_x509_class *vtable;
	br_x509_minimal_context minimal;
	const struct tls_pin *pins; /* NULL: no pinning for this server */
	size_t npins;
	unsigned certs;             /* certificates seen in the current chain */
	size_t ee_len;              /* bytes of the end-entity certificate kept */
	int ee_too_big;
	int chain_seen;             /* a chain was verified: a full handshake */
	unsigned char ee[TLS_EE_MAX];
};

struct tls_conn {
	br_ssl_client_context sc;
	struct tls_verifier v;
};

/* Input buffer: a whole record. Output: records of at most TLS_OUT_PAYLOAD
 * bytes, which BearSSL allows (it only limits what it sends). */
#define TLS_IN_SIZE BR_SSL_BUFSIZE_INPUT
#define TLS_OUT_SIZE(payload) ((payload) + 85)

/* Once per connection slot at start-up: engine parameters and buffers. */
void tls_init(struct tls_conn *t, unsigned char *in, size_t inlen,
    unsigned char *out, size_t outlen, const br_x509_trust_anchor *tas, size_t ntas);

/* Start a handshake with server name (SNI and certificate name), checking
 * the key against pins (NULL when none), resuming *session when not NULL.
 * Returns 0, or -1 with the engine's error set. */
int tls_start(struct tls_conn *t, const char *name, const struct tls_pin *pins,
    size_t npins, const br_ssl_session_parameters *session);

/* After the handshake: was it a resumed session (no certificate chain)? */
int tls_resumed(const struct tls_conn *t);

/* Text for a BearSSL or verifier error code, and whether it is an
 * authentication failure (certificate, name or pin) rather than a network
 * or protocol one. */
const char *tls_error_name(int err);
int tls_is_auth_error(int err);

/* The SubjectPublicKeyInfo inside a DER certificate: sets *spki and *len
 * and returns 0, or -1 when the certificate does not parse. Exposed for
 * tests. */
int tls_find_spki(const unsigned char *der, size_t derlen,
    const unsigned char **spki, size_t *len);

/* "sha256/BASE64" (as `openssl ... | base64` prints it) to 32 bytes.
 * Returns 0, or -1 when it is not a base64 SHA-256. */
int tls_parse_pin(const char *text, struct tls_pin *pin);

#endif
