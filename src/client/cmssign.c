/*
 * cmssign.c - a detached CMS SignedData whose signature is made elsewhere.
 *
 * OpenSSL's CMS API wants a private key to sign; Signet's private keys live
 * in the HSM behind signetd. So the SignerInfo is built with the signer's
 * PUBLIC key and CMS_PARTIAL (OpenSSL only compares the public halves when
 * adding a signer), the signed attributes are added by hand, their DER
 * (the explicit SET OF encoding of RFC 5652 section 5.4) is hashed, the
 * digest goes to the sign callback, and the returned signature is stored in
 * the SignerInfo. CMS_final is deliberately not called: it would try to
 * sign with the (absent) private key.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "client.h"
#include "err.h"
#include "sn_assert.h"
#include "util.h"

struct enc {
	unsigned char *der;
	int len;
};

static int
enc_cmp(const void *a, const void *b)
{
	const struct enc *x = a, *y = b;
	int m = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->der, y->der, (size_t)m);

	return c != 0 ? c : x->len - y->len;
}

/* DER of SET OF Attribute, elements sorted as DER requires. */
static int
signed_attrs_der(CMS_SignerInfo *si, uint8_t **out, size_t *outlen)
{
	struct enc *e = NULL;
	int n, i, r = SN_ERR_CRYPTO;
	size_t total = 0, hl, off;
	uint8_t *buf = NULL;

	*out = NULL;
	*outlen = 0;
	/* the caller has just added content type and message digest */
	if (SN_NEVER((n = CMS_signed_get_attr_count(si)) <= 0 || n > 64))
		return SN_ERR_INTERNAL;
	if ((e = calloc((size_t)n, sizeof(*e))) == NULL)
		return SN_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		X509_ATTRIBUTE *a = CMS_signed_get_attr(si, i);

		if (a == NULL ||
		    (e[i].len = i2d_X509_ATTRIBUTE(a, &e[i].der)) <= 0)
			goto out;
		total += (size_t)e[i].len;
	}
	qsort(e, (size_t)n, sizeof(*e), enc_cmp);
	if (total > 0xffffff)
		goto out;
	hl = total < 0x80 ? 2 : total < 0x100 ? 3 : total < 0x10000 ? 4 : 5;
	if ((buf = malloc(hl + total)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	buf[0] = 0x31;
	if (hl == 2)
		buf[1] = (uint8_t)total;
	else {
		buf[1] = (uint8_t)(0x80 | (hl - 2));
		for (off = 0; off < hl - 2; off++)
			buf[2 + off] = (uint8_t)(total >> (8 * (hl - 3 - off)));
	}
	off = hl;
	for (i = 0; i < n; i++) {
		memcpy(buf + off, e[i].der, (size_t)e[i].len);
		off += (size_t)e[i].len;
	}
	*out = buf;
	*outlen = off;
	buf = NULL;
	r = 0;
 out:
	for (i = 0; i < n; i++)
		OPENSSL_free(e[i].der);
	free(e);
	free(buf);
	return r;
}

int
sn_cms_sign_detached(X509 *signer, STACK_OF(X509) *chain, enum sn_hash hash,
    const uint8_t *content_digest, size_t dlen, int64_t signing_time,
    sn_sign_digest_fn sign, void *arg, uint8_t **der, size_t *derlen)
{
	const unsigned int flags = CMS_BINARY | CMS_DETACHED | CMS_PARTIAL |
	    CMS_NOSMIMECAP;
	CMS_ContentInfo *cms = NULL;
	CMS_SignerInfo *si;
	EVP_PKEY *pub;
	ASN1_TIME *t = NULL;
	ASN1_OCTET_STRING *os;
	const EVP_MD *md;
	uint8_t *attrs = NULL, *sig = NULL, adig[EVP_MAX_MD_SIZE];
	unsigned char *out = NULL;
	size_t alen = 0, siglen = 0;
	unsigned int adlen = 0;
	int i, len, r = SN_ERR_CRYPTO;

	*der = NULL;
	*derlen = 0;
	if ((md = sn_hash_md(hash)) == NULL || sn_hash_len(hash) != dlen)
		return SN_ERR_INVALID;
	if ((pub = X509_get0_pubkey(signer)) == NULL)
		return SN_ERR_INVALID;
	if ((cms = CMS_sign(NULL, NULL, NULL, NULL, flags)) == NULL)
		goto out;
	if ((si = CMS_add1_signer(cms, signer, pub, md, flags)) == NULL)
		goto out;
	for (i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);

		if (X509_cmp(x, signer) == 0)
			continue;
		if (!CMS_add1_cert(cms, x))
			goto out;
	}
	if (!CMS_set_detached(cms, 1))
		goto out;
	if ((t = ASN1_TIME_set(NULL, (time_t)signing_time)) == NULL)
		goto out;
	if (!CMS_signed_add1_attr_by_NID(si, NID_pkcs9_contentType,
	    V_ASN1_OBJECT, OBJ_nid2obj(NID_pkcs7_data), -1) ||
	    !CMS_signed_add1_attr_by_NID(si, NID_pkcs9_signingTime,
	    t->type, t, -1) ||
	    !CMS_signed_add1_attr_by_NID(si, NID_pkcs9_messageDigest,
	    V_ASN1_OCTET_STRING, content_digest, (int)dlen))
		goto out;
	if ((r = signed_attrs_der(si, &attrs, &alen)) != 0)
		goto out;
	r = SN_ERR_CRYPTO;
	if (EVP_Digest(attrs, alen, adig, &adlen, md, NULL) != 1)
		goto out;
	if ((r = sign(arg, hash, adig, adlen, &sig, &siglen)) != 0)
		goto out;
	r = SN_ERR_CRYPTO;
	if ((os = CMS_SignerInfo_get0_signature(si)) == NULL ||
	    siglen > INT32_MAX ||
	    !ASN1_OCTET_STRING_set(os, sig, (int)siglen))
		goto out;
	if ((len = i2d_CMS_ContentInfo(cms, &out)) <= 0)
		goto out;
	/* Hand back plain malloc memory: the caller uses free(). */
	if ((*der = malloc((size_t)len)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	memcpy(*der, out, (size_t)len);
	*derlen = (size_t)len;
	r = 0;
 out:
	ASN1_TIME_free(t);
	CMS_ContentInfo_free(cms);
	free(attrs);
	free(sig);
	OPENSSL_free(out);
	return r;
}
