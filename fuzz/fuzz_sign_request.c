/*
 * fuzz_sign_request.c - the body of POST /v1/keys/{id}/sign.
 *
 * Input: byte 0 picks the key (RSA with SHA-1 allowed, EC, disabled EC) and
 * the caller (an authorized signer, or a user who is not one); the rest is
 * the JSON body. The database holds real rows; there is no keeper, so a
 * request that passes every check must end in 503 — never in a signature.
 * What an input writes (the audit events of refusals) is put back before
 * the next one (fuzz_snapshot.h), so no input depends on an earlier one and
 * the database does not grow.
 *
 * Invariants: the handler fails, the status is 400..599, the body is the
 * JSON error shape and carries no "signature"/"signatures" member.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "api.h"
#include "db.h"
#include "fuzz_snapshot.h"
#include "render.h"
#include "server.h"

static struct sn_server srv;
static struct sn_actor signer, outsider;
static char dir[] = "/tmp/signet-fuzz-sign-XXXXXX";

/* The database goes with the process (a finding's abort leaves it). */
static void
cleanup(void)
{
	char p[64];

	snapshot_close();
	db_close(srv.db);
	srv.db = NULL;
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/f.db%s", dir,
		    i == 0 ? "" : i == 1 ? "-wal" : "-shm");
		unlink(p);
	}
	rmdir(dir);
}

static void
seed(void)
{
	char url[256];
	struct db_conn *c = NULL;

	if (mkdtemp(dir) == NULL)
		abort();
	atexit(cleanup);
	snprintf(url, sizeof(url), "sqlite:%s/f.db", dir);
	srv.cfg.max_batch = 8;
	if (db_open(url, 2, &srv.db) != 0 || db_acquire(srv.db, &c) != 0)
		abort();
	if (db_execf(c, "INSERT INTO tenants (id, name, created_at) VALUES "
	    "('ten_f', 'fuzz', 1)", "") != 0 ||
	    db_execf(c, "INSERT INTO users (id, tenant_id, email, role, "
	    "created_at) VALUES ('usr_s', 'ten_f', 's@f.test', 'user', 1), "
	    "('usr_o', 'ten_f', 'o@f.test', 'user', 1)", "") != 0 ||
	    db_execf(c, "INSERT INTO projects (id, tenant_id, name, created_at) "
	    "VALUES ('prj_f', 'ten_f', 'p', 1)", "") != 0 ||
	    db_execf(c, "INSERT INTO project_signers (project_id, "
	    "principal_type, principal_id, created_at) VALUES "
	    "('prj_f', 'user', 'usr_s', 1)", "") != 0 ||
	    db_execf(c, "INSERT INTO signing_keys (id, tenant_id, project_id, "
	    "name, algorithm, state, not_before, not_after, ca_mode, "
	    "allow_sha1, hsm_key_id, created_at) VALUES "
	    "('skey_r', 'ten_f', 'prj_f', 'r', 'rsa-2048', 'active', 0, "
	    "99999999999, 'none', 1, '00112233445566778899aabbccddeeff', 1),"
	    "('skey_e', 'ten_f', 'prj_f', 'e', 'ecdsa-p256', 'active', 0, "
	    "99999999999, 'none', 0, '00112233445566778899aabbccddeef0', 1),"
	    "('skey_d', 'ten_f', 'prj_f', 'd', 'ecdsa-p256', 'disabled', 0, "
	    "99999999999, 'none', 0, '00112233445566778899aabbccddeef1', 1)",
	    "") != 0)
		abort();
	db_release(c);
	snprintf(url, sizeof(url), "%s/f.db", dir);
	snapshot_take(url);
	signer.type = outsider.type = SN_ACTOR_USER;
	snprintf(signer.id, sizeof(signer.id), "usr_s");
	snprintf(outsider.id, sizeof(outsider.id), "usr_o");
	snprintf(signer.tenant_id, sizeof(signer.tenant_id), "ten_f");
	snprintf(outsider.tenant_id, sizeof(outsider.tenant_id), "ten_f");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = { "skey_r", "e", "p/d" };
	struct sn_request req;
	struct sn_response resp;
	json_error_t jerr;
	int r;

	if (srv.db == NULL)
		seed();
	else
		(void)snapshot_restore();
	if (size < 1)
		return 0;
	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	req.body = json_loadb((const char *)data + 1, size - 1,
	    JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (req.body == NULL && size > 1)
		return 0;	/* the HTTP layer answers 400 before us */
	req.srv = &srv;
	req.method = "POST";
	req.path = "/v1/keys/{id}/sign";
	req.params[0] = keys[data[0] % 3];
	req.nparams = 1;
	req.source_ip = "127.0.0.1";
	req.actor = (data[0] / 3) % 2 == 0 ? signer : outsider;

	r = api_keys_sign(&req, &resp);
	if (r == 0 || resp.status < 400 || resp.status > 599 ||
	    resp.body == NULL ||
	    !json_is_string(json_object_get(json_object_get(resp.body,
	    "error"), "code")) ||
	    json_object_get(resp.body, "signature") != NULL ||
	    json_object_get(resp.body, "signatures") != NULL)
		abort();
	api_response_clear(&resp);
	json_decref(req.body);
	return 0;
}
