/*
 * test_resources.c - the resource handlers (teams, service accounts,
 * projects, keys, sign, CA) called directly, with a temporary SQLite
 * database and a real keeper over a temporary SoftHSM2 token.
 *
 * Every test has its own fixture (fixture_setup/fixture_teardown): a fresh
 * data directory, SoftHSM2 token, keeper and database with one tenant
 * "acme" (users admin/alice/bob/carol) and a second tenant "other", each
 * with its built-in CA. What a test needs beyond that it makes itself
 * through the same handlers, with the given_* helpers below, so the tests
 * run alone (`test_resources test_oauth`) and in any order. Each checks the
 * status, the body, the audit rows and, for refused changes, that no row
 * changed. Every response is checked for private key material, and the
 * teardown checks that both tenants' audit chains still verify.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <signal.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "alg.h"
#include "api.h"
#include "audit.h"
#include "auth.h"
#include "ca.h"
#include "ca_builtin.h"
#include "client.h"
#include "db.h"
#include "encode.h"
#include "err.h"
#include "keeper.h"
#include "server.h"
#include "stop_process.h"
#include "util.h"

#define TOKEN "Signet"

static char tmpdir[PATH_MAX], hsm_dir[PATH_MAX + 8], conf_path[PATH_MAX + 32],
    pin_path[PATH_MAX + 16], self_exe[PATH_MAX], db_path[PATH_MAX + 16];
static struct sn_server srv;
static struct sn_response R;		/* the last response */

static EVP_PKEY *sa_key_old, *sa_key_cur;	/* service account ci */
static struct sn_actor A_admin, A_alice, A_bob, A_carol, A_admin2, A_sa;

/* The keys given_keys makes: "k-ALG" in project app, by alice. */
static const char *const algs[] = { "rsa-2048", "rsa-3072", "rsa-4096",
    "ecdsa-p256", "ecdsa-p384" };
#define NALGS 5
#define K_RSA2048	(1u << 0)
#define K_RSA3072	(1u << 1)
#define K_RSA4096	(1u << 2)
#define K_P256		(1u << 3)
#define K_P384		(1u << 4)
#define K_ALL		((1u << NALGS) - 1)
static char key_ids[NALGS][64];

/* ---- harness ------------------------------------------------------------- */

static const struct api_route *const *tables(void)
{
	static const struct api_route *const t[] = { api_routes_teams,
	    api_routes_serviceaccounts, api_routes_projects, api_routes_keys,
	    api_routes_ca, api_routes_oauth, NULL };
	return t;
}

static const char *q_project, *q_name;

static const char *
query(const struct sn_request *req, const char *name)
{
	(void)req;
	if (strcmp(name, "project") == 0)
		return q_project;
	if (strcmp(name, "name") == 0)
		return q_name;
	return NULL;
}

static void
no_private_key_material(void)
{
	char *s;

	if (R.body != NULL) {
		s = json_dumps(R.body, JSON_ENCODE_ANY);
		assert_non_null(s);
		assert_null(strstr(s, "PRIVATE KEY"));
		free(s);
	}
	if (R.raw != NULL)
		assert_null(memmem(R.raw, R.raw_len, "PRIVATE KEY", 11));
}

/* Calls the handler of (method, pattern); returns the HTTP status. */
static int
callv(const struct sn_actor *a, const char *method, const char *pattern,
    const char *body, const char *p0, const char *p1, const char *p2)
{
	const struct api_route *const *t;
	const struct api_route *rt = NULL;
	struct sn_request req;
	int r;

	for (t = tables(); *t != NULL && rt == NULL; t++)
		for (const struct api_route *x = *t; x->method != NULL; x++)
			if (strcmp(x->method, method) == 0 &&
			    strcmp(x->pattern, pattern) == 0)
				rt = x;
	assert_non_null(rt);
	api_response_clear(&R);
	memset(&req, 0, sizeof(req));
	req.srv = &srv;
	req.method = method;
	req.path = pattern;
	req.params[0] = p0;
	req.params[1] = p1;
	req.params[2] = p2;
	req.nparams = p2 ? 3 : p1 ? 2 : p0 ? 1 : 0;
	req.source_ip = "127.0.0.1";
	req.query = query;
	if (a != NULL)
		req.actor = *a;
	if (body != NULL) {
		req.body = json_loads(body, JSON_REJECT_DUPLICATES |
		    JSON_DECODE_ANY, NULL);
		assert_non_null(req.body);
	}
	r = rt->handler(&req, &R);
	json_decref(req.body);
	if (R.status == 0)
		R.status = api_status_for(r);
	if (r == 0)
		assert_true(R.status >= 200 && R.status < 300);
	else
		assert_true(R.status >= 400);
	no_private_key_material();
	return R.status;
}

#define CALL(a, m, p, body) callv(a, m, p, body, NULL, NULL, NULL)
#define CALL1(a, m, p, body, x) callv(a, m, p, body, x, NULL, NULL)
#define CALL2(a, m, p, body, x, y) callv(a, m, p, body, x, y, NULL)
#define CALL3(a, m, p, body, x, y, z) callv(a, m, p, body, x, y, z)

static const char *
err_code(void)
{
	return json_string_value(json_object_get(json_object_get(R.body,
	    "error"), "code"));
}

static const char *
jstr(json_t *o, const char *path)
{
	/* "a.b.c" */
	char buf[256];
	const char *p = path, *dot;

	while (o != NULL && *p != '\0') {
		dot = strchr(p, '.');
		snprintf(buf, sizeof(buf), "%.*s", dot != NULL ?
		    (int)(dot - p) : (int)strlen(p), p);
		o = json_object_get(o, buf);
		p = dot != NULL ? dot + 1 : p + strlen(p);
	}
	return json_string_value(o);
}

static int64_t
count(const char *sql)
{
	struct db_conn *c = NULL;
	struct db_stmt *st = NULL;
	int64_t n = -1;

	assert_int_equal(db_acquire(srv.db, &c), 0);
	assert_int_equal(db_queryf(c, &st, sql, ""), DB_ROW);
	n = db_col_int64(st, 0);
	db_finalize(st);
	db_release(c);
	return n;
}

static void
exec(const char *sql)
{
	struct db_conn *c = NULL;

	assert_int_equal(db_acquire(srv.db, &c), 0);
	assert_int_equal(db_execf(c, sql, ""), 0);
	db_release(c);
}

/* Number of rows in the resource tables (not the audit trail). */
static int64_t
rows(void)
{
	return count("SELECT (SELECT count(*) FROM teams) + "
	    "(SELECT count(*) FROM team_members) + "
	    "(SELECT count(*) FROM service_accounts) + "
	    "(SELECT count(*) FROM projects) + "
	    "(SELECT count(*) FROM project_owners) + "
	    "(SELECT count(*) FROM project_signers) + "
	    "(SELECT count(*) FROM signing_keys) + "
	    "(SELECT count(*) FROM cas)");
}

static int64_t
audits(const char *action, const char *result)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit_events WHERE "
	    "action = '%s' AND result = '%s'", action, result);
	return count(sql);
}

/* A refused change: status, no row changed, one more "denied" event
 * ("error" for server faults). */
#define REFUSED_R(expect_status, action, result, call) do {		\
	int64_t r0_ = rows(), a0_ = audits(action, result);		\
	assert_int_equal((call), expect_status);			\
	assert_int_equal(rows(), r0_);					\
	assert_int_equal(audits(action, result), a0_ + 1);		\
} while (0)
#define REFUSED(expect_status, action, call) \
	REFUSED_R(expect_status, action, "denied", call)

static void
actor(struct sn_actor *a, enum sn_actor_type type, const char *id,
    const char *tenant, int admin, const char *name)
{
	memset(a, 0, sizeof(*a));
	a->type = type;
	snprintf(a->id, sizeof(a->id), "%s", id);
	snprintf(a->tenant_id, sizeof(a->tenant_id), "%s", tenant);
	a->is_admin = admin;
	snprintf(a->name, sizeof(a->name), "%s", name);
	/*
	 * A credential row behind the actor: the signing path decides again
	 * on the credential itself (auth_recheck), as it would for a real
	 * API key or access token.
	 */
	snprintf(a->credential_id, sizeof(a->credential_id), "%s_%s",
	    type == SN_ACTOR_USER ? "key" : "tok", id);
}

/*
 * The access token row behind A_sa (present = 1) or none (0): made only
 * around the tests in which the account signs, so the token counts of the
 * service-account tests stay exact.
 */
static void
sa_credential(int present)
{
	struct db_conn *c = NULL;

	assert_int_equal(db_acquire(srv.db, &c), 0);
	assert_int_equal(db_execf(c, "DELETE FROM access_tokens WHERE id = ?",
	    "t", A_sa.credential_id), 0);
	if (present)
		assert_int_equal(db_execf(c, "INSERT INTO access_tokens (id, "
		    "tenant_id, service_account_id, key_version, secret_hash, "
		    "created_at, expires_at) SELECT ?, tenant_id, id, "
		    "key_version, zeroblob(32), 1, 4102444800 FROM "
		    "service_accounts WHERE id = ?", "tt", A_sa.credential_id,
		    A_sa.id), 0);
	db_release(c);
}

static EVP_PKEY *
pem_pub(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *pk;

	assert_non_null(b);
	pk = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
	BIO_free(b);
	assert_non_null(pk);
	return pk;
}

static X509 *
pem_cert(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x;

	assert_non_null(b);
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	assert_non_null(x);
	return x;
}

static EVP_PKEY *
gen_key(const char *type, const char *param)
{
	EVP_PKEY *pk = NULL;

	if (strcmp(type, "RSA") == 0)
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)atol(param));
	else
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", param);
	assert_non_null(pk);
	return pk;
}

static char *
pub_pem(EVP_PKEY *pk)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL, *s;
	long n;

	assert_int_equal(PEM_write_bio_PUBKEY(b, pk), 1);
	n = BIO_get_mem_data(b, &p);
	s = strndup(p, (size_t)n);
	BIO_free(b);
	return s;
}

static char *
priv_pem(EVP_PKEY *pk)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL, *s;
	long n;

	assert_int_equal(PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL,
	    NULL), 1);
	n = BIO_get_mem_data(b, &p);
	s = strndup(p, (size_t)n);
	BIO_free(b);
	return s;
}

/* A JSON string literal of s (for building request bodies). */
static char *
jq(const char *s)
{
	json_t *j = json_string(s);
	char *out = json_dumps(j, JSON_ENCODE_ANY);

	json_decref(j);
	return out;
}

/* ---- setup --------------------------------------------------------------- */

/*
 * One fresh world per test: nothing a test makes or breaks (keys, a
 * stopped keeper, a trigger, counts of audit rows) is seen by another.
 */
static int
fixture_setup(void **state)
{
	struct keeper_config kc;
	struct db_conn *c = NULL;
	int r;

	(void)state;
	memset(&R, 0, sizeof(R));
	memset(key_ids, 0, sizeof(key_ids));
	memset(&A_sa, 0, sizeof(A_sa));
	q_project = q_name = NULL;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/signet-res-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(hsm_dir, sizeof(hsm_dir), "%s/hsm", tmpdir);
	snprintf(conf_path, sizeof(conf_path), "%s/softhsm2.conf", hsm_dir);
	snprintf(pin_path, sizeof(pin_path), "%s/pin", hsm_dir);
	snprintf(db_path, sizeof(db_path), "sqlite:%s/t.db", tmpdir);
	if ((r = keeper_init_softhsm_token(hsm_dir, SOFTHSM_MODULE, TOKEN)) != 0) {
		fprintf(stderr, "token init: %s\n", sn_strerror(r));
		return -1;
	}
	memset(&kc, 0, sizeof(kc));
	kc.module_path = SOFTHSM_MODULE;
	kc.token_label = TOKEN;
	kc.pin_file = pin_path;
	kc.softhsm_conf = conf_path;
	kc.self_exe = self_exe;
	kc.workers = 2;
	memset(&srv, 0, sizeof(srv));
	srv.cfg.public_url = "https://signet.test:8443/";
	srv.self_exe = self_exe;
	if ((r = keeper_start(&kc, &srv.keeper)) != 0) {
		fprintf(stderr, "keeper_start: %s\n", sn_strerror(r));
		return -1;
	}
	/* An RSA-4096 generation on a loaded test machine can pass 30 s; the
	 * tests that time the keeper out set their own timeouts. */
	keeper_set_call_timeout(srv.keeper, 120000);
	if ((r = db_open(db_path, 4, &srv.db)) != 0) {
		fprintf(stderr, "db_open: %s\n", sn_strerror(r));
		return -1;
	}
	if (db_acquire(srv.db, &c) != 0 ||
	    db_execf(c, "INSERT INTO tenants (id, name, created_at) VALUES "
	    "('ten_1', 'acme', 1), ('ten_2', 'other', 1)", "") != 0 ||
	    db_execf(c, "INSERT INTO users (id, tenant_id, email, role, "
	    "created_at) VALUES "
	    "('usr_admin', 'ten_1', 'admin@acme.test', 'admin', 1),"
	    "('usr_alice', 'ten_1', 'alice@acme.test', 'user', 1),"
	    "('usr_bob', 'ten_1', 'bob@acme.test', 'user', 1),"
	    "('usr_carol', 'ten_1', 'carol@acme.test', 'user', 1),"
	    "('usr_admin2', 'ten_2', 'admin@other.test', 'admin', 1),"
	    "('usr_dave', 'ten_2', 'dave@other.test', 'user', 1)", "") != 0 ||
	    db_execf(c, "INSERT INTO api_keys (id, tenant_id, user_id, "
	    "secret_hash, created_at) SELECT 'key_' || id, tenant_id, id, "
	    "zeroblob(32), 1 FROM users", "") != 0)
		return -1;
	if (db_begin(c) != 0 ||
	    (r = builtin_ca_create(&srv, c, "ten_1", "acme")) != 0 ||
	    (r = builtin_ca_create(&srv, c, "ten_2", "other")) != 0 ||
	    db_commit(c) != 0) {
		fprintf(stderr, "builtin_ca_create: %s\n", sn_strerror(r));
		return -1;
	}
	db_release(c);
	actor(&A_admin, SN_ACTOR_USER, "usr_admin", "ten_1", 1, "admin@acme.test");
	actor(&A_alice, SN_ACTOR_USER, "usr_alice", "ten_1", 0, "alice@acme.test");
	actor(&A_bob, SN_ACTOR_USER, "usr_bob", "ten_1", 0, "bob@acme.test");
	actor(&A_carol, SN_ACTOR_USER, "usr_carol", "ten_1", 0, "carol@acme.test");
	actor(&A_admin2, SN_ACTOR_USER, "usr_admin2", "ten_2", 1,
	    "admin@other.test");
	return 0;
}

