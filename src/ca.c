/* SPDX-License-Identifier: MIT */
/* Trust anchors from root certificates: PEM and DER decoding into BearSSL
 * br_x509_trust_anchor and C emission of anchor tables for the compiled-in
 * bundle (the DER fields BearSSL does not expose come from x509.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bearssl.h>

#include "ca.h"
#include "x509.h"

/* Largest CA file read: the whole Mozilla bundle is about 220 KB; the
 * bound only stops a wrong path (/dev/zero, a log) from eating memory. */
#define CA_FILE_MAX	((size_t)8 * 1024 * 1024)

/* Room for one reason line built here before the caller's prefix. */
#define CA_WHY_MAX	256

/* Room for a readable subject in a generated comment. */
#define CA_DN_TEXT_MAX	256

/* A growable byte buffer fed by BearSSL callbacks, which cannot fail:
 * an allocation failure is remembered in oom and reported afterwards. */
struct bytebuf {
	unsigned char	*buf;
	size_t		 len;
	size_t		 cap;
	int		 oom;
};

/* State of one ca_load_pem call while it feeds the PEM decoder. */
struct pem_loader {
	br_pem_decoder_context	  pc;
	struct bytebuf		  der;		/* current certificate */
	br_x509_trust_anchor	**tas;
	size_t			 *count;
	size_t			  certs;	/* CERTIFICATE objects seen */
	size_t			  line;		/* newlines consumed */
	size_t			  obj_line;	/* BEGIN line of object */
	int			  in_obj;
	int			  is_cert;
	char			 *err;
	size_t			  errlen;
};

