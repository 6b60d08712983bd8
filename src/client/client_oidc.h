/*
 * client_oidc.h - the CI ID token sources of OIDC-federated service
 * accounts (oidc.c), used by client.c's token refresh and `signet login`.
 */
#ifndef SIGNET_CLIENT_OIDC_H
#define SIGNET_CLIENT_OIDC_H

#include <stddef.h>

#include "client.h"

/* 1 if cfg names an ID token source (file, environment variable, GitHub). */
int sn_oidc_configured(const struct sn_client_config *cfg);

/*
 * A fresh ID token from cfg's source: *out malloc'd (wipe with
 * sn_strfreezero). no_threads: the caller may not start threads (the
 * GitHub request then resolves its host in this thread, resolve.c).
 * Returns 0 or SN_ERR_* with a one-line reason in why.
 */
int sn_oidc_id_token(const struct sn_client_config *cfg, int no_threads,
    char **out, char *why, size_t whylen);

#endif
