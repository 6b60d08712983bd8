/*
 * http.c - the HTTPS front end of signetd (libmicrohttpd, GnuTLS inside)
 * and the socket-free request pipeline (see http.h).
 *
 * Limits, all fixed before any handler runs: request body <= cfg.max_body
 * (checked against Content-Length and again while streaming), JSON nesting
 * <= cfg.max_json_depth (pre-scanned before jansson sees the bytes), headers
 * bounded by MHD's per-connection memory limit, idle connections closed
 * after a timeout, a cap on concurrent connections.
 *
 * This file must never log a header value, a body, or a query string: any
 * of them may carry a credential.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "api.h"
#include "auth.h"
#include "conntrack.h"
#include "credential.h"
#include "encode.h"
#include "err.h"
#include "http.h"
#include "kbuf.h"
#include "metrics.h"
#include "ratelimit.h"
#include "server.h"
#include "session.h"
#include "util.h"

#define HTTP_MEMORY_LIMIT	(64 * 1024)	/* per connection: headers */
#define HTTP_CONN_TIMEOUT	30		/* seconds idle */
#define HTTP_BODY_OUT_MAX	((size_t)1 << 30)	/* a JSON answer at most */
/* Total deadlines (conntrack.c): TLS handshake + headers of the first
 * request, a request body, and idle between requests (the next request's
 * headers included); a trickle of bytes does not extend them. */
#define HTTP_HEAD_DEADLINE	10
#define HTTP_BODY_DEADLINE	30
#define HTTP_IDLE_DEADLINE	HTTP_CONN_TIMEOUT
#define HTTP_DISCARD_FACTOR	4	/* oversized bodies: read this many
					 * times max_body, then hang up */
#define HTTP_FORM_MAX_FIELDS	64
#define HTTP_LOG_PATH_MAX	200
/* GnuTLS defaults still offer TLS 1.0 and 1.1: TLS 1.2 and 1.3 only. */
#define HTTP_TLS_PRIORITIES	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
/* The web console's policy: its own scripts and styles only, no inline
 * code or style attributes, no frames, no other origin. */
#define HTTP_CSP	"default-src 'none'; script-src 'self'; " \
	"style-src 'self'; img-src 'self'; connect-src 'self'; " \
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

struct http_server {
	struct MHD_Daemon *d;
	struct sn_server *srv;
	const struct api_route *const *tables;
	char *cert;
	char *key;
	int port;
	int inflight;			/* atomic: requests not yet answered */
	struct conntrack *ct;
};

struct conn_ctx {
	struct kbuf body;		/* secret, at most cfg.max_body */
	size_t discarded;
	int too_large;
	int duplicate_length;		/* two Content-Length headers: 400 */
	struct timespec start;
};

/* ---- the socket-free pipeline ---- */

int
http_json_depth_ok(const char *buf, size_t len, int max)
{
	int depth = 0, in_str = 0, esc = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		char ch = buf[i];

		if (in_str) {
			if (esc)
				esc = 0;
			else if (ch == '\\')
				esc = 1;
			else if (ch == '"')
				in_str = 0;
			continue;
		}
		if (ch == '"')
			in_str = 1;
		else if (ch == '[' || ch == '{') {
			if (++depth > max)
				return 0;
		} else if (ch == ']' || ch == '}')
			depth--;
	}
	return 1;
}

