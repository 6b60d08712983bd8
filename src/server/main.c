/*
 * main.c - the signetd command line: init, tenant create, serve, keeper.
 *
 *   signetd init --data-dir DIR [--tenant NAME] [--admin EMAIL]
 *                [--hostname NAME]... [--listen HOST:PORT]
 *                [--hsm-module PATH --token-label LABEL --pin-file PATH]
 *   signetd tenant create NAME --admin EMAIL --data-dir DIR
 *   signetd serve --data-dir DIR [--listen HOST:PORT] [--port-file PATH]
 *   signetd backup / restore      (backup.c)
 *   signetd keeper ...            (internal: the HSM boundary process)
 *
 * The serving process never opens the PIN file: it passes its path to the
 * keeper, which alone reads it. New API keys are printed once, alone on the
 * last line of stdout, and wiped from memory afterwards.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "audit.h"
#include "authfail.h"
#include "backup.h"
#include "ca.h"
#include "ca_builtin.h"
#include "config.h"
#include "db.h"
#include "encode.h"
#include "err.h"
#include "http.h"
#include "keeper.h"
#include "keygen.h"
#include "oidc_keys.h"
#include "ratelimit.h"
#include "server.h"
#include "tlog_checkpoint.h"
#include "webhooks.h"
#include "store.h"
#include "util.h"

#define MAX_HOSTNAMES		32
#define TLS_CA_DAYS		3650
#define TLS_SERVER_DAYS		825
#define DB_POOL_SIZE		16
/* seconds between two writes of aggregated auth.failure events */
#define AUTHFAIL_INTERVAL	10
#define SHUTDOWN_GRACE_SECS	30

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: signetd init --data-dir DIR [--tenant NAME] [--admin EMAIL]\n"
	    "                    [--hostname NAME]... [--listen HOST:PORT]\n"
	    "                    [--public-url URL] [--db-url postgresql://...]\n"
	    "                    [--hsm-module PATH --token-label LABEL --pin-file PATH]\n"
	    "       signetd tenant create NAME --admin EMAIL --data-dir DIR\n"
	    "       signetd serve --data-dir DIR [--listen HOST:PORT] [--port-file PATH]\n"
	    "                     [--http-listen HOST:PORT] [--http-port-file PATH]\n"
	    "                     [--public-url URL]\n"
	    "       signetd backup --data-dir DIR --out FILE [--with-pin]\n"
	    "       signetd restore --in FILE --data-dir NEWDIR [--pin-file PATH]\n"
	    "       signetd --version | --help\n");
}

static int
die_usage(const char *msg)
{
	if (msg != NULL)
		fprintf(stderr, "signetd: %s\n", msg);
	usage(stderr);
	return 2;
}

static int
path_join(char *buf, size_t len, const char *a, const char *b)
{
	int n = snprintf(buf, len, "%s/%s", a, b);

	return (n < 0 || (size_t)n >= len) ? SN_ERR_INVALID : 0;
}

static int
self_exe(char out[PATH_MAX])
{
	ssize_t n = readlink("/proc/self/exe", out, PATH_MAX - 1);

	if (n <= 0)
		return SN_ERR_IO;
	out[n] = '\0';
	return 0;
}

static int
start_keeper(struct sn_server *srv, const char *exe)
{
	struct keeper_config kc;
	int r;

	memset(&kc, 0, sizeof(kc));
	kc.module_path = srv->cfg.hsm_module;
	kc.token_label = srv->cfg.token_label;
	kc.pin_file = srv->cfg.pin_file;
	kc.softhsm_conf = srv->cfg.softhsm_conf;
	kc.self_exe = exe;
	kc.workers = srv->cfg.keeper_workers;
	if ((r = keeper_start(&kc, &srv->keeper)) != 0)
		fprintf(stderr, "signetd: cannot start the keeper (HSM %s, "
		    "token %s): %s\n", kc.module_path, kc.token_label,
		    sn_strerror(r));
	return r;
}

/* ---- TLS material for `init` (software keys: the TLS CA is not a code
 * signing CA and never signs anything but the server certificate) ---- */

