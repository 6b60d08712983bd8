/*
 * policy.c - a key's signing policy as a whole: parse and validate the
 * JSON form, render it canonically, and decide a signature against it
 * (policy.h). Rules are checked in a fixed order (mechanisms, digests,
 * sources, windows, max_signatures) so that a request refused by any
 * other rule never consumes quota.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "policy.h"
#include "store_policies.h"

#define LIST_MAX	8

static int
bad(char msg[POLICY_MSG_MAX], const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
bad(char msg[POLICY_MSG_MAX], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, POLICY_MSG_MAX, fmt, ap);
	va_end(ap);
	return SN_ERR_INVALID;
}

/* An array of strings, 1..max long, no duplicates. */
static int
get_list(json_t *obj, const char *name, size_t max, json_t **out,
    char msg[POLICY_MSG_MAX])
{
	json_t *a = json_object_get(obj, name), *v;
	size_t i, j;

	*out = NULL;
	if (a == NULL || json_is_null(a))
		return 0;
	if (!json_is_array(a) || json_array_size(a) == 0 ||
	    json_array_size(a) > max) {
		snprintf(msg, POLICY_MSG_MAX, "field '%s' must be an array of 1 "
		    "to %zu strings", name, max);
		return SN_ERR_INVALID;
	}
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) > 128 ||
		    strlen(json_string_value(v)) != json_string_length(v)) {
			snprintf(msg, POLICY_MSG_MAX, "field '%s' must be an "
			    "array of 1 to %zu strings", name, max);
			return SN_ERR_INVALID;
		}
		for (j = 0; j < i; j++)
			if (strcmp(json_string_value(v), json_string_value(
			    json_array_get(a, j))) == 0)
				return bad(msg, "field '%s' names a value twice",
				    name);
	}
	*out = a;
	return 0;
}

/* "approval": {"team": NAME|ID, "approvals": K, "ttl": SECONDS|"24h"}
 * ("team_name", as GET shows it, is accepted; the API replaces it). */
static int
parse_approval(json_t *v, struct policy *out, char msg[POLICY_MSG_MAX])
{
	static const char *const allowed[] = { "team", "team_name",
	    "approvals", "ttl", NULL };
	json_t *m;
	const char *name;
	size_t i;

	if (!json_is_object(v))
		return bad(msg, "%s", "field 'approval' must be an object "
		    "{\"team\",\"approvals\",\"ttl\"}");
	json_object_foreach(v, name, m) {
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(name, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL)
			return bad(msg, "unknown field 'approval.%.64s'", name);
	}
	m = json_object_get(v, "team");
	if (!json_is_string(m) || json_string_length(m) == 0 ||
	    json_string_length(m) >= sizeof(out->approval_team) ||
	    strlen(json_string_value(m)) != json_string_length(m))
		return bad(msg, "%s", "field 'approval.team' must name a team");
	memcpy(out->approval_team, json_string_value(m),
	    json_string_length(m) + 1);
	m = json_object_get(v, "team_name");
	if (m != NULL && (!json_is_string(m) || json_string_length(m) >=
	    sizeof(out->approval_team_name)))
		return bad(msg, "%s", "field 'approval.team_name' must be a "
		    "string");
	if (m != NULL)	/* the API sets it from the team on every PUT */
		memcpy(out->approval_team_name, json_string_value(m),
		    json_string_length(m) + 1);
	out->approvals = 1;
	m = json_object_get(v, "approvals");
	if (m != NULL && (!json_is_integer(m) || json_integer_value(m) < 1 ||
	    json_integer_value(m) > POLICY_APPROVALS_MAX))
		return bad(msg, "field 'approval.approvals' must be an integer "
		    "from 1 to %d", POLICY_APPROVALS_MAX);
	if (m != NULL)
		out->approvals = json_integer_value(m);
	out->approval_ttl = POLICY_APPROVAL_TTL_DEFAULT;
	m = json_object_get(v, "ttl");
	if (m != NULL) {
		int64_t t = -1;

		if (json_is_integer(m))
			t = json_integer_value(m);
		else if (!json_is_string(m) || json_string_length(m) > 16 ||
		    sn_parse_duration(json_string_value(m), &t) != 0)
			t = -1;
		if (t < 60 || t > 30 * 86400)
			return bad(msg, "%s", "field 'approval.ttl' must be 60 "
			    "seconds to 30 days (seconds or a duration: 30m, "
			    "24h, 7d)");
		out->approval_ttl = t;
	}
	return 0;
}

