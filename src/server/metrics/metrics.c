/*
 * metrics.c - the process's latency histograms (see metrics.h).
 *
 * A histogram keeps one counter per bucket (not cumulative: one relaxed
 * atomic add per observation), a count and a sum in nanoseconds; the
 * cumulative "le" series Prometheus wants are added up while rendering.
 * A scrape racing observations may see a count one ahead of its buckets;
 * each line is still a value that was true at some instant.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "alg.h"
#include "metrics.h"

/* Seconds: from a fast ECDSA signature (sub-ms) to a stuck HSM call. */
static const double bucket_s[] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
	1, 2.5, 5, 10, 30,
};
#define NBUCKETS	(sizeof(bucket_s) / sizeof(bucket_s[0]))

struct hist {
	uint64_t bucket[NBUCKETS + 1];	/* the last one: above every bound */
	uint64_t count;
	uint64_t sum_ns;
};

/* route x method x status; ~60 routes, a few statuses each in practice */
#define MAX_SERIES	1024

struct series {
	const char *route;		/* NULL = free slot */
	const char *method;
	int status;
	struct hist h;
};

static pthread_mutex_t series_mu = PTHREAD_MUTEX_INITIALIZER;
static struct series series_tab[MAX_SERIES];
static size_t nseries;

/* index = enum sn_key_alg; 0 = any other name */
#define NALGS		(SN_ALG_ED25519 + 1)
static struct hist sign_hist[NALGS];
static struct hist commit_hist;

int64_t
metrics_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
hist_add(struct hist *h, int64_t ns)
{
	double s;
	size_t i;

	if (ns < 0)
		ns = 0;
	s = (double)ns / 1e9;
	for (i = 0; i < NBUCKETS && s > bucket_s[i]; i++)
		;
	__atomic_add_fetch(&h->bucket[i], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&h->sum_ns, (uint64_t)ns, __ATOMIC_RELAXED);
	__atomic_add_fetch(&h->count, 1, __ATOMIC_RELAXED);
}

/* The series of (route, method, status), made on first use. */
static struct hist *
series_get(const char *route, const char *method, int status)
{
	struct series *s = NULL;
	size_t i;

	pthread_mutex_lock(&series_mu);
	for (i = 0; i < nseries; i++) {
		s = &series_tab[i];
		/* static strings: the same route is the same pointer, but
		 * compare the text so equal patterns of two tables merge */
		if (s->status == status && strcmp(s->route, route) == 0 &&
		    strcmp(s->method, method) == 0)
			break;
	}
	if (i == nseries) {
		if (nseries >= MAX_SERIES - 1) {
			/* the last slot gathers whatever does not fit */
			route = "overflow";
			method = "-";
			status = 0;
			for (i = 0; i < nseries; i++)
				if (strcmp(series_tab[i].route, route) == 0)
					break;
		}
		if (i == nseries) {
			s = &series_tab[nseries];
			s->route = route;
			s->method = method;
			s->status = status;
			/* published after the fields: render reads under the
			 * mutex too, so plain stores are enough */
			nseries++;
		}
		s = &series_tab[i];
	}
	pthread_mutex_unlock(&series_mu);
	return &s->h;
}

void
metrics_observe_request(const char *route, const char *method, int status,
    int64_t ns)
{
	if (route == NULL || method == NULL) {
		route = "unmatched";
		method = "-";
	}
	if (status < 100 || status > 599)
		status = 0;
	hist_add(series_get(route, method, status), ns);
}

void
metrics_observe_sign(const char *algorithm, int64_t ns)
{
	enum sn_key_alg a = algorithm != NULL ?
	    sn_key_alg_from_name(algorithm) : SN_ALG_NONE;

	hist_add(&sign_hist[(unsigned)a < NALGS ? a : SN_ALG_NONE], ns);
}

void
metrics_observe_audit_commit(int64_t ns)
{
	hist_add(&commit_hist, ns);
}

/*
 * Appends name="value" to buf (len bytes, NUL-terminated), value escaped as
 * the text format wants (\\, \" and \n). 0, or -1 when it does not fit.
 */