static int
write_pkey(const char *path, EVP_PKEY *k)
{
	BIO *b = NULL;
	char *data = NULL;
	long len;
	int r;

	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return SN_ERR_NOMEM;
	if (PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) != 1) {
		r = SN_ERR_CRYPTO;
		goto out;
	}
	len = BIO_get_mem_data(b, &data);
	r = sn_write_file(path, data, (size_t)len, 0600);
	if (len > 0)
		explicit_bzero(data, (size_t)len);
 out:
	BIO_free(b);
	return r;
}

static int
is_ip(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, buf) == 1 ||
	    inet_pton(AF_INET6, s, buf) == 1;
}

static int
make_tls(const char *dir, const char *const *hostnames, size_t nhost)
{
	EVP_PKEY *cak = NULL, *srvk = NULL;
	struct ca_signer signer;
	const char *dns[MAX_HOSTNAMES + 2], *ips[MAX_HOSTNAMES + 3];
	char path[PATH_MAX], *ca_pem = NULL, *srv_pem = NULL, *chain = NULL;
	size_t nd = 0, ni = 0, i, clen;
	int64_t now = sn_now();
	int r;

	dns[nd++] = "localhost";
	ips[ni++] = "127.0.0.1";
	ips[ni++] = "::1";
	for (i = 0; i < nhost; i++) {
		if (is_ip(hostnames[i]))
			ips[ni++] = hostnames[i];
		else
			dns[nd++] = hostnames[i];
	}
	dns[nd] = NULL;
	ips[ni] = NULL;
	if ((cak = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    (srvk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL) {
		r = SN_ERR_CRYPTO;
		goto out;
	}
	if ((r = ca_signer_from_pkey(cak, &signer)) != 0 ||
	    (r = ca_make_root(&signer, "CN=Signet TLS CA, O=signetd",
	    now - 300, now + (int64_t)TLS_CA_DAYS * 86400, &ca_pem)) != 0 ||
	    (r = ca_issue_tls_server(&signer, ca_pem, srvk, dns, ips, now - 300,
	    now + (int64_t)TLS_SERVER_DAYS * 86400, &srv_pem)) != 0)
		goto out;
	clen = strlen(srv_pem) + strlen(ca_pem) + 1;
	if ((chain = malloc(clen)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	snprintf(chain, clen, "%s%s", srv_pem, ca_pem);
	if ((r = path_join(path, sizeof(path), dir, "tls/ca.key")) != 0 ||
	    (r = write_pkey(path, cak)) != 0 ||
	    (r = path_join(path, sizeof(path), dir, "tls/server.key")) != 0 ||
	    (r = write_pkey(path, srvk)) != 0 ||
	    (r = path_join(path, sizeof(path), dir, "tls/server.crt")) != 0 ||
	    (r = sn_write_file(path, chain, strlen(chain), 0644)) != 0 ||
	    (r = path_join(path, sizeof(path), dir, "server-ca.pem")) != 0 ||
	    (r = sn_write_file(path, ca_pem, strlen(ca_pem), 0644)) != 0)
		goto out;
	r = 0;
 out:
	EVP_PKEY_free(cak);
	EVP_PKEY_free(srvk);
	free(ca_pem);
	free(srv_pem);
	free(chain);
	return r;
}

/*
 * One transaction: tenant, its first admin, the admin's API key, the
 * tenant's built-in CA (keys in the HSM via the keeper) and the audit
 * events. *secret receives the API key (caller wipes).
 */
static int
create_tenant(struct sn_server *srv, const char *name, const char *email,
    char **secret)
{
	struct db_conn *c = NULL;
	struct store_tenant t;
	struct store_user u;
	struct store_apikey k;
	struct audit_event ev;
	json_t *details = NULL;
	int r;

	*secret = NULL;
	if (!api_valid_name(name)) {
		fprintf(stderr, "signetd: invalid tenant name '%s'\n", name);
		return SN_ERR_INVALID;
	}
	if (!api_valid_email(email)) {
		fprintf(stderr, "signetd: invalid admin email '%s'\n", email);
		return SN_ERR_INVALID;
	}
	if ((r = db_acquire(srv->db, &c)) != 0 || (r = db_begin(c)) != 0)
		goto out;
	if ((r = store_tenant_create(c, name, &t)) != 0) {
		if (r == SN_ERR_CONFLICT)
			fprintf(stderr, "signetd: tenant '%s' already exists\n",
			    name);
		goto out;
	}
	if ((r = store_user_create(c, t.id, email, "admin", &u)) != 0 ||
	    (r = store_apikey_create(c, t.id, u.id, "initial admin key", 0,
	    &k, secret)) != 0)
		goto out;
	if ((r = builtin_ca_create(srv, c, t.id, t.name)) != 0) {
		fprintf(stderr, "signetd: cannot create the built-in CA: %s\n",
		    sn_strerror(r));
		goto out;
	}
	memset(&ev, 0, sizeof(ev));
	ev.tenant_id = t.id;
	ev.actor_type = "system";
	ev.actor_id = "";
	ev.result = "ok";
	ev.source_ip = "";
	ev.action = "tenant.create";
	ev.object_type = "tenant";
	ev.object_id = t.id;
	if ((details = json_pack("{s:s}", "name", t.name)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	ev.details = details;
	if ((r = audit_append(c, &ev)) != 0)
		goto out;
	json_decref(details);
	if ((details = json_pack("{s:s,s:s,s:s}", "email", u.email, "role",
	    u.role, "api_key_id", k.id)) == NULL) {
		r = SN_ERR_NOMEM;
		goto out;
	}
	ev.details = details;
	ev.action = "user.create";
	ev.object_type = "user";
	ev.object_id = u.id;
	if ((r = audit_append(c, &ev)) != 0 || (r = db_commit(c)) != 0)
		goto out;
	printf("tenant:  %s (%s)\nadmin:   %s (%s)\napi key: %s\n", t.name, t.id,
	    u.email, u.id, k.id);
	r = 0;
 out:
	if (r != 0) {
		sn_strfreezero(*secret);
		*secret = NULL;
	}
	json_decref(details);
	db_release(c);
	return r;
}

static int
open_server(struct sn_server *srv, int with_keeper)
{
	char exe[PATH_MAX];
	int r;

	if ((r = db_open(srv->cfg.db_url, DB_POOL_SIZE, &srv->db)) != 0) {
		/* A PostgreSQL URI may carry a password: never print it. */
		fprintf(stderr, "signetd: cannot open the database %s: %s\n",
		    strncmp(srv->cfg.db_url, "sqlite:", 7) == 0 ?
		    srv->cfg.db_url : "(PostgreSQL, db_url in signetd.conf)",
		    sn_strerror(r));
		return r;
	}
	if (!with_keeper)
		return 0;
	if ((r = self_exe(exe)) != 0) {
		fprintf(stderr, "signetd: cannot find my own executable\n");
		return r;
	}
	if ((srv->self_exe = strdup(exe)) == NULL)
		return SN_ERR_NOMEM;
	return start_keeper(srv, srv->self_exe);
}

static void
close_server(struct sn_server *srv)
{
	keeper_free(srv->keeper);
	srv->keeper = NULL;
	db_close(srv->db);
	srv->db = NULL;
	free((char *)srv->self_exe);
	srv->self_exe = NULL;
	server_config_free(&srv->cfg);
}

/* A fresh operator token for GET /metrics: 256 random bits, base64url. */
static int
new_metrics_token(struct sn_config *cfg)
{
	uint8_t rnd[32];
	char *tok = NULL;
	int r;

	if ((r = sn_random_bytes(rnd, sizeof(rnd))) != 0 ||
	    (r = sn_b64url_encode(rnd, sizeof(rnd), &tok)) != 0)
		goto out;
	sn_strfreezero(cfg->metrics_token);
	cfg->metrics_token = tok;
	tok = NULL;
	r = 0;
 out:
	explicit_bzero(rnd, sizeof(rnd));
	sn_strfreezero(tok);
	return r;
}

/*
 * signetd serve holds the TLS key and credentials in flight: no core file,
 * and no ptrace or /proc/PID/mem by other processes of the same user.
 */
static int
no_dumps(void)
{
	struct rlimit nocore = { 0, 0 };

	struct rlimit files;

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 ||
	    setrlimit(RLIMIT_CORE, &nocore) != 0) {
		fprintf(stderr, "signetd: cannot turn off core dumps: %s\n",
		    strerror(errno));
		return SN_ERR_IO;
	}
	/* two descriptors per connection (http/conntrack.c): allow what the
	 * hard limit allows */
	if (getrlimit(RLIMIT_NOFILE, &files) == 0 &&
	    files.rlim_cur < files.rlim_max) {
		files.rlim_cur = files.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &files);
	}
	return 0;
}

static int
print_key(char *secret)
{
	/* The key alone on the last line, for `tail -n1`. */
	printf("%s\n", secret);
	sn_strfreezero(secret);
	return fflush(stdout) == 0 ? 0 : 1;
}

/*
 * "https://HOST[:PORT]" (one trailing "/" allowed) -> HOST (an IPv6
 * address without its brackets). 0, or -1 for anything else.
 */
static int
public_url_host(const char *url, char *host, size_t len)
{
	const char *h, *end;
	char *pend;
	long port;
	size_t n;

	if (strncmp(url, "https://", 8) != 0)
		return -1;
	h = url + 8;
	if (*h == '[') {
		if ((end = strchr(h, ']')) == NULL)
			return -1;
		h++;
		n = (size_t)(end - h);
		end++;
	} else {
		n = strcspn(h, ":/?#@");
		end = h + n;
	}
	if (n == 0 || n >= len)
		return -1;
	if (*end == ':') {
		errno = 0;
		port = strtol(end + 1, &pend, 10);
		if (errno != 0 || pend == end + 1 || port < 1 || port > 65535)
			return -1;
		end = pend;
	}
	if (*end == '/')
		end++;
	if (*end != '\0')
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];

		if (c <= 0x20 || c >= 0x7f || c == '@' || c == '/')
			return -1;
	}
	memcpy(host, h, n);
	host[n] = '\0';
	return 0;
}

/* ---- signetd init ---- */

static int
cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data-dir", required_argument, NULL, 'd' },
		{ "tenant", required_argument, NULL, 't' },
		{ "admin", required_argument, NULL, 'a' },
		{ "hostname", required_argument, NULL, 'H' },
		{ "listen", required_argument, NULL, 'l' },
		{ "public-url", required_argument, NULL, 'U' },
		{ "db-url", required_argument, NULL, 'D' },
		{ "hsm-module", required_argument, NULL, 'm' },
		{ "token-label", required_argument, NULL, 'T' },
		{ "pin-file", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sn_server srv;
	const char *dir = NULL, *tenant = "default", *admin = "admin@localhost";
	const char *listen = NULL, *module = NULL, *label = NULL, *pin = NULL;
	const char *public_url = NULL, *db_url = NULL;
	const char *hosts[MAX_HOSTNAMES + 1];
	char url_host[256];
	char absdir[PATH_MAX], path[PATH_MAX], url[PATH_MAX + 64], *host = NULL;
	char *secret = NULL;
	size_t nhost = 0, i;
	struct stat sb;
	int ch, port, r = 1;

	memset(&srv, 0, sizeof(srv));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': dir = optarg; break;
		case 't': tenant = optarg; break;
		case 'a': admin = optarg; break;
		case 'l': listen = optarg; break;
		case 'U': public_url = optarg; break;
		case 'D': db_url = optarg; break;
		case 'm': module = optarg; break;
		case 'T': label = optarg; break;
		case 'p': pin = optarg; break;
		case 'H':
			if (nhost >= MAX_HOSTNAMES)
				return die_usage("too many --hostname");
			if (*optarg == '\0' || strlen(optarg) > 253)
				return die_usage("bad --hostname");
			hosts[nhost++] = optarg;
			break;
		case 'h': usage(stdout); return 0;
		default: return die_usage(NULL);
		}
	}
	if (optind != argc)
		return die_usage("unexpected argument");
	if (dir == NULL)
		return die_usage("--data-dir is required");
	if (!api_valid_name(tenant))
		return die_usage("invalid --tenant name ([A-Za-z0-9._-], 1..64)");
	if (!api_valid_email(admin))
		return die_usage("invalid --admin email");
	if ((module != NULL || label != NULL || pin != NULL) &&
	    (module == NULL || label == NULL || pin == NULL))
		return die_usage("--hsm-module, --token-label and --pin-file "
		    "go together");
	if (listen != NULL) {
		if (server_parse_listen(listen, &host, &port) != 0)
			return die_usage("--listen must be HOST:PORT");
	}
	/* The embedded default needs no flag; a URL names a server. */
	if (db_url != NULL && strncmp(db_url, "postgresql://", 13) != 0 &&
	    strncmp(db_url, "postgres://", 11) != 0)
		return die_usage("--db-url must be postgresql://... (a libpq "
		    "connection URI)");
	/*
	 * The address clients use (behind a proxy, another name or port than
	 * --listen): it goes into the CA certificates' CRL URLs now, so it
	 * must be right from the start; its host joins the TLS names.
	 */
	if (public_url != NULL) {
		if (public_url_host(public_url, url_host, sizeof(url_host)) != 0)
			return die_usage("--public-url must be https://HOST[:PORT] "
			    "(no path, query or user)");
		for (i = 0; i < nhost && strcmp(hosts[i], url_host) != 0; i++)
			;
		if (i == nhost && strcmp(url_host, "localhost") != 0 &&
		    strcmp(url_host, "127.0.0.1") != 0 &&
		    strcmp(url_host, "::1") != 0)
			hosts[nhost++] = url_host;
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "signetd: cannot create %s: %s\n", dir,
		    strerror(errno));
		goto out;
	}
	if (realpath(dir, absdir) == NULL) {
		fprintf(stderr, "signetd: %s: %s\n", dir, strerror(errno));
		goto out;
	}
	if (path_join(path, sizeof(path), absdir, "signet.db") != 0)
		goto out;
	if (stat(path, &sb) == 0) {
		fprintf(stderr, "signetd: %s already exists; refusing to "
		    "initialise over it\n", path);
		goto out;
	}
	/* With PostgreSQL the directory has no signet.db: its configuration
	 * says it was initialised. */
	if (path_join(path, sizeof(path), absdir, SN_CONFIG_FILE) != 0)
		goto out;
	if (stat(path, &sb) == 0) {
		fprintf(stderr, "signetd: %s already exists; refusing to "
		    "initialise over it\n", path);
		goto out;
	}
	if (server_config_defaults(&srv.cfg, absdir) != 0)
		goto out;
	if (db_url != NULL && server_config_set(&srv.cfg.db_url, db_url) != 0)
		goto out;
	if (public_url != NULL) {
		/* Paths are appended as "/v1/...": no trailing slash. */
		snprintf(url, sizeof(url), "%s", public_url);
		if (url[strlen(url) - 1] == '/')
			url[strlen(url) - 1] = '\0';
		if (server_config_set(&srv.cfg.public_url, url) != 0)
			goto out;
		if (listen != NULL && server_config_set(&srv.cfg.listen, listen) != 0)
			goto out;
	} else if (listen != NULL) {
		if (strchr(host, ':') != NULL)
			snprintf(url, sizeof(url), "https://[%s]:%d", host, port);
		else
			snprintf(url, sizeof(url), "https://%s:%d", host, port);
		if (server_config_set(&srv.cfg.listen, listen) != 0 ||
		    server_config_set(&srv.cfg.public_url, url) != 0)
			goto out;
	} else if (nhost > 0 && !is_ip(hosts[0])) {
		snprintf(url, sizeof(url), "https://%s:8443", hosts[0]);
		if (server_config_set(&srv.cfg.public_url, url) != 0)
			goto out;
	}
	if (path_join(path, sizeof(path), absdir, "tls") != 0 ||
	    (mkdir(path, 0700) != 0 && errno != EEXIST)) {
		fprintf(stderr, "signetd: cannot create %s\n", path);
		goto out;
	}
	if (module != NULL) {
		/* A vendor HSM: its token and PIN already exist. */
		if (server_config_set(&srv.cfg.hsm_module, module) != 0 ||
		    server_config_set(&srv.cfg.token_label, label) != 0 ||
		    server_config_set(&srv.cfg.softhsm_conf, NULL) != 0 ||
		    realpath(pin, path) == NULL ||
		    server_config_set(&srv.cfg.pin_file, path) != 0) {
			fprintf(stderr, "signetd: bad --pin-file %s\n", pin);
			goto out;
		}
	} else {
		if (path_join(path, sizeof(path), absdir, "hsm") != 0)
			goto out;
		if ((r = keeper_init_softhsm_token(path, srv.cfg.hsm_module,
		    srv.cfg.token_label)) != 0) {
			fprintf(stderr, "signetd: cannot create the SoftHSM2 "
			    "token in %s: %s\n", path, sn_strerror(r));
			r = 1;
			goto out;
		}
	}
	if ((r = make_tls(absdir, hosts, nhost)) != 0) {
		fprintf(stderr, "signetd: cannot create the TLS certificates: "
		    "%s\n", sn_strerror(r));
		r = 1;
		goto out;
	}
	if (new_metrics_token(&srv.cfg) != 0 || server_config_save(&srv.cfg) != 0) {
		fprintf(stderr, "signetd: cannot write %s/%s\n", absdir,
		    SN_CONFIG_FILE);
		r = 1;
		goto out;
	}
	if (open_server(&srv, 1) != 0 ||
	    create_tenant(&srv, tenant, admin, &secret) != 0) {
		fprintf(stderr, "signetd: init did not complete; remove %s "
		    "before trying again\n", absdir);
		r = 1;
		goto out;
	}
	printf("data directory: %s\nTLS CA certificate (--ca-file): "
	    "%s/server-ca.pem\nadmin API key (shown once):\n", absdir, absdir);
	r = print_key(secret);
	secret = NULL;
 out:
	sn_strfreezero(secret);
	free(host);
	close_server(&srv);
	return r;
}

