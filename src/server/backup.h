/*
 * backup.h - `signetd backup` and `signetd restore` (docs/OPERATIONS.md,
 * "Backup and restore").
 *
 *   signetd backup --data-dir DIR --out FILE [--with-pin]
 *   signetd restore --in FILE --data-dir NEWDIR [--pin-file PATH]
 *
 * Both return the process exit status: 0 done, 1 failed (one line on
 * stderr saying why), 2 usage error.
 */
#ifndef SIGNET_BACKUP_H
#define SIGNET_BACKUP_H

int backup_main(int argc, char **argv);
int restore_main(int argc, char **argv);

#endif
