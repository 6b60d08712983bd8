/*
 * fuzz_clock.c - a fixed clock for the fuzz harnesses (test double; linked
 * only into fuzz_* binaries, never into signetd).
 *
 * Defining time() in the executable interposes the C library's for the
 * whole process (sn_now(), OpenSSL, this code), so an input behaves the
 * same on every run: the JWT seeds (fuzz/make_seeds.py) are dated at
 * FUZZ_NOW and stay valid, and no finding depends on the hour it ran.
 * libFuzzer itself measures time with clock_gettime, which is untouched.
 */
#include <time.h>

#include "fuzz_world.h"

time_t
time(time_t *t)
{
	if (t != NULL)
		*t = FUZZ_NOW;
	return FUZZ_NOW;
}
