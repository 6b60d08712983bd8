/*
 * fuzz_world.c - the database, actors and objects the request fuzzers run
 * against, restored before every input (see fuzz_world.h). Fuzz harnesses
 * only; the setup mirrors tests/e2e/authz_matrix.sh so the matrix rows can
 * serve as seeds.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/pem.h>

#include "api.h"
#include "ca_builtin.h"
#include "credential.h"
#include "crl.h"
#include "db.h"
#include "encode.h"
#include "fuzz_snapshot.h"
#include "fuzz_world.h"
#include "http.h"
#include "keeper.h"
#include "server.h"
#include "store.h"
#include "util.h"

#define MAX_PH	64

static struct sn_server srv;
static int built;
static char dir[64], livepath[128];
static struct {
	char name[32];
	char *value;
	size_t len;
} ph[MAX_PH];
static int nph;

static void die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "fuzz world: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	abort();
}

static void
set_ph(const char *name, const char *value)
{
	if (nph == MAX_PH || strlen(name) >= sizeof(ph[0].name))
		die("too many placeholders");
	snprintf(ph[nph].name, sizeof(ph[nph].name), "%s", name);
	if ((ph[nph].value = strdup(value)) == NULL)
		die("out of memory");
	ph[nph].len = strlen(value);
	nph++;
}

static const char *
get_ph(const char *name)
{
	for (int i = 0; i < nph; i++)
		if (strcmp(ph[i].name, name) == 0)
			return ph[i].value;
	die("no placeholder %s", name);
	return NULL;
}

static void
cleanup(void)
{
	char p[160];

	snapshot_close();
	db_close(srv.db);
	srv.db = NULL;
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", livepath,
		    i == 0 ? "" : i == 1 ? "-wal" : "-shm");
		unlink(p);
	}
	rmdir(dir);
}

/*
 * atexit() does not run when a finding aborts the process: the directories
 * of fuzzers that are gone (the pid in the name is not running) are removed
 * by the next one.
 */
