/*
 * authz.c - THE permission function (rules in authz.h).
 *
 * Every check first finds the object inside the actor's tenant: an object of
 * another tenant is SN_ERR_NOT_FOUND, exactly like a missing one, so an id
 * from elsewhere reveals nothing. Only then are the roles looked at.
 * Ownership and signing through teams also require the team to belong to
 * the same tenant (defence in depth against a cross-tenant row).
 *
 * object_id is always an id (usr_, team_, sac_, prj_, skey_): handlers
 * resolve names to ids inside the tenant first.
 */
#include <stdio.h>
#include <string.h>

#include "authz.h"
#include "db.h"
#include "err.h"
#include "handler.h"
#include "store_auth.h"

/* Is user a member (any, or owner only) of team? */
static int
team_member(struct db_conn *c, const char *tenant, const char *team,
    const char *user, int owner_only)
{
	return store_team_member(c, tenant, team, user, owner_only);
}

/* Is the actor an owner of project (directly, or via a team)? */
static int
project_owner(struct db_conn *c, const struct sn_actor *a, const char *prj)
{
	if (a->type != SN_ACTOR_USER)
		return 0;
	return store_project_owner(c, a->tenant_id, prj, a->id);
}

/* Is the actor an authorized signer of project? The rule's SQL is shared
 * with the signing re-check (store_auth.h), so both read it the same way. */
static int
project_signer(struct db_conn *c, const struct sn_actor *a, const char *prj)
{
	if (a->type != SN_ACTOR_USER && a->type != SN_ACTOR_SERVICE_ACCOUNT)
		return 0;
	return store_project_signer(c, a->tenant_id, prj, a->id,
	    a->type == SN_ACTOR_SERVICE_ACCOUNT);
}

/* Finds object id of the tenant; copies its parent's id to out. */
static int
lookup(struct db_conn *c, enum store_object type, const char *id,
    const char *tenant, char *out, size_t outlen)
{
	return store_object_parent(c, type, id, tenant, out, outlen);
}

/* Converts a membership result (1/0/err) to allow/forbid/err. */
static int
verdict(int r)
{
	if (r < 0)
		return r;
	return r ? 0 : SN_ERR_FORBIDDEN;
}

int
authz_check(struct db_conn *c, const struct sn_actor *a,
    enum authz_action action, const char *object_id)
{
	char parent[64];
	int r, admin, user;

	if (c == NULL || a == NULL || a->tenant_id[0] == '\0' ||
	    a->id[0] == '\0')
		return SN_ERR_UNAUTHENTICATED;
	user = a->type == SN_ACTOR_USER;
	admin = user && a->is_admin;
	if (a->type != SN_ACTOR_USER && a->type != SN_ACTOR_SERVICE_ACCOUNT)
		return SN_ERR_UNAUTHENTICATED;
	if (action != AUTHZ_TENANT_ADMIN && action != AUTHZ_AUDIT_PROOF &&
	    action != AUTHZ_MANAGEMENT &&
	    object_id == NULL)
		return SN_ERR_NOT_FOUND;

