/*
 * store_keys.c - signing key configuration rows.
 *
 * A row never holds private key material: only the HSM's CKA_ID of the key
 * (hsm_key_id, hex), its public key and its certificate.
 */
#include <stdlib.h>
#include <string.h>

#include "ca.h"
#include "db.h"
#include "err.h"
#include "sn_assert.h"
#include "store_listing.h"
#include "store_page.h"
#include "store_resources.h"
#include "util.h"

#define KEY_COLUMNS "k.id, k.project_id, p.name, k.name, k.algorithm, " \
	"k.state, k.ca_mode, k.ca_id, k.hsm_key_id, k.not_before, " \
	"k.not_after, k.revoked_at, k.created_at, k.allow_sha1, k.subject, " \
	"k.public_key_pem, k.cert_pem, k.chain_pem, k.cert_serial, " \
	"k.revocation_reason, k.compromised_at, k.version "
#define KEY_COLS KEY_COLUMNS \
	"FROM signing_keys k JOIN projects p ON p.id = k.project_id "

void
store_key_clear(struct store_key *k)
{
	if (k == NULL)
		return;
	free(k->subject);
	free(k->public_key_pem);
	free(k->cert_pem);
	free(k->chain_pem);
	free(k->cert_serial);
	memset(k, 0, sizeof(*k));
}

static int
key_row(struct db_stmt *st, struct store_key *k)
{
	int r;

	if ((r = store_copy(k->id, sizeof(k->id), db_col_text(st, 0))) != 0 ||
	    (r = store_copy(k->project_id, sizeof(k->project_id),
	    db_col_text(st, 1))) != 0 ||
	    (r = store_copy(k->project_name, sizeof(k->project_name),
	    db_col_text(st, 2))) != 0 ||
	    (r = store_copy(k->name, sizeof(k->name), db_col_text(st, 3))) != 0 ||
	    (r = store_copy(k->algorithm, sizeof(k->algorithm),
	    db_col_text(st, 4))) != 0 ||
	    (r = store_copy(k->state, sizeof(k->state), db_col_text(st, 5))) != 0 ||
	    (r = store_copy(k->ca_mode, sizeof(k->ca_mode),
	    db_col_text(st, 6))) != 0 ||
	    (r = store_copy(k->ca_id, sizeof(k->ca_id), db_col_text(st, 7))) != 0 ||
	    (r = store_copy(k->hsm_key_id, sizeof(k->hsm_key_id),
	    db_col_text(st, 8))) != 0)
		return r;
	k->not_before = db_col_int64(st, 9);
	k->not_after = db_col_int64(st, 10);
	k->revoked_at = db_col_is_null(st, 11) ? 0 : db_col_int64(st, 11);
	k->created_at = db_col_int64(st, 12);
	k->allow_sha1 = db_col_int64(st, 13) != 0;
	if ((r = store_dup(db_col_text(st, 14), &k->subject)) != 0 ||
	    (r = store_dup(db_col_text(st, 15), &k->public_key_pem)) != 0 ||
	    (r = store_dup(db_col_text(st, 16), &k->cert_pem)) != 0 ||
	    (r = store_dup(db_col_text(st, 17), &k->chain_pem)) != 0 ||
	    (r = store_dup(db_col_text(st, 18), &k->cert_serial)) != 0)
		return r;
	if (db_col_text(st, 19) != NULL &&
	    (r = store_copy(k->revocation_reason, sizeof(k->revocation_reason),
	    db_col_text(st, 19))) != 0)
		return r;
	k->compromised_at = db_col_is_null(st, 20) ? 0 : db_col_int64(st, 20);
	k->version = db_col_int64(st, 21);
	return 0;
}

