/*
 * store_auth.c - the SQL of authentication and of the signing re-check
 * (store_auth.h). The decisions are made by the callers; nothing here
 * sees a secret.
 */
#include <string.h>

#include "db.h"
#include "err.h"
#include "store_auth.h"
#include "sn_assert.h"

/* The credential still holds (each binds: id, principal, tenant, now...). */
#define CRED_APIKEY \
	"SELECT 1 FROM api_keys ak JOIN users u ON u.id = ak.user_id " \
	"WHERE ak.id = ? AND ak.user_id = ? AND ak.tenant_id = ? AND " \
	"u.tenant_id = ak.tenant_id AND u.disabled = 0 AND " \
	"ak.revoked_at IS NULL AND (ak.expires_at IS NULL OR ak.expires_at > ?)"
#define CRED_TOKEN \
	"SELECT 1 FROM access_tokens a JOIN service_accounts sa ON " \
	"sa.id = a.service_account_id WHERE a.id = ? AND " \
	"a.service_account_id = ? AND a.tenant_id = ? AND " \
	"sa.tenant_id = a.tenant_id AND a.key_version = sa.key_version AND " \
	"(a.expires_at IS NULL OR a.expires_at > ?)"
#define CRED_SESSION \
	"SELECT 1 FROM console_sessions cs JOIN users u ON u.id = cs.user_id " \
	"JOIN api_keys ak ON ak.id = cs.api_key_id AND ak.user_id = cs.user_id " \
	"WHERE cs.id = ? AND cs.user_id = ? AND cs.tenant_id = ? AND " \
	"cs.ended_at IS NULL AND cs.expires_at > ? AND u.disabled = 0 AND " \
	"u.tenant_id = cs.tenant_id AND ak.tenant_id = cs.tenant_id AND " \
	"ak.revoked_at IS NULL AND (ak.expires_at IS NULL OR ak.expires_at > ?)"

/* Runs a "SELECT 1 ..." query of up to 4 text parameters: 1 if it found
 * a row, 0 if not, or SN_ERR_*. */
static int
exists(struct db_conn *c, const char *sql, const char *types, const char *a,
    const char *b, const char *d, const char *e)
{
	struct db_stmt *st = NULL;
	int r;

	r = db_queryf(c, &st, sql, types, a, b, d, e);
	db_finalize(st);
	if (r < 0)
		return r;
	return r == DB_ROW ? 1 : 0;
}

int
store_team_member(struct db_conn *c, const char *tenant_id,
    const char *team_id, const char *user_id, int owner_only)
{
	return exists(c, owner_only ?
	    "SELECT 1 FROM team_members m JOIN teams t ON t.id = m.team_id "
	    "WHERE m.team_id = ? AND m.user_id = ? AND t.tenant_id = ? "
	    "AND m.is_owner = 1" :
	    "SELECT 1 FROM team_members m JOIN teams t ON t.id = m.team_id "
	    "WHERE m.team_id = ? AND m.user_id = ? AND t.tenant_id = ?",
	    "ttt", team_id, user_id, tenant_id, NULL);
}

int
store_project_owner(struct db_conn *c, const char *tenant_id,
    const char *project_id, const char *user_id)
{
	return exists(c, "SELECT 1 FROM project_owners o WHERE "
	    "o.project_id = ? AND " STORE_PRINCIPAL_USER("o"), "tttt",
	    project_id, user_id, user_id, tenant_id);
}

int
store_project_signer(struct db_conn *c, const char *tenant_id,
    const char *project_id, const char *principal_id, int is_sa)
{
	if (is_sa)
		return exists(c, "SELECT 1 FROM project_signers s WHERE "
		    "s.project_id = ? AND " STORE_SIGNER_SA, "tt", project_id,
		    principal_id, NULL, NULL);
	return exists(c, "SELECT 1 FROM project_signers s WHERE "
	    "s.project_id = ? AND " STORE_SIGNER_USER, "tttt", project_id,
	    principal_id, principal_id, tenant_id);
}

