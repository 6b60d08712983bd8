/*
 * sign.c - POST /v1/keys/{id}/sign: the one endpoint that uses a signing
 * key. Digests in, signatures out; the private key stays in the HSM.
 *
 * Order of events, which is the point of this file:
 *   1. find the key in the caller's tenant (other tenants: 404);
 *   2. authz_check(AUTHZ_KEY_SIGN): authorized signers only;
 *   3. strict validation of the request (unknown fields, mechanism for the
 *      key's algorithm, digest algorithm and policy, base64, exact length,
 *      batch size) and of the key state (active, inside its validity);
 *   4. keeper_sign, or for a batch keeper_sign_many: the digests signed
 *      in parallel across the keeper's workers, all or none (holding no
 *      database connection);
 *   5. audit_sign_commit (audit/sign_commit.h): in one write transaction,
 *      shared with the tenant's other signers of the moment (group
 *      commit), the caller's credential, the signer link and the key's
 *      state and version are checked again with one statement (a
 *      revocation, disable, expiry, deletion, rotation or signer removal
 *      that committed while the HSM signed wins), and the "key.sign"
 *      audit event is COMMITTED;
 *   6. only then is the response with the signatures built.
 * If step 5 fails the signatures are wiped and the caller gets its
 * refusal (recorded in the same transaction) or a 5xx.
 * Every refusal in 1-4 is itself committed as an audit event ("denied",
 * or "error" for server faults) before the error is returned.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "audit.h"
#include "oauth_exchange.h"
#include "policies.h"
#include "prefer.h"
#include "db.h"
#include "encode.h"
#include "err.h"
#include "hsm_signer.h"
#include "metrics.h"
#include "sign_commit.h"
#include "render.h"
#include "server.h"
#include "sha256.h"
#include "util.h"

#define SIGN_DEFAULT_BATCH	64
#define SIGN_MAX_BATCH		1024	/* hard cap whatever the config says */
#define SIGN_CLIENT_FIELD_MAX	256
#define SIGN_B64_MAX		256	/* base64 of a 64-byte digest is 88 */

struct sign_item {
	uint8_t *digest;
	size_t dlen;
	uint8_t *sig;
	size_t siglen;
};

static int
add_signature_hashes(json_t *d, const struct sign_item *items, size_t n,
    int batch)
{
	uint8_t md[SN_SHA256_LEN];
	json_t *a = json_array();
	char *hex = NULL;

	if (a == NULL)
		return SN_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		if (sn_sha256(items[i].sig, items[i].siglen, md) != 0) {
			json_decref(a);
			return SN_ERR_CRYPTO;
		}
		if (sn_hex_encode(md, sizeof(md), &hex) != 0 ||
		    json_array_append_new(a, json_string(hex)) != 0) {
			free(hex);
			json_decref(a);
			return SN_ERR_NOMEM;
		}
		free(hex);
		hex = NULL;
	}
	if (batch)
		json_object_set(d, "signatures_sha256", a);
	else
		json_object_set(d, "signature_sha256", json_array_get(a, 0));
	json_decref(a);
	return 0;
}

/* "client": {"hostname","process","user"} (all optional strings). */
static int
get_client(struct sn_response *resp, json_t *body, json_t **out)
{
	static const char *const allowed[] = { "hostname", "process", "user",
	    NULL };
	json_t *cl = json_object_get(body, "client");
	const char *v;
	size_t i;
	int r;

	*out = NULL;
	if (cl == NULL || json_is_null(cl))
		return 0;
	if (!json_is_object(cl))
		return api_error(resp, SN_ERR_INVALID, "field 'client' must be "
		    "an object");
	if ((r = api_reject_unknown(resp, cl, allowed)) != 0)
		return r;
	for (i = 0; allowed[i] != NULL; i++)
		if ((r = api_get_string(resp, cl, allowed[i], 0,
		    SIGN_CLIENT_FIELD_MAX, &v)) != 0)
			return r;
	*out = json_deep_copy(cl);
	return 0;
}

static int
max_batch(const struct sn_server *srv)
{
	int m = srv->cfg.max_batch;

	if (m <= 0)
		m = SIGN_DEFAULT_BATCH;
	if (m > SIGN_MAX_BATCH)
		m = SIGN_MAX_BATCH;
	return m;
}

static int
decode_digest(struct sn_response *resp, json_t *v, size_t idx, int batch,
    enum sn_hash hash, struct sign_item *it)
{
	const char *s;
	size_t want = sn_hash_len(hash);

