/*
 * teams.c - /v1/teams: create (admin), list (admin: all; others: their
 * teams), show (admin, member), add/remove members (admin, team owner).
 *
 * Every change commits together with its audit event; every refusal of a
 * change is audited as "denied".
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "audit.h"
#include "db.h"
#include "err.h"
#include "page.h"
#include "render.h"
#include "server.h"
#include "util.h"

static int
team_reply(struct db_conn *c, struct sn_response *resp, int status,
    const struct store_team *t)
{
	json_t *tj = NULL;
	int r;

	if ((r = render_team(c, t, &tj)) != 0)
		return api_store_error(resp, r, "team");
	return api_json(resp, status, json_pack("{s:o}", "team", tj));
}

static int
teams_create(struct sn_request *req, struct sn_response *resp)
{
	static const char *const allowed[] = { "name", NULL };
	struct db_conn *c = NULL;
	struct store_team t;
	const char *name = NULL;
	char *id = NULL;
	json_t *d = NULL;
	int r;

	memset(&t, 0, sizeof(t));
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	if ((r = api_authz(c, req, resp, AUTHZ_TENANT_ADMIN, NULL, "tenant")) != 0 ||
	    (r = api_body(req, resp, allowed)) != 0 ||
	    (r = api_get_string(resp, req->body, "name", 1, 64, &name)) != 0)
		goto out;
	if ((r = api_check_name(resp, "name", name)) != 0)
		goto out;
	if ((r = sn_new_id("team", &id)) != 0 ||
	    (r = store_copy(t.id, sizeof(t.id), id)) != 0 ||
	    (r = store_copy(t.name, sizeof(t.name), name)) != 0) {
		r = api_error(resp, SN_ERR_INTERNAL, "could not make an id");
		goto out;
	}
	t.created_at = sn_now();
	d = json_pack("{s:s}", "name", t.name);
	if ((r = api_begin(c, resp)) != 0)
		goto out;
	if ((r = store_team_insert(c, req->actor.tenant_id, &t)) != 0) {
		r = r == SN_ERR_CONFLICT ? api_error(resp, r,
		    "a team named '%s' already exists", t.name) :
		    api_store_error(resp, r, "team");
		goto out;
	}
	if ((r = audit_req(c, req, "team.create", "team", t.id, "ok", d)) != 0) {
		r = api_store_error(resp, r, "audit event");
		goto out;
	}
	if ((r = api_commit(c, resp)) != 0)
		goto out;
	r = team_reply(c, resp, 201, &t);
 out:
	if (r != 0)
		audit_refusal(c, req, resp, "team.create", "team", t.id, d);
	json_decref(d);
	free(id);
	db_release(c);
	return r;
}

/* Teams and members in one query per page, filtered by AUTHZ_TEAM_VIEW's
 * rule in SQL (store_page.h). */
static int
teams_list(struct sn_request *req, struct sn_response *resp)
{
	struct db_conn *c = NULL;
	struct api_page pg;
	struct store_page sp;
	struct store_viewer v;
	json_t *arr = NULL, *next;
	int r;

	if ((r = api_page_parse(req, resp, API_LIST_TEAMS, 1, &pg)) != 0)
		return r;
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	api_page_viewer(req, &v);
	api_page_store(&pg, 1, &sp);
	if ((r = store_team_page(c, &v, &sp, &arr)) != 0) {
		r = api_store_error(resp, r, "team");
		goto out;
	}
	if ((next = api_page_finish(API_LIST_TEAMS, &pg, arr, "name")) == NULL) {
		r = api_store_error(resp, SN_ERR_NOMEM, "team");
		goto out;
	}
	r = api_json(resp, 200, json_pack("{s:o, s:o}", "teams", arr,
	    "next_cursor", next));
	arr = NULL;
 out:
	json_decref(arr);
	db_release(c);
	return r;
}

static int
teams_show(struct sn_request *req, struct sn_response *resp)
{
	struct db_conn *c = NULL;
	struct store_team t;
	int r;

	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	if ((r = store_team_get(c, req->actor.tenant_id, req->params[0], &t)) != 0) {
		r = api_store_error(resp, r, "team");
		goto out;
	}
	if ((r = api_authz(c, req, resp, AUTHZ_TEAM_VIEW, t.id, "team")) != 0)
		goto out;
	r = team_reply(c, resp, 200, &t);
 out:
	if (r != 0 && resp->status == 403)	/* denied reads are audited too */
		audit_refusal(c, req, resp, "team.view", "team", t.id, NULL);
	db_release(c);
	return r;
}

