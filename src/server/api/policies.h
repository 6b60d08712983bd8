/*
 * policies.h - what api/policies.c lends the signing path (sign.c) and
 * /v1/me/keys (keys.c): the policy decision with its refusal turned into
 * an API error, and the quota as a signer sees it.
 */
#ifndef SIGNET_API_POLICIES_H
#define SIGNET_API_POLICIES_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "alg.h"
#include "handler.h"

struct db_conn;
struct store_key;

struct policy_verdict;

/*
 * Decides a signature of n digests by req's caller with k against k's
 * policy (policy_decide). consume = 0 before the HSM is asked (no
 * transaction open); consume = 1 inside the signature's audit
 * transaction (after db_chain_lock and the re-checks): the quota is
 * counted and an approval claimed there. A refusal is a 403 naming the
 * rule (error.rule) and adds "policy_rule" to the event details d, which
 * the caller's refusal event records. d is the key.sign event's details
 * (key, key_version, mechanism, digest_algorithm, digest(s), client).
 * Returns 0 (sign), the error after setting resp, or (consume = 0 only)
 * POLICIES_ANSWERED: resp holds the answer already (202 with a pending
 * approval, or 200 with the signatures an approved request got before);
 * the caller signs nothing and records no refusal.
 */
#define POLICIES_ANSWERED	1
int policies_enforce(struct db_conn *c, struct sn_request *req,
    struct sn_response *resp, const struct store_key *k, enum sn_mech mech,
    enum sn_hash hash, size_t n, json_t *d, int consume);

/* sign.c's hook into audit_sign_commit (audit/sign_commit.h): the
 * consume = 1 decision of policies_enforce at the re-check. */
struct audit_sign;
struct policies_commit {
	struct sn_request *req;
	struct sn_response *resp;
	const struct store_key *k;
	enum sn_mech mech;
	enum sn_hash hash;
	size_t n;
	json_t *d;
};
void policies_commit_hook(struct audit_sign *sc, struct policies_commit *pc,
    struct sn_request *req, struct sn_response *resp,
    const struct store_key *k, enum sn_mech mech, enum sn_hash hash,
    size_t n, json_t *d);
/* After a refused commit's api_error: error.rule again, if a policy rule
 * refused (d's policy_rule). */
void policies_error_rule(struct sn_response *resp, json_t *d);

/*
 * After the signature's commit, with the answer body about to be sent:
 * keeps it with the request's approval (if any) for replays, and adds
 * "approval": ID to it.
 */
void policies_signed(struct db_conn *c, struct sn_request *req, json_t *d,
    json_t *body);

/* approvals.c, for policies_enforce: the approval state of this request
 * (consume 0), its claim in the audit transaction (consume 1), and the
 * kept answer. Same conventions as policies_enforce. */
int approvals_gate(struct db_conn *c, struct sn_request *req,
    struct sn_response *resp, const struct store_key *k,
    const struct policy_verdict *v, json_t *d);
int approvals_claim(struct db_conn *c, struct sn_request *req,
    struct sn_response *resp, const struct policy_verdict *v, json_t *d);
/*
 * approval_grants.c, for approvals_gate / approvals_claim: whether a
 * pre-approval grant of the caller, or an approved declaration of exactly
 * these digests, covers the request (d gets "grant" or
 * "declared_approval"): 0 covered, APPROVALS_NOT_COVERED, or the error
 * after setting resp. The claim takes it inside the audit transaction
 * (a 403 rule "approval" if another request took it meanwhile).
 */
#define APPROVALS_NOT_COVERED	2
int approvals_cover(struct db_conn *c, struct sn_request *req,
    struct sn_response *resp, const struct store_key *k,
    const struct policy_verdict *v, json_t *d);
int approvals_cover_claim(struct db_conn *c, struct sn_request *req,
    struct sn_response *resp, const struct policy_verdict *v, json_t *d);
/* Queues the webhook event ("approval.requested", "approval.decided")
 * of approval id in the caller's transaction (approvals.c). */
int approvals_notify(struct db_conn *c, const char *tenant_id,
    const char *id, const char *event);
/* The approval object of a (approvals.c). 0 or SN_ERR_*. */
struct store_approval;
int approvals_object(struct db_conn *c, const char *tenant_id,
    const struct store_approval *a, json_t **out);
void approvals_signed(struct db_conn *c, struct sn_request *req, json_t *d,
    json_t *body);

/*
 * Adds to kj (a key of /v1/me/keys) "quota": {"limit","period","used",
 * "remaining","resets_at"} or null, "has_policy" and "approval_required".
 * 0 or SN_ERR_*.
 */
int policies_me_fields(struct db_conn *c, const char *tenant_id,
    const char *key_id, int64_t now, json_t *kj);

#endif
