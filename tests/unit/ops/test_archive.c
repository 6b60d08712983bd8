/*
 * test_archive.c - the backup archive format: what archive_put_* writes,
 * archive_next/archive_read_data read back; and every kind of bad header
 * or framing is refused (SN_ERR_INVALID), never read as something else.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "archive.h"
#include "err.h"

/* An archive in a temporary file; returns its fd at offset 0. */
static int
tmpfd(void)
{
	char path[] = "/tmp/test_archive.XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	return fd;
}

static void
rewind_fd(int fd)
{
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
}

/* A valid archive of two files. */
static int
make_valid(void)
{
	int fd = tmpfd();
	uint8_t sha[32];

	assert_int_equal(archive_put_mem(fd, "signetd.conf", 0600, 1, "a = b\n",
	    6, sha), 0);
	assert_int_equal(archive_put_mem(fd, "hsm/tokens/x/y.object", 0600, 1,
	    "0123456789", 10, sha), 0);
	assert_int_equal(archive_finish(fd), 0);
	rewind_fd(fd);
	return fd;
}

static void
test_roundtrip(void **state)
{
	struct archive_entry e;
	char *mem = NULL;
	uint8_t sha[32];
	int fd = make_valid();

	(void)state;
	assert_int_equal(archive_next(fd, &e), 1);
	assert_string_equal(e.name, "signetd.conf");
	assert_int_equal(e.size, 6);
	assert_int_equal(e.mode, 0600);
	assert_int_equal(archive_read_data(fd, &e, -1, &mem, 100, sha), 0);
	assert_string_equal(mem, "a = b\n");
	free(mem);
	assert_int_equal(archive_next(fd, &e), 1);
	assert_string_equal(e.name, "hsm/tokens/x/y.object");
	/* too big for the caller's memory limit */
	assert_int_equal(archive_read_data(fd, &e, -1, &mem, 5, NULL),
	    SN_ERR_TOO_LARGE);
	close(fd);
}

static void
test_names(void **state)
{
	(void)state;
	assert_true(archive_name_ok("signet.db"));
	assert_true(archive_name_ok("hsm/tokens/a-b_c.d/e.object"));
	assert_false(archive_name_ok(""));
	assert_false(archive_name_ok("/etc/passwd"));
	assert_false(archive_name_ok("../x"));
	assert_false(archive_name_ok("a/../x"));
	assert_false(archive_name_ok("a/./x"));
	assert_false(archive_name_ok("a//x"));
	assert_false(archive_name_ok("a/"));
	assert_false(archive_name_ok("a b"));
	assert_false(archive_name_ok("a\\b"));
	assert_false(archive_name_ok("caf\xc3\xa9"));
	/* a writer refuses them too */
	{
		int fd = tmpfd();

		assert_int_equal(archive_put_mem(fd, "../x", 0600, 0, "", 0,
		    NULL), SN_ERR_INVALID);
		close(fd);
	}
}

/* Reads the first header block, lets f mangle it, writes it back. */
static void
mangle(int fd, void (*f)(uint8_t *h), int fix_checksum)
{
	uint8_t h[512];
	unsigned sum = 0;
	int i;

	rewind_fd(fd);
	assert_int_equal(read(fd, h, 512), 512);
	f(h);
	if (fix_checksum) {
		memset(h + 148, ' ', 8);
		for (i = 0; i < 512; i++)
			sum += h[i];
		snprintf((char *)h + 148, 8, "%06o", sum);
		h[155] = ' ';
	}
	rewind_fd(fd);
	assert_int_equal(write(fd, h, 512), 512);
	rewind_fd(fd);
}

