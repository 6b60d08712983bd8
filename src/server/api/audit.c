/*
 * audit.c (api) - GET /v1/audit and GET /v1/audit/verify, admin only, over
 * the caller's tenant chain. The events are returned exactly as hashed
 * (plus "hash"), so `signet audit verify` can recompute the chain.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "audit.h"
#include "authz.h"
#include "db.h"
#include "err.h"
#include "page.h"
#include "server.h"
#include "store.h"
#include "store_audit.h"
#include "util.h"

/* Action names: lower-case words joined by '.' or '_' ("key.sign"). */
static int
valid_action(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 64)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '.' ||
		    s[i] == '_'))
			return 0;
	return 1;
}

static int
audit_list(struct sn_request *req, struct sn_response *resp)
{
	struct db_conn *c = NULL;
	struct db_stmt *st = NULL;
	struct store_audit_filter f;
	struct api_page pg;
	const char *q;
	char keyid[64] = "", actorid[64] = "", seqs[24];
	const char *action = "", *key[1];
	long long v;
	int64_t until = INT64_MAX, since = 0, after = 0;
	int64_t last = 0, n = 0;
	json_t *events = NULL, *e, *next = NULL;
	int r;

	if ((q = api_query(req, "since")) != NULL &&
	    sn_parse_time(q, &since) != 0)
		return api_error(resp, SN_ERR_INVALID,
		    "'since' must be an RFC 3339 time");
	if ((q = api_query(req, "until")) != NULL &&
	    sn_parse_time(q, &until) != 0)
		return api_error(resp, SN_ERR_INVALID,
		    "'until' must be an RFC 3339 time");
	if ((q = api_query(req, "action")) != NULL) {
		if (!valid_action(q))
			return api_error(resp, SN_ERR_INVALID, "'action' must "
			    "be an action name such as key.sign");
		action = q;
	}
	if ((q = api_query(req, "after")) != NULL) {
		if (sn_parse_int(q, 0, INT64_MAX, &v) != 0)
			return api_error(resp, SN_ERR_INVALID,
			    "'after' must be a sequence number");
		after = v;
	}
	if ((r = api_page_parse(req, resp, API_LIST_AUDIT, 1, &pg)) != 0)
		return r;
	if (pg.has_after) {
		/* The cursor is the last event's seq (as next_after); it
		 * takes over from ?after=, where a walk started. */
		if (sn_parse_int(pg.after[0], 0, INT64_MAX, &v) != 0)
			return api_error(resp, SN_ERR_INVALID, "'cursor' is not "
			    "a cursor of this list (pass the next_cursor of its "
			    "last page unchanged)");
		after = v;
	}
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	if ((r = api_authz(c, req, resp, AUTHZ_TENANT_ADMIN, NULL,
	    "tenant")) != 0)
		goto out;
	if ((q = api_query(req, "key")) != NULL &&
	    (r = store_audit_key_id(c, req->actor.tenant_id, q, keyid)) != 0) {
		r = api_store_error(resp, r, "key");
		goto out;
	}
	if ((q = api_query(req, "actor")) != NULL &&
	    (r = store_audit_actor_id(c, req->actor.tenant_id, q, actorid)) != 0) {
		r = api_store_error(resp, r, "actor");
		goto out;
	}
	if ((events = json_array()) == NULL) {
		r = api_error(resp, SN_ERR_NOMEM, "out of memory");
		goto out;
	}
	f.tenant_id = req->actor.tenant_id;
	f.after = after;
	f.since = since;
	f.until = until;
	f.key_id = keyid;
	f.actor_id = actorid;
	f.action = action;
	f.limit = pg.limit;
	r = store_audit_page(c, &f, &st);
	while (r == DB_ROW) {
		if ((e = audit_row_json(st, 1)) == NULL ||
		    json_array_append_new(events, e) != 0) {
			r = api_error(resp, SN_ERR_INTERNAL,
			    "cannot read the audit trail");
			goto out;
		}
		last = db_col_int64(st, 0);
		n++;
		r = db_step(st);
	}
	if (r < 0) {
		r = api_error(resp, r, "cannot read the audit trail");
		goto out;
	}
	/* A full page may be the last one; the next (empty) page says so. */
	snprintf(seqs, sizeof(seqs), "%lld", (long long)last);
	key[0] = seqs;
	if ((next = api_page_next(API_LIST_AUDIT, n == pg.limit, key,
	    1)) == NULL) {
		r = api_error(resp, SN_ERR_NOMEM, "out of memory");
		goto out;
	}
	r = api_json(resp, 200, json_pack("{s:O,s:o,s:o}", "events", events,
	    "next_after", n == pg.limit ? json_integer(last) : json_null(),
	    "next_cursor", next));
 out:
	db_finalize(st);
	st = NULL;
	if (r != 0 && resp->status == 403)	/* denied reads are audited */
		audit_refusal(c, req, resp, "audit.list", "tenant",
		    req->actor.tenant_id, NULL);
	json_decref(events);
	db_release(c);
	return r;
}

static int
audit_verify(struct sn_request *req, struct sn_response *resp)
{
	struct db_conn *c = NULL;
	int64_t count = 0, bad = 0, badcp = 0;
	int r;

	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	if ((r = api_authz(c, req, resp, AUTHZ_TENANT_ADMIN, NULL,
	    "tenant")) != 0)
		goto out;
	r = audit_verify_log(c, req->actor.tenant_id, &count, &bad, &badcp);
	if (r != 0 && r != SN_ERR_CONFLICT) {
		r = api_error(resp, r, "cannot read the audit trail");
		goto out;
	}
	r = api_json(resp, 200, json_pack("{s:b,s:I,s:o,s:o}", "ok", r == 0,
	    "events", (json_int_t)count, "first_bad_seq",
	    bad == 0 ? json_null() : json_integer(bad),
	    "bad_checkpoint_size",
	    badcp == 0 ? json_null() : json_integer(badcp)));
 out:
	if (r != 0 && resp->status == 403)	/* denied reads are audited */
		audit_refusal(c, req, resp, "audit.verify", "tenant",
		    req->actor.tenant_id, NULL);
	db_release(c);
	return r;
}

const struct api_route api_routes_audit[] = {
	{ "GET", "/v1/audit", audit_list, API_AUTH },
	{ "GET", "/v1/audit/verify", audit_verify, API_AUTH },
	{ NULL, NULL, NULL, API_PUBLIC },
};
