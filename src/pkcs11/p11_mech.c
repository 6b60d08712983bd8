/*
 * p11_mech.c - the signing mechanisms of signet-pkcs11.so and the
 * translations between PKCS#11's view of a signature and the server's.
 *
 * The server signs digests only: hash-and-sign mechanisms hash here, raw
 * mechanisms pass the caller's digest through after checking it is one
 * (CKM_RSA_PKCS's DigestInfo is unwrapped, because the server builds it
 * again from the digest and algorithm name). ECDSA signatures come back DER
 * encoded and leave as PKCS#11's fixed-size r || s.
 */
#include <string.h>

#include "err.h"
#include "p11_int.h"

static const struct p11_mech_info mechs[] = {
	{ CKM_RSA_PKCS,			CKK_RSA, SN_MECH_RSA_PKCS, SN_HASH_NONE },
	{ CKM_SHA256_RSA_PKCS,		CKK_RSA, SN_MECH_RSA_PKCS, SN_HASH_SHA256 },
	{ CKM_SHA384_RSA_PKCS,		CKK_RSA, SN_MECH_RSA_PKCS, SN_HASH_SHA384 },
	{ CKM_SHA512_RSA_PKCS,		CKK_RSA, SN_MECH_RSA_PKCS, SN_HASH_SHA512 },
	{ CKM_RSA_PKCS_PSS,		CKK_RSA, SN_MECH_RSA_PSS, SN_HASH_NONE },
	{ CKM_SHA256_RSA_PKCS_PSS,	CKK_RSA, SN_MECH_RSA_PSS, SN_HASH_SHA256 },
	{ CKM_SHA384_RSA_PKCS_PSS,	CKK_RSA, SN_MECH_RSA_PSS, SN_HASH_SHA384 },
	{ CKM_SHA512_RSA_PKCS_PSS,	CKK_RSA, SN_MECH_RSA_PSS, SN_HASH_SHA512 },
	{ CKM_ECDSA,			CKK_EC,  SN_MECH_ECDSA,   SN_HASH_NONE },
	{ CKM_ECDSA_SHA256,		CKK_EC,  SN_MECH_ECDSA,   SN_HASH_SHA256 },
	{ CKM_ECDSA_SHA384,		CKK_EC,  SN_MECH_ECDSA,   SN_HASH_SHA384 },
	{ CKM_ECDSA_SHA512,		CKK_EC,  SN_MECH_ECDSA,   SN_HASH_SHA512 },
};

/* Key sizes the service generates (rsa-2048..4096, ecdsa-p256/p384). */
#define RSA_MIN_BITS	2048
#define RSA_MAX_BITS	4096
#define EC_MIN_BITS	256
#define EC_MAX_BITS	384

const struct p11_mech_info *
p11_mech_table(size_t *n)
{
	*n = sizeof(mechs) / sizeof(mechs[0]);
	return mechs;
}

const struct p11_mech_info *
p11_mech_lookup(CK_MECHANISM_TYPE type)
{
	for (size_t i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++) {
		if (mechs[i].type == type)
			return &mechs[i];
	}
	return NULL;
}

CK_RV
p11_mech_get_info(CK_MECHANISM_TYPE type, CK_MECHANISM_INFO *info)
{
	const struct p11_mech_info *m;

	if ((m = p11_mech_lookup(type)) == NULL)
		return CKR_MECHANISM_INVALID;
	memset(info, 0, sizeof(*info));
	info->flags = CKF_SIGN | CKF_VERIFY;
	if (m->key_type == CKK_RSA) {
		info->ulMinKeySize = RSA_MIN_BITS;
		info->ulMaxKeySize = RSA_MAX_BITS;
	} else {
		info->ulMinKeySize = EC_MIN_BITS;
		info->ulMaxKeySize = EC_MAX_BITS;
		info->flags |= CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS;
	}
	return CKR_OK;
}

static enum sn_hash
hash_from_ckm(CK_MECHANISM_TYPE t)
{
	switch (t) {
	case CKM_SHA_1:
		return SN_HASH_SHA1;
	case CKM_SHA256:
		return SN_HASH_SHA256;
	case CKM_SHA384:
		return SN_HASH_SHA384;
	case CKM_SHA512:
		return SN_HASH_SHA512;
	default:
		return SN_HASH_NONE;
	}
}

