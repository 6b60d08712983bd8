/*
 * page.h - paging of the list endpoints: ?limit= and an opaque ?cursor=
 * (keyset pagination, docs/API.md "Paging").
 *
 * A cursor is the sort key of the last item of the page before, encoded
 * (base64url of a tag, a version and length-prefixed fields), never an
 * offset: a page costs the same wherever it starts, and rows inserted or
 * deleted meanwhile neither repeat nor skip the others. It is not secret
 * and not signed: whatever a caller puts in one only moves the start of
 * the page, and the page is filtered by what the caller may see anyway.
 *
 * Return convention: 0 or a negative SN_ERR_*; the api_page_* functions
 * set a 400 on resp for bad input ("'cursor' is not a cursor of this
 * list").
 */
#ifndef SIGNET_PAGE_H
#define SIGNET_PAGE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "handler.h"
#include "store_page.h"

#define API_PAGE_DEFAULT	100	/* items per page without ?limit= */
#define API_PAGE_MAX		1000	/* the most ?limit= may ask for */
#define API_CURSOR_FIELDS	2	/* sort key columns at most */
#define API_CURSOR_FIELD_MAX	256	/* bytes per field (an email fits) */
#define API_CURSOR_MAX		1024	/* characters of an encoded cursor */

/* Which list a cursor belongs to: a cursor of one list is refused by
 * another. */
enum api_list {
	API_LIST_PROJECTS = 'p',
	API_LIST_TEAMS = 't',
	API_LIST_SERVICE_ACCOUNTS = 's',
	API_LIST_USERS = 'u',
	API_LIST_KEYS = 'k',
	API_LIST_ME_KEYS = 'm',
	API_LIST_AUDIT = 'a',
};

struct api_page {
	int64_t limit;			/* items wanted, 1..API_PAGE_MAX */
	int has_after;			/* a cursor was given */
	/* The sort key of the last item before this page (NUL-terminated). */
	char after[API_CURSOR_FIELDS][API_CURSOR_FIELD_MAX + 1];
};

/*
 * Encodes fields[0..n) (n 1..API_CURSOR_FIELDS, each at most
 * API_CURSOR_FIELD_MAX bytes, no NUL) as the cursor of list into a
 * malloc'd string. SN_ERR_INVALID, SN_ERR_NOMEM.
 */
int api_cursor_encode(enum api_list list, const char *const *fields, int n,
    char **out);
/*
 * Decodes s, which must be a cursor of list with exactly n fields, into
 * out->after[] (and sets has_after). Fails closed: wrong tag or version,
 * bad base64url, a field too long or holding NUL, a missing or extra field
 * or trailing bytes are all SN_ERR_INVALID; out->after is then cleared.
 */
int api_cursor_decode(const char *s, enum api_list list, int n,
    struct api_page *out);

/* Reads ?limit= (1..API_PAGE_MAX, default API_PAGE_DEFAULT) and ?cursor=
 * into out; a 400 on resp for either being garbage. */
int api_page_parse(struct sn_request *req, struct sn_response *resp,
    enum api_list list, int nfields, struct api_page *out);

/*
 * The page's answer member "next_cursor": a new reference to the cursor
 * string made from fields when more items follow (more != 0), else JSON
 * null. NULL on no memory.
 */
json_t *api_page_next(enum api_list list, int more,
    const char *const *fields, int n);

/* The caller as the store's list filters need it. */
void api_page_viewer(const struct sn_request *req, struct store_viewer *out);
/* The store's page for pg: after pg's cursor, one row more than pg->limit
 * (to learn whether another page follows). out points into pg. */
void api_page_store(const struct api_page *pg, int nfields,
    struct store_page *out);
/*
 * For a page read with api_page_store into the JSON array arr: drops the
 * extra row if there is one and returns "next_cursor" (new reference, JSON
 * null at the end) made from the string member field of the last item
 * left; NULL on no memory.
 */
json_t *api_page_finish(enum api_list list, const struct api_page *pg,
    json_t *arr, const char *field);

#endif
