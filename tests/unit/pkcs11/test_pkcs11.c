/*
 * test_pkcs11.c - unit tests of the parts of signet-pkcs11.so that need no
 * server: building the token from a /v1/me/keys answer, template matching,
 * C_GetAttributeValue semantics, mechanism checks, DigestInfo handling and
 * the ECDSA DER -> raw conversion.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "alg.h"
#include "err.h"
#include "p11_int.h"

/* ---- helpers ---- */

static EVP_PKEY *
gen_key(const char *type)
{
	if (strcmp(type, "RSA") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

static char *
pubkey_pem(EVP_PKEY *pk)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	assert_non_null(b);
	assert_int_equal(PEM_write_bio_PUBKEY(b, pk), 1);
	n = BIO_get_mem_data(b, &data);
	out = strndup(data, (size_t)n);
	BIO_free(b);
	return out;
}

static char *
cert_pem(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	assert_int_equal(PEM_write_bio_X509(b, x), 1);
	n = BIO_get_mem_data(b, &data);
	out = strndup(data, (size_t)n);
	BIO_free(b);
	return out;
}

/* A certificate for pk with subject CN=cn, signed by signer (or self). */
static X509 *
make_cert(EVP_PKEY *pk, const char *cn, X509 *issuer, EVP_PKEY *signer,
    long serial, int ca)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, pk);
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_key_identifier,
	    "hash");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	if (ca) {
		ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
		    "critical,CA:TRUE");
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	assert_true(X509_sign(x, signer, EVP_sha256()) > 0);
	X509_NAME_free(n);
	return x;
}

struct fixture {
	EVP_PKEY *root_key, *rsa, *ec;
	X509 *root, *rsa_cert, *ec_cert;
	json_t *resp;
};

static json_t *
key_json(const char *id, const char *name, const char *state, EVP_PKEY *pk,
    X509 *cert, X509 *root, const char *uri)
{
	char *pem = pubkey_pem(pk);
	char *cpem = cert ? cert_pem(cert) : NULL;
	char *rpem = cert_pem(root);
	json_t *k;

	k = json_pack("{s:s, s:s, s:{s:s}, s:s, s:s, s:o, s:[s], s:s*}",
	    "id", id, "name", name, "project", "name", "fw", "state", state,
	    "public_key", pem,
	    "certificate", cpem ? json_string(cpem) : json_null(),
	    "chain", rpem, "pkcs11_uri", uri);
	assert_non_null(k);
	free(pem);
	free(cpem);
	free(rpem);
	return k;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	json_t *keys;

	assert_non_null(f);
	f->root_key = gen_key("EC");
	f->rsa = gen_key("RSA");
	f->ec = gen_key("EC");
	f->root = make_cert(f->root_key, "Test Root", NULL, f->root_key, 1, 1);
	f->rsa_cert = make_cert(f->rsa, "rsa signer", f->root, f->root_key,
	    2, 0);
	f->ec_cert = make_cert(f->ec, "ec signer", f->root, f->root_key, 3, 0);
	keys = json_array();
	json_array_append_new(keys, key_json(
	    "skey_00112233445566778899aabbccddeeff", "release-rsa", "active",
	    f->rsa, f->rsa_cert, f->root,
	    "pkcs11:token=Signet;object=release-rsa;"
	    "id=%00%11%22%33%44%55%66%77%88%99%aa%bb%cc%dd%ee%ff;type=private"));
	json_array_append_new(keys, key_json(
	    "skey_ffeeddccbbaa99887766554433221100", "release-ec", "active",
	    f->ec, f->ec_cert, f->root, NULL));
	json_array_append_new(keys, key_json(
	    "skey_0000000000000000000000000000000a", "old", "disabled",
	    f->ec, NULL, f->root, NULL));
	/* An active key without a certificate (ca "none"). */
	json_array_append_new(keys, key_json(
	    "skey_0000000000000000000000000000000b", "nocert", "active",
	    f->ec, NULL, f->root, NULL));
	f->resp = json_pack("{s:o}", "keys", keys);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	json_decref(f->resp);
	X509_free(f->root);
	X509_free(f->rsa_cert);
	X509_free(f->ec_cert);
	EVP_PKEY_free(f->root_key);
	EVP_PKEY_free(f->rsa);
	EVP_PKEY_free(f->ec);
	free(f);
	return 0;
}

static size_t
find_all(const struct p11_token *t, CK_ATTRIBUTE *tmpl, CK_ULONG n,
    const struct p11_object **first)
{
	size_t count = 0;

	*first = NULL;
	for (size_t i = 0; i < t->nobjs; i++) {
		if (p11_obj_match(t->objs[i], tmpl, n)) {
			if (count++ == 0)
				*first = t->objs[i];
		}
	}
	return count;
}

/* ---- token building and finding ---- */

static void
test_token_objects(void **state)
{
	struct fixture *f = *state;
	struct p11_token *t = NULL;
	const struct p11_object *o;
	size_t skipped;
	CK_OBJECT_CLASS cls;
	CK_KEY_TYPE kt;
	CK_ULONG cat;
	CK_BBOOL yes = CK_TRUE;
	static const uint8_t rsa_id[16] = { 0x00, 0x11, 0x22, 0x33, 0x44,
	    0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
	CK_ATTRIBUTE by_class[] = { { CKA_CLASS, &cls, sizeof(cls) } };
	CK_ATTRIBUTE by_id[] = { { CKA_ID, (void *)rsa_id, sizeof(rsa_id) } };
	CK_ATTRIBUTE by_label_class[] = {
		{ CKA_LABEL, "fw/release-ec", 13 },
		{ CKA_CLASS, &cls, sizeof(cls) },
	};
	CK_ATTRIBUTE by_type[] = {
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_SIGN, &yes, sizeof(yes) },
	};
	CK_ATTRIBUTE by_cat[] = {
		{ CKA_CERTIFICATE_CATEGORY, &cat, sizeof(cat) },
	};

	assert_int_equal(p11_token_from_keys(f->resp, &t, &skipped), 0);
	/* 2 keys x (private, public, certificate) + nocert's private and
	 * public key + the root once. */
	assert_int_equal(t->nobjs, 9);
	assert_int_equal(skipped, 1);

	cls = CKO_PRIVATE_KEY;
	assert_int_equal(find_all(t, by_class, 1, &o), 3);
	cls = CKO_CERTIFICATE;
	assert_int_equal(find_all(t, by_class, 1, &o), 3);
	/* Same CKA_ID on private key, public key and certificate. */
	assert_int_equal(find_all(t, by_id, 1, &o), 3);
	cls = CKO_PRIVATE_KEY;
	assert_int_equal(find_all(t, by_label_class, 2, &o), 1);
	assert_int_equal(o->key_type, CKK_EC);
	assert_string_equal(o->key_id, "skey_ffeeddccbbaa99887766554433221100");
	kt = CKK_RSA;
	assert_int_equal(find_all(t, by_type, 2, &o), 1);
	assert_int_equal(o->cls, CKO_PRIVATE_KEY);
	assert_int_equal(o->key_bits, 2048);
	assert_int_equal(p11_sig_len(o), 256);
	cat = 2;
	assert_int_equal(find_all(t, by_cat, 1, &o), 1);
	assert_memory_equal(p11_obj_attr(o, CKA_LABEL)->val, "Test Root", 9);
	assert_int_equal(p11_obj_attr(o, CKA_ID)->len, 20);
	/* An empty template matches everything. */
	assert_int_equal(find_all(t, NULL, 0, &o), 9);
	/* Handles are 1..n and p11_token_find agrees. */
	assert_ptr_equal(p11_token_find(t, 1), t->objs[0]);
	assert_null(p11_token_find(t, 0));
	assert_null(p11_token_find(t, 10));
	assert_non_null(p11_token_find(t, 9));
	/* Without a certificate the key's CKA_SUBJECT is empty. */
	{
		CK_ATTRIBUTE nc[] = { { CKA_LABEL, "fw/nocert", 9 },
		    { CKA_CLASS, &cls, sizeof(cls) } };

		cls = CKO_PRIVATE_KEY;
		assert_int_equal(find_all(t, nc, 2, &o), 1);
		assert_int_equal(p11_obj_attr(o, CKA_SUBJECT)->len, 0);
		cls = CKO_CERTIFICATE;
		assert_int_equal(find_all(t, nc, 2, &o), 0);
	}
	p11_token_free(t);
}

/*
 * Lazy lookup: the key a template names, added to a token that has other
 * keys already, keeps the handles given out before; adding the same key
 * again (a second lookup, the full listing) adds nothing.
 */
