#!/bin/sh
# codesign_tools.sh MKCHAIN - the code signing certificates the CA issues are
# accepted by the tools people sign with:
#   openssl verify -x509_strict (chain), osslsigncode (Authenticode signature
#   on a PowerShell script, verified against our root), jarsigner -strict
#   (key usage, extended key usage and chain checks).
# Each check also runs against a foreign root, and with a serverAuth-only
# certificate for the same key, and must then fail, so the test can fail. A missing tool skips its part (jarsigner comes with
# openjdk-17-jdk-headless); with neither osslsigncode nor jarsigner the test
# exits 77 (skipped).
set -eu

mk=$1
have() { command -v "$1" >/dev/null 2>&1; }
have openssl || { echo "skip: openssl not installed"; exit 77; }
oss=0; java=0
have osslsigncode && oss=1
have jarsigner && have keytool && have jar && java=1
[ $oss -eq 1 ] || echo "note: osslsigncode not installed, its checks are skipped"
[ $java -eq 1 ] || echo "note: jarsigner/keytool/jar not installed (openjdk-17-jdk-headless), its checks are skipped"
[ $oss -eq 1 ] || [ $java -eq 1 ] || { echo "skip: no code signing tool"; exit 77; }

dir=$(mktemp -d /tmp/signet-ca-tools.XXXXXX)
trap 'rm -rf "$dir"' EXIT
pass=changeit-test

fail() { echo "FAIL: $*" >&2; exit 1; }

# A second hierarchy whose root must not validate the first one's leaves.
mkdir "$dir/foreign"
"$mk" "$dir/foreign" p256 >/dev/null

for alg in rsa p256 p384; do
	d=$dir/$alg
	mkdir "$d"
	"$mk" "$d" "$alg" >/dev/null

	openssl verify -x509_strict -CAfile "$d/root.pem" -untrusted "$d/issuing.pem" \
	    "$d/leaf.pem" >/dev/null || fail "$alg: openssl verify"
	if openssl verify -CAfile "$dir/foreign/root.pem" -untrusted "$d/issuing.pem" \
	    "$d/leaf.pem" >/dev/null 2>&1; then
		fail "$alg: openssl verify accepted a foreign root"
	fi

	if [ $oss -eq 1 ]; then
		# osslsigncode: Authenticode over a script (no PE binary needed).
		printf 'Write-Output "hello"\r\n' >"$d/hello.ps1"
		osslsigncode sign -certs "$d/chain.pem" -key "$d/leaf.key" -h sha256 \
		    -in "$d/hello.ps1" -out "$d/signed.ps1" >/dev/null || fail "$alg: osslsigncode sign"
		osslsigncode verify -CAfile "$d/root.pem" -ignore-crl -in "$d/signed.ps1" \
		    >"$d/osv.log" 2>&1 || { cat "$d/osv.log"; fail "$alg: osslsigncode verify"; }
		if osslsigncode verify -CAfile "$dir/foreign/root.pem" -ignore-crl \
		    -in "$d/signed.ps1" >/dev/null 2>&1; then
			fail "$alg: osslsigncode accepted a foreign root"
		fi
		# negative control: a serverAuth-only certificate for the same key
		cat "$d/tls.pem" "$d/issuing.pem" >"$d/tlschain.pem"
		osslsigncode sign -certs "$d/tlschain.pem" -key "$d/leaf.key" -h sha256 \
		    -in "$d/hello.ps1" -out "$d/tls.ps1" >/dev/null || fail "$alg: osslsigncode sign (tls)"
		if osslsigncode verify -CAfile "$d/root.pem" -ignore-crl \
		    -in "$d/tls.ps1" >/dev/null 2>&1; then
			fail "$alg: osslsigncode accepted a serverAuth certificate"
		fi
	fi

	if [ $java -eq 1 ]; then
		# jarsigner: sign from a PKCS#12 with the chain, verify with -strict
		# against a trust store holding only our root. Exit bits with -strict:
		# 1 failure, 4 chain not validated / expired / weak algorithm, 8 bad
		# keyUsage / extendedKeyUsage, 16 unsigned entries, 32 signer not an
		# alias of the store (expected: the store holds the root only).
		echo hello >"$d/a.txt"
		(cd "$d" && jar cf app.jar a.txt)
		openssl pkcs12 -export -inkey "$d/leaf.key" -in "$d/leaf.pem" \
		    -certfile "$d/issuing.pem" -name signer -passout "pass:$pass" \
		    -out "$d/ks.p12" || fail "$alg: pkcs12"
		jarsigner -keystore "$d/ks.p12" -storetype PKCS12 -storepass "$pass" \
		    "$d/app.jar" signer >/dev/null || fail "$alg: jarsigner sign"
		keytool -importcert -noprompt -alias root -file "$d/root.pem" \
		    -keystore "$d/trust.p12" -storetype PKCS12 -storepass "$pass" >/dev/null 2>&1
		keytool -importcert -noprompt -alias root -file "$dir/foreign/root.pem" \
		    -keystore "$d/foreign.p12" -storetype PKCS12 -storepass "$pass" >/dev/null 2>&1
		rc=0
		jarsigner -verify -strict -keystore "$d/trust.p12" -storetype PKCS12 \
		    -storepass "$pass" "$d/app.jar" >"$d/js.log" 2>&1 || rc=$?
		if [ $((rc & 31)) -ne 0 ]; then
			cat "$d/js.log"
			fail "$alg: jarsigner -verify -strict exit $rc"
		fi
		grep -q "jar verified" "$d/js.log" || fail "$alg: jarsigner did not verify"
		rc=0
		jarsigner -verify -strict -keystore "$d/foreign.p12" -storetype PKCS12 \
		    -storepass "$pass" "$d/app.jar" >/dev/null 2>&1 || rc=$?
		[ $((rc & 4)) -ne 0 ] || fail "$alg: jarsigner validated a chain to a foreign root (exit $rc)"
		# negative control: the same key with a serverAuth-only certificate
		openssl pkcs12 -export -inkey "$d/leaf.key" -in "$d/tls.pem" \
		    -certfile "$d/issuing.pem" -name signer -passout "pass:$pass" \
		    -out "$d/tls.p12" || fail "$alg: pkcs12 (tls)"
		(cd "$d" && jar cf app-tls.jar a.txt)
		jarsigner -keystore "$d/tls.p12" -storetype PKCS12 -storepass "$pass" \
		    "$d/app-tls.jar" signer >/dev/null 2>&1 || true
		rc=0
		jarsigner -verify -strict -keystore "$d/trust.p12" -storetype PKCS12 \
		    -storepass "$pass" "$d/app-tls.jar" >/dev/null 2>&1 || rc=$?
		[ $((rc & 8)) -ne 0 ] || fail "$alg: jarsigner accepted a serverAuth certificate (exit $rc)"
	fi
	echo "ok: $alg leaf accepted by openssl$([ $oss -eq 1 ] && echo ", osslsigncode")$([ $java -eq 1 ] && echo ", jarsigner")"
done
echo "3 passed, 0 failed"
