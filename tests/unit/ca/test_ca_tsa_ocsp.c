/*
 * test_ca_tsa_ocsp.c - RFC 3161 replies (ca_tsa.c) and OCSP responses
 * (ca_ocsp.c) signed through the EC_KEY_METHOD bridge (ca_pkey.c), checked
 * with OpenSSL's own verifiers (TS_RESP_verify_response, OCSP_basic_verify)
 * against a root made by the CA; and the failure paths: a signer that
 * fails (its error comes back, no reply), garbage and trailing bytes
 * (SN_ERR_INVALID), a refused imprint algorithm (a rejection reply).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>

#include "ca.h"
#include "err.h"
#include "util.h"

#define DAY 86400
#define POLICY "1.3.6.1.4.1.99999.1"

static EVP_PKEY *rootk, *issk, *tsak, *leafk;
static char *root_pem, *iss_pem, *tsa_pem, *leaf_pem, *chain_pem;
static struct ca_signer root_s, iss_s, tsa_s;

static X509 *
pem_cert(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);

	BIO_free(b);
	assert_non_null(x);
	return x;
}

static int
setup(void **state)
{
	int64_t now = sn_now();

	(void)state;
	rootk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	issk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	tsak = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	leafk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(rootk);
	assert_non_null(leafk);
	assert_int_equal(ca_signer_from_pkey(rootk, &root_s), 0);
	assert_int_equal(ca_signer_from_pkey(issk, &iss_s), 0);
	assert_int_equal(ca_signer_from_pkey(tsak, &tsa_s), 0);
	assert_int_equal(ca_make_root(&root_s, "CN=T Root", now - DAY,
	    now + 3650 * DAY, &root_pem), 0);
	assert_int_equal(ca_make_intermediate(&root_s, root_pem, issk,
	    "CN=T Issuing", now - DAY, now + 1000 * DAY, NULL, &iss_pem), 0);
	assert_int_equal(ca_issue_tsa(&iss_s, iss_pem, tsak, "CN=T TSA",
	    now - DAY, now + 500 * DAY, NULL, NULL, &tsa_pem, NULL), 0);
	assert_int_equal(ca_issue_codesign_ocsp(&iss_s, iss_pem, leafk,
	    "CN=T Leaf", now - DAY, now + 100 * DAY, NULL,
	    "http://127.0.0.1/ocsp/ca_1", &leaf_pem, NULL), 0);
	assert_true(asprintf(&chain_pem, "%s%s", iss_pem, root_pem) > 0);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(rootk);
	EVP_PKEY_free(issk);
	EVP_PKEY_free(tsak);
	EVP_PKEY_free(leafk);
	free(root_pem);
	free(iss_pem);
	free(tsa_pem);
	free(leaf_pem);
	free(chain_pem);
	return 0;
}

/* A TimeStampReq for data with md, a nonce and certReq. */
static TS_REQ *
make_req(const EVP_MD *md, uint8_t **der, size_t *len)
{
	TS_REQ *req = TS_REQ_new();
	TS_MSG_IMPRINT *mi = TS_MSG_IMPRINT_new();
	X509_ALGOR *alg = X509_ALGOR_new();
	ASN1_INTEGER *nonce = ASN1_INTEGER_new();
	unsigned char h[EVP_MAX_MD_SIZE], *p = NULL;
	unsigned int hl = 0;
	int n;

	assert_int_equal(EVP_Digest("hello", 5, h, &hl, md, NULL), 1);
	assert_int_equal(X509_ALGOR_set0(alg, OBJ_nid2obj(EVP_MD_get_type(md)),
	    V_ASN1_NULL, NULL), 1);
	assert_int_equal(TS_MSG_IMPRINT_set_algo(mi, alg), 1);
	assert_int_equal(TS_MSG_IMPRINT_set_msg(mi, h, (int)hl), 1);
	assert_int_equal(ASN1_INTEGER_set(nonce, 0x1234567), 1);
	assert_int_equal(TS_REQ_set_version(req, 1), 1);
	assert_int_equal(TS_REQ_set_msg_imprint(req, mi), 1);
	assert_int_equal(TS_REQ_set_nonce(req, nonce), 1);
	assert_int_equal(TS_REQ_set_cert_req(req, 1), 1);
	n = i2d_TS_REQ(req, &p);
	assert_true(n > 0);
	*der = malloc((size_t)n);
	memcpy(*der, p, (size_t)n);
	*len = (size_t)n;
	OPENSSL_free(p);
	TS_MSG_IMPRINT_free(mi);
	X509_ALGOR_free(alg);
	ASN1_INTEGER_free(nonce);
	return req;
}

