/*
 * client.c - the signetd side of the keeper: starts the keeper process,
 * sends requests, matches responses to waiting callers, restarts the keeper
 * when it dies.
 *
 * This side never opens the PIN file and never loads the PKCS#11 module: it
 * only passes the PIN file's path on the keeper's command line.
 *
 * Concurrency: any number of threads call keeper_* at once. Each call
 * registers a waiter (request id + its thread's condition variable) and
 * writes its frame under the writer lock. Then, leader/follower: when
 * nobody is reading the socket, the waiting caller reads it itself (after a
 * short bounded spin, ANSWER_SPIN_NS), so its own answer needs no hand-off
 * to another thread; an answer for another caller is handed to that caller
 * (its condition variable), and a reader whose own calls are answered wakes
 * one remaining waiter to take over. When the channel fails (EOF, bad
 * frame, write error, timeout), every waiter fails with SN_ERR_UNAVAILABLE
 * and the next call starts a new keeper. A watcher thread per keeper
 * process sleeps in poll() for the keeper's end of the socket to close
 * (never for data: it is not on the path of an answer), fails the channel
 * if the keeper dies while nobody is reading, and reaps the child.
 *
 * Lock order: life -> wlock -> state. The watcher takes only state. The
 * socket is read outside every lock by the one caller with k->reading set,
 * and polled by the watcher; teardown closes it only after the channel is
 * dead (no new reader), the reader has left and the watcher is joined.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
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

/*
 * How long a caller that reads the socket for its own call in flight polls
 * it without blocking (recv(MSG_PEEK | MSG_DONTWAIT), sched_yield() between
 * tries) before it sleeps in poll(). On the 2-core VM of
 * docs/PERFORMANCE.md a wake-up from a blocking read costs about 27 us of
 * latency (a socketpair ping-pong between two processes: 52-62 us per round
 * trip blocking, 4.0-4.5 us spinning), and the keeper answers an ECDSA
 * P-256 SIGN in about 0.1 ms, so the spin is long enough for that answer
 * to be found without a wake-up; an RSA signature (~0.6 ms) outlasts it and
 * the caller sleeps as before, having spent at most this much CPU. It never
 * runs with nothing in flight.
 */
#define ANSWER_SPIN_NS		(200 * 1000)

struct call {
	struct call *next;
	uint32_t id;
	pthread_cond_t *cond;	/* its caller's: one per call_many */
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
	int watcher_running;	/* watcher thread created and not yet joined */
	pthread_t watcher;
	int reading;		/* a caller reads the socket (the leader) */
	pthread_cond_t chan;	/* reading ended, or the channel died */
	size_t inflight;	/* requests sent whose answers are not read yet,
				 * including those of callers that timed out */
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
		pthread_cond_signal(c->cond);
	}
	k->npending = 0;
	k->inflight = 0;
	pthread_cond_broadcast(&k->chan);
}

/*
 * With state held and nobody reading: wakes one waiting caller to take
 * over the socket, so that waiters never all sleep while answers wait.
 */
static void
handoff_locked(struct keeper *k)
{
	if (!k->reading && !k->dead && k->pending != NULL)
		pthread_cond_signal(k->pending->cond);
}

/*
 * With state held: the answer frame (len bytes after the length prefix)
 * goes to the call with its id, which is woken.
 */
static void
dispatch_locked(struct keeper *k, const uint8_t *frame, uint32_t len)
{
	struct call *c, **pp;
	uint32_t id = be32(frame);

	if (k->inflight > 0)
		k->inflight--;
	for (pp = &k->pending; (c = *pp) != NULL; pp = &c->next)
		if (c->id == id)
			break;
	if (c == NULL)
		return;		/* its caller timed out and left; drop the answer */
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
	pthread_cond_signal(c->cond);
}

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * Without locks, by the one reading caller: one answer frame from fd.
 * Spins for ANSWER_SPIN_NS, then sleeps in poll() until deadline_ms for
 * the frame to start; once it has, the rest must come within frame_ms.
 * Returns 0 with *frame (the len bytes after the length prefix, at least
 * 8; caller frees), 1 when the deadline passed before the frame started
 * (nothing was consumed), -1 when the channel failed (EOF, error, a bad
 * length, a frame cut short).
 */
