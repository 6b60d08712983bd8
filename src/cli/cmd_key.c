/*
 * cmd_key.c - signet key create | list | show | disable | enable | revoke |
 * delete | csr | import-cert, and `signet keys` (the keys I may sign with).
 * Keys are named PROJECT/KEY or by id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "util.h"

#define CHAIN_MAX	(256 * 1024)

void
cli_print_key(struct cli *cli, json_t *resp)
{
	json_t *k = json_object_get(resp, "key");

	if (cli->json) {
		cli_print_json(resp);
		return;
	}
	printf("key         %s/%s\n", js2(k, "project", "name"), js(k, "name"));
	printf("id          %s\n", js(k, "id"));
	printf("algorithm   %s\n", js(k, "algorithm"));
	printf("state       %s\n", js(k, "state"));
	printf("valid       %s .. %s\n", js(k, "not_before"),
	    js(k, "not_after"));
	printf("ca          %s\n", js(k, "ca"));
	if (*js(k, "subject") != '\0')
		printf("subject     %s\n", js(k, "subject"));
	if (*js(k, "certificate_serial") != '\0')
		printf("serial      %s\n", js(k, "certificate_serial"));
	printf("certificate %s\n", json_is_string(json_object_get(k,
	    "certificate")) ? "yes (signet cert KEY)" : "none");
	printf("allow_sha1  %s\n", json_is_true(json_object_get(k,
	    "allow_sha1")) ? "yes" : "no");
	printf("created     %s\n", js(k, "created_at"));
	printf("pkcs11_uri  %s\n", js(k, "pkcs11_uri"));
	printf("%s", js(k, "public_key"));
}

static int
key_create(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet key create PROJECT NAME "
	    "--algorithm rsa-2048|rsa-3072|rsa-4096|ecdsa-p256|ecdsa-p384 "
	    "[--validity DURATION] [--ca builtin|external|none] [--subject DN] "
	    "[--allow-sha1] [--json]";
	const char *alg = NULL, *validity = NULL, *ca = NULL, *subject = NULL;
	const char *pos[2];
	json_t *req = NULL, *resp = NULL;
	int64_t secs = 0;
	int npos, r, sha1 = 0;
	const struct cli_opt opts[] = {
		{ "algorithm", 1, &alg, NULL },
		{ "validity", 1, &validity, NULL },
		{ "ca", 1, &ca, NULL },
		{ "subject", 1, &subject, NULL },
		{ "allow-sha1", 0, NULL, &sha1 },
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "key create";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 2, 2,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if (alg == NULL)
		return cli_usage_error(cli->cmd, "--algorithm is required");
	if (sn_key_alg_from_name(alg) == SN_ALG_NONE)
		return cli_usage_error(cli->cmd, "unknown algorithm \"%s\"", alg);
	if (validity != NULL && sn_parse_duration(validity, &secs) != 0)
		return cli_usage_error(cli->cmd, "bad duration \"%s\" (e.g. "
		    "365d, 2y)", validity);
	if (ca != NULL && strcmp(ca, "builtin") != 0 &&
	    strcmp(ca, "external") != 0 && strcmp(ca, "none") != 0)
		return cli_usage_error(cli->cmd, "--ca must be builtin, external "
		    "or none");
	if ((req = json_pack("{s:s, s:s, s:s}", "project", pos[0], "name",
	    pos[1], "algorithm", alg)) == NULL ||
	    (validity != NULL && json_object_set_new(req, "validity",
	    json_integer(secs)) != 0) ||
	    (ca != NULL && json_object_set_new(req, "ca", json_string(ca))) ||
	    (subject != NULL && json_object_set_new(req, "subject",
	    json_string(subject))) ||
	    (sha1 && json_object_set_new(req, "allow_sha1", json_true()))) {
		json_decref(req);
		return cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
	}
	r = cli_call(cli, "POST", "/v1/keys", req, &resp);
	json_decref(req);
	if (r != 0)
		return r;
	if (!cli->json)
		printf("Created key %s/%s in the HSM\n", pos[0], pos[1]);
	cli_print_key(cli, resp);
	json_decref(resp);
	return 0;
}

static void
key_row(json_t *k, const char **c, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", js2(k, "project", "name"), js(k, "name"));
	c[0] = buf;
	c[1] = js(k, "algorithm");
	c[2] = js(k, "state");
	c[3] = js(k, "not_after");
	c[4] = js(k, "ca");
	c[5] = js(k, "id");
}

/* `signet keys`: what the PKCS#11 module shows, with the URI to name it,
 * and what the key's policy leaves (signatures left in the quota's
 * period and when it resets; "approval" when a signature needs one). */
