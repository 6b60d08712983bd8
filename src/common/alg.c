/*
 * alg.c - algorithm names, digest sizes and DigestInfo prefixes.
 */
#include <string.h>

#include <openssl/obj_mac.h>

#include "alg.h"
#include "err.h"

static const struct {
	enum sn_key_alg alg;
	const char *name;
	int rsa;
	int bits;
	int log_only;	/* never a signing key: not found by name */
} algs[] = {
	{ SN_ALG_RSA_2048, "rsa-2048", 1, 2048, 0 },
	{ SN_ALG_RSA_3072, "rsa-3072", 1, 3072, 0 },
	{ SN_ALG_RSA_4096, "rsa-4096", 1, 4096, 0 },
	{ SN_ALG_ECDSA_P256, "ecdsa-p256", 0, 256, 0 },
	{ SN_ALG_ECDSA_P384, "ecdsa-p384", 0, 384, 0 },
	{ SN_ALG_ED25519, "ed25519", 0, 255, 1 },
};

/*
 * DER prefixes of DigestInfo ::= SEQUENCE { AlgorithmIdentifier, OCTET STRING }
 * from RFC 8017 section 9.2, note 1; the digest bytes follow the prefix.
 */
static const uint8_t di_sha1[] = { 0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
	0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14 };
static const uint8_t di_sha256[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86,
	0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20 };
static const uint8_t di_sha384[] = { 0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86,
	0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30 };
static const uint8_t di_sha512[] = { 0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86,
	0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40 };

static const struct {
	enum sn_hash hash;
	const char *name;
	size_t len;
	int nid;
	const uint8_t *di;
	size_t dilen;
} hashes[] = {
	{ SN_HASH_SHA1, "sha1", 20, NID_sha1, di_sha1, sizeof(di_sha1) },
	{ SN_HASH_SHA256, "sha256", 32, NID_sha256, di_sha256, sizeof(di_sha256) },
	{ SN_HASH_SHA384, "sha384", 48, NID_sha384, di_sha384, sizeof(di_sha384) },
	{ SN_HASH_SHA512, "sha512", 64, NID_sha512, di_sha512, sizeof(di_sha512) },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

enum sn_key_alg
sn_key_alg_from_name(const char *name)
{
	for (size_t i = 0; name != NULL && i < NELEM(algs); i++)
		if (!algs[i].log_only && strcmp(algs[i].name, name) == 0)
			return algs[i].alg;
	return SN_ALG_NONE;
}

const char *
sn_key_alg_name(enum sn_key_alg alg)
{
	for (size_t i = 0; i < NELEM(algs); i++)
		if (algs[i].alg == alg)
			return algs[i].name;
	return NULL;
}

int
sn_key_alg_is_rsa(enum sn_key_alg alg)
{
	for (size_t i = 0; i < NELEM(algs); i++)
		if (algs[i].alg == alg)
			return algs[i].rsa;
	return 0;
}

int
sn_key_alg_bits(enum sn_key_alg alg)
{
	for (size_t i = 0; i < NELEM(algs); i++)
		if (algs[i].alg == alg)
			return algs[i].bits;
	return 0;
}

int
sn_key_alg_allows_mech(enum sn_key_alg alg, enum sn_mech mech)
{
	if (sn_key_alg_name(alg) == NULL)
		return 0;
	if (sn_key_alg_is_rsa(alg))
		return mech == SN_MECH_RSA_PKCS || mech == SN_MECH_RSA_PSS;
	if (alg == SN_ALG_ED25519)
		return mech == SN_MECH_EDDSA;
	return mech == SN_MECH_ECDSA;
}

enum sn_mech
sn_mech_from_name(const char *name)
{
	if (name == NULL)
		return SN_MECH_NONE;
	if (strcmp(name, "rsa-pkcs1") == 0)
		return SN_MECH_RSA_PKCS;
	if (strcmp(name, "rsa-pss") == 0)
		return SN_MECH_RSA_PSS;
	if (strcmp(name, "ecdsa") == 0)
		return SN_MECH_ECDSA;
	return SN_MECH_NONE;
}

const char *
sn_mech_name(enum sn_mech mech)
{
	switch (mech) {
	case SN_MECH_RSA_PKCS: return "rsa-pkcs1";
	case SN_MECH_RSA_PSS: return "rsa-pss";
	case SN_MECH_ECDSA: return "ecdsa";
	case SN_MECH_EDDSA: return "eddsa";	/* never parsed back */
	default: return NULL;
	}
}

enum sn_hash
sn_hash_from_name(const char *name)
{
	for (size_t i = 0; name != NULL && i < NELEM(hashes); i++)
		if (strcmp(hashes[i].name, name) == 0)
			return hashes[i].hash;
	return SN_HASH_NONE;
}

const char *
sn_hash_name(enum sn_hash hash)
{
	for (size_t i = 0; i < NELEM(hashes); i++)
		if (hashes[i].hash == hash)
			return hashes[i].name;
	return NULL;
}

size_t
sn_hash_len(enum sn_hash hash)
{
	for (size_t i = 0; i < NELEM(hashes); i++)
		if (hashes[i].hash == hash)
			return hashes[i].len;
	return 0;
}

enum sn_hash
sn_hash_from_nid(int nid)
{
	for (size_t i = 0; i < NELEM(hashes); i++)
		if (hashes[i].nid == nid)
			return hashes[i].hash;
	return SN_HASH_NONE;
}

const EVP_MD *
sn_hash_md(enum sn_hash hash)
{
	switch (hash) {
	case SN_HASH_SHA1: return EVP_sha1();
	case SN_HASH_SHA256: return EVP_sha256();
	case SN_HASH_SHA384: return EVP_sha384();
	case SN_HASH_SHA512: return EVP_sha512();
	default: return NULL;
	}
}

int
sn_digestinfo(enum sn_hash hash, const uint8_t *digest, size_t dlen,
    uint8_t *out, size_t outsz, size_t *outlen)
{
	*outlen = 0;
	for (size_t i = 0; i < NELEM(hashes); i++) {
		if (hashes[i].hash != hash)
			continue;
		if (dlen != hashes[i].len)
			return SN_ERR_INVALID;
		if (outsz < hashes[i].dilen || outsz - hashes[i].dilen < dlen)
			return SN_ERR_TOO_LARGE;
		memcpy(out, hashes[i].di, hashes[i].dilen);
		memcpy(out + hashes[i].dilen, digest, dlen);
		*outlen = hashes[i].dilen + dlen;
		return SN_OK;
	}
	return SN_ERR_INVALID;
}

int
sn_digestinfo_parse(const uint8_t *in, size_t len, enum sn_hash *hash,
    const uint8_t **digest, size_t *dlen)
{
	*hash = SN_HASH_NONE;
	*digest = NULL;
	*dlen = 0;
	for (size_t i = 0; i < NELEM(hashes); i++) {
		if (len != hashes[i].dilen + hashes[i].len ||
		    memcmp(in, hashes[i].di, hashes[i].dilen) != 0)
			continue;
		*hash = hashes[i].hash;
		*digest = in + hashes[i].dilen;
		*dlen = hashes[i].len;
		return SN_OK;
	}
	return SN_ERR_INVALID;
}
