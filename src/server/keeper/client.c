/*
 * client.c - the signetd side of the keeper: starts the keeper process,
 * sends requests, matches responses to waiting callers, restarts the keeper
 * when it dies.
 *
 * This side never opens the PIN file and never loads the PKCS#11 module: it
 * only passes the PIN file's path on the keeper's command line.
 *
 * Concurrency: any number of threads call keeper_* at once. Each call
 * registers a waiter (request id + condition variable), writes its frame
 * under the writer lock and sleeps; one reader thread per keeper process
 * reads response frames and wakes the waiter with that id. When the channel
 * fails (EOF, bad frame, write error, timeout), every waiter fails with
 * SN_ERR_UNAVAILABLE, the reader reaps the child, and the next call starts a
 * new keeper.
 *
 * Lock order: life -> wlock -> state. The reader thread takes only state.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alg.h"
#include "err.h"
#include "fdio.h"
#include "kbuf.h"
#include "keeper_int.h"
#include "util.h"

#define CALL_TIMEOUT_MS		30000
#define START_TIMEOUT_MS	30000
#define MAX_PENDING		4096
#define BACKOFF_MAX_MS		5000
#define QUICK_DEATH_MS		2000	/* a keeper that died this young counts as a failed start */
#define EXIT_GRACE_MS		3000	/* after EOF, before SIGTERM */
#define TERM_GRACE_MS		2000	/* after SIGTERM, before SIGKILL */

struct call {
	struct call *next;
	uint32_t id;
	pthread_cond_t cond;
	int done;
	int status;
	uint8_t *body;		/* response bytes after id and status */
	size_t bodylen;
};

struct keeper {
	char *module_path, *token_label, *pin_file, *softhsm_conf, *self_exe;
	int workers;

	pthread_mutex_t life;	/* serialises start, restart and free */
	pthread_mutex_t wlock;	/* one writer at a time; guards fd against close */
	pthread_mutex_t state;	/* everything below */

	int fd;			/* our end of the socketpair, -1 if none */
	pid_t pid;		/* keeper process, -1 if none */
	int reader_running;	/* reader thread created and not yet joined */
	pthread_t reader;
	int dead;		/* channel failed: restart on the next call */
	uint64_t gen;		/* connection generation */
	int64_t started_ms;
	int failures;		/* consecutive quick deaths / failed starts */
	int64_t retry_at_ms;	/* no restart before this (backoff) */
	uint32_t next_id;
	struct call *pending;
	size_t npending;
	int timeout_ms;
	int stuck;		/* a call timed out: kill without exit grace */
};

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* Waits for pid with escalation: grace, SIGTERM, grace, SIGKILL. */
static void
reap(pid_t pid, int grace_ms)
{
	int64_t deadline = fdio_now_ms() + grace_ms;
	int st, sent_term = 0;

	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid || (w < 0 && errno != EINTR))
			return;
		if (fdio_now_ms() >= deadline) {
			if (sent_term) {
				kill(pid, SIGKILL);
				while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
					;
				return;
			}
			kill(pid, SIGTERM);
			kill(pid, SIGCONT);	/* a stopped process must run to die */
			sent_term = 1;
			deadline = fdio_now_ms() + TERM_GRACE_MS;
		}
		usleep(5000);
	}
}

/* With state held: fail every waiter and mark the channel dead. */
static void
fail_all_locked(struct keeper *k)
{
	struct call *c;

	if (!k->dead && fdio_now_ms() - k->started_ms < QUICK_DEATH_MS) {
		k->failures++;
		k->retry_at_ms = fdio_now_ms() + (k->failures <= 1 ? 0 :
		    (100LL << (k->failures > 7 ? 6 : k->failures - 2)));
		if (k->retry_at_ms - fdio_now_ms() > BACKOFF_MAX_MS)
			k->retry_at_ms = fdio_now_ms() + BACKOFF_MAX_MS;
	}
	k->dead = 1;
	while ((c = k->pending) != NULL) {
		k->pending = c->next;
		c->next = NULL;
		c->status = SN_ERR_UNAVAILABLE;
		c->done = 1;
		pthread_cond_signal(&c->cond);
	}
	k->npending = 0;
}

