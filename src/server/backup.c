/*
 * backup.c - `signetd backup` and `signetd restore` for the embedded
 * default: the SQLite database, the SoftHSM2 token, signetd.conf and the
 * TLS material of one data directory in one archive (archive.h), and back.
 *
 * backup takes a consistent snapshot of the database while signetd serves
 * (store_snapshot.h), then copies the token, each object file under the
 * same fcntl read lock SoftHSM2 takes, so no half-written object is copied.
 * The order matters: database first, token second, so every key the
 * snapshot names is on the copied token (a key created in between is an
 * unused extra object, never a missing one).
 *
 * The archive is as secret as the data directory (the TLS keys, the
 * metrics_token, the token's objects encrypted under its PIN): it is
 * created 0600 with O_EXCL and removed again if anything fails. The token
 * PIN is left out unless --with-pin: kept apart, a stolen archive is of no
 * use without it (docs/OPERATIONS.md says where to keep it).
 *
 * restore reads the archive twice: once to check every header, size and
 * SHA-256 against the manifest (the last entry) before anything is written,
 * then to extract into a new directory beside NEWDIR that is renamed into
 * place only when complete. A garbage or truncated archive leaves nothing
 * behind. Paths in signetd.conf and softhsm2.conf that named the old data
 * directory are rewritten to the new one.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <jansson.h>

#include "archive.h"
#include "backup.h"
#include "config.h"
#include "encode.h"
#include "err.h"
#include "server.h"
#include "store_snapshot.h"
#include "util.h"

#define MANIFEST_NAME		"signet-backup.json"
#define MANIFEST_FORMAT		"signet-backup"
#define MANIFEST_VERSION	1
#define MANIFEST_MAX		(16 * 1024 * 1024)
#define MAX_FILES		200000
#define CONF_MAX		(1024 * 1024)

struct bk_file {
	char *name;
	uint64_t size;
	char sha[65];
};

struct bk_list {
	struct bk_file *v;
	size_t n, cap;
};

static void
list_free(struct bk_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int
list_add(struct bk_list *l, const char *name, uint64_t size,
    const uint8_t sha[32])
{
	struct bk_file *nv;
	char *hex = NULL;
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].name, name) == 0)
			return SN_ERR_CONFLICT;
	if (l->n >= MAX_FILES)
		return SN_ERR_TOO_LARGE;
	if (l->n == l->cap) {
		size_t ncap = l->cap == 0 ? 64 : l->cap * 2;

		if ((nv = reallocarray(l->v, ncap, sizeof(*nv))) == NULL)
			return SN_ERR_NOMEM;
		l->v = nv;
		l->cap = ncap;
	}
	if (sn_hex_encode(sha, 32, &hex) != 0)
		return SN_ERR_NOMEM;
	if ((l->v[l->n].name = strdup(name)) == NULL) {
		free(hex);
		return SN_ERR_NOMEM;
	}
	l->v[l->n].size = size;
	snprintf(l->v[l->n].sha, sizeof(l->v[l->n].sha), "%s", hex);
	free(hex);
	l->n++;
	return 0;
}

static const struct bk_file *
list_find(const struct bk_list *l, const char *name)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].name, name) == 0)
			return &l->v[i];
	return NULL;
}

/* "DIR/rest" -> "rest" when path lies inside dir, else NULL. */
static const char *
inside(const char *dir, const char *path)
{
	size_t n = strlen(dir);

	if (path == NULL || strncmp(path, dir, n) != 0 || path[n] != '/' ||
	    path[n + 1] == '\0')
		return NULL;
	return path + n + 1;
}

/* ---- signetd backup ---- */

struct bk_ctx {
	int fd;				/* the archive */
	const char *dir;		/* absolute data directory */
	struct bk_list files;
	int with_pin;
	const char *pin_rel;		/* the PIN file, relative to dir */
	size_t ntoken;			/* token files copied */
	uint64_t bytes;
};

/*
 * Adds DIR/rel as rel. The file is read under an fcntl read lock (the lock
 * SoftHSM2 takes to write an object file), its size taken after locking.
 * missing_ok: a file that vanished meanwhile (a destroyed key) is skipped.
 */
