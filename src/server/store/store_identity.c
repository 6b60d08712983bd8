/*
 * store_identity.c - tenants, users and API keys in the database.
 *
 * Every statement filters on tenant_id (tenants excepted): the store is
 * where "nothing crosses tenants" is enforced. API key secrets exist here
 * only long enough to be hashed and handed back to the caller once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "credential.h"
#include "db.h"
#include "err.h"
#include "store.h"
#include "store_page.h"
#include "util.h"

/* Copies a text column; SN_ERR_DB if NULL where it must not be or too long. */
static int
col(struct db_stmt *st, int i, char *dst, size_t dstlen, int nullable)
{
	const char *v = db_col_text(st, i);

	if (v == NULL) {
		if (!nullable)
			return SN_ERR_DB;
		dst[0] = '\0';
		return 0;
	}
	if (strlen(v) >= dstlen)
		return SN_ERR_DB;
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int64_t
col_time(struct db_stmt *st, int i)
{
	return db_col_is_null(st, i) ? 0 : db_col_int64(st, i);
}

json_t *
store_time_json(int64_t t)
{
	char buf[32];

	if (t == 0)
		return json_null();
	sn_format_time(t, buf);
	return json_string(buf);
}

/* ---- tenants ---- */

int
store_tenant_create(struct db_conn *c, const char *name,
    struct store_tenant *out)
{
	char *id = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	if (name == NULL || strlen(name) >= sizeof(out->name))
		return SN_ERR_INVALID;
	if ((r = sn_new_id("ten", &id)) != 0)
		return r;
	out->created_at = sn_now();
	if ((r = db_execf(c, "INSERT INTO tenants (id, name, created_at) "
	    "VALUES (?, ?, ?)", "tti", id, name, out->created_at)) != 0)
		goto out;
	snprintf(out->id, sizeof(out->id), "%s", id);
	snprintf(out->name, sizeof(out->name), "%s", name);
 out:
	free(id);
	return r;
}

int
store_tenant_get(struct db_conn *c, const char *id_or_name,
    struct store_tenant *out)
{
	struct db_stmt *st = NULL;
	char key[256];
	int r;

	/* id_or_name may point into *out: copy it before clearing */
	if (id_or_name == NULL || strlen(id_or_name) >= sizeof(key))
		return SN_ERR_NOT_FOUND;
	memcpy(key, id_or_name, strlen(id_or_name) + 1);
	id_or_name = key;
	memset(out, 0, sizeof(*out));
	if ((r = db_queryf(c, &st, "SELECT id, name, created_at FROM tenants "
	    "WHERE id = ? OR name = ? ORDER BY id = ? DESC LIMIT 1", "ttt",
	    id_or_name, id_or_name, id_or_name)) < 0)
		goto out;
	if (r != DB_ROW) {
		r = SN_ERR_NOT_FOUND;
		goto out;
	}
	if ((r = col(st, 0, out->id, sizeof(out->id), 0)) != 0 ||
	    (r = col(st, 1, out->name, sizeof(out->name), 0)) != 0)
		goto out;
	out->created_at = db_col_int64(st, 2);
	r = 0;
 out:
	db_finalize(st);
	return r;
}

/* ---- users ---- */

#define USER_COLS "id, tenant_id, email, role, disabled, created_at"

static int
user_from_row(struct db_stmt *st, struct store_user *u)
{
	int r;

	if ((r = col(st, 0, u->id, sizeof(u->id), 0)) != 0 ||
	    (r = col(st, 1, u->tenant_id, sizeof(u->tenant_id), 0)) != 0 ||
	    (r = col(st, 2, u->email, sizeof(u->email), 0)) != 0 ||
	    (r = col(st, 3, u->role, sizeof(u->role), 0)) != 0)
		return r;
	u->disabled = db_col_int64(st, 4) != 0;
	u->created_at = db_col_int64(st, 5);
	return 0;
}

int
store_user_create(struct db_conn *c, const char *tenant_id,
    const char *email, const char *role, struct store_user *out)
{
	char *id = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	if (email == NULL || strlen(email) >= sizeof(out->email) ||
	    role == NULL || (strcmp(role, "admin") != 0 &&
	    strcmp(role, "user") != 0))
		return SN_ERR_INVALID;
	if ((r = sn_new_id("usr", &id)) != 0)
		return r;
	out->created_at = sn_now();
	if ((r = db_execf(c, "INSERT INTO users (id, tenant_id, email, role, "
	    "disabled, created_at) VALUES (?, ?, ?, ?, 0, ?)", "tttti",
	    id, tenant_id, email, role, out->created_at)) != 0)
		goto out;
 out:
	if (r == 0) {
		snprintf(out->id, sizeof(out->id), "%s", id);
		snprintf(out->tenant_id, sizeof(out->tenant_id), "%s",
		    tenant_id);
		snprintf(out->email, sizeof(out->email), "%s", email);
		snprintf(out->role, sizeof(out->role), "%s", role);
	}
	free(id);
	return r;
}

int
store_user_get(struct db_conn *c, const char *tenant_id,
    const char *id_or_email, struct store_user *out)
{
	struct db_stmt *st = NULL;
	char key[256], ten[64];
	int r;

	/* the arguments may point into *out: copy them before clearing */
	if (tenant_id == NULL || id_or_email == NULL ||
	    strlen(id_or_email) >= sizeof(key) || strlen(tenant_id) >= sizeof(ten))
		return SN_ERR_NOT_FOUND;
	memcpy(key, id_or_email, strlen(id_or_email) + 1);
	memcpy(ten, tenant_id, strlen(tenant_id) + 1);
	id_or_email = key;
	tenant_id = ten;
	memset(out, 0, sizeof(*out));
	if ((r = db_queryf(c, &st, "SELECT " USER_COLS " FROM users WHERE "
	    "tenant_id = ? AND (id = ? OR email = ?) ORDER BY id = ? DESC "
	    "LIMIT 1", "tttt", tenant_id, id_or_email, id_or_email,
	    id_or_email)) < 0)
		goto out;
	if (r != DB_ROW) {
		r = SN_ERR_NOT_FOUND;
		goto out;
	}
	r = user_from_row(st, out);
 out:
	db_finalize(st);
	return r;
}

json_t *
store_user_json(const struct store_user *u)
{
	return json_pack("{s:s,s:s,s:s,s:b,s:o}", "id", u->id, "email",
	    u->email, "role", u->role, "disabled", u->disabled,
	    "created_at", store_time_json(u->created_at));
}

int
store_user_page(struct db_conn *c, const char *tenant_id,
    const struct store_page *page, json_t **out)
{
	struct db_stmt *st = NULL;
	struct store_user u;
	json_t *arr = NULL, *j;
	int r;

	*out = NULL;
	if ((arr = json_array()) == NULL)
		return SN_ERR_NOMEM;
	if (page->after[0] != NULL)
		r = db_queryf(c, &st, "SELECT " USER_COLS " FROM users WHERE "
		    "tenant_id = ? AND email > ? ORDER BY email LIMIT ?", "tti",
		    tenant_id, page->after[0], page->limit);
	else
		r = db_queryf(c, &st, "SELECT " USER_COLS " FROM users WHERE "
		    "tenant_id = ? ORDER BY email LIMIT ?", "ti", tenant_id,
		    page->limit);
	while (r == DB_ROW) {
		memset(&u, 0, sizeof(u));
		if ((r = user_from_row(st, &u)) != 0)
			goto out;
		if ((j = store_user_json(&u)) == NULL ||
		    json_array_append_new(arr, j) != 0) {
			r = SN_ERR_NOMEM;
			goto out;
		}
		r = db_step(st);
	}
	if (r < 0)
		goto out;
	*out = arr;
	arr = NULL;
	r = 0;
 out:
	db_finalize(st);
	json_decref(arr);
	return r;
}

int
store_user_set_disabled(struct db_conn *c, const char *tenant_id,
    const char *user_id, int disabled)
{
	int r;

	if ((r = db_execf(c, "UPDATE users SET disabled = ? WHERE id = ? AND "
	    "tenant_id = ?", "itt", (int64_t)(disabled ? 1 : 0), user_id,
	    tenant_id)) != 0)
		return r;
	return db_changes(c) == 1 ? 0 : SN_ERR_NOT_FOUND;
}

/* ---- API keys ---- */

#define APIKEY_COLS "id, tenant_id, user_id, description, created_at, " \
	"expires_at, revoked_at, last_used_at"

static int
apikey_from_row(struct db_stmt *st, struct store_apikey *k)
{
	int r;

	if ((r = col(st, 0, k->id, sizeof(k->id), 0)) != 0 ||
	    (r = col(st, 1, k->tenant_id, sizeof(k->tenant_id), 0)) != 0 ||
	    (r = col(st, 2, k->user_id, sizeof(k->user_id), 0)) != 0 ||
	    (r = col(st, 3, k->description, sizeof(k->description), 1)) != 0)
		return r;
	k->created_at = db_col_int64(st, 4);
	k->expires_at = col_time(st, 5);
	k->revoked_at = col_time(st, 6);
	k->last_used_at = col_time(st, 7);
	return 0;
}

int
store_apikey_create(struct db_conn *c, const char *tenant_id,
    const char *user_id, const char *description, int64_t expires_at,
    struct store_apikey *out, char **secret)
{
	char id[CREDENTIAL_ID_LEN + 1], *s = NULL;
	uint8_t hash[32];
	int r;

	memset(out, 0, sizeof(*out));
	*secret = NULL;
	if (description != NULL &&
	    strlen(description) >= sizeof(out->description))
		return SN_ERR_INVALID;
	if ((r = credential_new(CREDENTIAL_APIKEY, &s, id, hash)) != 0)
		return r;
	out->created_at = sn_now();
	if (expires_at != 0)
		r = db_execf(c, "INSERT INTO api_keys (id, tenant_id, user_id, "
		    "secret_hash, description, created_at, expires_at) "
		    "SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM "
		    "users WHERE id = ? AND tenant_id = ?)", "tttbtiitt", id,
		    tenant_id, user_id, hash, sizeof(hash), description,
		    out->created_at, expires_at, user_id, tenant_id);
	else
		r = db_execf(c, "INSERT INTO api_keys (id, tenant_id, user_id, "
		    "secret_hash, description, created_at, expires_at) "
		    "SELECT ?, ?, ?, ?, ?, ?, NULL WHERE EXISTS (SELECT 1 FROM "
		    "users WHERE id = ? AND tenant_id = ?)", "tttbtitt", id,
		    tenant_id, user_id, hash, sizeof(hash), description,
		    out->created_at, user_id, tenant_id);
	explicit_bzero(hash, sizeof(hash));
	if (r != 0)
		goto out;
	if (db_changes(c) != 1) {
		r = SN_ERR_NOT_FOUND;	/* no such user in this tenant */
		goto out;
	}
	snprintf(out->id, sizeof(out->id), "%s", id);
	snprintf(out->tenant_id, sizeof(out->tenant_id), "%s", tenant_id);
	snprintf(out->user_id, sizeof(out->user_id), "%s", user_id);
	snprintf(out->description, sizeof(out->description), "%s",
	    description != NULL ? description : "");
	out->expires_at = expires_at;
	*secret = s;
	s = NULL;
	r = 0;
 out:
	sn_strfreezero(s);
	return r;
}

int
store_apikey_get(struct db_conn *c, const char *tenant_id, const char *id,
    struct store_apikey *out)
{
	struct db_stmt *st = NULL;
	char key[64], ten[64];
	int r;

	/* the arguments may point into *out: copy them before clearing */
	if (tenant_id == NULL || id == NULL || strlen(id) >= sizeof(key) ||
	    strlen(tenant_id) >= sizeof(ten))
		return SN_ERR_NOT_FOUND;
	memcpy(key, id, strlen(id) + 1);
	memcpy(ten, tenant_id, strlen(tenant_id) + 1);
	id = key;
	tenant_id = ten;
	memset(out, 0, sizeof(*out));
	if ((r = db_queryf(c, &st, "SELECT " APIKEY_COLS " FROM api_keys "
	    "WHERE id = ? AND tenant_id = ?", "tt", id, tenant_id)) < 0)
		goto out;
	if (r != DB_ROW) {
		r = SN_ERR_NOT_FOUND;
		goto out;
	}
	r = apikey_from_row(st, out);
 out:
	db_finalize(st);
	return r;
}

json_t *
store_apikey_json(const struct store_apikey *k)
{
	return json_pack("{s:s,s:s,s:o,s:o,s:o,s:o}", "id", k->id,
	    "description", k->description,
	    "created_at", store_time_json(k->created_at),
	    "expires_at", store_time_json(k->expires_at),
	    "revoked_at", store_time_json(k->revoked_at),
	    "last_used_at", store_time_json(k->last_used_at));
}

int
store_apikey_list(struct db_conn *c, const char *tenant_id,
    const char *user_id, json_t **out)
{
	struct db_stmt *st = NULL;
	struct store_apikey k;
	json_t *arr = NULL, *j;
	int r;

	*out = NULL;
	if ((arr = json_array()) == NULL)
		return SN_ERR_NOMEM;
	r = db_queryf(c, &st, "SELECT " APIKEY_COLS " FROM api_keys WHERE "
	    "tenant_id = ? AND user_id = ? ORDER BY created_at DESC, id",
	    "tt", tenant_id, user_id);
	while (r == DB_ROW) {
		memset(&k, 0, sizeof(k));
		if ((r = apikey_from_row(st, &k)) != 0)
			goto out;
		if ((j = store_apikey_json(&k)) == NULL ||
		    json_array_append_new(arr, j) != 0) {
			r = SN_ERR_NOMEM;
			goto out;
		}
		r = db_step(st);
	}
	if (r < 0)
		goto out;
	if ((*out = json_pack("{s:O}", "apikeys", arr)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	r = 0;
 out:
	db_finalize(st);
	json_decref(arr);
	return r;
}

int
store_apikey_revoke(struct db_conn *c, const char *tenant_id, const char *id,
    int64_t now)
{
	struct store_apikey k;
	int r;

	if ((r = store_apikey_get(c, tenant_id, id, &k)) != 0)
		return r;
	if (k.revoked_at != 0)
		return SN_ERR_CONFLICT;
	if ((r = db_execf(c, "UPDATE api_keys SET revoked_at = ? WHERE id = ? "
	    "AND tenant_id = ? AND revoked_at IS NULL", "itt", now, id,
	    tenant_id)) != 0)
		return r;
	return db_changes(c) == 1 ? 0 : SN_ERR_CONFLICT;
}