static int
put_label(char *buf, size_t len, const char *name, const char *v)
{
	size_t n = strlen(buf);
	int w;

	w = snprintf(buf + n, len - n, "%s%s=\"", n > 0 ? "," : "", name);
	if (w < 0 || (size_t)w >= len - n)
		return -1;
	n += (size_t)w;
	for (; *v != '\0'; v++) {
		if (n + 3 >= len)
			return -1;
		if (*v == '\\' || *v == '"' || *v == '\n')
			buf[n++] = '\\';
		buf[n++] = *v == '\n' ? 'n' : *v;
	}
	if (n + 2 > len)
		return -1;
	buf[n++] = '"';
	buf[n] = '\0';
	return 0;
}

/* labels: already formatted 'a="x",b="y"' (may be empty) */
static void
put_hist(FILE *f, const char *name, const char *labels,
    const struct hist *h)
{
	uint64_t cum = 0, count;
	size_t i;
	const char *sep = labels[0] != '\0' ? "," : "";

	for (i = 0; i <= NBUCKETS; i++) {
		cum += __atomic_load_n(&h->bucket[i], __ATOMIC_RELAXED);
		if (i < NBUCKETS)
			fprintf(f, "%s_bucket{%s%sle=\"%g\"} %llu\n", name,
			    labels, sep, bucket_s[i], (unsigned long long)cum);
	}
	fprintf(f, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
	    (unsigned long long)cum);
	/* _count is the +Inf bucket, so the two always agree */
	count = cum;
	fprintf(f, "%s_sum%s%s%s %.9f\n", name, labels[0] != '\0' ? "{" : "",
	    labels, labels[0] != '\0' ? "}" : "",
	    (double)__atomic_load_n(&h->sum_ns, __ATOMIC_RELAXED) / 1e9);
	fprintf(f, "%s_count%s%s%s %llu\n", name, labels[0] != '\0' ? "{" :
	    "", labels, labels[0] != '\0' ? "}" : "",
	    (unsigned long long)count);
}

void
metrics_render(FILE *f)
{
	char labels[512], status[8];
	size_t i;

	fputs("# HELP signet_http_request_duration_seconds Time signetd took "
	    "to answer a request (routing, authentication, handler), by route "
	    "pattern, method and status.\n"
	    "# TYPE signet_http_request_duration_seconds histogram\n", f);
	pthread_mutex_lock(&series_mu);
	for (i = 0; i < nseries; i++) {
		struct series *s = &series_tab[i];

		labels[0] = '\0';
		snprintf(status, sizeof(status), "%d", s->status);
		if (put_label(labels, sizeof(labels), "route", s->route) == 0 &&
		    put_label(labels, sizeof(labels), "method", s->method) == 0 &&
		    put_label(labels, sizeof(labels), "status", status) == 0)
			put_hist(f, "signet_http_request_duration_seconds",
			    labels, &s->h);
	}
	pthread_mutex_unlock(&series_mu);

	fputs("# HELP signet_sign_duration_seconds HSM time of one signing "
	    "request (all its digests), by key algorithm.\n"
	    "# TYPE signet_sign_duration_seconds histogram\n", f);
	for (i = 0; i < NALGS; i++) {
		const char *name = i == SN_ALG_NONE ? "other" :
		    sn_key_alg_name((enum sn_key_alg)i);

		if (name == NULL || (i == SN_ALG_NONE &&
		    __atomic_load_n(&sign_hist[i].count, __ATOMIC_RELAXED) == 0))
			continue;
		snprintf(labels, sizeof(labels), "algorithm=\"%s\"", name);
		put_hist(f, "signet_sign_duration_seconds", labels,
		    &sign_hist[i]);
	}

	fputs("# HELP signet_audit_commit_duration_seconds A signing "
	    "request's commit: re-check and group commit until its audit "
	    "event is durable.\n"
	    "# TYPE signet_audit_commit_duration_seconds histogram\n", f);
	put_hist(f, "signet_audit_commit_duration_seconds", "", &commit_hist);
}

void
metrics_reset(void)
{
	pthread_mutex_lock(&series_mu);
	memset(series_tab, 0, sizeof(series_tab));
	nseries = 0;
	memset(sign_hist, 0, sizeof(sign_hist));
	memset(&commit_hist, 0, sizeof(commit_hist));
	pthread_mutex_unlock(&series_mu);
}
