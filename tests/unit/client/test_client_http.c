/*
 * test_client_http.c - the client library against a small scripted HTTPS
 * server running in a thread of this test (OpenSSL, loopback, a throwaway
 * CA): keep-alive (one connection for many requests), fork safety (a child
 * gets its own connection and the parent's keeps working), TLS
 * verification, error mapping with the server's message, the response size
 * bound, the sign request's shape, and the service-account JWT bearer flow
 * with its token cache and its one refresh after a 401.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "client.h"
#include "encode.h"
#include "err.h"
#include "util.h"

static char tmpdir[] = "/tmp/signet-client-http.XXXXXX";
static char ca_path[600], other_ca_path[600], sa_key_path[600], url[64];
static SSL_CTX *sctx;
static int lfd = -1;
static EVP_PKEY *sa_key;

/* What the server saw and how it behaves; guarded by mu. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int connections, token_requests, reject_tokens_below;
static char last_auth[512], last_body[4096], last_path[256], last_ctype[128];
static char last_prefer[128];
static char last_inm[512];
static long token_ttl = 900;

static void
http_reply(SSL *ssl, int status, const char *body, size_t len)
{
	char hdr[256];
	int n;

	n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 %d X\r\nContent-Type: "
	    "application/json\r\nContent-Length: %zu\r\n\r\n", status, len);
	SSL_write(ssl, hdr, n);
	while (len > 0) {
		int w = SSL_write(ssl, body, len > 65536 ? 65536 : (int)len);

		if (w <= 0)
			return;
		body += w;
		len -= (size_t)w;
	}
}

static void
reply_str(SSL *ssl, int status, const char *body)
{
	http_reply(ssl, status, body, strlen(body));
}

/* Checks a JWT assertion like signetd would (signature, iss, aud). */
static int
assertion_ok(const char *jwt)
{
	const char *d1 = strchr(jwt, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	uint8_t *raw = NULL, *sig = NULL, *der = NULL;
	size_t rlen = 0, slen = 0;
	json_t *c = NULL;
	EVP_MD_CTX *ctx = NULL;
	ECDSA_SIG *es = NULL;
	char aud[128];
	int ok = 0, dlen;

	if (d2 == NULL ||
	    sn_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &raw, &rlen) != 0 ||
	    (c = json_loadb((char *)raw, rlen, 0, NULL)) == NULL)
		goto out;
	snprintf(aud, sizeof(aud), "%s/v1/oauth/token", url);
	if (strcmp(json_string_value(json_object_get(c, "iss")), "sac_1") ||
	    strcmp(json_string_value(json_object_get(c, "sub")), "sac_1") ||
	    strcmp(json_string_value(json_object_get(c, "aud")), aud))
		goto out;
	if (sn_b64url_decode(d2 + 1, strlen(d2 + 1), &sig, &slen) != 0 ||
	    slen != 64)
		goto out;
	es = ECDSA_SIG_new();
	ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32,
	    NULL));
	if ((dlen = i2d_ECDSA_SIG(es, &der)) <= 0)
		goto out;
	ctx = EVP_MD_CTX_new();
	ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, sa_key) == 1 &&
	    EVP_DigestVerify(ctx, der, (size_t)dlen, (const uint8_t *)jwt,
	    (size_t)(d2 - jwt)) == 1;
 out:
	EVP_MD_CTX_free(ctx);
	ECDSA_SIG_free(es);
	OPENSSL_free(der);
	json_decref(c);
	free(raw);
	free(sig);
	return ok;
}

/* An answer with the given extra header lines (each ending in CRLF). */
static void
reply_hdrs(SSL *ssl, int status, const char *extra, const char *body)
{
	char hdr[1024];
	int n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 %d X\r\n%s"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
	    status, extra, strlen(body), body);

	SSL_write(ssl, hdr, n);
}

/*
 * GET /v1/listing: a resource whose current validator is W/"v1" (304 to
 * an If-None-Match that names it). /v1/etags/...: odd ETag fields.
 */
