/*
 * key_versions.c - certificate renewal and key rotation.
 *
 *   POST /v1/keys/{id}/renew     a new certificate for the same HSM key
 *   POST /v1/keys/{id}/rotate    a new HSM key pair (and certificate) as the
 *                                key's next version; same name, project, id
 *   GET  /v1/keys/{id}/versions  every version's public key and every
 *                                certificate the key has had
 *
 * The key keeps its id, name and project, so signer configurations and
 * PKCS#11 URIs do not change; the token and `signet cert` serve the current
 * certificate. Replaced certificates stay listed and valid until they
 * expire (and are revoked with the key). A rotated-out version's HSM key is
 * destroyed once the rotation commits: it never signs again, while its
 * public key and certificates stay retrievable so old signatures verify.
 * No database connection is held while the HSM generates or signs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "api.h"
#include "audit.h"
#include "db.h"
#include "encode.h"
#include "err.h"
#include "crl.h"
#include "hsm_signer.h"
#include "keygen.h"
#include "keys.h"
#include "pem.h"
#include "render.h"
#include "server.h"
#include "store.h"
#include "util.h"

/*
 * A refused or failed renewal/rotation is an audit event too (as for the
 * other key changes); the connection is taken again if it was released.
 */
static void
refused(struct sn_request *req, struct sn_response *resp, struct db_conn **c,
    const char *action, const char *key_id, json_t *d)
{
	if (*c == NULL && db_acquire(req->srv->db, c) != 0) {
		*c = NULL;
		return;
	}
	audit_refusal(*c, req, resp, action, "key", key_id, d);
}

/* The key params[0] with action checked, and its CAs if built-in. */
static int
load(struct sn_request *req, struct sn_response *resp, enum authz_action act,
    struct store_key *k, struct store_ca *issuing, struct store_ca *root,
    int *have_root)
{
	struct db_conn *c = NULL;
	int r;

	*have_root = 0;
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	if ((r = store_key_get(c, req->actor.tenant_id, req->params[0], k)) != 0) {
		r = r == SN_ERR_CONFLICT ? api_error(resp, r, "several keys are "
		    "named '%s': use PROJECT/KEY or the key id", req->params[0]) :
		    api_store_error(resp, r, "key");
		goto out;
	}
	if ((r = api_authz(c, req, resp, act, k->id, "key")) != 0)
		goto out;
	if (issuing == NULL || root == NULL)	/* a read: no CA needed */
		goto out;
	if (strcmp(k->state, "revoked") == 0) {
		r = api_error(resp, SN_ERR_CONFLICT, "key %s/%s is revoked",
		    k->project_name, k->name);
		goto out;
	}
	if (strcmp(k->ca_mode, "builtin") == 0) {
		if ((r = store_ca_get_issuing(c, req->actor.tenant_id,
		    issuing)) != 0) {
			r = api_store_error(resp, r, "CA");
			goto out;
		}
		if (issuing->parent_id[0] != '\0') {
			if ((r = store_ca_get(c, req->actor.tenant_id,
			    issuing->parent_id, root)) != 0) {
				r = api_store_error(resp, r, "root CA");
				goto out;
			}
			*have_root = 1;
		}
	}
 out:
	db_release(c);
	return r;
}

/* The new validity: now .. now + validity, within the issuing CA's. */
static int
new_validity(struct sn_request *req, struct sn_response *resp,
    const struct store_ca *issuing, int builtin, struct store_key *k)
{
	int64_t validity = 0, ca_na = 0, now = sn_now();
	int r;

	if (req->body != NULL) {
		static const char *const allowed[] = { "validity", NULL };

		if ((r = api_body(req, resp, allowed)) != 0)
			return r;
	}
	if ((r = keys_get_validity(resp, req->body, &validity)) != 0)
		return r;
	k->not_before = now;
	k->not_after = now + validity;
	if (builtin) {
		if (ca_cert_pem_info(issuing->cert_pem, NULL, NULL, &ca_na,
		    NULL) != 0)
			return api_error(resp, SN_ERR_INTERNAL, "the issuing CA "
			    "certificate is unreadable");
		if (k->not_after > ca_na) {
			char t[32];

			sn_format_time(ca_na, t);
			return api_error(resp, SN_ERR_INVALID, "field 'validity' "
			    "reaches beyond the issuing CA's validity (%s)", t);
		}
	}
	return 0;
}

static int
reply_key(struct sn_request *req, struct sn_response *resp, int status)
{
	struct db_conn *c = NULL;
	struct store_key k;
	json_t *kj = NULL;
	int r;

	memset(&k, 0, sizeof(k));
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	if ((r = store_key_get(c, req->actor.tenant_id, req->params[0], &k)) != 0 ||
	    (r = render_key(&k, sn_now(), &kj)) != 0)
		r = api_store_error(resp, r, "key");
	else
		r = api_json(resp, status, json_pack("{s:o}", "key", kj));
	store_key_clear(&k);
	db_release(c);
	return r;
}