int
store_object_parent(struct db_conn *c, enum store_object type, const char *id,
    const char *tenant_id, char *parent, size_t parentlen)
{
	static const char *const sql[] = {
		[STORE_OBJ_USER] = "SELECT id FROM users WHERE id = ? AND "
		    "tenant_id = ?",
		[STORE_OBJ_TEAM] = "SELECT id FROM teams WHERE id = ? AND "
		    "tenant_id = ?",
		[STORE_OBJ_SERVICE_ACCOUNT] = "SELECT team_id FROM "
		    "service_accounts WHERE id = ? AND tenant_id = ?",
		[STORE_OBJ_PROJECT] = "SELECT id FROM projects WHERE id = ? "
		    "AND tenant_id = ?",
		[STORE_OBJ_KEY] = "SELECT project_id FROM signing_keys WHERE "
		    "id = ? AND tenant_id = ?",
	};
	struct db_stmt *st = NULL;
	const char *v;
	int r;

	if (parent != NULL && parentlen > 0)
		parent[0] = '\0';
	if (SN_NEVER((unsigned)type >= sizeof(sql) / sizeof(sql[0])))
		return SN_ERR_INTERNAL;
	if ((r = db_queryf(c, &st, sql[type], "tt", id, tenant_id)) < 0)
		goto out;
	if (r != DB_ROW) {
		r = SN_ERR_NOT_FOUND;
		goto out;
	}
	if (parent != NULL) {
		v = db_col_text(st, 0);
		if (v == NULL || strlen(v) >= parentlen) {
			r = SN_ERR_DB;
			goto out;
		}
		memcpy(parent, v, strlen(v) + 1);
	}
	r = 0;
 out:
	db_finalize(st);
	return r;
}

/* Copies a text column into a fixed buffer; "" for NULL or too long. */
static void
copy_col(struct db_stmt *st, int col, char *dst, size_t dstlen)
{
	const char *v = db_col_text(st, col);

	if (v == NULL || strlen(v) >= dstlen)
		v = "";
	memcpy(dst, v, strlen(v) + 1);
}

int
store_cred_get(struct db_conn *c, enum store_cred kind, const char *id,
    int64_t now, struct store_cred_row *out)
{
	struct db_stmt *st = NULL;
	const void *p;
	size_t plen = 0;
	int r;

	/*
	 * Columns: 0 tenant, 1 principal id, 2 secret hash, 3 expires_at,
	 * 4 revoked_at, 5 name, 6 role (API keys) or the token's key_version,
	 * 7 disabled (API keys) or the account's current key_version, 8 the
	 * principal's tenant, 9 last_used_at (API keys).
	 */
	memset(out, 0, sizeof(*out));
	if (kind == STORE_CRED_APIKEY)
		r = db_queryf(c, &st, "SELECT k.tenant_id, k.user_id, "
		    "k.secret_hash, k.expires_at, k.revoked_at, u.email, "
		    "u.role, u.disabled, u.tenant_id, k.last_used_at "
		    "FROM api_keys k JOIN users u ON u.id = k.user_id "
		    "WHERE k.id = ?", "t", id);
	else if (kind == STORE_CRED_TOKEN)
		r = db_queryf(c, &st, "SELECT t.tenant_id, "
		    "t.service_account_id, t.secret_hash, t.expires_at, NULL, "
		    "s.name, t.key_version, s.key_version, s.tenant_id, NULL "
		    "FROM access_tokens t JOIN service_accounts s ON "
		    "s.id = t.service_account_id WHERE t.id = ?", "t", id);
	else {
		SN_ASSERT(0);		/* kind is a constant of the callers */
		return SN_ERR_INTERNAL;
	}
	if (r < 0)
		goto out;
	if (r != DB_ROW) {
		r = SN_ERR_NOT_FOUND;
		goto out;
	}
	copy_col(st, 0, out->tenant_id, sizeof(out->tenant_id));
	copy_col(st, 1, out->principal_id, sizeof(out->principal_id));
	copy_col(st, 5, out->name, sizeof(out->name));
	p = db_col_blob(st, 2, &plen);
	if (p != NULL && plen == sizeof(out->secret_hash)) {
		memcpy(out->secret_hash, p, sizeof(out->secret_hash));
		out->hash_ok = 1;
	}
	out->valid = 1;
	if (!db_col_is_null(st, 3) && db_col_int64(st, 3) <= now)
		out->valid = 0;			/* expired */
	if (!db_col_is_null(st, 4))
		out->valid = 0;			/* revoked */
	if (db_col_text(st, 8) == NULL || db_col_text(st, 0) == NULL ||
	    strcmp(db_col_text(st, 8), db_col_text(st, 0)) != 0)
		out->valid = 0;			/* tenant mismatch: never */
	if (kind == STORE_CRED_APIKEY) {
		if (db_col_int64(st, 7) != 0)
			out->valid = 0;		/* disabled user */
		out->is_admin = db_col_text(st, 6) != NULL &&
		    strcmp(db_col_text(st, 6), "admin") == 0;
		if (!db_col_is_null(st, 9))
			out->last_used_at = db_col_int64(st, 9);
	} else if (db_col_int64(st, 6) != db_col_int64(st, 7))
		out->valid = 0;			/* account key rotated */
	r = 0;
 out:
	db_finalize(st);
	if (r != 0)
		explicit_bzero(out, sizeof(*out));
	return r;
}

