/*
 * store_policies.c - key_policies and key_sign_counts (store_policies.h).
 * The counters are only ever changed inside the transaction that commits
 * the signatures they count, so a rolled-back signing leaves no trace and
 * a committed one is counted exactly once.
 */
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "err.h"
#include "store_listing.h"
#include "store_policies.h"

void
store_policy_clear(struct store_policy *p)
{
	if (p == NULL)
		return;
	json_decref(p->policy);
	memset(p, 0, sizeof(*p));
}

int
store_policy_get(struct db_conn *c, const char *tenant_id,
    const char *key_id, struct store_policy *out)
{
	struct db_stmt *st = NULL;
	const char *txt, *by;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = db_queryf(c, &st, "SELECT policy, updated_at, updated_by "
	    "FROM key_policies WHERE tenant_id = ? AND key_id = ?", "tt",
	    tenant_id, key_id)) < 0)
		goto out;
	if (r != DB_ROW) {
		r = SN_ERR_NOT_FOUND;
		goto out;
	}
	txt = db_col_text(st, 0);
	by = db_col_text(st, 2);
	if (txt == NULL || (out->policy = json_loads(txt, JSON_REJECT_DUPLICATES,
	    NULL)) == NULL || !json_is_object(out->policy)) {
		r = SN_ERR_DB;
		goto out;
	}
	out->updated_at = db_col_int64(st, 1);
	if (by != NULL && strlen(by) < sizeof(out->updated_by))
		memcpy(out->updated_by, by, strlen(by) + 1);
	r = 0;
 out:
	db_finalize(st);
	if (r != 0)
		store_policy_clear(out);
	return r;
}

int
store_policy_put(struct db_conn *c, const char *tenant_id,
    const char *key_id, const char *policy_json, int64_t now,
    const char *actor_id)
{
	int r;

	/* has_policy and approval_required are in the listing */
	if ((r = db_execf(c, "INSERT INTO key_policies (tenant_id, key_id, "
	    "policy, updated_at, updated_by) VALUES (?, ?, ?, ?, ?) "
	    "ON CONFLICT (key_id) DO UPDATE SET policy = excluded.policy, "
	    "updated_at = excluded.updated_at, updated_by = excluded.updated_by",
	    "tttit", tenant_id, key_id, policy_json, now, actor_id)) != 0)
		return r;
	return store_listing_changed(c, tenant_id);
}

int
store_policy_delete(struct db_conn *c, const char *tenant_id,
    const char *key_id)
{
	int r;

	if ((r = db_execf(c, "DELETE FROM key_policies WHERE tenant_id = ? "
	    "AND key_id = ?", "tt", tenant_id, key_id)) != 0)
		return r;
	if (db_changes(c) == 0)
		return SN_ERR_NOT_FOUND;
	if ((r = store_listing_changed(c, tenant_id)) != 0)
		return r;
	/* A later policy counts afresh. */
	return db_execf(c, "DELETE FROM key_sign_counts WHERE tenant_id = ? "
	    "AND key_id = ?", "tt", tenant_id, key_id);
}

int
store_quota_used(struct db_conn *c, const char *tenant_id,
    const char *key_id, const char *period, int64_t start, int64_t *used)
{
	struct db_stmt *st = NULL;
	int r;

	*used = 0;
	if ((r = db_queryf(c, &st, "SELECT count FROM key_sign_counts WHERE "
	    "tenant_id = ? AND key_id = ? AND period = ? AND period_start = ?",
	    "ttti", tenant_id, key_id, period, start)) < 0)
		goto out;
	if (r == DB_ROW)
		*used = db_col_int64(st, 0);
	r = 0;
 out:
	db_finalize(st);
	return r;
}

int
store_quota_add(struct db_conn *c, const char *tenant_id,
    const char *key_id, const char *period, int64_t start, int64_t n)
{
	int r;

	if ((r = db_execf(c, "DELETE FROM key_sign_counts WHERE tenant_id = ? "
	    "AND key_id = ? AND (period <> ? OR period_start < ?)", "ttti",
	    tenant_id, key_id, period, start)) != 0)
		return r;
	return db_execf(c, "INSERT INTO key_sign_counts (tenant_id, key_id, "
	    "period, period_start, count) VALUES (?, ?, ?, ?, ?) "
	    "ON CONFLICT (key_id, period, period_start) DO UPDATE SET "
	    "count = key_sign_counts.count + excluded.count", "tttii",
	    tenant_id, key_id, period, start, n);
}
