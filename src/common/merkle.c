/*
 * merkle.c - RFC 9162 Merkle tree hashes, audit paths, consistency proofs
 * and their verification. See merkle.h for the conventions; the section
 * numbers below are RFC 9162's. Nothing here allocates: paths live in the
 * caller's fixed-size arrays (SN_MERKLE_MAX_DEPTH hashes).
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "err.h"
#include "merkle.h"
#include "sha256.h"
#include "sn_assert.h"

/* Every audit event hashes a leaf and up to log2(n) nodes. */
static void
hash_buf(const uint8_t *buf, size_t len, uint8_t out[SN_MERKLE_HASH_LEN])
{
	if (sn_sha256(buf, len, out) != 0)
		SHA256(buf, len, out);	/* the implicit fetch, as before */
}

void
sn_merkle_leaf_hash(const uint8_t data[SN_MERKLE_HASH_LEN],
    uint8_t out[SN_MERKLE_HASH_LEN])
{
	uint8_t buf[1 + SN_MERKLE_HASH_LEN];

	buf[0] = 0x00;
	memcpy(buf + 1, data, SN_MERKLE_HASH_LEN);
	hash_buf(buf, sizeof(buf), out);
}

void
sn_merkle_node_hash(const uint8_t left[SN_MERKLE_HASH_LEN],
    const uint8_t right[SN_MERKLE_HASH_LEN], uint8_t out[SN_MERKLE_HASH_LEN])
{
	uint8_t buf[1 + 2 * SN_MERKLE_HASH_LEN];

	buf[0] = 0x01;
	memcpy(buf + 1, left, SN_MERKLE_HASH_LEN);
	memcpy(buf + 1 + SN_MERKLE_HASH_LEN, right, SN_MERKLE_HASH_LEN);
	hash_buf(buf, sizeof(buf), out);
}

/* The largest power of two strictly below n (n >= 2). */
static uint64_t
split_point(uint64_t n)
{
	uint64_t k = 1;

	while (k < n - k)	/* k * 2 < n, without overflow */
		k <<= 1;
	return k;
}

static int
is_pow2(uint64_t n)
{
	return n != 0 && (n & (n - 1)) == 0;
}

static int
log2u(uint64_t n)
{
	int l = 0;

	while (n > 1) {
		n >>= 1;
		l++;
	}
	return l;
}

int
sn_merkle_subtree(sn_merkle_get_fn get, void *ctx, uint64_t begin,
    uint64_t end, uint8_t out[SN_MERKLE_HASH_LEN])
{
	uint8_t l[SN_MERKLE_HASH_LEN], rr[SN_MERKLE_HASH_LEN];
	uint64_t n, k;
	int r;

	if (end < begin)
		return SN_ERR_INVALID;
	n = end - begin;
	if (n == 0) {
		if (begin != 0)
			return SN_ERR_INVALID;
		SHA256(NULL, 0, out);	/* MTH({}) */
		return 0;
	}
	if (is_pow2(n) && begin % n == 0) {
		int level = log2u(n);

		return get(ctx, level, begin >> level, out);
	}
	k = split_point(n);
	if (begin % k != 0)
		return SN_ERR_INVALID;	/* not a subtree of any tree */
	if ((r = sn_merkle_subtree(get, ctx, begin, begin + k, l)) != 0 ||
	    (r = sn_merkle_subtree(get, ctx, begin + k, end, rr)) != 0)
		return r;
	sn_merkle_node_hash(l, rr, out);
	return 0;
}

int
sn_merkle_root(sn_merkle_get_fn get, void *ctx, uint64_t size,
    uint8_t out[SN_MERKLE_HASH_LEN])
{
	return sn_merkle_subtree(get, ctx, 0, size, out);
}

static int
push(sn_mhash *path, size_t *n, const uint8_t h[SN_MERKLE_HASH_LEN])
{
	if (*n >= SN_MERKLE_MAX_DEPTH)
		return SN_ERR_TOO_LARGE;
	memcpy(path[*n], h, SN_MERKLE_HASH_LEN);
	(*n)++;
	return 0;
}

