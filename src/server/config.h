/*
 * config.h - signetd.conf: "key = value" lines, '#' comments.
 *
 * The file names paths (the PIN file among them) and one secret of the
 * operator's own, the metrics_token that GET /metrics requires; it is
 * written 0600 and wiped from memory after reading. The serving process
 * never opens the PIN file it names.
 */
#ifndef SIGNET_CONFIG_H
#define SIGNET_CONFIG_H

#include "server.h"

#define SN_CONFIG_FILE		"signetd.conf"
#define SN_DEFAULT_LISTEN	"127.0.0.1:8443"
#define SN_DEFAULT_MAX_BODY	(1024 * 1024)
#define SN_DEFAULT_JSON_DEPTH	32
#define SN_DEFAULT_MAX_BATCH	64
#define SN_DEFAULT_MAX_CONNECTIONS	512
/*
 * One client address may hold this many connections at once, so a client
 * that opens connections and never speaks cannot starve everybody else.
 * Behind a load balancer all clients share its address: raise it there.
 */
#define SN_DEFAULT_MAX_CONNECTIONS_PER_IP	64
/*
 * Failed authentications (401) one address may cause per minute before its
 * requests get 429 with Retry-After. High enough for a CI fleet behind one
 * NAT retrying a misconfigured key, low enough to stop a flood.
 */
#define SN_DEFAULT_AUTH_FAILURE_LIMIT	600
/*
 * Timestamp requests one address may make per minute (POST /tsa/...): a
 * build farm behind one NAT timestamps every file it signs.
 */
#define SN_DEFAULT_TSA_RATE_LIMIT	600
/* Seconds a nonce-less OCSP answer is served from memory. */
#define SN_DEFAULT_OCSP_CACHE_TTL	60

/* Web console sessions: signed out after 30 idle minutes, and 12 hours
 * after sign-in whatever happens (see src/server/auth/session.h). */
#define SN_DEFAULT_SESSION_IDLE_TIMEOUT	1800
#define SN_DEFAULT_SESSION_LIFETIME	43200
#define SN_DEFAULT_CHECKPOINT_INTERVAL	60
#define SN_DEFAULT_CHECKPOINT_EVENTS	1000
#define SN_DEFAULT_LOG_ORIGIN		"signet"

/* Fills cfg with defaults for data_dir (all strings malloc'd). 0 or SN_ERR_NOMEM. */
int server_config_defaults(struct sn_config *cfg, const char *data_dir);
/*
 * Reads DIR/signetd.conf over the defaults. Unknown keys and malformed lines
 * are errors (SN_ERR_INVALID, with the line on stderr). Missing file: SN_ERR_IO.
 */
int server_config_load(struct sn_config *cfg, const char *data_dir);
/* Writes cfg to DIR/signetd.conf (mode 0600). */
int server_config_save(const struct sn_config *cfg);
/* Frees the strings; cfg may be zeroed or partly filled. */
void server_config_free(struct sn_config *cfg);
/* Replaces one string field: *field = strdup(value). 0 or SN_ERR_NOMEM. */
int server_config_set(char **field, const char *value);

/* Sets a dotted OID ("1.2.3.4"); SN_ERR_INVALID unless OpenSSL takes it. */
int server_config_set_oid(char **field, const char *value);

/* Splits "host:port" / "[v6]:port". host is malloc'd. 0 or SN_ERR_INVALID. */
int server_parse_listen(const char *s, char **host, int *port);

#endif
