/*
 * store_tlog.h - the rows of the transparency log (audit/tlog.c and
 * api/tlog_checkpoint.c): complete subtrees (audit_tree), the audit
 * chain's hashes they are built from, checkpoints and the per-tenant
 * checkpoint key.
 *
 * Return convention: 0 or a negative SN_ERR_*; SN_ERR_NOT_FOUND for a row
 * that is not there. Outputs are cleared on entry.
 */
#ifndef SIGNET_STORE_TLOG_H
#define SIGNET_STORE_TLOG_H

#include <stddef.h>
#include <stdint.h>

struct db_conn;

#define STORE_TLOG_HASH_LEN	32	/* SHA-256 */

/* Node (level, idx) of tenant's tree. SN_ERR_NOT_FOUND: a gap. */
int store_tree_node_get(struct db_conn *c, const char *tenant, int level,
    uint64_t idx, uint8_t out[STORE_TLOG_HASH_LEN]);
/* Writes a node once (SN_ERR_CONFLICT if it exists). */
int store_tree_node_put(struct db_conn *c, const char *tenant, int level,
    uint64_t idx, const uint8_t hash[STORE_TLOG_HASH_LEN]);
/* Leaves in the tree (highest level-0 idx + 1, 0 for none). */
int store_tree_size(struct db_conn *c, const char *tenant, uint64_t *size);
/* The highest seq of tenant's audit chain (0 for none). */
int store_audit_last_seq(struct db_conn *c, const char *tenant,
    uint64_t *last);

struct store_seq_hash {
	uint64_t seq;
	char hash[65];			/* hex SHA-256 of the event */
};
/* Events from..to (inclusive) in seq order, at most cap: *n of them. */
int store_audit_hash_page(struct db_conn *c, const char *tenant,
    uint64_t from, uint64_t to, size_t cap, struct store_seq_hash *out,
    size_t *n);

/* The newest checkpoint: size, root, note (malloc'd; NULL to skip),
 * created (NULL to skip). SN_ERR_NOT_FOUND if none. */
int store_checkpoint_latest(struct db_conn *c, const char *tenant,
    char **note, uint64_t *size, uint8_t root[STORE_TLOG_HASH_LEN],
    int64_t *created);
/* Stores a checkpoint unless one of this size exists: *made 1 if it did. */
int store_checkpoint_insert(struct db_conn *c, const char *tenant,
    uint64_t size, const uint8_t root[STORE_TLOG_HASH_LEN], const char *note,
    int64_t now, int *made);

#define STORE_LOG_PUB_LEN	32	/* Ed25519 */
struct store_log_key {
	char origin[256];
	char hsm_key_id[64];		/* hex */
	uint8_t pub[STORE_LOG_PUB_LEN];
};
int store_log_key_get(struct db_conn *c, const char *tenant,
    struct store_log_key *out);
/* Stores tenant's key unless another process stored one first: *made. */
int store_log_key_insert(struct db_conn *c, const char *tenant,
    const char *origin, const char *hsm_key_id_hex,
    const uint8_t pub[STORE_LOG_PUB_LEN], int64_t now, int *made);

/* Up to max tenant ids (64 bytes each) in id order: *n of them. */
int store_tenant_ids(struct db_conn *c, size_t max, char (*ids)[64],
    size_t *n);

#endif
