/*
 * merkle.h - RFC 9162 (Certificate Transparency v2) Merkle trees over the
 * audit events of one tenant, shared by signetd (which stores the tree and
 * answers proofs) and the CLI (which verifies them offline).
 *
 *   leaf hash      = SHA-256(0x00 || leaf data)   (leaf data: the event's
 *                    32-byte chain hash)
 *   interior node  = SHA-256(0x01 || left || right)
 *   MTH(D[n])      = the RFC 9162 section 2.1.1 tree hash; MTH of the empty
 *                    tree is SHA-256 of nothing.
 *
 * Storage is the caller's: a tree is read through sn_merkle_get_fn, which
 * returns the node covering the complete, aligned subtree of leaves
 * [idx * 2^level, (idx + 1) * 2^level). Such nodes never change once the
 * subtree is full, so they are stored once and every proof is assembled from
 * O(log n) of them (at most log2(n)^2 reads, typically far fewer).
 *
 * All functions return 0 or a negative SN_ERR_* code; verification failures
 * are SN_ERR_CONFLICT, malformed arguments SN_ERR_INVALID.
 */
#ifndef SIGNET_MERKLE_H
#define SIGNET_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#define SN_MERKLE_HASH_LEN	32
#define SN_MERKLE_MAX_DEPTH	64	/* audit paths are at most 63 hashes */

typedef uint8_t sn_mhash[SN_MERKLE_HASH_LEN];

/* Reads stored node (level, idx) into out. 0 or SN_ERR_* (NOT_FOUND: gap). */
typedef int (*sn_merkle_get_fn)(void *ctx, int level, uint64_t idx,
    uint8_t out[SN_MERKLE_HASH_LEN]);

/* Leaf data is always a 32-byte event chain hash here. */
void sn_merkle_leaf_hash(const uint8_t data[SN_MERKLE_HASH_LEN],
    uint8_t out[SN_MERKLE_HASH_LEN]);
void sn_merkle_node_hash(const uint8_t left[SN_MERKLE_HASH_LEN],
    const uint8_t right[SN_MERKLE_HASH_LEN], uint8_t out[SN_MERKLE_HASH_LEN]);

/* MTH(D[begin:end]) from stored nodes; begin must be aligned as in the
 * RFC's recursion (any begin reached from the root is). */
int sn_merkle_subtree(sn_merkle_get_fn get, void *ctx, uint64_t begin,
    uint64_t end, uint8_t out[SN_MERKLE_HASH_LEN]);
/* MTH(D[0:size]). */
int sn_merkle_root(sn_merkle_get_fn get, void *ctx, uint64_t size,
    uint8_t out[SN_MERKLE_HASH_LEN]);

/*
 * The inclusion path of leaf index (0-based) in the tree of size leaves
 * (RFC 9162 2.1.3.1), leaf-side first, into path[SN_MERKLE_MAX_DEPTH]; *n
 * gets the number of hashes. index < size, else SN_ERR_INVALID.
 */
int sn_merkle_inclusion(sn_merkle_get_fn get, void *ctx, uint64_t index,
    uint64_t size, sn_mhash *path, size_t *n);
/* The consistency proof from size from to size to (RFC 9162 2.1.4.1);
 * 0 < from <= to, else SN_ERR_INVALID. */
int sn_merkle_consistency(sn_merkle_get_fn get, void *ctx, uint64_t from,
    uint64_t to, sn_mhash *path, size_t *n);

/* RFC 9162 2.1.3.2: 0 if path proves leaf_hash at index in root of size,
 * SN_ERR_CONFLICT otherwise. */
int sn_merkle_verify_inclusion(uint64_t index, uint64_t size,
    const uint8_t leaf_hash[SN_MERKLE_HASH_LEN], const sn_mhash *path,
    size_t n, const uint8_t root[SN_MERKLE_HASH_LEN]);
/* RFC 9162 2.1.4.2: 0 if path proves tree (to, root2) extends (from, root1). */
int sn_merkle_verify_consistency(uint64_t from, uint64_t to,
    const uint8_t root1[SN_MERKLE_HASH_LEN],
    const uint8_t root2[SN_MERKLE_HASH_LEN], const sn_mhash *path, size_t n);

/*
 * A compact range: the roots of the perfect subtrees that make up a tree of
 * `size` leaves, largest (leftmost) first, one per set bit of size. Enough
 * to append leaves and compute the root without the rest of the tree: the
 * CLI keeps one per verified checkpoint, signetd rebuilds one when it
 * re-walks a chain.
 */
struct sn_merkle_range {
	uint64_t size;
	size_t n;
	sn_mhash h[SN_MERKLE_MAX_DEPTH];
};

void sn_merkle_range_init(struct sn_merkle_range *r);
/* Appends one leaf hash. SN_ERR_TOO_LARGE at 2^63 leaves. */
int sn_merkle_range_append(struct sn_merkle_range *r,
    const uint8_t leaf_hash[SN_MERKLE_HASH_LEN]);
/* MTH of the range's tree. */
void sn_merkle_range_root(const struct sn_merkle_range *r,
    uint8_t out[SN_MERKLE_HASH_LEN]);

/*
 * Appends leaf hash `leaf` as leaf number `index` (0-based; the tree holds
 * exactly index leaves before) to a stored tree: calls put for the leaf and
 * for every subtree it completes (at most log2 + 1 nodes), reading left
 * siblings with get.
 */
typedef int (*sn_merkle_put_fn)(void *ctx, int level, uint64_t idx,
    const uint8_t hash[SN_MERKLE_HASH_LEN]);
int sn_merkle_append(sn_merkle_get_fn get, sn_merkle_put_fn put, void *ctx,
    uint64_t index, const uint8_t leaf[SN_MERKLE_HASH_LEN]);

#endif
