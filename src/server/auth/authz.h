/*
 * authz.h - the one place that decides who may do what.
 *
 * Handlers never re-implement a permission rule: they name the action and
 * the object and call authz_check() before touching anything. The rules
 * follow SPEC section 1:
 *   - a tenant admin may do everything inside the tenant;
 *   - a project owner (a user listed as owner, or a member of a team listed
 *     as owner) manages that project: its keys and signers;
 *   - a team owner manages the team (members) and its service accounts;
 *     team members may view/manage/rotate/delete the team's service accounts;
 *   - an authorized signer (user; member of a signer team; service account)
 *     may view and sign with the project's keys;
 *   - a service account may do nothing else: no management endpoint at all.
 *
 * Returns 0 if allowed; SN_ERR_NOT_FOUND if the object does not exist in the
 * actor's tenant (objects of other tenants are indistinguishable from
 * missing ones); SN_ERR_FORBIDDEN if it exists but the actor may not;
 * SN_ERR_DB on store failure.
 */
#ifndef SIGNET_AUTHZ_H
#define SIGNET_AUTHZ_H

struct db_conn;
struct sn_actor;

enum authz_action {
	AUTHZ_TENANT_ADMIN,	/* object_id ignored: users, teams create, projects create, audit, ca */
	AUTHZ_MANAGEMENT,	/* object_id ignored: any user; never a service account (the
				 * gate of a management endpoint whose object is named in
				 * the body, checked before the body is read) */
	AUTHZ_APIKEY_MANAGE,	/* user id: the API keys of that user: admin, the user itself;
				 * to anyone else another user and no user look the same */
	AUTHZ_USER_VIEW,	/* any user of the tenant may see itself; admins all */
	AUTHZ_TEAM_VIEW,	/* team: admin, any member */
	AUTHZ_TEAM_MANAGE,	/* team: admin, team owner */
	AUTHZ_SA_CREATE,	/* team: admin, team owner or member of that team */
	AUTHZ_SA_VIEW,		/* service account: admin, member of owning team */
	AUTHZ_SA_MANAGE,	/* service account: admin, member of owning team */
	AUTHZ_PROJECT_VIEW,	/* project: admin, owner, signer */
	AUTHZ_PROJECT_MANAGE,	/* project: admin, owner */
	AUTHZ_KEY_VIEW,		/* key: admin, owner of its project, signer of its project */
	AUTHZ_KEY_MANAGE,	/* key: admin, owner of its project */
	AUTHZ_KEY_SIGN,		/* key: authorized signer of its project (NOT admin by role alone) */
	/* object_id ignored: any user or service account of the tenant may
	 * read the tenant's signed checkpoints, log key and proofs (hashes
	 * only; the events themselves stay AUTHZ_TENANT_ADMIN) */
	AUTHZ_AUDIT_PROOF,
	/* team: decide (approve, deny) a signing approval whose policy names
	 * this team: its members only (NOT admin by role alone, as for
	 * signing); the handler also refuses the requester itself */
	AUTHZ_APPROVAL_DECIDE,
};

int authz_check(struct db_conn *c, const struct sn_actor *actor,
    enum authz_action action, const char *object_id)
    __attribute__((warn_unused_result));

/* The action's name for audit events and error messages ("key.sign"). */
const char *authz_action_name(enum authz_action action);

#endif
