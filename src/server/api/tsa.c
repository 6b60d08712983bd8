/*
 * tsa.c - each tenant's RFC 3161 timestamping authority.
 *
 *   POST /tsa/{tenant}   public, as TSAs are: application/timestamp-query
 *                        in, application/timestamp-reply out (also served
 *                        by the plain-HTTP listener, --http-listen)
 *   GET  /v1/tsa         the caller's tenant: URLs, policy, certificates
 *
 * The TSA key is an ECDSA P-384 key generated in the HSM the first time the
 * tenant's TSA is needed; its certificate (extendedKeyUsage timeStamping,
 * critical) comes from the tenant's built-in issuing CA. Tokens are built
 * by OpenSSL (ca_tsa.c) and signed through the keeper; no database
 * connection is held while the HSM works. Every token issued is an audit
 * event (tsa.timestamp) in the tenant's chain, committed before the reply.
 * The public endpoint is rate limited per client address (tsa_rate_limit
 * requests a minute, counted by the HTTP layer for API_PUBLIC_RAW routes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "audit.h"
#include "db.h"
#include "encode.h"
#include "err.h"
#include "crl.h"
#include "hsm_signer.h"
#include "keys.h"
#include "pem.h"
#include "render.h"
#include "server.h"
#include "store.h"
#include "util.h"

#define TSA_YEARS	5
#define YEAR		(365LL * 86400)

/* The default policy when tsa_policy is not configured (a 2.25 UUID OID). */
#define TSA_DEFAULT_POLICY "2.25.208702915453401374411335219358934513441"

/* The tenant's TSA certificate chain: issuing CA, then its root. */
static int
tsa_chain(struct db_conn *c, const char *tenant_id, struct store_ca *issuing,
    char **chain)
{
	struct store_ca root;
	int r;

	*chain = NULL;
	memset(&root, 0, sizeof(root));
	if ((r = store_ca_get_issuing(c, tenant_id, issuing)) != 0)
		return r;
	if (issuing->parent_id[0] != '\0' &&
	    (r = store_ca_get(c, tenant_id, issuing->parent_id, &root)) != 0)
		goto out;
	if (asprintf(chain, "%s%s", issuing->cert_pem,
	    root.cert_pem != NULL ? root.cert_pem : "") < 0) {
		*chain = NULL;
		r = SN_ERR_NOMEM;
		goto out;
	}
	r = 0;
 out:
	store_ca_clear(&root);
	return r;
}

/*
 * Makes the tenant's TSA: key in the HSM, certificate from the issuing CA,
 * row inserted. Holds no database connection while the HSM works; if
 * another request created the TSA meanwhile, destroys its own key and
 * keeps the other.
 */
static int
tsa_create(struct sn_server *srv, const char *tenant_id,
    const char *tenant_name, const struct store_ca *issuing)
{
	struct hsm_signer hs;
	struct ca_signer signer;
	struct store_tsa t;
	struct db_conn *c = NULL;
	EVP_PKEY *ca_pub = NULL, *pub = NULL;
	uint8_t id[KEEPER_ID_LEN], *spki = NULL;
	size_t spki_len = 0;
	char *hex = NULL, *url = NULL, *dn = NULL;
	int64_t now = sn_now(), na = now + TSA_YEARS * YEAR, ca_na = 0;
	int r, made = 0;

	memset(&t, 0, sizeof(t));
	if (srv->keeper == NULL)
		return SN_ERR_UNAVAILABLE;
	if ((r = ca_cert_pem_info(issuing->cert_pem, NULL, NULL, &ca_na,
	    NULL)) != 0)
		return SN_ERR_INTERNAL;
	if (ca_na < na)
		na = ca_na;	/* never outlive the issuer */
	if (asprintf(&dn, "CN=Signet Timestamping Authority%s%s",
	    api_valid_name(tenant_name) ? ", O=" : "",
	    api_valid_name(tenant_name) ? tenant_name : "") < 0) {
		dn = NULL;
		return SN_ERR_NOMEM;
	}
	if ((r = keeper_generate(srv->keeper, SN_ALG_ECDSA_P384, "signet-tsa",
	    id, &spki, &spki_len)) != 0)
		goto out;
	made = 1;
	if ((r = sn_hex_encode(id, sizeof(id), &hex)) != 0 ||
	    (r = ca_pubkey_from_spki(spki, spki_len, &pub)) != 0 ||
	    (r = pem_read_x509_pubkey(issuing->cert_pem, strlen(issuing->cert_pem), &ca_pub)) != 0 ||
	    (r = hsm_signer_init(srv->keeper, issuing->hsm_key_id, ca_pub, &hs,
	    &signer)) != 0 ||
	    (r = crl_url(srv, issuing->id, &url)) != 0)
		goto out;
	if ((r = ca_issue_tsa(&signer, issuing->cert_pem, pub, dn, now, na,
	    url, NULL, &t.cert_pem, NULL)) != 0)
		goto out;
	if ((r = store_copy(t.tenant_id, sizeof(t.tenant_id), tenant_id)) != 0 ||
	    (r = store_copy(t.hsm_key_id, sizeof(t.hsm_key_id), hex)) != 0 ||
	    (r = store_copy(t.algorithm, sizeof(t.algorithm),
	    "ecdsa-p384")) != 0)
		goto out;
	t.created_at = now;
	if ((r = db_acquire(srv->db, &c)) != 0 || (r = db_begin(c)) != 0)
		goto out;
	{
		struct audit_event ev = { tenant_id, "system", "", "tsa.create",
		    "tsa", tenant_id, "ok", NULL, "" };

		if ((r = store_tsa_insert(c, &t)) != 0 ||
		    (r = audit_append(c, &ev)) != 0 ||
		    (r = db_commit(c)) != 0)
			goto out;
	}
	made = 0;		/* it is the TSA now */
	r = 0;
 out:
	if (made && keeper_destroy(srv->keeper, id) != 0)
		fprintf(stderr, "signetd: could not destroy an unused TSA key "
		    "%s\n", hex != NULL ? hex : "?");
	db_release(c);
	store_tsa_clear(&t);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(ca_pub);
	free(spki);
	free(hex);
	free(url);
	free(dn);
	return r;
}

