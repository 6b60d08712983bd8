/*
 * store_federations.c - rows of sa_federations and the provenance column
 * of access_tokens. See store_federations.h.
 */
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "err.h"
#include "store_federations.h"
#include "store_resources.h"

void
store_federation_clear(struct store_federation *f)
{
	if (f == NULL)
		return;
	json_decref(f->claims);
	memset(f, 0, sizeof(*f));
}

void
store_federations_free(struct store_federation *v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		store_federation_clear(&v[i]);
	free(v);
}

#define FED_COLUMNS "id, tenant_id, service_account_id, issuer, audience, " \
	"claims, max_token_age, created_at"

static int
fed_row(struct db_stmt *st, struct store_federation *out)
{
	json_error_t e;
	const char *cj;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = store_copy(out->id, sizeof(out->id), db_col_text(st, 0))) != 0 ||
	    (r = store_copy(out->tenant_id, sizeof(out->tenant_id),
	    db_col_text(st, 1))) != 0 ||
	    (r = store_copy(out->service_account_id,
	    sizeof(out->service_account_id), db_col_text(st, 2))) != 0 ||
	    (r = store_copy(out->issuer, sizeof(out->issuer),
	    db_col_text(st, 3))) != 0 ||
	    (r = store_copy(out->audience, sizeof(out->audience),
	    db_col_text(st, 4))) != 0)
		return r;
	cj = db_col_text(st, 5);
	if (cj == NULL || (out->claims = json_loads(cj, JSON_REJECT_DUPLICATES,
	    &e)) == NULL || !json_is_object(out->claims)) {
		store_federation_clear(out);
		return SN_ERR_DB;	/* the handler wrote an object: corrupt */
	}
	out->max_token_age = db_col_int64(st, 6);
	out->created_at = db_col_int64(st, 7);
	return 0;
}

int
store_federation_insert(struct db_conn *c, const struct store_federation *f)
{
	char *cj;
	int r;

	if ((cj = json_dumps(f->claims, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		return SN_ERR_NOMEM;
	r = db_execf(c, "INSERT INTO sa_federations (" FED_COLUMNS ") VALUES "
	    "(?, ?, ?, ?, ?, ?, ?, ?)", "ttttttii", f->id, f->tenant_id,
	    f->service_account_id, f->issuer, f->audience, cj,
	    f->max_token_age, f->created_at);
	free(cj);
	return r;
}

int
store_federation_count(struct db_conn *c, const char *tenant_id,
    const char *sa_id, int64_t *n)
{
	struct db_stmt *st = NULL;
	int r;

	*n = 0;
	r = db_queryf(c, &st, "SELECT COUNT(*) FROM sa_federations WHERE "
	    "tenant_id = ? AND service_account_id = ?", "tt", tenant_id, sa_id);
	if (r == DB_ROW) {
		*n = db_col_int64(st, 0);
		r = 0;
	} else if (r == DB_DONE)
		r = SN_ERR_DB;
	db_finalize(st);
	return r;
}

int
store_federation_get(struct db_conn *c, const char *tenant_id,
    const char *sa_id, const char *fed_id, struct store_federation *out)
{
	struct db_stmt *st = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	r = db_queryf(c, &st, "SELECT " FED_COLUMNS " FROM sa_federations "
	    "WHERE tenant_id = ? AND service_account_id = ? AND id = ?", "ttt",
	    tenant_id, sa_id, fed_id);
	if (r == DB_DONE)
		r = SN_ERR_NOT_FOUND;
	else if (r == DB_ROW)
		r = fed_row(st, out);
	db_finalize(st);
	return r;
}

int
store_federation_list(struct db_conn *c, const char *tenant_id,
    const char *sa_id, const char *issuer, struct store_federation **out,
    size_t *n)
{
	struct db_stmt *st = NULL;
	struct store_federation *v = NULL;
	size_t k = 0;
	int r;

	*out = NULL;
	*n = 0;
	if ((v = calloc(FED_MAX_PER_ACCOUNT, sizeof(*v))) == NULL)
		return SN_ERR_NOMEM;
	if (issuer != NULL)
		r = db_queryf(c, &st, "SELECT " FED_COLUMNS " FROM sa_federations "
		    "WHERE tenant_id = ? AND service_account_id = ? AND "
		    "issuer = ? ORDER BY created_at, id LIMIT ?", "ttti",
		    tenant_id, sa_id, issuer, (int64_t)FED_MAX_PER_ACCOUNT);
	else
		r = db_queryf(c, &st, "SELECT " FED_COLUMNS " FROM sa_federations "
		    "WHERE tenant_id = ? AND service_account_id = ? "
		    "ORDER BY created_at, id LIMIT ?", "tti", tenant_id, sa_id,
		    (int64_t)FED_MAX_PER_ACCOUNT);
	while (r == DB_ROW && k < FED_MAX_PER_ACCOUNT) {
		if ((r = fed_row(st, &v[k])) != 0)
			goto out;
		k++;
		r = db_step(st);
	}
	if (r < 0)
		goto out;
	*out = v;
	*n = k;
	v = NULL;
	r = 0;
 out:
	db_finalize(st);
	store_federations_free(v, k);
	return r;
}

int
store_federation_delete(struct db_conn *c, const char *tenant_id,
    const char *sa_id, const char *fed_id)
{
	int r;

	if ((r = db_execf(c, "DELETE FROM sa_federations WHERE tenant_id = ? "
	    "AND service_account_id = ? AND id = ?", "ttt", tenant_id, sa_id,
	    fed_id)) != 0)
		return r;
	if (db_changes(c) != 1)
		return SN_ERR_NOT_FOUND;
	/* Tokens it issued stop working when the caller commits. */
	return db_execf(c, "DELETE FROM access_tokens WHERE tenant_id = ? AND "
	    "federation_id = ?", "tt", tenant_id, fed_id);
}

int
store_token_provenance(struct db_conn *c, const char *tenant_id,
    const char *token_id, json_t **out)
{
	struct db_stmt *st = NULL;
	json_error_t e;
	const char *pj;
	int r;

	*out = NULL;
	r = db_queryf(c, &st, "SELECT provenance FROM access_tokens WHERE "
	    "tenant_id = ? AND id = ?", "tt", tenant_id, token_id);
	if (r == DB_DONE)
		r = SN_ERR_NOT_FOUND;
	else if (r == DB_ROW) {
		r = 0;
		if ((pj = db_col_text(st, 0)) != NULL &&
		    (*out = json_loads(pj, JSON_REJECT_DUPLICATES, &e)) == NULL)
			r = SN_ERR_DB;
	}
	db_finalize(st);
	return r;
}
