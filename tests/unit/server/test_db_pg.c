/*
 * test_db_pg.c - the PostgreSQL backend of db.h against a real server (the
 * private cluster of the "pg" ctest fixture, tests/pg_cluster.sh): the same
 * contract as test_db.c (migrations, error mapping, types, transactions,
 * the pool) plus what only a server backend has: '?' rewriting around
 * literals, an aborted transaction that must not commit, the per-tenant
 * chain lock, concurrent migrations, the statement cache across sessions.
 * Each run uses a fresh database.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "db.h"
#include "db_contract.h"
#include "err.h"
#include "schema.sql.h"
#include "sn_never_test.h"

static char pg_bin[512], pg_host[512], pg_port[16], pg_user[64];
static char url[1400], dbname[64];

static void
env_line(const char *line, const char *key, char *out, size_t outlen)
{
	size_t n = strlen(key);

	if (strncmp(line, key, n) == 0 && line[n] == '=')
		snprintf(out, outlen, "%.*s", (int)strcspn(line + n + 1, "\n"),
		    line + n + 1);
}

/* A fresh database in the fixture's cluster; its URL in url. */
static int
setup(void **state)
{
	const char *envf = getenv("SIGNET_PG_ENV");
	char line[1024], cmd[2048], name[64];
	FILE *f;

	(void)state;
	if (envf == NULL || (f = fopen(envf, "r")) == NULL) {
		fprintf(stderr, "test_db_pg: no SIGNET_PG_ENV cluster\n");
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		env_line(line, "SIGNET_PG_BIN", pg_bin, sizeof(pg_bin));
		env_line(line, "SIGNET_PG_HOST", pg_host, sizeof(pg_host));
		env_line(line, "SIGNET_PG_PORT", pg_port, sizeof(pg_port));
		env_line(line, "SIGNET_PG_USER", pg_user, sizeof(pg_user));
	}
	fclose(f);
	snprintf(name, sizeof(name), "unit_db_%ld", (long)getpid());
	snprintf(dbname, sizeof(dbname), "%s", name);
	snprintf(cmd, sizeof(cmd), "'%s/createdb' -h '%s' -p '%s' -U '%s' %s",
	    pg_bin, pg_host, pg_port, pg_user, name);
	if (system(cmd) != 0)
		return -1;
	snprintf(url, sizeof(url), "postgresql:///%s?host=%s&port=%s&user=%s",
	    name, pg_host, pg_port, pg_user);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[2048];

	(void)state;
	snprintf(cmd, sizeof(cmd), "'%s/dropdb' -h '%s' -p '%s' -U '%s' "
	    "--if-exists %s", pg_bin, pg_host, pg_port, pg_user, dbname);
	return system(cmd) == 0 ? 0 : -1;
}

static struct db *
open_db(int pool)
{
	struct db *db = NULL;

	assert_int_equal(db_open(url, pool, &db), 0);
	assert_string_equal(db_backend(db), "postgresql");
	return db;
}

/* In assert_never's child: a connection of its own, so the statement it
 * sends is not on the parent's socket. */
static int
execf_mismatch_own_conn(void)
{
	struct db *db = NULL;
	struct db_conn *c = NULL;

	if (db_open(url, 1, &db) != 0 || db_acquire(db, &c) != 0)
		return 1;
	return db_execf(c, "SELECT ?", "");
}

struct opener {
	int r, version;
};

static void *
open_thread(void *p)
{
	struct opener *o = p;
	struct db *db = NULL;

	if ((o->r = db_open(url, 1, &db)) == 0)
		o->r = db_schema_version(db, &o->version);
	db_close(db);
	return NULL;
}

