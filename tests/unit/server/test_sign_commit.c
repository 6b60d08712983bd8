/*
 * test_sign_commit.c - audit_sign_commit, the signing commit: each refusal
 * of the one re-check statement (credential, key, signer, state, version)
 * with its own recorded event, and group commit under concurrency (every
 * caller gets its own result, the chain stays whole and in one order).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "audit.h"
#include "db.h"
#include "err.h"
#include "handler.h"
#include "sign_commit.h"
#include "testutil.h"

#define T "ten_a"

static int
status_for(int err)
{
	switch (err) {
	case SN_ERR_UNAUTHENTICATED: return 401;
	case SN_ERR_FORBIDDEN: return 403;
	case SN_ERR_NOT_FOUND: return 404;
	case SN_ERR_CONFLICT: return 409;
	case SN_ERR_UNAVAILABLE: return 503;
	default: return 500;
	}
}

static void
exec(struct db_conn *c, const char *sql)
{
	assert_int_equal(db_execf(c, sql, ""), 0);
}

/* One tenant: signer usr_s (key_s), non-signer usr_n (key_n), key skey_1
 * of project prj_1, active for the next day. */
static struct db *
setup_db(char dir[256])
{
	struct db *db = tu_db_open(4, dir);
	struct db_conn *c;
	int64_t now = sn_now();

	assert_int_equal(db_acquire(db, &c), 0);
	exec(c, "INSERT INTO tenants VALUES ('" T "', 'a', 0)");
	exec(c, "INSERT INTO users (id, tenant_id, email, role, created_at) "
	    "VALUES ('usr_s', '" T "', 's@a', 'user', 0), "
	    "('usr_n', '" T "', 'n@a', 'user', 0)");
	exec(c, "INSERT INTO api_keys (id, tenant_id, user_id, secret_hash, "
	    "created_at) VALUES ('key_s', '" T "', 'usr_s', x'00', 0), "
	    "('key_n', '" T "', 'usr_n', x'00', 0)");
	exec(c, "INSERT INTO projects VALUES ('prj_1', '" T "', 'p', 0)");
	exec(c, "INSERT INTO project_signers VALUES ('prj_1', 'user', "
	    "'usr_s', 0)");
	assert_int_equal(db_execf(c, "INSERT INTO signing_keys (id, tenant_id, "
	    "project_id, name, algorithm, state, not_before, not_after, "
	    "ca_mode, hsm_key_id, created_at) VALUES ('skey_1', '" T "', "
	    "'prj_1', 'k', 'ecdsa-p256', 'active', ?, ?, 'none', 'h1', 0)",
	    "ii", now - 10, now + 86400), 0);
	db_release(c);
	return db;
}

static void
request(struct sn_request *req, const char *user, const char *cred)
{
	memset(req, 0, sizeof(*req));
	req->source_ip = "127.0.0.1";
	req->actor.type = SN_ACTOR_USER;
	snprintf(req->actor.id, sizeof(req->actor.id), "%s", user);
	snprintf(req->actor.tenant_id, sizeof(req->actor.tenant_id), T);
	snprintf(req->actor.credential_id, sizeof(req->actor.credential_id),
	    "%s", cred);
}

/* Commits one signing of skey_1 (version, hsm id) for req. */
static int
commit(struct db *db, struct sn_request *req, int64_t version,
    const char *hsm, struct audit_sign *s)
{
	static json_t *details, *released;

	if (details == NULL) {
		details = json_pack("{s:s,s:s}", "key", "skey_1", "digest",
		    "00");
		released = json_pack("{s:s}", "signature_sha256", "ab");
	}
	memset(s, 0, sizeof(*s));
	s->req = req;
	s->key_id = "skey_1";
	s->key_label = "p/k";
	s->version = version;
	s->hsm_key_id = hsm;
	s->details = details;
	s->released = released;
	s->status_for = status_for;
	return audit_sign_commit(db, s);
}