/* ---- signetd tenant create ---- */

static int
cmd_tenant(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data-dir", required_argument, NULL, 'd' },
		{ "admin", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sn_server srv;
	const char *dir = NULL, *admin = NULL, *name;
	char *secret = NULL;
	int ch, r = 1;

	memset(&srv, 0, sizeof(srv));
	if (argc < 2 || strcmp(argv[1], "create") != 0)
		return die_usage("expected: tenant create NAME");
	argc--;
	argv++;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': dir = optarg; break;
		case 'a': admin = optarg; break;
		case 'h': usage(stdout); return 0;
		default: return die_usage(NULL);
		}
	}
	if (optind != argc - 1)
		return die_usage("expected one tenant NAME");
	name = argv[optind];
	if (dir == NULL || admin == NULL)
		return die_usage("--data-dir and --admin are required");
	if (!api_valid_name(name))
		return die_usage("invalid tenant name ([A-Za-z0-9._-], 1..64)");
	if (!api_valid_email(admin))
		return die_usage("invalid --admin email");
	if (server_config_load(&srv.cfg, dir) != 0)
		goto out;
	if (open_server(&srv, 1) != 0 ||
	    create_tenant(&srv, name, admin, &secret) != 0)
		goto out;
	printf("admin API key (shown once):\n");
	r = print_key(secret);
	secret = NULL;
 out:
	sn_strfreezero(secret);
	close_server(&srv);
	return r;
}

