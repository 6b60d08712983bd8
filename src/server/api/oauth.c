/*
 * oauth.c - POST /v1/oauth/token: the JWT bearer grant (RFC 7523) that
 * turns a service account's signed assertion into a short-lived access
 * token.
 *
 * The assertion is signed on the build machine with the account's private
 * key; we hold only the public key. Rules: grant_type is the JWT bearer URN;
 * the JWT verifies with the account's registered key (jwt_verify: allowed
 * algorithms only, iss == sub == the account id, aud == the token URL,
 * exp at most 5 minutes ahead); its jti is accepted once (jwt_replay, in
 * the same transaction as the token and its audit event). The token secret
 * is shown once and stored only as a SHA-256 hash.
 *
 * Every failure is the same 401 to the caller (the reason goes to the
 * audit trail, never a secret), except malformed requests (400).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>

#include "api.h"
#include "audit.h"
#include "auth.h"
#include "credential.h"
#include "db.h"
#include "err.h"
#include "jwt.h"
#include "oauth_exchange.h"
#include "pem.h"
#include "render.h"
#include "server.h"
#include "store_tokens.h"
#include "util.h"

#define JWT_BEARER_GRANT "urn:ietf:params:oauth:grant-type:jwt-bearer"

/* The token URL that assertions must name as their audience. */
static int
token_url(const struct sn_server *srv, char **out)
{
	const char *base = srv->cfg.public_url != NULL ? srv->cfg.public_url : "";
	size_t bl = strlen(base);

	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	if (asprintf(out, "%.*s/v1/oauth/token", (int)bl, base) < 0) {
		*out = NULL;
		return SN_ERR_NOMEM;
	}
	return 0;
}

/* One audit event of the token endpoint (no authenticated actor yet). */
static void
token_audit(struct db_conn *c, struct sn_request *req, const char *tenant,
    const char *sa_id, const char *result, json_t *details, int own_txn)
{
	struct audit_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.tenant_id = tenant != NULL ? tenant : "";
	ev.actor_type = sa_id != NULL && sa_id[0] != '\0' ?
	    "service_account" : "anonymous";
	ev.actor_id = sa_id != NULL ? sa_id : "";
	ev.action = "auth.token";
	ev.object_type = "service_account";
	ev.object_id = sa_id != NULL ? sa_id : "";
	ev.result = result;
	ev.details = details;
	ev.source_ip = req->source_ip != NULL ? req->source_ip : "";
	/* Best effort, as for every refusal: the answer stands either way. */
	if (!own_txn) {
		if (audit_append(c, &ev) != 0)
			return;		/* the caller's transaction shows it */
		return;
	}
	db_rollback(c);
	if (db_begin(c) != 0)
		return;
	if (audit_append(c, &ev) != 0 || db_commit(c) != 0)
		db_rollback(c);
}

/* Verifies the assertion with the registered key of account id. */
static int
verify_with(struct db_conn *c, const char *id, const char *assertion,
    const char *aud, int64_t now, char tenant[STORE_ID_MAX],
    struct store_sa *sa, struct jwt_claims *cl, const char **why)
{
	EVP_PKEY *pub = NULL;
	int r;

	if ((r = store_sa_get_any_tenant(c, id, tenant, sa)) != 0) {
		if (r == SN_ERR_NOT_FOUND) {
			*why = "unknown account";
			r = SN_ERR_UNAUTHENTICATED;
		}
		goto out;
	}
	if (strcmp(sa->key_algorithm, SA_NO_KEY_ALG) == 0) {
		*why = "the account has no registered key (OIDC federation only)";
		r = SN_ERR_UNAUTHENTICATED;
		goto out;
	}
	if (sa->public_key_pem == NULL ||
	    pem_read_pubkey(sa->public_key_pem, strlen(sa->public_key_pem),
	    &pub) != 0) {
		r = SN_ERR_INTERNAL;
		goto out;
	}
	if (jwt_verify(assertion, pub, aud, now, cl, why) != 0) {
		r = SN_ERR_UNAUTHENTICATED;
		goto out;
	}
	r = 0;
 out:
	if (r != 0) {
		store_sa_clear(sa);
		tenant[0] = '\0';
	}
	EVP_PKEY_free(pub);
	return r;
}

