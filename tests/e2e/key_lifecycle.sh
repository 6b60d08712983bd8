#!/bin/bash
# key_lifecycle.sh - a signing key's life: built-in CA certificate (checked
# with openssl: chain, code signing EKU, public key, validity, CRL
# distribution point), custom subject, external CA (CSR out, chain in, CMS
# that verifies against the external root), ca "none", revocation (final;
# the serial shows up in the issuing CA's CRL, which verifies), deletion
# (404 afterwards, HSM object destroyed), and the whole state surviving a
# restart of signetd.
# e2e-requires: signetd signet
source "$(dirname "$0")/lib.sh"
e2e_require_tool openssl

e2e_start_server
A=$ADMIN_KEY
must_signet login --url "$SIGNET_URL" --api-key "$A" --ca-file "$SIGNET_CA_FILE"
mk_user signer@acme.test; S=$U_KEY
api_q POST /v1/projects '{"name":"p1"}' "$A"; assert_status 201 "project"
api_q POST /v1/projects/p1/signers '{"user":"signer@acme.test"}' "$A"; assert_status 201 "signer"
W=$E2E_DIR/work
head -c 20000 /dev/urandom >"$W/data"
SIGNBODY="{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digest\":\"$(rand_b64 32)\"}"

mkkey() {	# mkkey NAME ALG [EXTRA]: sets K_ID, K (json)
	api_q POST /v1/keys "{\"project\":\"p1\",\"name\":\"$1\",\"algorithm\":\"$2\"${3:+,$3}}" "$A"
	assert_status 201 "create key $1"
	K_ID=$(jbody -r .key.id)
	K=$(jbody -c .key)
}

# ---- built-in CA
mkkey k1 rsa-3072 '"subject":"CN=Release Signer, O=Acme Corp, C=DE","validity":864000'
K1=$K_ID
jq -r .public_key <<<"$K" >"$W/k1.pub"
expect_eq "$(jq -r .ca <<<"$K")" builtin "k1 .ca"
expect_eq "$(jq -r .state <<<"$K")" active "k1 .state"
uri=$(jq -r .pkcs11_uri <<<"$K")
[[ $uri =~ ^pkcs11:.*token=Signet ]] && [[ $uri == *"object=p1%2Fk1;"* ]] && [[ $uri =~ id=(%[0-9a-fA-F]{2})+ ]] &&
    [[ $uri == *"type=private"* ]] || _e2e_soft_fail "k1 pkcs11_uri '$uri'"
api_q GET "/v1/keys/$K1/certificate" "" "$S"; assert_status 200 "certificate (signer)"
jbody -r .certificate >"$W/k1.crt"
jbody -r '.chain[]' >"$W/k1.chain"
nchain=$(jbody '.chain | length')
((nchain >= 2)) || _e2e_soft_fail "chain of a built-in key has $nchain certificates (want issuing + root)"
jbody -r '.chain[-1]' >"$W/root.pem"
jbody -r '.chain[:-1][]' >"$W/intermediates.pem"
expect_eq "$(jq -r .certificate <<<"$K" | openssl x509 -noout -fingerprint -sha256 2>&1)" \
    "$(openssl x509 -in "$W/k1.crt" -noout -fingerprint -sha256 2>&1)" "K.certificate = GET certificate"
must_signet ca cert
printf '%s\n' "$OUT" >"$W/ca-cert.pem"
expect_eq "$(openssl x509 -in "$W/ca-cert.pem" -noout -fingerprint -sha256 2>&1)" \
    "$(openssl x509 -in "$W/root.pem" -noout -fingerprint -sha256 2>&1)" "'signet ca cert' is the chain's root"
openssl verify -CAfile "$W/root.pem" -untrusted "$W/intermediates.pem" -purpose codesign "$W/k1.crt" \
    >"$W/verify.out" 2>&1 || openssl verify -CAfile "$W/root.pem" -untrusted "$W/intermediates.pem" \
    "$W/k1.crt" >"$W/verify.out" 2>&1 || _e2e_soft_fail "k1 certificate does not verify: $(cat "$W/verify.out")"
