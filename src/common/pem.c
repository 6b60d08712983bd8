/*
 * pem.c - PEM text to OpenSSL objects (see pem.h), in one place so every
 * caller gets the same bounds and the same answer for text that is not the
 * object it claims to be.
 *
 * Nothing here decides whether a key is acceptable (size, curve, private
 * key pasted where a public one belongs): callers do.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>

#include "err.h"
#include "pem.h"

#define PEM_CERT_BEGIN	"-----BEGIN CERTIFICATE-----"
#define PEM_CERT_END	"-----END CERTIFICATE-----"

enum pem_object { PEM_PUBKEY, PEM_X509, PEM_PRIVATE_KEY };

/* A read-only BIO over pem[0..len), with the bounds every reader has. */
static int
mem_bio(const char *pem, size_t len, BIO **b)
{
	*b = NULL;
	if (pem == NULL)
		return SN_ERR_INVALID;
	if (len > INT_MAX)
		return SN_ERR_TOO_LARGE;
	if ((*b = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return SN_ERR_NOMEM;
	return 0;
}

/* The first object of one kind in pem[0..len). */
static int
pem_read(const char *pem, size_t len, enum pem_object what, void **out)
{
	BIO *b;
	int r;

	*out = NULL;
	if ((r = mem_bio(pem, len, &b)) != 0)
		return r;
	/* No passphrase callback: an encrypted key is refused, not prompted. */
	switch (what) {
	case PEM_PUBKEY:
		*out = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
		break;
	case PEM_X509:
		*out = PEM_read_bio_X509(b, NULL, NULL, NULL);
		break;
	case PEM_PRIVATE_KEY:
		*out = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
		break;
	}
	BIO_free(b);
	return *out != NULL ? 0 : SN_ERR_INVALID;
}

int
pem_read_pubkey(const char *pem, size_t len, EVP_PKEY **out)
{
	void *o = NULL;
	int r = pem_read(pem, len, PEM_PUBKEY, &o);

	*out = o;
	return r;
}

int
pem_read_x509(const char *pem, size_t len, X509 **out)
{
	void *o = NULL;
	int r = pem_read(pem, len, PEM_X509, &o);

	*out = o;
	return r;
}

int
pem_read_private_key(const char *pem, size_t len, EVP_PKEY **out)
{
	void *o = NULL;
	int r = pem_read(pem, len, PEM_PRIVATE_KEY, &o);

	*out = o;
	return r;
}

int
pem_read_x509_pubkey(const char *pem, size_t len, EVP_PKEY **out)
{
	X509 *x = NULL;
	int r;

	*out = NULL;
	if ((r = pem_read_x509(pem, len, &x)) != 0)
		return r;
	*out = X509_get_pubkey(x);
	X509_free(x);
	return *out != NULL ? 0 : SN_ERR_INVALID;
}

int
pem_read_der(const char *pem, size_t len, const char *type, uint8_t **der,
    size_t *derlen)
{
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	long n = 0;
	BIO *b;
	int r;

	*der = NULL;
	*derlen = 0;
	if ((r = mem_bio(pem, len, &b)) != 0)
		return r;
	r = SN_ERR_INVALID;
	/* the first block, whatever its type: a later block of the wanted
	 * type is not looked for (as the typed readers above) */
	if (PEM_read_bio(b, &name, &header, &data, &n) == 1 &&
	    strcmp(name, type) == 0 && header[0] == '\0' && n > 0) {
		*der = data;
		*derlen = (size_t)n;
		data = NULL;
		r = 0;
	}
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(data);
	BIO_free(b);
	return r;
}

int
pem_cert_blocks(const char *pem, json_t **out)
{
	json_t *arr = NULL;
	const char *p, *b, *e;
	char *s = NULL;
	size_t len;
	int r = SN_ERR_NOMEM;

	*out = NULL;
	if ((arr = json_array()) == NULL)
		goto out;
	for (p = pem; p != NULL && (b = strstr(p, PEM_CERT_BEGIN)) != NULL;
	    p = e) {
		if ((e = strstr(b, PEM_CERT_END)) == NULL)
			break;
		e += sizeof(PEM_CERT_END) - 1;
		len = (size_t)(e - b);
		if ((s = malloc(len + 2)) == NULL)
			goto out;
		memcpy(s, b, len);
		s[len] = '\n';
		s[len + 1] = '\0';
		if (json_array_append_new(arr, json_string(s)) != 0)
			goto out;
		free(s);
		s = NULL;
	}
	*out = arr;
	arr = NULL;
	r = 0;
 out:
	free(s);
	json_decref(arr);
	return r;
}

int
pem_split_leaf(const char *chain, char **leaf, char **rest)
{
	json_t *arr = NULL;
	const char *b, *e;
	char *l = NULL, *s = NULL;
	size_t i, n, total = 0;
	int r;

	*leaf = *rest = NULL;
	if (chain == NULL || (b = strstr(chain, PEM_CERT_BEGIN)) == NULL ||
	    (e = strstr(b, PEM_CERT_END)) == NULL)
		return SN_ERR_INVALID;
	e += sizeof(PEM_CERT_END) - 1;
	n = (size_t)(e - b);
	r = SN_ERR_NOMEM;
	if ((l = malloc(n + 2)) == NULL)
		goto out;
	memcpy(l, b, n);
	l[n] = '\n';
	l[n + 1] = '\0';
	if ((r = pem_cert_blocks(e, &arr)) != 0)
		goto out;
	for (i = 0; i < json_array_size(arr); i++)
		total += json_string_length(json_array_get(arr, i));
	r = SN_ERR_NOMEM;
	if ((s = malloc(total + 1)) == NULL)
		goto out;
	total = 0;
	for (i = 0; i < json_array_size(arr); i++) {
		json_t *v = json_array_get(arr, i);

		memcpy(s + total, json_string_value(v), json_string_length(v));
		total += json_string_length(v);
	}
	s[total] = '\0';
	*leaf = l;
	*rest = s;
	l = s = NULL;
	r = 0;
 out:
	free(l);
	free(s);
	json_decref(arr);
	return r;
}
