/*
 * tlog.c (api) - the transparency log of the caller's tenant
 * (docs/AUDIT.md, docs/API.md):
 *   GET /v1/audit/checkpoint                     newest signed checkpoint
 *   GET /v1/audit/log-key                        the note verifier key
 *   GET /v1/audit/proof/inclusion?seq=N&size=S   RFC 9162 audit path
 *   GET /v1/audit/proof/consistency?from=A&to=B  RFC 9162 consistency proof
 * Any user or service account of the tenant may read them
 * (AUTHZ_AUDIT_PROOF): they are hashes and signatures, never event
 * contents, which stay admin-only under GET /v1/audit. These reads are not
 * audit events: recording them would grow the tree they describe.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "authz.h"
#include "db.h"
#include "encode.h"
#include "err.h"
#include "merkle.h"
#include "note.h"
#include "server.h"
#include "store.h"
#include "tlog.h"
#include "tlog_checkpoint.h"
#include "util.h"

/* A required positive integer query parameter. */
static int
q_count(struct sn_request *req, struct sn_response *resp, const char *name,
    uint64_t *out)
{
	const char *q = api_query(req, name);
	long long v;

	if (q == NULL)
		return api_error(resp, SN_ERR_INVALID, "query parameter '%s' "
		    "is required", name);
	if (sn_parse_int(q, 1, INT64_MAX, &v) != 0)
		return api_error(resp, SN_ERR_INVALID, "'%s' must be a "
		    "positive integer", name);
	*out = (uint64_t)v;
	return 0;
}

static json_t *
hashes_json(const sn_mhash *path, size_t n)
{
	json_t *a = json_array();
	char *b64 = NULL;

	for (size_t i = 0; a != NULL && i < n; i++) {
		if (sn_b64_encode(path[i], SN_MERKLE_HASH_LEN, &b64) != 0 ||
		    json_array_append_new(a, json_string(b64)) != 0) {
			json_decref(a);
			a = NULL;
		}
		free(b64);
		b64 = NULL;
	}
	return a;
}

static int
log_error(struct sn_response *resp, int r)
{
	switch (r) {
	case SN_ERR_NOT_FOUND:
		return api_error(resp, r, "the audit log has no events yet");
	case SN_ERR_UNAVAILABLE:
		resp->retry_after = 1;
		return api_error(resp, r, "the HSM is unavailable");
	default:
		return api_error(resp, r, "cannot read the audit log");
	}
}

/* Authorizes and releases the connection (HSM work follows). */
static int
authorize(struct sn_request *req, struct sn_response *resp)
{
	struct db_conn *c = NULL;
	int r;

	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	r = api_authz(c, req, resp, AUTHZ_AUDIT_PROOF, NULL, "tenant");
	db_release(c);
	return r;
}

static int
checkpoint_get(struct sn_request *req, struct sn_response *resp)
{
	struct db_conn *c = NULL;
	struct tlog_key key;
	uint8_t root[SN_MERKLE_HASH_LEN];
	uint64_t size = 0;
	int64_t created = 0;
	char *note = NULL, *b64 = NULL;
	int r;

	if ((r = authorize(req, resp)) != 0)
		return r;
	/* The newest checkpoint covers every committed event. */
	if ((r = tlog_checkpoint_update(req->srv, req->actor.tenant_id, 1,
	    NULL)) != 0 ||
	    (r = tlog_log_key(req->srv, req->actor.tenant_id, &key)) != 0)
		return log_error(resp, r);
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	if ((r = tlog_checkpoint_latest(c, req->actor.tenant_id, &note, &size,
	    root, &created)) != 0) {
		r = log_error(resp, r);
		goto out;
	}
	if (sn_b64_encode(root, sizeof(root), &b64) != 0) {
		r = api_error(resp, SN_ERR_NOMEM, "out of memory");
		goto out;
	}
	r = api_json(resp, 200, json_pack("{s:s,s:I,s:s,s:s,s:o}", "origin",
	    key.origin, "size", (json_int_t)size, "root_hash", b64,
	    "checkpoint", note, "created_at", store_time_json(created)));
 out:
	free(note);
	free(b64);
	db_release(c);
	return r;
}

