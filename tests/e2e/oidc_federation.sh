#!/bin/bash
# oidc_federation.sh - service accounts that trust a CI system's OIDC ID
# tokens (issue 14), against a test issuer this script starts on loopback
# over HTTPS (oidc_issuer.py: discovery, JWKS with RSA and EC keys, token
# minting, a GitHub Actions-style token service, and issuers that are slow,
# huge or down):
#   - federate / federations / unfederate (CLI and API, audited);
#   - the CI flow: login with an ID token file, osslsigncode through the
#     module, verify, audit shows repository and ref on key.sign;
#   - every refusal is a clear 4xx (or 503 for an unreachable issuer), gives
#     no token, and is an audit event: wrong audience, wrong / missing claim,
#     a glob that must not match, expired, too old, future iat, unknown kid
#     after a refetch, an issuer not federated, another issuer's key, alg
#     none and HS256, a JWKS endpoint that is slow, huge or down;
#   - refresh: the CLI exchanges a fresh ID token by itself; key rotation at
#     the issuer; the env-var and GitHub Actions token sources.
# e2e-requires: signetd signet signet-pkcs11
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/external_tools.bash"
e2e_require_tool osslsigncode openssl python3
python3 -c 'import cryptography' 2>/dev/null || { echo "SKIP: needs python3-cryptography" >&2; exit 77; }

# Loopback only: no proxy may see this traffic.
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
unset HTTPS_PROXY https_proxy HTTP_PROXY http_proxy ALL_PROXY all_proxy

M=$SIGNET_PKCS11
BIN=$(dirname "$M")
W=$E2E_DIR/work
O=$E2E_DIR/issuer
ISSUER_PY=$(dirname "$0")/oidc_issuer.py
cd "$W" || fail "cd $W"

python3 "$ISSUER_PY" setup "$O" || fail "oidc_issuer.py setup"
python3 "$ISSUER_PY" serve "$O" "$O/port" >"$O/serve.log" 2>&1 &
E2E_BG_PIDS=$!
for ((i = 0; i < 100; i++)); do [[ -s $O/port ]] && break; sleep 0.1; done
[[ -s $O/port ]] || fail "the test issuer did not start: $(cat "$O/serve.log")"
OP=$(tr -d ' \n' <"$O/port")
BASE=https://127.0.0.1:$OP
ISS=$BASE/main
DEAD=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mint() { python3 "$ISSUER_PY" mint "$O" "$@"; }
GOOD=(--claim repository=org/app --claim ref=refs/heads/main --claim workflow=release
    --claim run_id=4242 --claim sha=0123abcd)

e2e_init
printf 'oidc_ca_file = %s\noidc_fetch_timeout = 3\n' "$O/ca.pem" >>"$D/signetd.conf"
e2e_serve

ADMIN_CONF=$W/admin.conf
MACHINE_CONF=$W/machine.conf
admin() { SIGNET_CONFIG=$ADMIN_CONF SIGNET_API_KEY= must_signet "$@"; }
machine() { SIGNET_CONFIG=$MACHINE_CONF SIGNET_API_KEY= SIGNET_URL= SIGNET_CA_FILE= "$@"; }
SIGNET_CONFIG=$ADMIN_CONF SIGNET_API_KEY= must_signet login --url "$SIGNET_URL" \
    --api-key "$ADMIN_KEY" --ca-file "$SIGNET_CA_FILE"
A=$ADMIN_KEY

mk_user alice@acme.test			# member of the owning team
ALICE=$U_KEY
mk_user mallory@acme.test		# a plain user
MALLORY=$U_KEY
admin team create release-eng
admin team add-member release-eng alice@acme.test
machine must_signet service-account keygen --out "$W/ci.key"
printf '%s\n' "$OUT" >"$W/ci.pub"
admin service-account create ci-builder --team release-eng --public-key "$W/ci.pub"
admin service-account list --json
SA=$(jq -r '.service_accounts[] | select(.name=="ci-builder") | .id' <<<"$OUT")
[[ $SA == sac_* ]] || fail "no service account id"
admin project create desktop-app
admin key create desktop-app authenticode --algorithm rsa-3072 --validity 30d --ca builtin
admin project add-signer desktop-app --service-account ci-builder
admin ca cert
printf '%s\n' "$OUT" >"$W/root.pem"
admin cert desktop-app/authenticode --chain
printf '%s\n' "$OUT" >"$W/chain.pem"

