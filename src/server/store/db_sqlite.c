/*
 * db_sqlite.c - the SQLite backend of db.h.
 *
 * A fixed pool of connections handed out under a mutex + condition variable;
 * each connection is used by one thread at a time. Every connection runs in
 * WAL mode with foreign keys enforced, synchronous=FULL (a commit that
 * returned is on disk: an audit event is durable before a signature leaves
 * the server) and a busy timeout so concurrent writers queue instead of
 * failing. Errors are mapped to SN_ERR_* here and nowhere else; raw SQLite
 * messages go to stderr for the operator, never into an API response.
 *
 * This file must never log bound values: they may be secret hashes.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db.h"
#include "err.h"
#include "schema.sql.h"
#include "store.h"

#define DB_BUSY_TIMEOUT_MS	10000
#define DB_MAX_POOL		256
#define DB_ACQUIRE_TIMEOUT_S	30

struct db_conn {
	struct db *db;
	sqlite3 *h;
	int in_use;
};

struct db {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct db_conn *conns;
	int nconns;
	int nfree;
};

struct db_stmt {
	struct db_conn *c;
	sqlite3_stmt *s;
};

static int
map_err(sqlite3 *h, int rc)
{
	int ext = h != NULL ? sqlite3_extended_errcode(h) : rc;

	switch (ext) {
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return SN_ERR_CONFLICT;
	case SQLITE_CONSTRAINT_CHECK:
	case SQLITE_CONSTRAINT_FOREIGNKEY:
	case SQLITE_CONSTRAINT_NOTNULL:
		return SN_ERR_INVALID;
	case SQLITE_NOMEM:
		return SN_ERR_NOMEM;
	default:
		break;
	}
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return SN_ERR_INVALID;
	if ((rc & 0xff) == SQLITE_NOMEM)
		return SN_ERR_NOMEM;
	if (h != NULL)
		fprintf(stderr, "signetd: database: %s (%d)\n",
		    sqlite3_errmsg(h), ext);
	return SN_ERR_DB;
}

static int
exec_simple(sqlite3 *h, const char *sql)
{
	int rc;

	rc = sqlite3_exec(h, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : map_err(h, rc);
}

static const char *
url_path(const char *url)
{
	if (strncmp(url, "sqlite:", 7) != 0)
		return url;
	url += 7;
	if (strncmp(url, "//", 2) == 0)	/* sqlite:///abs/path */
		url += 2;
	return url;
}

