/*
 * test_oidc.c - the pieces of the OIDC token exchange that decide: claim
 * rules (exact, glob, the prefix trap), JWKS parsing of RSA and EC keys
 * and of malformed sets, key choice by kid and alg, Cache-Control, and the
 * ID token's shape and time checks.
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
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "encode.h"
#include "err.h"
#include "jwks.h"
#include "jwt.h"
#include "oidc_fetch.h"
#include "oidc_rules.h"

#define NOW 1800000000

static json_t *
J(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);

	assert_non_null(j);
	return j;
}

static int
rules_ok(const char *rules)
{
	char why[160];
	json_t *r = J(rules);
	int rc = oidc_rules_check(r, why, sizeof(why));

	json_decref(r);
	return rc;
}

static void
test_rules_check(void **st)
{
	(void)st;
	assert_int_equal(rules_ok("{\"repository\":\"org/app\"}"), 0);
	assert_int_equal(rules_ok("{\"ref\":\"refs/heads/*\",\"sub\":\"repo:org/app:*\"}"), 0);
	assert_int_equal(rules_ok("{}"), SN_ERR_INVALID);
	assert_int_equal(rules_ok("[]"), SN_ERR_INVALID);
	assert_int_equal(rules_ok("{\"a\":\"*\"}"), SN_ERR_INVALID);
	assert_int_equal(rules_ok("{\"a\":\"?*?\"}"), SN_ERR_INVALID);
	assert_int_equal(rules_ok("{\"a\":\"\"}"), SN_ERR_INVALID);
	assert_int_equal(rules_ok("{\"a\":7}"), SN_ERR_INVALID);
	assert_int_equal(rules_ok("{\"iss\":\"x\"}"), SN_ERR_INVALID);
	assert_int_equal(rules_ok("{\"aud\":\"x\"}"), SN_ERR_INVALID);
	assert_int_equal(rules_ok("{\"a b\":\"x\"}"), SN_ERR_INVALID);
	assert_int_equal(rules_ok("{\"a\":\"x\\u0001\"}"), SN_ERR_INVALID);
	assert_int_equal(rules_ok("{\"a\":\"\\u00e9\"}"), SN_ERR_INVALID);
	assert_int_equal(rules_ok("{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\",\"d\":\"4\","
	    "\"e\":\"5\",\"f\":\"6\",\"g\":\"7\",\"h\":\"8\",\"i\":\"9\",\"j\":\"10\","
	    "\"k\":\"11\",\"l\":\"12\",\"m\":\"13\",\"n\":\"14\",\"o\":\"15\","
	    "\"p\":\"16\",\"q\":\"17\"}"), SN_ERR_INVALID);
}

static int
matches(const char *rules, const char *claims, const char **failed)
{
	json_t *r = J(rules), *c = J(claims);
	int m = oidc_rules_match(r, c, failed);

	/* failed points into rules: copy what the test looks at first */
	static char name[64];
	snprintf(name, sizeof(name), "%s", *failed != NULL ? *failed : "");
	*failed = name;
	json_decref(r);
	json_decref(c);
	return m;
}

