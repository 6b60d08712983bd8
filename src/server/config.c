/*
 * config.c - signetd.conf reading and writing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>

#include "config.h"
#include "err.h"
#include "util.h"

#define CONFIG_MAX_SIZE	(64 * 1024)

int
server_config_set(char **field, const char *value)
{
	char *v = NULL;

	if (value != NULL && (v = strdup(value)) == NULL)
		return SN_ERR_NOMEM;
	free(*field);
	*field = v;
	return 0;
}

static int
set_path(char **field, const char *dir, const char *name)
{
	char buf[4096];
	int n;

	n = snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return SN_ERR_INVALID;
	return server_config_set(field, buf);
}

int
server_config_defaults(struct sn_config *cfg, const char *data_dir)
{
	char url[4200];
	int r;

	memset(cfg, 0, sizeof(*cfg));
	snprintf(url, sizeof(url), "sqlite:%s/signet.db", data_dir);
	if ((r = server_config_set(&cfg->data_dir, data_dir)) != 0 ||
	    (r = server_config_set(&cfg->listen, SN_DEFAULT_LISTEN)) != 0 ||
	    (r = server_config_set(&cfg->public_url,
	    "https://" SN_DEFAULT_LISTEN)) != 0 ||
	    (r = server_config_set(&cfg->db_url, url)) != 0 ||
	    (r = server_config_set(&cfg->hsm_module, SIGNET_SOFTHSM_MODULE)) != 0 ||
	    (r = server_config_set(&cfg->token_label, "signet")) != 0 ||
	    (r = set_path(&cfg->pin_file, data_dir, "hsm/pin")) != 0 ||
	    (r = set_path(&cfg->softhsm_conf, data_dir,
	    "hsm/softhsm2.conf")) != 0 ||
	    (r = set_path(&cfg->tls_cert, data_dir, "tls/server.crt")) != 0 ||
	    (r = set_path(&cfg->tls_key, data_dir, "tls/server.key")) != 0)
		return r;
	cfg->max_connections = SN_DEFAULT_MAX_CONNECTIONS;
	cfg->max_connections_per_ip = SN_DEFAULT_MAX_CONNECTIONS_PER_IP;
	cfg->auth_failure_limit = SN_DEFAULT_AUTH_FAILURE_LIMIT;
	cfg->keeper_workers = 4;
	cfg->max_body = SN_DEFAULT_MAX_BODY;
	cfg->max_json_depth = SN_DEFAULT_JSON_DEPTH;
	cfg->max_batch = SN_DEFAULT_MAX_BATCH;
	cfg->webhook_retry_base = 30;
	cfg->webhook_max_attempts = 8;
	cfg->oidc_fetch_timeout = 5;
	cfg->session_idle_timeout = SN_DEFAULT_SESSION_IDLE_TIMEOUT;
	cfg->session_lifetime = SN_DEFAULT_SESSION_LIFETIME;
	cfg->checkpoint_interval = SN_DEFAULT_CHECKPOINT_INTERVAL;
	cfg->checkpoint_events = SN_DEFAULT_CHECKPOINT_EVENTS;
	if ((r = server_config_set(&cfg->log_origin, SN_DEFAULT_LOG_ORIGIN)) != 0)
		return r;
	cfg->tsa_rate_limit = SN_DEFAULT_TSA_RATE_LIMIT;
	cfg->ocsp_cache_ttl = SN_DEFAULT_OCSP_CACHE_TTL;
	return 0;
}

void
server_config_free(struct sn_config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->data_dir);
	free(cfg->log_origin);
	free(cfg->listen);
	free(cfg->public_url);
	free(cfg->db_url);
	free(cfg->hsm_module);
	free(cfg->token_label);
	free(cfg->pin_file);
	free(cfg->softhsm_conf);
	free(cfg->tls_cert);
	free(cfg->tls_key);
	free(cfg->oidc_ca_file);
	free(cfg->webhook_ca_file);
	free(cfg->http_public_url);
	free(cfg->tsa_policy);
	sn_strfreezero(cfg->metrics_token);
	memset(cfg, 0, sizeof(*cfg));
}

int
server_config_set_oid(char **field, const char *v)
{
	ASN1_OBJECT *o;
	size_t i, n = strlen(v);

	/* Dotted numbers only: OBJ_txt2obj(.., 1) also takes no names. */
	if (n == 0 || n > 200 || v[0] == '.' || v[n - 1] == '.')
		return SN_ERR_INVALID;
	for (i = 0; i < n; i++)
		if ((v[i] < '0' || v[i] > '9') &&
		    (v[i] != '.' || v[i + 1] == '.'))
			return SN_ERR_INVALID;
	if ((o = OBJ_txt2obj(v, 1)) == NULL)
		return SN_ERR_INVALID;
	ASN1_OBJECT_free(o);
	return server_config_set(field, v);
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int
set_int(int *field, const char *v, long long min, long long max)
{
	long long n;

	if (sn_parse_int(v, min, max, &n) != 0)
		return SN_ERR_INVALID;
	*field = (int)n;
	return 0;
}

