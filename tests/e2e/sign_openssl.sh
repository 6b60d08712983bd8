#!/bin/bash
# sign_openssl.sh - signatures made through Signet verify with stock OpenSSL,
# refusals are refused with the right status and audited, no private key
# ever comes out, and a crash of the keeper (the HSM boundary process) under
# load fails requests cleanly (503, no hang), heals by itself, and leaves
# an audit event for every signature that was returned.
# e2e-requires: signetd signet
source "$(dirname "$0")/lib.sh"
e2e_require_tool openssl

e2e_init acme admin@acme.test
e2e_tenant_create beta admin@beta.test
BETA=$TENANT_KEY
e2e_serve
A=$ADMIN_KEY
must_signet login --url "$SIGNET_URL" --api-key "$A" --ca-file "$SIGNET_CA_FILE"

mk_user signer@acme.test; S=$U_KEY
mk_user plain@acme.test; P=$U_KEY
mk_user owner@acme.test; O=$U_KEY
api_q POST /v1/projects '{"name":"p1"}' "$A"; assert_status 201 "project"
api_q POST /v1/projects/p1/signers '{"user":"signer@acme.test"}' "$A"; assert_status 201 "signer"
api_q POST /v1/projects/p1/owners '{"user":"owner@acme.test"}' "$A"; assert_status 200 "owner"

declare -A KID
mkkey() {	# mkkey NAME ALG [EXTRA-JSON]
	api_q POST /v1/keys "{\"project\":\"p1\",\"name\":\"$1\",\"algorithm\":\"$2\"${3:+,$3}}" "$A"
	assert_status 201 "create key $1 ($2)"
	KID[$1]=$(jbody -r .key.id)
	jbody -r .key.public_key >"$E2E_DIR/$1.pub"
	openssl pkey -pubin -in "$E2E_DIR/$1.pub" -noout 2>/dev/null || fail "key $1: public_key is not a PEM public key"
}
ALGS=(rsa-2048 rsa-3072 rsa-4096 ecdsa-p256 ecdsa-p384)
for alg in "${ALGS[@]}"; do mkkey "k-$alg" "$alg"; done

must_signet ca cert
printf '%s\n' "$OUT" >"$E2E_DIR/root.pem"
openssl x509 -in "$E2E_DIR/root.pem" -noout 2>/dev/null || fail "signet ca cert: not a certificate"
head -c 100000 /dev/urandom >"$E2E_DIR/data.bin"
printf 'tampered' | cat "$E2E_DIR/data.bin" - >"$E2E_DIR/data.tampered"
export SIGNET_API_KEY=$S

