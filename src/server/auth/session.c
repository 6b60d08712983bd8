/*
 * session.c - web console sessions and their CSRF tokens (see session.h).
 *
 * The same rules as auth.c: one indistinguishable failure, hashes compared
 * with CRYPTO_memcmp, the same work whether or not the id exists, and no
 * secret ever printed. A session never outlives the API key that opened it
 * nor its user's enabled state: both are re-read on every request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "audit.h"
#include "credential.h"
#include "db.h"
#include "encode.h"
#include "err.h"
#include "handler.h"
#include "server.h"
#include "sn_assert.h"
#include "session.h"
#include "store_auth.h"
#include "util.h"

#define SESSION_TOUCH_EVERY	15	/* s between last_seen_at updates */
#define SESSION_CSRF_DOMAIN	"signet-csrf"

int
session_open(struct db_conn *c, const struct sn_actor *actor, int64_t now,
    int64_t lifetime, char **secret, char id[CREDENTIAL_ID_LEN + 1],
    int64_t *expires_at)
{
	char *s = NULL;
	uint8_t hash[32];
	int r;

	*secret = NULL;
	*expires_at = 0;
	id[0] = '\0';
	if (actor->type != SN_ACTOR_USER || lifetime <= 0 ||
	    strncmp(actor->credential_id, "key_", 4) != 0)
		return SN_ERR_INVALID;
	if ((r = credential_new(CREDENTIAL_SESSION, &s, id, hash)) != 0)
		return r;
	if ((r = store_session_insert(c, id, actor->tenant_id, actor->id,
	    actor->credential_id, hash, now, now + lifetime)) != 0)
		goto out;
	*expires_at = now + lifetime;
	*secret = s;
	s = NULL;
	r = 0;
 out:
	explicit_bzero(hash, sizeof(hash));
	sn_strfreezero(s);
	if (r != 0)
		id[0] = '\0';
	return r;
}

int
session_authenticate(struct db_conn *c, const char *secret, int64_t now,
    int64_t idle, struct sn_actor *actor, int64_t *expires_at)
{
	static const uint8_t dummy[32];
	struct store_session_row row;
	enum credential_kind kind;
	char id[CREDENTIAL_ID_LEN + 1];
	uint8_t hash[32], stored[32];
	int64_t last_seen = 0;
	int r, found = 0, ok = 1;

	memset(actor, 0, sizeof(*actor));
	memset(&row, 0, sizeof(row));
	*expires_at = 0;
	memcpy(stored, dummy, sizeof(stored));
	if (credential_parse(secret, &kind, id) != 0 ||
	    kind != CREDENTIAL_SESSION)
		return SN_ERR_UNAUTHENTICATED;
	if ((r = credential_hash(secret, hash)) != 0)
		return r;
	r = store_session_get(c, id, now, &row);
	if (r != 0 && r != SN_ERR_NOT_FOUND)
		goto out;
	if (r == 0) {
		found = 1;
		if (row.hash_ok)
			memcpy(stored, row.secret_hash, sizeof(stored));
		else
			ok = 0;
		*expires_at = row.expires_at;
		last_seen = row.last_seen_at;
		if (*expires_at <= now)
			ok = 0;			/* absolute lifetime over */
		if (idle > 0 && now - last_seen >= idle)
			ok = 0;			/* idle too long */
		if (!row.valid)
			ok = 0;	/* signed out, user or API key void, tenants */
		actor->type = SN_ACTOR_USER;
		actor->is_admin = row.is_admin;
		memcpy(actor->id, row.user_id, sizeof(actor->id));
		memcpy(actor->tenant_id, row.tenant_id,
		    sizeof(actor->tenant_id));
		memcpy(actor->name, row.email, sizeof(actor->name));
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
	if (now - last_seen >= SESSION_TOUCH_EVERY &&
	    store_session_touch(c, id, now) != 0) {
		/* A busy database must not sign users out; the read worked. */
		fprintf(stderr, "signetd: cannot update last_seen_at of %s\n",
		    id);
	}
	r = 0;
 out:
	explicit_bzero(hash, sizeof(hash));
	explicit_bzero(stored, sizeof(stored));
	explicit_bzero(&row, sizeof(row));
	if (r != 0) {
		memset(actor, 0, sizeof(*actor));
		*expires_at = 0;
	}
	return r;
}

int
session_csrf_token(const char *secret, char out[SESSION_CSRF_LEN + 1])
{
	EVP_MD_CTX *md = NULL;
	uint8_t d[32];
	unsigned int dlen = 0;
	char *b64 = NULL;
	int r;

	out[0] = '\0';
	if (secret == NULL)
		return SN_ERR_INVALID;
	if ((md = EVP_MD_CTX_new()) == NULL)
		return SN_ERR_NOMEM;
	/* The domain string (with its NUL) keeps this hash apart from the
	 * stored hash of the secret itself. */
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, SESSION_CSRF_DOMAIN,
	    sizeof(SESSION_CSRF_DOMAIN)) != 1 ||
	    EVP_DigestUpdate(md, secret, strlen(secret)) != 1 ||
	    EVP_DigestFinal_ex(md, d, &dlen) != 1 || dlen != sizeof(d)) {
		r = SN_ERR_CRYPTO;
		goto out;
	}
	if ((r = sn_b64url_encode(d, sizeof(d), &b64)) != 0)
		goto out;
	if (SN_NEVER(strlen(b64) != SESSION_CSRF_LEN)) {
		r = SN_ERR_INTERNAL;
		goto out;
	}
	memcpy(out, b64, SESSION_CSRF_LEN + 1);
	r = 0;
 out:
	explicit_bzero(d, sizeof(d));
	sn_strfreezero(b64);
	EVP_MD_CTX_free(md);
	return r;
}

