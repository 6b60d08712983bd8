/*
 * approvals.c - approvals of signing requests (docs/POLICIES.md).
 *
 *   GET  /v1/approvals[?state=pending][&limit=N]  what the caller may see:
 *                                 its own requests, its teams' requests
 *                                 (as approver), all for an admin
 *   GET  /v1/approvals/{id}
 *   POST /v1/approvals/{id}/approve  {"comment"?}   approval team members,
 *   POST /v1/approvals/{id}/deny     {"reason"}     never the requester
 *
 * The signing side (policies_enforce in sign.c's path): a request to a key
 * whose policy names an approval team is first recorded as a pending
 * approval (202) and signs nothing; K approve votes make it "approved"
 * (for its TTL again); the same request re-sent by the same caller then
 * signs, the approval turning "signed" inside the audit transaction of
 * that signature (a guarded UPDATE: exactly once), and the answer is kept
 * so that re-sending it again returns the same signatures. One deny vote
 * rejects it; an undecided one expires after its TTL. Each step is an
 * audit event (approval.request, approval.approve, approval.deny).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

#define APPROVAL_TEXT_MAX	1024
#define APPROVAL_LIST_MAX	1000
#define APPROVAL_WAIT_MAX	50	/* seconds a long-poll may hold (the
					 * client's request timeout is 60) */

/*
 * Long-polls (GET /v1/approvals/{id}?wait=S) sleep on this condition,
 * which every decision committed by this process broadcasts; they look
 * again at least once a second for decisions made by other instances
 * behind the same database. A waiting request holds no database
 * connection.
 */
static pthread_mutex_t decided_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t decided_cond = PTHREAD_COND_INITIALIZER;
static uint64_t decided_gen;

static void
decided_notify(void)
{
	pthread_mutex_lock(&decided_lock);
	decided_gen++;
	pthread_cond_broadcast(&decided_cond);
	pthread_mutex_unlock(&decided_lock);
}

static uint64_t
decided_now(void)
{
	uint64_t g;

	pthread_mutex_lock(&decided_lock);
	g = decided_gen;
	pthread_mutex_unlock(&decided_lock);
	return g;
}

/* Until a decision after gen, or one second, or deadline (epoch s). */
static void
decided_wait(uint64_t gen, int64_t deadline)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 1;
	if (ts.tv_sec > deadline)
		ts.tv_sec = deadline;
	pthread_mutex_lock(&decided_lock);
	while (decided_gen == gen &&
	    pthread_cond_timedwait(&decided_cond, &decided_lock, &ts) == 0)
		;
	pthread_mutex_unlock(&decided_lock);
}

/* Hex SHA-256 of what is asked: key, version, mechanism, digests, who. */
static int
fingerprint(const struct sn_request *req, json_t *d, char out[65])
{
	uint8_t md[SHA256_DIGEST_LENGTH];
	json_t *f;
	char *txt, *hex = NULL;

	f = json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:s}", "key",
	    json_object_get(d, "key"), "key_version", json_object_get(d,
	    "key_version"), "mechanism", json_object_get(d, "mechanism"),
	    "digest_algorithm", json_object_get(d, "digest_algorithm"),
	    "digest", json_object_get(d, "digest"), "digests",
	    json_object_get(d, "digests"), "requester", req->actor.id);
	if (f == NULL)
		return SN_ERR_NOMEM;
	txt = json_dumps(f, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(f);
	if (txt == NULL)
		return SN_ERR_NOMEM;
	SHA256((const uint8_t *)txt, strlen(txt), md);
	free(txt);
	if (sn_hex_encode(md, sizeof(md), &hex) != 0)
		return SN_ERR_NOMEM;
	snprintf(out, 65, "%s", hex);
	free(hex);
	return 0;
}

