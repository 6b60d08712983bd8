/*
 * pem.h - reading PEM text: public keys, certificates, private keys, and
 * splitting a certificate chain into its blocks.
 *
 * Every function takes the text and its length (the text need not be
 * NUL-terminated; PEM never needs more than INT_MAX bytes here) and returns
 * 0, SN_ERR_INVALID (no such object in the text, or it does not parse),
 * SN_ERR_TOO_LARGE (len > INT_MAX) or SN_ERR_NOMEM. Outputs are cleared on
 * entry and set only on success; the caller frees them (EVP_PKEY_free,
 * X509_free, free, json_decref).
 */
#ifndef SIGNET_PEM_H
#define SIGNET_PEM_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "util.h"

/* The first "PUBLIC KEY" (SubjectPublicKeyInfo) block. */
int pem_read_pubkey(const char *pem, size_t len, EVP_PKEY **out) SN_WUR;
/* The first "CERTIFICATE" block. */
int pem_read_x509(const char *pem, size_t len, X509 **out) SN_WUR;
/* The public key of the first certificate. */
int pem_read_x509_pubkey(const char *pem, size_t len, EVP_PKEY **out) SN_WUR;
/* The first unencrypted private key block (PKCS#8 or traditional). */
int pem_read_private_key(const char *pem, size_t len, EVP_PKEY **out) SN_WUR;

/*
 * The DER bytes of the first PEM block, which must be of type `type`
 * ("PUBLIC KEY", "CERTIFICATE") and have no headers (no encryption):
 * *der is OPENSSL_malloc'd (OPENSSL_free it). Only base64 is undone, no
 * object is made (cheap next to making one: OpenSSL 3's d2i_X509 is
 * about 1.5 million instructions, PEM_read_bio_PUBKEY's decoder search
 * about 4 million), so a caller can compare bytes first.
 */
int pem_read_der(const char *pem, size_t len, const char *type,
    uint8_t **der, size_t *derlen) SN_WUR;

/*
 * The "CERTIFICATE" blocks of a NUL-terminated chain, in order, as a JSON
 * array of strings (each BEGIN..END line plus "\n"). Text between blocks
 * is dropped; no block at all is an empty array. 0 or SN_ERR_NOMEM.
 */
int pem_cert_blocks(const char *pem, json_t **out) SN_WUR;

/*
 * Splits a NUL-terminated chain after its first certificate: *leaf is that
 * block, *rest the remaining blocks concatenated ("" if none), both
 * malloc'd. SN_ERR_INVALID if there is no complete first block.
 */
int pem_split_leaf(const char *chain, char **leaf, char **rest) SN_WUR;

#endif
