/*
 * fuzz_digestinfo.c - the PKCS#11 module's CKM_RSA_PKCS input parser: any
 * DigestInfo it accepts must be rebuilt byte for byte by sn_digestinfo.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alg.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum sn_hash h;
	const uint8_t *dg;
	size_t dlen, outlen;
	uint8_t out[128];

	if (sn_digestinfo_parse(data, size, &h, &dg, &dlen) != 0)
		return 0;
	if (sn_digestinfo(h, dg, dlen, out, sizeof(out), &outlen) != 0 ||
	    outlen != size || memcmp(out, data, size) != 0)
		abort();
	return 0;
}