/* Decodes one form component into a new NUL-terminated string. */
static int
form_decode(const char *s, size_t len, char **out)
{
	char *d;
	size_t i, j = 0;
	int hi, lo;

	*out = NULL;
	if ((d = malloc(len + 1)) == NULL)
		return SN_ERR_NOMEM;
	for (i = 0; i < len; i++) {
		if (s[i] == '+')
			d[j++] = ' ';
		else if (s[i] == '%') {
			if (i + 2 >= len || (hi = sn_hexval(s[i + 1])) < 0 ||
			    (lo = sn_hexval(s[i + 2])) < 0 || (hi | lo) == 0) {
				free(d);
				return SN_ERR_INVALID;	/* bad escape or %00 */
			}
			d[j++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (s[i] == '\0') {
			free(d);
			return SN_ERR_INVALID;
		} else
			d[j++] = s[i];
	}
	d[j] = '\0';
	*out = d;
	return 0;
}

int
http_parse_form(const char *buf, size_t len, json_t **out)
{
	json_t *o = NULL, *v;
	const char *p = buf, *end = buf + len, *amp, *eq;
	char *k = NULL, *val = NULL;
	int r, n = 0;

	*out = NULL;
	if ((o = json_object()) == NULL)
		return SN_ERR_NOMEM;
	while (p < end) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		if (amp == p) {			/* empty field */
			p++;
			continue;
		}
		if (++n > HTTP_FORM_MAX_FIELDS) {
			r = SN_ERR_INVALID;
			goto out;
		}
		if ((eq = memchr(p, '=', (size_t)(amp - p))) == NULL) {
			r = SN_ERR_INVALID;
			goto out;
		}
		if ((r = form_decode(p, (size_t)(eq - p), &k)) != 0 ||
		    (r = form_decode(eq + 1, (size_t)(amp - eq - 1), &val)) != 0)
			goto out;
		if (*k == '\0' || json_object_get(o, k) != NULL) {
			r = SN_ERR_INVALID;
			goto out;
		}
		/* A JSON object's keys are UTF-8 as its strings are: a name
		 * that is not was an internal error (set_new refused it). */
		if ((v = json_string(k)) == NULL) {	/* not UTF-8 */
			r = SN_ERR_INVALID;
			goto out;
		}
		json_decref(v);
		if ((v = json_string(val)) == NULL) {	/* not UTF-8 */
			r = SN_ERR_INVALID;
			goto out;
		}
		if (json_object_set_new(o, k, v) != 0) {
			r = SN_ERR_NOMEM;
			goto out;
		}
		free(k);
		k = NULL;
		sn_strfreezero(val);	/* may be an assertion */
		val = NULL;
		p = amp + 1;
	}
	*out = o;
	o = NULL;
	r = 0;
 out:
	free(k);
	sn_strfreezero(val);
	json_decref(o);
	return r;
}

/* Splits the next '/'-separated segment; returns its length. */
static size_t
seglen(const char *s)
{
	const char *e = strchr(s, '/');

	return e != NULL ? (size_t)(e - s) : strlen(s);
}

/* Matches one pattern against path; captured params point into pbuf. */
static int
match_pattern(const char *pat, const char *path, char *pbuf,
    const char *params[API_MAX_PARAMS], size_t *nparams)
{
	size_t pl, sl, np = 0;
	char *b = pbuf;

	if (*pat != '/' || *path != '/')
		return 0;
	for (;;) {
		pat++;
		path++;
		pl = seglen(pat);
		sl = seglen(path);
		if (pl >= 2 && pat[0] == '{' && pat[pl - 1] == '}') {
			if (sl == 0 || np >= API_MAX_PARAMS)
				return 0;
			memcpy(b, path, sl);
			b[sl] = '\0';
			params[np++] = b;
			b += sl + 1;
		} else if (pl != sl || memcmp(pat, path, pl) != 0)
			return 0;
		pat += pl;
		path += sl;
		if (*pat == '\0' || *path == '\0')
			break;
	}
	if (*pat != '\0' || *path != '\0')
		return 0;
	*nparams = np;
	return 1;
}

const struct api_route *
http_match(const struct api_route *const *tables, const char *method,
    const char *path, char *pbuf, const char *params[API_MAX_PARAMS],
    size_t *nparams, int *wrong_method)
{
	const struct api_route *rt;
	size_t t, i, np;

	*wrong_method = 0;
	*nparams = 0;
	for (t = 0; tables[t] != NULL; t++) {
		for (i = 0; tables[t][i].method != NULL; i++) {
			rt = &tables[t][i];
			if (!match_pattern(rt->pattern, path, pbuf, params, &np))
				continue;
			if (strcmp(rt->method, method) != 0) {
				*wrong_method = 1;
				continue;
			}
			*nparams = np;
			*wrong_method = 0;
			return rt;
		}
	}
	/* leave pbuf/params as scribbled; callers ignore them on NULL */
	*nparams = 0;
	return NULL;
}

/* 1 if the Content-Type value ct is the media type mt (parameters after
 * ';' allowed, as in "application/json; charset=utf-8"). */
static int
media_type_is(const char *ct, const char *mt)
{
	size_t n = strlen(mt);

	if (ct == NULL || strncasecmp(ct, mt, n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

/*
 * A form body: only on routes that take one (the OAuth token endpoint).
 * `curl -d '{...}'` labels JSON as a form too, so there a body that starts
 * like JSON is parsed as JSON.
 */
static int
is_form(const char *ct, const char *body, size_t len)
{
	size_t i;

	if (!media_type_is(ct, "application/x-www-form-urlencoded"))
		return 0;
	for (i = 0; i < len && (body[i] == ' ' || body[i] == '\t' ||
	    body[i] == '\r' || body[i] == '\n'); i++)
		;
	return i < len && body[i] != '{' && body[i] != '[';
}

/*
 * A path with a control character (the transport turns %00 into 0x7f, see
 * mhd_unescape) is refused, never matched as a shorter or different path.
 */
static int
path_has_control(const char *p)
{
	for (; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return 1;
	return 0;
}

/* "Bearer <metrics_token>", compared in constant time over SHA-256s. */
static int
operator_ok(const struct sn_server *srv, const char *authz)
{
	uint8_t want[32], got[32];
	int ok;

	if (srv->cfg.metrics_token == NULL || authz == NULL ||
	    strncasecmp(authz, "Bearer ", 7) != 0)
		return 0;
	ok = credential_hash(srv->cfg.metrics_token, want) == 0 &&
	    credential_hash(authz + 7, got) == 0 &&
	    CRYPTO_memcmp(want, got, sizeof(want)) == 0;
	explicit_bzero(want, sizeof(want));
	explicit_bzero(got, sizeof(got));
	return ok;
}

int
http_process(struct sn_server *srv, const struct api_route *const *tables,
    const struct http_input *in, struct sn_response *resp,
    struct sn_actor *actor)
{
	struct sn_request req;
	const struct api_route *rt = NULL;
	json_error_t jerr;
	char *pbuf = NULL;
	const char *sess;
	int64_t t0 = metrics_now_ns();
	int wrong, r, depth, limited = 0, wait;

	memset(&req, 0, sizeof(req));
	memset(resp, 0, sizeof(*resp));
	if (actor != NULL)
		memset(actor, 0, sizeof(*actor));
	req.srv = srv;
	req.method = in->method;
	req.path = in->path;
	req.source_ip = in->source_ip != NULL ? in->source_ip : "";
	req.user_agent = in->user_agent;
	req.query = in->query;
	req.query_ctx = in->query_ctx;
	req.header = in->header;
	req.cookie = in->cookie;

	if (in->path == NULL || in->method == NULL || in->path[0] != '/' ||
	    strlen(in->path) > 2048) {
		api_error(resp, SN_ERR_NOT_FOUND, "no such endpoint");
		goto out;
	}
	if (path_has_control(in->path)) {
		api_error(resp, SN_ERR_INVALID, "control character in the path");
		goto out;
	}
	if (in->duplicate_length) {
		api_error(resp, SN_ERR_INVALID, "more than one Content-Length "
		    "header");
		goto out;
	}
	if ((pbuf = malloc(strlen(in->path) + 1)) == NULL) {
		api_error(resp, SN_ERR_NOMEM, "out of memory");
		goto out;
	}
	rt = http_match(tables, in->method, in->path, pbuf, req.params,
	    &req.nparams, &wrong);
	if (rt == NULL) {
		if (wrong) {
			resp->status = 405;
			resp->body = json_pack("{s:{s:s,s:s}}", "error", "code",
			    "method_not_allowed", "message",
			    "method not allowed for this endpoint");
		} else
			api_error(resp, SN_ERR_NOT_FOUND, "no such endpoint");
		goto out;
	}
	/*
	 * An address that keeps presenting bad credentials (API keys, access
	 * tokens, service-account assertions) is held back for the rest of the
	 * minute. Public GETs (health, metrics, CRLs) are never held back: a
	 * load balancer probing through the same address must still see us.
	 */
	limited = rt->auth == API_AUTH || rt->auth == API_OPERATOR ||
	    ((rt->auth == API_PUBLIC || rt->auth == API_PUBLIC_FORM) &&
	    strcmp(in->method, "GET") != 0);
	if (limited && (wait = ratelimit_blocked(srv->auth_limiter,
	    req.source_ip, sn_now())) > 0) {
		resp->retry_after = wait;
		api_error(resp, SN_ERR_RATE_LIMITED, "too many failed "
		    "authentications from this address; retry in %d s", wait);
		goto out;
	}
	/*
	 * TSA and OCSP: public, and each answer costs an HSM signature, so
	 * every request (granted or not) counts against the address.
	 */
	if (rt->auth == API_PUBLIC_RAW) {
		if ((wait = ratelimit_blocked(srv->tsa_limiter, req.source_ip,
		    sn_now())) > 0) {
			resp->retry_after = wait;
			api_error(resp, SN_ERR_RATE_LIMITED, "too many "
			    "requests from this address; retry in %d s", wait);
			goto out;
		}
		ratelimit_failure(srv->tsa_limiter, req.source_ip, sn_now());
	}
	if (in->body_too_large || in->body_len > srv->cfg.max_body) {
		api_error(resp, SN_ERR_TOO_LARGE,
		    "request body larger than %zu bytes", srv->cfg.max_body);
		goto out;
	}
	if (rt->auth == API_AUTH && in->authorization == NULL &&
	    (sess = api_cookie(&req, SESSION_COOKIE)) != NULL) {
		/* The web console. A browser sends cookies with cross-site
		 * requests too; only our own page can read the CSRF token. */
		r = session_request(&req, sess, api_header(&req,
		    SESSION_CSRF_HEADER), strcmp(in->method, "GET") != 0 &&
		    strcmp(in->method, "HEAD") != 0);
		if (r != 0) {
			if (r == SN_ERR_UNAUTHENTICATED)
				api_error(resp, r, "session ended or invalid; "
				    "sign in again");
			else if (r == SN_ERR_FORBIDDEN)
				api_error(resp, r, "missing or invalid CSRF "
				    "token (" SESSION_CSRF_HEADER ")");
			else
				api_error(resp, SN_ERR_UNAVAILABLE,
				    "authentication unavailable");
			goto out;
		}
		if (actor != NULL)
			*actor = req.actor;
	} else if (rt->auth == API_AUTH) {
		if ((r = auth_request(&req, in->authorization)) != 0) {
			if (r == SN_ERR_UNAUTHENTICATED)
				api_error(resp, r, "invalid or missing "
				    "credentials");
			else
				api_error(resp, SN_ERR_UNAVAILABLE,
				    "authentication unavailable");
			goto out;
		}
		if (actor != NULL)
			*actor = req.actor;
	}
	if (rt->auth == API_OPERATOR && !operator_ok(srv, in->authorization)) {
		api_error(resp, SN_ERR_UNAUTHENTICATED, "this endpoint needs the "
		    "operator's metrics_token");
		goto out;
	}
	if (rt->auth == API_PUBLIC_RAW) {
		/* DER protocols (RFC 3161): the handler parses the bytes. */
		req.raw_body = (const uint8_t *)in->body;
		req.raw_len = in->body != NULL ? in->body_len : 0;
		req.content_type = in->content_type;
	} else if (in->body_len > 0) {
		depth = srv->cfg.max_json_depth > 0 ? srv->cfg.max_json_depth :
		    32;
		if (rt->auth == API_PUBLIC_FORM && is_form(in->content_type, in->body,
		    in->body_len)) {
			if ((r = http_parse_form(in->body, in->body_len,
			    &req.body)) != 0) {
				api_error(resp, r, "malformed form body");
				goto out;
			}
		} else if (in->content_type != NULL &&
		    !media_type_is(in->content_type, "application/json") &&
		    !(rt->auth == API_PUBLIC_FORM && media_type_is(in->content_type,
		    "application/x-www-form-urlencoded"))) {
			api_error(resp, SN_ERR_MEDIA_TYPE, "request bodies are "
			    "JSON: send Content-Type: application/json");
			goto out;
		} else if (!http_json_depth_ok(in->body, in->body_len, depth)) {
			api_error(resp, SN_ERR_INVALID,
			    "JSON nested deeper than %d levels", depth);
			goto out;
		} else if ((req.body = json_loadb(in->body, in->body_len,
		    JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
			/* jerr.text describes syntax, not content */
			api_error(resp, SN_ERR_INVALID, "malformed JSON at "
			    "position %d", jerr.position);
			goto out;
		}
	}
	r = rt->handler(&req, resp);
	if (r < 0 && resp->body == NULL && resp->raw == NULL)
		api_error(resp, r, NULL);
	else if (r < 0 && resp->status == 0)
		resp->status = api_status_for(r);
	if (resp->status == 0)
		resp->status = 200;
 out:
	if (resp->body == NULL && resp->raw == NULL) {
		/* the handler answered nothing, or we ran out of memory */
		resp->status = resp->status >= 400 ? resp->status : 500;
		resp->body = json_pack("{s:{s:s,s:s}}", "error", "code",
		    "internal", "message", "internal error");
	}
	if (resp->status == 0)
		resp->status = 500;
	if (limited && resp->status == 401)
		ratelimit_failure(srv->auth_limiter, req.source_ip, sn_now());
	json_decref(req.body);
	free(pbuf);
	/* by the route's pattern, never the raw path (unbounded labels) */
	metrics_observe_request(rt != NULL ? rt->pattern : NULL,
	    rt != NULL ? rt->method : NULL, resp->status, metrics_now_ns() - t0);
	return resp->status;
}

/* ---- libmicrohttpd glue ---- */

static const char *
mhd_query(const struct sn_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->query_ctx,
	    MHD_GET_ARGUMENT_KIND, name);
}

static const char *
mhd_header(const struct sn_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->query_ctx, MHD_HEADER_KIND,
	    name);
}

static const char *
mhd_cookie(const struct sn_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->query_ctx, MHD_COOKIE_KIND,
	    name);
}

/*
 * Percent-decoding of the path and query values. MHD's own decoder leaves
 * a %00 as a NUL inside the string, which everything after it reads as the
 * end: "/v1/keys/ID%00/sign" would be served as "/v1/keys/ID". A decoded
 * NUL becomes 0x7f here, a control character like any other, which
 * http_process refuses in a path (400) and the handlers' validation
 * refuses in a value.
 */
static size_t
mhd_unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	size_t n = MHD_http_unescape(s), i;

	(void)cls;
	(void)conn;
	for (i = 0; i < n; i++)
		if (s[i] == '\0')
			s[i] = 0x7f;
	return n;
}

static enum MHD_Result
count_length_header(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	int *n = cls;

	(void)kind;
	(void)value;
	if (key != NULL && strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
		(*n)++;
	return MHD_YES;
}

static void
client_ip(struct MHD_Connection *conn, char *buf, size_t len)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;

	snprintf(buf, len, "-");
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || (sa = ci->client_addr) == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)
		    sa)->sin_addr, buf, (socklen_t)len);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)
		    sa)->sin6_addr, buf, (socklen_t)len);
}

