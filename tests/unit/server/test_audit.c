/*
 * test_audit.c - the audit chain: append, per-tenant chains, verify,
 * tampering (update, delete), and the canonical form shared with the CLI.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "audit.h"
#include "auditchain.h"
#include "db.h"
#include "err.h"
#include "merkle.h"
#include "sn_never_test.h"
#include "testutil.h"
#include "tlog.h"

static void
append(struct db_conn *c, const char *tenant, const char *action,
    json_t *details)
{
	struct audit_event ev = {
		.tenant_id = tenant, .actor_type = "user", .actor_id = "usr_x",
		.action = action, .object_type = "key", .object_id = "skey_1",
		.result = "ok", .details = details, .source_ip = "127.0.0.1",
	};
	assert_int_equal(db_begin(c), 0);
	assert_int_equal(audit_append(c, &ev), 0);
	assert_int_equal(db_commit(c), 0);
}

static void
test_chain(void **state)
{
	char dir[256];
	struct db *db;
	struct db_conn *c;
	struct db_stmt *st;
	struct audit_event ev = { .tenant_id = "t", .action = "x" };
	json_t *d;
	int64_t n, bad;

	db = tu_db_open(1, dir);
	assert_int_equal(db_acquire(db, &c), 0);
	/* Empty chain verifies. */
	assert_int_equal(audit_verify_chain(c, "ten_a", &n, &bad), 0);
	assert_int_equal(n, 0);
	/* Outside a transaction: the caller's bug, refused (traps in debug). */
	assert_never(audit_append(c, &ev), SN_ERR_INTERNAL);

	d = json_pack("{s:s,s:i,s:s}", "digest_algorithm", "sha256", "n", 3,
	    "note", "caf\xc3\xa9 \"quoted\"");
	for (int i = 0; i < 5; i++)
		append(c, "ten_a", "key.sign", d);
	append(c, "ten_b", "user.create", NULL);
	append(c, "", "auth.failure", NULL);
	append(c, "ten_a", "key.disable", NULL);
	json_decref(d);

	assert_int_equal(audit_verify_chain(c, "ten_a", &n, &bad), 0);
	assert_int_equal(n, 6);
	assert_int_equal(audit_verify_chain(c, "ten_b", &n, &bad), 0);
	assert_int_equal(n, 1);
	assert_int_equal(audit_verify_chain(c, "", &n, &bad), 0);
	assert_int_equal(n, 1);

	/* seqs are per tenant and start at 1; first prev_hash is genesis */
	assert_int_equal(db_queryf(c, &st, "SELECT seq, prev_hash FROM "
	    "audit_events WHERE tenant_id = 'ten_b'", ""), DB_ROW);
	assert_int_equal(db_col_int64(st, 0), 1);
	assert_string_equal(db_col_text(st, 1), SN_AUDIT_GENESIS);
	db_finalize(st);

	/* A rolled-back append leaves no event. */
	ev.tenant_id = "ten_a";
	assert_int_equal(db_begin(c), 0);
	assert_int_equal(audit_append(c, &ev), 0);
	assert_int_equal(db_rollback(c), 0);
	assert_int_equal(audit_verify_chain(c, "ten_a", &n, &bad), 0);
	assert_int_equal(n, 6);

	/* Tamper with event 3: the chain breaks exactly there. */
	assert_int_equal(db_execf(c, "UPDATE audit_events SET actor_id = "
	    "'usr_evil' WHERE tenant_id = 'ten_a' AND seq = 3", ""), 0);
	assert_int_equal(audit_verify_chain(c, "ten_a", &n, &bad),
	    SN_ERR_CONFLICT);
	assert_int_equal(bad, 3);
	assert_int_equal(n, 6);
	/* ten_b is unaffected. */
	assert_int_equal(audit_verify_chain(c, "ten_b", &n, &bad), 0);
	db_release(c);
	tu_db_close(db, dir);
}

