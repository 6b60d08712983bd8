/*
 * store_snapshot.c - online copy of the SQLite database (see
 * store_snapshot.h). Only this file and db_sqlite.c talk to SQLite.
 */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "err.h"
#include "store_snapshot.h"

#define SNAPSHOT_BUSY_MS	10000

int
store_url_is_sqlite(const char *db_url)
{
	return db_url != NULL && (strncmp(db_url, "sqlite:", 7) == 0 ||
	    strstr(db_url, "://") == NULL);
}

static const char *
sqlite_path(const char *url)
{
	if (strncmp(url, "sqlite:", 7) != 0)
		return url;
	url += 7;
	if (strncmp(url, "//", 2) == 0)		/* sqlite:///abs/path */
		url += 2;
	return url;
}

int
store_snapshot_sqlite(const char *db_url, const char *out_path)
{
	sqlite3 *src = NULL, *dst = NULL;
	sqlite3_backup *b = NULL;
	int rc, r = SN_ERR_DB;

	if (!store_url_is_sqlite(db_url) || out_path == NULL)
		return SN_ERR_INVALID;
	/* READWRITE (not READONLY): a WAL reader needs the -shm file, which
	 * only a writer may create; nothing is written through it. */
	if ((rc = sqlite3_open_v2(sqlite_path(db_url), &src,
	    SQLITE_OPEN_READWRITE, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_open_v2(out_path, &dst, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL)) != SQLITE_OK) {
		fprintf(stderr, "signetd: backup: cannot open %s: %s\n",
		    src == NULL || dst == NULL ? out_path : db_url,
		    sqlite3_errstr(rc));
		goto out;
	}
	sqlite3_busy_timeout(src, SNAPSHOT_BUSY_MS);
	if ((b = sqlite3_backup_init(dst, "main", src, "main")) == NULL) {
		fprintf(stderr, "signetd: backup: %s\n", sqlite3_errmsg(dst));
		goto out;
	}
	/* -1: every page in one step, so one read transaction sees them all */
	rc = sqlite3_backup_step(b, -1);
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
		fprintf(stderr, "signetd: backup: the database stayed locked\n");
		r = SN_ERR_UNAVAILABLE;
		goto out;
	}
	if (rc != SQLITE_DONE) {
		fprintf(stderr, "signetd: backup: copy failed: %s\n",
		    sqlite3_errstr(rc));
		goto out;
	}
	rc = sqlite3_backup_finish(b);
	b = NULL;
	if (rc != SQLITE_OK) {
		fprintf(stderr, "signetd: backup: copy failed: %s\n",
		    sqlite3_errstr(rc));
		goto out;
	}
	r = 0;
 out:
	if (b != NULL)
		sqlite3_backup_finish(b);
	if (dst != NULL && sqlite3_close(dst) != SQLITE_OK && r == 0)
		r = SN_ERR_DB;
	sqlite3_close(src);
	return r;
}
