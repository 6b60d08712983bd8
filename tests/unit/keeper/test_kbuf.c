/*
 * test_kbuf.c - the keeper protocol's bounded buffer and cursor.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "kbuf.h"
#include "sn_never_test.h"

static void
test_roundtrip(void **state)
{
	struct kbuf b;
	struct kcur c;
	const uint8_t *p;
	size_t n;
	uint32_t v32;
	uint8_t v8;

	kbuf_init(&b, 64);
	assert_int_equal(kbuf_put_u8(&b, 0xab), 0);
	assert_int_equal(kbuf_put_u32(&b, 0x01020304), 0);
	assert_int_equal(kbuf_put_bytes(&b, "hello", 5), 0);
	assert_int_equal(kbuf_put(&b, "xy", 2), 0);
	assert_int_equal(b.len, 1 + 4 + 4 + 5 + 2);
	assert_memory_equal(b.data, "\xab\x01\x02\x03\x04\x00\x00\x00\x05hello"
	    "xy", b.len);

	kcur_init(&c, b.data, b.len);
	assert_int_equal(kcur_get_u8(&c, &v8), 0);
	assert_int_equal(v8, 0xab);
	assert_int_equal(kcur_get_u32(&c, &v32), 0);
	assert_int_equal(v32, 0x01020304);
	assert_int_equal(kcur_end(&c), SN_ERR_PROTOCOL);	/* bytes left */
	assert_int_equal(kcur_get_bytes(&c, 4, &p, &n), SN_ERR_PROTOCOL); /* > max */
	assert_int_equal(kcur_get_bytes(&c, 5, &p, &n), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(p, "hello", 5);
	assert_int_equal(kcur_get_raw(&c, 3, &p), SN_ERR_PROTOCOL);	/* short */
	assert_int_equal(kcur_get_raw(&c, 2, &p), 0);
	assert_int_equal(kcur_end(&c), 0);
	assert_int_equal(kcur_get_u8(&c, &v8), SN_ERR_PROTOCOL);
	kbuf_free(&b);
}

static void
test_limits(void **state)
{
	struct kbuf b;
	uint8_t big[300];

	memset(big, 7, sizeof(big));
	kbuf_init(&b, 10);
	assert_int_equal(kbuf_put(&b, big, 10), 0);
	assert_int_equal(kbuf_put_u8(&b, 1), SN_ERR_TOO_LARGE);
	assert_int_equal(b.len, 10);
	kbuf_free(&b);

	kbuf_init(&b, 8);
	/* a bytes field that does not fit entirely leaves the buffer unchanged */
	assert_int_equal(kbuf_put_bytes(&b, big, 5), SN_ERR_TOO_LARGE);
	assert_int_equal(b.len, 0);
	assert_int_equal(kbuf_put_bytes(&b, big, 4), 0);
	assert_never(kbuf_poke_u32(&b, 5, 1), SN_ERR_INTERNAL);
	kbuf_free(&b);

	kbuf_init_secret(&b, 1000);
	for (int i = 0; i < 3; i++)	/* grows across 256 */
		assert_int_equal(kbuf_put(&b, big, sizeof(big)), 0);
	assert_int_equal(kbuf_put(&b, big, sizeof(big)), SN_ERR_TOO_LARGE);
	assert_int_equal(b.len, 900);
	kbuf_free(&b);
}

static void
test_truncated_length(void **state)
{
	struct kcur c;
	const uint8_t *p;
	size_t n;
	/* claims 16 bytes, has 3 */
	const uint8_t in[] = { 0, 0, 0, 16, 'a', 'b', 'c' };

	kcur_init(&c, in, sizeof(in));
	assert_int_equal(kcur_get_bytes(&c, 100, &p, &n), SN_ERR_PROTOCOL);
	assert_null(p);
	assert_int_equal(n, 0);
	/* cursor did not move: the length can be read again */
	assert_int_equal(c.off, 0);
	kcur_init(&c, in, 3);
	assert_int_equal(kcur_get_bytes(&c, 100, &p, &n), SN_ERR_PROTOCOL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_truncated_length),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
