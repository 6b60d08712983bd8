/*
 * cmd_ca.c - signet ca list | cert [NAME]: the tenant's certificate
 * authorities and the root certificate verifiers should trust.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int
ca_list(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet ca list [--json]";
	static const char *const hdr[] = { "NAME", "ROLE", "ALGORITHM",
	    "NOT AFTER", "SUBJECT", "ID" };
	const char *pos[1];
	struct cli_table *t;
	json_t *resp = NULL, *ca;
	size_t i;
	int npos, r;
	const struct cli_opt opts[] = {
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "ca list";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 0, 0,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if ((r = cli_call(cli, "GET", "/v1/ca", NULL, &resp)) != 0)
		return r;
	if (cli->json) {
		cli_print_json(resp);
		json_decref(resp);
		return 0;
	}
	t = cli_table_new(6, hdr);
	json_array_foreach(json_object_get(resp, "cas"), i, ca) {
		const char *row[6] = { js(ca, "name"), js(ca, "role"),
		    js(ca, "algorithm"), js(ca, "not_after"), js(ca, "subject"),
		    js(ca, "id") };

		cli_table_add(t, row);
	}
	cli_table_print(t);
	cli_table_free(t);
	json_decref(resp);
	return 0;
}

static int
ca_cert(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet ca cert [NAME] [--json]  "
	    "(default: the root CA)";
	const char *pos[1], *pem = NULL;
	json_t *resp = NULL, *ca, *found = NULL;
	char path[1024], *e;
	size_t i;
	int npos, r;
	const struct cli_opt opts[] = {
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "ca cert";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 0, 1,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if (npos == 1) {
		if ((e = cli_esc(pos[0])) == NULL)
			return cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
		snprintf(path, sizeof(path), "/v1/ca/%s", e);
		free(e);
		if ((r = cli_call(cli, "GET", path, NULL, &resp)) != 0)
			return r;
		found = json_object_get(resp, "ca");
	} else {
		if ((r = cli_call(cli, "GET", "/v1/ca", NULL, &resp)) != 0)
			return r;
		json_array_foreach(json_object_get(resp, "cas"), i, ca) {
			if (strcmp(js(ca, "role"), "root") == 0) {
				found = ca;
				break;
			}
		}
	}
	if (found == NULL || *(pem = js(found, "certificate")) == '\0') {
		json_decref(resp);
		return cli_failx(EXIT_REFUSED, cli->cmd, "no %s CA certificate",
		    npos == 1 ? pos[0] : "root");
	}
	if (cli->json)
		cli_print_json(found);
	else
		printf("%s", pem);
	json_decref(resp);
	return 0;
}

int
cmd_ca(struct cli *cli, int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{ "list", ca_list, "list the tenant's CAs" },
		{ "cert", ca_cert, "print a CA certificate (default: root)" },
		{ NULL, NULL, NULL },
	};

	return cli_dispatch(cli, "ca", subs, argc, argv);
}
