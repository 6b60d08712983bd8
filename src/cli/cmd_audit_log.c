/*
 * cmd_audit_log.c - the transparency log from the client's side
 * (docs/AUDIT.md): signet audit checkpoint | log-key | prove |
 * verify-proof, and the checkpoint-based `signet audit verify`.
 *
 * Nothing here trusts the server: every checkpoint is checked against the
 * log's Ed25519 verifier key (pinned in the state directory the first time,
 * or given with --log-key), every proof is recomputed with
 * src/common/merkle.c, every event hash with src/common/auditchain.c.
 * verify-proof needs no server and no credentials at all.
 *
 * State: $SIGNET_STATE_DIR, else $XDG_STATE_HOME/signet, else
 * ~/.local/state/signet; one file per log, audit-<origin>.json, holding the
 * last verified checkpoint, the compact range of its tree and the chain
 * hash of its last event, so the next verify checks only what is new.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "auditchain.h"
#include "cli.h"
#include "encode.h"
#include "err.h"
#include "merkle.h"
#include "note.h"
#include "util.h"

#define AUDIT_PAGE		1000
#define STATE_MAX		(64 * 1024)
#define BUNDLE_MAX		(256 * 1024)
#define BUNDLE_FORMAT		"signet-audit-proof/1"
#define SIG_FILE_MAX		(64 * 1024)
#define NO_BAD			INT64_MIN	/* verify_report: no bad seq */

/* ---- small helpers ---- */

static int
b64_hash(const char *s, uint8_t out[SN_MERKLE_HASH_LEN])
{
	uint8_t *raw = NULL;
	size_t len = 0;
	int r = SN_ERR_INVALID;

	if (s != NULL && sn_b64_decode(s, strlen(s), &raw, &len) == 0 &&
	    len == SN_MERKLE_HASH_LEN) {
		memcpy(out, raw, len);
		r = 0;
	}
	free(raw);
	return r;
}

static int
hex_hash(const char *s, uint8_t out[SN_MERKLE_HASH_LEN])
{
	uint8_t *raw = NULL;
	size_t len = 0;
	int r = SN_ERR_INVALID;

	if (s != NULL && sn_hex_decode(s, strlen(s), &raw, &len) == 0 &&
	    len == SN_MERKLE_HASH_LEN) {
		memcpy(out, raw, len);
		r = 0;
	}
	free(raw);
	return r;
}

static int
decode_path(json_t *arr, sn_mhash *path, size_t *n)
{
	json_t *v;
	size_t i;

	*n = 0;
	if (!json_is_array(arr) || json_array_size(arr) > SN_MERKLE_MAX_DEPTH)
		return SN_ERR_INVALID;
	json_array_foreach(arr, i, v) {
		if (b64_hash(json_string_value(v), path[i]) != 0)
			return SN_ERR_INVALID;
	}
	*n = json_array_size(arr);
	return 0;
}

static json_t *
hashes_json(const sn_mhash *h, size_t n)
{
	json_t *a = json_array();
	char *b = NULL;

	for (size_t i = 0; a != NULL && i < n; i++) {
		if (sn_b64_encode(h[i], SN_MERKLE_HASH_LEN, &b) != 0 ||
		    json_array_append_new(a, json_string(b)) != 0) {
			json_decref(a);
			a = NULL;
		}
		free(b);
		b = NULL;
	}
	return a;
}

/*
 * The event's leaf: its hash member must be the recomputed hash of its
 * canonical form; the leaf is SHA-256(0x00 || hash bytes).
 */
static int
event_leaf(json_t *ev, uint8_t leaf[SN_MERKLE_HASH_LEN], char hash[65])
{
	uint8_t raw[SN_MERKLE_HASH_LEN];
	const char *h = json_string_value(json_object_get(ev, "hash"));
	int r;

	if (!json_is_object(ev) || h == NULL)
		return SN_ERR_INVALID;
	if ((r = sn_audit_hash(ev, hash)) != 0)
		return r;
	if (strcmp(hash, h) != 0)
		return SN_ERR_CONFLICT;
	if (hex_hash(hash, raw) != 0)
		return SN_ERR_INVALID;
	sn_merkle_leaf_hash(raw, leaf);
	return 0;
}

static int
fetch_log_key(struct cli *cli, char **vkey)
{
	json_t *resp = NULL;
	const char *v;
	int r;

	*vkey = NULL;
	if ((r = cli_call(cli, "GET", "/v1/audit/log-key", NULL, &resp)) != 0)
		return r;
	v = json_string_value(json_object_get(resp, "verifier_key"));
	if (v == NULL || (*vkey = strdup(v)) == NULL) {
		json_decref(resp);
		return cli_failx(EXIT_REFUSED, cli->cmd, "the server's answer "
		    "has no verifier key");
	}
	json_decref(resp);
	return 0;
}

/* The newest checkpoint, verified with vkey. */
static int
fetch_checkpoint(struct cli *cli, const char *vkey, char **note,
    struct sn_checkpoint *cp)
{
	json_t *resp = NULL;
	const char *v;
	int r;