int
session_csrf_ok(const char *secret, const char *presented)
{
	char want[SESSION_CSRF_LEN + 1];
	int ok;

	if (presented == NULL ||
	    strnlen(presented, SESSION_CSRF_LEN + 1) != SESSION_CSRF_LEN ||
	    session_csrf_token(secret, want) != 0)
		return 0;
	ok = CRYPTO_memcmp(want, presented, SESSION_CSRF_LEN) == 0;
	explicit_bzero(want, sizeof(want));
	return ok;
}

int
session_end(struct db_conn *c, const char *tenant_id, const char *id,
    int64_t now)
{
	return store_session_end(c, tenant_id, id, now);
}

int
session_request(struct sn_request *req, const char *secret,
    const char *csrf, int need_csrf)
{
	struct db_conn *c = NULL;
	struct audit_event ev;
	json_t *details = NULL;
	int64_t exp;
	int r;

	if ((r = db_acquire(req->srv->db, &c)) != 0)
		return SN_ERR_UNAVAILABLE;
	r = session_authenticate(c, secret, sn_now(),
	    req->srv->cfg.session_idle_timeout, &req->actor, &exp);
	if (r == 0) {
		if (need_csrf && !session_csrf_ok(secret, csrf)) {
			/* A forged cross-site request, most likely: on the
			 * record, with the path it aimed at. */
			details = json_pack("{s:s,s:s}", "method", req->method,
			    "path", req->path);
			if (db_begin(c) != 0 || audit_req(c, req,
			    "session.csrf", "session", req->actor.credential_id,
			    "denied", details) != 0 || db_commit(c) != 0) {
				db_rollback(c);
				fprintf(stderr, "signetd: cannot record "
				    "session.csrf\n");
			}
			r = SN_ERR_FORBIDDEN;
		}
		goto out;
	}
	if (r != SN_ERR_UNAUTHENTICATED)
		goto out;
	/* An ended or forged session: counted and recorded like a bad key
	 * (in the system chain: the cookie names no tenant we trust). */
	__atomic_fetch_add(&req->srv->n_auth_failures, 1, __ATOMIC_RELAXED);
	details = json_pack("{s:s,s:s,s:s}", "method", req->method,
	    "path", req->path, "credential", "session");
	memset(&ev, 0, sizeof(ev));
	ev.tenant_id = "";
	ev.actor_type = "anonymous";
	ev.actor_id = "";
	ev.action = "auth.failure";
	ev.object_type = "";
	ev.object_id = "";
	ev.result = "denied";
	ev.details = details;
	ev.source_ip = req->source_ip != NULL ? req->source_ip : "";
	if (db_begin(c) != 0 || audit_append(c, &ev) != 0 ||
	    db_commit(c) != 0) {
		db_rollback(c);
		fprintf(stderr, "signetd: cannot record auth.failure\n");
	}
	r = SN_ERR_UNAUTHENTICATED;
 out:
	json_decref(details);
	db_release(c);
	return r;
}

int
session_page_ok(struct sn_request *req)
{
	struct db_conn *c = NULL;
	struct sn_actor a;
	const char *secret = req->cookie != NULL ?
	    req->cookie(req, SESSION_COOKIE) : NULL;
	int64_t exp;
	int ok;

	if (secret == NULL || db_acquire(req->srv->db, &c) != 0)
		return 0;
	ok = session_authenticate(c, secret, sn_now(),
	    req->srv->cfg.session_idle_timeout, &a, &exp) == 0;
	db_release(c);
	explicit_bzero(&a, sizeof(a));
	return ok;
}

char *
session_cookie_set(const char *secret, int64_t max_age)
{
	char *s = NULL;

	if (asprintf(&s, SESSION_COOKIE "=%s; Path=/; Max-Age=%lld; Secure; "
	    "HttpOnly; SameSite=Strict", secret, (long long)max_age) < 0)
		return NULL;
	return s;
}

char *
session_cookie_clear(void)
{
	return strdup(SESSION_COOKIE "=; Path=/; Max-Age=0; Secure; HttpOnly; "
	    "SameSite=Strict");
}