# ---- federate: CLI (usage errors first: exit 2, nothing created)
run_signet 2 service-account federate ci-builder --issuer "$ISS" --audience signet
run_signet 2 service-account federate ci-builder --issuer "$ISS" --audience signet --claim repository
run_signet 2 service-account federate ci-builder --issuer "$ISS" --audience signet --claim =x
run_signet 2 service-account federate ci-builder --issuer "http://127.0.0.1/x" --audience signet --claim a=b
run_signet 2 service-account federate ci-builder --issuer "$ISS" --audience signet --claim a=b --max-token-age soon
expect_eq "$(db_exec 'SELECT COUNT(*) FROM sa_federations')" 0 "no federation after usage errors"
# a plain user may not; a member of the owning team may (and it is audited)
SIGNET_API_KEY=$MALLORY run_signet 1 service-account federate ci-builder --issuer "$ISS" \
    --audience signet --claim repository=org/app
SIGNET_API_KEY=$ALICE must_signet service-account federate ci-builder --issuer "$ISS" \
    --audience signet --claim repository=org/app --claim 'ref=refs/heads/*' \
    --max-token-age 10m --json
FED=$(jq -r .federation.id <<<"$OUT")
[[ $FED == fed_* ]] || fail "federate: no id in $OUT"
expect_eq "$(jq -r .federation.max_token_age <<<"$OUT")" 600 "max_token_age 10m"
admin service-account federations ci-builder --json
expect_eq "$(jq -r '.federations[0].claims.repository' <<<"$OUT")" org/app "federations: claim rule"
admin service-account federations ci-builder
expect_contains "$OUT" "repository=org/app" "federations table"
expect_eq "$(audit_count "$A" '.action=="service_account.federate" and .result=="ok"')" 1 "federate audited"
expect_eq "$(audit_count "$A" '.action=="service_account.federate" and .result=="denied"')" 1 "refused federate audited"
# Federations on issuers that misbehave (same account, same audience).
for n in slow huge; do
	admin service-account federate ci-builder --issuer "$BASE/$n" --audience signet --claim repository=org/app
done
admin service-account federate ci-builder --issuer "https://127.0.0.1:$DEAD/down" --audience signet --claim repository=org/app

# ---- garbage at the federation endpoint: 400, nothing changed
nfed() { db_exec 'SELECT COUNT(*) FROM sa_federations'; }
before=$(nfed)
for body in '{}' '[]' '{"issuer":"'"$ISS"'","audience":"signet"}' \
    '{"issuer":"http://x.test","audience":"signet","claims":{"a":"b"}}' \
    '{"issuer":"https://","audience":"signet","claims":{"a":"b"}}' \
    '{"issuer":"https://x.test/?q","audience":"signet","claims":{"a":"b"}}' \
    '{"issuer":"'"$ISS"'","audience":"","claims":{"a":"b"}}' \
    '{"issuer":"'"$ISS"'","audience":"signet","claims":{}}' \
    '{"issuer":"'"$ISS"'","audience":"signet","claims":[["a","b"]]}' \
    '{"issuer":"'"$ISS"'","audience":"signet","claims":{"a":"*"}}' \
    '{"issuer":"'"$ISS"'","audience":"signet","claims":{"iss":"x"}}' \
    '{"issuer":"'"$ISS"'","audience":"signet","claims":{"a b":"x"}}' \
    '{"issuer":"'"$ISS"'","audience":"signet","claims":{"a":7}}' \
    '{"issuer":"'"$ISS"'","audience":"signet","claims":{"a":"b"},"max_token_age":5}' \
    '{"issuer":"'"$ISS"'","audience":"signet","claims":{"a":"b"},"max_token_age":"1h"}' \
    '{"issuer":"'"$ISS"'","audience":"signet","claims":{"a":"b"},"extra":1}' \
    '{"issuer":7,"audience":"signet","claims":{"a":"b"}}'; do
	api_q POST "/v1/serviceaccounts/$SA/federations" "$body" "$A"
	expect_status 400 "federate $body"
	check_error_shape
