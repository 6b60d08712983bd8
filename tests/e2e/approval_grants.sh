#!/bin/bash
# approval_grants.sh - pre-approval (docs/POLICIES.md), end to end:
#   - grants: an approver of the key's approval team grants a principal
#     (user by email, service account by name) its next N signatures
#     within a duration: they sign at once (200, no approval), each
#     key.sign event names the grant, the N+1th asks for approval (202);
#     a batch counts each digest; concurrent signers never take more than
#     N; revoking ends it; who may grant (never the grantee itself, never a
#     non-member, not an admin outside the team), list, revoke; audited;
#   - declared digests: `signet approval request KEY --in FILE...` asks
#     approval for exactly those digests and signs nothing; once approved
#     `signet sign` of those files signs at once, each digest once; an
#     undeclared digest still needs approval; a denied or expired one
#     covers nothing;
#   - garbage in every new field and flag.
# e2e-requires: signetd signet
source "$(dirname "$0")/lib.sh"
e2e_require_tool openssl

W=$E2E_DIR/work
cd "$W" || fail "cd $W"
e2e_start_server
A=$ADMIN_KEY

api_q POST /v1/projects '{"name":"p"}' "$A"; assert_status 201 "project"
mk_user s@acme.test; S=$U_KEY; S_ID=$U_ID
mk_user s2@acme.test; S2=$U_KEY
mk_user r1@acme.test; R1=$U_KEY
mk_user r2@acme.test; R2=$U_KEY
mk_user o@acme.test; O=$U_KEY
mk_user ad2@acme.test admin; AD2=$U_KEY
api_q POST /v1/teams '{"name":"rel"}' "$A"; assert_status 201 "team rel"
api_q POST /v1/teams '{"name":"ops"}' "$A"; assert_status 201 "team ops"
OPS_ID=$(jbody -r .team.id)
for u in r1 r2 s; do
	api_q POST /v1/teams/rel/members "{\"user\":\"$u@acme.test\"}" "$A"; assert_status 200 "$u joins rel"
done
api_q POST /v1/teams/ops/members '{"user":"o@acme.test"}' "$A"; assert_status 200 "o joins ops"
for u in s s2 o; do
	api_q POST /v1/projects/p/signers "{\"user\":\"$u@acme.test\"}" "$A"; assert_status 201 "signer $u"
done
# a service account of team ops, a signer of p
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out robot.key 2>/dev/null || fail "genpkey"
openssl pkey -in robot.key -pubout -out robot.pub 2>/dev/null
api_q POST /v1/serviceaccounts "{\"name\":\"robot\",\"team\":\"$OPS_ID\",\"public_key\":$(json_file_str robot.pub)}" "$A"
assert_status 201 "service account robot"
ROBOT_ID=$(jbody -r .service_account.id)
api_q POST /v1/projects/p/signers '{"service_account":"robot"}' "$A"; assert_status 201 "robot signer"

api_q POST /v1/keys '{"project":"p","name":"k","algorithm":"ecdsa-p256","ca":"none"}' "$A"
assert_status 201 "key"
K=$(jbody -r .key.id)
jbody -r .key.public_key >pub.pem
api_q POST /v1/keys '{"project":"p","name":"free","algorithm":"ecdsa-p256","ca":"none"}' "$A"
assert_status 201 "key without approval"
KF=$(jbody -r .key.id)
api_q PUT "/v1/keys/$K/policy" '{"approval":{"team":"rel","approvals":1,"ttl":"1h"}}' "$A"
assert_status 200 "approval policy"

rnd_b64() { head -c "${1:-32}" /dev/urandom | base64 -w0; }
sbody() { printf '{"mechanism":"ecdsa","digest_algorithm":"sha256","digest":"%s"}' "$1"; }
signed_with_grant() { audit_count "$A" ".action == \"key.sign\" and .result == \"ok\" and .details.grant == \"$1\""; }

# ---- a grant of 3 to s for 1h
api_q POST "/v1/keys/$K/grants" '{"user":"s@acme.test","max_signatures":3,"duration":"1h"}' "$R1"
assert_status 201 "r1 grants s 3 signatures"
G1=$(jbody -r .grant.id)
expect_eq "$(jbody -c '[.grant.state, .grant.principal.name, .grant.principal.type, .grant.max_signatures, .grant.used, .grant.granted_by.name]')" \
    '["active","s@acme.test","user",3,0,"r1@acme.test"]' "the grant"
