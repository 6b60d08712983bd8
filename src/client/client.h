/*
 * client.h - Signet's HTTPS client library, shared by the `signet` CLI and
 * the signet-pkcs11.so module (curl's layout: the tool is built only on this
 * public API).
 *
 * One struct sn_client holds a small pool of kept-alive HTTPS connections
 * (at most SN_CLIENT_POOL_MAX, opened as concurrent requests need them, TLS
 * sessions resumed between them). It is thread-safe (threads' requests run
 * at the same time, each on its own connection) and fork-safe (a child
 * process that uses a client inherited from its parent gets fresh
 * connections, never the parent's TLS state). Service-account sessions get and refresh their access
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
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "alg.h"

struct sn_client;

/* Connections one client keeps at most (requests beyond wait for one). */
#define SN_CLIENT_POOL_MAX	8

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
	/* "yes": every signature's audit event must be proven in the signed
	 * transparency log before the signature is returned (docs/AUDIT.md) */
	char *require_inclusion_proof;
	char *log_key;		/* the log's note verifier key; NULL = ask */
	/* the PKCS#11 module: how long C_Sign waits for an approval the
	 * key's policy asks for (a duration; NULL or "0": fail at once) */
	char *approval_wait;
	/* the PKCS#11 module's listing cache shared by the processes of one
	 * user (docs/PKCS11.md "Listing cache"): "on" (NULL: the default) or
	 * "off" (no file read or written) */
	char *listing_cache;
	/* how long an entry is used without asking the service whether it
	 * is current (a duration up to 1h; NULL or "0": ask every time) */
	char *listing_cache_ttl;
};

/*
 * Loads the configuration: the file at $SIGNET_CONFIG, else
 * ~/.config/signet/config (key = value lines: url, api_key, ca_file,
 * service_account, service_account_id, key_file, log_file, oidc_token_file,
 * oidc_token_env, oidc_github, oidc_audience, oidc_ca_file,
 * require_inclusion_proof (yes|no), log_key, approval_wait (a duration),
 * listing_cache (on|off), listing_cache_ttl (a duration)),
 * then applies the
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
/*
 * The id of the approval named by the last sign answer of this thread
 * that was a 202 (the key's policy wants approvals; the call failed with
 * SN_ERR_FORBIDDEN), or NULL. Static storage, valid until the next call.
 */
const char *sn_client_last_approval(void);

/*
 * Waits for the decision on approval id with long-polls (GET
 * /v1/approvals/{id}?wait=S, at most 30 s each) until the epoch second
 * until. 0 once it is approved (sign the same request again), else
 * SN_ERR_FORBIDDEN with why set (denied, and by whom and why; expired;
 * still pending at until), or the request's error.
 */
int sn_client_await_approval(struct sn_client *c, const char *id,
    int64_t until, char *why, size_t whylen);

int sn_client_json(struct sn_client *c, const char *method, const char *path,
    json_t *body, long *status, json_t **resp);
/*
 * A conditional GET (RFC 9110 If-None-Match), for a caller that keeps an
 * answer and its validator: sends If-None-Match: if_none_match (NULL:
 * none; a value with a byte outside printable ASCII or longer than
 * SN_CLIENT_ETAG_MAX is SN_ERR_INVALID) and copies the answer's ETag into
 * etag ("" when it has none or one that does not fit etaglen, is longer
 * than SN_CLIENT_ETAG_MAX or has such a byte; etag may be NULL). 0 with
 * *status 304 and *resp NULL when the server says the copy is current
 * (only when if_none_match was sent: a 304 is then not an error); else as
 * sn_client_json.
 */
#define SN_CLIENT_ETAG_MAX	256
int sn_client_get_cond(struct sn_client *c, const char *path,
    const char *if_none_match, char *etag, size_t etaglen, long *status,
    json_t **resp);
/* Raw GET (PEM/DER/text): *out malloc'd, NUL-terminated, *len its length. */
int sn_client_get_raw(struct sn_client *c, const char *path, char **out,
    size_t *len);
/*
 * Unauthenticated POST of bytes (a timestamp query to /tsa/...) over the
 * same verified HTTPS connection. *out as for sn_client_get_raw.
 */
int sn_client_post_public(struct sn_client *c, const char *path,
    const char *ctype, const uint8_t *body, size_t bodylen, char **out,
    size_t *len, long *status);
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
/*
 * The batch form of POST /v1/keys/{id}/sign: n digests of `hash` (1 to
 * SN_CLIENT_BATCH_MAX, the service's default max_batch) in one request;
 * sigs[i]/siglens[i] receive malloc'd signatures in the same order (all
 * NULL on failure). 0 or SN_ERR_*.
 */
#define SN_CLIENT_BATCH_MAX	64
int sn_client_sign_batch(struct sn_client *c, const char *key_id,
    enum sn_mech mech, enum sn_hash hash, const uint8_t *const *digests,
    size_t n, uint8_t **sigs, size_t *siglens);

int sn_client_escape(const char *s, char **out);

/*
 * Configuration files in detail, service-account JWT assertions and the
 * detached CMS builder: used by the CLI, the module and the tests.
 */

/* Maximum size of the config file and of a service-account key file. */
#define SN_CONFIG_MAX	(64 * 1024)
/* Maximum size of an HTTP response body the client accepts. */
#define SN_CLIENT_RESP_MAX	(8 * 1024 * 1024)

