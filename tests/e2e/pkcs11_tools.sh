#!/bin/bash
# pkcs11_tools.sh - signet-pkcs11.so under real consumers: pkcs11-tool,
# openssl with the libp11 engine (dgst and cms), osslsigncode (Authenticode
# with the certificate taken from the token), and a threaded + forking C
# program. Every signature is verified with openssl/osslsigncode against the
# service's public keys and CA, never against anything the module says.
#
# e2e-requires: signetd signet-pkcs11
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/external_tools.bash"
e2e_require_tool pkcs11-tool openssl

M=$SIGNET_PKCS11
BIN=$(dirname "$M")
W=$E2E_DIR/work
cd "$W" || fail "cd $W"

e2e_start_server

# ---- fixtures: two projects, three keys, one signer of "app" only ----
api_q POST /v1/projects '{"name":"app"}' "$ADMIN_KEY"
assert_status 201 "create project app"
api_q POST /v1/projects '{"name":"other"}' "$ADMIN_KEY"
assert_status 201 "create project other"

mk_key() {	# mk_key PROJECT NAME ALG -> KEY_ID, KEY_URI, $NAME.pub
	api_q POST /v1/keys "{\"project\":\"$1\",\"name\":\"$2\",\"algorithm\":\"$3\"}" "$ADMIN_KEY"
	assert_status 201 "create key $1/$2"
	KEY_ID=$(jbody -r .key.id)
	KEY_URI=$(jbody -r .key.pkcs11_uri)
	# CKA_ID as pkcs11-tool --id wants it: hex of the id bytes in the URI.
	KEY_HEXID=$(printf '%b' "$(sed -e 's/.*;id=\([^;]*\).*/\1/' -e 's/%/\\x/g' <<<"$KEY_URI")" |
	    od -An -tx1 | tr -d ' \n')
	jbody -r .key.public_key >"$2.pub"
	[[ $KEY_URI == pkcs11:* ]] || fail "key $2 has no pkcs11_uri"
}
mk_key app rsa-key rsa-2048
RSA_ID=$KEY_ID RSA_URI=$KEY_URI RSA_HEX=$KEY_HEXID
mk_key app ec-key ecdsa-p256
EC_ID=$KEY_ID EC_URI=$KEY_URI EC_HEX=$KEY_HEXID
mk_key other hidden-key rsa-3072

