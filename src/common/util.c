/*
 * util.c - secret wiping, randomness, ids, time, bounded file I/O.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <malloc.h>

#include <jansson.h>
#include <openssl/rand.h>

#include "encode.h"
#include "err.h"
#include "kbuf.h"
#include "util.h"

void
sn_freezero(void *p, size_t len)
{
	if (p == NULL)
		return;
	explicit_bzero(p, len);
	free(p);
}

void
sn_strfreezero(char *s)
{
	if (s == NULL)
		return;
	sn_freezero(s, strlen(s));
}

static void
wiping_free(void *p)
{
	if (p == NULL)
		return;
	/* glibc (and ASan's allocator) know each block's usable size. */
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

void
sn_json_wipe_on_free(void)
{
	json_set_alloc_funcs(malloc, wiping_free);
}

int
sn_random_bytes(void *buf, size_t len)
{
	if (len > INT_MAX)
		return SN_ERR_INVALID;
	return RAND_bytes(buf, (int)len) == 1 ? SN_OK : SN_ERR_CRYPTO;
}

int
sn_new_id(const char *prefix, char **out)
{
	uint8_t rnd[16];
	char *hex = NULL, *s = NULL;
	size_t n;
	int r;

	*out = NULL;
	if ((r = sn_random_bytes(rnd, sizeof(rnd))) != 0 ||
	    (r = sn_hex_encode(rnd, sizeof(rnd), &hex)) != 0)
		goto out;
	n = strlen(prefix) + 1 + strlen(hex) + 1;
	if ((s = malloc(n)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	snprintf(s, n, "%s_%s", prefix, hex);
	*out = s;
	r = 0;
 out:
	free(hex);
	return r;
}

int64_t
sn_now(void)
{
	return (int64_t)time(NULL);
}

int
sn_parse_duration(const char *s, int64_t *secs)
{
	long long v = 0, mul = 1;
	size_t len, i;

	*secs = 0;
	if (s == NULL || (len = strlen(s)) == 0 || len > 20)
		return SN_ERR_INVALID;
	switch (s[len - 1]) {
	case 's': mul = 1; len--; break;
	case 'm': mul = 60; len--; break;
	case 'h': mul = 3600; len--; break;
	case 'd': mul = 86400; len--; break;
	case 'w': mul = 7 * 86400; len--; break;
	case 'y': mul = 365 * 86400; len--; break;
	default: break;
	}
	if (len == 0)
		return SN_ERR_INVALID;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return SN_ERR_INVALID;
		if (v > (LLONG_MAX - (s[i] - '0')) / 10)
			return SN_ERR_INVALID;
		v = v * 10 + (s[i] - '0');
	}
	/* 100 years is more than any certificate or key should live. */
	if (v == 0 || v > (100LL * 366 * 86400) / mul)
		return SN_ERR_INVALID;
	*secs = v * mul;
	return SN_OK;
}

void
sn_format_time(int64_t t, char buf[32])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, 32, "invalid");
}

static int
digits(const char *s, size_t n, int *out)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int
sn_parse_time(const char *s, int64_t *t)
{
	struct tm tm;
	int Y, M, D, h = 0, m = 0, sec = 0;
	size_t len;
	time_t tt;

	*t = 0;
	if (s == NULL)
		return SN_ERR_INVALID;
	len = strlen(s);
	if (len != 10 && len != 20)
		return SN_ERR_INVALID;
	if (digits(s, 4, &Y) || s[4] != '-' || digits(s + 5, 2, &M) ||
	    s[7] != '-' || digits(s + 8, 2, &D))
		return SN_ERR_INVALID;
	if (len == 20 && (s[10] != 'T' || digits(s + 11, 2, &h) || s[13] != ':' ||
	    digits(s + 14, 2, &m) || s[16] != ':' || digits(s + 17, 2, &sec) ||
	    s[19] != 'Z'))
		return SN_ERR_INVALID;
	if (Y < 1970 || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 ||
	    sec > 60)
		return SN_ERR_INVALID;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = Y - 1900;
	tm.tm_mon = M - 1;
	tm.tm_mday = D;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = sec;
	if ((tt = timegm(&tm)) == (time_t)-1)
		return SN_ERR_INVALID;
	/* timegm normalises 31 Feb to 3 Mar; refuse such dates. */
	if (tm.tm_mday != D || tm.tm_mon != M - 1)
		return SN_ERR_INVALID;
	*t = (int64_t)tt;
	return SN_OK;
}

int
sn_parse_int(const char *s, long long min, long long max, long long *out)
{
	char *end = NULL;
	long long v;

	*out = 0;
	if (s == NULL || *s == '\0' || (*s != '-' && (*s < '0' || *s > '9')))
		return SN_ERR_INVALID;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == NULL || *end != '\0' || v < min || v > max)
		return SN_ERR_INVALID;
	*out = v;
	return SN_OK;
}

/*
 * Read through a secret kbuf: the file may be a private key or a PIN, and
 * every copy left by growing is wiped, as is the stack chunk.
 */
int
sn_read_file(const char *path, size_t max, char **out, size_t *outlen)
{
	FILE *f = NULL;
	struct kbuf b;
	char chunk[4096];
	size_t n;
	int r = SN_ERR_IO;

	*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	if ((f = fopen(path, "rb")) == NULL)
		return SN_ERR_IO;
	kbuf_init_secret(&b, max);
	for (;;) {
		n = fread(chunk, 1, sizeof(chunk), f);
		if (n == 0) {
			if (ferror(f)) {
				r = SN_ERR_IO;
				goto out;
			}
			break;
		}
		if ((r = kbuf_put(&b, chunk, n)) != 0)
			goto out;
	}
	r = kbuf_steal_str(&b, out, outlen);
 out:
	explicit_bzero(chunk, sizeof(chunk));
	kbuf_free(&b);
	fclose(f);
	return r;
}

static int
write_file(const char *path, const void *data, size_t len, unsigned mode,
    int dosync)
{
	char tmp[PATH_MAX];
	const char *p = data;
	int fd, n;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return SN_ERR_INVALID;
	/*
	 * The temporary name is predictable, so never follow or reuse what is
	 * there: a planted symlink must not redirect the write. A stale file
	 * of ours (a crash between open and rename) is removed first.
	 */
	if (unlink(tmp) != 0 && errno != ENOENT)
		return SN_ERR_IO;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    mode)) < 0)
		return SN_ERR_IO;
	if (fchmod(fd, mode) != 0)
		goto fail;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		p += w;
		len -= (size_t)w;
	}
	if (dosync && fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	if (rename(tmp, path) != 0) {
		int e = errno;

		unlink(tmp);
		errno = e;
		return SN_ERR_IO;
	}
	return SN_OK;
 fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return SN_ERR_IO;
}

int
sn_write_file(const char *path, const void *data, size_t len, unsigned mode)
{
	return write_file(path, data, len, mode, 1);
}

int
sn_write_file_nosync(const char *path, const void *data, size_t len,
    unsigned mode)
{
	return write_file(path, data, len, mode, 0);
}
