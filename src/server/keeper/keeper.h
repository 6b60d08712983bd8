/*
 * keeper.h - the HSM boundary of signetd.
 *
 * The keeper is a separate small process (OpenSSH privilege separation
 * style): it is the only code that loads the PKCS#11 module, reads the token
 * PIN and holds logged-in sessions. signetd talks to it over a socketpair
 * with length-prefixed frames (src/server/keeper/PROTOCOL.md) offering four
 * operations only: GENERATE, GET_PUBLIC_KEY, SIGN, DESTROY. Private keys are
 * generated non-extractable and sensitive and never leave the token; nothing
 * in this API can return one.
 *
 * Keys are named by their CKA_ID: 16 random bytes the keeper chooses at
 * generation time.
 *
 * All keeper_* client calls are thread-safe and may be in flight
 * concurrently. If the keeper process dies, calls in flight fail with
 * SN_ERR_UNAVAILABLE (never hang: each call times out after 30 s) and the
 * next call restarts it. Every function returns 0 on success or a negative
 * SN_ERR_* code: SN_ERR_NOT_FOUND (no such key id), SN_ERR_INVALID (bad
 * mechanism, algorithm, label or digest length), SN_ERR_HSM (token error),
 * SN_ERR_UNAVAILABLE (keeper down or timed out).
 */
#ifndef SIGNET_KEEPER_H
#define SIGNET_KEEPER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "alg.h"
#include "util.h"

#define KEEPER_ID_LEN		16
#define KEEPER_LABEL_MAX	128	/* bytes of CKA_LABEL */
#define KEEPER_DEFAULT_WORKERS	4
#define KEEPER_MAX_WORKERS	64

struct keeper_config {
	const char *module_path;   /* PKCS#11 module (SoftHSM2 by default) */
	const char *token_label;   /* token to use */
	const char *pin_file;      /* read only inside the keeper process */
	const char *softhsm_conf;  /* if non-NULL, SOFTHSM2_CONF for the keeper */
	const char *self_exe;      /* binary to exec with argv[1]="keeper" */
	int workers;               /* parallel PKCS#11 sessions (default 4) */
};

struct keeper;

/*
 * Starts the keeper process (fork + exec of cfg->self_exe) and waits until it
 * has logged in to the token. The configuration strings are copied. Returns
 * 0 and *out, or SN_ERR_INVALID (bad config), SN_ERR_UNAVAILABLE (the keeper
 * did not come up: bad module, token, PIN; the reason is on its stderr).
 * Free with keeper_free().
 */
int keeper_start(const struct keeper_config *cfg, struct keeper **out) SN_WUR;

/*
 * Stops the keeper: closes the channel, waits for the process (SIGTERM, then
 * SIGKILL after a grace period). Pending calls fail with SN_ERR_UNAVAILABLE.
 * Must not race with calls still being made on k. NULL is accepted.
 */
void keeper_free(struct keeper *k);

/*
 * Generates a key pair on the token: private key CKA_TOKEN, CKA_PRIVATE,
 * CKA_SENSITIVE, !CKA_EXTRACTABLE, CKA_SIGN; label becomes CKA_LABEL (at most
 * KEEPER_LABEL_MAX bytes). Writes the new key's CKA_ID to id and its public
 * key as DER SubjectPublicKeyInfo to *spki_der (caller frees).
 */
int keeper_generate(struct keeper *k, enum sn_key_alg alg, const char *label,
    uint8_t id[16], uint8_t **spki_der, size_t *spki_len) SN_WUR;
/*
 * The same with a CKA_ID the caller chose (random, and recorded before the
 * call, so that a key whose creation never completed can be found and
 * destroyed after a crash). SN_ERR_CONFLICT if an object already has id.
 */
int keeper_generate_id(struct keeper *k, enum sn_key_alg alg,
    const char *label, const uint8_t id[16], uint8_t **spki_der,
    size_t *spki_len) SN_WUR;

/* The public key of key id as DER SubjectPublicKeyInfo (caller frees). */
int keeper_get_public_key(struct keeper *k, const uint8_t id[16],
    uint8_t **spki_der, size_t *spki_len) SN_WUR;

