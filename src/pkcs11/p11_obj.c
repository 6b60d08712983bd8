/*
 * p11_obj.c - the token's objects, built from GET /v1/me/keys: the one key
 * a search template names (?key=), or every key, and then only read
 * (attribute queries, template matching). Objects are only ever appended,
 * so a handle, once given out, names the same object until C_Finalize.
 *
 * Per signing key the token holds a private key (CKA_SIGN, sensitive, never
 * extractable; it carries only public components so consumers can learn the
 * key size), the public key, and the certificate if the key has one, all
 * three with CKA_ID = the key's id bytes and CKA_LABEL = "PROJECT/KEY". The
 * CA certificates of every chain follow, deduplicated, as "authority"
 * certificates with their own ids (the subject key identifier).
 *
 * This file must never hold private key material: there is none to hold.
 * Asking for a private key's secret components yields CKR_ATTRIBUTE_SENSITIVE
 * because that is what a real token says, not because anything is hidden.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "encode.h"
#include "err.h"
#include "p11_int.h"
#include "pem.h"

#define P11_MAX_ATTRS	64

struct p11_object *
p11_obj_new(CK_OBJECT_CLASS cls)
{
	struct p11_object *o;

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return NULL;
	o->cls = cls;
	if (p11_obj_set_ulong(o, CKA_CLASS, cls) != 0) {
		p11_obj_free(o);
		return NULL;
	}
	return o;
}

void
p11_obj_free(struct p11_object *o)
{
	if (o == NULL)
		return;
	for (size_t i = 0; i < o->nattrs; i++)
		free(o->attrs[i].val);
	free(o->attrs);
	free(o->key_id);
	free(o->pem);
	free(o);
}

const struct p11_attr *
p11_obj_attr(const struct p11_object *o, CK_ATTRIBUTE_TYPE type)
{
	for (size_t i = 0; i < o->nattrs; i++) {
		if (o->attrs[i].type == type)
			return &o->attrs[i];
	}
	return NULL;
}

int
p11_obj_set(struct p11_object *o, CK_ATTRIBUTE_TYPE type, const void *val,
    size_t len)
{
	struct p11_attr *a = NULL, *na;
	uint8_t *copy = NULL;

	if (len > P11_MAX_ATTR_LEN)
		return SN_ERR_TOO_LARGE;
	if (len > 0) {
		if ((copy = malloc(len)) == NULL)
			return SN_ERR_NOMEM;
		memcpy(copy, val, len);
	}
	for (size_t i = 0; i < o->nattrs; i++) {
		if (o->attrs[i].type == type) {
			a = &o->attrs[i];
			free(a->val);
			break;
		}
	}
	if (a == NULL) {
		if (o->nattrs == o->cap) {
			size_t ncap = o->cap ? o->cap * 2 : 16;

			if (ncap > P11_MAX_ATTRS) {
				free(copy);
				return SN_ERR_TOO_LARGE;
			}
			na = reallocarray(o->attrs, ncap, sizeof(*na));
			if (na == NULL) {
				free(copy);
				return SN_ERR_NOMEM;
			}
			o->attrs = na;
			o->cap = ncap;
		}
		a = &o->attrs[o->nattrs++];
		a->type = type;
	}
	a->val = copy;
	a->len = len;
	return 0;
}

int
p11_obj_set_bool(struct p11_object *o, CK_ATTRIBUTE_TYPE type, int v)
{
	CK_BBOOL b = v ? CK_TRUE : CK_FALSE;

	return p11_obj_set(o, type, &b, sizeof(b));
}

int
p11_obj_set_ulong(struct p11_object *o, CK_ATTRIBUTE_TYPE type, CK_ULONG v)
{
	return p11_obj_set(o, type, &v, sizeof(v));
}

int
p11_obj_match(const struct p11_object *o, const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
	const struct p11_attr *a;

	for (CK_ULONG i = 0; i < n; i++) {
		if ((a = p11_obj_attr(o, tmpl[i].type)) == NULL)
			return 0;
		if (a->len != tmpl[i].ulValueLen)
			return 0;
		if (a->len > 0 && (tmpl[i].pValue == NULL ||
		    memcmp(a->val, tmpl[i].pValue, a->len) != 0))
			return 0;
	}
	return 1;
}

static int
is_sensitive(const struct p11_object *o, CK_ATTRIBUTE_TYPE type)
{
	if (o->cls != CKO_PRIVATE_KEY)
		return 0;
	switch (type) {
	case CKA_VALUE:
	case CKA_PRIVATE_EXPONENT:
	case CKA_PRIME_1:
	case CKA_PRIME_2:
	case CKA_EXPONENT_1:
	case CKA_EXPONENT_2:
	case CKA_COEFFICIENT:
		return 1;
	default:
		return 0;
	}
}

CK_RV
p11_obj_get_attributes(const struct p11_object *o, CK_ATTRIBUTE *tmpl,
    CK_ULONG n)
{
	const struct p11_attr *a;
	CK_RV rv = CKR_OK;

	/*
	 * The spec ranks no error above another; we report the last one seen,
	 * after processing every entry as section 5.7 requires.
	 */
	for (CK_ULONG i = 0; i < n; i++) {
		if (is_sensitive(o, tmpl[i].type)) {
			tmpl[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
			rv = CKR_ATTRIBUTE_SENSITIVE;
			continue;
		}
		if ((a = p11_obj_attr(o, tmpl[i].type)) == NULL) {
			tmpl[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
			rv = CKR_ATTRIBUTE_TYPE_INVALID;
			continue;
		}
		if (tmpl[i].pValue == NULL) {
			tmpl[i].ulValueLen = a->len;
			continue;
		}
		if (tmpl[i].ulValueLen < a->len) {
			tmpl[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
			rv = CKR_BUFFER_TOO_SMALL;
			continue;
		}
		if (a->len > 0)
			memcpy(tmpl[i].pValue, a->val, a->len);
		tmpl[i].ulValueLen = a->len;
	}
	return rv;
}

void
p11_token_free(struct p11_token *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nobjs; i++)
		p11_obj_free(t->objs[i]);
	free(t->objs);
	free(t->cas);
	free(t);
}

const struct p11_object *
p11_token_find(const struct p11_token *t, CK_OBJECT_HANDLE h)
{
	/* Handles are 1..nobjs in creation order. */
	if (t == NULL || h == 0 || h > t->nobjs)
		return NULL;
	return t->objs[h - 1];
}

/* Takes ownership of o (freed on failure). */
static int
token_add(struct p11_token *t, struct p11_object *o)
{
	struct p11_object **n;

	if (t->nobjs >= P11_MAX_OBJECTS) {
		p11_obj_free(o);
		return SN_ERR_TOO_LARGE;
	}
	if (t->nobjs == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 32;

		if ((n = reallocarray(t->objs, ncap, sizeof(*n))) == NULL) {
			p11_obj_free(o);
			return SN_ERR_NOMEM;
		}
		t->objs = n;
		t->cap = ncap;
	}
	o->handle = (CK_OBJECT_HANDLE)t->nobjs + 1;
	t->objs[t->nobjs++] = o;
	return 0;
}

/* An authority certificate: added and indexed in t->cas. Takes ownership
 * of o (freed on failure), as token_add. */
static int
token_add_ca(struct p11_token *t, struct p11_object *o)
{
	struct p11_object **n;
	size_t ncap;
	int r;

	if (t->ncas == t->cacap) {
		ncap = t->cacap ? t->cacap * 2 : 8;
		if ((n = reallocarray(t->cas, ncap, sizeof(*n))) == NULL) {
			p11_obj_free(o);
			return SN_ERR_NOMEM;
		}
		t->cas = n;
		t->cacap = ncap;
	}
	if ((r = token_add(t, o)) != 0)
		return r;
	t->cas[t->ncas++] = o;
	return 0;
}

int
p11_uri_id(const char *uri, uint8_t **id, size_t *idlen)
{
	const char *p, *end;
	uint8_t *buf = NULL;
	size_t n = 0;
	int hi, lo;

	*id = NULL;
	*idlen = 0;
	if (strncmp(uri, "pkcs11:", 7) != 0)
		return SN_ERR_INVALID;
	/* Path attributes are separated by ';', the query starts at '?'. */
	for (p = uri + 7; *p != '\0' && *p != '?'; p = end + (*end == ';')) {
		end = p + strcspn(p, ";?");
		if (strncmp(p, "id=", 3) != 0)
			continue;
		p += 3;
		if ((buf = malloc((size_t)(end - p) + 1)) == NULL)
			return SN_ERR_NOMEM;
		while (p < end) {
			if (*p == '%') {
				if (end - p < 3 || (hi = sn_hexval(p[1])) < 0 ||
				    (lo = sn_hexval(p[2])) < 0) {
					free(buf);
					return SN_ERR_INVALID;
				}
				buf[n++] = (uint8_t)(hi << 4 | lo);
				p += 3;
			} else
				buf[n++] = (uint8_t)*p++;
		}
		if (n == 0) {
			free(buf);
			return SN_ERR_INVALID;
		}
		*id = buf;
		*idlen = n;
		return 0;
	}
	return SN_ERR_NOT_FOUND;
}

/*
 * The CKA_ID of a key. The server's pkcs11_uri is the authority (so the URI
 * `signet keys` prints always finds the object); without one, the 16 bytes
 * of the id's hex part, and failing that the id string itself.
 */
static int
key_ckaid(json_t *key, const char *key_id, uint8_t **id, size_t *idlen)
{
	const char *uri = json_string_value(json_object_get(key, "pkcs11_uri"));
	const char *us;
	int r;

	if (uri != NULL && (r = p11_uri_id(uri, id, idlen)) != SN_ERR_NOT_FOUND)
		return r;
	if ((us = strchr(key_id, '_')) != NULL && strlen(us + 1) == 32 &&
	    sn_hex_decode(us + 1, 32, id, idlen) == 0)
		return 0;
	if ((*id = (uint8_t *)strdup(key_id)) == NULL)
		return SN_ERR_NOMEM;
	*idlen = strlen(key_id);
	return 0;
}

/*
 * What a token needs of a public key, read from its SubjectPublicKeyInfo
 * DER with OpenSSL's ASN.1 types, no key object made: OpenSSL 3 makes one
 * through a provider decoder search (about 4 million instructions, paid by
 * every key of a listing), and in a process with an ENGINE (libp11's)
 * the cheaper d2i_PUBKEY makes an engine key whose parameters cannot be
 * read. For RSA a, b = modulus, public exponent (big-endian, no leading
 * zero); for EC a = the curve's OID (CKA_EC_PARAMS), b = the DER OCTET
 * STRING of the X9.62 uncompressed point (CKA_EC_POINT).
 */
struct spki_attrs {
	CK_KEY_TYPE kt;
	CK_ULONG bits;
	uint8_t *a, *b;		/* OPENSSL_malloc'd */
	size_t alen, blen;
};

static void
spki_attrs_clear(struct spki_attrs *sa)
{
	OPENSSL_free(sa->a);
	OPENSSL_free(sa->b);
	memset(sa, 0, sizeof(*sa));
}

/* The unsigned big-endian bytes of a positive INTEGER. */
static int
int_bytes(const ASN1_INTEGER *ai, uint8_t **out, size_t *len, int *bits)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(ai, NULL);
	int n, r = SN_ERR_INVALID;

	if (bn == NULL || BN_is_negative(bn) || BN_is_zero(bn) ||
	    (n = BN_num_bytes(bn)) <= 0)
		goto out;
	r = SN_ERR_NOMEM;
	if ((*out = OPENSSL_malloc((size_t)n)) == NULL)
		goto out;
	BN_bn2bin(bn, *out);
	*len = (size_t)n;
	if (bits != NULL)
		*bits = BN_num_bits(bn);
	r = 0;
 out:
	BN_free(bn);
	return r;
}

/* RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } */
static int
spki_rsa(const uint8_t *p, size_t len, struct spki_attrs *sa)
{
	const unsigned char *q = p, *end = p + len;
	ASN1_INTEGER *n = NULL, *e = NULL;
	long slen;
	int tag, cls, bits = 0, r = SN_ERR_INVALID;

	if (len > LONG_MAX || (ASN1_get_object(&q, &slen, &tag, &cls,
	    (long)len) & 0x80) != 0 || tag != V_ASN1_SEQUENCE ||
	    cls != V_ASN1_UNIVERSAL || q + slen != end)
		goto out;
	if ((n = d2i_ASN1_INTEGER(NULL, &q, end - q)) == NULL ||
	    (e = d2i_ASN1_INTEGER(NULL, &q, end - q)) == NULL || q != end)
		goto out;
	if ((r = int_bytes(n, &sa->a, &sa->alen, &bits)) != 0 ||
	    (r = int_bytes(e, &sa->b, &sa->blen, NULL)) != 0)
		goto out;
	/* the service makes 2048 to 4096 bits; anything far outside is
	 * not a key it sent */
	if (bits < 1024 || bits > 16384) {
		r = SN_ERR_INVALID;
		goto out;
	}
	sa->kt = CKK_RSA;
	sa->bits = (CK_ULONG)bits;
	r = 0;
 out:
	ASN1_INTEGER_free(n);
	ASN1_INTEGER_free(e);
	return r;
}

