/*
 * fuzz_cert_fields.c - sn_cert_fields (the certificate fields signet-pkcs11.so
 * puts on a certificate object, and the expiry signetd lists for a key) on
 * arbitrary bytes, checked against OpenSSL's own decoder. Whatever d2i_X509
 * reads as a DER certificate (its encoding gives back the input)
 * sn_cert_fields must read too, with the same serial, names, key and dates;
 * every range it gives lies inside the input; and it leaves OpenSSL's error
 * queue as it found it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "cert_fields.h"
#include "err.h"

static void
inside(const struct sn_der_range *r, const uint8_t *data, size_t size)
{
	if (r->p < data || r->len == 0 || r->len > size ||
	    (size_t)(r->p - data) > size - r->len)
		abort();
}

/* The range holds exactly what i2d made of the decoded field (*der, n
 * bytes), which is freed. */
static void
same(const struct sn_der_range *r, unsigned char **der, int n)
{
	if (n <= 0 || (size_t)n != r->len || memcmp(*der, r->p, r->len) != 0)
		abort();
	OPENSSL_free(*der);
	*der = NULL;
}

static void
same_time(const struct sn_cert_time *ct, const ASN1_TIME *t)
{
	const struct tm *a = &ct->tm;
	struct tm b;

	if (!ASN1_TIME_to_tm(t, &b)) {
		if (ct->ok)	/* unreadable: must say so */
			abort();
		return;
	}
	if (!ct->ok)
		abort();
	if (a->tm_year != b.tm_year ||
	    a->tm_mon != b.tm_mon || a->tm_mday != b.tm_mday ||
	    a->tm_hour != b.tm_hour || a->tm_min != b.tm_min ||
	    a->tm_sec != b.tm_sec)
		abort();
}

/*
 * 1 if the input's TBSCertificate is what OpenSSL encodes of it again
 * (i2d_re_X509_tbs ignores the encoding cached at decoding): only then is
 * every field's own encoding the one i2d gives, since d2i also takes
 * inputs it would not write (a BIT STRING's unused-bits byte, say).
 * Names are the exception: OpenSSL keeps the bytes a name was read from
 * and writes them back as they were, even a SEQUENCE marked primitive,
 * so a name's own tag is checked here.
 */
static int
name_is_sequence(const X509_NAME *name)
{
	const unsigned char *p;
	size_t len;

	return X509_NAME_get0_der((X509_NAME *)name, &p, &len) == 1 &&
	    len > 0 && p[0] == (V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED);
}

static int
tbs_is_der(X509 *x, const uint8_t *data, size_t size)
{
	const unsigned char *q = data;
	unsigned char *der = NULL;
	long len;
	int tag, cls, n, ok;

	/* the outer SEQUENCE's length definite (DER) and the whole input */
	if ((ASN1_get_object(&q, &len, &tag, &cls, (long)size) & 0x81) != 0 ||
	    (size_t)len != size - (size_t)(q - data))
		return 0;
	if ((n = i2d_re_X509_tbs(x, &der)) <= 0)
		return 0;
	ok = (size_t)n <= size - (size_t)(q - data) &&
	    memcmp(der, q, (size_t)n) == 0;
	OPENSSL_free(der);
	return ok && name_is_sequence(X509_get_issuer_name(x)) &&
	    name_is_sequence(X509_get_subject_name(x));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sn_cert_fields f;
	const unsigned char *p = data;
	unsigned char *der = NULL;
	X509 *x = NULL;
	int r, n;

	ERR_clear_error();
	r = sn_cert_fields(data, size, &f);
	if (ERR_peek_error() != 0 || (r != 0 && r != SN_ERR_INVALID))
		abort();
	if (r == 0) {
		inside(&f.serial, data, size);
		inside(&f.issuer, data, size);
		inside(&f.subject, data, size);
		inside(&f.spki, data, size);
		inside(&f.not_before.der, data, size);
		inside(&f.not_after.der, data, size);
	}
	if (size > 0 && size < 1 << 20 &&
	    (x = d2i_X509(NULL, &p, (long)size)) != NULL &&
	    p == data + size && tbs_is_der(x, data, size)) {
		/* a DER certificate OpenSSL reads: so must we, the same way */
		if (r != 0)
			abort();
		n = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &der);
		same(&f.serial, &der, n);
		n = i2d_X509_NAME(X509_get_issuer_name(x), &der);
		same(&f.issuer, &der, n);
		n = i2d_X509_NAME(X509_get_subject_name(x), &der);
		same(&f.subject, &der, n);
		n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
		same(&f.spki, &der, n);
		same_time(&f.not_before, X509_get0_notBefore(x));
		same_time(&f.not_after, X509_get0_notAfter(x));
	}
	OPENSSL_free(der);
	X509_free(x);
	ERR_clear_error();
	return 0;
}
