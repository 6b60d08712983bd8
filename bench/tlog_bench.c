/*
 * tlog_bench.c - what the Merkle transparency log costs (docs/PERFORMANCE.md).
 *
 *   tlog_bench fill DB_URL TENANT N      append events until the tenant has N
 *   tlog_bench measure DB_URL TENANT [ROUNDS]
 *   tlog_bench tree DB_URL N             a tree of N synthetic leaves alone
 *                                        (no events): append and proof costs
 *                                        where filling real events would take
 *                                        too long (10^6)
 *
 * measure prints, at the tenant's current size n:
 *   - one committed audit event (audit_append + COMMIT, synchronous=FULL),
 *     as signetd writes a key.sign event: total and the part spent in
 *     tlog_append (the tree), so the tree's share is explicit;
 *   - the tree append alone (tlog_append in a rolled-back transaction);
 *   - an inclusion proof and a consistency proof of random positions (the
 *     database work behind GET /v1/audit/proof/...).
 * Timings are printed, never asserted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "audit.h"
#include "db.h"
#include "err.h"
#include "merkle.h"
#include "tlog.h"
#include "util.h"

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
report(const char *what, double *v, int n)
{
	double sum = 0;

	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	for (int i = 0; i < n; i++)
		sum += v[i];
	printf("%-44s n=%-5d mean %8.3f ms  p50 %8.3f  p99 %8.3f\n", what, n,
	    sum / n, v[n / 2], v[(n * 99) / 100]);
}

static int
one_event(struct db_conn *c, const char *tenant, json_t *d)
{
	struct audit_event ev = {
		.tenant_id = tenant, .actor_type = "user", .actor_id =
		"usr_bench", .action = "key.sign", .object_type = "key",
		.object_id = "skey_bench", .result = "ok", .details = d,
		.source_ip = "127.0.0.1",
	};

	return audit_append(c, &ev);
}

static json_t *
details(void)
{
	return json_pack("{s:s,s:s,s:s,s:i,s:{s:s,s:s}}", "key", "bench/k",
	    "digest_algorithm", "sha256", "digest",
	    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
	    "count", 1, "client", "hostname", "build-7", "process", "bench");
}

static int
fill(struct db *db, const char *tenant, uint64_t want)
{
	struct db_conn *c = NULL;
	json_t *d = details();
	uint64_t size = 0;
	double t0 = now_ms();
	int r;

	if ((r = db_acquire(db, &c)) != 0)
		goto out;
	if ((r = tlog_size(c, tenant, &size)) != 0)
		goto out;
	while (size < want) {
		if ((r = db_begin(c)) != 0)
			goto out;
		for (int i = 0; i < 5000 && size < want; i++, size++)
			if ((r = one_event(c, tenant, d)) != 0)
				goto out;
		if ((r = db_commit(c)) != 0)
			goto out;
	}
	fprintf(stderr, "tlog_bench: %s has %llu events (%.1f s)\n", tenant,
	    (unsigned long long)size, (now_ms() - t0) / 1e3);
	r = 0;
 out:
	db_release(c);
	json_decref(d);
	return r;
}

static int
measure(struct db *db, const char *tenant, int rounds)
{
	struct db_conn *c = NULL;
	sn_mhash path[SN_MERKLE_MAX_DEPTH];
	double *total = NULL, *tree = NULL, *incl = NULL, *cons = NULL, t;
	json_t *d = details();
	uint64_t size = 0, seq, from;
	size_t n;
	char hash[65];
	int r;

	if ((total = calloc((size_t)rounds, sizeof(double))) == NULL ||
	    (tree = calloc((size_t)rounds, sizeof(double))) == NULL ||
	    (incl = calloc((size_t)rounds, sizeof(double))) == NULL ||
	    (cons = calloc((size_t)rounds, sizeof(double))) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	if ((r = db_acquire(db, &c)) != 0 ||
	    (r = tlog_size(c, tenant, &size)) != 0)
		goto out;
	printf("# %s: %llu events\n", tenant, (unsigned long long)size);
	/* one committed event, as a signature writes it */
	for (int i = 0; i < rounds; i++) {
		t = now_ms();
		if ((r = db_begin(c)) != 0 || (r = one_event(c, tenant, d)) != 0 ||
		    (r = db_commit(c)) != 0)
			goto out;
		total[i] = now_ms() - t;
	}
	size += (uint64_t)rounds;
	/* the tree part alone, same position, rolled back */
	memset(hash, 'a', 64);
	hash[64] = '\0';
	for (int i = 0; i < rounds; i++) {
		if ((r = db_begin(c)) != 0)
			goto out;
		t = now_ms();
		r = tlog_append(c, tenant, (int64_t)size + 1, hash);
		tree[i] = now_ms() - t;
		db_rollback(c);
		if (r != 0)
			goto out;
	}
	srand(7);
	for (int i = 0; i < rounds; i++) {
		seq = 1 + (uint64_t)rand() % size;
		t = now_ms();
		if ((r = tlog_inclusion(c, tenant, seq - 1, size, path, &n)) != 0)
			goto out;
		incl[i] = now_ms() - t;
		from = 1 + (uint64_t)rand() % size;
		t = now_ms();
		if ((r = tlog_consistency(c, tenant, from, size, path, &n)) != 0)
			goto out;
		cons[i] = now_ms() - t;
	}
	report("audit event committed (with the tree)", total, rounds);
	report("  of which tree append (tlog_append)", tree, rounds);
	report("inclusion proof (database part)", incl, rounds);
	report("consistency proof (database part)", cons, rounds);
	r = 0;
 out:
	db_release(c);
	json_decref(d);
	free(total);
	free(tree);
	free(incl);
	free(cons);
	return r;
}

