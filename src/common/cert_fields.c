/*
 * cert_fields.c - the fields of an X.509 certificate that a PKCS#11
 * certificate object and a key listing need, read from its DER without
 * decoding it into an X509.
 *
 * A key listing carries a certificate for every key; d2i_X509 builds the
 * whole template tree (names, extensions, and the public key through
 * OpenSSL 3's decoder search) at about 1.5 million instructions each. That
 * was most of what signet-pkcs11.so spent building a 1,000-key token, and
 * most of what signetd spent answering GET /v1/me/keys (each key's
 * expires_in). Both need only byte ranges of the TBSCertificate (RFC 5280
 * section 4.1) and its two dates, so those are found with OpenSSL's TLV
 * reader (ASN1_get_object) and the dates decoded with d2i_ASN1_TIME.
 * Whoever needs the rest (extensions, the key) parses the DER itself.
 *
 * The walk is strict about what it reads: definite lengths only, every
 * element inside its parent, the outer SEQUENCE exactly the input, the
 * signature algorithm and value after the TBSCertificate and nothing else.
 * What follows subjectPublicKeyInfo in the TBSCertificate (unique ids,
 * extensions) is bounded but not read. The OpenSSL errors a refusal
 * raises are taken off the queue again: the queue is the consumer's (an
 * openssl or osslsigncode process), and a module must not leave it dirty.
 */
#include <limits.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/err.h>

#include "cert_fields.h"
#include "err.h"

/* One element: its whole TLV [tlv, tlv + tlvlen), its content [c, end). */
struct der_elem {
	const unsigned char *tlv, *c, *end;
	size_t tlvlen;
	int tag, cls, constructed;
};

/* Reads the element at *p, which must end at or before end; *p moves on. */
static int
der_next(const unsigned char **p, const unsigned char *end,
    struct der_elem *e)
{
	const unsigned char *q = *p;
	long clen;
	int ret;

	if (q >= end || end - q > LONG_MAX)
		return SN_ERR_INVALID;
	ret = ASN1_get_object(&q, &clen, &e->tag, &e->cls, (long)(end - q));
	/* 0x80: bad header or too long for what is left; 0x01: indefinite */
	if ((ret & 0x81) != 0 || clen < 0 || clen > end - q)
		return SN_ERR_INVALID;
	e->constructed = (ret & V_ASN1_CONSTRUCTED) != 0;
	e->tlv = *p;
	e->c = q;
	e->end = q + clen;
	e->tlvlen = (size_t)(e->end - e->tlv);
	*p = e->end;
	return 0;
}

/* The next element, which must be a universal one of this tag and form. */
static int
der_expect(const unsigned char **p, const unsigned char *end, int tag,
    int constructed, struct der_elem *e)
{
	if (der_next(p, end, e) != 0 || e->cls != V_ASN1_UNIVERSAL ||
	    e->tag != tag || e->constructed != constructed)
		return SN_ERR_INVALID;
	return 0;
}

static void
range_of(const struct der_elem *e, struct sn_der_range *r)
{
	r->p = e->tlv;
	r->len = e->tlvlen;
}

/*
 * A Time (UTCTime or GeneralizedTime) decoded into a struct tm. One whose
 * text is not a time is still a certificate to d2i_X509, and was one to
 * signet-pkcs11.so before: it reads with ok = 0 (the module then leaves
 * the date attribute empty, which is what a token says of a date it does
 * not know).
 */
static int
der_time(const unsigned char **p, const unsigned char *end,
    struct sn_cert_time *ct)
{
	struct der_elem e;
	const unsigned char *q;
	ASN1_TIME *t = NULL;

	if (der_next(p, end, &e) != 0 || e.cls != V_ASN1_UNIVERSAL ||
	    e.constructed ||
	    (e.tag != V_ASN1_UTCTIME && e.tag != V_ASN1_GENERALIZEDTIME) ||
	    e.tlvlen > LONG_MAX)
		return SN_ERR_INVALID;
	q = e.tlv;
	ct->ok = (t = d2i_ASN1_TIME(NULL, &q, (long)e.tlvlen)) != NULL &&
	    q == e.end && ASN1_TIME_to_tm(t, &ct->tm);
	if (!ct->ok)
		memset(&ct->tm, 0, sizeof(ct->tm));
	ASN1_TIME_free(t);
	range_of(&e, &ct->der);
	return 0;
}

static int
cert_walk(const uint8_t *der, size_t len, struct sn_cert_fields *f)
{
	const unsigned char *p = der, *end = der + len, *q, *tend, *v;
	struct der_elem cert, tbs, e;

	/* Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm,
	 * signatureValue }, and nothing after it */
	if (der_expect(&p, end, V_ASN1_SEQUENCE, 1, &cert) != 0 || p != end)
		return SN_ERR_INVALID;
	q = cert.c;
	if (der_expect(&q, cert.end, V_ASN1_SEQUENCE, 1, &tbs) != 0 ||
	    der_expect(&q, cert.end, V_ASN1_SEQUENCE, 1, &e) != 0 ||
	    der_expect(&q, cert.end, V_ASN1_BIT_STRING, 0, &e) != 0 ||
	    q != cert.end)
		return SN_ERR_INVALID;

	/* TBSCertificate ::= SEQUENCE { version [0] EXPLICIT DEFAULT v1,
	 * serialNumber, signature, issuer, validity, subject,
	 * subjectPublicKeyInfo, ... } */
	q = tbs.c;
	tend = tbs.end;
	if (der_next(&q, tend, &e) != 0)
		return SN_ERR_INVALID;
	if (e.cls == V_ASN1_CONTEXT_SPECIFIC && e.tag == 0 && e.constructed) {
		if (der_next(&q, tend, &e) != 0)
			return SN_ERR_INVALID;
	}
	if (e.cls != V_ASN1_UNIVERSAL || e.tag != V_ASN1_INTEGER ||
	    e.constructed || e.c == e.end)
		return SN_ERR_INVALID;
	range_of(&e, &f->serial);
	if (der_expect(&q, tend, V_ASN1_SEQUENCE, 1, &e) != 0 ||
	    der_expect(&q, tend, V_ASN1_SEQUENCE, 1, &e) != 0)
		return SN_ERR_INVALID;
	range_of(&e, &f->issuer);
	if (der_expect(&q, tend, V_ASN1_SEQUENCE, 1, &e) != 0)
		return SN_ERR_INVALID;
	v = e.c;	/* Validity ::= SEQUENCE { notBefore, notAfter } */
	if (der_time(&v, e.end, &f->not_before) != 0 ||
	    der_time(&v, e.end, &f->not_after) != 0 ||
	    v != e.end)
		return SN_ERR_INVALID;
	if (der_expect(&q, tend, V_ASN1_SEQUENCE, 1, &e) != 0)
		return SN_ERR_INVALID;
	range_of(&e, &f->subject);
	if (der_expect(&q, tend, V_ASN1_SEQUENCE, 1, &e) != 0)
		return SN_ERR_INVALID;
	range_of(&e, &f->spki);
	return 0;
}

int
sn_cert_fields(const uint8_t *der, size_t len, struct sn_cert_fields *f)
{
	int r;

	memset(f, 0, sizeof(*f));
	if (der == NULL || len == 0)
		return SN_ERR_INVALID;
	ERR_set_mark();
	if ((r = cert_walk(der, len, f)) != 0)
		memset(f, 0, sizeof(*f));
	ERR_pop_to_mark();
	return r;
}
