/*
 * archive.c - ustar writing and fail-closed reading for `signetd backup`
 * and `signetd restore` (see archive.h for the rules).
 *
 * The layout of a header block is POSIX.1-1988 ustar (IEEE Std 1003.1,
 * "pax" chapter): name[100] mode[8] uid[8] gid[8] size[12] mtime[12]
 * chksum[8] typeflag linkname[100] magic[6] version[2] uname[32] gname[32]
 * devmajor[8] devminor[8] prefix[155], numbers in octal.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "archive.h"
#include "err.h"

#define BLOCK		512
#define COPY_CHUNK	(64 * 1024)

#define OFF_NAME	0
#define OFF_MODE	100
#define OFF_UID		108
#define OFF_GID		116
#define OFF_SIZE	124
#define OFF_MTIME	136
#define OFF_CHKSUM	148
#define OFF_TYPE	156
#define OFF_MAGIC	257
#define OFF_VERSION	263
#define OFF_UNAME	265
#define OFF_GNAME	297
#define OFF_PREFIX	345

static int
write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			return SN_ERR_IO;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads exactly len bytes: 0, 1 at a clean EOF before the first byte,
 * SN_ERR_INVALID at EOF in the middle (a truncated archive), SN_ERR_IO. */
static int
read_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		if ((n = read(fd, p + got, len - got)) < 0) {
			if (errno == EINTR)
				continue;
			return SN_ERR_IO;
		}
		if (n == 0)
			return got == 0 ? 1 : SN_ERR_INVALID;
		got += (size_t)n;
	}
	return 0;
}

static int
component_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || (n == 1 && s[0] == '.') ||
	    (n == 2 && s[0] == '.' && s[1] == '.'))
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

int
archive_name_ok(const char *name)
{
	const char *p = name, *slash;
	size_t len;

	if (name == NULL || (len = strlen(name)) == 0 ||
	    len > ARCHIVE_NAME_MAX)
		return 0;
	for (;;) {
		slash = strchr(p, '/');
		if (!component_ok(p, slash != NULL ? (size_t)(slash - p) :
		    strlen(p)))
			return 0;
		if (slash == NULL)
			return 1;
		p = slash + 1;
	}
}

static void
put_octal(uint8_t *field, size_t width, uint64_t v)
{
	size_t i;

	/* width - 1 digits, zero-padded, then NUL (callers keep v in range) */
	field[width - 1] = '\0';
	for (i = width - 1; i > 0; i--) {
		field[i - 1] = (uint8_t)('0' + (v & 7));
		v >>= 3;
	}
}

static int
make_header(uint8_t h[BLOCK], const char *name, unsigned mode, int64_t mtime,
    uint64_t size)
{
	size_t len = strlen(name), split;
	unsigned sum = 0;
	int i;

	memset(h, 0, BLOCK);
	if (!archive_name_ok(name) || size > ARCHIVE_FILE_MAX)
		return SN_ERR_INVALID;
	if (len <= 100)
		memcpy(h + OFF_NAME, name, len);
	else {
		/* prefix/name split at a '/' with both parts fitting */
		for (split = len; split > 0; split--)
			if (name[split - 1] == '/' && split - 1 <= 155 &&
			    len - split <= 100)
				break;
		if (split == 0)
			return SN_ERR_INVALID;
		memcpy(h + OFF_PREFIX, name, split - 1);
		memcpy(h + OFF_NAME, name + split, len - split);
	}
	put_octal(h + OFF_MODE, 8, mode & 0777);
	put_octal(h + OFF_UID, 8, 0);
	put_octal(h + OFF_GID, 8, 0);
	put_octal(h + OFF_SIZE, 12, size);
	put_octal(h + OFF_MTIME, 12, mtime > 0 ? (uint64_t)mtime : 0);
	h[OFF_TYPE] = '0';
	memcpy(h + OFF_MAGIC, "ustar", 6);
	memcpy(h + OFF_VERSION, "00", 2);
	memcpy(h + OFF_UNAME, "signet", 6);
	memcpy(h + OFF_GNAME, "signet", 6);
	memset(h + OFF_CHKSUM, ' ', 8);
	for (i = 0; i < BLOCK; i++)
		sum += h[i];
	snprintf((char *)h + OFF_CHKSUM, 8, "%06o", sum);
	h[OFF_CHKSUM + 7] = ' ';
	return 0;
}

