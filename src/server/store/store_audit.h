/*
 * store_audit.h - the SQL of the audit trail (audit/audit.c): the chain's
 * tail, the insert of an event, and the rows the verifier walks. The chain
 * rules (hashing, order, the chain lock) stay in audit/.
 *
 * Return convention: 0 or a negative SN_ERR_*.
 */
#ifndef SIGNET_STORE_AUDIT_H
#define SIGNET_STORE_AUDIT_H

#include <stdint.h>

#include "util.h"

struct db_conn;
struct db_stmt;

/* The columns audit_row_json() expects, in order, for SELECT lists. */
#define STORE_AUDIT_COLUMNS "seq, tenant_id, id, time, actor_type, " \
	"actor_id, action, object_type, object_id, result, details, " \
	"source_ip, prev_hash, hash"

/* One stored event; every string non-NULL ("" for none). */
struct store_audit_row {
	int64_t seq;
	const char *tenant_id, *id;
	int64_t time;
	const char *actor_type, *actor_id, *action, *object_type, *object_id;
	const char *result, *details, *source_ip, *prev_hash, *hash;
};

/* The tenant's last event: *seq (0 if none) and its hash ("" if none). */
int store_audit_tail(struct db_conn *c, const char *tenant_id, int64_t *seq,
    char hash[65]) SN_WUR;
int store_audit_insert(struct db_conn *c, const struct store_audit_row *e)
    SN_WUR;

/*
 * For the verifier, positioned on the first row (db_queryf's result):
 * every event of the tenant in seq order, STORE_AUDIT_COLUMNS plus its
 * stored tree leaf (column 14, NULL if missing); and the stored
 * checkpoints (size, root) in size order. The caller finalizes *st.
 */
int store_audit_walk(struct db_conn *c, const char *tenant_id,
    struct db_stmt **st) SN_WUR;
int store_audit_checkpoints(struct db_conn *c, const char *tenant_id,
    struct db_stmt **st) SN_WUR;

/*
 * GET /v1/audit's resolution of its filters inside the tenant: ?key= (a key
 * id, or PROJECT/KEY, project by name or id) and ?actor= (a user id or
 * email, a service account id or name) to the id the events name. 0 and
 * out, SN_ERR_NOT_FOUND, or SN_ERR_DB.
 */
int store_audit_key_id(struct db_conn *c, const char *tenant_id,
    const char *key, char out[64]) SN_WUR;
int store_audit_actor_id(struct db_conn *c, const char *tenant_id,
    const char *who, char out[64]) SN_WUR;

/* One page of GET /v1/audit: "" (or 0, INT64_MAX) means no such filter. */
struct store_audit_filter {
	const char *tenant_id;
	int64_t after;			/* seq > after */
	int64_t since, until;		/* time >= since (if > 0), <= until */
	const char *key_id, *actor_id, *action;
	int64_t limit;
};

/*
 * The events of the page in seq order, STORE_AUDIT_COLUMNS, positioned on
 * the first row (DB_ROW, DB_DONE or SN_ERR_*, as db_queryf). The filters
 * present become the query's conditions (rather than "? = '' OR ..."), so
 * that the indexes of migration 8 serve ?key= and ?actor= and a page reads
 * only its own rows. The caller finalizes *st.
 */
int store_audit_page(struct db_conn *c, const struct store_audit_filter *f,
    struct db_stmt **st) SN_WUR;

/*
 * A savepoint inside the open transaction (plain SQL both backends take):
 * opened, rolled back to (it stays open), or released. One level only.
 */
int store_savepoint(struct db_conn *c) SN_WUR;
int store_savepoint_rollback(struct db_conn *c) SN_WUR;
int store_savepoint_release(struct db_conn *c) SN_WUR;

#endif