# ---- signet sign (raw) -> openssl dgst -verify, every algorithm x mechanism x digest
NVER=0
for alg in "${ALGS[@]}"; do
	k=k-$alg
	# the public key as `signet key show --json` gives it
	must_signet key show "p1/$k" --json
	jq -r .key.public_key <<<"$OUT" >"$E2E_DIR/$k.show.pub"
	cmp -s "$E2E_DIR/$k.pub" "$E2E_DIR/$k.show.pub" || _e2e_soft_fail "$k: key show public key differs"
	mechs=(pkcs1)
	[[ $alg == rsa-* ]] && mechs+=(pss)
	[[ $alg == ecdsa-* ]] && mechs=(ecdsa)
	for mech in "${mechs[@]}"; do
		for dg in sha256 sha384 sha512; do
			what="$k $mech $dg"
			extra=()
			sigopt=()
			if [[ $mech == pss ]]; then
				extra=(--pss)
				sigopt=(-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest)
			fi
			run_signet 0 sign --key "p1/$k" --in "$E2E_DIR/data.bin" --out "$E2E_DIR/sig" --force \
			    --digest "$dg" "${extra[@]}" || continue
			NVER=$((NVER + 1))
			openssl dgst "-$dg" -verify "$E2E_DIR/$k.show.pub" "${sigopt[@]}" -signature "$E2E_DIR/sig" \
			    "$E2E_DIR/data.bin" >/dev/null 2>&1 || _e2e_soft_fail "$what: openssl dgst -verify failed"
			if openssl dgst "-$dg" -verify "$E2E_DIR/$k.show.pub" "${sigopt[@]}" -signature "$E2E_DIR/sig" \
			    "$E2E_DIR/data.tampered" >/dev/null 2>&1; then
				_e2e_soft_fail "$what: signature also verifies over different data"
			fi
		done
	done
	# PSS is refused for EC keys (usage error, nothing sent)
	if [[ $alg == ecdsa-* ]]; then
		run_signet 2 sign --key "p1/$k" --in "$E2E_DIR/data.bin" --out "$E2E_DIR/sig" --force --pss
	fi
	# CMS, verified against the built-in root
	if run_signet 0 sign --key "p1/$k" --in "$E2E_DIR/data.bin" --out "$E2E_DIR/sig.p7s" --force --format cms; then
		inform=DER
		grep -q -- '-----BEGIN' "$E2E_DIR/sig.p7s" 2>/dev/null && inform=PEM
		rm -f "$E2E_DIR/signer.pem"
		openssl cms -verify -binary -inform "$inform" -in "$E2E_DIR/sig.p7s" -content "$E2E_DIR/data.bin" \
		    -CAfile "$E2E_DIR/root.pem" -purpose any -signer "$E2E_DIR/signer.pem" -out /dev/null \
		    2>"$E2E_DIR/cms.err" ||
		    _e2e_soft_fail "$k: openssl cms -verify failed: $(head -c 300 "$E2E_DIR/cms.err")"
		if openssl cms -verify -binary -inform "$inform" -in "$E2E_DIR/sig.p7s" \
		    -content "$E2E_DIR/data.tampered" -CAfile "$E2E_DIR/root.pem" -purpose any \
		    -out /dev/null >/dev/null 2>&1; then
			_e2e_soft_fail "$k: CMS signature also verifies over different data"
		fi
		# the CMS signer is the key's own certificate
		SIGNET_API_KEY=$A "$SIGNET" cert "p1/$k" >"$E2E_DIR/$k.crt" 2>/dev/null
		f1=$(openssl x509 -in "$E2E_DIR/$k.crt" -noout -fingerprint -sha256 2>/dev/null)
		f2=$(openssl x509 -in "$E2E_DIR/signer.pem" -noout -fingerprint -sha256 2>/dev/null)
		[[ -n $f1 && $f1 == "$f2" ]] || _e2e_soft_fail "$k: CMS signer certificate is not the key's certificate"
	fi
done
echo "sign_openssl: $NVER raw signatures verified with openssl dgst"