static void
test_token_add_keys(void **state)
{
	struct fixture *f = *state;
	struct p11_token *t;
	json_t *keys = json_object_get(f->resp, "keys"), *one;
	const struct p11_object *o;
	CK_OBJECT_HANDLE h;
	size_t skipped, n;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE by_label[] = {
		{ CKA_LABEL, "fw/release-ec", 13 },
		{ CKA_CLASS, &cls, sizeof(cls) },
	};

	assert_non_null(t = p11_token_new());
	assert_int_equal(t->complete, 0);
	assert_false(p11_token_has_key(t, "fw/release-ec"));
	/* the answer of ?key=fw/release-ec */
	one = json_pack("{s:[O]}", "keys", json_array_get(keys, 1));
	assert_int_equal(p11_token_add_keys(t, one, &skipped), 0);
	assert_int_equal(t->nobjs, 4);	/* private, public, cert, root */
	assert_true(p11_token_has_key(t, "fw/release-ec"));
	assert_true(p11_token_has_key(t,
	    "skey_ffeeddccbbaa99887766554433221100"));
	assert_false(p11_token_has_key(t, "fw/release-rsa"));
	assert_false(p11_token_has_key(t, "fw/release"));
	assert_int_equal(find_all(t, by_label, 2, &o), 1);
	h = o->handle;
	/* the same key again: nothing new */
	assert_int_equal(p11_token_add_keys(t, one, &skipped), 0);
	assert_int_equal(t->nobjs, 4);
	/* every key (the full listing): the others follow, the root once */
	assert_int_equal(p11_token_add_keys(t, f->resp, &skipped), 0);
	n = t->nobjs;
	assert_int_equal(n, 9);
	assert_int_equal(skipped, 1);
	assert_int_equal(find_all(t, by_label, 2, &o), 1);
	assert_int_equal(o->handle, h);
	assert_ptr_equal(p11_token_find(t, h), o);
	assert_int_equal(p11_token_add_keys(t, f->resp, &skipped), 0);
	assert_int_equal(t->nobjs, n);
	/* a bad answer changes nothing */
	json_decref(one);
	one = json_pack("{s:s}", "keys", "no");
	assert_int_equal(p11_token_add_keys(t, one, &skipped), SN_ERR_PROTOCOL);
	assert_int_equal(t->nobjs, n);
	json_decref(one);
	p11_token_free(t);

	/* one answer naming a key twice: its objects once */
	assert_non_null(t = p11_token_new());
	one = json_pack("{s:[O,O]}", "keys", json_array_get(keys, 1),
	    json_array_get(keys, 1));
	assert_int_equal(p11_token_add_keys(t, one, &skipped), 0);
	assert_int_equal(t->nobjs, 4);
	json_decref(one);
	p11_token_free(t);
}

/*
 * A chain certificate is one authority object whatever its PEM text looks
 * like: the same DER with other line breaks is recognised too, and the
 * token made by p11_token_take still knows its authorities.
 */
static void
test_token_ca_dedupe(void **state)
{
	struct fixture *f = *state;
	struct p11_token *t, *t2;
	json_t *keys = json_object_get(f->resp, "keys"), *k, *ans;
	const struct p11_object *o;
	CK_ULONG cat = 2;
	CK_ATTRIBUTE by_cat[] = {
		{ CKA_CERTIFICATE_CATEGORY, &cat, sizeof(cat) },
	};
	const char *pem;
	char *crlf, *q;
	size_t skipped;

	k = json_deep_copy(json_array_get(keys, 0));
	pem = json_string_value(json_array_get(json_object_get(k, "chain"), 0));
	assert_non_null(crlf = malloc(2 * strlen(pem) + 1));
	for (q = crlf; *pem != '\0'; pem++) {
		if (*pem == '\n')
			*q++ = '\r';
		*q++ = *pem;
	}
	*q = '\0';
	json_array_set_new(json_object_get(k, "chain"), 0, json_string(crlf));
	/* the CRLF text first: the root is read from it, and the next key's
	 * LF text of the same root is matched by its DER */
	ans = json_pack("{s:[o,O]}", "keys", k, json_array_get(keys, 1));
	assert_non_null(t = p11_token_new());
	assert_int_equal(p11_token_add_keys(t, ans, &skipped), 0);
	assert_int_equal(find_all(t, by_cat, 1, &o), 1);
	assert_int_equal(t->ncas, 1);
	assert_ptr_equal(t->cas[0], o);
	assert_string_equal(o->pem, crlf);
	free(crlf);
	/* taken whole into another token, the index goes along */
	assert_non_null(t2 = p11_token_new());
	assert_int_equal(p11_token_take(t2, t), 1);
	assert_int_equal(t2->ncas, 1);
	assert_int_equal(p11_token_add_keys(t2, f->resp, &skipped), 0);
	assert_int_equal(find_all(t2, by_cat, 1, &o), 1);
	assert_int_equal(t2->nobjs, 9);
	json_decref(ans);
	p11_token_free(t2);
}

/* Which templates name a key: a CKA_ID of the service's characters, a
 * CKA_LABEL PROJECT/KEY; anything else lists every key. */
