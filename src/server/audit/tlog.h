/*
 * tlog.h - the transparency log over each tenant's audit chain
 * (docs/AUDIT.md): an RFC 9162 Merkle tree whose leaves are the events'
 * 32-byte chain hashes, stored as complete subtrees in audit_tree, and
 * signed C2SP checkpoints made with the tenant's Ed25519 log key in the HSM.
 *
 * The tree functions take a connection and touch only the database; the
 * leaf of an event is appended in the event's own transaction
 * (audit_append), so an event is in the tree exactly when it is committed.
 * Signing checkpoints needs the keeper and lives one layer up, in
 * api/tlog_checkpoint.h.
 *
 * All return 0 or a negative SN_ERR_*.
 */
#ifndef SIGNET_TLOG_H
#define SIGNET_TLOG_H

#include <stdint.h>

#include "merkle.h"
#include "note.h"

struct db_conn;

/* Number of leaves in the tenant's tree. */
int tlog_size(struct db_conn *c, const char *tenant, uint64_t *size);

/*
 * Inside the caller's write transaction: adds the leaf of event seq (chain
 * hash hash_hex). Leaves of older events not yet in the tree (a database
 * from before the log existed) are added first. A tree that already holds
 * seq (the chain was truncated under it) is SN_ERR_CONFLICT: appending
 * would fork the log, so the audit write, and its request, fail.
 */
int tlog_append(struct db_conn *c, const char *tenant, int64_t seq,
    const char *hash_hex);
/* 1 if committed events are missing from the tree, 0 if not, or SN_ERR_*. */
int tlog_behind(struct db_conn *c, const char *tenant);
/* Adds the leaves of every committed event not yet in the tree, at most
 * max of them (own use: in a write transaction). *added gets the count. */
int tlog_catch_up(struct db_conn *c, const char *tenant, uint64_t max,
    uint64_t *added);

int tlog_root(struct db_conn *c, const char *tenant, uint64_t size,
    uint8_t root[SN_MERKLE_HASH_LEN]);
int tlog_inclusion(struct db_conn *c, const char *tenant, uint64_t index,
    uint64_t size, sn_mhash *path, size_t *n);
int tlog_consistency(struct db_conn *c, const char *tenant, uint64_t from,
    uint64_t to, sn_mhash *path, size_t *n);
/* The stored leaf hash of leaf index (event seq index + 1). */
int tlog_leaf(struct db_conn *c, const char *tenant, uint64_t index,
    uint8_t out[SN_MERKLE_HASH_LEN]);

/* The latest stored checkpoint: note (malloc'd), size, root, time. */
int tlog_checkpoint_latest(struct db_conn *c, const char *tenant,
    char **note, uint64_t *size, uint8_t root[SN_MERKLE_HASH_LEN],
    int64_t *created);

#endif
