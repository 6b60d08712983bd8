/*
 * p11_int.h - internals of signet-pkcs11.so shared between the entry points
 * (p11.c), the token's object store (p11_obj.c) and the mechanism helpers
 * (p11_mech.c). Nothing here is exported from the module: the version script
 * keeps every symbol but the C_* entry points local.
 *
 * The split follows what needs a server: p11_obj.c and p11_mech.c are pure
 * functions over parsed JSON, OpenSSL objects and byte strings, so the unit
 * tests drive them without a network (they live in the static library
 * signet_pkcs11_core). p11.c holds the global state, the sessions and the
 * one signet client.
 *
 * Return conventions: functions returning CK_RV return a PKCS#11 code;
 * functions returning int return 0 or a negative SN_ERR_*.
 */
#ifndef SIGNET_P11_INT_H
#define SIGNET_P11_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <p11-kit/pkcs11.h>

#include "alg.h"
#include "cert_fields.h"

#define P11_SLOT_ID		1
#define P11_TOKEN_LABEL		"Signet"
#define P11_MAX_OBJECTS		4096	/* keys * 3 + CA certificates */
#define P11_MAX_ATTR_LEN	(64 * 1024)	/* one certificate */
#define P11_MAX_RAW_INPUT	512	/* CKM_RSA_PKCS/ECDSA/PSS input buffer */
#define P11_ETAG_MAX		128	/* a listing's ETag (W/"T-H" is ~50) */

/* One attribute value, owned by its object. */
struct p11_attr {
	CK_ATTRIBUTE_TYPE type;
	uint8_t *val;		/* NULL when len == 0 */
	CK_ULONG len;
};

/* One token object. Immutable once the token is built. */
struct p11_object {
	CK_OBJECT_HANDLE handle;
	CK_OBJECT_CLASS cls;
	struct p11_attr *attrs;
	size_t nattrs;
	size_t cap;
	/* Keys only: what signing needs without re-reading attributes. */
	char *key_id;		/* server key id ("skey_..."), private keys */
	char *pem;		/* authority certificates: the PEM text read */
	CK_KEY_TYPE key_type;	/* CKK_RSA or CKK_EC */
	CK_ULONG key_bits;	/* modulus bits, or the curve's field bits */
};

/*
 * The token: the objects fetched so far. Starts empty at C_Initialize;
 * C_FindObjectsInit adds the key its template names (CKA_ID, CKA_LABEL),
 * or every key when it names none (complete is then set). Objects are
 * appended only, so handles stay valid.
 */
struct p11_token {
	struct p11_object **objs;
	size_t nobjs;
	size_t cap;
	int complete;		/* every key of GET /v1/me/keys is here */
	/* the authority certificates among objs (not owned): every key of a
	 * CA repeats its chain, found here by its PEM text, not decoded */
	struct p11_object **cas;
	size_t ncas, cacap;
};

/* ---- p11_obj.c ---- */

struct p11_object *p11_obj_new(CK_OBJECT_CLASS cls);
void p11_obj_free(struct p11_object *o);		/* NULL ok */
/* Sets (or replaces) one attribute with a copy of val. 0 or SN_ERR_*. */
int p11_obj_set(struct p11_object *o, CK_ATTRIBUTE_TYPE type,
    const void *val, size_t len);
int p11_obj_set_bool(struct p11_object *o, CK_ATTRIBUTE_TYPE type, int v);
int p11_obj_set_ulong(struct p11_object *o, CK_ATTRIBUTE_TYPE type, CK_ULONG v);
const struct p11_attr *p11_obj_attr(const struct p11_object *o,
    CK_ATTRIBUTE_TYPE type);

/* 1 if every attribute of the template is present with equal bytes. */
int p11_obj_match(const struct p11_object *o, const CK_ATTRIBUTE *tmpl,
    CK_ULONG n);

/*
 * C_GetAttributeValue semantics (PKCS#11 v2.40 section 5.7) for one object:
 * every entry of the template is processed; sensitive attributes of private
 * keys give CKR_ATTRIBUTE_SENSITIVE, unknown ones CKR_ATTRIBUTE_TYPE_INVALID,
 * short buffers CKR_BUFFER_TOO_SMALL (each with ulValueLen set to
 * CK_UNAVAILABLE_INFORMATION); pValue NULL asks for the length.
 */
CK_RV p11_obj_get_attributes(const struct p11_object *o, CK_ATTRIBUTE *tmpl,
    CK_ULONG n);

void p11_token_free(struct p11_token *t);		/* NULL ok */
/* Handle lookup; NULL if no such object. */
const struct p11_object *p11_token_find(const struct p11_token *t,
    CK_OBJECT_HANDLE h);

/*
 * Builds the token from the answer of GET /v1/me/keys. Keys that are not
 * "active", or whose public key cannot be parsed, are skipped (and named via
 * *skipped, a count). Returns 0, SN_ERR_PROTOCOL (answer is not the expected
 * shape), SN_ERR_NOMEM or SN_ERR_TOO_LARGE.
 */
