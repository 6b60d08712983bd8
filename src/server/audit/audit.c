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
#include "audit_int.h"
#include "auditchain.h"
#include "db.h"
#include "encode.h"
#include "merkle.h"
#include "err.h"
#include "handler.h"
#include "server.h"
#include "sn_assert.h"
#include "store.h"
#include "store_audit.h"
#include "tlog.h"
#include "util.h"

/* The stored details text is reused as the canonical form's "details"
 * (sn_audit_hash_with): these must stay auditchain.h's canonical flags. */
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
	return audit_append_seq(c, ev, NULL);
}

int
audit_append_seq(struct db_conn *c, const struct audit_event *ev,
    int64_t *seq_out)
{
	struct audit_tail tail;
	int r;

	memset(&tail, 0, sizeof(tail));
	if ((r = audit_append_at(c, ev, &tail, NULL)) == 0 && seq_out != NULL)
		*seq_out = tail.seq;
	return r;
}

int
audit_append_at(struct db_conn *c, const struct audit_event *ev,
    struct audit_tail *tail, json_t **event_out)
{
	struct store_audit_row row;
	json_t *details = NULL, *e = NULL;
	char prev[65], hash[65], *id = NULL, *dtext = NULL;
	int64_t seq = 1, now;
	int r;

	if (event_out != NULL)
		*event_out = NULL;
	if (ev == NULL || ev->action == NULL || ev->tenant_id == NULL)
		return SN_ERR_INVALID;
	if (SN_NEVER(!db_in_transaction(c)))
		return SN_ERR_INTERNAL;	/* must commit with the change */
	if (ev->details != NULL && !json_is_object(ev->details))
		return SN_ERR_INVALID;
	details = ev->details != NULL ? json_incref(ev->details) :
	    json_object();
	if (details == NULL)
		return SN_ERR_NOMEM;
	snprintf(prev, sizeof(prev), "%s", SN_AUDIT_GENESIS);
	/* The tail is read under the chain lock: "last seq + 1" cannot race.
	 * A caller that appended in this same transaction (a group commit)
	 * carries it in *tail instead; never across transactions, since
	 * other processes may append to the same chain in between. */
	if ((r = db_chain_lock(c, ev->tenant_id)) != 0)
		goto out;
	if (tail->known) {
		seq = tail->seq + 1;
		snprintf(prev, sizeof(prev), "%s", tail->hash);
	} else {
		if ((r = store_audit_tail(c, ev->tenant_id, &seq, prev)) != 0)
			goto out;
		if (seq == 0)
			snprintf(prev, sizeof(prev), "%s", SN_AUDIT_GENESIS);
		seq++;
	}
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
	/* details are dumped once: the stored text is also the canonical
	 * form's "details" member */
	if ((dtext = json_dumps(details, AUDIT_JSON_FLAGS)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	if ((r = sn_audit_hash_with(e, dtext, hash)) != 0)
		goto out;
	row.seq = seq;
	row.tenant_id = ev->tenant_id;
	row.id = id;
	row.time = now;
	row.actor_type = nz(ev->actor_type);
	row.actor_id = nz(ev->actor_id);
	row.action = ev->action;
	row.object_type = nz(ev->object_type);
	row.object_id = nz(ev->object_id);
	row.result = ev->result != NULL ? ev->result : "ok";
	row.details = dtext;
	row.source_ip = nz(ev->source_ip);
	row.prev_hash = prev;
	row.hash = hash;
	r = store_audit_insert(c, &row);
	/* The event's leaf joins the tenant's Merkle tree in the same
	 * transaction: committed together or not at all. */
	if (r == 0)
		r = tlog_append(c, ev->tenant_id, seq, hash);
	if (r != 0)
		goto out;
	if (event_out != NULL) {
		/* as GET /v1/audit shows it: the canonical object + "hash" */
		if (json_object_set_new(e, "hash", json_string(hash)) != 0) {
			r = SN_ERR_NOMEM;
			goto out;
		}
		*event_out = e;
		e = NULL;
	}
	tail->known = 1;
	tail->seq = seq;
	memcpy(tail->hash, hash, sizeof(tail->hash));
 out:
	json_decref(details);
	json_decref(e);
	free(id);
	free(dtext);
	return r;
}

void
audit_event_from_req(struct audit_event *ev, struct sn_request *req,
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
	return audit_req_seq(c, req, action, object_type, object_id, result,
	    details, NULL);
}

int
audit_req_seq(struct db_conn *c, struct sn_request *req, const char *action,
    const char *object_type, const char *object_id, const char *result,
    json_t *details, int64_t *seq)
{
	struct audit_event ev;

	audit_event_from_req(&ev, req, action, object_type, object_id, result,
	    details);
	return audit_append_seq(c, &ev, seq);
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
	/* Failures are ignored: the refusal stands either way. */
	if (db_begin(c) == 0 &&
	    (audit_req(c, req, action, object_type, object_id,
	    status >= 500 ? "error" : "denied", d) != 0 || db_commit(c) != 0))
		db_rollback(c);
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
	int64_t bad_cp;

	return audit_verify_log(c, tenant_id, count, bad_seq, &bad_cp);
}

/* The next stored checkpoint (size, root) of st2, or size 0 at the end. */
static int
next_checkpoint(struct db_stmt **st2, int *r2, uint64_t *size,
    uint8_t root[SN_MERKLE_HASH_LEN])
{
	const void *p;
	size_t len = 0;

	*size = 0;
	if (*r2 != DB_ROW)
		return *r2 < 0 ? *r2 : 0;
	p = db_col_blob(*st2, 1, &len);
	if (p == NULL || len != SN_MERKLE_HASH_LEN)
		return SN_ERR_DB;
	*size = (uint64_t)db_col_int64(*st2, 0);
	memcpy(root, p, SN_MERKLE_HASH_LEN);
	*r2 = db_step(*st2);
	return 0;
}

int
audit_verify_log(struct db_conn *c, const char *tenant_id, int64_t *count,
    int64_t *bad_seq, int64_t *bad_checkpoint)
{
	struct db_stmt *st = NULL, *st2 = NULL;
	struct sn_merkle_range rg;
	json_t *e = NULL;
	char prev[65];
	uint8_t *raw = NULL, leaf[SN_MERKLE_HASH_LEN], cproot[SN_MERKLE_HASH_LEN],
	    root[SN_MERKLE_HASH_LEN];
	const void *stored;
	size_t rawlen = 0, slen;
	uint64_t cpsize = 0;
	int64_t n = 0, expect = 1, seq;
	int r, r2, bad;

	*count = 0;
	*bad_seq = 0;
	*bad_checkpoint = 0;
	sn_merkle_range_init(&rg);
	snprintf(prev, sizeof(prev), "%s", SN_AUDIT_GENESIS);
	r2 = store_audit_checkpoints(c, tenant_id, &st2);
	if ((r = next_checkpoint(&st2, &r2, &cpsize, cproot)) != 0)
		goto out;
	/*
	 * Each event must chain, and its stored tree leaf must be the leaf of
	 * its hash; the root rebuilt from the rows must match every signed
	 * checkpoint.
	 */
	r = store_audit_walk(c, tenant_id, &st);
	while (r == DB_ROW) {
		n++;
		seq = db_col_int64(st, 0);
		e = audit_row_json(st, 1);
		bad = seq != expect || e == NULL ||
		    sn_audit_check(e, prev, prev) != 0;
		if (!bad) {
			free(raw);
			raw = NULL;
			stored = db_col_blob(st, 14, &slen);
			bad = sn_hex_decode(prev, strlen(prev), &raw,
			    &rawlen) != 0 || rawlen != SN_MERKLE_HASH_LEN;
			if (!bad) {
				sn_merkle_leaf_hash(raw, leaf);
				bad = stored == NULL ||
				    slen != SN_MERKLE_HASH_LEN ||
				    memcmp(stored, leaf, slen) != 0 ||
				    sn_merkle_range_append(&rg, leaf) != 0;
			}
		}
		if (bad) {
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
		while (cpsize != 0 && cpsize <= rg.size) {
			sn_merkle_range_root(&rg, root);
			if (cpsize < rg.size ||
			    memcmp(root, cproot, sizeof(root)) != 0) {
				*bad_checkpoint = (int64_t)cpsize;
				break;
			}
			if ((r = next_checkpoint(&st2, &r2, &cpsize,
			    cproot)) != 0)
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
	/* a checkpoint beyond the events: the chain lost its tail */
	if (*bad_checkpoint == 0 && cpsize != 0)
		*bad_checkpoint = (int64_t)cpsize;
	r = *bad_checkpoint != 0 ? SN_ERR_CONFLICT : 0;
 out:
	json_decref(e);
	free(raw);
	db_finalize(st);
	db_finalize(st2);
	return r;
}
