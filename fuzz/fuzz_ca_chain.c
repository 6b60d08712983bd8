/*
 * fuzz_ca_chain.c - ca_check_chain (signet key import-cert) on arbitrary
 * text. The key compared with the leaf is the leaf's own key when the input
 * starts with a readable certificate, so the link and CA checks run too.
 * Every refusal is SN_ERR_INVALID with a reason and an empty error queue.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ca.h"
#include "err.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static EVP_PKEY *other;
	const char *why = NULL;
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	BIO *b;
	char *s;
	int r;

	if (other == NULL && (other = EVP_PKEY_Q_keygen(NULL, NULL, "EC",
	    "P-256")) == NULL)
		abort();
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if ((b = BIO_new_mem_buf(s, -1)) != NULL &&
	    (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
		key = X509_get_pubkey(x);
	ERR_clear_error();
	r = ca_check_chain(key != NULL ? key : other, s, &why);
	if (r != 0 && (r != SN_ERR_INVALID || why == NULL))
		abort();
	if (r == 0 && (why != NULL || key == NULL))
		abort();
	if (ERR_peek_error() != 0)
		abort();
	EVP_PKEY_free(key);
	X509_free(x);
	BIO_free(b);
	free(s);
	return 0;
}