/* In an open transaction: the current certificate into the history. */
static int
archive_current(struct db_conn *c, const char *tenant_id,
    const struct store_key *old, int64_t now)
{
	int64_t nb = 0, na = 0;

	if (old->cert_pem == NULL)
		return 0;
	if (ca_cert_pem_info(old->cert_pem, NULL, &nb, &na, NULL) != 0)
		return SN_ERR_INTERNAL;
	return store_key_archive_cert(c, tenant_id, old->id, nb, na, now);
}

static int
keys_renew(struct sn_request *req, struct sn_response *resp)
{
	struct store_key k, nk;
	struct store_ca issuing, root;
	struct db_conn *c = NULL;
	EVP_PKEY *pub = NULL;
	json_t *d = NULL;
	int have_root = 0, r;

	memset(&k, 0, sizeof(k));
	memset(&nk, 0, sizeof(nk));
	memset(&issuing, 0, sizeof(issuing));
	memset(&root, 0, sizeof(root));
	if ((r = load(req, resp, AUTHZ_KEY_MANAGE, &k, &issuing, &root,
	    &have_root)) != 0)
		goto out;
	if (strcmp(k.ca_mode, "builtin") != 0) {
		r = api_error(resp, SN_ERR_CONFLICT, "key %s/%s has no built-in "
		    "CA certificate to renew (ca %s: use key csr and import-cert)",
		    k.project_name, k.name, k.ca_mode);
		goto out;
	}
	if (k.cert_pem == NULL || (r = pem_read_x509_pubkey(k.cert_pem,
	    strlen(k.cert_pem), &pub)) != 0) {
		r = api_error(resp, SN_ERR_INTERNAL, "the key's certificate is "
		    "unreadable");
		goto out;
	}
	memcpy(nk.id, k.id, sizeof(nk.id));
	nk.version = k.version;
	if ((nk.subject = strdup(k.subject != NULL ? k.subject : "")) == NULL) {
		r = api_error(resp, SN_ERR_INTERNAL, "out of memory");
		goto out;
	}
	if ((r = new_validity(req, resp, &issuing, 1, &nk)) != 0 ||
	    (r = keys_issue_builtin(req, resp, &issuing, have_root ? &root : NULL,
	    pub, &nk)) != 0)
		goto out;
	d = json_pack("{s:s,s:s,s:I,s:s?,s:s?,s:o}", "name", k.name, "project",
	    k.project_id, "version", (json_int_t)k.version, "old_serial",
	    k.cert_serial, "certificate_serial", nk.cert_serial, "not_after",
	    store_time_json(nk.not_after));
	if ((r = api_conn(req, resp, &c)) != 0 || (r = api_begin(c, resp)) != 0)
		goto out;
	if ((r = archive_current(c, req->actor.tenant_id, &k, sn_now())) != 0 ||
	    (r = store_key_renew(c, req->actor.tenant_id, &nk)) != 0) {
		r = r == SN_ERR_CONFLICT ? api_error(resp, r, "key %s/%s was "
		    "revoked or rotated meanwhile", k.project_name, k.name) :
		    api_store_error(resp, r, "key");
		goto out;
	}
	if ((r = audit_req(c, req, "key.renew", "key", k.id, "ok", d)) != 0) {
		r = api_store_error(resp, r, "audit event");
		goto out;
	}
	if ((r = api_commit(c, resp)) != 0)
		goto out;
	db_release(c);
	c = NULL;
	r = reply_key(req, resp, 200);
 out:
	if (r != 0)
		refused(req, resp, &c, "key.renew", k.id[0] != '\0' ? k.id :
		    req->params[0], d);
	json_decref(d);
	EVP_PKEY_free(pub);
	store_key_clear(&k);
	store_key_clear(&nk);
	store_ca_clear(&issuing);
	store_ca_clear(&root);
	db_release(c);
	return r;
}

