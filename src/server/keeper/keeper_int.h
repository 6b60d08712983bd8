/*
 * keeper_int.h - internals shared by the keeper's client side, its process
 * side and the unit tests. Not for use outside src/server/keeper and its
 * tests: everything else goes through keeper.h.
 */
#ifndef SIGNET_KEEPER_INT_H
#define SIGNET_KEEPER_INT_H

#include <stddef.h>
#include <stdint.h>

#include "keeper.h"
#include "util.h"

/* Wire protocol constants; PROTOCOL.md is the prose version. */
#define KEEPER_FRAME_MAX	65536	/* bytes after the length prefix */
#define KEEPER_HDR_LEN		4	/* u32 length prefix */
#define KEEPER_DIGEST_MAX	64
#define KEEPER_MESSAGE_MAX	512	/* EdDSA: a checkpoint note body */
#define KEEPER_SPKI_MAX		2048
#define KEEPER_SIG_MAX		1024
#define KEEPER_HELLO_ID		0	/* request id of the keeper's ready frame */

enum keeper_op {
	KEEPER_OP_GENERATE = 1,
	KEEPER_OP_GET_PUBLIC_KEY = 2,
	KEEPER_OP_SIGN = 3,
	KEEPER_OP_DESTROY = 4,
};

/*
 * The process side: a loaded module, a logged-in token and one PKCS#11
 * session per worker.
 */
struct keeper_hsm;
struct keeper_worker;

/*
 * Loads module_path, C_Initialize (CKF_OS_LOCKING_OK), finds the token by
 * label, opens nworkers sessions and logs in as CKU_USER with pin. The caller
 * wipes pin. Returns 0 or SN_ERR_INVALID / SN_ERR_NOT_FOUND (no such token) /
 * SN_ERR_HSM; *why gets a static reason on failure.
 */
int keeper_hsm_open(const char *module_path, const char *token_label,
    const char *pin, size_t pinlen, int nworkers, struct keeper_hsm **out,
    const char **why) SN_WUR;
/* Logs out, closes sessions, C_Finalize, unloads. NULL ok. */
void keeper_hsm_close(struct keeper_hsm *h);
/* Worker i (0 <= i < nworkers): its session is used by one thread at a time. */
struct keeper_worker *keeper_hsm_worker(struct keeper_hsm *h, int i);
/* Set once a worker saw an error that leaves its session unusable. */
int keeper_hsm_broken(struct keeper_hsm *h);

/*
 * The request handler, callable without a socket (tests and fuzzing feed it
 * bytes directly). in is one whole request frame including its u32 length
 * prefix. On 0, *out is one whole response frame (caller frees); the request
 * itself may still have failed, with the error in the response's status.
 * Returns SN_ERR_PROTOCOL, with no response, when the frame header is
 * unusable (short, wrong or oversized length): the caller must drop the
 * connection.
 */
int keeper_handle(struct keeper_worker *w, const uint8_t *in, size_t inlen,
    uint8_t **out, size_t *outlen) SN_WUR;

/* Encodes a request frame (client side; exposed for tests). */
int keeper_encode_request(uint32_t id, uint8_t op, const uint8_t *body,
    size_t bodylen, uint8_t **out, size_t *outlen) SN_WUR;

#endif
