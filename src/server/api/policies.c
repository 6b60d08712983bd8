/*
 * policies.c - the signing policy of a key (docs/POLICIES.md).
 *
 *   GET    /v1/keys/{id}/policy   who may view the key (signers see what
 *                                 binds them)
 *   PUT    /v1/keys/{id}/policy   admin, project owner: replaces it whole
 *   DELETE /v1/keys/{id}/policy   admin, project owner (idempotent)
 *
 * Every change commits with its audit event (key.policy.set /
 * key.policy.clear, with the previous policy), and every refused change
 * is an event too. The rules themselves live in policy/; this file only
 * turns them into requests, responses and events, and lends sign.c the
 * one call it makes inside the signature's audit transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "audit.h"
#include "db.h"
#include "err.h"
#include "policies.h"
#include "policy.h"
#include "store.h"
#include "store_policies.h"
#include "store_resources.h"
#include "sign_commit.h"
#include "util.h"

static int
load_key(struct db_conn *c, struct sn_request *req, struct sn_response *resp,
    enum authz_action action, struct store_key *k)
{
	int r;

	if ((r = store_key_get(c, req->actor.tenant_id, req->params[0], k)) != 0)
		return r == SN_ERR_CONFLICT ? api_error(resp, r, "several keys "
		    "are named '%s': use PROJECT/KEY or the key id",
		    req->params[0]) : api_store_error(resp, r, "key");
	return api_authz(c, req, resp, action, k->id, "key");
}

/* {"key","policy","updated_at","updated_by"}; policy null if none. */
static int
reply(struct db_conn *c, struct sn_response *resp, const char *tenant_id,
    const struct store_key *k)
{
	struct store_policy sp;
	json_t *body;
	int r;

	r = store_policy_get(c, tenant_id, k->id, &sp);
	if (r != 0 && r != SN_ERR_NOT_FOUND)
		return api_store_error(resp, r, "policy");
	body = json_pack("{s:s, s:s, s:O?, s:o, s:s?}", "key", k->id,
	    "key_name", k->name, "policy", sp.policy, "updated_at",
	    store_time_json(sp.updated_at), "updated_by",
	    sp.updated_by[0] != '\0' ? sp.updated_by : NULL);
	store_policy_clear(&sp);
	if (body == NULL)
		return api_error(resp, SN_ERR_NOMEM, "out of memory");
	return api_json(resp, 200, body);
}

static int
policy_show(struct sn_request *req, struct sn_response *resp)
{
	struct db_conn *c = NULL;
	struct store_key k;
	int r;

	memset(&k, 0, sizeof(k));
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	if ((r = load_key(c, req, resp, AUTHZ_KEY_VIEW, &k)) == 0)
		r = reply(c, resp, req->actor.tenant_id, &k);
	store_key_clear(&k);
	db_release(c);
	return r;
}

/* PUT (set = 1) or DELETE. */
static int
policy_change(struct sn_request *req, struct sn_response *resp, int set)
{
	const char *action = set ? "key.policy.set" : "key.policy.clear";
	struct db_conn *c = NULL;
	struct store_key k;
	struct store_policy old;
	struct policy *p = NULL;
	json_t *d = NULL, *canon = NULL;
	char msg[POLICY_MSG_MAX], *txt = NULL;
	int r;

	memset(&k, 0, sizeof(k));
	memset(&old, 0, sizeof(old));
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	d = json_object();
	if ((r = load_key(c, req, resp, AUTHZ_KEY_MANAGE, &k)) != 0)
		goto out;
	json_object_set_new(d, "name", json_string(k.name));
	json_object_set_new(d, "project", json_string(k.project_id));
	if (set) {
		if ((r = api_require_body(req, resp)) != 0)
			goto out;
		if ((p = calloc(1, sizeof(*p))) == NULL) {
			r = api_error(resp, SN_ERR_NOMEM, "out of memory");
			goto out;
		}
		if (policy_parse(req->body, sn_key_alg_from_name(k.algorithm), p,
		    msg) != 0) {
			r = api_error(resp, SN_ERR_INVALID, "%s", msg);
			goto out;
		}
		if (p->approval_team[0] != '\0') {
			struct store_team t;

			/* The team by name or id, stored by id (a rename keeps
			 * the policy). */
			if ((r = store_team_get(c, req->actor.tenant_id,
			    p->approval_team, &t)) != 0) {
				r = r == SN_ERR_NOT_FOUND ? api_error(resp,
				    SN_ERR_INVALID, "field 'approval.team': no "
				    "such team '%s'", p->approval_team) :
				    api_store_error(resp, r, "team");
				goto out;
			}
			snprintf(p->approval_team, sizeof(p->approval_team), "%s",
			    t.id);
			snprintf(p->approval_team_name,
			    sizeof(p->approval_team_name), "%s", t.name);
		}
		if ((canon = policy_to_json(p)) == NULL ||
		    (txt = json_dumps(canon, JSON_COMPACT | JSON_SORT_KEYS)) ==
		    NULL) {
			r = api_error(resp, SN_ERR_NOMEM, "out of memory");
			goto out;
		}
		json_object_set(d, "policy", canon);
	} else if (req->body != NULL && json_is_object(req->body) &&
	    json_object_size(req->body) != 0) {
		r = api_error(resp, SN_ERR_INVALID, "this request takes no "
		    "fields");
		goto out;
	}
	if ((r = api_begin(c, resp)) != 0)
		goto out;
	r = store_policy_get(c, req->actor.tenant_id, k.id, &old);
	if (r != 0 && r != SN_ERR_NOT_FOUND) {
		r = api_store_error(resp, r, "policy");
		goto out;
	}
	json_object_set(d, "previous", old.policy != NULL ? old.policy :
	    json_null());
	if (set)
		r = store_policy_put(c, req->actor.tenant_id, k.id, txt,
		    sn_now(), req->actor.id);
	else if ((r = store_policy_delete(c, req->actor.tenant_id,
	    k.id)) == SN_ERR_NOT_FOUND)
		r = 0;	/* idempotent: the key has no policy either way */
	if (r != 0) {
		r = api_store_error(resp, r, "policy");
		goto out;
	}
	if ((r = audit_req(c, req, action, "key", k.id, "ok", d)) != 0) {
		r = api_store_error(resp, r, "audit event");
		goto out;
	}
	if ((r = api_commit(c, resp)) != 0)
		goto out;
	r = reply(c, resp, req->actor.tenant_id, &k);
 out:
	if (r != 0)
		audit_refusal(c, req, resp, action, "key",
		    k.id[0] != '\0' ? k.id : req->params[0], d);
	free(txt);
	free(p);
	json_decref(canon);
	json_decref(d);
	store_policy_clear(&old);
	store_key_clear(&k);
	db_release(c);
	return r;
}

