/*
 * webhooks.c - notifications of approvals to the tenant's HTTPS receivers
 * (docs/POLICIES.md, "Webhooks"):
 *
 *   POST   /v1/webhooks {"url","events"}   admin: 201 with the secret, once
 *   GET    /v1/webhooks, /v1/webhooks/{id} admin
 *   DELETE /v1/webhooks/{id}               admin
 *   GET    /v1/webhooks/{id}/deliveries    admin: every attempt recorded
 *
 * webhooks_notify queues an event for every subscribed webhook inside the
 * caller's transaction (so an event is queued exactly when the change that
 * causes it commits); one thread per instance (webhooks_start) sends what
 * is due: it claims a delivery with a guarded UPDATE (two instances on one
 * PostgreSQL never send the same attempt), POSTs it holding no database
 * connection, records the attempt, and retries a failure with exponential
 * backoff. Nothing here runs on the signing path: a slow or dead receiver
 * delays only this thread. The same thread queues approval.expired for
 * approvals whose TTL ran out (expiry is otherwise computed on read).
 *
 * What must never happen: the secret in a log line or an answer other than
 * the 201 that creates it; a request to anything but https (no redirects).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "api.h"
#include "audit.h"
#include "db.h"
#include "encode.h"
#include "err.h"
#include "policies.h"
#include "server.h"
#include "store.h"
#include "store_approvals.h"
#include "store_webhooks.h"
#include "util.h"
#include "webhooks.h"

#define WEBHOOK_URL_MAX		2048
#define WEBHOOK_PER_TENANT_MAX	32
#define WEBHOOK_TIMEOUT_MS	10000L
#define WEBHOOK_LEASE		60	/* s a claim lasts: > the timeout */
#define WEBHOOK_BACKOFF_MAX	3600
#define WEBHOOK_BATCH		16

static const char *const known_events[] = { "approval.requested",
    "approval.decided", "approval.expired", NULL };

/* ---- the sender thread */

static pthread_mutex_t wh_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wh_cv = PTHREAD_COND_INITIALIZER;
static pthread_t wh_thread;
static int wh_running, wh_stop, wh_kicked;
static char wh_claimer[48];

void
webhooks_kick(void)
{
	pthread_mutex_lock(&wh_mu);
	wh_kicked = 1;
	pthread_cond_broadcast(&wh_cv);
	pthread_mutex_unlock(&wh_mu);
}

int
webhooks_notify(struct db_conn *c, const char *tenant_id,
    const char *event_type, json_t *data)
{
	json_t *ev;
	char *id = NULL, *txt = NULL;
	int r;

	if ((r = sn_new_id("evt", &id)) != 0)
		return r;
	ev = json_pack("{s:s, s:s, s:s, s:o, s:O}", "id", id, "type",
	    event_type, "tenant", tenant_id, "created_at",
	    store_time_json(sn_now()), "data", data);
	if (ev == NULL || (txt = json_dumps(ev, JSON_COMPACT)) == NULL)
		r = SN_ERR_NOMEM;
	else
		r = store_webhook_enqueue(c, tenant_id, id, event_type, txt,
		    sn_now());
	json_decref(ev);
	free(txt);
	free(id);
	return r;
}

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/* Shutdown does not wait for a slow receiver: the transfer is aborted. */
static int
on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
    curl_off_t un)
{
	(void)arg;
	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	return __atomic_load_n(&wh_stop, __ATOMIC_RELAXED) ? 1 : 0;
}

