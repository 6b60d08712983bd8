#!/bin/bash
# ocsp_revocation.sh - the OCSP responder (RFC 6960) of the built-in
# issuing CA and revocation with a reason:
#   - leaf certificates name the responder (authorityInfoAccess) and the CRL
#     (distribution point) on the plain-HTTP listener;
#   - `openssl ocsp -issuer -cert -url` says good, and after `signet key
#     revoke --reason R` says revoked with that reason and time; the CRL
#     entry carries the same reason code;
#   - key-compromise with --compromised-at: the CRL and OCSP carry the
#     invalidity date, and of two signatures timestamped before and after it
#     (the TSA's tokens), the first is still trusted, the second is not;
#   - nonce-less answers are cached, and a revocation drops the cache;
#   - unknown serials are "unknown"; bad requests get 400/404/405 and
#     change nothing; bad revoke bodies / CLI flags are refused.
# e2e-requires: signetd signet
source "$(dirname "$0")/lib.sh"
e2e_require_tool openssl python3

W=$E2E_DIR/work
cd "$W" || fail "cd $W"
e2e_init
E2E_SERVE_ARGS="--http-listen 127.0.0.1:0 --http-port-file $D/http-port"
e2e_serve
HPORT=$(tr -d ' \n' <"$D/http-port")
A=$ADMIN_KEY
must_signet login --url "$SIGNET_URL" --api-key "$A" --ca-file "$SIGNET_CA_FILE"
api_q POST /v1/projects '{"name":"p"}' "$A"; assert_status 201 "project"
api_q POST /v1/projects/p/signers '{"user":"admin@acme.test"}' "$A"; assert_status 201 "signer"
for k in good sup unspec cess comp; do
	api_q POST /v1/keys "{\"project\":\"p\",\"name\":\"$k\",\"algorithm\":\"ecdsa-p256\"}" "$A"
	assert_status 201 "key $k"
	must_signet cert "p/$k"
	printf '%s\n' "$OUT" >"$k.pem"
done
must_signet ca cert
printf '%s\n' "$OUT" >root.pem
must_signet cert p/good --chain
awk '/BEGIN CERT/{n++} n==2' <<<"$OUT" >issuing.pem
api_q GET /v1/ca "" "$A"
ISS=$(jbody -r '.cas[] | select(.role == "issuing") | .id')

# ---- the URLs in the certificate
OCSP_URL=$(openssl x509 -in good.pem -noout -ocsp_uri)
expect_eq "$OCSP_URL" "http://127.0.0.1:$HPORT/ocsp/$ISS" "AIA OCSP URL"
openssl x509 -in good.pem -noout -text >good.txt
expect_contains "$(cat good.txt)" "URI:http://127.0.0.1:$HPORT/v1/ca/$ISS/crl" "CRL distribution point"

ocsp() {	# ocsp CERT [ARGS...]: openssl ocsp against our responder -> ocsp.out
	local cert=$1
	shift
	openssl ocsp -issuer issuing.pem -cert "$cert" -url "$OCSP_URL" -CAfile root.pem \
	    -resp_text "$@" >ocsp.out 2>&1
}
ocsp good.pem || fail "openssl ocsp (good): $(tail -n5 ocsp.out)"
expect_contains "$(cat ocsp.out)" "Response verify OK" "OCSP response signature"
expect_contains "$(cat ocsp.out)" "good.pem: good" "OCSP good"
# Over HTTPS as well
openssl ocsp -issuer issuing.pem -cert good.pem -url "$SIGNET_URL/ocsp/$ISS" -CAfile root.pem \
    -reqout req.der -respout resp.der >/dev/null 2>&1
code=$(curl -s --cacert "$SIGNET_CA_FILE" -o https.der -w '%{http_code} %{content_type}' \
    -H 'Content-Type: application/ocsp-request' --data-binary @req.der "$SIGNET_URL/ocsp/$ISS")
expect_eq "$code" "200 application/ocsp-response" "OCSP over HTTPS"
openssl ocsp -respin https.der -issuer issuing.pem -CAfile root.pem -resp_text >h.out 2>&1
expect_contains "$(cat h.out)" "Cert Status: good" "OCSP over HTTPS: good"

# ---- nonce-less answers are cached; a revocation drops them
openssl ocsp -issuer issuing.pem -cert sup.pem -no_nonce -reqout nn.der >/dev/null 2>&1 ||
    fail "openssl ocsp -reqout"
post() {	# post REQ OUT: sets CODE
	CODE=$(curl -s -o "$2" -w '%{http_code}' -H 'Content-Type: application/ocsp-request' \
	    --data-binary "@$1" "$OCSP_URL")
}
post nn.der nn1.der; expect_eq "$CODE" 200 "nonce-less OCSP"
sleep 1
post nn.der nn2.der
cmp -s nn1.der nn2.der || _e2e_soft_fail "a nonce-less OCSP answer within ocsp_cache_ttl was not the cached one"
ocsp good.pem; cp ocsp.out n1.out
ocsp good.pem
[[ $(grep 'This Update' n1.out) != "" ]] || _e2e_soft_fail "no thisUpdate"

