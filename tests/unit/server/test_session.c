/*
 * test_session.c - web console sessions against a real SQLite database:
 * the cookie secret's format, only a hash stored, every way a session
 * ends (sign-out, idle, lifetime, API key revoked or expired, user
 * disabled), CSRF tokens (bound to one session, constant-length, garbage
 * refused), and that a session secret is never a bearer credential.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api.h"
#include "auth.h"
#include "db.h"
#include "err.h"
#include "session.h"
#include "store.h"
#include "testutil.h"
#include "util.h"

struct fx {
	char dir[256];
	struct db *db;
	struct db_conn *c;
	struct store_tenant t;
	struct store_user u;
	struct store_apikey k;
	char *apikey;
	struct sn_actor key_actor;	/* as authenticated by the API key */
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char hdr[128], tenant[64];

	assert_non_null(f);
	f->db = tu_db_open(1, f->dir);
	assert_int_equal(db_acquire(f->db, &f->c), 0);
	assert_int_equal(store_tenant_create(f->c, "acme", &f->t), 0);
	assert_int_equal(store_user_create(f->c, f->t.id, "a@x", "admin",
	    &f->u), 0);
	assert_int_equal(store_apikey_create(f->c, f->t.id, f->u.id, NULL, 0,
	    &f->k, &f->apikey), 0);
	snprintf(hdr, sizeof(hdr), "Bearer %s", f->apikey);
	assert_int_equal(auth_authenticate(f->c, hdr, sn_now(), &f->key_actor,
	    tenant), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	sn_strfreezero(f->apikey);
	db_release(f->c);
	tu_db_close(f->db, f->dir);
	free(f);
	return 0;
}

static char *
open_session(struct fx *f, int64_t now, char id[CREDENTIAL_ID_LEN + 1])
{
	char *secret = NULL;
	int64_t exp = 0;

	assert_int_equal(session_open(f->c, &f->key_actor, now, 3600, &secret,
	    id, &exp), 0);
	assert_int_equal(exp, now + 3600);
	return secret;
}

static void
test_open_and_authenticate(void **state)
{
	struct fx *f = *state;
	struct sn_actor a;
	char id[CREDENTIAL_ID_LEN + 1], hdr[128], tenant[64];
	int64_t now = sn_now(), exp;
	char *s = open_session(f, now, id);
	struct db_stmt *st;
	const void *p;
	size_t len;

	assert_int_equal(strlen(s), CREDENTIAL_SECRET_LEN);
	assert_memory_equal(s, "sns_", 4);
	assert_memory_equal(id, "ses_", 4);
	assert_int_equal(session_authenticate(f->c, s, now, 1800, &a, &exp), 0);
	assert_int_equal(a.type, SN_ACTOR_USER);
	assert_string_equal(a.id, f->u.id);
	assert_string_equal(a.tenant_id, f->t.id);
	assert_true(a.is_admin);
	assert_string_equal(a.credential_id, id);
	assert_string_equal(a.name, "a@x");
	assert_int_equal(exp, now + 3600);
	/* only the 32-byte hash is stored, bound to the API key */
	assert_int_equal(db_queryf(f->c, &st, "SELECT secret_hash, api_key_id "
	    "FROM console_sessions WHERE id = ?", "t", id), DB_ROW);
	p = db_col_blob(st, 0, &len);
	assert_int_equal(len, 32);
	assert_null(memmem(p, len, s + 21, 8));
	assert_string_equal(db_col_text(st, 1), f->k.id);
	db_finalize(st);
	/* never a bearer credential */
	snprintf(hdr, sizeof(hdr), "Bearer %s", s);
	assert_int_equal(auth_authenticate(f->c, hdr, now, &a, tenant),
	    SN_ERR_UNAUTHENTICATED);
	/* an API key is not a session */
	assert_int_equal(session_authenticate(f->c, f->apikey, now, 1800, &a,
	    &exp), SN_ERR_UNAUTHENTICATED);
	/* a wrong secret of the right id */
	s[CREDENTIAL_SECRET_LEN - 2] = s[CREDENTIAL_SECRET_LEN - 2] == 'x' ? 'y' : 'x';
	assert_int_equal(session_authenticate(f->c, s, now, 1800, &a, &exp),
	    SN_ERR_UNAUTHENTICATED);
	assert_int_equal(a.type, SN_ACTOR_NONE);
	assert_int_equal(session_authenticate(f->c, NULL, now, 1800, &a, &exp),
	    SN_ERR_UNAUTHENTICATED);
	assert_int_equal(session_authenticate(f->c, "", now, 1800, &a, &exp),
	    SN_ERR_UNAUTHENTICATED);
	sn_strfreezero(s);
}

static void
test_only_users_open_sessions(void **state)
{
	struct fx *f = *state;
	struct sn_actor sa = f->key_actor;
	char *s = NULL, id[CREDENTIAL_ID_LEN + 1];
	int64_t exp;

	sa.type = SN_ACTOR_SERVICE_ACCOUNT;
	assert_int_equal(session_open(f->c, &sa, sn_now(), 3600, &s, id, &exp),
	    SN_ERR_INVALID);
	assert_null(s);
	sa = f->key_actor;
	snprintf(sa.credential_id, sizeof(sa.credential_id), "tok_0");
	assert_int_equal(session_open(f->c, &sa, sn_now(), 3600, &s, id, &exp),
	    SN_ERR_INVALID);
	assert_int_equal(session_open(f->c, &f->key_actor, sn_now(), 0, &s,
	    id, &exp), SN_ERR_INVALID);
}