/* POSTs d; *status the HTTP status (0 if none), err a reason. */
static void
post(const struct sn_server *srv, const struct store_delivery *d,
    long *status, char *err, size_t errlen)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	struct curl_slist *h = NULL;
	char line[256], *hex = NULL;
	CURL *cu;
	CURLcode rc;

	*status = 0;
	err[0] = '\0';
	if (HMAC(EVP_sha256(), d->secret, (int)strlen(d->secret),
	    (const unsigned char *)d->payload, strlen(d->payload), mac,
	    &maclen) == NULL || sn_hex_encode(mac, maclen, &hex) != 0) {
		snprintf(err, errlen, "cannot compute the signature");
		return;
	}
	if ((cu = curl_easy_init()) == NULL) {
		free(hex);
		snprintf(err, errlen, "out of memory");
		return;
	}
	h = curl_slist_append(h, "Content-Type: application/json");
	snprintf(line, sizeof(line), "X-Signet-Signature: sha256=%s", hex);
	h = curl_slist_append(h, line);
	snprintf(line, sizeof(line), "X-Signet-Event: %s", d->event_type);
	h = curl_slist_append(h, line);
	snprintf(line, sizeof(line), "X-Signet-Event-Id: %s", d->event_id);
	h = curl_slist_append(h, line);
	snprintf(line, sizeof(line), "X-Signet-Delivery: %s", d->id);
	h = curl_slist_append(h, line);
	h = curl_slist_append(h, "Expect:");
	if (curl_easy_setopt(cu, CURLOPT_URL, d->url) != CURLE_OK ||
	    curl_easy_setopt(cu, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK ||
	    curl_easy_setopt(cu, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(cu, CURLOPT_TIMEOUT_MS, WEBHOOK_TIMEOUT_MS) !=
	    CURLE_OK ||
	    curl_easy_setopt(cu, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(cu, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    curl_easy_setopt(cu, CURLOPT_SSLVERSION,
	    (long)CURL_SSLVERSION_TLSv1_2) != CURLE_OK ||
	    curl_easy_setopt(cu, CURLOPT_USERAGENT, "signetd-webhook") !=
	    CURLE_OK ||
	    curl_easy_setopt(cu, CURLOPT_HTTPHEADER, h) != CURLE_OK ||
	    curl_easy_setopt(cu, CURLOPT_POSTFIELDS, d->payload) != CURLE_OK ||
	    curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, discard) != CURLE_OK ||
	    curl_easy_setopt(cu, CURLOPT_XFERINFOFUNCTION, on_progress) !=
	    CURLE_OK ||
	    curl_easy_setopt(cu, CURLOPT_NOPROGRESS, 0L) != CURLE_OK ||
	    (srv->cfg.webhook_ca_file != NULL &&
	    curl_easy_setopt(cu, CURLOPT_CAINFO, srv->cfg.webhook_ca_file) !=
	    CURLE_OK)) {
		snprintf(err, errlen, "cannot set up the request");
		goto out;
	}
	if ((rc = curl_easy_perform(cu)) != CURLE_OK)
		snprintf(err, errlen, "%s", curl_easy_strerror(rc));
	curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, status);
	if (err[0] == '\0' && (*status < 200 || *status > 299))
		snprintf(err, errlen, "HTTP %ld", *status);
 out:
	curl_slist_free_all(h);
	curl_easy_cleanup(cu);
	free(hex);
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One due delivery: claim, send (no connection held), record. */
static void
deliver(struct sn_server *srv, const char *id)
{
	struct store_delivery d;
	struct db_conn *c = NULL;
	char err[256];
	long status;
	int64_t t0, now = sn_now(), attempt, next = 0, backoff;
	int ok, r;

	memset(&d, 0, sizeof(d));
	if (db_acquire(srv->db, &c) != 0)
		return;
	r = store_delivery_claim(c, id, wh_claimer, now, now + WEBHOOK_LEASE,
	    &d);
	db_release(c);
	c = NULL;
	if (r != 0)
		return;		/* another instance has it, or it is gone */
	t0 = mono_ms();
	post(srv, &d, &status, err, sizeof(err));
	ok = err[0] == '\0';
	attempt = d.attempts + 1;
	if (!ok && attempt < srv->cfg.webhook_max_attempts) {
		backoff = srv->cfg.webhook_retry_base;
		for (int64_t i = 1; i < attempt && backoff < WEBHOOK_BACKOFF_MAX;
		    i++)
			backoff *= 2;
		if (backoff > WEBHOOK_BACKOFF_MAX)
			backoff = WEBHOOK_BACKOFF_MAX;
		next = sn_now() + backoff;
	}
	if (db_acquire(srv->db, &c) == 0) {
		if (store_delivery_finish(c, d.id, wh_claimer, attempt, sn_now(),
		    (int)status, ok ? NULL : err, mono_ms() - t0, ok, next) != 0)
			fprintf(stderr, "signetd: webhook delivery %s: could not "
			    "record attempt %lld\n", d.id, (long long)attempt);
		db_release(c);
	}
	store_delivery_clear(&d);
}

/* approval.expired for approvals whose TTL ran out, once each. */
static void
sweep_expired(struct sn_server *srv)
{
	struct db_conn *c = NULL;
	json_t *list = NULL, *a;
	size_t i;

	if (db_acquire(srv->db, &c) != 0)
		return;
	if (store_approvals_expired(c, sn_now(), 50, &list) != 0)
		goto out;
	json_array_foreach(list, i, a) {
		const char *id = json_string_value(json_object_get(a, "id"));
		const char *tenant = json_string_value(json_object_get(a,
		    "tenant_id"));
		struct store_approval ap;
		json_t *data = NULL;

		if (id == NULL || tenant == NULL || db_begin(c) != 0)
			continue;
		/* The approval object as GET /v1/approvals/{id} shows it. */
		if (store_approval_get(c, tenant, id, &ap) == 0) {
			if (approvals_object(c, tenant, &ap, &data) != 0)
				data = NULL;
			store_approval_clear(&ap);
		}
		if (data == NULL || store_approval_expiry_notified(c, id) != 0 ||
		    webhooks_notify(c, tenant, "approval.expired", data) != 0 ||
		    db_commit(c) != 0)
			db_rollback(c);
		json_decref(data);
	}
 out:
	json_decref(list);
	db_release(c);
}

static void *
sender(void *arg)
{
	struct sn_server *srv = arg;
	struct store_ids ids = { NULL, 0 };
	struct db_conn *c = NULL;
	struct timespec ts;
	size_t i;

	pthread_mutex_lock(&wh_mu);
	while (!wh_stop) {
		wh_kicked = 0;
		pthread_mutex_unlock(&wh_mu);
		sweep_expired(srv);
		if (db_acquire(srv->db, &c) == 0) {
			if (store_delivery_due(c, sn_now(), WEBHOOK_BATCH,
			    &ids) != 0)
				ids.n = 0;
			db_release(c);
			c = NULL;
			for (i = 0; i < ids.n; i++)
				deliver(srv, ids.v[i]);
			store_ids_free(&ids);
		}
		pthread_mutex_lock(&wh_mu);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		while (!wh_stop && !wh_kicked &&
		    pthread_cond_timedwait(&wh_cv, &wh_mu, &ts) == 0)
			;
	}
	pthread_mutex_unlock(&wh_mu);
	return NULL;
}

int
webhooks_start(struct sn_server *srv)
{
	uint8_t rnd[8];
	char *hex = NULL;
	int r = 0;

	if (sn_random_bytes(rnd, sizeof(rnd)) != 0 ||
	    sn_hex_encode(rnd, sizeof(rnd), &hex) != 0)
		return SN_ERR_INTERNAL;
	pthread_mutex_lock(&wh_mu);
	snprintf(wh_claimer, sizeof(wh_claimer), "inst_%s", hex);
	if (!wh_running) {
		wh_stop = 0;
		if (pthread_create(&wh_thread, NULL, sender, srv) != 0)
			r = SN_ERR_NOMEM;
		else
			wh_running = 1;
	}
	pthread_mutex_unlock(&wh_mu);
	free(hex);
	return r;
}

void
webhooks_stop(void)
{
	pthread_mutex_lock(&wh_mu);
	if (!wh_running) {
		pthread_mutex_unlock(&wh_mu);
		return;
	}
	__atomic_store_n(&wh_stop, 1, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&wh_cv);
	pthread_mutex_unlock(&wh_mu);
	pthread_join(wh_thread, NULL);
	pthread_mutex_lock(&wh_mu);
	wh_running = 0;
	pthread_mutex_unlock(&wh_mu);
}

/* ---- the endpoints */

/* https://HOST[:PORT]/…, printable, no spaces. */
static int
valid_url(const char *u)
{
	CURLU *h;
	char *scheme = NULL, *host = NULL;
	int ok = 0;

	if (strncmp(u, "https://", 8) != 0 || strlen(u) > WEBHOOK_URL_MAX)
		return 0;
	for (const char *p = u; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return 0;
	if ((h = curl_url()) == NULL)
		return 0;
	if (curl_url_set(h, CURLUPART_URL, u, 0) == CURLUE_OK &&
	    curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(h, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    strcmp(scheme, "https") == 0 && host[0] != '\0')
		ok = 1;
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(h);
	return ok;
}

/* "events": an array of known names (or one comma-separated string),
 * no repeats -> "a,b". */
static int
get_events(struct sn_response *resp, json_t *v, char *out, size_t len)
{
	json_t *arr = NULL, *e;
	size_t i, j, o = 0;
	int r = 0;

	out[0] = '\0';
	if (json_is_string(v)) {
		const char *s = json_string_value(v), *comma;

		if (strlen(s) != json_string_length(v) ||
		    (arr = json_array()) == NULL)
			return api_error(resp, SN_ERR_INVALID, "field 'events' "
			    "must list approval.requested, approval.decided, "
			    "approval.expired");
		while (*s != '\0') {
			comma = strchr(s, ',');
			json_array_append_new(arr, json_stringn(s, comma != NULL ?
			    (size_t)(comma - s) : strlen(s)));
			s = comma != NULL ? comma + 1 : s + strlen(s);
		}
	} else if (json_is_array(v))
		arr = json_incref(v);
	if (arr == NULL || json_array_size(arr) == 0) {
		json_decref(arr);
		return api_error(resp, SN_ERR_INVALID, "field 'events' must list "
		    "approval.requested, approval.decided, approval.expired");
	}
	json_array_foreach(arr, i, e) {
		const char *name = json_string_value(e);

		for (j = 0; name != NULL && known_events[j] != NULL; j++)
			if (strcmp(name, known_events[j]) == 0)
				break;
		if (name == NULL || known_events[j] == NULL) {
			r = api_error(resp, SN_ERR_INVALID, "events[%zu]: unknown "
			    "event; use approval.requested, approval.decided, "
			    "approval.expired", i);
			break;
		}
		if (strstr(out, name) != NULL) {
			r = api_error(resp, SN_ERR_INVALID, "events[%zu]: %s is "
			    "listed twice", i, name);
			break;
		}
		o += (size_t)snprintf(out + o, len - o, "%s%s", o ? "," : "",
		    name);
	}
	json_decref(arr);
	return r;
}

static int
webhook_create(struct sn_request *req, struct sn_response *resp)
{
	static const char *const allowed[] = { "url", "events", NULL };
	struct db_conn *c = NULL;
	const char *url = NULL;
	json_t *d = NULL, *w = NULL, *all = NULL;
	uint8_t rnd[32];
	char events[128], *id = NULL, *hex = NULL, secret[80];
	int r;

	secret[0] = '\0';
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	d = json_object();
	if ((r = api_authz(c, req, resp, AUTHZ_TENANT_ADMIN, NULL,
	    "webhook")) != 0)
		goto out;
	if ((r = api_require_body(req, resp)) != 0 ||
	    (r = api_body(req, resp, allowed)) != 0 ||
	    (r = api_get_string(resp, req->body, "url", 1, WEBHOOK_URL_MAX + 1,
	    &url)) != 0)
		goto out;
	if (!valid_url(url)) {
		r = api_error(resp, SN_ERR_INVALID, "field 'url' must be an "
		    "https:// URL (at most %d characters, no spaces)",
		    WEBHOOK_URL_MAX);
		goto out;
	}
	json_object_set_new(d, "url", json_string(url));
	if ((r = get_events(resp, json_object_get(req->body, "events"), events,
	    sizeof(events))) != 0)
		goto out;
	json_object_set_new(d, "events", json_string(events));
	if ((r = store_webhook_list(c, req->actor.tenant_id, &all)) != 0) {
		r = api_store_error(resp, r, "webhook");
		goto out;
	}
	if (json_array_size(all) >= WEBHOOK_PER_TENANT_MAX) {
		r = api_error(resp, SN_ERR_CONFLICT, "a tenant has at most %d "
		    "webhooks", WEBHOOK_PER_TENANT_MAX);
		goto out;
	}
	if ((r = sn_new_id("whk", &id)) != 0 ||
	    (r = sn_random_bytes(rnd, sizeof(rnd))) != 0 ||
	    (r = sn_hex_encode(rnd, sizeof(rnd), &hex)) != 0) {
		r = api_error(resp, SN_ERR_INTERNAL, "cannot make a secret");
		goto out;
	}
	snprintf(secret, sizeof(secret), "whsec_%s", hex);
	if ((r = api_begin(c, resp)) != 0)
		goto out;
	if ((r = store_webhook_insert(c, req->actor.tenant_id, id, url, events,
	    secret, req->actor.id, sn_now())) != 0) {
		r = api_store_error(resp, r, "webhook");
		goto out;
	}
	if ((r = api_commit_audited(c, req, resp, "webhook.create", "webhook",
	    id, d)) != 0)
		goto out;
	if ((r = store_webhook_get(c, req->actor.tenant_id, id, &w)) != 0) {
		r = api_store_error(resp, r, "webhook");
		goto out;
	}
	/* The secret leaves once, here. */
	r = api_json(resp, 201, json_pack("{s:o, s:s}", "webhook", w, "secret",
	    secret));
 out:
	if (r != 0)
		audit_refusal(c, req, resp, "webhook.create", "webhook",
		    id != NULL ? id : "", d);
	explicit_bzero(secret, sizeof(secret));
	explicit_bzero(rnd, sizeof(rnd));
	if (hex != NULL)
		sn_freezero(hex, strlen(hex));
	json_decref(all);
	json_decref(d);
	free(id);
	db_release(c);
	return r;
}

static int
webhook_list(struct sn_request *req, struct sn_response *resp)
{
	struct db_conn *c = NULL;
	json_t *a = NULL;
	int r;

	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	if ((r = api_authz(c, req, resp, AUTHZ_TENANT_ADMIN, NULL,
	    "webhook")) == 0) {
		if ((r = store_webhook_list(c, req->actor.tenant_id, &a)) != 0)
			r = api_store_error(resp, r, "webhook");
		else
			r = api_json(resp, 200, json_pack("{s:o}", "webhooks", a));
	}
	db_release(c);
	return r;
}

static int
webhook_show(struct sn_request *req, struct sn_response *resp)
{
	struct db_conn *c = NULL;
	json_t *w = NULL;
	int r;

	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	if ((r = api_authz(c, req, resp, AUTHZ_TENANT_ADMIN, NULL,
	    "webhook")) == 0) {
		if ((r = store_webhook_get(c, req->actor.tenant_id,
		    req->params[0], &w)) != 0)
			r = api_store_error(resp, r, "webhook");
		else
			r = api_json(resp, 200, json_pack("{s:o}", "webhook", w));
	}
	db_release(c);
	return r;
}

static int
webhook_delete(struct sn_request *req, struct sn_response *resp)
{
	struct db_conn *c = NULL;
	json_t *w = NULL, *d = json_object();
	int r;

	if ((r = api_conn(req, resp, &c)) != 0) {
		json_decref(d);
		return r;
	}
	if ((r = api_authz(c, req, resp, AUTHZ_TENANT_ADMIN, NULL,
	    "webhook")) != 0)
		goto out;
	if (req->body != NULL && json_is_object(req->body) &&
	    json_object_size(req->body) != 0) {
		r = api_error(resp, SN_ERR_INVALID, "this request takes no "
		    "fields");
		goto out;
	}
	if ((r = api_begin(c, resp)) != 0)
		goto out;
	if ((r = store_webhook_get(c, req->actor.tenant_id, req->params[0],
	    &w)) != 0 || (r = store_webhook_delete(c, req->actor.tenant_id,
	    req->params[0])) != 0) {
		r = api_store_error(resp, r, "webhook");
		goto out;
	}
	json_object_set(d, "url", json_object_get(w, "url"));
	if ((r = api_commit_audited(c, req, resp, "webhook.delete", "webhook",
	    req->params[0], d)) != 0)
		goto out;
	r = api_json(resp, 200, json_pack("{s:O}", "webhook", w));
 out:
	if (r != 0)
		audit_refusal(c, req, resp, "webhook.delete", "webhook",
		    req->params[0], d);
	json_decref(w);
	json_decref(d);
	db_release(c);
	return r;
}

static int
webhook_deliveries(struct sn_request *req, struct sn_response *resp)
{
	const char *lim = api_query(req, "limit");
	struct db_conn *c = NULL;
	json_t *w = NULL, *a = NULL;
	int64_t limit = 100;
	int r;

	if (lim != NULL) {
		char *end;
		long long v = strtoll(lim, &end, 10);

		if (*lim == '\0' || *end != '\0' || v < 1 || v > 1000)
			return api_error(resp, SN_ERR_INVALID, "limit must be 1 "
			    "to 1000");
		limit = v;
	}
	if ((r = api_conn(req, resp, &c)) != 0)
		return r;
	if ((r = api_authz(c, req, resp, AUTHZ_TENANT_ADMIN, NULL,
	    "webhook")) != 0)
		goto out;
	if ((r = store_webhook_get(c, req->actor.tenant_id, req->params[0],
	    &w)) != 0 || (r = store_webhook_deliveries(c, req->actor.tenant_id,
	    req->params[0], limit, &a)) != 0) {
		r = api_store_error(resp, r, "webhook");
		goto out;
	}
	r = api_json(resp, 200, json_pack("{s:O, s:o}", "webhook", w,
	    "deliveries", a));
 out:
	json_decref(w);
	db_release(c);
	return r;
}

const struct api_route api_routes_webhooks[] = {
	{ "POST", "/v1/webhooks", webhook_create, API_AUTH },
	{ "GET", "/v1/webhooks", webhook_list, API_AUTH },
	{ "GET", "/v1/webhooks/{id}", webhook_show, API_AUTH },
	{ "DELETE", "/v1/webhooks/{id}", webhook_delete, API_AUTH },
	{ "GET", "/v1/webhooks/{id}/deliveries", webhook_deliveries, API_AUTH },
	{ NULL, NULL, NULL, API_PUBLIC },
};
