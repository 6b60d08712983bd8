/*
 * cmd_approval.c - signet approval list | show | approve | deny: the
 * approvals of signing requests to keys whose policy names an approval
 * team (docs/POLICIES.md). An approver sees who asks, for which key, from
 * which host and process, and the digests, before deciding.
 *
 * Pre-approval: approval grant | grants | revoke-grant (a principal's next
 * N signatures within a duration need no approval), and approval request
 * (hashes files here, like `signet sign`, and asks for an approval of
 * exactly those digests before signing them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alg.h"
#include "cli.h"
#include "encode.h"
#include "err.h"
#include "sign_files.h"
#include "util.h"

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

static void
print_grant(struct cli *cli, json_t *g)
{
	if (cli->json) {
		cli_print_json(g);
		return;
	}
	g = json_object_get(g, "grant");
	printf("grant         %s (%s)\n", js(g, "id"), js(g, "state"));
	printf("key           %s/%s\n", js2(g, "key", "project"),
	    js2(g, "key", "name"));
	printf("to            %s %s\n", js2(g, "principal", "type"),
	    js2(g, "principal", "name"));
	printf("signatures    %lld used of %lld\n",
	    (long long)json_integer_value(json_object_get(g, "used")),
	    (long long)json_integer_value(json_object_get(g,
	    "max_signatures")));
	printf("granted by    %s at %s\n", js2(g, "granted_by", "name"),
	    js(g, "created_at"));
	printf("expires       %s\n", js(g, "expires_at"));
}

/* KEY as an id: PROJECT/KEY is looked up among the keys the caller may
 * see; an approver who is neither a signer nor an owner names it by id. */
static int
approval_key(struct cli *cli, const char *name, char **id)
{
	const char *slash = strchr(name, '/');
	json_t *resp = NULL, *keys;
	char *proj = NULL;
	int r;

	*id = NULL;
	if (slash == NULL || slash == name || slash[1] == '\0' ||
	    strchr(slash + 1, '/') != NULL)
		return cli_resolve_key(cli, name, id);
	if ((proj = strndup(name, (size_t)(slash - name))) == NULL)
		return cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
	r = cli_callp(cli, "GET", NULL, &resp, "/v1/keys?project={}&name={}",
	    proj, slash + 1);
	free(proj);
	if (r != 0)
		return r;
	keys = json_object_get(resp, "keys");
	if (json_array_size(keys) == 1 && strcmp(js(json_array_get(keys, 0),
	    "name"), slash + 1) == 0 &&
	    (*id = strdup(js(json_array_get(keys, 0), "id"))) != NULL)
		r = 0;
	else
		r = cli_failx(EXIT_REFUSED, cli->cmd, "key %s: not found among "
		    "the keys you see by name (an approver who is neither a "
		    "signer nor an owner gives the key id, which `signet "
		    "approval list --json` shows)", name);
	json_decref(resp);
	return r;
}

/* --to PRINCIPAL: user:EMAIL, service-account:NAME (or sa:NAME), or a
 * bare EMAIL (has '@') or service account NAME. */
static int
grant_principal(json_t *req, const char *to)
{
	if (strncmp(to, "user:", 5) == 0)
		return json_object_set_new(req, "user", json_string(to + 5));
	if (strncmp(to, "service-account:", 16) == 0)
		return json_object_set_new(req, "service_account",
		    json_string(to + 16));
	if (strncmp(to, "sa:", 3) == 0)
		return json_object_set_new(req, "service_account",
		    json_string(to + 3));
	return json_object_set_new(req, strchr(to, '@') != NULL ? "user" :
	    "service_account", json_string(to));
}

