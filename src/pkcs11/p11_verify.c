/*
 * p11_verify.c - C_Verify done locally. The token's public key objects say
 * CKA_VERIFY = true, and verifying needs nothing secret: the signature is
 * checked here with OpenSSL against the object's CKA_PUBLIC_KEY_INFO, for
 * the same mechanisms (and the same PSS parameters) that signing offers.
 * Nothing is sent to the service.
 */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "err.h"
#include "p11_int.h"

/* PKCS#11's raw r || s into the DER OpenSSL verifies. 0 or -1. */
static int
ecdsa_raw_to_der(const uint8_t *raw, size_t len, uint8_t **der, int *derlen)
{
	ECDSA_SIG *s = NULL;
	BIGNUM *r = NULL, *ss = NULL;
	int rc = -1;

	*der = NULL;
	if (len == 0 || len % 2 != 0)
		return -1;
	if ((s = ECDSA_SIG_new()) == NULL ||
	    (r = BN_bin2bn(raw, (int)(len / 2), NULL)) == NULL ||
	    (ss = BN_bin2bn(raw + len / 2, (int)(len / 2), NULL)) == NULL ||
	    !ECDSA_SIG_set0(s, r, ss))
		goto out;
	r = ss = NULL;
	if ((*derlen = i2d_ECDSA_SIG(s, der)) <= 0)
		goto out;
	rc = 0;
 out:
	BN_free(r);
	BN_free(ss);
	ECDSA_SIG_free(s);
	return rc;
}

CK_RV
p11_verify_digest(const struct p11_object *key, enum sn_mech mech,
    enum sn_hash hash, const uint8_t *digest, size_t dlen,
    const uint8_t *sig, size_t siglen)
{
	const struct p11_attr *spki;
	const uint8_t *p;
	EVP_PKEY *pk = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	uint8_t *der = NULL;
	int derlen = 0, v;
	CK_RV rv = CKR_FUNCTION_FAILED;

	/* PKCS#11 §5.2: a signature of the wrong length is not "invalid". */
	if (siglen != p11_sig_len(key))
		return CKR_SIGNATURE_LEN_RANGE;
	if ((spki = p11_obj_attr(key, CKA_PUBLIC_KEY_INFO)) == NULL ||
	    spki->len == 0)
		return CKR_KEY_FUNCTION_NOT_PERMITTED;
	p = spki->val;
	if ((pk = d2i_PUBKEY(NULL, &p, (long)spki->len)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new(pk, NULL)) == NULL ||
	    EVP_PKEY_verify_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(ctx, sn_hash_md(hash)) != 1)
		goto out;
	if (mech == SN_MECH_RSA_PKCS) {
		if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1)
			goto out;
	} else if (mech == SN_MECH_RSA_PSS) {
		/* What the service signs: MGF1 with the same hash, salt as
		 * long as the hash (p11_mech_check refused anything else). */
		if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING)
		    != 1 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, sn_hash_md(hash)) != 1 ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx,
		    RSA_PSS_SALTLEN_DIGEST) != 1)
			goto out;
	} else if (mech == SN_MECH_ECDSA) {
		if (ecdsa_raw_to_der(sig, siglen, &der, &derlen) != 0) {
			rv = CKR_SIGNATURE_INVALID;
			goto out;
		}
		sig = der;
		siglen = (size_t)derlen;
	} else
		goto out;
	v = EVP_PKEY_verify(ctx, sig, siglen, digest, dlen);
	rv = v == 1 ? CKR_OK : CKR_SIGNATURE_INVALID;
 out:
	OPENSSL_free(der);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return rv;
}