/* Tree-only: N synthetic leaves under tenant "bench-tree", then timings. */
static int
tree_only(struct db *db, uint64_t want, int rounds)
{
	struct db_conn *c = NULL;
	sn_mhash path[SN_MERKLE_MAX_DEPTH];
	double *app = NULL, *incl = NULL, *cons = NULL, t, t0 = now_ms();
	uint64_t size = 0, seq, from;
	size_t n;
	char hash[65];
	int r;

	if ((app = calloc((size_t)rounds, sizeof(double))) == NULL ||
	    (incl = calloc((size_t)rounds, sizeof(double))) == NULL ||
	    (cons = calloc((size_t)rounds, sizeof(double))) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	if ((r = db_acquire(db, &c)) != 0 ||
	    (r = tlog_size(c, "bench-tree", &size)) != 0)
		goto out;
	while (size < want) {
		if ((r = db_begin(c)) != 0)
			goto out;
		for (int i = 0; i < 20000 && size < want; i++, size++) {
			snprintf(hash, sizeof(hash), "%064llx",
			    (unsigned long long)size);
			if ((r = tlog_append(c, "bench-tree", (int64_t)size + 1,
			    hash)) != 0)
				goto out;
		}
		if ((r = db_commit(c)) != 0)
			goto out;
	}
	fprintf(stderr, "tlog_bench: tree of %llu leaves (%.1f s)\n",
	    (unsigned long long)size, (now_ms() - t0) / 1e3);
	printf("# synthetic tree: %llu leaves\n", (unsigned long long)size);
	for (int i = 0; i < rounds; i++) {
		snprintf(hash, sizeof(hash), "%064llx", (unsigned long long)size);
		if ((r = db_begin(c)) != 0)
			goto out;
		t = now_ms();
		r = tlog_append(c, "bench-tree", (int64_t)size + 1, hash);
		app[i] = now_ms() - t;
		db_rollback(c);
		if (r != 0)
			goto out;
	}
	srand(7);
	for (int i = 0; i < rounds; i++) {
		seq = 1 + (uint64_t)rand() % size;
		t = now_ms();
		if ((r = tlog_inclusion(c, "bench-tree", seq - 1, size, path,
		    &n)) != 0)
			goto out;
		incl[i] = now_ms() - t;
		from = 1 + (uint64_t)rand() % size;
		t = now_ms();
		if ((r = tlog_consistency(c, "bench-tree", from, size, path,
		    &n)) != 0)
			goto out;
		cons[i] = now_ms() - t;
	}
	report("tree append (tlog_append)", app, rounds);
	report("inclusion proof (database part)", incl, rounds);
	report("consistency proof (database part)", cons, rounds);
	r = 0;
 out:
	db_release(c);
	free(app);
	free(incl);
	free(cons);
	return r;
}

int
main(int argc, char **argv)
{
	struct db *db = NULL;
	long long v = 0;
	int r;

	if (argc == 4 && strcmp(argv[1], "tree") == 0) {
		if (sn_parse_int(argv[3], 1, 100000000, &v) != 0)
			return 2;
		if ((r = db_open(argv[2], 2, &db)) != 0)
			return 1;
		r = tree_only(db, (uint64_t)v, 300);
		db_close(db);
		if (r != 0)
			fprintf(stderr, "tlog_bench: %s\n", sn_strerror(r));
		return r == 0 ? 0 : 1;
	}
	if (argc < 4 || (strcmp(argv[1], "fill") != 0 &&
	    strcmp(argv[1], "measure") != 0)) {
		fprintf(stderr, "usage: tlog_bench fill DB_URL TENANT N | "
		    "measure DB_URL TENANT [ROUNDS]\n");
		return 2;
	}
	if ((r = db_open(argv[2], 2, &db)) != 0) {
		fprintf(stderr, "tlog_bench: %s: %s\n", argv[2], sn_strerror(r));
		return 1;
	}
	if (strcmp(argv[1], "fill") == 0) {
		if (argc != 5 || sn_parse_int(argv[4], 1, 100000000, &v) != 0)
			r = SN_ERR_USAGE;
		else
			r = fill(db, argv[3], (uint64_t)v);
	} else {
		v = 500;
		if (argc == 5 && sn_parse_int(argv[4], 10, 100000, &v) != 0)
			r = SN_ERR_USAGE;
		else
			r = measure(db, argv[3], (int)v);
	}
	db_close(db);
	if (r != 0)
		fprintf(stderr, "tlog_bench: %s\n", sn_strerror(r));
	return r == 0 ? 0 : 1;
}
