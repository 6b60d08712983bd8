/*
 * fuzz_ca_dn.c - ca_parse_dn on arbitrary strings: it returns a name or
 * SN_ERR_INVALID, never anything in between, and an accepted name has 1..16
 * entries.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "ca.h"
#include "err.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	X509_NAME *name = NULL;
	char *s = malloc(size + 1);
	int r;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	r = ca_parse_dn(s, &name);
	if (r == 0) {
		if (name == NULL || X509_NAME_entry_count(name) < 1 ||
		    X509_NAME_entry_count(name) > 16)
			abort();
	} else if (r != SN_ERR_INVALID || name != NULL)
		abort();
	X509_NAME_free(name);
	free(s);
	return 0;
}
