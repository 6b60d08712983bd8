/*
 * fuzz_http.c - the whole request pipeline without a socket.
 *
 * Input, after placeholder expansion (fuzz_world.h):
 *
 *   METHOD SP PATH [? QUERY] LF
 *   (NAME ":" SP VALUE LF)*          headers; Authorization, Content-Type
 *   LF                               and Cookie are those the server reads
 *   BODY
 *
 * so credentials, content type, query string and body all come from the
 * input (fuzz/http.dict names routes, headers and placeholders). Every input
 * runs http_process() against a fresh copy of the fuzz world: two tenants,
 * actors of every role, keys, CAs and service accounts, the keeper double
 * standing in for the HSM.
 *
 * Invariants checked: every answer has a status in 200..599 and a body,
 * error answers are the JSON error shape, and none is 500: in the fuzz
 * world nothing fails inside the server (no memory or disk shortage, the
 * keeper double always answers), so an internal error is a request the
 * server should have refused with a 4xx.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "api.h"
#include "fuzz_world.h"
#include "http.h"
#include "server.h"

#define MAX_FIELDS	32

struct field {
	char *name, *value;
};

/* The current input's query fields, headers and cookies. */
static struct field query[MAX_FIELDS], headers[MAX_FIELDS], cookies[MAX_FIELDS];
static int nquery, nheaders, ncookies;

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent- and '+'-decoding in place, as libmicrohttpd does for queries. */
static void
unescape(char *s)
{
	char *o = s;

	for (; *s != '\0'; s++) {
		if (*s == '+')
			*o++ = ' ';
		else if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
			*o++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
			s += 2;
		} else
			*o++ = *s;
	}
	*o = '\0';
}

/* Splits s at sep into name[=value] fields (s is modified). */
static int
split_fields(char *s, const char *sep, int decode, struct field *f)
{
	int n = 0;
	char *save = NULL, *tok;

	for (tok = strtok_r(s, sep, &save); tok != NULL && n < MAX_FIELDS;
	    tok = strtok_r(NULL, sep, &save)) {
		char *eq = strchr(tok, '=');
		while (*tok == ' ')
			tok++;
		f[n].name = tok;
		f[n].value = eq != NULL ? eq + 1 : tok + strlen(tok);
		if (eq != NULL)
			*eq = '\0';
		if (decode) {
			unescape(f[n].name);
			unescape(f[n].value);
		}
		n++;
	}
	return n;
}

static const char *
lookup(const struct field *f, int n, const char *name, int icase)
{
	for (int i = 0; i < n; i++)
		if ((icase ? strcasecmp(f[i].name, name) :
		    strcmp(f[i].name, name)) == 0)
			return f[i].value;
	return NULL;
}

static const char *
get_query(const struct sn_request *req, const char *name)
{
	return lookup(query, nquery, name, 0);
}

static const char *
get_header(const struct sn_request *req, const char *name)
{
	return lookup(headers, nheaders, name, 1);
}

static const char *
get_cookie(const struct sn_request *req, const char *name)
{
	return lookup(cookies, ncookies, name, 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_input in;
	struct sn_response resp;
	char *text, *line, *nl, *sp, *q, *cookie_copy = NULL;
	const char *cookie;
	size_t len;
	int status;

	world_reset();
	if ((text = world_expand((const char *)data, size, &len)) == NULL)
		return 0;
	memset(&in, 0, sizeof(in));
	memset(&resp, 0, sizeof(resp));
	nquery = nheaders = ncookies = 0;

	/* request line */
	line = text;
	if ((nl = memchr(line, '\n', len)) != NULL)
		*nl = '\0';
	in.method = line;
	if ((sp = strchr(line, ' ')) == NULL)
		goto out;
	*sp = '\0';
	in.path = sp + 1;
	if ((q = strchr(sp + 1, '?')) != NULL) {
		*q = '\0';
		nquery = split_fields(q + 1, "&", 1, query);
	}
	/* headers up to an empty line, then the body (NULs included) */
	while (nl != NULL) {
		char *h = nl + 1, *colon;
		size_t rest = len - (size_t)(h - text);

		if ((nl = memchr(h, '\n', rest)) == NULL || nl == h) {
			if (nl == h) {
				in.body = nl + 1;
				in.body_len = len - (size_t)(nl + 1 - text);
			}
			break;
		}
		*nl = '\0';
		if ((colon = strchr(h, ':')) == NULL || nheaders == MAX_FIELDS)
			continue;
		*colon = '\0';
		headers[nheaders].name = h;
		headers[nheaders].value = colon[1] == ' ' ? colon + 2 : colon + 1;
		nheaders++;
	}
	in.authorization = get_header(NULL, "Authorization");
	in.content_type = get_header(NULL, "Content-Type");
	if ((cookie = get_header(NULL, "Cookie")) != NULL &&
	    (cookie_copy = strdup(cookie)) != NULL)
		ncookies = split_fields(cookie_copy, ";", 0, cookies);
	in.query = get_query;
	in.header = get_header;
	in.cookie = get_cookie;
	in.duplicate_length = lookup(headers, nheaders, "X-Fuzz-Duplicate-Length",
	    1) != NULL;
	if (in.body_len == 0)
		in.body = NULL;

	status = world_request(&in, &resp);
	if (getenv("FUZZ_VERBOSE") != NULL) {
		char *dump = resp.body != NULL ? json_dumps(resp.body,
		    JSON_COMPACT) : NULL;
		fprintf(stderr, "fuzz_http: %s %s -> %d %.200s\n", in.method,
		    in.path, status, dump != NULL ? dump : "");
		free(dump);
	}
	if (status < 200 || status > 599 || status == 500)
		abort();
	if (resp.body != NULL) {
		char *dump = json_dumps(resp.body, JSON_COMPACT);
		if (dump == NULL)
			abort();
		free(dump);
		if (status >= 400 && (json_object_get(resp.body, "error") == NULL ||
		    !json_is_string(json_object_get(json_object_get(resp.body,
		    "error"), "code"))))
			abort();
	} else if (resp.raw == NULL && status != 204)
		abort();
 out:
	api_response_clear(&resp);
	free(cookie_copy);
	free(text);
	return 0;
}
