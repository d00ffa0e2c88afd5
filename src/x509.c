/* SPDX-License-Identifier: MIT */
/* The bounded X.509 reading done here rather than by BearSSL (see x509.h):
 * every read checks its length against the bytes it was given. */
#include <stdio.h>
#include <string.h>

#include <bearssl.h>

#include "x509.h"

/* A bounded string being built; always NUL-terminated when cap > 0. */
struct strbuf {
	char	*buf;
	size_t	 cap;
	size_t	 len;
};

/* The tag and length of the element at p, of which avail bytes can be
 * read: 1 with *hlen the size of tag and length; 0 when those run past
 * avail; -1 when malformed (a multi-byte tag, an indefinite length or one
 * of more than 4 bytes). */
static int
der_head(const unsigned char *p, size_t avail, unsigned *tag, size_t *len,
    size_t *hlen)
{
	if (avail < 2)
		return 0;
	*tag = p[0];
	if ((*tag & 0x1f) == 0x1f)
		return -1;
	*len = p[1];
	*hlen = 2;
	if (*len & 0x80) {
		size_t n = *len & 0x7f, i;

		if (n == 0 || n > 4)
			return -1;
		if (avail < 2 + n)
			return 0;
		for (*len = 0, i = 0; i < n; i++)
			*len = (*len << 8) | p[2 + i];
		*hlen += n;
	}
	return 1;
}

int
x509_der_next(const unsigned char **pos, const unsigned char *end,
    struct x509_elt *elt)
{
	const unsigned char *p = *pos;
	size_t len, hlen;

	if (p > end || der_head(p, (size_t)(end - p), &elt->tag, &len,
	    &hlen) != 1 || len > (size_t)(end - p) - hlen)
		return -1;
	elt->val = p + hlen;
	elt->len = len;
	*pos = p + hlen + len;
	return 0;
}

/* Days from 1970-01-01 to y-m-d, proleptic Gregorian, for years 0 to 9999
 * (eras of 400 years starting in March; all in unsigned 32 bits). */
static int64_t
days_from_civil(unsigned y, unsigned m, unsigned d)
{
	unsigned yoe, doy, era, days;

	y += 400 - (m <= 2);	/* from year -400: no negative years */
	era = y / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	days = era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy;	/* < 2^32 */
	return (int64_t)days - 719468 - 146097;
}

int
x509_parse_time(unsigned tag, const unsigned char *val, size_t len,
    int64_t *t)
{
	static const unsigned char mdays[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31,
	};
	/* Two digits each: [century,] year, month, day, hour, minute, second. */
	int v[7], n = tag == 0x18 ? 7 : 6, i, y, leap;
	const int *f = v + n - 6;
	const unsigned char *p = val, *end = val + len;

	if ((tag != 0x17 && tag != 0x18) || len < (size_t)n * 2 + 1)
		return -1;
	for (i = 0; i < n; i++, p += 2) {
		if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
			return -1;
		v[i] = (p[0] - '0') * 10 + (p[1] - '0');
	}
	if (tag == 0x18)
		y = v[0] * 100 + v[1];
	else
		y = f[0] + (f[0] < 50 ? 2000 : 1900);	/* RFC 5280 4.1.2.5.1 */
	leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
	if (f[1] < 1 || f[1] > 12 || f[2] < 1 ||
	    f[2] > mdays[f[1] - 1] + (f[1] == 2 && leap) || f[3] > 23 ||
	    f[4] > 59 || f[5] > 60)
		return -1;
	/* Fractions of a second, which BearSSL ignores too. */
	if (p < end && *p == '.')
		for (p++; p < end && *p >= '0' && *p <= '9'; p++)
			;
	if (p + 1 != end || *p != 'Z')
		return -1;
	*t = days_from_civil((unsigned)y, (unsigned)f[1], (unsigned)f[2]) * 86400 +
	    (int64_t)f[3] * 3600 + (int64_t)f[4] * 60 + f[5];
	return 0;
}

/* The next field of a TBSCertificate at *off, which must have the given
 * tag: 1 with the element in *elt and *off past it, 0 when it runs past the
 * len bytes at der, -1 when it runs past end (the TBSCertificate's end),
 * has another tag, or is malformed. */
static int
tbs_field(const unsigned char *der, size_t len, size_t *off, size_t end,
    unsigned tag, struct x509_elt *elt)
{
	size_t flen, hlen;
	int r;

	if (*off >= end)
		return -1;
	if ((r = der_head(der + *off, len - *off, &elt->tag, &flen,
	    &hlen)) != 1)
		return r;
	if (elt->tag != tag || hlen > end - *off || flen > end - *off - hlen)
		return -1;
	if (hlen + flen > len - *off)
		return 0;
	elt->val = der + *off + hlen;
	elt->len = flen;
	*off += hlen + flen;
	return 1;
}

