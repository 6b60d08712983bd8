/*
 * sha256.h - SHA-256 of one buffer, for the hot paths that hash small
 * inputs many times a second (API key lookups, audit events, Merkle
 * leaves, signature digests in audit details).
 *
 * OpenSSL 3's one-shot SHA256() and EVP_Digest(EVP_sha256()) look the
 * algorithm up in the provider store on every call (an implicit fetch,
 * a lock and a hash table probe: about a third of the cost of hashing a
 * 200-byte event). This fetches it once per process and reuses it.
 */
#ifndef SIGNET_SHA256_H
#define SIGNET_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define SN_SHA256_LEN	32

/* out = SHA-256(p[0..len)). 0, or SN_ERR_CRYPTO (out is then zeroed). */
int sn_sha256(const void *p, size_t len, uint8_t out[SN_SHA256_LEN]) SN_WUR;

#endif
