/*
 * test_api.c - the strict request-field helpers and error responses of
 * api.c, fed garbage.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api.h"
#include "err.h"
#include "prefer.h"

static json_t *
parse(const char *s)
{
	json_t *j = json_loads(s, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);

	assert_non_null(j);
	return j;
}

static void
assert_error(struct sn_response *resp, int status, const char *code)
{
	assert_int_equal(resp->status, status);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    resp->body, "error"), "code")), code);
	assert_true(json_is_string(json_object_get(json_object_get(
	    resp->body, "error"), "message")));
	api_response_clear(resp);
}

static void
test_error_statuses(void **state)
{
	struct sn_response resp = { 0 };
	static const struct { int err, status; const char *code; } v[] = {
		{ SN_ERR_INVALID, 400, "invalid_request" },
		{ SN_ERR_UNAUTHENTICATED, 401, "unauthenticated" },
		{ SN_ERR_FORBIDDEN, 403, "forbidden" },
		{ SN_ERR_NOT_FOUND, 404, "not_found" },
		{ SN_ERR_CONFLICT, 409, "conflict" },
		{ SN_ERR_TOO_LARGE, 413, "too_large" },
		{ SN_ERR_RATE_LIMITED, 429, "rate_limited" },
		{ SN_ERR_UNAVAILABLE, 503, "unavailable" },
		{ SN_ERR_DB, 500, "internal" },
		{ SN_ERR_NOMEM, 500, "internal" },
		{ 0, 500, "internal" },		/* error path without an error */
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int r = api_error(&resp, v[i].err, "x %d", 1);
		assert_true(r < 0);
		assert_error(&resp, v[i].status, v[i].code);
	}
	/* A second error replaces the first body without leaking. */
	api_error(&resp, SN_ERR_INVALID, "a");
	api_error(&resp, SN_ERR_CONFLICT, "b");
	assert_error(&resp, 409, "conflict");
	assert_int_equal(api_json(&resp, 201, json_pack("{s:b}", "ok", 1)), 0);
	assert_int_equal(resp.status, 201);
	api_response_clear(&resp);
	assert_int_equal(api_json(&resp, 200, NULL), SN_ERR_NOMEM);
	api_response_clear(&resp);
}

/*
 * Every 503 and 429 carries Retry-After, whoever sets the error (users.c and
 * apikeys.c used to send a bare 503); a longer wait a handler asked for
 * stands; other errors ask for none.
 */
static void
test_retry_after(void **state)
{
	struct sn_response resp = { 0 };

	api_error(&resp, SN_ERR_UNAVAILABLE, "database busy");
	assert_int_equal(resp.status, 503);
	assert_true(resp.retry_after >= 1);
	api_response_clear(&resp);
	api_error(&resp, SN_ERR_RATE_LIMITED, NULL);
	assert_true(resp.retry_after >= 1);
	api_response_clear(&resp);
	resp.retry_after = 7;
	api_error(&resp, SN_ERR_UNAVAILABLE, "keeper restarting");
	assert_int_equal(resp.retry_after, 7);
	api_response_clear(&resp);
	api_error(&resp, SN_ERR_CONFLICT, "x");
	assert_int_equal(resp.retry_after, 0);
	api_response_clear(&resp);
	/* The transaction helper's 503 too. */
	assert_int_equal(api_keeper_error(&resp, SN_ERR_UNAVAILABLE, "signing"),
	    SN_ERR_UNAVAILABLE);
	assert_int_equal(resp.status, 503);
	assert_true(resp.retry_after >= 1);
	api_response_clear(&resp);
}

