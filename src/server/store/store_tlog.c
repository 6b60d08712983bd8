/*
 * store_tlog.c - the transparency log's rows (store_tlog.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "err.h"
#include "store_tlog.h"

int
store_tree_node_get(struct db_conn *c, const char *tenant, int level,
    uint64_t idx, uint8_t out[STORE_TLOG_HASH_LEN])
{
	struct db_stmt *st = NULL;
	const void *p;
	size_t len = 0;
	int r;

	if (idx > INT64_MAX)
		return SN_ERR_INVALID;
	r = db_queryf(c, &st, "SELECT hash FROM audit_tree WHERE "
	    "tenant_id = ? AND level = ? AND idx = ?", "tii", tenant,
	    (int64_t)level, (int64_t)idx);
	if (r == DB_ROW) {
		p = db_col_blob(st, 0, &len);
		if (p != NULL && len == STORE_TLOG_HASH_LEN) {
			memcpy(out, p, STORE_TLOG_HASH_LEN);
			r = 0;
		} else
			r = SN_ERR_DB;
	} else if (r == DB_DONE)
		r = SN_ERR_NOT_FOUND;
	db_finalize(st);
	return r;
}

int
store_tree_node_put(struct db_conn *c, const char *tenant, int level,
    uint64_t idx, const uint8_t hash[STORE_TLOG_HASH_LEN])
{
	if (idx > INT64_MAX)
		return SN_ERR_INVALID;
	return db_execf(c, "INSERT INTO audit_tree (tenant_id, level, idx, "
	    "hash) VALUES (?, ?, ?, ?)", "tiib", tenant, (int64_t)level,
	    (int64_t)idx, hash, (size_t)STORE_TLOG_HASH_LEN);
}

/* MAX(...) of one tenant: 0 and *isnull for no rows. */
static int
max_of(struct db_conn *c, const char *sql, const char *tenant, int64_t *v,
    int *isnull)
{
	struct db_stmt *st = NULL;
	int r;

	*v = 0;
	*isnull = 1;
	r = db_queryf(c, &st, sql, "t", tenant);
	if (r == DB_ROW && !db_col_is_null(st, 0)) {
		*v = db_col_int64(st, 0);
		*isnull = 0;
	}
	db_finalize(st);
	return r < 0 ? r : 0;
}

int
store_tree_size(struct db_conn *c, const char *tenant, uint64_t *size)
{
	int64_t v;
	int r, isnull;

	*size = 0;
	if ((r = max_of(c, "SELECT MAX(idx) FROM audit_tree WHERE "
	    "tenant_id = ? AND level = 0", tenant, &v, &isnull)) != 0)
		return r;
	if (!isnull)
		*size = (uint64_t)v + 1;
	return 0;
}

int
store_audit_last_seq(struct db_conn *c, const char *tenant, uint64_t *last)
{
	int64_t v;
	int r, isnull;

	*last = 0;
	if ((r = max_of(c, "SELECT MAX(seq) FROM audit_events WHERE "
	    "tenant_id = ?", tenant, &v, &isnull)) != 0)
		return r;
	if (!isnull && v > 0)
		*last = (uint64_t)v;
	return 0;
}

int
store_audit_hash_page(struct db_conn *c, const char *tenant, uint64_t from,
    uint64_t to, size_t cap, struct store_seq_hash *out, size_t *n)
{
	struct db_stmt *st = NULL;
	const char *h;
	int r;

	*n = 0;
	if (from > INT64_MAX || to > INT64_MAX || cap > INT64_MAX)
		return SN_ERR_INVALID;
	r = db_queryf(c, &st, "SELECT seq, hash FROM audit_events "
	    "WHERE tenant_id = ? AND seq >= ? AND seq <= ? ORDER BY seq "
	    "LIMIT ?", "tiii", tenant, (int64_t)from, (int64_t)to,
	    (int64_t)cap);
	while (r == DB_ROW && *n < cap) {
		h = db_col_text(st, 1);
		if (h == NULL || strlen(h) >= sizeof(out[0].hash)) {
			r = SN_ERR_DB;
			break;
		}
		out[*n].seq = (uint64_t)db_col_int64(st, 0);
		snprintf(out[*n].hash, sizeof(out[0].hash), "%s", h);
		(*n)++;
		r = db_step(st);
	}
	db_finalize(st);
	return r < 0 ? r : 0;
}

