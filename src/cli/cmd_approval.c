/*
 * cmd_approval.c - signet approval list | show | approve | deny: the
 * approvals of signing requests to keys whose policy names an approval
 * team (docs/POLICIES.md). An approver sees who asks, for which key, from
 * which host and process, and the digests, before deciding.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "err.h"

static void
approval_row(json_t *a, const char **c, char *buf, size_t len)
{
	json_t *req = json_object_get(a, "request");
	size_t o;

	c[0] = js(a, "id");
	c[1] = js(a, "state");
	snprintf(buf, len, "%s/%s", js2(a, "key", "project"),
	    js2(a, "key", "name"));
	c[2] = buf;
	o = strlen(buf) + 1;
	if (o < len)
		snprintf(buf + o, len - o, "%lld/%lld",
		    (long long)json_integer_value(json_object_get(a,
		    "approved_by")), (long long)json_integer_value(
		    json_object_get(a, "required")));
	c[3] = o < len ? buf + o : "";
	c[4] = js2(a, "requested_by", "name");
	c[5] = js2(req, "client", "hostname");
	c[6] = js(a, "expires_at");
}

static int
approval_list(struct cli *cli, int argc, char **argv)
{
	static const char *const hdr[] = { "ID", "STATE", "KEY", "APPROVED",
	    "REQUESTED BY", "HOST", "EXPIRES" };
	static const char usage[] = "signet approval list [--pending] [--json]";
	struct cli_table *t;
	json_t *resp = NULL, *a;
	const char *cells[7], *pos[1];
	char buf[1024];
	size_t i;
	int pending = 0, npos, r;
	const struct cli_opt opts[] = {
		{ "pending", 0, NULL, &pending },
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "approval list";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 0, 0,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if ((r = cli_call(cli, "GET", pending ? "/v1/approvals?state=pending" :
	    "/v1/approvals", NULL, &resp)) != 0)
		return r;
	if (cli->json) {
		cli_print_json(resp);
		json_decref(resp);
		return 0;
	}
	t = cli_table_new(7, hdr);
	json_array_foreach(json_object_get(resp, "approvals"), i, a) {
		approval_row(a, cells, buf, sizeof(buf));
		cli_table_add(t, cells);
	}
	cli_table_print(t);
	cli_table_free(t);
	json_decref(resp);
	return 0;
}

static void
print_approval(struct cli *cli, json_t *resp)
{
	json_t *a = json_object_get(resp, "approval"), *req, *v, *dg;
	size_t i;

	if (cli->json) {
		cli_print_json(resp);
		return;
	}
	req = json_object_get(a, "request");
	printf("approval      %s\n", js(a, "id"));
	printf("state         %s (%lld of %lld approvals from team %s)\n",
	    js(a, "state"), (long long)json_integer_value(json_object_get(a,
	    "approved_by")), (long long)json_integer_value(json_object_get(a,
	    "required")), js2(a, "team", "name"));
	printf("key           %s/%s\n", js2(a, "key", "project"),
	    js2(a, "key", "name"));
	printf("requested by  %s (%s %s) from %s\n", js2(a, "requested_by",
	    "name"), js2(a, "requested_by", "type"), js2(a, "requested_by",
	    "id"), js(req, "source_ip"));
	printf("client        host %s, process %s, user %s\n",
	    js2(req, "client", "hostname"), js2(req, "client", "process"),
	    js2(req, "client", "user"));
	printf("requested at  %s, expires %s\n", js(a, "requested_at"),
	    js(a, "expires_at"));
	printf("mechanism     %s, %s\n", js(req, "mechanism"),
	    js(req, "digest_algorithm"));
	if ((dg = json_object_get(req, "digests")) != NULL)
		json_array_foreach(dg, i, v)
			printf("digest        %s\n", json_string_value(v) != NULL ?
			    json_string_value(v) : "");
	else
		printf("digest        %s\n", js(req, "digest"));
	json_array_foreach(json_object_get(a, "votes"), i, v) {
		char line[1200];

		snprintf(line, sizeof(line), "%s by %s at %s%s%s", js(v, "vote"),
		    js(v, "name"), js(v, "at"), *js(v, "comment") != '\0' ?
		    ": " : "", js(v, "comment"));
		cli_sanitize(line);
		printf("vote          %s\n", line);
	}
}

/* show / approve / deny ID */
static int
approval_op(struct cli *cli, int argc, char **argv, const char *cmd,
    const char *op)
{
	const char *pos[1], *comment = NULL, *reason = NULL;
	json_t *req = NULL, *resp = NULL;
	char usage[128], tmpl[64];
	int npos, r;
	struct cli_opt opts[3];
	int nopt = 0;

	cli->cmd = cmd;
	if (strcmp(op, "approve") == 0)
		opts[nopt++] = (struct cli_opt){ "comment", 1, &comment, NULL };
	else if (strcmp(op, "deny") == 0)
		opts[nopt++] = (struct cli_opt){ "reason", 1, &reason, NULL };
	opts[nopt++] = (struct cli_opt){ "json", 0, NULL, &cli->json };
	opts[nopt] = (struct cli_opt){ NULL, 0, NULL, NULL };
	snprintf(usage, sizeof(usage), "signet %s ID%s [--json]", cmd,
	    strcmp(op, "approve") == 0 ? " [--comment TEXT]" :
	    strcmp(op, "deny") == 0 ? " --reason TEXT" : "");
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 1, 1,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if (strcmp(op, "deny") == 0 && (reason == NULL || *reason == '\0'))
		return cli_usage_error(cli->cmd, "--reason TEXT is required");
	if (strcmp(op, "show") == 0)
		r = cli_callp(cli, "GET", NULL, &resp, "/v1/approvals/{}", pos[0]);
	else {
		if ((req = json_object()) == NULL ||
		    (comment != NULL && json_object_set_new(req, "comment",
		    json_string(comment)) != 0) ||
		    (reason != NULL && json_object_set_new(req, "reason",
		    json_string(reason)) != 0)) {
			json_decref(req);
			return cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
		}
		snprintf(tmpl, sizeof(tmpl), "/v1/approvals/{}/%s", op);
		r = cli_callp(cli, "POST", req, &resp, tmpl, pos[0]);
	}
	if (r == 0)
		print_approval(cli, resp);
	json_decref(req);
	json_decref(resp);
	return r;
}

static int
approval_show(struct cli *cli, int argc, char **argv)
{
	return approval_op(cli, argc, argv, "approval show", "show");
}

static int
approval_approve(struct cli *cli, int argc, char **argv)
{
	return approval_op(cli, argc, argv, "approval approve", "approve");
}

static int
approval_deny(struct cli *cli, int argc, char **argv)
{
	return approval_op(cli, argc, argv, "approval deny", "deny");
}

int
cmd_approval(struct cli *cli, int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{ "list", approval_list, "approvals you asked for or decide" },
		{ "show", approval_show, "one approval: who asks, what, from where" },
		{ "approve", approval_approve, "approve a signing request" },
		{ "deny", approval_deny, "deny a signing request (one deny rejects it)" },
		{ NULL, NULL, NULL },
	};

	return cli_dispatch(cli, "approval", subs, argc, argv);
}