static void
test_migrations_at_once(void **state)
{
	struct opener o[4];
	pthread_t th[4];
	struct db *db;
	struct db_conn *c;
	struct db_stmt *st;
	int i;

	(void)state;
	/* Four "instances" open the fresh database together: each migration
	 * is applied once, under the advisory lock, and all see the result. */
	memset(o, 0, sizeof(o));
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, open_thread, &o[i]),
		    0);
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(o[i].r, 0);
		assert_int_equal(o[i].version, SIGNET_SCHEMA_VERSION);
	}
	db = open_db(1);
	assert_int_equal(db_acquire(db, &c), 0);
	assert_int_equal(db_queryf(c, &st,
	    "SELECT COUNT(*) FROM schema_version", ""), DB_ROW);
	assert_int_equal(db_col_int64(st, 0), SIGNET_SCHEMA_VERSION);
	db_finalize(st);
	/* BLOB became BYTEA */
	assert_int_equal(db_queryf(c, &st, "SELECT data_type FROM "
	    "information_schema.columns WHERE table_name = 'api_keys' AND "
	    "column_name = 'secret_hash'", ""), DB_ROW);
	assert_string_equal(db_col_text(st, 0), "bytea");
	db_finalize(st);
	db_release(c);
	db_close(db);
}

static void
test_bad_open(void **state)
{
	struct db *db = (struct db *)1;
	char bad[1600];

	(void)state;
	/* garbage and unreachable URLs: a clear error, no pool */
	assert_int_equal(db_open("mysql://localhost/x", 1, &db),
	    SN_ERR_INVALID);
	assert_null(db);
	assert_int_equal(db_open("postgresql://%zz", 1, &db), SN_ERR_DB);
	assert_int_equal(db_open("postgresql:///nosuchdb?host=/nonexistent",
	    1, &db), SN_ERR_DB);
	snprintf(bad, sizeof(bad), "postgresql:///no_such_database?host=%s"
	    "&port=%s&user=%s", pg_host, pg_port, pg_user);
	assert_int_equal(db_open(bad, 1, &db), SN_ERR_DB);
	assert_null(db);
}

static void
test_error_mapping(void **state)
{
	struct db *db;
	struct db_conn *c;

	(void)state;
	db = open_db(1);
	assert_int_equal(db_acquire(db, &c), 0);
	assert_int_equal(db_execf(c, "DELETE FROM tenants", ""), 0);
	dbc_error_mapping(c);
	/* a wrong type string is the caller's bug: traps in debug */
	assert_never(execf_mismatch_own_conn(), SN_ERR_INTERNAL);
	/* INSERT ... ON CONFLICT DO NOTHING: no error, no row */
	assert_int_equal(db_execf(c, "INSERT INTO tenants VALUES (?, ?, ?) "
	    "ON CONFLICT DO NOTHING", "tti", "ten_1", "x", (int64_t)1), 0);
	assert_int_equal(db_changes(c), 0);
	db_release(c);
	db_close(db);
}

static void
test_types_and_placeholders(void **state)
{
	struct db *db;
	struct db_conn *c;
	struct db_stmt *st = NULL;
	const uint8_t blob[5] = { 0, 1, 0xff, 0, '?' };
	const void *p;
	size_t len;

	(void)state;
	db = open_db(1);
	assert_int_equal(db_acquire(db, &c), 0);
	assert_int_equal(db_execf(c, "CREATE TEMP TABLE t (n BIGINT, a TEXT, "
	    "b BIGINT, c BYTEA)", ""), 0);
	assert_int_equal(db_execf(c, "INSERT INTO t VALUES (1, ?, ?, ?)", "tib",
	    "h\xc3\xa9llo ? '", (int64_t)INT64_MIN, blob, sizeof(blob)), 0);
	assert_int_equal(db_execf(c, "INSERT INTO t VALUES (2, ?, ?, ?)", "tnb",
	    NULL, "", (size_t)0), 0);
	assert_int_equal(db_execf(c, "INSERT INTO t VALUES (3, ?, ?, ?)", "tin",
	    "", (int64_t)INT64_MAX), 0);
	/* '?' inside a literal, a quoted identifier and a comment stay */
	assert_int_equal(db_queryf(c, &st, "SELECT '?''?', a AS \"a?\", b, c "
	    "-- is it ?\n FROM t WHERE n >= ? ORDER BY n", "i", (int64_t)1),
	    DB_ROW);
	assert_string_equal(db_col_text(st, 0), "?'?");
	assert_string_equal(db_col_text(st, 1), "h\xc3\xa9llo ? '");
	assert_true(db_col_int64(st, 2) == INT64_MIN);
	p = db_col_blob(st, 3, &len);
	assert_int_equal(len, sizeof(blob));
	assert_memory_equal(p, blob, sizeof(blob));
	assert_int_equal(db_step(st), DB_ROW);
	assert_null(db_col_text(st, 1));
	assert_true(db_col_is_null(st, 2));
	assert_false(db_col_is_null(st, 3));	/* an empty blob is not NULL */
	p = db_col_blob(st, 3, &len);
	assert_non_null(p);
	assert_int_equal(len, 0);
	assert_int_equal(db_step(st), DB_ROW);
	assert_string_equal(db_col_text(st, 1), "");
	assert_true(db_col_int64(st, 2) == INT64_MAX);
	assert_true(db_col_is_null(st, 3));
	assert_int_equal(db_step(st), DB_DONE);
	db_finalize(st);
	/* booleans read as 0/1; a NULL needs a type from its context */
	assert_int_equal(db_queryf(c, &st, "SELECT 1 = 1, 1 = 2, "
	    "CAST(? AS TEXT) IS NULL", "n"), DB_ROW);
	assert_int_equal(db_col_int64(st, 0), 1);
	assert_int_equal(db_col_int64(st, 1), 0);
	assert_int_equal(db_col_int64(st, 2), 1);
	db_finalize(st);
	assert_int_equal(db_queryf(c, &st, "SELECT a FROM t WHERE b = ?", "i",
	    (int64_t)5), DB_DONE);
	db_finalize(st);
	db_release(c);
	db_close(db);
}