/* Whatever a test did, both tenants' audit chains still verify. */
static int
chains_verify(void)
{
	static const char *const tenants[] = { "ten_1", "ten_2" };
	struct db_conn *c = NULL;
	int64_t n, bad;
	int ok = 1;

	if (srv.db == NULL || db_acquire(srv.db, &c) != 0)
		return 0;
	for (size_t i = 0; i < 2; i++) {
		n = bad = 0;
		if (audit_verify_chain(c, tenants[i], &n, &bad) != 0) {
			fprintf(stderr, "%s: audit chain broken at %lld\n",
			    tenants[i], (long long)bad);
			ok = 0;
		}
	}
	db_release(c);
	return ok;
}

static int
fixture_teardown(void **state)
{
	char cmd[PATH_MAX + 16];
	int ok;

	(void)state;
	ok = chains_verify();
	api_response_clear(&R);
	EVP_PKEY_free(sa_key_old);
	EVP_PKEY_free(sa_key_cur);
	sa_key_old = sa_key_cur = NULL;
	keeper_free(srv.keeper);
	srv.keeper = NULL;
	db_close(srv.db);
	srv.db = NULL;
	if (strncmp(tmpdir, "/tmp/signet-res-", 16) == 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	return ok ? 0 : -1;
}

/* ---- what tests build on: made through the handlers --------------------- */

/* Team dev (alice owner, bob member) and an empty team ops. */
static void
given_teams(void)
{
	assert_int_equal(CALL(&A_admin, "POST", "/v1/teams",
	    "{\"name\":\"dev\"}"), 201);
	assert_int_equal(CALL1(&A_admin, "POST", "/v1/teams/{id}/members",
	    "{\"user\":\"alice@acme.test\",\"owner\":true}", "dev"), 200);
	assert_int_equal(CALL1(&A_alice, "POST", "/v1/teams/{id}/members",
	    "{\"user\":\"usr_bob\"}", "dev"), 200);
	assert_int_equal(CALL(&A_admin, "POST", "/v1/teams",
	    "{\"name\":\"ops\"}"), 201);
}

static void sa_body(char *buf, size_t sz, const char *name, const char *team,
    const char *pem);

/*
 * Service account ci of team dev (A_sa), made by bob with sa_key_old and
 * rotated by alice to sa_key_cur. Needs given_teams.
 */
static void
given_service_account(void)
{
	char body[4096], *pem, *q;

	sa_key_old = gen_key("EC", "P-256");
	sa_key_cur = gen_key("EC", "P-384");
	pem = pub_pem(sa_key_old);
	sa_body(body, sizeof(body), "ci", "dev", pem);
	free(pem);
	assert_int_equal(CALL(&A_bob, "POST", "/v1/serviceaccounts", body), 201);
	actor(&A_sa, SN_ACTOR_SERVICE_ACCOUNT, jstr(R.body,
	    "service_account.id"), "ten_1", 0, "ci");
	pem = pub_pem(sa_key_cur);
	q = jq(pem);
	snprintf(body, sizeof(body), "{\"public_key\":%s}", q);
	free(q);
	free(pem);
	assert_int_equal(CALL1(&A_alice, "POST",
	    "/v1/serviceaccounts/{id}/rotate-key", body, "ci"), 200);
}

/*
 * Project app: alice owns it, bob and the service account ci sign with it.
 * Needs given_service_account.
 */
static void
given_project(void)
{
	assert_int_equal(CALL(&A_admin, "POST", "/v1/projects",
	    "{\"name\":\"app\"}"), 201);
	assert_int_equal(CALL1(&A_admin, "POST", "/v1/projects/{id}/owners",
	    "{\"user\":\"alice@acme.test\"}", "app"), 200);
	assert_int_equal(CALL1(&A_alice, "POST", "/v1/projects/{id}/signers",
	    "{\"user\":\"bob@acme.test\"}", "app"), 201);
	assert_int_equal(CALL1(&A_alice, "POST", "/v1/projects/{id}/signers",
	    "{\"service_account\":\"ci\"}", "app"), 201);
}

/* Teams, service account, project: everything a key needs. */
static void
given_world(void)
{
	given_teams();
	given_service_account();
	given_project();
}

/* Key k-ALG of project app (built-in CA, 90 days) for each bit of which;
 * its id in key_ids. Needs given_project. */
static void
given_keys(unsigned which)
{
	char body[256];

	for (int i = 0; i < NALGS; i++) {
		if ((which & (1u << i)) == 0)
			continue;
		snprintf(body, sizeof(body), "{\"project\":\"app\",\"name\":"
		    "\"k-%s\",\"algorithm\":\"%s\",\"validity\":\"90d\"}",
		    algs[i], algs[i]);
		assert_int_equal(CALL(&A_alice, "POST", "/v1/keys", body), 201);
		snprintf(key_ids[i], sizeof(key_ids[i]), "%s",
		    jstr(R.body, "key.id"));
	}
}

/* ---- teams --------------------------------------------------------------- */

static void
test_teams(void **state)
{
	(void)state;
	assert_int_equal(CALL(&A_admin, "POST", "/v1/teams", "{\"name\":\"dev\"}"),
	    201);
	assert_string_equal(jstr(R.body, "team.name"), "dev");
	assert_non_null(strstr(jstr(R.body, "team.id"), "team_"));
	assert_int_equal(json_array_size(json_object_get(json_object_get(R.body,
	    "team"), "members")), 0);
	assert_int_equal(audits("team.create", "ok"), 1);

	REFUSED(409, "team.create", CALL(&A_admin, "POST", "/v1/teams",
	    "{\"name\":\"dev\"}"));
	assert_string_equal(err_code(), "conflict");
	REFUSED(400, "team.create", CALL(&A_admin, "POST", "/v1/teams",
	    "{\"name\":\"bad name\"}"));
	REFUSED(400, "team.create", CALL(&A_admin, "POST", "/v1/teams",
	    "{\"name\":\"x\",\"extra\":1}"));
	REFUSED(400, "team.create", CALL(&A_admin, "POST", "/v1/teams",
	    "{\"name\":5}"));
	REFUSED(400, "team.create", CALL(&A_admin, "POST", "/v1/teams", "{}"));
	REFUSED(400, "team.create", CALL(&A_admin, "POST", "/v1/teams", "[1]"));
	REFUSED(400, "team.create", CALL(&A_admin, "POST", "/v1/teams", NULL));
	REFUSED(403, "team.create", CALL(&A_alice, "POST", "/v1/teams",
	    "{\"name\":\"ops\"}"));
	assert_string_equal(err_code(), "forbidden");

	/* Members: alice becomes owner; as owner she adds bob. */
	assert_int_equal(CALL1(&A_admin, "POST", "/v1/teams/{id}/members",
	    "{\"user\":\"alice@acme.test\",\"owner\":true}", "dev"), 200);
	assert_int_equal(CALL1(&A_alice, "POST", "/v1/teams/{id}/members",
	    "{\"user\":\"usr_bob\"}", "dev"), 200);
	{
		json_t *m = json_object_get(json_object_get(R.body, "team"),
		    "members");
		assert_int_equal(json_array_size(m), 2);
		assert_string_equal(jstr(json_array_get(m, 0), "email"),
		    "alice@acme.test");
		assert_true(json_is_true(json_object_get(json_array_get(m, 0),
		    "owner")));
		assert_true(json_is_false(json_object_get(json_array_get(m, 1),
		    "owner")));
	}
	/* Adding alice again without "owner" keeps her an owner. */
	assert_int_equal(CALL1(&A_admin, "POST", "/v1/teams/{id}/members",
	    "{\"user\":\"usr_alice\"}", "dev"), 200);
	assert_true(json_is_true(json_object_get(json_array_get(json_object_get(
	    json_object_get(R.body, "team"), "members"), 0), "owner")));
	/* bob is a member, not an owner: may view, not manage. */
	REFUSED(403, "team.member.add", CALL1(&A_bob, "POST",
	    "/v1/teams/{id}/members", "{\"user\":\"usr_carol\"}", "dev"));
	REFUSED(404, "team.member.add", CALL1(&A_admin, "POST",
	    "/v1/teams/{id}/members", "{\"user\":\"nobody@acme.test\"}", "dev"));
	REFUSED(404, "team.member.add", CALL1(&A_admin, "POST",
	    "/v1/teams/{id}/members", "{\"user\":\"dave@other.test\"}", "dev"));
	REFUSED(400, "team.member.add", CALL1(&A_admin, "POST",
	    "/v1/teams/{id}/members", "{\"user\":\"usr_bob\",\"owner\":\"yes\"}",
	    "dev"));
	REFUSED(404, "team.member.add", CALL1(&A_admin, "POST",
	    "/v1/teams/{id}/members", "{\"user\":\"usr_bob\"}", "nosuchteam"));
	assert_int_equal(CALL1(&A_bob, "GET", "/v1/teams/{id}", NULL, "dev"), 200);
	{
		int64_t v0 = audits("team.view", "denied");

		assert_int_equal(CALL1(&A_carol, "GET", "/v1/teams/{id}", NULL,
		    "dev"), 403);
		assert_int_equal(audits("team.view", "denied"), v0 + 1);
	}
	/* Another tenant cannot see it at all. */
	assert_int_equal(CALL1(&A_admin2, "GET", "/v1/teams/{id}", NULL, "dev"),
	    404);

	/* Lists: admin all, members their own, others none. */
	assert_int_equal(CALL(&A_admin, "POST", "/v1/teams", "{\"name\":\"ops\"}"),
	    201);
	assert_int_equal(CALL(&A_admin, "GET", "/v1/teams", NULL), 200);
	assert_int_equal(json_array_size(json_object_get(R.body, "teams")), 2);
	assert_int_equal(CALL(&A_bob, "GET", "/v1/teams", NULL), 200);
	assert_int_equal(json_array_size(json_object_get(R.body, "teams")), 1);
	assert_int_equal(CALL(&A_carol, "GET", "/v1/teams", NULL), 200);
	assert_int_equal(json_array_size(json_object_get(R.body, "teams")), 0);
	assert_int_equal(CALL(&A_admin2, "GET", "/v1/teams", NULL), 200);
	assert_int_equal(json_array_size(json_object_get(R.body, "teams")), 0);

	/* Remove. */
	assert_int_equal(CALL1(&A_admin, "POST", "/v1/teams/{id}/members",
	    "{\"user\":\"usr_carol\"}", "ops"), 200);
	assert_int_equal(CALL2(&A_admin, "DELETE",
	    "/v1/teams/{id}/members/{user}", NULL, "ops", "carol@acme.test"), 200);
	assert_int_equal(json_array_size(json_object_get(json_object_get(R.body,
	    "team"), "members")), 0);
	REFUSED(404, "team.member.remove", CALL2(&A_admin, "DELETE",
	    "/v1/teams/{id}/members/{user}", NULL, "ops", "carol@acme.test"));
	REFUSED(403, "team.member.remove", CALL2(&A_bob, "DELETE",
	    "/v1/teams/{id}/members/{user}", NULL, "dev", "usr_alice"));
	assert_int_equal(audits("team.member.remove", "ok"), 1);
}

/* ---- service accounts ---------------------------------------------------- */

static void
sa_body(char *buf, size_t sz, const char *name, const char *team,
    const char *pem)
{
	char *q = jq(pem);

	snprintf(buf, sz, "{\"name\":\"%s\",\"team\":\"%s\",\"public_key\":%s}",
	    name, team, q);
	free(q);
}

static void
test_service_accounts(void **state)
{
	EVP_PKEY *k1 = gen_key("EC", "P-256"), *k2 = gen_key("EC", "P-384"),
	    *weak = gen_key("RSA", "1024"), *p521 = gen_key("EC", "P-521"),
	    *rsa = gen_key("RSA", "2048");
	char *pem1 = pub_pem(k1), *pem2 = pub_pem(k2), *pemw = pub_pem(weak),
	    *pem521 = pub_pem(p521), *pemp = priv_pem(k1), *pemr = pub_pem(rsa);
	char body[8192], fp[65], sa_id[64];
	unsigned char *der = NULL, md[32];
	char *hex = NULL;
	int derlen;

	(void)state;
	given_teams();
	sa_body(body, sizeof(body), "ci", "dev", pem1);
	/* carol is not in team dev. */
	REFUSED(403, "service_account.create", CALL(&A_carol, "POST",
	    "/v1/serviceaccounts", body));
	/* bob (member) may create. */
	assert_int_equal(CALL(&A_bob, "POST", "/v1/serviceaccounts", body), 201);
	assert_string_equal(jstr(R.body, "service_account.key_algorithm"),
	    "ecdsa-p256");
	assert_string_equal(jstr(R.body, "service_account.team.name"), "dev");
	derlen = i2d_PUBKEY(k1, &der);
	assert_true(derlen > 0);
	assert_int_equal(EVP_Digest(der, (size_t)derlen, md, NULL, EVP_sha256(),
	    NULL), 1);
	assert_int_equal(sn_hex_encode(md, 32, &hex), 0);
	snprintf(fp, sizeof(fp), "%s", hex);
	assert_string_equal(jstr(R.body, "service_account.key_fingerprint"), fp);
	snprintf(sa_id, sizeof(sa_id), "%s", jstr(R.body, "service_account.id"));
	actor(&A_sa, SN_ACTOR_SERVICE_ACCOUNT, sa_id, "ten_1", 0, "ci");

	REFUSED(409, "service_account.create", CALL(&A_bob, "POST",
	    "/v1/serviceaccounts", body));
	sa_body(body, sizeof(body), "ci2", "dev", "not a pem");
	REFUSED(400, "service_account.create", CALL(&A_bob, "POST",
	    "/v1/serviceaccounts", body));
	sa_body(body, sizeof(body), "ci2", "dev", pemp);
	REFUSED(400, "service_account.create", CALL(&A_bob, "POST",
	    "/v1/serviceaccounts", body));
	sa_body(body, sizeof(body), "ci2", "dev", pemw);
	REFUSED(400, "service_account.create", CALL(&A_bob, "POST",
	    "/v1/serviceaccounts", body));
	sa_body(body, sizeof(body), "ci2", "dev", pem521);
	REFUSED(400, "service_account.create", CALL(&A_bob, "POST",
	    "/v1/serviceaccounts", body));
	sa_body(body, sizeof(body), "ci2", "nosuchteam", pem1);
	REFUSED(404, "service_account.create", CALL(&A_admin, "POST",
	    "/v1/serviceaccounts", body));
	REFUSED(400, "service_account.create", CALL(&A_admin, "POST",
	    "/v1/serviceaccounts", "{\"name\":\"x\",\"team\":\"dev\"}"));
	/* A service account may not manage anything. */
	sa_body(body, sizeof(body), "ci3", "dev", pemr);
	REFUSED(403, "service_account.create", CALL(&A_sa, "POST",
	    "/v1/serviceaccounts", body));
	assert_int_equal(CALL(&A_admin, "POST", "/v1/serviceaccounts", body), 201);
	assert_string_equal(jstr(R.body, "service_account.key_algorithm"),
	    "rsa-2048");

	/* Visibility. */
	assert_int_equal(CALL(&A_carol, "GET", "/v1/serviceaccounts", NULL), 200);
	assert_int_equal(json_array_size(json_object_get(R.body,
	    "service_accounts")), 0);
	assert_int_equal(CALL(&A_bob, "GET", "/v1/serviceaccounts", NULL), 200);
	assert_int_equal(json_array_size(json_object_get(R.body,
	    "service_accounts")), 2);
	assert_int_equal(CALL1(&A_carol, "GET", "/v1/serviceaccounts/{id}", NULL,
	    "ci"), 403);
	assert_int_equal(CALL1(&A_admin2, "GET", "/v1/serviceaccounts/{id}",
	    NULL, sa_id), 404);
	assert_int_equal(CALL1(&A_alice, "GET", "/v1/serviceaccounts/{id}", NULL,
	    "ci"), 200);

	/* Rotation drops the tokens issued under the old key. */
	{
		char sql[512];
		struct db_conn *c = NULL;

		assert_int_equal(db_acquire(srv.db, &c), 0);
		snprintf(sql, sizeof(sql), "INSERT INTO access_tokens (id, "
		    "tenant_id, service_account_id, key_version, secret_hash, "
		    "created_at, expires_at) VALUES ('tok_1', 'ten_1', ?, 1, "
		    "x'00', 1, 99999999999)");
		assert_int_equal(db_execf(c, sql, "t", sa_id), 0);
		db_release(c);
	}
	assert_int_equal(count("SELECT count(*) FROM access_tokens"), 1);
	free(hex);
	hex = jq(pem2);
	snprintf(body, sizeof(body), "{\"public_key\":%s}", hex);
	REFUSED(403, "service_account.rotate_key", CALL1(&A_carol, "POST",
	    "/v1/serviceaccounts/{id}/rotate-key", body, "ci"));
	assert_int_equal(count("SELECT count(*) FROM access_tokens"), 1);
	assert_int_equal(CALL1(&A_alice, "POST",
	    "/v1/serviceaccounts/{id}/rotate-key", body, "ci"), 200);
	assert_int_equal(count("SELECT count(*) FROM access_tokens"), 0);
	assert_string_equal(jstr(R.body, "service_account.key_algorithm"),
	    "ecdsa-p384");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    R.body, "service_account"), "key_version")), 2);
	assert_true(json_is_string(json_object_get(json_object_get(R.body,
	    "service_account"), "rotated_at")));
	REFUSED(400, "service_account.rotate_key", CALL1(&A_alice, "POST",
	    "/v1/serviceaccounts/{id}/rotate-key", "{\"public_key\":\"x\"}",
	    "ci"));
	REFUSED(400, "service_account.rotate_key", CALL1(&A_alice, "POST",
	    "/v1/serviceaccounts/{id}/rotate-key", "{\"public_key\":1}", "ci"));

	free(hex);
	free(der);
	free(pem1);
	free(pem2);
	free(pemw);
	free(pem521);
	free(pemp);
	free(pemr);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(weak);
	EVP_PKEY_free(p521);
	EVP_PKEY_free(rsa);
}

