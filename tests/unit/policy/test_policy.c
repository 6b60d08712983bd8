/*
 * test_policy.c - the signing policy rules (policy/): what each parser
 * accepts and refuses, local time in named zones across daylight saving
 * time, CIDR matching, quota periods, and policy_decide against a real
 * database.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "db.h"
#include "err.h"
#include "policy.h"
#include "store_policies.h"
#include "testutil.h"

/* 2026-01-14 (Wednesday) 12:00:00 UTC and 2026-07-15 (Wednesday) 12:00 UTC. */
#define WINTER_NOON	1768392000
#define SUMMER_NOON	1784116800

static void
test_window_parse(void **state)
{
	static const char *const bad[] = { "", "Mon-Fri", "Mon-Fri 08:00-18:00",
	    "Mon-Fri 08:00-18:00 Europe/Berlin x", "Mon-Fry 08:00-18:00 UTC",
	    "Mon-Fri 18:00-08:00 UTC", "Mon-Fri 08:00-08:00 UTC",
	    "Mon-Fri 08:00-24:01 UTC", "Mon-Fri 8:00-18:00 UTC",
	    "Mon-Fri 08:60-18:00 UTC", "Mon, 08:00-18:00 UTC",
	    "Mon,,Tue 08:00-18:00 UTC", "Mon-Fri 08:00-18:00 Mars/Olympus",
	    "Mon-Fri 08:00-18:00 ../../etc/passwd",
	    "Mon-Fri 08:00-18:00 /etc/localtime",
	    "Mon-Fri 08:00-18:00 Europe/../UTC", "Mon-Fri 08:00-18:00 Europe",
	    "Mon-Fri  08:00-18:00 UTC", "Mon-Fri 08:00_18:00 UTC",
	    "Mon-Fri 08:00-18:00 UTC\n", NULL };
	struct policy_window w;
	char msg[POLICY_MSG_MAX], buf[160];

	(void)state;
	for (size_t i = 0; bad[i] != NULL; i++) {
		msg[0] = '\0';
		assert_int_equal(policy_window_parse(bad[i], &w, msg),
		    SN_ERR_INVALID);
		assert_true(msg[0] != '\0');
	}
	assert_int_equal(policy_window_parse("Mon-Fri 08:00-18:00 Europe/Berlin",
	    &w, msg), 0);
	assert_int_equal(w.days, 0x3e);
	assert_int_equal(w.start_min, 480);
	assert_int_equal(w.end_min, 1080);
	policy_window_format(&w, buf, sizeof(buf));
	assert_string_equal(buf, "Mon-Fri 08:00-18:00 Europe/Berlin");
	/* wrapping range, lists, full day, case */
	assert_int_equal(policy_window_parse("fri-mon,wed 00:00-24:00 UTC", &w,
	    msg), 0);
	assert_int_equal(w.days, (1u << 5) | (1u << 6) | (1u << 0) | (1u << 1) |
	    (1u << 3));
	policy_window_format(&w, buf, sizeof(buf));
	assert_string_equal(buf, "Mon,Wed,Fri-Sun 00:00-24:00 UTC");
	assert_int_equal(policy_window_parse("Sun 23:00-23:59 America/New_York",
	    &w, msg), 0);
	policy_window_format(&w, buf, sizeof(buf));
	assert_string_equal(buf, "Sun 23:00-23:59 America/New_York");
}

