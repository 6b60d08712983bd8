/*
 * store_key_versions.c - renewal and rotation of signing keys: the
 * certificates a key had before (key_certificates) and the public keys of
 * its rotated-out versions (key_versions). signing_keys always holds the
 * current version; these tables only grow until the key is deleted.
 */
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "err.h"
#include "store.h"
#include "store_listing.h"
#include "store_resources.h"

/* 0 if the guarded UPDATE changed the row, else SN_ERR_CONFLICT (revoked,
 * rotated meanwhile or gone: the caller reloads and reports). */
static int
changed_one(struct db_conn *c, int r)
{
	if (r != 0)
		return r;
	return db_changes(c) == 1 ? 0 : SN_ERR_CONFLICT;
}

int
store_key_archive_cert(struct db_conn *c, const char *tenant_id,
    const char *key_id, int64_t cert_nb, int64_t cert_na, int64_t now)
{
	return db_execf(c, "INSERT INTO key_certificates (tenant_id, key_id, "
	    "version, ca_id, cert_serial, cert_pem, chain_pem, not_before, "
	    "not_after, replaced_at) SELECT tenant_id, id, version, ca_id, "
	    "cert_serial, cert_pem, chain_pem, ?, ?, ? FROM signing_keys WHERE "
	    "tenant_id = ? AND id = ? AND cert_pem IS NOT NULL", "iiitt",
	    cert_nb, cert_na, now, tenant_id, key_id);
}

int
store_key_renew(struct db_conn *c, const char *tenant_id,
    const struct store_key *k)
{
	int r;

	if ((r = changed_one(c, db_execf(c, "UPDATE signing_keys SET "
	    "cert_pem = ?, chain_pem = ?, cert_serial = ?, ca_id = ?, "
	    "not_after = ? WHERE tenant_id = ? AND id = ? AND "
	    "state <> 'revoked' AND version = ?", "ttttitti", k->cert_pem,
	    k->chain_pem, k->cert_serial, k->ca_id[0] != '\0' ? k->ca_id : NULL,
	    k->not_after, tenant_id, k->id, k->version))) != 0)
		return r;
	return store_listing_changed(c, tenant_id);
}

int
store_key_archive_version(struct db_conn *c, const char *tenant_id,
    const struct store_key *old, int64_t created_at, int64_t now)
{
	return db_execf(c, "INSERT INTO key_versions (tenant_id, key_id, "
	    "version, hsm_key_id, public_key_pem, created_at, retired_at) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?)", "ttittii", tenant_id, old->id,
	    old->version, old->hsm_key_id, old->public_key_pem, created_at,
	    now);
}

int
store_key_rotate(struct db_conn *c, const char *tenant_id,
    const struct store_key *k)
{
	int r;

	if ((r = changed_one(c, db_execf(c, "UPDATE signing_keys SET "
	    "version = ?, hsm_key_id = ?, public_key_pem = ?, cert_pem = ?, "
	    "chain_pem = ?, cert_serial = ?, ca_id = ?, not_after = ? WHERE "
	    "tenant_id = ? AND id = ? AND state <> 'revoked' AND version = ?",
	    "ittttttitti", k->version, k->hsm_key_id, k->public_key_pem,
	    k->cert_pem, k->chain_pem, k->cert_serial,
	    k->ca_id[0] != '\0' ? k->ca_id : NULL, k->not_after, tenant_id,
	    k->id, k->version - 1))) != 0)
		return r;
	return store_listing_changed(c, tenant_id);
}

int
store_key_version_started(struct db_conn *c, const char *key_id,
    int64_t key_created_at, int64_t *out)
{
	struct db_stmt *st = NULL;
	int r;

	*out = key_created_at;
	r = db_queryf(c, &st, "SELECT MAX(retired_at) FROM key_versions "
	    "WHERE key_id = ?", "t", key_id);
	if (r == DB_ROW && !db_col_is_null(st, 0))
		*out = db_col_int64(st, 0);
	db_finalize(st);
	return r < 0 ? r : 0;
}

int
store_key_history(struct db_conn *c, const char *tenant_id,
    const char *key_id, json_t **certs, json_t **versions)
{
	struct db_stmt *st = NULL;
	json_t *ca = NULL, *va = NULL, *o;
	int r;

	*certs = *versions = NULL;
	if ((ca = json_array()) == NULL || (va = json_array()) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	r = db_queryf(c, &st, "SELECT version, cert_serial, cert_pem, "
	    "chain_pem, not_before, not_after, replaced_at FROM "
	    "key_certificates WHERE tenant_id = ? AND key_id = ? ORDER BY "
	    "replaced_at, version, not_after, cert_serial", "tt", tenant_id,
	    key_id);
	while (r == DB_ROW) {
		if ((o = json_pack("{s:I,s:s?,s:s,s:s?,s:o,s:o,s:o}", "version",
		    (json_int_t)db_col_int64(st, 0), "serial", db_col_text(st, 1),
		    "certificate", db_col_text(st, 2), "chain_pem",
		    db_col_text(st, 3), "not_before",
		    store_time_json(db_col_int64(st, 4)), "not_after",
		    store_time_json(db_col_int64(st, 5)), "replaced_at",
		    store_time_json(db_col_int64(st, 6)))) == NULL ||
		    json_array_append_new(ca, o) != 0) {
			r = SN_ERR_NOMEM;
			break;
		}
		r = db_step(st);
	}
	db_finalize(st);
	st = NULL;
	if (r != DB_DONE) {
		r = r < 0 ? r : SN_ERR_DB;
		goto out;
	}
	r = db_queryf(c, &st, "SELECT version, public_key_pem, created_at, "
	    "retired_at FROM key_versions WHERE tenant_id = ? AND key_id = ? "
	    "ORDER BY version", "tt", tenant_id, key_id);
	while (r == DB_ROW) {
		if ((o = json_pack("{s:I,s:s,s:o,s:o}", "version",
		    (json_int_t)db_col_int64(st, 0), "public_key",
		    db_col_text(st, 1), "created_at",
		    store_time_json(db_col_int64(st, 2)), "retired_at",
		    store_time_json(db_col_int64(st, 3)))) == NULL ||
		    json_array_append_new(va, o) != 0) {
			r = SN_ERR_NOMEM;
			break;
		}
		r = db_step(st);
	}
	db_finalize(st);
	if (r != DB_DONE) {
		r = r < 0 ? r : SN_ERR_DB;
		goto out;
	}
	*certs = ca;
	*versions = va;
	ca = va = NULL;
	r = 0;
 out:
	json_decref(ca);
	json_decref(va);
	return r;
}
