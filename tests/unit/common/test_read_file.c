/*
 * test_read_file.c - sn_read_file at its edges: empty, exactly the
 * maximum, one past it, many chunks, a directory, a missing file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "util.h"

struct tmpdir {
	char dir[64];
	char path[128];
};

static int
setup(void **state)
{
	struct tmpdir *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return -1;
	snprintf(t->dir, sizeof(t->dir), "/tmp/signet-rf-XXXXXX");
	if (mkdtemp(t->dir) == NULL) {
		free(t);
		return -1;
	}
	snprintf(t->path, sizeof(t->path), "%s/f", t->dir);
	*state = t;
	return 0;
}

static int
teardown(void **state)
{
	struct tmpdir *t = *state;

	unlink(t->path);
	rmdir(t->dir);
	free(t);
	return 0;
}

static void
put(const char *path, const void *p, size_t n)
{
	assert_int_equal(sn_write_file(path, p, n, 0600), 0);
}

static void
test_empty(void **state)
{
	struct tmpdir *t = *state;
	char *buf = NULL;
	size_t len = 99;

	put(t->path, "", 0);
	assert_int_equal(sn_read_file(t->path, 10, &buf, &len), 0);
	assert_non_null(buf);
	assert_string_equal(buf, "");
	assert_int_equal(len, 0);
	free(buf);
}

static void
test_exactly_max_and_one_past(void **state)
{
	struct tmpdir *t = *state;
	size_t big = 3 * 4096 + 17, len = 0;
	char *data, *buf = NULL;

	assert_non_null(data = malloc(big));
	memset(data, 'x', big);
	data[big - 1] = 'y';
	put(t->path, data, big);
	/* many chunks, exactly the maximum: read whole, NUL-terminated */
	assert_int_equal(sn_read_file(t->path, big, &buf, &len), 0);
	assert_int_equal(len, big);
	assert_memory_equal(buf, data, big);
	assert_int_equal(buf[big], '\0');
	free(buf);
	/* one byte over: refused, nothing handed out */
	buf = (char *)1;
	assert_int_equal(sn_read_file(t->path, big - 1, &buf, &len),
	    SN_ERR_TOO_LARGE);
	assert_null(buf);
	assert_int_equal(len, 0);
	/* outlen may be NULL */
	assert_int_equal(sn_read_file(t->path, big, &buf, NULL), 0);
	assert_int_equal(strlen(buf), big);
	free(buf);
	free(data);
}

static void
test_not_a_file(void **state)
{
	struct tmpdir *t = *state;
	char *buf = NULL;
	size_t len;

	assert_int_equal(sn_read_file(t->path, 10, &buf, &len), SN_ERR_IO);
	assert_null(buf);
	/* a directory opens but does not read */
	assert_int_equal(sn_read_file(t->dir, 10, &buf, &len), SN_ERR_IO);
	assert_null(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exactly_max_and_one_past,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_file, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
