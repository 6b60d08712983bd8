/*
 * auditchain.h - the canonical form and hash of an audit event, shared by
 * signetd (which writes and verifies the chain) and the CLI (which
 * recomputes it from GET /v1/audit output in `signet audit verify`).
 *
 * canonical = json_dumps of exactly these members
 *     seq (integer), tenant_id, id, time (RFC 3339), actor_type, actor_id,
 *     action, object_type, object_id, result, details (object), source_ip,
 *     prev_hash
 * with JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII; any other member
 * (such as "hash") is ignored.
 * hash = lower-case hex SHA-256(canonical). The first event of a chain has
 * prev_hash = 64 x "0".
 */
#ifndef SIGNET_AUDITCHAIN_H
#define SIGNET_AUDITCHAIN_H

#include <jansson.h>

#define SN_AUDIT_HASH_LEN	64
#define SN_AUDIT_GENESIS \
	"0000000000000000000000000000000000000000000000000000000000000000"

/*
 * The canonical bytes of ev (malloc'd, NUL-terminated; caller frees).
 * Returns 0, SN_ERR_INVALID (a member missing or of the wrong type) or
 * SN_ERR_NOMEM.
 */
int sn_audit_canonical(json_t *ev, char **out);

/* hash of ev's canonical form into out (64 hex + NUL). 0 or SN_ERR_*. */
int sn_audit_hash(json_t *ev, char out[65]);

/*
 * sn_audit_hash, for a writer that has already dumped ev's "details" with
 * the canonical flags (JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII):
 * details_text is used instead of dumping it again. It must be exactly
 * that dump of ev's "details", or the hash is not the event's. NULL: the
 * same as sn_audit_hash.
 */
int sn_audit_hash_with(json_t *ev, const char *details_text, char out[65]);

/*
 * Checks one event of a chain read in order: its prev_hash must equal
 * expected_prev, its "hash" member must equal the recomputed hash. On success
 * copies the hash to next_prev (may alias expected_prev). Returns 0, or
 * SN_ERR_CONFLICT if the event does not chain, SN_ERR_INVALID if malformed.
 */
int sn_audit_check(json_t *ev, const char *expected_prev, char next_prev[65]);

#endif