/* The last event of the tenant: its result and reason ("" if none). */
static void
last_event(struct db *db, char result[16], char reason[256], int *has_sig)
{
	struct db_conn *c;
	struct db_stmt *st = NULL;
	json_t *d;

	assert_int_equal(db_acquire(db, &c), 0);
	assert_int_equal(db_queryf(c, &st, "SELECT result, details FROM "
	    "audit_events WHERE tenant_id = ? ORDER BY seq DESC LIMIT 1", "t",
	    T), DB_ROW);
	snprintf(result, 16, "%s", db_col_text(st, 0));
	d = json_loads(db_col_text(st, 1), 0, NULL);
	assert_non_null(d);
	snprintf(reason, 256, "%s", json_object_get(d, "reason") != NULL ?
	    json_string_value(json_object_get(d, "reason")) : "");
	*has_sig = json_object_get(d, "signature_sha256") != NULL;
	json_decref(d);
	db_finalize(st);
	db_release(c);
}

static void
expect_refusal(struct db *db, struct sn_request *req, int64_t version,
    const char *hsm, int err, const char *msg)
{
	struct audit_sign s;
	char result[16], reason[256];
	int has_sig;

	assert_int_equal(commit(db, req, version, hsm, &s), err);
	assert_string_equal(s.message, msg);
	assert_int_equal(s.refusal_recorded, 1);
	assert_null(s.event);
	last_event(db, result, reason, &has_sig);
	assert_string_equal(result, err == SN_ERR_DB ? "error" : "denied");
	assert_string_equal(reason, msg);
	assert_int_equal(has_sig, 0);	/* nothing was released */
}

static void
update(struct db *db, const char *sql)
{
	struct db_conn *c;

	assert_int_equal(db_acquire(db, &c), 0);
	exec(c, sql);
	db_release(c);
}

static void
test_recheck(void **state)
{
	char dir[256], result[16], reason[256];
	struct db *db = setup_db(dir);
	struct sn_request req;
	struct audit_sign s;
	int has_sig;

	(void)state;
	request(&req, "usr_s", "key_s");
	assert_int_equal(commit(db, &req, 1, "h1", &s), 0);
	assert_int_equal(s.seq, 1);
	assert_non_null(s.event);
	assert_non_null(json_object_get(s.event, "hash"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    s.event, "details"), "signature_sha256")), "ab");
	json_decref(s.event);
	last_event(db, result, reason, &has_sig);
	assert_string_equal(result, "ok");
	assert_int_equal(has_sig, 1);

	/* rotated while signing: another version or HSM key */
	expect_refusal(db, &req, 2, "h1", SN_ERR_CONFLICT,
	    "key p/k was rotated while signing; retry");
	expect_refusal(db, &req, 1, "h2", SN_ERR_CONFLICT,
	    "key p/k was rotated while signing; retry");
	/* the key's state */
	update(db, "UPDATE signing_keys SET state = 'disabled'");
	expect_refusal(db, &req, 1, "h1", SN_ERR_CONFLICT,
	    "key p/k is disabled and cannot sign");
	update(db, "UPDATE signing_keys SET state = 'active', not_after = 5");
	expect_refusal(db, &req, 1, "h1", SN_ERR_CONFLICT,
	    "key p/k is expired and cannot sign");
	update(db, "UPDATE signing_keys SET state = 'revoked'");
	expect_refusal(db, &req, 1, "h1", SN_ERR_CONFLICT,
	    "key p/k is revoked and cannot sign");
	update(db, "UPDATE signing_keys SET state = 'active', not_after = "
	    "not_before + 864000");
	assert_int_equal(commit(db, &req, 1, "h1", &s), 0);
	json_decref(s.event);
	/* not a signer; a key of another tenant is no key */
	request(&req, "usr_n", "key_n");
	expect_refusal(db, &req, 1, "h1", SN_ERR_FORBIDDEN,
	    "permission denied (key.sign) for this key");
	/* the credential: revoked, a user disabled, someone else's key */
	request(&req, "usr_s", "key_n");
	expect_refusal(db, &req, 1, "h1", SN_ERR_UNAUTHENTICATED,
	    "invalid or missing credentials");
	request(&req, "usr_s", "key_s");
	update(db, "UPDATE users SET disabled = 1 WHERE id = 'usr_s'");
	expect_refusal(db, &req, 1, "h1", SN_ERR_UNAUTHENTICATED,
	    "invalid or missing credentials");
	update(db, "UPDATE users SET disabled = 0");
	update(db, "UPDATE api_keys SET expires_at = 10 WHERE id = 'key_s'");
	expect_refusal(db, &req, 1, "h1", SN_ERR_UNAUTHENTICATED,
	    "invalid or missing credentials");
	update(db, "UPDATE api_keys SET expires_at = NULL, revoked_at = 1");
	expect_refusal(db, &req, 1, "h1", SN_ERR_UNAUTHENTICATED,
	    "invalid or missing credentials");
	update(db, "UPDATE api_keys SET revoked_at = NULL");
	/* a signer through a team */
	update(db, "INSERT INTO teams VALUES ('team_1', '" T "', 't', 0)");
	update(db, "INSERT INTO team_members VALUES ('team_1', 'usr_n', 0, 0)");
	update(db, "INSERT INTO project_signers VALUES ('prj_1', 'team', "
	    "'team_1', 0)");
	request(&req, "usr_n", "key_n");
	assert_int_equal(commit(db, &req, 1, "h1", &s), 0);
	json_decref(s.event);
	/* a missing key */
	update(db, "DELETE FROM signing_keys");
	request(&req, "usr_s", "key_s");
	expect_refusal(db, &req, 1, "h1", SN_ERR_NOT_FOUND, "no such key");
	/* a credential of an unknown kind */
	request(&req, "usr_s", "xyz_1");
	expect_refusal(db, &req, 1, "h1", SN_ERR_UNAUTHENTICATED,
	    "invalid or missing credentials");
	tu_db_close(db, dir);
}