static X509_STORE *
root_store(void)
{
	X509_STORE *st = X509_STORE_new();
	X509 *r = pem_cert(root_pem);

	assert_int_equal(X509_STORE_add_cert(st, r), 1);
	X509_free(r);
	return st;
}

static void
test_ts_verifies(void **state)
{
	const EVP_MD *mds[3] = { EVP_sha256(), EVP_sha384(), EVP_sha512() };
	char *serials[3] = { NULL, NULL, NULL };

	(void)state;
	for (int i = 0; i < 3; i++) {
		uint8_t *q = NULL, *reply = NULL;
		size_t ql = 0, rl = 0;
		int granted = 0;
		TS_REQ *req = make_req(mds[i], &q, &ql);
		const unsigned char *p;
		TS_RESP *resp;
		TS_VERIFY_CTX *vc;

		assert_int_equal(ca_ts_reply(&tsa_s, tsa_pem, chain_pem, POLICY,
		    q, ql, &reply, &rl, &granted, &serials[i]), 0);
		assert_int_equal(granted, 1);
		assert_non_null(serials[i]);
		p = reply;
		resp = d2i_TS_RESP(NULL, &p, (long)rl);
		assert_non_null(resp);
		vc = TS_REQ_to_TS_VERIFY_CTX(req, NULL);
		assert_non_null(vc);
		TS_VERIFY_CTX_set_store(vc, root_store());
		assert_int_equal(TS_RESP_verify_response(vc, resp), 1);
		{
			ASN1_OBJECT *pol = OBJ_txt2obj(POLICY, 1);

			assert_int_equal(OBJ_cmp(TS_TST_INFO_get_policy_id(
			    TS_RESP_get_tst_info(resp)), pol), 0);
			ASN1_OBJECT_free(pol);
		}
		TS_VERIFY_CTX_free(vc);
		TS_RESP_free(resp);
		TS_REQ_free(req);
		free(q);
		free(reply);
	}
	assert_string_not_equal(serials[0], serials[1]);
	assert_string_not_equal(serials[1], serials[2]);
	for (int i = 0; i < 3; i++)
		free(serials[i]);
}

static int
failing_sign(void *arg, enum sn_hash hash, const uint8_t *digest, size_t dlen,
    uint8_t **sig, size_t *siglen)
{
	(void)arg;
	(void)hash;
	(void)digest;
	(void)dlen;
	*sig = NULL;
	*siglen = 0;
	return SN_ERR_UNAVAILABLE;
}

static void
test_ts_failures(void **state)
{
	struct ca_signer bad = { tsak, failing_sign, NULL };
	uint8_t *q = NULL, *reply = (uint8_t *)1, junk[64], *twice;
	size_t ql = 0, rl = 1;
	int granted = 1;
	TS_REQ *req = make_req(EVP_sha256(), &q, &ql);

	(void)state;
	/* The HSM is down: its error, not a reply. */
	assert_int_equal(ca_ts_reply(&bad, tsa_pem, chain_pem, POLICY, q, ql,
	    &reply, &rl, &granted, NULL), SN_ERR_UNAVAILABLE);
	assert_null(reply);
	assert_int_equal(granted, 0);
	/* Garbage, truncation, trailing bytes. */
	RAND_bytes(junk, sizeof(junk));
	assert_int_equal(ca_ts_reply(&tsa_s, tsa_pem, chain_pem, POLICY, junk,
	    sizeof(junk), &reply, &rl, &granted, NULL), SN_ERR_INVALID);
	assert_int_equal(ca_ts_reply(&tsa_s, tsa_pem, chain_pem, POLICY, q,
	    ql - 1, &reply, &rl, &granted, NULL), SN_ERR_INVALID);
	twice = malloc(2 * ql);
	memcpy(twice, q, ql);
	memcpy(twice + ql, q, ql);
	assert_int_equal(ca_ts_reply(&tsa_s, tsa_pem, chain_pem, POLICY, twice,
	    2 * ql, &reply, &rl, &granted, NULL), SN_ERR_INVALID);
	free(twice);
	assert_int_equal(ca_ts_reply(&tsa_s, tsa_pem, chain_pem, "not an oid",
	    q, ql, &reply, &rl, &granted, NULL), SN_ERR_INVALID);
	TS_REQ_free(req);
	free(q);
	/* A refused imprint algorithm: a reply with status rejection. */
	req = make_req(EVP_sha1(), &q, &ql);
	assert_int_equal(ca_ts_reply(&tsa_s, tsa_pem, chain_pem, POLICY, q, ql,
	    &reply, &rl, &granted, NULL), 0);
	assert_int_equal(granted, 0);
	assert_non_null(reply);
	{
		const unsigned char *p = reply;
		TS_RESP *resp = d2i_TS_RESP(NULL, &p, (long)rl);

		assert_non_null(resp);
		assert_int_equal(ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(
		    TS_RESP_get_status_info(resp))), TS_STATUS_REJECTION);
		TS_RESP_free(resp);
	}
	free(reply);
	TS_REQ_free(req);
	free(q);
}

