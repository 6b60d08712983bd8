/*
 * fuzz_snapshot.h - puts a SQLite database back as it was, between two
 * fuzz inputs (fuzz harnesses only: fuzz_world.c, fuzz_sign_request.c).
 *
 * snapshot_take() opens a connection of its own to the database (triggers
 * and foreign keys off on it), copies every table into an in-memory
 * database attached to it and puts three triggers on each table that name
 * it in a fuzz_dirty table when another connection's statement inserts,
 * updates or deletes a row. snapshot_restore() then costs nothing if no
 * other connection committed since the last call (PRAGMA data_version has
 * not moved) and otherwise, in one transaction, empties and refills from
 * the copy each table named in fuzz_dirty. The schema is never touched
 * after snapshot_take(), so the server's connections keep their parsed
 * schema and prepared statements. With FUZZ_WORLD_CHECK set in the
 * environment every table is compared with the copy after each restore
 * and a difference aborts. Errors abort: a harness cannot go on without
 * its database.
 */
#ifndef SIGNET_FUZZ_SNAPSHOT_H
#define SIGNET_FUZZ_SNAPSHOT_H

/* Takes the snapshot of the SQLite file at path (once per process). */
void snapshot_take(const char *path);

/* Puts back what was committed since the last call; returns the number of
 * tables restored. */
int snapshot_restore(void);

/* Closes the snapshot's connection (before the file is removed). */
void snapshot_close(void);

#endif