static int
pad(int fd, uint64_t size)
{
	static const uint8_t zeros[BLOCK];
	size_t n = (size_t)(size % BLOCK);

	return n == 0 ? 0 : write_all(fd, zeros, BLOCK - n);
}

int
archive_put_fd(int fd, const char *name, unsigned mode, int64_t mtime,
    int src_fd, uint64_t size, uint8_t sha256[32])
{
	EVP_MD_CTX *md = NULL;
	uint8_t h[BLOCK], *buf = NULL, one;
	uint64_t left = size;
	size_t want;
	ssize_t n;
	int r;

	if ((r = make_header(h, name, mode, mtime, size)) != 0)
		return r;
	if ((buf = malloc(COPY_CHUNK)) == NULL)
		return SN_ERR_NOMEM;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		r = SN_ERR_CRYPTO;
		goto out;
	}
	if ((r = write_all(fd, h, BLOCK)) != 0)
		goto out;
	while (left > 0) {
		want = left < COPY_CHUNK ? (size_t)left : COPY_CHUNK;
		if ((n = read(src_fd, buf, want)) < 0) {
			if (errno == EINTR)
				continue;
			r = SN_ERR_IO;
			goto out;
		}
		if (n == 0) {		/* shrank under us */
			r = SN_ERR_IO;
			goto out;
		}
		if (EVP_DigestUpdate(md, buf, (size_t)n) != 1) {
			r = SN_ERR_CRYPTO;
			goto out;
		}
		if ((r = write_all(fd, buf, (size_t)n)) != 0)
			goto out;
		left -= (uint64_t)n;
	}
	/* grew under us: what was written no longer is the whole file */
	while ((n = read(src_fd, &one, 1)) < 0 && errno == EINTR)
		;
	if (n != 0) {
		r = SN_ERR_IO;
		goto out;
	}
	if ((r = pad(fd, size)) != 0)
		goto out;
	if (sha256 != NULL && EVP_DigestFinal_ex(md, sha256, NULL) != 1) {
		r = SN_ERR_CRYPTO;
		goto out;
	}
	r = 0;
 out:
	EVP_MD_CTX_free(md);
	if (buf != NULL)
		explicit_bzero(buf, COPY_CHUNK);	/* token or PIN bytes */
	free(buf);
	return r;
}

int
archive_put_mem(int fd, const char *name, unsigned mode, int64_t mtime,
    const void *data, size_t len, uint8_t sha256[32])
{
	uint8_t h[BLOCK];
	int r;

	if ((r = make_header(h, name, mode, mtime, len)) != 0 ||
	    (r = write_all(fd, h, BLOCK)) != 0 ||
	    (r = write_all(fd, data, len)) != 0 ||
	    (r = pad(fd, len)) != 0)
		return r;
	if (sha256 != NULL && EVP_Digest(data, len, sha256, NULL, EVP_sha256(),
	    NULL) != 1)
		return SN_ERR_CRYPTO;
	return 0;
}

int
archive_finish(int fd)
{
	static const uint8_t zeros[2 * BLOCK];

	return write_all(fd, zeros, sizeof(zeros));
}

/* A NUL- or space-terminated octal number filling at most width bytes. */
static int
get_octal(const uint8_t *f, size_t width, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	while (i < width && f[i] == ' ')	/* leading spaces: old tars */
		i++;
	if (i == width || f[i] < '0' || f[i] > '7')
		return SN_ERR_INVALID;
	for (; i < width && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v > (max >> 3))
			return SN_ERR_INVALID;
		v = v << 3 | (uint64_t)(f[i] - '0');
	}
	for (; i < width; i++)
		if (f[i] != '\0' && f[i] != ' ')
			return SN_ERR_INVALID;
	if (v > max)
		return SN_ERR_INVALID;
	*out = v;
	return 0;
}

