/*
 * render.c - the JSON objects of the API (docs/API.md: T, S, P, K and the
 * CA object) built from store rows, and the PKCS#11 URI of a key.
 *
 * Renderers only format: nothing here decides a permission (authz.c does)
 * or reads anything the caller did not pass, except a team's members and a
 * project's owners.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca.h"
#include "err.h"
#include "render.h"
#include "store.h"
#include "store_auth.h"

int
render_team(struct db_conn *c, const struct store_team *t, json_t **out)
{
	json_t *members = NULL;
	int r;

	*out = NULL;
	if ((r = store_team_members(c, t->id, &members)) != 0)
		return r;
	*out = json_pack("{s:s, s:s, s:o, s:o}", "id", t->id, "name", t->name,
	    "members", members, "created_at", store_time_json(t->created_at));
	return *out != NULL ? 0 : SN_ERR_NOMEM;
}

int
render_sa(const struct store_sa *s, json_t **out)
{
	*out = json_pack("{s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:s, s:I, s:o, s:o}",
	    "id", s->id, "name", s->name, "team", "id", s->team_id, "name",
	    s->team_name, "public_key", s->public_key_pem != NULL ?
	    s->public_key_pem : "", "key_algorithm", s->key_algorithm,
	    "key_fingerprint", s->key_fingerprint, "key_version",
	    (json_int_t)s->key_version, "created_at", store_time_json(s->created_at),
	    "rotated_at", store_time_json(s->rotated_at));
	if (*out != NULL && strcmp(s->key_algorithm, SA_NO_KEY_ALG) == 0) {
		json_object_set_new(*out, "public_key", json_null());
		json_object_set_new(*out, "key_fingerprint", json_null());
	}
	return *out != NULL ? 0 : SN_ERR_NOMEM;
}

int
render_project(struct db_conn *c, const char *tenant_id,
    const struct store_project *p, json_t **out)
{
	json_t *owners = NULL;
	int r;

	*out = NULL;
	if ((r = store_project_principals(c, tenant_id, p->id, 0, &owners)) != 0)
		return r;
	*out = json_pack("{s:s, s:s, s:o, s:o}", "id", p->id, "name", p->name,
	    "owners", owners, "created_at", store_time_json(p->created_at));
	return *out != NULL ? 0 : SN_ERR_NOMEM;
}

const char *
render_key_state(const struct store_key *k, int64_t now)
{
	return store_key_state_at(k->state, k->not_before, k->not_after, now);
}

/* Appends s percent-encoded except RFC 7512's unreserved characters. */
static size_t
uri_pct(char *dst, const char *s, size_t n)
{
	static const char hexd[] = "0123456789ABCDEF";
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' ||
		    ch == '_' || ch == '~')
			dst[o++] = (char)ch;
		else {
			dst[o++] = '%';
			dst[o++] = hexd[ch >> 4];
			dst[o++] = hexd[ch & 15];
		}
	}
	return o;
}

/*
 * object= is the token's CKA_LABEL, "PROJECT/KEY" (the '/' encoded), so the
 * URI names one key even when two projects have a key of the same name:
 * consumers that match on the label alone (pkcs11-provider, libp11) cannot
 * pick the other project's key. id= is the key id's bytes, unique as well.
 */
int
render_pkcs11_uri(const char *project, const char *name, const char *key_id,
    char **out)
{
	static const char hexd[] = "0123456789ABCDEF";
	static const char prefix[] = "pkcs11:token=Signet;object=";
	size_t pl = strlen(project), nl = strlen(name), il = strlen(key_id);
	size_t cap, o = 0, i;
	char *s;

	*out = NULL;
	if (pl > 1024 || nl > 1024 || il > 256)
		return SN_ERR_INVALID;
	cap = sizeof(prefix) + 3 * (pl + 1 + nl) + 4 + 3 * il + 16;
	if ((s = malloc(cap)) == NULL)
		return SN_ERR_NOMEM;
	memcpy(s, prefix, sizeof(prefix) - 1);
	o = sizeof(prefix) - 1;
	o += uri_pct(s + o, project, pl);
	o += uri_pct(s + o, "/", 1);
	o += uri_pct(s + o, name, nl);
	memcpy(s + o, ";id=", 4);
	o += 4;
	for (i = 0; i < il; i++) {
		unsigned char ch = (unsigned char)key_id[i];

		s[o++] = '%';
		s[o++] = hexd[ch >> 4];
		s[o++] = hexd[ch & 15];
	}
	memcpy(s + o, ";type=private", sizeof(";type=private"));
	*out = s;
	return 0;
}

