/*
 * test_ca_hsm.c - the CA signing through the real keeper and a SoftHSM2
 * token, the way signetd does it: the CA keys never exist outside the HSM.
 *
 * This checks what the software-key tests cannot: that the keeper's RSA
 * (DigestInfo + CKM_RSA_PKCS) and ECDSA (CKM_ECDSA, DER) signatures are what
 * the CA expects, for every certificate type, CSRs and CRLs.
 * The test binary doubles as the keeper executable (argv[1] == "keeper").
 */
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca.h"
#include "err.h"
#include "keeper.h"
#include "util.h"

#define TOKEN "ca-test"
#define DAY 86400

static char tmpdir[64], hsm_dir[96], conf_path[160], pin_path[160];
static char self_exe[PATH_MAX];
static struct keeper *k;

struct hsm_key {
	uint8_t id[KEEPER_ID_LEN];
	EVP_PKEY *pub;
	struct ca_signer s;
};

static int
hsm_sign(void *arg, enum sn_hash hash, const uint8_t *digest, size_t dlen,
    uint8_t **sig, size_t *siglen)
{
	struct hsm_key *hk = arg;
	enum sn_mech mech = EVP_PKEY_get_base_id(hk->pub) == EVP_PKEY_RSA ?
	    SN_MECH_RSA_PKCS : SN_MECH_ECDSA;

	return keeper_sign(k, hk->id, mech, hash, digest, dlen, sig, siglen);
}

static void
hsm_key_new(struct hsm_key *hk, enum sn_key_alg alg, const char *label)
{
	uint8_t *spki = NULL;
	size_t len = 0;

	memset(hk, 0, sizeof(*hk));
	assert_int_equal(keeper_generate(k, alg, label, hk->id, &spki, &len), 0);
	assert_int_equal(ca_pubkey_from_spki(spki, len, &hk->pub), 0);
	free(spki);
	hk->s.pub = hk->pub;
	hk->s.sign_digest = hsm_sign;
	hk->s.arg = hk;
}

static void
hsm_key_free(struct hsm_key *hk)
{
	EVP_PKEY_free(hk->pub);
}

static int
group_setup(void **state)
{
	struct keeper_config cfg;
	ssize_t n;

	if ((n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1)) <= 0)
		return -1;
	self_exe[n] = '\0';
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/signet-ca-hsm-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(hsm_dir, sizeof(hsm_dir), "%s/hsm", tmpdir);
	snprintf(conf_path, sizeof(conf_path), "%s/softhsm2.conf", hsm_dir);
	snprintf(pin_path, sizeof(pin_path), "%s/pin", hsm_dir);
	if (keeper_init_softhsm_token(hsm_dir, SOFTHSM_MODULE, TOKEN) != 0)
		return -1;
	memset(&cfg, 0, sizeof(cfg));
	cfg.module_path = SOFTHSM_MODULE;
	cfg.token_label = TOKEN;
	cfg.pin_file = pin_path;
	cfg.softhsm_conf = conf_path;
	cfg.self_exe = self_exe;
	cfg.workers = 2;
	return keeper_start(&cfg, &k) == 0 ? 0 : -1;
}

static int
group_teardown(void **state)
{
	char cmd[128];

	keeper_free(k);
	k = NULL;
	if (strncmp(tmpdir, "/tmp/signet-ca-hsm-", 19) == 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	return 0;
}

static X509 *
pem_cert(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);

	BIO_free(b);
	assert_non_null(x);
	return x;
}

static void
write_file(const char *name, const void *data, size_t len)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	assert_int_equal(sn_write_file(path, data, len, 0600), 0);
}

