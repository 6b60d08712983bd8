/*
 * store_listing.c - the listing generation of a tenant (store_listing.h).
 *
 * It must never be bumped on the signing path: POST /v1/keys/{id}/sign
 * writes what it wrote before (the audit event, the quota counters), none
 * of which a listing shows except a quota's "used", which the listing's
 * weak ETag does not cover (docs/API.md).
 */
#include <stdint.h>

#include "db.h"
#include "err.h"
#include "store_listing.h"
#include "util.h"

int
store_listing_changed(struct db_conn *c, const char *tenant_id)
{
	uint64_t v = 0;
	int64_t gen;
	int r;

	if (tenant_id == NULL)
		return SN_ERR_INVALID;
	if (db_in_transaction(c) && (r = db_chain_lock(c, tenant_id)) != 0)
		return r;
	if (sn_random_bytes(&v, sizeof(v)) != 0)
		return SN_ERR_CRYPTO;
	/* 63 bits (BIGINT is signed), never 0: 0 is "no row" */
	gen = (int64_t)(v & INT64_MAX);
	if (gen == 0)
		gen = 1;
	return db_execf(c, "INSERT INTO listing_generations (tenant_id, gen) "
	    "VALUES (?, ?) ON CONFLICT (tenant_id) DO UPDATE SET "
	    "gen = excluded.gen", "ti", tenant_id, gen);
}

int
store_listing_gen(struct db_conn *c, const char *tenant_id, int64_t *gen)
{
	struct db_stmt *st = NULL;
	int r;

	*gen = 0;
	if ((r = db_queryf(c, &st, "SELECT gen FROM listing_generations "
	    "WHERE tenant_id = ?", "t", tenant_id)) < 0)
		return r;
	if (r == DB_ROW)
		*gen = db_col_int64(st, 0);
	db_finalize(st);
	return 0;
}

int
store_listing_validity_moved(struct db_conn *c, const char *tenant_id,
    int64_t from, int64_t to)
{
	struct db_stmt *st = NULL;
	int r, moved;

	if (from > to)
		return 1;
	/* GET /v1/me/keys lists a key at t when not_before <= t <= not_after */
	if ((r = db_queryf(c, &st, "SELECT (SELECT COUNT(*) FROM (SELECT 1 "
	    "FROM signing_keys WHERE tenant_id = ? AND not_before > ? AND "
	    "not_before <= ? LIMIT 1) a) + (SELECT COUNT(*) FROM (SELECT 1 "
	    "FROM signing_keys WHERE tenant_id = ? AND not_after >= ? AND "
	    "not_after < ? LIMIT 1) b)", "tiitii", tenant_id, from, to,
	    tenant_id, from, to)) < 0)
		return r;
	if (r != DB_ROW) {
		db_finalize(st);
		return SN_ERR_DB;
	}
	moved = db_col_int64(st, 0) != 0;
	db_finalize(st);
	return moved;
}
