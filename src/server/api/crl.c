/*
 * crl.c - where a CA's CRL is published (its distribution point URL) and
 * the in-process cache of built CRLs.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crl.h"
#include "err.h"
#include "server.h"
#include "store_resources.h"

#define CRL_CACHE_TTL	300	/* seconds a CRL is served from memory */
#define CRL_CACHE_SLOTS	32

/*
 * The CRL endpoint is public, and a fresh CRL costs a database write and an
 * HSM signature: so CRLs are cached per CA for CRL_CACHE_TTL seconds, and
 * every revocation in this process invalidates the cache at once (other
 * signetd instances of a scale-out deployment catch up within the TTL).
 */
static pthread_mutex_t crl_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t crl_generation;
static struct crl_slot {
	char ca_id[STORE_ID_MAX];
	uint8_t *der;
	size_t len;
	int64_t made;
	uint64_t generation;
} crl_cache[CRL_CACHE_SLOTS];

void
crl_invalidate(void)
{
	__atomic_add_fetch(&crl_generation, 1, __ATOMIC_SEQ_CST);
}

int
crl_cache_get(const char *ca_id, int64_t now, uint8_t **der, size_t *len)
{
	uint64_t gen = __atomic_load_n(&crl_generation, __ATOMIC_SEQ_CST);
	int found = 0;

	*der = NULL;
	*len = 0;
	pthread_mutex_lock(&crl_mu);
	for (size_t i = 0; i < CRL_CACHE_SLOTS; i++) {
		struct crl_slot *sl = &crl_cache[i];

		if (sl->der == NULL || strcmp(sl->ca_id, ca_id) != 0)
			continue;
		if (sl->generation == gen && now >= sl->made &&
		    now - sl->made < CRL_CACHE_TTL &&
		    (*der = malloc(sl->len)) != NULL) {
			memcpy(*der, sl->der, sl->len);
			*len = sl->len;
			found = 1;
		}
		break;
	}
	pthread_mutex_unlock(&crl_mu);
	return found;
}

void
crl_cache_put(const char *ca_id, int64_t now, uint64_t gen,
    const uint8_t *der, size_t len)
{
	struct crl_slot *sl = NULL;
	uint8_t *copy;
	size_t i;

	if (strlen(ca_id) >= STORE_ID_MAX || (copy = malloc(len)) == NULL)
		return;
	memcpy(copy, der, len);
	pthread_mutex_lock(&crl_mu);
	for (i = 0; i < CRL_CACHE_SLOTS && sl == NULL; i++)
		if (crl_cache[i].der != NULL &&
		    strcmp(crl_cache[i].ca_id, ca_id) == 0)
			sl = &crl_cache[i];
	for (i = 0; i < CRL_CACHE_SLOTS && sl == NULL; i++)
		if (crl_cache[i].der == NULL)
			sl = &crl_cache[i];
	if (sl == NULL) {		/* full: replace the oldest */
		sl = &crl_cache[0];
		for (i = 1; i < CRL_CACHE_SLOTS; i++)
			if (crl_cache[i].made < sl->made)
				sl = &crl_cache[i];
	}
	free(sl->der);
	memcpy(sl->ca_id, ca_id, strlen(ca_id) + 1);
	sl->der = copy;
	sl->len = len;
	sl->made = now;
	sl->generation = gen;
	pthread_mutex_unlock(&crl_mu);
}

uint64_t
crl_generation_now(void)
{
	return __atomic_load_n(&crl_generation, __ATOMIC_SEQ_CST);
}

/*
 * Relying parties fetch CRLs and OCSP answers without credentials and
 * often without a way to trust a private HTTPS CA: with a plain-HTTP
 * listener (--http-listen) the certificates point there (the answers are
 * signed anyway).
 */
static int
revocation_url(const struct sn_server *srv, const char *prefix,
    const char *ca_id, const char *suffix, char **out)
{
	const char *base = srv->cfg.http_public_url != NULL &&
	    *srv->cfg.http_public_url != '\0' ? srv->cfg.http_public_url :
	    srv->cfg.public_url;
	size_t bl;

	*out = NULL;
	if (base == NULL || *base == '\0')
		return 0;	/* no public URL configured: no CDP / AIA */
	bl = strlen(base);
	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	if (bl > 4096)
		return SN_ERR_INVALID;
	if (asprintf(out, "%.*s%s%s%s", (int)bl, base, prefix, ca_id,
	    suffix) < 0) {
		*out = NULL;
		return SN_ERR_NOMEM;
	}
	return 0;
}

int
crl_url(const struct sn_server *srv, const char *ca_id, char **out)
{
	return revocation_url(srv, "/v1/ca/", ca_id, "/crl", out);
}

int
ocsp_url(const struct sn_server *srv, const char *ca_id, char **out)
{
	return revocation_url(srv, "/ocsp/", ca_id, "", out);
}
