/*
 * test_jwt.c - the service-account assertion verifier: every refusal the
 * token endpoint relies on, and the algorithms it must accept.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#include "encode.h"
#include "err.h"
#include "jwt.h"

#define AUD "https://signet.test/v1/oauth/token"
#define NOW 1800000000

static EVP_PKEY *p256, *p384, *rsa, *p256b;

static char *
b64u(const void *p, size_t n)
{
	char *s = NULL;

	assert_int_equal(sn_b64url_encode(p, n, &s), 0);
	return s;
}

/* Signs header.claims with key under alg; returns the compact JWS. */
static char *
make_jwt(const char *alg, EVP_PKEY *key, const char *claims)
{
	char hdr[128], *h, *c, *sigs, *input, *out;
	size_t inlen, siglen = 0, outlen;
	unsigned char sig[1024];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	const EVP_MD *md = strcmp(alg, "ES384") == 0 ? EVP_sha384() : EVP_sha256();

	snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
	h = b64u(hdr, strlen(hdr));
	c = b64u(claims, strlen(claims));
	inlen = strlen(h) + 1 + strlen(c);
	input = malloc(inlen + 1);
	snprintf(input, inlen + 1, "%s.%s", h, c);
	if (key == NULL) {
		sigs = b64u("x", 1);
	} else if (strcmp(alg, "HS256") == 0) {
		unsigned int l = 0;
		HMAC(EVP_sha256(), "secret", 6, (unsigned char *)input, inlen, sig, &l);
		sigs = b64u(sig, l);
	} else {
		siglen = sizeof(sig);
		assert_int_equal(EVP_DigestSignInit(ctx, &pctx, md, NULL, key), 1);
		if (strcmp(alg, "PS256") == 0) {
			EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
			EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
		}
		assert_int_equal(EVP_DigestSign(ctx, sig, &siglen,
		    (unsigned char *)input, inlen), 1);
		if (alg[0] == 'E') {
			/* DER -> JOSE r||s */
			const unsigned char *p = sig;
			ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
			size_t half = strcmp(alg, "ES384") == 0 ? 48 : 32;
			unsigned char raw[96];
			BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, (int)half);
			BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + half, (int)half);
			ECDSA_SIG_free(es);
			sigs = b64u(raw, half * 2);
		} else
			sigs = b64u(sig, siglen);
	}
	outlen = inlen + 1 + strlen(sigs) + 1;
	out = malloc(outlen);
	snprintf(out, outlen, "%s.%s", input, sigs);
	free(h);
	free(c);
	free(sigs);
	free(input);
	EVP_MD_CTX_free(ctx);
	return out;
}

static char *
claims(const char *iss, const char *sub, const char *aud, long long iat,
    long long exp, const char *extra)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf), "{\"iss\":\"%s\",\"sub\":\"%s\",\"aud\":\"%s\","
	    "\"iat\":%lld,\"exp\":%lld,\"jti\":\"j-1\"%s}", iss, sub, aud, iat, exp,
	    extra);
	return buf;
}

static int
verify(const char *jwt, EVP_PKEY *key)
{
	struct jwt_claims c;
	const char *why = NULL;
	int r = jwt_verify(jwt, key, AUD, NOW, &c, &why);

	if (r != 0)
		assert_non_null(why);
	return r;
}

static int
setup(void **state)
{
	p256 = EVP_EC_gen("P-256");
	p256b = EVP_EC_gen("P-256");
	p384 = EVP_EC_gen("P-384");
	rsa = EVP_RSA_gen(2048);
	return (p256 && p256b && p384 && rsa) ? 0 : -1;
}

static int
teardown(void **state)
{
	EVP_PKEY_free(p256);
	EVP_PKEY_free(p256b);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(rsa);
	return 0;
}

static void
test_accepts_each_alg(void **state)
{
	const char *cl = claims("sac_1", "sac_1", AUD, NOW, NOW + 300, "");
	struct { const char *alg; EVP_PKEY **key; } ok[] = {
		{ "ES256", &p256 }, { "ES384", &p384 }, { "RS256", &rsa }, { "PS256", &rsa },
	};
	for (size_t i = 0; i < 4; i++) {
		char *j = make_jwt(ok[i].alg, *ok[i].key, cl);
		struct jwt_claims c;
		const char *why;
		assert_int_equal(jwt_verify(j, *ok[i].key, AUD, NOW, &c, &why), 0);
		assert_string_equal(c.iss, "sac_1");
		assert_string_equal(c.jti, "j-1");
		free(j);
	}
}

