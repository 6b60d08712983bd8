/*
 * inclusion.c - require_inclusion_proof: before a signature is handed to
 * the caller, check that the server recorded it in the signed transparency
 * log (docs/AUDIT.md). The sign answer carries the committed key.sign
 * event; it must be about this digest and this signature, its hash must
 * match its contents, and its leaf must be proven (RFC 9162 inclusion
 * proof) in a checkpoint signed by the log key: the configured log_key, or
 * the one the server names (then only the first key seen by this process
 * is accepted). Failure withholds the signature.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "auditchain.h"
#include "client.h"
#include "encode.h"
#include "err.h"
#include "merkle.h"
#include "note.h"

static pthread_mutex_t key_lock = PTHREAD_MUTEX_INITIALIZER;
static char seen_key[512];	/* first log key learnt from a server */

static int
hex_of(const uint8_t *p, size_t n, const char *want)
{
	char *h = NULL;
	int ok;

	if (sn_hex_encode(p, n, &h) != 0)
		return 0;
	ok = want != NULL && strcmp(h, want) == 0;
	free(h);
	return ok;
}

static int
log_key(struct sn_client *c, const char *configured, char *out, size_t len)
{
	json_t *resp = NULL;
	const char *v;
	int r;

	if (configured != NULL && *configured != '\0') {
		snprintf(out, len, "%s", configured);
		return 0;
	}
	if ((r = sn_client_json(c, "GET", "/v1/audit/log-key", NULL, NULL,
	    &resp)) != 0)
		return r;
	v = json_string_value(json_object_get(resp, "verifier_key"));
	r = SN_ERR_PROTOCOL;
	pthread_mutex_lock(&key_lock);
	if (v != NULL && strlen(v) < sizeof(seen_key)) {
		if (seen_key[0] == '\0')
			snprintf(seen_key, sizeof(seen_key), "%s", v);
		if (strcmp(seen_key, v) == 0) {
			snprintf(out, len, "%s", v);
			r = 0;
		}
	}
	pthread_mutex_unlock(&key_lock);
	json_decref(resp);
	return r;
}

int
sn_client_check_inclusion(struct sn_client *c, const char *configured_key,
    json_t *sign_resp, const uint8_t *digest, size_t dlen,
    const uint8_t *sig, size_t siglen, char *why, size_t whylen)
{
	json_t *ev = json_object_get(sign_resp, "audit_event"), *d, *resp = NULL;
	char vkey[512], hash[65], path[128];
	uint8_t md[SHA256_DIGEST_LENGTH], raw[SN_MERKLE_HASH_LEN], leaf[32];
	uint8_t *rh = NULL;
	sn_mhash proof[SN_MERKLE_MAX_DEPTH];
	struct sn_checkpoint cp;
	const char *note, *h;
	json_int_t seq;
	size_t rl = 0, n = 0, i;
	json_t *v;
	int r = SN_ERR_CONFLICT;

	d = json_object_get(ev, "details");
	SHA256(sig, siglen, md);
	seq = json_integer_value(json_object_get(ev, "seq"));
	if (!json_is_object(ev) || !json_is_object(d) ||
	    strcmp(json_string_value(json_object_get(ev, "action")) ?
	    json_string_value(json_object_get(ev, "action")) : "",
	    "key.sign") != 0 ||
	    !hex_of(digest, dlen, json_string_value(json_object_get(d,
	    "digest"))) ||
	    !hex_of(md, sizeof(md), json_string_value(json_object_get(d,
	    "signature_sha256"))) || seq < 1) {
		snprintf(why, whylen, "the answer's audit event is not the "
		    "record of this signature");
		return SN_ERR_CONFLICT;
	}
	h = json_string_value(json_object_get(ev, "hash"));
	if (sn_audit_hash(ev, hash) != 0 || h == NULL || strcmp(h, hash) != 0 ||
	    sn_hex_decode(hash, 64, &rh, &rl) != 0 || rl != sizeof(raw)) {
		free(rh);
		snprintf(why, whylen, "the audit event's hash does not match "
		    "its contents");
		return SN_ERR_CONFLICT;
	}
	memcpy(raw, rh, sizeof(raw));
	free(rh);
	sn_merkle_leaf_hash(raw, leaf);
	if ((r = log_key(c, configured_key, vkey, sizeof(vkey))) != 0) {
		snprintf(why, whylen, "cannot get the log key");
		return r == SN_ERR_PROTOCOL ? SN_ERR_CONFLICT : r;
	}
	if ((r = sn_client_json(c, "GET", "/v1/audit/checkpoint", NULL, NULL,
	    &resp)) != 0) {
		snprintf(why, whylen, "cannot get the log's checkpoint");
		return r;
	}
	note = json_string_value(json_object_get(resp, "checkpoint"));
	if (note == NULL || sn_checkpoint_verify(note, strlen(note), vkey,
	    &cp) != 0 || cp.size < (uint64_t)seq) {
		snprintf(why, whylen, "the log's checkpoint does not verify "
		    "with the log key, or does not cover the event");
		r = SN_ERR_CONFLICT;
		goto out;
	}
	json_decref(resp);
	resp = NULL;
	snprintf(path, sizeof(path), "/v1/audit/proof/inclusion?seq=%lld&"
	    "size=%llu", (long long)seq, (unsigned long long)cp.size);
	if ((r = sn_client_json(c, "GET", path, NULL, NULL, &resp)) != 0) {
		snprintf(why, whylen, "cannot get the inclusion proof");
		goto out;
	}
	r = SN_ERR_CONFLICT;
	v = json_object_get(resp, "hashes");
	if (!json_is_array(v) || json_array_size(v) > SN_MERKLE_MAX_DEPTH)
		goto bad;
	for (i = 0; i < json_array_size(v); i++) {
		const char *s = json_string_value(json_array_get(v, i));
		uint8_t *b = NULL;
		size_t bl = 0;

		if (s == NULL || sn_b64_decode(s, strlen(s), &b, &bl) != 0 ||
		    bl != SN_MERKLE_HASH_LEN) {
			free(b);
			goto bad;
		}
		memcpy(proof[i], b, bl);
		free(b);
	}
	n = i;
	if (sn_merkle_verify_inclusion((uint64_t)seq - 1, cp.size, leaf,
	    (const sn_mhash *)proof, n, cp.root) != 0)
		goto bad;
	r = 0;
	goto out;
 bad:
	snprintf(why, whylen, "event seq %lld is not proven in the log's "
	    "signed tree of %llu events", (long long)seq,
	    (unsigned long long)cp.size);
 out:
	json_decref(resp);
	return r;
}
