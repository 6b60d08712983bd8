/*
 * audit_int.h - audit/'s own helpers, shared by audit.c and sign_commit.c;
 * not for callers outside audit/.
 */
#ifndef SIGNET_AUDIT_INT_H
#define SIGNET_AUDIT_INT_H

#include <stdint.h>

#include <jansson.h>

#include "util.h"

struct audit_event;
struct db_conn;
struct sn_request;

/* The tail of one tenant's chain as this transaction left it. */
struct audit_tail {
	int known;		/* 0: read it from the database */
	int64_t seq;
	char hash[65];
};

/*
 * audit_append with the chain tail carried by the caller: *tail (known or
 * not) is the tail before, and is the new event after a success (unchanged
 * on failure). Only within ONE transaction: another process may append
 * between two. With event_out, also the committed event as GET /v1/audit
 * shows it (with "hash"; a new reference). 0 or SN_ERR_*.
 */
int audit_append_at(struct db_conn *c, const struct audit_event *ev,
    struct audit_tail *tail, json_t **event_out) SN_WUR;

/* ev for req's actor and source address (all pointers borrowed). */
void audit_event_from_req(struct audit_event *ev, struct sn_request *req,
    const char *action, const char *object_type, const char *object_id,
    const char *result, json_t *details);

#endif
