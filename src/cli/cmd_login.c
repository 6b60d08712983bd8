/*
 * cmd_login.c - signet login / logout / whoami.
 *
 * login checks the credentials against the server (GET /v1/me) before
 * writing them, so a typo never replaces a working configuration. The API
 * key can be read from stdin ("--api-key -") to keep it out of ps(1).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "util.h"

static int
read_secret_stdin(char **out)
{
	char buf[1024];
	size_t n;

	*out = NULL;
	if (fgets(buf, sizeof(buf), stdin) == NULL)
		return SN_ERR_IO;
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	if (n == 0) {
		explicit_bzero(buf, sizeof(buf));
		return SN_ERR_INVALID;
	}
	*out = strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	return *out == NULL ? SN_ERR_NOMEM : 0;
}

static int
abs_path(const char *p, char **out)
{
	char buf[PATH_MAX];

	*out = NULL;
	if (realpath(p, buf) == NULL)
		return SN_ERR_IO;
	return (*out = strdup(buf)) == NULL ? SN_ERR_NOMEM : 0;
}

/* GitHub Actions hands a job with "id-token: write" these two. */
static int
github_actions(void)
{
	const char *u = getenv("ACTIONS_ID_TOKEN_REQUEST_URL");
	const char *t = getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN");

	return u != NULL && *u != '\0' && t != NULL && *t != '\0';
}

