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

static void
print_created(struct cli *cli, json_t *resp)
{
	print_team(cli, resp, "Created");
}

static int
team_create(struct cli *cli, int argc, char **argv)
{
	return cli_create_named(cli, argc, argv, "team create",
	    "signet team create NAME [--json]", "/v1/teams", print_created);
}

static int
team_add_member(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet team add-member TEAM EMAIL "
	    "[--owner] [--json]";
	const char *pos[2];
	json_t *req, *resp = NULL;
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
	if ((req = json_pack("{s:s, s:b}", "user", pos[1], "owner",
	    owner)) == NULL)
		return cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
	r = cli_callp(cli, "POST", req, &resp, "/v1/teams/{}/members", pos[0]);
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
	int npos, r;
	const struct cli_opt opts[] = {
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "team remove-member";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 2, 2,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if ((r = cli_callp(cli, "DELETE", NULL, &resp,
	    "/v1/teams/{}/members/{}", pos[0], pos[1])) != 0)
		return r;
	print_team(cli, resp, "Updated");
	json_decref(resp);
	return 0;
}

static void
team_row(json_t *t, const char **c, char *buf, size_t len)
{
	json_t *m;
	size_t j, used = 0;

	json_array_foreach(json_object_get(t, "members"), j, m) {
		int n = snprintf(buf + used, len - used, "%s%s%s",
		    used > 0 ? "," : "", js(m, "email"),
		    json_is_true(json_object_get(m, "owner")) ? "(owner)" : "");

		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
	buf[used] = '\0';
	c[0] = js(t, "name");
	c[1] = js(t, "id");
	c[2] = buf;
	c[3] = js(t, "created_at");
}

static int
team_list(struct cli *cli, int argc, char **argv)
{
	static const char *const hdr[] = { "NAME", "ID", "MEMBERS", "CREATED" };
	static const struct cli_listing l = { "team list",
	    "signet team list [--json]", "/v1/teams", "teams", NULL, NULL, 4,
	    hdr, team_row };

	return cli_list(cli, argc, argv, &l);
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