/*
 * Signs a digest (dlen must equal the hash's length) with key id:
 *   SN_MECH_RSA_PKCS: the keeper wraps the digest in a DER DigestInfo and uses
 *                     CKM_RSA_PKCS (RSASSA-PKCS1-v1_5);
 *   SN_MECH_RSA_PSS:  CKM_RSA_PKCS_PSS, hashAlg = MGF1 hash = hash,
 *                     sLen = hash length;
 *   SN_MECH_ECDSA:    CKM_ECDSA; the signature is returned DER-encoded
 *                     (SEQUENCE { r, s }).
 * The mechanism must fit the key type (SN_ERR_INVALID otherwise).
 * *sig is malloc'd (caller frees).
 */
int keeper_sign(struct keeper *k, const uint8_t id[16], enum sn_mech mech,
    enum sn_hash hash, const uint8_t *digest, size_t dlen,
    uint8_t **sig, size_t *siglen) SN_WUR;

/*
 * keeper_sign for n digests (1..KEEPER_SIGN_MANY_MAX) with one key, in
 * parallel: every request is written to the channel before the first
 * answer is awaited, so the keeper's workers sign them at once; all of
 * them are answered within one call timeout (the same rules as one call:
 * a keeper that misses it is stuck and restarted). sigs[i]/siglens[i] get
 * each signature (caller frees). Returns 0 when every digest was signed;
 * otherwise the error of the first digest, in index order, that failed
 * (as keeper_sign in a loop would), and no signature is returned: the
 * others are wiped and freed. n == 0 is SN_ERR_INVALID and n over the
 * maximum SN_ERR_TOO_LARGE, before sigs is touched.
 */
#define KEEPER_SIGN_MANY_MAX	1024
int keeper_sign_many(struct keeper *k, const uint8_t id[16], enum sn_mech mech,
    enum sn_hash hash, const uint8_t *const *digests, const size_t *dlens,
    size_t n, uint8_t **sigs, size_t *siglens) SN_WUR;

/*
 * keeper_sign with SN_MECH_EDDSA (and hash SN_HASH_NONE) signs msg itself,
 * 1..KEEPER_MESSAGE_MAX (512) bytes, with pure Ed25519 (CKM_EDDSA): the
 * audit log key (SN_ALG_ED25519) signs checkpoint notes this way and can do
 * nothing else; no other key type accepts SN_MECH_EDDSA.
 */

/* Destroys the private and public key objects with CKA_ID id. */
int keeper_destroy(struct keeper *k, const uint8_t id[16]) SN_WUR;

/*
 * Readiness (GET /readyz): one GET_PUBLIC_KEY round trip for a key id no
 * key has, answered within timeout_ms. 0 when the keeper answered (its
 * "not found" included); SN_ERR_UNAVAILABLE when it is down or did not
 * answer in time (it is not killed for that: it may just be busy), or the
 * token's error. No new operation: the channel still offers four.
 */
int keeper_ping(struct keeper *k, int timeout_ms) SN_WUR;

/* Calls waiting for the keeper's answer now (for /metrics); 0 for NULL. */
size_t keeper_pending(struct keeper *k);

/* The current keeper process id, or -1 if none is running (for tests). */
pid_t keeper_pid(struct keeper *k);

/*
 * Sets the per-call timeout (default 30000 ms; at least 100). A call that
 * times out fails with SN_ERR_UNAVAILABLE and the keeper, considered stuck,
 * is killed and restarted on the next call. For tests and tuning.
 */
void keeper_set_call_timeout(struct keeper *k, int ms);

/*
 * The keeper process entry point: `<self_exe> keeper --fd N --module PATH
 * --token LABEL --pin-file PATH [--softhsm-conf PATH] [--workers N]`.
 * argv[1] must be "keeper". Serves requests on fd until it is closed and
 * returns the process exit status (0 after a clean shutdown). Never writes
 * to stdout; errors are one line on stderr.
 */
int keeper_process_main(int argc, char **argv);

/*
 * Offline, used by `signetd init`: creates hsm_dir (0700) and
 * hsm_dir/tokens (0700), writes hsm_dir/softhsm2.conf pointing at them,
 * initialises a token labelled token_label (at most 32 bytes) with random SO
 * and user PINs, and writes the user PIN to hsm_dir/pin (0600). The module is
 * loaded only in a short-lived child process; the PINs are wiped before
 * return. Returns 0, SN_ERR_CONFLICT (the token or the PIN file exists),
 * SN_ERR_INVALID, SN_ERR_IO or SN_ERR_HSM.
 */
int keeper_init_softhsm_token(const char *hsm_dir, const char *module_path,
    const char *token_label) SN_WUR;

#endif
