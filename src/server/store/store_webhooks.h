/*
 * store_webhooks.h - webhooks per tenant and their delivery queue
 * (docs/POLICIES.md, "Webhooks"). The queue lives here so that it
 * survives restarts and is shared by every instance on one database:
 * store_delivery_claim is a guarded UPDATE (one instance wins a row), and
 * a claim lapses after its lease so a crashed instance's work is retried.
 *
 * The secret is kept as given (the HMAC needs it); it is returned only by
 * store_webhook_secret, for the sender. 0 or a negative SN_ERR_*.
 */
#ifndef SIGNET_STORE_WEBHOOKS_H
#define SIGNET_STORE_WEBHOOKS_H

#include <stdint.h>

#include <jansson.h>

#include "store_resources.h"
#include "util.h"

struct db_conn;

int store_webhook_insert(struct db_conn *c, const char *tenant_id,
    const char *id, const char *url, const char *events,
    const char *secret, const char *created_by, int64_t now) SN_WUR;
/* {"id","url","events":[…],"created_by","created_at"} of the tenant's
 * webhooks (or of one: SN_ERR_NOT_FOUND). New reference in *out. */
int store_webhook_list(struct db_conn *c, const char *tenant_id,
    json_t **out) SN_WUR;
int store_webhook_get(struct db_conn *c, const char *tenant_id,
    const char *id, json_t **out) SN_WUR;
/* SN_ERR_NOT_FOUND. Its deliveries go with it. */
int store_webhook_delete(struct db_conn *c, const char *tenant_id,
    const char *id) SN_WUR;
/* One delivery per webhook of the tenant subscribed to event_type, all
 * with event_id and payload, due now (the caller's transaction). */
int store_webhook_enqueue(struct db_conn *c, const char *tenant_id,
    const char *event_id, const char *event_type, const char *payload,
    int64_t now) SN_WUR;
/* The deliveries of a webhook, newest first (at most limit), each with
 * its "attempts":[{"attempt","at","http_status","error","duration_ms"}]. */
int store_webhook_deliveries(struct db_conn *c, const char *tenant_id,
    const char *webhook_id, int64_t limit, json_t **out) SN_WUR;

/* A claimed delivery, for the sender. */
struct store_delivery {
	char id[STORE_ID_MAX];
	char tenant_id[STORE_ID_MAX];
	char webhook_id[STORE_ID_MAX];
	char event_id[STORE_ID_MAX];
	char event_type[64];
	char *payload;			/* owned */
	char *url;			/* owned */
	char *secret;			/* owned; wiped by _clear */
	int64_t attempts;		/* before this one */
};
void store_delivery_clear(struct store_delivery *d);
/* Up to max ids of deliveries due at now (pending, next_attempt_at <=
 * now, not claimed or the claim lapsed), oldest first. */
int store_delivery_due(struct db_conn *c, int64_t now, int64_t max,
    struct store_ids *out) SN_WUR;
/* Claims id for claimer until lease_until if it is still due and
 * unclaimed: 0 and *out filled, or SN_ERR_CONFLICT (another instance has
 * it). */
int store_delivery_claim(struct db_conn *c, const char *id,
    const char *claimer, int64_t now, int64_t lease_until,
    struct store_delivery *out) SN_WUR;
/* Records attempt number attempt (1-based) and the outcome: delivered,
 * or pending again at next_at, or failed (next_at 0 and !ok). Only while
 * claimer still holds it. */
int store_delivery_finish(struct db_conn *c, const char *id,
    const char *claimer, int64_t attempt, int64_t at, int http_status,
    const char *error, int64_t duration_ms, int ok, int64_t next_at)
    SN_WUR;

/* Approvals pending or approved past expires_at whose approval.expired
 * event is not queued yet: up to max of them ({"id","tenant_id","key_id",
 * "requester_id","state"}). */
int store_approvals_expired(struct db_conn *c, int64_t now, int64_t max,
    json_t **out) SN_WUR;
/* Marks the expiry notified: SN_ERR_CONFLICT if it was already. */
int store_approval_expiry_notified(struct db_conn *c, const char *id) SN_WUR;

#endif
