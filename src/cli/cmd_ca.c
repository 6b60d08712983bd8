/*
 * cmd_ca.c - signet ca list | cert [NAME]: the tenant's certificate
 * authorities and the root certificate verifiers should trust.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void
ca_row(json_t *ca, const char **c, char *buf, size_t len)
{
	(void)buf;
	(void)len;
	c[0] = js(ca, "name");
	c[1] = js(ca, "role");
	c[2] = js(ca, "algorithm");
	c[3] = js(ca, "not_after");
	c[4] = js(ca, "subject");
	c[5] = js(ca, "id");
}

static int
ca_list(struct cli *cli, int argc, char **argv)
{
	static const char *const hdr[] = { "NAME", "ROLE", "ALGORITHM",
	    "NOT AFTER", "SUBJECT", "ID" };
	static const struct cli_listing l = { "ca list",
	    "signet ca list [--json]", "/v1/ca", "cas", NULL, NULL, 6, hdr,
	    ca_row };

	return cli_list(cli, argc, argv, &l);
}

static int
ca_cert(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet ca cert [NAME] [--json]  "
	    "(default: the root CA)";
	const char *pos[1], *pem = NULL;
	json_t *resp = NULL, *ca, *found = NULL;
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
		if ((r = cli_callp(cli, "GET", NULL, &resp, "/v1/ca/{}",
		    pos[0])) != 0)
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
