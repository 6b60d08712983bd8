/*
 * ca_ocsp.c - RFC 6960 OCSP responses of a CA, built with OpenSSL's OCSP
 * API and signed by the CA's own key through a ca_signer (ca_pkey.c).
 *
 * The CA key answers for the certificates it issued (RFC 6960 4.2.2.2: the
 * issuer itself is an authorized responder), so no delegated responder
 * certificate is needed. A CertID whose issuer hashes are not this CA's
 * gets "unknown", as does a serial the caller does not know.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "ca.h"
#include "ca_int.h"
#include "err.h"

#define OCSP_REQUEST_MAX	(16 * 1024)
#define OCSP_MAX_CERTS		16	/* CertIDs per request */

/* A DER OCSPResponse without a body: malformedRequest or internalError. */
int
ca_ocsp_error_response(int malformed, uint8_t **der, size_t *len)
{
	OCSP_RESPONSE *resp;
	unsigned char *out = NULL;
	int n;

	*der = NULL;
	*len = 0;
	if ((resp = OCSP_response_create(malformed ?
	    OCSP_RESPONSE_STATUS_MALFORMEDREQUEST :
	    OCSP_RESPONSE_STATUS_INTERNALERROR, NULL)) == NULL)
		return SN_ERR_NOMEM;
	n = i2d_OCSP_RESPONSE(resp, &out);
	OCSP_RESPONSE_free(resp);
	if (n <= 0 || (*der = malloc((size_t)n)) == NULL) {
		OPENSSL_free(out);
		return SN_ERR_NOMEM;
	}
	memcpy(*der, out, (size_t)n);
	*len = (size_t)n;
	OPENSSL_free(out);
	return 0;
}

/* Adds one SingleResponse for cid. */
static int
add_status(OCSP_BASICRESP *bs, OCSP_CERTID *cid, const struct ca_cert_state *cs,
    ASN1_TIME *thisupd, ASN1_TIME *nextupd)
{
	OCSP_SINGLERESP *single;
	ASN1_TIME *rev = NULL;
	ASN1_GENERALIZEDTIME *inv = NULL;
	int status, reason = OCSP_REVOKED_STATUS_NOSTATUS, r = SN_ERR_NOMEM;

	switch (cs->status) {
	case CA_CERT_GOOD: status = V_OCSP_CERTSTATUS_GOOD; break;
	case CA_CERT_REVOKED: status = V_OCSP_CERTSTATUS_REVOKED; break;
	default: status = V_OCSP_CERTSTATUS_UNKNOWN; break;
	}
	if (status == V_OCSP_CERTSTATUS_REVOKED) {
		if (ca_reason_crl_code(cs->reason) >= 0)
			reason = ca_reason_crl_code(cs->reason);
		if ((rev = ASN1_TIME_set(NULL, (time_t)cs->revoked_at)) == NULL)
			goto out;
	}
	if ((single = OCSP_basic_add1_status(bs, cid, status, reason, rev,
	    thisupd, nextupd)) == NULL)
		goto out;
	if (status == V_OCSP_CERTSTATUS_REVOKED && cs->invalidity_date > 0) {
		if ((inv = ASN1_GENERALIZEDTIME_set(NULL,
		    (time_t)cs->invalidity_date)) == NULL ||
		    !OCSP_SINGLERESP_add1_ext_i2d(single, NID_invalidity_date,
		    inv, 0, 0))
			goto out;
	}
	r = 0;
 out:
	ASN1_TIME_free(rev);
	ASN1_GENERALIZEDTIME_free(inv);
	return r;
}

