/*
 * p11_sign_bench.c - a C_Sign loop through any PKCS#11 module.
 *
 * The same loop runs against signet-pkcs11.so (remote signing over HTTPS),
 * p11-kit-client.so (p11-kit's own RPC remoting of SoftHSM2) and SoftHSM2
 * directly, so the three can be compared side by side in one run:
 *
 *   p11_sign_bench --module PATH --label KEYLABEL --mech ecdsa|rsa-pkcs1
 *                  [--token LABEL] [--pin PIN] [--threads N] [--seconds S]
 *                  [--name TEXT]
 *
 * Each thread has its own session; each operation signs a fresh random
 * SHA-256 digest (CKM_ECDSA over the digest, CKM_RSA_PKCS over its
 * DigestInfo). Prints one line: sigs/s, p50, p99.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <p11-kit/pkcs11.h>

#include "alg.h"
#include "util.h"

#define MAX_THREADS 64
#define MAX_SAMPLES (1 << 20)

static CK_FUNCTION_LIST_PTR p11;
static CK_SLOT_ID slot;
static const char *key_label, *pin;
static CK_MECHANISM_TYPE mech_type;
static double deadline;

struct worker {
	pthread_t th;
	double *lat;
	size_t n, cap, errors;
	CK_RV first_rv;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static CK_OBJECT_HANDLE
find_key(CK_SESSION_HANDLE s)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_LABEL, (void *)key_label, strlen(key_label) },
	};
	CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
	CK_ULONG n = 0;

	if (p11->C_FindObjectsInit(s, tmpl, 2) != CKR_OK)
		return CK_INVALID_HANDLE;
	if (p11->C_FindObjects(s, &h, 1, &n) != CKR_OK || n != 1)
		h = CK_INVALID_HANDLE;
	p11->C_FindObjectsFinal(s);
	return h;
}

static void *
run(void *arg)
{
	struct worker *w = arg;
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE key;
	CK_MECHANISM m = { mech_type, NULL, 0 };
	uint8_t digest[32], in[128], sig[1024];
	size_t inlen;
	CK_ULONG siglen;
	CK_RV rv;
	double t0, t1;

	if ((rv = p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s)) != CKR_OK) {
		w->first_rv = rv;
		w->errors++;
		return NULL;
	}
	if (pin != NULL)
		p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
	if ((key = find_key(s)) == CK_INVALID_HANDLE) {
		fprintf(stderr, "p11_sign_bench: key '%s' not found\n", key_label);
		w->errors++;
		goto out;
	}
	while ((t0 = now_s()) < deadline) {
		if (sn_random_bytes(digest, sizeof(digest)) != 0)
			break;
		if (mech_type == CKM_RSA_PKCS) {
			if (sn_digestinfo(SN_HASH_SHA256, digest, 32, in, sizeof(in), &inlen) != 0)
				break;
		} else {
			memcpy(in, digest, 32);
			inlen = 32;
		}
		siglen = sizeof(sig);
		if ((rv = p11->C_SignInit(s, &m, key)) == CKR_OK)
			rv = p11->C_Sign(s, in, inlen, sig, &siglen);
		t1 = now_s();
		if (rv != CKR_OK) {
			if (w->errors++ == 0)
				w->first_rv = rv;
			continue;
		}
		if (w->n < w->cap)
			w->lat[w->n++] = t1 - t0;
	}
 out:
	p11->C_CloseSession(s);
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void
usage(void)
{
	fprintf(stderr, "usage: p11_sign_bench --module PATH --label KEY --mech "
	    "ecdsa|rsa-pkcs1 [--token LABEL] [--pin PIN] [--threads N] "
	    "[--seconds S] [--name TEXT]\n");
	exit(2);
}

/* The first slot with a token, or the one whose token label matches. */
static int
pick_slot(const char *token)
{
	CK_SLOT_ID slots[64];
	CK_ULONG n = 64;
	CK_TOKEN_INFO ti;

	if (p11->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK || n == 0)
		return -1;
	for (CK_ULONG i = 0; i < n; i++) {
		if (token == NULL) {
			slot = slots[i];
			return 0;
		}
		if (p11->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		size_t l = strlen(token);
		if (l <= sizeof(ti.label) && memcmp(ti.label, token, l) == 0 &&
		    (l == sizeof(ti.label) || ti.label[l] == ' ')) {
			slot = slots[i];
			return 0;
		}
	}
	return -1;
}

int
main(int argc, char **argv)
{
	const char *module = NULL, *token = NULL, *name = "", *mech = NULL;
	long long threads = 1, seconds = 5;
	struct worker w[MAX_THREADS];
	CK_C_GetFunctionList gfl;
	CK_C_INITIALIZE_ARGS ia;
	void *dl;
	double start, elapsed, *all;
	size_t total = 0, errors = 0;
	CK_RV first_rv = CKR_OK;

	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		const char *a = argv[i], *v = argv[++i];
		if (strcmp(a, "--module") == 0) module = v;
		else if (strcmp(a, "--label") == 0) key_label = v;
		else if (strcmp(a, "--mech") == 0) mech = v;
		else if (strcmp(a, "--token") == 0) token = v;
		else if (strcmp(a, "--pin") == 0) pin = v;
		else if (strcmp(a, "--name") == 0) name = v;
		else if (strcmp(a, "--threads") == 0) {
			if (sn_parse_int(v, 1, MAX_THREADS, &threads) != 0) usage();
		} else if (strcmp(a, "--seconds") == 0) {
			if (sn_parse_int(v, 1, 600, &seconds) != 0) usage();
		} else
			usage();
	}
	if (module == NULL || key_label == NULL || mech == NULL)
		usage();
	if (strcmp(mech, "ecdsa") == 0)
		mech_type = CKM_ECDSA;
	else if (strcmp(mech, "rsa-pkcs1") == 0)
		mech_type = CKM_RSA_PKCS;
	else
		usage();

	if ((dl = dlopen(module, RTLD_NOW | RTLD_LOCAL)) == NULL ||
	    (gfl = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList")) == NULL ||
	    gfl(&p11) != CKR_OK) {
		fprintf(stderr, "p11_sign_bench: cannot load %s\n", module);
		return 1;
	}
	memset(&ia, 0, sizeof(ia));
	ia.flags = CKF_OS_LOCKING_OK;
	if (p11->C_Initialize(&ia) != CKR_OK || pick_slot(token) != 0) {
		fprintf(stderr, "p11_sign_bench: no usable token in %s\n", module);
		return 1;
	}
	memset(w, 0, sizeof(w));
	start = now_s();
	deadline = start + (double)seconds;
	for (long long i = 0; i < threads; i++) {
		w[i].cap = MAX_SAMPLES / (size_t)threads;
		if ((w[i].lat = calloc(w[i].cap, sizeof(double))) == NULL)
			return 1;
		pthread_create(&w[i].th, NULL, run, &w[i]);
	}
	for (long long i = 0; i < threads; i++)
		pthread_join(w[i].th, NULL);
	elapsed = now_s() - start;
	for (long long i = 0; i < threads; i++)
		total += w[i].n;
	if ((all = calloc(total + 1, sizeof(double))) == NULL)
		return 1;
	total = 0;
	for (long long i = 0; i < threads; i++) {
		memcpy(all + total, w[i].lat, w[i].n * sizeof(double));
		total += w[i].n;
		errors += w[i].errors;
		if (first_rv == CKR_OK)
			first_rv = w[i].first_rv;
		free(w[i].lat);
	}
	qsort(all, total, sizeof(double), cmp_double);
	printf("%-28s threads=%-3lld sigs/s=%9.1f  p50=%7.2f ms  p99=%7.2f ms  n=%zu errors=%zu",
	    name, threads, (double)total / elapsed,
	    total ? all[total / 2] * 1e3 : 0.0,
	    total ? all[(total * 99) / 100] * 1e3 : 0.0, total, errors);
	if (errors)
		printf(" first_rv=0x%lx", (unsigned long)first_rv);
	printf("\n");
	free(all);
	p11->C_Finalize(NULL);
	return errors && total == 0 ? 1 : 0;
}
