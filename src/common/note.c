/*
 * note.c - C2SP signed note / tlog-checkpoint encoding and Ed25519
 * verification (see note.h). Parsing is strict: a body must be exactly the
 * three checkpoint lines (optionally followed by extension lines), sizes are
 * canonical decimal and the root is canonical base64 of 32 bytes, so one
 * checkpoint has exactly one text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "encode.h"
#include "err.h"
#include "note.h"

#define EM_DASH	"\xe2\x80\x94"
#define SIG_TYPE_ED25519 0x01

int
sn_note_name_ok(const char *name)
{
	size_t n = 0;

	if (name == NULL)
		return 0;
	for (const char *p = name; *p != '\0'; p++, n++) {
		if (*p <= ' ' || *p > '~' || *p == '+' || n >= SN_NOTE_NAME_MAX)
			return 0;
	}
	return n > 0;
}

void
sn_note_key_id(const char *name, const uint8_t pub[SN_ED25519_PUB_LEN],
    uint8_t id[4])
{
	uint8_t buf[SN_NOTE_NAME_MAX + 2 + SN_ED25519_PUB_LEN];
	uint8_t md[SHA256_DIGEST_LENGTH];
	size_t n = strlen(name);

	if (n > SN_NOTE_NAME_MAX)
		n = SN_NOTE_NAME_MAX;	/* callers checked sn_note_name_ok */
	memcpy(buf, name, n);
	buf[n] = '\n';
	buf[n + 1] = SIG_TYPE_ED25519;
	memcpy(buf + n + 2, pub, SN_ED25519_PUB_LEN);
	SHA256(buf, n + 2 + SN_ED25519_PUB_LEN, md);
	memcpy(id, md, 4);
}

int
sn_note_verifier_key(const char *name, const uint8_t pub[SN_ED25519_PUB_LEN],
    char **out)
{
	uint8_t id[4], typed[1 + SN_ED25519_PUB_LEN];
	char *b64 = NULL, *s = NULL;
	size_t len;
	int r;

	*out = NULL;
	if (!sn_note_name_ok(name))
		return SN_ERR_INVALID;
	sn_note_key_id(name, pub, id);
	typed[0] = SIG_TYPE_ED25519;
	memcpy(typed + 1, pub, SN_ED25519_PUB_LEN);
	if ((r = sn_b64_encode(typed, sizeof(typed), &b64)) != 0)
		return r;
	len = strlen(name) + 1 + 8 + 1 + strlen(b64) + 1;
	if ((s = malloc(len)) == NULL) {
		free(b64);
		return SN_ERR_NOMEM;
	}
	snprintf(s, len, "%s+%02x%02x%02x%02x+%s", name, id[0], id[1], id[2],
	    id[3], b64);
	free(b64);
	*out = s;
	return 0;
}

int
sn_note_parse_verifier(const char *vkey, char *name,
    uint8_t pub[SN_ED25519_PUB_LEN], uint8_t id[4])
{
	const char *p1, *p2;
	uint8_t *raw = NULL, want[4];
	size_t rawlen = 0, nlen;
	int r = SN_ERR_INVALID;

	if (vkey == NULL || (p1 = strchr(vkey, '+')) == NULL ||
	    (p2 = strchr(p1 + 1, '+')) == NULL || p2 - p1 != 9)
		return SN_ERR_INVALID;
	nlen = (size_t)(p1 - vkey);
	if (nlen == 0 || nlen > SN_NOTE_NAME_MAX)
		return SN_ERR_INVALID;
	memcpy(name, vkey, nlen);
	name[nlen] = '\0';
	if (!sn_note_name_ok(name))
		return SN_ERR_INVALID;
	for (int i = 0; i < 4; i++) {
		int hi = sn_hexval(p1[1 + 2 * i]), lo = sn_hexval(p1[2 + 2 * i]);

		if (hi < 0 || lo < 0)
			return SN_ERR_INVALID;
		id[i] = (uint8_t)(hi << 4 | lo);
	}
	if (sn_b64_decode(p2 + 1, strlen(p2 + 1), &raw, &rawlen) != 0)
		return SN_ERR_INVALID;
	if (rawlen != 1 + SN_ED25519_PUB_LEN || raw[0] != SIG_TYPE_ED25519)
		goto out;
	memcpy(pub, raw + 1, SN_ED25519_PUB_LEN);
	sn_note_key_id(name, pub, want);
	if (memcmp(want, id, 4) != 0)
		goto out;
	r = 0;
 out:
	free(raw);
	return r;
}

