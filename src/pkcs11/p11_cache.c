/*
 * p11_cache.c - the token listing (GET /v1/me/keys, every page) shared
 * between the processes of one user for a short time, so that consumers
 * that search by class alone (libp11, SunPKCS11) do not each pull every
 * key from the service. docs/PKCS11.md "Listing cache" is the design.
 *
 * What it holds is what the service sends the caller about its keys: key
 * ids, labels, public keys, certificates, never a credential or token (the
 * name of the file is a hash of the service URL and the identity GET /v1/me
 * returned, not of any secret). It only ever saves a request: signing is
 * checked by the service whatever the listing says, so a stale entry can
 * at worst show a key that then fails to sign.
 *
 * It must never trust a file it did not make: the directory must be the
 * caller's own (owner = euid, not a symlink, no group/other bits), the file
 * too (regular, not a symlink, 0600, ours), and the header names the cache
 * entry, its age, and the length and SHA-256 of the body. Anything else -
 * truncated, corrupt, foreign, from the future, older than the TTL - is a
 * miss, never an error: the caller then asks the service.
 *
 * File: "signet-listing-cache 1 NAME FETCHED_AT LEN SHA256HEX\n" + body,
 * body = {"keys":[...]} as the service's pages merged. Written to a
 * temporary file in the same directory and renamed over, so a reader sees
 * the old file or the new one, never half of one.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "err.h"
#include "p11_int.h"

#define CACHE_MAGIC	"signet-listing-cache 1 "
#define CACHE_MAX	(64u * 1024 * 1024)	/* bytes of one file */
#define CACHE_HDR_MAX	256

static void
hex(const uint8_t *in, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[in[i] >> 4];
		out[2 * i + 1] = d[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* A directory the caller owns alone: 0 or SN_ERR_INVALID. */
static int
own_dir(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 077) != 0)
		return SN_ERR_INVALID;
	return 0;
}

int
p11_cache_dir(char *buf, size_t len)
{
	const char *x = getenv("XDG_RUNTIME_DIR"), *home = getenv("HOME");
	char parent[PATH_MAX];
	int n;

	if (x != NULL && *x == '/') {
		n = snprintf(buf, len, "%s/signet", x);
	} else if (home != NULL && *home == '/') {
		n = snprintf(parent, sizeof(parent), "%s/.cache", home);
		if (n < 0 || (size_t)n >= sizeof(parent))
			return SN_ERR_TOO_LARGE;
		/* ~/.cache is the user's; it need not be private, ours is */
		if (mkdir(parent, 0700) != 0 && errno != EEXIST)
			return SN_ERR_IO;
		n = snprintf(buf, len, "%s/signet", parent);
	} else
		return SN_ERR_NOT_FOUND;
	if (n < 0 || (size_t)n >= len)
		return SN_ERR_TOO_LARGE;
	if (mkdir(buf, 0700) != 0 && errno != EEXIST)
		return SN_ERR_IO;
	return own_dir(buf);
}

int
p11_cache_name(const char *url, json_t *me, char out[P11_CACHE_NAME_LEN])
{
	const char *tenant, *type, *id, *cred, *part[6];
	uint8_t md[SHA256_DIGEST_LENGTH];
	char buf[4096];
	size_t used = 0, l;

	out[0] = '\0';
	tenant = json_string_value(json_object_get(json_object_get(me,
	    "tenant"), "id"));
	type = json_string_value(json_object_get(me, "type"));
	id = json_string_value(json_object_get(me, "id"));
	cred = json_string_value(json_object_get(me, "credential_id"));
	if (url == NULL || tenant == NULL || type == NULL || id == NULL)
		return SN_ERR_PROTOCOL;
	part[0] = "signet-listing-cache-1";
	part[1] = url;
	part[2] = tenant;
	part[3] = type;
	part[4] = id;
	part[5] = cred != NULL ? cred : "";
	/* NUL-separated, so no two different tuples hash alike */
	for (size_t i = 0; i < 6; i++) {
		if ((l = strlen(part[i]) + 1) > sizeof(buf) - used)
			return SN_ERR_TOO_LARGE;
		memcpy(buf + used, part[i], l);
		used += l;
	}
	SHA256((const unsigned char *)buf, used, md);
	hex(md, 20, out);	/* 160 bits: a file name, not a secret */
	return 0;
}

static int
cache_path(const char *name, char *buf, size_t len)
{
	char dir[PATH_MAX];
	int r, n;

	if ((r = p11_cache_dir(dir, sizeof(dir))) != 0)
		return r;
	n = snprintf(buf, len, "%s/keys-%s.json", dir, name);
	if (n < 0 || (size_t)n >= len)
		return SN_ERR_TOO_LARGE;
	return 0;
}

/* Reads the whole of an open file of at most CACHE_MAX bytes. */
static int
read_all(int fd, size_t size, char **out)
{
	char *b;
	size_t got = 0;
	ssize_t n;

	if ((b = malloc(size + 1)) == NULL)
		return SN_ERR_NOMEM;
	while (got < size) {
		if ((n = read(fd, b + got, size - got)) < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(b);
			return SN_ERR_IO;
		}
		got += (size_t)n;
	}
	b[size] = '\0';
	*out = b;
	return 0;
}

/*
 * Parses "NAME FETCHED_AT LEN SHA256HEX" after the magic: every field
 * present, decimal without sign or leading garbage, nothing after.
 */
