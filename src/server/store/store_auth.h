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

#include <stdint.h>

#include "util.h"

struct db_conn;

/*
 * "Is the principal an authorized signer of the project?", as a condition
 * on project_signers s whose project id is the SQL expression before it
 * (`s.project_id = <expr> AND ` STORE_SIGNER_*). The user form binds the
 * user id twice and the tenant id; the service account form binds its id.
 */
#define STORE_SIGNER_USER \
	"((s.principal_type = 'user' AND s.principal_id = ?) OR " \
	"(s.principal_type = 'team' AND s.principal_id IN (" \
	"SELECT m.team_id FROM team_members m JOIN teams t " \
	"ON t.id = m.team_id WHERE m.user_id = ? AND t.tenant_id = ?)))"
#define STORE_SIGNER_SA \
	"(s.principal_type = 'service_account' AND s.principal_id = ?)"

enum store_cred {
	STORE_CRED_APIKEY,	/* key_...: a user */
	STORE_CRED_TOKEN,	/* tok_...: a service account */
	STORE_CRED_SESSION,	/* ses_...: a user's web console session */
};

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
