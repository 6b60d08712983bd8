/*
 * keeper_double.c - a stand-in for the keeper, FOR THE FUZZ HARNESSES ONLY.
 *
 * TEST DOUBLE. It is compiled only into fuzz_* binaries (fuzz/http.cmake) and
 * never linked into signetd: it keeps private keys in process memory, which
 * is exactly what the real keeper (src/server/keeper/) exists to prevent.
 * Linked as an object before the libraries, its keeper_* definitions win,
 * so keeper/client.c is never pulled from libsignet_keeper.a; a new
 * keeper_* function that signetd starts to call and this file lacks pulls
 * client.c back in and the link fails on duplicate symbols, loudly.
 *
 * It answers deterministically: every key of one algorithm is the same
 * fixed test key (fuzz/keys/keeper_*.pem). keeper_generate writes the
 * algorithm into the CKA_ID it makes (byte 0, byte 1 = 0xf0, bytes 8..15 a
 * counter); keeper_generate_id, whose caller picks a random CKA_ID, records
 * (id, algorithm) in a table. fuzz_world saves the counter and the table's
 * length with the snapshot and restores them per input, so the keys an
 * input made vanish with its database rows. Ids it did not make answer
 * SN_ERR_NOT_FOUND, as the token would. (ECDSA signatures still carry
 * OpenSSL's random nonce; which paths run never depends on it.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "alg.h"
#include "err.h"
#include "fuzz_world.h"
#include "keeper.h"

struct keeper {
	int unused;
};

static struct keeper the_keeper;
static EVP_PKEY *pool[SN_ALG_ED25519 + 1];
static uint64_t counter, saved_counter;

#define TABLE_MAX	4096
struct entry {
	uint8_t id[KEEPER_ID_LEN];
	enum sn_key_alg alg;
};
static struct entry table[TABLE_MAX], saved_table[TABLE_MAX];
static size_t ntable, saved_ntable;

static const char *const pool_file[SN_ALG_ED25519 + 1] = {
	[SN_ALG_RSA_2048] = "keeper_rsa2048.pem",
	[SN_ALG_RSA_3072] = "keeper_rsa3072.pem",
	[SN_ALG_RSA_4096] = "keeper_rsa4096.pem",
	[SN_ALG_ECDSA_P256] = "keeper_p256.pem",
	[SN_ALG_ECDSA_P384] = "keeper_p384.pem",
	[SN_ALG_ED25519] = "keeper_ed25519.pem",
};

EVP_PKEY *
keeper_double_key(enum sn_key_alg alg)
{
	char path[1024];
	FILE *f;

	if ((int)alg <= 0 || (size_t)alg >= sizeof(pool) / sizeof(pool[0]) ||
	    pool_file[alg] == NULL)
		return NULL;
	if (pool[alg] == NULL) {
		snprintf(path, sizeof(path), "%s/%s", FUZZ_KEYS_DIR,
		    pool_file[alg]);
		if ((f = fopen(path, "r")) == NULL ||
		    (pool[alg] = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL) {
			fprintf(stderr, "keeper double: cannot read %s\n", path);
			abort();
		}
		fclose(f);
	}
	return pool[alg];
}

void
keeper_double_save(void)
{
	saved_counter = counter;
	saved_ntable = ntable;
	memcpy(saved_table, table, ntable * sizeof(table[0]));
}

void
keeper_double_restore(void)
{
	counter = saved_counter;
	ntable = saved_ntable;
	memcpy(table, saved_table, ntable * sizeof(table[0]));
}

/*
 * An id keeper_generate made: algorithm, 0xf0, six zero bytes, then a
 * counter value it has handed out. All of that, not just the first two
 * bytes: the CKA_IDs keygen.c draws at random start with a valid algorithm
 * and 0xf0 about once in 10,000 keys, and the double then answered
 * "conflict" (an HSM failure to the caller) on a fresh id.
 */
