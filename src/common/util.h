/*
 * util.h - small helpers every part of Signet uses: secret wiping, random
 * identifiers, time and durations, bounded file reading.
 */
#ifndef SIGNET_UTIL_H
#define SIGNET_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define SN_WUR __attribute__((warn_unused_result))

/* Wipes then frees; accepts NULL. Use for every buffer that held a secret. */
void sn_freezero(void *p, size_t len);
/* Wipes a NUL-terminated string then frees it; accepts NULL. */
void sn_strfreezero(char *s);

/*
 * Makes jansson wipe every block it frees. JSON in signetd and the CLI
 * carries secrets (new API keys, access tokens, JWT assertions), and
 * jansson frees strings and grown buffers without clearing them. Call once
 * at the start of main(), before any JSON is made; never from a library
 * loaded into someone else's process (it changes jansson globally).
 */
void sn_json_wipe_on_free(void);

/* Fills buf with len bytes from the OS CSPRNG (via OpenSSL). 0 or SN_ERR_*. */
int sn_random_bytes(void *buf, size_t len) SN_WUR;

/*
 * Makes a new object id "<prefix>_<32 lower-case hex chars>" (128 random bits)
 * into a malloc'd string. Returns 0 or SN_ERR_NOMEM / SN_ERR_CRYPTO.
 */
int sn_new_id(const char *prefix, char **out) SN_WUR;

/* Seconds since the epoch. */
int64_t sn_now(void);

/*
 * Parses a duration such as "90d", "12h", "30m", "45s", "2w", "1y" (365d) or a
 * bare number of seconds into seconds. Rejects zero, negatives, overflow and
 * trailing garbage. Returns 0 or SN_ERR_INVALID.
 */
int sn_parse_duration(const char *s, int64_t *secs) SN_WUR;

/* Formats t as RFC 3339 UTC ("2026-11-28T04:49:15Z") into buf (>= 21 bytes). */
void sn_format_time(int64_t t, char buf[32]);
/*
 * Parses RFC 3339 UTC "YYYY-MM-DDTHH:MM:SSZ" (or a bare date "YYYY-MM-DD").
 * Returns 0 or SN_ERR_INVALID.
 */
int sn_parse_time(const char *s, int64_t *t) SN_WUR;

/*
 * Strict decimal integer parse of the whole string into [min, max].
 * The replacement for atoi/strtol-without-checks. 0 or SN_ERR_INVALID.
 */
int sn_parse_int(const char *s, long long min, long long max, long long *out) SN_WUR;

/*
 * Reads a whole file into a malloc'd, NUL-terminated buffer of at most max
 * bytes. Returns 0, SN_ERR_IO, SN_ERR_TOO_LARGE or SN_ERR_NOMEM.
 */
int sn_read_file(const char *path, size_t max, char **out, size_t *outlen) SN_WUR;

/*
 * Writes data to path atomically (temp file + rename) with the given mode.
 * Returns 0 or SN_ERR_IO.
 */
int sn_write_file(const char *path, const void *data, size_t len, unsigned mode) SN_WUR;
/*
 * The same without the fsync, for many files written in a row that the
 * caller makes durable once (sync()) at the end. errno says why on failure.
 */
int sn_write_file_nosync(const char *path, const void *data, size_t len,
    unsigned mode) SN_WUR;

#endif