/*
 * Finds the account the assertion names in iss and verifies it with that
 * account's key. iss is the account id (SPEC); the account name is also
 * accepted, because `signet login --service-account NAME` knows only the
 * name: names are unique per tenant only, so every account of that name
 * is tried and exactly one key must verify the signature.
 */
static int
find_account(struct db_conn *c, const char *assertion, const char *iss,
    const char *aud, int64_t now, char tenant[STORE_ID_MAX],
    struct store_sa *sa, struct jwt_claims *cl, const char **why)
{
	struct store_ids ids = { NULL, 0 };
	struct store_sa cand;
	struct jwt_claims ccl;
	char ctenant[STORE_ID_MAX];
	size_t i, hits = 0;
	int r;

	r = verify_with(c, iss, assertion, aud, now, tenant, sa, cl, why);
	if (r != SN_ERR_UNAUTHENTICATED || strncmp(iss, "sac_", 4) == 0)
		return r;
	if ((r = store_sa_ids_by_name_any_tenant(c, iss, &ids)) != 0)
		return r;
	*why = "unknown account";
	r = SN_ERR_UNAUTHENTICATED;
	for (i = 0; i < ids.n; i++) {
		memset(&cand, 0, sizeof(cand));
		if (verify_with(c, ids.v[i], assertion, aud, now, ctenant, &cand,
		    &ccl, why) != 0)
			continue;
		if (++hits > 1) {
			store_sa_clear(&cand);
			store_sa_clear(sa);
			*why = "ambiguous account name: use the account id";
			r = SN_ERR_UNAUTHENTICATED;
			break;
		}
		*sa = cand;
		*cl = ccl;
		memcpy(tenant, ctenant, sizeof(ctenant));
		r = 0;
	}
	store_ids_free(&ids);
	return r;
}