static void
test_every_end(void **state)
{
	struct fx *f = *state;
	struct sn_actor a;
	char id[CREDENTIAL_ID_LEN + 1];
	int64_t now = sn_now(), exp;
	char *s = open_session(f, now, id);

	/* idle: last_seen_at + idle is the end; a request refreshes it */
	assert_int_equal(session_authenticate(f->c, s, now + 1799, 1800, &a,
	    &exp), 0);
	assert_int_equal(session_authenticate(f->c, s, now + 1799 + 1799, 1800,
	    &a, &exp), 0);
	assert_int_equal(session_authenticate(f->c, s, now + 1799 + 1799 + 1800,
	    1800, &a, &exp), SN_ERR_UNAUTHENTICATED);
	/* absolute lifetime, however busy */
	assert_int_equal(db_execf(f->c, "UPDATE console_sessions SET "
	    "last_seen_at = ? WHERE id = ?", "it", now + 3590, id), 0);
	assert_int_equal(session_authenticate(f->c, s, now + 3599, 1800, &a,
	    &exp), 0);
	assert_int_equal(session_authenticate(f->c, s, now + 3600, 1800, &a,
	    &exp), SN_ERR_UNAUTHENTICATED);
	assert_int_equal(db_execf(f->c, "UPDATE console_sessions SET "
	    "last_seen_at = ? WHERE id = ?", "it", now, id), 0);
	/* user disabled, and back */
	assert_int_equal(store_user_set_disabled(f->c, f->t.id, f->u.id, 1), 0);
	assert_int_equal(session_authenticate(f->c, s, now, 1800, &a, &exp),
	    SN_ERR_UNAUTHENTICATED);
	assert_int_equal(store_user_set_disabled(f->c, f->t.id, f->u.id, 0), 0);
	assert_int_equal(session_authenticate(f->c, s, now, 1800, &a, &exp), 0);
	/* API key expired */
	assert_int_equal(db_execf(f->c, "UPDATE api_keys SET expires_at = ? "
	    "WHERE id = ?", "it", now, f->k.id), 0);
	assert_int_equal(session_authenticate(f->c, s, now, 1800, &a, &exp),
	    SN_ERR_UNAUTHENTICATED);
	assert_int_equal(db_execf(f->c, "UPDATE api_keys SET expires_at = NULL",
	    ""), 0);
	/* sign-out: once */
	assert_int_equal(session_end(f->c, "ten_other", id, now),
	    SN_ERR_NOT_FOUND);
	assert_int_equal(session_authenticate(f->c, s, now, 1800, &a, &exp), 0);
	assert_int_equal(session_end(f->c, f->t.id, id, now), 0);
	assert_int_equal(session_end(f->c, f->t.id, id, now), SN_ERR_NOT_FOUND);
	assert_int_equal(session_authenticate(f->c, s, now, 1800, &a, &exp),
	    SN_ERR_UNAUTHENTICATED);
	sn_strfreezero(s);
	/* API key revoked */
	s = open_session(f, now, id);
	assert_int_equal(session_authenticate(f->c, s, now, 1800, &a, &exp), 0);
	assert_int_equal(store_apikey_revoke(f->c, f->t.id, f->k.id, now), 0);
	assert_int_equal(session_authenticate(f->c, s, now, 1800, &a, &exp),
	    SN_ERR_UNAUTHENTICATED);
	sn_strfreezero(s);
}

static void
test_csrf(void **state)
{
	struct fx *f = *state;
	char id[CREDENTIAL_ID_LEN + 1], id2[CREDENTIAL_ID_LEN + 1];
	char t1[SESSION_CSRF_LEN + 1], t2[SESSION_CSRF_LEN + 1], bad[64];
	char *s1 = open_session(f, sn_now(), id);
	char *s2 = open_session(f, sn_now(), id2);

	assert_int_equal(session_csrf_token(s1, t1), 0);
	assert_int_equal(session_csrf_token(s2, t2), 0);
	assert_int_equal(strlen(t1), SESSION_CSRF_LEN);
	assert_string_not_equal(t1, t2);
	/* nothing of the secret shows in the token */
	assert_null(strstr(t1, s1 + 21));
	assert_true(session_csrf_ok(s1, t1));
	assert_false(session_csrf_ok(s1, t2));
	assert_false(session_csrf_ok(s2, t1));
	assert_false(session_csrf_ok(s1, NULL));
	assert_false(session_csrf_ok(s1, ""));
	snprintf(bad, sizeof(bad), "%sA", t1);		/* too long */
	assert_false(session_csrf_ok(s1, bad));
	snprintf(bad, sizeof(bad), "%.42s", t1);	/* too short */
	assert_false(session_csrf_ok(s1, bad));
	snprintf(bad, sizeof(bad), "%s", t1);
	bad[10] = bad[10] == 'A' ? 'B' : 'A';
	assert_false(session_csrf_ok(s1, bad));
	assert_int_equal(session_csrf_token(NULL, t1), SN_ERR_INVALID);
	sn_strfreezero(s1);
	sn_strfreezero(s2);
}

static void
test_cookies(void **state)
{
	char *c = session_cookie_set("sns_x", 600);

	assert_non_null(c);
	assert_string_equal(c, "__Host-signet_session=sns_x; Path=/; "
	    "Max-Age=600; Secure; HttpOnly; SameSite=Strict");
	free(c);
	c = session_cookie_clear();
	assert_non_null(strstr(c, "Max-Age=0"));
	assert_non_null(strstr(c, "HttpOnly"));
	free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_and_authenticate,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_only_users_open_sessions,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_end, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_csrf, setup, teardown),
		cmocka_unit_test(test_cookies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