/* The approval object A. */
static int
approval_json(struct db_conn *c, const char *tenant_id,
    const struct store_approval *a, int64_t now, json_t **out)
{
	struct store_key k;
	struct store_team t;
	json_t *votes = NULL, *declared = NULL, *o;
	int64_t n = 0;
	int r;

	*out = NULL;
	memset(&k, 0, sizeof(k));
	memset(&t, 0, sizeof(t));
	if ((r = store_key_get(c, tenant_id, a->key_id, &k)) != 0 ||
	    (r = store_team_get(c, tenant_id, a->team_id, &t)) != 0)
		goto out;
	if ((r = store_approval_votes(c, a->id, &votes)) != 0 ||
	    (r = store_approval_count(c, a->id, "approve", &n)) != 0)
		goto out;
	if (json_is_true(json_object_get(a->request, "declared")) &&
	    (r = store_declared_list(c, a->id, &declared)) != 0)
		goto out;
	o = json_pack("{s:s, s:s, s:{s:s, s:s, s:s}, s:{s:s, s:s}, s:I, s:I, "
	    "s:{s:s, s:s, s:s}, s:o, s:o, s:o, s:O, s:O, s:O?}",
	    "id", a->id, "state", store_approval_state(a, now),
	    "key", "id", k.id, "name", k.name, "project", k.project_name,
	    "team", "id", t.id, "name", t.name,
	    "required", (json_int_t)a->required, "approved_by",
	    (json_int_t)n,
	    "requested_by", "type", a->requester_type, "id", a->requester_id,
	    "name", a->requester_name,
	    "requested_at", store_time_json(a->created_at),
	    "expires_at", store_time_json(a->expires_at),
	    "decided_at", store_time_json(a->decided_at),
	    "request", a->request, "votes", votes, "declared_digests",
	    declared);
	if (o == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	*out = o;
	r = 0;
 out:
	json_decref(votes);
	json_decref(declared);
	store_key_clear(&k);
	return r;
}

int
approvals_object(struct db_conn *c, const char *tenant_id,
    const struct store_approval *a, json_t **out)
{
	return approval_json(c, tenant_id, a, sn_now(), out);
}

static int
reply(struct db_conn *c, struct sn_response *resp, const char *tenant_id,
    const struct store_approval *a, int status)
{
	json_t *aj = NULL;
	int r;

	if ((r = approval_json(c, tenant_id, a, sn_now(), &aj)) != 0)
		return api_store_error(resp, r, "approval");
	return api_json(resp, status, json_pack("{s:o}", "approval", aj));
}

/* Queues event (approval.requested / approval.decided) with approval id
 * as it now stands in this transaction. */
static int
notify(struct db_conn *c, const char *tenant_id, const char *id,
    const char *event)
{
	struct store_approval a;
	json_t *aj = NULL;
	int r;

	if ((r = store_approval_get(c, tenant_id, id, &a)) != 0)
		return r;
	if ((r = approval_json(c, tenant_id, &a, sn_now(), &aj)) == 0)
		r = webhooks_notify(c, tenant_id, event, aj);
	json_decref(aj);
	store_approval_clear(&a);
	return r;
}

int
approvals_notify(struct db_conn *c, const char *tenant_id, const char *id,
    const char *event)
{
	return notify(c, tenant_id, id, event);
}

/* A new pending approval for this request, committed with its event. */
static int
request_approval(struct db_conn *c, struct sn_request *req,
    struct sn_response *resp, const struct store_key *k,
    const struct policy_verdict *v, json_t *d, const char *fp)
{
	struct store_approval a;
	json_t *ev = NULL;
	char *id = NULL;
	int64_t now = sn_now();
	int r;

	memset(&a, 0, sizeof(a));
	if ((r = sn_new_id("apr", &id)) != 0) {
		r = api_error(resp, SN_ERR_NOMEM, "out of memory");
		goto out;
	}
	snprintf(a.id, sizeof(a.id), "%s", id);
	snprintf(a.key_id, sizeof(a.key_id), "%s", k->id);
	snprintf(a.team_id, sizeof(a.team_id), "%s", v->approval_team);
	a.required = v->approvals;
	a.ttl = v->approval_ttl;
	snprintf(a.requester_type, sizeof(a.requester_type), "%s",
	    sn_actor_type_name(&req->actor));
	snprintf(a.requester_id, sizeof(a.requester_id), "%s", req->actor.id);
	snprintf(a.requester_name, sizeof(a.requester_name), "%s",
	    req->actor.name);
	snprintf(a.fingerprint, sizeof(a.fingerprint), "%s", fp);
	a.request = json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?, s:I, s:O?, "
	    "s:s}", "mechanism", json_object_get(d, "mechanism"),
	    "digest_algorithm", json_object_get(d, "digest_algorithm"),
	    "digest", json_object_get(d, "digest"), "digests",
	    json_object_get(d, "digests"), "client", json_object_get(d,
	    "client"), "key_version", (json_int_t)k->version, "provenance",
	    json_object_get(d, "provenance"), "source_ip",
	    req->source_ip != NULL ? req->source_ip : "");
	a.created_at = now;
	a.expires_at = now + a.ttl;
	snprintf(a.state, sizeof(a.state), "pending");
	ev = json_pack("{s:s, s:s, s:s, s:I, s:s, s:O?}", "key", k->id,
	    "key_name", k->name, "team", a.team_id, "required",
	    (json_int_t)a.required, "fingerprint", fp, "request", a.request);
	if (a.request == NULL || ev == NULL) {
		r = api_error(resp, SN_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = api_begin(c, resp)) != 0)
		goto out;
	if ((r = store_approval_insert(c, req->actor.tenant_id, &a)) != 0 ||
	    (r = audit_req(c, req, "approval.request", "approval", a.id, "ok",
	    ev)) != 0 || (r = notify(c, req->actor.tenant_id, a.id,
	    "approval.requested")) != 0) {
		r = api_store_error(resp, r, "approval");
		goto out;
	}
	if ((r = api_commit(c, resp)) != 0)
		goto out;
	webhooks_kick();
	r = reply(c, resp, req->actor.tenant_id, &a, 202);
	if (r == 0)
		r = POLICIES_ANSWERED;
 out:
	db_rollback(c);
	json_decref(ev);
	free(id);
	store_approval_clear(&a);
	return r;
}