int
store_key_set_revocation(struct db_conn *c, const char *tenant_id,
    const char *id, const char *reason, int64_t compromised_at)
{
	int r;

	if (compromised_at != 0)
		r = db_execf(c, "UPDATE signing_keys SET revocation_reason = ?, "
		    "compromised_at = ? WHERE tenant_id = ? AND id = ? AND "
		    "state = 'revoked'", "titt", reason, compromised_at,
		    tenant_id, id);
	else
		r = db_execf(c, "UPDATE signing_keys SET revocation_reason = ? "
		    "WHERE tenant_id = ? AND id = ? AND state = 'revoked'",
		    "ttt", reason, tenant_id, id);
	if (r != 0)
		return r;
	if (db_changes(c) != 1)
		return SN_ERR_NOT_FOUND;
	return store_listing_changed(c, tenant_id);
}

int
store_key_cert_status(struct db_conn *c, const char *ca_id,
    const char *serial_hex, struct store_cert_status *out)
{
	struct db_stmt *st = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	r = db_queryf(c, &st, "SELECT state, revoked_at, revocation_reason, "
	    "compromised_at FROM signing_keys WHERE ca_id = ? AND "
	    "cert_serial = ? LIMIT 1", "tt", ca_id, serial_hex);
	if (r == DB_ROW) {
		out->found = 1;
		out->revoked = db_col_text(st, 0) != NULL &&
		    strcmp(db_col_text(st, 0), "revoked") == 0;
		out->revoked_at = db_col_is_null(st, 1) ? 0 :
		    db_col_int64(st, 1);
		if (db_col_text(st, 2) != NULL)
			r = store_copy(out->reason, sizeof(out->reason),
			    db_col_text(st, 2));
		else
			r = 0;
		out->compromised_at = db_col_is_null(st, 3) ? 0 :
		    db_col_int64(st, 3);
	} else if (r == DB_DONE) {
		/* A certificate a renewal or rotation replaced: the key's
		 * state decides (valid until it expires, revoked with it). */
		db_finalize(st);
		st = NULL;
		r = db_queryf(c, &st, "SELECT k.state, k.revoked_at, "
		    "k.revocation_reason, k.compromised_at FROM key_certificates "
		    "kc JOIN signing_keys k ON k.id = kc.key_id WHERE "
		    "kc.ca_id = ? AND kc.cert_serial = ? LIMIT 1", "tt", ca_id,
		    serial_hex);
		if (r == DB_ROW) {
			out->found = 1;
			out->revoked = db_col_text(st, 0) != NULL &&
			    strcmp(db_col_text(st, 0), "revoked") == 0;
			out->revoked_at = db_col_is_null(st, 1) ? 0 :
			    db_col_int64(st, 1);
			r = db_col_text(st, 2) != NULL ? store_copy(out->reason,
			    sizeof(out->reason), db_col_text(st, 2)) : 0;
			out->compromised_at = db_col_is_null(st, 3) ? 0 :
			    db_col_int64(st, 3);
		} else if (r == DB_DONE) {
			/* A deleted key's certificate, kept revoked. */
			db_finalize(st);
			st = NULL;
			r = db_queryf(c, &st, "SELECT revoked_at, reason, "
			    "compromised_at FROM crl_entries WHERE ca_id = ? AND "
			    "serial = ?", "tt", ca_id, serial_hex);
			if (r == DB_ROW) {
				out->found = 1;
				out->revoked = 1;
				out->revoked_at = db_col_int64(st, 0);
				r = db_col_text(st, 1) != NULL ? store_copy(
				    out->reason, sizeof(out->reason),
				    db_col_text(st, 1)) : 0;
				out->compromised_at = db_col_is_null(st, 2) ? 0 :
				    db_col_int64(st, 2);
			} else if (r == DB_DONE)
				r = 0;
		}
	}
	db_finalize(st);
	return r;
}

