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
 * entry, its age, the listing's ETag, and the length and SHA-256 of the
 * body. Anything else - truncated, corrupt, foreign, from the future, of
 * another format version, with a stored ETag that is not one - is a miss,
 * never an error: the caller then asks the service. How long an entry is
 * trusted without asking, and the conditional request that revalidates it
 * after that, are the caller's (p11.c fetch_listing): this file only keeps
 * entries.
 *
 * File: "signet-listing-cache 2 NAME FETCHED_AT ETAG LEN SHA256HEX\n" +
 * body, body = {"keys":[...]} as the service's pages merged, ETAG the weak
 * validator of the first page (W/"..."), or "-" when the service sent
 * none. Written to a temporary file in the same directory and renamed
 * over, so a reader sees the old file or the new one, never half of one.
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

#define CACHE_MAGIC	"signet-listing-cache 2 "
#define CACHE_MAX	(64u * 1024 * 1024)	/* bytes of one file */
#define CACHE_HDR_MAX	512
#define NO_ETAG		"-"	/* the service sent no validator */

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

int
p11_etag_valid(const char *etag)
{
	size_t len;

	if (etag == NULL || (len = strlen(etag)) < 5 || len > P11_ETAG_MAX ||
	    strncmp(etag, "W/\"", 3) != 0 || etag[len - 1] != '"')
		return 0;
	/* RFC 9110 etagc without obs-text: no space, no quote inside */
	for (size_t i = 3; i < len - 1; i++)
		if (etag[i] < 0x21 || etag[i] > 0x7e || etag[i] == '"')
			return 0;
	return 1;
}

/* One decimal field without sign or leading garbage, then a space. */
static int
get_decimal(const char **h, unsigned long long max, unsigned long long *v)
{
	char *end;

	if (**h < '0' || **h > '9')
		return SN_ERR_INVALID;
	errno = 0;
	*v = strtoull(*h, &end, 10);
	if (errno != 0 || *end != ' ' || *v > max)
		return SN_ERR_INVALID;
	*h = end + 1;
	return 0;
}

/*
 * Parses "NAME FETCHED_AT ETAG LEN SHA256HEX" after the magic: every field
 * present, decimals without sign or leading garbage, an ETag that is one
 * (or "-": e->etag ""), nothing after.
 */
static int
parse_header(const char *h, const char *name, struct p11_cache_entry *e,
    size_t *blen, char sha[65])
{
	size_t nl = strlen(name), tl;
	unsigned long long v;
	const char *sp;

	if (strncmp(h, name, nl) != 0 || h[nl] != ' ')
		return SN_ERR_INVALID;
	h += nl + 1;
	if (get_decimal(&h, INT64_MAX, &v) != 0)
		return SN_ERR_INVALID;
	e->fetched = (int64_t)v;
	if ((sp = strchr(h, ' ')) == NULL || (tl = (size_t)(sp - h)) == 0 ||
	    tl > P11_ETAG_MAX)
		return SN_ERR_INVALID;
	memcpy(e->etag, h, tl);
	e->etag[tl] = '\0';
	if (strcmp(e->etag, NO_ETAG) == 0)
		e->etag[0] = '\0';
	else if (!p11_etag_valid(e->etag))
		return SN_ERR_INVALID;
	h = sp + 1;
	if (get_decimal(&h, CACHE_MAX, &v) != 0)
		return SN_ERR_INVALID;
	*blen = (size_t)v;
	if (strlen(h) != 64 || strspn(h, "0123456789abcdef") != 64)
		return SN_ERR_INVALID;
	memcpy(sha, h, 65);
	return 0;
}

void
p11_cache_entry_clear(struct p11_cache_entry *e)
{
	json_decref(e->keys);
	free(e->body);
	p11_token_free(e->token);
	memset(e, 0, sizeof(*e));
}

/* Opens the entry's file if it is one we may trust: 0 or SN_ERR_*. */
static int
open_own(const char *path, int *fd, struct stat *st)
{
	if ((*fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK)) < 0)
		return errno == ENOENT ? SN_ERR_NOT_FOUND : SN_ERR_INVALID;
	if (fstat(*fd, st) != 0 || !S_ISREG(st->st_mode) ||
	    st->st_uid != geteuid() || (st->st_mode & 077) != 0 ||
	    st->st_size <= 0 || (uint64_t)st->st_size > CACHE_MAX)
		return SN_ERR_INVALID;
	return 0;
}

