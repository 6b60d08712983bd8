/*
 * keygen.h - bounded key generation and HSM/database reconciliation
 * (keygen.c). Return convention: 0 or a negative SN_ERR_*.
 */
#ifndef SIGNET_API_KEYGEN_H
#define SIGNET_API_KEYGEN_H

#include <stddef.h>
#include <stdint.h>

#include "alg.h"
#include "keeper.h"
#include "util.h"

struct db_conn;
struct sn_request;
struct sn_response;
struct sn_server;
struct store_key;

/* What a keygen_begin() has done so far, for its caller's cleanup. */
struct keygen_run {
	uint8_t id[KEEPER_ID_LEN];	/* the new key's CKA_ID */
	char *hex;			/* id as hex (caller frees) */
	int pending;	/* its hsm_pending row is committed */
	int gate;	/* the tenant's slot is taken: keygen_leave() it */
	int made;	/* the key pair may exist in the HSM: destroy id */
};

/*
 * The HSM half of a new key (keys.c) or a new key version (key_versions.c),
 * in the order of keygen.c's two rules: a random CKA_ID (into
 * nk->hsm_key_id) committed to hsm_pending under nk->id, the pooled
 * connection given back (*c, or one taken if *c is NULL, is released and
 * NULL from there on), the tenant's generation slot taken, and the key pair
 * generated with that CKA_ID and the label nk->id. g, zeroed by the caller,
 * says at every return what exists. 0 with *spki (DER SubjectPublicKeyInfo,
 * caller frees) and the slot still held, or the error response's status.
 */
int keygen_begin(struct sn_request *req, struct sn_response *resp,
    struct db_conn **c, enum sn_key_alg alg, struct store_key *nk,
    struct keygen_run *g, uint8_t **spki, size_t *spki_len) SN_WUR;

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