int
sn_checkpoint_body(const char *origin, uint64_t size,
    const uint8_t root[SN_MERKLE_HASH_LEN], char **out)
{
	char *b64 = NULL, *s;
	size_t len;
	int r;

	*out = NULL;
	if (!sn_note_name_ok(origin))
		return SN_ERR_INVALID;
	if ((r = sn_b64_encode(root, SN_MERKLE_HASH_LEN, &b64)) != 0)
		return r;
	len = strlen(origin) + 1 + 20 + 1 + strlen(b64) + 2;
	if ((s = malloc(len)) == NULL) {
		free(b64);
		return SN_ERR_NOMEM;
	}
	snprintf(s, len, "%s\n%llu\n%s\n", origin, (unsigned long long)size,
	    b64);
	free(b64);
	*out = s;
	return 0;
}

int
sn_note_assemble(const char *body, const char *name,
    const uint8_t pub[SN_ED25519_PUB_LEN],
    const uint8_t sig[SN_ED25519_SIG_LEN], char **out)
{
	uint8_t blob[4 + SN_ED25519_SIG_LEN];
	char *b64 = NULL, *s;
	size_t len;
	int r;

	*out = NULL;
	if (!sn_note_name_ok(name))
		return SN_ERR_INVALID;
	sn_note_key_id(name, pub, blob);
	memcpy(blob + 4, sig, SN_ED25519_SIG_LEN);
	if ((r = sn_b64_encode(blob, sizeof(blob), &b64)) != 0)
		return r;
	len = strlen(body) + 1 + strlen(EM_DASH) + 1 + strlen(name) + 1 +
	    strlen(b64) + 2;
	if ((s = malloc(len)) == NULL) {
		free(b64);
		return SN_ERR_NOMEM;
	}
	snprintf(s, len, "%s\n" EM_DASH " %s %s\n", body, name, b64);
	free(b64);
	*out = s;
	return 0;
}

/* One line [p, nl) of at most max bytes; *next after its newline. */
static int
get_line(const char **p, const char *end, const char **line, size_t *len)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));

	if (nl == NULL)
		return SN_ERR_INVALID;
	*line = *p;
	*len = (size_t)(nl - *p);
	*p = nl + 1;
	return 0;
}

int
sn_checkpoint_parse(const char *body, size_t len, struct sn_checkpoint *cp)
{
	const char *p = body, *end = body + len, *l;
	uint8_t *root = NULL;
	size_t ll, rootlen = 0;
	uint64_t v = 0;
	int r = SN_ERR_INVALID;

	memset(cp, 0, sizeof(*cp));
	if (len == 0 || len > SN_NOTE_MAX || body[len - 1] != '\n' ||
	    memchr(body, '\0', len) != NULL)
		return SN_ERR_INVALID;
	/* origin */
	if (get_line(&p, end, &l, &ll) != 0 || ll == 0 ||
	    ll > SN_NOTE_NAME_MAX)
		return SN_ERR_INVALID;
	memcpy(cp->origin, l, ll);
	cp->origin[ll] = '\0';
	if (!sn_note_name_ok(cp->origin))
		return SN_ERR_INVALID;
	/* size: canonical decimal */
	if (get_line(&p, end, &l, &ll) != 0 || ll == 0 || ll > 19 ||
	    (ll > 1 && l[0] == '0'))
		return SN_ERR_INVALID;
	for (size_t i = 0; i < ll; i++) {
		if (l[i] < '0' || l[i] > '9')
			return SN_ERR_INVALID;
		v = v * 10 + (uint64_t)(l[i] - '0');
	}
	cp->size = v;
	/* root */
	if (get_line(&p, end, &l, &ll) != 0 ||
	    sn_b64_decode(l, ll, &root, &rootlen) != 0)
		return SN_ERR_INVALID;
	if (rootlen != SN_MERKLE_HASH_LEN)
		goto out;
	memcpy(cp->root, root, SN_MERKLE_HASH_LEN);
	/* extension lines: non-empty; accepted and ignored */
	while (p < end) {
		if (get_line(&p, end, &l, &ll) != 0 || ll == 0)
			goto out;
	}
	r = 0;
 out:
	free(root);
	return r;
}

