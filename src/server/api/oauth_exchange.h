/*
 * oauth_exchange.h - the RFC 8693 token exchange grant of
 * POST /v1/oauth/token (oauth.c dispatches on grant_type).
 */
#ifndef SIGNET_OAUTH_EXCHANGE_H
#define SIGNET_OAUTH_EXCHANGE_H

#include "api.h"

#define TOKEN_EXCHANGE_GRANT "urn:ietf:params:oauth:grant-type:token-exchange"

/* Handles a token-exchange request (req->body already parsed; grant_type
 * checked by the caller). Returns 0 or the SN_ERR_* set on resp. */
int oauth_token_exchange(struct sn_request *req, struct sn_response *resp);

struct db_conn;
/*
 * For audit events made with an access token from a token exchange: sets
 * member "oidc" of details to the provenance stored with the token (issuer,
 * subject, the matched CI claims). Does nothing for other credentials or on
 * failure (a store error shows up in the handler's own next query).
 */
void oauth_provenance_into(struct db_conn *c, const struct sn_actor *a,
    json_t *details);

#endif
