/*
 * client.c - the HTTPS client: a small pool of libcurl easy handles per
 * struct sn_client (SN_CLIENT_POOL_MAX), so that threads of one process
 * send their requests at the same time, each on its own kept-alive
 * connection. The handles share one libcurl share object: the connection
 * cache (a connection one handle opened is reused by the next that is
 * free), TLS sessions (a new connection resumes the TLS session of an
 * earlier one instead of a full handshake) and the DNS cache. The TLS
 * session cache lives in memory only: written to disk for the next
 * process it would be resumption key material in a file, readable by
 * whoever can read that file, so every process does one full handshake.
 *
 * This code is linked into signet-pkcs11.so, which any program may load
 * (even twice, through different paths): so no process-wide state beyond
 * libcurl's own global init (done once, never cleaned up, since another
 * user of libcurl in the same process may still need it), nothing written to
 * stdout, and the bearer secret never goes to a log or an error message.
 * TLS verification is always on; there is no option to turn it off.
 *
 * Fork safety: a child process that inherits a client also inherits the
 * parent's TLS connection (socket + OpenSSL session state). Closing it in
 * the child would send a close_notify on the parent's socket and corrupt
 * the parent's session; reusing it would interleave two processes' TLS
 * records. So on the first call in a new process (getpid() changed) the
 * inherited easy handle is deliberately forgotten (leaked: its memory is the
 * child's private copy, and it is abandoned once per fork) and a fresh
 * handle opens a new connection. The mutex is re-initialised at the same
 * moment, since a fork while another thread held it leaves it locked in the
 * child; this must happen before the child starts threads of its own that
 * use the client, which is the normal fork/exec or fork/work pattern.
 */
#include <errno.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/pem.h>

#include "client.h"
#include "client_oidc.h"
#include "encode.h"
#include "err.h"
#include "kbuf.h"
#include "pem.h"
#include "util.h"

#define ERRMSG_MAX	512
#define TOKEN_REFRESH_MARGIN	60	/* seconds before expiry */

/*
 * The client's mutable state is guarded by lock; the easy handles by
 * their busy flags (taken and given back under lock); the share object by
 * its own per-data locks, which libcurl takes through share_lock().
 */
struct sn_client {
	pthread_mutex_t lock;
	pthread_cond_t conn_free;	/* a busy handle was given back */
	pid_t pid;
	CURL *curl[SN_CLIENT_POOL_MAX];	/* created on demand */
	int busy[SN_CLIENT_POOL_MAX];
	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
	struct sn_client_config cfg;
	char *token;		/* service-account access token (secret) */
	int64_t token_exp;
	char hostname[256];
	char user[64];
	char process[64];
	int no_threads;		/* never let libcurl start a thread */
	struct curl_slist *resolve;	/* no_threads: the host, looked up */
};

/*
 * An answer being read: a secret kbuf (answers can carry a new API key or
 * an access token, so every copy left by growing is wiped) bounded by
 * SN_CLIENT_RESP_MAX, and why write_cb last refused bytes.
 */
struct resp_buf {
	struct kbuf k;
	int err;		/* SN_ERR_TOO_LARGE or SN_ERR_NOMEM */
};

/*
 * What a conditional GET adds to one exchange (sn_client_get_cond): the
 * validator sent as If-None-Match, and the answer's ETag copied back ("" when
 * it has none, or one too long or with bytes no validator has).
 */
struct http_cond {
	const char *if_none_match;
	char etag[SN_CLIENT_ETAG_MAX + 1];
	int etags;		/* ETag fields in the answer */
};

/* One message per thread: the last error of this thread's last call. */
static __thread char client_errmsg[ERRMSG_MAX];
/*
 * The Prefer field (RFC 7240) of this thread's request being sent, or NULL:
 * set by sn_client_sign and sn_client_sign_batch around their one request
 * (unless require_inclusion_proof needs the event), so that the answer
 * leaves out the audit event nobody here checks (docs/API.md "Sign").
 */
static __thread const char *client_prefer;
/* Seconds from this thread's last 429 answer (Retry-After), or 0. */
static __thread long client_retry_after;
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void
curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void
set_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
set_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(client_errmsg, sizeof(client_errmsg), fmt, ap);
	va_end(ap);
}

const char *
sn_client_errmsg(struct sn_client *c)
{
	(void)c;
	return client_errmsg;
}

/*
 * The audit trail's client fields must be valid JSON strings: a host,
 * user or program name that is not printable ASCII (a Latin-1 file name,
 * say) would make json_string() fail and with it every signature.
 */
static void
ascii_only(char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
	}
}

static void
identify_caller(struct sn_client *c)
{
	struct passwd pw, *pwp = NULL;
	char buf[1024];
	const char *u = NULL;

	if (gethostname(c->hostname, sizeof(c->hostname)) != 0)
		c->hostname[0] = '\0';
	c->hostname[sizeof(c->hostname) - 1] = '\0';
	if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &pwp) == 0 &&
	    pwp != NULL)
		u = pwp->pw_name;
	else
		u = getenv("USER");
	snprintf(c->user, sizeof(c->user), "%s", u != NULL ? u : "");
	snprintf(c->process, sizeof(c->process), "%s",
	    program_invocation_short_name != NULL ?
	    program_invocation_short_name : "");
	ascii_only(c->hostname);
	ascii_only(c->user);
	ascii_only(c->process);
}

static void
share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *arg)
{
	struct sn_client *c = arg;

	(void)h;
	(void)access;
	if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&c->share_locks[data]);
}

static void
share_unlock(CURL *h, curl_lock_data data, void *arg)
{
	struct sn_client *c = arg;

	(void)h;
	if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&c->share_locks[data]);
}

