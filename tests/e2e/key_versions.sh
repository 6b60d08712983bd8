#!/bin/bash
# key_versions.sh - certificate renewal, key rotation and expiry in sight:
#   - `signet key renew` issues a new certificate for the same HSM key;
#     `signet cert` and the PKCS#11 token serve it; the old one stays listed
#     (`signet key show`) and valid (OCSP good) until it expires;
#   - `signet key rotate` makes a new HSM key pair the key's next version:
#     same name, project and PKCS#11 URI; the old version never signs again
#     (its HSM key is gone) but its public key and certificates stay
#     retrievable (`signet key versions`) and old signatures verify; the
#     module signs with the new version; key.sign events name the version;
#   - revoking the key revokes every certificate it has had (CRL, OCSP);
#   - `signet key list --expiring` and expires_in in /v1/me/keys;
#   - bad input: 400 / 409 / exit 2, nothing changed.
# e2e-requires: signetd signet signet-pkcs11
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/external_tools.bash"
e2e_require_tool openssl

M=$SIGNET_PKCS11
W=$E2E_DIR/work
cd "$W" || fail "cd $W"
e2e_init
E2E_SERVE_ARGS="--http-listen 127.0.0.1:0 --http-port-file $D/http-port"
e2e_serve
A=$ADMIN_KEY
must_signet login --url "$SIGNET_URL" --api-key "$A" --ca-file "$SIGNET_CA_FILE"
api_q POST /v1/projects '{"name":"p"}' "$A"; assert_status 201 "project"
api_q POST /v1/projects/p/signers '{"user":"admin@acme.test"}' "$A"; assert_status 201 "signer"
api_q POST /v1/keys '{"project":"p","name":"k","algorithm":"ecdsa-p256","validity":"2d"}' "$A"
assert_status 201 "key k"
K=$(jbody -r .key.id)
URI1=$(jbody -r .key.pkcs11_uri)
expect_eq "$(jbody .key.version)" 1 "a new key is version 1"
must_signet ca cert
printf '%s\n' "$OUT" >root.pem
must_signet cert p/k --chain
awk '/BEGIN CERT/{n++} n==2' <<<"$OUT" >issuing.pem
must_signet cert p/k
printf '%s\n' "$OUT" >c1.pem
S1=$(openssl x509 -in c1.pem -noout -serial | cut -d= -f2)
pub() { openssl x509 -in "$1" -noout -pubkey; }
echo "release 1.0" >data.txt
must_signet sign --key p/k --in data.txt --out v1.sig

# ---- renewal: same key, new certificate
must_signet key renew p/k --validity 10d
expect_contains "$OUT" "Renewed p/k: version 1" "renew output"
must_signet cert p/k
printf '%s\n' "$OUT" >c2.pem
S2=$(openssl x509 -in c2.pem -noout -serial | cut -d= -f2)
[[ $S2 != "$S1" ]] || _e2e_soft_fail "renewal kept the serial"
expect_eq "$(pub c2.pem)" "$(pub c1.pem)" "renewal keeps the public key"
end2=$(date -u -d "$(openssl x509 -in c2.pem -noout -enddate | cut -d= -f2)" +%s)
now=$(date +%s)
((end2 > now + 9 * 86400 && end2 <= now + 10 * 86400 + 60)) ||
    _e2e_soft_fail "renewed certificate ends $end2, want about now + 10 days"
for c in c1 c2; do
	openssl verify -CAfile root.pem -untrusted issuing.pem "$c.pem" >/dev/null 2>&1 ||
	    _e2e_soft_fail "$c does not verify"
done
must_signet key show p/k
expect_contains "$OUT" "$(tr 'A-F' 'a-f' <<<"$S1")" "key show lists the replaced certificate"
expect_contains "$OUT" "replaced" "key show marks it replaced"
expect_contains "$OUT" "current" "key show marks the current certificate"
OCSP_URL=$(openssl x509 -in c2.pem -noout -ocsp_uri)
openssl ocsp -issuer issuing.pem -cert c1.pem -url "$OCSP_URL" -CAfile root.pem >o1.out 2>&1
expect_contains "$(cat o1.out)" "c1.pem: good" "the replaced certificate stays valid (OCSP)"
# The token serves the renewed certificate.
ID_HEX=$(sed -n 's/.*id=\([^;]*\).*/\1/p' <<<"$URI1" | tr -d '%')
if command -v pkcs11-tool >/dev/null 2>&1; then
	pkcs11-tool --module "$M" --read-object --type cert --id "$ID_HEX" -o tok.der >p11.out 2>&1 ||
	    _e2e_soft_fail "pkcs11-tool --read-object: $(tail -n3 p11.out)"
	expect_eq "$(openssl x509 -inform DER -in tok.der -noout -serial 2>&1)" "serial=$S2" \
	    "the token serves the renewed certificate"
