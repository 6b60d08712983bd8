/*
 * cmd_cert.c - signet cert KEY [--chain] and signet pkcs11-module.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#ifndef SIGNET_PKCS11_MODULE_PATH
#define SIGNET_PKCS11_MODULE_PATH "/usr/local/lib/pkcs11/signet-pkcs11.so"
#endif

int
cmd_cert(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet cert KEY [--chain] [--json]";
	const char *pos[1];
	json_t *resp = NULL, *c;
	char *id = NULL;
	size_t i;
	int npos, r, chain = 0;
	const struct cli_opt opts[] = {
		{ "chain", 0, NULL, &chain },
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "cert";
	if ((r = cli_parse(cli->cmd, usage, argc - 1, argv + 1, opts, pos, 1, 1,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if ((r = cli_resolve_key(cli, pos[0], &id)) != 0)
		return r;
	r = cli_callp(cli, "GET", NULL, &resp, "/v1/keys/{}/certificate", id);
	free(id);
	if (r != 0)
		return r;
	if (cli->json) {
		cli_print_json(resp);
		json_decref(resp);
		return 0;
	}
	if (*js(resp, "certificate") == '\0') {
		json_decref(resp);
		return cli_failx(EXIT_REFUSED, cli->cmd, "%s has no certificate",
		    pos[0]);
	}
	printf("%s", js(resp, "certificate"));
	if (chain)
		json_array_foreach(json_object_get(resp, "chain"), i, c)
			printf("%s", json_string_value(c) != NULL ?
			    json_string_value(c) : "");
	json_decref(resp);
	return 0;
}

/*
 * The module under this signet's own install prefix: <prefix>/bin/signet
 * gives <prefix>/<p11-kit's module dir>/signet-pkcs11.so, so an install
 * with `cmake --install --prefix P` prints P's module, not the configured
 * prefix's. 0, or -1 when signet does not run from an installed bin/.
 */
static int
module_beside_binary(char *buf, size_t len)
{
	static const char bindir[] = SIGNET_INSTALL_BINDIR;
	char exe[PATH_MAX], *slash;
	size_t el, bl = sizeof(bindir) - 1;
	ssize_t n;

	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) <= 0)
		return -1;
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) == NULL)
		return -1;
	*slash = '\0';
	el = strlen(exe);
	if (el <= bl || exe[el - bl - 1] != '/' ||
	    strcmp(exe + el - bl, bindir) != 0)
		return -1;
	exe[el - bl - 1] = '\0';
	if ((size_t)snprintf(buf, len, "%s/%s", exe,
	    SIGNET_PKCS11_MODULE_RELPATH) >= len)
		return -1;
	return access(buf, R_OK) == 0 ? 0 : -1;
}

int
cmd_pkcs11_module(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet pkcs11-module";
	const char *path, *pos[1];
	char here[PATH_MAX];
	int npos, r;

	cli->cmd = "pkcs11-module";
	if ((r = cli_parse(cli->cmd, usage, argc - 1, argv + 1, NULL, pos, 0, 0,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	path = getenv("SIGNET_PKCS11_MODULE");
	if (path == NULL || *path == '\0')
		path = module_beside_binary(here, sizeof(here)) == 0 ? here :
		    SIGNET_PKCS11_MODULE_PATH;
	printf("%s\n", path);
	if (access(path, R_OK) != 0)
		return cli_failx(EXIT_REFUSED, cli->cmd, "%s does not exist "
		    "(is signet-pkcs11 installed? SIGNET_PKCS11_MODULE "
		    "overrides the path)", path);
	return 0;
}
