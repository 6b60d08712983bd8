/*
 * cmd_policy.c - signet policy set | show | clear: the signing policy of a
 * key (docs/POLICIES.md). The CLI only shapes the request; every rule is
 * parsed and validated by the server, so the error for a bad window or
 * CIDR is the same here as over the API.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "err.h"

/* "a,b,c" -> ["a","b","c"] (empty items are left to the server to refuse). */
static json_t *
split_list(const char *s)
{
	json_t *a = json_array();
	const char *p = s, *comma;

	while (a != NULL) {
		comma = strchr(p, ',');
		if (json_array_append_new(a, json_stringn(p, comma != NULL ?
		    (size_t)(comma - p) : strlen(p))) != 0) {
			json_decref(a);
			return NULL;
		}
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return a;
}

static json_t *
multi(const char *const *v, int n)
{
	json_t *a = json_array();

	for (int i = 0; a != NULL && i < n; i++)
		if (json_array_append_new(a, json_string(v[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static void
print_policy(struct cli *cli, const char *key, json_t *resp)
{
	json_t *p = json_object_get(resp, "policy"), *v;
	const char *name;
	size_t i;

	if (cli->json) {
		cli_print_json(resp);
		return;
	}
	if (!json_is_object(p)) {
		printf("%s has no policy: its signers sign without restriction\n",
		    key);
		return;
	}
	printf("policy of %s (updated %s by %s)\n", key, js(resp, "updated_at"),
	    js(resp, "updated_by"));
	json_object_foreach(p, name, v) {
		json_t *e;
		char line[1024];
		size_t o = 0;

		line[0] = '\0';
		if (json_is_string(v))
			snprintf(line, sizeof(line), "%s", json_string_value(v));
		else if (json_is_object(v))	/* approval */
			snprintf(line, sizeof(line), "%lld of team %s, each "
			    "request valid %llds", (long long)json_integer_value(
			    json_object_get(v, "approvals")), *js(v, "team_name") ?
			    js(v, "team_name") : js(v, "team"),
			    (long long)json_integer_value(json_object_get(v,
			    "ttl")));
		else
			json_array_foreach(v, i, e)
				o += (size_t)snprintf(line + o, o < sizeof(line) ?
				    sizeof(line) - o : 0, "%s%s", i ? "; " : "",
				    json_is_string(e) ? json_string_value(e) : "");
		cli_sanitize(line);
		printf("  %-15s %s\n", name, line);
	}
}

static int
policy_set(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet policy set KEY [--mechanisms LIST] "
	    "[--digests LIST] [--window SPEC]... [--max-signatures N/PERIOD] "
	    "[--source CIDR]... [--approval TEAM [--approvals K] "
	    "[--approval-ttl DURATION]] [--json]";
	const char *pos[1], *mechs = NULL, *digests = NULL, *maxsig = NULL;
	const char *team = NULL, *napp = NULL, *ttl = NULL;
	const char *windows[CLI_MULTI_MAX], *sources[CLI_MULTI_MAX];
	int nwin = 0, nsrc = 0, npos, r;
	json_t *req = NULL, *resp = NULL;
	char *id = NULL;
	const struct cli_opt opts[] = {
		{ "mechanisms", 1, &mechs, NULL },
		{ "digests", 1, &digests, NULL },
		{ "window", CLI_MULTI, windows, &nwin },
		{ "max-signatures", 1, &maxsig, NULL },
		{ "source", CLI_MULTI, sources, &nsrc },
		{ "approval", 1, &team, NULL },
		{ "approvals", 1, &napp, NULL },
		{ "approval-ttl", 1, &ttl, NULL },
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "policy set";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 1, 1,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if (mechs == NULL && digests == NULL && maxsig == NULL && nwin == 0 &&
	    nsrc == 0 && team == NULL)
		return cli_usage_error(cli->cmd, "name at least one rule (or "
		    "use `signet policy clear KEY`)");
	if (team == NULL && (napp != NULL || ttl != NULL))
		return cli_usage_error(cli->cmd, "--approvals and --approval-ttl "
		    "go with --approval TEAM");
	if (team != NULL) {
		json_t *ap = json_pack("{s:s}", "team", team);
		char *end = NULL;
		long long k = 0;

		if (napp != NULL) {
			k = strtoll(napp, &end, 10);
			if (*napp == '\0' || *end != '\0' || k < 1 || k > 10) {
				json_decref(ap);
				return cli_usage_error(cli->cmd, "--approvals must "
				    "be 1 to 10");
			}
			json_object_set_new(ap, "approvals", json_integer(k));
		}
		if (ttl != NULL)	/* the server parses and bounds it */
			json_object_set_new(ap, "ttl", json_string(ttl));
		if ((req = json_object()) == NULL || ap == NULL ||
		    json_object_set_new(req, "approval", ap) != 0) {
			json_decref(req);
			return cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
		}
	}
	if ((req == NULL && (req = json_object()) == NULL) ||
	    (mechs != NULL && json_object_set_new(req, "mechanisms",
	    split_list(mechs)) != 0) ||
	    (digests != NULL && json_object_set_new(req, "digests",
	    split_list(digests)) != 0) ||
	    (nwin > 0 && json_object_set_new(req, "windows",
	    multi(windows, nwin)) != 0) ||
	    (nsrc > 0 && json_object_set_new(req, "sources",
	    multi(sources, nsrc)) != 0) ||
	    (maxsig != NULL && json_object_set_new(req, "max_signatures",
	    json_string(maxsig)) != 0)) {
		r = cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
		goto out;
	}
	if ((r = cli_resolve_key(cli, pos[0], &id)) != 0 ||
	    (r = cli_callp(cli, "PUT", req, &resp, "/v1/keys/{}/policy",
	    id)) != 0)
		goto out;
	print_policy(cli, pos[0], resp);
	r = 0;
 out:
	json_decref(req);
	json_decref(resp);
	free(id);
	return r;
}

/* show / clear: KEY [--json] */
static int
policy_named(struct cli *cli, int argc, char **argv, const char *cmd,
    const char *method)
{
	const char *pos[1];
	json_t *resp = NULL;
	char usage[96], *id = NULL;
	int npos, r;
	const struct cli_opt opts[] = {
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = cmd;
	snprintf(usage, sizeof(usage), "signet %s KEY [--json]", cmd);
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 1, 1,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if ((r = cli_resolve_key(cli, pos[0], &id)) != 0 ||
	    (r = cli_callp(cli, method, NULL, &resp, "/v1/keys/{}/policy",
	    id)) != 0)
		goto out;
	if (strcmp(method, "DELETE") == 0 && !cli->json)
		printf("Cleared the policy of %s\n", pos[0]);
	else
		print_policy(cli, pos[0], resp);
	r = 0;
 out:
	json_decref(resp);
	free(id);
	return r;
}

static int
policy_show(struct cli *cli, int argc, char **argv)
{
	return policy_named(cli, argc, argv, "policy show", "GET");
}

static int
policy_clear(struct cli *cli, int argc, char **argv)
{
	return policy_named(cli, argc, argv, "policy clear", "DELETE");
}

int
cmd_policy(struct cli *cli, int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{ "set", policy_set, "set (replace) a key's signing policy" },
		{ "show", policy_show, "show a key's signing policy" },
		{ "clear", policy_clear, "remove a key's signing policy" },
		{ NULL, NULL, NULL },
	};

	return cli_dispatch(cli, "policy", subs, argc, argv);
}
