/*
 * store_auth.h - the queries behind authentication and the signing
 * re-check (auth/, audit/sign_commit.c). The rules themselves stay in
 * auth/ (auth.h, authz.h); this file only holds their SQL, so that one
 * text of "who is an authorized signer" serves both authz_check and the
 * one-statement re-check of a signature.
 *
 * Return convention: 0 or a negative SN_ERR_*; outputs cleared on entry.
 */
#ifndef SIGNET_STORE_AUTH_H
#define SIGNET_STORE_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct db_conn;

/*
 * "Is the user this row's principal, itself or through a team of the
 * tenant it is a member of?", as a condition on a row a of project_owners
 * or project_signers (the string literal a is the table's alias). Binds the
 * user id twice and the tenant id.
 */
#define STORE_PRINCIPAL_USER(a) \
	"((" a ".principal_type = 'user' AND " a ".principal_id = ?) OR " \
	"(" a ".principal_type = 'team' AND " a ".principal_id IN (" \
	"SELECT m.team_id FROM team_members m JOIN teams t " \
	"ON t.id = m.team_id WHERE m.user_id = ? AND t.tenant_id = ?)))"

/*
 * "Is the principal an authorized signer of the project?", as a condition
 * on project_signers s whose project id is the SQL expression before it
 * (`s.project_id = <expr> AND ` STORE_SIGNER_*). The user form binds the
 * user id twice and the tenant id; the service account form binds its id.
 * The one text of the rule: authz_check (store_project_signer), the
 * signing re-check (store_sign_check) and the lists (store_page.c).
 */
#define STORE_SIGNER_USER	STORE_PRINCIPAL_USER("s")
#define STORE_SIGNER_SA \
	"(s.principal_type = 'service_account' AND s.principal_id = ?)"

/* ---- the relations authz_check reads (auth/authz.c) ---- */

/* Each: 1 if the row exists, 0 if not, or SN_ERR_DB. */
/* user is a member (owner_only: an owner) of team, a team of tenant. */
int store_team_member(struct db_conn *c, const char *tenant_id,
    const char *team_id, const char *user_id, int owner_only) SN_WUR;
/* user is an owner of project, directly or through a team of tenant. */
int store_project_owner(struct db_conn *c, const char *tenant_id,
    const char *project_id, const char *user_id) SN_WUR;
/* the user (or, if is_sa, the service account) principal_id is an
 * authorized signer of project (STORE_SIGNER_*). */
int store_project_signer(struct db_conn *c, const char *tenant_id,
    const char *project_id, const char *principal_id, int is_sa) SN_WUR;

/* The objects authz_check finds inside a tenant first. */
enum store_object {
	STORE_OBJ_USER,			/* parent: none */
	STORE_OBJ_TEAM,			/* parent: none */
	STORE_OBJ_SERVICE_ACCOUNT,	/* parent: its team */
	STORE_OBJ_PROJECT,		/* parent: none */
	STORE_OBJ_KEY,			/* parent: its project */
};
/* Finds object id of tenant: 0 (with its parent id copied to parent, if
 * not NULL), SN_ERR_NOT_FOUND, or SN_ERR_DB. */
int store_object_parent(struct db_conn *c, enum store_object type,
    const char *id, const char *tenant_id, char *parent, size_t parentlen)
    SN_WUR;

enum store_cred {
	STORE_CRED_APIKEY,	/* key_...: a user */
	STORE_CRED_TOKEN,	/* tok_...: a service account */
	STORE_CRED_SESSION,	/* ses_...: a user's web console session */
};

/*
 * A credential's row and its principal, for authentication (auth.c). The
 * stored hash is compared by the caller in constant time; "valid" is every
 * rule except the secret (not expired or revoked, principal in the
 * credential's tenant, user not disabled / account key not rotated).
 */
