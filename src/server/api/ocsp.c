/*
 * ocsp.c - POST /ocsp/{ca}: the RFC 6960 OCSP responder of each built-in
 * CA (public, on the HTTPS and the plain-HTTP listener). The leaf
 * certificates name it in their authorityInfoAccess.
 *
 * Answers are built and signed by ca_ocsp.c with the CA's HSM key. Each
 * certificate's status is read with a connection of its own that is
 * released before the HSM signs. Replies to requests without a nonce are
 * the same for everybody, so they are cached for ocsp_cache_ttl seconds
 * (default 60); every revocation in this process drops the cache at once,
 * like the CRL cache in ca.c.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "api.h"
#include "db.h"
#include "err.h"
#include "crl.h"
#include "hsm_signer.h"
#include "keys.h"
#include "pem.h"
#include "render.h"
#include "server.h"
#include "util.h"

#define OCSP_CACHE_SLOTS	64
#define OCSP_NEXT_UPDATE	3600	/* seconds a client may rely on an answer */

static pthread_mutex_t ocsp_mu = PTHREAD_MUTEX_INITIALIZER;
static struct ocsp_slot {
	uint8_t key[32];		/* SHA-256 of CA id and request */
	uint8_t *der;
	size_t len;
	int64_t made;
	uint64_t generation;
} ocsp_cache[OCSP_CACHE_SLOTS];

static void
cache_key(const char *ca_id, const uint8_t *req, size_t len, uint8_t key[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	memset(key, 0, 32);
	if (ctx == NULL)
		return;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, ca_id, strlen(ca_id) + 1) != 1 ||
	    EVP_DigestUpdate(ctx, req, len) != 1 ||
	    EVP_DigestFinal_ex(ctx, key, NULL) != 1)
		memset(key, 0, 32);
	EVP_MD_CTX_free(ctx);
}

static int
cache_get(const uint8_t key[32], int64_t now, int ttl, uint8_t **der,
    size_t *len)
{
	uint64_t gen = crl_generation_now();
	int found = 0;

	*der = NULL;
	*len = 0;
	pthread_mutex_lock(&ocsp_mu);
	for (size_t i = 0; i < OCSP_CACHE_SLOTS && !found; i++) {
		struct ocsp_slot *sl = &ocsp_cache[i];

		if (sl->der == NULL || memcmp(sl->key, key, 32) != 0)
			continue;
		if (sl->generation == gen && now >= sl->made &&
		    now - sl->made < ttl &&
		    (*der = malloc(sl->len)) != NULL) {
			memcpy(*der, sl->der, sl->len);
			*len = sl->len;
			found = 1;
		}
		break;
	}
	pthread_mutex_unlock(&ocsp_mu);
	return found;
}

static void
cache_put(const uint8_t key[32], int64_t now, uint64_t gen, const uint8_t *der,
    size_t len)
{
	struct ocsp_slot *sl = NULL;
	uint8_t *copy;
	size_t i;

	if ((copy = malloc(len)) == NULL)
		return;
	memcpy(copy, der, len);
	pthread_mutex_lock(&ocsp_mu);
	for (i = 0; i < OCSP_CACHE_SLOTS && sl == NULL; i++)
		if (ocsp_cache[i].der == NULL ||
		    memcmp(ocsp_cache[i].key, key, 32) == 0)
			sl = &ocsp_cache[i];
	if (sl == NULL) {		/* full: replace the oldest */
		sl = &ocsp_cache[0];
		for (i = 1; i < OCSP_CACHE_SLOTS; i++)
			if (ocsp_cache[i].made < sl->made)
				sl = &ocsp_cache[i];
	}
	free(sl->der);
	memcpy(sl->key, key, 32);
	sl->der = copy;
	sl->len = len;
	sl->made = now;
	sl->generation = gen;
	pthread_mutex_unlock(&ocsp_mu);
}

struct lookup_ctx {
	struct sn_server *srv;
	const char *ca_id;
};

