#!/bin/bash
# pkcs11_same_name.sh - never the wrong key. Two projects, "release" and
# "other", each hold a key "rsa" and a key "ec"; one signer may use all four.
# The token labels them PROJECT/KEY, CKA_ID differs, and `signet keys`
# prints a URI per key; every tool below signs with exactly the key its URI
# (or label, or id) names, checked against that key's public key -- and
# checked NOT to verify under the same-named key of the other project.
# (Before labels were PROJECT/KEY, pkcs11:token=Signet;object=rsa matched
# both keys and a consumer could sign with either.)
#
# e2e-requires: signetd signet signet-pkcs11
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/external_tools.bash"
e2e_require_tool pkcs11-tool openssl

M=$SIGNET_PKCS11
BIN=$(dirname "$M")
W=$E2E_DIR/work
cd "$W" || fail "cd $W"

e2e_start_server
mk_user dev@acme.test
export SIGNET_API_KEY=$U_KEY
for p in other release; do	# "other" first: its keys come first on the token
	api_q POST /v1/projects "{\"name\":\"$p\"}" "$ADMIN_KEY"
	assert_status 201 "create project $p"
	for k in rsa:rsa-2048 ec:ecdsa-p256; do
		api_q POST /v1/keys "{\"project\":\"$p\",\"name\":\"${k%%:*}\",\"algorithm\":\"${k#*:}\"}" "$ADMIN_KEY"
		assert_status 201 "create key $p/${k%%:*}"
		jbody -r .key.public_key >"$p-${k%%:*}.pub"
	done
	api_q POST "/v1/projects/$p/signers" '{"user":"dev@acme.test"}' "$ADMIN_KEY"
	assert_status 201 "dev signs for $p"
done
api_q GET /v1/me/keys "" "$U_KEY"; assert_status 200 "GET /v1/me/keys"
jbody -r '.keys[0].chain[-1]' >root.pem
jbody -r '.keys[0].chain[0]' >issuing.pem

# ---- signet keys: one URI per key, naming PROJECT/KEY and its id
must_signet keys
keys_out=$OUT
for pk in release/rsa release/ec other/rsa other/ec; do
	uri=$(awk -v k="$pk" '$1 == k {print $NF}' <<<"$keys_out")
	[[ $uri == "pkcs11:token=Signet;object=${pk/\//%2F};id="*";type=private" ]] ||
		_e2e_soft_fail "signet keys: URI of $pk is '$uri'"
	declare "URI_${pk/\//_}=$uri"
	# pkcs11-tool wants CKA_ID as hex.
	declare "HEX_${pk/\//_}=$(printf '%b' "$(sed -e 's/.*;id=\([^;]*\).*/\1/' -e 's/%/\\x/g' <<<"$uri")" |
	    od -An -tx1 | tr -d ' \n')"
done
[[ $URI_release_rsa != "$URI_other_rsa" ]] || _e2e_soft_fail "two keys share a URI"
[[ $HEX_release_rsa != "$HEX_other_rsa" ]] || _e2e_soft_fail "two keys share a CKA_ID"
expect_eq "$(awk '/^pkcs11:|pkcs11:token/{print $NF}' <<<"$keys_out" | sort | uniq -d)" "" "URIs are unique"

# ---- the token: labels are PROJECT/KEY
pkcs11-tool --module "$M" --list-objects >objs.txt 2>objs.err || fail "list objects: $(cat objs.err)"
for pk in release/rsa release/ec other/rsa other/ec; do
	expect_eq "$(grep -c "label:      $pk\$" objs.txt)" 3 "private key, public key and certificate labelled $pk"
done
grep -qE 'label: +(rsa|ec)$' objs.txt && _e2e_soft_fail "a bare key name is still a label"

