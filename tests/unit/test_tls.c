/* SPDX-License-Identifier: MIT */
/* Unit tests for the certificate verifier (tls.c) with a fake clock: real
 * chains with fixed dates (tls_chains.h, from make-tls-chains.sh) pushed
 * through the wrapper and BearSSL in pieces of several sizes, with the
 * system clock and the floors chosen around those dates, so the results
 * hold on any day. Also the texts that explain a failure. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bearssl.h>

#include "ca.h"
#include "clock.h"
#include "log.h"
#include "tls.h"
#include "unit.h"
#include "x509.h"

#include "tls_chains.h"

struct cert {
	const unsigned char *der;
	size_t len;
};

#define CERT(name) { der_##name, sizeof(der_##name) }
#define MAX_CHAIN 3

/* Seconds since the epoch of "YYYYMMDDhhmmssZ". */
static int64_t
at(const char *text)
{
	int64_t t = 0;

	if (x509_parse_time(0x18, (const unsigned char *)text, strlen(text), &t) != 0)
		unit_fail(__FILE__, __LINE__, "bad time %s", text);
	return t;
}

/* The trust anchors: Unit Root and the CA with the long name. */
static br_x509_trust_anchor *
anchors(size_t *n)
{
	static const struct cert roots[] = { CERT(root), CERT(big) };
	br_x509_trust_anchor *tas = calloc(2, sizeof(*tas));
	char err[128];
	size_t i;

	*n = 0;
	for (i = 0; tas != NULL && i < 2; i++, (*n)++)
		if (ca_decode_cert(roots[i].der, roots[i].len, &tas[i], err, sizeof(err)) != 0)
			unit_fail(__FILE__, __LINE__, "anchor %zu: %s", i, err);
	return tas;
}

/* Push a chain through the verifier as the engine would, chunk bytes at a
 * time; returns what end_chain says. */
static unsigned
verify(struct tls_verifier *v, const char *name, const struct cert *chain, size_t chunk,
    int64_t now, int64_t build, int64_t saved)
{
	const br_x509_class **x = &v->vtable;
	size_t i, off;

	tls_verifier_prepare(v, name, now, build, saved);
	(*x)->start_chain(x, name);
	for (i = 0; i < MAX_CHAIN && chain[i].der != NULL; i++) {
		(*x)->start_cert(x, (uint32_t)chain[i].len);
		for (off = 0; off < chain[i].len; off += chunk)
			(*x)->append(x, chain[i].der + off,
			    chunk < chain[i].len - off ? chunk : chain[i].len - off);
		(*x)->end_cert(x);
	}
	return (*x)->end_chain(x);
}

