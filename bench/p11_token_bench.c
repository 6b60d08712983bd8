/*
 * p11_token_bench.c - what signet-pkcs11.so spends building its token from
 * a listing (GET /v1/me/keys), in process, with no server: the cost a
 * consumer that lists every key (libp11, so osslsigncode; Java's key
 * store) pays at start-up on top of the fetch.
 *
 *   p11_token_bench [--keys N] [--rounds R]
 *
 * Makes N ECDSA P-256 keys, each with its own certificate issued by an
 * intermediate under a root (the chain of every key: [intermediate,
 * root], as the built-in CA sends it), then builds the token from that
 * listing R times with p11_token_from_keys. Prints the median and the
 * fastest round, per key. Run under callgrind with
 * --toggle-collect=p11_token_from_keys to count instructions
 * (bench/token_build_callgrind.sh).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "p11_int.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what)
{
	fprintf(stderr, "p11_token_bench: %s\n", what);
	exit(1);
}

static EVP_PKEY *
ec_key(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	if (k == NULL)
		die("key generation failed");
	return k;
}

static void
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if ((e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL ||
	    !X509_add_ext(x, e, -1))
		die("extension failed");
	X509_EXTENSION_free(e);
}

/* A certificate shaped like the built-in CA's: v3, key ids, usages. */
static X509 *
issue(EVP_PKEY *pk, const char *cn, X509 *issuer, EVP_PKEY *signer,
    long serial, int ca)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();

	if (x == NULL || n == NULL)
		die("out of memory");
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
	    (const unsigned char *)"Signet bench", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 365);
	X509_set_pubkey(x, pk);
	add_ext(x, issuer ? issuer : x, NID_subject_key_identifier, "hash");
	if (issuer != NULL)
		add_ext(x, issuer, NID_authority_key_identifier, "keyid");
	if (ca) {
		add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		add_ext(x, x, NID_basic_constraints, "critical,CA:FALSE");
		add_ext(x, x, NID_key_usage, "critical,digitalSignature");
		add_ext(x, x, NID_ext_key_usage, "codeSigning");
	}
	if (X509_sign(x, signer, EVP_sha256()) <= 0)
		die("signing failed");
	X509_NAME_free(n);
	return x;
}

static json_t *
pem_string(int (*write)(BIO *, void *), void *obj)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long n;
	json_t *s;

	if (b == NULL || !write(b, obj))
		die("PEM failed");
	n = BIO_get_mem_data(b, &data);
	s = json_stringn(data, (size_t)n);
	BIO_free(b);
	return s;
}

static int
write_cert(BIO *b, void *x)
{
	return PEM_write_bio_X509(b, x);
}

static int
write_pubkey(BIO *b, void *k)
{
	return PEM_write_bio_PUBKEY(b, k);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	EVP_PKEY *root_key, *int_key, *k;
	X509 *root, *inter, *x;
	json_t *keys, *resp, *chain;
	struct p11_token *t;
	size_t nkeys = 1000, rounds = 5, skipped;
	double *sec;
	char name[64], id[64];

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--keys") == 0 && i + 1 < argc)
			nkeys = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
			rounds = strtoul(argv[++i], NULL, 10);
		else
			die("usage: p11_token_bench [--keys N] [--rounds R]");
	}
	if (nkeys == 0 || nkeys > 1300 || rounds == 0 || rounds > 1000)
		die("--keys 1..1300 (the token's object limit), --rounds 1..1000");
	root_key = ec_key();
	int_key = ec_key();
	root = issue(root_key, "Bench Root", NULL, root_key, 1, 1);
	inter = issue(int_key, "Bench Issuing CA", root, root_key, 2, 1);
	keys = json_array();
	for (size_t i = 0; i < nkeys; i++) {
		k = ec_key();
		snprintf(name, sizeof(name), "key-%zu", i);
		snprintf(id, sizeof(id), "skey_%032zx", i + 1);
		x = issue(k, name, inter, int_key, (long)(100 + i), 0);
		chain = json_array();
		json_array_append_new(chain, pem_string(write_cert, inter));
		json_array_append_new(chain, pem_string(write_cert, root));
		json_array_append_new(keys, json_pack("{s:s, s:s, s:{s:s}, s:s, "
		    "s:o, s:o, s:o}", "id", id, "name", name, "project", "name",
		    "bench", "state", "active",
		    "public_key", pem_string(write_pubkey, k),
		    "certificate", pem_string(write_cert, x), "chain", chain));
		X509_free(x);
		EVP_PKEY_free(k);
	}
	resp = json_pack("{s:o}", "keys", keys);
	if ((sec = calloc(rounds, sizeof(*sec))) == NULL)
		die("out of memory");
	for (size_t r = 0; r < rounds; r++) {
		double t0 = now_s();

		t = NULL;
		if (p11_token_from_keys(resp, &t, &skipped) != 0 || skipped != 0)
			die("the token did not build");
		sec[r] = now_s() - t0;
		if (t->nobjs != 3 * nkeys + 2)
			die("unexpected object count");
		p11_token_free(t);
	}
	qsort(sec, rounds, sizeof(*sec), cmp_double);
	printf("keys=%zu rounds=%zu median_ms=%.2f fastest_ms=%.2f "
	    "per_key_us=%.1f\n", nkeys, rounds, sec[rounds / 2] * 1e3,
	    sec[0] * 1e3, sec[rounds / 2] * 1e6 / (double)nkeys);
	free(sec);
	json_decref(resp);
	X509_free(root);
	X509_free(inter);
	EVP_PKEY_free(root_key);
	EVP_PKEY_free(int_key);
	return 0;
}
