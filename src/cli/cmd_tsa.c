/*
 * cmd_tsa.c - signet tsa url | cert [--chain]: the tenant's RFC 3161
 * timestamping authority, for signing tools' -ts / -tsa options and for
 * verifiers that want its certificates.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int
tsa_get(struct cli *cli, const char *cmd, const char *usage, int *chain,
    int argc, char **argv, json_t **resp, json_t **tsa)
{
	const char *pos[1];
	int npos, r;
	const struct cli_opt opts[] = {
		{ "json", 0, NULL, &cli->json },
		{ "chain", 0, NULL, chain },
		{ NULL, 0, NULL, NULL },
	};
	const struct cli_opt opts_nochain[] = {
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	*resp = *tsa = NULL;
	cli->cmd = cmd;
	if ((r = cli_parse(cli->cmd, usage, argc, argv, chain != NULL ? opts :
	    opts_nochain, pos, 0, 0, &npos)) != 0)
		return r == CLI_HELP ? CLI_HELP : r;
	if ((r = cli_call(cli, "GET", "/v1/tsa", NULL, resp)) != 0)
		return r;
	if ((*tsa = json_object_get(*resp, "tsa")) == NULL ||
	    *js(*tsa, "certificate") == '\0') {
		json_decref(*resp);
		*resp = NULL;
		return cli_failx(EXIT_REFUSED, cli->cmd, "the server sent no "
		    "TSA");
	}
	return 0;
}

/* The plain-HTTP URL when the server has one (what signing tools use),
 * else the HTTPS one. */
static int
tsa_url(struct cli *cli, int argc, char **argv)
{
	json_t *resp = NULL, *tsa;
	const char *u;
	int r;

	if ((r = tsa_get(cli, "tsa url", "signet tsa url [--json]", NULL,
	    argc, argv, &resp, &tsa)) != 0)
		return r == CLI_HELP ? 0 : r;
	if (cli->json)
		cli_print_json(tsa);
	else {
		u = js(tsa, "http_url");
		printf("%s\n", *u != '\0' ? u : js(tsa, "url"));
	}
	json_decref(resp);
	return 0;
}

static int
tsa_cert(struct cli *cli, int argc, char **argv)
{
	json_t *resp = NULL, *tsa, *c;
	int chain = 0, r;
	size_t i;

	if ((r = tsa_get(cli, "tsa cert", "signet tsa cert [--chain] [--json]",
	    &chain, argc, argv, &resp, &tsa)) != 0)
		return r == CLI_HELP ? 0 : r;
	if (cli->json)
		cli_print_json(tsa);
	else {
		printf("%s", js(tsa, "certificate"));
		if (chain)
			json_array_foreach(json_object_get(tsa, "chain"), i, c)
				if (json_is_string(c))
					printf("%s", json_string_value(c));
	}
	json_decref(resp);
	return 0;
}

int
cmd_tsa(struct cli *cli, int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{ "url", tsa_url, "print the tenant's timestamping URL" },
		{ "cert", tsa_cert, "print the TSA certificate (--chain: and "
		    "its CAs)" },
		{ NULL, NULL, NULL },
	};

	return cli_dispatch(cli, "tsa", subs, argc, argv);
}