static void
test_rules_match(void **st)
{
	const char *f;

	(void)st;
	assert_true(matches("{\"repository\":\"org/app\"}",
	    "{\"repository\":\"org/app\"}", &f));
	/* the prefix trap: exact means exact */
	assert_false(matches("{\"repository\":\"org/app\"}",
	    "{\"repository\":\"org/app-evil\"}", &f));
	assert_string_equal(f, "repository");
	assert_false(matches("{\"repository\":\"org/app\"}",
	    "{\"repository\":\"org/ap\"}", &f));
	/* globs: '*' crosses '/', but only where written */
	assert_true(matches("{\"ref\":\"refs/heads/*\"}",
	    "{\"ref\":\"refs/heads/feature/x\"}", &f));
	assert_false(matches("{\"ref\":\"refs/heads/*\"}",
	    "{\"ref\":\"refs/tags/v1\"}", &f));
	assert_true(matches("{\"sub\":\"repo:org/app:*\"}",
	    "{\"sub\":\"repo:org/app:ref:refs/heads/main\"}", &f));
	assert_false(matches("{\"sub\":\"repo:org/app:*\"}",
	    "{\"sub\":\"repo:org/app-evil:ref:refs/heads/main\"}", &f));
	/* all rules; a missing claim never matches; scalars as text */
	assert_false(matches("{\"repository\":\"org/app\",\"ref\":\"refs/heads/main\"}",
	    "{\"repository\":\"org/app\"}", &f));
	assert_string_equal(f, "ref");
	assert_true(matches("{\"run_id\":\"42\",\"prod\":\"true\"}",
	    "{\"run_id\":42,\"prod\":true}", &f));
	assert_false(matches("{\"x\":\"a\"}", "{\"x\":[\"a\"]}", &f));
	assert_false(matches("{\"x\":\"a\"}", "{\"x\":{\"a\":1}}", &f));
	assert_false(matches("{\"x\":\"a\"}", "{\"x\":null}", &f));
}

static void
test_provenance(void **st)
{
	json_t *r = J("{\"project_path\":\"g/p\",\"custom\":\"v*\"}");
	json_t *c = J("{\"repository\":\"org/app\",\"ref\":\"refs/heads/main\","
	    "\"run_id\":\"7\",\"custom\":\"v1\",\"unrelated\":\"no\","
	    "\"project_path\":\"g/p\"}");
	json_t *p = oidc_provenance(r, c, "https://iss.test", "repo:org/app");
	json_t *cl;

	(void)st;
	assert_non_null(p);
	assert_string_equal(json_string_value(json_object_get(p, "issuer")),
	    "https://iss.test");
	cl = json_object_get(p, "claims");
	assert_string_equal(json_string_value(json_object_get(cl, "repository")),
	    "org/app");
	assert_string_equal(json_string_value(json_object_get(cl, "ref")),
	    "refs/heads/main");
	assert_string_equal(json_string_value(json_object_get(cl, "custom")), "v1");
	assert_null(json_object_get(cl, "unrelated"));
	json_decref(p);
	json_decref(r);
	json_decref(c);
}

static void
test_cache_control(void **st)
{
	(void)st;
	assert_int_equal(oidc_cache_control_max_age(" max-age=600", 12), 600);
	assert_int_equal(oidc_cache_control_max_age("public, max-age=120, must-revalidate", 36), 120);
	assert_int_equal(oidc_cache_control_max_age(" no-store", 9), 0);
	assert_int_equal(oidc_cache_control_max_age(" private", 8), -1);
	assert_int_equal(oidc_cache_control_max_age(" max-age=12x", 12), -1);
	assert_int_equal(oidc_cache_control_max_age(" max-age=", 9), -1);
	assert_int_equal(oidc_cache_control_max_age(" max-age=99999999999999999999", 29) <= 100000000, 1);
}

/* ---- JWKS ---- */

static char *
b64u_bn(const BIGNUM *bn, int pad)
{
	unsigned char buf[1024];
	char *s = NULL;
	int n = pad > 0 ? BN_bn2binpad(bn, buf, pad) : BN_bn2bin(bn, buf);

	assert_true(n > 0);
	assert_int_equal(sn_b64url_encode(buf, (size_t)n, &s), 0);
	return s;
}

static char *
rsa_jwk(EVP_PKEY *k, const char *kid)
{
	BIGNUM *n = NULL, *e = NULL;
	char *sn, *se, *out = NULL;

	assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e), 1);
	sn = b64u_bn(n, 0);
	se = b64u_bn(e, 0);
	assert_true(asprintf(&out, "{\"kty\":\"RSA\",\"kid\":\"%s\",\"use\":\"sig\","
	    "\"n\":\"%s\",\"e\":\"%s\"}", kid, sn, se) > 0);
	free(sn);
	free(se);
	BN_free(n);
	BN_free(e);
	return out;
}