static int
handle_cond(SSL *ssl, const char *path, const char *inm)
{
	if (strcmp(path, "/v1/listing") == 0) {
		if (strcmp(inm, "W/\"v1\"") == 0) {
			static const char m[] = "HTTP/1.1 304 Not Modified\r\n"
			    "ETag: W/\"v1\"\r\n\r\n";

			SSL_write(ssl, m, (int)strlen(m));
			return 1;
		}
		reply_hdrs(ssl, 200, "ETag: W/\"v1\"\r\n", "{\"keys\":[]}");
		return 1;
	}
	if (strcmp(path, "/v1/etags/two") == 0) {
		reply_hdrs(ssl, 200, "ETag: W/\"a\"\r\nETag: W/\"b\"\r\n",
		    "{}");
		return 1;
	}
	if (strcmp(path, "/v1/etags/none") == 0) {
		reply_hdrs(ssl, 200, "", "{}");
		return 1;
	}
	if (strcmp(path, "/v1/etags/304") == 0) {
		static const char m[] = "HTTP/1.1 304 Not Modified\r\n\r\n";

		SSL_write(ssl, m, (int)strlen(m));
		return 1;
	}
	return 0;
}

static void
handle(SSL *ssl, const char *method, const char *path, const char *auth,
    const char *inm, const char *body)
{
	const char *bearer = strncmp(auth, "Bearer ", 7) == 0 ? auth + 7 : "";

	if (strcmp(path, "/v1/oauth/token") == 0) {
		const char *a = strstr(body, "assertion=");
		char tok[64], resp[256];
		int n;

		pthread_mutex_lock(&mu);
		n = ++token_requests;
		pthread_mutex_unlock(&mu);
		if (strcmp(method, "POST") != 0 || *auth != '\0' ||
		    strncmp(body, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3A"
		    "grant-type%3Ajwt-bearer&", 60) != 0 || a == NULL ||
		    !assertion_ok(a + 10)) {
			reply_str(ssl, 401, "{\"error\":{\"code\":"
			    "\"unauthenticated\",\"message\":\"bad assertion\"}}");
			return;
		}
		snprintf(tok, sizeof(tok), "sna_tok%d", n);
		snprintf(resp, sizeof(resp), "{\"access_token\":\"%s\","
		    "\"token_type\":\"Bearer\",\"expires_in\":%ld}", tok,
		    token_ttl);
		reply_str(ssl, 200, resp);
		return;
	}
	if (strcmp(path, "/v1/me") == 0) {
		long long tokn = 0;

		if (strncmp(bearer, "sna_tok", 7) == 0 &&
		    sn_parse_int(bearer + 7, 1, 1000000, &tokn) != 0)
			tokn = 0;
		if (strcmp(bearer, "snk_good") == 0 ||
		    (tokn > 0 && tokn > reject_tokens_below))
			reply_str(ssl, 200, "{\"email\":\"a@x\"}");
		else
			reply_str(ssl, 401, "{\"error\":{\"code\":"
			    "\"unauthenticated\",\"message\":\"bad credentials\"}}");
		return;
	}
	if (handle_cond(ssl, path, inm))
		return;
	if (strcmp(path, "/v1/forbidden") == 0) {
		reply_str(ssl, 403, "{\"error\":{\"code\":\"forbidden\","
		    "\"message\":\"not allowed to key.sign\"}}");
		return;
	}
	if (strcmp(path, "/v1/ratelimit") == 0) {
		static const char b[] = "{\"error\":{\"code\":\"rate_limited\","
		    "\"message\":\"slow down\"}}";
		char hdr[256];
		int n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 429 X\r\n"
		    "Retry-After: 7\r\nContent-Type: application/json\r\n"
		    "Content-Length: %zu\r\n\r\n%s", strlen(b), b);

		SSL_write(ssl, hdr, n);
		return;
	}
	if (strcmp(path, "/v1/notjson") == 0) {
		reply_str(ssl, 200, "<html>");
		return;
	}
	if (strcmp(path, "/v1/empty") == 0) {
		reply_str(ssl, 200, "");
		return;
	}
	if (strcmp(path, "/v1/teapot") == 0) {
		reply_str(ssl, 503, "no json here");
		return;
	}
	if (strcmp(path, "/big") == 0) {
		size_t n = SN_CLIENT_RESP_MAX + 1024;
		char *big = malloc(n);

		memset(big, ' ', n);
		http_reply(ssl, 200, big, n);
		free(big);
		return;
	}
	if (strcmp(path, "/v1/keys/skey_1%2Fx/sign") == 0) {
		reply_str(ssl, 200, "{\"signature\":\"c2lnbmF0dXJl\"}");
		return;
	}
	reply_str(ssl, 404, "{\"error\":{\"code\":\"not_found\","
	    "\"message\":\"no such thing\"}}");
}