static void
test_tamper_variants(void **state)
{
	char dir[256];
	struct db *db;
	struct db_conn *c;
	int64_t n, bad;

	db = tu_db_open(1, dir);
	assert_int_equal(db_acquire(db, &c), 0);
	for (int i = 0; i < 4; i++)
		append(c, "t", "key.sign", NULL);
	/* Details changed. */
	assert_int_equal(db_execf(c, "UPDATE audit_events SET details = "
	    "'{\"a\":1}' WHERE seq = 2", ""), 0);
	assert_int_equal(audit_verify_chain(c, "t", &n, &bad), SN_ERR_CONFLICT);
	assert_int_equal(bad, 2);
	/* Recomputing the hash of the edited row is caught by the next row. */
	{
		struct db_stmt *st;
		json_t *e;
		char h[65];

		assert_int_equal(db_queryf(c, &st, "SELECT " AUDIT_COLUMNS
		    " FROM audit_events WHERE seq = 2", ""), DB_ROW);
		e = audit_row_json(st, 0);
		assert_non_null(e);
		assert_int_equal(sn_audit_hash(e, h), 0);
		db_finalize(st);
		json_decref(e);
		assert_int_equal(db_execf(c, "UPDATE audit_events SET hash = ? "
		    "WHERE seq = 2", "t", h), 0);
		/* ... and already by the row itself: its tree leaf (written
		 * when it was appended) is the leaf of the old hash */
		assert_int_equal(audit_verify_chain(c, "t", &n, &bad),
		    SN_ERR_CONFLICT);
		assert_int_equal(bad, 2);
	}
	/* A deleted event (gap) is caught. */
	assert_int_equal(db_execf(c, "DELETE FROM audit_events WHERE seq <= 3",
	    ""), 0);
	assert_int_equal(audit_verify_chain(c, "t", &n, &bad), SN_ERR_CONFLICT);
	assert_int_equal(bad, 4);
	assert_int_equal(n, 1);
	db_release(c);
	tu_db_close(db, dir);
}

/* The tree grows with the chain, in the same transaction, and matches a
 * compact range recomputed from the events' hashes. */
static void
test_tree(void **state)
{
	char dir[256];
	struct db *db;
	struct db_conn *c;
	struct db_stmt *st;
	struct sn_merkle_range rg;
	uint8_t root[32], want[32], raw[32], leaf[32];
	uint64_t size, added;
	int64_t n, bad, badcp;
	int r;

	db = tu_db_open(1, dir);
	assert_int_equal(db_acquire(db, &c), 0);
	for (int i = 0; i < 11; i++)
		append(c, "t", "key.sign", NULL);
	append(c, "u", "key.sign", NULL);
	assert_int_equal(tlog_size(c, "t", &size), 0);
	assert_int_equal(size, 11);
	assert_int_equal(tlog_size(c, "u", &size), 0);
	assert_int_equal(size, 1);
	sn_merkle_range_init(&rg);
	r = db_queryf(c, &st, "SELECT hash FROM audit_events WHERE tenant_id "
	    "= 't' ORDER BY seq", "");
	while (r == DB_ROW) {
		for (int i = 0; i < 32; i++) {
			unsigned v = 0;
			const char *h = db_col_text(st, 0) + 2 * i;

			for (int j = 0; j < 2; j++)
				v = v * 16 + (unsigned)(h[j] <= '9' ? h[j] - '0' :
				    h[j] - 'a' + 10);
			raw[i] = (uint8_t)v;
		}
		sn_merkle_leaf_hash(raw, leaf);
		assert_int_equal(sn_merkle_range_append(&rg, leaf), 0);
		r = db_step(st);
	}
	db_finalize(st);
	sn_merkle_range_root(&rg, want);
	assert_int_equal(tlog_root(c, "t", 11, root), 0);
	assert_memory_equal(root, want, 32);
	/* A rolled-back event leaves no leaf behind. */
	{
		struct audit_event ev = { .tenant_id = "t", .action = "x" };

		assert_int_equal(db_begin(c), 0);
		assert_int_equal(audit_append(c, &ev), 0);
		assert_int_equal(db_rollback(c), 0);
		assert_int_equal(tlog_size(c, "t", &size), 0);
		assert_int_equal(size, 11);
	}
	/* A database from before the log: leaves come back from the rows,
	 * on the next append or by tlog_catch_up, with the same root. */
	assert_int_equal(db_execf(c, "DELETE FROM audit_tree WHERE tenant_id "
	    "= 't' AND ((idx + 1) << level) > 5", ""), 0);
	assert_int_equal(db_begin(c), 0);
	assert_int_equal(tlog_catch_up(c, "t", 3, &added), 0);
	assert_int_equal(added, 3);
	assert_int_equal(tlog_catch_up(c, "t", 100, &added), 0);
	assert_int_equal(added, 3);
	assert_int_equal(db_commit(c), 0);
	assert_int_equal(tlog_root(c, "t", 11, root), 0);
	assert_memory_equal(root, want, 32);
	assert_int_equal(db_execf(c, "DELETE FROM audit_tree WHERE tenant_id "
	    "= 't' AND ((idx + 1) << level) > 2", ""), 0);
	append(c, "t", "key.sign", NULL);
	assert_int_equal(tlog_size(c, "t", &size), 0);
	assert_int_equal(size, 12);
	assert_int_equal(audit_verify_log(c, "t", &n, &bad, &badcp), 0);
	/* The chain truncated under the tree: appending would fork the log. */
	assert_int_equal(db_execf(c, "DELETE FROM audit_events WHERE tenant_id "
	    "= 't' AND seq = 12", ""), 0);
	{
		struct audit_event ev = { .tenant_id = "t", .action = "x" };

		assert_int_equal(db_begin(c), 0);
		assert_int_equal(audit_append(c, &ev), SN_ERR_CONFLICT);
		assert_int_equal(db_rollback(c), 0);
	}
	/* A stored checkpoint the events no longer give is named. */
	assert_int_equal(db_execf(c, "INSERT INTO audit_checkpoints (tenant_id, "
	    "size, root, note, created_at) VALUES ('t', 11, ?, 'x', 0)", "b",
	    want, (size_t)32), 0);
	assert_int_equal(audit_verify_log(c, "t", &n, &bad, &badcp), 0);
	assert_int_equal(db_execf(c, "INSERT INTO audit_checkpoints (tenant_id, "
	    "size, root, note, created_at) VALUES ('t', 12, ?, 'x', 0)", "b",
	    want, (size_t)32), 0);
	assert_int_equal(audit_verify_log(c, "t", &n, &bad, &badcp),
	    SN_ERR_CONFLICT);
	assert_int_equal(badcp, 12);
	assert_int_equal(bad, 0);
	db_release(c);
	tu_db_close(db, dir);
}