static int
oauth_token(struct sn_request *req, struct sn_response *resp)
{
	static const char *const allowed[] = { "grant_type", "assertion", NULL };
	struct sn_server *srv = req->srv;
	struct db_conn *c = NULL;
	struct store_sa sa;
	struct jwt_claims cl;
	const char *grant = NULL, *assertion = NULL, *why = NULL;
	char tenant[STORE_ID_MAX] = "", tok_id[CREDENTIAL_ID_LEN + 1];
	char *aud = NULL, *secret = NULL;
	uint8_t hash[32];
	json_t *d = NULL, *body = NULL;
	int64_t now = sn_now();
	int r, denied = 0;

	memset(&sa, 0, sizeof(sa));
	memset(&cl, 0, sizeof(cl));
	/* RFC 8693 token exchange (OIDC federation): its own handler. */
	if (json_is_object(req->body) &&
	    json_is_string(json_object_get(req->body, "grant_type")) &&
	    strcmp(json_string_value(json_object_get(req->body, "grant_type")),
	    TOKEN_EXCHANGE_GRANT) == 0)
		return oauth_token_exchange(req, resp);
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	d = json_object();
	if ((r = api_body(req, resp, allowed)) != 0 ||
	    (r = api_get_string(resp, req->body, "grant_type", 1, 128,
	    &grant)) != 0 ||
	    (r = api_get_string(resp, req->body, "assertion", 1, JWT_MAX_LEN,
	    &assertion)) != 0)
		goto out;
	if (strcmp(grant, JWT_BEARER_GRANT) != 0) {
		r = api_error(resp, SN_ERR_INVALID, "grant_type must be %s "
		    "or %s", JWT_BEARER_GRANT, TOKEN_EXCHANGE_GRANT);
		goto out;
	}
	if (jwt_decode(assertion, &cl, &why) != 0) {
		json_object_set_new(d, "why", json_string(why != NULL ? why :
		    "malformed"));
		r = api_error(resp, SN_ERR_INVALID, "malformed assertion: %s",
		    why != NULL ? why : "not a JWT");
		goto out;
	}
	json_object_set_new(d, "iss", json_string(cl.iss));
	json_object_set_new(d, "jti", json_string(cl.jti));
	denied = 1;	/* from here on every failure is the same 401 */
	if ((r = token_url(srv, &aud)) != 0) {
		r = api_error(resp, SN_ERR_INTERNAL, "out of memory");
		goto out;
	}
	if ((r = find_account(c, assertion, cl.iss, aud, now, tenant, &sa, &cl,
	    &why)) != 0) {
		if (r != SN_ERR_UNAUTHENTICATED) {
			r = api_store_error(resp, r, "service account");
			goto out;
		}
		json_object_set_new(d, "why", json_string(why != NULL ? why :
		    "verification failed"));
		r = api_error(resp, SN_ERR_UNAUTHENTICATED, "invalid assertion");
		goto out;
	}
	if (cl.iat != 0 && cl.exp <= cl.iat) {
		/* The clock-skew leeway must not rescue a nonsense lifetime. */
		json_object_set_new(d, "why", json_string("exp not after iat"));
		r = api_error(resp, SN_ERR_UNAUTHENTICATED, "invalid assertion");
		goto out;
	}
	json_object_set_new(d, "key_version", json_integer(sa.key_version));

	/* jti once, the token and its audit event: one transaction. */
	if ((r = credential_new(CREDENTIAL_TOKEN, &secret, tok_id,
	    hash)) != 0) {
		r = api_error(resp, SN_ERR_INTERNAL, "could not make a token");
		goto out;
	}
	json_object_set_new(d, "token_id", json_string(tok_id));
	if ((r = api_begin(c, resp)) != 0)
		goto out;
	r = store_jti_use(c, sa.id, cl.jti, cl.exp + JWT_CLOCK_SKEW,
	    now - JWT_CLOCK_SKEW);
	if (r == SN_ERR_CONFLICT) {
		json_object_set_new(d, "why", json_string("jti replayed"));
		r = api_error(resp, SN_ERR_UNAUTHENTICATED, "invalid assertion");
		goto out;
	}
	if (r == 0) {
		struct store_token_new t = {
			.id = tok_id, .tenant_id = tenant, .sa_id = sa.id,
			.key_version = sa.key_version, .secret_hash = hash,
			.secret_hash_len = sizeof(hash), .created_at = now,
			.expires_at = now + AUTH_TOKEN_TTL,
		};

		r = store_token_insert(c, &t);
	}
	if (r != 0) {
		r = api_store_error(resp, r, "token");
		goto out;
	}
	{
		struct audit_event ev;

		memset(&ev, 0, sizeof(ev));
		ev.tenant_id = tenant;
		ev.actor_type = "service_account";
		ev.actor_id = sa.id;
		ev.action = "auth.token";
		ev.object_type = "service_account";
		ev.object_id = sa.id;
		ev.result = "ok";
		ev.details = d;
		ev.source_ip = req->source_ip != NULL ? req->source_ip : "";
		if ((r = audit_append(c, &ev)) != 0) {
			r = api_store_error(resp, r, "audit event");
			goto out;
		}
	}
	if ((r = api_commit(c, resp)) != 0)
		goto out;
	body = json_pack("{s:s, s:s, s:i}", "access_token", secret,
	    "token_type", "Bearer", "expires_in", AUTH_TOKEN_TTL);
	if (body == NULL) {
		r = api_error(resp, SN_ERR_INTERNAL, "out of memory");
		goto out;
	}
	r = api_json(resp, 200, body);
 out:
	if (r != 0) {
		if (denied || resp->status == 401)
			__atomic_add_fetch(&srv->n_auth_failures, 1,
			    __ATOMIC_RELAXED);
		if (resp->body != NULL) {
			json_t *e = json_object_get(resp->body, "error");

			json_object_set_new(d, "status",
			    json_integer(resp->status));
			if (e != NULL)
				json_object_set(d, "reason",
				    json_object_get(e, "message"));
		}
		token_audit(c, req, tenant, sa.id[0] != '\0' ? sa.id : NULL,
		    resp->status >= 500 ? "error" : "denied", d, 1);
	}
	sn_strfreezero(secret);
	explicit_bzero(hash, sizeof(hash));
	json_decref(d);
	free(aud);
	store_sa_clear(&sa);
	db_release(c);
	return r;
}

const struct api_route api_routes_oauth[] = {
	{ "POST", "/v1/oauth/token", oauth_token, API_PUBLIC_FORM },
	{ NULL, NULL, NULL, API_PUBLIC },
};
