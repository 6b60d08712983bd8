/*
 * store_approvals_grants.c - pre-approval grants and declared digests
 * (store_approvals_grants.h). Consuming either is a guarded UPDATE whose
 * WHERE holds the whole condition, so two signers racing for the last
 * signature of a grant (or the same declared digest) get one row changed
 * between them.
 */
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "err.h"
#include "store.h"
#include "store_approvals_grants.h"

#define GRANT_COLUMNS "id, key_id, team_id, principal_type, principal_id, " \
	"principal_name, max_signatures, used, created_by, created_by_name, " \
	"created_at, expires_at, revoked_at, revoked_by"

const char *
store_grant_state(const struct store_grant *g, int64_t now)
{
	if (g->revoked_at != 0)
		return "revoked";
	if (g->used >= g->max_signatures)
		return "used";
	if (now >= g->expires_at)
		return "expired";
	return "active";
}

static int
grant_row(struct db_stmt *st, struct store_grant *g)
{
	int r;

	if ((r = store_copy(g->id, sizeof(g->id), db_col_text(st, 0))) != 0 ||
	    (r = store_copy(g->key_id, sizeof(g->key_id),
	    db_col_text(st, 1))) != 0 ||
	    (r = store_copy(g->team_id, sizeof(g->team_id),
	    db_col_text(st, 2))) != 0 ||
	    (r = store_copy(g->principal_type, sizeof(g->principal_type),
	    db_col_text(st, 3))) != 0 ||
	    (r = store_copy(g->principal_id, sizeof(g->principal_id),
	    db_col_text(st, 4))) != 0 ||
	    (r = store_copy(g->principal_name, sizeof(g->principal_name),
	    db_col_text(st, 5))) != 0 ||
	    (r = store_copy(g->created_by, sizeof(g->created_by),
	    db_col_text(st, 8))) != 0 ||
	    (r = store_copy(g->created_by_name, sizeof(g->created_by_name),
	    db_col_text(st, 9))) != 0)
		return r;
	g->max_signatures = db_col_int64(st, 6);
	g->used = db_col_int64(st, 7);
	g->created_at = db_col_int64(st, 10);
	g->expires_at = db_col_int64(st, 11);
	g->revoked_at = db_col_is_null(st, 12) ? 0 : db_col_int64(st, 12);
	if (!db_col_is_null(st, 13) && (r = store_copy(g->revoked_by,
	    sizeof(g->revoked_by), db_col_text(st, 13))) != 0)
		return r;
	return 0;
}

int
store_grant_insert(struct db_conn *c, const char *tenant_id,
    const struct store_grant *g)
{
	return db_execf(c, "INSERT INTO approval_grants (id, tenant_id, key_id, "
	    "team_id, principal_type, principal_id, principal_name, "
	    "max_signatures, used, created_by, created_by_name, created_at, "
	    "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)",
	    "tttttttittii", g->id, tenant_id, g->key_id, g->team_id,
	    g->principal_type, g->principal_id, g->principal_name,
	    g->max_signatures, g->created_by, g->created_by_name,
	    g->created_at, g->expires_at);
}

int
store_grant_get(struct db_conn *c, const char *tenant_id, const char *key_id,
    const char *id, struct store_grant *out)
{
	struct db_stmt *st = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	r = db_queryf(c, &st, "SELECT " GRANT_COLUMNS " FROM approval_grants "
	    "WHERE tenant_id = ? AND key_id = ? AND id = ?", "ttt", tenant_id,
	    key_id, id);
	if (r >= 0)
		r = r == DB_ROW ? grant_row(st, out) : SN_ERR_NOT_FOUND;
	db_finalize(st);
	if (r != 0)
		memset(out, 0, sizeof(*out));
	return r;
}

int
store_grant_list(struct db_conn *c, const char *tenant_id, const char *key_id,
    int all, int64_t now, int64_t limit, struct store_ids *out)
{
	struct db_stmt *st = NULL;
	int r;

	out->v = NULL;
	out->n = 0;
	r = db_queryf(c, &st, "SELECT id FROM approval_grants WHERE tenant_id = ? "
	    "AND key_id = ? AND (? = 1 OR (revoked_at IS NULL AND used < "
	    "max_signatures AND expires_at > ?)) ORDER BY created_at DESC, id "
	    "DESC LIMIT ?", "ttiii", tenant_id, key_id, (int64_t)(all != 0),
	    now, limit);
	return store_ids_collect(st, r, out);
}

int
store_grant_revoke(struct db_conn *c, const char *tenant_id, const char *id,
    const char *by, int64_t now)
{
	int r;

	if ((r = db_execf(c, "UPDATE approval_grants SET revoked_at = ?, "
	    "revoked_by = ? WHERE tenant_id = ? AND id = ? AND revoked_at IS "
	    "NULL", "ittt", now, by, tenant_id, id)) != 0)
		return r;
	return db_changes(c) == 1 ? 0 : SN_ERR_CONFLICT;
}

int
store_grant_find(struct db_conn *c, const char *tenant_id, const char *key_id,
    const char *team_id, const char *principal_id, int64_t n, int64_t now,
    char id_out[STORE_ID_MAX])
{
	struct db_stmt *st = NULL;
	int r;

	id_out[0] = '\0';
	r = db_queryf(c, &st, "SELECT id FROM approval_grants WHERE tenant_id = ? "
	    "AND key_id = ? AND team_id = ? AND principal_id = ? AND revoked_at "
	    "IS NULL AND expires_at > ? AND max_signatures - used >= ? ORDER BY "
	    "expires_at, id LIMIT 1", "ttttii", tenant_id, key_id, team_id,
	    principal_id, now, n);
	if (r >= 0)
		r = r == DB_ROW ? store_copy(id_out, STORE_ID_MAX,
		    db_col_text(st, 0)) : SN_ERR_NOT_FOUND;
	db_finalize(st);
	return r;
}