static void *
conn_main(void *arg)
{
	int fd = (int)(intptr_t)arg;
	SSL *ssl = SSL_new(sctx);
	char buf[16384];

	SSL_set_fd(ssl, fd);
	if (SSL_accept(ssl) != 1)
		goto out;
	for (;;) {
		size_t used = 0, clen = 0, hlen;
		char *end, *p, method[16] = "", path[256] = "", auth[512] = "";
		char ctype[128] = "", prefer[128] = "", inm[512] = "";
		int n;

		while ((end = memmem(buf, used, "\r\n\r\n", 4)) == NULL) {
			if (used >= sizeof(buf) - 1 ||
			    (n = SSL_read(ssl, buf + used,
			    (int)(sizeof(buf) - 1 - used))) <= 0)
				goto out;
			used += (size_t)n;
		}
		hlen = (size_t)(end - buf) + 4;
		buf[hlen - 2] = '\0';
		p = strchr(buf, ' ');
		if (p == NULL)
			goto out;
		snprintf(method, sizeof(method), "%.*s", (int)(p - buf), buf);
		snprintf(path, sizeof(path), "%.*s", (int)strcspn(p + 1, " "),
		    p + 1);
		for (p = strstr(buf, "\r\n"); p != NULL && p[2] != '\0';
		    p = strstr(p + 2, "\r\n")) {
			char *line = p + 2;
			size_t ll = strcspn(line, "\r");

			if (strncasecmp(line, "Content-Length:", 15) == 0) {
				char num[32];
				long long v;

				snprintf(num, sizeof(num), "%.*s",
				    (int)strcspn(line + 16, "\r"), line + 16);
				if (line[15] != ' ' ||
				    sn_parse_int(num, 0, 1 << 20, &v) != 0)
					goto out;
				clen = (size_t)v;
			}
			else if (strncasecmp(line, "Authorization: ", 15) == 0)
				snprintf(auth, sizeof(auth), "%.*s",
				    (int)(ll - 15), line + 15);
			else if (strncasecmp(line, "Content-Type: ", 14) == 0)
				snprintf(ctype, sizeof(ctype), "%.*s",
				    (int)(ll - 14), line + 14);
			else if (strncasecmp(line, "Prefer: ", 8) == 0)
				snprintf(prefer, sizeof(prefer), "%.*s",
				    (int)(ll - 8), line + 8);
			else if (strncasecmp(line, "If-None-Match: ", 15) == 0)
				snprintf(inm, sizeof(inm), "%.*s",
				    (int)(ll - 15), line + 15);
		}
		if (clen > sizeof(buf) - hlen - 1)
			goto out;
		while (used < hlen + clen) {
			if ((n = SSL_read(ssl, buf + used,
			    (int)(sizeof(buf) - 1 - used))) <= 0)
				goto out;
			used += (size_t)n;
		}
		buf[hlen + clen] = '\0';
		pthread_mutex_lock(&mu);
		snprintf(last_auth, sizeof(last_auth), "%s", auth);
		snprintf(last_body, sizeof(last_body), "%s", buf + hlen);
		snprintf(last_path, sizeof(last_path), "%s", path);
		snprintf(last_ctype, sizeof(last_ctype), "%s", ctype);
		snprintf(last_prefer, sizeof(last_prefer), "%s", prefer);
		snprintf(last_inm, sizeof(last_inm), "%s", inm);
		pthread_mutex_unlock(&mu);
		handle(ssl, method, path, auth, inm, buf + hlen);
		/* Keep-alive: anything after this request starts the next. */
		memmove(buf, buf + hlen + clen, used - hlen - clen);
		used -= hlen + clen;
		if (used != 0)
			goto out;	/* no pipelining expected */
	}
 out:
	SSL_free(ssl);
	close(fd);
	return NULL;
}

static void *
accept_main(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_t t;
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			return NULL;
		pthread_mutex_lock(&mu);
		connections++;
		pthread_mutex_unlock(&mu);
		pthread_create(&t, NULL, conn_main, (void *)(intptr_t)fd);
		pthread_detach(t);
	}
}