static int
teams_member_add(struct sn_request *req, struct sn_response *resp)
{
	static const char *const allowed[] = { "user", "owner", NULL };
	struct db_conn *c = NULL;
	struct store_team t;
	const char *user = NULL;
	char uid[STORE_ID_MAX], email[STORE_EMAIL_MAX];
	int owner = -1, created = 0, r;	/* -1: "owner" not given */
	json_t *d = NULL;

	memset(&t, 0, sizeof(t));
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	if ((r = store_team_get(c, req->actor.tenant_id, req->params[0], &t)) != 0) {
		r = api_store_error(resp, r, "team");
		goto out;
	}
	if ((r = api_authz(c, req, resp, AUTHZ_TEAM_MANAGE, t.id, "team")) != 0 ||
	    (r = api_body(req, resp, allowed)) != 0 ||
	    (r = api_get_string(resp, req->body, "user", 1, 256, &user)) != 0 ||
	    (r = api_get_bool(resp, req->body, "owner", 0, &owner)) != 0)
		goto out;
	if ((r = store_principal_resolve(c, req->actor.tenant_id, "user", user,
	    uid, email)) != 0) {
		r = api_store_error(resp, r, "user");
		goto out;
	}
	d = json_pack("{s:s, s:s}", "user", uid, "email", email);
	if (d != NULL && owner >= 0)
		json_object_set_new(d, "owner", json_boolean(owner));
	if ((r = api_begin(c, resp)) != 0)
		goto out;
	if ((r = store_team_member_set(c, req->actor.tenant_id, t.id,
	    uid, owner, sn_now(), &created)) != 0) {
		r = api_store_error(resp, r, "team member");
		goto out;
	}
	if ((r = audit_req(c, req, created ? "team.member.add" :
	    "team.member.update", "team", t.id, "ok", d)) != 0) {
		r = api_store_error(resp, r, "audit event");
		goto out;
	}
	if ((r = api_commit(c, resp)) != 0)
		goto out;
	r = team_reply(c, resp, 200, &t);
 out:
	if (r != 0)
		audit_refusal(c, req, resp, "team.member.add", "team",
		    t.id[0] != '\0' ? t.id : req->params[0], d);
	json_decref(d);
	db_release(c);
	return r;
}

static int
teams_member_remove(struct sn_request *req, struct sn_response *resp)
{
	struct db_conn *c = NULL;
	struct store_team t;
	char uid[STORE_ID_MAX], email[STORE_EMAIL_MAX];
	json_t *d = NULL;
	int r;

	memset(&t, 0, sizeof(t));
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	if ((r = store_team_get(c, req->actor.tenant_id, req->params[0], &t)) != 0) {
		r = api_store_error(resp, r, "team");
		goto out;
	}
	if ((r = api_authz(c, req, resp, AUTHZ_TEAM_MANAGE, t.id, "team")) != 0)
		goto out;
	if ((r = store_principal_resolve(c, req->actor.tenant_id, "user",
	    req->params[1], uid, email)) != 0) {
		r = api_store_error(resp, r, "user");
		goto out;
	}
	d = json_pack("{s:s, s:s}", "user", uid, "email", email);
	if ((r = api_begin(c, resp)) != 0)
		goto out;
	if ((r = store_team_member_remove(c, req->actor.tenant_id, t.id,
	    uid)) != 0) {
		r = r == SN_ERR_NOT_FOUND ? api_error(resp, r,
		    "%s is not a member of team %s", email, t.name) :
		    api_store_error(resp, r, "team member");
		goto out;
	}
	if ((r = audit_req(c, req, "team.member.remove", "team", t.id, "ok",
	    d)) != 0) {
		r = api_store_error(resp, r, "audit event");
		goto out;
	}
	if ((r = api_commit(c, resp)) != 0)
		goto out;
	r = team_reply(c, resp, 200, &t);
 out:
	if (r != 0)
		audit_refusal(c, req, resp, "team.member.remove", "team",
		    t.id[0] != '\0' ? t.id : req->params[0], d);
	json_decref(d);
	db_release(c);
	return r;
}

const struct api_route api_routes_teams[] = {
	{ "POST", "/v1/teams", teams_create, API_AUTH },
	{ "GET", "/v1/teams", teams_list, API_AUTH },
	{ "GET", "/v1/teams/{id}", teams_show, API_AUTH },
	{ "POST", "/v1/teams/{id}/members", teams_member_add, API_AUTH },
	{ "DELETE", "/v1/teams/{id}/members/{user}", teams_member_remove,
	    API_AUTH },
	{ NULL, NULL, NULL, API_PUBLIC },
};