static int
add_file(struct bk_ctx *b, const char *src, const char *rel, int missing_ok)
{
	struct flock fl;
	struct stat st;
	uint8_t sha[32];
	int sfd, r;

	if ((sfd = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		if (errno == ENOENT && missing_ok)
			return 0;
		fprintf(stderr, "signetd: backup: cannot read %s: %s\n", src,
		    strerror(errno));
		return SN_ERR_IO;
	}
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_RDLCK;
	fl.l_whence = SEEK_SET;
	while (fcntl(sfd, F_SETLKW, &fl) != 0 && errno == EINTR)
		;
	if (fstat(sfd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(sfd);
		fprintf(stderr, "signetd: backup: %s is not a regular file\n",
		    src);
		return SN_ERR_IO;
	}
	r = archive_put_fd(b->fd, rel, st.st_mode & 0644,
	    (int64_t)st.st_mtime, sfd, (uint64_t)st.st_size, sha);
	close(sfd);			/* drops the lock */
	if (r != 0) {
		fprintf(stderr, "signetd: backup: cannot archive %s: %s\n", src,
		    sn_strerror(r));
		return r;
	}
	b->bytes += (uint64_t)st.st_size;
	return list_add(&b->files, rel, (uint64_t)st.st_size, sha);
}

/* Every regular file under DIR/rel, recursively (the PIN only if asked). */
static int
add_tree(struct bk_ctx *b, const char *rel, int is_token)
{
	char src[PATH_MAX], sub[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int r = 0;

	if (snprintf(src, sizeof(src), "%s/%s", b->dir, rel) >=
	    (int)sizeof(src))
		return SN_ERR_INVALID;
	if ((d = opendir(src)) == NULL)
		return errno == ENOENT ? 0 : SN_ERR_IO;
	while (r == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", rel, de->d_name) >=
		    (int)sizeof(sub) ||
		    snprintf(src, sizeof(src), "%s/%s", b->dir, sub) >=
		    (int)sizeof(src)) {
			r = SN_ERR_INVALID;
			break;
		}
		if (lstat(src, &st) != 0) {
			if (errno == ENOENT)
				continue;	/* destroyed meanwhile */
			r = SN_ERR_IO;
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			r = add_tree(b, sub, is_token ||
			    strcmp(sub, "hsm/tokens") == 0);
			continue;
		}
		if (!S_ISREG(st.st_mode))
			continue;	/* sockets, symlinks: not ours */
		if (b->pin_rel != NULL && strcmp(sub, b->pin_rel) == 0 &&
		    !b->with_pin)
			continue;
		if (!archive_name_ok(sub)) {
			fprintf(stderr, "signetd: backup: cannot archive %s: "
			    "unexpected file name\n", src);
			r = SN_ERR_INVALID;
			break;
		}
		if ((r = add_file(b, src, sub, 1)) == 0 && is_token)
			b->ntoken++;
	}
	closedir(d);
	return r;
}

static int
write_manifest(struct bk_ctx *b, const struct sn_config *cfg, int sqlite,
    int softhsm)
{
	json_t *m = NULL, *files;
	char *text = NULL;
	size_t i;
	int r = SN_ERR_NOMEM;

	if ((m = json_pack("{s:s,s:i,s:s,s:I,s:s,s:s,s:s,s:b,s:[]}",
	    "format", MANIFEST_FORMAT, "version", MANIFEST_VERSION,
	    "signet_version", SIGNET_VERSION,
	    "created_at", (json_int_t)sn_now(),
	    "source_data_dir", b->dir,
	    "database", sqlite ? "sqlite" : "external",
	    "hsm", softhsm ? "softhsm2" : "external",
	    "pin_included", b->with_pin && softhsm,
	    "files")) == NULL)
		goto out;
	(void)cfg;
	files = json_object_get(m, "files");
	for (i = 0; i < b->files.n; i++)
		if (json_array_append_new(files, json_pack("{s:s,s:I,s:s}",
		    "path", b->files.v[i].name,
		    "size", (json_int_t)b->files.v[i].size,
		    "sha256", b->files.v[i].sha)) != 0)
			goto out;
	if ((text = json_dumps(m, JSON_INDENT(1) | JSON_SORT_KEYS)) == NULL)
		goto out;
	r = archive_put_mem(b->fd, MANIFEST_NAME, 0644, sn_now(), text,
	    strlen(text), NULL);
 out:
	free(text);
	json_decref(m);
	return r;
}

static void
backup_usage(FILE *f)
{
	fprintf(f, "usage: signetd backup --data-dir DIR --out FILE "
	    "[--with-pin]\n");
}

int
backup_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data-dir", required_argument, NULL, 'd' },
		{ "out", required_argument, NULL, 'o' },
		{ "with-pin", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sn_config cfg;
	struct bk_ctx b;
	const char *dir = NULL, *out = NULL;
	char absdir[PATH_MAX], snap[PATH_MAX + 32], path[PATH_MAX + 64];
	int ch, r, rc = 1, sqlite, softhsm, created = 0, sfd;

	memset(&cfg, 0, sizeof(cfg));
	memset(&b, 0, sizeof(b));
	b.fd = -1;
	snap[0] = '\0';
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': dir = optarg; break;
		case 'o': out = optarg; break;
		case 'p': b.with_pin = 1; break;
		case 'h': backup_usage(stdout); return 0;
		default: backup_usage(stderr); return 2;
		}
	}
	if (optind != argc || dir == NULL || out == NULL) {
		fprintf(stderr, "signetd: backup: --data-dir and --out are "
		    "required\n");
		backup_usage(stderr);
		return 2;
	}
	if (realpath(dir, absdir) == NULL) {
		fprintf(stderr, "signetd: backup: %s: %s\n", dir,
		    strerror(errno));
		return 1;
	}
	b.dir = absdir;
	if (server_config_load(&cfg, absdir) != 0)
		goto out;
	sqlite = store_url_is_sqlite(cfg.db_url);
	softhsm = cfg.softhsm_conf != NULL && *cfg.softhsm_conf != '\0';
	if (softhsm && inside(absdir, cfg.softhsm_conf) == NULL) {
		fprintf(stderr, "signetd: backup: softhsm_conf %s is outside "
		    "%s: back its token up yourself\n", cfg.softhsm_conf,
		    absdir);
		softhsm = 0;
	}
	b.pin_rel = inside(absdir, cfg.pin_file);
	if (b.with_pin && !softhsm) {
		fprintf(stderr, "signetd: backup: --with-pin is for the "
		    "SoftHSM2 token; a vendor HSM's PIN stays with the HSM\n");
		rc = 2;
		goto out;
	}
	if ((b.fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) < 0) {
		fprintf(stderr, "signetd: backup: cannot create %s: %s%s\n", out,
		    strerror(errno), errno == EEXIST ? " (refusing to "
		    "overwrite)" : "");
		goto out;
	}
	created = 1;
	/* 1. the database, as of one commit */
	if (sqlite) {
		snprintf(snap, sizeof(snap), "%s.db-XXXXXX", out);
		if ((sfd = mkstemp(snap)) < 0) {
			fprintf(stderr, "signetd: backup: cannot create a "
			    "temporary file beside %s: %s\n", out,
			    strerror(errno));
			snap[0] = '\0';
			goto out;
		}
		close(sfd);
		if ((r = store_snapshot_sqlite(cfg.db_url, snap)) != 0) {
			fprintf(stderr, "signetd: backup: cannot snapshot the "
			    "database: %s\n", sn_strerror(r));
			goto out;
		}
		if (add_file(&b, snap, "signet.db", 0) != 0)
			goto out;
		unlink(snap);
		snprintf(path, sizeof(path), "%s-journal", snap);
		unlink(path);
		snap[0] = '\0';
	}
	/* 2. the configuration and TLS material */
	snprintf(path, sizeof(path), "%s/%s", absdir, SN_CONFIG_FILE);
	if (add_file(&b, path, SN_CONFIG_FILE, 0) != 0)
		goto out;
	snprintf(path, sizeof(path), "%s/server-ca.pem", absdir);
	if (add_file(&b, path, "server-ca.pem", 1) != 0 ||
	    add_tree(&b, "tls", 0) != 0)
		goto out;
	if (inside(absdir, cfg.tls_cert) == NULL ||
	    inside(absdir, cfg.tls_key) == NULL)
		fprintf(stderr, "signetd: backup: note: the TLS certificate "
		    "or key (%s, %s) is outside %s and not in the archive\n",
		    cfg.tls_cert, cfg.tls_key, absdir);
	/* 3. the token, after the database */
	if (softhsm && add_tree(&b, "hsm", 0) != 0)
		goto out;
	if (write_manifest(&b, &cfg, sqlite, softhsm) != 0 ||
	    archive_finish(b.fd) != 0 || fsync(b.fd) != 0) {
		fprintf(stderr, "signetd: backup: cannot write %s: %s\n", out,
		    strerror(errno));
		goto out;
	}
	r = close(b.fd);
	b.fd = -1;
	if (r != 0) {
		fprintf(stderr, "signetd: backup: cannot write %s: %s\n", out,
		    strerror(errno));
		goto out;
	}
	printf("backup: %s (%zu files, %llu bytes)\n", out, b.files.n,
	    (unsigned long long)b.bytes);
	printf("  database: %s\n", sqlite ? "SQLite snapshot" :
	    "not included (PostgreSQL: pg_dump it, docs/OPERATIONS.md)");
	if (softhsm) {
		printf("  token:    SoftHSM2, %zu files\n", b.ntoken);
		if (b.with_pin)
			printf("  PIN:      included (the archive alone "
			    "unlocks every key: guard it as the keys)\n");
		else
			printf("  PIN:      NOT included: keep a copy of %s "
			    "apart; restore needs it (--pin-file)\n",
			    cfg.pin_file);
	} else
		printf("  token:    not included (a vendor HSM: use its own "
		    "backup)\n");
	rc = 0;
 out:
	if (b.fd >= 0)
		close(b.fd);
	if (rc != 0 && created)
		unlink(out);
	if (snap[0] != '\0') {
		unlink(snap);
		snprintf(path, sizeof(path), "%s-journal", snap);
		unlink(path);
	}
	list_free(&b.files);
	server_config_free(&cfg);
	return rc;
}