/* A CA-less self-signed server certificate for 127.0.0.1, written as ca. */
static void
make_cert(EVP_PKEY *key, const char *path, X509 **out)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	FILE *f;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"127.0.0.1", -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name,
	    "IP:127.0.0.1");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	assert_non_null(f = fopen(path, "w"));
	PEM_write_X509(f, x);
	fclose(f);
	X509_NAME_free(n);
	*out = x;
}

static int
setup(void **state)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	EVP_PKEY *k, *other;
	X509 *x, *ox;
	pthread_t t;
	FILE *f;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(ca_path, sizeof(ca_path), "%s/ca.pem", tmpdir);
	snprintf(other_ca_path, sizeof(other_ca_path), "%s/other.pem", tmpdir);
	snprintf(sa_key_path, sizeof(sa_key_path), "%s/sa.key", tmpdir);
	k = EVP_EC_gen("P-256");
	other = EVP_EC_gen("P-256");
	make_cert(k, ca_path, &x);
	make_cert(other, other_ca_path, &ox);
	sctx = SSL_CTX_new(TLS_server_method());
	if (SSL_CTX_use_certificate(sctx, x) != 1 ||
	    SSL_CTX_use_PrivateKey(sctx, k) != 1)
		return -1;
	X509_free(x);
	X509_free(ox);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
	sa_key = EVP_EC_gen("P-256");
	if ((f = fopen(sa_key_path, "w")) == NULL)
		return -1;
	PEM_write_PrivateKey(f, sa_key, NULL, NULL, 0, NULL, NULL);
	fclose(f);

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(lfd, 16) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl) != 0)
		return -1;
	snprintf(url, sizeof(url), "https://127.0.0.1:%d", ntohs(sa.sin_port));
	pthread_create(&t, NULL, accept_main, NULL);
	pthread_detach(t);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[700];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct sn_client *
new_client(const char *api_key, const char *ca)
{
	struct sn_client_config c = { 0 };
	struct sn_client *cl = NULL;

	c.url = url;
	c.api_key = (char *)api_key;
	c.ca_file = (char *)ca;
	assert_int_equal(sn_client_new(&c, &cl), 0);
	return cl;
}

static int
get_conns(void)
{
	int n;

	pthread_mutex_lock(&mu);
	n = connections;
	pthread_mutex_unlock(&mu);
	return n;
}

static void
test_keepalive_and_auth(void **state)
{
	struct sn_client *c = new_client("snk_good", ca_path);
	json_t *r = NULL;
	long st = 0;
	int before = get_conns(), i;

	(void)state;
	for (i = 0; i < 5; i++) {
		assert_int_equal(sn_client_json(c, "GET", "/v1/me", NULL, &st,
		    &r), 0);
		assert_int_equal(st, 200);
		assert_string_equal(json_string_value(json_object_get(r,
		    "email")), "a@x");
		json_decref(r);
	}
	assert_string_equal(last_auth, "Bearer snk_good");
	/* One kept-alive connection for all five requests. */
	assert_int_equal(get_conns() - before, 1);
	sn_client_free(c);
}

