/*
 * encode.c - strict base64 / base64url / hex codecs.
 *
 * Written here rather than taken from OpenSSL's EVP_DecodeBlock because that
 * one silently accepts whitespace and non-canonical padding, and pads its
 * output length; signature and digest input must decode exactly or not at all.
 */
#include <stdlib.h>
#include <string.h>

#include "encode.h"
#include "err.h"

static const char b64std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int
b64_encode(const char *alpha, int pad, const uint8_t *in, size_t len, char **out)
{
	size_t olen, i, o = 0;
	char *s;

	*out = NULL;
	if (len > (SIZE_MAX / 4) - 4)
		return SN_ERR_TOO_LARGE;
	olen = ((len + 2) / 3) * 4 + 1;
	if ((s = malloc(olen)) == NULL)
		return SN_ERR_NOMEM;
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		s[o++] = alpha[(v >> 18) & 63];
		s[o++] = alpha[(v >> 12) & 63];
		s[o++] = alpha[(v >> 6) & 63];
		s[o++] = alpha[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		s[o++] = alpha[(v >> 18) & 63];
		s[o++] = alpha[(v >> 12) & 63];
		if (i + 1 < len)
			s[o++] = alpha[(v >> 6) & 63];
		else if (pad)
			s[o++] = '=';
		if (pad)
			s[o++] = '=';
	}
	s[o] = '\0';
	*out = s;
	return SN_OK;
}

static int
b64_val(const char *alpha, char c)
{
	const char *p;

	if (c == '\0' || (p = strchr(alpha, c)) == NULL)
		return -1;
	return (int)(p - alpha);
}

static int
b64_decode(const char *alpha, int pad, const char *in, size_t inlen,
    uint8_t **out, size_t *outlen)
{
	size_t full, rem, i, o = 0, npad = 0;
	uint8_t *d;
	int v[4];

	*out = NULL;
	*outlen = 0;
	if (pad) {
		if (inlen % 4 != 0)
			return SN_ERR_INVALID;
		if (inlen >= 1 && in[inlen - 1] == '=')
			npad++;
		if (inlen >= 2 && in[inlen - 2] == '=')
			npad++;
		inlen -= npad;
	}
	full = inlen / 4;
	rem = inlen % 4;
	if (rem == 1 || (pad && npad != 0 && rem != 4 - npad))
		return SN_ERR_INVALID;
	if ((d = malloc(full * 3 + 3)) == NULL)
		return SN_ERR_NOMEM;
	for (i = 0; i < full; i++) {
		for (int k = 0; k < 4; k++)
			if ((v[k] = b64_val(alpha, in[i * 4 + k])) < 0)
				goto bad;
		d[o++] = (uint8_t)(v[0] << 2 | v[1] >> 4);
		d[o++] = (uint8_t)((v[1] & 15) << 4 | v[2] >> 2);
		d[o++] = (uint8_t)((v[2] & 3) << 6 | v[3]);
	}
	if (rem > 0) {
		for (size_t k = 0; k < rem; k++)
			if ((v[k] = b64_val(alpha, in[full * 4 + k])) < 0)
				goto bad;
		d[o++] = (uint8_t)(v[0] << 2 | v[1] >> 4);
		if (rem == 2 && (v[1] & 15) != 0)
			goto bad;	/* non-canonical: stray low bits */
		if (rem == 3) {
			d[o++] = (uint8_t)((v[1] & 15) << 4 | v[2] >> 2);
			if ((v[2] & 3) != 0)
				goto bad;
		}
	}
	*out = d;
	*outlen = o;
	return SN_OK;
 bad:
	free(d);
	return SN_ERR_INVALID;
}

int
sn_b64_encode(const uint8_t *in, size_t len, char **out)
{
	return b64_encode(b64std, 1, in, len, out);
}

int
sn_b64_decode(const char *in, size_t inlen, uint8_t **out, size_t *outlen)
{
	return b64_decode(b64std, 1, in, inlen, out, outlen);
}

int
sn_b64url_encode(const uint8_t *in, size_t len, char **out)
{
	return b64_encode(b64url, 0, in, len, out);
}

int
sn_b64url_decode(const char *in, size_t inlen, uint8_t **out, size_t *outlen)
{
	return b64_decode(b64url, 0, in, inlen, out, outlen);
}

int
sn_hex_encode(const uint8_t *in, size_t len, char **out)
{
	static const char hx[] = "0123456789abcdef";
	char *s;

	*out = NULL;
	if (len > SIZE_MAX / 2 - 1)
		return SN_ERR_TOO_LARGE;
	if ((s = malloc(len * 2 + 1)) == NULL)
		return SN_ERR_NOMEM;
	for (size_t i = 0; i < len; i++) {
		s[i * 2] = hx[in[i] >> 4];
		s[i * 2 + 1] = hx[in[i] & 15];
	}
	s[len * 2] = '\0';
	*out = s;
	return SN_OK;
}

int
sn_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
sn_hex_decode(const char *in, size_t inlen, uint8_t **out, size_t *outlen)
{
	uint8_t *d;

	*out = NULL;
	*outlen = 0;
	if (inlen % 2 != 0)
		return SN_ERR_INVALID;
	if ((d = malloc(inlen / 2 + 1)) == NULL)
		return SN_ERR_NOMEM;
	for (size_t i = 0; i < inlen / 2; i++) {
		int hi = sn_hexval(in[i * 2]), lo = sn_hexval(in[i * 2 + 1]);
		if (hi < 0 || lo < 0) {
			free(d);
			return SN_ERR_INVALID;
		}
		d[i] = (uint8_t)(hi << 4 | lo);
	}
	*out = d;
	*outlen = inlen / 2;
	return SN_OK;
}