static int
run(const char *cmd)
{
	int st = system(cmd);

	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Root, issuing CA and leaves for every key type, all keys in the HSM. */
static void
check_hsm_hierarchy(enum sn_key_alg root_alg, enum sn_key_alg inter_alg)
{
	static const enum sn_key_alg leaf_algs[] = { SN_ALG_RSA_2048,
	    SN_ALG_ECDSA_P256, SN_ALG_ECDSA_P384 };
	struct hsm_key root, inter, leaf;
	char *root_pem = NULL, *inter_pem = NULL, *leaf_pem = NULL, *serial = NULL;
	char *csr = NULL, *chain = NULL, cmd[512];
	const char *why = NULL;
	const char *dns[] = { "localhost", NULL }, *ips[] = { "::1", NULL };
	struct ca_revoked rev;
	uint8_t *crl = NULL;
	size_t crllen = 0;
	int64_t now = sn_now();
	X509 *x;

	hsm_key_new(&root, root_alg, "root");
	hsm_key_new(&inter, inter_alg, "issuing");
	assert_int_equal(ca_make_root(&root.s, "CN=HSM Root, O=Signet Test",
	    now - DAY, now + 3650 * DAY, &root_pem), 0);
	assert_int_equal(ca_make_intermediate(&root.s, root_pem, inter.pub,
	    "CN=HSM Issuing, O=Signet Test", now - DAY, now + 1000 * DAY,
	    "http://127.0.0.1/crl", &inter_pem), 0);
	write_file("root.pem", root_pem, strlen(root_pem));
	write_file("issuing.pem", inter_pem, strlen(inter_pem));

	for (size_t i = 0; i < sizeof(leaf_algs) / sizeof(leaf_algs[0]); i++) {
		hsm_key_new(&leaf, leaf_algs[i], "leaf");
		assert_int_equal(ca_issue_codesign(&inter.s, inter_pem, leaf.pub,
		    "CN=HSM Leaf, O=Signet Test", now - 60, now + 90 * DAY,
		    "http://127.0.0.1/crl", &leaf_pem, &serial), 0);
		x = pem_cert(leaf_pem);
		assert_int_equal(X509_verify(x, inter.pub), 1);
		assert_int_equal(X509_get_extended_key_usage(x), XKU_CODE_SIGN);
		X509_free(x);
		write_file("leaf.pem", leaf_pem, strlen(leaf_pem));
		snprintf(cmd, sizeof(cmd), "openssl verify -x509_strict -CAfile "
		    "%s/root.pem -untrusted %s/issuing.pem %s/leaf.pem >/dev/null",
		    tmpdir, tmpdir, tmpdir);
		assert_int_equal(run(cmd), 0);
		chain = malloc(strlen(leaf_pem) + strlen(inter_pem) + 1);
		assert_non_null(chain);
		memcpy(chain, leaf_pem, strlen(leaf_pem));
		memcpy(chain + strlen(leaf_pem), inter_pem, strlen(inter_pem) + 1);
		assert_int_equal(ca_check_chain(leaf.pub, chain, &why), 0);
		free(chain);

		/* the key's own CSR, signed in the HSM by the key itself */
		assert_int_equal(ca_make_csr(&leaf.s, "CN=HSM Leaf, C=DE", &csr), 0);
		{
			BIO *b = BIO_new_mem_buf(csr, -1);
			X509_REQ *req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);

			assert_non_null(req);
			assert_int_equal(X509_REQ_verify(req, leaf.pub), 1);
			X509_REQ_free(req);
			BIO_free(b);
		}
		free(csr);
		csr = NULL;

		memset(&rev, 0, sizeof(rev));
		rev.serial_hex = serial;
		rev.revoked_at = now;
		assert_int_equal(ca_make_crl(&inter.s, inter_pem, &rev, 1, 3, now,
		    now + DAY, &crl, &crllen), 0);
		{
			const uint8_t *p = crl;
			X509_CRL *c = d2i_X509_CRL(NULL, &p, (long)crllen);

			assert_non_null(c);
			assert_int_equal(X509_CRL_verify(c, inter.pub), 1);
			X509_CRL_free(c);
		}
		free(crl);
		crl = NULL;

		free(leaf_pem);
		free(serial);
		leaf_pem = serial = NULL;

		/* a TLS certificate from the HSM-held root as well */
		assert_int_equal(ca_issue_tls_server(&root.s, root_pem, leaf.pub,
		    dns, ips, now, now + DAY, &leaf_pem), 0);
		x = pem_cert(leaf_pem);
		assert_int_equal(X509_verify(x, root.pub), 1);
		assert_int_equal(X509_check_ip_asc(x, "::1", 0), 1);
		X509_free(x);
		free(leaf_pem);
		leaf_pem = NULL;
		assert_int_equal(keeper_destroy(k, leaf.id), 0);
		hsm_key_free(&leaf);
	}
	free(root_pem);
	free(inter_pem);
	hsm_key_free(&root);
	hsm_key_free(&inter);
}

static void
test_hsm_ec_root_rsa_issuing(void **state)
{
	check_hsm_hierarchy(SN_ALG_ECDSA_P384, SN_ALG_RSA_2048);
}

static void
test_hsm_rsa_root_ec_issuing(void **state)
{
	check_hsm_hierarchy(SN_ALG_RSA_2048, SN_ALG_ECDSA_P256);
}

/* A destroyed HSM key: the keeper's error reaches the caller, no output. */
static void
test_hsm_key_gone(void **state)
{
	struct hsm_key root;
	char *pem = (char *)1;
	int64_t now = sn_now();

	hsm_key_new(&root, SN_ALG_ECDSA_P256, "gone");
	assert_int_equal(keeper_destroy(k, root.id), 0);
	assert_int_equal(ca_make_root(&root.s, "CN=Gone", now, now + DAY, &pem),
	    SN_ERR_NOT_FOUND);
	assert_null(pem);
	hsm_key_free(&root);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hsm_ec_root_rsa_issuing),
		cmocka_unit_test(test_hsm_rsa_root_ec_issuing),
		cmocka_unit_test(test_hsm_key_gone),
	};

	if (argc > 1 && strcmp(argv[1], "keeper") == 0)
		return keeper_process_main(argc, argv);
	alarm(170);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