struct reader_arg {
	struct keeper *k;
	int fd;
	pid_t pid;
};

static void *
reader_main(void *arg)
{
	struct reader_arg *ra = arg;
	struct keeper *k = ra->k;
	uint8_t hdr[KEEPER_HDR_LEN], *frame = NULL;
	uint32_t len, id;
	int fd = ra->fd, stuck;
	pid_t pid = ra->pid;

	free(ra);
	for (;;) {
		struct call *c, **pp;

		if (fdio_read_full(fd, hdr, sizeof(hdr), -1) != 0)
			break;
		len = be32(hdr);
		if (len < 8 || len > KEEPER_FRAME_MAX)
			break;		/* the keeper is confused: drop it */
		if ((frame = malloc(len)) == NULL)
			break;
		if (fdio_read_full(fd, frame, len, -1) != 0)
			break;
		id = be32(frame);
		pthread_mutex_lock(&k->state);
		for (pp = &k->pending; (c = *pp) != NULL; pp = &c->next)
			if (c->id == id)
				break;
		if (c != NULL) {
			*pp = c->next;
			k->npending--;
			c->next = NULL;
			c->status = (int32_t)be32(frame + 4);
			if (c->status > 0 || c->status < -1000)
				c->status = SN_ERR_PROTOCOL;
			if (c->status == 0 && len > 8) {
				if ((c->body = malloc(len - 8)) == NULL)
					c->status = SN_ERR_NOMEM;
				else {
					memcpy(c->body, frame + 8, len - 8);
					c->bodylen = len - 8;
				}
			}
			c->done = 1;
			k->failures = 0;
			pthread_cond_signal(&c->cond);
		}
		/* else: its caller timed out and left; drop the answer */
		pthread_mutex_unlock(&k->state);
		free(frame);
		frame = NULL;
	}
	free(frame);
	pthread_mutex_lock(&k->state);
	fail_all_locked(k);
	stuck = k->stuck;
	k->stuck = 0;
	pthread_mutex_unlock(&k->state);
	/* Make sure the keeper sees EOF too (matters after a bad frame). */
	shutdown(fd, SHUT_RDWR);
	reap(pid, stuck ? 0 : EXIT_GRACE_MS);
	pthread_mutex_lock(&k->state);
	if (k->pid == pid)
		k->pid = -1;
	pthread_mutex_unlock(&k->state);
	return NULL;
}

/*
 * Forks and execs the keeper with only the socket (as fd 3), /dev/null (as
 * stdin and stdout) and stderr open, then waits for its ready frame.
 * With life held.
 */
