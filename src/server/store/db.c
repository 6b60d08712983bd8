/*
 * db.c - the backend-neutral half of db.h: the connection pool, the
 * prepared-statement cache, the migrations loop and db_execf/db_queryf.
 *
 * The pool is a fixed set of connections handed out under a mutex and a
 * condition variable; each connection is used by one thread at a time, so
 * its statement cache needs no lock. A thread that waits 30 s for a
 * connection gives up (SN_ERR_UNAVAILABLE) instead of hanging.
 *
 * This file must never log bound values: they may be secret hashes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "db_backend.h"
#include "err.h"
#include "schema.sql.h"
#include "sn_assert.h"

#define DB_MAX_POOL		256
#define DB_ACQUIRE_TIMEOUT_S	30
/* Statements kept per connection: the server has about a hundred distinct
 * SQL texts, the signing path a dozen; past this the least recently used
 * idle one is finalized. */
#define DB_STMT_CACHE		96

/*
 * SIGNET_DB_STMT_CACHE=0 in signetd's environment turns the cache off
 * (every db_finalize really finalizes): only for bench/, which measures
 * the cache against that baseline in one run.
 */
static int
cache_limit(void)
{
	const char *e = getenv("SIGNET_DB_STMT_CACHE");

	return e != NULL && strcmp(e, "0") == 0 ? 0 : DB_STMT_CACHE;
}

static const struct db_ops *
backend_of(const char *url)
{
	if (strncmp(url, "postgresql://", 13) == 0 ||
	    strncmp(url, "postgres://", 11) == 0)
		return &db_postgres_ops;
	return &db_sqlite_ops;
}

const char *
db_backend(const struct db *db)
{
	return db->ops->name;
}

static int
exec_version(struct db_conn *c, int *version)
{
	struct db_stmt *st = NULL;
	int r;

	*version = 0;
	r = db_queryf(c, &st, "SELECT COALESCE(MAX(version), 0) FROM "
	    "schema_version", "");
	if (r == DB_ROW)
		*version = (int)db_col_int64(st, 0);
	db_finalize(st);
	return r == DB_ROW ? 0 : r < 0 ? r : SN_ERR_DB;
}

/*
 * Applies every migration newer than the recorded version, each in its own
 * transaction under the backend's migration lock, so instances that open a
 * fresh database at once apply each migration exactly once and the others
 * see it applied.
 */
static int
migrate(struct db_conn *c)
{
	const struct db_ops *ops = c->db->ops;
	char *sql = NULL;
	int version, r, i = -1;

	if ((r = db_begin(c)) != 0)
		return r;
	if ((r = ops->migrate_lock(c)) != 0 ||
	    (r = ops->exec(c, "CREATE TABLE IF NOT EXISTS schema_version ("
	    " version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL);")) != 0 ||
	    (r = db_commit(c)) != 0)
		goto fail;
	for (i = 0; i < SIGNET_SCHEMA_VERSION; i++) {
		if ((r = db_begin(c)) != 0)
			return r;
		if ((r = ops->migrate_lock(c)) != 0 ||
		    (r = exec_version(c, &version)) != 0)
			goto fail;
		if (version > SIGNET_SCHEMA_VERSION) {
			fprintf(stderr, "signetd: database schema version %d is "
			    "newer than this signetd (%d)\n", version,
			    SIGNET_SCHEMA_VERSION);
			r = SN_ERR_DB;
			goto fail;
		}
		if (version > i) {
			(void)db_rollback(c);
			continue;
		}
		if ((sql = ops->dialect(signet_migrations[i])) == NULL) {
			r = SN_ERR_NOMEM;
			goto fail;
		}
		if ((r = ops->exec(c, sql)) != 0)
			goto fail;
		free(sql);
		sql = NULL;
		if ((r = db_execf(c, "INSERT INTO schema_version (version, "
		    "applied_at) VALUES (?, ?)", "ii", (int64_t)i + 1,
		    (int64_t)time(NULL))) != 0 || (r = db_commit(c)) != 0)
			goto fail;
	}
	return 0;
 fail:
	if (r != 0)
		fprintf(stderr, "signetd: database migration %d failed\n", i + 1);
	free(sql);
	(void)db_rollback(c);
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
	r = exec_version(c, version);
	db_release(c);
	return r;
}

