/*
 * store_approvals.c - approvals and their votes (store_approvals.h).
 * State changes are guarded UPDATEs (WHERE state = from), so of two
 * decisions that race exactly one wins and the other sees a conflict.
 */
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "err.h"
#include "store.h"
#include "store_approvals.h"

#define APPROVAL_COLUMNS "id, key_id, team_id, required, ttl, " \
	"requester_type, requester_id, requester_name, fingerprint, request, " \
	"state, created_at, expires_at, decided_at, response"

void
store_approval_clear(struct store_approval *a)
{
	if (a == NULL)
		return;
	json_decref(a->request);
	free(a->response);
	memset(a, 0, sizeof(*a));
}

const char *
store_approval_state(const struct store_approval *a, int64_t now)
{
	if ((strcmp(a->state, "pending") == 0 ||
	    strcmp(a->state, "approved") == 0) && now >= a->expires_at)
		return "expired";
	return a->state;
}

static int
row(struct db_stmt *st, struct store_approval *a)
{
	const char *req;
	int r;

	if ((r = store_copy(a->id, sizeof(a->id), db_col_text(st, 0))) != 0 ||
	    (r = store_copy(a->key_id, sizeof(a->key_id),
	    db_col_text(st, 1))) != 0 ||
	    (r = store_copy(a->team_id, sizeof(a->team_id),
	    db_col_text(st, 2))) != 0 ||
	    (r = store_copy(a->requester_type, sizeof(a->requester_type),
	    db_col_text(st, 5))) != 0 ||
	    (r = store_copy(a->requester_id, sizeof(a->requester_id),
	    db_col_text(st, 6))) != 0 ||
	    (r = store_copy(a->requester_name, sizeof(a->requester_name),
	    db_col_text(st, 7))) != 0 ||
	    (r = store_copy(a->fingerprint, sizeof(a->fingerprint),
	    db_col_text(st, 8))) != 0 ||
	    (r = store_copy(a->state, sizeof(a->state),
	    db_col_text(st, 10))) != 0 ||
	    (r = store_dup(db_col_text(st, 14), &a->response)) != 0)
		return r;
	a->required = db_col_int64(st, 3);
	a->ttl = db_col_int64(st, 4);
	a->created_at = db_col_int64(st, 11);
	a->expires_at = db_col_int64(st, 12);
	a->decided_at = db_col_is_null(st, 13) ? 0 : db_col_int64(st, 13);
	req = db_col_text(st, 9);
	if (req == NULL || (a->request = json_loads(req, 0, NULL)) == NULL)
		return SN_ERR_DB;
	return 0;
}

/* st is passed by address: it is set by the db_queryf that makes r,
 * and argument evaluation order is unspecified. */
static int
get_one(int r, struct db_stmt **stp, struct store_approval *out)
{
	struct db_stmt *st = *stp;

	if (r >= 0)
		r = r == DB_ROW ? row(st, out) : SN_ERR_NOT_FOUND;
	db_finalize(st);
	if (r != 0)
		store_approval_clear(out);
	return r;
}

int
store_approval_insert(struct db_conn *c, const char *tenant_id,
    const struct store_approval *a)
{
	char *req = json_dumps(a->request, JSON_COMPACT | JSON_SORT_KEYS);
	int r;

	if (req == NULL)
		return SN_ERR_NOMEM;
	r = db_execf(c, "INSERT INTO approvals (id, tenant_id, key_id, team_id, "
	    "required, ttl, requester_type, requester_id, requester_name, "
	    "fingerprint, request, state, created_at, expires_at) VALUES "
	    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
	    "ttttiitttttii", a->id, tenant_id, a->key_id, a->team_id,
	    a->required, a->ttl, a->requester_type, a->requester_id,
	    a->requester_name, a->fingerprint, req, a->created_at,
	    a->expires_at);
	free(req);
	return r;
}

int
store_approval_get(struct db_conn *c, const char *tenant_id, const char *id,
    struct store_approval *out)
{
	struct db_stmt *st = NULL;

	memset(out, 0, sizeof(*out));
	return get_one(db_queryf(c, &st, "SELECT " APPROVAL_COLUMNS " FROM "
	    "approvals WHERE tenant_id = ? AND id = ?", "tt", tenant_id, id),
	    &st, out);
}

int
store_approval_find(struct db_conn *c, const char *tenant_id,
    const char *key_id, const char *requester_id, const char *fingerprint,
    struct store_approval *out)
{
	struct db_stmt *st = NULL;

