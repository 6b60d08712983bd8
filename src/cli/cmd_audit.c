/*
 * cmd_audit.c - signet audit list | verify.
 *
 * verify does not trust the server's own /v1/audit/verify: it fetches every
 * event (paging with ?after=) and recomputes the hash chain here with the
 * same canonical form (src/common/auditchain.h), so a server that rewrote
 * history would have to rewrite every later hash too, and the first event
 * it touched is named.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auditchain.h"
#include "cli.h"
#include "err.h"
#include "util.h"

#define AUDIT_PAGE	1000
#define AUDIT_MAX_PAGES	100000	/* 100 million events: a runaway guard */

static int
audit_list(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet audit list [--key KEY] "
	    "[--since TIME|DURATION] [--after SEQ] [--limit N] [--json]";
	static const char *const hdr[] = { "SEQ", "TIME", "ACTOR", "ACTION",
	    "OBJECT", "RESULT" };
	const char *key = NULL, *since = NULL, *after = NULL, *limit = NULL;
	const char *pos[1];
	struct cli_table *t = NULL;
	json_t *resp = NULL, *ev;
	char path[2048], tbuf[32], *id = NULL, *e;
	long long v;
	int64_t ts, dur;
	size_t used, i;
	int npos, r, n;
	const struct cli_opt opts[] = {
		{ "key", 1, &key, NULL },
		{ "since", 1, &since, NULL },
		{ "after", 1, &after, NULL },
		{ "limit", 1, &limit, NULL },
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "audit list";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 0, 0,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if (limit != NULL && sn_parse_int(limit, 1, 1000, &v) != 0)
		return cli_usage_error(cli->cmd, "--limit must be 1..1000");
	if (after != NULL && sn_parse_int(after, 0, INT64_MAX, &v) != 0)
		return cli_usage_error(cli->cmd, "--after must be a sequence "
		    "number");
	if (since != NULL) {
		/* An RFC 3339 time, or a duration meaning "that long ago". */
		if (sn_parse_time(since, &ts) != 0) {
			if (sn_parse_duration(since, &dur) != 0)
				return cli_usage_error(cli->cmd, "bad --since "
				    "\"%s\" (RFC 3339 time such as "
				    "2026-01-31T12:00:00Z, or a duration such "
				    "as 24h)", since);
			ts = sn_now() - dur;
		}
		sn_format_time(ts, tbuf);
	}
	if (key != NULL && (r = cli_resolve_key(cli, key, &id)) != 0)
		return r;
	used = (size_t)snprintf(path, sizeof(path), "/v1/audit");
	n = 0;
#define ADDQ(name, val) do {						\
		if ((e = cli_esc(val)) == NULL) {			\
			free(id);					\
			return cli_failx(EXIT_REFUSED, cli->cmd, "out of memory"); \
		}							\
		n = snprintf(path + used, sizeof(path) - used, "%s%s=%s", \
		    used == strlen("/v1/audit") ? "?" : "&", name, e);	\
		free(e);						\
		if (n > 0 && (size_t)n < sizeof(path) - used)		\
			used += (size_t)n;				\
	} while (0)
	if (id != NULL)
		ADDQ("key", id);
	if (since != NULL)
		ADDQ("since", tbuf);
	if (after != NULL)
		ADDQ("after", after);
	if (limit != NULL)
		ADDQ("limit", limit);
#undef ADDQ
	free(id);
	if ((r = cli_call(cli, "GET", path, NULL, &resp)) != 0)
		return r;
	if (cli->json) {
		cli_print_json(resp);
		json_decref(resp);
		return 0;
	}
	t = cli_table_new(6, hdr);
	json_array_foreach(json_object_get(resp, "events"), i, ev) {
		char seq[32], actor[256], object[256];

		snprintf(seq, sizeof(seq), "%lld", (long long)json_integer_value(
		    json_object_get(ev, "seq")));
		snprintf(actor, sizeof(actor), "%s%s%s", js(ev, "actor_type"),
		    *js(ev, "actor_id") != '\0' ? ":" : "", js(ev, "actor_id"));
		snprintf(object, sizeof(object), "%s:%s", js(ev, "object_type"),
		    js(ev, "object_id"));
		const char *row[6] = { seq, js(ev, "time"), actor,
		    js(ev, "action"), object, js(ev, "result") };

		cli_table_add(t, row);
	}
	cli_table_print(t);
	cli_table_free(t);
	if (json_is_integer(json_object_get(resp, "next_after")))
		printf("(more: --after %lld)\n", (long long)json_integer_value(
		    json_object_get(resp, "next_after")));
	json_decref(resp);
	return 0;
}

