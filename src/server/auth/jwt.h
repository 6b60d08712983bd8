/*
 * jwt.h - verification of the JWT assertions service accounts present at
 * POST /v1/oauth/token (RFC 7523 JWT bearer grant, RFC 7515 compact JWS).
 *
 * Only asymmetric algorithms are accepted: ES256, ES384, RS256, PS256, and
 * only the one that fits the registered key (ES256 needs a P-256 key, ...).
 * "none" and every HMAC algorithm are refused before any key is touched, so
 * a public key can never be used as an HMAC secret.
 */
#ifndef SIGNET_JWT_H
#define SIGNET_JWT_H

#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#define JWT_MAX_LEN		8192
#define JWT_MAX_LIFETIME	300	/* exp at most 5 minutes ahead */
#define JWT_CLOCK_SKEW		60	/* tolerated for iat / nbf / exp */

struct jwt_claims {
	char alg[8];
	char iss[128];
	char sub[128];
	char jti[128];
	int64_t iat, nbf, exp;
};

/*
 * Decodes header and claims WITHOUT checking the signature, so the caller can
 * find the account (iss) whose key verifies it. Checks the shape: three
 * base64url parts, JSON objects, alg in the allow-list, iss/sub/jti strings,
 * exp a number. Returns 0 or SN_ERR_INVALID with *why a static reason.
 */
int jwt_decode(const char *jwt, struct jwt_claims *out, const char **why);

/*
 * Full check: jwt_decode, then the signature with pub (alg must fit the key
 * type), iss == sub, aud (string or array) contains expected_aud, exp in
 * (now - skew, now + JWT_MAX_LIFETIME + skew], iat not in the future beyond
 * skew and exp - iat <= JWT_MAX_LIFETIME, nbf (if present) <= now + skew.
 * Returns 0, SN_ERR_INVALID (malformed) or SN_ERR_UNAUTHENTICATED (bad
 * signature or claims), with *why a static reason.
 */
int jwt_verify(const char *jwt, EVP_PKEY *pub, const char *expected_aud,
    int64_t now, struct jwt_claims *out, const char **why);

/* 1 if the claims' aud (string or array of strings) contains expected. */
int jwt_aud_contains(json_t *claims, const char *expected);

/*
 * OIDC ID tokens presented to the token exchange (RFC 8693) by CI systems.
 * Only RS256, ES256 and ES384 are accepted (never none, never HMAC); iss,
 * sub, exp and iat are required, nbf optional, kid optional.
 */
#define JWT_ISS_MAX	512

struct jwt_id_token {
	char alg[8];
	char kid[128];
	char iss[JWT_ISS_MAX + 1];
	char sub[512];
	int64_t iat, nbf, exp;
};

/*
 * Decodes WITHOUT checking the signature (the issuer's keys are found from
 * iss). *claims is the claims object (new reference) for aud and the claim
 * rules. Returns 0 or SN_ERR_INVALID with *why a static reason.
 */
int jwt_id_token_decode(const char *jwt, struct jwt_id_token *out,
    json_t **claims, const char **why);
/* Verifies the signature of jwt (alg from its header) with pub; the alg
 * must fit the key. 0, SN_ERR_INVALID or SN_ERR_UNAUTHENTICATED. */
int jwt_check_signature(const char *jwt, const char *alg, EVP_PKEY *pub,
    const char **why);
/*
 * exp > now - skew, exp > iat, iat <= now + skew, nbf <= now + skew, and
 * now - iat <= max_age. 0 or SN_ERR_UNAUTHENTICATED with *why.
 */
int jwt_id_token_times(const struct jwt_id_token *t, int64_t max_age,
    int64_t now, const char **why);

#endif
