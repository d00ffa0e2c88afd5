/* SPDX-License-Identifier: MIT */
/* Unit tests for ca.c: PEM/DER certificates to BearSSL trust anchors, and
 * the generated C for the compiled-in bundle. The certificates below were
 * made once with openssl (100-year validity, so the tests never expire). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bearssl.h>

#include "ca.h"
#include "x509.h"
#include "unit.h"

/* EC P-256 self-signed CA, v3, CA:TRUE, C=ZZ, O=dns-tls-proxy tests, CN=Test EC Root */
static const char pem_ec_root[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIB6zCCAZGgAwIBAgIUAT8zGthBFSV9X1r9Bxme3VSbPTEwCgYIKoZIzj0EAwIw\n"
	"QjELMAkGA1UEBhMCWloxHDAaBgNVBAoME2Rucy10bHMtcHJveHkgdGVzdHMxFTAT\n"
	"BgNVBAMMDFRlc3QgRUMgUm9vdDAgFw0yNjExMjYwNDQ0NDZaGA8yMTI2MTEwMjA0\n"
	"NDQ0NlowQjELMAkGA1UEBhMCWloxHDAaBgNVBAoME2Rucy10bHMtcHJveHkgdGVz\n"
	"dHMxFTATBgNVBAMMDFRlc3QgRUMgUm9vdDBZMBMGByqGSM49AgEGCCqGSM49AwEH\n"
	"A0IABMgxzrg02iCMKXblxdJiokSdKh2bReZ0dYLqUtZQ+ibQ//rzfpfHJ29B1XBx\n"
	"wHijy3fxRGLO2Y/veKUXY1cLrKajYzBhMB0GA1UdDgQWBBSC0I+6IdBwZ9yBWLDD\n"
	"/qv2LdqRFTAfBgNVHSMEGDAWgBSC0I+6IdBwZ9yBWLDD/qv2LdqRFTAPBgNVHRMB\n"
	"Af8EBTADAQH/MA4GA1UdDwEB/wQEAwIBBjAKBggqhkjOPQQDAgNIADBFAiBI796W\n"
	"1kPL5D0dgPx5n/QINB0RQrSjRXedV3CRkxxIagIhAPtdx5Pwn5vxov1Bni1w7mt9\n"
	"VOcTHX882gz3PwNbEcS0\n"
	"-----END CERTIFICATE-----\n";

/* RSA-2048 self-signed CA, v3, CA:TRUE, e=65537, CN=Test RSA Root */
static const char pem_rsa_root[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIDeTCCAmGgAwIBAgIUC7V8vLLmxN5DzoBfBW1sGcrkepowDQYJKoZIhvcNAQEL\n"
	"BQAwQzELMAkGA1UEBhMCWloxHDAaBgNVBAoME2Rucy10bHMtcHJveHkgdGVzdHMx\n"
	"FjAUBgNVBAMMDVRlc3QgUlNBIFJvb3QwIBcNMjYxMTI2MDQ0NDQ2WhgPMjEyNjEx\n"
	"MDIwNDQ0NDZaMEMxCzAJBgNVBAYTAlpaMRwwGgYDVQQKDBNkbnMtdGxzLXByb3h5\n"
	"IHRlc3RzMRYwFAYDVQQDDA1UZXN0IFJTQSBSb290MIIBIjANBgkqhkiG9w0BAQEF\n"
	"AAOCAQ8AMIIBCgKCAQEApuolQApotWNt682LY6iWlFMxikadNhq50gOycDVFenLO\n"
	"L7QOJHowhz4EhslM8SbBUyz/EAAHuQLT4dQu6LnkCYxE9QEm0+ycbjBlX0uIkndq\n"
	"/BP4KzNE0QVeM6IaqJlEh3viJwmT6t4K6r1kVmqnkwz0HieOP09TbAHvnbug81pd\n"
	"c/bt/Mt9fploR/Me6V/d9sSoRV2ts+9VA37lZ8jAKdhP4+IJ6Z0Lf2ROAZLCZi+n\n"
	"rOjy3C5YzqRudOl8EeBoFhtUl5j4+X6yVfj2TQzKgFXLyodn84yXBudedU5F3nqt\n"
	"5vFsB5gk3H8qd7GotaBByyjn/OSO8P7nEDVvhOfCbQIDAQABo2MwYTAdBgNVHQ4E\n"
	"FgQUBkJm/IMG0vUAVWmbLKAbAwGXe8cwHwYDVR0jBBgwFoAUBkJm/IMG0vUAVWmb\n"
	"LKAbAwGXe8cwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAQYwDQYJKoZI\n"
	"hvcNAQELBQADggEBAH9EYTSOyqOHOYXVHPouH8/JlcdztVTBamYZbEVAmmjjVxB4\n"
	"6DXzzKZqr0kXp2UI1+wgYZX4K4t9p8YhrQHWl+z6eMJUyBJBWBv40iMbLgTmlGH9\n"
	"q/iO//MYVS5NpVYWMlvOfvK+pQnVTLNV2FF5aq+pO8e1PX7osJuWj69us4LbOKRf\n"
	"giU7hcCV6PDSX42T2ZrwwkwAu/GIaZXjiSxPZOkstlC6C5s071OWal7npZMl4QXT\n"
	"9y7gjmXgeqDi4qpR3s8Ijjyx12Uujhv62UV1zAZZqOX2gC7Aj/DmnO/tAVrJCABH\n"
	"gtgVFZ74k5tDxGc0P3adcQyNBgnzWeABX/QQNgk=\n"
	"-----END CERTIFICATE-----\n";

/* EC P-256 leaf issued by Test EC Root, v3, CA:FALSE, CN=leaf.test */
static const char pem_ec_leaf[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIB5zCCAY2gAwIBAgIUCUVPoiLbaXJj17mHHIrrIJAKAIMwCgYIKoZIzj0EAwIw\n"
	"QjELMAkGA1UEBhMCWloxHDAaBgNVBAoME2Rucy10bHMtcHJveHkgdGVzdHMxFTAT\n"
	"BgNVBAMMDFRlc3QgRUMgUm9vdDAgFw0yNjExMjYwNDQ0NDZaGA8yMTI2MTEwMjA0\n"
	"NDQ0NlowFDESMBAGA1UEAwwJbGVhZi50ZXN0MFkwEwYHKoZIzj0CAQYIKoZIzj0D\n"
	"AQcDQgAEK8k/LzTLm8BBaRHJDanzzLcaq03vNESiMxZm6IRtfPIaP2gnDfGMyXYQ\n"
	"ZC//pTS9N7qxjXVDxUqVrScjlk8p0aOBjDCBiTAMBgNVHRMBAf8EAjAAMBQGA1Ud\n"
	"EQQNMAuCCWxlYWYudGVzdDAOBgNVHQ8BAf8EBAMCB4AwEwYDVR0lBAwwCgYIKwYB\n"
	"BQUHAwEwHQYDVR0OBBYEFL0niCuPKswrTZMJPG1FtMmOKlxDMB8GA1UdIwQYMBaA\n"
	"FILQj7oh0HBn3IFYsMP+q/Yt2pEVMAoGCCqGSM49BAMCA0gAMEUCIQDLYm56zN9m\n"
	"T4bcBk4YrSpnpXrx2+3R5izoD7w9kZ2Q4wIgENJPca7F62HwrmJdIvFsSs/9xwRG\n"
	"3wBAUHsJGmuROGk=\n"
	"-----END CERTIFICATE-----\n";

/* EC P-256 self-signed v1 certificate (no extensions), CN=Test V1 Root */
static const char pem_v1_root[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBKjCB0QIUPbCJ7EjGHWSIofK0VQ1paIIXx8YwCgYIKoZIzj0EAwIwFzEVMBMG\n"
	"A1UEAwwMVGVzdCBWMSBSb290MCAXDTI2MTEyNjA0NDQ0NloYDzIxMjYxMTAyMDQ0\n"
	"NDQ2WjAXMRUwEwYDVQQDDAxUZXN0IFYxIFJvb3QwWTATBgcqhkjOPQIBBggqhkjO\n"
	"PQMBBwNCAAQPCcRXcz4DJtQvYF7XkY7zhUTyGCuZm156Oe5f+7FeKlZQYwDh643e\n"
	"8/ZEAkZTR/ybkl+XBXJYNXxd/67J3FfvMAoGCCqGSM49BAMCA0gAMEUCIQCVDh24\n"
	"yoMcxT+heHgBNwSGMPARRyrkJB7o3rqoy8YAQwIgXAQIhyXRdlvQzEbzyLRld04P\n"
	"7PTRz4yUuV7evPgUwz8=\n"
	"-----END CERTIFICATE-----\n";

/* Hand-made DN whose CN is a, star, slash, b: generated comments must
 * stay closed. */
static const unsigned char dn_star_slash[] = {
	0x30, 0x0f, 0x31, 0x0d, 0x30, 0x0b, 0x06, 0x03, 0x55, 0x04, 0x03,
	0x0c, 0x04, 'a', '*', '/', 'b',
};

static int
load(const char *pem, br_x509_trust_anchor **tas, size_t *count, char *err,
    size_t errlen)
{
	return ca_load_pem((const unsigned char *)pem, strlen(pem), tas, count,
	    err, errlen);
}

struct der_out {
	unsigned char	buf[4096];
	size_t		len;
};

static void
der_append(void *ctx, const void *src, size_t len)
{
	struct der_out *d = ctx;

	if (len <= sizeof d->buf - d->len) {
		memcpy(d->buf + d->len, src, len);
		d->len += len;
	}
}

/* The DER of the first object in pem, independently of ca.c. */
static size_t
pem_to_der(const char *pem, struct der_out *d)
{
	br_pem_decoder_context pc;
	size_t len = strlen(pem);
	int done = 0;

	d->len = 0;
	br_pem_decoder_init(&pc);
	while (len > 0 && !done) {
		size_t n = br_pem_decoder_push(&pc, pem, len);

		pem += n;
		len -= n;
		switch (br_pem_decoder_event(&pc)) {
		case BR_PEM_BEGIN_OBJ:
			br_pem_decoder_setdest(&pc, der_append, d);
			break;
		case BR_PEM_END_OBJ:
		case BR_PEM_ERROR:
			done = 1;
			break;
		}
	}
	return d->len;
}

/* The generated C for tas, in a malloc'd string (caller frees). */
static char *
emit(const br_x509_trust_anchor *tas, size_t count, const char *symbol,
    int *rc)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if ((f = open_memstream(&text, &len)) == NULL)
		return NULL;
	*rc = ca_emit_c(f, tas, count, symbol, "tests/unit/test_ca.c");
	fclose(f);
	return text;
}

static int
is_zeroed(const br_x509_trust_anchor *ta)
{
	static const br_x509_trust_anchor zero;

	return memcmp(ta, &zero, sizeof zero) == 0;
}

static void
test_pem_ec_root(void)
{
	br_x509_trust_anchor *tas = NULL;
	size_t count = 0;
	char err[256] = "";
	static const unsigned char q_head[] = { 0x04, 0xc8, 0x31, 0xce };

	CHECK_EQ_INT(load(pem_ec_root, &tas, &count, err, sizeof err), 0);
	CHECK(err[0] == '\0', "unexpected error: %s", err);
	CHECK_EQ_INT(count, 1);
	if (count != 1)
		goto out;
	CHECK_EQ_INT(tas[0].flags, BR_X509_TA_CA);
	CHECK_EQ_INT(tas[0].dn.len, 68);
	CHECK(tas[0].dn.data[0] == 0x30, "DN is not a SEQUENCE");
	CHECK_EQ_INT(tas[0].pkey.key_type, BR_KEYTYPE_EC);
	CHECK_EQ_INT(tas[0].pkey.key.ec.curve, BR_EC_secp256r1);
	CHECK_EQ_INT(tas[0].pkey.key.ec.qlen, 65);
	CHECK(memcmp(tas[0].pkey.key.ec.q, q_head, sizeof q_head) == 0,
	    "EC point is not the certificate's");
out:
	ca_free(tas, count);
}

static void
test_pem_rsa_root(void)
{
	br_x509_trust_anchor *tas = NULL;
	size_t count = 0;
	char err[256];
	static const unsigned char n_head[] = { 0xa6, 0xea, 0x25, 0x40 };
	static const unsigned char e[] = { 0x01, 0x00, 0x01 };

	CHECK_EQ_INT(load(pem_rsa_root, &tas, &count, err, sizeof err), 0);
	CHECK_EQ_INT(count, 1);
	if (count != 1)
		goto out;
	CHECK_EQ_INT(tas[0].flags, BR_X509_TA_CA);
	CHECK_EQ_INT(tas[0].dn.len, 69);
	CHECK_EQ_INT(tas[0].pkey.key_type, BR_KEYTYPE_RSA);
	CHECK_EQ_INT(tas[0].pkey.key.rsa.nlen, 256);
	CHECK(memcmp(tas[0].pkey.key.rsa.n, n_head, sizeof n_head) == 0,
	    "modulus is not the certificate's");
	CHECK_EQ_INT(tas[0].pkey.key.rsa.elen, 3);
	CHECK(memcmp(tas[0].pkey.key.rsa.e, e, sizeof e) == 0,
	    "exponent is not 65537");
out:
	ca_free(tas, count);
}

/* Two certificates in one buffer keep their order; a second call appends. */
static void
test_pem_two_certs(void)
{
	br_x509_trust_anchor *tas = NULL;
	size_t count = 0;
	char err[256], both[sizeof pem_ec_root + sizeof pem_rsa_root];

	snprintf(both, sizeof both, "%s%s", pem_ec_root, pem_rsa_root);
	CHECK_EQ_INT(load(both, &tas, &count, err, sizeof err), 0);
	CHECK_EQ_INT(count, 2);
	CHECK_EQ_INT(load(pem_ec_leaf, &tas, &count, err, sizeof err), 0);
	CHECK_EQ_INT(count, 3);
	if (count == 3) {
		CHECK_EQ_INT(tas[0].pkey.key_type, BR_KEYTYPE_EC);
		CHECK_EQ_INT(tas[1].pkey.key_type, BR_KEYTYPE_RSA);
		CHECK_EQ_INT(tas[2].flags, 0);
	}
	ca_free(tas, count);
}

/* Keys, CRLs and text around the certificates are not errors. */
static void
test_pem_skips_other_objects(void)
{
	br_x509_trust_anchor *tas = NULL;
	size_t count = 0;
	char err[256], text[4096];

	snprintf(text, sizeof text,
	    "Subject: a comment some bundles carry\n"
	    "-----BEGIN PRIVATE KEY-----\nAAECAwQF\n-----END PRIVATE KEY-----\n"
	    "%s"
	    "-----BEGIN X509 CRL-----\nBgcICQ==\n-----END X509 CRL-----\n",
	    pem_rsa_root);
	CHECK_EQ_INT(load(text, &tas, &count, err, sizeof err), 0);
	CHECK_EQ_INT(count, 1);
	ca_free(tas, count);
}

static void
test_pem_no_cert(void)
{
	static const char *const inputs[] = {
		"",
		"just some text\n",
		"-----BEGIN PUBLIC KEY-----\nAAECAwQF\n-----END PUBLIC KEY-----\n",
	};
	br_x509_trust_anchor *tas = NULL;
	size_t count = 0, i;
	char err[256];

	for (i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
		err[0] = '\0';
		CHECK(load(inputs[i], &tas, &count, err, sizeof err) == -1,
		    "input %zu accepted", i);
		CHECK(strstr(err, "no CERTIFICATE") != NULL,
		    "input %zu: error \"%s\"", i, err);
		CHECK_EQ_INT(count, 0);
	}
	ca_free(tas, count);
}

/* Bad base64, and good base64 that is not a certificate, name the object. */
static void
test_pem_garbage(void)
{
	br_x509_trust_anchor *tas = NULL;
	size_t count = 0;
	char err[256];

	CHECK(load("-----BEGIN CERTIFICATE-----\n!!!!\n"
	    "-----END CERTIFICATE-----\n", &tas, &count, err,
	    sizeof err) == -1, "bad base64 accepted");
	CHECK(strstr(err, "certificate #1 (line 1)") != NULL &&
	    strstr(err, "malformed PEM") != NULL, "error \"%s\"", err);

	CHECK(load("-----BEGIN CERTIFICATE-----\nAAECAwQFBgcI\n"
	    "-----END CERTIFICATE-----\n", &tas, &count, err,
	    sizeof err) == -1, "non-DER accepted");
	CHECK(strstr(err, "certificate #1") != NULL &&
	    strstr(err, "bad certificate") != NULL, "error \"%s\"", err);
	CHECK_EQ_INT(count, 0);
	ca_free(tas, count);
}

/* A failing call gives back what it added, and names the bad object. */
static void
test_pem_error_rolls_back(void)
{
	br_x509_trust_anchor *tas = NULL;
	size_t count = 0;
	char err[256], text[4096];

	CHECK_EQ_INT(load(pem_ec_root, &tas, &count, err, sizeof err), 0);
	snprintf(text, sizeof text, "%s\n\n%s"
	    "-----BEGIN CERTIFICATE-----\nAAECAwQFBgcI\n"
	    "-----END CERTIFICATE-----\n", pem_rsa_root, pem_ec_leaf);
	CHECK(load(text, &tas, &count, err, sizeof err) == -1,
	    "bad third certificate accepted");
	/* rsa is 21 lines, two blank lines, leaf is 13: BEGIN on line 37 */
	CHECK(strstr(err, "certificate #3 (line 37)") != NULL,
	    "error \"%s\"", err);
	CHECK_EQ_INT(count, 1);
	if (count == 1)
		CHECK_EQ_INT(tas[0].pkey.key_type, BR_KEYTYPE_EC);
	ca_free(tas, count);
}

static void
test_pem_truncated(void)
{
	br_x509_trust_anchor *tas = NULL;
	size_t count = 0, len;
	char err[256], text[4096];
	const char *end;

	/* Cut before the END line. */
	end = strstr(pem_ec_root, "-----END");
	len = (size_t)(end - pem_ec_root);
	CHECK(ca_load_pem((const unsigned char *)pem_ec_root, len, &tas,
	    &count, err, sizeof err) == -1, "missing END accepted");
	CHECK(strstr(err, "certificate #1") != NULL &&
	    strstr(err, "truncated") != NULL, "error \"%s\"", err);

	/* A base64 line lost: the DER inside is short. */
	snprintf(text, sizeof text, "%s", pem_ec_root);
	end = strchr(strchr(text, '\n') + 1, '\n') + 1;
	memmove(strchr(text, '\n') + 1, end, strlen(end) + 1);
	CHECK(load(text, &tas, &count, err, sizeof err) == -1,
	    "short DER accepted");
	CHECK(strstr(err, "certificate #1") != NULL, "error \"%s\"", err);
	CHECK_EQ_INT(count, 0);
	ca_free(tas, count);
}

/* No newline after END, and CRLF line ends, are both fine. */
static void
test_pem_line_endings(void)
{
	br_x509_trust_anchor *tas = NULL;
	size_t count = 0, len, i, j;
	char err[256], text[4096];

	len = strlen(pem_v1_root);
	CHECK_EQ_INT(ca_load_pem((const unsigned char *)pem_v1_root, len - 1,
	    &tas, &count, err, sizeof err), 0);
	for (i = j = 0; pem_v1_root[i] != '\0' && j < sizeof text - 2; i++) {
		if (pem_v1_root[i] == '\n')
			text[j++] = '\r';
		text[j++] = pem_v1_root[i];
	}
	text[j] = '\0';
	CHECK_EQ_INT(load(text, &tas, &count, err, sizeof err), 0);
	CHECK_EQ_INT(count, 2);
	ca_free(tas, count);
}

/* A v3 certificate without cA is a direct-trust anchor, not a CA. */
static void
test_der_leaf_direct_trust(void)
{
	br_x509_trust_anchor *ta;
	struct der_out d;
	char err[256];

	if ((ta = malloc(sizeof *ta)) == NULL)
		return;
	CHECK(pem_to_der(pem_ec_leaf, &d) > 0, "test PEM did not decode");
	CHECK_EQ_INT(ca_decode_cert(d.buf, d.len, ta, err, sizeof err), 0);
	CHECK_EQ_INT(ta->flags, 0);
	CHECK_EQ_INT(ta->dn.len, 22);
	CHECK_EQ_INT(ta->pkey.key_type, BR_KEYTYPE_EC);
	ca_free(ta, 1);
}

/* A v1 root cannot say it is a CA; listing it as a root says so. */
static void
test_der_v1_root_is_ca(void)
{
	br_x509_trust_anchor *ta;
	struct der_out d;
	char err[256];

	if ((ta = malloc(sizeof *ta)) == NULL)
		return;
	CHECK(pem_to_der(pem_v1_root, &d) > 0, "test PEM did not decode");
	CHECK(d.buf[6] != 0xa0, "test certificate is not v1");
	CHECK_EQ_INT(ca_decode_cert(d.buf, d.len, ta, err, sizeof err), 0);
	CHECK_EQ_INT(ta->flags, BR_X509_TA_CA);
	ca_free(ta, 1);
}

/* Every prefix of a certificate fails cleanly, leaving the anchor empty. */
static void
test_der_truncated(void)
{
	br_x509_trust_anchor ta;
	struct der_out d;
	char err[256];
	size_t len;

	pem_to_der(pem_rsa_root, &d);
	for (len = 0; len < d.len; len++) {
		err[0] = '\0';
		CHECK(ca_decode_cert(d.buf, len, &ta, err, sizeof err) == -1,
		    "prefix of %zu bytes accepted", len);
		CHECK(err[0] != '\0', "prefix of %zu bytes: no reason", len);
		CHECK(is_zeroed(&ta), "prefix of %zu bytes: anchor set", len);
	}
}

static void
test_der_trailing_data(void)
{
	br_x509_trust_anchor ta;
	struct der_out d;
	char err[256];

	pem_to_der(pem_ec_root, &d);
	d.buf[d.len++] = 0x00;
	CHECK(ca_decode_cert(d.buf, d.len, &ta, err, sizeof err) == -1,
	    "trailing byte accepted");
	CHECK(strstr(err, "bad certificate") != NULL, "error \"%s\"", err);
}

static void
test_emit_deterministic(void)
{
	br_x509_trust_anchor *tas = NULL;
	size_t count = 0;
	char err[256], both[sizeof pem_ec_root + sizeof pem_rsa_root];
	char *a, *b;
	int rca = -1, rcb = -1;

	snprintf(both, sizeof both, "%s%s", pem_ec_root, pem_rsa_root);
	CHECK_EQ_INT(load(both, &tas, &count, err, sizeof err), 0);
	a = emit(tas, count, "test_bundle", &rca);
	b = emit(tas, count, "test_bundle", &rcb);
	CHECK(a != NULL && b != NULL, "open_memstream failed");
	if (a != NULL && b != NULL) {
		CHECK_EQ_INT(rca, 0);
		CHECK_EQ_INT(rcb, 0);
		CHECK(strcmp(a, b) == 0, "two runs differ");
		CHECK(strstr(a, "Generated by ca_gen") != NULL &&
		    strstr(a, "tests/unit/test_ca.c") != NULL,
		    "no header comment");
		CHECK(strstr(a, "#include <bearssl.h>") != NULL,
		    "no #include <bearssl.h>");
		CHECK(strstr(a, "\nconst br_x509_trust_anchor "
		    "test_bundle[2] = {") != NULL, "no anchor table");
		CHECK(strstr(a, "\nconst size_t test_bundle_count = 2;") !=
		    NULL, "no count");
		CHECK(strstr(a, ".curve = BR_EC_secp256r1,") != NULL,
		    "no EC curve");
		CHECK(strstr(a, ".key_type = BR_KEYTYPE_RSA,") != NULL,
		    "no RSA key");
		CHECK(strstr(a, "CN=Test EC Root") != NULL,
		    "no readable subject");
		CHECK(strstr(a, "RSA 2048-bit") != NULL, "no key size");
	}
	free(a);
	free(b);
	ca_free(tas, count);
}

static void
test_emit_bad_args(void)
{
	static const char *const bad[] = { "", "1abc", "a-b", "a b", NULL };
	br_x509_trust_anchor *tas = NULL;
	size_t count = 0, i;
	char err[256], *text;
	int rc;

	CHECK_EQ_INT(load(pem_ec_root, &tas, &count, err, sizeof err), 0);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		rc = 0;
		errno = 0;
		text = emit(tas, count, bad[i], &rc);
		CHECK(rc == -1 && errno == EINVAL, "symbol \"%s\" accepted",
		    bad[i] ? bad[i] : "(null)");
		free(text);
	}
	rc = 0;
	text = emit(tas, 0, "ok_symbol", &rc);
	CHECK_EQ_INT(rc, -1);
	free(text);
	ca_free(tas, count);
}

/* A subject holding a comment terminator cannot end the comment early. */
static void
test_emit_comment_safe(void)
{
	br_x509_trust_anchor *tas = NULL;
	size_t count = 0;
	char err[256], *text;
	int rc = -1;

	CHECK_EQ_INT(load(pem_ec_root, &tas, &count, err, sizeof err), 0);
	if (count != 1)
		goto out;
	free(tas[0].dn.data);
	if ((tas[0].dn.data = malloc(sizeof dn_star_slash)) == NULL)
		goto out;
	memcpy(tas[0].dn.data, dn_star_slash, sizeof dn_star_slash);
	tas[0].dn.len = sizeof dn_star_slash;
	text = emit(tas, count, "star", &rc);
	CHECK_EQ_INT(rc, 0);
	CHECK(text != NULL && strstr(text, "CN=a* /b") != NULL &&
	    strstr(text, "a*/b") == NULL, "comment not defused");
	free(text);
out:
	ca_free(tas, count);
}

static void
test_load_file(void)
{
	br_x509_trust_anchor *tas = NULL;
	size_t count = 0;
	char path[] = "/tmp/test_ca_XXXXXX", err[512], want[512];
	int fd;

	if ((fd = mkstemp(path)) == -1) {
		CHECK(0, "mkstemp: %s", strerror(errno));
		return;
	}
	CHECK(write(fd, pem_rsa_root, strlen(pem_rsa_root)) ==
	    (ssize_t)strlen(pem_rsa_root), "write: %s", strerror(errno));
	close(fd);
	CHECK_EQ_INT(ca_load_file(path, &tas, &count, err, sizeof err), 0);
	CHECK_EQ_INT(count, 1);
	unlink(path);

	CHECK(ca_load_file(path, &tas, &count, err, sizeof err) == -1,
	    "missing file accepted");
	snprintf(want, sizeof want, "%s: %s", path, strerror(ENOENT));
	CHECK(strcmp(err, want) == 0, "error \"%s\", want \"%s\"", err, want);
	CHECK_EQ_INT(count, 1);
	ca_free(tas, count);
}

/* Content errors carry the path too. */
static void
test_load_file_bad(void)
{
	br_x509_trust_anchor *tas = NULL;
	size_t count = 0;
	char path[] = "/tmp/test_ca_XXXXXX", err[512];
	int fd;

	if ((fd = mkstemp(path)) == -1) {
		CHECK(0, "mkstemp: %s", strerror(errno));
		return;
	}
	CHECK(write(fd, "no pem here\n", 12) == 12, "write: %s",
	    strerror(errno));
	close(fd);
	CHECK(ca_load_file(path, &tas, &count, err, sizeof err) == -1,
	    "file without certificates accepted");
	CHECK(strncmp(err, path, strlen(path)) == 0 &&
	    strstr(err, "no CERTIFICATE") != NULL, "error \"%s\"", err);
	unlink(path);
	ca_free(tas, count);
}

static void
test_dn_format(void)
{
	br_x509_trust_anchor *tas = NULL;
	size_t count = 0;
	char err[256], text[128], small[8];

	CHECK_EQ_INT(load(pem_ec_root, &tas, &count, err, sizeof err), 0);
	if (count != 1)
		goto out;
	CHECK_EQ_INT(x509_dn_format(tas[0].dn.data, tas[0].dn.len, text,
	    sizeof text), 0);
	CHECK(strcmp(text, "C=ZZ, O=dns-tls-proxy tests, CN=Test EC Root") ==
	    0, "got \"%s\"", text);
	CHECK_EQ_INT(x509_dn_format(tas[0].dn.data, tas[0].dn.len, small,
	    sizeof small), 0);
	CHECK(strcmp(small, "C=ZZ, O") == 0, "truncated to \"%s\"", small);
	CHECK_EQ_INT(x509_dn_format(tas[0].dn.data, tas[0].dn.len - 1, text,
	    sizeof text), -1);
out:
	ca_free(tas, count);
}

static void
test_x509_strerror(void)
{
	CHECK(strcmp(x509_error_name(BR_ERR_X509_NOT_TRUSTED),
	    "certificate chain not trusted") == 0, "NOT_TRUSTED text");
	CHECK(strcmp(x509_error_name(61), "unknown X.509 error") == 0,
	    "code 61 text");
	CHECK(strcmp(x509_error_name(0), "unknown X.509 error") == 0,
	    "code 0 text");
}

const struct unit_test ca_tests[] = {
	{ "ca_pem_ec_root", test_pem_ec_root },
	{ "ca_pem_rsa_root", test_pem_rsa_root },
	{ "ca_pem_two_certs", test_pem_two_certs },
	{ "ca_pem_skips_other_objects", test_pem_skips_other_objects },
	{ "ca_pem_no_cert", test_pem_no_cert },
	{ "ca_pem_garbage", test_pem_garbage },
	{ "ca_pem_error_rolls_back", test_pem_error_rolls_back },
	{ "ca_pem_truncated", test_pem_truncated },
	{ "ca_pem_line_endings", test_pem_line_endings },
	{ "ca_der_leaf_direct_trust", test_der_leaf_direct_trust },
	{ "ca_der_v1_root_is_ca", test_der_v1_root_is_ca },
	{ "ca_der_truncated", test_der_truncated },
	{ "ca_der_trailing_data", test_der_trailing_data },
	{ "ca_emit_deterministic", test_emit_deterministic },
	{ "ca_emit_bad_args", test_emit_bad_args },
	{ "ca_emit_comment_safe", test_emit_comment_safe },
	{ "ca_load_file", test_load_file },
	{ "ca_load_file_bad", test_load_file_bad },
	{ "x509_dn_format", test_dn_format },
	{ "x509_error_name", test_x509_strerror },
	{ NULL, NULL },
};
