/*
 * store_policies.h - the rows behind signing policies: one policy per key
 * (key_policies, its JSON as policy_to_json wrote it) and the signature
 * counters of quotas (key_sign_counts, one row per key, period and period
 * start, added to inside the signature's audit transaction).
 *
 * Every function filters on tenant_id; writes expect the caller's open
 * transaction. Return convention: 0 or a negative SN_ERR_*.
 */
#ifndef SIGNET_STORE_POLICIES_H
#define SIGNET_STORE_POLICIES_H

#include <stdint.h>

#include <jansson.h>

#include "util.h"

struct db_conn;

struct store_policy {
	json_t *policy;			/* owned; NULL when cleared */
	int64_t updated_at;
	char updated_by[64];		/* actor id */
};
void store_policy_clear(struct store_policy *p);	/* NULL ok */

/* SN_ERR_NOT_FOUND if the key has no policy; SN_ERR_DB for a stored
 * policy that is not JSON. */
int store_policy_get(struct db_conn *c, const char *tenant_id,
    const char *key_id, struct store_policy *out) SN_WUR;
/* Inserts or replaces the key's policy (JSON text). */
int store_policy_put(struct db_conn *c, const char *tenant_id,
    const char *key_id, const char *policy_json, int64_t now,
    const char *actor_id) SN_WUR;
/* SN_ERR_NOT_FOUND if there was none. */
int store_policy_delete(struct db_conn *c, const char *tenant_id,
    const char *key_id) SN_WUR;

/* Signatures counted for the key in the period starting at start. */
int store_quota_used(struct db_conn *c, const char *tenant_id,
    const char *key_id, const char *period, int64_t start, int64_t *used)
    SN_WUR;
/* Adds n to that count (and drops the key's counts of earlier periods). */
int store_quota_add(struct db_conn *c, const char *tenant_id,
    const char *key_id, const char *period, int64_t start, int64_t n) SN_WUR;

#endif
