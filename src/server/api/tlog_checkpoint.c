/*
 * tlog_checkpoint.c (api) - signed checkpoints of each tenant's transparency log
 * and the thread that makes them (tlog.h, docs/AUDIT.md).
 *
 * A checkpoint is a C2SP tlog-checkpoint body ("<origin>\n<size>\n<base64
 * root>\n") signed as a C2SP note with the tenant's Ed25519 log key, which
 * is generated in the HSM on first use and used through the keeper's SIGN
 * with SN_MECH_EDDSA. No database connection is held while the keeper
 * works (a stuck HSM must not starve the pool), so the tree size and root
 * are read first and the signed note is stored afterwards; the
 * (tenant_id, size) key makes a second signer of the same size harmless.
 * Checkpoints are not audit events (that would grow the tree they sign).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "db.h"
#include "encode.h"
#include "err.h"
#include "keeper.h"
#include "note.h"
#include "server.h"
#include "store_tlog.h"
#include "tlog.h"
#include "tlog_checkpoint.h"
#include "util.h"

/* One signer at a time in this process: no two HSM signatures of the same
 * tree size, and one key generation per tenant. */
static pthread_mutex_t sign_lock = PTHREAD_MUTEX_INITIALIZER;

static int
hex16(const char *hex, uint8_t out[16])
{
	uint8_t *raw = NULL;
	size_t len = 0;
	int r = SN_ERR_INVALID;

	if (hex != NULL && sn_hex_decode(hex, strlen(hex), &raw, &len) == 0 &&
	    len == 16) {
		memcpy(out, raw, 16);
		r = 0;
	}
	free(raw);
	return r;
}

static int
key_read(struct db_conn *c, const char *tenant, struct tlog_key *key)
{
	struct store_log_key k;
	int r;

	memset(key, 0, sizeof(*key));
	if ((r = store_log_key_get(c, tenant, &k)) != 0)
		return r;
	if (!sn_note_name_ok(k.origin) || strlen(k.origin) >=
	    sizeof(key->origin) || hex16(k.hsm_key_id, key->hsm_id) != 0)
		return SN_ERR_DB;
	memcpy(key->origin, k.origin, strlen(k.origin) + 1);
	memcpy(key->pub, k.pub, SN_ED25519_PUB_LEN);
	return 0;
}

/* Raw Ed25519 public key out of a DER SPKI. */
static int
spki_raw(const uint8_t *der, size_t len, uint8_t pub[SN_ED25519_PUB_LEN])
{
	const uint8_t *p = der;
	EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)len);
	size_t n = SN_ED25519_PUB_LEN;
	int r = SN_ERR_HSM;

	if (pk != NULL && p == der + len &&
	    EVP_PKEY_get_base_id(pk) == EVP_PKEY_ED25519 &&
	    EVP_PKEY_get_raw_public_key(pk, pub, &n) == 1 &&
	    n == SN_ED25519_PUB_LEN)
		r = 0;
	EVP_PKEY_free(pk);
	return r;
}

/* With sign_lock held. */
static int
key_get_locked(struct sn_server *srv, const char *tenant,
    struct tlog_key *key)
{
	struct db_conn *c = NULL;
	uint8_t id[16], *spki = NULL;
	size_t spkilen = 0;
	char label[128], *hex = NULL, origin[SN_NOTE_NAME_MAX + 1];
	int r, generated = 0, keep = 0;

