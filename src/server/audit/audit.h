/*
 * audit.h - the append-only, hash-chained audit trail.
 *
 * Each tenant has its own chain (events of unauthenticated callers go to the
 * chain of tenant_id "" — the system chain). An event's hash covers its
 * canonical form and the previous event's hash; see src/common/auditchain.h
 * for the exact bytes, which the CLI recomputes in `signet audit verify`.
 *
 * audit_append must run inside the caller's write transaction (db_begin) so
 * the event commits atomically with the change it records; for a signature,
 * the handler commits the event BEFORE it returns the signature, and returns
 * no signature if the commit fails.
 */
#ifndef SIGNET_AUDIT_H
#define SIGNET_AUDIT_H

#include <stdint.h>

#include <jansson.h>

#include "store_audit.h"
#include "util.h"

struct db_conn;
struct sn_actor;
struct sn_request;
struct sn_response;

struct audit_event {
	const char *tenant_id;		/* "" for the system chain */
	const char *actor_type;		/* "user", "service_account", "anonymous", "system" */
	const char *actor_id;		/* "" when unknown */
	const char *action;		/* "user.create", "key.sign", "auth.failure", ... */
	const char *object_type;	/* "user", "key", ... ; "" if none */
	const char *object_id;
	const char *result;		/* "ok", "denied", "error" */
	json_t *details;		/* borrowed; NULL = {} ; never a secret */
	const char *source_ip;
};

/*
 * Appends one event in the current transaction, and its leaf to the
 * tenant's Merkle tree (tlog.h). 0 or SN_ERR_*. audit_append_seq also
 * reports the new event's seq (seq may be NULL).
 */
int audit_append(struct db_conn *c, const struct audit_event *ev) SN_WUR;
int audit_append_seq(struct db_conn *c, const struct audit_event *ev,
    int64_t *seq) SN_WUR;

/*
 * Recomputes the tenant's chain from the database. Returns 0 if intact,
 * SN_ERR_CONFLICT if broken (with *bad_seq set to the first bad event).
 */
int audit_verify_chain(struct db_conn *c, const char *tenant_id,
    int64_t *count, int64_t *bad_seq);
/*
 * audit_verify_chain plus the transparency log: every event's stored tree
 * leaf must be the leaf of its chain hash (else *bad_seq is that event),
 * and the root rebuilt from the events must match every stored signed
 * checkpoint (else *bad_checkpoint is the size of the first that does not,
 * also when the events end before it). 0 or SN_ERR_CONFLICT.
 */
int audit_verify_log(struct db_conn *c, const char *tenant_id,
    int64_t *count, int64_t *bad_seq, int64_t *bad_checkpoint);

struct db_stmt;

/* The columns audit_row_json() expects, in order, for SELECT lists. */
#define AUDIT_COLUMNS STORE_AUDIT_COLUMNS

/* The API event object E from a row selected with AUDIT_COLUMNS (with the
 * "hash" member if with_hash). NULL on ENOMEM or corrupt details. */
json_t *audit_row_json(struct db_stmt *st, int with_hash);

/* The canonical event object (without "hash"); details borrowed. */
json_t *audit_event_json(int64_t seq, const char *tenant_id, const char *id,
    int64_t t, const char *actor_type, const char *actor_id,
    const char *action, const char *object_type, const char *object_id,
    const char *result, json_t *details, const char *source_ip,
    const char *prev_hash);

/*
 * audit_append for req's actor and source address, inside the caller's
 * open transaction (the usual way handlers record a change).
 */
int audit_req(struct db_conn *c, struct sn_request *req, const char *action,
    const char *object_type, const char *object_id, const char *result,
    json_t *details) SN_WUR;
int audit_req_seq(struct db_conn *c, struct sn_request *req,
    const char *action, const char *object_type, const char *object_id,
    const char *result, json_t *details, int64_t *seq) SN_WUR;

/*
 * Records a refused or failed request as its own committed event, after
 * rolling back whatever c had open: result "denied" for 4xx, "error" for
 * 5xx, details (borrowed, may be NULL) plus {"status", "reason"} taken from
 * resp. Failures are ignored: the refusal stands either way.
 */
void audit_refusal(struct db_conn *c, struct sn_request *req,
    const struct sn_response *resp, const char *action,
    const char *object_type, const char *object_id, json_t *details);

#endif
