/*
 * hsm_bench.c - what the keeper costs: the raw in-process SoftHSM2 C_Sign
 * rate next to the same signatures through the keeper process.
 *
 *   hsm_bench [--seconds S] [--module PATH] [--extra-keys N]
 *
 * Standalone: makes a throw-away SoftHSM2 token in a temporary directory
 * (keeper_init_softhsm_token), generates an ecdsa-p256 and an rsa-2048 key
 * through the keeper, then for each key measures, at 1 thread:
 *   softhsm2 <alg>  C_SignInit + C_Sign in this process (key handle looked
 *                   up once), the HSM's own speed;
 *   keeper <alg>    keeper_sign(): socketpair round trip, key lookup by
 *                   CKA_ID and the same C_Sign in the keeper process.
 * Each operation signs a fresh random SHA-256 digest (ECDSA over the digest,
 * RSA PKCS#1 v1.5 over its DigestInfo). Prints one line per case:
 * signatures/s, p50 and p99 latency. --extra-keys N first fills the token
 * with N more ecdsa-p256 keys, to show how key lookup scales with the
 * number of objects. The binary is its own keeper executable
 * (argv[1] == "keeper").
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include <p11-kit/pkcs11.h>

#include "alg.h"
#include "err.h"
#include "keeper.h"
#include "util.h"

#define MAX_SAMPLES	(1 << 20)
#define TOKEN		"bench"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct samples {
	double *lat;
	size_t n;
	size_t errors;
	double elapsed;
};

static void
report(const char *name, struct samples *s)
{
	double p50 = 0, p99 = 0;

	if (s->n > 0) {
		qsort(s->lat, s->n, sizeof(double), cmp_double);
		p50 = s->lat[s->n / 2];
		p99 = s->lat[(size_t)((double)(s->n - 1) * 0.99)];
	}
	printf("%-28s threads=%-3d sigs/s=%9.1f  p50=%7.3f ms  p99=%7.3f ms  "
	    "n=%zu errors=%zu\n", name, 1, s->elapsed > 0 ?
	    (double)s->n / s->elapsed : 0.0, p50 * 1e3, p99 * 1e3, s->n,
	    s->errors);
	fflush(stdout);
}

/* ---- in-process SoftHSM2 ------------------------------------------------- */

struct direct {
	void *dl;
	CK_FUNCTION_LIST_PTR f;
	CK_SESSION_HANDLE s;
};

static int
direct_open(struct direct *d, const char *module, const char *pin_path)
{
	CK_C_GetFunctionList getfl;
	CK_C_INITIALIZE_ARGS ia;
	CK_SLOT_ID slots[32];
	CK_ULONG n = 32;
	CK_TOKEN_INFO ti;
	char *pin = NULL;
	size_t pinlen = 0;
	int ok = 0;

	if ((d->dl = dlopen(module, RTLD_NOW | RTLD_LOCAL)) == NULL ||
	    (getfl = (CK_C_GetFunctionList)dlsym(d->dl, "C_GetFunctionList")) == NULL ||
	    getfl(&d->f) != CKR_OK)
		return -1;
	memset(&ia, 0, sizeof(ia));
	ia.flags = CKF_OS_LOCKING_OK;
	if (d->f->C_Initialize(&ia) != CKR_OK ||
	    d->f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
		return -1;
	for (CK_ULONG i = 0; i < n && !ok; i++)
		if (d->f->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
		    memcmp(ti.label, TOKEN " ", strlen(TOKEN) + 1) == 0 &&
		    d->f->C_OpenSession(slots[i], CKF_SERIAL_SESSION, NULL, NULL,
		    &d->s) == CKR_OK)
			ok = 1;
	if (!ok || sn_read_file(pin_path, 256, &pin, &pinlen) != 0)
		return -1;
	while (pinlen > 0 && pin[pinlen - 1] == '\n')
		pinlen--;
	ok = d->f->C_Login(d->s, CKU_USER, (CK_UTF8CHAR_PTR)pin, pinlen) == CKR_OK;
	sn_strfreezero(pin);
	return ok ? 0 : -1;
}

static void
direct_close(struct direct *d)
{
	d->f->C_Logout(d->s);
	d->f->C_CloseSession(d->s);
	d->f->C_Finalize(NULL);
}

static void
bench_direct(struct direct *d, const uint8_t id[16], int rsa, double secs,
    struct samples *out)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_ID, (void *)id, 16 },
	};
	CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
	CK_ULONG n = 0;
	CK_MECHANISM m = { rsa ? CKM_RSA_PKCS : CKM_ECDSA, NULL, 0 };
	uint8_t digest[32], in[128], sig[1024];
	size_t inlen;
	double start, end, t0;

	if (d->f->C_FindObjectsInit(d->s, tmpl, 2) != CKR_OK)
		return;
	d->f->C_FindObjects(d->s, &key, 1, &n);
	d->f->C_FindObjectsFinal(d->s);
	if (n != 1)
		return;
	start = now_s();
	end = start + secs;
	while ((t0 = now_s()) < end && out->n < MAX_SAMPLES) {
		CK_ULONG siglen = sizeof(sig);

		if (RAND_bytes(digest, sizeof(digest)) != 1)
			break;
		if (rsa) {
			if (sn_digestinfo(SN_HASH_SHA256, digest, 32, in, sizeof(in),
			    &inlen) != 0)
				break;
		} else {
			memcpy(in, digest, 32);
			inlen = 32;
		}
		if (d->f->C_SignInit(d->s, &m, key) != CKR_OK ||
		    d->f->C_Sign(d->s, in, inlen, sig, &siglen) != CKR_OK) {
			out->errors++;
			continue;
		}
		out->lat[out->n++] = now_s() - t0;
	}
	out->elapsed = now_s() - start;
}