/* Runs a key query for one row; two rows mean an ambiguous name. */
static int
key_query_one(struct db_conn *c, struct store_key *out, const char *where,
    const char *types, const char *a, const char *b, const char *d,
    const char *e)
{
	struct db_stmt *st = NULL;
	char sql[1024];
	int r;

	/* where is one of this file's constants, never input */
	if (SN_NEVER((size_t)snprintf(sql, sizeof(sql), "SELECT " KEY_COLS
	    "WHERE %s LIMIT 2", where) >= sizeof(sql)))
		return SN_ERR_INTERNAL;
	r = db_queryf(c, &st, sql, types, a, b, d, e);
	if (r == DB_DONE)
		r = SN_ERR_NOT_FOUND;
	else if (r == DB_ROW) {
		if ((r = key_row(st, out)) == 0) {
			r = db_step(st);
			if (r == DB_ROW)
				r = SN_ERR_CONFLICT;	/* ambiguous name */
			else if (r == DB_DONE)
				r = 0;
		}
	}
	db_finalize(st);
	if (r != 0)
		store_key_clear(out);
	return r;
}

int
store_key_get(struct db_conn *c, const char *tenant_id, const char *id_or_name,
    struct store_key *out)
{
	const char *slash;
	char project[STORE_NAME_MAX + STORE_ID_MAX];
	size_t plen;
	int r;

	memset(out, 0, sizeof(*out));
	r = key_query_one(c, out, "k.tenant_id = ? AND k.id = ?", "tt",
	    tenant_id, id_or_name, NULL, NULL);
	if (r != SN_ERR_NOT_FOUND)
		return r;
	if ((slash = strchr(id_or_name, '/')) != NULL) {
		/* "project/key": the project by name or id. */
		plen = (size_t)(slash - id_or_name);
		if (plen == 0 || plen >= sizeof(project))
			return SN_ERR_NOT_FOUND;
		memcpy(project, id_or_name, plen);
		project[plen] = '\0';
		return key_query_one(c, out, "k.tenant_id = ? AND "
		    "(p.name = ? OR p.id = ?) AND k.name = ?", "tttt",
		    tenant_id, project, project, slash + 1);
	}
	return key_query_one(c, out, "k.tenant_id = ? AND k.name = ?", "tt",
	    tenant_id, id_or_name, NULL, NULL);
}

int
store_key_insert(struct db_conn *c, const char *tenant_id,
    const struct store_key *k)
{
	int r;

	if ((r = db_execf(c, "INSERT INTO signing_keys (id, tenant_id, project_id, "
	    "name, algorithm, state, not_before, not_after, ca_mode, ca_id, "
	    "subject, allow_sha1, hsm_key_id, public_key_pem, cert_pem, "
	    "chain_pem, cert_serial, created_at) VALUES "
	    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	    "ttttttiitttittttti",
	    k->id, tenant_id, k->project_id, k->name, k->algorithm, k->state,
	    k->not_before, k->not_after, k->ca_mode,
	    k->ca_id[0] != '\0' ? k->ca_id : NULL, k->subject,
	    (int64_t)(k->allow_sha1 != 0), k->hsm_key_id, k->public_key_pem,
	    k->cert_pem, k->chain_pem, k->cert_serial, k->created_at)) != 0)
		return r;
	return store_listing_changed(c, tenant_id);
}

int
store_key_exists(struct db_conn *c, const char *project_id, const char *name,
    int *exists)
{
	struct db_stmt *st = NULL;
	int r;

	*exists = 0;
	r = db_queryf(c, &st, "SELECT 1 FROM signing_keys WHERE project_id = ? "
	    "AND name = ?", "tt", project_id, name);
	if (r == DB_ROW)
		*exists = 1;
	db_finalize(st);
	return r < 0 ? r : 0;
}

/*
 * The result of a guarded UPDATE/DELETE of one key (r from db_execf): 0 if
 * it changed the row; else SN_ERR_CONFLICT if the key exists (the guard
 * refused: it is revoked) or SN_ERR_NOT_FOUND if it does not.
 */
static int
guarded_result(struct db_conn *c, int r, const char *tenant_id,
    const char *id)
{
	struct db_stmt *st = NULL;

	if (r != 0)
		return r;
	if (db_changes(c) == 1)
		return 0;
	r = db_queryf(c, &st, "SELECT 1 FROM signing_keys WHERE tenant_id = ? "
	    "AND id = ?", "tt", tenant_id, id);
	db_finalize(st);
	if (r < 0)
		return r;
	return r == DB_ROW ? SN_ERR_CONFLICT : SN_ERR_NOT_FOUND;
}