static int
apply(struct sn_config *cfg, const char *k, const char *v)
{
	long long n;

	if (strcmp(k, "listen") == 0)
		return server_config_set(&cfg->listen, v);
	if (strcmp(k, "public_url") == 0)
		return server_config_set(&cfg->public_url, v);
	if (strcmp(k, "db_url") == 0)
		return server_config_set(&cfg->db_url, v);
	if (strcmp(k, "hsm_module") == 0)
		return server_config_set(&cfg->hsm_module, v);
	if (strcmp(k, "token_label") == 0)
		return server_config_set(&cfg->token_label, v);
	if (strcmp(k, "pin_file") == 0)
		return server_config_set(&cfg->pin_file, v);
	if (strcmp(k, "softhsm_conf") == 0)
		return server_config_set(&cfg->softhsm_conf, *v ? v : NULL);
	if (strcmp(k, "tls_cert") == 0)
		return server_config_set(&cfg->tls_cert, v);
	if (strcmp(k, "tls_key") == 0)
		return server_config_set(&cfg->tls_key, v);
	if (strcmp(k, "max_connections") == 0)
		return set_int(&cfg->max_connections, v, 1, 65536);
	if (strcmp(k, "max_connections_per_ip") == 0)
		return set_int(&cfg->max_connections_per_ip, v, 0, 65536);
	if (strcmp(k, "auth_failure_limit") == 0)
		return set_int(&cfg->auth_failure_limit, v, 0, 1000000);
	if (strcmp(k, "keeper_workers") == 0)
		return set_int(&cfg->keeper_workers, v, 1, 64);
	if (strcmp(k, "max_json_depth") == 0)
		return set_int(&cfg->max_json_depth, v, 2, 256);
	if (strcmp(k, "max_batch") == 0)
		return set_int(&cfg->max_batch, v, 1, 1024);
	/* OIDC federation: the CA bundle that issuers' HTTPS must chain to
	 * (default: the system store) and the wait for their keys. */
	if (strcmp(k, "oidc_ca_file") == 0)
		return server_config_set(&cfg->oidc_ca_file, *v ? v : NULL);
	/* Webhooks (api/webhooks.c): the CA bundle receivers' HTTPS must
	 * chain to (default: the system store), and the retries. */
	if (strcmp(k, "webhook_ca_file") == 0)
		return server_config_set(&cfg->webhook_ca_file, *v ? v : NULL);
	if (strcmp(k, "webhook_retry_base") == 0)
		return set_int(&cfg->webhook_retry_base, v, 1, 3600);
	if (strcmp(k, "webhook_max_attempts") == 0)
		return set_int(&cfg->webhook_max_attempts, v, 1, 50);
	if (strcmp(k, "oidc_fetch_timeout") == 0)
		return set_int(&cfg->oidc_fetch_timeout, v, 1, 60);
	if (strcmp(k, "session_idle_timeout") == 0)
		return set_int(&cfg->session_idle_timeout, v, 60, 86400);
	if (strcmp(k, "session_lifetime") == 0)
		return set_int(&cfg->session_lifetime, v, 60, 30 * 86400);
	if (strcmp(k, "audit_checkpoint_interval") == 0)
		return set_int(&cfg->checkpoint_interval, v, 1, 86400);
	if (strcmp(k, "audit_checkpoint_events") == 0)
		return set_int(&cfg->checkpoint_events, v, 1, 10000000);
	if (strcmp(k, "audit_log_origin") == 0) {
		/* a note key name: printable, no space or '+', room for the
		 * "/<tenant id>" suffix */
		if (*v == '\0' || strlen(v) > 64 || strpbrk(v, " +") != NULL)
			return SN_ERR_INVALID;
		for (const char *p = v; *p != '\0'; p++)
			if (*p < '!' || *p > '~')
				return SN_ERR_INVALID;
		return server_config_set(&cfg->log_origin, v);
	}
	if (strcmp(k, "ocsp_cache_ttl") == 0)
		return set_int(&cfg->ocsp_cache_ttl, v, 0, 86400);
	if (strcmp(k, "tsa_rate_limit") == 0)
		return set_int(&cfg->tsa_rate_limit, v, 0, 1000000);
	if (strcmp(k, "tsa_policy") == 0)
		return server_config_set_oid(&cfg->tsa_policy, v);
	if (strcmp(k, "http_public_url") == 0)
		return server_config_set(&cfg->http_public_url, *v ? v : NULL);
	if (strcmp(k, "metrics_token") == 0) {
		/* A bearer secret: long enough not to be guessed, and only
		 * characters that travel in a header unchanged. */
		for (const char *p = v; *p != '\0'; p++)
			if (*p <= ' ' || *p >= 0x7f)
				return SN_ERR_INVALID;
		if (*v != '\0' && strlen(v) < 32)
			return SN_ERR_INVALID;
		sn_strfreezero(cfg->metrics_token);
		cfg->metrics_token = NULL;
		return *v != '\0' ? server_config_set(&cfg->metrics_token, v) : 0;
	}
	if (strcmp(k, "max_body") == 0) {
		if (sn_parse_int(v, 1024, 64LL * 1024 * 1024, &n) != 0)
			return SN_ERR_INVALID;
		cfg->max_body = (size_t)n;
		return 0;
	}
	return SN_ERR_INVALID;
}