/* sn_client_get_cond: If-None-Match out, ETag back, 304 not an error */
static void
test_conditional_get(void **state)
{
	struct sn_client *c = new_client("snk_good", ca_path);
	char etag[64] = "x", small[4] = "x";
	json_t *r = NULL;
	long st = 0;
	int before;

	(void)state;
	/* unconditional: no If-None-Match sent, the ETag kept */
	assert_int_equal(sn_client_get_cond(c, "/v1/listing", NULL, etag,
	    sizeof(etag), &st, &r), 0);
	assert_int_equal(st, 200);
	assert_string_equal(last_inm, "");
	assert_string_equal(etag, "W/\"v1\"");
	assert_true(json_is_array(json_object_get(r, "keys")));
	json_decref(r);
	r = NULL;
	/* current: 304, success, no body, the same ETag; the connection
	 * stays usable for the next request */
	before = get_conns();
	assert_int_equal(sn_client_get_cond(c, "/v1/listing", "W/\"v1\"", etag,
	    sizeof(etag), &st, &r), 0);
	assert_int_equal(st, 304);
	assert_null(r);
	assert_string_equal(last_inm, "W/\"v1\"");
	assert_string_equal(etag, "W/\"v1\"");
	assert_int_equal(sn_client_get_cond(c, "/v1/listing", "W/\"old\"",
	    etag, sizeof(etag), &st, &r), 0);
	assert_int_equal(st, 200);
	assert_non_null(r);
	json_decref(r);
	r = NULL;
	assert_int_equal(get_conns(), before);
	/* an ETag that does not fit the caller's buffer: none */
	assert_int_equal(sn_client_get_cond(c, "/v1/listing", NULL, small,
	    sizeof(small), &st, &r), 0);
	assert_string_equal(small, "");
	json_decref(r);
	r = NULL;
	/* two ETag fields, or none: none */
	assert_int_equal(sn_client_get_cond(c, "/v1/etags/two", NULL, etag,
	    sizeof(etag), &st, &r), 0);
	assert_string_equal(etag, "");
	json_decref(r);
	r = NULL;
	assert_int_equal(sn_client_get_cond(c, "/v1/etags/none", NULL, etag,
	    sizeof(etag), &st, &r), 0);
	assert_string_equal(etag, "");
	json_decref(r);
	r = NULL;
	/* a 304 nobody asked for is not an answer */
	assert_int_equal(sn_client_get_cond(c, "/v1/etags/304", NULL, etag,
	    sizeof(etag), &st, &r), SN_ERR_PROTOCOL);
	assert_int_equal(sn_client_json(c, "GET", "/v1/etags/304", NULL, &st,
	    &r), SN_ERR_PROTOCOL);
	assert_null(r);
	/* a value that would split the header is refused, not sent */
	snprintf(last_path, sizeof(last_path), "none");
	assert_int_equal(sn_client_get_cond(c, "/v1/listing",
	    "W/\"a\"\r\nX-Evil: 1", etag, sizeof(etag), &st, &r),
	    SN_ERR_INVALID);
	assert_int_equal(sn_client_get_cond(c, "/v1/listing", "", etag,
	    sizeof(etag), &st, &r), SN_ERR_INVALID);
	assert_string_equal(last_path, "none");
	/* errors stay errors */
	assert_int_equal(sn_client_get_cond(c, "/v1/forbidden", "W/\"v1\"",
	    etag, sizeof(etag), &st, &r), SN_ERR_FORBIDDEN);
	assert_string_equal(sn_client_errmsg(c), "not allowed to key.sign");
	sn_client_free(c);
}

static void
test_errors(void **state)
{
	struct sn_client *c = new_client("snk_good", ca_path), *bad;
	json_t *r = NULL;
	char *raw = NULL;
	size_t len = 0;
	long st = 0;

	(void)state;
	assert_int_equal(sn_client_json(c, "GET", "/v1/forbidden", NULL, &st,
	    &r), SN_ERR_FORBIDDEN);
	assert_int_equal(st, 403);
	assert_null(r);
	assert_string_equal(sn_client_errmsg(c), "not allowed to key.sign");
	assert_int_equal(sn_client_json(c, "GET", "/v1/nothing", NULL, &st,
	    &r), SN_ERR_NOT_FOUND);
	assert_string_equal(sn_client_errmsg(c), "no such thing");
	assert_int_equal(sn_client_json(c, "GET", "/v1/teapot", NULL, &st,
	    &r), SN_ERR_UNAVAILABLE);
	assert_non_null(strstr(sn_client_errmsg(c), "503"));
	assert_int_equal(sn_client_json(c, "GET", "/v1/ratelimit", NULL, &st,
	    &r), SN_ERR_RATE_LIMITED);
	assert_string_equal(sn_client_errmsg(c), "slow down (retry after 7 s)");
	assert_int_equal(sn_client_json(c, "GET", "/v1/notjson", NULL, &st,
	    &r), SN_ERR_PROTOCOL);
	assert_int_equal(sn_client_json(c, "GET", "/v1/empty", NULL, &st, &r),
	    0);
	assert_null(r);
	/* Bounded answers: 8 MiB + 1 KiB is refused. */
	assert_int_equal(sn_client_get_raw(c, "/big", &raw, &len),
	    SN_ERR_TOO_LARGE);
	assert_null(raw);
	/* The handle still works afterwards. */
	assert_int_equal(sn_client_json(c, "GET", "/v1/me", NULL, &st, &r), 0);
	json_decref(r);
	/* Wrong credentials: 401, message kept, secret not in it. */
	bad = new_client("snk_wrong_secret", ca_path);
	assert_int_equal(sn_client_json(bad, "GET", "/v1/me", NULL, &st, &r),
	    SN_ERR_UNAUTHENTICATED);
	assert_string_equal(sn_client_errmsg(bad), "bad credentials");
	sn_client_free(bad);
	sn_client_free(c);
}

