/*
 * hsm.c - the keeper process's PKCS#11 side: module loading, token login,
 * and the request handler for GENERATE, GET_PUBLIC_KEY, SIGN and DESTROY.
 *
 * This code runs only inside the keeper process. It must never create a key
 * that could leave the token (every private key is CKA_SENSITIVE and
 * !CKA_EXTRACTABLE), never ask for a sensitive attribute, and never offer an
 * operation beyond the four above: in particular it signs only digests of a
 * known length (wrapped in a DigestInfo for PKCS#1 v1.5), never raw data.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include <p11-kit/pkcs11.h>

#include "alg.h"
#include "err.h"
#include "kbuf.h"
#include "sn_assert.h"
#include "keeper_int.h"
#include "util.h"

/*
 * The cache of signing-key handles, shared by all workers (one lock, held
 * only to look up or change an entry). C_FindObjects is a scan over the
 * whole token in SoftHSM2 (about 17 ms with 1000 objects, against 0.06 ms
 * for an ECDSA signature), so looking the key up on every SIGN does not
 * scale. An entry is dropped when DESTROY removes its key (whichever
 * worker does it) and when the module says the handle is invalid (the key
 * was destroyed by another process); the next SIGN looks the key up again.
 *
 * A module may hand a destroyed object's handle to a new object. Where
 * that can happen, a cached handle is checked after C_SignInit by reading
 * back its CKA_CLASS and CKA_ID, which proves the operation is bound to the
 * requested key. SoftHSM2's handle manager only counts up and never
 * reuses a handle, so with it (and only with it) the check, one more
 * C_GetAttributeValue that reads the object's file, is skipped.
 */
#define KEY_CACHE_SIZE	256

struct key_cache_ent {
	uint8_t id[KEEPER_ID_LEN];
	CK_OBJECT_HANDLE h;
	CK_KEY_TYPE kt;
	uint64_t last;		/* 0 = free */
};

struct keeper_worker {
	struct keeper_hsm *h;
	CK_SESSION_HANDLE session;
	int open;
};

struct keeper_hsm {
	void *dl;
	CK_FUNCTION_LIST_PTR f;
	int initialized;		/* we called C_Initialize successfully */
	CK_SLOT_ID slot;
	int logged_in;
	int nworkers;
	struct keeper_worker *workers;
	atomic_int broken;
	int verify_handles;		/* the module may reuse handles */
	pthread_mutex_t cache_lock;	/* the cache and tick */
	/*
	 * Key pairs are created and destroyed one at a time (signing is not
	 * held up: it never takes this lock). SoftHSM2 2.6's file object
	 * store is not safe for a C_GenerateKeyPair in one session while
	 * another session creates or destroys objects: under
	 * tests/e2e/robustness.sh's racing creates (each loser destroys its
	 * new key while the next creation generates), about one run in 30
	 * got CKR_TEMPLATE_INCONSISTENT from C_GenerateKeyPair or a
	 * CKR_GENERAL_ERROR that ends the keeper's login.
	 */
	pthread_mutex_t store_lock;
	uint64_t tick;
	struct key_cache_ent cache[KEY_CACHE_SIZE];
};

/* Named-curve OIDs as CKA_EC_PARAMS wants them (DER OBJECT IDENTIFIER). */
static const uint8_t oid_p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d,
	0x03, 0x01, 0x07 };
static const uint8_t oid_p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };
/* id-Ed25519 (RFC 8410), the CKA_EC_PARAMS form SoftHSM2 accepts */
static const uint8_t oid_ed25519[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };

#define ATTR_MAX	4096	/* no public attribute we read is larger */

static int
rv_err(CK_RV rv)
{
	switch (rv) {
	case CKR_OK:
		return 0;
	case CKR_HOST_MEMORY:
		return SN_ERR_NOMEM;
	case CKR_OBJECT_HANDLE_INVALID:
	case CKR_KEY_HANDLE_INVALID:
		return SN_ERR_NOT_FOUND;
	case CKR_KEY_TYPE_INCONSISTENT:
	case CKR_KEY_FUNCTION_NOT_PERMITTED:
	case CKR_MECHANISM_INVALID:
	case CKR_MECHANISM_PARAM_INVALID:
	case CKR_DATA_LEN_RANGE:
	case CKR_KEY_SIZE_RANGE:
		return SN_ERR_INVALID;
	default:
		return SN_ERR_HSM;
	}
}

/*
 * Errors after which the session (or the whole login) cannot be trusted
 * again. The PIN is gone from memory, so the keeper cannot log in again: it
 * reports the error and exits, and signetd starts a fresh keeper.
 */
static void
note_rv(struct keeper_worker *w, CK_RV rv)
{
	switch (rv) {
	case CKR_SESSION_HANDLE_INVALID:
	case CKR_SESSION_CLOSED:
	case CKR_USER_NOT_LOGGED_IN:
	case CKR_DEVICE_REMOVED:
	case CKR_DEVICE_ERROR:
	case CKR_TOKEN_NOT_PRESENT:
	case CKR_CRYPTOKI_NOT_INITIALIZED:
	case CKR_GENERAL_ERROR:
		atomic_store(&w->h->broken, 1);
		break;
	default:
		break;
	}
}

static int
ck(struct keeper_worker *w, CK_RV rv)
{
	note_rv(w, rv);
	return rv_err(rv);
}

int
keeper_hsm_broken(struct keeper_hsm *h)
{
	return atomic_load(&h->broken);
}

