/*
 * keygen.h - bounded key generation and HSM/database reconciliation
 * (keygen.c). Return convention: 0 or a negative SN_ERR_*.
 */
#ifndef SIGNET_API_KEYGEN_H
#define SIGNET_API_KEYGEN_H

#include <stdint.h>

struct db_conn;
struct sn_server;

/*
 * Waits (up to a minute, holding nothing else) for a key generation slot of
 * tenant_id: one per tenant, keeper_workers - 1 in all, so signatures always
 * find a free keeper worker. 0, or SN_ERR_UNAVAILABLE when no slot freed in
 * time. Every 0 must be paired with keygen_leave(tenant_id).
 */
int keygen_enter(const struct sn_server *srv, const char *tenant_id);
void keygen_leave(const char *tenant_id);

/*
 * hsm_pending rows (migration 7): add one, committed, before the keeper
 * generates the key with CKA_ID hsm_hex; delete it in the transaction that
 * inserts the row owning the key, or after destroying the key.
 */
int keygen_pending_add(struct db_conn *c, const char *tenant_id,
    const char *label, const char *hsm_hex);
int keygen_pending_done(struct db_conn *c, const char *hsm_hex);

/*
 * At start: destroys the HSM key of every pending row older than before
 * (a creation that never completed) and drops the rows; *destroyed counts
 * the keys found and destroyed. A key the keeper cannot destroy keeps its
 * row for the next start.
 */
int keygen_sweep(struct sn_server *srv, int64_t before, int *destroyed);

#endif