/* ---- projects ------------------------------------------------------------ */

static void
test_projects(void **state)
{
	char app_id[64];

	(void)state;
	given_teams();
	given_service_account();
	REFUSED(403, "project.create", CALL(&A_alice, "POST", "/v1/projects",
	    "{\"name\":\"app\"}"));
	assert_int_equal(CALL(&A_admin, "POST", "/v1/projects",
	    "{\"name\":\"app\"}"), 201);
	assert_string_equal(jstr(R.body, "project.name"), "app");
	snprintf(app_id, sizeof(app_id), "%s", jstr(R.body, "project.id"));
	REFUSED(409, "project.create", CALL(&A_admin, "POST", "/v1/projects",
	    "{\"name\":\"app\"}"));
	REFUSED(400, "project.create", CALL(&A_admin, "POST", "/v1/projects",
	    "{\"name\":\"-x\"}"));
	assert_int_equal(CALL(&A_admin2, "POST", "/v1/projects",
	    "{\"name\":\"app\"}"), 201);	/* names are per tenant */

	/* Owners: alice directly. */
	REFUSED(403, "project.owner.add", CALL1(&A_alice, "POST",
	    "/v1/projects/{id}/owners", "{\"user\":\"usr_alice\"}", "app"));
	assert_int_equal(CALL1(&A_admin, "POST", "/v1/projects/{id}/owners",
	    "{\"user\":\"alice@acme.test\"}", "app"), 200);
	assert_string_equal(jstr(json_array_get(json_object_get(json_object_get(
	    R.body, "project"), "owners"), 0), "name"), "alice@acme.test");
	REFUSED(409, "project.owner.add", CALL1(&A_admin, "POST",
	    "/v1/projects/{id}/owners", "{\"user\":\"usr_alice\"}", "app"));
	REFUSED(400, "project.owner.add", CALL1(&A_admin, "POST",
	    "/v1/projects/{id}/owners", "{\"user\":\"usr_alice\",\"team\":"
	    "\"dev\"}", "app"));
	REFUSED(400, "project.owner.add", CALL1(&A_admin, "POST",
	    "/v1/projects/{id}/owners", "{\"service_account\":\"ci\"}", "app"));
	REFUSED(404, "project.owner.add", CALL1(&A_admin, "POST",
	    "/v1/projects/{id}/owners", "{\"team\":\"nosuch\"}", "app"));

	/* Signers: bob (user), team ops, service account ci. */
	assert_int_equal(CALL1(&A_alice, "POST", "/v1/projects/{id}/signers",
	    "{\"user\":\"bob@acme.test\"}", "app"), 201);
	assert_int_equal(CALL1(&A_alice, "POST", "/v1/projects/{id}/signers",
	    "{\"team\":\"ops\"}", "app"), 201);
	assert_int_equal(CALL1(&A_alice, "POST", "/v1/projects/{id}/signers",
	    "{\"service_account\":\"ci\"}", "app"), 201);
	assert_int_equal(json_array_size(json_object_get(R.body, "signers")), 3);
	REFUSED(409, "project.signer.add", CALL1(&A_alice, "POST",
	    "/v1/projects/{id}/signers", "{\"user\":\"usr_bob\"}", "app"));
	REFUSED(404, "project.signer.add", CALL1(&A_alice, "POST",
	    "/v1/projects/{id}/signers", "{\"user\":\"dave@other.test\"}",
	    "app"));
	REFUSED(404, "project.signer.add", CALL1(&A_alice, "POST",
	    "/v1/projects/{id}/signers", "{\"service_account\":\"nosuch\"}",
	    "app"));
	REFUSED(403, "project.signer.add", CALL1(&A_bob, "POST",
	    "/v1/projects/{id}/signers", "{\"user\":\"usr_carol\"}", "app"));
	REFUSED(404, "project.signer.add", CALL1(&A_admin2, "POST",
	    "/v1/projects/{id}/signers", "{\"user\":\"usr_dave\"}",
	    app_id));
	REFUSED(400, "project.signer.add", CALL1(&A_alice, "POST",
	    "/v1/projects/{id}/signers", "{\"user\":\"usr_bob\",\"x\":1}",
	    "app"));
	assert_int_equal(CALL1(&A_alice, "GET", "/v1/projects/{id}/signers", NULL,
	    "app"), 200);
	assert_int_equal(json_array_size(json_object_get(R.body, "signers")), 3);
	assert_int_equal(CALL1(&A_bob, "GET", "/v1/projects/{id}/signers", NULL,
	    "app"), 403);
	/* Remove team ops again, and a link that does not exist. */
	assert_int_equal(CALL3(&A_alice, "DELETE",
	    "/v1/projects/{id}/signers/{type}/{principal}", NULL, "app", "team",
	    "ops"), 200);
	assert_int_equal(json_array_size(json_object_get(R.body, "signers")), 2);
	REFUSED(404, "project.signer.remove", CALL3(&A_alice, "DELETE",
	    "/v1/projects/{id}/signers/{type}/{principal}", NULL, "app", "team",
	    "ops"));
	REFUSED(400, "project.signer.remove", CALL3(&A_alice, "DELETE",
	    "/v1/projects/{id}/signers/{type}/{principal}", NULL, "app", "group",
	    "ops"));

	/* Visibility. */
	assert_int_equal(CALL(&A_bob, "GET", "/v1/projects", NULL), 200);
	assert_int_equal(json_array_size(json_object_get(R.body, "projects")), 1);
	assert_int_equal(CALL(&A_carol, "GET", "/v1/projects", NULL), 200);
	assert_int_equal(json_array_size(json_object_get(R.body, "projects")), 0);
	assert_int_equal(CALL1(&A_carol, "GET", "/v1/projects/{id}", NULL, "app"),
	    403);
	assert_int_equal(CALL1(&A_bob, "GET", "/v1/projects/{id}", NULL, "app"),
	    200);
}

