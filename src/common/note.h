/*
 * note.h - C2SP signed notes carrying C2SP tlog-checkpoint bodies, with
 * Ed25519 signatures (signature type 0x01), as signetd publishes them for
 * each tenant's audit log and as the CLI verifies them offline.
 *
 *   checkpoint body:  "<origin>\n<tree size, decimal>\n<base64 root hash>\n"
 *   signed note:      body "\n" "\u2014 <key name> <base64(key id || sig)>\n"
 *   key id:           SHA-256(name || "\n" || 0x01 || public key)[0:4]
 *   verifier key:     "<name>+<key id, 8 hex digits>+<base64(0x01 || pub)>"
 *
 * The key name is the log's origin. All functions return 0 or a negative
 * SN_ERR_*; outputs are malloc'd (caller frees); a note or key that does
 * not parse is SN_ERR_INVALID, a signature that does not verify
 * SN_ERR_CONFLICT.
 */
#ifndef SIGNET_NOTE_H
#define SIGNET_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include "merkle.h"

#define SN_NOTE_NAME_MAX	128
#define SN_NOTE_MAX		4096	/* a checkpoint note is far smaller */
#define SN_ED25519_PUB_LEN	32
#define SN_ED25519_SIG_LEN	64

struct sn_checkpoint {
	char origin[SN_NOTE_NAME_MAX + 1];
	uint64_t size;
	uint8_t root[SN_MERKLE_HASH_LEN];
};

/* A key name: non-empty, at most SN_NOTE_NAME_MAX printable ASCII bytes,
 * no space or '+'. 1 if valid. */
int sn_note_name_ok(const char *name);

void sn_note_key_id(const char *name, const uint8_t pub[SN_ED25519_PUB_LEN],
    uint8_t id[4]);

/* "name+hex(id)+base64(0x01||pub)". */
int sn_note_verifier_key(const char *name,
    const uint8_t pub[SN_ED25519_PUB_LEN], char **out);
/* Parses a verifier key; name must hold SN_NOTE_NAME_MAX + 1 bytes. The
 * key id must match the name and key. */
int sn_note_parse_verifier(const char *vkey, char *name,
    uint8_t pub[SN_ED25519_PUB_LEN], uint8_t id[4]);

/* The checkpoint body for (origin, size, root). */
int sn_checkpoint_body(const char *origin, uint64_t size,
    const uint8_t root[SN_MERKLE_HASH_LEN], char **out);
/* body + blank line + one signature line by key name (sig is 64 bytes). */
int sn_note_assemble(const char *body, const char *name,
    const uint8_t pub[SN_ED25519_PUB_LEN],
    const uint8_t sig[SN_ED25519_SIG_LEN], char **out);

/*
 * Verifies a signed checkpoint note with verifier key vkey: a signature
 * line by vkey's name and key id must verify over the body; other
 * signature lines (witnesses) are ignored. Parses the body into *cp, whose
 * origin must equal the key name. 0, SN_ERR_INVALID or SN_ERR_CONFLICT.
 */
int sn_checkpoint_verify(const char *note, size_t len, const char *vkey,
    struct sn_checkpoint *cp);
/* Parses a checkpoint body (no signature check). */
int sn_checkpoint_parse(const char *body, size_t len, struct sn_checkpoint *cp);

#endif