/*
 * A fresh share object and empty pool (at creation, and in a forked child,
 * which must not touch its parent's connections: see lock_client).
 * NULL share on failure: the handles then work unshared.
 */
static void
pool_init(struct sn_client *c)
{
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&c->share_locks[i], NULL);
	for (int i = 0; i < SN_CLIENT_POOL_MAX; i++) {
		c->curl[i] = NULL;
		c->busy[i] = 0;
	}
	if ((c->share = curl_share_init()) == NULL)
		return;
	if (curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock) !=
	    CURLSHE_OK ||
	    curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock) !=
	    CURLSHE_OK ||
	    curl_share_setopt(c->share, CURLSHOPT_USERDATA, c) != CURLSHE_OK ||
	    curl_share_setopt(c->share, CURLSHOPT_SHARE,
	    CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK ||
	    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) !=
	    CURLSHE_OK ||
	    curl_share_setopt(c->share, CURLSHOPT_SHARE,
	    CURL_LOCK_DATA_CONNECT) != CURLSHE_OK) {
		curl_share_cleanup(c->share);
		c->share = NULL;
	}
}

int
sn_client_new(const struct sn_client_config *cfg, struct sn_client **out)
{
	struct sn_client *c = NULL;
	size_t ulen;
	int r;

	*out = NULL;
	client_errmsg[0] = '\0';
	if (cfg->url == NULL || *cfg->url == '\0') {
		set_err("no server URL configured (signet login --url, or "
		    "SIGNET_URL)");
		return SN_ERR_INVALID;
	}
	if (strncmp(cfg->url, "https://", 8) != 0) {
		set_err("the server URL must start with https://");
		return SN_ERR_INVALID;
	}
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != CURLE_OK) {
		set_err("libcurl initialisation failed");
		return SN_ERR_INTERNAL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return SN_ERR_NOMEM;
	if ((r = sn_config_copy(cfg, &c->cfg)) != 0) {
		free(c);
		return r;
	}
	/* No trailing slash: paths are appended as "/v1/...". */
	ulen = strlen(c->cfg.url);
	while (ulen > 8 && c->cfg.url[ulen - 1] == '/')
		c->cfg.url[--ulen] = '\0';
	if (pthread_mutex_init(&c->lock, NULL) != 0 ||
	    pthread_cond_init(&c->conn_free, NULL) != 0) {
		sn_config_clear(&c->cfg);
		free(c);
		return SN_ERR_INTERNAL;
	}
	pool_init(c);
	c->pid = getpid();
	identify_caller(c);
	*out = c;
	return 0;
}

void
sn_client_free(struct sn_client *c)
{
	if (c == NULL)
		return;
	/* Only close connections that belong to this process. */
	if (c->pid == getpid()) {
		for (int i = 0; i < SN_CLIENT_POOL_MAX; i++) {
			if (c->curl[i] != NULL)
				curl_easy_cleanup(c->curl[i]);
		}
		if (c->share != NULL)
			curl_share_cleanup(c->share);
		for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
			pthread_mutex_destroy(&c->share_locks[i]);
	}
	pthread_cond_destroy(&c->conn_free);
	pthread_mutex_destroy(&c->lock);
	curl_slist_free_all(c->resolve);
	sn_config_clear(&c->cfg);
	sn_strfreezero(c->token);
	free(c);
}

static void
resp_init(struct resp_buf *b)
{
	kbuf_init_secret(&b->k, SN_CLIENT_RESP_MAX);
	b->err = 0;
}

/* Wipes and frees the answer; b may be freed again. */
static void
resp_free(struct resp_buf *b)
{
	kbuf_free(&b->k);
}

static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct resp_buf *b = arg;
	size_t n = size * nmemb;	/* size is always 1 (libcurl) */

	if ((b->err = kbuf_put(&b->k, ptr, n)) != 0)
		return 0;
	return n;
}

/*
 * Lock held: takes a free easy handle (creating one when fewer than
 * SN_CLIENT_POOL_MAX exist; waiting when all are busy). *slot names it
 * for conn_put.
 */
static int
conn_get(struct sn_client *c, int *slot)
{
	for (;;) {
		int empty = -1;

		for (int i = 0; i < SN_CLIENT_POOL_MAX; i++) {
			if (c->curl[i] != NULL && !c->busy[i]) {
				c->busy[i] = 1;
				*slot = i;
				return 0;
			}
			if (c->curl[i] == NULL && empty < 0)
				empty = i;
		}
		if (empty >= 0) {
			if ((c->curl[empty] = curl_easy_init()) == NULL) {
				set_err("cannot create a libcurl handle");
				return SN_ERR_NOMEM;
			}
			c->busy[empty] = 1;
			*slot = empty;
			return 0;
		}
		pthread_cond_wait(&c->conn_free, &c->lock);
	}
}

/* Lock held: gives the handle back. */
static void
conn_put(struct sn_client *c, int slot)
{
	c->busy[slot] = 0;
	pthread_cond_signal(&c->conn_free);
}

void
sn_client_set_no_threads(struct sn_client *c)
{
	c->no_threads = 1;
}

/*
 * no_threads: the service's address, looked up once in this thread and
 * handed to libcurl, whose own resolver would start a thread (resolve.c).
 * Lock held.
 */
static int
pin_resolve(struct sn_client *c, CURL *h)
{
	char why[256] = "";
	int r;

	if (c->resolve == NULL) {
		if ((r = sn_resolve_pin(c->cfg.url, &c->resolve, why,
		    sizeof(why))) != 0) {
			set_err("%s", why[0] != '\0' ? why : sn_strerror(r));
			return r;
		}
		if (c->resolve == NULL)
			return 0;	/* an IP literal */
	}
	if (curl_easy_setopt(h, CURLOPT_RESOLVE, c->resolve) != CURLE_OK) {
		set_err("cannot configure libcurl");
		return SN_ERR_INTERNAL;
	}
	return 0;
}