static void
test_tls_verification(void **state)
{
	struct sn_client *c = new_client("snk_good", other_ca_path);
	json_t *r = NULL;
	long st = 0;

	(void)state;
	/* A server certificate the CA file does not vouch for: refused. */
	assert_int_equal(sn_client_json(c, "GET", "/v1/me", NULL, &st, &r),
	    SN_ERR_TLS);
	assert_null(r);
	assert_int_equal(st, 0);
	sn_client_free(c);
	/* No CA file: the system store does not know our throwaway CA. */
	c = new_client("snk_good", NULL);
	assert_int_equal(sn_client_json(c, "GET", "/v1/me", NULL, &st, &r),
	    SN_ERR_TLS);
	sn_client_free(c);
}

static void
test_fork(void **state)
{
	struct sn_client *c = new_client("snk_good", ca_path);
	json_t *r = NULL;
	int before, status = -1;
	pid_t pid;

	(void)state;
	assert_int_equal(sn_client_json(c, "GET", "/v1/me", NULL, NULL, &r), 0);
	json_decref(r);
	before = get_conns();
	if ((pid = fork()) == 0) {
		int e1, e2;

		e1 = sn_client_json(c, "GET", "/v1/me", NULL, NULL, &r);
		json_decref(r);
		e2 = sn_client_json(c, "GET", "/v1/me", NULL, NULL, &r);
		json_decref(r);
		sn_client_free(c);
		_exit(e1 == 0 && e2 == 0 ? 0 : 1);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* The child opened one connection of its own... */
	assert_int_equal(get_conns() - before, 1);
	/* ...and the parent's connection survived it: no new one. */
	assert_int_equal(sn_client_json(c, "GET", "/v1/me", NULL, NULL, &r), 0);
	json_decref(r);
	assert_int_equal(sn_client_json(c, "GET", "/v1/me", NULL, NULL, &r), 0);
	json_decref(r);
	assert_int_equal(get_conns() - before, 1);
	sn_client_free(c);
}

static void
test_sign_request(void **state)
{
	struct sn_client *c = new_client("snk_good", ca_path);
	uint8_t digest[32], *sig = NULL;
	size_t siglen = 0;
	json_t *b, *cl;

	(void)state;
	memset(digest, 0xab, sizeof(digest));
	assert_int_equal(sn_client_sign(c, "skey_1/x", SN_MECH_ECDSA,
	    SN_HASH_SHA256, digest, sizeof(digest), &sig, &siglen), 0);
	assert_int_equal(siglen, 9);
	assert_memory_equal(sig, "signature", 9);
	free(sig);
	/* The key id is escaped into one path segment. */
	assert_string_equal(last_path, "/v1/keys/skey_1%2Fx/sign");
	assert_string_equal(last_ctype, "application/json");
	/* the answer's audit event is not checked: asked to be left out */
	assert_string_equal(last_prefer, "return=minimal");
	assert_non_null(b = json_loads(last_body, 0, NULL));
	assert_string_equal(json_string_value(json_object_get(b, "mechanism")),
	    "ecdsa");
	assert_string_equal(json_string_value(json_object_get(b,
	    "digest_algorithm")), "sha256");
	assert_string_equal(json_string_value(json_object_get(b, "digest")),
	    "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=");
	cl = json_object_get(b, "client");
	assert_true(json_is_string(json_object_get(cl, "hostname")));
	assert_string_equal(json_string_value(json_object_get(cl, "process")),
	    program_invocation_short_name);
	assert_true(json_is_string(json_object_get(cl, "user")));
	json_decref(b);
	/* only the signature asks for it, not the next request */
	assert_non_null(cl = json_object());
	assert_int_equal(sn_client_json(c, "POST", "/v1/me", cl, NULL, &b), 0);
	json_decref(cl);
	json_decref(b);
	assert_string_equal(last_path, "/v1/me");
	assert_string_equal(last_prefer, "");
	/* A digest of the wrong length never leaves the machine. */
	assert_int_equal(sn_client_sign(c, "skey_1/x", SN_MECH_ECDSA,
	    SN_HASH_SHA384, digest, sizeof(digest), &sig, &siglen),
	    SN_ERR_INVALID);
	sn_client_free(c);
}

/* A program name that is not UTF-8 must not stop signing. */
static void
test_sign_odd_process_name(void **state)
{
	char *saved = program_invocation_short_name;
	char odd[] = "sign\xff\xfe\x1b";
	struct sn_client *c;
	uint8_t digest[32], *sig = NULL;
	size_t siglen = 0;
	json_t *b;

	(void)state;
	program_invocation_short_name = odd;
	c = new_client("snk_good", ca_path);
	program_invocation_short_name = saved;
	memset(digest, 0xab, sizeof(digest));
	assert_int_equal(sn_client_sign(c, "skey_1/x", SN_MECH_ECDSA,
	    SN_HASH_SHA256, digest, sizeof(digest), &sig, &siglen), 0);
	free(sig);
	assert_non_null(b = json_loads(last_body, 0, NULL));
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(b, "client"), "process")), "sign???");
	json_decref(b);
	sn_client_free(c);
}