int
server_config_load(struct sn_config *cfg, const char *data_dir)
{
	char path[4096], *buf = NULL, *line, *next, *eq;
	size_t len;
	int r, lineno = 0;

	if ((r = server_config_defaults(cfg, data_dir)) != 0)
		return r;
	snprintf(path, sizeof(path), "%s/%s", data_dir, SN_CONFIG_FILE);
	if ((r = sn_read_file(path, CONFIG_MAX_SIZE, &buf, &len)) != 0) {
		fprintf(stderr, "signetd: cannot read %s: %s\n", path,
		    sn_strerror(r));
		return r;
	}
	if (memchr(buf, '\0', len) != NULL) {
		r = SN_ERR_INVALID;
		goto out;
	}
	for (line = buf; line != NULL; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		line = trim(line);
		if (*line == '\0' || *line == '#')
			continue;
		if ((eq = strchr(line, '=')) == NULL) {
			fprintf(stderr, "signetd: %s:%d: expected key = value\n",
			    path, lineno);
			r = SN_ERR_INVALID;
			goto out;
		}
		*eq = '\0';
		if ((r = apply(cfg, trim(line), trim(eq + 1))) != 0) {
			fprintf(stderr, "signetd: %s:%d: bad setting '%s'\n",
			    path, lineno, trim(line));
			goto out;
		}
	}
	r = 0;
 out:
	if (buf != NULL)
		sn_freezero(buf, len);	/* holds the metrics_token */
	return r;
}

int
server_config_save(const struct sn_config *cfg)
{
	char path[4096], *buf = NULL;
	size_t size = 0;
	FILE *f;
	int r;

	if ((f = open_memstream(&buf, &size)) == NULL)
		return SN_ERR_NOMEM;
	fprintf(f, "# signetd configuration (written by signetd init)\n"
	    "listen = %s\npublic_url = %s\ndb_url = %s\nhsm_module = %s\n"
	    "token_label = %s\n"
	    "# read only by the keeper process\npin_file = %s\n"
	    "softhsm_conf = %s\ntls_cert = %s\ntls_key = %s\n"
	    "max_connections = %d\nmax_connections_per_ip = %d\n"
	    "auth_failure_limit = %d\nkeeper_workers = %d\nmax_body = %zu\n"
	    "max_json_depth = %d\nmax_batch = %d\n"
	    "session_idle_timeout = %d\nsession_lifetime = %d\n",
	    cfg->listen, cfg->public_url, cfg->db_url, cfg->hsm_module,
	    cfg->token_label, cfg->pin_file,
	    cfg->softhsm_conf != NULL ? cfg->softhsm_conf : "",
	    cfg->tls_cert, cfg->tls_key, cfg->max_connections,
	    cfg->max_connections_per_ip, cfg->auth_failure_limit,
	    cfg->keeper_workers,
	    cfg->max_body, cfg->max_json_depth, cfg->max_batch,
	    cfg->session_idle_timeout, cfg->session_lifetime);
	fprintf(f, "# operator bearer token for GET /metrics (keep this file "
	    "0600)\nmetrics_token = %s\n", cfg->metrics_token != NULL ?
	    cfg->metrics_token : "");
	if (fclose(f) != 0) {
		sn_freezero(buf, size);
		return SN_ERR_IO;
	}
	snprintf(path, sizeof(path), "%s/%s", cfg->data_dir, SN_CONFIG_FILE);
	r = sn_write_file(path, buf, size, 0600);
	sn_freezero(buf, size);
	return r;
}

int
server_parse_listen(const char *s, char **host, int *port)
{
	const char *colon, *h, *he;
	long long p;

	*host = NULL;
	if (s == NULL || *s == '\0')
		return SN_ERR_INVALID;
	if (*s == '[') {
		h = s + 1;
		if ((he = strchr(h, ']')) == NULL || he[1] != ':')
			return SN_ERR_INVALID;
		colon = he + 1;
	} else {
		h = s;
		if ((colon = strrchr(s, ':')) == NULL)
			return SN_ERR_INVALID;
		he = colon;
		if (memchr(h, ':', (size_t)(he - h)) != NULL)
			return SN_ERR_INVALID;	/* bare IPv6 needs brackets */
	}
	if (he == h || sn_parse_int(colon + 1, 0, 65535, &p) != 0)
		return SN_ERR_INVALID;
	if ((*host = strndup(h, (size_t)(he - h))) == NULL)
		return SN_ERR_NOMEM;
	*port = (int)p;
	return 0;
}
