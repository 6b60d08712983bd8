/*
 * alg.h - the algorithm vocabulary shared by server, keeper, CA, client and
 * module: key algorithms, signature mechanisms and digests, with their wire
 * names (the strings of the JSON API and the CLI).
 */
#ifndef SIGNET_ALG_H
#define SIGNET_ALG_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

enum sn_key_alg {
	SN_ALG_NONE = 0,
	SN_ALG_RSA_2048 = 1,
	SN_ALG_RSA_3072,
	SN_ALG_RSA_4096,
	SN_ALG_ECDSA_P256,
	SN_ALG_ECDSA_P384,
	/*
	 * The per-tenant audit log key only (signed checkpoints). It has a
	 * name for logs but sn_key_alg_from_name never returns it, so no API
	 * request or CLI flag can create a signing key of this type.
	 */
	SN_ALG_ED25519,
};

enum sn_mech {
	SN_MECH_NONE = 0,
	SN_MECH_RSA_PKCS = 1,	/* RSASSA-PKCS1-v1_5 over a DigestInfo */
	SN_MECH_RSA_PSS,	/* RSASSA-PSS, MGF1 with the same hash, salt = hash length */
	SN_MECH_ECDSA,		/* ECDSA, DER-encoded signature */
	/*
	 * Pure Ed25519 over a short message (hash SN_HASH_NONE), for the
	 * audit log key only; like SN_ALG_ED25519 it cannot be named in a
	 * request (sn_mech_from_name never returns it).
	 */
	SN_MECH_EDDSA,
};

enum sn_hash {
	SN_HASH_NONE = 0,
	SN_HASH_SHA1 = 1,
	SN_HASH_SHA256,
	SN_HASH_SHA384,
	SN_HASH_SHA512,
};

/* Name <-> value. *_from_name returns *_NONE for an unknown name. */
enum sn_key_alg sn_key_alg_from_name(const char *name);
const char *sn_key_alg_name(enum sn_key_alg alg);	/* NULL if unknown */
int sn_key_alg_is_rsa(enum sn_key_alg alg);
int sn_key_alg_bits(enum sn_key_alg alg);		/* modulus or curve bits */
/* The mechanisms a key algorithm supports: 1 if mech fits alg. */
int sn_key_alg_allows_mech(enum sn_key_alg alg, enum sn_mech mech);

enum sn_mech sn_mech_from_name(const char *name);	/* rsa-pkcs1, rsa-pss, ecdsa */
const char *sn_mech_name(enum sn_mech mech);

enum sn_hash sn_hash_from_name(const char *name);	/* sha1, sha256, sha384, sha512 */
const char *sn_hash_name(enum sn_hash hash);
size_t sn_hash_len(enum sn_hash hash);			/* 0 if unknown */
const EVP_MD *sn_hash_md(enum sn_hash hash);		/* NULL if unknown */
enum sn_hash sn_hash_from_nid(int nid);

/*
 * Writes the DER DigestInfo (RFC 8017 section 9.2) for hash and digest into
 * out (at most outsz bytes). Returns 0, SN_ERR_INVALID (unknown hash, wrong
 * digest length) or SN_ERR_TOO_LARGE.
 */
int sn_digestinfo(enum sn_hash hash, const uint8_t *digest, size_t dlen,
    uint8_t *out, size_t outsz, size_t *outlen);

/*
 * The inverse, for the PKCS#11 module's CKM_RSA_PKCS: recognises a DER
 * DigestInfo for SHA-1/256/384/512 and returns the hash and a pointer to the
 * digest inside `in`. Returns 0 or SN_ERR_INVALID.
 */
int sn_digestinfo_parse(const uint8_t *in, size_t len, enum sn_hash *hash,
    const uint8_t **digest, size_t *dlen);

#endif
