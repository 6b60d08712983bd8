/*
 * handler.h - the handler contract: who is asking (sn_actor), what they ask
 * (sn_request) and the answer (sn_response), with no transport in sight.
 *
 * Every layer that looks at a request includes this header, never the HTTP
 * layer's: auth/ fills req->actor, authz/ and audit/ read it, api/ handlers
 * answer in resp, and http/ (the only part that knows about sockets) turns
 * the response into HTTP. Because these types sit below all of them, a unit
 * test or a fuzzer can build a request and call a handler directly.
 *
 * Nothing here allocates; the response owns its body (see api.h for the
 * helpers that fill it).
 */
#ifndef SIGNET_HANDLER_H
#define SIGNET_HANDLER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct sn_server;

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
	/* request header / cookie lookup (web console sessions); NULL = none */
	const char *(*header)(const struct sn_request *req, const char *name);
	const char *(*cookie)(const struct sn_request *req, const char *name);
	/* API_PUBLIC_RAW routes only: the body as sent, and its type. */
	const uint8_t *raw_body;
	size_t raw_len;
	const char *content_type;
};

struct sn_response {
	int status;			/* 0 = derive from the handler's return code */
	json_t *body;			/* owned by the response */
	/* non-JSON bodies (PEM, DER, metrics): owned, freed after sending */
	char *raw;
	size_t raw_len;
	const char *content_type;
	int retry_after;		/* seconds, for 429/503; 0 = none */
	/* web console responses (src/server/console): */
	char *set_cookie;		/* owned Set-Cookie value, or NULL */
	const char *location;		/* static Location (303), or NULL */
	const char *cache_control;	/* static; NULL = "no-store" */
	const char *etag;		/* static ETag value, or NULL */
	/* RFC 7240 Preference-Applied value (static), or NULL */
	const char *preference_applied;
	char etag_buf[64];		/* where a computed etag points */
};

/*
 * A handler returns 0 after filling resp (status + JSON body), or a negative
 * SN_ERR_* after setting an error on resp (api_error in api.h).
 */
typedef int (*api_handler_fn)(struct sn_request *req, struct sn_response *resp);

enum api_auth {
	API_PUBLIC = 0,			/* no credentials needed (healthz, CRL, token) */
	API_AUTH = 1,			/* valid API key or access token required */
	API_PUBLIC_RAW = 2,		/* public; the body is bytes (RFC 3161,
					 * OCSP DER) in raw_body, never parsed */
	API_OPERATOR = 3,		/* the operator's metrics_token (signetd.conf) */
	/* public, and the body may also be application/x-www-form-urlencoded
	 * (the OAuth token endpoint); every other route takes JSON only (415) */
	API_PUBLIC_FORM = 4,
};

struct api_route {
	const char *method;
	const char *pattern;		/* "/v1/keys/{id}/sign" */
	api_handler_fn handler;
	enum api_auth auth;
};

/* "user", "service_account" or "anonymous" (for audit events). */
static inline const char *
sn_actor_type_name(const struct sn_actor *a)
{
	switch (a->type) {
	case SN_ACTOR_USER:
		return "user";
	case SN_ACTOR_SERVICE_ACCOUNT:
		return "service_account";
	default:
		return "anonymous";
	}
}

#endif
