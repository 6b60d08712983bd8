/*
 * test_sn_assert.c - SN_ASSERT, SN_ALWAYS and SN_NEVER trap in a debug
 * build (a child process is killed by SIGABRT, having named the file, line
 * and expression) and, in a release build (sn_assert_release.c, compiled
 * with NDEBUG), take the safe branch without trapping. This file forces the
 * debug form whatever the build type, so both are tested in every build.
 */
#undef NDEBUG

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "sn_assert.h"
#include "sn_assert_release.h"

enum which { DO_ASSERT, DO_ALWAYS, DO_NEVER, DO_PASS };

static int evaluated;

static int
count(int v)
{
	evaluated++;
	return v;
}

static void
child(enum which w)
{
	switch (w) {
	case DO_ASSERT:
		SN_ASSERT(count(1) + 1 == 3);
		break;
	case DO_ALWAYS:
		if (!SN_ALWAYS(count(0)))
			_exit(2);	/* the safe branch: not reached */
		break;
	case DO_NEVER:
		if (SN_NEVER(count(1)))
			_exit(2);
		break;
	case DO_PASS:
		SN_ASSERT(count(1) == 1);
		if (!SN_ALWAYS(count(1)) || SN_NEVER(count(0)))
			_exit(2);
		/* each check evaluates its expression exactly once */
		_exit(evaluated == 3 ? 0 : 3);
	}
	_exit(1);		/* returned from a failed check */
}

/* Runs w in a child; its wait status and what it wrote to stderr. */
static int
run(enum which w, char *err, size_t errlen)
{
	int fds[2], status = 0;
	size_t off = 0;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		signal(SIGABRT, SIG_DFL);
		close(fds[0]);
		dup2(fds[1], STDERR_FILENO);
		child(w);
	}
	close(fds[1]);
	while (off + 1 < errlen &&
	    (n = read(fds[0], err + off, errlen - 1 - off)) > 0)
		off += (size_t)n;
	err[off] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void
expect_abort(enum which w, const char *expr)
{
	char err[512], want[256];
	int st;

	st = run(w, err, sizeof(err));
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGABRT);
	snprintf(want, sizeof(want), "assertion '%s' failed", expr);
	assert_non_null(strstr(err, want));
	assert_non_null(strstr(err, "test_sn_assert.c:"));
}

static void
test_assert_aborts(void **state)
{
	(void)state;
	expect_abort(DO_ASSERT, "count(1) + 1 == 3");
}

static void
test_always_aborts(void **state)
{
	(void)state;
	expect_abort(DO_ALWAYS, "count(0)");
}

static void
test_never_aborts(void **state)
{
	(void)state;
	expect_abort(DO_NEVER, "!(count(1))");
}

static void
test_true_checks_pass(void **state)
{
	char err[64];
	int st;

	(void)state;
	st = run(DO_PASS, err, sizeof(err));
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_string_equal(err, "");
}

static void
test_release_takes_safe_branch(void **state)
{
	(void)state;
	/* no trap: the value comes back and the caller fails closed */
	assert_int_equal(release_never(7), 1);
	assert_int_equal(release_never(0), 0);
	assert_int_equal(release_always(0), 0);
	assert_int_equal(release_always(5), 1);
	/* SN_ASSERT has no release-build check: its expression is not run */
	assert_int_equal(release_assert_evaluates(), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_assert_aborts),
		cmocka_unit_test(test_always_aborts),
		cmocka_unit_test(test_never_aborts),
		cmocka_unit_test(test_true_checks_pass),
		cmocka_unit_test(test_release_takes_safe_branch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