static int
made_here(const uint8_t id[16])
{
	uint64_t n = 0;

	if (id[1] != 0xf0 || id[0] == 0 || id[0] > SN_ALG_ED25519 ||
	    pool_file[id[0]] == NULL)
		return 0;
	for (int i = 2; i < 8; i++)
		if (id[i] != 0)
			return 0;
	for (int i = 8; i < 16; i++)
		n = n << 8 | id[i];
	return n != 0 && n <= counter;
}

static EVP_PKEY *
key_of(const uint8_t id[16], enum sn_key_alg *alg)
{
	for (size_t i = 0; i < ntable; i++)
		if (memcmp(table[i].id, id, KEEPER_ID_LEN) == 0) {
			*alg = table[i].alg;
			return keeper_double_key(*alg);
		}
	if (!made_here(id))
		return NULL;
	*alg = (enum sn_key_alg)id[0];
	return keeper_double_key(*alg);
}

static int
spki(EVP_PKEY *k, uint8_t **der, size_t *len)
{
	unsigned char *p = NULL;
	int n;

	if ((n = i2d_PUBKEY(k, &p)) <= 0)
		return SN_ERR_CRYPTO;
	*der = p;
	*len = (size_t)n;
	return 0;
}

int
keeper_start(const struct keeper_config *cfg, struct keeper **out)
{
	*out = &the_keeper;
	return 0;
}

void
keeper_free(struct keeper *k)
{
}

pid_t
keeper_pid(struct keeper *k)
{
	return -1;
}

void
keeper_set_call_timeout(struct keeper *k, int ms)
{
}

int
keeper_generate(struct keeper *k, enum sn_key_alg alg, const char *label,
    uint8_t id[16], uint8_t **spki_der, size_t *spki_len)
{
	EVP_PKEY *key;

	*spki_der = NULL;
	if (k == NULL)
		return SN_ERR_UNAVAILABLE;
	if (label == NULL || strlen(label) > KEEPER_LABEL_MAX ||
	    (key = keeper_double_key(alg)) == NULL)
		return SN_ERR_INVALID;
	memset(id, 0, KEEPER_ID_LEN);
	id[0] = (uint8_t)alg;
	id[1] = 0xf0;
	counter++;
	for (int i = 0; i < 8; i++)
		id[15 - i] = (uint8_t)(counter >> (8 * i));
	return spki(key, spki_der, spki_len);
}

int
keeper_generate_id(struct keeper *k, enum sn_key_alg alg, const char *label,
    const uint8_t id[16], uint8_t **spki_der, size_t *spki_len)
{
	enum sn_key_alg have;
	EVP_PKEY *key;

	*spki_der = NULL;
	if (k == NULL)
		return SN_ERR_UNAVAILABLE;
	if (label == NULL || strlen(label) > KEEPER_LABEL_MAX ||
	    (key = keeper_double_key(alg)) == NULL)
		return SN_ERR_INVALID;
	if (key_of(id, &have) != NULL)
		return SN_ERR_CONFLICT;
	if (ntable == TABLE_MAX)
		return SN_ERR_HSM;	/* the token is full */
	memcpy(table[ntable].id, id, KEEPER_ID_LEN);
	table[ntable].alg = alg;
	ntable++;
	return spki(key, spki_der, spki_len);
}

int
keeper_get_public_key(struct keeper *k, const uint8_t id[16],
    uint8_t **spki_der, size_t *spki_len)
{
	enum sn_key_alg alg;
	EVP_PKEY *key;

	*spki_der = NULL;
	if (k == NULL)
		return SN_ERR_UNAVAILABLE;
	if ((key = key_of(id, &alg)) == NULL)
		return SN_ERR_NOT_FOUND;
	return spki(key, spki_der, spki_len);
}