	if (!json_is_string(v))
		return batch ? api_error(resp, SN_ERR_INVALID, "digests[%zu] "
		    "must be a base64 string", idx) :
		    api_error(resp, SN_ERR_INVALID, "field 'digest' must be a "
		    "base64 string");
	s = json_string_value(v);
	if (json_string_length(v) > SIGN_B64_MAX ||
	    sn_b64_decode(s, json_string_length(v), &it->digest,
	    &it->dlen) != 0)
		return batch ? api_error(resp, SN_ERR_INVALID, "digests[%zu] is "
		    "not valid base64", idx) :
		    api_error(resp, SN_ERR_INVALID, "field 'digest' is not "
		    "valid base64");
	if (it->dlen != want)
		return batch ? api_error(resp, SN_ERR_INVALID, "digests[%zu] is "
		    "%zu bytes; %s digests are %zu bytes", idx, it->dlen,
		    sn_hash_name(hash), want) :
		    api_error(resp, SN_ERR_INVALID, "field 'digest' is %zu bytes; "
		    "%s digests are %zu bytes", it->dlen, sn_hash_name(hash),
		    want);
	return 0;
}

static void
items_free(struct sign_item *items, size_t n)
{
	for (size_t i = 0; items != NULL && i < n; i++) {
		free(items[i].digest);
		sn_freezero(items[i].sig, items[i].siglen);
	}
	free(items);
}

/*
 * A batch's digests, signed in parallel across the keeper's workers
 * (keeper_sign_many): all or none, the first failure the batch's.
 */
static int
sign_batch(struct keeper *kp, const uint8_t hsm_id[KEEPER_ID_LEN],
    enum sn_mech mech, enum sn_hash hash, struct sign_item *items, size_t n)
{
	const uint8_t **dg = NULL;
	size_t *dl = NULL, *sl = NULL, i;
	uint8_t **sg = NULL;
	int r = SN_ERR_NOMEM;

