/*
 * ca.c - /v1/ca: the tenant's certificate authorities and their CRLs.
 *
 * CA certificates are public information (verifiers must trust the root),
 * so any authenticated caller of the tenant may read them; there is no
 * permission rule beyond "same tenant", which the store enforces. The CRL
 * endpoint is public (relying parties fetch it without credentials) and
 * names the CA by id only.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "audit.h"
#include "crl.h"
#include "db.h"
#include "err.h"
#include "hsm_signer.h"
#include "pem.h"
#include "render.h"
#include "server.h"
#include "store_resources.h"
#include "util.h"

#define CRL_LIFETIME	(7LL * 86400)

static int
ca_list(struct sn_request *req, struct sn_response *resp)
{
	struct db_conn *c = NULL;
	struct store_ids ids = { NULL, 0 };
	struct store_ca ca;
	json_t *arr = NULL, *cj;
	size_t i;
	int r;

	memset(&ca, 0, sizeof(ca));
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	if ((r = store_ca_list(c, req->actor.tenant_id, &ids)) != 0 ||
	    (arr = json_array()) == NULL) {
		r = api_store_error(resp, r != 0 ? r : SN_ERR_NOMEM, "CA");
		goto out;
	}
	for (i = 0; i < ids.n; i++) {
		if ((r = store_ca_get(c, req->actor.tenant_id, ids.v[i], &ca)) != 0 ||
		    (r = render_ca(&ca, &cj)) != 0) {
			r = api_store_error(resp, r, "CA");
			goto out;
		}
		store_ca_clear(&ca);
		json_array_append_new(arr, cj);
	}
	r = api_json(resp, 200, json_pack("{s:o}", "cas", arr));
	arr = NULL;
 out:
	store_ca_clear(&ca);
	json_decref(arr);
	store_ids_free(&ids);
	db_release(c);
	return r;
}

static int
ca_show(struct sn_request *req, struct sn_response *resp)
{
	struct db_conn *c = NULL;
	struct store_ca ca;
	json_t *cj = NULL;
	int r;

	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	if ((r = store_ca_get(c, req->actor.tenant_id, req->params[0], &ca)) != 0 ||
	    (r = render_ca(&ca, &cj)) != 0)
		r = api_store_error(resp, r, "CA");
	else
		r = api_json(resp, 200, json_pack("{s:o}", "ca", cj));
	store_ca_clear(&ca);
	db_release(c);
	return r;
}

/*
 * GET /v1/ca/{id}/crl: a CRL (DER) of the certificates this CA issued to
 * keys that are now revoked. Each newly built CRL gets the next crlNumber;
 * within CRL_CACHE_TTL and without a revocation the same CRL is served.
 */
static int
ca_crl(struct sn_request *req, struct sn_response *resp)
{
	struct db_conn *c = NULL;
	struct store_ca ca;
	struct store_ids serials = { NULL, 0 };
	struct ca_revoked *rev = NULL;
	struct hsm_signer hs;
	struct ca_signer signer;
	EVP_PKEY *pub = NULL;
	uint8_t *der = NULL;
	size_t derlen = 0, nrev = 0;
	int64_t number = 0, now = sn_now();
	uint64_t gen = 0;
	int r;

	memset(&ca, 0, sizeof(ca));
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	if ((r = store_ca_get(c, NULL, req->params[0], &ca)) != 0) {
		r = api_store_error(resp, r, "CA");
		goto out;
	}
	if (crl_cache_get(ca.id, now, &der, &derlen))
		goto reply;
	/* Read the generation before the revoked list: a revocation that
	 * commits in between makes this CRL stale at once. */
	gen = crl_generation_now();
	if ((r = store_key_revoked_for_ca(c, ca.id, &rev, &serials,
	    &nrev)) != 0) {
		r = api_store_error(resp, r, "CA");
		goto out;
	}
	if ((r = api_begin(c, resp)) != 0)
		goto out;
	if ((r = store_ca_next_crl_number(c, ca.id, &number)) != 0) {
		r = api_store_error(resp, r, "CA");
		goto out;
	}
	if ((r = api_commit(c, resp)) != 0)
		goto out;
	/* The CA key signs in the HSM: no pooled connection held. */
	db_release(c);
	c = NULL;
	if ((r = pem_read_x509_pubkey(ca.cert_pem, strlen(ca.cert_pem), &pub)) != 0) {
		r = api_error(resp, SN_ERR_INTERNAL, "unreadable CA certificate");
		goto out;
	}
	if ((r = hsm_signer_init(req->srv->keeper, ca.hsm_key_id, pub, &hs,
	    &signer)) != 0) {
		r = api_keeper_error(resp, r, "CRL signing");
		goto out;
	}
	if ((r = ca_make_crl(&signer, ca.cert_pem, rev, nrev, number, now,
	    now + CRL_LIFETIME, &der, &derlen)) != 0) {
		if (r == SN_ERR_UNAVAILABLE || r == SN_ERR_HSM ||
		    r == SN_ERR_NOT_FOUND)
			r = api_keeper_error(resp, r, "CRL signing");
		else
			r = api_error(resp, SN_ERR_CRYPTO, "could not build the "
			    "CRL");
		goto out;
	}
	crl_cache_put(ca.id, now, gen, der, derlen);
 reply:
	r = api_raw(resp, 200, "application/pkix-crl", (char *)der, derlen);
	der = NULL;
 out:
	free(der);
	free(rev);
	store_ids_free(&serials);
	EVP_PKEY_free(pub);
	store_ca_clear(&ca);
	db_release(c);
	return r;
}

const struct api_route api_routes_ca[] = {
	{ "GET", "/v1/ca", ca_list, API_AUTH },
	{ "GET", "/v1/ca/{id}", ca_show, API_AUTH },
	{ "GET", "/v1/ca/{id}/crl", ca_crl, API_PUBLIC },
	{ NULL, NULL, NULL, API_PUBLIC },
};

const struct api_route api_routes_ca_public[] = {
	{ "GET", "/v1/ca/{id}/crl", ca_crl, API_PUBLIC },
	{ NULL, NULL, NULL, API_PUBLIC },
};
