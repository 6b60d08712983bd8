/*
 * test_authz.c - the permission matrix, as data: actor x action x object ->
 * expected result, against a real schema with two tenants.
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
#include "authz.h"
#include "db.h"
#include "err.h"
#include "testutil.h"

static const char *const fixture[] = {
	"INSERT INTO tenants VALUES ('ten_a','a',1),('ten_b','b',1)",
	"INSERT INTO users (id,tenant_id,email,role,created_at) VALUES"
	" ('usr_admin','ten_a','admin@a','admin',1),"
	" ('usr_alice','ten_a','alice@a','user',1),"
	" ('usr_bob','ten_a','bob@a','user',1),"
	" ('usr_carol','ten_a','carol@a','user',1),"
	" ('usr_dave','ten_a','dave@a','user',1),"
	" ('usr_erin','ten_a','erin@a','user',1),"
	" ('usr_frank','ten_a','frank@a','user',1),"
	" ('usr_badmin','ten_b','admin@b','admin',1)",
	"INSERT INTO teams VALUES ('team_dev','ten_a','dev',1),"
	" ('team_own','ten_a','own',1), ('team_b','ten_b','tb',1)",
	"INSERT INTO team_members VALUES ('team_dev','usr_carol',1,1),"
	" ('team_dev','usr_bob',0,1), ('team_own','usr_erin',0,1),"
	" ('team_b','usr_badmin',1,1)",
	"INSERT INTO service_accounts (id,tenant_id,team_id,name,public_key_pem,"
	" key_algorithm,key_fingerprint,created_at) VALUES"
	" ('sac_ci','ten_a','team_dev','ci','x','ecdsa-p256','f1',1),"
	" ('sac_other','ten_a','team_own','other','x','ecdsa-p256','f2',1),"
	" ('sac_b','ten_b','team_b','bci','x','ecdsa-p256','f3',1)",
	"INSERT INTO projects VALUES ('prj_1','ten_a','p1',1),"
	" ('prj_2','ten_a','p2',1), ('prj_b','ten_b','pb',1)",
	"INSERT INTO project_owners VALUES ('prj_1','user','usr_alice',1),"
	" ('prj_2','team','team_own',1), ('prj_b','user','usr_badmin',1)",
	"INSERT INTO project_signers VALUES ('prj_1','team','team_dev',1),"
	" ('prj_1','service_account','sac_ci',1),"
	" ('prj_2','user','usr_frank',1),"
	" ('prj_b','user','usr_badmin',1),"
	/* a corrupt cross-tenant row: tenant B's team as signer of prj_2 */
	" ('prj_2','team','team_b',1)",
	"INSERT INTO signing_keys (id,tenant_id,project_id,name,algorithm,state,"
	" not_before,not_after,ca_mode,created_at) VALUES"
	" ('skey_1','ten_a','prj_1','k1','rsa-2048','active',0,9999999999,'none',1),"
	" ('skey_2','ten_a','prj_2','k2','rsa-2048','active',0,9999999999,'none',1),"
	" ('skey_b','ten_b','prj_b','kb','rsa-2048','active',0,9999999999,'none',1)",
	NULL,
};

struct actor_def {
	const char *id;
	const char *tenant;
	enum sn_actor_type type;
	int admin;
};

static const struct actor_def actors[] = {
	{ "usr_admin", "ten_a", SN_ACTOR_USER, 1 },
	{ "usr_alice", "ten_a", SN_ACTOR_USER, 0 },
	{ "usr_bob", "ten_a", SN_ACTOR_USER, 0 },
	{ "usr_carol", "ten_a", SN_ACTOR_USER, 0 },
	{ "usr_dave", "ten_a", SN_ACTOR_USER, 0 },
	{ "usr_erin", "ten_a", SN_ACTOR_USER, 0 },
	{ "usr_frank", "ten_a", SN_ACTOR_USER, 0 },
	{ "sac_ci", "ten_a", SN_ACTOR_SERVICE_ACCOUNT, 0 },
	{ "sac_other", "ten_a", SN_ACTOR_SERVICE_ACCOUNT, 0 },
	{ "usr_badmin", "ten_b", SN_ACTOR_USER, 1 },
	{ NULL, NULL, 0, 0 },
};

#define OK	0
#define NF	SN_ERR_NOT_FOUND
#define NO	SN_ERR_FORBIDDEN

struct rule {
	const char *actor;
	enum authz_action action;
	const char *object;
	int expect;
};