int
store_grant_consume(struct db_conn *c, const char *tenant_id, const char *id,
    const char *principal_id, const char *team_id, int64_t n, int64_t now)
{
	int r;

	if ((r = db_execf(c, "UPDATE approval_grants SET used = used + ? WHERE "
	    "tenant_id = ? AND id = ? AND principal_id = ? AND team_id = ? AND "
	    "revoked_at IS NULL AND expires_at > ? AND max_signatures - used >= "
	    "?", "ittttii", n, tenant_id, id, principal_id, team_id, now,
	    n)) != 0)
		return r;
	return db_changes(c) == 1 ? 0 : SN_ERR_CONFLICT;
}

int
store_declared_insert(struct db_conn *c, const char *approval_id,
    const char *digest_algorithm, const char *digest_hex)
{
	return db_execf(c, "INSERT INTO approval_digests (approval_id, "
	    "digest_algorithm, digest) VALUES (?, ?, ?)", "ttt", approval_id,
	    digest_algorithm, digest_hex);
}

/* 1 if approval_id has digest unused under alg. */
static int
declared_unused(struct db_conn *c, const char *approval_id, const char *alg,
    const char *digest, int *yes)
{
	struct db_stmt *st = NULL;
	int r;

	*yes = 0;
	r = db_queryf(c, &st, "SELECT 1 FROM approval_digests WHERE approval_id "
	    "= ? AND digest_algorithm = ? AND digest = ? AND used_at IS NULL",
	    "ttt", approval_id, alg, digest);
	if (r == DB_ROW)
		*yes = 1;
	db_finalize(st);
	return r < 0 ? r : 0;
}

int
store_declared_find(struct db_conn *c, const char *tenant_id,
    const char *key_id, const char *requester_id,
    const char *digest_algorithm, json_t *digests, int64_t now,
    char id_out[STORE_ID_MAX])
{
	struct store_ids ids = { NULL, 0 };
	struct db_stmt *st = NULL;
	const char *first = json_string_value(json_array_get(digests, 0));
	size_t i, j;
	int r, yes;

	id_out[0] = '\0';
	if (first == NULL)
		return SN_ERR_NOT_FOUND;
	/* The candidates: approved declared approvals holding the first
	 * digest unused; then each must hold the rest too. */
	r = db_queryf(c, &st, "SELECT a.id FROM approvals a JOIN "
	    "approval_digests d ON d.approval_id = a.id WHERE a.tenant_id = ? AND "
	    "a.key_id = ? AND a.requester_id = ? AND a.state = 'approved' AND "
	    "a.expires_at > ? AND d.digest_algorithm = ? AND d.digest = ? AND "
	    "d.used_at IS NULL ORDER BY a.expires_at, a.id LIMIT 16", "tttitt",
	    tenant_id, key_id, requester_id, now, digest_algorithm, first);
	if ((r = store_ids_collect(st, r, &ids)) != 0)
		return r;
	r = SN_ERR_NOT_FOUND;
	for (i = 0; i < ids.n && r == SN_ERR_NOT_FOUND; i++) {
		yes = 1;
		for (j = 1; j < json_array_size(digests) && yes; j++) {
			const char *h = json_string_value(json_array_get(digests,
			    j));

			if (h == NULL || (r = declared_unused(c, ids.v[i],
			    digest_algorithm, h, &yes)) != 0)
				goto out;
			r = SN_ERR_NOT_FOUND;
		}
		if (yes)
			r = store_copy(id_out, STORE_ID_MAX, ids.v[i]);
	}
 out:
	store_ids_free(&ids);
	return r;
}

int
store_declared_use(struct db_conn *c, const char *approval_id,
    const char *digest_algorithm, json_t *digests, int64_t now)
{
	size_t i;
	int r;

	for (i = 0; i < json_array_size(digests); i++) {
		const char *h = json_string_value(json_array_get(digests, i));

		if (h == NULL)
			return SN_ERR_INVALID;
		if ((r = db_execf(c, "UPDATE approval_digests SET used_at = ? "
		    "WHERE approval_id = ? AND digest_algorithm = ? AND digest = "
		    "? AND used_at IS NULL", "ittt", now, approval_id,
		    digest_algorithm, h)) != 0)
			return r;
		if (db_changes(c) != 1)
			return SN_ERR_CONFLICT;
	}
	return 0;
}

int
store_declared_list(struct db_conn *c, const char *approval_id, json_t **out)
{
	struct db_stmt *st = NULL;
	json_t *a = json_array(), *v;
	int r;

	*out = NULL;
	if (a == NULL)
		return SN_ERR_NOMEM;
	for (r = db_queryf(c, &st, "SELECT digest, used_at FROM approval_digests "
	    "WHERE approval_id = ? ORDER BY digest", "t", approval_id);
	    r == DB_ROW; r = db_step(st)) {
		v = json_pack("{s:s?, s:o}", "digest", db_col_text(st, 0),
		    "used_at", db_col_is_null(st, 1) ? json_null() :
		    store_time_json(db_col_int64(st, 1)));
		if (v == NULL || json_array_append_new(a, v) != 0) {
			r = SN_ERR_NOMEM;
			break;
		}
	}
	db_finalize(st);
	if (r < 0) {
		json_decref(a);
		return r;
	}
	*out = a;
	return 0;
}
