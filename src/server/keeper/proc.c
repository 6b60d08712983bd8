/*
 * proc.c - the keeper process: `<signetd> keeper --fd N ...`.
 *
 * Reads the token PIN, logs in, wipes the PIN, then serves request frames on
 * the inherited socket with one thread per PKCS#11 session, so several
 * signatures are in flight at once; each worker reads its next frame itself
 * (leader/follower, no reader thread or queue in between), and responses go
 * back in completion order, matched by request id. The process exits when
 * the socket closes, when the peer breaks the protocol, or when the token
 * session becomes unusable (the PIN is gone, so it cannot log in again;
 * signetd starts a fresh keeper).
 *
 * It never writes to stdout (fd 1 is /dev/null) and is not dumpable, so
 * neither a core file nor ptrace by the same user reveals the PIN or the
 * session.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "fdio.h"
#include "kbuf.h"
#include "keeper_int.h"
#include "util.h"

#define PIN_MAX		256

/*
 * How long the reading worker polls the socket without blocking, right
 * after an answer went out, before it sleeps in read(). A wake-up from a
 * blocking read costs about 27 us on the 2-core VM of docs/PERFORMANCE.md
 * (a socketpair ping-pong between two processes: 52-62 us per round trip
 * blocking, 4.0-4.5 us spinning on recv(MSG_DONTWAIT)); a caller that signs
 * in a loop sends its next request a few microseconds after it got the
 * last answer, so a spin this long catches it without a wake-up, and the
 * spin ends as soon as nothing is answered any more (an idle keeper never
 * spins). sched_yield() in the loop hands the core to any runnable thread.
 */
#define SPIN_AFTER_ANSWER_NS	(150 * 1000)

struct server {
	int fd;
	struct keeper_hsm *h;
	pthread_mutex_t rlock;	/* one reader at a time; guards eof and rstatus */
	int eof;		/* the channel is finished: every worker exits */
	int rstatus;		/* 0: clean end (EOF, or a failure already logged) */
	pthread_mutex_t wlock;	/* one writer at a time */
	atomic_int failed;
	atomic_int busy;	/* frames read, not yet answered */
	atomic_llong answered_ns;	/* CLOCK_MONOTONIC of the last answer */
};

struct worker_arg {
	struct server *s;
	struct keeper_worker *w;
};

static long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void
die_line(const char *what, const char *why)
{
	fprintf(stderr, "signetd keeper: %s%s%s\n", what, why ? ": " : "",
	    why ? why : "");
}

/* Stops the whole conversation: the reader sees EOF and the process ends. */
static void
fail_connection(struct server *s, const char *why)
{
	if (atomic_exchange(&s->failed, 1) == 0 && why != NULL)
		die_line(why, NULL);
	shutdown(s->fd, SHUT_RDWR);
}

static int
send_frame(struct server *s, const uint8_t *p, size_t len)
{
	int r;

	pthread_mutex_lock(&s->wlock);
	r = fdio_write_full(s->fd, p, len);
	pthread_mutex_unlock(&s->wlock);
	return r;
}

/*
 * With rlock held: spins (bounded) while a request may be about to come
 * from a caller that signs in a loop, that is while one other worker is
 * handling a frame or within SPIN_AFTER_ANSWER_NS of the last answer; not
 * while two or more are (many callers: frames come often anyway, and the
 * cores are needed for signing and for signetd). Returns at once when data (or
 * EOF) is there or the window closed; the blocking read follows either way.
 */