/*
 * The tenant's TSA and its chain (issuing CA + root), made on first use.
 * Opens and releases its own connections.
 */
static int
tsa_load(struct sn_server *srv, const struct store_tenant *tn,
    struct store_tsa *t, char **chain)
{
	struct db_conn *c = NULL;
	struct store_ca issuing;
	int r, tries;

	*chain = NULL;
	memset(&issuing, 0, sizeof(issuing));
	for (tries = 0; tries < 2; tries++) {
		store_ca_clear(&issuing);
		free(*chain);
		*chain = NULL;
		if ((r = db_acquire(srv->db, &c)) != 0)
			return r;
		if ((r = tsa_chain(c, tn->id, &issuing, chain)) != 0)
			goto out;
		r = store_tsa_get(c, tn->id, t);
		db_release(c);
		c = NULL;
		if (r != SN_ERR_NOT_FOUND)
			goto out;
		/* First use: a racing creator wins with SN_ERR_CONFLICT. */
		r = tsa_create(srv, tn->id, tn->name, &issuing);
		if (r != 0 && r != SN_ERR_CONFLICT)
			goto out;
	}
	r = SN_ERR_INTERNAL;
 out:
	db_release(c);
	store_ca_clear(&issuing);
	if (r != 0) {
		free(*chain);
		*chain = NULL;
		store_tsa_clear(t);
	}
	return r;
}

static const char *
tsa_policy(const struct sn_server *srv)
{
	return srv->cfg.tsa_policy != NULL && *srv->cfg.tsa_policy != '\0' ?
	    srv->cfg.tsa_policy : TSA_DEFAULT_POLICY;
}

/* base (trailing '/' dropped) + "/tsa/" + tenant id, or NULL if no base. */
static char *
tsa_url(const char *base, const char *tenant_id)
{
	char *u = NULL;
	size_t bl;

	if (base == NULL || *base == '\0')
		return NULL;
	bl = strlen(base);
	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	if (bl > 4096 || asprintf(&u, "%.*s/tsa/%s", (int)bl, base,
	    tenant_id) < 0)
		return NULL;
	return u;
}

/* The errors of tsa_load / the signer as API errors. */
static int
tsa_error(struct sn_response *resp, int r)
{
	if (r == SN_ERR_NOT_FOUND)
		return api_error(resp, r, "this tenant has no built-in CA to "
		    "certify a TSA");
	if (r == SN_ERR_UNAVAILABLE || r == SN_ERR_HSM)
		return api_keeper_error(resp, r, "the TSA key");
	return api_store_error(resp, r, "TSA");
}

static int
tsa_show(struct sn_request *req, struct sn_response *resp)
{
	struct db_conn *c = NULL;
	struct store_tenant tn;
	struct store_tsa t;
	json_t *chain_arr = NULL, *body;
	char *chain = NULL, *url = NULL, *http_url = NULL;
	int r;

	memset(&t, 0, sizeof(t));
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	r = store_tenant_get(c, req->actor.tenant_id, &tn);
	db_release(c);
	if (r != 0)
		return api_store_error(resp, r, "tenant");
	if ((r = tsa_load(req->srv, &tn, &t, &chain)) != 0) {
		r = tsa_error(resp, r);
		goto out;
	}
	if ((r = pem_cert_blocks(chain, &chain_arr)) != 0) {
		r = api_error(resp, SN_ERR_INTERNAL, "unreadable CA chain");
		goto out;
	}
	url = tsa_url(req->srv->cfg.public_url, tn.id);
	http_url = tsa_url(req->srv->cfg.http_public_url, tn.id);
	body = json_pack("{s:{s:s,s:s?,s:s?,s:s,s:s,s:s,s:o,s:o}}", "tsa",
	    "tenant_id", tn.id, "url", url, "http_url", http_url,
	    "policy", tsa_policy(req->srv), "algorithm", t.algorithm,
	    "certificate", t.cert_pem, "chain", chain_arr,
	    "created_at", store_time_json(t.created_at));
	chain_arr = NULL;
	r = api_json(resp, 200, body);
 out:
	json_decref(chain_arr);
	store_tsa_clear(&t);
	free(chain);
	free(url);
	free(http_url);
	return r;
}