/* A path for the log: printable ASCII only, bounded. */
static void
log_path(const char *p, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; p != NULL && p[i] != '\0' && i + 1 < outlen; i++)
		out[i] = (p[i] > 0x20 && p[i] < 0x7f) ? p[i] : '?';
	out[i] = '\0';
}

static int64_t
elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(now.tv_sec - start->tv_sec) * 1000 +
	    (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* json_dump_callback's writer: appends to a kbuf (-1 stops the dump). */
static int
dump_to_kbuf(const char *p, size_t n, void *arg)
{
	return kbuf_put(arg, p, n) == 0 ? 0 : -1;
}

/* MHD free callback for JSON bodies, which may hold a new credential. */
static void
sn_strfreezero_cb(void *p)
{
	sn_strfreezero(p);
}

static struct conntrack_entry *
conn_entry(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn,
	    MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci != NULL ? ci->socket_context : NULL;
}

static enum MHD_Result
send_response(struct http_server *h, struct MHD_Connection *conn,
    struct conn_ctx *cx, const char *method, const char *url)
{
	struct http_input in;
	struct sn_response resp;
	struct sn_actor actor;
	struct MHD_Response *mr = NULL;
	char ip[INET6_ADDRSTRLEN + 1], ts[32], lp[HTTP_LOG_PATH_MAX + 1];
	char *out = NULL, num[24];
	void (*free_body)(void *) = free;
	size_t outlen = 0;
	const char *ct = "application/json";
	enum MHD_Result ret;
	int status;

	conntrack_phase(h->ct, conn_entry(conn), CONNTRACK_BUSY);
	client_ip(conn, ip, sizeof(ip));
	memset(&in, 0, sizeof(in));
	in.method = method;
	in.path = url;
	in.authorization = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	in.content_type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_TYPE);
	in.user_agent = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_USER_AGENT);
	in.body = (const char *)cx->body.data;
	in.body_len = cx->too_large ? 0 : cx->body.len;
	in.body_too_large = cx->too_large;
	in.duplicate_length = cx->duplicate_length;
	in.source_ip = ip;
	in.query = mhd_query;
	in.query_ctx = conn;
	in.header = mhd_header;
	in.cookie = mhd_cookie;

	__atomic_fetch_add(&h->srv->n_requests, 1, __ATOMIC_RELAXED);
	status = http_process(h->srv, h->tables, &in, &resp, &actor);
	/* The body may hold a secret (a JWT assertion): wipe it now. */
	if (cx->body.data != NULL)
		explicit_bzero(cx->body.data, cx->body.cap);

	if (resp.raw != NULL) {
		out = resp.raw;
		outlen = resp.raw_len;
		resp.raw = NULL;
		if (resp.content_type != NULL)
			ct = resp.content_type;
	} else {
		/*
		 * Dumped once (jansson's dump is a large share of a
		 * signature's CPU) into a secret kbuf: the body may carry a
		 * new API key or access token, so every copy left behind
		 * when the buffer grows is wiped, and so is the body when
		 * MHD frees it.
		 */
		struct kbuf kb;

		kbuf_init_secret(&kb, HTTP_BODY_OUT_MAX);
		if (json_dump_callback(resp.body, dump_to_kbuf, &kb,
		    JSON_COMPACT) == 0 &&
		    kbuf_put(&kb, "\n", 1) == 0 &&	/* for humans with curl */
		    kbuf_steal_str(&kb, &out, &outlen) == 0)
			free_body = sn_strfreezero_cb;
		else
			out = NULL;
		kbuf_free(&kb);
	}
	if (out == NULL) {
		status = 500;
		outlen = 0;
	}
	mr = MHD_create_response_from_buffer_with_free_callback(outlen,
	    out != NULL ? out : (char *)"", out != NULL ? free_body : NULL);
	if (mr == NULL) {
		free_body(out);
		ret = MHD_NO;
		goto log;
	}
	MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, ct);
	MHD_add_response_header(mr, MHD_HTTP_HEADER_CACHE_CONTROL,
	    resp.cache_control != NULL ? resp.cache_control : "no-store");
	MHD_add_response_header(mr, "X-Content-Type-Options", "nosniff");
	/* Every answer, JSON included: nothing of ours runs inline code,
	 * loads from elsewhere or may be framed. */
	MHD_add_response_header(mr, "Content-Security-Policy", HTTP_CSP);
	MHD_add_response_header(mr, "X-Frame-Options", "DENY");
	MHD_add_response_header(mr, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(mr, "Cross-Origin-Opener-Policy",
	    "same-origin");
	if (resp.etag != NULL)
		MHD_add_response_header(mr, MHD_HTTP_HEADER_ETAG, resp.etag);
	if (resp.preference_applied != NULL)
		MHD_add_response_header(mr, "Preference-Applied",
		    resp.preference_applied);
	if (resp.location != NULL)
		MHD_add_response_header(mr, MHD_HTTP_HEADER_LOCATION,
		    resp.location);
	if (resp.set_cookie != NULL)
		MHD_add_response_header(mr, MHD_HTTP_HEADER_SET_COOKIE,
		    resp.set_cookie);
	if (status == 401)
		MHD_add_response_header(mr, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		    "Bearer");
	if (resp.retry_after > 0) {
		snprintf(num, sizeof(num), "%d", resp.retry_after);
		MHD_add_response_header(mr, MHD_HTTP_HEADER_RETRY_AFTER, num);
	}
	if (cx->too_large || cx->duplicate_length)
		MHD_add_response_header(mr, MHD_HTTP_HEADER_CONNECTION, "close");
	ret = MHD_queue_response(conn, (unsigned int)status, mr);
	MHD_destroy_response(mr);
 log:
	sn_format_time(sn_now(), ts);
	log_path(url, lp, sizeof(lp));
	fprintf(stderr, "%s %s %s %s %d %s %lldms\n", ts, ip, method, lp,
	    status, actor.id[0] != '\0' ? actor.id : "-",
	    (long long)elapsed_ms(&cx->start));
	api_response_clear(&resp);
	return ret;
}