static void
test_get_string(void **state)
{
	struct sn_response resp = { 0 };
	json_t *o = parse("{\"s\":\"abc\",\"n\":5,\"z\":null,\"a\":[],"
	    "\"o\":{},\"b\":true,\"e\":\"\"}");
	const char *s = "junk";

	assert_int_equal(api_get_string(&resp, o, "s", 1, 3, &s), 0);
	assert_string_equal(s, "abc");
	assert_int_equal(api_get_string(&resp, o, "s", 1, 2, &s), SN_ERR_INVALID);
	assert_null(s);
	assert_error(&resp, 400, "invalid_request");
	assert_int_equal(api_get_string(&resp, o, "e", 1, 2, &s), 0);
	assert_string_equal(s, "");
	const char *bad[] = { "n", "a", "o", "b" };
	for (int i = 0; i < 4; i++) {
		assert_int_equal(api_get_string(&resp, o, bad[i], 0, 100, &s),
		    SN_ERR_INVALID);
		assert_error(&resp, 400, "invalid_request");
	}
	assert_int_equal(api_get_string(&resp, o, "missing", 1, 9, &s),
	    SN_ERR_INVALID);
	assert_error(&resp, 400, "invalid_request");
	assert_int_equal(api_get_string(&resp, o, "missing", 0, 9, &s), 0);
	assert_null(s);
	assert_int_equal(api_get_string(&resp, o, "z", 0, 9, &s), 0);
	assert_null(s);
	assert_int_equal(api_get_string(&resp, o, "z", 1, 9, &s),
	    SN_ERR_INVALID);
	api_response_clear(&resp);
	/* Not an object at all. */
	assert_int_equal(api_get_string(&resp, NULL, "s", 1, 9, &s),
	    SN_ERR_INVALID);
	api_response_clear(&resp);
	json_decref(o);
	/* Embedded NUL (only possible with JSON_ALLOW_NUL, but be sure). */
	o = json_loads("{\"s\":\"a\\u0000b\"}", JSON_ALLOW_NUL, NULL);
	assert_non_null(o);
	assert_int_equal(api_get_string(&resp, o, "s", 1, 9, &s),
	    SN_ERR_INVALID);
	api_response_clear(&resp);
	json_decref(o);
}

