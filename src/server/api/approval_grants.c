/*
 * approval_grants.c - pre-approval (docs/POLICIES.md, "Pre-approval"):
 *
 *   POST   /v1/keys/{id}/grants         approval team members (never for
 *                                       themselves): the next N signatures
 *                                       of one principal within a duration
 *                                       need no approval
 *   GET    /v1/keys/{id}/grants[?state=all]  key viewers, the approval team
 *   DELETE /v1/keys/{id}/grants/{gid}   approval team members, admins
 *   POST   /v1/keys/{id}/approvals      a signer of the key: an approval
 *                                       for exactly these digests, asked
 *                                       for before signing them
 *
 * and the signing side, for approvals.c: approvals_cover (before the HSM:
 * does a grant or an approved declaration cover this request?) and
 * approvals_cover_claim (inside the signature's audit transaction: take
 * it, with a guarded UPDATE, so that a grant of N never releases more
 * than N signatures and a declared digest signs once, however many
 * signers race).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "api.h"
#include "audit.h"
#include "db.h"
#include "encode.h"
#include "err.h"
#include "policies.h"
#include "policy.h"
#include "server.h"
#include "store.h"
#include "store_approvals.h"
#include "store_approvals_grants.h"
#include "store_resources.h"
#include "util.h"
#include "webhooks.h"

#define GRANT_MAX_SIGNATURES	1000000
#define GRANT_MIN_DURATION	60
#define GRANT_MAX_DURATION	(30 * 86400)
#define GRANT_LIST_MAX		1000
#define DECLARE_MAX_DIGESTS	1024
#define DECLARE_B64_MAX		256

/* The key params[0] (404 also for other tenants) and its approval team
 * (*team "" if its policy names none). */
static int
load_key(struct db_conn *c, struct sn_request *req, struct sn_response *resp,
    struct store_key *k, struct policy_quota_status *q)
{
	int r;

	if ((r = store_key_get(c, req->actor.tenant_id, req->params[0], k)) != 0)
		return r == SN_ERR_CONFLICT ? api_error(resp, r, "several keys "
		    "are named '%s': use PROJECT/KEY or the key id",
		    req->params[0]) : api_store_error(resp, r, "key");
	if ((r = policy_quota_status(c, req->actor.tenant_id, k->id, sn_now(),
	    q)) != 0)
		return api_store_error(resp, r, "policy");
	return 0;
}

/* An approver of the key's team: 0; someone who may not even see the key:
 * 404; else 403. */
static int
check_approver(struct db_conn *c, struct sn_request *req,
    struct sn_response *resp, const struct store_key *k, const char *team)
{
	int r;

	if (team[0] != '\0' && (r = authz_check(c, &req->actor,
	    AUTHZ_APPROVAL_DECIDE, team)) == 0)
		return 0;
	if (authz_check(c, &req->actor, AUTHZ_KEY_VIEW, k->id) != 0)
		return api_error(resp, SN_ERR_NOT_FOUND, "no such key");
	return api_error(resp, SN_ERR_FORBIDDEN, "permission denied "
	    "(approval.decide) for this key: only members of its approval "
	    "team grant");
}

static int
grant_json(const struct store_grant *g, const struct store_key *k,
    int64_t now, json_t **out)
{
	*out = json_pack("{s:s, s:s, s:{s:s, s:s, s:s}, s:s, s:{s:s, s:s, s:s}, "
	    "s:I, s:I, s:I, s:{s:s, s:s}, s:o, s:o, s:o, s:s?}",
	    "id", g->id, "state", store_grant_state(g, now),
	    "key", "id", k->id, "name", k->name, "project", k->project_name,
	    "team", g->team_id,
	    "principal", "type", g->principal_type, "id", g->principal_id,
	    "name", g->principal_name,
	    "max_signatures", (json_int_t)g->max_signatures,
	    "used", (json_int_t)g->used,
	    "remaining", (json_int_t)(g->max_signatures > g->used ?
	    g->max_signatures - g->used : 0),
	    "granted_by", "id", g->created_by, "name", g->created_by_name,
	    "created_at", store_time_json(g->created_at),
	    "expires_at", store_time_json(g->expires_at),
	    "revoked_at", g->revoked_at != 0 ? store_time_json(g->revoked_at) :
	    json_null(), "revoked_by", g->revoked_by[0] != '\0' ?
	    g->revoked_by : NULL);
	return *out != NULL ? 0 : SN_ERR_NOMEM;
}