int
approvals_gate(struct db_conn *c, struct sn_request *req,
    struct sn_response *resp, const struct store_key *k,
    const struct policy_verdict *v, json_t *d)
{
	struct store_approval a;
	json_t *body;
	char fp[65];
	const char *state;
	int r;

	memset(&a, 0, sizeof(a));
	/* A pre-approval grant or an approved declaration of these digests
	 * covers it: signs without asking (claimed at the commit). */
	if ((r = approvals_cover(c, req, resp, k, v, d)) != APPROVALS_NOT_COVERED)
		return r;
	if ((r = fingerprint(req, d, fp)) != 0)
		return api_error(resp, r, "out of memory");
	r = store_approval_find(c, req->actor.tenant_id, k->id, req->actor.id,
	    fp, &a);
	if (r == SN_ERR_NOT_FOUND)
		return request_approval(c, req, resp, k, v, d, fp);
	if (r != 0)
		return api_store_error(resp, r, "approval");
	state = store_approval_state(&a, sn_now());
	if (strcmp(state, "signed") == 0 && a.response != NULL &&
	    (body = json_loads(a.response, 0, NULL)) != NULL) {
		/* The same request again: the same signatures, no new ones. */
		json_object_set_new(body, "approval", json_string(a.id));
		store_approval_clear(&a);
		api_json(resp, 200, body);
		return POLICIES_ANSWERED;
	}
	if (strcmp(state, "pending") == 0) {
		r = reply(c, resp, req->actor.tenant_id, &a, 202);
		store_approval_clear(&a);
		return r == 0 ? POLICIES_ANSWERED : r;
	}
	if (strcmp(state, "approved") == 0) {
		json_object_set_new(d, "approval", json_string(a.id));
		store_approval_clear(&a);
		return 0;
	}
	/* denied, expired, or signed without a kept answer: ask anew. */
	store_approval_clear(&a);
	return request_approval(c, req, resp, k, v, d, fp);
}

