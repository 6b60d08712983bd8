/*
 * store_webhooks.c - webhooks and the delivery queue (store_webhooks.h).
 */
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "err.h"
#include "store.h"
#include "store_webhooks.h"
#include "util.h"

int
store_webhook_insert(struct db_conn *c, const char *tenant_id, const char *id,
    const char *url, const char *events, const char *secret,
    const char *created_by, int64_t now)
{
	return db_execf(c, "INSERT INTO webhooks (id, tenant_id, url, events, "
	    "secret, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
	    "tttttti", id, tenant_id, url, events, secret, created_by, now);
}

static json_t *
hook_row(struct db_stmt *st)
{
	json_t *ev = json_array();
	const char *e = db_col_text(st, 2), *comma;

	if (ev == NULL)
		return NULL;
	while (e != NULL && *e != '\0') {
		comma = strchr(e, ',');
		json_array_append_new(ev, json_stringn(e, comma != NULL ?
		    (size_t)(comma - e) : strlen(e)));
		e = comma != NULL ? comma + 1 : NULL;
	}
	return json_pack("{s:s?, s:s?, s:o, s:s?, s:o}", "id",
	    db_col_text(st, 0), "url", db_col_text(st, 1), "events", ev,
	    "created_by", db_col_text(st, 3), "created_at",
	    store_time_json(db_col_int64(st, 4)));
}

static int
hooks(struct db_conn *c, const char *tenant_id, const char *id, json_t **out)
{
	struct db_stmt *st = NULL;
	json_t *a = json_array(), *h;
	int r;

	*out = NULL;
	if (a == NULL)
		return SN_ERR_NOMEM;
	for (r = id != NULL ? db_queryf(c, &st, "SELECT id, url, events, "
	    "created_by, created_at FROM webhooks WHERE tenant_id = ? AND id = ?",
	    "tt", tenant_id, id) : db_queryf(c, &st, "SELECT id, url, events, "
	    "created_by, created_at FROM webhooks WHERE tenant_id = ? ORDER BY "
	    "created_at, id", "t", tenant_id); r == DB_ROW; r = db_step(st)) {
		if ((h = hook_row(st)) == NULL ||
		    json_array_append_new(a, h) != 0) {
			r = SN_ERR_NOMEM;
			break;
		}
	}
	db_finalize(st);
	if (r < 0) {
		json_decref(a);
		return r;
	}
	*out = a;
	return 0;
}

int
store_webhook_list(struct db_conn *c, const char *tenant_id, json_t **out)
{
	return hooks(c, tenant_id, NULL, out);
}

int
store_webhook_get(struct db_conn *c, const char *tenant_id, const char *id,
    json_t **out)
{
	json_t *a = NULL;
	int r;

	*out = NULL;
	if ((r = hooks(c, tenant_id, id, &a)) != 0)
		return r;
	if (json_array_size(a) != 1) {
		json_decref(a);
		return SN_ERR_NOT_FOUND;
	}
	*out = json_incref(json_array_get(a, 0));
	json_decref(a);
	return 0;
}

int
store_webhook_delete(struct db_conn *c, const char *tenant_id, const char *id)
{
	int r;

	/* Explicitly, children first: foreign keys may be off (SQLite). */
	if ((r = db_execf(c, "DELETE FROM webhook_attempts WHERE delivery_id IN "
	    "(SELECT id FROM webhook_deliveries WHERE tenant_id = ? AND "
	    "webhook_id = ?)", "tt", tenant_id, id)) != 0 ||
	    (r = db_execf(c, "DELETE FROM webhook_deliveries WHERE tenant_id = ? "
	    "AND webhook_id = ?", "tt", tenant_id, id)) != 0 ||
	    (r = db_execf(c, "DELETE FROM webhooks WHERE tenant_id = ? AND id = ?",
	    "tt", tenant_id, id)) != 0)
		return r;
	return db_changes(c) == 1 ? 0 : SN_ERR_NOT_FOUND;
}

int
store_webhook_enqueue(struct db_conn *c, const char *tenant_id,
    const char *event_id, const char *event_type, const char *payload,
    int64_t now)
{
	struct store_ids ids = { NULL, 0 };
	struct db_stmt *st = NULL;
	char *did = NULL;
	size_t i;
	int r;

	/* events is a comma list without spaces: match ",type," inside
	 * ",events,". */
	{
		char pat[96];

		snprintf(pat, sizeof(pat), "%%,%s,%%", event_type);
		r = db_queryf(c, &st, "SELECT id FROM webhooks WHERE tenant_id = "
		    "? AND (',' || events || ',') LIKE ? ORDER BY id", "tt",
		    tenant_id, pat);
	}
	if ((r = store_ids_collect(st, r, &ids)) != 0)
		return r;
	for (i = 0; i < ids.n; i++) {
		if ((r = sn_new_id("whd", &did)) != 0)
			break;
		r = db_execf(c, "INSERT INTO webhook_deliveries (id, tenant_id, "
		    "webhook_id, event_id, event_type, payload, state, "
		    "attempts, next_attempt_at, created_at) VALUES (?, ?, ?, ?, "
		    "?, ?, 'pending', 0, ?, ?)", "ttttttii", did, tenant_id,
		    ids.v[i], event_id, event_type, payload, now, now);
		free(did);
		did = NULL;
		if (r != 0)
			break;
	}
	store_ids_free(&ids);
	return r;
}

