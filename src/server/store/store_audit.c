/*
 * store_audit.c - the audit trail's SQL (store_audit.h).
 */
#include <stdio.h>

#include "db.h"
#include "err.h"
#include "store_audit.h"

int
store_audit_tail(struct db_conn *c, const char *tenant_id, int64_t *seq,
    char hash[65])
{
	struct db_stmt *st = NULL;
	const char *h;
	int r;

	*seq = 0;
	hash[0] = '\0';
	r = db_queryf(c, &st, "SELECT seq, hash FROM audit_events WHERE "
	    "tenant_id = ? ORDER BY seq DESC LIMIT 1", "t", tenant_id);
	if (r == DB_ROW) {
		*seq = db_col_int64(st, 0);
		h = db_col_text(st, 1);
		snprintf(hash, 65, "%s", h != NULL ? h : "");
		r = 0;
	}
	db_finalize(st);
	return r;
}

int
store_audit_insert(struct db_conn *c, const struct store_audit_row *e)
{
	return db_execf(c, "INSERT INTO audit_events (" STORE_AUDIT_COLUMNS
	    ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	    "ittitttttttttt", e->seq, e->tenant_id, e->id, e->time,
	    e->actor_type, e->actor_id, e->action, e->object_type,
	    e->object_id, e->result, e->details, e->source_ip, e->prev_hash,
	    e->hash);
}

int
store_audit_walk(struct db_conn *c, const char *tenant_id,
    struct db_stmt **st)
{
	return db_queryf(c, st, "SELECT " STORE_AUDIT_COLUMNS ", (SELECT "
	    "t.hash FROM audit_tree t WHERE t.tenant_id = "
	    "audit_events.tenant_id AND t.level = 0 AND t.idx = "
	    "audit_events.seq - 1) FROM audit_events WHERE tenant_id = ? "
	    "ORDER BY seq", "t", tenant_id);
}

int
store_audit_checkpoints(struct db_conn *c, const char *tenant_id,
    struct db_stmt **st)
{
	return db_queryf(c, st, "SELECT size, root FROM audit_checkpoints "
	    "WHERE tenant_id = ? ORDER BY size", "t", tenant_id);
}

int
store_savepoint(struct db_conn *c)
{
	return db_execf(c, "SAVEPOINT sn_sp", "");
}

int
store_savepoint_rollback(struct db_conn *c)
{
	return db_execf(c, "ROLLBACK TO SAVEPOINT sn_sp", "");
}

int
store_savepoint_release(struct db_conn *c)
{
	return db_execf(c, "RELEASE SAVEPOINT sn_sp", "");
}
