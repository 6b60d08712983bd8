/*
 * sign_commit.h - the signing commit: the one seam between a signature
 * made by the HSM and the signature leaving signetd.
 *
 * audit_sign_commit() decides the request again inside a write
 * transaction (the caller's credential, the key's state and version, the
 * signer link: ONE statement, store_sign_check) and commits its "key.sign"
 * event; only when it returns 0 may the signatures be released. The moment
 * that commit returns is the decision point (docs/ARCHITECTURE.md): a
 * change whose own event committed before it wins; one committed after it
 * does not take back a signature already decided.
 *
 * Group commit: concurrent calls for the same tenant queue; one of them
 * (the leader) takes one connection, BEGIN, db_chain_lock, and for each
 * queued request in turn: SAVEPOINT, re-check, append its event (or, when
 * the re-check refuses, its refusal event instead), RELEASE; then ONE
 * COMMIT (one fsync) for the group, and wakes every other caller with its
 * own result. Chain order is queue order. If the commit fails every
 * request of the group fails (no signature leaves, nothing was recorded).
 * The chain tail is carried in memory within a group, never across
 * transactions (other processes may share the database).
 */
#ifndef SIGNET_SIGN_COMMIT_H
#define SIGNET_SIGN_COMMIT_H

#include <stdint.h>

#include <jansson.h>

#include "util.h"

struct db;
struct db_conn;
struct sn_request;

#define AUDIT_SIGN_GROUP_MAX	64	/* requests per transaction at most */

struct audit_sign {
	/* in (borrowed; valid until the call returns) */
	struct sn_request *req;		/* actor, credential, source address */
	const char *key_id;
	const char *key_label;		/* "PROJECT/KEY" for messages */
	int64_t version;		/* the key version that signed */
	const char *hsm_key_id;		/* and its HSM key */
	json_t *details;		/* the request, as the key.sign event and
					 * a refusal's event record it */
	json_t *released;		/* members only the "ok" event adds (the
					 * signatures' hashes); may be NULL */
	int (*status_for)(int err);	/* HTTP status of an SN_ERR_* (the
					 * refusal event's "status") */
	/*
	 * The caller's own decision (the key's policy: quota counted,
	 * approval claimed), run after the re-check allowed, inside the
	 * request's savepoint under the chain lock: 0, or an SN_ERR_* with
	 * message (and details) set, after which what it wrote is rolled
	 * back and the refusal recorded. May be NULL. Runs on the group
	 * leader's thread while the caller waits.
	 */
	int (*decide)(struct db_conn *c, struct audit_sign *s);
	void *decide_arg;
	/* out */
	int err;			/* 0: the event committed */
	char message[256];		/* what failed, when err != 0 */
	int refusal_recorded;		/* err != 0 and its event committed */
	int64_t seq;			/* the event's seq, when err == 0 */
	json_t *event;			/* the committed event with "hash"
					 * (new reference; may be NULL) */
	/* the queue's own */
	struct audit_sign *next;	/* the queue */
	struct audit_sign *lnext;	/* the leaders */
	struct db *db;
	int taken, done;
};

/*
 * Re-checks and commits s (see above), blocking until its group has
 * committed. Returns s->err: 0, SN_ERR_UNAUTHENTICATED, SN_ERR_NOT_FOUND,
 * SN_ERR_FORBIDDEN, SN_ERR_CONFLICT (key not active, or rotated while
 * signing), SN_ERR_UNAVAILABLE / SN_ERR_DB (nothing committed for it
 * unless s->refusal_recorded). The caller frees s->event.
 */
int audit_sign_commit(struct db *db, struct audit_sign *s) SN_WUR;

#endif
