/*
 * sn_assert.h - defensive checks for branches that cannot happen, in the
 * manner of SQLite's ALWAYS() and NEVER().
 *
 * Release builds (NDEBUG, the default RelWithDebInfo build) keep the check
 * and take the safe branch: the caller fails closed with SN_ERR_INTERNAL
 * instead of crashing a signing service on a bug. Debug builds (the ASan +
 * UBSan suite builds Debug) trap at the check, so a test that reaches a
 * "cannot happen" branch fails loudly at the line that was wrong instead of
 * passing with a 500:
 *
 *	if (SN_NEVER(len > sizeof(buf)))
 *		return SN_ERR_INTERNAL;
 *	if (!SN_ALWAYS(c != NULL))
 *		return SN_ERR_INTERNAL;
 *	SN_ASSERT(k->refs > 0);		(no release-build check at all)
 *
 * Never wrap a check of input from a peer: that can happen, and must be an
 * ordinary error path.
 */
#ifndef SIGNET_SN_ASSERT_H
#define SIGNET_SN_ASSERT_H

/* Prints "file:line: assertion 'expr' failed" to stderr and aborts. */
void sn_assert_fail(const char *file, int line, const char *expr)
    __attribute__((noreturn));

#ifdef NDEBUG
#define SN_ASSERT(x)	((void)0)
#define SN_ALWAYS(x)	(!!(x))
#define SN_NEVER(x)	(!!(x))
#else
#define SN_ASSERT(x)	((x) ? (void)0 : sn_assert_fail(__FILE__, __LINE__, #x))
#define SN_ALWAYS(x)	((x) ? 1 : (sn_assert_fail(__FILE__, __LINE__, #x), 0))
#define SN_NEVER(x)	((x) ? (sn_assert_fail(__FILE__, __LINE__, "!(" #x ")"), 1) : 0)
#endif

#endif