static char *
ec_jwk(EVP_PKEY *k, const char *kid, const char *crv, int flen)
{
	BIGNUM *x = NULL, *y = NULL;
	char *sx, *sy, *out = NULL;

	assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &x), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &y), 1);
	sx = b64u_bn(x, flen);
	sy = b64u_bn(y, flen);
	assert_true(asprintf(&out, "{\"kty\":\"EC\",\"kid\":\"%s\",\"crv\":\"%s\","
	    "\"x\":\"%s\",\"y\":\"%s\"}", kid, crv, sx, sy) > 0);
	free(sx);
	free(sy);
	BN_free(x);
	BN_free(y);
	return out;
}

static EVP_PKEY *rsa_k, *p256_k, *p384_k;

static int
setup(void **st)
{
	(void)st;
	rsa_k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	p256_k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	p384_k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	return rsa_k && p256_k && p384_k ? 0 : -1;
}

static int
teardown(void **st)
{
	(void)st;
	EVP_PKEY_free(rsa_k);
	EVP_PKEY_free(p256_k);
	EVP_PKEY_free(p384_k);
	return 0;
}

static int
parse(const char *doc, struct jwks **out)
{
	const char *why = NULL;

	return jwks_parse(doc, strlen(doc), out, &why);
}

static void
test_jwks(void **st)
{
	char *r = rsa_jwk(rsa_k, "r1"), *e2 = ec_jwk(p256_k, "e1", "P-256", 32);
	char *e3 = ec_jwk(p384_k, "e3", "P-384", 48), *doc = NULL;
	struct jwks *s = NULL;
	EVP_PKEY *hit;

	(void)st;
	assert_true(asprintf(&doc, "{\"keys\":[%s,%s,%s,{\"kty\":\"oct\",\"k\":\"AA\"},"
	    "{\"kty\":\"RSA\",\"use\":\"enc\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}",
	    r, e2, e3) > 0);
	assert_int_equal(parse(doc, &s), 0);
	assert_int_equal(s->n, 3);		/* oct and enc keys skipped */
	hit = jwks_find(s, "r1", "RS256");
	assert_non_null(hit);
	assert_int_equal(EVP_PKEY_eq(hit, rsa_k), 1);
	assert_non_null(jwks_find(s, "e1", "ES256"));
	assert_non_null(jwks_find(s, "e3", "ES384"));
	assert_null(jwks_find(s, "r1", "ES256"));	/* alg must fit the type */
	assert_null(jwks_find(s, "nope", "RS256"));
	/* no kid: only when exactly one key fits */
	assert_non_null(jwks_find(s, "", "RS256"));
	assert_null(jwks_find(s, "", "ES256"));	/* two EC keys fit */
	jwks_free(s);
	free(doc);

	/* malformed sets are refused as a whole */
	assert_int_equal(parse("[]", &s), SN_ERR_INVALID);
	assert_int_equal(parse("{\"keys\":{}}", &s), SN_ERR_INVALID);
	assert_int_equal(parse("{\"keys\":[1]}", &s), SN_ERR_INVALID);
	assert_int_equal(parse("{\"keys\":[{\"kid\":\"x\"}]}", &s), SN_ERR_INVALID);
	assert_int_equal(parse("{\"keys\":[]", &s), SN_ERR_INVALID);
	/* bad keys are skipped: short RSA, wrong EC length, off-curve point */
	assert_int_equal(parse("{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"},"
	    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AQAB\",\"y\":\"AQAB\"},"
	    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE\","
	    "\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE\"},"
	    "{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\"AQ\",\"y\":\"AQ\"}]}", &s), 0);
	assert_int_equal(s->n, 0);
	jwks_free(s);
	free(r);
	free(e2);
	free(e3);
}

/* ---- ID tokens ---- */