/* ---- signetd serve ---- */

static int
cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data-dir", required_argument, NULL, 'd' },
		{ "listen", required_argument, NULL, 'l' },
		{ "port-file", required_argument, NULL, 'P' },
		{ "public-url", required_argument, NULL, 'U' },
		{ "http-listen", required_argument, NULL, 'H' },
		{ "http-port-file", required_argument, NULL, 'Q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sn_server srv;
	struct http_server *h = NULL, *hp = NULL;
	const char *dir = NULL, *listen = NULL, *port_file = NULL;
	const char *public_url = NULL, *http_listen_arg = NULL;
	const char *http_port_file = NULL;
	char *phost = NULL;
	int pport = 0, plfd = -1, pbound = 0;
	char *host = NULL, *cert = NULL, *key = NULL, buf[32], url[600];
	size_t len;
	sigset_t set;
	int ch, port, sig, r = 1, lfd = -1, bound = 0;

	memset(&srv, 0, sizeof(srv));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': dir = optarg; break;
		case 'l': listen = optarg; break;
		case 'P': port_file = optarg; break;
		case 'U': public_url = optarg; break;
		case 'H': http_listen_arg = optarg; break;
		case 'Q': http_port_file = optarg; break;
		case 'h': usage(stdout); return 0;
		default: return die_usage(NULL);
		}
	}
	if (optind != argc)
		return die_usage("unexpected argument");
	if (dir == NULL)
		return die_usage("--data-dir is required");
	if (no_dumps() != 0)
		goto out;
	if (server_config_load(&srv.cfg, dir) != 0)
		goto out;
	if (listen != NULL && server_config_set(&srv.cfg.listen, listen) != 0)
		goto out;
	if (server_parse_listen(srv.cfg.listen, &host, &port) != 0) {
		fprintf(stderr, "signetd: bad listen address '%s'\n",
		    srv.cfg.listen);
		goto out;
	}
	if (http_listen_arg != NULL &&
	    server_parse_listen(http_listen_arg, &phost, &pport) != 0) {
		r = die_usage("--http-listen must be HOST:PORT");
		goto out;
	}
	if (sn_read_file(srv.cfg.tls_cert, 1024 * 1024, &cert, &len) != 0 ||
	    sn_read_file(srv.cfg.tls_key, 64 * 1024, &key, &len) != 0) {
		fprintf(stderr, "signetd: cannot read the TLS certificate or "
		    "key (%s, %s)\n", srv.cfg.tls_cert, srv.cfg.tls_key);
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	if (open_server(&srv, 1) != 0)
		goto out;
	srv.started_at = sn_now();
	{
		/* HSM keys of creations a crash interrupted (keygen.c) */
		int n = 0;

		if (keygen_sweep(&srv, srv.started_at, &n) != 0)
			fprintf(stderr, "signetd: the sweep of unfinished HSM "
			    "keys failed; it runs again at the next start\n");
		else if (n > 0)
			fprintf(stderr, "signetd: destroyed %d HSM key(s) whose "
			    "creation never completed\n", n);
	}
	/* Every thread started from here on inherits the blocked set; the
	 * main thread takes the signals with sigwait. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (http_listen(host, port, &lfd, &bound) != 0)
		goto out;
	if (phost != NULL && http_listen(phost, pport, &plfd, &pbound) != 0)
		goto out;
	/*
	 * The public URL (JWT audience, CRL URLs) follows an explicit
	 * --listen, or a configured port 0, unless --public-url says
	 * otherwise or the address is a wildcard.
	 */
	if (public_url != NULL) {
		if (server_config_set(&srv.cfg.public_url, public_url) != 0)
			goto out;
	} else if ((listen != NULL || port == 0) &&
	    strcmp(host, "0.0.0.0") != 0 && strcmp(host, "::") != 0) {
		snprintf(url, sizeof(url), "https://%s%s%s:%d",
		    strchr(host, ':') ? "[" : "", host,
		    strchr(host, ':') ? "]" : "", bound);
		if (server_config_set(&srv.cfg.public_url, url) != 0)
			goto out;
	}
	/* The plain-HTTP URL (TSA, CRL, OCSP) follows --http-listen unless
	 * http_public_url is configured or the address is a wildcard. */
	if (phost != NULL && srv.cfg.http_public_url == NULL &&
	    strcmp(phost, "0.0.0.0") != 0 && strcmp(phost, "::") != 0) {
		snprintf(url, sizeof(url), "http://%s%s%s:%d",
		    strchr(phost, ':') ? "[" : "", phost,
		    strchr(phost, ':') ? "]" : "", pbound);
		if (server_config_set(&srv.cfg.http_public_url, url) != 0)
			goto out;
	}
	if (authfail_new(srv.db, AUTHFAIL_INTERVAL, 1,
	    &srv.auth_failures) != 0) {
		fprintf(stderr, "signetd: cannot start the auth.failure "
		    "aggregator\n");
		goto out;
	}
	if (ratelimit_new(srv.cfg.auth_failure_limit, 60,
	    &srv.auth_limiter) != 0 ||
	    ratelimit_new(srv.cfg.tsa_rate_limit, 60, &srv.tsa_limiter) != 0)
		goto out;
	/* OIDC federation: libcurl once, before any request thread. */
	if (srv.cfg.oidc_ca_file != NULL &&
	    access(srv.cfg.oidc_ca_file, R_OK) != 0) {
		fprintf(stderr, "signetd: cannot read oidc_ca_file %s\n",
		    srv.cfg.oidc_ca_file);
		goto out;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    oidc_keys_new(srv.cfg.oidc_ca_file,
	    (long)srv.cfg.oidc_fetch_timeout * 1000, &srv.oidc) != 0)
		goto out;
	if (http_start(&srv, http_route_tables, lfd, cert, key, &h) != 0)
		goto out;
	if (tlog_checkpointer_start(&srv) != 0)
		goto out;
	if (srv.cfg.webhook_ca_file != NULL &&
	    access(srv.cfg.webhook_ca_file, R_OK) != 0) {
		fprintf(stderr, "signetd: cannot read webhook_ca_file %s\n",
		    srv.cfg.webhook_ca_file);
		goto out;
	}
	if (webhooks_start(&srv) != 0)
		goto out;
	lfd = -1;			/* the daemon's now */
	if (plfd >= 0) {
		if (http_start_plain(&srv, http_plain_route_tables, plfd,
		    &hp) != 0)
			goto out;
		plfd = -1;
		fprintf(stderr, "signetd: plain HTTP (TSA, CRLs, OCSP only) on "
		    "http://%s%s%s:%d (public URL %s)\n",
		    strchr(phost, ':') ? "[" : "", phost,
		    strchr(phost, ':') ? "]" : "", pbound,
		    srv.cfg.http_public_url != NULL ?
		    srv.cfg.http_public_url : "none");
		if (http_port_file != NULL) {
			snprintf(buf, sizeof(buf), "%d\n", pbound);
			if (sn_write_file(http_port_file, buf, strlen(buf),
			    0644) != 0) {
				fprintf(stderr, "signetd: cannot write %s\n",
				    http_port_file);
				goto out;
			}
		}
	}
	sn_strfreezero(key);
	key = NULL;
	fprintf(stderr, "signetd %s: listening on https://%s%s%s:%d "
	    "(public URL %s)\n", SIGNET_VERSION, strchr(host, ':') ? "[" : "",
	    host, strchr(host, ':') ? "]" : "", bound, srv.cfg.public_url);
	if (port_file != NULL) {
		snprintf(buf, sizeof(buf), "%d\n", bound);
		if (sn_write_file(port_file, buf, strlen(buf), 0644) != 0) {
			fprintf(stderr, "signetd: cannot write %s\n", port_file);
			goto out;
		}
	}
	do {
		if (sigwait(&set, &sig) != 0)
			sig = SIGTERM;
	} while (sig != SIGTERM && sig != SIGINT);
	fprintf(stderr, "signetd: shutting down\n");
	r = 0;
 out:
	http_stop(hp, SHUTDOWN_GRACE_SECS);
	http_stop(h, SHUTDOWN_GRACE_SECS);
	webhooks_stop();
	tlog_checkpointer_stop();
	ratelimit_free(srv.auth_limiter);
	srv.auth_limiter = NULL;
	oidc_keys_free(srv.oidc);
	srv.oidc = NULL;
	ratelimit_free(srv.tsa_limiter);
	srv.tsa_limiter = NULL;
	authfail_free(srv.auth_failures);	/* last flush */
	srv.auth_failures = NULL;
	if (lfd >= 0)
		close(lfd);
	if (plfd >= 0)
		close(plfd);
	free(phost);
	free(host);
	free(cert);
	sn_strfreezero(key);
	close_server(&srv);
	return r;
}

int
main(int argc, char **argv)
{
	umask(077);
	sn_json_wipe_on_free();
	if (argc >= 2 && strcmp(argv[1], "keeper") == 0)
		return keeper_process_main(argc, argv);
	if (argc < 2)
		return die_usage(NULL);
	if (strcmp(argv[1], "--version") == 0 ||
	    strcmp(argv[1], "version") == 0) {
		printf("signetd %s\n", SIGNET_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "init") == 0)
		return cmd_init(argc - 1, argv + 1);
	if (strcmp(argv[1], "tenant") == 0)
		return cmd_tenant(argc - 1, argv + 1);
	if (strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 1, argv + 1);
	if (strcmp(argv[1], "backup") == 0)
		return backup_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "restore") == 0)
		return restore_main(argc - 1, argv + 1);
	fprintf(stderr, "signetd: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
