#!/bin/bash
# authz_changes.sh - permissions follow changes at once: every way a right
# to sign (or to manage) is granted works, and every way it is taken away
# takes effect on the next request (no caching of a grant). Also checks the
# key.sign audit event: who signed, from where, what digest, which client.
# e2e-requires: signetd
source "$(dirname "$0")/lib.sh"
e2e_require_tool openssl

e2e_start_server
A=$ADMIN_KEY
mk_user u1@acme.test; U1=$U_KEY; U1_ID=$U_ID
mk_user u2@acme.test; U2=$U_KEY
mk_user owner@acme.test; OW=$U_KEY
api_q POST /v1/teams '{"name":"t1"}' "$A"; assert_status 201 "team"
api_q POST /v1/projects '{"name":"p1"}' "$A"; assert_status 201 "project"
api_q POST /v1/keys '{"project":"p1","name":"k1","algorithm":"ecdsa-p256"}' "$A"; assert_status 201 "key"
K1=$(jbody -r .key.id)
jbody -r .key.public_key >"$E2E_DIR/k1.pub"

sign() {	# sign TOKEN -> sets the status (last_status)
	api_q POST "/v1/keys/$K1/sign" "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digest\":\"$(rand_b64 32)\"}" "$1"
}
can_sign() {	# can_sign TOKEN WANT WHAT
	sign "$1"
	expect_status "$2" "$3"
}

can_sign "$U1" 403 "u1 before any grant"
# user grant
api_q POST /v1/projects/p1/signers '{"user":"u1@acme.test"}' "$A"; assert_status 201 "grant u1"
can_sign "$U1" 200 "u1 as a user signer"
api_q DELETE /v1/projects/p1/signers/user/u1@acme.test "" "$A"; expect_status 200 "remove u1"
can_sign "$U1" 403 "u1 after removal as signer"
# team grant, then membership changes
api_q POST /v1/projects/p1/signers '{"team":"t1"}' "$A"; assert_status 201 "grant t1"
can_sign "$U2" 403 "u2 not yet in t1"
api_q POST /v1/teams/t1/members '{"user":"u2@acme.test"}' "$A"; assert_status 200 "u2 joins t1"
can_sign "$U2" 200 "u2 via t1"
api_q GET /v1/me/keys "" "$U2"
expect_eq "$(jbody -r '[.keys[].id] | join(",")')" "$K1" "u2's /v1/me/keys via t1"
api_q DELETE /v1/teams/t1/members/u2@acme.test "" "$A"; expect_status 200 "u2 leaves t1"
can_sign "$U2" 403 "u2 after leaving t1"
api_q GET /v1/me/keys "" "$U2"
expect_eq "$(jbody '.keys | length')" 0 "u2's /v1/me/keys after leaving t1"
api_q POST /v1/teams/t1/members '{"user":"u2@acme.test"}' "$A"; assert_status 200 "u2 rejoins t1"
can_sign "$U2" 200 "u2 via t1 again"
api_q DELETE /v1/projects/p1/signers/team/t1 "" "$A"; expect_status 200 "remove t1 as signer"
can_sign "$U2" 403 "u2 after t1 lost the grant"
api_q POST /v1/projects/p1/signers '{"team":"t1"}' "$A"; assert_status 201 "grant t1 again"
# the key's state
api_q POST "/v1/keys/$K1/disable" "" "$A"; assert_status 200 "disable"
can_sign "$U2" 409 "disabled key"
api_q POST "/v1/keys/$K1/enable" "" "$A"; assert_status 200 "enable"
can_sign "$U2" 200 "re-enabled key"
# the user and its credentials
api_q POST /v1/apikeys '{"description":"second"}' "$U2"; assert_status 201 "second key"
U2B=$(jbody -r .key)
U2B_ID=$(jbody -r .id)
can_sign "$U2B" 200 "u2's second API key"
api_q DELETE "/v1/apikeys/$U2B_ID" "" "$U2"; expect_status 200 "revoke the second key"
can_sign "$U2B" 401 "revoked second key"
can_sign "$U2" 200 "u2's first key still works"
api_q POST /v1/users/u2@acme.test/disable "" "$A"; assert_status 200 "disable u2"
can_sign "$U2" 401 "disabled u2"
api_q POST /v1/apikeys '{"description":"after disable"}' "$U2"; expect_status 401 "disabled u2 makes a new key"
api_q POST /v1/apikeys '{"user":"u2@acme.test"}' "$A"
[[ $(last_status) == 201 ]] && { can_sign "$(jbody -r .key)" 401 "a key the admin issued to the disabled u2"; }

