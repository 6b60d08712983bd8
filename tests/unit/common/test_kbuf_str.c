/*
 * test_kbuf_str.c - kbuf as a text buffer: the NUL that kbuf_nul and
 * kbuf_steal_str add is not content, may sit one byte past the maximum, and
 * is overwritten by the next put; the maximum itself still holds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "kbuf.h"

static void
test_nul_empty(void **state)
{
	struct kbuf b;

	(void)state;
	kbuf_init(&b, 16);
	assert_int_equal(kbuf_nul(&b), 0);
	assert_non_null(b.data);
	assert_int_equal(b.len, 0);
	assert_string_equal((char *)b.data, "");
	kbuf_free(&b);
}

static void
test_nul_at_max(void **state)
{
	struct kbuf b;
	char big[300];

	(void)state;
	memset(big, 'a', sizeof(big));
	/* 300 bytes: past the first 256-byte allocation, exactly at max */
	kbuf_init(&b, sizeof(big));
	assert_int_equal(kbuf_put(&b, big, sizeof(big)), 0);
	assert_int_equal(kbuf_nul(&b), 0);
	assert_int_equal(b.len, sizeof(big));
	assert_int_equal(b.data[sizeof(big)], '\0');
	/* the terminator is not room for content */
	assert_int_equal(kbuf_put_u8(&b, 'b'), SN_ERR_TOO_LARGE);
	assert_int_equal(b.len, sizeof(big));
	kbuf_free(&b);
}

static void
test_put_overwrites_nul(void **state)
{
	struct kbuf b;

	(void)state;
	kbuf_init(&b, 64);
	assert_int_equal(kbuf_put(&b, "ab", 2), 0);
	assert_int_equal(kbuf_nul(&b), 0);
	assert_int_equal(kbuf_put(&b, "cd", 2), 0);
	assert_int_equal(kbuf_nul(&b), 0);
	assert_string_equal((char *)b.data, "abcd");
	assert_int_equal(b.len, 4);
	kbuf_free(&b);
}

static void
test_steal_str(void **state)
{
	struct kbuf b;
	char *s = NULL;
	size_t n = 99;

	(void)state;
	kbuf_init_secret(&b, 8);
	assert_int_equal(kbuf_steal_str(&b, &s, &n), 0);
	assert_non_null(s);
	assert_string_equal(s, "");
	assert_int_equal(n, 0);
	free(s);

	assert_int_equal(kbuf_put(&b, "12345678", 8), 0);
	assert_int_equal(kbuf_steal_str(&b, &s, NULL), 0);
	assert_string_equal(s, "12345678");
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	/* the stolen buffer keeps its maximum and its secret mode */
	assert_int_equal(b.max, 8);
	assert_int_equal(b.secret, 1);
	assert_int_equal(kbuf_put(&b, "x", 1), 0);
	kbuf_free(&b);
	kbuf_free(&b);		/* twice is harmless */
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nul_empty),
		cmocka_unit_test(test_nul_at_max),
		cmocka_unit_test(test_put_overwrites_nul),
		cmocka_unit_test(test_steal_str),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
