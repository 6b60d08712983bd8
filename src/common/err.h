/*
 * err.h - the one error vocabulary of Signet.
 *
 * Every internal function returns 0 (SN_OK) on success or a negative SN_ERR_*
 * code on failure. Codes are translated only at the edges: to an HTTP status
 * and JSON body in signetd, to a CK_RV in the PKCS#11 module, to an exit code
 * in the CLI. Nothing in between invents its own error numbers.
 */
#ifndef SIGNET_ERR_H
#define SIGNET_ERR_H

enum sn_err {
	SN_OK = 0,
	SN_ERR_NOMEM = -1,		/* allocation failed */
	SN_ERR_INVALID = -2,		/* bad input: malformed, wrong type, out of range */
	SN_ERR_NOT_FOUND = -3,		/* no such object (or not visible to the actor) */
	SN_ERR_CONFLICT = -4,		/* duplicate name, state conflict */
	SN_ERR_FORBIDDEN = -5,		/* authenticated, but not allowed */
	SN_ERR_UNAUTHENTICATED = -6,	/* no, bad, expired or revoked credentials */
	SN_ERR_TOO_LARGE = -7,		/* input over a size limit */
	SN_ERR_IO = -8,			/* file or socket I/O failed */
	SN_ERR_CRYPTO = -9,		/* an OpenSSL operation failed */
	SN_ERR_DB = -10,		/* the database failed */
	SN_ERR_HSM = -11,		/* the PKCS#11 token refused or failed */
	SN_ERR_UNAVAILABLE = -12,	/* a dependency is down (keeper, server) */
	SN_ERR_INTERNAL = -13,		/* a "cannot happen" check fired */
	SN_ERR_PROTOCOL = -14,		/* a peer spoke something we do not understand */
	SN_ERR_NETWORK = -15,		/* connection failed */
	SN_ERR_TLS = -16,		/* TLS handshake or verification failed */
	SN_ERR_RATE_LIMITED = -17,	/* too many requests */
	SN_ERR_USAGE = -18,		/* command-line usage error */
	SN_ERR_MEDIA_TYPE = -19,	/* a body in a format the endpoint does not take */
};

/* Returns a static, human readable string for an SN_ERR_* code. Never NULL. */
const char *sn_strerror(int err);

/* Returns the lower-case machine code used in JSON errors ("not_found", ...). */
const char *sn_errcode(int err);

#endif