static const struct verify_case {
	const char *what;
	struct cert chain[MAX_CHAIN];
	const char *name;
	const char *now, *build, *saved;	/* saved NULL: no time file */
	unsigned want;
	enum clock_basis basis;			/* when the clock is untrusted */
	const char *checked_at;
} verify_cases[] = {
	/* The system clock at or after the floor: BearSSL checks it. */
	{ "clock set, inside the validity", { CERT(leaf) }, "tls.test",
	  "20300201000000Z", "20260101000000Z", NULL, 0, CLOCK_SYSTEM, NULL },
	{ "clock set, after notAfter", { CERT(leaf) }, "tls.test",
	  "20300501000000Z", "20260101000000Z", NULL, BR_ERR_X509_EXPIRED, CLOCK_SYSTEM, NULL },
	{ "clock set, before notBefore", { CERT(leaf) }, "tls.test",
	  "20291231000000Z", "20260101000000Z", NULL, BR_ERR_X509_EXPIRED, CLOCK_SYSTEM, NULL },
	{ "clock set, a certificate issued after it is not taken on trust", { CERT(leaf) },
	  "tls.test", "20291231000000Z", "20291201000000Z", NULL, BR_ERR_X509_EXPIRED,
	  CLOCK_SYSTEM, NULL },
	/* The clock at 1970, below the floor. */
	{ "1970, leaf issued after the build", { CERT(leaf) }, "tls.test",
	  "19700102000000Z", "20260101000000Z", NULL, 0, CLOCK_CERT, "20300101000000Z" },
	{ "1970, build inside the validity", { CERT(leaf) }, "tls.test",
	  "19700102000000Z", "20300215000000Z", NULL, 0, CLOCK_BUILD, "20300215000000Z" },
	{ "1970, leaf expired before the build", { CERT(leaf) }, "tls.test",
	  "19700102000000Z", "20300501000000Z", NULL, BR_ERR_X509_EXPIRED, CLOCK_BUILD,
	  "20300501000000Z" },
	{ "1970, long expired leaf", { CERT(old) }, "tls.test",
	  "19700102000000Z", "20260101000000Z", NULL, BR_ERR_X509_EXPIRED, CLOCK_BUILD,
	  "20260101000000Z" },
	{ "1970, saved time inside the validity", { CERT(leaf) }, "tls.test",
	  "19700102000000Z", "20260101000000Z", "20300215000000Z", 0, CLOCK_SAVED,
	  "20300215000000Z" },
	{ "1970, leaf expired before the saved time", { CERT(leaf) }, "tls.test",
	  "19700102000000Z", "20260101000000Z", "20300501000000Z", BR_ERR_X509_EXPIRED,
	  CLOCK_SAVED, "20300501000000Z" },
	{ "clock past the build but below the saved time", { CERT(leaf) }, "tls.test",
	  "20270101000000Z", "20260101000000Z", "20300501000000Z", BR_ERR_X509_EXPIRED,
	  CLOCK_SAVED, "20300501000000Z" },
	{ "1970, intermediate issued after the build", { CERT(ileaf), CERT(inter) },
	  "tls.test", "19700102000000Z", "20260101000000Z", NULL, 0, CLOCK_CERT,
	  "20300301000000Z" },
	{ "1970, build inside every validity", { CERT(ileaf), CERT(inter) }, "tls.test",
	  "19700102000000Z", "20300515000000Z", NULL, 0, CLOCK_BUILD, "20300515000000Z" },
	{ "1970, leaf expired, intermediate valid", { CERT(ileaf), CERT(inter) }, "tls.test",
	  "19700102000000Z", "20300701000000Z", NULL, BR_ERR_X509_EXPIRED, CLOCK_BUILD,
	  "20300701000000Z" },
	{ "1970, old certificate sent after the chain's end is ignored",
	  { CERT(leaf), CERT(stale) }, "tls.test", "19700102000000Z", "20260101000000Z", NULL,
	  0, CLOCK_CERT, "20300101000000Z" },
	/* Everything but the dates is refused at 1970 as ever. */
	{ "1970, wrong name", { CERT(leaf) }, "other.test",
	  "19700102000000Z", "20260101000000Z", NULL, BR_ERR_X509_BAD_SERVER_NAME, CLOCK_SYSTEM,
	  NULL },
	{ "1970, untrusted root", { CERT(rleaf) }, "tls.test",
	  "19700102000000Z", "20260101000000Z", NULL, BR_ERR_X509_NOT_TRUSTED, CLOCK_SYSTEM,
	  NULL },
	{ "1970, intermediate missing", { CERT(ileaf) }, "tls.test",
	  "19700102000000Z", "20260101000000Z", NULL, BR_ERR_X509_NOT_TRUSTED, CLOCK_SYSTEM,
	  NULL },
	/* A validity beyond what is held back: unknown dates. */
	{ "clock set, issuer name over 1 KiB", { CERT(bleaf) }, "tls.test",
	  "20300201000000Z", "20260101000000Z", NULL, 0, CLOCK_SYSTEM, NULL },
	{ "1970, issuer name over 1 KiB", { CERT(bleaf) }, "tls.test",
	  "19700102000000Z", "20260101000000Z", NULL, BR_ERR_X509_TIME_UNKNOWN, CLOCK_SYSTEM,
	  NULL },
};

