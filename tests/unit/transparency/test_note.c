/*
 * test_note.c - C2SP signed-note checkpoints (src/common/note.c): an
 * Ed25519 key made here with OpenSSL signs a checkpoint body; the note
 * verifies with the key's verifier string, and every alteration (body,
 * signature, key, origin, framing) is refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "err.h"
#include "note.h"

static EVP_PKEY *
mkkey(uint8_t pub[32])
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	size_t n = 32;

	assert_non_null(k);
	assert_int_equal(EVP_PKEY_get_raw_public_key(k, pub, &n), 1);
	assert_int_equal(n, 32);
	return k;
}

static char *
signed_note(EVP_PKEY *k, const uint8_t pub[32], const char *name,
    const char *origin, uint64_t size)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t root[32], sig[64];
	size_t siglen = sizeof(sig);
	char *body = NULL, *note = NULL;

	memset(root, 0xab, sizeof(root));
	assert_int_equal(sn_checkpoint_body(origin, size, root, &body), 0);
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, NULL, NULL, k), 1);
	assert_int_equal(EVP_DigestSign(ctx, sig, &siglen,
	    (const uint8_t *)body, strlen(body)), 1);
	assert_int_equal(sn_note_assemble(body, name, pub, sig, &note), 0);
	EVP_MD_CTX_free(ctx);
	free(body);
	return note;
}

static void
test_roundtrip(void **state)
{
	uint8_t pub[32], pub2[32], id[4];
	EVP_PKEY *k = mkkey(pub), *k2 = mkkey(pub2);
	char *vkey = NULL, *vkey2 = NULL, *note, name[SN_NOTE_NAME_MAX + 1];
	struct sn_checkpoint cp;
	uint8_t pp[32];

	assert_int_equal(sn_note_verifier_key("signet/t1", pub, &vkey), 0);
	assert_int_equal(sn_note_verifier_key("signet/t1", pub2, &vkey2), 0);
	assert_int_equal(sn_note_parse_verifier(vkey, name, pp, id), 0);
	assert_string_equal(name, "signet/t1");
	assert_memory_equal(pp, pub, 32);

	note = signed_note(k, pub, "signet/t1", "signet/t1", 1234);
	assert_non_null(strstr(note, "signet/t1\n1234\n"));
	assert_non_null(strstr(note, "\n\n\xe2\x80\x94 signet/t1 "));
	assert_int_equal(sn_checkpoint_verify(note, strlen(note), vkey, &cp), 0);
	assert_string_equal(cp.origin, "signet/t1");
	assert_int_equal(cp.size, 1234);
	/* another key, one changed body byte, one changed signature byte */
	assert_int_equal(sn_checkpoint_verify(note, strlen(note), vkey2, &cp),
	    SN_ERR_CONFLICT);
	note[11] = '5';		/* size 1234 -> 1235 */
	assert_int_equal(sn_checkpoint_verify(note, strlen(note), vkey, &cp),
	    SN_ERR_CONFLICT);
	note[11] = '4';
	note[strlen(note) - 5] ^= 0x01;
	assert_int_not_equal(sn_checkpoint_verify(note, strlen(note), vkey,
	    &cp), 0);
	free(note);
	/* signed by the right key under a name that is not the origin */
	note = signed_note(k, pub, "signet/t1", "signet/t2", 5);
	assert_int_equal(sn_checkpoint_verify(note, strlen(note), vkey, &cp),
	    SN_ERR_CONFLICT);
	free(note);
	free(vkey);
	free(vkey2);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
}

static void
test_garbage(void **state)
{
	static const char *const bad_keys[] = {
		"", "name", "name+0102", "name+zzzzzzzz+AQ==",
		"na me+01020304+AQ==", "+01020304+AQ==",
		"signet/t1+00000000+AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	};
	static const char *const bad_bodies[] = {
		"", "o\n", "o\n1\n", "o\n01\nAAAA\n", "o\n-1\nq83vq83vq83vq83vq83vq83vq83vq83vq83vq83vq80=\n",
		"o\n1\nnot base64\n", "o\n1\nAAAA\n",
		"o\n1\nq83vq83vq83vq83vq83vq83vq83vq83vq83vq83vq80=\n\n",
		"o\n1\nq83vq83vq83vq83vq83vq83vq83vq83vq83vq83vq80=",
		"o o\n1\nq83vq83vq83vq83vq83vq83vq83vq83vq83vq83vq80=\n",
	};
	char name[SN_NOTE_NAME_MAX + 1];
	uint8_t pub[32], id[4];
	struct sn_checkpoint cp;

	for (size_t i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++)
		assert_int_equal(sn_note_parse_verifier(bad_keys[i], name, pub,
		    id), SN_ERR_INVALID);
	for (size_t i = 0; i < sizeof(bad_bodies) / sizeof(bad_bodies[0]); i++)
		assert_int_equal(sn_checkpoint_parse(bad_bodies[i],
		    strlen(bad_bodies[i]), &cp), SN_ERR_INVALID);
	{
		const char *ok =
		    "o\n0\nq83vq83vq83vq83vq83vq83vq83vq83vq83vq83vq80=\next\n";

		assert_int_equal(sn_checkpoint_parse(ok, strlen(ok), &cp), 0);
	}
	assert_int_equal(cp.size, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
