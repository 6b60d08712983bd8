/*
 * render.h - the JSON objects of the API (see docs/API.md), as new
 * references.
 *
 * Return convention: 0 or a negative SN_ERR_* (SN_ERR_NOMEM, or the store's
 * error for the renderers that read members/owners).
 */
#ifndef SIGNET_RENDER_H
#define SIGNET_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "store_resources.h"

struct db_conn;

int render_team(struct db_conn *c, const struct store_team *t, json_t **out);
int render_sa(const struct store_sa *s, json_t **out);
/* key_algorithm of an account created with "oidc_only" (no public key); it
 * renders with "public_key" and "key_fingerprint" null. */
#define SA_NO_KEY_ALG	"none"
int render_project(struct db_conn *c, const char *tenant_id,
    const struct store_project *p, json_t **out);
const char *render_key_state(const struct store_key *k, int64_t now);
int render_key(const struct store_key *k, int64_t now, json_t **out);
/* Seconds until the key (or its certificate, if that ends first) expires;
 * 0 once expired (issue 10: /v1/me/keys, ?expiring=). */
int64_t render_key_expires_in(const struct store_key *k, int64_t now);
int render_ca(const struct store_ca *ca, json_t **out);
/*
 * "pkcs11:token=Signet;object=<project>%2F<name>;id=<%xx of each byte of
 * key id>;type=private" into a malloc'd string. 0 or SN_ERR_*.
 */
int render_pkcs11_uri(const char *project, const char *name,
    const char *key_id, char **out);

#endif