static void
test_get_int_bool(void **state)
{
	struct sn_response resp = { 0 };
	json_t *o = parse("{\"i\":42,\"neg\":-1,\"f\":1.5,\"s\":\"42\","
	    "\"b\":false,\"big\":9223372036854775807,\"z\":null}");
	int64_t v = 7;
	int b = 5;

	assert_int_equal(api_get_int(&resp, o, "i", 1, 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(api_get_int(&resp, o, "i", 1, 0, 41, &v), SN_ERR_INVALID);
	assert_error(&resp, 400, "invalid_request");
	assert_int_equal(api_get_int(&resp, o, "neg", 1, 0, 100, &v),
	    SN_ERR_INVALID);
	api_response_clear(&resp);
	assert_int_equal(api_get_int(&resp, o, "f", 1, 0, 100, &v),
	    SN_ERR_INVALID);
	api_response_clear(&resp);
	assert_int_equal(api_get_int(&resp, o, "s", 1, 0, 100, &v),
	    SN_ERR_INVALID);
	api_response_clear(&resp);
	assert_int_equal(api_get_int(&resp, o, "b", 1, 0, 100, &v),
	    SN_ERR_INVALID);
	api_response_clear(&resp);
	assert_int_equal(api_get_int(&resp, o, "big", 1, 0, INT64_MAX / 2, &v),
	    SN_ERR_INVALID);
	api_response_clear(&resp);
	v = 7;
	assert_int_equal(api_get_int(&resp, o, "none", 0, 0, 100, &v), 0);
	assert_int_equal(v, 7);		/* untouched: the default stays */
	assert_int_equal(api_get_int(&resp, o, "z", 0, 0, 100, &v), 0);
	assert_int_equal(v, 7);

	assert_int_equal(api_get_bool(&resp, o, "b", 1, &b), 0);
	assert_int_equal(b, 0);
	assert_int_equal(api_get_bool(&resp, o, "i", 1, &b), SN_ERR_INVALID);
	api_response_clear(&resp);
	assert_int_equal(api_get_bool(&resp, o, "s", 1, &b), SN_ERR_INVALID);
	api_response_clear(&resp);
	assert_int_equal(api_get_bool(&resp, o, "none", 1, &b), SN_ERR_INVALID);
	api_response_clear(&resp);
	b = 1;
	assert_int_equal(api_get_bool(&resp, o, "none", 0, &b), 0);
	assert_int_equal(b, 1);
	json_decref(o);
}

static void
test_reject_unknown(void **state)
{
	struct sn_response resp = { 0 };
	static const char *const allowed[] = { "email", "role", NULL };
	json_t *o;

	o = parse("{\"email\":\"a@b\",\"role\":\"user\"}");
	assert_int_equal(api_reject_unknown(&resp, o, allowed), 0);
	json_decref(o);
	o = parse("{\"email\":\"a@b\",\"admin\":true}");
	assert_int_equal(api_reject_unknown(&resp, o, allowed), SN_ERR_INVALID);
	assert_non_null(strstr(json_string_value(json_object_get(
	    json_object_get(resp.body, "error"), "message")), "admin"));
	api_response_clear(&resp);
	json_decref(o);
	o = parse("[1,2]");
	assert_int_equal(api_reject_unknown(&resp, o, allowed), SN_ERR_INVALID);
	api_response_clear(&resp);
	json_decref(o);
	o = parse("{}");
	assert_int_equal(api_reject_unknown(&resp, o, allowed), 0);
	json_decref(o);
}

static void
test_require_body(void **state)
{
	struct sn_request req = { 0 };
	struct sn_response resp = { 0 };

	assert_int_equal(api_require_body(&req, &resp), SN_ERR_INVALID);
	assert_error(&resp, 400, "invalid_request");
	req.body = parse("[]");
	assert_int_equal(api_require_body(&req, &resp), SN_ERR_INVALID);
	api_response_clear(&resp);
	json_decref(req.body);
	req.body = parse("\"str\"");
	assert_int_equal(api_require_body(&req, &resp), SN_ERR_INVALID);
	api_response_clear(&resp);
	json_decref(req.body);
	req.body = parse("{}");
	assert_int_equal(api_require_body(&req, &resp), 0);
	json_decref(req.body);
}

static void
test_names_emails(void **state)
{
	static const char *const good_names[] = { "a", "build-1", "A.b_c-9",
	    "x234567890123456789012345678901234567890123456789012345678901234",
	    NULL };
	static const char *const bad_names[] = { "", ".a", "-a", "a b", "a/b",
	    "a\n", "caf\xc3\xa9", "a:b", "a@b",
	    "x2345678901234567890123456789012345678901234567890123456789012345",
	    NULL };
	static const char *const good_emails[] = { "a@b", "admin@localhost",
	    "first.last+tag@example.co.uk", NULL };
	static const char *const bad_emails[] = { "", "ab", "@ab", "ab@",
	    "a@@b", "a@b@c", "a b@c", "a@b\n", "a\t@b", "noat", "a/b@c", NULL };
	char longmail[300];

	for (int i = 0; good_names[i]; i++)
		assert_true(api_valid_name(good_names[i]));
	for (int i = 0; bad_names[i]; i++)
		assert_false(api_valid_name(bad_names[i]));
	assert_false(api_valid_name(NULL));
	for (int i = 0; good_emails[i]; i++)
		assert_true(api_valid_email(good_emails[i]));
	for (int i = 0; bad_emails[i]; i++)
		assert_false(api_valid_email(bad_emails[i]));
	assert_false(api_valid_email(NULL));
	memset(longmail, 'a', sizeof(longmail));
	longmail[1] = '@';
	longmail[254] = '\0';
	assert_true(api_valid_email(longmail));
	longmail[254] = 'a';
	longmail[255] = '\0';
	assert_false(api_valid_email(longmail));
}

/* If-None-Match of GET /v1/me/keys (me.c): the grammar, its bounds. */
static void
test_inm_parse(void **state)
{
	struct api_inm m;
	struct sn_actor a;
	char e1[API_ETAG_MAX], e2[API_ETAG_MAX], big[API_INM_MAX_LEN + 2];
	size_t i, len;

	(void)state;
	assert_int_equal(api_inm_parse("*", &m), 0);
	assert_true(m.star);
	assert_int_equal(api_inm_parse(" \t* ", &m), 0);
	assert_true(m.star);
	assert_int_equal(api_inm_parse("W/\"a\", \"b\",,", &m), 0);
	assert_false(m.star);
	assert_int_equal(m.n, 2);
	assert_int_equal(m.tag[0].len, 1);
	assert_memory_equal(m.tag[0].opaque, "a", 1);
	assert_memory_equal(m.tag[1].opaque, "b", 1);
	assert_int_equal(api_inm_parse("\"\"", &m), 0);	/* empty tag */
	assert_int_equal(m.n, 1);
	assert_int_equal(m.tag[0].len, 0);
	assert_int_equal(api_inm_parse("\"\xc3\xa9\"", &m), 0);	/* obs-text */
	assert_int_equal(api_inm_parse("", &m), 0);
	assert_int_equal(m.n, 0);
	/* not the grammar */
	const char *bad[] = { "w/\"a\"", "W/", "W/\"a", "a", "\"a\" \"b\"",
	    "*, \"a\"", "**", "\"a\"b", "\"a\x01\"", "\"a\"\"b\"", "\xc3\xa9",
	    "W /\"a\"", "\"a\" ;", NULL };
	for (i = 0; bad[i] != NULL; i++)
		assert_int_equal(api_inm_parse(bad[i], &m), SN_ERR_INVALID);
	assert_int_equal(api_inm_parse(NULL, &m), SN_ERR_INVALID);
	/* bounds */
	memset(big, 'a', sizeof(big) - 1);
	big[0] = '"';
	big[sizeof(big) - 2] = '"';
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(api_inm_parse(big, &m), SN_ERR_TOO_LARGE);
	big[0] = '\0';
	for (i = 0, len = 0; i < API_INM_MAX_TAGS; i++)
		len += (size_t)snprintf(big + len, sizeof(big) - len, "\"x\",");
	big[strlen(big) - 1] = '\0';
	assert_int_equal(api_inm_parse(big, &m), 0);
	assert_int_equal(m.n, API_INM_MAX_TAGS);
	len = strlen(big);
	snprintf(big + len, sizeof(big) - len, ",\"y\"");
	assert_int_equal(api_inm_parse(big, &m), SN_ERR_TOO_LARGE);

	/* the ETag: weak, bound to the caller, the generation and the time */
	memset(&a, 0, sizeof(a));
	a.type = SN_ACTOR_USER;
	snprintf(a.tenant_id, sizeof(a.tenant_id), "%s", "ten_1");
	snprintf(a.id, sizeof(a.id), "%s", "usr_1");
	api_listing_etag(&a, 7, 1000, e1);
	assert_int_equal(strncmp(e1, "W/\"1000-", 8), 0);
	assert_int_equal(strlen(e1), 8 + 32 + 1);
	api_listing_etag(&a, 7, 1000, e2);
	assert_string_equal(e1, e2);
	api_listing_etag(&a, 8, 1000, e2);
	assert_string_not_equal(e1, e2);
	api_listing_etag(&a, 7, 1001, e2);
	assert_string_not_equal(e1, e2);
	snprintf(a.id, sizeof(a.id), "%s", "usr_2");
	api_listing_etag(&a, 7, 1000, e2);
	assert_string_not_equal(e1, e2);
	snprintf(a.id, sizeof(a.id), "%s", "usr_1");
	a.type = SN_ACTOR_SERVICE_ACCOUNT;
	api_listing_etag(&a, 7, 1000, e2);
	assert_string_not_equal(e1, e2);
	a.type = SN_ACTOR_USER;
	snprintf(a.tenant_id, sizeof(a.tenant_id), "%s", "ten_2");
	api_listing_etag(&a, 7, 1000, e2);
	assert_string_not_equal(e1, e2);
}

/* Prefer (RFC 7240): return=minimal found in every legal spelling, and
 * never in garbage, another preference, or after a malformed element. */
static void
test_prefer(void **state)
{
	static const char *const yes[] = {
		"return=minimal", "RETURN=Minimal", "return = minimal",
		"return=\"minimal\"", "respond-async, return=minimal",
		"return=minimal; foo=bar", "return=minimal;;x",
		"return=minimal ;a=\"b;c,d\"", ", ,return=minimal,",
		"wait=10, return=minimal, handling=lenient",
		"a=\"x\\\"y\", return=minimal", "\treturn=minimal\t",
		"return=representation, return=minimal",
	};
	static const char *const no[] = {
		"", "return", "return=", "return=representation",
		"return=minimally", "return=minima", "xreturn=minimal",
		"return=\"minimal", "return=mini mal", "foo=minimal",
		"\"return\"=minimal", "return=minimal\"", "(return=minimal)",
		"bad@, return=minimal", "a=\"unterminated, return=minimal",
		"a=\"ctl\x01\", return=minimal", "return:minimal",
		"return=\xc3\xa9", "; return=minimal", "==, return=minimal",
	};
	char big[4096];

	(void)state;
	assert_int_equal(prefer_has(NULL, "return", "minimal"), 0);
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!prefer_has(yes[i], "return", "minimal"))
			fail_msg("not found in '%s'", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (prefer_has(no[i], "return", "minimal"))
			fail_msg("found in '%s'", no[i]);
	/* too long to look at */
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "return=minimal", 14);
	assert_int_equal(prefer_has(big, "return", "minimal"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_statuses),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_get_string),
		cmocka_unit_test(test_get_int_bool),
		cmocka_unit_test(test_reject_unknown),
		cmocka_unit_test(test_require_body),
		cmocka_unit_test(test_names_emails),
		cmocka_unit_test(test_inm_parse),
		cmocka_unit_test(test_prefer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