static int
spawn(struct keeper *k)
{
	char fdarg[] = "3", workers[16];
	char *argv[20];
	int sv[2] = { -1, -1 }, devnull = -1, n = 0, r = SN_ERR_UNAVAILABLE;
	uint8_t hello[12];
	struct reader_arg *ra = NULL;
	sigset_t all, old;
	pid_t pid = -1;

	snprintf(workers, sizeof(workers), "%d", k->workers);
	argv[n++] = k->self_exe;
	argv[n++] = "keeper";
	argv[n++] = "--fd";
	argv[n++] = fdarg;
	argv[n++] = "--module";
	argv[n++] = k->module_path;
	argv[n++] = "--token";
	argv[n++] = k->token_label;
	argv[n++] = "--pin-file";
	argv[n++] = k->pin_file;
	if (k->softhsm_conf != NULL) {
		argv[n++] = "--softhsm-conf";
		argv[n++] = k->softhsm_conf;
	}
	argv[n++] = "--workers";
	argv[n++] = workers;
	argv[n] = NULL;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 ||
	    (devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
		goto out;
	/* No signal handler of ours may run in the child before exec. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0) {
		/* Child: async-signal-safe calls only until execv. */
		sigset_t none;
		int s, d;

		for (int sig = 1; sig < NSIG; sig++)
			if (sig != SIGKILL && sig != SIGSTOP)
				signal(sig, SIG_DFL);
		setpgid(0, 0);	/* terminal signals are signetd's to handle */
		if ((s = fcntl(sv[1], F_DUPFD, 10)) < 0 ||
		    (d = fcntl(devnull, F_DUPFD, 10)) < 0 ||
		    dup2(d, STDIN_FILENO) < 0 || dup2(d, STDOUT_FILENO) < 0 ||
		    dup2(s, 3) < 0 || fcntl(3, F_SETFD, 0) != 0)
			_exit(127);
		close_range(4, ~0U, 0);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv(k->self_exe, argv);
		_exit(127);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0)
		goto out;
	close(sv[1]);
	sv[1] = -1;
	/* ready frame: length 8, id 0, status 0 */
	if (fdio_read_full(sv[0], hello, sizeof(hello),
	    fdio_now_ms() + START_TIMEOUT_MS) != 0 ||
	    be32(hello) != 8 || be32(hello + 4) != KEEPER_HELLO_ID ||
	    be32(hello + 8) != 0)
		goto out;
	if ((ra = malloc(sizeof(*ra))) == NULL)
		goto out;
	ra->k = k;
	ra->fd = sv[0];
	ra->pid = pid;
	pthread_mutex_lock(&k->state);
	k->fd = sv[0];
	k->pid = pid;
	k->dead = 0;
	k->stuck = 0;
	k->gen++;
	k->started_ms = fdio_now_ms();
	pthread_mutex_unlock(&k->state);
	if (pthread_create(&k->reader, NULL, reader_main, ra) != 0) {
		pthread_mutex_lock(&k->state);
		k->fd = -1;
		k->pid = -1;
		k->dead = 1;
		pthread_mutex_unlock(&k->state);
		free(ra);
		goto out;
	}
	k->reader_running = 1;
	sv[0] = -1;
	pid = -1;
	r = 0;
 out:
	if (r != 0) {
		pthread_mutex_lock(&k->state);
		k->failures++;
		k->retry_at_ms = fdio_now_ms() + (100LL << (k->failures > 6 ? 6 :
		    k->failures - 1));
		if (k->retry_at_ms - fdio_now_ms() > BACKOFF_MAX_MS)
			k->retry_at_ms = fdio_now_ms() + BACKOFF_MAX_MS;
		pthread_mutex_unlock(&k->state);
	}
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	if (devnull >= 0)
		close(devnull);
	if (pid > 0)
		reap(pid, 0);	/* failed start: no grace needed */
	return r;
}

/* With life held: waits for the reader to finish and closes the socket. */
static void
teardown(struct keeper *k)
{
	if (k->reader_running) {
		pthread_mutex_lock(&k->state);
		if (k->fd >= 0)
			shutdown(k->fd, SHUT_RDWR);
		pthread_mutex_unlock(&k->state);
		pthread_join(k->reader, NULL);
		k->reader_running = 0;
	}
	pthread_mutex_lock(&k->wlock);
	pthread_mutex_lock(&k->state);
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
	k->gen++;
	pthread_mutex_unlock(&k->state);
	pthread_mutex_unlock(&k->wlock);
}

/* With life held: a live channel, restarting the keeper if needed. */
static int
ensure_running(struct keeper *k)
{
	int alive;

	pthread_mutex_lock(&k->state);
	alive = k->fd >= 0 && !k->dead;
	pthread_mutex_unlock(&k->state);
	if (alive)
		return 0;
	teardown(k);
	if (fdio_now_ms() < k->retry_at_ms)
		return SN_ERR_UNAVAILABLE;	/* backing off: fail fast */
	return spawn(k);
}

/* With state held: takes c off the pending list if it is still there. */
static void
unlink_locked(struct keeper *k, struct call *c)
{
	struct call **pp;

	for (pp = &k->pending; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			k->npending--;
			break;
		}
}

/* One request of call_many: body in, answer (status, resp) out. */
struct call_req {
	const uint8_t *body;
	size_t bodylen;
	int status;		/* 0 or SN_ERR_*, this request's answer */
	uint8_t *resp;		/* on status 0: the body (caller frees) */
	size_t resplen;
};