static int
read_answer(int fd, int64_t deadline_ms, int frame_ms, uint8_t **frame,
    uint32_t *lenp)
{
	uint8_t hdr[KEEPER_HDR_LEN], *f, b;
	int64_t until = now_ns() + ANSWER_SPIN_NS;
	uint32_t len;

	*frame = NULL;
	*lenp = 0;
	if (deadline_ms <= fdio_now_ms())
		return 1;
	for (;;) {
		ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

		if (n >= 0 || (errno != EAGAIN && errno != EINTR))
			goto ready;	/* data, EOF or an error: read() tells */
		if (now_ns() >= until)
			break;
		sched_yield();
	}
	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		int64_t left = deadline_ms - fdio_now_ms();
		int pr;

		if (left <= 0)
			return 1;
		pr = poll(&pfd, 1, left > 1000 ? 1000 : (int)left);
		if (pr < 0 && errno != EINTR)
			return -1;
		if (pr > 0)
			break;
	}
 ready:
	if (fdio_read_full(fd, hdr, sizeof(hdr), fdio_now_ms() + frame_ms) != 0)
		return -1;
	len = be32(hdr);
	if (len < 8 || len > KEEPER_FRAME_MAX)
		return -1;		/* the keeper is confused: drop it */
	if ((f = malloc(len)) == NULL)
		return -1;
	if (fdio_read_full(fd, f, len, fdio_now_ms() + frame_ms) != 0) {
		free(f);
		return -1;
	}
	*frame = f;
	*lenp = len;
	return 0;
}

struct watcher_arg {
	struct keeper *k;
	int fd;
	pid_t pid;
};

/*
 * One per keeper process: sleeps until the keeper's end of the socket
 * closes (POLLRDHUP; data does not wake it) or the channel dies. A keeper
 * that died while callers wait is theirs to notice: they read what it sent
 * before it went, then its EOF. One that died while nobody waits fails the
 * channel here, so the next call starts a new keeper. Then the child is
 * reaped, with the exit grace unless it was stuck.
 */
static void *
watcher_main(void *arg)
{
	struct watcher_arg *wa = arg;
	struct keeper *k = wa->k;
	int fd = wa->fd, stuck, hup = 0;
	pid_t pid = wa->pid;

	free(wa);
	pthread_mutex_lock(&k->state);
	while (!k->dead) {
		struct pollfd pfd = { fd, POLLRDHUP, 0 };
		struct timespec ts;
		int pr;

		if (hup && k->npending == 0 && !k->reading) {
			fail_all_locked(k);
			shutdown(fd, SHUT_RDWR);
			break;
		}
		if (hup) {
			/* the waiting callers read the rest, then EOF */
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&k->chan, &k->state, &ts);
			continue;
		}
		pthread_mutex_unlock(&k->state);
		pr = poll(&pfd, 1, 1000);
		pthread_mutex_lock(&k->state);
		hup = pr > 0;
	}
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
	struct watcher_arg *wa = NULL;
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
	if ((wa = malloc(sizeof(*wa))) == NULL)
		goto out;
	wa->k = k;
	wa->fd = sv[0];
	wa->pid = pid;
	pthread_mutex_lock(&k->state);
	k->fd = sv[0];
	k->pid = pid;
	k->dead = 0;
	k->stuck = 0;
	k->inflight = 0;
	k->gen++;
	k->started_ms = fdio_now_ms();
	pthread_mutex_unlock(&k->state);
	if (pthread_create(&k->watcher, NULL, watcher_main, wa) != 0) {
		pthread_mutex_lock(&k->state);
		k->fd = -1;
		k->pid = -1;
		k->dead = 1;
		pthread_mutex_unlock(&k->state);
		free(wa);
		goto out;
	}
	k->watcher_running = 1;
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

/*
 * With life held: ends the channel (a live one as if the keeper had gone:
 * every waiter fails), waits for the reading caller to leave the socket
 * and for the watcher to reap the child, and closes the socket.
 */
