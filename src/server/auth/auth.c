/*
 * auth.c - API key and access token authentication (see auth.h).
 *
 * One indistinguishable failure for every reason, constant-time hash
 * comparison, and the same work (a SHA-256 and a CRYPTO_memcmp) whether or
 * not the id exists. Nothing here ever prints a credential.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "audit.h"
#include "auth.h"
#include "authfail.h"
#include "credential.h"
#include "db.h"
#include "encode.h"
#include "err.h"
#include "handler.h"
#include "server.h"
#include "util.h"

/* Copies a text column into a fixed buffer; "" for NULL or too long. */
static void
copy_col(struct db_stmt *st, int col, char *dst, size_t dstlen)
{
	const char *v = db_col_text(st, col);

	if (v == NULL || strlen(v) >= dstlen)
		v = "";
	memcpy(dst, v, strlen(v) + 1);
}

/*
 * The credential row and its principal. Columns: 0 tenant, 1 principal id,
 * 2 secret hash, 3 expires_at, 4 revoked_at, 5 name, 6 role (API keys) or
 * the token's key_version, 7 disabled (API keys) or the account's current
 * key_version, 8 the principal's tenant, 9 last_used_at (API keys; NULL
 * for tokens). Returns db_queryf's result.
 */
static int
cred_query(struct db_conn *c, struct db_stmt **st, enum credential_kind kind,
    const char *id)
{
	if (kind == CREDENTIAL_APIKEY)
		return db_queryf(c, st, "SELECT k.tenant_id, k.user_id, "
		    "k.secret_hash, k.expires_at, k.revoked_at, u.email, "
		    "u.role, u.disabled, u.tenant_id, k.last_used_at "
		    "FROM api_keys k JOIN users u ON u.id = k.user_id "
		    "WHERE k.id = ?", "t", id);
	return db_queryf(c, st, "SELECT t.tenant_id, t.service_account_id, "
	    "t.secret_hash, t.expires_at, NULL, s.name, t.key_version, "
	    "s.key_version, s.tenant_id, NULL FROM access_tokens t "
	    "JOIN service_accounts s ON s.id = t.service_account_id "
	    "WHERE t.id = ?", "t", id);
}

/*
 * Everything about a credential row except its secret: not expired, not
 * revoked, the user not disabled, the account key not rotated since the
 * token was issued, principal in the credential's tenant. 1 if usable.
 */
static int
cred_row_valid(struct db_stmt *st, enum credential_kind kind, int64_t now)
{
	if (!db_col_is_null(st, 3) && db_col_int64(st, 3) <= now)
		return 0;			/* expired */
	if (!db_col_is_null(st, 4))
		return 0;			/* revoked */
	if (db_col_text(st, 8) == NULL || db_col_text(st, 0) == NULL ||
	    strcmp(db_col_text(st, 8), db_col_text(st, 0)) != 0)
		return 0;			/* tenant mismatch: never */
	if (kind == CREDENTIAL_APIKEY)
		return db_col_int64(st, 7) == 0;	/* disabled user */
	return db_col_int64(st, 6) == db_col_int64(st, 7); /* rotated */
}

int
auth_authenticate(struct db_conn *c, const char *authz, int64_t now,
    struct sn_actor *actor, char fail_tenant[64])
{
	static const uint8_t dummy[32];
	struct db_stmt *st = NULL;
	enum credential_kind kind;
	char id[CREDENTIAL_ID_LEN + 1];
	const char *cred;
	uint8_t hash[32], stored[32];
	const void *p;
	size_t plen = 0;
	int64_t last_used = 0;
	int r, found = 0, ok = 1;

	memset(actor, 0, sizeof(*actor));
	fail_tenant[0] = '\0';
	memcpy(stored, dummy, sizeof(stored));
	if (authz == NULL || strncasecmp(authz, "Bearer ", 7) != 0)
		return SN_ERR_UNAUTHENTICATED;
	cred = authz + 7;
	while (*cred == ' ')
		cred++;
	/* A console session secret lives in an HttpOnly cookie, never in a
	 * bearer header: refusing it here keeps CSRF checks unskippable. */
	if (credential_parse(cred, &kind, id) != 0 ||
	    kind == CREDENTIAL_SESSION)
		return SN_ERR_UNAUTHENTICATED;
	if ((r = credential_hash(cred, hash)) != 0)
		return r;

