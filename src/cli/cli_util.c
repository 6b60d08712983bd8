/*
 * cli_util.c - the CLI's shared helpers: error reporting and exit codes,
 * the lazily created client, JSON member access, aligned tables, and key
 * name resolution (PROJECT/KEY -> id).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "util.h"

int
cli_exit_code(int err)
{
	switch (err) {
	case 0:
		return 0;
	case SN_ERR_NETWORK:
	case SN_ERR_TLS:
		return EXIT_NETWORK;
	case SN_ERR_USAGE:
		return EXIT_USAGE;
	default:
		return EXIT_REFUSED;
	}
}

void
cli_sanitize(char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
	}
}

/*
 * The one line every error is: "signet: <what>: <message>". The message may
 * carry the server's words or the user's arguments, so control characters
 * (a newline, a terminal escape) are replaced to keep it one harmless line.
 */
void
cli_verror(const char *what, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	cli_sanitize(msg);
	fprintf(stderr, "signet: %s: %s\n", what, msg);
}

int
cli_failx(int code, const char *what, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cli_verror(what, fmt, ap);
	va_end(ap);
	return code;
}

int
cli_fail(struct cli *cli, int err, const char *what)
{
	const char *why = sn_client_errmsg(cli->client);

	if (why == NULL || *why == '\0')
		why = sn_strerror(err);
	return cli_failx(cli_exit_code(err), what, "%s", why);
}

int
cli_config(struct cli *cli)
{
	char why[512] = "";
	int r;

	if (cli->cfg_loaded)
		return 0;
	if ((r = sn_config_load_why(&cli->cfg, why, sizeof(why))) != 0)
		return cli_failx(EXIT_REFUSED, "configuration", "%s",
		    why[0] != '\0' ? why : sn_strerror(r));
	cli->cfg_loaded = 1;
	return 0;
}

int
cli_client(struct cli *cli, struct sn_client **out)
{
	int r;

	*out = NULL;
	if (cli->client == NULL) {
		if ((r = cli_config(cli)) != 0)
			return r;
		if (cli->cfg.url == NULL)
			return cli_failx(EXIT_USAGE, cli->cmd, "no server "
			    "configured: run \"signet login --url URL ...\" "
			    "or set SIGNET_URL");
		if ((r = sn_client_new(&cli->cfg, &cli->client)) != 0)
			return cli_fail(cli, r, cli->cmd);
	}
	*out = cli->client;
	return 0;
}

int
cli_call(struct cli *cli, const char *method, const char *path, json_t *body,
    json_t **resp)
{
	struct sn_client *c;
	int r;

	if (resp != NULL)
		*resp = NULL;
	if ((r = cli_client(cli, &c)) != 0)
		return r;
	if ((r = sn_client_json(c, method, path, body, NULL, resp)) != 0)
		return cli_fail(cli, r, cli->cmd);
	return 0;
}

int
cli_callp(struct cli *cli, const char *method, json_t *body, json_t **resp,
    const char *tmpl, ...)
{
	char path[2048], *e = NULL;
	const char *t;
	size_t used = 0, n;
	va_list ap;
	int r = 0;

	if (resp != NULL)
		*resp = NULL;
	va_start(ap, tmpl);
	for (t = tmpl; *t != '\0' && r == 0; t++) {
		const char *piece = t;

		n = 1;
		if (t[0] == '{' && t[1] == '}') {
			if ((e = cli_esc(va_arg(ap, const char *))) == NULL) {
				r = cli_failx(EXIT_REFUSED, cli->cmd,
				    "out of memory");
				break;
			}
			piece = e;
			n = strlen(e);
			t++;
		}
		if (n >= sizeof(path) - used)
			r = cli_usage_error(cli->cmd, "argument too long");
		else {
			memcpy(path + used, piece, n);
			used += n;
		}
		free(e);
		e = NULL;
	}
	va_end(ap);
	if (r != 0)
		return r;
	path[used] = '\0';
	return cli_call(cli, method, path, body, resp);
}

