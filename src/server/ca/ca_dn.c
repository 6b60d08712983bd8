/*
 * ca_dn.c - the subject DN strings users type ("CN=Foo, O=Bar Inc, C=DE").
 *
 * The input comes from the API (signet key create --subject), so the parser
 * is strict and small: a fixed list of attributes, bounded lengths, valid
 * UTF-8, no control characters, and every ambiguity ("CN=x,", "CN=x,,O=y",
 * a dangling backslash, an unknown escape) is an error rather than a guess.
 * Unescaped '=' and ';' inside a value are rejected ("CN=Foo O=Bar" is a
 * missing comma); '+' is literal (we never build multi-valued RDNs).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "ca.h"
#include "err.h"

#define DN_MAX_LEN 1024
#define DN_MAX_ATTRS 16
#define DN_VALUE_MAX_CHARS 64

static const struct {
	const char *name;
	int nid;
} dn_attrs[] = {
	{ "CN", NID_commonName },
	{ "O", NID_organizationName },
	{ "OU", NID_organizationalUnitName },
	{ "C", NID_countryName },
	{ "L", NID_localityName },
	{ "ST", NID_stateOrProvinceName },
	{ "emailAddress", NID_pkcs9_emailAddress },
};

static int
is_space(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Counts the code points of a UTF-8 string, rejecting malformed sequences,
 * overlong forms, surrogates, and C0/C1 control characters and DEL.
 * Returns -1 on error.
 */
static long
utf8_chars(const unsigned char *s, size_t n)
{
	long count = 0;
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		unsigned long cp;
		size_t k;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return -1;
			i++;
			count++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			k = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			k = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3;
			cp = c & 0x07;
		} else
			return -1;
		if (n - i <= k)
			return -1;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return -1;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
		    (cp >= 0x80 && cp <= 0x9f))
			return -1;
		i += k + 1;
		count++;
	}
	return count;
}

static int
attr_nid(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(dn_attrs) / sizeof(dn_attrs[0]); i++)
		if (strlen(dn_attrs[i].name) == len &&
		    strncasecmp(dn_attrs[i].name, name, len) == 0)
			return dn_attrs[i].nid;
	return NID_undef;
}

/* Characters that a backslash may escape (RFC 4514 specials we emit). */
static int
escapable(char c)
{
	return c != '\0' && strchr(",\\=+;\"<>#", c) != NULL;
}

int
ca_parse_dn(const char *dn, X509_NAME **out)
{
	X509_NAME *name = NULL;
	char val[DN_MAX_LEN + 1];
	const char *p, *key;
	size_t keylen, vlen, vend, n;
	int nid, nattrs = 0, r;
	long chars;

	if (out != NULL)
		*out = NULL;
	if (dn == NULL || out == NULL || (n = strnlen(dn, DN_MAX_LEN + 1)) == 0 ||
	    n > DN_MAX_LEN) {
		r = SN_ERR_INVALID;
		goto out;
	}
	if ((name = X509_NAME_new()) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	p = dn;
	for (;;) {
		/* attribute name */
		while (is_space(*p))
			p++;
		key = p;
		while (isascii((unsigned char)*p) && isalpha((unsigned char)*p))
			p++;
		keylen = (size_t)(p - key);
		while (is_space(*p))
			p++;
		if (keylen == 0 || *p != '=' ||
		    (nid = attr_nid(key, keylen)) == NID_undef) {
			r = SN_ERR_INVALID;
			goto out;
		}
		p++;
		/* value: up to an unescaped ',' or the end, outer spaces trimmed */
		while (is_space(*p))
			p++;
		vlen = vend = 0;
		for (; *p != '\0' && *p != ','; p++) {
			if (*p == '\\') {
				if (!escapable(p[1])) {
					r = SN_ERR_INVALID;
					goto out;
				}
				p++;
				val[vlen++] = *p;
				vend = vlen;	/* an escaped char is never trimmed */
				continue;
			}
			/*
			 * "CN=Foo O=Bar" is a forgotten comma far more often
			 * than a value with '=' in it; that one says "\=".
			 * ';' is RFC 1779's separator.
			 */
			if (*p == '=' || *p == ';') {
				r = SN_ERR_INVALID;
				goto out;
			}
			val[vlen++] = *p;
			if (!is_space(*p))
				vend = vlen;
		}
		vlen = vend;
		val[vlen] = '\0';
		chars = utf8_chars((const unsigned char *)val, vlen);
		if (chars < 1 || chars > DN_VALUE_MAX_CHARS) {
			r = SN_ERR_INVALID;
			goto out;
		}
		if (nid == NID_countryName) {
			if (vlen != 2 || !isalpha((unsigned char)val[0]) ||
			    !isalpha((unsigned char)val[1])) {
				r = SN_ERR_INVALID;
				goto out;
			}
			val[0] = (char)toupper((unsigned char)val[0]);
			val[1] = (char)toupper((unsigned char)val[1]);
		}
		if (++nattrs > DN_MAX_ATTRS) {
			r = SN_ERR_INVALID;
			goto out;
		}
		/*
		 * The string is in RFC 4514 order (most specific first); the
		 * encoded Name starts with the least specific, so each new RDN
		 * goes in front. OpenSSL's string table checks the ASN.1 type
		 * (emailAddress must be IA5, C PrintableString).
		 */
		if (!X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8,
		    (const unsigned char *)val, (int)vlen, 0, 0)) {
			ERR_clear_error();
			r = SN_ERR_INVALID;
			goto out;
		}
		if (*p == '\0')
			break;
		p++;	/* ',' - and something must follow it */
	}
	*out = name;
	name = NULL;
	r = 0;
 out:
	X509_NAME_free(name);
	return r;
}