int
store_webhook_deliveries(struct db_conn *c, const char *tenant_id,
    const char *webhook_id, int64_t limit, json_t **out)
{
	struct db_stmt *st = NULL, *at = NULL;
	json_t *a = json_array(), *d, *atts;
	int r, r2;

	*out = NULL;
	if (a == NULL)
		return SN_ERR_NOMEM;
	for (r = db_queryf(c, &st, "SELECT id, event_id, event_type, state, "
	    "attempts, next_attempt_at, created_at, finished_at FROM "
	    "webhook_deliveries WHERE tenant_id = ? AND webhook_id = ? ORDER BY "
	    "created_at DESC, id DESC LIMIT ?", "tti", tenant_id, webhook_id,
	    limit); r == DB_ROW; r = db_step(st)) {
		if ((atts = json_array()) == NULL) {
			r = SN_ERR_NOMEM;
			break;
		}
		for (r2 = db_queryf(c, &at, "SELECT attempt, at, http_status, "
		    "error, duration_ms FROM webhook_attempts WHERE delivery_id = "
		    "? ORDER BY attempt", "t", db_col_text(st, 0)); r2 == DB_ROW;
		    r2 = db_step(at))
			json_array_append_new(atts, json_pack("{s:I, s:o, s:I, "
			    "s:s?, s:I}", "attempt", (json_int_t)db_col_int64(at,
			    0), "at", store_time_json(db_col_int64(at, 1)),
			    "http_status", (json_int_t)db_col_int64(at, 2),
			    "error", db_col_text(at, 3), "duration_ms",
			    (json_int_t)db_col_int64(at, 4)));
		db_finalize(at);
		at = NULL;
		if (r2 < 0) {
			json_decref(atts);
			r = r2;
			break;
		}
		d = json_pack("{s:s?, s:s?, s:s?, s:s?, s:I, s:o, s:o, s:o, s:o}",
		    "id", db_col_text(st, 0), "event_id", db_col_text(st, 1),
		    "event", db_col_text(st, 2), "state", db_col_text(st, 3),
		    "attempts", (json_int_t)db_col_int64(st, 4),
		    "next_attempt_at", strcmp(db_col_text(st, 3), "pending") == 0 ?
		    store_time_json(db_col_int64(st, 5)) : json_null(),
		    "created_at", store_time_json(db_col_int64(st, 6)),
		    "finished_at", db_col_is_null(st, 7) ? json_null() :
		    store_time_json(db_col_int64(st, 7)), "attempt_log", atts);
		if (d == NULL || json_array_append_new(a, d) != 0) {
			r = SN_ERR_NOMEM;
			break;
		}
	}
	db_finalize(st);
	if (r < 0) {
		json_decref(a);
		return r;
	}
	*out = a;
	return 0;
}

void
store_delivery_clear(struct store_delivery *d)
{
	if (d == NULL)
		return;
	free(d->payload);
	free(d->url);
	if (d->secret != NULL)
		sn_freezero(d->secret, strlen(d->secret));
	memset(d, 0, sizeof(*d));
}

int
store_delivery_due(struct db_conn *c, int64_t now, int64_t max,
    struct store_ids *out)
{
	struct db_stmt *st = NULL;
	int r;

	out->v = NULL;
	out->n = 0;
	r = db_queryf(c, &st, "SELECT id FROM webhook_deliveries WHERE state = "
	    "'pending' AND next_attempt_at <= ? AND (claimed_until IS NULL OR "
	    "claimed_until < ?) ORDER BY next_attempt_at, id LIMIT ?", "iii",
	    now, now, max);
	return store_ids_collect(st, r, out);
}

