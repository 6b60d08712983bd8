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

struct sn_server;
struct db_conn;

enum sn_actor_type {
	SN_ACTOR_NONE = 0,
	SN_ACTOR_USER,
	SN_ACTOR_SERVICE_ACCOUNT,
};

struct sn_actor {
	enum sn_actor_type type;
	char id[64];			/* usr_... / sac_... */
	char tenant_id[64];
	int is_admin;			/* users only: role == admin */
	char credential_id[64];		/* api key id / access token id */
	char name[256];			/* email or service account name (for logs) */
};

#define API_MAX_PARAMS 4

struct sn_request {
	struct sn_server *srv;
	const char *method;		/* "GET", "POST", "PUT", "DELETE" */
	const char *path;
	const char *params[API_MAX_PARAMS];	/* route {params}, in order */
	size_t nparams;
	json_t *body;			/* parsed JSON object, or NULL if no body */
	const char *source_ip;
	const char *user_agent;
	struct sn_actor actor;
	/* query string lookup; NULL when absent. */
	const char *(*query)(const struct sn_request *req, const char *name);
	void *query_ctx;
};

struct sn_response {
	int status;			/* 0 = derive from the handler's return code */
	json_t *body;			/* owned by the response */
	/* non-JSON bodies (PEM, DER, metrics): owned, freed after sending */
	char *raw;
	size_t raw_len;
	const char *content_type;
	int retry_after;		/* seconds, for 429/503; 0 = none */
};

typedef int (*api_handler_fn)(struct sn_request *req, struct sn_response *resp);

enum api_auth {
	API_PUBLIC = 0,			/* no credentials needed (healthz, CRL, token) */
	API_AUTH = 1,			/* valid API key or access token required */
};

struct api_route {
	const char *method;
	const char *pattern;		/* "/v1/keys/{id}/sign" */
	api_handler_fn handler;
	enum api_auth auth;
};

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

/* ---- additions (SERVER-CORE) ---- */

/* HTTP status for an SN_ERR_* code (0 -> 200). */
int api_status_for(int err);
/* The i-th route {param}, or NULL. */
const char *api_param(const struct sn_request *req, size_t i);
/* Query string value (URL-decoded), or NULL if absent or no query. */
const char *api_query(const struct sn_request *req, const char *name);
/* A non-JSON body: takes ownership of data (malloc'd). Returns 0. */
int api_raw(struct sn_response *resp, int status, const char *content_type,
    char *data, size_t len);
/* Frees body/raw and zeroes resp. */
void api_response_clear(struct sn_response *resp);
/* "user", "service_account" or "anonymous" (for audit events). */
const char *api_actor_type_name(const struct sn_actor *a);
/*
 * Notes on the field helpers: an optional field that is absent or JSON null
 * leaves *out untouched for api_get_int/api_get_bool (preset the default) and
 * sets *out = NULL for api_get_string. Strings with NUL are rejected.
 */

/*
 * Handler plumbing shared by every handler file: a pooled connection (503
 * + Retry-After if none), authz_check with the error mapped (404 "no such
 * <what>" also for other tenants' objects, 403 "permission denied (<action>)
 * for this <what>", 401, 500), and store errors mapped (404 / 409 "<what>
 * already exists" / 400 / 503 + Retry-After / 500). Each returns 0 or the
 * error after setting resp.
 */
#include "authz.h"
int api_conn(struct sn_request *req, struct sn_response *resp,
    struct db_conn **c);
int api_authz(struct db_conn *c, struct sn_request *req,
    struct sn_response *resp, enum authz_action action,
    const char *object_id, const char *what);
int api_store_error(struct sn_response *resp, int err, const char *what);

#endif
