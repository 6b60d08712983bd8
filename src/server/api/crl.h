/*
 * crl.h - CRL distribution points and the cache of built CRLs (api/ca.c
 * serves them, revocations invalidate them).
 */
#ifndef SIGNET_CRL_H
#define SIGNET_CRL_H

#include <stddef.h>
#include <stdint.h>

struct sn_server;

/* The CRL distribution URL of a CA: cfg.public_url + "/v1/ca/<id>/crl";
 * *out NULL (and 0) when no public URL is configured. 0, SN_ERR_INVALID or
 * SN_ERR_NOMEM. */
int crl_url(const struct sn_server *srv, const char *ca_id, char **out);

/* The OCSP responder URL of a CA: base + "/ocsp/<id>" (issue 10). The
 * base of both URLs is http_public_url when signetd has a plain-HTTP
 * listener, else public_url. */
int ocsp_url(const struct sn_server *srv, const char *ca_id, char **out);

/* Drops every cached CRL (and OCSP answer, ocsp.c); called after every
 * revocation. */
void crl_invalidate(void);

/*
 * The cache generation: read it before reading the revoked list, and pass
 * it to crl_cache_put, so a revocation that commits in between makes the
 * CRL being built stale at once.
 */
uint64_t crl_generation_now(void);

/* 1 and a malloc'd copy of the cached CRL of ca_id if fresh, else 0. */
int crl_cache_get(const char *ca_id, int64_t now, uint8_t **der, size_t *len);

/* Caches a copy of der for ca_id (silently skipped on ENOMEM). */
void crl_cache_put(const char *ca_id, int64_t now, uint64_t gen,
    const uint8_t *der, size_t len);

#endif
