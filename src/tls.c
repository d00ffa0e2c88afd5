/* SPDX-License-Identifier: MIT */
/* BearSSL client configuration and the certificate verifier wrapper. The
 * wrapper forwards every call to br_x509_minimal and, on the side, keeps the
 * first (end-entity) certificate so that its SubjectPublicKeyInfo can be
 * hashed and compared with the pins once the chain has verified, and reads
 * each certificate's validity: while the system clock is below the clock
 * floor, BearSSL 0.6 (no time callback) is given, for each certificate, a
 * time inside its own validity, and the chain's dates are then judged
 * together by clock_judge. Name, signatures, path and pins are BearSSL's
 * and the pins' as ever. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "port.h"
#include "tls.h"
#include "x509.h"

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

/* What the clock_basis values mean, for log lines. */
static const char *const basis_names[] = {
	"the system clock", "the build time", "the last trusted time (--time-file)",
	"the newest notBefore in the chain",
};

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
set_time(struct tls_verifier *v, int64_t t)
{
	int64_t days = (t >= 0 ? t : t - 86399) / 86400;

	br_x509_minimal_set_time(&v->minimal, (uint32_t)(days + UNIX_EPOCH_DAYS),
	    (uint32_t)(t - days * 86400));
}

static void
v_start_chain(const br_x509_class **ctx, const char *server_name)
{
	struct tls_verifier *v = verifier(ctx);

	v->certs = 0;
	v->ee_len = 0;
	v->ee_too_big = 0;
	v->chain_seen = 1;
	v->newest_nb = INT64_MIN;
	v->oldest_na = INT64_MAX;
	v->dates_unknown = 0;
	v->issuer_len = 0;
	v->minimal.vtable->start_chain(inner(v), server_name);
}

static void
v_start_cert(const br_x509_class **ctx, uint32_t length)
{
	struct tls_verifier *v = verifier(ctx);

	v->certs++;
	if (v->certs == 1 && length > TLS_EE_MAX)
		v->ee_too_big = 1;
	/* BearSSL stops at the first certificate a trust anchor signed and
	 * ignores the rest (a server may send its root, or an expired cross
	 * certificate): those do not count. Its state is private, but this
	 * field of BearSSL 0.6's context is the one that says so. */
	v->in_path = v->minimal.err == 0;
	v->head_len = 0;
	v->head_done = 0;
	v->minimal.vtable->start_cert(inner(v), length);
}

/* The head of a certificate is in (or cannot be read): note its issuer
 * and dates and, with the clock untrusted, let BearSSL check the dates at a
 * time they pass (the chain's dates are judged together at the end). */
static void
head_read(struct tls_verifier *v, const struct x509_head *h)
{
	if (h != NULL && h->issuer_len <= sizeof(v->issuer)) {
		memcpy(v->issuer, h->issuer, h->issuer_len);
		v->issuer_len = h->issuer_len;
	} else {
		v->issuer_len = 0;
	}
	if (!v->in_path)
		return;
	if (h == NULL) {
		v->dates_unknown = 1;
	} else {
		if (h->not_before > v->newest_nb)
			v->newest_nb = h->not_before;
		if (h->not_after < v->oldest_na)
			v->oldest_na = h->not_after;
	}
	/* notAfter rather than notBefore: 0000-01-01T00:00:00 reads as "no
	 * time set" to BearSSL (it then takes time()), and a notAfter that early
	 * fails clock_judge anyway. */
	if (v->untrusted)
		set_time(v, h != NULL ? h->not_after : v->build);
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
	/* Hold the certificate's first bytes back until its validity is read:
	 * BearSSL checks the dates as soon as it has them. */
	if (!v->head_done) {
		size_t take = len < TLS_HEAD_MAX - v->head_len ? len : TLS_HEAD_MAX - v->head_len;
		struct x509_head h;
		enum x509_head_result r;

		memcpy(v->head + v->head_len, buf, take);
		v->head_len += take;
		buf += take;
		len -= take;
		r = x509_read_head(v->head, v->head_len, &h);
		if (r == X509_HEAD_SHORT && v->head_len < TLS_HEAD_MAX)
			return;
		v->head_done = 1;
		head_read(v, r == X509_HEAD_OK ? &h : NULL);
		v->minimal.vtable->append(inner(v), v->head, v->head_len);
	}
	if (len > 0)
		v->minimal.vtable->append(inner(v), buf, len);
}