	*note = NULL;
	if ((r = cli_call(cli, "GET", "/v1/audit/checkpoint", NULL, &resp)) != 0)
		return r;
	v = json_string_value(json_object_get(resp, "checkpoint"));
	if (v == NULL) {
		json_decref(resp);
		return cli_failx(EXIT_REFUSED, cli->cmd, "the server's answer "
		    "has no checkpoint");
	}
	if (sn_checkpoint_verify(v, strlen(v), vkey, cp) != 0) {
		json_decref(resp);
		return cli_failx(EXIT_REFUSED, cli->cmd, "the log's checkpoint "
		    "does not verify with the log key %s", vkey);
	}
	if ((*note = strdup(v)) == NULL) {
		json_decref(resp);
		return cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
	}
	json_decref(resp);
	return 0;
}

/* GET a proof; hashes into path. */
static int
fetch_proof(struct cli *cli, const char *kind, const char *a, uint64_t x,
    const char *b, uint64_t y, sn_mhash *path, size_t *n)
{
	char p[256];
	json_t *resp = NULL;
	int r;

	snprintf(p, sizeof(p), "/v1/audit/proof/%s?%s=%llu&%s=%llu", kind, a,
	    (unsigned long long)x, b, (unsigned long long)y);
	if ((r = cli_call(cli, "GET", p, NULL, &resp)) != 0)
		return r;
	if (decode_path(json_object_get(resp, "hashes"), path, n) != 0) {
		json_decref(resp);
		return cli_failx(EXIT_REFUSED, cli->cmd, "the server's %s "
		    "proof is malformed", kind);
	}
	json_decref(resp);
	return 0;
}

/* ---- state ---- */

struct state {
	int have;
	char *vkey;
	char *note;
	uint64_t size;
	uint8_t root[SN_MERKLE_HASH_LEN];
	int have_range;			/* range and last hash (events seen) */
	struct sn_merkle_range range;
	char last_hash[65];
	char verified_at[32];
};

static void
state_clear(struct state *s)
{
	free(s->vkey);
	free(s->note);
	memset(s, 0, sizeof(*s));
}

static int
state_dir(char *buf, size_t len)
{
	const char *e, *home;
	int n;

	if ((e = getenv("SIGNET_STATE_DIR")) != NULL && *e != '\0')
		n = snprintf(buf, len, "%s", e);
	else if ((e = getenv("XDG_STATE_HOME")) != NULL && *e != '\0')
		n = snprintf(buf, len, "%s/signet", e);
	else if ((home = getenv("HOME")) != NULL && *home != '\0')
		n = snprintf(buf, len, "%s/.local/state/signet", home);
	else
		return SN_ERR_INVALID;
	return n < 0 || (size_t)n >= len ? SN_ERR_TOO_LARGE : 0;
}

static int
mkdirs(const char *dir)
{
	char tmp[4096];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(tmp))
		return SN_ERR_INVALID;
	memcpy(tmp, dir, n + 1);
	for (char *p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
			return SN_ERR_IO;
		*p = '/';
	}
	if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
		return SN_ERR_IO;
	return 0;
}

/* DIR/audit-<origin with '/' as '_'>.json */
static int
state_path(const char *origin, char *buf, size_t len)
{
	char dir[4000], name[SN_NOTE_NAME_MAX + 1];
	int n;

	if (state_dir(dir, sizeof(dir)) != 0)
		return SN_ERR_INVALID;
	snprintf(name, sizeof(name), "%s", origin);
	for (char *p = name; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
			*p = '_';
	n = snprintf(buf, len, "%s/audit-%s.json", dir, name);
	return n < 0 || (size_t)n >= len ? SN_ERR_TOO_LARGE : 0;
}

static int
state_load(const char *origin, struct state *s)
{
	char path[4200], *text = NULL;
	size_t len = 0;
	json_t *j = NULL, *rg;
	const char *v;
	json_int_t sz;
	int r;

	memset(s, 0, sizeof(*s));
	if (state_path(origin, path, sizeof(path)) != 0)
		return SN_ERR_INVALID;
	if ((r = sn_read_file(path, STATE_MAX, &text, &len)) != 0)
		return access(path, F_OK) == 0 ? r : 0;	/* none yet */
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	free(text);
	r = SN_ERR_INVALID;
	if (j == NULL || (v = json_string_value(json_object_get(j,
	    "log_key"))) == NULL || (s->vkey = strdup(v)) == NULL ||
	    (v = json_string_value(json_object_get(j, "checkpoint"))) == NULL ||
	    (s->note = strdup(v)) == NULL ||
	    !json_is_integer(json_object_get(j, "size")) ||
	    (sz = json_integer_value(json_object_get(j, "size"))) < 1 ||
	    b64_hash(json_string_value(json_object_get(j, "root")), s->root) != 0)
		goto out;
	s->size = (uint64_t)sz;
	snprintf(s->verified_at, sizeof(s->verified_at), "%s",
	    js(j, "verified_at"));
	rg = json_object_get(j, "range");
	if (rg != NULL && (v = json_string_value(json_object_get(j,
	    "last_hash"))) != NULL && strlen(v) == 64) {
		size_t n = 0;
		uint8_t root[SN_MERKLE_HASH_LEN];

		if (decode_path(rg, s->range.h, &n) != 0)
			goto out;
		s->range.n = n;
		s->range.size = s->size;
		/* the range must be the tree of the checkpoint it claims */
		if ((size_t)__builtin_popcountll(s->size) != n)
			goto out;
		sn_merkle_range_root(&s->range, root);
		if (memcmp(root, s->root, sizeof(root)) != 0)
			goto out;
		snprintf(s->last_hash, sizeof(s->last_hash), "%s", v);
		s->have_range = 1;
	}
	s->have = 1;
	r = 0;
 out:
	json_decref(j);
	if (r != 0)
		state_clear(s);
	return r;
}

static int
state_save(const char *origin, const char *vkey, const char *note,
    const struct sn_checkpoint *cp, const struct sn_merkle_range *rg,
    const char *last_hash)
{
	char path[4200], dir[4000], now[32], *b64 = NULL, *text = NULL;
	json_t *j = NULL;
	int r = SN_ERR_NOMEM;

	if (state_dir(dir, sizeof(dir)) != 0 ||
	    state_path(origin, path, sizeof(path)) != 0)
		return SN_ERR_INVALID;
	if ((r = mkdirs(dir)) != 0)
		return r;
	sn_format_time(sn_now(), now);
	if (sn_b64_encode(cp->root, sizeof(cp->root), &b64) != 0 ||
	    (j = json_pack("{s:s,s:s,s:s,s:I,s:s,s:s}", "origin", origin,
	    "log_key", vkey, "checkpoint", note, "size", (json_int_t)cp->size,
	    "root", b64, "verified_at", now)) == NULL)
		goto out;
	if (rg != NULL && last_hash != NULL &&
	    (json_object_set_new(j, "range", hashes_json(
	    (const sn_mhash *)rg->h, rg->n)) != 0 ||
	    json_object_set_new(j, "last_hash", json_string(last_hash)) != 0))
		goto out;
	if ((text = json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS)) == NULL)
		goto out;
	r = sn_write_file(path, text, strlen(text), 0600);
 out:
	free(b64);
	free(text);
	json_decref(j);
	return r;
}

