/*
 * routes.c - every route table signetd serves, in match order. Adding a
 * resource means adding its table here and nothing else.
 * (/v1/me/keys lives in api_routes_keys, next to the key renderers.)
 */
#include "api.h"
#include "console.h"
#include "http.h"

const struct api_route *const http_route_tables[] = {
	api_routes_health,
	api_routes_me,
	api_routes_users,
	api_routes_apikeys,
	api_routes_audit,
	api_routes_teams,
	api_routes_serviceaccounts,
	api_routes_federations,
	api_routes_projects,
	api_routes_keys,
	api_routes_key_versions,
	api_routes_policies,
	api_routes_approvals,
	api_routes_approval_grants,
	api_routes_webhooks,
	api_routes_ca,
	api_routes_oauth,
	api_routes_tlog,
	api_routes_tsa,
	api_routes_ocsp,
	console_routes_session,
	console_routes_pages,		/* last: "/" and the page paths */
	NULL,
};

/* signetd serve --http-listen: plain HTTP for answers that are signed. */
const struct api_route *const http_plain_route_tables[] = {
	api_routes_tsa_public,
	api_routes_ca_public,
	api_routes_ocsp,
	NULL,
};
