/* SPDX-License-Identifier: MIT */
/* BearSSL client configuration and the certificate verifier wrapper. The
 * wrapper forwards every call to br_x509_minimal and, on the side, keeps the
 * first (end-entity) certificate so that its SubjectPublicKeyInfo can be
 * hashed and compared with the pins once the chain has verified. */
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "port.h"
#include "tls.h"

/* ECDHE key exchange with AEAD ciphers only, TLS 1.2 (BearSSL has no 1.3).
 * Where the CPU has AES instructions, AES-GCM only: servers choose the
 * suite, and some prefer ChaCha20, which then costs a third more CPU per
 * query here (every TLS 1.2 server has AES-GCM). Elsewhere (most router
 * CPUs) ChaCha20 first, AES-GCM after.
 * The reduced build (DTP_TINY) keeps ChaCha20 only: every public DoT
 * resolver offers it, and AES without AES instructions is slow anyway. */
#if defined(DTP_TINY)
static const uint16_t suites_chacha_first[] = {
	BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
};
#else
static const uint16_t suites_chacha_first[] = {
	BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
};
static const uint16_t suites_aes[] = {
	BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
};
#endif

/* Days from 0000-01-01 (BearSSL's epoch for X.509 time) to 1970-01-01. */
#define UNIX_EPOCH_DAYS 719528

static struct tls_verifier *
verifier(const br_x509_class **ctx)
{
	return (struct tls_verifier *)(void *)ctx;
}

static const br_x509_class **
inner(struct tls_verifier *v)
{
	return &v->minimal.vtable;
}

static void
v_start_chain(const br_x509_class **ctx, const char *server_name)
{
	struct tls_verifier *v = verifier(ctx);

	v->certs = 0;
	v->ee_len = 0;
	v->ee_too_big = 0;
	v->chain_seen = 1;
	v->minimal.vtable->start_chain(inner(v), server_name);
}

static void
v_start_cert(const br_x509_class **ctx, uint32_t length)
{
	struct tls_verifier *v = verifier(ctx);

	v->certs++;
	if (v->certs == 1 && length > TLS_EE_MAX)
		v->ee_too_big = 1;
	v->minimal.vtable->start_cert(inner(v), length);
}

static void
v_append(const br_x509_class **ctx, const unsigned char *buf, size_t len)
{
	struct tls_verifier *v = verifier(ctx);

	if (v->certs == 1 && v->pins != NULL && !v->ee_too_big) {
		if (len > TLS_EE_MAX - v->ee_len) {
			v->ee_too_big = 1;
		} else {
			memcpy(v->ee + v->ee_len, buf, len);
			v->ee_len += len;
		}
	}
	v->minimal.vtable->append(inner(v), buf, len);
}

static void
v_end_cert(const br_x509_class **ctx)
{
	struct tls_verifier *v = verifier(ctx);

	v->minimal.vtable->end_cert(inner(v));
}

/* RFC 7858 §4.2: with pins, the key must match one of them, on top of the
 * chain and the name (which br_x509_minimal checked). */
static unsigned
v_end_chain(const br_x509_class **ctx)
{
	struct tls_verifier *v = verifier(ctx);
	unsigned err = v->minimal.vtable->end_chain(inner(v));
	const unsigned char *spki;
	unsigned char hash[32];
	br_sha256_context sha;
	size_t len, i;

	if (err != 0 || v->pins == NULL)
		return err;
	if (v->ee_too_big || tls_find_spki(v->ee, v->ee_len, &spki, &len) != 0)
		return TLS_ERR_PIN_MISMATCH;
	br_sha256_init(&sha);
	br_sha256_update(&sha, spki, len);
	br_sha256_out(&sha, hash);
	for (i = 0; i < v->npins; i++)
		if (memcmp(hash, v->pins[i].sha256, sizeof(hash)) == 0)
			return 0;
	return TLS_ERR_PIN_MISMATCH;
}

static const br_x509_pkey *
v_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
	const struct tls_verifier *v = (const struct tls_verifier *)(const void *)ctx;

	return v->minimal.vtable->get_pkey(&v->minimal.vtable, usages);
}

static const br_x509_class verifier_class = {
	sizeof(struct tls_verifier),
	v_start_chain, v_start_cert, v_append, v_end_cert, v_end_chain, v_get_pkey,
};