# The CA chain of the RSA key: [issuing, root].
api_q GET "/v1/keys/$RSA_ID/certificate" "" "$ADMIN_KEY"
assert_status 200 "certificate of rsa-key"
jbody -r .certificate >rsa-cert.pem
jbody -r '.chain[0]' >issuing.pem
jbody -r '.chain[-1]' >root.pem
[[ -s root.pem && -s issuing.pem ]] || fail "rsa-key has no CA chain"
ROOT_CN=$(openssl x509 -in root.pem -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= //p')

mk_user dev@acme.test
DEV_KEY=$U_KEY
api_q POST /v1/projects/app/signers '{"user":"dev@acme.test"}' "$ADMIN_KEY"
assert_status 201 "add dev as signer of app"

# The module takes its configuration from the environment (SIGNET_URL and
# SIGNET_CA_FILE come from lib.sh; SIGNET_CONFIG points at no file).
export SIGNET_API_KEY=$DEV_KEY
P11="pkcs11-tool --module $M"

head -c 100000 /dev/urandom >data.bin

# ---- token and objects ----
$P11 --list-token-slots >slots.txt 2>slots.err || fail "list slots: $(cat slots.err)"
expect_contains "$(cat slots.txt)" "token label        : Signet" "token label"
$P11 --list-objects >objects.txt 2>objects.err || fail "list objects: $(cat objects.err)"
objs=$(cat objects.txt)
expect_contains "$objs" "label:      app/rsa-key" "rsa-key on the token"
expect_contains "$objs" "label:      app/ec-key" "ec-key on the token"
if [[ $objs == *hidden-key* ]]; then
	_e2e_soft_fail "hidden-key (a project dev is not a signer of) is on the token"
fi
expect_eq "$(grep -c '^Private Key Object' objects.txt)" 2 "private keys on the token"
expect_eq "$(grep -c '^Public Key Object' objects.txt)" 2 "public keys on the token"
# 2 leaf certificates + issuing + root, each CA certificate once.
expect_eq "$(grep -c '^Certificate Object' objects.txt)" 4 "certificates on the token"
grep -q '^signet-pkcs11:' objects.err &&
    _e2e_soft_fail "module wrote to stderr on success: $(cat objects.err)"
expect_contains "$(cat objects.txt)" "ID:         $RSA_HEX" "rsa-key CKA_ID = the id in its pkcs11_uri"
# Private keys are sensitive and not extractable.
expect_contains "$objs" "Usage:      sign" "private key usage"
expect_contains "$objs" "Access:     sensitive, always sensitive, never extractable" "private key access"
if $P11 --read-object --type privkey --id "$RSA_HEX" -o priv.der >priv.out 2>&1 &&
    openssl pkey -inform DER -in priv.der -noout 2>/dev/null; then
	_e2e_soft_fail "pkcs11-tool read a private key from the token"
fi
# The certificate on the token is the service's certificate.
$P11 --read-object --type cert --label app/rsa-key -o tok-cert.der >/dev/null 2>&1 ||
    _e2e_soft_fail "cannot read rsa-key's certificate from the token"
openssl x509 -inform DER -in tok-cert.der -out tok-cert.pem 2>/dev/null
expect_eq "$(openssl x509 -in tok-cert.pem -noout -fingerprint -sha256 2>/dev/null)" \
    "$(openssl x509 -in rsa-cert.pem -noout -fingerprint -sha256)" "token certificate"

# ---- pkcs11-tool signatures, verified with openssl ----
p11sign() {	# p11sign HEXID MECH OUT [extra pkcs11-tool args] (input data.bin)
	local id=$1 mech=$2 out=$3
	shift 3
	# pkcs11-tool picks the signing key by --id (it ignores --label there).
	$P11 --sign --id "$id" --mechanism "$mech" --input-file "${IN:-data.bin}" \
	    --output-file "$out" "$@" >/dev/null 2>"$out.err" ||
	    { _e2e_soft_fail "pkcs11-tool --sign $mech with $id: $(cat "$out.err")"; return 1; }
}
verify() {	# verify WHAT PUB SIG [openssl dgst options]
	local what=$1 pub=$2 sig=$3
	shift 3
	openssl dgst "$@" -verify "$pub" -signature "$sig" data.bin >/dev/null 2>&1 ||
	    _e2e_soft_fail "$what: signature does not verify"
}

for h in 256 384 512; do
	p11sign $RSA_HEX "SHA$h-RSA-PKCS" "rsa$h.sig" &&
	    verify "SHA$h-RSA-PKCS" rsa-key.pub "rsa$h.sig" "-sha$h"
	p11sign $RSA_HEX "SHA$h-RSA-PKCS-PSS" "pss$h.sig" &&
	    verify "SHA$h-RSA-PKCS-PSS" rsa-key.pub "pss$h.sig" "-sha$h" \
	    -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest
	p11sign $EC_HEX "ECDSA-SHA$h" "ec$h.sig" --signature-format openssl &&
	    verify "ECDSA-SHA$h" ec-key.pub "ec$h.sig" "-sha$h"
done

# Raw mechanisms: the caller hashes. CKM_RSA_PKCS over a DigestInfo gives a
# normal PKCS#1 v1.5 signature; CKM_ECDSA over a bare digest.
openssl dgst -sha256 -binary data.bin >data.sha256
{ printf '\x30\x31\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01\x05\x00\x04\x20'
  cat data.sha256; } >data.di
IN=data.di p11sign $RSA_HEX RSA-PKCS raw-rsa.sig && verify "RSA-PKCS (DigestInfo)" rsa-key.pub raw-rsa.sig -sha256
IN=data.sha256 p11sign $EC_HEX ECDSA raw-ec.sig --signature-format openssl &&
    verify "ECDSA (digest)" ec-key.pub raw-ec.sig -sha256
IN=data.sha256 p11sign $RSA_HEX RSA-PKCS-PSS raw-pss.sig --hash-algorithm SHA256 &&
    verify "RSA-PKCS-PSS (digest)" rsa-key.pub raw-pss.sig -sha256 \
    -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest
# CKM_RSA_PKCS over something that is not a DigestInfo is refused.
if IN=data.sha256 $P11 --sign --id "$RSA_HEX" --mechanism RSA-PKCS \
    --input-file data.sha256 --output-file bad.sig >/dev/null 2>bad.err; then
	_e2e_soft_fail "RSA-PKCS over a bare digest was signed"
fi
# A mechanism the key type does not support.
if $P11 --sign --id "$EC_HEX" --mechanism SHA256-RSA-PKCS --input-file data.bin \
    --output-file bad2.sig >/dev/null 2>&1; then
	_e2e_soft_fail "an RSA mechanism signed with an EC key"
fi
# A read-write session opens, but writing an object is refused with
# CKR_TOKEN_WRITE_PROTECTED (it used to be C_OpenSession that refused).
if $P11 --login --pin 0000 --write-object rsa-cert.pem --type cert --label x \
    >/dev/null 2>rw.err; then
	_e2e_soft_fail "pkcs11-tool wrote an object to the token"
fi
expect_contains "$(cat rw.err)" "CKR_TOKEN_WRITE_PROTECTED" "object creation refused as write protected"
grep -q "C_OpenSession" rw.err && _e2e_soft_fail "a read-write session was refused: $(cat rw.err)"

# ---- pkcs11-tool --test: RW session, sign, and C_Verify done locally.
# Its verify test signs a SHA-1 DigestInfo with CKM_RSA_PKCS, which the
# service signs only for a key whose policy allows SHA-1: so a user who
# signs with one such key runs it.
api_q POST /v1/projects '{"name":"legacy"}' "$ADMIN_KEY"; assert_status 201 "create project legacy"
api_q POST /v1/keys '{"project":"legacy","name":"sha1-rsa","algorithm":"rsa-2048","allow_sha1":true}' "$ADMIN_KEY"
assert_status 201 "create key legacy/sha1-rsa"
mk_user tester@acme.test
api_q POST /v1/projects/legacy/signers '{"user":"tester@acme.test"}' "$ADMIN_KEY"
assert_status 201 "add tester as signer of legacy"
SIGNET_API_KEY=$U_KEY $P11 --test --login --pin 0000 >test.out 2>&1 ||
	_e2e_soft_fail "pkcs11-tool --test: $(grep -iE 'fail|error|CKR_' test.out | head -n5 | tr '\n' ' ')"
expect_contains "$(cat test.out)" "No errors" "pkcs11-tool --test"
grep -q "CKR_FUNCTION_NOT_SUPPORTED" test.out && grep -q -i "verif" test.out &&
	grep -i -B2 "CKR_FUNCTION_NOT_SUPPORTED" test.out | grep -qi verif &&
	_e2e_soft_fail "pkcs11-tool --test: verification not supported"
# C_Verify with the token's public key: a good signature verifies, a
# changed one is CKR_SIGNATURE_INVALID, for RSA, PSS and ECDSA.
for v in "$RSA_HEX SHA256-RSA-PKCS rsa256.sig" "$RSA_HEX SHA384-RSA-PKCS-PSS pss384.sig" \
    "$EC_HEX ECDSA-SHA512 ec512.sig"; do
	set -- $v
	fmt=()
	[[ $2 == ECDSA* ]] && fmt=(--signature-format openssl)
	$P11 --verify --id "$1" --mechanism "$2" "${fmt[@]}" --input-file data.bin \
	    --signature-file "$3" >ver.out 2>&1 || _e2e_soft_fail "C_Verify $2: $(cat ver.out)"
	expect_contains "$(cat ver.out)" "Signature is valid" "C_Verify $2"
	cp data.bin data2.bin && printf 'X' | dd of=data2.bin bs=1 seek=7 conv=notrunc 2>/dev/null
	$P11 --verify --id "$1" --mechanism "$2" "${fmt[@]}" --input-file data2.bin \
	    --signature-file "$3" >ver2.out 2>&1
	expect_contains "$(cat ver2.out)" "Invalid signature" "C_Verify $2 of changed data"
	grep -q "Signature is valid" ver2.out && _e2e_soft_fail "C_Verify $2 accepted changed data"
done

# ---- openssl with the libp11 engine: dgst and cms ----
ENGINE=
for e in /usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so /usr/lib/*/engines-3/pkcs11.so; do
	[[ -f $e ]] && { ENGINE=$e; break; }
done
if [[ -n $ENGINE ]]; then
	cat >engine.cnf <<EOF
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = $ENGINE
MODULE_PATH = $M
init = 0
EOF
	for k in rsa ec; do
		uri=RSA_URI
		[[ $k == ec ]] && uri=EC_URI
		OPENSSL_CONF=$W/engine.cnf openssl dgst -sha256 -engine pkcs11 -keyform engine \
		    -sign "${!uri}" -out "eng-$k.sig" data.bin >/dev/null 2>"eng-$k.err" ||
		    _e2e_soft_fail "openssl dgst -engine pkcs11 ($k): $(tail -n3 "eng-$k.err")"
		verify "openssl engine dgst ($k)" "$k-key.pub" "eng-$k.sig" -sha256
	done
	OPENSSL_CONF=$W/engine.cnf openssl cms -sign -engine pkcs11 -keyform engine \
	    -inkey "$RSA_URI" -signer rsa-cert.pem -certfile issuing.pem -md sha256 \
	    -binary -in data.bin -outform DER -out data.p7s 2>cms.err ||
	    _e2e_soft_fail "openssl cms -sign with the engine: $(tail -n3 cms.err)"
	openssl cms -verify -binary -inform DER -in data.p7s -content data.bin \
	    -CAfile root.pem -purpose any -out /dev/null 2>cmsv.err ||
	    _e2e_soft_fail "openssl cms -verify: $(tail -n3 cmsv.err)"
else
	# scripts/deps.sh installs it: missing means this run tested less.
	_e2e_soft_fail "libp11 engine (libengine-pkcs11-openssl) is missing (scripts/deps.sh installs it)"
fi

# ---- osslsigncode: certificate and key from the token ----
# osslsigncode 2.9 takes the signer certificate from the token with
# -pkcs11cert (a PKCS#11 URI); without it, it wants -certs FILE. The CA
# chain goes in with -ac so verifiers only need the root.
if command -v osslsigncode >/dev/null 2>&1; then
	"$BIN/signet_mkpe" a.exe "pkcs11 e2e" || fail "signet_mkpe"
	for k in rsa ec; do
		uri=RSA_URI
		[[ $k == ec ]] && uri=EC_URI
		args=(-pkcs11module "$M" -pkcs11cert "${!uri/type=private/type=cert}"
		    -key "${!uri}" -h sha256 -ac issuing.pem)
		[[ -n $ENGINE ]] && args=(-pkcs11engine "$ENGINE" "${args[@]}")
		osslsigncode sign "${args[@]}" -in a.exe -out "b-$k.exe" >"oss-$k.out" 2>&1 ||
		    _e2e_soft_fail "osslsigncode sign ($k): $(tail -n5 "oss-$k.out" | tr '\n' ' ')"
		osslsigncode verify -in "b-$k.exe" -CAfile root.pem >"ossv-$k.out" 2>&1 ||
		    _e2e_soft_fail "osslsigncode verify ($k): $(tail -n8 "ossv-$k.out" | tr '\n' ' ')"
		expect_contains "$(cat "ossv-$k.out")" "Signature verification: ok" "osslsigncode verify ($k)"
		expect_contains "$(cat "ossv-$k.out")" "Subject: /O=acme/OU=app/CN=$k-key" "osslsigncode signer ($k)"
	done
	# A modified file no longer verifies.
	cp b-rsa.exe t.exe
	printf 'X' | dd of=t.exe bs=1 seek=520 conv=notrunc 2>/dev/null
	osslsigncode verify -in t.exe -CAfile root.pem >/dev/null 2>&1 &&
	    _e2e_soft_fail "osslsigncode verified a modified file"
else
	# scripts/deps.sh installs it: missing means this run tested less.
	_e2e_soft_fail "osslsigncode is missing (scripts/deps.sh installs it)"
fi

# ---- jarsigner through Java's SunPKCS11 ----
if command -v jarsigner >/dev/null 2>&1 && command -v jar >/dev/null 2>&1 &&
    command -v keytool >/dev/null 2>&1; then
	printf 'name = Signet\nlibrary = %s\n' "$M" >java-pkcs11.cfg
	mkdir -p jar && echo "hello from the pkcs11 e2e test" >jar/hello.txt
	(cd jar && jar cf ../app.jar hello.txt) || fail "jar"
	keytool -importcert -noprompt -alias root -file root.pem -keystore trust.p12 \
	    -storetype PKCS12 -storepass changeit >/dev/null 2>&1 || fail "keytool -importcert"
	jopts=(-keystore NONE -storetype PKCS11 -providerClass sun.security.pkcs11.SunPKCS11
	    -providerArg java-pkcs11.cfg -storepass ignored)
	for k in rsa ec; do
		timeout 120 jarsigner "${jopts[@]}" -signedjar "app-$k.jar" app.jar "app/$k-key" \
		    >"js-$k.out" 2>&1 || _e2e_soft_fail "jarsigner ($k): $(tail -n5 "js-$k.out" | tr '\n' ' ')"
		timeout 120 jarsigner -verify -strict -verbose -certs -keystore trust.p12 \
		    -storetype PKCS12 -storepass changeit "app-$k.jar" >"jv-$k.out" 2>&1 ||
		    _e2e_soft_fail "jarsigner -verify ($k): $(tail -n5 "jv-$k.out" | tr '\n' ' ')"
		expect_contains "$(cat "jv-$k.out")" "jar verified." "jarsigner verify ($k)"
		# The chain Java found on the token reaches the root.
		expect_contains "$(cat "jv-$k.out")" "CN=$ROOT_CN" "jarsigner chain ($k)"
	done
else
	# scripts/deps.sh installs it: missing means this run tested less.
	_e2e_soft_fail "Java (openjdk-17-jdk-headless) is missing (scripts/deps.sh installs it)"
fi

# ---- a service account (CI machine) signs through the module ----
mk_ec_keypair "$W/sa.key"
api_q POST /v1/teams '{"name":"ci"}' "$ADMIN_KEY"
assert_status 201 "create team ci"
api_q POST /v1/serviceaccounts "{\"name\":\"builder\",\"team\":\"ci\",\"public_key\":$(json_file_str "$W/sa.key.pub")}" "$ADMIN_KEY"
assert_status 201 "create service account"
SA_ID=$(jbody -r .service_account.id)
api_q POST /v1/projects/app/signers '{"service_account":"builder"}' "$ADMIN_KEY"
assert_status 201 "add service account as signer"
printf '%s\n' "url = $SIGNET_URL" "ca_file = $SIGNET_CA_FILE" "service_account = builder" \
    "service_account_id = $SA_ID" "key_file = $W/sa.key" >"$W/sa.conf"
chmod 600 "$W/sa.conf" "$W/sa.key"
if SIGNET_CONFIG=$W/sa.conf SIGNET_API_KEY= $P11 --sign --id "$EC_HEX" --mechanism ECDSA-SHA384 \
    --signature-format openssl --input-file data.bin --output-file sa.sig >/dev/null 2>sa.err; then
	verify "service account ECDSA-SHA384" ec-key.pub sa.sig -sha384
else
	_e2e_soft_fail "service account signing through the module: $(cat sa.err)"
fi
SIGNET_CONFIG=$W/sa.conf SIGNET_API_KEY= $P11 --list-objects >sa-objs.txt 2>&1
expect_eq "$(grep -c '^Private Key Object' sa-objs.txt)" 2 "service account's keys on the token"

# ---- p11-kit: the generated module file registers the token ----
# (p11-kit ignores per-user module files when running as root.)
if command -v p11-kit >/dev/null 2>&1 && [[ -f $BIN/signet.module && $(id -u) != 0 ]]; then
	mkdir -p "$W/home/.config/pkcs11/modules"
	sed "s|^module:.*|module: $M|" "$BIN/signet.module" >"$W/home/.config/pkcs11/modules/signet.module"
	HOME=$W/home p11-kit list-modules >p11kit.out 2>&1
	expect_contains "$(cat p11kit.out)" "token: Signet" "p11-kit list-modules"
fi

# ---- PKCS#11 API rules (length queries, multi-part, PSS params, login) ----
api_q POST /v1/keys '{"project":"app","name":"ec384-key","algorithm":"ecdsa-p384"}' "$ADMIN_KEY"
assert_status 201 "create key app/ec384-key"
"$BIN/signet_p11_conform" "$M" app/rsa-key app/ec384-key >conform.out 2>&1 ||
    _e2e_soft_fail "API conformance: $(grep -v '^ok' conform.out | head -n 10 | tr '\n' ' ')"

# ---- threads and fork ----
"$BIN/signet_p11_threads" "$M" app/rsa-key 8 >thr.out 2>thr.err ||
    _e2e_soft_fail "8 threads + fork with rsa-key: $(cat thr.out thr.err | tail -n5)"
expect_contains "$(cat thr.out)" "threads: 8/8 signatures verified" "threaded signing"
expect_contains "$(cat thr.out)" "fork: child signed" "signing in a forked child"
"$BIN/signet_p11_threads" "$M" app/ec-key 8 >thr2.out 2>thr2.err ||
    _e2e_soft_fail "8 threads + fork with ec-key: $(cat thr2.out thr2.err | tail -n5)"

# Every signature made through the module is in the audit trail.
n=$(audit_count "$ADMIN_KEY" '.action == "key.sign" and .result == "ok"')
[[ $n -ge 20 ]] || _e2e_soft_fail "expected >= 20 audited signatures, found $n"

e2e_done