static int
policy_set(struct sn_request *req, struct sn_response *resp)
{
	return policy_change(req, resp, 1);
}

static int
policy_clear(struct sn_request *req, struct sn_response *resp)
{
	return policy_change(req, resp, 0);
}

int
policies_enforce(struct db_conn *c, struct sn_request *req,
    struct sn_response *resp, const struct store_key *k, enum sn_mech mech,
    enum sn_hash hash, size_t n, json_t *d, int consume)
{
	struct policy_request pr;
	struct policy_verdict v;
	json_t *err;
	int r;

	memset(&pr, 0, sizeof(pr));
	pr.tenant_id = req->actor.tenant_id;
	pr.key_id = k->id;
	pr.mech = mech;
	pr.hash = hash;
	pr.source_ip = req->source_ip;
	pr.count = (int64_t)n;
	pr.now = sn_now();
	if ((r = policy_decide(c, &pr, consume, &v)) == 0)
		return 0;
	if (r == POLICY_NEEDS_APPROVAL)
		return consume ? approvals_claim(c, req, resp, &v, d) :
		    approvals_gate(c, req, resp, k, &v, d);
	if (r != SN_ERR_FORBIDDEN)
		return api_store_error(resp, r, "policy");
	api_error(resp, SN_ERR_FORBIDDEN, "%s", v.message);
	if ((err = json_object_get(resp->body, "error")) != NULL)
		json_object_set_new(err, "rule", json_string(v.rule));
	if (d != NULL)
		json_object_set_new(d, "policy_rule", json_string(v.rule));
	return SN_ERR_FORBIDDEN;
}

static int
commit_decide(struct db_conn *c, struct audit_sign *s)
{
	struct policies_commit *pc = s->decide_arg;
	const char *msg;
	int r;

	if ((r = policies_enforce(c, pc->req, pc->resp, pc->k, pc->mech,
	    pc->hash, pc->n, pc->d, 1)) == 0)
		return 0;
	msg = json_string_value(json_object_get(json_object_get(
	    pc->resp->body, "error"), "message"));
	s->err = r;
	snprintf(s->message, sizeof(s->message), "%s", msg != NULL ? msg :
	    sn_strerror(r));
	return r;
}

void
policies_commit_hook(struct audit_sign *sc, struct policies_commit *pc,
    struct sn_request *req, struct sn_response *resp,
    const struct store_key *k, enum sn_mech mech, enum sn_hash hash,
    size_t n, json_t *d)
{
	pc->req = req;
	pc->resp = resp;
	pc->k = k;
	pc->mech = mech;
	pc->hash = hash;
	pc->n = n;
	pc->d = d;
	sc->decide = commit_decide;
	sc->decide_arg = pc;
}

void
policies_error_rule(struct sn_response *resp, json_t *d)
{
	json_t *rule = json_object_get(d, "policy_rule");
	json_t *err = json_object_get(resp->body, "error");

	if (json_is_string(rule) && json_is_object(err))
		json_object_set(err, "rule", rule);
}

void
policies_signed(struct db_conn *c, struct sn_request *req, json_t *d,
    json_t *body)
{
	approvals_signed(c, req, d, body);
}

int
policies_me_fields(struct db_conn *c, const char *tenant_id,
    const char *key_id, int64_t now, json_t *kj)
{
	struct policy_quota_status q;
	json_t *qj = NULL;
	int r;

	if ((r = policy_quota_status(c, tenant_id, key_id, now, &q)) != 0)
		return r;
	if (q.has_quota && (qj = json_pack("{s:I, s:s, s:I, s:I, s:o}",
	    "limit", (json_int_t)q.max, "period", policy_period_name(q.period),
	    "used", (json_int_t)q.used, "remaining", (json_int_t)q.remaining,
	    "resets_at", store_time_json(q.resets_at))) == NULL)
		return SN_ERR_NOMEM;
	json_object_set_new(kj, "has_policy", json_boolean(q.has_policy));
	json_object_set_new(kj, "quota", qj != NULL ? qj : json_null());
	json_object_set_new(kj, "approval_required",
	    json_boolean(q.approval_required));
	return 0;
}

const struct api_route api_routes_policies[] = {
	{ "GET", "/v1/keys/{id}/policy", policy_show, API_AUTH },
	{ "PUT", "/v1/keys/{id}/policy", policy_set, API_AUTH },
	{ "DELETE", "/v1/keys/{id}/policy", policy_clear, API_AUTH },
	{ NULL, NULL, NULL, API_PUBLIC },
};