static void
test_zones(void **state)
{
	int wday, min;

	(void)state;
	/* Berlin: UTC+1 in winter, UTC+2 in summer. */
	assert_int_equal(policy_tz_local("Europe/Berlin", WINTER_NOON, &wday,
	    &min), 0);
	assert_int_equal(wday, 3);
	assert_int_equal(min, 13 * 60);
	assert_int_equal(policy_tz_local("Europe/Berlin", SUMMER_NOON, &wday,
	    &min), 0);
	assert_int_equal(min, 14 * 60);
	/* New York: UTC-5 / UTC-4. */
	assert_int_equal(policy_tz_local("America/New_York", WINTER_NOON,
	    &wday, &min), 0);
	assert_int_equal(min, 7 * 60);
	assert_int_equal(policy_tz_local("America/New_York", SUMMER_NOON,
	    &wday, &min), 0);
	assert_int_equal(min, 8 * 60);
	/* The day changes with the zone: Kiritimati is UTC+14. */
	assert_int_equal(policy_tz_local("Pacific/Kiritimati", WINTER_NOON,
	    &wday, &min), 0);
	assert_int_equal(wday, 4);
	assert_int_equal(min, 2 * 60);
	/* Kathmandu: +05:45, a quarter-hour offset; again from the cache. */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(policy_tz_local("Asia/Kathmandu", WINTER_NOON,
		    &wday, &min), 0);
		assert_int_equal(min, 17 * 60 + 45);
	}
	/* Berlin's switch to summer time, 2026-03-29 01:00 UTC: a second
	 * before it is 01:59 local, at it 03:00. */
	assert_int_equal(policy_tz_local("Europe/Berlin", 1774745999, &wday,
	    &min), 0);
	assert_int_equal(min, 1 * 60 + 59);
	assert_int_equal(policy_tz_local("Europe/Berlin", 1774746000, &wday,
	    &min), 0);
	assert_int_equal(min, 3 * 60);
	assert_int_equal(policy_tz_local("No/Such_Zone", WINTER_NOON, &wday,
	    &min), SN_ERR_INVALID);
	assert_false(policy_tz_valid("posixrules/../UTC"));
	assert_false(policy_tz_valid(""));
	assert_true(policy_tz_valid("UTC"));
}

static void
test_window_contains(void **state)
{
	struct policy_window w;
	char msg[POLICY_MSG_MAX];

	(void)state;
	assert_int_equal(policy_window_parse("Mon-Fri 08:00-18:00 Europe/Berlin",
	    &w, msg), 0);
	assert_true(policy_window_contains(&w, WINTER_NOON));
	/* 17:30 UTC in winter is 18:30 in Berlin: outside. */
	assert_false(policy_window_contains(&w, WINTER_NOON + 5 * 3600 + 1800));
	/* 16:30 UTC: 17:30 local in winter (inside), 18:30 in summer (out). */
	assert_true(policy_window_contains(&w, WINTER_NOON + 4 * 3600 + 1800));
	assert_false(policy_window_contains(&w, SUMMER_NOON + 4 * 3600 + 1800));
	/* Saturday noon. */
	assert_false(policy_window_contains(&w, WINTER_NOON + 3 * 86400));
	/* The start minute is inside, the end minute outside. */
	assert_int_equal(policy_window_parse("Wed 13:00-13:01 Europe/Berlin",
	    &w, msg), 0);
	assert_true(policy_window_contains(&w, WINTER_NOON));
	assert_true(policy_window_contains(&w, WINTER_NOON + 59));
	assert_false(policy_window_contains(&w, WINTER_NOON + 60));
	assert_false(policy_window_contains(&w, WINTER_NOON - 1));
}