/* ---- signetd restore ---- */

struct rs_manifest {
	json_t *root;
	const char *source_dir;
	int sqlite;			/* "database": "sqlite" */
	int softhsm;			/* "hsm": "softhsm2" */
	int pin_included;
};

/* Pass 1: every header and hash; the manifest must agree with them all. */
static int
verify_archive(int fd, struct bk_list *seen, struct rs_manifest *m)
{
	struct archive_entry e;
	json_error_t jerr;
	json_t *files, *f;
	const struct bk_file *bf;
	char *text = NULL;
	uint8_t sha[32];
	const char *s;
	size_t i;
	json_int_t size;
	int r, have_manifest = 0;

	memset(m, 0, sizeof(*m));
	while ((r = archive_next(fd, &e)) == 1) {
		if (have_manifest) {
			r = SN_ERR_INVALID;	/* the manifest comes last */
			goto out;
		}
		if (strcmp(e.name, MANIFEST_NAME) == 0) {
			if ((r = archive_read_data(fd, &e, -1, &text,
			    MANIFEST_MAX, NULL)) != 0)
				goto out;
			have_manifest = 1;
			continue;
		}
		if ((r = archive_read_data(fd, &e, -1, NULL, 0, sha)) != 0 ||
		    (r = list_add(seen, e.name, e.size, sha)) != 0) {
			r = r == SN_ERR_CONFLICT ? SN_ERR_INVALID : r;
			goto out;
		}
	}
	if (r != 0)
		goto out;
	r = SN_ERR_INVALID;
	if (!have_manifest || (m->root = json_loads(text,
	    JSON_REJECT_DUPLICATES, &jerr)) == NULL ||
	    json_unpack(m->root, "{s:s}", "format", &s) != 0 ||
	    strcmp(s, MANIFEST_FORMAT) != 0 ||
	    json_integer_value(json_object_get(m->root, "version")) !=
	    MANIFEST_VERSION ||
	    (m->source_dir = json_string_value(json_object_get(m->root,
	    "source_data_dir"))) == NULL || m->source_dir[0] != '/' ||
	    !json_is_array(files = json_object_get(m->root, "files")) ||
	    json_array_size(files) != seen->n)
		goto out;
	s = json_string_value(json_object_get(m->root, "database"));
	m->sqlite = s != NULL && strcmp(s, "sqlite") == 0;
	s = json_string_value(json_object_get(m->root, "hsm"));
	m->softhsm = s != NULL && strcmp(s, "softhsm2") == 0;
	m->pin_included = json_is_true(json_object_get(m->root,
	    "pin_included"));
	json_array_foreach(files, i, f) {
		if (json_unpack(f, "{s:s,s:I}", "path", &s, "size", &size) != 0 ||
		    (bf = list_find(seen, s)) == NULL ||
		    size < 0 || (uint64_t)size != bf->size ||
		    json_string_value(json_object_get(f, "sha256")) == NULL ||
		    strcmp(json_string_value(json_object_get(f, "sha256")),
		    bf->sha) != 0)
			goto out;
	}
	if (list_find(seen, SN_CONFIG_FILE) == NULL ||
	    (m->sqlite && list_find(seen, "signet.db") == NULL) ||
	    (m->softhsm && list_find(seen, "hsm/softhsm2.conf") == NULL) ||
	    (m->pin_included && list_find(seen, "hsm/pin") == NULL))
		goto out;
	r = 0;
 out:
	if (text != NULL)
		sn_strfreezero(text);
	return r;
}

