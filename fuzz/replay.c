/*
 * replay.c - runs a fuzz target over its corpus without libFuzzer.
 *
 * Each fuzz_*.c defines LLVMFuzzerTestOneInput. Linked with this main, the
 * target becomes an ordinary test: every file named on the command line (or
 * every file in a directory named there) is fed to it once. With clang the
 * same sources build real fuzzers (-DSIGNET_FUZZ=ON).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run_file(const char *path)
{
	char *buf = NULL;
	size_t len = 0;

	if (sn_read_file(path, 1 << 20, &buf, &len) != 0) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		return 1;
	}
	LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
	free(buf);
	return 0;
}

int
main(int argc, char **argv)
{
	int n = 0, bad = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: not found\n", argv[i]);
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			bad |= run_file(argv[i]);
			n++;
			continue;
		}
		DIR *d = opendir(argv[i]);
		struct dirent *e;
		char path[4096];
		while (d != NULL && (e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
			bad |= run_file(path);
			n++;
		}
		if (d != NULL)
			closedir(d);
	}
	printf("replayed %d inputs\n", n);
	return bad || n == 0;
}
