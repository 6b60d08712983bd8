/*
 * store_federations.h - SQL for the OIDC federations of service accounts
 * (table sa_federations, migration 3) and the provenance kept with the
 * access tokens a token exchange issues.
 *
 * Like every store file: tenant-filtered, no transactions of its own, no
 * permission decisions. Return convention: 0 or a negative SN_ERR_*
 * (SN_ERR_NOT_FOUND for a missing row).
 */
#ifndef SIGNET_STORE_FEDERATIONS_H
#define SIGNET_STORE_FEDERATIONS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct db_conn;

#define FED_ISSUER_MAX		512	/* https URL */
#define FED_AUDIENCE_MAX	256
#define FED_MAX_PER_ACCOUNT	16

struct store_federation {
	char id[64];			/* "fed_<hex>" */
	char tenant_id[64];
	char service_account_id[64];
	char issuer[FED_ISSUER_MAX + 1];
	char audience[FED_AUDIENCE_MAX + 1];
	json_t *claims;			/* object claim -> pattern; owned */
	int64_t max_token_age;		/* seconds */
	int64_t created_at;
};

void store_federation_clear(struct store_federation *f);	/* NULL ok */

/* Inserts f (claims serialised as compact JSON). */
int store_federation_insert(struct db_conn *c, const struct store_federation *f);
/* Number of federations of one account. */
int store_federation_count(struct db_conn *c, const char *tenant_id,
    const char *sa_id, int64_t *n);
/* One federation of one account. SN_ERR_NOT_FOUND. */
int store_federation_get(struct db_conn *c, const char *tenant_id,
    const char *sa_id, const char *fed_id, struct store_federation *out);
/*
 * The federations of account sa_id (in its tenant) whose issuer equals
 * issuer (NULL = all), oldest first, at most FED_MAX_PER_ACCOUNT. *out is a
 * malloc'd array of *n entries; free with store_federations_free.
 */
int store_federation_list(struct db_conn *c, const char *tenant_id,
    const char *sa_id, const char *issuer, struct store_federation **out,
    size_t *n);
void store_federations_free(struct store_federation *v, size_t n);
/* Deletes the federation and every access token it issued. */
int store_federation_delete(struct db_conn *c, const char *tenant_id,
    const char *sa_id, const char *fed_id);

/*
 * The provenance JSON stored with access token token_id (NULL in *out if
 * the token came from another grant). *out is a new reference.
 */
int store_token_provenance(struct db_conn *c, const char *tenant_id,
    const char *token_id, json_t **out);

#endif
