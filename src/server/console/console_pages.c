/*
 * console_pages.c - the web console's pages and assets, from the arrays
 * compiled into signetd (console_assets.h).
 *
 * Every page path answers with the same application shell (index.html);
 * the JavaScript draws the page from the /v1 API, whose authz_check
 * decides what it may show. A page is served only with a live session:
 * without one, 303 to /signin — no console page is reachable without a
 * session. Assets are public (they hold no data) and immutable under
 * their build-hashed base; the shell is revalidated by its ETag.
 *
 * Security headers (CSP without inline code, X-Frame-Options DENY, ...)
 * are added by http.c to every answer.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "console_assets.h"
#include "err.h"
#include "console.h"
#include "session.h"

#define CACHE_IMMUTABLE	"public, max-age=31536000, immutable"
#define CACHE_REVALIDATE "no-cache"

static const struct console_asset *
find_asset(const char *name)
{
	size_t i;

	for (i = 0; console_assets[i].name != NULL; i++)
		if (strcmp(console_assets[i].name, name) == 0)
			return &console_assets[i];
	return NULL;
}

/* The asset, or 304 when the browser already has this version. */
static int
serve(struct sn_request *req, struct sn_response *resp,
    const struct console_asset *a, const char *cache)
{
	const char *inm = api_header(req, "If-None-Match");
	char *copy;

	resp->etag = a->etag;
	resp->cache_control = cache;
	if (inm != NULL && strcmp(inm, a->etag) == 0) {
		if ((copy = malloc(1)) == NULL)
			return api_error(resp, SN_ERR_NOMEM, "out of memory");
		return api_raw(resp, 304, a->content_type, copy, 0);
	}
	if ((copy = malloc(a->len + 1)) == NULL)
		return api_error(resp, SN_ERR_NOMEM, "out of memory");
	memcpy(copy, a->data, a->len);
	return api_raw(resp, 200, a->content_type, copy, a->len);
}

static int
shell(struct sn_request *req, struct sn_response *resp)
{
	const struct console_asset *a = find_asset("index.html");

	if (a == NULL)
		return api_error(resp, SN_ERR_NOT_FOUND, "no console");
	return serve(req, resp, a, CACHE_REVALIDATE);
}

/* Sign-in page: always served (the script moves on if signed in). */
static int
page_signin(struct sn_request *req, struct sn_response *resp)
{
	return shell(req, resp);
}

/* Every other page: only with a session. */
static int
page(struct sn_request *req, struct sn_response *resp)
{
	char *empty;

	if (!session_page_ok(req)) {
		if ((empty = strdup("")) == NULL)
			return api_error(resp, SN_ERR_NOMEM, "out of memory");
		resp->location = "/signin";
		return api_raw(resp, 303, "text/plain; charset=utf-8", empty,
		    0);
	}
	return shell(req, resp);
}

static int
asset(struct sn_request *req, struct sn_response *resp)
{
	const char *build = api_param(req, 0), *name = api_param(req, 1);
	const struct console_asset *a;
	size_t blen = strlen("/assets/");

	/* Only this build's base, and never the shell under it. */
	if (build == NULL || name == NULL ||
	    strcmp(build, console_asset_base + blen) != 0 ||
	    strcmp(name, "index.html") == 0 || (a = find_asset(name)) == NULL)
		return api_error(resp, SN_ERR_NOT_FOUND, "no such asset");
	return serve(req, resp, a, CACHE_IMMUTABLE);
}

const struct api_route console_routes_pages[] = {
	{ "GET", "/signin", page_signin, API_PUBLIC },
	{ "GET", "/", page, API_PUBLIC },
	{ "GET", "/keys", page, API_PUBLIC },
	{ "GET", "/keys/{id}", page, API_PUBLIC },
	{ "GET", "/projects", page, API_PUBLIC },
	{ "GET", "/projects/{id}", page, API_PUBLIC },
	{ "GET", "/teams", page, API_PUBLIC },
	{ "GET", "/teams/{id}", page, API_PUBLIC },
	{ "GET", "/service-accounts", page, API_PUBLIC },
	{ "GET", "/users", page, API_PUBLIC },
	{ "GET", "/apikeys", page, API_PUBLIC },
	{ "GET", "/ca", page, API_PUBLIC },
	{ "GET", "/audit", page, API_PUBLIC },
	{ "GET", "/assets/{build}/{name}", asset, API_PUBLIC },
	{ NULL, NULL, NULL, API_PUBLIC },
};
