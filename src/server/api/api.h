/*
 * api.h - how a request reaches a handler and how a handler answers.
 *
 * Handlers are plain functions from (request) to (response), with no socket
 * in sight, so the unit tests and fuzzers can call them directly. The HTTP
 * layer (http.c) has already: bounded and parsed the body as JSON (depth and
 * size limits), matched the route and captured its {params}, authenticated the
 * caller into req->actor (routes marked API_AUTH), and it will log one line
 * and turn the response into HTTP afterwards.
 *
 * A handler returns 0 after filling resp (status + JSON body), or a negative
 * SN_ERR_* after calling api_error() — which sets the status from the code
 * (400/401/403/404/409/413/429/5xx) and the body
 * {"error":{"code":"...","message":"..."}}.
 */
#ifndef SIGNET_API_H
#define SIGNET_API_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "authz.h"
#include "handler.h"
#include "util.h"

struct db_conn;

/*
 * Sets resp to the JSON error for err with a printf-style message (which must
 * never contain a secret) and returns err, so handlers can write
 *     return api_error(resp, SN_ERR_NOT_FOUND, "no such key");
 */
int api_error(struct sn_response *resp, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sets status and takes ownership of body (json_t reference stolen). Returns 0. */
int api_json(struct sn_response *resp, int status, json_t *body);

/*
 * Strict JSON field access for request bodies. Each returns 0, or sets an
 * api_error (400, "field 'x' must be a string", ...) and returns SN_ERR_INVALID.
 *   required: the field must be present.
 *   maxlen:   string length limit (bytes).
 * api_reject_unknown fails on any member not in the NULL-terminated list.
 */
int api_get_string(struct sn_response *resp, json_t *obj, const char *name,
    int required, size_t maxlen, const char **out);
int api_get_int(struct sn_response *resp, json_t *obj, const char *name,
    int required, int64_t min, int64_t max, int64_t *out);
int api_get_bool(struct sn_response *resp, json_t *obj, const char *name,
    int required, int *out);
int api_reject_unknown(struct sn_response *resp, json_t *obj,
    const char *const *allowed);
/* The body must be a JSON object (for POST/PUT routes that take one). */
int api_require_body(struct sn_request *req, struct sn_response *resp);

/* Names of teams, projects, keys, service accounts: [A-Za-z0-9._-]{1,64},
 * not starting with '.' or '-'. Emails: 3..254 chars, one '@', no spaces or
 * control characters. Return 1 if valid. */
int api_valid_name(const char *s);
/* api_valid_name, or a 400 "field '<field>' must be ..." set on resp. */
int api_check_name(struct sn_response *resp, const char *field,
    const char *s);
int api_valid_email(const char *s);

/* The route tables, one per resource file, each ending with {NULL}. */
extern const struct api_route api_routes_health[];
extern const struct api_route api_routes_me[];
extern const struct api_route api_routes_users[];
extern const struct api_route api_routes_apikeys[];
extern const struct api_route api_routes_teams[];
extern const struct api_route api_routes_serviceaccounts[];
extern const struct api_route api_routes_projects[];
extern const struct api_route api_routes_keys[];
extern const struct api_route api_routes_ca[];
extern const struct api_route api_routes_audit[];
extern const struct api_route api_routes_oauth[];
extern const struct api_route api_routes_federations[];
extern const struct api_route api_routes_tlog[];	/* api/tlog.c */

/* Handlers routed from another resource's table: POST /v1/keys/{id}/sign
 * (sign.c) and GET /v1/me/keys (keys.c), both in api_routes_keys. */
int api_keys_sign(struct sn_request *req, struct sn_response *resp);
int api_me_keys(struct sn_request *req, struct sn_response *resp);

/*
 * The validator of GET /v1/me/keys (me.c; docs/API.md "/v1/me/keys"):
 * a weak ETag W/"T-H" of the caller's whole listing as made at time T,
 * H = 128 bits of SHA-256 over the caller (tenant, type, id), the
 * tenant's listing generation (store_listing.h) and T. It still holds at
 * now when the generation is the same and no key's validity started or
 * ended in [T, now] (store_listing_validity_moved).
 */
#define API_ETAG_MAX		64	/* W/"T-H" and its NUL */
#define API_INM_MAX_LEN		2048	/* bytes of If-None-Match */
#define API_INM_MAX_TAGS	32	/* entity tags in it */

/* An If-None-Match field value, parsed (RFC 9110 13.1.2). */
struct api_inm {
	int star;			/* "*" */
	size_t n;			/* entity tags, weak or strong */
	struct {
		const char *opaque;	/* inside the quotes, in the value */
		size_t len;
	} tag[API_INM_MAX_TAGS];
};
/*
 * Parses v: "*", or a comma-separated list of entity tags ("x" or W/"x",
 * etagc = 0x21, 0x23-0x7e, 0x80-0xff), with optional spaces and tabs and
 * empty elements. 0; SN_ERR_INVALID (not that grammar), SN_ERR_TOO_LARGE
 * (longer than API_INM_MAX_LEN or more than API_INM_MAX_TAGS elements).
 */
int api_inm_parse(const char *v, struct api_inm *out);
/* The listing ETag of (tenant, type, id) at generation gen and time t. */
void api_listing_etag(const struct sn_actor *a, int64_t gen, int64_t t,
    char out[API_ETAG_MAX]);
/*
 * GET /v1/me/keys's conditional part, with c held: reads the tenant's
 * generation (before the listing is read, so a change that commits
 * between the two only makes the ETag older than the rows: refused at the
 * next revalidation, never a change missed). unfiltered: a full listing's
 * page (no ?key=, no ?expiring=), the only answer with an ETag. Then: a
 * malformed If-None-Match is a 400 (set on resp, its code returned); a
 * matching one (or "*") a 304 on resp with *done = 1; else 0 with
 * resp->etag set for the 200 (unfiltered only).
 */
int api_me_keys_precondition(struct sn_request *req, struct sn_response *resp,
    struct db_conn *c, int unfiltered, int64_t now, int *done);
extern const struct api_route api_routes_tsa[];
/* What the plain-HTTP listener serves: signed answers only (TSA, CRL). */
extern const struct api_route api_routes_tsa_public[];
extern const struct api_route api_routes_ca_public[];
extern const struct api_route api_routes_ocsp[];
extern const struct api_route api_routes_key_versions[];
extern const struct api_route api_routes_policies[];	/* api/policies.c */
extern const struct api_route api_routes_approvals[];	/* api/approvals.c */
extern const struct api_route api_routes_approval_grants[]; /* approval_grants.c */
extern const struct api_route api_routes_webhooks[];	/* api/webhooks.c */

/* HTTP status for an SN_ERR_* code (0 -> 200). */
int api_status_for(int err);
/* The i-th route {param}, or NULL. */
const char *api_param(const struct sn_request *req, size_t i);
/* Request header / cookie value, or NULL if absent (or no transport). */
const char *api_header(const struct sn_request *req, const char *name);
const char *api_cookie(const struct sn_request *req, const char *name);
/* Query string value (URL-decoded), or NULL if absent or no query. */
const char *api_query(const struct sn_request *req, const char *name);
/* A non-JSON body: takes ownership of data (malloc'd). Returns 0. */
int api_raw(struct sn_response *resp, int status, const char *content_type,
    char *data, size_t len);
/* Frees body/raw and zeroes resp. */
void api_response_clear(struct sn_response *resp);
/*
 * Notes on the field helpers: an optional field that is absent or JSON null
 * leaves *out untouched for api_get_int/api_get_bool (preset the default) and
 * sets *out = NULL for api_get_string. Strings with NUL are rejected.
 */

/*
 * Handler plumbing shared by every handler file: a pooled connection (503
 * + Retry-After if none), authz_check with the error mapped (404 "no such
 * <what>" also for other tenants' objects, 403 "permission denied (<action>)
 * for this <what>", 401, 503, 500), and store errors mapped (404 / 409 "<what>
 * already exists" / 400 / 503 + Retry-After / 500). Each returns 0 or the
 * error after setting resp.
 */
int api_conn(struct sn_request *req, struct sn_response *resp,
    struct db_conn **c);
int api_authz(struct db_conn *c, struct sn_request *req,
    struct sn_response *resp, enum authz_action action,
    const char *object_id, const char *what);
int api_store_error(struct sn_response *resp, int err, const char *what);

/* db_begin / db_commit with a 503 (busy) / 500 on failure. Every 503 that
 * api_error sets carries Retry-After (the table in api.c). */
int api_begin(struct db_conn *c, struct sn_response *resp);
int api_commit(struct db_conn *c, struct sn_response *resp);
/*
 * The tail of a handler that changed something: the change's "ok" audit
 * event (audit_req: action, object, details), in the same transaction, then
 * the commit. 0, or the error after setting resp (the transaction is then
 * for the caller's audit_refusal path to roll back, as on any error).
 */
int api_commit_audited(struct db_conn *c, struct sn_request *req,
    struct sn_response *resp, const char *action, const char *object_type,
    const char *object_id, json_t *details) SN_WUR;

/* Keeper errors: SN_ERR_UNAVAILABLE 503 with retry_after, others 500/502. */
int api_keeper_error(struct sn_response *resp, int err, const char *what);

/* Checks the body is an object without members outside allowed. */
int api_body(struct sn_request *req, struct sn_response *resp,
    const char *const *allowed);

#endif
