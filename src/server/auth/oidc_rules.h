/*
 * oidc_rules.h - the claim rules of a federation: which CI identity tokens
 * a service account trusts beyond issuer and audience.
 *
 * A rule set is a JSON object {claim: pattern}. Every rule must match: the
 * token's claim (a top-level string, integer or boolean; booleans as
 * "true"/"false") must equal the pattern, or match it as a glob (fnmatch(3)
 * without flags: '*' also matches '/', '?', [...] classes, '\' escapes).
 * A missing claim never matches. There are no implicit prefixes: "org/app"
 * does not match "org/app-evil"; "org/app*" would.
 */
#ifndef SIGNET_OIDC_RULES_H
#define SIGNET_OIDC_RULES_H

#include <stddef.h>

#include <jansson.h>

#define OIDC_RULES_MAX		16
#define OIDC_CLAIM_NAME_MAX	64
#define OIDC_PATTERN_MAX	256
#define OIDC_CLAIM_VALUE_MAX	1024

/*
 * Checks a rule set given by an administrator: an object of 1..OIDC_RULES_MAX
 * rules; claim names [A-Za-z0-9_.:-]{1,64} other than the ones checked
 * elsewhere (iss, aud, exp, nbf, iat); patterns 1..256 printable ASCII
 * characters that are not only wildcards (a rule that matches everything is
 * a mistake, not a rule). Returns 0 or SN_ERR_INVALID with a reason in why.
 */
int oidc_rules_check(json_t *rules, char *why, size_t whylen);

/*
 * 1 if every rule matches the token's claims, else 0 with *failed the first
 * claim name that did not (borrowed from rules).
 */
int oidc_rules_match(json_t *rules, json_t *claims, const char **failed);

/*
 * The provenance of an accepted token: {"issuer", "subject", "claims":{...}}
 * with the claims of the rules and the well-known CI claims (repository,
 * ref, workflow, run_id, sha, ...) present in the token as strings of at
 * most OIDC_CLAIM_VALUE_MAX bytes. New reference, NULL on ENOMEM.
 */
json_t *oidc_provenance(json_t *rules, json_t *claims, const char *issuer,
    const char *subject);

#endif