fi

# ---- rotation: a new key pair, same name, project, URI
must_signet key rotate p/k
expect_contains "$OUT" "Rotated p/k: version 2" "rotate output"
api_q GET "/v1/keys/$K" "" "$A"
expect_eq "$(jbody .key.version)" 2 "version after rotation"
expect_eq "$(jbody -r .key.pkcs11_uri)" "$URI1" "the PKCS#11 URI does not change"
expect_eq "$(jbody -r .key.name)/$(jbody -r .key.project.name)" "k/p" "name and project stay"
must_signet cert p/k
printf '%s\n' "$OUT" >c3.pem
[[ $(pub c3.pem) != "$(pub c1.pem)" ]] || _e2e_soft_fail "rotation kept the public key"
must_signet key versions p/k --json
printf '%s\n' "$OUT" >versions.json
expect_eq "$(jq '.versions | length' versions.json)" 2 "two versions"
expect_eq "$(jq -r '.versions[0].public_key' versions.json)" "$(pub c1.pem)" \
    "version 1's public key stays retrievable"
expect_eq "$(jq '[.certificates[] | select(.version == 1)] | length' versions.json)" 2 \
    "version 1's two certificates stay listed"
expect_eq "$(jq -r '.certificates[-1].current' versions.json)" true "the last certificate is current"
must_signet key versions p/k
expect_contains "$OUT" "retired (verify only)" "key versions table"
# The old signature verifies with the old version's public key ...
jq -r '.versions[0].public_key' versions.json >v1pub.pem
openssl dgst -sha256 -verify v1pub.pem -signature v1.sig data.txt >/dev/null 2>&1 ||
    _e2e_soft_fail "a version-1 signature no longer verifies with version 1's public key"
# ... and new signatures are made by version 2 only.
must_signet sign --key p/k --in data.txt --out v2.sig
pub c3.pem >v2pub.pem
openssl dgst -sha256 -verify v2pub.pem -signature v2.sig data.txt >/dev/null 2>&1 ||
    _e2e_soft_fail "the new signature does not verify with version 2"
openssl dgst -sha256 -verify v1pub.pem -signature v2.sig data.txt >/dev/null 2>&1 &&
    _e2e_soft_fail "a signature after rotation verifies with version 1"
# Through the module, with the same id as before
if command -v pkcs11-tool >/dev/null 2>&1; then
	pkcs11-tool --module "$M" --sign --id "$ID_HEX" --mechanism ECDSA-SHA256 \
	    --signature-format openssl --input-file data.txt --output-file p11.sig >p11s.out 2>&1 ||
	    _e2e_soft_fail "pkcs11-tool --sign after rotation: $(tail -n3 p11s.out)"
	openssl dgst -sha256 -verify v2pub.pem -signature p11.sig data.txt >/dev/null 2>&1 ||
	    _e2e_soft_fail "the module does not sign with the current version"
fi
# The audit trail names the version of every signature.
audit_events "$A" | jq -c 'select(.action == "key.sign" and .result == "ok")' >signs.json
expect_eq "$(head -n1 signs.json | jq .details.key_version)" 1 "first key.sign names version 1"
expect_eq "$(tail -n1 signs.json | jq .details.key_version)" 2 "last key.sign names version 2"
expect_eq "$(audit_count "$A" '.action == "key.rotate"')" 1 "one key.rotate event"
expect_eq "$(audit_count "$A" '.action == "key.renew"')" 1 "one key.renew event"
# The retired version's HSM key is gone (one private key per signing key, CA and TSA).
expect_hsm_consistent "after rotation"

# ---- revoking the key revokes every certificate it has had
must_signet key revoke p/k --reason superseded
for c in c1 c2 c3; do
	openssl ocsp -issuer issuing.pem -cert "$c.pem" -url "$OCSP_URL" -CAfile root.pem >o.out 2>&1
	expect_contains "$(cat o.out)" "$c.pem: revoked" "OCSP after revocation ($c)"
done
ISS=$(sed 's,.*/ocsp/,,' <<<"$OCSP_URL")
curl -s --cacert "$SIGNET_CA_FILE" -o crl.der "$SIGNET_URL/v1/ca/$ISS/crl"
openssl crl -inform DER -in crl.der -noout -text >crl.txt 2>&1
for c in c1 c2 c3; do
	s=$(openssl x509 -in "$c.pem" -noout -serial | cut -d= -f2)
	grep -qi "Serial Number: $s" crl.txt || _e2e_soft_fail "$c ($s) is not on the CRL"
