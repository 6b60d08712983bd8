/*
 * apikeys.c - /v1/apikeys: a user creates, lists and revokes its own API
 * keys; an admin may do so for any user of the tenant (?user= / "user").
 * Service accounts have no API keys (they use access tokens).
 *
 * The key string is returned once by create and exists nowhere else: only
 * its SHA-256 is stored, and neither logs nor audit details carry it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "audit.h"
#include "authz.h"
#include "db.h"
#include "err.h"
#include "server.h"
#include "store.h"
#include "util.h"

#define APIKEY_MAX_LIFETIME	(10LL * 366 * 24 * 3600)

/*
 * Service accounts never manage API keys: the caller's own keys are the
 * least a caller may manage, so asking for those refuses everyone else
 * before the body is read.
 */
static int
require_user(struct db_conn *c, struct sn_request *req,
    struct sn_response *resp)
{
	return api_authz(c, req, resp, AUTHZ_APIKEY_MANAGE, req->actor.id,
	    "user");
}

/*
 * The user whose keys the caller names (id or email), or the caller itself
 * when name is NULL; authz_check decides (admins: any user of the tenant;
 * others: themselves only, and a missing user looks like another user).
 */
static int
target_user(struct db_conn *c, struct sn_request *req,
    struct sn_response *resp, const char *name, struct store_user *u)
{
	int r, found;

	if (name == NULL)
		name = req->actor.id;
	found = store_user_get(c, req->actor.tenant_id, name, u);
	if ((r = api_authz(c, req, resp, AUTHZ_APIKEY_MANAGE,
	    found == 0 ? u->id : name, "user")) != 0)
		return r;
	if (found != 0)
		return api_store_error(resp, found, "user");
	return 0;
}

static int
apikeys_create(struct sn_request *req, struct sn_response *resp)
{
	static const char *const allowed[] = { "expires_in", "description",
	    "user", NULL };
	struct db_conn *c = NULL;
	struct store_user u;
	struct store_apikey k;
	const char *desc = NULL, *user = NULL;
	int64_t expires_in = 0, expires_at = 0;
	char *secret = NULL;
	json_t *details = NULL, *body;
	int r;

	memset(&k, 0, sizeof(k));
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	if ((r = require_user(c, req, resp)) != 0)
		goto out;
	/* An empty body is fine: a key with no expiry for the caller. */
	if (req->body != NULL &&
	    ((r = api_require_body(req, resp)) != 0 ||
	    (r = api_reject_unknown(resp, req->body, allowed)) != 0 ||
	    (r = api_get_int(resp, req->body, "expires_in", 0, 1,
	    APIKEY_MAX_LIFETIME, &expires_in)) != 0 ||
	    (r = api_get_string(resp, req->body, "description", 0, 200,
	    &desc)) != 0 ||
	    (r = api_get_string(resp, req->body, "user", 0, 254, &user)) != 0))
		goto out;
	if (expires_in > 0)
		expires_at = sn_now() + expires_in;
	if ((r = target_user(c, req, resp, user, &u)) != 0)
		goto out;
	if (u.disabled) {
		r = api_error(resp, SN_ERR_CONFLICT, "the user is disabled");
		goto out;
	}
	if ((r = api_begin(c, resp)) != 0)
		goto out;
	if ((r = store_apikey_create(c, req->actor.tenant_id, u.id, desc,
	    expires_at, &k, &secret)) != 0) {
		r = api_store_error(resp, r, "API key");
		goto out;
	}
	if ((details = json_pack("{s:s,s:o}", "user_id", u.id, "expires_at",
	    store_time_json(expires_at))) == NULL) {
		r = api_error(resp, SN_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = audit_req(c, req, "apikey.create", "apikey", k.id, "ok",
	    details)) != 0 || (r = db_commit(c)) != 0) {
		r = api_error(resp, r, "cannot record the change");
		goto out;
	}
	body = json_pack("{s:s,s:s,s:o,s:o}", "id", k.id, "key", secret,
	    "created_at", store_time_json(k.created_at), "expires_at",
	    store_time_json(k.expires_at));
	r = api_json(resp, 201, body);
 out:
	if (r != 0)
		audit_refusal(c, req, resp, "apikey.create", "apikey", k.id,
		    NULL);
	sn_strfreezero(secret);
	json_decref(details);
	db_release(c);
	return r;
}

static int
apikeys_list(struct sn_request *req, struct sn_response *resp)
{
	struct db_conn *c = NULL;
	struct store_user u;
	json_t *body = NULL;
	int r;

	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	if ((r = require_user(c, req, resp)) != 0 ||
	    (r = target_user(c, req, resp, api_query(req, "user"), &u)) != 0)
		goto out;
	if ((r = store_apikey_list(c, req->actor.tenant_id, u.id,
	    &body)) != 0) {
		r = api_store_error(resp, r, "API keys");
		goto out;
	}
	r = api_json(resp, 200, body);
 out:
	if (r != 0 && resp->status == 403)	/* denied reads are audited */
		audit_refusal(c, req, resp, "apikey.list", "apikey", "", NULL);
	db_release(c);
	return r;
}

static int
apikeys_revoke(struct sn_request *req, struct sn_response *resp)
{
	struct db_conn *c = NULL;
	struct store_apikey k;
	int r;

	memset(&k, 0, sizeof(k));
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	if ((r = require_user(c, req, resp)) != 0)
		goto out;
	if ((r = api_begin(c, resp)) != 0)
		goto out;
	/* Keys of other tenants are missing; other users' keys forbidden. */
	if ((r = store_apikey_get(c, req->actor.tenant_id, api_param(req, 0),
	    &k)) != 0) {
		r = api_store_error(resp, r, "API key");
		goto out;
	}
	if ((r = api_authz(c, req, resp, AUTHZ_APIKEY_MANAGE, k.user_id,
	    "API key")) != 0)
		goto out;
	if ((r = store_apikey_revoke(c, req->actor.tenant_id, k.id,
	    sn_now())) != 0) {
		r = r == SN_ERR_CONFLICT ? api_error(resp, r,
		    "the API key is already revoked") :
		    api_store_error(resp, r, "API key");
		goto out;
	}
	if ((r = audit_req(c, req, "apikey.revoke", "apikey", k.id, "ok",
	    NULL)) != 0 || (r = db_commit(c)) != 0) {
		r = api_error(resp, r, "cannot record the change");
		goto out;
	}
	if ((r = store_apikey_get(c, req->actor.tenant_id, k.id, &k)) != 0) {
		r = api_store_error(resp, r, "API key");
		goto out;
	}
	r = api_json(resp, 200, json_pack("{s:o}", "apikey",
	    store_apikey_json(&k)));
 out:
	if (r != 0)
		audit_refusal(c, req, resp, "apikey.revoke", "apikey",
		    k.id[0] != '\0' ? k.id : api_param(req, 0), NULL);
	db_release(c);
	return r;
}

const struct api_route api_routes_apikeys[] = {
	{ "POST", "/v1/apikeys", apikeys_create, API_AUTH },
	{ "GET", "/v1/apikeys", apikeys_list, API_AUTH },
	{ "DELETE", "/v1/apikeys/{id}", apikeys_revoke, API_AUTH },
	{ NULL, NULL, NULL, API_PUBLIC },
};
