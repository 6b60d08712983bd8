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

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <signal.h>
#include <sys/wait.h>

#include "sn_assert.h"
#include "encode.h"
#include "err.h"
#include "pem.h"
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

/* pem.c: what parses, and garbage, truncation and the wrong object refused. */
static void
test_pem(void **state)
{
	static const char cert1[] = "-----BEGIN CERTIFICATE-----\nAAAA\n"
	    "-----END CERTIFICATE-----";
	static const char cert2[] = "-----BEGIN CERTIFICATE-----\nBBBB\n"
	    "-----END CERTIFICATE-----";
	EVP_PKEY *k = NULL, *got = NULL;
	X509 *x = NULL;
	BIO *b = NULL;
	json_t *arr = NULL;
	char *pem = NULL, chain[256], *leaf = NULL, *rest = NULL;
	long n;

	k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(k);
	assert_non_null(b = BIO_new(BIO_s_mem()));
	assert_int_equal(PEM_write_bio_PUBKEY(b, k), 1);
	n = BIO_get_mem_data(b, &pem);
	assert_true(n > 0);
	assert_int_equal(pem_read_pubkey(pem, (size_t)n, &got), 0);
	assert_int_equal(EVP_PKEY_eq(k, got), 1);
	EVP_PKEY_free(got);
	/* Truncated, garbage, NULL, a public key where a certificate or a
	 * private key is wanted: refused, output NULL. */
	assert_int_equal(pem_read_pubkey(pem, (size_t)n / 2, &got),
	    SN_ERR_INVALID);
	assert_null(got);
	assert_int_equal(pem_read_pubkey("garbage", 7, &got), SN_ERR_INVALID);
	assert_int_equal(pem_read_pubkey(NULL, 0, &got), SN_ERR_INVALID);
	assert_int_equal(pem_read_x509(pem, (size_t)n, &x), SN_ERR_INVALID);
	assert_null(x);
	assert_int_equal(pem_read_x509_pubkey(pem, (size_t)n, &got),
	    SN_ERR_INVALID);
	assert_int_equal(pem_read_private_key(pem, (size_t)n, &got),
	    SN_ERR_INVALID);
	assert_null(got);
	assert_int_equal(pem_read_pubkey(pem, (size_t)INT32_MAX + 1, &got),
	    SN_ERR_TOO_LARGE);
	BIO_free(b);
	EVP_PKEY_free(k);

	/* Blocks of a chain, text between them dropped, a torn one ignored. */
	snprintf(chain, sizeof(chain), "junk\n%s\nmore\n%s\n"
	    "-----BEGIN CERTIFICATE-----\nCC", cert1, cert2);
	assert_int_equal(pem_cert_blocks(chain, &arr), 0);
	assert_int_equal(json_array_size(arr), 2);
	assert_int_equal(strncmp(json_string_value(json_array_get(arr, 0)),
	    cert1, sizeof(cert1) - 1), 0);
	json_decref(arr);
	assert_int_equal(pem_cert_blocks("no blocks", &arr), 0);
	assert_int_equal(json_array_size(arr), 0);
	json_decref(arr);
	assert_int_equal(pem_split_leaf(chain, &leaf, &rest), 0);
	assert_int_equal(strncmp(leaf, cert1, sizeof(cert1) - 1), 0);
	assert_int_equal(strncmp(rest, cert2, sizeof(cert2) - 1), 0);
	assert_null(strstr(rest, "junk"));
	free(leaf);
	free(rest);
	assert_int_equal(pem_split_leaf("-----BEGIN CERTIFICATE-----\nAA",
	    &leaf, &rest), SN_ERR_INVALID);
	assert_null(leaf);
	assert_null(rest);
}

/*
 * SN_NEVER/SN_ALWAYS: a debug build (no NDEBUG: the sanitizer suite) traps
 * at a "cannot happen" branch; a release build takes the safe branch.
 */
static void
test_never_traps_in_debug(void **state)
{
	volatile int one = 1;
	pid_t pid;
	int st = 0;

	assert_int_equal(SN_NEVER(one == 0), 0);
	assert_int_equal(SN_ALWAYS(one == 1), 1);
	fflush(stderr);
	if ((pid = fork()) == 0) {
		int r = SN_NEVER(one == 1);

		_exit(r == 1 ? 42 : 43);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
#ifdef NDEBUG
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 42);
#else
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
#endif
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
		cmocka_unit_test(test_pem),
		cmocka_unit_test(test_never_traps_in_debug),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
