/*
 * sn_never_test.h - assert_never(expr, want): a broken caller's contract
 * reaches a "cannot happen" check (SN_NEVER/SN_ALWAYS/SN_ASSERT,
 * src/common/sn_assert.h). expr runs in a child process: a debug build must
 * trap there (SIGABRT), a release build (NDEBUG) must take the safe branch
 * and return want. The parent's state is untouched either way, so expr must
 * not need the parent to see its effects; it must not write on a socket the
 * parent goes on using (a PostgreSQL connection: open a fresh one in expr).
 */
#ifndef SIGNET_SN_NEVER_TEST_H
#define SIGNET_SN_NEVER_TEST_H

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef NDEBUG
#define SN_NEVER_TEST_TRAPS	0
#else
#define SN_NEVER_TEST_TRAPS	1
#endif

#define assert_never(expr, want) do {					\
	int st_ = 0, fd_;						\
	pid_t pid_;							\
									\
	fflush(NULL);							\
	assert_true((pid_ = fork()) >= 0);				\
	if (pid_ == 0) {						\
		signal(SIGABRT, SIG_DFL);				\
		/* the trap's message is expected: keep the log clean */ \
		if ((fd_ = open("/dev/null", O_WRONLY)) >= 0)		\
			dup2(fd_, STDERR_FILENO);			\
		_exit((expr) == (want) ? 0 : 1);			\
	}								\
	assert_int_equal(waitpid(pid_, &st_, 0), pid_);			\
	if (SN_NEVER_TEST_TRAPS) {					\
		assert_true(WIFSIGNALED(st_));				\
		assert_int_equal(WTERMSIG(st_), SIGABRT);		\
	} else {							\
		assert_true(WIFEXITED(st_));				\
		assert_int_equal(WEXITSTATUS(st_), 0);			\
	}								\
} while (0)

#endif
