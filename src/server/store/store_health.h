/*
 * store_health.h - is the database answering? (GET /readyz)
 */
#ifndef SIGNET_STORE_HEALTH_H
#define SIGNET_STORE_HEALTH_H

#include "db.h"

/*
 * A pooled connection, a write transaction (what every signature needs:
 * with SQLite it takes the write lock, so a database another process holds
 * locked is not ready) and one cheap query that reads the database itself
 * (its schema version), rolled back at once. 0, or the db_* error
 * (SN_ERR_UNAVAILABLE: no connection free within the pool's wait;
 * SN_ERR_DB: the database failed or stayed locked past the busy timeout).
 */
int store_ping(struct db *db) SN_WUR;

#endif
