/*
 * jwt.c - strict JWS compact parsing and verification with OpenSSL.
 */
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "encode.h"
#include "err.h"
#include "jwt.h"

enum jwt_alg { JWT_NONE, JWT_ES256, JWT_ES384, JWT_RS256, JWT_PS256 };

static enum jwt_alg
alg_from_name(const char *s)
{
	if (strcmp(s, "ES256") == 0)
		return JWT_ES256;
	if (strcmp(s, "ES384") == 0)
		return JWT_ES384;
	if (strcmp(s, "RS256") == 0)
		return JWT_RS256;
	if (strcmp(s, "PS256") == 0)
		return JWT_PS256;
	return JWT_NONE;
}

/* Decodes one base64url part into a JSON object. */
static json_t *
part_json(const char *p, size_t len)
{
	uint8_t *raw = NULL;
	size_t rlen;
	json_t *j;
	json_error_t e;

	if (sn_b64url_decode(p, len, &raw, &rlen) != 0)
		return NULL;
	j = json_loadb((const char *)raw, rlen, JSON_REJECT_DUPLICATES, &e);
	free(raw);
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static int
copy_str(json_t *obj, const char *name, char *out, size_t outsz, int required)
{
	json_t *v = json_object_get(obj, name);
	const char *s;

	out[0] = '\0';
	if (v == NULL)
		return required ? -1 : 0;
	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	if (strlen(s) == 0 || strlen(s) >= outsz)
		return -1;
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

static int
get_time(json_t *obj, const char *name, int64_t *out, int required)
{
	json_t *v = json_object_get(obj, name);

	*out = 0;
	if (v == NULL)
		return required ? -1 : 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	*out = (int64_t)json_integer_value(v);
	return 0;
}

/* Splits "a.b.c" into three parts; no empty part, exactly two dots. */
static int
split(const char *jwt, const char *p[3], size_t len[3])
{
	const char *d1, *d2;

	if ((d1 = strchr(jwt, '.')) == NULL || (d2 = strchr(d1 + 1, '.')) == NULL ||
	    strchr(d2 + 1, '.') != NULL)
		return -1;
	p[0] = jwt;
	len[0] = (size_t)(d1 - jwt);
	p[1] = d1 + 1;
	len[1] = (size_t)(d2 - d1 - 1);
	p[2] = d2 + 1;
	len[2] = strlen(d2 + 1);
	return (len[0] == 0 || len[1] == 0 || len[2] == 0) ? -1 : 0;
}

int
jwt_decode(const char *jwt, struct jwt_claims *out, const char **why)
{
	const char *p[3];
	size_t len[3];
	json_t *hdr = NULL, *cl = NULL, *typ;
	int r = SN_ERR_INVALID;

	memset(out, 0, sizeof(*out));
	*why = "malformed JWT";
	if (jwt == NULL || strnlen(jwt, JWT_MAX_LEN + 1) > JWT_MAX_LEN) {
		*why = "JWT too long";
		return SN_ERR_INVALID;
	}
	if (split(jwt, p, len) != 0)
		goto out;
	if ((hdr = part_json(p[0], len[0])) == NULL) {
		*why = "JWT header is not base64url JSON";
		goto out;
	}
	if ((cl = part_json(p[1], len[1])) == NULL) {
		*why = "JWT claims are not base64url JSON";
		goto out;
	}
	if (copy_str(hdr, "alg", out->alg, sizeof(out->alg), 1) != 0 ||
	    alg_from_name(out->alg) == JWT_NONE) {
		*why = "JWT alg not allowed (ES256, ES384, RS256, PS256 only)";
		goto out;
	}
	if (json_object_get(hdr, "crit") != NULL) {
		*why = "JWT crit header not supported";
		goto out;
	}
	if ((typ = json_object_get(hdr, "typ")) != NULL &&
	    (!json_is_string(typ) || strcasecmp(json_string_value(typ), "JWT") != 0)) {
		*why = "JWT typ must be JWT";
		goto out;
	}
	if (copy_str(cl, "iss", out->iss, sizeof(out->iss), 1) != 0 ||
	    copy_str(cl, "sub", out->sub, sizeof(out->sub), 1) != 0) {
		*why = "JWT iss and sub must be strings";
		goto out;
	}
	if (copy_str(cl, "jti", out->jti, sizeof(out->jti), 1) != 0) {
		*why = "JWT jti must be a non-empty string";
		goto out;
	}
	if (get_time(cl, "exp", &out->exp, 1) != 0 ||
	    get_time(cl, "iat", &out->iat, 0) != 0 ||
	    get_time(cl, "nbf", &out->nbf, 0) != 0) {
		*why = "JWT exp/iat/nbf must be integer times";
		goto out;
	}
	r = 0;
	*why = NULL;
 out:
	json_decref(hdr);
	json_decref(cl);
	return r;
}

/* JOSE ECDSA signatures are r||s; OpenSSL verifies DER. */
static int
ecdsa_raw_to_der(const uint8_t *raw, size_t len, uint8_t **der, size_t *derlen)
{
	ECDSA_SIG *sig = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *p = NULL;
	int n, ret = SN_ERR_CRYPTO;

	*der = NULL;
	if ((sig = ECDSA_SIG_new()) == NULL ||
	    (r = BN_bin2bn(raw, (int)(len / 2), NULL)) == NULL ||
	    (s = BN_bin2bn(raw + len / 2, (int)(len / 2), NULL)) == NULL)
		goto out;
	if (ECDSA_SIG_set0(sig, r, s) != 1)
		goto out;
	r = s = NULL;
	if ((n = i2d_ECDSA_SIG(sig, &p)) <= 0)
		goto out;
	*der = p;
	*derlen = (size_t)n;
	ret = 0;
 out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(sig);
	return ret;
}

static int
key_fits(EVP_PKEY *pub, enum jwt_alg alg, size_t *ec_len)
{
	char group[64];
	size_t glen = 0;

	*ec_len = 0;
	switch (alg) {
	case JWT_RS256:
	case JWT_PS256:
		return EVP_PKEY_is_a(pub, "RSA") && EVP_PKEY_get_bits(pub) >= 2048;
	case JWT_ES256:
	case JWT_ES384:
		if (!EVP_PKEY_is_a(pub, "EC") ||
		    EVP_PKEY_get_utf8_string_param(pub, OSSL_PKEY_PARAM_GROUP_NAME,
		    group, sizeof(group), &glen) != 1)
			return 0;
		if (alg == JWT_ES256 && strcmp(group, "prime256v1") == 0) {
			*ec_len = 64;
			return 1;
		}
		if (alg == JWT_ES384 && strcmp(group, "secp384r1") == 0) {
			*ec_len = 96;
			return 1;
		}
		return 0;
	default:
		return 0;
	}
}

static int
check_sig(const char *jwt, EVP_PKEY *pub, enum jwt_alg alg, const char **why)
{
	const char *p[3];
	size_t len[3], siglen, eclen, derlen = 0;
	uint8_t *sig = NULL, *der = NULL;
	EVP_MD_CTX *ctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	const EVP_MD *md = (alg == JWT_ES384) ? EVP_sha384() : EVP_sha256();
	int r = SN_ERR_UNAUTHENTICATED;

	if (split(jwt, p, len) != 0)
		return SN_ERR_INVALID;
	if (!key_fits(pub, alg, &eclen)) {
		*why = "JWT alg does not fit the key";
		return SN_ERR_UNAUTHENTICATED;
	}
	if (sn_b64url_decode(p[2], len[2], &sig, &siglen) != 0) {
		*why = "JWT signature is not base64url";
		return SN_ERR_INVALID;
	}
	if (eclen != 0) {
		if (siglen != eclen ||
		    ecdsa_raw_to_der(sig, siglen, &der, &derlen) != 0) {
			*why = "JWT signature has the wrong length";
			goto out;
		}
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(ctx, &pctx, md, NULL, pub) != 1) {
		r = SN_ERR_CRYPTO;
		goto out;
	}
	if (alg == JWT_PS256 &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1)) {
		r = SN_ERR_CRYPTO;
		goto out;
	}
	/* The signing input is the ASCII "header.claims". */
	if (EVP_DigestVerify(ctx, eclen ? der : sig, eclen ? derlen : siglen,
	    (const unsigned char *)jwt, len[0] + 1 + len[1]) != 1) {
		*why = "JWT signature does not verify";
		goto out;
	}
	r = 0;
 out:
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	free(sig);
	return r;
}

/* 1 if claims' aud (a string or an array of strings) contains expected. */
int
jwt_aud_contains(json_t *cl, const char *expected)
{
	json_t *aud, *v;
	size_t i;
	int ok = 0;

	aud = json_object_get(cl, "aud");
	if (json_is_string(aud))
		ok = strcmp(json_string_value(aud), expected) == 0;
	else if (json_is_array(aud)) {
		json_array_foreach(aud, i, v)
			if (json_is_string(v) && strcmp(json_string_value(v), expected) == 0)
				ok = 1;
	}
	return ok;
}

static int
aud_matches(const char *jwt, const char *expected)
{
	const char *p[3];
	size_t len[3];
	json_t *cl;
	int ok;

	if (split(jwt, p, len) != 0 || (cl = part_json(p[1], len[1])) == NULL)
		return 0;
	ok = jwt_aud_contains(cl, expected);
	json_decref(cl);
	return ok;
}

int
jwt_verify(const char *jwt, EVP_PKEY *pub, const char *expected_aud,
    int64_t now, struct jwt_claims *out, const char **why)
{
	int r;

	if ((r = jwt_decode(jwt, out, why)) != 0)
		return r;
	if ((r = check_sig(jwt, pub, alg_from_name(out->alg), why)) != 0)
		return r;
	*why = NULL;
	if (strcmp(out->iss, out->sub) != 0)
		*why = "JWT iss and sub must both name the account";
	else if (!aud_matches(jwt, expected_aud))
		*why = "JWT aud is not this token endpoint";
	else if (out->exp <= now - JWT_CLOCK_SKEW)
		*why = "JWT has expired";
	else if (out->exp > now + JWT_MAX_LIFETIME + JWT_CLOCK_SKEW)
		*why = "JWT exp is more than 5 minutes ahead";
	else if (out->iat != 0 && out->iat > now + JWT_CLOCK_SKEW)
		*why = "JWT iat is in the future";
	else if (out->iat != 0 && out->exp - out->iat > JWT_MAX_LIFETIME)
		*why = "JWT lifetime exceeds 5 minutes";
	else if (out->nbf != 0 && out->nbf > now + JWT_CLOCK_SKEW)
		*why = "JWT is not valid yet (nbf)";
	return *why == NULL ? 0 : SN_ERR_UNAUTHENTICATED;
}

/* ---- OIDC ID tokens (token exchange, issue 14) ---- */

int
jwt_id_token_decode(const char *jwt, struct jwt_id_token *out, json_t **claims,
    const char **why)
{
	const char *p[3];
	size_t len[3];
	json_t *hdr = NULL, *cl = NULL, *typ;
	enum jwt_alg alg;
	int r = SN_ERR_INVALID;

	memset(out, 0, sizeof(*out));
	*claims = NULL;
	*why = "malformed ID token";
	if (jwt == NULL || strnlen(jwt, JWT_MAX_LEN + 1) > JWT_MAX_LEN) {
		*why = "ID token too long";
		return SN_ERR_INVALID;
	}
	if (split(jwt, p, len) != 0)
		goto out;
	if ((hdr = part_json(p[0], len[0])) == NULL) {
		*why = "ID token header is not base64url JSON";
		goto out;
	}
	if ((cl = part_json(p[1], len[1])) == NULL) {
		*why = "ID token claims are not base64url JSON";
		goto out;
	}
	/* RS256, ES256, ES384 only: never none, never HMAC (issue 14). */
	if (copy_str(hdr, "alg", out->alg, sizeof(out->alg), 1) != 0 ||
	    ((alg = alg_from_name(out->alg)) != JWT_RS256 && alg != JWT_ES256 &&
	    alg != JWT_ES384)) {
		*why = "ID token alg not allowed (RS256, ES256, ES384 only)";
		goto out;
	}
	if (json_object_get(hdr, "crit") != NULL) {
		*why = "ID token crit header not supported";
		goto out;
	}
	if ((typ = json_object_get(hdr, "typ")) != NULL &&
	    (!json_is_string(typ) || strcasecmp(json_string_value(typ), "JWT") != 0)) {
		*why = "ID token typ must be JWT";
		goto out;
	}
	if (copy_str(hdr, "kid", out->kid, sizeof(out->kid), 0) != 0) {
		*why = "ID token kid must be a short string";
		goto out;
	}
	if (copy_str(cl, "iss", out->iss, sizeof(out->iss), 1) != 0 ||
	    copy_str(cl, "sub", out->sub, sizeof(out->sub), 1) != 0) {
		*why = "ID token iss and sub must be strings";
		goto out;
	}
	/* iat is required: the token's age is checked against the rule. */
	if (get_time(cl, "exp", &out->exp, 1) != 0 ||
	    get_time(cl, "iat", &out->iat, 1) != 0 ||
	    get_time(cl, "nbf", &out->nbf, 0) != 0) {
		*why = "ID token exp and iat must be integer times (nbf too)";
		goto out;
	}
	*claims = cl;
	cl = NULL;
	r = 0;
	*why = NULL;
 out:
	json_decref(hdr);
	json_decref(cl);
	return r;
}

int
jwt_check_signature(const char *jwt, const char *alg, EVP_PKEY *pub,
    const char **why)
{
	*why = NULL;
	return check_sig(jwt, pub, alg_from_name(alg), why);
}

int
jwt_id_token_times(const struct jwt_id_token *t, int64_t max_age,
    int64_t now, const char **why)
{
	*why = NULL;
	if (t->exp <= now - JWT_CLOCK_SKEW)
		*why = "ID token has expired";
	else if (t->exp <= t->iat)
		*why = "ID token exp is not after iat";
	else if (t->iat > now + JWT_CLOCK_SKEW)
		*why = "ID token iat is in the future";
	else if (t->nbf != 0 && t->nbf > now + JWT_CLOCK_SKEW)
		*why = "ID token is not valid yet (nbf)";
	else if (now - t->iat > max_age)
		*why = "ID token is older than the federation's max token age";
	return *why == NULL ? 0 : SN_ERR_UNAUTHENTICATED;
}