int
approvals_claim(struct db_conn *c, struct sn_request *req,
    struct sn_response *resp, const struct policy_verdict *v, json_t *d)
{
	const char *id = json_string_value(json_object_get(d, "approval"));
	struct store_approval a;
	int r;

	if (json_object_get(d, "grant") != NULL ||
	    json_object_get(d, "declared_approval") != NULL)
		return approvals_cover_claim(c, req, resp, v, d);
	if (id == NULL) {
		/* The policy started asking for approval while the HSM signed. */
		api_error(resp, SN_ERR_FORBIDDEN, "this key's policy now needs "
		    "an approval; send the request again to ask for one");
		json_object_set_new(json_object_get(resp->body, "error"), "rule",
		    json_string("approval"));
		json_object_set_new(d, "policy_rule", json_string("approval"));
		return SN_ERR_FORBIDDEN;
	}
	if ((r = store_approval_get(c, req->actor.tenant_id, id, &a)) != 0)
		return api_store_error(resp, r, "approval");
	if (strcmp(store_approval_state(&a, sn_now()), "approved") != 0) {
		r = api_error(resp, SN_ERR_CONFLICT, "approval %s is %s; no "
		    "signature was released", a.id,
		    store_approval_state(&a, sn_now()));
		store_approval_clear(&a);
		return r;
	}
	store_approval_clear(&a);
	/* Exactly once: of two requests that raced here one wins. */
	if ((r = store_approval_transition(c, req->actor.tenant_id, id,
	    "approved", "signed", sn_now(), 0)) != 0)
		return r == SN_ERR_CONFLICT ? api_error(resp, r, "approval %s "
		    "was used by another request meanwhile; send the request "
		    "again for its signatures", id) :
		    api_store_error(resp, r, "approval");
	return 0;
}

void
approvals_signed(struct db_conn *c, struct sn_request *req, json_t *d,
    json_t *body)
{
	const char *id = json_string_value(json_object_get(d, "approval"));
	struct db_conn *own = NULL;
	char *txt;

	if (id == NULL || body == NULL ||
	    (txt = json_dumps(body, JSON_COMPACT)) == NULL)
		return;
	if (c == NULL && db_acquire(req->srv->db, &own) == 0)
		c = own;
	/* Kept after the commit: if this fails the signature stands, and a
	 * re-sent request asks for a new approval instead of replaying. */
	if (c == NULL ||
	    store_approval_set_response(c, req->actor.tenant_id, id, txt) != 0)
		fprintf(stderr, "signetd: approval %s: could not keep the "
		    "answer for replay\n", id);
	free(txt);
	db_release(own);
	json_object_set_new(body, "approval", json_string(id));
}

/* The approval params[0] if the caller may see it (else 404). */
static int
load_visible(struct db_conn *c, struct sn_request *req,
    struct sn_response *resp, struct store_approval *a)
{
	int r;

	if ((r = store_approval_get(c, req->actor.tenant_id, req->params[0],
	    a)) != 0)
		return api_store_error(resp, r, "approval");
	if (strcmp(a->requester_id, req->actor.id) == 0)
		return 0;
	/* Admins and members of the approval team (authz: team view). */
	if ((r = authz_check(c, &req->actor, AUTHZ_TEAM_VIEW, a->team_id)) == 0)
		return 0;
	store_approval_clear(a);
	return r == SN_ERR_FORBIDDEN || r == SN_ERR_NOT_FOUND ?
	    api_error(resp, SN_ERR_NOT_FOUND, "no such approval") :
	    api_store_error(resp, r, "approval");
}

/* ?wait=S (0..APPROVAL_WAIT_MAX): answer once it is no longer pending,
 * or after S seconds with it still pending. */
