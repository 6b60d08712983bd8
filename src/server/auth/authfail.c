/*
 * authfail.c - failed authentications counted in memory and written as
 * aggregated "auth.failure" events (authfail.h).
 *
 * Writing one audit event per 401 made every bad credential cost a
 * BEGIN IMMEDIATE and an fsync on the connection pool that signing needs:
 * a flood of bad credentials became a flood of disk writes. Here a failure
 * is a counter increment under a mutex; every interval (and at shutdown)
 * one transaction writes one event per (chain, source address) with the
 * count, the interval and the credential ids tried. The chain is the tenant
 * the credential id belongs to, or the system chain ("") for ids nobody
 * has (malformed, unknown), which the operator reads (docs/OPERATIONS.md).
 *
 * Memory is bounded: AF_MAX_ENTRIES (chain, address) pairs and
 * AF_MAX_IDS credential ids per pair per interval; what does not fit is
 * counted ("other_sources", "other_credential_ids"), never dropped
 * silently. Credential ids are not secrets (they are listed by the API);
 * the secret part of a credential never reaches this file.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "audit.h"
#include "authfail.h"
#include "db.h"
#include "err.h"
#include "util.h"

#define AF_MAX_ENTRIES	1024
#define AF_MAX_IDS	8
#define AF_ID_MAX	32
#define AF_IP_MAX	48

struct af_entry {
	char tenant[64];
	char ip[AF_IP_MAX];
	uint64_t count;
	int64_t first, last;
	char ids[AF_MAX_IDS][AF_ID_MAX];
	int nids;
	uint64_t more_ids;		/* failures with ids beyond AF_MAX_IDS */
};

struct authfail {
	pthread_mutex_t mu;		/* the table */
	pthread_mutex_t flush_mu;	/* one flush at a time */
	pthread_cond_t cv;
	pthread_t thr;
	int running, stop;
	struct db *db;
	int interval;
	struct af_entry *v;		/* AF_MAX_ENTRIES */
	size_t n;
	uint64_t overflow;		/* failures that found no entry */
	int64_t window_start;
};

static void *
flusher(void *arg)
{
	struct authfail *af = arg;
	struct timespec until;

	pthread_mutex_lock(&af->mu);
	while (!af->stop) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += af->interval;
		while (!af->stop && pthread_cond_timedwait(&af->cv, &af->mu,
		    &until) == 0)
			;
		if (af->stop)
			break;
		pthread_mutex_unlock(&af->mu);
		(void)authfail_flush(af);
		pthread_mutex_lock(&af->mu);
	}
	pthread_mutex_unlock(&af->mu);
	return NULL;
}

int
authfail_new(struct db *db, int interval_secs, int with_thread,
    struct authfail **out)
{
	struct authfail *af;

	*out = NULL;
	if (db == NULL || interval_secs <= 0)
		return SN_ERR_INVALID;
	if ((af = calloc(1, sizeof(*af))) == NULL ||
	    (af->v = calloc(AF_MAX_ENTRIES, sizeof(*af->v))) == NULL) {
		free(af);
		return SN_ERR_NOMEM;
	}
	pthread_mutex_init(&af->mu, NULL);
	pthread_mutex_init(&af->flush_mu, NULL);
	pthread_cond_init(&af->cv, NULL);
	af->db = db;
	af->interval = interval_secs;
	if (with_thread) {
		if (pthread_create(&af->thr, NULL, flusher, af) != 0) {
			authfail_free(af);
			return SN_ERR_NOMEM;
		}
		af->running = 1;
	}
	*out = af;
	return 0;
}

void
authfail_record(struct authfail *af, const char *tenant_id, const char *ip,
    const char *credential_id, int64_t now)
{
	struct af_entry *e = NULL;
	size_t i;
	int k;

	if (af == NULL)
		return;
	if (tenant_id == NULL || strlen(tenant_id) >= sizeof(e->tenant))
		tenant_id = "";
	if (ip == NULL || strlen(ip) >= sizeof(e->ip))
		ip = "-";
	if (credential_id == NULL || strlen(credential_id) >= AF_ID_MAX)
		credential_id = "";
	pthread_mutex_lock(&af->mu);
	if (af->n == 0 && af->overflow == 0)
		af->window_start = now;
	for (i = 0; i < af->n; i++)
		if (strcmp(af->v[i].ip, ip) == 0 &&
		    strcmp(af->v[i].tenant, tenant_id) == 0) {
			e = &af->v[i];
			break;
		}
	if (e == NULL && af->n < AF_MAX_ENTRIES) {
		e = &af->v[af->n++];
		memset(e, 0, sizeof(*e));
		snprintf(e->tenant, sizeof(e->tenant), "%s", tenant_id);
		snprintf(e->ip, sizeof(e->ip), "%s", ip);
		e->first = now;
	}
	if (e == NULL) {
		af->overflow++;
		goto out;
	}
	e->count++;
	e->last = now;
	if (*credential_id == '\0')
		goto out;		/* malformed: nothing to name */
	for (k = 0; k < e->nids; k++)
		if (strcmp(e->ids[k], credential_id) == 0)
			goto out;
	if (e->nids < AF_MAX_IDS)
		snprintf(e->ids[e->nids++], AF_ID_MAX, "%s", credential_id);
	else
		e->more_ids++;
 out:
	pthread_mutex_unlock(&af->mu);
}

