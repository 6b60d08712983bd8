/*
 * audit.c - the hash-chained audit trail, one chain per tenant.
 *
 * audit_append runs inside the caller's write transaction: the event and the
 * change it records commit (or roll back) together, and the transaction's
 * write lock (BEGIN IMMEDIATE) serialises appends, so "last seq + 1" cannot
 * race. Details are stored as their canonical JSON text, so the verifier
 * reproduces the same canonical bytes from the row.
 *
 * Never put a secret into details: the audit trail is readable by admins.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audit.h"
#include "auditchain.h"
#include "db.h"
#include "err.h"
#include "handler.h"
#include "server.h"
#include "store.h"
#include "util.h"

#define AUDIT_JSON_FLAGS (JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII)

static const char *
nz(const char *s)
{
	return s != NULL ? s : "";
}

json_t *
audit_event_json(int64_t seq, const char *tenant_id, const char *id,
    int64_t t, const char *actor_type, const char *actor_id,
    const char *action, const char *object_type, const char *object_id,
    const char *result, json_t *details, const char *source_ip,
    const char *prev_hash)
{
	char ts[32];

	sn_format_time(t, ts);
	return json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:O,s:s,s:s}",
	    "seq", (json_int_t)seq, "tenant_id", nz(tenant_id), "id", nz(id),
	    "time", ts, "actor_type", nz(actor_type), "actor_id", nz(actor_id),
	    "action", nz(action), "object_type", nz(object_type),
	    "object_id", nz(object_id), "result", nz(result),
	    "details", details, "source_ip", nz(source_ip),
	    "prev_hash", nz(prev_hash));
}

int
audit_append(struct db_conn *c, const struct audit_event *ev)
{
	struct db_stmt *st = NULL;
	json_t *details = NULL, *e = NULL;
	char prev[65], hash[65], *id = NULL, *dtext = NULL;
	int64_t seq = 1, now;
	int r;

	if (ev == NULL || ev->action == NULL || ev->tenant_id == NULL)
		return SN_ERR_INVALID;
	if (!db_in_transaction(c))
		return SN_ERR_INTERNAL;	/* must commit with the change */
	if (ev->details != NULL && !json_is_object(ev->details))
		return SN_ERR_INVALID;
	details = ev->details != NULL ? json_incref(ev->details) :
	    json_object();
	if (details == NULL)
		return SN_ERR_NOMEM;
	snprintf(prev, sizeof(prev), "%s", SN_AUDIT_GENESIS);
	r = db_queryf(c, &st, "SELECT seq, hash FROM audit_events WHERE "
	    "tenant_id = ? ORDER BY seq DESC LIMIT 1", "t", ev->tenant_id);
	if (r < 0)
		goto out;
	if (r == DB_ROW) {
		seq = db_col_int64(st, 0) + 1;
		snprintf(prev, sizeof(prev), "%s", nz(db_col_text(st, 1)));
	}
	db_finalize(st);
	st = NULL;
	if ((r = sn_new_id("evt", &id)) != 0)
		goto out;
	now = sn_now();
	if ((e = audit_event_json(seq, ev->tenant_id, id, now, ev->actor_type,
	    ev->actor_id, ev->action, ev->object_type, ev->object_id,
	    ev->result != NULL ? ev->result : "ok", details, ev->source_ip,
	    prev)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	if ((r = sn_audit_hash(e, hash)) != 0)
		goto out;
	if ((dtext = json_dumps(details, AUDIT_JSON_FLAGS)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	r = db_execf(c, "INSERT INTO audit_events (seq, tenant_id, id, time, "
	    "actor_type, actor_id, action, object_type, object_id, result, "
	    "details, source_ip, prev_hash, hash) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	    "ittitttttttttt", seq, ev->tenant_id, id, now,
	    nz(ev->actor_type), nz(ev->actor_id), ev->action,
	    nz(ev->object_type), nz(ev->object_id),
	    ev->result != NULL ? ev->result : "ok", dtext, nz(ev->source_ip),
	    prev, hash);
 out:
	db_finalize(st);
	json_decref(details);
	json_decref(e);
	free(id);
	free(dtext);
	return r;
}

static void
fill_from_req(struct audit_event *ev, struct sn_request *req,
    const char *action, const char *object_type, const char *object_id,
    const char *result, json_t *details)
{
	memset(ev, 0, sizeof(*ev));
	ev->tenant_id = req->actor.tenant_id;
	ev->actor_type = req->actor.type == SN_ACTOR_NONE ? "anonymous" :
	    sn_actor_type_name(&req->actor);
	ev->actor_id = req->actor.id;
	ev->action = action;
	ev->object_type = object_type;
	ev->object_id = object_id;
	ev->result = result;
	ev->details = details;
	ev->source_ip = req->source_ip;
}

int
audit_req(struct db_conn *c, struct sn_request *req, const char *action,
    const char *object_type, const char *object_id, const char *result,
    json_t *details)
{
	struct audit_event ev;

	fill_from_req(&ev, req, action, object_type, object_id, result,
	    details);
	return audit_append(c, &ev);
}

void
audit_refusal(struct db_conn *c, struct sn_request *req,
    const struct sn_response *resp, const char *action,
    const char *object_type, const char *object_id, json_t *details)
{
	json_t *d = NULL, *err, *msg;
	int status;

	if (c == NULL)
		return;
	db_rollback(c);
	d = details != NULL ? json_deep_copy(details) : json_object();
	if (d == NULL)
		return;
	status = resp->status != 0 ? resp->status : 500;
	json_object_set_new(d, "status", json_integer(status));
	if (resp->body != NULL &&
	    (err = json_object_get(resp->body, "error")) != NULL &&
	    (msg = json_object_get(err, "message")) != NULL)
		json_object_set(d, "reason", msg);
	if (db_begin(c) == 0) {
		if (audit_req(c, req, action, object_type, object_id,
		    status >= 500 ? "error" : "denied", d) == 0)
			(void)db_commit(c);
		db_rollback(c);
	}
	json_decref(d);
}

json_t *
audit_row_json(struct db_stmt *st, int with_hash)
{
	json_t *details, *e;
	const char *dtext;

	/* columns: seq tenant_id id time actor_type actor_id action
	 * object_type object_id result details source_ip prev_hash hash */
	dtext = db_col_text(st, 10);
	details = json_loads(dtext != NULL ? dtext : "", JSON_REJECT_DUPLICATES,
	    NULL);
	if (details == NULL || !json_is_object(details)) {
		json_decref(details);
		return NULL;
	}
	e = audit_event_json(db_col_int64(st, 0), db_col_text(st, 1),
	    db_col_text(st, 2), db_col_int64(st, 3), db_col_text(st, 4),
	    db_col_text(st, 5), db_col_text(st, 6), db_col_text(st, 7),
	    db_col_text(st, 8), db_col_text(st, 9), details,
	    db_col_text(st, 11), db_col_text(st, 12));
	json_decref(details);
	if (e != NULL && with_hash &&
	    json_object_set_new(e, "hash", json_string(nz(db_col_text(st, 13)))) != 0) {
		json_decref(e);
		return NULL;
	}
	return e;
}

int
audit_verify_chain(struct db_conn *c, const char *tenant_id,
    int64_t *count, int64_t *bad_seq)
{
	struct db_stmt *st = NULL;
	json_t *e = NULL;
	char prev[65];
	int64_t n = 0, expect = 1, seq;
	int r;

	*count = 0;
	*bad_seq = 0;
	snprintf(prev, sizeof(prev), "%s", SN_AUDIT_GENESIS);
	r = db_queryf(c, &st, "SELECT " AUDIT_COLUMNS " FROM audit_events "
	    "WHERE tenant_id = ? ORDER BY seq", "t", tenant_id);
	while (r == DB_ROW) {
		n++;
		seq = db_col_int64(st, 0);
		e = audit_row_json(st, 1);
		if (seq != expect || e == NULL ||
		    sn_audit_check(e, prev, prev) != 0) {
			*bad_seq = seq;
			/* count them all anyway */
			while ((r = db_step(st)) == DB_ROW)
				n++;
			if (r < 0)
				goto out;
			*count = n;
			r = SN_ERR_CONFLICT;
			goto out;
		}
		json_decref(e);
		e = NULL;
		expect++;
		r = db_step(st);
	}
	if (r < 0)
		goto out;
	*count = n;
	r = 0;
 out:
	json_decref(e);
	db_finalize(st);
	return r;
}
