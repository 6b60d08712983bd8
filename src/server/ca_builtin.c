/*
 * ca_builtin.c - a tenant's built-in CA: a root and an issuing CA, both
 * with ECDSA P-384 keys generated inside the HSM. The certificates are
 * built by src/server/ca over a signer that hands digests to the keeper;
 * no CA private key ever exists outside the token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca_builtin.h"
#include "crl.h"
#include "db.h"
#include "encode.h"
#include "err.h"
#include "hsm_signer.h"
#include "render.h"
#include "server.h"
#include "util.h"

#define ROOT_YEARS	20
#define ISSUING_YEARS	10
#define YEAR		(365LL * 86400)

/* Escapes the RFC 4514 specials of a DN attribute value. */
static int
dn_escape(const char *in, char **out)
{
	size_t n = strlen(in), i, o = 0;
	char *s;

	*out = NULL;
	if (n > 512 || (s = malloc(2 * n + 1)) == NULL)
		return SN_ERR_INVALID;
	for (i = 0; i < n; i++) {
		if (strchr(",\\=+;\"<>#", in[i]) != NULL)
			s[o++] = '\\';
		s[o++] = in[i];
	}
	s[o] = '\0';
	*out = s;
	return 0;
}

/* One CA key in the HSM: generated, and destroyed again on failure. */
struct ca_key {
	int made;
	uint8_t id[KEEPER_ID_LEN];
	char *hex;
	EVP_PKEY *pub;
	struct hsm_signer hs;
	struct ca_signer signer;
};

static int
ca_key_make(struct keeper *k, const char *label, struct ca_key *ck)
{
	uint8_t *spki = NULL;
	size_t spki_len = 0;
	int r;

	if ((r = keeper_generate(k, SN_ALG_ECDSA_P384, label, ck->id, &spki,
	    &spki_len)) != 0)
		return r;
	ck->made = 1;
	if ((r = sn_hex_encode(ck->id, sizeof(ck->id), &ck->hex)) != 0 ||
	    (r = ca_pubkey_from_spki(spki, spki_len, &ck->pub)) != 0 ||
	    (r = hsm_signer_init(k, ck->hex, ck->pub, &ck->hs,
	    &ck->signer)) != 0)
		goto out;
	r = 0;
 out:
	free(spki);
	return r;
}

static void
ca_key_done(struct keeper *k, struct ca_key *ck, int failed)
{
	int r;

	if (failed && ck->made && (r = keeper_destroy(k, ck->id)) != 0)
		fprintf(stderr, "signetd: could not destroy CA key %s after a "
		    "failure: %s\n", ck->hex != NULL ? ck->hex : "?",
		    sn_strerror(r));
	free(ck->hex);
	EVP_PKEY_free(ck->pub);
	memset(ck, 0, sizeof(*ck));
}

int
builtin_ca_create(struct sn_server *srv, struct db_conn *conn,
    const char *tenant_id, const char *tenant_name)
{
	struct ca_key rk, ik;
	struct store_ca root, issuing;
	char *root_id = NULL, *iss_id = NULL, *org = NULL, *root_dn = NULL,
	    *iss_dn = NULL, *url = NULL;
	int64_t now = sn_now();
	int r;

	memset(&rk, 0, sizeof(rk));
	memset(&ik, 0, sizeof(ik));
	memset(&root, 0, sizeof(root));
	memset(&issuing, 0, sizeof(issuing));
	if (srv == NULL || srv->keeper == NULL) {
		r = SN_ERR_UNAVAILABLE;
		goto out;
	}
	if ((r = dn_escape(tenant_name, &org)) != 0)
		goto out;
	if (asprintf(&root_dn, "CN=Signet Root CA, O=%s", org) < 0 ||
	    asprintf(&iss_dn, "CN=Signet Code Signing CA, O=%s", org) < 0) {
		root_dn = iss_dn = NULL;
		r = SN_ERR_NOMEM;
		goto out;
	}
	if ((r = sn_new_id("ca", &root_id)) != 0 ||
	    (r = sn_new_id("ca", &iss_id)) != 0)
		goto out;

	/* Root: self-signed in the HSM. */
	if ((r = ca_key_make(srv->keeper, root_id, &rk)) != 0 ||
	    (r = ca_make_root(&rk.signer, root_dn, now,
	    now + ROOT_YEARS * YEAR, &root.cert_pem)) != 0)
		goto out;
	/* Issuing CA: signed by the root, CRL of the root. */
	if ((r = crl_url(srv, root_id, &url)) != 0 ||
	    (r = ca_key_make(srv->keeper, iss_id, &ik)) != 0 ||
	    (r = ca_make_intermediate(&rk.signer, root.cert_pem, ik.pub, iss_dn,
	    now, now + ISSUING_YEARS * YEAR, url, &issuing.cert_pem)) != 0)
		goto out;

	if ((r = store_copy(root.id, sizeof(root.id), root_id)) != 0 ||
	    (r = store_copy(root.tenant_id, sizeof(root.tenant_id),
	    tenant_id)) != 0 ||
	    (r = store_copy(root.name, sizeof(root.name),
	    BUILTIN_CA_ROOT_NAME)) != 0 ||
	    (r = store_copy(root.role, sizeof(root.role), "root")) != 0 ||
	    (r = store_copy(root.algorithm, sizeof(root.algorithm),
	    "ecdsa-p384")) != 0 ||
	    (r = store_copy(root.hsm_key_id, sizeof(root.hsm_key_id),
	    rk.hex)) != 0 ||
	    (r = store_copy(issuing.id, sizeof(issuing.id), iss_id)) != 0 ||
	    (r = store_copy(issuing.tenant_id, sizeof(issuing.tenant_id),
	    tenant_id)) != 0 ||
	    (r = store_copy(issuing.name, sizeof(issuing.name),
	    BUILTIN_CA_ISSUING_NAME)) != 0 ||
	    (r = store_copy(issuing.role, sizeof(issuing.role), "issuing")) != 0 ||
	    (r = store_copy(issuing.parent_id, sizeof(issuing.parent_id),
	    root_id)) != 0 ||
	    (r = store_copy(issuing.algorithm, sizeof(issuing.algorithm),
	    "ecdsa-p384")) != 0 ||
	    (r = store_copy(issuing.hsm_key_id, sizeof(issuing.hsm_key_id),
	    ik.hex)) != 0)
		goto out;
	root.created_at = issuing.created_at = now;
	if ((r = store_ca_insert(conn, &root)) != 0 ||
	    (r = store_ca_insert(conn, &issuing)) != 0)
		goto out;
	r = 0;
 out:
	ca_key_done(srv != NULL ? srv->keeper : NULL, &rk, r != 0);
	ca_key_done(srv != NULL ? srv->keeper : NULL, &ik, r != 0);
	store_ca_clear(&root);
	store_ca_clear(&issuing);
	free(root_id);
	free(iss_id);
	free(org);
	free(root_dn);
	free(iss_dn);
	free(url);
	return r;
}
