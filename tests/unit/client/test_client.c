/*
 * test_client.c - unit tests of the client library and the CLI's argument
 * parser: config parsing and file permissions, JWT assertions (decoded and
 * verified here with OpenSSL), detached CMS built over a software signing
 * callback (verified with CMS_verify), URL escaping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "cli.h"
#include "client.h"
#include "encode.h"
#include "err.h"
#include "util.h"

static char tmpdir[] = "/tmp/signet-client-test.XXXXXX";

/* ---- config ------------------------------------------------------------ */

static void
test_config_parse_ok(void **state)
{
	struct sn_client_config c = { 0 };
	char why[256] = "";
	const char *text =
	    "# comment\n"
	    "\n"
	    "url = https://signet.example:8443\n"
	    "  api_key=snk_0123456789abcdef_secret  \n"
	    "ca_file = /etc/signet/ca.pem\r\n"
	    "service_account = builder\n"
	    "service_account_id = sac_1\n"
	    "key_file = /k.pem\n"
	    "listing_cache_ttl = 30s\n"
	    "log_file = /tmp/log";

	(void)state;
	assert_int_equal(sn_config_parse(text, &c, why, sizeof(why)), 0);
	assert_string_equal(c.url, "https://signet.example:8443");
	assert_string_equal(c.api_key, "snk_0123456789abcdef_secret");
	assert_string_equal(c.ca_file, "/etc/signet/ca.pem");
	assert_string_equal(c.sa_name, "builder");
	assert_string_equal(c.sa_id, "sac_1");
	assert_string_equal(c.sa_key_file, "/k.pem");
	assert_string_equal(c.log_file, "/tmp/log");
	assert_string_equal(c.listing_cache_ttl, "30s");
	sn_config_clear(&c);
	assert_null(c.url);
	assert_null(c.listing_cache_ttl);
	assert_int_equal(sn_config_parse("listing_cache_ttl = 0\n", &c, why,
	    sizeof(why)), 0);
	assert_string_equal(c.listing_cache_ttl, "0");
	sn_config_clear(&c);
	assert_int_equal(sn_config_parse("listing_cache_ttl = 1h\n", &c, why,
	    sizeof(why)), 0);
	sn_config_clear(&c);
	assert_int_equal(sn_config_parse("listing_cache = off\n", &c, why,
	    sizeof(why)), 0);
	assert_string_equal(c.listing_cache, "off");
	sn_config_clear(&c);
	assert_null(c.listing_cache);
	assert_int_equal(sn_config_parse("listing_cache = on\n", &c, why,
	    sizeof(why)), 0);
	assert_string_equal(c.listing_cache, "on");
	sn_config_clear(&c);
}

static void
test_config_parse_garbage(void **state)
{
	static const char *bad[] = {
		"url https://x\n",		/* no '=' */
		"url =\n",			/* empty value */
		"= x\n",			/* empty key */
		"colour = blue\n",		/* unknown key */
		"url = https://x\ngarbage\n",	/* garbage on line 2 */
		"listing_cache_ttl = abc\n",	/* not a duration */
		"listing_cache_ttl = -5s\n",
		"listing_cache_ttl = 61m\n",	/* over 1h */
		"listing_cache_ttl = 10x\n",
		"listing_cache_ttl = 99999999999999999999s\n",
		"listing_cache = yes\n",	/* on or off only */
		"listing_cache = ON\n",
		"listing_cache = 0\n",
		"listing_cache = off x\n",
	};
	struct sn_client_config c = { 0 };
	char why[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		assert_int_equal(sn_config_parse(bad[i], &c, why, sizeof(why)),
		    SN_ERR_INVALID);
		assert_true(strncmp(why, "line ", 5) == 0);
		sn_config_clear(&c);
	}
	/* The line number is right. */
	assert_int_equal(sn_config_parse("url = https://x\n#\nnope\n", &c, why,
	    sizeof(why)), SN_ERR_INVALID);
	assert_non_null(strstr(why, "line 3"));
	sn_config_clear(&c);
	/* An over-long line is refused, not truncated. */
	{
		char *big = malloc(10000);

		assert_non_null(big);
		memcpy(big, "url = ", 6);
		memset(big + 6, 'a', 9000);
		big[9006] = '\0';
		assert_int_equal(sn_config_parse(big, &c, why, sizeof(why)),
		    SN_ERR_INVALID);
		free(big);
		sn_config_clear(&c);
	}
}