/* "duration": seconds, or a string ("8h", "7d"). */
static int
get_duration(struct sn_response *resp, json_t *body, int64_t *out)
{
	json_t *v = json_object_get(body, "duration");
	int64_t s = 0;

	if (json_is_integer(v))
		s = json_integer_value(v);
	else if (!json_is_string(v) || strlen(json_string_value(v)) !=
	    json_string_length(v) || json_string_length(v) > 32 ||
	    sn_parse_duration(json_string_value(v), &s) != 0)
		return api_error(resp, SN_ERR_INVALID, "field 'duration' must be "
		    "seconds or a duration such as \"8h\" or \"7d\"");
	if (s < GRANT_MIN_DURATION || s > GRANT_MAX_DURATION)
		return api_error(resp, SN_ERR_INVALID, "field 'duration' must be "
		    "60 s to 30 days");
	*out = s;
	return 0;
}

static int
grant_create(struct sn_request *req, struct sn_response *resp)
{
	static const char *const allowed[] = { "user", "service_account",
	    "max_signatures", "duration", NULL };
	struct db_conn *c = NULL;
	struct store_key k;
	struct policy_quota_status q;
	struct store_grant g;
	const char *user = NULL, *sa = NULL;
	json_t *d = NULL, *gj = NULL;
	char *id = NULL;
	int64_t max = 0, dur = 0, now = sn_now();
	int r;

	memset(&k, 0, sizeof(k));
	memset(&g, 0, sizeof(g));
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	d = json_object();
	if ((r = load_key(c, req, resp, &k, &q)) != 0)
		goto out;
	json_object_set_new(d, "key", json_string(k.id));
	json_object_set_new(d, "key_name", json_string(k.name));
	if (!q.approval_required) {
		r = authz_check(c, &req->actor, AUTHZ_KEY_VIEW, k.id) != 0 ?
		    api_error(resp, SN_ERR_NOT_FOUND, "no such key") :
		    api_error(resp, SN_ERR_CONFLICT, "key %s/%s needs no "
		    "approval (its policy names no approval team): there is "
		    "nothing to grant", k.project_name, k.name);
		goto out;
	}
	if ((r = check_approver(c, req, resp, &k, q.approval_team)) != 0)
		goto out;
	json_object_set_new(d, "team", json_string(q.approval_team));
	if ((r = api_require_body(req, resp)) != 0 ||
	    (r = api_body(req, resp, allowed)) != 0 ||
	    (r = api_get_string(resp, req->body, "user", 0, 256, &user)) != 0 ||
	    (r = api_get_string(resp, req->body, "service_account", 0, 256,
	    &sa)) != 0 ||
	    (r = api_get_int(resp, req->body, "max_signatures", 1, 1,
	    GRANT_MAX_SIGNATURES, &max)) != 0 ||
	    (r = get_duration(resp, req->body, &dur)) != 0)
		goto out;
	if ((user == NULL) == (sa == NULL)) {
		r = api_error(resp, SN_ERR_INVALID, "exactly one of 'user' or "
		    "'service_account' must be given");
		goto out;
	}
	snprintf(g.principal_type, sizeof(g.principal_type), "%s",
	    user != NULL ? "user" : "service_account");
	if ((r = store_principal_resolve(c, req->actor.tenant_id,
	    g.principal_type, user != NULL ? user : sa, g.principal_id,
	    g.principal_name)) != 0) {
		r = api_error(resp, r == SN_ERR_NOT_FOUND ? r : SN_ERR_DB,
		    "no such %s", user != NULL ? "user" : "service account");
		goto out;
	}
	json_object_set_new(d, "principal", json_pack("{s:s, s:s, s:s}", "type",
	    g.principal_type, "id", g.principal_id, "name", g.principal_name));
	json_object_set_new(d, "max_signatures", json_integer(max));
	json_object_set_new(d, "duration", json_integer(dur));
	if (strcmp(g.principal_id, req->actor.id) == 0) {
		r = api_error(resp, SN_ERR_FORBIDDEN, "an approver cannot grant "
		    "itself");
		goto out;
	}
	if ((r = sn_new_id("grt", &id)) != 0) {
		r = api_error(resp, SN_ERR_NOMEM, "out of memory");
		goto out;
	}
	snprintf(g.id, sizeof(g.id), "%s", id);
	snprintf(g.key_id, sizeof(g.key_id), "%s", k.id);
	snprintf(g.team_id, sizeof(g.team_id), "%s", q.approval_team);
	snprintf(g.created_by, sizeof(g.created_by), "%s", req->actor.id);
	snprintf(g.created_by_name, sizeof(g.created_by_name), "%s",
	    req->actor.name);
	g.max_signatures = max;
	g.created_at = now;
	g.expires_at = now + dur;
	json_object_set_new(d, "expires_at", store_time_json(g.expires_at));
	if ((r = api_begin(c, resp)) != 0)
		goto out;
	if ((r = store_grant_insert(c, req->actor.tenant_id, &g)) != 0) {
		r = api_store_error(resp, r, "grant");
		goto out;
	}
	if ((r = api_commit_audited(c, req, resp, "approval.grant",
	    "approval_grant", g.id, d)) != 0)
		goto out;
	if ((r = grant_json(&g, &k, now, &gj)) != 0) {
		r = api_error(resp, r, "out of memory");
		goto out;
	}
	r = api_json(resp, 201, json_pack("{s:o}", "grant", gj));
 out:
	if (r != 0)
		audit_refusal(c, req, resp, "approval.grant", "key",
		    k.id[0] != '\0' ? k.id : req->params[0], d);
	json_decref(d);
	free(id);
	store_key_clear(&k);
	db_release(c);
	return r;
}

