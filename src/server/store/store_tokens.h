/*
 * store_tokens.h - service-account access tokens, the JWT replay store
 * (jti once per account), and console session lookups for the session
 * endpoint. All of it is in the database, never in one instance's memory,
 * so a token issued by one signetd works on every other and a replayed
 * assertion is refused whichever instance sees it.
 *
 * Writes expect the caller's transaction. Return convention: 0 or a
 * negative SN_ERR_*.
 */
#ifndef SIGNET_STORE_TOKENS_H
#define SIGNET_STORE_TOKENS_H

#include <stddef.h>
#include <stdint.h>

struct db_conn;

/*
 * Records jti of sa_id as used until expires_at, first dropping every
 * entry that expired before purge_before. SN_ERR_CONFLICT if it was used
 * already (a replay), by this or any other instance.
 */
int store_jti_use(struct db_conn *c, const char *sa_id, const char *jti,
    int64_t expires_at, int64_t purge_before);

struct store_token_new {
	const char *id;
	const char *tenant_id;
	const char *sa_id;
	int64_t key_version;
	const uint8_t *secret_hash;
	size_t secret_hash_len;
	int64_t created_at;
	int64_t expires_at;
	const char *federation_id;	/* NULL: not from a token exchange */
	const char *provenance;		/* JSON text or NULL */
};
int store_token_insert(struct db_conn *c, const struct store_token_new *t);

/* The expiry of console session id of tenant. SN_ERR_NOT_FOUND. */
int store_console_session_expiry(struct db_conn *c, const char *tenant_id,
    const char *id, int64_t *expires_at);

#endif
