/*
 * testutil.c - see testutil.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "db.h"
#include "testutil.h"

struct db *
tu_db_open(int pool_size, char dir[256])
{
	char url[512];
	struct db *db = NULL;

	snprintf(dir, 256, "/tmp/signet-test-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(url, sizeof(url), "sqlite:%s/t.db", dir);
	assert_int_equal(db_open(url, pool_size, &db), 0);
	return db;
}

void
tu_db_close(struct db *db, const char *dir)
{
	char cmd[600];

	db_close(db);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}