#define THREADS	8
#define ROUNDS	40

struct worker {
	struct db *db;
	int idx;
	int ok, refused, other;
	int64_t seqs[ROUNDS];
};

static void *
run(void *arg)
{
	struct worker *w = arg;
	struct sn_request req;
	struct audit_sign s;
	int signer = w->idx % 2 == 0, r;

	request(&req, signer ? "usr_s" : "usr_n", signer ? "key_s" : "key_n");
	for (int i = 0; i < ROUNDS; i++) {
		r = commit(w->db, &req, 1, "h1", &s);
		if (r == 0 && s.event != NULL && s.seq > 0) {
			w->seqs[w->ok++] = s.seq;
		} else if (r == SN_ERR_FORBIDDEN && s.refusal_recorded)
			w->refused++;
		else
			w->other++;
		json_decref(s.event);
	}
	return NULL;
}

static void
test_group(void **state)
{
	char dir[256];
	struct db *db = setup_db(dir);
	struct worker w[THREADS];
	pthread_t th[THREADS];
	struct db_conn *c;
	struct db_stmt *st = NULL;
	int64_t n, bad, badcp, ok = 0, refused = 0;
	static char seen[THREADS * ROUNDS + 1];

	(void)state;
	memset(w, 0, sizeof(w));
	for (int i = 0; i < THREADS; i++) {
		w[i].db = db;
		w[i].idx = i;
		assert_int_equal(pthread_create(&th[i], NULL, run, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].other, 0);
		ok += w[i].ok;
		refused += w[i].refused;
		/* each caller's own seq, none given twice */
		for (int j = 0; j < w[i].ok; j++) {
			assert_in_range(w[i].seqs[j], 1, THREADS * ROUNDS);
			assert_int_equal(seen[w[i].seqs[j]], 0);
			seen[w[i].seqs[j]] = 1;
		}
	}
	assert_int_equal(ok, THREADS / 2 * ROUNDS);
	assert_int_equal(refused, THREADS / 2 * ROUNDS);
	assert_int_equal(db_acquire(db, &c), 0);
	assert_int_equal(audit_verify_log(c, T, &n, &bad, &badcp), 0);
	assert_int_equal(n, THREADS * ROUNDS);
	/* every event "ok" is one a caller was told 0 for, and vice versa */
	assert_int_equal(db_queryf(c, &st, "SELECT COUNT(*) FROM audit_events "
	    "WHERE result = 'ok'", ""), DB_ROW);
	assert_int_equal(db_col_int64(st, 0), ok);
	db_finalize(st);
	db_release(c);
	tu_db_close(db, dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recheck),
		cmocka_unit_test(test_group),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