/* A named curve's OID and an uncompressed point of its size. */
static int
spki_ec(const ASN1_OBJECT *curve, const uint8_t *p, size_t len,
    struct spki_attrs *sa)
{
	ASN1_OCTET_STRING *os = NULL;
	uint8_t *d;
	int bits, n, r = SN_ERR_INVALID;

	switch (OBJ_obj2nid(curve)) {
	case NID_X9_62_prime256v1:
		bits = 256;
		break;
	case NID_secp384r1:
		bits = 384;
		break;
	case NID_secp521r1:
		bits = 521;
		break;
	default:
		return SN_ERR_INVALID;
	}
	if (len != 1 + 2 * (size_t)((bits + 7) / 8) || p[0] != 0x04)
		return SN_ERR_INVALID;
	r = SN_ERR_NOMEM;
	if ((n = i2d_ASN1_OBJECT(curve, NULL)) <= 0 ||
	    (sa->a = OPENSSL_malloc((size_t)n)) == NULL)
		goto out;
	d = sa->a;
	i2d_ASN1_OBJECT(curve, &d);
	sa->alen = (size_t)n;
	d = NULL;
	if ((os = ASN1_OCTET_STRING_new()) == NULL ||
	    !ASN1_OCTET_STRING_set(os, p, (int)len) ||
	    (n = i2d_ASN1_OCTET_STRING(os, &d)) <= 0)
		goto out;
	sa->b = d;
	sa->blen = (size_t)n;
	sa->kt = CKK_EC;
	sa->bits = (CK_ULONG)bits;
	r = 0;
 out:
	ASN1_OCTET_STRING_free(os);
	return r;
}