static void
teardown(struct keeper *k)
{
	pthread_mutex_lock(&k->state);
	if (k->fd >= 0) {
		if (!k->dead)
			fail_all_locked(k);
		shutdown(k->fd, SHUT_RDWR);
	}
	while (k->reading)
		pthread_cond_wait(&k->chan, &k->state);
	pthread_mutex_unlock(&k->state);
	if (k->watcher_running) {
		pthread_join(k->watcher, NULL);
		k->watcher_running = 0;
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

/*
 * With life held: a live channel, restarting the keeper if needed. With no
 * caller waiting, a keeper that died may not have been noticed yet (the
 * watcher may not have run): the socket says so, since the keeper never
 * sends a frame nobody asked for.
 */
static int
ensure_running(struct keeper *k)
{
	int alive;

	pthread_mutex_lock(&k->state);
	alive = k->fd >= 0 && !k->dead;
	if (alive && !k->reading && k->npending == 0) {
		struct pollfd pfd = { k->fd, POLLIN | POLLRDHUP, 0 };

		if (poll(&pfd, 1, 0) > 0 &&
		    ((pfd.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) ||
		    k->inflight == 0)) {
			fail_all_locked(k);
			shutdown(k->fd, SHUT_RDWR);
			alive = 0;
		}
	}
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
 * With state held: call c of generation gen got no answer by its deadline.
 * A keeper that sits on a request this long is stuck: unless this is a
 * probe, fail everything now (so the next call restarts it rather than
 * queueing behind it) and have the watcher kill it without the usual exit
 * grace.
 */
static void
timed_out_locked(struct keeper *k, struct call *c, uint64_t gen, int probe_ms)
{
	unlink_locked(k, c);
	c->status = SN_ERR_UNAVAILABLE;
	c->done = 1;
	if (probe_ms <= 0 && k->gen == gen && !k->dead && k->fd >= 0) {
		k->stuck = 1;
		fail_all_locked(k);
		shutdown(k->fd, SHUT_RDWR);
	}
}

/*
 * With state held, as the reading caller of generation gen: reads one
 * answer frame with state let go, and hands it to its call. Returns 1 when
 * the deadline passed before an answer started, else 0.
 */
static int
read_one_locked(struct keeper *k, uint64_t gen, int64_t deadline)
{
	uint8_t *frame = NULL;
	uint32_t len = 0;
	int fd = k->fd, frame_ms = k->timeout_ms, r;

	k->reading = 1;
	pthread_mutex_unlock(&k->state);
	r = read_answer(fd, deadline, frame_ms, &frame, &len);
	pthread_mutex_lock(&k->state);
	k->reading = 0;
	pthread_cond_broadcast(&k->chan);
	if (r == 0)
		dispatch_locked(k, frame, len);
	else if (r < 0 && k->gen == gen && !k->dead) {
		fail_all_locked(k);
		shutdown(fd, SHUT_RDWR);
	}
	free(frame);
	return r == 1;
}

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
	pthread_cond_t cond;
	uint8_t *frame = NULL, *frames = NULL;
	size_t framelen = 0, flen = 0, i;
	struct timespec ts;
	int64_t deadline;
	uint64_t gen;
	int r, fd, ok, have_cond = 0;

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
	pthread_cond_init(&cond, &ca);
	pthread_condattr_destroy(&ca);
	have_cond = 1;

	pthread_mutex_lock(&k->life);
	/* A keeper that dies between the two is restarted once more. */
	for (int tries = 0;; tries++) {
		if ((r = ensure_running(k)) != 0) {
			pthread_mutex_unlock(&k->life);
			goto fail;
		}
		pthread_mutex_lock(&k->state);
		if (!k->dead || tries > 0)
			break;
		pthread_mutex_unlock(&k->state);
	}
	if (k->npending + n > MAX_PENDING) {
		pthread_mutex_unlock(&k->state);
		pthread_mutex_unlock(&k->life);
		r = SN_ERR_UNAVAILABLE;
		goto fail;
	}
	gen = k->gen;
	/*
	 * The calls live in cs until an answer or a failure marks each done
	 * or we unlink it below: every path out of this function does one of
	 * the two for every call before freeing cs. A call on a channel that
	 * is already dead is simply not sent and fails below.
	 */
	for (i = 0; i < n; i++) {
		if (++k->next_id == KEEPER_HELLO_ID)
			++k->next_id;
		cs[i].id = k->next_id;
		cs[i].cond = &cond;
		if (k->dead) {
			cs[i].status = SN_ERR_UNAVAILABLE;
			cs[i].done = 1;
			continue;
		}
		cs[i].next = k->pending;
		k->pending = &cs[i];
		k->npending++;
		k->inflight++;
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
			if (!cs[i].done) {
				unlink_locked(k, &cs[i]);
				if (k->gen == gen && k->inflight > 0)
					k->inflight--;
			}
		handoff_locked(k);
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

	/*
	 * Leader/follower: with nobody reading, read yourself (your answer
	 * then needs no hand-off); else sleep until the reader hands you your
	 * answer or the socket.
	 */
	pthread_mutex_lock(&k->state);
	deadline = fdio_now_ms() + (probe_ms > 0 ? probe_ms : k->timeout_ms);
	ts.tv_sec = deadline / 1000;
	ts.tv_nsec = (deadline % 1000) * 1000000;
	for (i = 0; i < n; i++) {
		while (!cs[i].done) {
			if (!k->reading && k->gen == gen && !k->dead) {
				if (read_one_locked(k, gen, deadline) &&
				    !cs[i].done)
					timed_out_locked(k, &cs[i], gen,
					    probe_ms);
				continue;
			}
			if (pthread_cond_timedwait(&cond, &k->state,
			    &ts) != ETIMEDOUT || cs[i].done)
				continue;
			timed_out_locked(k, &cs[i], gen, probe_ms);
		}
	}
	handoff_locked(k);
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
	for (i = 0; cs != NULL && i < n; i++)
		free(cs[i].body);
	if (have_cond)
		pthread_cond_destroy(&cond);
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
	pthread_condattr_t ca;
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
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&k->chan, &ca);
	pthread_condattr_destroy(&ca);
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
	teardown(k);		/* the watcher reaps the keeper on its way out */
	pthread_mutex_unlock(&k->life);
	pthread_mutex_destroy(&k->life);
	pthread_mutex_destroy(&k->wlock);
	pthread_mutex_destroy(&k->state);
	pthread_cond_destroy(&k->chan);
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
