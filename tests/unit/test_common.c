/*
 * test_common.c - unit tests for src/common: codecs, durations, times, ints.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <stdio.h>
#include <unistd.h>

#include "encode.h"
#include "err.h"
#include "util.h"

static void
test_b64_roundtrip(void **state)
{
	const char *vec[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		char *enc = NULL;
		uint8_t *dec = NULL;
		size_t n;
		assert_int_equal(sn_b64_encode((const uint8_t *)vec[i][0],
		    strlen(vec[i][0]), &enc), 0);
		assert_string_equal(enc, vec[i][1]);
		assert_int_equal(sn_b64_decode(enc, strlen(enc), &dec, &n), 0);
		assert_int_equal(n, strlen(vec[i][0]));
		assert_memory_equal(dec, vec[i][0], n);
		free(enc);
		free(dec);
	}
}

static void
test_b64_rejects_garbage(void **state)
{
	const char *bad[] = { "Zg=", "Zg", "Z===", "Zh==", "Zm9v!", "Zm 9v", "====",
	    "Zm9=v", "Zm8=Zm8=" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t *dec = (uint8_t *)1;
		size_t n = 1;
		assert_int_equal(sn_b64_decode(bad[i], strlen(bad[i]), &dec, &n),
		    SN_ERR_INVALID);
		assert_null(dec);
		assert_int_equal(n, 0);
	}
}

static void
test_b64url(void **state)
{
	const uint8_t in[] = { 0xfb, 0xff, 0xfe };
	char *enc = NULL;
	uint8_t *dec = NULL;
	size_t n;

	assert_int_equal(sn_b64url_encode(in, 3, &enc), 0);
	assert_string_equal(enc, "-__-");
	assert_int_equal(sn_b64url_decode(enc, strlen(enc), &dec, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(dec, in, 3);
	free(dec);
	assert_int_equal(sn_b64url_decode("-__-=", 5, &dec, &n), SN_ERR_INVALID);
	assert_int_equal(sn_b64url_decode("+/", 2, &dec, &n), SN_ERR_INVALID);
	free(enc);
}

static void
test_hex(void **state)
{
	uint8_t *dec = NULL;
	size_t n;
	char *enc = NULL;

	assert_int_equal(sn_hex_decode("00fFa1", 6, &dec, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(sn_hex_encode(dec, n, &enc), 0);
	assert_string_equal(enc, "00ffa1");
	free(dec);
	free(enc);
	assert_int_equal(sn_hex_decode("0g", 2, &dec, &n), SN_ERR_INVALID);
	assert_int_equal(sn_hex_decode("abc", 3, &dec, &n), SN_ERR_INVALID);
}

static void
test_duration(void **state)
{
	int64_t s;

	assert_int_equal(sn_parse_duration("90d", &s), 0);
	assert_int_equal(s, 90 * 86400);
	assert_int_equal(sn_parse_duration("12h", &s), 0);
	assert_int_equal(s, 12 * 3600);
	assert_int_equal(sn_parse_duration("3600", &s), 0);
	assert_int_equal(s, 3600);
	assert_int_equal(sn_parse_duration("1y", &s), 0);
	const char *bad[] = { "", "d", "0d", "-1d", "1.5d", "10x", "99999999999999999999",
	    "1000y", " 1d", "1d " };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(sn_parse_duration(bad[i], &s), SN_ERR_INVALID);
}

static void
test_time(void **state)
{
	int64_t t;
	char buf[32];

	assert_int_equal(sn_parse_time("2026-11-28T04:49:15Z", &t), 0);
	sn_format_time(t, buf);
	assert_string_equal(buf, "2026-11-28T04:49:15Z");
	assert_int_equal(sn_parse_time("2026-11-28", &t), 0);
	assert_int_equal(sn_parse_time("2026-02-31", &t), SN_ERR_INVALID);
	assert_int_equal(sn_parse_time("2026-11-28T04:49:15", &t), SN_ERR_INVALID);
	assert_int_equal(sn_parse_time("yesterday", &t), SN_ERR_INVALID);
}

static void
test_int(void **state)
{
	long long v;

	assert_int_equal(sn_parse_int("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(sn_parse_int("101", 0, 100, &v), SN_ERR_INVALID);
	assert_int_equal(sn_parse_int("4x", 0, 100, &v), SN_ERR_INVALID);
	assert_int_equal(sn_parse_int(" 4", 0, 100, &v), SN_ERR_INVALID);
	assert_int_equal(sn_parse_int("", 0, 100, &v), SN_ERR_INVALID);
}

static void
test_ids(void **state)
{
	char *a = NULL, *b = NULL;

	assert_int_equal(sn_new_id("usr", &a), 0);
	assert_int_equal(sn_new_id("usr", &b), 0);
	assert_int_equal(strlen(a), 4 + 32);
	assert_true(strncmp(a, "usr_", 4) == 0);
	assert_string_not_equal(a, b);
	free(a);
	free(b);
}

static void
test_write_file_no_symlink(void **state)
{
	char dir[] = "/tmp/signet-wf-XXXXXX", path[256], tmp[300], victim[256];
	char *buf = NULL;
	size_t len;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/out", dir);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	assert_int_equal(sn_write_file(victim, "keep", 4, 0600), 0);
	/* a planted symlink at the temporary name must not be followed */
	assert_int_equal(symlink(victim, tmp), 0);
	assert_int_equal(sn_write_file(path, "new", 3, 0600), 0);
	assert_int_equal(sn_read_file(victim, 100, &buf, &len), 0);
	assert_string_equal(buf, "keep");
	free(buf);
	assert_int_equal(sn_read_file(path, 100, &buf, &len), 0);
	assert_string_equal(buf, "new");
	free(buf);
	/* too large for the limit */
	assert_int_equal(sn_read_file(path, 2, &buf, &len), SN_ERR_TOO_LARGE);
	unlink(path);
	unlink(victim);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64_roundtrip),
		cmocka_unit_test(test_b64_rejects_garbage),
		cmocka_unit_test(test_b64url),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_int),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_write_file_no_symlink),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
