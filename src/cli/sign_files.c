/*
 * sign_files.c - collecting and hashing the files of one `signet sign`.
 *
 * Only digests leave the machine, so hashing is the local work; it runs in
 * `jobs` threads, each taking the next file (one file per thread at a
 * time, a 64 KiB buffer each). Directory walks do not follow symbolic
 * links (FTW_PHYS) and take regular files only, sorted, so the same tree
 * gives the same order and the same signature names every time.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "sign_files.h"

int
sign_hash_path(const char *path, enum sn_hash hash, uint8_t *out,
    size_t *outlen)
{
	uint8_t *buf = NULL;
	EVP_MD_CTX *ctx = NULL;
	unsigned int len = 0;
	ssize_t n;
	int fd, e = EIO;

	*outlen = 0;
	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno;
	if ((buf = malloc(64 * 1024)) == NULL) {
		e = ENOMEM;
		goto out;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, sn_hash_md(hash), NULL) != 1)
		goto out;
	for (;;) {
		n = read(fd, buf, 64 * 1024);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = errno;	/* EISDIR for a directory */
			goto out;
		}
		if (n == 0)
			break;
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
			goto out;
	}
	if (EVP_DigestFinal_ex(ctx, out, &len) != 1)
		goto out;
	*outlen = len;
	e = 0;
 out:
	EVP_MD_CTX_free(ctx);
	free(buf);
	if (fd != STDIN_FILENO)
		close(fd);
	return e;
}

static int
add_item(struct sign_files *f, const char *path, const char *out)
{
	struct sign_item *n;

	if (f->n >= SIGN_FILES_MAX)
		return SN_ERR_TOO_LARGE;
	if (f->n == f->cap) {
		size_t ncap = f->cap ? f->cap * 2 : 64;

		if ((n = reallocarray(f->items, ncap, sizeof(*n))) == NULL)
			return SN_ERR_NOMEM;
		f->items = n;
		f->cap = ncap;
	}
	n = &f->items[f->n];
	memset(n, 0, sizeof(*n));
	if ((n->path = strdup(path)) == NULL ||
	    (n->out = strdup(out)) == NULL) {
		free(n->path);
		return SN_ERR_NOMEM;
	}
	f->n++;
	return 0;
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t l = strlen(s), m = strlen(suffix);

	return m > 0 && l >= m && strcmp(s + l - m, suffix) == 0;
}

/* One --in file: <out_dir>/<base><suffix>, or <path><suffix>. */
static int
out_name(const char *rel, const char *path, const char *out_dir,
    const char *suffix, char *buf, size_t len)
{
	int n;

	if (out_dir != NULL)
		n = snprintf(buf, len, "%s/%s%s", out_dir, rel, suffix);
	else
		n = snprintf(buf, len, "%s%s", path, suffix);
	return n < 0 || (size_t)n >= len ? SN_ERR_TOO_LARGE : 0;
}

/* nftw has no user argument: the walk in progress (one at a time). */
static struct {
	char **paths;
	size_t n, cap;
	int recursive;
	size_t rootlen;
	int err;
} walk;

