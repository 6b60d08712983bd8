/*
 * store_approvals.h - approvals of signing requests (docs/POLICIES.md):
 * the request as its approvers see it, its state and votes, and the
 * answer once signed.
 *
 * States: pending -> approved (K approve votes) -> signed (the signature
 * committed; its answer kept); pending -> denied (one deny vote). A
 * pending or approved request past expires_at is "expired" to everyone
 * (store_approval_state). Every function filters on tenant_id; writes
 * expect the caller's transaction. 0 or a negative SN_ERR_*.
 */
#ifndef SIGNET_STORE_APPROVALS_H
#define SIGNET_STORE_APPROVALS_H

#include <stdint.h>

#include <jansson.h>

#include "store_resources.h"
#include "util.h"

struct db_conn;

struct store_approval {
	char id[STORE_ID_MAX];
	char key_id[STORE_ID_MAX];
	char team_id[STORE_ID_MAX];
	int64_t required;		/* approve votes needed */
	int64_t ttl;			/* seconds a request (and an approval) lasts */
	char requester_type[24];	/* "user" | "service_account" */
	char requester_id[STORE_ID_MAX];
	char requester_name[256];
	char fingerprint[65];		/* hex SHA-256 of what is asked */
	json_t *request;		/* owned: mechanism, digests, client, source */
	char state[16];			/* as stored */
	int64_t created_at;
	int64_t expires_at;
	int64_t decided_at;		/* 0 = undecided */
	char *response;			/* owned; the 200 body once signed, or NULL */
};
void store_approval_clear(struct store_approval *a);	/* NULL ok */
/* The state as callers see it: the stored one, or "expired". */
const char *store_approval_state(const struct store_approval *a, int64_t now);

int store_approval_insert(struct db_conn *c, const char *tenant_id,
    const struct store_approval *a) SN_WUR;
/* SN_ERR_NOT_FOUND. */
int store_approval_get(struct db_conn *c, const char *tenant_id,
    const char *id, struct store_approval *out) SN_WUR;
/* The newest request of requester for key with this fingerprint. */
int store_approval_find(struct db_conn *c, const char *tenant_id,
    const char *key_id, const char *requester_id, const char *fingerprint,
    struct store_approval *out) SN_WUR;
/* from -> to (expires_at replaced if > 0); SN_ERR_CONFLICT if the row was
 * not in state from. */
int store_approval_transition(struct db_conn *c, const char *tenant_id,
    const char *id, const char *from, const char *to, int64_t now,
    int64_t expires_at) SN_WUR;
int store_approval_set_response(struct db_conn *c, const char *tenant_id,
    const char *id, const char *response) SN_WUR;
/* One vote per approver and request: SN_ERR_CONFLICT for a second. */
int store_approval_vote(struct db_conn *c, const char *approval_id,
    const char *approver_id, const char *approver_name, const char *vote,
    const char *comment, int64_t now) SN_WUR;
int store_approval_count(struct db_conn *c, const char *approval_id,
    const char *vote, int64_t *n) SN_WUR;
/* [{"approver","name","vote","comment","at"}] oldest first. */
int store_approval_votes(struct db_conn *c, const char *approval_id,
    json_t **out) SN_WUR;
/*
 * The ids of the approvals actor_id may see, newest first (at most
 * limit): those it asked for, those of teams it is a member of, every one
 * for an admin. pending_only: pending and not expired at now.
 */
int store_approval_list(struct db_conn *c, const char *tenant_id,
    const char *actor_id, int is_admin, int pending_only, int64_t now,
    int64_t limit, struct store_ids *out) SN_WUR;

#endif