static int
open_one(const char *path, sqlite3 **out)
{
	sqlite3 *h = NULL;
	int rc, r;

	*out = NULL;
	rc = sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
	if (rc != SQLITE_OK) {
		fprintf(stderr, "signetd: cannot open database %s: %s\n", path,
		    h != NULL ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
		r = SN_ERR_DB;
		goto out;
	}
	sqlite3_extended_result_codes(h, 1);
	sqlite3_busy_timeout(h, DB_BUSY_TIMEOUT_MS);
	if ((r = exec_simple(h, "PRAGMA journal_mode=WAL;")) != 0 ||
	    (r = exec_simple(h, "PRAGMA foreign_keys=ON;")) != 0 ||
	    (r = exec_simple(h, "PRAGMA synchronous=FULL;")) != 0)
		goto out;
	*out = h;
	h = NULL;
	r = 0;
 out:
	sqlite3_close(h);
	return r;
}

static int
current_version(sqlite3 *h, int *version)
{
	sqlite3_stmt *s = NULL;
	int rc, r;

	*version = 0;
	rc = sqlite3_prepare_v2(h,
	    "SELECT COALESCE(MAX(version), 0) FROM schema_version", -1, &s, NULL);
	if (rc != SQLITE_OK) {
		r = map_err(h, rc);
		goto out;
	}
	if ((rc = sqlite3_step(s)) != SQLITE_ROW) {
		r = map_err(h, rc);
		goto out;
	}
	*version = sqlite3_column_int(s, 0);
	r = 0;
 out:
	sqlite3_finalize(s);
	return r;
}

/*
 * Applies every migration newer than the recorded version, each in its own
 * IMMEDIATE transaction so two processes opening a fresh database at once
 * cannot both apply one.
 */
static int
migrate(sqlite3 *h)
{
	char ins[96];
	int version, r, i;

	if ((r = exec_simple(h, "CREATE TABLE IF NOT EXISTS schema_version ("
	    " version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL);")) != 0)
		return r;
	for (i = 0; i < SIGNET_SCHEMA_VERSION; i++) {
		if ((r = exec_simple(h, "BEGIN IMMEDIATE;")) != 0)
			return r;
		if ((r = current_version(h, &version)) != 0)
			goto fail;
		if (version > SIGNET_SCHEMA_VERSION) {
			fprintf(stderr, "signetd: database schema version %d is "
			    "newer than this signetd (%d)\n", version,
			    SIGNET_SCHEMA_VERSION);
			r = SN_ERR_DB;
			goto fail;
		}
		if (version > i) {
			exec_simple(h, "ROLLBACK;");
			continue;
		}
		if ((r = exec_simple(h, signet_migrations[i])) != 0)
			goto fail;
		snprintf(ins, sizeof(ins), "INSERT INTO schema_version "
		    "(version, applied_at) VALUES (%d, strftime('%%s','now'));",
		    i + 1);
		if ((r = exec_simple(h, ins)) != 0 ||
		    (r = exec_simple(h, "COMMIT;")) != 0)
			goto fail;
	}
	return 0;
 fail:
	exec_simple(h, "ROLLBACK;");
	return r;
}

int
db_schema_version(struct db *db, int *version)
{
	struct db_conn *c = NULL;
	int r;

	*version = 0;
	if ((r = db_acquire(db, &c)) != 0)
		return r;
	r = current_version(c->h, version);
	db_release(c);
	return r;
}

int
db_open(const char *url, int pool_size, struct db **out)
{
	struct db *db = NULL;
	const char *path;
	int r, fd, i;

	*out = NULL;
	if (url == NULL || pool_size < 1 || pool_size > DB_MAX_POOL)
		return SN_ERR_INVALID;
	path = url_path(url);
	if (*path == '\0')
		return SN_ERR_INVALID;
	/* Create the file ourselves so it is never world-readable. */
	if (strcmp(path, ":memory:") != 0) {
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0) {
			fprintf(stderr, "signetd: cannot open database %s: %s\n",
			    path, strerror(errno));
			return SN_ERR_IO;
		}
		close(fd);
	} else if (pool_size != 1)
		return SN_ERR_INVALID;	/* each connection would be its own db */
	if ((db = calloc(1, sizeof(*db))) == NULL)
		return SN_ERR_NOMEM;
	pthread_mutex_init(&db->mu, NULL);
	pthread_cond_init(&db->cv, NULL);
	if ((db->conns = calloc((size_t)pool_size, sizeof(*db->conns))) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < pool_size; i++) {
		db->conns[i].db = db;
		if ((r = open_one(path, &db->conns[i].h)) != 0)
			goto out;
		db->nconns++;
		if (i == 0 && (r = migrate(db->conns[0].h)) != 0)
			goto out;
	}
	db->nfree = db->nconns;
	*out = db;
	db = NULL;
	r = 0;
 out:
	db_close(db);
	return r;
}

void
db_close(struct db *db)
{
	int i;

	if (db == NULL)
		return;
	for (i = 0; db->conns != NULL && i < db->nconns; i++)
		sqlite3_close_v2(db->conns[i].h);
	free(db->conns);
	pthread_cond_destroy(&db->cv);
	pthread_mutex_destroy(&db->mu);
	free(db);
}