int p11_token_from_keys(json_t *resp, struct p11_token **out, size_t *skipped);

/* An empty token (NULL: out of memory); freed with p11_token_free. */
struct p11_token *p11_token_new(void);

/*
 * Adds the keys of a GET /v1/me/keys answer that are not on the token yet
 * (by server key id: a key already there keeps its objects and handles),
 * like p11_token_from_keys. On failure the keys added so far stay.
 */
int p11_token_add_keys(struct p11_token *t, json_t *resp, size_t *skipped);
/*
 * Moves every object of src into dst if dst has none yet (the handles stay
 * valid: both count 1..n in creation order) and frees src: 1. Else 0 and
 * both are left as they are. For a listing already made into a token
 * (p11_cache_load checks an entry that way), so it is not built twice.
 */
int p11_token_take(struct p11_token *dst, struct p11_token *src);

/*
 * The key a C_FindObjectsInit template names, if any: a CKA_ID that is a
 * key id (the service's characters only), else a CKA_LABEL of the form
 * PROJECT/KEY. Writes it NUL-terminated to out (outlen >= 130 holds any)
 * and returns 1; 0 when the template names no key (then every key is
 * listed).
 */
int p11_tmpl_key_hint(const CK_ATTRIBUTE *tmpl, CK_ULONG n, char *out,
    size_t outlen);

/* 1 if a private key object on t has that key id or label. */
int p11_token_has_key(const struct p11_token *t, const char *hint);

struct sn_client;
/*
 * Every page of GET /v1/me/keys merged into *out ({"keys":[...]}, for
 * p11_token_from_keys; p11_keys.c), and the first page's ETag into etag
 * ("" if none): the oldest of the pages', so a change made while paging
 * only makes it older. With inm (a cached listing's ETag) the first
 * request is conditional: a 304 is 0 with *out NULL (the cached listing is
 * current). 0, the client's SN_ERR_* (its message in sn_client_errmsg),
 * SN_ERR_PROTOCOL or SN_ERR_TOO_LARGE.
 */
int p11_fetch_keys(struct sn_client *c, const char *inm,
    char etag[P11_ETAG_MAX + 1], json_t **out);

/*
 * GET /v1/me/keys?key=NAME (a key id or PROJECT/KEY): the answer, with at
 * most one key, into *out. 0, the client's SN_ERR_* or SN_ERR_PROTOCOL.
 */
int p11_fetch_key(struct sn_client *c, const char *name, json_t **out);

/* ---- p11_cache.c: the listing shared between processes ---- */

#define P11_CACHE_NAME_LEN	41	/* 40 hex digits and a NUL */
/*
 * listing_cache_ttl: how long an entry is used without asking the service.
 * 0: every process asks, with one conditional request (If-None-Match: the
 * entry's ETag) that the service answers 304 while the listing is current,
 * so a key added or disabled shows to the very next process.
 */
#define P11_CACHE_TTL_DEFAULT	0	/* seconds */

/* One entry as read back (p11_cache_load). */
struct p11_cache_entry {
	json_t *keys;			/* {"keys":[...]} */
	char etag[P11_ETAG_MAX + 1];	/* the listing's ETag; "": none */
	int64_t fetched;	/* when the service sent or last confirmed it */
	char *body;		/* the body's bytes, for p11_cache_touch */
	size_t blen;
	/* keys made into a token, as the load checked them (complete) */
	struct p11_token *token;
};

/*
 * 1 if etag is a weak entity tag this cache keeps: W/"...", 5 to
 * P11_ETAG_MAX bytes, printable ASCII without space or quote inside.
 */
int p11_etag_valid(const char *etag);

/*
 * The caller's private cache directory ($XDG_RUNTIME_DIR/signet, else
 * ~/.cache/signet), created 0700 if missing, into buf. 0, or SN_ERR_INVALID
 * when it is not a directory owned by euid without group/other bits (it is
 * then never used), SN_ERR_NOT_FOUND (no HOME), SN_ERR_IO, SN_ERR_TOO_LARGE.
 */
int p11_cache_dir(char *buf, size_t len);

/*
 * The cache entry's name: a hash of the service URL and the identity the
 * service answered GET /v1/me with (tenant, type, id, credential_id), so
 * two users, two credentials or two services never share one. 0 or
 * SN_ERR_PROTOCOL (an answer without tenant.id, type or id).
 */
int p11_cache_name(const char *url, json_t *me, char out[P11_CACHE_NAME_LEN]);

/*
 * The entry saved under name, whatever its age, into *e (clear it with
 * p11_cache_entry_clear; it is zeroed on failure). 0; SN_ERR_NOT_FOUND
 * (none); any other SN_ERR_* for a file or directory that is not used
 * (foreign, corrupt, another version, a bad ETag, fetched in the future).
 * Every failure means: ask the service.
 */
int p11_cache_load(const char *name, struct p11_cache_entry *e);
void p11_cache_entry_clear(struct p11_cache_entry *e);	/* zeroed ok */