static int
lookup_status(void *arg, const char *serial_hex, struct ca_cert_state *out)
{
	struct lookup_ctx *lc = arg;
	struct store_cert_status st;
	struct db_conn *c = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = db_acquire(lc->srv->db, &c)) != 0)
		return r;
	r = store_key_cert_status(c, lc->ca_id, serial_hex, &st);
	db_release(c);
	if (r != 0)
		return r;
	if (!st.found)
		out->status = CA_CERT_UNKNOWN;
	else if (!st.revoked)
		out->status = CA_CERT_GOOD;
	else {
		out->status = CA_CERT_REVOKED;
		out->revoked_at = st.revoked_at;
		out->reason = ca_reason_from_name(st.reason);
		out->invalidity_date = st.compromised_at;
	}
	return 0;
}

static int
ocsp_raw(struct sn_response *resp, int status, uint8_t *der, size_t len)
{
	return api_raw(resp, status, "application/ocsp-response", (char *)der,
	    len);
}

static int
is_ocsp_request(const char *ct)
{
	static const char want[] = "application/ocsp-request";
	size_t n = sizeof(want) - 1;

	return ct != NULL && strncasecmp(ct, want, n) == 0 &&
	    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static int
ocsp_answer(struct sn_request *req, struct sn_response *resp)
{
	struct db_conn *c = NULL;
	struct store_ca ca;
	struct hsm_signer hs;
	struct ca_signer signer;
	struct lookup_ctx lc;
	EVP_PKEY *pub = NULL;
	uint8_t *der = NULL, key[32];
	size_t len = 0;
	int64_t now = sn_now();
	uint64_t gen;
	int r, nonce = 0, ttl = req->srv->cfg.ocsp_cache_ttl;

	memset(&ca, 0, sizeof(ca));
	if (!is_ocsp_request(req->content_type))
		return api_error(resp, SN_ERR_INVALID, "Content-Type must be "
		    "application/ocsp-request");
	if (req->raw_body == NULL || req->raw_len == 0)
		return api_error(resp, SN_ERR_INVALID, "empty OCSP request");
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	r = store_ca_get(c, NULL, req->params[0], &ca);
	db_release(c);
	if (r != 0)
		return api_store_error(resp, r, "CA");
	cache_key(ca.id, req->raw_body, req->raw_len, key);
	if (ttl > 0 && cache_get(key, now, ttl, &der, &len)) {
		r = ocsp_raw(resp, 200, der, len);
		der = NULL;
		goto out;
	}
	gen = crl_generation_now();
	if ((r = pem_read_x509_pubkey(ca.cert_pem, strlen(ca.cert_pem), &pub)) != 0 ||
	    (r = hsm_signer_init(req->srv->keeper, ca.hsm_key_id, pub, &hs,
	    &signer)) != 0) {
		r = api_keeper_error(resp, r, "the CA key");
		goto out;
	}
	lc.srv = req->srv;
	lc.ca_id = ca.id;
	r = ca_ocsp_respond(&signer, ca.cert_pem, req->raw_body, req->raw_len,
	    lookup_status, &lc, now, now + OCSP_NEXT_UPDATE, &der, &len,
	    &nonce);
	if (r == SN_ERR_INVALID) {
		/* RFC 6960's own answer for it, with a 400. */
		if (ca_ocsp_error_response(1, &der, &len) != 0)
			r = api_error(resp, r, "not a DER OCSPRequest");
		else {
			r = ocsp_raw(resp, 400, der, len);
			der = NULL;
		}
		goto out;
	}
	if (r == SN_ERR_UNAVAILABLE || r == SN_ERR_HSM ||
	    r == SN_ERR_NOT_FOUND) {
		r = api_keeper_error(resp, r, "OCSP signing");
		goto out;
	}
	if (r != 0) {
		r = api_store_error(resp, r, "OCSP response");
		goto out;
	}
	if (!nonce && ttl > 0)
		cache_put(key, now, gen, der, len);
	r = ocsp_raw(resp, 200, der, len);
	der = NULL;
 out:
	free(der);
	EVP_PKEY_free(pub);
	store_ca_clear(&ca);
	return r;
}

const struct api_route api_routes_ocsp[] = {
	{ "POST", "/ocsp/{ca}", ocsp_answer, API_PUBLIC_RAW },
	{ NULL, NULL, NULL, API_PUBLIC },
};
