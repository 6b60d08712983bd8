#!/bin/bash
# timestamp.sh - the tenant's RFC 3161 TSA, over HTTPS and the plain-HTTP
# listener (--http-listen), with the tools signers use:
#   openssl ts -query -> POST /tsa/{tenant} -> openssl ts -verify against the
#   tenant's root (SHA-256/384/512, nonce, certReq, policy, unique serials);
#   signet sign --format cms --timestamp (token = unsigned attribute over the
#   signature value); osslsigncode sign -ts; jarsigner -tsa;
#   and the point of it all: at a time after the leaf certificate expired,
#   the timestamped signatures still verify and untimestamped ones do not.
# Plus: bad queries get a clear 400 (and no audit event), the plain listener
# serves nothing but TSA/CRL, every token is a tsa.timestamp audit event,
# and the per-address rate limit answers 429.
# e2e-requires: signetd signet signet-pkcs11
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/external_tools.bash"
e2e_require_tool openssl python3

M=$SIGNET_PKCS11
BIN=$(dirname "$M")
W=$E2E_DIR/work
cd "$W" || fail "cd $W"
e2e_init
echo "tsa_rate_limit = 60" >>"$D/signetd.conf"
E2E_SERVE_ARGS="--http-listen 127.0.0.1:0 --http-port-file $D/http-port"
e2e_serve
HPORT=$(tr -d ' \n' <"$D/http-port")
[[ $HPORT =~ ^[0-9]+$ ]] || fail "no plain-HTTP port written"
A=$ADMIN_KEY
must_signet login --url "$SIGNET_URL" --api-key "$A" --ca-file "$SIGNET_CA_FILE"

