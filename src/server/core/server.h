/*
 * server.h - the context every request handler sees.
 *
 * signetd is the network- and JSON-facing process. It holds a database pool,
 * a client handle to the keeper (which alone talks to the HSM and knows the
 * PIN) and its configuration. It never holds a code signing private key.
 */
#ifndef SIGNET_SERVER_H
#define SIGNET_SERVER_H

#include <stdint.h>

struct db;
struct keeper;
struct ratelimit;
struct oidc_keys;
struct authfail;

struct sn_config {
	char *data_dir;
	char *listen;			/* "127.0.0.1:8443" */
	char *public_url;		/* "https://127.0.0.1:8443": CRL URLs, JWT aud */
	char *db_url;			/* "sqlite:DIR/signet.db" */
	char *hsm_module;		/* PKCS#11 module path */
	char *token_label;
	char *pin_file;
	char *softhsm_conf;		/* NULL with a vendor HSM */
	char *tls_cert;			/* DIR/tls/server.crt */
	char *tls_key;			/* DIR/tls/server.key */
	int max_connections;		/* HTTP connections at once (a thread each) */
	int max_connections_per_ip;	/* per client address; 0 = no per-address cap */
	int auth_failure_limit;		/* failed authentications per address per minute; 0 = off */
	int keeper_workers;
	size_t max_body;		/* bytes; larger bodies get 413 */
	int max_json_depth;
	int max_batch;			/* digests per batch sign request */
	char *oidc_ca_file;		/* PEM bundle for OIDC issuers; NULL = system store */
	int oidc_fetch_timeout;		/* seconds for discovery + JWKS together */
	int session_idle_timeout;	/* console session: s without a request */
	int session_lifetime;		/* console session: s after sign-in */
	/* transparency log (docs/AUDIT.md): a new signed checkpoint once the
	 * tree grew and this many seconds passed or this many events came */
	int checkpoint_interval;	/* audit_checkpoint_interval */
	int checkpoint_events;		/* audit_checkpoint_events */
	char *log_origin;		/* audit_log_origin: "<this>/<tenant id>" */
	char *http_public_url;		/* "http://HOST:PORT" of --http-listen, or NULL */
	char *tsa_policy;		/* dotted OID; NULL = the built-in default */
	int tsa_rate_limit;		/* TSA + OCSP requests per address per minute; 0 = off */
	int ocsp_cache_ttl;		/* seconds an OCSP answer without nonce is reused; 0 = never */
	char *metrics_token;		/* operator bearer token for /metrics; NULL = /metrics off */
	char *webhook_ca_file;		/* PEM bundle webhook receivers chain to; NULL = system store */
	int webhook_retry_base;		/* s before the first retry (doubling) */
	int webhook_max_attempts;	/* attempts before a delivery fails */
};

struct sn_server {
	struct sn_config cfg;
	struct db *db;
	struct keeper *keeper;
	struct ratelimit *auth_limiter;	/* NULL = no limit (tests, fuzzers) */
	struct oidc_keys *oidc;		/* issuers' JWKS cache; NULL = no federation */
	struct ratelimit *tsa_limiter;	/* TSA + OCSP requests; NULL = no limit */
	struct authfail *auth_failures;	/* aggregated auth.failure events; NULL = counted only */
	const char *self_exe;
	/* counters for /metrics; updated with atomics */
	uint64_t n_requests;
	uint64_t n_signatures;
	uint64_t n_sign_failures;
	uint64_t n_auth_failures;
	uint64_t n_me_keys_rows;	/* keys answered by GET /v1/me/keys */
	uint64_t n_me_keys_not_modified;	/* ... 304s of it */
	int64_t started_at;		/* sn_now() at start, for /metrics uptime */
};

#endif