# ---- the API directly: digest in, signature out; openssl pkeyutl verifies
verify_raw() {	# verify_raw PUB DGST DIGEST.bin SIG.bin MECH
	local -a o=(-pkeyopt "digest:$2")
	[[ $5 == rsa-pss ]] && o+=(-pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:digest)
	[[ $5 == ecdsa ]] && o=()
	openssl pkeyutl -verify -pubin -inkey "$1" -in "$3" -sigfile "$4" "${o[@]}" >/dev/null 2>&1
}
declare -A DLEN=([sha256]=32 [sha384]=48 [sha512]=64)
for alg in rsa-2048 ecdsa-p384; do
	k=k-$alg
	mechs=(rsa-pkcs1 rsa-pss)
	[[ $alg == ecdsa-* ]] && mechs=(ecdsa)
	for mech in "${mechs[@]}"; do
		for dg in sha256 sha512; do
			head -c 1000 /dev/urandom | openssl dgst "-$dg" -binary >"$E2E_DIR/d1"
			head -c 1000 /dev/urandom | openssl dgst "-$dg" -binary >"$E2E_DIR/d2"
			b1=$(base64 -w0 "$E2E_DIR/d1") b2=$(base64 -w0 "$E2E_DIR/d2")
			api_q POST "/v1/keys/${KID[$k]}/sign" \
			    "{\"mechanism\":\"$mech\",\"digest_algorithm\":\"$dg\",\"digest\":\"$b1\",\"client\":{\"hostname\":\"e2e\",\"process\":\"sign_openssl.sh\"}}" "$S"
			expect_status 200 "API sign $k $mech $dg"
			jbody -r .signature | base64 -d >"$E2E_DIR/s1" 2>/dev/null
			verify_raw "$E2E_DIR/$k.pub" "$dg" "$E2E_DIR/d1" "$E2E_DIR/s1" "$mech" ||
			    _e2e_soft_fail "API sign $k $mech $dg: openssl pkeyutl -verify failed"
			api_q POST "/v1/keys/${KID[$k]}/sign" \
			    "{\"mechanism\":\"$mech\",\"digest_algorithm\":\"$dg\",\"digests\":[\"$b1\",\"$b2\"]}" "$S"
			expect_status 200 "API batch sign $k $mech $dg"
			expect_eq "$(jbody '.signatures | length')" 2 "batch of 2 returns 2 signatures"
			jbody -r '.signatures[0]' | base64 -d >"$E2E_DIR/s1" 2>/dev/null
			jbody -r '.signatures[1]' | base64 -d >"$E2E_DIR/s2" 2>/dev/null
			verify_raw "$E2E_DIR/$k.pub" "$dg" "$E2E_DIR/d1" "$E2E_DIR/s1" "$mech" ||
			    _e2e_soft_fail "batch sign $k $mech $dg: signature 0 does not verify"
			verify_raw "$E2E_DIR/$k.pub" "$dg" "$E2E_DIR/d2" "$E2E_DIR/s2" "$mech" ||
			    _e2e_soft_fail "batch sign $k $mech $dg: signature 1 does not verify"
			if verify_raw "$E2E_DIR/$k.pub" "$dg" "$E2E_DIR/d2" "$E2E_DIR/s1" "$mech"; then
				_e2e_soft_fail "batch sign $k: signature 0 verifies for digest 1"
			fi
		done
	done
done
# the largest batch (64): 64 signatures, each valid, one audit event with count 64
python3 -c 'import base64,os,json; d=[os.urandom(32) for _ in range(64)]
open(os.environ["E2E_DIR"]+"/d64.json","w").write(json.dumps({"mechanism":"ecdsa","digest_algorithm":"sha256","digests":[base64.b64encode(x).decode() for x in d]}))
open(os.environ["E2E_DIR"]+"/d64.bin","wb").write(b"".join(d))' || fail "python3"
api_q POST "/v1/keys/${KID[k-ecdsa-p256]}/sign" "@$E2E_DIR/d64.json" "$S"
expect_status 200 "batch of 64"
expect_eq "$(jbody '.signatures | length')" 64 "batch of 64: signatures"
nbad=0
for i in 0 17 63; do
	dd if="$E2E_DIR/d64.bin" of="$E2E_DIR/di" bs=32 skip="$i" count=1 2>/dev/null
	jbody -r ".signatures[$i]" | base64 -d >"$E2E_DIR/si" 2>/dev/null
	verify_raw "$E2E_DIR/k-ecdsa-p256.pub" sha256 "$E2E_DIR/di" "$E2E_DIR/si" ecdsa || nbad=$((nbad + 1))
done
expect_eq "$nbad" 0 "batch of 64: signatures 0, 17, 63 verify against their digests"
n64=$(audit_count "$A" ".action == \"key.sign\" and .result == \"ok\" and .details.count == 64")
expect_eq "$n64" 1 "one key.sign event with count 64"
# SHA-1 only with the key's policy
mkkey k-sha1 rsa-2048 '"allow_sha1":true'
head -c 20 /dev/urandom >"$E2E_DIR/d20"
api_q POST "/v1/keys/${KID[k-sha1]}/sign" "{\"mechanism\":\"rsa-pkcs1\",\"digest_algorithm\":\"sha1\",\"digest\":\"$(base64 -w0 "$E2E_DIR/d20")\"}" "$S"
expect_status 200 "SHA-1 signing with allow_sha1"
jbody -r .signature | base64 -d >"$E2E_DIR/s1" 2>/dev/null
verify_raw "$E2E_DIR/k-sha1.pub" sha1 "$E2E_DIR/d20" "$E2E_DIR/s1" rsa-pkcs1 ||
    _e2e_soft_fail "SHA-1 signature does not verify"

