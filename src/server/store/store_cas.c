/*
 * store_cas.c - the tenant's certificate authorities (built-in root and
 * issuing CA). Rows hold the HSM CKA_ID of the CA key, never the key.
 */
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "err.h"
#include "store_resources.h"

#define CA_COLS "id, tenant_id, name, role, parent_id, algorithm, hsm_key_id, " \
	"cert_pem, crl_number, created_at FROM cas "

void
store_ca_clear(struct store_ca *ca)
{
	if (ca == NULL)
		return;
	free(ca->cert_pem);
	memset(ca, 0, sizeof(*ca));
}

static int
ca_row(struct db_stmt *st, struct store_ca *ca)
{
	int r;

	if ((r = store_copy(ca->id, sizeof(ca->id), db_col_text(st, 0))) != 0 ||
	    (r = store_copy(ca->tenant_id, sizeof(ca->tenant_id),
	    db_col_text(st, 1))) != 0 ||
	    (r = store_copy(ca->name, sizeof(ca->name), db_col_text(st, 2))) != 0 ||
	    (r = store_copy(ca->role, sizeof(ca->role), db_col_text(st, 3))) != 0 ||
	    (r = store_copy(ca->parent_id, sizeof(ca->parent_id),
	    db_col_text(st, 4))) != 0 ||
	    (r = store_copy(ca->algorithm, sizeof(ca->algorithm),
	    db_col_text(st, 5))) != 0 ||
	    (r = store_copy(ca->hsm_key_id, sizeof(ca->hsm_key_id),
	    db_col_text(st, 6))) != 0 ||
	    (r = store_dup(db_col_text(st, 7), &ca->cert_pem)) != 0)
		return r;
	ca->crl_number = db_col_int64(st, 8);
	ca->created_at = db_col_int64(st, 9);
	return 0;
}

static int
ca_one(struct db_conn *c, struct store_ca *out, struct db_stmt *st, int r)
{
	(void)c;
	if (r == DB_DONE)
		r = SN_ERR_NOT_FOUND;
	else if (r == DB_ROW)
		r = ca_row(st, out);
	db_finalize(st);
	if (r != 0)
		store_ca_clear(out);
	return r;
}

int
store_ca_get(struct db_conn *c, const char *tenant_id, const char *id_or_name,
    struct store_ca *out)
{
	struct db_stmt *st = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	if (tenant_id == NULL)
		r = db_queryf(c, &st, "SELECT " CA_COLS "WHERE id = ?", "t",
		    id_or_name);
	else
		r = db_queryf(c, &st, "SELECT " CA_COLS "WHERE tenant_id = ? "
		    "AND (id = ? OR name = ?) ORDER BY (id = ?) DESC LIMIT 1",
		    "tttt", tenant_id, id_or_name, id_or_name, id_or_name);
	return ca_one(c, out, st, r);
}

int
store_ca_get_issuing(struct db_conn *c, const char *tenant_id,
    struct store_ca *out)
{
	struct db_stmt *st = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	r = db_queryf(c, &st, "SELECT " CA_COLS "WHERE tenant_id = ? AND "
	    "role = 'issuing' ORDER BY created_at DESC, id LIMIT 1", "t",
	    tenant_id);
	return ca_one(c, out, st, r);
}

int
store_ca_insert(struct db_conn *c, const struct store_ca *ca)
{
	return db_execf(c, "INSERT INTO cas (id, tenant_id, name, role, "
	    "parent_id, algorithm, hsm_key_id, cert_pem, crl_number, "
	    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?)", "tttttttti",
	    ca->id, ca->tenant_id, ca->name, ca->role,
	    ca->parent_id[0] != '\0' ? ca->parent_id : NULL, ca->algorithm,
	    ca->hsm_key_id, ca->cert_pem, ca->created_at);
}

int
store_ca_list(struct db_conn *c, const char *tenant_id, struct store_ids *out)
{
	struct db_stmt *st = NULL;
	int r;

	r = db_queryf(c, &st, "SELECT id FROM cas WHERE tenant_id = ? "
	    "ORDER BY (role = 'root') DESC, created_at, name", "t", tenant_id);
	if (r < 0) {
		db_finalize(st);
		return r;
	}
	return store_ids_collect(st, r, out);
}

int
store_ca_next_crl_number(struct db_conn *c, const char *ca_id, int64_t *out)
{
	struct db_stmt *st = NULL;
	int r;

	*out = 0;
	if ((r = db_execf(c, "UPDATE cas SET crl_number = crl_number + 1 "
	    "WHERE id = ?", "t", ca_id)) != 0)
		return r;
	if (db_changes(c) != 1)
		return SN_ERR_NOT_FOUND;
	r = db_queryf(c, &st, "SELECT crl_number FROM cas WHERE id = ?", "t",
	    ca_id);
	if (r == DB_ROW) {
		*out = db_col_int64(st, 0);
		r = 0;
	} else if (r == DB_DONE)
		r = SN_ERR_NOT_FOUND;
	db_finalize(st);
	return r;
}