int
p11_cache_load(const char *name, struct p11_cache_entry *e)
{
	char path[PATH_MAX], sha[65], got[65], *text = NULL, *nl;
	uint8_t md[SHA256_DIGEST_LENGTH];
	struct p11_token *scratch = NULL;
	struct stat st;
	json_t *body = NULL;
	int64_t now = (int64_t)time(NULL);
	size_t blen, hlen, skipped;
	int fd = -1, r;

	memset(e, 0, sizeof(*e));
	if (name == NULL || name[0] == '\0')
		return SN_ERR_NOT_FOUND;
	if ((r = cache_path(name, path, sizeof(path))) != 0)
		return r;
	if ((r = open_own(path, &fd, &st)) != 0 ||
	    (r = read_all(fd, (size_t)st.st_size, &text)) != 0)
		goto out;
	r = SN_ERR_INVALID;
	/* another version (1: no ETag) is a miss, rewritten by the caller */
	if (strncmp(text, CACHE_MAGIC, strlen(CACHE_MAGIC)) != 0 ||
	    (nl = memchr(text, '\n', (size_t)st.st_size < CACHE_HDR_MAX ?
	    (size_t)st.st_size : CACHE_HDR_MAX)) == NULL)
		goto out;
	*nl = '\0';
	hlen = (size_t)(nl - text) + 1;
	if (parse_header(text + strlen(CACHE_MAGIC), name, e, &blen,
	    sha) != 0 || blen != (size_t)st.st_size - hlen)
		goto out;
	/* from a clock that went back: its age means nothing */
	if (e->fetched > now)
		goto out;
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
	/* the body text stays, so a refresh rewrites the same bytes */
	memmove(text, nl + 1, blen);
	text[blen] = '\0';
	e->body = text;
	e->blen = blen;
	text = NULL;
	e->keys = body;
	body = NULL;
	/* the check's token is the one the caller needs: kept, not rebuilt */
	e->token = scratch;
	scratch = NULL;
	r = 0;
 out:
	if (r != 0) {
		free(e->body);
		memset(e, 0, sizeof(*e));
	}
	p11_token_free(scratch);
	json_decref(body);
	free(text);
	if (fd >= 0)
		close(fd);
	return r;
}

/*
 * Writes header + body to a mkstemp file beside path and renames it over
 * path: 0 or SN_ERR_*.
 */
static int
write_file(const char *path, const char *hdr, size_t hn, const char *body,
    size_t blen)
{
	char tmp[PATH_MAX + 16];
	size_t off;
	ssize_t n;
	int fd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >=
	    sizeof(tmp))
		return SN_ERR_TOO_LARGE;
	/* mkstemp: O_EXCL, 0600 */
	if ((fd = mkstemp(tmp)) < 0)
		return SN_ERR_IO;
	for (off = 0; off < hn; off += (size_t)n)
		if ((n = write(fd, hdr + off, hn - off)) <= 0)
			goto fail;
	for (off = 0; off < blen; off += (size_t)n)
		if ((n = write(fd, body + off, blen - off)) <= 0)
			goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto fail;
	return 0;
 fail:
	if (fd >= 0)
		close(fd);
	(void)unlink(tmp);
	return SN_ERR_IO;
}

/* The entry's file for body (blen bytes) with etag, fetched now. */
static int
write_entry(const char *name, const char *etag, const char *body,
    size_t blen)
{
	char path[PATH_MAX], hdr[CACHE_HDR_MAX], sha[65];
	uint8_t md[SHA256_DIGEST_LENGTH];
	int r, hn;

	if (name == NULL || name[0] == '\0')
		return SN_ERR_INVALID;
	if (blen > CACHE_MAX - CACHE_HDR_MAX)
		return SN_ERR_TOO_LARGE;
	if ((r = cache_path(name, path, sizeof(path))) != 0)
		return r;
	/* a validator we would not read back is none */
	if (etag == NULL || !p11_etag_valid(etag))
		etag = NO_ETAG;
	SHA256((const unsigned char *)body, blen, md);
	hex(md, sizeof(md), sha);
	hn = snprintf(hdr, sizeof(hdr), CACHE_MAGIC "%s %" PRId64 " %s %zu %s\n",
	    name, (int64_t)time(NULL), etag, blen, sha);
	if (hn < 0 || (size_t)hn >= sizeof(hdr))
		return SN_ERR_TOO_LARGE;
	return write_file(path, hdr, (size_t)hn, body, blen);
}

int
p11_cache_store(const char *name, json_t *keys, const char *etag)
{
	char *body;
	int r;

	if ((body = json_dumps(keys, JSON_COMPACT)) == NULL)
		return SN_ERR_NOMEM;
	r = write_entry(name, etag, body, strlen(body));
	free(body);
	return r;
}

int
p11_cache_touch(const char *name, const struct p11_cache_entry *e)
{
	if (e->body == NULL)
		return SN_ERR_INVALID;
	return write_entry(name, e->etag, e->body, e->blen);
}

void
p11_cache_drop(const char *name)
{
	char path[PATH_MAX];

	if (name != NULL && name[0] != '\0' &&
	    cache_path(name, path, sizeof(path)) == 0)
		(void)unlink(path);
}