static void
test_tmpl_key_hint(void **state)
{
	char h[160];
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	static const uint8_t bin[16] = { 0x00, 0x11, 0x22 };
	char longid[100];
	CK_ATTRIBUTE id[] = { { CKA_CLASS, &cls, sizeof(cls) },
	    { CKA_ID, "skey_0123abcd", 13 } };
	CK_ATTRIBUTE label[] = { { CKA_LABEL, "app/release", 11 },
	    { CKA_CLASS, &cls, sizeof(cls) } };
	CK_ATTRIBUTE both[] = { { CKA_LABEL, "app/release", 11 },
	    { CKA_ID, "skey_1", 6 } };
	CK_ATTRIBUTE cls_only[] = { { CKA_CLASS, &cls, sizeof(cls) } };
	CK_ATTRIBUTE binid[] = { { CKA_ID, (void *)bin, sizeof(bin) } };
	CK_ATTRIBUTE ca[] = { { CKA_LABEL, "Signet Issuing CA", 17 } };
	CK_ATTRIBUTE bad[][1] = {
		{ { CKA_LABEL, "/release", 8 } }, { { CKA_LABEL, "app/", 4 } },
		{ { CKA_LABEL, "a/b/c", 5 } }, { { CKA_LABEL, "app/re lease", 12 } },
		{ { CKA_LABEL, "../x", 4 } }, { { CKA_ID, "", 0 } },
		{ { CKA_ID, "skey\n1", 6 } }, { { CKA_ID, NULL, 6 } },
		{ { CKA_ID, longid, sizeof(longid) } },
		{ { CKA_LABEL, "app/rel\0ease", 12 } },
	};

	memset(longid, 'a', sizeof(longid));
	assert_int_equal(p11_tmpl_key_hint(id, 2, h, sizeof(h)), 1);
	assert_string_equal(h, "skey_0123abcd");
	assert_int_equal(p11_tmpl_key_hint(label, 2, h, sizeof(h)), 1);
	assert_string_equal(h, "app/release");
	/* the id wins: it names the key whatever the label says */
	assert_int_equal(p11_tmpl_key_hint(both, 2, h, sizeof(h)), 1);
	assert_string_equal(h, "skey_1");
	assert_int_equal(p11_tmpl_key_hint(cls_only, 1, h, sizeof(h)), 0);
	assert_int_equal(p11_tmpl_key_hint(NULL, 0, h, sizeof(h)), 0);
	assert_int_equal(p11_tmpl_key_hint(binid, 1, h, sizeof(h)), 0);
	assert_int_equal(p11_tmpl_key_hint(ca, 1, h, sizeof(h)), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(p11_tmpl_key_hint(bad[i], 1, h, sizeof(h)), 0);
	/* too small an output buffer: no hint rather than a cut one */
	assert_int_equal(p11_tmpl_key_hint(label, 2, h, 11), 0);
}

/*
 * Two projects each with a key "release": the labels are PROJECT/KEY, so a
 * lookup by label finds exactly one key, and the CKA_IDs differ. The bare
 * name finds nothing (it used to find both, and consumers took either).
 */
static void
test_token_same_name_two_projects(void **state)
{
	struct fixture *f = *state;
	struct p11_token *t = NULL;
	const struct p11_object *o, *a;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE fw[] = { { CKA_LABEL, "fw/release", 10 },
	    { CKA_CLASS, &cls, sizeof(cls) } };
	CK_ATTRIBUTE other[] = { { CKA_LABEL, "other/release", 13 },
	    { CKA_CLASS, &cls, sizeof(cls) } };
	CK_ATTRIBUTE bare[] = { { CKA_LABEL, "release", 7 } };
	json_t *keys = json_array(), *k, *resp;
	size_t skipped;

	k = key_json("skey_000000000000000000000000000000f1", "release",
	    "active", f->rsa, f->rsa_cert, f->root, NULL);
	json_array_append_new(keys, k);
	k = key_json("skey_000000000000000000000000000000f2", "release",
	    "active", f->ec, f->ec_cert, f->root, NULL);
	json_object_set_new(k, "project", json_pack("{s:s}", "name", "other"));
	json_array_append_new(keys, k);
	/* A key without its project cannot be labelled: left off. */
	k = key_json("skey_000000000000000000000000000000f3", "noproj",
	    "active", f->ec, NULL, f->root, NULL);
	json_object_del(k, "project");
	json_array_append_new(keys, k);
	resp = json_pack("{s:o}", "keys", keys);
	assert_int_equal(p11_token_from_keys(resp, &t, &skipped), 0);
	assert_int_equal(skipped, 1);
	assert_int_equal(find_all(t, fw, 2, &o), 1);
	assert_string_equal(o->key_id, "skey_000000000000000000000000000000f1");
	assert_int_equal(o->key_type, CKK_RSA);
	assert_int_equal(find_all(t, other, 2, &a), 1);
	assert_string_equal(a->key_id, "skey_000000000000000000000000000000f2");
	assert_int_equal(a->key_type, CKK_EC);
	assert_int_equal(find_all(t, bare, 1, &o), 0);
	/* Private key, public key and certificate of each carry the label. */
	assert_int_equal(find_all(t, fw, 1, &o), 3);
	assert_int_equal(find_all(t, other, 1, &o), 3);
	{
		const struct p11_attr *i1, *i2;

		assert_int_equal(find_all(t, fw, 2, &o), 1);
		i1 = p11_obj_attr(o, CKA_ID);
		i2 = p11_obj_attr(a, CKA_ID);
		assert_true(i1->len != i2->len ||
		    memcmp(i1->val, i2->val, i1->len) != 0);
	}
	p11_token_free(t);
	json_decref(resp);
}

/* C_Verify's core: OpenSSL signatures over a digest check out, changed
 * ones do not, for PKCS#1 v1.5, PSS and ECDSA (raw r || s). */
static void
test_verify_digest(void **state)
{
	struct fixture *f = *state;
	struct p11_token *t = NULL;
	const struct p11_object *rpub, *epub;
	CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
	CK_ATTRIBUTE r[] = { { CKA_LABEL, "fw/release-rsa", 14 },
	    { CKA_CLASS, &cls, sizeof(cls) } };
	CK_ATTRIBUTE e[] = { { CKA_LABEL, "fw/release-ec", 13 },
	    { CKA_CLASS, &cls, sizeof(cls) } };
	uint8_t dg[32], sig[512], raw[64];
	size_t siglen;
	size_t skipped;
	EVP_PKEY_CTX *ctx;

	memset(dg, 0x5a, sizeof(dg));
	assert_int_equal(p11_token_from_keys(f->resp, &t, &skipped), 0);
	assert_int_equal(find_all(t, r, 2, &rpub), 1);
	assert_int_equal(find_all(t, e, 2, &epub), 1);
	for (int pss = 0; pss < 2; pss++) {
		ctx = EVP_PKEY_CTX_new(f->rsa, NULL);
		assert_int_equal(EVP_PKEY_sign_init(ctx), 1);
		assert_int_equal(EVP_PKEY_CTX_set_signature_md(ctx,
		    EVP_sha256()), 1);
		if (pss) {
			assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx,
			    RSA_PKCS1_PSS_PADDING), 1);
			assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx,
			    RSA_PSS_SALTLEN_DIGEST), 1);
		}
		siglen = sizeof(sig);
		assert_int_equal(EVP_PKEY_sign(ctx, sig, &siglen, dg,
		    sizeof(dg)), 1);
		EVP_PKEY_CTX_free(ctx);
		assert_int_equal(p11_verify_digest(rpub, pss ? SN_MECH_RSA_PSS :
		    SN_MECH_RSA_PKCS, SN_HASH_SHA256, dg, sizeof(dg), sig,
		    siglen), CKR_OK);
		/* The other padding, a changed signature, a short one. */
		assert_int_equal(p11_verify_digest(rpub, pss ? SN_MECH_RSA_PKCS :
		    SN_MECH_RSA_PSS, SN_HASH_SHA256, dg, sizeof(dg), sig,
		    siglen), CKR_SIGNATURE_INVALID);
		sig[10] ^= 1;
		assert_int_equal(p11_verify_digest(rpub, pss ? SN_MECH_RSA_PSS :
		    SN_MECH_RSA_PKCS, SN_HASH_SHA256, dg, sizeof(dg), sig,
		    siglen), CKR_SIGNATURE_INVALID);
		assert_int_equal(p11_verify_digest(rpub, SN_MECH_RSA_PKCS,
		    SN_HASH_SHA256, dg, sizeof(dg), sig, siglen - 1),
		    CKR_SIGNATURE_LEN_RANGE);
	}
	ctx = EVP_PKEY_CTX_new(f->ec, NULL);
	assert_int_equal(EVP_PKEY_sign_init(ctx), 1);
	siglen = sizeof(sig);
	assert_int_equal(EVP_PKEY_sign(ctx, sig, &siglen, dg, sizeof(dg)), 1);
	EVP_PKEY_CTX_free(ctx);
	assert_int_equal(p11_ecdsa_der_to_raw(sig, siglen, 32, raw), 0);
	assert_int_equal(p11_verify_digest(epub, SN_MECH_ECDSA, SN_HASH_SHA256,
	    dg, sizeof(dg), raw, sizeof(raw)), CKR_OK);
	raw[63] ^= 1;
	assert_int_equal(p11_verify_digest(epub, SN_MECH_ECDSA, SN_HASH_SHA256,
	    dg, sizeof(dg), raw, sizeof(raw)), CKR_SIGNATURE_INVALID);
	p11_token_free(t);
}

static void
test_token_ec_attrs(void **state)
{
	struct fixture *f = *state;
	struct p11_token *t = NULL;
	const struct p11_object *o;
	CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_LABEL, "fw/release-ec", 13 },
		{ CKA_CLASS, &cls, sizeof(cls) },
	};
	/* DER OID of prime256v1. */
	static const uint8_t p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
	    0x3d, 0x03, 0x01, 0x07 };
	const struct p11_attr *a;
	size_t skipped;

	assert_int_equal(p11_token_from_keys(f->resp, &t, &skipped), 0);
	assert_int_equal(find_all(t, tmpl, 2, &o), 1);
	a = p11_obj_attr(o, CKA_EC_PARAMS);
	assert_non_null(a);
	assert_int_equal(a->len, sizeof(p256));
	assert_memory_equal(a->val, p256, sizeof(p256));
	a = p11_obj_attr(o, CKA_EC_POINT);
	assert_non_null(a);
	/* OCTET STRING of 65 bytes: 04 41 04 x y */
	assert_int_equal(a->len, 67);
	assert_int_equal(a->val[0], 0x04);
	assert_int_equal(a->val[1], 65);
	assert_int_equal(a->val[2], 0x04);
	/* the SubjectPublicKeyInfo as the service sent it */
	{
		uint8_t *der = NULL;
		int dlen = i2d_PUBKEY(f->ec, &der);

		assert_true(dlen > 0);
		a = p11_obj_attr(o, CKA_PUBLIC_KEY_INFO);
		assert_non_null(a);
		assert_int_equal(a->len, (size_t)dlen);
		assert_memory_equal(a->val, der, (size_t)dlen);
		OPENSSL_free(der);
	}
	/* Fallback CKA_ID: the hex part of the key id. */
	a = p11_obj_attr(o, CKA_ID);
	assert_int_equal(a->len, 16);
	assert_int_equal(a->val[0], 0xff);
	assert_int_equal(p11_sig_len(o), 64);
	p11_token_free(t);
}

/* A checked listing's token moves into an empty token only, handles intact. */
static void
test_token_take(void **state)
{
	struct fixture *f = *state;
	struct p11_token *src = NULL, *src2 = NULL, *dst = p11_token_new();
	size_t skipped, n;

	assert_non_null(dst);
	assert_int_equal(p11_token_from_keys(f->resp, &src, &skipped), 0);
	n = src->nobjs;
	assert_true(n > 0);
	assert_int_equal(p11_token_take(dst, src), 1);	/* src is freed */
	assert_int_equal(dst->nobjs, n);
	for (size_t i = 0; i < n; i++)
		assert_ptr_equal(p11_token_find(dst, i + 1), dst->objs[i]);
	/* a token with objects keeps its own */
	assert_int_equal(p11_token_from_keys(f->resp, &src2, &skipped), 0);
	assert_int_equal(p11_token_take(dst, src2), 0);
	assert_int_equal(dst->nobjs, n);
	assert_int_equal(src2->nobjs, n);
	p11_token_free(src2);
	p11_token_free(dst);
}

/* One listed key with this public key PEM: the objects it made (0 or 3). */
static size_t
objs_for_pubkey(const char *pem, size_t *skipped, CK_ULONG *bits)
{
	struct p11_token *t = NULL;
	json_t *j = json_pack("{s:[{s:s,s:s,s:s,s:s,s:{s:s}}]}", "keys",
	    "id", "skey_00112233445566778899aabbccddeeff", "name", "k",
	    "state", "active", "public_key", pem, "project", "name", "p");
	size_t n;

	assert_non_null(j);
	assert_int_equal(p11_token_from_keys(j, &t, skipped), 0);
	n = t->nobjs;
	if (n > 0)
		*bits = t->objs[0]->key_bits;
	p11_token_free(t);
	json_decref(j);
	return n;
}

/*
 * Public keys are read from their DER (spki_parse): RSA and the three NIST
 * curves make objects with the right size; other algorithms and curves,
 * a compressed point, trailing bytes and random bytes are skipped.
 */