void
tls_init(struct tls_conn *t, unsigned char *in, size_t inlen,
    unsigned char *out, size_t outlen, const br_x509_trust_anchor *tas, size_t ntas)
{
	br_ssl_engine_context *eng = &t->sc.eng;
	/* SHA-256/384/512 for signatures and the PRF; no SHA-1 or SHA-224. */
	static const br_hash_class *const hashes[] = {
		&br_sha256_vtable, &br_sha384_vtable, &br_sha512_vtable,
	};
	const br_chacha20_run chacha = br_chacha20_sse2_get();
	const br_poly1305_run poly = br_poly1305_ctmulq_get();
	size_t i;

	br_ssl_client_zero(&t->sc);
	br_ssl_engine_set_versions(eng, BR_TLS12, BR_TLS12);
	/* A DNS connection never needs renegotiation; refuse it. */
	br_ssl_engine_add_flags(eng, BR_OPT_NO_RENEGOTIATION);
	/* Each primitive picked by hand rather than with BearSSL's defaults,
	 * which link every implementation: the fast one where the CPU has what
	 * it needs, else one portable constant-time one. The generic i31 code
	 * does every NIST curve (ECDHE on P-256, certificates on P-256/384/521)
	 * and RSA: slower than the specialised code, but it runs only in full
	 * handshakes, and resumption makes those rare. */
	br_ssl_engine_set_ec(eng, &br_ec_prime_i31);
	br_ssl_engine_set_rsavrfy(eng, &br_rsa_i31_pkcs1_vrfy);
	br_ssl_engine_set_ecdsa(eng, &br_ecdsa_i31_vrfy_asn1);
	br_ssl_engine_set_prf_sha256(eng, &br_tls12_sha256_prf);
	br_ssl_engine_set_chapol(eng, &br_sslrec_in_chapol_vtable, &br_sslrec_out_chapol_vtable);
	br_ssl_engine_set_chacha20(eng, chacha != 0 ? chacha : &br_chacha20_ct_run);
	br_ssl_engine_set_poly1305(eng, poly != 0 ? poly : &br_poly1305_ctmul_run);
#if defined(DTP_TINY)
	br_ssl_engine_set_suites(eng, suites_chacha_first,
	    sizeof(suites_chacha_first) / sizeof(suites_chacha_first[0]));
#else
	{
		const br_block_ctr_class *aes_ni = br_aes_x86ni_ctr_get_vtable();
		const br_ghash clmul = br_ghash_pclmul_get();

		if (aes_ni != NULL)
			br_ssl_engine_set_suites(eng, suites_aes,
			    sizeof(suites_aes) / sizeof(suites_aes[0]));
		else
			br_ssl_engine_set_suites(eng, suites_chacha_first,
			    sizeof(suites_chacha_first) / sizeof(suites_chacha_first[0]));
		br_ssl_engine_set_prf_sha384(eng, &br_tls12_sha384_prf);
		br_ssl_engine_set_gcm(eng, &br_sslrec_in_gcm_vtable, &br_sslrec_out_gcm_vtable);
		br_ssl_engine_set_aes_ctr(eng, aes_ni != NULL ? aes_ni : &br_aes_ct_ctr_vtable);
		br_ssl_engine_set_ghash(eng, clmul != 0 ? clmul : &br_ghash_ctmul);
	}
#endif

	br_x509_minimal_init(&t->v.minimal, &br_sha256_vtable, tas, ntas);
	for (i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++) {
		int id = (int)((hashes[i]->desc >> BR_HASHDESC_ID_OFF) & BR_HASHDESC_ID_MASK);
		br_ssl_engine_set_hash(eng, id, hashes[i]);
		br_x509_minimal_set_hash(&t->v.minimal, id, hashes[i]);
	}
	br_x509_minimal_set_rsa(&t->v.minimal, br_ssl_engine_get_rsavrfy(eng));
	br_x509_minimal_set_ecdsa(&t->v.minimal, br_ssl_engine_get_ec(eng),
	    br_ssl_engine_get_ecdsa(eng));
	t->v.vtable = &verifier_class;
	br_ssl_engine_set_x509(eng, &t->v.vtable);
	br_ssl_engine_set_buffers_bidi(eng, in, inlen, out, outlen);
}

/* The time certificates are checked against: the system clock, but never
 * earlier than the build (a router booting at 1970 needs DNS to reach NTP). */
static void
set_validation_time(struct tls_verifier *v)
{
	int64_t now = (int64_t)time(NULL);

	if (now < clock_build_time) {
		static int floor_logged;

		if (!floor_logged) {
			log_warnx("tls: the system clock is before the build time; checking "
			    "certificates against the build time (%lld) until it is set",
			    (long long)clock_build_time);
			floor_logged = 1;
		}
		now = clock_build_time;
	}
	br_x509_minimal_set_time(&v->minimal, (uint32_t)(now / 86400 + UNIX_EPOCH_DAYS),
	    (uint32_t)(now % 86400));
}

int
tls_start(struct tls_conn *t, const char *name, const struct tls_pin *pins,
    size_t npins, const br_ssl_session_parameters *session)
{
	unsigned char seed[32];

	if (port_entropy(seed, sizeof(seed)) == 0)
		br_ssl_engine_inject_entropy(&t->sc.eng, seed, sizeof(seed));
	t->v.pins = npins > 0 ? pins : NULL;
	t->v.npins = npins;
	t->v.chain_seen = 0;
	set_validation_time(&t->v);
	if (session != NULL)
		br_ssl_engine_set_session_parameters(&t->sc.eng, session);
	return br_ssl_client_reset(&t->sc, name, session != NULL) ? 0 : -1;
}

int
tls_resumed(const struct tls_conn *t)
{
	return !t->v.chain_seen;
}

