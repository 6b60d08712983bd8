#!/bin/bash
# pkcs11_provider.sh - OpenSSL 3's pkcs11-provider (the successor of the
# libp11 engine; Debian 12: bookworm-backports) with signet-pkcs11.so:
# `openssl pkeyutl -sign`, `dgst -sign`, `cms -sign` with the signer
# certificate taken from the token, `req -new` and `req -x509` with a
# Signet key, for RSA and ECDSA keys, through the openssl.cnf that
# docs/PKCS11.md shows. Every result is checked with plain OpenSSL (no
# provider) against the key's public key or the service's root; and the
# short URI of a key whose name another project also uses signs with the
# named project's key.
#
# e2e-requires: signetd signet-pkcs11
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/external_tools.bash"
e2e_require_tool openssl
PROV=
for p in /usr/lib/x86_64-linux-gnu/ossl-modules/pkcs11.so /usr/lib/*/ossl-modules/pkcs11.so; do
	[[ -f $p ]] && { PROV=$p; break; }
done
[[ -n $PROV ]] || { echo "skip: pkcs11-provider not installed" >&2; exit 77; }
# pkcs11-provider dlopens the module with RTLD_DEEPBIND, which the
# AddressSanitizer runtime refuses: the normal build runs this test.
[[ -z ${SIGNET_TEST_PRELOAD:-} ]] || { echo "skip: pkcs11-provider uses RTLD_DEEPBIND (no ASan)" >&2; exit 77; }

M=$SIGNET_PKCS11
W=$E2E_DIR/work
cd "$W" || fail "cd $W"
e2e_start_server
mk_user dev@acme.test
for p in other app; do
	api_q POST /v1/projects "{\"name\":\"$p\"}" "$ADMIN_KEY"; assert_status 201 "project $p"
	for k in rsa:rsa-2048 ec:ecdsa-p256; do
		api_q POST /v1/keys "{\"project\":\"$p\",\"name\":\"${k%%:*}\",\"algorithm\":\"${k#*:}\"}" "$ADMIN_KEY"
		assert_status 201 "key $p/${k%%:*}"
		jbody -r .key.public_key >"$p-${k%%:*}.pub"
	done
	api_q POST "/v1/projects/$p/signers" '{"user":"dev@acme.test"}' "$ADMIN_KEY"; assert_status 201 "signer $p"
done
api_q GET /v1/me/keys "" "$U_KEY"; assert_status 200 "me/keys"
jbody -r '.keys[0].chain[-1]' >root.pem
jbody -r '.keys[0].chain[0]' >issuing.pem
export SIGNET_API_KEY=$U_KEY

# The configuration docs/PKCS11.md documents.
cat >provider.cnf <<EOF
openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
default = default_sect
pkcs11 = pkcs11_sect
[default_sect]
activate = 1
[pkcs11_sect]
module = $PROV
pkcs11-module-path = $M
activate = 1
EOF
P() { OPENSSL_CONF=$W/provider.cnf openssl "$@"; }
head -c 40000 /dev/urandom >data.bin
openssl dgst -sha256 -binary data.bin >data.sha256

for k in rsa ec; do
	key="pkcs11:token=Signet;object=app%2F$k;type=private"
	cert="pkcs11:token=Signet;object=app%2F$k;type=cert"
	pub=app-$k.pub other=other-$k.pub
	# dgst -sign
	P dgst -sha256 -sign "$key" -out "dgst-$k.sig" data.bin 2>"dgst-$k.err" ||
		_e2e_soft_fail "provider dgst -sign $k: $(tail -n3 "dgst-$k.err")"
	openssl dgst -sha256 -verify "$pub" -signature "dgst-$k.sig" data.bin >/dev/null 2>&1 ||
		_e2e_soft_fail "provider dgst -sign $k: does not verify under app/$k"
	openssl dgst -sha256 -verify "$other" -signature "dgst-$k.sig" data.bin >/dev/null 2>&1 &&
		_e2e_soft_fail "provider dgst -sign $k: signed with other/$k"
	# pkeyutl -sign over a digest
	P pkeyutl -sign -inkey "$key" -in data.sha256 -out "pk-$k.sig" -pkeyopt digest:sha256 2>"pk-$k.err" ||
		_e2e_soft_fail "provider pkeyutl -sign $k: $(tail -n3 "pk-$k.err")"
	openssl pkeyutl -verify -pubin -inkey "$pub" -in data.sha256 -sigfile "pk-$k.sig" \
	    -pkeyopt digest:sha256 >"pkv-$k.out" 2>&1 ||
		_e2e_soft_fail "provider pkeyutl -sign $k: $(cat "pkv-$k.out")"
	# cms -sign: the signer certificate from the token as well
	P cms -sign -signer "$cert" -inkey "$key" -certfile issuing.pem -md sha256 -binary \
	    -in data.bin -outform DER -out "cms-$k.p7s" 2>"cms-$k.err" ||
		_e2e_soft_fail "provider cms -sign $k: $(tail -n3 "cms-$k.err")"
	openssl cms -verify -binary -inform DER -in "cms-$k.p7s" -content data.bin \
	    -CAfile root.pem -purpose any -out /dev/null 2>"cmsv-$k.err" ||
		_e2e_soft_fail "provider cms -sign $k: does not verify: $(cat "cmsv-$k.err")"
	openssl cms -cmsout -print -inform DER -in "cms-$k.p7s" 2>/dev/null | grep -q "OU=app, CN=$k\|OU = app, CN = $k\|CN=$k" ||
		_e2e_soft_fail "provider cms -sign $k: another signer"
	# req -new: a CSR signed by the Signet key, for the Signet key
	P req -new -key "$key" -subj "/CN=csr-$k/O=acme" -out "req-$k.pem" 2>"req-$k.err" ||
		_e2e_soft_fail "provider req -new $k: $(tail -n3 "req-$k.err")"
	openssl req -in "req-$k.pem" -verify -noout >/dev/null 2>&1 ||
		_e2e_soft_fail "provider req -new $k: the CSR's signature does not verify"
	expect_eq "$(openssl req -in "req-$k.pem" -pubkey -noout 2>/dev/null | openssl pkey -pubin -outform DER 2>/dev/null | sha256sum)" \
	    "$(openssl pkey -pubin -in "$pub" -outform DER | sha256sum)" "provider req -new $k: the CSR carries app/$k's public key"
	# req -x509: a self-signed certificate with the Signet key
	P req -x509 -key "$key" -subj "/CN=self-$k" -days 2 -out "self-$k.pem" 2>"x509-$k.err" ||
		_e2e_soft_fail "provider req -x509 $k: $(tail -n3 "x509-$k.err")"
	openssl verify -CAfile "self-$k.pem" "self-$k.pem" >/dev/null 2>&1 ||
		_e2e_soft_fail "provider req -x509 $k: the self-signed certificate does not verify"
	expect_eq "$(openssl x509 -in "self-$k.pem" -pubkey -noout 2>/dev/null | openssl pkey -pubin -outform DER 2>/dev/null | sha256sum)" \
	    "$(openssl pkey -pubin -in "$pub" -outform DER | sha256sum)" "provider req -x509 $k: app/$k's public key"
done

e2e_stop_server
e2e_done
