/*
 * store_serviceaccounts.c - service accounts: rows, key rotation, deletion.
 *
 * Rotation and deletion remove the account's access tokens in the same
 * statement group, so a token issued under an old key stops working at the
 * moment the caller's transaction commits.
 */
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "err.h"
#include "store_listing.h"
#include "store_page.h"
#include "store_resources.h"

void
store_sa_clear(struct store_sa *s)
{
	if (s == NULL)
		return;
	free(s->public_key_pem);
	memset(s, 0, sizeof(*s));
}

static int
sa_row(struct db_stmt *st, struct store_sa *out)
{
	int r;

	if ((r = store_copy(out->id, sizeof(out->id), db_col_text(st, 0))) != 0 ||
	    (r = store_copy(out->name, sizeof(out->name), db_col_text(st, 1))) != 0 ||
	    (r = store_copy(out->team_id, sizeof(out->team_id),
	    db_col_text(st, 2))) != 0 ||
	    (r = store_copy(out->team_name, sizeof(out->team_name),
	    db_col_text(st, 3))) != 0 ||
	    (r = store_dup(db_col_text(st, 4), &out->public_key_pem)) != 0 ||
	    (r = store_copy(out->key_algorithm, sizeof(out->key_algorithm),
	    db_col_text(st, 5))) != 0 ||
	    (r = store_copy(out->key_fingerprint, sizeof(out->key_fingerprint),
	    db_col_text(st, 6))) != 0)
		return r;
	out->key_version = db_col_int64(st, 7);
	out->created_at = db_col_int64(st, 8);
	out->rotated_at = db_col_is_null(st, 9) ? 0 : db_col_int64(st, 9);
	return 0;
}

int
store_sa_get(struct db_conn *c, const char *tenant_id, const char *id_or_name,
    struct store_sa *out)
{
	struct db_stmt *st = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	r = db_queryf(c, &st, "SELECT s.id, s.name, s.team_id, t.name, "
	    "s.public_key_pem, s.key_algorithm, s.key_fingerprint, "
	    "s.key_version, s.created_at, s.rotated_at "
	    "FROM service_accounts s JOIN teams t ON t.id = s.team_id "
	    "WHERE s.tenant_id = ? AND (s.id = ? OR s.name = ?) "
	    "ORDER BY (s.id = ?) DESC LIMIT 1", "tttt", tenant_id, id_or_name,
	    id_or_name, id_or_name);
	if (r == DB_DONE)
		r = SN_ERR_NOT_FOUND;
	else if (r == DB_ROW)
		r = sa_row(st, out);
	db_finalize(st);
	if (r != 0)
		store_sa_clear(out);
	return r;
}

int
store_sa_ids_by_name_any_tenant(struct db_conn *c, const char *name,
    struct store_ids *out)
{
	struct db_stmt *st = NULL;
	int r;

	r = db_queryf(c, &st, "SELECT id FROM service_accounts WHERE name = ? "
	    "ORDER BY id LIMIT 16", "t", name);
	if (r < 0) {
		db_finalize(st);
		return r;
	}
	return store_ids_collect(st, r, out);
}

int
store_sa_get_any_tenant(struct db_conn *c, const char *id,
    char tenant_id[STORE_ID_MAX], struct store_sa *out)
{
	struct db_stmt *st = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	tenant_id[0] = '\0';
	r = db_queryf(c, &st, "SELECT tenant_id FROM service_accounts "
	    "WHERE id = ?", "t", id);
	if (r == DB_DONE)
		r = SN_ERR_NOT_FOUND;
	else if (r == DB_ROW)
		r = store_copy(tenant_id, STORE_ID_MAX, db_col_text(st, 0));
	db_finalize(st);
	if (r != 0)
		return r;
	/* By id only: a name that happens to equal an id must not match. */
	if ((r = store_sa_get(c, tenant_id, id, out)) != 0)
		return r;
	if (strcmp(out->id, id) != 0) {
		store_sa_clear(out);
		return SN_ERR_NOT_FOUND;
	}
	return 0;
}

int
store_sa_insert(struct db_conn *c, const char *tenant_id,
    const struct store_sa *s)
{
	return db_execf(c, "INSERT INTO service_accounts (id, tenant_id, "
	    "team_id, name, public_key_pem, key_algorithm, key_fingerprint, "
	    "key_version, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)",
	    "ttttttti", s->id, tenant_id, s->team_id, s->name,
	    s->public_key_pem, s->key_algorithm, s->key_fingerprint,
	    s->created_at);
}

