/*
 * store_tsa.c - a tenant's timestamping authority: the HSM CKA_ID of its
 * key and its certificate (never the key). One row per tenant.
 */
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "err.h"
#include "store_resources.h"

void
store_tsa_clear(struct store_tsa *t)
{
	if (t == NULL)
		return;
	free(t->cert_pem);
	memset(t, 0, sizeof(*t));
}

int
store_tsa_get(struct db_conn *c, const char *tenant_id, struct store_tsa *out)
{
	struct db_stmt *st = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	r = db_queryf(c, &st, "SELECT tenant_id, hsm_key_id, algorithm, "
	    "cert_pem, created_at FROM tsas WHERE tenant_id = ?", "t",
	    tenant_id);
	if (r == DB_DONE)
		r = SN_ERR_NOT_FOUND;
	else if (r == DB_ROW) {
		if ((r = store_copy(out->tenant_id, sizeof(out->tenant_id),
		    db_col_text(st, 0))) == 0 &&
		    (r = store_copy(out->hsm_key_id, sizeof(out->hsm_key_id),
		    db_col_text(st, 1))) == 0 &&
		    (r = store_copy(out->algorithm, sizeof(out->algorithm),
		    db_col_text(st, 2))) == 0)
			r = store_dup(db_col_text(st, 3), &out->cert_pem);
		out->created_at = db_col_int64(st, 4);
	}
	db_finalize(st);
	if (r != 0)
		store_tsa_clear(out);
	return r;
}

int
store_tsa_insert(struct db_conn *c, const struct store_tsa *t)
{
	return db_execf(c, "INSERT INTO tsas (tenant_id, hsm_key_id, "
	    "algorithm, cert_pem, created_at) VALUES (?, ?, ?, ?, ?)", "tttti", t->tenant_id, t->hsm_key_id, t->algorithm, t->cert_pem,
	    t->created_at);
}