static void
test_canonical(void **state)
{
	json_t *e;
	char *canon = NULL, h[65], next[65];

	e = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:{s:s},s:s,s:s,s:s}",
	    "seq", (json_int_t)1, "tenant_id", "ten_a", "id", "evt_1",
	    "time", "2026-01-01T00:00:00Z", "actor_type", "user",
	    "actor_id", "usr_1", "action", "user.create",
	    "object_type", "user", "object_id", "usr_2", "result", "ok",
	    "details", "email", "\xc3\xa9@x", "source_ip", "::1",
	    "prev_hash", SN_AUDIT_GENESIS, "hash", "ignored");
	assert_int_equal(sn_audit_canonical(e, &canon), 0);
	assert_string_equal(canon,
	    "{\"action\":\"user.create\",\"actor_id\":\"usr_1\","
	    "\"actor_type\":\"user\",\"details\":{\"email\":\"\\u00E9@x\"},"
	    "\"id\":\"evt_1\",\"object_id\":\"usr_2\",\"object_type\":\"user\","
	    "\"prev_hash\":\"" SN_AUDIT_GENESIS "\",\"result\":\"ok\","
	    "\"seq\":1,\"source_ip\":\"::1\",\"tenant_id\":\"ten_a\","
	    "\"time\":\"2026-01-01T00:00:00Z\"}");
	free(canon);
	assert_int_equal(sn_audit_hash(e, h), 0);
	assert_int_equal(strlen(h), 64);
	/* sn_audit_check with the right hash chains, with a wrong one not. */
	json_object_set_new(e, "hash", json_string(h));
	assert_int_equal(sn_audit_check(e, SN_AUDIT_GENESIS, next), 0);
	assert_string_equal(next, h);
	assert_int_equal(sn_audit_check(e, h, next), SN_ERR_CONFLICT);
	/* Wrong types are rejected. */
	json_object_set_new(e, "seq", json_string("1"));
	assert_int_equal(sn_audit_hash(e, h), SN_ERR_INVALID);
	json_object_set_new(e, "seq", json_integer(1));
	json_object_del(e, "details");
	assert_int_equal(sn_audit_hash(e, h), SN_ERR_INVALID);
	json_decref(e);
}