	if ((r = cred_query(c, &st, kind, id)) < 0)
		goto out;
	if (r == DB_ROW) {
		found = 1;
		copy_col(st, 0, fail_tenant, 64);
		p = db_col_blob(st, 2, &plen);
		if (p != NULL && plen == sizeof(stored))
			memcpy(stored, p, sizeof(stored));
		else
			ok = 0;
		if (!cred_row_valid(st, kind, now))
			ok = 0;
		if (kind == CREDENTIAL_APIKEY) {
			actor->type = SN_ACTOR_USER;
			actor->is_admin = db_col_text(st, 6) != NULL &&
			    strcmp(db_col_text(st, 6), "admin") == 0;
		} else
			actor->type = SN_ACTOR_SERVICE_ACCOUNT;
		copy_col(st, 1, actor->id, sizeof(actor->id));
		copy_col(st, 0, actor->tenant_id, sizeof(actor->tenant_id));
		copy_col(st, 5, actor->name, sizeof(actor->name));
		if (!db_col_is_null(st, 9))
			last_used = db_col_int64(st, 9);
		snprintf(actor->credential_id, sizeof(actor->credential_id),
		    "%s", id);
	}
	db_finalize(st);
	st = NULL;
	/* Same comparison whether or not the id was found. */
	if (CRYPTO_memcmp(hash, stored, sizeof(hash)) != 0)
		ok = 0;
	if (!found || !ok || actor->id[0] == '\0' ||
	    actor->tenant_id[0] == '\0') {
		r = SN_ERR_UNAUTHENTICATED;
		goto out;
	}
	/*
	 * At most once a minute per key, and decided from the row just read:
	 * even an UPDATE that matches nothing takes SQLite's one write lock,
	 * and would queue every request behind the signing commits.
	 */
	if (kind == CREDENTIAL_APIKEY && last_used < now - 60 &&
	    (r = db_execf(c, "UPDATE api_keys SET last_used_at = ? WHERE "
	    "id = ? AND (last_used_at IS NULL OR last_used_at < ?)", "iti",
	    now, id, now - 60)) != 0) {
		/* A busy database must not lock users out; the read worked. */
		fprintf(stderr, "signetd: cannot update last_used_at of %s\n",
		    id);
	}
	r = 0;
 out:
	db_finalize(st);
	explicit_bzero(hash, sizeof(hash));
	explicit_bzero(stored, sizeof(stored));
	if (r != 0) {
		memset(actor, 0, sizeof(*actor));
		if (!found)
			fail_tenant[0] = '\0';
	}
	return r;
}

int
auth_recheck(struct db_conn *c, const struct sn_actor *actor, int64_t now)
{
	struct db_stmt *st = NULL;
	enum credential_kind kind;
	const char *v;
	int r, found;

	if (strncmp(actor->credential_id, "ses_", 4) == 0 &&
	    actor->type == SN_ACTOR_USER) {
		/* a web console session: itself, its user and its API key */
		r = db_queryf(c, &st, "SELECT s.user_id, s.tenant_id FROM "
		    "console_sessions s JOIN users u ON u.id = s.user_id JOIN "
		    "api_keys k ON k.id = s.api_key_id AND k.user_id = s.user_id "
		    "WHERE s.id = ? AND s.ended_at IS NULL AND s.expires_at > ? "
		    "AND u.disabled = 0 AND u.tenant_id = s.tenant_id AND "
		    "k.tenant_id = s.tenant_id AND k.revoked_at IS NULL AND "
		    "(k.expires_at IS NULL OR k.expires_at > ?)", "tii",
		    actor->credential_id, now, now);
		if (r < 0)
			goto out;
		found = r == DB_ROW;
		r = SN_ERR_UNAUTHENTICATED;
		if (found && (v = db_col_text(st, 0)) != NULL &&
		    strcmp(v, actor->id) == 0 &&
		    (v = db_col_text(st, 1)) != NULL &&
		    strcmp(v, actor->tenant_id) == 0)
			r = 0;
		goto out;
	}
	if (strncmp(actor->credential_id, "key_", 4) == 0 &&
	    actor->type == SN_ACTOR_USER)
		kind = CREDENTIAL_APIKEY;
	else if (strncmp(actor->credential_id, "tok_", 4) == 0 &&
	    actor->type == SN_ACTOR_SERVICE_ACCOUNT)
		kind = CREDENTIAL_TOKEN;
	else
		return SN_ERR_UNAUTHENTICATED;
	if ((r = cred_query(c, &st, kind, actor->credential_id)) < 0)
		goto out;
	found = r == DB_ROW;
	r = SN_ERR_UNAUTHENTICATED;
	if (found && cred_row_valid(st, kind, now) &&
	    (v = db_col_text(st, 1)) != NULL && strcmp(v, actor->id) == 0 &&
	    (v = db_col_text(st, 0)) != NULL &&
	    strcmp(v, actor->tenant_id) == 0)
		r = 0;
 out:
	db_finalize(st);
	return r;
}

int
auth_request(struct sn_request *req, const char *authz)
{
	struct db_conn *c = NULL;
	enum credential_kind kind;
	char tenant[64] = "", id[CREDENTIAL_ID_LEN + 1] = "";
	const char *cred;
	int r;

	if ((r = db_acquire(req->srv->db, &c)) != 0)
		return SN_ERR_UNAVAILABLE;
	r = auth_authenticate(c, authz, sn_now(), &req->actor, tenant);
	db_release(c);
	if (r == 0 || r != SN_ERR_UNAUTHENTICATED)
		return r;
	__atomic_fetch_add(&req->srv->n_auth_failures, 1, __ATOMIC_RELAXED);
	/*
	 * Counted in memory and written as one aggregated event per source
	 * address and interval (authfail.c): a bad credential costs no
	 * transaction and no fsync. The id (never the secret) says which
	 * credential was tried; it is "" for a malformed one.
	 */
	if (authz != NULL && strncasecmp(authz, "Bearer ", 7) == 0) {
		for (cred = authz + 7; *cred == ' '; cred++)
			;
		if (credential_parse(cred, &kind, id) != 0)
			id[0] = '\0';
	}
	authfail_record(req->srv->auth_failures, tenant, req->source_ip, id,
	    sn_now());
	return SN_ERR_UNAUTHENTICATED;
}
