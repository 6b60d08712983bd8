/*
 * archive.h - the file format of `signetd backup`: a POSIX ustar archive
 * holding regular files only, written and read here with no help from
 * tar(1), so that what restore accepts is exactly what backup writes.
 *
 * Reading fails closed: a header with a bad checksum, magic, type, size or
 * name, data past the end marker, or a short file is SN_ERR_INVALID. Names
 * are relative paths of [A-Za-z0-9._-] components separated by '/', none of
 * them "." or "..", so an entry can never name a place outside the
 * directory it is restored into. Any tar(1) can list and extract these
 * archives too (an operator's way out if signetd itself is unavailable).
 *
 * Return convention: 0 or a negative SN_ERR_*; archive_next returns 1 for an
 * entry and 0 at the end marker.
 */
#ifndef SIGNET_ARCHIVE_H
#define SIGNET_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define ARCHIVE_NAME_MAX	255	/* ustar: 155 prefix + '/' + 99 */
#define ARCHIVE_FILE_MAX	(1ULL << 40)	/* bytes per file */

struct archive_entry {
	char name[ARCHIVE_NAME_MAX + 1];
	unsigned mode;			/* permission bits only */
	uint64_t size;
	int64_t mtime;
};

/* 1 if name is a safe relative archive name (see above). */
int archive_name_ok(const char *name);

/*
 * Appends one regular file: a header, then exactly size bytes read from
 * src_fd, then padding. A source shorter than size is SN_ERR_IO (the file
 * shrank while being read). sha256 (may be NULL) receives the digest of the
 * content.
 */
int archive_put_fd(int fd, const char *name, unsigned mode, int64_t mtime,
    int src_fd, uint64_t size, uint8_t sha256[32]) SN_WUR;
/* The same from memory. */
int archive_put_mem(int fd, const char *name, unsigned mode, int64_t mtime,
    const void *data, size_t len, uint8_t sha256[32]) SN_WUR;
/* The end marker (two zero blocks). */
int archive_finish(int fd) SN_WUR;

/*
 * Reads the next header from fd into e: 1 (an entry: its data follows and
 * must be consumed with archive_read_data), 0 (the end marker, and nothing
 * but zero blocks after it up to EOF), or SN_ERR_INVALID / SN_ERR_IO.
 */
int archive_next(int fd, struct archive_entry *e) SN_WUR;
/*
 * Consumes the data of entry e (and its padding): written to out_fd unless
 * it is -1, kept in *mem (malloc'd, NUL-terminated, caller frees) when mem
 * is non-NULL and e->size <= memmax (SN_ERR_TOO_LARGE above), hashed into
 * sha256 (may be NULL).
 */
int archive_read_data(int fd, const struct archive_entry *e, int out_fd,
    char **mem, size_t memmax, uint8_t sha256[32]) SN_WUR;

#endif