static int
log_key_get(struct sn_request *req, struct sn_response *resp)
{
	struct tlog_key key;
	char *vkey = NULL, *b64 = NULL;
	int r;

	if ((r = authorize(req, resp)) != 0)
		return r;
	if ((r = tlog_log_key(req->srv, req->actor.tenant_id, &key)) != 0)
		return log_error(resp, r);
	if (sn_note_verifier_key(key.origin, key.pub, &vkey) != 0 ||
	    sn_b64_encode(key.pub, sizeof(key.pub), &b64) != 0) {
		r = api_error(resp, SN_ERR_NOMEM, "out of memory");
		goto out;
	}
	r = api_json(resp, 200, json_pack("{s:s,s:s,s:s,s:s}", "origin",
	    key.origin, "algorithm", "ed25519", "public_key", b64,
	    "verifier_key", vkey));
 out:
	free(vkey);
	free(b64);
	return r;
}

/* Reads the tree size with authorization; the caller releases *c. */
static int
open_tree(struct sn_request *req, struct sn_response *resp,
    struct db_conn **c, uint64_t *size)
{
	int r;

	if ((r = api_conn(req, resp, c)) != 0)
		return r;
	if ((r = api_authz(*c, req, resp, AUTHZ_AUDIT_PROOF, NULL,
	    "tenant")) != 0)
		return r;
	if ((r = tlog_size(*c, req->actor.tenant_id, size)) != 0)
		return log_error(resp, r);
	return 0;
}

/*
 * The two proofs take the same shape of query, a pair of counts lo <= hi
 * with hi within the log: an inclusion proof of event lo in the tree of
 * size hi, or a consistency proof between the trees of sizes lo and hi.
 */
enum proof { PROOF_INCLUSION, PROOF_CONSISTENCY };

static int
proof_get(struct sn_request *req, struct sn_response *resp, enum proof kind)
{
	const char *lo_name = kind == PROOF_INCLUSION ? "seq" : "from";
	const char *hi_name = kind == PROOF_INCLUSION ? "size" : "to";
	struct db_conn *c = NULL;
	sn_mhash path[SN_MERKLE_MAX_DEPTH];
	uint64_t lo, hi, tree = 0;
	size_t n = 0;
	json_t *h = NULL, *body;
	int r;

	if ((r = q_count(req, resp, lo_name, &lo)) != 0 ||
	    (r = q_count(req, resp, hi_name, &hi)) != 0)
		return r;
	if (lo > hi)
		return api_error(resp, SN_ERR_INVALID, "'%s' must not be "
		    "greater than '%s'", lo_name, hi_name);
	if ((r = open_tree(req, resp, &c, &tree)) != 0)
		goto out;
	if (hi > tree) {
		r = api_error(resp, SN_ERR_INVALID, "'%s' %llu is beyond the "
		    "log (%llu events)", hi_name, (unsigned long long)hi,
		    (unsigned long long)tree);
		goto out;
	}
	if (kind == PROOF_INCLUSION)
		r = tlog_inclusion(c, req->actor.tenant_id, lo - 1, hi, path,
		    &n);
	else
		r = tlog_consistency(c, req->actor.tenant_id, lo, hi, path, &n);
	if (r != 0) {
		r = log_error(resp, r);
		goto out;
	}
	if ((h = hashes_json((const sn_mhash *)path, n)) == NULL) {
		r = api_error(resp, SN_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (kind == PROOF_INCLUSION)
		body = json_pack("{s:I,s:I,s:I,s:O}", "seq", (json_int_t)lo,
		    "size", (json_int_t)hi, "leaf_index", (json_int_t)(lo - 1),
		    "hashes", h);
	else
		body = json_pack("{s:I,s:I,s:O}", "from", (json_int_t)lo, "to",
		    (json_int_t)hi, "hashes", h);
	r = api_json(resp, 200, body);
 out:
	json_decref(h);
	db_release(c);
	return r;
}

static int
inclusion_get(struct sn_request *req, struct sn_response *resp)
{
	return proof_get(req, resp, PROOF_INCLUSION);
}

static int
consistency_get(struct sn_request *req, struct sn_response *resp)
{
	return proof_get(req, resp, PROOF_CONSISTENCY);
}

const struct api_route api_routes_tlog[] = {
	{ "GET", "/v1/audit/checkpoint", checkpoint_get, API_AUTH },
	{ "GET", "/v1/audit/log-key", log_key_get, API_AUTH },
	{ "GET", "/v1/audit/proof/inclusion", inclusion_get, API_AUTH },
	{ "GET", "/v1/audit/proof/consistency", consistency_get, API_AUTH },
	{ NULL, NULL, NULL, API_PUBLIC },
};
