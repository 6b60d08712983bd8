/*
 * hsm_signer.c - a ca_signer whose private key is in the HSM: the CA code
 * hands it a digest and it asks the keeper to sign it.
 *
 * It never holds key material, only the key's CKA_ID and the public key.
 */
#include <stdlib.h>
#include <string.h>

#include "encode.h"
#include "err.h"
#include "hsm_signer.h"

int
hsm_signer_key_id(const char *hex, uint8_t id[KEEPER_ID_LEN])
{
	uint8_t *b = NULL;
	size_t len = 0;
	int r;

	if (hex == NULL ||
	    (r = sn_hex_decode(hex, strlen(hex), &b, &len)) != 0)
		return SN_ERR_INTERNAL;
	if (len != KEEPER_ID_LEN) {
		free(b);
		return SN_ERR_INTERNAL;
	}
	memcpy(id, b, KEEPER_ID_LEN);
	free(b);
	return 0;
}

static int
hsm_sign_digest(void *arg, enum sn_hash hash, const uint8_t *digest,
    size_t dlen, uint8_t **sig, size_t *siglen)
{
	struct hsm_signer *hs = arg;

	return keeper_sign(hs->keeper, hs->id, hs->mech, hash, digest, dlen,
	    sig, siglen);
}

int
hsm_signer_init(struct keeper *k, const char *hsm_hex, EVP_PKEY *pub,
    struct hsm_signer *hs, struct ca_signer *out)
{
	int r;

	memset(hs, 0, sizeof(*hs));
	memset(out, 0, sizeof(*out));
	if (k == NULL || pub == NULL)
		return SN_ERR_UNAVAILABLE;
	if ((r = hsm_signer_key_id(hsm_hex, hs->id)) != 0)
		return r;
	hs->keeper = k;
	if (EVP_PKEY_is_a(pub, "RSA"))
		hs->mech = SN_MECH_RSA_PKCS;
	else if (EVP_PKEY_is_a(pub, "EC"))
		hs->mech = SN_MECH_ECDSA;
	else
		return SN_ERR_INVALID;
	out->pub = pub;
	out->sign_digest = hsm_sign_digest;
	out->arg = hs;
	return 0;
}
