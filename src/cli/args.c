/*
 * args.c - command-line parsing for signet: long options only, each command
 * declares its options in a table; anything undeclared is a usage error
 * (exit 2), never silently ignored.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

int
cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "signet: %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

static const struct cli_opt *
find_opt(const struct cli_opt *opts, const char *name, size_t len)
{
	for (; opts != NULL && opts->name != NULL; opts++) {
		if (strlen(opts->name) == len &&
		    strncmp(opts->name, name, len) == 0)
			return opts;
	}
	return NULL;
}

int
cli_parse(const char *cmd, const char *usage, int argc, char **argv,
    const struct cli_opt *opts, const char **pos, int minpos, int maxpos,
    int *npos)
{
	const struct cli_opt *o;
	const char *a, *eq;
	int i, n = 0, dashdash = 0;
	size_t nlen;

	*npos = 0;
	for (i = 0; i < argc; i++) {
		a = argv[i];
		if (!dashdash && strcmp(a, "--") == 0) {
			dashdash = 1;
			continue;
		}
		if (!dashdash && (strcmp(a, "--help") == 0 ||
		    strcmp(a, "-h") == 0)) {
			printf("usage: %s\n", usage);
			return CLI_HELP;
		}
		if (!dashdash && a[0] == '-' && a[1] != '\0') {
			if (a[1] != '-') {
				cli_usage_error(cmd, "unknown option %s", a);
				goto usage;
			}
			eq = strchr(a + 2, '=');
			nlen = eq != NULL ? (size_t)(eq - (a + 2)) : strlen(a + 2);
			if ((o = find_opt(opts, a + 2, nlen)) == NULL) {
				cli_usage_error(cmd, "unknown option --%.*s",
				    (int)nlen, a + 2);
				goto usage;
			}
			if (!o->has_arg) {
				if (eq != NULL) {
					cli_usage_error(cmd, "option --%s takes "
					    "no value", o->name);
					goto usage;
				}
				*o->flag = 1;
				continue;
			}
			if (eq != NULL)
				*o->val = eq + 1;
			else if (i + 1 < argc)
				*o->val = argv[++i];
			else {
				cli_usage_error(cmd, "option --%s needs a value",
				    o->name);
				goto usage;
			}
			continue;
		}
		if (n >= maxpos) {
			cli_usage_error(cmd, "unexpected argument \"%s\"", a);
			goto usage;
		}
		pos[n++] = a;
	}
	if (n < minpos) {
		cli_usage_error(cmd, "missing argument");
		goto usage;
	}
	*npos = n;
	return 0;
 usage:
	fprintf(stderr, "usage: %s\n", usage);
	return EXIT_USAGE;
}

int
cli_dispatch(struct cli *cli, const char *group, const struct cli_sub *subs,
    int argc, char **argv)
{
	const struct cli_sub *s;
	FILE *f;
	int help;

	if (argc >= 2 && strcmp(argv[1], "--help") != 0 &&
	    strcmp(argv[1], "-h") != 0 && strcmp(argv[1], "help") != 0) {
		for (s = subs; s->name != NULL; s++) {
			if (strcmp(s->name, argv[1]) == 0)
				return s->fn(cli, argc - 2, argv + 2);
		}
		cli_usage_error(group, "unknown command \"%s\"", argv[1]);
		help = 0;
	} else
		help = argc >= 2;
	f = help ? stdout : stderr;
	if (!help && argc < 2)
		fprintf(stderr, "signet: %s: missing command\n", group);
	fprintf(f, "usage: signet %s COMMAND [ARGS]\n\ncommands:\n", group);
	for (s = subs; s->name != NULL; s++)
		fprintf(f, "  %-16s %s\n", s->name, s->summary);
	fprintf(f, "\nRun \"signet %s COMMAND --help\" for a command's "
	    "options.\n", group);
	return help ? 0 : EXIT_USAGE;
}
