/*
 * test_revoke_and_sa_guards.c - two guards that need only a database (no
 * keeper); each test fails on the code as it was before its fix.
 *
 *   - a revoked key stays revoked: the state/certificate updates and the
 *     delete carry the guard themselves, so a change racing a revoke (the
 *     handlers check the state before their write transaction) cannot
 *     un-revoke the key or drop it off the CRL;
 *   - service accounts get 403 from every management endpoint, before any
 *     body validation or lookup (POST /v1/serviceaccounts answered 400/404).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "api.h"
#include "db.h"
#include "err.h"
#include "server.h"
#include "ca.h"
#include "store_resources.h"
#include "util.h"

struct fx {
	char dir[256];
	struct db *db;
	struct sn_server srv;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct db_conn *c = NULL;
	char url[512];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/signet-review-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(url, sizeof(url), "sqlite:%s/t.db", f->dir);
	assert_int_equal(db_open(url, 4, &f->db), 0);
	f->srv.db = f->db;
	assert_int_equal(db_acquire(f->db, &c), 0);
	assert_int_equal(db_execf(c, "INSERT INTO tenants (id, name, "
	    "created_at) VALUES ('ten_a', 'a', 1)", ""), 0);
	assert_int_equal(db_execf(c, "INSERT INTO projects (id, tenant_id, "
	    "name, created_at) VALUES ('prj_1', 'ten_a', 'p', 1)", ""), 0);
	assert_int_equal(db_execf(c, "INSERT INTO cas (id, tenant_id, name, "
	    "role, algorithm, hsm_key_id, cert_pem, created_at) VALUES "
	    "('ca_1', 'ten_a', 'issuing', 'issuing', 'ecdsa-p256', '00', 'x', "
	    "1)", ""), 0);
	assert_int_equal(db_execf(c, "INSERT INTO teams (id, tenant_id, name, "
	    "created_at) VALUES ('team_1', 'ten_a', 'builders', 1)", ""), 0);
	db_release(c);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[600];

	db_close(f->db);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", f->dir);
	free(f);
	return 0;
}

static void
add_key(struct db_conn *c, const char *id, const char *state,
    int64_t not_after)
{
	assert_int_equal(db_execf(c, "INSERT INTO signing_keys (id, tenant_id, "
	    "project_id, name, algorithm, state, not_before, not_after, "
	    "ca_mode, ca_id, cert_serial, revoked_at, created_at) VALUES "
	    "(?, 'ten_a', 'prj_1', ?, 'ecdsa-p256', ?, 1, ?, 'builtin', "
	    "'ca_1', '0a', ?, 1)", "tttii", id, id, state, not_after,
	    (int64_t)(strcmp(state, "revoked") == 0 ? 100 : 0)), 0);
}

static char *
key_state(struct db_conn *c, const char *id)
{
	struct db_stmt *st = NULL;
	char *s;

	assert_int_equal(db_queryf(c, &st, "SELECT state FROM signing_keys "
	    "WHERE id = ?", "t", id), DB_ROW);
	s = strdup(db_col_text(st, 0));
	db_finalize(st);
	assert_non_null(s);
	return s;
}

static void
test_revoked_key_stays_revoked(void **state)
{
	struct fx *f = *state;
	struct db_conn *c = NULL;
	int64_t later = sn_now() + 3600;
	char *s;

	assert_int_equal(db_acquire(f->db, &c), 0);
	add_key(c, "skey_rev", "revoked", later);
	add_key(c, "skey_act", "active", later);

	assert_int_equal(db_begin(c), 0);
	/* enable / disable / revoke again racing a committed revoke */
	assert_int_equal(store_key_set_state(c, "ten_a", "skey_rev", "active",
	    0), SN_ERR_CONFLICT);
	assert_int_equal(store_key_set_state(c, "ten_a", "skey_rev",
	    "disabled", 0), SN_ERR_CONFLICT);
	assert_int_equal(store_key_set_state(c, "ten_a", "skey_rev", "revoked",
	    200), SN_ERR_CONFLICT);
	/* certificate import racing a revoke */
	assert_int_equal(store_key_set_cert(c, "ten_a", "skey_rev", "external",
	    "cert", NULL, "0b", "CN=x"), SN_ERR_CONFLICT);
	/* other tenants' and missing keys: not found */
	assert_int_equal(store_key_set_state(c, "ten_b", "skey_act", "disabled",
	    0), SN_ERR_NOT_FOUND);
	assert_int_equal(store_key_set_state(c, "ten_a", "skey_none",
	    "disabled", 0), SN_ERR_NOT_FOUND);
	assert_int_equal(store_key_delete(c, "ten_a", "skey_none", NULL),
	    SN_ERR_NOT_FOUND);
	/* an active key still changes */
	assert_int_equal(store_key_set_state(c, "ten_a", "skey_act",
	    "disabled", 0), 0);
	assert_int_equal(store_key_set_state(c, "ten_a", "skey_act", "active",
	    0), 0);
	assert_int_equal(db_commit(c), 0);

	s = key_state(c, "skey_rev");
	assert_string_equal(s, "revoked");
	free(s);
	s = key_state(c, "skey_act");
	assert_string_equal(s, "active");
	free(s);

	/*
	 * Deleting a revoked key whose certificate is still valid keeps its
	 * serial on the CRL (revoked when the key was); a key whose
	 * certificate has expired leaves nothing behind.
	 */
	{
		struct ca_revoked *rev = NULL;
		struct store_ids serials = { NULL, 0 };
		size_t n = 0;
		int revoked = -1;

		assert_int_equal(db_execf(c, "UPDATE signing_keys SET "
		    "not_after = 5 WHERE id = 'skey_act'", ""), 0);
		assert_int_equal(db_begin(c), 0);
		assert_int_equal(store_key_delete(c, "ten_a", "skey_rev",
		    &revoked), 0);
		assert_int_equal(revoked, 1);
		assert_int_equal(store_key_delete(c, "ten_a", "skey_act",
		    &revoked), 0);
		assert_int_equal(revoked, 0);
		assert_int_equal(db_commit(c), 0);
		assert_int_equal(store_key_revoked_for_ca(c, "ca_1", &rev,
		    &serials, &n), 0);
		assert_int_equal(n, 1);
		assert_string_equal(rev[0].serial_hex, "0a");
		assert_int_equal(rev[0].revoked_at, 100);
		free(rev);
		store_ids_free(&serials);
	}
	db_release(c);
}

