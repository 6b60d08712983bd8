/*
 * fuzz_http.c - the whole request pipeline without a socket.
 *
 * Input: byte 0 picks the method, byte 1 the credential (none, the tenant
 * admin's API key, another tenant's admin key, or the rest of the first
 * line as a raw Authorization header), then the path up to the first
 * newline, then the body. Runs http_process() over a real SQLite database
 * seeded with two tenants, exactly as signetd would, minus the keeper
 * (handlers that need the HSM must answer 503, not crash).
 *
 * Invariants checked: every answer has a status in 200..599 and a body,
 * and error answers are the JSON error shape. (Whether a response could
 * carry key material is tested end to end, where no input echoes it.)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api.h"
#include "db.h"
#include "http.h"
#include "server.h"
#include "store.h"
#include "util.h"

static struct sn_server srv;
static char *admin_key, *other_key;

static void
seed(void)
{
	char dir[] = "/tmp/signet-fuzz-http-XXXXXX", url[256];
	struct db_conn *c;
	struct store_tenant t;
	struct store_user u;
	struct store_apikey k;

	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(url, sizeof(url), "sqlite:%s/f.db", dir);
	srv.cfg.max_body = 64 * 1024;
	srv.cfg.max_json_depth = 32;
	srv.cfg.max_batch = 64;
	srv.cfg.public_url = strdup("https://127.0.0.1:8443");
	if (db_open(url, 2, &srv.db) != 0 || db_acquire(srv.db, &c) != 0 ||
	    store_tenant_create(c, "acme", &t) != 0 ||
	    store_user_create(c, t.id, "admin@acme.test", "admin", &u) != 0 ||
	    store_apikey_create(c, t.id, u.id, NULL, 0, &k, &admin_key) != 0 ||
	    store_tenant_create(c, "beta", &t) != 0 ||
	    store_user_create(c, t.id, "admin@beta.test", "admin", &u) != 0 ||
	    store_apikey_create(c, t.id, u.id, NULL, 0, &k, &other_key) != 0)
		abort();
	db_release(c);
}

static const char *
no_query(const struct sn_request *req, const char *name)
{
	return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *methods[] = { "GET", "POST", "PUT", "DELETE", "PATCH" };
	struct http_input in;
	struct sn_response resp;
	char *path = NULL, *auth = NULL, *text = NULL;
	const char *nl;
	size_t plen;
	int status;

	if (srv.db == NULL)
		seed();
	if (size < 2)
		return 0;
	memset(&in, 0, sizeof(in));
	memset(&resp, 0, sizeof(resp));
	in.method = methods[data[0] % 5];
	nl = memchr(data + 2, '\n', size - 2);
	plen = nl != NULL ? (size_t)(nl - (const char *)(data + 2)) : size - 2;
	if ((path = strndup((const char *)data + 2, plen)) == NULL)
		return 0;
	if (data[1] % 4 == 1 || data[1] % 4 == 2) {
		const char *key = data[1] % 4 == 1 ? admin_key : other_key;
		size_t n = strlen(key) + 8;
		if ((auth = malloc(n)) == NULL)
			goto out;
		snprintf(auth, n, "Bearer %s", key);
		in.authorization = auth;
	} else if (data[1] % 4 == 3)
		in.authorization = path;	/* garbage credentials */
	in.path = path;
	in.content_type = "application/json";
	if (nl != NULL) {
		in.body = nl + 1;
		in.body_len = size - (size_t)((const uint8_t *)nl + 1 - data);
	}
	in.source_ip = "127.0.0.1";
	in.user_agent = "fuzz";
	in.query = no_query;

	status = http_process(&srv, http_route_tables, &in, &resp, NULL);
	if (status < 200 || status > 599)
		abort();
	if (resp.body != NULL) {
		if ((text = json_dumps(resp.body, JSON_COMPACT)) == NULL)
			abort();
		if (status >= 400 && (json_object_get(resp.body, "error") == NULL ||
		    !json_is_string(json_object_get(json_object_get(resp.body,
		    "error"), "code"))))
			abort();
	} else if (resp.raw == NULL && status != 204)
		abort();
 out:
	api_response_clear(&resp);
	free(text);
	free(auth);
	free(path);
	return 0;
}