for i in 1 2; do
	api_q POST "/v1/keys/$K/sign" "$(sbody "$(rnd_b64)")" "$S"; expect_status 200 "covered signature $i: signed at once"
	expect_eq "$(jbody -r '.approval // "none"')" none "no approval for covered signature $i"
done
# a batch of 2 does not fit in the 1 left: it asks for approval
api_q POST "/v1/keys/$K/sign" "$(printf '{"mechanism":"ecdsa","digest_algorithm":"sha256","digests":["%s","%s"]}' "$(rnd_b64)" "$(rnd_b64)")" "$S"
expect_status 202 "a batch of 2 with 1 left asks for approval"
D3=$(rnd_b64)
api_q POST "/v1/keys/$K/sign" "$(sbody "$D3")" "$S"; expect_status 200 "the third covered signature"
jbody -r .signature | base64 -d >sig3.der
printf '%s' "$D3" | base64 -d >d3.bin
openssl pkeyutl -verify -pubin -inkey pub.pem -in d3.bin -sigfile sig3.der >/dev/null 2>&1 ||
    _e2e_soft_fail "the covered signature does not verify"
api_q POST "/v1/keys/$K/sign" "$(sbody "$(rnd_b64)")" "$S"; expect_status 202 "the fourth asks for approval"
expect_eq "$(signed_with_grant "$G1")" 3 "three key.sign events name the grant"
api_q GET "/v1/keys/$K/grants" "" "$R2"; expect_status 200 "r2 lists the grants"
expect_eq "$(jbody -r '.grants | length')" 0 "a used-up grant is not active"
api_q GET "/v1/keys/$K/grants?state=all" "" "$R2"; expect_status 200 "all grants"
expect_eq "$(jbody -c '[.grants[0].id, .grants[0].state, .grants[0].used, .grants[0].remaining]')" "[\"$G1\",\"used\",3,0]" "used up"
# the grant covers only its principal
api_q POST "/v1/keys/$K/grants" '{"user":"s@acme.test","max_signatures":5,"duration":3600}' "$R1"
assert_status 201 "grant 5 to s"
G2=$(jbody -r .grant.id)
api_q POST "/v1/keys/$K/sign" "$(sbody "$(rnd_b64)")" "$S2"; expect_status 202 "another signer still needs approval"
api_q POST "/v1/keys/$K/sign" "$(sbody "$(rnd_b64)")" "$S"; expect_status 200 "s signs under the new grant"
# revoke
api_q DELETE "/v1/keys/$K/grants/$G2" "" "$S2"; expect_status 403 "a signer outside the team cannot revoke"
api_q DELETE "/v1/keys/$K/grants/$G2" "" "$R2"; expect_status 200 "r2 revokes"
expect_eq "$(jbody -r .grant.state)" revoked "revoked"
api_q DELETE "/v1/keys/$K/grants/$G2" "" "$R2"; expect_status 409 "revoked twice"
api_q POST "/v1/keys/$K/sign" "$(sbody "$(rnd_b64)")" "$S"; expect_status 202 "a revoked grant covers nothing"
api_q DELETE "/v1/keys/$K/grants/grt_nosuch" "" "$R2"; expect_status 404 "no such grant"

# ---- who may grant
api_q POST "/v1/keys/$K/grants" '{"user":"s@acme.test","max_signatures":1,"duration":"1h"}' "$S"
expect_status 403 "the grantee cannot grant itself"
expect_contains "$(jbody -r .error.message)" "itself" "self-grant message"
api_q POST "/v1/keys/$K/grants" '{"user":"s2@acme.test","max_signatures":1,"duration":"1h"}' "$O"
expect_status 403 "a member of another team cannot grant"
api_q POST "/v1/keys/$K/grants" '{"user":"s2@acme.test","max_signatures":1,"duration":"1h"}' "$AD2"
expect_status 403 "an admin outside the team cannot grant"
api_q POST "/v1/keys/$KF/grants" '{"user":"s2@acme.test","max_signatures":1,"duration":"1h"}' "$R1"
expect_status 404 "a key r1 cannot see (no approval team) is a 404"
api_q POST "/v1/keys/$KF/grants" '{"user":"s2@acme.test","max_signatures":1,"duration":"1h"}' "$A"
expect_status 409 "a key without an approval team has nothing to grant"
expect_eq "$(audit_count "$A" '.action == "approval.grant" and .result == "denied"')" 5 "refused grants are audited"
expect_eq "$(audit_count "$A" '.action == "approval.grant" and .result == "ok"')" 2 "grants are audited"
expect_eq "$(audit_count "$A" ".action == \"approval.grant.revoke\" and .result == \"ok\" and .object_id == \"$G2\"")" 1 "the revocation is audited"