static void
lock_client(struct sn_client *c)
{
	pid_t me = getpid();

	if (c->pid != me) {
		/*
		 * See the comment at the top: forget, do not close. The
		 * share object goes too: it holds the parent's connection
		 * cache, and its locks may have been held at the fork.
		 */
		pthread_mutex_init(&c->lock, NULL);
		pthread_cond_init(&c->conn_free, NULL);
		pool_init(c);
		c->pid = me;
	}
	pthread_mutex_lock(&c->lock);
}

static int
map_curl_error(CURLcode cc, const struct resp_buf *b, const char *url)
{
	switch (cc) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
		set_err("TLS with %s failed: %s", url, curl_easy_strerror(cc));
		return SN_ERR_TLS;
	case CURLE_WRITE_ERROR:
		if (b->err == SN_ERR_TOO_LARGE) {
			set_err("the server's answer is larger than %d bytes",
			    SN_CLIENT_RESP_MAX);
			return SN_ERR_TOO_LARGE;
		}
		set_err("out of memory reading the server's answer");
		return SN_ERR_NOMEM;
	case CURLE_FILESIZE_EXCEEDED:
		set_err("the server's answer is larger than %d bytes",
		    SN_CLIENT_RESP_MAX);
		return SN_ERR_TOO_LARGE;
	case CURLE_OUT_OF_MEMORY:
		set_err("out of memory");
		return SN_ERR_NOMEM;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		set_err("bad server URL %s: %s", url, curl_easy_strerror(cc));
		return SN_ERR_INVALID;
	default:
		set_err("cannot reach %s: %s", url, curl_easy_strerror(cc));
		return SN_ERR_NETWORK;
	}
}

static int
map_status(long status)
{
	switch (status) {
	case 400: return SN_ERR_INVALID;
	case 401: return SN_ERR_UNAUTHENTICATED;
	case 403: return SN_ERR_FORBIDDEN;
	case 404: return SN_ERR_NOT_FOUND;
	case 405: return SN_ERR_INVALID;
	case 409: return SN_ERR_CONFLICT;
	case 413: return SN_ERR_TOO_LARGE;
	case 429: return SN_ERR_RATE_LIMITED;
	case 502: case 503: case 504: return SN_ERR_UNAVAILABLE;
	default:
		if (status >= 500)
			return SN_ERR_INTERNAL;
		return SN_ERR_PROTOCOL;
	}
}

/* Keeps the server's error.message (or a fallback) as the last error. */
static void
error_from_body(long status, const struct resp_buf *b, long retry_after)
{
	json_t *j = NULL, *e, *m;
	json_error_t jerr;

	if (b->k.len > 0)
		j = json_loadb((const char *)b->k.data, b->k.len, 0, &jerr);
	if (j != NULL && (e = json_object_get(j, "error")) != NULL &&
	    (m = json_object_get(e, "message")) != NULL && json_is_string(m))
		set_err("%s", json_string_value(m));
	else
		set_err("HTTP status %ld from the server", status);
	if (status == 429 && retry_after > 0) {
		size_t l = strlen(client_errmsg);

		snprintf(client_errmsg + l, sizeof(client_errmsg) - l,
		    " (retry after %ld s)", retry_after);
	}
	json_decref(j);
}

/*
 * Appends "If-None-Match: V" (cond->if_none_match, if set) to *hdrs; *line
 * is the caller's to free. A value with a byte outside printable ASCII or
 * longer than SN_CLIENT_ETAG_MAX is refused (SN_ERR_INVALID): it could
 * only split the header.
 */
static int
add_if_none_match(struct curl_slist **hdrs, const struct http_cond *cond,
    char **line)
{
	const char *v = cond->if_none_match;
	struct curl_slist *t;
	size_t len;

	if (v == NULL)
		return 0;
	len = strlen(v);
	if (len == 0 || len > SN_CLIENT_ETAG_MAX)
		return SN_ERR_INVALID;
	for (size_t i = 0; i < len; i++)
		if (v[i] < 0x20 || v[i] > 0x7e)
			return SN_ERR_INVALID;
	if ((*line = malloc(len + sizeof("If-None-Match: "))) == NULL)
		return SN_ERR_NOMEM;
	snprintf(*line, len + sizeof("If-None-Match: "), "If-None-Match: %s", v);
	if ((t = curl_slist_append(*hdrs, *line)) == NULL)
		return SN_ERR_NOMEM;
	*hdrs = t;
	return 0;
}

/*
 * libcurl's header callback with cond: keeps the value of the answer's
 * ETag field. A status line starts a new answer (an interim 1xx, or the
 * retry after a 401). More than one ETag, or one too long or with a byte
 * outside printable ASCII, leaves none: the caller would only send it back.
 */
static size_t
header_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct http_cond *cond = arg;
	size_t n = size * nmemb, len;	/* size is always 1 (libcurl) */
	const char *v = ptr + 5;

	if (n >= 5 && memcmp(ptr, "HTTP/", 5) == 0) {
		cond->etag[0] = '\0';
		cond->etags = 0;
		return n;
	}
	if (n < 5 || strncasecmp(ptr, "etag:", 5) != 0)
		return n;
	cond->etags++;
	cond->etag[0] = '\0';
	len = n - 5;
	while (len > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' ||
	    v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	if (len == 0 || len > SN_CLIENT_ETAG_MAX)
		return n;
	for (size_t i = 0; i < len; i++)
		if (v[i] < 0x20 || v[i] > 0x7e)
			return n;
	memcpy(cond->etag, v, len);
	cond->etag[len] = '\0';
	return n;
}

