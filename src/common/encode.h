/*
 * encode.h - base64, base64url and hex, strict in what they accept.
 *
 * Decoders reject anything that is not canonical encoding (bad characters,
 * wrong padding, trailing garbage) so that two different strings never decode
 * to the same bytes. All functions return 0 or a negative SN_ERR_* code;
 * outputs are malloc'd and owned by the caller (free()), NUL-terminated for
 * strings. *out is NULL on failure.
 */
#ifndef SIGNET_ENCODE_H
#define SIGNET_ENCODE_H

#include <stddef.h>
#include <stdint.h>

int sn_b64_encode(const uint8_t *in, size_t len, char **out);
int sn_b64_decode(const char *in, size_t inlen, uint8_t **out, size_t *outlen);
/* base64url without padding (RFC 4648 section 5), as JWT uses it. */
int sn_b64url_encode(const uint8_t *in, size_t len, char **out);
int sn_b64url_decode(const char *in, size_t inlen, uint8_t **out, size_t *outlen);
/* Lower-case hex. */
int sn_hex_encode(const uint8_t *in, size_t len, char **out);
int sn_hex_decode(const char *in, size_t inlen, uint8_t **out, size_t *outlen);
/* The value of one hex digit (either case), or -1: for %XX decoders. */
int sn_hexval(int c);

#endif
