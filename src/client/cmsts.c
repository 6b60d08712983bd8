/*
 * cmsts.c - an RFC 3161 timestamp on a CMS signature (RFC 3161 appendix A):
 * the token over the SignerInfo's signature value becomes the unsigned
 * attribute id-aa-timeStampToken of that SignerInfo.
 *
 * OpenSSL builds the TimeStampReq (TS_REQ) and parses the reply; this
 * file checks that the token answers our question (same imprint, same
 * nonce, status granted) before it is embedded. The token's own signature
 * is left to the verifier, which must trust the TSA's root anyway.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>
#include <openssl/ts.h>

#include "client.h"
#include "err.h"

#define TS_REPLY_MAX	(256 * 1024)

/* A TimeStampReq for the SHA-256 of data, with a 64-bit nonce and certReq. */
static int
make_query(const unsigned char *data, int len, TS_REQ **reqp, uint8_t **q,
    size_t *qlen)
{
	TS_REQ *req = NULL;
	TS_MSG_IMPRINT *mi = NULL;
	X509_ALGOR *alg = NULL;
	ASN1_INTEGER *nonce = NULL;
	BIGNUM *bn = NULL;
	unsigned char md[32], nb[8], *der = NULL;
	int r = SN_ERR_CRYPTO, dl;

	*reqp = NULL;
	*q = NULL;
	*qlen = 0;
	if (EVP_Digest(data, (size_t)len, md, NULL, EVP_sha256(), NULL) != 1 ||
	    RAND_bytes(nb, sizeof(nb)) != 1)
		goto out;
	nb[0] &= 0x7f;
	if ((req = TS_REQ_new()) == NULL || (mi = TS_MSG_IMPRINT_new()) == NULL ||
	    (alg = X509_ALGOR_new()) == NULL ||
	    (bn = BN_bin2bn(nb, sizeof(nb), NULL)) == NULL ||
	    (nonce = BN_to_ASN1_INTEGER(bn, NULL)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	if (!X509_ALGOR_set0(alg, OBJ_nid2obj(NID_sha256), V_ASN1_NULL, NULL) ||
	    !TS_MSG_IMPRINT_set_algo(mi, alg) ||
	    !TS_MSG_IMPRINT_set_msg(mi, md, sizeof(md)) ||
	    !TS_REQ_set_version(req, 1) ||
	    !TS_REQ_set_msg_imprint(req, mi) ||
	    !TS_REQ_set_nonce(req, nonce) ||
	    !TS_REQ_set_cert_req(req, 1) ||
	    (dl = i2d_TS_REQ(req, &der)) <= 0)
		goto out;
	if ((*q = malloc((size_t)dl)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	memcpy(*q, der, (size_t)dl);
	*qlen = (size_t)dl;
	*reqp = req;
	req = NULL;
	r = 0;
 out:
	OPENSSL_free(der);
	TS_REQ_free(req);
	TS_MSG_IMPRINT_free(mi);
	X509_ALGOR_free(alg);
	ASN1_INTEGER_free(nonce);
	BN_free(bn);
	return r;
}

/* The token of a granted reply that answers req, as DER. */
static int
check_reply(const TS_REQ *req, const uint8_t *reply, size_t rlen,
    unsigned char **tok, int *toklen)
{
	const unsigned char *p = reply;
	TS_RESP *resp = NULL;
	TS_TST_INFO *tst;
	TS_MSG_IMPRINT *want, *got;
	ASN1_OCTET_STRING *wm, *gm;
	PKCS7 *token;
	int r = SN_ERR_CRYPTO;

	*tok = NULL;
	*toklen = 0;
	if (rlen == 0 || rlen > TS_REPLY_MAX ||
	    (resp = d2i_TS_RESP(NULL, &p, (long)rlen)) == NULL ||
	    p != reply + rlen)
		goto out;
	if (ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(
	    TS_RESP_get_status_info(resp))) > TS_STATUS_GRANTED_WITH_MODS ||
	    (tst = TS_RESP_get_tst_info(resp)) == NULL ||
	    (token = TS_RESP_get_token(resp)) == NULL)
		goto out;
	want = TS_REQ_get_msg_imprint((TS_REQ *)req);
	got = TS_TST_INFO_get_msg_imprint(tst);
	wm = TS_MSG_IMPRINT_get_msg(want);
	gm = TS_MSG_IMPRINT_get_msg(got);
	if (ASN1_STRING_cmp(wm, gm) != 0 ||
	    OBJ_cmp(TS_MSG_IMPRINT_get_algo(want)->algorithm,
	    TS_MSG_IMPRINT_get_algo(got)->algorithm) != 0 ||
	    TS_TST_INFO_get_nonce(tst) == NULL ||
	    ASN1_INTEGER_cmp(TS_REQ_get_nonce(req),
	    TS_TST_INFO_get_nonce(tst)) != 0)
		goto out;
	if ((*toklen = i2d_PKCS7(token, tok)) <= 0) {
		*tok = NULL;
		*toklen = 0;
		goto out;
	}
	r = 0;
 out:
	TS_RESP_free(resp);
	return r;
}

int
sn_cms_add_timestamp(const uint8_t *der, size_t derlen, sn_ts_query_fn query,
    void *arg, uint8_t **out, size_t *outlen)
{
	CMS_ContentInfo *cms = NULL;
	STACK_OF(CMS_SignerInfo) *sis;
	CMS_SignerInfo *si;
	ASN1_OCTET_STRING *sig;
	TS_REQ *req = NULL;
	const unsigned char *p = der;
	unsigned char *tok = NULL, *enc = NULL;
	uint8_t *q = NULL, *reply = NULL;
	size_t qlen = 0, rlen = 0;
	int r = SN_ERR_CRYPTO, toklen = 0, len;

	*out = NULL;
	*outlen = 0;
	if (der == NULL || derlen == 0 || derlen > INT32_MAX || query == NULL)
		return SN_ERR_INVALID;
	if ((cms = d2i_CMS_ContentInfo(NULL, &p, (long)derlen)) == NULL ||
	    p != der + derlen ||
	    (sis = CMS_get0_SignerInfos(cms)) == NULL ||
	    sk_CMS_SignerInfo_num(sis) != 1 ||
	    (si = sk_CMS_SignerInfo_value(sis, 0)) == NULL ||
	    (sig = CMS_SignerInfo_get0_signature(si)) == NULL ||
	    ASN1_STRING_length(sig) <= 0) {
		r = SN_ERR_INVALID;
		goto out;
	}
	if ((r = make_query(ASN1_STRING_get0_data(sig), ASN1_STRING_length(sig),
	    &req, &q, &qlen)) != 0)
		goto out;
	if ((r = query(arg, q, qlen, &reply, &rlen)) != 0)
		goto out;
	if ((r = check_reply(req, reply, rlen, &tok, &toklen)) != 0)
		goto out;
	/* The attribute value is the token's ContentInfo, a SEQUENCE. */
	r = SN_ERR_CRYPTO;
	if (!CMS_unsigned_add1_attr_by_NID(si, NID_id_smime_aa_timeStampToken,
	    V_ASN1_SEQUENCE, tok, toklen) ||
	    (len = i2d_CMS_ContentInfo(cms, &enc)) <= 0)
		goto out;
	if ((*out = malloc((size_t)len)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	memcpy(*out, enc, (size_t)len);
	*outlen = (size_t)len;
	r = 0;
 out:
	if (r != 0)
		ERR_clear_error();
	CMS_ContentInfo_free(cms);
	TS_REQ_free(req);
	OPENSSL_free(tok);
	OPENSSL_free(enc);
	free(q);
	free(reply);
	return r;
}
