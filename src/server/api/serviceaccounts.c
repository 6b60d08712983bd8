/*
 * serviceaccounts.c - /v1/serviceaccounts: non-interactive identities for
 * build machines. Only the public key is ever uploaded (the private key is
 * generated on the signing machine by `signet service-account keygen`).
 *
 * Accepted keys: EC P-256, EC P-384, RSA 2048..16384 bits. We store the
 * re-encoded SubjectPublicKeyInfo PEM (never the caller's bytes), the
 * algorithm and the SHA-256 fingerprint of the DER SPKI.
 *
 * Rotating the key bumps key_version and deletes the account's access
 * tokens in the same transaction, so tokens issued under the old key stop
 * working at once.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "api.h"
#include "audit.h"
#include "db.h"
#include "encode.h"
#include "err.h"
#include "page.h"
#include "pem.h"
#include "render.h"
#include "server.h"
#include "serviceaccounts.h"
#include "util.h"

#define SA_PEM_MAX (16 * 1024)

/*
 * Parses a PEM public key and fills the canonical PEM, algorithm name and
 * fingerprint. On failure sets a 400 with the reason.
 */
static int
sa_parse_key(struct sn_response *resp, const char *pem, char **pem_out,
    char alg[32], char fp[65])
{
	BIO *outb = NULL;
	EVP_PKEY *pk = NULL;
	unsigned char *der = NULL, md[32];
	char group[64], *hex = NULL, *p = NULL;
	int derlen, bits, r;
	size_t glen = 0;
	long plen;

	*pem_out = NULL;
	alg[0] = fp[0] = '\0';
	if (strstr(pem, "PRIVATE KEY") != NULL) {
		r = api_error(resp, SN_ERR_INVALID, "field 'public_key' holds a "
		    "private key: upload only the public key");
		goto out;
	}
	if ((r = pem_read_pubkey(pem, strlen(pem), &pk)) == SN_ERR_NOMEM) {
		r = api_error(resp, SN_ERR_INTERNAL, "out of memory");
		goto out;
	}
	if (r != 0) {
		r = api_error(resp, SN_ERR_INVALID, "field 'public_key' must be "
		    "a PEM public key (-----BEGIN PUBLIC KEY-----)");
		goto out;
	}
	if (EVP_PKEY_is_a(pk, "RSA")) {
		bits = EVP_PKEY_get_bits(pk);
		if (bits < 2048 || bits > 16384) {
			r = api_error(resp, SN_ERR_INVALID, "RSA public key of %d "
			    "bits: 2048 to 16384 bits are accepted", bits);
			goto out;
		}
		snprintf(alg, 32, "rsa-%d", bits);
	} else if (EVP_PKEY_is_a(pk, "EC")) {
		if (EVP_PKEY_get_utf8_string_param(pk,
		    OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
		    &glen) != 1) {
			r = api_error(resp, SN_ERR_INVALID, "EC public key with "
			    "explicit or unknown curve parameters");
			goto out;
		}
		if (strcmp(group, "prime256v1") == 0 ||
		    strcmp(group, "P-256") == 0)
			snprintf(alg, 32, "ecdsa-p256");
		else if (strcmp(group, "secp384r1") == 0 ||
		    strcmp(group, "P-384") == 0)
			snprintf(alg, 32, "ecdsa-p384");
		else {
			r = api_error(resp, SN_ERR_INVALID, "EC curve %s is not "
			    "accepted: use P-256 or P-384", group);
			goto out;
		}
	} else {
		r = api_error(resp, SN_ERR_INVALID, "public key type not "
		    "accepted: use EC P-256, P-384 or RSA >= 2048 bits");
		goto out;
	}
	if ((derlen = i2d_PUBKEY(pk, &der)) <= 0 ||
	    EVP_Digest(der, (size_t)derlen, md, NULL, EVP_sha256(), NULL) != 1 ||
	    sn_hex_encode(md, sizeof(md), &hex) != 0 ||
	    (outb = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PUBKEY(outb, pk) != 1 ||
	    (plen = BIO_get_mem_data(outb, &p)) <= 0) {
		r = api_error(resp, SN_ERR_CRYPTO, "could not encode the key");
		goto out;
	}
	memcpy(fp, hex, 65);
	if ((*pem_out = strndup(p, (size_t)plen)) == NULL) {
		r = api_error(resp, SN_ERR_INTERNAL, "out of memory");
		goto out;
	}
	r = 0;
 out:
	free(hex);
	OPENSSL_free(der);
	EVP_PKEY_free(pk);
	BIO_free(outb);
	return r;
}

static int
sa_reply(struct sn_response *resp, int status, const struct store_sa *s)
{
	json_t *sj = NULL;
	int r;

	if ((r = render_sa(s, &sj)) != 0)
		return api_store_error(resp, r, "service account");
	return api_json(resp, status, json_pack("{s:o}", "service_account", sj));
}

/* 409 if another account (any tenant) already has this public key. */
static int
sa_key_unused(struct db_conn *c, struct sn_response *resp,
    const char *fingerprint, const char *except_id)
{
	int used, r;

	if ((r = store_sa_key_used(c, fingerprint, except_id, &used)) != 0)
		return api_store_error(resp, r, "service account");
	if (used)
		return api_error(resp, SN_ERR_CONFLICT, "this public key is "
		    "already registered to a service account; make a new key "
		    "pair for each account (signet service-account keygen)");
	return 0;
}

static int
sa_create(struct sn_request *req, struct sn_response *resp)
{
	static const char *const allowed[] = { "name", "team", "public_key",
	    "oidc_only", NULL };
	struct db_conn *c = NULL;
	struct store_team t;
	struct store_sa s, got;
	const char *name = NULL, *team = NULL, *pem = NULL;
	char *id = NULL;
	json_t *d = NULL;
	int r, oidc_only = 0;

	memset(&s, 0, sizeof(s));
	memset(&got, 0, sizeof(got));
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	/*
	 * The team comes from the body, so the object check cannot run
	 * before the body is read: the management gate refuses service
	 * accounts first, like keys_create.
	 */
	if ((r = api_authz(c, req, resp, AUTHZ_MANAGEMENT, NULL,
	    "service account")) != 0)
		goto out;
	if ((r = api_body(req, resp, allowed)) != 0 ||
	    (r = api_get_string(resp, req->body, "name", 1, 64, &name)) != 0 ||
	    (r = api_get_string(resp, req->body, "team", 1, 128, &team)) != 0 ||
	    (r = api_get_bool(resp, req->body, "oidc_only", 0,
	    &oidc_only)) != 0 ||
	    (r = api_get_string(resp, req->body, "public_key", !oidc_only,
	    SA_PEM_MAX, &pem)) != 0)
		goto out;
	if (oidc_only && pem != NULL) {
		r = api_error(resp, SN_ERR_INVALID, "give either 'public_key' or "
		    "\"oidc_only\": true, not both");
		goto out;
	}
	if ((r = store_team_get(c, req->actor.tenant_id, team, &t)) != 0) {
		r = api_store_error(resp, r, "team");
		goto out;
	}
	if ((r = api_authz(c, req, resp, AUTHZ_SA_CREATE, t.id, "team")) != 0)
		goto out;
	if ((r = api_check_name(resp, "name", name)) != 0)
		goto out;
	if (pem != NULL && (r = sa_parse_key(resp, pem, &s.public_key_pem,
	    s.key_algorithm, s.key_fingerprint)) != 0)
		goto out;
	if ((r = sn_new_id("sac", &id)) != 0 ||
	    (r = store_copy(s.id, sizeof(s.id), id)) != 0 ||
	    (r = store_copy(s.name, sizeof(s.name), name)) != 0 ||
	    (r = store_copy(s.team_id, sizeof(s.team_id), t.id)) != 0 ||
	    (r = store_copy(s.team_name, sizeof(s.team_name), t.name)) != 0) {
		r = api_error(resp, SN_ERR_INTERNAL, "could not make an id");
		goto out;
	}
	if (pem == NULL) {
		/*
		 * No registered key: the account authenticates only through
		 * OIDC federations (docs/CI.md). The columns are NOT NULL and
		 * the fingerprint unique, so it gets a marker no SPKI hash can
		 * equal; the JWT bearer grant refuses such an account.
		 */
		if ((s.public_key_pem = strdup("")) == NULL) {
			r = api_error(resp, SN_ERR_INTERNAL, "out of memory");
			goto out;
		}
		snprintf(s.key_algorithm, sizeof(s.key_algorithm), "%s",
		    SA_NO_KEY_ALG);
		snprintf(s.key_fingerprint, sizeof(s.key_fingerprint), "none:%s",
		    id);
	}
	s.created_at = sn_now();
	s.key_version = 1;
	d = json_pack("{s:s, s:s, s:s, s:s}", "name", s.name, "team", t.id,
	    "key_algorithm", s.key_algorithm, "key_fingerprint",
	    s.key_fingerprint);
	if ((r = api_begin(c, resp)) != 0 ||
	    (r = sa_key_unused(c, resp, s.key_fingerprint, NULL)) != 0)
		goto out;
	if ((r = store_sa_insert(c, req->actor.tenant_id, &s)) != 0) {
		r = r == SN_ERR_CONFLICT ? api_error(resp, r, "a service account "
		    "named '%s' already exists", s.name) :
		    api_store_error(resp, r, "service account");
		goto out;
	}
	if ((r = api_commit_audited(c, req, resp, "service_account.create",
	    "service_account", s.id, d)) != 0)
		goto out;
	r = sa_reply(resp, 201, &s);
 out:
	if (r != 0)
		audit_refusal(c, req, resp, "service_account.create",
		    "service_account", s.id, d);
	json_decref(d);
	free(id);
	store_sa_clear(&s);
	store_sa_clear(&got);
	db_release(c);
	return r;
}

static int
sa_list(struct sn_request *req, struct sn_response *resp)
{
	struct db_conn *c = NULL;
	struct api_page pg;
	struct store_page sp;
	struct store_viewer v;
	struct store_sa *rows = NULL;
	json_t *arr = NULL, *sj, *next;
	size_t i, n = 0;
	int r;

	if ((r = api_page_parse(req, resp, API_LIST_SERVICE_ACCOUNTS, 1,
	    &pg)) != 0)
		return r;
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	api_page_viewer(req, &v);
	api_page_store(&pg, 1, &sp);
	if ((r = store_sa_page(c, &v, &sp, &rows, &n)) != 0 ||
	    (arr = json_array()) == NULL) {
		r = api_store_error(resp, r != 0 ? r : SN_ERR_NOMEM,
		    "service account");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((r = render_sa(&rows[i], &sj)) != 0 ||
		    json_array_append_new(arr, sj) != 0) {
			r = api_store_error(resp, r != 0 ? r : SN_ERR_NOMEM,
			    "service account");
			goto out;
		}
	}
	if ((next = api_page_finish(API_LIST_SERVICE_ACCOUNTS, &pg, arr,
	    "name")) == NULL) {
		r = api_store_error(resp, SN_ERR_NOMEM, "service account");
		goto out;
	}
	r = api_json(resp, 200, json_pack("{s:o, s:o}", "service_accounts",
	    arr, "next_cursor", next));
	arr = NULL;
 out:
	for (i = 0; i < n; i++)
		store_sa_clear(&rows[i]);
	free(rows);
	json_decref(arr);
	db_release(c);
	return r;
}

int
sa_load(struct db_conn *c, struct sn_request *req, struct sn_response *resp,
    enum authz_action action, struct store_sa *s)
{
	int r;

	if ((r = store_sa_get(c, req->actor.tenant_id, req->params[0], s)) != 0)
		return api_store_error(resp, r, "service account");
	return api_authz(c, req, resp, action, s->id, "service account");
}

static int
sa_show(struct sn_request *req, struct sn_response *resp)
{
	struct db_conn *c = NULL;
	struct store_sa s;
	int r;

	memset(&s, 0, sizeof(s));
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	if ((r = sa_load(c, req, resp, AUTHZ_SA_VIEW, &s)) == 0)
		r = sa_reply(resp, 200, &s);
	else if (resp->status == 403)	/* denied reads are audited too */
		audit_refusal(c, req, resp, "service_account.view",
		    "service_account", s.id, NULL);
	store_sa_clear(&s);
	db_release(c);
	return r;
}

static int
sa_rotate(struct sn_request *req, struct sn_response *resp)
{
	static const char *const allowed[] = { "public_key", NULL };
	struct db_conn *c = NULL;
	struct store_sa s;
	const char *pem = NULL;
	char *newpem = NULL, alg[32], fp[65];
	json_t *d = NULL;
	int r;

	memset(&s, 0, sizeof(s));
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	if ((r = sa_load(c, req, resp, AUTHZ_SA_MANAGE, &s)) != 0 ||
	    (r = api_body(req, resp, allowed)) != 0 ||
	    (r = api_get_string(resp, req->body, "public_key", 1, SA_PEM_MAX,
	    &pem)) != 0 ||
	    (r = sa_parse_key(resp, pem, &newpem, alg, fp)) != 0)
		goto out;
	d = json_pack("{s:s, s:s, s:s, s:I}", "old_fingerprint",
	    s.key_fingerprint, "key_fingerprint", fp, "key_algorithm", alg,
	    "key_version", (json_int_t)(s.key_version + 1));
	if ((r = api_begin(c, resp)) != 0 ||
	    (r = sa_key_unused(c, resp, fp, s.id)) != 0)
		goto out;
	if ((r = store_sa_rotate(c, req->actor.tenant_id, s.id, newpem, alg, fp,
	    sn_now())) != 0) {
		r = api_store_error(resp, r, "service account");
		goto out;
	}
	if ((r = api_commit_audited(c, req, resp, "service_account.rotate_key",
	    "service_account", s.id, d)) != 0)
		goto out;
	store_sa_clear(&s);
	if ((r = store_sa_get(c, req->actor.tenant_id, req->params[0], &s)) != 0) {
		r = api_store_error(resp, r, "service account");
		goto out;
	}
	r = sa_reply(resp, 200, &s);
 out:
	if (r != 0)
		audit_refusal(c, req, resp, "service_account.rotate_key",
		    "service_account", s.id[0] != '\0' ? s.id : req->params[0],
		    d);
	json_decref(d);
	free(newpem);
	store_sa_clear(&s);
	db_release(c);
	return r;
}

static int
sa_delete(struct sn_request *req, struct sn_response *resp)
{
	struct db_conn *c = NULL;
	struct store_sa s;
	json_t *d = NULL;
	int r;

	memset(&s, 0, sizeof(s));
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	if ((r = sa_load(c, req, resp, AUTHZ_SA_MANAGE, &s)) != 0)
		goto out;
	d = json_pack("{s:s, s:s, s:s}", "name", s.name, "team", s.team_id,
	    "key_fingerprint", s.key_fingerprint);
	if ((r = api_begin(c, resp)) != 0)
		goto out;
	if ((r = store_sa_delete(c, req->actor.tenant_id, s.id)) != 0) {
		r = api_store_error(resp, r, "service account");
		goto out;
	}
	if ((r = api_commit_audited(c, req, resp, "service_account.delete",
	    "service_account", s.id, d)) != 0)
		goto out;
	r = api_json(resp, 200, json_pack("{s:b}", "deleted", 1));
 out:
	if (r != 0)
		audit_refusal(c, req, resp, "service_account.delete",
		    "service_account", s.id[0] != '\0' ? s.id : req->params[0],
		    d);
	json_decref(d);
	store_sa_clear(&s);
	db_release(c);
	return r;
}

const struct api_route api_routes_serviceaccounts[] = {
	{ "POST", "/v1/serviceaccounts", sa_create, API_AUTH },
	{ "GET", "/v1/serviceaccounts", sa_list, API_AUTH },
	{ "GET", "/v1/serviceaccounts/{id}", sa_show, API_AUTH },
	{ "POST", "/v1/serviceaccounts/{id}/rotate-key", sa_rotate, API_AUTH },
	{ "DELETE", "/v1/serviceaccounts/{id}", sa_delete, API_AUTH },
	{ NULL, NULL, NULL, API_PUBLIC },
};
