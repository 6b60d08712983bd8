/*
 * test_ca.c - unit tests for src/server/ca with software keys.
 *
 * Every certificate built here is checked by OpenSSL's own verifier
 * (X509_verify_cert with a trust store) and by the openssl(1) command, so a
 * test passes only if the output is something real verifiers accept.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca.h"
#include "err.h"
#include "util.h"

#define DAY 86400

static EVP_PKEY *rsa2048_a, *rsa2048_b, *rsa2048_c, *p256_a, *p256_b, *p384_a;

static EVP_PKEY *
gen_key(const char *type, const char *param)
{
	EVP_PKEY *k;

	if (strcmp(type, "RSA") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	else
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", param);
	assert_non_null(k);
	return k;
}

static int
group_setup(void **state)
{
	rsa2048_a = gen_key("RSA", NULL);
	rsa2048_b = gen_key("RSA", NULL);
	rsa2048_c = gen_key("RSA", NULL);
	p256_a = gen_key("EC", "P-256");
	p256_b = gen_key("EC", "P-256");
	p384_a = gen_key("EC", "P-384");
	return 0;
}

static int
group_teardown(void **state)
{
	EVP_PKEY_free(rsa2048_a);
	EVP_PKEY_free(rsa2048_b);
	EVP_PKEY_free(rsa2048_c);
	EVP_PKEY_free(p256_a);
	EVP_PKEY_free(p256_b);
	EVP_PKEY_free(p384_a);
	return 0;
}

/* ---- helpers ---------------------------------------------------------- */

static X509 *
pem_cert(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x;

	assert_non_null(b);
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	assert_non_null(x);
	return x;
}

static char *
cat3(const char *a, const char *b, const char *c)
{
	size_t n = strlen(a) + (b ? strlen(b) : 0) + (c ? strlen(c) : 0) + 1;
	char *s = malloc(n);

	assert_non_null(s);
	snprintf(s, n, "%s%s%s", a, b ? b : "", c ? c : "");
	return s;
}

static void
write_text(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Runs a shell command; returns its exit status. */
static int
run(const char *cmd)
{
	int st = system(cmd);

	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static int
ext_critical(X509 *x, int nid)
{
	int i = X509_get_ext_by_NID(x, nid, -1);

	assert_true(i >= 0);
	return X509_EXTENSION_get_critical(X509_get_ext(x, i));
}

static int
expected_sig_nid(EVP_PKEY *k)
{
	if (EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA)
		return EVP_PKEY_get_bits(k) <= 3072 ? NID_sha256WithRSAEncryption :
		    NID_sha384WithRSAEncryption;
	return EVP_PKEY_get_bits(k) == 256 ? NID_ecdsa_with_SHA256 :
	    NID_ecdsa_with_SHA384;
}

/* Inner (TBS) and outer signature algorithms agree and fit the key. */
static void
check_sig_alg(X509 *x, EVP_PKEY *issuer_key)
{
	const X509_ALGOR *outer = NULL;
	const ASN1_OBJECT *obj = NULL;

	X509_get0_signature(NULL, &outer, x);
	assert_int_equal(X509_ALGOR_cmp(outer, X509_get0_tbs_sigalg(x)), 0);
	X509_ALGOR_get0(&obj, NULL, NULL, X509_get0_tbs_sigalg(x));
	assert_int_equal(OBJ_obj2nid(obj), expected_sig_nid(issuer_key));
	assert_int_equal(X509_get_signature_nid(x), expected_sig_nid(issuer_key));
}

static void
check_crl_dp(X509 *x, const char *url)
{
	CRL_DIST_POINTS *cdp = X509_get_ext_d2i(x, NID_crl_distribution_points,
	    NULL, NULL);
	DIST_POINT *dp;
	GENERAL_NAME *gn;

	assert_non_null(cdp);
	assert_int_equal(sk_DIST_POINT_num(cdp), 1);
	dp = sk_DIST_POINT_value(cdp, 0);
	assert_int_equal(dp->distpoint->type, 0);
	gn = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, 0);
	assert_int_equal(gn->type, GEN_URI);
	assert_int_equal(ASN1_STRING_length(gn->d.uniformResourceIdentifier),
	    strlen(url));
	assert_memory_equal(ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier),
	    url, strlen(url));
	CRL_DIST_POINTS_free(cdp);
}

/* The AKI of child is the SKI of parent. */
static void
check_aki(X509 *child, X509 *parent)
{
	const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id(child);
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(parent);

	assert_non_null(aki);
	assert_non_null(ski);
	assert_int_equal(ASN1_OCTET_STRING_cmp(aki, ski), 0);
}

/* X509_verify_cert: leaf against root with the intermediate untrusted. */
static int
store_verify(X509 *root, X509 *inter, X509 *leaf, X509_CRL *crl, int purpose,
    int *err)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	int ok;

	assert_non_null(st);
	assert_non_null(ctx);
	assert_non_null(untrusted);
	assert_int_equal(X509_STORE_add_cert(st, root), 1);
	if (inter != NULL)
		assert_true(sk_X509_push(untrusted, inter) > 0);
	if (crl != NULL) {
		assert_int_equal(X509_STORE_add_crl(st, crl), 1);
		X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK);
	}
	X509_STORE_set_flags(st, X509_V_FLAG_X509_STRICT);
	assert_int_equal(X509_STORE_CTX_init(ctx, st, leaf, untrusted), 1);
	if (purpose != 0)
		assert_int_equal(X509_STORE_CTX_set_purpose(ctx, purpose), 1);
	ok = X509_verify_cert(ctx);
	*err = X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	sk_X509_free(untrusted);
	X509_STORE_free(st);
	return ok;
}

/* ---- a full root -> issuing -> leaf hierarchy ------------------------- */

struct hier {
	char *root_pem, *inter_pem, *leaf_pem, *serial;
	X509 *root, *inter, *leaf;
	struct ca_signer root_s, inter_s;
	int64_t nb, na;
};

static const char *crl_url = "http://127.0.0.1:8443/v1/ca/crl/ca_0123.crl";

static void
hier_make(struct hier *h, EVP_PKEY *rootk, EVP_PKEY *interk, EVP_PKEY *leafk)
{
	int64_t now = sn_now();

	memset(h, 0, sizeof(*h));
	h->nb = now - DAY;
	h->na = now + 365 * DAY;
	assert_int_equal(ca_signer_from_pkey(rootk, &h->root_s), 0);
	assert_int_equal(ca_signer_from_pkey(interk, &h->inter_s), 0);
	assert_int_equal(ca_make_root(&h->root_s, "CN=Test Root CA, O=Signet Test, C=DE",
	    now - 2 * DAY, now + 3650 * DAY, &h->root_pem), 0);
	assert_int_equal(ca_make_intermediate(&h->root_s, h->root_pem, interk,
	    "CN=Test Issuing CA, O=Signet Test, C=DE", now - 2 * DAY,
	    now + 1825 * DAY, crl_url, &h->inter_pem), 0);
	assert_int_equal(ca_issue_codesign(&h->inter_s, h->inter_pem, leafk,
	    "CN=Release Key, OU=Builds, O=Acme\\, Inc., C=US", h->nb, h->na,
	    crl_url, &h->leaf_pem, &h->serial), 0);
	h->root = pem_cert(h->root_pem);
	h->inter = pem_cert(h->inter_pem);
	h->leaf = pem_cert(h->leaf_pem);
}

static void
hier_free(struct hier *h)
{
	free(h->root_pem);
	free(h->inter_pem);
	free(h->leaf_pem);
	free(h->serial);
	X509_free(h->root);
	X509_free(h->inter);
	X509_free(h->leaf);
}

