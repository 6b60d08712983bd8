/*
 * cli.h - shared pieces of the `signet` command-line tool: argument
 * parsing, the lazily created client, error reporting with exit codes,
 * aligned tables, key name resolution.
 *
 * Exit codes (SPEC section 3): 0 success, 1 the server refused (or a local
 * operation failed), 2 usage error, 3 network or TLS failure. Errors are one
 * line on stderr: "signet: <what failed>: <why>". Secrets are printed only
 * where the SPEC says (a new API key, alone on the last line of stdout).
 */
#ifndef SIGNET_CLI_H
#define SIGNET_CLI_H

#include <stdarg.h>
#include <stdio.h>

#include <jansson.h>

#include "client.h"

#define EXIT_REFUSED	1
#define EXIT_USAGE	2
#define EXIT_NETWORK	3

/* cli_parse's return for "--help was printed": the caller exits 0. */
#define CLI_HELP	(-1)

struct cli {
	int json;			/* --json: print the server's JSON */
	struct sn_client_config cfg;
	int cfg_loaded;
	struct sn_client *client;
	const char *cmd;		/* "key create", for error messages */
};

/*
 * One option. has_arg: a value follows (--name VALUE or --name=VALUE).
 * has_arg CLI_MULTI: the option may be given up to CLI_MULTI_MAX times;
 * val is then the caller's array of CLI_MULTI_MAX pointers and *flag
 * counts the values stored in it.
 */
#define CLI_MULTI	2
#define CLI_MULTI_MAX	1024
struct cli_opt {
	const char *name;
	int has_arg;
	const char **val;	/* has_arg: where the value goes */
	int *flag;		/* !has_arg: set to 1 when present */
};

/*
 * Parses argv[0..argc) (the words after the command name) into options and
 * positional arguments (at most maxpos, at least minpos). "--" ends
 * options; "--help"/"-h" prints usage to stdout and returns CLI_HELP.
 * Otherwise returns 0, or EXIT_USAGE after printing one error line and the
 * usage to stderr. The pos pointers point into argv.
 */
int cli_parse(const char *cmd, const char *usage, int argc, char **argv,
    const struct cli_opt *opts, const char **pos, int minpos, int maxpos,
    int *npos);

/* Prints "signet: <cmd>: <message>" to stderr and returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Reports a failed call: "signet: <what>: <why>" where why is the client's
 * last error message (or sn_strerror(err)); returns the exit code for err.
 */
