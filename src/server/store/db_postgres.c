/*
 * db_postgres.c - the PostgreSQL backend of db.h, through libpq.
 *
 * Selected by a db_url of "postgresql://..." (a libpq connection URI). Each
 * pooled connection is one libpq session. A db_stmt is a named
 * server-side prepared statement of its session: '?' placeholders are
 * rewritten to $1..$n, and it is prepared at its first step with the types
 * of what was bound (text, int8, bytea; NULL lets the server infer), again
 * only if a later use binds other types. Values go as text, blobs as
 * binary; results come back as text and bytea columns are unescaped on
 * demand.
 *
 * Transactions are READ COMMITTED: each statement sees what committed
 * before it started. db_chain_lock takes pg_advisory_xact_lock on a key
 * derived from the tenant id, so one tenant's audit transactions have one
 * order across every instance, and a statement after the lock sees every
 * change whose event committed before (docs/ARCHITECTURE.md). Migrations
 * run under another advisory key, so instances that start at once apply
 * each one once.
 *
 * A failed statement aborts PostgreSQL's whole transaction (SQLite keeps
 * it): db_commit of such a transaction rolls back and fails, so nothing
 * half-done commits. Error codes (SQLSTATE) map to SN_ERR_* here; the
 * server's message goes to stderr, never into an API response. This file
 * never logs a bound value or the connection URI (it may hold a password).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db_backend.h"
#include "err.h"

/* Advisory lock classes (the first key of the two-key form). */
#define PG_LOCK_CHAIN		0x53474e31	/* "SGN1": audit chain, per tenant */
#define PG_LOCK_MIGRATE		0x53474e32	/* "SGN2": migrations */

/* Type OIDs of the binds (pg_type.h; stable across releases). */
#define PG_OID_BYTEA		17
#define PG_OID_INT8		20
#define PG_OID_TEXT		25

#define PG_MAX_PARAMS		64

struct pg_conn {
	PGconn *h;
	uint64_t gen;		/* bumped by a reconnect: old names are gone */
	uint64_t nextname;
	int64_t changes;
	int chain_locked;	/* in this transaction: lock taken ... */
	uint32_t chain_key;	/* ... for this key */
};

struct pg_stmt {
	struct pg_conn *pc;
	char *sql;		/* with $n */
	int nparams;
	char name[32];		/* "" until prepared */
	uint64_t gen;
	Oid ptypes[PG_MAX_PARAMS];	/* as prepared */
	Oid btypes[PG_MAX_PARAMS];	/* as bound now */
	char *vals[PG_MAX_PARAMS];
	int lens[PG_MAX_PARAMS];
	int fmts[PG_MAX_PARAMS];
	PGresult *res;
	int row, nrows;
	unsigned char **blobs;	/* unescaped bytea of the current row */
	size_t *bloblens;
	int nblobs;
};

static PGconn *
hconn(struct db_conn *c)
{
	return ((struct pg_conn *)c->h)->h;
}

static void
quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;	/* NOTICEs ("relation exists, skipping") are not errors */
}

/*
 * SQLSTATE -> SN_ERR_*: the same classes as SQLite's constraint codes, and
 * the "try again" classes (a lost connection, a deadlock, a serialization
 * failure, the server shutting down) as SN_ERR_UNAVAILABLE, a 503 with
 * Retry-After that a client may repeat.
 */
static int
map_state(PGconn *h, const PGresult *res)
{
	const char *st;

	st = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	if (st != NULL) {
		if (strcmp(st, "23505") == 0)
			return SN_ERR_CONFLICT;		/* unique_violation */
		if (strcmp(st, "23503") == 0 ||		/* foreign_key */
		    strcmp(st, "23502") == 0 ||		/* not_null */
		    strcmp(st, "23514") == 0 ||		/* check */
		    strcmp(st, "23000") == 0)
			return SN_ERR_INVALID;
	}
	fprintf(stderr, "signetd: database: %s%s%s",
	    st != NULL ? st : "", st != NULL ? " " : "",
	    res != NULL && *PQresultErrorMessage(res) != '\0' ?
	    PQresultErrorMessage(res) : PQerrorMessage(h));
	if (PQstatus(h) != CONNECTION_OK)
		return SN_ERR_UNAVAILABLE;
	if (st != NULL && (strcmp(st, "40001") == 0 ||	/* serialization */
	    strcmp(st, "40P01") == 0 ||			/* deadlock */
	    strncmp(st, "57P", 3) == 0 ||		/* shutting down */
	    strncmp(st, "08", 2) == 0))			/* connection */
		return SN_ERR_UNAVAILABLE;
	if (st != NULL && strcmp(st, "53200") == 0)
		return SN_ERR_NOMEM;
	return SN_ERR_DB;
}

