/*
 * serviceaccounts.h - what serviceaccounts.c shares with federations.c,
 * whose routes hang below /v1/serviceaccounts/{id}.
 */
#ifndef SIGNET_API_SERVICEACCOUNTS_H
#define SIGNET_API_SERVICEACCOUNTS_H

#include "authz.h"
#include "db.h"
#include "handler.h"
#include "store_resources.h"

/*
 * Loads the account named by params[0] (id or name) into *s and checks
 * action on it. 0, or the error after setting resp (404 for another
 * tenant's account, 403 denied). The caller clears *s.
 */
int sa_load(struct db_conn *c, struct sn_request *req,
    struct sn_response *resp, enum authz_action action, struct store_sa *s);

#endif