/* Calls the handler of (method, pattern) in table as actor a. */
static int
call(struct fx *f, const struct api_route *table, const struct sn_actor *a,
    const char *method, const char *pattern, const char *body,
    const char *p0)
{
	const struct api_route *rt = NULL;
	struct sn_request req;
	struct sn_response resp;
	int status;

	for (const struct api_route *x = table; x->method != NULL; x++)
		if (strcmp(x->method, method) == 0 &&
		    strcmp(x->pattern, pattern) == 0)
			rt = x;
	assert_non_null(rt);
	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	req.srv = &f->srv;
	req.method = method;
	req.path = pattern;
	req.params[0] = p0;
	req.nparams = p0 != NULL;
	req.source_ip = "127.0.0.1";
	req.actor = *a;
	if (body != NULL) {
		req.body = json_loads(body, JSON_DECODE_ANY, NULL);
		assert_non_null(req.body);
	}
	status = rt->handler(&req, &resp) == 0 ? resp.status :
	    (resp.status != 0 ? resp.status : 500);
	json_decref(req.body);
	api_response_clear(&resp);
	return status;
}

static void
test_service_account_management_403(void **state)
{
	struct fx *f = *state;
	struct sn_actor sa;

	memset(&sa, 0, sizeof(sa));
	sa.type = SN_ACTOR_SERVICE_ACCOUNT;
	snprintf(sa.id, sizeof(sa.id), "sac_x");
	snprintf(sa.tenant_id, sizeof(sa.tenant_id), "ten_a");
	/* malformed, unknown team, valid team: always 403 */
	assert_int_equal(call(f, api_routes_serviceaccounts, &sa, "POST",
	    "/v1/serviceaccounts", "{\"bogus\":1}", NULL), 403);
	assert_int_equal(call(f, api_routes_serviceaccounts, &sa, "POST",
	    "/v1/serviceaccounts", "{\"name\":\"n\",\"team\":\"nope\","
	    "\"public_key\":\"x\"}", NULL), 403);
	assert_int_equal(call(f, api_routes_serviceaccounts, &sa, "POST",
	    "/v1/serviceaccounts", "{\"name\":\"n\",\"team\":\"builders\","
	    "\"public_key\":\"x\"}", NULL), 403);
	assert_int_equal(call(f, api_routes_keys, &sa, "POST", "/v1/keys",
	    "{\"bogus\":1}", NULL), 403);
	assert_int_equal(call(f, api_routes_teams, &sa, "POST", "/v1/teams",
	    "{\"bogus\":1}", NULL), 403);
	assert_int_equal(call(f, api_routes_projects, &sa, "POST",
	    "/v1/projects", "{\"bogus\":1}", NULL), 403);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_revoked_key_stays_revoked,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_service_account_management_403, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
