/*
 * policy_tz.c - local time in a named zone, for signing windows.
 *
 * The C library knows only one zone at a time (TZ, read by tzset), which
 * is process-wide state: changing it under a running server is not
 * thread-safe by itself. So: every use of TZ here is under one mutex, and
 * the answer is cached per zone per UTC hour (the offset of the hour's
 * first and last second, if equal: zone transitions are never less than an
 * hour apart), so the lock and the zoneinfo read are taken about once per
 * zone per hour, not once per signature. Nothing else in signetd calls
 * localtime; TZ is put back to what it was after every use (an unset TZ
 * becomes ":/etc/localtime", which glibc treats the same, so the
 * environment array is grown once and never shrunk under other threads'
 * getenv).
 *
 * Zone names are checked against the zoneinfo files themselves (TZDIR or
 * /usr/share/zoneinfo): tzset silently falls back to UTC for an unknown
 * name, which would make a window quietly wrong.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "policy.h"

#define TZ_CACHE_SLOTS	64

struct tz_slot {
	char zone[POLICY_ZONE_MAX];
	int64_t hour;			/* t / 3600 */
	long gmtoff;
	int used;
};

static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tz_slot tz_cache[TZ_CACHE_SLOTS];

static const char *
tz_dir(void)
{
	const char *d = getenv("TZDIR");

	return d != NULL && d[0] == '/' ? d : "/usr/share/zoneinfo";
}

/* A zone name: [A-Za-z0-9_+-] segments separated by '/', none "." or "..". */
static int
zone_name_ok(const char *z)
{
	size_t n = strlen(z), seg = 0;

	if (n == 0 || n >= POLICY_ZONE_MAX || z[0] == '/' || z[n - 1] == '/')
		return 0;
	for (size_t i = 0; i <= n; i++) {
		char ch = z[i];

		if (ch == '/' || ch == '\0') {
			if (seg == 0 || z[i - seg] == '.')
				return 0;
			seg = 0;
			continue;
		}
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '_' || ch == '+' ||
		    ch == '-' || ch == '.'))
			return 0;
		seg++;
	}
	return 1;
}

int
policy_tz_valid(const char *zone)
{
	char path[512], magic[4];
	struct stat sb;
	ssize_t got;
	int fd, ok = 0;

	if (zone == NULL || !zone_name_ok(zone))
		return 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", tz_dir(), zone) >=
	    sizeof(path))
		return 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 &&
	    (errno != ELOOP ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0))	/* posix/ links */
		return 0;
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    (got = read(fd, magic, sizeof(magic))) == (ssize_t)sizeof(magic) &&
	    memcmp(magic, "TZif", 4) == 0)
		ok = 1;
	close(fd);
	return ok;
}

/* The UTC offset of zone at t; tz_lock held. */
static int
offset_locked(const char *zone, time_t t, long *off)
{
	const char *old = getenv("TZ");
	char saved[256], tz[POLICY_ZONE_MAX + 1];
	struct tm tm;
	int r = 0;

	if (old != NULL && strlen(old) < sizeof(saved))
		memcpy(saved, old, strlen(old) + 1);
	else
		snprintf(saved, sizeof(saved), ":/etc/localtime");
	snprintf(tz, sizeof(tz), ":%s", zone);
	if (setenv("TZ", tz, 1) != 0)
		return SN_ERR_NOMEM;
	tzset();
	if (localtime_r(&t, &tm) == NULL)
		r = SN_ERR_INVALID;
	else
		*off = tm.tm_gmtoff;
	(void)setenv("TZ", saved, 1);
	tzset();
	return r;
}

static int
zone_offset(const char *zone, int64_t t, long *off)
{
	int64_t hour = t / 3600;
	unsigned h = 5381;
	struct tz_slot *s;
	long a = 0, b = 0;
	int r;

	for (const char *p = zone; *p != '\0'; p++)
		h = h * 33 + (unsigned char)*p;
	s = &tz_cache[(h + (unsigned)hour) % TZ_CACHE_SLOTS];
	pthread_mutex_lock(&tz_lock);
	if (s->used && s->hour == hour && strcmp(s->zone, zone) == 0) {
		*off = s->gmtoff;
		pthread_mutex_unlock(&tz_lock);
		return 0;
	}
	if (!policy_tz_valid(zone)) {
		pthread_mutex_unlock(&tz_lock);
		return SN_ERR_INVALID;
	}
	if ((r = offset_locked(zone, (time_t)(hour * 3600), &a)) == 0 &&
	    (r = offset_locked(zone, (time_t)(hour * 3600 + 3599), &b)) == 0) {
		if (a == b) {
			snprintf(s->zone, sizeof(s->zone), "%s", zone);
			s->hour = hour;
			s->gmtoff = a;
			s->used = 1;
			*off = a;
		} else		/* a transition inside this hour: no cache */
			r = offset_locked(zone, (time_t)t, off);
	}
	pthread_mutex_unlock(&tz_lock);
	return r;
}

int
policy_tz_local(const char *zone, int64_t t, int *wday, int *minute)
{
	struct tm tm;
	time_t lt;
	long off = 0;
	int r;

	if (zone == NULL || !zone_name_ok(zone))
		return SN_ERR_INVALID;
	if ((r = zone_offset(zone, t, &off)) != 0)
		return r;
	lt = (time_t)(t + off);
	if (gmtime_r(&lt, &tm) == NULL)
		return SN_ERR_INVALID;
	*wday = tm.tm_wday;
	*minute = tm.tm_hour * 60 + tm.tm_min;
	return 0;
}

int
policy_window_contains(const struct policy_window *w, int64_t t)
{
	int wday, minute;

	if (policy_tz_local(w->zone, t, &wday, &minute) != 0)
		return 0;
	return (w->days & (1u << wday)) != 0 && minute >= w->start_min &&
	    minute < w->end_min;
}
