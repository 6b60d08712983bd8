/*
 * oidc_fetch.h - the one outbound HTTPS request signetd makes: a bounded
 * GET of an OIDC issuer's discovery document or JWKS (libcurl).
 *
 * Bounds: https only, no redirects, TLS verification always on (against the
 * system store, or only the PEM bundle ca_file when set), a deadline for the
 * whole transfer (connect included), and a maximum body size. Proxies come
 * from the usual environment variables (libcurl's behaviour).
 */
#ifndef SIGNET_OIDC_FETCH_H
#define SIGNET_OIDC_FETCH_H

#include <stddef.h>
#include <stdint.h>

#define OIDC_CACHE_DEFAULT	300	/* seconds when the answer says nothing */
#define OIDC_CACHE_MIN		60
#define OIDC_CACHE_MAX		86400

/*
 * GETs url (must be https://) with at most timeout_ms milliseconds in all and
 * at most max bytes of body. On 200: *body (malloc'd, NUL-terminated) and
 * *len, and *max_age the response's cache lifetime (Cache-Control max-age,
 * clamped to [OIDC_CACHE_MIN, OIDC_CACHE_MAX]; OIDC_CACHE_DEFAULT if absent;
 * OIDC_CACHE_MIN for no-cache/no-store). Returns 0, SN_ERR_INVALID (not an
 * https URL), SN_ERR_TOO_LARGE, or SN_ERR_UNAVAILABLE (network, TLS, timeout,
 * a status other than 200), with a static reason in *why.
 */
int oidc_fetch(const char *url, const char *ca_file, long timeout_ms,
    size_t max, char **body, size_t *len, int64_t *max_age, const char **why);

/* The max-age of one Cache-Control header value, for oidc_fetch (exposed
 * for the unit test). -1 if none, 0 for no-cache / no-store. */
int64_t oidc_cache_control_max_age(const char *value, size_t len);

#endif
