/*
 * cmd_sa_federation.c - signet service-account federate | federations |
 * unfederate: which CI systems' OIDC ID tokens an account trusts.
 *
 *   federate NAME --issuer URL --audience AUD --claim KEY=PATTERN...
 *            [--max-token-age DURATION]
 *
 * --claim may be given several times (all must match on the server). The
 * server checks everything again; here we refuse what can never be right
 * (no '=', an empty claim name) with exit 2 before any request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "util.h"

#define FED_MAX_CLAIM_ARGS	16

/* Moves every --claim VALUE / --claim=VALUE out of argv into claims[]. */
static int
take_claims(const char *cmd, int *argc, char **argv, const char **claims,
    int *nclaims)
{
	int i, o = 0;

	*nclaims = 0;
	for (i = 0; i < *argc; i++) {
		const char *v = NULL;

		if (strcmp(argv[i], "--") == 0) {
			while (i < *argc)
				argv[o++] = argv[i++];
			break;
		}
		if (strcmp(argv[i], "--claim") == 0) {
			if (i + 1 >= *argc)
				return cli_usage_error(cmd, "--claim needs "
				    "KEY=PATTERN");
			v = argv[++i];
		} else if (strncmp(argv[i], "--claim=", 8) == 0)
			v = argv[i] + 8;
		else {
			argv[o++] = argv[i];
			continue;
		}
		if (*nclaims == FED_MAX_CLAIM_ARGS)
			return cli_usage_error(cmd, "at most %d --claim rules",
			    FED_MAX_CLAIM_ARGS);
		claims[(*nclaims)++] = v;
	}
	*argc = o;
	return 0;
}

int
cmd_sa_federate(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet service-account federate NAME "
	    "--issuer URL --audience AUD --claim KEY=PATTERN... "
	    "[--max-token-age DURATION] [--json]";
	const char *issuer = NULL, *aud = NULL, *age = NULL, *pos[1];
	const char *claims[FED_MAX_CLAIM_ARGS];
	json_t *req = NULL, *rules = NULL, *resp = NULL, *f;
	char name[128];
	int64_t secs = 0;
	int npos, nclaims = 0, i, r;
	const struct cli_opt opts[] = {
		{ "issuer", 1, &issuer, NULL },
		{ "audience", 1, &aud, NULL },
		{ "max-token-age", 1, &age, NULL },
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "service-account federate";
	if ((r = take_claims(cli->cmd, &argc, argv, claims, &nclaims)) != 0)
		return r;
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 1, 1,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if (issuer == NULL || aud == NULL)
		return cli_usage_error(cli->cmd, "--issuer and --audience are "
		    "required");
	if (strncmp(issuer, "https://", 8) != 0)
		return cli_usage_error(cli->cmd, "--issuer must be an https URL");
	if (nclaims == 0)
		return cli_usage_error(cli->cmd, "give at least one --claim "
		    "KEY=PATTERN (for example repository=org/app)");
	if (age != NULL && sn_parse_duration(age, &secs) != 0)
		return cli_usage_error(cli->cmd, "--max-token-age: not a "
		    "duration (e.g. 15m, 1h)");
	if ((rules = json_object()) == NULL)
		return cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
	for (i = 0; i < nclaims; i++) {
		const char *eq = strchr(claims[i], '=');
		size_t kl = eq != NULL ? (size_t)(eq - claims[i]) : 0;

		if (eq == NULL || kl == 0 || kl >= sizeof(name) || eq[1] == '\0') {
			json_decref(rules);
			return cli_usage_error(cli->cmd, "--claim %s: expected "
			    "KEY=PATTERN", claims[i]);
		}
		memcpy(name, claims[i], kl);
		name[kl] = '\0';
		if (json_object_get(rules, name) != NULL) {
			json_decref(rules);
			return cli_usage_error(cli->cmd, "--claim %s given "
			    "twice", name);
		}
		if (json_object_set_new(rules, name, json_string(eq + 1)) != 0) {
			json_decref(rules);
			return cli_usage_error(cli->cmd, "--claim %s: not UTF-8",
			    claims[i]);
		}
	}
	req = json_pack("{s:s, s:s, s:o}", "issuer", issuer, "audience", aud,
	    "claims", rules);
	if (req != NULL && age != NULL)
		json_object_set_new(req, "max_token_age", json_integer(secs));
	if (req == NULL)
		return cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
	r = cli_callp(cli, "POST", req, &resp,
	    "/v1/serviceaccounts/{}/federations", pos[0]);
	json_decref(req);
	if (r != 0)
		return r;
	f = json_object_get(resp, "federation");
	if (cli->json)
		cli_print_json(resp);
	else
		printf("Federated service account %s with %s (id %s)\n", pos[0],
		    js(f, "issuer"), js(f, "id"));
	json_decref(resp);
	return 0;
}

int
cmd_sa_federations(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet service-account federations NAME "
	    "[--json]";
	static const char *const hdr[] = { "ID", "ISSUER", "AUDIENCE",
	    "CLAIMS", "MAX AGE" };
	const char *pos[1];
	json_t *resp = NULL, *arr, *f, *v;
	struct cli_table *t = NULL;
	const char *cells[5], *k;
	char rules[1024], age[32];
	size_t i, used;
	int npos, r, n;
	const struct cli_opt opts[] = {
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "service-account federations";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 1, 1,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if ((r = cli_callp(cli, "GET", NULL, &resp,
	    "/v1/serviceaccounts/{}/federations", pos[0])) != 0)
		return r;
	if (cli->json) {
		cli_print_json(resp);
		json_decref(resp);
		return 0;
	}
	if ((t = cli_table_new(5, hdr)) == NULL) {
		json_decref(resp);
		return cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
	}
	arr = json_object_get(resp, "federations");
	json_array_foreach(arr, i, f) {
		rules[0] = '\0';
		used = 0;
		json_object_foreach(json_object_get(f, "claims"), k, v) {
			n = snprintf(rules + used, sizeof(rules) - used, "%s%s=%s",
			    used ? " " : "", k, json_string_value(v) ?
			    json_string_value(v) : "");
			if (n < 0 || (size_t)n >= sizeof(rules) - used)
				break;
			used += (size_t)n;
		}
		snprintf(age, sizeof(age), "%llds", (long long)json_integer_value(
		    json_object_get(f, "max_token_age")));
		cells[0] = js(f, "id");
		cells[1] = js(f, "issuer");
		cells[2] = js(f, "audience");
		cells[3] = rules;
		cells[4] = age;
		cli_table_add(t, cells);
	}
	cli_table_print(t);
	cli_table_free(t);
	json_decref(resp);
	return 0;
}

int
cmd_sa_unfederate(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet service-account unfederate NAME ID "
	    "[--json]";
	const char *pos[2];
	json_t *resp = NULL;
	int npos, r;
	const struct cli_opt opts[] = {
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "service-account unfederate";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 2, 2,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if ((r = cli_callp(cli, "DELETE", NULL, &resp,
	    "/v1/serviceaccounts/{}/federations/{}", pos[0], pos[1])) != 0)
		return r;
	if (cli->json)
		cli_print_json(resp);
	else
		printf("Removed federation %s of service account %s\n", pos[1],
		    pos[0]);
	json_decref(resp);
	return 0;
}
