/*
 * db.h - the one database interface signetd uses.
 *
 * A thin, backend-neutral layer: connections from a pool, prepared
 * statements with '?' placeholders (the PostgreSQL backend rewrites them to
 * $n), typed binds and columns, explicit transactions. This header is the
 * whole interface: the store functions (src/server/store/store_*.c) are
 * written only against it, and each backend (db_sqlite.c, db_postgres.c) is
 * one table of operations (db_backend.h) behind it. The pool, the
 * prepared-statement cache and the migrations are shared (db.c).
 *
 * Prepared statements are cached per connection, keyed by the SQL text:
 * db_prepare of a text this connection prepared before returns that
 * statement reset, with no bindings, and db_finalize gives it back. So use
 * constant SQL strings (never SQL built with values), which is also what
 * keeps bound values out of the SQL.
 *
 * Return convention: 0 or a negative SN_ERR_*; db_step returns DB_ROW (1)
 * when a row is available, DB_DONE (0) at the end. Constraint violations map
 * to SN_ERR_CONFLICT (UNIQUE / PRIMARY KEY) and SN_ERR_INVALID (CHECK, FOREIGN
 * KEY, NOT NULL); everything else is SN_ERR_DB.
 */
#ifndef SIGNET_DB_H
#define SIGNET_DB_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define DB_ROW  1
#define DB_DONE 0

struct db;		/* the pool, shared by all threads */
struct db_conn;		/* one connection, used by one thread at a time */
struct db_stmt;		/* one prepared statement of one connection */

/*
 * Opens the database at url: "sqlite:/path/to/signet.db" (or a bare path),
 * or "postgresql://..." / "postgres://..." (a libpq connection URI).
 * Applies pending migrations (one instance at a time, however many start
 * together). SQLite is opened in WAL mode with foreign keys on,
 * synchronous=FULL (an audit event is durable when its commit returns) and
 * a busy timeout. pool_size connections at most.
 */
int db_open(const char *url, int pool_size, struct db **out) SN_WUR;
void db_close(struct db *db);				/* NULL ok */
/* "sqlite" or "postgresql". */
const char *db_backend(const struct db *db);
/* The highest applied migration (schema_version table). */
int db_schema_version(struct db *db, int *version) SN_WUR;
/* Statement cache counters of every connection so far (bench/, tests). */
void db_stmt_stats(struct db *db, uint64_t *prepared, uint64_t *reused);
/* The pool for /metrics: connections handed out now, and in all. */
void db_pool_usage(struct db *db, int *in_use, int *size);

int db_acquire(struct db *db, struct db_conn **out) SN_WUR;	/* blocks until one is free */
/* (db_acquire gives up with SN_ERR_UNAVAILABLE after 30 s, so a thread that
 * holds one connection and waits for a second cannot hang the pool forever;
 * a handler never asks for a second one.) */
void db_release(struct db_conn *c);			/* rolls back an open txn; NULL ok */

/*
 * Transactions. SQLite: db_begin takes the database's write lock at once
 * (BEGIN IMMEDIATE). PostgreSQL: READ COMMITTED, every statement sees what
 * committed before it started; what needs one order takes db_chain_lock
 * (docs/ARCHITECTURE.md, "Transactions on PostgreSQL").
 */
int db_begin(struct db_conn *c) SN_WUR;
int db_commit(struct db_conn *c) SN_WUR;
int db_rollback(struct db_conn *c);			/* safe when no txn is open */
/* 1 if a transaction is open on c. */
int db_in_transaction(struct db_conn *c);

/*
 * The audit chain lock of one tenant, inside the open write transaction;
 * held until commit or rollback, and taken again at no cost. Every
 * transaction that appends an audit event for a tenant takes it first
 * (audit_append does), so each tenant's events have one total order, and
 * whatever the transaction reads after taking it sees every change whose
 * event committed before: the signing path takes it BEFORE it re-checks
 * the caller and the key. SQLite: nothing to do (BEGIN IMMEDIATE already
 * holds the database's one write lock). A server backend (PostgreSQL)
 * takes a per-tenant transaction-scoped lock, so tenants do not wait on
 * each other. 0, SN_ERR_INTERNAL outside a transaction, or SN_ERR_DB.
 */
int db_chain_lock(struct db_conn *c, const char *tenant_id) SN_WUR;

int db_prepare(struct db_conn *c, const char *sql, struct db_stmt **out) SN_WUR;
/*
 * Parameter indexes start at 1. Text and blobs are copied. PostgreSQL
 * types a parameter from what is bound (text, int8, bytea) or, for a NULL,
 * from its place in the SQL: a NULL where the SQL gives no type ("? IS
 * NULL") is an error there; write CAST(? AS TEXT) or use another statement.
 * An int64 is an int8 there: a function that takes an int4 needs CAST(?
 * AS INTEGER) (comparisons and inserts into INTEGER columns need nothing).
 */
int db_bind_text(struct db_stmt *st, int idx, const char *s) SN_WUR;	/* NULL binds NULL */
int db_bind_int64(struct db_stmt *st, int idx, int64_t v) SN_WUR;
int db_bind_blob(struct db_stmt *st, int idx, const void *p, size_t len) SN_WUR;
int db_bind_null(struct db_stmt *st, int idx) SN_WUR;
int db_step(struct db_stmt *st) SN_WUR;				/* DB_ROW, DB_DONE or SN_ERR_* */
/* Column indexes start at 0. Pointers stay valid until the next step/finalize. */
const char *db_col_text(struct db_stmt *st, int col);	/* NULL for SQL NULL */
int64_t db_col_int64(struct db_stmt *st, int col);
const void *db_col_blob(struct db_stmt *st, int col, size_t *len);
int db_col_is_null(struct db_stmt *st, int col);
void db_finalize(struct db_stmt *st);			/* NULL ok */

/* Rows changed by the last INSERT/UPDATE/DELETE on this connection. */
int64_t db_changes(struct db_conn *c);

/*
 * Convenience: prepare, bind by a type string, step to completion.
 * types: one char per argument: 't' const char *, 'i' int64_t, 'b' (const
 * void *, size_t), 'n' binds NULL and takes no argument.
 * Example: db_execf(c, "UPDATE users SET disabled = 1 WHERE id = ? AND tenant_id = ?",
 *                   "tt", user_id, tenant_id);
 */
int db_execf(struct db_conn *c, const char *sql, const char *types, ...) SN_WUR;
/* Like db_execf but leaves the statement positioned on its first row (DB_ROW)
 * or done (DB_DONE) for the caller to read and finalize. */
int db_queryf(struct db_conn *c, struct db_stmt **out, const char *sql,
    const char *types, ...) SN_WUR;

#endif