int
policy_parse(json_t *obj, enum sn_key_alg key_alg, struct policy *out,
    char msg[POLICY_MSG_MAX])
{
	static const char *const allowed[] = { "mechanisms", "digests",
	    "windows", "max_signatures", "sources", "approval", NULL };
	const char *name;
	json_t *a, *v;
	size_t i;
	int r, rules = 0;

	memset(out, 0, sizeof(*out));
	msg[0] = '\0';
	if (!json_is_object(obj))
		return bad(msg, "%s", "the policy must be a JSON object");
	json_object_foreach(obj, name, v) {
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(name, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL)
			return bad(msg, "unknown field '%.64s'", name);
		if (!json_is_null(v))
			rules++;
	}
	if (rules == 0)
		return bad(msg, "%s", "a policy needs at least one rule "
		    "(DELETE the policy to lift every restriction)");

	if ((r = get_list(obj, "mechanisms", LIST_MAX, &a, msg)) != 0)
		return r;
	json_array_foreach(a, i, v) {
		enum sn_mech m = sn_mech_from_name(json_string_value(v));

		if (m == SN_MECH_NONE)
			return bad(msg, "unknown mechanism '%.32s' in "
			    "'mechanisms': use rsa-pkcs1, rsa-pss or ecdsa",
			    json_string_value(v));
		if (key_alg != SN_ALG_NONE && !sn_key_alg_allows_mech(key_alg, m))
			return bad(msg, "mechanism '%s' in 'mechanisms' does "
			    "not fit this key's algorithm", sn_mech_name(m));
		out->mechs |= 1u << m;
	}
	if ((r = get_list(obj, "digests", LIST_MAX, &a, msg)) != 0)
		return r;
	json_array_foreach(a, i, v) {
		enum sn_hash h = sn_hash_from_name(json_string_value(v));

		if (h == SN_HASH_NONE)
			return bad(msg, "unknown digest '%.32s' in 'digests': "
			    "use sha256, sha384 or sha512", json_string_value(v));
		out->digests |= 1u << h;
	}
	if ((r = get_list(obj, "windows", POLICY_MAX_WINDOWS, &a, msg)) != 0)
		return r;
	json_array_foreach(a, i, v) {
		char wmsg[POLICY_MSG_MAX];

		if (policy_window_parse(json_string_value(v),
		    &out->windows[out->nwindows], wmsg) != 0)
			return bad(msg, "windows[%zu]: %.200s", i, wmsg);
		out->nwindows++;
	}
	if ((r = get_list(obj, "sources", POLICY_MAX_SOURCES, &a, msg)) != 0)
		return r;
	json_array_foreach(a, i, v) {
		if (policy_cidr_parse(json_string_value(v),
		    &out->sources[out->nsources]) != 0)
			return bad(msg, "'%.64s' in 'sources' is not an IPv4 or "
			    "IPv6 address or CIDR without host bits (e.g. "
			    "192.0.2.0/24, 2001:db8::/32)", json_string_value(v));
		out->nsources++;
	}
	v = json_object_get(obj, "max_signatures");
	if (v != NULL && !json_is_null(v) && (!json_is_string(v) ||
	    json_string_length(v) > 32 ||
	    policy_quota_parse(json_string_value(v), &out->max_signatures,
	    &out->period) != 0))
		return bad(msg, "%s", "field 'max_signatures' must be "
		    "\"N/PERIOD\" with N from 1 to 999999999 and PERIOD hour, "
		    "day, week or month");
	v = json_object_get(obj, "approval");
	if (v != NULL && !json_is_null(v))
		return parse_approval(v, out, msg);
	return 0;
}

