/*
 * test_db.c - the SQLite backend of db.h: migrations, pragmas, error
 * mapping, transactions, the pool.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "db.h"
#include "db_contract.h"
#include "err.h"
#include "schema.sql.h"
#include "sn_never_test.h"
#include "store.h"
#include "testutil.h"

static void
test_open_migrates(void **state)
{
	char dir[256], url[512];
	struct db *db, *db2 = NULL;
	struct db_conn *c;
	struct db_stmt *st;
	int v;

	db = tu_db_open(2, dir);
	assert_int_equal(db_schema_version(db, &v), 0);
	assert_int_equal(v, SIGNET_SCHEMA_VERSION);
	assert_int_equal(db_acquire(db, &c), 0);
	assert_int_equal(db_queryf(c, &st, "PRAGMA foreign_keys", ""), DB_ROW);
	assert_int_equal(db_col_int64(st, 0), 1);
	db_finalize(st);
	assert_int_equal(db_queryf(c, &st, "PRAGMA journal_mode", ""), DB_ROW);
	assert_string_equal(db_col_text(st, 0), "wal");
	db_finalize(st);
	assert_int_equal(db_queryf(c, &st, "PRAGMA synchronous", ""), DB_ROW);
	assert_int_equal(db_col_int64(st, 0), 2);	/* FULL */
	db_finalize(st);
	db_release(c);
	/* Re-opening applies nothing twice. */
	snprintf(url, sizeof(url), "%s/t.db", dir);
	assert_int_equal(db_open(url, 1, &db2), 0);
	assert_int_equal(db_schema_version(db2, &v), 0);
	assert_int_equal(v, SIGNET_SCHEMA_VERSION);
	assert_int_equal(db_acquire(db2, &c), 0);
	assert_int_equal(db_queryf(c, &st,
	    "SELECT COUNT(*) FROM schema_version", ""), DB_ROW);
	assert_int_equal(db_col_int64(st, 0), SIGNET_SCHEMA_VERSION);
	db_finalize(st);
	db_release(c);
	db_close(db2);
	tu_db_close(db, dir);
}

static void
test_bad_open(void **state)
{
	struct db *db = (struct db *)1;

	assert_int_equal(db_open("sqlite:", 1, &db), SN_ERR_INVALID);
	assert_null(db);
	assert_int_equal(db_open("/nonexistent/dir/x.db", 1, &db), SN_ERR_IO);
	assert_int_equal(db_open("sqlite:/tmp/x.db", 0, &db), SN_ERR_INVALID);
	assert_int_equal(db_open(":memory:", 2, &db), SN_ERR_INVALID);
}

static void
test_error_mapping(void **state)
{
	char dir[256];
	struct db *db;
	struct db_conn *c;

	db = tu_db_open(1, dir);
	assert_int_equal(db_acquire(db, &c), 0);
	dbc_error_mapping(c);
	/* a wrong type string is the caller's bug: it traps in a debug
	 * build, is internal in a release build */
	assert_never(db_execf(c, "SELECT ?", ""), SN_ERR_INTERNAL);
	assert_never(db_execf(c, "SELECT ?", "x", 1), SN_ERR_INTERNAL);
	db_release(c);
	tu_db_close(db, dir);
}

static void
test_types_roundtrip(void **state)
{
	char dir[256];
	struct db *db;
	struct db_conn *c;
	struct db_stmt *st = NULL;
	const uint8_t blob[4] = { 0, 1, 0xff, 0 };
	const void *p;
	size_t len;

	db = tu_db_open(1, dir);
	assert_int_equal(db_acquire(db, &c), 0);
	assert_int_equal(db_execf(c, "CREATE TABLE t (a TEXT, b BIGINT, c BLOB)",
	    ""), 0);
	assert_int_equal(db_execf(c, "INSERT INTO t VALUES (?, ?, ?)", "tib",
	    "h\xc3\xa9llo", (int64_t)-9000000000LL, blob, sizeof(blob)), 0);
	assert_int_equal(db_execf(c, "INSERT INTO t VALUES (?, ?, ?)", "tnb",
	    NULL, NULL, (size_t)0), 0);
	assert_int_equal(db_queryf(c, &st, "SELECT a, b, c FROM t ORDER BY rowid",
	    ""), DB_ROW);
	assert_string_equal(db_col_text(st, 0), "h\xc3\xa9llo");
	assert_true(db_col_int64(st, 1) == -9000000000LL);
	p = db_col_blob(st, 2, &len);
	assert_int_equal(len, 4);
	assert_memory_equal(p, blob, 4);
	assert_int_equal(db_step(st), DB_ROW);
	assert_null(db_col_text(st, 0));
	assert_true(db_col_is_null(st, 1));
	assert_true(db_col_is_null(st, 2));
	assert_int_equal(db_step(st), DB_DONE);
	db_finalize(st);
	/* No rows: DB_DONE and a statement to finalize. */
	assert_int_equal(db_queryf(c, &st, "SELECT a FROM t WHERE b = ?", "i",
	    (int64_t)5), DB_DONE);
	assert_non_null(st);
	db_finalize(st);
	db_release(c);
	tu_db_close(db, dir);
}