int
store_apikey_touch(struct db_conn *c, const char *id, int64_t now)
{
	return db_execf(c, "UPDATE api_keys SET last_used_at = ? WHERE id = ? "
	    "AND (last_used_at IS NULL OR last_used_at < ?)", "iti", now, id,
	    now - 60);
}

int
store_session_holds(struct db_conn *c, const char *id, const char *user_id,
    const char *tenant_id, int64_t now)
{
	struct db_stmt *st = NULL;
	int r;

	r = db_queryf(c, &st, "SELECT 1 FROM console_sessions s JOIN users u "
	    "ON u.id = s.user_id JOIN api_keys k ON k.id = s.api_key_id AND "
	    "k.user_id = s.user_id WHERE s.id = ? AND s.user_id = ? AND "
	    "s.tenant_id = ? AND s.ended_at IS NULL AND s.expires_at > ? "
	    "AND u.disabled = 0 AND u.tenant_id = s.tenant_id AND "
	    "k.tenant_id = s.tenant_id AND k.revoked_at IS NULL AND "
	    "(k.expires_at IS NULL OR k.expires_at > ?)", "tttii", id, user_id,
	    tenant_id, now, now);
	db_finalize(st);
	if (r < 0)
		return r;
	return r == DB_ROW ? 1 : 0;
}

int
store_session_insert(struct db_conn *c, const char *id, const char *tenant_id,
    const char *user_id, const char *api_key_id, const uint8_t hash[32],
    int64_t now, int64_t expires_at)
{
	int r;

	/* Old rows are kept a day past their end for the record, then go. */
	if ((r = db_execf(c, "DELETE FROM console_sessions WHERE tenant_id = ? "
	    "AND expires_at < ?", "ti", tenant_id, now - 86400)) != 0)
		return r;
	return db_execf(c, "INSERT INTO console_sessions (id, tenant_id, "
	    "user_id, api_key_id, secret_hash, created_at, last_seen_at, "
	    "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", "ttttbiii", id,
	    tenant_id, user_id, api_key_id, hash, (size_t)32, now, now,
	    expires_at);
}

int
store_session_get(struct db_conn *c, const char *id, int64_t now,
    struct store_session_row *out)
{
	struct db_stmt *st = NULL;
	const void *p;
	size_t plen = 0;
	int r;

	memset(out, 0, sizeof(*out));
	r = db_queryf(c, &st, "SELECT s.tenant_id, s.user_id, s.secret_hash, "
	    "s.expires_at, s.ended_at, s.last_seen_at, u.email, u.role, "
	    "u.disabled, u.tenant_id, k.revoked_at, k.expires_at, k.tenant_id, "
	    "s.api_key_id FROM console_sessions s JOIN users u ON u.id = "
	    "s.user_id JOIN api_keys k ON k.id = s.api_key_id AND k.user_id = "
	    "s.user_id WHERE s.id = ?", "t", id);
	if (r < 0)
		goto out;
	if (r != DB_ROW) {
		r = SN_ERR_NOT_FOUND;
		goto out;
	}
	p = db_col_blob(st, 2, &plen);
	if (p != NULL && plen == sizeof(out->secret_hash)) {
		memcpy(out->secret_hash, p, sizeof(out->secret_hash));
		out->hash_ok = 1;
	}
	out->expires_at = db_col_int64(st, 3);
	out->last_seen_at = db_col_int64(st, 5);
	out->valid = 1;
	if (!db_col_is_null(st, 4))
		out->valid = 0;			/* signed out */
	if (db_col_int64(st, 8) != 0)
		out->valid = 0;			/* user disabled */
	if (!db_col_is_null(st, 10))
		out->valid = 0;			/* API key revoked */
	if (!db_col_is_null(st, 11) && db_col_int64(st, 11) <= now)
		out->valid = 0;			/* API key expired */
	if (db_col_text(st, 0) == NULL || db_col_text(st, 9) == NULL ||
	    db_col_text(st, 12) == NULL ||
	    strcmp(db_col_text(st, 0), db_col_text(st, 9)) != 0 ||
	    strcmp(db_col_text(st, 0), db_col_text(st, 12)) != 0)
		out->valid = 0;			/* tenant mismatch: never */
	out->is_admin = db_col_text(st, 7) != NULL &&
	    strcmp(db_col_text(st, 7), "admin") == 0;
	copy_col(st, 1, out->user_id, sizeof(out->user_id));
	copy_col(st, 0, out->tenant_id, sizeof(out->tenant_id));
	copy_col(st, 6, out->email, sizeof(out->email));
	r = 0;
 out:
	db_finalize(st);
	if (r != 0)
		explicit_bzero(out, sizeof(*out));
	return r;
}