json_t *
policy_to_json(const struct policy *p)
{
	json_t *o = json_object(), *a;
	char buf[160];
	size_t i;
	int k;

	if (o == NULL)
		return NULL;
	if (p->mechs != 0 && (a = json_array()) != NULL) {
		for (k = SN_MECH_RSA_PKCS; k <= SN_MECH_ECDSA; k++)
			if (p->mechs & (1u << k))
				json_array_append_new(a, json_string(
				    sn_mech_name((enum sn_mech)k)));
		json_object_set_new(o, "mechanisms", a);
	}
	if (p->digests != 0 && (a = json_array()) != NULL) {
		for (k = SN_HASH_SHA1; k <= SN_HASH_SHA512; k++)
			if (p->digests & (1u << k))
				json_array_append_new(a, json_string(
				    sn_hash_name((enum sn_hash)k)));
		json_object_set_new(o, "digests", a);
	}
	if (p->nwindows > 0 && (a = json_array()) != NULL) {
		for (i = 0; i < p->nwindows; i++) {
			policy_window_format(&p->windows[i], buf, sizeof(buf));
			json_array_append_new(a, json_string(buf));
		}
		json_object_set_new(o, "windows", a);
	}
	if (p->max_signatures > 0) {
		snprintf(buf, sizeof(buf), "%lld/%s",
		    (long long)p->max_signatures, policy_period_name(p->period));
		json_object_set_new(o, "max_signatures", json_string(buf));
	}
	if (p->nsources > 0 && (a = json_array()) != NULL) {
		for (i = 0; i < p->nsources; i++) {
			policy_cidr_format(&p->sources[i], buf, sizeof(buf));
			json_array_append_new(a, json_string(buf));
		}
		json_object_set_new(o, "sources", a);
	}
	if (p->approval_team[0] != '\0')
		json_object_set_new(o, "approval", json_pack("{s:s, s:s?, s:I, "
		    "s:I}", "team", p->approval_team, "team_name",
		    p->approval_team_name[0] != '\0' ? p->approval_team_name :
		    NULL, "approvals", (json_int_t)p->approvals, "ttl",
		    (json_int_t)p->approval_ttl));
	return o;
}