struct keeper_worker *
keeper_hsm_worker(struct keeper_hsm *h, int i)
{
	if (h == NULL || i < 0 || i >= h->nworkers)
		return NULL;
	return &h->workers[i];
}

/* ---- opening and closing ------------------------------------------------ */

static int
find_slot(struct keeper_hsm *h, const char *label, const char **why)
{
	CK_SLOT_ID *slots = NULL;
	CK_ULONG n = 0;
	CK_TOKEN_INFO ti;
	uint8_t want[32];
	size_t llen = strlen(label);
	int r = SN_ERR_HSM;

	if (llen == 0 || llen > sizeof(want)) {
		*why = "token label must be 1 to 32 bytes";
		return SN_ERR_INVALID;
	}
	memset(want, ' ', sizeof(want));
	memcpy(want, label, llen);
	if (h->f->C_GetSlotList(CK_TRUE, NULL, &n) != CKR_OK) {
		*why = "C_GetSlotList failed";
		goto out;
	}
	if (n > 0 && n < 4096) {
		if ((slots = calloc(n, sizeof(*slots))) == NULL) {
			r = SN_ERR_NOMEM;
			goto out;
		}
		if (h->f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK) {
			*why = "C_GetSlotList failed";
			goto out;
		}
	}
	for (CK_ULONG i = 0; slots != NULL && i < n; i++) {
		if (h->f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		if ((ti.flags & CKF_TOKEN_INITIALIZED) == 0 ||
		    memcmp(ti.label, want, sizeof(want)) != 0)
			continue;
		h->slot = slots[i];
		r = 0;
		goto out;
	}
	*why = "no initialized token with that label";
	r = SN_ERR_NOT_FOUND;
 out:
	free(slots);
	return r;
}

/* SoftHSM2 (its handle manager counts up; see the cache comment). */
static int
module_never_reuses_handles(struct keeper_hsm *h)
{
	static const char softhsm[] = "SoftHSM";
	CK_INFO info;

	if (h->f->C_GetInfo(&info) != CKR_OK)
		return 0;
	return memcmp(info.manufacturerID, softhsm, sizeof(softhsm) - 1) == 0 &&
	    info.libraryVersion.major == 2;
}

int
keeper_hsm_open(const char *module_path, const char *token_label,
    const char *pin, size_t pinlen, int nworkers, struct keeper_hsm **out,
    const char **why)
{
	struct keeper_hsm *h = NULL;
	CK_C_GetFunctionList getfl;
	CK_C_INITIALIZE_ARGS ia;
	CK_RV rv;
	int r = SN_ERR_HSM;

	*out = NULL;
	*why = "internal error";
	if (module_path == NULL || token_label == NULL || pin == NULL ||
	    nworkers < 1 || nworkers > KEEPER_MAX_WORKERS) {
		*why = "bad arguments";
		return SN_ERR_INVALID;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (h->workers = calloc((size_t)nworkers, sizeof(*h->workers))) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	h->nworkers = nworkers;
	atomic_init(&h->broken, 0);
	pthread_mutex_init(&h->cache_lock, NULL);
	pthread_mutex_init(&h->store_lock, NULL);
	h->verify_handles = 1;
	if ((h->dl = dlopen(module_path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		*why = "cannot load the PKCS#11 module";
		goto out;
	}
	if ((getfl = (CK_C_GetFunctionList)dlsym(h->dl, "C_GetFunctionList")) == NULL ||
	    getfl(&h->f) != CKR_OK || h->f == NULL) {
		*why = "module has no usable C_GetFunctionList";
		goto out;
	}
	memset(&ia, 0, sizeof(ia));
	ia.flags = CKF_OS_LOCKING_OK;
	rv = h->f->C_Initialize(&ia);
	if (rv == CKR_OK)
		h->initialized = 1;
	else if (rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		*why = "C_Initialize failed";
		goto out;
	}
	if ((r = find_slot(h, token_label, why)) != 0)
		goto out;
	h->verify_handles = !module_never_reuses_handles(h);
	r = SN_ERR_HSM;
	for (int i = 0; i < nworkers; i++) {
		struct keeper_worker *w = &h->workers[i];

		w->h = h;
		if (h->f->C_OpenSession(h->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
		    NULL, NULL, &w->session) != CKR_OK) {
			*why = "C_OpenSession failed";
			goto out;
		}
		w->open = 1;
	}
	/* Login state is per token and application: once covers all sessions. */
	rv = h->f->C_Login(h->workers[0].session, CKU_USER,
	    (CK_UTF8CHAR_PTR)pin, (CK_ULONG)pinlen);
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
		*why = rv == CKR_PIN_INCORRECT ? "PIN incorrect" :
		    rv == CKR_PIN_LOCKED ? "PIN locked" : "C_Login failed";
		goto out;
	}
	h->logged_in = rv == CKR_OK;
	*out = h;
	h = NULL;
	*why = NULL;
	r = 0;
 out:
	keeper_hsm_close(h);
	return r;
}

void
keeper_hsm_close(struct keeper_hsm *h)
{
	if (h == NULL)
		return;
	if (h->f != NULL) {
		if (h->logged_in && h->nworkers > 0 && h->workers[0].open)
			h->f->C_Logout(h->workers[0].session);
		for (int i = 0; i < h->nworkers; i++)
			if (h->workers[i].open)
				h->f->C_CloseSession(h->workers[i].session);
		if (h->initialized)
			h->f->C_Finalize(NULL);
	}
	if (h->dl != NULL)
		dlclose(h->dl);
	pthread_mutex_destroy(&h->cache_lock);
	pthread_mutex_destroy(&h->store_lock);
	free(h->workers);
	free(h);
}

/* ---- object helpers ----------------------------------------------------- */

/* Up to max handles of objects with class cls and CKA_ID id. */
static int
find_objects(struct keeper_worker *w, CK_OBJECT_CLASS cls, const uint8_t *id,
    CK_OBJECT_HANDLE *hs, CK_ULONG max, CK_ULONG *n)
{
	CK_FUNCTION_LIST_PTR f = w->h->f;
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_ID, (void *)id, KEEPER_ID_LEN },
	};
	CK_RV rv;
	int r;

	*n = 0;
	if ((rv = f->C_FindObjectsInit(w->session, tmpl, 2)) != CKR_OK)
		return ck(w, rv);
	rv = f->C_FindObjects(w->session, hs, max, n);
	r = ck(w, rv);
	if ((rv = f->C_FindObjectsFinal(w->session)) != CKR_OK && r == 0)
		r = ck(w, rv);
	return r;
}

static int
find_key(struct keeper_worker *w, CK_OBJECT_CLASS cls, const uint8_t *id,
    CK_OBJECT_HANDLE *obj)
{
	CK_OBJECT_HANDLE hs[2];
	CK_ULONG n = 0;
	int r;

	*obj = CK_INVALID_HANDLE;
	if ((r = find_objects(w, cls, id, hs, 2, &n)) != 0)
		return r;
	if (n == 0)
		return SN_ERR_NOT_FOUND;
	if (n > 1)
		return SN_ERR_HSM;	/* ids are random: a duplicate is corruption */
	*obj = hs[0];
	return 0;
}

/* A variable-length public attribute of at most ATTR_MAX bytes (malloc'd). */
static int
get_attr(struct keeper_worker *w, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type,
    uint8_t **val, size_t *len)
{
	CK_ATTRIBUTE a = { type, NULL, 0 };
	CK_RV rv;

	*val = NULL;
	*len = 0;
	if ((rv = w->h->f->C_GetAttributeValue(w->session, obj, &a, 1)) != CKR_OK)
		return ck(w, rv);
	if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION || a.ulValueLen == 0 ||
	    a.ulValueLen > ATTR_MAX)
		return SN_ERR_HSM;
	if ((a.pValue = malloc(a.ulValueLen)) == NULL)
		return SN_ERR_NOMEM;
	if ((rv = w->h->f->C_GetAttributeValue(w->session, obj, &a, 1)) != CKR_OK) {
		free(a.pValue);
		return ck(w, rv);
	}
	*val = a.pValue;
	*len = a.ulValueLen;
	return 0;
}

