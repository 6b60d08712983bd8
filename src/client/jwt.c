/*
 * jwt.c - JWT bearer assertions (RFC 7523) for service-account login.
 *
 * The private key is read from the signing machine's key file and used only
 * here, to sign one short-lived (5 minute) assertion that the server trades
 * for an access token. JOSE wants ECDSA signatures as fixed-length r||s
 * (RFC 7518 section 3.4), not OpenSSL's DER SEQUENCE, so they are converted.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "encode.h"
#include "client.h"
#include "err.h"
#include "util.h"

const char *
sn_jwt_alg(EVP_PKEY *key)
{
	char group[64];
	size_t glen = 0;

	if (EVP_PKEY_is_a(key, "RSA"))
		return EVP_PKEY_get_bits(key) >= 2048 ? "RS256" : NULL;
	if (!EVP_PKEY_is_a(key, "EC"))
		return NULL;
	if (!EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, sizeof(group), &glen))
		return NULL;
	if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)
		return "ES256";
	if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0)
		return "ES384";
	return NULL;
}

/* DER ECDSA-Sig-Value -> r||s, each left-padded to n bytes. */
static int
ecdsa_der_to_raw(const uint8_t *der, size_t derlen, size_t n, uint8_t *out)
{
	const unsigned char *p = der;
	ECDSA_SIG *es = NULL;
	const BIGNUM *r, *s;
	int ret = SN_ERR_CRYPTO;

	if ((es = d2i_ECDSA_SIG(NULL, &p, (long)derlen)) == NULL ||
	    p != der + derlen)
		goto out;
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, out, (int)n) != (int)n ||
	    BN_bn2binpad(s, out + n, (int)n) != (int)n)
		goto out;
	ret = 0;
 out:
	ECDSA_SIG_free(es);
	return ret;
}

static int
b64url_json(json_t *j, char **out)
{
	char *s;
	int r;

	*out = NULL;
	if ((s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		return SN_ERR_NOMEM;
	r = sn_b64url_encode((const uint8_t *)s, strlen(s), out);
	free(s);
	return r;
}

int
sn_jwt_build(EVP_PKEY *key, const char *iss, const char *aud, int64_t now,
    char **out)
{
	json_t *hdr = NULL, *claims = NULL;
	char *h64 = NULL, *c64 = NULL, *s64 = NULL, *input = NULL, *jwt = NULL;
	char *jti = NULL;
	uint8_t rnd[16], *sig = NULL, raw[132];
	const EVP_MD *md;
	const char *alg;
	EVP_MD_CTX *mctx = NULL;
	size_t siglen = 0, ilen, jlen, n = 0;
	int r;

	*out = NULL;
	if ((alg = sn_jwt_alg(key)) == NULL)
		return SN_ERR_INVALID;
	if (strcmp(alg, "ES384") == 0) {
		md = EVP_sha384();
		n = 48;
	} else {
		md = EVP_sha256();
		n = strcmp(alg, "ES256") == 0 ? 32 : 0;
	}
	if ((r = sn_random_bytes(rnd, sizeof(rnd))) != 0 ||
	    (r = sn_hex_encode(rnd, sizeof(rnd), &jti)) != 0)
		goto out;
	if ((hdr = json_pack("{s:s, s:s}", "alg", alg, "typ", "JWT")) == NULL ||
	    (claims = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}",
	    "iss", iss, "sub", iss, "aud", aud, "iat", (json_int_t)now,
	    "exp", (json_int_t)(now + 300), "jti", jti)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	if ((r = b64url_json(hdr, &h64)) != 0 ||
	    (r = b64url_json(claims, &c64)) != 0)
		goto out;
	ilen = strlen(h64) + 1 + strlen(c64) + 1;
	if ((input = malloc(ilen)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	snprintf(input, ilen, "%s.%s", h64, c64);

	r = SN_ERR_CRYPTO;
	if ((mctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(mctx, NULL, md, NULL, key) != 1 ||
	    EVP_DigestSign(mctx, NULL, &siglen, (const uint8_t *)input,
	    strlen(input)) != 1 ||
	    (sig = malloc(siglen)) == NULL ||
	    EVP_DigestSign(mctx, sig, &siglen, (const uint8_t *)input,
	    strlen(input)) != 1)
		goto out;
	if (n != 0) {
		if ((r = ecdsa_der_to_raw(sig, siglen, n, raw)) != 0 ||
		    (r = sn_b64url_encode(raw, 2 * n, &s64)) != 0)
			goto out;
	} else if ((r = sn_b64url_encode(sig, siglen, &s64)) != 0)
		goto out;
	jlen = strlen(input) + 1 + strlen(s64) + 1;
	if ((jwt = malloc(jlen)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	snprintf(jwt, jlen, "%s.%s", input, s64);
	*out = jwt;
	jwt = NULL;
	r = 0;
 out:
	EVP_MD_CTX_free(mctx);
	json_decref(hdr);
	json_decref(claims);
	free(h64);
	free(c64);
	free(s64);
	free(input);
	free(sig);
	free(jti);
	free(jwt);
	return r;
}