static int
approvals_show(struct sn_request *req, struct sn_response *resp)
{
	const char *w = api_query(req, "wait");
	struct db_conn *c = NULL;
	struct store_approval a;
	int64_t wait = 0, deadline;
	uint64_t gen;
	int r;

	memset(&a, 0, sizeof(a));
	if (w != NULL) {
		char *end;

		wait = strtoll(w, &end, 10);
		if (*w == '\0' || *end != '\0' || wait < 0 ||
		    wait > APPROVAL_WAIT_MAX)
			return api_error(resp, SN_ERR_INVALID, "wait must be 0 "
			    "to %d seconds", APPROVAL_WAIT_MAX);
	}
	deadline = sn_now() + wait;
	for (;;) {
		gen = decided_now();
		if ((r = api_conn(req, resp, &c)) != 0)
			return r;
		if ((r = load_visible(c, req, resp, &a)) != 0)
			break;
		if (strcmp(store_approval_state(&a, sn_now()), "pending") != 0 ||
		    sn_now() >= deadline) {
			r = reply(c, resp, req->actor.tenant_id, &a, 200);
			break;
		}
		store_approval_clear(&a);
		db_release(c);
		c = NULL;
		decided_wait(gen, deadline);
	}
	store_approval_clear(&a);
	db_release(c);
	return r;
}

static int
approvals_list(struct sn_request *req, struct sn_response *resp)
{
	struct db_conn *c = NULL;
	struct store_ids ids = { NULL, 0 };
	struct store_approval a;
	const char *state = api_query(req, "state"), *lim = api_query(req,
	    "limit");
	json_t *arr = NULL, *aj;
	int64_t limit = 100, now = sn_now();
	size_t i;
	int r;

	memset(&a, 0, sizeof(a));
	if (state != NULL && strcmp(state, "pending") != 0 &&
	    strcmp(state, "all") != 0)
		return api_error(resp, SN_ERR_INVALID, "state must be pending "
		    "or all");
	if (lim != NULL) {
		char *end;
		long long v = strtoll(lim, &end, 10);

		if (*lim == '\0' || *end != '\0' || v < 1 ||
		    v > APPROVAL_LIST_MAX)
			return api_error(resp, SN_ERR_INVALID, "limit must be 1 "
			    "to %d", APPROVAL_LIST_MAX);
		limit = v;
	}
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	if ((r = store_approval_list(c, req->actor.tenant_id, req->actor.id,
	    req->actor.type == SN_ACTOR_USER && req->actor.is_admin,
	    state != NULL && strcmp(state, "pending") == 0, now, limit,
	    &ids)) != 0 || (arr = json_array()) == NULL) {
		r = api_store_error(resp, r != 0 ? r : SN_ERR_NOMEM, "approval");
		goto out;
	}
	for (i = 0; i < ids.n; i++) {
		if ((r = store_approval_get(c, req->actor.tenant_id, ids.v[i],
		    &a)) != 0 || (r = approval_json(c, req->actor.tenant_id, &a,
		    now, &aj)) != 0) {
			r = api_store_error(resp, r, "approval");
			goto out;
		}
		json_array_append_new(arr, aj);
		store_approval_clear(&a);
	}
	r = api_json(resp, 200, json_pack("{s:o}", "approvals", arr));
	arr = NULL;
 out:
	store_approval_clear(&a);
	json_decref(arr);
	store_ids_free(&ids);
	db_release(c);
	return r;
}

