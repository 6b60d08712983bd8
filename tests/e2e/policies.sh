#!/bin/bash
# policies.sh - signing policies per key (docs/POLICIES.md), end to end:
#   - `signet policy set/show/clear` and GET/PUT/DELETE /v1/keys/{id}/policy:
#     owners and admins change it, signers see it, every change is a
#     key.policy.set / key.policy.clear audit event with the previous policy;
#   - a refusal by each rule (mechanisms, digests, sources, windows in a
#     named zone, max_signatures) is a 403 naming the rule and a key.sign
#     "denied" event with policy_rule; nothing is signed;
#   - a quota consumed by many clients at once never overshoots: exactly
#     the quota's worth of signatures is released (single digests and
#     batches), and /v1/me/keys and `signet keys` show what is left and
#     when it resets;
#   - garbage in every field: 400, the stored policy unchanged.
# e2e-requires: signetd signet
source "$(dirname "$0")/lib.sh"
e2e_require_tool openssl

W=$E2E_DIR/work
e2e_start_server
A=$ADMIN_KEY
must_signet login --url "$SIGNET_URL" --api-key "$A" --ca-file "$SIGNET_CA_FILE"

api_q POST /v1/projects '{"name":"p"}' "$A"; assert_status 201 "project"
mk_user owner@acme.test; O=$U_KEY
mk_user signer@acme.test; S=$U_KEY
mk_user plain@acme.test; P=$U_KEY
api_q POST /v1/projects/p/owners '{"user":"owner@acme.test"}' "$A"; assert_status 200 "owner"
api_q POST /v1/projects/p/signers '{"user":"signer@acme.test"}' "$A"; assert_status 201 "signer"
mk_key() {	# mk_key NAME ALG: sets K
	api_q POST /v1/keys "{\"project\":\"p\",\"name\":\"$1\",\"algorithm\":\"$2\",\"ca\":\"none\"}" "$A"
	assert_status 201 "key $1"
	K=$(jbody -r .key.id)
}
mk_key ec ecdsa-p256; KEC=$K
mk_key rsa rsa-2048; KRSA=$K

D256=$(rand_b64 32)
D384=$(rand_b64 48)
# sign KEY TOKEN MECH HASH: one digest; status in $(last_status)
sign() {
	local d=$D256
	[[ $4 == sha384 ]] && d=$D384
	api_q POST "/v1/keys/$1/sign" "{\"mechanism\":\"$3\",\"digest_algorithm\":\"$4\",\"digest\":\"$d\"}" "$2"
}
# put KEY JSON [TOKEN]
put() { api_q PUT "/v1/keys/$1/policy" "$2" "${3:-$O}"; }
# refused WHAT RULE: the last answer is the 403 of that rule, no signature
refused() {
	expect_status 403 "$1"
	expect_eq "$(jbody -r .error.rule)" "$2" "$1: error.rule"
	expect_eq "$(jbody -r '.signature // "none"')" none "$1: no signature"
	check_error_shape
}
denied_events() {	# denied_events RULE: key.sign denied events naming RULE
	audit_count "$A" ".action == \"key.sign\" and .result == \"denied\" and .details.policy_rule == \"$1\""
}

# Near a UTC hour boundary the window and quota checks below could see two
# different hours: start well inside one.
while (( $(date -u +%s) % 3600 > 3480 )); do sleep 5; done

# ---- no policy: GET shows null, signing works
api_q GET "/v1/keys/$KEC/policy" "" "$S"; assert_status 200 "signer views the policy"
expect_eq "$(jbody -c .policy)" null "no policy yet"
sign "$KEC" "$S" ecdsa sha256; expect_status 200 "sign without a policy"

# ---- who may change it
put "$KEC" '{"digests":["sha384"]}' "$S"; expect_status 403 "a signer cannot set the policy"
put "$KEC" '{"digests":["sha384"]}' "$P"; expect_status 403 "a plain user cannot set the policy"
api_q DELETE "/v1/keys/$KEC/policy" "" "$S"; expect_status 403 "a signer cannot clear the policy"
api_q GET "/v1/keys/$KEC/policy" "" "$P"; expect_status 403 "a plain user cannot view the policy"