int
store_session_touch(struct db_conn *c, const char *id, int64_t now)
{
	return db_execf(c, "UPDATE console_sessions SET last_seen_at = ? WHERE "
	    "id = ? AND last_seen_at < ?", "iti", now, id, now);
}

int
store_session_end(struct db_conn *c, const char *tenant_id, const char *id,
    int64_t now)
{
	int r;

	if ((r = db_execf(c, "UPDATE console_sessions SET ended_at = ? WHERE "
	    "id = ? AND tenant_id = ? AND ended_at IS NULL", "itt", now, id,
	    tenant_id)) != 0)
		return r;
	return db_changes(c) == 1 ? 0 : SN_ERR_NOT_FOUND;
}

/* One statement: the credential, the key row, the signer link. The key is
 * LEFT JOINed to a one-row table so a missing key still gives a row. */
#define SIGN_CHECK(cred, signer) \
	"SELECT CASE WHEN EXISTS (" cred ") THEN 1 ELSE 0 END, k.id, " \
	"k.state, k.not_before, k.not_after, k.version, k.hsm_key_id, " \
	"CASE WHEN EXISTS (SELECT 1 FROM project_signers s WHERE " \
	"s.project_id = k.project_id AND " signer ") THEN 1 ELSE 0 END " \
	"FROM (SELECT 1 AS one) o LEFT JOIN signing_keys k ON k.id = ? AND " \
	"k.tenant_id = ?"

int
store_sign_check(struct db_conn *c, enum store_cred kind, const char *cred_id,
    const char *principal_id, const char *tenant_id, const char *key_id,
    int64_t now, struct store_sign_check *out)
{
	struct db_stmt *st = NULL;
	const char *v;
	int r;

	memset(out, 0, sizeof(*out));
	switch (kind) {
	case STORE_CRED_APIKEY:
		r = db_queryf(c, &st, SIGN_CHECK(CRED_APIKEY, STORE_SIGNER_USER),
		    "tttittttt", cred_id, principal_id, tenant_id, now,
		    principal_id, principal_id, tenant_id, key_id, tenant_id);
		break;
	case STORE_CRED_TOKEN:
		r = db_queryf(c, &st, SIGN_CHECK(CRED_TOKEN, STORE_SIGNER_SA),
		    "tttittt", cred_id, principal_id, tenant_id, now,
		    principal_id, key_id, tenant_id);
		break;
	case STORE_CRED_SESSION:
		r = db_queryf(c, &st, SIGN_CHECK(CRED_SESSION,
		    STORE_SIGNER_USER), "tttiittttt", cred_id, principal_id,
		    tenant_id, now, now, principal_id, principal_id, tenant_id,
		    key_id, tenant_id);
		break;
	default:
		SN_ASSERT(0);		/* kind is a constant of the callers */
		return SN_ERR_INTERNAL;
	}
	if (r < 0)
		goto out;
	if (r != DB_ROW) {
		r = SN_ERR_DB;		/* the one-row table always gives one */
		goto out;
	}
	out->cred_ok = db_col_int64(st, 0) == 1;
	out->key_found = !db_col_is_null(st, 1);
	if (out->key_found) {
		v = db_col_text(st, 2);
		if (v == NULL || strlen(v) >= sizeof(out->state)) {
			r = SN_ERR_DB;
			goto out;
		}
		memcpy(out->state, v, strlen(v) + 1);
		out->not_before = db_col_int64(st, 3);
		out->not_after = db_col_int64(st, 4);
		out->version = db_col_int64(st, 5);
		v = db_col_text(st, 6);
		if (v == NULL || strlen(v) >= sizeof(out->hsm_key_id)) {
			r = SN_ERR_DB;
			goto out;
		}
		memcpy(out->hsm_key_id, v, strlen(v) + 1);
		out->signer = db_col_int64(st, 7) == 1;
	}
	r = 0;
 out:
	db_finalize(st);
	if (r != 0)
		memset(out, 0, sizeof(*out));
	return r;
}

const char *
store_key_state_at(const char *state, int64_t not_before, int64_t not_after,
    int64_t now)
{
	if (strcmp(state, "revoked") == 0)
		return "revoked";
	if (now < not_before || now > not_after)
		return "expired";
	return state;
}
