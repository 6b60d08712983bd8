/*
 * fuzz_world.h - the world the request fuzzers run in (fuzz harnesses only).
 *
 * A real SQLite database holding what tests/e2e/authz_matrix.sh builds:
 * tenants acme and beta with their built-in CAs, users of every role (tenant
 * admin, project owner, team owner, team member, plain user, a disabled
 * user), revoked and expired API keys, a team, a project with signers, keys
 * (builtin CA, external CA, RSA), service accounts with real keys
 * (fuzz/keys/sa_*.pem) and an access token, a console session. It is built
 * once per process through the real handlers (http_process) over the keeper
 * double (keeper_double.c), then kept as an in-memory snapshot of every
 * table; world_reset() puts back, before every input, the tables the
 * previous input wrote (triggers name them in a fuzz_dirty table), so no
 * input sees what an earlier one did. With FUZZ_WORLD_CHECK set (the ctest
 * replays set it) every table is compared with the snapshot after each
 * restore, and a difference aborts. The files live in a fresh directory
 * under /dev/shm (or /tmp) that is removed at exit.
 *
 * Inputs name the world's objects with placeholders, replaced before the
 * request runs: {cred:ACTOR} (the actor's bearer credential, ACTOR as in
 * authz_matrix.tsv), {team} {project} {key} {key2} {key_rsa} {extkey}
 * {new_key} {sa} {new_sa} {robot} {new_apikey} {new_fed} {ca} {ca2}
 * {plain_id} {victim_id} {extra} {team_name} {project_name} {plain_email}
 * {digest} {cookie} {csrf}. Ids are random per process; placeholders make an
 * input mean the same on every run.
 */
#ifndef SIGNET_FUZZ_WORLD_H
#define SIGNET_FUZZ_WORLD_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "alg.h"

/* The fixed clock (fuzz_clock.c): 2026-05-28T20:26:40Z. Keep equal to
 * FUZZ_NOW in make_seeds.py. */
#define FUZZ_NOW	1780000000

/* The JWT audience of the world's token endpoint. */
#define FUZZ_TOKEN_AUD	"https://127.0.0.1:8443/v1/oauth/token"

struct sn_server;
struct http_input;
struct sn_response;

/* Builds the world on first call (aborts if it cannot), then restores the
 * tables the last input changed. Returns the server every input runs
 * against. */
struct sn_server *world_reset(void);

/* Replaces the placeholders in in[0..len): a malloc'd NUL-terminated copy,
 * length in *outlen. Unknown {names} stay as they are. */
char *world_expand(const char *in, size_t len, size_t *outlen);

/* Runs one request (body may be NULL) through http_process. */
int world_request(struct http_input *in, struct sn_response *resp);

/* A public key of fuzz/keys/NAME.pub or private key NAME.pem (cached). */
EVP_PKEY *world_key(const char *name);

/* keeper_double.c */
EVP_PKEY *keeper_double_key(enum sn_key_alg alg);
void keeper_double_save(void);		/* with the snapshot */
void keeper_double_restore(void);	/* per input */

#endif
