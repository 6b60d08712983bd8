/*
 * store_audit.c - the audit trail's SQL (store_audit.h).
 */
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "err.h"
#include "store_audit.h"
#include "store_page.h"

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

int
store_audit_key_id(struct db_conn *c, const char *tenant_id, const char *key,
    char out[64])
{
	struct db_stmt *st = NULL;
	const char *slash = strchr(key, '/');
	char prj[128];
	int r;

	out[0] = '\0';
	if (slash == NULL) {
		r = db_queryf(c, &st, "SELECT id FROM signing_keys WHERE "
		    "tenant_id = ? AND id = ?", "tt", tenant_id, key);
	} else {
		if ((size_t)(slash - key) >= sizeof(prj))
			return SN_ERR_NOT_FOUND;
		memcpy(prj, key, (size_t)(slash - key));
		prj[slash - key] = '\0';
		r = db_queryf(c, &st, "SELECT k.id FROM signing_keys k JOIN "
		    "projects p ON p.id = k.project_id WHERE k.tenant_id = ? "
		    "AND p.tenant_id = ? AND (p.name = ? OR p.id = ?) AND "
		    "k.name = ?", "ttttt", tenant_id, tenant_id, prj, prj,
		    slash + 1);
	}
	if (r == DB_ROW) {
		snprintf(out, 64, "%s", db_col_text(st, 0));
		r = 0;
	} else if (r == DB_DONE)
		r = SN_ERR_NOT_FOUND;
	db_finalize(st);
	return r;
}

int
store_audit_actor_id(struct db_conn *c, const char *tenant_id,
    const char *who, char out[64])
{
	struct db_stmt *st = NULL;
	int r;

	out[0] = '\0';
	r = db_queryf(c, &st, "SELECT id FROM users WHERE tenant_id = ? AND "
	    "(id = ? OR email = ?) UNION ALL SELECT id FROM service_accounts "
	    "WHERE tenant_id = ? AND (id = ? OR name = ?)", "tttttt",
	    tenant_id, who, who, tenant_id, who, who);
	if (r == DB_ROW) {
		snprintf(out, 64, "%s", db_col_text(st, 0));
		r = 0;
	} else if (r == DB_DONE)
		r = SN_ERR_NOT_FOUND;
	db_finalize(st);
	return r;
}

int
store_audit_page(struct db_conn *c, const struct store_audit_filter *f,
    struct db_stmt **st)
{
	struct store_q sq;

	store_q_init(&sq);
	store_q_sql(&sq, "SELECT " STORE_AUDIT_COLUMNS " FROM audit_events "
	    "WHERE tenant_id = ? AND seq > ?");
	store_q_text(&sq, f->tenant_id);
	store_q_int(&sq, f->after);
	if (f->since > 0) {
		store_q_sql(&sq, " AND time >= ?");
		store_q_int(&sq, f->since);
	}
	if (f->until != INT64_MAX) {
		store_q_sql(&sq, " AND time <= ?");
		store_q_int(&sq, f->until);
	}
	if (f->key_id[0] != '\0') {
		store_q_sql(&sq, " AND object_type = 'key' AND object_id = ?");
		store_q_text(&sq, f->key_id);
	}
	if (f->actor_id[0] != '\0') {
		store_q_sql(&sq, " AND actor_id = ?");
		store_q_text(&sq, f->actor_id);
	}
	if (f->action[0] != '\0') {
		store_q_sql(&sq, " AND action = ?");
		store_q_text(&sq, f->action);
	}
	store_q_sql(&sq, " ORDER BY seq LIMIT ?");
	store_q_int(&sq, f->limit);
	return store_q_run(c, &sq, st);
}
