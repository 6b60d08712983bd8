/*
 * tlog_checkpoint.h - signed checkpoints of each tenant's transparency log
 * (docs/AUDIT.md): the tenant's Ed25519 log key, generated in the HSM
 * through the keeper, signs C2SP tlog-checkpoint notes over the tree kept
 * by audit/tlog.c. Here, above audit/, because it needs the keeper. These
 * functions hold no database connection while the HSM works.
 *
 * All return 0 or a negative SN_ERR_*.
 */
#ifndef SIGNET_TLOG_CHECKPOINT_H
#define SIGNET_TLOG_CHECKPOINT_H

#include <stdint.h>

#include "note.h"
#include "tlog.h"

struct sn_server;

struct tlog_key {
	char origin[SN_NOTE_NAME_MAX + 1];
	uint8_t pub[SN_ED25519_PUB_LEN];
	uint8_t hsm_id[16];
};

/* The tenant's log key, generated in the HSM on first use. */
int tlog_log_key(struct sn_server *srv, const char *tenant,
    struct tlog_key *key);

/*
 * Makes sure the newest checkpoint covers the whole tree: if the tree grew
 * since the last one (and force, or the configured interval or event count
 * is reached), signs a new one. *made (may be NULL) is 1 if it did.
 * SN_ERR_NOT_FOUND if the tree is empty.
 */
int tlog_checkpoint_update(struct sn_server *srv, const char *tenant,
    int force, int *made);

/*
 * The checkpointer thread of `signetd serve`: once a second, for every
 * tenant, catches the tree up and signs a checkpoint when due
 * (audit_checkpoint_interval / audit_checkpoint_events).
 */
int tlog_checkpointer_start(struct sn_server *srv);
void tlog_checkpointer_stop(void);

#endif
