#!/bin/bash
# approvals.sh - signing with approval (docs/POLICIES.md), end to end:
#   - a key whose policy names an approval team answers 202 with a pending
#     approval and signs nothing; re-sending it is the same approval;
#   - K approvals sign it exactly once: the requester's re-sent request
#     gets the signature, re-sending it again the same signature (no new
#     key.sign event); a different digest needs a new approval;
#   - one deny rejects it; an expired request cannot be approved; the
#     requester cannot approve itself; an approver of another team cannot
#     see it; an admin outside the team cannot decide it; a second vote of
#     the same approver is refused;
#   - approve and deny sent at once: exactly one wins;
#   - a signer removed after its request was approved signs nothing;
#   - `signet approval list/show/approve/deny`, `signet sign` on such a key
#     (exit 1 naming the approval), `signet sign --wait` (signs once
#     approved; exit 1 with the reason when denied, or when the wait runs
#     out), /v1/me/keys approval_required;
#   - the PKCS#11 module's C_Sign on such a key: CKR_FUNCTION_REJECTED and
#     one stderr line naming the approval (approval_wait 0, the default);
#     with approval_wait it waits for the decision and signs;
#   - garbage in every new field.
# e2e-requires: signetd signet signet-pkcs11
source "$(dirname "$0")/lib.sh"
e2e_require_tool openssl sqlite3

W=$E2E_DIR/work
cd "$W" || fail "cd $W"
e2e_start_server
A=$ADMIN_KEY
must_signet login --url "$SIGNET_URL" --api-key "$A" --ca-file "$SIGNET_CA_FILE"

api_q POST /v1/projects '{"name":"p"}' "$A"; assert_status 201 "project"
mk_user s@acme.test; S=$U_KEY; S_ID=$U_ID
mk_user s2@acme.test; S2=$U_KEY
mk_user r1@acme.test; R1=$U_KEY
mk_user r2@acme.test; R2=$U_KEY
mk_user r3@acme.test; R3=$U_KEY
mk_user o@acme.test; O=$U_KEY
api_q POST /v1/teams '{"name":"rel"}' "$A"; assert_status 201 "team rel"
api_q POST /v1/teams '{"name":"other"}' "$A"; assert_status 201 "team other"
for u in r1 r2 r3 s; do
	api_q POST /v1/teams/rel/members "{\"user\":\"$u@acme.test\"}" "$A"; assert_status 200 "$u joins rel"
done
api_q POST /v1/teams/other/members '{"user":"o@acme.test"}' "$A"; assert_status 200 "o joins other"
for u in s s2 o; do
	api_q POST /v1/projects/p/signers "{\"user\":\"$u@acme.test\"}" "$A"; assert_status 201 "signer $u"
done
api_q POST /v1/keys '{"project":"p","name":"k","algorithm":"ecdsa-p256","ca":"none"}' "$A"
assert_status 201 "key"
K=$(jbody -r .key.id)
jbody -r .key.public_key >pub.pem

api_q PUT "/v1/keys/$K/policy" '{"approval":{"team":"rel","approvals":2,"ttl":"1h"}}' "$A"
assert_status 200 "approval policy"
expect_eq "$(jbody -c '.policy.approval | [.team_name, .approvals, .ttl]')" '["rel",2,3600]' "policy shows the team"
api_q GET /v1/me/keys "" "$S"
expect_eq "$(jbody -r ".keys[] | select(.id == \"$K\") | .approval_required")" true "me/keys approval_required"

head -c 32 /dev/urandom >d1.bin
D1=$(base64 -w0 <d1.bin)
body1=$(printf '{"mechanism":"ecdsa","digest_algorithm":"sha256","digest":"%s","client":{"hostname":"build-7","process":"release.sh"}}' "$D1")
sign_as() { api_q POST "/v1/keys/$K/sign" "$2" "$1"; }
signed_events() { audit_count "$A" ".action == \"key.sign\" and .result == \"ok\" and .object_id == \"$K\""; }