/*
 * n round trips of one op, pipelined: every request is registered and
 * written (in one hold of the writer lock) before the first answer is
 * awaited, so the keeper's workers take them at once. Each rq[i] gets its
 * own status and response. The wait for all of them ends at one deadline,
 * the call timeout from now: probe_ms > 0 waits that long instead, and a
 * keeper that does not answer in time is not declared stuck (a readiness
 * probe must not kill a keeper that is merely busy); otherwise a timeout
 * fails every call and has the keeper killed, as for one call. Returns 0
 * (look at each status), or the error that stopped the requests from
 * being sent (each status set to it).
 */
static int
call_many(struct keeper *k, uint8_t op, struct call_req *rq, size_t n,
    int probe_ms)
{
	struct call *cs = NULL;
	pthread_condattr_t ca;
	uint8_t *frame = NULL, *frames = NULL;
	size_t framelen = 0, flen = 0, i, ninit = 0;
	struct timespec ts;
	int64_t deadline;
	uint64_t gen;
	int r, fd, ok;

	for (i = 0; i < n; i++) {
		rq[i].status = SN_ERR_UNAVAILABLE;
		rq[i].resp = NULL;
		rq[i].resplen = 0;
	}
	if (n == 0)
		return 0;
	if (n > MAX_PENDING) {
		r = SN_ERR_INVALID;
		goto fail;
	}
	if ((cs = calloc(n, sizeof(*cs))) == NULL) {
		r = SN_ERR_NOMEM;
		goto fail;
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	for (; ninit < n; ninit++)
		pthread_cond_init(&cs[ninit].cond, &ca);
	pthread_condattr_destroy(&ca);

	pthread_mutex_lock(&k->life);
	if ((r = ensure_running(k)) != 0) {
		pthread_mutex_unlock(&k->life);
		goto fail;
	}
	pthread_mutex_lock(&k->state);
	if (k->npending + n > MAX_PENDING) {
		pthread_mutex_unlock(&k->state);
		pthread_mutex_unlock(&k->life);
		r = SN_ERR_UNAVAILABLE;
		goto fail;
	}
	gen = k->gen;
	/*
	 * The calls live in cs until the reader thread marks each done or we
	 * unlink it below: every path out of this function does one of the
	 * two for every call before freeing cs.
	 */
	for (i = 0; i < n; i++) {
		if (++k->next_id == KEEPER_HELLO_ID)
			++k->next_id;
		cs[i].id = k->next_id;
		cs[i].next = k->pending;
		k->pending = &cs[i];
		k->npending++;
	}
	pthread_mutex_unlock(&k->state);
	pthread_mutex_unlock(&k->life);

	/* All frames in one buffer: one write puts the batch on the wire. */
	r = 0;
	for (i = 0; i < n && r == 0; i++) {
		uint8_t *nf;

		if ((r = keeper_encode_request(cs[i].id, op, rq[i].body,
		    rq[i].bodylen, &frame, &framelen)) != 0)
			break;
		if ((nf = realloc(frames, flen + framelen)) == NULL)
			r = SN_ERR_NOMEM;
		else {
			frames = nf;
			memcpy(frames + flen, frame, framelen);
			flen += framelen;
		}
		free(frame);
		frame = NULL;
	}
	if (r != 0) {
		/* cannot happen for bodies the callers build; still unlink */
		pthread_mutex_lock(&k->state);
		for (i = 0; i < n; i++)
			if (!cs[i].done)
				unlink_locked(k, &cs[i]);
		pthread_mutex_unlock(&k->state);
		goto fail;
	}

	pthread_mutex_lock(&k->wlock);
	pthread_mutex_lock(&k->state);
	ok = k->gen == gen && !k->dead;
	fd = k->fd;
	pthread_mutex_unlock(&k->state);
	if (ok && fdio_write_full(fd, frames, flen) != 0) {
		/* Dead now, so that the next call restarts instead of failing. */
		pthread_mutex_lock(&k->state);
		if (k->gen == gen && !k->dead) {
			fail_all_locked(k);
			shutdown(fd, SHUT_RDWR);
		}
		pthread_mutex_unlock(&k->state);
	}
	pthread_mutex_unlock(&k->wlock);

	pthread_mutex_lock(&k->state);
	deadline = fdio_now_ms() + (probe_ms > 0 ? probe_ms : k->timeout_ms);
	ts.tv_sec = deadline / 1000;
	ts.tv_nsec = (deadline % 1000) * 1000000;
	for (i = 0; i < n; i++) {
		while (!cs[i].done) {
			if (pthread_cond_timedwait(&cs[i].cond, &k->state,
			    &ts) != ETIMEDOUT || cs[i].done)
				continue;
			unlink_locked(k, &cs[i]);
			cs[i].status = SN_ERR_UNAVAILABLE;
			cs[i].done = 1;
			/*
			 * A keeper that sits on a request this long is stuck:
			 * fail everything now (so the next call restarts it
			 * rather than queueing behind it) and let the reader
			 * kill it without the usual exit grace.
			 */
			if (probe_ms <= 0 && k->gen == gen && !k->dead &&
			    k->fd >= 0) {
				k->stuck = 1;
				fail_all_locked(k);
				shutdown(k->fd, SHUT_RDWR);
			}
		}
	}
	pthread_mutex_unlock(&k->state);
	for (i = 0; i < n; i++) {
		rq[i].status = cs[i].status;
		if (cs[i].status == 0) {
			rq[i].resp = cs[i].body;
			rq[i].resplen = cs[i].bodylen;
			cs[i].body = NULL;
		}
	}
	r = 0;
	goto out;
 fail:
	for (i = 0; i < n; i++)
		rq[i].status = r;
 out:
	for (i = 0; i < ninit; i++) {
		free(cs[i].body);
		pthread_cond_destroy(&cs[i].cond);
	}
	free(cs);
	free(frames);
	return r;
}

/*
 * One round trip: sends op with body, waits for the answer. On 0, *resp is
 * the response body (caller frees; may be NULL when empty). probe_ms as
 * for call_many.
 */
static int
call_probe(struct keeper *k, uint8_t op, const uint8_t *body, size_t bodylen,
    uint8_t **resp, size_t *resplen, int probe_ms)
{
	struct call_req rq;
	int r;

	*resp = NULL;
	*resplen = 0;
	memset(&rq, 0, sizeof(rq));
	rq.body = body;
	rq.bodylen = bodylen;
	if ((r = call_many(k, op, &rq, 1, probe_ms)) != 0)
		return r;
	if (rq.status != 0)
		return rq.status;
	*resp = rq.resp;
	*resplen = rq.resplen;
	return 0;
}

static int
call(struct keeper *k, uint8_t op, const uint8_t *body, size_t bodylen,
    uint8_t **resp, size_t *resplen)
{
	return call_probe(k, op, body, bodylen, resp, resplen, 0);
}

int
keeper_encode_request(uint32_t id, uint8_t op, const uint8_t *body,
    size_t bodylen, uint8_t **out, size_t *outlen)
{
	struct kbuf b;
	int r;

	*out = NULL;
	*outlen = 0;
	kbuf_init(&b, KEEPER_HDR_LEN + KEEPER_FRAME_MAX);
	if ((r = kbuf_put_u32(&b, 0)) != 0 ||
	    (r = kbuf_put_u32(&b, id)) != 0 ||
	    (r = kbuf_put_u8(&b, op)) != 0 ||
	    (r = kbuf_put(&b, body, bodylen)) != 0 ||
	    (r = kbuf_poke_u32(&b, 0, (uint32_t)(b.len - KEEPER_HDR_LEN))) != 0)
		goto out;
	kbuf_steal(&b, out, outlen);
 out:
	kbuf_free(&b);
	return r;
}

static char *
dup_or_null(const char *s, int *fail)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*fail = 1;
	return d;
}