/* ---- keys ---------------------------------------------------------------- */

/* Verifies leaf -> issuing -> root with OpenSSL, root as the trust anchor. */
static void
verify_chain(const char *leaf_pem, json_t *chain)
{
	X509 *leaf = pem_cert(leaf_pem), *iss, *root;
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();

	assert_int_equal(json_array_size(chain), 2);
	iss = pem_cert(json_string_value(json_array_get(chain, 0)));
	root = pem_cert(json_string_value(json_array_get(chain, 1)));
	assert_int_equal(X509_STORE_add_cert(store, root), 1);
	assert_true(sk_X509_push(untrusted, iss) > 0);
	assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, untrusted), 1);
	if (X509_verify_cert(ctx) != 1)
		fail_msg("chain does not verify: %s", X509_verify_cert_error_string(
		    X509_STORE_CTX_get_error(ctx)));
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	sk_X509_free(untrusted);
	X509_free(leaf);
	X509_free(iss);
	X509_free(root);
}

static void
test_keys_create(void **state)
{
	char body[512];
	int64_t r0;

	(void)state;
	given_world();
	for (int i = 0; i < NALGS; i++) {
		snprintf(body, sizeof(body), "{\"project\":\"app\",\"name\":"
		    "\"k-%s\",\"algorithm\":\"%s\",\"validity\":\"90d\"}", algs[i],
		    algs[i]);
		assert_int_equal(CALL(&A_alice, "POST", "/v1/keys", body), 201);
		json_t *k = json_object_get(R.body, "key");
		snprintf(key_ids[i], sizeof(key_ids[i]), "%s", jstr(k, "id"));
		assert_string_equal(jstr(k, "algorithm"), algs[i]);
		assert_string_equal(jstr(k, "state"), "active");
		assert_string_equal(jstr(k, "ca"), "builtin");
		assert_string_equal(jstr(k, "project.name"), "app");
		{
			char want[128];

			snprintf(want, sizeof(want), "CN=k-%s, OU=app, O=acme", algs[i]);
			assert_string_equal(jstr(k, "subject"), want);
		}
		/* The certificate is for the key's own public key. */
		{
			X509 *x = pem_cert(jstr(k, "certificate"));
			EVP_PKEY *pk = pem_pub(jstr(k, "public_key"));
			X509_NAME *sub;
			char cn[128];

			assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), pk), 1);
			sub = X509_get_subject_name(x);
			assert_true(X509_NAME_get_text_by_NID(sub, NID_commonName,
			    cn, sizeof(cn)) > 0);
			assert_string_equal(cn + 2, algs[i]);
			assert_int_equal(X509_get_ext_by_NID(x,
			    NID_crl_distribution_points, -1) >= 0, 1);
			X509_free(x);
			EVP_PKEY_free(pk);
		}
		assert_non_null(jstr(k, "certificate_serial"));
		/* PKCS#11 URI: object = PROJECT/KEY, id = the key id's bytes. */
		{
			char want[512], *p = want;
			const char *id = key_ids[i];

			p += snprintf(p, sizeof(want), "pkcs11:token=Signet;"
			    "object=app%%2Fk-%s;id=", algs[i]);
			for (; *id; id++)
				p += snprintf(p, 4, "%%%02X", (unsigned char)*id);
			snprintf(p, 16, ";type=private");
			assert_string_equal(jstr(k, "pkcs11_uri"), want);
		}
		assert_int_equal(CALL1(&A_bob, "GET", "/v1/keys/{id}/certificate",
		    NULL, key_ids[i]), 200);
		verify_chain(jstr(R.body, "certificate"),
		    json_object_get(R.body, "chain"));
	}
	assert_int_equal(audits("key.create", "ok"), NALGS);

	/* Bad input changes nothing (and makes no HSM key). */
	r0 = rows();
	REFUSED(409, "key.create", CALL(&A_alice, "POST", "/v1/keys",
	    "{\"project\":\"app\",\"name\":\"k-rsa-2048\",\"algorithm\":"
	    "\"ecdsa-p256\"}"));
	REFUSED(400, "key.create", CALL(&A_alice, "POST", "/v1/keys",
	    "{\"project\":\"app\",\"name\":\"k\",\"algorithm\":\"dsa-1024\"}"));
	REFUSED(400, "key.create", CALL(&A_alice, "POST", "/v1/keys",
	    "{\"project\":\"app\",\"name\":\"k\",\"algorithm\":\"ecdsa-p256\","
	    "\"validity\":-5}"));
	REFUSED(400, "key.create", CALL(&A_alice, "POST", "/v1/keys",
	    "{\"project\":\"app\",\"name\":\"k\",\"algorithm\":\"ecdsa-p256\","
	    "\"validity\":\"forever\"}"));
	REFUSED(400, "key.create", CALL(&A_alice, "POST", "/v1/keys",
	    "{\"project\":\"app\",\"name\":\"k\",\"algorithm\":\"ecdsa-p256\","
	    "\"validity\":\"15y\"}"));	/* beyond the issuing CA */
	REFUSED(400, "key.create", CALL(&A_alice, "POST", "/v1/keys",
	    "{\"project\":\"app\",\"name\":\"k\",\"algorithm\":\"ecdsa-p256\","
	    "\"ca\":\"letsencrypt\"}"));
	REFUSED(400, "key.create", CALL(&A_alice, "POST", "/v1/keys",
	    "{\"project\":\"app\",\"name\":\"k\",\"algorithm\":\"ecdsa-p256\","
	    "\"subject\":\"no equals sign\"}"));
	REFUSED(400, "key.create", CALL(&A_alice, "POST", "/v1/keys",
	    "{\"project\":\"app\",\"name\":\"k\",\"algorithm\":\"ecdsa-p256\","
	    "\"allow_sha1\":\"yes\"}"));
	REFUSED(400, "key.create", CALL(&A_alice, "POST", "/v1/keys",
	    "{\"project\":\"app\",\"name\":\"k\",\"algorithm\":\"ecdsa-p256\","
	    "\"private_key\":\"x\"}"));
	REFUSED(400, "key.create", CALL(&A_alice, "POST", "/v1/keys",
	    "{\"project\":\"app\",\"algorithm\":\"ecdsa-p256\"}"));
	REFUSED(400, "key.create", CALL(&A_alice, "POST", "/v1/keys",
	    "{\"project\":\"app\",\"name\":\"a b\",\"algorithm\":\"ecdsa-p256\"}"));
	REFUSED(404, "key.create", CALL(&A_alice, "POST", "/v1/keys",
	    "{\"project\":\"nosuch\",\"name\":\"k\",\"algorithm\":\"ecdsa-p256\"}"));
	REFUSED(403, "key.create", CALL(&A_bob, "POST", "/v1/keys",
	    "{\"project\":\"app\",\"name\":\"k\",\"algorithm\":\"ecdsa-p256\"}"));
	REFUSED(403, "key.create", CALL(&A_sa, "POST", "/v1/keys",
	    "{\"project\":\"app\",\"name\":\"k\",\"algorithm\":\"ecdsa-p256\"}"));
	REFUSED(404, "key.create", CALL(&A_admin2, "POST", "/v1/keys",
	    "{\"project\":\"prj_x\",\"name\":\"k\",\"algorithm\":\"ecdsa-p256\"}"));
	assert_int_equal(rows(), r0);

	/* Keeper down: 503 with retry_after, nothing created. */
	{
		struct keeper *kp = srv.keeper;

		srv.keeper = NULL;
		REFUSED_R(503, "key.create", "error", CALL(&A_alice, "POST", "/v1/keys",
		    "{\"project\":\"app\",\"name\":\"k\",\"algorithm\":"
		    "\"ecdsa-p256\"}"));
		assert_true(R.retry_after > 0);
		srv.keeper = kp;
	}

	/* Listing and lookups. */
	assert_int_equal(CALL(&A_bob, "GET", "/v1/keys", NULL), 200);
	assert_int_equal(json_array_size(json_object_get(R.body, "keys")), NALGS);
	assert_int_equal(CALL(&A_carol, "GET", "/v1/keys", NULL), 200);
	assert_int_equal(json_array_size(json_object_get(R.body, "keys")), 0);
	q_project = "app";
	q_name = "k-ecdsa-p256";
	assert_int_equal(CALL(&A_bob, "GET", "/v1/keys", NULL), 200);
	assert_int_equal(json_array_size(json_object_get(R.body, "keys")), 1);
	q_project = "nosuch";
	assert_int_equal(CALL(&A_bob, "GET", "/v1/keys", NULL), 404);
	q_project = q_name = NULL;
	assert_int_equal(CALL1(&A_bob, "GET", "/v1/keys/{id}", NULL,
	    "app/k-ecdsa-p384"), 200);
	assert_string_equal(jstr(R.body, "key.id"), key_ids[4]);
	assert_int_equal(CALL1(&A_bob, "GET", "/v1/keys/{id}", NULL,
	    "k-ecdsa-p384"), 200);
	assert_int_equal(CALL1(&A_carol, "GET", "/v1/keys/{id}", NULL,
	    key_ids[0]), 403);
	assert_int_equal(audits("key.view", "denied"), 1);
	assert_int_equal(CALL1(&A_admin2, "GET", "/v1/keys/{id}", NULL,
	    key_ids[0]), 404);
	assert_int_equal(CALL1(&A_bob, "GET", "/v1/keys/{id}", NULL,
	    "skey_nosuch"), 404);
}

/* ---- sign ---------------------------------------------------------------- */

static int
verify_sig(const char *pub_pem_s, enum sn_mech mech, enum sn_hash h,
    const uint8_t *d, size_t dlen, const uint8_t *sig, size_t siglen)
{
	EVP_PKEY *pk = pem_pub(pub_pem_s);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pk, NULL);
	int ok;

	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
	if (mech == SN_MECH_RSA_PKCS)
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx,
		    RSA_PKCS1_PADDING), 1);
	if (mech == SN_MECH_RSA_PSS) {
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx,
		    RSA_PKCS1_PSS_PADDING), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx,
		    (int)dlen), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx,
		    sn_hash_md(h)), 1);
	}
	assert_int_equal(EVP_PKEY_CTX_set_signature_md(ctx, sn_hash_md(h)), 1);
	ok = EVP_PKEY_verify(ctx, sig, siglen, d, dlen) == 1;
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return ok;
}

static char *
digest_b64(enum sn_hash h, uint8_t *d, size_t *dlen)
{
	char *b = NULL;

	*dlen = sn_hash_len(h);
	assert_int_equal(sn_random_bytes(d, *dlen), 0);
	assert_int_equal(sn_b64_encode(d, *dlen, &b), 0);
	return b;
}