static int
refuse(struct policy_verdict *v, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
refuse(struct policy_verdict *v, const char *rule, const char *fmt, ...)
{
	va_list ap;

	snprintf(v->rule, sizeof(v->rule), "%s", rule);
	va_start(ap, fmt);
	vsnprintf(v->message, sizeof(v->message), fmt, ap);
	va_end(ap);
	return SN_ERR_FORBIDDEN;
}

/* The key's stored policy, parsed; *found 0 if it has none. */
static int
load(struct db_conn *c, const char *tenant_id, const char *key_id,
    struct policy *p, int *found)
{
	struct store_policy sp;
	char msg[POLICY_MSG_MAX];
	int r;

	*found = 0;
	if ((r = store_policy_get(c, tenant_id, key_id, &sp)) != 0)
		return r == SN_ERR_NOT_FOUND ? 0 : r;
	/*
	 * A stored policy that no longer parses (its time zone was removed
	 * from the system, say) refuses everything rather than nothing.
	 */
	r = policy_parse(sp.policy, SN_ALG_NONE, p, msg);
	store_policy_clear(&sp);
	*found = 1;
	return r == 0 ? 0 : SN_ERR_INVALID;
}

int
policy_decide(struct db_conn *c, const struct policy_request *pr,
    int consume, struct policy_verdict *v)
{
	struct policy *p;
	int64_t start, next, used;
	char reset[32];
	size_t i;
	int r, found;

	memset(v, 0, sizeof(*v));
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return SN_ERR_NOMEM;
	if ((r = load(c, pr->tenant_id, pr->key_id, p, &found)) != 0) {
		if (r == SN_ERR_INVALID)
			r = refuse(v, "policy", "the key's stored policy is no "
			    "longer valid on this server; its owner must set "
			    "it again");
		goto out;
	}
	if (!found)
		goto out;
	if (p->mechs != 0 && !(p->mechs & (1u << pr->mech))) {
		r = refuse(v, "mechanisms", "policy rule 'mechanisms' does not "
		    "allow %s for this key", sn_mech_name(pr->mech));
		goto out;
	}
	if (p->digests != 0 && !(p->digests & (1u << pr->hash))) {
		r = refuse(v, "digests", "policy rule 'digests' does not allow "
		    "%s for this key", sn_hash_name(pr->hash));
		goto out;
	}
	if (p->nsources > 0) {
		for (i = 0; i < p->nsources; i++)
			if (policy_cidr_match(&p->sources[i], pr->source_ip))
				break;
		if (i == p->nsources) {
			r = refuse(v, "sources", "policy rule 'sources' does not "
			    "allow signing from %.64s", pr->source_ip != NULL &&
			    pr->source_ip[0] != '\0' ? pr->source_ip :
			    "an unknown address");
			goto out;
		}
	}
	if (p->nwindows > 0) {
		for (i = 0; i < p->nwindows; i++)
			if (policy_window_contains(&p->windows[i], pr->now))
				break;
		if (i == p->nwindows) {
			r = refuse(v, "windows", "policy rule 'windows' does not "
			    "allow signing at this time");
			goto out;
		}
	}
	if (p->max_signatures > 0) {
		const char *pname = policy_period_name(p->period);

		policy_period_bounds(p->period, pr->now, &start, &next);
		if ((r = store_quota_used(c, pr->tenant_id, pr->key_id, pname,
		    start, &used)) != 0)
			goto out;
		if (pr->count > p->max_signatures - used) {
			sn_format_time(next, reset);
			r = refuse(v, "max_signatures", "policy rule "
			    "'max_signatures' (%lld/%s): %lld left this %s, "
			    "%lld asked; resets at %s",
			    (long long)p->max_signatures, pname,
			    (long long)(used < p->max_signatures ?
			    p->max_signatures - used : 0), pname,
			    (long long)pr->count, reset);
			goto out;
		}
		if (consume && (r = store_quota_add(c, pr->tenant_id,
		    pr->key_id, pname, start, pr->count)) != 0)
			goto out;
	}
	r = 0;
	if (p->approval_team[0] != '\0') {
		memcpy(v->approval_team, p->approval_team,
		    sizeof(v->approval_team));
		v->approvals = p->approvals;
		v->approval_ttl = p->approval_ttl;
		r = POLICY_NEEDS_APPROVAL;
	}
 out:
	free(p);
	return r;
}

int
policy_quota_status(struct db_conn *c, const char *tenant_id,
    const char *key_id, int64_t now, struct policy_quota_status *out)
{
	struct policy *p;
	int64_t start;
	int r, found;

	memset(out, 0, sizeof(*out));
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return SN_ERR_NOMEM;
	r = load(c, tenant_id, key_id, p, &found);
	if (r == SN_ERR_INVALID) {	/* refuses everything: nothing left */
		out->has_policy = 1;
		r = 0;
		goto out;
	}
	if (r != 0 || !found)
		goto out;
	out->has_policy = 1;
	out->approval_required = p->approval_team[0] != '\0';
	memcpy(out->approval_team, p->approval_team, sizeof(out->approval_team));
	out->approval_ttl = p->approval_ttl;
	out->approvals = p->approvals;
	if (p->max_signatures == 0)
		goto out;
	out->has_quota = 1;
	out->max = p->max_signatures;
	out->period = p->period;
	policy_period_bounds(p->period, now, &start, &out->resets_at);
	if ((r = store_quota_used(c, tenant_id, key_id,
	    policy_period_name(p->period), start, &out->used)) != 0)
		goto out;
	out->remaining = out->used < out->max ? out->max - out->used : 0;
 out:
	free(p);
	return r;
}
