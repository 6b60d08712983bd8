/*
 * p11_cert.c - the fields a certificate object needs, read from the DER of
 * an X.509 certificate without decoding it into an X509.
 *
 * A listing carries a certificate for every key; d2i_X509 builds the whole
 * template tree (names, extensions, the key) at about 1.5 million
 * instructions each, and that was most of what a 1,000-key token cost to
 * build. A certificate object needs only byte ranges of the
 * TBSCertificate (RFC 5280 section 4.1) and its two dates, so those are
 * found with OpenSSL's TLV reader (ASN1_get_object) and the dates decoded
 * with d2i_ASN1_TIME. The certificate's value itself (CKA_VALUE) is the
 * DER the service sent; consumers that want the rest parse it themselves.
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

#include "err.h"
#include "p11_int.h"

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
range_of(const struct der_elem *e, struct p11_der_range *r)
{
	r->p = e->tlv;
	r->len = e->tlvlen;
}

/*
 * A Time (UTCTime or GeneralizedTime) decoded into a struct tm. One whose
 * text is not a time is still a certificate to d2i_X509, and was one to
 * this module before: it reads with tm_year = -1, and the date attribute
 * is then empty, which is what a token says of a date it does not know.
 */
static int
der_time(const unsigned char **p, const unsigned char *end,
    struct p11_der_range *r, struct tm *tm)
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
	memset(tm, 0, sizeof(*tm));
	if ((t = d2i_ASN1_TIME(NULL, &q, (long)e.tlvlen)) == NULL ||
	    q != e.end || !ASN1_TIME_to_tm(t, tm)) {
		memset(tm, 0, sizeof(*tm));
		tm->tm_year = -1;
	}
	ASN1_TIME_free(t);
	range_of(&e, r);
	return 0;
}

static int
cert_walk(const uint8_t *der, size_t len, struct p11_cert_fields *f)
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
	if (der_time(&v, e.end, &f->not_before_der, &f->not_before) != 0 ||
	    der_time(&v, e.end, &f->not_after_der, &f->not_after) != 0 ||
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
p11_cert_fields(const uint8_t *der, size_t len, struct p11_cert_fields *f)
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