static int
grant_list(struct sn_request *req, struct sn_response *resp)
{
	struct db_conn *c = NULL;
	struct store_key k;
	struct policy_quota_status q;
	struct store_ids ids = { NULL, 0 };
	struct store_grant g;
	const char *state = api_query(req, "state");
	json_t *arr = NULL, *gj;
	int64_t now = sn_now();
	size_t i;
	int r;

	memset(&k, 0, sizeof(k));
	if (state != NULL && strcmp(state, "active") != 0 &&
	    strcmp(state, "all") != 0)
		return api_error(resp, SN_ERR_INVALID, "state must be active or "
		    "all");
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	if ((r = load_key(c, req, resp, &k, &q)) != 0)
		goto out;
	/* Who may view the key, and its approvers. */
	if (authz_check(c, &req->actor, AUTHZ_KEY_VIEW, k.id) != 0 &&
	    (r = check_approver(c, req, resp, &k, q.approval_team)) != 0)
		goto out;
	if ((r = store_grant_list(c, req->actor.tenant_id, k.id, state != NULL &&
	    strcmp(state, "all") == 0, now, GRANT_LIST_MAX, &ids)) != 0 ||
	    (arr = json_array()) == NULL) {
		r = api_store_error(resp, r != 0 ? r : SN_ERR_NOMEM, "grant");
		goto out;
	}
	for (i = 0; i < ids.n; i++) {
		if ((r = store_grant_get(c, req->actor.tenant_id, k.id, ids.v[i],
		    &g)) != 0 || (r = grant_json(&g, &k, now, &gj)) != 0) {
			r = api_store_error(resp, r, "grant");
			goto out;
		}
		json_array_append_new(arr, gj);
	}
	r = api_json(resp, 200, json_pack("{s:o}", "grants", arr));
	arr = NULL;
 out:
	json_decref(arr);
	store_ids_free(&ids);
	store_key_clear(&k);
	db_release(c);
	return r;
}

