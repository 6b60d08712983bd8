/*
 * cmd_sign.c - signet sign: hash files locally, sign the digests remotely:
 * one file (--in FILE --out SIG, or standard input / output with "-"), or
 * many (several --in, --in DIR [--recursive] [--include GLOB]) hashed in
 * parallel (sign_files.c) and sent in batch requests, each signature
 * written beside its file or under --out-dir.
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cli.h"
#include "err.h"
#include "pem.h"
#include "sign_files.h"
#include "util.h"

struct remote {
	struct cli *cli;
	struct sn_client *client;
	const char *key_id;
	enum sn_mech mech;
	int64_t wait_until;	/* --wait: until when (0 = do not wait) */
	char why[640];		/* a denied or expired approval, for the user */
};

/*
 * --wait: the key's policy wants approvals and the server answered with a
 * pending approval (err SN_ERR_FORBIDDEN, its id from the client): wait
 * for its decision (long-polls, no busy loop) until rm->wait_until.
 * Returns 0 when approved (sign again: the same request now signs, or
 * replays the answer it already got), or the error, with rm->why set for
 * a denied, expired or still pending one.
 */
static int
await_approval(struct remote *rm, int err)
{
	const char *aid = sn_client_last_approval();
	char id[80];

	if (err != SN_ERR_FORBIDDEN || rm->wait_until == 0 || aid == NULL ||
	    strlen(aid) >= sizeof(id))
		return err;
	memcpy(id, aid, strlen(aid) + 1);
	err = sn_client_await_approval(rm->client, id, rm->wait_until,
	    rm->why, sizeof(rm->why));
	cli_sanitize(rm->why);
	return err;
}

/* sn_sign_digest_fn over signetd. */
static int
remote_sign(void *arg, enum sn_hash hash, const uint8_t *digest, size_t dlen,
    uint8_t **sig, size_t *siglen)
{
	struct remote *rm = arg;
	int err;

	do
		err = sn_client_sign(rm->client, rm->key_id, rm->mech, hash,
		    digest, dlen, sig, siglen);
	while (err != 0 && (err = await_approval(rm, err)) == 0);
	return err;
}

