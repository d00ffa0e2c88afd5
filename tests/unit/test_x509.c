/* SPDX-License-Identifier: MIT */
/* Unit tests for x509.c: DER times read as BearSSL reads them, the head of
 * a certificate read from any prefix of it, the SubjectPublicKeyInfo and
 * the version. (DN formatting and error names: test_ca.c.) */
#include <stdint.h>
#include <string.h>

#include "unit.h"
#include "x509.h"

#include "tls_chains.h"

static const struct time_case {
	unsigned tag;
	const char *text;
	int ok;
	int64_t want;
} time_cases[] = {
	{ 0x17, "700101000000Z", 1, 0 },
	{ 0x17, "300101000000Z", 1, 1893456000 },	/* YY < 50: 20YY */
	{ 0x17, "491231235959Z", 1, 2524607999 },
	{ 0x17, "500101000000Z", 1, -631152000 },	/* YY >= 50: 19YY */
	{ 0x18, "19700101000000Z", 1, 0 },
	{ 0x18, "19691231235959Z", 1, -1 },
	{ 0x18, "20991231235959Z", 1, 4102444799 },
	{ 0x18, "20000229120000Z", 1, 951825600 },	/* leap year */
	{ 0x18, "21000301000000Z", 1, 4107542400 },	/* 2100: not leap */
	{ 0x18, "20161231235960Z", 1, 1483228800 },	/* leap second */
	{ 0x18, "20300101000000.25Z", 1, 1893456000 },	/* fraction ignored */
	{ 0x18, "20300101000000.Z", 1, 1893456000 },
	{ 0x17, "300101000000.5Z", 1, 1893456000 },
	{ 0x18, "99991231235959Z", 1, 253402300799 },
	{ 0x18, "00000101000000Z", 1, -62167219200 },
	{ 0x18, "21000229000000Z", 0, 0 },
	{ 0x18, "20300229000000Z", 0, 0 },
	{ 0x18, "20301301000000Z", 0, 0 },
	{ 0x18, "20300001000000Z", 0, 0 },
	{ 0x18, "20300100000000Z", 0, 0 },
	{ 0x18, "20300431000000Z", 0, 0 },
	{ 0x18, "20300101240000Z", 0, 0 },
	{ 0x18, "20300101006000Z", 0, 0 },
	{ 0x18, "20300101000061Z", 0, 0 },
	{ 0x18, "20300101000000", 0, 0 },
	{ 0x18, "20300101000000+0100", 0, 0 },
	{ 0x18, "20300101000000ZZ", 0, 0 },
	{ 0x18, "2030010100000Z", 0, 0 },
	{ 0x18, "2030O101000000Z", 0, 0 },
	{ 0x18, "-0300101000000Z", 0, 0 },
	{ 0x17, "3001010000Z", 0, 0 },			/* no seconds */
	{ 0x17, "20300101000000Z", 0, 0 },		/* a 4-digit year */
	{ 0x04, "300101000000Z", 0, 0 },
	{ 0x18, "", 0, 0 },
};

static void
test_parse_time(void)
{
	size_t i;

	for (i = 0; i < sizeof(time_cases) / sizeof(time_cases[0]); i++) {
		const struct time_case *k = &time_cases[i];
		int64_t t = -12345;
		int rc = x509_parse_time(k->tag, (const unsigned char *)k->text, strlen(k->text),
		    &t);

		CHECK(rc == (k->ok ? 0 : -1), "%s (tag %u): rc %d", k->text, k->tag, rc);
		CHECK(!k->ok || t == k->want, "%s: %lld, want %lld", k->text, (long long)t,
		    (long long)k->want);
	}
}

struct cert {
	const char *name;
	const unsigned char *der;
	size_t len;
	int64_t not_before, not_after;
};

#define CERT(n, nb, na) { #n, der_##n, sizeof(der_##n), nb, na }

static const struct cert certs[] = {
	CERT(root, 946684800, 4102444799),	/* 2000-01-01, 2099-12-31T23:59:59 */
	CERT(leaf, 1893456000, 1901232000),	/* 2030-01-01, 2030-04-01 */
	CERT(inter, 1896134400, 1927670400),	/* 2030-02-01, 2031-02-01 */
	CERT(old, 978307200, 986083200),	/* 2001-01-01, 2001-04-01 */
	CERT(bleaf, 1893456000, 1901232000),
};

/* Every prefix: SHORT until the validity is in, then OK with its dates. */
static void
test_read_head_prefixes(void)
{
	size_t i, n;

	for (i = 0; i < sizeof(certs) / sizeof(certs[0]); i++) {
		const struct cert *c = &certs[i];
		struct x509_head h;
		size_t end = 0;

		if (x509_read_head(c->der, c->len, &h) != X509_HEAD_OK) {
			unit_fail(__FILE__, __LINE__, "%s: head not read", c->name);
			continue;
		}
		end = h.end;
		CHECK(h.not_before == c->not_before && h.not_after == c->not_after,
		    "%s: dates %lld %lld", c->name, (long long)h.not_before,
		    (long long)h.not_after);
		CHECK(h.issuer > c->der && h.issuer + h.issuer_len < c->der + end &&
		    h.issuer[0] == 0x30, "%s: issuer", c->name);
		for (n = 0; n <= c->len; n++) {
			enum x509_head_result r = x509_read_head(c->der, n, &h);

			if (r != (n < end ? X509_HEAD_SHORT : X509_HEAD_OK)) {
				unit_fail(__FILE__, __LINE__, "%s: %zu of %zu bytes (end %zu): %d",
				    c->name, n, c->len, end, (int)r);
				break;
			}
		}
	}
}