static int
mkdirs(const char *root, const char *rel)
{
	char path[PATH_MAX];
	size_t i, n;

	n = (size_t)snprintf(path, sizeof(path), "%s/%s", root, rel);
	if (n >= sizeof(path))
		return SN_ERR_INVALID;
	for (i = strlen(root) + 1; i < n; i++) {
		if (path[i] != '/')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST)
			return SN_ERR_IO;
		path[i] = '/';
	}
	return 0;
}

/* Pass 2: extracts into tmp, checking each file against pass 1 again. */
static int
extract(int fd, const char *tmp, const struct bk_list *seen)
{
	struct archive_entry e;
	const struct bk_file *bf;
	char path[PATH_MAX], *hex = NULL;
	uint8_t sha[32];
	int r, ofd;

	if (lseek(fd, 0, SEEK_SET) != 0)
		return SN_ERR_IO;
	while ((r = archive_next(fd, &e)) == 1) {
		if (strcmp(e.name, MANIFEST_NAME) == 0) {
			if ((r = archive_read_data(fd, &e, -1, NULL, 0,
			    NULL)) != 0)
				return r;
			continue;
		}
		if ((bf = list_find(seen, e.name)) == NULL ||
		    bf->size != e.size)
			return SN_ERR_INVALID;	/* changed since pass 1 */
		if ((r = mkdirs(tmp, e.name)) != 0)
			return r;
		if (snprintf(path, sizeof(path), "%s/%s", tmp, e.name) >=
		    (int)sizeof(path))
			return SN_ERR_INVALID;
		if ((ofd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, e.mode & 0644)) < 0)
			return SN_ERR_IO;
		r = archive_read_data(fd, &e, ofd, NULL, 0, sha);
		if (r == 0 && fsync(ofd) != 0)
			r = SN_ERR_IO;
		if (close(ofd) != 0 && r == 0)
			r = SN_ERR_IO;
		if (r != 0)
			return r;
		if (sn_hex_encode(sha, 32, &hex) != 0)
			return SN_ERR_NOMEM;
		r = strcmp(hex, bf->sha) == 0 ? 0 : SN_ERR_INVALID;
		free(hex);
		hex = NULL;
		if (r != 0)
			return r;
	}
	return r;
}