static void
test_token_public_key_kinds(void **state)
{
	static const char *const skip_pems[] = {
		/* Ed25519 */
		"-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n"
		"-----END PUBLIC KEY-----\n",
		/* random bytes */
		"-----BEGIN PUBLIC KEY-----\nq83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4k=\n"
		"-----END PUBLIC KEY-----\n",
		/* not a public key block */
		"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n",
		"garbage",
	};
	struct { const char *alg; const char *opt; CK_ULONG bits; } ok[] = {
		{ "EC", "P-256", 256 }, { "EC", "P-384", 384 },
		{ "EC", "P-521", 521 }, { "RSA", NULL, 2048 },
	};
	size_t skipped;
	CK_ULONG bits = 0;
	EVP_PKEY *pk;
	char *pem;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		pk = ok[i].opt != NULL ? EVP_PKEY_Q_keygen(NULL, NULL, "EC",
		    ok[i].opt) : EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
		    (size_t)2048);
		assert_non_null(pk);
		pem = pubkey_pem(pk);
		assert_int_equal(objs_for_pubkey(pem, &skipped, &bits), 2);
		assert_int_equal(skipped, 0);
		assert_int_equal(bits, ok[i].bits);
		free(pem);
		EVP_PKEY_free(pk);
	}
	/* secp256k1 is not a curve the service makes */
	assert_non_null(pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1"));
	pem = pubkey_pem(pk);
	assert_int_equal(objs_for_pubkey(pem, &skipped, &bits), 0);
	assert_int_equal(skipped, 1);
	free(pem);
	EVP_PKEY_free(pk);
	for (size_t i = 0; i < sizeof(skip_pems) / sizeof(skip_pems[0]); i++) {
		assert_int_equal(objs_for_pubkey(skip_pems[i], &skipped,
		    &bits), 0);
		assert_int_equal(skipped, 1);
	}
	/* a compressed P-256 point, and a valid key with a byte appended */
	{
		uint8_t *der = NULL, *d2;
		char b64[512], block[700];
		int n;

		assert_non_null(pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC",
		    "P-256"));
		assert_int_equal(EVP_PKEY_set_utf8_string_param(pk,
		    OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "compressed"), 1);
		pem = pubkey_pem(pk);
		assert_int_equal(objs_for_pubkey(pem, &skipped, &bits), 0);
		free(pem);
		assert_int_equal(EVP_PKEY_set_utf8_string_param(pk,
		    OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
		    "uncompressed"), 1);
		assert_true((n = i2d_PUBKEY(pk, &der)) > 0);
		assert_non_null(d2 = malloc((size_t)n + 1));
		memcpy(d2, der, (size_t)n);
		d2[n] = 0;
		EVP_EncodeBlock((unsigned char *)b64, d2, n + 1);
		snprintf(block, sizeof(block), "-----BEGIN PUBLIC KEY-----\n%s\n"
		    "-----END PUBLIC KEY-----\n", b64);
		assert_int_equal(objs_for_pubkey(block, &skipped, &bits), 0);
		assert_int_equal(skipped, 1);
		free(d2);
		OPENSSL_free(der);
		EVP_PKEY_free(pk);
	}
}

/* ---- the listing cache (p11_cache.c) ---- */

static char *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *b;
	long n;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	rewind(fp);
	b = malloc((size_t)n + 1);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, (size_t)n, fp), (size_t)n);
	b[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return b;
}

static void
spit(const char *path, const char *a, size_t alen, const char *b, size_t blen)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(a, 1, alen, fp), alen);
	if (blen > 0)
		assert_int_equal(fwrite(b, 1, blen, fp), blen);
	fclose(fp);
	assert_int_equal(chmod(path, 0600), 0);
}

/* p11_cache_load, the entry cleared again: its result */
static int
load(const char *name)
{
	struct p11_cache_entry e;
	int r = p11_cache_load(name, &e);

	if (r != 0) {
		assert_null(e.keys);
		assert_null(e.body);
	}
	p11_cache_entry_clear(&e);
	return r;
}

#define ETAG	"W/\"1764700000-0123456789abcdef0123456789abcdef\""

static void
test_etag_valid(void **state)
{
	char big[P11_ETAG_MAX + 2];

	(void)state;
	assert_true(p11_etag_valid(ETAG));
	assert_true(p11_etag_valid("W/\"x\""));
	assert_true(p11_etag_valid("W/\"!#~\""));
	assert_false(p11_etag_valid(NULL));
	assert_false(p11_etag_valid(""));
	assert_false(p11_etag_valid("-"));
	assert_false(p11_etag_valid("W/\"\""));		/* empty tag */
	assert_false(p11_etag_valid("\"abc\""));	/* strong */
	assert_false(p11_etag_valid("w/\"abc\""));
	assert_false(p11_etag_valid("W/abc"));
	assert_false(p11_etag_valid("W/\"abc"));
	assert_false(p11_etag_valid("W/\"a\"b\""));	/* quote inside */
	assert_false(p11_etag_valid("W/\"a b\""));	/* space */
	assert_false(p11_etag_valid("W/\"a\tb\""));
	assert_false(p11_etag_valid("W/\"a\x7f\""));
	assert_false(p11_etag_valid("W/\"\xc3\xa9\""));	/* not ASCII */
	assert_false(p11_etag_valid("W/\"abc\" "));
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "W/\"", 3);
	big[sizeof(big) - 2] = '"';
	assert_false(p11_etag_valid(big));		/* one byte too long */
	big[sizeof(big) - 2] = '\0';
	big[sizeof(big) - 3] = '"';
	assert_true(p11_etag_valid(big));
}

