/*
 * me.c - GET /v1/me: who the caller is. (/v1/me/keys, the keys the caller
 * may sign with, lives in api_routes_keys next to the key renderers.)
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "db.h"
#include "err.h"
#include "server.h"
#include "store.h"

static int
me_show(struct sn_request *req, struct sn_response *resp)
{
	struct db_conn *c = NULL;
	struct store_tenant t;
	struct store_user u;
	json_t *body;
	int r;

	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	if ((r = store_tenant_get(c, req->actor.tenant_id, &t)) != 0) {
		r = api_store_error(resp, r, "tenant");
		goto out;
	}
	if (req->actor.type == SN_ACTOR_USER) {
		if ((r = store_user_get(c, req->actor.tenant_id, req->actor.id,
		    &u)) != 0) {
			r = api_store_error(resp, r, "user");
			goto out;
		}
		body = json_pack("{s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s}}",
		    "type", "user", "id", u.id, "email", u.email, "role",
		    u.role, "credential_id", req->actor.credential_id,
		    "tenant", "id", t.id, "name", t.name);
	} else {
		body = json_pack("{s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s}}",
		    "type", "service_account", "id", req->actor.id, "name",
		    req->actor.name, "role", "service_account",
		    "credential_id", req->actor.credential_id,
		    "tenant", "id", t.id, "name", t.name);
	}
	r = api_json(resp, 200, body);
 out:
	db_release(c);
	return r;
}

const struct api_route api_routes_me[] = {
	{ "GET", "/v1/me", me_show, API_AUTH },
	{ NULL, NULL, NULL, API_PUBLIC },
};
