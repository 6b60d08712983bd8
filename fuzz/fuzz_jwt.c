/*
 * fuzz_jwt.c - the JWT verifier (auth/jwt.c) and the token endpoint's
 * replay store.
 *
 * Input: byte 0 picks the verifying key (low two bits: the service account
 * keys sa_p256, sa_p384, sa_rsa, sa_other of fuzz/keys) and, when it is
 * 0x80 | key, also sends the JWT to POST /v1/oauth/token of the fuzz world
 * twice; the rest is the JWT. Seeds: real signed JWTs from fuzz/make_seeds.py, dated
 * at the fixed clock FUZZ_NOW.
 *
 * Invariants: jwt_verify accepts only what jwt_decode accepts, with iss ==
 * sub and exp inside the window at FUZZ_NOW; a JWT the token endpoint
 * accepted once is refused the second time (its jti is in jwt_replay); an
 * accepted JWT verifies against the key it was sent with, and no other
 * service account's key verifies it; the ID-token decoder never accepts an
 * alg outside RS256/ES256/ES384; the token endpoint never answers 500.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api.h"
#include "fuzz_world.h"
#include "http.h"
#include "jwt.h"

static const char *const keys[4] = {
	"sa_p256.pub", "sa_p384.pub", "sa_rsa.pub", "sa_other.pub"
};

/* POST /v1/oauth/token with the assertion as a form body; the status. */
static int
token(const char *jwt)
{
	struct http_input in;
	struct sn_response resp;
	char *body;
	int st, n;

	n = asprintf(&body, "grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3A"
	    "grant-type%%3Ajwt-bearer&assertion=%s", jwt);
	if (n < 0)
		abort();
	memset(&in, 0, sizeof(in));
	memset(&resp, 0, sizeof(resp));
	in.method = "POST";
	in.path = "/v1/oauth/token";
	in.content_type = "application/x-www-form-urlencoded";
	in.body = body;
	in.body_len = (size_t)n;
	st = world_request(&in, &resp);
	if (st == 200 && !json_is_string(json_object_get(resp.body,
	    "access_token")))
		abort();
	api_response_clear(&resp);
	free(body);
	return st;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jwt_claims dc, vc;
	struct jwt_id_token it;
	json_t *claims = NULL;
	const char *why = NULL;
	char *jwt;
	int dr, vr, ok_keys = 0;

	if (size < 1 || size > JWT_MAX_LEN + 2)
		return 0;
	if ((jwt = strndup((const char *)data + 1, size - 1)) == NULL)
		return 0;

	dr = jwt_decode(jwt, &dc, &why);
	vr = jwt_verify(jwt, world_key(keys[data[0] & 3]), FUZZ_TOKEN_AUD,
	    FUZZ_NOW, &vc, &why);
	if (vr == 0) {
		if (dr != 0 || strcmp(vc.iss, vc.sub) != 0 ||
		    vc.exp <= FUZZ_NOW - JWT_CLOCK_SKEW ||
		    vc.exp > FUZZ_NOW + JWT_MAX_LIFETIME + JWT_CLOCK_SKEW)
			abort();
		/* one signature, one key: no other account's key verifies */
		for (int i = 0; i < 4; i++)
			if (jwt_verify(jwt, world_key(keys[i]), FUZZ_TOKEN_AUD,
			    FUZZ_NOW, &vc, &why) == 0)
				ok_keys++;
		if (ok_keys != 1)
			abort();
	} else if (why == NULL)
		abort();
	if (getenv("FUZZ_VERBOSE") != NULL)
		fprintf(stderr, "fuzz_jwt: decode %d verify %d (%s)\n", dr, vr,
		    vr == 0 ? "ok" : why);

	if (jwt_id_token_decode(jwt, &it, &claims, &why) == 0) {
		if (strcmp(it.alg, "RS256") != 0 && strcmp(it.alg, "ES256") != 0 &&
		    strcmp(it.alg, "ES384") != 0)
			abort();
		(void)jwt_aud_contains(claims, "signet");
		(void)jwt_check_signature(jwt, it.alg,
		    world_key(keys[data[0] & 3]), &why);
		(void)jwt_id_token_times(&it, 600, FUZZ_NOW, &why);
		json_decref(claims);
	}

	/* The endpoint costs a database restore and two requests: only when
	 * byte 0 is exactly 0x80 | key, so most mutations stay fast. */
	if ((data[0] & 0xfc) == 0x80 && strlen(jwt) == size - 1) {
		int first, second;

		world_reset();
		first = token(jwt);
		second = token(jwt);
		if (first == 200 && second == 200)
			abort();	/* the replay store let a jti in twice */
		if (first < 200 || first > 599 || second < 200 || second > 599 ||
		    first == 500 || second == 500)
			abort();	/* a 500 is a refusal gone wrong */
		if (getenv("FUZZ_VERBOSE") != NULL)
			fprintf(stderr, "fuzz_jwt: token %d then %d\n", first,
			    second);
	}
	free(jwt);
	return 0;
}