/* ---- through the keeper -------------------------------------------------- */

static void
bench_keeper(struct keeper *k, const uint8_t id[16], int rsa, double secs,
    struct samples *out)
{
	uint8_t digest[32];
	double start, end, t0;

	start = now_s();
	end = start + secs;
	while ((t0 = now_s()) < end && out->n < MAX_SAMPLES) {
		uint8_t *sig = NULL;
		size_t siglen = 0;

		if (RAND_bytes(digest, sizeof(digest)) != 1)
			break;
		if (keeper_sign(k, id, rsa ? SN_MECH_RSA_PKCS : SN_MECH_ECDSA,
		    SN_HASH_SHA256, digest, 32, &sig, &siglen) != 0) {
			out->errors++;
			continue;
		}
		out->lat[out->n++] = now_s() - t0;
		free(sig);
	}
	out->elapsed = now_s() - start;
}

int
main(int argc, char **argv)
{
	char dir[] = "/tmp/signet-hsm-bench-XXXXXX";
	char hsm_dir[64], conf[96], pin[96], self[PATH_MAX], cmd[128];
	const char *module = "/usr/lib/softhsm/libsofthsm2.so";
	static const struct {
		enum sn_key_alg alg;
		const char *name;
	} cases[] = { { SN_ALG_ECDSA_P256, "ecdsa-p256" }, { SN_ALG_RSA_2048, "rsa-2048" } };
	uint8_t ids[2][16];
	struct keeper_config cfg;
	struct keeper *k = NULL;
	struct direct d;
	double secs = 3;
	long long v, extra = 0;
	ssize_t n;
	int ret = 1;

	if (argc > 1 && strcmp(argv[1], "keeper") == 0)
		return keeper_process_main(argc, argv);
	for (int i = 1; i < argc; i += 2) {
		if (i + 1 >= argc)
			goto usage;
		if (strcmp(argv[i], "--seconds") == 0) {
			if (sn_parse_int(argv[i + 1], 1, 3600, &v) != 0)
				goto usage;
			secs = (double)v;
		} else if (strcmp(argv[i], "--extra-keys") == 0) {
			if (sn_parse_int(argv[i + 1], 0, 100000, &extra) != 0)
				goto usage;
		} else if (strcmp(argv[i], "--module") == 0)
			module = argv[i + 1];
		else
			goto usage;
	}
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0 ||
	    mkdtemp(dir) == NULL) {
		fprintf(stderr, "hsm_bench: cannot set up\n");
		return 1;
	}
	self[n] = '\0';
	snprintf(hsm_dir, sizeof(hsm_dir), "%s/hsm", dir);
	snprintf(conf, sizeof(conf), "%s/softhsm2.conf", hsm_dir);
	snprintf(pin, sizeof(pin), "%s/pin", hsm_dir);
	setenv("SOFTHSM2_CONF", conf, 1);
	if (keeper_init_softhsm_token(hsm_dir, module, TOKEN) != 0) {
		fprintf(stderr, "hsm_bench: cannot create a SoftHSM2 token\n");
		goto out;
	}
	cfg = (struct keeper_config){ .module_path = module, .token_label = TOKEN,
		.pin_file = pin, .softhsm_conf = conf, .self_exe = self,
		.workers = 1 };
	if (keeper_start(&cfg, &k) != 0) {
		fprintf(stderr, "hsm_bench: cannot start the keeper\n");
		goto out;
	}
	for (size_t i = 0; i < 2; i++) {
		uint8_t *spki = NULL;
		size_t len = 0;

		if (keeper_generate(k, cases[i].alg, cases[i].name, ids[i], &spki,
		    &len) != 0) {
			fprintf(stderr, "hsm_bench: cannot generate %s\n",
			    cases[i].name);
			goto out;
		}
		free(spki);
	}
	for (long long i = 0; i < extra; i++) {
		uint8_t id[16], *spki = NULL;
		size_t len = 0;

		if (keeper_generate(k, SN_ALG_ECDSA_P256, "filler", id, &spki,
		    &len) != 0) {
			fprintf(stderr, "hsm_bench: cannot generate filler keys\n");
			goto out;
		}
		free(spki);
	}
	if (direct_open(&d, module, pin) != 0) {
		fprintf(stderr, "hsm_bench: cannot open the token in-process\n");
		goto out;
	}
	printf("# hsm_bench: %.0f s per case, 1 thread, SHA-256 digests, "
	    "%lld other keys on the token\n", secs, extra);
	for (size_t i = 0; i < 2; i++) {
		struct samples s = { 0 };
		char name[64];
		int rsa = sn_key_alg_is_rsa(cases[i].alg);

		if ((s.lat = malloc(MAX_SAMPLES * sizeof(double))) == NULL)
			break;
		snprintf(name, sizeof(name), "softhsm2 %s", cases[i].name);
		bench_direct(&d, ids[i], rsa, secs, &s);
		report(name, &s);
		s.n = s.errors = 0;
		snprintf(name, sizeof(name), "keeper %s", cases[i].name);
		bench_keeper(k, ids[i], rsa, secs, &s);
		report(name, &s);
		free(s.lat);
	}
	direct_close(&d);
	ret = 0;
 out:
	keeper_free(k);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "hsm_bench: could not remove %s\n", dir);
	return ret;
 usage:
	fprintf(stderr, "usage: hsm_bench [--seconds S] [--module PATH] "
	    "[--extra-keys N]\n");
	return 2;
}