static int
result_rc(PGconn *h, PGresult *res)
{
	ExecStatusType s;
	int r;

	s = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
		r = 0;
	else
		r = map_state(h, res);
	return r;
}

static int
pg_connect(const char *url, void **out)
{
	struct pg_conn *pc;
	PGresult *res;
	int r;

	*out = NULL;
	if ((pc = calloc(1, sizeof(*pc))) == NULL)
		return SN_ERR_NOMEM;
	{
		/* The URI, with UTF-8 as the client encoding: as options of
		 * the connection, so a PQreset keeps them. */
		const char *const keys[] = { "dbname", "client_encoding",
		    "application_name", NULL };
		const char *const vals[] = { url, "UTF8", "signetd", NULL };

		pc->h = PQconnectdbParams(keys, vals, 1);
	}
	if (pc->h == NULL) {
		free(pc);
		return SN_ERR_NOMEM;
	}
	if (PQstatus(pc->h) != CONNECTION_OK) {
		/* libpq's message names host and reason, not the password. */
		fprintf(stderr, "signetd: cannot connect to PostgreSQL: %s",
		    PQerrorMessage(pc->h));
		PQfinish(pc->h);
		free(pc);
		return SN_ERR_DB;
	}
	PQsetNoticeProcessor(pc->h, quiet, NULL);
	res = PQexec(pc->h, "SET default_transaction_isolation = "
	    "'read committed'");
	r = result_rc(pc->h, res);
	PQclear(res);
	if (r != 0) {
		PQfinish(pc->h);
		free(pc);
		return r;
	}
	*out = pc;
	return 0;
}

static void
pg_disconnect(void *h)
{
	struct pg_conn *pc = h;

	if (pc == NULL)
		return;
	PQfinish(pc->h);
	free(pc);
}

/* The session ends with the pool: its statements go with it. */
static void
pg_closing(struct db_conn *c)
{
	((struct pg_conn *)c->h)->gen++;
}

static int
pg_revive(struct db_conn *c)
{
	struct pg_conn *pc = c->h;

	if (PQstatus(pc->h) == CONNECTION_OK)
		return 0;
	PQreset(pc->h);
	if (PQstatus(pc->h) != CONNECTION_OK) {
		fprintf(stderr, "signetd: cannot reconnect to PostgreSQL: %s",
		    PQerrorMessage(pc->h));
		return SN_ERR_UNAVAILABLE;
	}
	PQsetNoticeProcessor(pc->h, quiet, NULL);
	pc->gen++;
	return 1;
}

static int
pg_exec(struct db_conn *c, const char *sql)
{
	PGresult *res;
	int r;

	res = PQexec(hconn(c), sql);
	r = result_rc(hconn(c), res);
	PQclear(res);
	return r;
}

static int
pg_in_txn(struct db_conn *c)
{
	PGTransactionStatusType t = PQtransactionStatus(hconn(c));

	return t == PQTRANS_INTRANS || t == PQTRANS_INERROR ||
	    t == PQTRANS_ACTIVE;
}

static int
pg_begin(struct db_conn *c)
{
	((struct pg_conn *)c->h)->chain_locked = 0;
	return pg_exec(c, "BEGIN ISOLATION LEVEL READ COMMITTED");
}

static int
pg_commit(struct db_conn *c)
{
	int r;

	/* COMMIT of an aborted transaction "succeeds" as a ROLLBACK: that
	 * must not look like a commit to the caller. */
	if (PQtransactionStatus(hconn(c)) == PQTRANS_INERROR) {
		fprintf(stderr, "signetd: database: transaction aborted by an "
		    "earlier error, rolled back\n");
		(void)pg_exec(c, "ROLLBACK");
		return SN_ERR_DB;
	}
	if ((r = pg_exec(c, "COMMIT")) != 0 && pg_in_txn(c))
		(void)pg_exec(c, "ROLLBACK");
	return r;
}

