/*
 * ca_pem.c - reading what users hand us: certificate chains to import,
 * SubjectPublicKeyInfo from the keeper, PEM certificates for listings.
 *
 * Everything here parses untrusted input: sizes are bounded before OpenSSL
 * sees the text, every DER blob must be consumed exactly, and failures leave
 * nothing on OpenSSL's error queue.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca.h"
#include "ca_int.h"
#include "cert_fields.h"
#include "err.h"

#define SPKI_MAX (16 * 1024)

int
ca_int_bio_string(BIO *b, char **out)
{
	char *data = NULL;
	long n;

	*out = NULL;
	if ((n = BIO_get_mem_data(b, &data)) <= 0 || data == NULL)
		return SN_ERR_CRYPTO;
	if ((*out = malloc((size_t)n + 1)) == NULL)
		return SN_ERR_NOMEM;
	memcpy(*out, data, (size_t)n);
	(*out)[n] = '\0';
	return 0;
}

/*
 * Reads the next PEM block. Returns 1 with a block, 0 at the end of the
 * input (no further BEGIN line), or a negative SN_ERR_* for a malformed one.
 */
static int
next_block(BIO *b, char **name, char **header, unsigned char **data, long *len)
{
	unsigned long e;
	int ok;

	ERR_set_mark();
	ok = PEM_read_bio(b, name, header, data, len);
	e = ERR_peek_last_error();
	ERR_pop_to_mark();
	if (ok)
		return 1;
	if (ERR_GET_LIB(e) == ERR_LIB_PEM &&
	    ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
		return 0;
	return SN_ERR_INVALID;
}

/* One DER certificate that must fill the whole buffer. */
static X509 *
cert_from_der(const unsigned char *data, long len)
{
	const unsigned char *p = data;
	X509 *x;

	if ((x = d2i_X509(NULL, &p, len)) == NULL)
		return NULL;
	if (p != data + len) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/*
 * The first PEM block of pem (at most CA_PEM_MAX bytes), which must be a
 * CERTIFICATE, as DER (OPENSSL_free it); not parsed.
 */
static int
first_cert_der(const char *pem, unsigned char **der, long *der_len)
{
	BIO *b;
	char *name = NULL, *header = NULL;
	size_t n;
	int r;

	*der = NULL;
	*der_len = 0;
	if (pem == NULL)
		return SN_ERR_INVALID;
	if ((n = strnlen(pem, CA_PEM_MAX + 1)) > CA_PEM_MAX)
		return SN_ERR_TOO_LARGE;
	if ((b = BIO_new_mem_buf(pem, (int)n)) == NULL)
		return SN_ERR_NOMEM;
	r = next_block(b, &name, &header, der, der_len) == 1 &&
	    strcmp(name, "CERTIFICATE") == 0 ? 0 : SN_ERR_INVALID;
	if (r != 0) {
		OPENSSL_free(*der);
		*der = NULL;
		*der_len = 0;
	}
	OPENSSL_free(name);
	OPENSSL_free(header);
	BIO_free(b);
	return r;
}

/*
 * The first CERTIFICATE block; with der_out, its DER instead of a parsed
 * certificate (after checking it parses).
 */
static int
first_cert(const char *pem, X509 **xout, unsigned char **der_out, long *der_len)
{
	unsigned char *data = NULL;
	long len = 0;
	X509 *x = NULL;
	int r;

	if ((r = first_cert_der(pem, &data, &len)) != 0)
		return r;
	if ((x = cert_from_der(data, len)) == NULL) {
		ERR_clear_error();
		OPENSSL_free(data);
		return SN_ERR_INVALID;
	}
	if (xout != NULL) {
		*xout = x;
		x = NULL;
	}
	if (der_out != NULL) {
		*der_out = data;
		*der_len = len;
		data = NULL;
	}
	X509_free(x);
	OPENSSL_free(data);
	return 0;
}

int
ca_int_first_cert(const char *pem, X509 **out)
{
	*out = NULL;
	return first_cert(pem, out, NULL, NULL);
}

int
ca_int_serial_hex(const ASN1_INTEGER *ai, char **out)
{
	BIGNUM *bn = NULL;
	char *hex = NULL;
	size_t n;
	int r;

	*out = NULL;
	if ((bn = ASN1_INTEGER_to_BN(ai, NULL)) == NULL ||
	    (hex = BN_bn2hex(bn)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	if (BN_is_negative(bn)) {	/* not ours; refuse rather than print "-" */
		r = SN_ERR_INVALID;
		goto out;
	}
	n = strlen(hex);
	if ((*out = malloc(n + 1)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i <= n; i++)
		(*out)[i] = (char)(hex[i] >= 'A' && hex[i] <= 'F' ?
		    hex[i] - 'A' + 'a' : hex[i]);
	r = 0;
 out:
	OPENSSL_free(hex);
	BN_free(bn);
	return r;
}

int
ca_int_time_to_epoch(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return SN_ERR_INVALID;
	*out = (int64_t)timegm(&tm);
	return 0;
}

int
ca_check_chain(EVP_PKEY *key_pub, const char *chain_pem, const char **why)
{
	STACK_OF(X509) *certs = NULL;
	BIO *b = NULL;
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	long len = 0;
	const char *reason = NULL;
	X509 *x = NULL, *leaf;
	EVP_PKEY *pk;
	size_t n;
	int i, num, mdnid = NID_undef, r;

	if (why != NULL)
		*why = NULL;
	if (key_pub == NULL || chain_pem == NULL) {
		reason = "no key or no chain";
		r = SN_ERR_INVALID;
		goto out;
	}
	if ((n = strnlen(chain_pem, CA_CHAIN_MAX_BYTES + 1)) > CA_CHAIN_MAX_BYTES) {
		reason = "chain is larger than 256 KiB";
		r = SN_ERR_INVALID;
		goto out;
	}
	if ((certs = sk_X509_new_null()) == NULL ||
	    (b = BIO_new_mem_buf(chain_pem, (int)n)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	for (;;) {
		if ((r = next_block(b, &name, &header, &data, &len)) < 0) {
			reason = "malformed PEM";
			goto out;
		}
		if (r == 0)
			break;
		if (strcmp(name, "CERTIFICATE") != 0) {
			reason = "PEM block is not a CERTIFICATE";
			r = SN_ERR_INVALID;
			goto out;
		}
		if (header != NULL && header[0] != '\0') {
			reason = "PEM headers are not allowed";
			r = SN_ERR_INVALID;
			goto out;
		}
		if (sk_X509_num(certs) >= CA_CHAIN_MAX_CERTS) {
			reason = "chain has more than 10 certificates";
			r = SN_ERR_INVALID;
			goto out;
		}
		if ((x = cert_from_der(data, len)) == NULL) {
			reason = "malformed certificate";
			r = SN_ERR_INVALID;
			goto out;
		}
		if (!sk_X509_push(certs, x)) {
			r = SN_ERR_NOMEM;
			goto out;
		}
		x = NULL;
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(data);
		name = header = NULL;
		data = NULL;
	}
	if ((num = sk_X509_num(certs)) == 0) {
		reason = "no certificate in chain";
		r = SN_ERR_INVALID;
		goto out;
	}

	r = SN_ERR_INVALID;
	for (i = 0; i < num; i++) {
		/* Computes the cached extension flags; EXFLAG_INVALID if bad. */
		if ((X509_get_extension_flags(sk_X509_value(certs, i)) &
		    EXFLAG_INVALID) != 0) {
			reason = "certificate has malformed extensions";
			goto out;
		}
	}
	leaf = sk_X509_value(certs, 0);
	if ((pk = X509_get0_pubkey(leaf)) == NULL ||
	    EVP_PKEY_eq(pk, key_pub) != 1) {
		reason = "leaf certificate's public key is not this key's";
		goto out;
	}
	if ((X509_get_extension_flags(leaf) & EXFLAG_CA) != 0) {
		reason = "leaf certificate is a CA certificate";
		goto out;
	}
	for (i = 0; i + 1 < num; i++) {
		X509 *cur = sk_X509_value(certs, i), *next = sk_X509_value(certs, i + 1);

		if (X509_NAME_cmp(X509_get_issuer_name(cur),
		    X509_get_subject_name(next)) != 0) {
			reason = "certificate's issuer is not the next certificate";
			goto out;
		}
		if (X509_check_ca(next) == 0) {
			reason = "issuing certificate is not a CA";
			goto out;
		}
		if ((pk = X509_get0_pubkey(next)) == NULL ||
		    X509_verify(cur, pk) != 1) {
			reason = "certificate is not signed by the next certificate";
			goto out;
		}
		/* Verifiers (jarsigner, Windows) reject these; so do we. */
		if (!X509_get_signature_info(cur, &mdnid, NULL, NULL, NULL) ||
		    mdnid == NID_undef || mdnid == NID_md5 || mdnid == NID_sha1 ||
		    mdnid == NID_md4 || mdnid == NID_md2 || mdnid == NID_md5_sha1) {
			reason = "certificate is signed with a weak digest (MD5 or SHA-1)";
			goto out;
		}
	}
	r = 0;
 out:
	if (r != 0) {
		ERR_clear_error();
		if (reason == NULL)
			reason = "out of memory";
	}
	if (why != NULL)
		*why = reason;
	X509_free(x);
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(data);
	BIO_free(b);
	sk_X509_pop_free(certs, X509_free);
	return r;
}

int
ca_pubkey_from_spki(const uint8_t *der, size_t len, EVP_PKEY **out)
{
	const unsigned char *p = der;
	EVP_PKEY *pk = NULL;

	if (out == NULL)
		return SN_ERR_INVALID;
	*out = NULL;
	if (der == NULL || len == 0 || len > SPKI_MAX)
		return SN_ERR_INVALID;
	if ((pk = d2i_PUBKEY(NULL, &p, (long)len)) == NULL ||
	    p != der + len) {
		EVP_PKEY_free(pk);
		ERR_clear_error();
		return SN_ERR_INVALID;
	}
	*out = pk;
	return 0;
}

int
ca_pem_from_spki(const uint8_t *der, size_t len, char **pem)
{
	EVP_PKEY *pk = NULL;
	BIO *b = NULL;
	int r;

	if (pem == NULL)
		return SN_ERR_INVALID;
	*pem = NULL;
	if ((r = ca_pubkey_from_spki(der, len, &pk)) != 0)
		goto out;
	if ((b = BIO_new(BIO_s_mem())) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	if (!PEM_write_bio_PUBKEY(b, pk)) {
		r = SN_ERR_CRYPTO;
		goto out;
	}
	r = ca_int_bio_string(b, pem);
 out:
	if (r != 0)
		ERR_clear_error();
	BIO_free(b);
	EVP_PKEY_free(pk);
	return r;
}

int
ca_cert_pem_info(const char *pem, char **serial_hex, int64_t *not_before,
    int64_t *not_after, char **subject_oneline)
{
	X509 *x = NULL;
	BIO *b = NULL;
	char *serial = NULL, *subject = NULL;
	int64_t nb = 0, na = 0;
	/* RFC 4514 order and escaping, ", " separators, UTF-8 kept as is. */
	const unsigned long flags = (XN_FLAG_RFC2253 & ~XN_FLAG_SEP_MASK &
	    ~ASN1_STRFLGS_ESC_MSB) | XN_FLAG_SEP_CPLUS_SPC;
	int r;

	if (serial_hex != NULL)
		*serial_hex = NULL;
	if (subject_oneline != NULL)
		*subject_oneline = NULL;
	if ((r = ca_int_first_cert(pem, &x)) != 0)
		goto out;
	if ((r = ca_int_time_to_epoch(X509_get0_notBefore(x), &nb)) != 0 ||
	    (r = ca_int_time_to_epoch(X509_get0_notAfter(x), &na)) != 0)
		goto out;
	if (serial_hex != NULL &&
	    (r = ca_int_serial_hex(X509_get0_serialNumber(x), &serial)) != 0)
		goto out;
	if (subject_oneline != NULL) {
		if ((b = BIO_new(BIO_s_mem())) == NULL) {
			r = SN_ERR_NOMEM;
			goto out;
		}
		if (X509_NAME_print_ex(b, X509_get_subject_name(x), 0, flags) < 0) {
			r = SN_ERR_CRYPTO;
			goto out;
		}
		if (BIO_pending(b) == 0) {	/* empty subject */
			if ((subject = strdup("")) == NULL) {
				r = SN_ERR_NOMEM;
				goto out;
			}
		} else if ((r = ca_int_bio_string(b, &subject)) != 0)
			goto out;
	}
	if (not_before != NULL)
		*not_before = nb;
	if (not_after != NULL)
		*not_after = na;
	if (serial_hex != NULL) {
		*serial_hex = serial;
		serial = NULL;
	}
	if (subject_oneline != NULL) {
		*subject_oneline = subject;
		subject = NULL;
	}
	r = 0;
 out:
	if (r != 0)
		ERR_clear_error();
	free(serial);
	free(subject);
	BIO_free(b);
	X509_free(x);
	return r;
}

int
ca_cert_pem_not_after(const char *pem, int64_t *not_after)
{
	struct sn_cert_fields f;
	unsigned char *der = NULL;
	long len = 0;
	int r;

	if (not_after == NULL)
		return SN_ERR_INVALID;
	if ((r = first_cert_der(pem, &der, &len)) != 0)
		return r;
	r = len > 0 && sn_cert_fields(der, (size_t)len, &f) == 0 &&
	    f.not_after.ok;
	OPENSSL_free(der);
	if (r) {
		*not_after = (int64_t)timegm(&f.not_after.tm);
		return 0;
	}
	/* what the field reader refuses (BER), the decoder may take */
	return ca_cert_pem_info(pem, NULL, NULL, not_after, NULL);
}

int
ca_pem_to_der(const char *pem, uint8_t **der, size_t *len)
{
	unsigned char *data = NULL;
	long dlen = 0;
	int r;

	if (der == NULL || len == NULL)
		return SN_ERR_INVALID;
	*der = NULL;
	*len = 0;
	if ((r = first_cert(pem, NULL, &data, &dlen)) != 0)
		return r;
	/* Callers free() our outputs; OpenSSL's allocator may differ. */
	if ((*der = malloc((size_t)dlen)) == NULL) {
		OPENSSL_free(data);
		return SN_ERR_NOMEM;
	}
	memcpy(*der, data, (size_t)dlen);
	*len = (size_t)dlen;
	OPENSSL_free(data);
	return 0;
}