/* PATH(m, D[begin:end]) of 2.1.3.1, leaf side first. */
static int
incl(sn_merkle_get_fn get, void *ctx, uint64_t m, uint64_t begin,
    uint64_t end, sn_mhash *path, size_t *n)
{
	uint8_t h[SN_MERKLE_HASH_LEN];
	uint64_t k;
	int r;

	if (end - begin <= 1)
		return 0;
	k = split_point(end - begin);
	if (m < k) {
		if ((r = incl(get, ctx, m, begin, begin + k, path, n)) != 0 ||
		    (r = sn_merkle_subtree(get, ctx, begin + k, end, h)) != 0)
			return r;
	} else {
		if ((r = incl(get, ctx, m - k, begin + k, end, path, n)) != 0 ||
		    (r = sn_merkle_subtree(get, ctx, begin, begin + k, h)) != 0)
			return r;
	}
	return push(path, n, h);
}

int
sn_merkle_inclusion(sn_merkle_get_fn get, void *ctx, uint64_t index,
    uint64_t size, sn_mhash *path, size_t *n)
{
	*n = 0;
	if (index >= size)
		return SN_ERR_INVALID;
	return incl(get, ctx, index, 0, size, path, n);
}

/* SUBPROOF(m, D[begin:end], b) of 2.1.4.1. */
static int
subproof(sn_merkle_get_fn get, void *ctx, uint64_t m, uint64_t begin,
    uint64_t end, int complete, sn_mhash *path, size_t *n)
{
	uint8_t h[SN_MERKLE_HASH_LEN];
	uint64_t k;
	int r;

	if (m == end - begin) {
		if (complete)
			return 0;
		if ((r = sn_merkle_subtree(get, ctx, begin, end, h)) != 0)
			return r;
		return push(path, n, h);
	}
	k = split_point(end - begin);
	if (m <= k) {
		if ((r = subproof(get, ctx, m, begin, begin + k, complete, path,
		    n)) != 0 ||
		    (r = sn_merkle_subtree(get, ctx, begin + k, end, h)) != 0)
			return r;
	} else {
		if ((r = subproof(get, ctx, m - k, begin + k, end, 0, path,
		    n)) != 0 ||
		    (r = sn_merkle_subtree(get, ctx, begin, begin + k, h)) != 0)
			return r;
	}
	return push(path, n, h);
}

int
sn_merkle_consistency(sn_merkle_get_fn get, void *ctx, uint64_t from,
    uint64_t to, sn_mhash *path, size_t *n)
{
	*n = 0;
	if (from == 0 || from > to)
		return SN_ERR_INVALID;
	if (from == to)
		return 0;
	return subproof(get, ctx, from, 0, to, 1, path, n);
}

static int
heq(const uint8_t *a, const uint8_t *b)
{
	return CRYPTO_memcmp(a, b, SN_MERKLE_HASH_LEN) == 0;
}