# ---- the TSA and its certificates
must_signet tsa url
TSA_URL=$OUT
[[ $TSA_URL =~ ^http://127\.0\.0\.1:$HPORT/tsa/ten_[0-9a-f]+$ ]] || fail "signet tsa url: '$TSA_URL'"
must_signet tsa url --json
TENANT=$(jq -r .tenant_id <<<"$OUT")
POLICY=$(jq -r .policy <<<"$OUT")
HTTPS_TSA=$(jq -r .url <<<"$OUT")
expect_eq "$HTTPS_TSA" "$SIGNET_URL/tsa/$TENANT" "HTTPS TSA URL"
must_signet tsa cert
printf '%s\n' "$OUT" >tsa.pem
must_signet tsa cert --chain
printf '%s\n' "$OUT" >tsa-chain.pem
expect_eq "$(grep -c 'BEGIN CERTIFICATE' tsa-chain.pem)" 3 "tsa cert --chain: TSA, issuing CA, root"
run_signet 2 tsa url extra-argument
run_signet 2 tsa cert --bogus
run_signet 2 tsa nosuchcommand
must_signet ca cert
printf '%s\n' "$OUT" >root.pem
awk '/BEGIN CERT/{n++} n>=2' tsa-chain.pem >cas.pem
openssl x509 -in tsa.pem -noout -text >tsa.txt
grep -A1 'X509v3 Extended Key Usage: critical' tsa.txt | grep -q 'Time Stamping' ||
    _e2e_soft_fail "TSA certificate lacks a critical timeStamping EKU: $(grep -A1 'Extended Key' tsa.txt)"
grep -A1 'X509v3 Extended Key Usage' tsa.txt | grep -q 'Code Signing' &&
    _e2e_soft_fail "TSA certificate may also sign code"
openssl verify -CAfile root.pem -untrusted cas.pem -purpose timestampsign tsa.pem >v.out 2>&1 ||
    _e2e_soft_fail "TSA certificate does not verify for timestampsign: $(cat v.out)"

# ---- openssl ts: query, reply, verify; both listeners; three digests
echo "the data to be timestamped" >data.txt
stamp() {	# stamp URL QUERY REPLY: POSTs a query, sets CODE
	CODE=$(curl -s --max-time 60 --cacert "$SIGNET_CA_FILE" -o "$3" -w '%{http_code} %{content_type}' \
	    -H 'Content-Type: application/timestamp-query' --data-binary "@$2" "$1")
}
i=0
for md in sha256 sha384 sha512; do
	for url in "$TSA_URL" "$HTTPS_TSA"; do
		i=$((i + 1))
		openssl ts -query -data data.txt "-$md" -cert -out "q$i.tsq" 2>/dev/null || fail "openssl ts -query"
		stamp "$url" "q$i.tsq" "r$i.tsr"
		expect_eq "$CODE" "200 application/timestamp-reply" "timestamp $md at $url"
		openssl ts -verify -in "r$i.tsr" -queryfile "q$i.tsq" -CAfile root.pem -untrusted cas.pem \
		    >"v$i.out" 2>&1 || _e2e_soft_fail "openssl ts -verify ($md, $url): $(cat "v$i.out")"
		openssl ts -reply -in "r$i.tsr" -text >"t$i.txt" 2>/dev/null
		expect_contains "$(cat "t$i.txt")" "Status: Granted." "reply $i status"
		expect_contains "$(cat "t$i.txt")" "Policy OID: $POLICY" "reply $i policy"
		expect_contains "$(cat "t$i.txt")" "Hash Algorithm: $md" "reply $i imprint algorithm"
		expect_contains "$(cat "t$i.txt")" "Accuracy: 0x01 seconds" "reply $i accuracy"
		grep -q '^Nonce: 0x' "t$i.txt" || _e2e_soft_fail "reply $i has no nonce"
		grep '^Serial number:' "t$i.txt" >>serials.txt
	done
done
expect_eq "$(sort -u serials.txt | wc -l)" 6 "six tokens, six serials"
# The genTime is the system clock's.
gt=$(sed -n 's/^Time stamp: //p' t1.txt)
gts=$(date -u -d "$gt" +%s 2>/dev/null || echo 0)
now=$(date +%s)
((gts > now - 300 && gts <= now + 5)) || _e2e_soft_fail "genTime '$gt' is not now"
# Without certReq the token carries no certificates; -untrusted supplies them.
openssl ts -query -data data.txt -sha256 -out nocert.tsq 2>/dev/null
stamp "$TSA_URL" nocert.tsq nocert.tsr
expect_eq "$CODE" "200 application/timestamp-reply" "timestamp without certReq"
openssl ts -verify -in nocert.tsr -queryfile nocert.tsq -CAfile root.pem -untrusted tsa-chain.pem \
    >v.out 2>&1 || _e2e_soft_fail "openssl ts -verify (no certReq): $(cat v.out)"
# The token verifies against this data only.
echo "other data" >other.txt
openssl ts -verify -in r1.tsr -data other.txt -CAfile root.pem -untrusted cas.pem >/dev/null 2>&1 &&
    _e2e_soft_fail "a token verified for other data"
NTOK=$(audit_count "$A" '.action == "tsa.timestamp"')
expect_eq "$NTOK" 7 "one tsa.timestamp audit event per token"
ev=$(audit_events "$A" | jq -c 'select(.action == "tsa.timestamp")' | head -n1)
expect_eq "$(jq -r .actor_type <<<"$ev")" anonymous "tsa.timestamp actor"
[[ $(jq -r .details.serial <<<"$ev") =~ ^[0-9a-f]+$ ]] || _e2e_soft_fail "tsa.timestamp has no serial: $ev"

# ---- bad input: clear 4xx, no token, no audit event
bad() {	# bad WANT WHAT CURL-ARGS...
	local want=$1 what=$2
	shift 2
	local code
	code=$(curl -s --max-time 60 -o bad.out -w '%{http_code}' "$@")
	expect_eq "$code" "$want" "bad query: $what"
}
head -c 64 /dev/urandom >garbage.bin
bad 400 "random bytes" -H 'Content-Type: application/timestamp-query' --data-binary @garbage.bin "$TSA_URL"
jq -e '(.error.code|type) == "string" and (.error.message|type) == "string"' bad.out >/dev/null 2>&1 ||
    _e2e_soft_fail "random bytes: the 400 is not the JSON error shape: $(head -c 200 bad.out)"
head -c 20 q1.tsq >trunc.tsq
bad 400 "truncated query" -H 'Content-Type: application/timestamp-query' --data-binary @trunc.tsq "$TSA_URL"
cat q1.tsq q1.tsq >twice.tsq
bad 400 "trailing bytes" -H 'Content-Type: application/timestamp-query' --data-binary @twice.tsq "$TSA_URL"
bad 400 "wrong content type" -H 'Content-Type: application/json' --data-binary @q1.tsq "$TSA_URL"
bad 400 "empty body" -H 'Content-Type: application/timestamp-query' --data-binary '' "$TSA_URL"
bad 404 "unknown tenant" -H 'Content-Type: application/timestamp-query' --data-binary @q1.tsq \
    "http://127.0.0.1:$HPORT/tsa/ten_00000000000000000000000000000000"
bad 405 "GET" "$TSA_URL"
openssl ts -query -data data.txt -md5 -out md5.tsq 2>/dev/null
bad 400 "MD5 imprint" -H 'Content-Type: application/timestamp-query' --data-binary @md5.tsq "$TSA_URL"
openssl ts -reply -in bad.out -text 2>/dev/null | grep -q 'Status: Rejected.' ||
    _e2e_soft_fail "MD5 imprint: the 400 is not a TimeStampResp with status rejection"
openssl ts -query -data data.txt -sha256 -tspolicy 1.2.3.4 -out pol.tsq 2>/dev/null
bad 400 "foreign policy" -H 'Content-Type: application/timestamp-query' --data-binary @pol.tsq "$TSA_URL"
expect_eq "$(audit_count "$A" '.action == "tsa.timestamp"')" "$NTOK" "no audit event for refused queries"

# ---- the plain listener serves signed answers only
for p in /v1/me /healthz /v1/tsa /v1/ca /metrics; do
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $A" "http://127.0.0.1:$HPORT$p")
	expect_eq "$code" 404 "plain HTTP $p"
done
api_q GET /v1/ca "" "$A"
ISS=$(jbody -r '.cas[] | select(.role == "issuing") | .id')
code=$(curl -s -o crl.der -w '%{http_code}' "http://127.0.0.1:$HPORT/v1/ca/$ISS/crl")
expect_eq "$code" 200 "CRL over plain HTTP"
openssl crl -inform DER -in crl.der -noout -CAfile cas.pem >/dev/null 2>&1 ||
    _e2e_soft_fail "CRL over plain HTTP does not verify"

# ---- signing: a short-lived key with a certificate, a signer
api_q POST /v1/projects '{"name":"rel"}' "$A"; assert_status 201 "project"
api_q POST /v1/projects/rel/signers '{"user":"admin@acme.test"}' "$A"; assert_status 201 "signer"
for k in rsa ec; do
	alg=rsa-3072
	[[ $k == ec ]] && alg=ecdsa-p256
	api_q POST /v1/keys "{\"project\":\"rel\",\"name\":\"$k\",\"algorithm\":\"$alg\",\"validity\":\"2d\"}" "$A"
	assert_status 201 "key $k"
done
must_signet cert rel/ec
printf '%s\n' "$OUT" >ec.crt
LEAF_END=$(date -u -d "$(openssl x509 -in ec.crt -noout -enddate | cut -d= -f2)" +%s)
LATER=$((LEAF_END + 86400))	# a day after the leaf expired

# signet sign --format cms --timestamp
must_signet sign --key rel/ec --in data.txt --out ts.p7 --format cms --timestamp
must_signet sign --key rel/ec --in data.txt --out plain.p7 --format cms
run_signet 2 sign --key rel/ec --in data.txt --out x.sig --timestamp
expect_contains "$ERR" "--timestamp" "--timestamp without --format cms"
mkdir -p ts plain
python3 "$SIGNET_SOURCE_DIR/tests/e2e/cms_parts.py" ts.p7 ts || fail "cms_parts ts.p7"
python3 "$SIGNET_SOURCE_DIR/tests/e2e/cms_parts.py" plain.p7 plain || fail "cms_parts plain.p7"
[[ -s ts/token.der ]] || fail "signet sign --timestamp: no id-aa-timeStampToken attribute"
[[ -e plain/token.der ]] && _e2e_soft_fail "an untimestamped CMS carries a token"
openssl cms -verify -binary -inform DER -in ts.p7 -content data.txt -CAfile root.pem -purpose any \
    -out /dev/null >v.out 2>&1 || _e2e_soft_fail "timestamped CMS does not verify: $(cat v.out)"
openssl ts -verify -data ts/sigvalue.bin -in ts/token.der -token_in -CAfile root.pem -untrusted cas.pem \
    >v.out 2>&1 || _e2e_soft_fail "the CMS's token does not cover its signature: $(cat v.out)"
# After expiry: the leaf no longer verifies, the token (and so the signing
# time, inside the leaf's validity) still does.
openssl ts -reply -in ts/token.der -token_in -token_out -text >tok.txt 2>/dev/null
TOK_T=$(date -u -d "$(sed -n 's/^Time stamp: //p' tok.txt)" +%s)
((TOK_T < LEAF_END)) || _e2e_soft_fail "token time $TOK_T not inside the leaf's validity (ends $LEAF_END)"
openssl verify -attime "$LATER" -CAfile root.pem -untrusted cas.pem ec.crt >/dev/null 2>&1 &&
    _e2e_soft_fail "the leaf still verifies a day after it expired"
openssl verify -attime "$TOK_T" -CAfile root.pem -untrusted cas.pem ec.crt >/dev/null 2>&1 ||
    _e2e_soft_fail "the leaf does not verify at the token's time"
openssl ts -verify -attime "$LATER" -data ts/sigvalue.bin -in ts/token.der -token_in -CAfile root.pem \
    -untrusted cas.pem >v.out 2>&1 || _e2e_soft_fail "the token does not verify after the leaf expired: $(cat v.out)"
openssl cms -verify -attime "$LATER" -binary -inform DER -in plain.p7 -content data.txt -CAfile root.pem \
    -purpose any -out /dev/null >/dev/null 2>&1 &&
    _e2e_soft_fail "an untimestamped CMS verifies after its certificate expired"

# ---- osslsigncode sign -ts (Authenticode through the module)
URI_RSA=$(api GET /v1/me/keys "" "$A" | jq -r '.keys[] | select(.name == "rsa") | .pkcs11_uri')
if command -v osslsigncode >/dev/null 2>&1; then
	"$BIN/signet_mkpe" app.exe "timestamp e2e" || fail "signet_mkpe"
	ENGINE=
	for e in /usr/lib/*/engines-3/pkcs11.so /usr/lib/*/engines-3/libpkcs11.so; do
		[[ -f $e ]] && { ENGINE=$e; break; }
	done
	args=(-pkcs11module "$M" -pkcs11cert "${URI_RSA/type=private/type=cert}" -key "$URI_RSA"
	    -h sha256 -ac cas.pem -n "Signet timestamp e2e")
	[[ -n $ENGINE ]] && args=(-pkcs11engine "$ENGINE" "${args[@]}")
	osslsigncode sign "${args[@]}" -ts "$TSA_URL" -in app.exe -out app-ts.exe >oss.out 2>&1 ||
	    fail "osslsigncode sign -ts: $(tail -n5 oss.out)"
	osslsigncode sign "${args[@]}" -in app.exe -out app-plain.exe >oss2.out 2>&1 ||
	    fail "osslsigncode sign: $(tail -n5 oss2.out)"
	osslsigncode verify -in app-ts.exe -CAfile root.pem -TSA-CAfile root.pem >ossv.out 2>&1 ||
	    _e2e_soft_fail "osslsigncode verify (timestamped): $(tail -n8 ossv.out)"
	expect_contains "$(cat ossv.out)" "Timestamp Server Signature verification: ok" "osslsigncode: timestamp verified"
	expect_contains "$(cat ossv.out)" "Signature verification: ok" "osslsigncode: signature verified"
	# A day after the leaf expired
	osslsigncode verify -time "$LATER" -in app-ts.exe -CAfile root.pem -TSA-CAfile root.pem \
	    >ossl.out 2>&1 || _e2e_soft_fail "osslsigncode: timestamped signature fails after expiry: $(tail -n8 ossl.out)"
	osslsigncode verify -time "$LATER" -in app-plain.exe -CAfile root.pem >osslp.out 2>&1 &&
	    _e2e_soft_fail "osslsigncode: untimestamped signature verifies after expiry"
	expect_contains "$(cat osslp.out)" "expired" "osslsigncode: untimestamped signature fails as expired"
else
	echo "note: osslsigncode not installed; Authenticode timestamp check skipped" >&2
fi

# ---- jarsigner -tsa (through Java's SunPKCS11 and the module)
if command -v jarsigner >/dev/null 2>&1 && command -v jar >/dev/null 2>&1 &&
    command -v keytool >/dev/null 2>&1; then
	printf 'name = Signet\nlibrary = %s\n' "$M" >java-pkcs11.cfg
	mkdir -p jar && echo "hello from the timestamp e2e test" >jar/hello.txt
	(cd jar && jar cf ../app.jar hello.txt) || fail "jar"
	keytool -importcert -noprompt -alias root -file root.pem -keystore trust.p12 \
	    -storetype PKCS12 -storepass changeit >/dev/null 2>&1 || fail "keytool -importcert"
	jopts=(-keystore NONE -storetype PKCS11 -providerClass sun.security.pkcs11.SunPKCS11
	    -providerArg java-pkcs11.cfg -storepass ignored)
	# The token's alias is the key's CKA_LABEL: PROJECT/KEY, or KEY in
	# module versions before unique labels.
	alias=rel/ec
	timeout 120 keytool -list "${jopts[@]}" >kl.out 2>&1
	grep -q '^rel/ec,' kl.out || alias=ec
	timeout 120 jarsigner "${jopts[@]}" -tsa "$TSA_URL" -signedjar app-ts.jar app.jar \
	    "$alias" >js.out 2>&1 || _e2e_soft_fail "jarsigner -tsa: $(tail -n5 js.out | tr '\n' ' ')"
	timeout 120 jarsigner -verify -verbose -certs -keystore trust.p12 -storetype PKCS12 \
	    -storepass changeit app-ts.jar >jv.out 2>&1 ||
	    _e2e_soft_fail "jarsigner -verify: $(tail -n5 jv.out | tr '\n' ' ')"
	expect_contains "$(cat jv.out)" "jar verified." "jarsigner verify"
	expect_contains "$(cat jv.out)" "Timestamped by" "jarsigner shows the timestamp"
	expect_contains "$(cat jv.out)" "Signet Timestamping Authority" "jarsigner names our TSA"
else
	echo "note: Java not installed; jarsigner timestamp check skipped" >&2
fi

# ---- rate limit: tsa_rate_limit = 60 per address per minute
n429=0
for ((j = 0; j < 70; j++)); do
	stamp "$TSA_URL" q1.tsq rl.tsr
	if [[ $CODE == 429* ]]; then
		n429=1
		break
	fi
done
((n429 == 1)) || _e2e_soft_fail "no 429 after 70 timestamp requests (tsa_rate_limit = 60)"
curl -s -D hdr.txt -o /dev/null -H 'Content-Type: application/timestamp-query' --data-binary @q1.tsq "$TSA_URL"
grep -qi '^Retry-After: [0-9]' hdr.txt || _e2e_soft_fail "429 without Retry-After"
# The rest of the API is not held back by the TSA limit.
api_q GET /v1/me "" "$A"; expect_status 200 "API after the TSA limit"

must_signet audit verify
e2e_stop_server
e2e_done
