/*
 * api.c - the response conventions and strict request-field helpers every
 * handler uses (see api.h). Error messages name the field, never its value:
 * a value may be a secret pasted into the wrong place.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api.h"
#include "audit.h"
#include "authz.h"
#include "db.h"
#include "err.h"
#include "server.h"
#include "util.h"

/*
 * The one table from SN_ERR_* to HTTP: status, and the Retry-After a client
 * is told to wait. Every 503 (and 429) carries Retry-After, whichever handler
 * sets it; a handler may ask for a longer wait by setting resp->retry_after
 * first (the keeper restarting takes longer than a busy database).
 */
static const struct {
	int err;
	int status;
	int retry_after;
} api_errors[] = {
	{ SN_ERR_INVALID,		400, 0 },
	{ SN_ERR_USAGE,			400, 0 },
	{ SN_ERR_PROTOCOL,		400, 0 },
	{ SN_ERR_UNAUTHENTICATED,	401, 0 },
	{ SN_ERR_FORBIDDEN,		403, 0 },
	{ SN_ERR_NOT_FOUND,		404, 0 },
	{ SN_ERR_CONFLICT,		409, 0 },
	{ SN_ERR_TOO_LARGE,		413, 0 },
	{ SN_ERR_MEDIA_TYPE,		415, 0 },
	{ SN_ERR_RATE_LIMITED,		429, 1 },
	{ SN_ERR_HSM,			502, 0 },
	{ SN_ERR_UNAVAILABLE,		503, 1 },
};

static size_t
api_error_index(int err)
{
	size_t i;

	for (i = 0; i < sizeof(api_errors) / sizeof(api_errors[0]); i++)
		if (api_errors[i].err == err)
			return i;
	return SIZE_MAX;
}

int
api_status_for(int err)
{
	size_t i;

	if (err == 0)
		return 200;
	i = api_error_index(err);
	return i != SIZE_MAX ? api_errors[i].status : 500;
}

static void
set_body(struct sn_response *resp, json_t *body)
{
	json_decref(resp->body);
	resp->body = body;
}

int
api_error(struct sn_response *resp, int err, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	json_t *body;
	size_t i;

	/* Not SN_NEVER: test_api checks that this answers 500 in every build. */
	if (err >= 0)
		err = SN_ERR_INTERNAL;	/* an error path with no error */
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
	} else
		snprintf(msg, sizeof(msg), "%s", sn_strerror(err));
	resp->status = api_status_for(err);
	i = api_error_index(err);
	if (i != SIZE_MAX && resp->retry_after < api_errors[i].retry_after)
		resp->retry_after = api_errors[i].retry_after;
	body = json_pack("{s:{s:s,s:s}}", "error", "code", sn_errcode(err),
	    "message", msg);
	set_body(resp, body);		/* NULL on ENOMEM: http.c sends 500 */
	return err;
}

int
api_json(struct sn_response *resp, int status, json_t *body)
{
	if (body == NULL)
		return api_error(resp, SN_ERR_NOMEM, "out of memory");
	resp->status = status;
	set_body(resp, body);
	return 0;
}

/*
 * The member name of obj into *v, for the typed getters below. An absent
 * member, or JSON null for an optional one, leaves *v NULL: an error if
 * the field is required, else 0 (the caller's default stands).
 */
static int
get_field(struct sn_response *resp, json_t *obj, const char *name,
    int required, json_t **v)
{
	*v = json_is_object(obj) ? json_object_get(obj, name) : NULL;
	if (*v != NULL && (required || !json_is_null(*v)))
		return 0;
	*v = NULL;
	if (required)
		return api_error(resp, SN_ERR_INVALID,
		    "field '%s' is required", name);
	return 0;
}