/*
 * A revoked key stays revoked. The handlers check the state before they
 * open their write transaction, so the guard must be in the UPDATE itself:
 * otherwise an enable (or disable, or certificate import) racing a revoke
 * would overwrite "revoked" and the key would sign again and drop off the
 * CRL. Returns SN_ERR_CONFLICT for a revoked key.
 */
int
store_key_set_state(struct db_conn *c, const char *tenant_id, const char *id,
    const char *state, int64_t revoked_at)
{
	int r;

	if (revoked_at != 0)
		r = db_execf(c, "UPDATE signing_keys SET state = ?, revoked_at = ? "
		    "WHERE tenant_id = ? AND id = ? AND state <> 'revoked'",
		    "titt", state, revoked_at, tenant_id, id);
	else
		r = db_execf(c, "UPDATE signing_keys SET state = ? "
		    "WHERE tenant_id = ? AND id = ? AND state <> 'revoked'",
		    "ttt", state, tenant_id, id);
	if ((r = guarded_result(c, r, tenant_id, id)) != 0)
		return r;
	return store_listing_changed(c, tenant_id);
}

int
store_key_set_cert(struct db_conn *c, const char *tenant_id, const char *id,
    const char *ca_mode, const char *cert_pem, const char *chain_pem,
    const char *serial, const char *subject)
{
	int r;

	r = db_execf(c, "UPDATE signing_keys SET ca_mode = ?, cert_pem = ?, "
	    "chain_pem = ?, cert_serial = ?, subject = ? "
	    "WHERE tenant_id = ? AND id = ? AND state <> 'revoked'", "ttttttt",
	    ca_mode, cert_pem, chain_pem, serial, subject, tenant_id, id);
	if ((r = guarded_result(c, r, tenant_id, id)) != 0)
		return r;
	return store_listing_changed(c, tenant_id);
}

int
store_key_delete(struct db_conn *c, const char *tenant_id, const char *id,
    int *cert_revoked)
{
	int64_t now = sn_now();
	int r;

	if (cert_revoked != NULL)
		*cert_revoked = 0;
	/*
	 * The CRL is built from the revoked rows: a key whose built-in
	 * certificate is still valid leaves its serial behind, revoked,
	 * before the row goes (same transaction, so a revoke that commits
	 * meanwhile is ordered before or after both).
	 */
	if ((r = db_execf(c, "INSERT INTO crl_entries (ca_id, "
	    "tenant_id, serial, revoked_at, reason, compromised_at, not_after, "
	    "key_id) SELECT ca_id, tenant_id, cert_serial, COALESCE(revoked_at, "
	    "?), CASE WHEN state = 'revoked' THEN revocation_reason ELSE "
	    "'cessation-of-operation' END, "
	    "compromised_at, not_after, id FROM signing_keys WHERE tenant_id = ? "
	    "AND id = ? AND ca_mode = 'builtin' AND ca_id IS NOT NULL AND "
	    "cert_serial IS NOT NULL AND not_after >= ? ON CONFLICT DO NOTHING",
	    "itti", now,
	    tenant_id, id, now)) != 0)
		return r;
	if (cert_revoked != NULL && db_changes(c) > 0)
		*cert_revoked = 1;
	/* The certificates a renewal or rotation replaced go with the key
	 * (ON DELETE CASCADE): the valid ones stay revoked here too. */
	if ((r = db_execf(c, "INSERT INTO crl_entries (ca_id, "
	    "tenant_id, serial, revoked_at, reason, compromised_at, not_after, "
	    "key_id) SELECT kc.ca_id, kc.tenant_id, kc.cert_serial, "
	    "COALESCE(k.revoked_at, ?), CASE WHEN k.state = 'revoked' THEN "
	    "k.revocation_reason ELSE 'cessation-of-operation' END, "
	    "k.compromised_at, kc.not_after, k.id "
	    "FROM key_certificates kc JOIN signing_keys k ON k.id = kc.key_id "
	    "WHERE k.tenant_id = ? AND k.id = ? AND kc.ca_id IS NOT NULL AND "
	    "kc.cert_serial IS NOT NULL AND kc.not_after >= ? ON CONFLICT DO "
	    "NOTHING", "itti", now,
	    tenant_id, id, now)) != 0)
		return r;
	if (cert_revoked != NULL && db_changes(c) > 0)
		*cert_revoked = 1;
	r = db_execf(c, "DELETE FROM signing_keys WHERE tenant_id = ? AND "
	    "id = ?", "tt", tenant_id, id);
	if ((r = guarded_result(c, r, tenant_id, id)) != 0)
		return r;
	return store_listing_changed(c, tenant_id);
}