# ---- revocation with a reason
must_signet key revoke p/sup --reason superseded
post nn.der nn3.der
openssl ocsp -respin nn3.der -issuer issuing.pem -CAfile root.pem -resp_text >nn3.out 2>&1
expect_contains "$(cat nn3.out)" "Cert Status: revoked" "a revocation drops the OCSP cache"
ocsp sup.pem
expect_contains "$(cat ocsp.out)" "sup.pem: revoked" "OCSP revoked (superseded)"
expect_contains "$(cat ocsp.out)" "Reason: superseded" "OCSP reason superseded"
grep -q "Revocation Time:" ocsp.out || _e2e_soft_fail "OCSP: no revocation time"
must_signet key revoke p/unspec
ocsp unspec.pem
expect_contains "$(cat ocsp.out)" "unspec.pem: revoked" "OCSP revoked (no reason)"
must_signet key revoke p/cess --reason cessation-of-operation
ocsp cess.pem
expect_contains "$(cat ocsp.out)" "Reason: cessationOfOperation" "OCSP reason cessationOfOperation"
SUP_ID=$(api GET /v1/keys "" "$A" | jq -r '.keys[] | select(.name == "sup") | .id')
api_q GET "/v1/keys/$SUP_ID" "" "$A"
expect_eq "$(jbody -r .key.revocation_reason)" superseded "key JSON revocation_reason"
ev=$(audit_events "$A" | jq -c 'select(.action == "key.revoke")' | head -n1)
expect_eq "$(jq -r .details.reason <<<"$ev")" superseded "key.revoke audit event reason"

# ---- key compromise: two signatures timestamped on both sides of the date
echo "payload" >data.txt
must_signet sign --key p/comp --in data.txt --out before.p7 --format cms --timestamp
sleep 2
must_signet sign --key p/comp --in data.txt --out after.p7 --format cms --timestamp
for s in before after; do
	mkdir -p "$s"
	python3 "$SIGNET_SOURCE_DIR/tests/e2e/cms_parts.py" "$s.p7" "$s" || fail "cms_parts $s"
	openssl ts -reply -in "$s/token.der" -token_in -token_out -text >"$s.tok" 2>/dev/null
	declare "T_$s=$(date -u -d "$(sed -n 's/^Time stamp: //p' "$s.tok")" +%s)"
done
((T_after > T_before)) || fail "the two tokens are not in order ($T_before, $T_after)"
COMP=$((T_before + 1))	# compromised between the two signatures
COMP_TXT=$(date -u -d "@$COMP" +%Y-%m-%dT%H:%M:%SZ)
must_signet key revoke p/comp --reason key-compromise --compromised-at "$COMP_TXT"
ocsp comp.pem
expect_contains "$(cat ocsp.out)" "comp.pem: revoked" "OCSP revoked (key compromise)"
expect_contains "$(cat ocsp.out)" "Reason: keyCompromise" "OCSP reason keyCompromise"
INV_OCSP=$(grep -A1 'Invalidity Date' ocsp.out | tail -n1 | sed 's/^ *//')
curl -s -o crl.der "http://127.0.0.1:$HPORT/v1/ca/$ISS/crl"
openssl crl -inform DER -in crl.der -noout -CAfile issuing.pem >/dev/null 2>&1 ||
    _e2e_soft_fail "the CRL does not verify"
openssl crl -inform DER -in crl.der -noout -text >crl.txt 2>&1
serial() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
entry() {	# the CRL entry of certificate $1: its lines up to the next entry
	awk -v s="Serial Number: $(serial "$1")" 'index(toupper($0), toupper(s)) {p = 1; print; next}
	    /Serial Number:|Signature Algorithm:/ {p = 0} p' crl.txt
}
expect_contains "$(entry sup.pem)" "Superseded" "CRL reason superseded"
expect_contains "$(entry cess.pem)" "Cessation Of Operation" "CRL reason cessation"
entry unspec.pem | grep -q "Reason Code" && _e2e_soft_fail "CRL: an unspecified revocation carries a reason code"
expect_contains "$(entry comp.pem)" "Key Compromise" "CRL reason key compromise"
INV_CRL=$(entry comp.pem | grep -A1 'Invalidity Date' | tail -n1 | sed 's/^ *//')
INV_O=$(date -u -d "$INV_OCSP" +%s 2>/dev/null || echo x)
INV_C=$(date -u -d "$INV_CRL" +%s 2>/dev/null || echo y)
expect_eq "$INV_O" "$COMP" "OCSP invalidity date = --compromised-at"
expect_eq "$INV_C" "$COMP" "CRL invalidity date = --compromised-at"
# The relying party's rule (RFC 5280 5.3.2 with RFC 3161): a signature whose
# token verifies and predates the invalidity date stays trusted.
must_signet tsa cert --chain
printf '%s\n' "$OUT" >tsa-chain.pem
for s in before after; do
	openssl ts -verify -data "$s/sigvalue.bin" -in "$s/token.der" -token_in -CAfile root.pem \
	    -untrusted tsa-chain.pem >/dev/null 2>&1 || _e2e_soft_fail "token of $s does not verify"
