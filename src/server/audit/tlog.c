/*
 * tlog.c - the stored Merkle tree of each tenant's audit chain (tlog.h).
 *
 * audit_tree rows are complete subtrees, written once: node (level, idx)
 * appears in the transaction of the event that fills it and is never
 * updated. Appending event n writes its leaf and, for each trailing one
 * bit of n - 1, the parent it completes (amortised two rows, at most
 * log2(n) + 1), reading only the left siblings; a proof reads O(log n)
 * nodes. The tree lives only in the database, so every signetd process
 * sharing it sees the same tree, and a crash loses nothing that committed.
 */
#include <stdlib.h>
#include <string.h>

#include "encode.h"
#include "err.h"
#include "merkle.h"
#include "store_tlog.h"
#include "tlog.h"

_Static_assert(SN_MERKLE_HASH_LEN == STORE_TLOG_HASH_LEN, "one hash size");

struct tctx {
	struct db_conn *c;
	const char *tenant;
};

static int
node_get(void *ctx, int level, uint64_t idx, uint8_t out[SN_MERKLE_HASH_LEN])
{
	struct tctx *t = ctx;

	/* SN_ERR_NOT_FOUND: a gap, the tree is damaged */
	return store_tree_node_get(t->c, t->tenant, level, idx, out);
}

static int
node_put(void *ctx, int level, uint64_t idx,
    const uint8_t hash[SN_MERKLE_HASH_LEN])
{
	struct tctx *t = ctx;

	return store_tree_node_put(t->c, t->tenant, level, idx, hash);
}

int
tlog_size(struct db_conn *c, const char *tenant, uint64_t *size)
{
	return store_tree_size(c, tenant, size);
}

static int
leaf_of(const char *hash_hex, uint8_t leaf[SN_MERKLE_HASH_LEN])
{
	uint8_t *raw = NULL;
	size_t len = 0;

	if (hash_hex == NULL || sn_hex_decode(hash_hex, strlen(hash_hex), &raw,
	    &len) != 0)
		return SN_ERR_INVALID;
	if (len != SN_MERKLE_HASH_LEN) {
		free(raw);
		return SN_ERR_INVALID;
	}
	sn_merkle_leaf_hash(raw, leaf);
	free(raw);
	return 0;
}

/* Leaves for events (size, upto] read from audit_events, in order. */
static int
add_events(struct tctx *t, uint64_t size, uint64_t upto, uint64_t *added)
{
	struct store_seq_hash *page = NULL;
	uint8_t leaf[SN_MERKLE_HASH_LEN];
	uint64_t next = size + 1;
	size_t nb, np, cap = 1024, i;
	int r;

	*added = 0;
	if (upto <= size)
		return 0;
	/* A page of hashes is read, then its leaves written: bounded memory,
	 * and no statement is left open across the inserts. */
	if ((page = calloc(cap, sizeof(*page))) == NULL)
		return SN_ERR_NOMEM;
	while (next <= upto) {
		if ((r = store_audit_hash_page(t->c, t->tenant, next, upto, cap,
		    page, &np)) != 0)
			goto out;
		/* a gap in the chain: stop at it; verify reports it */
		for (nb = 0; nb < np && page[nb].seq == next + nb; nb++)
			;
		if (nb == 0) {
			r = SN_ERR_CONFLICT;	/* the chain has a hole here */
			goto out;
		}
		for (i = 0; i < nb; i++) {
			if ((r = leaf_of(page[i].hash, leaf)) != 0 ||
			    (r = sn_merkle_append(node_get, node_put, t,
			    next - 1, leaf)) != 0)
				goto out;
			next++;
			(*added)++;
		}
	}
	r = 0;
 out:
	free(page);
	return r;
}

int
tlog_append(struct db_conn *c, const char *tenant, int64_t seq,
    const char *hash_hex)
{
	struct tctx t = { c, tenant };
	uint8_t leaf[SN_MERKLE_HASH_LEN];
	uint64_t size, added;
	int r;

	if (seq < 1)
		return SN_ERR_INVALID;
	if ((r = leaf_of(hash_hex, leaf)) != 0 ||
	    (r = tlog_size(c, tenant, &size)) != 0)
		return r;
	if (size >= (uint64_t)seq)
		return SN_ERR_CONFLICT;
	if (size + 1 < (uint64_t)seq &&
	    (r = add_events(&t, size, (uint64_t)seq - 1, &added)) != 0)
		return r;
	return sn_merkle_append(node_get, node_put, &t, (uint64_t)seq - 1,
	    leaf);
}

int
tlog_behind(struct db_conn *c, const char *tenant)
{
	uint64_t size, last = 0;
	int r;

	if ((r = tlog_size(c, tenant, &size)) != 0 ||
	    (r = store_audit_last_seq(c, tenant, &last)) != 0)
		return r;
	return last > size ? 1 : 0;
}

int
tlog_catch_up(struct db_conn *c, const char *tenant, uint64_t max,
    uint64_t *added)
{
	struct tctx t = { c, tenant };
	uint64_t size, last = 0;
	int r;

	*added = 0;
	if ((r = tlog_size(c, tenant, &size)) != 0 ||
	    (r = store_audit_last_seq(c, tenant, &last)) != 0)
		return r;
	if (last <= size)
		return 0;
	if (last - size > max)
		last = size + max;
	return add_events(&t, size, last, added);
}

int
tlog_root(struct db_conn *c, const char *tenant, uint64_t size,
    uint8_t root[SN_MERKLE_HASH_LEN])
{
	struct tctx t = { c, tenant };

	return sn_merkle_root(node_get, &t, size, root);
}

int
tlog_inclusion(struct db_conn *c, const char *tenant, uint64_t index,
    uint64_t size, sn_mhash *path, size_t *n)
{
	struct tctx t = { c, tenant };

	return sn_merkle_inclusion(node_get, &t, index, size, path, n);
}

int
tlog_consistency(struct db_conn *c, const char *tenant, uint64_t from,
    uint64_t to, sn_mhash *path, size_t *n)
{
	struct tctx t = { c, tenant };

	return sn_merkle_consistency(node_get, &t, from, to, path, n);
}

int
tlog_leaf(struct db_conn *c, const char *tenant, uint64_t index,
    uint8_t out[SN_MERKLE_HASH_LEN])
{
	struct tctx t = { c, tenant };

	return node_get(&t, 0, index, out);
}

int
tlog_checkpoint_latest(struct db_conn *c, const char *tenant, char **note,
    uint64_t *size, uint8_t root[SN_MERKLE_HASH_LEN], int64_t *created)
{
	return store_checkpoint_latest(c, tenant, note, size, root, created);
}