# ---- refusals: right status, and an audit event in the caller's tenant
mkkey k-dis ecdsa-p256
api_q POST "/v1/keys/${KID[k-dis]}/disable" "" "$A"; assert_status 200 "disable"
mkkey k-rev ecdsa-p256
api_q POST "/v1/keys/${KID[k-rev]}/revoke" "" "$A"; assert_status 200 "revoke"
mk_expired_key "$A" p1 k-exp ecdsa-p256
KID[k-exp]=$K_ID
api_q GET "/v1/keys/${KID[k-exp]}" "" "$A"
expect_eq "$(jbody -r .key.state)" expired "state of a key past its validity"

# /v1/me/keys lists only what may sign right now
api_q GET /v1/me/keys "" "$S"; expect_status 200 "/v1/me/keys"
for k in k-dis k-rev k-exp; do
	expect_eq "$(jbody --arg id "${KID[$k]}" '[.keys[] | select(.id == $id)] | length')" 0 "/v1/me/keys lists $k"
done
expect_eq "$(jbody --arg id "${KID[k-rsa-2048]}" '[.keys[] | select(.id == $id)] | length')" 1 "/v1/me/keys lists k-rsa-2048"

EC=${KID[k-ecdsa-p256]}
D32=$(rand_b64 32)
OKBODY="{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digest\":\"$D32\"}"
python3 -c 'import json,sys; print(json.dumps({"mechanism":"ecdsa","digest_algorithm":"sha256","digests":[sys.argv[1]]*65}))' \
    "$D32" >"$E2E_DIR/batch65.json" || fail "python3"