/*
 * One HTTP exchange, lock held on entry and on return; it is let go
 * while the request runs on a handle of the pool, so other threads' requests
 * run at the same time. bearer may be NULL (public endpoints); the caller
 * keeps it alive. On success the body is in *b (caller frees it with resp_free).
 */
static int
do_http(struct sn_client *c, const char *method, const char *path,
    const char *ctype, const char *body, size_t bodylen, const char *bearer,
    struct http_cond *cond, long *status, struct resp_buf *b)
{
	struct curl_slist *hdrs = NULL, *t;
	char *url = NULL, *auth = NULL, *ct = NULL, *inm = NULL;
	size_t ulen, alen = 0;
	CURLcode cc;
	CURL *h;
	int r, slot = -1;

	*status = 0;
	resp_init(b);
	if ((r = conn_get(c, &slot)) != 0)
		return r;
	h = c->curl[slot];
	ulen = strlen(c->cfg.url) + strlen(path) + 1;
	if ((url = malloc(ulen)) == NULL) {
		conn_put(c, slot);
		return SN_ERR_NOMEM;
	}
	snprintf(url, ulen, "%s%s", c->cfg.url, path);

	/* Reset keeps the live connection and TLS session cache. */
	curl_easy_reset(h);
	if (curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
#if LIBCURL_VERSION_NUM >= 0x075500
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK ||
#else
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTPS)
	    != CURLE_OK ||
#endif
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)SN_CLIENT_RESP_MAX) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_USERAGENT, "signet/" SIGNET_VERSION)
	    != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, b) != CURLE_OK ||
	    (c->share != NULL &&
	    curl_easy_setopt(h, CURLOPT_SHARE, c->share) != CURLE_OK)) {
		set_err("cannot configure libcurl");
		r = SN_ERR_INTERNAL;
		goto out;
	}
	if (c->no_threads && (r = pin_resolve(c, h)) != 0)
		goto out;
	if (c->cfg.ca_file != NULL &&
	    curl_easy_setopt(h, CURLOPT_CAINFO, c->cfg.ca_file) != CURLE_OK) {
		set_err("cannot set the CA file");
		r = SN_ERR_INTERNAL;
		goto out;
	}
	if (bearer != NULL) {
		alen = strlen(bearer) + 32;
		if ((auth = malloc(alen)) == NULL) {
			r = SN_ERR_NOMEM;
			goto out;
		}
		snprintf(auth, alen, "Authorization: Bearer %s", bearer);
		if ((t = curl_slist_append(hdrs, auth)) == NULL) {
			r = SN_ERR_NOMEM;
			goto out;
		}
		hdrs = t;
	}
	if ((t = curl_slist_append(hdrs, "Accept: application/json")) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	hdrs = t;
	if (cond != NULL && ((r = add_if_none_match(&hdrs, cond, &inm)) != 0 ||
	    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb) !=
	    CURLE_OK || curl_easy_setopt(h, CURLOPT_HEADERDATA, cond) !=
	    CURLE_OK)) {
		if (r == 0)
			r = SN_ERR_INTERNAL;
		goto out;
	}
	/* No "Expect: 100-continue" round trip. */
	if ((t = curl_slist_append(hdrs, "Expect:")) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	hdrs = t;
	if (body != NULL) {
		size_t clen = strlen(ctype) + 32;

		if ((ct = malloc(clen)) == NULL) {
			r = SN_ERR_NOMEM;
			goto out;
		}
		snprintf(ct, clen, "Content-Type: %s", ctype);
		if ((t = curl_slist_append(hdrs, ct)) == NULL) {
			r = SN_ERR_NOMEM;
			goto out;
		}
		hdrs = t;
		if (client_prefer != NULL) {
			if ((t = curl_slist_append(hdrs, client_prefer)) ==
			    NULL) {
				r = SN_ERR_NOMEM;
				goto out;
			}
			hdrs = t;
		}
		if (curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)bodylen) != CURLE_OK ||
		    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body) != CURLE_OK) {
			r = SN_ERR_INTERNAL;
			goto out;
		}
	}
	if (body == NULL && strcmp(method, "GET") != 0) {
		/* An explicit empty body (Content-Length: 0), no type. */
		if ((t = curl_slist_append(hdrs, "Content-Type:")) == NULL) {
			r = SN_ERR_NOMEM;
			goto out;
		}
		hdrs = t;
		if (curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)0) != CURLE_OK ||
		    curl_easy_setopt(h, CURLOPT_POSTFIELDS, "") != CURLE_OK) {
			r = SN_ERR_INTERNAL;
			goto out;
		}
	}
	if (strcmp(method, "GET") == 0)
		cc = curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	else if (strcmp(method, "POST") == 0 && body != NULL)
		cc = CURLE_OK;
	else
		cc = curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (cc != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK) {
		r = SN_ERR_INTERNAL;
		goto out;
	}
	/* The request itself runs unlocked: the handle is ours alone. */
	pthread_mutex_unlock(&c->lock);
	cc = curl_easy_perform(h);
	pthread_mutex_lock(&c->lock);
	if (cc != CURLE_OK) {
		r = map_curl_error(cc, b, c->cfg.url);
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	client_retry_after = 0;
	if (*status == 429) {
		curl_off_t ra = 0;

		if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK &&
		    ra > 0 && ra < 86400)
			client_retry_after = (long)ra;
	}
	if (cond != NULL && cond->etags != 1)
		cond->etag[0] = '\0';
	r = 0;
 out:
	/* The header list held the secret: wipe the copies we made. */
	if (hdrs != NULL && curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL)
	    == CURLE_OK) {
		for (t = hdrs; t != NULL; t = t->next)
			explicit_bzero(t->data, strlen(t->data));
	}
	curl_slist_free_all(hdrs);
	conn_put(c, slot);
	if (auth != NULL)
		sn_freezero(auth, alen);
	free(ct);
	free(inm);
	free(url);
	if (r != 0)
		resp_free(b);
	return r;
}

