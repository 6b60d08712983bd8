/*
 * federations.c - /v1/serviceaccounts/{id}/federations: the OIDC issuers
 * (CI systems) whose ID tokens a service account trusts, each bound to an
 * audience and to claim rules (auth/oidc_rules.h), exchanged for access
 * tokens at POST /v1/oauth/token (oauth_exchange.c).
 *
 * Who: listing needs service_account.view, adding and removing need
 * service_account.manage (admins and members of the owning team, authz.c).
 * Every change and every refused change is audited. Removing a federation
 * deletes the access tokens it issued in the same transaction.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "audit.h"
#include "db.h"
#include "err.h"
#include "oidc_rules.h"
#include "render.h"
#include "serviceaccounts.h"
#include "store.h"
#include "store_federations.h"
#include "util.h"

#define FED_AGE_DEFAULT	3600
#define FED_AGE_MIN	60
#define FED_AGE_MAX	86400

static json_t *
fed_json(const struct store_federation *f)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:O, s:I, s:o}", "id", f->id,
	    "service_account", f->service_account_id, "issuer", f->issuer,
	    "audience", f->audience, "claims", f->claims, "max_token_age",
	    (json_int_t)f->max_token_age, "created_at",
	    store_time_json(f->created_at));
}

/* https://host[:port][/path], printable ASCII, no query, fragment or
 * user info: what OpenID Connect Discovery allows as an issuer. */
static int
valid_issuer(const char *s)
{
	size_t i, n = strlen(s);
	const char *host = s + 8;

	if (n <= 8 || n > FED_ISSUER_MAX || strncmp(s, "https://", 8) != 0 ||
	    *host == '/' || *host == '\0')
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] > 0x7e ||
		    s[i] == '?' || s[i] == '#' || s[i] == '@' || s[i] == '\\')
			return 0;
	return 1;
}