static void seterr(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void
bytebuf_append(void *ctx, const void *src, size_t len)
{
	struct bytebuf *bb = ctx;
	unsigned char *nbuf;

	if (bb->oom || len == 0)
		return;
	if (len > bb->cap - bb->len) {
		size_t ncap = bb->cap ? bb->cap : 256;

		while (ncap - bb->len < len) {
			if (ncap > SIZE_MAX / 2) {
				bb->oom = 1;
				return;
			}
			ncap *= 2;
		}
		if ((nbuf = realloc(bb->buf, ncap)) == NULL) {
			bb->oom = 1;
			return;
		}
		bb->buf = nbuf;
		bb->cap = ncap;
	}
	memcpy(bb->buf + bb->len, src, len);
	bb->len += len;
}

/* Copy a big-endian integer without its leading zero bytes. */
static unsigned char *
copy_bigint(const unsigned char *src, size_t len, size_t *outlen)
{
	unsigned char *dst;

	while (len > 0 && *src == 0) {
		src++;
		len--;
	}
	*outlen = len;
	if (len == 0 || (dst = malloc(len)) == NULL)
		return NULL;
	memcpy(dst, src, len);
	return dst;
}

/* Copy the key out of the decoder, whose buffers die with it. */
static int
copy_pkey(const br_x509_pkey *src, br_x509_pkey *dst, char *err,
    size_t errlen)
{
	const br_rsa_public_key *rsa;
	const br_ec_public_key *ec;

	dst->key_type = src->key_type;
	switch (src->key_type) {
	case BR_KEYTYPE_RSA:
		rsa = &src->key.rsa;
		dst->key.rsa.n = copy_bigint(rsa->n, rsa->nlen,
		    &dst->key.rsa.nlen);
		dst->key.rsa.e = copy_bigint(rsa->e, rsa->elen,
		    &dst->key.rsa.elen);
		if (dst->key.rsa.n == NULL || dst->key.rsa.e == NULL) {
			seterr(err, errlen, "%s", dst->key.rsa.nlen == 0 ||
			    dst->key.rsa.elen == 0 ? "RSA key is zero" :
			    "out of memory");
			free(dst->key.rsa.n);
			free(dst->key.rsa.e);
			memset(dst, 0, sizeof *dst);
			return -1;
		}
		return 0;
	case BR_KEYTYPE_EC:
		ec = &src->key.ec;
		if (ec->qlen == 0 || (dst->key.ec.q = malloc(ec->qlen)) == NULL) {
			seterr(err, errlen, "%s", ec->qlen == 0 ?
			    "EC key is empty" : "out of memory");
			memset(dst, 0, sizeof *dst);
			return -1;
		}
		memcpy(dst->key.ec.q, ec->q, ec->qlen);
		dst->key.ec.qlen = ec->qlen;
		dst->key.ec.curve = ec->curve;
		return 0;
	default:
		seterr(err, errlen, "unsupported key type %d", src->key_type);
		memset(dst, 0, sizeof *dst);
		return -1;
	}
}

static void
free_anchor(br_x509_trust_anchor *ta)
{
	free(ta->dn.data);
	switch (ta->pkey.key_type) {
	case BR_KEYTYPE_RSA:
		free(ta->pkey.key.rsa.n);
		free(ta->pkey.key.rsa.e);
		break;
	case BR_KEYTYPE_EC:
		free(ta->pkey.key.ec.q);
		break;
	}
	memset(ta, 0, sizeof *ta);
}

int
ca_decode_cert(const unsigned char *der, size_t len,
    br_x509_trust_anchor *ta, char *err, size_t errlen)
{
	br_x509_decoder_context dc;
	struct bytebuf dn = { NULL, 0, 0, 0 };
	const br_x509_pkey *pk;
	int version, code;

	memset(ta, 0, sizeof *ta);
	/* The subject DN comes through the callback, in pieces. */
	br_x509_decoder_init(&dc, bytebuf_append, &dn);
	if (len > 0)
		br_x509_decoder_push(&dc, der, len);
	if ((code = br_x509_decoder_last_error(&dc)) != 0) {
		seterr(err, errlen, "bad certificate: %s",
		    x509_error_name(code));
		goto fail;
	}
	if ((version = x509_cert_version(der, len)) == -1) {
		seterr(err, errlen, "bad certificate: unexpected DER layout");
		goto fail;
	}
	if (dn.oom || dn.len == 0) {
		seterr(err, errlen, "%s", dn.oom ? "out of memory" :
		    "empty subject DN");
		goto fail;
	}
	/* pk points into dc: copy the key bytes before dc goes away. */
	if ((pk = br_x509_decoder_get_pkey(&dc)) == NULL) {
		seterr(err, errlen, "bad certificate: no public key");
		goto fail;
	}
	if (copy_pkey(pk, &ta->pkey, err, errlen) == -1)
		goto fail;
	ta->dn.data = dn.buf;
	ta->dn.len = dn.len;
	/* See ca.h: v1/v2 roots are CAs by the user's say-so. */
	if (br_x509_decoder_isCA(&dc) || version < 2)
		ta->flags = BR_X509_TA_CA;
	return 0;

fail:
	free(dn.buf);
	return -1;
}

static size_t
count_newlines(const unsigned char *buf, size_t len)
{
	size_t n = 0;

	while (len-- > 0)
		if (*buf++ == '\n')
			n++;
	return n;
}

/*
 * Whether a PEM object name is a certificate. BearSSL 0.6 drops the
 * trailing dashes only when the BEGIN line ends in a bare LF: with CRLF
 * the name is "CERTIFICATE-----", so strip them here.
 */
static int
pem_name_is_cert(const char *name)
{
	size_t len = strlen(name);

	while (len > 0 && (name[len - 1] == '-' || name[len - 1] == ' ' ||
	    name[len - 1] == '\r'))
		len--;
	return (len == 11 && memcmp(name, "CERTIFICATE", 11) == 0) ||
	    (len == 16 && memcmp(name, "X509 CERTIFICATE", 16) == 0);
}

static void pem_error(struct pem_loader *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* An error about the current PEM object, naming it for a person. */
static void
pem_error(struct pem_loader *ld, const char *fmt, ...)
{
	char why[CA_WHY_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	if (ld->is_cert)
		seterr(ld->err, ld->errlen, "certificate #%zu (line %zu): %s",
		    ld->certs, ld->obj_line, why);
	else
		seterr(ld->err, ld->errlen, "PEM object at line %zu: %s",
		    ld->obj_line, why);
}

static int
pem_add_cert(struct pem_loader *ld)
{
	br_x509_trust_anchor ta, *ntas;
	char why[CA_WHY_MAX];

	if (ld->der.oom) {
		pem_error(ld, "out of memory");
		return -1;
	}
	if (ca_decode_cert(ld->der.buf, ld->der.len, &ta, why,
	    sizeof why) == -1) {
		pem_error(ld, "%s", why);
		return -1;
	}
	/* One realloc per anchor: start-up only, a few hundred at most. */
	if (*ld->count >= SIZE_MAX / sizeof ta - 1 ||
	    (ntas = realloc(*ld->tas, (*ld->count + 1) * sizeof ta)) == NULL) {
		free_anchor(&ta);
		pem_error(ld, "out of memory");
		return -1;
	}
	ntas[(*ld->count)++] = ta;
	*ld->tas = ntas;
	return 0;
}

/* Push bytes through the PEM decoder, handling each event it raises. */
static int
pem_feed(struct pem_loader *ld, const unsigned char *buf, size_t len)
{
	while (len > 0) {
		size_t n = br_pem_decoder_push(&ld->pc, buf, len);

		ld->line += count_newlines(buf, n);
		buf += n;
		len -= n;
		switch (br_pem_decoder_event(&ld->pc)) {
		case BR_PEM_BEGIN_OBJ:
			/* Raised once the BEGIN line's newline is in. */
			ld->in_obj = 1;
			ld->obj_line = ld->line - 1;
			ld->is_cert = pem_name_is_cert(
			    br_pem_decoder_name(&ld->pc));
			if (ld->is_cert) {
				ld->certs++;
				ld->der.len = 0;
				br_pem_decoder_setdest(&ld->pc, bytebuf_append,
				    &ld->der);
			} else
				br_pem_decoder_setdest(&ld->pc, NULL, NULL);
			break;
		case BR_PEM_END_OBJ:
			ld->in_obj = 0;
			if (ld->is_cert && pem_add_cert(ld) == -1)
				return -1;
			break;
		case BR_PEM_ERROR:
			pem_error(ld, "malformed PEM");
			return -1;
		default:
			/* push takes less than offered only at an event;
			 * never spin if that ever changes. */
			if (n == 0) {
				pem_error(ld, "PEM decoder stalled");
				return -1;
			}
			break;
		}
	}
	return 0;
}

int
ca_load_pem(const unsigned char *pem, size_t len,
    br_x509_trust_anchor **tas, size_t *count, char *err, size_t errlen)
{
	struct pem_loader ld;
	size_t start = *count;
	int rc = -1;

	memset(&ld, 0, sizeof ld);
	br_pem_decoder_init(&ld.pc);
	ld.tas = tas;
	ld.count = count;
	ld.line = 1;
	ld.err = err;
	ld.errlen = errlen;
	/* The decoder acts on a line at its newline: add one so a file
	 * whose END line lacks it still ends the object. */
	if (pem_feed(&ld, pem, len) == -1 ||
	    pem_feed(&ld, (const unsigned char *)"\n", 1) == -1)
		goto out;
	if (ld.in_obj) {
		pem_error(&ld, "truncated PEM (no END line)");
		goto out;
	}
	if (ld.certs == 0) {
		seterr(err, errlen, "no CERTIFICATE found in PEM data");
		goto out;
	}
	rc = 0;
out:
	if (rc == -1) {
		while (*count > start)
			free_anchor(&(*tas)[--*count]);
	}
	free(ld.der.buf);
	return rc;
}

int
ca_load_file(const char *path, br_x509_trust_anchor **tas, size_t *count,
    char *err, size_t errlen)
{
	struct bytebuf file = { NULL, 0, 0, 0 };
	unsigned char chunk[8192];
	char why[CA_WHY_MAX];
	ssize_t got;
	size_t n;
	int rc = -1, fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((got = read(fd, chunk, sizeof chunk)) != 0) {
		if (got == -1) {
			if (errno == EINTR)
				continue;
			seterr(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		n = (size_t)got;
		if (file.len + n > CA_FILE_MAX) {
			seterr(err, errlen, "%s: larger than %zu bytes", path,
			    CA_FILE_MAX);
			goto out;
		}
		bytebuf_append(&file, chunk, n);
		if (file.oom) {
			seterr(err, errlen, "%s: out of memory", path);
			goto out;
		}
	}
	if (ca_load_pem(file.buf, file.len, tas, count, why,
	    sizeof why) == -1) {
		seterr(err, errlen, "%s: %s", path, why);
		goto out;
	}
	rc = 0;
out:
	close(fd);
	free(file.buf);
	return rc;
}

void
ca_free(br_x509_trust_anchor *tas, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		free_anchor(&tas[i]);
	free(tas);
}

static int
is_identifier(const char *s)
{
	const char *p;

	if (s == NULL || *s == '\0' || (*s >= '0' && *s <= '9'))
		return 0;
	for (p = s; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_'))
			return 0;
	return 1;
}

/* Free text inside a block comment: printable ASCII only, newlines start
 * a new comment line, and never a closing star-slash. */
static void
emit_comment_text(FILE *out, const char *s, const char *indent)
{
	char prev = '\0';

	for (; *s != '\0'; prev = *s++) {
		if (*s == '\n')
			fprintf(out, "\n *%s", indent);
		else {
			if (*s == '/' && prev == '*')
				fputc(' ', out);
			fputc(*s >= 0x20 && *s < 0x7f ? *s : '?', out);
		}
	}
}

static void
emit_bytes(FILE *out, const char *symbol, size_t idx, const char *what,
    const unsigned char *buf, size_t len)
{
	size_t i;

	fprintf(out, "static const unsigned char %s_%zu_%s[%zu] = {",
	    symbol, idx, what, len);
	for (i = 0; i < len; i++)
		fprintf(out, "%s0x%02X,", i % 12 == 0 ? "\n\t" : " ", buf[i]);
	fputs("\n};\n", out);
}

static const char *
curve_name(int curve)
{
	switch (curve) {
	case BR_EC_secp256r1:
		return "BR_EC_secp256r1";
	case BR_EC_secp384r1:
		return "BR_EC_secp384r1";
	case BR_EC_secp521r1:
		return "BR_EC_secp521r1";
	default:
		return NULL;
	}
}

/* Bits in a big-endian unsigned integer without leading zero bytes. */
static size_t
bigint_bits(const unsigned char *p, size_t len)
{
	size_t bits;
	unsigned top;

	if (len == 0)
		return 0;
	bits = (len - 1) * 8;
	for (top = p[0]; top != 0; top >>= 1)
		bits++;
	return bits;
}

static int
anchor_ok(const br_x509_trust_anchor *ta)
{
	if (ta->dn.len == 0)
		return 0;
	switch (ta->pkey.key_type) {
	case BR_KEYTYPE_RSA:
		return ta->pkey.key.rsa.nlen > 0 && ta->pkey.key.rsa.elen > 0;
	case BR_KEYTYPE_EC:
		return ta->pkey.key.ec.qlen > 0;
	default:
		return 0;
	}
}

static void
emit_anchor_data(FILE *out, const br_x509_trust_anchor *ta,
    const char *symbol, size_t idx)
{
	char subject[CA_DN_TEXT_MAX];
	const br_x509_pkey *pk = &ta->pkey;

	/* A malformed DN still gets whatever part was readable. */
	x509_dn_format(ta->dn.data, ta->dn.len, subject, sizeof subject);
	fprintf(out, "\n/* %zu: ", idx);
	emit_comment_text(out, subject, "");
	if (pk->key_type == BR_KEYTYPE_RSA)
		fprintf(out, "\n * RSA %zu-bit",
		    bigint_bits(pk->key.rsa.n, pk->key.rsa.nlen));
	else if (curve_name(pk->key.ec.curve) != NULL)
		fprintf(out, "\n * EC %s", curve_name(pk->key.ec.curve) + 6);
	else
		fprintf(out, "\n * EC curve %d", pk->key.ec.curve);
	fprintf(out, ", %s */\n", ta->flags & BR_X509_TA_CA ? "CA" :
	    "direct trust (not a CA)");
	emit_bytes(out, symbol, idx, "dn", ta->dn.data, ta->dn.len);
	if (pk->key_type == BR_KEYTYPE_RSA) {
		emit_bytes(out, symbol, idx, "rsa_n", pk->key.rsa.n,
		    pk->key.rsa.nlen);
		emit_bytes(out, symbol, idx, "rsa_e", pk->key.rsa.e,
		    pk->key.rsa.elen);
	} else
		emit_bytes(out, symbol, idx, "ec_q", pk->key.ec.q,
		    pk->key.ec.qlen);
}

/* BearSSL's structures hold non-const pointers; the data is never written
 * through them, so the casts keep the tables in read-only memory. */
static void
emit_anchor_entry(FILE *out, const br_x509_trust_anchor *ta,
    const char *symbol, size_t idx)
{
	const br_x509_pkey *pk = &ta->pkey;

	fprintf(out, "\t{\n"
	    "\t\t.dn = { (unsigned char *)%s_%zu_dn, sizeof %s_%zu_dn },\n"
	    "\t\t.flags = %s,\n"
	    "\t\t.pkey = {\n",
	    symbol, idx, symbol, idx,
	    ta->flags & BR_X509_TA_CA ? "BR_X509_TA_CA" : "0");
	if (pk->key_type == BR_KEYTYPE_RSA)
		fprintf(out, "\t\t\t.key_type = BR_KEYTYPE_RSA,\n"
		    "\t\t\t.key.rsa = {\n"
		    "\t\t\t\t.n = (unsigned char *)%s_%zu_rsa_n,\n"
		    "\t\t\t\t.nlen = sizeof %s_%zu_rsa_n,\n"
		    "\t\t\t\t.e = (unsigned char *)%s_%zu_rsa_e,\n"
		    "\t\t\t\t.elen = sizeof %s_%zu_rsa_e,\n"
		    "\t\t\t},\n",
		    symbol, idx, symbol, idx, symbol, idx, symbol, idx);
	else {
		const char *curve;

		fputs("\t\t\t.key_type = BR_KEYTYPE_EC,\n"
		    "\t\t\t.key.ec = {\n", out);
		if ((curve = curve_name(pk->key.ec.curve)) != NULL)
			fprintf(out, "\t\t\t\t.curve = %s,\n", curve);
		else
			fprintf(out, "\t\t\t\t.curve = %d,\n",
			    pk->key.ec.curve);
		fprintf(out, "\t\t\t\t.q = (unsigned char *)%s_%zu_ec_q,\n"
		    "\t\t\t\t.qlen = sizeof %s_%zu_ec_q,\n"
		    "\t\t\t},\n",
		    symbol, idx, symbol, idx);
	}
	fputs("\t\t},\n\t},\n", out);
}

int
ca_emit_c(FILE *out, const br_x509_trust_anchor *tas, size_t count,
    const char *symbol, const char *source)
{
	size_t i, bytes = 0;

	if (!is_identifier(symbol) || count == 0) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < count; i++) {
		const br_x509_pkey *pk = &tas[i].pkey;

		if (!anchor_ok(&tas[i])) {
			errno = EINVAL;
			return -1;
		}
		bytes += tas[i].dn.len + (pk->key_type == BR_KEYTYPE_RSA ?
		    pk->key.rsa.nlen + pk->key.rsa.elen : pk->key.ec.qlen);
	}

	fputs("/* Generated by ca_gen: do not edit; change the inputs and "
	    "rebuild.\n", out);
	fprintf(out, " * %zu trust anchor%s, %zu bytes of DN and key data.\n",
	    count, count == 1 ? "" : "s", bytes);
	if (source != NULL) {
		fputs(" * From:\n *   ", out);
		emit_comment_text(out, source, "   ");
		fputc('\n', out);
	}
	fputs(" */\n\n#include <stddef.h>\n\n#include <bearssl.h>\n\n", out);
	fprintf(out, "extern const br_x509_trust_anchor %s[];\n"
	    "extern const size_t %s_count;\n", symbol, symbol);

	for (i = 0; i < count; i++)
		emit_anchor_data(out, &tas[i], symbol, i);

	fprintf(out, "\nconst br_x509_trust_anchor %s[%zu] = {\n", symbol,
	    count);
	for (i = 0; i < count; i++)
		emit_anchor_entry(out, &tas[i], symbol, i);
	fprintf(out, "};\n\nconst size_t %s_count = %zu;\n", symbol, count);

	if (fflush(out) == EOF || ferror(out)) {
		if (errno == 0)
			errno = EIO;
		return -1;
	}
	return 0;
}
