/*
 * p11_keys.c - the module's key listing: every page of GET /v1/me/keys
 * (docs/API.md "Paging"), merged into the one answer p11_token_from_keys
 * reads; or the one key a search template names (?key=).
 *
 * The first page may be a revalidation of a cached listing (If-None-Match,
 * docs/API.md "Revalidation"): its 304 ends the walk with nothing fetched,
 * its 200 starts a fresh listing whose ETag is that first page's.
 *
 * The server is not trusted to end the walk: a repeated cursor, a page
 * without its "keys" array, or more than P11_KEYS_MAX keys in all stop it
 * (SN_ERR_PROTOCOL, SN_ERR_TOO_LARGE) rather than loop or grow forever.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "err.h"
#include "p11_int.h"

#define P11_KEYS_MAX	100000	/* keys on one token */

int
p11_fetch_keys(struct sn_client *c, const char *inm,
    char etag[P11_ETAG_MAX + 1], json_t **out)
{
	json_t *all = NULL, *resp = NULL, *keys, *next;
	char path[1400], *cur = NULL, *e = NULL;
	long status = 0;
	size_t i;
	int r;

	*out = NULL;
	etag[0] = '\0';
	if ((all = json_array()) == NULL)
		return SN_ERR_NOMEM;
	for (;;) {
		e = NULL;
		if (cur != NULL && sn_client_escape(cur, &e) != 0) {
			r = SN_ERR_NOMEM;
			goto out;
		}
		if ((size_t)snprintf(path, sizeof(path),
		    "/v1/me/keys?limit=1000%s%s", e != NULL ? "&cursor=" : "",
		    e != NULL ? e : "") >= sizeof(path)) {
			free(e);
			r = SN_ERR_PROTOCOL;
			goto out;
		}
		free(e);
		json_decref(resp);
		resp = NULL;
		if (cur == NULL)
			r = sn_client_get_cond(c, path, inm, etag,
			    P11_ETAG_MAX + 1, &status, &resp);
		else
			r = sn_client_json(c, "GET", path, NULL, &status,
			    &resp);
		if (r != 0)
			goto out;
		if (status == 304) {
			/* only a conditional first page answers so */
			r = 0;
			goto out;
		}
		if (!json_is_array(keys = json_object_get(resp, "keys"))) {
			r = SN_ERR_PROTOCOL;
			goto out;
		}
		for (i = 0; i < json_array_size(keys); i++)
			if (json_array_append(all, json_array_get(keys, i)) != 0) {
				r = SN_ERR_NOMEM;
				goto out;
			}
		if (json_array_size(all) > P11_KEYS_MAX) {
			r = SN_ERR_TOO_LARGE;
			goto out;
		}
		next = json_object_get(resp, "next_cursor");
		if (!json_is_string(next))
			break;
		if (cur != NULL && strcmp(cur, json_string_value(next)) == 0) {
			r = SN_ERR_PROTOCOL;
			goto out;
		}
		free(cur);
		if ((cur = strdup(json_string_value(next))) == NULL) {
			r = SN_ERR_NOMEM;
			goto out;
		}
	}
	if ((*out = json_pack("{s:O}", "keys", all)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	r = 0;
 out:
	free(cur);
	json_decref(resp);
	json_decref(all);
	return r;
}

int
p11_fetch_key(struct sn_client *c, const char *name, json_t **out)
{
	json_t *resp = NULL, *keys;
	char path[512], *e = NULL;
	long status = 0;
	int r;

	*out = NULL;
	if (sn_client_escape(name, &e) != 0)
		return SN_ERR_NOMEM;
	if ((size_t)snprintf(path, sizeof(path), "/v1/me/keys?key=%s", e) >=
	    sizeof(path)) {
		free(e);
		return SN_ERR_INVALID;
	}
	free(e);
	if ((r = sn_client_json(c, "GET", path, NULL, &status, &resp)) != 0)
		return r;
	/* One key at most: a longer answer is not one we asked for. */
	if (!json_is_array(keys = json_object_get(resp, "keys")) ||
	    json_array_size(keys) > 1) {
		json_decref(resp);
		return SN_ERR_PROTOCOL;
	}
	*out = resp;
	return 0;
}
