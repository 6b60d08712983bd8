/*
 * store_resources.h - SQL for teams, service accounts, projects, signing
 * keys and certificate authorities (store_{teams,serviceaccounts,projects,
 * keys,cas}.c). The paged lists are in store_page.h.
 *
 * Every function takes the tenant id and filters on it: an object of another
 * tenant is indistinguishable from a missing one (SN_ERR_NOT_FOUND). These
 * functions decide nothing about permissions (that is authz.c) and open no
 * transactions: the handler brackets changes and their audit event in one.
 *
 * Return convention: 0 or a negative SN_ERR_* (SN_ERR_NOT_FOUND for a
 * missing object, SN_ERR_CONFLICT for a duplicate, SN_ERR_DB otherwise).
 * Fixed-size fields are sized for what api_valid_name / api_valid_email and
 * sn_new_id can produce; longer values in the database are an error.
 */
#ifndef SIGNET_STORE_RESOURCES_H
#define SIGNET_STORE_RESOURCES_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct db_conn;
struct ca_revoked;

#define STORE_ID_MAX	64	/* "skey_" + 32 hex + NUL fits easily */
#define STORE_NAME_MAX	72	/* names are at most 64 bytes */
#define STORE_EMAIL_MAX	256	/* emails are at most 254 bytes */

/* A list of object ids (malloc'd strings); store_ids_free accepts NULL. */
struct store_ids {
	char **v;
	size_t n;
};
void store_ids_free(struct store_ids *ids);
struct db_stmt;
/* Collects column 0 of every row of st (positioned by db_queryf, whose
 * result r is passed in) into out (at most 100000 ids), and finalizes st. */
int store_ids_collect(struct db_stmt *st, int r, struct store_ids *out);
/* Copies src (NULL = "") into dst; SN_ERR_DB if it does not fit. */
int store_copy(char *dst, size_t dstsz, const char *src);
/* strdup of a nullable column: *out NULL for NULL. SN_ERR_NOMEM. */
int store_dup(const char *src, char **out);

/*
 * Teams and projects: objects named inside a tenant, found by id or name
 * (an id that is also another object's name finds the id). table is one
 * of the callers' constants; id, name and *created_at are filled. 0,
 * SN_ERR_NOT_FOUND or SN_ERR_DB.
 */
int store_named_get(struct db_conn *c, const char *table,
    const char *tenant_id, const char *id_or_name, char id[STORE_ID_MAX],
    char name[STORE_NAME_MAX], int64_t *created_at);

/* The tenant's name (for default certificate subjects). */
int store_tenant_name(struct db_conn *c, const char *tenant_id,
    char name[STORE_NAME_MAX + 192]);

/*
 * Principals (users, teams, service accounts) named by id or by name
 * (users: by email). type is "user", "team" or "service_account". Fills id
 * and the display name (email for users). SN_ERR_NOT_FOUND if absent in the
 * tenant, SN_ERR_INVALID for an unknown type.
 */
int store_principal_resolve(struct db_conn *c, const char *tenant_id,
    const char *type, const char *id_or_name, char id[STORE_ID_MAX],
    char name[STORE_EMAIL_MAX]);
/* The display name of a principal by id; "" (and 0) if it no longer exists. */
int store_principal_name(struct db_conn *c, const char *tenant_id,
    const char *type, const char *id, char name[STORE_EMAIL_MAX]);

/* ---- teams (store_teams.c) ---- */
struct store_team {
	char id[STORE_ID_MAX];
	char name[STORE_NAME_MAX];
	int64_t created_at;
};
int store_team_get(struct db_conn *c, const char *tenant_id,
    const char *id_or_name, struct store_team *out);
int store_team_insert(struct db_conn *c, const char *tenant_id,
    const struct store_team *t);
/* [{"id","email","owner"}] ordered by email. */
int store_team_members(struct db_conn *c, const char *team_id, json_t **out);
/* Inserts the member or updates its owner flag (owner < 0: not given, an
 * existing member keeps its flag, a new one is not an owner); *created = 1
 * if new. */
int store_team_member_set(struct db_conn *c, const char *tenant_id,
    const char *team_id, const char *user_id, int owner, int64_t now,
    int *created);
int store_team_member_remove(struct db_conn *c, const char *tenant_id,
    const char *team_id, const char *user_id);

/* ---- service accounts (store_serviceaccounts.c) ---- */
struct store_sa {
	char id[STORE_ID_MAX];
	char name[STORE_NAME_MAX];
	char team_id[STORE_ID_MAX];
	char team_name[STORE_NAME_MAX];
	char *public_key_pem;		/* malloc'd */
	char key_algorithm[32];
	char key_fingerprint[65];
	int64_t key_version;
	int64_t created_at;
	int64_t rotated_at;		/* 0 = never */
};
void store_sa_clear(struct store_sa *s);	/* frees the strings, zeroes */
int store_sa_get(struct db_conn *c, const char *tenant_id,
    const char *id_or_name, struct store_sa *out);
int store_sa_insert(struct db_conn *c, const char *tenant_id,
    const struct store_sa *s);
