/*
 * db_sqlite.c - the SQLite backend of db.h (the embedded default).
 *
 * Every connection runs in WAL mode with foreign keys enforced,
 * synchronous=FULL (a commit that returned is on disk: an audit event is
 * durable before a signature leaves the server) and a busy timeout so
 * concurrent writers, of this process or of another signetd on the same
 * data directory, queue instead of failing. BEGIN IMMEDIATE takes the one
 * write lock, which is also the audit chain lock of every tenant. Errors
 * are mapped to SN_ERR_* here; raw SQLite messages go to stderr for the
 * operator, never into an API response.
 *
 * This file must never log bound values: they may be secret hashes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db_backend.h"
#include "err.h"

#define DB_BUSY_TIMEOUT_MS	10000

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
exec_h(sqlite3 *h, const char *sql)
{
	int rc;

	rc = sqlite3_exec(h, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : map_err(h, rc);
}

static int
sq_exec(struct db_conn *c, const char *sql)
{
	return exec_h(c->h, sql);
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
sq_connect(const char *url, void **out)
{
	sqlite3 *h = NULL;
	const char *path;
	int rc, r, fd;

	*out = NULL;
	path = url_path(url);
	if (*path == '\0')
		return SN_ERR_INVALID;
	/*
	 * Create the file ourselves so it is never world-readable. Only when
	 * it does not exist yet: closing a descriptor of the file drops every
	 * POSIX lock this process holds on it, so once one connection is open
	 * (its WAL locks held) no other descriptor of it may be opened and
	 * closed here (SQLite's "do not open the database file yourself").
	 */
	if (strcmp(path, ":memory:") != 0 && access(path, F_OK) != 0) {
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 && errno == EEXIST)
			fd = -2;	/* made meanwhile by another process */
		if (fd == -1) {
			fprintf(stderr, "signetd: cannot open database %s: %s\n",
			    path, strerror(errno));
			return SN_ERR_IO;
		}
		if (fd >= 0)
			close(fd);
	}
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
	if ((r = exec_h(h, "PRAGMA journal_mode=WAL;")) != 0 ||
	    (r = exec_h(h, "PRAGMA foreign_keys=ON;")) != 0 ||
	    (r = exec_h(h, "PRAGMA synchronous=FULL;")) != 0)
		goto out;
	*out = h;
	h = NULL;
	r = 0;
 out:
	sqlite3_close(h);
	return r;
}

static void
sq_disconnect(void *h)
{
	sqlite3_close_v2(h);
}

static int
sq_revive(struct db_conn *c)
{
	(void)c;		/* a file does not go away */
	return 0;
}

static int
sq_in_txn(struct db_conn *c)
{
	return !sqlite3_get_autocommit(c->h);
}

static int
sq_begin(struct db_conn *c)
{
	return sq_exec(c, "BEGIN IMMEDIATE;");
}

static int
sq_commit(struct db_conn *c)
{
	int r;

	if ((r = sq_exec(c, "COMMIT;")) != 0) {
		if (sq_in_txn(c))
			(void)sq_exec(c, "ROLLBACK;");
	}
	return r;
}

static int
sq_rollback(struct db_conn *c)
{
	return sq_exec(c, "ROLLBACK;");
}

static int
sq_chain_lock(struct db_conn *c, const char *tenant_id)
{
	(void)c;
	(void)tenant_id;	/* BEGIN IMMEDIATE's one write lock covers all */
	return 0;
}

static int
sq_migrate_lock(struct db_conn *c)
{
	(void)c;		/* BEGIN IMMEDIATE: one migrator already */
	return 0;
}

static char *
sq_dialect(const char *sql)
{
	return strdup(sql);	/* the schema is written in SQLite's terms */
}

static int
sq_prepare(struct db_conn *c, const char *sql, void **out)
{
	sqlite3_stmt *s = NULL;
	int rc;

	*out = NULL;
	rc = sqlite3_prepare_v2(c->h, sql, -1, &s, NULL);
	if (rc != SQLITE_OK || s == NULL) {
		rc = map_err(c->h, rc == SQLITE_OK ? SQLITE_ERROR : rc);
		sqlite3_finalize(s);
		return rc;
	}
	*out = s;
	return 0;
}

static void
sq_reset(void *b)
{
	sqlite3_reset(b);
	sqlite3_clear_bindings(b);
}

static void
sq_finalize(void *b)
{
	sqlite3_finalize(b);
}

static int
sq_nparams(void *b)
{
	return sqlite3_bind_parameter_count(b);
}

static int
bind_rc(struct db_conn *c, int rc)
{
	if (rc == SQLITE_OK)
		return 0;
	if (rc == SQLITE_RANGE || rc == SQLITE_TOOBIG)
		return SN_ERR_INVALID;
	return map_err(c->h, rc);
}

static int
sq_bind_text(struct db_conn *c, void *b, int idx, const char *s)
{
	return bind_rc(c, sqlite3_bind_text(b, idx, s, -1, SQLITE_TRANSIENT));
}

static int
sq_bind_int64(struct db_conn *c, void *b, int idx, int64_t v)
{
	return bind_rc(c, sqlite3_bind_int64(b, idx, (sqlite3_int64)v));
}

static int
sq_bind_blob(struct db_conn *c, void *b, int idx, const void *p, size_t len)
{
	return bind_rc(c, sqlite3_bind_blob64(b, idx, len == 0 ? "" : p,
	    (sqlite3_uint64)len, SQLITE_TRANSIENT));
}

static int
sq_bind_null(struct db_conn *c, void *b, int idx)
{
	return bind_rc(c, sqlite3_bind_null(b, idx));
}

static int
sq_step(struct db_conn *c, void *b)
{
	int rc;

	rc = sqlite3_step(b);
	if (rc == SQLITE_ROW)
		return DB_ROW;
	if (rc == SQLITE_DONE)
		return DB_DONE;
	return map_err(c->h, rc);
}

static const char *
sq_col_text(void *b, int col)
{
	if (sqlite3_column_type(b, col) == SQLITE_NULL)
		return NULL;
	return (const char *)sqlite3_column_text(b, col);
}

static int64_t
sq_col_int64(void *b, int col)
{
	return (int64_t)sqlite3_column_int64(b, col);
}

static const void *
sq_col_blob(void *b, int col, size_t *len)
{
	const void *p;

	p = sqlite3_column_blob(b, col);
	*len = (size_t)sqlite3_column_bytes(b, col);
	return p;
}

static int
sq_col_is_null(void *b, int col)
{
	return sqlite3_column_type(b, col) == SQLITE_NULL;
}

static int64_t
sq_changes(struct db_conn *c)
{
	return (int64_t)sqlite3_changes64(c->h);
}

const struct db_ops db_sqlite_ops = {
	.name = "sqlite",
	.connect = sq_connect,
	.disconnect = sq_disconnect,
	.revive = sq_revive,
	.exec = sq_exec,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.in_txn = sq_in_txn,
	.chain_lock = sq_chain_lock,
	.migrate_lock = sq_migrate_lock,
	.dialect = sq_dialect,
	.prepare = sq_prepare,
	.reset = sq_reset,
	.finalize = sq_finalize,
	.nparams = sq_nparams,
	.bind_text = sq_bind_text,
	.bind_int64 = sq_bind_int64,
	.bind_blob = sq_bind_blob,
	.bind_null = sq_bind_null,
	.step = sq_step,
	.col_text = sq_col_text,
	.col_int64 = sq_col_int64,
	.col_blob = sq_col_blob,
	.col_is_null = sq_col_is_null,
	.changes = sq_changes,
};
