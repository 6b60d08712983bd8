/*
 * client.h - Signet's HTTPS client library, shared by the `signet` CLI and
 * the signet-pkcs11.so module (curl's layout: the tool is built only on this
 * public API).
 *
 * One struct sn_client holds one libcurl easy handle, so one kept-alive HTTPS
 * connection, reused for every request. It is thread-safe (requests are
 * serialised on an internal mutex) and fork-safe (a child process that uses
 * a client inherited from its parent gets a fresh connection, never the
 * parent's TLS state). Service-account sessions get and refresh their access
 * token by themselves (JWT bearer grant) before it expires.
 *
 * Return convention: 0 or a negative SN_ERR_*. Network failures are
 * SN_ERR_NETWORK, TLS failures SN_ERR_TLS; an HTTP error answer maps its
 * status back to SN_ERR_* (400 INVALID, 401 UNAUTHENTICATED, 403 FORBIDDEN,
 * 404 NOT_FOUND, 409 CONFLICT, 413 TOO_LARGE, 429 RATE_LIMITED, 5xx
 * UNAVAILABLE/INTERNAL) and the server's message is copied into the client's
 * last error (sn_client_errmsg).
 */
#ifndef SIGNET_CLIENT_H
#define SIGNET_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "alg.h"

struct sn_client;

struct sn_client_config {
	char *url;		/* "https://host:port" (no trailing /v1) */
	char *api_key;		/* secret: wiped on free */
	char *ca_file;		/* PEM bundle to trust; NULL = system store */
	char *sa_name;		/* service account name or id (JWT login) */
	char *sa_key_file;	/* service account private key (PEM) */
	char *sa_id;		/* resolved account id, stored at login */
	char *log_file;		/* module diagnostics; NULL = stderr */
	/*
	 * OIDC federation (token exchange) instead of sa_key_file: where a
	 * fresh CI ID token comes from at each refresh. One of: a file, an
	 * environment variable, or GitHub Actions' token request service
	 * (oidc_github "1": ACTIONS_ID_TOKEN_REQUEST_URL / _TOKEN, asking
	 * for audience oidc_audience, default the server URL).
	 */
	char *oidc_token_file;
	char *oidc_token_env;
	char *oidc_github;
	char *oidc_audience;
	char *oidc_ca_file;	/* PEM to trust for the token request URL */
};

/*
 * Loads the configuration: the file at $SIGNET_CONFIG, else
 * ~/.config/signet/config (key = value lines: url, api_key, ca_file,
 * service_account, service_account_id, key_file, log_file, oidc_token_file,
 * oidc_token_env, oidc_github, oidc_audience, oidc_ca_file), then applies the
 * environment overrides SIGNET_URL, SIGNET_API_KEY, SIGNET_CA_FILE. A missing
 * file is not an error. Returns 0, SN_ERR_INVALID (bad line) or SN_ERR_IO.
 */
int sn_config_load(struct sn_client_config *cfg);
/* Writes cfg to the config path (mode 0600, directory created 0700). */
int sn_config_save(const struct sn_client_config *cfg);
/* The path sn_config_load reads, into buf. */
int sn_config_path(char *buf, size_t len);
void sn_config_clear(struct sn_client_config *cfg);	/* wipes secrets */

int sn_client_new(const struct sn_client_config *cfg, struct sn_client **out);
void sn_client_free(struct sn_client *c);		/* NULL ok */

/*
 * One JSON request. path starts with "/" ("/v1/me"). body may be NULL.
 * On success (2xx) *resp is the parsed JSON answer (caller json_decref's;
 * may be NULL for empty bodies) and *status the HTTP status. On an HTTP
 * error the matching SN_ERR_* is returned, *status set, and the server's
 * message available via sn_client_errmsg().
 */
int sn_client_json(struct sn_client *c, const char *method, const char *path,
    json_t *body, long *status, json_t **resp);
/* Raw GET (PEM/DER/text): *out malloc'd, NUL-terminated, *len its length. */
int sn_client_get_raw(struct sn_client *c, const char *path, char **out,
    size_t *len);
/* The last error's one-line message for this thread's last call. */
const char *sn_client_errmsg(struct sn_client *c);

/*
 * Remote signing of a digest with key key_id. *sig is malloc'd.
 * hostname/process identify the caller in the audit trail (may be NULL).
 */
int sn_client_sign(struct sn_client *c, const char *key_id, enum sn_mech mech,
    enum sn_hash hash, const uint8_t *digest, size_t dlen,
    uint8_t **sig, size_t *siglen);

/* URL-encodes one path segment or query value into a malloc'd string. */
int sn_client_escape(const char *s, char **out);

#endif