static void
sweep(const char *base)
{
	DIR *d;
	struct dirent *e;
	char p[512];
	long pid;

	if ((d = opendir(base)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (sscanf(e->d_name, "signet-fuzz-%ld-", &pid) != 1 ||
		    pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		for (int i = 0; i < 3; i++) {
			snprintf(p, sizeof(p), "%s/%s/f.db%s", base, e->d_name,
			    i == 0 ? "" : i == 1 ? "-wal" : "-shm");
			unlink(p);
		}
		snprintf(p, sizeof(p), "%s/%s", base, e->d_name);
		rmdir(p);
	}
	closedir(d);
}

EVP_PKEY *
world_key(const char *name)
{
	static struct {
		char name[32];
		EVP_PKEY *k;
	} cache[16];
	char path[1024];
	FILE *f;
	size_t i;

	for (i = 0; i < 16 && cache[i].k != NULL; i++)
		if (strcmp(cache[i].name, name) == 0)
			return cache[i].k;
	if (i == 16)
		die("key cache full");
	snprintf(path, sizeof(path), "%s/%s", FUZZ_KEYS_DIR, name);
	if ((f = fopen(path, "r")) == NULL)
		die("cannot read %s (run fuzz/make_seeds.py)", path);
	cache[i].k = strstr(name, ".pub") != NULL ?
	    PEM_read_PUBKEY(f, NULL, NULL, NULL) :
	    PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (cache[i].k == NULL)
		die("bad key %s", path);
	snprintf(cache[i].name, sizeof(cache[i].name), "%s", name);
	return cache[i].k;
}

static const char *
no_lookup(const struct sn_request *req, const char *name)
{
	return NULL;
}

int
world_request(struct http_input *in, struct sn_response *resp)
{
	if (in->query == NULL)
		in->query = no_lookup;
	if (in->source_ip == NULL)
		in->source_ip = "127.0.0.1";
	if (in->user_agent == NULL)
		in->user_agent = "fuzz";
	return http_process(&srv, http_route_tables, in, resp, NULL);
}

static const char *
json_header(const struct sn_request *req, const char *name)
{
	return strcasecmp(name, "Content-Type") == 0 ? "application/json" : NULL;
}

/* One setup request; aborts unless it answers `expect`. Returns the body
 * (new reference) and the Set-Cookie value in *cookie if asked. */
static json_t *
call(const char *method, const char *path, const char *cred,
    const char *body, int expect, char **cookie)
{
	struct http_input in;
	struct sn_response resp;
	char auth[128];
	json_t *out;
	int st;

	memset(&in, 0, sizeof(in));
	memset(&resp, 0, sizeof(resp));
	in.method = method;
	in.path = path;
	if (cred != NULL) {
		snprintf(auth, sizeof(auth), "Bearer %s", cred);
		in.authorization = auth;
	}
	if (body != NULL) {
		in.content_type = "application/json";
		in.header = json_header;
		in.body = body;
		in.body_len = strlen(body);
	}
	st = world_request(&in, &resp);
	if (st != expect) {
		char *t = resp.body != NULL ? json_dumps(resp.body, 0) : NULL;
		die("%s %s: %d, wanted %d: %s", method, path, st, expect,
		    t != NULL ? t : "");
	}
	if (cookie != NULL && resp.set_cookie != NULL) {
		*cookie = strndup(resp.set_cookie,
		    strcspn(resp.set_cookie, ";"));
	}
	out = json_incref(resp.body);
	api_response_clear(&resp);
	return out;
}

/* call() and keep j[obj][member] as placeholder name. */
static void
call_keep(const char *name, const char *obj, const char *member,
    const char *method, const char *path, const char *cred,
    const char *body, int expect)
{
	json_t *j = call(method, path, cred, body, expect, NULL);
	json_t *o = obj != NULL ? json_object_get(j, obj) : j;

	if (!json_is_string(json_object_get(o, member)))
		die("%s %s: no %s.%s", method, path, obj, member);
	set_ph(name, json_string_value(json_object_get(o, member)));
	json_decref(j);
}

static char *
fmt(const char *f, ...)
{
	va_list ap;
	char *s;

	va_start(ap, f);
	if (vasprintf(&s, f, ap) < 0)
		die("out of memory");
	va_end(ap);
	return s;
}

static char *
pub_json(const char *name)
{
	char path[1024], *pem = NULL, *out;
	size_t len;
	json_t *s;

	snprintf(path, sizeof(path), "%s/%s", FUZZ_KEYS_DIR, name);
	if (sn_read_file(path, 1 << 16, &pem, &len) != 0)
		die("cannot read %s", path);
	s = json_stringn(pem, len);
	out = json_dumps(s, JSON_ENCODE_ANY);
	json_decref(s);
	free(pem);
	return out;
}

static void
mk_user(struct db_conn *c, const char *tenant, const char *email,
    const char *role, const char *id_ph, const char *cred_ph)
{
	struct store_user u;
	struct store_apikey k;
	char *secret = NULL;

	if (store_user_create(c, tenant, email, role, &u) != 0)
		die("user %s", email);
	if (id_ph != NULL)
		set_ph(id_ph, u.id);
	if (cred_ph != NULL) {
		if (store_apikey_create(c, tenant, u.id, NULL, 0, &k,
		    &secret) != 0)
			die("api key of %s", email);
		set_ph(cred_ph, secret);
		sn_strfreezero(secret);
	}
}

static void
mk_tenant(struct db_conn *c, const char *name, char id[64])
{
	struct store_tenant t;

	if (db_begin(c) != 0 || store_tenant_create(c, name, &t) != 0 ||
	    builtin_ca_create(&srv, c, t.id, name) != 0 || db_commit(c) != 0)
		die("tenant %s", name);
	memcpy(id, t.id, sizeof(t.id));
}

static void
build(void)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	char acme[64], beta[64], url[192], *s, *cookie = NULL;
	const char *admin, *team, *project, *robot;
	struct db_conn *c = NULL;
	struct store_apikey k;
	uint8_t hash[32], dg[32];
	char tok_id[CREDENTIAL_ID_LEN + 1];
	json_t *j;

	sweep(base);
	snprintf(dir, sizeof(dir), "%s/signet-fuzz-%ld-XXXXXX", base,
	    (long)getpid());
	if (mkdtemp(dir) == NULL)
		die("mkdtemp");
	snprintf(livepath, sizeof(livepath), "%s/f.db", dir);
	atexit(cleanup);
	srv.cfg.max_body = 64 * 1024;
	srv.cfg.max_json_depth = 32;
	srv.cfg.max_batch = 64;
	srv.cfg.public_url = strdup("https://127.0.0.1:8443");
	srv.cfg.session_idle_timeout = 3600;
	srv.cfg.session_lifetime = 86400;
	srv.cfg.checkpoint_interval = 3600;
	srv.cfg.checkpoint_events = 1000;
	srv.started_at = FUZZ_NOW;
	snprintf(url, sizeof(url), "sqlite:%s", livepath);
	if (keeper_start(NULL, &srv.keeper) != 0 ||
	    db_open(url, 2, &srv.db) != 0 || db_acquire(srv.db, &c) != 0)
		die("database %s", url);

	/* tenants, users of every role and their API keys (as authz_matrix.sh) */
	mk_tenant(c, "acme", acme);
	mk_tenant(c, "beta", beta);
	mk_user(c, acme, "admin@acme.test", "admin", NULL, "cred:admin");
	mk_user(c, beta, "admin@beta.test", "admin", NULL, "cred:beta");
	mk_user(c, acme, "powner@acme.test", "user", NULL, "cred:powner");
	mk_user(c, acme, "towner@acme.test", "user", NULL, "cred:towner");
	mk_user(c, acme, "tmember@acme.test", "user", NULL, "cred:tmember");
	mk_user(c, acme, "plain@acme.test", "user", "plain_id", "cred:plain");
	mk_user(c, acme, "victim@acme.test", "user", "victim_id", NULL);
	mk_user(c, acme, "disabled@acme.test", "user", "disabled_id",
	    "cred:disabled");
	mk_user(c, acme, "extra-admin@acme.test", "user", NULL, NULL);
	mk_user(c, acme, "extra-powner@acme.test", "user", NULL, NULL);
	mk_user(c, acme, "extra-towner@acme.test", "user", NULL, NULL);
	mk_user(c, acme, "extra-tmember@acme.test", "user", NULL, NULL);
	mk_user(c, acme, "extra-plain@acme.test", "user", NULL, NULL);
	if (store_apikey_create(c, acme, get_ph("plain_id"), "expired",
	    FUZZ_NOW - 60, &k, &s) != 0)
		die("expired key");
	set_ph("cred:expired", s);
	sn_strfreezero(s);
	set_ph("cred:none", "");
	set_ph("plain_email", "plain@acme.test");
	set_ph("team_name", "t1");
	set_ph("project_name", "p1");
	db_release(c);
	c = NULL;
	admin = get_ph("cred:admin");

	call_keep("new_apikey", NULL, "id", "POST", "/v1/apikeys", admin,
	    s = fmt("{\"user\":\"%s\",\"description\":\"victim\"}",
	    get_ph("plain_id")), 201);
	free(s);
	call_keep("revoked_id", NULL, "id", "POST", "/v1/apikeys",
	    get_ph("cred:plain"), "{\"description\":\"to revoke\"}", 201);
	j = call("POST", "/v1/apikeys", get_ph("cred:plain"),
	    "{\"description\":\"revoked\"}", 201, NULL);
	set_ph("cred:revoked", json_string_value(json_object_get(j, "key")));
	s = fmt("/v1/apikeys/%s", json_string_value(json_object_get(j, "id")));
	json_decref(call("DELETE", s, get_ph("cred:plain"), NULL, 200, NULL));
	json_decref(j);
	free(s);

	/* team t1 (towner owns, tmember), project p1 (powner owns, t1 signs) */
	call_keep("team", "team", "id", "POST", "/v1/teams", admin,
	    "{\"name\":\"t1\"}", 201);
	team = get_ph("team");
	s = fmt("/v1/teams/%s/members", team);
	json_decref(call("POST", s, admin,
	    "{\"user\":\"towner@acme.test\",\"owner\":true}", 200, NULL));
	json_decref(call("POST", s, admin, "{\"user\":\"tmember@acme.test\"}",
	    200, NULL));
	free(s);
	call_keep("project", "project", "id", "POST", "/v1/projects", admin,
	    "{\"name\":\"p1\"}", 201);
	project = get_ph("project");
	s = fmt("/v1/projects/%s/owners", project);
	json_decref(call("POST", s, admin, "{\"user\":\"powner@acme.test\"}",
	    200, NULL));
	free(s);
	s = fmt("/v1/projects/%s/signers", project);
	json_decref(call("POST", s, admin, "{\"team\":\"t1\"}", 201, NULL));
	free(s);

	/* keys: built-in CA (two), external CA, RSA, one to destroy */
#define MKKEY(ph_, extra_) do {						\
	char *b_ = fmt("{\"project\":\"%s\",\"name\":\"%s\"%s}", project,	\
	    ph_, extra_);							\
	call_keep(ph_, "key", "id", "POST", "/v1/keys", admin, b_, 201);	\
	free(b_);							\
} while (0)
	MKKEY("key", ",\"algorithm\":\"ecdsa-p256\"");
	MKKEY("key2", ",\"algorithm\":\"ecdsa-p256\"");
	MKKEY("extkey", ",\"algorithm\":\"ecdsa-p256\",\"ca\":\"external\","
	    "\"subject\":\"CN=ext1\"");
	MKKEY("key_rsa", ",\"algorithm\":\"rsa-2048\",\"allow_sha1\":true");
	MKKEY("new_key", ",\"algorithm\":\"ecdsa-p384\"");
#undef MKKEY

	/* service accounts with real keys; robot signs for p1 */
#define MKSA(ph_, name_, pub_) do {					\
	char *p_ = pub_json(pub_), *b_ = fmt("{\"name\":\"%s\","		\
	    "\"team\":\"%s\",\"public_key\":%s}", name_, team, p_);	\
	call_keep(ph_, "service_account", "id", "POST",			\
	    "/v1/serviceaccounts", admin, b_, 201);				\
	free(b_);							\
	free(p_);							\
} while (0)
	MKSA("sa", "sa-p256", "sa_p256.pub");
	MKSA("sa_p384", "sa-p384", "sa_p384.pub");
	MKSA("robot", "robot", "sa_rsa.pub");
	MKSA("new_sa", "victim-sa", "sa_other.pub");
