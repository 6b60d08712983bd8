/*
 * ca.h - Signet's certificate authority: X.509 certificates, PKCS#10 CSRs
 * and CRLs built over a sign-digest callback.
 *
 * This module never holds a CA private key. It builds the to-be-signed
 * structure with OpenSSL, DER-encodes it, hashes it and hands only the
 * digest to a struct ca_signer (in signetd the callback goes to the keeper,
 * which signs inside the HSM). It then assembles the signed object, parses it
 * back and verifies it with the signer's public key before returning, so a
 * broken signer can never produce a certificate that does not verify.
 *
 * Conventions: every function returns 0 on success or a negative SN_ERR_*
 * code (src/common/err.h). Outputs are cleared on entry and are NULL on
 * failure. PEM outputs are malloc'd NUL-terminated strings, DER outputs
 * malloc'd buffers; the caller frees both with free(). Times are seconds
 * since the epoch (UTC). Serial numbers are lower-case hex without a sign,
 * two digits per byte, no leading zero bytes ("3fa1...").
 *
 * Signature algorithms are chosen from the signer's public key:
 * RSA <= 3072 bits: sha256WithRSAEncryption, RSA > 3072: sha384WithRSA,
 * P-256: ecdsa-with-SHA256, P-384: ecdsa-with-SHA384, P-521: with-SHA512.
 * RSA signatures are PKCS#1 v1.5, EC signatures DER ECDSA.
 */
#ifndef SIGNET_CA_H
#define SIGNET_CA_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "alg.h"

struct ca_signer {
	EVP_PKEY *pub;	/* public key of the signing key; borrowed, not freed */
	/*
	 * Signs digest (dlen bytes of hash) with the private key that belongs
	 * to pub. RSA: PKCS#1 v1.5 signature (the callback builds the
	 * DigestInfo); EC: DER ECDSA-Sig-Value. *sig is malloc'd by the
	 * callback and freed by the CA code with free(). Returns 0 or a
	 * negative SN_ERR_* code, which the CA function passes through.
	 */
	int (*sign_digest)(void *arg, enum sn_hash hash, const uint8_t *digest,
	    size_t dlen, uint8_t **sig, size_t *siglen);
	void *arg;
};

/*
 * A signer over an in-memory private key (the TLS CA, tests). Borrows priv:
 * it must outlive the signer; there is nothing to free. RSA keys sign
 * PKCS#1 v1.5, EC keys ECDSA. Returns 0 or SN_ERR_INVALID (unsupported key).
 */
int ca_signer_from_pkey(EVP_PKEY *priv, struct ca_signer *out);

/*
 * Parses "CN=Foo, O=Bar Inc, C=DE" (RFC 4514 order: most specific first)
 * into a new X509_NAME (caller frees with X509_NAME_free). Attributes: CN, O,
 * OU, C, L, ST, emailAddress (names case-insensitive). "\," "\\" "\=" "\+"
 * "\;" "\"" escape a character; whitespace around names and values is
 * trimmed; each value is 1..64 characters of valid UTF-8 without control
 * characters; C is two letters. At most 16 attributes and 1024 bytes.
 * Returns 0, SN_ERR_INVALID or SN_ERR_NOMEM.
 */
int ca_parse_dn(const char *dn, X509_NAME **out);

/*
 * Self-signed root: X.509 v3, random 128-bit serial, basicConstraints
 * critical CA:TRUE, keyUsage critical keyCertSign+cRLSign, SKI.
 * Requires not_before < not_after.
 */
int ca_make_root(const struct ca_signer *s, const char *subject_dn,
    int64_t not_before, int64_t not_after, char **cert_pem);

/*
 * Intermediate (issuing) CA certificate for pub, signed by issuer whose
 * certificate is issuer_pem (its public key must be issuer->pub and it
 * must be a CA). basicConstraints critical CA:TRUE pathlen:0, keyUsage
 * critical keyCertSign+cRLSign, extendedKeyUsage codeSigning (what it
 * issues, for chain-EKU checks), SKI, AKI, CRL distribution point if
 * crl_url is not NULL.
 */
int ca_make_intermediate(const struct ca_signer *issuer, const char *issuer_pem,
    EVP_PKEY *pub, const char *subject_dn, int64_t nb, int64_t na,
    const char *crl_url, char **cert_pem);

/*
 * Code signing certificate for leaf_pub: basicConstraints critical CA:FALSE,
 * keyUsage critical digitalSignature, extendedKeyUsage codeSigning, SKI,
 * AKI, CRL distribution point (if crl_url is not NULL). *serial_hex (may be
 * NULL if not wanted) receives the serial.
 */