int
keeper_start(const struct keeper_config *cfg, struct keeper **out)
{
	struct keeper *k = NULL;
	int fail = 0, r;

	*out = NULL;
	if (cfg == NULL || cfg->module_path == NULL || cfg->token_label == NULL ||
	    cfg->pin_file == NULL || cfg->self_exe == NULL ||
	    cfg->workers < 0 || cfg->workers > KEEPER_MAX_WORKERS)
		return SN_ERR_INVALID;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return SN_ERR_NOMEM;
	k->module_path = dup_or_null(cfg->module_path, &fail);
	k->token_label = dup_or_null(cfg->token_label, &fail);
	k->pin_file = dup_or_null(cfg->pin_file, &fail);
	k->softhsm_conf = dup_or_null(cfg->softhsm_conf, &fail);
	k->self_exe = dup_or_null(cfg->self_exe, &fail);
	k->workers = cfg->workers == 0 ? KEEPER_DEFAULT_WORKERS : cfg->workers;
	k->fd = -1;
	k->pid = -1;
	k->dead = 1;
	k->timeout_ms = CALL_TIMEOUT_MS;
	pthread_mutex_init(&k->life, NULL);
	pthread_mutex_init(&k->wlock, NULL);
	pthread_mutex_init(&k->state, NULL);
	if (fail) {
		keeper_free(k);
		return SN_ERR_NOMEM;
	}
	pthread_mutex_lock(&k->life);
	r = spawn(k);
	pthread_mutex_unlock(&k->life);
	if (r != 0) {
		keeper_free(k);
		return r;
	}
	*out = k;
	return 0;
}