static int
valid_env_name(const char *s)
{
	size_t i;

	if (s[0] == '\0' || strlen(s) > 128 || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

static void
describe_me(json_t *me)
{
	const char *type = js(me, "type");

	if (strcmp(type, "service_account") == 0)
		printf("service account %s (%s) in tenant %s\n", js(me, "name"),
		    js(me, "id"), js2(me, "tenant", "name"));
	else
		printf("%s (%s, role %s) in tenant %s\n", js(me, "email"),
		    js(me, "id"), js(me, "role"), js2(me, "tenant", "name"));
}

int
cmd_login(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet login --url URL (--api-key KEY|- | "
	    "--service-account NAME (--key-file PATH | --oidc-token-file PATH | "
	    "--oidc-token-env VAR | [--oidc-audience AUD] with GitHub Actions' "
	    "ACTIONS_ID_TOKEN_REQUEST_URL)) [--ca-file PEM] [--oidc-ca-file PEM]";
	const char *url = NULL, *key = NULL, *sa = NULL, *keyfile = NULL;
	const char *ca = NULL, *pos[1], *otf = NULL, *ote = NULL, *oaud = NULL;
	const char *oca = NULL;
	int nsrc;
	struct sn_client_config cfg;
	struct sn_client *c = NULL;
	char path[PATH_MAX], *tmp;
	json_t *me = NULL;
	int npos, r, e;
	const struct cli_opt opts[] = {
		{ "url", 1, &url, NULL },
		{ "api-key", 1, &key, NULL },
		{ "service-account", 1, &sa, NULL },
		{ "key-file", 1, &keyfile, NULL },
		{ "ca-file", 1, &ca, NULL },
		{ "oidc-token-file", 1, &otf, NULL },
		{ "oidc-token-env", 1, &ote, NULL },
		{ "oidc-audience", 1, &oaud, NULL },
		{ "oidc-ca-file", 1, &oca, NULL },
		{ NULL, 0, NULL, NULL },
	};

	memset(&cfg, 0, sizeof(cfg));
	cli->cmd = "login";
	if ((r = cli_parse("login", usage, argc - 1, argv + 1, opts, pos, 0, 0,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if (url == NULL)
		return cli_usage_error("login", "--url is required");
	if ((key != NULL) == (sa != NULL))
		return cli_usage_error("login", "give exactly one of --api-key "
		    "or --service-account");
	nsrc = (keyfile != NULL) + (otf != NULL) + (ote != NULL);
	if (sa == NULL && (nsrc != 0 || oaud != NULL || oca != NULL))
		return cli_usage_error("login", "--key-file and --oidc-* go "
		    "with --service-account");
	if (sa != NULL && nsrc > 1)
		return cli_usage_error("login", "give one of --key-file, "
		    "--oidc-token-file or --oidc-token-env");
	if (sa != NULL && nsrc == 0 && !github_actions())
		return cli_usage_error("login", "--service-account needs "
		    "--key-file, --oidc-token-file or --oidc-token-env (or "
		    "GitHub Actions' ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN)");
	if ((keyfile != NULL || otf != NULL || ote != NULL) && oaud != NULL)
		return cli_usage_error("login", "--oidc-audience is for GitHub "
		    "Actions' token request only");
	if (ote != NULL && !valid_env_name(ote))
		return cli_usage_error("login", "--oidc-token-env takes an "
		    "environment variable name ([A-Za-z_][A-Za-z0-9_]*)");
	if (oaud != NULL && (*oaud == '\0' || strlen(oaud) > 256))
		return cli_usage_error("login", "--oidc-audience must be 1 to "
		    "256 characters");
	if (strncmp(url, "https://", 8) != 0)
		return cli_usage_error("login", "the URL must start with "
		    "https://");
	if ((cfg.url = strdup(url)) == NULL)
		goto oom;
	if (ca == NULL)
		ca = getenv("SIGNET_CA_FILE");
	if (ca != NULL && *ca != '\0' && (e = abs_path(ca, &cfg.ca_file)) != 0) {
		r = cli_failx(EXIT_REFUSED, "login", "CA file %s: not found", ca);
		goto out;
	}
	if (key != NULL) {
		if (strcmp(key, "-") == 0) {
			if ((e = read_secret_stdin(&cfg.api_key)) != 0) {
				r = cli_failx(EXIT_USAGE, "login", "no API key "
				    "on stdin");
				goto out;
			}
		} else if ((cfg.api_key = strdup(key)) == NULL)
			goto oom;
	} else {
		if (keyfile != NULL &&
		    (e = abs_path(keyfile, &cfg.sa_key_file)) != 0) {
			r = cli_failx(EXIT_REFUSED, "login", "key file %s: not "
			    "found", keyfile);
			goto out;
		}
		if (otf != NULL &&
		    (e = abs_path(otf, &cfg.oidc_token_file)) != 0) {
			r = cli_failx(EXIT_REFUSED, "login", "ID token file %s: "
			    "not found", otf);
			goto out;
		}
		if (oca != NULL && (e = abs_path(oca, &cfg.oidc_ca_file)) != 0) {
			r = cli_failx(EXIT_REFUSED, "login", "CA file %s: not "
			    "found", oca);
			goto out;
		}
		if ((ote != NULL && (cfg.oidc_token_env = strdup(ote)) == NULL) ||
		    (nsrc == 0 && (cfg.oidc_github = strdup("1")) == NULL) ||
		    (oaud != NULL && (cfg.oidc_audience = strdup(oaud)) == NULL))
			goto oom;
		if ((cfg.sa_name = strdup(sa)) == NULL)
			goto oom;
		if (strncmp(sa, "sac_", 4) == 0 &&
		    (cfg.sa_id = strdup(sa)) == NULL)
			goto oom;
	}
	/* Check the credentials before storing them. */
	if ((e = sn_client_new(&cfg, &c)) != 0) {
		r = cli_failx(cli_exit_code(e), "login", "%s",
		    sn_client_errmsg(NULL));
		goto out;
	}
	if ((e = sn_client_json(c, "GET", "/v1/me", NULL, NULL, &me)) != 0) {
		/*
		 * A name is unique only inside a tenant and the assertion
		 * names no tenant: the server accepts a name only when
		 * exactly one account of that name has this key.
		 */
		r = cli_failx(cli_exit_code(e), "login", "checking the "
		    "credentials: %s%s", sn_client_errmsg(c),
		    e == SN_ERR_UNAUTHENTICATED && sa != NULL &&
		    cfg.sa_id == NULL ? " (if the name is not unique, give "
		    "the account id, sac_...)" : "");
		goto out;
	}
	if (sa != NULL && strcmp(js(me, "type"), "service_account") == 0 &&
	    *js(me, "id") != '\0') {
		if ((tmp = strdup(js(me, "id"))) == NULL)
			goto oom;
		free(cfg.sa_id);
		cfg.sa_id = tmp;
		if (*js(me, "name") != '\0') {
			if ((tmp = strdup(js(me, "name"))) == NULL)
				goto oom;
			free(cfg.sa_name);
			cfg.sa_name = tmp;
		}
	}
	if (sn_config_path(path, sizeof(path)) != 0 ||
	    (e = sn_config_save_path(&cfg, path)) != 0) {
		r = cli_failx(EXIT_REFUSED, "login", "cannot write the "
		    "configuration: %s", sn_strerror(e));
		goto out;
	}
	printf("Logged in to %s as ", cfg.url);
	describe_me(me);
	printf("Configuration written to %s\n", path);
	r = 0;
	goto out;
 oom:
	r = cli_failx(EXIT_REFUSED, "login", "out of memory");
 out:
	json_decref(me);
	sn_client_free(c);
	sn_config_clear(&cfg);
	return r;
}

int
cmd_logout(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet logout";
	struct sn_client_config cfg;
	char path[PATH_MAX], why[512] = "";
	const char *pos[1];
	int npos, r, e;

	cli->cmd = "logout";
	if ((r = cli_parse("logout", usage, argc - 1, argv + 1, NULL, pos, 0, 0,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	memset(&cfg, 0, sizeof(cfg));
	if (sn_config_path(path, sizeof(path)) != 0)
		return cli_failx(EXIT_REFUSED, "logout", "no config path");
	if ((e = sn_config_load_file(path, &cfg, why, sizeof(why))) != 0) {
		/* An unreadable config still gets its secrets removed. */
		if (unlink(path) != 0)
			return cli_failx(EXIT_REFUSED, "logout", "%s", why);
		printf("Removed %s\n", path);
		return 0;
	}
	if (access(path, F_OK) != 0) {
		printf("Not logged in (no %s)\n", path);
		return 0;
	}
	/* Keep where the server is; forget who we are. */
	sn_strfreezero(cfg.api_key);
	free(cfg.sa_name);
	free(cfg.sa_id);
	free(cfg.sa_key_file);
	cfg.api_key = cfg.sa_name = cfg.sa_id = cfg.sa_key_file = NULL;
	free(cfg.oidc_token_file);
	free(cfg.oidc_token_env);
	free(cfg.oidc_github);
	free(cfg.oidc_audience);
	cfg.oidc_token_file = cfg.oidc_token_env = cfg.oidc_github = NULL;
	cfg.oidc_audience = NULL;
	if ((e = sn_config_save_path(&cfg, path)) != 0)
		r = cli_failx(EXIT_REFUSED, "logout", "cannot write %s: %s",
		    path, sn_strerror(e));
	else {
		printf("Logged out: credentials removed from %s\n", path);
		r = 0;
	}
	sn_config_clear(&cfg);
	return r;
}

int
cmd_whoami(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet whoami [--json]";
	const char *pos[1];
	json_t *me = NULL;
	int npos, r;
	const struct cli_opt opts[] = {
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "whoami";
	if ((r = cli_parse("whoami", usage, argc - 1, argv + 1, opts, pos, 0, 0,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if ((r = cli_call(cli, "GET", "/v1/me", NULL, &me)) != 0)
		return r;
	if (cli->json)
		cli_print_json(me);
	else
		describe_me(me);
	json_decref(me);
	return 0;
}
