/*
 * ca.c - certificates, CSRs and CRLs signed through a sign-digest callback.
 *
 * This file must never need a private key. Every signed object is produced
 * the same way (see docs/internals/CA.md):
 *
 *   1. build the object with OpenSSL's X509 / X509_REQ / X509_CRL setters,
 *      with the inner signature AlgorithmIdentifier equal to the outer one;
 *   2. DER-encode the to-be-signed part (i2d_re_*_tbs) and hash it;
 *   3. ask the ca_signer to sign the digest (the keeper, in signetd);
 *   4. assemble SEQUENCE { tbs, AlgorithmIdentifier, BIT STRING sig };
 *   5. parse the result back and verify it with the signer's public key.
 *
 * Step 5 means a signer that returns garbage, a signature by the wrong key or
 * a truncated signature yields an error, never a certificate that fails
 * later in somebody's verifier.
 *
 * Extensions are built from OpenSSL's structures, not from config strings
 * ("URI:..."), so that no caller-supplied text (CRL URL, DNS name) can inject
 * further extension syntax.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "alg.h"
#include "ca.h"
#include "ca_int.h"
#include "err.h"
#include "sn_assert.h"
#include "util.h"

/* Latest representable X.509 time, 9999-12-31T23:59:59Z. */
#define CA_TIME_MAX 253402300799LL
#define CA_SIG_MAX 2048			/* RSA-16384 / any ECDSA fits */
#define CA_SIGNED_MAX (64 * 1024 * 1024)	/* a CRL with 1e6 entries fits */
#define CA_CRL_MAX_ENTRIES 1000000
#define CA_SAN_MAX 64
#define CA_URL_MAX 2048

/* ---- signature algorithm choice ------------------------------------- */

/*
 * Picks the digest and the AlgorithmIdentifier for a signer's public key:
 * the digest strength follows the key strength (RFC 5480 section 4 for EC;
 * SHA-384 for RSA-4096 keeps the ~128/192-bit pairing of the key sizes).
 */
