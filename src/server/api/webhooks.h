/*
 * webhooks.h - approval notifications to the tenant's HTTPS receivers
 * (api/webhooks.c, docs/POLICIES.md "Webhooks").
 */
#ifndef SIGNET_API_WEBHOOKS_H
#define SIGNET_API_WEBHOOKS_H

#include <jansson.h>

#include "util.h"

struct db_conn;
struct sn_server;

/*
 * Queues event_type ("approval.requested", "approval.decided",
 * "approval.expired") with data (borrowed) for every webhook of the
 * tenant subscribed to it, inside the caller's open transaction: it is
 * sent only if that transaction commits. 0 or SN_ERR_*. Call
 * webhooks_kick after the commit so the sender looks at once.
 */
int webhooks_notify(struct db_conn *c, const char *tenant_id,
    const char *event_type, json_t *data) SN_WUR;
void webhooks_kick(void);

/* The sender thread of this instance (one; idempotent). 0 or SN_ERR_*. */
int webhooks_start(struct sn_server *srv) SN_WUR;
void webhooks_stop(void);

#endif
