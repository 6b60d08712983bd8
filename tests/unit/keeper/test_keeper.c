/*
 * test_keeper.c - the keeper against a real SoftHSM2 token.
 *
 * The test binary is also the keeper executable: run as `test_keeper keeper
 * ...` it becomes the keeper process, exactly as signetd does.
 *
 * Covered: token initialisation (and refusing to do it twice), key
 * generation for every algorithm, signatures for every valid algorithm x
 * mechanism x hash verified by OpenSSL with the returned public key, error
 * codes, destroy, concurrency, the keeper dying and stalling mid-call, file
 * descriptor hygiene of the child, invariant 1 (the private key cannot be
 * read out of the token) checked by loading SoftHSM2 directly, and the
 * request handler fed malformed frames without a socket.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <p11-kit/pkcs11.h>

#include "alg.h"
#include "err.h"
#include "kbuf.h"
#include "keeper.h"
#include "keeper_int.h"
#include "stop_process.h"

#define TOKEN	"signet-test"
#define NALGS	5

static char tmpdir[64], hsm_dir[128], conf_path[PATH_MAX];
static char pin_path[PATH_MAX], self_exe[PATH_MAX];
static struct keeper *k;

static const enum sn_key_alg algs[NALGS] = { SN_ALG_RSA_2048, SN_ALG_RSA_3072,
	SN_ALG_RSA_4096, SN_ALG_ECDSA_P256, SN_ALG_ECDSA_P384 };
static struct {
	uint8_t id[KEEPER_ID_LEN];
	uint8_t *spki;
	size_t spkilen;
} keys[NALGS];
enum { K_RSA2048, K_RSA3072, K_RSA4096, K_P256, K_P384 };

static const enum sn_hash hashes[] = { SN_HASH_SHA1, SN_HASH_SHA256,
	SN_HASH_SHA384, SN_HASH_SHA512 };

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


static void
random_digest(enum sn_hash h, uint8_t *d, size_t *dlen)
{
	*dlen = sn_hash_len(h);
	assert_int_equal(RAND_bytes(d, (int)*dlen), 1);
}

/* 1 if sig verifies over digest with the SPKI's key, 0 if not. */
static int
verify(const uint8_t *spki, size_t spkilen, enum sn_mech mech, enum sn_hash h,
    const uint8_t *d, size_t dlen, const uint8_t *sig, size_t siglen)
{
	const uint8_t *p = spki;
	EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)spkilen);
	EVP_PKEY_CTX *ctx;
	int ok;

	assert_non_null(pk);
	assert_non_null(ctx = EVP_PKEY_CTX_new(pk, NULL));
	assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
	if (mech == SN_MECH_RSA_PKCS)
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx,
		    RSA_PKCS1_PADDING), 1);
	if (mech == SN_MECH_RSA_PSS) {
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx,
		    RSA_PKCS1_PSS_PADDING), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx,
		    (int)dlen), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx,
		    sn_hash_md(h)), 1);
	}
	assert_int_equal(EVP_PKEY_CTX_set_signature_md(ctx, sn_hash_md(h)), 1);
	ok = EVP_PKEY_verify(ctx, sig, siglen, d, dlen) == 1;
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return ok;
}

/* ---- setup --------------------------------------------------------------- */

static int
group_setup(void **state)
{
	ssize_t n;

	if ((n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1)) <= 0)
		return -1;
	self_exe[n] = '\0';
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/signet-keeper-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(hsm_dir, sizeof(hsm_dir), "%s/hsm", tmpdir);
	snprintf(conf_path, sizeof(conf_path), "%s/softhsm2.conf", hsm_dir);
	snprintf(pin_path, sizeof(pin_path), "%s/pin", hsm_dir);
	/* For the tests that load SoftHSM2 directly in this process. */
	setenv("SOFTHSM2_CONF", conf_path, 1);
	return 0;
}

static int
group_teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	keeper_free(k);
	k = NULL;
	for (int i = 0; i < NALGS; i++)
		free(keys[i].spki);
	if (tmpdir[0] != '\0' && strncmp(tmpdir, "/tmp/signet-keeper-", 19) == 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	return 0;
}

static struct keeper_config
config(const char *pinfile)
{
	struct keeper_config cfg = {
		.module_path = SOFTHSM_MODULE,
		.token_label = TOKEN,
		.pin_file = pinfile,
		.softhsm_conf = conf_path,
		.self_exe = self_exe,
		.workers = 4,
	};
	return cfg;
}

/* ---- tests --------------------------------------------------------------- */