static enum MHD_Result
access_cb(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct http_server *h = cls;
	struct conn_ctx *cx = *con_cls;
	size_t max = h->srv->cfg.max_body, n = *upload_data_size;
	const char *cl;
	long long clv;
	int ncl = 0, r;

	if (cx == NULL) {
		if ((cx = calloc(1, sizeof(*cx))) == NULL)
			return MHD_NO;
		/* The body may hold a secret (a JWT assertion): wiped as it
		 * grows, after the handler ran, and when freed. */
		kbuf_init_secret(&cx->body, max);
		clock_gettime(CLOCK_MONOTONIC, &cx->start);
		__atomic_fetch_add(&h->inflight, 1, __ATOMIC_SEQ_CST);
		/* the headers are in: the body's own deadline starts */
		conntrack_phase(h->ct, conn_entry(conn), CONNTRACK_BODY);
		*con_cls = cx;
		/*
		 * Two Content-Length headers frame the body ambiguously (a
		 * proxy in front may read the other one): refuse before
		 * reading any of it, and close.
		 */
		MHD_get_connection_values(conn, MHD_HEADER_KIND,
		    count_length_header, &ncl);
		if (ncl > 1) {
			cx->duplicate_length = 1;
			return send_response(h, conn, cx, method, url);
		}
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL && (sn_parse_int(cl, 0, INT64_MAX, &clv) != 0 ||
		    (unsigned long long)clv > max)) {
			/* Answer before reading: no 100-continue is sent. */
			cx->too_large = 1;
			return send_response(h, conn, cx, method, url);
		}
		return MHD_YES;
	}
	if (n > 0) {
		if (!cx->too_large &&
		    (r = kbuf_put(&cx->body, upload_data, n)) != 0) {
			if (r != SN_ERR_TOO_LARGE)
				return MHD_NO;
			cx->too_large = 1;
			kbuf_free(&cx->body);
		}
		if (cx->too_large) {
			cx->discarded += n;
			*upload_data_size = 0;
			/* Do not read an endless body: hang up. */
			return cx->discarded > HTTP_DISCARD_FACTOR * max ?
			    MHD_NO : MHD_YES;
		}
		/* Handlers get a C string too, though all of them take len. */
		if (kbuf_nul(&cx->body) != 0)
			return MHD_NO;
		*upload_data_size = 0;
		return MHD_YES;
	}
	return send_response(h, conn, cx, method, url);
}