NREF=0
refusal() {	# refusal WHAT WANT TOKEN AUDIT_TOKEN KEYID BODY
	local what=$1 want=$2 tok=$3 atok=$4 kid=$5 body=$6 before after
	NREF=$((NREF + 1))
	before=$(audit_count "$atok" '.action == "key.sign" and .result != "ok"')
	api_q POST "/v1/keys/$kid/sign" "$body" "$tok"
	if [[ "|$want|" != *"|$(last_status)|"* ]]; then
		_e2e_soft_fail "refusal '$what': HTTP $(last_status), want $want: $(head -c 200 "$E2E_DIR/last.body")"
	else
		check_error_shape "refusal '$what'" || true
	fi
	if jq -e '.signature? // .signatures?' <"$E2E_DIR/last.body" >/dev/null 2>&1; then
		_e2e_soft_fail "refusal '$what' returned a signature"
	fi
	after=$(audit_count "$atok" '.action == "key.sign" and .result != "ok"')
	((after > before)) || _e2e_soft_fail "refusal '$what': no key.sign audit event (before $before, after $after)"
}
refusal "plain user, not a signer" 403 "$P" "$A" "$EC" "$OKBODY"
refusal "project owner, not a signer" 403 "$O" "$A" "$EC" "$OKBODY"
refusal "tenant admin, not a signer" 403 "$A" "$A" "$EC" "$OKBODY"
refusal "disabled key" "409|403" "$S" "$A" "${KID[k-dis]}" "$OKBODY"
refusal "revoked key" "409|403" "$S" "$A" "${KID[k-rev]}" "$OKBODY"
refusal "expired key" "409|403" "$S" "$A" "${KID[k-exp]}" "$OKBODY"
refusal "other tenant's admin" 404 "$BETA" "$BETA" "$EC" "$OKBODY"
refusal "wrong digest length" 400 "$S" "$A" "$EC" "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digest\":\"$(rand_b64 31)\"}"
refusal "digest length of another algorithm" 400 "$S" "$A" "$EC" "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha512\",\"digest\":\"$D32\"}"
refusal "unknown mechanism" 400 "$S" "$A" "$EC" "{\"mechanism\":\"rsa-oaep\",\"digest_algorithm\":\"sha256\",\"digest\":\"$D32\"}"
refusal "mechanism for another key type" 400 "$S" "$A" "$EC" "{\"mechanism\":\"rsa-pss\",\"digest_algorithm\":\"sha256\",\"digest\":\"$D32\"}"
refusal "malformed base64" 400 "$S" "$A" "$EC" '{"mechanism":"ecdsa","digest_algorithm":"sha256","digest":"%%%%not-base64%%%%"}'
refusal "oversized batch (65)" "400|413" "$S" "$A" "$EC" "@$E2E_DIR/batch65.json"
refusal "SHA-1 without allow_sha1" "400|403" "$S" "$A" "${KID[k-rsa-2048]}" "{\"mechanism\":\"rsa-pkcs1\",\"digest_algorithm\":\"sha1\",\"digest\":\"$(rand_b64 20)\"}"
# still signs after all that; a re-enabled key signs again
api_q POST "/v1/keys/$EC/sign" "$OKBODY" "$S"; expect_status 200 "sign after the refusals"
api_q POST "/v1/keys/${KID[k-dis]}/enable" "" "$A"; expect_status 200 "enable"
api_q POST "/v1/keys/${KID[k-dis]}/sign" "$OKBODY" "$S"; expect_status 200 "re-enabled key signs"
api_q POST "/v1/keys/${KID[k-rev]}/enable" "" "$A"
[[ $(last_status) != 200 ]] || {
	api_q POST "/v1/keys/${KID[k-rev]}/sign" "$OKBODY" "$S"
	expect_status 409 "a revoked key never signs again, even after enable"
}
# the CLI reports a refusal with exit 1
SIGNET_API_KEY=$P run_signet 1 sign --key p1/k-ecdsa-p256 --in "$E2E_DIR/data.bin" --out "$E2E_DIR/sig" --force
SIGNET_API_KEY=$S run_signet 1 sign --key p1/k-dis2-missing --in "$E2E_DIR/data.bin" --out "$E2E_DIR/sig" --force
echo "sign_openssl: $NREF refusals"

# ---- keeper crash under load (batches of 16 RSA-4096 signatures keep the
# keeper busy, so the kills land on requests in flight)
EC=${KID[k-rsa-4096]}
OKBODY="{\"mechanism\":\"rsa-pkcs1\",\"digest_algorithm\":\"sha256\",\"digest\":\"$D32\"}"
LOADBODY="{\"mechanism\":\"rsa-pkcs1\",\"digest_algorithm\":\"sha256\",\"digests\":[$(for i in $(seq 16); do printf '"%s",' "$D32"; done | sed 's/,$//')]}"
KEEPER1=$(e2e_keeper_pid) || fail "no keeper child process of signetd (pid $SERVER_PID)"
before_ok=$(audit_count "$A" ".action == \"key.sign\" and .result == \"ok\" and .object_id == \"$EC\"")
mkdir -p "$E2E_DIR/load"
loadloop() {	# loadloop ID N
	local i code
	for ((i = 0; i < $2; i++)); do
		code=$(curl -s --max-time 45 --cacert "$SIGNET_CA_FILE" -H "Authorization: Bearer $S" \
		    -H 'Content-Type: application/json' --data-binary "$LOADBODY" \
		    -o "$E2E_DIR/load/$1.$i.body" -w '%{http_code}' "$SIGNET_URL/v1/keys/$EC/sign") || true
		echo "${code:-000} $1.$i" >>"$E2E_DIR/load/codes"
	done
}
E2E_BG_PIDS=
for l in 1 2 3 4; do
	loadloop "$l" 40 &
	E2E_BG_PIDS="$E2E_BG_PIDS $!"
done
for ((i = 0; i < 600; i++)); do
	[[ -f $E2E_DIR/load/codes ]] && (($(wc -l <"$E2E_DIR/load/codes") >= 40)) && break
	sleep 0.1