int
store_key_revoked_for_ca(struct db_conn *c, const char *ca_id,
    struct ca_revoked **rev, struct store_ids *serials, size_t *n)
{
	struct db_stmt *st = NULL;
	struct ca_revoked *v = NULL;
	int64_t *times = NULL, *nt, *inv = NULL, *ni;
	int *reasons = NULL, *nr;
	size_t cnt = 0, i;
	int r;

	*rev = NULL;
	*n = 0;
	serials->v = NULL;
	serials->n = 0;
	r = db_queryf(c, &st, "SELECT cert_serial, revoked_at, "
	    "revocation_reason, compromised_at FROM signing_keys "
	    "WHERE ca_id = ? AND state = 'revoked' AND cert_serial IS NOT NULL "
	    "UNION ALL SELECT kc.cert_serial, k.revoked_at, "
	    "k.revocation_reason, k.compromised_at FROM key_certificates kc "
	    "JOIN signing_keys k ON k.id = kc.key_id WHERE kc.ca_id = ? AND "
	    "k.state = 'revoked' AND kc.cert_serial IS NOT NULL "
	    "UNION ALL SELECT serial, revoked_at, reason, compromised_at FROM "
	    "crl_entries WHERE ca_id = ? AND not_after >= ? "
	    "ORDER BY 2", "ttti", ca_id, ca_id, ca_id, sn_now());
	while (r == DB_ROW) {
		char **ns;
		const char *s = db_col_text(st, 0);

		if (s == NULL || cnt >= 1000000) {
			r = SN_ERR_DB;
			break;
		}
		if ((ns = realloc(serials->v, (cnt + 1) * sizeof(*ns))) == NULL) {
			r = SN_ERR_NOMEM;
			break;
		}
		serials->v = ns;
		if ((nt = realloc(times, (cnt + 1) * sizeof(*nt))) == NULL) {
			r = SN_ERR_NOMEM;
			break;
		}
		times = nt;
		if ((ni = realloc(inv, (cnt + 1) * sizeof(*ni))) == NULL) {
			r = SN_ERR_NOMEM;
			break;
		}
		inv = ni;
		if ((nr = realloc(reasons, (cnt + 1) * sizeof(*nr))) == NULL) {
			r = SN_ERR_NOMEM;
			break;
		}
		reasons = nr;
		reasons[cnt] = ca_reason_from_name(db_col_text(st, 2));
		inv[cnt] = db_col_is_null(st, 3) ? 0 : db_col_int64(st, 3);
		if ((serials->v[cnt] = strdup(s)) == NULL) {
			r = SN_ERR_NOMEM;
			break;
		}
		times[cnt] = db_col_is_null(st, 1) ? 0 : db_col_int64(st, 1);
		serials->n = ++cnt;
		r = db_step(st);
	}
	db_finalize(st);
	if (r != DB_DONE) {
		r = r < 0 ? r : SN_ERR_DB;
		goto out;
	}
	if (cnt > 0) {
		if ((v = calloc(cnt, sizeof(*v))) == NULL) {
			r = SN_ERR_NOMEM;
			goto out;
		}
		for (i = 0; i < cnt; i++) {
			v[i].serial_hex = serials->v[i];
			v[i].revoked_at = times[i];
			v[i].reason = reasons[i];
			v[i].invalidity_date = inv[i];
		}
	}
	*rev = v;
	*n = cnt;
	v = NULL;
	r = 0;
 out:
	free(v);
	free(times);
	free(inv);
	free(reasons);
	if (r != 0)
		store_ids_free(serials);
	return r;
}