done
api_q POST "/v1/serviceaccounts/$SA/federations" '{"issuer":' "$A"
expect_status 400 "federate: malformed JSON"
api_q DELETE "/v1/serviceaccounts/$SA/federations/fed_nope" "" "$A"
expect_status 404 "unfederate: no such federation"
expect_eq "$(nfed)" "$before" "no federation made or removed by garbage"

# ---- the token exchange
ntok() { db_exec 'SELECT COUNT(*) FROM access_tokens'; }
# exch TOKEN [AUDIENCE]: JSON form of the RFC 8693 request
exch() {
	local body
	body=$(jq -cn --arg t "$1" --arg a "${2:-ci-builder}" '{grant_type:"urn:ietf:params:oauth:grant-type:token-exchange",
	    subject_token:$t, subject_token_type:"urn:ietf:params:oauth:token-type:id_token", audience:$a}')
	api_q POST /v1/oauth/token "$body" ""
}
# refuse WANT_STATUS REASON_SUBSTRING TOKEN [AUDIENCE [system]]: refused, no
# token, audited (in the tenant's chain; "system": an audience that names no
# account goes to the system chain, which no tenant sees)
nrefused() { db_exec "SELECT COUNT(*) FROM audit_events WHERE action = 'auth.token' AND result <> 'ok' AND tenant_id = '$1'"; }
refuse() {
	local want=$1 why=$2 tok=$3 aud=${4:-ci-builder} chain=${5:-tenant} t0 d0 tid
	tid=$(db_exec "SELECT tenant_id FROM service_accounts WHERE id = '$SA'")
	[[ $chain == system ]] && tid=
	t0=$(ntok)
	d0=$(nrefused "$tid")
	exch "$tok" "$aud"
	expect_status "$want" "exchange refused ($why)"
	check_error_shape
	expect_eq "$(jbody -r '.access_token // "none"')" none "no access token ($why)"
	expect_eq "$(ntok)" "$t0" "no token row ($why)"
	expect_eq "$(nrefused "$tid")" $((d0 + 1)) "refusal audited in the $chain chain ($why)"
	expect_contains "$(db_exec "SELECT details FROM audit_events WHERE action = 'auth.token' AND tenant_id = '$tid' ORDER BY seq DESC LIMIT 1")" \
	    "$why" "audit reason ($why)"
}

# The CI flow: an ID token in a file, login, osslsigncode through the module.
mint --iss "$ISS" --aud signet "${GOOD[@]}" >"$W/id_token"
machine must_signet login --url "$SIGNET_URL" --service-account ci-builder \
    --oidc-token-file "$W/id_token" --ca-file "$SIGNET_CA_FILE"
grep -q "eyJ" "$MACHINE_CONF" && fail "the config file holds the ID token itself"
expect_eq "$(stat -c %a "$MACHINE_CONF")" 600 "machine config mode"
machine must_signet whoami --json
expect_eq "$(jq -r .id <<<"$OUT")" "$SA" "whoami after the token exchange"
expect_eq "$(wc -l <"$O/jwks.main.log")" 1 "one JWKS fetch for the first exchange"
machine must_signet keys --json
URI=$(jq -r '.keys[] | select(.name == "authenticode") | .pkcs11_uri' <<<"$OUT")
[[ $URI == pkcs11:* ]] || fail "no PKCS#11 URI: $OUT"
"$BIN/signet_mkpe" app.exe "oidc flow" || fail "signet_mkpe"
ENGINE=
for e in /usr/lib/*/engines-3/pkcs11.so /usr/lib/*/engines-3/libpkcs11.so; do
	[[ -f $e ]] && { ENGINE=$e; break; }
done
awk '/BEGIN CERT/{n++} n>=2' "$W/chain.pem" >"$W/cas.pem"
args=(-pkcs11module "$M" -pkcs11cert "${URI/type=private/type=cert}" -key "$URI"
    -h sha256 -ac "$W/cas.pem" -n "Signet OIDC flow" -in app.exe -out app-signed.exe)
[[ -n $ENGINE ]] && args=(-pkcs11engine "$ENGINE" "${args[@]}")
SIGNET_CONFIG=$MACHINE_CONF SIGNET_API_KEY= osslsigncode sign "${args[@]}" >sign.out 2>&1 ||
    fail "osslsigncode sign through the module: $(tail -n5 sign.out)"
osslsigncode verify -in app-signed.exe -CAfile "$W/root.pem" >verify.out 2>&1 ||
    fail "osslsigncode verify: $(tail -n8 verify.out)"