static void
test_sign_all(void **state)
{
	static const enum sn_hash hashes[] = { SN_HASH_SHA256, SN_HASH_SHA384,
	    SN_HASH_SHA512 };
	static const enum sn_mech mechs[] = { SN_MECH_RSA_PKCS, SN_MECH_RSA_PSS,
	    SN_MECH_ECDSA };
	uint8_t d[64], *sig = NULL;
	size_t dlen, siglen;
	char body[1024], pub[4096], *b64;
	const struct sn_actor *signer;
	int64_t n0 = audits("key.sign", "ok"), expect = 0;
	uint64_t sigs0 = srv.n_signatures;

	(void)state;
	given_world();
	given_keys(K_ALL);
	sa_credential(1);
	for (int i = 0; i < NALGS; i++) {
		enum sn_key_alg alg = sn_key_alg_from_name(algs[i]);

		assert_int_equal(CALL1(&A_bob, "GET", "/v1/keys/{id}", NULL,
		    key_ids[i]), 200);
		snprintf(pub, sizeof(pub), "%s", jstr(R.body, "key.public_key"));
		for (size_t m = 0; m < 3; m++) {
			if (!sn_key_alg_allows_mech(alg, mechs[m]))
				continue;
			for (size_t h = 0; h < 3; h++) {
				/* bob directly; the service account too. */
				signer = (h == 1) ? &A_sa : &A_bob;
				b64 = digest_b64(hashes[h], d, &dlen);
				snprintf(body, sizeof(body), "{\"mechanism\":\"%s\","
				    "\"digest_algorithm\":\"%s\",\"digest\":\"%s\","
				    "\"client\":{\"hostname\":\"build1\","
				    "\"process\":\"osslsigncode\",\"user\":\"ci\"}}",
				    sn_mech_name(mechs[m]), sn_hash_name(hashes[h]),
				    b64);
				free(b64);
				assert_int_equal(CALL1(signer, "POST",
				    "/v1/keys/{id}/sign", body, key_ids[i]), 200);
				assert_int_equal(sn_b64_decode(jstr(R.body,
				    "signature"), strlen(jstr(R.body, "signature")),
				    &sig, &siglen), 0);
				assert_true(verify_sig(pub, mechs[m], hashes[h], d,
				    dlen, sig, siglen));
				/* A flipped digest does not verify. */
				d[0] ^= 1;
				assert_false(verify_sig(pub, mechs[m], hashes[h], d,
				    dlen, sig, siglen));
				free(sig);
				expect++;
			}
		}
	}
	assert_int_equal(audits("key.sign", "ok"), n0 + expect);
	assert_int_equal(srv.n_signatures - sigs0, (uint64_t)expect);

	/* The event names the key, digest, mechanism and client. */
	{
		struct db_conn *c = NULL;
		struct db_stmt *st = NULL;
		json_t *det;

		assert_int_equal(db_acquire(srv.db, &c), 0);
		assert_int_equal(db_queryf(c, &st, "SELECT details, actor_id FROM "
		    "audit_events WHERE action = 'key.sign' ORDER BY seq DESC "
		    "LIMIT 1", ""), DB_ROW);
		det = json_loads(db_col_text(st, 0), 0, NULL);
		assert_non_null(det);
		assert_string_equal(jstr(det, "key"), key_ids[NALGS - 1]);
		assert_string_equal(jstr(det, "mechanism"), "ecdsa");
		assert_string_equal(jstr(det, "digest_algorithm"), "sha512");
		assert_int_equal(strlen(jstr(det, "digest")), 128);
		assert_string_equal(jstr(det, "client.hostname"), "build1");
		assert_string_equal(jstr(det, "client.process"), "osslsigncode");
		assert_string_equal(db_col_text(st, 1), "usr_bob");
		json_decref(det);
		db_finalize(st);
		db_release(c);
	}

	/* Batch: 64 digests on one key, each verifies; one audit event. */
	{
		uint8_t ds[64][32];
		json_t *req = json_object(), *arr = json_array(), *sigs;
		char *s;

		n0 = audits("key.sign", "ok");
		for (int j = 0; j < 64; j++) {
			b64 = digest_b64(SN_HASH_SHA256, ds[j], &dlen);
			json_array_append_new(arr, json_string(b64));
			free(b64);
		}
		json_object_set_new(req, "mechanism", json_string("rsa-pss"));
		json_object_set_new(req, "digest_algorithm", json_string("sha256"));
		json_object_set_new(req, "digests", arr);
		s = json_dumps(req, 0);
		assert_int_equal(CALL1(&A_bob, "POST", "/v1/keys/{id}/sign", s,
		    key_ids[0]), 200);
		free(s);
		assert_int_equal(CALL1(&A_bob, "GET", "/v1/keys/{id}", NULL,
		    key_ids[0]), 200);
		snprintf(pub, sizeof(pub), "%s", jstr(R.body, "key.public_key"));
		assert_int_equal(CALL1(&A_bob, "POST", "/v1/keys/{id}/sign",
		    (s = json_dumps(req, 0)), key_ids[0]), 200);
		free(s);
		sigs = json_object_get(R.body, "signatures");
		assert_int_equal(json_array_size(sigs), 64);
		for (int j = 0; j < 64; j++) {
			const char *x = json_string_value(json_array_get(sigs, j));

			assert_int_equal(sn_b64_decode(x, strlen(x), &sig,
			    &siglen), 0);
			assert_true(verify_sig(pub, SN_MECH_RSA_PSS,
			    SN_HASH_SHA256, ds[j], 32, sig, siglen));
			free(sig);
		}
		assert_int_equal(audits("key.sign", "ok"), n0 + 2);
		/* 65 digests: too large, denied, audited. */
		b64 = digest_b64(SN_HASH_SHA256, ds[0], &dlen);
		json_array_append_new(json_object_get(req, "digests"),
		    json_string(b64));
		free(b64);
		s = json_dumps(req, 0);
		REFUSED(413, "key.sign", CALL1(&A_bob, "POST",
		    "/v1/keys/{id}/sign", s, key_ids[0]));
		assert_null(json_object_get(R.body, "signatures"));
		free(s);
		json_object_set_new(req, "digests", json_array());
		s = json_dumps(req, 0);
		REFUSED(400, "key.sign", CALL1(&A_bob, "POST",
		    "/v1/keys/{id}/sign", s, key_ids[0]));
		free(s);
		json_decref(req);
	}
	sa_credential(0);
}

static void
sign_body(char *buf, size_t sz, const char *mech, const char *hash,
    size_t dlen)
{
	uint8_t d[80];
	char *b64 = NULL;

	assert_true(dlen <= sizeof(d));
	memset(d, 0x5a, dlen);
	assert_int_equal(sn_b64_encode(d, dlen, &b64), 0);
	snprintf(buf, sz, "{\"mechanism\":\"%s\",\"digest_algorithm\":\"%s\","
	    "\"digest\":\"%s\"}", mech, hash, b64);
	free(b64);
}

#define SIGN_REFUSED(status, actor_, body_, key_) do {			\
	REFUSED(status, "key.sign", CALL1(actor_, "POST",		\
	    "/v1/keys/{id}/sign", body_, key_));			\
	assert_null(json_object_get(R.body, "signature"));		\
} while (0)

static void
test_sign_refusals(void **state)
{
	const char *ec = key_ids[3], *rsa = key_ids[0];
	char ok_ec[256], body[512];
	uint64_t f0 = srv.n_sign_failures;

	(void)state;
	given_world();
	given_keys(K_RSA2048 | K_P256);
	sign_body(ok_ec, sizeof(ok_ec), "ecdsa", "sha256", 32);
	assert_int_equal(CALL1(&A_bob, "POST", "/v1/keys/{id}/sign", ok_ec, ec),
	    200);

	/* Not a signer: carol; the admin by role alone; the other tenant. */
	SIGN_REFUSED(403, &A_carol, ok_ec, ec);
	SIGN_REFUSED(403, &A_admin, ok_ec, ec);
	SIGN_REFUSED(403, &A_alice, ok_ec, ec);	/* owner, not signer */
	SIGN_REFUSED(404, &A_admin2, ok_ec, ec);
	SIGN_REFUSED(404, &A_bob, ok_ec, "skey_nosuch");

	/* Bad input. */
	sign_body(body, sizeof(body), "ecdsa", "sha256", 31);
	SIGN_REFUSED(400, &A_bob, body, ec);
	sign_body(body, sizeof(body), "ecdsa", "sha256", 33);
	SIGN_REFUSED(400, &A_bob, body, ec);
	sign_body(body, sizeof(body), "ecdsa", "sha384", 32);
	SIGN_REFUSED(400, &A_bob, body, ec);
	sign_body(body, sizeof(body), "rsa-pkcs1", "sha256", 32);
	SIGN_REFUSED(400, &A_bob, body, ec);		/* mech/alg mismatch */
	sign_body(body, sizeof(body), "ecdsa", "sha256", 32);
	SIGN_REFUSED(400, &A_bob, body, rsa);
	sign_body(body, sizeof(body), "dsa", "sha256", 32);
	SIGN_REFUSED(400, &A_bob, body, ec);
	sign_body(body, sizeof(body), "ecdsa", "md5", 32);
	SIGN_REFUSED(400, &A_bob, body, ec);
	sign_body(body, sizeof(body), "ecdsa", "sha1", 20);
	SIGN_REFUSED(400, &A_bob, body, ec);		/* sha1 not allowed */
	SIGN_REFUSED(400, &A_bob, "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":"
	    "\"sha256\",\"digest\":\"!!!notbase64!!!\"}", ec);
	SIGN_REFUSED(400, &A_bob, "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":"
	    "\"sha256\",\"digest\":\"AAAA AAAA\"}", ec);
	SIGN_REFUSED(400, &A_bob, "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":"
	    "\"sha256\",\"digest\":12}", ec);
	SIGN_REFUSED(400, &A_bob, "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":"
	    "\"sha256\"}", ec);
	SIGN_REFUSED(400, &A_bob, "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":"
	    "\"sha256\",\"digest\":\"AAAA\",\"digests\":[\"AAAA\"]}", ec);
	SIGN_REFUSED(400, &A_bob, "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":"
	    "\"sha256\",\"digests\":\"AAAA\"}", ec);
	SIGN_REFUSED(400, &A_bob, "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":"
	    "\"sha256\",\"digest\":\"AAAA\",\"extra\":true}", ec);
	SIGN_REFUSED(400, &A_bob, "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":"
	    "\"sha256\",\"digest\":\"AAAA\",\"client\":{\"pid\":1}}", ec);
	SIGN_REFUSED(400, &A_bob, "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":"
	    "\"sha256\",\"digest\":\"AAAA\",\"client\":\"x\"}", ec);
	SIGN_REFUSED(400, &A_bob, "[]", ec);
	SIGN_REFUSED(400, &A_bob, NULL, ec);

	/* Key states. */
	assert_int_equal(CALL1(&A_alice, "POST", "/v1/keys/{id}/disable", NULL,
	    ec), 200);
	assert_string_equal(jstr(R.body, "key.state"), "disabled");
	SIGN_REFUSED(409, &A_bob, ok_ec, ec);
	assert_int_equal(CALL1(&A_alice, "POST", "/v1/keys/{id}/enable", NULL,
	    ec), 200);
	assert_int_equal(CALL1(&A_bob, "POST", "/v1/keys/{id}/sign", ok_ec, ec),
	    200);
	exec("UPDATE signing_keys SET not_after = 1000 WHERE name = 'k-ecdsa-p256'");
	assert_int_equal(CALL1(&A_bob, "GET", "/v1/keys/{id}", NULL, ec), 200);
	assert_string_equal(jstr(R.body, "key.state"), "expired");
	SIGN_REFUSED(409, &A_bob, ok_ec, ec);
	exec("UPDATE signing_keys SET not_after = not_before + 86400 * 90, "
	    "not_before = 99999999999 WHERE name = 'k-ecdsa-p256'");
	SIGN_REFUSED(409, &A_bob, ok_ec, ec);		/* not yet valid */
	exec("UPDATE signing_keys SET not_before = created_at, not_after = "
	    "created_at + 86400 * 90 WHERE name = 'k-ecdsa-p256'");
	assert_int_equal(CALL1(&A_bob, "POST", "/v1/keys/{id}/sign", ok_ec, ec),
	    200);

	/* Keeper unavailable: 503 with retry_after, audited as an error. */
	{
		struct keeper *kp = srv.keeper;
		int64_t e0 = audits("key.sign", "error");

		srv.keeper = NULL;
		assert_int_equal(CALL1(&A_bob, "POST", "/v1/keys/{id}/sign",
		    ok_ec, ec), 503);
		assert_true(R.retry_after > 0);
		assert_null(json_object_get(R.body, "signature"));
		srv.keeper = kp;
		assert_int_equal(audits("key.sign", "error"), e0 + 1);
	}

	/* Audit write fails: no signature is released. */
	{
		int64_t ok0 = audits("key.sign", "ok");

		exec("CREATE TRIGGER no_sign_audit BEFORE INSERT ON audit_events "
		    "WHEN NEW.action = 'key.sign' BEGIN SELECT RAISE(ABORT, "
		    "'audit down'); END");
		assert_true(CALL1(&A_bob, "POST", "/v1/keys/{id}/sign", ok_ec,
		    ec) >= 500);
		assert_null(json_object_get(R.body, "signature"));
		exec("DROP TRIGGER no_sign_audit");
		assert_int_equal(audits("key.sign", "ok"), ok0);
	}
	assert_true(srv.n_sign_failures > f0);

	/* SHA-1 when the key's policy allows it. */
	assert_int_equal(CALL(&A_alice, "POST", "/v1/keys", "{\"project\":\"app\","
	    "\"name\":\"legacy\",\"algorithm\":\"ecdsa-p256\",\"allow_sha1\":true,"
	    "\"ca\":\"none\"}"), 201);
	assert_true(json_is_true(json_object_get(json_object_get(R.body, "key"),
	    "allow_sha1")));
	assert_true(json_is_null(json_object_get(json_object_get(R.body, "key"),
	    "certificate")));
	sign_body(body, sizeof(body), "ecdsa", "sha1", 20);
	assert_int_equal(CALL1(&A_bob, "POST", "/v1/keys/{id}/sign", body,
	    "app/legacy"), 200);
}

/* ---- the keeper stalls; many signers at once ----------------------------- */

