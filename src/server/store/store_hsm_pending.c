/*
 * store_hsm_pending.c - HSM keys whose creation has not completed
 * (migration 9; the rules are in api/keygen.c).
 *
 * A row is owned by whoever deletes it: the creating request, in the
 * transaction that inserts the key's own row, or the start-up sweep, before
 * it destroys the HSM object. Both delete with a check that exactly one row
 * went, so a key can never end up both named by a row and destroyed.
 */
#include "db.h"
#include "err.h"
#include "store.h"
#include "store_resources.h"
#include "util.h"

int
store_hsm_pending_add(struct db_conn *c, const char *tenant_id,
    const char *label, const char *hsm_hex)
{
	return db_execf(c, "INSERT INTO hsm_pending (hsm_key_id, label, "
	    "tenant_id, created_at) VALUES (?, ?, ?, ?)", "ttti", hsm_hex,
	    label, tenant_id, sn_now());
}

int
store_hsm_pending_take(struct db_conn *c, const char *hsm_hex,
    int64_t before)
{
	int r;

	if (before != 0)
		r = db_execf(c, "DELETE FROM hsm_pending WHERE hsm_key_id = ? "
		    "AND created_at <= ?", "ti", hsm_hex, before);
	else
		r = db_execf(c, "DELETE FROM hsm_pending WHERE hsm_key_id = ?",
		    "t", hsm_hex);
	if (r != 0)
		return r;
	return db_changes(c) == 1 ? 0 : SN_ERR_NOT_FOUND;
}

int
store_hsm_pending_stale(struct db_conn *c, int64_t before,
    struct store_ids *out)
{
	struct db_stmt *st = NULL;
	int r;

	/* A pending row whose key row exists is a leftover of nothing. */
	if ((r = db_execf(c, "DELETE FROM hsm_pending WHERE hsm_key_id IN "
	    "(SELECT hsm_key_id FROM signing_keys WHERE hsm_key_id IS NOT "
	    "NULL UNION SELECT hsm_key_id FROM cas)", "")) != 0)
		return r;
	r = db_queryf(c, &st, "SELECT hsm_key_id FROM hsm_pending WHERE "
	    "created_at <= ? ORDER BY created_at", "i", before);
	return store_ids_collect(st, r, out);
}