static const struct rule rules[] = {
	/* tenant admin */
	{ "usr_admin", AUTHZ_TENANT_ADMIN, NULL, OK },
	{ "usr_alice", AUTHZ_TENANT_ADMIN, NULL, NO },
	{ "sac_ci", AUTHZ_TENANT_ADMIN, NULL, NO },
	{ "usr_badmin", AUTHZ_TENANT_ADMIN, NULL, OK },
	/* the management gate: users yes, service accounts never */
	{ "usr_admin", AUTHZ_MANAGEMENT, NULL, OK },
	{ "usr_dave", AUTHZ_MANAGEMENT, NULL, OK },
	{ "sac_ci", AUTHZ_MANAGEMENT, NULL, NO },
	/* API keys: admin any user of the tenant, a user its own; to a
	 * non-admin a missing user looks like another user */
	{ "usr_admin", AUTHZ_APIKEY_MANAGE, "usr_bob", OK },
	{ "usr_admin", AUTHZ_APIKEY_MANAGE, "usr_admin", OK },
	{ "usr_bob", AUTHZ_APIKEY_MANAGE, "usr_bob", OK },
	{ "usr_bob", AUTHZ_APIKEY_MANAGE, "usr_alice", NO },
	{ "usr_bob", AUTHZ_APIKEY_MANAGE, "usr_nobody", NO },
	{ "usr_admin", AUTHZ_APIKEY_MANAGE, "usr_nobody", NF },
	{ "usr_admin", AUTHZ_APIKEY_MANAGE, "usr_badmin", NF },
	{ "usr_badmin", AUTHZ_APIKEY_MANAGE, "usr_bob", NF },
	{ "sac_ci", AUTHZ_APIKEY_MANAGE, "sac_ci", NO },
	{ "sac_ci", AUTHZ_APIKEY_MANAGE, "usr_bob", NO },
	/* users */
	{ "usr_admin", AUTHZ_USER_VIEW, "usr_bob", OK },
	{ "usr_bob", AUTHZ_USER_VIEW, "usr_bob", OK },
	{ "usr_bob", AUTHZ_USER_VIEW, "usr_alice", NO },
	{ "usr_bob", AUTHZ_USER_VIEW, "usr_nobody", NF },
	{ "usr_admin", AUTHZ_USER_VIEW, "usr_badmin", NF },
	{ "usr_badmin", AUTHZ_USER_VIEW, "usr_bob", NF },
	{ "sac_ci", AUTHZ_USER_VIEW, "usr_bob", NO },
	/* teams */
	{ "usr_admin", AUTHZ_TEAM_VIEW, "team_dev", OK },
	{ "usr_bob", AUTHZ_TEAM_VIEW, "team_dev", OK },
	{ "usr_carol", AUTHZ_TEAM_VIEW, "team_dev", OK },
	{ "usr_dave", AUTHZ_TEAM_VIEW, "team_dev", NO },
	{ "usr_admin", AUTHZ_TEAM_MANAGE, "team_dev", OK },
	{ "usr_carol", AUTHZ_TEAM_MANAGE, "team_dev", OK },
	{ "usr_bob", AUTHZ_TEAM_MANAGE, "team_dev", NO },
	{ "usr_erin", AUTHZ_TEAM_MANAGE, "team_dev", NO },
	{ "sac_ci", AUTHZ_TEAM_VIEW, "team_dev", NO },
	{ "usr_badmin", AUTHZ_TEAM_VIEW, "team_dev", NF },
	{ "usr_admin", AUTHZ_TEAM_MANAGE, "team_b", NF },
	{ "usr_admin", AUTHZ_TEAM_VIEW, "team_none", NF },
	/* signed checkpoints and proofs: any caller of the tenant */
	{ "usr_dave", AUTHZ_AUDIT_PROOF, NULL, OK },
	{ "sac_ci", AUTHZ_AUDIT_PROOF, NULL, OK },
	/* approvals: members of the approval team only, admins not by role */
	{ "usr_bob", AUTHZ_APPROVAL_DECIDE, "team_dev", OK },
	{ "usr_carol", AUTHZ_APPROVAL_DECIDE, "team_dev", OK },
	{ "usr_admin", AUTHZ_APPROVAL_DECIDE, "team_dev", NO },
	{ "usr_erin", AUTHZ_APPROVAL_DECIDE, "team_dev", NO },
	{ "sac_ci", AUTHZ_APPROVAL_DECIDE, "team_dev", NO },
	{ "usr_badmin", AUTHZ_APPROVAL_DECIDE, "team_dev", NF },
	{ "usr_bob", AUTHZ_APPROVAL_DECIDE, "team_none", NF },
	/* service accounts */
	{ "usr_admin", AUTHZ_SA_CREATE, "team_dev", OK },
	{ "usr_carol", AUTHZ_SA_CREATE, "team_dev", OK },
	{ "usr_bob", AUTHZ_SA_CREATE, "team_dev", OK },
	{ "usr_erin", AUTHZ_SA_CREATE, "team_dev", NO },
	{ "sac_ci", AUTHZ_SA_CREATE, "team_dev", NO },
	{ "usr_bob", AUTHZ_SA_VIEW, "sac_ci", OK },
	{ "usr_bob", AUTHZ_SA_MANAGE, "sac_ci", OK },
	{ "usr_carol", AUTHZ_SA_MANAGE, "sac_ci", OK },
	{ "usr_admin", AUTHZ_SA_MANAGE, "sac_ci", OK },
	{ "usr_erin", AUTHZ_SA_VIEW, "sac_ci", NO },
	{ "usr_erin", AUTHZ_SA_MANAGE, "sac_other", OK },
	{ "usr_bob", AUTHZ_SA_MANAGE, "sac_other", NO },
	{ "usr_dave", AUTHZ_SA_VIEW, "sac_ci", NO },
	{ "sac_ci", AUTHZ_SA_VIEW, "sac_ci", NO },
	{ "sac_ci", AUTHZ_SA_MANAGE, "sac_ci", NO },
	{ "usr_admin", AUTHZ_SA_VIEW, "sac_b", NF },
	{ "usr_badmin", AUTHZ_SA_MANAGE, "sac_ci", NF },
	/* projects */
	{ "usr_admin", AUTHZ_PROJECT_MANAGE, "prj_1", OK },
	{ "usr_alice", AUTHZ_PROJECT_MANAGE, "prj_1", OK },
	{ "usr_alice", AUTHZ_PROJECT_VIEW, "prj_1", OK },
	{ "usr_bob", AUTHZ_PROJECT_VIEW, "prj_1", OK },
	{ "usr_bob", AUTHZ_PROJECT_MANAGE, "prj_1", NO },
	{ "usr_carol", AUTHZ_PROJECT_VIEW, "prj_1", OK },
	{ "usr_dave", AUTHZ_PROJECT_VIEW, "prj_1", NO },
	{ "usr_erin", AUTHZ_PROJECT_MANAGE, "prj_2", OK },
	{ "usr_erin", AUTHZ_PROJECT_MANAGE, "prj_1", NO },
	{ "usr_frank", AUTHZ_PROJECT_VIEW, "prj_2", OK },
	{ "usr_frank", AUTHZ_PROJECT_MANAGE, "prj_2", NO },
	{ "sac_ci", AUTHZ_PROJECT_VIEW, "prj_1", OK },
	{ "sac_ci", AUTHZ_PROJECT_MANAGE, "prj_1", NO },
	{ "sac_ci", AUTHZ_PROJECT_VIEW, "prj_2", NO },
	{ "usr_admin", AUTHZ_PROJECT_VIEW, "prj_b", NF },
	{ "usr_badmin", AUTHZ_PROJECT_VIEW, "prj_1", NF },
	{ "usr_badmin", AUTHZ_PROJECT_VIEW, "prj_2", NF },
	/* keys */
	{ "usr_admin", AUTHZ_KEY_VIEW, "skey_1", OK },
	{ "usr_admin", AUTHZ_KEY_MANAGE, "skey_1", OK },
	{ "usr_admin", AUTHZ_KEY_SIGN, "skey_1", NO },	/* not a signer */
	{ "usr_alice", AUTHZ_KEY_MANAGE, "skey_1", OK },
	{ "usr_alice", AUTHZ_KEY_VIEW, "skey_1", OK },
	{ "usr_alice", AUTHZ_KEY_SIGN, "skey_1", NO },	/* owner != signer */
	{ "usr_bob", AUTHZ_KEY_SIGN, "skey_1", OK },	/* via team_dev */
	{ "usr_carol", AUTHZ_KEY_SIGN, "skey_1", OK },
	{ "usr_bob", AUTHZ_KEY_VIEW, "skey_1", OK },
	{ "usr_bob", AUTHZ_KEY_MANAGE, "skey_1", NO },
	{ "usr_bob", AUTHZ_KEY_SIGN, "skey_2", NO },
	{ "usr_dave", AUTHZ_KEY_SIGN, "skey_1", NO },
	{ "usr_dave", AUTHZ_KEY_VIEW, "skey_1", NO },
	{ "usr_erin", AUTHZ_KEY_MANAGE, "skey_2", OK },	/* via owner team */
	{ "usr_erin", AUTHZ_KEY_SIGN, "skey_2", NO },
	{ "usr_frank", AUTHZ_KEY_SIGN, "skey_2", OK },
	{ "usr_frank", AUTHZ_KEY_SIGN, "skey_1", NO },
	{ "sac_ci", AUTHZ_KEY_SIGN, "skey_1", OK },
	{ "sac_ci", AUTHZ_KEY_VIEW, "skey_1", OK },
	{ "sac_ci", AUTHZ_KEY_MANAGE, "skey_1", NO },
	{ "sac_ci", AUTHZ_KEY_SIGN, "skey_2", NO },
	{ "sac_other", AUTHZ_KEY_SIGN, "skey_1", NO },
	{ "usr_admin", AUTHZ_KEY_VIEW, "skey_b", NF },
	{ "usr_admin", AUTHZ_KEY_SIGN, "skey_b", NF },
	{ "usr_badmin", AUTHZ_KEY_SIGN, "skey_1", NF },
	{ "usr_badmin", AUTHZ_KEY_SIGN, "skey_2", NF },	/* corrupt row ignored */
	{ "usr_badmin", AUTHZ_KEY_SIGN, "skey_b", OK },
	{ "usr_bob", AUTHZ_KEY_SIGN, "skey_none", NF },
	{ "usr_bob", AUTHZ_KEY_SIGN, "", NF },
	{ "usr_bob", AUTHZ_KEY_SIGN, "x' OR '1'='1", NF },
	{ NULL, 0, NULL, 0 },
};

