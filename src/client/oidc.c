/*
 * oidc.c - where a service account's CI ID token comes from, for the token
 * exchange (RFC 8693) that client.c makes at every access-token refresh:
 * a file the CI writes (GitLab's id_tokens, Kubernetes projected tokens), an
 * environment variable, or GitHub Actions' token request service.
 *
 * The ID token is a credential: read each time (CI systems replace it),
 * never logged, wiped after use. The GitHub request goes only over https
 * with verification on (system store, or oidc_ca_file).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "client.h"
#include "client_oidc.h"
#include "err.h"
#include "kbuf.h"
#include "util.h"

#define ID_TOKEN_MAX	16384
#define GHA_TIMEOUT_MS	20000L

/* Trims surrounding white space in place; 0 unless the rest is a JWS
 * compact token (base64url and dots only). */
static int
clean_token(char *t, char **out)
{
	char *s = t, *e;
	size_t i, n;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' ||
	    e[-1] == '\r'))
		*--e = '\0';
	n = strlen(s);
	if (n == 0 || n > ID_TOKEN_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' ||
		    s[i] == '.'))
			return 0;
	if ((*out = strdup(s)) == NULL)
		return 0;
	return 1;
}

#define GHA_BODY_MAX	65536

/* The answer carries an ID token: a secret kbuf, wiped as it grows. */
static size_t
gha_body(char *p, size_t size, size_t n, void *arg)
{
	struct kbuf *b = arg;

	if (n != 0 && size * n / n != size)
		return 0;
	if (kbuf_put(b, p, size * n) != 0)
		return 0;
	return size * n;
}

/* GitHub Actions: GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=AUD with
 * "Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN" -> {"value":jwt}. */