static void
test_aborted_transaction(void **state)
{
	struct db *db;
	struct db_conn *c;
	struct db_stmt *st;

	(void)state;
	db = open_db(1);
	assert_int_equal(db_acquire(db, &c), 0);
	assert_int_equal(db_execf(c, "DELETE FROM tenants", ""), 0);
	assert_int_equal(db_begin(c), 0);
	assert_int_equal(db_execf(c, "INSERT INTO tenants VALUES ('a','a',1)",
	    ""), 0);
	assert_int_equal(db_execf(c, "INSERT INTO tenants VALUES ('a','a',1)",
	    ""), SN_ERR_CONFLICT);
	/* PostgreSQL aborted the whole transaction: the commit must fail and
	 * the first insert must not be there (COMMIT alone would "succeed"
	 * as a rollback). */
	assert_true(db_in_transaction(c));
	assert_int_equal(db_commit(c), SN_ERR_DB);
	assert_false(db_in_transaction(c));
	assert_int_equal(db_queryf(c, &st, "SELECT COUNT(*) FROM tenants", ""),
	    DB_ROW);
	assert_int_equal(db_col_int64(st, 0), 0);
	db_finalize(st);
	/* and the connection works again */
	assert_int_equal(db_begin(c), 0);
	assert_int_equal(db_execf(c, "INSERT INTO tenants VALUES ('b','b',1)",
	    ""), 0);
	assert_int_equal(db_commit(c), 0);
	db_release(c);
	db_close(db);
}

struct locker {
	struct db *db;
	const char *tenant;
	volatile int done;
	int r;
};

static void *
lock_thread(void *p)
{
	struct locker *l = p;
	struct db_conn *c = NULL;

	if ((l->r = db_acquire(l->db, &c)) == 0 &&
	    (l->r = db_begin(c)) == 0 &&
	    (l->r = db_chain_lock(c, l->tenant)) == 0)
		l->r = db_commit(c);
	__atomic_store_n(&l->done, 1, __ATOMIC_SEQ_CST);
	db_release(c);
	return NULL;
}

