/*
 * health.c - GET /healthz (public: "ok" and nothing else) and GET /metrics
 * (totals across all tenants, so only for the operator: the HTTP layer lets
 * through only the metrics_token of signetd.conf, see API_OPERATOR).
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
#include "util.h"

static int
healthz(struct sn_request *req, struct sn_response *resp)
{
	return api_json(resp, 200, json_pack("{s:s}", "status", "ok"));
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
	{ "GET", "/metrics", metrics, API_OPERATOR },
	{ NULL, NULL, NULL, API_PUBLIC },
};