done

# ---- expiry in sight
api_q POST /v1/keys '{"project":"p","name":"soon","algorithm":"ecdsa-p256","validity":3600}' "$A"
assert_status 201 "key soon"
api_q POST /v1/keys '{"project":"p","name":"later","algorithm":"ecdsa-p256","validity":"300d"}' "$A"
assert_status 201 "key later"
must_signet key list --expiring 2h --json
expect_eq "$(jq -r '[.keys[].name] | sort | join(",")' <<<"$OUT")" "soon" "key list --expiring 2h"
must_signet key list --expiring 400d --json
expect_eq "$(jq -r '[.keys[].name] | sort | join(",")' <<<"$OUT")" "later,soon" \
    "key list --expiring 400d (revoked keys left out)"
must_signet key list --expiring 2h
expect_contains "$OUT" "p/soon" "key list --expiring table"
api_q GET /v1/me/keys "" "$A"
e=$(jbody '.keys[] | select(.name == "soon") | .expires_in')
((e > 3500 && e <= 3600)) || _e2e_soft_fail "expires_in of a one-hour key is '$e'"
e=$(jbody '.keys[] | select(.name == "later") | .expires_in')
((e > 299 * 86400 && e <= 300 * 86400)) || _e2e_soft_fail "expires_in of a 300-day key is '$e'"
api_q GET "/v1/me/keys?expiring=7200" "" "$A"
expect_eq "$(jbody -r '[.keys[].name] | join(",")')" "soon" "/v1/me/keys?expiring"

# ---- bad input changes nothing
api_q GET "/v1/keys?expiring=soon" "" "$A"; expect_status 400 "?expiring=soon"
api_q GET "/v1/keys?expiring=-5" "" "$A"; expect_status 400 "?expiring=-5"
run_signet 2 key list --expiring tomorrow
run_signet 2 key versions
run_signet 2 key rotate
run_signet 2 key rotate p/later p/soon
run_signet 1 key versions p/nosuchkey
run_signet 2 key renew p/later --validity forever
LATER=$(api GET /v1/keys "" "$A" | jq -r '.keys[] | select(.name == "later") | .id')
api_q GET "/v1/keys/$LATER" "" "$A"
before=$(jbody -c '.key | {certificate_serial, not_after, version, public_key}')
for body in '{"validity":"forever"}' '{"validity":-1}' '{"validity":"40y"}' '{"foo":1}' '[]'; do
	api_q POST "/v1/keys/$LATER/renew" "$body" "$A"; expect_status 400 "renew $body"
	api_q POST "/v1/keys/$LATER/rotate" "$body" "$A"; expect_status 400 "rotate $body"
done
api_q POST "/v1/keys/$LATER/renew" '{"validity":"100y"}' "$A"; expect_status 400 "renew beyond the CA"
api_q GET "/v1/keys/$LATER" "" "$A"
expect_eq "$(jbody -c '.key | {certificate_serial, not_after, version, public_key}')" "$before" \
    "refused renewals and rotations changed nothing"
api_q POST "/v1/keys/$K/renew" '{}' "$A"; expect_status 409 "renew a revoked key"
api_q POST "/v1/keys/$K/rotate" '{}' "$A"; expect_status 409 "rotate a revoked key"
api_q POST /v1/keys '{"project":"p","name":"bare","algorithm":"ecdsa-p256","ca":"none"}' "$A"
BARE=$(jbody -r .key.id)
api_q POST "/v1/keys/$BARE/renew" '{}' "$A"; expect_status 409 "renew a key without a built-in certificate"
api_q GET /v1/keys/skey_00000000000000000000000000000000/versions "" "$A"; expect_status 404 "versions of no key"
# Only admins and project owners renew or rotate; signers may read versions.
mk_user signer@acme.test; SIG=$U_KEY
api_q POST /v1/projects/p/signers '{"user":"signer@acme.test"}' "$A"
api_q POST "/v1/keys/$LATER/renew" '{}' "$SIG"; expect_status 403 "a signer renews"
api_q POST "/v1/keys/$LATER/rotate" '{}' "$SIG"; expect_status 403 "a signer rotates"
api_q GET "/v1/keys/$LATER/versions" "" "$SIG"; expect_status 200 "a signer reads versions"
expect_eq "$(audit_count "$A" '.action == "key.rotate" and .result == "denied" and .details.status == 403')" 1 "the signer's refused rotation is audited"

must_signet audit verify
e2e_stop_server
e2e_done