int
store_sa_key_used(struct db_conn *c, const char *fingerprint,
    const char *except_id, int *used)
{
	struct db_stmt *st = NULL;
	int r;

	*used = 0;
	r = db_queryf(c, &st, "SELECT COUNT(*) FROM service_accounts "
	    "WHERE key_fingerprint = ? AND id <> ?", "tt", fingerprint,
	    except_id != NULL ? except_id : "");
	if (r == DB_ROW) {
		*used = db_col_int64(st, 0) > 0;
		r = 0;
	} else if (r == DB_DONE)
		r = SN_ERR_DB;
	db_finalize(st);
	return r;
}

int
store_sa_rotate(struct db_conn *c, const char *tenant_id, const char *id,
    const char *pem, const char *alg, const char *fingerprint, int64_t now)
{
	int r;

	r = db_execf(c, "UPDATE service_accounts SET public_key_pem = ?, "
	    "key_algorithm = ?, key_fingerprint = ?, "
	    "key_version = key_version + 1, rotated_at = ? "
	    "WHERE tenant_id = ? AND id = ?", "tttitt", pem, alg, fingerprint,
	    now, tenant_id, id);
	if (r != 0)
		return r;
	if (db_changes(c) != 1)
		return SN_ERR_NOT_FOUND;
	return db_execf(c, "DELETE FROM access_tokens WHERE tenant_id = ? AND "
	    "service_account_id = ?", "tt", tenant_id, id);
}

int
store_sa_delete(struct db_conn *c, const char *tenant_id, const char *id)
{
	int r;

	if ((r = db_execf(c, "DELETE FROM access_tokens WHERE tenant_id = ? "
	    "AND service_account_id = ?", "tt", tenant_id, id)) != 0 ||
	    (r = db_execf(c, "DELETE FROM jwt_replay WHERE "
	    "service_account_id = ?", "t", id)) != 0 ||
	    (r = db_execf(c, "DELETE FROM project_signers WHERE "
	    "principal_type = 'service_account' AND principal_id = ? AND "
	    "project_id IN (SELECT id FROM projects WHERE tenant_id = ?)",
	    "tt", id, tenant_id)) != 0)
		return r;
	if ((r = db_execf(c, "DELETE FROM service_accounts WHERE tenant_id = ? "
	    "AND id = ?", "tt", tenant_id, id)) != 0)
		return r;
	if (db_changes(c) != 1)
		return SN_ERR_NOT_FOUND;
	/* its signer links went above */
	return store_listing_changed(c, tenant_id);
}

/* store_page_rows' element callbacks. */
static int
sa_row_elem(struct db_stmt *st, void *elem)
{
	return sa_row(st, elem);
}

static void
store_sa_clear_elem(void *elem)
{
	store_sa_clear(elem);
}

/*
 * A user views the accounts of the teams it is a member of (in its
 * tenant), an admin all, a service account none (AUTHZ_SA_VIEW).
 */
int
store_sa_page(struct db_conn *c, const struct store_viewer *v,
    const struct store_page *page, struct store_sa **out, size_t *n)
{
	struct store_q q;
	struct db_stmt *st = NULL;
	struct store_sa *rows = NULL;
	size_t cap;
	int r;

	*out = NULL;
	*n = 0;
	if (page->limit < 1 || page->limit > 100000)
		return SN_ERR_INVALID;
	cap = (size_t)page->limit;
	if ((rows = calloc(cap, sizeof(*rows))) == NULL)
		return SN_ERR_NOMEM;
	store_q_init(&q);
	store_q_sql(&q, "SELECT s.id, s.name, s.team_id, t.name, "
	    "s.public_key_pem, s.key_algorithm, s.key_fingerprint, "
	    "s.key_version, s.created_at, s.rotated_at "
	    "FROM service_accounts s JOIN teams t ON t.id = s.team_id "
	    "WHERE s.tenant_id = ?");
	store_q_text(&q, v->tenant_id);
	if (page->after[0] != NULL) {
		store_q_sql(&q, " AND s.name > ?");
		store_q_text(&q, page->after[0]);
	}
	if (v->kind == STORE_VIEW_USER) {
		store_q_sql(&q, " AND s.team_id IN (SELECT m.team_id FROM "
		    "team_members m JOIN teams x ON x.id = m.team_id WHERE "
		    "m.user_id = ? AND x.tenant_id = ?)");
		store_q_text(&q, v->id);
		store_q_text(&q, v->tenant_id);
	} else if (v->kind != STORE_VIEW_ADMIN)
		store_q_sql(&q, " AND 0 = 1");
	store_q_sql(&q, " ORDER BY s.name LIMIT ?");
	store_q_int(&q, page->limit);
	r = store_q_run(c, &q, &st);
	if ((r = store_page_rows(st, r, rows, sizeof(*rows), cap, sa_row_elem,
	    store_sa_clear_elem, n)) != 0) {
		free(rows);
		return r;
	}
	*out = rows;
	return 0;
}