/* store_page_rows' element callbacks. */
static int
key_row_elem(struct db_stmt *st, void *elem)
{
	return key_row(st, elem);
}

static void
store_key_clear_elem(void *elem)
{
	store_key_clear(elem);
}

/*
 * The keyset is (project name, key name), unique in a tenant. The plan
 * must walk the projects in name order and each project's keys through
 * UNIQUE (project_id, name), so that LIMIT stops the scan without a sort;
 * SQLite takes "CROSS JOIN" as the order of the loops (plain SQL
 * elsewhere), else it reads every key of the tenant and sorts them.
 */
int
store_key_page(struct db_conn *c, const struct store_viewer *v,
    const struct store_key_filter *f, const struct store_page *page,
    struct store_key **out, size_t *n)
{
	struct store_q q;
	struct db_stmt *st = NULL;
	struct store_key *rows = NULL;
	size_t cap;
	int r;

	*out = NULL;
	*n = 0;
	if (page->limit < 1 || page->limit > 100000)
		return SN_ERR_INVALID;
	cap = (size_t)page->limit;
	if ((rows = calloc(cap, sizeof(*rows))) == NULL)
		return SN_ERR_NOMEM;
	store_q_init(&q);
	store_q_sql(&q, "SELECT " KEY_COLUMNS "FROM projects p CROSS JOIN "
	    "signing_keys k WHERE k.project_id = p.id AND k.tenant_id = ? AND "
	    "p.tenant_id = ?");
	store_q_text(&q, v->tenant_id);
	store_q_text(&q, v->tenant_id);
	if (f->project_id != NULL) {
		store_q_sql(&q, " AND p.id = ?");
		store_q_text(&q, f->project_id);
	}
	if (f->project_name != NULL) {
		store_q_sql(&q, " AND p.name = ?");
		store_q_text(&q, f->project_name);
	}
	if (f->name != NULL) {
		store_q_sql(&q, " AND k.name = ?");
		store_q_text(&q, f->name);
	}
	if (f->key_id != NULL) {
		/* The key's project first, so the projects loop probes one
		 * row instead of walking every project of the tenant. */
		store_q_sql(&q, " AND p.id = (SELECT project_id FROM "
		    "signing_keys WHERE id = ?) AND k.id = ?");
		store_q_text(&q, f->key_id);
		store_q_text(&q, f->key_id);
	}
	if (page->after[0] != NULL && page->after[1] != NULL) {
		store_q_sql(&q, " AND p.name >= ? AND (p.name > ? OR "
		    "k.name > ?)");
		store_q_text(&q, page->after[0]);
		store_q_text(&q, page->after[0]);
		store_q_text(&q, page->after[1]);
	}
	if (f->sign_only) {
		/* render_key_state's "active": not revoked or disabled,
		 * inside the validity period. */
		store_q_sql(&q, " AND k.state = 'active' AND k.not_before <= ? "
		    "AND k.not_after >= ?");
		store_q_int(&q, f->now);
		store_q_int(&q, f->now);
	}
	store_q_projects_visible(&q, "p.id", v, f->sign_only);
	store_q_sql(&q, " ORDER BY p.name, k.name LIMIT ?");
	store_q_int(&q, page->limit);
	r = store_q_run(c, &q, &st);
	if ((r = store_page_rows(st, r, rows, sizeof(*rows), cap, key_row_elem,
	    store_key_clear_elem, n)) != 0) {
		free(rows);
		return r;
	}
	*out = rows;
	return 0;
}
