#!/bin/bash
# key_delete_cert.sh - a live certificate is never lost: deleting a key
# whose built-in-CA certificate is still valid revokes that certificate
# first, in the same transaction, and its serial stays on the CRL (for an
# active, a disabled and an already revoked key, and every certificate of
# a renewed key), in the CRL and in OCSP, also after a restart.
# A key without a certificate (ca none) is simply deleted.
# e2e-requires: signetd
source "$(dirname "$0")/lib.sh"
e2e_require_tool openssl

e2e_start_server
A=$ADMIN_KEY
W=$E2E_DIR/work
api_q POST /v1/projects '{"name":"p1"}' "$A"; assert_status 201 "project"

crl_serials() { openssl crl -inform DER -in "$1" -noout -text 2>/dev/null | sed -n 's/.*Serial Number: *//p' | tr 'a-f' 'A-F' | sed 's/^0*//'; }
norm() { tr 'a-f' 'A-F' | sed 's/^0*//'; }
mk() {	# mk NAME: sets K, SERIAL, ISSUER
	api_q POST /v1/keys "{\"project\":\"p1\",\"name\":\"$1\",\"algorithm\":\"ecdsa-p256\",\"ca\":\"builtin\"}" "$A"
	assert_status 201 "key $1"
	K=$(jbody -r .key.id)
	SERIAL=$(jbody -r .key.certificate_serial | norm)
	jbody -r .key.certificate >"$W/$1.crt"
	[[ -n $SERIAL && $SERIAL != NULL ]] || fail "key $1 has no certificate serial"
	ISSUER=$(openssl x509 -in "$W/$1.crt" -noout -text | grep -A4 "CRL Distribution Points" |
	    grep -o 'URI:[^ ]*' | head -n1 | sed 's|.*/v1/ca/||; s|/crl$||')
	[[ -n $ISSUER ]] || fail "key $1: no CRL distribution point"
}
on_crl() {	# on_crl SERIAL WHAT
	api_q GET "/v1/ca/$ISSUER/crl" ""; assert_status 200 "CRL ($2)"
	cp "$E2E_DIR/last.body" "$W/crl.der"
	crl_serials "$W/crl.der" | grep -qx "$1" || _e2e_soft_fail "$2: serial $1 is not on the CRL"
}

declare -a SERIALS
# an active key
mk k-active
api_q DELETE "/v1/keys/$K" "" "$A"; expect_status 200 "delete an active key with a live certificate"
api_q GET "/v1/keys/$K" "" "$A"; expect_status 404 "the deleted key"
on_crl "$SERIAL" "deleted active key"
SERIALS+=("$SERIAL")
ev=$(audit_events "$A" | jq -c "select(.action == \"key.delete\" and .object_id == \"$K\")")
expect_eq "$(jq -r .result <<<"$ev")" ok "key.delete event"
expect_eq "$(jq -r .details.certificate_revoked <<<"$ev")" true "key.delete event says the certificate was revoked"

# a disabled key
mk k-disabled
api_q POST "/v1/keys/$K/disable" "" "$A"; assert_status 200 "disable"
api_q DELETE "/v1/keys/$K" "" "$A"; expect_status 200 "delete a disabled key with a live certificate"
on_crl "$SERIAL" "deleted disabled key"
SERIALS+=("$SERIAL")

# a revoked key (its certificate already on the CRL): stays there
mk k-revoked
api_q POST "/v1/keys/$K/revoke" "" "$A"; assert_status 200 "revoke"
on_crl "$SERIAL" "revoked key"
api_q DELETE "/v1/keys/$K" "" "$A"; expect_status 200 "delete a revoked key with a live certificate"
on_crl "$SERIAL" "deleted revoked key"
SERIALS+=("$SERIAL")

# a renewed key: the certificate the renewal replaced is still valid and
# goes with the key; both serials stay revoked, on the CRL and in OCSP
mk k-renewed
cp "$W/k-renewed.crt" "$W/old.crt"
OLD=$SERIAL
api_q POST "/v1/keys/$K/renew" '{"validity":"30d"}' "$A"; assert_status 200 "renew"
NEW=$(jbody -r .key.certificate_serial | norm)
jbody -r .key.certificate >"$W/new.crt"
[[ -n $NEW && $NEW != "$OLD" ]] || fail "the renewal kept the serial"
api_q DELETE "/v1/keys/$K" "" "$A"; expect_status 200 "delete a renewed key"
on_crl "$OLD" "deleted key's replaced certificate"
on_crl "$NEW" "deleted key's current certificate"
SERIALS+=("$OLD" "$NEW")
openssl crl -inform DER -in "$W/crl.der" -noout -text 2>/dev/null |
    grep -A4 "Serial Number: *0*$NEW" >"$W/entry" || true
expect_contains "$(cat "$W/entry")" "Cessation Of Operation" "CRL reason of a deleted key's certificate"
api_q GET "/v1/ca" "" "$A"; assert_status 200 "CA list"
jbody -r ".cas[] | select(.id == \"$ISSUER\") | .certificate" >"$W/issuing.pem"
for c in old new; do
	openssl ocsp -issuer "$W/issuing.pem" -cert "$W/$c.crt" -no_nonce \
	    -reqout "$W/$c.req" >/dev/null 2>&1 || fail "openssl ocsp -reqout"
	curl -s --cacert "$SIGNET_CA_FILE" -o "$W/$c.resp" -H 'Content-Type: application/ocsp-request' \
	    --data-binary @"$W/$c.req" "$SIGNET_URL/ocsp/$ISSUER"
	openssl ocsp -respin "$W/$c.resp" -issuer "$W/issuing.pem" -noverify -resp_text >"$W/$c.out" 2>&1
	expect_contains "$(cat "$W/$c.out")" "Cert Status: revoked" "OCSP: deleted key's $c certificate"
	expect_contains "$(cat "$W/$c.out")" "cessationOfOperation" "OCSP reason: deleted key's $c certificate"
done

# no certificate: nothing to revoke
api_q POST /v1/keys '{"project":"p1","name":"k-none","algorithm":"ecdsa-p256","ca":"none"}' "$A"
assert_status 201 "key without a CA"
KN=$(jbody -r .key.id)
api_q DELETE "/v1/keys/$KN" "" "$A"; expect_status 200 "delete a key without a certificate"

# the serials survive a restart (they are in the database, not the cache)
e2e_stop_server
e2e_serve
for s in "${SERIALS[@]}"; do on_crl "$s" "after a restart"; done
openssl crl -inform DER -in "$W/crl.der" -noout -text 2>/dev/null | grep -c "Serial Number" >"$W/n"
expect_eq "$(cat "$W/n")" 5 "entries on the CRL"
api_q GET /v1/audit/verify "" "$A"; expect_eq "$(jbody -r .ok)" true "audit chain"
e2e_stop_server
expect_hsm_consistent "after the deletions"
e2e_done
