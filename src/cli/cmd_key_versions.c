/*
 * cmd_key_versions.c - signet key renew | rotate | versions, `key show`
 * with the certificate history, and `key list --expiring DURATION`.
 * A renewal is a new certificate for the same HSM key; a rotation a new
 * HSM key pair as the key's next version (same name, project and URI).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "util.h"

/* renew / rotate: KEY [--validity DURATION] */
static int
key_new_cert(struct cli *cli, int argc, char **argv, const char *cmd,
    const char *op, const char *done)
{
	const char *pos[1], *validity = NULL;
	json_t *req = NULL, *resp = NULL, *k;
	char usage[160], tmpl[64], *id = NULL;
	int64_t secs = 0;
	int npos, r;
	const struct cli_opt opts[] = {
		{ "validity", 1, &validity, NULL },
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = cmd;
	snprintf(usage, sizeof(usage), "signet %s KEY [--validity DURATION] "
	    "[--json]", cmd);
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 1, 1,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if (validity != NULL && sn_parse_duration(validity, &secs) != 0)
		return cli_usage_error(cli->cmd, "bad duration \"%s\" (e.g. "
		    "90d, 1y)", validity);
	if ((req = json_object()) == NULL || (validity != NULL &&
	    json_object_set_new(req, "validity", json_integer(secs)) != 0)) {
		json_decref(req);
		return cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
	}
	if ((r = cli_resolve_key(cli, pos[0], &id)) != 0)
		goto out;
	snprintf(tmpl, sizeof(tmpl), "/v1/keys/{}/%s", op);
	if ((r = cli_callp(cli, "POST", req, &resp, tmpl, id)) != 0)
		goto out;
	k = json_object_get(resp, "key");
	if (!cli->json)
		printf("%s %s: version %lld, certificate %s, valid until %s\n",
		    done, pos[0], (long long)json_integer_value(
		    json_object_get(k, "version")),
		    *js(k, "certificate_serial") != '\0' ?
		    js(k, "certificate_serial") : "none",
		    js(k, "not_after"));
	else
		cli_print_json(resp);
	r = 0;
 out:
	json_decref(req);
	json_decref(resp);
	free(id);
	return r;
}

int
key_renew(struct cli *cli, int argc, char **argv)
{
	return key_new_cert(cli, argc, argv, "key renew", "renew", "Renewed");
}

int
key_rotate(struct cli *cli, int argc, char **argv)
{
	return key_new_cert(cli, argc, argv, "key rotate", "rotate", "Rotated");
}

static int
get_versions(struct cli *cli, const char *key, json_t **resp)
{
	char *id = NULL;
	int r;

	*resp = NULL;
	if ((r = cli_resolve_key(cli, key, &id)) != 0)
		return r;
	r = cli_callp(cli, "GET", NULL, resp, "/v1/keys/{}/versions", id);
	free(id);
	return r;
}

static void
print_certs(json_t *v)
{
	static const char *const hdr[] = { "VERSION", "SERIAL", "NOT BEFORE",
	    "NOT AFTER", "STATUS" };
	struct cli_table *t = cli_table_new(5, hdr);
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(v, "certificates"), i, c) {
		char ver[24];
		const char *cells[5];

		snprintf(ver, sizeof(ver), "%lld", (long long)
		    json_integer_value(json_object_get(c, "version")));
		cells[0] = ver;
		cells[1] = js(c, "serial");
		cells[2] = js(c, "not_before");
		cells[3] = js(c, "not_after");
		cells[4] = json_is_true(json_object_get(c, "current")) ?
		    "current" : "replaced";
		cli_table_add(t, cells);
	}
	cli_table_print(t);
	cli_table_free(t);
}