static int
audit_verify(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet audit verify [--json]";
	const char *pos[1];
	char prev[65] = SN_AUDIT_GENESIS, path[128];
	json_t *resp = NULL, *events, *ev, *next, *out;
	long long count = 0, after = -1, seq, last = -1, bad = -1;
	const char *why = NULL;
	size_t i;
	int npos, r, err, pages, failed = 0;
	const struct cli_opt opts[] = {
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "audit verify";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 0, 0,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	/*
	 * A failure is its own flag: the bad event's seq is whatever the server
	 * sent (possibly negative), so it cannot double as the flag.
	 */
	for (pages = 0; pages < AUDIT_MAX_PAGES && !failed; pages++) {
		if (after < 0)
			snprintf(path, sizeof(path), "/v1/audit?limit=%d",
			    AUDIT_PAGE);
		else
			snprintf(path, sizeof(path), "/v1/audit?after=%lld&"
			    "limit=%d", after, AUDIT_PAGE);
		if ((r = cli_call(cli, "GET", path, NULL, &resp)) != 0)
			return r;
		events = json_object_get(resp, "events");
		if (!json_is_array(events)) {
			json_decref(resp);
			return cli_failx(EXIT_REFUSED, cli->cmd, "the server's "
			    "answer has no events list");
		}
		json_array_foreach(events, i, ev) {
			seq = json_integer_value(json_object_get(ev, "seq"));
			if (!json_is_integer(json_object_get(ev, "seq")) ||
			    seq <= last) {
				failed = 1;
				bad = seq;
				why = "sequence numbers out of order";
				break;
			}
			err = sn_audit_check(ev, prev, prev);
			if (err != 0) {
				failed = 1;
				bad = seq;
				why = err == SN_ERR_CONFLICT ? "hash chain broken "
				    "(prev_hash or hash does not match)" :
				    "malformed event";
				break;
			}
			last = seq;
			count++;
		}
		next = json_object_get(resp, "next_after");
		if (failed || !json_is_integer(next) ||
		    json_array_size(events) == 0) {
			json_decref(resp);
			resp = NULL;
			break;
		}
		if (json_integer_value(next) <= after) {
			json_decref(resp);
			return cli_failx(EXIT_REFUSED, cli->cmd, "the server's "
			    "paging does not advance");
		}
		after = json_integer_value(next);
		json_decref(resp);
		resp = NULL;
	}
	if (cli->json) {
		out = json_pack("{s:b, s:I, s:o}", "ok", !failed,
		    "events", (json_int_t)count, "first_bad_seq",
		    !failed ? json_null() : json_integer(bad));
		cli_print_json(out);
		json_decref(out);
	}
	if (failed)
		return cli_failx(EXIT_REFUSED, cli->cmd, "event seq %lld: %s "
		    "(%lld events before it verified)", bad, why, count);
	if (!cli->json)
		printf("Audit chain OK: %lld events verified\n", count);
	if (!cli->json && last >= 0)
		printf("last seq %lld, head hash %s\n", last, prev);
	return 0;
}

int
cmd_audit(struct cli *cli, int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{ "list", audit_list, "list audit events (admin)" },
		{ "verify", audit_verify, "recompute the hash chain locally" },
		{ NULL, NULL, NULL },
	};

	return cli_dispatch(cli, "audit", subs, argc, argv);
}
