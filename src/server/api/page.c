/*
 * page.c - the cursor codec and the ?limit= / ?cursor= parameters of the
 * list endpoints (page.h).
 *
 * Wire form: base64url(tag, '1', then per field a 2-byte big-endian
 * length and the bytes). The decoder is a cursor parser in the style of
 * sshbuf_get_*: every read is bounded, and anything left over is an error.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "encode.h"
#include "err.h"
#include "page.h"
#include "util.h"

#define CURSOR_VERSION	'1'

int
api_cursor_encode(enum api_list list, const char *const *fields, int n,
    char **out)
{
	uint8_t buf[2 + API_CURSOR_FIELDS * (2 + API_CURSOR_FIELD_MAX)];
	size_t o = 0, len;
	int i;

	*out = NULL;
	if (n < 1 || n > API_CURSOR_FIELDS)
		return SN_ERR_INVALID;
	buf[o++] = (uint8_t)list;
	buf[o++] = CURSOR_VERSION;
	for (i = 0; i < n; i++) {
		if (fields[i] == NULL ||
		    (len = strlen(fields[i])) > API_CURSOR_FIELD_MAX)
			return SN_ERR_INVALID;
		buf[o++] = (uint8_t)(len >> 8);
		buf[o++] = (uint8_t)(len & 0xff);
		memcpy(buf + o, fields[i], len);
		o += len;
	}
	return sn_b64url_encode(buf, o, out);
}

int
api_cursor_decode(const char *s, enum api_list list, int n,
    struct api_page *out)
{
	uint8_t *raw = NULL;
	size_t rawlen = 0, o = 0, len, slen;
	int i, r = SN_ERR_INVALID;

	memset(out->after, 0, sizeof(out->after));
	out->has_after = 0;
	if (s == NULL || n < 1 || n > API_CURSOR_FIELDS)
		return SN_ERR_INVALID;
	slen = strlen(s);
	if (slen == 0 || slen > API_CURSOR_MAX ||
	    sn_b64url_decode(s, slen, &raw, &rawlen) != 0)
		goto out;
	if (rawlen < 2 || raw[0] != (uint8_t)list || raw[1] != CURSOR_VERSION)
		goto out;
	o = 2;
	for (i = 0; i < n; i++) {
		if (rawlen - o < 2)
			goto out;
		len = ((size_t)raw[o] << 8) | raw[o + 1];
		o += 2;
		if (len > API_CURSOR_FIELD_MAX || rawlen - o < len ||
		    memchr(raw + o, '\0', len) != NULL)
			goto out;
		memcpy(out->after[i], raw + o, len);
		out->after[i][len] = '\0';
		o += len;
	}
	if (o != rawlen)
		goto out;
	out->has_after = 1;
	r = 0;
 out:
	if (r != 0)
		memset(out->after, 0, sizeof(out->after));
	free(raw);
	return r;
}

int
api_page_parse(struct sn_request *req, struct sn_response *resp,
    enum api_list list, int nfields, struct api_page *out)
{
	const char *q;
	long long v;

	memset(out, 0, sizeof(*out));
	out->limit = API_PAGE_DEFAULT;
	if ((q = api_query(req, "limit")) != NULL) {
		if (sn_parse_int(q, 1, API_PAGE_MAX, &v) != 0)
			return api_error(resp, SN_ERR_INVALID, "'limit' must be "
			    "a number from 1 to %d", API_PAGE_MAX);
		out->limit = v;
	}
	if ((q = api_query(req, "cursor")) != NULL &&
	    api_cursor_decode(q, list, nfields, out) != 0)
		return api_error(resp, SN_ERR_INVALID, "'cursor' is not a "
		    "cursor of this list (pass the next_cursor of its last "
		    "page unchanged)");
	return 0;
}

json_t *
api_page_next(enum api_list list, int more, const char *const *fields,
    int n)
{
	char *s = NULL;
	json_t *j;

	if (!more)
		return json_null();
	if (api_cursor_encode(list, fields, n, &s) != 0)
		return NULL;
	j = json_string(s);
	free(s);
	return j;
}

void
api_page_viewer(const struct sn_request *req, struct store_viewer *out)
{
	out->tenant_id = req->actor.tenant_id;
	out->id = req->actor.id;
	if (req->actor.type == SN_ACTOR_SERVICE_ACCOUNT)
		out->kind = STORE_VIEW_SERVICE_ACCOUNT;
	else
		out->kind = req->actor.is_admin ? STORE_VIEW_ADMIN :
		    STORE_VIEW_USER;
}

void
api_page_store(const struct api_page *pg, int nfields, struct store_page *out)
{
	int i;

	memset(out, 0, sizeof(*out));
	for (i = 0; pg->has_after && i < nfields && i < 2; i++)
		out->after[i] = pg->after[i];
	out->limit = pg->limit + 1;
}

json_t *
api_page_finish(enum api_list list, const struct api_page *pg, json_t *arr,
    const char *field)
{
	const char *key[1];
	size_t n = json_array_size(arr);
	int more = n > (size_t)pg->limit;

	if (more) {
		json_array_remove(arr, (size_t)pg->limit);
		n = (size_t)pg->limit;
	}
	key[0] = n > 0 ? json_string_value(json_object_get(
	    json_array_get(arr, n - 1), field)) : NULL;
	return api_page_next(list, more && key[0] != NULL, key, 1);
}