openssl x509 -in "$W/k1.crt" -noout -text >"$W/k1.txt" 2>&1
grep -q "Code Signing" "$W/k1.txt" || _e2e_soft_fail "k1 certificate has no codeSigning EKU"
grep -q "CA:TRUE" "$W/k1.txt" && _e2e_soft_fail "k1 certificate is a CA certificate"
grep -q "Digital Signature" "$W/k1.txt" || _e2e_soft_fail "k1 certificate: keyUsage lacks digitalSignature"
subj=$(openssl x509 -in "$W/k1.crt" -noout -subject -nameopt RFC2253 2>&1)
expect_contains "$subj" "CN=Release Signer" "k1 certificate subject"
expect_contains "$subj" "O=Acme Corp" "k1 certificate subject"
expect_contains "$subj" "C=DE" "k1 certificate subject"
expect_eq "$(openssl x509 -in "$W/k1.crt" -noout -pubkey 2>&1)" "$(cat "$W/k1.pub")" "k1 certificate holds k1's public key"
na=$(date -d "$(openssl x509 -in "$W/k1.crt" -noout -enddate | cut -d= -f2)" +%s)
kna=$(date -d "$(jq -r .not_after <<<"$K")" +%s)
((na - kna <= 120 && kna - na <= 120)) || _e2e_soft_fail "certificate notAfter $na vs key not_after $kna"
crl_url=$(grep -A4 "CRL Distribution Points" "$W/k1.txt" | grep -o 'URI:[^ ]*' | head -n1 | cut -d: -f2-)
[[ -n $crl_url ]] || _e2e_soft_fail "k1 certificate has no CRL distribution point"
crl_path=/${crl_url#*://*/}
[[ $crl_path =~ ^/v1/ca/[^/]+/crl$ ]] || _e2e_soft_fail "CRL distribution point '$crl_url' is not /v1/ca/{id}/crl"
ISSUER=$(cut -d/ -f4 <<<"$crl_path")
api_q GET "/v1/ca/$ISSUER" "" "$A"; expect_status 200 "the CRL's CA exists"
expect_eq "$(jbody -r .ca.role)" issuing "the CRL distribution point names the issuing CA"
jbody -r .ca.certificate >"$W/issuing.pem"
# signing with the CLI's CMS form verifies against the root
if SIGNET_API_KEY=$S run_signet 0 sign --key p1/k1 --in "$W/data" --out "$W/k1.p7s" --format cms; then
	openssl cms -verify -binary -inform DER -in "$W/k1.p7s" -content "$W/data" -CAfile "$W/root.pem" \
	    -purpose any -out /dev/null 2>"$W/cms.err" || _e2e_soft_fail "k1 CMS: $(head -c 200 "$W/cms.err")"
fi

# ---- default subject
mkkey k-default ecdsa-p256
jq -r .certificate <<<"$K" | openssl x509 -noout -subject -nameopt RFC2253 >"$W/subj" 2>&1
expect_contains "$(cat "$W/subj")" "CN=k-default" "default subject CN = key name"
expect_contains "$(cat "$W/subj")" "O=acme" "default subject O = tenant name"
expect_contains "$(cat "$W/subj")" "OU=p1" "default subject OU = project name (keys of one name in two projects differ)"

# ---- revocation: final, on the CRL
api_q GET "/v1/ca/$ISSUER/crl" ""; assert_status 200 "CRL before revocation"
cp "$E2E_DIR/last.body" "$W/crl0.der"
openssl crl -inform DER -in "$W/crl0.der" -CAfile "$W/issuing.pem" -noout 2>"$W/crl.err" ||
    _e2e_soft_fail "CRL does not verify against the issuing CA: $(head -c 200 "$W/crl.err")"
serial=$(openssl x509 -in "$W/k1.crt" -noout -serial | cut -d= -f2 | tr 'a-f' 'A-F' | sed 's/^0*//')
api_q GET "/v1/keys/$K1" "" "$A"
expect_eq "$(jbody -r .key.certificate_serial | tr 'a-f' 'A-F' | sed 's/^0*//')" "$serial" "k1 certificate_serial = the certificate's serial"
crl_serials() { openssl crl -inform DER -in "$1" -noout -text 2>/dev/null | sed -n 's/.*Serial Number: *//p' | tr 'a-f' 'A-F' | sed 's/^0*//'; }
crl_serials "$W/crl0.der" | grep -qx "$serial" && _e2e_soft_fail "k1's serial is on the CRL before revocation"
api_q POST "/v1/keys/$K1/revoke" "" "$A"; expect_status 200 "revoke k1"
expect_eq "$(jbody -r .key.state)" revoked "state after revoke"
api_q POST "/v1/keys/$K1/sign" "{\"mechanism\":\"rsa-pkcs1\",\"digest_algorithm\":\"sha256\",\"digest\":\"$(rand_b64 32)\"}" "$S"
expect_status 409 "a revoked key signs"
for op in enable disable revoke; do
	api_q POST "/v1/keys/$K1/$op" "" "$A"; expect_status 409 "$op of a revoked key"
done
api_q POST "/v1/keys/$K1/csr" '{}' "$A"; expect_status 409 "CSR of a revoked key"
api_q GET "/v1/keys/$K1" "" "$A"; expect_eq "$(jbody -r .key.state)" revoked "still revoked"
api_q GET "/v1/ca/$ISSUER/crl" ""; assert_status 200 "CRL after revocation"
cp "$E2E_DIR/last.body" "$W/crl1.der"
openssl crl -inform DER -in "$W/crl1.der" -CAfile "$W/issuing.pem" -noout 2>/dev/null ||
    _e2e_soft_fail "CRL after revocation does not verify against the issuing CA"
crl_serials "$W/crl1.der" | grep -qx "$serial" || _e2e_soft_fail "k1's serial $serial is not on the CRL after revocation"
n0=$(openssl crl -inform DER -in "$W/crl0.der" -noout -crlnumber 2>/dev/null | cut -d= -f2)
n1=$(openssl crl -inform DER -in "$W/crl1.der" -noout -crlnumber 2>/dev/null | cut -d= -f2)
n0=${n0#0x} n1=${n1#0x}
[[ $n0 =~ ^[0-9A-Fa-f]+$ && $n1 =~ ^[0-9A-Fa-f]+$ ]] && (($((16#$n1)) > $((16#$n0)))) ||
    _e2e_soft_fail "crlNumber did not grow ($n0 -> $n1)"
# openssl itself now rejects the certificate when checking the CRL
openssl crl -inform DER -in "$W/crl1.der" -out "$W/crl1.pem" 2>/dev/null
if openssl verify -crl_check -CAfile "$W/root.pem" -untrusted "$W/intermediates.pem" -CRLfile "$W/crl1.pem" \
    "$W/k1.crt" >"$W/v.out" 2>&1; then
	_e2e_soft_fail "openssl verify -crl_check accepts the revoked certificate"
else
	grep -qi revoked "$W/v.out" || _e2e_soft_fail "openssl verify -crl_check: $(cat "$W/v.out")"
fi
# deleting a revoked key with a live certificate keeps its serial on the CRL
# (key_delete_cert.sh covers active and disabled keys too)
api_q DELETE "/v1/keys/$K1" "" "$A"; expect_status 200 "delete a revoked key with a valid certificate"
api_q GET "/v1/ca/$ISSUER/crl" ""; assert_status 200 "CRL after deleting k1"
cp "$E2E_DIR/last.body" "$W/crl1b.der"
crl_serials "$W/crl1b.der" | grep -qx "$serial" || _e2e_soft_fail "k1's serial left the CRL when k1 was deleted"

# ---- deletion
mkkey k-del ecdsa-p256
KDEL=$K_ID
api_q POST "/v1/keys/$KDEL/sign" "$SIGNBODY" "$S"; expect_status 200 "k-del signs"
api_q DELETE "/v1/keys/$KDEL" "" "$A"; expect_status 200 "delete k-del"
expect_eq "$(jbody -r .deleted)" true "delete answer"
api_q GET "/v1/keys/$KDEL" "" "$A"; expect_status 404 "deleted key"
api_q POST "/v1/keys/$KDEL/sign" "$SIGNBODY" "$S"; expect_status 404 "sign with a deleted key"
api_q DELETE "/v1/keys/$KDEL" "" "$A"; expect_status 404 "delete twice"
# the name is free again
api_q POST /v1/keys '{"project":"p1","name":"k-del","algorithm":"ecdsa-p256"}' "$A"
expect_status 201 "re-create a deleted key's name"
[[ $(jbody -r .key.id) != "$KDEL" ]] || _e2e_soft_fail "re-created key reuses the deleted id"

# ---- external CA, through the CLI
mkkey ext1 ecdsa-p384 '"ca":"external","subject":"CN=ext1, O=Acme"'
EXT=$K_ID
expect_eq "$(jq -r .certificate <<<"$K")" null "external key before import: certificate"
api_q GET "/v1/keys/$EXT/certificate" "" "$A"; expect_status 404 "certificate of an external key before import"
must_signet key csr p1/ext1
printf '%s\n' "$OUT" >"$W/ext1.csr"
openssl req -in "$W/ext1.csr" -noout -verify >/dev/null 2>&1 || _e2e_soft_fail "ext1 CSR does not verify"
expect_eq "$(openssl req -in "$W/ext1.csr" -noout -pubkey 2>&1)" "$(jq -r .public_key <<<"$K")" "CSR public key"
expect_contains "$(openssl req -in "$W/ext1.csr" -noout -subject -nameopt RFC2253 2>&1)" "CN=ext1" "CSR subject"
api_q POST "/v1/keys/$EXT/csr" '{"subject":"CN=Other Name, O=Acme"}' "$A"; expect_status 200 "CSR with a subject"
jbody -r .csr | openssl req -noout -subject -nameopt RFC2253 >"$W/s2" 2>&1
expect_contains "$(cat "$W/s2")" "CN=Other Name" "CSR subject override"
mk_ext_chain "$W/ext1.csr" "$W/ext1.chain"
# a chain whose leaf is a CA, and a chain for another key, are refused
api_q PUT "/v1/keys/$EXT/certificate" "{\"chain\":$(json_file_str "$E2E_DIR/extca/ca.pem")}" "$A"
expect_status 400 "import: the CA certificate as leaf"
must_signet key import-cert p1/ext1 --chain "$W/ext1.chain"
api_q GET "/v1/keys/$EXT" "" "$A"
expect_eq "$(jbody -r .key.ca)" external "ext1 .ca after import"
expect_eq "$(jbody -r .key.certificate | openssl x509 -noout -fingerprint -sha256 2>&1)" \
    "$(openssl x509 -in "$E2E_DIR/extca/leaf.pem" -noout -fingerprint -sha256 2>&1)" "ext1 certificate after import"
api_q GET "/v1/keys/$EXT/certificate" "" "$S"; expect_status 200 "ext1 certificate"
expect_eq "$(jbody -r '.chain[-1]' | openssl x509 -noout -fingerprint -sha256 2>&1)" \
    "$(openssl x509 -in "$E2E_DIR/extca/ca.pem" -noout -fingerprint -sha256 2>&1)" "ext1 chain ends at the external CA"
if SIGNET_API_KEY=$S run_signet 0 sign --key p1/ext1 --in "$W/data" --out "$W/ext1.p7s" --format cms --digest sha384; then
	openssl cms -verify -binary -inform DER -in "$W/ext1.p7s" -content "$W/data" -CAfile "$E2E_DIR/extca/ca.pem" \
	    -purpose any -out /dev/null 2>"$W/cms.err" || _e2e_soft_fail "ext1 CMS vs external CA: $(head -c 200 "$W/cms.err")"
	if openssl cms -verify -binary -inform DER -in "$W/ext1.p7s" -content "$W/data" -CAfile "$W/root.pem" \
	    -purpose any -out /dev/null >/dev/null 2>&1; then
		_e2e_soft_fail "ext1 CMS verifies against the built-in root"
	fi
fi
# built-in keys do not take imported chains
api_q PUT "/v1/keys/$(SIGNET_API_KEY=$A "$SIGNET" key show p1/k-default --json | jq -r .key.id)/certificate" \
    "{\"chain\":$(json_file_str "$W/ext1.chain")}" "$A"
[[ $(last_status) == 400 || $(last_status) == 409 ]] || _e2e_soft_fail "import into a built-in key: HTTP $(last_status)"

# ---- ca "none": signs raw, no certificate
mkkey k-none ecdsa-p256 '"ca":"none"'
KNONE=$K_ID
expect_eq "$(jq -r .certificate <<<"$K")" null "ca none: certificate"
api_q POST "/v1/keys/$KNONE/sign" "$SIGNBODY" "$S"; expect_status 200 "ca none key signs"
api_q GET /v1/me/keys "" "$S"
expect_eq "$(jbody -r --arg id "$EXT" '.keys[] | select(.id == $id) | .chain | length')" 1 "/v1/me/keys: ext1 chain"
expect_contains "$(jbody -r --arg id "$EXT" '.keys[] | select(.id == $id) | .certificate')" "BEGIN CERTIFICATE" \
    "/v1/me/keys: ext1 certificate"

# ---- keys by name: unique names resolve, ambiguous ones are refused
api_q GET /v1/keys/k-none "" "$A"; expect_status 200 "GET /v1/keys/{unique name}"
expect_eq "$(jbody -r .key.id)" "$KNONE" "key by unique name"
api_q POST /v1/projects '{"name":"p2"}' "$A"; assert_status 201 "project p2"
api_q POST /v1/keys '{"project":"p2","name":"k-none","algorithm":"ecdsa-p256","ca":"none"}' "$A"; assert_status 201 "p2/k-none"
api_q GET /v1/keys/k-none "" "$A"; expect_status 409 "GET /v1/keys/{name in two projects}"
api_q POST /v1/keys/k-none/sign "$SIGNBODY" "$S"
[[ $(last_status) == 409 || $(last_status) == 403 ]] || _e2e_soft_fail "sign with an ambiguous key name: HTTP $(last_status)"
api_q GET "/v1/keys?project=p2&name=k-none" "" "$A"
expect_eq "$(jbody '.keys | length')" 1 "GET /v1/keys?project=p2&name=k-none"
SIGNET_API_KEY=$A run_signet 0 key show p2/k-none --json
[[ $(jq -r .key.project.name <<<"$OUT" 2>/dev/null) == p2 ]] || _e2e_soft_fail "signet key show p2/k-none picked the wrong key"

# ---- everything survives a restart
api_q GET /v1/keys "" "$A"
jbody -S '[.keys[] | {id, name, state, certificate, public_key, certificate_serial}] | sort_by(.id)' >"$W/keys.before"
e2e_stop_server
e2e_serve
export SIGNET_URL SIGNET_CA_FILE
api_q GET /v1/keys "" "$A"; expect_status 200 "key list after restart"
jbody -S '[.keys[] | {id, name, state, certificate, public_key, certificate_serial}] | sort_by(.id)' >"$W/keys.after"
cmp -s "$W/keys.before" "$W/keys.after" || _e2e_soft_fail "keys differ after a restart: $(diff "$W/keys.before" "$W/keys.after" | head -n 5)"
api_q POST "/v1/keys/$KNONE/sign" "$SIGNBODY" "$S"; expect_status 200 "signing after a restart"
api_q GET "/v1/me" "" "$S"; expect_status 200 "API key after a restart"
api_q GET "/v1/ca/$ISSUER/crl" ""; expect_status 200 "CRL after a restart"
cp "$E2E_DIR/last.body" "$W/crl2.der"
crl_serials "$W/crl2.der" | grep -qx "$serial" || _e2e_soft_fail "k1's serial left the CRL after a restart"
api_q GET /v1/audit/verify "" "$A"; expect_eq "$(jbody -r .ok)" true "audit chain after the lifecycle"
e2e_stop_server

# ---- HSM objects: one private key per remaining signing key and CA key
expect_hsm_consistent "after deletions"
[[ -f $E2E_DIR/hsm-objects ]] && grep -qi "label: *$KDEL" "$E2E_DIR/hsm-objects" &&
    _e2e_soft_fail "the deleted key's HSM object is still on the token"
e2e_done