# project ownership: granted by user and by team, checked on management
can_sign "$OW" 403 "owner before ownership (not a signer)"
api_q POST /v1/keys/$K1/disable "" "$OW"; expect_status 403 "non-owner disables"
api_q POST /v1/projects/p1/owners '{"user":"owner@acme.test"}' "$A"; assert_status 200 "owner"
api_q POST "/v1/keys/$K1/disable" "" "$OW"; expect_status 200 "owner disables"
api_q POST "/v1/keys/$K1/enable" "" "$OW"; expect_status 200 "owner enables"
can_sign "$OW" 403 "an owner is not a signer"
api_q POST /v1/projects/p1/signers '{"user":"owner@acme.test"}' "$OW"; expect_status 201 "owner makes itself a signer"
can_sign "$OW" 200 "owner as signer"
api_q POST /v1/teams '{"name":"owners"}' "$A"; assert_status 201 "team owners"
api_q POST /v1/teams/owners/members '{"user":"u1@acme.test"}' "$A"; assert_status 200 "u1 joins owners"
api_q POST /v1/keys '{"project":"p1","name":"k-u1","algorithm":"ecdsa-p256"}' "$U1"; expect_status 403 "u1 creates a key (no ownership)"
api_q POST /v1/projects/p1/owners '{"team":"owners"}' "$A"; assert_status 200 "team owners owns p1"
api_q POST /v1/keys '{"project":"p1","name":"k-u1","algorithm":"ecdsa-p256"}' "$U1"; expect_status 201 "u1 creates a key via team ownership"
api_q DELETE /v1/teams/owners/members/u1@acme.test "" "$A"; expect_status 200 "u1 leaves owners"
api_q POST /v1/keys '{"project":"p1","name":"k-u1b","algorithm":"ecdsa-p256"}' "$U1"; expect_status 403 "u1 creates a key after leaving owners"
# team ownership: a promoted member manages the team
api_q POST /v1/teams/t1/members '{"user":"u1@acme.test"}' "$A"; assert_status 200 "u1 joins t1"
api_q POST /v1/teams/t1/members '{"user":"owner@acme.test"}' "$U1"; expect_status 403 "plain member adds a member"
api_q POST /v1/teams/t1/members '{"user":"u1@acme.test","owner":true}' "$A"; expect_status 200 "promote u1"
api_q POST /v1/teams/t1/members '{"user":"owner@acme.test"}' "$U1"; expect_status 200 "team owner adds a member"
api_q DELETE /v1/teams/t1/members/owner@acme.test "" "$U1"; expect_status 200 "team owner removes a member"

# an admin cannot lock itself out
api_q GET /v1/me "" "$A"; ME=$(jbody -r .id)
api_q POST "/v1/users/$ME/disable" "" "$A"; expect_status 409 "the admin disables itself"
api_q GET /v1/me "" "$A"; expect_status 200 "the admin still works"