static void
key_uri_row(json_t *k, const char **c, char *buf, size_t len)
{
	json_t *q = json_object_get(k, "quota");
	size_t used;

	key_row(k, c, buf, len);
	used = strlen(buf) + 1;
	c[4] = "-";
	if (json_is_object(q) && used < len) {
		snprintf(buf + used, len - used, "%lld/%lld per %s, resets %s%s",
		    (long long)json_integer_value(json_object_get(q, "remaining")),
		    (long long)json_integer_value(json_object_get(q, "limit")),
		    js(q, "period"), js(q, "resets_at"),
		    json_is_true(json_object_get(k, "approval_required")) ?
		    ", approval" : "");
		c[4] = buf + used;
	} else if (json_is_true(json_object_get(k, "approval_required")))
		c[4] = "approval";
	c[5] = js(k, "pkcs11_uri");
}

static int
key_list(struct cli *cli, int argc, char **argv)
{
	static const char *const hdr[] = { "KEY", "ALGORITHM", "STATE",
	    "NOT AFTER", "CA", "ID" };
	static const struct cli_listing l = { "key list",
	    "signet key list [--project P] [--expiring DURATION] [--json]",
	    "/v1/keys", "keys", "project", "project", 6, hdr, key_row };

	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "--expiring") == 0 ||
		    strncmp(argv[i], "--expiring=", 11) == 0)
			return key_list_expiring(cli, argc, argv);
	return cli_list(cli, argc, argv, &l);
}