/*
 * Saves keys ({"keys":[...]}) with the listing's etag (NULL, or one
 * p11_etag_valid refuses: saved as none) under name, fetched now,
 * atomically. 0 or SN_ERR_*.
 */
int p11_cache_store(const char *name, json_t *keys, const char *etag);

/* Saves e again as fetched now (the service said it is current). */
int p11_cache_touch(const char *name, const struct p11_cache_entry *e);

/* Removes the entry (a key it listed failed to sign). */
void p11_cache_drop(const char *name);

/*
 * Extracts the id= component of a PKCS#11 URI (RFC 7512), percent-decoded,
 * into a malloc'd buffer. Returns 0, SN_ERR_NOT_FOUND or SN_ERR_INVALID.
 */
int p11_uri_id(const char *uri, uint8_t **id, size_t *idlen);

/* ---- p11_mech.c ---- */

/* One supported mechanism and how it is carried out. */
struct p11_mech_info {
	CK_MECHANISM_TYPE type;
	CK_KEY_TYPE key_type;
	enum sn_mech mech;		/* what is asked of the server */
	enum sn_hash hash;		/* hashed locally; NONE for raw mechanisms */
};

/* Table of supported mechanisms; *n set to its length. */
const struct p11_mech_info *p11_mech_table(size_t *n);
const struct p11_mech_info *p11_mech_lookup(CK_MECHANISM_TYPE type);
/* Fills C_GetMechanismInfo's answer. CKR_MECHANISM_INVALID if unknown. */
CK_RV p11_mech_get_info(CK_MECHANISM_TYPE type, CK_MECHANISM_INFO *info);

/*
 * Checks a C_SignInit mechanism against a key. For PSS, validates the
 * CK_RSA_PKCS_PSS_PARAMS (hashAlg / MGF1 the same hash, sLen = hash length)
 * and returns that hash in *pss_hash (for the raw CKM_RSA_PKCS_PSS the hash
 * decides the digest length the caller must pass). Returns CKR_OK,
 * CKR_MECHANISM_INVALID, CKR_MECHANISM_PARAM_INVALID or
 * CKR_KEY_TYPE_INCONSISTENT / CKR_KEY_FUNCTION_NOT_PERMITTED.
 */
CK_RV p11_mech_check(const CK_MECHANISM *m, const struct p11_object *key,
    const struct p11_mech_info **info, enum sn_hash *pss_hash);

/* The same for C_VerifyInit: the key must be a public key object. */
CK_RV p11_mech_check_verify(const CK_MECHANISM *m,
    const struct p11_object *key, const struct p11_mech_info **info,
    enum sn_hash *pss_hash);

/* ---- p11_verify.c ---- */

/*
 * Verifies sig (PKCS#11 form: RSA modulus-sized, ECDSA raw r || s) over a
 * digest of `hash` with key's CKA_PUBLIC_KEY_INFO, locally. Returns CKR_OK,
 * CKR_SIGNATURE_INVALID, CKR_SIGNATURE_LEN_RANGE or CKR_FUNCTION_FAILED.
 */
CK_RV p11_verify_digest(const struct p11_object *key, enum sn_mech mech,
    enum sn_hash hash, const uint8_t *digest, size_t dlen,
    const uint8_t *sig, size_t siglen);

/* The signature length a key produces: RSA modulus bytes, ECDSA 2 x field. */
CK_ULONG p11_sig_len(const struct p11_object *key);

/*
 * Works out what to send for a raw (non-hashing) mechanism's input:
 * CKM_RSA_PKCS takes a DER DigestInfo, CKM_ECDSA a bare digest whose length
 * names the hash, CKM_RSA_PKCS_PSS a digest of pss_hash's length.
 * *digest points into `in`. CKR_OK, CKR_DATA_INVALID or CKR_DATA_LEN_RANGE.
 */
CK_RV p11_raw_input(CK_MECHANISM_TYPE type, enum sn_hash pss_hash,
    const uint8_t *in, size_t len, enum sn_hash *hash,
    const uint8_t **digest, size_t *dlen);

/*
 * Converts a DER ECDSA signature (SEQUENCE { r INTEGER, s INTEGER }) into
 * PKCS#11's raw r || s, each left-padded to flen bytes, into out (2 * flen).
 * Rejects trailing garbage, negative or oversized integers.
 * Returns 0 or SN_ERR_PROTOCOL.
 */
int p11_ecdsa_der_to_raw(const uint8_t *der, size_t derlen, size_t flen,
    uint8_t *out);

/* Maps an SN_ERR_* from a signing request to the CK_RV C_Sign returns. */
CK_RV p11_sign_rv(int err);
/* Maps an SN_ERR_* from C_Initialize's key listing to its CK_RV. */
CK_RV p11_init_rv(int err);

/* Copies s into a blank-padded, not NUL-terminated PKCS#11 string field. */
void p11_pad(unsigned char *dst, size_t dstlen, const char *s);

#endif