int
api_get_string(struct sn_response *resp, json_t *obj, const char *name,
    int required, size_t maxlen, const char **out)
{
	json_t *v;
	int r;

	*out = NULL;
	if ((r = get_field(resp, obj, name, required, &v)) != 0 || v == NULL)
		return r;
	if (!json_is_string(v))
		return api_error(resp, SN_ERR_INVALID,
		    "field '%s' must be a string", name);
	if (json_string_length(v) > maxlen)
		return api_error(resp, SN_ERR_INVALID,
		    "field '%s' is longer than %zu bytes", name, maxlen);
	/* jansson rejects \u0000 by default; keep that true here too. */
	if (strlen(json_string_value(v)) != json_string_length(v))
		return api_error(resp, SN_ERR_INVALID,
		    "field '%s' contains a NUL character", name);
	*out = json_string_value(v);
	return 0;
}

int
api_get_int(struct sn_response *resp, json_t *obj, const char *name,
    int required, int64_t min, int64_t max, int64_t *out)
{
	json_t *v;
	json_int_t n;
	int r;

	if ((r = get_field(resp, obj, name, required, &v)) != 0 || v == NULL)
		return r;
	if (!json_is_integer(v))
		return api_error(resp, SN_ERR_INVALID,
		    "field '%s' must be an integer", name);
	n = json_integer_value(v);
	if (n < min || n > max)
		return api_error(resp, SN_ERR_INVALID,
		    "field '%s' must be between %lld and %lld", name,
		    (long long)min, (long long)max);
	*out = (int64_t)n;
	return 0;
}

int
api_get_bool(struct sn_response *resp, json_t *obj, const char *name,
    int required, int *out)
{
	json_t *v;
	int r;

	if ((r = get_field(resp, obj, name, required, &v)) != 0 || v == NULL)
		return r;
	if (!json_is_boolean(v))
		return api_error(resp, SN_ERR_INVALID,
		    "field '%s' must be true or false", name);
	*out = json_is_true(v);
	return 0;
}

int
api_reject_unknown(struct sn_response *resp, json_t *obj,
    const char *const *allowed)
{
	const char *key;
	json_t *v;
	size_t i;

	if (obj == NULL)
		return 0;
	if (!json_is_object(obj))
		return api_error(resp, SN_ERR_INVALID,
		    "the request body must be a JSON object");
	json_object_foreach(obj, key, v) {
		for (i = 0; allowed != NULL && allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				break;
		if (allowed == NULL || allowed[i] == NULL) {
			/* The key came from the client: print it bounded. */
			return api_error(resp, SN_ERR_INVALID,
			    "unknown field '%.64s'", key);
		}
	}
	return 0;
}

int
api_require_body(struct sn_request *req, struct sn_response *resp)
{
	if (req->body == NULL)
		return api_error(resp, SN_ERR_INVALID,
		    "a JSON object request body is required");
	if (!json_is_object(req->body))
		return api_error(resp, SN_ERR_INVALID,
		    "the request body must be a JSON object");
	return 0;
}

int
api_valid_name(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0' || s[0] == '.' || s[0] == '-')
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= 64)
			return 0;
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return 0;
	}
	return 1;
}

int
api_check_name(struct sn_response *resp, const char *field, const char *s)
{
	if (api_valid_name(s))
		return 0;
	return api_error(resp, SN_ERR_INVALID, "field '%s' must be 1-64 "
	    "characters of A-Z a-z 0-9 . _ - (not starting with . or -)",
	    field);
}

int
api_valid_email(const char *s)
{
	const char *at = NULL;
	size_t i;

	if (s == NULL)
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (i >= 254)
			return 0;
		if (ch <= 0x20 || ch == 0x7f || ch == '/')
			return 0;
		if (ch == '@') {
			if (at != NULL)
				return 0;
			at = s + i;
		}
	}
	if (i < 3 || at == NULL || at == s || at[1] == '\0')
		return 0;
	return 1;
}

const char *
api_param(const struct sn_request *req, size_t i)
{
	return i < req->nparams ? req->params[i] : NULL;
}

const char *
api_query(const struct sn_request *req, const char *name)
{
	if (req->query == NULL)
		return NULL;
	return req->query(req, name);
}

const char *
api_header(const struct sn_request *req, const char *name)
{
	if (req->header == NULL)
		return NULL;
	return req->header(req, name);
}

const char *
api_cookie(const struct sn_request *req, const char *name)
{
	if (req->cookie == NULL)
		return NULL;
	return req->cookie(req, name);
}