/* One aggregated event into e's chain, inside the open transaction. */
static int
write_entry(struct db_conn *c, const struct af_entry *e, int64_t until,
    uint64_t other_sources)
{
	struct audit_event ev;
	char t1[32], t2[32];
	json_t *d = NULL, *ids = NULL;
	int k, r;

	sn_format_time(e->first, t1);
	sn_format_time(until, t2);
	if ((ids = json_array()) == NULL)
		return SN_ERR_NOMEM;
	for (k = 0; k < e->nids; k++)
		json_array_append_new(ids, json_string(e->ids[k]));
	d = json_pack("{s:I, s:s, s:s, s:o, s:I}", "count",
	    (json_int_t)e->count, "from", t1, "until", t2, "credential_ids",
	    ids, "other_credential_ids", (json_int_t)e->more_ids);
	if (d == NULL)
		return SN_ERR_NOMEM;
	if (other_sources > 0)
		json_object_set_new(d, "other_sources",
		    json_integer((json_int_t)other_sources));
	memset(&ev, 0, sizeof(ev));
	ev.tenant_id = e->tenant;
	ev.actor_type = "anonymous";
	ev.actor_id = "";
	ev.action = "auth.failure";
	ev.object_type = "";
	ev.object_id = "";
	ev.result = "denied";
	ev.details = d;
	ev.source_ip = e->ip;
	r = audit_append(c, &ev);
	json_decref(d);
	return r;
}

int
authfail_flush(struct authfail *af)
{
	struct af_entry *v = NULL, ovf;
	struct db_conn *c = NULL;
	size_t n, i;
	uint64_t overflow;
	int64_t now = sn_now();
	int r = 0;

	if (af == NULL)
		return 0;
	pthread_mutex_lock(&af->flush_mu);
	/* Take the table; new failures go into a fresh one meanwhile. */
	if ((v = calloc(AF_MAX_ENTRIES, sizeof(*v))) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	pthread_mutex_lock(&af->mu);
	n = af->n;
	overflow = af->overflow;
	memset(&ovf, 0, sizeof(ovf));
	ovf.first = af->window_start;
	{
		struct af_entry *t = af->v;

		af->v = v;
		v = t;
	}
	af->n = 0;
	af->overflow = 0;
	pthread_mutex_unlock(&af->mu);
	if (n == 0 && overflow == 0)
		goto out;
	if ((r = db_acquire(af->db, &c)) != 0 || (r = db_begin(c)) != 0)
		goto fail;
	for (i = 0; i < n; i++)
		if ((r = write_entry(c, &v[i], now, 0)) != 0)
			goto fail;
	if (overflow > 0) {
		/* failures from more sources than the table holds */
		snprintf(ovf.ip, sizeof(ovf.ip), "-");
		ovf.count = overflow;
		if ((r = write_entry(c, &ovf, now, overflow)) != 0)
			goto fail;
	}
	if ((r = db_commit(c)) != 0)
		goto fail;
	for (i = 0; i < n; i++)
		if (v[i].tenant[0] == '\0')
			fprintf(stderr, "signetd: auth.failure: %llu failed "
			    "authentication(s) from %s with unknown credentials "
			    "(system audit chain)\n",
			    (unsigned long long)v[i].count, v[i].ip);
	goto out;
 fail:
	if (c != NULL)
		db_rollback(c);
	fprintf(stderr, "signetd: cannot record %zu aggregated auth.failure "
	    "event(s): %s\n", n + (overflow > 0), sn_strerror(r));
 out:
	db_release(c);
	free(v);
	pthread_mutex_unlock(&af->flush_mu);
	return r;
}

void
authfail_free(struct authfail *af)
{
	if (af == NULL)
		return;
	pthread_mutex_lock(&af->mu);
	af->stop = 1;
	pthread_cond_broadcast(&af->cv);
	pthread_mutex_unlock(&af->mu);
	if (af->running)
		pthread_join(af->thr, NULL);
	(void)authfail_flush(af);	/* nothing counted is lost at shutdown */
	pthread_cond_destroy(&af->cv);
	pthread_mutex_destroy(&af->flush_mu);
	pthread_mutex_destroy(&af->mu);
	free(af->v);
	free(af);
}
