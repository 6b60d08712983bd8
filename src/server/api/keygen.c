/*
 * keygen.c - the two rules around generating a key pair in the HSM:
 *
 *   1. Bounded: an RSA-4096 generation keeps a keeper worker busy for
 *      seconds. At most KEYGEN_PER_TENANT run at once per tenant and at
 *      most keeper_workers - 1 in all, so that one tenant flooding key
 *      creation can neither take every worker from another tenant's
 *      signatures nor queue ahead of them without end. A caller waits up
 *      to KEYGEN_WAIT_SECS for a slot (holding no database connection),
 *      then gets 503 with Retry-After.
 *   2. Reconciled: the CKA_ID of a new key is chosen here and committed to
 *      hsm_pending before the keeper generates it, and the row is deleted
 *      in the transaction that inserts the key's own row. A signetd killed
 *      in between leaves a pending row; keygen_sweep at the next start
 *      destroys those HSM objects, so the token never keeps a private key
 *      that no row names.
 *
 * This file never sees key material, only CKA_IDs and labels.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "db.h"
#include "encode.h"
#include "err.h"
#include "keygen.h"
#include "hsm_signer.h"
#include "render.h"
#include "server.h"
#include "store.h"
#include "util.h"

#define KEYGEN_PER_TENANT	1
#define KEYGEN_WAIT_SECS	60
#define KEYGEN_TENANTS_MAX	256	/* tenants generating at the same time */

static pthread_mutex_t kg_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t kg_cv = PTHREAD_COND_INITIALIZER;
static int kg_total;
static struct kg_tenant {
	char id[64];
	int n;
} kg_tenants[KEYGEN_TENANTS_MAX];

static int
kg_global_max(const struct sn_server *srv)
{
	int w = srv->cfg.keeper_workers > 0 ? srv->cfg.keeper_workers : 4;

	return w > 1 ? w - 1 : 1;
}

/* The slot of tenant_id, or a free one (n == 0) claimed for it; NULL when
 * every slot is taken by other tenants. Called with kg_mu held. */
static struct kg_tenant *
kg_slot(const char *tenant_id)
{
	struct kg_tenant *free_slot = NULL;
	size_t i;

	for (i = 0; i < KEYGEN_TENANTS_MAX; i++) {
		if (kg_tenants[i].n > 0 &&
		    strcmp(kg_tenants[i].id, tenant_id) == 0)
			return &kg_tenants[i];
		if (kg_tenants[i].n == 0 && free_slot == NULL)
			free_slot = &kg_tenants[i];
	}
	if (free_slot != NULL)
		snprintf(free_slot->id, sizeof(free_slot->id), "%s", tenant_id);
	return free_slot;
}

int
keygen_enter(const struct sn_server *srv, const char *tenant_id)
{
	struct kg_tenant *t;
	struct timespec until;
	int r = 0;

	if (tenant_id == NULL || strlen(tenant_id) >= sizeof(t->id))
		return SN_ERR_INVALID;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += KEYGEN_WAIT_SECS;
	pthread_mutex_lock(&kg_mu);
	for (;;) {
		t = kg_slot(tenant_id);
		if (t != NULL && t->n < KEYGEN_PER_TENANT &&
		    kg_total < kg_global_max(srv))
			break;
		if (pthread_cond_timedwait(&kg_cv, &kg_mu, &until) ==
		    ETIMEDOUT) {
			r = SN_ERR_UNAVAILABLE;
			goto out;
		}
	}
	t->n++;
	kg_total++;
 out:
	pthread_mutex_unlock(&kg_mu);
	return r;
}

void
keygen_leave(const char *tenant_id)
{
	size_t i;

	pthread_mutex_lock(&kg_mu);
	for (i = 0; i < KEYGEN_TENANTS_MAX; i++) {
		if (kg_tenants[i].n > 0 &&
		    strcmp(kg_tenants[i].id, tenant_id) == 0) {
			kg_tenants[i].n--;
			kg_total--;
			break;
		}
	}
	pthread_cond_broadcast(&kg_cv);
	pthread_mutex_unlock(&kg_mu);
}

int
keygen_pending_add(struct db_conn *c, const char *tenant_id,
    const char *label, const char *hsm_hex)
{
	return store_hsm_pending_add(c, tenant_id, label, hsm_hex);
}

int
keygen_pending_done(struct db_conn *c, const char *hsm_hex)
{
	/* Gone means a sweep (another instance starting) took the key: the
	 * creation must fail rather than name a destroyed HSM key. */
	return store_hsm_pending_take(c, hsm_hex, 0);
}