static void
test_service_account(void **state)
{
	struct sn_client_config cfg = { 0 };
	struct sn_client *c = NULL;
	json_t *r = NULL;
	int t0;

	(void)state;
	cfg.url = url;
	cfg.ca_file = ca_path;
	cfg.sa_name = "builder";
	cfg.sa_id = "sac_1";
	cfg.sa_key_file = sa_key_path;
	assert_int_equal(sn_client_new(&cfg, &c), 0);
	pthread_mutex_lock(&mu);
	t0 = token_requests;
	reject_tokens_below = 0;
	pthread_mutex_unlock(&mu);
	/* First call: one assertion, one token, then the request. */
	assert_int_equal(sn_client_json(c, "GET", "/v1/me", NULL, NULL, &r), 0);
	json_decref(r);
	assert_int_equal(token_requests - t0, 1);
	assert_non_null(strstr(last_auth, "Bearer sna_tok"));
	/* Cached: no new token for later calls. */
	assert_int_equal(sn_client_json(c, "GET", "/v1/me", NULL, NULL, &r), 0);
	json_decref(r);
	assert_int_equal(token_requests - t0, 1);
	/* The server stops accepting it: one refresh after the 401. */
	pthread_mutex_lock(&mu);
	reject_tokens_below = token_requests;
	pthread_mutex_unlock(&mu);
	assert_int_equal(sn_client_json(c, "GET", "/v1/me", NULL, NULL, &r), 0);
	json_decref(r);
	assert_int_equal(token_requests - t0, 2);
	/* Still refused after the refresh: exactly one retry, then 401. */
	pthread_mutex_lock(&mu);
	reject_tokens_below = 1000000;
	pthread_mutex_unlock(&mu);
	assert_int_equal(sn_client_json(c, "GET", "/v1/me", NULL, NULL, &r),
	    SN_ERR_UNAUTHENTICATED);
	assert_int_equal(token_requests - t0, 3);
	sn_client_free(c);
	pthread_mutex_lock(&mu);
	reject_tokens_below = 0;
	pthread_mutex_unlock(&mu);

	/* A token that expires within the margin is refreshed up front. */
	token_ttl = 30;
	assert_int_equal(sn_client_new(&cfg, &c), 0);
	t0 = token_requests;
	assert_int_equal(sn_client_json(c, "GET", "/v1/me", NULL, NULL, &r), 0);
	json_decref(r);
	assert_int_equal(sn_client_json(c, "GET", "/v1/me", NULL, NULL, &r), 0);
	json_decref(r);
	assert_int_equal(token_requests - t0, 2);
	token_ttl = 900;
	sn_client_free(c);

	/* The wrong account id: the token endpoint refuses, message kept. */
	cfg.sa_id = "sac_2";
	assert_int_equal(sn_client_new(&cfg, &c), 0);
	assert_int_equal(sn_client_json(c, "GET", "/v1/me", NULL, NULL, &r),
	    SN_ERR_UNAUTHENTICATED);
	assert_string_equal(sn_client_errmsg(c), "bad assertion");
	sn_client_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keepalive_and_auth),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_tls_verification),
		cmocka_unit_test(test_fork),
		cmocka_unit_test(test_conditional_get),
		cmocka_unit_test(test_sign_request),
		cmocka_unit_test(test_sign_odd_process_name),
		cmocka_unit_test(test_service_account),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
