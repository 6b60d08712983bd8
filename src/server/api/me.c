/*
 * me.c - GET /v1/me: who the caller is; and the validator of GET
 * /v1/me/keys (its ETag and If-None-Match, api.h). The listing itself,
 * the keys the caller may sign with, lives in api_routes_keys next to the
 * key renderers.
 *
 * The validator must never say "unchanged" for a listing that changed:
 * a module would then offer a revoked or removed key, or miss a new one.
 * What the listing shows is rows (their writes bump the tenant's
 * generation, store_listing.h) and time (a key's validity period, asked
 * of store_listing_validity_moved). It is weak (W/): "expires_in" and a
 * quota's "used" and "remaining" change by the second and by every
 * signature, and a 304 does not refresh them.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "api.h"
#include "db.h"
#include "err.h"
#include "server.h"
#include "store.h"
#include "store_listing.h"

#define LISTING_ETAG_V	"signet-me-keys-1"	/* new text: every ETag new */

static int
ows(char ch)
{
	return ch == ' ' || ch == '\t';
}

static int
etagc(unsigned char ch)
{
	return ch == 0x21 || (ch >= 0x23 && ch <= 0x7e) || ch >= 0x80;
}

int
api_inm_parse(const char *v, struct api_inm *out)
{
	const char *p = v, *q;
	size_t elems = 0;

	memset(out, 0, sizeof(*out));
	if (v == NULL)
		return SN_ERR_INVALID;
	if (strlen(v) > API_INM_MAX_LEN)
		return SN_ERR_TOO_LARGE;
	while (ows(*p))
		p++;
	if (*p == '*') {
		for (q = p + 1; ows(*q); q++)
			;
		if (*q != '\0')
			return SN_ERR_INVALID;
		out->star = 1;
		return 0;
	}
	for (;;) {
		while (ows(*p))
			p++;
		if (++elems > API_INM_MAX_TAGS)
			return SN_ERR_TOO_LARGE;
		if (*p == ',') {		/* an empty element */
			p++;
			continue;
		}
		if (*p == '\0')
			break;
		if (p[0] == 'W' && p[1] == '/')
			p += 2;
		if (*p != '"')
			return SN_ERR_INVALID;
		for (q = ++p; *q != '"'; q++)
			if (*q == '\0' || !etagc((unsigned char)*q))
				return SN_ERR_INVALID;
		out->tag[out->n].opaque = p;
		out->tag[out->n].len = (size_t)(q - p);
		out->n++;
		for (p = q + 1; ows(*p); p++)
			;
		if (*p == '\0')
			break;
		if (*p != ',')
			return SN_ERR_INVALID;
		p++;
	}
	return 0;
}

/* "T-H" (the opaque part) into out, of at most API_ETAG_MAX - 4 chars. */
static void
listing_opaque(const struct sn_actor *a, int64_t gen, int64_t t, char *out,
    size_t len)
{
	static const char hx[] = "0123456789abcdef";
	uint8_t md[SHA256_DIGEST_LENGTH];
	char buf[256], h[33];
	int n;

	/* NUL-separated: no two different tuples hash alike */
	n = snprintf(buf, sizeof(buf), "%s%c%s%c%s%c%s%c%" PRId64 "%c%" PRId64,
	    LISTING_ETAG_V, 0, a->tenant_id, 0,
	    a->type == SN_ACTOR_SERVICE_ACCOUNT ? "sa" : "user", 0, a->id, 0,
	    gen, 0, t);
	if (n < 0 || (size_t)n >= sizeof(buf))
		n = 0;	/* cannot happen: ids are bounded (struct sn_actor) */
	SHA256((const unsigned char *)buf, (size_t)n, md);
	for (size_t i = 0; i < 16; i++) {
		h[2 * i] = hx[md[i] >> 4];
		h[2 * i + 1] = hx[md[i] & 15];
	}
	h[32] = '\0';
	snprintf(out, len, "%" PRId64 "-%s", t, h);
}

void
api_listing_etag(const struct sn_actor *a, int64_t gen, int64_t t,
    char out[API_ETAG_MAX])
{
	char o[API_ETAG_MAX - 4];

	listing_opaque(a, gen, t, o, sizeof(o));
	snprintf(out, API_ETAG_MAX, "W/\"%s\"", o);
}

