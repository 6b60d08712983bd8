/*
 * oauth_exchange.c - POST /v1/oauth/token with grant_type
 * urn:ietf:params:oauth:grant-type:token-exchange (RFC 8693): a CI job's
 * OIDC ID token becomes an ordinary Signet access token for the service
 * account named in "audience" (its name or its id), if one of that account's
 * federations trusts the token's issuer, audience and claims.
 *
 * Order, so that nothing slow happens with a database connection held and
 * nothing unverified is trusted:
 *   1. decode the token without trusting it (iss, kid, alg, claims);
 *   2. find the candidate accounts and their federations for that iss
 *      (only issuers an administrator federated are ever fetched);
 *   3. release the connection; get the issuer's key (oidc_keys: cached,
 *      bounded fetch) and verify the signature;
 *   4. check aud, times, token age and the claim rules of each federation;
 *      exactly one account must accept the token;
 *   5. in one transaction: re-read the federation (it may have been removed
 *      meanwhile), store the token with its provenance, audit, commit.
 * Refusals are 400 (malformed request or token), 401 (not accepted) or 503
 * (the issuer's keys cannot be fetched in time), never a token, and each is
 * an audit event ("auth.token", result denied/error) with the reason.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "audit.h"
#include "auth.h"
#include "credential.h"
#include "db.h"
#include "err.h"
#include "jwt.h"
#include "oauth_exchange.h"
#include "oidc_keys.h"
#include "oidc_rules.h"
#include "render.h"
#include "server.h"
#include "store_federations.h"
#include "store_tokens.h"
#include "util.h"

#define ID_TOKEN_TYPE		"urn:ietf:params:oauth:token-type:id_token"
#define ACCESS_TOKEN_TYPE	"urn:ietf:params:oauth:token-type:access_token"
#define EXCHANGE_MAX_CANDIDATES	16

struct candidate {
	char tenant[STORE_ID_MAX];
	struct store_sa sa;
	struct store_federation *feds;
	size_t nfeds;
	const struct store_federation *match;	/* set in step 4 */
};

struct exchange {
	struct candidate c[EXCHANGE_MAX_CANDIDATES];
	size_t n;
};

static void
exchange_clear(struct exchange *x)
{
	size_t i;

	for (i = 0; i < x->n; i++) {
		store_sa_clear(&x->c[i].sa);
		store_federations_free(x->c[i].feds, x->c[i].nfeds);
	}
	memset(x, 0, sizeof(*x));
}

/* Adds account id (any tenant) if it has federations for issuer. */
static int
add_candidate(struct db_conn *c, struct exchange *x, const char *id,
    const char *issuer)
{
	struct candidate *k = &x->c[x->n];
	int r;

	if (x->n == EXCHANGE_MAX_CANDIDATES)
		return 0;
	memset(k, 0, sizeof(*k));
	if ((r = store_sa_get_any_tenant(c, id, k->tenant, &k->sa)) != 0)
		return r == SN_ERR_NOT_FOUND ? 0 : r;
	if ((r = store_federation_list(c, k->tenant, k->sa.id, issuer, &k->feds,
	    &k->nfeds)) != 0 || k->nfeds == 0) {
		store_sa_clear(&k->sa);
		store_federations_free(k->feds, k->nfeds);
		memset(k, 0, sizeof(*k));
		return r;
	}
	x->n++;
	return 0;
}

/* Step 2: the accounts named audience (id, or name in any tenant). */
static int
find_candidates(struct db_conn *c, const char *audience, const char *issuer,
    struct exchange *x)
{
	struct store_ids ids = { NULL, 0 };
	size_t i;
	int r;

	if (strncmp(audience, "sac_", 4) == 0)
		return add_candidate(c, x, audience, issuer);
	if ((r = store_sa_ids_by_name_any_tenant(c, audience, &ids)) != 0)
		return r;
	for (i = 0; i < ids.n && r == 0; i++)
		r = add_candidate(c, x, ids.v[i], issuer);
	store_ids_free(&ids);
	return r;
}

/* Step 4 for one federation: NULL if it accepts the token, else why. */
static const char *
federation_refuses(const struct store_federation *f,
    const struct jwt_id_token *t, json_t *claims, int64_t now, char *buf,
    size_t len)
{
	const char *why = NULL, *claim = NULL;

	if (!jwt_aud_contains(claims, f->audience))
		return "ID token aud is not the federation's audience";
	if (jwt_id_token_times(t, f->max_token_age, now, &why) != 0)
		return why;
	if (!oidc_rules_match(f->claims, claims, &claim)) {
		snprintf(buf, len, "claim '%s' is missing or does not match the "
		    "federation's rule", claim != NULL ? claim : "?");
		return buf;
	}
	return NULL;
}