static char *
unsigned_token(const char *hdr, const char *claims)
{
	char *h = NULL, *c = NULL, *out = NULL;

	assert_int_equal(sn_b64url_encode((const uint8_t *)hdr, strlen(hdr), &h), 0);
	assert_int_equal(sn_b64url_encode((const uint8_t *)claims, strlen(claims), &c), 0);
	assert_true(asprintf(&out, "%s.%s.c2ln", h, c) > 0);
	free(h);
	free(c);
	return out;
}

static int
decode(const char *hdr, const char *claims)
{
	struct jwt_id_token t;
	json_t *cl = NULL;
	const char *why;
	char *tok = unsigned_token(hdr, claims);
	int r = jwt_id_token_decode(tok, &t, &cl, &why);

	json_decref(cl);
	free(tok);
	return r;
}

#define CL "{\"iss\":\"https://i.test\",\"sub\":\"s\",\"aud\":\"a\",\"iat\":1,\"exp\":2}"

static void
test_id_token_decode(void **st)
{
	(void)st;
	assert_int_equal(decode("{\"alg\":\"RS256\",\"kid\":\"k\"}", CL), 0);
	assert_int_equal(decode("{\"alg\":\"ES256\"}", CL), 0);
	assert_int_equal(decode("{\"alg\":\"ES384\",\"typ\":\"JWT\"}", CL), 0);
	assert_int_equal(decode("{\"alg\":\"none\"}", CL), SN_ERR_INVALID);
	assert_int_equal(decode("{\"alg\":\"HS256\"}", CL), SN_ERR_INVALID);
	assert_int_equal(decode("{\"alg\":\"PS256\"}", CL), SN_ERR_INVALID);
	assert_int_equal(decode("{\"alg\":\"RS256\",\"crit\":[\"x\"]}", CL), SN_ERR_INVALID);
	assert_int_equal(decode("{\"alg\":\"RS256\",\"kid\":7}", CL), SN_ERR_INVALID);
	assert_int_equal(decode("{\"alg\":\"RS256\"}",
	    "{\"iss\":\"https://i.test\",\"sub\":\"s\",\"exp\":2}"), SN_ERR_INVALID);
	assert_int_equal(decode("{\"alg\":\"RS256\"}",
	    "{\"iss\":\"https://i.test\",\"iat\":1,\"exp\":2}"), SN_ERR_INVALID);
	assert_int_equal(decode("{\"alg\":\"RS256\"}",
	    "{\"iss\":\"https://i.test\",\"sub\":\"s\",\"iat\":\"1\",\"exp\":2}"), SN_ERR_INVALID);
}

static int
times(int64_t iat, int64_t nbf, int64_t exp, int64_t max_age)
{
	struct jwt_id_token t;
	const char *why;

	memset(&t, 0, sizeof(t));
	t.iat = iat;
	t.nbf = nbf;
	t.exp = exp;
	return jwt_id_token_times(&t, max_age, NOW, &why);
}

static void
test_id_token_times(void **st)
{
	(void)st;
	assert_int_equal(times(NOW - 10, 0, NOW + 290, 600), 0);
	assert_int_equal(times(NOW - 400, 0, NOW - 100, 600), SN_ERR_UNAUTHENTICATED);
	assert_int_equal(times(NOW - 700, 0, NOW + 300, 600), SN_ERR_UNAUTHENTICATED);
	assert_int_equal(times(NOW + 120, 0, NOW + 400, 600), SN_ERR_UNAUTHENTICATED);
	assert_int_equal(times(NOW + 30, 0, NOW + 400, 600), 0);	/* skew */
	assert_int_equal(times(NOW - 10, NOW + 120, NOW + 400, 600), SN_ERR_UNAUTHENTICATED);
	assert_int_equal(times(NOW - 10, 0, NOW - 10, 600), SN_ERR_UNAUTHENTICATED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules_check),
		cmocka_unit_test(test_rules_match),
		cmocka_unit_test(test_provenance),
		cmocka_unit_test(test_cache_control),
		cmocka_unit_test(test_jwks),
		cmocka_unit_test(test_id_token_decode),
		cmocka_unit_test(test_id_token_times),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