int
db_acquire(struct db *db, struct db_conn **out)
{
	struct timespec deadline;
	int i;

	*out = NULL;
	if (db == NULL)
		return SN_ERR_INVALID;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += DB_ACQUIRE_TIMEOUT_S;
	pthread_mutex_lock(&db->mu);
	while (db->nfree == 0) {
		/* Never hang forever: a handler that holds a connection while
		 * waiting for a second one must fail, not deadlock the pool. */
		if (pthread_cond_timedwait(&db->cv, &db->mu, &deadline) ==
		    ETIMEDOUT && db->nfree == 0) {
			pthread_mutex_unlock(&db->mu);
			fprintf(stderr, "signetd: database pool exhausted\n");
			return SN_ERR_UNAVAILABLE;
		}
	}
	for (i = 0; i < db->nconns; i++) {
		if (!db->conns[i].in_use) {
			db->conns[i].in_use = 1;
			db->nfree--;
			*out = &db->conns[i];
			break;
		}
	}
	pthread_mutex_unlock(&db->mu);
	return *out != NULL ? 0 : SN_ERR_INTERNAL;
}

void
db_release(struct db_conn *c)
{
	struct db *db;
	sqlite3_stmt *s;

	if (c == NULL)
		return;
	db = c->db;
	/* A handler that leaked a statement must not keep a read snapshot. */
	while ((s = sqlite3_next_stmt(c->h, NULL)) != NULL)
		sqlite3_finalize(s);
	if (!sqlite3_get_autocommit(c->h))
		exec_simple(c->h, "ROLLBACK;");
	pthread_mutex_lock(&db->mu);
	c->in_use = 0;
	db->nfree++;
	pthread_cond_signal(&db->cv);
	pthread_mutex_unlock(&db->mu);
}

int
db_begin(struct db_conn *c)
{
	if (!sqlite3_get_autocommit(c->h))
		return SN_ERR_INTERNAL;		/* no nested transactions */
	return exec_simple(c->h, "BEGIN IMMEDIATE;");
}

int
db_commit(struct db_conn *c)
{
	int r;

	if (sqlite3_get_autocommit(c->h))
		return SN_ERR_INTERNAL;
	if ((r = exec_simple(c->h, "COMMIT;")) != 0) {
		if (!sqlite3_get_autocommit(c->h))
			exec_simple(c->h, "ROLLBACK;");
	}
	return r;
}

int
db_rollback(struct db_conn *c)
{
	if (sqlite3_get_autocommit(c->h))
		return 0;
	return exec_simple(c->h, "ROLLBACK;");
}

int
db_in_transaction(struct db_conn *c)
{
	return !sqlite3_get_autocommit(c->h);
}

int
db_chain_lock(struct db_conn *c, const char *tenant_id)
{
	(void)tenant_id;	/* one write lock covers every tenant */
	return db_in_transaction(c) ? 0 : SN_ERR_INTERNAL;
}

int
db_prepare(struct db_conn *c, const char *sql, struct db_stmt **out)
{
	struct db_stmt *st = NULL;
	int rc;

	*out = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return SN_ERR_NOMEM;
	st->c = c;
	rc = sqlite3_prepare_v2(c->h, sql, -1, &st->s, NULL);
	if (rc != SQLITE_OK || st->s == NULL) {
		rc = map_err(c->h, rc == SQLITE_OK ? SQLITE_ERROR : rc);
		sqlite3_finalize(st->s);
		free(st);
		return rc;
	}
	*out = st;
	return 0;
}

static int
bind_rc(struct db_stmt *st, int rc)
{
	if (rc == SQLITE_OK)
		return 0;
	if (rc == SQLITE_RANGE || rc == SQLITE_TOOBIG)
		return SN_ERR_INVALID;
	return map_err(st->c->h, rc);
}

int
db_bind_text(struct db_stmt *st, int idx, const char *s)
{
	if (s == NULL)
		return bind_rc(st, sqlite3_bind_null(st->s, idx));
	return bind_rc(st, sqlite3_bind_text(st->s, idx, s, -1,
	    SQLITE_TRANSIENT));
}

int
db_bind_int64(struct db_stmt *st, int idx, int64_t v)
{
	return bind_rc(st, sqlite3_bind_int64(st->s, idx, (sqlite3_int64)v));
}

