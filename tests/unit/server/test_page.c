/*
 * test_page.c - the list cursor codec and the ?limit= / ?cursor= parser
 * of api/page.c, fed round trips and garbage.
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
#include "encode.h"
#include "err.h"
#include "page.h"

static void
roundtrip(enum api_list list, const char *const *f, int n)
{
	struct api_page pg;
	char *s = NULL;
	int i;

	assert_int_equal(api_cursor_encode(list, f, n, &s), 0);
	assert_non_null(s);
	assert_true(strlen(s) <= API_CURSOR_MAX);
	/* URL-safe as it stands: base64url, no padding. */
	assert_int_equal(strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	    "qrstuvwxyz0123456789-_"), strlen(s));
	assert_int_equal(api_cursor_decode(s, list, n, &pg), 0);
	assert_true(pg.has_after);
	for (i = 0; i < n; i++)
		assert_string_equal(pg.after[i], f[i]);
	/* Another list, or another field count, refuses it. */
	assert_int_equal(api_cursor_decode(s, list == API_LIST_KEYS ?
	    API_LIST_ME_KEYS : API_LIST_KEYS, n, &pg), SN_ERR_INVALID);
	assert_false(pg.has_after);
	assert_int_equal(api_cursor_decode(s, list, n == 1 ? 2 : 1, &pg),
	    SN_ERR_INVALID);
	assert_string_equal(pg.after[0], "");
	free(s);
}

static void
test_roundtrip(void **state)
{
	char big[API_CURSOR_FIELD_MAX + 1];
	const char *one[] = { "alpha" };
	const char *two[] = { "proj-1", "key.2" };
	const char *empty[] = { "" };
	const char *utf8[] = { "caf\xc3\xa9@example.org" };
	const char *maxed[2];

	(void)state;
	roundtrip(API_LIST_PROJECTS, one, 1);
	roundtrip(API_LIST_KEYS, two, 2);
	roundtrip(API_LIST_USERS, empty, 1);
	roundtrip(API_LIST_USERS, utf8, 1);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	maxed[0] = big;
	maxed[1] = big;
	roundtrip(API_LIST_ME_KEYS, maxed, 2);
}

static void
test_encode_refuses(void **state)
{
	char big[API_CURSOR_FIELD_MAX + 2];
	const char *f[3] = { "a", "b", "c" };
	const char *nul[1] = { NULL };
	char *s = NULL;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(api_cursor_encode(API_LIST_TEAMS, f, 0, &s),
	    SN_ERR_INVALID);
	assert_int_equal(api_cursor_encode(API_LIST_TEAMS, f, 3, &s),
	    SN_ERR_INVALID);
	assert_int_equal(api_cursor_encode(API_LIST_TEAMS, nul, 1, &s),
	    SN_ERR_INVALID);
	f[0] = big;
	assert_int_equal(api_cursor_encode(API_LIST_TEAMS, f, 1, &s),
	    SN_ERR_INVALID);
	assert_null(s);
}

/* base64url of raw bytes, for hand-made garbage cursors. */
static char *
b64(const void *p, size_t n)
{
	char *s = NULL;

	assert_int_equal(sn_b64url_encode(p, n, &s), 0);
	return s;
}

static void
bad(const char *s, enum api_list list, int n)
{
	struct api_page pg;

	memset(&pg, 'z', sizeof(pg));
	assert_int_equal(api_cursor_decode(s, list, n, &pg), SN_ERR_INVALID);
	assert_false(pg.has_after);
	assert_string_equal(pg.after[0], "");
	assert_string_equal(pg.after[1], "");
}

static void
test_decode_garbage(void **state)
{
	static const uint8_t ok[] = { 'p', '1', 0, 2, 'a', 'b' };
	static const uint8_t trailing[] = { 'p', '1', 0, 2, 'a', 'b', 'c' };
	static const uint8_t shortlen[] = { 'p', '1', 0, 5, 'a', 'b' };
	static const uint8_t nolen[] = { 'p', '1', 0 };
	static const uint8_t version[] = { 'p', '2', 0, 2, 'a', 'b' };
	static const uint8_t nulbyte[] = { 'p', '1', 0, 2, 'a', 0 };
	static const uint8_t tagonly[] = { 'p' };
	uint8_t huge[4 + API_CURSOR_FIELD_MAX + 1];
	char longs[API_CURSOR_MAX + 2];
	char *s;

	(void)state;
	s = b64(ok, sizeof(ok));
	{
		struct api_page pg;

		assert_int_equal(api_cursor_decode(s, API_LIST_PROJECTS, 1,
		    &pg), 0);
		assert_string_equal(pg.after[0], "ab");
	}
	bad(s, API_LIST_TEAMS, 1);
	bad(s, API_LIST_PROJECTS, 0);
	bad(s, API_LIST_PROJECTS, 3);
	free(s);
#define BAD(arr) do { s = b64(arr, sizeof(arr)); \
		bad(s, API_LIST_PROJECTS, 1); free(s); } while (0)
	BAD(trailing);
	BAD(shortlen);
	BAD(nolen);
	BAD(version);
	BAD(nulbyte);
	BAD(tagonly);
