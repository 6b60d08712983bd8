/*
 * oidc_rules.c - claim rules of federations and the provenance of accepted
 * ID tokens. See oidc_rules.h.
 */
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "oidc_rules.h"

/* What CI systems put in their ID tokens about the job (GitHub Actions,
 * GitLab CI, Buildkite, Kubernetes), kept in the audit trail when present. */
static const char *const ci_claims[] = {
	"repository", "repository_owner", "ref", "ref_type", "sha",
	"workflow", "workflow_ref", "job_workflow_ref", "run_id",
	"run_attempt", "run_number", "actor", "event_name", "environment",
	"project_path", "namespace_path", "pipeline_id", "pipeline_source",
	"job_id", "user_login", "organization_slug", "pipeline_slug",
	"build_number", "build_id", "step_key",
	NULL,
};

static int
valid_claim_name(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > OIDC_CLAIM_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.' ||
		    s[i] == ':' || s[i] == '-'))
			return 0;
	return strcmp(s, "iss") != 0 && strcmp(s, "aud") != 0 &&
	    strcmp(s, "exp") != 0 && strcmp(s, "nbf") != 0 &&
	    strcmp(s, "iat") != 0;
}

int
oidc_rules_check(json_t *rules, char *why, size_t whylen)
{
	const char *k, *p;
	json_t *v;
	size_t i, n;
	int only_wild;

	if (!json_is_object(rules) || json_object_size(rules) == 0 ||
	    json_object_size(rules) > OIDC_RULES_MAX) {
		snprintf(why, whylen, "field 'claims' must be an object of 1 to "
		    "%d claim rules", OIDC_RULES_MAX);
		return SN_ERR_INVALID;
	}
	json_object_foreach(rules, k, v) {
		if (!valid_claim_name(k)) {
			snprintf(why, whylen, "claim names are 1 to %d characters "
			    "of A-Z a-z 0-9 _ . : - (and not iss, aud, exp, nbf, "
			    "iat)", OIDC_CLAIM_NAME_MAX);
			return SN_ERR_INVALID;
		}
		if (!json_is_string(v) || (n = json_string_length(v)) == 0 ||
		    n > OIDC_PATTERN_MAX) {
			snprintf(why, whylen, "the pattern of claim '%s' must be a "
			    "string of 1 to %d characters", k, OIDC_PATTERN_MAX);
			return SN_ERR_INVALID;
		}
		p = json_string_value(v);
		only_wild = 1;
		for (i = 0; i < n; i++) {
			if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] > 0x7e) {
				snprintf(why, whylen, "the pattern of claim '%s' must "
				    "be printable ASCII", k);
				return SN_ERR_INVALID;
			}
			if (p[i] != '*' && p[i] != '?')
				only_wild = 0;
		}
		if (only_wild) {
			snprintf(why, whylen, "the pattern of claim '%s' matches "
			    "every value", k);
			return SN_ERR_INVALID;
		}
	}
	return 0;
}

/* The claim as text, or 0 if it is absent or not a scalar. */
static int
claim_text(json_t *v, char *buf, size_t len)
{
	if (json_is_string(v)) {
		if (json_string_length(v) >= len ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return 0;
		memcpy(buf, json_string_value(v), json_string_length(v) + 1);
		return 1;
	}
	if (json_is_integer(v)) {
		snprintf(buf, len, "%" PRId64, (int64_t)json_integer_value(v));
		return 1;
	}
	if (json_is_boolean(v)) {
		snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
		return 1;
	}
	return 0;
}

int
oidc_rules_match(json_t *rules, json_t *claims, const char **failed)
{
	char val[OIDC_CLAIM_VALUE_MAX + 1];
	const char *k;
	json_t *v;

	*failed = NULL;
	json_object_foreach(rules, k, v) {
		const char *pat = json_string_value(v);

		if (pat == NULL ||
		    !claim_text(json_object_get(claims, k), val, sizeof(val)) ||
		    (strcmp(pat, val) != 0 && fnmatch(pat, val, 0) != 0)) {
			*failed = k;
			return 0;
		}
	}
	return 1;
}

json_t *
oidc_provenance(json_t *rules, json_t *claims, const char *issuer,
    const char *subject)
{
	char val[OIDC_CLAIM_VALUE_MAX + 1];
	json_t *p, *cl, *v;
	const char *k;
	size_t i;

	if ((p = json_object()) == NULL || (cl = json_object()) == NULL) {
		json_decref(p);
		return NULL;
	}
	json_object_set_new(p, "issuer", json_string(issuer));
	json_object_set_new(p, "subject", json_string(subject));
	for (i = 0; ci_claims[i] != NULL; i++)
		if (claim_text(json_object_get(claims, ci_claims[i]), val,
		    sizeof(val)))
			json_object_set_new(cl, ci_claims[i], json_string(val));
	json_object_foreach(rules, k, v)
		if (claim_text(json_object_get(claims, k), val, sizeof(val)))
			json_object_set_new(cl, k, json_string(val));
	json_object_set_new(p, "claims", cl);
	return p;
}
