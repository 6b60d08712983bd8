/*
 * projects.c - /v1/projects: projects, their owners and their authorized
 * signers. The signer links made here are the only thing that grants the
 * right to sign with the project's keys; every principal named must exist
 * in the caller's tenant (anything else is 404, never a dangling link).
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
project_reply(struct db_conn *c, struct sn_request *req,
    struct sn_response *resp, int status, const struct store_project *p)
{
	json_t *pj = NULL;
	int r;

	if ((r = render_project(c, req->actor.tenant_id, p, &pj)) != 0)
		return api_store_error(resp, r, "project");
	return api_json(resp, status, json_pack("{s:o}", "project", pj));
}

static int
signers_reply(struct db_conn *c, struct sn_request *req,
    struct sn_response *resp, int status, const struct store_project *p)
{
	json_t *arr = NULL;
	int r;

	if ((r = store_project_principals(c, req->actor.tenant_id, p->id, 1,
	    &arr)) != 0)
		return api_store_error(resp, r, "project");
	return api_json(resp, status, json_pack("{s:o}", "signers", arr));
}

static int
projects_create(struct sn_request *req, struct sn_response *resp)
{
	static const char *const allowed[] = { "name", NULL };
	struct db_conn *c = NULL;
	struct store_project p;
	const char *name = NULL;
	char *id = NULL;
	json_t *d = NULL;
	int r;

	memset(&p, 0, sizeof(p));
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	if ((r = api_authz(c, req, resp, AUTHZ_TENANT_ADMIN, NULL, "tenant")) != 0 ||
	    (r = api_body(req, resp, allowed)) != 0 ||
	    (r = api_get_string(resp, req->body, "name", 1, 64, &name)) != 0)
		goto out;
	if ((r = api_check_name(resp, "name", name)) != 0)
		goto out;
	if ((r = sn_new_id("prj", &id)) != 0 ||
	    (r = store_copy(p.id, sizeof(p.id), id)) != 0 ||
	    (r = store_copy(p.name, sizeof(p.name), name)) != 0) {
		r = api_error(resp, SN_ERR_INTERNAL, "could not make an id");
		goto out;
	}
	p.created_at = sn_now();
	d = json_pack("{s:s}", "name", p.name);
	if ((r = api_begin(c, resp)) != 0)
		goto out;
	if ((r = store_project_insert(c, req->actor.tenant_id, &p)) != 0) {
		r = r == SN_ERR_CONFLICT ? api_error(resp, r,
		    "a project named '%s' already exists", p.name) :
		    api_store_error(resp, r, "project");
		goto out;
	}
	if ((r = audit_req(c, req, "project.create", "project", p.id, "ok",
	    d)) != 0) {
		r = api_store_error(resp, r, "audit event");
		goto out;
	}
	if ((r = api_commit(c, resp)) != 0)
		goto out;
	r = project_reply(c, req, resp, 201, &p);
 out:
	if (r != 0)
		audit_refusal(c, req, resp, "project.create", "project",
		    p.id, d);
	json_decref(d);
	free(id);
	db_release(c);
	return r;
}

/* One query per page (projects and owners joined), filtered in SQL by
 * what the caller may view, then cut: store_page.h. */
static int
projects_list(struct sn_request *req, struct sn_response *resp)
{
	struct db_conn *c = NULL;
	struct api_page pg;
	struct store_page sp;
	struct store_viewer v;
	json_t *arr = NULL, *next;
	int r;

	if ((r = api_page_parse(req, resp, API_LIST_PROJECTS, 1, &pg)) != 0)
		return r;
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	api_page_viewer(req, &v);
	api_page_store(&pg, 1, &sp);
	if ((r = store_project_page(c, &v, &sp, &arr)) != 0) {
		r = api_store_error(resp, r, "project");
		goto out;
	}
	if ((next = api_page_finish(API_LIST_PROJECTS, &pg, arr,
	    "name")) == NULL) {
		r = api_store_error(resp, SN_ERR_NOMEM, "project");
		goto out;
	}
	r = api_json(resp, 200, json_pack("{s:o, s:o}", "projects", arr,
	    "next_cursor", next));
	arr = NULL;
 out:
	json_decref(arr);
	db_release(c);
	return r;
}

static int
project_load(struct db_conn *c, struct sn_request *req,
    struct sn_response *resp, enum authz_action action,
    struct store_project *p)
{
	int r;

	if ((r = store_project_get(c, req->actor.tenant_id, req->params[0],
	    p)) != 0)
		return api_store_error(resp, r, "project");
	return api_authz(c, req, resp, action, p->id, "project");
}

static int
projects_show(struct sn_request *req, struct sn_response *resp)
{
	struct db_conn *c = NULL;
	struct store_project p;
	int r;

	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	if ((r = project_load(c, req, resp, AUTHZ_PROJECT_VIEW, &p)) == 0)
		r = project_reply(c, req, resp, 200, &p);
	else if (resp->status == 403)	/* denied reads are audited too */
		audit_refusal(c, req, resp, "project.view", "project", p.id,
		    NULL);
	db_release(c);
	return r;
}

/*
 * Reads exactly one of the members names[] (e.g. "user", "team") from the
 * body, and resolves it in the tenant. *type points into names.
 */