const char *
tls_error_name(int err)
{
	static const struct { int code; const char *name; } names[] = {
		{ BR_ERR_BAD_PARAM, "bad parameter" },
		{ BR_ERR_UNSUPPORTED_VERSION, "server does not do TLS 1.2" },
		{ BR_ERR_BAD_VERSION, "bad protocol version" },
		{ BR_ERR_BAD_MAC, "bad record MAC" },
		{ BR_ERR_NO_RANDOM, "no entropy" },
		{ BR_ERR_UNEXPECTED, "unexpected message" },
		{ BR_ERR_BAD_HANDSHAKE, "bad handshake message" },
		{ BR_ERR_BAD_CIPHER_SUITE, "no common ECDHE+AEAD cipher suite" },
		{ BR_ERR_BAD_SIGNATURE, "bad server key exchange signature" },
		{ BR_ERR_IO, "I/O error" },
		{ BR_ERR_X509_EXPIRED, "certificate expired or not yet valid" },
		{ BR_ERR_X509_BAD_SERVER_NAME, "certificate does not match the name" },
		{ BR_ERR_X509_NOT_TRUSTED, "certificate chain not trusted" },
		{ BR_ERR_X509_NOT_CA, "issuer is not a CA" },
		{ BR_ERR_X509_BAD_SIGNATURE, "bad certificate signature" },
		{ BR_ERR_X509_WEAK_PUBLIC_KEY, "weak public key" },
		{ BR_ERR_X509_UNSUPPORTED, "unsupported certificate feature" },
		{ BR_ERR_X509_CRITICAL_EXTENSION, "unknown critical extension" },
		{ BR_ERR_X509_FORBIDDEN_KEY_USAGE, "key usage forbids TLS server" },
		{ BR_ERR_X509_EMPTY_CHAIN, "empty certificate chain" },
		{ BR_ERR_X509_TIME_UNKNOWN, "no time to check validity against" },
		{ TLS_ERR_PIN_MISMATCH, "public key matches no pin" },
	};
	size_t i;

	if (err >= BR_ERR_SEND_FATAL_ALERT)
		return "sent fatal alert";
	if (err >= BR_ERR_RECV_FATAL_ALERT)
		return "server sent fatal alert";
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].code == err)
			return names[i].name;
	return tls_is_auth_error(err) ? "certificate error" : "TLS error";
}

int
tls_is_auth_error(int err)
{
	return err > BR_ERR_X509_OK && err < 64;
}

/* One DER element at *p (tag and length), bounded by end: sets *content and
 * *clen, returns the end of the element, or NULL when it runs past end. */
static const unsigned char *
der_element(const unsigned char *p, const unsigned char *end, unsigned char *tag,
    const unsigned char **content, size_t *clen)
{
	size_t len;

	if (end - p < 2)
		return NULL;
	*tag = *p++;
	len = *p++;
	if (len & 0x80) {
		size_t n = len & 0x7f;

		if (n == 0 || n > 3 || (size_t)(end - p) < n)
			return NULL;
		for (len = 0; n > 0; n--)
			len = len << 8 | *p++;
	}
	if ((size_t)(end - p) < len)
		return NULL;
	*content = p;
	*clen = len;
	return p + len;
}

int
tls_find_spki(const unsigned char *der, size_t derlen, const unsigned char **spki, size_t *len)
{
	const unsigned char *end = der + derlen, *c, *tbs_end, *p, *start;
	unsigned char tag;
	size_t clen;
	int i;

	/* Certificate ::= SEQUENCE { tbsCertificate, ... } */
	if (der_element(der, end, &tag, &c, &clen) == NULL || tag != 0x30)
		return -1;
	if (der_element(c, c + clen, &tag, &p, &clen) == NULL || tag != 0x30)
		return -1;
	tbs_end = p + clen;
	/* TBSCertificate: [0] version (optional), serialNumber, signature,
	 * issuer, validity, subject, subjectPublicKeyInfo, ... */
	if (p < tbs_end && *p == 0xa0 && (p = der_element(p, tbs_end, &tag, &c, &clen)) == NULL)
		return -1;
	for (i = 0; i < 5; i++)
		if ((p = der_element(p, tbs_end, &tag, &c, &clen)) == NULL)
			return -1;
	start = p;
	if ((p = der_element(p, tbs_end, &tag, &c, &clen)) == NULL || tag != 0x30)
		return -1;
	*spki = start;
	*len = (size_t)(p - start);
	return 0;
}

static int
b64_value(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

int
tls_parse_pin(const char *text, struct tls_pin *pin)
{
	const char *p;
	unsigned char out[33];
	size_t n = 0;
	unsigned bits = 0, acc = 0;

	if (strncmp(text, "sha256/", 7) != 0)
		return -1;
	/* 32 bytes are 43 base64 characters and one '=' of padding. */
	p = text + 7;
	if (strlen(p) != 44 || p[43] != '=')
		return -1;
	for (; *p != '\0' && *p != '='; p++) {
		int v = b64_value(*p);

		if (v < 0 || n >= sizeof(out))
			return -1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	/* The two bits left over must be zero in canonical base64. */
	if (n != 32 || (acc & ((1u << bits) - 1)) != 0)
		return -1;
	memcpy(pin->sha256, out, 32);
	return 0;
}
