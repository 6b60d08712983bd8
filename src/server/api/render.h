/*
 * resources.h - helpers shared by the resource handlers (teams, service
 * accounts, projects, keys, sign, ca): transaction and keeper error
 * plumbing (connections, authz, store errors and audit are api.h and
 * audit.h, shared with the identity handlers), JSON renderers for the API objects T, S, P, K and
 * the CA object, and a ca_signer that signs inside the HSM via the keeper.
 *
 * Return convention: 0 or a negative SN_ERR_*. Functions taking a
 * struct sn_response set an api_error() on failure, so a handler can just
 * return what they return.
 */
#ifndef SIGNET_API_RESOURCES_H
#define SIGNET_API_RESOURCES_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "alg.h"
#include "api.h"
#include "authz.h"
#include "ca.h"
#include "keeper.h"
#include "store_resources.h"

struct db_conn;

/* Splits concatenated PEM blocks into a JSON array of PEM strings. */
int res_pem_split(const char *pem, json_t **out);

/* The renderers of the API objects (see docs/API.md). New references. */
int res_team_json(struct db_conn *c, const struct store_team *t, json_t **out);
int res_sa_json(const struct store_sa *s, json_t **out);
int res_project_json(struct db_conn *c, const char *tenant_id,
    const struct store_project *p, json_t **out);
const char *res_key_state(const struct store_key *k, int64_t now);
int res_key_json(const struct store_key *k, int64_t now, json_t **out);
int res_ca_json(const struct store_ca *ca, json_t **out);
/*
 * "pkcs11:token=Signet;object=<project>%2F<name>;id=<%xx of each byte of
 * key id>;type=private" into a malloc'd string. 0 or SN_ERR_*.
 */
int res_pkcs11_uri(const char *project, const char *name, const char *key_id,
    char **out);

/* hsm_key_id (32 hex digits) -> the 16 CKA_ID bytes. */
int res_hsm_id(const char *hex, uint8_t id[KEEPER_ID_LEN]);

/*
 * A ca_signer whose sign_digest calls keeper_sign with the HSM key hsm_hex
 * (RSA: PKCS#1 v1.5, EC: ECDSA). pub is borrowed and must be the key's
 * public key; hs must outlive the signer.
 */
struct res_hsm_signer {
	struct keeper *keeper;
	uint8_t id[KEEPER_ID_LEN];
	enum sn_mech mech;
};
int res_hsm_signer(struct keeper *k, const char *hsm_hex, EVP_PKEY *pub,
    struct res_hsm_signer *hs, struct ca_signer *out);

/* The CRL distribution URL of a CA: cfg.public_url + "/v1/ca/<id>/crl";
 * *out NULL (and 0) when no public URL is configured. */
struct sn_server;
int res_crl_url(const struct sn_server *srv, const char *ca_id, char **out);

/* Drops the cached CRLs (ca.c); called after every revocation. */
void res_crl_invalidate(void);

/* The public key of the first certificate in pem. */
int res_cert_pubkey(const char *pem, EVP_PKEY **out);

/* POST /v1/keys/{id}/sign (sign.c; routed in api_routes_keys). */
int api_keys_sign(struct sn_request *req, struct sn_response *resp);

/* The /v1/me/keys handler (lives in keys.c; routed by me.c or keys.c). */
int api_me_keys(struct sn_request *req, struct sn_response *resp);

#endif
