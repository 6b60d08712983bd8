/*
 * main.c - `signet`, the command-line tool for administrators and signing
 * machines. Dispatches the first word to a command group (one file each).
 * It never prints a secret except a newly created API key, alone on the
 * last line of stdout.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "util.h"

static const struct {
	const char *name;
	int (*fn)(struct cli *, int, char **);
	const char *summary;
} groups[] = {
	{ "login", cmd_login, "store the server URL and credentials" },
	{ "logout", cmd_logout, "remove the stored credentials" },
	{ "whoami", cmd_whoami, "show who the credentials belong to" },
	{ "user", cmd_user, "create, list, disable users (admin)" },
	{ "apikey", cmd_apikey, "create, list, revoke API keys" },
	{ "team", cmd_team, "create teams, manage members" },
	{ "service-account", cmd_sa, "key pairs and accounts for build machines" },
	{ "project", cmd_project, "projects, owners and authorized signers" },
	{ "key", cmd_key, "signing keys: create, list, show, csr, certificates" },
	{ "approval", cmd_approval, "approve or deny signing requests" },
	{ "policy", cmd_policy, "signing policies of keys: rules, quotas" },
	{ "webhook", cmd_webhook, "notify HTTPS receivers of approvals (admin)" },
	{ "keys", cmd_keys, "the keys I may sign with, with PKCS#11 URIs" },
	{ "cert", cmd_cert, "a key's certificate (PEM)" },
	{ "sign", cmd_sign, "sign a file remotely (raw or CMS signature)" },
	{ "pkcs11-module", cmd_pkcs11_module, "print the PKCS#11 module's path" },
	{ "ca", cmd_ca, "the tenant's certificate authorities" },
	{ "tsa", cmd_tsa, "the tenant's RFC 3161 timestamping authority" },
	{ "audit", cmd_audit, "list and verify the audit trail (admin)" },
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: signet COMMAND [ARGS]\n\ncommands:\n");
	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		fprintf(f, "  %-16s %s\n", groups[i].name, groups[i].summary);
	fprintf(f, "  %-16s %s\n", "help", "describe a command: signet help "
	    "COMMAND");
	fprintf(f, "\nRun \"signet help COMMAND\" (or \"signet COMMAND "
	    "--help\") for a command's options and an example.\n"
	    "Exit status: 0 ok, 1 refused by the server, 2 usage error, "
	    "3 network or TLS failure.\n");
}

int
main(int argc, char **argv)
{
	struct cli cli;
	char *hargv_buf[5] = { NULL }, **hargv = hargv_buf + 1;
	size_t i;
	int r;

	memset(&cli, 0, sizeof(cli));
	sn_json_wipe_on_free();
	if (argc < 2) {
		fprintf(stderr, "signet: missing command (run \"signet --help\" "
		    "for the list)\n");
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    (strcmp(argv[1], "help") == 0 && argc == 2)) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "help") == 0) {
		if (strcmp(argv[2], "--complete") == 0)
			return cli_help_complete(argc - 3, argv + 3);
		if (strcmp(argv[2], "help") == 0 ||
		    strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0) {
			cli_help_print(stdout, cli_help_find("help"));
			return 0;
		}
		/* `signet help A [B]` is `signet A [B] --help`. */
		if (argc > 4)
			return cli_usage_error("help", "too many words (usage: "
			    "signet help [COMMAND [SUBCOMMAND]])");
		hargv[0] = argv[2];
		hargv[1] = argc == 4 ? argv[3] : "--help";
		hargv[2] = argc == 4 ? "--help" : NULL;
		hargv[3] = NULL;
		argv = hargv - 1;
		argc = argc == 4 ? 4 : 3;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("signet %s\n", SIGNET_VERSION);
		return 0;
	}
	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		if (strcmp(argv[1], groups[i].name) == 0)
			break;
	}
	if (i == sizeof(groups) / sizeof(groups[0])) {
		const char *cands[sizeof(groups) / sizeof(groups[0]) + 1];
		const char *best;
		size_t n = 0;

		for (n = 0; n < sizeof(groups) / sizeof(groups[0]); n++)
			cands[n] = groups[n].name;
		cands[n++] = "help";
		if ((best = cli_nearest(argv[1], cands, n)) != NULL)
			return cli_failx(EXIT_USAGE, argv[1], "unknown command "
			    "(did you mean '%s'?)", best);
		return cli_failx(EXIT_USAGE, argv[1], "unknown command (run "
		    "\"signet --help\" for the list)");
	}
	cli.cmd = groups[i].name;
	r = groups[i].fn(&cli, argc - 1, argv + 1);
	sn_client_free(cli.client);
	sn_config_clear(&cli.cfg);
	if (fflush(stdout) != 0 && r == 0) {
		fprintf(stderr, "signet: cannot write to stdout\n");
		r = EXIT_REFUSED;
	}
	return r;
}
