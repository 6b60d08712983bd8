/*
 * jwks.h - JSON Web Key Sets (RFC 7517) of OIDC issuers, parsed into
 * OpenSSL public keys for the token exchange.
 *
 * Only signature keys the token exchange can use are kept: RSA (2048..8192
 * bits) and EC P-256 / P-384. Keys with "use" other than "sig", other key
 * types and private members are skipped, never trusted. At most JWKS_MAX_KEYS
 * keys are kept; a set with more is refused as a whole.
 */
#ifndef SIGNET_JWKS_H
#define SIGNET_JWKS_H

#include <stddef.h>

#include <openssl/evp.h>

#define JWKS_MAX_KEYS	32

struct jwks_key {
	char kid[128];			/* "" if the key has none */
	char alg[8];			/* "" if the key does not say */
	EVP_PKEY *pkey;
};

struct jwks {
	struct jwks_key keys[JWKS_MAX_KEYS];
	size_t n;
};

/*
 * Parses the JSON text buf[0..len) ({"keys":[...]}). *out is malloc'd (free
 * with jwks_free). Returns 0, SN_ERR_INVALID (with *why a static reason) or
 * SN_ERR_NOMEM.
 */
int jwks_parse(const char *buf, size_t len, struct jwks **out,
    const char **why);
void jwks_free(struct jwks *s);				/* NULL ok */

/*
 * The key for a token with header kid (may be "") and alg: the key with that
 * kid whose type fits alg (and whose own alg, if any, equals it); with no kid,
 * the only key that fits. NULL if none. The key stays owned by s.
 */
EVP_PKEY *jwks_find(const struct jwks *s, const char *kid, const char *alg);

#endif
