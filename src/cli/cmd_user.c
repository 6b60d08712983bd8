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

static void
user_row(json_t *u, const char **c, char *buf, size_t len)
{
	(void)buf;
	(void)len;
	c[0] = js(u, "email");
	c[1] = js(u, "role");
	c[2] = json_is_true(json_object_get(u, "disabled")) ? "disabled" :
	    "active";
	c[3] = js(u, "id");
	c[4] = js(u, "created_at");
}

static int
user_list(struct cli *cli, int argc, char **argv)
{
	static const char *const hdr[] = { "EMAIL", "ROLE", "STATE", "ID",
	    "CREATED" };
	static const struct cli_listing l = { "user list",
	    "signet user list [--json]", "/v1/users", "users", NULL, NULL,
	    5, hdr, user_row };

	return cli_list(cli, argc, argv, &l);
}

static int
user_disable(struct cli *cli, int argc, char **argv)
{
	return cli_named_op(cli, argc, argv, "user disable",
	    "signet user disable EMAIL [--json]", "POST",
	    "/v1/users/{}/disable", "Disabled user");
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
