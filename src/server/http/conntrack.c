/*
 * conntrack.c - total deadlines for the slow phases of a connection, and
 * room for new clients when the connection budget runs out (conntrack.h).
 *
 * libmicrohttpd's connection timeout is an idle timer that every byte
 * resets, so a client trickling one byte a second holds a connection (and
 * its thread) for ever, and a few addresses doing that fill every slot.
 * Here each connection has a phase and the time it entered it; a watchdog
 * thread shuts down (shutdown(2), MHD then closes it) any connection that
 * stays too long in:
 *   - HEAD  TLS handshake + request line + headers of its first request;
 *   - BODY  the request body;
 *   - IDLE  between requests on a kept-alive connection (the next request's
 *           headers included).
 * BUSY (the handler runs, the response is sent) has no deadline here: the
 * handler's own calls are bounded (keeper, database).
 *
 * When the connections in use pass max - reserve, each new connection
 * first drops the oldest incomplete (HEAD/BODY/IDLE) connection of the
 * address that holds the most incomplete ones, so one busy or hostile
 * address gives way to a new client instead of the new client being
 * refused at the door.
 *
 * The socket is dup()ed at open: shutdown() goes to our own descriptor,
 * which keeps the socket alive until conntrack_close, so a descriptor
 * number MHD has closed and the kernel reused is never touched.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "conntrack.h"
#include "err.h"

struct conntrack_entry {
	struct conntrack_entry *prev, *next;
	int fd;				/* our dup of the connection's socket */
	char ip[CONNTRACK_IP_MAX];
	enum conntrack_phase phase;
	int64_t since_ms;		/* when the phase began (monotonic) */
	int64_t opened_ms;
	int dropped;			/* shutdown() done once */
};