	memset(out, 0, sizeof(*out));
	return get_one(db_queryf(c, &st, "SELECT " APPROVAL_COLUMNS " FROM "
	    "approvals WHERE tenant_id = ? AND key_id = ? AND requester_id = ? "
	    "AND fingerprint = ? ORDER BY created_at DESC, id DESC LIMIT 1",
	    "tttt", tenant_id, key_id, requester_id, fingerprint), &st, out);
}

int
store_approval_transition(struct db_conn *c, const char *tenant_id,
    const char *id, const char *from, const char *to, int64_t now,
    int64_t expires_at)
{
	int r;

	if (expires_at > 0)
		r = db_execf(c, "UPDATE approvals SET state = ?, decided_at = ?, "
		    "expires_at = ? WHERE tenant_id = ? AND id = ? AND state = ?",
		    "tiittt", to, now, expires_at, tenant_id, id, from);
	else
		r = db_execf(c, "UPDATE approvals SET state = ?, decided_at = "
		    "COALESCE(decided_at, ?) WHERE tenant_id = ? AND id = ? AND "
		    "state = ?", "tittt", to, now, tenant_id, id, from);
	if (r != 0)
		return r;
	return db_changes(c) == 1 ? 0 : SN_ERR_CONFLICT;
}

int
store_approval_set_response(struct db_conn *c, const char *tenant_id,
    const char *id, const char *response)
{
	return db_execf(c, "UPDATE approvals SET response = ? WHERE tenant_id = ? "
	    "AND id = ? AND state = 'signed'", "ttt", response, tenant_id, id);
}

int
store_approval_vote(struct db_conn *c, const char *approval_id,
    const char *approver_id, const char *approver_name, const char *vote,
    const char *comment, int64_t now)
{
	return db_execf(c, "INSERT INTO approval_votes (approval_id, approver_id, "
	    "approver_name, vote, comment, created_at) VALUES (?, ?, ?, ?, ?, ?)",
	    "ttttti", approval_id, approver_id,
	    approver_name, vote, comment, now);
}

int
store_approval_count(struct db_conn *c, const char *approval_id,
    const char *vote, int64_t *n)
{
	struct db_stmt *st = NULL;
	int r;

	*n = 0;
	if ((r = db_queryf(c, &st, "SELECT COUNT(*) FROM approval_votes WHERE "
	    "approval_id = ? AND vote = ?", "tt", approval_id, vote)) == DB_ROW)
		*n = db_col_int64(st, 0);
	db_finalize(st);
	return r < 0 ? r : 0;
}

int
store_approval_votes(struct db_conn *c, const char *approval_id, json_t **out)
{
	struct db_stmt *st = NULL;
	json_t *a = json_array(), *v;
	int r;

	*out = NULL;
	if (a == NULL)
		return SN_ERR_NOMEM;
	for (r = db_queryf(c, &st, "SELECT approver_id, approver_name, vote, "
	    "comment, created_at FROM approval_votes WHERE approval_id = ? "
	    "ORDER BY created_at, approver_id", "t", approval_id); r == DB_ROW;
	    r = db_step(st)) {
		v = json_pack("{s:s?, s:s?, s:s?, s:s?, s:o}", "approver",
		    db_col_text(st, 0), "name", db_col_text(st, 1), "vote",
		    db_col_text(st, 2), "comment", db_col_text(st, 3), "at",
		    store_time_json(db_col_int64(st, 4)));
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

int
store_approval_list(struct db_conn *c, const char *tenant_id,
    const char *actor_id, int is_admin, int pending_only, int64_t now,
    int64_t limit, struct store_ids *out)
{
	struct db_stmt *st = NULL;
	int r;

	out->v = NULL;
	out->n = 0;
	r = db_queryf(c, &st, "SELECT a.id FROM approvals a WHERE a.tenant_id = ? "
	    "AND (? = 1 OR a.requester_id = ? OR a.team_id IN (SELECT m.team_id "
	    "FROM team_members m JOIN teams t ON t.id = m.team_id WHERE "
	    "m.user_id = ? AND t.tenant_id = ?)) AND (? = 0 OR (a.state = "
	    "'pending' AND a.expires_at > ?)) ORDER BY a.created_at DESC, a.id "
	    "DESC LIMIT ?", "titttiii", tenant_id, (int64_t)(is_admin != 0),
	    actor_id, actor_id, tenant_id, (int64_t)(pending_only != 0), now,
	    limit);
	return store_ids_collect(st, r, out);
}
