/*
 * ca_builtin.h - creation of a tenant's built-in certificate authority.
 *
 * Called by `signetd init` and `signetd tenant create` (main.c) with a
 * database connection on which the tenant row exists.
 */
#ifndef SIGNET_CA_BUILTIN_H
#define SIGNET_CA_BUILTIN_H

struct sn_server;
struct db_conn;

#define BUILTIN_CA_ROOT_NAME	"signet-root"
#define BUILTIN_CA_ISSUING_NAME	"signet-code-signing"

/*
 * Generates in the HSM (through srv->keeper) an ECDSA P-384 root CA key and
 * certificate ("CN=Signet Root CA, O=<tenant_name>", 20 years) and an ECDSA
 * P-384 issuing CA key with a certificate signed by the root ("CN=Signet
 * Code Signing CA, O=<tenant_name>", 10 years, CRL distribution point
 * cfg.public_url + "/v1/ca/<root id>/crl" when a public URL is set), and
 * inserts both rows into cas on conn. It opens no transaction of its own:
 * run it inside the caller's transaction so the tenant and its CA commit
 * together. On failure the HSM keys it made are destroyed again.
 * Returns 0, SN_ERR_UNAVAILABLE (no keeper), SN_ERR_HSM, SN_ERR_CONFLICT
 * (the tenant already has these CAs), SN_ERR_DB or SN_ERR_NOMEM.
 */
int builtin_ca_create(struct sn_server *srv, struct db_conn *conn,
    const char *tenant_id, const char *tenant_name);

#endif
