/*
 * oidc_fetch.c - bounded HTTPS GET for OIDC discovery and JWKS. See
 * oidc_fetch.h. Runs on request threads: CURLOPT_NOSIGNAL, one easy handle
 * per call (no shared state, no connection kept to an issuer).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "err.h"
#include "kbuf.h"
#include "oidc_fetch.h"

/* The answer, bounded by the caller's max (common/kbuf.c). */
struct fetch_buf {
	struct kbuf body;
	int too_big;
	int64_t max_age;
};

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct fetch_buf *b = arg;
	size_t add = size * n;		/* size is always 1 (libcurl) */
	int r;

	if (n != 0 && add / n != size)
		return 0;
	if ((r = kbuf_put(&b->body, p, add)) != 0) {
		if (r == SN_ERR_TOO_LARGE)
			b->too_big = 1;
		return 0;		/* aborts the transfer */
	}
	return add;
}

int64_t
oidc_cache_control_max_age(const char *v, size_t len)
{
	size_t i = 0, j;
	int64_t age = -1, n;

	/* A cursor over comma-separated directives; unknown ones skipped. */
	while (i < len) {
		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		j = i;
		while (j < len && v[j] != ',')
			j++;
		if ((j - i == 8 && strncasecmp(v + i, "no-store", 8) == 0) ||
		    (j - i == 8 && strncasecmp(v + i, "no-cache", 8) == 0))
			return 0;
		if (j - i > 8 && strncasecmp(v + i, "max-age=", 8) == 0) {
			size_t k = i + 8;

			n = 0;
			while (k < j && v[k] >= '0' && v[k] <= '9' &&
			    n < 100000000)
				n = n * 10 + (v[k++] - '0');
			while (k < j && (v[k] == ' ' || v[k] == '\t'))
				k++;
			if (k == j && k > i + 8)
				age = n;
		}
		i = j;
	}
	return age;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct fetch_buf *b = arg;
	size_t len = size * n;
	int64_t a;

	if (len > 14 && strncasecmp(p, "cache-control:", 14) == 0) {
		while (len > 14 && (p[len - 1] == '\r' || p[len - 1] == '\n'))
			len--;
		a = oidc_cache_control_max_age(p + 14, len - 14);
		if (a >= 0)
			b->max_age = a;
	}
	return size * n;
}

int
oidc_fetch(const char *url, const char *ca_file, long timeout_ms,
    size_t max, char **body, size_t *len, int64_t *max_age, const char **why)
{
	struct fetch_buf b = { .too_big = 0, .max_age = -1 };
	CURL *h = NULL;
	CURLcode cc;
	long status = 0;
	int r = SN_ERR_UNAVAILABLE;

	*body = NULL;
	*len = 0;
	*max_age = OIDC_CACHE_DEFAULT;
	*why = NULL;
	kbuf_init(&b.body, max);
	if (strncmp(url, "https://", 8) != 0) {
		*why = "issuer URLs must be https";
		return SN_ERR_INVALID;
	}
	if ((h = curl_easy_init()) == NULL) {
		*why = "out of memory";
		return SN_ERR_NOMEM;
	}
	if (curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSLVERSION,
	    (long)CURL_SSLVERSION_TLSv1_2) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)max) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_USERAGENT, "signetd") != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HEADERDATA, &b) != CURLE_OK ||
	    (ca_file != NULL && ca_file[0] != '\0' &&
	    (curl_easy_setopt(h, CURLOPT_CAINFO, ca_file) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CAPATH, NULL) != CURLE_OK))) {
		*why = "cannot set up the HTTPS client";
		r = SN_ERR_INTERNAL;
		goto out;
	}
	cc = curl_easy_perform(h);
	if (b.too_big || cc == CURLE_FILESIZE_EXCEEDED) {
		*why = "the answer is larger than allowed";
		r = SN_ERR_TOO_LARGE;
		goto out;
	}
	if (cc == CURLE_OPERATION_TIMEDOUT) {
		*why = "the issuer did not answer in time";
		goto out;
	}
	if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CONNECT_ERROR ||
	    cc == CURLE_SSL_CACERT_BADFILE) {
		*why = "TLS with the issuer failed (certificate not trusted?)";
		goto out;
	}
	if (cc != CURLE_OK) {
		*why = "cannot reach the issuer";
		goto out;
	}
	(void)curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		*why = "the issuer answered with a status other than 200";
		goto out;
	}
	if (b.max_age == 0)
		*max_age = OIDC_CACHE_MIN;
	else if (b.max_age > 0)
		*max_age = b.max_age < OIDC_CACHE_MIN ? OIDC_CACHE_MIN :
		    b.max_age > OIDC_CACHE_MAX ? OIDC_CACHE_MAX : b.max_age;
	/* "" for an empty answer, as callers expect a string */
	if ((r = kbuf_steal_str(&b.body, body, len)) != 0)
		goto out;
	r = 0;
 out:
	kbuf_free(&b.body);
	curl_easy_cleanup(h);
	return r;
}
