/*
 * store.h - store functions for the identity objects (tenants, users, API
 * keys).
 *
 * Every function takes a connection from db_acquire() and, where it writes,
 * expects the caller to have opened a transaction (db_begin) so the change
 * and its audit event commit together. Every query filters on tenant_id:
 * an object of another tenant is SN_ERR_NOT_FOUND, exactly like a missing one.
 *
 * Return convention: 0 or a negative SN_ERR_*. Outputs are cleared on entry.
 */
#ifndef SIGNET_STORE_H
#define SIGNET_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "db.h"

struct db;
struct db_conn;

/* ---- tenants ---- */

struct store_tenant {
	char id[64];
	char name[128];
	int64_t created_at;
};

/* Getters may be passed arguments that point into their own *out. */

/* Creates a tenant (name: api_valid_name rules). SN_ERR_CONFLICT if taken. */
int store_tenant_create(struct db_conn *c, const char *name,
    struct store_tenant *out);
/* By id or name. SN_ERR_NOT_FOUND. */
int store_tenant_get(struct db_conn *c, const char *id_or_name,
    struct store_tenant *out);

/* ---- users ---- */

struct store_user {
	char id[64];
	char tenant_id[64];
	char email[256];
	char role[8];			/* "admin" | "user" */
	int disabled;
	int64_t created_at;
};

int store_user_create(struct db_conn *c, const char *tenant_id,
    const char *email, const char *role, struct store_user *out);
/* By id ("usr_...") or email, inside tenant_id only. SN_ERR_NOT_FOUND. */
int store_user_get(struct db_conn *c, const char *tenant_id,
    const char *id_or_email, struct store_user *out);
int store_user_set_disabled(struct db_conn *c, const char *tenant_id,
    const char *user_id, int disabled);
/* U = {"id","email","role","disabled","created_at"}; NULL on ENOMEM. */
json_t *store_user_json(const struct store_user *u);

/* ---- API keys ---- */

struct store_apikey {
	char id[64];			/* "key_<16 hex>" */
	char tenant_id[64];
	char user_id[64];
	char description[256];
	int64_t created_at;
	int64_t expires_at;		/* 0 = never */
	int64_t revoked_at;		/* 0 = not revoked */
	int64_t last_used_at;		/* 0 = never */
};

/*
 * Creates an API key for user_id: a fresh secret (see auth.h), stores only
 * its SHA-256. *secret is the whole "snk_..." string, malloc'd, shown once:
 * the caller wipes it with sn_strfreezero(). expires_at 0 = no expiry.
 */
int store_apikey_create(struct db_conn *c, const char *tenant_id,
    const char *user_id, const char *description, int64_t expires_at,
    struct store_apikey *out, char **secret);
int store_apikey_get(struct db_conn *c, const char *tenant_id,
    const char *id, struct store_apikey *out);
/* {"apikeys":[...]} of one user, newest first; *out is a new reference. */
int store_apikey_list(struct db_conn *c, const char *tenant_id,
    const char *user_id, json_t **out);
/* Sets revoked_at (once). SN_ERR_CONFLICT if already revoked. */
int store_apikey_revoke(struct db_conn *c, const char *tenant_id,
    const char *id, int64_t now);
/* {"id","description","created_at","expires_at","revoked_at","last_used_at"}
 * with null for unset times. */
json_t *store_apikey_json(const struct store_apikey *k);

/* RFC 3339 string, or JSON null for t == 0. New reference. */
json_t *store_time_json(int64_t t);

#endif