/*
 * SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier,
 * subjectPublicKey BIT STRING }, every byte consumed. SN_ERR_INVALID for
 * anything but an RSA key or an EC key on P-256, P-384 or P-521.
 */
static int
spki_parse(const uint8_t *der, size_t len, struct spki_attrs *sa)
{
	const unsigned char *q = der, *end = der + len;
	X509_ALGOR *alg = NULL;
	ASN1_BIT_STRING *bs = NULL;
	const ASN1_OBJECT *obj;
	const void *pval;
	long slen;
	int ptype, tag, cls, r = SN_ERR_INVALID;

	memset(sa, 0, sizeof(*sa));
	if (len > LONG_MAX || (ASN1_get_object(&q, &slen, &tag, &cls,
	    (long)len) & 0x80) != 0 || tag != V_ASN1_SEQUENCE ||
	    cls != V_ASN1_UNIVERSAL || q + slen != end)
		goto out;
	if ((alg = d2i_X509_ALGOR(NULL, &q, end - q)) == NULL ||
	    (bs = d2i_ASN1_BIT_STRING(NULL, &q, end - q)) == NULL || q != end ||
	    (bs->flags & 0x07) != 0)	/* whole bytes only */
		goto out;
	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	switch (OBJ_obj2nid(obj)) {
	case NID_rsaEncryption:
		r = ptype == V_ASN1_NULL ? spki_rsa(ASN1_STRING_get0_data(bs),
		    (size_t)ASN1_STRING_length(bs), sa) : SN_ERR_INVALID;
		break;
	case NID_X9_62_id_ecPublicKey:
		r = ptype == V_ASN1_OBJECT ? spki_ec(pval,
		    ASN1_STRING_get0_data(bs), (size_t)ASN1_STRING_length(bs),
		    sa) : SN_ERR_INVALID;
		break;
	default:
		break;
	}
 out:
	if (r != 0)
		spki_attrs_clear(sa);
	X509_ALGOR_free(alg);
	ASN1_BIT_STRING_free(bs);
	return r;
}

/*
 * Attributes that describe a public key, set on key and public key objects;
 * spki is the key's SubjectPublicKeyInfo DER as the service sent it, sa
 * what spki_parse read of it.
 */
static int
set_pubkey_attrs(struct p11_object *o, const uint8_t *spki, size_t spkilen,
    const struct spki_attrs *sa)
{
	int r;

	if ((r = p11_obj_set(o, CKA_PUBLIC_KEY_INFO, spki, spkilen)) != 0)
		return r;
	if (sa->kt == CKK_RSA) {
		if ((r = p11_obj_set(o, CKA_MODULUS, sa->a, sa->alen)) != 0 ||
		    (r = p11_obj_set(o, CKA_PUBLIC_EXPONENT, sa->b,
		    sa->blen)) != 0)
			return r;
		if (o->cls == CKO_PUBLIC_KEY &&
		    (r = p11_obj_set_ulong(o, CKA_MODULUS_BITS, sa->bits)) != 0)
			return r;
	} else {
		if ((r = p11_obj_set(o, CKA_EC_PARAMS, sa->a, sa->alen)) != 0 ||
		    (r = p11_obj_set(o, CKA_EC_POINT, sa->b, sa->blen)) != 0)
			return r;
	}
	return p11_obj_set_ulong(o, CKA_KEY_TYPE, sa->kt);
}

static int
set_storage_attrs(struct p11_object *o, const char *label)
{
	int r;

	if ((r = p11_obj_set_bool(o, CKA_TOKEN, 1)) != 0 ||
	    (r = p11_obj_set_bool(o, CKA_PRIVATE, 0)) != 0 ||
	    (r = p11_obj_set_bool(o, CKA_MODIFIABLE, 0)) != 0 ||
	    (r = p11_obj_set_bool(o, CKA_COPYABLE, 0)) != 0 ||
	    (r = p11_obj_set_bool(o, CKA_DESTROYABLE, 0)) != 0 ||
	    (r = p11_obj_set(o, CKA_LABEL, label, strlen(label))) != 0)
		return r;
	return 0;
}

static int
set_allowed_mechs(struct p11_object *o, CK_KEY_TYPE kt)
{
	const struct p11_mech_info *t;
	CK_MECHANISM_TYPE m[32];
	size_t n, k = 0;

	t = p11_mech_table(&n);
	for (size_t i = 0; i < n && k < 32; i++) {
		if (t[i].key_type == kt)
			m[k++] = t[i].type;
	}
	return p11_obj_set(o, CKA_ALLOWED_MECHANISMS, m, k * sizeof(m[0]));
}

