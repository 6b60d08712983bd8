/*
 * auditchain.c - canonical form and hash of audit events (see auditchain.h).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "auditchain.h"
#include "err.h"
#include "kbuf.h"
#include "sha256.h"

/*
 * The members of the canonical form in the order JSON_SORT_KEYS puts them
 * (strcmp of the names), so the writer below emits them one by one instead
 * of building a second object and having jansson sort it: the canonical
 * form is made for every event written and every event verified.
 */
enum canon_kind { CANON_STRING, CANON_INTEGER, CANON_OBJECT };

static const struct {
	const char *name;
	enum canon_kind kind;
} canon_members[] = {
	{ "action", CANON_STRING },
	{ "actor_id", CANON_STRING },
	{ "actor_type", CANON_STRING },
	{ "details", CANON_OBJECT },
	{ "id", CANON_STRING },
	{ "object_id", CANON_STRING },
	{ "object_type", CANON_STRING },
	{ "prev_hash", CANON_STRING },
	{ "result", CANON_STRING },
	{ "seq", CANON_INTEGER },
	{ "source_ip", CANON_STRING },
	{ "tenant_id", CANON_STRING },
	{ "time", CANON_STRING },
};

#define CANON_FLAGS	(JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII)
#define CANON_MAX	((size_t)1 << 30)	/* bytes of one canonical form */

static int
canon_put(const char *p, size_t len, void *arg)
{
	return kbuf_put(arg, p, len) == 0 ? 0 : -1;
}

/*
 * Writes the canonical form of ev into b. details_text, if not NULL, is
 * ev's "details" already dumped with CANON_FLAGS (the appender has it: it
 * stores that text), so it is not dumped a second time.
 */
static int
canon_write(json_t *ev, const char *details_text, struct kbuf *b)
{
	json_t *v;
	size_t i;

	if (!json_is_object(ev))
		return SN_ERR_INVALID;
	for (i = 0; i < sizeof(canon_members) / sizeof(canon_members[0]); i++) {
		v = json_object_get(ev, canon_members[i].name);
		switch (canon_members[i].kind) {
		case CANON_STRING:
			if (!json_is_string(v))
				return SN_ERR_INVALID;
			break;
		case CANON_INTEGER:
			if (!json_is_integer(v))
				return SN_ERR_INVALID;
			break;
		case CANON_OBJECT:
			if (!json_is_object(v))
				return SN_ERR_INVALID;
			break;
		}
		/* names are plain ASCII: written as they are */
		if (kbuf_put(b, i == 0 ? "{\"" : ",\"", 2) != 0 ||
		    kbuf_put(b, canon_members[i].name,
		    strlen(canon_members[i].name)) != 0 ||
		    kbuf_put(b, "\":", 2) != 0)
			return SN_ERR_NOMEM;
		if (canon_members[i].kind == CANON_OBJECT && details_text != NULL) {
			if (kbuf_put(b, details_text, strlen(details_text)) != 0)
				return SN_ERR_NOMEM;
		} else if (json_dump_callback(v, canon_put, b,
		    CANON_FLAGS | JSON_ENCODE_ANY) != 0)
			return SN_ERR_NOMEM;
	}
	if (kbuf_put(b, "}", 1) != 0 || kbuf_nul(b) != 0)
		return SN_ERR_NOMEM;
	return 0;
}

int
sn_audit_canonical(json_t *ev, char **out)
{
	struct kbuf b;
	int r;

	*out = NULL;
	kbuf_init(&b, CANON_MAX);
	if ((r = canon_write(ev, NULL, &b)) == 0)
		r = kbuf_steal_str(&b, out, NULL);
	kbuf_free(&b);
	return r;
}

int
sn_audit_hash_with(json_t *ev, const char *details_text, char out[65])
{
	static const char hexd[] = "0123456789abcdef";
	uint8_t md[SN_SHA256_LEN];
	struct kbuf b;
	int r;

	out[0] = '\0';
	kbuf_init(&b, CANON_MAX);
	if ((r = canon_write(ev, details_text, &b)) != 0)
		goto out;
	if (sn_sha256(b.data, b.len, md) != 0) {
		r = SN_ERR_CRYPTO;
		goto out;
	}
	for (size_t i = 0; i < sizeof(md); i++) {
		out[2 * i] = hexd[md[i] >> 4];
		out[2 * i + 1] = hexd[md[i] & 15];
	}
	out[64] = '\0';
	r = 0;
 out:
	kbuf_free(&b);
	return r;
}

int
sn_audit_hash(json_t *ev, char out[65])
{
	return sn_audit_hash_with(ev, NULL, out);
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
