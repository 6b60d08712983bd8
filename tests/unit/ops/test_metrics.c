/*
 * test_metrics.c - the /metrics registry: buckets land where they should
 * and render cumulatively with +Inf == _count; request series are keyed by
 * route pattern, method and status; no route is "unmatched"; the table
 * cannot grow past its size ("overflow"); label values are escaped.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "metrics.h"

static char *
render(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	metrics_render(f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

/* The value of the sample line that starts with prefix (-1 if none). */
static long long
sample(const char *text, const char *prefix)
{
	const char *p = text;
	size_t n = strlen(prefix);

	while ((p = strstr(p, prefix)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtoll(p + n + 1, NULL, 10);
		p += n;
	}
	return -1;
}

static void
test_buckets(void **state)
{
	char *t;

	(void)state;
	metrics_reset();
	metrics_observe_sign("ecdsa-p256", 300000);		/* 0.3 ms */
	metrics_observe_sign("ecdsa-p256", 3000000);		/* 3 ms */
	metrics_observe_sign("ecdsa-p256", 60000000000LL);	/* 60 s */
	metrics_observe_sign("no-such-alg", 1000);
	t = render();
	assert_int_equal(sample(t, "signet_sign_duration_seconds_bucket"
	    "{algorithm=\"ecdsa-p256\",le=\"0.0005\"}"), 1);
	assert_int_equal(sample(t, "signet_sign_duration_seconds_bucket"
	    "{algorithm=\"ecdsa-p256\",le=\"0.0025\"}"), 1);
	assert_int_equal(sample(t, "signet_sign_duration_seconds_bucket"
	    "{algorithm=\"ecdsa-p256\",le=\"0.005\"}"), 2);
	assert_int_equal(sample(t, "signet_sign_duration_seconds_bucket"
	    "{algorithm=\"ecdsa-p256\",le=\"30\"}"), 2);
	assert_int_equal(sample(t, "signet_sign_duration_seconds_bucket"
	    "{algorithm=\"ecdsa-p256\",le=\"+Inf\"}"), 3);
	assert_int_equal(sample(t, "signet_sign_duration_seconds_count"
	    "{algorithm=\"ecdsa-p256\"}"), 3);
	assert_int_equal(sample(t, "signet_sign_duration_seconds_count"
	    "{algorithm=\"other\"}"), 1);
	assert_int_equal(sample(t, "signet_sign_duration_seconds_count"
	    "{algorithm=\"rsa-2048\"}"), 0);
	assert_int_equal(sample(t, "signet_audit_commit_duration_seconds_count"),
	    0);
	free(t);
}

static void
test_requests(void **state)
{
	char *t, route[128];
	int i;

	(void)state;
	metrics_reset();
	metrics_observe_request("/v1/keys/{id}/sign", "POST", 200, 1000);
	metrics_observe_request("/v1/keys/{id}/sign", "POST", 200, 1000);
	metrics_observe_request("/v1/keys/{id}/sign", "POST", 403, 1000);
	metrics_observe_request(NULL, NULL, 404, 1000);
	metrics_observe_request("/a\"b\\c\nd", "GET", 200, 1000);
	metrics_observe_request("/x", "GET", 9999, -5);	/* clamped */
	t = render();
	assert_int_equal(sample(t, "signet_http_request_duration_seconds_count"
	    "{route=\"/v1/keys/{id}/sign\",method=\"POST\",status=\"200\"}"), 2);
	assert_int_equal(sample(t, "signet_http_request_duration_seconds_count"
	    "{route=\"/v1/keys/{id}/sign\",method=\"POST\",status=\"403\"}"), 1);
	assert_int_equal(sample(t, "signet_http_request_duration_seconds_count"
	    "{route=\"unmatched\",method=\"-\",status=\"404\"}"), 1);
	assert_int_equal(sample(t, "signet_http_request_duration_seconds_count"
	    "{route=\"/a\\\"b\\\\c\\nd\",method=\"GET\",status=\"200\"}"), 1);
	assert_int_equal(sample(t, "signet_http_request_duration_seconds_count"
	    "{route=\"/x\",method=\"GET\",status=\"0\"}"), 1);
	free(t);

	/* a bounded table: the rest goes to one "overflow" series */
	metrics_reset();
	for (i = 0; i < 1100; i++) {
		/* static storage for the strings, as the route tables are */
		static char names[1100][16];

		snprintf(names[i], sizeof(names[i]), "/r%d", i);
		metrics_observe_request(names[i], "GET", 200, 1000);
	}
	t = render();
	snprintf(route, sizeof(route), "signet_http_request_duration_seconds_"
	    "count{route=\"overflow\",method=\"-\",status=\"0\"}");
	assert_int_equal(sample(t, route), 1100 - 1023);
	assert_int_equal(sample(t, "signet_http_request_duration_seconds_count"
	    "{route=\"/r1022\",method=\"GET\",status=\"200\"}"), 1);
	assert_int_equal(sample(t, "signet_http_request_duration_seconds_count"
	    "{route=\"/r1023\",method=\"GET\",status=\"200\"}"), -1);
	free(t);
	metrics_reset();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buckets),
		cmocka_unit_test(test_requests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