#undef MKSA
	robot = get_ph("robot");
	s = fmt("/v1/projects/%s/signers", project);
	json_decref(call("POST", s, admin, "{\"service_account\":\"robot\"}",
	    201, NULL));
	free(s);
	s = fmt("/v1/serviceaccounts/%s/federations", get_ph("sa"));
	call_keep("new_fed", "federation", "id", "POST", s, admin,
	    "{\"issuer\":\"https://ci.victim.test\",\"audience\":\"signet\","
	    "\"claims\":{\"repository\":\"org/victim\"}}", 201);
	free(s);

	/* robot's access token, as POST /v1/oauth/token would store it */
	if (credential_new(CREDENTIAL_TOKEN, &s, tok_id, hash) != 0 ||
	    db_acquire(srv.db, &c) != 0 ||
	    db_execf(c, "INSERT INTO access_tokens (id, tenant_id, "
	    "service_account_id, key_version, secret_hash, created_at, "
	    "expires_at) SELECT ?, tenant_id, id, key_version, ?, ?, ? FROM "
	    "service_accounts WHERE id = ?", "tbiit", tok_id, hash,
	    sizeof(hash), (int64_t)FUZZ_NOW, (int64_t)FUZZ_NOW + 3600,
	    robot) != 0)
		die("access token");
	db_release(c);
	c = NULL;
	set_ph("cred:sa", s);
	sn_strfreezero(s);

	s = fmt("/v1/users/%s/disable", get_ph("disabled_id"));
	json_decref(call("POST", s, admin, NULL, 200, NULL));
	free(s);

	j = call("GET", "/v1/ca", admin, NULL, 200, NULL);
	if (json_array_size(json_object_get(j, "cas")) < 2)
		die("no built-in CAs");
	set_ph("ca", json_string_value(json_object_get(json_array_get(
	    json_object_get(j, "cas"), 0), "id")));
	set_ph("ca2", json_string_value(json_object_get(json_array_get(
	    json_object_get(j, "cas"), 1), "id")));
	json_decref(j);

	s = fmt("{\"api_key\":\"%s\"}", get_ph("cred:plain"));
	j = call("POST", "/v1/session", NULL, s, 201, &cookie);
	free(s);
	set_ph("cookie", cookie != NULL ? cookie : "");
	set_ph("csrf", json_is_string(json_object_get(j, "csrf_token")) ?
	    json_string_value(json_object_get(j, "csrf_token")) : "");
	json_decref(j);
	free(cookie);

	memset(dg, 0x11, sizeof(dg));
	if (sn_b64_encode(dg, sizeof(dg), &s) != 0)
		die("base64");
	set_ph("digest", s);
	free(s);

	/* the snapshot every input starts from */
	snapshot_take(livepath);
	keeper_double_save();
	built = 1;
}