static enum sn_hash
hash_from_mgf(CK_RSA_PKCS_MGF_TYPE t)
{
	switch (t) {
	case CKG_MGF1_SHA1:
		return SN_HASH_SHA1;
	case CKG_MGF1_SHA256:
		return SN_HASH_SHA256;
	case CKG_MGF1_SHA384:
		return SN_HASH_SHA384;
	case CKG_MGF1_SHA512:
		return SN_HASH_SHA512;
	default:
		return SN_HASH_NONE;
	}
}

static CK_RV
mech_check(const CK_MECHANISM *m, const struct p11_object *key,
    CK_OBJECT_CLASS cls, const struct p11_mech_info **info,
    enum sn_hash *pss_hash)
{
	const struct p11_mech_info *mi;
	const CK_RSA_PKCS_PSS_PARAMS *pp;
	enum sn_hash h;

	*info = NULL;
	*pss_hash = SN_HASH_NONE;
	if ((mi = p11_mech_lookup(m->mechanism)) == NULL)
		return CKR_MECHANISM_INVALID;
	if (key->cls != cls)
		return CKR_KEY_FUNCTION_NOT_PERMITTED;
	if (key->key_type != mi->key_type)
		return CKR_KEY_TYPE_INCONSISTENT;
	if (mi->mech == SN_MECH_RSA_PSS) {
		/*
		 * The service signs PSS with MGF1 over the same hash and a salt
		 * as long as the hash; any other request would produce a
		 * signature the caller did not ask for, so refuse it.
		 */
		if (m->pParameter == NULL ||
		    m->ulParameterLen != sizeof(CK_RSA_PKCS_PSS_PARAMS))
			return CKR_MECHANISM_PARAM_INVALID;
		pp = m->pParameter;
		h = hash_from_ckm(pp->hashAlg);
		if (h == SN_HASH_NONE || hash_from_mgf(pp->mgf) != h ||
		    pp->sLen != sn_hash_len(h) ||
		    (mi->hash != SN_HASH_NONE && mi->hash != h))
			return CKR_MECHANISM_PARAM_INVALID;
		*pss_hash = h;
	}
	*info = mi;
	return CKR_OK;
}

CK_RV
p11_mech_check(const CK_MECHANISM *m, const struct p11_object *key,
    const struct p11_mech_info **info, enum sn_hash *pss_hash)
{
	return mech_check(m, key, CKO_PRIVATE_KEY, info, pss_hash);
}

CK_RV
p11_mech_check_verify(const CK_MECHANISM *m, const struct p11_object *key,
    const struct p11_mech_info **info, enum sn_hash *pss_hash)
{
	return mech_check(m, key, CKO_PUBLIC_KEY, info, pss_hash);
}

CK_ULONG
p11_sig_len(const struct p11_object *key)
{
	CK_ULONG bytes = (key->key_bits + 7) / 8;

	return key->key_type == CKK_EC ? 2 * bytes : bytes;
}

CK_RV
p11_raw_input(CK_MECHANISM_TYPE type, enum sn_hash pss_hash,
    const uint8_t *in, size_t len, enum sn_hash *hash,
    const uint8_t **digest, size_t *dlen)
{
	*hash = SN_HASH_NONE;
	*digest = NULL;
	*dlen = 0;
	switch (type) {
	case CKM_RSA_PKCS:
		/* Raw PKCS#1 v1.5 of anything but a DigestInfo is refused:
		 * the server only signs digests it can name. */
		if (sn_digestinfo_parse(in, len, hash, digest, dlen) != 0)
			return CKR_DATA_INVALID;
		return CKR_OK;
	case CKM_RSA_PKCS_PSS:
		if (len != sn_hash_len(pss_hash))
			return CKR_DATA_LEN_RANGE;
		*hash = pss_hash;
		break;
	case CKM_ECDSA:
		switch (len) {
		case 20:
			*hash = SN_HASH_SHA1;
			break;
		case 32:
			*hash = SN_HASH_SHA256;
			break;
		case 48:
			*hash = SN_HASH_SHA384;
			break;
		case 64:
			*hash = SN_HASH_SHA512;
			break;
		default:
			return CKR_DATA_LEN_RANGE;
		}
		break;
	default:
		return CKR_MECHANISM_INVALID;
	}
	*digest = in;
	*dlen = len;
	return CKR_OK;
}

