/*
 * store_tokens.c - access tokens, the jti replay store, console session
 * expiry (store_tokens.h).
 */
#include "db.h"
#include "err.h"
#include "store_tokens.h"

int
store_jti_use(struct db_conn *c, const char *sa_id, const char *jti,
    int64_t expires_at, int64_t purge_before)
{
	int r;

	if ((r = db_execf(c, "DELETE FROM jwt_replay WHERE expires_at < ?",
	    "i", purge_before)) != 0)
		return r;
	/*
	 * ON CONFLICT DO NOTHING rather than a failing INSERT: a replay is
	 * an answer, not an error, and on PostgreSQL a failed statement
	 * would abort the transaction. A concurrent insert of the same jti
	 * by another instance waits for that transaction and then sees it.
	 */
	if ((r = db_execf(c, "INSERT INTO jwt_replay (service_account_id, jti, "
	    "expires_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", "tti",
	    sa_id, jti, expires_at)) != 0)
		return r;
	return db_changes(c) == 1 ? 0 : SN_ERR_CONFLICT;
}

int
store_token_insert(struct db_conn *c, const struct store_token_new *t)
{
	return db_execf(c, "INSERT INTO access_tokens (id, tenant_id, "
	    "service_account_id, key_version, secret_hash, created_at, "
	    "expires_at, federation_id, provenance) VALUES "
	    "(?, ?, ?, ?, ?, ?, ?, ?, ?)", "tttibiitt", t->id, t->tenant_id,
	    t->sa_id, t->key_version, t->secret_hash, t->secret_hash_len,
	    t->created_at, t->expires_at, t->federation_id, t->provenance);
}

int
store_console_session_expiry(struct db_conn *c, const char *tenant_id,
    const char *id, int64_t *expires_at)
{
	struct db_stmt *st = NULL;
	int r;

	*expires_at = 0;
	r = db_queryf(c, &st, "SELECT expires_at FROM console_sessions WHERE "
	    "id = ? AND tenant_id = ?", "tt", id, tenant_id);
	if (r == DB_ROW)
		*expires_at = db_col_int64(st, 0);
	db_finalize(st);
	return r == DB_ROW ? 0 : r == DB_DONE ? SN_ERR_NOT_FOUND : r;
}