	if ((r = db_acquire(srv->db, &c)) != 0)
		return r;
	r = key_read(c, tenant, key);
	db_release(c);
	c = NULL;
	if (r != SN_ERR_NOT_FOUND)
		return r;
	if (srv->keeper == NULL)
		return SN_ERR_UNAVAILABLE;
	snprintf(origin, sizeof(origin), "%s/%s",
	    srv->cfg.log_origin != NULL ? srv->cfg.log_origin : "signet",
	    tenant);
	if (!sn_note_name_ok(origin))
		return SN_ERR_INVALID;
	snprintf(label, sizeof(label), "signet audit log %s", tenant);
	if ((r = keeper_generate(srv->keeper, SN_ALG_ED25519, label, id, &spki,
	    &spkilen)) != 0)
		return r;
	generated = 1;
	if ((r = spki_raw(spki, spkilen, key->pub)) != 0 ||
	    (r = sn_hex_encode(id, sizeof(id), &hex)) != 0 ||
	    (r = db_acquire(srv->db, &c)) != 0)
		goto out;
	/* Not made: another process stored its key first; use that. */
	if ((r = store_log_key_insert(c, tenant, origin, hex, key->pub,
	    sn_now(), &keep)) != 0)
		goto out;
	r = key_read(c, tenant, key);
 out:
	if (generated && !keep)
		/* nobody can use it: an orphan left on a failure is harmless */
		if (keeper_destroy(srv->keeper, id) != 0) {
			/* r already says how this call went */
		}
	db_release(c);
	free(spki);
	free(hex);
	return r;
}

int
tlog_log_key(struct sn_server *srv, const char *tenant, struct tlog_key *key)
{
	int r;

	pthread_mutex_lock(&sign_lock);
	r = key_get_locked(srv, tenant, key);
	pthread_mutex_unlock(&sign_lock);
	return r;
}

/* With sign_lock held. */
static int
update_locked(struct sn_server *srv, const char *tenant, int force,
    int *made)
{
	struct db_conn *c = NULL;
	struct tlog_key key;
	struct sn_checkpoint cp;
	uint8_t root[SN_MERKLE_HASH_LEN], *sig = NULL;
	uint64_t size = 0, cpsize = 0;
	int64_t cptime = 0;
	size_t siglen = 0;
	char *body = NULL, *note = NULL, *vk = NULL;
	int r, stored = 0;

	if ((r = db_acquire(srv->db, &c)) != 0)
		return r;
	if ((r = tlog_size(c, tenant, &size)) != 0)
		goto out;
	if (size == 0) {
		r = SN_ERR_NOT_FOUND;
		goto out;
	}
	r = tlog_checkpoint_latest(c, tenant, NULL, &cpsize, NULL, &cptime);
	if (r != 0 && r != SN_ERR_NOT_FOUND)
		goto out;
	if (cpsize >= size) {
		r = 0;		/* up to date */
		goto out;
	}
	if (!force && cpsize > 0 &&
	    size - cpsize < (uint64_t)srv->cfg.checkpoint_events &&
	    sn_now() - cptime < srv->cfg.checkpoint_interval) {
		r = 0;		/* not due yet */
		goto out;
	}
	if ((r = tlog_root(c, tenant, size, root)) != 0)
		goto out;
	db_release(c);
	c = NULL;

	if (srv->keeper == NULL) {
		r = SN_ERR_UNAVAILABLE;
		goto out;
	}
	if ((r = key_get_locked(srv, tenant, &key)) != 0 ||
	    (r = sn_checkpoint_body(key.origin, size, root, &body)) != 0)
		goto out;
	/* The HSM signs with no database connection held. */
	if ((r = keeper_sign(srv->keeper, key.hsm_id, SN_MECH_EDDSA,
	    SN_HASH_NONE, (const uint8_t *)body, strlen(body), &sig,
	    &siglen)) != 0)
		goto out;
	if (siglen != SN_ED25519_SIG_LEN) {
		r = SN_ERR_HSM;
		goto out;
	}
	if ((r = sn_note_assemble(body, key.origin, key.pub, sig, &note)) != 0 ||
	    (r = sn_note_verifier_key(key.origin, key.pub, &vk)) != 0)
		goto out;
	/* Never publish a checkpoint that does not verify with the key. */
	if ((r = sn_checkpoint_verify(note, strlen(note), vk, &cp)) != 0) {
		r = SN_ERR_HSM;
		goto out;
	}
	if ((r = db_acquire(srv->db, &c)) != 0)
		goto out;
	r = store_checkpoint_insert(c, tenant, size, root, note, sn_now(),
	    &stored);
	if (r == 0 && made != NULL)
		*made = stored;
 out:
	db_release(c);
	free(body);
	free(note);
	free(vk);
	free(sig);
	return r;
}

