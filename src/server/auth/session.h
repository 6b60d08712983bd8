/*
 * session.h - web console sessions: a cookie instead of a bearer header,
 * and the CSRF token that must accompany every state-changing request.
 *
 * A user signs in by presenting an API key once (POST /v1/session); the
 * server opens a session bound to that key and answers with the cookie
 *     __Host-signet_session=sns_<16 hex>_<43 base64url>;
 *     Path=/; Secure; HttpOnly; SameSite=Strict
 * The API key is never stored in the browser. Only the SHA-256 of the
 * cookie secret is stored (console_sessions.secret_hash). A session ends
 * at sign-out, after session_idle_timeout seconds without a request, at
 * session_lifetime seconds after sign-in, and at once when its API key is
 * revoked or expires or its user is disabled (checked on every request).
 *
 * CSRF: the token is base64url(SHA-256("signet-csrf" NUL secret)). The
 * browser's JavaScript gets it from the sign-in answer or GET /v1/session
 * (same-origin only: no CORS) and sends it as X-CSRF-Token on every
 * request that is not GET or HEAD; a cross-site page can make the browser
 * send the cookie (SameSite aside) but can never read the token.
 *
 * Return convention: 0 or a negative SN_ERR_*. Secrets are never logged.
 */
#ifndef SIGNET_SESSION_H
#define SIGNET_SESSION_H

#include <stdint.h>

#include "credential.h"

struct db_conn;
struct sn_actor;
struct sn_request;
struct sn_response;

#define SESSION_COOKIE		"__Host-signet_session"
#define SESSION_CSRF_HEADER	"X-CSRF-Token"
#define SESSION_CSRF_LEN	43	/* base64url of 32 bytes, no padding */

/*
 * Opens a session for the user actor authenticated by API key
 * actor->credential_id, inside the caller's transaction. *secret is the
 * cookie value (malloc'd; wipe with sn_strfreezero), id the row id.
 */
int session_open(struct db_conn *c, const struct sn_actor *actor,
    int64_t now, int64_t lifetime, char **secret, char id[CREDENTIAL_ID_LEN + 1],
    int64_t *expires_at);

/*
 * Authenticates a cookie value at time now (idle: the idle timeout, s).
 * On success fills *actor (credential_id = the session id) and *expires_at
 * and refreshes last_seen_at (at most once every 15 s). Every failure is
 * SN_ERR_UNAUTHENTICATED (or SN_ERR_DB).
 */
int session_authenticate(struct db_conn *c, const char *secret, int64_t now,
    int64_t idle, struct sn_actor *actor, int64_t *expires_at);

/* The CSRF token of a cookie value into out (NUL-terminated). */
int session_csrf_token(const char *secret, char out[SESSION_CSRF_LEN + 1]);
/* 1 if presented is the CSRF token of secret (constant-time compare). */
int session_csrf_ok(const char *secret, const char *presented);

/* Ends session id of tenant at now. SN_ERR_NOT_FOUND if already ended. */
int session_end(struct db_conn *c, const char *tenant_id, const char *id,
    int64_t now);

/*
 * For the HTTP layer: authenticates req by its session cookie (value
 * secret) and, when need_csrf, requires the CSRF header value csrf.
 * 0; SN_ERR_UNAUTHENTICATED (bad or ended session, recorded as
 * auth.failure); SN_ERR_FORBIDDEN (CSRF token missing or wrong);
 * SN_ERR_UNAVAILABLE / SN_ERR_DB.
 */
int session_request(struct sn_request *req, const char *secret,
    const char *csrf, int need_csrf);

/*
 * For console page views: 1 if req carries a live session cookie (no
 * audit event, no CSRF: a GET of a page shell changes nothing).
 */
int session_page_ok(struct sn_request *req);

/*
 * Set-Cookie values: the session cookie (secret, max-age seconds), or
 * the expired one that makes the browser drop it. malloc'd, or NULL.
 */
char *session_cookie_set(const char *secret, int64_t max_age);
char *session_cookie_clear(void);

#endif