#undef BAD
	/* A field longer than any sort key. */
	memset(huge, 'x', sizeof(huge));
	huge[0] = 'p';
	huge[1] = '1';
	huge[2] = (uint8_t)((API_CURSOR_FIELD_MAX + 1) >> 8);
	huge[3] = (uint8_t)((API_CURSOR_FIELD_MAX + 1) & 0xff);
	s = b64(huge, sizeof(huge));
	bad(s, API_LIST_PROJECTS, 1);
	free(s);
	bad(NULL, API_LIST_PROJECTS, 1);
	bad("", API_LIST_PROJECTS, 1);
	bad("not base64!", API_LIST_PROJECTS, 1);
	bad("cDEAAmFi=", API_LIST_PROJECTS, 1);	/* padding */
	bad("cDEAAmFi\n", API_LIST_PROJECTS, 1);
	bad("%00", API_LIST_PROJECTS, 1);
	memset(longs, 'A', sizeof(longs) - 1);
	longs[sizeof(longs) - 1] = '\0';
	bad(longs, API_LIST_PROJECTS, 1);
}

/* A request whose query string holds the two parameters (NULL: absent). */
struct q {
	const char *limit;
	const char *cursor;
};

static const char *
q_get(const struct sn_request *req, const char *name)
{
	const struct q *q = req->query_ctx;

	if (strcmp(name, "limit") == 0)
		return q->limit;
	if (strcmp(name, "cursor") == 0)
		return q->cursor;
	return NULL;
}

static int
parse_page(const char *limit, const char *cursor, struct api_page *pg,
    struct sn_response *resp)
{
	struct sn_request req;
	struct q q = { limit, cursor };

	memset(&req, 0, sizeof(req));
	req.query = q_get;
	req.query_ctx = &q;
	return api_page_parse(&req, resp, API_LIST_TEAMS, 1, pg);
}

static void
test_page_parse(void **state)
{
	static const char *const bad_limits[] = { "", "0", "-1", "1001",
	    "abc", "10x", " 10", "1e3", "99999999999999999999", "0x10", NULL };
	struct sn_response resp = { 0 };
	struct api_page pg;
	const char *f[1] = { "ops" };
	char *cur = NULL;
	int i;

	(void)state;
	assert_int_equal(parse_page(NULL, NULL, &pg, &resp), 0);
	assert_int_equal(pg.limit, API_PAGE_DEFAULT);
	assert_false(pg.has_after);
	assert_int_equal(parse_page("1", NULL, &pg, &resp), 0);
	assert_int_equal(pg.limit, 1);
	assert_int_equal(parse_page("1000", NULL, &pg, &resp), 0);
	assert_int_equal(pg.limit, API_PAGE_MAX);
	for (i = 0; bad_limits[i] != NULL; i++) {
		assert_int_equal(parse_page(bad_limits[i], NULL, &pg, &resp),
		    SN_ERR_INVALID);
		assert_int_equal(resp.status, 400);
		assert_non_null(strstr(json_string_value(json_object_get(
		    json_object_get(resp.body, "error"), "message")), "limit"));
		api_response_clear(&resp);
	}
	assert_int_equal(api_cursor_encode(API_LIST_TEAMS, f, 1, &cur), 0);
	assert_int_equal(parse_page("5", cur, &pg, &resp), 0);
	assert_true(pg.has_after);
	assert_string_equal(pg.after[0], "ops");
	free(cur);
	/* A projects cursor on the teams list. */
	assert_int_equal(api_cursor_encode(API_LIST_PROJECTS, f, 1, &cur), 0);
	assert_int_equal(parse_page(NULL, cur, &pg, &resp), SN_ERR_INVALID);
	assert_int_equal(resp.status, 400);
	assert_non_null(strstr(json_string_value(json_object_get(
	    json_object_get(resp.body, "error"), "message")), "cursor"));
	api_response_clear(&resp);
	free(cur);
	assert_int_equal(parse_page(NULL, "garbage", &pg, &resp),
	    SN_ERR_INVALID);
	assert_int_equal(resp.status, 400);
	api_response_clear(&resp);
}

static void
test_page_next(void **state)
{
	const char *f[2] = { "p", "k" };
	struct api_page pg;
	json_t *j, *arr;

	(void)state;
	j = api_page_next(API_LIST_KEYS, 0, f, 2);
	assert_true(json_is_null(j));
	json_decref(j);
	j = api_page_next(API_LIST_KEYS, 1, f, 2);
	assert_true(json_is_string(j));
	assert_int_equal(api_cursor_decode(json_string_value(j), API_LIST_KEYS,
	    2, &pg), 0);
	assert_string_equal(pg.after[1], "k");
	json_decref(j);

	/* api_page_finish: limit + 1 rows mean another page. */
	memset(&pg, 0, sizeof(pg));
	pg.limit = 2;
	arr = json_loads("[{\"name\":\"a\"},{\"name\":\"b\"},{\"name\":\"c\"}]",
	    0, NULL);
	j = api_page_finish(API_LIST_TEAMS, &pg, arr, "name");
	assert_int_equal(json_array_size(arr), 2);
	assert_true(json_is_string(j));
	assert_int_equal(api_cursor_decode(json_string_value(j), API_LIST_TEAMS,
	    1, &pg), 0);
	assert_string_equal(pg.after[0], "b");
	json_decref(j);
	json_decref(arr);
	pg.limit = 2;
	arr = json_loads("[{\"name\":\"a\"},{\"name\":\"b\"}]", 0, NULL);
	j = api_page_finish(API_LIST_TEAMS, &pg, arr, "name");
	assert_int_equal(json_array_size(arr), 2);
	assert_true(json_is_null(j));
	json_decref(j);
	json_decref(arr);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_decode_garbage),
		cmocka_unit_test(test_page_parse),
		cmocka_unit_test(test_page_next),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