/* Ids of the accounts named name, in every tenant (at most 16). */
int store_sa_ids_by_name_any_tenant(struct db_conn *c, const char *name,
    struct store_ids *out);
/* By id in any tenant (the public token endpoint); fills tenant_id. */
int store_sa_get_any_tenant(struct db_conn *c, const char *id,
    char tenant_id[STORE_ID_MAX], struct store_sa *out);
/*
 * 1 in *used if any service account other than except_id (may be NULL), in
 * any tenant, has the public key with this fingerprint. Deliberately not
 * tenant-scoped: keys are unique across the deployment (schema migration 2).
 */
int store_sa_key_used(struct db_conn *c, const char *fingerprint,
    const char *except_id, int *used);
/* New key: bumps key_version, sets rotated_at, deletes its access tokens. */
int store_sa_rotate(struct db_conn *c, const char *tenant_id, const char *id,
    const char *pem, const char *alg, const char *fingerprint, int64_t now);
/* Deletes the account, its tokens, replay entries and signer links. */
int store_sa_delete(struct db_conn *c, const char *tenant_id, const char *id);

/* ---- projects (store_projects.c) ---- */
struct store_project {
	char id[STORE_ID_MAX];
	char name[STORE_NAME_MAX];
	int64_t created_at;
};
int store_project_get(struct db_conn *c, const char *tenant_id,
    const char *id_or_name, struct store_project *out);
int store_project_insert(struct db_conn *c, const char *tenant_id,
    const struct store_project *p);
/* [{"type","id","name"}] of owners (table "project_owners") or signers. */
int store_project_principals(struct db_conn *c, const char *tenant_id,
    const char *project_id, int signers, json_t **out);
/* SN_ERR_CONFLICT if the link exists. tenant_id: the project's (whose
 * listing generation a signer link changes, store_listing.h). */
int store_project_principal_add(struct db_conn *c, const char *tenant_id,
    const char *project_id, int signers, const char *type,
    const char *principal_id, int64_t now);
/* SN_ERR_NOT_FOUND if the link does not exist. */
int store_project_principal_remove(struct db_conn *c, const char *tenant_id,
    const char *project_id, int signers, const char *type,
    const char *principal_id);

/* ---- signing keys (store_keys.c) ---- */
struct store_key {
	char id[STORE_ID_MAX];
	char project_id[STORE_ID_MAX];
	char project_name[STORE_NAME_MAX];
	char name[STORE_NAME_MAX];
	char algorithm[16];
	char state[16];			/* active, disabled, revoked (stored) */
	char ca_mode[16];		/* builtin, external, none */
	char ca_id[STORE_ID_MAX];	/* "" if none */
	char hsm_key_id[40];		/* 32 hex digits */
	int64_t not_before;
	int64_t not_after;
	int64_t revoked_at;		/* 0 = not revoked */
	int64_t created_at;
	int allow_sha1;
	char *subject;			/* malloc'd or NULL */
	char *public_key_pem;
	char *cert_pem;
	char *chain_pem;		/* issuing CA first, root last */
	char *cert_serial;
	char revocation_reason[32];	/* "" or unspecified, key-compromise, ... */
	int64_t compromised_at;		/* 0 = not given */
	int64_t version;		/* current key version (1, 2, ... after rotations) */
};
void store_key_clear(struct store_key *k);	/* frees the strings, zeroes */
/* By id; or by name if exactly one key of the tenant has that name
 * (SN_ERR_CONFLICT if several do); or "project/name". */
int store_key_get(struct db_conn *c, const char *tenant_id,
    const char *id_or_name, struct store_key *out);
int store_key_insert(struct db_conn *c, const char *tenant_id,
    const struct store_key *k);
int store_key_exists(struct db_conn *c, const char *project_id,
    const char *name, int *exists);
/*
 * set_state and set_cert never touch a revoked key and return
 * SN_ERR_CONFLICT for one; SN_ERR_NOT_FOUND if there is no such key.
 * delete (inside the caller's transaction) first moves the serial of every
 * still valid built-in-CA certificate of the key (the current one and those
 * a renewal or rotation replaced) into crl_entries, revoked now with reason
 * cessation-of-operation (a revoked key's certificates keep its time,
 * reason and compromise time), so they stay on the CRL and in OCSP; it sets
 * *cert_revoked (may be NULL) to 1 when it did.
 */
int store_key_set_state(struct db_conn *c, const char *tenant_id,
    const char *id, const char *state, int64_t revoked_at);
int store_key_set_cert(struct db_conn *c, const char *tenant_id,
    const char *id, const char *ca_mode, const char *cert_pem,
    const char *chain_pem, const char *serial, const char *subject);
int store_key_delete(struct db_conn *c, const char *tenant_id, const char *id,
    int *cert_revoked);
/* After store_key_set_state(.., "revoked", ..) in the same transaction:
 * the reason (a ca_reason_name) and, for key-compromise, when (0 = none). */
int store_key_set_revocation(struct db_conn *c, const char *tenant_id,
    const char *id, const char *reason, int64_t compromised_at);
