/*
 * fdio.h - whole reads and writes on a stream socket, for the keeper's
 * socketpair (both ends: keeper/client.c in signetd, keeper/proc.c in the
 * keeper process).
 *
 * Return convention (the callers tell a clean close from a failure):
 * 0 when all len bytes moved, 1 on end of file before that (reads only),
 * -1 on an error or when the deadline passed. EINTR is retried.
 */
#ifndef SIGNET_FDIO_H
#define SIGNET_FDIO_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* CLOCK_MONOTONIC in milliseconds: the clock of every deadline here. */
int64_t fdio_now_ms(void);

/* Reads exactly len bytes; deadline_ms < 0 means no timeout. */
int fdio_read_full(int fd, void *buf, size_t len, int64_t deadline_ms) SN_WUR;

/* Writes exactly len bytes with send(MSG_NOSIGNAL): a peer that went away
 * is -1, never SIGPIPE. */
int fdio_write_full(int fd, const void *buf, size_t len) SN_WUR;

#endif