static int
get_key_type(struct keeper_worker *w, CK_OBJECT_HANDLE obj, CK_KEY_TYPE *kt)
{
	CK_ATTRIBUTE a = { CKA_KEY_TYPE, kt, sizeof(*kt) };

	return ck(w, w->h->f->C_GetAttributeValue(w->session, obj, &a, 1));
}

/* The cached handle and key type of id: 1 if there is one. */
static int
cache_find(struct keeper_hsm *h, const uint8_t *id, CK_OBJECT_HANDLE *obj,
    CK_KEY_TYPE *kt)
{
	int found = 0;

	pthread_mutex_lock(&h->cache_lock);
	for (size_t i = 0; i < KEY_CACHE_SIZE; i++) {
		struct key_cache_ent *e = &h->cache[i];

		if (e->last != 0 && memcmp(e->id, id, KEEPER_ID_LEN) == 0) {
			e->last = ++h->tick;
			*obj = e->h;
			*kt = e->kt;
			found = 1;
			break;
		}
	}
	pthread_mutex_unlock(&h->cache_lock);
	return found;
}

static void
cache_put(struct keeper_hsm *h, const uint8_t *id, CK_OBJECT_HANDLE obj,
    CK_KEY_TYPE kt)
{
	struct key_cache_ent *victim = &h->cache[0];

	pthread_mutex_lock(&h->cache_lock);
	for (size_t i = 0; i < KEY_CACHE_SIZE; i++) {
		struct key_cache_ent *e = &h->cache[i];

		if (e->last != 0 && memcmp(e->id, id, KEEPER_ID_LEN) == 0) {
			victim = e;
			break;
		}
		if (e->last < victim->last)
			victim = e;	/* free (0) or least recently used */
	}
	memcpy(victim->id, id, KEEPER_ID_LEN);
	victim->h = obj;
	victim->kt = kt;
	victim->last = ++h->tick;
	pthread_mutex_unlock(&h->cache_lock);
}

/*
 * Drops id's entry; with obj != CK_INVALID_HANDLE only if it still names
 * obj (another worker may have cached a fresh handle meanwhile).
 */
static void
cache_drop(struct keeper_hsm *h, const uint8_t *id, CK_OBJECT_HANDLE obj)
{
	pthread_mutex_lock(&h->cache_lock);
	for (size_t i = 0; i < KEY_CACHE_SIZE; i++) {
		struct key_cache_ent *e = &h->cache[i];

		if (e->last != 0 && memcmp(e->id, id, KEEPER_ID_LEN) == 0 &&
		    (obj == CK_INVALID_HANDLE || e->h == obj))
			memset(e, 0, sizeof(*e));
	}
	pthread_mutex_unlock(&h->cache_lock);
}

