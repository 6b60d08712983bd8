/*
 * testutil.h - shared helpers of the server unit tests: a fresh temporary
 * SQLite database per test.
 */
#ifndef SIGNET_TESTUTIL_H
#define SIGNET_TESTUTIL_H

struct db;

/* Creates a temp dir and opens DIR/t.db with pool_size connections. */
struct db *tu_db_open(int pool_size, char dir[256]);
/* Closes the db and removes the directory. */
void tu_db_close(struct db *db, const char *dir);

#endif
