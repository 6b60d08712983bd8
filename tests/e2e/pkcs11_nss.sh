#!/bin/bash
# pkcs11_nss.sh - NSS and chains. The module is added to an NSS database
# with modutil; NSS sees the token's certificates as "Signet:PROJECT/KEY";
# with the service's root trusted for object signing, `certutil -V -u O`
# accepts the code signing certificate and NSS `signtool` signs a JAR with
# the key on the token and verifies it (`signtool -v`). Both check extended
# key usage along the chain: the issuing CA must allow codeSigning too (it
# used to carry no EKU: "Issuer certificate is invalid").
#
# e2e-requires: signetd signet-pkcs11
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/external_tools.bash"
e2e_require_tool certutil modutil signtool openssl

M=$SIGNET_PKCS11
W=$E2E_DIR/work
cd "$W" || fail "cd $W"

e2e_start_server
api_q POST /v1/projects '{"name":"app"}' "$ADMIN_KEY"; assert_status 201 "project"
# NSS signtool signs SHA-1 digests only (hard-coded): its key allows SHA-1.
for k in rsa:rsa-2048 ec:ecdsa-p256 sha1-rsa:rsa-2048; do
	extra=
	[[ $k == sha1-* ]] && extra=',"allow_sha1":true'
	api_q POST /v1/keys "{\"project\":\"app\",\"name\":\"${k%%:*}\",\"algorithm\":\"${k#*:}\"$extra}" "$ADMIN_KEY"
	assert_status 201 "key app/${k%%:*}"
	jbody -r .key.certificate >"${k%%:*}.crt"
done
mk_user dev@acme.test
api_q POST /v1/projects/app/signers '{"user":"dev@acme.test"}' "$ADMIN_KEY"; assert_status 201 "signer"
api_q GET /v1/me/keys "" "$U_KEY"; assert_status 200 "me/keys"
jbody -r '.keys[0].chain[-1]' >root.pem
jbody -r '.keys[0].chain[0]' >issuing.pem
export SIGNET_API_KEY=$U_KEY

# The issuing CA allows what it issues.
expect_contains "$(openssl x509 -in issuing.pem -noout -ext extendedKeyUsage 2>&1)" "Code Signing" \
	"issuing CA has extendedKeyUsage codeSigning"
expect_contains "$(openssl x509 -in issuing.pem -noout -ext extendedKeyUsage 2>&1)" "Time Stamping" \
	"issuing CA has extendedKeyUsage timeStamping (it issues the TSA certificate)"

DB=sql:$W/nssdb
mkdir -p nssdb
certutil -N -d "$DB" --empty-password >/dev/null 2>&1 || fail "certutil -N"
modutil -dbdir "$DB" -add Signet -libfile "$M" -force >modutil.out 2>&1 ||
	fail "modutil -add: $(cat modutil.out)"
modutil -dbdir "$DB" -list >modlist.out 2>&1
expect_contains "$(cat modlist.out)" "token: Signet" "NSS sees the Signet token"
# The root, trusted for object signing (the third trust field).
certutil -A -d "$DB" -n "Signet Root" -t ",,C" -i root.pem >/dev/null 2>&1 || fail "certutil -A root"
certutil -L -d "$DB" -h Signet >list.out 2>&1
# certutil's usage letter for "object signer" is J (O is "OCSP status
# responder" in NSS 3.87's certutil -H).
for k in rsa ec sha1-rsa; do
	expect_contains "$(cat list.out)" "Signet:app/$k" "NSS lists Signet:app/$k"
	certutil -V -d "$DB" -n "Signet:app/$k" -u J >v-$k.out 2>&1 ||
		_e2e_soft_fail "certutil -V -u J app/$k: $(cat v-$k.out)"
	expect_contains "$(cat v-$k.out)" "certificate is valid" "certutil -V -u J (object signer) app/$k"
done
# The same with NSS's chain builder, from the files.
vfychain -d "$DB" -pp -u 6 -a rsa.crt -a issuing.pem >vfy.out 2>&1
expect_contains "$(cat vfy.out)" "Chain is good!" "vfychain -u 6 (object signer)"

# ---- NSS signtool: sign a JAR with the key on the token, verify it.
# signtool hashes with SHA-1 and nothing else, so only a key whose policy
# allows SHA-1 signs; with another key the service refuses, and signtool
# says so.
mkdir -p jar/META-INF && echo "signed by NSS signtool through signet-pkcs11" >jar/hello.txt
cp -r jar jar-no
signtool -d "$DB" -k "Signet:app/rsa" -Z app-no.jar jar-no >st-no.out 2>&1
expect_contains "$(cat st-no.out)" "SHA-1 is not allowed for this key" "signtool with a SHA-256-only key: the refusal is named"
for k in sha1-rsa; do
	rm -rf "jar-$k" && cp -r jar "jar-$k"
	signtool -d "$DB" -k "Signet:app/$k" -Z "app-$k.jar" "jar-$k" >st-$k.out 2>&1 ||
		_e2e_soft_fail "signtool sign app/$k: $(tail -n4 st-$k.out | tr '\n' ' ')"
	signtool -d "$DB" -v "app-$k.jar" >sv-$k.out 2>&1 ||
		_e2e_soft_fail "signtool -v app/$k: $(tail -n6 sv-$k.out | tr '\n' ' ')"
	expect_contains "$(cat sv-$k.out)" "has passed crypto verification" "signtool -v app/$k"
	grep -Eq "^ *verified +hello.txt" sv-$k.out || _e2e_soft_fail "signtool -v app/$k: hello.txt not verified"
	grep -qi "invalid\|error\|FAILED" sv-$k.out && _e2e_soft_fail "signtool -v app/$k: $(grep -i 'invalid\|error\|FAILED' sv-$k.out | head -n3)"
	python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); \
sys.stdout.buffer.write(next(z.read(n) for n in z.namelist() if n.upper().endswith((".RSA", ".EC", ".DSA"))))' \
	    "app-$k.jar" >"sig-$k.p7" 2>/dev/null
	python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); \
sys.stdout.buffer.write(next(z.read(n) for n in z.namelist() if n.upper().endswith(".SF")))' \
	    "app-$k.jar" >"sig-$k.sf" 2>/dev/null
	# The signer is app/$k's certificate, and OpenSSL agrees on the chain.
	openssl pkcs7 -inform DER -in "sig-$k.p7" -print_certs 2>/dev/null | grep '^subject=' >"signer-$k.txt"
	expect_contains "$(cat "signer-$k.txt")" "OU = app, CN = $k" "signtool signed with app/$k"
	openssl cms -verify -binary -inform DER -in "sig-$k.p7" -content "sig-$k.sf" \
	    -CAfile root.pem -certfile issuing.pem -purpose any -out /dev/null 2>"ov-$k.err" ||
		_e2e_soft_fail "openssl cms -verify of signtool's app/$k signature: $(cat "ov-$k.err")"
done
# A changed file no longer verifies.
mkdir -p tamper && (cd tamper && python3 - "../app-sha1-rsa.jar" <<'PY'
import sys, zipfile
src = zipfile.ZipFile(sys.argv[1])
with zipfile.ZipFile("bad.jar", "w") as dst:
    for n in src.namelist():
        data = src.read(n)
        if n == "hello.txt":
            data = b"changed\n"
        dst.writestr(n, data)
PY
)
signtool -d "$DB" -v tamper/bad.jar >tamper.out 2>&1
grep -Eq "HASH FAILED +hello.txt" tamper.out || _e2e_soft_fail "signtool -v accepted a changed JAR: $(cat tamper.out)"

e2e_stop_server
e2e_done