# ---- 202, nothing signed; re-sent: the same approval
sign_as "$S" "$body1"; assert_status 202 "approval requested"
A1=$(jbody -r .approval.id)
expect_eq "$(jbody -r .approval.state)" pending "state pending"
expect_eq "$(jbody -r '.signature // "none"')" none "nothing signed"
expect_eq "$(jbody -r .approval.request.client.hostname)" build-7 "the approver sees the host"
expect_eq "$(jbody -r .approval.requested_by.name)" s@acme.test "the approver sees who asks"
expect_eq "$(jbody -r .approval.request.digest)" "$(od -An -tx1 -v d1.bin | tr -d ' \n')" "the approver sees the digest"
sign_as "$S" "$body1"; expect_status 202 "re-sent while pending"
expect_eq "$(jbody -r .approval.id)" "$A1" "re-sent: the same approval"
expect_eq "$(signed_events)" 0 "no key.sign event while pending"
expect_eq "$(audit_count "$A" ".action == \"approval.request\" and .object_id == \"$A1\"")" 1 "one approval.request event"

# ---- who may decide
api_q POST "/v1/approvals/$A1/approve" '{}' "$S"; expect_status 403 "the requester cannot approve itself"
expect_contains "$(jbody -r .error.message)" "requester" "self-approval message"
api_q POST "/v1/approvals/$A1/approve" '{}' "$O"; expect_status 404 "an approver of another team cannot see it"
api_q GET "/v1/approvals/$A1" "" "$O"; expect_status 404 "another team: show"
api_q POST "/v1/approvals/$A1/approve" '{}' "$A"; expect_status 403 "an admin outside the team cannot decide"
api_q GET "/v1/approvals/$A1" "" "$A"; expect_status 200 "an admin can see it"
api_q POST "/v1/approvals/$A1/approve" '{"comment":"tag v2.1 checked"}' "$R1"; expect_status 200 "r1 approves"
expect_eq "$(jbody -c '.approval | [.state, .approved_by, .required]')" '["pending",1,2]' "1 of 2"
api_q POST "/v1/approvals/$A1/approve" '{}' "$R1"; expect_status 409 "r1 cannot vote twice"
sign_as "$S" "$body1"; expect_status 202 "1 of 2: still pending"
SIGNET_API_KEY=$R2 run_signet 0 approval approve "$A1" --comment ok
expect_contains "$OUT" "approved (2 of 2" "CLI approve"
api_q POST "/v1/approvals/$A1/approve" '{}' "$R3"; expect_status 409 "a third vote after approval"

# ---- approved: signed exactly once, replayed after
sign_as "$S" "$body1"; assert_status 200 "approved request signs"
jbody -r .signature | base64 -d >s1.der
SIG1=$(jbody -r .signature)
expect_eq "$(jbody -r .approval)" "$A1" "the answer names the approval"
openssl pkeyutl -verify -pubin -inkey pub.pem -in d1.bin -sigfile s1.der >/dev/null 2>&1 ||
    _e2e_soft_fail "the approved signature does not verify"
sign_as "$S" "$body1"; expect_status 200 "re-sent after signing"
expect_eq "$(jbody -r .signature)" "$SIG1" "re-sent: the same signature (ECDSA would differ if signed again)"
expect_eq "$(signed_events)" 1 "exactly one key.sign event"
expect_eq "$(audit_count "$A" ".action == \"key.sign\" and .result == \"ok\" and .details.approval == \"$A1\"")" 1 "the key.sign event names the approval"
api_q GET "/v1/approvals/$A1" "" "$S"; expect_eq "$(jbody -r .approval.state)" signed "state signed"
# a different digest needs a new approval
D2=$(rand_b64 32)
body2=$(printf '{"mechanism":"ecdsa","digest_algorithm":"sha256","digest":"%s"}' "$D2")
sign_as "$S" "$body2"; expect_status 202 "another digest: a new approval"
A2=$(jbody -r .approval.id)
[[ $A2 != "$A1" ]] || _e2e_soft_fail "another digest got the same approval"
# the same digest by another signer is its own request
sign_as "$S2" "$body1"; expect_status 202 "the same digest by another signer"
[[ $(jbody -r .approval.id) != "$A1" ]] || _e2e_soft_fail "another signer reused an approval"