static void
test_transactions(void **state)
{
	char dir[256];
	struct db *db;
	struct db_conn *c, *c2;
	struct db_stmt *st;

	db = tu_db_open(2, dir);
	assert_int_equal(db_acquire(db, &c), 0);
	assert_int_equal(db_rollback(c), 0);		/* none open: fine */
	assert_never(db_commit(c), SN_ERR_INTERNAL);
	assert_int_equal(db_begin(c), 0);
	assert_true(db_in_transaction(c));
	assert_never(db_begin(c), SN_ERR_INTERNAL);
	assert_int_equal(db_execf(c, "INSERT INTO tenants VALUES ('a','a',1)",
	    ""), 0);
	assert_int_equal(db_rollback(c), 0);
	assert_false(db_in_transaction(c));
	assert_int_equal(db_queryf(c, &st, "SELECT COUNT(*) FROM tenants", ""),
	    DB_ROW);
	assert_int_equal(db_col_int64(st, 0), 0);
	db_finalize(st);

	/* Committed data is visible on another connection. */
	assert_int_equal(db_begin(c), 0);
	assert_int_equal(db_execf(c, "INSERT INTO tenants VALUES ('b','b',1)",
	    ""), 0);
	assert_int_equal(db_commit(c), 0);
	assert_int_equal(db_acquire(db, &c2), 0);
	assert_int_equal(db_queryf(c2, &st, "SELECT name FROM tenants", ""),
	    DB_ROW);
	assert_string_equal(db_col_text(st, 0), "b");
	db_finalize(st);

	/* Releasing a connection rolls back its open transaction. */
	assert_int_equal(db_begin(c), 0);
	assert_int_equal(db_execf(c, "INSERT INTO tenants VALUES ('c','c',1)",
	    ""), 0);
	db_release(c);
	assert_int_equal(db_queryf(c2, &st, "SELECT COUNT(*) FROM tenants", ""),
	    DB_ROW);
	assert_int_equal(db_col_int64(st, 0), 1);
	db_finalize(st);
	db_release(c2);
	tu_db_close(db, dir);
}

struct worker_arg {
	struct db *db;
	int id;
	int failures;
};

static void *
worker(void *p)
{
	struct worker_arg *a = p;
	struct db_conn *c;
	char name[32];

	for (int i = 0; i < 25; i++) {
		snprintf(name, sizeof(name), "t%d_%d", a->id, i);
		if (db_acquire(a->db, &c) != 0) {
			a->failures++;
			continue;
		}
		if (db_begin(c) != 0 ||
		    db_execf(c, "INSERT INTO tenants VALUES (?, ?, 1)", "tt",
		    name, name) != 0 || db_commit(c) != 0)
			a->failures++;
		db_release(c);
	}
	return NULL;
}

static void
test_pool_concurrency(void **state)
{
	char dir[256];
	struct db *db;
	struct db_conn *c;
	struct db_stmt *st;
	pthread_t th[6];
	struct worker_arg args[6];

	db = tu_db_open(3, dir);	/* fewer connections than threads */
	for (int i = 0; i < 6; i++) {
		args[i] = (struct worker_arg){ .db = db, .id = i };
		assert_int_equal(pthread_create(&th[i], NULL, worker, &args[i]), 0);
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(args[i].failures, 0);
	}
	assert_int_equal(db_acquire(db, &c), 0);
	assert_int_equal(db_queryf(c, &st, "SELECT COUNT(*) FROM tenants", ""),
	    DB_ROW);
	assert_int_equal(db_col_int64(st, 0), 150);
	db_finalize(st);
	db_release(c);
	tu_db_close(db, dir);
}

static void
test_statement_cache(void **state)
{
	char dir[256];
	struct db *db;
	struct db_conn *c;
	struct db_stmt *a;
	uint64_t prepared, reused;

	db = tu_db_open(1, dir);
	assert_int_equal(db_acquire(db, &c), 0);
	assert_int_equal(db_execf(c, "INSERT INTO tenants VALUES ('a','a',1)",
	    ""), 0);
	db_stmt_stats(db, &prepared, &reused);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(db_queryf(c, &a, "SELECT name FROM tenants "
		    "WHERE id = ?", "t", i % 2 ? "a" : "b"),
		    i % 2 ? DB_ROW : DB_DONE);
		db_finalize(a);
	}
	{
		uint64_t p2, r2;

		db_stmt_stats(db, &p2, &r2);
		assert_true(p2 - prepared == 1);	/* prepared once */
		assert_true(r2 - reused == 4);		/* reused, reset */
	}
	dbc_same_text_twice(c);
	/* a cached statement comes back with no bindings left over */
	assert_int_equal(db_prepare(c, "SELECT ? IS NULL", &a), 0);
	assert_int_equal(db_bind_text(a, 1, "x"), 0);
	assert_int_equal(db_step(a), DB_ROW);
	assert_int_equal(db_col_int64(a, 0), 0);
	db_finalize(a);
	assert_int_equal(db_prepare(c, "SELECT ? IS NULL", &a), 0);
	assert_int_equal(db_step(a), DB_ROW);
	assert_int_equal(db_col_int64(a, 0), 1);
	db_finalize(a);
	/* a statement left open is reset at release: no read snapshot kept */
	assert_int_equal(db_queryf(c, &a, "SELECT name FROM tenants", ""),
	    DB_ROW);
	db_release(c);
	assert_int_equal(db_acquire(db, &c), 0);
	assert_int_equal(db_queryf(c, &a, "SELECT name FROM tenants", ""),
	    DB_ROW);
	assert_string_equal(db_col_text(a, 0), "a");
	db_finalize(a);
	db_release(c);
	tu_db_close(db, dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_migrates),
		cmocka_unit_test(test_bad_open),
		cmocka_unit_test(test_error_mapping),
		cmocka_unit_test(test_types_roundtrip),
		cmocka_unit_test(test_transactions),
		cmocka_unit_test(test_pool_concurrency),
		cmocka_unit_test(test_statement_cache),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