static int
set_key_attrs(struct p11_object *o, const uint8_t *id, size_t idlen,
    const char *label, const uint8_t *subj, size_t subjlen)
{
	int r;

	if ((r = set_storage_attrs(o, label)) != 0 ||
	    (r = p11_obj_set(o, CKA_ID, id, idlen)) != 0 ||
	    (r = p11_obj_set(o, CKA_START_DATE, NULL, 0)) != 0 ||
	    (r = p11_obj_set(o, CKA_END_DATE, NULL, 0)) != 0 ||
	    (r = p11_obj_set_bool(o, CKA_DERIVE, 0)) != 0 ||
	    (r = p11_obj_set_bool(o, CKA_LOCAL, 1)) != 0 ||
	    (r = p11_obj_set_ulong(o, CKA_KEY_GEN_MECHANISM,
	    CK_UNAVAILABLE_INFORMATION)) != 0 ||
	    (r = p11_obj_set(o, CKA_SUBJECT, subj, subjlen)) != 0)
		return r;
	return 0;
}

static int
set_date(struct p11_object *o, CK_ATTRIBUTE_TYPE type,
    const struct sn_cert_time *t)
{
	const struct tm *tm = &t->tm;
	CK_DATE d;
	char buf[40];

	if (!t->ok || tm->tm_year < 0 || tm->tm_year + 1900 > 9999)
		return p11_obj_set(o, type, NULL, 0);
	snprintf(buf, sizeof(buf), "%04d%02d%02d", tm->tm_year + 1900,
	    (tm->tm_mon + 1) % 100, tm->tm_mday % 100);
	memcpy(d.year, buf, 4);
	memcpy(d.month, buf + 4, 2);
	memcpy(d.day, buf + 6, 2);
	return p11_obj_set(o, type, &d, sizeof(d));
}

/*
 * A certificate object from the certificate's DER and the fields read from
 * it (sn_cert_fields): every attribute is a copy of bytes the service
 * sent, nothing is encoded again.
 */
static int
make_cert(const uint8_t *der, size_t len, const struct sn_cert_fields *cf,
    const uint8_t *id, size_t idlen, const char *label, CK_ULONG category,
    struct p11_object **out)
{
	struct p11_object *o = NULL;
	uint8_t sha[SHA_DIGEST_LENGTH];
	int r;

	*out = NULL;
	if ((o = p11_obj_new(CKO_CERTIFICATE)) == NULL)
		return SN_ERR_NOMEM;
	SHA1(der, len, sha);
	if ((r = set_storage_attrs(o, label)) != 0 ||
	    (r = p11_obj_set_ulong(o, CKA_CERTIFICATE_TYPE, CKC_X_509)) != 0 ||
	    (r = p11_obj_set_bool(o, CKA_TRUSTED, 0)) != 0 ||
	    (r = p11_obj_set_ulong(o, CKA_CERTIFICATE_CATEGORY, category)) != 0 ||
	    (r = p11_obj_set(o, CKA_CHECK_VALUE, sha, 3)) != 0 ||
	    (r = set_date(o, CKA_START_DATE, &cf->not_before)) != 0 ||
	    (r = set_date(o, CKA_END_DATE, &cf->not_after)) != 0 ||
	    (r = p11_obj_set(o, CKA_PUBLIC_KEY_INFO, cf->spki.p,
	    cf->spki.len)) != 0 ||
	    (r = p11_obj_set(o, CKA_SUBJECT, cf->subject.p,
	    cf->subject.len)) != 0 ||
	    (r = p11_obj_set(o, CKA_ID, id, idlen)) != 0 ||
	    (r = p11_obj_set(o, CKA_ISSUER, cf->issuer.p,
	    cf->issuer.len)) != 0 ||
	    (r = p11_obj_set(o, CKA_SERIAL_NUMBER, cf->serial.p,
	    cf->serial.len)) != 0 ||
	    (r = p11_obj_set(o, CKA_VALUE, der, len)) != 0 ||
	    (r = p11_obj_set(o, CKA_URL, NULL, 0)) != 0 ||
	    (r = p11_obj_set(o, CKA_HASH_OF_SUBJECT_PUBLIC_KEY, NULL, 0)) != 0 ||
	    (r = p11_obj_set(o, CKA_HASH_OF_ISSUER_PUBLIC_KEY, NULL, 0)) != 0 ||
	    (r = p11_obj_set_ulong(o, CKA_JAVA_MIDP_SECURITY_DOMAIN, 0)) != 0 ||
	    (r = p11_obj_set_ulong(o, CKA_NAME_HASH_ALGORITHM, CKM_SHA_1)) != 0) {
		p11_obj_free(o);
		return r;
	}
	*out = o;
	return 0;
}

/* 1 if a certificate with this DER value is already on the token. */
static int
token_has_cert(const struct p11_token *t, const uint8_t *der, size_t len)
{
	const struct p11_attr *a;

	for (size_t i = 0; i < t->nobjs; i++) {
		if (t->objs[i]->cls != CKO_CERTIFICATE)
			continue;
		a = p11_obj_attr(t->objs[i], CKA_VALUE);
		if (a != NULL && a->len == len && memcmp(a->val, der, len) == 0)
			return 1;
	}
	return 0;
}