static void
completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct http_server *h = cls;
	struct conn_ctx *cx = *con_cls;

	(void)toe;
	/* kept alive: the wait for the next request has its deadline */
	conntrack_phase(h->ct, conn_entry(conn), CONNTRACK_IDLE);
	if (cx == NULL)
		return;
	kbuf_free(&cx->body);
	free(cx);
	*con_cls = NULL;
	__atomic_fetch_sub(&h->inflight, 1, __ATOMIC_SEQ_CST);
}

/* Every connection is tracked from accept to close (conntrack.c). */
static void
notify_connection(void *cls, struct MHD_Connection *conn,
    void **socket_context, enum MHD_ConnectionNotificationCode code)
{
	struct http_server *h = cls;
	const union MHD_ConnectionInfo *ci;
	char ip[INET6_ADDRSTRLEN + 1];

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(conn,
		    MHD_CONNECTION_INFO_CONNECTION_FD);
		client_ip(conn, ip, sizeof(ip));
		*socket_context = conntrack_open(h->ct, ci != NULL ?
		    (int)ci->connect_fd : -1, ip);
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		conntrack_close(h->ct, *socket_context);
		*socket_context = NULL;
	}
}

/*
 * MHD's own diagnostics; fmt comes from libmicrohttpd, never from a peer.
 * Any client can make MHD complain (a broken TLS handshake is one line), so
 * at most MHD_LOG_PER_SEC lines are written per second and the rest counted,
 * lest an unauthenticated client fill the log.
 */