int
store_checkpoint_latest(struct db_conn *c, const char *tenant, char **note,
    uint64_t *size, uint8_t root[STORE_TLOG_HASH_LEN], int64_t *created)
{
	struct db_stmt *st = NULL;
	const void *p;
	size_t len = 0;
	int r;

	if (note != NULL)
		*note = NULL;
	*size = 0;
	r = db_queryf(c, &st, "SELECT size, root, note, created_at FROM "
	    "audit_checkpoints WHERE tenant_id = ? ORDER BY size DESC LIMIT 1",
	    "t", tenant);
	if (r == DB_ROW) {
		p = db_col_blob(st, 1, &len);
		if (p == NULL || len != STORE_TLOG_HASH_LEN ||
		    db_col_text(st, 2) == NULL) {
			r = SN_ERR_DB;
			goto out;
		}
		*size = (uint64_t)db_col_int64(st, 0);
		if (root != NULL)
			memcpy(root, p, STORE_TLOG_HASH_LEN);
		if (created != NULL)
			*created = db_col_int64(st, 3);
		if (note != NULL && (*note = strdup(db_col_text(st, 2))) == NULL) {
			r = SN_ERR_NOMEM;
			goto out;
		}
		r = 0;
	} else if (r == DB_DONE)
		r = SN_ERR_NOT_FOUND;
 out:
	db_finalize(st);
	return r;
}

int
store_checkpoint_insert(struct db_conn *c, const char *tenant, uint64_t size,
    const uint8_t root[STORE_TLOG_HASH_LEN], const char *note, int64_t now,
    int *made)
{
	int r;

	*made = 0;
	if (size > INT64_MAX)
		return SN_ERR_INVALID;
	r = db_execf(c, "INSERT INTO audit_checkpoints (tenant_id, size, root, "
	    "note, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT "
	    "(tenant_id, size) DO NOTHING", "tibti", tenant, (int64_t)size,
	    root, (size_t)STORE_TLOG_HASH_LEN, note, now);
	if (r == 0)
		*made = db_changes(c) > 0;
	return r;
}

int
store_log_key_get(struct db_conn *c, const char *tenant,
    struct store_log_key *out)
{
	struct db_stmt *st = NULL;
	const void *p;
	const char *o, *h;
	size_t len = 0;
	int r;

	memset(out, 0, sizeof(*out));
	r = db_queryf(c, &st, "SELECT origin, hsm_key_id, public_key FROM "
	    "audit_log_keys WHERE tenant_id = ?", "t", tenant);
	if (r == DB_ROW) {
		o = db_col_text(st, 0);
		h = db_col_text(st, 1);
		p = db_col_blob(st, 2, &len);
		if (o == NULL || h == NULL || p == NULL ||
		    len != STORE_LOG_PUB_LEN ||
		    strlen(o) >= sizeof(out->origin) ||
		    strlen(h) >= sizeof(out->hsm_key_id))
			r = SN_ERR_DB;
		else {
			snprintf(out->origin, sizeof(out->origin), "%s", o);
			snprintf(out->hsm_key_id, sizeof(out->hsm_key_id), "%s",
			    h);
			memcpy(out->pub, p, STORE_LOG_PUB_LEN);
			r = 0;
		}
	} else if (r == DB_DONE)
		r = SN_ERR_NOT_FOUND;
	db_finalize(st);
	return r;
}

int
store_log_key_insert(struct db_conn *c, const char *tenant,
    const char *origin, const char *hsm_key_id_hex,
    const uint8_t pub[STORE_LOG_PUB_LEN], int64_t now, int *made)
{
	int r;

	*made = 0;
	r = db_execf(c, "INSERT INTO audit_log_keys (tenant_id, origin, "
	    "hsm_key_id, public_key, created_at) VALUES (?, ?, ?, ?, ?) "
	    "ON CONFLICT (tenant_id) DO NOTHING", "tttbi", tenant, origin,
	    hsm_key_id_hex, pub, (size_t)STORE_LOG_PUB_LEN, now);
	if (r == 0)
		*made = db_changes(c) > 0;
	return r;
}

int
store_tenant_ids(struct db_conn *c, size_t max, char (*ids)[64], size_t *n)
{
	struct db_stmt *st = NULL;
	const char *id;
	int r;

	*n = 0;
	if (max > INT64_MAX)
		return SN_ERR_INVALID;
	r = db_queryf(c, &st, "SELECT id FROM tenants ORDER BY id LIMIT ?",
	    "i", (int64_t)max);
	while (r == DB_ROW && *n < max) {
		if ((id = db_col_text(st, 0)) == NULL || strlen(id) >= 64) {
			r = SN_ERR_DB;
			break;
		}
		snprintf(ids[(*n)++], 64, "%s", id);
		r = db_step(st);
	}
	db_finalize(st);
	return r < 0 ? r : 0;
}
