/*
 * sign_files.h - the files one `signet sign` signs: collected from --in
 * arguments (files, directories, standard input), hashed here in parallel.
 * Used by cmd_sign.c (and cmd_approval.c: sign_hash_path).
 */
#ifndef SIGNET_SIGN_FILES_H
#define SIGNET_SIGN_FILES_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "alg.h"

#define SIGN_FILES_MAX	100000	/* per command: a runaway guard */

struct sign_item {
	char *path;		/* as given or found; "-" is standard input */
	char *out;		/* where its signature goes; "-" is stdout */
	uint8_t digest[EVP_MAX_MD_SIZE];
	size_t dlen;
	int err;		/* errno of a failed read, 0 if hashed */
};

struct sign_files {
	struct sign_item *items;
	size_t n;
	size_t cap;
};

/*
 * Adds what one --in names: a file; a directory's regular files (all of
 * its tree with `recursive`), those whose name matches `include` (an
 * fnmatch glob; NULL = all) and that are not signatures themselves (names
 * ending in `suffix`), in sorted order; or "-". Each item's out is
 * out_dir/<path relative to the --in directory>suffix when out_dir is set,
 * else <path>suffix. On failure why (whylen bytes) says what went wrong,
 * with the system's reason. 0, SN_ERR_IO, SN_ERR_TOO_LARGE, SN_ERR_NOMEM.
 */
int sign_files_add(struct sign_files *f, const char *in, int recursive,
    const char *include, const char *out_dir, const char *suffix,
    char *why, size_t whylen);

/*
 * Hashes every item with `jobs` threads (at least 1). Sets each item's
 * digest, or its err. Returns the number of items that failed.
 */
size_t sign_files_hash(struct sign_files *f, enum sn_hash hash, int jobs);

/* Streams one file (or fd 0 for "-") through the digest; 0 or an errno. */
int sign_hash_path(const char *path, enum sn_hash hash, uint8_t *out,
    size_t *outlen);

void sign_files_free(struct sign_files *f);

#endif