static int
principal_from_body(struct db_conn *c, struct sn_request *req,
    struct sn_response *resp, const char *const *names, const char **type,
    char id[STORE_ID_MAX], char name[STORE_EMAIL_MAX])
{
	const char *val = NULL, *v;
	size_t i, n = 0;
	int r;

	*type = NULL;
	for (i = 0; names[i] != NULL; i++) {
		if ((r = api_get_string(resp, req->body, names[i], 0, 256,
		    &v)) != 0)
			return r;
		if (v != NULL) {
			n++;
			*type = names[i];
			val = v;
		}
	}
	if (n != 1)
		return api_error(resp, SN_ERR_INVALID, "exactly one of %s must "
		    "be given", names[2] != NULL ?
		    "'user', 'team' or 'service_account'" : "'user' or 'team'");
	if ((r = store_principal_resolve(c, req->actor.tenant_id, *type, val,
	    id, name)) != 0)
		return api_error(resp, r == SN_ERR_NOT_FOUND ? r : SN_ERR_DB,
		    "no such %s", strcmp(*type, "service_account") == 0 ?
		    "service account" : *type);
	return 0;
}

static int
principal_change(struct sn_request *req, struct sn_response *resp,
    int signers, int add)
{
	static const char *const owner_names[] = { "user", "team", NULL };
	static const char *const signer_names[] = { "user", "team",
	    "service_account", NULL };
	const char *const *names = signers ? signer_names : owner_names;
	const char *action = signers ? (add ? "project.signer.add" :
	    "project.signer.remove") : "project.owner.add";
	struct db_conn *c = NULL;
	struct store_project p;
	const char *type = NULL;
	char pid[STORE_ID_MAX], pname[STORE_EMAIL_MAX];
	json_t *d = NULL;
	size_t i;
	int r;

	memset(&p, 0, sizeof(p));
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	if ((r = project_load(c, req, resp, AUTHZ_PROJECT_MANAGE, &p)) != 0)
		goto out;
	if (add) {
		if ((r = api_body(req, resp, names)) != 0 ||
		    (r = principal_from_body(c, req, resp, names, &type, pid,
		    pname)) != 0)
			goto out;
	} else {
		/* DELETE /v1/projects/{id}/signers/{type}/{principal} */
		for (i = 0; names[i] != NULL; i++)
			if (strcmp(names[i], req->params[1]) == 0)
				type = names[i];
		if (type == NULL) {
			r = api_error(resp, SN_ERR_INVALID, "signer type must be "
			    "user, team or service_account");
			goto out;
		}
		if ((r = store_principal_resolve(c, req->actor.tenant_id, type,
		    req->params[2], pid, pname)) != 0) {
			r = api_store_error(resp, r, strcmp(type,
			    "service_account") == 0 ? "service account" : type);
			goto out;
		}
	}
	d = json_pack("{s:s, s:s, s:s}", "type", type, "id", pid, "name",
	    pname);
	if ((r = api_begin(c, resp)) != 0)
		goto out;
	if (add)
		r = store_project_principal_add(c, req->actor.tenant_id, p.id,
		    signers, type, pid, sn_now());
	else
		r = store_project_principal_remove(c, req->actor.tenant_id,
		    p.id, signers, type, pid);
	if (r != 0) {
		if (r == SN_ERR_CONFLICT)
			r = api_error(resp, r, "%s %s is already %s of project %s",
			    type, pname, signers ? "a signer" : "an owner",
			    p.name);
		else if (r == SN_ERR_NOT_FOUND)
			r = api_error(resp, r, "%s %s is not a signer of "
			    "project %s", type, pname, p.name);
		else
			r = api_store_error(resp, r, "project");
		goto out;
	}
	if ((r = audit_req(c, req, action, "project", p.id, "ok", d)) != 0) {
		r = api_store_error(resp, r, "audit event");
		goto out;
	}
	if ((r = api_commit(c, resp)) != 0)
		goto out;
	if (signers)
		r = signers_reply(c, req, resp, add ? 201 : 200, &p);
	else
		r = project_reply(c, req, resp, 200, &p);
 out:
	if (r != 0)
		audit_refusal(c, req, resp, action, "project",
		    p.id[0] != '\0' ? p.id : req->params[0], d);
	json_decref(d);
	db_release(c);
	return r;
}

static int
projects_owner_add(struct sn_request *req, struct sn_response *resp)
{
	return principal_change(req, resp, 0, 1);
}

static int
projects_signer_add(struct sn_request *req, struct sn_response *resp)
{
	return principal_change(req, resp, 1, 1);
}

static int
projects_signer_remove(struct sn_request *req, struct sn_response *resp)
{
	return principal_change(req, resp, 1, 0);
}

static int
projects_signers(struct sn_request *req, struct sn_response *resp)
{
	struct db_conn *c = NULL;
	struct store_project p;
	int r;

	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	if ((r = project_load(c, req, resp, AUTHZ_PROJECT_MANAGE, &p)) == 0)
		r = signers_reply(c, req, resp, 200, &p);
	else if (resp->status == 403)
		audit_refusal(c, req, resp, "project.signers.view",
		    "project", p.id, NULL);
	db_release(c);
	return r;
}

const struct api_route api_routes_projects[] = {
	{ "POST", "/v1/projects", projects_create, API_AUTH },
	{ "GET", "/v1/projects", projects_list, API_AUTH },
	{ "GET", "/v1/projects/{id}", projects_show, API_AUTH },
	{ "POST", "/v1/projects/{id}/owners", projects_owner_add, API_AUTH },
	{ "GET", "/v1/projects/{id}/signers", projects_signers, API_AUTH },
	{ "POST", "/v1/projects/{id}/signers", projects_signer_add, API_AUTH },
	{ "DELETE", "/v1/projects/{id}/signers/{type}/{principal}",
	    projects_signer_remove, API_AUTH },
	{ NULL, NULL, NULL, API_PUBLIC },
};
