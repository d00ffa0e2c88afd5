/* SPDX-License-Identifier: MIT */
/* TLS client set-up for one upstream connection: BearSSL's client engine
 * restricted to TLS 1.2 with ECDHE and AEAD suites, and a certificate
 * verifier that wraps BearSSL's minimal X.509 engine to add SPKI pinning
 * (RFC 7858 §4.2), validity dates judged by clock.c while the system clock
 * is below the clock floor, failures explained, and a way to tell a
 * resumed session from a full handshake. */
#ifndef TLS_H
#define TLS_H

#include <stddef.h>
#include <stdint.h>

#include <bearssl.h>

#include "clock.h"

/* Error code for "the chain and name verified, but the key matches no pin"
 * (in the X.509 error range, which BearSSL leaves unused at 63). */
#define TLS_ERR_PIN_MISMATCH 63
/* End-entity certificates are kept for pinning up to this size; real ones
 * are 1-3 KiB. A larger one fails a pinned connection rather than pass. */
#define TLS_EE_MAX 8192
/* Bytes of each certificate held back from BearSSL until its validity has
 * been read (tls.c): before it come a version, a serial number, an
 * algorithm and the issuer's name, a few hundred bytes in real
 * certificates. A certificate whose validity lies further is refused while
 * the clock is below the floor (its dates unknown), and passes as before
 * otherwise. */
#define TLS_HEAD_MAX 1024
/* The issuer name of the last certificate the server sent, kept to name it
 * when the chain is not trusted; a longer one is not named. */
#define TLS_ISSUER_MAX 512

struct tls_pin {
	unsigned char sha256[32]; /* SHA-256 of the SubjectPublicKeyInfo DER */
};

/* The verifier: the engine calls it through vtable, which must come first. */
struct tls_verifier {
	const br_x509_class *vtable;
	br_x509_minimal_context minimal;
	const char *name;           /* the server name, for log lines */
	const struct tls_pin *pins; /* NULL: no pinning for this server */
	size_t npins;
	int64_t now;                /* the system clock when the handshake began */
	int64_t build, saved;       /* the clock floors then (clock.h) */
	int untrusted;              /* now is below a floor */
	/* Over the certificates BearSSL checks (up to the one a trust anchor
	 * signed): the latest notBefore and the earliest notAfter. */
	int64_t newest_nb, oldest_na;
	int dates_unknown;          /* one of them had a validity not read */
	struct clock_verdict verdict; /* the dates' judgement, clock untrusted */
	struct clock_verdict warned;  /* the last one logged by this connection */
	unsigned certs;             /* certificates seen in the current chain */
	int in_path;                /* BearSSL checks the current certificate */
	int head_done;              /* its validity was read, or cannot be */
	size_t head_len;            /* bytes of it held back in head */
	size_t issuer_len;          /* 0: the last certificate's issuer unknown */
	size_t ee_len;              /* bytes of the end-entity certificate kept */
	int ee_too_big;
	int chain_seen;             /* a chain was verified: a full handshake */
	unsigned char head[TLS_HEAD_MAX];
	unsigned char issuer[TLS_ISSUER_MAX]; /* DER of the last one's issuer */
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

/* The verifier alone, for tests with a fake clock: verify the next chain
 * for name against the anchors given to tls_verifier_init, with the system
 * clock at now and the floors at build and saved (clock.h). tls_start
 * calls it with the real clock and floors. */
void tls_verifier_init(struct tls_verifier *v, const br_x509_trust_anchor *tas, size_t ntas);
void tls_verifier_prepare(struct tls_verifier *v, const char *name, int64_t now, int64_t build,
    int64_t saved);

/* After the handshake: was it a resumed session (no certificate chain)? */
int tls_resumed(const struct tls_conn *t);

/* Text for a BearSSL or verifier error code, and whether it is an
 * authentication failure (certificate, name or pin) rather than a network
 * or protocol one. */
const char *tls_error_name(int err);
int tls_is_auth_error(int err);

/* The error of a failed handshake on t, explained for a person: what went
 * wrong and, where it can, what to do (the issuer of an untrusted chain,
 * the dates of an expired one, TLS 1.2 for a server that refused it).
 * Points to a buffer that the next call overwrites. */
const char *tls_failure(const struct tls_verifier *v, int err);

/* Names for the log: "TLS1.2", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256". */
const char *tls_version_name(unsigned version);
const char *tls_suite_name(unsigned suite);

/* "sha256/BASE64" (as `openssl ... | base64` prints it) to 32 bytes.
 * Returns 0, or -1 when it is not a base64 SHA-256. */
int tls_parse_pin(const char *text, struct tls_pin *pin);

#endif