/*
 * The one account audience names, whatever the token says: a refused
 * exchange is recorded in that account's tenant, where its admins see it.
 */
static void
named_account(struct db_conn *c, const char *aud, char tenant[STORE_ID_MAX],
    char sa_id[STORE_ID_MAX])
{
	struct store_ids ids = { NULL, 0 };
	struct store_sa s;

	tenant[0] = sa_id[0] = '\0';
	memset(&s, 0, sizeof(s));
	if (aud == NULL)
		return;
	if (strncmp(aud, "sac_", 4) != 0) {
		if (store_sa_ids_by_name_any_tenant(c, aud, &ids) != 0 ||
		    ids.n != 1) {
			store_ids_free(&ids);
			return;
		}
		aud = ids.v[0];
	}
	if (store_sa_get_any_tenant(c, aud, tenant, &s) == 0)
		snprintf(sa_id, STORE_ID_MAX, "%s", s.id);
	else
		tenant[0] = '\0';
	store_sa_clear(&s);
	store_ids_free(&ids);
}

/* The auth.token event of a refusal: in the chain of the account that
 * matched (one), else of the one account audience names, else the system
 * chain. */
static void
refusal_audit(struct sn_request *req, const struct sn_response *resp,
    const struct candidate *one, const char *aud, json_t *d)
{
	struct db_conn *c = NULL;
	struct audit_event ev;
	char tenant[STORE_ID_MAX] = "", sa_id[STORE_ID_MAX] = "";
	json_t *e;

	if (resp->body != NULL &&
	    (e = json_object_get(resp->body, "error")) != NULL)
		json_object_set(d, "reason", json_object_get(e, "message"));
	json_object_set_new(d, "status", json_integer(resp->status));
	if (db_acquire(req->srv->db, &c) != 0)
		return;
	if (one != NULL) {
		snprintf(tenant, sizeof(tenant), "%s", one->tenant);
		snprintf(sa_id, sizeof(sa_id), "%s", one->sa.id);
	} else
		named_account(c, aud, tenant, sa_id);
	memset(&ev, 0, sizeof(ev));
	ev.tenant_id = tenant;
	ev.actor_type = sa_id[0] != '\0' ? "service_account" : "anonymous";
	ev.actor_id = sa_id;
	ev.action = "auth.token";
	ev.object_type = "service_account";
	ev.object_id = sa_id;
	ev.result = resp->status >= 500 ? "error" : "denied";
	ev.details = d;
	ev.source_ip = req->source_ip != NULL ? req->source_ip : "";
	/* Best effort: the refusal stands either way (db_release rolls back). */
	if (db_begin(c) == 0 && (audit_append(c, &ev) != 0 ||
	    db_commit(c) != 0))
		db_rollback(c);
	db_release(c);
}