static void
test_init_token(void **state)
{
	struct stat st;
	char *pin = NULL;
	size_t len = 0;

	assert_int_equal(keeper_init_softhsm_token(hsm_dir, SOFTHSM_MODULE,
	    TOKEN), 0);
	assert_int_equal(stat(pin_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(hsm_dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(conf_path, &st), 0);
	assert_int_equal(sn_read_file(pin_path, 1024, &pin, &len), 0);
	assert_int_equal(len, 33);	/* 32 hex characters and a newline */
	for (size_t i = 0; i < 32; i++)
		assert_non_null(strchr("0123456789abcdef", pin[i]));
	sn_strfreezero(pin);

	/* Twice is a conflict: the PIN file exists ... */
	assert_int_equal(keeper_init_softhsm_token(hsm_dir, SOFTHSM_MODULE,
	    TOKEN), SN_ERR_CONFLICT);
	/* ... and so does the token, even without the PIN file. */
	{
		char aside[PATH_MAX];

		snprintf(aside, sizeof(aside), "%s/pin.aside", tmpdir);
		assert_int_equal(rename(pin_path, aside), 0);
		assert_int_equal(keeper_init_softhsm_token(hsm_dir,
		    SOFTHSM_MODULE, TOKEN), SN_ERR_CONFLICT);
		assert_int_equal(access(pin_path, F_OK), -1);
		assert_int_equal(rename(aside, pin_path), 0);
	}
	assert_int_equal(keeper_init_softhsm_token(hsm_dir, SOFTHSM_MODULE,
	    "this label is longer than 32 bytes"), SN_ERR_INVALID);
}

static void
test_start_bad_pin(void **state)
{
	char bad[PATH_MAX];
	struct keeper_config cfg;
	struct keeper *kk = NULL;
	int64_t t0 = mono_ms();

	snprintf(bad, sizeof(bad), "%s/badpin", tmpdir);
	assert_int_equal(sn_write_file(bad, "0000\n", 5, 0600), 0);
	cfg = config(bad);
	assert_int_equal(keeper_start(&cfg, &kk), SN_ERR_UNAVAILABLE);
	assert_null(kk);
	cfg = config(pin_path);
	cfg.token_label = "no-such-token";
	assert_int_equal(keeper_start(&cfg, &kk), SN_ERR_UNAVAILABLE);
	assert_true(mono_ms() - t0 < 10000);
}

static void
test_start(void **state)
{
	struct keeper_config cfg = config(pin_path);
	int fds[2];
	char want[64], path[PATH_MAX], link[256];
	struct stat st;
	DIR *d;
	struct dirent *de;
	pid_t pid;
	int nfds = 0;

	/* A descriptor without O_CLOEXEC must not reach the keeper. */
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(fstat(fds[0], &st), 0);
	snprintf(want, sizeof(want), "pipe:[%lu]", (unsigned long)st.st_ino);

	assert_int_equal(keeper_start(&cfg, &k), 0);
	assert_non_null(k);
	assert_true((pid = keeper_pid(k)) > 0);

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	/* The keeper is not dumpable: only root may look into its fds. */
	if ((d = opendir(path)) == NULL) {
		assert_int_equal(errno, EACCES);
		fprintf(stderr, "note: not root, fd inheritance not checked\n");
		close(fds[0]);
		close(fds[1]);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		ssize_t n;
		char p2[PATH_MAX + 300];

		if (de->d_name[0] == '.')
			continue;
		snprintf(p2, sizeof(p2), "%s/%s", path, de->d_name);
		if ((n = readlink(p2, link, sizeof(link) - 1)) < 0)
			continue;
		link[n] = '\0';
		assert_string_not_equal(link, want);
		nfds++;
	}
	closedir(d);
	assert_true(nfds >= 4);	/* stdin, stdout, stderr, the socket */
	close(fds[0]);
	close(fds[1]);
}

static void
test_generate_all(void **state)
{
	for (int i = 0; i < NALGS; i++) {
		const uint8_t *p;
		EVP_PKEY *pk;
		uint8_t *spki2 = NULL;
		size_t len2 = 0;
		char label[64];

		snprintf(label, sizeof(label), "test %s", sn_key_alg_name(algs[i]));
		assert_int_equal(keeper_generate(k, algs[i], label, keys[i].id,
		    &keys[i].spki, &keys[i].spkilen), 0);
		p = keys[i].spki;
		assert_non_null(pk = d2i_PUBKEY(NULL, &p, (long)keys[i].spkilen));
		assert_ptr_equal(p, keys[i].spki + keys[i].spkilen);
		assert_int_equal(EVP_PKEY_get_bits(pk), sn_key_alg_bits(algs[i]));
		assert_int_equal(EVP_PKEY_get_base_id(pk),
		    sn_key_alg_is_rsa(algs[i]) ? EVP_PKEY_RSA : EVP_PKEY_EC);
		EVP_PKEY_free(pk);

		assert_int_equal(keeper_get_public_key(k, keys[i].id, &spki2,
		    &len2), 0);
		assert_int_equal(len2, keys[i].spkilen);
		assert_memory_equal(spki2, keys[i].spki, len2);
		free(spki2);
	}
	/* ids are distinct random values */
	for (int i = 0; i < NALGS; i++)
		for (int j = i + 1; j < NALGS; j++)
			assert_memory_not_equal(keys[i].id, keys[j].id, KEEPER_ID_LEN);
}

static void
test_sign_all(void **state)
{
	static const enum sn_mech mechs[] = { SN_MECH_RSA_PKCS, SN_MECH_RSA_PSS,
		SN_MECH_ECDSA };
	int n = 0;

	for (int i = 0; i < NALGS; i++)
		for (size_t m = 0; m < 3; m++)
			for (size_t h = 0; h < 4; h++) {
				uint8_t d[64], *sig = NULL;
				size_t dlen, siglen = 0;

				if (!sn_key_alg_allows_mech(algs[i], mechs[m]))
					continue;
				random_digest(hashes[h], d, &dlen);
				assert_int_equal(keeper_sign(k, keys[i].id, mechs[m],
				    hashes[h], d, dlen, &sig, &siglen), 0);
				assert_true(verify(keys[i].spki, keys[i].spkilen,
				    mechs[m], hashes[h], d, dlen, sig, siglen));
				/* and the check can fail */
				d[0] ^= 1;
				assert_false(verify(keys[i].spki, keys[i].spkilen,
				    mechs[m], hashes[h], d, dlen, sig, siglen));
				free(sig);
				n++;
			}
	assert_int_equal(n, 3 * 2 * 4 + 2 * 4);
}

static void
test_sign_errors(void **state)
{
	uint8_t d[64], unknown[KEEPER_ID_LEN], *sig = NULL;
	size_t siglen = 0;

	memset(d, 0x5a, sizeof(d));
	memset(unknown, 0xee, sizeof(unknown));
	/* digest length must match the hash */
	assert_int_equal(keeper_sign(k, keys[K_P256].id, SN_MECH_ECDSA,
	    SN_HASH_SHA256, d, 31, &sig, &siglen), SN_ERR_INVALID);
	assert_int_equal(keeper_sign(k, keys[K_RSA2048].id, SN_MECH_RSA_PKCS,
	    SN_HASH_SHA512, d, 32, &sig, &siglen), SN_ERR_INVALID);
	/* mechanism must fit the key */
	assert_int_equal(keeper_sign(k, keys[K_RSA2048].id, SN_MECH_ECDSA,
	    SN_HASH_SHA256, d, 32, &sig, &siglen), SN_ERR_INVALID);
	assert_int_equal(keeper_sign(k, keys[K_P384].id, SN_MECH_RSA_PKCS,
	    SN_HASH_SHA256, d, 32, &sig, &siglen), SN_ERR_INVALID);
	assert_int_equal(keeper_sign(k, keys[K_P256].id, SN_MECH_RSA_PSS,
	    SN_HASH_SHA256, d, 32, &sig, &siglen), SN_ERR_INVALID);
	/* unknown enums */
	assert_int_equal(keeper_sign(k, keys[K_P256].id, (enum sn_mech)9,
	    SN_HASH_SHA256, d, 32, &sig, &siglen), SN_ERR_INVALID);
	assert_int_equal(keeper_sign(k, keys[K_P256].id, SN_MECH_ECDSA,
	    (enum sn_hash)0, d, 32, &sig, &siglen), SN_ERR_INVALID);
	/* unknown key */
	assert_int_equal(keeper_sign(k, unknown, SN_MECH_ECDSA, SN_HASH_SHA256,
	    d, 32, &sig, &siglen), SN_ERR_NOT_FOUND);
	assert_null(sig);
	{
		uint8_t *spki = NULL;
		size_t len = 0;

		assert_int_equal(keeper_get_public_key(k, unknown, &spki, &len),
		    SN_ERR_NOT_FOUND);
		assert_int_equal(keeper_generate(k, (enum sn_key_alg)42, "x",
		    unknown, &spki, &len), SN_ERR_INVALID);
		char longlabel[KEEPER_LABEL_MAX + 2];
		memset(longlabel, 'a', sizeof(longlabel) - 1);
		longlabel[sizeof(longlabel) - 1] = '\0';
		assert_int_equal(keeper_generate(k, SN_ALG_ECDSA_P256, longlabel,
		    unknown, &spki, &len), SN_ERR_INVALID);
	}
	assert_int_equal(keeper_destroy(k, unknown), SN_ERR_NOT_FOUND);
}

/* The audit log key: Ed25519 generated on the token, CKM_EDDSA over a
 * message (not a digest), and no mixing with the code signing mechanisms. */
static void
test_ed25519_log_key(void **state)
{
	uint8_t id[KEEPER_ID_LEN], *spki = NULL, *sig = NULL, *sig2 = NULL;
	uint8_t msg[KEEPER_MESSAGE_MAX + 1];
	size_t len = 0, siglen = 0, siglen2 = 0;
	const uint8_t *p;
	EVP_PKEY *pk;
	EVP_MD_CTX *ctx;

	memset(msg, 'm', sizeof(msg));
	assert_int_equal(keeper_generate(k, SN_ALG_ED25519, "test log key",
	    id, &spki, &len), 0);
	p = spki;
	assert_non_null(pk = d2i_PUBKEY(NULL, &p, (long)len));
	assert_int_equal(EVP_PKEY_get_base_id(pk), EVP_PKEY_ED25519);
	assert_int_equal(keeper_sign(k, id, SN_MECH_EDDSA, SN_HASH_NONE, msg,
	    300, &sig, &siglen), 0);
	assert_int_equal(siglen, 64);
	assert_non_null(ctx = EVP_MD_CTX_new());
	assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk), 1);
	assert_int_equal(EVP_DigestVerify(ctx, sig, siglen, msg, 300), 1);
	EVP_MD_CTX_free(ctx);
	assert_non_null(ctx = EVP_MD_CTX_new());
	assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk), 1);
	assert_int_not_equal(EVP_DigestVerify(ctx, sig, siglen, msg, 299), 1);
	EVP_MD_CTX_free(ctx);
	/* Ed25519 is deterministic: the same message, the same signature */
	assert_int_equal(keeper_sign(k, id, SN_MECH_EDDSA, SN_HASH_NONE, msg,
	    300, &sig2, &siglen2), 0);
	assert_memory_equal(sig, sig2, 64);
	free(sig2);
	sig2 = NULL;
	/* bounds and mixing */
	assert_int_equal(keeper_sign(k, id, SN_MECH_EDDSA, SN_HASH_NONE, msg,
	    KEEPER_MESSAGE_MAX + 1, &sig2, &siglen2), SN_ERR_INVALID);
	assert_int_equal(keeper_sign(k, id, SN_MECH_EDDSA, SN_HASH_NONE, msg,
	    0, &sig2, &siglen2), SN_ERR_INVALID);
	assert_int_equal(keeper_sign(k, id, SN_MECH_EDDSA, SN_HASH_SHA256, msg,
	    32, &sig2, &siglen2), SN_ERR_INVALID);
	assert_int_equal(keeper_sign(k, id, SN_MECH_ECDSA, SN_HASH_SHA256, msg,
	    32, &sig2, &siglen2), SN_ERR_INVALID);
	assert_int_equal(keeper_sign(k, keys[K_P256].id, SN_MECH_EDDSA,
	    SN_HASH_NONE, msg, 32, &sig2, &siglen2), SN_ERR_INVALID);
	assert_int_equal(keeper_sign(k, keys[K_RSA2048].id, SN_MECH_EDDSA,
	    SN_HASH_NONE, msg, 32, &sig2, &siglen2), SN_ERR_INVALID);
	assert_null(sig2);
	/* not nameable by a request */
	assert_int_equal(sn_key_alg_from_name("ed25519"), SN_ALG_NONE);
	assert_int_equal(sn_mech_from_name("eddsa"), SN_MECH_NONE);
	assert_int_equal(keeper_destroy(k, id), 0);
	EVP_PKEY_free(pk);
	free(spki);
	free(sig);
}