struct store_cred_row {
	char tenant_id[64];		/* "" if NULL or too long */
	char principal_id[64];		/* user or service account id */
	char name[256];			/* email or account name */
	uint8_t secret_hash[32];
	int hash_ok;			/* secret_hash is a stored 32-byte hash */
	int valid;
	int is_admin;			/* API keys: the user's role is admin */
	int64_t last_used_at;		/* API keys; 0 = never */
};

/* The row of API key or access token id (kind STORE_CRED_APIKEY or
 * STORE_CRED_TOKEN) at time now: 0, SN_ERR_NOT_FOUND, SN_ERR_DB. */
int store_cred_get(struct db_conn *c, enum store_cred kind, const char *id,
    int64_t now, struct store_cred_row *out) SN_WUR;

/* Sets last_used_at of API key id to now if it is older than a minute. */
int store_apikey_touch(struct db_conn *c, const char *id, int64_t now) SN_WUR;

/* 1 if console session id of user_id in tenant_id holds at now (not ended
 * or expired, its user not disabled, its API key valid), 0 if not, or
 * SN_ERR_DB. */
int store_session_holds(struct db_conn *c, const char *id,
    const char *user_id, const char *tenant_id, int64_t now) SN_WUR;

/* ---- web console sessions (auth/session.c) ---- */

struct store_session_row {
	char tenant_id[64];		/* "" if NULL or too long */
	char user_id[64];
	char email[256];
	uint8_t secret_hash[32];
	int hash_ok;
	int is_admin;
	int64_t expires_at;
	int64_t last_seen_at;
	/* every rule but the secret, the lifetime and idleness: not signed
	 * out, user enabled, API key not revoked or expired (at now), one
	 * tenant for the session, its user and its API key */
	int valid;
};

/* Drops sessions that ended a day ago and stores a new one (hash only). */
int store_session_insert(struct db_conn *c, const char *id,
    const char *tenant_id, const char *user_id, const char *api_key_id,
    const uint8_t hash[32], int64_t now, int64_t expires_at) SN_WUR;
/* The row of session id at now: 0, SN_ERR_NOT_FOUND or SN_ERR_DB. */
int store_session_get(struct db_conn *c, const char *id, int64_t now,
    struct store_session_row *out) SN_WUR;
/* last_seen_at = now (if older). */
int store_session_touch(struct db_conn *c, const char *id, int64_t now) SN_WUR;
/* ended_at = now for an open session of the tenant: 0 or SN_ERR_NOT_FOUND. */
int store_session_end(struct db_conn *c, const char *tenant_id,
    const char *id, int64_t now) SN_WUR;

/*
 * One row that decides a signature again, read with ONE statement inside
 * the signing transaction: the credential, the key and the signer link.
 */
struct store_sign_check {
	int cred_ok;		/* the credential still holds for the principal */
	int key_found;		/* the key exists in the tenant */
	int signer;		/* the principal signs for the key's project */
	char state[16];		/* stored state: active, disabled, revoked */
	int64_t not_before;
	int64_t not_after;
	int64_t version;
	char hsm_key_id[40];
};

/*
 * Fills *out for credential cred_id of kind, held by principal_id in
 * tenant_id, at time now, and key key_id of that tenant. The credential
 * holds when it is not revoked or expired and its principal is in its
 * tenant and: API key: the user not disabled; token: the account not
 * deleted and its key not rotated since the token was issued; session:
 * not ended or expired, its user not disabled, its API key valid.
 * 0 or SN_ERR_DB (a missing row is not an error: see the flags).
 */
int store_sign_check(struct db_conn *c, enum store_cred kind,
    const char *cred_id, const char *principal_id, const char *tenant_id,
    const char *key_id, int64_t now, struct store_sign_check *out) SN_WUR;

/* The state a key shows at time now (render.c, the re-check): "revoked",
 * "expired" outside [not_before, not_after], else the stored state. */
const char *store_key_state_at(const char *state, int64_t not_before,
    int64_t not_after, int64_t now);

#endif
