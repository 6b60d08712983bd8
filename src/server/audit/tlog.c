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

#include "db.h"
#include "encode.h"
#include "err.h"
#include "merkle.h"
#include "tlog.h"

struct tctx {
	struct db_conn *c;
	const char *tenant;
};

static int
node_get(void *ctx, int level, uint64_t idx, uint8_t out[SN_MERKLE_HASH_LEN])
{
	struct tctx *t = ctx;
	struct db_stmt *st = NULL;
	const void *p;
	size_t len = 0;
	int r;

	if (idx > INT64_MAX)
		return SN_ERR_INVALID;
	r = db_queryf(t->c, &st, "SELECT hash FROM audit_tree WHERE "
	    "tenant_id = ? AND level = ? AND idx = ?", "tii", t->tenant,
	    (int64_t)level, (int64_t)idx);
	if (r == DB_ROW) {
		p = db_col_blob(st, 0, &len);
		if (p != NULL && len == SN_MERKLE_HASH_LEN) {
			memcpy(out, p, SN_MERKLE_HASH_LEN);
			r = 0;
		} else
			r = SN_ERR_DB;
	} else if (r == DB_DONE)
		r = SN_ERR_NOT_FOUND;	/* a gap: the tree is damaged */
	db_finalize(st);
	return r;
}

static int
node_put(void *ctx, int level, uint64_t idx,
    const uint8_t hash[SN_MERKLE_HASH_LEN])
{
	struct tctx *t = ctx;

	return db_execf(t->c, "INSERT INTO audit_tree (tenant_id, level, idx, "
	    "hash) VALUES (?, ?, ?, ?)", "tiib", t->tenant, (int64_t)level,
	    (int64_t)idx, hash, (size_t)SN_MERKLE_HASH_LEN);
}

int
tlog_size(struct db_conn *c, const char *tenant, uint64_t *size)
{
	struct db_stmt *st = NULL;
	int r;

	*size = 0;
	r = db_queryf(c, &st, "SELECT MAX(idx) FROM audit_tree WHERE "
	    "tenant_id = ? AND level = 0", "t", tenant);
	if (r == DB_ROW) {
		if (!db_col_is_null(st, 0))
			*size = (uint64_t)db_col_int64(st, 0) + 1;
		r = 0;
	} else if (r == DB_DONE)
		r = 0;
	db_finalize(st);
	return r;
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
	struct db_stmt *st = NULL;
	uint8_t leaf[SN_MERKLE_HASH_LEN];
	uint64_t next = size + 1;
	sn_mhash *batch = NULL;
	size_t nb = 0, cap = 1024;
	int r;

	*added = 0;
	if (upto <= size)
		return 0;
	/* A page of leaves is read, then written: bounded memory, and no
	 * statement is left open across the inserts. */
	if ((batch = calloc(cap, sizeof(*batch))) == NULL)
		return SN_ERR_NOMEM;
	while (next <= upto) {
		nb = 0;
		r = db_queryf(t->c, &st, "SELECT seq, hash FROM audit_events "
		    "WHERE tenant_id = ? AND seq >= ? AND seq <= ? ORDER BY seq "
		    "LIMIT ?", "tiii", t->tenant, (int64_t)next, (int64_t)upto,
		    (int64_t)cap);
		while (r == DB_ROW) {
			/* a gap in the chain: stop at it; verify reports it */
			if ((uint64_t)db_col_int64(st, 0) != next + nb)
				break;
			if ((r = leaf_of(db_col_text(st, 1), batch[nb])) != 0)
				goto out;
			nb++;
			r = db_step(st);
		}
		db_finalize(st);
		st = NULL;
		if (r < 0)
			goto out;
		if (nb == 0) {
			r = SN_ERR_CONFLICT;	/* the chain has a hole here */
			goto out;
		}
		for (size_t i = 0; i < nb; i++) {
			memcpy(leaf, batch[i], sizeof(leaf));
			if ((r = sn_merkle_append(node_get, node_put, t,
			    next - 1, leaf)) != 0)
				goto out;
			next++;
			(*added)++;
		}
	}
	r = 0;
 out:
	db_finalize(st);
	free(batch);
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
	struct db_stmt *st = NULL;
	uint64_t size, last = 0;
	int r;

	if ((r = tlog_size(c, tenant, &size)) != 0)
		return r;
	r = db_queryf(c, &st, "SELECT MAX(seq) FROM audit_events WHERE "
	    "tenant_id = ?", "t", tenant);
	if (r == DB_ROW && !db_col_is_null(st, 0))
		last = (uint64_t)db_col_int64(st, 0);
	db_finalize(st);
	if (r < 0)
		return r;
	return last > size ? 1 : 0;
}

int
tlog_catch_up(struct db_conn *c, const char *tenant, uint64_t max,
    uint64_t *added)
{
	struct tctx t = { c, tenant };
	struct db_stmt *st = NULL;
	uint64_t size, last = 0;
	int r;

	*added = 0;
	if ((r = tlog_size(c, tenant, &size)) != 0)
		return r;
	r = db_queryf(c, &st, "SELECT MAX(seq) FROM audit_events WHERE "
	    "tenant_id = ?", "t", tenant);
	if (r == DB_ROW && !db_col_is_null(st, 0))
		last = (uint64_t)db_col_int64(st, 0);
	db_finalize(st);
	if (r < 0)
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
	struct db_stmt *st = NULL;
	const void *p;
	size_t len = 0;
	int r;

	if (note != NULL)
		*note = NULL;
	*size = 0;
	r = db_queryf(c, &st, "SELECT size, root, note, created_at FROM "
	    "audit_checkpoints WHERE tenant_id = ? ORDER BY size DESC LIMIT 1",
	    "t", tenant);
	if (r == DB_ROW) {
		p = db_col_blob(st, 1, &len);
		if (p == NULL || len != SN_MERKLE_HASH_LEN ||
		    db_col_text(st, 2) == NULL) {
			r = SN_ERR_DB;
			goto out;
		}
		*size = (uint64_t)db_col_int64(st, 0);
		if (root != NULL)
			memcpy(root, p, SN_MERKLE_HASH_LEN);
		if (created != NULL)
			*created = db_col_int64(st, 3);
		if (note != NULL && (*note = strdup(db_col_text(st, 2))) == NULL) {
			r = SN_ERR_NOMEM;
			goto out;
		}
		r = 0;
	} else if (r == DB_DONE)
		r = SN_ERR_NOT_FOUND;
 out:
	db_finalize(st);
	return r;
}