static int
valid_audience(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > FED_AUDIENCE_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

static int
fed_create(struct sn_request *req, struct sn_response *resp)
{
	static const char *const allowed[] = { "issuer", "audience", "claims",
	    "max_token_age", NULL };
	struct db_conn *c = NULL;
	struct store_sa s;
	struct store_federation f;
	const char *issuer = NULL, *audience = NULL;
	char why[160], *id = NULL;
	int64_t age = FED_AGE_DEFAULT, n = 0;
	json_t *d = NULL, *claims;
	int r;

	memset(&s, 0, sizeof(s));
	memset(&f, 0, sizeof(f));
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	if ((r = sa_load(c, req, resp, AUTHZ_SA_MANAGE, &s)) != 0 ||
	    (r = api_body(req, resp, allowed)) != 0 ||
	    (r = api_get_string(resp, req->body, "issuer", 1, FED_ISSUER_MAX,
	    &issuer)) != 0 ||
	    (r = api_get_string(resp, req->body, "audience", 1,
	    FED_AUDIENCE_MAX, &audience)) != 0 ||
	    (r = api_get_int(resp, req->body, "max_token_age", 0, FED_AGE_MIN,
	    FED_AGE_MAX, &age)) != 0)
		goto out;
	if (!valid_issuer(issuer)) {
		r = api_error(resp, SN_ERR_INVALID, "field 'issuer' must be an "
		    "https URL without query, fragment or user info (at most "
		    "%d characters)", FED_ISSUER_MAX);
		goto out;
	}
	if (!valid_audience(audience)) {
		r = api_error(resp, SN_ERR_INVALID, "field 'audience' must be 1 "
		    "to %d printable ASCII characters", FED_AUDIENCE_MAX);
		goto out;
	}
	claims = json_object_get(req->body, "claims");
	if (claims == NULL) {
		r = api_error(resp, SN_ERR_INVALID, "field 'claims' is required");
		goto out;
	}
	if (oidc_rules_check(claims, why, sizeof(why)) != 0) {
		r = api_error(resp, SN_ERR_INVALID, "%s", why);
		goto out;
	}
	if ((r = sn_new_id("fed", &id)) != 0 ||
	    (r = store_copy(f.id, sizeof(f.id), id)) != 0) {
		r = api_error(resp, SN_ERR_INTERNAL, "could not make an id");
		goto out;
	}
	memcpy(f.tenant_id, req->actor.tenant_id, sizeof(f.tenant_id));
	memcpy(f.service_account_id, s.id, sizeof(f.service_account_id));
	memcpy(f.issuer, issuer, strlen(issuer) + 1);
	memcpy(f.audience, audience, strlen(audience) + 1);
	f.claims = json_incref(claims);
	f.max_token_age = age;
	f.created_at = sn_now();
	d = json_pack("{s:s, s:s, s:s, s:O, s:I}", "federation_id", f.id,
	    "issuer", f.issuer, "audience", f.audience, "claims", f.claims,
	    "max_token_age", (json_int_t)f.max_token_age);
	if ((r = api_begin(c, resp)) != 0)
		goto out;
	if ((r = store_federation_count(c, req->actor.tenant_id, s.id,
	    &n)) != 0) {
		r = api_store_error(resp, r, "federation");
		goto out;
	}
	if (n >= FED_MAX_PER_ACCOUNT) {
		r = api_error(resp, SN_ERR_CONFLICT, "service account '%s' "
		    "already has %d federations", s.name, FED_MAX_PER_ACCOUNT);
		goto out;
	}
	if ((r = store_federation_insert(c, &f)) != 0) {
		r = api_store_error(resp, r, "federation");
		goto out;
	}
	if ((r = api_commit_audited(c, req, resp, "service_account.federate",
	    "service_account", s.id, d)) != 0)
		goto out;
	r = api_json(resp, 201, json_pack("{s:o}", "federation", fed_json(&f)));
 out:
	if (r != 0)
		audit_refusal(c, req, resp, "service_account.federate",
		    "service_account", s.id[0] != '\0' ? s.id : req->params[0],
		    d);
	json_decref(d);
	free(id);
	store_federation_clear(&f);
	store_sa_clear(&s);
	db_release(c);
	return r;
}

static int
fed_list(struct sn_request *req, struct sn_response *resp)
{
	struct db_conn *c = NULL;
	struct store_sa s;
	struct store_federation *v = NULL;
	size_t i, n = 0;
	json_t *arr = NULL;
	int r;

	memset(&s, 0, sizeof(s));
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	if ((r = sa_load(c, req, resp, AUTHZ_SA_VIEW, &s)) != 0) {
		if (resp->status == 403)
			audit_refusal(c, req, resp, "service_account.view",
			    "service_account", s.id, NULL);
		goto out;
	}
	if ((r = store_federation_list(c, req->actor.tenant_id, s.id, NULL, &v,
	    &n)) != 0 || (arr = json_array()) == NULL) {
		r = api_store_error(resp, r != 0 ? r : SN_ERR_NOMEM,
		    "federation");
		goto out;
	}
	for (i = 0; i < n; i++)
		json_array_append_new(arr, fed_json(&v[i]));
	r = api_json(resp, 200, json_pack("{s:o}", "federations", arr));
	arr = NULL;
 out:
	json_decref(arr);
	store_federations_free(v, n);
	store_sa_clear(&s);
	db_release(c);
	return r;
}

static int
fed_delete(struct sn_request *req, struct sn_response *resp)
{
	struct db_conn *c = NULL;
	struct store_sa s;
	struct store_federation f;
	json_t *d = NULL;
	int r;

	memset(&s, 0, sizeof(s));
	memset(&f, 0, sizeof(f));
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	if ((r = sa_load(c, req, resp, AUTHZ_SA_MANAGE, &s)) != 0)
		goto out;
	d = json_pack("{s:s}", "federation_id", req->params[1]);
	if ((r = api_begin(c, resp)) != 0)
		goto out;
	if ((r = store_federation_get(c, req->actor.tenant_id, s.id,
	    req->params[1], &f)) != 0) {
		r = api_store_error(resp, r, "federation");
		goto out;
	}
	json_object_set_new(d, "issuer", json_string(f.issuer));
	json_object_set_new(d, "audience", json_string(f.audience));
	if ((r = store_federation_delete(c, req->actor.tenant_id, s.id,
	    f.id)) != 0) {
		r = api_store_error(resp, r, "federation");
		goto out;
	}
	if ((r = api_commit_audited(c, req, resp, "service_account.unfederate",
	    "service_account", s.id, d)) != 0)
		goto out;
	r = api_json(resp, 200, json_pack("{s:b}", "deleted", 1));
 out:
	if (r != 0)
		audit_refusal(c, req, resp, "service_account.unfederate",
		    "service_account", s.id[0] != '\0' ? s.id : req->params[0],
		    d);
	json_decref(d);
	store_federation_clear(&f);
	store_sa_clear(&s);
	db_release(c);
	return r;
}

const struct api_route api_routes_federations[] = {
	{ "POST", "/v1/serviceaccounts/{id}/federations", fed_create, API_AUTH },
	{ "GET", "/v1/serviceaccounts/{id}/federations", fed_list, API_AUTH },
	{ "DELETE", "/v1/serviceaccounts/{id}/federations/{fid}", fed_delete,
	    API_AUTH },
	{ NULL, NULL, NULL, API_PUBLIC },
};