static int
ed25519_verify(const uint8_t pub[SN_ED25519_PUB_LEN], const uint8_t *msg,
    size_t len, const uint8_t sig[SN_ED25519_SIG_LEN])
{
	EVP_PKEY *pk = NULL;
	EVP_MD_CTX *ctx = NULL;
	int r = SN_ERR_CRYPTO;

	if ((pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub,
	    SN_ED25519_PUB_LEN)) == NULL || (ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk) != 1)
		goto out;
	r = EVP_DigestVerify(ctx, sig, SN_ED25519_SIG_LEN, msg, len) == 1 ? 0 :
	    SN_ERR_CONFLICT;
 out:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return r;
}

int
sn_checkpoint_verify(const char *note, size_t len, const char *vkey,
    struct sn_checkpoint *cp)
{
	char name[SN_NOTE_NAME_MAX + 1];
	uint8_t pub[SN_ED25519_PUB_LEN], id[4], *blob = NULL;
	const char *sep, *p, *end = note + len, *l;
	size_t bodylen, ll, nlen, bloblen = 0;
	int r, found = 0, good = 0;

	memset(cp, 0, sizeof(*cp));
	if (note == NULL || len == 0 || len > SN_NOTE_MAX ||
	    memchr(note, '\0', len) != NULL)
		return SN_ERR_INVALID;
	if ((r = sn_note_parse_verifier(vkey, name, pub, id)) != 0)
		return r;
	/* The text ends at the first blank line. */
	if ((sep = strstr(note, "\n\n")) == NULL || sep + 2 > end)
		return SN_ERR_INVALID;
	bodylen = (size_t)(sep + 1 - note);
	if ((r = sn_checkpoint_parse(note, bodylen, cp)) != 0)
		return r;
	p = sep + 2;
	if (p >= end || end[-1] != '\n')
		return SN_ERR_INVALID;
	nlen = strlen(name);
	while (p < end) {
		if (get_line(&p, end, &l, &ll) != 0)
			return SN_ERR_INVALID;
		/* "— name base64" */
		if (ll < 4 + 1 || memcmp(l, EM_DASH " ", 4) != 0)
			return SN_ERR_INVALID;
		l += 4;
		ll -= 4;
		if (ll <= nlen + 1 || memcmp(l, name, nlen) != 0 ||
		    l[nlen] != ' ')
			continue;	/* someone else's signature */
		free(blob);
		blob = NULL;
		if (sn_b64_decode(l + nlen + 1, ll - nlen - 1, &blob,
		    &bloblen) != 0 || bloblen < 4) {
			r = SN_ERR_INVALID;
			goto out;
		}
		if (memcmp(blob, id, 4) != 0)
			continue;
		found = 1;
		if (bloblen == 4 + SN_ED25519_SIG_LEN &&
		    ed25519_verify(pub, (const uint8_t *)note, bodylen,
		    blob + 4) == 0)
			good = 1;
	}
	if (!found || !good) {
		r = SN_ERR_CONFLICT;
		goto out;
	}
	if (strcmp(cp->origin, name) != 0) {
		r = SN_ERR_CONFLICT;
		goto out;
	}
	r = 0;
 out:
	free(blob);
	if (r != 0)
		memset(cp, 0, sizeof(*cp));
	return r;
}