void
keeper_free(struct keeper *k)
{
	if (k == NULL)
		return;
	pthread_mutex_lock(&k->life);
	teardown(k);		/* the reader reaps the keeper on its way out */
	pthread_mutex_unlock(&k->life);
	pthread_mutex_destroy(&k->life);
	pthread_mutex_destroy(&k->wlock);
	pthread_mutex_destroy(&k->state);
	free(k->module_path);
	free(k->token_label);
	free(k->pin_file);
	free(k->softhsm_conf);
	free(k->self_exe);
	free(k);
}

pid_t
keeper_pid(struct keeper *k)
{
	pid_t pid;

	pthread_mutex_lock(&k->state);
	pid = k->pid;
	pthread_mutex_unlock(&k->state);
	return pid;
}

int
keeper_ping(struct keeper *k, int timeout_ms)
{
	static const uint8_t none[KEEPER_ID_LEN];	/* no key has id 0 */
	uint8_t *resp = NULL;
	size_t resplen = 0;
	int r;

	if (k == NULL)
		return SN_ERR_UNAVAILABLE;
	r = call_probe(k, KEEPER_OP_GET_PUBLIC_KEY, none, sizeof(none), &resp,
	    &resplen, timeout_ms > 0 ? timeout_ms : 1);
	free(resp);
	/* "no such key" is an answer: the keeper and its token session work */
	return r == SN_ERR_NOT_FOUND || r == 0 ? 0 : r;
}

size_t
keeper_pending(struct keeper *k)
{
	size_t n;

	if (k == NULL)
		return 0;
	pthread_mutex_lock(&k->state);
	n = k->npending;
	pthread_mutex_unlock(&k->state);
	return n;
}

void
keeper_set_call_timeout(struct keeper *k, int ms)
{
	pthread_mutex_lock(&k->state);
	k->timeout_ms = ms < 100 ? 100 : ms;
	pthread_mutex_unlock(&k->state);
}

/* ---- operations --------------------------------------------------------- */