static int
sig_alg_for(EVP_PKEY *pub, enum sn_hash *hash, X509_ALGOR **algp)
{
	X509_ALGOR *alg = NULL;
	char group[80];
	size_t glen = 0;
	int id, bits, nid, sig_nid, ptype, r = SN_ERR_INVALID;

	*algp = NULL;
	if (pub == NULL)
		goto out;
	id = EVP_PKEY_get_base_id(pub);
	if (id == EVP_PKEY_RSA) {
		bits = EVP_PKEY_get_bits(pub);
		if (bits < 2048 || bits > 16384)
			goto out;
		*hash = bits <= 3072 ? SN_HASH_SHA256 : SN_HASH_SHA384;
		sig_nid = *hash == SN_HASH_SHA256 ? NID_sha256WithRSAEncryption :
		    NID_sha384WithRSAEncryption;
		ptype = V_ASN1_NULL;	/* RFC 4055: parameters are NULL */
	} else if (id == EVP_PKEY_EC) {
		if (EVP_PKEY_get_group_name(pub, group, sizeof(group), &glen) != 1)
			goto out;
		if ((nid = OBJ_sn2nid(group)) == NID_undef)
			nid = EC_curve_nist2nid(group);
		switch (nid) {
		case NID_X9_62_prime256v1:
			*hash = SN_HASH_SHA256;
			sig_nid = NID_ecdsa_with_SHA256;
			break;
		case NID_secp384r1:
			*hash = SN_HASH_SHA384;
			sig_nid = NID_ecdsa_with_SHA384;
			break;
		case NID_secp521r1:
			*hash = SN_HASH_SHA512;
			sig_nid = NID_ecdsa_with_SHA512;
			break;
		default:
			goto out;
		}
		ptype = V_ASN1_UNDEF;	/* RFC 5758: parameters absent */
	} else
		goto out;

	if ((alg = X509_ALGOR_new()) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	if (!X509_ALGOR_set0(alg, OBJ_nid2obj(sig_nid), ptype, NULL)) {
		r = SN_ERR_CRYPTO;
		goto out;
	}
	*algp = alg;
	alg = NULL;
	r = 0;
 out:
	X509_ALGOR_free(alg);
	return r;
}

/* ---- DER assembly ----------------------------------------------------- */

/* Writes a DER length; returns the number of bytes (buf may be NULL). */
static size_t
der_len(size_t n, uint8_t *buf)
{
	size_t k = 0, i;

	if (n < 0x80) {
		if (buf != NULL)
			buf[0] = (uint8_t)n;
		return 1;
	}
	for (size_t t = n; t != 0; t >>= 8)
		k++;
	if (buf != NULL) {
		buf[0] = (uint8_t)(0x80 | k);
		for (i = 0; i < k; i++)
			buf[1 + i] = (uint8_t)(n >> (8 * (k - 1 - i)));
	}
	return 1 + k;
}

/*
 * Hashes tbs, has the signer sign the digest and returns the DER of
 * SEQUENCE { tbs, alg, BIT STRING signature } (malloc'd).
 */
static int
sign_and_assemble(const struct ca_signer *s, enum sn_hash hash,
    const X509_ALGOR *alg, const uint8_t *tbs, size_t tbslen,
    uint8_t **out, size_t *outlen)
{
	uint8_t md[EVP_MAX_MD_SIZE], *sig = NULL, *algder = NULL, *buf = NULL;
	unsigned int mdlen = 0;
	size_t siglen = 0, bitlen, body, total, off;
	int alglen, r;

	*out = NULL;
	*outlen = 0;
	/* sig_alg_for gives every CA key a real hash */
	if (SN_NEVER(sn_hash_md(hash) == NULL)) {
		r = SN_ERR_INTERNAL;
		goto out;
	}
	if (!EVP_Digest(tbs, tbslen, md, &mdlen, sn_hash_md(hash), NULL)) {
		r = SN_ERR_CRYPTO;
		goto out;
	}
	if ((r = s->sign_digest(s->arg, hash, md, mdlen, &sig, &siglen)) != 0) {
		if (r > 0)	/* a callback that forgot the convention */
			r = SN_ERR_CRYPTO;
		goto out;
	}
	if (sig == NULL || siglen == 0 || siglen > CA_SIG_MAX) {
		r = SN_ERR_CRYPTO;
		goto out;
	}
	if ((alglen = i2d_X509_ALGOR(alg, &algder)) <= 0) {
		r = SN_ERR_CRYPTO;
		goto out;
	}
	/* BIT STRING: tag, length, 0 unused bits, signature bytes. */
	bitlen = 1 + der_len(siglen + 1, NULL) + 1 + siglen;
	if (tbslen > CA_SIGNED_MAX) {
		r = SN_ERR_TOO_LARGE;
		goto out;
	}
	body = tbslen + (size_t)alglen + bitlen;
	total = 1 + der_len(body, NULL) + body;
	if ((buf = malloc(total)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	off = 0;
	buf[off++] = 0x30;
	off += der_len(body, buf + off);
	memcpy(buf + off, tbs, tbslen);
	off += tbslen;
	memcpy(buf + off, algder, (size_t)alglen);
	off += (size_t)alglen;
	buf[off++] = 0x03;
	off += der_len(siglen + 1, buf + off);
	buf[off++] = 0x00;
	memcpy(buf + off, sig, siglen);
	off += siglen;
	if (SN_NEVER(off != total)) {
		r = SN_ERR_INTERNAL;
		goto out;
	}
	*out = buf;
	*outlen = total;
	buf = NULL;
	r = 0;
 out:
	free(buf);
	free(sig);
	OPENSSL_free(algder);
	OPENSSL_cleanse(md, sizeof(md));
	return r;
}

static int
check_signer(const struct ca_signer *s)
{
	if (s == NULL || s->pub == NULL || s->sign_digest == NULL)
		return SN_ERR_INVALID;
	return 0;
}

static int
check_validity(int64_t nb, int64_t na)
{
	if (nb < 0 || na > CA_TIME_MAX || nb >= na)
		return SN_ERR_INVALID;
	return 0;
}

static int
x509_pem(X509 *x, char **out)
{
	BIO *b = NULL;
	int r;

	if ((b = BIO_new(BIO_s_mem())) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	if (!PEM_write_bio_X509(b, x)) {
		r = SN_ERR_CRYPTO;
		goto out;
	}
	r = ca_int_bio_string(b, out);
 out:
	BIO_free(b);
	return r;
}

/* ---- certificates ----------------------------------------------------- */

static int
random_serial(ASN1_INTEGER **out)
{
	uint8_t b[16];
	BIGNUM *bn = NULL;
	int r;

	*out = NULL;
	/* 127 random bits: the top bit is cleared so the INTEGER is positive. */
	do {
		if ((r = sn_random_bytes(b, sizeof(b))) != 0)
			goto out;
		b[0] &= 0x7f;
	} while (b[0] == 0 && b[1] == 0);	/* keep it 15-16 bytes long */
	if ((bn = BN_bin2bn(b, sizeof(b), NULL)) == NULL ||
	    (*out = BN_to_ASN1_INTEGER(bn, NULL)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	r = 0;
 out:
	BN_free(bn);
	return r;
}

static int
set_time(int64_t t, int (*setter)(X509 *, const ASN1_TIME *), X509 *x)
{
	ASN1_TIME *at;
	int ok;

	/* UTCTime up to 2049, GeneralizedTime after, as RFC 5280 4.1.2.5 says. */
	if ((at = ASN1_TIME_set(NULL, (time_t)t)) == NULL)
		return SN_ERR_INVALID;
	ok = setter(x, at);
	ASN1_TIME_free(at);
	return ok ? 0 : SN_ERR_CRYPTO;
}

static int
ext_add(X509 *x, int nid, void *value, int crit)
{
	return X509_add1_ext_i2d(x, nid, value, crit, X509V3_ADD_REPLACE) == 1 ?
	    0 : SN_ERR_CRYPTO;
}

static int
ext_basic_constraints(X509 *x, int ca, int pathlen)
{
	BASIC_CONSTRAINTS *bc = NULL;
	int r;

	if ((bc = BASIC_CONSTRAINTS_new()) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	bc->ca = ca ? 0xff : 0;
	if (pathlen >= 0) {
		if ((bc->pathlen = ASN1_INTEGER_new()) == NULL ||
		    !ASN1_INTEGER_set(bc->pathlen, pathlen)) {
			r = SN_ERR_NOMEM;
			goto out;
		}
	}
	r = ext_add(x, NID_basic_constraints, bc, 1);
 out:
	BASIC_CONSTRAINTS_free(bc);
	return r;
}

/* bits: KU_* style bit numbers of RFC 5280 4.2.1.3, terminated by -1. */
static int
ext_key_usage(X509 *x, const int *bits)
{
	ASN1_BIT_STRING *ku = NULL;
	int r;

	if ((ku = ASN1_BIT_STRING_new()) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	for (; *bits >= 0; bits++) {
		if (!ASN1_BIT_STRING_set_bit(ku, *bits, 1)) {
			r = SN_ERR_NOMEM;
			goto out;
		}
	}
	r = ext_add(x, NID_key_usage, ku, 1);
 out:
	ASN1_BIT_STRING_free(ku);
	return r;
}

static int
ext_eku_list(X509 *x, const int *purpose_nids, size_t n, int crit)
{
	EXTENDED_KEY_USAGE *eku = NULL;
	ASN1_OBJECT *o;
	size_t i;
	int r;

	if ((eku = sk_ASN1_OBJECT_new_null()) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((o = OBJ_nid2obj(purpose_nids[i])) == NULL ||
		    !sk_ASN1_OBJECT_push(eku, o)) {
			r = SN_ERR_NOMEM;
			goto out;
		}
	}
	r = ext_add(x, NID_ext_key_usage, eku, crit);
 out:
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	return r;
}

static int
ext_eku_crit(X509 *x, int purpose_nid, int crit)
{
	return ext_eku_list(x, &purpose_nid, 1, crit);
}

/* Not critical: the CA/B and Microsoft profiles for code signing. */
static int
ext_eku(X509 *x, int purpose_nid)
{
	return ext_eku_crit(x, purpose_nid, 0);
}

/* RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING. */
static int
key_id(const X509 *x, ASN1_OCTET_STRING **out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	*out = NULL;
	if (!X509_pubkey_digest(x, sn_hash_md(SN_HASH_SHA1), md, &n))
		return SN_ERR_CRYPTO;
	if ((*out = ASN1_OCTET_STRING_new()) == NULL ||
	    !ASN1_OCTET_STRING_set(*out, md, (int)n)) {
		ASN1_OCTET_STRING_free(*out);
		*out = NULL;
		return SN_ERR_NOMEM;
	}
	return 0;
}

static int
ext_ski(X509 *x)
{
	ASN1_OCTET_STRING *ski = NULL;
	int r;

	if ((r = key_id(x, &ski)) != 0)
		goto out;
	r = ext_add(x, NID_subject_key_identifier, ski, 0);
 out:
	ASN1_OCTET_STRING_free(ski);
	return r;
}

/* The issuer's key identifier: its SKI extension, else computed. */
static int
issuer_key_id(X509 *issuer, ASN1_OCTET_STRING **out)
{
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(issuer);

	if (ski == NULL)
		return key_id(issuer, out);
	return (*out = ASN1_OCTET_STRING_dup(ski)) == NULL ? SN_ERR_NOMEM : 0;
}

static int
make_akid(X509 *issuer, AUTHORITY_KEYID **out)
{
	AUTHORITY_KEYID *akid = NULL;
	int r;

	*out = NULL;
	if ((akid = AUTHORITY_KEYID_new()) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	if ((r = issuer_key_id(issuer, &akid->keyid)) != 0)
		goto out;
	*out = akid;
	akid = NULL;
	r = 0;
 out:
	AUTHORITY_KEYID_free(akid);
	return r;
}

static int
ext_aki(X509 *x, X509 *issuer)
{
	AUTHORITY_KEYID *akid = NULL;
	int r;

	if ((r = make_akid(issuer, &akid)) != 0)
		goto out;
	r = ext_add(x, NID_authority_key_identifier, akid, 0);
 out:
	AUTHORITY_KEYID_free(akid);
	return r;
}

static int
ia5_name(int type, const char *s, GENERAL_NAME **out)
{
	ASN1_IA5STRING *ia5 = NULL;
	GENERAL_NAME *gn = NULL;

	*out = NULL;
	if ((ia5 = ASN1_IA5STRING_new()) == NULL ||
	    !ASN1_STRING_set(ia5, s, (int)strlen(s)) ||
	    (gn = GENERAL_NAME_new()) == NULL) {
		ASN1_IA5STRING_free(ia5);
		return SN_ERR_NOMEM;
	}
	GENERAL_NAME_set0_value(gn, type, ia5);
	*out = gn;
	return 0;
}

/* A URL we are willing to put in a certificate: printable ASCII, a scheme. */
static int
valid_url(const char *u)
{
	size_t n = strnlen(u, CA_URL_MAX + 1);

	if (n == 0 || n > CA_URL_MAX)
		return 0;
	if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)u[i] <= 0x20 || (unsigned char)u[i] >= 0x7f)
			return 0;
	return 1;
}

static int
ext_crl_dp(X509 *x, const char *url)
{
	CRL_DIST_POINTS *cdp = NULL;
	DIST_POINT *dp = NULL;
	GENERAL_NAME *gn = NULL;
	int r;

	if (!valid_url(url)) {
		r = SN_ERR_INVALID;
		goto out;
	}
	if ((r = ia5_name(GEN_URI, url, &gn)) != 0)
		goto out;
	if ((dp = DIST_POINT_new()) == NULL ||
	    (dp->distpoint = DIST_POINT_NAME_new()) == NULL ||
	    (dp->distpoint->name.fullname = GENERAL_NAMES_new()) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	dp->distpoint->type = 0;	/* fullName */
	if (!sk_GENERAL_NAME_push(dp->distpoint->name.fullname, gn)) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	gn = NULL;
	if ((cdp = sk_DIST_POINT_new_null()) == NULL ||
	    !sk_DIST_POINT_push(cdp, dp)) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	dp = NULL;
	r = ext_add(x, NID_crl_distribution_points, cdp, 0);
 out:
	GENERAL_NAME_free(gn);
	DIST_POINT_free(dp);
	CRL_DIST_POINTS_free(cdp);
	return r;
}

/* authorityInfoAccess with one id-ad-ocsp URI (RFC 5280 4.2.2.1). */
static int
ext_aia_ocsp(X509 *x, const char *url)
{
	AUTHORITY_INFO_ACCESS *aia = NULL;
	ACCESS_DESCRIPTION *ad = NULL;
	GENERAL_NAME *gn = NULL;
	int r;

	if (!valid_url(url)) {
		r = SN_ERR_INVALID;
		goto out;
	}
	if ((r = ia5_name(GEN_URI, url, &gn)) != 0)
		goto out;
	if ((ad = ACCESS_DESCRIPTION_new()) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	ASN1_OBJECT_free(ad->method);
	ad->method = OBJ_nid2obj(NID_ad_OCSP);
	GENERAL_NAME_free(ad->location);
	ad->location = gn;
	gn = NULL;
	if ((aia = sk_ACCESS_DESCRIPTION_new_null()) == NULL ||
	    !sk_ACCESS_DESCRIPTION_push(aia, ad)) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	ad = NULL;
	r = ext_add(x, NID_info_access, aia, 0);
 out:
	GENERAL_NAME_free(gn);
	ACCESS_DESCRIPTION_free(ad);
	AUTHORITY_INFO_ACCESS_free(aia);
	return r;
}

/* A host name: LDH labels of 1..63, total <= 253, optional "*." first. */
static int
valid_dns_name(const char *s)
{
	size_t n = strnlen(s, 254), label = 0;

	if (n == 0 || n > 253)
		return 0;
	if (strncmp(s, "*.", 2) == 0) {
		s += 2;
		n -= 2;
		if (n == 0)
			return 0;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!(isascii(c) && (isalnum(c) || c == '-')))
			return 0;
		if (label == 0 && c == '-')
			return 0;
		if (++label > 63)
			return 0;
	}
	return label != 0 && s[n - 1] != '-';
}

/* Parses an IPv4 or IPv6 literal into a GEN_IPADD name. */
static int
ip_name(const char *s, GENERAL_NAME **out)
{
	unsigned char addr[16];
	ASN1_OCTET_STRING *os = NULL;
	GENERAL_NAME *gn = NULL;
	int len;

	*out = NULL;
	if (inet_pton(AF_INET, s, addr) == 1)
		len = 4;
	else if (inet_pton(AF_INET6, s, addr) == 1)
		len = 16;
	else
		return SN_ERR_INVALID;
	if ((os = ASN1_OCTET_STRING_new()) == NULL ||
	    !ASN1_OCTET_STRING_set(os, addr, len) ||
	    (gn = GENERAL_NAME_new()) == NULL) {
		ASN1_OCTET_STRING_free(os);
		return SN_ERR_NOMEM;
	}
	GENERAL_NAME_set0_value(gn, GEN_IPADD, os);
	*out = gn;
	return 0;
}

static int
ext_san(X509 *x, const char *const *dns, const char *const *ips)
{
	GENERAL_NAMES *gens = NULL;
	GENERAL_NAME *gn = NULL;
	size_t i;
	int r;

	if ((gens = GENERAL_NAMES_new()) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	for (i = 0; dns != NULL && dns[i] != NULL; i++) {
		if (i >= CA_SAN_MAX || !valid_dns_name(dns[i])) {
			r = SN_ERR_INVALID;
			goto out;
		}
		if ((r = ia5_name(GEN_DNS, dns[i], &gn)) != 0)
			goto out;
		if (!sk_GENERAL_NAME_push(gens, gn)) {
			r = SN_ERR_NOMEM;
			goto out;
		}
		gn = NULL;
	}
	for (i = 0; ips != NULL && ips[i] != NULL; i++) {
		if (i >= CA_SAN_MAX) {
			r = SN_ERR_INVALID;
			goto out;
		}
		if ((r = ip_name(ips[i], &gn)) != 0)
			goto out;
		if (!sk_GENERAL_NAME_push(gens, gn)) {
			r = SN_ERR_NOMEM;
			goto out;
		}
		gn = NULL;
	}
	if (sk_GENERAL_NAME_num(gens) == 0) {
		r = SN_ERR_INVALID;
		goto out;
	}
	r = ext_add(x, NID_subject_alt_name, gens, 0);
 out:
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(gens);
	return r;
}

/*
 * Parses issuer_pem and checks it can issue with signer s: same public key
 * and a CA certificate.
 */
static int
load_issuer(const struct ca_signer *s, const char *issuer_pem, X509 **out)
{
	X509 *ic = NULL;
	EVP_PKEY *ipk;
	int r;

	*out = NULL;
	if (issuer_pem == NULL) {
		r = SN_ERR_INVALID;
		goto out;
	}
	if ((r = ca_int_first_cert(issuer_pem, &ic)) != 0)
		goto out;
	if ((ipk = X509_get0_pubkey(ic)) == NULL ||
	    EVP_PKEY_eq(ipk, s->pub) != 1 || X509_check_ca(ic) == 0) {
		r = SN_ERR_INVALID;
		goto out;
	}
	*out = ic;
	ic = NULL;
	r = 0;
 out:
	X509_free(ic);
	return r;
}

enum cert_kind { CERT_ROOT, CERT_INTERMEDIATE, CERT_CODESIGN, CERT_TLS,
    CERT_TSA };

struct cert_req {
	enum cert_kind kind;
	const struct ca_signer *s;
	const char *issuer_pem;		/* NULL for the root */
	EVP_PKEY *pub;			/* the subject's key (root: s->pub) */
	const char *subject_dn;		/* TLS: NULL, CN from the names */
	int64_t nb, na;
	const char *crl_url;
	const char *ocsp_url;		/* AIA id-ad-ocsp, or NULL */
	const char *const *dns;
	const char *const *ips;
};

/*
 * The TLS certificate's subject: CN = the first DNS name that fits a CN (64
 * characters), else the first IP address. Clients match the SAN anyway.
 */
static int
tls_subject(const char *const *dns, const char *const *ips, X509_NAME **out)
{
	const char *cn = NULL;

	*out = NULL;
	for (size_t i = 0; dns != NULL && dns[i] != NULL && cn == NULL; i++)
		if (strnlen(dns[i], 65) <= 64)
			cn = dns[i];
	if (cn == NULL && ips != NULL && ips[0] != NULL)
		cn = ips[0];
	if (cn == NULL || strnlen(cn, 65) > 64)
		return SN_ERR_INVALID;
	if ((*out = X509_NAME_new()) == NULL)
		return SN_ERR_NOMEM;
	if (!X509_NAME_add_entry_by_NID(*out, NID_commonName, MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0)) {
		X509_NAME_free(*out);
		*out = NULL;
		return SN_ERR_INVALID;
	}
	return 0;
}

/* Steps 2-5 of the file comment for a certificate. */
static int
sign_cert(const struct ca_signer *s, X509 *x, enum sn_hash hash,
    const X509_ALGOR *alg, X509 **out)
{
	uint8_t *tbs = NULL, *der = NULL;
	const uint8_t *p;
	X509 *y = NULL;
	const X509_ALGOR *outer = NULL;
	size_t derlen = 0;
	int tbslen, r;

	*out = NULL;
	/*
	 * OpenSSL has no setter for TBSCertificate.signature short of
	 * X509_sign(), which wants the private key. The getter returns a
	 * pointer into the (mutable) X509, and i2d_re_X509_tbs() re-encodes
	 * the TBS afterwards, so writing through it is safe.
	 */
	if (!X509_ALGOR_copy((X509_ALGOR *)X509_get0_tbs_sigalg(x), alg)) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	if ((tbslen = i2d_re_X509_tbs(x, &tbs)) <= 0) {
		r = SN_ERR_CRYPTO;
		goto out;
	}
	if ((r = sign_and_assemble(s, hash, alg, tbs, (size_t)tbslen,
	    &der, &derlen)) != 0)
		goto out;
	p = der;
	if ((y = d2i_X509(NULL, &p, (long)derlen)) == NULL ||
	    p != der + derlen) {
		r = SN_ERR_CRYPTO;
		goto out;
	}
	X509_get0_signature(NULL, &outer, y);
	if (X509_ALGOR_cmp(outer, alg) != 0 ||
	    X509_ALGOR_cmp(X509_get0_tbs_sigalg(y), alg) != 0 ||
	    X509_verify(y, s->pub) != 1 ||
	    (X509_get_extension_flags(y) & EXFLAG_INVALID) != 0) {
		r = SN_ERR_CRYPTO;
		goto out;
	}
	*out = y;
	y = NULL;
	r = 0;
 out:
	X509_free(y);
	free(der);
	OPENSSL_free(tbs);
	return r;
}

static int
build_cert(const struct cert_req *cr, char **cert_pem, char **serial_hex)
{
	static const int ku_ca[] = { 5, 6, -1 };	/* keyCertSign, cRLSign */
	/* What the issuing CA issues: code signing and TSA certificates. */
	static const int issuing_ekus[] = { NID_code_sign, NID_time_stamp };
	static const int ku_sig[] = { 0, -1 };		/* digitalSignature */
	static const int ku_rsa_tls[] = { 0, 2, -1 };	/* + keyEncipherment */
	X509 *x = NULL, *ic = NULL, *signed_x = NULL;
	X509_NAME *subject = NULL;
	X509_ALGOR *alg = NULL;
	ASN1_INTEGER *serial = NULL;
	enum sn_hash hash = SN_HASH_NONE;
	int r;

	if (cert_pem != NULL)
		*cert_pem = NULL;
	if (serial_hex != NULL)
		*serial_hex = NULL;
	if (cert_pem == NULL || (r = check_signer(cr->s)) != 0 ||
	    (r = check_validity(cr->nb, cr->na)) != 0 || cr->pub == NULL) {
		r = SN_ERR_INVALID;
		goto out;
	}
	/* Only keys we can also sign with are certified. */
	if (EVP_PKEY_get_base_id(cr->pub) != EVP_PKEY_RSA &&
	    EVP_PKEY_get_base_id(cr->pub) != EVP_PKEY_EC) {
		r = SN_ERR_INVALID;
		goto out;
	}
	if ((r = sig_alg_for(cr->s->pub, &hash, &alg)) != 0)
		goto out;
	if (cr->kind != CERT_ROOT &&
	    (r = load_issuer(cr->s, cr->issuer_pem, &ic)) != 0)
		goto out;
	if (cr->kind == CERT_TLS)
		r = tls_subject(cr->dns, cr->ips, &subject);
	else
		r = ca_parse_dn(cr->subject_dn, &subject);
	if (r != 0)
		goto out;

	if ((x = X509_new()) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	if ((r = random_serial(&serial)) != 0)
		goto out;
	if (!X509_set_version(x, X509_VERSION_3) ||
	    !X509_set_serialNumber(x, serial) ||
	    !X509_set_subject_name(x, subject) ||
	    !X509_set_issuer_name(x, ic != NULL ?
	    X509_get_subject_name(ic) : subject) ||
	    !X509_set_pubkey(x, cr->pub)) {
		r = SN_ERR_CRYPTO;
		goto out;
	}
	if ((r = set_time(cr->nb, X509_set1_notBefore, x)) != 0 ||
	    (r = set_time(cr->na, X509_set1_notAfter, x)) != 0)
		goto out;

	switch (cr->kind) {
	case CERT_ROOT:
		if ((r = ext_basic_constraints(x, 1, -1)) != 0 ||
		    (r = ext_key_usage(x, ku_ca)) != 0 ||
		    (r = ext_ski(x)) != 0)
			goto out;
		break;
	case CERT_INTERMEDIATE:
		/*
		 * The issuing CA carries the extended key usages of what it
		 * issues: verifiers that check EKU along the chain (NSS,
		 * Windows) refuse a code signing leaf under a CA without
		 * codeSigning ("Issuer certificate is invalid"), and a TSA
		 * certificate under a CA without timeStamping.
		 */
		if ((r = ext_basic_constraints(x, 1, 0)) != 0 ||
		    (r = ext_key_usage(x, ku_ca)) != 0 ||
		    (r = ext_eku_list(x, issuing_ekus, sizeof(issuing_ekus) /
		    sizeof(issuing_ekus[0]), 0)) != 0 ||
		    (r = ext_ski(x)) != 0 ||
		    (r = ext_aki(x, ic)) != 0)
			goto out;
		if (cr->crl_url != NULL && (r = ext_crl_dp(x, cr->crl_url)) != 0)
			goto out;
		break;
	case CERT_CODESIGN:
		if ((r = ext_basic_constraints(x, 0, -1)) != 0 ||
		    (r = ext_key_usage(x, ku_sig)) != 0 ||
		    (r = ext_eku(x, NID_code_sign)) != 0 ||
		    (r = ext_ski(x)) != 0 ||
		    (r = ext_aki(x, ic)) != 0)
			goto out;
		if (cr->crl_url != NULL && (r = ext_crl_dp(x, cr->crl_url)) != 0)
			goto out;
		if (cr->ocsp_url != NULL && (r = ext_aia_ocsp(x, cr->ocsp_url)) != 0)
			goto out;
		break;
	case CERT_TSA:
		/* RFC 3161 2.3: timeStamping the only EKU, and critical. */
		if ((r = ext_basic_constraints(x, 0, -1)) != 0 ||
		    (r = ext_key_usage(x, ku_sig)) != 0 ||
		    (r = ext_eku_crit(x, NID_time_stamp, 1)) != 0 ||
		    (r = ext_ski(x)) != 0 ||
		    (r = ext_aki(x, ic)) != 0)
			goto out;
		if (cr->crl_url != NULL && (r = ext_crl_dp(x, cr->crl_url)) != 0)
			goto out;
		if (cr->ocsp_url != NULL && (r = ext_aia_ocsp(x, cr->ocsp_url)) != 0)
			goto out;
		break;
	case CERT_TLS:
		if ((r = ext_basic_constraints(x, 0, -1)) != 0 ||
		    (r = ext_key_usage(x, EVP_PKEY_get_base_id(cr->pub) ==
		    EVP_PKEY_RSA ? ku_rsa_tls : ku_sig)) != 0 ||
		    (r = ext_eku(x, NID_server_auth)) != 0 ||
		    (r = ext_san(x, cr->dns, cr->ips)) != 0 ||
		    (r = ext_ski(x)) != 0 ||
		    (r = ext_aki(x, ic)) != 0)
			goto out;
		break;
	}

	if ((r = sign_cert(cr->s, x, hash, alg, &signed_x)) != 0)
		goto out;
	if ((r = x509_pem(signed_x, cert_pem)) != 0)
		goto out;
	if (serial_hex != NULL &&
	    (r = ca_int_serial_hex(X509_get0_serialNumber(signed_x),
	    serial_hex)) != 0) {
		free(*cert_pem);
		*cert_pem = NULL;
		goto out;
	}
	r = 0;
 out:
	if (r != 0)
		ERR_clear_error();
	X509_free(signed_x);
	X509_free(x);
	X509_free(ic);
	X509_NAME_free(subject);
	X509_ALGOR_free(alg);
	ASN1_INTEGER_free(serial);
	return r;
}

int
ca_make_root(const struct ca_signer *s, const char *subject_dn,
    int64_t not_before, int64_t not_after, char **cert_pem)
{
	struct cert_req cr = { .kind = CERT_ROOT, .s = s,
	    .pub = s != NULL ? s->pub : NULL, .subject_dn = subject_dn,
	    .nb = not_before, .na = not_after };

	return build_cert(&cr, cert_pem, NULL);
}

int
ca_make_intermediate(const struct ca_signer *issuer, const char *issuer_pem,
    EVP_PKEY *pub, const char *subject_dn, int64_t nb, int64_t na,
    const char *crl_url, char **cert_pem)
{
	struct cert_req cr = { .kind = CERT_INTERMEDIATE, .s = issuer,
	    .issuer_pem = issuer_pem, .pub = pub, .subject_dn = subject_dn,
	    .nb = nb, .na = na, .crl_url = crl_url };

	return build_cert(&cr, cert_pem, NULL);
}

/* A code signing or TSA leaf: the public issuers below differ only so. */
static int
issue_leaf(enum cert_kind kind, const struct ca_signer *issuer,
    const char *issuer_pem, EVP_PKEY *pub, const char *subject_dn, int64_t nb,
    int64_t na, const char *crl_url, const char *ocsp_url, char **cert_pem,
    char **serial_hex)
{
	struct cert_req cr = { .kind = kind, .s = issuer,
	    .issuer_pem = issuer_pem, .pub = pub, .subject_dn = subject_dn,
	    .nb = nb, .na = na, .crl_url = crl_url, .ocsp_url = ocsp_url };

	return build_cert(&cr, cert_pem, serial_hex);
}

int
ca_issue_codesign(const struct ca_signer *issuer, const char *issuer_pem,
    EVP_PKEY *leaf_pub, const char *subject_dn, int64_t nb, int64_t na,
    const char *crl_url, char **cert_pem, char **serial_hex)
{
	return issue_leaf(CERT_CODESIGN, issuer, issuer_pem, leaf_pub,
	    subject_dn, nb, na, crl_url, NULL, cert_pem, serial_hex);
}

int
ca_issue_codesign_ocsp(const struct ca_signer *issuer, const char *issuer_pem,
    EVP_PKEY *leaf_pub, const char *subject_dn, int64_t nb, int64_t na,
    const char *crl_url, const char *ocsp_url, char **cert_pem,
    char **serial_hex)
{
	return issue_leaf(CERT_CODESIGN, issuer, issuer_pem, leaf_pub,
	    subject_dn, nb, na, crl_url, ocsp_url, cert_pem, serial_hex);
}

int
ca_issue_tsa(const struct ca_signer *issuer, const char *issuer_pem,
    EVP_PKEY *pub, const char *subject_dn, int64_t nb, int64_t na,
    const char *crl_url, const char *ocsp_url, char **cert_pem,
    char **serial_hex)
{
	return issue_leaf(CERT_TSA, issuer, issuer_pem, pub, subject_dn, nb,
	    na, crl_url, ocsp_url, cert_pem, serial_hex);
}

int
ca_issue_tls_server(const struct ca_signer *issuer, const char *issuer_pem,
    EVP_PKEY *pub, const char *const *dns_names, const char *const *ip_addrs,
    int64_t nb, int64_t na, char **cert_pem)
{
	struct cert_req cr = { .kind = CERT_TLS, .s = issuer,
	    .issuer_pem = issuer_pem, .pub = pub, .nb = nb, .na = na,
	    .dns = dns_names, .ips = ip_addrs };

	return build_cert(&cr, cert_pem, NULL);
}

/* ---- CSR -------------------------------------------------------------- */

int
ca_make_csr(const struct ca_signer *key, const char *subject_dn, char **csr_pem)
{
	X509_REQ *req = NULL, *y = NULL;
	X509_NAME *subject = NULL;
	X509_ALGOR *alg = NULL;
	enum sn_hash hash = SN_HASH_NONE;
	uint8_t *tbs = NULL, *der = NULL;
	const uint8_t *p;
	size_t derlen = 0;
	BIO *b = NULL;
	int tbslen, r;

	if (csr_pem != NULL)
		*csr_pem = NULL;
	if (csr_pem == NULL || (r = check_signer(key)) != 0) {
		r = SN_ERR_INVALID;
		goto out;
	}
	if ((r = sig_alg_for(key->pub, &hash, &alg)) != 0 ||
	    (r = ca_parse_dn(subject_dn, &subject)) != 0)
		goto out;
	if ((req = X509_REQ_new()) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	if (!X509_REQ_set_version(req, X509_REQ_VERSION_1) ||
	    !X509_REQ_set_subject_name(req, subject) ||
	    !X509_REQ_set_pubkey(req, key->pub)) {
		r = SN_ERR_CRYPTO;
		goto out;
	}
	/* CertificationRequestInfo has no inner AlgorithmIdentifier. */
	if ((tbslen = i2d_re_X509_REQ_tbs(req, &tbs)) <= 0) {
		r = SN_ERR_CRYPTO;
		goto out;
	}
	if ((r = sign_and_assemble(key, hash, alg, tbs, (size_t)tbslen,
	    &der, &derlen)) != 0)
		goto out;
	p = der;
	if ((y = d2i_X509_REQ(NULL, &p, (long)derlen)) == NULL ||
	    p != der + derlen || X509_REQ_verify(y, key->pub) != 1) {
		r = SN_ERR_CRYPTO;
		goto out;
	}
	if ((b = BIO_new(BIO_s_mem())) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	if (!PEM_write_bio_X509_REQ(b, y)) {
		r = SN_ERR_CRYPTO;
		goto out;
	}
	r = ca_int_bio_string(b, csr_pem);
 out:
	if (r != 0)
		ERR_clear_error();
	BIO_free(b);
	X509_REQ_free(y);
	X509_REQ_free(req);
	X509_NAME_free(subject);
	X509_ALGOR_free(alg);
	OPENSSL_free(tbs);
	free(der);
	return r;
}

/* ---- CRL -------------------------------------------------------------- */

/*
 * OpenSSL has no setter for TBSCertList.signature and, unlike X509, not even
 * a getter. So the CRL object starts life as a parsed minimal CRL that
 * already carries the right inner AlgorithmIdentifier; every other field is
 * then replaced with the ordinary setters.
 */
static int
crl_from_template(const X509_ALGOR *alg, X509_CRL **out)
{
	static const uint8_t version[] = { 0x02, 0x01, 0x01 };	/* v2 */
	static const uint8_t issuer[] = { 0x30, 0x00 };		/* empty Name */
	static const uint8_t this_update[] = { 0x17, 0x0d, '7', '0', '0', '1',
	    '0', '1', '0', '0', '0', '0', '0', '0', 'Z' };
	static const uint8_t nosig[] = { 0x03, 0x01, 0x00 };	/* empty BIT STRING */
	uint8_t *algder = NULL, buf[256];
	const uint8_t *p;
	size_t tbs, outer, off = 0;
	int alglen, r;

	*out = NULL;
	if ((alglen = i2d_X509_ALGOR(alg, &algder)) <= 0) {
		r = SN_ERR_CRYPTO;
		goto out;
	}
	tbs = sizeof(version) + (size_t)alglen + sizeof(issuer) +
	    sizeof(this_update);
	outer = 2 + tbs + (size_t)alglen + sizeof(nosig);
	/* sig_alg_for's AlgorithmIdentifiers are at most 15 bytes */
	if (SN_NEVER(tbs >= 0x80 || outer >= 0x80 || 2 + outer > sizeof(buf))) {
		r = SN_ERR_INTERNAL;
		goto out;
	}
	buf[off++] = 0x30;
	buf[off++] = (uint8_t)outer;
	buf[off++] = 0x30;
	buf[off++] = (uint8_t)tbs;
	memcpy(buf + off, version, sizeof(version));
	off += sizeof(version);
	memcpy(buf + off, algder, (size_t)alglen);
	off += (size_t)alglen;
	memcpy(buf + off, issuer, sizeof(issuer));
	off += sizeof(issuer);
	memcpy(buf + off, this_update, sizeof(this_update));
	off += sizeof(this_update);
	memcpy(buf + off, algder, (size_t)alglen);
	off += (size_t)alglen;
	memcpy(buf + off, nosig, sizeof(nosig));
	off += sizeof(nosig);
	p = buf;
	if ((*out = d2i_X509_CRL(NULL, &p, (long)off)) == NULL ||
	    p != buf + off) {
		X509_CRL_free(*out);
		*out = NULL;
		r = SN_ERR_CRYPTO;
		goto out;
	}
	r = 0;
 out:
	OPENSSL_free(algder);
	return r;
}

/* Hex serial (1..40 digits, either case) -> INTEGER. */
static int
serial_from_hex(const char *hex, ASN1_INTEGER **out)
{
	BIGNUM *bn = NULL;
	size_t n;
	int r;

	*out = NULL;
	if (hex == NULL || (n = strnlen(hex, 41)) == 0 || n > 40) {
		r = SN_ERR_INVALID;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)hex[i])) {
			r = SN_ERR_INVALID;
			goto out;
		}
	}
	if (BN_hex2bn(&bn, hex) != (int)n ||
	    (*out = BN_to_ASN1_INTEGER(bn, NULL)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	r = 0;
 out:
	BN_free(bn);
	return r;
}

int
ca_reason_parse(const char *name)
{
	static const char *const names[] = { "unspecified", "key-compromise",
	    "superseded", "cessation-of-operation" };

	for (size_t i = 0; name != NULL && i < 4; i++)
		if (strcmp(name, names[i]) == 0)
			return (int)i + CA_REASON_UNSPECIFIED;
	return -1;
}

int
ca_reason_from_name(const char *name)
{
	int r = ca_reason_parse(name);

	return r < 0 ? CA_REASON_NONE : r;
}

const char *
ca_reason_name(int reason)
{
	switch (reason) {
	case CA_REASON_UNSPECIFIED: return "unspecified";
	case CA_REASON_KEY_COMPROMISE: return "key-compromise";
	case CA_REASON_SUPERSEDED: return "superseded";
	case CA_REASON_CESSATION: return "cessation-of-operation";
	default: return NULL;
	}
}

int
ca_reason_crl_code(int reason)
{
	switch (reason) {
	case CA_REASON_KEY_COMPROMISE: return CRL_REASON_KEY_COMPROMISE;
	case CA_REASON_SUPERSEDED: return CRL_REASON_SUPERSEDED;
	case CA_REASON_CESSATION: return CRL_REASON_CESSATION_OF_OPERATION;
	default: return -1;	/* RFC 5280: omit reasonCode for unspecified */
	}
}

/* reasonCode and invalidityDate entry extensions (RFC 5280 5.3.1, 5.3.2). */
static int
revoked_entry_exts(X509_REVOKED *xr, const struct ca_revoked *rv)
{
	ASN1_ENUMERATED *e = NULL;
	ASN1_GENERALIZEDTIME *g = NULL;
	int code = ca_reason_crl_code(rv->reason), r = 0;

	if (code >= 0) {
		if ((e = ASN1_ENUMERATED_new()) == NULL ||
		    !ASN1_ENUMERATED_set(e, code) ||
		    !X509_REVOKED_add1_ext_i2d(xr, NID_crl_reason, e, 0, 0))
			r = SN_ERR_NOMEM;
	}
	if (r == 0 && rv->invalidity_date != 0) {
		if (rv->invalidity_date < 0 || rv->invalidity_date > CA_TIME_MAX)
			r = SN_ERR_INVALID;
		else if ((g = ASN1_GENERALIZEDTIME_set(NULL,
		    (time_t)rv->invalidity_date)) == NULL ||
		    !X509_REVOKED_add1_ext_i2d(xr, NID_invalidity_date, g, 0, 0))
			r = SN_ERR_NOMEM;
	}
	ASN1_ENUMERATED_free(e);
	ASN1_GENERALIZEDTIME_free(g);
	return r;
}

static int
crl_add_revoked(X509_CRL *crl, const struct ca_revoked *rv)
{
	X509_REVOKED *xr = NULL;
	ASN1_INTEGER *serial = NULL;
	ASN1_TIME *when = NULL;
	int r;

	if (rv->revoked_at < 0 || rv->revoked_at > CA_TIME_MAX) {
		r = SN_ERR_INVALID;
		goto out;
	}
	if ((r = serial_from_hex(rv->serial_hex, &serial)) != 0)
		goto out;
	if ((when = ASN1_TIME_set(NULL, (time_t)rv->revoked_at)) == NULL ||
	    (xr = X509_REVOKED_new()) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	if (!X509_REVOKED_set_serialNumber(xr, serial) ||
	    !X509_REVOKED_set_revocationDate(xr, when)) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	if ((r = revoked_entry_exts(xr, rv)) != 0)
		goto out;
	if (!X509_CRL_add0_revoked(crl, xr)) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	xr = NULL;
	r = 0;
 out:
	X509_REVOKED_free(xr);
	ASN1_INTEGER_free(serial);
	ASN1_TIME_free(when);
	return r;
}

int
ca_make_crl(const struct ca_signer *issuer, const char *issuer_pem,
    const struct ca_revoked *rev, size_t nrev, int64_t crl_number,
    int64_t this_update, int64_t next_update, uint8_t **der, size_t *derlen)
{
	X509_CRL *crl = NULL, *y = NULL;
	X509 *ic = NULL;
	X509_ALGOR *alg = NULL;
	ASN1_INTEGER *num = NULL;
	ASN1_TIME *t = NULL;
	AUTHORITY_KEYID *akid = NULL;
	enum sn_hash hash = SN_HASH_NONE;
	uint8_t *tbs = NULL, *out = NULL;
	const uint8_t *p;
	size_t outlen = 0;
	int tbslen, r;

	if (der != NULL)
		*der = NULL;
	if (derlen != NULL)
		*derlen = 0;
	if (der == NULL || derlen == NULL || (r = check_signer(issuer)) != 0 ||
	    (r = check_validity(this_update, next_update)) != 0 ||
	    crl_number < 0 || nrev > CA_CRL_MAX_ENTRIES ||
	    (nrev > 0 && rev == NULL)) {
		r = SN_ERR_INVALID;
		goto out;
	}
	if ((r = sig_alg_for(issuer->pub, &hash, &alg)) != 0 ||
	    (r = load_issuer(issuer, issuer_pem, &ic)) != 0 ||
	    (r = crl_from_template(alg, &crl)) != 0)
		goto out;
	if (!X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(ic))) {
		r = SN_ERR_CRYPTO;
		goto out;
	}
	if ((t = ASN1_TIME_set(NULL, (time_t)this_update)) == NULL ||
	    !X509_CRL_set1_lastUpdate(crl, t)) {
		r = SN_ERR_CRYPTO;
		goto out;
	}
	ASN1_TIME_free(t);
	if ((t = ASN1_TIME_set(NULL, (time_t)next_update)) == NULL ||
	    !X509_CRL_set1_nextUpdate(crl, t)) {
		r = SN_ERR_CRYPTO;
		goto out;
	}
	for (size_t i = 0; i < nrev; i++)
		if ((r = crl_add_revoked(crl, &rev[i])) != 0)
			goto out;
	if ((num = ASN1_INTEGER_new()) == NULL ||
	    !ASN1_INTEGER_set_int64(num, crl_number)) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	if ((r = make_akid(ic, &akid)) != 0)
		goto out;
	if (X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, akid, 0,
	    X509V3_ADD_REPLACE) != 1 ||
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0,
	    X509V3_ADD_REPLACE) != 1 ||
	    !X509_CRL_sort(crl)) {
		r = SN_ERR_CRYPTO;
		goto out;
	}
	if ((tbslen = i2d_re_X509_CRL_tbs(crl, &tbs)) <= 0) {
		r = SN_ERR_CRYPTO;
		goto out;
	}
	if ((r = sign_and_assemble(issuer, hash, alg, tbs, (size_t)tbslen,
	    &out, &outlen)) != 0)
		goto out;
	p = out;
	if ((y = d2i_X509_CRL(NULL, &p, (long)outlen)) == NULL ||
	    p != out + outlen || X509_CRL_verify(y, issuer->pub) != 1) {
		r = SN_ERR_CRYPTO;
		goto out;
	}
	*der = out;
	*derlen = outlen;
	out = NULL;
	r = 0;
 out:
	if (r != 0)
		ERR_clear_error();
	free(out);
	OPENSSL_free(tbs);
	X509_CRL_free(y);
	X509_CRL_free(crl);
	X509_free(ic);
	X509_ALGOR_free(alg);
	ASN1_INTEGER_free(num);
	ASN1_TIME_free(t);
	AUTHORITY_KEYID_free(akid);
	return r;
}

/* ---- software signer -------------------------------------------------- */

static int
pkey_sign_digest(void *arg, enum sn_hash hash, const uint8_t *digest,
    size_t dlen, uint8_t **sig, size_t *siglen)
{
	EVP_PKEY *pkey = arg;
	EVP_PKEY_CTX *ctx = NULL;
	const EVP_MD *md = sn_hash_md(hash);
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	*sig = NULL;
	*siglen = 0;
	if (md == NULL || dlen != sn_hash_len(hash)) {
		r = SN_ERR_INVALID;
		goto out;
	}
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	if (EVP_PKEY_sign_init(ctx) <= 0 ||
	    (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0) ||
	    EVP_PKEY_CTX_set_signature_md(ctx, md) <= 0 ||
	    EVP_PKEY_sign(ctx, NULL, &len, digest, dlen) <= 0) {
		r = SN_ERR_CRYPTO;
		goto out;
	}
	if ((buf = malloc(len)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	if (EVP_PKEY_sign(ctx, buf, &len, digest, dlen) <= 0) {
		r = SN_ERR_CRYPTO;
		goto out;
	}
	*sig = buf;
	*siglen = len;
	buf = NULL;
	r = 0;
 out:
	if (r != 0)
		ERR_clear_error();
	free(buf);
	EVP_PKEY_CTX_free(ctx);
	return r;
}

int
ca_signer_from_pkey(EVP_PKEY *priv, struct ca_signer *out)
{
	int id;

	if (out == NULL)
		return SN_ERR_INVALID;
	memset(out, 0, sizeof(*out));
	if (priv == NULL)
		return SN_ERR_INVALID;
	id = EVP_PKEY_get_base_id(priv);
	if (id != EVP_PKEY_RSA && id != EVP_PKEY_EC)
		return SN_ERR_INVALID;
	out->pub = priv;
	out->sign_digest = pkey_sign_digest;
	out->arg = priv;
	return 0;
}
