/*
 * fdio.c - whole reads and writes on a stream socket (see fdio.h).
 *
 * A deadline is polled in slices of at most a second so a caller's clock
 * check stays fresh; nothing here allocates or logs.
 */
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fdio.h"

int64_t
fdio_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
fdio_read_full(int fd, void *buf, size_t len, int64_t deadline_ms)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n;

		if (deadline_ms >= 0) {
			struct pollfd pfd = { fd, POLLIN, 0 };
			int64_t left = deadline_ms - fdio_now_ms();
			int pr;

			if (left <= 0)
				return -1;
			pr = poll(&pfd, 1, left > 1000 ? 1000 : (int)left);
			if (pr < 0 && errno != EINTR)
				return -1;
			if (pr <= 0)
				continue;
		}
		n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? 1 : -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
fdio_write_full(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
