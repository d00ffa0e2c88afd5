/* SPDX-License-Identifier: MIT */
/* The little X.509 reading done here rather than by BearSSL, which decodes
 * and verifies certificates but does not expose a certificate's version,
 * issuer, validity dates or SubjectPublicKeyInfo bytes: one bounded DER
 * reader, those fields, readable DNs, and the text for BearSSL's X.509
 * error codes. Nothing here allocates; every read stays inside the bytes
 * given. Used at build time (ca_gen), at start-up (--ca-file) and by the
 * certificate verifier (tls.c). */
#ifndef X509_H
#define X509_H

#include <stddef.h>
#include <stdint.h>

/* One DER element: its tag (single-byte tags only: X.509 needs no other)
 * and its value. */
struct x509_elt {
	unsigned		 tag;
	const unsigned char	*val;
	size_t			 len;
};

/* Read the element at *pos, which must end by end, and advance *pos past
 * it. Definite lengths of up to 4 bytes. Returns 0, or -1 when malformed. */
int x509_der_next(const unsigned char **pos, const unsigned char *end,
    struct x509_elt *elt);

/* The fields at the start of a certificate, up to its validity. */
struct x509_head {
	int			 version;	/* 0 = v1, 2 = v3 */
	const unsigned char	*issuer;	/* the issuer Name's DER, in the input */
	size_t			 issuer_len;
	int64_t			 not_before;	/* seconds since the epoch (UTC) */
	int64_t			 not_after;
	size_t			 end;		/* input bytes up to the validity's end */
	size_t			 tbs_end;	/* where the TBSCertificate ends */
};

enum x509_head_result {
	X509_HEAD_MALFORMED = -1,
	X509_HEAD_SHORT = 0,	/* fine so far: the validity is further on */
	X509_HEAD_OK = 1,
};

/* Read the head of the certificate whose first len bytes are at der (the
 * verifier sees certificates in pieces). Times are read as BearSSL reads
 * them: UTCTime (years 1950-2049) or GeneralizedTime, seconds up to 60,
 * fractions of a second ignored, 'Z' only. */
enum x509_head_result x509_read_head(const unsigned char *der, size_t len,
    struct x509_head *head);

/* A UTCTime (tag 0x17) or GeneralizedTime (0x18) value to seconds since
 * the epoch. Returns 0, or -1 when malformed. */
int x509_parse_time(unsigned tag, const unsigned char *val, size_t len,
    int64_t *t);

/* The version field of a whole DER certificate (0 = v1, 2 = v3), or -1
 * unless der is exactly one SEQUENCE whose head reads (x509_read_head). */
int x509_cert_version(const unsigned char *der, size_t len);

/* The SubjectPublicKeyInfo (tag, length and value) inside a certificate:
 * sets *spki and *len and returns 0, or -1 when it does not parse. */
int x509_find_spki(const unsigned char *der, size_t derlen,
    const unsigned char **spki, size_t *len);

/*
 * Format a DER-encoded DN for people, in encoding order
 * ("C=US, O=Example, CN=Example Root"); non-ASCII bytes appear as \xNN.
 * Always NUL-terminates buf (truncating if needed). Returns 0, or -1 if
 * the DN is malformed (buf then holds what was decoded so far).
 */
int x509_dn_format(const unsigned char *dn, size_t len, char *buf,
    size_t buflen);

/* The organisation and common name of a DN, for log lines: "O=Example,
 * CN=Example CA" (in DN order; other attributes left out, other than
 * printable ASCII as '?'). Always NUL-terminates buf. Returns 0, or -1 if
 * the DN is malformed. */
int x509_dn_brief(const unsigned char *dn, size_t len, char *buf, size_t buflen);

/* Short text for a BearSSL X.509 error code (BR_ERR_X509_*), for logs. */
const char *x509_error_name(int code);

#endif
