/*
 * cmd_audit.c - signet audit list | verify (| checkpoint | log-key | prove
 * | verify-proof, in cmd_audit_log.c).
 *
 * verify does not trust the server's own /v1/audit/verify: it fetches the
 * events (paging with ?after=) and recomputes the hash chain and the
 * Merkle tree here with the same canonical form (src/common/auditchain.h,
 * merkle.h), and checks them against the log's signed checkpoints.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auditchain.h"
#include "cli.h"
#include "err.h"
#include "util.h"


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
	if (after != NULL && sn_parse_int(after, 0, INT64_MAX, &v) != 0)
		return cli_usage_error(cli->cmd, "--after must be a sequence "
		    "number");
	v = 0;
	if (limit != NULL && sn_parse_int(limit, 1, 100000000, &v) != 0)
		return cli_usage_error(cli->cmd, "--limit must be a number of "
		    "events, 1 or more");
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
#undef ADDQ
	free(id);
	/* Every page to the end, or the first --limit events. */
	if ((r = cli_get_all(cli, path, "events", limit != NULL ?
	    (size_t)v : 0, &resp)) != 0)
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
	if (limit != NULL && (size_t)v == json_array_size(json_object_get(resp,
	    "events")) && v > 0)
		printf("(more may follow: --after %lld)\n",
		    (long long)json_integer_value(json_object_get(
		    json_array_get(json_object_get(resp, "events"),
		    (size_t)v - 1), "seq")));
	json_decref(resp);
	return 0;
}

/*
 * Checkpoint based (cmd_audit_log.c): the newest signed checkpoint must
 * extend the one verified last time, and only the events since are
 * fetched and recomputed; --full recomputes every event again.
 */
static int
audit_verify(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet audit verify [--full] "
	    "[--log-key KEY] [--json]";
	const char *pos[1], *lk = NULL;
	int npos, r, full = 0;
	const struct cli_opt opts[] = {
		{ "full", 0, NULL, &full },
		{ "log-key", 1, &lk, NULL },
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "audit verify";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 0, 0,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	return audit_verify_log(cli, full, lk);
}

int
cmd_audit(struct cli *cli, int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{ "list", audit_list, "list audit events (admin)" },
		{ "verify", audit_verify, "check the log against its signed "
		    "checkpoints (--full: every event)" },
		{ "checkpoint", NULL, NULL },
		{ "log-key", NULL, NULL },
		{ "prove", NULL, NULL },
		{ "verify-proof", NULL, NULL },
		{ NULL, NULL, NULL },
	};
	struct cli_sub all[sizeof(subs) / sizeof(subs[0])];
	size_t i, j;

	/* list and verify here, the transparency log's commands next door */
	for (i = 0; subs[i].name != NULL; i++) {
		all[i] = subs[i];
		for (j = 0; subs[i].fn == NULL && cli_audit_log_subs[j].name !=
		    NULL; j++)
			if (strcmp(cli_audit_log_subs[j].name, subs[i].name) == 0)
				all[i] = cli_audit_log_subs[j];
	}
	all[i] = subs[i];
	return cli_dispatch(cli, "audit", all, argc, argv);
}