static void
test_cidr(void **state)
{
	static const char *const bad[] = { "", "/8", "10.0.0.0/", "10.0.0.0/33",
	    "10.0.0.0/08", "10.1.2.3/8", "10.0.0.0/8x", "10.0.0", "::/129",
	    "2001:db8::1/32", "fe80::1%eth0", "10.0.0.0/-1", "host.example",
	    "10.0.0.0/8/8", "1.2.3.4 ", NULL };
	struct policy_cidr c;
	char buf[64];

	(void)state;
	for (size_t i = 0; bad[i] != NULL; i++)
		assert_int_equal(policy_cidr_parse(bad[i], &c), SN_ERR_INVALID);
	assert_int_equal(policy_cidr_parse("10.0.0.0/8", &c), 0);
	assert_true(policy_cidr_match(&c, "10.200.3.4"));
	assert_false(policy_cidr_match(&c, "11.0.0.1"));
	assert_true(policy_cidr_match(&c, "::ffff:10.1.1.1"));	/* mapped */
	assert_false(policy_cidr_match(&c, "::1"));
	assert_false(policy_cidr_match(&c, ""));
	assert_false(policy_cidr_match(&c, NULL));
	assert_int_equal(policy_cidr_parse("192.0.2.128/25", &c), 0);
	assert_true(policy_cidr_match(&c, "192.0.2.200"));
	assert_false(policy_cidr_match(&c, "192.0.2.127"));
	assert_int_equal(policy_cidr_parse("127.0.0.1", &c), 0);
	policy_cidr_format(&c, buf, sizeof(buf));
	assert_string_equal(buf, "127.0.0.1/32");
	assert_true(policy_cidr_match(&c, "127.0.0.1"));
	assert_false(policy_cidr_match(&c, "127.0.0.2"));
	assert_int_equal(policy_cidr_parse("2001:DB8::/32", &c), 0);
	policy_cidr_format(&c, buf, sizeof(buf));
	assert_string_equal(buf, "2001:db8::/32");
	assert_true(policy_cidr_match(&c, "2001:db8:ffff::1"));
	assert_false(policy_cidr_match(&c, "2001:db9::1"));
	assert_false(policy_cidr_match(&c, "10.0.0.1"));
	assert_int_equal(policy_cidr_parse("0.0.0.0/0", &c), 0);
	assert_true(policy_cidr_match(&c, "203.0.113.9"));
}

static void
test_quota_and_periods(void **state)
{
	static const char *const bad[] = { "", "100", "/day", "0/day",
	    "-1/day", "100/days", "100/Day", "1000000000/day", "01/day",
	    "100/day ", " 100/day", "1e3/day", NULL };
	enum policy_period p;
	int64_t n, s, nx;

	(void)state;
	for (size_t i = 0; bad[i] != NULL; i++)
		assert_int_equal(policy_quota_parse(bad[i], &n, &p),
		    SN_ERR_INVALID);
	assert_int_equal(policy_quota_parse("100/day", &n, &p), 0);
	assert_int_equal(n, 100);
	assert_int_equal(p, POLICY_PERIOD_DAY);
	assert_int_equal(policy_quota_parse("999999999/month", &n, &p), 0);

	policy_period_bounds(POLICY_PERIOD_HOUR, WINTER_NOON + 125, &s, &nx);
	assert_int_equal(s, WINTER_NOON);
	assert_int_equal(nx, WINTER_NOON + 3600);
	policy_period_bounds(POLICY_PERIOD_DAY, WINTER_NOON, &s, &nx);
	assert_int_equal(s, WINTER_NOON - 12 * 3600);
	assert_int_equal(nx, WINTER_NOON + 12 * 3600);
	/* Weeks start on Monday 00:00 UTC: 2026-01-12. */
	policy_period_bounds(POLICY_PERIOD_WEEK, WINTER_NOON, &s, &nx);
	assert_int_equal(s, 1768176000);
	assert_int_equal(nx, 1768176000 + 7 * 86400);
	/* January 2026; December rolls into the next year. */
	policy_period_bounds(POLICY_PERIOD_MONTH, WINTER_NOON, &s, &nx);
	assert_int_equal(s, 1767225600);
	assert_int_equal(nx, 1769904000);
	policy_period_bounds(POLICY_PERIOD_MONTH, 1798675200 /* 2026-12-31 */,
	    &s, &nx);
	assert_int_equal(nx, 1798761600);	/* 2027-01-01 */
}