done
T_b=$T_before T_a=$T_after
((T_b < INV_O)) || _e2e_soft_fail "the signature timestamped before the compromise is not trusted ($T_b >= $INV_O)"
((T_a >= INV_O)) || _e2e_soft_fail "the signature timestamped after the compromise is still trusted ($T_a < $INV_O)"
run_signet 1 sign --key p/comp --in data.txt --out again.p7 --format cms
expect_contains "$ERR" "revoked" "a compromised key signs no more"

# ---- unknown serial, other issuer
openssl ocsp -issuer issuing.pem -serial 0x0123456789abcdef -url "$OCSP_URL" -CAfile root.pem \
    -resp_text >unk.out 2>&1
expect_contains "$(cat unk.out)" "0x0123456789abcdef: unknown" "OCSP unknown serial"
openssl ocsp -issuer root.pem -cert issuing.pem -url "$OCSP_URL" -CAfile root.pem -resp_text >oth.out 2>&1
expect_contains "$(cat oth.out)" "issuing.pem: unknown" "OCSP for another issuer's certificate"

# ---- bad OCSP requests: 400/404/405
bad() {	# bad WANT WHAT CURL-ARGS...
	local want=$1 what=$2 code
	shift 2
	code=$(curl -s --max-time 60 -o bad.out -w '%{http_code}' "$@")
	expect_eq "$code" "$want" "bad OCSP request: $what"
}
head -c 80 /dev/urandom >garbage.bin
bad 400 "random bytes" -H 'Content-Type: application/ocsp-request' --data-binary @garbage.bin "$OCSP_URL"
openssl ocsp -respin bad.out -resp_text >bad.txt 2>&1
grep -q 'malformedrequest' bad.txt ||
    _e2e_soft_fail "random bytes: not an OCSPResponse malformedRequest: $(head -3 bad.txt)"
head -c 30 req.der >trunc.der
bad 400 "truncated" -H 'Content-Type: application/ocsp-request' --data-binary @trunc.der "$OCSP_URL"
cat req.der req.der >twice.der
bad 400 "trailing bytes" -H 'Content-Type: application/ocsp-request' --data-binary @twice.der "$OCSP_URL"
bad 400 "wrong content type" -H 'Content-Type: application/json' --data-binary @req.der "$OCSP_URL"
bad 400 "empty body" -H 'Content-Type: application/ocsp-request' --data-binary '' "$OCSP_URL"
bad 404 "unknown CA" -H 'Content-Type: application/ocsp-request' --data-binary @req.der \
    "http://127.0.0.1:$HPORT/ocsp/ca_00000000000000000000000000000000"
bad 405 "GET" "$OCSP_URL"

# ---- bad revoke requests change nothing
api_q POST /v1/keys '{"project":"p","name":"victim","algorithm":"ecdsa-p256"}' "$A"; assert_status 201 "victim"
V=$(jbody -r .key.id)
now=$(date +%s)
for body in '{"reason":"bogus"}' '{"reason":1}' '{"reason":"superseded","compromised_at":"2020-01-01T00:00:00Z"}' \
    '{"compromised_at":"2020-01-01T00:00:00Z"}' "{\"reason\":\"key-compromise\",\"compromised_at\":$((now + 3600))}" \
    '{"reason":"key-compromise","compromised_at":"yesterday"}' '{"reason":"key-compromise","compromised_at":-5}' \
    '{"reason":"superseded","extra":1}' '[]'; do
	api_q POST "/v1/keys/$V/revoke" "$body" "$A"
	expect_status 400 "revoke body $body"
done
api_q GET "/v1/keys/$V" "" "$A"
expect_eq "$(jbody -r .key.state)" active "bad revoke bodies left the key active"
run_signet 2 key revoke p/victim --reason bogus
run_signet 2 key revoke p/victim --compromised-at 2020-01-01T00:00:00Z
run_signet 2 key revoke p/victim --reason superseded --compromised-at 2020-01-01T00:00:00Z
run_signet 2 key revoke p/victim --reason key-compromise --compromised-at notatime
api_q GET "/v1/keys/$V" "" "$A"
expect_eq "$(jbody -r .key.state)" active "bad CLI revokes left the key active"

must_signet audit verify
e2e_stop_server
e2e_done
