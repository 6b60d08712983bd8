/*
 * stop_process.h - SIGSTOP a process and wait until it has stopped, for the
 * unit tests that freeze the keeper. kill() only queues the signal: every
 * thread stops when it next runs, so a request sent right after kill() can
 * still be read and answered by a keeper worker that was running (workers
 * read their own frames, keeper/proc.c). Waits until every thread of pid
 * shows state T in /proc (at most 2 s), else fails the test. Include after
 * <cmocka.h>.
 */
#ifndef SIGNET_TEST_STOP_PROCESS_H
#define SIGNET_TEST_STOP_PROCESS_H

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

/* 1 when every thread of pid is stopped, 0 when one is not, -1 on error. */
static int
all_threads_stopped(pid_t pid)
{
	char path[64], buf[512], *p;
	struct dirent *de;
	int ok = 1, seen = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while (ok && (de = readdir(d)) != NULL) {
		FILE *f;
		size_t n = 0;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.20s/stat",
		    (int)pid, de->d_name);
		if ((f = fopen(path, "r")) != NULL) {
			n = fread(buf, 1, sizeof(buf) - 1, f);
			fclose(f);
		}
		buf[n] = '\0';
		/* "tid (comm) S ...": the state follows the last ')' */
		p = strrchr(buf, ')');
		ok = p != NULL && p[1] == ' ' && (p[2] == 'T' || p[2] == 't');
		seen++;
	}
	closedir(d);
	return seen > 0 ? ok : -1;
}

static void
stop_process(pid_t pid)
{
	assert_true(pid > 0);	/* never kill(-1, ...) */
	assert_int_equal(kill(pid, SIGSTOP), 0);
	for (int i = 0; i < 2000; i++) {
		if (all_threads_stopped(pid) == 1)
			return;
		usleep(1000);
	}
	fail_msg("pid %d did not stop", (int)pid);
}

#endif