static int
keys_rotate(struct sn_request *req, struct sn_response *resp)
{
	struct store_key k, nk;
	struct store_ca issuing, root;
	struct db_conn *c = NULL;
	EVP_PKEY *pub = NULL;
	enum sn_key_alg alg;
	uint8_t old_id[KEEPER_ID_LEN], *spki = NULL;
	struct keygen_run g;
	size_t spki_len = 0;
	char *old_hex = NULL;
	json_t *d = NULL;
	int64_t now = sn_now(), started = 0;
	int have_root = 0, builtin, r, r2;

	memset(&g, 0, sizeof(g));
	memset(&k, 0, sizeof(k));
	memset(&nk, 0, sizeof(nk));
	memset(&issuing, 0, sizeof(issuing));
	memset(&root, 0, sizeof(root));
	if ((r = load(req, resp, AUTHZ_KEY_MANAGE, &k, &issuing, &root,
	    &have_root)) != 0)
		goto out;
	builtin = strcmp(k.ca_mode, "builtin") == 0;
	if ((alg = sn_key_alg_from_name(k.algorithm)) == SN_ALG_NONE ||
	    hsm_signer_key_id(k.hsm_key_id, old_id) != 0) {
		r = api_error(resp, SN_ERR_INTERNAL, "unreadable key row");
		goto out;
	}
	memcpy(nk.id, k.id, sizeof(nk.id));
	nk.version = k.version + 1;
	if ((nk.subject = strdup(k.subject != NULL ? k.subject : "")) == NULL) {
		r = api_error(resp, SN_ERR_INTERNAL, "out of memory");
		goto out;
	}
	if ((r = new_validity(req, resp, &issuing, builtin, &nk)) != 0)
		goto out;
	if ((r = sn_hex_encode(old_id, sizeof(old_id), &old_hex)) != 0) {
		r = api_error(resp, SN_ERR_INTERNAL, "could not make an HSM id");
		goto out;
	}
	/*
	 * As for a new key (keys.c, keygen.c): the new CKA_ID is committed to
	 * hsm_pending first, so a crash before the rotation commits leaves
	 * nothing in the HSM after the next start's sweep; generation holds
	 * no pooled connection and takes the tenant's generation slot.
	 */
	if ((r = keygen_begin(req, resp, &c, alg, &nk, &g, &spki,
	    &spki_len)) != 0)
		goto out;
	keygen_leave(req->actor.tenant_id);
	g.gate = 0;
	if ((r = ca_pem_from_spki(spki, spki_len, &nk.public_key_pem)) != 0 ||
	    (r = ca_pubkey_from_spki(spki, spki_len, &pub)) != 0) {
		r = api_error(resp, SN_ERR_INTERNAL, "unreadable public key "
		    "from the HSM");
		goto out;
	}
	/* External CA: the new version waits for its certificate (csr,
	 * import-cert); none: there is none. */
	if (builtin && (r = keys_issue_builtin(req, resp, &issuing,
	    have_root ? &root : NULL, pub, &nk)) != 0)
		goto out;
	d = json_pack("{s:s,s:s,s:I,s:I,s:s?,s:s?}", "name", k.name, "project",
	    k.project_id, "from_version", (json_int_t)k.version, "version",
	    (json_int_t)nk.version, "old_serial", k.cert_serial,
	    "certificate_serial", nk.cert_serial);
	if ((r = api_conn(req, resp, &c)) != 0 || (r = api_begin(c, resp)) != 0)
		goto out;
	if ((r = store_key_version_started(c, k.id, k.created_at,
	    &started)) != 0 ||
	    (r = archive_current(c, req->actor.tenant_id, &k, now)) != 0 ||
	    (r = store_key_archive_version(c, req->actor.tenant_id, &k, started,
	    now)) != 0 ||
	    (r = store_key_rotate(c, req->actor.tenant_id, &nk)) != 0) {
		r = r == SN_ERR_CONFLICT ? api_error(resp, r, "key %s/%s was "
		    "revoked or rotated meanwhile", k.project_name, k.name) :
		    api_store_error(resp, r, "key");
		goto out;
	}
	/* The new key is owned by the row now; the old one becomes pending
	 * in the same transaction, so that a crash before it is destroyed
	 * below still destroys it at the next start. */
	if ((r = keygen_pending_done(c, g.hex)) != 0 ||
	    (r = keygen_pending_add(c, req->actor.tenant_id, k.id,
	    old_hex)) != 0) {
		r = r == SN_ERR_NOT_FOUND ? api_error(resp, SN_ERR_CONFLICT,
		    "the unfinished HSM key was reclaimed by a starting "
		    "instance; rotate again") : api_store_error(resp, r, "key");
		goto out;
	}
	if ((r = audit_req(c, req, "key.rotate", "key", k.id, "ok", d)) != 0) {
		r = api_store_error(resp, r, "audit event");
		goto out;
	}
	if ((r = api_commit(c, resp)) != 0)
		goto out;
	g.made = g.pending = 0;	/* the row owns the new HSM key */
	db_release(c);
	c = NULL;
	/* The old version never signs again: its private key goes. */
	if ((r2 = keeper_destroy(req->srv->keeper, old_id)) != 0 &&
	    r2 != SN_ERR_NOT_FOUND)
		fprintf(stderr, "signetd: key %s rotated, but the HSM key of "
		    "version %lld could not be destroyed (the next start "
		    "retries): %s\n", k.id, (long long)k.version,
		    sn_strerror(r2));
	else if (db_acquire(req->srv->db, &c) == 0) {
		if (keygen_pending_done(c, old_hex) != 0)
			fprintf(stderr, "signetd: hsm_pending row %s left for "
			    "the next start\n", old_hex);
		db_release(c);
		c = NULL;
	}
	r = reply_key(req, resp, 200);
 out:
	if (g.gate)
		keygen_leave(req->actor.tenant_id);
	if (g.made) {
		if (c != NULL)
			db_rollback(c);
		if ((r2 = keeper_destroy(req->srv->keeper, g.id)) != 0 &&
		    r2 != SN_ERR_NOT_FOUND)
			/* the pending row stays: the next start destroys it */
			fprintf(stderr, "signetd: key rotation failed and the new "
			    "HSM key %s could not be destroyed: %s\n",
			    g.hex != NULL ? g.hex : "?", sn_strerror(r2));
		else
			g.made = 0;
	}
	if (g.pending && !g.made) {
		if (c == NULL && db_acquire(req->srv->db, &c) != 0)
			c = NULL;
		if (c != NULL && keygen_pending_done(c, g.hex) != 0)
			fprintf(stderr, "signetd: hsm_pending row %s left for "
			    "the next start\n", g.hex);
	}
	if (r != 0)
		refused(req, resp, &c, "key.rotate", k.id[0] != '\0' ? k.id :
		    req->params[0], d);
	json_decref(d);
	EVP_PKEY_free(pub);
	free(spki);
	free(g.hex);
	free(old_hex);
	store_key_clear(&k);
	store_key_clear(&nk);
	store_ca_clear(&issuing);
	store_ca_clear(&root);
	db_release(c);
	return r;
}