static void
v_end_cert(const br_x509_class **ctx)
{
	struct tls_verifier *v = verifier(ctx);

	if (!v->head_done) {
		/* A certificate too short to hold a validity: BearSSL says why. */
		v->head_done = 1;
		head_read(v, NULL);
		v->minimal.vtable->append(inner(v), v->head, v->head_len);
	}
	v->minimal.vtable->end_cert(inner(v));
}

/* The chain verified in every other respect with the clock below the
 * floor: judge its dates together (clock.c). */
static unsigned
judge_dates(struct tls_verifier *v)
{
	v->verdict = clock_judge(v->now, v->build, v->saved, v->newest_nb, v->oldest_na);
	if (!v->verdict.valid)
		return BR_ERR_X509_EXPIRED;
	/* One line for each time this connection uses, not one per handshake. */
	if (v->verdict.at != v->warned.at || v->verdict.basis != v->warned.basis) {
		char now[CLOCK_TEXT_MAX], at[CLOCK_TEXT_MAX];

		v->warned = v->verdict;
		log_warnx("tls: the system clock (%s) is below the clock floor: certificates "
		    "of name=%s checked at %s, %s", clock_format(v->now, now), v->name,
		    clock_format(v->verdict.at, at), basis_names[v->verdict.basis]);
	}
	return 0;
}

/* RFC 7858 §4.2: with pins, the key must match one of them, on top of the
 * chain and the name (which br_x509_minimal checked). */
static unsigned
check_pins(const struct tls_verifier *v)
{
	const unsigned char *spki;
	unsigned char hash[32];
	br_sha256_context sha;
	size_t len, i;

	if (v->ee_too_big || x509_find_spki(v->ee, v->ee_len, &spki, &len) != 0)
		return TLS_ERR_PIN_MISMATCH;
	br_sha256_init(&sha);
	br_sha256_update(&sha, spki, len);
	br_sha256_out(&sha, hash);
	for (i = 0; i < v->npins; i++)
		if (memcmp(hash, v->pins[i].sha256, sizeof(hash)) == 0)
			return 0;
	return TLS_ERR_PIN_MISMATCH;
}

