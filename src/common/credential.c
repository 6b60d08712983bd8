/*
 * credential.c - the format of Signet's bearer credentials (see
 * credential.h): making a new one, parsing a presented one strictly, and the
 * SHA-256 that is all the database ever stores of it.
 *
 * Pure functions over bytes: no database, no I/O. The secret half is wiped
 * on every path and never printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sn_assert.h"
#include "credential.h"
#include "encode.h"
#include "err.h"
#include "sha256.h"
#include "util.h"

#define CREDENTIAL_HEX_LEN	16
#define CREDENTIAL_B64_LEN	43

int
credential_hash(const char *s, uint8_t hash[32])
{
	/* every authenticated request hashes its credential: sn_sha256
	 * skips OpenSSL's per-call algorithm lookup */
	return sn_sha256(s, strlen(s), hash) != 0 ? SN_ERR_CRYPTO : 0;
}

/* "snk"/"key", "sna"/"tok", "sns"/"ses": the secret's and the row id's. */
static const char *
kind_prefix(enum credential_kind kind, int secret)
{
	switch (kind) {
	case CREDENTIAL_APIKEY:
		return secret ? "snk" : "key";
	case CREDENTIAL_TOKEN:
		return secret ? "sna" : "tok";
	case CREDENTIAL_SESSION:
		return secret ? "sns" : "ses";
	}
	return "";
}

int
credential_new(enum credential_kind kind, char **secret,
    char id[CREDENTIAL_ID_LEN + 1], uint8_t hash[32])
{
	uint8_t idb[CREDENTIAL_HEX_LEN / 2], key[32];
	char *hex = NULL, *b64 = NULL, *s = NULL;
	int r;

	*secret = NULL;
	id[0] = '\0';
	if (kind != CREDENTIAL_APIKEY && kind != CREDENTIAL_TOKEN &&
	    kind != CREDENTIAL_SESSION)
		return SN_ERR_INVALID;
	if ((r = sn_random_bytes(idb, sizeof(idb))) != 0 ||
	    (r = sn_random_bytes(key, sizeof(key))) != 0 ||
	    (r = sn_hex_encode(idb, sizeof(idb), &hex)) != 0 ||
	    (r = sn_b64url_encode(key, sizeof(key), &b64)) != 0)
		goto out;
	if (SN_NEVER(strlen(hex) != CREDENTIAL_HEX_LEN ||
	    strlen(b64) != CREDENTIAL_B64_LEN)) {
		r = SN_ERR_INTERNAL;
		goto out;
	}
	if ((s = malloc(CREDENTIAL_SECRET_LEN + 1)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	snprintf(s, CREDENTIAL_SECRET_LEN + 1, "%s_%s_%s", kind_prefix(kind, 1),
	    hex, b64);
	snprintf(id, CREDENTIAL_ID_LEN + 1, "%s_%s", kind_prefix(kind, 0), hex);
	if ((r = credential_hash(s, hash)) != 0)
		goto out;
	*secret = s;
	s = NULL;
	r = 0;
 out:
	explicit_bzero(key, sizeof(key));
	if (r != 0)
		id[0] = '\0';
	sn_strfreezero(b64);
	sn_strfreezero(s);
	free(hex);
	return r;
}

static int
is_lhex(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
}

static int
is_b64url(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
}

int
credential_parse(const char *s, enum credential_kind *kind,
    char id[CREDENTIAL_ID_LEN + 1])
{
	size_t i;

	id[0] = '\0';
	if (s == NULL || strnlen(s, CREDENTIAL_SECRET_LEN + 1) != CREDENTIAL_SECRET_LEN)
		return SN_ERR_UNAUTHENTICATED;
	if (strncmp(s, "snk_", 4) == 0)
		*kind = CREDENTIAL_APIKEY;
	else if (strncmp(s, "sna_", 4) == 0)
		*kind = CREDENTIAL_TOKEN;
	else if (strncmp(s, "sns_", 4) == 0)
		*kind = CREDENTIAL_SESSION;
	else
		return SN_ERR_UNAUTHENTICATED;
	for (i = 4; i < 4 + CREDENTIAL_HEX_LEN; i++)
		if (!is_lhex(s[i]))
			return SN_ERR_UNAUTHENTICATED;
	if (s[i++] != '_')
		return SN_ERR_UNAUTHENTICATED;
	for (; i < CREDENTIAL_SECRET_LEN; i++)
		if (!is_b64url(s[i]))
			return SN_ERR_UNAUTHENTICATED;
	/* 43 chars encode 256 bits + 2 spare bits, which must be zero
	 * so that exactly one string names each key. */
	if (strchr("AEIMQUYcgkosw048", s[CREDENTIAL_SECRET_LEN - 1]) == NULL)
		return SN_ERR_UNAUTHENTICATED;
	snprintf(id, CREDENTIAL_ID_LEN + 1, "%s_%.16s", kind_prefix(*kind, 0),
	    s + 4);
	return 0;
}