static int
lookup_revoked(void *arg, const char *serial_hex, struct ca_cert_state *out)
{
	(void)serial_hex;
	memset(out, 0, sizeof(*out));
	out->status = *(int *)arg;
	out->revoked_at = sn_now() - 60;
	out->reason = CA_REASON_KEY_COMPROMISE;
	out->invalidity_date = sn_now() - 3600;
	return 0;
}

static void
test_ocsp(void **state)
{
	X509 *iss = pem_cert(iss_pem), *leaf = pem_cert(leaf_pem);
	int want[2] = { CA_CERT_GOOD, CA_CERT_REVOKED };

	(void)state;
	for (int i = 0; i < 2; i++) {
		OCSP_REQUEST *req = OCSP_REQUEST_new();
		OCSP_CERTID *id = OCSP_cert_to_id(NULL, leaf, iss);
		OCSP_RESPONSE *resp;
		OCSP_BASICRESP *bs;
		ASN1_GENERALIZEDTIME *rev = NULL, *tu = NULL, *nu = NULL;
		STACK_OF(X509) *certs = sk_X509_new_null();
		unsigned char *q = NULL;
		const unsigned char *p;
		uint8_t *der = NULL;
		size_t len = 0;
		int ql, nonce = 0, status = -1, reason = -1;

		assert_non_null(OCSP_request_add0_id(req, OCSP_CERTID_dup(id)));
		assert_int_equal(OCSP_request_add1_nonce(req, NULL, -1), 1);
		ql = i2d_OCSP_REQUEST(req, &q);
		assert_int_equal(ca_ocsp_respond(&iss_s, iss_pem, q, (size_t)ql,
		    lookup_revoked, &want[i], sn_now(), sn_now() + 3600, &der,
		    &len, &nonce), 0);
		assert_int_equal(nonce, 1);
		p = der;
		resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
		assert_non_null(resp);
		assert_int_equal(OCSP_response_status(resp),
		    OCSP_RESPONSE_STATUS_SUCCESSFUL);
		bs = OCSP_response_get1_basic(resp);
		sk_X509_push(certs, iss);
		X509_STORE *st = root_store();
		assert_int_equal(OCSP_basic_verify(bs, certs, st, 0), 1);
		assert_int_equal(OCSP_check_nonce(req, bs), 1);
		assert_int_equal(OCSP_resp_find_status(bs, id, &status, &reason,
		    &rev, &tu, &nu), 1);
		if (i == 0)
			assert_int_equal(status, V_OCSP_CERTSTATUS_GOOD);
		else {
			assert_int_equal(status, V_OCSP_CERTSTATUS_REVOKED);
			assert_int_equal(reason, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
		}
		X509_STORE_free(st);
		sk_X509_free(certs);
		OCSP_BASICRESP_free(bs);
		OCSP_RESPONSE_free(resp);
		OCSP_CERTID_free(id);
		OCSP_REQUEST_free(req);
		OPENSSL_free(q);
		free(der);
	}
	{
		/* Garbage is SN_ERR_INVALID; a signer failure its own code. */
		struct ca_signer bad = { issk, failing_sign, NULL };
		OCSP_REQUEST *req = OCSP_REQUEST_new();
		OCSP_CERTID *id = OCSP_cert_to_id(NULL, leaf, iss);
		unsigned char *q = NULL;
		uint8_t junk[40], *der = NULL;
		size_t len = 0;
		int ql, nonce = 0;

		RAND_bytes(junk, sizeof(junk));
		assert_int_equal(ca_ocsp_respond(&iss_s, iss_pem, junk,
		    sizeof(junk), lookup_revoked, &want[0], 0, 1, &der, &len,
		    &nonce), SN_ERR_INVALID);
		assert_non_null(OCSP_request_add0_id(req, id));
		ql = i2d_OCSP_REQUEST(req, &q);
		assert_int_equal(ca_ocsp_respond(&bad, iss_pem, q, (size_t)ql,
		    lookup_revoked, &want[0], sn_now(), sn_now() + 60, &der,
		    &len, &nonce), SN_ERR_UNAVAILABLE);
		assert_null(der);
		OCSP_REQUEST_free(req);
		OPENSSL_free(q);
	}
	X509_free(iss);
	X509_free(leaf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ts_verifies),
		cmocka_unit_test(test_ts_failures),
		cmocka_unit_test(test_ocsp),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