static int
generate(struct keeper *k, enum sn_key_alg alg, const char *label,
    const uint8_t *given_id, uint8_t id[16], uint8_t **spki_der,
    size_t *spki_len)
{
	struct kbuf b;
	struct kcur c;
	uint8_t *resp = NULL, *spki = NULL;
	const uint8_t *rid, *p;
	size_t resplen = 0, n, llen;
	int r;

	*spki_der = NULL;
	*spki_len = 0;
	kbuf_init(&b, KEEPER_FRAME_MAX);
	if (sn_key_alg_name(alg) == NULL || label == NULL ||
	    (llen = strlen(label)) > KEEPER_LABEL_MAX) {
		r = SN_ERR_INVALID;
		goto out;
	}
	if ((r = kbuf_put_u8(&b, (uint8_t)alg)) != 0 ||
	    (r = kbuf_put_bytes(&b, label, llen)) != 0 ||
	    (given_id != NULL &&
	    (r = kbuf_put(&b, given_id, KEEPER_ID_LEN)) != 0) ||
	    (r = call(k, KEEPER_OP_GENERATE, b.data, b.len, &resp, &resplen)) != 0)
		goto out;
	kcur_init(&c, resp, resplen);
	if ((r = kcur_get_raw(&c, KEEPER_ID_LEN, &rid)) != 0 ||
	    (r = kcur_get_bytes(&c, KEEPER_SPKI_MAX, &p, &n)) != 0 ||
	    (r = kcur_end(&c)) != 0 || n == 0 || (given_id != NULL &&
	    memcmp(rid, given_id, KEEPER_ID_LEN) != 0)) {
		r = SN_ERR_PROTOCOL;
		goto out;
	}
	if ((spki = malloc(n)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	memcpy(spki, p, n);
	memcpy(id, rid, KEEPER_ID_LEN);
	*spki_der = spki;
	*spki_len = n;
	r = 0;
 out:
	kbuf_free(&b);
	free(resp);
	return r;
}

int
keeper_generate(struct keeper *k, enum sn_key_alg alg, const char *label,
    uint8_t id[16], uint8_t **spki_der, size_t *spki_len)
{
	return generate(k, alg, label, NULL, id, spki_der, spki_len);
}

int
keeper_generate_id(struct keeper *k, enum sn_key_alg alg, const char *label,
    const uint8_t id[16], uint8_t **spki_der, size_t *spki_len)
{
	uint8_t got[KEEPER_ID_LEN];

	return generate(k, alg, label, id, got, spki_der, spki_len);
}

int
keeper_get_public_key(struct keeper *k, const uint8_t id[16],
    uint8_t **spki_der, size_t *spki_len)
{
	struct kcur c;
	uint8_t *resp = NULL, *spki = NULL;
	const uint8_t *p;
	size_t resplen = 0, n;
	int r;

	*spki_der = NULL;
	*spki_len = 0;
	if ((r = call(k, KEEPER_OP_GET_PUBLIC_KEY, id, KEEPER_ID_LEN, &resp,
	    &resplen)) != 0)
		goto out;
	kcur_init(&c, resp, resplen);
	if (kcur_get_bytes(&c, KEEPER_SPKI_MAX, &p, &n) != 0 ||
	    kcur_end(&c) != 0 || n == 0) {
		r = SN_ERR_PROTOCOL;
		goto out;
	}
	if ((spki = malloc(n)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	memcpy(spki, p, n);
	*spki_der = spki;
	*spki_len = n;
	r = 0;
 out:
	free(resp);
	return r;
}

/* A SIGN request's body into b; SN_ERR_INVALID for nonsense, which never
 * reaches the keeper. */
static int
sign_request(struct kbuf *b, const uint8_t id[16], enum sn_mech mech,
    enum sn_hash hash, const uint8_t *digest, size_t dlen)
{
	int r;

	if (mech == SN_MECH_EDDSA ? (hash != SN_HASH_NONE || digest == NULL ||
	    dlen == 0 || dlen > KEEPER_MESSAGE_MAX) :
	    (sn_mech_name(mech) == NULL || sn_hash_len(hash) == 0 ||
	    digest == NULL || dlen != sn_hash_len(hash)))
		return SN_ERR_INVALID;
	if ((r = kbuf_put(b, id, KEEPER_ID_LEN)) != 0 ||
	    (r = kbuf_put_u8(b, (uint8_t)mech)) != 0 ||
	    (r = kbuf_put_u8(b, (uint8_t)hash)) != 0 ||
	    (r = kbuf_put_bytes(b, digest, dlen)) != 0)
		return r;
	return 0;
}

/* A SIGN answer's signature into a malloc'd *sig. */
static int
sign_answer(const uint8_t *resp, size_t resplen, uint8_t **sig,
    size_t *siglen)
{
	struct kcur c;
	const uint8_t *p;
	size_t n;

	kcur_init(&c, resp, resplen);
	if (kcur_get_bytes(&c, KEEPER_SIG_MAX, &p, &n) != 0 ||
	    kcur_end(&c) != 0 || n == 0)
		return SN_ERR_PROTOCOL;
	if ((*sig = malloc(n)) == NULL)
		return SN_ERR_NOMEM;
	memcpy(*sig, p, n);
	*siglen = n;
	return 0;
}

int
keeper_sign(struct keeper *k, const uint8_t id[16], enum sn_mech mech,
    enum sn_hash hash, const uint8_t *digest, size_t dlen,
    uint8_t **sig, size_t *siglen)
{
	struct kbuf b;
	uint8_t *resp = NULL;
	size_t resplen = 0;
	int r;

	*sig = NULL;
	*siglen = 0;
	kbuf_init(&b, KEEPER_FRAME_MAX);
	if ((r = sign_request(&b, id, mech, hash, digest, dlen)) != 0 ||
	    (r = call(k, KEEPER_OP_SIGN, b.data, b.len, &resp, &resplen)) != 0)
		goto out;
	r = sign_answer(resp, resplen, sig, siglen);
 out:
	kbuf_free(&b);
	free(resp);
	return r;
}

int
keeper_sign_many(struct keeper *k, const uint8_t id[16], enum sn_mech mech,
    enum sn_hash hash, const uint8_t *const *digests, const size_t *dlens,
    size_t n, uint8_t **sigs, size_t *siglens)
{
	struct call_req *rq = NULL;
	struct kbuf *bufs = NULL;
	size_t i, nb = 0;
	int r;

	if (n == 0)
		return SN_ERR_INVALID;
	if (n > KEEPER_SIGN_MANY_MAX)
		return SN_ERR_TOO_LARGE;
	for (i = 0; i < n; i++) {
		sigs[i] = NULL;
		siglens[i] = 0;
	}
	if ((rq = calloc(n, sizeof(*rq))) == NULL ||
	    (bufs = calloc(n, sizeof(*bufs))) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	for (nb = 0; nb < n; nb++) {
		kbuf_init(&bufs[nb], KEEPER_FRAME_MAX);
		if ((r = sign_request(&bufs[nb], id, mech, hash, digests[nb],
		    dlens[nb])) != 0) {
			nb++;
			goto out;
		}
		rq[nb].body = bufs[nb].data;
		rq[nb].bodylen = bufs[nb].len;
	}
	if ((r = call_many(k, KEEPER_OP_SIGN, rq, n, 0)) != 0)
		goto out;
	/* The first failure in index order is the batch's, as if signed one
	 * after another. */
	for (i = 0; i < n; i++) {
		if ((r = rq[i].status) != 0 ||
		    (r = sign_answer(rq[i].resp, rq[i].resplen, &sigs[i],
		    &siglens[i])) != 0)
			goto out;
	}
	r = 0;
 out:
	for (i = 0; rq != NULL && i < n; i++)
		free(rq[i].resp);
	for (i = 0; i < nb; i++)
		kbuf_free(&bufs[i]);
	if (r != 0) {
		for (i = 0; i < n; i++) {
			sn_freezero(sigs[i], siglens[i]);
			sigs[i] = NULL;
			siglens[i] = 0;
		}
	}
	free(bufs);
	free(rq);
	return r;
}

int
keeper_destroy(struct keeper *k, const uint8_t id[16])
{
	uint8_t *resp = NULL;
	size_t resplen = 0;
	int r;

	if ((r = call(k, KEEPER_OP_DESTROY, id, KEEPER_ID_LEN, &resp,
	    &resplen)) == 0 && resplen != 0)
		r = SN_ERR_PROTOCOL;
	free(resp);
	return r;
}
