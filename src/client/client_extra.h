/*
 * client_extra.h - additions to client.h owned by the client library: the
 * pieces the CLI and the unit tests need beyond the fixed client.h API
 * (config parsing with reasons, JWT assertions for service accounts, the
 * detached CMS builder that signs through a callback, a few request
 * helpers).
 *
 * Return convention as everywhere: 0 or a negative SN_ERR_*; outputs are
 * malloc'd and owned by the caller unless said otherwise.
 */
#ifndef SIGNET_CLIENT_EXTRA_H
#define SIGNET_CLIENT_EXTRA_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "client.h"

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
 * GET/POST helpers used by the CLI: sn_client_json with a printf-built
 * path. The caller escapes path segments with sn_client_escape.
 */
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

int sn_client_jsonf(struct sn_client *c, const char *method, json_t *body,
    json_t **resp, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
