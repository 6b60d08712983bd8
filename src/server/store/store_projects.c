/*
 * store_projects.c - projects, their owners and their authorized signers.
 *
 * The project_signers rows are the only thing that grants the right to
 * sign (authz.c reads them); this file only writes and lists them.
 */
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "err.h"
#include "store_listing.h"
#include "store_page.h"
#include "store_resources.h"

int
store_project_get(struct db_conn *c, const char *tenant_id,
    const char *id_or_name, struct store_project *out)
{
	memset(out, 0, sizeof(*out));
	return store_named_get(c, "projects", tenant_id, id_or_name, out->id,
	    out->name, &out->created_at);
}

int
store_project_insert(struct db_conn *c, const char *tenant_id,
    const struct store_project *p)
{
	int r;

	/* (a project without keys lists nothing; bumped all the same, so
	 * that every write to a table the listing reads bumps) */
	if ((r = db_execf(c, "INSERT INTO projects (id, tenant_id, name, "
	    "created_at) VALUES (?, ?, ?, ?)", "ttti", p->id, tenant_id,
	    p->name, p->created_at)) != 0)
		return r;
	return store_listing_changed(c, tenant_id);
}

int
store_project_principals(struct db_conn *c, const char *tenant_id,
    const char *project_id, int signers, json_t **out)
{
	struct db_stmt *st = NULL;
	json_t *arr = NULL, *o;
	char name[STORE_EMAIL_MAX];
	struct {
		char type[24];
		char id[STORE_ID_MAX];
	} *rows = NULL, *nrows;
	size_t n = 0, i;
	int r;

	*out = NULL;
	/* Collect first, then look up names: one statement at a time. */
	r = db_queryf(c, &st, signers ?
	    "SELECT principal_type, principal_id FROM project_signers "
	    "WHERE project_id = ? ORDER BY principal_type, created_at" :
	    "SELECT principal_type, principal_id FROM project_owners "
	    "WHERE project_id = ? ORDER BY principal_type, created_at",
	    "t", project_id);
	while (r == DB_ROW) {
		if (n >= 10000) {
			r = SN_ERR_DB;
			break;
		}
		if ((nrows = realloc(rows, (n + 1) * sizeof(*rows))) == NULL) {
			r = SN_ERR_NOMEM;
			break;
		}
		rows = nrows;
		if ((r = store_copy(rows[n].type, sizeof(rows[n].type),
		    db_col_text(st, 0))) != 0 ||
		    (r = store_copy(rows[n].id, sizeof(rows[n].id),
		    db_col_text(st, 1))) != 0)
			break;
		n++;
		r = db_step(st);
	}
	db_finalize(st);
	if (r != DB_DONE) {
		r = r < 0 ? r : SN_ERR_DB;
		goto out;
	}
	if ((arr = json_array()) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((r = store_principal_name(c, tenant_id, rows[i].type,
		    rows[i].id, name)) != 0)
			goto out;
		o = json_pack("{s:s, s:s, s:s}", "type", rows[i].type, "id",
		    rows[i].id, "name", name);
		if (o == NULL || json_array_append_new(arr, o) != 0) {
			r = SN_ERR_NOMEM;
			goto out;
		}
	}
	*out = arr;
	arr = NULL;
	r = 0;
 out:
	json_decref(arr);
	free(rows);
	return r;
}

int
store_project_principal_add(struct db_conn *c, const char *tenant_id,
    const char *project_id, int signers, const char *type,
    const char *principal_id, int64_t now)
{
	int r;

	if ((r = db_execf(c, signers ?
	    "INSERT INTO project_signers (project_id, principal_type, "
	    "principal_id, created_at) VALUES (?, ?, ?, ?)" :
	    "INSERT INTO project_owners (project_id, principal_type, "
	    "principal_id, created_at) VALUES (?, ?, ?, ?)",
	    "ttti", project_id, type, principal_id, now)) != 0)
		return r;
	return store_listing_changed(c, tenant_id);
}

int
store_project_principal_remove(struct db_conn *c, const char *tenant_id,
    const char *project_id, int signers, const char *type,
    const char *principal_id)
{
	int r;

	r = db_execf(c, signers ?
	    "DELETE FROM project_signers WHERE project_id = ? AND "
	    "principal_type = ? AND principal_id = ?" :
	    "DELETE FROM project_owners WHERE project_id = ? AND "
	    "principal_type = ? AND principal_id = ?",
	    "ttt", project_id, type, principal_id);
	if (r != 0)
		return r;
	if (db_changes(c) == 0)
		return SN_ERR_NOT_FOUND;
	return store_listing_changed(c, tenant_id);
}

/* An owner {"type","id","name"} of a page row; none for a project without. */
static int
owner_child(struct db_stmt *st, json_t **out)
{
	const char *name = db_col_text(st, 5);

	*out = NULL;
	if (db_col_is_null(st, 3))
		return 0;
	*out = json_pack("{s:s, s:s, s:s}", "type", db_col_text(st, 3), "id",
	    db_col_text(st, 4), "name", name != NULL ? name : "");
	return *out != NULL ? 0 : SN_ERR_NOMEM;
}

/*
 * One query for the whole page: the projects in a CTE (filtered, cut by
 * LIMIT), joined with their owners and the owners' names (the same order
 * and "" for a vanished principal as store_project_principals).
 */
int
store_project_page(struct db_conn *c, const struct store_viewer *v,
    const struct store_page *page, json_t **out)
{
	struct store_q q;
	struct db_stmt *st = NULL;
	int r;

	*out = NULL;
	store_q_init(&q);
	store_q_sql(&q, "WITH page AS (SELECT p.id, p.name, p.created_at "
	    "FROM projects p WHERE p.tenant_id = ?");
	store_q_text(&q, v->tenant_id);
	if (page->after[0] != NULL) {
		store_q_sql(&q, " AND p.name > ?");
		store_q_text(&q, page->after[0]);
	}
	store_q_projects_visible(&q, "p.id", v, 0);
	store_q_sql(&q, " ORDER BY p.name LIMIT ?) "
	    "SELECT page.id, page.name, page.created_at, o.principal_type, "
	    "o.principal_id, CASE o.principal_type "
	    "WHEN 'user' THEN (SELECT u.email FROM users u WHERE "
	    "u.id = o.principal_id AND u.tenant_id = ?) "
	    "WHEN 'team' THEN (SELECT t.name FROM teams t WHERE "
	    "t.id = o.principal_id AND t.tenant_id = ?) END "
	    "FROM page LEFT JOIN project_owners o ON o.project_id = page.id "
	    "ORDER BY page.name, o.principal_type, o.created_at");
	store_q_int(&q, page->limit);
	store_q_text(&q, v->tenant_id);
	store_q_text(&q, v->tenant_id);
	if ((r = store_q_run(c, &q, &st)) < 0)
		return r;
	return store_page_group(st, r, "owners", owner_child, out);
}