int ca_issue_codesign(const struct ca_signer *issuer, const char *issuer_pem,
    EVP_PKEY *leaf_pub, const char *subject_dn, int64_t nb, int64_t na,
    const char *crl_url, char **cert_pem, char **serial_hex);

/*
 * ca_issue_codesign with an authorityInfoAccess id-ad-ocsp URI (ocsp_url,
 * may be NULL) as well.
 */
int ca_issue_codesign_ocsp(const struct ca_signer *issuer,
    const char *issuer_pem, EVP_PKEY *leaf_pub, const char *subject_dn,
    int64_t nb, int64_t na, const char *crl_url, const char *ocsp_url,
    char **cert_pem, char **serial_hex);

/*
 * RFC 3161 TSA certificate: basicConstraints critical CA:FALSE, keyUsage
 * critical digitalSignature, extendedKeyUsage critical timeStamping (the
 * only purpose), SKI, AKI, CRL distribution point and OCSP AIA if given.
 */
int ca_issue_tsa(const struct ca_signer *issuer, const char *issuer_pem,
    EVP_PKEY *pub, const char *subject_dn, int64_t nb, int64_t na,
    const char *crl_url, const char *ocsp_url, char **cert_pem,
    char **serial_hex);

/*
 * TLS server certificate: subject CN = the first DNS name of at most 64
 * characters (else the first IP address), basicConstraints critical CA:FALSE, keyUsage critical
 * digitalSignature (+keyEncipherment for RSA keys), extendedKeyUsage
 * serverAuth, subjectAltName with every DNS name and IPv4/IPv6 address.
 * dns_names and ip_addrs are NULL-terminated arrays (either may be NULL but
 * together they need at least one entry; at most 64 each).
 */
int ca_issue_tls_server(const struct ca_signer *issuer, const char *issuer_pem,
    EVP_PKEY *pub, const char *const *dns_names, const char *const *ip_addrs,
    int64_t nb, int64_t na, char **cert_pem);

/* PKCS#10 request for key->pub with the subject, signed by key itself. */
int ca_make_csr(const struct ca_signer *key, const char *subject_dn, char **csr_pem);

/* Revocation reasons Signet records (RFC 5280 5.3.1 CRLReason). */
enum ca_reason {
	CA_REASON_NONE = 0,		/* no reasonCode (as for unspecified) */
	CA_REASON_UNSPECIFIED,
	CA_REASON_KEY_COMPROMISE,
	CA_REASON_SUPERSEDED,
	CA_REASON_CESSATION,
};
/* "unspecified", "key-compromise", "superseded", "cessation-of-operation"
 * <-> enum; unknown or NULL names are CA_REASON_NONE, and -1 from
 * ca_reason_parse. */
int ca_reason_from_name(const char *name);
int ca_reason_parse(const char *name);
const char *ca_reason_name(int reason);
/* The CRLReason value (CRL_REASON_*), or -1 for none/unspecified. */
int ca_reason_crl_code(int reason);

struct ca_revoked {
	const char *serial_hex;	/* hex, either case, at most 40 digits */
	int64_t revoked_at;
	int reason;		/* enum ca_reason; reasonCode unless NONE/UNSPECIFIED */
	int64_t invalidity_date;	/* 0 = none; else the invalidityDate extension */
};

/*
 * v2 CRL issued by issuer (certificate issuer_pem): crlNumber, AKI, the
 * revoked serials with their dates, thisUpdate/nextUpdate. DER out.
 * At most 1000000 entries.
 */
int ca_make_crl(const struct ca_signer *issuer, const char *issuer_pem,
    const struct ca_revoked *rev, size_t nrev, int64_t crl_number,
    int64_t this_update, int64_t next_update, uint8_t **der, size_t *derlen);

/*
 * import-cert: chain_pem = leaf first, then CAs (text outside PEM blocks is
 * ignored; every PEM block must be a CERTIFICATE). Checks the leaf's public
 * key equals key_pub, the leaf is not a CA, each certificate is issued by
 * (issuer name == subject) and signed by the next with neither MD5 nor SHA-1,
 * the next is a CA, at most
 * 10 certificates and 256 KiB of input. Returns 0, SN_ERR_INVALID with a
 * reason in *why (static string; may be NULL) or SN_ERR_NOMEM.
 */
#define CA_CHAIN_MAX_CERTS 10
#define CA_CHAIN_MAX_BYTES (256 * 1024)
int ca_check_chain(EVP_PKEY *key_pub, const char *chain_pem, const char **why);

