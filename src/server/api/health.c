/*
 * health.c - GET /healthz (public: "ok" and nothing else), GET /readyz
 * (public: whether the database and the keeper answer, and nothing else)
 * and GET /metrics (totals across all tenants, so only for the operator:
 * the HTTP layer lets through only the metrics_token of signetd.conf, see
 * API_OPERATOR).
 */
#include <stdio.h>
#include <stdlib.h>

#include "api.h"
#include "db.h"
#include "err.h"
#include "keeper.h"
#include "metrics.h"
#include "oidc_keys.h"
#include "server.h"
#include "store_health.h"
#include "util.h"

/* How long /readyz waits for the keeper (a busy keeper is not killed). */
#define READYZ_KEEPER_MS	2000
#define READYZ_RETRY_AFTER	5

static int
healthz(struct sn_request *req, struct sn_response *resp)
{
	return api_json(resp, 200, json_pack("{s:s}", "status", "ok"));
}

/*
 * Ready = this instance can sign now: a database connection and a query
 * that reads the database, and a keeper round trip. The body names only
 * which check failed, never why (no paths, errors or versions).
 */
static int
readyz(struct sn_request *req, struct sn_response *resp)
{
	struct sn_server *s = req->srv;
	int db_ok, keeper_ok, r;

	db_ok = store_ping(s->db) == 0;
	keeper_ok = keeper_ping(s->keeper, READYZ_KEEPER_MS) == 0;
	if (db_ok && keeper_ok)
		return api_json(resp, 200, json_pack("{s:s,s:{s:s,s:s}}",
		    "status", "ready", "checks", "database", "ok", "keeper",
		    "ok"));
	r = api_error(resp, SN_ERR_UNAVAILABLE, "not ready:%s%s",
	    db_ok ? "" : " database", keeper_ok ? "" : " keeper");
	resp->retry_after = READYZ_RETRY_AFTER;
	json_object_set_new(resp->body, "status", json_string("not_ready"));
	json_object_set_new(resp->body, "checks", json_pack("{s:s,s:s}",
	    "database", db_ok ? "ok" : "unavailable",
	    "keeper", keeper_ok ? "ok" : "unavailable"));
	return r;
}

static int
metrics(struct sn_request *req, struct sn_response *resp)
{
	struct sn_server *s = req->srv;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int64_t up;
	int in_use, pool;

	if ((f = open_memstream(&buf, &len)) == NULL)
		return api_error(resp, SN_ERR_NOMEM, "out of memory");
	up = s->started_at > 0 ? sn_now() - s->started_at : 0;
	fprintf(f,
	    "# HELP signet_requests_total HTTP requests received.\n"
	    "# TYPE signet_requests_total counter\n"
	    "signet_requests_total %llu\n"
	    "# HELP signet_signatures_total Signatures returned.\n"
	    "# TYPE signet_signatures_total counter\n"
	    "signet_signatures_total %llu\n"
	    "# HELP signet_sign_failures_total Signing requests that failed.\n"
	    "# TYPE signet_sign_failures_total counter\n"
	    "signet_sign_failures_total %llu\n"
	    "# HELP signet_auth_failures_total Rejected credentials.\n"
	    "# TYPE signet_auth_failures_total counter\n"
	    "signet_auth_failures_total %llu\n"
	    "# HELP signet_me_keys_rows_total Keys answered by GET "
	    "/v1/me/keys.\n"
	    "# TYPE signet_me_keys_rows_total counter\n"
	    "signet_me_keys_rows_total %llu\n"
	    "# HELP signet_me_keys_not_modified_total GET /v1/me/keys "
	    "answered 304 (If-None-Match).\n"
	    "# TYPE signet_me_keys_not_modified_total counter\n"
	    "signet_me_keys_not_modified_total %llu\n"
	    "# HELP signet_uptime_seconds Seconds since signetd started.\n"
	    "# TYPE signet_uptime_seconds gauge\n"
	    "signet_uptime_seconds %lld\n",
	    (unsigned long long)__atomic_load_n(&s->n_requests,
	    __ATOMIC_RELAXED),
	    (unsigned long long)__atomic_load_n(&s->n_signatures,
	    __ATOMIC_RELAXED),
	    (unsigned long long)__atomic_load_n(&s->n_sign_failures,
	    __ATOMIC_RELAXED),
	    (unsigned long long)__atomic_load_n(&s->n_auth_failures,
	    __ATOMIC_RELAXED),
	    (unsigned long long)__atomic_load_n(&s->n_me_keys_rows,
	    __ATOMIC_RELAXED),
	    (unsigned long long)__atomic_load_n(&s->n_me_keys_not_modified,
	    __ATOMIC_RELAXED),
	    (long long)up);
	/* OIDC federation: how often issuers' keys were fetched (a rising
	 * rate means unknown kids or a short Cache-Control). */
	fprintf(f, "# HELP signet_oidc_key_fetches_total Fetches of OIDC "
	    "issuers' discovery and JWKS.\n"
	    "# TYPE signet_oidc_key_fetches_total counter\n"
	    "signet_oidc_key_fetches_total %llu\n",
	    (unsigned long long)oidc_keys_fetches(s->oidc));
	db_pool_usage(s->db, &in_use, &pool);
	fprintf(f, "# HELP signet_keeper_queue_depth Calls waiting for the "
	    "keeper's answer (HSM work queued or in progress).\n"
	    "# TYPE signet_keeper_queue_depth gauge\n"
	    "signet_keeper_queue_depth %zu\n"
	    "# HELP signet_db_pool_connections_in_use Database connections "
	    "handed out.\n"
	    "# TYPE signet_db_pool_connections_in_use gauge\n"
	    "signet_db_pool_connections_in_use %d\n"
	    "# HELP signet_db_pool_connections Size of the database pool.\n"
	    "# TYPE signet_db_pool_connections gauge\n"
	    "signet_db_pool_connections %d\n",
	    keeper_pending(s->keeper), in_use, pool);
	metrics_render(f);
	if (fclose(f) != 0) {
		free(buf);
		return api_error(resp, SN_ERR_NOMEM, "out of memory");
	}
	return api_raw(resp, 200, "text/plain; version=0.0.4", buf, len);
}

const struct api_route api_routes_health[] = {
	{ "GET", "/healthz", healthz, API_PUBLIC },
	{ "GET", "/readyz", readyz, API_PUBLIC },
	{ "GET", "/metrics", metrics, API_OPERATOR },
	{ NULL, NULL, NULL, API_PUBLIC },
};
