/*
 * cmd_user.c - signet user create | list | disable (tenant admins).
 * "user create" prints the new user's first API key alone on the last line
 * of stdout, the only place it is ever shown.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int
user_create(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet user create EMAIL "
	    "[--role admin|user] [--json]";
	const char *role = NULL, *pos[1];
	json_t *req = NULL, *resp = NULL, *u, *k;
	int npos, r;
	const struct cli_opt opts[] = {
		{ "role", 1, &role, NULL },
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "user create";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 1, 1,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if (role != NULL && strcmp(role, "admin") != 0 &&
	    strcmp(role, "user") != 0)
		return cli_usage_error(cli->cmd, "--role must be admin or user");
	if ((req = json_pack("{s:s}", "email", pos[0])) == NULL ||
	    (role != NULL &&
	    json_object_set_new(req, "role", json_string(role)) != 0)) {
		json_decref(req);
		return cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
	}
	r = cli_call(cli, "POST", "/v1/users", req, &resp);
	json_decref(req);
	if (r != 0)
		return r;
	u = json_object_get(resp, "user");
	k = json_object_get(resp, "api_key");
	if (cli->json) {
		/* The JSON first, the key still alone on the last line. */
		json_t *copy = json_deep_copy(resp);

		if (copy != NULL && json_is_object(json_object_get(copy,
		    "api_key")))
			json_object_del(json_object_get(copy, "api_key"), "key");
		cli_print_json(copy);
		json_decref(copy);
	} else {
		printf("Created user %s (%s, role %s)\n", js(u, "email"),
		    js(u, "id"), js(u, "role"));
		printf("API key %s%s%s; it is shown only once:\n", js(k, "id"),
		    *js(k, "expires_at") != '\0' ? ", expires " : "",
		    js(k, "expires_at"));
	}
	printf("%s\n", js(k, "key"));
	json_decref(resp);
	return 0;
}

static int
user_list(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet user list [--json]";
	static const char *const hdr[] = { "EMAIL", "ROLE", "STATE", "ID",
	    "CREATED" };
	const char *pos[1];
	struct cli_table *t = NULL;
	json_t *resp = NULL, *u;
	size_t i;
	int npos, r;
	const struct cli_opt opts[] = {
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "user list";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 0, 0,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if ((r = cli_call(cli, "GET", "/v1/users", NULL, &resp)) != 0)
		return r;
	if (cli->json) {
		cli_print_json(resp);
		json_decref(resp);
		return 0;
	}
	t = cli_table_new(5, hdr);
	json_array_foreach(json_object_get(resp, "users"), i, u) {
		const char *row[5] = { js(u, "email"), js(u, "role"),
		    json_is_true(json_object_get(u, "disabled")) ?
		    "disabled" : "active", js(u, "id"), js(u, "created_at") };

		cli_table_add(t, row);
	}
	cli_table_print(t);
	cli_table_free(t);
	json_decref(resp);
	return 0;
}

static int
user_disable(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet user disable EMAIL";
	const char *pos[1];
	json_t *resp = NULL;
	char *e, path[1024];
	int npos, r;
	const struct cli_opt opts[] = {
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "user disable";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 1, 1,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if ((e = cli_esc(pos[0])) == NULL)
		return cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
	snprintf(path, sizeof(path), "/v1/users/%s/disable", e);
	free(e);
	if ((r = cli_call(cli, "POST", path, NULL, &resp)) != 0)
		return r;
	if (cli->json)
		cli_print_json(resp);
	else
		printf("Disabled user %s\n", pos[0]);
	json_decref(resp);
	return 0;
}

int
cmd_user(struct cli *cli, int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{ "create", user_create, "create a user; prints its first API key" },
		{ "list", user_list, "list the tenant's users" },
		{ "disable", user_disable, "block a user from authenticating" },
		{ NULL, NULL, NULL },
	};

	return cli_dispatch(cli, "user", subs, argc, argv);
}