/* A failed signature: the approval's fate if that was it. */
static int
sign_fail(struct cli *cli, struct remote *rm, int err)
{
	if (rm->why[0] != '\0')
		return cli_failx(EXIT_REFUSED, cli->cmd, "%s", rm->why);
	return cli_fail(cli, err, cli->cmd);
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
		r = sign_fail(cli, rm, err);
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

/* An existing output is kept unless --force (checked before signing). */
static int
check_outputs(struct cli *cli, const struct sign_files *f, int force)
{
	struct stat sb;

	if (force)
		return 0;
	for (size_t i = 0; i < f->n; i++) {
		if (strcmp(f->items[i].out, "-") != 0 &&
		    lstat(f->items[i].out, &sb) == 0)
			return cli_failx(EXIT_REFUSED, cli->cmd, "%s exists "
			    "(--force replaces it)", f->items[i].out);
	}
	return 0;
}

/* mkdir -p of the directory part of path (for --out-dir trees). */
static int
make_parents(const char *path)
{
	char buf[4096], *p;

	if (strlen(path) >= sizeof(buf))
		return ENAMETOOLONG;
	memcpy(buf, path, strlen(path) + 1);
	for (p = buf + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return errno;
		*p = '/';
	}
	return 0;
}

static int
write_sig(struct cli *cli, const char *out, const uint8_t *sig, size_t len,
    int many)
{
	int e;

	if (strcmp(out, "-") == 0) {
		if (fwrite(sig, 1, len, stdout) != len)
			return cli_failx(EXIT_REFUSED, cli->cmd, "cannot write "
			    "to standard output: %s", strerror(errno));
		return 0;
	}
	if ((e = make_parents(out)) != 0)
		return cli_failx(EXIT_REFUSED, cli->cmd, "cannot create the "
		    "directory of %s: %s", out, strerror(e));
	errno = 0;
	/* Many files: one sync() at the end instead of an fsync each. */
	if ((many ? sn_write_file_nosync(out, sig, len, 0644) :
	    sn_write_file(out, sig, len, 0644)) != 0)
		return cli_failx(EXIT_REFUSED, cli->cmd, "cannot write %s: %s",
		    out, errno != 0 ? strerror(errno) : "I/O error");
	return 0;
}

static double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The progress line: on a terminal only, rewritten in place. */
static void
progress(int on, size_t done, size_t total, double t0)
{
	double el = mono_now() - t0, rate = el > 0 ? (double)done / el : 0;

	if (!on)
		return;
	fprintf(stderr, "\rsigned %zu/%zu files, %.0f files/s, %.0f s left  ",
	    done, total, rate, rate > 0 ? (double)(total - done) / rate : 0);
	if (done == total)
		fputc('\n', stderr);
}

/*
 * Raw signatures in batch requests (up to SN_CLIENT_BATCH_MAX digests
 * each; a service configured with a smaller max_batch answers 413 and the
 * batch is halved), each written as soon as its batch returns.
 */
static int
sign_raw_batches(struct cli *cli, struct remote *rm, struct sign_files *f,
    enum sn_hash hash, int show, double t0)
{
	const uint8_t *dg[SN_CLIENT_BATCH_MAX];
	uint8_t *sigs[SN_CLIENT_BATCH_MAX];
	size_t lens[SN_CLIENT_BATCH_MAX], batch = SN_CLIENT_BATCH_MAX, i = 0;
	size_t k, n;
	int err, r;

	while (i < f->n) {
		n = f->n - i < batch ? f->n - i : batch;
		for (k = 0; k < n; k++)
			dg[k] = f->items[i + k].digest;
		if (n == 1)
			err = remote_sign(rm, hash, dg[0], f->items[i].dlen,
			    &sigs[0], &lens[0]);
		else if ((err = sn_client_sign_batch(rm->client, rm->key_id,
		    rm->mech, hash, dg, n, sigs, lens)) != 0 &&
		    (err = await_approval(rm, err)) == 0)
			continue;	/* approved: the same batch again */
		if (err == SN_ERR_TOO_LARGE && batch > 1) {
			batch /= 2;
			continue;
		}
		if (err != 0)
			return sign_fail(cli, rm, err);
		for (r = 0, k = 0; k < n; k++) {
			if (r == 0)
				r = write_sig(cli, f->items[i + k].out, sigs[k],
				    lens[k], f->n > 1);
			free(sigs[k]);
		}
		if (r != 0)
			return r;
		i += n;
		progress(show, i, f->n, t0);
	}
	return 0;
}

/* --json: what was signed, where the signatures are. */
static int
print_summary(struct cli *cli, const char *key, const struct sign_files *f,
    double secs)
{
	json_t *o, *files = json_array();

	for (size_t i = 0; files != NULL && i < f->n; i++)
		json_array_append_new(files, json_pack("{s:s, s:s}", "file",
		    f->items[i].path, "signature", f->items[i].out));
	if ((o = json_pack("{s:s, s:I, s:f, s:o*}", "key", key, "signed",
	    (json_int_t)f->n, "seconds", secs, "files", files)) == NULL)
		return cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
	cli_print_json(o);
	json_decref(o);
	return 0;
}

int
cmd_sign(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "signet sign --key KEY --in FILE|DIR|- "
	    "[--in ...] [--out SIG|- | --out-dir DIR] [--recursive] "
	    "[--include GLOB] [--digest sha256|sha384|sha512] [--pss] "
	    "[--format raw|cms] [--pem] [--timestamp] [--force] [--jobs N] "
	    "[--wait DURATION] [--json]";
	const char *key = NULL, *outf = NULL, *dname = "sha256", *outdir = NULL;
	const char *format = "raw", *pos[1], *alg, *include = NULL;
	const char *jobs_s = NULL, *wait_s = NULL, *ins[CLI_MULTI_MAX];
	int nin = 0;
	struct sign_files f = { 0 };
	struct remote rm = { 0 };
	struct sn_client *c;
	enum sn_key_alg kalg;
	enum sn_hash hash;
	json_t *kresp = NULL;
	uint8_t *sig = NULL;
	char *id = NULL, why[4200];
	size_t siglen = 0, i, failed;
	long long jobs;
	double t0;
	int npos, r, pss = 0, pem = 0, cms, force = 0, recursive = 0, show;
	int timestamp = 0;
	const struct cli_opt opts[] = {
		{ "key", 1, &key, NULL },
		{ "in", CLI_MULTI, ins, &nin },
		{ "out", 1, &outf, NULL },
		{ "out-dir", 1, &outdir, NULL },
		{ "recursive", 0, NULL, &recursive },
		{ "include", 1, &include, NULL },
		{ "digest", 1, &dname, NULL },
		{ "pss", 0, NULL, &pss },
		{ "format", 1, &format, NULL },
		{ "pem", 0, NULL, &pem },
		{ "timestamp", 0, NULL, &timestamp },
		{ "force", 0, NULL, &force },
		{ "jobs", 1, &jobs_s, NULL },
		{ "wait", 1, &wait_s, NULL },
		{ "json", 0, NULL, &cli->json },
		{ NULL, 0, NULL, NULL },
	};

	cli->cmd = "sign";
	if ((r = cli_parse(cli->cmd, usage, argc - 1, argv + 1, opts, pos, 0, 0,
	    &npos)) != 0)
		return r == CLI_HELP ? 0 : r;
	if (key == NULL || (size_t)nin == 0)
		return cli_usage_error(cli->cmd, "--key and --in are required");
	if (wait_s != NULL) {
		int64_t secs = 0;

		if (sn_parse_duration(wait_s, &secs) != 0 || secs < 1 ||
		    secs > 7 * 86400)
			return cli_usage_error(cli->cmd, "bad --wait \"%s\" (a "
			    "duration up to 7d: 90s, 30m, 2h)", wait_s);
		rm.wait_until = sn_now() + secs;
	}
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
	if (outf != NULL && nin > 1)
		return cli_usage_error(cli->cmd, "--out names one signature: "
		    "for several files use --out-dir, or none (each signature "
		    "beside its file)");
	if (outf != NULL && outdir != NULL)
		return cli_usage_error(cli->cmd, "--out and --out-dir do not go "
		    "together");
	jobs = sysconf(_SC_NPROCESSORS_ONLN);
	if (jobs < 1)
		jobs = 1;
	if (jobs_s != NULL && sn_parse_int(jobs_s, 1, 64, &jobs) != 0)
		return cli_usage_error(cli->cmd, "--jobs must be 1 to 64");
	for (i = 0; i < (size_t)nin; i++) {
		if (strcmp(ins[i], "-") == 0 && ((size_t)nin > 1 || outf == NULL))
			return cli_usage_error(cli->cmd, "--in - (standard "
			    "input) needs --out and no other --in");
		if ((r = sign_files_add(&f, ins[i], recursive, include, outdir,
		    cms ? ".p7s" : ".sig", why, sizeof(why))) != 0) {
			r = cli_failx(EXIT_REFUSED, cli->cmd, "%s", why);
			goto out;
		}
	}
	if (f.n == 0) {
		r = cli_failx(EXIT_REFUSED, cli->cmd, "no files to sign%s",
		    include != NULL ? " (none matches --include)" : "");
		goto out;
	}
	if (outf != NULL) {
		if (f.n > 1 || strcmp(ins[0], f.items[0].path) != 0) {
			r = cli_usage_error(cli->cmd, "--out names one "
			    "signature: for several files use --out-dir, or "
			    "none (each signature beside its file)");
			goto out;
		}
		free(f.items[0].out);
		if ((f.items[0].out = strdup(outf)) == NULL) {
			r = cli_failx(EXIT_REFUSED, cli->cmd, "out of memory");
			goto out;
		}
	}
	if ((r = check_outputs(cli, &f, force)) != 0)
		goto out;

	if ((r = cli_resolve_key(cli, key, &id)) != 0)
		goto out;
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

	/* Every file is read before anything is signed. */
	t0 = mono_now();
	if ((failed = sign_files_hash(&f, hash, (int)jobs)) != 0) {
		for (i = 0; i < f.n && f.items[i].err == 0; i++)
			;
		r = cli_failx(EXIT_REFUSED, cli->cmd, "cannot read %s: %s%s",
		    strcmp(f.items[i].path, "-") == 0 ? "standard input" :
		    f.items[i].path, strerror(f.items[i].err), failed > 1 ?
		    " (and others; nothing was signed)" : "");
		goto out;
	}
	if ((r = cli_client(cli, &c)) != 0)
		goto out;
	rm.cli = cli;
	rm.client = c;
	rm.key_id = id;
	show = f.n > 1 && !cli->json && isatty(STDERR_FILENO);
	if (!cms) {
		if ((r = sign_raw_batches(cli, &rm, &f, hash, show, t0)) != 0)
			goto out;
	} else {
		for (i = 0; i < f.n; i++) {
			if ((r = make_cms(cli, &rm, hash, f.items[i].digest,
			    f.items[i].dlen, pem, timestamp, &sig,
			    &siglen)) != 0 ||
			    (r = write_sig(cli, f.items[i].out, sig,
			    siglen, f.n > 1)) != 0)
				goto out;
			free(sig);
			sig = NULL;
			progress(show, i + 1, f.n, t0);
		}
	}
	/* The signatures written without fsync reach the disk now. */
	if (f.n > 1)
		sync();
	r = cli->json ? print_summary(cli, key, &f, mono_now() - t0) : 0;
 out:
	json_decref(kresp);
	sign_files_free(&f);
	free(sig);
	free(id);
	return r;
}