# ---- one deny rejects it
api_q POST "/v1/approvals/$A2/approve" '{}' "$R1"; expect_status 200 "r1 approves A2"
SIGNET_API_KEY=$R2 run_signet 0 approval deny "$A2" --reason "not a release build"
expect_contains "$OUT" "denied" "CLI deny"
api_q POST "/v1/approvals/$A2/approve" '{}' "$R3"; expect_status 409 "approve after deny"
api_q GET "/v1/approvals/$A2" "" "$S"
expect_eq "$(jbody -r '.approval.votes[] | select(.vote == "deny") | .comment')" "not a release build" "the requester sees the reason"
sign_as "$S" "$body2"; expect_status 202 "re-sent after deny: a new request"
A3=$(jbody -r .approval.id)
[[ $A3 != "$A2" ]] || _e2e_soft_fail "a denied approval was reused"

# ---- approve and deny at once: exactly one wins (5 rounds)
race() {	# race APPROVAL
	curl -s --max-time 60 --cacert "$SIGNET_CA_FILE" -H "Authorization: Bearer $R2" \
	    -H 'Content-Type: application/json' --data-binary '{}' -o /dev/null -w '%{http_code}' \
	    "$SIGNET_URL/v1/approvals/$1/approve" >"$W/race.a" &
	local p1=$!
	curl -s --max-time 60 --cacert "$SIGNET_CA_FILE" -H "Authorization: Bearer $R3" \
	    -H 'Content-Type: application/json' --data-binary '{"reason":"race"}' -o /dev/null -w '%{http_code}' \
	    "$SIGNET_URL/v1/approvals/$1/deny" >"$W/race.d" &
	local p2=$!
	E2E_BG_PIDS="$p1 $p2"
	wait $p1 $p2
	E2E_BG_PIDS=
}
APPROVE_WINS=0
for round in 1 2 3 4 5; do
	d=$(rand_b64 32)
	sign_as "$S" "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digest\":\"$d\"}"
	expect_status 202 "race $round: request"
	AR=$(jbody -r .approval.id)
	api_q POST "/v1/approvals/$AR/approve" '{}' "$R1"; expect_status 200 "race $round: first approval"
	race "$AR"
	codes="$(cat "$W/race.a") $(cat "$W/race.d")"
	api_q GET "/v1/approvals/$AR" "" "$S"
	st=$(jbody -r .approval.state)
	case "$codes" in
	"200 409") expect_eq "$st" approved "race $round: approve won"; APPROVE_WINS=$((APPROVE_WINS + 1)) ;;
	"409 200") expect_eq "$st" denied "race $round: deny won" ;;
	*) _e2e_soft_fail "race $round: approve/deny answered $codes (want one 200, one 409)" ;;
	esac
done

