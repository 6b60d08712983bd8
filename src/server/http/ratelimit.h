/*
 * ratelimit.h - counts failed authentications per client address and tells
 * the HTTP layer when an address must wait (429 with Retry-After).
 *
 * Guessing a 256-bit API key is hopeless anyway; what this stops is one client
 * flooding the service (and its audit trail) with bad credentials or bad
 * service-account assertions. Fixed windows per address in a bounded table:
 * memory does not grow with the number of addresses, and when the table is
 * full the entry with the oldest window is reused.
 *
 * Thread-safe. Addresses are compared as the strings the transport gives.
 */
#ifndef SIGNET_RATELIMIT_H
#define SIGNET_RATELIMIT_H

#include <stdint.h>

struct ratelimit;

/*
 * limit failures per window_secs per address; limit 0 disables (all calls
 * then say "not blocked"). Returns 0 or SN_ERR_NOMEM / SN_ERR_INVALID.
 */
int ratelimit_new(int limit, int window_secs, struct ratelimit **out);
void ratelimit_free(struct ratelimit *rl);		/* NULL ok */

/* 0 if addr may go on, else the seconds until it may (for Retry-After). */
int ratelimit_blocked(struct ratelimit *rl, const char *addr, int64_t now);
/* Counts one failure of addr at now. */
void ratelimit_failure(struct ratelimit *rl, const char *addr, int64_t now);

#endif