static void
test_policy_parse(void **state)
{
	static const char *const bad[] = {
		"{}", "[]", "{\"mechanisms\":null}", "{\"nope\":1}",
		"{\"mechanisms\":\"ecdsa\"}", "{\"mechanisms\":[]}",
		"{\"mechanisms\":[\"rsa-pss\"]}",	/* not for an EC key */
		"{\"mechanisms\":[\"ecdsa\",\"ecdsa\"]}",
		"{\"mechanisms\":[1]}", "{\"digests\":[\"md5\"]}",
		"{\"digests\":[\"\"]}", "{\"windows\":[\"always\"]}",
		"{\"windows\":[\"Mon 08:00-09:00 UTC\",5]}",
		"{\"sources\":[\"10.0.0.1/8\"]}", "{\"sources\":{}}",
		"{\"max_signatures\":100}", "{\"max_signatures\":\"100/year\"}",
		"{\"max_signatures\":\"\"}", "{\"sources\":[\"a\\u0000b\"]}",
		NULL };
	struct policy p;
	char msg[POLICY_MSG_MAX], *txt;
	json_t *j, *out;

	(void)state;
	for (size_t i = 0; bad[i] != NULL; i++) {
		assert_non_null(j = json_loads(bad[i], JSON_ALLOW_NUL, NULL));
		msg[0] = '\0';
		assert_int_equal(policy_parse(j, SN_ALG_ECDSA_P256, &p, msg),
		    SN_ERR_INVALID);
		assert_true(msg[0] != '\0');
		json_decref(j);
	}
	assert_non_null(j = json_loads("{\"sources\":[\"::1\",\"10.0.0.0/8\"],"
	    "\"max_signatures\":\"5/hour\",\"digests\":[\"sha384\",\"sha256\"],"
	    "\"windows\":[\"Mon-Sun 00:00-24:00 UTC\"],\"mechanisms\":"
	    "[\"ecdsa\"]}", 0, NULL));
	assert_int_equal(policy_parse(j, SN_ALG_ECDSA_P256, &p, msg), 0);
	assert_int_equal(p.max_signatures, 5);
	assert_int_equal(p.nsources, 2);
	assert_non_null(out = policy_to_json(&p));
	txt = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(txt, "{\"digests\":[\"sha256\",\"sha384\"],"
	    "\"max_signatures\":\"5/hour\",\"mechanisms\":[\"ecdsa\"],"
	    "\"sources\":[\"::1/128\",\"10.0.0.0/8\"],\"windows\":"
	    "[\"Mon-Sun 00:00-24:00 UTC\"]}");
	free(txt);
	json_decref(out);
	json_decref(j);
}

/* A tenant, a project and an EC key in a fresh database. */
static struct db *
setup_db(char dir[256], struct db_conn **c)
{
	struct db *db = tu_db_open(2, dir);

	assert_non_null(db);
	assert_int_equal(db_acquire(db, c), 0);
	assert_int_equal(db_execf(*c, "INSERT INTO tenants VALUES "
	    "('ten_a','a',1)", ""), 0);
	assert_int_equal(db_execf(*c, "INSERT INTO projects VALUES "
	    "('prj_1','ten_a','p1',1)", ""), 0);
	assert_int_equal(db_execf(*c, "INSERT INTO signing_keys (id,tenant_id,"
	    "project_id,name,algorithm,state,not_before,not_after,ca_mode,"
	    "created_at) VALUES ('skey_1','ten_a','prj_1','k1','ecdsa-p256',"
	    "'active',0,4000000000,'none',1)", ""), 0);
	return db;
}

static void
put_policy(struct db_conn *c, const char *json)
{
	assert_int_equal(db_begin(c), 0);
	assert_int_equal(store_policy_put(c, "ten_a", "skey_1", json, 1,
	    "usr_x"), 0);
	assert_int_equal(db_commit(c), 0);
}

