/*
 * console_session.c - sign-in and sign-out of the web console:
 *
 *   POST   /v1/session  {"api_key":"snk_..."}  public; opens a session,
 *          answers 201 with the CSRF token and Set-Cookie
 *   GET    /v1/session  the current session (cookie): its CSRF token again,
 *          so a reloaded page can go on
 *   DELETE /v1/session  sign-out (CSRF checked by http.c like any change)
 *
 * The API key is checked by the same auth_request() as a bearer header
 * (so a bad key is an auth.failure event and counts towards the address's
 * rate limit) and is wiped as soon as it has been checked. Only user API
 * keys open sessions; service accounts have no console. The body must be
 * labelled application/json, which no cross-site form can send (no login
 * CSRF).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "audit.h"
#include "auth.h"
#include "db.h"
#include "err.h"
#include "server.h"
#include "console.h"
#include "session.h"
#include "store.h"
#include "store_tokens.h"
#include "util.h"

#ifndef SIGNET_PKCS11_MODULE_PATH
#define SIGNET_PKCS11_MODULE_PATH "signet-pkcs11.so"
#endif

/* The answer of POST and GET: who is signed in and the CSRF token. */
static int
session_answer(struct sn_response *resp, int status,
    const struct sn_request *req, const char *secret, int64_t expires_at)
{
	char csrf[SESSION_CSRF_LEN + 1];
	int r;

	if ((r = session_csrf_token(secret, csrf)) != 0)
		return api_error(resp, r, "cannot make the CSRF token");
	r = api_json(resp, status, json_pack("{s:{s:s,s:o,s:i},s:s,s:{s:s,"
	    "s:s,s:s},s:s}", "session", "id", req->actor.credential_id,
	    "expires_at", store_time_json(expires_at), "idle_timeout",
	    req->srv->cfg.session_idle_timeout, "csrf_token", csrf,
	    "user", "id", req->actor.id, "email", req->actor.name, "role",
	    req->actor.is_admin ? "admin" : "user",
	    "pkcs11_module", SIGNET_PKCS11_MODULE_PATH));
	explicit_bzero(csrf, sizeof(csrf));
	return r;
}

static int
session_create(struct sn_request *req, struct sn_response *resp)
{
	static const char *const allowed[] = { "api_key", NULL };
	struct db_conn *c = NULL;
	const char *key = NULL, *ct;
	char authz[CREDENTIAL_SECRET_LEN + 16], *secret = NULL;
	char id[CREDENTIAL_ID_LEN + 1];
	int64_t expires_at = 0, now = sn_now();
	json_t *details = NULL;
	int r;

	/*
	 * JSON only: a cross-site HTML form can post form-encoded or
	 * text/plain bodies (which could sign a victim's browser into the
	 * attacker's account) but never application/json.
	 */
	ct = api_header(req, "Content-Type");
	if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0 ||
	    (ct[16] != '\0' && ct[16] != ';' && ct[16] != ' '))
		return api_error(resp, SN_ERR_INVALID, "sign-in takes a JSON "
		    "body (Content-Type: application/json)");
	if ((r = api_require_body(req, resp)) != 0 ||
	    (r = api_reject_unknown(resp, req->body, allowed)) != 0 ||
	    (r = api_get_string(resp, req->body, "api_key", 1, 128, &key)) != 0)
		return r;
	if (strncmp(key, "snk_", 4) != 0)	/* user API keys only */
		return api_error(resp, SN_ERR_UNAUTHENTICATED,
		    "invalid API key");
	snprintf(authz, sizeof(authz), "Bearer %s", key);
	r = auth_request(req, authz);
	explicit_bzero(authz, sizeof(authz));
	if (r == SN_ERR_UNAUTHENTICATED || (r == 0 &&
	    req->actor.type != SN_ACTOR_USER))
		return api_error(resp, SN_ERR_UNAUTHENTICATED,
		    "invalid API key");
	if (r != 0)
		return api_error(resp, SN_ERR_UNAVAILABLE,
		    "authentication unavailable");
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	if ((details = json_pack("{s:s}", "api_key_id",
	    req->actor.credential_id)) == NULL) {
		r = api_error(resp, SN_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = db_begin(c)) != 0 ||
	    (r = session_open(c, &req->actor, now,
	    req->srv->cfg.session_lifetime, &secret, id, &expires_at)) != 0)
		goto fail;
	/* From here on the actor's credential is the session. */
	snprintf(req->actor.credential_id, sizeof(req->actor.credential_id),
	    "%s", id);
	if ((r = audit_req(c, req, "session.create", "session", id, "ok",
	    details)) != 0 || (r = db_commit(c)) != 0)
		goto fail;
	if ((resp->set_cookie = session_cookie_set(secret,
	    req->srv->cfg.session_lifetime)) == NULL) {
		r = api_error(resp, SN_ERR_NOMEM, "out of memory");
		goto out;
	}
	r = session_answer(resp, 201, req, secret, expires_at);
	goto out;
 fail:
	db_rollback(c);
	r = api_error(resp, r, "cannot open the session");
 out:
	sn_strfreezero(secret);
	json_decref(details);
	db_release(c);
	return r;
}

/* The session of a cookie-authenticated request, or 404 for a bearer. */
static int
require_session(struct sn_request *req, struct sn_response *resp,
    const char **secret)
{
	*secret = api_cookie(req, SESSION_COOKIE);
	if (strncmp(req->actor.credential_id, "ses_", 4) != 0 ||
	    *secret == NULL)
		return api_error(resp, SN_ERR_NOT_FOUND, "no console session "
		    "(this request was not made with a session cookie)");
	return 0;
}

static int
session_get(struct sn_request *req, struct sn_response *resp)
{
	struct db_conn *c = NULL;
	const char *secret;
	int64_t expires_at = 0;
	int r;

	if ((r = require_session(req, resp, &secret)) != 0)
		return r;
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	if ((r = store_console_session_expiry(c, req->actor.tenant_id,
	    req->actor.credential_id, &expires_at)) != 0) {
		r = api_error(resp, r, "no such session");
		goto out;
	}
	r = session_answer(resp, 200, req, secret, expires_at);
 out:
	db_release(c);
	return r;
}

static int
session_delete(struct sn_request *req, struct sn_response *resp)
{
	struct db_conn *c = NULL;
	const char *secret;
	int r;

	if ((r = require_session(req, resp, &secret)) != 0)
		return r;
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	if ((r = db_begin(c)) != 0 ||
	    (r = session_end(c, req->actor.tenant_id,
	    req->actor.credential_id, sn_now())) != 0 ||
	    (r = audit_req(c, req, "session.end", "session",
	    req->actor.credential_id, "ok", NULL)) != 0 ||
	    (r = db_commit(c)) != 0) {
		db_rollback(c);
		r = api_store_error(resp, r, "session");
		goto out;
	}
	if ((resp->set_cookie = session_cookie_clear()) == NULL) {
		r = api_error(resp, SN_ERR_NOMEM, "out of memory");
		goto out;
	}
	r = api_json(resp, 200, json_pack("{s:b}", "ended", 1));
 out:
	db_release(c);
	return r;
}

const struct api_route console_routes_session[] = {
	{ "POST", "/v1/session", session_create, API_PUBLIC },
	{ "GET", "/v1/session", session_get, API_AUTH },
	{ "DELETE", "/v1/session", session_delete, API_AUTH },
	{ NULL, NULL, NULL, API_PUBLIC },
};
