/*
 * keys.h - what keys.c shares with key_versions.c (renewal, rotation).
 * Both set an api_error on resp when they fail.
 */
#ifndef SIGNET_API_KEYS_H
#define SIGNET_API_KEYS_H

#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "handler.h"
#include "store_resources.h"

/*
 * Issues the built-in CA's code signing certificate for pub into k
 * (cert_pem, chain_pem, cert_serial, ca_id) for k->subject and
 * k->not_before..not_after, signed in the HSM.
 */
int keys_issue_builtin(struct sn_request *req, struct sn_response *resp,
    const struct store_ca *issuing, const struct store_ca *root,
    EVP_PKEY *pub, struct store_key *k);
/* The optional "validity" field: seconds or "90d"; default one year. */
int keys_get_validity(struct sn_response *resp, json_t *body, int64_t *out);

#endif