static void
test_destroy(void **state)
{
	uint8_t id[KEEPER_ID_LEN], *spki = NULL, *sig = NULL, d[32] = { 1 };
	size_t len = 0, siglen = 0;

	assert_int_equal(keeper_generate(k, SN_ALG_ECDSA_P256, "doomed", id,
	    &spki, &len), 0);
	free(spki);
	spki = NULL;
	assert_int_equal(keeper_sign(k, id, SN_MECH_ECDSA, SN_HASH_SHA256, d, 32,
	    &sig, &siglen), 0);
	free(sig);
	sig = NULL;
	assert_int_equal(keeper_destroy(k, id), 0);
	assert_int_equal(keeper_sign(k, id, SN_MECH_ECDSA, SN_HASH_SHA256, d, 32,
	    &sig, &siglen), SN_ERR_NOT_FOUND);
	assert_int_equal(keeper_get_public_key(k, id, &spki, &len),
	    SN_ERR_NOT_FOUND);
	assert_int_equal(keeper_destroy(k, id), SN_ERR_NOT_FOUND);
	/* the other keys are untouched */
	assert_int_equal(keeper_get_public_key(k, keys[K_P256].id, &spki, &len), 0);
	free(spki);
}

#define NTHREADS	8
#define PER_THREAD	20

struct tharg {
	int idx;
	int ok;
	int err;
};

static void *
sign_thread(void *arg)
{
	struct tharg *a = arg;
	int ki = a->idx % 2 == 0 ? K_P256 : K_RSA2048;
	enum sn_mech mech = ki == K_P256 ? SN_MECH_ECDSA : SN_MECH_RSA_PSS;

	for (int i = 0; i < PER_THREAD; i++) {
		uint8_t d[32], *sig = NULL;
		size_t dlen = 32, siglen = 0;
		int r;

		if (RAND_bytes(d, 32) != 1)
			break;
		if ((r = keeper_sign(k, keys[ki].id, mech, SN_HASH_SHA256, d,
		    dlen, &sig, &siglen)) != 0) {
			a->err = r;
			break;
		}
		if (verify(keys[ki].spki, keys[ki].spkilen, mech, SN_HASH_SHA256,
		    d, dlen, sig, siglen))
			a->ok++;
		free(sig);
	}
	return NULL;
}

