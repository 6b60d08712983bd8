/*
 * cmd_team.c - signet team create | add-member | remove-member | list.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void
print_team(struct cli *cli, json_t *resp, const char *verb)
{
	json_t *t = json_object_get(resp, "team"), *m;
	size_t i;

	if (cli->json) {
		cli_print_json(resp);
		return;
	}
	printf("%s team %s (%s)\n", verb, js(t, "name"), js(t, "id"));
	json_array_foreach(json_object_get(t, "members"), i, m)
		printf("  member %s%s\n", js(m, "email"),
		    json_is_true(json_object_get(m, "owner")) ? " (owner)" : "");
}

static int
team_create(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet team create NAME [--json]";
	const char *pos[1];
	json_t *req, *resp = NULL;
	int npos, r;
	const struct cli_opt opts[] = {
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "team create";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 1, 1,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if ((req = json_pack("{s:s}", "name", pos[0])) == NULL)
		return cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
	r = cli_call(cli, "POST", "/v1/teams", req, &resp);
	json_decref(req);
	if (r != 0)
		return r;
	print_team(cli, resp, "Created");
	json_decref(resp);
	return 0;
}

static int
team_add_member(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet team add-member TEAM EMAIL "
	    "[--owner] [--json]";
	const char *pos[2];
	json_t *req, *resp = NULL;
	char path[1024], *e;
	int npos, r, owner = 0;
	const struct cli_opt opts[] = {
		{ "owner", 0, NULL, &owner },
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "team add-member";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 2, 2,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if ((e = cli_esc(pos[0])) == NULL)
		return cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
	snprintf(path, sizeof(path), "/v1/teams/%s/members", e);
	free(e);
	if ((req = json_pack("{s:s, s:b}", "user", pos[1], "owner",
	    owner)) == NULL)
		return cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
	r = cli_call(cli, "POST", path, req, &resp);
	json_decref(req);
	if (r != 0)
		return r;
	print_team(cli, resp, "Updated");
	json_decref(resp);
	return 0;
}

static int
team_remove_member(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet team remove-member TEAM EMAIL "
	    "[--json]";
	const char *pos[2];
	json_t *resp = NULL;
	char path[1024], *e1, *e2;
	int npos, r;
	const struct cli_opt opts[] = {
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "team remove-member";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 2, 2,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	e1 = cli_esc(pos[0]);
	e2 = cli_esc(pos[1]);
	if (e1 == NULL || e2 == NULL) {
		free(e1);
		free(e2);
		return cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
	}
	snprintf(path, sizeof(path), "/v1/teams/%s/members/%s", e1, e2);
	free(e1);
	free(e2);
	if ((r = cli_call(cli, "DELETE", path, NULL, &resp)) != 0)
		return r;
	print_team(cli, resp, "Updated");
	json_decref(resp);
	return 0;
}

static int
team_list(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet team list [--json]";
	static const char *const hdr[] = { "NAME", "ID", "MEMBERS", "CREATED" };
	const char *pos[1];
	struct cli_table *tab;
	json_t *resp = NULL, *t, *m;
	size_t i, j;
	int npos, r;
	const struct cli_opt opts[] = {
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "team list";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 0, 0,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if ((r = cli_call(cli, "GET", "/v1/teams", NULL, &resp)) != 0)
		return r;
	if (cli->json) {
		cli_print_json(resp);
		json_decref(resp);
		return 0;
	}
	tab = cli_table_new(4, hdr);
	json_array_foreach(json_object_get(resp, "teams"), i, t) {
		char members[1024] = "";
		size_t used = 0;

		json_array_foreach(json_object_get(t, "members"), j, m) {
			int n = snprintf(members + used, sizeof(members) - used,
			    "%s%s%s", used > 0 ? "," : "", js(m, "email"),
			    json_is_true(json_object_get(m, "owner")) ?
			    "(owner)" : "");

			if (n < 0 || (size_t)n >= sizeof(members) - used)
				break;
			used += (size_t)n;
		}
		const char *row[4] = { js(t, "name"), js(t, "id"), members,
		    js(t, "created_at") };

		cli_table_add(tab, row);
	}
	cli_table_print(tab);
	cli_table_free(tab);
	json_decref(resp);
	return 0;
}

int
cmd_team(struct cli *cli, int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{ "create", team_create, "create a team (admin)" },
		{ "add-member", team_add_member, "add a user (--owner: as owner)" },
		{ "remove-member", team_remove_member, "remove a user" },
		{ "list", team_list, "list teams" },
		{ NULL, NULL, NULL },
	};

	return cli_dispatch(cli, "team", subs, argc, argv);
}
