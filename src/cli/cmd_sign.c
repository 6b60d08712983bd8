/*
 * cmd_sign.c - signet sign: hash a file locally, sign the digest remotely.
 *
 * Only the digest leaves this machine. The raw format is what
 * `openssl dgst -<hash> -verify pub.pem -signature SIG FILE` accepts (RSA
 * PKCS#1 v1.5, RSA-PSS with salt length = digest length, ECDSA DER); the
 * cms format is a detached CMS SignedData with signed attributes and the
 * certificate chain, built by sn_cms_sign_detached with the signature made
 * by signetd over the DER of the signed attributes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cli.h"
#include "err.h"
#include "pem.h"
#include "util.h"

/* Streams the file through the digest. 0 or SN_ERR_IO / SN_ERR_CRYPTO. */
static int
hash_file(const char *path, enum sn_hash hash, uint8_t *out, size_t *outlen)
{
	static uint8_t buf[64 * 1024];
	EVP_MD_CTX *ctx = NULL;
	unsigned int len = 0;
	ssize_t n;
	int fd, r = SN_ERR_CRYPTO;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return SN_ERR_IO;
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, sn_hash_md(hash), NULL) != 1)
		goto out;
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = SN_ERR_IO;
			goto out;
		}
		if (n == 0)
			break;
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
			goto out;
	}
	if (EVP_DigestFinal_ex(ctx, out, &len) != 1)
		goto out;
	*outlen = len;
	r = 0;
 out:
	EVP_MD_CTX_free(ctx);
	close(fd);
	return r;
}

struct remote {
	struct cli *cli;
	struct sn_client *client;
	const char *key_id;
	enum sn_mech mech;
};

/* sn_sign_digest_fn over signetd. */
static int
remote_sign(void *arg, enum sn_hash hash, const uint8_t *digest, size_t dlen,
    uint8_t **sig, size_t *siglen)
{
	struct remote *rm = arg;

	return sn_client_sign(rm->client, rm->key_id, rm->mech, hash, digest,
	    dlen, sig, siglen);
}

static X509 *
pem_to_x509(const char *pem)
{
	X509 *x = NULL;

	return pem_read_x509(pem, strlen(pem), &x) == 0 ? x : NULL;
}

/* sn_ts_query_fn over the tenant's TSA on the same server. */
struct ts_query {
	struct sn_client *client;
	char *path;			/* "/tsa/<tenant id>" */
};

static int
ts_query(void *arg, const uint8_t *q, size_t qlen, uint8_t **reply,
    size_t *replylen)
{
	struct ts_query *tq = arg;
	char *out = NULL;
	size_t len = 0;
	long status = 0;
	int r;

	*reply = NULL;
	*replylen = 0;
	if ((r = sn_client_post_public(tq->client, tq->path,
	    "application/timestamp-query", q, qlen, &out, &len, &status)) != 0)
		return r;
	*reply = (uint8_t *)out;
	*replylen = len;
	return 0;
}

/* Adds the tenant TSA's token to the CMS in *der; returns an exit code. */
static int
add_timestamp(struct cli *cli, struct remote *rm, uint8_t **der,
    size_t *derlen)
{
	struct ts_query tq = { rm->client, NULL };
	json_t *resp = NULL;
	uint8_t *out = NULL;
	size_t outlen = 0;
	char *tid = NULL;
	int r, err;

	if ((r = cli_call(cli, "GET", "/v1/tsa", NULL, &resp)) != 0)
		return r;
	if ((err = sn_client_escape(js2(resp, "tsa", "tenant_id"), &tid)) != 0 ||
	    asprintf(&tq.path, "/tsa/%s", tid) < 0) {
		tq.path = NULL;
		r = cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
		goto out;
	}
	if ((err = sn_cms_add_timestamp(*der, *derlen, ts_query, &tq, &out,
	    &outlen)) != 0) {
		if (err == SN_ERR_CRYPTO)
			r = cli_failx(EXIT_REFUSED, cli->cmd, "the TSA's reply "
			    "is not a timestamp of this signature");
		else
			r = cli_fail(cli, err, cli->cmd);
		goto out;
	}
	free(*der);
	*der = out;
	*derlen = outlen;
	out = NULL;
	r = 0;
 out:
	json_decref(resp);
	free(out);
	free(tid);
	free(tq.path);
	return r;
}