static void
test_config_file_permissions(void **state)
{
	struct sn_client_config c = { 0 }, d = { 0 };
	char path[600], dir[512], why[512];
	struct stat st;
	FILE *f;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/a/b", tmpdir);
	snprintf(path, sizeof(path), "%s/config", dir);
	c.url = strdup("https://h:1");
	c.api_key = strdup("snk_secret");
	c.listing_cache_ttl = strdup("2m");
	c.listing_cache = strdup("off");
	assert_int_equal(sn_config_save_path(&c, path), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	/* Round trip. */
	assert_int_equal(sn_config_load_file(path, &d, why, sizeof(why)), 0);
	assert_string_equal(d.url, "https://h:1");
	assert_string_equal(d.api_key, "snk_secret");
	assert_string_equal(d.listing_cache_ttl, "2m");
	assert_string_equal(d.listing_cache, "off");
	sn_config_clear(&d);
	/* Readable by others: refused. */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(sn_config_load_file(path, &d, why, sizeof(why)),
	    SN_ERR_INVALID);
	assert_non_null(strstr(why, "too open"));
	sn_config_clear(&d);
	assert_int_equal(chmod(path, 0620), 0);
	assert_int_equal(sn_config_load_file(path, &d, why, sizeof(why)),
	    SN_ERR_INVALID);
	sn_config_clear(&d);
	/* Saving again restores 0600 (atomic replace). */
	assert_int_equal(sn_config_save_path(&c, path), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* Missing file: fine, nothing set. */
	snprintf(path, sizeof(path), "%s/nope", tmpdir);
	assert_int_equal(sn_config_load_file(path, &d, why, sizeof(why)), 0);
	assert_null(d.url);
	/* Garbage in a file names the file and the line. */
	snprintf(path, sizeof(path), "%s/garbage", tmpdir);
	assert_non_null(f = fopen(path, "w"));
	fputs("url = https://x\nthis is not a setting\n", f);
	fclose(f);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(sn_config_load_file(path, &d, why, sizeof(why)),
	    SN_ERR_INVALID);
	assert_non_null(strstr(why, "line 2"));
	assert_non_null(strstr(why, path));
	sn_config_clear(&d);
	/* A value with a newline cannot be written (it would inject keys). */
	free(c.url);
	c.url = strdup("https://h\napi_key = x");
	assert_int_equal(sn_config_save_path(&c, path), SN_ERR_INVALID);
	sn_config_clear(&c);
}

static void
test_config_env_overrides(void **state)
{
	struct sn_client_config c = { 0 }, d = { 0 };
	char path[512];

	(void)state;
	snprintf(path, sizeof(path), "%s/envcfg", tmpdir);
	c.url = strdup("https://file:1");
	c.sa_name = strdup("builder");
	c.sa_key_file = strdup("/k.pem");
	assert_int_equal(sn_config_save_path(&c, path), 0);
	setenv("SIGNET_CONFIG", path, 1);
	unsetenv("SIGNET_URL");
	unsetenv("SIGNET_API_KEY");
	unsetenv("SIGNET_CA_FILE");
	assert_int_equal(sn_config_load(&d), 0);
	assert_string_equal(d.url, "https://file:1");
	assert_string_equal(d.sa_name, "builder");
	assert_null(d.api_key);
	sn_config_clear(&d);
	setenv("SIGNET_URL", "https://env:2", 1);
	setenv("SIGNET_API_KEY", "snk_env", 1);
	setenv("SIGNET_CA_FILE", "/env/ca.pem", 1);
	assert_int_equal(sn_config_load(&d), 0);
	assert_string_equal(d.url, "https://env:2");
	assert_string_equal(d.api_key, "snk_env");
	assert_string_equal(d.ca_file, "/env/ca.pem");
	/* An API key from the environment wins over the stored account. */
	assert_null(d.sa_name);
	sn_config_clear(&d);
	unsetenv("SIGNET_URL");
	unsetenv("SIGNET_API_KEY");
	unsetenv("SIGNET_CA_FILE");
	unsetenv("SIGNET_CONFIG");
	sn_config_clear(&c);
}

/* ---- argument parsing -------------------------------------------------- */

static void
test_args(void **state)
{
	const char *role = NULL, *pos[2];
	int json = 0, npos = 0;
	const struct cli_opt opts[] = {
		{ "role", 1, &role, NULL },
		{ "json", 0, NULL, &json },
		{ NULL, 0, NULL, NULL },
	};
	char *a1[] = { "alice@x", "--role", "admin", "--json" };
	char *a2[] = { "--role=user", "bob@x" };
	char *a3[] = { "--colour", "red", "x" };
	char *a4[] = { "x", "--role" };
	char *a5[] = { "x", "y", "z" };
	char *a6[] = { "--", "--json" };
	char *a7[] = { "--json=1", "x" };
	char *a8[] = { "-r", "x" };
	char *a9[] = { "x", "--help" };

	(void)state;
	assert_int_equal(cli_parse("t", "u", 4, a1, opts, pos, 1, 1, &npos), 0);
	assert_int_equal(npos, 1);
	assert_string_equal(pos[0], "alice@x");
	assert_string_equal(role, "admin");
	assert_int_equal(json, 1);
	role = NULL;
	json = 0;
	assert_int_equal(cli_parse("t", "u", 2, a2, opts, pos, 1, 1, &npos), 0);
	assert_string_equal(role, "user");
	assert_string_equal(pos[0], "bob@x");
	assert_int_equal(cli_parse("t", "u", 3, a3, opts, pos, 1, 1, &npos),
	    EXIT_USAGE);
	assert_int_equal(cli_parse("t", "u", 2, a4, opts, pos, 1, 1, &npos),
	    EXIT_USAGE);
	assert_int_equal(cli_parse("t", "u", 3, a5, opts, pos, 1, 2, &npos),
	    EXIT_USAGE);
	assert_int_equal(cli_parse("t", "u", 0, a5, opts, pos, 1, 2, &npos),
	    EXIT_USAGE);
	assert_int_equal(cli_parse("t", "u", 2, a6, opts, pos, 1, 1, &npos), 0);
	assert_string_equal(pos[0], "--json");
	assert_int_equal(json, 0);
	assert_int_equal(cli_parse("t", "u", 2, a7, opts, pos, 1, 1, &npos),
	    EXIT_USAGE);
	assert_int_equal(cli_parse("t", "u", 2, a8, opts, pos, 1, 1, &npos),
	    EXIT_USAGE);
	assert_int_equal(cli_parse("t", "u", 2, a9, opts, pos, 1, 1, &npos),
	    CLI_HELP);
	/* No options declared at all. */
	assert_int_equal(cli_parse("t", "u", 2, a2, NULL, pos, 0, 2, &npos),
	    EXIT_USAGE);
}

static void
test_escape(void **state)
{
	char *e = NULL;

	(void)state;
	assert_int_equal(sn_client_escape("a b/c?d=e&f%g+h~i_j.k-l@m", &e), 0);
	assert_string_equal(e, "a%20b%2Fc%3Fd%3De%26f%25g%2Bh~i_j.k-l%40m");
	free(e);
	assert_int_equal(sn_client_escape("", &e), 0);
	assert_string_equal(e, "");
	free(e);
}

static void
test_exit_codes(void **state)
{
	(void)state;
	assert_int_equal(cli_exit_code(0), 0);
	assert_int_equal(cli_exit_code(SN_ERR_NETWORK), EXIT_NETWORK);
	assert_int_equal(cli_exit_code(SN_ERR_TLS), EXIT_NETWORK);
	assert_int_equal(cli_exit_code(SN_ERR_FORBIDDEN), EXIT_REFUSED);
	assert_int_equal(cli_exit_code(SN_ERR_NOT_FOUND), EXIT_REFUSED);
	assert_int_equal(cli_exit_code(SN_ERR_UNAUTHENTICATED), EXIT_REFUSED);
}

static void
test_client_new_rejects_http(void **state)
{
	struct sn_client_config c = { 0 };
	struct sn_client *cl = NULL;

	(void)state;
	c.url = "http://insecure:80";
	assert_int_equal(sn_client_new(&c, &cl), SN_ERR_INVALID);
	assert_null(cl);
	c.url = NULL;
	assert_int_equal(sn_client_new(&c, &cl), SN_ERR_INVALID);
	c.url = "https://127.0.0.1:1/";
	c.api_key = "snk_x";
	assert_int_equal(sn_client_new(&c, &cl), 0);
	/* Nothing listens on port 1: a network error, exit code 3. */
	{
		json_t *resp = NULL;
		int r = sn_client_json(cl, "GET", "/v1/me", NULL, NULL, &resp);

		assert_int_equal(r, SN_ERR_NETWORK);
		assert_null(resp);
		assert_true(strlen(sn_client_errmsg(cl)) > 0);
		/* The secret never appears in an error message. */
		assert_null(strstr(sn_client_errmsg(cl), "snk_x"));
	}
	sn_client_free(cl);
	sn_client_free(NULL);
}

/* ---- JWT --------------------------------------------------------------- */

static json_t *
decode_part(const char *s, size_t len)
{
	uint8_t *raw = NULL;
	size_t rlen = 0;
	json_t *j;

	if (sn_b64url_decode(s, len, &raw, &rlen) != 0)
		return NULL;
	j = json_loadb((const char *)raw, rlen, 0, NULL);
	free(raw);
	return j;
}

static void
check_jwt(EVP_PKEY *key, const char *alg, size_t coord)
{
	char *jwt = NULL;
	const char *d1, *d2;
	json_t *h, *c;
	uint8_t *sig = NULL, *der = NULL;
	size_t siglen = 0;
	const EVP_MD *md;
	EVP_MD_CTX *ctx;
	int derlen;

	assert_int_equal(sn_jwt_build(key, "sac_123", "https://h/v1/oauth/token",
	    1700000000, &jwt), 0);
	assert_non_null(d1 = strchr(jwt, '.'));
	assert_non_null(d2 = strchr(d1 + 1, '.'));
	assert_null(strchr(d2 + 1, '.'));
	assert_non_null(h = decode_part(jwt, (size_t)(d1 - jwt)));
	assert_string_equal(js(h, "alg"), alg);
	assert_string_equal(js(h, "typ"), "JWT");
	assert_non_null(c = decode_part(d1 + 1, (size_t)(d2 - d1 - 1)));
	assert_string_equal(js(c, "iss"), "sac_123");
	assert_string_equal(js(c, "sub"), "sac_123");
	assert_string_equal(js(c, "aud"), "https://h/v1/oauth/token");
	assert_int_equal(json_integer_value(json_object_get(c, "iat")),
	    1700000000);
	assert_int_equal(json_integer_value(json_object_get(c, "exp")),
	    1700000300);
	assert_int_equal(strlen(js(c, "jti")), 32);
	assert_int_equal(sn_b64url_decode(d2 + 1, strlen(d2 + 1), &sig,
	    &siglen), 0);
	if (coord != 0) {
		/* JOSE r||s -> DER for OpenSSL's verifier. */
		ECDSA_SIG *es = ECDSA_SIG_new();
		BIGNUM *r, *s;

		assert_int_equal(siglen, 2 * coord);
		r = BN_bin2bn(sig, (int)coord, NULL);
		s = BN_bin2bn(sig + coord, (int)coord, NULL);
		assert_int_equal(ECDSA_SIG_set0(es, r, s), 1);
		derlen = i2d_ECDSA_SIG(es, &der);
		assert_true(derlen > 0);
		ECDSA_SIG_free(es);
		free(sig);
		sig = malloc((size_t)derlen);
		memcpy(sig, der, (size_t)derlen);
		siglen = (size_t)derlen;
		OPENSSL_free(der);
	}
	md = coord == 48 ? EVP_sha384() : EVP_sha256();
	ctx = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, md, NULL, key), 1);
	assert_int_equal(EVP_DigestVerify(ctx, sig, siglen,
	    (const uint8_t *)jwt, (size_t)(d2 - jwt)), 1);
	/* A changed claim no longer verifies. */
	jwt[(d1 - jwt) + 3] ^= 1;
	EVP_MD_CTX_free(ctx);
	ctx = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, md, NULL, key), 1);
	assert_int_not_equal(EVP_DigestVerify(ctx, sig, siglen,
	    (const uint8_t *)jwt, (size_t)(d2 - jwt)), 1);
	EVP_MD_CTX_free(ctx);
	json_decref(h);
	json_decref(c);
	free(sig);
	free(jwt);
}