static void
spin_for_request(struct server *s)
{
	uint8_t b;
	int busy;

	for (;;) {
		ssize_t n = recv(s->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

		if (n >= 0 || (errno != EAGAIN && errno != EINTR))
			return;
		busy = atomic_load(&s->busy);
		/* with two or more in hand the next frame comes soon anyway,
		 * and the cores are needed for signing */
		if (busy > 1 || (busy == 0 && now_ns() -
		    atomic_load(&s->answered_ns) > SPIN_AFTER_ANSWER_NS))
			return;
		sched_yield();
	}
}

/*
 * With rlock held: reads one whole request frame. Returns 0 with *frame
 * (caller frees), or 1 when the conversation is over (EOF, a failure, a
 * framing error: s->eof and s->rstatus are set).
 */
static int
read_request(struct server *s, uint8_t **frame, size_t *flen)
{
	uint8_t hdr[KEEPER_HDR_LEN], *f;
	uint32_t len;
	int r;

	*frame = NULL;
	*flen = 0;
	spin_for_request(s);
	if ((r = fdio_read_full(s->fd, hdr, sizeof(hdr), -1)) != 0) {
		s->rstatus = r == 1 || atomic_load(&s->failed) ? 0 : -1;
		goto over;
	}
	len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | hdr[3];
	if (len > KEEPER_FRAME_MAX || len < 5) {
		fail_connection(s, "bad frame length from signetd");
		s->rstatus = -1;
		goto over;
	}
	if ((f = malloc(KEEPER_HDR_LEN + (size_t)len)) == NULL) {
		die_line("out of memory", NULL);
		s->rstatus = -1;
		goto over;
	}
	memcpy(f, hdr, sizeof(hdr));
	if (fdio_read_full(s->fd, f + KEEPER_HDR_LEN, len, -1) != 0) {
		free(f);
		s->rstatus = atomic_load(&s->failed) ? 0 : -1;
		goto over;
	}
	*frame = f;
	*flen = KEEPER_HDR_LEN + (size_t)len;
	return 0;
 over:
	/* the others wait for rlock, not in read(): they see eof and exit */
	s->eof = 1;
	return 1;
}

/*
 * Leader/follower: the worker holding rlock reads the next frame itself,
 * lets go of rlock (the next worker reads the frame after) and handles the
 * frame, so a request reaches the worker that signs it without a hand-off
 * to another thread. Answers go out under wlock in completion order.
 */
static void *
worker_main(void *arg)
{
	struct worker_arg *wa = arg;
	struct server *s = wa->s;
	uint8_t *frame, *out;
	size_t flen, outlen;

	for (;;) {
		pthread_mutex_lock(&s->rlock);
		if (s->eof || read_request(s, &frame, &flen) != 0) {
			pthread_mutex_unlock(&s->rlock);
			break;
		}
		atomic_fetch_add(&s->busy, 1);
		pthread_mutex_unlock(&s->rlock);

		if (atomic_load(&s->failed)) {
			/* answering after a protocol failure is pointless */
		} else if (keeper_handle(wa->w, frame, flen, &out, &outlen) != 0) {
			fail_connection(s, "protocol error from signetd");
		} else {
			if (send_frame(s, out, outlen) != 0)
				fail_connection(s, NULL);
			free(out);
		}
		atomic_store(&s->answered_ns, now_ns());
		atomic_fetch_sub(&s->busy, 1);
		/* Requests carry no secrets, but digests need not linger. */
		sn_freezero(frame, flen);
		if (keeper_hsm_broken(s->h))
			fail_connection(s, "token session failed; exiting");
	}
	return NULL;
}

/* Reads the PIN into pin (NUL-terminated), without a trailing newline. */
static int
read_pin(const char *path, char pin[PIN_MAX + 1], size_t *pinlen)
{
	size_t len = 0;
	ssize_t n;
	int fd, r = SN_ERR_IO;

	*pinlen = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return SN_ERR_IO;
	for (;;) {
		n = read(fd, pin + len, PIN_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > PIN_MAX) {
			r = SN_ERR_TOO_LARGE;
			goto out;
		}
	}
	while (len > 0 && (pin[len - 1] == '\n' || pin[len - 1] == '\r'))
		len--;
	pin[len] = '\0';
	if (len == 0 || memchr(pin, '\0', len) != NULL) {
		r = SN_ERR_INVALID;
		goto out;
	}
	*pinlen = len;
	r = 0;
 out:
	if (r != 0)
		explicit_bzero(pin, PIN_MAX + 1);
	close(fd);
	return r;
}

struct args {
	int fd;
	const char *module;
	const char *token;
	const char *pin_file;
	const char *softhsm_conf;
	int workers;
};

static int
parse_args(int argc, char **argv, struct args *a)
{
	long long v;

	memset(a, 0, sizeof(*a));
	a->fd = -1;
	a->workers = KEEPER_DEFAULT_WORKERS;
	if (argc < 2 || strcmp(argv[1], "keeper") != 0)
		return SN_ERR_USAGE;
	for (int i = 2; i < argc; i += 2) {
		const char *name = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (val == NULL)
			return SN_ERR_USAGE;
		if (strcmp(name, "--fd") == 0) {
			/* 0-2 are stdio: fd 1 is about to become /dev/null */
			if (sn_parse_int(val, 3, 1 << 20, &v) != 0)
				return SN_ERR_USAGE;
			a->fd = (int)v;
		} else if (strcmp(name, "--module") == 0)
			a->module = val;
		else if (strcmp(name, "--token") == 0)
			a->token = val;
		else if (strcmp(name, "--pin-file") == 0)
			a->pin_file = val;
		else if (strcmp(name, "--softhsm-conf") == 0)
			a->softhsm_conf = val;
		else if (strcmp(name, "--workers") == 0) {
			if (sn_parse_int(val, 1, KEEPER_MAX_WORKERS, &v) != 0)
				return SN_ERR_USAGE;
			a->workers = (int)v;
		} else
			return SN_ERR_USAGE;
	}
	if (a->fd < 0 || a->module == NULL || a->token == NULL ||
	    a->pin_file == NULL)
		return SN_ERR_USAGE;
	return 0;
}

int
keeper_process_main(int argc, char **argv)
{
	struct server s;
	struct args a;
	struct worker_arg *wargs = NULL;
	pthread_t *threads = NULL;
	struct rlimit nocore = { 0, 0 };
	char pin[PIN_MAX + 1];
	size_t pinlen = 0;
	const char *why = NULL;
	uint8_t hello[12];
	int devnull, nthreads = 0, r, ret = 1;

	memset(&s, 0, sizeof(s));
	s.fd = -1;
	/* Before the PIN is in memory: no core dumps, no ptrace by the same uid. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	setrlimit(RLIMIT_CORE, &nocore);
	signal(SIGPIPE, SIG_IGN);
	if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0) {
		dup2(devnull, STDOUT_FILENO);
		if (devnull != STDOUT_FILENO)
			close(devnull);
	}
	if (parse_args(argc, argv, &a) != 0) {
		die_line("usage: keeper --fd N --module PATH --token LABEL "
		    "--pin-file PATH [--softhsm-conf PATH] [--workers N]", NULL);
		return 2;
	}
	if (fcntl(a.fd, F_SETFD, FD_CLOEXEC) != 0) {
		die_line("bad --fd", strerror(errno));
		return 2;
	}
	s.fd = a.fd;
	if (a.softhsm_conf != NULL && setenv("SOFTHSM2_CONF", a.softhsm_conf, 1) != 0) {
		die_line("setenv SOFTHSM2_CONF failed", NULL);
		goto out;
	}
	if ((r = read_pin(a.pin_file, pin, &pinlen)) != 0) {
		die_line("cannot read the PIN file", sn_strerror(r));
		goto out;
	}
	r = keeper_hsm_open(a.module, a.token, pin, pinlen, a.workers, &s.h, &why);
	explicit_bzero(pin, sizeof(pin));
	pinlen = 0;
	if (r != 0) {
		die_line("cannot open the token", why);
		goto out;
	}

	pthread_mutex_init(&s.rlock, NULL);
	pthread_mutex_init(&s.wlock, NULL);
	atomic_init(&s.failed, 0);
	atomic_init(&s.busy, 0);
	atomic_init(&s.answered_ns, 0);
	if ((threads = calloc((size_t)a.workers, sizeof(*threads))) == NULL ||
	    (wargs = calloc((size_t)a.workers, sizeof(*wargs))) == NULL) {
		die_line("out of memory", NULL);
		goto stop;
	}
	for (int i = 0; i < a.workers; i++) {
		wargs[i].s = &s;
		wargs[i].w = keeper_hsm_worker(s.h, i);
		if (pthread_create(&threads[i], NULL, worker_main, &wargs[i]) != 0) {
			die_line("cannot create worker thread", NULL);
			goto stop;
		}
		nthreads++;
	}
	/*
	 * Ready frame: length 8, request id 0, status 0. The workers already
	 * wait in read(); signetd sends nothing before this frame.
	 */
	memset(hello, 0, sizeof(hello));
	hello[3] = 8;
	if (send_frame(&s, hello, sizeof(hello)) != 0)
		goto stop;
	for (int i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	nthreads = 0;
	ret = s.rstatus == 0 ? 0 : 1;
 stop:
	/* on a failed start: wake the workers out of read() */
	shutdown(s.fd, SHUT_RDWR);
	for (int i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	free(threads);
	free(wargs);
 out:
	keeper_hsm_close(s.h);
	explicit_bzero(pin, sizeof(pin));
	if (s.fd >= 0)
		close(s.fd);
	return ret;
}