/* 1 if obj is, right now, the private key with CKA_ID id. */
static int
handle_is_key(struct keeper_worker *w, CK_OBJECT_HANDLE obj, const uint8_t *id)
{
	CK_OBJECT_CLASS cls = 0;
	uint8_t got[KEEPER_ID_LEN + 1];
	CK_ATTRIBUTE a[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_ID, got, sizeof(got) },
	};

	if (w->h->f->C_GetAttributeValue(w->session, obj, a, 2) != CKR_OK)
		return 0;
	return cls == CKO_PRIVATE_KEY && a[1].ulValueLen == KEEPER_ID_LEN &&
	    memcmp(got, id, KEEPER_ID_LEN) == 0;
}

/* ---- public keys as SubjectPublicKeyInfo -------------------------------- */

static int
spki_from_params(const char *type, OSSL_PARAM_BLD *bld, uint8_t **out,
    size_t *outlen)
{
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	uint8_t *der = NULL, *p;
	int n, r = SN_ERR_CRYPTO;

	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1 ||
	    (n = i2d_PUBKEY(pkey, NULL)) <= 0 || n > KEEPER_SPKI_MAX)
		goto out;
	if ((der = malloc((size_t)n)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	p = der;
	if (i2d_PUBKEY(pkey, &p) != n)
		goto out;
	*out = der;
	*outlen = (size_t)n;
	der = NULL;
	r = 0;
 out:
	free(der);
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return r;
}

static int
spki_rsa(const uint8_t *mod, size_t modlen, const uint8_t *exp, size_t explen,
    uint8_t **out, size_t *outlen)
{
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *n = NULL, *e = NULL;
	int r = SN_ERR_CRYPTO;

	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    (n = BN_bin2bn(mod, (int)modlen, NULL)) == NULL ||
	    (e = BN_bin2bn(exp, (int)explen, NULL)) == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1)
		goto out;
	r = spki_from_params("RSA", bld, out, outlen);
 out:
	BN_free(n);
	BN_free(e);
	OSSL_PARAM_BLD_free(bld);
	return r;
}

/*
 * CKA_EC_POINT should be a DER OCTET STRING wrapping the uncompressed point
 * (SoftHSM2 does that); some modules return the bare point. Both forms are
 * told apart by length alone, so no guessing is needed.
 */
static int
spki_ec(const char *group, size_t fieldlen, const uint8_t *v, size_t vlen,
    uint8_t **out, size_t *outlen)
{
	OSSL_PARAM_BLD *bld = NULL;
	size_t plen = 2 * fieldlen + 1;
	const uint8_t *pt = NULL;
	int r = SN_ERR_CRYPTO;

	if (vlen == plen && v[0] == 0x04)
		pt = v;
	else if (vlen == plen + 2 && v[0] == 0x04 && v[1] == plen && v[2] == 0x04)
		pt = v + 2;
	else
		return SN_ERR_HSM;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    pt, plen) != 1)
		goto out;
	r = spki_from_params("EC", bld, out, outlen);
 out:
	OSSL_PARAM_BLD_free(bld);
	return r;
}

/*
 * CKA_EC_POINT of an Ed25519 key: PKCS#11 3.0 says a DER OCTET STRING of the
 * 32-byte public key (SoftHSM2), some modules give the bare 32 bytes.
 */