int
db_open(const char *url, int pool_size, struct db **out)
{
	struct db *db = NULL;
	int r, i;

	*out = NULL;
	if (url == NULL || *url == '\0' || pool_size < 1 ||
	    pool_size > DB_MAX_POOL)
		return SN_ERR_INVALID;
	/* An in-memory SQLite database is one per connection. */
	if (strstr(url, ":memory:") != NULL && pool_size != 1)
		return SN_ERR_INVALID;
	/* A URL of another kind is a mistake, not a file name. */
	if (strstr(url, "://") != NULL && strncmp(url, "sqlite:", 7) != 0 &&
	    backend_of(url) == &db_sqlite_ops) {
		fprintf(stderr, "signetd: db_url: only sqlite:PATH and "
		    "postgresql://... are known\n");
		return SN_ERR_INVALID;
	}
	if ((db = calloc(1, sizeof(*db))) == NULL)
		return SN_ERR_NOMEM;
	db->ops = backend_of(url);
	db->cache_max = cache_limit();
	pthread_mutex_init(&db->mu, NULL);
	pthread_cond_init(&db->cv, NULL);
	if ((db->conns = calloc((size_t)pool_size, sizeof(*db->conns))) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < pool_size; i++) {
		db->conns[i].db = db;
		if ((r = db->ops->connect(url, &db->conns[i].h)) != 0)
			goto out;
		db->nconns++;
		if (i == 0 && (r = migrate(&db->conns[0])) != 0)
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

static void
stmt_free(struct db_stmt *st)
{
	st->c->db->ops->finalize(st->b);
	free(st->sql);
	free(st);
}

/* Drops the whole cache of c (closing, or a connection that was reset). */
static void
cache_clear(struct db_conn *c)
{
	struct db_stmt *st, *next;

	for (st = c->cache; st != NULL; st = next) {
		next = st->next;
		stmt_free(st);
	}
	c->cache = NULL;
	c->ncached = 0;
}

void
db_close(struct db *db)
{
	int i;

	if (db == NULL)
		return;
	for (i = 0; db->conns != NULL && i < db->nconns; i++) {
		if (db->ops->closing != NULL)
			db->ops->closing(&db->conns[i]);
		cache_clear(&db->conns[i]);
		db->ops->disconnect(db->conns[i].h);
	}
	free(db->conns);
	pthread_cond_destroy(&db->cv);
	pthread_mutex_destroy(&db->mu);
	free(db);
}

void
db_stmt_stats(struct db *db, uint64_t *prepared, uint64_t *reused)
{
	int i;

	*prepared = *reused = 0;
	pthread_mutex_lock(&db->mu);
	for (i = 0; i < db->nconns; i++) {
		*prepared += db->conns[i].nprepared;
		*reused += db->conns[i].nreused;
	}
	pthread_mutex_unlock(&db->mu);
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

int
db_acquire(struct db *db, struct db_conn **out)
{
	struct timespec deadline;
	struct db_conn *c = NULL;
	int i, r;

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
			c = &db->conns[i];
			c->in_use = 1;
			db->nfree--;
			break;
		}
	}
	pthread_mutex_unlock(&db->mu);
	/* nfree counts the connections not in use */
	if (SN_NEVER(c == NULL))
		return SN_ERR_INTERNAL;
	/* A server backend's connection may have broken since (a restarted
	 * PostgreSQL): reconnect now, with no statement of the old session. */
	if ((r = db->ops->revive(c)) < 0) {
		db_release(c);
		return r;
	}
	if (r == 1)
		cache_clear(c);
	*out = c;
	return 0;
}

void
db_release(struct db_conn *c)
{
	struct db *db;
	struct db_stmt *st;

	if (c == NULL)
		return;
	db = c->db;
	/* A handler that leaked a statement must not keep a read snapshot;
	 * the statement stays cached (its pointer is not the handler's to
	 * use after release). */
	for (st = c->cache; st != NULL; st = st->next) {
		if (st->busy) {
			db->ops->reset(st->b);
			st->busy = 0;
		}
	}
	if (db->ops->in_txn(c))
		(void)db->ops->rollback(c);
	pthread_mutex_lock(&db->mu);
	c->in_use = 0;
	db->nfree++;
	pthread_cond_signal(&db->cv);
	pthread_mutex_unlock(&db->mu);
}

int
db_begin(struct db_conn *c)
{
	if (SN_NEVER(c->db->ops->in_txn(c)))
		return SN_ERR_INTERNAL;		/* no nested transactions */
	return c->db->ops->begin(c);
}

int
db_commit(struct db_conn *c)
{
	if (SN_NEVER(!c->db->ops->in_txn(c)))
		return SN_ERR_INTERNAL;
	return c->db->ops->commit(c);
}

int
db_rollback(struct db_conn *c)
{
	if (!c->db->ops->in_txn(c))
		return 0;
	return c->db->ops->rollback(c);
}

int
db_in_transaction(struct db_conn *c)
{
	return c->db->ops->in_txn(c);
}

int
db_chain_lock(struct db_conn *c, const char *tenant_id)
{
	if (SN_NEVER(!c->db->ops->in_txn(c) || tenant_id == NULL))
		return SN_ERR_INTERNAL;
	return c->db->ops->chain_lock(c, tenant_id);
}

static uint32_t
sql_hash(const char *s)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The least recently used idle statement of a full cache goes. */
static void
cache_trim(struct db_conn *c)
{
	struct db_stmt **pp, **victim = NULL;

	if (c->ncached <= c->db->cache_max)
		return;
	for (pp = &c->cache; *pp != NULL; pp = &(*pp)->next)
		if (!(*pp)->busy)
			victim = pp;
	if (victim != NULL) {
		struct db_stmt *st = *victim;

		*victim = st->next;
		c->ncached--;
		stmt_free(st);
	}
}

int
db_prepare(struct db_conn *c, const char *sql, struct db_stmt **out)
{
	struct db_stmt *st, **pp;
	uint32_t h;
	int r;

	*out = NULL;
	/* Almost every statement is a string literal, passed by the same
	 * pointer each time: look for that first, which spares hashing the
	 * text. The text is still compared (a caller's buffer may be reused
	 * for other SQL at the same address). */
	for (pp = &c->cache; (st = *pp) != NULL; pp = &st->next)
		if (!st->busy && st->src == sql && strcmp(st->sql, sql) == 0)
			goto hit;
	h = sql_hash(sql);
	for (pp = &c->cache; (st = *pp) != NULL; pp = &st->next)
		if (!st->busy && st->hash == h && strcmp(st->sql, sql) == 0) {
			st->src = sql;
			goto hit;
		}
	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->sql = strdup(sql)) == NULL) {
		free(st);
		return SN_ERR_NOMEM;
	}
	st->c = c;
	st->hash = h;
	st->src = sql;
	if ((r = c->db->ops->prepare(c, sql, &st->b)) != 0) {
		free(st->sql);
		free(st);
		return r;
	}
	c->nprepared++;
	st->busy = 1;
	st->next = c->cache;
	c->cache = st;
	c->ncached++;
	cache_trim(c);
	*out = st;
	return 0;
 hit:
	/* Most recently used first: the hot path's few statements stay at
	 * the front. */
	*pp = st->next;
	st->next = c->cache;
	c->cache = st;
	st->busy = 1;
	c->nreused++;
	*out = st;
	return 0;
}