# ---- expiry: an expired request cannot be approved, and is asked anew
db_exec "UPDATE approvals SET expires_at = 1 WHERE id = '$A3'"
api_q POST "/v1/approvals/$A3/approve" '{}' "$R1"; expect_status 409 "approve after expiry"
expect_contains "$(jbody -r .error.message)" "expired" "expiry message"
api_q GET "/v1/approvals?state=pending" "" "$R1"
expect_eq "$(jbody -r "[.approvals[] | select(.id == \"$A3\")] | length")" 0 "expired is not pending"
sign_as "$S" "$body2"; expect_status 202 "re-sent after expiry: a new request"
[[ $(jbody -r .approval.id) != "$A3" ]] || _e2e_soft_fail "an expired approval was reused"
# an approved one that expires before use does not sign either
d=$(rand_b64 32); bodye="{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digest\":\"$d\"}"
sign_as "$S" "$bodye"; AE=$(jbody -r .approval.id)
api_q POST "/v1/approvals/$AE/approve" '{}' "$R1"; api_q POST "/v1/approvals/$AE/approve" '{}' "$R2"
expect_eq "$(jbody -r .approval.state)" approved "AE approved"
db_exec "UPDATE approvals SET expires_at = 1 WHERE id = '$AE'"
n0=$(signed_events)
sign_as "$S" "$bodye"; expect_status 202 "an approval that expired unused: asked anew"
expect_eq "$(signed_events)" "$n0" "nothing signed with an expired approval"

# ---- a signer removed after approval signs nothing
d=$(rand_b64 32); bodyr="{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digest\":\"$d\"}"
sign_as "$S2" "$bodyr"; AR2=$(jbody -r .approval.id)
api_q POST "/v1/approvals/$AR2/approve" '{}' "$R1"; api_q POST "/v1/approvals/$AR2/approve" '{}' "$R2"
expect_eq "$(jbody -r .approval.state)" approved "AR2 approved"
api_q DELETE /v1/projects/p/signers/user/s2@acme.test "" "$A"; expect_status 200 "remove s2"
sign_as "$S2" "$bodyr"; expect_status 403 "a removed signer's approved request"
api_q GET "/v1/approvals/$AR2" "" "$A"; expect_eq "$(jbody -r .approval.state)" approved "not used"

# ---- a batch is approved as a whole
db=$(printf '"%s",' "$(rand_b64 32)" "$(rand_b64 32)" "$(rand_b64 32)")
bodyb="{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digests\":[${db%,}]}"
sign_as "$S" "$bodyb"; expect_status 202 "batch: approval"
AB=$(jbody -r .approval.id)
expect_eq "$(jbody '.approval.request.digests | length')" 3 "the approver sees all 3 digests"
api_q POST "/v1/approvals/$AB/approve" '{}' "$R1"; api_q POST "/v1/approvals/$AB/approve" '{}' "$R3"
sign_as "$S" "$bodyb"; expect_status 200 "batch signed"
expect_eq "$(jbody '.signatures | length')" 3 "3 signatures"

# ---- the CLI: list, show, and signing a key that needs approval
SIGNET_API_KEY=$R1 run_signet 0 approval list --pending
expect_contains "$OUT" "p/k" "approval list shows the key"
SIGNET_API_KEY=$R1 run_signet 0 approval list --json
expect_eq "$(jq '[.approvals[] | select(.id == "'"$A1"'")] | length' <<<"$OUT")" 1 "list --json has A1"
SIGNET_API_KEY=$O run_signet 0 approval list --json
expect_eq "$(jq '.approvals | length' <<<"$OUT")" 0 "another team sees none"
SIGNET_API_KEY=$S run_signet 0 approval show "$A1"
expect_contains "$OUT" "build-7" "show: the host"
expect_contains "$OUT" "release.sh" "show: the process"
expect_contains "$OUT" "tag v2.1 checked" "show: the comment"
head -c 1000 /dev/urandom >file.bin
SIGNET_API_KEY=$S run_signet 1 sign --key p/k --in file.bin --out file.sig
expect_contains "$ERR" "approval apr_" "signet sign names the approval"
expect_contains "$ERR" "pending" "signet sign says it is pending"
[[ ! -e file.sig ]] || _e2e_soft_fail "signet sign wrote a signature without approval"
# ---- signet sign --wait: long-polls until the decision, then signs
# find_pending FILE: the pending approval of FILE's SHA-256 (waits for it)
find_pending() {
	local h i id
	h=$(sha256sum "$1" | cut -d' ' -f1)
	for ((i = 0; i < 300; i++)); do
		id=$(api GET "/v1/approvals?state=pending" "" "$R1" |
		    jq -r --arg h "$h" '.approvals[] | select(.request.digest == $h) | .id' | head -n1)
		[[ -n $id ]] && { echo "$id"; return 0; }
		sleep 0.1
	done
	return 1
}
head -c 2000 /dev/urandom >w.bin
SIGNET_API_KEY=$S "$SIGNET" sign --key p/k --in w.bin --out w.sig --wait 120 >w.out 2>w.err &
WP=$!
E2E_BG_PIDS=$WP
AW=$(find_pending w.bin) || fail "--wait: no pending approval appeared"
api_q POST "/v1/approvals/$AW/approve" '{}' "$R1"; expect_status 200 "--wait: r1 approves"
api_q POST "/v1/approvals/$AW/approve" '{}' "$R3"; expect_status 200 "--wait: r3 approves"
wait "$WP"; rc=$?
E2E_BG_PIDS=
expect_eq "$rc" 0 "signet sign --wait after approval: exit 0 ($(cat w.err))"
openssl dgst -sha256 -verify pub.pem -signature w.sig w.bin >/dev/null 2>&1 ||
    _e2e_soft_fail "the signature written after --wait does not verify"
head -c 2000 /dev/urandom >wd.bin
SIGNET_API_KEY=$S "$SIGNET" sign --key p/k --in wd.bin --out wd.sig --wait 120 >wd.out 2>wd.err &
WP=$!
E2E_BG_PIDS=$WP
AW=$(find_pending wd.bin) || fail "--wait deny: no pending approval appeared"
api_q POST "/v1/approvals/$AW/deny" '{"reason":"unsigned tag"}' "$R2"; expect_status 200 "--wait: r2 denies"
wait "$WP"; rc=$?
E2E_BG_PIDS=
expect_eq "$rc" 1 "signet sign --wait after deny: exit 1"
expect_contains "$(cat wd.err)" "denied by r2@acme.test: unsigned tag" "--wait: the reason"
expect_eq "$(grep -c . wd.err)" 1 "--wait deny: one error line"
[[ ! -e wd.sig ]] || _e2e_soft_fail "--wait wrote a signature for a denied request"
head -c 2000 /dev/urandom >wt.bin
SIGNET_API_KEY=$S run_signet 1 sign --key p/k --in wt.bin --out wt.sig --wait 2s
expect_contains "$ERR" "still pending after the wait" "--wait runs out"
SIGNET_API_KEY=$S run_signet 2 sign --key p/k --in wt.bin --out wt.sig --wait soon
for q in "wait=-1" "wait=51" "wait=x" "wait="; do
	api_q GET "/v1/approvals/$AW?$q" "" "$S"; expect_status 400 "show ?$q"
done

P11D=$(dirname "$SIGNET_PKCS11")/signet_p11_threads
if [[ -x $P11D ]]; then
	# The module's C_Sign (CKM_ECDSA_SHA256) on the key: refused at once.
	echo go | SIGNET_API_KEY=$S timeout 90 "$P11D" --wait-sign "$SIGNET_PKCS11" p/k >p11.out 2>p11.err
	rc=$?
	expect_eq "$rc/$(sed -n 's/^rv=//p' p11.out)" "3/0x200" "C_Sign: CKR_FUNCTION_REJECTED"
	expect_eq "$(grep -c '^signet-pkcs11: .*approval apr_.* pending' p11.err)" 1 \
	    "C_Sign: one stderr line naming the approval: $(cat p11.err)"
	# approval_wait in the client configuration: C_Sign waits for the
	# decision (the same data, so the same approval) and then signs.
	APK=$(grep -o 'approval apr_[0-9a-f]*' p11.err | head -n1 | cut -d' ' -f2)
	printf 'approval_wait = 2m\n' >p11wait.conf; chmod 600 p11wait.conf
	( echo go | SIGNET_CONFIG=$W/p11wait.conf SIGNET_API_KEY=$S timeout 150 "$P11D" --wait-sign \
	    "$SIGNET_PKCS11" p/k >p11w.out 2>p11w.err ) &
	WP=$!
	E2E_BG_PIDS=$WP
	for ((i = 0; i < 100; i++)); do grep -q '^ready' p11w.out 2>/dev/null && break; sleep 0.1; done
	sleep 1	# C_Sign is asking by now, or asks right after: either way
	api_q POST "/v1/approvals/$APK/approve" '{}' "$R1"; expect_status 200 "module wait: r1 approves"
	api_q POST "/v1/approvals/$APK/approve" '{}' "$R2"; expect_status 200 "module wait: r2 approves"
	P11_APPROVES=18
	wait "$WP"; rc=$?
	E2E_BG_PIDS=
	expect_eq "$rc/$(sed -n 's/^rv=//p' p11w.out)" "0/0x0" "C_Sign with approval_wait signs once approved ($(cat p11w.err))"
	printf 'approval_wait = forever\n' >p11bad.conf; chmod 600 p11bad.conf
	echo go | SIGNET_CONFIG=$W/p11bad.conf SIGNET_API_KEY=$S timeout 60 "$P11D" --wait-sign \
	    "$SIGNET_PKCS11" p/k >p11b.out 2>p11b.err
	expect_contains "$(cat p11b.err)" "approval_wait" "a bad approval_wait is a configuration error"
else
	echo "approvals: $P11D not built: module check skipped"
fi
SIGNET_API_KEY=$R1 run_signet 2 approval deny "$A3"
SIGNET_API_KEY=$R1 run_signet 1 approval show apr_0000000000000000

# ---- garbage in every new field: 400, nothing changed
before=$(api GET "/v1/keys/$K/policy" "" "$A" | jq -c .policy)
while IFS= read -r bad; do
	[[ -z $bad ]] && continue
	api_q PUT "/v1/keys/$K/policy" "$bad" "$A"
	expect_status 400 "garbage approval policy $bad"
	check_error_shape
done <<'EOF'
{"approval":{}}
{"approval":"rel"}
{"approval":{"team":""}}
{"approval":{"team":5}}
{"approval":{"team":"nosuch"}}
{"approval":{"team":"rel","approvals":0}}
{"approval":{"team":"rel","approvals":11}}
{"approval":{"team":"rel","approvals":"2"}}
{"approval":{"team":"rel","ttl":10}}
{"approval":{"team":"rel","ttl":"forever"}}
{"approval":{"team":"rel","ttl":"31d"}}
{"approval":{"team":"rel","extra":1}}
EOF
expect_eq "$(api GET "/v1/keys/$K/policy" "" "$A" | jq -c .policy)" "$before" "garbage changed nothing"
d=$(rand_b64 32)
sign_as "$S" "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digest\":\"$d\"}"; AG=$(jbody -r .approval.id)
for bad in '{"comment":5}' '{"comment":"x","extra":1}' '[]' '"x"'; do
	api_q POST "/v1/approvals/$AG/approve" "$bad" "$R1"; expect_status 400 "approve $bad"
done
for bad in '{}' '{"reason":""}' '{"reason":5}' '{"reason":"x","comment":"y"}'; do
	api_q POST "/v1/approvals/$AG/deny" "$bad" "$R1"; expect_status 400 "deny $bad"
done
api_q POST "/v1/approvals/$AG/deny" "{\"reason\":\"$(head -c 1100 /dev/zero | tr '\0' x)\"}" "$R1"
expect_status 400 "deny with a reason over 1024 bytes"
api_q GET "/v1/approvals/$AG" "" "$R1"
expect_eq "$(jbody -c '.approval | [.state, (.votes | length)]')" '["pending",0]' "garbage votes changed nothing"
for q in "state=bogus" "limit=0" "limit=1001" "limit=x"; do
	api_q GET "/v1/approvals?$q" "" "$R1"; expect_status 400 "list ?$q"
done
api_q GET "/v1/approvals/nope" "" "$R1"; expect_status 404 "unknown approval"

# ---- the audit trail
expect_eq "$(audit_count "$A" '.action == "approval.approve" and .result == "ok"')" $((${P11_APPROVES:-16} + APPROVE_WINS)) "approval.approve ok events"
n=$(audit_count "$A" '.action == "approval.deny" and .result == "ok"')
((n >= 1)) || _e2e_soft_fail "no approval.deny ok event"
n=$(audit_count "$A" '.action == "approval.approve" and .result == "denied"')
((n >= 5)) || _e2e_soft_fail "refused votes are audit events too (got $n)"
api_q GET /v1/audit/verify "" "$A"; expect_eq "$(jbody -r .ok)" true "audit chain"
e2e_stop_server
e2e_done