#define MHD_LOG_PER_SEC	20

static void __attribute__((format(printf, 2, 0)))
mhd_log(void *cls, const char *fmt, va_list ap)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static int64_t window;
	static unsigned long lines, dropped;
	int64_t now = sn_now();
	unsigned long was_dropped = 0;
	int print;

	pthread_mutex_lock(&lock);
	if (now != window) {
		was_dropped = dropped;
		window = now;
		lines = dropped = 0;
	}
	if ((print = lines < MHD_LOG_PER_SEC))
		lines++;
	else
		dropped++;
	pthread_mutex_unlock(&lock);
	if (was_dropped > 0)
		fprintf(stderr, "signetd: http: %lu similar messages suppressed\n",
		    was_dropped);
	if (!print)
		return;
	fprintf(stderr, "signetd: http: ");
	vfprintf(stderr, fmt, ap);
}

int
http_listen(const char *host, int port, int *fd, int *bound_port)
{
	struct addrinfo hints, *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int s = -1, one = 1, gai, r;

	*fd = -1;
	*bound_port = 0;
	if (host == NULL || port < 0 || port > 65535)
		return SN_ERR_INVALID;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if ((gai = getaddrinfo(host, NULL, &hints, &ai)) != 0 || ai == NULL) {
		fprintf(stderr, "signetd: cannot resolve listen address %s: "
		    "%s\n", host, gai_strerror(gai));
		return SN_ERR_INVALID;
	}
	if (ai->ai_family == AF_INET)
		((struct sockaddr_in *)(void *)ai->ai_addr)->sin_port =
		    htons((uint16_t)port);
	else if (ai->ai_family == AF_INET6)
		((struct sockaddr_in6 *)(void *)ai->ai_addr)->sin6_port =
		    htons((uint16_t)port);
	if ((s = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(s, ai->ai_addr, ai->ai_addrlen) != 0 ||
	    listen(s, 128) != 0 ||
	    getsockname(s, (struct sockaddr *)&ss, &sl) != 0) {
		fprintf(stderr, "signetd: cannot listen on %s:%d: %s\n", host,
		    port, strerror(errno));
		r = SN_ERR_IO;
		goto out;
	}
	if (ss.ss_family == AF_INET)
		*bound_port = ntohs(((struct sockaddr_in *)(void *)&ss)->sin_port);
	else
		*bound_port = ntohs(((struct sockaddr_in6 *)(void *)&ss)->sin6_port);
	*fd = s;
	s = -1;
	r = 0;
 out:
	if (s >= 0)
		close(s);
	freeaddrinfo(ai);
	return r;
}

static int
start_daemon(struct sn_server *srv, const struct api_route *const *tables,
    int listen_fd, const char *cert_pem, const char *key_pem,
    struct http_server **out);

int
http_start(struct sn_server *srv, const struct api_route *const *tables,
    int listen_fd, const char *cert_pem, const char *key_pem,
    struct http_server **out)
{
	*out = NULL;
	if (cert_pem == NULL || key_pem == NULL)
		return SN_ERR_INVALID;
	return start_daemon(srv, tables, listen_fd, cert_pem, key_pem, out);
}

int
http_start_plain(struct sn_server *srv, const struct api_route *const *tables,
    int listen_fd, struct http_server **out)
{
	return start_daemon(srv, tables, listen_fd, NULL, NULL, out);
}

/* HTTPS with cert_pem and key_pem, or plain HTTP when both are NULL. */
static int
start_daemon(struct sn_server *srv, const struct api_route *const *tables,
    int listen_fd, const char *cert_pem, const char *key_pem,
    struct http_server **out)
{
	struct http_server *h = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	unsigned int flags;
	int r;

	*out = NULL;
	if (listen_fd < 0 || (cert_pem == NULL) != (key_pem == NULL) ||
	    getsockname(listen_fd, (struct sockaddr *)&ss, &sl) != 0)
		return SN_ERR_INVALID;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return SN_ERR_NOMEM;
	h->srv = srv;
	h->tables = tables;
	h->port = ntohs(ss.ss_family == AF_INET ?
	    ((struct sockaddr_in *)(void *)&ss)->sin_port :
	    ((struct sockaddr_in6 *)(void *)&ss)->sin6_port);
	if (cert_pem != NULL && ((h->cert = strdup(cert_pem)) == NULL ||
	    (h->key = strdup(key_pem)) == NULL)) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	if ((r = conntrack_new((size_t)srv->cfg.max_connections,
	    HTTP_HEAD_DEADLINE, HTTP_BODY_DEADLINE, HTTP_IDLE_DEADLINE,
	    &h->ct)) != 0)
		goto out;
	/* poll(), not select(): each connection also has conntrack's
	 * descriptor, so numbers pass FD_SETSIZE well before the limit */
	flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_POLL | MHD_USE_ERROR_LOG | MHD_USE_ITC;
	if (cert_pem != NULL)
		flags |= MHD_USE_TLS;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* Plain HTTP: the TLS options are skipped (MHD_OPTION_ARRAY with
	 * nothing in it stands in for them). */
	struct MHD_OptionItem tls_opts[] = {
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, h->cert },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, h->key },
		{ MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)HTTP_TLS_PRIORITIES },
		{ MHD_OPTION_END, 0, NULL },
	};
	struct MHD_OptionItem no_opts[] = {
		{ MHD_OPTION_END, 0, NULL },
	};
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, access_cb, h,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_UNESCAPE_CALLBACK, mhd_unescape, NULL,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)listen_fd,
	    MHD_OPTION_ARRAY, cert_pem != NULL ? tls_opts : no_opts,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_MEMORY_LIMIT,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)HTTP_CONN_TIMEOUT,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)srv->cfg.max_connections,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	    (unsigned int)srv->cfg.max_connections_per_ip,
	    MHD_OPTION_NOTIFY_COMPLETED, completed_cb, h,
	    MHD_OPTION_NOTIFY_CONNECTION, notify_connection, h,
	    MHD_OPTION_END);
	if (h->d == NULL) {
		fprintf(stderr, "signetd: cannot start the HTTP%s server\n",
		    cert_pem != NULL ? "S" : "");
		r = SN_ERR_IO;
		goto out;
	}
	*out = h;
	h = NULL;
	r = 0;
 out:
	if (h != NULL) {
		conntrack_free(h->ct);
		sn_strfreezero(h->key);
		free(h->cert);
		free(h);
	}
	return r;
}

void
http_stop(struct http_server *h, int grace_secs)
{
	int waited_ms = 0;

	if (h == NULL)
		return;
	if (h->d != NULL) {
		/* Stop accepting; requests in flight are still answered. */
		MHD_socket ls = MHD_quiesce_daemon(h->d);

		if (ls != MHD_INVALID_SOCKET)
			close(ls);
		while (__atomic_load_n(&h->inflight, __ATOMIC_SEQ_CST) > 0 &&
		    waited_ms < grace_secs * 1000) {
			usleep(20000);
			waited_ms += 20;
		}
		MHD_stop_daemon(h->d);
	}
	conntrack_free(h->ct);
	sn_strfreezero(h->key);
	free(h->cert);
	free(h);
}