int
key_versions(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet key versions KEY [--json]";
	static const char *const hdr[] = { "VERSION", "STATUS", "FROM",
	    "UNTIL" };
	const char *pos[1];
	json_t *resp = NULL, *v;
	struct cli_table *t;
	size_t i;
	int npos, r;
	const struct cli_opt opts[] = {
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "key versions";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 1, 1,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if ((r = get_versions(cli, pos[0], &resp)) != 0)
		return r;
	if (cli->json) {
		cli_print_json(resp);
		json_decref(resp);
		return 0;
	}
	t = cli_table_new(4, hdr);
	json_array_foreach(json_object_get(resp, "versions"), i, v) {
		char ver[24];
		const char *cells[4];
		int cur = json_is_true(json_object_get(v, "current"));

		snprintf(ver, sizeof(ver), "%lld", (long long)
		    json_integer_value(json_object_get(v, "version")));
		cells[0] = ver;
		cells[1] = cur ? "current (signs)" : "retired (verify only)";
		cells[2] = js(v, "created_at");
		cells[3] = cur ? "-" : js(v, "retired_at");
		cli_table_add(t, cells);
	}
	cli_table_print(t);
	cli_table_free(t);
	printf("\n");
	print_certs(resp);
	json_decref(resp);
	return 0;
}

/* `key show` plus the certificates the key has had. */
int
key_show_full(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet key show KEY [--json]";
	const char *pos[1];
	json_t *resp = NULL, *v = NULL;
	char *id = NULL;
	int npos, r;
	const struct cli_opt opts[] = {
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "key show";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 1, 1,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if ((r = cli_resolve_key(cli, pos[0], &id)) != 0)
		return r;
	if ((r = cli_callp(cli, "GET", NULL, &resp, "/v1/keys/{}", id)) != 0 ||
	    (r = cli_callp(cli, "GET", NULL, &v, "/v1/keys/{}/versions",
	    id)) != 0)
		goto out;
	if (cli->json) {
		json_object_set(json_object_get(resp, "key"), "certificates",
		    json_object_get(v, "certificates"));
		cli_print_json(resp);
	} else {
		cli_print_key(cli, resp);
		printf("version     %lld\n", (long long)json_integer_value(
		    json_object_get(json_object_get(resp, "key"), "version")));
		if (json_array_size(json_object_get(v, "certificates")) > 0) {
			printf("certificates:\n");
			print_certs(v);
		}
	}
	r = 0;
 out:
	json_decref(resp);
	json_decref(v);
	free(id);
	return r;
}

/* `key list --expiring DURATION [--project P]`: keys whose key or
 * certificate ends within DURATION (the server filters on expires_in). */
int
key_list_expiring(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet key list [--project P] "
	    "[--expiring DURATION] [--json]";
	static const char *const hdr[] = { "KEY", "STATE", "NOT AFTER",
	    "EXPIRES IN", "ID" };
	const char *pos[1], *project = NULL, *expiring = NULL;
	json_t *resp = NULL, *k;
	struct cli_table *t;
	char secs_s[24];
	int64_t secs = 0;
	size_t i;
	int npos, r;
	const struct cli_opt opts[] = {
		{ "project", 1, &project, NULL },
		{ "expiring", 1, &expiring, NULL },
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "key list";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 0, 0,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if (expiring == NULL || sn_parse_duration(expiring, &secs) != 0 ||
	    secs < 0)
		return cli_usage_error(cli->cmd, "--expiring needs a duration "
		    "(e.g. 30d)");
	snprintf(secs_s, sizeof(secs_s), "%lld", (long long)secs);
	if (project != NULL) {
		char path[2048], *e;

		if ((e = cli_esc(project)) == NULL)
			return cli_failx(EXIT_REFUSED, cli->cmd,
			    "out of memory");
		i = (size_t)snprintf(path, sizeof(path),
		    "/v1/keys?expiring=%s&project=%s", secs_s, e);
		free(e);
		if (i >= sizeof(path))
			return cli_usage_error(cli->cmd, "argument too long");
		r = cli_get_all(cli, path, "keys", 0, &resp);
	} else {
		char path[64];

		snprintf(path, sizeof(path), "/v1/keys?expiring=%s", secs_s);
		r = cli_get_all(cli, path, "keys", 0, &resp);
	}
	if (r != 0)
		return r;
	if (cli->json) {
		cli_print_json(resp);
		json_decref(resp);
		return 0;
	}
	t = cli_table_new(5, hdr);
	json_array_foreach(json_object_get(resp, "keys"), i, k) {
		char name[300], in[32];
		const char *cells[5];
		long long e = (long long)json_integer_value(json_object_get(k,
		    "expires_in"));

		snprintf(name, sizeof(name), "%s/%s", js2(k, "project", "name"),
		    js(k, "name"));
		if (e <= 0)
			snprintf(in, sizeof(in), "expired");
		else if (e >= 86400)
			snprintf(in, sizeof(in), "%lldd %lldh", e / 86400,
			    e % 86400 / 3600);
		else
			snprintf(in, sizeof(in), "%lldh %lldm", e / 3600,
			    e % 3600 / 60);
		cells[0] = name;
		cells[1] = js(k, "state");
		cells[2] = js(k, "not_after");
		cells[3] = in;
		cells[4] = js(k, "id");
		cli_table_add(t, cells);
	}
	cli_table_print(t);
	cli_table_free(t);
	json_decref(resp);
	return 0;
}