# ---- a service account by name, through the CLI: s (of team rel, and a
# signer who sees the key by name) grants robot; r1, who does not see the
# key, names it by id
must_signet login --url "$SIGNET_URL" --api-key "$R1" --ca-file "$SIGNET_CA_FILE"
run_signet 1 approval grant p/k --to robot --max 2 --for 10m  # r1 cannot resolve p/k
expect_contains "$ERR" "key id" "the error says to use the key id"
must_signet login --url "$SIGNET_URL" --api-key "$S" --ca-file "$SIGNET_CA_FILE"
must_signet approval grant p/k --to robot --max 2 --for 10m
expect_contains "$(cat "$E2E_DIR/cli.out")" "service_account robot" "grant to robot printed"
must_signet approval grants p/k --json
expect_eq "$(jq -r '[.grants[] | select(.principal.id == "'"$ROBOT_ID"'")] | length' <"$E2E_DIR/cli.out")" 1 "the robot's grant is listed"
GR=$(jq -r '.grants[] | select(.principal.id == "'"$ROBOT_ID"'") | .id' <"$E2E_DIR/cli.out")
sa_token robot.key "$ROBOT_ID"
api_q POST "/v1/keys/$K/sign" "$(sbody "$(rnd_b64)")" "$SA_TOKEN"; expect_status 200 "robot signs under its grant"
must_signet login --url "$SIGNET_URL" --api-key "$R1" --ca-file "$SIGNET_CA_FILE"
must_signet approval revoke-grant "$K" "$GR"
expect_contains "$OUT" "revoked" "revoke-grant by key id"
must_signet approval grant "$K" --to user:s2@acme.test --max 1 --for 1h --json
expect_eq "$(jq -r .grant.principal.name <"$E2E_DIR/cli.out")" s2@acme.test "--to user:EMAIL"

# ---- concurrency: a grant of 5, 16 signers at once: exactly 5 released
api_q POST "/v1/keys/$K/grants" '{"user":"s@acme.test","max_signatures":5,"duration":"1h"}' "$R1"
assert_status 201 "grant 5 for the race"
GC=$(jbody -r .grant.id)
rm -f "$W"/st.* "$W"/body.*
pids=()
for ((i = 0; i < 16; i++)); do
	curl -s --max-time 120 --cacert "$SIGNET_CA_FILE" -H "Authorization: Bearer $S" \
	    -H 'Content-Type: application/json' --data-binary "$(sbody "$(rnd_b64)")" -o "$W/body.$i" \
	    -w '%{http_code}' "$SIGNET_URL/v1/keys/$K/sign" >"$W/st.$i" 2>/dev/null &
	pids+=($!)
done
E2E_BG_PIDS="${pids[*]}"
wait "${pids[@]}"
E2E_BG_PIDS=
expect_eq "$(cat "$W"/body.* | grep -c '"signature"')" 5 "16 concurrent signers under a grant of 5: 5 signatures"
expect_eq "$(signed_with_grant "$GC")" 5 "5 key.sign events name the grant"
api_q GET "/v1/keys/$K/grants?state=all" "" "$R1"
expect_eq "$(jbody -r ".grants[] | select(.id == \"$GC\") | .used")" 5 "used 5 of 5"
expect_eq "$(db_query "SELECT used FROM approval_grants WHERE id = '$GC'")" 5 "the database agrees"

# ---- declared digests
must_signet login --url "$SIGNET_URL" --api-key "$S" --ca-file "$SIGNET_CA_FILE"
head -c 1000 /dev/urandom >f1.bin
head -c 2000 /dev/urandom >f2.bin
head -c 3000 /dev/urandom >f3.bin
must_signet approval request p/k --in f1.bin --in f2.bin --json
AD=$(jq -r .approval.id <"$E2E_DIR/cli.out")
expect_eq "$(jq -r .approval.state <"$E2E_DIR/cli.out")" pending "declared: pending"
expect_eq "$(jq -r '.approval.request.digests | sort | join(",")' <"$E2E_DIR/cli.out")" \
    "$( (sha256sum f1.bin; sha256sum f2.bin) | cut -d' ' -f1 | sort | paste -sd,)" "the approver sees exactly the files' digests"