int
api_raw(struct sn_response *resp, int status, const char *content_type,
    char *data, size_t len)
{
	free(resp->raw);
	json_decref(resp->body);
	resp->body = NULL;
	resp->status = status;
	resp->raw = data;
	resp->raw_len = len;
	resp->content_type = content_type;
	return 0;
}

void
api_response_clear(struct sn_response *resp)
{
	json_decref(resp->body);
	free(resp->raw);
	sn_strfreezero(resp->set_cookie);	/* may carry a session secret */
	memset(resp, 0, sizeof(*resp));
}

int
api_conn(struct sn_request *req, struct sn_response *resp,
    struct db_conn **c)
{
	*c = NULL;
	if (db_acquire(req->srv->db, c) != 0) {
		return api_error(resp, SN_ERR_UNAVAILABLE,
		    "database unavailable");
	}
	return 0;
}

int
api_authz(struct db_conn *c, struct sn_request *req, struct sn_response *resp,
    enum authz_action action, const char *object_id, const char *what)
{
	int r;

	r = authz_check(c, &req->actor, action, object_id);
	switch (r) {
	case 0:
		return 0;
	case SN_ERR_NOT_FOUND:
		return api_error(resp, r, "no such %s", what);
	case SN_ERR_FORBIDDEN:
		return api_error(resp, r, "permission denied (%s) for this %s",
		    authz_action_name(action), what);
	case SN_ERR_UNAUTHENTICATED:
		return api_error(resp, r, "authentication required");
	case SN_ERR_UNAVAILABLE:
		return api_error(resp, r, "permission check unavailable; "
		    "try again");
	default:
		return api_error(resp, SN_ERR_DB, "permission check failed");
	}
}

int
api_store_error(struct sn_response *resp, int err, const char *what)
{
	switch (err) {
	case SN_ERR_NOT_FOUND:
		return api_error(resp, err, "no such %s", what);
	case SN_ERR_CONFLICT:
		return api_error(resp, err, "%s already exists", what);
	case SN_ERR_INVALID:
		return api_error(resp, err, "invalid %s", what);
	case SN_ERR_NOMEM:
		return api_error(resp, SN_ERR_INTERNAL, "out of memory");
	case SN_ERR_UNAVAILABLE:
		return api_error(resp, err, "%s: service unavailable", what);
	default:
		return api_error(resp, SN_ERR_DB, "database error (%s)", what);
	}
}

int
api_begin(struct db_conn *c, struct sn_response *resp)
{
	int r;

	if ((r = db_begin(c)) != 0) {
		return api_error(resp, SN_ERR_UNAVAILABLE,
		    "database busy; try again");
	}
	return 0;
}

int
api_commit(struct db_conn *c, struct sn_response *resp)
{
	if (db_commit(c) != 0) {
		db_rollback(c);
		return api_error(resp, SN_ERR_DB, "could not commit the change");
	}
	return 0;
}

int
api_commit_audited(struct db_conn *c, struct sn_request *req,
    struct sn_response *resp, const char *action, const char *object_type,
    const char *object_id, json_t *details)
{
	int r;

	if ((r = audit_req(c, req, action, object_type, object_id, "ok",
	    details)) != 0)
		return api_store_error(resp, r, "audit event");
	return api_commit(c, resp);
}

int
api_keeper_error(struct sn_response *resp, int err, const char *what)
{
	switch (err) {
	case SN_ERR_UNAVAILABLE:
		resp->retry_after = 2;
		return api_error(resp, err, "HSM unavailable (%s); try again",
		    what);
	case SN_ERR_NOT_FOUND:
		return api_error(resp, SN_ERR_INTERNAL,
		    "the HSM has no key object for this %s", what);
	case SN_ERR_INVALID:
		return api_error(resp, SN_ERR_INVALID,
		    "the HSM refused the request (%s)", what);
	default:
		return api_error(resp, SN_ERR_HSM, "HSM failure (%s)", what);
	}
}

int
api_body(struct sn_request *req, struct sn_response *resp,
    const char *const *allowed)
{
	int r;

	if ((r = api_require_body(req, resp)) != 0)
		return r;
	return api_reject_unknown(resp, req->body, allowed);
}
