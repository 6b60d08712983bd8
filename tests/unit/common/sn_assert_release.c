/*
 * sn_assert_release.c - the checks compiled as a release build compiles
 * them (NDEBUG), whatever this build's type, for test_sn_assert.c.
 */
#ifndef NDEBUG
#define NDEBUG
#endif

#include "sn_assert.h"
#include "sn_assert_release.h"

static int ran;

/* Only SN_ASSERT's expression calls it, which NDEBUG compiles away. */
static int __attribute__((unused))
mark(void)
{
	ran = 1;
	return 0;
}

int
release_never(int v)
{
	return SN_NEVER(v);
}

int
release_always(int v)
{
	return SN_ALWAYS(v);
}

int
release_assert_evaluates(void)
{
	ran = 0;
	SN_ASSERT(mark());
	return ran;
}