static int
approval_grant(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet approval grant KEY --to PRINCIPAL "
	    "--max N --for DURATION [--json]\n  PRINCIPAL: EMAIL, "
	    "user:EMAIL, service-account:NAME or a service account NAME";
	const char *pos[1], *to = NULL, *max = NULL, *dur = NULL;
	json_t *req = NULL, *resp = NULL;
	char *id = NULL, *end;
	long long n;
	int64_t secs;
	int npos, r;
	const struct cli_opt opts[] = {
		{ "to", 1, &to, NULL },
		{ "max", 1, &max, NULL },
		{ "for", 1, &dur, NULL },
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "approval grant";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 1, 1,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if (to == NULL || *to == '\0')
		return cli_usage_error(cli->cmd, "--to PRINCIPAL is required");
	if (max == NULL)
		return cli_usage_error(cli->cmd, "--max N is required");
	n = strtoll(max, &end, 10);
	if (*max == '\0' || *end != '\0' || n < 1 || n > 1000000)
		return cli_usage_error(cli->cmd, "--max must be 1 to 1000000");
	if (dur == NULL || sn_parse_duration(dur, &secs) != 0 || secs < 60 ||
	    secs > 30 * 86400)
		return cli_usage_error(cli->cmd, "--for must be a duration from "
		    "60s to 30d (e.g. 8h, 7d)");
	if ((r = approval_key(cli, pos[0], &id)) != 0)
		return r;
	if ((req = json_pack("{s:I, s:I}", "max_signatures", (json_int_t)n,
	    "duration", (json_int_t)secs)) == NULL ||
	    grant_principal(req, to) != 0) {
		r = cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
		goto out;
	}
	if ((r = cli_callp(cli, "POST", req, &resp, "/v1/keys/{}/grants",
	    id)) == 0)
		print_grant(cli, resp);
 out:
	json_decref(req);
	json_decref(resp);
	free(id);
	return r;
}

static int
approval_grants(struct cli *cli, int argc, char **argv)
{
	static const char *const hdr[] = { "ID", "STATE", "TO", "USED",
	    "GRANTED BY", "EXPIRES" };
	static const char usage[] = "signet approval grants KEY [--all] [--json]";
	const char *pos[1], *cells[6];
	json_t *resp = NULL, *g;
	struct cli_table *t;
	char *id = NULL, used[64];
	size_t i;
	int all = 0, npos, r;
	const struct cli_opt opts[] = {
		{ "all", 0, NULL, &all },
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "approval grants";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 1, 1,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if ((r = approval_key(cli, pos[0], &id)) != 0)
		return r;
	r = cli_callp(cli, "GET", NULL, &resp, all ?
	    "/v1/keys/{}/grants?state=all" : "/v1/keys/{}/grants", id);
	free(id);
	if (r != 0)
		return r;
	if (cli->json) {
		cli_print_json(resp);
		json_decref(resp);
		return 0;
	}
	t = cli_table_new(6, hdr);
	json_array_foreach(json_object_get(resp, "grants"), i, g) {
		snprintf(used, sizeof(used), "%lld/%lld",
		    (long long)json_integer_value(json_object_get(g, "used")),
		    (long long)json_integer_value(json_object_get(g,
		    "max_signatures")));
		cells[0] = js(g, "id");
		cells[1] = js(g, "state");
		cells[2] = js2(g, "principal", "name");
		cells[3] = used;
		cells[4] = js2(g, "granted_by", "name");
		cells[5] = js(g, "expires_at");
		cli_table_add(t, cells);
	}
	cli_table_print(t);
	cli_table_free(t);
	json_decref(resp);
	return 0;
}

static int
approval_revoke_grant(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet approval revoke-grant KEY GRANT_ID "
	    "[--json]";
	const char *pos[2];
	json_t *resp = NULL;
	char *id = NULL;
	int npos, r;
	const struct cli_opt opts[] = {
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "approval revoke-grant";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 2, 2,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if ((r = approval_key(cli, pos[0], &id)) != 0)
		return r;
	if ((r = cli_callp(cli, "DELETE", NULL, &resp,
	    "/v1/keys/{}/grants/{}", id, pos[1])) == 0)
		print_grant(cli, resp);
	json_decref(resp);
	free(id);
	return r;
}

/* approval request KEY --in FILE... [--digest ALG]: the files hashed
 * here; only their digests are sent. */
static int
approval_request(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet approval request KEY --in FILE... "
	    "[--digest sha256|sha384|sha512] [--json]";
	const char *pos[1], *ins[CLI_MULTI_MAX], *dname = "sha256";
	json_t *req = NULL, *resp = NULL, *arr = NULL;
	uint8_t md[EVP_MAX_MD_SIZE];
	size_t mdlen, i;
	char *id = NULL, *b64 = NULL, host[256];
	enum sn_hash hash;
	int nin = 0, npos, r, e;
	const struct cli_opt opts[] = {
		{ "in", CLI_MULTI, ins, &nin },
		{ "digest", 1, &dname, NULL },
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "approval request";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 1, 1,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if (nin == 0)
		return cli_usage_error(cli->cmd, "--in FILE is required");
	if ((hash = sn_hash_from_name(dname)) == SN_HASH_NONE)
		return cli_usage_error(cli->cmd, "unknown --digest '%s': use "
		    "sha256, sha384 or sha512", dname);
	if ((arr = json_array()) == NULL)
		return cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
	for (i = 0; i < (size_t)nin; i++) {
		if (strcmp(ins[i], "-") == 0) {
			r = cli_usage_error(cli->cmd, "--in takes files here, "
			    "not standard input");
			goto out;
		}
		if ((e = sign_hash_path(ins[i], hash, md, &mdlen)) != 0) {
			r = cli_failx(EXIT_REFUSED, cli->cmd, "cannot read %s: %s "
			    "(nothing was asked)", ins[i], strerror(e));
			goto out;
		}
		if (sn_b64_encode(md, mdlen, &b64) != 0 ||
		    json_array_append_new(arr, json_string(b64)) != 0) {
			r = cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
			goto out;
		}
		free(b64);
		b64 = NULL;
	}
	if (gethostname(host, sizeof(host)) != 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	if ((req = json_pack("{s:s, s:O, s:{s:s, s:s}}", "digest_algorithm",
	    sn_hash_name(hash), "digests", arr, "client", "hostname", host,
	    "process", "signet approval request")) == NULL) {
		r = cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
		goto out;
	}
	if ((r = approval_key(cli, pos[0], &id)) != 0)
		goto out;
	if ((r = cli_callp(cli, "POST", req, &resp, "/v1/keys/{}/approvals",
	    id)) == 0) {
		print_approval(cli, resp);
		if (!cli->json)
			fprintf(stderr, "signet: approval %s asked for %d "
			    "file(s); once approved, `signet sign` of them signs "
			    "at once\n", js2(resp, "approval", "id"), nin);
	}
 out:
	free(b64);
	free(id);
	json_decref(arr);
	json_decref(req);
	json_decref(resp);
	return r;
}

int
cmd_approval(struct cli *cli, int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{ "list", approval_list, "approvals you asked for or decide" },
		{ "show", approval_show, "one approval: who asks, what, from where" },
		{ "approve", approval_approve, "approve a signing request" },
		{ "deny", approval_deny, "deny a signing request (one deny rejects it)" },
		{ "grant", approval_grant, "pre-approve a principal's next N signatures" },
		{ "grants", approval_grants, "the pre-approval grants of a key" },
		{ "revoke-grant", approval_revoke_grant, "revoke a pre-approval grant" },
		{ "request", approval_request, "ask approval for files' digests before signing" },
		{ NULL, NULL, NULL },
	};

	return cli_dispatch(cli, "approval", subs, argc, argv);
}