static int
spki_ed25519(const uint8_t *v, size_t vlen, uint8_t **out, size_t *outlen)
{
	EVP_PKEY *pkey = NULL;
	const uint8_t *pt;
	uint8_t *der = NULL, *p;
	int n, r = SN_ERR_CRYPTO;

	if (vlen == 32)
		pt = v;
	else if (vlen == 34 && v[0] == 0x04 && v[1] == 32)
		pt = v + 2;
	else
		return SN_ERR_HSM;
	if ((pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pt,
	    32)) == NULL || (n = i2d_PUBKEY(pkey, NULL)) <= 0 ||
	    n > KEEPER_SPKI_MAX)
		goto out;
	if ((der = malloc((size_t)n)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	p = der;
	if (i2d_PUBKEY(pkey, &p) != n)
		goto out;
	*out = der;
	*outlen = (size_t)n;
	der = NULL;
	r = 0;
 out:
	free(der);
	EVP_PKEY_free(pkey);
	return r;
}

/* The SPKI of the public key object pub. */
static int
public_spki(struct keeper_worker *w, CK_OBJECT_HANDLE pub, uint8_t **out,
    size_t *outlen)
{
	uint8_t *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;
	CK_KEY_TYPE kt;
	int r;

	*out = NULL;
	*outlen = 0;
	if ((r = get_key_type(w, pub, &kt)) != 0)
		goto out;
	if (kt == CKK_RSA) {
		if ((r = get_attr(w, pub, CKA_MODULUS, &a, &alen)) != 0 ||
		    (r = get_attr(w, pub, CKA_PUBLIC_EXPONENT, &b, &blen)) != 0)
			goto out;
		r = spki_rsa(a, alen, b, blen, out, outlen);
	} else if (kt == CKK_EC_EDWARDS) {
		if ((r = get_attr(w, pub, CKA_EC_POINT, &b, &blen)) != 0)
			goto out;
		r = spki_ed25519(b, blen, out, outlen);
	} else if (kt == CKK_EC) {
		if ((r = get_attr(w, pub, CKA_EC_PARAMS, &a, &alen)) != 0 ||
		    (r = get_attr(w, pub, CKA_EC_POINT, &b, &blen)) != 0)
			goto out;
		if (alen == sizeof(oid_p256) && memcmp(a, oid_p256, alen) == 0)
			r = spki_ec("P-256", 32, b, blen, out, outlen);
		else if (alen == sizeof(oid_p384) && memcmp(a, oid_p384, alen) == 0)
			r = spki_ec("P-384", 48, b, blen, out, outlen);
		else
			r = SN_ERR_HSM;
	} else
		r = SN_ERR_HSM;
 out:
	free(a);
	free(b);
	return r;
}

/*
 * A known leak inside the PKCS#11 module, not ours: SoftHSM2 2.6.1 decodes
 * an EdDSA key's CKA_EC_PARAMS on every C_SignInit and never frees the
 * ASN1_PRINTABLESTRING (OSSL::byteString2oid; fixed upstream in SoftHSMv2
 * PR 858). In sanitizer builds the allocations made during that one call
 * are not reported, so every leak LeakSanitizer does report stays ours.
 */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define MODULE_LEAK_BEGIN(on) do { if (on) __lsan_disable(); } while (0)
#define MODULE_LEAK_END(on) do { if (on) __lsan_enable(); } while (0)
#else
#define MODULE_LEAK_BEGIN(on) do { (void)(on); } while (0)
#define MODULE_LEAK_END(on) do { (void)(on); } while (0)
#endif

/* ---- operations --------------------------------------------------------- */

/*
 * given_id: the caller chose the CKA_ID (so that it can record it before
 * the key exists and clean up after a crash); an id that any object
 * already has is refused. Otherwise a random one is made.
 */
static int
op_generate(struct keeper_worker *w, enum sn_key_alg alg, const uint8_t *label,
    size_t labellen, int given_id, uint8_t id[KEEPER_ID_LEN], uint8_t **spki,
    size_t *spkilen)
{
	CK_FUNCTION_LIST_PTR f = w->h->f;
	CK_OBJECT_CLASS pubc = CKO_PUBLIC_KEY, privc = CKO_PRIVATE_KEY;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_BYTE exp[] = { 0x01, 0x00, 0x01 };
	CK_ULONG bits = (CK_ULONG)sn_key_alg_bits(alg);
	CK_KEY_TYPE kt;
	CK_MECHANISM mech = { 0, NULL, 0 };
	CK_OBJECT_HANDLE pub = CK_INVALID_HANDLE, priv = CK_INVALID_HANDLE;
	CK_ATTRIBUTE pubt[12], privt[12];
	CK_ULONG npub = 0, npriv = 0;
	CK_RV rv;
	int r;

	switch (alg) {
	case SN_ALG_RSA_2048:
	case SN_ALG_RSA_3072:
	case SN_ALG_RSA_4096:
		kt = CKK_RSA;
		mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
		break;
	case SN_ALG_ECDSA_P256:
	case SN_ALG_ECDSA_P384:
		kt = CKK_EC;
		mech.mechanism = CKM_EC_KEY_PAIR_GEN;
		break;
	case SN_ALG_ED25519:
		kt = CKK_EC_EDWARDS;
		mech.mechanism = CKM_EC_EDWARDS_KEY_PAIR_GEN;
		break;
	default:
		return SN_ERR_INVALID;
	}
	if (given_id) {
		CK_OBJECT_HANDLE hs[1];
		CK_ULONG n = 0;

		if ((r = find_objects(w, CKO_PRIVATE_KEY, id, hs, 1, &n)) != 0 ||
		    (n == 0 && (r = find_objects(w, CKO_PUBLIC_KEY, id, hs, 1,
		    &n)) != 0))
			return r;
		if (n != 0)
			return SN_ERR_CONFLICT;
	} else if ((r = sn_random_bytes(id, KEEPER_ID_LEN)) != 0)
		return r;

#define ADD(t, n, at, p, len) do { \
		(t)[(n)].type = (at); (t)[(n)].pValue = (void *)(p); \
		(t)[(n)].ulValueLen = (len); (n)++; } while (0)
	ADD(pubt, npub, CKA_CLASS, &pubc, sizeof(pubc));
	ADD(pubt, npub, CKA_KEY_TYPE, &kt, sizeof(kt));
	ADD(pubt, npub, CKA_TOKEN, &yes, sizeof(yes));
	ADD(pubt, npub, CKA_PRIVATE, &no, sizeof(no));
	ADD(pubt, npub, CKA_VERIFY, &yes, sizeof(yes));
	ADD(pubt, npub, CKA_ENCRYPT, &no, sizeof(no));
	ADD(pubt, npub, CKA_WRAP, &no, sizeof(no));
	ADD(pubt, npub, CKA_ID, id, KEEPER_ID_LEN);
	ADD(pubt, npub, CKA_LABEL, label, labellen);
	if (kt == CKK_RSA) {
		ADD(pubt, npub, CKA_MODULUS_BITS, &bits, sizeof(bits));
		ADD(pubt, npub, CKA_PUBLIC_EXPONENT, exp, sizeof(exp));
	} else if (alg == SN_ALG_ED25519)
		ADD(pubt, npub, CKA_EC_PARAMS, oid_ed25519, sizeof(oid_ed25519));
	else if (alg == SN_ALG_ECDSA_P256)
		ADD(pubt, npub, CKA_EC_PARAMS, oid_p256, sizeof(oid_p256));
	else
		ADD(pubt, npub, CKA_EC_PARAMS, oid_p384, sizeof(oid_p384));

	ADD(privt, npriv, CKA_CLASS, &privc, sizeof(privc));
	ADD(privt, npriv, CKA_KEY_TYPE, &kt, sizeof(kt));
	ADD(privt, npriv, CKA_TOKEN, &yes, sizeof(yes));
	ADD(privt, npriv, CKA_PRIVATE, &yes, sizeof(yes));
	ADD(privt, npriv, CKA_SENSITIVE, &yes, sizeof(yes));
	ADD(privt, npriv, CKA_EXTRACTABLE, &no, sizeof(no));
	ADD(privt, npriv, CKA_SIGN, &yes, sizeof(yes));
	ADD(privt, npriv, CKA_DECRYPT, &no, sizeof(no));
	ADD(privt, npriv, CKA_UNWRAP, &no, sizeof(no));
	ADD(privt, npriv, CKA_DERIVE, &no, sizeof(no));
	ADD(privt, npriv, CKA_ID, id, KEEPER_ID_LEN);
	ADD(privt, npriv, CKA_LABEL, label, labellen);
#undef ADD

	rv = f->C_GenerateKeyPair(w->session, &mech, pubt, npub, privt, npriv,
	    &pub, &priv);
	if (rv != CKR_OK) {
		r = ck(w, rv);
		/* Nothing the caller sent can make generation "invalid". */
		if (r == SN_ERR_INVALID || r == SN_ERR_NOT_FOUND)
			r = SN_ERR_HSM;
		return r;
	}
	if ((r = public_spki(w, pub, spki, spkilen)) != 0) {
		/* A key nobody can name is garbage: do not leave it behind. */
		f->C_DestroyObject(w->session, priv);
		f->C_DestroyObject(w->session, pub);
		explicit_bzero(id, KEEPER_ID_LEN);
	}
	return r;
}