static void
test_sign_keeper_stalled(void **state)
{
	char body[256];
	pid_t pid = keeper_pid(srv.keeper);
	int64_t e0 = audits("key.sign", "error"), ok0 = audits("key.sign", "ok");

	(void)state;
	/* a failed earlier test may leave no keeper: never kill(-1, ...) */
	assert_true(pid > 0);
	given_world();
	given_keys(K_P384);
	sign_body(body, sizeof(body), "ecdsa", "sha384", 48);
	assert_true(pid > 0);
	keeper_set_call_timeout(srv.keeper, 300);
	stop_process(pid);
	assert_int_equal(CALL1(&A_bob, "POST", "/v1/keys/{id}/sign", body,
	    key_ids[4]), 503);
	assert_true(R.retry_after > 0);
	assert_null(json_object_get(R.body, "signature"));
	assert_int_equal(audits("key.sign", "error"), e0 + 1);
	assert_int_equal(audits("key.sign", "ok"), ok0);
	keeper_set_call_timeout(srv.keeper, 30000);
	(void)kill(pid, SIGCONT);
	/* The stuck keeper was replaced; signing works again. */
	assert_int_equal(CALL1(&A_bob, "POST", "/v1/keys/{id}/sign", body,
	    key_ids[4]), 200);
	assert_int_not_equal(keeper_pid(srv.keeper), pid);
}

#define NTHREADS 4
#define PER_THREAD 10

struct signer_thread {
	const char *key;
	int ok, bad;
};

static void *
signer_main(void *arg)
{
	struct signer_thread *t = arg;
	const struct api_route *rt = NULL;
	char body[256];

	for (const struct api_route *x = api_routes_keys; x->method != NULL; x++)
		if (strcmp(x->pattern, "/v1/keys/{id}/sign") == 0)
			rt = x;
	snprintf(body, sizeof(body), "{\"mechanism\":\"rsa-pss\","
	    "\"digest_algorithm\":\"sha256\",\"digest\":"
	    "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}");
	for (int i = 0; i < PER_THREAD && rt != NULL; i++) {
		struct sn_request req;
		struct sn_response resp;

		memset(&req, 0, sizeof(req));
		memset(&resp, 0, sizeof(resp));
		req.srv = &srv;
		req.method = "POST";
		req.params[0] = t->key;
		req.nparams = 1;
		req.source_ip = "127.0.0.1";
		req.actor = A_bob;
		req.body = json_loads(body, 0, NULL);
		if (rt->handler(&req, &resp) == 0 &&
		    json_object_get(resp.body, "signature") != NULL)
			t->ok++;
		else
			t->bad++;
		json_decref(req.body);
		api_response_clear(&resp);
	}
	return NULL;
}

static void
test_sign_concurrent(void **state)
{
	pthread_t th[NTHREADS];
	struct signer_thread st[NTHREADS];
	int64_t ok0 = audits("key.sign", "ok");
	struct db_conn *c = NULL;
	int64_t n = 0, bad = 0;

	(void)state;
	given_world();
	given_keys(K_RSA2048 | K_RSA3072);
	for (int i = 0; i < NTHREADS; i++) {
		memset(&st[i], 0, sizeof(st[i]));
		st[i].key = key_ids[i % 2 == 0 ? 0 : 1];
		assert_int_equal(pthread_create(&th[i], NULL, signer_main,
		    &st[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(st[i].ok, PER_THREAD);
		assert_int_equal(st[i].bad, 0);
	}
	/* One committed event per signature, and the chain is intact. */
	assert_int_equal(audits("key.sign", "ok"), ok0 + NTHREADS * PER_THREAD);
	assert_int_equal(db_acquire(srv.db, &c), 0);
	assert_int_equal(audit_verify_chain(c, "ten_1", &n, &bad), 0);
	db_release(c);
}

struct one_sign {
	const char *key;
	int status, has_sig;
};

static void *
one_sign_main(void *arg)
{
	struct one_sign *o = arg;
	const struct api_route *rt = NULL;
	struct sn_request req;
	struct sn_response resp;

	for (const struct api_route *x = api_routes_keys; x->method != NULL; x++)
		if (strcmp(x->pattern, "/v1/keys/{id}/sign") == 0)
			rt = x;
	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	req.srv = &srv;
	req.method = "POST";
	req.params[0] = o->key;
	req.nparams = 1;
	req.source_ip = "127.0.0.1";
	req.actor = A_bob;
	req.body = json_loads("{\"mechanism\":\"rsa-pss\","
	    "\"digest_algorithm\":\"sha256\",\"digest\":"
	    "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}", 0, NULL);
	(void)rt->handler(&req, &resp);
	o->status = resp.status;
	o->has_sig = json_object_get(resp.body, "signature") != NULL;
	json_decref(req.body);
	api_response_clear(&resp);
	return NULL;
}

/*
 * Review finding: the key state was checked only before the HSM call, so a
 * key disabled (or revoked, or a signer removed) while the keeper was
 * signing still released its signature. The keeper is stopped so that the
 * signing request waits inside keeper_sign while the key is disabled.
 */
static void
test_sign_disabled_while_signing(void **state)
{
	struct one_sign o = { key_ids[0], 0, 0 };
	pid_t pid = keeper_pid(srv.keeper);
	int64_t ok0 = audits("key.sign", "ok");
	int64_t denied0 = audits("key.sign", "denied");
	pthread_t th;

	(void)state;
	/* a failed earlier test may leave no keeper: never kill(-1, ...) */
	assert_true(pid > 0);
	given_world();
	given_keys(K_RSA2048);
	assert_true(pid > 0);
	stop_process(pid);
	assert_int_equal(pthread_create(&th, NULL, one_sign_main, &o), 0);
	usleep(500 * 1000);	/* the request is waiting for the keeper */
	assert_int_equal(CALL1(&A_admin, "POST", "/v1/keys/{id}/disable", NULL,
	    key_ids[0]), 200);
	assert_int_equal(kill(pid, SIGCONT), 0);
	pthread_join(th, NULL);
	assert_int_equal(o.status, 409);
	assert_false(o.has_sig);
	assert_int_equal(audits("key.sign", "ok"), ok0);
	assert_int_equal(audits("key.sign", "denied"), denied0 + 1);
	assert_int_equal(CALL1(&A_admin, "POST", "/v1/keys/{id}/enable", NULL,
	    key_ids[0]), 200);
}

/*
 * Review finding: a signing request held its pooled database connection
 * while waiting for the HSM, so a stuck keeper and as many signing
 * requests as the pool has connections (4 here) blocked every other
 * request until the pool timed out (503). The keeper's call timeout is set
 * above the pool's 30 s so that only the fix makes the read succeed.
 */
static void
test_sign_does_not_hold_db(void **state)
{
	struct one_sign o[4];
	pthread_t th[4];
	pid_t pid = keeper_pid(srv.keeper);
	time_t t0;

	(void)state;
	/* a failed earlier test may leave no keeper: never kill(-1, ...) */
	assert_true(pid > 0);
	given_world();
	given_keys(K_RSA2048);
	assert_true(pid > 0);
	keeper_set_call_timeout(srv.keeper, 60000);
	stop_process(pid);
	for (int i = 0; i < 4; i++) {
		o[i].key = key_ids[0];
		o[i].status = o[i].has_sig = 0;
		assert_int_equal(pthread_create(&th[i], NULL, one_sign_main,
		    &o[i]), 0);
	}
	usleep(500 * 1000);	/* all four wait for the keeper */
	t0 = time(NULL);
	assert_int_equal(CALL1(&A_bob, "GET", "/v1/keys/{id}", NULL,
	    key_ids[0]), 200);
	assert_true(time(NULL) - t0 < 10);
	assert_int_equal(kill(pid, SIGCONT), 0);
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(o[i].status, 200);
		assert_true(o[i].has_sig);
	}
	keeper_set_call_timeout(srv.keeper, 30000);
}

/* ---- key lifecycle, CRL, delete ------------------------------------------ */

static void
test_key_lifecycle_and_crl(void **state)
{
	const char *rsa = key_ids[1];
	char serial[128], issuing_id[64], ok_body[256];
	X509_CRL *crl;
	const unsigned char *p;
	EVP_PKEY *ca_pub;
	int64_t num1;

	(void)state;
	given_world();
	/* rsa-2048 is the deletion victim: any RSA key would do, and each
	 * RSA-4096 generation is seconds of a loaded machine */
	given_keys(K_RSA2048 | K_RSA3072);
	REFUSED(403, "key.revoke", CALL1(&A_bob, "POST", "/v1/keys/{id}/revoke",
	    NULL, rsa));
	assert_int_equal(CALL1(&A_alice, "POST", "/v1/keys/{id}/revoke", NULL,
	    rsa), 200);
	assert_string_equal(jstr(R.body, "key.state"), "revoked");
	assert_true(json_is_string(json_object_get(json_object_get(R.body,
	    "key"), "revoked_at")));
	snprintf(serial, sizeof(serial), "%s",
	    jstr(R.body, "key.certificate_serial"));
	REFUSED(409, "key.enable", CALL1(&A_alice, "POST",
	    "/v1/keys/{id}/enable", NULL, rsa));
	REFUSED(409, "key.disable", CALL1(&A_alice, "POST",
	    "/v1/keys/{id}/disable", NULL, rsa));
	REFUSED(409, "key.revoke", CALL1(&A_alice, "POST",
	    "/v1/keys/{id}/revoke", NULL, rsa));
	sign_body(ok_body, sizeof(ok_body), "rsa-pkcs1", "sha256", 32);
	SIGN_REFUSED(409, &A_bob, ok_body, rsa);
	/* Deleting it keeps its certificate revoked: the CRL below must
	 * still list the serial (crl_entries). */
	assert_int_equal(CALL1(&A_alice, "DELETE", "/v1/keys/{id}", NULL, rsa),
	    200);
	assert_true(json_is_true(json_object_get(R.body, "deleted")));

	/* The CAs. */
	assert_int_equal(CALL(&A_carol, "GET", "/v1/ca", NULL), 200);
	{
		json_t *cas = json_object_get(R.body, "cas");

		assert_int_equal(json_array_size(cas), 2);
		assert_string_equal(jstr(json_array_get(cas, 0), "role"), "root");
		assert_string_equal(jstr(json_array_get(cas, 0), "subject"),
		    "CN=Signet Root CA, O=acme");
		assert_string_equal(jstr(json_array_get(cas, 1), "role"),
		    "issuing");
		assert_string_equal(jstr(json_array_get(cas, 1), "algorithm"),
		    "ecdsa-p384");
		snprintf(issuing_id, sizeof(issuing_id), "%s",
		    jstr(json_array_get(cas, 1), "id"));
	}
	assert_int_equal(CALL1(&A_carol, "GET", "/v1/ca/{id}", NULL,
	    "signet-root"), 200);
	assert_int_equal(CALL1(&A_admin2, "GET", "/v1/ca/{id}", NULL,
	    issuing_id), 404);
	assert_int_equal(CALL1(&A_carol, "GET", "/v1/ca/{id}", NULL,
	    issuing_id), 200);
	ca_pub = NULL;
	{
		X509 *x = pem_cert(jstr(R.body, "ca.certificate"));

		ca_pub = X509_get_pubkey(x);
		X509_free(x);
	}

	/* CRL: public, DER, signed by the issuing CA, lists the serial. */
	assert_int_equal(CALL1(NULL, "GET", "/v1/ca/{id}/crl", NULL, issuing_id),
	    200);
	assert_string_equal(R.content_type, "application/pkix-crl");
	p = (const unsigned char *)R.raw;
	crl = d2i_X509_CRL(NULL, &p, (long)R.raw_len);
	assert_non_null(crl);
	assert_int_equal(X509_CRL_verify(crl, ca_pub), 1);
	{
		STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED(crl);
		int found = 0;

		for (int i = 0; i < sk_X509_REVOKED_num(rev); i++) {
			const ASN1_INTEGER *sn = X509_REVOKED_get0_serialNumber(
			    sk_X509_REVOKED_value(rev, i));
			BIGNUM *bn = ASN1_INTEGER_to_BN(sn, NULL);
			char *h = BN_bn2hex(bn);

			if (strcasecmp(h, serial) == 0)
				found = 1;
			OPENSSL_free(h);
			BN_free(bn);
		}
		assert_true(found);
		assert_int_equal(sk_X509_REVOKED_num(rev), 1);
	}
	num1 = count("SELECT crl_number FROM cas WHERE role = 'issuing' AND "
	    "tenant_id = 'ten_1'");
	X509_CRL_free(crl);
	/* Served from the cache until the next revocation. */
	{
		char *first = malloc(R.raw_len);
		size_t first_len = R.raw_len;

		assert_non_null(first);
		memcpy(first, R.raw, first_len);
		assert_int_equal(CALL1(NULL, "GET", "/v1/ca/{id}/crl", NULL,
		    issuing_id), 200);
		assert_int_equal(R.raw_len, first_len);
		assert_memory_equal(R.raw, first, first_len);
		free(first);
	}
	assert_int_equal(count("SELECT crl_number FROM cas WHERE role = "
	    "'issuing' AND tenant_id = 'ten_1'"), num1);
	assert_int_equal(CALL(&A_alice, "POST", "/v1/keys", "{\"project\":"
	    "\"app\",\"name\":\"crl-test\",\"algorithm\":\"ecdsa-p256\"}"),
	    201);
	assert_int_equal(CALL1(&A_alice, "POST", "/v1/keys/{id}/revoke", NULL,
	    "app/crl-test"), 200);
	assert_int_equal(CALL1(NULL, "GET", "/v1/ca/{id}/crl", NULL, issuing_id),
	    200);
	p = (const unsigned char *)R.raw;
	crl = d2i_X509_CRL(NULL, &p, (long)R.raw_len);
	assert_non_null(crl);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 2);
	X509_CRL_free(crl);
	assert_int_equal(count("SELECT crl_number FROM cas WHERE role = "
	    "'issuing' AND tenant_id = 'ten_1'"), num1 + 1);
	assert_int_equal(CALL1(NULL, "GET", "/v1/ca/{id}/crl", NULL, "ca_nosuch"),
	    404);
	EVP_PKEY_free(ca_pub);

	/* Delete: the HSM object goes first, then the row. */
	{
		char hsm_hex[40];
		uint8_t *id = NULL, *sig = NULL, dg[32] = { 0 };
		size_t idlen = 0, siglen = 0;
		struct db_conn *c = NULL;
		struct db_stmt *st = NULL;
		const char *victim = key_ids[0];

		assert_int_equal(db_acquire(srv.db, &c), 0);
		assert_int_equal(db_queryf(c, &st, "SELECT hsm_key_id FROM "
		    "signing_keys WHERE id = ?", "t", victim), DB_ROW);
		snprintf(hsm_hex, sizeof(hsm_hex), "%s", db_col_text(st, 0));
		db_finalize(st);
		db_release(c);
		assert_int_equal(sn_hex_decode(hsm_hex, strlen(hsm_hex), &id,
		    &idlen), 0);
		assert_int_equal(keeper_sign(srv.keeper, id, SN_MECH_RSA_PKCS,
		    SN_HASH_SHA256, dg, 32, &sig, &siglen), 0);
		free(sig);
		sig = NULL;
		REFUSED(403, "key.delete", CALL1(&A_bob, "DELETE",
		    "/v1/keys/{id}", NULL, victim));
		assert_int_equal(CALL1(&A_alice, "DELETE", "/v1/keys/{id}", NULL,
		    victim), 200);
		assert_true(json_is_true(json_object_get(R.body, "deleted")));
		assert_int_equal(keeper_sign(srv.keeper, id, SN_MECH_RSA_PKCS,
		    SN_HASH_SHA256, dg, 32, &sig, &siglen), SN_ERR_NOT_FOUND);
		assert_int_equal(count("SELECT count(*) FROM signing_keys WHERE "
		    "name = 'k-rsa-2048'"), 0);
		/* the revoked rsa-3072 above, and this one */
		assert_int_equal(audits("key.delete", "ok"), 2);
		REFUSED(404, "key.delete", CALL1(&A_alice, "DELETE",
		    "/v1/keys/{id}", NULL, victim));
		free(id);
	}
}

/* ---- external CA: CSR and import ---------------------------------------- */

static void
test_external_ca(void **state)
{
	char kid[64], body[16384], *q;
	EVP_PKEY *kpub, *ca_priv = gen_key("EC", "P-256"), *other =
	    gen_key("EC", "P-256");
	struct ca_signer cs;
	char *root_pem = NULL, *leaf_pem = NULL, *bad_leaf = NULL, *chain;
	X509_REQ *req;
	BIO *b;
	int64_t now = sn_now();

	(void)state;
	given_world();
	given_keys(K_P256);
	assert_int_equal(CALL(&A_alice, "POST", "/v1/keys", "{\"project\":\"app\","
	    "\"name\":\"ext\",\"algorithm\":\"ecdsa-p256\",\"ca\":\"external\","
	    "\"subject\":\"CN=Ext Signer, O=Acme Inc, C=DE\"}"), 201);
	snprintf(kid, sizeof(kid), "%s", jstr(R.body, "key.id"));
	assert_true(json_is_null(json_object_get(json_object_get(R.body, "key"),
	    "certificate")));
	kpub = pem_pub(jstr(R.body, "key.public_key"));
	assert_int_equal(CALL1(&A_bob, "GET", "/v1/keys/{id}/certificate", NULL,
	    kid), 404);

	/* CSR, signed in the HSM, verifies with the key's public key. */
	REFUSED(403, "key.csr", CALL1(&A_bob, "POST", "/v1/keys/{id}/csr", NULL,
	    kid));
	REFUSED(400, "key.csr", CALL1(&A_alice, "POST", "/v1/keys/{id}/csr",
	    "{\"subject\":\"garbage\"}", kid));
	REFUSED(400, "key.csr", CALL1(&A_alice, "POST", "/v1/keys/{id}/csr",
	    "{\"cn\":\"x\"}", kid));
	assert_int_equal(CALL1(&A_alice, "POST", "/v1/keys/{id}/csr", NULL, kid),
	    200);
	b = BIO_new_mem_buf(jstr(R.body, "csr"), -1);
	req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
	assert_non_null(req);
	assert_int_equal(X509_REQ_verify(req, kpub), 1);
	{
		char cn[64];

		assert_true(X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(
		    req), NID_commonName, cn, sizeof(cn)) > 0);
		assert_string_equal(cn, "Ext Signer");
	}
	X509_REQ_free(req);
	BIO_free(b);

	/* An external CA (software here) issues the certificate. */
	assert_int_equal(ca_signer_from_pkey(ca_priv, &cs), 0);
	assert_int_equal(ca_make_root(&cs, "CN=External Root", now - 60,
	    now + 86400 * 365, &root_pem), 0);
	assert_int_equal(ca_issue_codesign(&cs, root_pem, kpub, "CN=Ext Signer",
	    now - 60, now + 86400 * 30, NULL, &leaf_pem, NULL), 0);
	assert_int_equal(ca_issue_codesign(&cs, root_pem, other, "CN=Other",
	    now - 60, now + 86400 * 30, NULL, &bad_leaf, NULL), 0);

	/* Wrong key: 400 with the reason, nothing stored. */
	assert_true(asprintf(&chain, "%s%s", bad_leaf, root_pem) > 0);
	q = jq(chain);
	snprintf(body, sizeof(body), "{\"chain\":%s}", q);
	free(q);
	free(chain);
	REFUSED(400, "key.import_cert", CALL1(&A_alice, "PUT",
	    "/v1/keys/{id}/certificate", body, kid));
	assert_non_null(strstr(jstr(R.body, "error.message"), "refused"));
	/* A chain that does not link up (root is not the leaf's issuer). */
	{
		EVP_PKEY *k2 = gen_key("EC", "P-256");
		struct ca_signer cs2;
		char *root2 = NULL;

		assert_int_equal(ca_signer_from_pkey(k2, &cs2), 0);
		assert_int_equal(ca_make_root(&cs2, "CN=External Root", now - 60,
		    now + 86400, &root2), 0);
		assert_true(asprintf(&chain, "%s%s", leaf_pem, root2) > 0);
		q = jq(chain);
		snprintf(body, sizeof(body), "{\"chain\":%s}", q);
		free(q);
		free(chain);
		free(root2);
		EVP_PKEY_free(k2);
		REFUSED(400, "key.import_cert", CALL1(&A_alice, "PUT",
		    "/v1/keys/{id}/certificate", body, kid));
	}
	REFUSED(400, "key.import_cert", CALL1(&A_alice, "PUT",
	    "/v1/keys/{id}/certificate", "{\"chain\":\"not pem\"}", kid));
	REFUSED(400, "key.import_cert", CALL1(&A_alice, "PUT",
	    "/v1/keys/{id}/certificate", "{\"pem\":\"x\"}", kid));
	assert_int_equal(count("SELECT count(*) FROM signing_keys WHERE name = "
	    "'ext' AND cert_pem IS NOT NULL"), 0);

	/* The right chain. */
	assert_true(asprintf(&chain, "%s%s", leaf_pem, root_pem) > 0);
	q = jq(chain);
	snprintf(body, sizeof(body), "{\"chain\":%s}", q);
	free(q);
	free(chain);
	REFUSED(403, "key.import_cert", CALL1(&A_bob, "PUT",
	    "/v1/keys/{id}/certificate", body, kid));
	assert_int_equal(CALL1(&A_alice, "PUT", "/v1/keys/{id}/certificate", body,
	    kid), 200);
	assert_non_null(jstr(R.body, "key.certificate"));
	assert_non_null(jstr(R.body, "key.certificate_serial"));
	assert_int_equal(CALL1(&A_bob, "GET", "/v1/keys/{id}/certificate", NULL,
	    kid), 200);
	assert_int_equal(json_array_size(json_object_get(R.body, "chain")), 1);
	/* Built-in keys refuse an import. */
	REFUSED(409, "key.import_cert", CALL1(&A_alice, "PUT",
	    "/v1/keys/{id}/certificate", body, key_ids[3]));

	free(root_pem);
	free(leaf_pem);
	free(bad_leaf);
	EVP_PKEY_free(kpub);
	EVP_PKEY_free(ca_priv);
	EVP_PKEY_free(other);
}

