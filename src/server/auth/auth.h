/*
 * auth.h - credentials: API keys (users) and access tokens (service
 * accounts). See "Credentials format" in notes/DESIGN.md:
 *
 *   API key       "snk_" <16 hex> "_" <43 base64url>   api_keys.id      = "key_" <16 hex>
 *   access token  "sna_" <16 hex> "_" <43 base64url>   access_tokens.id = "tok_" <16 hex>
 *
 * Only SHA-256 of the whole string is stored. Authentication looks the
 * credential up by its id and compares hashes with CRYPTO_memcmp; every
 * failure (malformed, unknown, wrong secret, expired, revoked, disabled
 * user, rotated service-account key) is the same SN_ERR_UNAUTHENTICATED.
 *
 * Secrets are never logged and are wiped after use.
 */
#ifndef SIGNET_AUTH_H
#define SIGNET_AUTH_H

#include <stddef.h>
#include <stdint.h>

struct db_conn;
struct sn_actor;
struct sn_request;

enum auth_kind {
	AUTH_KIND_APIKEY = 1,	/* snk_ -> key_ */
	AUTH_KIND_TOKEN = 2,	/* sna_ -> tok_ */
};

#define AUTH_SECRET_LEN	64	/* strlen of a whole credential string */
#define AUTH_ID_LEN	20	/* strlen of "key_" / "tok_" + 16 hex */
#define AUTH_TOKEN_TTL	900	/* access token lifetime, seconds */

/*
 * Makes a new credential: *secret (malloc'd, AUTH_SECRET_LEN chars; wipe
 * with sn_strfreezero), its row id (id, NUL-terminated) and the SHA-256 of
 * the whole secret string (hash). Returns 0 or SN_ERR_*.
 */
int auth_new_credential(enum auth_kind kind, char **secret,
    char id[AUTH_ID_LEN + 1], uint8_t hash[32]);

/*
 * Strictly parses a presented credential: kind and row id. Returns 0 or
 * SN_ERR_UNAUTHENTICATED (anything malformed).
 */
int auth_parse_credential(const char *s, enum auth_kind *kind,
    char id[AUTH_ID_LEN + 1]);

/* SHA-256 of a credential string. 0 or SN_ERR_CRYPTO. */
int auth_hash_secret(const char *s, uint8_t hash[32]);

/*
 * Authenticates "Authorization" header value authz ("Bearer <credential>";
 * NULL = no header) at time now. On success fills *actor and returns 0.
 * On failure returns SN_ERR_UNAUTHENTICATED (or SN_ERR_DB) and copies the
 * tenant of the credential's id into fail_tenant if the id exists ("" if
 * not), for the auth.failure audit event. Updates last_used_at of API keys
 * (at most once a minute per key).
 */
int auth_authenticate(struct db_conn *c, const char *authz, int64_t now,
    struct sn_actor *actor, char fail_tenant[64]);

/*
 * For the HTTP layer: authenticates req (header value authz) using the
 * server's pool, and on failure records "auth.failure" in the right chain
 * and counts it for /metrics. Returns 0 or SN_ERR_UNAUTHENTICATED /
 * SN_ERR_DB / SN_ERR_UNAVAILABLE.
 */
int auth_request(struct sn_request *req, const char *authz);

#endif
