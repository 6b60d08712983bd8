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

#include "api.h"
#include "audit.h"
#include "auth.h"
#include "db.h"
#include "encode.h"
#include "err.h"
#include "server.h"
#include "util.h"

#define AUTH_HEX_LEN	16
#define AUTH_B64_LEN	43

int
auth_hash_secret(const char *s, uint8_t hash[32])
{
	unsigned int len = 0;

	if (EVP_Digest(s, strlen(s), hash, &len, EVP_sha256(), NULL) != 1 ||
	    len != 32)
		return SN_ERR_CRYPTO;
	return 0;
}

int
auth_new_credential(enum auth_kind kind, char **secret,
    char id[AUTH_ID_LEN + 1], uint8_t hash[32])
{
	uint8_t idb[AUTH_HEX_LEN / 2], key[32];
	char *hex = NULL, *b64 = NULL, *s = NULL;
	int r;

	*secret = NULL;
	id[0] = '\0';
	if (kind != AUTH_KIND_APIKEY && kind != AUTH_KIND_TOKEN)
		return SN_ERR_INVALID;
	if ((r = sn_random_bytes(idb, sizeof(idb))) != 0 ||
	    (r = sn_random_bytes(key, sizeof(key))) != 0 ||
	    (r = sn_hex_encode(idb, sizeof(idb), &hex)) != 0 ||
	    (r = sn_b64url_encode(key, sizeof(key), &b64)) != 0)
		goto out;
	if (strlen(hex) != AUTH_HEX_LEN || strlen(b64) != AUTH_B64_LEN) {
		r = SN_ERR_INTERNAL;
		goto out;
	}
	if ((s = malloc(AUTH_SECRET_LEN + 1)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	snprintf(s, AUTH_SECRET_LEN + 1, "%s_%s_%s",
	    kind == AUTH_KIND_APIKEY ? "snk" : "sna", hex, b64);
	snprintf(id, AUTH_ID_LEN + 1, "%s_%s",
	    kind == AUTH_KIND_APIKEY ? "key" : "tok", hex);
	if ((r = auth_hash_secret(s, hash)) != 0)
		goto out;
	*secret = s;
	s = NULL;
	r = 0;
 out:
	explicit_bzero(key, sizeof(key));
	if (r != 0)
		id[0] = '\0';
	sn_strfreezero(b64);
	sn_strfreezero(s);
	free(hex);
	return r;
}

static int
is_lhex(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
}

static int
is_b64url(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
}

int
auth_parse_credential(const char *s, enum auth_kind *kind,
    char id[AUTH_ID_LEN + 1])
{
	size_t i;

	id[0] = '\0';
	if (s == NULL || strnlen(s, AUTH_SECRET_LEN + 1) != AUTH_SECRET_LEN)
		return SN_ERR_UNAUTHENTICATED;
	if (strncmp(s, "snk_", 4) == 0)
		*kind = AUTH_KIND_APIKEY;
	else if (strncmp(s, "sna_", 4) == 0)
		*kind = AUTH_KIND_TOKEN;
	else
		return SN_ERR_UNAUTHENTICATED;
	for (i = 4; i < 4 + AUTH_HEX_LEN; i++)
		if (!is_lhex(s[i]))
			return SN_ERR_UNAUTHENTICATED;
	if (s[i++] != '_')
		return SN_ERR_UNAUTHENTICATED;
	for (; i < AUTH_SECRET_LEN; i++)
		if (!is_b64url(s[i]))
			return SN_ERR_UNAUTHENTICATED;
	/* 43 chars encode 256 bits + 2 spare bits, which must be zero
	 * so that exactly one string names each key. */
	if (strchr("AEIMQUYcgkosw048", s[AUTH_SECRET_LEN - 1]) == NULL)
		return SN_ERR_UNAUTHENTICATED;
	snprintf(id, AUTH_ID_LEN + 1, "%s_%.16s",
	    *kind == AUTH_KIND_APIKEY ? "key" : "tok", s + 4);
	return 0;
}

/* Copies a text column into a fixed buffer; "" for NULL or too long. */
static void
copy_col(struct db_stmt *st, int col, char *dst, size_t dstlen)
{
	const char *v = db_col_text(st, col);

	if (v == NULL || strlen(v) >= dstlen)
		v = "";
	memcpy(dst, v, strlen(v) + 1);
}

int
auth_authenticate(struct db_conn *c, const char *authz, int64_t now,
    struct sn_actor *actor, char fail_tenant[64])
{
	static const uint8_t dummy[32];
	struct db_stmt *st = NULL;
	enum auth_kind kind;
	char id[AUTH_ID_LEN + 1];
	const char *cred;
	uint8_t hash[32], stored[32];
	const void *p;
	size_t plen = 0;
	int r, found = 0, ok = 1;

	memset(actor, 0, sizeof(*actor));
	fail_tenant[0] = '\0';
	memcpy(stored, dummy, sizeof(stored));
	if (authz == NULL || strncasecmp(authz, "Bearer ", 7) != 0)
		return SN_ERR_UNAUTHENTICATED;
	cred = authz + 7;
	while (*cred == ' ')
		cred++;
	if (auth_parse_credential(cred, &kind, id) != 0)
		return SN_ERR_UNAUTHENTICATED;
	if ((r = auth_hash_secret(cred, hash)) != 0)
		return r;

	if (kind == AUTH_KIND_APIKEY) {
		r = db_queryf(c, &st, "SELECT k.tenant_id, k.user_id, "
		    "k.secret_hash, k.expires_at, k.revoked_at, u.email, "
		    "u.role, u.disabled, u.tenant_id FROM api_keys k "
		    "JOIN users u ON u.id = k.user_id WHERE k.id = ?", "t", id);
	} else {
		r = db_queryf(c, &st, "SELECT t.tenant_id, t.service_account_id, "
		    "t.secret_hash, t.expires_at, NULL, s.name, t.key_version, "
		    "s.key_version, s.tenant_id FROM access_tokens t "
		    "JOIN service_accounts s ON s.id = t.service_account_id "
		    "WHERE t.id = ?", "t", id);
	}
	if (r < 0)
		goto out;
	if (r == DB_ROW) {
		found = 1;
		copy_col(st, 0, fail_tenant, 64);
		p = db_col_blob(st, 2, &plen);
		if (p != NULL && plen == sizeof(stored))
			memcpy(stored, p, sizeof(stored));
		else
			ok = 0;
		if (!db_col_is_null(st, 3) && db_col_int64(st, 3) <= now)
			ok = 0;			/* expired */
		if (!db_col_is_null(st, 4))
			ok = 0;			/* revoked */
		if (db_col_text(st, 8) == NULL || db_col_text(st, 0) == NULL ||
		    strcmp(db_col_text(st, 8), db_col_text(st, 0)) != 0)
			ok = 0;			/* tenant mismatch: never */
		if (kind == AUTH_KIND_APIKEY) {
			if (db_col_int64(st, 7) != 0)
				ok = 0;		/* disabled user */
			actor->type = SN_ACTOR_USER;
			actor->is_admin = db_col_text(st, 6) != NULL &&
			    strcmp(db_col_text(st, 6), "admin") == 0;
		} else {
			if (db_col_int64(st, 6) != db_col_int64(st, 7))
				ok = 0;		/* account key rotated */
			actor->type = SN_ACTOR_SERVICE_ACCOUNT;
		}
		copy_col(st, 1, actor->id, sizeof(actor->id));
		copy_col(st, 0, actor->tenant_id, sizeof(actor->tenant_id));
		copy_col(st, 5, actor->name, sizeof(actor->name));
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
	if (kind == AUTH_KIND_APIKEY &&
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
auth_request(struct sn_request *req, const char *authz)
{
	struct db_conn *c = NULL;
	struct audit_event ev;
	char tenant[64] = "";
	json_t *details = NULL;
	int r;

	if ((r = db_acquire(req->srv->db, &c)) != 0)
		return SN_ERR_UNAVAILABLE;
	r = auth_authenticate(c, authz, sn_now(), &req->actor, tenant);
	if (r == 0 || r != SN_ERR_UNAUTHENTICATED)
		goto out;
	__atomic_fetch_add(&req->srv->n_auth_failures, 1, __ATOMIC_RELAXED);
	details = json_pack("{s:s,s:s}", "method", req->method,
	    "path", req->path);
	memset(&ev, 0, sizeof(ev));
	ev.tenant_id = tenant;
	ev.actor_type = "anonymous";
	ev.actor_id = "";
	ev.action = "auth.failure";
	ev.object_type = "";
	ev.object_id = "";
	ev.result = "denied";
	ev.details = details;
	ev.source_ip = req->source_ip != NULL ? req->source_ip : "";
	if (db_begin(c) != 0 || audit_append(c, &ev) != 0 ||
	    db_commit(c) != 0)
		fprintf(stderr, "signetd: cannot record auth.failure\n");
	r = SN_ERR_UNAUTHENTICATED;
 out:
	json_decref(details);
	db_release(c);
	return r;
}
