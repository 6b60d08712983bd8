/*
 * kbuf.c - bounded buffers and cursors: the keeper protocol's frames, HTTP
 * bodies in both directions, files read whole (docs/internals/KBUF.md).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "kbuf.h"
#include "sn_assert.h"

void
kbuf_init(struct kbuf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
kbuf_init_secret(struct kbuf *b, size_t max)
{
	kbuf_init(b, max);
	b->secret = 1;
}

void
kbuf_free(struct kbuf *b)
{
	if (b == NULL)
		return;
	if (b->secret)
		sn_freezero(b->data, b->cap);
	else
		free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void
kbuf_steal(struct kbuf *b, uint8_t **out, size_t *outlen)
{
	*out = b->data;
	*outlen = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
}

/*
 * Makes room for n more bytes of content, never beyond max, plus extra bytes
 * of storage past the content (kbuf_nul's terminator, which is not content
 * and so may sit one past max). Storage stops at max + 1, not max, so that a
 * text buffer filled to max is not copied once more for its terminator.
 */
static int
reserve(struct kbuf *b, size_t n, size_t extra)
{
	size_t ncap, limit;
	uint8_t *nd;

	if (n > b->max || b->max - n < b->len || n > SIZE_MAX - extra)
		return SN_ERR_TOO_LARGE;
	if (b->cap - b->len >= n + extra)
		return 0;
	limit = b->max == SIZE_MAX ? SIZE_MAX : b->max + 1;
	if (limit - b->len < n + extra)
		return SN_ERR_TOO_LARGE;	/* only when max is SIZE_MAX */
	ncap = b->cap < 256 ? 256 : b->cap;
	if (ncap > limit)
		ncap = limit;
	while (ncap - b->len < n + extra)
		ncap = ncap > limit / 2 ? limit : ncap * 2;
	if ((nd = malloc(ncap)) == NULL)
		return SN_ERR_NOMEM;
	if (b->len > 0)
		memcpy(nd, b->data, b->len);
	if (b->secret)
		sn_freezero(b->data, b->cap);
	else
		free(b->data);
	b->data = nd;
	b->cap = ncap;
	return 0;
}

int
kbuf_put(struct kbuf *b, const void *p, size_t len)
{
	int r;

	if ((r = reserve(b, len, 0)) != 0)
		return r;
	if (len > 0)
		memcpy(b->data + b->len, p, len);
	b->len += len;
	return 0;
}

int
kbuf_put_u8(struct kbuf *b, uint8_t v)
{
	return kbuf_put(b, &v, 1);
}

int
kbuf_put_u32(struct kbuf *b, uint32_t v)
{
	uint8_t x[4] = { v >> 24, v >> 16, v >> 8, v };

	return kbuf_put(b, x, sizeof(x));
}

int
kbuf_put_bytes(struct kbuf *b, const void *p, size_t len)
{
	int r;

	if (len > UINT32_MAX)
		return SN_ERR_TOO_LARGE;
	/* Check the whole field first so a failure leaves b unchanged. */
	if ((r = reserve(b, len, 0)) != 0 || (r = reserve(b, 4 + len, 0)) != 0)
		return r;
	if ((r = kbuf_put_u32(b, (uint32_t)len)) != 0)
		return r;
	return kbuf_put(b, p, len);
}

int
kbuf_nul(struct kbuf *b)
{
	int r;

	if ((r = reserve(b, 0, 1)) != 0)
		return r;
	b->data[b->len] = '\0';
	return 0;
}

int
kbuf_steal_str(struct kbuf *b, char **out, size_t *outlen)
{
	int r;

	*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	if ((r = kbuf_nul(b)) != 0)
		return r;
	*out = (char *)b->data;
	if (outlen != NULL)
		*outlen = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return 0;
}

int
kbuf_poke_u32(struct kbuf *b, size_t off, uint32_t v)
{
	/* off is where the caller put a placeholder before */
	if (SN_NEVER(off > b->len || b->len - off < 4))
		return SN_ERR_INTERNAL;
	b->data[off] = v >> 24;
	b->data[off + 1] = v >> 16;
	b->data[off + 2] = v >> 8;
	b->data[off + 3] = v;
	return 0;
}

void
kcur_init(struct kcur *c, const void *p, size_t len)
{
	c->p = p;
	c->len = len;
	c->off = 0;
}

int
kcur_get_raw(struct kcur *c, size_t n, const uint8_t **p)
{
	*p = NULL;
	if (c->off > c->len || c->len - c->off < n)
		return SN_ERR_PROTOCOL;
	*p = c->p + c->off;
	c->off += n;
	return 0;
}

int
kcur_get_u8(struct kcur *c, uint8_t *v)
{
	const uint8_t *p;
	int r;

	*v = 0;
	if ((r = kcur_get_raw(c, 1, &p)) != 0)
		return r;
	*v = p[0];
	return 0;
}

int
kcur_get_u32(struct kcur *c, uint32_t *v)
{
	const uint8_t *p;
	int r;

	*v = 0;
	if ((r = kcur_get_raw(c, 4, &p)) != 0)
		return r;
	*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
	return 0;
}

int
kcur_get_bytes(struct kcur *c, size_t max, const uint8_t **p, size_t *len)
{
	size_t save = c->off;
	uint32_t n;
	int r;

	*p = NULL;
	*len = 0;
	if ((r = kcur_get_u32(c, &n)) != 0)
		return r;
	if (n > max || (r = kcur_get_raw(c, n, p)) != 0) {
		c->off = save;
		return SN_ERR_PROTOCOL;
	}
	*len = n;
	return 0;
}

int
kcur_end(const struct kcur *c)
{
	return c->off == c->len ? 0 : SN_ERR_PROTOCOL;
}