int cli_fail(struct cli *cli, int err, const char *what);
/* Prints the one error line "signet: <what>: <message>" (sanitized). */
void cli_verror(const char *what, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Same with a local reason. */
int cli_failx(int code, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The exit code for an SN_ERR_* from the client. */
int cli_exit_code(int err);

/* Loads the configuration once (exit code on failure, with a message). */
int cli_config(struct cli *cli);
/* The client, created on first use (exit code on failure). */
int cli_client(struct cli *cli, struct sn_client **out);

/*
 * Request helpers: report errors themselves and return an exit code (0 on
 * success). *resp may be NULL afterwards for empty answers.
 */
int cli_call(struct cli *cli, const char *method, const char *path,
    json_t *body, json_t **resp);

/*
 * cli_call with the path built from tmpl, where each "{}" is replaced by
 * the next (const char *) argument, URL-escaped (a path segment or a query
 * value). A path that would not fit is a usage error (exit 2), never a
 * truncated request.
 */
int cli_callp(struct cli *cli, const char *method, json_t *body,
    json_t **resp, const char *tmpl, ...);

/* URL-escapes s for a path segment or query value; NULL on no memory. */
char *cli_esc(const char *s);

/*
 * Resolves a key named PROJECT/KEY (via GET /v1/keys?project=&name=) or
 * by id into its id (malloc'd). Returns an exit code.
 */
int cli_resolve_key(struct cli *cli, const char *name, char **id);

/* Pretty-prints JSON to stdout (for --json). */
void cli_print_json(json_t *j);
/*
 * The answer of a command that shows one text member (a PEM, a key): all
 * of it with --json, else the member, with a newline unless it ends in one.
 * Frees resp; returns 0 (the exit code).
 */
int cli_print_member(struct cli *cli, json_t *resp, const char *member);

/* Member helpers: "" (never NULL) for a missing or non-string member. */
const char *js(json_t *o, const char *key);
/* Nested: js2(o, "project", "name"). */
const char *js2(json_t *o, const char *a, const char *b);

/*
 * GET path page after page (?limit=, then ?cursor= from each answer's
 * next_cursor) until next_cursor is null or max_items items (0: no
 * limit) were read; *out is {member: [every item], "next_cursor": null}.
 * Reports errors itself and returns an exit code (pages.c).
 */
int cli_get_all(struct cli *cli, const char *path, const char *member,
    size_t max_items, json_t **out);

/*
 * A plain listing: GET path (plus "?<query>=<value>" when the command's one
 * optional filter option is given), --json prints the answer, otherwise one
 * table row per element of the answer's `member` array, made by row()
 * (every page of it: cli_get_all)
 * (cells may point into the element or into buf, a scratch buffer).
 */
struct cli_listing {
	const char *cmd;		/* "user list" */
	const char *usage;
	const char *path;		/* "/v1/users" */
	const char *member;		/* "users" */
	const char *filter;		/* option name ("user") or NULL */
	const char *query;		/* its query parameter ("user") */
	int ncols;
	const char *const *hdr;
	void (*row)(json_t *item, const char **cells, char *buf,
	    size_t buflen);
};
int cli_list(struct cli *cli, int argc, char **argv,
    const struct cli_listing *l);

/*
 * One request on a named object: `<cmd> NAME [--json]`, method on tmpl
 * (with NAME for its "{}"), no body. Prints the answer with --json, else
 * "<done> NAME".
 */
int cli_named_op(struct cli *cli, int argc, char **argv, const char *cmd,
    const char *usage, const char *method, const char *tmpl,
    const char *done);

/* `<cmd> NAME [--json]`: POST {"name": NAME} to path, print() the answer. */
int cli_create_named(struct cli *cli, int argc, char **argv, const char *cmd,
    const char *usage, const char *path,
    void (*print)(struct cli *cli, json_t *resp));

/* Replaces control characters in s (in place) so it prints on one line. */
void cli_sanitize(char *s);

/* An aligned text table printed to stdout. */
struct cli_table;
struct cli_table *cli_table_new(int ncols, const char *const *headers);
/* Adds a row of ncols strings (copied; NULL prints as "-"). */
int cli_table_add(struct cli_table *t, const char *const *cells);
void cli_table_print(struct cli_table *t);
void cli_table_free(struct cli_table *t);

/* ---- help.c: one entry per command (see the comment there) ---- */

#define CLI_HELP_MAX_OPTS	20

struct cli_help_opt {
	const char *name;	/* "--algorithm ALG" */
	const char *desc;	/* one line */
};

struct cli_help {
	const char *cmd;	/* "key create": the words after "signet" */
	const char *usage;	/* "signet key create PROJECT NAME ..." */
	const char *summary;
	const char *example;
	struct cli_help_opt opts[CLI_HELP_MAX_OPTS];	/* NULL-terminated */
};

/* The entry for cmd, or NULL. */
const struct cli_help *cli_help_find(const char *cmd);
/* Every entry; *n set to their number. */
const struct cli_help *cli_help_table(size_t *n);
/* usage, summary, one line per option, the example. */
void cli_help_print(FILE *f, const struct cli_help *h);
/* 1 if h has a line for the option --name. */
int cli_help_has_opt(const struct cli_help *h, const char *name);
/* The candidate a mistyped word most likely meant, or NULL if none is near. */
const char *cli_nearest(const char *word, const char *const *cands, size_t n);
/* `signet help --complete WORDS...` (bash completion); exit code. */
int cli_help_complete(int argc, char **argv);

/* Command groups: argv[0] is the group name. Return an exit code. */
int cmd_login(struct cli *cli, int argc, char **argv);
int cmd_logout(struct cli *cli, int argc, char **argv);
int cmd_whoami(struct cli *cli, int argc, char **argv);
int cmd_user(struct cli *cli, int argc, char **argv);
int cmd_apikey(struct cli *cli, int argc, char **argv);
int cmd_team(struct cli *cli, int argc, char **argv);
int cmd_sa(struct cli *cli, int argc, char **argv);
/* service-account federate / federations / unfederate (cmd_sa_federation.c) */
int cmd_sa_federate(struct cli *cli, int argc, char **argv);
int cmd_sa_federations(struct cli *cli, int argc, char **argv);
int cmd_sa_unfederate(struct cli *cli, int argc, char **argv);
int cmd_project(struct cli *cli, int argc, char **argv);
int cmd_key(struct cli *cli, int argc, char **argv);
int cmd_keys(struct cli *cli, int argc, char **argv);
int cmd_policy(struct cli *cli, int argc, char **argv);	/* cmd_policy.c */
int cmd_approval(struct cli *cli, int argc, char **argv);	/* cmd_approval.c */
int cmd_webhook(struct cli *cli, int argc, char **argv);	/* cmd_webhook.c */
int cmd_cert(struct cli *cli, int argc, char **argv);
int cmd_sign(struct cli *cli, int argc, char **argv);
int cmd_pkcs11_module(struct cli *cli, int argc, char **argv);
int cmd_ca(struct cli *cli, int argc, char **argv);
int cmd_tsa(struct cli *cli, int argc, char **argv);
/* cmd_key.c / cmd_key_versions.c */
void cli_print_key(struct cli *cli, json_t *resp);
int key_renew(struct cli *cli, int argc, char **argv);
int key_rotate(struct cli *cli, int argc, char **argv);
int key_versions(struct cli *cli, int argc, char **argv);
int key_show_full(struct cli *cli, int argc, char **argv);
int key_list_expiring(struct cli *cli, int argc, char **argv);
int cmd_audit(struct cli *cli, int argc, char **argv);

/*
 * Dispatches a group's subcommand: subs[] pairs a name with a handler;
 * prints the group help for "--help" / no subcommand.
 */
struct cli_sub {
	const char *name;
	int (*fn)(struct cli *cli, int argc, char **argv);
	const char *summary;
};
int cli_dispatch(struct cli *cli, const char *group, const struct cli_sub *subs,
    int argc, char **argv);

/* cmd_audit_log.c: the transparency log's subcommands of `signet audit`,
 * and the checkpoint-based verify (exit code). */
extern const struct cli_sub cli_audit_log_subs[];
int audit_verify_log(struct cli *cli, int full, const char *log_key);

#endif