static void
test_decide(void **state)
{
	struct policy_request pr = { "ten_a", "skey_1", SN_MECH_ECDSA,
	    SN_HASH_SHA256, "10.1.2.3", 1, WINTER_NOON };
	struct policy_quota_status q;
	struct policy_verdict v;
	struct db_conn *c;
	char dir[256];
	struct db *db;

	(void)state;
	db = setup_db(dir, &c);
	/* No policy: allowed, nothing counted. */
	assert_int_equal(policy_decide(c, &pr, 1, &v), 0);
	assert_int_equal(policy_quota_status(c, "ten_a", "skey_1", pr.now,
	    &q), 0);
	assert_false(q.has_policy);

	put_policy(c, "{\"digests\":[\"sha384\"]}");
	assert_int_equal(policy_decide(c, &pr, 0, &v), SN_ERR_FORBIDDEN);
	assert_string_equal(v.rule, "digests");
	pr.hash = SN_HASH_SHA384;
	assert_int_equal(policy_decide(c, &pr, 0, &v), 0);

	put_policy(c, "{\"sources\":[\"192.0.2.0/24\"]}");
	assert_int_equal(policy_decide(c, &pr, 0, &v), SN_ERR_FORBIDDEN);
	assert_string_equal(v.rule, "sources");
	pr.source_ip = "192.0.2.9";
	assert_int_equal(policy_decide(c, &pr, 0, &v), 0);

	put_policy(c, "{\"windows\":[\"Sat-Sun 00:00-24:00 UTC\","
	    "\"Wed 13:30-14:00 Europe/Berlin\"]}");
	assert_int_equal(policy_decide(c, &pr, 0, &v), SN_ERR_FORBIDDEN);
	assert_string_equal(v.rule, "windows");
	pr.now = WINTER_NOON + 1800;	/* 13:30 in Berlin */
	assert_int_equal(policy_decide(c, &pr, 0, &v), 0);

	/* Quota: 5 per hour. Checks without consuming count nothing. */
	put_policy(c, "{\"max_signatures\":\"5/hour\",\"mechanisms\":"
	    "[\"ecdsa\"]}");
	pr.count = 3;
	for (int i = 0; i < 3; i++)
		assert_int_equal(policy_decide(c, &pr, 0, &v), 0);
	assert_int_equal(db_begin(c), 0);
	assert_int_equal(policy_decide(c, &pr, 1, &v), 0);
	assert_int_equal(db_commit(c), 0);
	assert_int_equal(policy_decide(c, &pr, 1, &v), SN_ERR_FORBIDDEN);
	assert_string_equal(v.rule, "max_signatures");
	assert_non_null(strstr(v.message, "2 left this hour, 3 asked"));
	/* A consumed count that is rolled back (the audit commit failed)
	 * leaves nothing behind. */
	pr.count = 2;
	assert_int_equal(db_begin(c), 0);
	assert_int_equal(policy_decide(c, &pr, 1, &v), 0);
	assert_int_equal(db_rollback(c), 0);
	assert_int_equal(policy_quota_status(c, "ten_a", "skey_1", pr.now,
	    &q), 0);
	assert_true(q.has_quota);
	assert_int_equal(q.used, 3);
	assert_int_equal(q.remaining, 2);
	assert_int_equal(q.resets_at, WINTER_NOON + 3600);
	assert_int_equal(db_begin(c), 0);
	assert_int_equal(policy_decide(c, &pr, 1, &v), 0);
	assert_int_equal(db_commit(c), 0);
	pr.count = 1;
	assert_int_equal(policy_decide(c, &pr, 1, &v), SN_ERR_FORBIDDEN);
	/* The next hour starts afresh. */
	pr.now = WINTER_NOON + 3600;
	assert_int_equal(policy_decide(c, &pr, 0, &v), 0);

	/* The mechanism rule comes before the quota. */
	pr.now = WINTER_NOON + 1800;
	pr.mech = SN_MECH_RSA_PSS;
	assert_int_equal(policy_decide(c, &pr, 1, &v), SN_ERR_FORBIDDEN);
	assert_string_equal(v.rule, "mechanisms");

	/* A stored policy that no longer parses refuses everything. */
	put_policy(c, "{\"windows\":[\"Mon 08:00-09:00 Gone/Zone\"]}");
	pr.mech = SN_MECH_ECDSA;
	assert_int_equal(policy_decide(c, &pr, 0, &v), SN_ERR_FORBIDDEN);
	assert_string_equal(v.rule, "policy");

	db_release(c);
	tu_db_close(db, dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_parse),
		cmocka_unit_test(test_zones),
		cmocka_unit_test(test_window_contains),
		cmocka_unit_test(test_cidr),
		cmocka_unit_test(test_quota_and_periods),
		cmocka_unit_test(test_policy_parse),
		cmocka_unit_test(test_decide),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
