/*
 * store_page.h - one page of a list, filtered in SQL by what the caller
 * may see (store_page.c), for the paged list endpoints (api/page.h).
 *
 * Visibility is filtered in the query, before LIMIT, so a page is never
 * cut short by rows the caller may not see and never shows one: the
 * predicates of store_page.c are the rules of authz.c (AUTHZ_PROJECT_VIEW,
 * AUTHZ_KEY_VIEW, AUTHZ_KEY_SIGN, AUTHZ_TEAM_VIEW, AUTHZ_SA_VIEW) written
 * as SQL, and tests/e2e/list_paging.sh checks that a listing holds exactly
 * the objects authz_check lets the caller view, for every role.
 *
 * Each *_page function reads rows sorted by a unique key strictly after
 * page->after (keyset pagination, no OFFSET) and at most page->limit of
 * them; callers ask for one more than they show to learn whether another
 * page follows. Return convention: 0 or a negative SN_ERR_*.
 */
#ifndef SIGNET_STORE_PAGE_H
#define SIGNET_STORE_PAGE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "store.h"
#include "store_resources.h"

struct db_conn;
struct db_stmt;

/* Who is listing (the actor, as far as the rules need it). */
enum store_view {
	STORE_VIEW_ADMIN,		/* a tenant admin user */
	STORE_VIEW_USER,		/* any other user */
	STORE_VIEW_SERVICE_ACCOUNT,
};
struct store_viewer {
	const char *tenant_id;
	const char *id;			/* usr_... or sac_... */
	enum store_view kind;
};

struct store_page {
	const char *after[2];		/* sort key of the last row before; NULL: from the start */
	int64_t limit;			/* rows to read, >= 1 */
};

/* ---- a query built piece by piece, binds in order (store_page.c) ---- */
#define STORE_Q_SQL_MAX		6144
#define STORE_Q_ARGS_MAX	32
struct store_q {
	char sql[STORE_Q_SQL_MAX];
	size_t len;
	int overflow;			/* set when anything did not fit */
	int n;
	char type[STORE_Q_ARGS_MAX];	/* 't' or 'i' */
	const char *text[STORE_Q_ARGS_MAX];
	int64_t num[STORE_Q_ARGS_MAX];
};
void store_q_init(struct store_q *q);
void store_q_sql(struct store_q *q, const char *s);
void store_q_text(struct store_q *q, const char *v);	/* the next '?' */
void store_q_int(struct store_q *q, int64_t v);
/* Prepares, binds and steps once, like db_queryf (DB_ROW, DB_DONE, or
 * SN_ERR_*; SN_ERR_INTERNAL if the query overflowed). */
int store_q_run(struct db_conn *c, struct store_q *q, struct db_stmt **out);
/*
 * " AND <col> IN (projects the viewer may view)" (sign_only: may sign
 * with; being an admin is not enough to sign). Nothing for an admin's
 * view. col is a trusted column name such as "p.id".
 */
void store_q_projects_visible(struct store_q *q, const char *col,
    const struct store_viewer *v, int sign_only);
/*
 * Groups the rows of st (as db_queryf left it, result r) into
 * [{"id","name",<member>:[...],"created_at"}]: columns 0..2 are the
 * parent's id, name and created_at (the rows of one parent adjacent),
 * child() makes the member element of a row (*out NULL: none, a LEFT
 * JOIN's empty side). Finalizes st.
 */
int store_page_group(struct db_stmt *st, int r, const char *member,
    int (*child)(struct db_stmt *st, json_t **out), json_t **out);

/*
 * Reads the rows of st (as store_q_run left it, result r) into rows, an
 * array of cap zeroed elements of size bytes, each through row(); *n is
 * the number read. On failure every element is cleared with clear() (the
 * caller still frees rows) and *n is 0. Finalizes st.
 */
int store_page_rows(struct db_stmt *st, int r, void *rows, size_t size,
    size_t cap, int (*row)(struct db_stmt *st, void *elem),
    void (*clear)(void *elem), size_t *n);

/* ---- the pages ---- */

/* [P...] as render_project makes them (owners included), name order. */
int store_project_page(struct db_conn *c, const struct store_viewer *v,
    const struct store_page *page, json_t **out);
/* [T...] as render_team (members included), name order. */
int store_team_page(struct db_conn *c, const struct store_viewer *v,
    const struct store_page *page, json_t **out);
/* Service accounts in name order; *out holds n rows, each cleared with
 * store_sa_clear, the array freed by the caller. */
int store_sa_page(struct db_conn *c, const struct store_viewer *v,
    const struct store_page *page, struct store_sa **out, size_t *n);
/* [U...] (store_user_json) in email order; admins only (the caller
 * checks). */
int store_user_page(struct db_conn *c, const char *tenant_id,
    const struct store_page *page, json_t **out);

/*
 * Keys in (project name, key name) order; after[0] the project name,
 * after[1] the key name. project_id, project_name, name, key_id:
 * optional filters (NULL: any).
 * sign_only: only keys the viewer may sign with that are active inside
 * their validity at now (GET /v1/me/keys). *out holds n keys, each cleared
 * with store_key_clear, the array freed by the caller.
 */
struct store_key_filter {
	const char *project_id;
	const char *project_name;	/* p.name =, NULL: any */
	const char *name;
	const char *key_id;		/* k.id =, NULL: any */
	int sign_only;
	int64_t now;
};
int store_key_page(struct db_conn *c, const struct store_viewer *v,
    const struct store_key_filter *f, const struct store_page *page,
    struct store_key **out, size_t *n);

#endif
