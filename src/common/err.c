/*
 * err.c - strings for the SN_ERR_* codes.
 */
#include <stdio.h>
#include <stdlib.h>

#include "sn_assert.h"
#include "err.h"

static const struct {
	int code;
	const char *id;
	const char *text;
} errtab[] = {
	{ SN_OK, "ok", "success" },
	{ SN_ERR_NOMEM, "internal", "out of memory" },
	{ SN_ERR_INVALID, "invalid_request", "invalid input" },
	{ SN_ERR_NOT_FOUND, "not_found", "not found" },
	{ SN_ERR_CONFLICT, "conflict", "conflict" },
	{ SN_ERR_FORBIDDEN, "forbidden", "permission denied" },
	{ SN_ERR_UNAUTHENTICATED, "unauthenticated", "authentication required or failed" },
	{ SN_ERR_TOO_LARGE, "too_large", "input too large" },
	{ SN_ERR_IO, "internal", "I/O error" },
	{ SN_ERR_CRYPTO, "internal", "cryptographic operation failed" },
	{ SN_ERR_DB, "internal", "database error" },
	{ SN_ERR_HSM, "hsm_error", "HSM operation failed" },
	{ SN_ERR_UNAVAILABLE, "unavailable", "service temporarily unavailable" },
	{ SN_ERR_INTERNAL, "internal", "internal error" },
	{ SN_ERR_PROTOCOL, "protocol_error", "protocol error" },
	{ SN_ERR_NETWORK, "network_error", "network error" },
	{ SN_ERR_TLS, "tls_error", "TLS error" },
	{ SN_ERR_RATE_LIMITED, "rate_limited", "rate limited" },
	{ SN_ERR_USAGE, "usage", "usage error" },
	{ SN_ERR_MEDIA_TYPE, "unsupported_media_type", "unsupported media type" },
};

const char *
sn_strerror(int err)
{
	for (unsigned i = 0; i < sizeof(errtab) / sizeof(errtab[0]); i++)
		if (errtab[i].code == err)
			return errtab[i].text;
	return "unknown error";
}

const char *
sn_errcode(int err)
{
	for (unsigned i = 0; i < sizeof(errtab) / sizeof(errtab[0]); i++)
		if (errtab[i].code == err)
			return errtab[i].id;
	return "internal";
}

void
sn_assert_fail(const char *file, int line, const char *expr)
{
	fprintf(stderr, "%s:%d: assertion '%s' failed\n", file, line, expr);
	abort();
}
