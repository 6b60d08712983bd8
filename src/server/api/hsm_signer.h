/*
 * hsm_signer.h - the ca_signer of a key kept in the HSM (via the keeper).
 *
 * Return convention: 0 or a negative SN_ERR_*.
 */
#ifndef SIGNET_HSM_SIGNER_H
#define SIGNET_HSM_SIGNER_H

#include <stdint.h>

#include <openssl/evp.h>

#include "alg.h"
#include "ca.h"
#include "keeper.h"

/* hsm_key_id (32 hex digits) -> the 16 CKA_ID bytes. SN_ERR_INTERNAL if
 * the stored id is malformed. */
int hsm_signer_key_id(const char *hex, uint8_t id[KEEPER_ID_LEN]);

/*
 * A ca_signer whose sign_digest calls keeper_sign with the HSM key hsm_hex
 * (RSA: PKCS#1 v1.5, EC: ECDSA). pub is borrowed and must be the key's
 * public key; hs must outlive the signer. SN_ERR_UNAVAILABLE without a
 * keeper, SN_ERR_INVALID for a key type the CA cannot sign with.
 */
struct hsm_signer {
	struct keeper *keeper;
	uint8_t id[KEEPER_ID_LEN];
	enum sn_mech mech;
};
int hsm_signer_init(struct keeper *k, const char *hsm_hex, EVP_PKEY *pub,
    struct hsm_signer *hs, struct ca_signer *out);

#endif
