/*
 * test_ratelimit.c - failed-authentication limits per client address.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <cmocka.h>

#include "err.h"
#include "ratelimit.h"

static void
test_blocks_after_limit(void **state)
{
	struct ratelimit *rl;

	assert_int_equal(ratelimit_new(3, 60, &rl), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ratelimit_blocked(rl, "10.0.0.1", 1000), 0);
		ratelimit_failure(rl, "10.0.0.1", 1000 + i);
	}
	/* the fourth attempt waits until the window ends */
	assert_int_equal(ratelimit_blocked(rl, "10.0.0.1", 1010), 50);
	/* other addresses are not affected */
	assert_int_equal(ratelimit_blocked(rl, "10.0.0.2", 1010), 0);
	assert_int_equal(ratelimit_blocked(rl, "::1", 1010), 0);
	/* a new window starts clean */
	assert_int_equal(ratelimit_blocked(rl, "10.0.0.1", 1060), 0);
	ratelimit_failure(rl, "10.0.0.1", 1060);
	assert_int_equal(ratelimit_blocked(rl, "10.0.0.1", 1061), 0);
	ratelimit_free(rl);
}

static void
test_disabled(void **state)
{
	struct ratelimit *rl;

	assert_int_equal(ratelimit_new(0, 60, &rl), 0);
	for (int i = 0; i < 100; i++)
		ratelimit_failure(rl, "10.0.0.1", 1000);
	assert_int_equal(ratelimit_blocked(rl, "10.0.0.1", 1000), 0);
	ratelimit_free(rl);
	assert_int_equal(ratelimit_blocked(NULL, "10.0.0.1", 1000), 0);
	assert_int_equal(ratelimit_new(-1, 60, &rl), SN_ERR_INVALID);
	assert_int_equal(ratelimit_new(1, 0, &rl), SN_ERR_INVALID);
}

static void
test_many_addresses_bounded(void **state)
{
	struct ratelimit *rl;
	char addr[64];

	/* Far more addresses than slots: the table stays bounded, recent
	 * offenders stay blocked, and nothing crashes. */
	assert_int_equal(ratelimit_new(2, 60, &rl), 0);
	for (int i = 0; i < 20000; i++) {
		snprintf(addr, sizeof(addr), "10.%d.%d.%d", (i >> 16) & 255,
		    (i >> 8) & 255, i & 255);
		ratelimit_failure(rl, addr, 1000 + i / 1000);
	}
	ratelimit_failure(rl, "192.0.2.7", 1030);
	ratelimit_failure(rl, "192.0.2.7", 1030);
	assert_true(ratelimit_blocked(rl, "192.0.2.7", 1031) > 0);
	/* an over-long address is never tracked (and never blocked) */
	char longaddr[200];
	for (size_t i = 0; i < sizeof(longaddr) - 1; i++)
		longaddr[i] = 'a';
	longaddr[sizeof(longaddr) - 1] = '\0';
	ratelimit_failure(rl, longaddr, 1030);
	ratelimit_failure(rl, longaddr, 1030);
	assert_int_equal(ratelimit_blocked(rl, longaddr, 1031), 0);
	ratelimit_free(rl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blocks_after_limit),
		cmocka_unit_test(test_disabled),
		cmocka_unit_test(test_many_addresses_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
