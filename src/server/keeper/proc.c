/*
 * proc.c - the keeper process: `<signetd> keeper --fd N ...`.
 *
 * Reads the token PIN, logs in, wipes the PIN, then serves request frames on
 * the inherited socket with one thread per PKCS#11 session, so several
 * signatures are in flight at once; responses go back in completion order,
 * matched by request id. The process exits when the socket closes, when the
 * peer breaks the protocol, or when the token session becomes unusable (the
 * PIN is gone, so it cannot log in again; signetd starts a fresh keeper).
 *
 * It never writes to stdout (fd 1 is /dev/null) and is not dumpable, so
 * neither a core file nor ptrace by the same user reveals the PIN or the
 * session.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "fdio.h"
#include "kbuf.h"
#include "keeper_int.h"
#include "util.h"

#define PIN_MAX		256
#define QUEUE_MAX	256	/* frames read but not yet handled */

struct job {
	struct job *next;
	uint8_t *frame;
	size_t len;
};

struct server {
	int fd;
	struct keeper_hsm *h;
	pthread_mutex_t qlock;
	pthread_cond_t qnonempty;
	pthread_cond_t qspace;
	struct job *head, *tail;
	size_t qlen;
	int closing;
	pthread_mutex_t wlock;
	atomic_int failed;
};

struct worker_arg {
	struct server *s;
	struct keeper_worker *w;
};

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

static void *
worker_main(void *arg)
{
	struct worker_arg *wa = arg;
	struct server *s = wa->s;
	struct job *j;
	uint8_t *out;
	size_t outlen;

	for (;;) {
		pthread_mutex_lock(&s->qlock);
		while (s->head == NULL && !s->closing)
			pthread_cond_wait(&s->qnonempty, &s->qlock);
		if ((j = s->head) == NULL) {
			pthread_mutex_unlock(&s->qlock);
			break;
		}
		if ((s->head = j->next) == NULL)
			s->tail = NULL;
		s->qlen--;
		pthread_cond_signal(&s->qspace);
		pthread_mutex_unlock(&s->qlock);

		if (atomic_load(&s->failed)) {
			/* answering after a protocol failure is pointless */
		} else if (keeper_handle(wa->w, j->frame, j->len, &out, &outlen) != 0) {
			fail_connection(s, "protocol error from signetd");
		} else {
			if (send_frame(s, out, outlen) != 0)
				fail_connection(s, NULL);
			free(out);
		}
		/* Requests carry no secrets, but digests need not linger. */
		sn_freezero(j->frame, j->len);
		free(j);
		if (keeper_hsm_broken(s->h))
			fail_connection(s, "token session failed; exiting");
	}
	return NULL;
}

/* Reads frames and queues them until EOF or a framing error. */
static int
serve(struct server *s)
{
	uint8_t hdr[KEEPER_HDR_LEN];
	struct job *j;
	uint32_t len;
	int r;

	for (;;) {
		if ((r = fdio_read_full(s->fd, hdr, sizeof(hdr), -1)) != 0)
			return r == 1 || atomic_load(&s->failed) ? 0 : -1;
		len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
		    (uint32_t)hdr[2] << 8 | hdr[3];
		if (len > KEEPER_FRAME_MAX || len < 5) {
			fail_connection(s, "bad frame length from signetd");
			return -1;
		}
		if ((j = calloc(1, sizeof(*j))) == NULL ||
		    (j->frame = malloc(KEEPER_HDR_LEN + (size_t)len)) == NULL) {
			free(j);
			die_line("out of memory", NULL);
			return -1;
		}
		j->len = KEEPER_HDR_LEN + (size_t)len;
		memcpy(j->frame, hdr, sizeof(hdr));
		if (fdio_read_full(s->fd, j->frame + KEEPER_HDR_LEN, len, -1) != 0) {
			free(j->frame);
			free(j);
			return atomic_load(&s->failed) ? 0 : -1;
		}
		pthread_mutex_lock(&s->qlock);
		while (s->qlen >= QUEUE_MAX)
			pthread_cond_wait(&s->qspace, &s->qlock);
		if (s->tail != NULL)
			s->tail->next = j;
		else
			s->head = j;
		s->tail = j;
		s->qlen++;
		pthread_cond_signal(&s->qnonempty);
		pthread_mutex_unlock(&s->qlock);
	}
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

	pthread_mutex_init(&s.qlock, NULL);
	pthread_cond_init(&s.qnonempty, NULL);
	pthread_cond_init(&s.qspace, NULL);
	pthread_mutex_init(&s.wlock, NULL);
	atomic_init(&s.failed, 0);
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
	/* Ready frame: length 8, request id 0, status 0. */
	memset(hello, 0, sizeof(hello));
	hello[3] = 8;
	if (send_frame(&s, hello, sizeof(hello)) != 0)
		goto stop;
	ret = serve(&s) == 0 ? 0 : 1;
 stop:
	pthread_mutex_lock(&s.qlock);
	s.closing = 1;
	pthread_cond_broadcast(&s.qnonempty);
	pthread_mutex_unlock(&s.qlock);
	for (int i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	while (s.head != NULL) {
		struct job *j = s.head;
		s.head = j->next;
		free(j->frame);
		free(j);
	}
	free(threads);
	free(wargs);
 out:
	keeper_hsm_close(s.h);
	explicit_bzero(pin, sizeof(pin));
	if (s.fd >= 0)
		close(s.fd);
	return ret;
}