char *
cli_esc(const char *s)
{
	char *e = NULL;

	if (sn_client_escape(s, &e) != 0)
		return NULL;
	return e;
}

int
cli_resolve_key(struct cli *cli, const char *name, char **id)
{
	const char *slash = strchr(name, '/');
	char *proj = NULL;
	json_t *resp = NULL, *keys, *k;
	int r;

	*id = NULL;
	if (slash == NULL) {
		if (*name == '\0')
			return cli_usage_error(cli->cmd, "empty key name");
		if ((*id = strdup(name)) == NULL)
			return cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
		return 0;
	}
	if (slash == name || slash[1] == '\0' || strchr(slash + 1, '/'))
		return cli_usage_error(cli->cmd, "bad key name \"%s\" (want "
		    "PROJECT/KEY or a key id)", name);
	if ((proj = strndup(name, (size_t)(slash - name))) == NULL) {
		r = cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
		goto out;
	}
	if ((r = cli_callp(cli, "GET", NULL, &resp,
	    "/v1/keys?project={}&name={}", proj, slash + 1)) != 0)
		goto out;
	keys = json_object_get(resp, "keys");
	if (!json_is_array(keys) || json_array_size(keys) != 1 ||
	    (k = json_array_get(keys, 0)) == NULL || *js(k, "id") == '\0' ||
	    strcmp(js(k, "name"), slash + 1) != 0) {
		r = cli_failx(EXIT_REFUSED, cli->cmd, "key %s: not found", name);
		goto out;
	}
	if ((*id = strdup(js(k, "id"))) == NULL) {
		r = cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
		goto out;
	}
	r = 0;
 out:
	json_decref(resp);
	free(proj);
	return r;
}

void
cli_print_json(json_t *j)
{
	if (j == NULL) {
		printf("{}\n");
		return;
	}
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
}

int
cli_print_member(struct cli *cli, json_t *resp, const char *member)
{
	const char *v = js(resp, member);
	size_t n = strlen(v);

	if (cli->json)
		cli_print_json(resp);
	else
		printf("%s%s", v, n > 0 && v[n - 1] == '\n' ? "" : "\n");
	json_decref(resp);
	return 0;
}

