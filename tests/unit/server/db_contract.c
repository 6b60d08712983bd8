/*
 * db_contract.c - the backend-independent checks of db_contract.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "db.h"
#include "db_contract.h"
#include "err.h"

void
dbc_error_mapping(struct db_conn *c)
{
	assert_int_equal(db_execf(c, "INSERT INTO tenants VALUES (?, ?, ?)",
	    "tti", "ten_1", "one", (int64_t)1), 0);
	assert_int_equal(db_changes(c), 1);
	/* UNIQUE and PRIMARY KEY -> conflict */
	assert_int_equal(db_execf(c, "INSERT INTO tenants VALUES (?, ?, ?)",
	    "tti", "ten_2", "one", (int64_t)1), SN_ERR_CONFLICT);
	assert_int_equal(db_execf(c, "INSERT INTO tenants VALUES (?, ?, ?)",
	    "tti", "ten_1", "two", (int64_t)1), SN_ERR_CONFLICT);
	/* NOT NULL, CHECK, FOREIGN KEY -> invalid */
	assert_int_equal(db_execf(c, "INSERT INTO tenants VALUES (?, ?, ?)",
	    "tni", "ten_3", (int64_t)1), SN_ERR_INVALID);
	assert_int_equal(db_execf(c, "INSERT INTO users (id, tenant_id, email,"
	    " role, created_at) VALUES ('u', 'ten_1', 'a@b', 'king', 1)", ""),
	    SN_ERR_INVALID);
	assert_int_equal(db_execf(c, "INSERT INTO users (id, tenant_id, email,"
	    " role, created_at) VALUES ('u', 'ten_nope', 'a@b', 'user', 1)", ""),
	    SN_ERR_INVALID);
	/* SQL errors -> db */
	assert_int_equal(db_execf(c, "SELEKT 1", ""), SN_ERR_DB);
}

void
dbc_same_text_twice(struct db_conn *c)
{
	struct db_stmt *a = NULL, *b = NULL;

	assert_int_equal(db_queryf(c, &a, "SELECT ? + 1", "i", (int64_t)10),
	    DB_ROW);
	assert_int_equal(db_queryf(c, &b, "SELECT ? + 1", "i", (int64_t)20),
	    DB_ROW);
	assert_ptr_not_equal(a, b);
	assert_int_equal(db_col_int64(a, 0), 11);
	assert_int_equal(db_col_int64(b, 0), 21);
	db_finalize(a);
	db_finalize(b);
}