/* OCSP: the status of the certificate with this serial from CA ca_id. */
struct store_cert_status {
	int found;			/* 0: not a certificate we know */
	int revoked;
	int64_t revoked_at;
	char reason[32];
	int64_t compromised_at;
};
int store_key_cert_status(struct db_conn *c, const char *ca_id,
    const char *serial_hex, struct store_cert_status *out);
/* Revoked certificates issued by ca_id (of revoked keys, and crl_entries of
 * deleted keys whose certificates have not expired): rev[i].serial_hex
 * point into serials, which the caller frees with *rev. */
int store_key_revoked_for_ca(struct db_conn *c, const char *ca_id,
    struct ca_revoked **rev, struct store_ids *serials, size_t *n);

/* ---- HSM keys being created (store_hsm_pending.c; rules in api/keygen.c) ---- */
int store_hsm_pending_add(struct db_conn *c, const char *tenant_id,
    const char *label, const char *hsm_hex);
/* Deletes the row of hsm_hex (only if created at or before `before`, when
 * it is not 0): 0 if this call deleted it, SN_ERR_NOT_FOUND if it was gone
 * (someone else owns the HSM key now). */
int store_hsm_pending_take(struct db_conn *c, const char *hsm_hex,
    int64_t before);
/* Drops rows whose key row exists; lists those created at or before. */
int store_hsm_pending_stale(struct db_conn *c, int64_t before,
    struct store_ids *out);

/* ---- certificate authorities (store_cas.c) ---- */
struct store_ca {
	char id[STORE_ID_MAX];
	char tenant_id[STORE_ID_MAX];
	char name[STORE_NAME_MAX];
	char role[16];			/* root, issuing */
	char parent_id[STORE_ID_MAX];	/* "" for a root */
	char algorithm[16];
	char hsm_key_id[40];
	char *cert_pem;			/* malloc'd */
	int64_t crl_number;
	int64_t created_at;
};
void store_ca_clear(struct store_ca *ca);
/* tenant_id NULL: any tenant (the public CRL endpoint looks up by id only). */
int store_ca_get(struct db_conn *c, const char *tenant_id,
    const char *id_or_name, struct store_ca *out);
/* The tenant's CA with role "issuing" (the newest if several). */
int store_ca_get_issuing(struct db_conn *c, const char *tenant_id,
    struct store_ca *out);
int store_ca_insert(struct db_conn *c, const struct store_ca *ca);
int store_ca_list(struct db_conn *c, const char *tenant_id,
    struct store_ids *out);
/* Increments crl_number and returns the new value (in the caller's txn). */
int store_ca_next_crl_number(struct db_conn *c, const char *ca_id,
    int64_t *out);

/* ---- timestamping authorities (store_tsa.c) ---- */
struct store_tsa {
	char tenant_id[STORE_ID_MAX];
	char hsm_key_id[40];
	char algorithm[16];
	char *cert_pem;			/* malloc'd */
	int64_t created_at;
};
void store_tsa_clear(struct store_tsa *t);	/* frees cert_pem, zeroes; NULL ok */
/* The tenant's TSA, or SN_ERR_NOT_FOUND. */
int store_tsa_get(struct db_conn *c, const char *tenant_id,
    struct store_tsa *out);
/* SN_ERR_CONFLICT if the tenant already has one. */
int store_tsa_insert(struct db_conn *c, const struct store_tsa *t);

/* ---- renewal and rotation (store_key_versions.c) ---- */
/* Copies the key's current certificate (validity cert_nb..cert_na) into
 * key_certificates, replaced now. Nothing if it has none. */
int store_key_archive_cert(struct db_conn *c, const char *tenant_id,
    const char *key_id, int64_t cert_nb, int64_t cert_na, int64_t now);
/* New certificate (cert_pem, chain_pem, cert_serial, ca_id) and not_after
 * for k->id at version k->version; SN_ERR_CONFLICT if the key was revoked
 * or rotated meanwhile. */
int store_key_renew(struct db_conn *c, const char *tenant_id,
    const struct store_key *k);
/* The outgoing version old (hsm_key_id, public_key_pem, version) into
 * key_versions: it was current from created_at to now. */
int store_key_archive_version(struct db_conn *c, const char *tenant_id,
    const struct store_key *old, int64_t created_at, int64_t now);
/* k becomes current: version, hsm_key_id, public_key_pem, certificate,
 * not_after; only if the stored version is k->version - 1 and the key is
 * not revoked (else SN_ERR_CONFLICT). */
int store_key_rotate(struct db_conn *c, const char *tenant_id,
    const struct store_key *k);
/* When the current version started: the last retirement, or the key's
 * creation. */
int store_key_version_started(struct db_conn *c, const char *key_id,
    int64_t key_created_at, int64_t *out);
/* [{"version","serial","certificate","chain_pem","not_before","not_after",
 * "replaced_at"}] and [{"version","public_key","created_at","retired_at"}],
 * oldest first. New references. */
int store_key_history(struct db_conn *c, const char *tenant_id,
    const char *key_id, json_t **certs, json_t **versions);

#endif
