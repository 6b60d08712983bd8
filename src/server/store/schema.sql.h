/*
 * schema.sql.h - the database schema, as numbered migrations.
 *
 * Portable SQL only (SQLite 3.35+ and PostgreSQL 13+ both accept every
 * statement here): TEXT ids, BIGINT times (seconds since the epoch), INTEGER
 * 0/1 booleans, BLOB -> the PostgreSQL backend maps BLOB to BYTEA when it
 * applies these. Never edit a migration that has shipped: add a new one.
 *
 * Every tenant-owned table carries tenant_id, and every query filters on it;
 * that is how "nothing crosses tenants" is kept in the store.
 */
#ifndef SIGNET_SCHEMA_SQL_H
#define SIGNET_SCHEMA_SQL_H

static const char *const signet_migrations[] = {
/* 1: identities, projects, keys, CAs, audit */
"CREATE TABLE tenants ("
"  id TEXT PRIMARY KEY,"
"  name TEXT NOT NULL UNIQUE,"
"  created_at BIGINT NOT NULL);"
"CREATE TABLE users ("
"  id TEXT PRIMARY KEY,"
"  tenant_id TEXT NOT NULL REFERENCES tenants(id),"
"  email TEXT NOT NULL,"
"  role TEXT NOT NULL CHECK (role IN ('admin','user')),"
"  disabled INTEGER NOT NULL DEFAULT 0,"
"  created_at BIGINT NOT NULL,"
"  UNIQUE (tenant_id, email));"
"CREATE TABLE api_keys ("
"  id TEXT PRIMARY KEY,"
"  tenant_id TEXT NOT NULL REFERENCES tenants(id),"
"  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
"  secret_hash BLOB NOT NULL,"
"  description TEXT,"
"  created_at BIGINT NOT NULL,"
"  expires_at BIGINT,"
"  revoked_at BIGINT,"
"  last_used_at BIGINT);"
"CREATE INDEX api_keys_user ON api_keys (user_id);"
"CREATE TABLE teams ("
"  id TEXT PRIMARY KEY,"
"  tenant_id TEXT NOT NULL REFERENCES tenants(id),"
"  name TEXT NOT NULL,"
"  created_at BIGINT NOT NULL,"
"  UNIQUE (tenant_id, name));"
"CREATE TABLE team_members ("
"  team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,"
"  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
"  is_owner INTEGER NOT NULL DEFAULT 0,"
"  created_at BIGINT NOT NULL,"
"  PRIMARY KEY (team_id, user_id));"
"CREATE INDEX team_members_user ON team_members (user_id);"
"CREATE TABLE service_accounts ("
"  id TEXT PRIMARY KEY,"
"  tenant_id TEXT NOT NULL REFERENCES tenants(id),"
"  team_id TEXT NOT NULL REFERENCES teams(id),"
"  name TEXT NOT NULL,"
"  public_key_pem TEXT NOT NULL,"
"  key_algorithm TEXT NOT NULL,"
"  key_fingerprint TEXT NOT NULL,"
"  key_version INTEGER NOT NULL DEFAULT 1,"
"  created_at BIGINT NOT NULL,"
"  rotated_at BIGINT,"
"  UNIQUE (tenant_id, name));"
"CREATE TABLE access_tokens ("
"  id TEXT PRIMARY KEY,"
"  tenant_id TEXT NOT NULL REFERENCES tenants(id),"
"  service_account_id TEXT NOT NULL REFERENCES service_accounts(id) ON DELETE CASCADE,"
"  key_version INTEGER NOT NULL,"
"  secret_hash BLOB NOT NULL,"
"  created_at BIGINT NOT NULL,"
"  expires_at BIGINT NOT NULL);"
"CREATE TABLE jwt_replay ("
"  service_account_id TEXT NOT NULL,"
"  jti TEXT NOT NULL,"
"  expires_at BIGINT NOT NULL,"
"  PRIMARY KEY (service_account_id, jti));"
"CREATE TABLE projects ("
"  id TEXT PRIMARY KEY,"
"  tenant_id TEXT NOT NULL REFERENCES tenants(id),"
"  name TEXT NOT NULL,"
"  created_at BIGINT NOT NULL,"
"  UNIQUE (tenant_id, name));"
"CREATE TABLE project_owners ("
"  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,"
"  principal_type TEXT NOT NULL CHECK (principal_type IN ('user','team')),"
"  principal_id TEXT NOT NULL,"
"  created_at BIGINT NOT NULL,"
"  PRIMARY KEY (project_id, principal_type, principal_id));"
"CREATE TABLE project_signers ("
"  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,"
"  principal_type TEXT NOT NULL CHECK (principal_type IN ('user','team','service_account')),"
"  principal_id TEXT NOT NULL,"
"  created_at BIGINT NOT NULL,"
"  PRIMARY KEY (project_id, principal_type, principal_id));"
"CREATE INDEX project_signers_principal ON project_signers (principal_id);"
"CREATE TABLE cas ("
"  id TEXT PRIMARY KEY,"
"  tenant_id TEXT NOT NULL REFERENCES tenants(id),"
"  name TEXT NOT NULL,"
"  role TEXT NOT NULL CHECK (role IN ('root','issuing')),"
"  parent_id TEXT REFERENCES cas(id),"
"  algorithm TEXT NOT NULL,"
"  hsm_key_id TEXT NOT NULL,"
"  cert_pem TEXT NOT NULL,"
"  crl_number BIGINT NOT NULL DEFAULT 0,"
"  created_at BIGINT NOT NULL,"
"  UNIQUE (tenant_id, name));"
"CREATE TABLE signing_keys ("
"  id TEXT PRIMARY KEY,"
"  tenant_id TEXT NOT NULL REFERENCES tenants(id),"
"  project_id TEXT NOT NULL REFERENCES projects(id),"
"  name TEXT NOT NULL,"
"  algorithm TEXT NOT NULL,"
"  state TEXT NOT NULL CHECK (state IN ('active','disabled','revoked')),"
"  not_before BIGINT NOT NULL,"
"  not_after BIGINT NOT NULL,"
"  ca_mode TEXT NOT NULL CHECK (ca_mode IN ('builtin','external','none')),"
"  ca_id TEXT REFERENCES cas(id),"
"  subject TEXT,"
"  allow_sha1 INTEGER NOT NULL DEFAULT 0,"
"  hsm_key_id TEXT,"
"  public_key_pem TEXT,"
"  cert_pem TEXT,"
"  chain_pem TEXT,"
"  cert_serial TEXT,"
"  revoked_at BIGINT,"
"  created_at BIGINT NOT NULL,"
"  UNIQUE (project_id, name));"
"CREATE INDEX signing_keys_tenant ON signing_keys (tenant_id);"
"CREATE TABLE audit_events ("
"  seq BIGINT NOT NULL,"
"  tenant_id TEXT NOT NULL,"
"  id TEXT NOT NULL UNIQUE,"
"  time BIGINT NOT NULL,"
"  actor_type TEXT NOT NULL,"
"  actor_id TEXT NOT NULL,"
"  action TEXT NOT NULL,"
"  object_type TEXT NOT NULL,"
"  object_id TEXT NOT NULL,"
"  result TEXT NOT NULL,"
"  details TEXT NOT NULL,"
"  source_ip TEXT NOT NULL,"
"  prev_hash TEXT NOT NULL,"
"  hash TEXT NOT NULL,"
"  PRIMARY KEY (tenant_id, seq));",
/*
 * 2: a service-account public key belongs to one account only, across all
 * tenants. The token endpoint finds an account by the key that verifies the
 * assertion; if another tenant could register the same public key, it could
 * make the rightful account's login ambiguous.
 */
"CREATE UNIQUE INDEX service_accounts_key ON service_accounts (key_fingerprint);",
/*
 * 3: OIDC federation (issue 14). A service account may trust a CI system's
 * ID tokens: issuer, audience, claim rules (JSON object claim -> pattern)
 * and the oldest token (seconds since iat) it accepts. Access tokens got by
 * a token exchange remember their federation (deleted with it) and the
 * claims that matched (carried into every key.sign event).
 */
"CREATE TABLE sa_federations ("
"  id TEXT PRIMARY KEY,"
"  tenant_id TEXT NOT NULL REFERENCES tenants(id),"
"  service_account_id TEXT NOT NULL REFERENCES service_accounts(id) ON DELETE CASCADE,"
"  issuer TEXT NOT NULL,"
"  audience TEXT NOT NULL,"
"  claims TEXT NOT NULL,"
"  max_token_age BIGINT NOT NULL,"
"  created_at BIGINT NOT NULL);"
"CREATE INDEX sa_federations_account ON sa_federations (service_account_id);"
"ALTER TABLE access_tokens ADD COLUMN federation_id TEXT;"
"ALTER TABLE access_tokens ADD COLUMN provenance TEXT;",
/*
 * 4: web console sessions (src/server/auth/session.c). Only the SHA-256 of
 * the cookie secret is stored. A session is bound to the API key it was
 * opened with: revoking that key, or disabling the user, ends it.
 */
"CREATE TABLE console_sessions ("
"  id TEXT PRIMARY KEY,"
"  tenant_id TEXT NOT NULL REFERENCES tenants(id),"
"  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
"  api_key_id TEXT NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,"
"  secret_hash BLOB NOT NULL,"
"  created_at BIGINT NOT NULL,"
"  last_seen_at BIGINT NOT NULL,"
"  expires_at BIGINT NOT NULL,"
"  ended_at BIGINT);"
"CREATE INDEX console_sessions_user ON console_sessions (user_id);",
/*
 * 5: the transparency log over each tenant's audit chain (docs/AUDIT.md).
 * audit_tree holds every complete subtree of the tenant's RFC 9162 tree
 * (level 0 = leaf hashes, node (level, idx) covers leaves idx*2^level ..
 * (idx+1)*2^level - 1), written once when it fills, in the transaction of
 * the event that fills it; proofs read O(log n) of them. Existing events
 * are added on the next append or at start-up (tlog_catch_up).
 * audit_log_keys: the tenant's Ed25519 checkpoint key (in the HSM).
 * audit_checkpoints: every signed checkpoint (C2SP signed note).
 */
"CREATE TABLE audit_tree ("
"  tenant_id TEXT NOT NULL,"
"  level INTEGER NOT NULL CHECK (level >= 0 AND level < 63),"
"  idx BIGINT NOT NULL CHECK (idx >= 0),"
"  hash BLOB NOT NULL CHECK (length(hash) = 32),"
"  PRIMARY KEY (tenant_id, level, idx));"
"CREATE TABLE audit_log_keys ("
"  tenant_id TEXT PRIMARY KEY,"
"  origin TEXT NOT NULL,"
"  hsm_key_id TEXT NOT NULL,"
"  public_key BLOB NOT NULL CHECK (length(public_key) = 32),"
"  created_at BIGINT NOT NULL);"
"CREATE TABLE audit_checkpoints ("
"  tenant_id TEXT NOT NULL,"
"  size BIGINT NOT NULL CHECK (size > 0),"
"  root BLOB NOT NULL CHECK (length(root) = 32),"
"  note TEXT NOT NULL,"
"  created_at BIGINT NOT NULL,"
"  PRIMARY KEY (tenant_id, size));",
/*
 * 6 (issue 10): each tenant's RFC 3161 timestamping authority (its key in
 * the HSM, its certificate from the tenant's issuing CA), and the reason
 * and key-compromise time of a revocation, for CRLs and OCSP.
 */
"CREATE TABLE tsas ("
"  tenant_id TEXT PRIMARY KEY REFERENCES tenants(id),"
"  hsm_key_id TEXT NOT NULL,"
"  algorithm TEXT NOT NULL,"
"  cert_pem TEXT NOT NULL,"
"  created_at BIGINT NOT NULL);"
"ALTER TABLE signing_keys ADD COLUMN revocation_reason TEXT;"
"ALTER TABLE signing_keys ADD COLUMN compromised_at BIGINT;",
/*
 * 7 (issue 10): renewal and rotation. signing_keys holds the current
 * version and certificate; certificates a renewal or rotation replaced stay
 * in key_certificates (listed, on the CRL and in OCSP if the key is
 * revoked, valid until they expire), and the public keys of rotated-out
 * versions in key_versions (their HSM keys are destroyed: they never sign
 * again).
 */
"ALTER TABLE signing_keys ADD COLUMN version INTEGER NOT NULL DEFAULT 1;"
"CREATE TABLE key_certificates ("
"  tenant_id TEXT NOT NULL,"
"  key_id TEXT NOT NULL REFERENCES signing_keys(id) ON DELETE CASCADE,"
"  version INTEGER NOT NULL,"
"  ca_id TEXT,"
"  cert_serial TEXT,"
"  cert_pem TEXT NOT NULL,"
"  chain_pem TEXT,"
"  not_before BIGINT NOT NULL,"
"  not_after BIGINT NOT NULL,"
"  replaced_at BIGINT NOT NULL);"
"CREATE INDEX key_certificates_key ON key_certificates (key_id);"
"CREATE INDEX key_certificates_serial ON key_certificates (ca_id, cert_serial);"
"CREATE TABLE key_versions ("
"  tenant_id TEXT NOT NULL,"
"  key_id TEXT NOT NULL REFERENCES signing_keys(id) ON DELETE CASCADE,"
"  version INTEGER NOT NULL,"
"  hsm_key_id TEXT NOT NULL,"
"  public_key_pem TEXT NOT NULL,"
"  created_at BIGINT NOT NULL,"
"  retired_at BIGINT NOT NULL,"
"  PRIMARY KEY (key_id, version));",
/*
 * 8 (issue 15): CRL entries that outlive their key. Deleting a key whose
 * built-in-CA certificates (the current one and those a renewal or
 * rotation replaced) are still valid revokes them in the same transaction
 * and keeps their serials here until they expire, so the CRL and OCSP
 * never lose a serial and no valid certificate becomes unrevocable.
 */
"CREATE TABLE crl_entries ("
"  ca_id TEXT NOT NULL REFERENCES cas(id),"
"  tenant_id TEXT NOT NULL REFERENCES tenants(id),"
"  serial TEXT NOT NULL,"
"  revoked_at BIGINT NOT NULL,"
"  reason TEXT,"
"  compromised_at BIGINT,"
"  not_after BIGINT NOT NULL,"
"  key_id TEXT NOT NULL,"
"  PRIMARY KEY (ca_id, serial));",
/*
 * 9 (issue 15): HSM keys whose creation has not completed. The CKA_ID is
 * chosen and committed here before the keeper generates the key, and the
 * row is deleted with the insert of the key's own row; what is left at
 * start (signetd was killed in between) is destroyed (api/keygen.c).
 */
"CREATE TABLE hsm_pending ("
"  hsm_key_id TEXT PRIMARY KEY,"
"  label TEXT NOT NULL,"
"  tenant_id TEXT NOT NULL,"
"  created_at BIGINT NOT NULL);",
/*
 * 10 (issue 11): signing policies, one per key (the canonical JSON of
 * policy_to_json), and the signature counters of their quotas, changed
 * only inside the transaction that commits the signatures they count.
 */
"CREATE TABLE key_policies ("
"  tenant_id TEXT NOT NULL,"
"  key_id TEXT PRIMARY KEY REFERENCES signing_keys(id) ON DELETE CASCADE,"
"  policy TEXT NOT NULL,"
"  updated_at BIGINT NOT NULL,"
"  updated_by TEXT NOT NULL);"
"CREATE TABLE key_sign_counts ("
"  tenant_id TEXT NOT NULL,"
"  key_id TEXT NOT NULL REFERENCES signing_keys(id) ON DELETE CASCADE,"
"  period TEXT NOT NULL CHECK (period IN ('hour','day','week','month')),"
"  period_start BIGINT NOT NULL,"
"  count BIGINT NOT NULL CHECK (count >= 0),"
"  PRIMARY KEY (key_id, period, period_start));",
/*
 * 11 (issue 11): approvals of signing requests for keys whose policy names
 * an approval team: the request as the approvers see it, its state, the
 * votes, and once signed the answer, so that re-sending the same request
 * returns the same signatures.
 */
"CREATE TABLE approvals ("
"  id TEXT PRIMARY KEY,"
"  tenant_id TEXT NOT NULL,"
"  key_id TEXT NOT NULL REFERENCES signing_keys(id) ON DELETE CASCADE,"
"  team_id TEXT NOT NULL,"
"  required INTEGER NOT NULL CHECK (required >= 1),"
"  ttl BIGINT NOT NULL,"
"  requester_type TEXT NOT NULL,"
"  requester_id TEXT NOT NULL,"
"  requester_name TEXT NOT NULL,"
"  fingerprint TEXT NOT NULL,"
"  request TEXT NOT NULL,"
"  state TEXT NOT NULL CHECK (state IN ('pending','approved','denied','signed')),"
"  created_at BIGINT NOT NULL,"
"  expires_at BIGINT NOT NULL,"
"  decided_at BIGINT,"
"  response TEXT);"
"CREATE INDEX approvals_request ON approvals (tenant_id, key_id, requester_id, fingerprint);"
"CREATE INDEX approvals_tenant ON approvals (tenant_id, created_at);"
"CREATE TABLE approval_votes ("
"  approval_id TEXT NOT NULL REFERENCES approvals(id) ON DELETE CASCADE,"
"  approver_id TEXT NOT NULL,"
"  approver_name TEXT NOT NULL,"
"  vote TEXT NOT NULL CHECK (vote IN ('approve','deny')),"
"  comment TEXT,"
"  created_at BIGINT NOT NULL,"
"  PRIMARY KEY (approval_id, approver_id));",
/*
 * 12 (issue 18): indexes so that costs stay flat as the data grows.
 * GET /v1/audit?key= / ?actor= / ?action= read one page of the tenant's
 * events for that object, actor or action in seq order instead of
 * scanning the whole chain; the paged lists filter projects by owner
 * (project_owners_principal, beside migration 1's project_signers_principal),
 * service accounts by team, keys by name (name first: an index that starts
 * with tenant_id would lure SQLite into reading all of a tenant's keys for
 * each project of a page). team_members_user_team lets "the teams of this
 * user" (authz_check's signer and owner rules on the signing path, the
 * list filters) start from the user, not from every team of the tenant;
 * signing_keys_cert serves OCSP. Plain CREATE INDEX: PostgreSQL reads it
 * the same.
 */
"CREATE INDEX audit_events_object ON audit_events (tenant_id, object_type, object_id, seq);"
"CREATE INDEX audit_events_actor ON audit_events (tenant_id, actor_id, seq);"
"CREATE INDEX audit_events_action ON audit_events (tenant_id, action, seq);"
"CREATE INDEX project_owners_principal ON project_owners (principal_id);"
"CREATE INDEX service_accounts_team ON service_accounts (team_id);"
"CREATE INDEX signing_keys_name ON signing_keys (name, tenant_id);"
"CREATE INDEX signing_keys_cert ON signing_keys (ca_id, cert_serial);"
"CREATE INDEX team_members_user_team ON team_members (user_id, team_id);"
"CREATE INDEX access_tokens_account ON access_tokens (service_account_id);",
/*
 * 13 (issue 11): pre-approval grants (an approver lets one principal sign
 * the next max_signatures with a key without approval until expires_at;
 * "used" changes only inside the transaction that commits the signatures
 * it counts) and pre-declared digests (an approval asked for before
 * signing: each digest signs at most once once it is approved, used_at
 * set in the signature's audit transaction).
 */
"CREATE TABLE approval_grants ("
"  id TEXT PRIMARY KEY,"
"  tenant_id TEXT NOT NULL,"
"  key_id TEXT NOT NULL REFERENCES signing_keys(id) ON DELETE CASCADE,"
"  team_id TEXT NOT NULL,"
"  principal_type TEXT NOT NULL CHECK (principal_type IN ('user','service_account')),"
"  principal_id TEXT NOT NULL,"
"  principal_name TEXT NOT NULL,"
"  max_signatures BIGINT NOT NULL CHECK (max_signatures >= 1),"
"  used BIGINT NOT NULL DEFAULT 0 CHECK (used >= 0 AND used <= max_signatures),"
"  created_by TEXT NOT NULL,"
"  created_by_name TEXT NOT NULL,"
"  created_at BIGINT NOT NULL,"
"  expires_at BIGINT NOT NULL,"
"  revoked_at BIGINT,"
"  revoked_by TEXT);"
"CREATE INDEX approval_grants_key ON approval_grants (tenant_id, key_id, principal_id);"
"CREATE TABLE approval_digests ("
"  approval_id TEXT NOT NULL REFERENCES approvals(id) ON DELETE CASCADE,"
"  digest_algorithm TEXT NOT NULL,"
"  digest TEXT NOT NULL,"
"  used_at BIGINT,"
"  PRIMARY KEY (approval_id, digest_algorithm, digest));"
"CREATE INDEX approval_digests_digest ON approval_digests (digest, digest_algorithm);",
/*
 * 14 (issue 11): webhooks per tenant and their delivery queue. A delivery
 * is one event for one webhook; an instance claims it (claimed_by,
 * claimed_until: a guarded UPDATE, so two instances never send the same
 * attempt), POSTs it and records the attempt. approvals.expiry_notified:
 * the approval.expired event was queued (once, by whichever instance saw
 * the expiry first).
 */
"CREATE TABLE webhooks ("
"  id TEXT PRIMARY KEY,"
"  tenant_id TEXT NOT NULL,"
"  url TEXT NOT NULL,"
"  events TEXT NOT NULL,"
"  secret TEXT NOT NULL,"
"  created_by TEXT NOT NULL,"
"  created_at BIGINT NOT NULL);"
"CREATE INDEX webhooks_tenant ON webhooks (tenant_id);"
"CREATE TABLE webhook_deliveries ("
"  id TEXT PRIMARY KEY,"
"  tenant_id TEXT NOT NULL,"
"  webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,"
"  event_id TEXT NOT NULL,"
"  event_type TEXT NOT NULL,"
"  payload TEXT NOT NULL,"
"  state TEXT NOT NULL CHECK (state IN ('pending','delivered','failed')),"
"  attempts INTEGER NOT NULL DEFAULT 0,"
"  next_attempt_at BIGINT NOT NULL,"
"  claimed_by TEXT,"
"  claimed_until BIGINT,"
"  created_at BIGINT NOT NULL,"
"  finished_at BIGINT);"
"CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);"
"CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (webhook_id, created_at);"
"CREATE TABLE webhook_attempts ("
"  delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,"
"  attempt INTEGER NOT NULL,"
"  at BIGINT NOT NULL,"
"  http_status INTEGER NOT NULL,"
"  error TEXT,"
"  duration_ms BIGINT NOT NULL,"
"  PRIMARY KEY (delivery_id, attempt));"
"ALTER TABLE approvals ADD COLUMN expiry_notified INTEGER NOT NULL DEFAULT 0;",
/*
 * 16: the listing generation of each tenant (store_listing.c): a random
 * value replaced, in the same transaction, by every change that can alter
 * what GET /v1/me/keys shows; its ETag is derived from it. A tenant
 * without a row has generation 0. The two indexes let the validator ask
 * "did a key's validity start or end since the listing was made" with two
 * index probes instead of a scan of the tenant's keys.
 */
"CREATE TABLE listing_generations ("
"  tenant_id TEXT PRIMARY KEY,"
"  gen BIGINT NOT NULL);"
"CREATE INDEX signing_keys_not_after ON signing_keys (tenant_id, not_after);"
"CREATE INDEX signing_keys_not_before ON signing_keys (tenant_id, not_before);",
};

#define SIGNET_SCHEMA_VERSION \
	((int)(sizeof(signet_migrations) / sizeof(signet_migrations[0])))

#endif
