/*
 * sign_bench.c - load generator for POST /v1/keys/{id}/sign.
 *
 * N threads, each with its own signet client (so its own kept-alive HTTPS
 * connection), sign random SHA-256 digests with one key for a fixed
 * duration. Prints signatures per second and p50/p99 latency on one line:
 *
 *   sign_bench --key ID --mech ecdsa|rsa-pkcs1 --threads N --seconds S [--label L]
 *   sign_bench --get PATH --threads N --seconds S [--label L]
 *
 * --get times an authenticated GET of PATH instead (for example /v1/me):
 * the HTTPS + authentication floor every signature pays, measured in the
 * same run as the signatures.
 *
 * The service URL, credentials and CA file come from the usual client
 * configuration (SIGNET_URL, SIGNET_API_KEY, SIGNET_CA_FILE).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "err.h"
#include "util.h"

#define MAX_THREADS 64
#define MAX_SAMPLES (1 << 20)

struct worker {
	pthread_t th;
	struct sn_client *client;
	const char *key_id;
	const char *get_path;	/* --get: GET this instead of signing */
	enum sn_mech mech;
	double deadline;
	double *lat;		/* seconds per request */
	size_t nlat, cap;
	size_t errors;
	int first_err;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *
run(void *arg)
{
	struct worker *w = arg;
	uint8_t digest[32], *sig = NULL;
	size_t siglen;
	double t0, t1;
	int r;

	while ((t0 = now_s()) < w->deadline) {
		if (sn_random_bytes(digest, sizeof(digest)) != 0)
			break;
		if (w->get_path != NULL) {
			json_t *resp = NULL;

			r = sn_client_json(w->client, "GET", w->get_path, NULL,
			    NULL, &resp);
			json_decref(resp);
		} else
			r = sn_client_sign(w->client, w->key_id, w->mech,
			    SN_HASH_SHA256, digest, sizeof(digest), &sig,
			    &siglen);
		t1 = now_s();
		free(sig);
		sig = NULL;
		if (r != 0) {
			if (w->errors++ == 0)
				w->first_err = r;
			continue;
		}
		if (w->nlat < w->cap)
			w->lat[w->nlat++] = t1 - t0;
	}
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void
usage(void)
{
	fprintf(stderr, "usage: sign_bench --key ID --mech ecdsa|rsa-pkcs1|rsa-pss "
	    "--threads N --seconds S [--label TEXT]\n"
	    "       sign_bench --get PATH --threads N --seconds S [--label TEXT]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct sn_client_config cfg;
	struct worker w[MAX_THREADS];
	const char *key = NULL, *label = "", *get_path = NULL;
	enum sn_mech mech = SN_MECH_NONE;
	long long threads = 1, seconds = 5;
	double *all = NULL, t_start, elapsed;
	size_t total = 0, errors = 0;
	int first_err = 0;

	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--key") == 0)
			key = argv[++i];
		else if (strcmp(argv[i], "--mech") == 0)
			mech = sn_mech_from_name(argv[++i]);
		else if (strcmp(argv[i], "--threads") == 0) {
			if (sn_parse_int(argv[++i], 1, MAX_THREADS, &threads) != 0)
				usage();
		} else if (strcmp(argv[i], "--seconds") == 0) {
			if (sn_parse_int(argv[++i], 1, 600, &seconds) != 0)
				usage();
		} else if (strcmp(argv[i], "--label") == 0)
			label = argv[++i];
		else if (strcmp(argv[i], "--get") == 0)
			get_path = argv[++i];
		else
			usage();
	}
	if (get_path != NULL ? key != NULL || get_path[0] != '/' :
	    key == NULL || mech == SN_MECH_NONE)
		usage();

	memset(&cfg, 0, sizeof(cfg));
	memset(w, 0, sizeof(w));
	if (sn_config_load(&cfg) != 0) {
		fprintf(stderr, "sign_bench: cannot load client configuration\n");
		return 1;
	}
	t_start = now_s();
	for (long long i = 0; i < threads; i++) {
		w[i].key_id = key;
		w[i].get_path = get_path;
		w[i].mech = mech;
		w[i].deadline = t_start + (double)seconds;
		w[i].cap = MAX_SAMPLES / (size_t)threads;
		if ((w[i].lat = calloc(w[i].cap, sizeof(double))) == NULL ||
		    sn_client_new(&cfg, &w[i].client) != 0) {
			fprintf(stderr, "sign_bench: cannot create client\n");
			return 1;
		}
	}
	for (long long i = 0; i < threads; i++)
		pthread_create(&w[i].th, NULL, run, &w[i]);
	for (long long i = 0; i < threads; i++)
		pthread_join(w[i].th, NULL);
	elapsed = now_s() - t_start;

	for (long long i = 0; i < threads; i++)
		total += w[i].nlat;
	if ((all = calloc(total + 1, sizeof(double))) == NULL)
		return 1;
	total = 0;
	for (long long i = 0; i < threads; i++) {
		memcpy(all + total, w[i].lat, w[i].nlat * sizeof(double));
		total += w[i].nlat;
		errors += w[i].errors;
		if (first_err == 0)
			first_err = w[i].first_err;
		free(w[i].lat);
		sn_client_free(w[i].client);
	}
	qsort(all, total, sizeof(double), cmp_double);
	printf("%-28s threads=%-3lld sigs/s=%9.1f  p50=%7.2f ms  p99=%7.2f ms  n=%zu errors=%zu%s%s\n",
	    label, threads, (double)total / elapsed,
	    total ? all[total / 2] * 1e3 : 0.0,
	    total ? all[(total * 99) / 100 < total ? (total * 99) / 100 : total - 1] * 1e3 : 0.0,
	    total, errors, errors ? " first_error=" : "",
	    errors ? sn_strerror(first_err) : "");
	free(all);
	sn_config_clear(&cfg);
	return errors && total == 0 ? 1 : 0;
}
