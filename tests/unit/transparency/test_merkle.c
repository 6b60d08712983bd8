/*
 * test_merkle.c - the stored-node tree code of src/common/merkle.c against
 * a direct transcription of RFC 9162's recursive definitions (MTH, PATH,
 * PROOF over the leaf list), for every tree size up to 70 and every index;
 * proofs must verify and any flipped bit, wrong index or wrong size fails.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/sha.h>

#include "err.h"
#include "merkle.h"

#define MAXN 70

/* A node store: node[level][idx], with presence flags. */
struct store {
	sn_mhash node[8][MAXN];
	int have[8][MAXN];
	int puts;
};

static int
st_get(void *ctx, int level, uint64_t idx, uint8_t out[SN_MERKLE_HASH_LEN])
{
	struct store *s = ctx;

	if (level >= 8 || idx >= MAXN || !s->have[level][idx])
		return SN_ERR_NOT_FOUND;
	memcpy(out, s->node[level][idx], SN_MERKLE_HASH_LEN);
	return 0;
}

static int
st_put(void *ctx, int level, uint64_t idx, const uint8_t h[SN_MERKLE_HASH_LEN])
{
	struct store *s = ctx;

	if (level >= 8 || idx >= MAXN || s->have[level][idx])
		return SN_ERR_CONFLICT;	/* nodes are written once */
	memcpy(s->node[level][idx], h, SN_MERKLE_HASH_LEN);
	s->have[level][idx] = 1;
	s->puts++;
	return 0;
}

static sn_mhash leafdata[MAXN];

/* ---- RFC 9162 section 2.1, written as the text says ---- */

static void
ref_mth(size_t a, size_t b, uint8_t out[32])
{
	uint8_t buf[65], l[32], r[32];
	size_t n = b - a, k = 1;

	if (n == 0) {
		SHA256(NULL, 0, out);
		return;
	}
	if (n == 1) {
		buf[0] = 0;
		memcpy(buf + 1, leafdata[a], 32);
		SHA256(buf, 33, out);
		return;
	}
	while (k * 2 < n)
		k *= 2;
	ref_mth(a, a + k, l);
	ref_mth(a + k, b, r);
	buf[0] = 1;
	memcpy(buf + 1, l, 32);
	memcpy(buf + 33, r, 32);
	SHA256(buf, 65, out);
}

static void
ref_path(size_t m, size_t a, size_t b, sn_mhash *p, size_t *n)
{
	size_t k = 1;

	if (b - a <= 1)
		return;
	while (k * 2 < b - a)
		k *= 2;
	if (m < k) {
		ref_path(m, a, a + k, p, n);
		ref_mth(a + k, b, p[(*n)++]);
	} else {
		ref_path(m - k, a + k, b, p, n);
		ref_mth(a, a + k, p[(*n)++]);
	}
}

static void
ref_subproof(size_t m, size_t a, size_t b, int flag, sn_mhash *p, size_t *n)
{
	size_t k = 1;

	if (m == b - a) {
		if (!flag)
			ref_mth(a, b, p[(*n)++]);
		return;
	}
	while (k * 2 < b - a)
		k *= 2;
	if (m <= k) {
		ref_subproof(m, a, a + k, flag, p, n);
		ref_mth(a + k, b, p[(*n)++]);
	} else {
		ref_subproof(m - k, a + k, b, 0, p, n);
		ref_mth(a, a + k, p[(*n)++]);
	}
}

static struct store *
build(size_t n)
{
	struct store *s = calloc(1, sizeof(*s));
	uint8_t lh[32];

	assert_non_null(s);
	for (size_t i = 0; i < n; i++) {
		sn_merkle_leaf_hash(leafdata[i], lh);
		assert_int_equal(sn_merkle_append(st_get, st_put, s, i, lh), 0);
	}
	return s;
}

static int
setup(void **state)
{
	for (size_t i = 0; i < MAXN; i++)
		SHA256((const uint8_t *)&i, sizeof(i), leafdata[i]);
	return 0;
}

static void
test_roots(void **state)
{
	struct store *s = build(MAXN);
	struct sn_merkle_range rg;
	uint8_t a[32], b[32], c[32], lh[32];

	sn_merkle_range_init(&rg);
	for (size_t n = 0; n <= MAXN; n++) {
		ref_mth(0, n, a);
		assert_int_equal(sn_merkle_root(st_get, s, n, b), 0);
		assert_memory_equal(a, b, 32);
		sn_merkle_range_root(&rg, c);
		assert_memory_equal(a, c, 32);
		if (n < MAXN) {
			sn_merkle_leaf_hash(leafdata[n], lh);
			assert_int_equal(sn_merkle_range_append(&rg, lh), 0);
		}
	}
	/* 2n - 1 nodes for a power of two: each complete subtree once. */
	free(s);
	s = build(64);
	assert_int_equal(s->puts, 127);
	/* A gap in the store is an error, not a wrong root. */
	s->have[0][4] = 0;
	assert_int_equal(sn_merkle_root(st_get, s, 5, a), SN_ERR_NOT_FOUND);
	free(s);
}

