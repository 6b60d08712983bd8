/*
 * auditchain.c - canonical form and hash of audit events (see auditchain.h).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "auditchain.h"
#include "err.h"

static const char *const string_members[] = {
	"tenant_id", "id", "time", "actor_type", "actor_id", "action",
	"object_type", "object_id", "result", "source_ip", "prev_hash", NULL,
};

int
sn_audit_canonical(json_t *ev, char **out)
{
	json_t *c = NULL, *v;
	size_t i;
	int r;

	*out = NULL;
	if (!json_is_object(ev))
		return SN_ERR_INVALID;
	if ((c = json_object()) == NULL)
		return SN_ERR_NOMEM;
	v = json_object_get(ev, "seq");
	if (!json_is_integer(v) || json_object_set(c, "seq", v) != 0) {
		r = SN_ERR_INVALID;
		goto out;
	}
	v = json_object_get(ev, "details");
	if (!json_is_object(v) || json_object_set(c, "details", v) != 0) {
		r = SN_ERR_INVALID;
		goto out;
	}
	for (i = 0; string_members[i] != NULL; i++) {
		v = json_object_get(ev, string_members[i]);
		if (!json_is_string(v) ||
		    json_object_set(c, string_members[i], v) != 0) {
			r = SN_ERR_INVALID;
			goto out;
		}
	}
	if ((*out = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS |
	    JSON_ENSURE_ASCII)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	r = 0;
 out:
	json_decref(c);
	return r;
}

int
sn_audit_hash(json_t *ev, char out[65])
{
	static const char hexd[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char *canon = NULL;
	int r;

	out[0] = '\0';
	if ((r = sn_audit_canonical(ev, &canon)) != 0)
		return r;
	if (EVP_Digest(canon, strlen(canon), md, &mdlen, EVP_sha256(),
	    NULL) != 1 || mdlen != 32) {
		r = SN_ERR_CRYPTO;
		goto out;
	}
	for (unsigned int i = 0; i < mdlen; i++) {
		out[2 * i] = hexd[md[i] >> 4];
		out[2 * i + 1] = hexd[md[i] & 15];
	}
	out[64] = '\0';
	r = 0;
 out:
	free(canon);
	return r;
}

int
sn_audit_check(json_t *ev, const char *expected_prev, char next_prev[65])
{
	char h[65];
	const char *prev, *stored;
	int r;

	prev = json_string_value(json_object_get(ev, "prev_hash"));
	stored = json_string_value(json_object_get(ev, "hash"));
	if (prev == NULL || stored == NULL)
		return SN_ERR_INVALID;
	if ((r = sn_audit_hash(ev, h)) != 0)
		return r;
	if (strlen(prev) != 64 || strlen(stored) != 64 ||
	    strlen(expected_prev) != 64 ||
	    CRYPTO_memcmp(prev, expected_prev, 64) != 0 ||
	    CRYPTO_memcmp(stored, h, 64) != 0)
		return SN_ERR_CONFLICT;
	memcpy(next_prev, h, 65);
	return 0;
}