/* approve (deny = 0) or deny. */
static int
decide(struct sn_request *req, struct sn_response *resp, int deny)
{
	static const char *const approve_fields[] = { "comment", NULL };
	static const char *const deny_fields[] = { "reason", NULL };
	const char *action = deny ? "approval.deny" : "approval.approve";
	const char *text = NULL, *state;
	struct db_conn *c = NULL;
	struct store_approval a;
	json_t *d = NULL;
	int64_t n = 0, now = sn_now();
	int r;

	memset(&a, 0, sizeof(a));
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	d = json_object();
	if (req->body != NULL || deny) {
		if ((r = api_body(req, resp, deny ? deny_fields :
		    approve_fields)) != 0 ||
		    (r = api_get_string(resp, req->body, deny ? "reason" :
		    "comment", deny, APPROVAL_TEXT_MAX, &text)) != 0)
			goto out;
		if (deny && text[0] == '\0') {
			r = api_error(resp, SN_ERR_INVALID, "field 'reason' must "
			    "not be empty");
			goto out;
		}
	}
	if (text != NULL)
		json_object_set_new(d, deny ? "reason" : "comment",
		    json_string(text));
	if ((r = api_begin(c, resp)) != 0)
		goto out;
	/* Read and decide under the write lock: of an approve and a deny
	 * sent at once, the second sees the first's outcome. */
	if ((r = load_visible(c, req, resp, &a)) != 0)
		goto out;
	json_object_set_new(d, "key", json_string(a.key_id));
	json_object_set_new(d, "team", json_string(a.team_id));
	if ((r = api_authz(c, req, resp, AUTHZ_APPROVAL_DECIDE, a.team_id,
	    "approval")) != 0)
		goto out;
	if (strcmp(a.requester_id, req->actor.id) == 0) {
		r = api_error(resp, SN_ERR_FORBIDDEN, "the requester cannot "
		    "decide its own approval");
		goto out;
	}
	state = store_approval_state(&a, now);
	if (strcmp(state, "pending") != 0) {
		r = api_error(resp, SN_ERR_CONFLICT, "approval %s is %s", a.id,
		    state);
		goto out;
	}
	if ((r = store_approval_vote(c, a.id, req->actor.id, req->actor.name,
	    deny ? "deny" : "approve", text, now)) != 0) {
		r = r == SN_ERR_CONFLICT ? api_error(resp, r, "you have already "
		    "decided approval %s", a.id) : api_store_error(resp, r,
		    "approval");
		goto out;
	}
	if ((r = store_approval_count(c, a.id, "approve", &n)) != 0) {
		r = api_store_error(resp, r, "approval");
		goto out;
	}
	if (deny)
		r = store_approval_transition(c, req->actor.tenant_id, a.id,
		    "pending", "denied", now, 0);
	else if (n >= a.required)
		/* The requester has the TTL again to send its request. */
		r = store_approval_transition(c, req->actor.tenant_id, a.id,
		    "pending", "approved", now, now + a.ttl);
	if (r != 0) {
		r = api_store_error(resp, r, "approval");
		goto out;
	}
	json_object_set_new(d, "approved_by", json_integer((json_int_t)n));
	json_object_set_new(d, "required", json_integer((json_int_t)a.required));
	json_object_set_new(d, "state", json_string(deny ? "denied" :
	    n >= a.required ? "approved" : "pending"));
	if ((r = audit_req(c, req, action, "approval", a.id, "ok", d)) != 0) {
		r = api_store_error(resp, r, "audit event");
		goto out;
	}
	if ((deny || n >= a.required) && (r = notify(c, req->actor.tenant_id,
	    a.id, "approval.decided")) != 0) {
		r = api_store_error(resp, r, "approval");
		goto out;
	}
	if ((r = api_commit(c, resp)) != 0)
		goto out;
	decided_notify();	/* wakes the long-polls of this request */
	webhooks_kick();
	store_approval_clear(&a);
	if ((r = store_approval_get(c, req->actor.tenant_id, req->params[0],
	    &a)) != 0) {
		r = api_store_error(resp, r, "approval");
		goto out;
	}
	r = reply(c, resp, req->actor.tenant_id, &a, 200);
 out:
	if (r != 0)
		audit_refusal(c, req, resp, action, "approval", req->params[0], d);
	json_decref(d);
	store_approval_clear(&a);
	db_release(c);
	return r;
}

static int
approvals_approve(struct sn_request *req, struct sn_response *resp)
{
	return decide(req, resp, 0);
}

static int
approvals_deny(struct sn_request *req, struct sn_response *resp)
{
	return decide(req, resp, 1);
}

const struct api_route api_routes_approvals[] = {
	{ "GET", "/v1/approvals", approvals_list, API_AUTH },
	{ "GET", "/v1/approvals/{id}", approvals_show, API_AUTH },
	{ "POST", "/v1/approvals/{id}/approve", approvals_approve, API_AUTH },
	{ "POST", "/v1/approvals/{id}/deny", approvals_deny, API_AUTH },
	{ NULL, NULL, NULL, API_PUBLIC },
};