/* ---- /v1/me/keys --------------------------------------------------------- */

static void
test_me_keys(void **state)
{
	json_t *keys;
	size_t i;
	int seen_builtin = 0;

	(void)state;
	given_world();
	given_keys(K_RSA2048 | K_P256 | K_P384);
	assert_int_equal(CALL(&A_alice, "POST", "/v1/keys", "{\"project\":"
	    "\"app\",\"name\":\"legacy\",\"algorithm\":\"ecdsa-p256\","
	    "\"allow_sha1\":true,\"ca\":\"none\"}"), 201);
	assert_int_equal(CALL(&A_alice, "POST", "/v1/keys", "{\"project\":"
	    "\"app\",\"name\":\"ext\",\"algorithm\":\"ecdsa-p256\","
	    "\"ca\":\"external\",\"subject\":\"CN=Ext Signer, O=Acme Inc, "
	    "C=DE\"}"), 201);
	assert_int_equal(CALL(&A_alice, "POST", "/v1/keys", "{\"project\":"
	    "\"app\",\"name\":\"revoked\",\"algorithm\":\"ecdsa-p256\"}"),
	    201);
	assert_int_equal(CALL1(&A_alice, "POST", "/v1/keys/{id}/revoke", NULL,
	    "app/revoked"), 200);
	assert_int_equal(CALL(&A_alice, "POST", "/v1/keys", "{\"project\":"
	    "\"app\",\"name\":\"deleted\",\"algorithm\":\"ecdsa-p256\"}"),
	    201);
	assert_int_equal(CALL1(&A_alice, "DELETE", "/v1/keys/{id}", NULL,
	    "app/deleted"), 200);

	assert_int_equal(CALL(&A_bob, "GET", "/v1/me/keys", NULL), 200);
	keys = json_object_get(R.body, "keys");
	/* rsa-2048, ecdsa-p256, ecdsa-p384, legacy, ext; not the revoked
	 * key nor the deleted one. */
	assert_int_equal(json_array_size(keys), 5);
	for (i = 0; i < json_array_size(keys); i++) {
		json_t *k = json_array_get(keys, i);

		assert_non_null(jstr(k, "pkcs11_uri"));
		assert_true(json_is_array(json_object_get(k, "chain")));
		if (strcmp(jstr(k, "ca"), "builtin") == 0) {
			assert_int_equal(json_array_size(json_object_get(k,
			    "chain")), 2);
			seen_builtin++;
		}
	}
	assert_int_equal(seen_builtin, 3);
	/* The service account signs too (it is a signer of app). */
	assert_int_equal(CALL(&A_sa, "GET", "/v1/me/keys", NULL), 200);
	assert_int_equal(json_array_size(json_object_get(R.body, "keys")), 5);
	/* An owner who is not a signer, and the admin, get nothing. */
	assert_int_equal(CALL(&A_alice, "GET", "/v1/me/keys", NULL), 200);
	assert_int_equal(json_array_size(json_object_get(R.body, "keys")), 0);
	assert_int_equal(CALL(&A_admin, "GET", "/v1/me/keys", NULL), 200);
	assert_int_equal(json_array_size(json_object_get(R.body, "keys")), 0);
	/* Via a team: carol joins ops, ops becomes a signer. */
	assert_int_equal(CALL1(&A_admin, "POST", "/v1/teams/{id}/members",
	    "{\"user\":\"usr_carol\"}", "ops"), 200);
	assert_int_equal(CALL(&A_carol, "GET", "/v1/me/keys", NULL), 200);
	assert_int_equal(json_array_size(json_object_get(R.body, "keys")), 0);
	assert_int_equal(CALL1(&A_admin, "POST", "/v1/projects/{id}/signers",
	    "{\"team\":\"ops\"}", "app"), 201);
	assert_int_equal(CALL(&A_carol, "GET", "/v1/me/keys", NULL), 200);
	assert_int_equal(json_array_size(json_object_get(R.body, "keys")), 5);
	assert_int_equal(CALL(&A_admin2, "GET", "/v1/me/keys", NULL), 200);
	assert_int_equal(json_array_size(json_object_get(R.body, "keys")), 0);
}