static void
check_hierarchy(EVP_PKEY *rootk, EVP_PKEY *interk, EVP_PKEY *leafk)
{
	struct hier h;
	char dir[] = "/tmp/signet-ca-test-XXXXXX", path[256], cmd[1024];
	const ASN1_INTEGER *sn;
	BIGNUM *bn;
	char *hex, *chain;
	const char *why = NULL;
	int err = 0;
	uint32_t fl;

	hier_make(&h, rootk, interk, leafk);

	/* root: self-signed v3 CA */
	assert_int_equal(X509_get_version(h.root), X509_VERSION_3);
	fl = X509_get_extension_flags(h.root);
	assert_true(fl & EXFLAG_SS);
	assert_true(fl & EXFLAG_CA);
	assert_false(fl & EXFLAG_INVALID);
	assert_int_equal(X509_get_pathlen(h.root), -1);
	assert_int_equal(X509_get_key_usage(h.root), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	assert_true(ext_critical(h.root, NID_basic_constraints));
	assert_true(ext_critical(h.root, NID_key_usage));
	assert_non_null(X509_get0_subject_key_id(h.root));
	assert_int_equal(X509_verify(h.root, rootk), 1);
	check_sig_alg(h.root, rootk);

	/* intermediate */
	assert_int_equal(X509_get_version(h.inter), X509_VERSION_3);
	fl = X509_get_extension_flags(h.inter);
	assert_true(fl & EXFLAG_CA);
	assert_false(fl & EXFLAG_SS);
	assert_int_equal(X509_get_pathlen(h.inter), 0);
	assert_int_equal(X509_get_key_usage(h.inter), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	assert_true(ext_critical(h.inter, NID_basic_constraints));
	assert_true(ext_critical(h.inter, NID_key_usage));
	/* The EKU of what it issues (chain-EKU checks: NSS, Windows); the
	 * root has none (any). */
	assert_true(fl & EXFLAG_XKUSAGE);
	assert_int_equal(X509_get_extended_key_usage(h.inter),
	    XKU_CODE_SIGN | XKU_TIMESTAMP);
	assert_false(ext_critical(h.inter, NID_ext_key_usage));
	assert_false(X509_get_extension_flags(h.root) & EXFLAG_XKUSAGE);
	assert_non_null(X509_get0_subject_key_id(h.inter));
	check_aki(h.inter, h.root);
	check_crl_dp(h.inter, crl_url);
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(h.inter),
	    X509_get_subject_name(h.root)), 0);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(h.inter), interk), 1);
	check_sig_alg(h.inter, rootk);

	/* leaf: code signing */
	assert_int_equal(X509_get_version(h.leaf), X509_VERSION_3);
	fl = X509_get_extension_flags(h.leaf);
	assert_true(fl & EXFLAG_BCONS);
	assert_false(fl & EXFLAG_CA);
	assert_true(fl & EXFLAG_KUSAGE);
	assert_true(fl & EXFLAG_XKUSAGE);
	assert_int_equal(X509_get_key_usage(h.leaf), KU_DIGITAL_SIGNATURE);
	assert_int_equal(X509_get_extended_key_usage(h.leaf), XKU_CODE_SIGN);
	assert_true(ext_critical(h.leaf, NID_basic_constraints));
	assert_true(ext_critical(h.leaf, NID_key_usage));
	assert_false(ext_critical(h.leaf, NID_ext_key_usage));
	assert_non_null(X509_get0_subject_key_id(h.leaf));
	check_aki(h.leaf, h.inter);
	check_crl_dp(h.leaf, crl_url);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(h.leaf), leafk), 1);
	check_sig_alg(h.leaf, interk);
	assert_int_equal(X509_cmp_time(X509_get0_notBefore(h.leaf), NULL), -1);

	/* serial: positive, ~128 bits, and what we were told */
	sn = X509_get0_serialNumber(h.leaf);
	bn = ASN1_INTEGER_to_BN(sn, NULL);
	assert_non_null(bn);
	assert_false(BN_is_negative(bn));
	assert_true(BN_num_bits(bn) > 100 && BN_num_bits(bn) <= 127);
	hex = BN_bn2hex(bn);
	assert_int_equal(strcasecmp(hex, h.serial), 0);
	for (const char *c = h.serial; *c; c++)
		assert_true((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f'));
	OPENSSL_free(hex);
	BN_free(bn);
	assert_int_equal(ASN1_INTEGER_cmp(sn, X509_get0_serialNumber(h.inter)) != 0, 1);

	/* OpenSSL's verifier: chain, strict mode, and as an S/MIME signer */
	assert_int_equal(store_verify(h.root, h.inter, h.leaf, NULL, 0, &err), 1);
	assert_int_equal(err, X509_V_OK);
	/* a TLS server purpose must fail: EKU is codeSigning only */
	assert_int_equal(store_verify(h.root, h.inter, h.leaf, NULL,
	    X509_PURPOSE_SSL_SERVER, &err), 0);
	assert_int_equal(err, X509_V_ERR_INVALID_PURPOSE);
	/* without the intermediate the leaf does not chain */
	assert_int_equal(store_verify(h.root, NULL, h.leaf, NULL, 0, &err), 0);

	/* our own import check accepts the chain we produced */
	chain = cat3(h.leaf_pem, h.inter_pem, h.root_pem);
	assert_int_equal(ca_check_chain(leafk, chain, &why), 0);
	assert_null(why);
	free(chain);

	/* and openssl(1) agrees */
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/root.pem", dir);
	write_text(path, h.root_pem, strlen(h.root_pem));
	snprintf(path, sizeof(path), "%s/issuing.pem", dir);
	write_text(path, h.inter_pem, strlen(h.inter_pem));
	snprintf(path, sizeof(path), "%s/leaf.pem", dir);
	write_text(path, h.leaf_pem, strlen(h.leaf_pem));
	snprintf(cmd, sizeof(cmd), "openssl verify -x509_strict -CAfile %s/root.pem "
	    "-untrusted %s/issuing.pem %s/leaf.pem >/dev/null", dir, dir, dir);
	assert_int_equal(run(cmd), 0);
	/* the check can fail: without -untrusted there is no path */
	snprintf(cmd, sizeof(cmd), "openssl verify -CAfile %s/root.pem "
	    "%s/leaf.pem >/dev/null 2>&1", dir, dir);
	assert_int_not_equal(run(cmd), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(run(cmd), 0);

	hier_free(&h);
}

static void
test_hierarchy_rsa(void **state)
{
	check_hierarchy(rsa2048_a, rsa2048_b, rsa2048_c);
}

static void
test_hierarchy_ec(void **state)
{
	check_hierarchy(p384_a, p256_a, p256_b);
}

static void
test_hierarchy_mixed(void **state)
{
	check_hierarchy(rsa2048_a, p384_a, rsa2048_c);
	check_hierarchy(p256_a, rsa2048_b, p384_a);
}

static void
test_rsa_sizes_pick_digest(void **state)
{
	EVP_PKEY *k4096 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
	EVP_PKEY *k3072 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
	struct ca_signer s;
	char *pem = NULL;
	X509 *x;
	int64_t now = sn_now();

	assert_non_null(k4096);
	assert_non_null(k3072);
	assert_int_equal(ca_signer_from_pkey(k4096, &s), 0);
	assert_int_equal(ca_make_root(&s, "CN=R4096", now, now + DAY, &pem), 0);
	x = pem_cert(pem);
	assert_int_equal(X509_get_signature_nid(x), NID_sha384WithRSAEncryption);
	check_sig_alg(x, k4096);
	X509_free(x);
	free(pem);
	assert_int_equal(ca_signer_from_pkey(k3072, &s), 0);
	assert_int_equal(ca_make_root(&s, "CN=R3072", now, now + DAY, &pem), 0);
	x = pem_cert(pem);
	assert_int_equal(X509_get_signature_nid(x), NID_sha256WithRSAEncryption);
	X509_free(x);
	free(pem);
	EVP_PKEY_free(k4096);
	EVP_PKEY_free(k3072);
}

/* ---- CSR -------------------------------------------------------------- */

static void
check_csr(EVP_PKEY *k)
{
	struct ca_signer s;
	char *pem = NULL, dir[] = "/tmp/signet-ca-csr-XXXXXX", path[256], cmd[512];
	X509_REQ *req;
	X509_NAME *want = NULL;
	BIO *b;

	assert_int_equal(ca_signer_from_pkey(k, &s), 0);
	assert_int_equal(ca_make_csr(&s, "CN=Release Key, O=Acme, C=SE", &pem), 0);
	assert_non_null(strstr(pem, "-----BEGIN CERTIFICATE REQUEST-----"));
	b = BIO_new_mem_buf(pem, -1);
	req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
	BIO_free(b);
	assert_non_null(req);
	assert_int_equal(X509_REQ_verify(req, k), 1);
	assert_int_equal(EVP_PKEY_eq(X509_REQ_get0_pubkey(req), k), 1);
	assert_int_equal(ca_parse_dn("CN=Release Key, O=Acme, C=SE", &want), 0);
	assert_int_equal(X509_NAME_cmp(X509_REQ_get_subject_name(req), want), 0);
	assert_int_equal(X509_REQ_get_signature_nid(req), expected_sig_nid(k));
	/* a different key must not verify it */
	assert_int_not_equal(X509_REQ_verify(req, k == p256_a ? p256_b : rsa2048_b), 1);
	ERR_clear_error();

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/req.pem", dir);
	write_text(path, pem, strlen(pem));
	snprintf(cmd, sizeof(cmd), "openssl req -verify -noout -in %s 2>/dev/null", path);
	assert_int_equal(run(cmd), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(run(cmd), 0);

	X509_NAME_free(want);
	X509_REQ_free(req);
	free(pem);
}

static void
test_csr(void **state)
{
	check_csr(rsa2048_a);
	check_csr(p256_a);
	check_csr(p384_a);
}

/* ---- CRL -------------------------------------------------------------- */

/* Walks the CRL DER: inner AlgorithmIdentifier bytes == outer ones. */
static void
check_crl_inner_alg(const uint8_t *der, size_t len)
{
	const unsigned char *p = der, *tbs, *inner, *outer;
	long l, innerlen, tbslen;
	int tag, cls;

	assert_int_equal(ASN1_get_object(&p, &l, &tag, &cls, (long)len) & 0x80, 0);
	tbs = p;
	assert_int_equal(ASN1_get_object(&p, &l, &tag, &cls, (long)len) & 0x80, 0);
	tbslen = (long)(p - tbs) + l;
	/* version INTEGER */
	assert_int_equal(ASN1_get_object(&p, &l, &tag, &cls, tbslen) & 0x80, 0);
	assert_int_equal(tag, V_ASN1_INTEGER);
	p += l;
	inner = p;
	assert_int_equal(ASN1_get_object(&p, &l, &tag, &cls, tbslen) & 0x80, 0);
	innerlen = (long)(p - inner) + l;
	outer = tbs + tbslen;
	assert_memory_equal(inner, outer, (size_t)innerlen);
}

static void
test_crl(void **state)
{
	struct hier h;
	struct ca_revoked rev[2];
	uint8_t *der = NULL;
	const uint8_t *p;
	size_t len = 0;
	X509_CRL *crl;
	X509_REVOKED *entry = NULL;
	ASN1_INTEGER *num, *want;
	BIGNUM *bn = NULL;
	int64_t now = sn_now();
	int err = 0;
	char dir[] = "/tmp/signet-ca-crl-XXXXXX", path[256], cmd[1024];

	hier_make(&h, p384_a, rsa2048_b, p256_b);
	memset(rev, 0, sizeof(rev));
	rev[0].serial_hex = "0A1B2C";
	rev[0].revoked_at = now - 3600;
	rev[0].reason = CA_REASON_KEY_COMPROMISE;
	rev[0].invalidity_date = now - 7200;
	rev[1].serial_hex = h.serial;
	rev[1].revoked_at = now - 60;
	assert_int_equal(ca_make_crl(&h.inter_s, h.inter_pem, rev, 2, 42,
	    now - 60, now + 7 * DAY, &der, &len), 0);
	p = der;
	crl = d2i_X509_CRL(NULL, &p, (long)len);
	assert_non_null(crl);
	assert_ptr_equal(p, der + len);
	check_crl_inner_alg(der, len);
	assert_int_equal(X509_CRL_get_version(crl), X509_CRL_VERSION_2);
	assert_int_equal(X509_CRL_verify(crl, rsa2048_b), 1);
	assert_int_not_equal(X509_CRL_verify(crl, rsa2048_a), 1);
	ERR_clear_error();
	assert_int_equal(X509_CRL_get_signature_nid(crl), NID_sha256WithRSAEncryption);
	assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(crl),
	    X509_get_subject_name(h.inter)), 0);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 2);
	assert_int_equal(X509_CRL_get0_by_serial(crl, &entry,
	    X509_get0_serialNumber(h.leaf)), 1);
	assert_int_equal(BN_hex2bn(&bn, "0a1b2c"), 6);
	want = BN_to_ASN1_INTEGER(bn, NULL);
	assert_int_equal(X509_CRL_get0_by_serial(crl, &entry, want), 1);
	ASN1_INTEGER_free(want);
	BN_free(bn);
	/* Key compromise: reasonCode 1 and the invalidity date (RFC 5280
	 * 5.3.1, 5.3.2); the other entry (no reason) carries neither. */
	{
		ASN1_ENUMERATED *rc = X509_REVOKED_get_ext_d2i(entry,
		    NID_crl_reason, NULL, NULL);
		ASN1_GENERALIZEDTIME *inv = X509_REVOKED_get_ext_d2i(entry,
		    NID_invalidity_date, NULL, NULL);
		int days = 1, secs = 1;

		assert_non_null(rc);
		assert_int_equal(ASN1_ENUMERATED_get(rc),
		    CRL_REASON_KEY_COMPROMISE);
		assert_non_null(inv);
		{
			ASN1_TIME *t = ASN1_TIME_set(NULL, (time_t)(now - 7200));

			assert_int_equal(ASN1_TIME_diff(&days, &secs, t, inv), 1);
			ASN1_TIME_free(t);
		}
		assert_int_equal(days, 0);
		assert_int_equal(secs, 0);
		ASN1_ENUMERATED_free(rc);
		ASN1_GENERALIZEDTIME_free(inv);
	}
	assert_int_equal(X509_CRL_get0_by_serial(crl, &entry,
	    X509_get0_serialNumber(h.leaf)), 1);
	assert_null(X509_REVOKED_get_ext_d2i(entry, NID_crl_reason, NULL, NULL));
	assert_null(X509_REVOKED_get_ext_d2i(entry, NID_invalidity_date, NULL,
	    NULL));
	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	assert_non_null(num);
	assert_int_equal(ASN1_INTEGER_get(num), 42);
	ASN1_INTEGER_free(num);
	{
		AUTHORITY_KEYID *akid = X509_CRL_get_ext_d2i(crl,
		    NID_authority_key_identifier, NULL, NULL);

		assert_non_null(akid);
		assert_int_equal(ASN1_OCTET_STRING_cmp(akid->keyid,
		    X509_get0_subject_key_id(h.inter)), 0);
		AUTHORITY_KEYID_free(akid);
	}
	assert_int_equal(X509_cmp_time(X509_CRL_get0_nextUpdate(crl), NULL), 1);

	/* The verifier with CRL checking now rejects the leaf as revoked. */
	assert_int_equal(store_verify(h.root, h.inter, h.leaf, crl, 0, &err), 0);
	assert_int_equal(err, X509_V_ERR_CERT_REVOKED);

	/* openssl crl checks the signature with the issuing CA. */
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/crl.der", dir);
	write_text(path, der, len);
	snprintf(path, sizeof(path), "%s/issuing.pem", dir);
	write_text(path, h.inter_pem, strlen(h.inter_pem));
	snprintf(cmd, sizeof(cmd), "openssl crl -inform DER -in %s/crl.der "
	    "-CAfile %s/issuing.pem -noout 2>&1 | grep -q 'verify OK'", dir, dir);
	assert_int_equal(run(cmd), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(run(cmd), 0);

	X509_CRL_free(crl);
	free(der);

	/* empty CRL is fine; bad serials and times are not */
	assert_int_equal(ca_make_crl(&h.inter_s, h.inter_pem, NULL, 0, 1,
	    now, now + DAY, &der, &len), 0);
	free(der);
	rev[0].serial_hex = "xyz";
	assert_int_equal(ca_make_crl(&h.inter_s, h.inter_pem, rev, 1, 1,
	    now, now + DAY, &der, &len), SN_ERR_INVALID);
	assert_null(der);
	rev[0].serial_hex = "-01";
	assert_int_equal(ca_make_crl(&h.inter_s, h.inter_pem, rev, 1, 1,
	    now, now + DAY, &der, &len), SN_ERR_INVALID);
	assert_int_equal(ca_make_crl(&h.inter_s, h.inter_pem, NULL, 0, 1,
	    now, now - DAY, &der, &len), SN_ERR_INVALID);
	/* the issuer certificate must belong to the signer */
	assert_int_equal(ca_make_crl(&h.inter_s, h.root_pem, NULL, 0, 1,
	    now, now + DAY, &der, &len), SN_ERR_INVALID);
	/* a leaf cannot issue CRLs */
	{
		struct ca_signer ls;

		assert_int_equal(ca_signer_from_pkey(p256_b, &ls), 0);
		assert_int_equal(ca_make_crl(&ls, h.leaf_pem, NULL, 0, 1,
		    now, now + DAY, &der, &len), SN_ERR_INVALID);
	}
	hier_free(&h);
}

/* ---- TLS server ------------------------------------------------------- */

static void
check_tls(EVP_PKEY *cak, EVP_PKEY *k)
{
	const char *dns[] = { "localhost", "signet.example.com", NULL };
	const char *ips[] = { "127.0.0.1", "::1", NULL };
	struct ca_signer s;
	char *root = NULL, *pem = NULL;
	X509 *rx, *x;
	GENERAL_NAMES *san;
	int64_t now = sn_now();
	int err = 0, ndns = 0, nip = 0;

	assert_int_equal(ca_signer_from_pkey(cak, &s), 0);
	assert_int_equal(ca_make_root(&s, "CN=Signet TLS CA", now - DAY,
	    now + 3650 * DAY, &root), 0);
	assert_int_equal(ca_issue_tls_server(&s, root, k, dns, ips, now - 60,
	    now + 365 * DAY, &pem), 0);
	rx = pem_cert(root);
	x = pem_cert(pem);
	check_sig_alg(x, cak);
	assert_int_equal(X509_check_host(x, "localhost", 0, 0, NULL), 1);
	assert_int_equal(X509_check_host(x, "signet.example.com", 0, 0, NULL), 1);
	assert_int_not_equal(X509_check_host(x, "evil.example.com", 0, 0, NULL), 1);
	assert_int_equal(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
	assert_int_equal(X509_check_ip_asc(x, "::1", 0), 1);
	assert_int_not_equal(X509_check_ip_asc(x, "127.0.0.2", 0), 1);
	san = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	assert_non_null(san);
	for (int i = 0; i < sk_GENERAL_NAME_num(san); i++) {
		GENERAL_NAME *gn = sk_GENERAL_NAME_value(san, i);

		if (gn->type == GEN_DNS)
			ndns++;
		else if (gn->type == GEN_IPADD) {
			nip++;
			assert_true(ASN1_STRING_length(gn->d.iPAddress) == 4 ||
			    ASN1_STRING_length(gn->d.iPAddress) == 16);
		}
	}
	GENERAL_NAMES_free(san);
	assert_int_equal(ndns, 2);
	assert_int_equal(nip, 2);
	assert_false(X509_get_extension_flags(x) & EXFLAG_CA);
	assert_int_equal(X509_get_extended_key_usage(x), XKU_SSL_SERVER);
	if (EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA)
		assert_int_equal(X509_get_key_usage(x),
		    KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
	else
		assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	assert_int_equal(X509_check_purpose(x, X509_PURPOSE_SSL_SERVER, 0), 1);
	assert_int_equal(store_verify(rx, NULL, x, NULL, X509_PURPOSE_SSL_SERVER,
	    &err), 1);
	check_aki(x, rx);
	X509_free(x);
	X509_free(rx);
	free(pem);

	/* bad names */
	{
		const char *bad_dns[][2] = { { "-bad.example", NULL },
		    { "a..b", NULL }, { "foo bar", NULL }, { "", NULL },
		    { "x.", NULL }, { "a,URI:http://evil", NULL } };
		const char *bad_ip[][2] = { { "1.2.3", NULL }, { "1.2.3.4x", NULL },
		    { "::g", NULL }, { "localhost", NULL } };

		for (size_t i = 0; i < sizeof(bad_dns) / sizeof(bad_dns[0]); i++) {
			assert_int_equal(ca_issue_tls_server(&s, root, k, bad_dns[i],
			    NULL, now, now + DAY, &pem), SN_ERR_INVALID);
			assert_null(pem);
		}
		for (size_t i = 0; i < sizeof(bad_ip) / sizeof(bad_ip[0]); i++)
			assert_int_equal(ca_issue_tls_server(&s, root, k, NULL,
			    bad_ip[i], now, now + DAY, &pem), SN_ERR_INVALID);
		assert_int_equal(ca_issue_tls_server(&s, root, k, NULL, NULL,
		    now, now + DAY, &pem), SN_ERR_INVALID);
	}
	/* a long first name: CN is the next one that fits, SAN has both */
	{
		const char *names[] = {
		    "a-very-long-label-that-is-allowed-in-dns-but-too-long.for-a-common-name.example",
		    "short.example", NULL };
		char *subject = NULL;

		assert_int_equal(ca_issue_tls_server(&s, root, k, names, NULL, now,
		    now + DAY, &pem), 0);
		assert_int_equal(ca_cert_pem_info(pem, NULL, NULL, NULL, &subject), 0);
		assert_string_equal(subject, "CN=short.example");
		x = pem_cert(pem);
		assert_int_equal(X509_check_host(x, names[0], 0, 0, NULL), 1);
		X509_free(x);
		free(subject);
		free(pem);
	}
	/* IP-only certificate works too */
	assert_int_equal(ca_issue_tls_server(&s, root, k, NULL, ips, now,
	    now + DAY, &pem), 0);
	x = pem_cert(pem);
	assert_int_equal(X509_check_ip_asc(x, "::1", 0), 1);
	X509_free(x);
	free(pem);
	free(root);
}

static void
test_tls_server(void **state)
{
	check_tls(p256_a, rsa2048_a);
	check_tls(rsa2048_b, p256_b);
}

/* ---- ca_check_chain --------------------------------------------------- */

static void
expect_reject(EVP_PKEY *k, const char *chain, const char *why_part)
{
	const char *why = NULL;

	assert_int_equal(ca_check_chain(k, chain, &why), SN_ERR_INVALID);
	assert_non_null(why);
	if (strstr(why, why_part) == NULL)
		fail_msg("reason '%s' does not mention '%s'", why, why_part);
	assert_int_equal(ERR_peek_error(), 0);
}

static void
test_check_chain(void **state)
{
	struct hier h, other;
	char *chain, *s, *pub = NULL, *big;
	const char *why = NULL;
	uint8_t *spki = NULL;
	int spkilen;
	int64_t now = sn_now();
	char *other_leaf = NULL;
	struct ca_signer twin_s;
	char *twin = NULL;

	hier_make(&h, p256_a, p384_a, rsa2048_c);

	/* good: full chain, without the root, leaf alone, text around it */
	chain = cat3(h.leaf_pem, h.inter_pem, h.root_pem);
	assert_int_equal(ca_check_chain(rsa2048_c, chain, &why), 0);
	free(chain);
	chain = cat3(h.leaf_pem, h.inter_pem, NULL);
	assert_int_equal(ca_check_chain(rsa2048_c, chain, &why), 0);
	free(chain);
	assert_int_equal(ca_check_chain(rsa2048_c, h.leaf_pem, &why), 0);
	chain = cat3("subject=CN = Release Key\n", h.leaf_pem, h.inter_pem);
	assert_int_equal(ca_check_chain(rsa2048_c, chain, &why), 0);
	free(chain);

	/* wrong leaf key */
	chain = cat3(h.leaf_pem, h.inter_pem, h.root_pem);
	expect_reject(rsa2048_a, chain, "public key");
	expect_reject(p256_b, chain, "public key");
	free(chain);

	/* broken link: issuer name does not match (root directly) */
	chain = cat3(h.leaf_pem, h.root_pem, NULL);
	expect_reject(rsa2048_c, chain, "issuer");
	free(chain);
	/* wrong order */
	chain = cat3(h.leaf_pem, h.root_pem, h.inter_pem);
	expect_reject(rsa2048_c, chain, "issuer");
	free(chain);
	/* broken link: same issuer name, different key */
	assert_int_equal(ca_signer_from_pkey(rsa2048_b, &twin_s), 0);
	(void)twin_s;
	assert_int_equal(ca_make_intermediate(&h.root_s, h.root_pem, rsa2048_b,
	    "CN=Test Issuing CA, O=Signet Test, C=DE", now - DAY, now + DAY,
	    NULL, &twin), 0);
	chain = cat3(h.leaf_pem, twin, h.root_pem);
	expect_reject(rsa2048_c, chain, "not signed");
	free(chain);
	free(twin);
	/* a leaf from another hierarchy with the first one's CAs */
	hier_make(&other, p256_b, p256_a, p384_a);
	other_leaf = other.leaf_pem;
	chain = cat3(other_leaf, h.inter_pem, h.root_pem);
	expect_reject(p384_a, chain, "not signed");
	free(chain);
	hier_free(&other);

	/* leaf that is a CA */
	chain = cat3(h.inter_pem, h.root_pem, NULL);
	expect_reject(p384_a, chain, "CA");
	free(chain);
	expect_reject(p256_a, h.root_pem, "CA");

	/* issuer that is not a CA: leaf "issued" by a leaf */
	{
		struct ca_signer ls;
		char *sub = NULL;

		/* ca_issue_codesign refuses a non-CA issuer itself */
		assert_int_equal(ca_signer_from_pkey(rsa2048_c, &ls), 0);
		assert_int_equal(ca_issue_codesign(&ls, h.leaf_pem, p256_b,
		    "CN=Sub", now, now + DAY, NULL, &sub, NULL), SN_ERR_INVALID);
		assert_null(sub);
	}

	/* a link signed with SHA-1 (made with the private key, as others may) */
	{
		X509 *w = X509_dup(h.leaf);
		BIO *b = BIO_new(BIO_s_mem());
		char *wp;
		long wl;

		assert_non_null(w);
		assert_true(X509_sign(w, p384_a, EVP_sha1()) > 0);
		assert_int_equal(PEM_write_bio_X509(b, w), 1);
		wl = BIO_get_mem_data(b, &wp);
		s = strndup(wp, (size_t)wl);
		chain = cat3(s, h.inter_pem, NULL);
		expect_reject(rsa2048_c, chain, "weak digest");
		free(chain);
		free(s);
		/* the same with SHA-256 is fine: the check is about the digest */
		assert_true(X509_sign(w, p384_a, EVP_sha256()) > 0);
		(void)BIO_reset(b);
		assert_int_equal(PEM_write_bio_X509(b, w), 1);
		wl = BIO_get_mem_data(b, &wp);
		s = strndup(wp, (size_t)wl);
		chain = cat3(s, h.inter_pem, NULL);
		assert_int_equal(ca_check_chain(rsa2048_c, chain, &why), 0);
		free(chain);
		free(s);
		BIO_free(b);
		X509_free(w);
	}

	/* garbage, empty, non-certificate PEM, corrupt PEM, trailing junk */
	expect_reject(rsa2048_c, "", "no certificate");
	expect_reject(rsa2048_c, "hello world\n", "no certificate");
	expect_reject(rsa2048_c, "\x01\x02\x03\xff", "no certificate");
	spkilen = i2d_PUBKEY(rsa2048_c, &spki);
	assert_true(spkilen > 0);
	assert_int_equal(ca_pem_from_spki(spki, (size_t)spkilen, &pub), 0);
	expect_reject(rsa2048_c, pub, "not a CERTIFICATE");
	chain = cat3(h.leaf_pem, pub, NULL);
	expect_reject(rsa2048_c, chain, "not a CERTIFICATE");
	free(chain);
	OPENSSL_free(spki);
	free(pub);
	s = strdup(h.leaf_pem);
	assert_non_null(s);
	s[100] = '!';		/* breaks the base64 */
	expect_reject(rsa2048_c, s, "PEM");
	free(s);
	/* a leaf whose signature was tampered with */
	{
		X509 *t;
		uint8_t *der = NULL;
		const uint8_t *dp;
		int dlen = i2d_X509(h.leaf, &der);
		BIO *b = BIO_new(BIO_s_mem());
		char *tp;
		long tlen;

		assert_true(dlen > 0);
		der[dlen - 1] ^= 0x01;	/* last byte of the signature value */
		dp = der;
		t = d2i_X509(NULL, &dp, dlen);
		assert_non_null(t);
		assert_int_equal(PEM_write_bio_X509(b, t), 1);
		tlen = BIO_get_mem_data(b, &tp);
		s = strndup(tp, (size_t)tlen);
		chain = cat3(s, h.inter_pem, NULL);
		expect_reject(rsa2048_c, chain, "not signed");
		free(chain);
		free(s);
		BIO_free(b);
		X509_free(t);
		OPENSSL_free(der);
	}
	expect_reject(rsa2048_c,
	    "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
	    "");
	expect_reject(rsa2048_c,
	    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
	    "malformed certificate");

	/* more than 10 certificates */
	{
		size_t n = strlen(h.leaf_pem) + 10 * strlen(h.inter_pem) + 1;
		char *many = malloc(n);

		assert_non_null(many);
		many[0] = '\0';
		strncat(many, h.leaf_pem, n - 1);
		for (int i = 0; i < 10; i++)
			strncat(many, h.inter_pem, n - strlen(many) - 1);
		expect_reject(rsa2048_c, many, "more than 10");
		free(many);
	}
	/* more than 256 KiB */
	big = malloc(CA_CHAIN_MAX_BYTES + 2);
	assert_non_null(big);
	memset(big, '#', CA_CHAIN_MAX_BYTES + 1);
	big[CA_CHAIN_MAX_BYTES + 1] = '\0';
	memcpy(big, h.leaf_pem, strlen(h.leaf_pem));
	expect_reject(rsa2048_c, big, "256 KiB");
	free(big);

	/* NULLs */
	assert_int_equal(ca_check_chain(NULL, h.leaf_pem, &why), SN_ERR_INVALID);
	assert_int_equal(ca_check_chain(rsa2048_c, NULL, NULL), SN_ERR_INVALID);
	hier_free(&h);
}

/* ---- ca_parse_dn ------------------------------------------------------ */

static char *
dn_string(X509_NAME *n)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *s;
	long len;

	X509_NAME_print_ex(b, n, 0, (XN_FLAG_RFC2253 & ~XN_FLAG_SEP_MASK &
	    ~ASN1_STRFLGS_ESC_MSB) | XN_FLAG_SEP_CPLUS_SPC);
	len = BIO_get_mem_data(b, &data);
	s = strndup(data, (size_t)len);
	BIO_free(b);
	return s;
}

static void
test_parse_dn(void **state)
{
	static const struct {
		const char *in, *want;
	} good[] = {
		{ "CN=Foo", "CN=Foo" },
		{ "CN=Foo, O=Bar Inc, C=DE", "CN=Foo, O=Bar Inc, C=DE" },
		{ "  cn = Foo  ,o=Bar,c=de ", "CN=Foo, O=Bar, C=DE" },
		{ "CN=Acme\\, Inc.", "CN=Acme\\, Inc." },
		{ "CN=a\\=b\\+c", "CN=a=b\\+c" },
		{ "CN=back\\\\slash", "CN=back\\\\slash" },
		{ "CN=Jürgen Müller, L=Köln, ST=NRW, C=DE", "CN=Jürgen Müller, L=Köln, ST=NRW, C=DE" },
		{ "emailAddress=dev@example.com, CN=x", "emailAddress=dev@example.com, CN=x" },
		{ "CN=x, OU=a, OU=b", "CN=x, OU=a, OU=b" },
		{ "CN=Foo + Bar", "CN=Foo \\+ Bar" },
		{ "CN=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  "CN=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" },
		{ "CN=ääääääääääääääääääääääääääääääääääääääääääääääääääääääääääääääää",
		  "CN=ääääääääääääääääääääääääääääääääääääääääääääääääääääääääääääääää" },
	};
	static const char *bad[] = {
		"", " ", "CN", "CN=", "CN=   ", "=Foo", "XX=Foo", "CN=Foo,",
		"CN=Foo,,O=Bar", ",CN=Foo", "C=DEU", "C=D", "C=1A", "CN=a\x01" "b",
		"CN=a\x7f" "b", "CN=a\tb\nc", "CN=Foo\\", "CN=a\\xb", "CN=a=b",
		"CN=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		"CN=\xff\xfe", "CN=\xc0\xaf", "CN=\xed\xa0\x80", "CN=\xc2\x85",
		"emailAddress=jürgen@example.com", "SN=Foo", "serialNumber=1",
		"CN=Foo; O=Bar", "CN=Foo O=Bar", "1.2.3=x", "CN =", "CN=x,O",
		"CN=a\\ b",
	};
	X509_NAME *n = NULL;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char *s;

		if (ca_parse_dn(good[i].in, &n) != 0)
			fail_msg("rejected good DN '%s'", good[i].in);
		s = dn_string(n);
		if (strcmp(s, good[i].want) != 0)
			fail_msg("'%s' parsed as '%s'", good[i].in, s);
		free(s);
		X509_NAME_free(n);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = (X509_NAME *)1;
		if (ca_parse_dn(bad[i], &n) != SN_ERR_INVALID)
			fail_msg("accepted bad DN '%s'", bad[i]);
		assert_null(n);
	}
	/* too long overall, too many attributes */
	{
		char buf[2048];
		size_t off = 0;

		for (int i = 0; i < 17; i++)
			off += (size_t)snprintf(buf + off, sizeof(buf) - off,
			    "%sOU=u%d", i ? ", " : "", i);
		assert_int_equal(ca_parse_dn(buf, &n), SN_ERR_INVALID);
		memset(buf, 'a', sizeof(buf) - 1);
		buf[sizeof(buf) - 1] = '\0';
		memcpy(buf, "CN=", 3);
		assert_int_equal(ca_parse_dn(buf, &n), SN_ERR_INVALID);
	}
	/* encoding order: C first (least specific), CN last */
	assert_int_equal(ca_parse_dn("CN=Foo, O=Bar, C=DE", &n), 0);
	assert_int_equal(X509_NAME_entry_count(n), 3);
	assert_int_equal(OBJ_obj2nid(X509_NAME_ENTRY_get_object(
	    X509_NAME_get_entry(n, 0))), NID_countryName);
	assert_int_equal(OBJ_obj2nid(X509_NAME_ENTRY_get_object(
	    X509_NAME_get_entry(n, 2))), NID_commonName);
	X509_NAME_free(n);
	assert_int_equal(ca_parse_dn(NULL, &n), SN_ERR_INVALID);
	assert_int_equal(ca_parse_dn("CN=x", NULL), SN_ERR_INVALID);
}

/* ---- failing and lying signers ---------------------------------------- */

static int
failing_sign(void *arg, enum sn_hash hash, const uint8_t *digest, size_t dlen,
    uint8_t **sig, size_t *siglen)
{
	(*(int *)arg)++;
	*sig = NULL;
	*siglen = 0;
	return SN_ERR_HSM;
}

/* Returns a signature by a different key of the same type. */
static int
wrong_key_sign(void *arg, enum sn_hash hash, const uint8_t *digest,
    size_t dlen, uint8_t **sig, size_t *siglen)
{
	struct ca_signer other;

	assert_int_equal(ca_signer_from_pkey((EVP_PKEY *)arg, &other), 0);
	return other.sign_digest(other.arg, hash, digest, dlen, sig, siglen);
}

/* Returns garbage bytes (malloc'd, like a real callback). */
static int
garbage_sign(void *arg, enum sn_hash hash, const uint8_t *digest,
    size_t dlen, uint8_t **sig, size_t *siglen)
{
	*sig = malloc(64);
	assert_non_null(*sig);
	memset(*sig, 0x5a, 64);
	*siglen = 64;
	return 0;
}

/* An EC signer that returns raw r||s (what CKM_ECDSA gives) instead of DER. */
static int
raw_ecdsa_sign(void *arg, enum sn_hash hash, const uint8_t *digest,
    size_t dlen, uint8_t **sig, size_t *siglen)
{
	struct ca_signer real;
	uint8_t *der = NULL, *raw;
	const uint8_t *p;
	size_t derlen = 0;
	ECDSA_SIG *es;
	const BIGNUM *r, *s;
	int n = (EVP_PKEY_get_bits((EVP_PKEY *)arg) + 7) / 8;

	assert_int_equal(ca_signer_from_pkey((EVP_PKEY *)arg, &real), 0);
	assert_int_equal(real.sign_digest(real.arg, hash, digest, dlen, &der,
	    &derlen), 0);
	p = der;
	es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
	assert_non_null(es);
	ECDSA_SIG_get0(es, &r, &s);
	raw = malloc(2 * (size_t)n);
	assert_non_null(raw);
	assert_int_equal(BN_bn2binpad(r, raw, n), n);
	assert_int_equal(BN_bn2binpad(s, raw + n, n), n);
	ECDSA_SIG_free(es);
	free(der);
	*sig = raw;
	*siglen = 2 * (size_t)n;
	return 0;
}

/* Succeeds but returns nothing. */
static int
empty_sign(void *arg, enum sn_hash hash, const uint8_t *digest,
    size_t dlen, uint8_t **sig, size_t *siglen)
{
	*sig = NULL;
	*siglen = 0;
	return 0;
}

/* Every signing function fails with rc and leaves its outputs NULL. */
static void
expect_all_fail(const struct ca_signer *s, const struct hier *h,
    EVP_PKEY *subject_key, int rc)
{
	const char *dns[] = { "localhost", NULL };
	struct ca_revoked rev = { "01", 0, CA_REASON_NONE, 0 };
	char *pem = (char *)1, *serial = (char *)1;
	uint8_t *der = (uint8_t *)1;
	size_t len = 1;
	int64_t now = sn_now();

	assert_int_equal(ca_make_root(s, "CN=R", now, now + DAY, &pem), rc);
	assert_null(pem);
	pem = (char *)1;
	assert_int_equal(ca_make_intermediate(s, h->inter_pem, subject_key,
	    "CN=I", now, now + DAY, crl_url, &pem), rc);
	assert_null(pem);
	pem = (char *)1;
	assert_int_equal(ca_issue_codesign(s, h->inter_pem, subject_key, "CN=L",
	    now, now + DAY, crl_url, &pem, &serial), rc);
	assert_null(pem);
	assert_null(serial);
	pem = (char *)1;
	assert_int_equal(ca_issue_tls_server(s, h->inter_pem, subject_key, dns,
	    NULL, now, now + DAY, &pem), rc);
	assert_null(pem);
	pem = (char *)1;
	assert_int_equal(ca_make_csr(s, "CN=C", &pem), rc);
	assert_null(pem);
	assert_int_equal(ca_make_crl(s, h->inter_pem, &rev, 1, 7, now, now + DAY,
	    &der, &len), rc);
	assert_null(der);
	assert_int_equal(len, 0);
	assert_int_equal(ERR_peek_error(), 0);
}

static void
test_failing_signer(void **state)
{
	struct hier h;
	struct ca_signer bad;
	int calls = 0;

	hier_make(&h, p256_a, rsa2048_a, p256_b);

	/* the callback's error is passed through, nothing leaks (ASan) */
	bad = h.inter_s;
	bad.sign_digest = failing_sign;
	bad.arg = &calls;
	expect_all_fail(&bad, &h, p384_a, SN_ERR_HSM);
	/* root, intermediate, codesign, tls, csr, crl: each asked once */
	assert_int_equal(calls, 6);

	/* a signature by another key is caught by the self-check */
	bad = h.inter_s;
	bad.sign_digest = wrong_key_sign;
	bad.arg = rsa2048_b;
	expect_all_fail(&bad, &h, p384_a, SN_ERR_CRYPTO);

	bad.sign_digest = garbage_sign;
	bad.arg = NULL;
	expect_all_fail(&bad, &h, p384_a, SN_ERR_CRYPTO);

	bad.sign_digest = empty_sign;
	expect_all_fail(&bad, &h, p384_a, SN_ERR_CRYPTO);

	/* raw r||s from an EC key is not an X.509 ECDSA signature */
	{
		struct ca_signer ec = h.root_s;	/* p256_a */
		char *pem = NULL;
		int64_t now = sn_now();

		ec.sign_digest = raw_ecdsa_sign;
		ec.arg = p256_a;
		assert_int_equal(ca_make_root(&ec, "CN=R", now, now + DAY, &pem),
		    SN_ERR_CRYPTO);
		assert_null(pem);
		assert_int_equal(ca_make_csr(&ec, "CN=R", &pem), SN_ERR_CRYPTO);
		assert_null(pem);
	}

	/* a signer whose public key is not the issuer certificate's */
	bad = h.root_s;		/* root key, issuing CA's certificate */
	{
		char *pem = NULL;
		int64_t now = sn_now();

		assert_int_equal(ca_issue_codesign(&bad, h.inter_pem, p384_a,
		    "CN=L", now, now + DAY, NULL, &pem, NULL), SN_ERR_INVALID);
		assert_null(pem);
	}
	hier_free(&h);
}

static void
test_bad_arguments(void **state)
{
	struct ca_signer s;
	char *pem = NULL;
	int64_t now = sn_now();
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	struct hier h;

	assert_int_equal(ca_signer_from_pkey(NULL, &s), SN_ERR_INVALID);
	assert_non_null(ed);
	assert_int_equal(ca_signer_from_pkey(ed, &s), SN_ERR_INVALID);
	assert_int_equal(ca_signer_from_pkey(p256_a, &s), 0);
	assert_int_equal(ca_make_root(&s, "CN=x", now, now, &pem), SN_ERR_INVALID);
	assert_int_equal(ca_make_root(&s, "CN=x", now, now - 1, &pem), SN_ERR_INVALID);
	assert_int_equal(ca_make_root(&s, "CN=x", -5, now, &pem), SN_ERR_INVALID);
	assert_int_equal(ca_make_root(&s, "CN=x", now, 253402300800LL, &pem),
	    SN_ERR_INVALID);
	assert_int_equal(ca_make_root(&s, "bogus", now, now + DAY, &pem),
	    SN_ERR_INVALID);
	assert_int_equal(ca_make_root(NULL, "CN=x", now, now + DAY, &pem),
	    SN_ERR_INVALID);
	assert_null(pem);
	/* far-future dates use GeneralizedTime and still work */
	assert_int_equal(ca_make_root(&s, "CN=x", now, 253402300799LL, &pem), 0);
	free(pem);

	hier_make(&h, p256_a, p256_b, p384_a);
	/* bad CRL URLs, ed25519 subject keys, garbage issuer PEM */
	assert_int_equal(ca_issue_codesign(&h.inter_s, h.inter_pem, p384_a, "CN=L",
	    now, now + DAY, "ftp://x", &pem, NULL), SN_ERR_INVALID);
	assert_int_equal(ca_issue_codesign(&h.inter_s, h.inter_pem, p384_a, "CN=L",
	    now, now + DAY, "http://a b", &pem, NULL), SN_ERR_INVALID);
	assert_int_equal(ca_issue_codesign(&h.inter_s, h.inter_pem, ed, "CN=L",
	    now, now + DAY, NULL, &pem, NULL), SN_ERR_INVALID);
	assert_int_equal(ca_issue_codesign(&h.inter_s, "junk", p384_a, "CN=L",
	    now, now + DAY, NULL, &pem, NULL), SN_ERR_INVALID);
	assert_int_equal(ca_issue_codesign(&h.inter_s, NULL, p384_a, "CN=L",
	    now, now + DAY, NULL, &pem, NULL), SN_ERR_INVALID);
	assert_null(pem);
	/* no CRL URL: no distribution point */
	assert_int_equal(ca_issue_codesign(&h.inter_s, h.inter_pem, p384_a, "CN=L",
	    now, now + DAY, NULL, &pem, NULL), 0);
	{
		X509 *x = pem_cert(pem);

		assert_int_equal(X509_get_ext_by_NID(x, NID_crl_distribution_points,
		    -1), -1);
		X509_free(x);
	}
	free(pem);
	hier_free(&h);
	EVP_PKEY_free(ed);
	assert_int_equal(ERR_peek_error(), 0);
}

/* ---- robustness: mutated chains and random DNs ------------------------ */

static void
test_mutations(void **state)
{
	struct hier h;
	char *chain, *m;
	size_t n;
	const char *why;
	unsigned seed = 12345;
	int accepted = 0;

	hier_make(&h, p256_a, p256_b, rsa2048_a);
	chain = cat3(h.leaf_pem, h.inter_pem, NULL);
	n = strlen(chain);
	m = malloc(n + 1);
	assert_non_null(m);
	for (int i = 0; i < 3000; i++) {
		int r;

		memcpy(m, chain, n + 1);
		for (int j = 0; j < 1 + i % 3; j++) {
			seed = seed * 1103515245u + 12345u;
			m[(seed >> 8) % n] = (char)(1 + ((seed >> 20) % 255));
		}
		why = NULL;
		r = ca_check_chain(rsa2048_a, m, &why);
		if (r == 0)
			accepted++;
		else {
			assert_int_equal(r, SN_ERR_INVALID);
			assert_non_null(why);
		}
		assert_int_equal(ERR_peek_error(), 0);
	}
	/* mutations outside the base64 (headers, newlines) may still pass,
	 * but most must not */
	assert_true(accepted < 1500);
	free(m);
	free(chain);

	/* random DN strings: accepted or SN_ERR_INVALID, never anything else */
	for (int i = 0; i < 5000; i++) {
		char dn[40];
		X509_NAME *name = NULL;
		size_t len;
		int r;

		memcpy(dn, "CN=", 3);
		seed = seed * 1103515245u + 12345u;
		len = 3 + (seed >> 16) % 30;
		for (size_t j = 3; j < len; j++) {
			static const char alpha[] = "aZ09 ,=\\+;\"\t\x01\xc3\xa4\xff";

			seed = seed * 1103515245u + 12345u;
			dn[j] = alpha[(seed >> 16) % (sizeof(alpha) - 1)];
		}
		dn[len] = '\0';
		r = ca_parse_dn(dn, &name);
		assert_true(r == 0 || r == SN_ERR_INVALID);
		assert_true((r == 0) == (name != NULL));
		X509_NAME_free(name);
	}
	hier_free(&h);
}

/* ---- SPKI, PEM info ---------------------------------------------------- */

static void
test_spki(void **state)
{
	EVP_PKEY *keys[] = { rsa2048_a, p256_a, p384_a };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		uint8_t *der = NULL, *longer;
		int len = i2d_PUBKEY(keys[i], &der);
		EVP_PKEY *k = NULL, *k2;
		char *pem = NULL;
		BIO *b;

		assert_true(len > 0);
		assert_int_equal(ca_pubkey_from_spki(der, (size_t)len, &k), 0);
		assert_int_equal(EVP_PKEY_eq(k, keys[i]), 1);
		EVP_PKEY_free(k);
		assert_int_equal(ca_pem_from_spki(der, (size_t)len, &pem), 0);
		assert_int_equal(strncmp(pem, "-----BEGIN PUBLIC KEY-----\n", 27), 0);
		b = BIO_new_mem_buf(pem, -1);
		k2 = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
		BIO_free(b);
		assert_non_null(k2);
		assert_int_equal(EVP_PKEY_eq(k2, keys[i]), 1);
		EVP_PKEY_free(k2);
		free(pem);
		/* trailing byte, truncation, garbage */
		longer = malloc((size_t)len + 1);
		memcpy(longer, der, (size_t)len);
		longer[len] = 0;
		k = (EVP_PKEY *)1;
		assert_int_equal(ca_pubkey_from_spki(longer, (size_t)len + 1, &k),
		    SN_ERR_INVALID);
		assert_null(k);
		assert_int_equal(ca_pubkey_from_spki(der, (size_t)len - 1, &k),
		    SN_ERR_INVALID);
		assert_int_equal(ca_pem_from_spki(der, (size_t)len - 1, &pem),
		    SN_ERR_INVALID);
		assert_null(pem);
		memset(longer, 0x30, (size_t)len);
		assert_int_equal(ca_pubkey_from_spki(longer, (size_t)len, &k),
		    SN_ERR_INVALID);
		assert_int_equal(ca_pubkey_from_spki(NULL, 0, &k), SN_ERR_INVALID);
		free(longer);
		OPENSSL_free(der);
	}
	assert_int_equal(ERR_peek_error(), 0);
}

static void
test_pem_info(void **state)
{
	struct hier h;
	char *serial = NULL, *subject = NULL;
	int64_t nb = 0, na = 0;
	uint8_t *der = NULL, *want = NULL;
	size_t len = 0;
	int wantlen;

	hier_make(&h, p256_a, p256_b, rsa2048_a);
	assert_int_equal(ca_cert_pem_info(h.leaf_pem, &serial, &nb, &na, &subject), 0);
	assert_string_equal(serial, h.serial);
	assert_int_equal(nb, h.nb);
	assert_int_equal(na, h.na);
	assert_string_equal(subject, "CN=Release Key, OU=Builds, O=Acme\\, Inc., C=US");
	free(serial);
	free(subject);
	/* optional outputs; first certificate of a chain */
	{
		char *chain = cat3(h.inter_pem, h.leaf_pem, NULL);

		assert_int_equal(ca_cert_pem_info(chain, NULL, NULL, NULL, &subject), 0);
		assert_string_equal(subject, "CN=Test Issuing CA, O=Signet Test, C=DE");
		free(subject);
		free(chain);
	}
	assert_int_equal(ca_cert_pem_info("nope", &serial, &nb, &na, &subject),
	    SN_ERR_INVALID);
	assert_null(serial);
	assert_null(subject);

	assert_int_equal(ca_pem_to_der(h.leaf_pem, &der, &len), 0);
	wantlen = i2d_X509(h.leaf, &want);
	assert_int_equal((size_t)wantlen, len);
	assert_memory_equal(der, want, len);
	free(der);
	OPENSSL_free(want);
	assert_int_equal(ca_pem_to_der("-----BEGIN PUBLIC KEY-----\nAAAA\n"
	    "-----END PUBLIC KEY-----\n", &der, &len), SN_ERR_INVALID);
	assert_null(der);
	assert_int_equal(len, 0);
	hier_free(&h);
	assert_int_equal(ERR_peek_error(), 0);
}

/* DER as a CERTIFICATE PEM block (malloc'd). */
static char *
der_pem(const uint8_t *der, size_t len)
{
	size_t blen = 4 * ((len + 2) / 3) + 1, plen = blen + 64;
	char *b64 = malloc(blen), *pem = malloc(plen);

	assert_non_null(b64);
	assert_non_null(pem);
	EVP_EncodeBlock((unsigned char *)b64, der, (int)len);
	snprintf(pem, plen, "-----BEGIN CERTIFICATE-----\n%s\n"
	    "-----END CERTIFICATE-----\n", b64);
	free(b64);
	return pem;
}

/*
 * ca_cert_pem_not_after (every row of a key listing) says what
 * ca_cert_pem_info says: from the DER's fields when they read, by decoding
 * the certificate when they do not (BER, which d2i_X509 takes), and an
 * error for what neither reads.
 */
static void
test_pem_not_after(void **state)
{
	struct hier h;
	int64_t na = 0, want = 0;
	uint8_t *der = NULL, *ber;
	size_t len = 0;
	char *chain, *pem;

	hier_make(&h, p256_a, p256_b, rsa2048_a);
	assert_int_equal(ca_cert_pem_not_after(h.leaf_pem, &na), 0);
	assert_int_equal(na, h.na);
	chain = cat3(h.inter_pem, h.leaf_pem, NULL);
	assert_int_equal(ca_cert_pem_info(chain, NULL, NULL, &want, NULL), 0);
	assert_int_equal(ca_cert_pem_not_after(chain, &na), 0);
	assert_int_equal(na, want);
	assert_true(na != h.na);
	free(chain);
	assert_int_equal(ca_cert_pem_not_after(h.root_pem, &na), 0);
	assert_int_equal(ca_cert_pem_info(h.root_pem, NULL, NULL, &want,
	    NULL), 0);
	assert_int_equal(na, want);

	/* the leaf with an indefinite outer length: the field reader
	 * refuses BER, d2i_X509 reads it, the answer is the same */
	assert_int_equal(ca_pem_to_der(h.leaf_pem, &der, &len), 0);
	assert_int_equal(der[0], 0x30);
	assert_int_equal(der[1], 0x82);
	assert_non_null(ber = malloc(len));
	ber[0] = 0x30;
	ber[1] = 0x80;
	memcpy(ber + 2, der + 4, len - 4);
	ber[len - 2] = ber[len - 1] = 0;
	pem = der_pem(ber, len);
	na = 0;
	assert_int_equal(ca_cert_pem_not_after(pem, &na), 0);
	assert_int_equal(na, h.na);
	free(pem);
	/* a notAfter whose text is not a time: neither reads it */
	memcpy(ber, der, len);
	for (size_t i = 0, seen = 0; i + 2 < len; i++) {
		if ((ber[i] == V_ASN1_UTCTIME && ber[i + 1] == 13) ||
		    (ber[i] == V_ASN1_GENERALIZEDTIME && ber[i + 1] == 15)) {
			if (seen++ == 1) {
				ber[i + 3] = 'x';
				break;
			}
		}
	}
	pem = der_pem(ber, len);
	assert_int_equal(ca_cert_pem_info(pem, NULL, NULL, &want, NULL),
	    SN_ERR_INVALID);
	assert_int_equal(ca_cert_pem_not_after(pem, &na), SN_ERR_INVALID);
	free(pem);
	free(ber);
	free(der);

	assert_int_equal(ca_cert_pem_not_after("nope", &na), SN_ERR_INVALID);
	assert_int_equal(ca_cert_pem_not_after(NULL, &na), SN_ERR_INVALID);
	assert_int_equal(ca_cert_pem_not_after("-----BEGIN PUBLIC KEY-----\n"
	    "AAAA\n-----END PUBLIC KEY-----\n", &na), SN_ERR_INVALID);
	hier_free(&h);
	assert_int_equal(ERR_peek_error(), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pem_not_after),
		cmocka_unit_test(test_hierarchy_rsa),
		cmocka_unit_test(test_hierarchy_ec),
		cmocka_unit_test(test_hierarchy_mixed),
		cmocka_unit_test(test_rsa_sizes_pick_digest),
		cmocka_unit_test(test_csr),
		cmocka_unit_test(test_crl),
		cmocka_unit_test(test_tls_server),
		cmocka_unit_test(test_check_chain),
		cmocka_unit_test(test_parse_dn),
		cmocka_unit_test(test_failing_signer),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_spki),
		cmocka_unit_test(test_pem_info),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
