/*
 * store_teams.c - teams and team membership, plus the small helpers the
 * other resource stores share (id lists, principal lookup by id or name).
 *
 * Every query carries the tenant id; nothing here decides permissions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "err.h"
#include "sn_assert.h"
#include "store_listing.h"
#include "store_page.h"
#include "store_resources.h"

#define STORE_IDS_MAX 100000

void
store_ids_free(struct store_ids *ids)
{
	if (ids == NULL)
		return;
	for (size_t i = 0; i < ids->n; i++)
		free(ids->v[i]);
	free(ids->v);
	ids->v = NULL;
	ids->n = 0;
}

int
store_copy(char *dst, size_t dstsz, const char *src)
{
	size_t l;

	if (src == NULL)
		src = "";
	l = strlen(src);
	if (l >= dstsz) {
		dst[0] = '\0';
		return SN_ERR_DB;
	}
	memcpy(dst, src, l + 1);
	return 0;
}

int
store_named_get(struct db_conn *c, const char *table, const char *tenant_id,
    const char *id_or_name, char id[STORE_ID_MAX], char name[STORE_NAME_MAX],
    int64_t *created_at)
{
	struct db_stmt *st = NULL;
	char sql[256];
	int r;

	/* table is one of the callers' constants, never input */
	if (SN_NEVER((size_t)snprintf(sql, sizeof(sql), "SELECT id, name, "
	    "created_at FROM %s WHERE tenant_id = ? AND (id = ? OR name = ?) "
	    "ORDER BY (id = ?) DESC LIMIT 1", table) >= sizeof(sql)))
		return SN_ERR_INTERNAL;
	r = db_queryf(c, &st, sql, "tttt", tenant_id, id_or_name, id_or_name,
	    id_or_name);
	if (r == DB_DONE)
		r = SN_ERR_NOT_FOUND;
	else if (r == DB_ROW &&
	    (r = store_copy(id, STORE_ID_MAX, db_col_text(st, 0))) == 0 &&
	    (r = store_copy(name, STORE_NAME_MAX, db_col_text(st, 1))) == 0)
		*created_at = db_col_int64(st, 2);
	db_finalize(st);
	return r;
}

int
store_dup(const char *src, char **out)
{
	*out = NULL;
	if (src == NULL)
		return 0;
	if ((*out = strdup(src)) == NULL)
		return SN_ERR_NOMEM;
	return 0;
}

int
store_ids_collect(struct db_stmt *st, int r, struct store_ids *out)
{
	char **nv;

	out->v = NULL;
	out->n = 0;
	while (r == DB_ROW) {
		const char *id = db_col_text(st, 0);

		if (id == NULL || out->n >= STORE_IDS_MAX) {
			r = SN_ERR_DB;
			break;
		}
		if ((nv = realloc(out->v, (out->n + 1) * sizeof(*nv))) == NULL) {
			r = SN_ERR_NOMEM;
			break;
		}
		out->v = nv;
		if ((out->v[out->n] = strdup(id)) == NULL) {
			r = SN_ERR_NOMEM;
			break;
		}
		out->n++;
		r = db_step(st);
	}
	db_finalize(st);
	if (r != DB_DONE) {
		store_ids_free(out);
		return r < 0 ? r : SN_ERR_DB;
	}
	return 0;
}

int
store_tenant_name(struct db_conn *c, const char *tenant_id,
    char name[STORE_NAME_MAX + 192])
{
	struct db_stmt *st = NULL;
	int r;

	name[0] = '\0';
	r = db_queryf(c, &st, "SELECT name FROM tenants WHERE id = ?", "t",
	    tenant_id);
	if (r == DB_DONE)
		r = SN_ERR_NOT_FOUND;
	else if (r == DB_ROW)
		r = store_copy(name, STORE_NAME_MAX + 192, db_col_text(st, 0));
	db_finalize(st);
	return r;
}

