/*
 * cmd_sa.c - signet service-account keygen | create | list | rotate-key |
 * delete (federate | federations | unfederate: cmd_sa_federation.c).
 *
 * keygen runs on the signing machine and talks to nobody: the private key
 * is written to a new file (O_EXCL, mode 0600: an existing file is never
 * overwritten) and only the public key is printed, for an admin or team
 * member to register with "service-account create".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "cli.h"
#include "err.h"
#include "pem.h"
#include "util.h"

#define PUBKEY_MAX	(16 * 1024)

static int
write_new_file(const char *path, const char *data, size_t len)
{
	ssize_t w;
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) < 0)
		return -errno;
	while (len > 0) {
		w = write(fd, data, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			unlink(path);
			return -EIO;
		}
		data += w;
		len -= (size_t)w;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		unlink(path);
		return -EIO;
	}
	return 0;
}

static int
sa_keygen(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet service-account keygen --out PATH "
	    "[--algorithm ecdsa-p256|ecdsa-p384|rsa-3072]";
	const char *out = NULL, *alg = "ecdsa-p256", *pos[1];
	EVP_PKEY *key = NULL;
	BIO *priv = NULL, *pub = NULL;
	char *pdata = NULL, *qdata = NULL;
	long plen, qlen;
	int npos, r, e;
	const struct cli_opt opts[] = {
		{ "out", 1, &out, NULL },
		{ "algorithm", 1, &alg, NULL },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "service-account keygen";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 0, 0,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if (out == NULL)
		return cli_usage_error(cli->cmd, "--out PATH is required");
	if (access(out, F_OK) == 0)
		return cli_failx(EXIT_REFUSED, cli->cmd, "%s already exists; "
		    "refusing to overwrite a key", out);
	if (strcmp(alg, "ecdsa-p256") == 0)
		key = EVP_EC_gen("P-256");
	else if (strcmp(alg, "ecdsa-p384") == 0)
		key = EVP_EC_gen("P-384");
	else if (strcmp(alg, "rsa-3072") == 0)
		key = EVP_RSA_gen(3072);
	else
		return cli_usage_error(cli->cmd, "unknown --algorithm \"%s\" "
		    "(ecdsa-p256, ecdsa-p384 or rsa-3072)", alg);
	if (key == NULL) {
		r = cli_failx(EXIT_REFUSED, cli->cmd, "key generation failed");
		goto out;
	}
	if ((priv = BIO_new(BIO_s_secmem())) == NULL ||
	    (pub = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_PrivateKey(priv, key, NULL, NULL, 0, NULL, NULL) ||
	    !PEM_write_bio_PUBKEY(pub, key) ||
	    (plen = BIO_get_mem_data(priv, &pdata)) <= 0 ||
	    (qlen = BIO_get_mem_data(pub, &qdata)) <= 0) {
		r = cli_failx(EXIT_REFUSED, cli->cmd, "cannot encode the key");
		goto out;
	}
	if ((e = write_new_file(out, pdata, (size_t)plen)) != 0) {
		r = cli_failx(EXIT_REFUSED, cli->cmd, "%s: %s", out,
		    strerror(-e));
		goto out;
	}
	fprintf(stderr, "Private key (%s) written to %s (mode 0600). Register "
	    "the public key below with \"signet service-account create\".\n",
	    alg, out);
	fwrite(qdata, 1, (size_t)qlen, stdout);
	r = 0;
 out:
	BIO_free(priv);		/* secure heap, cleared on free */
	BIO_free(pub);
	EVP_PKEY_free(key);
	return r;
}

/* Reads and sanity-checks a public key PEM file. */
static int
read_pubkey(struct cli *cli, const char *path, char **pem)
{
	size_t len = 0;
	EVP_PKEY *k = NULL;
	int e;

	*pem = NULL;
	if ((e = sn_read_file(path, PUBKEY_MAX, pem, &len)) != 0)
		return cli_failx(EXIT_REFUSED, cli->cmd, "%s: %s", path,
		    sn_strerror(e));
	if (strstr(*pem, "PRIVATE KEY") != NULL) {
		sn_freezero(*pem, len);
		*pem = NULL;
		return cli_failx(EXIT_USAGE, cli->cmd, "%s holds a PRIVATE key; "
		    "give the public key (printed by keygen)", path);
	}
	if (pem_read_pubkey(*pem, len, &k) != 0) {
		free(*pem);
		*pem = NULL;
		return cli_failx(EXIT_USAGE, cli->cmd, "%s is not a PEM public "
		    "key", path);
	}
	EVP_PKEY_free(k);
	return 0;
}

static void
print_sa(struct cli *cli, json_t *resp, const char *verb)
{
	json_t *s = json_object_get(resp, "service_account");

	if (cli->json) {
		cli_print_json(resp);
		return;
	}
	if (*js(s, "key_fingerprint") == '\0')	/* OIDC federation only */
		printf("%s service account %s (%s), team %s, no key (OIDC "
		    "federation only)\n", verb, js(s, "name"), js(s, "id"),
		    js2(s, "team", "name"));
	else
		printf("%s service account %s (%s), team %s, key %s sha256:%s\n",
		    verb, js(s, "name"), js(s, "id"), js2(s, "team", "name"),
		    js(s, "key_algorithm"), js(s, "key_fingerprint"));
}