# ---- digests, through the CLI as the owner
SIGNET_API_KEY=$O run_signet 0 policy set p/ec --digests sha384
expect_contains "$OUT" "digests" "policy set prints the policy"
SIGNET_API_KEY=$S run_signet 0 policy show p/ec --json
expect_eq "$(jq -c .policy <<<"$OUT")" '{"digests":["sha384"]}' "policy show --json"
sign "$KEC" "$S" ecdsa sha256; refused "digest sha256 under digests [sha384]" digests
expect_contains "$(jbody -r .error.message)" "sha256" "the refusal names the digest"
sign "$KEC" "$S" ecdsa sha384; expect_status 200 "digest sha384 allowed"

# ---- mechanisms (RSA key)
put "$KRSA" '{"mechanisms":["rsa-pss"]}'; assert_status 200 "mechanisms policy"
sign "$KRSA" "$S" rsa-pkcs1 sha256; refused "rsa-pkcs1 under mechanisms [rsa-pss]" mechanisms
sign "$KRSA" "$S" rsa-pss sha256; expect_status 200 "rsa-pss allowed"

# ---- sources (the test's requests come from 127.0.0.1)
put "$KEC" '{"sources":["192.0.2.0/24","2001:db8::/32"]}'; assert_status 200 "sources policy"
sign "$KEC" "$S" ecdsa sha256; refused "from 127.0.0.1 outside the sources" sources
expect_contains "$(jbody -r .error.message)" "127.0.0.1" "the refusal names the address"
put "$KEC" '{"sources":["::1","127.0.0.0/8"]}'; assert_status 200 "loopback sources"
sign "$KEC" "$S" ecdsa sha256; expect_status 200 "from 127.0.0.1 inside 127.0.0.0/8"