int
db_bind_blob(struct db_stmt *st, int idx, const void *p, size_t len)
{
	if (p == NULL)
		return bind_rc(st, sqlite3_bind_null(st->s, idx));
	return bind_rc(st, sqlite3_bind_blob64(st->s, idx,
	    len == 0 ? "" : p, (sqlite3_uint64)len, SQLITE_TRANSIENT));
}

int
db_bind_null(struct db_stmt *st, int idx)
{
	return bind_rc(st, sqlite3_bind_null(st->s, idx));
}

int
db_step(struct db_stmt *st)
{
	int rc;

	rc = sqlite3_step(st->s);
	if (rc == SQLITE_ROW)
		return DB_ROW;
	if (rc == SQLITE_DONE)
		return DB_DONE;
	return map_err(st->c->h, rc);
}

const char *
db_col_text(struct db_stmt *st, int col)
{
	if (sqlite3_column_type(st->s, col) == SQLITE_NULL)
		return NULL;
	return (const char *)sqlite3_column_text(st->s, col);
}

int64_t
db_col_int64(struct db_stmt *st, int col)
{
	return (int64_t)sqlite3_column_int64(st->s, col);
}

const void *
db_col_blob(struct db_stmt *st, int col, size_t *len)
{
	const void *p;

	p = sqlite3_column_blob(st->s, col);
	*len = (size_t)sqlite3_column_bytes(st->s, col);
	return p;
}

int
db_col_is_null(struct db_stmt *st, int col)
{
	return sqlite3_column_type(st->s, col) == SQLITE_NULL;
}

void
db_finalize(struct db_stmt *st)
{
	if (st == NULL)
		return;
	sqlite3_finalize(st->s);
	free(st);
}

int64_t
db_changes(struct db_conn *c)
{
	return (int64_t)sqlite3_changes64(c->h);
}

static int
bind_va(struct db_stmt *st, const char *types, va_list ap)
{
	const char *s;
	const void *p;
	size_t len;
	int64_t v;
	int r, idx;

	for (idx = 1; *types != '\0'; types++, idx++) {
		switch (*types) {
		case 't':
			s = va_arg(ap, const char *);
			r = db_bind_text(st, idx, s);
			break;
		case 'i':
			v = va_arg(ap, int64_t);
			r = db_bind_int64(st, idx, v);
			break;
		case 'b':
			p = va_arg(ap, const void *);
			len = va_arg(ap, size_t);
			r = db_bind_blob(st, idx, p, len);
			break;
		case 'n':
			r = db_bind_null(st, idx);
			break;
		default:
			return SN_ERR_INTERNAL;
		}
		if (r != 0)
			return r;
	}
	if (idx - 1 != sqlite3_bind_parameter_count(st->s))
		return SN_ERR_INTERNAL;	/* type string does not match the SQL */
	return 0;
}

int
db_execf(struct db_conn *c, const char *sql, const char *types, ...)
{
	struct db_stmt *st = NULL;
	va_list ap;
	int r;

	if ((r = db_prepare(c, sql, &st)) != 0)
		return r;
	va_start(ap, types);
	r = bind_va(st, types, ap);
	va_end(ap);
	if (r != 0)
		goto out;
	while ((r = db_step(st)) == DB_ROW)
		;
 out:
	db_finalize(st);
	return r;
}

int
db_queryf(struct db_conn *c, struct db_stmt **out, const char *sql,
    const char *types, ...)
{
	struct db_stmt *st = NULL;
	va_list ap;
	int r;

	*out = NULL;
	if ((r = db_prepare(c, sql, &st)) != 0)
		return r;
	va_start(ap, types);
	r = bind_va(st, types, ap);
	va_end(ap);
	if (r != 0 || (r = db_step(st)) < 0) {
		db_finalize(st);
		return r;
	}
	*out = st;
	return r;
}

void
db_pool_usage(struct db *db, int *in_use, int *size)
{
	*in_use = *size = 0;
	if (db == NULL)
		return;
	pthread_mutex_lock(&db->mu);
	*in_use = db->nconns - db->nfree;
	*size = db->nconns;
	pthread_mutex_unlock(&db->mu);
}
