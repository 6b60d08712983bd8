/*
 * store_auth.c - the SQL of authentication and of the signing re-check
 * (store_auth.h). The decisions are made by the callers; nothing here
 * sees a secret.
 */
#include <string.h>

#include "db.h"
#include "err.h"
#include "store_auth.h"

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