/* ---- service account tokens (JWT bearer grant) ------------------------- */

static char *
token_body(const char *jwt)
{
	char *b = NULL;

	assert_true(asprintf(&b, "{\"grant_type\":\"urn:ietf:params:oauth:"
	    "grant-type:jwt-bearer\",\"assertion\":\"%s\"}", jwt) > 0);
	return b;
}

static void
test_oauth(void **state)
{
	const char *aud = "https://signet.test:8443/v1/oauth/token";
	char *jwt = NULL, *body, *bearer = NULL, fail_tenant[64];
	struct sn_actor a;
	struct db_conn *c = NULL;
	int64_t t0 = count("SELECT count(*) FROM access_tokens");

	(void)state;
	given_teams();
	given_service_account();
	assert_int_equal(sn_jwt_build(sa_key_cur, A_sa.id, aud, sn_now(), &jwt),
	    0);
	body = token_body(jwt);
	assert_int_equal(CALL(NULL, "POST", "/v1/oauth/token", body), 200);
	assert_string_equal(jstr(R.body, "token_type"), "Bearer");
	assert_int_equal(json_integer_value(json_object_get(R.body,
	    "expires_in")), 900);
	assert_non_null(strstr(jstr(R.body, "access_token"), "sna_"));
	assert_true(asprintf(&bearer, "Bearer %s", jstr(R.body,
	    "access_token")) > 0);
	assert_int_equal(count("SELECT count(*) FROM access_tokens"), t0 + 1);

	/* The token authenticates as the service account. */
	assert_int_equal(db_acquire(srv.db, &c), 0);
	assert_int_equal(auth_authenticate(c, bearer, sn_now(), &a,
	    fail_tenant), 0);
	assert_int_equal(a.type, SN_ACTOR_SERVICE_ACCOUNT);
	assert_string_equal(a.id, A_sa.id);
	db_release(c);

	/* iss may be the account name (signet login --service-account NAME),
	 * even when another tenant has an account of the same name: only the
	 * key that verifies counts. A public key belongs to one account across
	 * all tenants, so the other tenant cannot register ours and make our
	 * login ambiguous. */
	{
		EVP_PKEY *k3 = EVP_EC_gen("P-256");
		char *pem = pub_pem(k3), *q = jq(pem), sb[2048], *j2 = NULL,
		    *b2, *pemc = pub_pem(sa_key_cur), *qc = jq(pemc);

		assert_int_equal(CALL(&A_admin2, "POST", "/v1/teams",
		    "{\"name\":\"t2\"}"), 201);
		snprintf(sb, sizeof(sb), "{\"name\":\"ci\",\"team\":\"t2\","
		    "\"public_key\":%s}", qc);
		assert_int_equal(CALL(&A_admin2, "POST", "/v1/serviceaccounts", sb),
		    409);
		snprintf(sb, sizeof(sb), "{\"name\":\"ci\",\"team\":\"t2\","
		    "\"public_key\":%s}", q);
		assert_int_equal(CALL(&A_admin2, "POST", "/v1/serviceaccounts", sb),
		    201);
		free(pemc);
		free(qc);
		assert_int_equal(sn_jwt_build(sa_key_cur, "ci", aud, sn_now(),
		    &j2), 0);
		b2 = token_body(j2);
		assert_int_equal(CALL(NULL, "POST", "/v1/oauth/token", b2), 200);
		assert_int_equal(count("SELECT count(*) FROM access_tokens t "
		    "JOIN service_accounts s ON s.id = t.service_account_id "
		    "WHERE s.tenant_id = 'ten_1'"), t0 + 2);
		free(b2);
		free(j2);
		assert_int_equal(sn_jwt_build(k3, "ci", aud, sn_now(),
		    &j2), 0);
		b2 = token_body(j2);
		assert_int_equal(CALL(NULL, "POST", "/v1/oauth/token", b2), 200);
		assert_int_equal(count("SELECT count(*) FROM access_tokens t "
		    "JOIN service_accounts s ON s.id = t.service_account_id "
		    "WHERE s.tenant_id = 'ten_2'"), 1);
		free(b2);
		free(j2);
		free(pem);
		free(q);
		EVP_PKEY_free(k3);
		t0 += 2;
	}
	assert_int_equal(audits("auth.token", "ok"), 3);

	/* The same assertion twice: refused (jti is accepted once). */
	assert_int_equal(CALL(NULL, "POST", "/v1/oauth/token", body), 401);
	assert_null(json_object_get(R.body, "access_token"));
	assert_int_equal(audits("auth.token", "denied"), 1);
	free(body);
	free(jwt);

	/* The old (rotated) key, the wrong audience, an unknown account. */
	assert_int_equal(sn_jwt_build(sa_key_old, A_sa.id, aud, sn_now(), &jwt),
	    0);
	body = token_body(jwt);
	assert_int_equal(CALL(NULL, "POST", "/v1/oauth/token", body), 401);
	free(body);
	free(jwt);
	assert_int_equal(sn_jwt_build(sa_key_cur, A_sa.id,
	    "https://elsewhere.test/v1/oauth/token", sn_now(), &jwt), 0);
	body = token_body(jwt);
	assert_int_equal(CALL(NULL, "POST", "/v1/oauth/token", body), 401);
	free(body);
	free(jwt);
	assert_int_equal(sn_jwt_build(sa_key_cur, "sac_nosuch", aud, sn_now(),
	    &jwt), 0);
	body = token_body(jwt);
	assert_int_equal(CALL(NULL, "POST", "/v1/oauth/token", body), 401);
	free(body);
	/* Expired (built 10 minutes ago). */
	free(jwt);
	assert_int_equal(sn_jwt_build(sa_key_cur, A_sa.id, aud, sn_now() - 600,
	    &jwt), 0);
	body = token_body(jwt);
	assert_int_equal(CALL(NULL, "POST", "/v1/oauth/token", body), 401);
	free(body);
	free(jwt);
	assert_int_equal(audits("auth.token", "denied"), 5);
	assert_int_equal(count("SELECT count(*) FROM access_tokens"), t0 + 1);

	/* Malformed requests. */
	assert_int_equal(CALL(NULL, "POST", "/v1/oauth/token", "{\"grant_type\":"
	    "\"password\",\"assertion\":\"x.y.z\"}"), 400);
	assert_int_equal(CALL(NULL, "POST", "/v1/oauth/token", "{\"grant_type\":"
	    "\"urn:ietf:params:oauth:grant-type:jwt-bearer\",\"assertion\":"
	    "\"garbage\"}"), 400);
	assert_int_equal(CALL(NULL, "POST", "/v1/oauth/token", "{\"grant_type\":"
	    "\"urn:ietf:params:oauth:grant-type:jwt-bearer\"}"), 400);
	assert_int_equal(CALL(NULL, "POST", "/v1/oauth/token", "{\"grant_type\":"
	    "\"urn:ietf:params:oauth:grant-type:jwt-bearer\",\"assertion\":"
	    "\"a.b.c\",\"scope\":\"all\"}"), 400);
	assert_int_equal(count("SELECT count(*) FROM access_tokens"), t0 + 1);

	/* Rotating the key ends the token at once. */
	{
		char *pem = pub_pem(sa_key_old), *q = jq(pem), rb[2048];

		snprintf(rb, sizeof(rb), "{\"public_key\":%s}", q);
		assert_int_equal(CALL1(&A_bob, "POST",
		    "/v1/serviceaccounts/{id}/rotate-key", rb, "ci"), 200);
		free(pem);
		free(q);
	}
	assert_int_equal(db_acquire(srv.db, &c), 0);
	assert_int_equal(auth_authenticate(c, bearer, sn_now(), &a,
	    fail_tenant), SN_ERR_UNAUTHENTICATED);
	db_release(c);
	free(bearer);
}

/* ---- service account deletion ------------------------------------------- */

static void
test_sa_delete(void **state)
{
	EVP_PKEY *k2 = gen_key("EC", "P-256");
	char *pem = pub_pem(k2), *q = jq(pem), body[2048];

	(void)state;
	given_world();
	/* The other tenant's account of the same name. */
	assert_int_equal(CALL(&A_admin2, "POST", "/v1/teams",
	    "{\"name\":\"t2\"}"), 201);
	snprintf(body, sizeof(body), "{\"name\":\"ci\",\"team\":\"t2\","
	    "\"public_key\":%s}", q);
	assert_int_equal(CALL(&A_admin2, "POST", "/v1/serviceaccounts", body),
	    201);
	free(q);
	free(pem);
	EVP_PKEY_free(k2);
	/* An access token of ours, which the deletion ends. */
	sa_credential(1);
	assert_int_equal(count("SELECT count(*) FROM access_tokens t JOIN "
	    "service_accounts s ON s.id = t.service_account_id WHERE "
	    "s.tenant_id = 'ten_1'"), 1);

	REFUSED(403, "service_account.delete", CALL1(&A_carol, "DELETE",
	    "/v1/serviceaccounts/{id}", NULL, "ci"));
	assert_int_equal(count("SELECT count(*) FROM project_signers WHERE "
	    "principal_type = 'service_account'"), 1);
	assert_int_equal(CALL1(&A_bob, "DELETE", "/v1/serviceaccounts/{id}",
	    NULL, "ci"), 200);
	assert_int_equal(count("SELECT count(*) FROM project_signers WHERE "
	    "principal_type = 'service_account'"), 0);
	assert_int_equal(count("SELECT count(*) FROM service_accounts WHERE "
	    "name = 'ci' AND tenant_id = 'ten_1'"), 0);
	assert_int_equal(count("SELECT count(*) FROM access_tokens t JOIN "
	    "service_accounts s ON s.id = t.service_account_id WHERE "
	    "s.tenant_id = 'ten_1'"), 0);
	/* The other tenant's "ci" is untouched. */
	assert_int_equal(count("SELECT count(*) FROM service_accounts WHERE "
	    "name = 'ci' AND tenant_id = 'ten_2'"), 1);
	REFUSED(404, "service_account.delete", CALL1(&A_bob, "DELETE",
	    "/v1/serviceaccounts/{id}", NULL, "ci"));
}

/* ---- the audit chain covers every event --------------------------------- */

/*
 * Every test's teardown verifies both chains; here the chain is also
 * shown to cover every event of the tenant: changes, refusals, signatures.
 */
static void
test_audit_chain(void **state)
{
	struct db_conn *c = NULL;
	int64_t n = 0, bad = 0;
	char body[256];

	(void)state;
	given_world();
	given_keys(K_P256);
	sign_body(body, sizeof(body), "ecdsa", "sha256", 32);
	for (int i = 0; i < 5; i++)
		assert_int_equal(CALL1(&A_bob, "POST", "/v1/keys/{id}/sign",
		    body, key_ids[3]), 200);
	SIGN_REFUSED(403, &A_carol, body, key_ids[3]);
	assert_int_equal(db_acquire(srv.db, &c), 0);
	assert_int_equal(audit_verify_chain(c, "ten_1", &n, &bad), 0);
	db_release(c);
	assert_true(n > 10);
	assert_int_equal(n, count("SELECT count(*) FROM audit_events WHERE "
	    "tenant_id = 'ten_1'"));
}

#define FIXTURE_TEST(f) \
	cmocka_unit_test_setup_teardown(f, fixture_setup, fixture_teardown)

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		FIXTURE_TEST(test_teams),
		FIXTURE_TEST(test_service_accounts),
		FIXTURE_TEST(test_projects),
		FIXTURE_TEST(test_keys_create),
		FIXTURE_TEST(test_sign_all),
		FIXTURE_TEST(test_sign_refusals),
		FIXTURE_TEST(test_sign_keeper_stalled),
		FIXTURE_TEST(test_sign_concurrent),
		FIXTURE_TEST(test_sign_disabled_while_signing),
		FIXTURE_TEST(test_sign_does_not_hold_db),
		FIXTURE_TEST(test_key_lifecycle_and_crl),
		FIXTURE_TEST(test_external_ca),
		FIXTURE_TEST(test_me_keys),
		FIXTURE_TEST(test_oauth),
		FIXTURE_TEST(test_sa_delete),
		FIXTURE_TEST(test_audit_chain),
	};

	ssize_t n;

	if (argc > 1 && strcmp(argv[1], "keeper") == 0)
		return keeper_process_main(argc, argv);
	if ((n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1)) <= 0)
		return 1;
	self_exe[n] = '\0';
	/* test_resources NAME-PATTERN: those tests alone (each is whole) */
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	alarm(280);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