const char *
js(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

const char *
js2(json_t *o, const char *a, const char *b)
{
	return js(json_object_get(o, a), b);
}

/* --- tables -------------------------------------------------------------- */

struct cli_table {
	int ncols;
	size_t nrows, cap;
	char **cells;		/* nrows * ncols, row 0 = headers */
};

struct cli_table *
cli_table_new(int ncols, const char *const *headers)
{
	struct cli_table *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->ncols = ncols;
	if (cli_table_add(t, headers) != 0) {
		cli_table_free(t);
		return NULL;
	}
	return t;
}

int
cli_table_add(struct cli_table *t, const char *const *cells)
{
	char **n;
	size_t ncap;
	int i;

	if (t == NULL)
		return SN_ERR_NOMEM;
	if (t->nrows == t->cap) {
		ncap = t->cap == 0 ? 16 : t->cap * 2;
		if ((n = reallocarray(t->cells, ncap * (size_t)t->ncols,
		    sizeof(*n))) == NULL)
			return SN_ERR_NOMEM;
		t->cells = n;
		t->cap = ncap;
	}
	for (i = 0; i < t->ncols; i++) {
		const char *c = cells[i] != NULL && *cells[i] != '\0' ?
		    cells[i] : "-";

		if ((t->cells[t->nrows * (size_t)t->ncols + (size_t)i] =
		    strdup(c)) == NULL) {
			while (--i >= 0)
				free(t->cells[t->nrows * (size_t)t->ncols +
				    (size_t)i]);
			return SN_ERR_NOMEM;
		}
		/* Cells come from the server: no terminal escapes. */
		cli_sanitize(t->cells[t->nrows * (size_t)t->ncols + (size_t)i]);
	}
	t->nrows++;
	return 0;
}

void
cli_table_print(struct cli_table *t)
{
	size_t w[16] = { 0 }, r;
	int i;

	if (t == NULL || t->ncols > 16)
		return;
	for (r = 0; r < t->nrows; r++)
		for (i = 0; i < t->ncols; i++) {
			size_t l = strlen(t->cells[r * (size_t)t->ncols + (size_t)i]);
			if (l > w[i])
				w[i] = l;
		}
	for (r = 0; r < t->nrows; r++) {
		for (i = 0; i < t->ncols; i++) {
			const char *c = t->cells[r * (size_t)t->ncols + (size_t)i];

			if (i == t->ncols - 1)
				printf("%s\n", c);
			else
				printf("%-*s  ", (int)w[i], c);
		}
	}
}

void
cli_table_free(struct cli_table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nrows * (size_t)t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

/* --- generic commands ---------------------------------------------------- */

int
cli_list(struct cli *cli, int argc, char **argv, const struct cli_listing *l)
{
	const char *filter = NULL, *pos[1];
	const char *cells[16];
	struct cli_table *t;
	json_t *resp = NULL, *item;
	char buf[1024];
	size_t i;
	int npos, r;
	struct cli_opt opts[] = {
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
		{ NULL, 0, NULL, NULL },
	};

	if (l->filter != NULL)
		opts[1] = (struct cli_opt){ l->filter, 1, &filter, NULL };
	cli->cmd = l->cmd;
	if ((r = cli_parse(cli->cmd, l->usage, argc, argv, opts, pos, 0, 0,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if (filter != NULL) {
		char path[2048], *e;

		if ((e = cli_esc(filter)) == NULL)
			return cli_failx(EXIT_REFUSED, cli->cmd,
			    "out of memory");
		i = (size_t)snprintf(path, sizeof(path), "%s?%s=%s", l->path,
		    l->query, e);
		free(e);
		if (i >= sizeof(path))
			return cli_usage_error(cli->cmd, "argument too long");
		r = cli_get_all(cli, path, l->member, 0, &resp);
	} else
		r = cli_get_all(cli, l->path, l->member, 0, &resp);
	if (r != 0)
		return r;
	if (cli->json) {
		cli_print_json(resp);
		json_decref(resp);
		return 0;
	}
	t = cli_table_new(l->ncols, l->hdr);
	json_array_foreach(json_object_get(resp, l->member), i, item) {
		memset(cells, 0, sizeof(cells));
		buf[0] = '\0';
		l->row(item, cells, buf, sizeof(buf));
		cli_table_add(t, cells);
	}
	cli_table_print(t);
	cli_table_free(t);
	json_decref(resp);
	return 0;
}

int
cli_named_op(struct cli *cli, int argc, char **argv, const char *cmd,
    const char *usage, const char *method, const char *tmpl, const char *done)
{
	const char *pos[1];
	json_t *resp = NULL;
	int npos, r;
	const struct cli_opt opts[] = {
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = cmd;
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 1, 1,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if ((r = cli_callp(cli, method, NULL, &resp, tmpl, pos[0])) != 0)
		return r;
	if (cli->json)
		cli_print_json(resp);
	else
		printf("%s %s\n", done, pos[0]);
	json_decref(resp);
	return 0;
}

int
cli_create_named(struct cli *cli, int argc, char **argv, const char *cmd,
    const char *usage, const char *path,
    void (*print)(struct cli *cli, json_t *resp))
{
	const char *pos[1];
	json_t *req, *resp = NULL;
	int npos, r;
	const struct cli_opt opts[] = {
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = cmd;
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 1, 1,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if ((req = json_pack("{s:s}", "name", pos[0])) == NULL)
		return cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
	r = cli_call(cli, "POST", path, req, &resp);
	json_decref(req);
	if (r != 0)
		return r;
	print(cli, resp);
	json_decref(resp);
	return 0;
}
