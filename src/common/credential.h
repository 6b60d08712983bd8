/*
 * credential.h - credentials: API keys (users) and access tokens (service
 * accounts), presented as bearers, and web console session cookies.
 *
 *   API key       "snk_" <16 hex> "_" <43 base64url>   api_keys.id      = "key_" <16 hex>
 *   access token  "sna_" <16 hex> "_" <43 base64url>   access_tokens.id = "tok_" <16 hex>
 *   console session "sns_" <16 hex> "_" <43 base64url> console_sessions.id = "ses_" <16 hex>
 *
 * Only SHA-256 of the whole string is stored; the row id is readable from
 * the credential so a lookup needs no scan. This module knows the format
 * only: the store creates rows with it and auth/ checks presented ones.
 */
#ifndef SIGNET_CREDENTIAL_H
#define SIGNET_CREDENTIAL_H

#include <stdint.h>

#include "util.h"

enum credential_kind {
	CREDENTIAL_APIKEY = 1,	/* snk_ -> key_ */
	CREDENTIAL_TOKEN = 2,	/* sna_ -> tok_ */
	CREDENTIAL_SESSION = 3,	/* sns_ -> ses_: web console cookie only,
				 * never accepted as a bearer credential */
};

#define CREDENTIAL_HEX_LEN	16	/* hex digits of the id part */
#define CREDENTIAL_B64_LEN	43	/* base64url of the 256-bit secret */
#define CREDENTIAL_SECRET_LEN	64	/* strlen of a whole credential string */
#define CREDENTIAL_ID_LEN	20	/* strlen of "key_" / "tok_" + 16 hex */

/*
 * Makes a new credential: *secret (malloc'd, CREDENTIAL_SECRET_LEN chars;
 * wipe with sn_strfreezero), its row id (id, NUL-terminated) and the SHA-256
 * of the whole secret string (hash). Returns 0 or SN_ERR_*.
 */
int credential_new(enum credential_kind kind, char **secret,
    char id[CREDENTIAL_ID_LEN + 1], uint8_t hash[32])
    SN_WUR;

/*
 * Strictly parses a presented credential: kind and row id. Returns 0 or
 * SN_ERR_UNAUTHENTICATED (anything malformed).
 */
int credential_parse(const char *s, enum credential_kind *kind,
    char id[CREDENTIAL_ID_LEN + 1]) SN_WUR;

/* SHA-256 of a credential string. 0 or SN_ERR_CRYPTO. */
int credential_hash(const char *s, uint8_t hash[32])
    SN_WUR;

#endif