static void
test_concurrent(void **state)
{
	pthread_t t[NTHREADS];
	struct tharg a[NTHREADS];

	for (int i = 0; i < NTHREADS; i++) {
		memset(&a[i], 0, sizeof(a[i]));
		a[i].idx = i;
		assert_int_equal(pthread_create(&t[i], NULL, sign_thread, &a[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(a[i].err, 0);
		assert_int_equal(a[i].ok, PER_THREAD);
	}
}

struct one_call {
	int r;
	int64_t ms;
};

static void *
one_sign(void *arg)
{
	struct one_call *c = arg;
	uint8_t d[32] = { 7 }, *sig = NULL;
	size_t siglen = 0;
	int64_t t0 = mono_ms();

	c->r = keeper_sign(k, keys[K_P256].id, SN_MECH_ECDSA, SN_HASH_SHA256, d,
	    32, &sig, &siglen);
	c->ms = mono_ms() - t0;
	free(sig);
	return NULL;
}

static void
sign_ok(void)
{
	uint8_t d[32] = { 9 }, *sig = NULL;
	size_t siglen = 0;

	assert_int_equal(keeper_sign(k, keys[K_P256].id, SN_MECH_ECDSA,
	    SN_HASH_SHA256, d, 32, &sig, &siglen), 0);
	assert_true(verify(keys[K_P256].spki, keys[K_P256].spkilen,
	    SN_MECH_ECDSA, SN_HASH_SHA256, d, 32, sig, siglen));
	free(sig);
}

/* ---- keeper_sign_many ---------------------------------------------------- */

#define MANY	64

/* A batch of MANY digests, signed at once, each verifying over its own. */
static void
test_sign_many(void **state)
{
	static const struct { int ki; enum sn_mech mech; } cases[] = {
		{ K_P256, SN_MECH_ECDSA }, { K_RSA2048, SN_MECH_RSA_PKCS },
		{ K_RSA2048, SN_MECH_RSA_PSS },
	};
	uint8_t d[MANY][32], *sigs[MANY];
	const uint8_t *dp[MANY];
	size_t dl[MANY], sl[MANY];

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		int ki = cases[c].ki;

		for (int i = 0; i < MANY; i++) {
			assert_int_equal(RAND_bytes(d[i], 32), 1);
			dp[i] = d[i];
			dl[i] = 32;
		}
		assert_int_equal(keeper_sign_many(k, keys[ki].id, cases[c].mech,
		    SN_HASH_SHA256, dp, dl, MANY, sigs, sl), 0);
		for (int i = 0; i < MANY; i++) {
			assert_non_null(sigs[i]);
			assert_true(verify(keys[ki].spki, keys[ki].spkilen,
			    cases[c].mech, SN_HASH_SHA256, d[i], 32, sigs[i],
			    sl[i]));
			/* answers are matched to their own request */
			assert_false(verify(keys[ki].spki, keys[ki].spkilen,
			    cases[c].mech, SN_HASH_SHA256, d[(i + 1) % MANY], 32,
			    sigs[i], sl[i]));
			free(sigs[i]);
		}
	}
}

/* All or none: one bad digest or an unknown key fails the batch with its
 * error and returns no signature; bad sizes are refused. */
static void
test_sign_many_errors(void **state)
{
	uint8_t d[8][32], unknown[KEEPER_ID_LEN], *sigs[8];
	const uint8_t *dp[8];
	size_t dl[8], sl[8];

	memset(unknown, 0xee, sizeof(unknown));
	for (int i = 0; i < 8; i++) {
		memset(d[i], i + 1, 32);
		dp[i] = d[i];
		dl[i] = 32;
	}
	dl[5] = 31;
	assert_int_equal(keeper_sign_many(k, keys[K_P256].id, SN_MECH_ECDSA,
	    SN_HASH_SHA256, dp, dl, 8, sigs, sl), SN_ERR_INVALID);
	for (int i = 0; i < 8; i++)
		assert_null(sigs[i]);
	dl[5] = 32;
	assert_int_equal(keeper_sign_many(k, unknown, SN_MECH_ECDSA,
	    SN_HASH_SHA256, dp, dl, 8, sigs, sl), SN_ERR_NOT_FOUND);
	for (int i = 0; i < 8; i++)
		assert_null(sigs[i]);
	/* the keeper refuses the mechanism for every request */
	assert_int_equal(keeper_sign_many(k, keys[K_P256].id, SN_MECH_RSA_PSS,
	    SN_HASH_SHA256, dp, dl, 8, sigs, sl), SN_ERR_INVALID);
	assert_int_equal(keeper_sign_many(k, keys[K_P256].id, SN_MECH_ECDSA,
	    SN_HASH_SHA256, dp, dl, 0, sigs, sl), SN_ERR_INVALID);
	assert_int_equal(keeper_sign_many(k, keys[K_P256].id, SN_MECH_ECDSA,
	    SN_HASH_SHA256, dp, dl, KEEPER_SIGN_MANY_MAX + 1, sigs, sl),
	    SN_ERR_TOO_LARGE);
	sign_ok();
}

struct many_call {
	int r;
	int ok;
	int64_t ms;
};

static void *
many_sign(void *arg)
{
	struct many_call *c = arg;
	uint8_t d[8][32], *sigs[8];
	const uint8_t *dp[8];
	size_t dl[8], sl[8];
	int64_t t0 = mono_ms();

	for (int i = 0; i < 8; i++) {
		memset(d[i], 0x40 + i, 32);
		dp[i] = d[i];
		dl[i] = 32;
	}
	c->r = keeper_sign_many(k, keys[K_P256].id, SN_MECH_ECDSA,
	    SN_HASH_SHA256, dp, dl, 8, sigs, sl);
	c->ms = mono_ms() - t0;
	for (int i = 0; c->r == 0 && i < 8; i++) {
		c->ok += verify(keys[K_P256].spki, keys[K_P256].spkilen,
		    SN_MECH_ECDSA, SN_HASH_SHA256, d[i], 32, sigs[i], sl[i]);
		free(sigs[i]);
	}
	return NULL;
}

/*
 * Pipelined, not one after another: with the keeper stopped, all 8
 * requests of a batch are on the channel waiting for answers at once
 * (signed in a loop, only one would be); continued, it answers them all.
 */
static void
test_sign_many_pipelined(void **state)
{
	pthread_t t;
	struct many_call c = { 1, 0, 0 };
	pid_t pid = keeper_pid(k);
	size_t most = 0;

	assert_true(pid > 0);	/* never kill(-1, ...) */
	stop_process(pid);
	assert_int_equal(pthread_create(&t, NULL, many_sign, &c), 0);
	for (int i = 0; i < 500 && most < 8; i++) {
		if (keeper_pending(k) > most)
			most = keeper_pending(k);
		usleep(10000);
	}
	assert_int_equal(kill(pid, SIGCONT), 0);
	pthread_join(t, NULL);
	assert_int_equal(most, 8);
	assert_int_equal(c.r, 0);
	assert_int_equal(c.ok, 8);
	assert_int_equal(keeper_pid(k), pid);
}

/* A stalled keeper fails the whole batch within one call timeout (not one
 * per digest), and is replaced. */
static void
test_sign_many_stalled(void **state)
{
	pthread_t t;
	struct many_call c = { 1, 0, 0 };
	pid_t pid = keeper_pid(k);

	assert_true(pid > 0);	/* never kill(-1, ...) */
	keeper_set_call_timeout(k, 500);
	stop_process(pid);
	assert_int_equal(pthread_create(&t, NULL, many_sign, &c), 0);
	pthread_join(t, NULL);
	assert_int_equal(c.r, SN_ERR_UNAVAILABLE);
	assert_true(c.ms >= 400 && c.ms < 3000);
	keeper_set_call_timeout(k, 30000);
	sign_ok();
	assert_int_not_equal(keeper_pid(k), pid);
	assert_int_equal(kill(pid, 0), -1);
}

static void
test_keeper_killed(void **state)
{
	pthread_t t;
	struct one_call c = { 1, 0 };
	pid_t pid = keeper_pid(k), pid2;

	assert_true(pid > 0);
	/*
	 * Deterministic "in flight": stop the keeper, send a request (it sits
	 * in the socket), then kill the keeper.
	 */
	stop_process(pid);
	assert_int_equal(pthread_create(&t, NULL, one_sign, &c), 0);
	usleep(200 * 1000);
	assert_int_equal(kill(pid, SIGKILL), 0);
	pthread_join(t, NULL);
	assert_int_equal(c.r, SN_ERR_UNAVAILABLE);
	assert_true(c.ms < 5000);
	/* the dead keeper was reaped (not left a zombie) */
	for (int i = 0; i < 200 && kill(pid, 0) == 0; i++)
		usleep(10 * 1000);
	assert_int_equal(kill(pid, 0), -1);

	/* the next call restarts the keeper and succeeds */
	sign_ok();
	assert_true((pid2 = keeper_pid(k)) > 0);
	assert_int_not_equal(pid2, pid);
	/* keys survive the restart: they live on the token */
	sign_ok();
}

static void
test_keeper_killed_under_load(void **state)
{
	pthread_t t[NTHREADS];
	struct tharg a[NTHREADS];
	int unavailable = 0;

	for (int i = 0; i < NTHREADS; i++) {
		memset(&a[i], 0, sizeof(a[i]));
		a[i].idx = 2 * i;	/* ECDSA: fast, many calls in flight */
		assert_int_equal(pthread_create(&t[i], NULL, sign_thread, &a[i]), 0);
	}
	usleep(20 * 1000);
	if (keeper_pid(k) > 0)	/* never kill(-1, ...) */
		kill(keeper_pid(k), SIGKILL);
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		/* every failure is "unavailable", never a hang or another code */
		assert_true(a[i].err == 0 || a[i].err == SN_ERR_UNAVAILABLE);
		unavailable += a[i].err != 0;
	}
	(void)unavailable;	/* how many were in flight is up to timing */
	sign_ok();
}

/*
 * 1 when pid is gone, or a zombie with no thread left: its sockets are
 * closed (a thread group leader is a zombie while its other threads may
 * still hold the file table).
 */
static int
exited(pid_t pid)
{
	char path[64], buf[512], *p;
	struct dirent *de;
	FILE *f;
	DIR *d;
	size_t n;
	int threads = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if ((d = opendir(path)) == NULL)
		return 1;
	while ((de = readdir(d)) != NULL)
		threads += de->d_name[0] != '.';
	closedir(d);
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return threads <= 1 && (p = strrchr(buf, ')')) != NULL &&
	    p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

/*
 * A keeper that dies while idle is noticed and reaped without any call
 * (the watcher), and the next call succeeds at once on a new keeper.
 */
static void
test_keeper_killed_idle(void **state)
{
	pid_t pid = keeper_pid(k), pid2;

	assert_true(pid > 0);	/* never kill(-1, ...) */
	assert_int_equal(kill(pid, SIGKILL), 0);
	for (int i = 0; i < 200 && kill(pid, 0) == 0; i++)
		usleep(10 * 1000);
	assert_int_equal(kill(pid, 0), -1);
	sign_ok();
	assert_true((pid2 = keeper_pid(k)) > 0);
	assert_int_not_equal(pid2, pid);

	/* and the very next call after the death, before anyone reaped it */
	assert_int_equal(kill(pid2, SIGKILL), 0);
	for (int i = 0; i < 2000 && !exited(pid2); i++)
		usleep(100);
	sign_ok();
	assert_int_not_equal(keeper_pid(k), pid2);
	assert_int_equal(keeper_pending(k), 0);
}

/*
 * A readiness probe against a keeper that does not answer in time fails,
 * but does not have it killed; the answer that comes later is dropped by
 * the next caller, which succeeds on the same keeper.
 */
static void
test_probe_busy(void **state)
{
	pid_t pid = keeper_pid(k);
	int64_t t0;

	stop_process(pid);
	t0 = mono_ms();
	assert_int_equal(keeper_ping(k, 200), SN_ERR_UNAVAILABLE);
	assert_true(mono_ms() - t0 >= 150 && mono_ms() - t0 < 3000);
	assert_int_equal(keeper_pending(k), 0);
	assert_int_equal(kill(pid, SIGCONT), 0);
	usleep(50 * 1000);	/* the late answer is now in the socket */
	sign_ok();
	sign_ok();
	assert_int_equal(keeper_pid(k), pid);
	assert_int_equal(keeper_ping(k, 5000), 0);
}

/*
 * Many threads, many calls, RSA and ECDSA mixed so answers overtake each
 * other: each caller gets its own answer (the signature verifies over its
 * own digest), whoever read it.
 */
#define MANY_THREADS	32
static void
test_concurrent_many(void **state)
{
	pthread_t t[MANY_THREADS];
	struct tharg a[MANY_THREADS];

	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < MANY_THREADS; i++) {
			memset(&a[i], 0, sizeof(a[i]));
			a[i].idx = i + round;
			assert_int_equal(pthread_create(&t[i], NULL,
			    sign_thread, &a[i]), 0);
		}
		for (int i = 0; i < MANY_THREADS; i++) {
			pthread_join(t[i], NULL);
			assert_int_equal(a[i].err, 0);
			assert_int_equal(a[i].ok, PER_THREAD);
		}
	}
	assert_int_equal(keeper_pending(k), 0);
}

