/*
 * fuzz_codec.c - the strict decoders: anything they accept must re-encode to
 * exactly the input (canonical encoding), and nothing may crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "encode.h"

typedef int (*dec_fn)(const char *, size_t, uint8_t **, size_t *);
typedef int (*enc_fn)(const uint8_t *, size_t, char **);

static void
roundtrip(const char *in, size_t len, dec_fn dec, enc_fn enc)
{
	uint8_t *d = NULL;
	char *e = NULL;
	size_t n = 0;

	if (dec(in, len, &d, &n) != 0)
		return;
	if (enc(d, n, &e) != 0 || strlen(e) != len || memcmp(e, in, len) != 0)
		abort();	/* two encodings of the same bytes were accepted */
	free(d);
	free(e);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	roundtrip(s, size, sn_b64_decode, sn_b64_encode);
	roundtrip(s, size, sn_b64url_decode, sn_b64url_encode);
	/* hex accepts both cases; compare case-insensitively via re-decode */
	{
		uint8_t *d = NULL, *d2 = NULL;
		char *e = NULL;
		size_t n, n2;
		if (sn_hex_decode(s, size, &d, &n) == 0) {
			if (sn_hex_encode(d, n, &e) != 0 ||
			    sn_hex_decode(e, strlen(e), &d2, &n2) != 0 ||
			    n2 != n || memcmp(d, d2, n) != 0)
				abort();
		}
		free(d);
		free(d2);
		free(e);
	}
	free(s);
	return 0;
}
