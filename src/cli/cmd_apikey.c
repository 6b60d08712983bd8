/*
 * cmd_apikey.c - signet apikey create | list | revoke. A new key is printed
 * alone on the last line of stdout, once; the server keeps only its hash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

static int
apikey_create(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet apikey create [--expires DURATION] "
	    "[--description TEXT] [--user EMAIL] [--json]";
	const char *exp = NULL, *desc = NULL, *user = NULL, *pos[1];
	json_t *req = NULL, *resp = NULL;
	int64_t secs = 0;
	int npos, r;
	const struct cli_opt opts[] = {
		{ "expires", 1, &exp, NULL },
		{ "description", 1, &desc, NULL },
		{ "user", 1, &user, NULL },
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "apikey create";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 0, 0,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if (exp != NULL && sn_parse_duration(exp, &secs) != 0)
		return cli_usage_error(cli->cmd, "bad duration \"%s\" (e.g. "
		    "90d, 12h, 30m)", exp);
	if ((req = json_object()) == NULL ||
	    (exp != NULL && json_object_set_new(req, "expires_in",
	    json_integer(secs)) != 0) ||
	    (desc != NULL && json_object_set_new(req, "description",
	    json_string(desc)) != 0) ||
	    (user != NULL && json_object_set_new(req, "user",
	    json_string(user)) != 0)) {
		json_decref(req);
		return cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
	}
	r = cli_call(cli, "POST", "/v1/apikeys", req, &resp);
	json_decref(req);
	if (r != 0)
		return r;
	if (cli->json) {
		json_t *copy = json_deep_copy(resp);

		if (copy != NULL)
			json_object_del(copy, "key");
		cli_print_json(copy);
		json_decref(copy);
	} else
		printf("Created API key %s (expires %s); it is shown only "
		    "once:\n", js(resp, "id"),
		    *js(resp, "expires_at") != '\0' ? js(resp, "expires_at") :
		    "never");
	printf("%s\n", js(resp, "key"));
	json_decref(resp);
	return 0;
}

static void
apikey_row(json_t *k, const char **c, char *buf, size_t len)
{
	(void)buf;
	(void)len;
	c[0] = js(k, "id");
	c[1] = js(k, "description");
	c[2] = js(k, "created_at");
	c[3] = js(k, "expires_at");
	c[4] = js(k, "last_used_at");
	c[5] = js(k, "revoked_at");
}

static int
apikey_list(struct cli *cli, int argc, char **argv)
{
	static const char *const hdr[] = { "ID", "DESCRIPTION", "CREATED",
	    "EXPIRES", "LAST USED", "REVOKED" };
	static const struct cli_listing l = { "apikey list",
	    "signet apikey list [--user EMAIL] [--json]", "/v1/apikeys",
	    "apikeys", "user", "user", 6, hdr, apikey_row };

	return cli_list(cli, argc, argv, &l);
}

static int
apikey_revoke(struct cli *cli, int argc, char **argv)
{
	return cli_named_op(cli, argc, argv, "apikey revoke",
	    "signet apikey revoke ID [--json]", "DELETE", "/v1/apikeys/{}",
	    "Revoked API key");
}

int
cmd_apikey(struct cli *cli, int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{ "create", apikey_create, "create an API key (shown once)" },
		{ "list", apikey_list, "list API keys" },
		{ "revoke", apikey_revoke, "revoke an API key" },
		{ NULL, NULL, NULL },
	};

	return cli_dispatch(cli, "apikey", subs, argc, argv);
}