static int
parse_header(const char *h, const char *name, int64_t *fetched,
    size_t *blen, char sha[65])
{
	size_t nl = strlen(name);
	char *end;
	unsigned long long v;

	if (strncmp(h, name, nl) != 0 || h[nl] != ' ')
		return SN_ERR_INVALID;
	h += nl + 1;
	if (*h < '0' || *h > '9')
		return SN_ERR_INVALID;
	errno = 0;
	v = strtoull(h, &end, 10);
	if (errno != 0 || *end != ' ' || v > INT64_MAX)
		return SN_ERR_INVALID;
	*fetched = (int64_t)v;
	h = end + 1;
	if (*h < '0' || *h > '9')
		return SN_ERR_INVALID;
	v = strtoull(h, &end, 10);
	if (errno != 0 || *end != ' ' || v > CACHE_MAX)
		return SN_ERR_INVALID;
	*blen = (size_t)v;
	h = end + 1;
	if (strlen(h) != 64 || strspn(h, "0123456789abcdef") != 64)
		return SN_ERR_INVALID;
	memcpy(sha, h, 65);
	return 0;
}

int
p11_cache_load(const char *name, int64_t ttl, json_t **out)
{
	char path[PATH_MAX], sha[65], got[65], *text = NULL, *nl;
	uint8_t md[SHA256_DIGEST_LENGTH];
	struct p11_token *scratch = NULL;
	struct stat st;
	json_t *body = NULL;
	int64_t fetched, now = (int64_t)time(NULL);
	size_t blen, hlen, skipped;
	int fd = -1, r;

	*out = NULL;
	if (ttl <= 0 || name == NULL || name[0] == '\0')
		return SN_ERR_NOT_FOUND;
	if ((r = cache_path(name, path, sizeof(path))) != 0)
		return r;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK)) < 0) {
		r = errno == ENOENT ? SN_ERR_NOT_FOUND : SN_ERR_INVALID;
		goto out;
	}
	r = SN_ERR_INVALID;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 077) != 0 ||
	    st.st_size <= 0 || (uint64_t)st.st_size > CACHE_MAX)
		goto out;
	if ((r = read_all(fd, (size_t)st.st_size, &text)) != 0)
		goto out;
	r = SN_ERR_INVALID;
	if (strncmp(text, CACHE_MAGIC, strlen(CACHE_MAGIC)) != 0 ||
	    (nl = memchr(text, '\n', (size_t)st.st_size < CACHE_HDR_MAX ?
	    (size_t)st.st_size : CACHE_HDR_MAX)) == NULL)
		goto out;
	*nl = '\0';
	hlen = (size_t)(nl - text) + 1;
	if (parse_header(text + strlen(CACHE_MAGIC), name, &fetched, &blen,
	    sha) != 0 || blen != (size_t)st.st_size - hlen)
		goto out;
	/* too old, or from a clock that went back: ask the service */
	if (fetched > now || now - fetched >= ttl) {
		r = SN_ERR_NOT_FOUND;
		goto out;
	}
	SHA256((const unsigned char *)nl + 1, blen, md);
	hex(md, sizeof(md), got);
	if (strcmp(got, sha) != 0)
		goto out;
	if ((body = json_loadb(nl + 1, blen, JSON_REJECT_DUPLICATES,
	    NULL)) == NULL || !json_is_array(json_object_get(body, "keys")))
		goto out;
	/* what the token would make of it, before the token sees it: a key
	 * it would skip is a listing the service did not send us */
	if (p11_token_from_keys(body, &scratch, &skipped) != 0 || skipped != 0)
		goto out;
	*out = body;
	body = NULL;
	r = 0;
 out:
	p11_token_free(scratch);
	json_decref(body);
	free(text);
	if (fd >= 0)
		close(fd);
	return r;
}

int
p11_cache_store(const char *name, json_t *keys)
{
	char path[PATH_MAX], tmp[PATH_MAX + 16], hdr[CACHE_HDR_MAX], sha[65];
	uint8_t md[SHA256_DIGEST_LENGTH];
	char *body = NULL;
	size_t blen, off;
	ssize_t n;
	int fd = -1, r, hn;

	if (name == NULL || name[0] == '\0')
		return SN_ERR_INVALID;
	if ((r = cache_path(name, path, sizeof(path))) != 0)
		return r;
	if ((body = json_dumps(keys, JSON_COMPACT)) == NULL)
		return SN_ERR_NOMEM;
	if ((blen = strlen(body)) > CACHE_MAX - CACHE_HDR_MAX) {
		r = SN_ERR_TOO_LARGE;
		goto out;
	}
	SHA256((const unsigned char *)body, blen, md);
	hex(md, sizeof(md), sha);
	hn = snprintf(hdr, sizeof(hdr), CACHE_MAGIC "%s %" PRId64 " %zu %s\n",
	    name, (int64_t)time(NULL), blen, sha);
	if (hn < 0 || (size_t)hn >= sizeof(hdr) ||
	    snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp)) {
		r = SN_ERR_TOO_LARGE;
		goto out;
	}
	/* mkstemp: O_EXCL, 0600 */
	if ((fd = mkstemp(tmp)) < 0) {
		r = SN_ERR_IO;
		goto out;
	}
	r = SN_ERR_IO;
	for (off = 0; off < (size_t)hn; off += (size_t)n)
		if ((n = write(fd, hdr + off, (size_t)hn - off)) <= 0)
			goto unlink;
	for (off = 0; off < blen; off += (size_t)n)
		if ((n = write(fd, body + off, blen - off)) <= 0)
			goto unlink;
	if (close(fd) != 0) {
		fd = -1;
		goto unlink;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto unlink;
	r = 0;
	goto out;
 unlink:
	(void)unlink(tmp);
 out:
	if (fd >= 0)
		close(fd);
	free(body);
	return r;
}

void
p11_cache_drop(const char *name)
{
	char path[PATH_MAX];

	if (name != NULL && name[0] != '\0' &&
	    cache_path(name, path, sizeof(path)) == 0)
		(void)unlink(path);
}
