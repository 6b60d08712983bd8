#!/bin/bash
# pkcs11_boot_android.sh - UEFI and Android through the module:
# `sbsign --engine pkcs11` + `sbverify` (Authenticode for UEFI Secure Boot,
# via the libp11 engine; RSA, what Secure Boot uses), and `apksigner`
# through Java's SunPKCS11 (JDK 17 needs
# --add-exports=jdk.crypto.cryptoki/sun.security.pkcs11=ALL-UNNAMED) with
# RSA and ECDSA keys, checked with `apksigner verify`. (The kernel's
# sign-file is not here yet: see docs/PKCS11.md.)
#
# e2e-requires: signetd signet-pkcs11
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/external_tools.bash"
e2e_require_tool openssl

M=$SIGNET_PKCS11
BIN=$(dirname "$M")
W=$E2E_DIR/work
cd "$W" || fail "cd $W"
ENGINE=
for e in /usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so /usr/lib/*/engines-3/pkcs11.so; do
	[[ -f $e ]] && { ENGINE=$e; break; }
done
ran=0

e2e_start_server
api_q POST /v1/projects '{"name":"fw"}' "$ADMIN_KEY"; assert_status 201 "project"
for k in boot:rsa-2048 apk:rsa-3072 apk-ec:ecdsa-p256; do
	api_q POST /v1/keys "{\"project\":\"fw\",\"name\":\"${k%%:*}\",\"algorithm\":\"${k#*:}\"}" "$ADMIN_KEY"
	assert_status 201 "key fw/${k%%:*}"
	jbody -r .key.certificate >"${k%%:*}.crt"
	jbody -r .key.public_key >"${k%%:*}.pub"
done
mk_user dev@acme.test
api_q POST /v1/projects/fw/signers '{"user":"dev@acme.test"}' "$ADMIN_KEY"; assert_status 201 "signer"
api_q GET /v1/me/keys "" "$U_KEY"; assert_status 200 "me/keys"
jbody -r '.keys[0].chain[-1]' >root.pem
jbody -r '.keys[0].chain[0]' >issuing.pem
export SIGNET_API_KEY=$U_KEY
KEY='pkcs11:token=Signet;object=fw%2Fboot;type=private'
if [[ -n $ENGINE ]]; then
	printf '%s\n' 'openssl_conf = openssl_init' '[openssl_init]' 'engines = engine_section' \
	    '[engine_section]' 'pkcs11 = pkcs11_section' '[pkcs11_section]' 'engine_id = pkcs11' \
	    "dynamic_path = $ENGINE" "MODULE_PATH = $M" 'init = 0' >engine.cnf
fi

# ---- UEFI: sbsign with the libp11 engine, sbverify against the root
if command -v sbsign >/dev/null 2>&1 && command -v sbverify >/dev/null 2>&1 && [[ -n $ENGINE ]]; then
	ran=$((ran + 1))
	"$BIN/signet_mkpe" boot.efi "uefi e2e" || fail "signet_mkpe"
	OPENSSL_CONF=$W/engine.cnf sbsign --engine pkcs11 --key "$KEY" --cert boot.crt \
	    --addcert issuing.pem --output boot-signed.efi boot.efi >sbsign.out 2>&1 ||
		_e2e_soft_fail "sbsign --engine pkcs11: $(tail -n4 sbsign.out | tr '\n' ' ')"
	sbverify --cert root.pem boot-signed.efi >sbverify.out 2>&1 ||
		_e2e_soft_fail "sbverify: $(tail -n4 sbverify.out | tr '\n' ' ')"
	expect_contains "$(cat sbverify.out)" "Signature verification OK" "sbverify"
	# The signature is fw/boot's: osslsigncode reads the same Authenticode.
	if command -v osslsigncode >/dev/null 2>&1; then
		osslsigncode verify -in boot-signed.efi -CAfile root.pem >oss.out 2>&1
		expect_contains "$(cat oss.out)" "Subject: /O=acme/OU=fw/CN=boot" "sbsign signed with fw/boot"
	fi
	# A changed image does not verify.
	cp boot-signed.efi bad.efi && printf 'X' | dd of=bad.efi bs=1 seek=600 conv=notrunc 2>/dev/null
	sbverify --cert root.pem bad.efi >/dev/null 2>&1 && _e2e_soft_fail "sbverify accepted a changed image"
else
	echo "note: sbsign/sbverify or the libp11 engine missing; UEFI checks skipped" >&2
fi

# ---- Android: apksigner through SunPKCS11
if command -v apksigner >/dev/null 2>&1 && command -v java >/dev/null 2>&1; then
	ran=$((ran + 1))
	printf 'name = Signet\nlibrary = %s\n' "$M" >java.cfg
	python3 - <<'PY' || fail "making app.apk"
import zipfile
with zipfile.ZipFile("app.apk", "w") as z:
    z.writestr("AndroidManifest.xml", b"\x03\x00\x08\x00" + b"\x00" * 28)
    z.writestr("classes.dex", b"dex\n035\x00" + b"\x00" * 100)
    z.writestr("res/raw/hello.txt", b"hello from the e2e test\n")
PY
	for k in apk apk-ec; do
		rm -f "app-$k.apk"
		timeout 180 apksigner -J-add-exports=jdk.crypto.cryptoki/sun.security.pkcs11=ALL-UNNAMED \
		    sign --provider-class sun.security.pkcs11.SunPKCS11 --provider-arg java.cfg \
		    --ks NONE --ks-type PKCS11 --ks-pass pass:ignored --ks-key-alias "fw/$k" \
		    --min-sdk-version 24 --in app.apk --out "app-$k.apk" >"as-$k.out" 2>&1 ||
			_e2e_soft_fail "apksigner sign fw/$k: $(tail -n4 "as-$k.out" | tr '\n' ' ')"
		timeout 180 apksigner verify --min-sdk-version 24 --print-certs -v "app-$k.apk" >"av-$k.out" 2>&1 ||
			_e2e_soft_fail "apksigner verify fw/$k: $(tail -n4 "av-$k.out" | tr '\n' ' ')"
		expect_contains "$(cat "av-$k.out")" "Verified using v2 scheme (APK Signature Scheme v2): true" "apksigner v2 fw/$k"
		# The signer is fw/$k's certificate.
		want=$(openssl x509 -in "$k.crt" -outform DER | sha256sum | cut -d' ' -f1)
		expect_contains "$(cat "av-$k.out")" "certificate SHA-256 digest: $want" "apksigner signed with fw/$k"
	done
else
	echo "note: apksigner or java missing; Android checks skipped" >&2
fi

[[ $ran -gt 0 ]] || { echo "skip: neither sbsign nor apksigner installed" >&2; e2e_stop_server; exit 77; }
e2e_stop_server
e2e_done