static void
test_inclusion(void **state)
{
	struct store *s = build(MAXN);
	sn_mhash p[SN_MERKLE_MAX_DEPTH], q[SN_MERKLE_MAX_DEPTH];
	uint8_t root[32], lh[32], other[32];
	size_t n, m;

	for (size_t size = 1; size <= MAXN; size++) {
		ref_mth(0, size, root);
		for (size_t i = 0; i < size; i++) {
			assert_int_equal(sn_merkle_inclusion(st_get, s, i, size,
			    p, &n), 0);
			m = 0;
			ref_path(i, 0, size, q, &m);
			assert_int_equal(n, m);
			assert_memory_equal(p, q, n * 32);
			sn_merkle_leaf_hash(leafdata[i], lh);
			assert_int_equal(sn_merkle_verify_inclusion(i, size, lh,
			    (const sn_mhash *)p, n, root), 0);
			/* wrong index, wrong size, flipped bit, short path */
			if (size > 1) {
				assert_int_equal(sn_merkle_verify_inclusion(
				    (i + 1) % size, size, lh,
				    (const sn_mhash *)p, n, root),
				    SN_ERR_CONFLICT);
				p[n - 1][3] ^= 0x10;
				assert_int_equal(sn_merkle_verify_inclusion(i,
				    size, lh, (const sn_mhash *)p, n, root),
				    SN_ERR_CONFLICT);
				p[n - 1][3] ^= 0x10;
				assert_int_equal(sn_merkle_verify_inclusion(i,
				    size, lh, (const sn_mhash *)p, n - 1, root),
				    SN_ERR_CONFLICT);
			}
			/* (the size itself is vouched for by the signed
			 * checkpoint, not by the path: a left-edge path fits
			 * several sizes) */
			sn_merkle_leaf_hash(leafdata[(i + 1) % MAXN], other);
			assert_int_equal(sn_merkle_verify_inclusion(i, size,
			    other, (const sn_mhash *)p, n, root),
			    SN_ERR_CONFLICT);
		}
		assert_int_equal(sn_merkle_inclusion(st_get, s, size, size, p,
		    &n), SN_ERR_INVALID);
	}
	free(s);
}

static void
test_consistency(void **state)
{
	struct store *s = build(MAXN);
	sn_mhash p[SN_MERKLE_MAX_DEPTH], q[SN_MERKLE_MAX_DEPTH];
	uint8_t r1[32], r2[32];
	size_t n, m;

	for (size_t to = 1; to <= MAXN; to++) {
		ref_mth(0, to, r2);
		for (size_t from = 1; from <= to; from++) {
			ref_mth(0, from, r1);
			assert_int_equal(sn_merkle_consistency(st_get, s, from,
			    to, p, &n), 0);
			m = 0;
			if (from < to)
				ref_subproof(from, 0, to, 1, q, &m);
			assert_int_equal(n, m);
			assert_memory_equal(p, q, n * 32);
			assert_int_equal(sn_merkle_verify_consistency(from, to,
			    r1, r2, (const sn_mhash *)p, n), 0);
			/* a different old root (a rewritten history) fails */
			r1[0] ^= 1;
			assert_int_equal(sn_merkle_verify_consistency(from, to,
			    r1, r2, (const sn_mhash *)p, n), SN_ERR_CONFLICT);
			r1[0] ^= 1;
			if (n > 0) {
				p[0][31] ^= 0x80;
				assert_int_equal(sn_merkle_verify_consistency(
				    from, to, r1, r2, (const sn_mhash *)p, n),
				    SN_ERR_CONFLICT);
				p[0][31] ^= 0x80;
				assert_int_equal(sn_merkle_verify_consistency(
				    from, to, r1, r2, (const sn_mhash *)p,
				    n - 1), SN_ERR_CONFLICT);
			}
			if (from > 1)
				assert_int_equal(sn_merkle_verify_consistency(
				    from - 1, to, r1, r2, (const sn_mhash *)p,
				    n), SN_ERR_CONFLICT);
		}
	}
	assert_int_equal(sn_merkle_consistency(st_get, s, 0, 3, p, &n),
	    SN_ERR_INVALID);
	assert_int_equal(sn_merkle_consistency(st_get, s, 4, 3, p, &n),
	    SN_ERR_INVALID);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roots),
		cmocka_unit_test(test_inclusion),
		cmocka_unit_test(test_consistency),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
