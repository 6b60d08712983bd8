/*
 * sign_commit.c - the signing commit with group commit (sign_commit.h).
 *
 * Why a group: every signature needs its event durable (one fsync) before
 * it leaves, and the chain is one total order per tenant, so concurrent
 * signers of a tenant would otherwise queue for the write lock and pay one
 * fsync each. Here they queue in memory instead; whoever finds its tenant
 * idle leads: it commits everything queued for that tenant in one
 * transaction, each request inside its own SAVEPOINT so that a refusal or
 * a failed append of one never touches the others' events.
 *
 * What must never happen here: a caller told 0 whose event did not commit
 * (a commit failure turns every 0 of the group into an error), a refusal
 * decided without the chain lock, or a chain tail reused from an earlier
 * transaction.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "audit_int.h"
#include "db.h"
#include "err.h"
#include "handler.h"
#include "sign_commit.h"
#include "store_audit.h"
#include "store_auth.h"
#include "sn_assert.h"
#include "util.h"

static pthread_mutex_t q_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cv = PTHREAD_COND_INITIALIZER;
static struct audit_sign *q_head;	/* waiting to be taken, oldest first */
static struct audit_sign *q_leaders;	/* leading a group now (lnext) */

#define NO_RELEASE "no signature was released"

static void set_err(struct audit_sign *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
set_err(struct audit_sign *s, int err, const char *fmt, ...)
{
	va_list ap;

	s->err = err;
	va_start(ap, fmt);
	vsnprintf(s->message, sizeof(s->message), fmt, ap);
	va_end(ap);
}

/* Same chain: the same database and tenant. */
static int
same_chain(const struct audit_sign *a, const struct audit_sign *b)
{
	return a->db == b->db &&
	    strcmp(a->req->actor.tenant_id, b->req->actor.tenant_id) == 0;
}

static int
chain_busy(const struct audit_sign *s)
{
	for (const struct audit_sign *l = q_leaders; l != NULL; l = l->lnext)
		if (same_chain(l, s))
			return 1;
	return 0;
}

/* The kind of credential that authenticated a, as auth_recheck reads it. */
static int
cred_kind(const struct sn_actor *a, enum store_cred *kind)
{
	if (strncmp(a->credential_id, "ses_", 4) == 0 &&
	    a->type == SN_ACTOR_USER)
		*kind = STORE_CRED_SESSION;
	else if (strncmp(a->credential_id, "key_", 4) == 0 &&
	    a->type == SN_ACTOR_USER)
		*kind = STORE_CRED_APIKEY;
	else if (strncmp(a->credential_id, "tok_", 4) == 0 &&
	    a->type == SN_ACTOR_SERVICE_ACCOUNT)
		*kind = STORE_CRED_TOKEN;
	else
		return 0;
	return 1;
}

/*
 * The decision, in the order the checks were always made (credential,
 * then the key and the signer link as authz_check(AUTHZ_KEY_SIGN) sees
 * them, then the key's state and version): 0 or s->err set.
 */
static int
recheck(struct db_conn *c, struct audit_sign *s, int64_t now)
{
	const struct sn_actor *a = &s->req->actor;
	struct store_sign_check k;
	enum store_cred kind;
	const char *state;

	if (a->id[0] == '\0' || a->tenant_id[0] == '\0' ||
	    !cred_kind(a, &kind)) {
		set_err(s, SN_ERR_UNAUTHENTICATED, "invalid or missing "
		    "credentials");
		return s->err;
	}
	if (store_sign_check(c, kind, a->credential_id, a->id, a->tenant_id,
	    s->key_id, now, &k) != 0)
		set_err(s, SN_ERR_DB, "database error (credential)");
	else if (!k.cred_ok)
		set_err(s, SN_ERR_UNAUTHENTICATED, "invalid or missing "
		    "credentials");
	else if (!k.key_found)
		set_err(s, SN_ERR_NOT_FOUND, "no such key");
	else if (!k.signer)
		set_err(s, SN_ERR_FORBIDDEN, "permission denied (key.sign) for "
		    "this key");
	else if (strcmp((state = store_key_state_at(k.state, k.not_before,
	    k.not_after, now)), "active") != 0)
		set_err(s, SN_ERR_CONFLICT, "key %s is %s and cannot sign",
		    s->key_label, state);
	/* A rotation that committed meanwhile retired the version that
	 * signed: earlier versions never sign again. */
	else if (k.version != s->version ||
	    strcmp(k.hsm_key_id, s->hsm_key_id) != 0)
		set_err(s, SN_ERR_CONFLICT, "key %s was rotated while signing; "
		    "retry", s->key_label);
	return s->err;
}

/*
 * Undoes what s wrote since its savepoint. If even that fails the
 * transaction is in an unknown state: the whole group is abandoned
 * (*poisoned), since a half-written event must never commit.
 */
static void
rollback_to(struct db_conn *c, int *poisoned)
{
	if (store_savepoint_rollback(c) != 0)
		*poisoned = 1;
}

/* s's refusal as its own event: "denied" (4xx) or "error" (5xx), with
 * {"status","reason"} added to the request's details. */
static void
append_refusal(struct db_conn *c, struct audit_sign *s,
    struct audit_tail *tail, int *poisoned)
{
	struct audit_event ev;
	json_t *d;
	int status = s->status_for != NULL ? s->status_for(s->err) : 500;

	if ((d = s->details != NULL ? json_deep_copy(s->details) :
	    json_object()) == NULL)
		return;
	json_object_set_new(d, "status", json_integer(status));
	json_object_set_new(d, "reason", json_string(s->message));
	audit_event_from_req(&ev, s->req, "key.sign", "key", s->key_id,
	    status >= 500 ? "error" : "denied", d);
	if (audit_append_at(c, &ev, tail, NULL) == 0)
		s->refusal_recorded = 1;
	else
		rollback_to(c, poisoned);
	json_decref(d);
}

/* s->decide: 0, or s->err set and its writes rolled back. */
static int
decided(struct db_conn *c, struct audit_sign *s, int *poisoned)
{
	int r;

	if ((r = s->decide(c, s)) == 0)
		return 0;
	rollback_to(c, poisoned);
	if (s->err == 0)
		set_err(s, r, "refused");
	return s->err;
}

/* One request of the group, inside its own savepoint. */
static void
commit_one(struct db_conn *c, struct audit_sign *s, struct audit_tail *tail,
    int *poisoned)
{
	struct audit_event ev;
	json_t *d = NULL;

	if (store_savepoint(c) != 0) {
		set_err(s, SN_ERR_UNAVAILABLE, "could not record the audit "
		    "event; " NO_RELEASE);
		return;
	}
	if (recheck(c, s, sn_now()) == 0 && (s->decide == NULL ||
	    decided(c, s, poisoned) == 0)) {
		/* What was released, so a signature can be found in the log
		 * later (`signet audit prove --signature`). */
		if ((d = json_copy(s->details)) != NULL &&
		    (s->released == NULL ||
		    json_object_update(d, s->released) == 0)) {
			audit_event_from_req(&ev, s->req, "key.sign", "key",
			    s->key_id, "ok", d);
			if (audit_append_at(c, &ev, tail, &s->event) == 0) {
				s->seq = tail->seq;
				goto release;
			}
		}
		rollback_to(c, poisoned);
		set_err(s, SN_ERR_UNAVAILABLE, "could not record the audit "
		    "event; " NO_RELEASE);
	}
	append_refusal(c, s, tail, poisoned);
 release:
	json_decref(d);
	if (store_savepoint_release(c) != 0)
		*poisoned = 1;
}

static void
fail_all(struct audit_sign **g, size_t n, const char *msg)
{
	for (size_t i = 0; i < n; i++) {
		json_decref(g[i]->event);
		g[i]->event = NULL;
		g[i]->refusal_recorded = 0;
		g[i]->seq = 0;
		if (g[i]->err == 0)
			set_err(g[i], SN_ERR_UNAVAILABLE, "%s", msg);
	}
}

/* The leader's work: one transaction, one commit, for g[0..n). */
static void
run_group(struct db *db, struct audit_sign **g, size_t n)
{
	struct db_conn *c = NULL;
	struct audit_tail tail;
	size_t i;
	int poisoned = 0;

	memset(&tail, 0, sizeof(tail));
	if (db_acquire(db, &c) != 0) {
		c = NULL;
		fail_all(g, n, "database unavailable; " NO_RELEASE);
		return;
	}
	if (db_begin(c) != 0) {
		fail_all(g, n, "database busy; try again");
		goto out;
	}
	/*
	 * The HSM call took time: a revocation, a disable or the removal of
	 * a signer may have committed meanwhile. Each request is decided
	 * again after taking the tenant's chain lock (every such change
	 * appends its own event under it), so a change that committed
	 * before this point always wins.
	 */
	if (db_chain_lock(c, g[0]->req->actor.tenant_id) != 0) {
		fail_all(g, n, "database unavailable; " NO_RELEASE);
		goto out;
	}
	for (i = 0; i < n && !poisoned; i++)
		commit_one(c, g[i], &tail, &poisoned);
	if (poisoned)
		fail_all(g, n, "could not record the audit event; " NO_RELEASE);
	else if (db_commit(c) != 0)
		fail_all(g, n, "could not commit the audit event; " NO_RELEASE);
 out:
	db_release(c);		/* rolls back whatever did not commit */
}

int
audit_sign_commit(struct db *db, struct audit_sign *s)
{
	struct audit_sign *g[AUDIT_SIGN_GROUP_MAX], **pp, *e;
	size_t n;

	s->err = 0;
	s->message[0] = '\0';
	s->refusal_recorded = 0;
	s->seq = 0;
	s->event = NULL;
	s->next = s->lnext = NULL;
	s->db = db;
	s->taken = s->done = 0;
	if (SN_NEVER(db == NULL || s->req == NULL || s->key_id == NULL ||
	    s->key_label == NULL || s->hsm_key_id == NULL)) {
		set_err(s, SN_ERR_INTERNAL, "bad signing commit");
		return s->err;
	}

	pthread_mutex_lock(&q_mu);
	for (pp = &q_head; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = s;
	while (!s->done) {
		if (s->taken || chain_busy(s)) {
			pthread_cond_wait(&q_cv, &q_mu);
			continue;
		}
		/* Lead: s first, then whatever its chain has queued. */
		n = 0;
		for (pp = &q_head; *pp != NULL; ) {
			e = *pp;
			if (e == s || (n < AUDIT_SIGN_GROUP_MAX - 1 &&
			    same_chain(e, s))) {
				*pp = e->next;
				e->next = NULL;
				e->taken = 1;
				if (e == s) {
					memmove(&g[1], &g[0], n * sizeof(g[0]));
					g[0] = s;
				} else
					g[n] = e;
				n++;
			} else
				pp = &e->next;
		}
		s->lnext = q_leaders;
		q_leaders = s;
		pthread_mutex_unlock(&q_mu);

		run_group(db, g, n);

		pthread_mutex_lock(&q_mu);
		for (size_t i = 0; i < n; i++)
			g[i]->done = 1;
		for (pp = &q_leaders; *pp != NULL; pp = &(*pp)->lnext)
			if (*pp == s) {
				*pp = s->lnext;
				break;
			}
		pthread_cond_broadcast(&q_cv);
	}
	pthread_mutex_unlock(&q_mu);
	return s->err;
}
