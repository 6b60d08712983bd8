/*
 * ca_mkchain.c - test helper: writes a root -> issuing -> code signing
 * hierarchy made by the CA code (software keys) into a directory, so that
 * codesign_tools.sh can hand it to real signing tools.
 *
 *   ca_mkchain DIR rsa|p256|p384
 *
 * Writes root.pem, issuing.pem, leaf.pem, chain.pem (leaf + issuing),
 * leaf.key (PKCS#8, unencrypted: a throw-away test key), crl.der and
 * tls.pem (a TLS server certificate for the same key: the negative control,
 * since its extendedKeyUsage does not allow code signing).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "ca.h"
#include "util.h"

static EVP_PKEY *
keygen(const char *alg)
{
	if (strcmp(alg, "rsa") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (strcmp(alg, "p256") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (strcmp(alg, "p384") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	return NULL;
}

static int
put(const char *dir, const char *name, const void *data, size_t len)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (sn_write_file(path, data, len, 0600) != 0) {
		fprintf(stderr, "ca_mkchain: cannot write %s\n", path);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	EVP_PKEY *rootk = NULL, *interk = NULL, *leafk = NULL;
	struct ca_signer rs, is;
	struct ca_revoked rev;
	char *root = NULL, *inter = NULL, *leaf = NULL, *serial = NULL;
	char *chain = NULL, *keypem = NULL, *tls = NULL;
	const char *dns[] = { "localhost", NULL };
	uint8_t *crl = NULL;
	size_t crllen = 0;
	BIO *b = NULL;
	char *p;
	long n;
	int64_t now = sn_now();
	int rc = 1;

	if (argc != 3 || (leafk = keygen(argv[2])) == NULL) {
		fprintf(stderr, "usage: ca_mkchain DIR rsa|p256|p384\n");
		return 2;
	}
	rootk = keygen("p384");
	interk = keygen("rsa");
	if (rootk == NULL || interk == NULL ||
	    ca_signer_from_pkey(rootk, &rs) != 0 ||
	    ca_signer_from_pkey(interk, &is) != 0 ||
	    ca_make_root(&rs, "CN=Signet Test Root, O=Signet, C=DE", now - 86400,
	    now + 3650 * 86400LL, &root) != 0 ||
	    ca_make_intermediate(&rs, root, interk,
	    "CN=Signet Test Issuing CA, O=Signet, C=DE", now - 86400,
	    now + 1825 * 86400LL, "http://127.0.0.1:1/crl.der", &inter) != 0 ||
	    ca_issue_codesign(&is, inter, leafk,
	    "CN=Release Signing, O=Acme\\, Inc., C=US", now - 3600,
	    now + 365 * 86400LL, "http://127.0.0.1:1/crl.der", &leaf, &serial) != 0) {
		fprintf(stderr, "ca_mkchain: building the hierarchy failed\n");
		goto out;
	}
	if (ca_issue_tls_server(&is, inter, leafk, dns, NULL, now - 3600,
	    now + 86400, &tls) != 0) {
		fprintf(stderr, "ca_mkchain: TLS certificate failed\n");
		goto out;
	}
	memset(&rev, 0, sizeof(rev));
	rev.serial_hex = "01";
	rev.revoked_at = now - 60;
	if (ca_make_crl(&is, inter, &rev, 1, 1, now - 60, now + 86400, &crl,
	    &crllen) != 0) {
		fprintf(stderr, "ca_mkchain: CRL failed\n");
		goto out;
	}
	if ((b = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_PrivateKey(b, leafk, NULL, NULL, 0, NULL, NULL) ||
	    (n = BIO_get_mem_data(b, &p)) <= 0 ||
	    (keypem = strndup(p, (size_t)n)) == NULL)
		goto out;
	if ((chain = malloc(strlen(leaf) + strlen(inter) + 1)) == NULL)
		goto out;
	memcpy(chain, leaf, strlen(leaf));
	memcpy(chain + strlen(leaf), inter, strlen(inter) + 1);
	if (put(argv[1], "root.pem", root, strlen(root)) != 0 ||
	    put(argv[1], "issuing.pem", inter, strlen(inter)) != 0 ||
	    put(argv[1], "leaf.pem", leaf, strlen(leaf)) != 0 ||
	    put(argv[1], "chain.pem", chain, strlen(chain)) != 0 ||
	    put(argv[1], "leaf.key", keypem, strlen(keypem)) != 0 ||
	    put(argv[1], "crl.der", crl, crllen) != 0 ||
	    put(argv[1], "tls.pem", tls, strlen(tls)) != 0)
		goto out;
	printf("%s\n", serial);
	rc = 0;
 out:
	BIO_free(b);
	sn_strfreezero(keypem);
	free(root);
	free(inter);
	free(leaf);
	free(serial);
	free(chain);
	free(tls);
	free(crl);
	EVP_PKEY_free(rootk);
	EVP_PKEY_free(interk);
	EVP_PKEY_free(leafk);
	return rc;
}