static int
grant_revoke(struct sn_request *req, struct sn_response *resp)
{
	struct db_conn *c = NULL;
	struct store_key k;
	struct policy_quota_status q;
	struct store_grant g;
	json_t *d = NULL, *gj = NULL;
	int64_t now = sn_now();
	int r;

	memset(&k, 0, sizeof(k));
	memset(&g, 0, sizeof(g));
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	d = json_object();
	if (req->body != NULL && json_is_object(req->body) &&
	    json_object_size(req->body) != 0) {
		r = api_error(resp, SN_ERR_INVALID, "this request takes no "
		    "fields");
		goto out;
	}
	if ((r = load_key(c, req, resp, &k, &q)) != 0)
		goto out;
	json_object_set_new(d, "key", json_string(k.id));
	if ((r = api_begin(c, resp)) != 0)
		goto out;
	if ((r = store_grant_get(c, req->actor.tenant_id, k.id, req->params[1],
	    &g)) != 0) {
		r = r == SN_ERR_NOT_FOUND && authz_check(c, &req->actor,
		    AUTHZ_KEY_VIEW, k.id) != 0 ? api_error(resp,
		    SN_ERR_NOT_FOUND, "no such key") : api_store_error(resp, r,
		    "grant");
		goto out;
	}
	/* Members of the team that granted it, and admins. */
	if (!(req->actor.type == SN_ACTOR_USER && req->actor.is_admin) &&
	    (r = check_approver(c, req, resp, &k, g.team_id)) != 0)
		goto out;
	json_object_set_new(d, "principal", json_string(g.principal_id));
	json_object_set_new(d, "used", json_integer(g.used));
	json_object_set_new(d, "max_signatures", json_integer(g.max_signatures));
	if ((r = store_grant_revoke(c, req->actor.tenant_id, g.id,
	    req->actor.id, now)) != 0) {
		r = r == SN_ERR_CONFLICT ? api_error(resp, r, "grant %s is "
		    "revoked already", g.id) : api_store_error(resp, r, "grant");
		goto out;
	}
	if ((r = api_commit_audited(c, req, resp, "approval.grant.revoke",
	    "approval_grant", g.id, d)) != 0)
		goto out;
	if ((r = store_grant_get(c, req->actor.tenant_id, k.id, req->params[1],
	    &g)) != 0 || (r = grant_json(&g, &k, now, &gj)) != 0) {
		r = api_store_error(resp, r, "grant");
		goto out;
	}
	r = api_json(resp, 200, json_pack("{s:o}", "grant", gj));
 out:
	if (r != 0)
		audit_refusal(c, req, resp, "approval.grant.revoke",
		    "approval_grant", req->params[1], d);
	json_decref(d);
	store_key_clear(&k);
	db_release(c);
	return r;
}

/* The digests of d (the key.sign details): "digests", or ["digest"].
 * New reference. */
static json_t *
request_digests(json_t *d)
{
	json_t *many = json_object_get(d, "digests");

	if (json_is_array(many))
		return json_incref(many);
	return json_pack("[O]", json_object_get(d, "digest"));
}

int
approvals_cover(struct db_conn *c, struct sn_request *req,
    struct sn_response *resp, const struct store_key *k,
    const struct policy_verdict *v, json_t *d)
{
	const char *alg = json_string_value(json_object_get(d,
	    "digest_algorithm"));
	json_t *dg;
	char id[STORE_ID_MAX];
	int64_t n = json_integer_value(json_object_get(d, "count"));
	int r;

	r = store_grant_find(c, req->actor.tenant_id, k->id, v->approval_team,
	    req->actor.id, n, sn_now(), id);
	if (r == 0) {
		json_object_set_new(d, "grant", json_string(id));
		return 0;
	}
	if (r != SN_ERR_NOT_FOUND)
		return api_store_error(resp, r, "grant");
	if (alg == NULL || (dg = request_digests(d)) == NULL)
		return APPROVALS_NOT_COVERED;
	r = store_declared_find(c, req->actor.tenant_id, k->id, req->actor.id,
	    alg, dg, sn_now(), id);
	json_decref(dg);
	if (r == 0) {
		json_object_set_new(d, "declared_approval", json_string(id));
		return 0;
	}
	if (r != SN_ERR_NOT_FOUND)
		return api_store_error(resp, r, "approval");
	return APPROVALS_NOT_COVERED;
}

