/* sn_assert_release.h - the checks as a release (NDEBUG) build compiles them. */
#ifndef SN_ASSERT_RELEASE_H
#define SN_ASSERT_RELEASE_H

int release_never(int v);		/* SN_NEVER(v) */
int release_always(int v);		/* SN_ALWAYS(v) */
int release_assert_evaluates(void);	/* 1 if SN_ASSERT ran its expression */

#endif