static int
github_token(const struct sn_client_config *cfg, int no_threads, char **out,
    char *why, size_t whylen)
{
	const char *url = getenv("ACTIONS_ID_TOKEN_REQUEST_URL");
	const char *rt = getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN");
	const char *aud = cfg->oidc_audience != NULL ? cfg->oidc_audience :
	    cfg->url;
	char *full = NULL, *esc = NULL, *auth = NULL, *tok = NULL;
	struct curl_slist *hdrs = NULL, *pin = NULL;
	struct kbuf b;
	json_t *j = NULL, *v;
	json_error_t e;
	CURL *h = NULL;
	long status = 0;
	size_t n;
	int r = SN_ERR_NETWORK;

	kbuf_init_secret(&b, GHA_BODY_MAX);
	if (url == NULL || *url == '\0' || rt == NULL || *rt == '\0') {
		snprintf(why, whylen, "ACTIONS_ID_TOKEN_REQUEST_URL and "
		    "ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set (does the "
		    "workflow have 'permissions: id-token: write'?)");
		return SN_ERR_UNAUTHENTICATED;
	}
	if (strncmp(url, "https://", 8) != 0) {
		snprintf(why, whylen, "ACTIONS_ID_TOKEN_REQUEST_URL is not https");
		return SN_ERR_INVALID;
	}
	if ((h = curl_easy_init()) == NULL ||
	    (esc = curl_easy_escape(h, aud != NULL ? aud : "", 0)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	n = strlen(url) + strlen(esc) + 16;
	if ((full = malloc(n)) == NULL ||
	    (auth = malloc(strlen(rt) + 32)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	snprintf(full, n, "%s%saudience=%s", url, strchr(url, '?') ? "&" : "?",
	    esc);
	snprintf(auth, strlen(rt) + 32, "Authorization: bearer %s", rt);
	if ((hdrs = curl_slist_append(hdrs, auth)) == NULL ||
	    (hdrs = curl_slist_append(hdrs, "Accept: application/json")) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	/* A consumer that forbids threads: no libcurl resolver thread. */
	if (no_threads) {
		if ((r = sn_resolve_pin(url, &pin, why, whylen)) != 0)
			goto out;
		if (pin != NULL)
			curl_easy_setopt(h, CURLOPT_RESOLVE, pin);
		r = SN_ERR_NETWORK;
	}
	curl_easy_setopt(h, CURLOPT_URL, full);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, GHA_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, gha_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	if (cfg->oidc_ca_file != NULL && *cfg->oidc_ca_file != '\0')
		curl_easy_setopt(h, CURLOPT_CAINFO, cfg->oidc_ca_file);
	if (curl_easy_perform(h) != CURLE_OK) {
		snprintf(why, whylen, "cannot reach GitHub's ID token service");
		goto out;
	}
	(void)curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		snprintf(why, whylen, "GitHub's ID token service answered HTTP "
		    "%ld", status);
		r = SN_ERR_UNAUTHENTICATED;
		goto out;
	}
	if ((j = json_loadb(b.len > 0 ? (const char *)b.data : "", b.len, 0,
	    &e)) == NULL ||
	    !json_is_string(v = json_object_get(j, "value")) ||
	    (tok = strdup(json_string_value(v))) == NULL ||
	    !clean_token(tok, out)) {
		snprintf(why, whylen, "GitHub's ID token service answered "
		    "without a token");
		r = SN_ERR_PROTOCOL;
		goto out;
	}
	r = 0;
 out:
	if (j != NULL) {
		v = json_object_get(j, "value");
		if (json_is_string(v))
			explicit_bzero((char *)json_string_value(v),
			    json_string_length(v));
		json_decref(j);
	}
	kbuf_free(&b);
	sn_strfreezero(tok);
	if (auth != NULL)
		sn_strfreezero(auth);
	free(full);
	curl_free(esc);
	curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
	curl_slist_free_all(pin);
	return r;
}

int
sn_oidc_configured(const struct sn_client_config *cfg)
{
	return (cfg->oidc_token_file != NULL && *cfg->oidc_token_file != '\0') ||
	    (cfg->oidc_token_env != NULL && *cfg->oidc_token_env != '\0') ||
	    (cfg->oidc_github != NULL && strcmp(cfg->oidc_github, "1") == 0);
}

int
sn_oidc_id_token(const struct sn_client_config *cfg, int no_threads,
    char **out, char *why, size_t whylen)
{
	char *raw = NULL;
	const char *ev;
	size_t len = 0;
	int r;

	*out = NULL;
	why[0] = '\0';
	if (cfg->oidc_token_file != NULL && *cfg->oidc_token_file != '\0') {
		if ((r = sn_read_file(cfg->oidc_token_file, ID_TOKEN_MAX + 64,
		    &raw, &len)) != 0) {
			snprintf(why, whylen, "cannot read the ID token file %s: "
			    "%s", cfg->oidc_token_file, sn_strerror(r));
			return r;
		}
		r = clean_token(raw, out) ? 0 : SN_ERR_INVALID;
		if (r != 0)
			snprintf(why, whylen, "%s does not hold a JWT ID token",
			    cfg->oidc_token_file);
		sn_freezero(raw, len);
		return r;
	}
	if (cfg->oidc_token_env != NULL && *cfg->oidc_token_env != '\0') {
		if ((ev = getenv(cfg->oidc_token_env)) == NULL || *ev == '\0') {
			snprintf(why, whylen, "environment variable %s (the ID "
			    "token) is not set", cfg->oidc_token_env);
			return SN_ERR_UNAUTHENTICATED;
		}
		if ((raw = strdup(ev)) == NULL)
			return SN_ERR_NOMEM;
		r = clean_token(raw, out) ? 0 : SN_ERR_INVALID;
		if (r != 0)
			snprintf(why, whylen, "environment variable %s does not "
			    "hold a JWT ID token", cfg->oidc_token_env);
		sn_strfreezero(raw);
		return r;
	}
	if (cfg->oidc_github != NULL && strcmp(cfg->oidc_github, "1") == 0)
		return github_token(cfg, no_threads, out, why, whylen);
	snprintf(why, whylen, "no ID token source configured");
	return SN_ERR_UNAUTHENTICATED;
}