int
store_delivery_claim(struct db_conn *c, const char *id, const char *claimer,
    int64_t now, int64_t lease_until, struct store_delivery *out)
{
	struct db_stmt *st = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = db_execf(c, "UPDATE webhook_deliveries SET claimed_by = ?, "
	    "claimed_until = ? WHERE id = ? AND state = 'pending' AND "
	    "next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until < "
	    "?)", "titii", claimer, lease_until, id, now, now)) != 0)
		return r;
	if (db_changes(c) != 1)
		return SN_ERR_CONFLICT;
	r = db_queryf(c, &st, "SELECT d.id, d.tenant_id, d.webhook_id, "
	    "d.event_id, d.event_type, d.payload, d.attempts, w.url, w.secret "
	    "FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id "
	    "WHERE d.id = ?", "t", id);
	if (r == DB_ROW) {
		if ((r = store_copy(out->id, sizeof(out->id),
		    db_col_text(st, 0))) == 0 &&
		    (r = store_copy(out->tenant_id, sizeof(out->tenant_id),
		    db_col_text(st, 1))) == 0 &&
		    (r = store_copy(out->webhook_id, sizeof(out->webhook_id),
		    db_col_text(st, 2))) == 0 &&
		    (r = store_copy(out->event_id, sizeof(out->event_id),
		    db_col_text(st, 3))) == 0 &&
		    (r = store_copy(out->event_type, sizeof(out->event_type),
		    db_col_text(st, 4))) == 0 &&
		    (r = store_dup(db_col_text(st, 5), &out->payload)) == 0 &&
		    (r = store_dup(db_col_text(st, 7), &out->url)) == 0)
			r = store_dup(db_col_text(st, 8), &out->secret);
		out->attempts = db_col_int64(st, 6);
	} else if (r >= 0)
		r = SN_ERR_NOT_FOUND;
	db_finalize(st);
	if (r != 0)
		store_delivery_clear(out);
	return r;
}

int
store_delivery_finish(struct db_conn *c, const char *id, const char *claimer,
    int64_t attempt, int64_t at, int http_status, const char *error,
    int64_t duration_ms, int ok, int64_t next_at)
{
	int r;

	if ((r = db_execf(c, "INSERT INTO webhook_attempts (delivery_id, attempt, "
	    "at, http_status, error, duration_ms) VALUES (?, ?, ?, ?, ?, ?)",
	    "tiiiti", id, attempt, at, (int64_t)http_status, error,
	    duration_ms)) != 0)
		return r;
	if (ok)
		r = db_execf(c, "UPDATE webhook_deliveries SET state = 'delivered', "
		    "attempts = ?, finished_at = ?, claimed_by = NULL, "
		    "claimed_until = NULL WHERE id = ? AND claimed_by = ?", "iitt",
		    attempt, at, id, claimer);
	else if (next_at > 0)
		r = db_execf(c, "UPDATE webhook_deliveries SET attempts = ?, "
		    "next_attempt_at = ?, claimed_by = NULL, claimed_until = NULL "
		    "WHERE id = ? AND claimed_by = ?", "iitt", attempt, next_at, id,
		    claimer);
	else
		r = db_execf(c, "UPDATE webhook_deliveries SET state = 'failed', "
		    "attempts = ?, finished_at = ?, claimed_by = NULL, "
		    "claimed_until = NULL WHERE id = ? AND claimed_by = ?", "iitt",
		    attempt, at, id, claimer);
	if (r != 0)
		return r;
	return db_changes(c) == 1 ? 0 : SN_ERR_CONFLICT;
}

int
store_approvals_expired(struct db_conn *c, int64_t now, int64_t max,
    json_t **out)
{
	struct db_stmt *st = NULL;
	json_t *a = json_array();
	int r;

	*out = NULL;
	if (a == NULL)
		return SN_ERR_NOMEM;
	for (r = db_queryf(c, &st, "SELECT id, tenant_id, key_id, requester_id, "
	    "requester_name, state FROM approvals WHERE state IN ('pending', "
	    "'approved') AND expires_at <= ? AND expiry_notified = 0 ORDER BY "
	    "expires_at, id LIMIT ?", "ii", now, max); r == DB_ROW;
	    r = db_step(st))
		json_array_append_new(a, json_pack("{s:s?, s:s?, s:s?, s:s?, s:s?, "
		    "s:s?}", "id", db_col_text(st, 0), "tenant_id",
		    db_col_text(st, 1), "key_id", db_col_text(st, 2),
		    "requester_id", db_col_text(st, 3), "requester_name",
		    db_col_text(st, 4), "state", db_col_text(st, 5)));
	db_finalize(st);
	if (r < 0) {
		json_decref(a);
		return r;
	}
	*out = a;
	return 0;
}

int
store_approval_expiry_notified(struct db_conn *c, const char *id)
{
	int r;

	if ((r = db_execf(c, "UPDATE approvals SET expiry_notified = 1 WHERE id = "
	    "? AND expiry_notified = 0", "t", id)) != 0)
		return r;
	return db_changes(c) == 1 ? 0 : SN_ERR_CONFLICT;
}