expect_eq "$(audit_count "$A" '.action == "key.sign" and .result == "ok" and .details.declared_approval != null')" 0 "nothing signed yet"
run_signet 1 sign --key p/k --in f1.bin --out f1.sig  # not approved yet: sign asks for approval
api_q POST "/v1/approvals/$AD/approve" '{"comment":"release 1.0"}' "$R1"; expect_status 200 "r1 approves the declaration"
expect_eq "$(jbody -r .approval.state)" approved "approved"
must_signet sign --key p/k --in f1.bin --out f1.sig
openssl dgst -sha256 -verify pub.pem -signature f1.sig f1.bin >/dev/null || _e2e_soft_fail "f1.sig does not verify"
run_signet 1 sign --key p/k --in f1.bin --out f1b.sig  # a declared digest signs once: the second time asks for approval
run_signet 1 sign --key p/k --in f3.bin --out f3.sig  # an undeclared file still needs approval
must_signet sign --key p/k --in f2.bin --out f2.sig
openssl dgst -sha256 -verify pub.pem -signature f2.sig f2.bin >/dev/null || _e2e_soft_fail "f2.sig does not verify"
expect_eq "$(audit_count "$A" ".action == \"key.sign\" and .result == \"ok\" and .details.declared_approval == \"$AD\"")" 2 "two key.sign events name the declaration"
api_q GET "/v1/approvals/$AD" "" "$R2"
expect_eq "$(jbody -r '[.approval.declared_digests[] | select(.used_at != null)] | length')" 2 "both digests used"
# another signer's sign of the same file is not covered
api_q POST /v1/keys/$K/approvals "$(printf '{"digest_algorithm":"sha256","digests":["%s"]}' "$(sha256sum f3.bin | cut -d' ' -f1 | xxd -r -p | base64 -w0)")" "$S2"
expect_status 202 "s2 declares f3"
AD2ID=$(jbody -r .approval.id)
api_q POST "/v1/approvals/$AD2ID/approve" '{}' "$R2"; expect_status 200 "approved for s2"
run_signet 1 sign --key p/k --in f3.bin --out f3.sig  # s2's declaration does not cover s
# denied: covers nothing
must_signet approval request p/k --in f3.bin --json
AD3=$(jq -r .approval.id <"$E2E_DIR/cli.out")
api_q POST "/v1/approvals/$AD3/deny" '{"reason":"no"}' "$R1"; expect_status 200 "denied"
run_signet 1 sign --key p/k --in f3.bin --out f3.sig  # a denied declaration covers nothing
# expired: covers nothing
must_signet approval request p/k --in f3.bin --json
AD4=$(jq -r .approval.id <"$E2E_DIR/cli.out")
api_q POST "/v1/approvals/$AD4/approve" '{}' "$R1"; expect_status 200 "approved"
db_exec "UPDATE approvals SET expires_at = 1 WHERE id = '$AD4'"
run_signet 1 sign --key p/k --in f3.bin --out f3.sig  # an expired declaration covers nothing
api_q POST "/v1/keys/$KF/approvals" "$(printf '{"digest_algorithm":"sha256","digests":["%s"]}' "$(rnd_b64)")" "$S"
expect_status 409 "a key without approval: nothing to declare"
api_q POST "/v1/keys/$K/approvals" "$(printf '{"digest_algorithm":"sha256","digests":["%s"]}' "$(rnd_b64)")" "$R1"
expect_status 403 "only signers declare"