/* ---- signet audit log-key / checkpoint ---- */

static int
audit_log_key(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet audit log-key [--json]";
	const char *pos[1];
	json_t *resp = NULL;
	int npos, r;
	const struct cli_opt opts[] = {
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "audit log-key";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 0, 0,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if ((r = cli_call(cli, "GET", "/v1/audit/log-key", NULL, &resp)) != 0)
		return r;
	return cli_print_member(cli, resp, "verifier_key");
}

static int
audit_checkpoint(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet audit checkpoint [--log-key KEY] "
	    "[--json]";
	const char *pos[1], *lk = NULL, *note;
	struct sn_checkpoint cp;
	json_t *resp = NULL;
	char *vkey = NULL;
	int npos, r;
	const struct cli_opt opts[] = {
		{ "log-key", 1, &lk, NULL },
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "audit checkpoint";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 0, 0,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if (lk != NULL) {
		char name[SN_NOTE_NAME_MAX + 1];
		uint8_t pub[SN_ED25519_PUB_LEN], id[4];

		if (sn_note_parse_verifier(lk, name, pub, id) != 0)
			return cli_usage_error(cli->cmd, "--log-key is not a "
			    "note verifier key (NAME+HASH+BASE64)");
	} else if ((r = fetch_log_key(cli, &vkey)) != 0)
		return r;
	if ((r = cli_call(cli, "GET", "/v1/audit/checkpoint", NULL,
	    &resp)) != 0)
		goto out;
	note = json_string_value(json_object_get(resp, "checkpoint"));
	/* Printed only if it verifies: a checkpoint is worth its signature. */
	if (note == NULL || sn_checkpoint_verify(note, strlen(note),
	    lk != NULL ? lk : vkey, &cp) != 0) {
		r = cli_failx(EXIT_REFUSED, cli->cmd, "the log's checkpoint "
		    "does not verify with the log key");
		goto out;
	}
	if (cli->json)
		cli_print_json(resp);
	else
		fputs(note, stdout);
	r = 0;
 out:
	json_decref(resp);
	free(vkey);
	return r;
}

/* ---- events ---- */

/*
 * Calls fn for every event with seq in (after, upto], in order, paging
 * GET /v1/audit. upto 0 = to the end. *denied is set when the caller may
 * not read events (403), without an error message.
 */
typedef int (*event_fn)(void *ctx, json_t *ev);

static int
each_event(struct cli *cli, uint64_t after, uint64_t upto, event_fn fn,
    void *ctx, int *denied)
{
	struct sn_client *c;
	json_t *resp = NULL, *events, *ev, *next;
	char path[128];
	size_t i;
	long status;
	int r;

	if (denied != NULL)
		*denied = 0;
	if ((r = cli_client(cli, &c)) != 0)
		return r;
	for (;;) {
		if (upto != 0 && after >= upto)
			return 0;
		snprintf(path, sizeof(path), "/v1/audit?after=%llu&limit=%llu",
		    (unsigned long long)after, (unsigned long long)(upto != 0 &&
		    upto - after < AUDIT_PAGE ? upto - after : AUDIT_PAGE));
		status = 0;
		r = sn_client_json(c, "GET", path, NULL, &status, &resp);
		if (r == SN_ERR_FORBIDDEN && denied != NULL) {
			*denied = 1;
			return 0;
		}
		if (r != 0)
			return cli_fail(cli, r, cli->cmd);
		events = json_object_get(resp, "events");
		if (!json_is_array(events)) {
			json_decref(resp);
			return cli_failx(EXIT_REFUSED, cli->cmd, "the server's "
			    "answer has no events list");
		}
		json_array_foreach(events, i, ev) {
			json_int_t seq = json_integer_value(json_object_get(ev,
			    "seq"));

			if (upto != 0 && seq > 0 && (uint64_t)seq > upto)
				break;
			if ((r = fn(ctx, ev)) != 0) {
				json_decref(resp);
				return r;
			}
		}
		next = json_object_get(resp, "next_after");
		if (i < json_array_size(events) || !json_is_integer(next) ||
		    json_array_size(events) == 0) {
			json_decref(resp);
			return 0;
		}
		if (json_integer_value(next) <= (json_int_t)after) {
			json_decref(resp);
			return cli_failx(EXIT_REFUSED, cli->cmd, "the server's "
			    "paging does not advance");
		}
		after = (uint64_t)json_integer_value(next);
		json_decref(resp);
		resp = NULL;
	}
}

/* ---- signet audit verify (checkpoint based) ---- */

struct walk {
	struct cli *cli;
	uint64_t expect;		/* next seq */
	char prev[65];
	sn_mhash *leaves;		/* new leaves, in order */
	size_t nleaves, cap;
	int failed;			/* bad is set */
	int64_t bad;			/* first bad seq (any value) */
	const char *why;
};

static int
walk_event(void *ctx, json_t *ev)
{
	struct walk *w = ctx;
	uint8_t leaf[SN_MERKLE_HASH_LEN];
	char hash[65];
	json_t *s = json_object_get(ev, "seq");
	json_int_t seq = json_integer_value(s);
	int err;

	if (w->failed)
		return 0;
	if (!json_is_integer(s) || seq < 1 || (uint64_t)seq != w->expect) {
		w->failed = 1;
		w->bad = json_is_integer(s) ? seq : (int64_t)w->expect;
		w->why = "sequence numbers out of order (an event is missing "
		    "or moved)";
		return 0;
	}
	if ((err = sn_audit_check(ev, w->prev, w->prev)) != 0 ||
	    event_leaf(ev, leaf, hash) != 0) {
		w->failed = 1;
		w->bad = seq;
		w->why = err == SN_ERR_CONFLICT ? "hash chain broken (prev_hash "
		    "or hash does not match)" : "malformed event";
		return 0;
	}
	if (w->nleaves == w->cap) {
		size_t nc = w->cap == 0 ? 1024 : w->cap * 2;
		sn_mhash *n = realloc(w->leaves, nc * sizeof(*n));

		if (n == NULL)
			return cli_failx(EXIT_REFUSED, w->cli->cmd, "out of memory");
		w->leaves = n;
		w->cap = nc;
	}
	memcpy(w->leaves[w->nleaves++], leaf, sizeof(leaf));
	w->expect++;
	return 0;
}

/* The root of the base range plus the first k new leaves. */
static void
prefix_root(const struct sn_merkle_range *base, const sn_mhash *leaves,
    size_t k, uint8_t out[SN_MERKLE_HASH_LEN])
{
	struct sn_merkle_range rg = *base;

	for (size_t i = 0; i < k; i++)
		(void)sn_merkle_range_append(&rg, leaves[i]);
	sn_merkle_range_root(&rg, out);
}

/*
 * The new leaves do not give the signed root. The first bad position is
 * the smallest size k whose locally computed root the log cannot prove
 * consistent with the signed checkpoint: every prefix before it is the
 * log's, every prefix from it on is not (a binary search, O(log n)
 * consistency proofs).
 */
static int
locate(struct cli *cli, const struct sn_merkle_range *base,
    const sn_mhash *leaves, size_t nleaves, const struct sn_checkpoint *cp,
    uint64_t *first_bad)
{
	sn_mhash path[SN_MERKLE_MAX_DEPTH];
	uint8_t root[SN_MERKLE_HASH_LEN];
	uint64_t lo = base->size, hi = base->size + nleaves, mid;
	size_t n;
	int r;

	/* invariant: prefix lo is consistent (or empty), prefix hi is not */
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		prefix_root(base, leaves, (size_t)(mid - base->size), root);
		if ((r = fetch_proof(cli, "consistency", "from", mid, "to",
		    cp->size, path, &n)) != 0)
			return r;
		if (sn_merkle_verify_consistency(mid, cp->size, root, cp->root,
		    (const sn_mhash *)path, n) == 0)
			lo = mid;
		else
			hi = mid;
	}
	*first_bad = hi;
	return 0;
}

/*
 * The first perfect subtree of the compact range `old` (largest first)
 * whose root the leaves (from leaf 0) no longer give: leaves [*lo, *hi).
 * That is as close as the kept state can say; the event the server now
 * shows inside it cannot be checked against anything else.
 */
static void
first_difference(const struct sn_merkle_range *old, const sn_mhash *leaves,
    uint64_t *lo, uint64_t *hi)
{
	uint64_t start = 0;

	for (size_t i = 0; i < old->n; i++) {
		struct sn_merkle_range sub;
		uint8_t root[SN_MERKLE_HASH_LEN];
		/* subtree i has the size of the i-th set bit from the top */
		uint64_t len = UINT64_C(1) << (63 - __builtin_clzll(old->size -
		    start));
		sn_merkle_range_init(&sub);
		for (uint64_t j = start; j < start + len; j++)
			(void)sn_merkle_range_append(&sub, leaves[j]);
		sn_merkle_range_root(&sub, root);
		if (memcmp(root, old->h[i], sizeof(root)) != 0) {
			*lo = start;
			*hi = start + len;
			return;
		}
		start += len;
	}
	*lo = 0;
	*hi = old->size;
}

static int
verify_report(struct cli *cli, int ok, uint64_t events, int64_t bad,
    const struct sn_checkpoint *cp, uint64_t prev_size, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static int
verify_report(struct cli *cli, int ok, uint64_t events, int64_t bad,
    const struct sn_checkpoint *cp, uint64_t prev_size, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	json_t *out;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cli->json) {
		out = json_pack("{s:b,s:I,s:o,s:I,s:o,s:s}", "ok", ok,
		    "events", (json_int_t)events, "first_bad_seq",
		    bad != NO_BAD ? json_integer(bad) : json_null(),
		    "checkpoint_size", (json_int_t)(cp != NULL ? cp->size : 0),
		    "previous_size", prev_size > 0 ?
		    json_integer((json_int_t)prev_size) : json_null(),
		    "message", msg);
		cli_print_json(out);
		json_decref(out);
	}
	if (!ok)
		return cli_failx(EXIT_REFUSED, cli->cmd, "%s", msg);
	if (!cli->json)
		printf("%s\n", msg);
	return 0;
}

int
audit_verify_log(struct cli *cli, int full, const char *log_key)
{
	struct state st;
	struct sn_checkpoint cp;
	struct sn_merkle_range base, rg;
	struct walk w;
	sn_mhash path[SN_MERKLE_MAX_DEPTH];
	uint8_t root[SN_MERKLE_HASH_LEN];
	char *vkey = NULL, *note = NULL;
	uint64_t first_bad, from;
	size_t n;
	int r, denied = 0;

	memset(&st, 0, sizeof(st));
	memset(&w, 0, sizeof(w));
	if ((r = fetch_log_key(cli, &vkey)) != 0)
		goto out;
	if (log_key != NULL && strcmp(log_key, vkey) != 0) {
		r = verify_report(cli, 0, 0, NO_BAD, NULL, 0, "the server's log key "
		    "%s is not the one given with --log-key", vkey);
		goto out;
	}
	if ((r = fetch_checkpoint(cli, vkey, &note, &cp)) != 0)
		goto out;
	if (state_load(cp.origin, &st) != 0) {
		r = cli_failx(EXIT_REFUSED, cli->cmd, "the saved state of log "
		    "%s is unreadable; remove it to start over", cp.origin);
		goto out;
	}
	if (st.have && strcmp(st.vkey, vkey) != 0) {
		r = verify_report(cli, 0, 0, NO_BAD, &cp, st.size, "the log key "
		    "changed from %s (pinned on %s) to %s", st.vkey,
		    st.verified_at, vkey);
		goto out;
	}

	/* 1. The new checkpoint must extend the one verified before. */
	if (st.have) {
		if (cp.size < st.size) {
			r = verify_report(cli, 0, cp.size, (int64_t)cp.size + 1,
			    &cp, st.size, "the log shrank from %llu to %llu "
			    "events since %s: history after event %llu was "
			    "truncated or rewritten",
			    (unsigned long long)st.size,
			    (unsigned long long)cp.size, st.verified_at,
			    (unsigned long long)cp.size);
			goto out;
		}
		if ((r = fetch_proof(cli, "consistency", "from", st.size, "to",
		    cp.size, path, &n)) != 0)
			goto out;
		if (sn_merkle_verify_consistency(st.size, cp.size, st.root,
		    cp.root, (const sn_mhash *)path, n) != 0 && !full) {
			r = verify_report(cli, 0, cp.size, NO_BAD, &cp, st.size,
			    "history was rewritten or forked: the log at %llu "
			    "events is not an extension of the checkpoint of "
			    "%llu events verified on %s (a change within "
			    "events 1..%llu; --full names the first bad event "
			    "if the events disagree with the tree)",
			    (unsigned long long)cp.size,
			    (unsigned long long)st.size, st.verified_at,
			    (unsigned long long)st.size);
			goto out;
		}
	}

	/* 2. The events the checkpoint adds, or all of them with --full. */
	sn_merkle_range_init(&base);
	snprintf(w.prev, sizeof(w.prev), "%s", SN_AUDIT_GENESIS);
	if (!full && st.have && st.have_range) {
		base = st.range;
		snprintf(w.prev, sizeof(w.prev), "%s", st.last_hash);
	}
	from = base.size;
	w.cli = cli;
	w.expect = from + 1;
	if (from < cp.size &&
	    (r = each_event(cli, from, cp.size, walk_event, &w, &denied)) != 0)
		goto out;
	if (denied) {
		if (full) {
			r = cli_failx(EXIT_REFUSED, cli->cmd, "--full reads "
			    "every event: admins only");
			goto out;
		}
		/* not an admin: checkpoints and consistency only */
		if ((r = state_save(cp.origin, vkey, note, &cp, NULL, NULL)) != 0) {
			r = cli_fail(cli, r, "saving the verified checkpoint");
			goto out;
		}
		r = verify_report(cli, 1, cp.size, NO_BAD, &cp, st.size, "Audit log "
		    "OK: checkpoint of %llu events signed by %s%s%s "
		    "(events not read: admins only)",
		    (unsigned long long)cp.size, cp.origin,
		    st.have ? ", consistent with the one verified on " : "",
		    st.have ? st.verified_at : "");
		goto out;
	}
	if (!w.failed && w.expect != cp.size + 1) {
		w.failed = 1;
		w.bad = (int64_t)w.expect;
		w.why = "missing: the log's checkpoint covers it";
	}
	rg = base;
	for (size_t i = 0; i < w.nleaves; i++)
		(void)sn_merkle_range_append(&rg, w.leaves[i]);
	if (!w.failed) {
		sn_merkle_range_root(&rg, root);
		if (memcmp(root, cp.root, sizeof(root)) != 0) {
			if ((r = locate(cli, &base, (const sn_mhash *)w.leaves,
			    w.nleaves, &cp, &first_bad)) != 0)
				goto out;
			w.failed = 1;
			w.bad = (int64_t)first_bad;
			w.why = "not the event the log's signed tree holds at "
			    "this position (rewritten or reordered)";
		}
	}
	if (!w.failed && full && st.have) {
		/* the events must also give the root verified before */
		prefix_root(&base, (const sn_mhash *)w.leaves, (size_t)st.size,
		    root);
		if (memcmp(root, st.root, sizeof(root)) != 0) {
			uint64_t lo = 0, hi = st.size;

			if (st.have_range)
				first_difference(&st.range,
				    (const sn_mhash *)w.leaves, &lo, &hi);
			r = verify_report(cli, 0, cp.size, NO_BAD, &cp, st.size,
			    "history was rewritten: the events are not the ones "
			    "of the checkpoint of %llu events verified on %s; "
			    "first difference within events %llu..%llu",
			    (unsigned long long)st.size, st.verified_at,
			    (unsigned long long)lo + 1, (unsigned long long)hi);
			goto out;
		}
	}
	if (w.failed) {
		r = verify_report(cli, 0, w.expect - 1, w.bad, &cp, st.size,
		    "event seq %lld: %s (%llu events before it verified)",
		    (long long)w.bad, w.why,
		    (unsigned long long)(w.bad > 0 ? (uint64_t)w.bad - 1 : 0));
		goto out;
	}
	if ((r = state_save(cp.origin, vkey, note, &cp, &rg, w.prev)) != 0) {
		r = cli_fail(cli, r, "saving the verified checkpoint");
		goto out;
	}
	if (st.have)
		r = verify_report(cli, 1, cp.size, NO_BAD, &cp, st.size, "Audit log "
		    "OK: %llu events; checkpoint signed by %s, consistent with "
		    "the one of %llu events verified on %s; %llu events "
		    "checked", (unsigned long long)cp.size, cp.origin,
		    (unsigned long long)st.size, st.verified_at,
		    (unsigned long long)w.nleaves);
	else
		r = verify_report(cli, 1, cp.size, NO_BAD, &cp, 0, "Audit log OK: "
		    "%llu events verified against the checkpoint signed by %s "
		    "(log key pinned: %s)", (unsigned long long)cp.size,
		    cp.origin, vkey);
 out:
	free(w.leaves);
	free(vkey);
	free(note);
	state_clear(&st);
	return r;
}

/* ---- signet audit prove ---- */

struct find {
	const char *digest_hex[3];	/* sha256, sha384, sha512 of --in */
	char sig_hex[65];		/* sha256 of --signature */
	json_t *found;			/* best match (borrowed copy) */
	int exact;			/* found matches the signature too */
};

static int
str_in(json_t *v, const char *s)
{
	json_t *x;
	size_t i;

	if (json_is_string(v))
		return strcmp(json_string_value(v), s) == 0;
	json_array_foreach(v, i, x)
		if (json_is_string(x) && strcmp(json_string_value(x), s) == 0)
			return 1;
	return 0;
}

static int
find_event(void *ctx, json_t *ev)
{
	struct find *f = ctx;
	json_t *d = json_object_get(ev, "details"), *dig, *sigs;
	int match = 0, exact;

	if (strcmp(js(ev, "action"), "key.sign") != 0 ||
	    strcmp(js(ev, "result"), "ok") != 0 || !json_is_object(d))
		return 0;
	dig = json_object_get(d, "digest");
	if (dig == NULL)
		dig = json_object_get(d, "digests");
	for (int i = 0; i < 3; i++)
		if (f->digest_hex[i] != NULL && str_in(dig, f->digest_hex[i]))
			match = 1;
	if (!match)
		return 0;
	sigs = json_object_get(d, "signature_sha256");
	if (sigs == NULL)
		sigs = json_object_get(d, "signatures_sha256");
	exact = sigs != NULL && str_in(sigs, f->sig_hex);
	if (sigs != NULL && !exact)
		return 0;	/* that digest, signed into another signature */
	json_decref(f->found);
	f->found = json_deep_copy(ev);
	f->exact = exact;
	return 0;
}

static int
file_hashes(const char *path, char hex[3][129], struct find *f, int sig)
{
	static const char *const mds[] = { "SHA256", "SHA384", "SHA512" };
	char *data = NULL, *h = NULL;
	size_t len = 0;
	uint8_t md[64];
	unsigned mdlen;
	int r;

	if ((r = sn_read_file(path, sig ? SIG_FILE_MAX : (size_t)1 << 34,
	    &data, &len)) != 0)
		return r;
	for (int i = 0; i < (sig ? 1 : 3); i++) {
		if (EVP_Digest(data, len, md, &mdlen, EVP_get_digestbyname(
		    mds[i]), NULL) != 1 || sn_hex_encode(md, mdlen, &h) != 0) {
			free(data);
			return SN_ERR_CRYPTO;
		}
		if (sig)
			snprintf(f->sig_hex, sizeof(f->sig_hex), "%s", h);
		else {
			snprintf(hex[i], 129, "%s", h);
			f->digest_hex[i] = hex[i];
		}
		free(h);
		h = NULL;
	}
	free(data);
	return 0;
}

static int
one_event(void *ctx, json_t *ev)
{
	json_t **out = ctx;

	if (*out == NULL)
		*out = json_deep_copy(ev);
	return 0;
}

static int
audit_prove(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet audit prove (--seq N | "
	    "--signature FILE --in FILE)";
	const char *pos[1], *seqs = NULL, *sigf = NULL, *in = NULL;
	struct sn_checkpoint cp;
	struct find f;
	sn_mhash path[SN_MERKLE_MAX_DEPTH];
	uint8_t leaf[SN_MERKLE_HASH_LEN];
	char *vkey = NULL, *note = NULL, hex[3][129], hash[65];
	json_t *ev = NULL, *bundle = NULL;
	long long v;
	uint64_t seq;
	size_t n;
	int npos, r;
	const struct cli_opt opts[] = {
		{ "seq", 1, &seqs, NULL },
		{ "signature", 1, &sigf, NULL },
		{ "in", 1, &in, NULL },
		{ NULL, 0, NULL, NULL },
	};

	memset(&f, 0, sizeof(f));
	cli->cmd = "audit prove";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 0, 0,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if ((seqs != NULL) == (sigf != NULL || in != NULL))
		return cli_usage_error(cli->cmd, "give --seq N, or --signature "
		    "FILE with --in FILE");
	if (seqs != NULL && sn_parse_int(seqs, 1, INT64_MAX, &v) != 0)
		return cli_usage_error(cli->cmd, "--seq must be a positive "
		    "sequence number");
	if (seqs == NULL && (sigf == NULL || in == NULL))
		return cli_usage_error(cli->cmd, "--signature and --in go "
		    "together");
	if (seqs == NULL) {
		if (file_hashes(in, hex, &f, 0) != 0)
			return cli_usage_error(cli->cmd, "cannot read --in %s",
			    in);
		if (file_hashes(sigf, hex, &f, 1) != 0)
			return cli_usage_error(cli->cmd, "cannot read "
			    "--signature %s", sigf);
	}
	if ((r = fetch_log_key(cli, &vkey)) != 0 ||
	    (r = fetch_checkpoint(cli, vkey, &note, &cp)) != 0)
		goto out;
	if (seqs != NULL) {
		seq = (uint64_t)v;
		if (seq > cp.size) {
			r = cli_failx(EXIT_REFUSED, cli->cmd, "event %llu is "
			    "not in the log (%llu events)",
			    (unsigned long long)seq,
			    (unsigned long long)cp.size);
			goto out;
		}
		if ((r = each_event(cli, seq - 1, seq, one_event, &ev,
		    NULL)) != 0)
			goto out;
	} else {
		if ((r = each_event(cli, 0, cp.size, find_event, &f,
		    NULL)) != 0)
			goto out;
		ev = f.found;
		f.found = NULL;
	}
	if (ev == NULL) {
		r = cli_failx(EXIT_REFUSED, cli->cmd, seqs != NULL ?
		    "no event %s" : "no key.sign event for that signature of "
		    "that file", seqs != NULL ? seqs : "");
		goto out;
	}
	seq = (uint64_t)json_integer_value(json_object_get(ev, "seq"));
	if (seq < 1 || seq > cp.size) {
		r = cli_failx(EXIT_REFUSED, cli->cmd, "the server sent event "
		    "seq %llu, outside the log", (unsigned long long)seq);
		goto out;
	}
	if ((r = fetch_proof(cli, "inclusion", "seq", seq, "size", cp.size,
	    path, &n)) != 0)
		goto out;
	/* Checked here already: a bundle that cannot verify is not printed. */
	if (event_leaf(ev, leaf, hash) != 0 ||
	    sn_merkle_verify_inclusion(seq - 1, cp.size, leaf,
	    (const sn_mhash *)path, n, cp.root) != 0) {
		r = cli_failx(EXIT_REFUSED, cli->cmd, "event seq %llu is not in "
		    "the log's signed tree of %llu events (the event was "
		    "altered, or the tree was)", (unsigned long long)seq,
		    (unsigned long long)cp.size);
		goto out;
	}
	if ((bundle = json_pack("{s:s,s:s,s:O,s:{s:I,s:I,s:I,s:o},s:s}",
	    "format", BUNDLE_FORMAT, "log_key", vkey, "event", ev,
	    "inclusion", "seq", (json_int_t)seq, "size", (json_int_t)cp.size,
	    "leaf_index", (json_int_t)(seq - 1), "hashes",
	    hashes_json((const sn_mhash *)path, n), "checkpoint", note)) == NULL) {
		r = cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
		goto out;
	}
	cli_print_json(bundle);
	r = 0;
 out:
	json_decref(f.found);
	json_decref(ev);
	json_decref(bundle);
	free(vkey);
	free(note);
	return r;
}

/* ---- signet audit verify-proof (offline) ---- */

static int
audit_verify_proof(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet audit verify-proof BUNDLE "
	    "--log-key KEY [--json]";
	const char *pos[1], *lk = NULL, *note;
	char name[SN_NOTE_NAME_MAX + 1], *text = NULL, hash[65];
	uint8_t pub[SN_ED25519_PUB_LEN], id[4], leaf[SN_MERKLE_HASH_LEN];
	struct sn_checkpoint cp;
	sn_mhash path[SN_MERKLE_MAX_DEPTH];
	json_t *b = NULL, *ev, *inc, *out;
	json_int_t seq, size;
	size_t len = 0, n;
	int npos, r;
	const struct cli_opt opts[] = {
		{ "log-key", 1, &lk, NULL },
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "audit verify-proof";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 1, 1,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if (lk == NULL)
		return cli_usage_error(cli->cmd, "--log-key KEY is required "
		    "(the note verifier key from `signet audit log-key`)");
	if (sn_note_parse_verifier(lk, name, pub, id) != 0)
		return cli_usage_error(cli->cmd, "--log-key is not a note "
		    "verifier key (NAME+HASH+BASE64)");
	if (sn_read_file(pos[0], BUNDLE_MAX, &text, &len) != 0)
		return cli_usage_error(cli->cmd, "cannot read %s", pos[0]);
	b = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	free(text);
	ev = json_object_get(b, "event");
	inc = json_object_get(b, "inclusion");
	note = json_string_value(json_object_get(b, "checkpoint"));
	if (!json_is_object(b) || strcmp(js(b, "format"), BUNDLE_FORMAT) != 0 ||
	    !json_is_object(ev) || !json_is_object(inc) || note == NULL ||
	    !json_is_integer(json_object_get(inc, "seq")) ||
	    !json_is_integer(json_object_get(inc, "size")) ||
	    decode_path(json_object_get(inc, "hashes"), path, &n) != 0) {
		json_decref(b);
		return cli_usage_error(cli->cmd, "%s is not a proof bundle "
		    "(%s)", pos[0], BUNDLE_FORMAT);
	}
	seq = json_integer_value(json_object_get(inc, "seq"));
	size = json_integer_value(json_object_get(inc, "size"));
	if ((r = sn_checkpoint_verify(note, strlen(note), lk, &cp)) != 0) {
		r = cli_failx(EXIT_REFUSED, cli->cmd, "the bundle's checkpoint "
		    "is not signed by %s", name);
		goto out;
	}
	if (size < 1 || (uint64_t)size != cp.size || seq < 1 || seq > size ||
	    json_integer_value(json_object_get(ev, "seq")) != seq) {
		r = cli_failx(EXIT_REFUSED, cli->cmd, "the bundle's proof, event "
		    "and checkpoint are about different positions");
		goto out;
	}
	if (event_leaf(ev, leaf, hash) != 0) {
		r = cli_failx(EXIT_REFUSED, cli->cmd, "event seq %lld: its hash "
		    "does not match its contents", (long long)seq);
		goto out;
	}
	if (sn_merkle_verify_inclusion((uint64_t)seq - 1, cp.size, leaf,
	    (const sn_mhash *)path, n, cp.root) != 0) {
		r = cli_failx(EXIT_REFUSED, cli->cmd, "event seq %lld is not in "
		    "the tree of %llu events signed by %s: inclusion proof "
		    "fails", (long long)seq, (unsigned long long)cp.size, name);
		goto out;
	}
	if (cli->json) {
		out = json_pack("{s:b,s:I,s:I,s:s,s:s}", "ok", 1, "seq", seq,
		    "size", size, "origin", cp.origin, "action",
		    js(ev, "action"));
		cli_print_json(out);
		json_decref(out);
	} else
		printf("Proof OK: event seq %lld (%s %s:%s, %s) is in the log "
		    "%s at %llu events\n", (long long)seq, js(ev, "action"),
		    js(ev, "object_type"), js(ev, "object_id"), js(ev, "time"),
		    cp.origin, (unsigned long long)cp.size);
	r = 0;
 out:
	json_decref(b);
	return r;
}

const struct cli_sub cli_audit_log_subs[] = {
	{ "checkpoint", audit_checkpoint, "print the log's newest signed "
	    "checkpoint" },
	{ "log-key", audit_log_key, "print the log's note verifier key" },
	{ "prove", audit_prove, "print a proof bundle for an event or a "
	    "signature" },
	{ "verify-proof", audit_verify_proof, "check a proof bundle offline" },
	{ NULL, NULL, NULL },
};
