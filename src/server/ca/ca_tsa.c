/*
 * ca_tsa.c - RFC 3161 time-stamp responses, built by OpenSSL's TS_RESP_CTX
 * and signed through a ca_signer (the TSA key in the HSM, via ca_pkey.c).
 *
 * Nothing here encodes ASN.1 by hand: OpenSSL parses the TimeStampReq,
 * checks the imprint algorithm, builds TSTInfo (policy, serial, genTime from
 * the system clock, accuracy, nonce echo, tsa name) and the SignedData with
 * the ESS signingCertificateV2 attribute, and adds the certificates when
 * the request says certReq.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ts.h>
#include <openssl/x509.h>

#include "ca.h"
#include "ca_int.h"
#include "err.h"

#define TS_QUERY_MAX	(16 * 1024)	/* a TimeStampReq is ~100 bytes */

/* 127 random bits, as for certificate serials: unique without a counter
 * that several signetd instances would have to share. */
static ASN1_INTEGER *
ts_serial(TS_RESP_CTX *ctx, void *data)
{
	unsigned char b[16];
	BIGNUM *bn = NULL;
	ASN1_INTEGER *ai = NULL;

	(void)data;
	if (RAND_bytes(b, sizeof(b)) == 1) {
		b[0] &= 0x7f;
		if ((bn = BN_bin2bn(b, sizeof(b), NULL)) != NULL)
			ai = BN_to_ASN1_INTEGER(bn, NULL);
	}
	BN_free(bn);
	if (ai == NULL)
		TS_RESP_CTX_set_status_info(ctx, TS_STATUS_REJECTION,
		    "Error during serial number generation.");
	return ai;
}

/* Every CERTIFICATE block of pem. */
static int
load_certs(const char *pem, STACK_OF(X509) **out)
{
	STACK_OF(X509) *sk = NULL;
	BIO *b = NULL;
	X509 *x;
	int r;

	*out = NULL;
	if ((sk = sk_X509_new_null()) == NULL ||
	    (b = BIO_new_mem_buf(pem, -1)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			r = SN_ERR_NOMEM;
			goto out;
		}
	}
	ERR_clear_error();	/* the end of the input */
	*out = sk;
	sk = NULL;
	r = 0;
 out:
	sk_X509_pop_free(sk, X509_free);
	BIO_free(b);
	return r;
}

int
ca_ts_reply(const struct ca_signer *s, const char *tsa_cert_pem,
    const char *chain_pem, const char *policy_oid, const uint8_t *query,
    size_t qlen, uint8_t **reply, size_t *replylen, int *granted,
    char **serial_hex)
{
	struct ca_pkey_state st = { s, 0 };
	TS_RESP_CTX *ctx = NULL;
	TS_REQ *req = NULL;
	TS_RESP *resp = NULL;
	TS_TST_INFO *tst;
	X509 *cert = NULL;
	STACK_OF(X509) *chain = NULL;
	EVP_PKEY *pk = NULL;
	ASN1_OBJECT *policy = NULL;
	BIO *in = NULL;
	const unsigned char *p;
	unsigned char *der = NULL;
	int r, len;

	if (reply != NULL)
		*reply = NULL;
	if (replylen != NULL)
		*replylen = 0;
	if (granted != NULL)
		*granted = 0;
	if (serial_hex != NULL)
		*serial_hex = NULL;
	if (reply == NULL || replylen == NULL || granted == NULL ||
	    s == NULL || tsa_cert_pem == NULL || policy_oid == NULL ||
	    query == NULL) {
		r = SN_ERR_INVALID;
		goto out;
	}
	if (qlen == 0 || qlen > TS_QUERY_MAX) {
		r = SN_ERR_INVALID;
		goto out;
	}
	/* The whole body must be one TimeStampReq. */
	p = query;
	if ((req = d2i_TS_REQ(NULL, &p, (long)qlen)) == NULL ||
	    p != query + qlen) {
		r = SN_ERR_INVALID;
		goto out;
	}
	if ((policy = OBJ_txt2obj(policy_oid, 1)) == NULL) {
		r = SN_ERR_INVALID;
		goto out;
	}
	if ((r = ca_int_first_cert(tsa_cert_pem, &cert)) != 0 ||
	    (r = load_certs(chain_pem != NULL ? chain_pem : "", &chain)) != 0 ||
	    (r = ca_signer_pkey(&st, &pk)) != 0)
		goto out;
	if ((ctx = TS_RESP_CTX_new()) == NULL ||
	    (in = BIO_new_mem_buf(query, (int)qlen)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	if (!TS_RESP_CTX_set_signer_cert(ctx, cert) ||
	    !TS_RESP_CTX_set_signer_key(ctx, pk) ||
	    !TS_RESP_CTX_set_signer_digest(ctx,
	    EVP_PKEY_get_bits(s->pub) > 256 ? EVP_sha384() : EVP_sha256()) ||
	    !TS_RESP_CTX_set_ess_cert_id_digest(ctx, EVP_sha256()) ||
	    !TS_RESP_CTX_set_certs(ctx, chain) ||
	    !TS_RESP_CTX_set_def_policy(ctx, policy) ||
	    !TS_RESP_CTX_add_md(ctx, EVP_sha256()) ||
	    !TS_RESP_CTX_add_md(ctx, EVP_sha384()) ||
	    !TS_RESP_CTX_add_md(ctx, EVP_sha512()) ||
	    !TS_RESP_CTX_set_accuracy(ctx, 1, 0, 0)) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	TS_RESP_CTX_set_serial_cb(ctx, ts_serial, NULL);
	if ((resp = TS_RESP_create_response(ctx, in)) == NULL) {
		r = st.err != 0 ? st.err : SN_ERR_CRYPTO;
		goto out;
	}
	if ((tst = TS_RESP_get_tst_info(resp)) != NULL) {
		*granted = 1;
		if (serial_hex != NULL && (r = ca_int_serial_hex(
		    TS_TST_INFO_get_serial(tst), serial_hex)) != 0)
			goto out;
	} else if (st.err != 0) {
		/* The HSM failed: an outage, not the client's fault. */
		r = st.err;
		goto out;
	}
	if ((len = i2d_TS_RESP(resp, &der)) <= 0) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	*reply = malloc((size_t)len);
	if (*reply == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	memcpy(*reply, der, (size_t)len);
	*replylen = (size_t)len;
	r = 0;
 out:
	if (r != 0) {
		ERR_clear_error();
		if (granted != NULL)
			*granted = 0;
		if (serial_hex != NULL) {
			free(*serial_hex);
			*serial_hex = NULL;
		}
	}
	OPENSSL_free(der);
	TS_RESP_free(resp);
	TS_RESP_CTX_free(ctx);
	TS_REQ_free(req);
	BIO_free(in);
	EVP_PKEY_free(pk);
	X509_free(cert);
	sk_X509_pop_free(chain, X509_free);
	ASN1_OBJECT_free(policy);
	return r;
}