/* --- service accounts: JWT bearer grant --------------------------------- */

static int
load_sa_key(const char *path, EVP_PKEY **out)
{
	char *pem = NULL;
	size_t len = 0;
	int r;

	*out = NULL;
	if ((r = sn_read_file(path, SN_CONFIG_MAX, &pem, &len)) != 0) {
		set_err("cannot read the service account key %s: %s", path,
		    sn_strerror(r));
		return r;
	}
	if ((r = pem_read_private_key(pem, len, out)) == SN_ERR_INVALID)
		set_err("%s is not a PEM private key", path);
	sn_freezero(pem, len);
	return r;
}

/* Lock held. POSTs a token request form; the answer's token into c->token. */
static int
post_token_form(struct sn_client *c, const char *form)
{
	const char *tok;
	struct resp_buf b = { 0 };
	json_t *j = NULL, *jt, *je;
	json_error_t jerr;
	long status = 0;
	int64_t now = sn_now(), ttl = 900;
	int r;

	if ((r = do_http(c, "POST", "/v1/oauth/token",
	    "application/x-www-form-urlencoded", form, strlen(form), NULL,
	    NULL, &status, &b)) != 0)
		goto out;
	if (status < 200 || status > 299) {
		error_from_body(status, &b, client_retry_after);
		r = map_status(status);
		goto out;
	}
	if ((j = json_loadb((const char *)b.k.data, b.k.len, 0, &jerr)) == NULL ||
	    (jt = json_object_get(j, "access_token")) == NULL ||
	    (tok = json_string_value(jt)) == NULL || *tok == '\0') {
		set_err("the token endpoint answered without an access_token");
		r = SN_ERR_PROTOCOL;
		goto out;
	}
	if ((je = json_object_get(j, "expires_in")) != NULL &&
	    json_is_integer(je) && json_integer_value(je) > 0)
		ttl = json_integer_value(je);
	sn_strfreezero(c->token);
	if ((c->token = strdup(tok)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	c->token_exp = now + ttl;
	r = 0;
 out:
	if (j != NULL) {
		/* The parsed answer holds the token: wipe it. */
		jt = json_object_get(j, "access_token");
		if (jt != NULL && json_string_value(jt) != NULL)
			explicit_bzero((char *)json_string_value(jt),
			    json_string_length(jt));
		json_decref(j);
	}
	resp_free(&b);
	return r;
}

/*
 * The token exchange form (RFC 8693) of an OIDC-federated account: a fresh
 * CI ID token from the configured source, for the account named iss.
 */
static int
oidc_form(struct sn_client *c, const char *iss, char **form, size_t *flen)
{
	char why[256], *idt = NULL, *esc = NULL, *aesc = NULL;
	int r;

	*form = NULL;
	if ((r = sn_oidc_id_token(&c->cfg, c->no_threads, &idt, why,
	    sizeof(why))) != 0) {
		set_err("cannot get a CI ID token: %s", why);
		return r;
	}
	if ((r = sn_client_escape(idt, &esc)) != 0 ||
	    (r = sn_client_escape(iss, &aesc)) != 0)
		goto out;
	*flen = strlen(esc) + strlen(aesc) + 256;
	if ((*form = malloc(*flen)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	snprintf(*form, *flen, "grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3A"
	    "grant-type%%3Atoken-exchange&subject_token_type=urn%%3Aietf%%3A"
	    "params%%3Aoauth%%3Atoken-type%%3Aid_token&audience=%s&"
	    "subject_token=%s", aesc, esc);
	r = 0;
 out:
	sn_strfreezero(idt);
	sn_strfreezero(esc);
	free(aesc);
	return r;
}

/* Lock held. Gets a fresh access token into c->token. */
static int
fetch_token(struct sn_client *c)
{
	EVP_PKEY *key = NULL;
	char *aud = NULL, *jwt = NULL, *esc = NULL, *form = NULL;
	const char *iss;
	size_t alen, flen = 0;
	int64_t now = sn_now();
	int r;

	iss = c->cfg.sa_id != NULL ? c->cfg.sa_id : c->cfg.sa_name;
	if (iss != NULL && sn_oidc_configured(&c->cfg)) {
		if ((r = oidc_form(c, iss, &form, &flen)) == 0)
			r = post_token_form(c, form);
		goto out;
	}
	if (iss == NULL || c->cfg.sa_key_file == NULL) {
		set_err("no credentials configured (signet login)");
		return SN_ERR_UNAUTHENTICATED;
	}
	if ((r = load_sa_key(c->cfg.sa_key_file, &key)) != 0)
		goto out;
	alen = strlen(c->cfg.url) + sizeof("/v1/oauth/token");
	if ((aud = malloc(alen)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	snprintf(aud, alen, "%s/v1/oauth/token", c->cfg.url);
	if ((r = sn_jwt_build(key, iss, aud, now, &jwt)) != 0) {
		set_err("cannot build the service account assertion: %s",
		    sn_strerror(r));
		goto out;
	}
	if ((r = sn_client_escape(jwt, &esc)) != 0)
		goto out;
	flen = strlen(esc) + 128;
	if ((form = malloc(flen)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	snprintf(form, flen, "grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3A"
	    "grant-type%%3Ajwt-bearer&assertion=%s", esc);
	r = post_token_form(c, form);
 out:
	EVP_PKEY_free(key);
	sn_strfreezero(jwt);
	sn_strfreezero(esc);
	if (form != NULL)
		sn_freezero(form, flen);
	free(aud);
	return r;
}

static int
use_service_account(const struct sn_client *c)
{
	return (c->cfg.api_key == NULL || *c->cfg.api_key == '\0') &&
	    (c->cfg.sa_key_file != NULL || sn_oidc_configured(&c->cfg)) &&
	    (c->cfg.sa_name != NULL || c->cfg.sa_id != NULL);
}

/* Lock held. The bearer to send, or NULL with an error. */
static int
bearer_for(struct sn_client *c, int force_refresh, const char **out)
{
	int r;

	*out = NULL;
	if (!use_service_account(c)) {
		if (c->cfg.api_key == NULL || *c->cfg.api_key == '\0') {
			set_err("no credentials configured (signet login, or "
			    "SIGNET_API_KEY)");
			return SN_ERR_UNAUTHENTICATED;
		}
		*out = c->cfg.api_key;
		return 0;
	}
	if (force_refresh || c->token == NULL ||
	    sn_now() >= c->token_exp - TOKEN_REFRESH_MARGIN) {
		if ((r = fetch_token(c)) != 0)
			return r;
	}
	*out = c->token;
	return 0;
}

/* An authenticated exchange with one token refresh after a 401. */
static int
authed_http(struct sn_client *c, const char *method, const char *path,
    const char *ctype, const char *body, size_t bodylen,
    struct http_cond *cond, long *status, struct resp_buf *b)
{
	const char *bearer;
	int r, attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		if ((r = bearer_for(c, attempt > 0, &bearer)) != 0)
			return r;
		if ((r = do_http(c, method, path, ctype, body, bodylen,
		    bearer, cond, status, b)) != 0)
			return r;
		if (*status == 401 && attempt == 0 && use_service_account(c)) {
			resp_free(b);
			continue;
		}
		break;
	}
	return 0;
}

/*
 * sn_client_json and sn_client_get_cond: one JSON exchange. With cond, a
 * 304 is the answer asked for (the caller's copy is current), not an
 * error: 0 with *status 304 and no *resp.
 */
static int
json_exchange(struct sn_client *c, const char *method, const char *path,
    json_t *body, struct http_cond *cond, long *status, json_t **resp)
{
	struct resp_buf b = { 0 };
	char *text = NULL;
	json_error_t jerr;
	long st = 0, ra;
	int r;

	if (resp != NULL)
		*resp = NULL;
	if (status != NULL)
		*status = 0;
	client_errmsg[0] = '\0';
	if (body != NULL &&
	    (text = json_dumps(body, JSON_COMPACT)) == NULL)
		return SN_ERR_NOMEM;
	lock_client(c);
	r = authed_http(c, method, path, "application/json", text,
	    text != NULL ? strlen(text) : 0, cond, &st, &b);
	ra = client_retry_after;
	pthread_mutex_unlock(&c->lock);
	if (text != NULL)
		sn_strfreezero(text);
	if (r != 0)
		goto out;
	if (status != NULL)
		*status = st;
	if (st == 304 && cond != NULL && cond->if_none_match != NULL) {
		r = 0;
		goto out;
	}
	if (st < 200 || st > 299) {
		error_from_body(st, &b, ra);
		r = map_status(st);
		goto out;
	}
	if (b.k.len > 0 && resp != NULL) {
		if ((*resp = json_loadb((const char *)b.k.data, b.k.len,
		    JSON_REJECT_DUPLICATES,
		    &jerr)) == NULL) {
			set_err("the server's answer is not JSON: %s",
			    jerr.text);
			r = SN_ERR_PROTOCOL;
			goto out;
		}
	}
	r = 0;
 out:
	/* Answers can hold secrets (a new API key): wipe them. */
	resp_free(&b);
	return r;
}

int
sn_client_json(struct sn_client *c, const char *method, const char *path,
    json_t *body, long *status, json_t **resp)
{
	return json_exchange(c, method, path, body, NULL, status, resp);
}

int
sn_client_get_cond(struct sn_client *c, const char *path,
    const char *if_none_match, char *etag, size_t etaglen, long *status,
    json_t **resp)
{
	struct http_cond cond;
	int r;

	if (etag != NULL && etaglen > 0)
		etag[0] = '\0';
	memset(&cond, 0, sizeof(cond));
	cond.if_none_match = if_none_match;
	if ((r = json_exchange(c, "GET", path, NULL, &cond, status,
	    resp)) != 0)
		return r;
	if (etag != NULL && etaglen > strlen(cond.etag))
		memcpy(etag, cond.etag, strlen(cond.etag) + 1);
	return 0;
}

int
sn_client_get_raw(struct sn_client *c, const char *path, char **out,
    size_t *len)
{
	struct resp_buf b = { 0 };
	long st = 0, ra;
	int r;

	*out = NULL;
	*len = 0;
	client_errmsg[0] = '\0';
	lock_client(c);
	r = authed_http(c, "GET", path, NULL, NULL, 0, NULL, &st, &b);
	ra = client_retry_after;
	pthread_mutex_unlock(&c->lock);
	if (r != 0)
		return r;
	if (st < 200 || st > 299) {
		error_from_body(st, &b, ra);
		resp_free(&b);
		return map_status(st);
	}
	if ((r = kbuf_steal_str(&b.k, out, len)) != 0)
		resp_free(&b);
	return r;
}

int
sn_client_post_public(struct sn_client *c, const char *path, const char *ctype,
    const uint8_t *body, size_t bodylen, char **out, size_t *len,
    long *status)
{
	struct resp_buf b = { 0 };
	long ra;
	int r;

	*out = NULL;
	*len = 0;
	*status = 0;
	client_errmsg[0] = '\0';
	if (body == NULL || ctype == NULL)
		return SN_ERR_INVALID;
	lock_client(c);
	r = do_http(c, "POST", path, ctype, (const char *)body, bodylen, NULL,
	    NULL, status, &b);
	ra = client_retry_after;
	pthread_mutex_unlock(&c->lock);
	if (r != 0)
		return r;
	if (*status < 200 || *status > 299) {
		error_from_body(*status, &b, ra);
		resp_free(&b);
		return map_status(*status);
	}
	if ((r = kbuf_steal_str(&b.k, out, len)) != 0)
		resp_free(&b);
	return r;
}

int
sn_client_escape(const char *s, char **out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s), i, o = 0;
	char *e;

	*out = NULL;
	if (n > (SIZE_MAX - 1) / 3)
		return SN_ERR_TOO_LARGE;
	if ((e = malloc(n * 3 + 1)) == NULL)
		return SN_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
		    ch == '.' || ch == '~')
			e[o++] = (char)ch;
		else {
			e[o++] = '%';
			e[o++] = hex[ch >> 4];
			e[o++] = hex[ch & 15];
		}
	}
	e[o] = '\0';
	*out = e;
	return 0;
}

/*
 * A 202 {"approval":{...}}: the key's policy wants approvals first and
 * nothing was signed. SN_ERR_FORBIDDEN (exit 1, CKR_FUNCTION_REJECTED)
 * with the approval's id, so the person at the tool knows what to ask
 * for; 0 if resp is not such an answer.
 */
static __thread char client_approval[80];

const char *
sn_client_last_approval(void)
{
	return client_approval[0] != '\0' ? client_approval : NULL;
}

static int
approval_answer(json_t *resp)
{
	json_t *a = json_object_get(resp, "approval");
	const char *id;

	client_approval[0] = '\0';
	if (!json_is_object(a) || json_object_get(resp, "signature") != NULL ||
	    json_object_get(resp, "signatures") != NULL)
		return 0;
	if ((id = json_string_value(json_object_get(a, "id"))) != NULL &&
	    strlen(id) < sizeof(client_approval))
		memcpy(client_approval, id, strlen(id) + 1);
	set_err("approval %.64s is %.16s (%lld of %lld approvals from team "
	    "%.64s); nothing was signed: sign again once it is approved",
	    json_string_value(json_object_get(a, "id")) != NULL ?
	    json_string_value(json_object_get(a, "id")) : "?",
	    json_string_value(json_object_get(a, "state")) != NULL ?
	    json_string_value(json_object_get(a, "state")) : "?",
	    (long long)json_integer_value(json_object_get(a, "approved_by")),
	    (long long)json_integer_value(json_object_get(a, "required")),
	    json_string_value(json_object_get(json_object_get(a, "team"),
	    "name")) != NULL ? json_string_value(json_object_get(
	    json_object_get(a, "team"), "name")) : "?");
	return SN_ERR_FORBIDDEN;
}

static const char *
jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : "";
}

int
sn_client_await_approval(struct sn_client *c, const char *id, int64_t until,
    char *why, size_t whylen)
{
	json_t *resp = NULL, *a, *v;
	char *esc = NULL, path[256];
	const char *state = "";
	int64_t left;
	size_t i;
	int r;

	if (whylen > 0)
		why[0] = '\0';
	if ((r = sn_client_escape(id, &esc)) != 0)
		return r;
	for (;;) {
		if ((left = until - sn_now()) <= 0) {
			snprintf(why, whylen, "approval %s is still pending after "
			    "the wait; nothing was signed", id);
			r = SN_ERR_FORBIDDEN;
			goto out;
		}
		snprintf(path, sizeof(path), "/v1/approvals/%s?wait=%lld", esc,
		    (long long)(left > 30 ? 30 : left));
		if ((r = sn_client_json(c, "GET", path, NULL, NULL, &resp)) != 0)
			goto out;
		state = jstr(json_object_get(resp, "approval"), "state");
		/* signed: another copy of the request used it; the same
		 * request again gets that answer */
		if (strcmp(state, "approved") == 0 ||
		    strcmp(state, "signed") == 0) {
			r = 0;
			goto out;
		}
		if (strcmp(state, "pending") != 0)
			break;
		json_decref(resp);
		resp = NULL;
	}
	a = json_object_get(resp, "approval");
	snprintf(why, whylen, "approval %s is %.16s; nothing was signed", id,
	    state);
	json_array_foreach(json_object_get(a, "votes"), i, v)
		if (strcmp(jstr(v, "vote"), "deny") == 0)
			snprintf(why, whylen, "approval %s was denied by %.128s: "
			    "%.256s; nothing was signed", id, jstr(v, "name"),
			    jstr(v, "comment"));
	r = SN_ERR_FORBIDDEN;
 out:
	json_decref(resp);
	free(esc);
	return r;
}

/* require_inclusion_proof = yes: every signature's event is checked. */
static int
inclusion_required(const struct sn_client *c)
{
	return c->cfg.require_inclusion_proof != NULL &&
	    strcmp(c->cfg.require_inclusion_proof, "yes") == 0;
}

int
sn_client_sign(struct sn_client *c, const char *key_id, enum sn_mech mech,
    enum sn_hash hash, const uint8_t *digest, size_t dlen,
    uint8_t **sig, size_t *siglen)
{
	json_t *req = NULL, *resp = NULL, *cl = NULL, *js;
	char *b64 = NULL, *esc = NULL, path[512];
	const char *s;
	int r, n;

	*sig = NULL;
	*siglen = 0;
	client_errmsg[0] = '\0';
	if (sn_mech_name(mech) == NULL || sn_hash_name(hash) == NULL ||
	    sn_hash_len(hash) != dlen) {
		set_err("bad mechanism, digest algorithm or digest length");
		return SN_ERR_INVALID;
	}
	if ((r = sn_client_escape(key_id, &esc)) != 0 ||
	    (r = sn_b64_encode(digest, dlen, &b64)) != 0)
		goto out;
	n = snprintf(path, sizeof(path), "/v1/keys/%s/sign", esc);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		set_err("key id too long");
		r = SN_ERR_INVALID;
		goto out;
	}
	if ((cl = json_object()) == NULL ||
	    json_object_set_new(cl, "hostname", json_string(c->hostname)) ||
	    json_object_set_new(cl, "process", json_string(c->process)) ||
	    json_object_set_new(cl, "user", json_string(c->user)) ||
	    (req = json_pack("{s:s, s:s, s:s, s:O}",
	    "mechanism", sn_mech_name(mech),
	    "digest_algorithm", sn_hash_name(hash),
	    "digest", b64, "client", cl)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	/* The event in the answer is only read to prove its inclusion. */
	if (!inclusion_required(c))
		client_prefer = "Prefer: return=minimal";
	r = sn_client_json(c, "POST", path, req, NULL, &resp);
	client_prefer = NULL;
	if (r != 0 || (r = approval_answer(resp)) != 0)
		goto out;
	if ((js = json_object_get(resp, "signature")) == NULL ||
	    (s = json_string_value(js)) == NULL ||
	    sn_b64_decode(s, strlen(s), sig, siglen) != 0) {
		set_err("the server's sign answer has no valid signature");
		r = SN_ERR_PROTOCOL;
		goto out;
	}
	if (inclusion_required(c)) {
		char why[256];

		if ((r = sn_client_check_inclusion(c, c->cfg.log_key, resp,
		    digest, dlen, *sig, *siglen, why, sizeof(why))) != 0) {
			/* an unrecorded signature is not handed out */
			sn_freezero(*sig, *siglen);
			*sig = NULL;
			*siglen = 0;
			set_err("require_inclusion_proof: %s", why);
			goto out;
		}
	}
	r = 0;
 out:
	json_decref(cl);
	json_decref(req);
	json_decref(resp);
	free(b64);
	free(esc);
	return r;
}

int
sn_client_sign_batch(struct sn_client *c, const char *key_id,
    enum sn_mech mech, enum sn_hash hash, const uint8_t *const *digests,
    size_t n, uint8_t **sigs, size_t *siglens)
{
	json_t *req = NULL, *resp = NULL, *cl = NULL, *arr = NULL, *js;
	char *b64 = NULL, *esc = NULL, path[512];
	size_t dlen = sn_hash_len(hash), i, got = 0;
	const char *s;
	int r, k;

	for (i = 0; i < n; i++) {
		sigs[i] = NULL;
		siglens[i] = 0;
	}
	client_errmsg[0] = '\0';
	/*
	 * require_inclusion_proof: every signature is handed out only once
	 * its own audit event is proven in the log, which sn_client_sign
	 * checks per answer; so sign one digest per request then.
	 */
	if (inclusion_required(c) && n > 0 && n <= SN_CLIENT_BATCH_MAX) {
		for (i = 0; i < n; i++) {
			if ((r = sn_client_sign(c, key_id, mech, hash,
			    digests[i], dlen, &sigs[i], &siglens[i])) != 0) {
				while (i-- > 0) {
					free(sigs[i]);
					sigs[i] = NULL;
					siglens[i] = 0;
				}
				return r;
			}
		}
		return 0;
	}
	if (sn_mech_name(mech) == NULL || sn_hash_name(hash) == NULL ||
	    n == 0 || n > SN_CLIENT_BATCH_MAX) {
		set_err("bad mechanism, digest algorithm or batch size");
		return SN_ERR_INVALID;
	}
	if ((r = sn_client_escape(key_id, &esc)) != 0)
		goto out;
	k = snprintf(path, sizeof(path), "/v1/keys/%s/sign", esc);
	if (k < 0 || (size_t)k >= sizeof(path)) {
		set_err("key id too long");
		r = SN_ERR_INVALID;
		goto out;
	}
	r = SN_ERR_NOMEM;
	if ((arr = json_array()) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		if ((r = sn_b64_encode(digests[i], dlen, &b64)) != 0)
			goto out;
		r = SN_ERR_NOMEM;
		if (json_array_append_new(arr, json_string(b64)) != 0)
			goto out;
		free(b64);
		b64 = NULL;
	}
	if ((cl = json_object()) == NULL ||
	    json_object_set_new(cl, "hostname", json_string(c->hostname)) ||
	    json_object_set_new(cl, "process", json_string(c->process)) ||
	    json_object_set_new(cl, "user", json_string(c->user)) ||
	    (req = json_pack("{s:s, s:s, s:O, s:O}",
	    "mechanism", sn_mech_name(mech),
	    "digest_algorithm", sn_hash_name(hash),
	    "digests", arr, "client", cl)) == NULL)
		goto out;
	if (!inclusion_required(c))
		client_prefer = "Prefer: return=minimal";
	r = sn_client_json(c, "POST", path, req, NULL, &resp);
	client_prefer = NULL;
	if (r != 0 || (r = approval_answer(resp)) != 0)
		goto out;
	js = json_object_get(resp, "signatures");
	if (!json_is_array(js) || json_array_size(js) != n) {
		set_err("the server's batch answer has the wrong number of "
		    "signatures");
		r = SN_ERR_PROTOCOL;
		goto out;
	}
	for (got = 0; got < n; got++) {
		if ((s = json_string_value(json_array_get(js, got))) == NULL ||
		    sn_b64_decode(s, strlen(s), &sigs[got], &siglens[got]) !=
		    0) {
			set_err("the server's batch answer has an invalid "
			    "signature");
			r = SN_ERR_PROTOCOL;
			goto out;
		}
	}
	r = 0;
 out:
	if (r != 0) {
		for (i = 0; i < n; i++) {
			free(sigs[i]);
			sigs[i] = NULL;
			siglens[i] = 0;
		}
	}
	json_decref(arr);
	json_decref(cl);
	json_decref(req);
	json_decref(resp);
	free(b64);
	free(esc);
	return r;
}
