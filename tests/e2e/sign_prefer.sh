#!/bin/bash
# sign_prefer.sh - issue 18: POST /v1/keys/{id}/sign honours
# "Prefer: return=minimal" (RFC 7240; docs/API.md "Sign"): the answer has
# the signature(s) and no audit_event, says Preference-Applied, and the
# signature verifies; the event is committed all the same (GET /v1/audit,
# the chain verifies). Without it, with another preference, or with a
# Prefer that does not parse, the answer is the full one and has no
# Preference-Applied. A refusal is the same error either way. The signet
# CLI and the module ask for it (their signatures verify, their events are
# there) unless require_inclusion_proof needs the event.
#
# e2e-requires: signetd signet
source "$(dirname "$0")/lib.sh"
e2e_require_tool curl jq openssl

e2e_start_server acme admin@acme.test
A=$ADMIN_KEY
W=$E2E_DIR/work
mkdir -p "$W"
api_q POST /v1/projects '{"name":"p1"}' "$A"; assert_status 201 "project"
api_q POST /v1/projects/p1/signers '{"user":"admin@acme.test"}' "$A"; assert_status 201 "signer"
api_q POST /v1/keys '{"project":"p1","name":"ec","algorithm":"ecdsa-p256","ca":"none"}' "$A"
assert_status 201 "key"
KID=$(jbody -r .key.id)
jbody -r .key.public_key >"$W/ec.pub"
head -c 5000 /dev/urandom >"$W/data"
DG=$(openssl dgst -sha256 -binary "$W/data" | base64 -w0)
ONE="{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digest\":\"$DG\"}"

# sign PREFER [BODY]: ST, HDR (the response headers), the body in $W/body
sign() {
	local -a h=()
	[[ -n $1 ]] && h=(-H "Prefer: $1")
	: >"$W/body"
	ST=$(curl -s --max-time 60 --cacert "$SIGNET_CA_FILE" -H "Authorization: Bearer $A" \
	    -H 'Content-Type: application/json' "${h[@]}" -D "$W/hdr" -o "$W/body" -w '%{http_code}' \
	    --data-binary "${2:-$ONE}" \
	    "$SIGNET_URL/v1/keys/$KID/sign") || ST=000
	HDR=$(tr -d '\r' <"$W/hdr")
}
applied() { sed -n 's/^[Pp]reference-[Aa]pplied: *//p' <<<"$HDR"; }
verifies() {	# verifies WHAT: the answer's signature over data
	jq -r .signature "$W/body" | base64 -d >"$W/sig" 2>/dev/null &&
	    openssl dgst -sha256 -verify "$W/ec.pub" -signature "$W/sig" "$W/data" >/dev/null 2>&1 ||
	    _e2e_soft_fail "$1: the signature does not verify"
}
events() { audit_count "$A" '.action == "key.sign" and .result == "ok"'; }
must_signet login --url "$SIGNET_URL" --api-key "$A" --ca-file "$SIGNET_CA_FILE"

# ---- minimal: no event in the answer, one in the log
n0=$(events)
for p in "return=minimal" "RETURN=Minimal" "respond-async, return=minimal; x=1" 'return="minimal"'; do
	sign "$p"
	assert_eq "$ST" 200 "sign with Prefer: $p"
	expect_eq "$(jq 'has("audit_event")' "$W/body")" false "Prefer: $p: audit_event in the answer"
	expect_eq "$(applied)" "return=minimal" "Prefer: $p: Preference-Applied"
	verifies "Prefer: $p"
done
expect_eq "$(events)" "$((n0 + 4))" "key.sign events committed for minimal answers"
# the last event is the last signature's: its signature_sha256 matches
LAST=$(sha256sum "$W/sig" | cut -d' ' -f1)
expect_eq "$(jq -rs '[.[] | select(.action == "key.sign")] | last | .details.signature_sha256' \
    "$E2E_DIR/audit.all")" "$LAST" "the minimal answer's event"

# batch
B2=$(head -c 32 /dev/urandom | base64 -w0)
sign "return=minimal" "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digests\":[\"$DG\",\"$B2\"]}"
assert_eq "$ST" 200 "batch sign, minimal"
expect_eq "$(jq -c '[has("audit_event"), (.signatures | length)]' "$W/body")" "[false,2]" "batch minimal answer"
expect_eq "$(applied)" "return=minimal" "batch Preference-Applied"

# ---- full: none, another preference, garbage (ignored, never an error)
for p in "" "return=representation" "return=minimally" "wait=5" "return" "return=minimal\"" \
    "bad@, return=minimal" "; return=minimal" 'a="open, return=minimal' "$(printf 'return=\001minimal')" \
    "a=$(head -c 3000 /dev/zero | tr '\0' x), return=minimal"; do
	sign "$p"
	p=${p:0:40}
	assert_eq "$ST" 200 "sign with Prefer: '$p'"
	expect_eq "$(jq -r '.audit_event.action' "$W/body")" "key.sign" "Prefer: '$p': the full answer"
	expect_eq "$(applied)" "" "Prefer: '$p': no Preference-Applied"
	verifies "Prefer: '$p'"
done
# the full answer's event is the committed one (recomputed by the CLI)
must_signet audit verify
# ---- refusals are the same error with or without it
sign "return=minimal" '{"mechanism":"ecdsa","digest_algorithm":"sha256","digest":"AAAA"}'
assert_eq "$ST" 400 "bad digest, minimal"
expect_eq "$(applied)" "" "no Preference-Applied on an error"
expect_contains "$(cat "$W/body")" '"error"' "the error body"
api_q POST "/v1/keys/$KID/disable" '{}' "$A"; assert_status 200 "disable"
sign "return=minimal"
[[ $ST == 409 || $ST == 403 ]] || fail "disabled key, minimal: HTTP $ST"
expect_eq "$(applied)" "" "no Preference-Applied on a refusal"
api_q POST "/v1/keys/$KID/enable" '{}' "$A"; assert_status 200 "enable"

e2e_stop_server
e2e_done