enum x509_head_result
x509_read_head(const unsigned char *der, size_t len, struct x509_head *head)
{
	struct x509_elt elt, nb, na;
	const unsigned char *p, *vend;
	size_t off, clen, tlen, hlen, cert_end, start;
	unsigned tag;
	int r;

	/* Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { ... }, ... }:
	 * only the two headers, as the rest may not be here yet. */
	if ((r = der_head(der, len, &tag, &clen, &hlen)) != 1)
		return (enum x509_head_result)r;
	if (tag != 0x30 || clen > SIZE_MAX - hlen)
		return X509_HEAD_MALFORMED;
	cert_end = hlen + clen;
	off = hlen;
	if ((r = der_head(der + off, len - off, &tag, &tlen, &hlen)) != 1)
		return (enum x509_head_result)r;
	if (tag != 0x30 || hlen > cert_end - off ||
	    tlen > cert_end - off - hlen)
		return X509_HEAD_MALFORMED;
	head->tbs_end = off + hlen + tlen;
	off += hlen;
	/* [0] version (optional: v1), serialNumber, signature, issuer, validity */
	head->version = 0;
	if (off < len && der[off] == 0xa0) {
		if ((r = tbs_field(der, len, &off, head->tbs_end, 0xa0, &elt)) != 1)
			return (enum x509_head_result)r;
		/* Version ::= INTEGER, v1(0) to v3(2) */
		if (elt.len != 3 || elt.val[0] != 0x02 || elt.val[1] != 1)
			return X509_HEAD_MALFORMED;
		head->version = elt.val[2];
	}
	if ((r = tbs_field(der, len, &off, head->tbs_end, 0x02, &elt)) != 1 ||
	    (r = tbs_field(der, len, &off, head->tbs_end, 0x30, &elt)) != 1)
		return (enum x509_head_result)r;
	start = off;
	if ((r = tbs_field(der, len, &off, head->tbs_end, 0x30, &elt)) != 1)
		return (enum x509_head_result)r;
	head->issuer = der + start;
	head->issuer_len = off - start;
	if ((r = tbs_field(der, len, &off, head->tbs_end, 0x30, &elt)) != 1)
		return (enum x509_head_result)r;
	/* Validity ::= SEQUENCE { notBefore Time, notAfter Time } */
	p = elt.val;
	vend = elt.val + elt.len;
	if (x509_der_next(&p, vend, &nb) == -1 ||
	    x509_der_next(&p, vend, &na) == -1 || p != vend ||
	    x509_parse_time(nb.tag, nb.val, nb.len, &head->not_before) == -1 ||
	    x509_parse_time(na.tag, na.val, na.len, &head->not_after) == -1)
		return X509_HEAD_MALFORMED;
	head->end = off;
	return X509_HEAD_OK;
}

int
x509_cert_version(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	struct x509_head head;
	struct x509_elt cert;

	if (x509_der_next(&p, der + len, &cert) == -1 || p != der + len ||
	    x509_read_head(der, len, &head) != X509_HEAD_OK)
		return -1;
	return head.version;
}

int
x509_find_spki(const unsigned char *der, size_t derlen,
    const unsigned char **spki, size_t *len)
{
	struct x509_head head;
	struct x509_elt elt;
	size_t off, start;

	/* After the validity: subject, then subjectPublicKeyInfo. */
	if (x509_read_head(der, derlen, &head) != X509_HEAD_OK)
		return -1;
	off = head.end;
	if (tbs_field(der, derlen, &off, head.tbs_end, 0x30, &elt) != 1)
		return -1;
	start = off;
	if (tbs_field(der, derlen, &off, head.tbs_end, 0x30, &elt) != 1)
		return -1;
	*spki = der + start;
	*len = off - start;
	return 0;
}

static void
sb_putc(struct strbuf *sb, char c)
{
	if (sb->len + 1 < sb->cap) {
		sb->buf[sb->len++] = c;
		sb->buf[sb->len] = '\0';
	}
}

static void
sb_puts(struct strbuf *sb, const char *s)
{
	while (*s != '\0')
		sb_putc(sb, *s++);
}

static void
sb_escape(struct strbuf *sb, unsigned long c)
{
	if (c >= 0x20 && c < 0x7f)
		sb_putc(sb, (char)c);
	else {
		char tmp[16];

		snprintf(tmp, sizeof tmp, c < 0x100 ? "\\x%02lX" :
		    "\\u%04lX", c);
		sb_puts(sb, tmp);
	}
}

