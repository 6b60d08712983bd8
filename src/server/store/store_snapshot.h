/*
 * store_snapshot.h - a consistent copy of the embedded (SQLite) database
 * while signetd serves it, for `signetd backup`.
 *
 * The copy is taken with SQLite's online backup API on a connection of its
 * own (not the pool: the backup runs in its own process): one read
 * transaction covers the whole copy, so it is the database as of one
 * commit, and in WAL mode the serving process keeps writing meanwhile.
 */
#ifndef SIGNET_STORE_SNAPSHOT_H
#define SIGNET_STORE_SNAPSHOT_H

#include "util.h"

/*
 * Copies the database of db_url ("sqlite:PATH" or a bare path) to out_path,
 * which must not exist or be an empty file. 0, SN_ERR_INVALID (not a SQLite
 * URL), SN_ERR_DB (the reason on stderr) or SN_ERR_UNAVAILABLE (the source
 * stayed locked past the busy timeout).
 */
int store_snapshot_sqlite(const char *db_url, const char *out_path) SN_WUR;

/* 1 if db_url names the embedded SQLite backend. */
int store_url_is_sqlite(const char *db_url);

#endif