/* "application/timestamp-query", optionally with parameters. */
static int
is_ts_query(const char *ct)
{
	static const char want[] = "application/timestamp-query";
	size_t n = sizeof(want) - 1;

	return ct != NULL && strncasecmp(ct, want, n) == 0 &&
	    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* The issued token in the tenant's audit chain, before the reply leaves. */
static int
tsa_audit(struct sn_request *req, const char *tenant_id, const char *serial)
{
	struct db_conn *c = NULL;
	json_t *d = json_pack("{s:s}", "serial", serial != NULL ? serial : "");
	struct audit_event ev = { tenant_id, "anonymous", "", "tsa.timestamp",
	    "tsa", tenant_id, "ok", d, req->source_ip };
	int r;

	if (d == NULL)
		return SN_ERR_NOMEM;
	if ((r = db_acquire(req->srv->db, &c)) == 0 &&
	    (r = db_begin(c)) == 0 && (r = audit_append(c, &ev)) == 0)
		r = db_commit(c);
	db_release(c);
	json_decref(d);
	return r;
}

static int
tsa_stamp(struct sn_request *req, struct sn_response *resp)
{
	struct db_conn *c = NULL;
	struct store_tenant tn;
	struct store_tsa t;
	struct hsm_signer hs;
	struct ca_signer signer;
	EVP_PKEY *pub = NULL;
	uint8_t *reply = NULL;
	size_t replylen = 0;
	char *chain = NULL, *serial = NULL;
	int r, granted = 0;

	memset(&t, 0, sizeof(t));
	if (!is_ts_query(req->content_type))
		return api_error(resp, SN_ERR_INVALID, "Content-Type must be "
		    "application/timestamp-query");
	if (req->raw_body == NULL || req->raw_len == 0)
		return api_error(resp, SN_ERR_INVALID, "empty timestamp query");
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	r = store_tenant_get(c, req->params[0], &tn);
	db_release(c);
	if (r != 0)
		return api_store_error(resp, r, "TSA");
	if ((r = tsa_load(req->srv, &tn, &t, &chain)) != 0) {
		r = tsa_error(resp, r);
		goto out;
	}
	if ((r = pem_read_x509_pubkey(t.cert_pem, strlen(t.cert_pem), &pub)) != 0 ||
	    (r = hsm_signer_init(req->srv->keeper, t.hsm_key_id, pub, &hs,
	    &signer)) != 0) {
		r = api_keeper_error(resp, r, "the TSA key");
		goto out;
	}
	r = ca_ts_reply(&signer, t.cert_pem, chain, tsa_policy(req->srv),
	    req->raw_body, req->raw_len, &reply, &replylen, &granted, &serial);
	if (r == SN_ERR_INVALID) {
		r = api_error(resp, r, "the body is not a DER TimeStampReq");
		goto out;
	}
	if (r == SN_ERR_UNAVAILABLE || r == SN_ERR_HSM ||
	    r == SN_ERR_NOT_FOUND) {
		r = api_keeper_error(resp, r, "timestamp signing");
		goto out;
	}
	if (r != 0) {
		r = api_error(resp, SN_ERR_CRYPTO, "could not build the "
		    "timestamp");
		goto out;
	}
	if (granted && (r = tsa_audit(req, tn.id, serial)) != 0) {
		r = api_store_error(resp, r, "audit event");
		goto out;
	}
	/* A refusal (bad imprint, unknown policy) is a signed-less
	 * TimeStampResp with status rejection: still the TSA's own format. */
	r = api_raw(resp, granted ? 200 : 400, "application/timestamp-reply",
	    (char *)reply, replylen);
	reply = NULL;
 out:
	free(reply);
	free(serial);
	free(chain);
	store_tsa_clear(&t);
	EVP_PKEY_free(pub);
	return r;
}

const struct api_route api_routes_tsa[] = {
	{ "POST", "/tsa/{tenant}", tsa_stamp, API_PUBLIC_RAW },
	{ "GET", "/v1/tsa", tsa_show, API_AUTH },
	{ NULL, NULL, NULL, API_PUBLIC },
};

/* The part the plain-HTTP listener serves. */
const struct api_route api_routes_tsa_public[] = {
	{ "POST", "/tsa/{tenant}", tsa_stamp, API_PUBLIC_RAW },
	{ NULL, NULL, NULL, API_PUBLIC },
};
