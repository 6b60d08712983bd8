/*
 * store_listing.h - the listing generation of a tenant: what the ETag of
 * GET /v1/me/keys is made from (api/me.c), so that a PKCS#11 module can
 * revalidate its cached token listing with one small request
 * (docs/PKCS11.md "Listing cache", docs/API.md "/v1/me/keys").
 *
 * What a caller's listing shows is a function of the rows it reads
 * (signing_keys, projects, project_signers, team_members, teams,
 * key_policies: store_key_page with sign_only, and policies_me_fields)
 * and of the time (a key's validity period). Every store function that
 * writes one of those tables calls store_listing_changed in the same
 * transaction, after its write (tests/static/listing_writes.sh fails the
 * build's tests when one does not); the time is covered by
 * store_listing_validity_moved. The generation is per tenant: a change
 * another caller of the tenant sees also changes this caller's ETag, which
 * costs a refetch, never a missed change.
 *
 * Return convention: 0 or a negative SN_ERR_*.
 */
#ifndef SIGNET_STORE_LISTING_H
#define SIGNET_STORE_LISTING_H

#include <stdint.h>

#include "db.h"

/*
 * Gives the tenant a new generation: a fresh random value, never a
 * counter, so that a database restored from a backup (or any copy) never
 * hands out again a generation an ETag was once made from for other
 * contents. Call it after the write, in the write's transaction: it takes
 * the tenant's chain lock first (db_chain_lock; every such transaction
 * appends an audit event and takes it anyway), so the generation row is
 * only ever locked under it and no lock order can deadlock on PostgreSQL.
 * Outside a transaction (autocommit) it is its own statement after the
 * write: a reader between the two sees the new rows under the old
 * generation, which the next revalidation then refuses. SN_ERR_DB.
 */
int store_listing_changed(struct db_conn *c, const char *tenant_id) SN_WUR;

/* The tenant's generation into *gen (0: never changed). SN_ERR_DB. */
int store_listing_gen(struct db_conn *c, const char *tenant_id,
    int64_t *gen) SN_WUR;

/*
 * Whether a listing made at time from can differ from one made at to
 * (from <= to) without any change to the rows: 1 if a key of the tenant
 * (any key, any state: an over-approximation) became valid in (from, to]
 * or stopped being valid in [from, to), else 0; or SN_ERR_DB. Two index
 * probes (signing_keys (tenant_id, not_before / not_after)).
 */
int store_listing_validity_moved(struct db_conn *c, const char *tenant_id,
    int64_t from, int64_t to) SN_WUR;

#endif
