/*
 * oidc_keys.c - the per-instance cache of OIDC issuers' JWKS. See
 * oidc_keys.h for the policy; this file must never fetch an issuer that the
 * caller did not find in a federation, and never holds the table lock while
 * on the network (only the one issuer's lock).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "err.h"
#include "jwks.h"
#include "jwt.h"
#include "oidc_fetch.h"
#include "oidc_keys.h"

struct issuer_ent {
	char issuer[JWT_ISS_MAX + 1];
	pthread_mutex_t lock;		/* held across a fetch of this issuer */
	struct jwks *keys;		/* NULL until the first good fetch */
	int64_t fetched_ms;		/* monotonic ms of the last good fetch */
	int64_t expires_ms;
	int64_t attempt_ms;		/* start of the last fetch attempt */
	int64_t failed_ms;		/* end of the last failed attempt */
	const char *failed_why;
	int64_t used_ms;
	int refs;			/* under ks->lock */
};

struct oidc_keys {
	pthread_mutex_t lock;
	char *ca_file;
	long timeout_ms;
	struct issuer_ent *v[OIDC_MAX_ISSUERS];
	size_t n;
	uint64_t fetches;
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
oidc_keys_new(const char *ca_file, long timeout_ms, struct oidc_keys **out)
{
	struct oidc_keys *ks;

	*out = NULL;
	if ((ks = calloc(1, sizeof(*ks))) == NULL)
		return SN_ERR_NOMEM;
	if (ca_file != NULL && ca_file[0] != '\0' &&
	    (ks->ca_file = strdup(ca_file)) == NULL) {
		free(ks);
		return SN_ERR_NOMEM;
	}
	ks->timeout_ms = timeout_ms;
	pthread_mutex_init(&ks->lock, NULL);
	*out = ks;
	return 0;
}

static void
ent_free(struct issuer_ent *e)
{
	if (e == NULL)
		return;
	jwks_free(e->keys);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

void
oidc_keys_free(struct oidc_keys *ks)
{
	size_t i;

	if (ks == NULL)
		return;
	for (i = 0; i < ks->n; i++)
		ent_free(ks->v[i]);
	pthread_mutex_destroy(&ks->lock);
	free(ks->ca_file);
	free(ks);
}

uint64_t
oidc_keys_fetches(const struct oidc_keys *ks)
{
	return ks == NULL ? 0 : __atomic_load_n(&ks->fetches, __ATOMIC_RELAXED);
}

/* Finds or makes the entry of issuer, with a reference. NULL when the table
 * is full of entries in use (or out of memory). */
static struct issuer_ent *
ent_get(struct oidc_keys *ks, const char *issuer)
{
	struct issuer_ent *e = NULL;
	size_t i, victim = OIDC_MAX_ISSUERS;

	pthread_mutex_lock(&ks->lock);
	for (i = 0; i < ks->n; i++)
		if (strcmp(ks->v[i]->issuer, issuer) == 0) {
			e = ks->v[i];
			goto found;
		}
	if (ks->n == OIDC_MAX_ISSUERS) {
		/* Evict the least recently used entry nobody holds. */
		for (i = 0; i < ks->n; i++)
			if (ks->v[i]->refs == 0 && (victim == OIDC_MAX_ISSUERS ||
			    ks->v[i]->used_ms < ks->v[victim]->used_ms))
				victim = i;
		if (victim == OIDC_MAX_ISSUERS)
			goto out;
		ent_free(ks->v[victim]);
		ks->v[victim] = ks->v[--ks->n];
	}
	if ((e = calloc(1, sizeof(*e))) == NULL)
		goto out;
	memcpy(e->issuer, issuer, strlen(issuer) + 1);
	pthread_mutex_init(&e->lock, NULL);
	ks->v[ks->n++] = e;
 found:
	e->refs++;
	e->used_ms = mono_ms();
 out:
	pthread_mutex_unlock(&ks->lock);
	return e;
}

static void
ent_put(struct oidc_keys *ks, struct issuer_ent *e)
{
	pthread_mutex_lock(&ks->lock);
	e->refs--;
	pthread_mutex_unlock(&ks->lock);
}

/* Milliseconds left before deadline, at least 1 (curl: 0 = no timeout). */
static long
left_ms(int64_t deadline)
{
	int64_t l = deadline - mono_ms();

	return l < 1 ? 1 : (long)l;
}

/* Discovery then JWKS, under e->lock. */
static int
fetch_keys(struct oidc_keys *ks, const char *issuer, struct jwks **out,
    int64_t *max_age, const char **why)
{
	int64_t deadline = mono_ms() + ks->timeout_ms, ignored;
	char url[JWT_ISS_MAX + 64], *body = NULL;
	const char *jwks_uri;
	size_t len = 0, il = strlen(issuer);
	json_t *doc = NULL, *iss, *ju;
	json_error_t e;
	int r;

	*out = NULL;
	__atomic_add_fetch(&ks->fetches, 1, __ATOMIC_RELAXED);
	while (il > 0 && issuer[il - 1] == '/')
		il--;
	snprintf(url, sizeof(url), "%.*s/.well-known/openid-configuration",
	    (int)il, issuer);
	if ((r = oidc_fetch(url, ks->ca_file, left_ms(deadline),
	    OIDC_DISCOVERY_MAX, &body, &len, &ignored, why)) != 0)
		goto out;
	r = SN_ERR_UNAVAILABLE;
	if ((doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e)) == NULL ||
	    !json_is_object(doc)) {
		*why = "the issuer's discovery document is not a JSON object";
		goto out;
	}
	/* OpenID Connect Discovery 1.0 section 4.3: issuer must match exactly. */
	iss = json_object_get(doc, "issuer");
	if (!json_is_string(iss) || strcmp(json_string_value(iss), issuer) != 0) {
		*why = "the discovery document names another issuer";
		goto out;
	}
	ju = json_object_get(doc, "jwks_uri");
	if (!json_is_string(ju) || json_string_length(ju) > 2048 ||
	    strncmp((jwks_uri = json_string_value(ju)), "https://", 8) != 0) {
		*why = "the discovery document has no https jwks_uri";
		goto out;
	}
	free(body);
	body = NULL;
	if ((r = oidc_fetch(jwks_uri, ks->ca_file, left_ms(deadline),
	    OIDC_JWKS_MAX, &body, &len, max_age, why)) != 0)
		goto out;
	if ((r = jwks_parse(body, len, out, why)) != 0) {
		r = r == SN_ERR_NOMEM ? r : SN_ERR_UNAVAILABLE;
		goto out;
	}
	r = 0;
 out:
	if (r != 0 && r != SN_ERR_NOMEM)
		r = SN_ERR_UNAVAILABLE;
	json_decref(doc);
	free(body);
	return r;
}

int
oidc_keys_get(struct oidc_keys *ks, const char *issuer, const char *kid,
    const char *alg, EVP_PKEY **out, int *fetched, const char **why)
{
	struct issuer_ent *e;
	struct jwks *fresh = NULL;
	EVP_PKEY *pk = NULL;
	int64_t start = mono_ms(), now, max_age = 0;
	int r;

	*out = NULL;
	*fetched = 0;
	*why = NULL;
	if (strlen(issuer) > JWT_ISS_MAX) {
		*why = "issuer too long";
		return SN_ERR_INVALID;
	}
	if ((e = ent_get(ks, issuer)) == NULL) {
		*why = "too many issuers in use";
		return SN_ERR_UNAVAILABLE;
	}
	pthread_mutex_lock(&e->lock);
	now = mono_ms();
	if (e->keys != NULL && now < e->expires_ms &&
	    (pk = jwks_find(e->keys, kid, alg)) != NULL)
		goto hit;
	/* Someone else fetched while we waited: reuse their result. */
	if (e->failed_ms >= start) {
		*why = e->failed_why;
		r = SN_ERR_UNAVAILABLE;
		goto out;
	}
	/* The issuer failed a moment ago: keep serving recent keys without
	 * making every request wait for it again. */
	if (e->keys != NULL && e->failed_ms > e->fetched_ms &&
	    now - e->failed_ms < OIDC_REFETCH_MIN * 1000 &&
	    now - e->fetched_ms < OIDC_STALE_MAX * 1000LL &&
	    (pk = jwks_find(e->keys, kid, alg)) != NULL)
		goto hit;
	if (e->keys != NULL && now < e->expires_ms &&
	    (e->fetched_ms >= start ||
	    now - e->attempt_ms < OIDC_REFETCH_MIN * 1000)) {
		*why = "no key of the issuer has this kid";
		r = SN_ERR_UNAUTHENTICATED;
		goto out;
	}
	e->attempt_ms = now;
	*fetched = 1;
	r = fetch_keys(ks, issuer, &fresh, &max_age, why);
	now = mono_ms();
	if (r != 0) {
		e->failed_ms = now;
		e->failed_why = *why;
		/* A failed refresh: recent keys still serve. */
		if (e->keys != NULL && now - e->fetched_ms < OIDC_STALE_MAX * 1000LL &&
		    (pk = jwks_find(e->keys, kid, alg)) != NULL)
			goto hit;
		goto out;
	}
	jwks_free(e->keys);
	e->keys = fresh;
	fresh = NULL;
	e->fetched_ms = now;
	e->expires_ms = now + max_age * 1000;
	if ((pk = jwks_find(e->keys, kid, alg)) == NULL) {
		*why = "no key of the issuer has this kid";
		r = SN_ERR_UNAUTHENTICATED;
		goto out;
	}
 hit:
	if (EVP_PKEY_up_ref(pk) != 1) {
		r = SN_ERR_CRYPTO;
		goto out;
	}
	*out = pk;
	r = 0;
 out:
	pthread_mutex_unlock(&e->lock);
	ent_put(ks, e);
	jwks_free(fresh);
	return r;
}
