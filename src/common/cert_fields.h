/*
 * cert_fields.h - the fields of an X.509 certificate read as byte ranges of
 * its DER, without decoding it into an X509 (cert_fields.c says why).
 */
#ifndef SIGNET_CERT_FIELDS_H
#define SIGNET_CERT_FIELDS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util.h"

/* A byte range inside a DER buffer the caller owns. */
struct sn_der_range {
	const uint8_t *p;
	size_t len;
};

/* One of the validity dates: ok = 0 for a time whose text does not read
 * (d2i_X509 takes such a certificate too), tm is then zero. */
struct sn_cert_time {
	struct sn_der_range der;	/* the UTCTime or GeneralizedTime TLV */
	struct tm tm;			/* UTC */
	int ok;
};

/*
 * Fields of an X.509 certificate as ranges of its DER, each a whole TLV
 * (the module's CKA_SERIAL_NUMBER, CKA_ISSUER, CKA_SUBJECT,
 * CKA_PUBLIC_KEY_INFO), and its validity dates.
 */
struct sn_cert_fields {
	struct sn_der_range serial, issuer, subject, spki;
	struct sn_cert_time not_before, not_after;
};

/* Reads them without an X509; SN_ERR_INVALID unless der is one whole,
 * well-formed certificate (RFC 5280 4.1) down to the public key. */
int sn_cert_fields(const uint8_t *der, size_t len,
    struct sn_cert_fields *f) SN_WUR;

#endif