/*
 * Rewrites a "key = value" file in place: a value naming the old data
 * directory (or a path under it) now names the new one; with sqlite,
 * db_url names the restored database.
 */
static int
rewrite_paths(const char *path, const char *olddir, const char *newdir,
    int sqlite)
{
	char *buf = NULL, *line, *next, *val, *eq, *outb = NULL;
	size_t len, olen = strlen(olddir), outlen = 0;
	FILE *f = NULL;
	int r;

	if ((r = sn_read_file(path, CONF_MAX, &buf, &len)) != 0)
		return r;
	if ((f = open_memstream(&outb, &outlen)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	for (line = buf; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		eq = strchr(line, '=');
		val = eq != NULL ? eq + 1 : NULL;
		while (val != NULL && (*val == ' ' || *val == '\t'))
			val++;
		if (sqlite && strncmp(line, "db_url", 6) == 0 && eq != NULL &&
		    strspn(line + 6, " \t") == (size_t)(eq - line - 6))
			fprintf(f, "db_url = sqlite:%s/signet.db\n", newdir);
		else if (val != NULL && strncmp(val, olddir, olen) == 0 &&
		    (val[olen] == '/' || val[olen] == '\0'))
			fprintf(f, "%.*s%s%s\n", (int)(val - line), line, newdir,
			    val + olen);
		else
			fprintf(f, "%s\n", line);
	}
	if (fclose(f) != 0) {
		f = NULL;
		r = SN_ERR_NOMEM;
		goto out;
	}
	f = NULL;
	r = sn_write_file(path, outb, outlen, 0600);
 out:
	if (f != NULL)
		fclose(f);
	if (outb != NULL)
		sn_freezero(outb, outlen);	/* holds the metrics_token */
	sn_freezero(buf, len);
	return r;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* NEWDIR: absent, or an empty directory. 0 = fine. */
static int
target_ok(const char *dir, int *exists)
{
	struct dirent *de;
	DIR *d;
	int empty = 1;

	*exists = 0;
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -1;
	*exists = 1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			empty = 0;
	closedir(d);
	return empty ? 0 : -1;
}

/*
 * NEWDIR -> its absolute path (the parent must exist) and the template of
 * a hidden sibling to extract into. 0 or -1 (errno set).
 */
static int
split_target(const char *dir, char *abs, size_t abslen, char *tmpl,
    size_t tmpllen)
{
	char d[PATH_MAX], parent[PATH_MAX], *slash;
	const char *name;
	size_t n;

	if ((n = strlen(dir)) == 0 || n >= sizeof(d)) {
		errno = EINVAL;
		return -1;
	}
	memcpy(d, dir, n + 1);
	while (n > 1 && d[n - 1] == '/')
		d[--n] = '\0';
	if ((slash = strrchr(d, '/')) == NULL) {
		name = d;
		snprintf(parent, sizeof(parent), ".");
	} else {
		*slash = '\0';
		name = slash + 1;
		snprintf(parent, sizeof(parent), "%s", d[0] != '\0' ? d : "/");
	}
	if (*name == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		errno = EINVAL;
		return -1;
	}
	if (realpath(parent, abs) == NULL)
		return -1;
	n = strlen(abs);
	if (snprintf(tmpl, tmpllen, "%s/.%s.restore-XXXXXX",
	    strcmp(abs, "/") == 0 ? "" : abs, name) >= (int)tmpllen ||
	    snprintf(abs + n, abslen - n, "%s%s", strcmp(abs, "/") == 0 ?
	    "" : "/", name) >= (int)(abslen - n)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static void
restore_usage(FILE *f)
{
	fprintf(f, "usage: signetd restore --in FILE --data-dir NEWDIR "
	    "[--pin-file PATH]\n");
}

int
restore_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "in", required_argument, NULL, 'i' },
		{ "data-dir", required_argument, NULL, 'd' },
		{ "pin-file", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bk_list seen;
	struct rs_manifest m;
	struct sn_config cfg;
	struct stat st;
	const char *in = NULL, *dir = NULL, *pin = NULL;
	char absdir[PATH_MAX], tmp[PATH_MAX];
	char path[PATH_MAX + 64], *pinbuf = NULL;
	size_t pinlen = 0;
	int ch, fd = -1, r, rc = 1, exists;

	memset(&seen, 0, sizeof(seen));
	memset(&m, 0, sizeof(m));
	memset(&cfg, 0, sizeof(cfg));
	tmp[0] = '\0';
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'i': in = optarg; break;
		case 'd': dir = optarg; break;
		case 'p': pin = optarg; break;
		case 'h': restore_usage(stdout); return 0;
		default: restore_usage(stderr); return 2;
		}
	}
	if (optind != argc || in == NULL || dir == NULL) {
		fprintf(stderr, "signetd: restore: --in and --data-dir are "
		    "required\n");
		restore_usage(stderr);
		return 2;
	}
	/* The target first: the cheapest refusal. */
	if (target_ok(dir, &exists) != 0) {
		fprintf(stderr, "signetd: restore: %s exists and is not an "
		    "empty directory; refusing to restore over it\n", dir);
		return 1;
	}
	if ((fd = open(in, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0 ||
	    !S_ISREG(st.st_mode)) {
		fprintf(stderr, "signetd: restore: cannot read %s: %s\n", in,
		    fd < 0 ? strerror(errno) : "not a regular file");
		goto out;
	}
	if ((r = verify_archive(fd, &seen, &m)) != 0) {
		fprintf(stderr, "signetd: restore: %s is not a valid signetd "
		    "backup (%s); nothing was written\n", in,
		    r == SN_ERR_INVALID ? "bad or truncated archive, or it "
		    "does not match its manifest" : sn_strerror(r));
		goto out;
	}
	if (m.softhsm && !m.pin_included && pin == NULL) {
		fprintf(stderr, "signetd: restore: this backup does not hold "
		    "the token PIN: give it with --pin-file (a copy of the old "
		    "DIR/hsm/pin)\n");
		rc = 2;
		goto out;
	}
	if (pin != NULL && (!m.softhsm || m.pin_included)) {
		fprintf(stderr, "signetd: restore: --pin-file: %s\n",
		    m.softhsm ? "the backup holds the PIN already" :
		    "the backup has no SoftHSM2 token");
		rc = 2;
		goto out;
	}
	if (pin != NULL && (sn_read_file(pin, 4096, &pinbuf, &pinlen) != 0 ||
	    pinlen == 0)) {
		fprintf(stderr, "signetd: restore: cannot read the PIN file "
		    "%s\n", pin);
		goto out;
	}
	/* A sibling of NEWDIR (same file system), renamed when complete;
	 * the rewritten paths name NEWDIR's absolute path. */
	if (split_target(dir, absdir, sizeof(absdir), tmp, sizeof(tmp)) != 0 ||
	    mkdtemp(tmp) == NULL) {
		fprintf(stderr, "signetd: restore: cannot create a directory "
		    "beside %s: %s\n", dir, strerror(errno));
		tmp[0] = '\0';
		goto out;
	}
	if ((r = extract(fd, tmp, &seen)) != 0) {
		fprintf(stderr, "signetd: restore: cannot extract %s: %s\n",
		    in, r == SN_ERR_INVALID ? "the archive changed while "
		    "reading it" : sn_strerror(r));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/%s", tmp, SN_CONFIG_FILE);
	if (rewrite_paths(path, m.source_dir, absdir, m.sqlite) != 0)
		goto out_write;
	snprintf(path, sizeof(path), "%s/hsm/softhsm2.conf", tmp);
	if (m.softhsm && rewrite_paths(path, m.source_dir, absdir, 0) != 0)
		goto out_write;
	if (pinbuf != NULL) {
		snprintf(path, sizeof(path), "%s/hsm/pin", tmp);
		if (mkdirs(tmp, "hsm/pin") != 0 ||
		    sn_write_file(path, pinbuf, pinlen, 0600) != 0)
			goto out_write;
	}
	/* the configuration must load as `signetd serve` will read it */
	r = server_config_load(&cfg, tmp);
	server_config_free(&cfg);
	if (r != 0) {
		fprintf(stderr, "signetd: restore: the archived %s does not "
		    "load; nothing was restored\n", SN_CONFIG_FILE);
		goto out;
	}
	if (chmod(tmp, 0700) != 0 || (exists && rmdir(absdir) != 0) ||
	    rename(tmp, absdir) != 0) {
		fprintf(stderr, "signetd: restore: cannot move the restored "
		    "directory to %s: %s\n", dir, strerror(errno));
		goto out;
	}
	tmp[0] = '\0';
	printf("restored %s into %s: %zu files (%s%s)\n", in, absdir, seen.n,
	    m.sqlite ? "database, " : "", m.softhsm ? "SoftHSM2 token, "
	    "configuration, TLS" : "configuration, TLS");
	printf("start it with: signetd serve --data-dir %s\n", absdir);
	rc = 0;
	goto out;
 out_write:
	fprintf(stderr, "signetd: restore: cannot write the restored "
	    "configuration in %s\n", tmp);
 out:
	if (tmp[0] != '\0')
		nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	if (fd >= 0)
		close(fd);
	if (pinbuf != NULL)
		sn_freezero(pinbuf, pinlen);
	json_decref(m.root);
	list_free(&seen);
	return rc;
}
