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

# ---- kernel modules: scripts/sign-file with a PKCS#11 URI. sign-file's
# libp11 engine ignores an OPENSSL_CONF MODULE_PATH and loads its default,
# p11-kit-proxy.so: the module is found through its p11-kit registration
# (the installed signet.module). p11-kit reads per-user registrations only
# for non-root users, so as root this runs as nobody. Not under the ASan
# preload (p11-kit-trust.so deadlocks at exit there, see pkcs11_gnutls.sh).
SIGNFILE=$(ls /usr/lib/linux-kbuild-*/scripts/sign-file 2>/dev/null | tail -n1)
if [[ -n $SIGNFILE && -z ${SIGNET_TEST_PRELOAD:-} && -f $BIN/signet.module ]]; then
	ran=$((ran + 1))
	mkdir -p "$W/home/.config/pkcs11/modules"
	sed "s|^module:.*|module: $M|" "$BIN/signet.module" >"$W/home/.config/pkcs11/modules/signet.module"
	if [[ $(id -u) == 0 ]] && command -v setpriv >/dev/null 2>&1; then
		chmod 755 "$E2E_DIR" "$W" "$D"
		chmod -R a+rwX "$W"
		chmod 644 "$SIGNET_CA_FILE"
		as_user() { setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$W/home" "$@"; }
	else
		as_user() { env HOME="$W/home" "$@"; }
	fi
	head -c 20000 /dev/urandom >mod.ko
	cp mod.ko mod.orig
	chmod a+rw mod.ko
	as_user timeout 120 "$SIGNFILE" sha256 "$KEY" boot.crt mod.ko >sf.out 2>&1 ||
		_e2e_soft_fail "sign-file: $(tail -n4 sf.out | tr '\n' ' ')"
	# Appended: content, PKCS#7 (DER), struct module_signature (12
	# bytes, sig_len big-endian at its end), "~Module signature appended~\n".
	expect_eq "$(tail -c 28 mod.ko)" "~Module signature appended~" "sign-file: the marker"
	siglen=$(tail -c 32 mod.ko | head -c 4 | od -An -tu1 | awk '{print $1*16777216 + $2*65536 + $3*256 + $4}')
	body=$(($(stat -c %s mod.ko) - 28 - 12 - siglen))
	expect_eq "$body" "$(stat -c %s mod.orig)" "sign-file: the module comes first, unchanged in length"
	head -c "$body" mod.ko >mod.content
	tail -c $((28 + 12 + siglen)) mod.ko | head -c "$siglen" >mod.p7
	cmp -s mod.content mod.orig || _e2e_soft_fail "sign-file changed the module's content"
	# The signature carries no certificates (the kernel has them): the
	# signature is checked against fw/boot's certificate, and that
	# certificate against the root.
	openssl cms -verify -binary -inform DER -in mod.p7 -content mod.content -certfile boot.crt \
	    -noverify -out /dev/null 2>cmsv.err ||
		_e2e_soft_fail "openssl cms -verify of sign-file's signature: $(cat cmsv.err)"
	openssl verify -CAfile root.pem -untrusted issuing.pem boot.crt >/dev/null 2>&1 ||
		_e2e_soft_fail "fw/boot's certificate does not chain to the root"
	openssl cms -verify -binary -inform DER -in mod.p7 -content mod.content -certfile apk.crt \
	    -noverify -out /dev/null 2>/dev/null &&
		_e2e_soft_fail "sign-file's signature verifies under another key"
	printf 'X' | dd of=mod.content bs=1 seek=10 conv=notrunc 2>/dev/null
	openssl cms -verify -binary -inform DER -in mod.p7 -content mod.content -certfile boot.crt \
	    -noverify -out /dev/null 2>/dev/null && _e2e_soft_fail "sign-file's signature verifies a changed module"
	unset -f as_user
else
	echo "note: sign-file checks skipped (not installed, or the ASan build)" >&2
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

[[ $ran -gt 0 ]] || { echo "skip: none of sbsign, sign-file, apksigner usable" >&2; e2e_stop_server; exit 77; }
e2e_stop_server
e2e_done