static void
test_verify_fake_clock(void)
{
	static struct tls_verifier v;
	static const size_t chunks[] = { 1, 7, 100, 4096 };
	br_x509_trust_anchor *tas;
	size_t ntas, i, c;

	tas = anchors(&ntas);
	tls_verifier_init(&v, tas, ntas);
	log_level = LOG_LEVEL_ERROR; /* the clock's warning lines: tls_floor_warning */
	for (i = 0; i < sizeof(verify_cases) / sizeof(verify_cases[0]); i++) {
		const struct verify_case *k = &verify_cases[i];

		for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
			unsigned err = verify(&v, k->name, k->chain, chunks[c], at(k->now),
			    at(k->build), k->saved != NULL ? at(k->saved) : 0);

			CHECK(err == k->want, "%s (pieces of %zu): error %u (%s), want %u (%s)",
			    k->what, chunks[c], err, tls_error_name((int)err), k->want,
			    tls_error_name((int)k->want));
			if (k->checked_at == NULL || err != k->want)
				continue;
			CHECK(v.verdict.basis == k->basis && v.verdict.at == at(k->checked_at),
			    "%s: checked at %lld (basis %d), want %s (basis %d)", k->what,
			    (long long)v.verdict.at, (int)v.verdict.basis, k->checked_at,
			    (int)k->basis);
		}
	}
	log_level = LOG_LEVEL_WARN;
	ca_free(tas, ntas);
}

/* One warning line for each time used below the floor, naming it. */
static void
test_floor_warning(void)
{
	static struct tls_verifier v;
	static const struct cert leaf[MAX_CHAIN] = { CERT(leaf) };
	static const struct cert chain[MAX_CHAIN] = { CERT(ileaf), CERT(inter) };
	char path[] = "/tmp/dtp-unit-log.XXXXXX", line[512];
	br_x509_trust_anchor *tas;
	size_t ntas;
	int fd = mkstemp(path), lines = 0;
	FILE *f;

	if (fd == -1 || log_open(path) != 0) {
		unit_fail(__FILE__, __LINE__, "cannot log to %s", path);
		return;
	}
	close(fd);
	tas = anchors(&ntas);
	tls_verifier_init(&v, tas, ntas);
	verify(&v, "tls.test", leaf, 4096, at("19700102000000Z"), at("20260101000000Z"), 0);
	verify(&v, "tls.test", leaf, 4096, at("19700103000000Z"), at("20260101000000Z"), 0);
	verify(&v, "tls.test", chain, 4096, at("19700102000000Z"), at("20260101000000Z"), 0);
	verify(&v, "tls.test", chain, 4096, at("19700102000000Z"), at("20300515000000Z"), 0);
	log_open(NULL);
	if ((f = fopen(path, "r")) != NULL) {
		static const char *const want[] = {
			"checked at 2030-01-01T00:00:00Z, the newest notBefore in the chain",
			"checked at 2030-03-01T00:00:00Z, the newest notBefore in the chain",
			"checked at 2030-05-15T00:00:00Z, the build time",
		};

		while (fgets(line, sizeof(line), f) != NULL) {
			CHECK(lines < 3 && strstr(line, "WARNING - tls: the system clock") != NULL &&
			    strstr(line, want[lines]) != NULL, "line %d: %s", lines + 1, line);
			lines++;
		}
		fclose(f);
	}
	CHECK_EQ_INT(lines, 3);
	unlink(path);
	ca_free(tas, ntas);
}

/* Pins are checked at 1970 as at any time. */
static void
test_verify_pins_untrusted_clock(void)
{
	static struct tls_verifier v;
	static const struct cert chain[MAX_CHAIN] = { CERT(leaf) };
	const unsigned char *spki;
	br_sha256_context sha;
	struct tls_pin pin;
	br_x509_trust_anchor *tas;
	size_t ntas, len;

	tas = anchors(&ntas);
	tls_verifier_init(&v, tas, ntas);
	CHECK_EQ_INT(x509_find_spki(der_leaf, sizeof(der_leaf), &spki, &len), 0);
	br_sha256_init(&sha);
	br_sha256_update(&sha, spki, len);
	br_sha256_out(&sha, pin.sha256);
	v.pins = &pin;
	v.npins = 1;
	log_level = LOG_LEVEL_ERROR;
	CHECK_EQ_INT(verify(&v, "tls.test", chain, 50, at("19700102000000Z"),
	    at("20260101000000Z"), 0), 0);
	pin.sha256[0] ^= 1;
	CHECK_EQ_INT(verify(&v, "tls.test", chain, 50, at("19700102000000Z"),
	    at("20260101000000Z"), 0), TLS_ERR_PIN_MISMATCH);
	log_level = LOG_LEVEL_WARN;
	ca_free(tas, ntas);
}

