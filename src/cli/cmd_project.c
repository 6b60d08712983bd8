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

static int
project_create(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet project create NAME [--json]";
	const char *pos[1];
	json_t *req, *resp = NULL;
	int npos, r;
	const struct cli_opt opts[] = {
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "project create";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 1, 1,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if ((req = json_pack("{s:s}", "name", pos[0])) == NULL)
		return cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
	r = cli_call(cli, "POST", "/v1/projects", req, &resp);
	json_decref(req);
	if (r != 0)
		return r;
	print_project(cli, resp, "Created");
	json_decref(resp);
	return 0;
}

static int
project_list(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet project list [--json]";
	static const char *const hdr[] = { "NAME", "ID", "OWNERS", "CREATED" };
	const char *pos[1];
	struct cli_table *tab;
	json_t *resp = NULL, *p, *o;
	size_t i, j;
	int npos, r;
	const struct cli_opt opts[] = {
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "project list";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 0, 0,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if ((r = cli_call(cli, "GET", "/v1/projects", NULL, &resp)) != 0)
		return r;
	if (cli->json) {
		cli_print_json(resp);
		json_decref(resp);
		return 0;
	}
	tab = cli_table_new(4, hdr);
	json_array_foreach(json_object_get(resp, "projects"), i, p) {
		char owners[1024] = "";
		size_t used = 0;

		json_array_foreach(json_object_get(p, "owners"), j, o) {
			int n = snprintf(owners + used, sizeof(owners) - used,
			    "%s%s:%s", used > 0 ? "," : "", js(o, "type"),
			    js(o, "name"));

			if (n < 0 || (size_t)n >= sizeof(owners) - used)
				break;
			used += (size_t)n;
		}
		const char *row[4] = { js(p, "name"), js(p, "id"), owners,
		    js(p, "created_at") };

		cli_table_add(tab, row);
	}
	cli_table_print(tab);
	cli_table_free(tab);
	json_decref(resp);
	return 0;
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
	char path[1024], *e;
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
	if ((e = cli_esc(pos[0])) == NULL ||
	    (req = json_pack("{s:s}", type, name)) == NULL) {
		free(e);
		return cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
	}
	snprintf(path, sizeof(path), "/v1/projects/%s/owners", e);
	free(e);
	r = cli_call(cli, "POST", path, req, &resp);
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
	char path[1024], *e = NULL, *ne = NULL;
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
	if ((e = cli_esc(pos[0])) == NULL || (ne = cli_esc(name)) == NULL) {
		r = cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
		goto out;
	}
	if (add) {
		snprintf(path, sizeof(path), "/v1/projects/%s/signers", e);
		if ((req = json_pack("{s:s}", type, name)) == NULL) {
			r = cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
			goto out;
		}
		r = cli_call(cli, "POST", path, req, &resp);
	} else {
		snprintf(path, sizeof(path), "/v1/projects/%s/signers/%s/%s", e,
		    at, ne);
		r = cli_call(cli, "DELETE", path, NULL, &resp);
	}
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
	free(e);
	free(ne);
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
	char path[1024], *e;
	int npos, r;
	const struct cli_opt opts[] = {
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "project signers";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 1, 1,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if ((e = cli_esc(pos[0])) == NULL)
		return cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
	snprintf(path, sizeof(path), "/v1/projects/%s/signers", e);
	free(e);
	if ((r = cli_call(cli, "GET", path, NULL, &resp)) != 0)
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