static int
refuse_claim(struct sn_response *resp, json_t *d, const char *msg)
{
	api_error(resp, SN_ERR_FORBIDDEN, "%s", msg);
	json_object_set_new(json_object_get(resp->body, "error"), "rule",
	    json_string("approval"));
	json_object_set_new(d, "policy_rule", json_string("approval"));
	return SN_ERR_FORBIDDEN;
}

int
approvals_cover_claim(struct db_conn *c, struct sn_request *req,
    struct sn_response *resp, const struct policy_verdict *v, json_t *d)
{
	const char *grant = json_string_value(json_object_get(d, "grant"));
	const char *decl = json_string_value(json_object_get(d,
	    "declared_approval"));
	const char *alg = json_string_value(json_object_get(d,
	    "digest_algorithm"));
	int64_t n = json_integer_value(json_object_get(d, "count"));
	struct store_approval a;
	json_t *dg;
	char msg[256];
	int r;

	if (grant != NULL) {
		r = store_grant_consume(c, req->actor.tenant_id, grant,
		    req->actor.id, v->approval_team, n, sn_now());
		if (r == SN_ERR_CONFLICT) {
			snprintf(msg, sizeof(msg), "grant %s has no signatures "
			    "left for this request (used, revoked or expired "
			    "meanwhile); no signature was released: send the "
			    "request again to ask for approval", grant);
			return refuse_claim(resp, d, msg);
		}
		return r != 0 ? api_store_error(resp, r, "grant") : 0;
	}
	if (decl == NULL)
		return APPROVALS_NOT_COVERED;
	if ((dg = request_digests(d)) == NULL)
		return api_error(resp, SN_ERR_NOMEM, "out of memory");
	/* Still approved (not expired), still the caller's, and every digest
	 * unused: the guarded UPDATEs decide. */
	memset(&a, 0, sizeof(a));
	if ((r = store_approval_get(c, req->actor.tenant_id, decl, &a)) == 0 &&
	    (strcmp(store_approval_state(&a, sn_now()), "approved") != 0 ||
	    strcmp(a.requester_id, req->actor.id) != 0))
		r = SN_ERR_CONFLICT;
	store_approval_clear(&a);
	if (r == 0)
		r = store_declared_use(c, decl, alg, dg, sn_now());
	json_decref(dg);
	if (r == SN_ERR_CONFLICT || r == SN_ERR_NOT_FOUND) {
		snprintf(msg, sizeof(msg), "the declared digests of approval %s "
		    "were signed or expired meanwhile; no signature was "
		    "released", decl);
		return refuse_claim(resp, d, msg);
	}
	return r != 0 ? api_store_error(resp, r, "approval") : 0;
}

/* digests[] (base64) -> hex, each of hash's length, no repeats. */
static int
declared_digests(struct sn_response *resp, json_t *many, enum sn_hash hash,
    json_t **out)
{
	json_t *hexes = json_array();
	uint8_t *raw = NULL;
	size_t i, j, len;
	char *hex = NULL;
	int r;

	*out = NULL;
	if (hexes == NULL)
		return api_error(resp, SN_ERR_NOMEM, "out of memory");
	for (i = 0; i < json_array_size(many); i++) {
		json_t *v = json_array_get(many, i);

		if (!json_is_string(v) || json_string_length(v) >
		    DECLARE_B64_MAX || sn_b64_decode(json_string_value(v),
		    json_string_length(v), &raw, &len) != 0) {
			r = api_error(resp, SN_ERR_INVALID, "digests[%zu] must be "
			    "a base64 string", i);
			goto out;
		}
		if (len != sn_hash_len(hash)) {
			r = api_error(resp, SN_ERR_INVALID, "digests[%zu] is %zu "
			    "bytes; %s digests are %zu bytes", i, len,
			    sn_hash_name(hash), sn_hash_len(hash));
			goto out;
		}
		if (sn_hex_encode(raw, len, &hex) != 0) {
			r = api_error(resp, SN_ERR_NOMEM, "out of memory");
			goto out;
		}
		for (j = 0; j < json_array_size(hexes); j++)
			if (strcmp(json_string_value(json_array_get(hexes, j)),
			    hex) == 0)
				break;
		if (j < json_array_size(hexes)) {
			r = api_error(resp, SN_ERR_INVALID, "digests[%zu] repeats "
			    "digests[%zu]", i, j);
			goto out;
		}
		json_array_append_new(hexes, json_string(hex));
		free(hex);
		hex = NULL;
		free(raw);
		raw = NULL;
	}
	*out = hexes;
	hexes = NULL;
	r = 0;
 out:
	free(hex);
	free(raw);
	json_decref(hexes);
	return r;
}