struct conntrack {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t watchdog;
	int running;
	int stop;
	struct conntrack_entry *head;
	size_t n;
	size_t max;
	size_t reserve;
	int64_t head_ms, body_ms, idle_ms;
	uint64_t n_deadline, n_evicted;
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* With ct->mu held. */
static void
drop(struct conntrack *ct, struct conntrack_entry *e)
{
	(void)ct;
	if (e->dropped || e->fd < 0)
		return;
	e->dropped = 1;
	(void)shutdown(e->fd, SHUT_RDWR);
}

static int
incomplete(const struct conntrack_entry *e)
{
	return !e->dropped && e->phase != CONNTRACK_BUSY;
}

static int64_t
deadline_of(const struct conntrack *ct, const struct conntrack_entry *e)
{
	switch (e->phase) {
	case CONNTRACK_HEAD:
		return ct->head_ms;
	case CONNTRACK_BODY:
		return ct->body_ms;
	case CONNTRACK_IDLE:
		return ct->idle_ms;
	default:
		return -1;
	}
}

static void *
watchdog(void *arg)
{
	struct conntrack *ct = arg;
	struct conntrack_entry *e;
	struct timespec until;
	int64_t now, dl;

	pthread_mutex_lock(&ct->mu);
	while (!ct->stop) {
		now = now_ms();
		for (e = ct->head; e != NULL; e = e->next) {
			dl = deadline_of(ct, e);
			if (dl >= 0 && !e->dropped && now - e->since_ms > dl) {
				drop(ct, e);
				ct->n_deadline++;
			}
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 200 * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		(void)pthread_cond_timedwait(&ct->cv, &ct->mu, &until);
	}
	pthread_mutex_unlock(&ct->mu);
	return NULL;
}

int
conntrack_new(size_t max, int head_secs, int body_secs, int idle_secs,
    struct conntrack **out)
{
	struct conntrack *ct;

	*out = NULL;
	if (max == 0 || head_secs <= 0 || body_secs <= 0 || idle_secs <= 0)
		return SN_ERR_INVALID;
	if ((ct = calloc(1, sizeof(*ct))) == NULL)
		return SN_ERR_NOMEM;
	pthread_mutex_init(&ct->mu, NULL);
	pthread_cond_init(&ct->cv, NULL);
	ct->max = max;
	ct->reserve = max >= 16 ? max / 8 : 1;
	ct->head_ms = (int64_t)head_secs * 1000;
	ct->body_ms = (int64_t)body_secs * 1000;
	ct->idle_ms = (int64_t)idle_secs * 1000;
	if (pthread_create(&ct->watchdog, NULL, watchdog, ct) != 0) {
		pthread_cond_destroy(&ct->cv);
		pthread_mutex_destroy(&ct->mu);
		free(ct);
		return SN_ERR_NOMEM;
	}
	ct->running = 1;
	*out = ct;
	return 0;
}

void
conntrack_free(struct conntrack *ct)
{
	struct conntrack_entry *e, *next;

	if (ct == NULL)
		return;
	pthread_mutex_lock(&ct->mu);
	ct->stop = 1;
	pthread_cond_broadcast(&ct->cv);
	pthread_mutex_unlock(&ct->mu);
	if (ct->running)
		pthread_join(ct->watchdog, NULL);
	for (e = ct->head; e != NULL; e = next) {
		next = e->next;
		if (e->fd >= 0)
			close(e->fd);
		free(e);
	}
	pthread_cond_destroy(&ct->cv);
	pthread_mutex_destroy(&ct->mu);
	free(ct);
}

static uint32_t
ip_hash(const char *s)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

/*
 * The oldest incomplete connection of the address with the most incomplete
 * connections. One pass over the entries into an open-addressing table of
 * addresses; run only when the budget is nearly used up.
 */
static struct conntrack_entry *
victim(struct conntrack *ct)
{
	struct slot {
		const char *ip;
		size_t cnt;
		struct conntrack_entry *oldest;
	} *tab;
	struct conntrack_entry *e, *best = NULL;
	size_t size = 16, i, best_cnt = 0;

	while (size < 2 * ct->n + 2)
		size *= 2;
	if ((tab = calloc(size, sizeof(*tab))) == NULL)
		return NULL;
	for (e = ct->head; e != NULL; e = e->next) {
		if (!incomplete(e))
			continue;
		for (i = ip_hash(e->ip) & (size - 1); tab[i].ip != NULL &&
		    strcmp(tab[i].ip, e->ip) != 0; i = (i + 1) & (size - 1))
			;
		if (tab[i].ip == NULL)
			tab[i].ip = e->ip;
		tab[i].cnt++;
		if (tab[i].oldest == NULL ||
		    e->since_ms < tab[i].oldest->since_ms)
			tab[i].oldest = e;
	}
	for (i = 0; i < size; i++) {
		if (tab[i].ip == NULL)
			continue;
		if (tab[i].cnt > best_cnt || (tab[i].cnt == best_cnt &&
		    tab[i].oldest->since_ms < best->since_ms)) {
			best_cnt = tab[i].cnt;
			best = tab[i].oldest;
		}
	}
	free(tab);
	return best;
}

struct conntrack_entry *
conntrack_open(struct conntrack *ct, int fd, const char *ip)
{
	struct conntrack_entry *e, *v;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->fd = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
	snprintf(e->ip, sizeof(e->ip), "%s", ip != NULL ? ip : "-");
	e->phase = CONNTRACK_HEAD;
	e->since_ms = e->opened_ms = now_ms();
	pthread_mutex_lock(&ct->mu);
	if (ct->n + 1 > ct->max - ct->reserve && (v = victim(ct)) != NULL) {
		drop(ct, v);
		ct->n_evicted++;
	}
	e->next = ct->head;
	if (ct->head != NULL)
		ct->head->prev = e;
	ct->head = e;
	ct->n++;
	pthread_mutex_unlock(&ct->mu);
	return e;
}

void
conntrack_phase(struct conntrack *ct, struct conntrack_entry *e,
    enum conntrack_phase phase)
{
	if (ct == NULL || e == NULL)
		return;
	pthread_mutex_lock(&ct->mu);
	if (e->phase != phase) {
		e->phase = phase;
		e->since_ms = now_ms();
	}
	pthread_mutex_unlock(&ct->mu);
}

void
conntrack_close(struct conntrack *ct, struct conntrack_entry *e)
{
	if (ct == NULL || e == NULL)
		return;
	pthread_mutex_lock(&ct->mu);
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		ct->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	ct->n--;
	pthread_mutex_unlock(&ct->mu);
	if (e->fd >= 0)
		close(e->fd);
	free(e);
}

void
conntrack_stats(struct conntrack *ct, uint64_t *deadline, uint64_t *evicted)
{
	pthread_mutex_lock(&ct->mu);
	*deadline = ct->n_deadline;
	*evicted = ct->n_evicted;
	pthread_mutex_unlock(&ct->mu);
}