/* Adds one chain certificate as an authority certificate, once. */
static int
add_ca_cert(struct p11_token *t, const char *pem)
{
	struct p11_object *o = NULL;
	X509 *x = NULL;
	uint8_t *der = NULL;
	const unsigned char *p;
	const ASN1_OCTET_STRING *ski;
	uint8_t idbuf[SHA_DIGEST_LENGTH];
	const uint8_t *id = idbuf;
	unsigned int idlen = sizeof(idbuf);
	struct sn_cert_fields cf;
	size_t len;
	char cn[256] = "CA";
	int r = SN_ERR_PROTOCOL;

	/*
	 * Every key of a tenant's CA carries the same chain: a certificate
	 * already on the token is found by its PEM text, then by its DER,
	 * before it is parsed (a d2i_X509 is about 1.5 million
	 * instructions, a PEM decoding 35 thousand).
	 */
	for (size_t i = 0; i < t->ncas; i++)
		if (strcmp(t->cas[i]->pem, pem) == 0)
			return 0;
	if (pem_read_der(pem, strlen(pem), "CERTIFICATE", &der, &len) != 0)
		goto out;
	if (token_has_cert(t, der, len)) {
		r = 0;
		goto out;
	}
	p = der;
	if (sn_cert_fields(der, len, &cf) != 0 || len > LONG_MAX ||
	    (x = d2i_X509(NULL, &p, (long)len)) == NULL || p != der + len)
		goto out;
	r = SN_ERR_CRYPTO;
	/*
	 * The subject key identifier is what other tokens use as a CA's
	 * CKA_ID; it is 20 bytes and so never equals a 16-byte key id.
	 */
	if ((ski = X509_get0_subject_key_id(x)) != NULL &&
	    ASN1_STRING_length(ski) > 0) {
		id = ASN1_STRING_get0_data(ski);
		idlen = (unsigned int)ASN1_STRING_length(ski);
	} else if (!X509_pubkey_digest(x, EVP_sha1(), idbuf, &idlen))
		goto out;
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(x),
	    NID_commonName, cn, sizeof(cn)) <= 0)
		snprintf(cn, sizeof(cn), "CA");
	if ((r = make_cert(der, len, &cf, id, idlen, cn, 2, &o)) != 0)
		goto out;
	if ((o->pem = strdup(pem)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	r = token_add_ca(t, o);
	o = NULL;
 out:
	p11_obj_free(o);
	OPENSSL_free(der);
	X509_free(x);
	return r;
}

/* Adds private key, public key and certificate of one key. */
static int
add_key(struct p11_token *t, json_t *key, int *skipped)
{
	struct p11_object *priv = NULL, *pub = NULL, *cert = NULL;
	struct spki_attrs sa = { 0 };
	struct sn_cert_fields cf;
	uint8_t *id = NULL, *spki = NULL, *cder = NULL;
	const uint8_t *subj = NULL;
	size_t idlen, subjlen = 0, spkilen = 0, cderlen = 0;
	const char *kid, *name, *proj, *state, *pem, *cpem;
	char label[2 * 64 + 2];
	json_t *chain, *v;
	size_t i;
	int r;

	*skipped = 0;
	kid = json_string_value(json_object_get(key, "id"));
	name = json_string_value(json_object_get(key, "name"));
	state = json_string_value(json_object_get(key, "state"));
	pem = json_string_value(json_object_get(key, "public_key"));
	cpem = json_string_value(json_object_get(key, "certificate"));
	proj = json_string_value(json_object_get(json_object_get(key,
	    "project"), "name"));
	/* A key we cannot describe is left out rather than failing all. */
	if (kid == NULL || name == NULL || proj == NULL || pem == NULL) {
		*skipped = 1;
		return 0;
	}
	/*
	 * The label is PROJECT/KEY, never the bare name: two projects may
	 * each have a key "release", and consumers that look keys up by label
	 * (pkcs11-provider, libp11, Java's aliases) would pick either one.
	 * Names are at most 64 characters, so a longer label means an answer
	 * we do not understand.
	 */
	if ((size_t)snprintf(label, sizeof(label), "%s/%s", proj, name) >=
	    sizeof(label)) {
		*skipped = 1;
		return 0;
	}
	/* Only keys that can sign now appear: a disabled key is no use. */
	if (state != NULL && strcmp(state, "active") != 0) {
		*skipped = 1;
		return 0;
	}
	/* its DER as the service sent it: CKA_PUBLIC_KEY_INFO */
	if (pem_read_der(pem, strlen(pem), "PUBLIC KEY", &spki,
	    &spkilen) != 0 || spki_parse(spki, spkilen, &sa) != 0) {
		*skipped = 1;
		r = 0;
		goto out;
	}
	if ((r = key_ckaid(key, kid, &id, &idlen)) != 0)
		goto out;
	/* the certificate's fields as byte ranges of its DER (cert_fields.c):
	 * a d2i_X509 per key was most of what a large listing cost */
	if (cpem != NULL) {
		if (pem_read_der(cpem, strlen(cpem), "CERTIFICATE", &cder,
		    &cderlen) != 0 ||
		    sn_cert_fields(cder, cderlen, &cf) != 0) {
			*skipped = 1;
			r = 0;
			goto out;
		}
		subj = cf.subject.p;
		subjlen = cf.subject.len;
	}
	r = SN_ERR_NOMEM;
	if ((priv = p11_obj_new(CKO_PRIVATE_KEY)) == NULL ||
	    (pub = p11_obj_new(CKO_PUBLIC_KEY)) == NULL)
		goto out;
	if ((r = set_key_attrs(priv, id, idlen, label, subj, subjlen)) != 0 ||
	    (r = set_pubkey_attrs(priv, spki, spkilen, &sa)) != 0 ||
	    (r = set_allowed_mechs(priv, sa.kt)) != 0 ||
	    (r = p11_obj_set_bool(priv, CKA_SENSITIVE, 1)) != 0 ||
	    (r = p11_obj_set_bool(priv, CKA_DECRYPT, 0)) != 0 ||
	    (r = p11_obj_set_bool(priv, CKA_SIGN, 1)) != 0 ||
	    (r = p11_obj_set_bool(priv, CKA_SIGN_RECOVER, 0)) != 0 ||
	    (r = p11_obj_set_bool(priv, CKA_UNWRAP, 0)) != 0 ||
	    (r = p11_obj_set_bool(priv, CKA_EXTRACTABLE, 0)) != 0 ||
	    (r = p11_obj_set_bool(priv, CKA_ALWAYS_SENSITIVE, 1)) != 0 ||
	    (r = p11_obj_set_bool(priv, CKA_NEVER_EXTRACTABLE, 1)) != 0 ||
	    (r = p11_obj_set_bool(priv, CKA_WRAP_WITH_TRUSTED, 0)) != 0 ||
	    (r = p11_obj_set_bool(priv, CKA_ALWAYS_AUTHENTICATE, 0)) != 0)
		goto out;
	if ((r = set_key_attrs(pub, id, idlen, label, subj, subjlen)) != 0 ||
	    (r = set_pubkey_attrs(pub, spki, spkilen, &sa)) != 0 ||
	    (r = set_allowed_mechs(pub, sa.kt)) != 0 ||
	    (r = p11_obj_set_bool(pub, CKA_ENCRYPT, 0)) != 0 ||
	    (r = p11_obj_set_bool(pub, CKA_VERIFY, 1)) != 0 ||
	    (r = p11_obj_set_bool(pub, CKA_VERIFY_RECOVER, 0)) != 0 ||
	    (r = p11_obj_set_bool(pub, CKA_WRAP, 0)) != 0 ||
	    (r = p11_obj_set_bool(pub, CKA_TRUSTED, 0)) != 0)
		goto out;
	if ((priv->key_id = strdup(kid)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	priv->key_type = pub->key_type = sa.kt;
	priv->key_bits = pub->key_bits = sa.bits;
	if (cder != NULL && (r = make_cert(cder, cderlen, &cf, id, idlen,
	    label, 1, &cert)) != 0)
		goto out;
	r = token_add(t, priv);
	priv = NULL;
	if (r != 0)
		goto out;
	r = token_add(t, pub);
	pub = NULL;
	if (r != 0)
		goto out;
	if (cert != NULL) {
		r = token_add(t, cert);
		cert = NULL;
		if (r != 0)
			goto out;
	}
	/*
	 * A chain certificate that does not parse is left out, like a key
	 * that cannot be described: one bad entry must not take every key
	 * off the token. Running out of memory or room still fails.
	 */
	chain = json_object_get(key, "chain");
	json_array_foreach(chain, i, v) {
		if (!json_is_string(v))
			continue;
		r = add_ca_cert(t, json_string_value(v));
		if (r == SN_ERR_PROTOCOL || r == SN_ERR_CRYPTO)
			continue;
		if (r != 0)
			goto out;
	}
	r = 0;
 out:
	p11_obj_free(priv);
	p11_obj_free(pub);
	p11_obj_free(cert);
	OPENSSL_free(spki);
	OPENSSL_free(cder);
	free(id);
	spki_attrs_clear(&sa);
	return r;
}

struct p11_token *
p11_token_new(void)
{
	return calloc(1, sizeof(struct p11_token));
}

/* The private key object of server key kid among the first n objects
 * (n <= t->nobjs), or NULL. */
static const struct p11_object *
token_key_by_id(const struct p11_token *t, const char *kid, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (t->objs[i]->key_id != NULL &&
		    strcmp(t->objs[i]->key_id, kid) == 0)
			return t->objs[i];
	}
	return NULL;
}

int
p11_token_add_keys(struct p11_token *t, json_t *resp, size_t *skipped)
{
	json_t *keys, *k, *added;
	const char *kid;
	size_t i, before = t->nobjs;
	int r = 0, skip;

	*skipped = 0;
	keys = json_object_get(resp, "keys");
	if (!json_is_array(keys))
		return SN_ERR_PROTOCOL;
	if ((added = json_object()) == NULL)
		return SN_ERR_NOMEM;
	/*
	 * A key's objects are added together, its CA certificates after
	 * them, so the order of handles is stable for a given answer. A key
	 * already on the token (found by an earlier lookup, or by another
	 * thread's) keeps its objects: its handles must not change; a key
	 * twice in the answer is added once. The objects there before are
	 * searched, the keys of this answer looked up in a hash (a search of
	 * the token per key made a large listing quadratic).
	 */
	json_array_foreach(keys, i, k) {
		kid = json_string_value(json_object_get(k, "id"));
		if (kid != NULL && (json_object_get(added, kid) != NULL ||
		    token_key_by_id(t, kid, before) != NULL))
			continue;
		if ((r = add_key(t, k, &skip)) != 0)
			break;
		*skipped += (size_t)skip;
		if (!skip && kid != NULL &&
		    json_object_set_new(added, kid, json_true()) != 0) {
			r = SN_ERR_NOMEM;
			break;
		}
	}
	json_decref(added);
	return r;
}

int
p11_token_take(struct p11_token *dst, struct p11_token *src)
{
	if (dst->nobjs != 0)
		return 0;
	free(dst->objs);
	free(dst->cas);
	dst->objs = src->objs;
	dst->nobjs = src->nobjs;
	dst->cap = src->cap;
	dst->cas = src->cas;
	dst->ncas = src->ncas;
	dst->cacap = src->cacap;
	src->objs = NULL;
	src->cas = NULL;
	src->nobjs = src->cap = src->ncas = src->cacap = 0;
	p11_token_free(src);
	return 1;
}

int
p11_token_from_keys(json_t *resp, struct p11_token **out, size_t *skipped)
{
	struct p11_token *t = NULL;
	int r;

	*out = NULL;
	*skipped = 0;
	if (!json_is_array(json_object_get(resp, "keys")))
		return SN_ERR_PROTOCOL;
	if ((t = p11_token_new()) == NULL)
		return SN_ERR_NOMEM;
	if ((r = p11_token_add_keys(t, resp, skipped)) != 0) {
		p11_token_free(t);
		return r;
	}
	t->complete = 1;
	*out = t;
	return 0;
}

/* [A-Za-z0-9._-]: the characters of the service's names and key ids. */
static int
name_chars(const uint8_t *v, size_t len)
{
	if (len == 0 || len > 64 || v[0] == '.' || v[0] == '-')
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (!((v[i] >= 'a' && v[i] <= 'z') ||
		    (v[i] >= 'A' && v[i] <= 'Z') ||
		    (v[i] >= '0' && v[i] <= '9') ||
		    v[i] == '.' || v[i] == '_' || v[i] == '-'))
			return 0;
	}
	return 1;
}

int
p11_tmpl_key_hint(const CK_ATTRIBUTE *tmpl, CK_ULONG n, char *out,
    size_t outlen)
{
	const uint8_t *v, *slash;
	size_t len;
	int label = -1;

	out[0] = '\0';
	for (CK_ULONG i = 0; i < n; i++) {
		if (tmpl[i].pValue == NULL)
			continue;
		v = tmpl[i].pValue;
		len = tmpl[i].ulValueLen;
		if (tmpl[i].type == CKA_ID && name_chars(v, len) &&
		    len < outlen) {
			/* A key's CKA_ID is its id string: the best name. */
			memcpy(out, v, len);
			out[len] = '\0';
			return 1;
		}
		if (tmpl[i].type == CKA_LABEL && len < outlen &&
		    (slash = memchr(v, '/', len)) != NULL &&
		    name_chars(v, (size_t)(slash - v)) &&
		    name_chars(slash + 1, len - (size_t)(slash - v) - 1))
			label = (int)i;
	}
	if (label < 0)
		return 0;
	memcpy(out, tmpl[label].pValue, tmpl[label].ulValueLen);
	out[tmpl[label].ulValueLen] = '\0';
	return 1;
}

int
p11_token_has_key(const struct p11_token *t, const char *hint)
{
	const struct p11_attr *a;
	size_t len = strlen(hint);

	for (size_t i = 0; i < t->nobjs; i++) {
		if (t->objs[i]->cls != CKO_PRIVATE_KEY)
			continue;
		if (t->objs[i]->key_id != NULL &&
		    strcmp(t->objs[i]->key_id, hint) == 0)
			return 1;
		if ((a = p11_obj_attr(t->objs[i], CKA_LABEL)) != NULL &&
		    a->len == len && memcmp(a->val, hint, len) == 0)
			return 1;
	}
	return 0;
}

void
p11_pad(unsigned char *dst, size_t dstlen, const char *s)
{
	size_t n = strlen(s);

	memset(dst, ' ', dstlen);
	memcpy(dst, s, n < dstlen ? n : dstlen);
}
