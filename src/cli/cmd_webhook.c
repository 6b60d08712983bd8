/*
 * cmd_webhook.c - signet webhook add | list | remove | deliveries: the
 * tenant's HTTPS receivers of approval events (admins; docs/POLICIES.md,
 * "Webhooks"). The secret that signs the deliveries is printed once, by
 * add, alone on the last line of stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "err.h"

static void
events_cell(json_t *w, char *buf, size_t len)
{
	json_t *e;
	size_t i, o = 0;

	buf[0] = '\0';
	json_array_foreach(json_object_get(w, "events"), i, e)
		if (o < len)
			o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? "," : "",
			    json_string_value(e) != NULL ? json_string_value(e) :
			    "");
}

static int
webhook_add(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet webhook add URL --events "
	    "approval.requested,approval.decided,approval.expired [--json]";
	const char *pos[1], *events = NULL;
	json_t *req = NULL, *resp = NULL, *w;
	char ev[256];
	int npos, r;
	const struct cli_opt opts[] = {
		{ "events", 1, &events, NULL },
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "webhook add";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 1, 1,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if (events == NULL || *events == '\0')
		return cli_usage_error(cli->cmd, "--events LIST is required");
	if (strncmp(pos[0], "https://", 8) != 0)
		return cli_usage_error(cli->cmd, "URL must be https://…");
	if ((req = json_pack("{s:s, s:s}", "url", pos[0], "events",
	    events)) == NULL)
		return cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
	if ((r = cli_call(cli, "POST", "/v1/webhooks", req, &resp)) == 0) {
		if (cli->json)
			cli_print_json(resp);
		else {
			w = json_object_get(resp, "webhook");
			events_cell(w, ev, sizeof(ev));
			printf("webhook  %s\nurl      %s\nevents   %s\n"
			    "# the secret signs every delivery (X-Signet-Signature: "
			    "sha256=HMAC); it is shown only now\n%s\n", js(w, "id"),
			    js(w, "url"), ev, js(resp, "secret"));
		}
	}
	json_decref(req);
	json_decref(resp);
	return r;
}

static int
webhook_list(struct cli *cli, int argc, char **argv)
{
	static const char *const hdr[] = { "ID", "URL", "EVENTS", "CREATED" };
	static const char usage[] = "signet webhook list [--json]";
	const char *pos[1], *cells[4];
	struct cli_table *t;
	json_t *resp = NULL, *w;
	char ev[256];
	size_t i;
	int npos, r;
	const struct cli_opt opts[] = {
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "webhook list";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 0, 0,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if ((r = cli_call(cli, "GET", "/v1/webhooks", NULL, &resp)) != 0)
		return r;
	if (cli->json) {
		cli_print_json(resp);
		json_decref(resp);
		return 0;
	}
	t = cli_table_new(4, hdr);
	json_array_foreach(json_object_get(resp, "webhooks"), i, w) {
		events_cell(w, ev, sizeof(ev));
		cells[0] = js(w, "id");
		cells[1] = js(w, "url");
		cells[2] = ev;
		cells[3] = js(w, "created_at");
		cli_table_add(t, cells);
	}
	cli_table_print(t);
	cli_table_free(t);
	json_decref(resp);
	return 0;
}

static int
webhook_remove(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet webhook remove ID [--json]";
	const char *pos[1];
	json_t *resp = NULL;
	int npos, r;
	const struct cli_opt opts[] = {
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "webhook remove";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 1, 1,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if ((r = cli_callp(cli, "DELETE", NULL, &resp, "/v1/webhooks/{}",
	    pos[0])) == 0) {
		if (cli->json)
			cli_print_json(resp);
		else
			printf("removed webhook %s (%s)\n", js2(resp, "webhook",
			    "id"), js2(resp, "webhook", "url"));
	}
	json_decref(resp);
	return r;
}

static int
webhook_deliveries(struct cli *cli, int argc, char **argv)
{
	static const char *const hdr[] = { "DELIVERY", "EVENT", "STATE",
	    "ATTEMPTS", "LAST HTTP", "LAST ERROR", "CREATED" };
	static const char usage[] = "signet webhook deliveries ID [--json]";
	const char *pos[1], *cells[7];
	struct cli_table *t;
	json_t *resp = NULL, *d, *last;
	char att[32], code[32], err[256];
	size_t i;
	int npos, r;
	const struct cli_opt opts[] = {
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "webhook deliveries";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 1, 1,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if ((r = cli_callp(cli, "GET", NULL, &resp,
	    "/v1/webhooks/{}/deliveries", pos[0])) != 0)
		return r;
	if (cli->json) {
		cli_print_json(resp);
		json_decref(resp);
		return 0;
	}
	t = cli_table_new(7, hdr);
	json_array_foreach(json_object_get(resp, "deliveries"), i, d) {
		json_t *log = json_object_get(d, "attempt_log");

		last = json_array_get(log, json_array_size(log) - 1);
		snprintf(att, sizeof(att), "%lld", (long long)json_integer_value(
		    json_object_get(d, "attempts")));
		if (last != NULL)
			snprintf(code, sizeof(code), "%lld", (long long)
			    json_integer_value(json_object_get(last,
			    "http_status")));
		else
			code[0] = '\0';
		snprintf(err, sizeof(err), "%s", js(last, "error"));
		cli_sanitize(err);
		cells[0] = js(d, "id");
		cells[1] = js(d, "event");
		cells[2] = js(d, "state");
		cells[3] = att;
		cells[4] = code;
		cells[5] = err;
		cells[6] = js(d, "created_at");
		cli_table_add(t, cells);
	}
	cli_table_print(t);
	cli_table_free(t);
	json_decref(resp);
	return 0;
}

int
cmd_webhook(struct cli *cli, int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{ "add", webhook_add, "add an HTTPS receiver of approval events" },
		{ "list", webhook_list, "the tenant's webhooks" },
		{ "remove", webhook_remove, "remove a webhook" },
		{ "deliveries", webhook_deliveries, "every delivery and attempt of a webhook" },
		{ NULL, NULL, NULL },
	};

	return cli_dispatch(cli, "webhook", subs, argc, argv);
}