static void
test_listing_cache(void **state)
{
	struct fixture *f = *state;
	struct p11_cache_entry e;
	char tmp[] = "/tmp/p11cacheXXXXXX", dir[600], path[700];
	char name[P11_CACHE_NAME_LEN], other[P11_CACHE_NAME_LEN];
	char hdr[1024], *text, *nl, *body, *copy, longtag[P11_ETAG_MAX];
	json_t *me, *me2, *good;
	size_t len, hlen, blen;
	char fetched[32], etag[160], blens[32], sha[65];

	assert_non_null(mkdtemp(tmp));
	assert_int_equal(setenv("XDG_RUNTIME_DIR", tmp, 1), 0);
	me = json_pack("{s:s,s:s,s:s,s:{s:s}}", "type", "user", "id", "usr_1",
	    "credential_id", "apk_1", "tenant", "id", "ten_1");
	assert_int_equal(p11_cache_name("https://a:1", me, name), 0);
	assert_int_equal(strlen(name), 40);
	/* another credential, user, tenant or service: another entry */
	me2 = json_deep_copy(me);
	json_object_set_new(me2, "credential_id", json_string("apk_2"));
	assert_int_equal(p11_cache_name("https://a:1", me2, other), 0);
	assert_string_not_equal(name, other);
	assert_int_equal(p11_cache_name("https://a:2", me, other), 0);
	assert_string_not_equal(name, other);
	json_object_set_new(me2, "tenant", json_pack("{s:s}", "id", "ten_2"));
	json_object_set_new(me2, "credential_id", json_string("apk_1"));
	assert_int_equal(p11_cache_name("https://a:1", me2, other), 0);
	assert_string_not_equal(name, other);
	json_object_del(me2, "tenant");
	assert_int_equal(p11_cache_name("https://a:1", me2, other),
	    SN_ERR_PROTOCOL);
	json_decref(me2);
	json_decref(me);

	/* the fixture less its disabled key (the token would skip it) */
	good = json_deep_copy(f->resp);
	json_array_remove(json_object_get(good, "keys"), 2);
	assert_int_equal(load(name), SN_ERR_NOT_FOUND);
	assert_int_equal(p11_cache_store(name, good, ETAG), 0);
	assert_int_equal(p11_cache_dir(dir, sizeof(dir)), 0);
	snprintf(path, sizeof(path), "%s/keys-%s.json", dir, name);
	{
		struct stat st;

		assert_int_equal(stat(dir, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0700);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
	/* any age is read back, with its ETag and fetch time */
	assert_int_equal(p11_cache_load(name, &e), 0);
	assert_true(json_equal(e.keys, good));
	assert_string_equal(e.etag, ETAG);
	assert_true(e.fetched <= (int64_t)time(NULL) &&
	    e.fetched > (int64_t)time(NULL) - 60);
	p11_cache_entry_clear(&e);
	assert_int_not_equal(load(other), 0);
	/* no validator, or one we would not send back: saved as none */
	assert_int_equal(p11_cache_store(name, good, NULL), 0);
	assert_int_equal(p11_cache_load(name, &e), 0);
	assert_string_equal(e.etag, "");
	p11_cache_entry_clear(&e);
	assert_int_equal(p11_cache_store(name, good, "\"strong\""), 0);
	assert_int_equal(p11_cache_load(name, &e), 0);
	assert_string_equal(e.etag, "");
	p11_cache_entry_clear(&e);
	assert_int_equal(p11_cache_store(name, good, ETAG), 0);

	/* header variants: each is a miss */
	text = slurp(path, &len);
	nl = strchr(text, '\n');
	assert_non_null(nl);
	hlen = (size_t)(nl - text) + 1;
	body = nl + 1;
	blen = len - hlen;
	assert_int_equal(sscanf(text, "signet-listing-cache 2 %*40s %31s %159s "
	    "%31s %64s", fetched, etag, blens, sha), 4);
	assert_string_equal(etag, ETAG);
	/* W/"longtag" is over P11_ETAG_MAX bytes */
	memset(longtag, 'a', sizeof(longtag) - 1);
	longtag[sizeof(longtag) - 1] = '\0';
	{
		const char *fmts[] = {
			"signet-listing-cache 2 %s +%s %s %s %s\n",
			"signet-listing-cache 2 %s %s0 %s %s %s\n",
			"signet-listing-cache 2 %s %s %s %s1 %s\n",
			"signet-listing-cache 2 %s %s %s %s %s \n",
			"signet-listing-cache 2 %s %s %s %s %s x\n",
			"signet-listing-cache 2 %s %s  %s %s %s\n",
			"signet-listing-cache 2 %s %s %s  %s %s\n",
			"signet-listing-cache 1 %s %s %s %s %s\n",
			"signet-listing-cache 3 %s %s %s %s %s\n",
			"signet-listing-cache 2 %s-%s %s %s %s\n",
			"signet-listing-cache 2 %s %s %s %s\n%s\n",
			/* stored ETags that are not ones */
			"signet-listing-cache 2 %s %s x%s %s %s\n",
			"signet-listing-cache 2 %s %s %sx %s %s\n",
			"signet-listing-cache 2 %s %s W/\"\"%.0s %s %s\n",
			"signet-listing-cache 2 %s %s \"x\"%.0s %s %s\n",
			"signet-listing-cache 2 %s %s W/\"a\"b\"%.0s %s %s\n",
			"signet-listing-cache 2 %s %s W/\"\x01\"%.0s %s %s\n",
			"signet-listing-cache 2 %s %s W/\"\xc3\xa9\"%.0s %s %s\n",
			"signet-listing-cache 2 %s %s --%.0s %s %s\n",
			"signet-listing-cache 2 %s %s W/\"%s\" %s %s\n",
		};
		for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
/* the variants are the formats: a table of literals */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#pragma GCC diagnostic ignored "-Wformat-extra-args"
			if (i == sizeof(fmts) / sizeof(fmts[0]) - 1)
				/* an ETag over P11_ETAG_MAX bytes */
				snprintf(hdr, sizeof(hdr), fmts[i], name, fetched,
				    longtag, blens, sha);
			else
				snprintf(hdr, sizeof(hdr), fmts[i], name, fetched,
				    etag, blens, sha);
#pragma GCC diagnostic pop
			spit(path, hdr, strlen(hdr), body, blen);
			if (load(name) == 0)
				fail_msg("header variant %zu was used: %s", i, hdr);
		}
		/* upper-case digest, one digit off, the body one byte short */
		copy = strdup(sha);
		for (char *c = copy; *c; c++)
			if (*c >= 'a' && *c <= 'f')
				*c = (char)(*c - 32);
		snprintf(hdr, sizeof(hdr), "signet-listing-cache 2 %s %s %s %s %s\n",
		    name, fetched, etag, blens, copy);
		spit(path, hdr, strlen(hdr), body, blen);
		assert_int_not_equal(load(name), 0);
		free(copy);
		snprintf(hdr, sizeof(hdr), "signet-listing-cache 2 %s %s %s %s %s\n",
		    name, fetched, etag, blens, sha);
		spit(path, hdr, strlen(hdr), body, blen - 1);
		assert_int_not_equal(load(name), 0);
		/* the same bytes again: a hit (the variants were the cause) */
		spit(path, hdr, strlen(hdr), body, blen);
		assert_int_equal(load(name), 0);
		/* "-": no ETag, still an entry */
		snprintf(hdr, sizeof(hdr), "signet-listing-cache 2 %s %s - %s %s\n",
		    name, fetched, blens, sha);
		spit(path, hdr, strlen(hdr), body, blen);
		assert_int_equal(load(name), 0);
		/* fetched in the future: a miss; an hour ago: its age is told */
		snprintf(hdr, sizeof(hdr), "signet-listing-cache 2 %s %lld %s %s %s\n",
		    name, (long long)time(NULL) + 100, etag, blens, sha);
		spit(path, hdr, strlen(hdr), body, blen);
		assert_int_not_equal(load(name), 0);
		snprintf(hdr, sizeof(hdr), "signet-listing-cache 2 %s %lld %s %s %s\n",
		    name, (long long)time(NULL) - 3600, etag, blens, sha);
		spit(path, hdr, strlen(hdr), body, blen);
		assert_int_equal(p11_cache_load(name, &e), 0);
		assert_true(e.fetched <= (int64_t)time(NULL) - 3600);
		/* touched: the same body and ETag, fetched now */
		assert_int_equal(p11_cache_touch(name, &e), 0);
		p11_cache_entry_clear(&e);
		assert_int_equal(p11_cache_load(name, &e), 0);
		assert_true(e.fetched > (int64_t)time(NULL) - 60);
		assert_string_equal(e.etag, ETAG);
		assert_true(json_equal(e.keys, good));
		p11_cache_entry_clear(&e);
		{
			size_t l2;
			char *t2 = slurp(path, &l2);

			assert_int_equal(l2 - (size_t)(strchr(t2, '\n') + 1 - t2),
			    blen);
			assert_memory_equal(strchr(t2, '\n') + 1, body, blen);
			free(t2);
		}
	}
	free(text);
	/* a listing with a key the token would skip is not used */
	assert_int_equal(p11_cache_store(name, f->resp, ETAG), 0);
	assert_int_not_equal(load(name), 0);
	/* dropped: a miss; a group-writable directory: neither read nor
	 * written */
	assert_int_equal(p11_cache_store(name, good, ETAG), 0);
	p11_cache_drop(name);
	assert_int_equal(load(name), SN_ERR_NOT_FOUND);
	assert_int_equal(p11_cache_store(name, good, ETAG), 0);
	assert_int_equal(chmod(dir, 0770), 0);
	assert_int_equal(load(name), SN_ERR_INVALID);
	assert_int_equal(p11_cache_store(name, good, ETAG), SN_ERR_INVALID);
	assert_int_equal(chmod(dir, 0700), 0);
	assert_int_equal(load(name), 0);
	json_decref(good);
	unlink(path);
	rmdir(dir);
	rmdir(tmp);
	unsetenv("XDG_RUNTIME_DIR");
}

static void
test_token_bad_answer(void **state)
{
	struct p11_token *t = NULL;
	size_t skipped;
	json_t *j = json_pack("{s:s}", "keys", "nope");

	assert_int_equal(p11_token_from_keys(j, &t, &skipped), SN_ERR_PROTOCOL);
	assert_null(t);
	json_decref(j);
	j = json_pack("{s:[{s:s}]}", "keys", "id", "skey_x");
	assert_int_equal(p11_token_from_keys(j, &t, &skipped), 0);
	assert_int_equal(t->nobjs, 0);
	assert_int_equal(skipped, 1);
	p11_token_free(t);
	json_decref(j);
}

/*
 * One unreadable CA certificate in one key's chain leaves that certificate
 * out; it must not take every key off the token (C_Initialize would fail).
 */
static void
test_token_bad_chain_cert(void **state)
{
	struct fixture *f = *state;
	struct p11_token *t = NULL;
	const struct p11_object *o;
	json_t *k = json_array_get(json_object_get(f->resp, "keys"), 0);
	json_t *chain = json_object_get(k, "chain");
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE by_class[] = { { CKA_CLASS, &cls, sizeof(cls) } };
	size_t skipped;

	assert_int_equal(json_array_insert_new(chain, 0, json_string(
	    "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n"
	    "-----END CERTIFICATE-----\n")), 0);
	assert_int_equal(p11_token_from_keys(f->resp, &t, &skipped), 0);
	assert_non_null(t);
	/* Every object as before: the bad entry adds nothing. */
	assert_int_equal(t->nobjs, 9);
	assert_int_equal(find_all(t, by_class, 1, &o), 3);
	p11_token_free(t);
}

/* ---- certificate fields (p11_cert.c) ---- */

static uint8_t *
cert_der(X509 *x, size_t *len)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);

	assert_true(n > 0);
	*len = (size_t)n;
	return der;
}

/* The range is exactly OpenSSL's encoding of the field (freed). */
static void
assert_range(const struct sn_der_range *r, unsigned char *der, int n)
{
	assert_true(n > 0);
	assert_int_equal(r->len, (size_t)n);
	assert_memory_equal(r->p, der, r->len);
	OPENSSL_free(der);
}

