/*
 * auth.h - authentication of API keys (users) and access tokens (service
 * accounts); their format is common/credential.h.
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

#define AUTH_TOKEN_TTL	900	/* access token lifetime, seconds */

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
 * Decides again whether the credential that authenticated actor still
 * holds at time now (not revoked, not expired, user not disabled, service
 * account not deleted and its key not rotated since the token was issued;
 * a console session not ended or expired, its user and API key valid).
 * For decisions taken after slow work (a signature waits for the HSM): run
 * it inside the write transaction that records the outcome, so a change
 * that committed first always wins. Returns 0, SN_ERR_UNAUTHENTICATED, or
 * SN_ERR_DB.
 */
int auth_recheck(struct db_conn *c, const struct sn_actor *actor,
    int64_t now);

/*
 * For the HTTP layer: authenticates req (header value authz) using the
 * server's pool, and on failure records "auth.failure" in the right chain
 * and counts it for /metrics. Returns 0 or SN_ERR_UNAUTHENTICATED /
 * SN_ERR_DB / SN_ERR_UNAVAILABLE.
 */
int auth_request(struct sn_request *req, const char *authz);

#endif
