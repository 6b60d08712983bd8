/*
 * oauth.c - POST /v1/oauth/token (JWT bearer grant for service accounts).
 *
 * Not implemented yet: the route table is empty, so the endpoint answers
 * 404 rather than pretending to work.
 */
#include <stddef.h>

#include "api.h"

const struct api_route api_routes_oauth[] = {
	{ NULL, NULL, NULL, API_PUBLIC },
};