int
keeper_sign(struct keeper *k, const uint8_t id[16], enum sn_mech mech,
    enum sn_hash hash, const uint8_t *digest, size_t dlen,
    uint8_t **sig, size_t *siglen)
{
	enum sn_key_alg alg;
	EVP_PKEY *key;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_MD_CTX *mctx = NULL;
	size_t n = 0;
	int r = SN_ERR_HSM;

	*sig = NULL;
	if (k == NULL)
		return SN_ERR_UNAVAILABLE;
	if ((key = key_of(id, &alg)) == NULL)
		return SN_ERR_NOT_FOUND;
	if (!sn_key_alg_allows_mech(alg, mech))
		return SN_ERR_INVALID;
	if (mech == SN_MECH_EDDSA) {
		if (hash != SN_HASH_NONE || dlen == 0 || dlen > 512)
			return SN_ERR_INVALID;
		if ((mctx = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestSignInit(mctx, NULL, NULL, NULL, key) != 1 ||
		    EVP_DigestSign(mctx, NULL, &n, digest, dlen) != 1 ||
		    (*sig = malloc(n)) == NULL ||
		    EVP_DigestSign(mctx, *sig, &n, digest, dlen) != 1)
			goto out;
		*siglen = n;
		r = 0;
		goto out;
	}
	if (sn_hash_len(hash) == 0 || dlen != sn_hash_len(hash))
		return SN_ERR_INVALID;
	if ((ctx = EVP_PKEY_CTX_new(key, NULL)) == NULL ||
	    EVP_PKEY_sign_init(ctx) != 1)
		goto out;
	if (mech == SN_MECH_RSA_PKCS &&
	    (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(ctx, sn_hash_md(hash)) != 1))
		goto out;
	if (mech == SN_MECH_RSA_PSS &&
	    (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(ctx, sn_hash_md(hash)) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, sn_hash_md(hash)) != 1 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) != 1))
		goto out;
	if (EVP_PKEY_sign(ctx, NULL, &n, digest, dlen) != 1 ||
	    (*sig = malloc(n)) == NULL ||
	    EVP_PKEY_sign(ctx, *sig, &n, digest, dlen) != 1)
		goto out;
	*siglen = n;
	r = 0;
 out:
	if (r != 0) {
		free(*sig);
		*sig = NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	EVP_MD_CTX_free(mctx);
	return r;
}

/* keeper_sign for each digest in turn: the same answers, all or none. */
int
keeper_sign_many(struct keeper *k, const uint8_t id[16], enum sn_mech mech,
    enum sn_hash hash, const uint8_t *const *digests, const size_t *dlens,
    size_t n, uint8_t **sigs, size_t *siglens)
{
	size_t i;
	int r = 0;

	if (n == 0 || n > KEEPER_SIGN_MANY_MAX)
		return n == 0 ? SN_ERR_INVALID : SN_ERR_TOO_LARGE;
	for (i = 0; i < n; i++) {
		sigs[i] = NULL;
		siglens[i] = 0;
	}
	for (i = 0; i < n && r == 0; i++)
		r = keeper_sign(k, id, mech, hash, digests[i], dlens[i],
		    &sigs[i], &siglens[i]);
	if (r != 0) {
		for (i = 0; i < n; i++) {
			free(sigs[i]);
			sigs[i] = NULL;
			siglens[i] = 0;
		}
	}
	return r;
}

int
keeper_destroy(struct keeper *k, const uint8_t id[16])
{
	enum sn_key_alg alg;

	if (k == NULL)
		return SN_ERR_UNAVAILABLE;
	for (size_t i = 0; i < ntable; i++)
		if (memcmp(table[i].id, id, KEEPER_ID_LEN) == 0) {
			table[i] = table[--ntable];
			return 0;
		}
	return key_of(id, &alg) != NULL ? 0 : SN_ERR_NOT_FOUND;
}

/* GET /readyz and /metrics: the double always answers, never queues. */
int
keeper_ping(struct keeper *k, int timeout_ms)
{
	(void)timeout_ms;
	return k != NULL ? 0 : SN_ERR_UNAVAILABLE;
}

size_t
keeper_pending(struct keeper *k)
{
	(void)k;
	return 0;
}