static void
test_keeper_stalled(void **state)
{
	pthread_t t;
	struct one_call c = { 1, 0 };
	pid_t pid = keeper_pid(k);

	/* a failed earlier test may leave no keeper: never kill(-1, ...) */
	assert_true(pid > 0);
	keeper_set_call_timeout(k, 500);
	stop_process(pid);
	assert_int_equal(pthread_create(&t, NULL, one_sign, &c), 0);
	pthread_join(t, NULL);
	assert_int_equal(c.r, SN_ERR_UNAVAILABLE);
	assert_true(c.ms >= 400 && c.ms < 3000);
	keeper_set_call_timeout(k, 30000);
	/* the stuck keeper is killed and replaced */
	sign_ok();
	assert_int_not_equal(keeper_pid(k), pid);
	assert_int_equal(kill(pid, 0), -1);
}

/*
 * A keeper that answers garbage, for the client's read path: run instead
 * of the keeper when the token label names a mode. It sends the ready
 * frame, reads one request, answers with a frame too short (mode
 * "fake-short"), too long ("fake-huge") or cut off after its first bytes
 * ("fake-cut"), then waits for EOF.
 */
static int
fake_keeper_main(int argc, char **argv)
{
	const char *mode = NULL;
	uint8_t hello[12] = { 0, 0, 0, 8 }, hdr[4], buf[4096];
	uint8_t shortf[7] = { 0, 0, 0, 3, 0, 0, 0 };
	uint8_t huge[8] = { 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1 };
	uint8_t cut[14] = { 0, 0, 0, 100, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0 };
	size_t len;

	for (int i = 2; i + 1 < argc; i++)
		if (strcmp(argv[i], "--token") == 0)
			mode = argv[i + 1];
	if (write(3, hello, sizeof(hello)) != (ssize_t)sizeof(hello) ||
	    read(3, hdr, 4) != 4)
		return 1;
	len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 |
	    (size_t)hdr[2] << 8 | hdr[3];
	if (len > sizeof(buf) || read(3, buf, len) != (ssize_t)len)
		return 1;
	if (strcmp(mode, "fake-short") == 0) {
		if (write(3, shortf, sizeof(shortf)) < 0)
			return 1;
	} else if (strcmp(mode, "fake-huge") == 0) {
		if (write(3, huge, sizeof(huge)) < 0)
			return 1;
	} else if (write(3, cut, sizeof(cut)) < 0)
		return 1;
	while (read(3, buf, sizeof(buf)) > 0)
		;
	return 0;
}

static int
is_fake(int argc, char **argv)
{
	for (int i = 2; i + 1 < argc; i++)
		if (strcmp(argv[i], "--token") == 0 &&
		    strncmp(argv[i + 1], "fake-", 5) == 0)
			return 1;
	return 0;
}

/*
 * Garbage from the keeper (a frame too short, too long, or cut off) fails
 * the call with SN_ERR_UNAVAILABLE within the call timeout, never a hang
 * or a crash, and the child is reaped.
 */
static void
test_keeper_garbage(void **state)
{
	static const char *modes[] = { "fake-short", "fake-huge", "fake-cut" };

	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		struct keeper_config cfg = config(pin_path);
		struct keeper *fk = NULL;
		uint8_t d[32] = { 3 }, *sig = NULL;
		size_t siglen = 0;
		int64_t t0;
		pid_t pid;

		cfg.token_label = modes[m];
		assert_int_equal(keeper_start(&cfg, &fk), 0);
		keeper_set_call_timeout(fk, 500);
		assert_true((pid = keeper_pid(fk)) > 0);
		t0 = mono_ms();
		assert_int_equal(keeper_sign(fk, keys[K_P256].id, SN_MECH_ECDSA,
		    SN_HASH_SHA256, d, 32, &sig, &siglen), SN_ERR_UNAVAILABLE);
		/* a bad length is seen at once (the fake then waits for EOF,
		 * so missing it would take the whole timeout); a cut frame
		 * waits out the call timeout for its rest */
		if (m < 2)
			assert_true(mono_ms() - t0 < 400);
		else
			assert_true(mono_ms() - t0 >= 400 && mono_ms() - t0 < 3000);
		assert_null(sig);
		assert_int_equal(keeper_pending(fk), 0);
		keeper_free(fk);
		assert_int_equal(kill(pid, 0), -1);
	}
}

/* ---- direct PKCS#11 access, as an attacker with the PIN would have ------- */

struct direct {
	void *dl;
	CK_FUNCTION_LIST_PTR f;
	CK_SESSION_HANDLE s;
};

