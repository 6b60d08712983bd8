/*
 * fuzz_parse.c - durations, times and integers from the command line and
 * the API: accepted values are in range, and times round-trip.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), buf[32];
	int64_t v, t2;
	long long ll;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (sn_parse_duration(s, &v) == 0 && (v <= 0 || v > 100LL * 366 * 86400))
		abort();
	if (sn_parse_time(s, &v) == 0) {
		sn_format_time(v, buf);
		if (sn_parse_time(buf, &t2) != 0 || t2 != v)
			abort();
	}
	if (sn_parse_int(s, -5, 5, &ll) == 0 && (ll < -5 || ll > 5))
		abort();
	free(s);
	return 0;
}