# ---- the key.sign audit event: who, from where, what
D64=$(head -c 32 /dev/urandom | base64 -w0)
HEX=$(base64 -d <<<"$D64" | od -An -tx1 | tr -d ' \n')
api_q POST "/v1/keys/$K1/sign" "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digest\":\"$D64\",\"client\":{\"hostname\":\"build-7\",\"process\":\"osslsigncode\",\"user\":\"ci\"}}" "$U1"
expect_status 200 "u1 signs via t1 (the audited request)"
audit_events "$A" >"$E2E_DIR/ev" || fail "audit"
ev=$(jq -c --arg k "$K1" 'select(.action == "key.sign" and .object_id == $k and .result == "ok")' "$E2E_DIR/ev" | tail -n1)
expect_eq "$(jq -r .actor_type <<<"$ev")" user "key.sign event actor_type"
expect_eq "$(jq -r .actor_id <<<"$ev")" "$U1_ID" "key.sign event actor_id"
expect_eq "$(jq -r .object_type <<<"$ev")" key "key.sign event object_type"
expect_eq "$(jq -r .source_ip <<<"$ev")" 127.0.0.1 "key.sign event source_ip"
expect_eq "$(jq -r '.details.digest_algorithm' <<<"$ev")" sha256 "key.sign event digest_algorithm"
expect_eq "$(jq -r '.details.mechanism' <<<"$ev")" ecdsa "key.sign event mechanism"
expect_contains "$(jq -c .details <<<"$ev")" "$HEX" "key.sign event names the digest (hex)"
expect_eq "$(jq -r '.details.client.hostname' <<<"$ev")" build-7 "key.sign event client.hostname"
expect_eq "$(jq -r '.details.client.process' <<<"$ev")" osslsigncode "key.sign event client.process"
now=$(date +%s)
t=$(date -d "$(jq -r .time <<<"$ev")" +%s 2>/dev/null || echo 0)
((now - t < 120 && t - now < 5)) || _e2e_soft_fail "key.sign event time $(jq -r .time <<<"$ev") is not now"
# refusals are recorded with the actor
api_q POST "/v1/keys/$K1/sign" "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digest\":\"$D64\"}" "$U2B"
audit_events "$A" >"$E2E_DIR/ev2" || fail "audit"
n_denied=$(jq -s --arg k "$K1" '[.[] | select(.action == "key.sign" and .result == "denied")] | length' "$E2E_DIR/ev2")
((n_denied >= 5)) || _e2e_soft_fail "only $n_denied denied key.sign events for the refusals above"
# audit paging: limit/after walk the same sequence as one big page
api_q GET "/v1/audit?limit=1000" "" "$A"
jbody -c '[.events[].seq]' >"$E2E_DIR/all"
after=0
: >"$E2E_DIR/paged"
for ((i = 0; i < 500; i++)); do
	api_q GET "/v1/audit?limit=7&after=$after" "" "$A"
	[[ $(last_status) == 200 ]] || { _e2e_soft_fail "audit paging: HTTP $(last_status)"; break; }
	(($(jbody '.events | length') <= 7)) || _e2e_soft_fail "audit limit=7 returned more"
	jbody -c '.events[].seq' >>"$E2E_DIR/paged"
	after=$(jbody -r '.next_after // empty')
	[[ -n $after ]] || break
done
# aggregated auth.failure events (written every 10 s) may land between the
# listings: compare up to the last event of the first one
last=$(jq 'max // 0' "$E2E_DIR/all")
expect_eq "$(jq -s -c --argjson m "$last" '[.[] | select(. <= $m)]' "$E2E_DIR/paged")" "$(cat "$E2E_DIR/all")" "audit paging with limit=7 covers every event once, in order"
api_q GET "/v1/audit?key=$K1&limit=1000" "" "$A"
expect_eq "$(jbody --arg k "$K1" '[.events[] | select(.object_id != $k)] | length')" 0 "audit ?key= only returns that key's events"
(($(jbody '.events | length') >= 10)) || _e2e_soft_fail "audit ?key= returned too few events"
future=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
api_q GET "/v1/audit?since=$future" "" "$A"; expect_status 200 "audit ?since=future"
expect_eq "$(jbody '.events | length')" 0 "audit ?since=an hour ahead"
past=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)
api_q GET "/v1/audit?since=$past&limit=1000" "" "$A"
expect_eq "$(jbody -c --argjson m "$last" '[.events[].seq | select(. <= $m)]')" "$(cat "$E2E_DIR/all")" "audit ?since=an hour ago returns everything"
api_q GET /v1/audit/verify "" "$A"; expect_eq "$(jbody -r .ok)" true "audit chain"
e2e_stop_server
e2e_done