static void
assert_tm(const struct tm *a, const ASN1_TIME *t)
{
	struct tm b;

	assert_true(ASN1_TIME_to_tm(t, &b));
	assert_int_equal(a->tm_year, b.tm_year);
	assert_int_equal(a->tm_mon, b.tm_mon);
	assert_int_equal(a->tm_mday, b.tm_mday);
	assert_int_equal(a->tm_hour, b.tm_hour);
	assert_int_equal(a->tm_min, b.tm_min);
	assert_int_equal(a->tm_sec, b.tm_sec);
}

/* sn_cert_fields agrees with d2i_X509 on every field it reads. */
static void
check_fields(X509 *x)
{
	struct sn_cert_fields f;
	unsigned char *d = NULL;
	uint8_t *der;
	size_t len;
	int n;

	der = cert_der(x, &len);
	assert_int_equal(sn_cert_fields(der, len, &f), 0);
	n = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &d);
	assert_range(&f.serial, d, n);
	d = NULL;
	n = i2d_X509_NAME(X509_get_issuer_name(x), &d);
	assert_range(&f.issuer, d, n);
	d = NULL;
	n = i2d_X509_NAME(X509_get_subject_name(x), &d);
	assert_range(&f.subject, d, n);
	d = NULL;
	n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &d);
	assert_range(&f.spki, d, n);
	assert_true(f.not_before.ok);
	assert_true(f.not_after.ok);
	assert_tm(&f.not_before.tm, X509_get0_notBefore(x));
	assert_tm(&f.not_after.tm, X509_get0_notAfter(x));
	OPENSSL_free(der);
}

static void
test_cert_fields(void **state)
{
	struct fixture *f = *state;
	struct sn_cert_fields cf;
	X509 *v1, *big;
	BIGNUM *bn = NULL;
	uint8_t *der, *buf;
	size_t len;

	check_fields(f->root);
	check_fields(f->rsa_cert);
	check_fields(f->ec_cert);
	/* a v1 certificate (no [0] version), a negative serial, and a
	 * notAfter past 2049 (GeneralizedTime) */
	v1 = make_cert(f->ec, "v1", f->root, f->root_key, -5, 0);
	X509_set_version(v1, 0);
	X509_EXTENSION_free(X509_delete_ext(v1, 0));
	assert_non_null(ASN1_TIME_set_string(X509_getm_notAfter(v1),
	    "20610102030405Z"));
	assert_true(X509_sign(v1, f->root_key, EVP_sha256()) > 0);
	check_fields(v1);
	X509_free(v1);
	/* a 20-byte serial, the most RFC 5280 allows */
	big = make_cert(f->rsa, "big serial", f->root, f->root_key, 1, 0);
	assert_true(BN_hex2bn(&bn, "7f112233445566778899aabbccddeeff00112233")
	    > 0);
	assert_non_null(BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(big)));
	assert_true(X509_sign(big, f->root_key, EVP_sha256()) > 0);
	check_fields(big);
	X509_free(big);
	BN_free(bn);

	der = cert_der(f->rsa_cert, &len);
	assert_non_null(buf = malloc(len + 2));
	/* every truncation is refused, and leaves no OpenSSL error */
	ERR_clear_error();
	for (size_t n = 0; n < len; n++) {
		memcpy(buf, der, n);
		assert_int_equal(sn_cert_fields(buf, n, &cf), SN_ERR_INVALID);
		assert_null(cf.subject.p);
	}
	assert_int_equal(ERR_peek_error(), 0);
	/* a byte after it */
	memcpy(buf, der, len);
	buf[len] = 0;
	assert_int_equal(sn_cert_fields(buf, len + 1, &cf), SN_ERR_INVALID);
	/* a SET, not a SEQUENCE */
	buf[0] = 0x31;
	assert_int_equal(sn_cert_fields(buf, len, &cf), SN_ERR_INVALID);
	/* the same content with an indefinite length (BER, not DER) */
	assert_int_equal(der[0], 0x30);
	assert_int_equal(der[1], 0x82);
	buf[0] = 0x30;
	buf[1] = 0x80;
	memcpy(buf + 2, der + 4, len - 4);
	buf[len - 2] = buf[len - 1] = 0;
	assert_int_equal(sn_cert_fields(buf, len, &cf), SN_ERR_INVALID);
	/* a notBefore that is not a time ('x' for a digit of the UTCTime)
	 * reads, as d2i_X509 reads it, with the date unknown */
	memcpy(buf, der, len);
	for (size_t i = 0; i + 2 < len; i++) {
		if (buf[i] == V_ASN1_UTCTIME && buf[i + 1] == 13) {
			buf[i + 3] = 'x';
			break;
		}
	}
	assert_int_equal(sn_cert_fields(buf, len, &cf), 0);
	assert_false(cf.not_before.ok);
	assert_true(cf.not_after.ok);
	assert_true(cf.not_after.tm.tm_year > 100);
	/* a notBefore of another type (an INTEGER) does not */
	for (size_t i = 0; i + 2 < len; i++) {
		if (buf[i] == V_ASN1_UTCTIME && buf[i + 1] == 13) {
			buf[i] = V_ASN1_INTEGER;
			break;
		}
	}
	assert_int_equal(sn_cert_fields(buf, len, &cf), SN_ERR_INVALID);
	/* the unchanged certificate reads */
	assert_int_equal(sn_cert_fields(der, len, &cf), 0);
	assert_int_equal(sn_cert_fields(NULL, 0, &cf), SN_ERR_INVALID);
	free(buf);
	OPENSSL_free(der);

	/* random bytes, with and without a SEQUENCE header in front */
	assert_non_null(buf = malloc(600));
	for (int i = 0; i < 2000; i++) {
		size_t n = 4 + (size_t)(rand() % 596);

		for (size_t j = 0; j < n; j++)
			buf[j] = (uint8_t)rand();
		if (i % 2) {
			buf[0] = 0x30;
			buf[1] = 0x82;
			buf[2] = (uint8_t)((n - 4) >> 8);
			buf[3] = (uint8_t)(n - 4);
		}
		assert_int_equal(sn_cert_fields(buf, n, &cf), SN_ERR_INVALID);
	}
	assert_int_equal(ERR_peek_error(), 0);
	free(buf);
}

/* The object's attribute holds exactly the n bytes of *der (then freed). */
static void
assert_attr(const struct p11_object *o, CK_ATTRIBUTE_TYPE type,
    unsigned char **der, int n)
{
	const struct p11_attr *a = p11_obj_attr(o, type);

	assert_non_null(a);
	assert_true(n > 0);
	assert_int_equal(a->len, (CK_ULONG)n);
	assert_memory_equal(a->val, *der, a->len);
	OPENSSL_free(*der);
	*der = NULL;
}

/*
 * The certificate objects carry the certificate's own bytes: CKA_VALUE the
 * DER, CKA_ISSUER/CKA_SUBJECT/CKA_SERIAL_NUMBER/CKA_PUBLIC_KEY_INFO its
 * fields, the dates its validity; the key pair's CKA_SUBJECT is the
 * certificate's. A key whose certificate does not read is left out.
 */
static void
test_token_cert_attrs(void **state)
{
	struct fixture *f = *state;
	struct p11_token *t = NULL;
	const struct p11_object *o, *k;
	const struct p11_attr *a;
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_ATTRIBUTE by_label[] = { { CKA_LABEL, "fw/release-rsa", 14 },
	    { CKA_CLASS, &cls, sizeof(cls) } };
	CK_DATE d;
	struct tm tm;
	char buf[40];
	unsigned char *der = NULL;
	json_t *key;
	char *pem, *b64;
	size_t skipped, len;
	int n;

	assert_int_equal(p11_token_from_keys(f->resp, &t, &skipped), 0);
	assert_int_equal(find_all(t, by_label, 2, &o), 1);
	n = i2d_X509(f->rsa_cert, &der);
	assert_attr(o, CKA_VALUE, &der, n);
	n = i2d_X509_NAME(X509_get_subject_name(f->root), &der);
	assert_attr(o, CKA_ISSUER, &der, n);
	/* the private key says the certificate's subject too */
	cls = CKO_PRIVATE_KEY;
	assert_int_equal(find_all(t, by_label, 2, &k), 1);
	n = i2d_X509_NAME(X509_get_subject_name(f->rsa_cert), &der);
	assert_attr(k, CKA_SUBJECT, &der, n);
	n = i2d_X509_NAME(X509_get_subject_name(f->rsa_cert), &der);
	assert_attr(o, CKA_SUBJECT, &der, n);
	n = i2d_ASN1_INTEGER(X509_get0_serialNumber(f->rsa_cert), &der);
	assert_attr(o, CKA_SERIAL_NUMBER, &der, n);
	n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(f->rsa_cert), &der);
	assert_attr(o, CKA_PUBLIC_KEY_INFO, &der, n);
	assert_true(ASN1_TIME_to_tm(X509_get0_notAfter(f->rsa_cert), &tm));
	snprintf(buf, sizeof(buf), "%04d%02d%02d", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday);
	a = p11_obj_attr(o, CKA_END_DATE);
	assert_int_equal(a->len, sizeof(d));
	memcpy(&d, a->val, sizeof(d));
	assert_memory_equal(d.year, buf, 4);
	assert_memory_equal(d.month, buf + 4, 2);
	assert_memory_equal(d.day, buf + 6, 2);
	p11_token_free(t);
	t = NULL;

	/* the RSA key's certificate cut short: that key is left out */
	key = json_array_get(json_object_get(f->resp, "keys"), 0);
	der = NULL;
	n = i2d_X509(f->rsa_cert, &der);
	assert_true(n > 40);
	len = 4 * ((size_t)n / 3) + 4;
	assert_non_null(b64 = malloc(len + 1));
	assert_non_null(pem = malloc(len + 64));
	EVP_EncodeBlock((unsigned char *)b64, der, n - 20);
	snprintf(pem, len + 64, "-----BEGIN CERTIFICATE-----\n%s\n"
	    "-----END CERTIFICATE-----\n", b64);
	free(b64);
	OPENSSL_free(der);
	assert_int_equal(json_object_set_new(key, "certificate",
	    json_string(pem)), 0);
	free(pem);
	assert_int_equal(p11_token_from_keys(f->resp, &t, &skipped), 0);
	assert_int_equal(skipped, 2);	/* "old" (disabled) and this one */
	cls = CKO_PRIVATE_KEY;
	assert_int_equal(find_all(t, by_label, 2, &k), 0);
	p11_token_free(t);
}