static void
test_jwt(void **state)
{
	EVP_PKEY *k;
	char *a = NULL, *b = NULL;

	(void)state;
	k = EVP_EC_gen("P-256");
	check_jwt(k, "ES256", 32);
	/* Every assertion has its own jti. */
	assert_int_equal(sn_jwt_build(k, "i", "a", 1, &a), 0);
	assert_int_equal(sn_jwt_build(k, "i", "a", 1, &b), 0);
	assert_string_not_equal(a, b);
	free(a);
	free(b);
	EVP_PKEY_free(k);
	k = EVP_EC_gen("P-384");
	check_jwt(k, "ES384", 48);
	EVP_PKEY_free(k);
	k = EVP_RSA_gen(2048);
	check_jwt(k, "RS256", 0);
	EVP_PKEY_free(k);
	k = EVP_EC_gen("P-521");
	assert_null(sn_jwt_alg(k));
	assert_int_equal(sn_jwt_build(k, "i", "a", 1, &a), SN_ERR_INVALID);
	EVP_PKEY_free(k);
}

/* ---- CMS --------------------------------------------------------------- */

struct swkey {
	EVP_PKEY *key;
	int calls;
};

/* A software stand-in for signetd: signs a digest with the private key. */
static int
sw_sign(void *arg, enum sn_hash hash, const uint8_t *digest, size_t dlen,
    uint8_t **sig, size_t *siglen)
{
	struct swkey *sw = arg;
	EVP_PKEY_CTX *ctx;
	size_t len = 0;

	sw->calls++;
	ctx = EVP_PKEY_CTX_new(sw->key, NULL);
	if (ctx == NULL || EVP_PKEY_sign_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(ctx, sn_hash_md(hash)) != 1 ||
	    (EVP_PKEY_is_a(sw->key, "RSA") &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1) ||
	    EVP_PKEY_sign(ctx, NULL, &len, digest, dlen) != 1 ||
	    (*sig = malloc(len)) == NULL ||
	    EVP_PKEY_sign(ctx, *sig, &len, digest, dlen) != 1) {
		EVP_PKEY_CTX_free(ctx);
		return SN_ERR_CRYPTO;
	}
	*siglen = len;
	EVP_PKEY_CTX_free(ctx);
	return 0;
}