/* The T of an opaque "T-H": 0 and *t, or SN_ERR_INVALID (not ours). */
static int
opaque_time(const char *p, size_t len, int64_t *t)
{
	int64_t v = 0;
	size_t i;

	for (i = 0; i < len && i < 19 && p[i] >= '0' && p[i] <= '9'; i++)
		v = v * 10 + (p[i] - '0');
	if (i == 0 || i >= len || p[i] != '-' || (p[0] == '0' && i > 1))
		return SN_ERR_INVALID;
	*t = v;
	return 0;
}

int
api_me_keys_precondition(struct sn_request *req, struct sn_response *resp,
    struct db_conn *c, int unfiltered, int64_t now, int *done)
{
	const char *v = api_header(req, "If-None-Match");
	char want[API_ETAG_MAX - 4];
	struct api_inm inm;
	int64_t gen = 0, t;
	size_t i;
	int r, match = -1;
	char *empty;

	*done = 0;
	if (v != NULL && (r = api_inm_parse(v, &inm)) != 0)
		return r == SN_ERR_TOO_LARGE ? api_error(resp, SN_ERR_INVALID,
		    "If-None-Match: at most %d entity tags in %d bytes",
		    API_INM_MAX_TAGS, API_INM_MAX_LEN) : api_error(resp,
		    SN_ERR_INVALID, "If-None-Match must be * or a list of "
		    "entity tags (\"...\" or W/\"...\")");
	if (!unfiltered)
		return 0;	/* no ETag, so nothing to match */
	if ((r = store_listing_gen(c, req->actor.tenant_id, &gen)) != 0)
		return api_store_error(resp, r, "listing");
	api_listing_etag(&req->actor, gen, now, resp->etag_buf);
	if (v != NULL && inm.star)
		match = 1;	/* a listing exists: RFC 9110's 304 for "*" */
	for (i = 0; v != NULL && i < inm.n && match < 0; i++) {
		if (opaque_time(inm.tag[i].opaque, inm.tag[i].len, &t) != 0 ||
		    t > now)
			continue;	/* not ours, or from a clock ahead */
		listing_opaque(&req->actor, gen, t, want, sizeof(want));
		if (strlen(want) != inm.tag[i].len ||
		    memcmp(want, inm.tag[i].opaque, inm.tag[i].len) != 0)
			continue;
		/* the rows are as they were at t; has time moved a key? */
		if ((r = store_listing_validity_moved(c, req->actor.tenant_id,
		    t, now)) < 0)
			return api_store_error(resp, r, "listing");
		if (r == 0) {
			match = 1;
			/* the 304 names the listing the client has */
			snprintf(resp->etag_buf, sizeof(resp->etag_buf),
			    "W/\"%s\"", want);
		}
	}
	resp->etag = resp->etag_buf;
	if (match != 1)
		return 0;
	if ((empty = malloc(1)) == NULL)
		return api_error(resp, SN_ERR_NOMEM, "out of memory");
	__atomic_add_fetch(&req->srv->n_me_keys_not_modified, 1,
	    __ATOMIC_RELAXED);
	*done = 1;
	return api_raw(resp, 304, "application/json", empty, 0);
}

static int
me_show(struct sn_request *req, struct sn_response *resp)
{
	struct db_conn *c = NULL;
	struct store_tenant t;
	struct store_user u;
	json_t *body;
	int r;

	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	if ((r = store_tenant_get(c, req->actor.tenant_id, &t)) != 0) {
		r = api_store_error(resp, r, "tenant");
		goto out;
	}
	if (req->actor.type == SN_ACTOR_USER) {
		if ((r = store_user_get(c, req->actor.tenant_id, req->actor.id,
		    &u)) != 0) {
			r = api_store_error(resp, r, "user");
			goto out;
		}
		body = json_pack("{s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s}}",
		    "type", "user", "id", u.id, "email", u.email, "role",
		    u.role, "credential_id", req->actor.credential_id,
		    "tenant", "id", t.id, "name", t.name);
	} else {
		body = json_pack("{s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s}}",
		    "type", "service_account", "id", req->actor.id, "name",
		    req->actor.name, "role", "service_account",
		    "credential_id", req->actor.credential_id,
		    "tenant", "id", t.id, "name", t.name);
	}
	r = api_json(resp, 200, body);
 out:
	db_release(c);
	return r;
}

const struct api_route api_routes_me[] = {
	{ "GET", "/v1/me", me_show, API_AUTH },
	{ NULL, NULL, NULL, API_PUBLIC },
};