/* SubjectPublicKeyInfo DER -> EVP_PKEY (whole input must be consumed). */
int ca_pubkey_from_spki(const uint8_t *der, size_t len, EVP_PKEY **out);
/* SubjectPublicKeyInfo DER -> "-----BEGIN PUBLIC KEY-----" PEM. */
int ca_pem_from_spki(const uint8_t *der, size_t len, char **pem);

/*
 * For listings: the first certificate in pem. Any output pointer may be
 * NULL. subject_oneline is RFC 4514 style ("CN=Foo, O=Bar, C=DE").
 */
int ca_cert_pem_info(const char *pem, char **serial_hex, int64_t *not_before,
    int64_t *not_after, char **subject_oneline);

/*
 * For listings: the notAfter of the first certificate in pem, read from its
 * DER's fields (sn_cert_fields) without decoding an X509: a listing asks
 * this of every key, and d2i_X509 was 90% of GET /v1/me/keys. A
 * certificate the field reader refuses (BER) is decoded as
 * ca_cert_pem_info does, so every certificate d2i_X509 reads gets the
 * date ca_cert_pem_info gives.
 */
int ca_cert_pem_not_after(const char *pem, int64_t *not_after);

/* The first CERTIFICATE block of pem as DER. */
int ca_pem_to_der(const char *pem, uint8_t **der, size_t *len);

/*
 * An EVP_PKEY for OpenSSL functions that sign by themselves (TS_RESP_CTX,
 * OCSP_basic_sign) whose private-key operation is st->signer (ca_pkey.c).
 * EC signers only (SN_ERR_INVALID otherwise). st must outlive the key;
 * when OpenSSL reports a signing failure, st->err holds the signer's
 * SN_ERR_* code. Caller frees *out with EVP_PKEY_free.
 */
struct ca_pkey_state {
	const struct ca_signer *signer;
	int err;
};
int ca_signer_pkey(struct ca_pkey_state *st, EVP_PKEY **out);

/*
 * RFC 3161: answers the DER TimeStampReq query (at most 16 KiB, consumed
 * exactly, else SN_ERR_INVALID) with a DER TimeStampResp signed by s, whose
 * certificate is tsa_cert_pem; chain_pem (the issuing CA and root, may be
 * NULL) goes into the token with the TSA certificate when certReq is set.
 * SHA-256/384/512 imprints; policy_oid (dotted) unless the request asks
 * for another (rejected); 127-bit random serial; genTime from the system
 * clock, accuracy 1 s. A request OpenSSL refuses (unknown imprint
 * algorithm, wrong imprint length, unknown policy) still yields a reply,
 * with status rejection and *granted 0. *serial_hex (may be NULL) gets the
 * token's serial when granted. Signer failures are returned as their
 * SN_ERR_* code. Caller frees *reply and *serial_hex.
 */
int ca_ts_reply(const struct ca_signer *s, const char *tsa_cert_pem,
    const char *chain_pem, const char *policy_oid, const uint8_t *query,
    size_t qlen, uint8_t **reply, size_t *replylen, int *granted,
    char **serial_hex);

/*
 * RFC 6960 OCSP for the CA whose certificate is issuer_pem, signed by s
 * (the CA's own key): answers the DER OCSPRequest req (at most 16 KiB and
 * 16 CertIDs, consumed exactly; else SN_ERR_INVALID) with a DER
 * OCSPResponse. For each CertID with this CA's issuer hashes, lookup(arg,
 * serial_hex, &state) says good / revoked (time, reason, invalidity date)
 * / unknown; other CertIDs are unknown. thisUpdate = now, nextUpdate =
 * next_update; the nonce is copied (*has_nonce 1: the reply is for this
 * client only). Signer errors are returned as their SN_ERR_* code.
 */
enum ca_cert_status { CA_CERT_UNKNOWN = 0, CA_CERT_GOOD, CA_CERT_REVOKED };
struct ca_cert_state {
	int status;			/* enum ca_cert_status */
	int64_t revoked_at;
	int reason;			/* enum ca_reason */
	int64_t invalidity_date;	/* 0 = none */
};
typedef int (*ca_ocsp_lookup_fn)(void *arg, const char *serial_hex,
    struct ca_cert_state *out);
int ca_ocsp_respond(const struct ca_signer *s, const char *issuer_pem,
    const uint8_t *req, size_t reqlen, ca_ocsp_lookup_fn lookup, void *arg,
    int64_t now, int64_t next_update, uint8_t **der, size_t *derlen,
    int *has_nonce);
/* An OCSPResponse with status malformedRequest (or internalError). */
int ca_ocsp_error_response(int malformed, uint8_t **der, size_t *len);

#endif