/* Dotted form of a DER OBJECT IDENTIFIER value. */
static int
sb_oid(struct strbuf *sb, const unsigned char *p, size_t len)
{
	unsigned long v = 0;
	char tmp[32];
	int first = 1;

	if (len == 0 || (p[len - 1] & 0x80))
		return -1;
	for (; len > 0; p++, len--) {
		if (v > (0xffffffffUL >> 7))
			return -1;
		v = (v << 7) | (*p & 0x7f);
		if (*p & 0x80)
			continue;
		if (first) {
			snprintf(tmp, sizeof tmp, "%lu.%lu",
			    v < 80 ? v / 40 : 2, v < 80 ? v % 40 : v - 80);
			first = 0;
		} else
			snprintf(tmp, sizeof tmp, ".%lu", v);
		sb_puts(sb, tmp);
		v = 0;
	}
	return 0;
}

/* Attribute types 2.5.4.N with a short name (RFC 4514); others print as
 * dotted OIDs. */
static const struct {
	unsigned char	 n;
	char		 name[3];
} dn_attr_names[] = {
	{ 3, "CN" }, { 6, "C" }, { 7, "L" }, { 8, "ST" }, { 10, "O" }, { 11, "OU" },
};

static int
sb_attr(struct strbuf *sb, const struct x509_elt *atv)
{
	const unsigned char *p = atv->val, *end = atv->val + atv->len;
	struct x509_elt oid, val;
	size_t i;

	if (x509_der_next(&p, end, &oid) == -1 || oid.tag != 0x06 ||
	    x509_der_next(&p, end, &val) == -1 || p != end)
		return -1;
	for (i = 0; i < sizeof dn_attr_names / sizeof dn_attr_names[0]; i++)
		if (oid.len == 3 && oid.val[0] == 0x55 && oid.val[1] == 0x04 &&
		    oid.val[2] == dn_attr_names[i].n)
			break;
	if (i < sizeof dn_attr_names / sizeof dn_attr_names[0])
		sb_puts(sb, dn_attr_names[i].name);
	else if (sb_oid(sb, oid.val, oid.len) == -1)
		return -1;
	sb_putc(sb, '=');
	switch (val.tag) {
	case 0x0c:	/* UTF8String: multi-byte sequences show as \xNN */
	case 0x12:	/* NumericString */
	case 0x13:	/* PrintableString */
	case 0x14:	/* TeletexString */
	case 0x16:	/* IA5String */
	case 0x1a:	/* VisibleString */
		for (i = 0; i < val.len; i++)
			sb_escape(sb, val.val[i]);
		return 0;
	case 0x1e:	/* BMPString: UCS-2 big-endian */
		if (val.len % 2 != 0)
			return -1;
		for (i = 0; i < val.len; i += 2)
			sb_escape(sb, (unsigned long)val.val[i] << 8 |
			    val.val[i + 1]);
		return 0;
	default:	/* anything else as hex, as RFC 4514 does */
		sb_putc(sb, '#');
		for (i = 0; i < val.len; i++) {
			char tmp[4];

			snprintf(tmp, sizeof tmp, "%02X", val.val[i]);
			sb_puts(sb, tmp);
		}
		return 0;
	}
}

int
x509_dn_format(const unsigned char *dn, size_t len, char *buf, size_t buflen)
{
	struct strbuf sb = { buf, buflen, 0 };
	const unsigned char *p, *end;
	struct x509_elt name, rdn, atv;
	int first = 1;

	if (buflen > 0)
		buf[0] = '\0';
	if (len < 2)
		return -1;
	p = dn;
	end = dn + len;
	if (x509_der_next(&p, end, &name) == -1 || name.tag != 0x30 || p != end)
		return -1;
	/* Name ::= SEQUENCE OF SET OF AttributeTypeAndValue */
	p = name.val;
	end = name.val + name.len;
	while (p < end) {
		const unsigned char *sp, *send;

		if (x509_der_next(&p, end, &rdn) == -1 || rdn.tag != 0x31)
			return -1;
		sp = rdn.val;
		send = rdn.val + rdn.len;
		if (!first)
			sb_puts(&sb, ", ");
		first = 0;
		while (sp < send) {
			if (sp != rdn.val)
				sb_putc(&sb, '+');
			if (x509_der_next(&sp, send, &atv) == -1 ||
			    atv.tag != 0x30 || sb_attr(&sb, &atv) == -1)
				return -1;
		}
	}
	return 0;
}

