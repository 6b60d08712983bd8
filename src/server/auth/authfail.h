/*
 * authfail.h - failed authentications as aggregated audit events
 * (authfail.c): counted in memory, written once per interval per (chain,
 * source address) in one transaction, never one fsync per 401.
 */
#ifndef SIGNET_AUTH_AUTHFAIL_H
#define SIGNET_AUTH_AUTHFAIL_H

#include <stdint.h>

struct authfail;
struct db;

/*
 * with_thread: flush every interval_secs from a thread of its own (signetd
 * serve); 0 for tests, which call authfail_flush. 0 or SN_ERR_*.
 */
int authfail_new(struct db *db, int interval_secs, int with_thread,
    struct authfail **out);
/*
 * Counts one failure from ip with credential_id ("" when malformed) whose
 * id belongs to tenant_id ("" when no tenant has it: the system chain).
 * Never blocks on the database. af may be NULL (nothing recorded).
 */
void authfail_record(struct authfail *af, const char *tenant_id,
    const char *ip, const char *credential_id, int64_t now);
/* Writes what was counted since the last flush. 0 or SN_ERR_*. */
int authfail_flush(struct authfail *af);
/* Stops the thread, flushes a last time, frees. Accepts NULL. */
void authfail_free(struct authfail *af);

#endif