done
kill -KILL "$KEEPER1" || fail "could not kill the keeper (pid $KEEPER1)"
killed_at=$(wc -l <"$E2E_DIR/load/codes")
# a second kill, of the restarted keeper
for ((i = 0; i < 600; i++)); do
	(($(wc -l <"$E2E_DIR/load/codes") >= 100)) && break
	sleep 0.1
done
kp=$(e2e_keeper_pid) && kp2=$kp && kill -KILL "$kp" && killed_at="$killed_at and $(wc -l <"$E2E_DIR/load/codes")"
t0=$SECONDS
for p in $E2E_BG_PIDS; do
	while kill -0 "$p" 2>/dev/null && ((SECONDS - t0 < 150)); do sleep 0.2; done
done
if ((SECONDS - t0 >= 150)); then
	fail "signing load did not finish within 150 s of the keeper crash (hang?)"
fi
# shellcheck disable=SC2086
wait $E2E_BG_PIDS
E2E_BG_PIDS=
kill -0 "$SERVER_PID" 2>/dev/null || fail "signetd died with its keeper"
total=$(wc -l <"$E2E_DIR/load/codes")
n200=$(grep -c '^200 ' "$E2E_DIR/load/codes")
n503=$(grep -c '^503 ' "$E2E_DIR/load/codes")
echo "keeper crash: killed after $killed_at responses; $total requests: $n200 x 200, $n503 x 503"
expect_eq "$total" 160 "load requests answered"
other=$(grep -v -e '^200 ' -e '^503 ' "$E2E_DIR/load/codes" | head -n 5 | tr '\n' ' ')
[[ -z $other ]] || _e2e_soft_fail "keeper crash: requests failed with other than 503: $other"
for f in $(grep '^503 ' "$E2E_DIR/load/codes" | head -n 5 | cut -d' ' -f2); do
	jq -e '.error.code == "unavailable"' "$E2E_DIR/load/$f.body" >/dev/null 2>&1 ||
	    _e2e_soft_fail "keeper crash: 503 body is not the 'unavailable' error: $(head -c 200 "$E2E_DIR/load/$f.body")"
done
# every returned signature is valid
printf '%s' "$D32" | base64 -d >"$E2E_DIR/d32"
nbadsig=0
for f in $(grep '^200 ' "$E2E_DIR/load/codes" | cut -d' ' -f2); do
	[[ $(jq '.signatures | length' "$E2E_DIR/load/$f.body") == 16 ]] || nbadsig=$((nbadsig + 1))
	jq -r '.signatures[15]' "$E2E_DIR/load/$f.body" | base64 -d >"$E2E_DIR/ls" 2>/dev/null
	verify_raw "$E2E_DIR/k-rsa-4096.pub" sha256 "$E2E_DIR/d32" "$E2E_DIR/ls" rsa-pkcs1 || nbadsig=$((nbadsig + 1))
done
expect_eq "$nbadsig" 0 "invalid signatures returned around the keeper crash"
# signing works again by itself (no server restart)
healed=0
for ((i = 0; i < 20; i++)); do
	api_q POST "/v1/keys/$EC/sign" "$OKBODY" "$S"
	[[ $(last_status) == 200 ]] && { healed=1; break; }
	sleep 0.5
done
((healed)) || _e2e_soft_fail "signing did not recover within 10 s of the keeper crash (last HTTP $(last_status))"
expect_eq "$i" 0 "the first signing request after the crash succeeds"
KEEPER2=$(e2e_keeper_pid) || _e2e_soft_fail "no keeper process after recovery"
[[ ${KEEPER2:-} != "$KEEPER1" && ${KEEPER2:-} != "${kp2:-}" ]] || _e2e_soft_fail "keeper pid unchanged after SIGKILL"
# every signature that was returned has its committed audit event
after_ok=$(audit_count "$A" ".action == \"key.sign\" and .result == \"ok\" and .object_id == \"$EC\"")
((after_ok - before_ok >= n200 + healed)) ||
    _e2e_soft_fail "key.sign ok events: $((after_ok - before_ok)) for $((n200 + healed)) signatures returned"