static unsigned
v_end_chain(const br_x509_class **ctx)
{
	struct tls_verifier *v = verifier(ctx);
	unsigned err = v->minimal.vtable->end_chain(inner(v));

	/* With a validity not read, BearSSL checked that certificate at the
	 * build time, which does not say whether it is valid. */
	if (v->untrusted && v->dates_unknown && (err == 0 || err == BR_ERR_X509_EXPIRED))
		err = BR_ERR_X509_TIME_UNKNOWN;
	else if (err == 0 && v->untrusted)
		err = judge_dates(v);
	if (err == 0 && v->pins != NULL)
		err = check_pins(v);
	/* A chain valid at the system clock: the clock can be trusted. */
	if (err == 0 && !v->untrusted)
		clock_confirm(v->now);
	return err;
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

/* SHA-256/384/512 for signatures and the PRF; no SHA-1 or SHA-224. */
static const br_hash_class *const hashes[] = {
	&br_sha256_vtable, &br_sha384_vtable, &br_sha512_vtable,
};

static int
hash_id(const br_hash_class *h)
{
	return (int)((h->desc >> BR_HASHDESC_ID_OFF) & BR_HASHDESC_ID_MASK);
}

void
tls_verifier_init(struct tls_verifier *v, const br_x509_trust_anchor *tas, size_t ntas)
{
	size_t i;

	br_x509_minimal_init(&v->minimal, &br_sha256_vtable, tas, ntas);
	v->warned.basis = CLOCK_SYSTEM; /* nothing logged yet */
	for (i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++)
		br_x509_minimal_set_hash(&v->minimal, hash_id(hashes[i]), hashes[i]);
	br_x509_minimal_set_rsa(&v->minimal, &br_rsa_i31_pkcs1_vrfy);
	br_x509_minimal_set_ecdsa(&v->minimal, &br_ec_prime_i31, &br_ecdsa_i31_vrfy_asn1);
	v->vtable = &verifier_class;
}

void
tls_verifier_prepare(struct tls_verifier *v, const char *name, int64_t now, int64_t build,
    int64_t saved)
{
	v->name = name;
	v->now = now;
	v->build = build;
	v->saved = saved;
	v->untrusted = now < build || now < saved;
	v->chain_seen = 0;
	set_time(v, now);
}

void
tls_init(struct tls_conn *t, unsigned char *in, size_t inlen,
    unsigned char *out, size_t outlen, const br_x509_trust_anchor *tas, size_t ntas)
{
	br_ssl_engine_context *eng = &t->sc.eng;
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

	for (i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++)
		br_ssl_engine_set_hash(eng, hash_id(hashes[i]), hashes[i]);
	tls_verifier_init(&t->v, tas, ntas);
	br_ssl_engine_set_x509(eng, &t->v.vtable);
	br_ssl_engine_set_buffers_bidi(eng, in, inlen, out, outlen);
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
	tls_verifier_prepare(&t->v, name, (int64_t)time(NULL), clock_build_time, clock_saved());
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
	return err >= BR_ERR_X509_OK && err < TLS_ERR_PIN_MISMATCH ? x509_error_name(err) :
	    "TLS error";
}

int
tls_is_auth_error(int err)
{
	return err > BR_ERR_X509_OK && err < 64;
}

const char *
tls_failure(const struct tls_verifier *v, int err)
{
	static char text[400];
	char a[CLOCK_TEXT_MAX], b[CLOCK_TEXT_MAX];
	int64_t at;

	if (err == BR_ERR_RECV_FATAL_ALERT + 70)
		return "server refused TLS 1.2 (alert 70, protocol_version): this proxy speaks "
		    "TLS 1.2 only";
	if (err > BR_ERR_RECV_FATAL_ALERT && err < BR_ERR_SEND_FATAL_ALERT) {
		snprintf(text, sizeof(text), "server sent fatal alert %d%s",
		    err - BR_ERR_RECV_FATAL_ALERT,
		    err == BR_ERR_RECV_FATAL_ALERT + 40 ? " (handshake_failure)" : "");
		return text;
	}
	if (err == BR_ERR_X509_NOT_TRUSTED) {
		char dn[200];

		/* The chain leads to no trusted root: name where it ends. */
		if (v->issuer_len == 0 || x509_dn_brief(v->issuer, v->issuer_len, dn,
		    sizeof(dn)) != 0)
			snprintf(dn, sizeof(dn), "?");
		snprintf(text, sizeof(text), "certificate chain not trusted: the last certificate "
		    "sent was issued by '%s', not a trusted root; add it with --ca-file (the "
		    "system's roots: /etc/ssl/certs/ca-certificates.crt)", dn);
		return text;
	}
	if (err == BR_ERR_X509_TIME_UNKNOWN)
		return "validity dates not readable, with the system clock below the clock floor";
	if (err != BR_ERR_X509_EXPIRED || (!v->untrusted && v->dates_unknown))
		return tls_error_name(err);
	/* Expired or not yet valid: which date, and the time it was checked at. */
	at = v->untrusted ? v->verdict.at : v->now;
	snprintf(text, sizeof(text), "certificate %s %s, checked at %s (%s%s)",
	    v->oldest_na < at ? "expired at" : "not valid before",
	    clock_format(v->oldest_na < at ? v->oldest_na : v->newest_nb, a), clock_format(at, b),
	    basis_names[v->untrusted ? v->verdict.basis : CLOCK_SYSTEM],
	    v->untrusted ? ": the system clock is below the clock floor" :
	    v->oldest_na < at ? "" : ": is it right?");
	return text;
}

const char *
tls_version_name(unsigned version)
{
	return version == BR_TLS12 ? "TLS1.2" : version == BR_TLS11 ? "TLS1.1" :
	    version == BR_TLS10 ? "TLS1.0" : "unknown";
}

const char *
tls_suite_name(unsigned suite)
{
	/* ECDHE with ECDSA or RSA, and one of three AEAD ciphers. */
	static const struct { uint16_t id; unsigned char rsa, cipher; } suites[] = {
		{ BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, 0, 0 },
		{ BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, 1, 0 },
		{ BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, 0, 1 },
		{ BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, 1, 1 },
		{ BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, 0, 2 },
		{ BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, 1, 2 },
	};
	static const char *const ciphers[] = {
		"CHACHA20_POLY1305_SHA256", "AES_128_GCM_SHA256", "AES_256_GCM_SHA384",
	};
	static char name[48];
	size_t i;

	for (i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		if (suites[i].id == suite) {
			snprintf(name, sizeof(name), "TLS_ECDHE_%s_WITH_%s",
			    suites[i].rsa ? "RSA" : "ECDSA", ciphers[suites[i].cipher]);
			return name;
		}
	return "unknown";
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