/* Reads one DER length at *p (short form or 0x81/0x82). 0 or -1. */
static int
der_len(const uint8_t **p, const uint8_t *end, size_t *len)
{
	size_t n;

	if (*p >= end)
		return -1;
	if (**p < 0x80) {
		*len = *(*p)++;
		return 0;
	}
	n = *(*p)++ & 0x7f;
	if (n == 0 || n > 2 || (size_t)(end - *p) < n)
		return -1;
	*len = 0;
	while (n-- > 0)
		*len = *len << 8 | *(*p)++;
	if (*len < 0x80)
		return -1;		/* not minimal */
	return 0;
}

/* One positive INTEGER, right-aligned into out[flen]. 0 or -1. */
static int
der_uint(const uint8_t **p, const uint8_t *end, size_t flen, uint8_t *out)
{
	size_t len;

	if (*p >= end || *(*p)++ != 0x02 || der_len(p, end, &len) != 0 ||
	    len == 0 || (size_t)(end - *p) < len)
		return -1;
	if ((*p)[0] & 0x80)
		return -1;			/* negative */
	if (len > 1 && (*p)[0] == 0x00) {
		if (!((*p)[1] & 0x80))
			return -1;		/* not minimal */
		(*p)++;
		len--;
	}
	if (len > flen)
		return -1;
	memset(out, 0, flen - len);
	memcpy(out + (flen - len), *p, len);
	*p += len;
	return 0;
}

int
p11_ecdsa_der_to_raw(const uint8_t *der, size_t derlen, size_t flen,
    uint8_t *out)
{
	const uint8_t *p = der, *end = der + derlen;
	size_t len;

	if (derlen < 2 || *p++ != 0x30 || der_len(&p, end, &len) != 0 ||
	    len != (size_t)(end - p))
		return SN_ERR_PROTOCOL;
	if (der_uint(&p, end, flen, out) != 0 ||
	    der_uint(&p, end, flen, out + flen) != 0 || p != end) {
		memset(out, 0, 2 * flen);
		return SN_ERR_PROTOCOL;
	}
	return 0;
}

CK_RV
p11_sign_rv(int err)
{
	switch (err) {
	case 0:
		return CKR_OK;
	case SN_ERR_NOMEM:
		return CKR_HOST_MEMORY;
	case SN_ERR_UNAUTHENTICATED:
		return CKR_USER_NOT_LOGGED_IN;
	case SN_ERR_FORBIDDEN:
	case SN_ERR_NOT_FOUND:
	case SN_ERR_CONFLICT:
		return CKR_FUNCTION_REJECTED;
	case SN_ERR_INVALID:
	case SN_ERR_TOO_LARGE:
		return CKR_DATA_INVALID;
	case SN_ERR_NETWORK:
	case SN_ERR_TLS:
	case SN_ERR_UNAVAILABLE:
	case SN_ERR_RATE_LIMITED:
	case SN_ERR_IO:
	case SN_ERR_HSM:
	case SN_ERR_PROTOCOL:
	case SN_ERR_INTERNAL:
	case SN_ERR_DB:
		return CKR_DEVICE_ERROR;
	default:
		return CKR_FUNCTION_FAILED;
	}
}

CK_RV
p11_init_rv(int err)
{
	switch (err) {
	case 0:
		return CKR_OK;
	case SN_ERR_NOMEM:
		return CKR_HOST_MEMORY;
	case SN_ERR_UNAUTHENTICATED:
		return CKR_PIN_INCORRECT;
	case SN_ERR_NETWORK:
	case SN_ERR_TLS:
	case SN_ERR_UNAVAILABLE:
	case SN_ERR_RATE_LIMITED:
	case SN_ERR_IO:
	case SN_ERR_INTERNAL:
	case SN_ERR_DB:
	case SN_ERR_HSM:
		return CKR_DEVICE_ERROR;
	default:
		return CKR_FUNCTION_FAILED;
	}
}
