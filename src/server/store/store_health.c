/*
 * store_health.c - the readiness query (see store_health.h).
 */
#include "err.h"
#include "store_health.h"

int
store_ping(struct db *db)
{
	struct db_conn *c = NULL;
	struct db_stmt *st = NULL;
	int r;

	if ((r = db_acquire(db, &c)) != 0)
		return r;
	/* a write transaction, left at once: what every signature needs */
	if ((r = db_begin(c)) != 0)
		goto out;
	r = db_queryf(c, &st, "SELECT MAX(version) FROM schema_version", "");
	r = r == DB_ROW ? 0 : r == DB_DONE ? SN_ERR_DB : r;
 out:
	db_finalize(st);
	db_rollback(c);
	db_release(c);
	return r;
}