static void
test_read_head_malformed(void)
{
	unsigned char buf[512];
	struct x509_head h;
	size_t len = sizeof(der_leaf);

	memcpy(buf, der_leaf, len);
	buf[0] = 0x31;		/* not a SEQUENCE */
	CHECK_EQ_INT(x509_read_head(buf, len, &h), X509_HEAD_MALFORMED);
	memcpy(buf, der_leaf, len);
	buf[1] = 0x80;		/* indefinite length */
	CHECK_EQ_INT(x509_read_head(buf, len, &h), X509_HEAD_MALFORMED);
	memcpy(buf, der_leaf, len);
	buf[1] = 0x81;		/* a certificate shorter than its TBSCertificate */
	buf[2] = 0x10;
	CHECK_EQ_INT(x509_read_head(buf, len, &h), X509_HEAD_MALFORMED);
	/* A time that is not one: month 13 in the leaf's notBefore. */
	memcpy(buf, der_leaf, len);
	CHECK_EQ_INT(x509_read_head(buf, len, &h), X509_HEAD_OK);
	{
		/* Validity: SEQUENCE of 30 bytes, two UTCTimes of 13 characters. */
		unsigned char *p = buf + h.end - 30;

		CHECK(p[-2] == 0x30 && p[-1] == 30 && p[0] == 0x17 && p[1] == 13,
		    "the leaf's UTCTime notBefore");
		p[4] = '1';
		p[5] = '3';
		CHECK_EQ_INT(x509_read_head(buf, len, &h), X509_HEAD_MALFORMED);
	}
	CHECK_EQ_INT(x509_read_head(buf, 0, &h), X509_HEAD_SHORT);
	CHECK_EQ_INT(x509_read_head((const unsigned char *)"\x30\x85", 2, &h),
	    X509_HEAD_MALFORMED);
}

static void
test_spki_and_version(void)
{
	const unsigned char *spki;
	size_t len;

	CHECK_EQ_INT(x509_find_spki(der_leaf, sizeof(der_leaf), &spki, &len), 0);
	/* An EC P-256 SubjectPublicKeyInfo is 91 bytes: SEQUENCE of 89. */
	CHECK(len == 91 && spki[0] == 0x30 && spki[1] == 89, "leaf SPKI: %zu bytes", len);
	CHECK_EQ_INT(x509_find_spki(der_bleaf, sizeof(der_bleaf), &spki, &len), 0);
	CHECK_EQ_INT(x509_find_spki(der_leaf, 200, &spki, &len), -1);
	CHECK_EQ_INT(x509_cert_version(der_leaf, sizeof(der_leaf)), 2);
	CHECK_EQ_INT(x509_cert_version(der_leaf, sizeof(der_leaf) - 1), -1);
}

/* The issuer of a log line: O and CN only, in DN order. */
static void
test_dn_brief(void)
{
	/* O=Ex\x01mple, OU=Unit, CN=R1 */
	static const unsigned char dn[] = {
		0x30, 0x2e, 0x31, 0x10, 0x30, 0x0e, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x0c, 0x07,
		'E', 'x', 0x01, 'm', 'p', 'l', 'e', 0x31, 0x0d, 0x30, 0x0b, 0x06, 0x03, 0x55,
		0x04, 0x0b, 0x0c, 0x04, 'U', 'n', 'i', 't', 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03,
		0x55, 0x04, 0x03, 0x0c, 0x02, 'R', '1',
	};
	struct x509_head h;
	char text[64], small[8];

	CHECK_EQ_INT(x509_dn_brief(dn, sizeof(dn), text, sizeof(text)), 0);
	CHECK(strcmp(text, "O=Ex?mple, CN=R1") == 0, "brief \"%s\"", text);
	CHECK_EQ_INT(x509_dn_brief(dn, sizeof(dn), small, sizeof(small)), 0);
	CHECK(strcmp(small, "O=Ex?mp") == 0, "truncated \"%s\"", small);
	CHECK_EQ_INT(x509_dn_brief(dn, sizeof(dn) - 1, text, sizeof(text)), -1);
	CHECK_EQ_INT(x509_read_head(der_bleaf, sizeof(der_bleaf), &h), X509_HEAD_OK);
	CHECK_EQ_INT(x509_dn_brief(h.issuer, h.issuer_len, text, sizeof(text)), 0);
	CHECK(strcmp(text, "CN=Unit Big Name") == 0, "twenty OUs left out: \"%s\"", text);
}

const struct unit_test x509_tests[] = {
	{ "x509_parse_time", test_parse_time },
	{ "x509_read_head_prefixes", test_read_head_prefixes },
	{ "x509_read_head_malformed", test_read_head_malformed },
	{ "x509_spki_and_version", test_spki_and_version },
	{ "x509_dn_brief", test_dn_brief },
	{ NULL, NULL },
};