int
sn_merkle_verify_inclusion(uint64_t index, uint64_t size,
    const uint8_t leaf_hash[SN_MERKLE_HASH_LEN], const sn_mhash *path,
    size_t n, const uint8_t root[SN_MERKLE_HASH_LEN])
{
	uint8_t r[SN_MERKLE_HASH_LEN];
	uint64_t fn, sn;

	if (index >= size || n > SN_MERKLE_MAX_DEPTH)
		return SN_ERR_CONFLICT;
	fn = index;
	sn = size - 1;
	memcpy(r, leaf_hash, sizeof(r));
	for (size_t i = 0; i < n; i++) {
		if (sn == 0)
			return SN_ERR_CONFLICT;
		if ((fn & 1) || fn == sn) {
			sn_merkle_node_hash(path[i], r, r);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else
			sn_merkle_node_hash(r, path[i], r);
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && heq(r, root) ? 0 : SN_ERR_CONFLICT;
}

int
sn_merkle_verify_consistency(uint64_t from, uint64_t to,
    const uint8_t root1[SN_MERKLE_HASH_LEN],
    const uint8_t root2[SN_MERKLE_HASH_LEN], const sn_mhash *path, size_t n)
{
	uint8_t fr[SN_MERKLE_HASH_LEN], sr[SN_MERKLE_HASH_LEN];
	uint64_t fn, sn;
	size_t i = 0;

	if (from == 0 || from > to || n > SN_MERKLE_MAX_DEPTH)
		return SN_ERR_CONFLICT;
	if (from == to)
		return n == 0 && heq(root1, root2) ? 0 : SN_ERR_CONFLICT;
	if (n == 0)
		return SN_ERR_CONFLICT;
	/* A power-of-two first tree is its own first proof element. */
	if (is_pow2(from)) {
		memcpy(fr, root1, sizeof(fr));
	} else {
		memcpy(fr, path[0], sizeof(fr));
		i = 1;
	}
	memcpy(sr, fr, sizeof(sr));
	fn = from - 1;
	sn = to - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	for (; i < n; i++) {
		if (sn == 0)
			return SN_ERR_CONFLICT;
		if ((fn & 1) || fn == sn) {
			sn_merkle_node_hash(path[i], fr, fr);
			sn_merkle_node_hash(path[i], sr, sr);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else
			sn_merkle_node_hash(sr, path[i], sr);
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && heq(fr, root1) && heq(sr, root2) ? 0 :
	    SN_ERR_CONFLICT;
}

void
sn_merkle_range_init(struct sn_merkle_range *r)
{
	memset(r, 0, sizeof(*r));
}

int
sn_merkle_range_append(struct sn_merkle_range *r,
    const uint8_t leaf_hash[SN_MERKLE_HASH_LEN])
{
	uint8_t h[SN_MERKLE_HASH_LEN];
	uint64_t s = r->size;

	if (s >= (UINT64_C(1) << 62))
		return SN_ERR_TOO_LARGE;
	memcpy(h, leaf_hash, sizeof(h));
	/* Each trailing 1 bit of size is a full subtree the leaf completes. */
	/* r->n is the number of 1 bits of r->size: init and append keep it */
	while (s & 1) {
		if (SN_NEVER(r->n == 0))
			return SN_ERR_INTERNAL;
		sn_merkle_node_hash(r->h[r->n - 1], h, h);
		r->n--;
		s >>= 1;
	}
	if (SN_NEVER(r->n >= SN_MERKLE_MAX_DEPTH))
		return SN_ERR_INTERNAL;
	memcpy(r->h[r->n++], h, sizeof(h));
	r->size++;
	return 0;
}

void
sn_merkle_range_root(const struct sn_merkle_range *r,
    uint8_t out[SN_MERKLE_HASH_LEN])
{
	uint8_t acc[SN_MERKLE_HASH_LEN];

	if (r->n == 0) {
		SHA256(NULL, 0, out);
		return;
	}
	memcpy(acc, r->h[r->n - 1], sizeof(acc));
	for (size_t i = r->n - 1; i > 0; i--)
		sn_merkle_node_hash(r->h[i - 1], acc, acc);
	memcpy(out, acc, sizeof(acc));
}

int
sn_merkle_append(sn_merkle_get_fn get, sn_merkle_put_fn put, void *ctx,
    uint64_t index, const uint8_t leaf[SN_MERKLE_HASH_LEN])
{
	uint8_t cur[SN_MERKLE_HASH_LEN], left[SN_MERKLE_HASH_LEN];
	uint64_t i = index;
	int level = 0, r;

	if (index >= (UINT64_C(1) << 62))
		return SN_ERR_TOO_LARGE;
	memcpy(cur, leaf, sizeof(cur));
	if ((r = put(ctx, 0, i, cur)) != 0)
		return r;
	while (i & 1) {
		if ((r = get(ctx, level, i - 1, left)) != 0)
			return r;
		sn_merkle_node_hash(left, cur, cur);
		i >>= 1;
		level++;
		if ((r = put(ctx, level, i, cur)) != 0)
			return r;
	}
	return 0;
}
