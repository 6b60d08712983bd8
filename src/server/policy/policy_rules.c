/*
 * policy_rules.c - the parts of a policy one at a time: time windows,
 * CIDRs, quota periods. Each parser fails closed on anything it does not
 * fully understand (no trailing text, no out-of-range fields), because a
 * rule read more loosely than its author meant is a hole in the policy.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "err.h"
#include "policy.h"

static const char *const day_names[7] = { "Sun", "Mon", "Tue", "Wed",
    "Thu", "Fri", "Sat" };

static int
day_index(const char *s, size_t len)
{
	if (len != 3)
		return -1;
	for (int i = 0; i < 7; i++)
		if (strncasecmp(s, day_names[i], 3) == 0)
			return i;
	return -1;
}

/* "Mon-Fri", "Sat,Sun", "Fri-Mon" (wraps), "Mon,Wed-Thu". */
static int
parse_days(const char *s, size_t len, unsigned *out)
{
	size_t i = 0;

	*out = 0;
	while (i < len) {
		size_t j = i;
		int a, b;

		while (j < len && s[j] != ',')
			j++;
		if (j - i == 3) {
			if ((a = day_index(s + i, 3)) < 0)
				return SN_ERR_INVALID;
			b = a;
		} else if (j - i == 7 && s[i + 3] == '-') {
			if ((a = day_index(s + i, 3)) < 0 ||
			    (b = day_index(s + i + 4, 3)) < 0)
				return SN_ERR_INVALID;
		} else
			return SN_ERR_INVALID;
		for (int d = a;; d = (d + 1) % 7) {
			*out |= 1u << d;
			if (d == b)
				break;
		}
		if (j < len && j + 1 == len)	/* trailing comma */
			return SN_ERR_INVALID;
		i = j + 1;
	}
	return *out != 0 ? 0 : SN_ERR_INVALID;
}

/* "HH:MM" with 00:00..24:00; minutes from midnight. */
static int
parse_hhmm(const char *s, int *out)
{
	int h, m;

	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' ||
	    s[2] != ':' || s[3] < '0' || s[3] > '9' || s[4] < '0' ||
	    s[4] > '9')
		return SN_ERR_INVALID;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (m > 59 || h > 24 || (h == 24 && m != 0))
		return SN_ERR_INVALID;
	*out = h * 60 + m;
	return 0;
}

int
policy_window_parse(const char *s, struct policy_window *out,
    char msg[POLICY_MSG_MAX])
{
	const char *sp1, *sp2;
	size_t n;

	memset(out, 0, sizeof(*out));
	n = strlen(s);
	if (n > 128 || (sp1 = strchr(s, ' ')) == NULL ||
	    (sp2 = strchr(sp1 + 1, ' ')) == NULL || strchr(sp2 + 1, ' ') != NULL) {
		snprintf(msg, POLICY_MSG_MAX, "a window is \"DAYS HH:MM-HH:MM "
		    "ZONE\" (e.g. \"Mon-Fri 08:00-18:00 Europe/Berlin\")");
		return SN_ERR_INVALID;
	}
	if (parse_days(s, (size_t)(sp1 - s), &out->days) != 0) {
		snprintf(msg, POLICY_MSG_MAX, "window days must be Mon..Sun, "
		    "ranges (Mon-Fri) or lists (Sat,Sun)");
		return SN_ERR_INVALID;
	}
	if (sp2 - sp1 - 1 != 11 || sp1[6] != '-' ||
	    parse_hhmm(sp1 + 1, &out->start_min) != 0 ||
	    parse_hhmm(sp1 + 7, &out->end_min) != 0 ||
	    out->start_min >= out->end_min) {
		snprintf(msg, POLICY_MSG_MAX, "window hours must be HH:MM-HH:MM "
		    "with the start before the end, within one day (00:00-24:00; "
		    "a night shift is two windows)");
		return SN_ERR_INVALID;
	}
	if (!policy_tz_valid(sp2 + 1)) {
		snprintf(msg, POLICY_MSG_MAX, "window time zone must name a "
		    "zone of the time zone database (e.g. Europe/Berlin, UTC)");
		return SN_ERR_INVALID;
	}
	snprintf(out->zone, sizeof(out->zone), "%s", sp2 + 1);
	return 0;
}

void
policy_window_format(const struct policy_window *w, char *buf, size_t len)
{
	char days[64];
	size_t o = 0;
	int d = 0;

	days[0] = '\0';
	/* Runs of days in Mon..Sun order, so "Mon-Fri" comes back as such. */
	while (d < 7) {
		int a = (d + 1) % 7, b;

		if (!(w->days & (1u << a))) {
			d++;
			continue;
		}
		b = d;
		while (b + 1 < 7 && (w->days & (1u << ((b + 2) % 7))))
			b++;
		o += (size_t)snprintf(days + o, sizeof(days) - o, "%s%s%s%s",
		    o > 0 ? "," : "", day_names[a], b > d ? "-" : "",
		    b > d ? day_names[(b + 1) % 7] : "");
		d = b + 1;
	}
	snprintf(buf, len, "%s %02d:%02d-%02d:%02d %s", days,
	    w->start_min / 60, w->start_min % 60, w->end_min / 60,
	    w->end_min % 60, w->zone);
}

