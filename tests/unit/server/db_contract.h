/*
 * db_contract.h - checks of the db.h contract that hold on every backend,
 * shared by test_db.c (SQLite) and test_db_pg.c (PostgreSQL), each run on
 * a connection of the backend under test (cmocka assertions).
 */
#ifndef SIGNET_DB_CONTRACT_H
#define SIGNET_DB_CONTRACT_H

struct db_conn;

/*
 * Constraint violations map to the same SN_ERR_* on both backends: UNIQUE
 * and PRIMARY KEY to SN_ERR_CONFLICT; NOT NULL, CHECK and FOREIGN KEY to
 * SN_ERR_INVALID; a syntax error to SN_ERR_DB. Needs a migrated database
 * without tenant "ten_1"; leaves that tenant in it.
 */
void dbc_error_mapping(struct db_conn *c);

/* The same SQL text open twice at once is two statements, each with its
 * own row (a statement cache must not hand out one in use). */
void dbc_same_text_twice(struct db_conn *c);

#endif
