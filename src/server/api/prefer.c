/*
 * prefer.c - parsing the Prefer header field (RFC 7240, see prefer.h).
 *
 *   Prefer     = 1#preference
 *   preference = token [ BWS "=" BWS word ] *( OWS ";" [ OWS parameter ] )
 *   parameter  = token [ BWS "=" BWS word ]
 *   word       = token / quoted-string
 *
 * Written by hand because it is this small and none of our libraries has
 * it (libmicrohttpd gives the raw field value).
 */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "prefer.h"

#define PREFER_MAX	2048	/* bytes of a field value looked at */

/* RFC 9110 tchar */
static int
is_tchar(unsigned char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
	    (ch >= 'A' && ch <= 'Z') || (ch != '\0' && strchr("!#$%&'*+-.^_`|~",
	    ch) != NULL);
}

static const char *
skip_ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* A token at p: its length (0: none). */
static size_t
token_len(const char *p)
{
	size_t n = 0;

	while (is_tchar((unsigned char)p[n]))
		n++;
	return n;
}

/*
 * A word (token or quoted-string) at p: sets *w, *wlen (the content of a
 * quoted string, escapes left in) and returns the end, or NULL.
 */
static const char *
word(const char *p, const char **w, size_t *wlen)
{
	const char *s;

	if (*p != '"') {
		if ((*wlen = token_len(p)) == 0)
			return NULL;
		*w = p;
		return p + *wlen;
	}
	for (s = ++p; *s != '"'; s++) {
		if (*s == '\\' && s[1] != '\0' && s[1] != '\r' && s[1] != '\n')
			s++;
		else if (*s == '\0' || *s == '\r' || *s == '\n' ||
		    ((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			return NULL;
	}
	*w = p;
	*wlen = (size_t)(s - p);
	return s + 1;
}

/* "token [BWS = BWS word]" at p; returns the end or NULL. */
static const char *
pair(const char *p, const char **k, size_t *klen, const char **w,
    size_t *wlen)
{
	const char *q;

	if ((*klen = token_len(p)) == 0)
		return NULL;
	*k = p;
	p += *klen;
	*w = NULL;
	*wlen = 0;
	q = skip_ows(p);
	if (*q != '=')
		return p;
	return word(skip_ows(q + 1), w, wlen);
}

static int
same(const char *s, size_t n, const char *want)
{
	return n == strlen(want) && strncasecmp(s, want, n) == 0;
}

int
prefer_has(const char *v, const char *name, const char *value)
{
	const char *p = v, *k, *w, *pk, *pw;
	size_t klen, wlen, pklen, pwlen;
	int found = 0, match;

	if (v == NULL || strnlen(v, PREFER_MAX + 1) > PREFER_MAX)
		return 0;
	for (;;) {
		/* 1#element allows empty list elements: ", ,a" */
		while (*(p = skip_ows(p)) == ',')
			p++;
		if (*p == '\0')
			return found;
		if ((p = pair(p, &k, &klen, &w, &wlen)) == NULL)
			return found;
		/* a quoted value is compared as written, escapes and all
		 * (the values asked about have none) */
		match = same(k, klen, name) && w != NULL && same(w, wlen, value);
		for (;;) {
			p = skip_ows(p);
			if (*p != ';')
				break;
			p = skip_ows(p + 1);
			if (*p == ';' || *p == ',' || *p == '\0')
				continue;	/* "[ OWS parameter ]" */
			if ((p = pair(p, &pk, &pklen, &pw, &pwlen)) == NULL)
				return found;
		}
		/* an element counts only once it has ended well */
		if (*p != ',' && *p != '\0')
			return found;
		found |= match;
		if (*p == '\0')
			return found;
		p++;
	}
}