static int
is_zero(const uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

/* After the first zero block: only zero blocks up to EOF. */
static int
check_trailer(int fd)
{
	uint8_t b[BLOCK];
	int r, nzero = 1;

	for (;;) {
		if ((r = read_all(fd, b, BLOCK)) == 1)
			return nzero >= 2 ? 0 : SN_ERR_INVALID;
		if (r != 0)
			return r;
		if (!is_zero(b, BLOCK))
			return SN_ERR_INVALID;
		nzero++;
	}
}

int
archive_next(int fd, struct archive_entry *e)
{
	uint8_t h[BLOCK], saved[8];
	uint64_t sum = 0, want, mode, size, mtime;
	size_t nlen, plen;
	int i, r;

	memset(e, 0, sizeof(*e));
	if ((r = read_all(fd, h, BLOCK)) != 0)
		return r == 1 ? SN_ERR_INVALID : r;	/* no end marker */
	if (is_zero(h, BLOCK))
		return check_trailer(fd);
	memcpy(saved, h + OFF_CHKSUM, 8);
	memset(h + OFF_CHKSUM, ' ', 8);
	for (i = 0; i < BLOCK; i++)
		sum += h[i];
	if (get_octal(saved, 8, 07777777, &want) != 0 || want != sum)
		return SN_ERR_INVALID;
	if (memcmp(h + OFF_MAGIC, "ustar", 6) != 0 ||
	    memcmp(h + OFF_VERSION, "00", 2) != 0)
		return SN_ERR_INVALID;
	if (h[OFF_TYPE] != '0' && h[OFF_TYPE] != '\0')
		return SN_ERR_INVALID;	/* links, devices, directories: no */
	if (get_octal(h + OFF_MODE, 8, 07777, &mode) != 0 ||
	    get_octal(h + OFF_SIZE, 12, ARCHIVE_FILE_MAX, &size) != 0 ||
	    get_octal(h + OFF_MTIME, 12, INT64_MAX, &mtime) != 0)
		return SN_ERR_INVALID;
	nlen = strnlen((const char *)h + OFF_NAME, 100);
	plen = strnlen((const char *)h + OFF_PREFIX, 155);
	if (nlen == 0)
		return SN_ERR_INVALID;
	if (plen > 0) {
		memcpy(e->name, h + OFF_PREFIX, plen);
		e->name[plen] = '/';
		memcpy(e->name + plen + 1, h + OFF_NAME, nlen);
		e->name[plen + 1 + nlen] = '\0';
	} else {
		memcpy(e->name, h + OFF_NAME, nlen);
		e->name[nlen] = '\0';
	}
	if (!archive_name_ok(e->name))
		return SN_ERR_INVALID;
	e->mode = (unsigned)(mode & 0777);
	e->size = size;
	e->mtime = (int64_t)mtime;
	return 1;
}

int
archive_read_data(int fd, const struct archive_entry *e, int out_fd,
    char **mem, size_t memmax, uint8_t sha256[32])
{
	EVP_MD_CTX *md = NULL;
	uint8_t *buf = NULL, padb[BLOCK];
	uint64_t left = e->size;
	size_t want, off = 0, npad = (size_t)(e->size % BLOCK);
	char *m = NULL;
	int r;

	if (mem != NULL) {
		*mem = NULL;
		if (e->size > memmax)
			return SN_ERR_TOO_LARGE;
		if ((m = malloc((size_t)e->size + 1)) == NULL)
			return SN_ERR_NOMEM;
	}
	if ((buf = malloc(COPY_CHUNK)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		r = SN_ERR_CRYPTO;
		goto out;
	}
	while (left > 0) {
		want = left < COPY_CHUNK ? (size_t)left : COPY_CHUNK;
		if ((r = read_all(fd, buf, want)) != 0) {
			r = r == 1 ? SN_ERR_INVALID : r;	/* truncated */
			goto out;
		}
		if (EVP_DigestUpdate(md, buf, want) != 1) {
			r = SN_ERR_CRYPTO;
			goto out;
		}
		if (out_fd >= 0 && (r = write_all(out_fd, buf, want)) != 0)
			goto out;
		if (m != NULL) {
			memcpy(m + off, buf, want);
			off += want;
		}
		left -= want;
	}
	if (npad != 0) {
		if ((r = read_all(fd, padb, BLOCK - npad)) != 0) {
			r = r == 1 ? SN_ERR_INVALID : r;
			goto out;
		}
	}
	if (sha256 != NULL && EVP_DigestFinal_ex(md, sha256, NULL) != 1) {
		r = SN_ERR_CRYPTO;
		goto out;
	}
	if (m != NULL) {
		m[off] = '\0';
		*mem = m;
		m = NULL;
	}
	r = 0;
 out:
	EVP_MD_CTX_free(md);
	if (buf != NULL)
		explicit_bzero(buf, COPY_CHUNK);
	free(buf);
	if (m != NULL) {
		explicit_bzero(m, (size_t)e->size + 1);
		free(m);
	}
	return r;
}