static void m_flip_name(uint8_t *h) { h[0] ^= 1; }
static void m_symlink(uint8_t *h) { h[156] = '2'; }
static void m_dir(uint8_t *h) { h[156] = '5'; }
static void m_dotdot(uint8_t *h) { memcpy(h, "../signetd.c", 12); }
static void m_abs(uint8_t *h) { memcpy(h, "/ignetd.conf", 12); }
static void m_magic(uint8_t *h) { memcpy(h + 257, "gnutar", 6); }
static void m_size_junk(uint8_t *h) { memcpy(h + 124, "0000000000x", 11); }
static void m_size_huge(uint8_t *h) { memcpy(h + 124, "77777777777", 11); }
static void m_size_long(uint8_t *h) { memcpy(h + 124, "00000002000", 11); }
static void m_noname(uint8_t *h) { memset(h, 0, 100); }
static void m_prefix_dotdot(uint8_t *h) { memcpy(h + 345, "..", 2); }

static void
expect_invalid(void (*f)(uint8_t *h), int fix)
{
	struct archive_entry e;
	int fd = make_valid(), r;

	mangle(fd, f, fix);
	r = archive_next(fd, &e);
	if (r == 1)	/* a header that parses must not let the data pass */
		r = archive_read_data(fd, &e, -1, NULL, 0, NULL) == 0 &&
		    archive_next(fd, &e) == 1 &&
		    archive_read_data(fd, &e, -1, NULL, 0, NULL) == 0 ?
		    archive_next(fd, &e) : SN_ERR_INVALID;
	assert_int_equal(r, SN_ERR_INVALID);
	close(fd);
}

static void
test_bad_headers(void **state)
{
	(void)state;
	expect_invalid(m_flip_name, 0);		/* checksum */
	expect_invalid(m_symlink, 1);
	expect_invalid(m_dir, 1);
	expect_invalid(m_dotdot, 1);
	expect_invalid(m_abs, 1);
	expect_invalid(m_magic, 1);
	expect_invalid(m_size_junk, 1);
	expect_invalid(m_size_huge, 1);
	expect_invalid(m_size_long, 1);		/* runs past the end */
	expect_invalid(m_noname, 1);
	expect_invalid(m_prefix_dotdot, 1);
}

static void
test_framing(void **state)
{
	struct archive_entry e;
	uint8_t junk[512];
	off_t len;
	int fd, r;

	(void)state;
	/* no end marker */
	fd = tmpfd();
	assert_int_equal(archive_put_mem(fd, "a", 0600, 0, "x", 1, NULL), 0);
	rewind_fd(fd);
	assert_int_equal(archive_next(fd, &e), 1);
	assert_int_equal(archive_read_data(fd, &e, -1, NULL, 0, NULL), 0);
	assert_int_equal(archive_next(fd, &e), SN_ERR_INVALID);
	close(fd);
	/* one zero block only */
	fd = tmpfd();
	memset(junk, 0, sizeof(junk));
	assert_int_equal(write(fd, junk, 512), 512);
	rewind_fd(fd);
	assert_int_equal(archive_next(fd, &e), SN_ERR_INVALID);
	close(fd);
	/* data after the end marker */
	fd = make_valid();
	len = lseek(fd, 0, SEEK_END);
	memset(junk, 'x', sizeof(junk));
	assert_int_equal(write(fd, junk, 512), 512);
	rewind_fd(fd);
	while ((r = archive_next(fd, &e)) == 1)
		assert_int_equal(archive_read_data(fd, &e, -1, NULL, 0, NULL),
		    0);
	assert_int_equal(r, SN_ERR_INVALID);
	/* truncated in the middle of a file */
	assert_int_equal(ftruncate(fd, 512 + 3), 0);
	rewind_fd(fd);
	assert_int_equal(archive_next(fd, &e), 1);
	assert_int_equal(archive_read_data(fd, &e, -1, NULL, 0, NULL),
	    SN_ERR_INVALID);
	(void)len;
	close(fd);
	/* empty file */
	fd = tmpfd();
	assert_int_equal(archive_next(fd, &e), SN_ERR_INVALID);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_framing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