static void
test_chain_lock(void **state)
{
	struct db *db;
	struct db_conn *c;
	struct locker other = { 0 }, same = { 0 };
	pthread_t t1, t2;

	(void)state;
	db = open_db(3);
	assert_int_equal(db_acquire(db, &c), 0);
	assert_never(db_chain_lock(c, "ten_x"), SN_ERR_INTERNAL);
	assert_int_equal(db_begin(c), 0);
	assert_int_equal(db_chain_lock(c, "ten_x"), 0);
	assert_int_equal(db_chain_lock(c, "ten_x"), 0);	/* again: free */
	/* another tenant's lock does not wait (if it did, this join would
	 * hang and the test time out) */
	other = (struct locker){ .db = db, .tenant = "ten_y" };
	assert_int_equal(pthread_create(&t1, NULL, lock_thread, &other), 0);
	pthread_join(t1, NULL);
	assert_int_equal(other.r, 0);
	/* the same tenant's waits until this transaction ends */
	same = (struct locker){ .db = db, .tenant = "ten_x" };
	assert_int_equal(pthread_create(&t2, NULL, lock_thread, &same), 0);
	usleep(300 * 1000);
	assert_int_equal(__atomic_load_n(&same.done, __ATOMIC_SEQ_CST), 0);
	assert_int_equal(db_commit(c), 0);
	pthread_join(t2, NULL);
	assert_int_equal(same.r, 0);
	db_release(c);
	db_close(db);
}

static void
test_statement_cache(void **state)
{
	struct db *db;
	struct db_conn *c;
	struct db_stmt *a;
	uint64_t prepared, reused, p2, r2;

	(void)state;
	db = open_db(1);
	db_stmt_stats(db, &prepared, &reused);
	assert_int_equal(db_acquire(db, &c), 0);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(db_queryf(c, &a, "SELECT ? + 1", "i",
		    (int64_t)i), DB_ROW);
		assert_int_equal(db_col_int64(a, 0), i + 1);
		db_finalize(a);
	}
	dbc_same_text_twice(c);
	/* other bind types on a cached statement: prepared again, right */
	assert_int_equal(db_queryf(c, &a, "SELECT CAST(? AS TEXT) IS NULL",
	    "n"), DB_ROW);
	assert_int_equal(db_col_int64(a, 0), 1);
	db_finalize(a);
	assert_int_equal(db_queryf(c, &a, "SELECT CAST(? AS TEXT) IS NULL",
	    "t", "x"), DB_ROW);
	assert_int_equal(db_col_int64(a, 0), 0);
	db_finalize(a);
	db_release(c);
	db_stmt_stats(db, &p2, &r2);
	assert_true(r2 - reused >= 5);
	assert_true(p2 - prepared <= 3);
	db_close(db);
}

static void
test_reconnect(void **state)
{
	struct db *db, *other;
	struct db_conn *c, *o;
	struct db_stmt *st;
	int64_t pid;

	(void)state;
	db = open_db(1);
	other = open_db(1);
	assert_int_equal(db_acquire(db, &c), 0);
	assert_int_equal(db_queryf(c, &st, "SELECT pg_backend_pid()", ""),
	    DB_ROW);
	pid = db_col_int64(st, 0);
	db_finalize(st);
	db_release(c);
	/* the server ends that session (a restart, a failover, an admin) */
	assert_int_equal(db_acquire(other, &o), 0);
	assert_int_equal(db_queryf(o, &st, "SELECT pg_terminate_backend("
	    "CAST(? AS INTEGER))", "i", pid), DB_ROW);
	db_finalize(st);
	db_release(o);
	db_close(other);
	/* the next use fails as "try again", the one after reconnects, with
	 * its cached statements prepared again on the new session */
	assert_int_equal(db_acquire(db, &c), 0);
	assert_int_equal(db_queryf(c, &st, "SELECT pg_backend_pid()", ""),
	    SN_ERR_UNAVAILABLE);
	db_release(c);
	assert_int_equal(db_acquire(db, &c), 0);
	assert_int_equal(db_queryf(c, &st, "SELECT pg_backend_pid()", ""),
	    DB_ROW);
	assert_true(db_col_int64(st, 0) != pid);
	db_finalize(st);
	db_release(c);
	db_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_migrations_at_once),
		cmocka_unit_test(test_bad_open),
		cmocka_unit_test(test_error_mapping),
		cmocka_unit_test(test_types_and_placeholders),
		cmocka_unit_test(test_aborted_transaction),
		cmocka_unit_test(test_chain_lock),
		cmocka_unit_test(test_statement_cache),
		cmocka_unit_test(test_reconnect),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
