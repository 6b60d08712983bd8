/*
 * db_backend.h - what a database backend implements (private to store/).
 *
 * db.c owns everything the backends share: the connection pool (limits,
 * the 30 s give-up), the per-connection prepared-statement cache, the
 * versioned migrations loop and db_execf/db_queryf. A backend (db_sqlite.c,
 * db_postgres.c) fills one struct db_ops and keeps its own handle in
 * db_conn.h and its own statement in db_stmt.b. Nothing outside store/
 * sees these structs: db.h keeps them opaque.
 *
 * Return convention as in db.h: 0 or a negative SN_ERR_*.
 */
#ifndef SIGNET_DB_BACKEND_H
#define SIGNET_DB_BACKEND_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

struct db_ops {
	const char *name;
	/* Opens one connection to url (the whole db_url). *h: the handle. */
	int (*connect)(const char *url, void **h);
	void (*disconnect)(void *h);
	/* Before the pool closes: statements need not be freed one by one on
	 * the server (NULL: nothing to do). */
	void (*closing)(struct db_conn *c);
	/* At db_acquire: reconnects a broken connection. 1 if it did (its
	 * prepared statements are gone), 0 if it was fine, or SN_ERR_*. */
	int (*revive)(struct db_conn *c);
	/* One or more statements without parameters (migrations, BEGIN). */
	int (*exec)(struct db_conn *c, const char *sql);
	int (*begin)(struct db_conn *c);
	int (*commit)(struct db_conn *c);
	int (*rollback)(struct db_conn *c);
	int (*in_txn)(struct db_conn *c);
	int (*chain_lock)(struct db_conn *c, const char *tenant_id);
	/* Inside the migration's transaction: one migrator at a time. */
	int (*migrate_lock)(struct db_conn *c);
	/* The schema text in this backend's dialect; malloc'd, NULL on ENOMEM. */
	char *(*dialect)(const char *sql);

	int (*prepare)(struct db_conn *c, const char *sql, void **b);
	/* Back to before the first step, bindings cleared (cache reuse). */
	void (*reset)(void *b);
	void (*finalize)(void *b);
	int (*nparams)(void *b);
	int (*bind_text)(struct db_conn *c, void *b, int idx, const char *s);
	int (*bind_int64)(struct db_conn *c, void *b, int idx, int64_t v);
	int (*bind_blob)(struct db_conn *c, void *b, int idx, const void *p,
	    size_t len);
	int (*bind_null)(struct db_conn *c, void *b, int idx);
	int (*step)(struct db_conn *c, void *b);
	const char *(*col_text)(void *b, int col);
	int64_t (*col_int64)(void *b, int col);
	const void *(*col_blob)(void *b, int col, size_t *len);
	int (*col_is_null)(void *b, int col);
	int64_t (*changes)(struct db_conn *c);
};

extern const struct db_ops db_sqlite_ops;
extern const struct db_ops db_postgres_ops;

struct db_stmt {
	struct db_conn *c;
	void *b;			/* the backend's statement */
	char *sql;			/* the cache key */
	const char *src;		/* the caller's text it was last found by */
	uint32_t hash;
	int busy;			/* handed out, not yet finalized */
	struct db_stmt *next;		/* the connection's cache, newest first */
};

struct db_conn {
	struct db *db;
	void *h;			/* the backend's connection */
	int in_use;
	struct db_stmt *cache;
	int ncached;
	/* bench/ and the tests read these: prepared vs reused. */
	uint64_t nprepared, nreused;
};

struct db {
	const struct db_ops *ops;
	int cache_max;			/* statements kept per connection */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct db_conn *conns;
	int nconns;
	int nfree;
};

#endif