/* ---- C_GetAttributeValue semantics ---- */

static void
test_get_attributes(void **state)
{
	struct fixture *f = *state;
	struct p11_token *t = NULL;
	const struct p11_object *priv;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_KEY_TYPE kt = CKK_RSA;
	CK_ATTRIBUTE find[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
	};
	uint8_t mod[512], small[4];
	CK_BBOOL sens = 0, extr = 1;
	CK_ATTRIBUTE q[3];
	BIGNUM *n = NULL;
	uint8_t nbin[256];
	size_t skipped;

	assert_int_equal(p11_token_from_keys(f->resp, &t, &skipped), 0);
	assert_int_equal(find_all(t, find, 2, &priv), 1);

	/* Size query. */
	q[0] = (CK_ATTRIBUTE){ CKA_MODULUS, NULL, 0 };
	assert_int_equal(p11_obj_get_attributes(priv, q, 1), CKR_OK);
	assert_int_equal(q[0].ulValueLen, 256);
	/* Value, compared with OpenSSL's view of the key. */
	q[0] = (CK_ATTRIBUTE){ CKA_MODULUS, mod, sizeof(mod) };
	assert_int_equal(p11_obj_get_attributes(priv, q, 1), CKR_OK);
	assert_int_equal(q[0].ulValueLen, 256);
	assert_true(EVP_PKEY_get_bn_param(f->rsa, "n", &n));
	assert_int_equal(BN_bn2bin(n, nbin), 256);
	assert_memory_equal(mod, nbin, 256);
	BN_free(n);
	/* Too small: CKR_BUFFER_TOO_SMALL, length unavailable. */
	q[0] = (CK_ATTRIBUTE){ CKA_MODULUS, small, sizeof(small) };
	assert_int_equal(p11_obj_get_attributes(priv, q, 1),
	    CKR_BUFFER_TOO_SMALL);
	assert_int_equal(q[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
	/* Sensitive and unknown, mixed with good ones: all processed. */
	q[0] = (CK_ATTRIBUTE){ CKA_PRIVATE_EXPONENT, mod, sizeof(mod) };
	q[1] = (CK_ATTRIBUTE){ CKA_SENSITIVE, &sens, sizeof(sens) };
	q[2] = (CK_ATTRIBUTE){ CKA_EXTRACTABLE, &extr, sizeof(extr) };
	assert_int_equal(p11_obj_get_attributes(priv, q, 3),
	    CKR_ATTRIBUTE_SENSITIVE);
	assert_int_equal(q[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
	assert_int_equal(sens, CK_TRUE);
	assert_int_equal(extr, CK_FALSE);
	q[0] = (CK_ATTRIBUTE){ CKA_VALUE, NULL, 0 };
	assert_int_equal(p11_obj_get_attributes(priv, q, 1),
	    CKR_ATTRIBUTE_SENSITIVE);
	q[0] = (CK_ATTRIBUTE){ 0x7fff0000UL, NULL, 0 };
	assert_int_equal(p11_obj_get_attributes(priv, q, 1),
	    CKR_ATTRIBUTE_TYPE_INVALID);
	assert_int_equal(q[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
	p11_token_free(t);
}

/* ---- mechanisms ---- */

static void
test_mech_info(void **state)
{
	CK_MECHANISM_INFO mi;

	assert_int_equal(p11_mech_get_info(CKM_SHA256_RSA_PKCS, &mi), CKR_OK);
	assert_int_equal(mi.ulMinKeySize, 2048);
	assert_int_equal(mi.ulMaxKeySize, 4096);
	assert_true(mi.flags & CKF_SIGN);
	assert_false(mi.flags & CKF_DECRYPT);
	assert_int_equal(p11_mech_get_info(CKM_ECDSA, &mi), CKR_OK);
	assert_int_equal(mi.ulMinKeySize, 256);
	assert_int_equal(mi.ulMaxKeySize, 384);
	assert_int_equal(p11_mech_get_info(CKM_RSA_X_509, &mi),
	    CKR_MECHANISM_INVALID);
	assert_int_equal(p11_mech_get_info(CKM_SHA1_RSA_PKCS, &mi),
	    CKR_MECHANISM_INVALID);
}

static void
test_mech_check(void **state)
{
	struct p11_object rsa = { .cls = CKO_PRIVATE_KEY, .key_type = CKK_RSA,
	    .key_bits = 3072 };
	struct p11_object ec = { .cls = CKO_PRIVATE_KEY, .key_type = CKK_EC,
	    .key_bits = 384 };
	struct p11_object pub = { .cls = CKO_PUBLIC_KEY, .key_type = CKK_RSA,
	    .key_bits = 2048 };
	CK_RSA_PKCS_PSS_PARAMS pp = { CKM_SHA384, CKG_MGF1_SHA384, 48 };
	CK_MECHANISM m = { CKM_RSA_PKCS_PSS, &pp, sizeof(pp) };
	const struct p11_mech_info *mi;
	enum sn_hash h;

	assert_int_equal(p11_mech_check(&m, &rsa, &mi, &h), CKR_OK);
	assert_int_equal(h, SN_HASH_SHA384);
	assert_int_equal(mi->mech, SN_MECH_RSA_PSS);
	assert_int_equal(p11_mech_check(&m, &ec, &mi, &h),
	    CKR_KEY_TYPE_INCONSISTENT);
	assert_int_equal(p11_mech_check(&m, &pub, &mi, &h),
	    CKR_KEY_FUNCTION_NOT_PERMITTED);
	/* Salt length, MGF and hash must agree with the service's PSS. */
	pp.sLen = 32;
	assert_int_equal(p11_mech_check(&m, &rsa, &mi, &h),
	    CKR_MECHANISM_PARAM_INVALID);
	pp.sLen = 48;
	pp.mgf = CKG_MGF1_SHA256;
	assert_int_equal(p11_mech_check(&m, &rsa, &mi, &h),
	    CKR_MECHANISM_PARAM_INVALID);
	pp.mgf = CKG_MGF1_SHA384;
	m.mechanism = CKM_SHA256_RSA_PKCS_PSS;	/* hashAlg is SHA-384 */
	assert_int_equal(p11_mech_check(&m, &rsa, &mi, &h),
	    CKR_MECHANISM_PARAM_INVALID);
	m.mechanism = CKM_SHA384_RSA_PKCS_PSS;
	assert_int_equal(p11_mech_check(&m, &rsa, &mi, &h), CKR_OK);
	assert_int_equal(mi->hash, SN_HASH_SHA384);
	m.pParameter = NULL;
	assert_int_equal(p11_mech_check(&m, &rsa, &mi, &h),
	    CKR_MECHANISM_PARAM_INVALID);
	m.pParameter = &pp;
	m.ulParameterLen = 4;
	assert_int_equal(p11_mech_check(&m, &rsa, &mi, &h),
	    CKR_MECHANISM_PARAM_INVALID);

	m = (CK_MECHANISM){ CKM_ECDSA_SHA512, NULL, 0 };
	assert_int_equal(p11_mech_check(&m, &ec, &mi, &h), CKR_OK);
	assert_int_equal(mi->hash, SN_HASH_SHA512);
	assert_int_equal(p11_mech_check(&m, &rsa, &mi, &h),
	    CKR_KEY_TYPE_INCONSISTENT);
	m.mechanism = CKM_AES_CBC;
	assert_int_equal(p11_mech_check(&m, &rsa, &mi, &h),
	    CKR_MECHANISM_INVALID);
	assert_int_equal(p11_sig_len(&rsa), 384);
	assert_int_equal(p11_sig_len(&ec), 96);
}

static void
test_raw_input(void **state)
{
	uint8_t dg[64], di[128];
	size_t dilen, dlen;
	const uint8_t *d;
	enum sn_hash h;

	for (size_t i = 0; i < sizeof(dg); i++)
		dg[i] = (uint8_t)i;
	/* CKM_RSA_PKCS: a DigestInfo is unwrapped into hash + digest. */
	assert_int_equal(sn_digestinfo(SN_HASH_SHA384, dg, 48, di, sizeof(di),
	    &dilen), 0);
	assert_int_equal(p11_raw_input(CKM_RSA_PKCS, SN_HASH_NONE, di, dilen,
	    &h, &d, &dlen), CKR_OK);
	assert_int_equal(h, SN_HASH_SHA384);
	assert_int_equal(dlen, 48);
	assert_memory_equal(d, dg, 48);
	/* A bare digest, or a DigestInfo with trailing bytes, is refused. */
	assert_int_equal(p11_raw_input(CKM_RSA_PKCS, SN_HASH_NONE, dg, 32,
	    &h, &d, &dlen), CKR_DATA_INVALID);
	assert_int_equal(p11_raw_input(CKM_RSA_PKCS, SN_HASH_NONE, di,
	    dilen - 1, &h, &d, &dlen), CKR_DATA_INVALID);
	/* CKM_ECDSA: the length names the hash. */
	assert_int_equal(p11_raw_input(CKM_ECDSA, SN_HASH_NONE, dg, 32,
	    &h, &d, &dlen), CKR_OK);
	assert_int_equal(h, SN_HASH_SHA256);
	assert_int_equal(p11_raw_input(CKM_ECDSA, SN_HASH_NONE, dg, 64,
	    &h, &d, &dlen), CKR_OK);
	assert_int_equal(h, SN_HASH_SHA512);
	assert_int_equal(p11_raw_input(CKM_ECDSA, SN_HASH_NONE, dg, 33,
	    &h, &d, &dlen), CKR_DATA_LEN_RANGE);
	/* CKM_RSA_PKCS_PSS: the digest must match the parameters' hash. */
	assert_int_equal(p11_raw_input(CKM_RSA_PKCS_PSS, SN_HASH_SHA256, dg,
	    32, &h, &d, &dlen), CKR_OK);
	assert_int_equal(h, SN_HASH_SHA256);
	assert_int_equal(p11_raw_input(CKM_RSA_PKCS_PSS, SN_HASH_SHA256, dg,
	    48, &h, &d, &dlen), CKR_DATA_LEN_RANGE);
}

/* ---- ECDSA DER -> raw ---- */

static void
test_ecdsa_der_to_raw(void **state)
{
	EVP_PKEY *pk = gen_key("EC");
	EVP_MD_CTX *md;
	uint8_t der[128], raw[64], back[128], *p;
	size_t derlen = sizeof(der);
	const char *msg = "hello";
	ECDSA_SIG *s;
	BIGNUM *r, *ss;
	int blen;

	/* Many signatures: some r/s have a high bit (leading 00) or are short. */
	for (int i = 0; i < 64; i++) {
		derlen = sizeof(der);
		md = EVP_MD_CTX_new();
		assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(),
		    NULL, pk), 1);
		assert_int_equal(EVP_DigestSign(md, der, &derlen,
		    (const uint8_t *)msg, 5), 1);
		EVP_MD_CTX_free(md);
		assert_int_equal(p11_ecdsa_der_to_raw(der, derlen, 32, raw), 0);
		/* Round trip through OpenSSL gives the same DER. */
		r = BN_bin2bn(raw, 32, NULL);
		ss = BN_bin2bn(raw + 32, 32, NULL);
		s = ECDSA_SIG_new();
		assert_int_equal(ECDSA_SIG_set0(s, r, ss), 1);
		p = back;
		blen = i2d_ECDSA_SIG(s, &p);
		ECDSA_SIG_free(s);
		assert_int_equal((size_t)blen, derlen);
		assert_memory_equal(back, der, derlen);
	}
	/* Trailing garbage, wrong tag, oversize integer, negative. */
	der[derlen] = 0;
	assert_int_equal(p11_ecdsa_der_to_raw(der, derlen + 1, 32, raw),
	    SN_ERR_PROTOCOL);
	assert_int_equal(p11_ecdsa_der_to_raw(der, derlen, 16, raw),
	    SN_ERR_PROTOCOL);
	der[0] = 0x31;
	assert_int_equal(p11_ecdsa_der_to_raw(der, derlen, 32, raw),
	    SN_ERR_PROTOCOL);
	{
		static const uint8_t neg[] = { 0x30, 0x06, 0x02, 0x01, 0x80,
		    0x02, 0x01, 0x01 };
		static const uint8_t small[] = { 0x30, 0x06, 0x02, 0x01, 0x05,
		    0x02, 0x01, 0x07 };
		static const uint8_t nonmin[] = { 0x30, 0x07, 0x02, 0x02, 0x00,
		    0x05, 0x02, 0x01, 0x07 };

		assert_int_equal(p11_ecdsa_der_to_raw(neg, sizeof(neg), 32,
		    raw), SN_ERR_PROTOCOL);
		assert_int_equal(p11_ecdsa_der_to_raw(nonmin, sizeof(nonmin),
		    32, raw), SN_ERR_PROTOCOL);
		assert_int_equal(p11_ecdsa_der_to_raw(small, sizeof(small), 32,
		    raw), 0);
		assert_int_equal(raw[31], 5);
		assert_int_equal(raw[63], 7);
		for (int i = 0; i < 31; i++)
			assert_int_equal(raw[i] | raw[32 + i], 0);
	}
	EVP_PKEY_free(pk);
}

/* ---- URIs, errors, padding ---- */

static void
test_uri_id(void **state)
{
	uint8_t *id = NULL;
	size_t len;

	assert_int_equal(p11_uri_id("pkcs11:token=Signet;object=a;id=%01%ff%7A"
	    ";type=private", &id, &len), 0);
	assert_int_equal(len, 3);
	assert_int_equal(id[0], 0x01);
	assert_int_equal(id[1], 0xff);
	assert_int_equal(id[2], 0x7a);
	free(id);
	assert_int_equal(p11_uri_id("pkcs11:token=Signet;object=a", &id, &len),
	    SN_ERR_NOT_FOUND);
	assert_int_equal(p11_uri_id("pkcs11:id=%0", &id, &len), SN_ERR_INVALID);
	assert_int_equal(p11_uri_id("pkcs11:id=%zz", &id, &len),
	    SN_ERR_INVALID);
	assert_int_equal(p11_uri_id("file:id=%01", &id, &len), SN_ERR_INVALID);
	/* id in the query part is not the path attribute. */
	assert_int_equal(p11_uri_id("pkcs11:object=a?id=%01", &id, &len),
	    SN_ERR_NOT_FOUND);
	assert_null(id);
}

static void
test_error_mapping(void **state)
{
	assert_int_equal(p11_sign_rv(SN_ERR_NETWORK), CKR_DEVICE_ERROR);
	assert_int_equal(p11_sign_rv(SN_ERR_UNAVAILABLE), CKR_DEVICE_ERROR);
	assert_int_equal(p11_sign_rv(SN_ERR_UNAUTHENTICATED),
	    CKR_USER_NOT_LOGGED_IN);
	assert_int_equal(p11_sign_rv(SN_ERR_FORBIDDEN), CKR_FUNCTION_REJECTED);
	assert_int_equal(p11_sign_rv(SN_ERR_NOT_FOUND), CKR_FUNCTION_REJECTED);
	assert_int_equal(p11_init_rv(SN_ERR_TLS), CKR_DEVICE_ERROR);
	assert_int_equal(p11_init_rv(SN_ERR_UNAUTHENTICATED),
	    CKR_PIN_INCORRECT);
	assert_int_equal(p11_init_rv(SN_ERR_PROTOCOL), CKR_FUNCTION_FAILED);
}

static void
test_pad(void **state)
{
	unsigned char b[8];

	p11_pad(b, sizeof(b), "Sig");
	assert_memory_equal(b, "Sig     ", 8);
	p11_pad(b, sizeof(b), "Signet-too-long");
	assert_memory_equal(b, "Signet-t", 8);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_token_objects, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_token_same_name_two_projects,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_add_keys, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_token_ca_dedupe, setup,
		    teardown),
		cmocka_unit_test(test_tmpl_key_hint),
		cmocka_unit_test_setup_teardown(test_verify_digest, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_token_ec_attrs, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_token_take, setup,
		    teardown),
		cmocka_unit_test(test_token_public_key_kinds),
		cmocka_unit_test(test_token_bad_answer),
		cmocka_unit_test(test_etag_valid),
		cmocka_unit_test_setup_teardown(test_listing_cache, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_token_bad_chain_cert, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cert_fields, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_token_cert_attrs, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_get_attributes, setup,
		    teardown),
		cmocka_unit_test(test_mech_info),
		cmocka_unit_test(test_mech_check),
		cmocka_unit_test(test_raw_input),
		cmocka_unit_test(test_ecdsa_der_to_raw),
		cmocka_unit_test(test_uri_id),
		cmocka_unit_test(test_error_mapping),
		cmocka_unit_test(test_pad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
