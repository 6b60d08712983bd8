/*
 * store_approvals_grants.h - pre-approval grants and pre-declared digests
 * (docs/POLICIES.md, "Pre-approval").
 *
 * A grant lets one principal (user or service account) sign the next
 * max_signatures digests with one key without approval until expires_at,
 * while the key's policy names the grant's team. "used" grows only with
 * store_grant_consume, a guarded UPDATE run inside the signature's audit
 * transaction, so concurrent signers never take more than max_signatures.
 *
 * Declared digests belong to an approval asked for before signing
 * (POST /v1/keys/{id}/approvals); once it is approved each digest signs
 * at most once (store_declared_use, guarded the same way).
 *
 * Every function filters on tenant_id; writes expect the caller's
 * transaction. 0 or a negative SN_ERR_*.
 */
#ifndef SIGNET_STORE_APPROVALS_GRANTS_H
#define SIGNET_STORE_APPROVALS_GRANTS_H

#include <stdint.h>

#include <jansson.h>

#include "store_resources.h"
#include "util.h"

struct db_conn;

struct store_grant {
	char id[STORE_ID_MAX];
	char key_id[STORE_ID_MAX];
	char team_id[STORE_ID_MAX];
	char principal_type[24];	/* "user" | "service_account" */
	char principal_id[STORE_ID_MAX];
	char principal_name[STORE_EMAIL_MAX];
	int64_t max_signatures;
	int64_t used;
	char created_by[STORE_ID_MAX];
	char created_by_name[STORE_EMAIL_MAX];
	int64_t created_at;
	int64_t expires_at;
	int64_t revoked_at;		/* 0 = not revoked */
	char revoked_by[STORE_ID_MAX];
};
/* "active", "used" (nothing left), "expired", "revoked". */
const char *store_grant_state(const struct store_grant *g, int64_t now);

int store_grant_insert(struct db_conn *c, const char *tenant_id,
    const struct store_grant *g) SN_WUR;
/* SN_ERR_NOT_FOUND (also for a grant of another key). */
int store_grant_get(struct db_conn *c, const char *tenant_id,
    const char *key_id, const char *id, struct store_grant *out) SN_WUR;
/* The grants of a key, newest first (at most limit); all = 0: only those
 * still active at now. */
int store_grant_list(struct db_conn *c, const char *tenant_id,
    const char *key_id, int all, int64_t now, int64_t limit,
    struct store_ids *out) SN_WUR;
/* SN_ERR_CONFLICT if it was revoked already. */
int store_grant_revoke(struct db_conn *c, const char *tenant_id,
    const char *id, const char *by, int64_t now) SN_WUR;
/* The oldest active grant of principal_id for key under team with at
 * least n left at now: its id in id_out; SN_ERR_NOT_FOUND if none. */
int store_grant_find(struct db_conn *c, const char *tenant_id,
    const char *key_id, const char *team_id, const char *principal_id,
    int64_t n, int64_t now, char id_out[STORE_ID_MAX]) SN_WUR;
/* used += n if the grant is still active with n left (and still for
 * principal_id and team_id); SN_ERR_CONFLICT if not. */
int store_grant_consume(struct db_conn *c, const char *tenant_id,
    const char *id, const char *principal_id, const char *team_id,
    int64_t n, int64_t now) SN_WUR;

/* Declared digests (hex) of approval_id. */
int store_declared_insert(struct db_conn *c, const char *approval_id,
    const char *digest_algorithm, const char *digest_hex) SN_WUR;
/*
 * An approved, unexpired declared approval of requester_id for key whose
 * unused digests include every one of digests (a JSON array of hex
 * strings) under digest_algorithm: its id in id_out; SN_ERR_NOT_FOUND.
 */
int store_declared_find(struct db_conn *c, const char *tenant_id,
    const char *key_id, const char *requester_id,
    const char *digest_algorithm, json_t *digests, int64_t now,
    char id_out[STORE_ID_MAX]) SN_WUR;
/* Marks each digest used (each at most once); SN_ERR_CONFLICT if one was
 * used meanwhile (the caller's savepoint undoes the others). */
int store_declared_use(struct db_conn *c, const char *approval_id,
    const char *digest_algorithm, json_t *digests, int64_t now) SN_WUR;
/* [{"digest","used_at"}] of approval_id. */
int store_declared_list(struct db_conn *c, const char *approval_id,
    json_t **out) SN_WUR;

#endif