/* Builds the CMS, returns an exit code; out and outlen get the bytes. */
static int
make_cms(struct cli *cli, struct remote *rm, enum sn_hash hash,
    const uint8_t *digest, size_t dlen, int pem, int timestamp,
    uint8_t **out, size_t *outlen)
{
	json_t *resp = NULL, *c;
	X509 *signer = NULL;
	STACK_OF(X509) *chain = NULL;
	CMS_ContentInfo *cms = NULL;
	BIO *mem = NULL;
	const unsigned char *p;
	char *data;
	uint8_t *der = NULL;
	size_t derlen = 0, i;
	long mlen;
	int r, err;

	*out = NULL;
	*outlen = 0;
	if ((r = cli_callp(cli, "GET", NULL, &resp, "/v1/keys/{}/certificate",
	    rm->key_id)) != 0)
		return r;
	if ((signer = pem_to_x509(js(resp, "certificate"))) == NULL) {
		r = cli_failx(EXIT_REFUSED, cli->cmd, "the key has no "
		    "certificate; CMS signatures need one");
		goto out;
	}
	if ((chain = sk_X509_new_null()) == NULL)
		goto oom;
	json_array_foreach(json_object_get(resp, "chain"), i, c) {
		X509 *x;

		if (json_string_value(c) == NULL ||
		    (x = pem_to_x509(json_string_value(c))) == NULL) {
			r = cli_failx(EXIT_REFUSED, cli->cmd, "bad certificate "
			    "in the key's chain");
			goto out;
		}
		if (!sk_X509_push(chain, x)) {
			X509_free(x);
			goto oom;
		}
	}
	if ((err = sn_cms_sign_detached(signer, chain, hash, digest, dlen,
	    sn_now(), remote_sign, rm, &der, &derlen)) != 0) {
		r = cli_fail(cli, err, cli->cmd);
		goto out;
	}
	if (timestamp && (r = add_timestamp(cli, rm, &der, &derlen)) != 0)
		goto out;
	if (!pem) {
		*out = der;
		*outlen = derlen;
		der = NULL;
		r = 0;
		goto out;
	}
	p = der;
	if ((cms = d2i_CMS_ContentInfo(NULL, &p, (long)derlen)) == NULL ||
	    (mem = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_CMS_stream(mem, cms, NULL, 0) ||
	    (mlen = BIO_get_mem_data(mem, &data)) <= 0 ||
	    (*out = malloc((size_t)mlen)) == NULL)
		goto oom;
	memcpy(*out, data, (size_t)mlen);
	*outlen = (size_t)mlen;
	r = 0;
	goto out;
 oom:
	r = cli_failx(EXIT_REFUSED, cli->cmd, "cannot encode the CMS structure");
 out:
	json_decref(resp);
	X509_free(signer);
	sk_X509_pop_free(chain, X509_free);
	CMS_ContentInfo_free(cms);
	BIO_free(mem);
	free(der);
	return r;
}

int
cmd_sign(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet sign --key KEY --in FILE --out SIG "
	    "[--digest sha256|sha384|sha512] [--pss] [--format raw|cms] [--pem] "
	    "[--timestamp]";
	const char *key = NULL, *in = NULL, *outf = NULL, *dname = "sha256";
	const char *format = "raw", *pos[1], *alg;
	struct remote rm = { 0 };
	struct sn_client *c;
	enum sn_key_alg kalg;
	enum sn_hash hash;
	json_t *kresp = NULL;
	uint8_t digest[EVP_MAX_MD_SIZE], *sig = NULL;
	char *id = NULL;
	size_t dlen = 0, siglen = 0;
	int npos, r, err, pss = 0, pem = 0, cms, timestamp = 0;
	const struct cli_opt opts[] = {
		{ "key", 1, &key, NULL },
		{ "in", 1, &in, NULL },
		{ "out", 1, &outf, NULL },
		{ "digest", 1, &dname, NULL },
		{ "pss", 0, NULL, &pss },
		{ "format", 1, &format, NULL },
		{ "pem", 0, NULL, &pem },
		{ "timestamp", 0, NULL, &timestamp },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "sign";
	if ((r = cli_parse(cli->cmd, usage, argc - 1, argv + 1, opts, pos, 0, 0,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if (key == NULL || in == NULL || outf == NULL)
		return cli_usage_error(cli->cmd, "--key, --in and --out are "
		    "required");
	if ((hash = sn_hash_from_name(dname)) == SN_HASH_NONE)
		return cli_usage_error(cli->cmd, "unknown --digest \"%s\" "
		    "(sha256, sha384, sha512)", dname);
	if (strcmp(format, "raw") != 0 && strcmp(format, "cms") != 0)
		return cli_usage_error(cli->cmd, "--format must be raw or cms");
	cms = strcmp(format, "cms") == 0;
	if (pem && !cms)
		return cli_usage_error(cli->cmd, "--pem only applies to "
		    "--format cms");
	if (timestamp && !cms)
		return cli_usage_error(cli->cmd, "--timestamp only applies to "
		    "--format cms");
	if (pss && cms)
		return cli_usage_error(cli->cmd, "--pss is not supported with "
		    "--format cms");
	if (access(in, R_OK) != 0)
		return cli_failx(EXIT_REFUSED, cli->cmd, "%s: %s", in,
		    strerror(errno));

	if ((r = cli_resolve_key(cli, key, &id)) != 0)
		return r;
	if ((r = cli_callp(cli, "GET", NULL, &kresp, "/v1/keys/{}", id)) != 0)
		goto out;
	alg = js2(kresp, "key", "algorithm");
	if ((kalg = sn_key_alg_from_name(alg)) == SN_ALG_NONE) {
		r = cli_failx(EXIT_REFUSED, cli->cmd, "unknown key algorithm "
		    "\"%s\"", alg);
		goto out;
	}
	if (sn_key_alg_is_rsa(kalg))
		rm.mech = pss ? SN_MECH_RSA_PSS : SN_MECH_RSA_PKCS;
	else if (pss) {
		r = cli_usage_error(cli->cmd, "--pss needs an RSA key (%s is %s)",
		    key, alg);
		goto out;
	} else
		rm.mech = SN_MECH_ECDSA;

	if ((err = hash_file(in, hash, digest, &dlen)) != 0) {
		r = cli_failx(EXIT_REFUSED, cli->cmd, "cannot read %s: %s", in,
		    sn_strerror(err));
		goto out;
	}
	if ((r = cli_client(cli, &c)) != 0)
		goto out;
	rm.cli = cli;
	rm.client = c;
	rm.key_id = id;
	if (cms) {
		if ((r = make_cms(cli, &rm, hash, digest, dlen, pem,
		    timestamp, &sig,
		    &siglen)) != 0)
			goto out;
	} else if ((err = remote_sign(&rm, hash, digest, dlen, &sig,
	    &siglen)) != 0) {
		r = cli_fail(cli, err, cli->cmd);
		goto out;
	}
	if ((err = sn_write_file(outf, sig, siglen, 0644)) != 0) {
		r = cli_failx(EXIT_REFUSED, cli->cmd, "cannot write %s: %s",
		    outf, sn_strerror(err));
		goto out;
	}
	r = 0;
 out:
	json_decref(kresp);
	free(sig);
	free(id);
	return r;
}
