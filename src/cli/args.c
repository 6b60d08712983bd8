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

/*
 * " (did you mean --format?)" for a mistyped option, else "". buf holds
 * the answer.
 */
static const char *
opt_hint(const struct cli_opt *opts, const char *name, size_t len, char *buf,
    size_t buflen)
{
	const char *cands[64], *best;
	char word[65];
	size_t n = 0;

	buf[0] = '\0';
	if (len >= sizeof(word))
		return buf;
	memcpy(word, name, len);
	word[len] = '\0';
	for (; opts != NULL && opts->name != NULL && n < 63; opts++)
		cands[n++] = opts->name;
	cands[n++] = "help";
	if ((best = cli_nearest(word, cands, n)) != NULL)
		snprintf(buf, buflen, " (did you mean --%s?)", best);
	return buf;
}

/*
 * --help: the command's entry of the help table. An option the parser
 * takes but the help does not describe is a defect: say so and fail,
 * so tests/e2e/cli_help.sh catches it.
 */
static int
print_help(const char *cmd, const char *usage, const struct cli_opt *opts)
{
	const struct cli_help *h = cli_help_find(cmd);

	if (h == NULL) {
		printf("usage: %s\n", usage);
		return CLI_HELP;
	}
	for (; opts != NULL && opts->name != NULL; opts++) {
		if (!cli_help_has_opt(h, opts->name)) {
			fprintf(stderr, "signet: %s: option --%s has no help "
			    "line (src/cli/help.c)\n", cmd, opts->name);
			return EXIT_REFUSED;
		}
	}
	cli_help_print(stdout, h);
	return CLI_HELP;
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
	const struct cli_help *h;
	const char *a, *eq;
	char hint[96];
	int i, n = 0, dashdash = 0;
	size_t nlen;

	*npos = 0;
	/* The help table's usage line is the one kept up to date. */
	if ((h = cli_help_find(cmd)) != NULL)
		usage = h->usage;
	for (i = 0; i < argc; i++) {
		a = argv[i];
		if (!dashdash && strcmp(a, "--") == 0) {
			dashdash = 1;
			continue;
		}
		if (!dashdash && (strcmp(a, "--help") == 0 ||
		    strcmp(a, "-h") == 0)) {
			return print_help(cmd, usage, opts);
		}
		if (!dashdash && a[0] == '-' && a[1] != '\0') {
			if (a[1] != '-')
				return parse_error(cmd, usage, "unknown option "
				    "%s", a);
			eq = strchr(a + 2, '=');
			nlen = eq != NULL ? (size_t)(eq - (a + 2)) : strlen(a + 2);
			if ((o = find_opt(opts, a + 2, nlen)) == NULL)
				return parse_error(cmd, usage, "unknown option "
				    "--%.*s%s", (int)nlen, a + 2, opt_hint(opts,
				    a + 2, nlen, hint, sizeof(hint)));
			if (!o->has_arg) {
				if (eq != NULL)
					return parse_error(cmd, usage, "option "
					    "--%s takes no value", o->name);
				*o->flag = 1;
				continue;
			}
			if (eq == NULL && i + 1 >= argc)
				return parse_error(cmd, usage, "option --%s "
				    "needs a value", o->name);
			a = eq != NULL ? eq + 1 : argv[++i];
			if (o->has_arg == CLI_MULTI) {
				if (*o->flag >= CLI_MULTI_MAX)
					return parse_error(cmd, usage, "too "
					    "many --%s (at most %d)", o->name,
					    CLI_MULTI_MAX);
				o->val[(*o->flag)++] = a;
			} else
				*o->val = a;
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
		printf("\nRun \"signet help %s COMMAND\" (or \"signet %s "
		    "COMMAND --help\") for a command's options and an "
		    "example.\n", group, group);
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
	{
		const char *cands[64], *best;
		size_t n = 0;

		for (s = subs; s->name != NULL && n < 64; s++)
			cands[n++] = s->name;
		if ((best = cli_nearest(argv[1], cands, n)) != NULL)
			return cli_usage_error(group, "unknown command \"%s\" "
			    "(did you mean '%s'?)", argv[1], best);
	}
	return cli_usage_error(group, "unknown command \"%s\" (one of: %s)",
	    argv[1], names);
}