int
policy_cidr_parse(const char *s, struct policy_cidr *out)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	int bits, nbytes;

	memset(out, 0, sizeof(*out));
	if (alen == 0 || alen >= sizeof(addr))
		return SN_ERR_INVALID;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, out->addr) == 1) {
		out->family = AF_INET;
		bits = 32;
	} else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
		out->family = AF_INET6;
		bits = 128;
	} else
		return SN_ERR_INVALID;
	out->prefix = bits;
	if (slash != NULL) {
		const char *p = slash + 1;
		int v = 0;

		if (*p == '\0' || strlen(p) > 3 || (p[0] == '0' && p[1] != '\0'))
			return SN_ERR_INVALID;
		for (; *p != '\0'; p++) {
			if (*p < '0' || *p > '9')
				return SN_ERR_INVALID;
			v = v * 10 + (*p - '0');
		}
		if (v > bits)
			return SN_ERR_INVALID;
		out->prefix = v;
	}
	/* Host bits set ("10.1.2.3/8") is a typo more often than a choice. */
	nbytes = bits / 8;
	for (int i = 0; i < nbytes; i++) {
		int keep = out->prefix - i * 8;
		uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 :
		    (uint8_t)(0xff << (8 - keep));

		if ((out->addr[i] & (uint8_t)~mask) != 0)
			return SN_ERR_INVALID;
	}
	return 0;
}

void
policy_cidr_format(const struct policy_cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (inet_ntop(c->family, c->addr, a, sizeof(a)) == NULL)
		a[0] = '\0';
	snprintf(buf, len, "%s/%d", a, c->prefix);
}

int
policy_cidr_match(const struct policy_cidr *c, const char *ip)
{
	uint8_t a[16];
	int family, i;

	if (ip == NULL)
		return 0;
	if (inet_pton(AF_INET, ip, a) == 1)
		family = AF_INET;
	else if (inet_pton(AF_INET6, ip, a) == 1) {
		static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
		    0, 0xff, 0xff };

		family = AF_INET6;
		if (memcmp(a, mapped, sizeof(mapped)) == 0) {
			memmove(a, a + 12, 4);
			family = AF_INET;
		}
	} else
		return 0;
	if (family != c->family)
		return 0;
	for (i = 0; i < c->prefix / 8; i++)
		if (a[i] != c->addr[i])
			return 0;
	if (c->prefix % 8 != 0) {
		uint8_t mask = (uint8_t)(0xff << (8 - c->prefix % 8));

		if ((a[i] & mask) != (c->addr[i] & mask))
			return 0;
	}
	return 1;
}

static const char *const period_names[] = { NULL, "hour", "day", "week",
    "month" };

const char *
policy_period_name(enum policy_period p)
{
	if ((int)p <= 0 || (size_t)p >= sizeof(period_names) /
	    sizeof(period_names[0]))
		return NULL;
	return period_names[p];
}

int
policy_quota_parse(const char *s, int64_t *n, enum policy_period *p)
{
	const char *slash = strchr(s, '/');
	int64_t v = 0;

	*n = 0;
	*p = POLICY_PERIOD_NONE;
	if (slash == NULL || slash == s || slash - s > 9 || s[0] == '0')
		return SN_ERR_INVALID;
	for (const char *q = s; q < slash; q++) {
		if (*q < '0' || *q > '9')
			return SN_ERR_INVALID;
		v = v * 10 + (*q - '0');
	}
	for (int i = POLICY_PERIOD_HOUR; i <= POLICY_PERIOD_MONTH; i++)
		if (strcmp(slash + 1, period_names[i]) == 0) {
			*n = v;
			*p = (enum policy_period)i;
			return 0;
		}
	return SN_ERR_INVALID;
}

void
policy_period_bounds(enum policy_period p, int64_t t, int64_t *start,
    int64_t *next)
{
	int64_t day = t >= 0 ? t / 86400 : (t - 86399) / 86400;
	struct tm tm;
	time_t tt = (time_t)t;

	switch (p) {
	case POLICY_PERIOD_HOUR:
		*start = t - ((t % 3600) + 3600) % 3600;
		*next = *start + 3600;
		return;
	case POLICY_PERIOD_WEEK:
		/* 1970-01-01 was a Thursday: Monday is 3 days before. */
		*start = (day - ((day + 3) % 7 + 7) % 7) * 86400;
		*next = *start + 7 * 86400;
		return;
	case POLICY_PERIOD_MONTH:
		gmtime_r(&tt, &tm);
		tm.tm_mday = 1;
		tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		*start = (int64_t)timegm(&tm);
		tm.tm_mon += 1;
		*next = (int64_t)timegm(&tm);
		return;
	case POLICY_PERIOD_DAY:
	default:
		*start = day * 86400;
		*next = *start + 86400;
		return;
	}
}