static int
op_get_public_key(struct keeper_worker *w, const uint8_t *id, uint8_t **spki,
    size_t *spkilen)
{
	CK_OBJECT_HANDLE pub;
	int r;

	if ((r = find_key(w, CKO_PUBLIC_KEY, id, &pub)) != 0)
		return r;
	return public_spki(w, pub, spki, spkilen);
}

/* Raw r || s (two equal halves) to DER ECDSA-Sig-Value. */
static int
ecdsa_raw_to_der(const uint8_t *raw, size_t len, uint8_t **out, size_t *outlen)
{
	ECDSA_SIG *es = NULL;
	BIGNUM *br = NULL, *bs = NULL;
	uint8_t *der = NULL, *p;
	int n, r = SN_ERR_CRYPTO;

	if (len == 0 || len % 2 != 0 || len > 2 * 66)
		return SN_ERR_HSM;
	if ((es = ECDSA_SIG_new()) == NULL ||
	    (br = BN_bin2bn(raw, (int)(len / 2), NULL)) == NULL ||
	    (bs = BN_bin2bn(raw + len / 2, (int)(len / 2), NULL)) == NULL ||
	    ECDSA_SIG_set0(es, br, bs) != 1)
		goto out;
	br = bs = NULL;		/* owned by es now */
	if ((n = i2d_ECDSA_SIG(es, NULL)) <= 0)
		goto out;
	if ((der = malloc((size_t)n)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	p = der;
	if (i2d_ECDSA_SIG(es, &p) != n)
		goto out;
	*out = der;
	*outlen = (size_t)n;
	der = NULL;
	r = 0;
 out:
	free(der);
	BN_free(br);
	BN_free(bs);
	ECDSA_SIG_free(es);
	return r;
}

static int
op_sign(struct keeper_worker *w, const uint8_t *id, enum sn_mech mech,
    enum sn_hash hash, const uint8_t *digest, size_t dlen, uint8_t **sig,
    size_t *siglen)
{
	CK_FUNCTION_LIST_PTR f = w->h->f;
	CK_OBJECT_HANDLE priv;
	CK_KEY_TYPE kt;
	CK_MECHANISM m = { 0, NULL, 0 };
	CK_RSA_PKCS_PSS_PARAMS pss;
	uint8_t di[128], out[KEEPER_SIG_MAX];
	const uint8_t *data = digest;
	size_t datalen = dlen;
	CK_ULONG outlen = sizeof(out);
	CK_RV rv;
	int r;

	/* Digests have their hash's length; only EdDSA signs a message. */
	if (mech == SN_MECH_EDDSA) {
		if (hash != SN_HASH_NONE || dlen == 0 ||
		    dlen > KEEPER_MESSAGE_MAX)
			return SN_ERR_INVALID;
	} else if (sn_hash_len(hash) == 0 || dlen != sn_hash_len(hash))
		return SN_ERR_INVALID;
	switch (mech) {
	case SN_MECH_RSA_PKCS:
		if ((r = sn_digestinfo(hash, digest, dlen, di, sizeof(di),
		    &datalen)) != 0)
			/* di holds the longest DigestInfo of any hash */
			return SN_NEVER(r == SN_ERR_TOO_LARGE) ? SN_ERR_INTERNAL : r;
		data = di;
		m.mechanism = CKM_RSA_PKCS;
		break;
	case SN_MECH_RSA_PSS:
		memset(&pss, 0, sizeof(pss));
		switch (hash) {
		case SN_HASH_SHA1:
			pss.hashAlg = CKM_SHA_1;
			pss.mgf = CKG_MGF1_SHA1;
			break;
		case SN_HASH_SHA256:
			pss.hashAlg = CKM_SHA256;
			pss.mgf = CKG_MGF1_SHA256;
			break;
		case SN_HASH_SHA384:
			pss.hashAlg = CKM_SHA384;
			pss.mgf = CKG_MGF1_SHA384;
			break;
		case SN_HASH_SHA512:
			pss.hashAlg = CKM_SHA512;
			pss.mgf = CKG_MGF1_SHA512;
			break;
		default:
			return SN_ERR_INVALID;
		}
		pss.sLen = dlen;
		m.mechanism = CKM_RSA_PKCS_PSS;
		m.pParameter = &pss;
		m.ulParameterLen = sizeof(pss);
		break;
	case SN_MECH_ECDSA:
		m.mechanism = CKM_ECDSA;
		break;
	case SN_MECH_EDDSA:
		m.mechanism = CKM_EDDSA;	/* no params: pure Ed25519 */
		break;
	default:
		return SN_ERR_INVALID;
	}
	/* Attempt 0 may use the cache; attempt 1 always looks the key up. */
	for (int attempt = 0;; attempt++) {
		int cached = 0;

		if (attempt == 2)
			return SN_ERR_NOT_FOUND;	/* vanished under us */
		if (attempt == 0 && cache_find(w->h, id, &priv, &kt))
			cached = 1;
		else {
			cache_drop(w->h, id, CK_INVALID_HANDLE);
			if ((r = find_key(w, CKO_PRIVATE_KEY, id, &priv)) != 0 ||
			    (r = get_key_type(w, priv, &kt)) != 0)
				return r;
			cache_put(w->h, id, priv, kt);
		}
		if ((kt == CKK_RSA) != (mech == SN_MECH_RSA_PKCS ||
		    mech == SN_MECH_RSA_PSS) ||
		    (kt == CKK_EC_EDWARDS) != (mech == SN_MECH_EDDSA) ||
		    (kt != CKK_RSA && kt != CKK_EC && kt != CKK_EC_EDWARDS))
			return SN_ERR_INVALID;
		/* SoftHSM2 2.6 leaks 37 bytes per EdDSA C_SignInit (see
		 * MODULE_LEAK_BEGIN); one checkpoint per interval. */
		MODULE_LEAK_BEGIN(mech == SN_MECH_EDDSA);
		rv = f->C_SignInit(w->session, &m, priv);
		MODULE_LEAK_END(mech == SN_MECH_EDDSA);
		if (rv == CKR_KEY_HANDLE_INVALID || rv == CKR_OBJECT_HANDLE_INVALID) {
			/* destroyed elsewhere: forget it, look it up again */
			cache_drop(w->h, id, priv);
			continue;
		}
		if (rv != CKR_OK)
			return ck(w, rv);
		/* A handle just found by CKA_ID needs no second look. */
		if (!cached || !w->h->verify_handles || handle_is_key(w, priv, id))
			break;
		/*
		 * The handle now names something else. PKCS#11 2.40 has no way
		 * to cancel an operation except finishing it: sign into the
		 * scratch buffer and throw the result away.
		 */
		cache_drop(w->h, id, priv);
		outlen = sizeof(out);
		if (f->C_Sign(w->session, (CK_BYTE_PTR)data, datalen, out,
		    &outlen) == CKR_BUFFER_TOO_SMALL)
			atomic_store(&w->h->broken, 1);
		explicit_bzero(out, sizeof(out));
		outlen = sizeof(out);
	}
	if ((rv = f->C_Sign(w->session, (CK_BYTE_PTR)data, datalen, out,
	    &outlen)) != CKR_OK) {
		/*
		 * A failed C_Sign ends the operation, except this one, which
		 * leaves it active on the session: treat the session as broken.
		 */
		if (rv == CKR_BUFFER_TOO_SMALL)
			atomic_store(&w->h->broken, 1);
		return ck(w, rv);
	}
	if (outlen == 0 || outlen > sizeof(out))
		return SN_ERR_HSM;
	if (mech == SN_MECH_ECDSA)
		return ecdsa_raw_to_der(out, outlen, sig, siglen);
	if ((*sig = malloc(outlen)) == NULL)
		return SN_ERR_NOMEM;
	memcpy(*sig, out, outlen);
	*siglen = outlen;
	return 0;
}

static int
op_destroy(struct keeper_worker *w, const uint8_t *id)
{
	static const CK_OBJECT_CLASS classes[] = { CKO_PRIVATE_KEY, CKO_PUBLIC_KEY };
	CK_OBJECT_HANDLE hs[8];
	CK_ULONG n;
	size_t found = 0;
	CK_RV rv;
	int r;

	cache_drop(w->h, id, CK_INVALID_HANDLE);
	for (size_t c = 0; c < sizeof(classes) / sizeof(classes[0]); c++) {
		if ((r = find_objects(w, classes[c], id, hs, 8, &n)) != 0)
			return r;
		for (CK_ULONG i = 0; i < n; i++) {
			if ((rv = w->h->f->C_DestroyObject(w->session, hs[i])) != CKR_OK)
				return ck(w, rv);
			found++;
		}
	}
	return found == 0 ? SN_ERR_NOT_FOUND : 0;
}

/* ---- request handler ---------------------------------------------------- */

static int
h_generate(struct keeper_worker *w, struct kcur *c, struct kbuf *rb)
{
	const uint8_t *label, *given = NULL;
	size_t labellen, spkilen = 0;
	uint8_t alg, id[KEEPER_ID_LEN], *spki = NULL;
	int r;

	if ((r = kcur_get_u8(c, &alg)) != 0 ||
	    (r = kcur_get_bytes(c, KEEPER_LABEL_MAX, &label, &labellen)) != 0)
		return r;
	/* optional: the CKA_ID the caller chose */
	if (c->len - c->off == KEEPER_ID_LEN &&
	    (r = kcur_get_raw(c, KEEPER_ID_LEN, &given)) != 0)
		return r;
	if ((r = kcur_end(c)) != 0)
		return r;
	if (memchr(label, '\0', labellen) != NULL)
		return SN_ERR_INVALID;
	if (given != NULL)
		memcpy(id, given, sizeof(id));
	pthread_mutex_lock(&w->h->store_lock);
	r = op_generate(w, (enum sn_key_alg)alg, label, labellen,
	    given != NULL, id, &spki, &spkilen);
	pthread_mutex_unlock(&w->h->store_lock);
	if (r != 0)
		return r;
	if ((r = kbuf_put(rb, id, sizeof(id))) != 0 ||
	    (r = kbuf_put_bytes(rb, spki, spkilen)) != 0)
		goto out;
 out:
	free(spki);
	return r;
}

static int
h_get_public_key(struct keeper_worker *w, struct kcur *c, struct kbuf *rb)
{
	const uint8_t *id;
	uint8_t *spki = NULL;
	size_t spkilen = 0;
	int r;

	if ((r = kcur_get_raw(c, KEEPER_ID_LEN, &id)) != 0 ||
	    (r = kcur_end(c)) != 0)
		return r;
	if ((r = op_get_public_key(w, id, &spki, &spkilen)) != 0)
		return r;
	r = kbuf_put_bytes(rb, spki, spkilen);
	free(spki);
	return r;
}

static int
h_sign(struct keeper_worker *w, struct kcur *c, struct kbuf *rb)
{
	const uint8_t *id, *digest;
	uint8_t mech, hash, *sig = NULL;
	size_t dlen, siglen = 0;
	int r;

	if ((r = kcur_get_raw(c, KEEPER_ID_LEN, &id)) != 0 ||
	    (r = kcur_get_u8(c, &mech)) != 0 ||
	    (r = kcur_get_u8(c, &hash)) != 0 ||
	    (r = kcur_get_bytes(c, KEEPER_MESSAGE_MAX, &digest, &dlen)) != 0 ||
	    (r = kcur_end(c)) != 0)
		return r;
	if ((r = op_sign(w, id, (enum sn_mech)mech, (enum sn_hash)hash, digest,
	    dlen, &sig, &siglen)) != 0)
		return r;
	r = kbuf_put_bytes(rb, sig, siglen);
	free(sig);
	return r;
}

static int
h_destroy(struct keeper_worker *w, struct kcur *c, struct kbuf *rb)
{
	const uint8_t *id;
	int r;

	if ((r = kcur_get_raw(c, KEEPER_ID_LEN, &id)) != 0 ||
	    (r = kcur_end(c)) != 0)
		return r;
	pthread_mutex_lock(&w->h->store_lock);
	r = op_destroy(w, id);
	pthread_mutex_unlock(&w->h->store_lock);
	return r;
}

int
keeper_handle(struct keeper_worker *w, const uint8_t *in, size_t inlen,
    uint8_t **out, size_t *outlen)
{
	struct kcur c;
	struct kbuf rb, resp;
	uint32_t len, id;
	uint8_t op;
	int r, status;

	*out = NULL;
	*outlen = 0;
	kcur_init(&c, in, inlen);
	if (kcur_get_u32(&c, &len) != 0 || len > KEEPER_FRAME_MAX ||
	    len != inlen - KEEPER_HDR_LEN || kcur_get_u32(&c, &id) != 0 ||
	    kcur_get_u8(&c, &op) != 0)
		return SN_ERR_PROTOCOL;

	kbuf_init(&rb, KEEPER_FRAME_MAX - 8);
	kbuf_init(&resp, KEEPER_HDR_LEN + KEEPER_FRAME_MAX);
	switch (op) {
	case KEEPER_OP_GENERATE:
		status = h_generate(w, &c, &rb);
		break;
	case KEEPER_OP_GET_PUBLIC_KEY:
		status = h_get_public_key(w, &c, &rb);
		break;
	case KEEPER_OP_SIGN:
		status = h_sign(w, &c, &rb);
		break;
	case KEEPER_OP_DESTROY:
		status = h_destroy(w, &c, &rb);
		break;
	default:
		status = SN_ERR_PROTOCOL;
		break;
	}
	/* response: u32 length, u32 id, u32 status (int32), body if status 0 */
	if ((r = kbuf_put_u32(&resp, 0)) != 0 ||
	    (r = kbuf_put_u32(&resp, id)) != 0 ||
	    (r = kbuf_put_u32(&resp, (uint32_t)(int32_t)status)) != 0 ||
	    (status == 0 && (r = kbuf_put(&resp, rb.data, rb.len)) != 0) ||
	    (r = kbuf_poke_u32(&resp, 0, (uint32_t)(resp.len - KEEPER_HDR_LEN))) != 0)
		goto out;
	kbuf_steal(&resp, out, outlen);
	r = 0;
 out:
	kbuf_free(&rb);
	kbuf_free(&resp);
	return r;
}