SIGNET_API_KEY=$A run_signet 0 audit verify

# ---- no response ever carried a private key
cat "$E2E_DIR"/load/*.body >>"$E2E_DIR/responses.log" 2>/dev/null
for p in "/v1/ca" "/v1/keys" "/v1/me/keys" "/v1/audit?limit=1000"; do
	api_q GET "$p" "" "$A"
done
api_q GET /metrics "" "$(e2e_metrics_token)"
for c in $(curl -s --cacert "$SIGNET_CA_FILE" -H "Authorization: Bearer $A" "$SIGNET_URL/v1/ca" | jq -r '.cas[].id'); do
	api_q GET "/v1/ca/$c" "" "$A"
	api_q GET "/v1/ca/$c/crl" ""
	expect_status 200 "CRL of $c"
	openssl crl -inform DER -in "$E2E_DIR/last.body" -noout 2>/dev/null || _e2e_soft_fail "CRL of $c is not DER"
done
for k in "${!KID[@]}"; do
	api_q GET "/v1/keys/${KID[$k]}/certificate" "" "$A"
	api_q POST "/v1/keys/${KID[$k]}/csr" '{}' "$A"
done
if grep -a -q "PRIVATE KEY" "$E2E_DIR/responses.log"; then
	_e2e_soft_fail "a response contains 'PRIVATE KEY': $(grep -a -B2 'PRIVATE KEY' "$E2E_DIR/responses.log" | head -n 3)"
fi
if grep -a -q "PRIVATE KEY" "$D/signet.db"* "$D/server.log"; then
	_e2e_soft_fail "the database or the server log contains 'PRIVATE KEY'"
fi
PIN=$(cat "$D/hsm/pin" 2>/dev/null | tr -d '\n')
if ((${#PIN} >= 4)) && grep -a -q -F -e "$PIN" "$D/server.log"; then
	_e2e_soft_fail "the HSM PIN appears in the server log"
fi
for t in "$A" "$S" "$P" "$BETA"; do
	if grep -a -q -F -- "${t#snk_*_}" "$D/server.log"; then
		_e2e_soft_fail "an API key secret appears in the server log"
	fi
done
e2e_stop_server

# ---- the HSM objects are sensitive and never extractable (SPEC §6.1)
if command -v pkcs11-tool >/dev/null && [[ -f $D/hsm/pin && -f $D/hsm/softhsm2.conf ]]; then
	label=$(sed -n 's/^[[:space:]]*token_label[[:space:]]*=[[:space:]]*//p' "$D/signetd.conf" | head -n1)
	mod=$(sed -n 's/^[[:space:]]*hsm_module[[:space:]]*=[[:space:]]*//p' "$D/signetd.conf" | head -n1)
	mod=${mod:-/usr/lib/softhsm/libsofthsm2.so}
	SOFTHSM2_CONF=$D/hsm/softhsm2.conf pkcs11-tool --module "$mod" ${label:+--token-label "$label"} \
	    --login --pin "$(cat "$D/hsm/pin")" --list-objects --type privkey >"$E2E_DIR/objs" 2>&1 ||
	    _e2e_soft_fail "pkcs11-tool --list-objects failed: $(head -c 300 "$E2E_DIR/objs")"
	nkeys=$(grep -c '^Private Key Object' "$E2E_DIR/objs")
	((nkeys >= ${#KID[@]})) || _e2e_soft_fail "only $nkeys private keys on the token for ${#KID[@]} signing keys"
	nsafe=$(grep -A8 '^Private Key Object' "$E2E_DIR/objs" | grep 'Access:' |
	    grep 'sensitive' | grep -c 'never extractable')
	expect_eq "$nsafe" "$nkeys" "private keys on the token that are sensitive and never extractable"
	echo "sign_openssl: $nkeys private keys on the token, $nsafe sensitive and never extractable"
fi
e2e_done