# ---- garbage in every new field and flag
g() { api_q POST "/v1/keys/$K/grants" "$1" "$R1"; expect_status 400 "grant: $2"; check_error_shape; }
g '{"user":"s@acme.test","max_signatures":1}' "no duration"
g '{"user":"s@acme.test","duration":"1h"}' "no max_signatures"
g '{"max_signatures":1,"duration":"1h"}' "no principal"
g '{"user":"s@acme.test","service_account":"robot","max_signatures":1,"duration":"1h"}' "two principals"
g '{"user":"s@acme.test","max_signatures":0,"duration":"1h"}' "max 0"
g '{"user":"s@acme.test","max_signatures":-3,"duration":"1h"}' "max negative"
g '{"user":"s@acme.test","max_signatures":1000001,"duration":"1h"}' "max too large"
g '{"user":"s@acme.test","max_signatures":"5","duration":"1h"}' "max a string"
g '{"user":"s@acme.test","max_signatures":1.5,"duration":"1h"}' "max a float"
g '{"user":"s@acme.test","max_signatures":1,"duration":"soon"}' "duration garbage"
g '{"user":"s@acme.test","max_signatures":1,"duration":59}' "duration too short"
g '{"user":"s@acme.test","max_signatures":1,"duration":"31d"}' "duration too long"
g '{"user":"s@acme.test","max_signatures":1,"duration":[1]}' "duration an array"
g '{"user":7,"max_signatures":1,"duration":"1h"}' "user a number"
g '{"user":"s@acme.test","max_signatures":1,"duration":"1h","extra":1}' "unknown field"
g '[1,2]' "not an object"
g '{"user":"s@acme.test\u0000x","max_signatures":1,"duration":"1h"}' "NUL in user"
api_q POST "/v1/keys/$K/grants" '{"user":"nobody@acme.test","max_signatures":1,"duration":"1h"}' "$R1"
expect_status 404 "grant to an unknown user"
api_q POST "/v1/keys/$K/grants" '{"service_account":"nosuch","max_signatures":1,"duration":"1h"}' "$R1"
expect_status 404 "grant to an unknown service account"
api_q GET "/v1/keys/$K/grants?state=bogus" "" "$R1"; expect_status 400 "grants ?state=bogus"
expect_eq "$(db_query "SELECT COUNT(*) FROM approval_grants WHERE max_signatures > 5")" 0 "garbage created nothing"
dcl() { api_q POST "/v1/keys/$K/approvals" "$1" "$S"; expect_status 400 "declare: $2"; check_error_shape; }
dcl '{"digests":["'"$(rnd_b64)"'"]}' "no digest_algorithm"
dcl '{"digest_algorithm":"md5","digests":["'"$(rnd_b64)"'"]}' "unknown digest_algorithm"
dcl '{"digest_algorithm":"sha1","digests":["'"$(rnd_b64 20)"'"]}' "sha1 not allowed"
dcl '{"digest_algorithm":"sha256"}' "no digests"
dcl '{"digest_algorithm":"sha256","digests":[]}' "empty digests"
dcl '{"digest_algorithm":"sha256","digests":"abc"}' "digests a string"
dcl '{"digest_algorithm":"sha256","digests":["!!!notbase64"]}' "bad base64"
dcl '{"digest_algorithm":"sha256","digests":["'"$(rnd_b64 31)"'"]}' "wrong length"
dcl '{"digest_algorithm":"sha256","digests":[12]}' "digest a number"
DG=$(rnd_b64)
dcl '{"digest_algorithm":"sha256","digests":["'"$DG"'","'"$DG"'"]}' "repeated digest"
dcl '{"digest_algorithm":"sha256","digests":["'"$DG"'"],"mechanism":"ecdsa"}' "unknown field"
dcl '{"digest_algorithm":"sha256","digests":["'"$DG"'"],"client":"x"}' "client a string"
dcl '{"digest_algorithm":"sha256","digests":["'"$DG"'"],"client":{"pid":1}}' "unknown client field"
dcl "{\"digest_algorithm\":\"sha256\",\"digests\":[$(for i in $(seq 1025); do printf '"%s",' "$DG"; done)\"$DG\"]}" "too many digests"
expect_eq "$(db_query "SELECT COUNT(*) FROM approval_digests WHERE digest = '$(printf '%s' "$DG" | base64 -d | od -An -tx1 -v | tr -d ' \n')'")" 0 "garbage declared nothing"
must_signet login --url "$SIGNET_URL" --api-key "$R1" --ca-file "$SIGNET_CA_FILE"
for args in "p/k --max 1 --for 1h" "p/k --to s@acme.test --for 1h" "p/k --to s@acme.test --max 1" \
    "p/k --to s@acme.test --max 0 --for 1h" "p/k --to s@acme.test --max x --for 1h" \
    "p/k --to s@acme.test --max 1 --for never" "p/k --to s@acme.test --max 1 --for 10s" \
    "--to s@acme.test --max 1 --for 1h" "p/k --to s@acme.test --max 1 --for 1h --bogus"; do
	# shellcheck disable=SC2086
	run_signet 2 approval grant $args  # approval grant $args: usage error
done
run_signet 2 approval request p/k  # approval request without --in
run_signet 2 approval request p/k --in f1.bin --digest md5  # approval request --digest md5
run_signet 1 approval request p/k --in /nonexistent/file  # approval request of a missing file
run_signet 2 approval revoke-grant p/k  # revoke-grant without an id

api_q GET /v1/audit/verify "" "$A"; expect_eq "$(jbody -r .ok)" true "audit chain"
e2e_stop_server
e2e_done