int
ca_ocsp_respond(const struct ca_signer *s, const char *issuer_pem,
    const uint8_t *req, size_t reqlen, ca_ocsp_lookup_fn lookup, void *arg,
    int64_t now, int64_t next_update, uint8_t **der, size_t *derlen,
    int *has_nonce)
{
	struct ca_pkey_state st = { s, 0 };
	OCSP_REQUEST *oreq = NULL;
	OCSP_BASICRESP *bs = NULL;
	OCSP_RESPONSE *resp = NULL;
	OCSP_CERTID *ours = NULL;
	X509 *issuer = NULL;
	EVP_PKEY *pk = NULL;
	ASN1_TIME *thisupd = NULL, *nextupd = NULL;
	const unsigned char *p = req;
	unsigned char *out = NULL;
	char *serial = NULL;
	int r, n, i, len;

	*der = NULL;
	*derlen = 0;
	*has_nonce = 0;
	if (s == NULL || issuer_pem == NULL || lookup == NULL ||
	    req == NULL || reqlen == 0 || reqlen > OCSP_REQUEST_MAX)
		return SN_ERR_INVALID;
	if ((oreq = d2i_OCSP_REQUEST(NULL, &p, (long)reqlen)) == NULL ||
	    p != req + reqlen ||
	    (n = OCSP_request_onereq_count(oreq)) <= 0 || n > OCSP_MAX_CERTS) {
		r = SN_ERR_INVALID;
		goto out;
	}
	if ((r = ca_int_first_cert(issuer_pem, &issuer)) != 0 ||
	    (r = ca_signer_pkey(&st, &pk)) != 0)
		goto out;
	if ((bs = OCSP_BASICRESP_new()) == NULL ||
	    (thisupd = ASN1_TIME_set(NULL, (time_t)now)) == NULL ||
	    (nextupd = ASN1_TIME_set(NULL, (time_t)next_update)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		OCSP_CERTID *cid = OCSP_onereq_get0_id(
		    OCSP_request_onereq_get0(oreq, i));
		ASN1_OBJECT *mdobj = NULL;
		ASN1_INTEGER *sn = NULL;
		const EVP_MD *md;
		struct ca_cert_state cs = { CA_CERT_UNKNOWN, 0, 0, 0 };

		if (cid == NULL ||
		    !OCSP_id_get0_info(NULL, &mdobj, NULL, &sn, cid)) {
			r = SN_ERR_INVALID;
			goto out;
		}
		/* Same issuer name and key hashes as this CA's, for the
		 * hash the client chose: then the serial is ours to judge. */
		md = EVP_get_digestbyobj(mdobj);
		OCSP_CERTID_free(ours);
		ours = md != NULL ? OCSP_cert_to_id(md, NULL, issuer) : NULL;
		if (ours != NULL && OCSP_id_issuer_cmp(ours, cid) == 0) {
			free(serial);
			serial = NULL;
			/* A negative serial is none of ours: unknown. */
			if (ca_int_serial_hex(sn, &serial) == 0 &&
			    (r = lookup(arg, serial, &cs)) != 0)
				goto out;
		}
		if ((r = add_status(bs, cid, &cs, thisupd, nextupd)) != 0)
			goto out;
	}
	/* 1: copied, 2: the request had none; a reply with the client's
	 * nonce must not be served to anybody else. */
	switch (OCSP_copy_nonce(bs, oreq)) {
	case 1: *has_nonce = 1; break;
	case 2: break;
	default: r = SN_ERR_NOMEM; goto out;
	}
	if (!OCSP_basic_sign(bs, issuer, pk, EVP_PKEY_get_bits(s->pub) > 256 ?
	    EVP_sha384() : EVP_sha256(), NULL, 0)) {
		r = st.err != 0 ? st.err : SN_ERR_CRYPTO;
		goto out;
	}
	if ((resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL,
	    bs)) == NULL || (len = i2d_OCSP_RESPONSE(resp, &out)) <= 0) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	if ((*der = malloc((size_t)len)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	memcpy(*der, out, (size_t)len);
	*derlen = (size_t)len;
	r = 0;
 out:
	if (r != 0)
		ERR_clear_error();
	OPENSSL_free(out);
	free(serial);
	OCSP_CERTID_free(ours);
	OCSP_REQUEST_free(oreq);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	ASN1_TIME_free(thisupd);
	ASN1_TIME_free(nextupd);
	X509_free(issuer);
	EVP_PKEY_free(pk);
	return r;
}