/* Step 5: the token row, its provenance and the audit event. */
static int
issue_token(struct sn_request *req, struct sn_response *resp,
    struct db_conn *c, const struct candidate *k, json_t *prov, json_t *d,
    char **secret)
{
	struct store_federation again;
	struct store_sa now_sa;
	struct store_token_new t;
	char tenant[STORE_ID_MAX], tok_id[CREDENTIAL_ID_LEN + 1], *pj = NULL;
	uint8_t hash[32];
	struct audit_event ev;
	int64_t now = sn_now();
	int r;

	memset(&again, 0, sizeof(again));
	memset(&now_sa, 0, sizeof(now_sa));
	memset(&t, 0, sizeof(t));
	if ((r = credential_new(CREDENTIAL_TOKEN, secret, tok_id,
	    hash)) != 0) {
		r = api_error(resp, SN_ERR_INTERNAL, "could not make a token");
		goto out;
	}
	json_object_set_new(d, "token_id", json_string(tok_id));
	if ((pj = json_dumps(prov, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		r = api_error(resp, SN_ERR_INTERNAL, "out of memory");
		goto out;
	}
	if ((r = api_begin(c, resp)) != 0)
		goto out;
	/* The federation or the account may have gone while we verified. */
	if ((r = store_federation_get(c, k->tenant, k->sa.id, k->match->id,
	    &again)) != 0 ||
	    (r = store_sa_get_any_tenant(c, k->sa.id, tenant, &now_sa)) != 0) {
		if (r == SN_ERR_NOT_FOUND)
			r = api_error(resp, SN_ERR_UNAUTHENTICATED, "the "
			    "federation was removed");
		else
			r = api_store_error(resp, r, "federation");
		goto out;
	}
	t.id = tok_id;
	t.tenant_id = k->tenant;
	t.sa_id = k->sa.id;
	t.key_version = now_sa.key_version;
	t.secret_hash = hash;
	t.secret_hash_len = sizeof(hash);
	t.created_at = now;
	t.expires_at = now + AUTH_TOKEN_TTL;
	t.federation_id = again.id;
	t.provenance = pj;
	if ((r = store_token_insert(c, &t)) != 0) {
		r = api_store_error(resp, r, "token");
		goto out;
	}
	memset(&ev, 0, sizeof(ev));
	ev.tenant_id = k->tenant;
	ev.actor_type = "service_account";
	ev.actor_id = k->sa.id;
	ev.action = "auth.token";
	ev.object_type = "service_account";
	ev.object_id = k->sa.id;
	ev.result = "ok";
	ev.details = d;
	ev.source_ip = req->source_ip != NULL ? req->source_ip : "";
	if ((r = audit_append(c, &ev)) != 0) {
		r = api_store_error(resp, r, "audit event");
		goto out;
	}
	if ((r = api_commit(c, resp)) != 0)
		goto out;
	r = 0;
 out:
	if (r != 0) {
		sn_strfreezero(*secret);
		*secret = NULL;
	}
	explicit_bzero(hash, sizeof(hash));
	free(pj);
	store_federation_clear(&again);
	store_sa_clear(&now_sa);
	return r;
}

int
oauth_token_exchange(struct sn_request *req, struct sn_response *resp)
{
	static const char *const allowed[] = { "grant_type", "subject_token",
	    "subject_token_type", "audience", "requested_token_type", NULL };
	struct sn_server *srv = req->srv;
	struct db_conn *c = NULL;
	struct exchange x;
	struct jwt_id_token t;
	const char *tok = NULL, *ttype = NULL, *aud = NULL, *rtype = NULL;
	const char *why = NULL, *first_why = NULL;
	char buf[160], first_buf[160] = "";
	EVP_PKEY *pub = NULL;
	json_t *d = NULL, *claims = NULL, *prov = NULL, *body;
	struct candidate *hit = NULL;
	char *secret = NULL;
	size_t i, j, hits = 0;
	int64_t now;
	int r, fetched = 0;

	memset(&x, 0, sizeof(x));
	if ((d = json_pack("{s:s}", "grant", "token-exchange")) == NULL)
		return api_error(resp, SN_ERR_INTERNAL, "out of memory");
	if ((r = api_body(req, resp, allowed)) != 0 ||
	    (r = api_get_string(resp, req->body, "subject_token", 1,
	    JWT_MAX_LEN, &tok)) != 0 ||
	    (r = api_get_string(resp, req->body, "subject_token_type", 1, 128,
	    &ttype)) != 0 ||
	    (r = api_get_string(resp, req->body, "audience", 1, 128,
	    &aud)) != 0 ||
	    (r = api_get_string(resp, req->body, "requested_token_type", 0, 128,
	    &rtype)) != 0)
		goto out;
	json_object_set_new(d, "audience", json_string(aud));
	if (strcmp(ttype, ID_TOKEN_TYPE) != 0) {
		r = api_error(resp, SN_ERR_INVALID, "subject_token_type must be "
		    "%s", ID_TOKEN_TYPE);
		goto out;
	}
	if (rtype != NULL && strcmp(rtype, ACCESS_TOKEN_TYPE) != 0) {
		r = api_error(resp, SN_ERR_INVALID, "requested_token_type must "
		    "be %s", ACCESS_TOKEN_TYPE);
		goto out;
	}
	if (jwt_id_token_decode(tok, &t, &claims, &why) != 0) {
		r = api_error(resp, SN_ERR_INVALID, "malformed subject_token: %s",
		    why);
		goto out;
	}
	json_object_set_new(d, "issuer", json_string(t.iss));
	json_object_set_new(d, "subject", json_string(t.sub));

	/* 2. who could accept it */
	if ((r = api_conn(req, resp, &c)) != 0)
		goto out;
	if ((r = find_candidates(c, aud, t.iss, &x)) != 0) {
		r = api_store_error(resp, r, "service account");
		goto out;
	}
	db_release(c);
	c = NULL;
	if (x.n == 0) {
		r = api_error(resp, SN_ERR_UNAUTHENTICATED, "no service account "
		    "'%s' is federated with issuer %s", aud, t.iss);
		goto out;
	}

	/* 3. the issuer's key and the signature */
	if (srv->oidc == NULL) {
		resp->retry_after = 5;
		r = api_error(resp, SN_ERR_UNAVAILABLE, "OIDC federation is not "
		    "available in this server");
		goto out;
	}
	r = oidc_keys_get(srv->oidc, t.iss, t.kid, t.alg, &pub, &fetched, &why);
	json_object_set_new(d, "jwks_fetched", json_boolean(fetched));
	if (r == SN_ERR_UNAVAILABLE || r == SN_ERR_NOMEM || r == SN_ERR_CRYPTO) {
		resp->retry_after = 5;
		r = api_error(resp, SN_ERR_UNAVAILABLE, "cannot get the keys of "
		    "issuer %s: %s", t.iss, why != NULL ? why : "failed");
		goto out;
	}
	if (r != 0) {
		r = api_error(resp, SN_ERR_UNAUTHENTICATED, "subject_token "
		    "refused: %s", why != NULL ? why : "no key");
		goto out;
	}
	if (jwt_check_signature(tok, t.alg, pub, &why) != 0) {
		r = api_error(resp, SN_ERR_UNAUTHENTICATED, "subject_token "
		    "refused: %s", why != NULL ? why : "bad signature");
		goto out;
	}

	/* 4. which federation accepts it */
	now = sn_now();
	for (i = 0; i < x.n; i++) {
		for (j = 0; j < x.c[i].nfeds && x.c[i].match == NULL; j++) {
			why = federation_refuses(&x.c[i].feds[j], &t, claims, now,
			    buf, sizeof(buf));
			if (why == NULL)
				x.c[i].match = &x.c[i].feds[j];
			else if (first_why == NULL) {
				snprintf(first_buf, sizeof(first_buf), "%s", why);
				first_why = first_buf;
			}
		}
		if (x.c[i].match != NULL) {
			hit = &x.c[i];
			hits++;
		}
	}
	if (hits == 0) {
		r = api_error(resp, SN_ERR_UNAUTHENTICATED, "subject_token "
		    "refused: %s", first_why != NULL ? first_why : "no match");
		goto out;
	}
	if (hits > 1) {
		r = api_error(resp, SN_ERR_UNAUTHENTICATED, "service account "
		    "name '%s' is ambiguous: name the account by its id", aud);
		goto out;
	}
	if ((prov = oidc_provenance(hit->match->claims, claims, t.iss,
	    t.sub)) == NULL) {
		r = api_error(resp, SN_ERR_INTERNAL, "out of memory");
		goto out;
	}
	json_object_set_new(prov, "federation_id",
	    json_string(hit->match->id));
	json_object_set(d, "oidc", prov);
	json_object_set_new(d, "service_account", json_string(hit->sa.id));

	/* 5. the token */
	if (db_acquire(srv->db, &c) != 0) {
		c = NULL;
		resp->retry_after = 1;
		r = api_error(resp, SN_ERR_UNAVAILABLE, "database unavailable");
		goto out;
	}
	if ((r = issue_token(req, resp, c, hit, prov, d, &secret)) != 0)
		goto out;
	body = json_pack("{s:s, s:s, s:i, s:s}", "access_token", secret,
	    "token_type", "Bearer", "expires_in", AUTH_TOKEN_TTL,
	    "issued_token_type", ACCESS_TOKEN_TYPE);
	if (body == NULL) {
		r = api_error(resp, SN_ERR_INTERNAL, "out of memory");
		goto out;
	}
	r = api_json(resp, 200, body);
 out:
	if (r != 0) {
		if (c != NULL) {
			db_release(c);
			c = NULL;
		}
		if (resp->status == 401)	/* /metrics, like the JWT grant */
			__atomic_add_fetch(&srv->n_auth_failures, 1,
			    __ATOMIC_RELAXED);
		refusal_audit(req, resp, hits == 1 ? hit : NULL, aud, d);
	}
	db_release(c);
	sn_strfreezero(secret);
	EVP_PKEY_free(pub);
	json_decref(prov);
	json_decref(claims);
	json_decref(d);
	exchange_clear(&x);
	return r;
}

void
oauth_provenance_into(struct db_conn *c, const struct sn_actor *a,
    json_t *details)
{
	json_t *p = NULL;

	if (a == NULL || details == NULL || a->type != SN_ACTOR_SERVICE_ACCOUNT ||
	    strncmp(a->credential_id, "tok_", 4) != 0)
		return;
	if (store_token_provenance(c, a->tenant_id, a->credential_id, &p) == 0 &&
	    p != NULL)
		json_object_set_new(details, "oidc", p);
	else
		json_decref(p);
}
