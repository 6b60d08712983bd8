/*
 * metrics.h - the latency histograms of GET /metrics (Prometheus text
 * format, docs/OPERATIONS.md "Monitoring").
 *
 * One registry per process: every observation is one call from the place
 * that measured it, and the registry renders itself for the /metrics
 * handler. Buckets are fixed (METRICS_BUCKETS_S, in seconds); counters are
 * updated with relaxed atomics, and the request series (route x method x
 * status) are found in a fixed table under a mutex held for a few
 * instructions. Label values come only from static strings the server
 * owns (route patterns, key algorithm names), never from a request, so a
 * client cannot make the table grow: requests that match no route count
 * as route "unmatched", and series past the table's size as route
 * "overflow".
 *
 * Nothing here allocates after start or can fail an observation.
 */
#ifndef SIGNET_METRICS_H
#define SIGNET_METRICS_H

#include <stdint.h>
#include <stdio.h>

/* CLOCK_MONOTONIC in nanoseconds: the clock of every observation. */
int64_t metrics_now_ns(void);

/*
 * One HTTP request: route is the matched pattern ("/v1/keys/{id}/sign") and
 * method its method, both static strings of the route table (NULL, NULL
 * when no route matched); status the HTTP status sent.
 */
void metrics_observe_request(const char *route, const char *method,
    int status, int64_t ns);

/* The HSM work of one signing request, by the key's algorithm name
 * ("ecdsa-p256"; anything unknown counts as "other"). */
void metrics_observe_sign(const char *algorithm, int64_t ns);

/* The commit of one signing transaction (its audit event made durable). */
void metrics_observe_audit_commit(int64_t ns);

/* Writes the histogram families in Prometheus text format 0.0.4. */
void metrics_render(FILE *f);

/* Forgets every observation (unit tests). */
void metrics_reset(void);

#endif