static void
direct_open(struct direct *x)
{
	CK_C_GetFunctionList getfl;
	CK_SLOT_ID slots[16];
	CK_ULONG n = 16;
	CK_TOKEN_INFO ti;
	char *pin = NULL;
	size_t pinlen = 0;
	int found = 0;

	assert_non_null(x->dl = dlopen(SOFTHSM_MODULE, RTLD_NOW | RTLD_LOCAL));
	assert_non_null(getfl = (CK_C_GetFunctionList)dlsym(x->dl,
	    "C_GetFunctionList"));
	assert_int_equal(getfl(&x->f), CKR_OK);
	assert_int_equal(x->f->C_Initialize(NULL), CKR_OK);
	assert_int_equal(x->f->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
	for (CK_ULONG i = 0; i < n && !found; i++) {
		assert_int_equal(x->f->C_GetTokenInfo(slots[i], &ti), CKR_OK);
		if (memcmp(ti.label, TOKEN, strlen(TOKEN)) == 0) {
			assert_int_equal(x->f->C_OpenSession(slots[i],
			    CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &x->s),
			    CKR_OK);
			found = 1;
		}
	}
	assert_true(found);
	assert_int_equal(sn_read_file(pin_path, 256, &pin, &pinlen), 0);
	assert_int_equal(x->f->C_Login(x->s, CKU_USER, (CK_UTF8CHAR_PTR)pin, 32),
	    CKR_OK);
	sn_strfreezero(pin);
}

static void
direct_close(struct direct *x)
{
	x->f->C_Logout(x->s);
	x->f->C_CloseSession(x->s);
	x->f->C_Finalize(NULL);
	dlclose(x->dl);
}

static void
test_invariant_private_key_not_extractable(void **state)
{
	struct direct x;

	direct_open(&x);
	for (int i = 0; i < NALGS; i++) {
		CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
		CK_ATTRIBUTE find[] = {
			{ CKA_CLASS, &cls, sizeof(cls) },
			{ CKA_ID, keys[i].id, KEEPER_ID_LEN },
		};
		CK_OBJECT_HANDLE obj[2];
		CK_ULONG n = 0;
		CK_BBOOL sensitive = CK_FALSE, extractable = CK_TRUE;
		CK_BBOOL always = CK_FALSE, never = CK_FALSE, sign = CK_FALSE;
		CK_BBOOL token = CK_FALSE, priv = CK_FALSE;
		CK_ATTRIBUTE flags[] = {
			{ CKA_SENSITIVE, &sensitive, sizeof(sensitive) },
			{ CKA_EXTRACTABLE, &extractable, sizeof(extractable) },
			{ CKA_ALWAYS_SENSITIVE, &always, sizeof(always) },
			{ CKA_NEVER_EXTRACTABLE, &never, sizeof(never) },
			{ CKA_SIGN, &sign, sizeof(sign) },
			{ CKA_TOKEN, &token, sizeof(token) },
			{ CKA_PRIVATE, &priv, sizeof(priv) },
		};
		uint8_t buf[1024];
		CK_ATTRIBUTE secret = { CKA_VALUE, buf, sizeof(buf) };
		CK_ATTRIBUTE rsa_d = { CKA_PRIVATE_EXPONENT, buf, sizeof(buf) };
		CK_ATTRIBUTE rsa_p = { CKA_PRIME_1, buf, sizeof(buf) };

		assert_int_equal(x.f->C_FindObjectsInit(x.s, find, 2), CKR_OK);
		assert_int_equal(x.f->C_FindObjects(x.s, obj, 2, &n), CKR_OK);
		assert_int_equal(x.f->C_FindObjectsFinal(x.s), CKR_OK);
		assert_int_equal(n, 1);

		assert_int_equal(x.f->C_GetAttributeValue(x.s, obj[0], flags, 7),
		    CKR_OK);
		assert_true(sensitive == CK_TRUE);
		assert_true(extractable == CK_FALSE);
		assert_true(always == CK_TRUE);
		assert_true(never == CK_TRUE);
		assert_true(sign == CK_TRUE);
		assert_true(token == CK_TRUE);
		assert_true(priv == CK_TRUE);

		if (sn_key_alg_is_rsa(algs[i])) {
			assert_int_equal(x.f->C_GetAttributeValue(x.s, obj[0],
			    &rsa_d, 1), CKR_ATTRIBUTE_SENSITIVE);
			assert_int_equal(x.f->C_GetAttributeValue(x.s, obj[0],
			    &rsa_p, 1), CKR_ATTRIBUTE_SENSITIVE);
		} else
			assert_int_equal(x.f->C_GetAttributeValue(x.s, obj[0],
			    &secret, 1), CKR_ATTRIBUTE_SENSITIVE);
		/* and the flags cannot be flipped back */
		{
			CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
			CK_ATTRIBUTE ext = { CKA_EXTRACTABLE, &yes, sizeof(yes) };
			CK_ATTRIBUTE sens = { CKA_SENSITIVE, &no, sizeof(no) };

			assert_int_not_equal(x.f->C_SetAttributeValue(x.s, obj[0],
			    &ext, 1), CKR_OK);
			assert_int_not_equal(x.f->C_SetAttributeValue(x.s, obj[0],
			    &sens, 1), CKR_OK);
		}
	}
	direct_close(&x);
}

/* ---- the request handler without a socket -------------------------------- */

static uint8_t *
frame(uint32_t id, uint8_t op, const void *body, size_t bodylen, size_t *len)
{
	uint8_t *out = NULL;

	assert_int_equal(keeper_encode_request(id, op, body, bodylen, &out, len), 0);
	return out;
}

/* Handles in; checks the response is well-formed; returns its status. */
static int
handle_status(struct keeper_worker *w, const uint8_t *in, size_t inlen,
    uint32_t id, uint8_t **body, size_t *bodylen)
{
	uint8_t *out = NULL;
	size_t outlen = 0;
	struct kcur c;
	uint32_t len, rid, st;
	const uint8_t *rest;

	assert_int_equal(keeper_handle(w, in, inlen, &out, &outlen), 0);
	kcur_init(&c, out, outlen);
	assert_int_equal(kcur_get_u32(&c, &len), 0);
	assert_int_equal(len, outlen - 4);
	assert_true(len <= KEEPER_FRAME_MAX);
	assert_int_equal(kcur_get_u32(&c, &rid), 0);
	assert_int_equal(rid, id);
	assert_int_equal(kcur_get_u32(&c, &st), 0);
	assert_true((int32_t)st <= 0);
	if ((int32_t)st != 0)
		assert_int_equal(kcur_end(&c), 0);	/* errors carry no body */
	if (body != NULL) {
		size_t n = outlen - c.off;
		assert_int_equal(kcur_get_raw(&c, n, &rest), 0);
		*body = malloc(n + 1);
		memcpy(*body, rest, n);
		*bodylen = n;
	}
	free(out);
	return (int32_t)st;
}

static void
test_handler_malformed(void **state)
{
	struct keeper_hsm *h = NULL;
	struct keeper_worker *w;
	char *pin = NULL;
	size_t pinlen = 0, len, blen;
	const char *why = NULL;
	uint8_t *f, *out = NULL, *body = NULL, buf[256];
	size_t outlen = 0;
	struct kbuf b;

	assert_int_equal(sn_read_file(pin_path, 256, &pin, &pinlen), 0);
	assert_int_equal(keeper_hsm_open(SOFTHSM_MODULE, TOKEN, pin, 32, 1, &h,
	    &why), 0);
	sn_strfreezero(pin);
	assert_non_null(w = keeper_hsm_worker(h, 0));
	assert_null(keeper_hsm_worker(h, 1));

	/* framing errors: no response, the connection is dropped */
	assert_int_equal(keeper_handle(w, (const uint8_t *)"\0\0", 2, &out,
	    &outlen), SN_ERR_PROTOCOL);
	memcpy(buf, "\x00\x01\x00\x01" "\0\0\0\1" "\x03", 9);	/* 65537 */
	assert_int_equal(keeper_handle(w, buf, 9, &out, &outlen), SN_ERR_PROTOCOL);
	memcpy(buf, "\xff\xff\xff\xff" "\0\0\0\1" "\x03", 9);
	assert_int_equal(keeper_handle(w, buf, 9, &out, &outlen), SN_ERR_PROTOCOL);
	memcpy(buf, "\x00\x00\x00\x09" "\0\0\0\1" "\x03", 9);	/* claims more */
	assert_int_equal(keeper_handle(w, buf, 9, &out, &outlen), SN_ERR_PROTOCOL);
	memcpy(buf, "\x00\x00\x00\x03" "\0\0\0", 7);		/* no op */
	assert_int_equal(keeper_handle(w, buf, 7, &out, &outlen), SN_ERR_PROTOCOL);
	assert_null(out);

	/* unknown operations: an error response, nothing else */
	for (int op = 0; op < 256; op++) {
		if (op >= KEEPER_OP_GENERATE && op <= KEEPER_OP_DESTROY)
			continue;
		f = frame(77, (uint8_t)op, keys[K_P256].id, KEEPER_ID_LEN, &len);
		assert_int_equal(handle_status(w, f, len, 77, NULL, NULL),
		    SN_ERR_PROTOCOL);
		free(f);
	}

	/* truncated fields */
	f = frame(1, KEEPER_OP_SIGN, keys[K_P256].id, 10, &len);
	assert_int_equal(handle_status(w, f, len, 1, NULL, NULL), SN_ERR_PROTOCOL);
	free(f);
	f = frame(2, KEEPER_OP_GET_PUBLIC_KEY, NULL, 0, &len);
	assert_int_equal(handle_status(w, f, len, 2, NULL, NULL), SN_ERR_PROTOCOL);
	free(f);
	f = frame(3, KEEPER_OP_GENERATE, "\x04\x00\x00", 3, &len);
	assert_int_equal(handle_status(w, f, len, 3, NULL, NULL), SN_ERR_PROTOCOL);
	free(f);
	/* a digest field claiming more than there is */
	kbuf_init(&b, 1024);
	assert_int_equal(kbuf_put(&b, keys[K_P256].id, KEEPER_ID_LEN), 0);
	assert_int_equal(kbuf_put_u8(&b, SN_MECH_ECDSA), 0);
	assert_int_equal(kbuf_put_u8(&b, SN_HASH_SHA256), 0);
	assert_int_equal(kbuf_put_u32(&b, 32), 0);
	assert_int_equal(kbuf_put(&b, buf, 31), 0);
	f = frame(4, KEEPER_OP_SIGN, b.data, b.len, &len);
	assert_int_equal(handle_status(w, f, len, 4, NULL, NULL), SN_ERR_PROTOCOL);
	free(f);
	/* the same with the missing byte: valid */
	assert_int_equal(kbuf_put_u8(&b, 0), 0);
	f = frame(5, KEEPER_OP_SIGN, b.data, b.len, &len);
	assert_int_equal(handle_status(w, f, len, 5, NULL, NULL), 0);
	free(f);
	/* and with one more: trailing bytes */
	assert_int_equal(kbuf_put_u8(&b, 0), 0);
	f = frame(6, KEEPER_OP_SIGN, b.data, b.len, &len);
	assert_int_equal(handle_status(w, f, len, 6, NULL, NULL), SN_ERR_PROTOCOL);
	free(f);
	kbuf_free(&b);
	/* digest field over the field's maximum (an EdDSA message) */
	kbuf_init(&b, 1024);
	assert_int_equal(kbuf_put(&b, keys[K_P256].id, KEEPER_ID_LEN), 0);
	assert_int_equal(kbuf_put_u8(&b, SN_MECH_ECDSA), 0);
	assert_int_equal(kbuf_put_u8(&b, SN_HASH_SHA256), 0);
	{
		uint8_t big[KEEPER_MESSAGE_MAX + 1];

		memset(big, 1, sizeof(big));
		assert_int_equal(kbuf_put_bytes(&b, big, sizeof(big)), 0);
	}
	f = frame(7, KEEPER_OP_SIGN, b.data, b.len, &len);
	assert_int_equal(handle_status(w, f, len, 7, NULL, NULL), SN_ERR_PROTOCOL);
	free(f);
	kbuf_free(&b);
	/* a 65-byte "digest" parses but is no digest of any hash */
	kbuf_init(&b, 1024);
	assert_int_equal(kbuf_put(&b, keys[K_P256].id, KEEPER_ID_LEN), 0);
	assert_int_equal(kbuf_put_u8(&b, SN_MECH_ECDSA), 0);
	assert_int_equal(kbuf_put_u8(&b, SN_HASH_SHA256), 0);
	memset(buf, 1, sizeof(buf));
	assert_int_equal(kbuf_put_bytes(&b, buf, 65), 0);
	f = frame(7, KEEPER_OP_SIGN, b.data, b.len, &len);
	assert_int_equal(handle_status(w, f, len, 7, NULL, NULL), SN_ERR_INVALID);
	free(f);
	kbuf_free(&b);
	/* trailing bytes after DESTROY's id: must not destroy anything */
	memcpy(buf, keys[K_P256].id, KEEPER_ID_LEN);
	buf[KEEPER_ID_LEN] = 0;
	f = frame(8, KEEPER_OP_DESTROY, buf, KEEPER_ID_LEN + 1, &len);
	assert_int_equal(handle_status(w, f, len, 8, NULL, NULL), SN_ERR_PROTOCOL);
	free(f);
	/* semantic errors */
	kbuf_init(&b, 1024);
	assert_int_equal(kbuf_put_u8(&b, 0), 0);		/* no such alg */
	assert_int_equal(kbuf_put_bytes(&b, "x", 1), 0);
	f = frame(9, KEEPER_OP_GENERATE, b.data, b.len, &len);
	assert_int_equal(handle_status(w, f, len, 9, NULL, NULL), SN_ERR_INVALID);
	free(f);
	kbuf_free(&b);
	kbuf_init(&b, 1024);
	assert_int_equal(kbuf_put_u8(&b, SN_ALG_ECDSA_P256), 0);
	assert_int_equal(kbuf_put_bytes(&b, "a\0b", 3), 0);	/* NUL in label */
	f = frame(10, KEEPER_OP_GENERATE, b.data, b.len, &len);
	assert_int_equal(handle_status(w, f, len, 10, NULL, NULL), SN_ERR_INVALID);
	free(f);
	kbuf_free(&b);
	kbuf_init(&b, 1024);
	assert_int_equal(kbuf_put_u8(&b, SN_ALG_ECDSA_P256), 0);
	memset(buf, 'l', sizeof(buf));
	assert_int_equal(kbuf_put_bytes(&b, buf, KEEPER_LABEL_MAX + 1), 0);
	f = frame(11, KEEPER_OP_GENERATE, b.data, b.len, &len);
	assert_int_equal(handle_status(w, f, len, 11, NULL, NULL), SN_ERR_PROTOCOL);
	free(f);
	kbuf_free(&b);

	/* a valid request through the same path */
	f = frame(12, KEEPER_OP_GET_PUBLIC_KEY, keys[K_P256].id, KEEPER_ID_LEN,
	    &len);
	assert_int_equal(handle_status(w, f, len, 12, &body, &blen), 0);
	assert_int_equal(blen, 4 + keys[K_P256].spkilen);
	assert_memory_equal(body + 4, keys[K_P256].spki, keys[K_P256].spkilen);
	free(body);
	free(f);

	/* random bodies for every op: always a clean, well-formed answer */
	for (int i = 0; i < 2000; i++) {
		uint8_t rnd[80];
		size_t n;
		uint8_t op = (uint8_t)(i % 6);

		assert_int_equal(RAND_bytes(rnd, sizeof(rnd)), 1);
		n = rnd[0] % sizeof(rnd);
		if (op == KEEPER_OP_GENERATE && n > 0)
			rnd[0] = 0;	/* never a valid algorithm: no key spam */
		f = frame((uint32_t)i, op, rnd, n, &len);
		assert_true(handle_status(w, f, len, (uint32_t)i, NULL, NULL) < 0);
		free(f);
	}
	keeper_hsm_close(h);
}

static int
handler_sign(struct keeper_worker *w, const uint8_t *id)
{
	struct kbuf b;
	uint8_t d[32] = { 3 }, *f;
	size_t len;
	int st;

	kbuf_init(&b, 1024);
	assert_int_equal(kbuf_put(&b, id, KEEPER_ID_LEN), 0);
	assert_int_equal(kbuf_put_u8(&b, SN_MECH_ECDSA), 0);
	assert_int_equal(kbuf_put_u8(&b, SN_HASH_SHA256), 0);
	assert_int_equal(kbuf_put_bytes(&b, d, sizeof(d)), 0);
	f = frame(100, KEEPER_OP_SIGN, b.data, b.len, &len);
	st = handle_status(w, f, len, 100, NULL, NULL);
	free(f);
	kbuf_free(&b);
	return st;
}

/* Cached key handles in one worker never outlive a DESTROY in another. */
static void
test_handler_cache_after_destroy(void **state)
{
	struct keeper_hsm *h = NULL;
	struct keeper_worker *w0, *w1;
	struct kbuf b;
	char *pin = NULL;
	size_t pinlen = 0, len, blen;
	const char *why = NULL;
	uint8_t *f, *body = NULL, id[KEEPER_ID_LEN];

	assert_int_equal(sn_read_file(pin_path, 256, &pin, &pinlen), 0);
	assert_int_equal(keeper_hsm_open(SOFTHSM_MODULE, TOKEN, pin, 32, 2, &h,
	    &why), 0);
	sn_strfreezero(pin);
	w0 = keeper_hsm_worker(h, 0);
	w1 = keeper_hsm_worker(h, 1);

	kbuf_init(&b, 1024);
	assert_int_equal(kbuf_put_u8(&b, SN_ALG_ECDSA_P256), 0);
	assert_int_equal(kbuf_put_bytes(&b, "cached", 6), 0);
	f = frame(1, KEEPER_OP_GENERATE, b.data, b.len, &len);
	assert_int_equal(handle_status(w0, f, len, 1, &body, &blen), 0);
	assert_true(blen > KEEPER_ID_LEN);
	memcpy(id, body, KEEPER_ID_LEN);
	free(body);
	free(f);
	kbuf_free(&b);

	for (int i = 0; i < 3; i++) {
		assert_int_equal(handler_sign(w0, id), 0);
		assert_int_equal(handler_sign(w1, id), 0);
	}
	f = frame(2, KEEPER_OP_DESTROY, id, KEEPER_ID_LEN, &len);
	assert_int_equal(handle_status(w0, f, len, 2, NULL, NULL), 0);
	free(f);
	assert_int_equal(handler_sign(w1, id), SN_ERR_NOT_FOUND);
	assert_int_equal(handler_sign(w0, id), SN_ERR_NOT_FOUND);
	/* other keys still sign through the same workers */
	assert_int_equal(handler_sign(w1, keys[K_P256].id), 0);
	keeper_hsm_close(h);
}

/* A key destroyed by another process (another signetd's keeper) is gone. */
static void
test_destroyed_elsewhere(void **state)
{
	struct direct x;
	uint8_t id[KEEPER_ID_LEN], *spki = NULL, *sig = NULL, d[32] = { 4 };
	size_t len = 0, siglen = 0;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE find[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_ID, id, KEEPER_ID_LEN },
	};
	CK_OBJECT_HANDLE obj;
	CK_ULONG n = 0;

	assert_int_equal(keeper_generate(k, SN_ALG_ECDSA_P256, "elsewhere", id,
	    &spki, &len), 0);
	free(spki);
	for (int i = 0; i < 8; i++) {	/* warm the handle caches */
		assert_int_equal(keeper_sign(k, id, SN_MECH_ECDSA, SN_HASH_SHA256,
		    d, 32, &sig, &siglen), 0);
		free(sig);
		sig = NULL;
	}
	direct_open(&x);
	assert_int_equal(x.f->C_FindObjectsInit(x.s, find, 2), CKR_OK);
	assert_int_equal(x.f->C_FindObjects(x.s, &obj, 1, &n), CKR_OK);
	assert_int_equal(x.f->C_FindObjectsFinal(x.s), CKR_OK);
	assert_int_equal(n, 1);
	assert_int_equal(x.f->C_DestroyObject(x.s, obj), CKR_OK);
	direct_close(&x);
	for (int i = 0; i < 8; i++)
		assert_int_equal(keeper_sign(k, id, SN_MECH_ECDSA, SN_HASH_SHA256,
		    d, 32, &sig, &siglen), SN_ERR_NOT_FOUND);
	assert_null(sig);
}