	switch (action) {
	case AUTHZ_AUDIT_PROOF:
		return 0;	/* authenticated in this tenant is enough */

	case AUTHZ_TENANT_ADMIN:
		return admin ? 0 : SN_ERR_FORBIDDEN;

	case AUTHZ_MANAGEMENT:
		return user ? 0 : SN_ERR_FORBIDDEN;

	case AUTHZ_APIKEY_MANAGE:
		/* Only an admin learns whether another user exists. */
		if (!user)
			return SN_ERR_FORBIDDEN;
		if (!admin)
			return strcmp(a->id, object_id) == 0 ? 0 :
			    SN_ERR_FORBIDDEN;
		return lookup(c, STORE_OBJ_USER, object_id, a->tenant_id,
		    NULL, 0);

	case AUTHZ_USER_VIEW:
		if ((r = lookup(c, STORE_OBJ_USER, object_id, a->tenant_id,
		    NULL, 0)) != 0)
			return r;
		if (admin || (user && strcmp(a->id, object_id) == 0))
			return 0;
		return SN_ERR_FORBIDDEN;

	case AUTHZ_APPROVAL_DECIDE:
		if ((r = lookup(c, STORE_OBJ_TEAM, object_id, a->tenant_id,
		    NULL, 0)) != 0)
			return r;
		if (!user)
			return SN_ERR_FORBIDDEN;
		return verdict(team_member(c, a->tenant_id, object_id, a->id, 0));

	case AUTHZ_TEAM_VIEW:
	case AUTHZ_TEAM_MANAGE:
	case AUTHZ_SA_CREATE:
		if ((r = lookup(c, STORE_OBJ_TEAM, object_id, a->tenant_id,
		    NULL, 0)) != 0)
			return r;
		if (admin)
			return 0;
		if (!user)
			return SN_ERR_FORBIDDEN;
		return verdict(team_member(c, a->tenant_id, object_id, a->id,
		    action == AUTHZ_TEAM_MANAGE));

	case AUTHZ_SA_VIEW:
	case AUTHZ_SA_MANAGE:
		if ((r = lookup(c, STORE_OBJ_SERVICE_ACCOUNT, object_id,
		    a->tenant_id, parent, sizeof(parent))) != 0)
			return r;
		if (admin)
			return 0;
		if (!user)
			return SN_ERR_FORBIDDEN;
		return verdict(team_member(c, a->tenant_id, parent, a->id, 0));

	case AUTHZ_PROJECT_VIEW:
	case AUTHZ_PROJECT_MANAGE:
		snprintf(parent, sizeof(parent), "%s", object_id);
		if ((r = lookup(c, STORE_OBJ_PROJECT, object_id, a->tenant_id,
		    NULL, 0)) != 0)
			return r;
		break;

	case AUTHZ_KEY_VIEW:
	case AUTHZ_KEY_MANAGE:
	case AUTHZ_KEY_SIGN:
		if ((r = lookup(c, STORE_OBJ_KEY, object_id, a->tenant_id,
		    parent, sizeof(parent))) != 0)
			return r;
		break;

	default:
		return SN_ERR_FORBIDDEN;
	}

	/* Project-scoped actions; parent is the project id. */
	switch (action) {
	case AUTHZ_PROJECT_MANAGE:
	case AUTHZ_KEY_MANAGE:
		if (admin)
			return 0;
		return verdict(project_owner(c, a, parent));
	case AUTHZ_PROJECT_VIEW:
	case AUTHZ_KEY_VIEW:
		if (admin)
			return 0;
		if ((r = project_owner(c, a, parent)) != 0)
			return verdict(r);
		return verdict(project_signer(c, a, parent));
	case AUTHZ_KEY_SIGN:
		/* Being admin is not enough: only authorized signers sign. */
		return verdict(project_signer(c, a, parent));
	default:
		return SN_ERR_FORBIDDEN;
	}
}

const char *
authz_action_name(enum authz_action action)
{
	switch (action) {
	case AUTHZ_TENANT_ADMIN:	return "tenant.admin";
	case AUTHZ_MANAGEMENT:		return "management";
	case AUTHZ_APIKEY_MANAGE:	return "apikey.manage";
	case AUTHZ_USER_VIEW:		return "user.view";
	case AUTHZ_TEAM_VIEW:		return "team.view";
	case AUTHZ_TEAM_MANAGE:		return "team.manage";
	case AUTHZ_SA_CREATE:		return "service_account.create";
	case AUTHZ_SA_VIEW:		return "service_account.view";
	case AUTHZ_SA_MANAGE:		return "service_account.manage";
	case AUTHZ_PROJECT_VIEW:	return "project.view";
	case AUTHZ_PROJECT_MANAGE:	return "project.manage";
	case AUTHZ_KEY_VIEW:		return "key.view";
	case AUTHZ_KEY_MANAGE:		return "key.manage";
	case AUTHZ_KEY_SIGN:		return "key.sign";
	case AUTHZ_AUDIT_PROOF:		return "audit.proof";
	case AUTHZ_APPROVAL_DECIDE:	return "approval.decide";
	}
	return "unknown";
}