static const char *
principal_sql(const char *type, int by_name)
{
	if (strcmp(type, "user") == 0)
		return by_name ?
		    "SELECT id, email FROM users WHERE tenant_id = ? AND email = ?" :
		    "SELECT id, email FROM users WHERE tenant_id = ? AND id = ?";
	if (strcmp(type, "team") == 0)
		return by_name ?
		    "SELECT id, name FROM teams WHERE tenant_id = ? AND name = ?" :
		    "SELECT id, name FROM teams WHERE tenant_id = ? AND id = ?";
	if (strcmp(type, "service_account") == 0)
		return by_name ?
		    "SELECT id, name FROM service_accounts WHERE tenant_id = ? AND name = ?" :
		    "SELECT id, name FROM service_accounts WHERE tenant_id = ? AND id = ?";
	return NULL;
}

static int
principal_query(struct db_conn *c, const char *sql, const char *tenant_id,
    const char *key, char id[STORE_ID_MAX], char name[STORE_EMAIL_MAX])
{
	struct db_stmt *st = NULL;
	int r;

	r = db_queryf(c, &st, sql, "tt", tenant_id, key);
	if (r == DB_DONE)
		r = SN_ERR_NOT_FOUND;
	else if (r == DB_ROW) {
		if ((r = store_copy(id, STORE_ID_MAX, db_col_text(st, 0))) == 0)
			r = store_copy(name, STORE_EMAIL_MAX, db_col_text(st, 1));
	}
	db_finalize(st);
	return r;
}

int
store_principal_resolve(struct db_conn *c, const char *tenant_id,
    const char *type, const char *id_or_name, char id[STORE_ID_MAX],
    char name[STORE_EMAIL_MAX])
{
	const char *sql;
	int r;

	id[0] = name[0] = '\0';
	if (type == NULL || principal_sql(type, 0) == NULL)
		return SN_ERR_INVALID;
	/* Ids first: an id is never a valid name of another object. */
	sql = principal_sql(type, 0);
	r = principal_query(c, sql, tenant_id, id_or_name, id, name);
	if (r != SN_ERR_NOT_FOUND)
		return r;
	sql = principal_sql(type, 1);
	return principal_query(c, sql, tenant_id, id_or_name, id, name);
}

int
store_principal_name(struct db_conn *c, const char *tenant_id,
    const char *type, const char *id, char name[STORE_EMAIL_MAX])
{
	char tmp[STORE_ID_MAX];
	const char *sql = principal_sql(type, 0);
	int r;

	name[0] = '\0';
	if (sql == NULL)
		return SN_ERR_INVALID;
	r = principal_query(c, sql, tenant_id, id, tmp, name);
	return r == SN_ERR_NOT_FOUND ? 0 : r;
}

int
store_team_get(struct db_conn *c, const char *tenant_id,
    const char *id_or_name, struct store_team *out)
{
	memset(out, 0, sizeof(*out));
	return store_named_get(c, "teams", tenant_id, id_or_name, out->id,
	    out->name, &out->created_at);
}

int
store_team_insert(struct db_conn *c, const char *tenant_id,
    const struct store_team *t)
{
	int r;

	/* (a new team has no members: bumped so that every write to a
	 * table the listing reads bumps) */
	if ((r = db_execf(c, "INSERT INTO teams (id, tenant_id, name, "
	    "created_at) VALUES (?, ?, ?, ?)", "ttti", t->id, tenant_id,
	    t->name, t->created_at)) != 0)
		return r;
	return store_listing_changed(c, tenant_id);
}

int
store_team_members(struct db_conn *c, const char *team_id, json_t **out)
{
	struct db_stmt *st = NULL;
	json_t *arr = NULL, *m;
	int r;

	*out = NULL;
	if ((arr = json_array()) == NULL)
		return SN_ERR_NOMEM;
	r = db_queryf(c, &st, "SELECT u.id, u.email, m.is_owner "
	    "FROM team_members m JOIN users u ON u.id = m.user_id "
	    "WHERE m.team_id = ? ORDER BY u.email", "t", team_id);
	while (r == DB_ROW) {
		m = json_pack("{s:s, s:s, s:b}", "id", db_col_text(st, 0),
		    "email", db_col_text(st, 1), "owner",
		    (int)(db_col_int64(st, 2) != 0));
		if (m == NULL || json_array_append_new(arr, m) != 0) {
			r = SN_ERR_NOMEM;
			break;
		}
		r = db_step(st);
	}
	db_finalize(st);
	if (r != DB_DONE) {
		json_decref(arr);
		return r < 0 ? r : SN_ERR_DB;
	}
	*out = arr;
	return 0;
}