/* Runs the keeper by hand with stdout and stderr on pipes; fd 3 = sock. */
static pid_t
spawn_manual(int sock, int outpipe, int errpipe)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		char *argv[] = { self_exe, "keeper", "--fd", "3", "--module",
			SOFTHSM_MODULE, "--token", TOKEN, "--pin-file", pin_path,
			"--softhsm-conf", conf_path, "--workers", "2", NULL };

		if (dup2(outpipe, 1) < 0 || dup2(errpipe, 2) < 0 ||
		    dup2(sock, 3) < 0)
			_exit(99);
		close_range(4, ~0U, 0);
		execv(self_exe, argv);
		_exit(98);
	}
	return pid;
}

static size_t
read_all(int fd, char *buf, size_t max)
{
	size_t len = 0;
	ssize_t n;

	while (len < max && (n = read(fd, buf + len, max - len)) > 0)
		len += (size_t)n;
	return len;
}

static void
read_exact(int fd, uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = read(fd, buf, len);

		assert_true(n > 0);
		buf += n;
		len -= (size_t)n;
	}
}

/*
 * The keeper process as a black box: it answers over its socket, writes
 * nothing to stdout, exits 0 when the socket closes, and drops the
 * connection (exit 1, one line on stderr) on an oversized frame.
 */