struct sn_server *
world_reset(void)
{
	if (!built) {
		build();
		return &srv;
	}
	/* the tables the last input wrote (fuzz_snapshot.h) */
	(void)snapshot_restore();
	keeper_double_restore();
	crl_invalidate();
	return &srv;
}

char *
world_expand(const char *in, size_t len, size_t *outlen)
{
	size_t cap = len + 1, n = 0, i = 0;
	char *out = malloc(cap);

	if (out == NULL)
		return NULL;
	while (i < len) {
		const char *close;
		int hit = -1;

		if (in[i] == '{' && (close = memchr(in + i, '}',
		    len - i < 40 ? len - i : 40)) != NULL) {
			size_t nl = (size_t)(close - (in + i)) - 1;
			for (int p = 0; p < nph; p++)
				if (strlen(ph[p].name) == nl &&
				    memcmp(ph[p].name, in + i + 1, nl) == 0)
					hit = p;
		}
		if (hit >= 0) {
			char *t;
			if (n + ph[hit].len + (len - i) + 1 > cap) {
				cap = n + ph[hit].len + (len - i) + 1;
				if ((t = realloc(out, cap)) == NULL) {
					free(out);
					return NULL;
				}
				out = t;
			}
			memcpy(out + n, ph[hit].value, ph[hit].len);
			n += ph[hit].len;
			i += strlen(ph[hit].name) + 2;
			continue;
		}
		if (n + 2 > cap) {
			char *t;
			cap = n + (len - i) + 2;
			if ((t = realloc(out, cap)) == NULL) {
				free(out);
				return NULL;
			}
			out = t;
		}
		out[n++] = in[i++];
	}
	out[n] = '\0';
	*outlen = n;
	return out;
}