head -c 50000 /dev/urandom >data.bin
data=data.bin
# right_key WHAT PK SIG [dgst options]: verifies under PK, not under the
# key of the same name in the other project.
right_key() {
	local what=$1 pk=$2 sig=$3 other
	shift 3
	[[ $pk == release/* ]] && other=other/${pk#*/} || other=release/${pk#*/}
	if ! openssl dgst -sha256 "$@" -verify "${pk/\//-}.pub" -signature "$sig" "$data" >/dev/null 2>&1; then
		_e2e_soft_fail "$what: signature does not verify under $pk"
	fi
	if openssl dgst -sha256 "$@" -verify "${other/\//-}.pub" -signature "$sig" "$data" >/dev/null 2>&1; then
		_e2e_soft_fail "$what: signed with $other instead of $pk"
	fi
}

# ---- pkcs11-tool: by CKA_ID
for pk in release/rsa other/rsa release/ec other/ec; do
	hex=HEX_${pk/\//_}
	mech=SHA256-RSA-PKCS fmt=()
	[[ $pk == */ec ]] && mech=ECDSA-SHA256 fmt=(--signature-format openssl)
	pkcs11-tool --module "$M" --sign --id "${!hex}" --mechanism "$mech" "${fmt[@]}" \
	    --input-file data.bin --output-file "tool-${pk/\//-}.sig" >/dev/null 2>tool.err ||
		_e2e_soft_fail "pkcs11-tool --sign $pk: $(cat tool.err)"
	right_key "pkcs11-tool $pk" "$pk" "tool-${pk/\//-}.sig"
done

# ---- openssl + libp11 engine: the URI from signet keys, and the short form
ENGINE=
for e in /usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so /usr/lib/*/engines-3/pkcs11.so; do
	[[ -f $e ]] && { ENGINE=$e; break; }
done
if [[ -n $ENGINE ]]; then
	printf '%s\n' 'openssl_conf = openssl_init' '[openssl_init]' 'engines = engine_section' \
	    '[engine_section]' 'pkcs11 = pkcs11_section' '[pkcs11_section]' 'engine_id = pkcs11' \
	    "dynamic_path = $ENGINE" "MODULE_PATH = $M" 'init = 0' >engine.cnf
	for pk in release/rsa other/rsa release/ec other/ec; do
		u=URI_${pk/\//_}
		for uri in "${!u}" "pkcs11:token=Signet;object=${pk/\//%2F};type=private"; do
			OPENSSL_CONF=$W/engine.cnf openssl dgst -sha256 -engine pkcs11 -keyform engine \
			    -sign "$uri" -out eng.sig data.bin >/dev/null 2>eng.err ||
				_e2e_soft_fail "libp11 engine $uri: $(tail -n2 eng.err)"
			right_key "libp11 engine $uri" "$pk" eng.sig
		done
	done
else
	echo "note: libp11 engine not installed; engine checks skipped" >&2
fi

# ---- OpenSSL 3 pkcs11-provider: the short URI names one key
PROV=
for p in /usr/lib/x86_64-linux-gnu/ossl-modules/pkcs11.so /usr/lib/*/ossl-modules/pkcs11.so; do
	[[ -f $p ]] && { PROV=$p; break; }
done
# (pkcs11-provider dlopens with RTLD_DEEPBIND, which ASan refuses.)
if [[ -n $PROV && -z ${SIGNET_TEST_PRELOAD:-} ]]; then
	printf '%s\n' 'openssl_conf = openssl_init' '[openssl_init]' 'providers = provider_sect' \
	    '[provider_sect]' 'default = default_sect' 'pkcs11 = pkcs11_sect' '[default_sect]' \
	    'activate = 1' '[pkcs11_sect]' "module = $PROV" "pkcs11-module-path = $M" 'activate = 1' >provider.cnf
	for pk in release/rsa other/rsa release/ec other/ec; do
		uri="pkcs11:token=Signet;object=${pk/\//%2F};type=private"
		OPENSSL_CONF=$W/provider.cnf openssl dgst -sha256 -sign "$uri" -out prov.sig data.bin \
		    >/dev/null 2>prov.err || _e2e_soft_fail "pkcs11-provider $uri: $(tail -n2 prov.err)"
		right_key "pkcs11-provider $uri" "$pk" prov.sig
	done
else
	echo "note: pkcs11-provider not installed, or the ASan build; provider checks skipped" >&2
fi

# ---- osslsigncode: key and certificate from the token by URI
if command -v osslsigncode >/dev/null 2>&1; then
	"$BIN/signet_mkpe" a.exe "same name" || fail "signet_mkpe"
	for pk in release/rsa other/rsa; do
		u=URI_${pk/\//_}
		args=(-pkcs11module "$M" -pkcs11cert "${!u/type=private/type=cert}" -key "${!u}"
		    -h sha256 -ac issuing.pem)
		[[ -n $ENGINE ]] && args=(-pkcs11engine "$ENGINE" "${args[@]}")
		osslsigncode sign "${args[@]}" -in a.exe -out "b.exe" >oss.out 2>&1 ||
			_e2e_soft_fail "osslsigncode sign $pk: $(tail -n3 oss.out | tr '\n' ' ')"
		osslsigncode verify -in b.exe -CAfile root.pem >ossv.out 2>&1 ||
			_e2e_soft_fail "osslsigncode verify $pk: $(tail -n5 ossv.out | tr '\n' ' ')"
		expect_contains "$(cat ossv.out)" "Subject: /O=acme/OU=${pk%/*}/CN=${pk#*/}" "osslsigncode signer of $pk"
		rm -f b.exe
	done
fi

# ---- jarsigner: the alias is the label, PROJECT/KEY
if command -v jarsigner >/dev/null 2>&1 && command -v jar >/dev/null 2>&1; then
	printf 'name = Signet\nlibrary = %s\n' "$M" >java.cfg
	mkdir -p jar && echo hello >jar/hello.txt && (cd jar && jar cf ../app.jar hello.txt) || fail "jar"
	for pk in other/rsa release/rsa; do
		timeout 120 jarsigner -keystore NONE -storetype PKCS11 -providerClass sun.security.pkcs11.SunPKCS11 \
		    -providerArg java.cfg -storepass ignored -signedjar signed.jar app.jar "$pk" >js.out 2>&1 ||
			_e2e_soft_fail "jarsigner $pk: $(tail -n3 js.out | tr '\n' ' ')"
		# The signer certificate in the jar is the one of $pk.
		python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); \
sys.stdout.buffer.write(next(z.read(n) for n in z.namelist() if n.endswith(".RSA")))' signed.jar >sig.p7
		openssl pkcs7 -inform DER -in sig.p7 -print_certs 2>/dev/null | grep '^subject=' >jsubj.txt
		expect_contains "$(cat jsubj.txt)" "O = acme, OU = ${pk%/*}, CN = ${pk#*/}" "jarsigner signed with $pk"
		[[ $pk == release/* ]] && o=other || o=release
		grep -q "OU = $o" jsubj.txt && _e2e_soft_fail "jarsigner $pk: the jar carries $o's certificate"
		rm -f signed.jar
	done
fi

e2e_stop_server
e2e_done
