/*
 * users.c - /v1/users: create (with the user's first API key), list, show,
 * disable. Admin only, except that every user may see itself.
 *
 * Every change commits together with its audit event. The new API key is in
 * the response once and nowhere else (not in the audit details, not in logs).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "audit.h"
#include "authz.h"
#include "db.h"
#include "err.h"
#include "page.h"
#include "server.h"
#include "store.h"
#include "util.h"

static int
users_create(struct sn_request *req, struct sn_response *resp)
{
	static const char *const allowed[] = { "email", "role", NULL };
	struct db_conn *c = NULL;
	struct store_user u;
	struct store_apikey k;
	const char *email, *role;
	char *secret = NULL;
	json_t *details = NULL, *body = NULL;
	int r;

	memset(&u, 0, sizeof(u));
	/* Permission first: a caller who may not create users learns
	 * nothing from input validation. */
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	if ((r = api_authz(c, req, resp, AUTHZ_TENANT_ADMIN, NULL,
	    "tenant")) != 0)
		goto out;
	if ((r = api_require_body(req, resp)) != 0 ||
	    (r = api_reject_unknown(resp, req->body, allowed)) != 0 ||
	    (r = api_get_string(resp, req->body, "email", 1, 254, &email)) != 0 ||
	    (r = api_get_string(resp, req->body, "role", 0, 16, &role)) != 0)
		goto out;
	if (!api_valid_email(email)) {
		r = api_error(resp, SN_ERR_INVALID, "invalid email address");
		goto out;
	}
	if (role == NULL)
		role = "user";
	if (strcmp(role, "admin") != 0 && strcmp(role, "user") != 0) {
		r = api_error(resp, SN_ERR_INVALID,
		    "role must be 'admin' or 'user'");
		goto out;
	}
	if ((r = api_begin(c, resp)) != 0)
		goto out;
	if ((r = store_user_create(c, req->actor.tenant_id, email, role,
	    &u)) != 0) {
		r = api_store_error(resp, r, "user");
		goto out;
	}
	if ((r = store_apikey_create(c, req->actor.tenant_id, u.id,
	    "initial key", 0, &k, &secret)) != 0) {
		r = api_store_error(resp, r, "API key");
		goto out;
	}
	if ((details = json_pack("{s:s,s:s,s:s}", "email", u.email, "role",
	    u.role, "api_key_id", k.id)) == NULL) {
		r = api_error(resp, SN_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = audit_req(c, req, "user.create", "user", u.id, "ok",
	    details)) != 0 || (r = db_commit(c)) != 0) {
		r = api_error(resp, r, "cannot record the change");
		goto out;
	}
	body = json_pack("{s:o,s:{s:s,s:s,s:o}}", "user", store_user_json(&u),
	    "api_key", "id", k.id, "key", secret, "expires_at",
	    store_time_json(k.expires_at));
	r = api_json(resp, 201, body);
 out:
	if (r != 0)		/* rolls back, then records the refusal */
		audit_refusal(c, req, resp, "user.create", "user", u.id, NULL);
	sn_strfreezero(secret);
	json_decref(details);
	db_release(c);
	return r;
}

static int
users_list(struct sn_request *req, struct sn_response *resp)
{
	struct db_conn *c = NULL;
	struct api_page pg;
	struct store_page sp;
	json_t *arr = NULL, *next;
	int r;

	if ((r = api_page_parse(req, resp, API_LIST_USERS, 1, &pg)) != 0)
		return r;
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	if ((r = api_authz(c, req, resp, AUTHZ_TENANT_ADMIN, NULL,
	    "tenant")) != 0)
		goto out;
	api_page_store(&pg, 1, &sp);
	if ((r = store_user_page(c, req->actor.tenant_id, &sp, &arr)) != 0) {
		r = api_store_error(resp, r, "users");
		goto out;
	}
	if ((next = api_page_finish(API_LIST_USERS, &pg, arr, "email")) == NULL) {
		r = api_store_error(resp, SN_ERR_NOMEM, "users");
		goto out;
	}
	r = api_json(resp, 200, json_pack("{s:o, s:o}", "users", arr,
	    "next_cursor", next));
	arr = NULL;
 out:
	if (r != 0 && resp->status == 403)	/* denied reads are audited */
		audit_refusal(c, req, resp, "user.list", "user", "", NULL);
	json_decref(arr);
	db_release(c);
	return r;
}

/* Resolves {id} (id or email) and checks the action on it. */
static int
resolve_user(struct db_conn *c, struct sn_request *req,
    struct sn_response *resp, enum authz_action action, struct store_user *u)
{
	int r;

	if ((r = store_user_get(c, req->actor.tenant_id, api_param(req, 0),
	    u)) != 0)
		return api_store_error(resp, r, "user");
	if (action == AUTHZ_TENANT_ADMIN)
		return api_authz(c, req, resp, action, NULL, "user");
	return api_authz(c, req, resp, action, u->id, "user");
}

static int
users_show(struct sn_request *req, struct sn_response *resp)
{
	struct db_conn *c = NULL;
	struct store_user u;
	int r;

	memset(&u, 0, sizeof(u));
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	if ((r = resolve_user(c, req, resp, AUTHZ_USER_VIEW, &u)) != 0)
		goto out;
	r = api_json(resp, 200, json_pack("{s:o}", "user",
	    store_user_json(&u)));
 out:
	if (r != 0 && resp->status == 403)	/* denied reads are audited */
		audit_refusal(c, req, resp, "user.view", "user", u.id, NULL);
	db_release(c);
	return r;
}

static int
users_disable(struct sn_request *req, struct sn_response *resp)
{
	struct db_conn *c = NULL;
	struct store_user u;
	int r;

	memset(&u, 0, sizeof(u));
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	/* Non-admins learn nothing about other users. */
	if ((r = api_authz(c, req, resp, AUTHZ_TENANT_ADMIN, NULL,
	    "user")) != 0)
		goto out;
	if (req->body != NULL && (r = api_reject_unknown(resp, req->body,
	    (const char *const[]){ NULL })) != 0)
		goto out;
	if ((r = resolve_user(c, req, resp, AUTHZ_TENANT_ADMIN, &u)) != 0)
		goto out;
	if (strcmp(u.id, req->actor.id) == 0) {
		r = api_error(resp, SN_ERR_CONFLICT,
		    "you cannot disable yourself");
		goto out;
	}
	if ((r = api_begin(c, resp)) != 0)
		goto out;
	if ((r = store_user_set_disabled(c, req->actor.tenant_id, u.id,
	    1)) != 0) {
		r = api_store_error(resp, r, "user");
		goto out;
	}
	if ((r = audit_req(c, req, "user.disable", "user", u.id, "ok",
	    NULL)) != 0 || (r = db_commit(c)) != 0) {
		r = api_error(resp, r, "cannot record the change");
		goto out;
	}
	u.disabled = 1;
	r = api_json(resp, 200, json_pack("{s:o}", "user",
	    store_user_json(&u)));
 out:
	if (r != 0)
		audit_refusal(c, req, resp, "user.disable", "user",
		    u.id[0] != '\0' ? u.id : api_param(req, 0), NULL);
	db_release(c);
	return r;
}

const struct api_route api_routes_users[] = {
	{ "POST", "/v1/users", users_create, API_AUTH },
	{ "GET", "/v1/users", users_list, API_AUTH },
	{ "GET", "/v1/users/{id}", users_show, API_AUTH },
	{ "POST", "/v1/users/{id}/disable", users_disable, API_AUTH },
	{ NULL, NULL, NULL, API_PUBLIC },
};
