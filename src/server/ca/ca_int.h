/*
 * ca_int.h - helpers shared by the files of the CA module. Not a public API.
 */
#ifndef SIGNET_CA_INT_H
#define SIGNET_CA_INT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/bio.h>
#include <openssl/x509.h>

/* Largest PEM text any CA function reads (a chain, an issuer certificate). */
#define CA_PEM_MAX (256 * 1024)

/* Copies a memory BIO's contents into a malloc'd NUL-terminated string. */
int ca_int_bio_string(BIO *b, char **out);
/*
 * Parses the first CERTIFICATE PEM block of pem (at most CA_PEM_MAX bytes);
 * the DER must be one whole certificate. Returns 0 or SN_ERR_INVALID /
 * SN_ERR_TOO_LARGE / SN_ERR_NOMEM.
 */
int ca_int_first_cert(const char *pem, X509 **out);
/* Lower-case hex of a non-negative INTEGER, malloc'd. */
int ca_int_serial_hex(const ASN1_INTEGER *ai, char **out);
/* Epoch seconds from an ASN1_TIME. */
int ca_int_time_to_epoch(const ASN1_TIME *t, int64_t *out);

#endif
