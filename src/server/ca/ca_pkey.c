/*
 * ca_pkey.c - an EVP_PKEY whose private-key operation is a ca_signer.
 *
 * OpenSSL builds RFC 3161 tokens (TS_RESP_CTX) and OCSP responses
 * (OCSP_basic_sign) itself and wants an EVP_PKEY to sign them with. Our CA
 * and TSA keys live in the HSM behind the keeper, so this file gives OpenSSL
 * the smallest key it will accept: a copy of the public EC key whose
 * EC_KEY_METHOD "sign" hands the digest to the ca_signer (keeper_sign with
 * CKM_ECDSA in signetd) and returns the DER ECDSA-Sig-Value it gets back.
 * OpenSSL 3 routes keys with a non-default EC_KEY_METHOD ("foreign" keys)
 * through its legacy EVP path, which calls that method; this is the same
 * mechanism libp11's engine uses. The EC_KEY_METHOD API is deprecated in
 * OpenSSL 3 (the replacement is a whole provider: key management, signature
 * and encoder dispatch tables for one callback), and the build hides
 * deprecated APIs (OPENSSL_NO_DEPRECATED); this one file, and nothing else,
 * opts back in before the first OpenSSL header.
 *
 * This file never sees private key material: there is none to see.
 * Only EC keys are bridged (every built-in CA and TSA key is ECDSA).
 */
#undef OPENSSL_NO_DEPRECATED
#undef OPENSSL_API_COMPAT
#define OPENSSL_API_COMPAT 10101
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "ca.h"
#include "err.h"

static pthread_once_t bridge_once = PTHREAD_ONCE_INIT;
static EC_KEY_METHOD *bridge_meth;
static int bridge_idx = -1;

static int
bridge_sign(int type, const unsigned char *dgst, int dlen, unsigned char *sig,
    unsigned int *siglen, const BIGNUM *kinv, const BIGNUM *rp, EC_KEY *ec)
{
	struct ca_pkey_state *st = EC_KEY_get_ex_data(ec, bridge_idx);
	enum sn_hash hash;
	uint8_t *der = NULL;
	size_t derlen = 0;
	int r, max;

	(void)type;
	(void)kinv;
	(void)rp;
	*siglen = 0;
	if (st == NULL || st->signer == NULL || dgst == NULL)
		return 0;
	/* The digest's length names its hash: OpenSSL passes only bytes. */
	switch (dlen) {
	case 32: hash = SN_HASH_SHA256; break;
	case 48: hash = SN_HASH_SHA384; break;
	case 64: hash = SN_HASH_SHA512; break;
	default:
		st->err = SN_ERR_INVALID;
		return 0;
	}
	if ((r = st->signer->sign_digest(st->signer->arg, hash, dgst,
	    (size_t)dlen, &der, &derlen)) != 0) {
		st->err = r;
		return 0;
	}
	max = ECDSA_size(ec);
	if (der == NULL || derlen == 0 || max <= 0 || derlen > (size_t)max) {
		free(der);
		st->err = SN_ERR_CRYPTO;
		return 0;
	}
	memcpy(sig, der, derlen);
	*siglen = (unsigned int)derlen;
	free(der);
	return 1;
}

static ECDSA_SIG *
bridge_sign_sig(const unsigned char *dgst, int dlen, const BIGNUM *kinv,
    const BIGNUM *rp, EC_KEY *ec)
{
	unsigned char buf[256];
	const unsigned char *p = buf;
	unsigned int len = 0;
	ECDSA_SIG *s;

	if (ECDSA_size(ec) > (int)sizeof(buf) ||
	    !bridge_sign(0, dgst, dlen, buf, &len, kinv, rp, ec))
		return NULL;
	if ((s = d2i_ECDSA_SIG(NULL, &p, (long)len)) == NULL ||
	    p != buf + len) {
		ECDSA_SIG_free(s);
		return NULL;
	}
	return s;
}

static void
bridge_init(void)
{
	EC_KEY_METHOD *m;

	bridge_idx = EC_KEY_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	if (bridge_idx < 0 ||
	    (m = EC_KEY_METHOD_new(EC_KEY_OpenSSL())) == NULL)
		return;
	EC_KEY_METHOD_set_sign(m, bridge_sign, NULL, bridge_sign_sig);
	bridge_meth = m;	/* lives as long as the process */
}

int
ca_signer_pkey(struct ca_pkey_state *st, EVP_PKEY **out)
{
	const EC_KEY *pub_ec;
	EC_KEY *ec = NULL;
	EVP_PKEY *pk = NULL;
	int r;

	if (out == NULL)
		return SN_ERR_INVALID;
	*out = NULL;
	if (st == NULL || st->signer == NULL || st->signer->pub == NULL ||
	    st->signer->sign_digest == NULL)
		return SN_ERR_INVALID;
	st->err = 0;
	if (EVP_PKEY_get_base_id(st->signer->pub) != EVP_PKEY_EC)
		return SN_ERR_INVALID;
	if (pthread_once(&bridge_once, bridge_init) != 0 ||
	    bridge_meth == NULL)
		return SN_ERR_NOMEM;
	if ((pub_ec = EVP_PKEY_get0_EC_KEY(st->signer->pub)) == NULL ||
	    (ec = EC_KEY_dup(pub_ec)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	/* Method first: EVP_PKEY_assign marks the key foreign only then. */
	if (!EC_KEY_set_method(ec, bridge_meth) ||
	    !EC_KEY_set_ex_data(ec, bridge_idx, st) ||
	    (pk = EVP_PKEY_new()) == NULL ||
	    !EVP_PKEY_assign_EC_KEY(pk, ec)) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	ec = NULL;		/* the EVP_PKEY's now */
	*out = pk;
	pk = NULL;
	r = 0;
 out:
	if (r != 0)
		ERR_clear_error();
	EC_KEY_free(ec);
	EVP_PKEY_free(pk);
	return r;
}