static void
test_process_black_box(void **state)
{
	int sv[2], out[2], err[2], st;
	uint8_t hello[12], hdr[12], *f, body[64], *rest;
	char obuf[256], ebuf[1024];
	size_t len, olen, elen;
	ssize_t n;
	pid_t pid;

	for (int round = 0; round < 2; round++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		assert_int_equal(pipe(out), 0);
		assert_int_equal(pipe(err), 0);
		pid = spawn_manual(sv[1], out[1], err[1]);
		close(sv[1]);
		close(out[1]);
		close(err[1]);

		read_exact(sv[0], hello, sizeof(hello));
		assert_memory_equal(hello, "\0\0\0\x08\0\0\0\0\0\0\0\0", 12);
		/* a GET_PUBLIC_KEY round trip */
		f = frame(42, KEEPER_OP_GET_PUBLIC_KEY, keys[K_P256].id,
		    KEEPER_ID_LEN, &len);
		assert_int_equal(write(sv[0], f, len), (ssize_t)len);
		free(f);
		read_exact(sv[0], hdr, sizeof(hdr));
		assert_memory_equal(hdr + 4, "\0\0\0\x2a\0\0\0\0", 8);
		len = ((size_t)hdr[2] << 8 | hdr[3]) - 8;
		assert_true(len == 4 + keys[K_P256].spkilen);
		assert_non_null(rest = malloc(len));
		read_exact(sv[0], rest, len);
		assert_memory_equal(rest + 4, keys[K_P256].spki, len - 4);
		free(rest);

		if (round == 0) {
			close(sv[0]);		/* clean shutdown */
		} else {
			/* 65537 bytes claimed: over the limit */
			memcpy(body, "\x00\x01\x00\x01\0\0\0\1\x03", 9);
			assert_int_equal(write(sv[0], body, 9), 9);
			/* dropped: EOF, or a reset when our bytes were unread */
			n = read(sv[0], body, 1);
			assert_true(n == 0 || (n < 0 && errno == ECONNRESET));
			close(sv[0]);
		}
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), round == 0 ? 0 : 1);
		olen = read_all(out[0], obuf, sizeof(obuf));
		elen = read_all(err[0], ebuf, sizeof(ebuf) - 1);
		ebuf[elen] = '\0';
		close(out[0]);
		close(err[0]);
		assert_int_equal(olen, 0);		/* never a byte on stdout */
		if (round == 0)
			assert_int_equal(elen, 0);
		else {
			assert_non_null(strstr(ebuf, "bad frame length"));
			assert_non_null(strchr(ebuf, '\n'));
			assert_ptr_equal(strchr(ebuf, '\n'), ebuf + elen - 1);
		}
	}

	/* bad usage: exit 2, one line on stderr, nothing on stdout */
	{
		char *argv[] = { self_exe, "keeper", "--fd", NULL };

		assert_int_equal(pipe(out), 0);
		assert_int_equal(pipe(err), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			if (dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
				_exit(99);
			close_range(3, ~0U, 0);
			execv(self_exe, argv);
			_exit(98);
		}
		close(out[1]);
		close(err[1]);
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 2);
		assert_int_equal(read_all(out[0], obuf, sizeof(obuf)), 0);
		assert_true(read_all(err[0], ebuf, sizeof(ebuf)) > 0);
		close(out[0]);
		close(err[0]);
	}
}

static void
test_free_reaps(void **state)
{
	pid_t pid = keeper_pid(k);

	assert_true(pid > 0);
	keeper_free(k);
	k = NULL;
	/* reaped: the pid no longer exists (not even as a zombie) */
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(errno, ESRCH);
	keeper_free(NULL);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_token),
		cmocka_unit_test(test_start_bad_pin),
		cmocka_unit_test(test_start),
		cmocka_unit_test(test_generate_all),
		cmocka_unit_test(test_sign_all),
		cmocka_unit_test(test_sign_errors),
		cmocka_unit_test(test_ed25519_log_key),
		cmocka_unit_test(test_destroy),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_invariant_private_key_not_extractable),
		cmocka_unit_test(test_handler_malformed),
		cmocka_unit_test(test_handler_cache_after_destroy),
		cmocka_unit_test(test_destroyed_elsewhere),
		cmocka_unit_test(test_process_black_box),
		cmocka_unit_test(test_keeper_killed),
		cmocka_unit_test(test_keeper_killed_under_load),
		cmocka_unit_test(test_keeper_stalled),
		cmocka_unit_test(test_keeper_killed_idle),
		cmocka_unit_test(test_probe_busy),
		cmocka_unit_test(test_concurrent_many),
		cmocka_unit_test(test_keeper_garbage),
		cmocka_unit_test(test_sign_many),
		cmocka_unit_test(test_sign_many_errors),
		cmocka_unit_test(test_sign_many_pipelined),
		cmocka_unit_test(test_sign_many_stalled),
		cmocka_unit_test(test_free_reaps),
	};

	if (argc > 1 && strcmp(argv[1], "keeper") == 0)
		return is_fake(argc, argv) ? fake_keeper_main(argc, argv) :
		    keeper_process_main(argc, argv);
	alarm(170);	/* a hang is a failure, not a stuck CI run */
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