static int
keys_versions(struct sn_request *req, struct sn_response *resp)
{
	struct store_key k;
	struct db_conn *c = NULL;
	json_t *certs = NULL, *vers = NULL, *cur;
	int64_t started = 0;
	int have_root = 0, r;

	memset(&k, 0, sizeof(k));
	if ((r = load(req, resp, AUTHZ_KEY_VIEW, &k, NULL, NULL,
	    &have_root)) != 0)
		goto out;
	if ((r = api_conn(req, resp, &c)) != 0)
		goto out;
	if ((r = store_key_history(c, req->actor.tenant_id, k.id, &certs,
	    &vers)) != 0 ||
	    (r = store_key_version_started(c, k.id, k.created_at,
	    &started)) != 0) {
		r = api_store_error(resp, r, "key");
		goto out;
	}
	if ((cur = json_pack("{s:I,s:s?,s:o,s:n,s:b}", "version",
	    (json_int_t)k.version, "public_key", k.public_key_pem, "created_at",
	    store_time_json(started), "retired_at", "current", 1)) == NULL ||
	    json_array_append_new(vers, cur) != 0) {
		r = api_error(resp, SN_ERR_INTERNAL, "out of memory");
		goto out;
	}
	if (k.cert_pem != NULL) {
		int64_t nb = 0, na = 0;

		(void)ca_cert_pem_info(k.cert_pem, NULL, &nb, &na, NULL);
		if ((cur = json_pack("{s:I,s:s?,s:s,s:s?,s:o,s:o,s:n,s:b}",
		    "version", (json_int_t)k.version, "serial", k.cert_serial,
		    "certificate", k.cert_pem, "chain_pem", k.chain_pem,
		    "not_before", store_time_json(nb), "not_after",
		    store_time_json(na), "replaced_at", "current", 1)) == NULL ||
		    json_array_append_new(certs, cur) != 0) {
			r = api_error(resp, SN_ERR_INTERNAL, "out of memory");
			goto out;
		}
	}
	r = api_json(resp, 200, json_pack("{s:s,s:I,s:O,s:O}", "key_id", k.id,
	    "current_version", (json_int_t)k.version, "versions", vers,
	    "certificates", certs));
 out:
	json_decref(certs);
	json_decref(vers);
	store_key_clear(&k);
	db_release(c);
	return r;
}

const struct api_route api_routes_key_versions[] = {
	{ "POST", "/v1/keys/{id}/renew", keys_renew, API_AUTH },
	{ "POST", "/v1/keys/{id}/rotate", keys_rotate, API_AUTH },
	{ "GET", "/v1/keys/{id}/versions", keys_versions, API_AUTH },
	{ NULL, NULL, NULL, API_PUBLIC },
};