int
tlog_checkpoint_update(struct sn_server *srv, const char *tenant, int force,
    int *made)
{
	int r;

	if (made != NULL)
		*made = 0;
	pthread_mutex_lock(&sign_lock);
	r = update_locked(srv, tenant, force, made);
	pthread_mutex_unlock(&sign_lock);
	return r;
}

/* ---- the checkpointer thread ---- */

#define CATCH_UP_CHUNK	10000	/* leaves per write transaction */
#define MAX_TENANTS	4096	/* per pass; the rest on later passes */

static pthread_mutex_t cp_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cp_cv = PTHREAD_COND_INITIALIZER;
static pthread_t cp_thread;
static int cp_running, cp_stop;

/* Leaves of events written before the log existed, a chunk at a time. */
static void
catch_up(struct sn_server *srv, const char *tenant)
{
	struct db_conn *c = NULL;
	uint64_t added;

	do {
		added = 0;
		if (db_acquire(srv->db, &c) != 0)
			return;
		/* The write lock only when there is something to add; a
		 * failed commit is retried on the next pass (db_release
		 * rolls back). */
		if (tlog_behind(c, tenant) > 0 && db_begin(c) == 0 &&
		    tlog_catch_up(c, tenant, CATCH_UP_CHUNK, &added) == 0 &&
		    db_commit(c) != 0)
			db_rollback(c);
		db_release(c);
		c = NULL;
	} while (added == CATCH_UP_CHUNK);
}

static void
pass(struct sn_server *srv)
{
	struct db_conn *c = NULL;
	char (*ids)[64] = NULL;
	size_t n = 0;
	int r;

	if ((ids = calloc(MAX_TENANTS, sizeof(*ids))) == NULL)
		return;
	if (db_acquire(srv->db, &c) != 0)
		goto out;
	r = store_tenant_ids(c, MAX_TENANTS, ids, &n);
	db_release(c);
	if (r != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		catch_up(srv, ids[i]);
		(void)tlog_checkpoint_update(srv, ids[i], 0, NULL);
	}
 out:
	free(ids);
}

static void *
checkpointer(void *arg)
{
	struct sn_server *srv = arg;
	struct timespec ts;

	pthread_mutex_lock(&cp_mu);
	while (!cp_stop) {
		pthread_mutex_unlock(&cp_mu);
		pass(srv);
		pthread_mutex_lock(&cp_mu);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		while (!cp_stop &&
		    pthread_cond_timedwait(&cp_cv, &cp_mu, &ts) == 0)
			;
	}
	pthread_mutex_unlock(&cp_mu);
	return NULL;
}

int
tlog_checkpointer_start(struct sn_server *srv)
{
	int r = 0;

	pthread_mutex_lock(&cp_mu);
	if (!cp_running) {
		cp_stop = 0;
		if (pthread_create(&cp_thread, NULL, checkpointer, srv) != 0)
			r = SN_ERR_NOMEM;
		else
			cp_running = 1;
	}
	pthread_mutex_unlock(&cp_mu);
	return r;
}

void
tlog_checkpointer_stop(void)
{
	pthread_mutex_lock(&cp_mu);
	if (!cp_running) {
		pthread_mutex_unlock(&cp_mu);
		return;
	}
	cp_stop = 1;
	pthread_cond_broadcast(&cp_cv);
	pthread_mutex_unlock(&cp_mu);
	pthread_join(cp_thread, NULL);
	pthread_mutex_lock(&cp_mu);
	cp_running = 0;
	pthread_mutex_unlock(&cp_mu);
}