/*
 * The canonical form as it was first defined (auditchain.h): the members
 * copied into a new object, dumped by jansson with the keys sorted. The
 * writer that emits them in order must give the same bytes, or every
 * chain written before it stops verifying.
 */
static char *
reference_canonical(json_t *ev)
{
	static const char *const m[] = { "seq", "tenant_id", "id", "time",
	    "actor_type", "actor_id", "action", "object_type", "object_id",
	    "result", "details", "source_ip", "prev_hash" };
	json_t *c = json_object();
	char *out;

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		assert_int_equal(json_object_set(c, m[i],
		    json_object_get(ev, m[i])), 0);
	out = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	json_decref(c);
	assert_non_null(out);
	return out;
}

/* A string with quotes, backslashes, control bytes and 1-4 byte UTF-8. */
static json_t *
random_string(void)
{
	static const char *const parts[] = { "a", "Z", "\"", "\\", "/", "\n",
	    "\x01", "\x1f", "\x7f", " ", "caf\xc3\xa9", "\xe2\x82\xac",
	    "\xf0\x9f\x94\x91", "seq", "{", "}", ":", "," };
	char buf[256] = "";
	size_t len = 0;
	int n = rand() % 12;

	/* at most 11 parts of at most 5 bytes: never truncated */
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s",
		    parts[rand() % (sizeof(parts) / sizeof(parts[0]))]);
	return json_string(buf);
}

static json_t *
random_value(int depth)
{
	json_t *o;

	switch (rand() % (depth > 2 ? 4 : 6)) {
	case 0:
		return random_string();
	case 1:
		return json_integer((json_int_t)rand() * (rand() % 2 ? -1 : 1));
	case 2:
		return rand() % 2 ? json_true() : json_null();
	case 3:
		return json_real((double)rand() / 7.0);
	case 4:
		o = json_array();
		for (int i = rand() % 4; i > 0; i--)
			json_array_append_new(o, random_value(depth + 1));
		return o;
	default:
		o = json_object();
		for (int i = rand() % 5; i > 0; i--) {
			json_t *k = random_string();
			json_object_set_new(o, json_string_value(k),
			    random_value(depth + 1));
			json_decref(k);
		}
		return o;
	}
}

static void
test_canonical_writer(void **state)
{
	static const char *const strs[] = { "tenant_id", "id", "time",
	    "actor_type", "actor_id", "action", "object_type", "object_id",
	    "result", "source_ip", "prev_hash", "hash", "zzz_extra" };
	char h1[65], h2[65], *ref, *canon, *dtext;
	json_t *e, *d;

	(void)state;
	srand(18);
	for (int i = 0; i < 500; i++) {
		e = json_object();
		for (size_t j = 0; j < sizeof(strs) / sizeof(strs[0]); j++)
			json_object_set_new(e, strs[j], random_string());
		json_object_set_new(e, "seq", json_integer(i % 3 == 0 ?
		    (json_int_t)INT64_MAX - i : i));
		d = json_object();
		for (int k = rand() % 6; k > 0; k--) {
			json_t *key = random_string();
			json_object_set_new(d, json_string_value(key),
			    random_value(0));
			json_decref(key);
		}
		json_object_set_new(e, "details", d);
		ref = reference_canonical(e);
		assert_int_equal(sn_audit_canonical(e, &canon), 0);
		assert_string_equal(canon, ref);
		/* the appender's path: details dumped once, reused */
		dtext = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS |
		    JSON_ENSURE_ASCII);
		assert_int_equal(sn_audit_hash(e, h1), 0);
		assert_int_equal(sn_audit_hash_with(e, dtext, h2), 0);
		assert_string_equal(h1, h2);
		free(dtext);
		free(canon);
		free(ref);
		json_decref(e);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_tamper_variants),
		cmocka_unit_test(test_tree),
		cmocka_unit_test(test_canonical),
		cmocka_unit_test(test_canonical_writer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