static void
make_actor(const char *id, struct sn_actor *a)
{
	memset(a, 0, sizeof(*a));
	for (int i = 0; actors[i].id != NULL; i++) {
		if (strcmp(actors[i].id, id) == 0) {
			a->type = actors[i].type;
			snprintf(a->id, sizeof(a->id), "%s", actors[i].id);
			snprintf(a->tenant_id, sizeof(a->tenant_id), "%s",
			    actors[i].tenant);
			a->is_admin = actors[i].admin;
			return;
		}
	}
	fail_msg("unknown actor %s", id);
}

static void
test_matrix(void **state)
{
	char dir[256];
	struct db *db;
	struct db_conn *c;
	struct sn_actor a;
	int failures = 0, r;

	db = tu_db_open(1, dir);
	assert_int_equal(db_acquire(db, &c), 0);
	for (int i = 0; fixture[i] != NULL; i++)
		assert_int_equal(db_execf(c, fixture[i], ""), 0);
	for (int i = 0; rules[i].actor != NULL; i++) {
		make_actor(rules[i].actor, &a);
		r = authz_check(c, &a, rules[i].action, rules[i].object);
		if (r != rules[i].expect) {
			fprintf(stderr, "rule %d: %s %s %s: got %d, want %d\n",
			    i, rules[i].actor,
			    authz_action_name(rules[i].action),
			    rules[i].object ? rules[i].object : "-", r,
			    rules[i].expect);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
	/* Every action of the table's range has rules and a name. */
	for (int act = AUTHZ_TENANT_ADMIN; act <= AUTHZ_APPROVAL_DECIDE; act++) {
		int n = 0;

		for (int i = 0; rules[i].actor != NULL; i++)
			n += rules[i].action == (enum authz_action)act;
		if (n == 0 || strcmp(authz_action_name(
		    (enum authz_action)act), "unknown") == 0)
			fail_msg("action %d has no rules or no name", act);
	}

	/* An actor without identity is never authorised. */
	memset(&a, 0, sizeof(a));
	assert_int_equal(authz_check(c, &a, AUTHZ_TENANT_ADMIN, NULL),
	    SN_ERR_UNAUTHENTICATED);
	/* Removing bob from the team takes his signing right away. */
	assert_int_equal(db_execf(c, "DELETE FROM team_members WHERE "
	    "user_id = 'usr_bob'", ""), 0);
	make_actor("usr_bob", &a);
	assert_int_equal(authz_check(c, &a, AUTHZ_KEY_SIGN, "skey_1"), NO);
	db_release(c);
	tu_db_close(db, dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matrix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