static int
pg_rollback(struct db_conn *c)
{
	return pg_exec(c, "ROLLBACK");
}

static uint32_t
fnv32(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static int
advisory_lock(struct db_conn *c, int32_t k1, int32_t k2)
{
	char a[16], b[16];
	const char *vals[2] = { a, b };
	PGresult *res;
	int r;

	snprintf(a, sizeof(a), "%d", (int)k1);
	snprintf(b, sizeof(b), "%d", (int)k2);
	res = PQexecParams(hconn(c), "SELECT pg_advisory_xact_lock("
	    "$1::int4, $2::int4)", 2, NULL, vals, NULL, NULL, 0);
	r = result_rc(hconn(c), res);
	PQclear(res);
	return r;
}

/*
 * Two tenants whose ids hash alike share a lock: they wait on each other,
 * which costs time, never correctness.
 */
static int
pg_chain_lock(struct db_conn *c, const char *tenant_id)
{
	struct pg_conn *pc = c->h;
	uint32_t k = fnv32(tenant_id);
	int r;

	if (pc->chain_locked && pc->chain_key == k)
		return 0;	/* held until the transaction ends */
	if ((r = advisory_lock(c, PG_LOCK_CHAIN, (int32_t)k)) != 0)
		return r;
	if (!pc->chain_locked) {
		pc->chain_locked = 1;
		pc->chain_key = k;
	}
	return 0;
}

static int
pg_migrate_lock(struct db_conn *c)
{
	return advisory_lock(c, PG_LOCK_MIGRATE, 0);
}

/*
 * The schema (schema.sql.h) is portable SQL but for the binary type:
 * BLOB -> BYTEA, as a whole word outside quotes.
 */
static char *
pg_dialect(const char *sql)
{
	size_t n = strlen(sql), i, o = 0;
	char *out;
	int q = 0;

	if ((out = malloc(n * 2 + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (sql[i] == '\'')
			q = !q;
		if (!q && strncmp(sql + i, "BLOB", 4) == 0 &&
		    (i == 0 || !(sql[i - 1] == '_' || (sql[i - 1] >= 'A' &&
		    sql[i - 1] <= 'Z') || (sql[i - 1] >= 'a' &&
		    sql[i - 1] <= 'z'))) &&
		    !(sql[i + 4] == '_' || (sql[i + 4] >= 'A' &&
		    sql[i + 4] <= 'Z') || (sql[i + 4] >= 'a' &&
		    sql[i + 4] <= 'z'))) {
			memcpy(out + o, "BYTEA", 5);
			o += 5;
			i += 3;
			continue;
		}
		out[o++] = sql[i];
	}
	out[o] = '\0';
	return out;
}

/*
 * '?' -> $1, $2, ... outside string literals, quoted identifiers and
 * comments. SN_ERR_INVALID past PG_MAX_PARAMS.
 */
static int
rewrite(const char *sql, char **out, int *nparams)
{
	size_t n = strlen(sql), i, o = 0;
	char *s, quote = 0;
	int k = 0;

	*out = NULL;
	*nparams = 0;
	if (n > SIZE_MAX / 4 - 1 || (s = malloc(n * 4 + 1)) == NULL)
		return SN_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		char ch = sql[i];

		if (quote != 0) {
			if (ch == quote)
				quote = 0;
		} else if (ch == '\'' || ch == '"') {
			quote = ch;
		} else if (ch == '-' && sql[i + 1] == '-') {
			while (i < n && sql[i] != '\n')
				s[o++] = sql[i++];
			if (i == n)
				break;
			ch = sql[i];
		} else if (ch == '?') {
			if (++k > PG_MAX_PARAMS) {
				free(s);
				return SN_ERR_INVALID;
			}
			o += (size_t)snprintf(s + o, 5, "$%d", k);
			continue;
		}
		s[o++] = ch;
	}
	s[o] = '\0';
	*out = s;
	*nparams = k;
	return 0;
}

static int
pg_prepare(struct db_conn *c, const char *sql, void **out)
{
	struct pg_stmt *st;
	int r;

	*out = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return SN_ERR_NOMEM;
	st->pc = c->h;
	st->row = -1;
	if ((r = rewrite(sql, &st->sql, &st->nparams)) != 0) {
		free(st);
		return r;
	}
	*out = st;
	return 0;
}

static void
clear_row(struct pg_stmt *st)
{
	int i;

	for (i = 0; i < st->nblobs; i++) {
		PQfreemem(st->blobs[i]);
		st->blobs[i] = NULL;
	}
}

static void
pg_reset(void *b)
{
	struct pg_stmt *st = b;
	int i;

	clear_row(st);
	PQclear(st->res);
	st->res = NULL;
	st->row = -1;
	st->nrows = 0;
	for (i = 0; i < st->nparams; i++) {
		free(st->vals[i]);
		st->vals[i] = NULL;
		st->lens[i] = 0;
		st->fmts[i] = 0;
		st->btypes[i] = 0;
	}
}

static void
deallocate(struct pg_stmt *st)
{
	char q[48];
	PGresult *res;

	/* Only on the session that has it, and not where a failed
	 * transaction would refuse it (the name then dies with the
	 * session). */
	if (st->name[0] == '\0' || st->gen != st->pc->gen ||
	    PQstatus(st->pc->h) != CONNECTION_OK ||
	    PQtransactionStatus(st->pc->h) == PQTRANS_INERROR)
		return;
	snprintf(q, sizeof(q), "DEALLOCATE %s", st->name);
	res = PQexec(st->pc->h, q);
	PQclear(res);
	st->name[0] = '\0';
}

static void
pg_finalize(void *b)
{
	struct pg_stmt *st = b;

	if (st == NULL)
		return;
	pg_reset(st);
	deallocate(st);
	free(st->blobs);
	free(st->bloblens);
	free(st->sql);
	free(st);
}

static int
pg_nparams(void *b)
{
	return ((struct pg_stmt *)b)->nparams;
}

static int
set_param(struct pg_stmt *st, int idx, Oid type, const void *p, size_t len,
    int fmt)
{
	char *v = NULL;

	if (idx < 1 || idx > st->nparams || len > INT32_MAX - 1)
		return SN_ERR_INVALID;
	if (p != NULL) {
		if ((v = malloc(len + 1)) == NULL)
			return SN_ERR_NOMEM;
		memcpy(v, p, len);
		v[len] = '\0';
	}
	idx--;
	free(st->vals[idx]);
	st->vals[idx] = v;
	st->lens[idx] = (int)len;
	st->fmts[idx] = fmt;
	st->btypes[idx] = type;
	return 0;
}

static int
pg_bind_text(struct db_conn *c, void *b, int idx, const char *s)
{
	(void)c;
	return set_param(b, idx, PG_OID_TEXT, s, strlen(s), 0);
}

static int
pg_bind_int64(struct db_conn *c, void *b, int idx, int64_t v)
{
	char num[24];
	int n;

	(void)c;
	n = snprintf(num, sizeof(num), "%lld", (long long)v);
	return set_param(b, idx, PG_OID_INT8, num, (size_t)n, 0);
}

static int
pg_bind_blob(struct db_conn *c, void *b, int idx, const void *p, size_t len)
{
	(void)c;
	return set_param(b, idx, PG_OID_BYTEA, len == 0 ? "" : p, len, 1);
}

static int
pg_bind_null(struct db_conn *c, void *b, int idx)
{
	(void)c;
	return set_param(b, idx, 0, NULL, 0, 0);
}

/* Prepared already with types that fit what is bound now? */
static int
types_fit(const struct pg_stmt *st)
{
	int i;

	if (st->name[0] == '\0' || st->gen != st->pc->gen)
		return 0;
	for (i = 0; i < st->nparams; i++)
		if (st->btypes[i] != 0 && st->btypes[i] != st->ptypes[i])
			return 0;
	return 1;
}

static int
server_prepare(struct db_conn *c, struct pg_stmt *st)
{
	struct pg_conn *pc = c->h;
	PGresult *res;
	int r, i;

	deallocate(st);
	snprintf(st->name, sizeof(st->name), "sn%llu",
	    (unsigned long long)++pc->nextname);
	for (i = 0; i < st->nparams; i++)
		st->ptypes[i] = st->btypes[i];
	res = PQprepare(pc->h, st->name, st->sql, st->nparams, st->ptypes);
	r = result_rc(pc->h, res);
	PQclear(res);
	if (r != 0) {
		st->name[0] = '\0';
		return r;
	}
	st->gen = pc->gen;
	return 0;
}

static int
pg_step(struct db_conn *c, void *b)
{
	struct pg_stmt *st = b;
	struct pg_conn *pc = c->h;
	const char *ct;
	int r, nf;

	if (st->res == NULL) {
		if (!types_fit(st) && (r = server_prepare(c, st)) != 0)
			return r;
		st->res = PQexecPrepared(pc->h, st->name, st->nparams,
		    (const char *const *)st->vals, st->lens, st->fmts, 0);
		if ((r = result_rc(pc->h, st->res)) != 0) {
			PQclear(st->res);
			st->res = NULL;
			return r;
		}
		st->nrows = PQntuples(st->res);
		st->row = -1;
		ct = PQcmdTuples(st->res);
		pc->changes = ct != NULL && *ct != '\0' ? strtoll(ct, NULL, 10) :
		    0;
		nf = PQnfields(st->res);
		if (nf > st->nblobs) {
			unsigned char **nb;
			size_t *nl;

			if ((nb = realloc(st->blobs, (size_t)nf *
			    sizeof(*nb))) == NULL)
				return SN_ERR_NOMEM;
			st->blobs = nb;
			if ((nl = realloc(st->bloblens, (size_t)nf *
			    sizeof(*nl))) == NULL)
				return SN_ERR_NOMEM;
			st->bloblens = nl;
			memset(st->blobs + st->nblobs, 0,
			    (size_t)(nf - st->nblobs) * sizeof(*nb));
			st->nblobs = nf;
		}
	}
	clear_row(st);
	if (st->row + 1 >= st->nrows) {
		st->row = st->nrows;
		return DB_DONE;
	}
	st->row++;
	return DB_ROW;
}

static int
valid_cell(const struct pg_stmt *st, int col)
{
	return st->res != NULL && st->row >= 0 && st->row < st->nrows &&
	    col >= 0 && col < PQnfields(st->res);
}

static const char *
pg_col_text(void *b, int col)
{
	struct pg_stmt *st = b;

	if (!valid_cell(st, col) || PQgetisnull(st->res, st->row, col))
		return NULL;
	return PQgetvalue(st->res, st->row, col);
}

static int64_t
pg_col_int64(void *b, int col)
{
	const char *v = pg_col_text(b, col);

	if (v == NULL)
		return 0;
	if (strcmp(v, "t") == 0)	/* a boolean expression */
		return 1;
	if (strcmp(v, "f") == 0)
		return 0;
	return strtoll(v, NULL, 10);
}

static const void *
pg_col_blob(void *b, int col, size_t *len)
{
	struct pg_stmt *st = b;
	const char *v;

	*len = 0;
	if ((v = pg_col_text(b, col)) == NULL)
		return NULL;
	if (PQftype(st->res, col) != PG_OID_BYTEA) {
		*len = strlen(v);
		return v;
	}
	if (st->blobs[col] == NULL) {
		st->blobs[col] = PQunescapeBytea((const unsigned char *)v,
		    &st->bloblens[col]);
		if (st->blobs[col] == NULL)
			return NULL;
	}
	*len = st->bloblens[col];
	/* SQLite gives a non-NULL pointer for an empty blob too. */
	return st->blobs[col];
}

static int
pg_col_is_null(void *b, int col)
{
	struct pg_stmt *st = b;

	return !valid_cell(st, col) || PQgetisnull(st->res, st->row, col);
}

static int64_t
pg_changes(struct db_conn *c)
{
	return ((struct pg_conn *)c->h)->changes;
}

const struct db_ops db_postgres_ops = {
	.name = "postgresql",
	.connect = pg_connect,
	.disconnect = pg_disconnect,
	.closing = pg_closing,
	.revive = pg_revive,
	.exec = pg_exec,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.in_txn = pg_in_txn,
	.chain_lock = pg_chain_lock,
	.migrate_lock = pg_migrate_lock,
	.dialect = pg_dialect,
	.prepare = pg_prepare,
	.reset = pg_reset,
	.finalize = pg_finalize,
	.nparams = pg_nparams,
	.bind_text = pg_bind_text,
	.bind_int64 = pg_bind_int64,
	.bind_blob = pg_bind_blob,
	.bind_null = pg_bind_null,
	.step = pg_step,
	.col_text = pg_col_text,
	.col_int64 = pg_col_int64,
	.col_blob = pg_col_blob,
	.col_is_null = pg_col_is_null,
	.changes = pg_changes,
};
