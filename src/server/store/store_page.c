/*
 * store_page.c - queries built piece by piece for the paged lists, and the
 * visibility predicates they filter with (store_page.h).
 *
 * The predicates restate authz.c's project rules in SQL so that a page is
 * filtered before it is cut: an owner of a project (a user, or a member of
 * an owning team) and its authorized signers (users, members of signing
 * teams, service accounts) view it and its keys; only signers sign, admins
 * included. Teams count only inside the caller's tenant, as in authz.c.
 * A change of the rules there must be made here too; the e2e paging test
 * compares every role's listings with authz_check's answers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "err.h"
#include "sn_assert.h"
#include "store_auth.h"
#include "store_page.h"

void
store_q_init(struct store_q *q)
{
	memset(q, 0, sizeof(*q));
}

void
store_q_sql(struct store_q *q, const char *s)
{
	size_t n = strlen(s);

	if (q->overflow || n >= sizeof(q->sql) - q->len) {
		q->overflow = 1;
		return;
	}
	memcpy(q->sql + q->len, s, n + 1);
	q->len += n;
}

void
store_q_text(struct store_q *q, const char *v)
{
	if (q->n >= STORE_Q_ARGS_MAX) {
		q->overflow = 1;
		return;
	}
	q->type[q->n] = 't';
	q->text[q->n++] = v;
}

void
store_q_int(struct store_q *q, int64_t v)
{
	if (q->n >= STORE_Q_ARGS_MAX) {
		q->overflow = 1;
		return;
	}
	q->type[q->n] = 'i';
	q->num[q->n++] = v;
}

int
store_q_run(struct db_conn *c, struct store_q *q, struct db_stmt **out)
{
	struct db_stmt *st = NULL;
	int i, r;

	*out = NULL;
	if (SN_NEVER(q->overflow))
		return SN_ERR_INTERNAL;
	if ((r = db_prepare(c, q->sql, &st)) != 0)
		return r;
	for (i = 0; i < q->n; i++) {
		r = q->type[i] == 't' ? db_bind_text(st, i + 1, q->text[i]) :
		    db_bind_int64(st, i + 1, q->num[i]);
		if (r != 0)
			break;
	}
	if (r != 0 || (r = db_step(st)) < 0) {
		db_finalize(st);
		return r;
	}
	*out = st;
	return r;
}

/*
 * Projects where the user, or a team it is a member of, is in table
 * (project_owners or project_signers): the rule of authz_check in the same
 * SQL text (store_auth.h).
 */
static void
user_links(struct store_q *q, const char *table,
    const struct store_viewer *v)
{
	store_q_sql(q, "SELECT x.project_id FROM ");
	store_q_sql(q, table);
	store_q_sql(q, " x WHERE " STORE_PRINCIPAL_USER("x"));
	store_q_text(q, v->id);
	store_q_text(q, v->id);
	store_q_text(q, v->tenant_id);
}

void
store_q_projects_visible(struct store_q *q, const char *col,
    const struct store_viewer *v, int sign_only)
{
	switch (v->kind) {
	case STORE_VIEW_ADMIN:
		if (!sign_only)
			return;
		/* an admin signs only as a signer, like any user */
		__attribute__((fallthrough));
	case STORE_VIEW_USER:
		store_q_sql(q, " AND ");
		store_q_sql(q, col);
		store_q_sql(q, " IN (");
		if (!sign_only) {
			user_links(q, "project_owners", v);
			store_q_sql(q, " UNION ");
		}
		user_links(q, "project_signers", v);
		store_q_sql(q, ")");
		return;
	case STORE_VIEW_SERVICE_ACCOUNT:
		store_q_sql(q, " AND ");
		store_q_sql(q, col);
		store_q_sql(q, " IN (SELECT s.project_id FROM project_signers s "
		    "WHERE " STORE_SIGNER_SA ")");
		store_q_text(q, v->id);
		return;
	}
	/* An unknown kind sees nothing. */
	SN_ASSERT(!"unknown viewer kind");
	store_q_sql(q, " AND 0 = 1");
}

int
store_page_group(struct db_stmt *st, int r, const char *member,
    int (*child)(struct db_stmt *st, json_t **out), json_t **out)
{
	json_t *arr = NULL, *cur = NULL, *kids = NULL, *kid;
	char last[STORE_ID_MAX] = "";
	const char *id;

	*out = NULL;
	if ((arr = json_array()) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	while (r == DB_ROW) {
		if ((id = db_col_text(st, 0)) == NULL ||
		    strlen(id) >= sizeof(last)) {
			r = SN_ERR_DB;
			goto out;
		}
		if (cur == NULL || strcmp(id, last) != 0) {
			if ((kids = json_array()) == NULL ||
			    (cur = json_pack("{s:s, s:s, s:o, s:o}", "id", id,
			    "name", db_col_text(st, 1) != NULL ?
			    db_col_text(st, 1) : "", member, kids,
			    "created_at", store_time_json(db_col_int64(st,
			    2)))) == NULL ||
			    json_array_append_new(arr, cur) != 0) {
				r = SN_ERR_NOMEM;
				goto out;
			}
			memcpy(last, id, strlen(id) + 1);
		}
		kid = NULL;
		if ((r = child(st, &kid)) != 0)
			goto out;
		if (kid != NULL && json_array_append_new(kids, kid) != 0) {
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
store_page_rows(struct db_stmt *st, int r, void *rows, size_t size,
    size_t cap, int (*row)(struct db_stmt *st, void *elem),
    void (*clear)(void *elem), size_t *n)
{
	char *base = rows;
	size_t i;

	*n = 0;
	while (r == DB_ROW && *n < cap) {
		if ((r = row(st, base + *n * size)) != 0)
			break;
		(*n)++;
		r = db_step(st);
	}
	db_finalize(st);
	if (r == DB_DONE)
		return 0;
	for (i = 0; i < cap; i++)
		clear(base + i * size);
	*n = 0;
	return r < 0 ? r : SN_ERR_DB;	/* DB_ROW: more rows than asked */
}
