/*
 * oidc_keys.h - the verification keys of the OIDC issuers that service
 * accounts are federated with: discovery (ISSUER/.well-known/
 * openid-configuration -> jwks_uri) and JWKS, fetched over HTTPS and cached
 * in memory.
 *
 * Why in memory, per signetd instance: JWKS are public and small, a miss
 * costs one bounded fetch, and several instances behind a load balancer
 * each keep their own copy without coordinating (nothing to invalidate: the
 * issuer's Cache-Control lifetime bounds staleness). Only issuers named by
 * a stored federation are ever fetched (the handler looks the federation up
 * first), and the table holds at most OIDC_MAX_ISSUERS issuers.
 *
 * Bounded in time: discovery + JWKS share one deadline (timeout_ms). A
 * request that waited while another thread's fetch of the same issuer failed
 * gets SN_ERR_UNAVAILABLE at once instead of fetching again, so a slow or
 * dead issuer costs each request at most one deadline. An unknown kid
 * refetches the JWKS (key rotation), at most once per OIDC_REFETCH_MIN
 * seconds per issuer. When a refresh fails, keys fetched within
 * OIDC_STALE_MAX seconds are still used.
 */
#ifndef SIGNET_OIDC_KEYS_H
#define SIGNET_OIDC_KEYS_H

#include <stdint.h>

#include <openssl/evp.h>

#define OIDC_MAX_ISSUERS	256
#define OIDC_REFETCH_MIN	10
#define OIDC_STALE_MAX		86400
#define OIDC_DISCOVERY_MAX	(64 * 1024)
#define OIDC_JWKS_MAX		(128 * 1024)

struct oidc_keys;

/* ca_file: PEM bundle to trust instead of the system store (NULL = system).
 * Returns 0 or SN_ERR_NOMEM. */
int oidc_keys_new(const char *ca_file, long timeout_ms, struct oidc_keys **out);
void oidc_keys_free(struct oidc_keys *ks);		/* NULL ok */

/*
 * The public key of issuer for a token with header kid ("" = none) and alg.
 * *out is a new reference (EVP_PKEY_free). Returns 0, SN_ERR_UNAUTHENTICATED
 * (no such key even after a refetch), SN_ERR_UNAVAILABLE (the issuer's keys
 * cannot be fetched: down, slow, too large, malformed) with a static reason
 * in *why. *fetched is set to 1 when this call went to the network.
 */
int oidc_keys_get(struct oidc_keys *ks, const char *issuer, const char *kid,
    const char *alg, EVP_PKEY **out, int *fetched, const char **why);

/* Number of network fetches so far (discovery + JWKS pairs), for /metrics. */
uint64_t oidc_keys_fetches(const struct oidc_keys *ks);

#endif
