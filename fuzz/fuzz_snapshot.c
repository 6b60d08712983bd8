/*
 * fuzz_snapshot.c - a SQLite database put back as it was between two fuzz
 * inputs (fuzz_snapshot.h). Fuzz harnesses only.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "fuzz_snapshot.h"

/*
 * live: a connection of our own to the server's database, triggers and
 * foreign keys off, with the snapshot attached as "snap" (an in-memory
 * copy of every table). Each table carries fuzz_dirty_* triggers that name
 * it in fuzz_dirty when a statement of the server's writes it.
 */
static sqlite3 *live;
static sqlite3_stmt *dv_stmt, *dirty_stmt;
static int64_t dv_seen;		/* live's data_version after the last restore */
static int check;		/* FUZZ_WORLD_CHECK: compare after each restore */
#define MAX_TABLES	128
static struct {
	char name[64];
	char *restore;		/* DELETE + INSERT ... SELECT from snap */
} tables[MAX_TABLES];
static int ntables;

static void die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "fuzz snapshot: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	abort();
}

static char *
fmt(const char *f, ...)
{
	va_list ap;
	char *s;

	va_start(ap, f);
	if (vasprintf(&s, f, ap) < 0)
		die("out of memory");
	va_end(ap);
	return s;
}

/*
 * PRAGMA data_version of the live connection: it changes when another
 * connection (the server's pool) commits, never for live's own writes.
 */
static int64_t
data_version(void)
{
	int64_t v;

	if (sqlite3_reset(dv_stmt) != SQLITE_OK ||
	    sqlite3_step(dv_stmt) != SQLITE_ROW)
		die("data_version: %s", sqlite3_errmsg(live));
	v = sqlite3_column_int64(dv_stmt, 0);
	sqlite3_reset(dv_stmt);
	return v;
}

static void
exec_live(const char *sql)
{
	if (sqlite3_exec(live, sql, NULL, NULL, NULL) != SQLITE_OK)
		die("%.80s: %s", sql, sqlite3_errmsg(live));
}

/*
 * The snapshot: opens live, copies every table into the attached in-memory
 * "snap" and puts the dirty-marking triggers on it. The triggers change the
 * schema once, here, before any input.
 */
void
snapshot_take(const char *livepath)
{
	sqlite3_stmt *st;
	char *sql;
	int on = 0;

	if (sqlite3_open(livepath, &live) != SQLITE_OK ||
	    sqlite3_db_config(live, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0,
	    &on) != SQLITE_OK || on != 0)
		die("snapshot: %s", sqlite3_errmsg(live));
	sqlite3_busy_timeout(live, 5000);
	exec_live("PRAGMA foreign_keys=OFF; PRAGMA synchronous=OFF; ATTACH ':memory:' AS snap; "
	    "CREATE TABLE main.fuzz_dirty (name TEXT PRIMARY KEY)");
	if (sqlite3_prepare_v2(live, "SELECT name FROM main.sqlite_master "
	    "WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND "
	    "name <> 'fuzz_dirty' ORDER BY name", -1, &st, NULL) != SQLITE_OK)
		die("snapshot: %s", sqlite3_errmsg(live));
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);

		if (ntables == MAX_TABLES || strlen(t) >= sizeof(tables[0].name) ||
		    strspn(t, "abcdefghijklmnopqrstuvwxyz0123456789_") !=
		    strlen(t))
			die("table %s", t);
		snprintf(tables[ntables].name, sizeof(tables[0].name), "%s", t);
		tables[ntables].restore = fmt("DELETE FROM main.%s; INSERT INTO "
		    "main.%s SELECT * FROM snap.%s;", t, t, t);
		ntables++;
	}
	sqlite3_finalize(st);
	exec_live("BEGIN");
	for (int i = 0; i < ntables; i++) {
		const char *t = tables[i].name;

		sql = fmt("CREATE TABLE snap.%s AS SELECT * FROM main.%s;"
		    "CREATE TRIGGER main.fuzz_dirty_i_%s AFTER INSERT ON %s BEGIN "
		    "INSERT OR IGNORE INTO fuzz_dirty VALUES ('%s'); END;"
		    "CREATE TRIGGER main.fuzz_dirty_u_%s AFTER UPDATE ON %s BEGIN "
		    "INSERT OR IGNORE INTO fuzz_dirty VALUES ('%s'); END;"
		    "CREATE TRIGGER main.fuzz_dirty_d_%s AFTER DELETE ON %s BEGIN "
		    "INSERT OR IGNORE INTO fuzz_dirty VALUES ('%s'); END;",
		    t, t, t, t, t, t, t, t, t, t, t);
		exec_live(sql);
		free(sql);
	}
	exec_live("COMMIT");
	if (sqlite3_prepare_v2(live, "PRAGMA data_version", -1, &dv_stmt,
	    NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(live, "SELECT name FROM main.fuzz_dirty", -1,
	    &dirty_stmt, NULL) != SQLITE_OK)
		die("snapshot: %s", sqlite3_errmsg(live));
	dv_seen = data_version();
	check = getenv("FUZZ_WORLD_CHECK") != NULL;
}

/* FUZZ_WORLD_CHECK: every table holds exactly the snapshot's rows. */
static void
check_restored(void)
{
	for (int i = 0; i < ntables; i++) {
		sqlite3_stmt *st;
		char *sql = fmt("SELECT (SELECT count(*) FROM (SELECT * FROM "
		    "main.%s EXCEPT SELECT * FROM snap.%s)) + (SELECT count(*) "
		    "FROM (SELECT * FROM snap.%s EXCEPT SELECT * FROM main.%s)) + "
		    "abs((SELECT count(*) FROM main.%s) - (SELECT count(*) FROM "
		    "snap.%s))", tables[i].name, tables[i].name, tables[i].name,
		    tables[i].name, tables[i].name, tables[i].name);

		if (sqlite3_prepare_v2(live, sql, -1, &st, NULL) != SQLITE_OK ||
		    sqlite3_step(st) != SQLITE_ROW)
			die("check %s: %s", tables[i].name, sqlite3_errmsg(live));
		if (sqlite3_column_int64(st, 0) != 0)
			die("table %s differs from the snapshot after the "
			    "restore", tables[i].name);
		sqlite3_finalize(st);
		free(sql);
	}
}

int
snapshot_restore(void)
{
	int n = 0;

	if (live == NULL)
		die("no snapshot");
	if (data_version() == dv_seen)
		return 0;	/* nobody committed: nothing to put back */
	exec_live("BEGIN IMMEDIATE");
	while (sqlite3_step(dirty_stmt) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(dirty_stmt, 0);
		int i;

		for (i = 0; i < ntables; i++)
			if (strcmp(tables[i].name, t) == 0)
				break;
		if (i == ntables)
			die("dirty table %s is not in the snapshot", t);
		exec_live(tables[i].restore);
		n++;
	}
	if (sqlite3_reset(dirty_stmt) != SQLITE_OK)
		die("fuzz_dirty: %s", sqlite3_errmsg(live));
	if (n > 0)
		exec_live("DELETE FROM main.fuzz_dirty");
	exec_live("COMMIT");
	dv_seen = data_version();
	if (check)
		check_restored();
	return n;
}

void
snapshot_close(void)
{
	sqlite3_finalize(dv_stmt);
	sqlite3_finalize(dirty_stmt);
	dv_stmt = dirty_stmt = NULL;
	if (live != NULL)
		sqlite3_close(live);
	live = NULL;
	for (int i = 0; i < ntables; i++) {
		free(tables[i].restore);
		tables[i].restore = NULL;
	}
	ntables = 0;
}
