/*
 * kbuf.h - bounded byte buffers and fail-closed cursors: the one growable
 * buffer of the project (docs/internals/KBUF.md). The keeper's wire protocol
 * (PROTOCOL.md), the HTTP request body, the client's response buffer and
 * sn_read_file all grow through it.
 *
 * A kbuf is a growable output buffer with a hard maximum fixed at creation;
 * every put fails with SN_ERR_TOO_LARGE instead of growing past it. A kcur is
 * a read cursor over borrowed bytes; every get fails with SN_ERR_PROTOCOL when
 * the input is short, and kcur_end() fails when bytes are left over, so a
 * parser that ends with kcur_end() rejects trailing garbage.
 *
 * All integers are big-endian. "bytes" fields are a u32 length followed by
 * that many bytes. All functions return 0 or a negative SN_ERR_* code.
 */
#ifndef SIGNET_KBUF_H
#define SIGNET_KBUF_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct kbuf {
	uint8_t *data;
	size_t len;
	size_t cap;
	size_t max;
	int secret;		/* wipe on growth and on free */
};

/* Initialises an empty buffer that never grows beyond max bytes. */
void kbuf_init(struct kbuf *b, size_t max);
/* Like kbuf_init, but old storage is wiped when the buffer grows or is freed. */
void kbuf_init_secret(struct kbuf *b, size_t max);
/* Frees the storage (wiping it if secret); the kbuf itself is not freed. */
void kbuf_free(struct kbuf *b);
/* Takes the storage out of the buffer: caller owns *out (free()). */
void kbuf_steal(struct kbuf *b, uint8_t **out, size_t *outlen);
/*
 * Text for C-string consumers: writes a NUL after the data. The NUL is not
 * content: len does not count it and it may sit one byte past max. A later
 * put overwrites it. SN_ERR_NOMEM, or 0 (b->data is then never NULL).
 */
int kbuf_nul(struct kbuf *b) SN_WUR;
/*
 * kbuf_nul, then kbuf_steal: *out is a NUL-terminated string (never NULL on
 * success, "" for an empty buffer) of *outlen bytes; caller frees it (a
 * secret buffer's with sn_freezero). outlen may be NULL. On failure the
 * buffer is unchanged and *out is NULL.
 */
int kbuf_steal_str(struct kbuf *b, char **out, size_t *outlen) SN_WUR;

int kbuf_put(struct kbuf *b, const void *p, size_t len) SN_WUR;	/* raw */
int kbuf_put_u8(struct kbuf *b, uint8_t v) SN_WUR;
int kbuf_put_u32(struct kbuf *b, uint32_t v) SN_WUR;
int kbuf_put_bytes(struct kbuf *b, const void *p, size_t len) SN_WUR;
/* Overwrites 4 bytes at offset off (which must already exist) with v. */
int kbuf_poke_u32(struct kbuf *b, size_t off, uint32_t v) SN_WUR;

struct kcur {
	const uint8_t *p;
	size_t len;
	size_t off;
};

void kcur_init(struct kcur *c, const void *p, size_t len);
int kcur_get_u8(struct kcur *c, uint8_t *v) SN_WUR;
int kcur_get_u32(struct kcur *c, uint32_t *v) SN_WUR;
/* Exactly n raw bytes; *p points into the cursor's input. */
int kcur_get_raw(struct kcur *c, size_t n, const uint8_t **p) SN_WUR;
/*
 * A length-prefixed field of at most max bytes (SN_ERR_PROTOCOL if longer or
 * short). *p points into the cursor's input and is valid while it is.
 */
int kcur_get_bytes(struct kcur *c, size_t max, const uint8_t **p, size_t *len) SN_WUR;
/* 0 if every byte was consumed, else SN_ERR_PROTOCOL. */
int kcur_end(const struct kcur *c) SN_WUR;

#endif
