/*
 * test_auth.c - credential format, parsing and authentication against the
 * database: API keys (expired, revoked, disabled user, wrong secret) and
 * service-account access tokens (expired, rotated key).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api.h"
#include "auth.h"
#include "credential.h"
#include "db.h"
#include "err.h"
#include "store.h"
#include "testutil.h"
#include "util.h"

static void
test_format(void **state)
{
	char *s = NULL, id[CREDENTIAL_ID_LEN + 1], id2[CREDENTIAL_ID_LEN + 1];
	uint8_t h[32], h2[32];
	enum credential_kind kind;

	for (int i = 0; i < 200; i++) {
		assert_int_equal(credential_new(CREDENTIAL_APIKEY, &s, id, h),
		    0);
		assert_int_equal(strlen(s), CREDENTIAL_SECRET_LEN);
		assert_memory_equal(s, "snk_", 4);
		assert_int_equal(strlen(id), CREDENTIAL_ID_LEN);
		assert_memory_equal(id, "key_", 4);
		assert_memory_equal(id + 4, s + 4, 16);
		assert_int_equal(credential_parse(s, &kind, id2), 0);
		assert_int_equal(kind, CREDENTIAL_APIKEY);
		assert_string_equal(id, id2);
		assert_int_equal(credential_hash(s, h2), 0);
		assert_memory_equal(h, h2, 32);
		sn_strfreezero(s);
	}
	assert_int_equal(credential_new(CREDENTIAL_TOKEN, &s, id, h), 0);
	assert_memory_equal(s, "sna_", 4);
	assert_memory_equal(id, "tok_", 4);
	assert_int_equal(credential_parse(s, &kind, id2), 0);
	assert_int_equal(kind, CREDENTIAL_TOKEN);
	sn_strfreezero(s);
}

static void
test_parse_garbage(void **state)
{
	static const char *const bad[] = {
		"", "snk_", "snk_0123456789abcdef_",
		/* 43rd char has non-zero spare bits */
		"snk_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB",
		/* upper-case hex */
		"snk_0123456789ABCDEF_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		/* wrong prefix */
		"snx_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		/* standard base64 characters */
		"snk_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+A",
		/* too long */
		"snk_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		/* separator missing */
		"snk_0123456789abcdefXAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		NULL,
	};
	char id[CREDENTIAL_ID_LEN + 1];
	enum credential_kind kind;

	assert_int_equal(credential_parse(
	    "snk_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    &kind, id), 0);
	assert_string_equal(id, "key_0123456789abcdef");
	for (int i = 0; bad[i] != NULL; i++)
		assert_int_equal(credential_parse(bad[i], &kind, id),
		    SN_ERR_UNAUTHENTICATED);
	assert_int_equal(credential_parse(NULL, &kind, id),
	    SN_ERR_UNAUTHENTICATED);
}

static void
test_apikeys(void **state)
{
	char dir[256], hdr[128], tenant[64], badhdr[128];
	struct db *db;
	struct db_conn *c;
	struct store_tenant t, t2;
	struct store_user u;
	struct store_apikey k;
	struct sn_actor a;
	char *secret = NULL;
	int64_t now = sn_now();

	db = tu_db_open(1, dir);
	assert_int_equal(db_acquire(db, &c), 0);
	assert_int_equal(store_tenant_create(c, "acme", &t), 0);
	assert_int_equal(store_tenant_create(c, "other", &t2), 0);
	assert_int_equal(store_user_create(c, t.id, "a@x", "admin", &u), 0);
	/* a key for a user of another tenant is refused by the store */
	assert_int_equal(store_apikey_create(c, t2.id, u.id, NULL, 0, &k,
	    &secret), SN_ERR_NOT_FOUND);
	assert_null(secret);
	assert_int_equal(store_apikey_create(c, t.id, u.id, "d", 0, &k,
	    &secret), 0);
	snprintf(hdr, sizeof(hdr), "Bearer %s", secret);

	assert_int_equal(auth_authenticate(c, hdr, now, &a, tenant), 0);
	assert_int_equal(a.type, SN_ACTOR_USER);
	assert_string_equal(a.id, u.id);
	assert_string_equal(a.tenant_id, t.id);
	assert_true(a.is_admin);
	assert_string_equal(a.credential_id, k.id);
	assert_string_equal(a.name, "a@x");
	/* scheme is case-insensitive */
	hdr[0] = 'b';
	assert_int_equal(auth_authenticate(c, hdr, now, &a, tenant), 0);
	hdr[0] = 'B';
	/* last_used_at was set */
	assert_int_equal(store_apikey_get(c, t.id, k.id, &k), 0);
	assert_true(k.last_used_at == now);

	/* wrong secret, same id: failure attributed to the key's tenant */
	snprintf(badhdr, sizeof(badhdr), "%s", hdr);
	badhdr[strlen(badhdr) - 2] = badhdr[strlen(badhdr) - 2] == 'x' ? 'y' : 'x';
	assert_int_equal(auth_authenticate(c, badhdr, now, &a, tenant),
	    SN_ERR_UNAUTHENTICATED);
	assert_string_equal(tenant, t.id);
	assert_int_equal(a.type, SN_ACTOR_NONE);
	assert_string_equal(a.id, "");
	/* unknown id: system chain */
	memcpy(badhdr, hdr, strlen(hdr) + 1);
	badhdr[7 + 5] = badhdr[7 + 5] == '0' ? '1' : '0';
	assert_int_equal(auth_authenticate(c, badhdr, now, &a, tenant),
	    SN_ERR_UNAUTHENTICATED);
	assert_string_equal(tenant, "");
	/* missing / other schemes */
	assert_int_equal(auth_authenticate(c, NULL, now, &a, tenant),
	    SN_ERR_UNAUTHENTICATED);
	assert_int_equal(auth_authenticate(c, secret, now, &a, tenant),
	    SN_ERR_UNAUTHENTICATED);
	assert_int_equal(auth_authenticate(c, "Basic Zm9vOmJhcg==", now, &a,
	    tenant), SN_ERR_UNAUTHENTICATED);

	/* expiry */
	assert_int_equal(db_execf(c, "UPDATE api_keys SET expires_at = ? WHERE "
	    "id = ?", "it", now, k.id), 0);
	assert_int_equal(auth_authenticate(c, hdr, now, &a, tenant),
	    SN_ERR_UNAUTHENTICATED);
	assert_int_equal(auth_authenticate(c, hdr, now - 1, &a, tenant), 0);
	assert_int_equal(db_execf(c, "UPDATE api_keys SET expires_at = NULL",
	    ""), 0);
	/* disabled user */
	assert_int_equal(store_user_set_disabled(c, t.id, u.id, 1), 0);
	assert_int_equal(auth_authenticate(c, hdr, now, &a, tenant),
	    SN_ERR_UNAUTHENTICATED);
	assert_int_equal(store_user_set_disabled(c, t.id, u.id, 0), 0);
	assert_int_equal(auth_authenticate(c, hdr, now, &a, tenant), 0);
	/* revoked */
	assert_int_equal(store_apikey_revoke(c, t.id, k.id, now), 0);
	assert_int_equal(store_apikey_revoke(c, t.id, k.id, now),
	    SN_ERR_CONFLICT);
	assert_int_equal(auth_authenticate(c, hdr, now, &a, tenant),
	    SN_ERR_UNAUTHENTICATED);
	/* only the hash is stored */
	{
		struct db_stmt *st;
		size_t len;
		const void *p;

		assert_int_equal(db_queryf(c, &st, "SELECT secret_hash FROM "
		    "api_keys WHERE id = ?", "t", k.id), DB_ROW);
		p = db_col_blob(st, 0, &len);
		assert_int_equal(len, 32);
		assert_null(memmem(p, len, secret + 21, 8));
		db_finalize(st);
	}
	sn_strfreezero(secret);
	db_release(c);
	tu_db_close(db, dir);
}

static void
test_tokens(void **state)
{
	char dir[256], hdr[128], tenant[64], id[CREDENTIAL_ID_LEN + 1];
	struct db *db;
	struct db_conn *c;
	struct sn_actor a;
	uint8_t h[32];
	char *secret = NULL;
	int64_t now = sn_now();

	db = tu_db_open(1, dir);
	assert_int_equal(db_acquire(db, &c), 0);
	assert_int_equal(db_execf(c, "INSERT INTO tenants VALUES "
	    "('ten_a','a',1)", ""), 0);
	assert_int_equal(db_execf(c, "INSERT INTO teams VALUES "
	    "('team_1','ten_a','t',1)", ""), 0);
	assert_int_equal(db_execf(c, "INSERT INTO service_accounts (id, "
	    "tenant_id, team_id, name, public_key_pem, key_algorithm, "
	    "key_fingerprint, key_version, created_at) VALUES ('sac_1','ten_a',"
	    "'team_1','ci','x','ecdsa-p256','f',1,1)", ""), 0);
	assert_int_equal(credential_new(CREDENTIAL_TOKEN, &secret, id, h),
	    0);
	assert_int_equal(db_execf(c, "INSERT INTO access_tokens (id, "
	    "tenant_id, service_account_id, key_version, secret_hash, "
	    "created_at, expires_at) VALUES (?, 'ten_a', 'sac_1', 1, ?, ?, ?)", "tbii", id, h, sizeof(h),
	    now, now + AUTH_TOKEN_TTL), 0);
	snprintf(hdr, sizeof(hdr), "Bearer %s", secret);
	assert_int_equal(auth_authenticate(c, hdr, now, &a, tenant), 0);
	assert_int_equal(a.type, SN_ACTOR_SERVICE_ACCOUNT);
	assert_string_equal(a.id, "sac_1");
	assert_string_equal(a.tenant_id, "ten_a");
	assert_false(a.is_admin);
	assert_string_equal(a.name, "ci");
	/* expired */
	assert_int_equal(auth_authenticate(c, hdr, now + AUTH_TOKEN_TTL, &a,
	    tenant), SN_ERR_UNAUTHENTICATED);
	assert_string_equal(tenant, "ten_a");
	/* the account's key was rotated: old tokens die */
	assert_int_equal(db_execf(c, "UPDATE service_accounts SET key_version "
	    "= 2", ""), 0);
	assert_int_equal(auth_authenticate(c, hdr, now, &a, tenant),
	    SN_ERR_UNAUTHENTICATED);
	/* an API-key-shaped string with the token's id is not the token */
	hdr[9] = 'k';
	assert_int_equal(auth_authenticate(c, hdr, now, &a, tenant),
	    SN_ERR_UNAUTHENTICATED);
	sn_strfreezero(secret);
	db_release(c);
	tu_db_close(db, dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_parse_garbage),
		cmocka_unit_test(test_apikeys),
		cmocka_unit_test(test_tokens),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