int
render_key(const struct store_key *k, int64_t now, json_t **out)
{
	char *uri = NULL;
	json_t *o = NULL;
	int r;

	*out = NULL;
	if ((r = render_pkcs11_uri(k->project_name, k->name, k->id, &uri)) != 0)
		return r;
	o = json_pack("{s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:o, s:o, s:s, "
	    "s:o, s:o, s:o, s:o, s:b, s:o, s:o, s:s}",
	    "id", k->id, "name", k->name,
	    "project", "id", k->project_id, "name", k->project_name,
	    "algorithm", k->algorithm,
	    "state", render_key_state(k, now),
	    "not_before", store_time_json(k->not_before),
	    "not_after", store_time_json(k->not_after),
	    "ca", k->ca_mode,
	    "subject", k->subject != NULL ? json_string(k->subject) : json_null(),
	    "public_key", k->public_key_pem != NULL ?
	    json_string(k->public_key_pem) : json_null(),
	    "certificate", k->cert_pem != NULL ? json_string(k->cert_pem) :
	    json_null(),
	    "certificate_serial", k->cert_serial != NULL ?
	    json_string(k->cert_serial) : json_null(),
	    "allow_sha1", k->allow_sha1,
	    "created_at", store_time_json(k->created_at),
	    "revoked_at", store_time_json(k->revoked_at),
	    "pkcs11_uri", uri);
	free(uri);
	if (o == NULL)
		return SN_ERR_NOMEM;
	/* The version (rotation). expires_in changes every second, so it is
	 * added only where asked for (/v1/me/keys, ?expiring=). */
	if (json_object_set_new(o, "version", json_integer(
	    (json_int_t)(k->version > 0 ? k->version : 1))) != 0) {
		json_decref(o);
		return SN_ERR_NOMEM;
	}
	/* Revocation details (issue 10): CRL and OCSP carry the same. */
	if (json_object_set_new(o, "revocation_reason",
	    k->revocation_reason[0] != '\0' ?
	    json_string(k->revocation_reason) : json_null()) != 0 ||
	    json_object_set_new(o, "compromised_at",
	    store_time_json(k->compromised_at)) != 0) {
		json_decref(o);
		return SN_ERR_NOMEM;
	}
	*out = o;
	return 0;
}

int64_t
render_key_expires_in(const struct store_key *k, int64_t now)
{
	int64_t end = k->not_after, na = 0;

	/* An imported certificate may end before the key's validity. */
	if (k->cert_pem != NULL &&
	    ca_cert_pem_not_after(k->cert_pem, &na) == 0 && na < end)
		end = na;
	return end > now ? end - now : 0;
}

int
render_ca(const struct store_ca *ca, json_t **out)
{
	char *subject = NULL;
	int64_t nb = 0, na = 0;
	int r;

	*out = NULL;
	if ((r = ca_cert_pem_info(ca->cert_pem, NULL, &nb, &na, &subject)) != 0)
		return r;
	*out = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:I, s:o}",
	    "id", ca->id, "name", ca->name, "role", ca->role,
	    "algorithm", ca->algorithm, "subject", subject,
	    "not_before", store_time_json(nb), "not_after", store_time_json(na),
	    "certificate", ca->cert_pem, "crl_number",
	    (json_int_t)ca->crl_number, "created_at", store_time_json(ca->created_at));
	free(subject);
	return *out != NULL ? 0 : SN_ERR_NOMEM;
}
