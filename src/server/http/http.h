/*
 * http.h - signetd's HTTPS front end (libmicrohttpd) and its socket-free
 * core, http_process(), which the MHD callback, the unit tests and fuzzers
 * all drive the same way.
 *
 * http_process: route match (404 JSON / 405 JSON), body limit (413), bearer
 * authentication for API_AUTH routes (one 401 for every failure) — or,
 * without an Authorization header, the web console's session cookie plus
 * its CSRF header on every method but GET/HEAD (403 without it), body
 * parsing (JSON with a nesting limit, or x-www-form-urlencoded turned into
 * a JSON object of strings), then the handler. It never logs; the MHD layer
 * writes one line per request: time, source ip, method, path (never the
 * query string), status, actor id, duration.
 */
#ifndef SIGNET_HTTP_H
#define SIGNET_HTTP_H

#include <stddef.h>

#include "api.h"

struct sn_server;
struct http_server;

/* The route tables in match order, NULL-terminated (routes.c). */
extern const struct api_route *const http_route_tables[];
/* The routes of the plain-HTTP listener (TSA, CRLs, OCSP). */
extern const struct api_route *const http_plain_route_tables[];

struct http_input {
	const char *method;
	const char *path;		/* no query string */
	const char *authorization;	/* header value or NULL */
	const char *content_type;	/* or NULL */
	const char *body;		/* may be NULL when body_len == 0 */
	size_t body_len;
	int body_too_large;		/* set by the transport */
	int duplicate_length;		/* more than one Content-Length header */
	const char *source_ip;
	const char *user_agent;
	const char *(*query)(const struct sn_request *req, const char *name);
	void *query_ctx;
	/* header and cookie lookup over query_ctx; NULL = none */
	const char *(*header)(const struct sn_request *req, const char *name);
	const char *(*cookie)(const struct sn_request *req, const char *name);
};

/*
 * Runs one request through the pipeline into resp (always filled: status
 * and a JSON or raw body). actor (may be NULL) receives the authenticated
 * actor for the log line. Returns the HTTP status.
 */
int http_process(struct sn_server *srv, const struct api_route *const *tables,
    const struct http_input *in, struct sn_response *resp,
    struct sn_actor *actor);

/* 1 if the JSON text nests [ / { at most max deep (strings respected). */
int http_json_depth_ok(const char *buf, size_t len, int max);

/*
 * Parses application/x-www-form-urlencoded into a JSON object of strings.
 * Rejects bad escapes, NUL, duplicate names, more than 64 fields.
 * 0 or SN_ERR_INVALID / SN_ERR_NOMEM.
 */
int http_parse_form(const char *buf, size_t len, json_t **out);

/*
 * Finds the route for method + path; fills params (pointing into pbuf,
 * which must hold strlen(path)+1 bytes). Returns the route, or NULL with
 * *wrong_method = 1 if the path exists with another method.
 */
const struct api_route *http_match(const struct api_route *const *tables,
    const char *method, const char *path, char *pbuf,
    const char *params[API_MAX_PARAMS], size_t *nparams, int *wrong_method);

/*
 * Binds and listens on host:port (port 0 = any free port) and reports the
 * port actually bound, so the caller can know its URL before serving.
 * 0, SN_ERR_INVALID or SN_ERR_IO (reason on stderr).
 */
int http_listen(const char *host, int port, int *fd, int *bound_port);
/*
 * Starts HTTPS on the listening socket from http_listen (owned by the
 * server from now on) with the PEM certificate chain and key (copied).
 * Thread per connection; limits from srv->cfg. Returns 0 or SN_ERR_*.
 */
int http_start(struct sn_server *srv, const struct api_route *const *tables,
    int listen_fd, const char *cert_pem, const char *key_pem,
    struct http_server **out);
/*
 * Plain HTTP on listen_fd for http_plain_route_tables (signed answers
 * only); same limits as http_start, no TLS.
 */
int http_start_plain(struct sn_server *srv,
    const struct api_route *const *tables, int listen_fd,
    struct http_server **out);
/*
 * Stops accepting, waits (up to grace_secs) for requests in flight to be
 * answered, then stops the daemon. NULL ok.
 */
void http_stop(struct http_server *h, int grace_secs);

#endif