static int
sa_create(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet service-account create NAME "
	    "--team TEAM (--public-key FILE | --oidc-only) [--json]";
	const char *team = NULL, *pubf = NULL, *pos[1];
	json_t *req = NULL, *resp = NULL;
	char *pem = NULL;
	int npos, r, oidc_only = 0;
	const struct cli_opt opts[] = {
		{ "team", 1, &team, NULL },
		{ "public-key", 1, &pubf, NULL },
		{ "oidc-only", 0, NULL, &oidc_only },
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "service-account create";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 1, 1,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if (team == NULL)
		return cli_usage_error(cli->cmd, "--team is required");
	/* --oidc-only: no key anywhere; the account signs in only through
	 * its OIDC federations (service-account federate, docs/CI.md). */
	if ((pubf != NULL) == (oidc_only != 0))
		return cli_usage_error(cli->cmd, "give one of --public-key or "
		    "--oidc-only");
	if (pubf != NULL && (r = read_pubkey(cli, pubf, &pem)) != 0)
		return r;
	if ((req = json_pack("{s:s, s:s}", "name", pos[0], "team",
	    team)) == NULL || (pem != NULL && json_object_set_new(req,
	    "public_key", json_string(pem)) != 0) || (oidc_only &&
	    json_object_set_new(req, "oidc_only", json_true()) != 0)) {
		json_decref(req);
		free(pem);
		return cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
	}
	free(pem);
	r = cli_call(cli, "POST", "/v1/serviceaccounts", req, &resp);
	json_decref(req);
	if (r != 0)
		return r;
	print_sa(cli, resp, "Created");
	json_decref(resp);
	return 0;
}

static void
sa_row(json_t *s, const char **c, char *buf, size_t len)
{
	(void)buf;
	(void)len;
	c[0] = js(s, "name");
	c[1] = js(s, "id");
	c[2] = js2(s, "team", "name");
	c[3] = js(s, "key_algorithm");
	c[4] = js(s, "key_fingerprint");
	c[5] = js(s, "rotated_at");
}

static int
sa_list(struct cli *cli, int argc, char **argv)
{
	static const char *const hdr[] = { "NAME", "ID", "TEAM", "KEY",
	    "FINGERPRINT (SHA-256)", "ROTATED" };
	static const struct cli_listing l = { "service-account list",
	    "signet service-account list [--json]", "/v1/serviceaccounts",
	    "service_accounts", NULL, NULL, 6, hdr, sa_row };

	return cli_list(cli, argc, argv, &l);
}

static int
sa_rotate(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet service-account rotate-key NAME "
	    "--public-key FILE [--json]";
	const char *pubf = NULL, *pos[1];
	json_t *req = NULL, *resp = NULL;
	char *pem = NULL;
	int npos, r;
	const struct cli_opt opts[] = {
		{ "public-key", 1, &pubf, NULL },
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "service-account rotate-key";
	if ((r = cli_parse(cli->cmd, usage, argc, argv, opts, pos, 1, 1,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if (pubf == NULL)
		return cli_usage_error(cli->cmd, "--public-key is required");
	if ((r = read_pubkey(cli, pubf, &pem)) != 0)
		return r;
	req = json_pack("{s:s}", "public_key", pem);
	free(pem);
	if (req == NULL)
		return cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
	r = cli_callp(cli, "POST", req, &resp,
	    "/v1/serviceaccounts/{}/rotate-key", pos[0]);
	json_decref(req);
	if (r != 0)
		return r;
	print_sa(cli, resp, "Rotated the key of");
	json_decref(resp);
	return 0;
}

static int
sa_delete(struct cli *cli, int argc, char **argv)
{
	return cli_named_op(cli, argc, argv, "service-account delete",
	    "signet service-account delete NAME [--json]", "DELETE",
	    "/v1/serviceaccounts/{}", "Deleted service account");
}

int
cmd_sa(struct cli *cli, int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{ "keygen", sa_keygen, "make a key pair on this machine (offline)" },
		{ "create", sa_create, "register an account with a public key" },
		{ "list", sa_list, "list service accounts" },
		{ "rotate-key", sa_rotate, "replace an account's public key" },
		{ "delete", sa_delete, "delete an account" },
		{ "federate", cmd_sa_federate, "trust a CI system's OIDC ID "
		    "tokens (claim rules)" },
		{ "federations", cmd_sa_federations, "list an account's "
		    "federations" },
		{ "unfederate", cmd_sa_unfederate, "remove a federation" },
		{ NULL, NULL, NULL },
	};

	return cli_dispatch(cli, "service-account", subs, argc, argv);
}
