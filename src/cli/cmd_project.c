/*
 * cmd_project.c - signet project create | list | add-owner | add-signer |
 * remove-signer | signers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void
print_project(struct cli *cli, json_t *resp, const char *verb)
{
	json_t *p = json_object_get(resp, "project"), *o;
	size_t i;

	if (cli->json) {
		cli_print_json(resp);
		return;
	}
	printf("%s project %s (%s)\n", verb, js(p, "name"), js(p, "id"));
	json_array_foreach(json_object_get(p, "owners"), i, o)
		printf("  owner %s %s\n", js(o, "type"), js(o, "name"));
}

static void
print_created(struct cli *cli, json_t *resp)
{
	print_project(cli, resp, "Created");
}

static int
project_create(struct cli *cli, int argc, char **argv)
{
	return cli_create_named(cli, argc, argv, "project create",
	    "signet project create NAME [--json]", "/v1/projects",
	    print_created);
}

static void
project_row(json_t *p, const char **c, char *buf, size_t len)
{
	json_t *o;
	size_t j, used = 0;

	json_array_foreach(json_object_get(p, "owners"), j, o) {
		int n = snprintf(buf + used, len - used, "%s%s:%s",
		    used > 0 ? "," : "", js(o, "type"), js(o, "name"));

		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
	buf[used] = '\0';
	c[0] = js(p, "name");
	c[1] = js(p, "id");
	c[2] = buf;
	c[3] = js(p, "created_at");
}

static int
project_list(struct cli *cli, int argc, char **argv)
{
	static const char *const hdr[] = { "NAME", "ID", "OWNERS", "CREATED" };
	static const struct cli_listing l = { "project list",
	    "signet project list [--json]", "/v1/projects", "projects", NULL,
	    NULL, 4, hdr, project_row };

	return cli_list(cli, argc, argv, &l);
}

/* Exactly one of --user / --team (/ --service-account when allow_sa). */
static int
principal(struct cli *cli, const char *user, const char *team,
    const char *sa, const char **type, const char **apitype,
    const char **name)
{
	int n = (user != NULL) + (team != NULL) + (sa != NULL);

	if (n != 1)
		return cli_usage_error(cli->cmd, "give exactly one of --user, "
		    "--team%s", sa != NULL || strstr(cli->cmd, "signer") ?
		    " or --service-account" : "");
	if (user != NULL) {
		*type = "user";
		*apitype = "user";
		*name = user;
	} else if (team != NULL) {
		*type = "team";
		*apitype = "team";
		*name = team;
	} else {
		*type = "service_account";
		*apitype = "service_account";
		*name = sa;
	}
	return 0;
}

static void
print_signers(struct cli *cli, json_t *resp)
{
	static const char *const hdr[] = { "TYPE", "NAME", "ID" };
	struct cli_table *t;
	json_t *s;
	size_t i;

	if (cli->json) {
		cli_print_json(resp);
		return;
	}
	t = cli_table_new(3, hdr);
	json_array_foreach(json_object_get(resp, "signers"), i, s) {
		const char *row[3] = { js(s, "type"), js(s, "name"),
		    js(s, "id") };

		cli_table_add(t, row);
	}
	cli_table_print(t);
	cli_table_free(t);
}

static int
project_add_owner(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet project add-owner PROJECT "
	    "(--user EMAIL | --team NAME) [--json]";
	const char *user = NULL, *team = NULL, *type, *at, *name, *pos[1];
	json_t *req, *resp = NULL;
	int npos, r;
	const struct cli_opt opts[] = {
		{ "user", 1, &user, NULL },
		{ "team", 1, &team, NULL },
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "project add-owner";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 1, 1,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if ((r = principal(cli, user, team, NULL, &type, &at, &name)) != 0)
		return r;
	if ((req = json_pack("{s:s}", type, name)) == NULL)
		return cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
	r = cli_callp(cli, "POST", req, &resp, "/v1/projects/{}/owners",
	    pos[0]);
	json_decref(req);
	if (r != 0)
		return r;
	print_project(cli, resp, "Updated");
	json_decref(resp);
	return 0;
}

static int
project_signer(struct cli *cli, int argc, char **argv, int add)
{
	static const char usage_add[] = "signet project add-signer PROJECT "
	    "(--user EMAIL | --team NAME | --service-account NAME) [--json]";
	static const char usage_rm[] = "signet project remove-signer PROJECT "
	    "(--user EMAIL | --team NAME | --service-account NAME) [--json]";
	const char *user = NULL, *team = NULL, *sa = NULL, *pos[1];
	const char *type, *at, *name;
	json_t *req = NULL, *resp = NULL;
	int npos, r;
	const struct cli_opt opts[] = {
		{ "user", 1, &user, NULL },
		{ "team", 1, &team, NULL },
		{ "service-account", 1, &sa, NULL },
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = add ? "project add-signer" : "project remove-signer";
	if ((r = cli_parse(cli->cmd, add ? usage_add : usage_rm, argc, argv,
	    opts, pos, 1, 1, &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if ((r = principal(cli, user, team, sa, &type, &at, &name)) != 0)
		return r;
	if (add) {
		if ((req = json_pack("{s:s}", type, name)) == NULL) {
			r = cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
			goto out;
		}
		r = cli_callp(cli, "POST", req, &resp,
		    "/v1/projects/{}/signers", pos[0]);
	} else
		r = cli_callp(cli, "DELETE", NULL, &resp,
		    "/v1/projects/{}/signers/{}/{}", pos[0], at, name);
	if (r != 0)
		goto out;
	if (!cli->json)
		printf("%s %s %s %s project %s; signers now:\n",
		    add ? "Added" : "Removed", type, name,
		    add ? "as a signer of" : "from the signers of", pos[0]);
	print_signers(cli, resp);
	r = 0;
 out:
	json_decref(req);
	json_decref(resp);
	return r;
}

static int
project_add_signer(struct cli *cli, int argc, char **argv)
{
	return project_signer(cli, argc, argv, 1);
}

static int
project_remove_signer(struct cli *cli, int argc, char **argv)
{
	return project_signer(cli, argc, argv, 0);
}

static int
project_signers(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet project signers PROJECT [--json]";
	const char *pos[1];
	json_t *resp = NULL;
	int npos, r;
	const struct cli_opt opts[] = {
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "project signers";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 1, 1,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if ((r = cli_callp(cli, "GET", NULL, &resp, "/v1/projects/{}/signers",
	    pos[0])) != 0)
		return r;
	print_signers(cli, resp);
	json_decref(resp);
	return 0;
}

int
cmd_project(struct cli *cli, int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{ "create", project_create, "create a project (admin)" },
		{ "list", project_list, "list projects" },
		{ "add-owner", project_add_owner, "add an owning user or team" },
		{ "add-signer", project_add_signer, "authorize a user, team or "
		    "service account to sign" },
		{ "remove-signer", project_remove_signer, "remove an authorized "
		    "signer" },
		{ "signers", project_signers, "list authorized signers" },
		{ NULL, NULL, NULL },
	};

	return cli_dispatch(cli, "project", subs, argc, argv);
}
