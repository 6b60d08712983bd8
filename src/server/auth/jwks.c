/*
 * jwks.c - JWK Set parsing with OpenSSL 3's EVP_PKEY_fromdata. See jwks.h.
 *
 * This parses bytes fetched from the network: every member is type-checked,
 * lengths are bounded before decoding, and anything unexpected makes the key
 * (or the whole set, for a malformed document) unusable.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include "encode.h"
#include "err.h"
#include "jwks.h"

#define JWK_B64_MAX	2048		/* 8192-bit modulus: 1366 chars */

void
jwks_free(struct jwks *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++)
		EVP_PKEY_free(s->keys[i].pkey);
	free(s);
}

/* Decodes member name of jwk (a base64url string) into *out. */
static int
b64_member(json_t *jwk, const char *name, uint8_t **out, size_t *len)
{
	json_t *v = json_object_get(jwk, name);
	const char *s;

	*out = NULL;
	if (!json_is_string(v))
		return SN_ERR_INVALID;
	s = json_string_value(v);
	if (json_string_length(v) == 0 || json_string_length(v) > JWK_B64_MAX)
		return SN_ERR_INVALID;
	return sn_b64url_decode(s, json_string_length(v), out, len);
}

static EVP_PKEY *
from_params(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;

	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pk = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pk;
}

static EVP_PKEY *
rsa_key(json_t *jwk)
{
	uint8_t *n = NULL, *e = NULL;
	size_t nl = 0, el = 0;
	BIGNUM *bn = NULL, *be = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *pk = NULL;
	int bits;

	if (b64_member(jwk, "n", &n, &nl) != 0 ||
	    b64_member(jwk, "e", &e, &el) != 0 || el > 8)
		goto out;
	if ((bn = BN_bin2bn(n, (int)nl, NULL)) == NULL ||
	    (be = BN_bin2bn(e, (int)el, NULL)) == NULL ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) != 1)
		goto out;
	pk = from_params("RSA", bld);
	bits = pk != NULL ? EVP_PKEY_get_bits(pk) : 0;
	if (pk != NULL && (bits < 2048 || bits > 8192)) {
		EVP_PKEY_free(pk);
		pk = NULL;
	}
 out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	free(n);
	free(e);
	return pk;
}

static EVP_PKEY *
ec_key(json_t *jwk)
{
	json_t *crv = json_object_get(jwk, "crv");
	const char *group;
	uint8_t *x = NULL, *y = NULL, pt[1 + 2 * 48];
	size_t xl = 0, yl = 0, fl;
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *pk = NULL;

	if (!json_is_string(crv))
		return NULL;
	if (strcmp(json_string_value(crv), "P-256") == 0) {
		group = "prime256v1";
		fl = 32;
	} else if (strcmp(json_string_value(crv), "P-384") == 0) {
		group = "secp384r1";
		fl = 48;
	} else
		return NULL;
	if (b64_member(jwk, "x", &x, &xl) != 0 ||
	    b64_member(jwk, "y", &y, &yl) != 0 || xl != fl || yl != fl)
		goto out;
	/* SEC 1 uncompressed point; fromdata checks it is on the curve. */
	pt[0] = 0x04;
	memcpy(pt + 1, x, fl);
	memcpy(pt + 1 + fl, y, fl);
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt,
	    1 + 2 * fl) != 1)
		goto out;
	pk = from_params("EC", bld);
 out:
	OSSL_PARAM_BLD_free(bld);
	free(x);
	free(y);
	return pk;
}

/* Copies an optional short string member; -1 if present but not one. */
static int
opt_str(json_t *jwk, const char *name, char *out, size_t outsz)
{
	json_t *v = json_object_get(jwk, name);

	out[0] = '\0';
	if (v == NULL)
		return 0;
	if (!json_is_string(v) || json_string_length(v) >= outsz ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return -1;
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

int
jwks_parse(const char *buf, size_t len, struct jwks **out, const char **why)
{
	json_t *doc = NULL, *keys, *jwk, *kty, *use;
	json_error_t e;
	struct jwks *s = NULL;
	struct jwks_key *k;
	char alg[16];
	size_t i;
	int r = SN_ERR_INVALID;

	*out = NULL;
	*why = "JWKS is not a JSON object with a keys array";
	if ((doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &e)) == NULL ||
	    !json_is_object(doc) ||
	    !json_is_array(keys = json_object_get(doc, "keys")))
		goto out;
	if (json_array_size(keys) > JWKS_MAX_KEYS) {
		*why = "JWKS has too many keys";
		goto out;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	json_array_foreach(keys, i, jwk) {
		if (!json_is_object(jwk))
			goto out;
		kty = json_object_get(jwk, "kty");
		use = json_object_get(jwk, "use");
		if (!json_is_string(kty))
			goto out;
		if (use != NULL && (!json_is_string(use) ||
		    strcmp(json_string_value(use), "sig") != 0))
			continue;		/* encryption keys: not ours */
		/* A JWK that carries private members is a publishing mistake. */
		if (json_object_get(jwk, "d") != NULL)
			continue;
		k = &s->keys[s->n];
		if (opt_str(jwk, "kid", k->kid, sizeof(k->kid)) != 0 ||
		    opt_str(jwk, "alg", alg, sizeof(alg)) != 0 ||
		    strlen(alg) >= sizeof(k->alg))
			continue;
		memcpy(k->alg, alg, strlen(alg) + 1);
		if (strcmp(json_string_value(kty), "RSA") == 0)
			k->pkey = rsa_key(jwk);
		else if (strcmp(json_string_value(kty), "EC") == 0)
			k->pkey = ec_key(jwk);
		if (k->pkey != NULL)
			s->n++;
		else
			memset(k, 0, sizeof(*k));
	}
	*out = s;
	s = NULL;
	*why = NULL;
	r = 0;
 out:
	jwks_free(s);
	json_decref(doc);
	return r;
}

static int
fits(EVP_PKEY *pk, const char *alg)
{
	if (strcmp(alg, "RS256") == 0)
		return EVP_PKEY_is_a(pk, "RSA");
	if (strcmp(alg, "ES256") == 0 || strcmp(alg, "ES384") == 0)
		return EVP_PKEY_is_a(pk, "EC");	/* the curve: jwt.c key_fits */
	return 0;
}

EVP_PKEY *
jwks_find(const struct jwks *s, const char *kid, const char *alg)
{
	EVP_PKEY *hit = NULL;
	size_t i, n = 0;

	if (s == NULL)
		return NULL;
	for (i = 0; i < s->n; i++) {
		const struct jwks_key *k = &s->keys[i];

		if (!fits(k->pkey, alg) ||
		    (k->alg[0] != '\0' && strcmp(k->alg, alg) != 0))
			continue;
		if (kid[0] != '\0') {
			if (strcmp(k->kid, kid) == 0)
				return k->pkey;
			continue;
		}
		hit = k->pkey;
		n++;
	}
	return n == 1 ? hit : NULL;
}