	if ((dg = calloc(n, sizeof(*dg))) == NULL ||
	    (dl = calloc(n, sizeof(*dl))) == NULL ||
	    (sg = calloc(n, sizeof(*sg))) == NULL ||
	    (sl = calloc(n, sizeof(*sl))) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		dg[i] = items[i].digest;
		dl[i] = items[i].dlen;
	}
	if ((r = keeper_sign_many(kp, hsm_id, mech, hash, dg, dl, n, sg,
	    sl)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		items[i].sig = sg[i];
		items[i].siglen = sl[i];
	}
	r = 0;
 out:
	free(dg);
	free(dl);
	free(sg);
	free(sl);
	return r;
}

int
api_keys_sign(struct sn_request *req, struct sn_response *resp)
{
	static const char *const allowed[] = { "mechanism", "digest_algorithm",
	    "digest", "digests", "client", NULL };
	struct sn_server *srv = req->srv;
	struct db_conn *c = NULL;
	struct store_key k;
	struct audit_sign sc;
	struct policies_commit pc;
	struct sign_item *items = NULL;
	size_t n = 0, i;
	const char *mechname = NULL, *hashname = NULL, *state;
	json_t *one, *many, *client = NULL, *d = NULL, *hexes = NULL,
	    *sigs = NULL, *body = NULL, *released = NULL;
	enum sn_key_alg alg;
	enum sn_mech mech;
	enum sn_hash hash;
	uint8_t hsm_id[KEEPER_ID_LEN];
	char *hex = NULL, *b64 = NULL, label[2 * STORE_NAME_MAX + 2];
	int64_t now = sn_now(), t0;
	int r, batch = 0, signed_ok = 0, recorded = 0;

	memset(&k, 0, sizeof(k));
	memset(&sc, 0, sizeof(sc));
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	d = json_object();
	oauth_provenance_into(c, &req->actor, d);	/* OIDC: who in CI */
	if ((r = store_key_get(c, req->actor.tenant_id, req->params[0],
	    &k)) != 0) {
		r = r == SN_ERR_CONFLICT ? api_error(resp, r, "several keys are "
		    "named '%s': use PROJECT/KEY or the key id",
		    req->params[0]) : api_store_error(resp, r, "key");
		goto out;
	}
	json_object_set_new(d, "key", json_string(k.id));
	json_object_set_new(d, "key_name", json_string(k.name));
	json_object_set_new(d, "project", json_string(k.project_id));
	if ((r = api_authz(c, req, resp, AUTHZ_KEY_SIGN, k.id, "key")) != 0)
		goto out;

	/* The request. */
	if ((r = api_body(req, resp, allowed)) != 0 ||
	    (r = get_client(resp, req->body, &client)) != 0)
		goto out;
	if (client != NULL)
		json_object_set(d, "client", client);
	if ((r = api_get_string(resp, req->body, "mechanism", 1, 32,
	    &mechname)) != 0 ||
	    (r = api_get_string(resp, req->body, "digest_algorithm", 1, 32,
	    &hashname)) != 0)
		goto out;
	json_object_set_new(d, "mechanism", json_string(mechname));
	json_object_set_new(d, "digest_algorithm", json_string(hashname));
	alg = sn_key_alg_from_name(k.algorithm);
	if ((mech = sn_mech_from_name(mechname)) == SN_MECH_NONE) {
		r = api_error(resp, SN_ERR_INVALID, "unknown mechanism '%s': use "
		    "rsa-pkcs1, rsa-pss or ecdsa", mechname);
		goto out;
	}
	if (!sn_key_alg_allows_mech(alg, mech)) {
		r = api_error(resp, SN_ERR_INVALID, "mechanism %s does not fit "
		    "a %s key", mechname, k.algorithm);
		goto out;
	}
	if ((hash = sn_hash_from_name(hashname)) == SN_HASH_NONE) {
		r = api_error(resp, SN_ERR_INVALID, "unknown digest_algorithm "
		    "'%s': use sha256, sha384 or sha512", hashname);
		goto out;
	}
	if (hash == SN_HASH_SHA1 && !k.allow_sha1) {
		r = api_error(resp, SN_ERR_INVALID, "SHA-1 is not allowed for "
		    "this key (its policy does not permit it)");
		goto out;
	}
	one = json_object_get(req->body, "digest");
	many = json_object_get(req->body, "digests");
	if ((one == NULL) == (many == NULL)) {
		r = api_error(resp, SN_ERR_INVALID, "exactly one of 'digest' or "
		    "'digests' must be given");
		goto out;
	}
	if (many != NULL) {
		batch = 1;
		if (!json_is_array(many)) {
			r = api_error(resp, SN_ERR_INVALID, "field 'digests' must "
			    "be an array of base64 strings");
			goto out;
		}
		n = json_array_size(many);
		if (n == 0) {
			r = api_error(resp, SN_ERR_INVALID, "field 'digests' is "
			    "empty");
			goto out;
		}
		if (n > (size_t)max_batch(srv)) {
			r = api_error(resp, SN_ERR_TOO_LARGE, "batch of %zu "
			    "digests is over the limit of %d per request", n,
			    max_batch(srv));
			goto out;
		}
	} else
		n = 1;
	if ((items = calloc(n, sizeof(*items))) == NULL ||
	    (hexes = json_array()) == NULL) {
		r = api_error(resp, SN_ERR_INTERNAL, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((r = decode_digest(resp, batch ? json_array_get(many, i) : one,
		    i, batch, hash, &items[i])) != 0)
			goto out;
		if (sn_hex_encode(items[i].digest, items[i].dlen, &hex) != 0) {
			r = api_error(resp, SN_ERR_INTERNAL, "out of memory");
			goto out;
		}
		json_array_append_new(hexes, json_string(hex));
		free(hex);
		hex = NULL;
	}
	if (batch)
		json_object_set(d, "digests", hexes);
	else
		json_object_set(d, "digest", json_array_get(hexes, 0));
	json_object_set_new(d, "count", json_integer((json_int_t)n));
	json_object_set_new(d, "key_version", json_integer((json_int_t)k.version));

	/* The key. */
	state = render_key_state(&k, now);
	if (strcmp(state, "active") != 0) {
		r = api_error(resp, SN_ERR_CONFLICT, "key %s/%s is %s and cannot "
		    "sign", k.project_name, k.name, state);
		goto out;
	}
	/* The key's policy, early, so a refused request costs no HSM work;
	 * the binding decision is the one in the audit transaction below. */
	if ((r = policies_enforce(c, req, resp, &k, mech, hash, n, d, 0)) != 0) {
		if (r == POLICIES_ANSWERED)	/* 202 pending, or a replay */
			r = 0;
		goto out;
	}
	if (srv->keeper == NULL) {
		r = api_keeper_error(resp, SN_ERR_UNAVAILABLE, "signing");
		goto out;
	}
	if ((r = hsm_signer_key_id(k.hsm_key_id, hsm_id)) != 0) {
		r = api_error(resp, SN_ERR_INTERNAL, "bad HSM key id");
		goto out;
	}
	/*
	 * No pooled database connection is held while the HSM works: a slow
	 * or stuck keeper (up to its call timeout, per digest) must not
	 * starve every other request of connections. Everything read so far
	 * is decided again below, inside the audit transaction.
	 */
	db_release(c);
	c = NULL;
	t0 = metrics_now_ns();
	r = n == 1 ? keeper_sign(srv->keeper, hsm_id, mech, hash,
	    items[0].digest, items[0].dlen, &items[0].sig, &items[0].siglen) :
	    sign_batch(srv->keeper, hsm_id, mech, hash, items, n);
	if (r != 0)
		r = api_keeper_error(resp, r, "signing");
	if (r == 0)
		metrics_observe_sign(k.algorithm, metrics_now_ns() - t0);
	if (r != 0) {
		/* the keeper's failure, recorded as its own refusal */
		if (db_acquire(srv->db, &c) != 0)
			c = NULL;	/* the refusal cannot be recorded either */
		goto out;
	}

	/*
	 * The audit event is durable before any signature leaves: decided
	 * again and committed (grouped with concurrent signers of the
	 * tenant) by audit_sign_commit, which also records a refusal there.
	 */
	if ((released = json_object()) == NULL ||
	    (r = add_signature_hashes(released, items, n, batch)) != 0) {
		r = api_error(resp, SN_ERR_INTERNAL, "out of memory");
		goto out_db;
	}
	snprintf(label, sizeof(label), "%s/%s", k.project_name, k.name);
	sc.req = req;
	sc.key_id = k.id;
	sc.key_label = label;
	sc.version = k.version;
	sc.hsm_key_id = k.hsm_key_id;
	sc.details = d;
	sc.released = released;
	sc.status_for = api_status_for;
	/* The key's policy, decided at the re-check under the chain lock:
	 * its quota counts exactly the signatures this commit releases. */
	policies_commit_hook(&sc, &pc, req, resp, &k, mech, hash, n, d);
	t0 = metrics_now_ns();
	if ((r = audit_sign_commit(srv->db, &sc)) != 0) {
		if (r == SN_ERR_UNAVAILABLE)
			resp->retry_after = 1;
		r = api_error(resp, r, "%s", sc.message);
		policies_error_rule(resp, d);	/* error.rule of a refusal */
		recorded = sc.refusal_recorded;
		goto out_db;
	}
	metrics_observe_audit_commit(metrics_now_ns() - t0);
	signed_ok = 1;
	__atomic_add_fetch(&srv->n_signatures, (uint64_t)n, __ATOMIC_RELAXED);

	if ((sigs = json_array()) == NULL) {
		r = api_error(resp, SN_ERR_INTERNAL, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (sn_b64_encode(items[i].sig, items[i].siglen, &b64) != 0 ||
		    json_array_append_new(sigs, json_string(b64)) != 0) {
			r = api_error(resp, SN_ERR_INTERNAL, "out of memory");
			goto out;
		}
		free(b64);
		b64 = NULL;
	}
	if (batch)
		body = json_pack("{s:O}", "signatures", sigs);
	else
		body = json_pack("{s:O}", "signature", json_array_get(sigs, 0));
	/* The committed event itself: the client can recompute its hash and
	 * check its inclusion in the signed log (require_inclusion_proof). */
	if (body != NULL && sc.event != NULL) {
		json_object_set_new(body, "audit_event", sc.event);
		sc.event = NULL;
	}
	if (body == NULL) {
		r = api_error(resp, SN_ERR_INTERNAL, "out of memory");
		goto out;
	}
	policies_signed(c, req, d, body);	/* an approval's replay answer */
	/* "Prefer: return=minimal" (RFC 7240): the caller does not check the
	 * event, so it is neither dumped here nor parsed there (about a
	 * third of a signing client's CPU). The event is committed all the
	 * same, and an approval's kept replay answer above has it. */
	if (prefer_has(api_header(req, "Prefer"), "return", "minimal")) {
		json_object_del(body, "audit_event");
		resp->preference_applied = "return=minimal";
	}
	r = api_json(resp, 200, body);
	goto out;
 out_db:
	/* a refusal audit_sign_commit could not record: on its own */
	if (!recorded && db_acquire(srv->db, &c) != 0)
		c = NULL;
 out:
	if (r != 0) {
		__atomic_add_fetch(&srv->n_sign_failures, 1, __ATOMIC_RELAXED);
		/* A signing whose event committed, or a refusal recorded
		 * with the group, is on record already. */
		if (!signed_ok && !recorded) {
			if (json_object_get(d, "key") == NULL)
				json_object_set_new(d, "key",
				    json_string(req->params[0]));
			audit_refusal(c, req, resp, "key.sign", "key",
			    k.id[0] != '\0' ? k.id : req->params[0], d);
		}
	}
	free(b64);
	free(hex);
	json_decref(sigs);
	json_decref(released);
	json_decref(sc.event);
	json_decref(hexes);
	json_decref(client);
	json_decref(d);
	items_free(items, n);
	store_key_clear(&k);
	db_release(c);
	return r;
}
