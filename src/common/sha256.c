/*
 * sha256.c - SHA-256 with the algorithm fetched once (see sha256.h).
 */
#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>

#include "err.h"
#include "sha256.h"

static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static EVP_MD *fetched;		/* kept for the process's life */

static void
fetch_sha256(void)
{
	fetched = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int
sn_sha256(const void *p, size_t len, uint8_t out[SN_SHA256_LEN])
{
	const EVP_MD *md;
	unsigned int n = 0;

	(void)pthread_once(&fetch_once, fetch_sha256);
	/* A failed fetch (no default provider yet?) falls back to the
	 * implicit one, which is slower but the same digest. */
	md = fetched != NULL ? fetched : EVP_sha256();
	if (EVP_Digest(p, len, out, &n, md, NULL) != 1 ||
	    n != SN_SHA256_LEN) {
		memset(out, 0, SN_SHA256_LEN);
		return SN_ERR_CRYPTO;
	}
	return 0;
}