static X509 *
self_signed(EVP_PKEY *key, const char *cn)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	X509_NAME_free(n);
	return x;
}

static void
check_cms(EVP_PKEY *key, enum sn_hash hash)
{
	static const char content[] = "the file that was signed\n";
	struct swkey sw = { key, 0 };
	uint8_t digest[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned int dlen = 0;
	size_t derlen = 0;
	const unsigned char *p;
	CMS_ContentInfo *cms;
	X509 *cert = self_signed(key, "signer");
	X509_STORE *store = X509_STORE_new();
	BIO *data;
	X509 *pubonly_cert;

	/* The builder sees only the certificate (public key). */
	pubonly_cert = X509_dup(cert);
	assert_int_equal(EVP_Digest(content, strlen(content), digest, &dlen,
	    sn_hash_md(hash), NULL), 1);
	assert_int_equal(sn_cms_sign_detached(pubonly_cert, NULL, hash, digest,
	    dlen, sn_now(), sw_sign, &sw, &der, &derlen), 0);
	assert_int_equal(sw.calls, 1);
	p = der;
	assert_non_null(cms = d2i_CMS_ContentInfo(NULL, &p, (long)derlen));
	assert_true(p == der + derlen);
	assert_int_equal(CMS_is_detached(cms), 1);
	X509_STORE_add_cert(store, cert);
	data = BIO_new_mem_buf(content, -1);
	assert_int_equal(CMS_verify(cms, NULL, store, data, NULL,
	    CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY), 1);
	BIO_free(data);
	/* With the trust store and full chain verification too. */
	data = BIO_new_mem_buf(content, -1);
	assert_int_equal(CMS_verify(cms, NULL, store, data, NULL, CMS_BINARY),
	    1);
	BIO_free(data);
	/* Different content: refused. */
	data = BIO_new_mem_buf("another file\n", -1);
	assert_int_not_equal(CMS_verify(cms, NULL, store, data, NULL,
	    CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY), 1);
	BIO_free(data);
	CMS_ContentInfo_free(cms);
	free(der);
	/* Wrong digest length: refused before anything is signed. */
	assert_int_equal(sn_cms_sign_detached(pubonly_cert, NULL, hash, digest,
	    dlen - 1, sn_now(), sw_sign, &sw, &der, &derlen), SN_ERR_INVALID);
	assert_int_equal(sw.calls, 1);
	X509_STORE_free(store);
	X509_free(cert);
	X509_free(pubonly_cert);
}

/* "did you mean": typos, swaps and prefixes are near; other words are not. */
static void
test_nearest(void **state)
{
	static const char *const c[] = { "sign", "key", "keys", "project",
	    "pkcs11-module", "service-account", "format", "force" };
	const size_t n = sizeof(c) / sizeof(c[0]);

	(void)state;
	assert_string_equal(cli_nearest("sing", c, n), "sign");
	assert_string_equal(cli_nearest("sgin", c, n), "sign");
	assert_string_equal(cli_nearest("projct", c, n), "project");
	assert_string_equal(cli_nearest("proj", c, n), "project");
	assert_string_equal(cli_nearest("fromat", c, n), "format");
	assert_string_equal(cli_nearest("forc", c, n), "force");
	assert_string_equal(cli_nearest("ky", c, n), "key");
	assert_null(cli_nearest("zzzzzz", c, n));
	assert_null(cli_nearest("x", c, n));
	assert_null(cli_nearest("", c, 0));
	/* Over-long words are never near (bounded work). */
	assert_null(cli_nearest("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaa", c, n));
}

/* Every help entry is complete; repeatable options collect their values. */
static void
test_help_table(void **state)
{
	const struct cli_help *h;
	size_t n;
	const char *v[CLI_MULTI_MAX], *pos[1];
	int nv = 0, npos;
	char *a[] = { "--in", "a", "--in=b", "--in", "c" };
	const struct cli_opt opts[] = {
		{ "in", CLI_MULTI, v, &nv },
		{ NULL, 0, NULL, NULL },
	};

	(void)state;
	h = cli_help_table(&n);
	assert_true(n >= 40);
	for (size_t i = 0; i < n; i++) {
		assert_non_null(h[i].usage);
		assert_non_null(h[i].summary);
		assert_non_null(h[i].example);
		assert_int_equal(strncmp(h[i].usage, "signet ", 7), 0);
		assert_int_equal(strncmp(h[i].usage + 7, h[i].cmd,
		    strlen(h[i].cmd)), 0);
		assert_ptr_equal(cli_help_find(h[i].cmd), &h[i]);
	}
	assert_null(cli_help_find("no such"));
	assert_true(cli_help_has_opt(cli_help_find("sign"), "in"));
	assert_true(cli_help_has_opt(cli_help_find("sign"), "out-dir"));
	assert_false(cli_help_has_opt(cli_help_find("sign"), "ou"));
	assert_int_equal(cli_parse("t", "u", 5, a, opts, pos, 0, 0, &npos), 0);
	assert_int_equal(nv, 3);
	assert_string_equal(v[0], "a");
	assert_string_equal(v[1], "b");
	assert_string_equal(v[2], "c");
}

static void
test_cms(void **state)
{
	EVP_PKEY *k;

	(void)state;
	k = EVP_EC_gen("P-256");
	check_cms(k, SN_HASH_SHA256);
	EVP_PKEY_free(k);
	k = EVP_EC_gen("P-384");
	check_cms(k, SN_HASH_SHA384);
	EVP_PKEY_free(k);
	k = EVP_RSA_gen(2048);
	check_cms(k, SN_HASH_SHA256);
	check_cms(k, SN_HASH_SHA512);
	EVP_PKEY_free(k);
}

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[600];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_parse_ok),
		cmocka_unit_test(test_config_parse_garbage),
		cmocka_unit_test(test_config_file_permissions),
		cmocka_unit_test(test_config_env_overrides),
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_client_new_rejects_http),
		cmocka_unit_test(test_jwt),
		cmocka_unit_test(test_cms),
		cmocka_unit_test(test_nearest),
		cmocka_unit_test(test_help_table),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