/* show, disable, enable, revoke, delete: KEY, one request, print the key. */
static int
key_simple(struct cli *cli, int argc, char **argv, const char *cmd,
    const char *method, const char *tmpl, const char *done)
{
	char usage[128], *id = NULL;
	const char *pos[1];
	json_t *resp = NULL;
	int npos, r;
	const struct cli_opt opts[] = {
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = cmd;
	snprintf(usage, sizeof(usage), "signet %s KEY [--json]", cmd);
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 1, 1,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if ((r = cli_resolve_key(cli, pos[0], &id)) != 0)
		return r;
	r = cli_callp(cli, method, NULL, &resp, tmpl, id);
	free(id);
	if (r != 0)
		return r;
	if (done != NULL && !cli->json)
		printf("%s %s\n", done, pos[0]);
	else
		cli_print_key(cli, resp);
	json_decref(resp);
	return 0;
}


static int
key_disable(struct cli *cli, int argc, char **argv)
{
	return key_simple(cli, argc, argv, "key disable", "POST",
	    "/v1/keys/{}/disable",
	    "Disabled key");
}

static int
key_enable(struct cli *cli, int argc, char **argv)
{
	return key_simple(cli, argc, argv, "key enable", "POST",
	    "/v1/keys/{}/enable",
	    "Enabled key");
}

/*
 * signet key revoke KEY [--reason R] [--compromised-at TIME]: the reason
 * and the compromise time go into the CRL and OCSP answers.
 */
static int
key_revoke(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet key revoke KEY [--reason "
	    "unspecified|key-compromise|superseded|cessation-of-operation] "
	    "[--compromised-at TIME] [--json]";
	static const char *const reasons[] = { "unspecified",
	    "key-compromise", "superseded", "cessation-of-operation", NULL };
	const char *pos[1], *reason = NULL, *when = NULL;
	json_t *resp = NULL, *body = NULL;
	char *id = NULL;
	int64_t t = 0;
	int npos, r, ok = 0;
	const struct cli_opt opts[] = {
		{ "json", 0, NULL, &cli->json },
		{ "reason", 1, &reason, NULL },
		{ "compromised-at", 1, &when, NULL },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "key revoke";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 1, 1,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	for (size_t i = 0; reason != NULL && reasons[i] != NULL; i++)
		ok |= strcmp(reason, reasons[i]) == 0;
	if (reason != NULL && !ok)
		return cli_usage_error(cli->cmd, "--reason must be unspecified, "
		    "key-compromise, superseded or cessation-of-operation");
	if (when != NULL && (reason == NULL ||
	    strcmp(reason, "key-compromise") != 0))
		return cli_usage_error(cli->cmd, "--compromised-at needs "
		    "--reason key-compromise");
	if (when != NULL && sn_parse_time(when, &t) != 0)
		return cli_usage_error(cli->cmd, "--compromised-at must be an "
		    "RFC 3339 UTC time (2026-01-31T12:00:00Z) or a date");
	if ((body = json_object()) == NULL ||
	    (reason != NULL && json_object_set_new(body, "reason",
	    json_string(reason)) != 0) ||
	    (when != NULL && json_object_set_new(body, "compromised_at",
	    json_integer(t)) != 0)) {
		json_decref(body);
		return cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
	}
	if ((r = cli_resolve_key(cli, pos[0], &id)) != 0) {
		json_decref(body);
		return r;
	}
	r = cli_callp(cli, "POST", body, &resp, "/v1/keys/{}/revoke", id);
	free(id);
	json_decref(body);
	if (r != 0)
		return r;
	if (!cli->json)
		printf("Revoked key %s (its certificate goes on the CRL and "
		    "OCSP)\n", pos[0]);
	else
		cli_print_key(cli, resp);
	json_decref(resp);
	return 0;
}

static int
key_delete(struct cli *cli, int argc, char **argv)
{
	return key_simple(cli, argc, argv, "key delete", "DELETE",
	    "/v1/keys/{}",
	    "Deleted key (HSM object destroyed)");
}

static int
key_csr(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet key csr KEY [--subject DN] [--json]";
	const char *subject = NULL, *pos[1];
	json_t *req = NULL, *resp = NULL;
	char *id = NULL;
	int npos, r;
	const struct cli_opt opts[] = {
		{ "subject", 1, &subject, NULL },
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "key csr";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 1, 1,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if ((r = cli_resolve_key(cli, pos[0], &id)) != 0)
		return r;
	if ((req = json_object()) == NULL ||
	    (subject != NULL && json_object_set_new(req, "subject",
	    json_string(subject)) != 0)) {
		free(id);
		json_decref(req);
		return cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
	}
	r = cli_callp(cli, "POST", req, &resp, "/v1/keys/{}/csr", id);
	free(id);
	json_decref(req);
	if (r != 0)
		return r;
	return cli_print_member(cli, resp, "csr");
}

static int
key_import_cert(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet key import-cert KEY --chain PEM "
	    "[--json]";
	const char *chainf = NULL, *pos[1];
	json_t *req = NULL, *resp = NULL;
	char *id = NULL, *pem = NULL;
	size_t len;
	int npos, r, err;
	const struct cli_opt opts[] = {
		{ "chain", 1, &chainf, NULL },
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "key import-cert";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 1, 1,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if (chainf == NULL)
		return cli_usage_error(cli->cmd, "--chain PEM is required");
	if ((err = sn_read_file(chainf, CHAIN_MAX, &pem, &len)) != 0)
		return cli_failx(EXIT_REFUSED, cli->cmd, "%s: %s", chainf,
		    sn_strerror(err));
	if (strstr(pem, "-----BEGIN CERTIFICATE-----") == NULL) {
		free(pem);
		return cli_usage_error(cli->cmd, "%s holds no PEM certificate",
		    chainf);
	}
	if ((r = cli_resolve_key(cli, pos[0], &id)) != 0)
		goto out;
	if ((req = json_pack("{s:s}", "chain", pem)) == NULL) {
		r = cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
		goto out;
	}
	if ((r = cli_callp(cli, "PUT", req, &resp, "/v1/keys/{}/certificate",
	    id)) != 0)
		goto out;
	if (!cli->json)
		printf("Imported the certificate chain for %s\n", pos[0]);
	cli_print_key(cli, resp);
	r = 0;
 out:
	json_decref(req);
	json_decref(resp);
	free(pem);
	free(id);
	return r;
}

int
cmd_key(struct cli *cli, int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{ "create", key_create, "create a key pair in the HSM" },
		{ "list", key_list, "list keys (--project P, --expiring D)" },
		{ "show", key_show_full, "show a key and its certificates" },
		{ "disable", key_disable, "stop a key from signing" },
		{ "enable", key_enable, "allow a disabled key to sign again" },
		{ "revoke", key_revoke, "revoke a key for good" },
		{ "delete", key_delete, "delete a key and its HSM object" },
		{ "csr", key_csr, "a certificate request for an external CA" },
		{ "import-cert", key_import_cert, "import an external CA's chain" },
		{ "renew", key_renew, "a new certificate for the same key" },
		{ "rotate", key_rotate, "a new key pair as the next version" },
		{ "versions", key_versions, "versions and certificates of a key" },
		{ NULL, NULL, NULL },
	};

	return cli_dispatch(cli, "key", subs, argc, argv);
}

int
cmd_keys(struct cli *cli, int argc, char **argv)
{
	static const char *const hdr[] = { "KEY", "ALGORITHM", "STATE",
	    "NOT AFTER", "LEFT", "PKCS#11 URI" };
	static const struct cli_listing l = { "keys", "signet keys [--json]",
	    "/v1/me/keys", "keys", NULL, NULL, 6, hdr, key_uri_row };

	return cli_list(cli, argc - 1, argv + 1, &l);
}