int
x509_dn_brief(const unsigned char *dn, size_t len, char *buf, size_t buflen)
{
	struct strbuf sb = { buf, buflen, 0 };
	const unsigned char *p = dn, *end = dn + len, *sp, *send, *ap, *aend;
	struct x509_elt name, rdn, atv, oid, val;
	size_t i;

	if (buflen > 0)
		buf[0] = '\0';
	if (x509_der_next(&p, end, &name) == -1 || name.tag != 0x30 || p != end)
		return -1;
	/* Name ::= SEQUENCE OF SET OF SEQUENCE { type, value } */
	for (p = name.val, end = name.val + name.len; p < end;) {
		if (x509_der_next(&p, end, &rdn) == -1 || rdn.tag != 0x31)
			return -1;
		for (sp = rdn.val, send = rdn.val + rdn.len; sp < send;) {
			if (x509_der_next(&sp, send, &atv) == -1 || atv.tag != 0x30)
				return -1;
			ap = atv.val;
			aend = atv.val + atv.len;
			if (x509_der_next(&ap, aend, &oid) == -1 ||
			    x509_der_next(&ap, aend, &val) == -1)
				return -1;
			/* 2.5.4.3 commonName, 2.5.4.10 organizationName */
			if (oid.len != 3 || memcmp(oid.val, "\x55\x04", 2) != 0 ||
			    (oid.val[2] != 3 && oid.val[2] != 10))
				continue;
			sb_puts(&sb, sb.len > 0 ? ", " : "");
			sb_puts(&sb, oid.val[2] == 3 ? "CN=" : "O=");
			for (i = 0; i < val.len; i++)
				sb_putc(&sb, val.val[i] >= 0x20 && val.val[i] < 0x7f ?
				    (char)val.val[i] : '?');
		}
	}
	return 0;
}

static const char *const x509_errors[] = {
	[BR_ERR_X509_OK - 32] = "ok",
	[BR_ERR_X509_INVALID_VALUE - 32] = "invalid value in ASN.1 structure",
	[BR_ERR_X509_TRUNCATED - 32] = "truncated certificate",
	[BR_ERR_X509_EMPTY_CHAIN - 32] = "empty certificate chain",
	[BR_ERR_X509_INNER_TRUNC - 32] = "inner element overflows outer",
	[BR_ERR_X509_BAD_TAG_CLASS - 32] = "unsupported tag class",
	[BR_ERR_X509_BAD_TAG_VALUE - 32] = "unsupported tag value",
	[BR_ERR_X509_INDEFINITE_LENGTH - 32] = "indefinite length",
	[BR_ERR_X509_EXTRA_ELEMENT - 32] = "extraneous element",
	[BR_ERR_X509_UNEXPECTED - 32] = "unexpected element",
	[BR_ERR_X509_NOT_CONSTRUCTED - 32] = "expected constructed element",
	[BR_ERR_X509_NOT_PRIMITIVE - 32] = "expected primitive element",
	[BR_ERR_X509_PARTIAL_BYTE - 32] = "BIT STRING not whole bytes",
	[BR_ERR_X509_BAD_BOOLEAN - 32] = "bad BOOLEAN",
	[BR_ERR_X509_OVERFLOW - 32] = "value too large",
	[BR_ERR_X509_BAD_DN - 32] = "malformed DN",
	[BR_ERR_X509_BAD_TIME - 32] = "malformed time",
	[BR_ERR_X509_UNSUPPORTED - 32] =
	    "unsupported algorithm or key (BearSSL: RSA, EC P-256/384/521)",
	[BR_ERR_X509_LIMIT_EXCEEDED - 32] =
	    "size limit exceeded (BearSSL: RSA keys up to 4096 bits)",
	[BR_ERR_X509_WRONG_KEY_TYPE - 32] = "wrong key type",
	[BR_ERR_X509_BAD_SIGNATURE - 32] = "bad certificate signature",
	[BR_ERR_X509_TIME_UNKNOWN - 32] = "validity dates not known",
	[BR_ERR_X509_EXPIRED - 32] = "certificate expired or not yet valid",
	[BR_ERR_X509_DN_MISMATCH - 32] = "issuer/subject DN mismatch",
	[BR_ERR_X509_BAD_SERVER_NAME - 32] =
	    "certificate does not match the name",
	[BR_ERR_X509_CRITICAL_EXTENSION - 32] =
	    "unsupported critical extension",
	[BR_ERR_X509_NOT_CA - 32] = "issuer is not a CA",
	[BR_ERR_X509_FORBIDDEN_KEY_USAGE - 32] = "key usage forbids this use",
	[BR_ERR_X509_WEAK_PUBLIC_KEY - 32] = "public key too weak",
	[BR_ERR_X509_NOT_TRUSTED - 32] = "certificate chain not trusted",
};

const char *
x509_error_name(int code)
{
	if (code >= 32 &&
	    code - 32 < (int)(sizeof x509_errors / sizeof x509_errors[0]) &&
	    x509_errors[code - 32] != NULL)
		return x509_errors[code - 32];
	return "unknown X.509 error";
}
