/*
 * policy.h - the signing policy of a key: which mechanisms and digests,
 * in which time windows, how many signatures per period and from which
 * source networks it may be used (docs/POLICIES.md).
 *
 * This module only parses, validates, renders and decides; it never
 * authorizes (authz_check does) and never records (the caller's audit
 * event does). policy_decide is meant to run inside the signature's audit
 * transaction, after db_chain_lock, so that a quota is consumed by exactly
 * the signatures that are released: concurrent signers are serialized by
 * the write lock (SQLite) or the tenant's chain lock (PostgreSQL).
 *
 * Return convention: 0 or a negative SN_ERR_*. Parse errors fill a
 * one-line message (never a secret) for the 400 the caller sends.
 */
#ifndef SIGNET_POLICY_H
#define SIGNET_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "alg.h"
#include "util.h"

struct db_conn;

#define POLICY_MAX_WINDOWS	16
#define POLICY_MAX_SOURCES	32
#define POLICY_ZONE_MAX		64
#define POLICY_MSG_MAX		256

enum policy_period {
	POLICY_PERIOD_NONE = 0,
	POLICY_PERIOD_HOUR,
	POLICY_PERIOD_DAY,
	POLICY_PERIOD_WEEK,
	POLICY_PERIOD_MONTH,
};

/* "Mon-Fri 08:00-18:00 Europe/Berlin": days as a tm_wday bit set (bit 0
 * Sunday), minutes from local midnight [start, end), the zone's name. */
struct policy_window {
	unsigned days;
	int start_min;
	int end_min;
	char zone[POLICY_ZONE_MAX];
};

struct policy_cidr {
	int family;			/* AF_INET or AF_INET6 */
	uint8_t addr[16];
	int prefix;
};

struct policy {
	unsigned mechs;			/* bit (1 << sn_mech); 0 = any */
	unsigned digests;		/* bit (1 << sn_hash); 0 = any */
	size_t nwindows;
	struct policy_window windows[POLICY_MAX_WINDOWS];
	int64_t max_signatures;		/* 0 = no quota */
	enum policy_period period;
	size_t nsources;
	struct policy_cidr sources[POLICY_MAX_SOURCES];
	/* approval: a team's members (not the requester) approve each
	 * request first; "" = none. approval_team is a team id once the API
	 * resolved the name given (policy_parse leaves the name). */
	char approval_team[POLICY_ZONE_MAX];
	char approval_team_name[POLICY_ZONE_MAX + 8];
	int64_t approvals;		/* votes needed, 1..10 */
	int64_t approval_ttl;		/* seconds, 60..30 days */
};

#define POLICY_APPROVAL_TTL_DEFAULT	86400
#define POLICY_APPROVALS_MAX		10

/*
 * Parses and validates a policy object (the body of PUT
 * /v1/keys/{id}/policy, or a stored policy): members "mechanisms",
 * "digests", "windows", "max_signatures", "sources", each optional, at
 * least one given; unknown members, wrong types, bad values are
 * SN_ERR_INVALID with msg set. key_alg, if not SN_ALG_NONE, must allow
 * every mechanism named.
 */
int policy_parse(json_t *obj, enum sn_key_alg key_alg, struct policy *out,
    char msg[POLICY_MSG_MAX]) SN_WUR;
/* The canonical JSON form (only the rules that are set). New reference,
 * NULL on ENOMEM. */
json_t *policy_to_json(const struct policy *p);

/* One window or CIDR (exposed for the unit tests and the CLI docs). */
int policy_window_parse(const char *s, struct policy_window *out,
    char msg[POLICY_MSG_MAX]) SN_WUR;
void policy_window_format(const struct policy_window *w, char *buf,
    size_t len);
int policy_cidr_parse(const char *s, struct policy_cidr *out) SN_WUR;
void policy_cidr_format(const struct policy_cidr *c, char *buf, size_t len);
/* 1 if the textual address ip lies in c (IPv4-mapped IPv6 addresses
 * count as IPv4), 0 if not or if ip does not parse. */
int policy_cidr_match(const struct policy_cidr *c, const char *ip);

/*
 * The local day of week (0 Sunday) and minute of day of t in zone, from
 * the system's time zone database. Thread-safe (see policy_tz.c).
 * SN_ERR_INVALID for a zone with no zoneinfo file.
 */
int policy_tz_local(const char *zone, int64_t t, int *wday, int *minute)
    SN_WUR;
/* 1 if zone names a file of the time zone database. */
int policy_tz_valid(const char *zone);
/* 1 if t falls in w. An unusable zone is never inside (fails closed). */
int policy_window_contains(const struct policy_window *w, int64_t t);

/* The quota period containing t (UTC): its start and the next one's. */
void policy_period_bounds(enum policy_period p, int64_t t, int64_t *start,
    int64_t *next);
const char *policy_period_name(enum policy_period p);	/* "day"; NULL */
/* "100/day" -> 100, POLICY_PERIOD_DAY. SN_ERR_INVALID. */
int policy_quota_parse(const char *s, int64_t *n, enum policy_period *p)
    SN_WUR;

/* What a signature asks for. */
struct policy_request {
	const char *tenant_id;
	const char *key_id;
	enum sn_mech mech;
	enum sn_hash hash;
	const char *source_ip;
	int64_t count;			/* digests in the request */
	int64_t now;
};

/* Why it was refused: rule is the policy member that refused. */
struct policy_verdict {
	char rule[32];			/* "windows", "max_signatures", ... */
	char message[POLICY_MSG_MAX];
	char approval_team[POLICY_ZONE_MAX];	/* POLICY_NEEDS_APPROVAL */
	int64_t approvals;
	int64_t approval_ttl;
};

/*
 * Decides pr against the key's stored policy (none: allowed). consume:
 * count the request's signatures against the quota (inside the audit
 * transaction that releases them; rolled back with it). Returns 0 if
 * allowed, POLICY_NEEDS_APPROVAL (positive) if every rule allows and the
 * policy names an approval team (v->approval_* filled; the caller decides
 * whether this request has its approval), SN_ERR_FORBIDDEN with v filled
 * if a rule refuses, or a store error (SN_ERR_DB).
 */
#define POLICY_NEEDS_APPROVAL	1
int policy_decide(struct db_conn *c, const struct policy_request *pr,
    int consume, struct policy_verdict *v) SN_WUR;

/* The quota of a key as its signers see it. */
struct policy_quota_status {
	int has_policy;
	int approval_required;
	char approval_team[POLICY_ZONE_MAX];	/* its id, when required */
	int64_t approval_ttl;
	int64_t approvals;			/* K */
	int has_quota;
	int64_t max;
	enum policy_period period;
	int64_t used;
	int64_t remaining;
	int64_t resets_at;
};
int policy_quota_status(struct db_conn *c, const char *tenant_id,
    const char *key_id, int64_t now, struct policy_quota_status *out) SN_WUR;

#endif