/* POST /v1/keys/{id}/approvals {"digest_algorithm","digests",
 * "client"?}: a pending approval for exactly these digests. */
static int
declare(struct sn_request *req, struct sn_response *resp)
{
	static const char *const allowed[] = { "digest_algorithm", "digests",
	    "client", NULL };
	static const char *const client_fields[] = { "hostname", "process",
	    "user", NULL };
	struct db_conn *c = NULL;
	struct store_key k;
	struct policy_quota_status q;
	struct store_approval a;
	const char *hashname = NULL, *v;
	json_t *d = NULL, *many, *hexes = NULL, *client, *aj = NULL;
	uint8_t md[SHA256_DIGEST_LENGTH];
	char *id = NULL, *fp = NULL;
	enum sn_hash hash;
	int64_t now = sn_now();
	size_t i;
	int r;

	memset(&k, 0, sizeof(k));
	memset(&a, 0, sizeof(a));
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	d = json_object();
	if ((r = load_key(c, req, resp, &k, &q)) != 0)
		goto out;
	json_object_set_new(d, "key", json_string(k.id));
	json_object_set_new(d, "key_name", json_string(k.name));
	if ((r = api_authz(c, req, resp, AUTHZ_KEY_SIGN, k.id, "key")) != 0)
		goto out;
	if ((r = api_require_body(req, resp)) != 0 ||
	    (r = api_body(req, resp, allowed)) != 0 ||
	    (r = api_get_string(resp, req->body, "digest_algorithm", 1, 32,
	    &hashname)) != 0)
		goto out;
	client = json_object_get(req->body, "client");
	if (client != NULL && !json_is_null(client)) {
		if (!json_is_object(client)) {
			r = api_error(resp, SN_ERR_INVALID, "field 'client' must "
			    "be an object");
			goto out;
		}
		if ((r = api_reject_unknown(resp, client, client_fields)) != 0)
			goto out;
		for (i = 0; client_fields[i] != NULL; i++)
			if ((r = api_get_string(resp, client, client_fields[i], 0,
			    256, &v)) != 0)
				goto out;
	} else
		client = NULL;
	if ((hash = sn_hash_from_name(hashname)) == SN_HASH_NONE ||
	    (hash == SN_HASH_SHA1 && !k.allow_sha1)) {
		r = api_error(resp, SN_ERR_INVALID, "unknown digest_algorithm "
		    "'%s': use sha256, sha384 or sha512", hashname);
		goto out;
	}
	many = json_object_get(req->body, "digests");
	if (!json_is_array(many) || json_array_size(many) == 0 ||
	    json_array_size(many) > DECLARE_MAX_DIGESTS) {
		r = api_error(resp, SN_ERR_INVALID, "field 'digests' must be an "
		    "array of 1 to %d base64 digests", DECLARE_MAX_DIGESTS);
		goto out;
	}
	if ((r = declared_digests(resp, many, hash, &hexes)) != 0)
		goto out;
	if (!q.approval_required) {
		r = api_error(resp, SN_ERR_CONFLICT, "key %s/%s needs no "
		    "approval (its policy names no approval team): sign "
		    "directly", k.project_name, k.name);
		goto out;
	}
	if ((r = sn_new_id("apr", &id)) != 0) {
		r = api_error(resp, SN_ERR_NOMEM, "out of memory");
		goto out;
	}
	/* Never the fingerprint of a signing request: this approval is
	 * found by its digests only. */
	SHA256((const uint8_t *)id, strlen(id), md);
	if (sn_hex_encode(md, sizeof(md), &fp) != 0) {
		r = api_error(resp, SN_ERR_NOMEM, "out of memory");
		goto out;
	}
	snprintf(a.id, sizeof(a.id), "%s", id);
	snprintf(a.key_id, sizeof(a.key_id), "%s", k.id);
	snprintf(a.team_id, sizeof(a.team_id), "%s", q.approval_team);
	a.required = q.approvals > 0 ? q.approvals : 1;
	a.ttl = q.approval_ttl > 0 ? q.approval_ttl :
	    POLICY_APPROVAL_TTL_DEFAULT;
	snprintf(a.requester_type, sizeof(a.requester_type), "%s",
	    sn_actor_type_name(&req->actor));
	snprintf(a.requester_id, sizeof(a.requester_id), "%s", req->actor.id);
	snprintf(a.requester_name, sizeof(a.requester_name), "%s",
	    req->actor.name);
	snprintf(a.fingerprint, sizeof(a.fingerprint), "%s", fp);
	a.request = json_pack("{s:b, s:s, s:O, s:O?, s:I, s:s}", "declared", 1,
	    "digest_algorithm", hashname, "digests", hexes, "client", client,
	    "key_version", (json_int_t)k.version, "source_ip",
	    req->source_ip != NULL ? req->source_ip : "");
	a.created_at = now;
	a.expires_at = now + a.ttl;
	snprintf(a.state, sizeof(a.state), "pending");
	json_object_set_new(d, "team", json_string(a.team_id));
	json_object_set_new(d, "required", json_integer(a.required));
	json_object_set(d, "request", a.request);
	if (a.request == NULL) {
		r = api_error(resp, SN_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = api_begin(c, resp)) != 0)
		goto out;
	if ((r = store_approval_insert(c, req->actor.tenant_id, &a)) != 0) {
		r = api_store_error(resp, r, "approval");
		goto out;
	}
	for (i = 0; i < json_array_size(hexes); i++)
		if ((r = store_declared_insert(c, a.id, hashname,
		    json_string_value(json_array_get(hexes, i)))) != 0) {
			r = api_store_error(resp, r, "approval");
			goto out;
		}
	if ((r = approvals_notify(c, req->actor.tenant_id, a.id,
	    "approval.requested")) != 0) {
		r = api_store_error(resp, r, "approval");
		goto out;
	}
	if ((r = api_commit_audited(c, req, resp, "approval.request",
	    "approval", a.id, d)) != 0)
		goto out;
	webhooks_kick();
	if ((r = approvals_object(c, req->actor.tenant_id, &a, &aj)) != 0) {
		r = api_store_error(resp, r, "approval");
		goto out;
	}
	r = api_json(resp, 202, json_pack("{s:o}", "approval", aj));
 out:
	if (r != 0)
		audit_refusal(c, req, resp, "approval.request", "key",
		    k.id[0] != '\0' ? k.id : req->params[0], d);
	json_decref(d);
	json_decref(hexes);
	free(id);
	free(fp);
	store_approval_clear(&a);
	store_key_clear(&k);
	db_release(c);
	return r;
}

const struct api_route api_routes_approval_grants[] = {
	{ "POST", "/v1/keys/{id}/grants", grant_create, API_AUTH },
	{ "GET", "/v1/keys/{id}/grants", grant_list, API_AUTH },
	{ "DELETE", "/v1/keys/{id}/grants/{gid}", grant_revoke, API_AUTH },
	{ "POST", "/v1/keys/{id}/approvals", declare, API_AUTH },
	{ NULL, NULL, NULL, API_PUBLIC },
};