int
keygen_begin(struct sn_request *req, struct sn_response *resp,
    struct db_conn **c, enum sn_key_alg alg, struct store_key *nk,
    struct keygen_run *g, uint8_t **spki, size_t *spki_len)
{
	int r;

	*spki = NULL;
	*spki_len = 0;
	if (req->srv->keeper == NULL)
		return api_keeper_error(resp, SN_ERR_UNAVAILABLE,
		    "key generation");
	/* Rule 2: the CKA_ID is committed before the key exists. */
	if ((r = sn_random_bytes(g->id, sizeof(g->id))) != 0 ||
	    (r = sn_hex_encode(g->id, sizeof(g->id), &g->hex)) != 0 ||
	    (r = store_copy(nk->hsm_key_id, sizeof(nk->hsm_key_id),
	    g->hex)) != 0)
		return api_error(resp, SN_ERR_INTERNAL,
		    "could not make an HSM id");
	if ((*c == NULL && (r = api_conn(req, resp, c)) != 0) ||
	    (r = api_begin(*c, resp)) != 0)
		return r;
	if ((r = keygen_pending_add(*c, req->actor.tenant_id, nk->id,
	    g->hex)) != 0)
		return api_store_error(resp, r, "key");
	if ((r = api_commit(*c, resp)) != 0)
		return r;
	g->pending = 1;
	/*
	 * Rule 1: generation (seconds for RSA-4096) holds no pooled database
	 * connection and takes the tenant's slot, so a tenant flooding key
	 * creation starves neither the pool nor another tenant's signing.
	 */
	db_release(*c);
	*c = NULL;
	if ((r = keygen_enter(req->srv, req->actor.tenant_id)) != 0) {
		resp->retry_after = 5;
		return api_error(resp, SN_ERR_UNAVAILABLE, "too many key "
		    "generations in progress for this tenant; try again");
	}
	g->gate = 1;
	g->made = 1;	/* from here on the key may exist, even on an error */
	if ((r = keeper_generate_id(req->srv->keeper, alg, nk->id, g->id,
	    spki, spki_len)) != 0)
		return api_keeper_error(resp, r, "key generation");
	return 0;
}

int
keygen_sweep(struct sn_server *srv, int64_t before, int *destroyed)
{
	struct db_conn *c = NULL;
	struct store_ids ids = { NULL, 0 };
	uint8_t id[KEEPER_ID_LEN];
	size_t i;
	int r, r2 = 0;

	*destroyed = 0;
	if (srv->keeper == NULL)
		return SN_ERR_UNAVAILABLE;
	if ((r = db_acquire(srv->db, &c)) != 0)
		return r;
	if ((r = db_begin(c)) != 0 ||
	    (r = store_hsm_pending_stale(c, before, &ids)) != 0 ||
	    (r = db_commit(c)) != 0)
		goto out;
	for (i = 0; i < ids.n; i++) {
		if (hsm_signer_key_id(ids.v[i], id) != 0) {
			fprintf(stderr, "signetd: hsm_pending: bad id '%.40s' "
			    "dropped\n", ids.v[i]);
			if (db_begin(c) == 0 && (store_hsm_pending_take(c,
			    ids.v[i], before) != 0 || db_commit(c) != 0))
				db_rollback(c);
			continue;
		}
		/*
		 * The row first, committed, then the HSM object: a creation
		 * still running elsewhere that finishes now finds its row
		 * gone and fails, instead of naming a destroyed key.
		 */
		if ((r = db_begin(c)) != 0)
			goto out;
		if ((r2 = store_hsm_pending_take(c, ids.v[i], before)) != 0) {
			db_rollback(c);
			if (r2 == SN_ERR_NOT_FOUND)
				continue;	/* its creation completed */
			r = r2;
			goto out;
		}
		if ((r = db_commit(c)) != 0)
			goto out;
		if ((r2 = keeper_destroy(srv->keeper, id)) != 0 &&
		    r2 != SN_ERR_NOT_FOUND) {
			/* the row again: the next start tries again */
			fprintf(stderr, "signetd: cannot destroy the unfinished "
			    "HSM key %s: %s\n", ids.v[i], sn_strerror(r2));
			if (db_begin(c) == 0 && (store_hsm_pending_add(c, "",
			    "sweep", ids.v[i]) != 0 || db_commit(c) != 0))
				db_rollback(c);
			continue;
		}
		if (r2 == 0)
			(*destroyed)++;
	}
	r = 0;
 out:
	if (c != NULL)
		db_rollback(c);
	store_ids_free(&ids);
	db_release(c);
	return r;
}
