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
#include "store_auth.h"
#include "util.h"

/* The store's kind of a credential (store_auth.h). */
static enum store_cred
store_kind(enum credential_kind kind)
{
	return kind == CREDENTIAL_APIKEY ? STORE_CRED_APIKEY : STORE_CRED_TOKEN;
}

int
auth_authenticate(struct db_conn *c, const char *authz, int64_t now,
    struct sn_actor *actor, char fail_tenant[64])
{
	static const uint8_t dummy[32];
	struct store_cred_row row;
	enum credential_kind kind;
	char id[CREDENTIAL_ID_LEN + 1];
	const char *cred;
	uint8_t hash[32], stored[32];
	int r, found = 0, ok = 1;

	memset(actor, 0, sizeof(*actor));
	memset(&row, 0, sizeof(row));
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

	r = store_cred_get(c, store_kind(kind), id, now, &row);
	if (r != 0 && r != SN_ERR_NOT_FOUND)
		goto out;
	if (r == 0) {
		found = 1;
		memcpy(fail_tenant, row.tenant_id, sizeof(row.tenant_id));
		if (row.hash_ok)
			memcpy(stored, row.secret_hash, sizeof(stored));
		else
			ok = 0;
		if (!row.valid)
			ok = 0;
		if (kind == CREDENTIAL_APIKEY) {
			actor->type = SN_ACTOR_USER;
			actor->is_admin = row.is_admin;
		} else
			actor->type = SN_ACTOR_SERVICE_ACCOUNT;
		memcpy(actor->id, row.principal_id, sizeof(actor->id));
		memcpy(actor->tenant_id, row.tenant_id,
		    sizeof(actor->tenant_id));
		memcpy(actor->name, row.name, sizeof(actor->name));
		snprintf(actor->credential_id, sizeof(actor->credential_id),
		    "%s", id);
	}
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
	if (kind == CREDENTIAL_APIKEY && row.last_used_at < now - 60 &&
	    store_apikey_touch(c, id, now) != 0) {
		/* A busy database must not lock users out; the read worked. */
		fprintf(stderr, "signetd: cannot update last_used_at of %s\n",
		    id);
	}
	r = 0;
 out:
	explicit_bzero(hash, sizeof(hash));
	explicit_bzero(stored, sizeof(stored));
	explicit_bzero(&row, sizeof(row));
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
	struct store_cred_row row;
	enum credential_kind kind;
	int r;

	if (strncmp(actor->credential_id, "ses_", 4) == 0 &&
	    actor->type == SN_ACTOR_USER) {
		/* a web console session: itself, its user and its API key */
		r = store_session_holds(c, actor->credential_id, actor->id,
		    actor->tenant_id, now);
		if (r < 0)
			return r;
		return r == 1 ? 0 : SN_ERR_UNAUTHENTICATED;
	}
	if (strncmp(actor->credential_id, "key_", 4) == 0 &&
	    actor->type == SN_ACTOR_USER)
		kind = CREDENTIAL_APIKEY;
	else if (strncmp(actor->credential_id, "tok_", 4) == 0 &&
	    actor->type == SN_ACTOR_SERVICE_ACCOUNT)
		kind = CREDENTIAL_TOKEN;
	else
		return SN_ERR_UNAUTHENTICATED;
	r = store_cred_get(c, store_kind(kind), actor->credential_id, now, &row);
	if (r == 0)
		r = row.valid && strcmp(row.principal_id, actor->id) == 0 &&
		    strcmp(row.tenant_id, actor->tenant_id) == 0 ? 0 :
		    SN_ERR_UNAUTHENTICATED;
	else if (r == SN_ERR_NOT_FOUND)
		r = SN_ERR_UNAUTHENTICATED;
	explicit_bzero(&row, sizeof(row));
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