# ---- windows: another day than today (UTC) refuses; all week allows
days=(Sun Mon Tue Wed Thu Fri Sat)
today=$(date -u +%w)
other="${days[$(((today + 1) % 7))]},${days[$(((today + 2) % 7))]}"
put "$KEC" "{\"windows\":[\"$other 00:00-24:00 UTC\"]}"; assert_status 200 "window on other days"
sign "$KEC" "$S" ecdsa sha256; refused "outside the window (days)" windows
put "$KEC" '{"windows":["Mon-Sun 00:00-24:00 UTC"]}'; assert_status 200 "window all week"
sign "$KEC" "$S" ecdsa sha256; expect_status 200 "inside the all-week window"
# The zone counts: a 4-hour window around now in Kathmandu (UTC+05:45)
# allows; the same hours read as UTC are at least 2 hours away and refuse.
h=$((10#$(TZ=Asia/Kathmandu date +%H)))
if ((h >= 2 && h <= 21)); then
	win=$(printf '%02d:00-%02d:00' $((h - 2)) $((h + 2)))
	put "$KEC" "{\"windows\":[\"Mon-Sun $win Asia/Kathmandu\"]}"; assert_status 200 "Kathmandu window"
	sign "$KEC" "$S" ecdsa sha256; expect_status 200 "inside the window in Asia/Kathmandu"
	put "$KEC" "{\"windows\":[\"Mon-Sun $win UTC\"]}"; assert_status 200 "same hours in UTC"
	sign "$KEC" "$S" ecdsa sha256; refused "the same hours in UTC" windows
else
	echo "policies: local hour $h in Asia/Kathmandu: zone check skipped this hour"
fi

# ---- max_signatures: 2 per hour, a batch over what is left is refused whole
put "$KEC" '{"max_signatures":"2/hour"}'; assert_status 200 "quota policy"
sign "$KEC" "$S" ecdsa sha256; expect_status 200 "first of 2"
api_q POST "/v1/keys/$KEC/sign" "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digests\":[\"$D256\",\"$D256\"]}" "$S"
refused "a batch of 2 with 1 left" max_signatures
expect_contains "$(jbody -r .error.message)" "1 left this hour, 2 asked" "the refusal says what is left"
sign "$KEC" "$S" ecdsa sha256; expect_status 200 "second of 2"
sign "$KEC" "$S" ecdsa sha256; refused "third of 2" max_signatures
api_q GET /v1/me/keys "" "$S"; assert_status 200 "me/keys"
expect_eq "$(jbody -c ".keys[] | select(.id == \"$KEC\") | [.quota.limit, .quota.used, .quota.remaining, .quota.period, .approval_required]")" \
    '[2,2,0,"hour",false]' "me/keys quota"
next_hour=$(date -u -d "@$(( ($(date -u +%s) / 3600 + 1) * 3600 ))" +%Y-%m-%dT%H:%M:%SZ)
expect_eq "$(jbody -r ".keys[] | select(.id == \"$KEC\") | .quota.resets_at")" "$next_hour" "quota resets at the next hour"
expect_eq "$(jbody -c ".keys[] | select(.id == \"$KRSA\") | .quota")" null "no quota on the RSA key"
SIGNET_API_KEY=$S run_signet 0 keys
expect_contains "$OUT" "0/2 per hour, resets $next_hour" "signet keys shows what is left"
expect_contains "$OUT" "LEFT" "signet keys has the LEFT column"

# ---- every refusal above is an audit event naming its rule
for rule in digests mechanisms sources windows max_signatures; do
	n=$(denied_events "$rule")
	((n >= 1)) || _e2e_soft_fail "no key.sign denied event for rule $rule (got $n)"
done

# ---- concurrency: 10 per day; 24 single-digest requests at once release
# exactly 10 signatures; then 8 batches of 3 at once on a fresh quota
# release exactly 3 batches (9), and never the 4th
mk_key conc ecdsa-p256; KC=$K
put "$KC" '{"max_signatures":"10/day"}'; assert_status 200 "quota 10/day"
body1=$(printf '{"mechanism":"ecdsa","digest_algorithm":"sha256","digest":"%s"}' "$D256")
hammer() {	# hammer N BODY: N requests at once, statuses into $W/st.*
	local n=$1 i pids=()
	rm -f "$W"/st.*
	for ((i = 0; i < n; i++)); do
		curl -s --max-time 120 --cacert "$SIGNET_CA_FILE" -H "Authorization: Bearer $S" \
		    -H 'Content-Type: application/json' --data-binary "$2" -o "$W/body.$i" \
		    -w '%{http_code}' "$SIGNET_URL/v1/keys/$KC/sign" >"$W/st.$i" 2>/dev/null &
		pids+=($!)
	done
	E2E_BG_PIDS="${pids[*]}"
	wait "${pids[@]}"
	E2E_BG_PIDS=
}
count_status() { cat "$W"/st.* | grep -o "$1" | wc -l; }
hammer 24 "$body1"
expect_eq "$(count_status 200)" 10 "24 concurrent single signatures under 10/day: 200s"
expect_eq "$(count_status 403)" 14 "24 concurrent single signatures under 10/day: 403s"
expect_eq "$(cat "$W"/body.* | grep -c '"signature"')" 10 "signatures released"
api_q GET /v1/me/keys "" "$S"
expect_eq "$(jbody -r ".keys[] | select(.id == \"$KC\") | .quota.remaining")" 0 "nothing left"
api_q DELETE "/v1/keys/$KC/policy" "" "$O"; assert_status 200 "clear (resets the count)"
put "$KC" '{"max_signatures":"10/day"}'; assert_status 200 "quota 10/day again"
bodyb=$(printf '{"mechanism":"ecdsa","digest_algorithm":"sha256","digests":["%s","%s","%s"]}' "$D256" "$D256" "$D256")
hammer 8 "$bodyb"
expect_eq "$(count_status 200)" 3 "8 concurrent batches of 3 under 10/day: 200s"
expect_eq "$(count_status 403)" 5 "8 concurrent batches of 3 under 10/day: 403s"
api_q GET /v1/me/keys "" "$S"
expect_eq "$(jbody -r ".keys[] | select(.id == \"$KC\") | .quota.used")" 9 "9 counted"
ok=$(audit_count "$A" ".action == \"key.sign\" and .result == \"ok\" and .object_id == \"$KC\"")
expect_eq "$ok" 13 "key.sign ok events on the quota key (10 singles + 3 batches)"

# ---- garbage in every field: 400, the policy unchanged
put "$KEC" '{"digests":["sha256"],"max_signatures":"5/day"}'; assert_status 200 "a good policy"
before=$(api GET "/v1/keys/$KEC/policy" "" "$O" | jq -c .policy)
n_set=$(audit_count "$A" ".action == \"key.policy.set\" and .result == \"ok\"")
while IFS= read -r bad; do
	[[ -z $bad || $bad == \#* ]] && continue
	put "$KEC" "$bad"
	expect_status 400 "garbage policy $bad"
	check_error_shape
done <<'EOF'
{}
[]
"x"
{"nope":1}
{"mechanisms":null}
{"mechanisms":"ecdsa"}
{"mechanisms":[]}
{"mechanisms":["rsa-pss"]}
{"mechanisms":["ecdsa","ecdsa"]}
{"mechanisms":[1]}
{"mechanisms":[{"a":1}]}
{"digests":["md5"]}
{"digests":["SHA256"]}
{"digests":[""]}
{"digests":[true]}
{"windows":"Mon-Fri 08:00-18:00 UTC"}
{"windows":["always"]}
{"windows":["Mon-Fri 18:00-08:00 UTC"]}
{"windows":["Mon-Fri 08:00-18:00 Mars/Olympus"]}
{"windows":["Mon-Fri 08:00-18:00 ../../../etc/passwd"]}
{"windows":["Mon-Fri 08:00-18:00 /etc/localtime"]}
{"windows":["Mon-Fri 08:00-25:00 UTC"]}
{"windows":["Mon-Fri 08:00-18:00 UTC extra"]}
{"windows":["Mon-Fri 08:00-18:00 UTC\u0000x"]}
{"windows":["Xyz 08:00-18:00 UTC"]}
{"windows":["a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p","q"]}
{"sources":["10.1.2.3/8"]}
{"sources":["10.0.0.0/33"]}
{"sources":["::/129"]}
{"sources":["example.com"]}
{"sources":["10.0.0.0/8 "]}
{"sources":[]}
{"sources":{}}
{"max_signatures":5}
{"max_signatures":"5"}
{"max_signatures":"0/day"}
{"max_signatures":"-5/day"}
{"max_signatures":"5/year"}
{"max_signatures":"1000000000/day"}
{"max_signatures":"5/day/day"}
{"max_signatures":["5/day"]}
EOF
expect_eq "$(api GET "/v1/keys/$KEC/policy" "" "$O" | jq -c .policy)" "$before" "garbage changed nothing"
expect_eq "$(audit_count "$A" ".action == \"key.policy.set\" and .result == \"ok\"")" "$n_set" "no key.policy.set ok event for garbage"
n=$(audit_count "$A" ".action == \"key.policy.set\" and .result == \"denied\"")
((n >= 40)) || _e2e_soft_fail "refused policy changes are audit events too (got $n)"
# The CLI: no rule is a usage error; a bad rule the server's message, exit 1
SIGNET_API_KEY=$O run_signet 2 policy set p/ec
SIGNET_API_KEY=$O run_signet 1 policy set p/ec --window 'Mon-Fri 8-18 UTC'
expect_contains "$ERR" "HH:MM-HH:MM" "the CLI shows the server's reason"
SIGNET_API_KEY=$O run_signet 1 policy set p/nokey --digests sha256

# ---- the audit trail of changes, and clearing
ev=$(audit_events "$A" | jq -c "select(.action == \"key.policy.set\" and .result == \"ok\" and .object_id == \"$KEC\")" | tail -n1)
expect_eq "$(jq -c .details.policy <<<"$ev")" '{"digests":["sha256"],"max_signatures":"5/day"}' "key.policy.set records the policy"
expect_eq "$(jq -c .details.previous <<<"$ev")" '{"max_signatures":"2/hour"}' "key.policy.set records the previous policy"
SIGNET_API_KEY=$O run_signet 0 policy clear p/ec
expect_contains "$OUT" "Cleared" "policy clear"
ev=$(audit_events "$A" | jq -c "select(.action == \"key.policy.clear\" and .object_id == \"$KEC\")" | tail -n1)
expect_eq "$(jq -r .result <<<"$ev")" ok "key.policy.clear event"
expect_eq "$(jq -c .details.previous <<<"$ev")" "$before" "key.policy.clear records what was cleared"
SIGNET_API_KEY=$S run_signet 0 policy show p/ec
expect_contains "$OUT" "has no policy" "policy show after clear"
sign "$KEC" "$S" ecdsa sha256; expect_status 200 "no policy, no restriction"

# A key with a policy can still be deleted (the policy goes with it).
put "$KRSA" '{"max_signatures":"5/day"}'; assert_status 200 "policy on the RSA key"
api_q DELETE "/v1/keys/$KRSA" "" "$A"; expect_status 200 "delete a key that has a policy"

api_q GET /v1/audit/verify "" "$A"; expect_eq "$(jbody -r .ok)" true "audit chain"
e2e_stop_server
e2e_done
