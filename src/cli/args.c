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

	va_start(ap, fmt);
	cli_verror(cmd, fmt, ap);
	va_end(ap);
	return EXIT_USAGE;
}

/* A parse error: one line, the command's usage at its end. */
static int
parse_error(const char *cmd, const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
parse_error(const char *cmd, const char *usage, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cli_usage_error(cmd, "%s (usage: %s)", msg, usage);
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
			if (a[1] != '-')
				return parse_error(cmd, usage, "unknown option "
				    "%s", a);
			eq = strchr(a + 2, '=');
			nlen = eq != NULL ? (size_t)(eq - (a + 2)) : strlen(a + 2);
			if ((o = find_opt(opts, a + 2, nlen)) == NULL)
				return parse_error(cmd, usage, "unknown option "
				    "--%.*s", (int)nlen, a + 2);
			if (!o->has_arg) {
				if (eq != NULL)
					return parse_error(cmd, usage, "option "
					    "--%s takes no value", o->name);
				*o->flag = 1;
				continue;
			}
			if (eq != NULL)
				*o->val = eq + 1;
			else if (i + 1 < argc)
				*o->val = argv[++i];
			else
				return parse_error(cmd, usage, "option --%s "
				    "needs a value", o->name);
			continue;
		}
		if (n >= maxpos)
			return parse_error(cmd, usage, "unexpected argument "
			    "\"%s\"", a);
		pos[n++] = a;
	}
	if (n < minpos)
		return parse_error(cmd, usage, "missing argument");
	*npos = n;
	return 0;
}

/* "a, b, c" of the subcommand names, for one-line errors. */
static void
sub_names(const struct cli_sub *subs, char *buf, size_t len)
{
	size_t used = 0;
	int n;

	buf[0] = '\0';
	for (; subs->name != NULL; subs++) {
		n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
		    subs->name);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
}

int
cli_dispatch(struct cli *cli, const char *group, const struct cli_sub *subs,
    int argc, char **argv)
{
	const struct cli_sub *s;
	char names[512];
	int help;

	help = argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0);
	if (help) {
		printf("usage: signet %s COMMAND [ARGS]\n\ncommands:\n", group);
		for (s = subs; s->name != NULL; s++)
			printf("  %-16s %s\n", s->name, s->summary);
		printf("\nRun \"signet %s COMMAND --help\" for a command's "
		    "options.\n", group);
		return 0;
	}
	for (s = subs; argc >= 2 && s->name != NULL; s++) {
		if (strcmp(s->name, argv[1]) == 0)
			return s->fn(cli, argc - 2, argv + 2);
	}
	sub_names(subs, names, sizeof(names));
	if (argc < 2)
		return cli_usage_error(group, "missing command (one of: %s)",
		    names);
	return cli_usage_error(group, "unknown command \"%s\" (one of: %s)",
	    argv[1], names);
}