assert_contains "$(cat verify.out)" "Signature verification: ok" "osslsigncode verify"
# provenance: on the exchange and on every key.sign made with its token
expect_eq "$(audit_count "$A" '.action=="key.sign" and .result=="ok" and .details.oidc.claims.repository=="org/app"
    and .details.oidc.claims.ref=="refs/heads/main" and .details.oidc.claims.run_id=="4242"
    and .details.oidc.issuer=="'"$ISS"'"')" \
    "$(audit_count "$A" '.action=="key.sign" and .result=="ok"')" "every key.sign carries repository, ref, run id"
[[ $(audit_count "$A" '.action=="key.sign" and .result=="ok"') -ge 1 ]] || _e2e_soft_fail "no key.sign event"
[[ $(audit_count "$A" '.action=="auth.token" and .result=="ok" and .details.grant=="token-exchange"
    and .details.oidc.federation_id=="'"$FED"'" and .details.oidc.claims.workflow=="release"') -ge 1 ]] ||
    _e2e_soft_fail "the token exchange is not audited with its provenance"
SIGNET_CONFIG=$ADMIN_CONF SIGNET_API_KEY= must_signet audit list --key desktop-app/authenticode --json
expect_eq "$(jq '[.events[] | select(.action=="key.sign") | .details.oidc.claims | select(.repository=="org/app"
    and .ref=="refs/heads/main")] | length >= 1' <<<"$OUT")" true "signet audit list shows the repository and ref"

# Glob rules: refs/heads/* matches any branch; EC keys (ES256, ES384).
exch "$(mint --iss "$ISS" --aud signet --claim repository=org/app --claim ref=refs/heads/feature/x)"
expect_status 200 "glob ref=refs/heads/* matches refs/heads/feature/x"
expect_eq "$(jbody -r .issued_token_type)" urn:ietf:params:oauth:token-type:access_token "issued_token_type"
exch "$(mint --iss "$ISS" --aud signet --key ec-1 "${GOOD[@]}")"
expect_status 200 "ES256 ID token"
exch "$(mint --iss "$ISS" --aud signet --key ec384-1 "${GOOD[@]}")"
expect_status 200 "ES384 ID token"
exch "$(mint --iss "$ISS" --aud '["x","signet"]' "${GOOD[@]}")"	# aud as a string that is not ours
expect_status 401 "aud string with brackets is not an array"
exch "$(mint --iss "$ISS" --aud signet "${GOOD[@]}")" "$SA"
expect_status 200 "audience by account id"

# Refusals (401 unless malformed: 400).
refuse 401 "aud is not" "$(mint --iss "$ISS" --aud other "${GOOD[@]}")"
refuse 401 "claim 'repository'" "$(mint --iss "$ISS" --aud signet --claim repository=org/other --claim ref=refs/heads/main)"
refuse 401 "claim 'ref'" "$(mint --iss "$ISS" --aud signet --claim repository=org/app)"
refuse 401 "claim 'repository'" "$(mint --iss "$ISS" --aud signet --claim repository=org/app-evil --claim ref=refs/heads/main)"
refuse 401 "claim 'ref'" "$(mint --iss "$ISS" --aud signet --claim repository=org/app --claim ref=refs/tags/v1)"
refuse 401 "expired" "$(mint --iss "$ISS" --aud signet --iat-offset -400 --exp-offset -120 "${GOOD[@]}")"
refuse 401 "older than" "$(mint --iss "$ISS" --aud signet --iat-offset -900 --exp-offset 300 "${GOOD[@]}")"
refuse 401 "iat is in the future" "$(mint --iss "$ISS" --aud signet --iat-offset 600 --exp-offset 900 "${GOOD[@]}")"
refuse 400 "exp and iat" "$(mint --iss "$ISS" --aud signet --no-iat "${GOOD[@]}")"
refuse 401 "does not verify" "$(mint --iss "$ISS" --aud signet --key other "${GOOD[@]}")"
refuse 400 "alg not allowed" "$(mint --iss "$ISS" --aud signet --alg none "${GOOD[@]}")x"
refuse 400 "alg not allowed" "$(mint --iss "$ISS" --aud signet --alg HS256 "${GOOD[@]}")"
refuse 401 "no service account" "$(mint --iss "$BASE/other" --aud signet --key rsa-1 "${GOOD[@]}")"
[[ -e $O/jwks.other.log ]] && _e2e_soft_fail "signetd fetched the keys of an issuer nobody federated"
refuse 401 "no service account" "$(mint --iss "$ISS" --aud signet "${GOOD[@]}")" no-such-account system
# the tenant's admin sees the refusals of its account, with the reason
[[ $(audit_count "$A" '.action=="auth.token" and .result=="denied" and (.details.reason | test("claim .ref."))') -ge 1 ]] ||
    _e2e_soft_fail "the admin does not see refused exchanges with their reason"
# unknown kid: the JWKS is fetched again (rotation), then refused
sleep 11		# OIDC_REFETCH_MIN: at most one refetch per 10 s per issuer
f0=$(wc -l <"$O/jwks.main.log")
refuse 401 "kid" "$(mint --iss "$ISS" --aud signet --key rsa-2 "${GOOD[@]}")"
expect_eq "$(wc -l <"$O/jwks.main.log")" $((f0 + 1)) "an unknown kid refetches the JWKS once"
# the issuer rotates: once rsa-2 is published it is found on the next refetch
printf 'rsa-1\nrsa-2\nec-1\nec384-1\n' >"$O/published.main"
sleep 11
exch "$(mint --iss "$ISS" --aud signet --key rsa-2 "${GOOD[@]}")"
expect_status 200 "a rotated-in key works after a refetch"

# Malformed requests: 400, no token.
t0=$(ntok)
for body in '{"grant_type":"urn:ietf:params:oauth:grant-type:token-exchange"}' \
    '{"grant_type":"urn:ietf:params:oauth:grant-type:token-exchange","subject_token":"a.b.c","subject_token_type":"urn:ietf:params:oauth:token-type:id_token","audience":"ci-builder"}' \
    '{"grant_type":"urn:ietf:params:oauth:grant-type:token-exchange","subject_token":"x","subject_token_type":"urn:ietf:params:oauth:token-type:jwt","audience":"ci-builder"}' \
    '{"grant_type":"urn:ietf:params:oauth:grant-type:token-exchange","subject_token":"x","subject_token_type":"urn:ietf:params:oauth:token-type:id_token"}' \
    '{"grant_type":"urn:ietf:params:oauth:grant-type:token-exchange","subject_token":7,"subject_token_type":"urn:ietf:params:oauth:token-type:id_token","audience":"ci-builder"}' \
    '{"grant_type":"urn:ietf:params:oauth:grant-type:token-exchange","subject_token":"x","subject_token_type":"urn:ietf:params:oauth:token-type:id_token","audience":"ci-builder","scope":"all"}' \
    '{"grant_type":"urn:ietf:params:oauth:grant-type:token-exchange","subject_token":"x","subject_token_type":"urn:ietf:params:oauth:token-type:id_token","audience":"ci-builder","requested_token_type":"urn:ietf:params:oauth:token-type:refresh_token"}'; do
	api_q POST /v1/oauth/token "$body" ""
	expect_status 400 "exchange: $body"
	check_error_shape
done
# the form encoding clients use
code=$(curl -s -o "$W/form.out" -w '%{http_code}' --cacert "$SIGNET_CA_FILE" \
    --data-urlencode grant_type=urn:ietf:params:oauth:grant-type:token-exchange \
    --data-urlencode subject_token_type=urn:ietf:params:oauth:token-type:id_token \
    --data-urlencode audience=ci-builder --data-urlencode "subject_token=$(mint --iss "$ISS" --aud signet "${GOOD[@]}")" \
    "$SIGNET_URL/v1/oauth/token")
expect_eq "$code" 200 "form-encoded token exchange"
t0=$((t0 + 1))
expect_eq "$(ntok)" "$t0" "malformed exchanges made no token"

# Issuers that are slow, huge or down: a bounded wait, 503, no hang.
for n in slow huge; do
	refuse 503 "cannot get the keys" "$(mint --iss "$BASE/$n" --aud signet "${GOOD[@]}")"
done
refuse 503 "cannot get the keys" "$(mint --iss "https://127.0.0.1:$DEAD/down" --aud signet "${GOOD[@]}")"
api_q GET /healthz "" ""
expect_status 200 "the server still answers after the slow issuer"
api_q GET /metrics "" "$(e2e_metrics_token)"
[[ $(grep -E '^signet_oidc_key_fetches_total [0-9]+$' "$E2E_DIR/last.body" | cut -d' ' -f2) -ge 3 ]] ||
    _e2e_soft_fail "/metrics: signet_oidc_key_fetches_total missing or too low"

# Refresh: the CLI exchanges a fresh ID token when its access token dies.
mint --iss "$ISS" --aud signet "${GOOD[@]}" --claim run_id=5555 >"$W/id_token"
db_exec "DELETE FROM access_tokens WHERE service_account_id = '$SA'"
machine must_signet keys
expect_eq "$(audit_count "$A" '.action=="auth.token" and .result=="ok" and .details.oidc.claims.run_id=="5555"')" 1 \
    "the CLI refreshed with the new ID token"

# The ID token in an environment variable.
ENV_CONF=$W/env.conf
CI_ID_TOKEN=$(mint --iss "$ISS" --aud signet "${GOOD[@]}") SIGNET_CONFIG=$ENV_CONF SIGNET_API_KEY= \
    SIGNET_URL= SIGNET_CA_FILE= must_signet login --url "$SIGNET_URL" --service-account ci-builder \
    --oidc-token-env CI_ID_TOKEN --ca-file "$SIGNET_CA_FILE"
CI_ID_TOKEN=$(mint --iss "$ISS" --aud signet "${GOOD[@]}") SIGNET_CONFIG=$ENV_CONF SIGNET_API_KEY= \
    SIGNET_URL= SIGNET_CA_FILE= must_signet whoami
CI_ID_TOKEN= SIGNET_CONFIG=$ENV_CONF SIGNET_API_KEY= SIGNET_URL= SIGNET_CA_FILE= run_signet 1 whoami
expect_contains "$ERR" "CI_ID_TOKEN" "an unset token variable is named in the error"

# GitHub Actions' token request flow.
echo "gha-request-secret" >"$O/gha.secret"
jq -n --arg iss "$ISS" '{iss:$iss, claims:{repository:"org/app", ref:"refs/heads/main", workflow:"gha", run_id:"777"}}' >"$O/gha.json"
GHA_CONF=$W/gha.conf
gha() { ACTIONS_ID_TOKEN_REQUEST_URL="$BASE/gha/token?api-version=2.0" ACTIONS_ID_TOKEN_REQUEST_TOKEN=gha-request-secret \
    SIGNET_CONFIG=$GHA_CONF SIGNET_API_KEY= SIGNET_URL= SIGNET_CA_FILE= "$@"; }
gha must_signet login --url "$SIGNET_URL" --service-account ci-builder --oidc-audience signet \
    --oidc-ca-file "$O/ca.pem" --ca-file "$SIGNET_CA_FILE"
gha must_signet whoami --json
expect_eq "$(jq -r .id <<<"$OUT")" "$SA" "GitHub Actions flow"
[[ $(audit_count "$A" '.action=="auth.token" and .result=="ok" and .details.oidc.claims.run_id=="777"') -ge 1 ]] ||
    _e2e_soft_fail "the GitHub Actions exchange is not in the audit trail"
ACTIONS_ID_TOKEN_REQUEST_URL="$BASE/gha/token?api-version=2.0" ACTIONS_ID_TOKEN_REQUEST_TOKEN=wrong \
    SIGNET_CONFIG=$GHA_CONF SIGNET_API_KEY= SIGNET_URL= SIGNET_CA_FILE= run_signet 1 login --url "$SIGNET_URL" \
    --service-account ci-builder --oidc-audience signet --oidc-ca-file "$O/ca.pem" --ca-file "$SIGNET_CA_FILE"

# CLI usage errors of login
machine run_signet 2 login --url "$SIGNET_URL" --service-account ci-builder --key-file "$W/ci.key" \
    --oidc-token-file "$W/id_token"
machine run_signet 2 login --url "$SIGNET_URL" --service-account ci-builder --oidc-token-env 1BAD
machine run_signet 2 login --url "$SIGNET_URL" --api-key "$A" --oidc-token-file "$W/id_token"
ACTIONS_ID_TOKEN_REQUEST_URL= SIGNET_CONFIG=$MACHINE_CONF SIGNET_API_KEY= run_signet 2 login \
    --url "$SIGNET_URL" --service-account ci-builder

# unfederate: audited, and the tokens it issued stop working at once
SIGNET_API_KEY=$MALLORY run_signet 1 service-account unfederate ci-builder "$FED"
machine must_signet whoami
admin service-account unfederate ci-builder "$FED"
expect_eq "$(audit_count "$A" '.action=="service_account.unfederate" and .result=="ok"')" 1 "unfederate audited"
machine run_signet 1 whoami
expect_eq "$(db_exec "SELECT COUNT(*) FROM access_tokens WHERE federation_id = '$FED'")" 0 "its tokens are gone"
refuse 401 "no service account" "$(mint --iss "$ISS" --aud signet "${GOOD[@]}")"
# the registered key still works alongside
machine must_signet login --url "$SIGNET_URL" --service-account ci-builder \
    --key-file "$W/ci.key" --ca-file "$SIGNET_CA_FILE"

# An account without any registered key: OIDC federation only.
SIGNET_API_KEY=$ALICE run_signet 2 service-account create ci-keyless --team release-eng
SIGNET_API_KEY=$ALICE run_signet 2 service-account create ci-keyless --team release-eng --oidc-only --public-key "$W/ci.pub"
api_q POST /v1/serviceaccounts '{"name":"both","team":"release-eng","oidc_only":true,"public_key":"x"}' "$A"
expect_status 400 "oidc_only with a public_key"
api_q POST /v1/serviceaccounts '{"name":"nokey","team":"release-eng","oidc_only":false}' "$A"
expect_status 400 "no public_key without oidc_only"
api_q POST /v1/serviceaccounts '{"name":"nokey","team":"release-eng","oidc_only":"yes"}' "$A"
expect_status 400 "oidc_only must be a boolean"
SIGNET_API_KEY=$ALICE must_signet service-account create ci-keyless --team release-eng --oidc-only --json
KL=$(jq -r .service_account.id <<<"$OUT")
expect_eq "$(jq -r '.service_account.public_key, .service_account.key_fingerprint' <<<"$OUT" | tr '\n' ' ')" "null null " \
    "a keyless account shows no key"
SIGNET_API_KEY=$ALICE must_signet service-account create ci-keyless2 --team release-eng --oidc-only
expect_contains "$OUT" "no key" "create without --public-key says so"
# the JWT bearer grant can never log it in (401, not a server error)
code=$(curl -s -o "$W/jb.out" -w '%{http_code}' --cacert "$SIGNET_CA_FILE" \
    --data-urlencode grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer \
    --data-urlencode "assertion=$(mk_jwt "$W/ci.key" "$KL")" "$SIGNET_URL/v1/oauth/token")
expect_eq "$code" 401 "JWT bearer grant for a keyless account"
# (this account's refusal: seq orders one chain only, time is in seconds)
expect_contains "$(db_exec "SELECT details FROM audit_events WHERE action = 'auth.token' AND details LIKE '%$KL%' ORDER BY time DESC, seq DESC LIMIT 1")" \
    "no registered key" "the refusal says why"
admin service-account federate ci-keyless --issuer "$ISS" --audience signet --claim repository=org/app
KL_CONF=$W/keyless.conf
mint --iss "$ISS" --aud signet "${GOOD[@]}" >"$W/kl_token"
SIGNET_CONFIG=$KL_CONF SIGNET_API_KEY= SIGNET_URL= SIGNET_CA_FILE= must_signet login --url "$SIGNET_URL" \
    --service-account ci-keyless --oidc-token-file "$W/kl_token" --ca-file "$SIGNET_CA_FILE"
SIGNET_CONFIG=$KL_CONF SIGNET_API_KEY= SIGNET_URL= SIGNET_CA_FILE= must_signet whoami --json
expect_eq "$(jq -r .id <<<"$OUT")" "$KL" "a keyless account logs in with its ID token"
# a key can be added later, and then the key pair works too
machine must_signet service-account keygen --out "$W/kl.key" --algorithm rsa-3072
printf '%s\n' "$OUT" >"$W/kl.pub"
admin service-account rotate-key ci-keyless --public-key "$W/kl.pub"
sa_token "$W/kl.key" "$KL"

admin audit verify
grep -q "eyJ" "$D/server.log" && _e2e_soft_fail "an ID token reached the server log"
e2e_stop_server
e2e_done