void
db_finalize(struct db_stmt *st)
{
	if (st == NULL)
		return;
	/* Back into the cache: reset (releases SQLite's read snapshot, frees
	 * a PostgreSQL result) with its bindings cleared. */
	st->c->db->ops->reset(st->b);
	st->busy = 0;
	cache_trim(st->c);
}

int
db_bind_text(struct db_stmt *st, int idx, const char *s)
{
	if (s == NULL)
		return st->c->db->ops->bind_null(st->c, st->b, idx);
	return st->c->db->ops->bind_text(st->c, st->b, idx, s);
}

int
db_bind_int64(struct db_stmt *st, int idx, int64_t v)
{
	return st->c->db->ops->bind_int64(st->c, st->b, idx, v);
}

int
db_bind_blob(struct db_stmt *st, int idx, const void *p, size_t len)
{
	if (p == NULL)
		return st->c->db->ops->bind_null(st->c, st->b, idx);
	return st->c->db->ops->bind_blob(st->c, st->b, idx, p, len);
}

int
db_bind_null(struct db_stmt *st, int idx)
{
	return st->c->db->ops->bind_null(st->c, st->b, idx);
}

int
db_step(struct db_stmt *st)
{
	return st->c->db->ops->step(st->c, st->b);
}

const char *
db_col_text(struct db_stmt *st, int col)
{
	return st->c->db->ops->col_text(st->b, col);
}

int64_t
db_col_int64(struct db_stmt *st, int col)
{
	return st->c->db->ops->col_int64(st->b, col);
}

const void *
db_col_blob(struct db_stmt *st, int col, size_t *len)
{
	return st->c->db->ops->col_blob(st->b, col, len);
}

int
db_col_is_null(struct db_stmt *st, int col)
{
	return st->c->db->ops->col_is_null(st->b, col);
}

int64_t
db_changes(struct db_conn *c)
{
	return c->db->ops->changes(c);
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
			/* the type strings are constants of the callers */
			SN_ASSERT(0);
			return SN_ERR_INTERNAL;
		}
		if (r != 0)
			return r;
	}
	if (SN_NEVER(idx - 1 != st->c->db->ops->nparams(st->b)))
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