/* The lines a person reads when a handshake fails. */
static void
test_failure_texts(void)
{
	static struct tls_verifier v;
	static const struct cert rogue[MAX_CHAIN] = { CERT(rleaf) };
	static const struct cert leaf[MAX_CHAIN] = { CERT(leaf) };
	br_x509_trust_anchor *tas;
	const char *text;
	size_t ntas;

	tas = anchors(&ntas);
	tls_verifier_init(&v, tas, ntas);

	verify(&v, "tls.test", rogue, 4096, at("20300201000000Z"), at("20260101000000Z"), 0);
	text = tls_failure(&v, BR_ERR_X509_NOT_TRUSTED);
	CHECK(strstr(text, "issued by 'CN=Unit Rogue Root'") != NULL &&
	    strstr(text, "--ca-file (the system's roots: /etc/ssl/certs/ca-certificates.crt)") != NULL,
	    "not trusted: \"%s\"", text);

	verify(&v, "tls.test", leaf, 4096, at("20300501000000Z"), at("20260101000000Z"), 0);
	text = tls_failure(&v, BR_ERR_X509_EXPIRED);
	CHECK(strcmp(text, "certificate expired at 2030-04-01T00:00:00Z, checked at "
	    "2030-05-01T00:00:00Z (the system clock)") == 0, "expired: \"%s\"", text);

	verify(&v, "tls.test", leaf, 4096, at("20291231000000Z"), at("20260101000000Z"), 0);
	text = tls_failure(&v, BR_ERR_X509_EXPIRED);
	CHECK(strcmp(text, "certificate not valid before 2030-01-01T00:00:00Z, checked at "
	    "2029-12-31T00:00:00Z (the system clock: is it right?)") == 0,
	    "not yet valid: \"%s\"", text);

	verify(&v, "tls.test", leaf, 4096, at("19700102000000Z"), at("20300501000000Z"), 0);
	text = tls_failure(&v, BR_ERR_X509_EXPIRED);
	CHECK(strcmp(text, "certificate expired at 2030-04-01T00:00:00Z, checked at "
	    "2030-05-01T00:00:00Z (the build time: the system clock is below the clock floor)") ==
	    0, "expired before the floor: \"%s\"", text);

	text = tls_failure(&v, BR_ERR_RECV_FATAL_ALERT + 70);
	CHECK(strstr(text, "(alert 70, protocol_version): this proxy speaks TLS 1.2 only") != NULL,
	    "alert 70: \"%s\"", text);
	text = tls_failure(&v, BR_ERR_RECV_FATAL_ALERT + 40);
	CHECK(strcmp(text, "server sent fatal alert 40 (handshake_failure)") == 0,
	    "alert 40: \"%s\"", text);
	CHECK(strcmp(tls_failure(&v, BR_ERR_X509_BAD_SERVER_NAME),
	    "certificate does not match the name") == 0, "bad name text");
	CHECK(strcmp(tls_failure(&v, TLS_ERR_PIN_MISMATCH), "public key matches no pin") == 0,
	    "pin text");
	ca_free(tas, ntas);
}

static void
test_names(void)
{
	CHECK(strcmp(tls_version_name(BR_TLS12), "TLS1.2") == 0, "TLS 1.2 name");
	CHECK(strcmp(tls_suite_name(BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256),
	    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256") == 0, "suite name");
	CHECK(strcmp(tls_suite_name(0xc02c), "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384") == 0,
	    "suite 0xc02c");
	CHECK(strcmp(tls_suite_name(0x0005), "unknown") == 0, "unknown suite");
	CHECK(tls_is_auth_error(BR_ERR_X509_EXPIRED) && tls_is_auth_error(TLS_ERR_PIN_MISMATCH) &&
	    !tls_is_auth_error(BR_ERR_RECV_FATAL_ALERT + 70), "auth errors");
}

const struct unit_test tls_tests[] = {
	{ "tls_verify_fake_clock", test_verify_fake_clock },
	{ "tls_verify_pins_untrusted_clock", test_verify_pins_untrusted_clock },
	{ "tls_floor_warning", test_floor_warning },
	{ "tls_failure_texts", test_failure_texts },
	{ "tls_names", test_names },
	{ NULL, NULL },
};