static void
test_refusals(void **state)
{
	char *j;

	/* signed with another key */
	j = make_jwt("ES256", p256b, claims("a", "a", AUD, NOW, NOW + 60, ""));
	assert_int_equal(verify(j, p256), SN_ERR_UNAUTHENTICATED);
	free(j);
	/* alg that does not fit the key */
	j = make_jwt("ES384", p384, claims("a", "a", AUD, NOW, NOW + 60, ""));
	assert_int_equal(verify(j, p256), SN_ERR_UNAUTHENTICATED);
	free(j);
	/* alg none and HS256 (public key as secret) never pass the decoder */
	j = make_jwt("none", NULL, claims("a", "a", AUD, NOW, NOW + 60, ""));
	assert_int_equal(verify(j, p256), SN_ERR_INVALID);
	free(j);
	j = make_jwt("HS256", p256, claims("a", "a", AUD, NOW, NOW + 60, ""));
	assert_int_equal(verify(j, p256), SN_ERR_INVALID);
	free(j);
	/* wrong audience */
	j = make_jwt("ES256", p256, claims("a", "a", "https://evil/v1/oauth/token", NOW, NOW + 60, ""));
	assert_int_equal(verify(j, p256), SN_ERR_UNAUTHENTICATED);
	free(j);
	/* expired */
	j = make_jwt("ES256", p256, claims("a", "a", AUD, NOW - 600, NOW - 300, ""));
	assert_int_equal(verify(j, p256), SN_ERR_UNAUTHENTICATED);
	free(j);
	/* exp too far ahead */
	j = make_jwt("ES256", p256, claims("a", "a", AUD, NOW, NOW + 3600, ""));
	assert_int_equal(verify(j, p256), SN_ERR_UNAUTHENTICATED);
	free(j);
	/* iat in the future */
	j = make_jwt("ES256", p256, claims("a", "a", AUD, NOW + 600, NOW + 700, ""));
	assert_int_equal(verify(j, p256), SN_ERR_UNAUTHENTICATED);
	free(j);
	/* nbf in the future */
	j = make_jwt("ES256", p256, claims("a", "a", AUD, NOW, NOW + 200, ",\"nbf\":1800000150"));
	assert_int_equal(verify(j, p256), SN_ERR_UNAUTHENTICATED);
	free(j);
	/* iss != sub */
	j = make_jwt("ES256", p256, claims("a", "b", AUD, NOW, NOW + 60, ""));
	assert_int_equal(verify(j, p256), SN_ERR_UNAUTHENTICATED);
	free(j);
	/* aud as an array containing the endpoint is fine */
	{
		char cl[512];
		snprintf(cl, sizeof(cl), "{\"iss\":\"a\",\"sub\":\"a\",\"aud\":[\"x\",\"%s\"],"
		    "\"exp\":%d,\"jti\":\"k\"}", AUD, NOW + 60);
		j = make_jwt("ES256", p256, cl);
		assert_int_equal(verify(j, p256), 0);
		free(j);
	}
}

static void
test_garbage(void **state)
{
	const char *bad[] = {
		"", "abc", "a.b", "a.b.c.d", "..", "a..c", "!!!.###.$$$",
		"eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJhIn0.", /* empty signature */
		"eyJhbGciOiJFUzI1NiJ9.W10.c2ln",	/* claims is an array */
		"eyJhbGciOjF9.e30.c2ln",		/* alg is a number */
	};
	struct jwt_claims c;
	const char *why;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_not_equal(jwt_verify(bad[i], p256, AUD, NOW, &c, &why), 0);
		assert_non_null(why);
	}
	/* too long */
	char *big = malloc(JWT_MAX_LEN + 10);
	memset(big, 'a', JWT_MAX_LEN + 9);
	big[JWT_MAX_LEN + 9] = '\0';
	assert_int_equal(jwt_verify(big, p256, AUD, NOW, &c, &why), SN_ERR_INVALID);
	free(big);
	/* missing jti, exp as a string, duplicate member */
	const char *cls[] = {
		"{\"iss\":\"a\",\"sub\":\"a\",\"aud\":\"" AUD "\",\"exp\":1800000060}",
		"{\"iss\":\"a\",\"sub\":\"a\",\"aud\":\"" AUD "\",\"exp\":\"1800000060\",\"jti\":\"x\"}",
		"{\"iss\":\"a\",\"iss\":\"b\",\"sub\":\"a\",\"aud\":\"" AUD "\",\"exp\":1800000060,\"jti\":\"x\"}",
	};
	for (size_t i = 0; i < 3; i++) {
		char *j = make_jwt("ES256", p256, cls[i]);
		assert_int_equal(jwt_verify(j, p256, AUD, NOW, &c, &why), SN_ERR_INVALID);
		free(j);
	}
	/* flipped signature bit */
	char *j = make_jwt("ES256", p256, claims("a", "a", AUD, NOW, NOW + 60, ""));
	size_t n = strlen(j);
	j[n - 2] = j[n - 2] == 'A' ? 'B' : 'A';
	assert_int_not_equal(jwt_verify(j, p256, AUD, NOW, &c, &why), 0);
	free(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts_each_alg),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_garbage),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