int
store_team_member_set(struct db_conn *c, const char *tenant_id,
    const char *team_id, const char *user_id, int owner, int64_t now,
    int *created)
{
	int r;

	*created = 0;
	if (owner < 0) {
		/* Flag not given: an existing member keeps its flag. */
		struct db_stmt *st = NULL;

		r = db_queryf(c, &st, "SELECT 1 FROM team_members WHERE "
		    "team_id = ? AND user_id = ?", "tt", team_id, user_id);
		db_finalize(st);
		if (r < 0 || r == DB_ROW)
			return r < 0 ? r : 0;
	} else {
		r = db_execf(c, "UPDATE team_members SET is_owner = ? "
		    "WHERE team_id = ? AND user_id = ?", "itt",
		    (int64_t)(owner != 0), team_id, user_id);
		if (r != 0)
			return r;
		if (db_changes(c) > 0)
			return store_listing_changed(c, tenant_id);
	}
	r = db_execf(c, "INSERT INTO team_members (team_id, user_id, is_owner, "
	    "created_at) VALUES (?, ?, ?, ?)", "ttii", team_id, user_id,
	    (int64_t)(owner > 0), now);
	if (r != 0)
		return r;
	*created = 1;
	return store_listing_changed(c, tenant_id);
}

int
store_team_member_remove(struct db_conn *c, const char *tenant_id,
    const char *team_id, const char *user_id)
{
	int r;

	r = db_execf(c, "DELETE FROM team_members WHERE team_id = ? AND "
	    "user_id = ?", "tt", team_id, user_id);
	if (r != 0)
		return r;
	if (db_changes(c) == 0)
		return SN_ERR_NOT_FOUND;
	return store_listing_changed(c, tenant_id);
}

/* A member {"id","email","owner"} of a page row; none for an empty team
 * (or a member row without its user, which the FOREIGN KEY rules out). */
static int
member_child(struct db_stmt *st, json_t **out)
{
	*out = NULL;
	if (db_col_is_null(st, 3))
		return 0;
	*out = json_pack("{s:s, s:s, s:b}", "id", db_col_text(st, 3),
	    "email", db_col_text(st, 4) != NULL ? db_col_text(st, 4) : "",
	    "owner", (int)(db_col_int64(st, 5) != 0));
	return *out != NULL ? 0 : SN_ERR_NOMEM;
}

/*
 * The teams of a page and their members in one query. A user views the
 * teams it is a member of, an admin all, a service account none
 * (AUTHZ_TEAM_VIEW).
 */
int
store_team_page(struct db_conn *c, const struct store_viewer *v,
    const struct store_page *page, json_t **out)
{
	struct store_q q;
	struct db_stmt *st = NULL;
	int r;

	*out = NULL;
	store_q_init(&q);
	store_q_sql(&q, "WITH page AS (SELECT t.id, t.name, t.created_at "
	    "FROM teams t WHERE t.tenant_id = ?");
	store_q_text(&q, v->tenant_id);
	if (page->after[0] != NULL) {
		store_q_sql(&q, " AND t.name > ?");
		store_q_text(&q, page->after[0]);
	}
	if (v->kind == STORE_VIEW_USER) {
		store_q_sql(&q, " AND t.id IN (SELECT x.team_id FROM "
		    "team_members x WHERE x.user_id = ?)");
		store_q_text(&q, v->id);
	} else if (v->kind != STORE_VIEW_ADMIN)
		store_q_sql(&q, " AND 0 = 1");
	store_q_sql(&q, " ORDER BY t.name LIMIT ?) "
	    "SELECT page.id, page.name, page.created_at, u.id, u.email, "
	    "m.is_owner FROM page LEFT JOIN team_members m ON "
	    "m.team_id = page.id LEFT JOIN users u ON u.id = m.user_id "
	    "ORDER BY page.name, u.email");
	store_q_int(&q, page->limit);
	if ((r = store_q_run(c, &q, &st)) < 0)
		return r;
	return store_page_group(st, r, "members", member_child, out);
}