static int
walk_cb(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	char **np;

	(void)sb;
	if (type == FTW_D && ftw->level > 0 && !walk.recursive)
		return FTW_SKIP_SUBTREE;
	if (type == FTW_DNR || type == FTW_NS) {
		walk.err = errno != 0 ? errno : EACCES;
		return FTW_STOP;
	}
	if (type != FTW_F)
		return FTW_CONTINUE;	/* directories, symbolic links */
	if (walk.n >= SIGN_FILES_MAX) {
		walk.err = E2BIG;
		return FTW_STOP;
	}
	if (walk.n == walk.cap) {
		size_t ncap = walk.cap ? walk.cap * 2 : 256;

		if ((np = reallocarray(walk.paths, ncap, sizeof(*np))) ==
		    NULL) {
			walk.err = ENOMEM;
			return FTW_STOP;
		}
		walk.paths = np;
		walk.cap = ncap;
	}
	if ((walk.paths[walk.n] = strdup(path)) == NULL) {
		walk.err = ENOMEM;
		return FTW_STOP;
	}
	walk.n++;
	return FTW_CONTINUE;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
sign_files_add(struct sign_files *f, const char *in, int recursive,
    const char *include, const char *out_dir, const char *suffix,
    char *why, size_t whylen)
{
	struct stat sb;
	char out[4096];
	const char *base, *rel;
	size_t i, rootlen;
	int r = 0;

	if (strcmp(in, "-") == 0)
		return add_item(f, "-", "-");
	if (stat(in, &sb) != 0) {
		snprintf(why, whylen, "%s: %s", in, strerror(errno));
		return SN_ERR_IO;
	}
	if (!S_ISDIR(sb.st_mode)) {
		base = strrchr(in, '/') != NULL ? strrchr(in, '/') + 1 : in;
		if ((r = out_name(base, in, out_dir, suffix, out,
		    sizeof(out))) != 0) {
			snprintf(why, whylen, "%s: name too long", in);
			return r;
		}
		return add_item(f, in, out);
	}
	memset(&walk, 0, sizeof(walk));
	walk.recursive = recursive;
	if (nftw(in, walk_cb, 32, FTW_PHYS | FTW_ACTIONRETVAL) != 0 &&
	    walk.err == 0)
		walk.err = errno != 0 ? errno : EIO;
	if (walk.err != 0) {
		snprintf(why, whylen, "%s: %s", in, walk.err == E2BIG ?
		    "too many files" : strerror(walk.err));
		r = walk.err == E2BIG ? SN_ERR_TOO_LARGE : SN_ERR_IO;
		goto out;
	}
	qsort(walk.paths, walk.n, sizeof(*walk.paths), cmp_str);
	rootlen = strlen(in);
	while (rootlen > 1 && in[rootlen - 1] == '/')
		rootlen--;
	for (i = 0; i < walk.n; i++) {
		const char *p = walk.paths[i];

		rel = p + rootlen + (p[rootlen] == '/');
		base = strrchr(p, '/') != NULL ? strrchr(p, '/') + 1 : p;
		/* Earlier signatures in the tree are not signed again. */
		if (ends_with(p, suffix))
			continue;
		if (include != NULL && fnmatch(include,
		    strchr(include, '/') != NULL ? rel : base, 0) != 0)
			continue;
		if ((r = out_name(rel, p, out_dir, suffix, out,
		    sizeof(out))) != 0) {
			snprintf(why, whylen, "%s: name too long", p);
			goto out;
		}
		if ((r = add_item(f, p, out)) != 0) {
			snprintf(why, whylen, "%s", r == SN_ERR_TOO_LARGE ?
			    "too many files" : "out of memory");
			goto out;
		}
	}
	r = 0;
 out:
	for (i = 0; i < walk.n; i++)
		free(walk.paths[i]);
	free(walk.paths);
	memset(&walk, 0, sizeof(walk));
	return r;
}

struct hash_job {
	struct sign_files *f;
	enum sn_hash hash;
	pthread_mutex_t lock;
	size_t next;
	size_t failed;
};

static void *
hash_worker(void *arg)
{
	struct hash_job *j = arg;
	struct sign_item *it;
	size_t i;

	for (;;) {
		pthread_mutex_lock(&j->lock);
		i = j->next++;
		pthread_mutex_unlock(&j->lock);
		if (i >= j->f->n)
			break;
		it = &j->f->items[i];
		if ((it->err = sign_hash_path(it->path, j->hash, it->digest,
		    &it->dlen)) != 0) {
			pthread_mutex_lock(&j->lock);
			j->failed++;
			pthread_mutex_unlock(&j->lock);
		}
	}
	return NULL;
}

size_t
sign_files_hash(struct sign_files *f, enum sn_hash hash, int jobs)
{
	struct hash_job j;
	pthread_t th[64];
	int n = 0;

	memset(&j, 0, sizeof(j));
	j.f = f;
	j.hash = hash;
	pthread_mutex_init(&j.lock, NULL);
	if (jobs < 1)
		jobs = 1;
	if (jobs > 64)
		jobs = 64;
	if ((size_t)jobs > f->n)
		jobs = (int)f->n;
	/* Standard input cannot be shared: one thread then. */
	if (f->n == 1)
		jobs = 1;
	for (n = 1; n < jobs; n++) {
		if (pthread_create(&th[n], NULL, hash_worker, &j) != 0)
			break;
	}
	hash_worker(&j);	/* this thread works too */
	for (int i = 1; i < n; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&j.lock);
	return j.failed;
}

void
sign_files_free(struct sign_files *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->items[i].path);
		free(f->items[i].out);
	}
	free(f->items);
	memset(f, 0, sizeof(*f));
}