/*
 * Parses config text (key = value lines, '#' comments, blank lines) into
 * cfg, which must be zeroed or cleared first. On SN_ERR_INVALID a reason
 * ("line 3: expected key = value") is written to why (may be NULL).
 */
int sn_config_parse(const char *text, struct sn_client_config *cfg,
    char *why, size_t whylen);
/*
 * Loads one file (no environment overrides). A missing file is not an
 * error. Refuses (SN_ERR_INVALID with a reason) a file not owned by the
 * caller or readable/writable by group or others: it holds secrets.
 */
int sn_config_load_file(const char *path, struct sn_client_config *cfg,
    char *why, size_t whylen);
/* sn_config_load with a reason on failure. */
int sn_config_load_why(struct sn_client_config *cfg, char *why, size_t whylen);
/* Renders cfg as config text (malloc'd; wipe it: it holds secrets). */
int sn_config_format(const struct sn_client_config *cfg, char **out);
/* Writes cfg to path: parent directories created 0700, the file 0600. */
int sn_config_save_path(const struct sn_client_config *cfg, const char *path);
/* Deep copy (for the client, which owns its copy). */
int sn_config_copy(const struct sn_client_config *src,
    struct sn_client_config *dst);

/*
 * Builds a signed JWT bearer assertion (RFC 7523) with key: header
 * {"alg":"ES256"|"ES384"|"RS256","typ":"JWT"}, claims iss = sub = iss,
 * aud, iat = now, exp = now + 300, jti = 128 random bits in hex. ECDSA
 * signatures are in the JOSE raw r||s form. *out is malloc'd.
 */
int sn_jwt_build(EVP_PKEY *key, const char *iss, const char *aud,
    int64_t now, char **out);
/* The JOSE "alg" for a key (static string) or NULL if unsupported. */
const char *sn_jwt_alg(EVP_PKEY *key);

/*
 * Signs digest (of the DER signed attributes) with hash; RSA: PKCS#1 v1.5
 * signature; EC: DER ECDSA. *sig malloc'd.
 */
typedef int (*sn_sign_digest_fn)(void *arg, enum sn_hash hash,
    const uint8_t *digest, size_t dlen, uint8_t **sig, size_t *siglen);

/*
 * Builds a detached CMS SignedData (RFC 5652) over content whose digest
 * (with hash) is content_digest: one SignerInfo for signer (public key
 * only), signed attributes contentType (id-data), signingTime and
 * messageDigest, the certificates signer + chain (may be NULL). The DER of
 * the signed attributes is hashed and signed through sign(). *der malloc'd.
 */
int sn_cms_sign_detached(X509 *signer, STACK_OF(X509) *chain,
    enum sn_hash hash, const uint8_t *content_digest, size_t dlen,
    int64_t signing_time, sn_sign_digest_fn sign, void *arg,
    uint8_t **der, size_t *derlen);


/*
 * Never let libcurl start a thread (PKCS#11's
 * CKF_LIBRARY_CANT_CREATE_OS_THREADS): the host name is looked up in the
 * calling thread instead of by libcurl's threaded resolver.
 */
void sn_client_set_no_threads(struct sn_client *c);

/*
 * Looks url's host up with getaddrinfo() in the calling thread and returns
 * a CURLOPT_RESOLVE list "host:port:addr[,addr...]" in *out (the caller
 * frees it with curl_slist_free_all), or *out = NULL for an IP literal.
 * 0, SN_ERR_INVALID (bad URL), SN_ERR_NETWORK (no address; why says) or
 * SN_ERR_NOMEM.
 */
struct curl_slist;
int sn_resolve_pin(const char *url, struct curl_slist **out, char *why,
    size_t whylen);

/*
 * require_inclusion_proof (inclusion.c): checks that sign_resp's
 * audit_event records this digest and signature and is proven in the
 * signed transparency log (log key: configured_key, else the first one
 * this process learnt from the server). 0, or SN_ERR_CONFLICT (with a
 * reason in why) / a request error.
 */
int sn_client_check_inclusion(struct sn_client *c, const char *configured_key,
    json_t *sign_resp, const uint8_t *digest, size_t dlen,
    const uint8_t *sig, size_t siglen, char *why, size_t whylen);

/*
 * Sends a DER TimeStampReq (q) to a TSA and returns the DER reply
 * (*reply malloc'd). 0 or SN_ERR_*.
 */
typedef int (*sn_ts_query_fn)(void *arg, const uint8_t *q, size_t qlen,
    uint8_t **reply, size_t *replylen);

/*
 * RFC 3161 appendix A: asks query() for a timestamp over the signature
 * value of the one SignerInfo of the CMS der (SHA-256 imprint, random
 * nonce, certReq), checks the reply (granted, same imprint, same nonce)
 * and returns the CMS with the token added as the unsigned attribute
 * id-aa-timeStampToken. *out malloc'd. SN_ERR_INVALID for a CMS that is
 * not one SignerInfo, SN_ERR_CRYPTO for a reply that does not answer.
 */
int sn_cms_add_timestamp(const uint8_t *der, size_t derlen,
    sn_ts_query_fn query, void *arg, uint8_t **out, size_t *outlen);

#endif
