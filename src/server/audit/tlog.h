/*
 * tlog.h - the transparency log over each tenant's audit chain
 * (docs/AUDIT.md): an RFC 9162 Merkle tree whose leaves are the events'
 * 32-byte chain hashes, stored as complete subtrees in audit_tree, and
 * signed C2SP checkpoints made with the tenant's Ed25519 log key in the HSM.
 *
 * The tree functions take a connection and touch only the database; the
 * leaf of an event is appended in the event's own transaction
 * (audit_append), so an event is in the tree exactly when it is committed.
 * The checkpoint functions call the keeper and therefore take the server
 * and hold no connection while the HSM signs.
 *
 * All return 0 or a negative SN_ERR_*.
 */
#ifndef SIGNET_TLOG_H
#define SIGNET_TLOG_H

#include <stdint.h>

#include "merkle.h"
#include "note.h"

struct db_conn;
struct sn_server;

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

/* ---- checkpoints (call with no connection held) ---- */

struct tlog_key {
	char origin[SN_NOTE_NAME_MAX + 1];
	uint8_t pub[SN_ED25519_PUB_LEN];
	uint8_t hsm_id[16];
};

/* The tenant's log key, generated in the HSM on first use. */
int tlog_log_key(struct sn_server *srv, const char *tenant,
    struct tlog_key *key);

/*
 * Makes sure the newest checkpoint covers the whole tree: if the tree grew
 * since the last one (and force, or the configured interval or event count
 * is reached), signs a new one. *made (may be NULL) is 1 if it did.
 * SN_ERR_NOT_FOUND if the tree is empty.
 */
int tlog_checkpoint_update(struct sn_server *srv, const char *tenant,
    int force, int *made);

/* The latest stored checkpoint: note (malloc'd), size, root, time. */
int tlog_checkpoint_latest(struct db_conn *c, const char *tenant,
    char **note, uint64_t *size, uint8_t root[SN_MERKLE_HASH_LEN],
    int64_t *created);

/*
 * The checkpointer thread of `signetd serve`: once a second, for every
 * tenant, catches the tree up and signs a checkpoint when due
 * (audit_checkpoint_interval / audit_checkpoint_events).
 */
int tlog_checkpointer_start(struct sn_server *srv);
void tlog_checkpointer_stop(void);

#endif
