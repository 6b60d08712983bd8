#!/bin/bash
# sa_oauth.sh - service accounts end to end: keygen on the "signing
# machine", upload of the public key only, JWT bearer grant (SPEC §4), an
# access token that may sign but manage nothing, and the refusals of
# SPEC §6.6 (invalid JWT, replayed jti, wrong audience, expired, too long,
# wrong key, alg none) plus key rotation and deletion cutting access.
# JWTs are built here with openssl (RS256), independently of the client.
# e2e-requires: signetd signet
source "$(dirname "$0")/lib.sh"
e2e_require_tool openssl

e2e_start_server
must_signet login --url "$SIGNET_URL" --api-key "$ADMIN_KEY" --ca-file "$SIGNET_CA_FILE"
A=$ADMIN_KEY
TOKEN_URL=$SIGNET_URL/v1/oauth/token

mk_user alice@acme.test
must_signet team create builders
must_signet team add-member builders alice@acme.test
must_signet project create p1
must_signet key create p1 k1 --algorithm ecdsa-p256
api_q GET "/v1/keys?project=p1&name=k1" "" "$A"
K1=$(jbody -r '.keys[0].id')
[[ $K1 == skey_* ]] || fail "GET /v1/keys?project=p1&name=k1 did not find k1"
must_signet key create p1 k-other --algorithm ecdsa-p256
must_signet project create p2
must_signet key create p2 k2 --algorithm ecdsa-p256

# ---- the CLI path: keygen, create, login as the service account, sign
must_signet service-account keygen --out "$E2E_DIR/sa1.key"
[[ -f $E2E_DIR/sa1.key ]] || fail "keygen wrote no private key"
expect_eq "$(stat -c %a "$E2E_DIR/sa1.key")" 600 "service account private key file mode"
assert_contains "$OUT" "BEGIN PUBLIC KEY" "keygen prints the public key"
assert_not_contains "$OUT" "PRIVATE KEY" "keygen output"
sed -n '/BEGIN PUBLIC KEY/,/END PUBLIC KEY/p' <<<"$OUT" >"$E2E_DIR/sa1.pub"
must_signet service-account create build1 --team builders --public-key "$E2E_DIR/sa1.pub"
must_signet service-account list --json
SA1=$(jq -r '.service_accounts[] | select(.name=="build1") | .id' <<<"$OUT")
[[ $SA1 == sac_* ]] || fail "service-account list: no build1"
fp=$(openssl pkey -pubin -in "$E2E_DIR/sa1.pub" -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1)
expect_eq "$(jq -r '.service_accounts[] | select(.name=="build1") | .key_fingerprint' <<<"$OUT")" "$fp" \
    "key_fingerprint = sha256 of the SPKI"
must_signet project add-signer p1 --service-account build1

SA_CONF=$E2E_DIR/sa1.conf
# SPEC §3: --service-account NAME. If the name is refused, that is recorded
# and the id is used so the rest still runs.
if ! SIGNET_CONFIG=$SA_CONF run_signet 0 login --url "$SIGNET_URL" --service-account build1 \
    --key-file "$E2E_DIR/sa1.key" --ca-file "$SIGNET_CA_FILE"; then
	SIGNET_CONFIG=$SA_CONF run_signet 0 login --url "$SIGNET_URL" --service-account "$SA1" \
	    --key-file "$E2E_DIR/sa1.key" --ca-file "$SIGNET_CA_FILE"
fi
if [[ -f $SA_CONF ]] && grep -q "PRIVATE KEY" "$SA_CONF"; then
	_e2e_soft_fail "the client config holds the private key itself"
fi
SIGNET_CONFIG=$SA_CONF run_signet 0 whoami --json
expect_eq "$(jq -r .type <<<"$OUT" 2>/dev/null)" service_account "whoami as the service account: type"
expect_eq "$(jq -r .name <<<"$OUT" 2>/dev/null)" build1 "whoami as the service account: name"
SIGNET_CONFIG=$SA_CONF run_signet 0 keys --json
expect_eq "$(jq -r '[.keys[].name] | sort | join(",")' <<<"$OUT" 2>/dev/null)" "k-other,k1" "keys of the service account"
head -c 5000 /dev/urandom >"$E2E_DIR/data.bin"
if SIGNET_CONFIG=$SA_CONF run_signet 0 sign --key p1/k1 --in "$E2E_DIR/data.bin" --out "$E2E_DIR/sig"; then
	api_q GET "/v1/keys/$K1" "" "$A"
	jbody -r .key.public_key >"$E2E_DIR/k1.pub"
	openssl dgst -sha256 -verify "$E2E_DIR/k1.pub" -signature "$E2E_DIR/sig" "$E2E_DIR/data.bin" >/dev/null 2>&1 ||
	    _e2e_soft_fail "service account's signature does not verify"
fi
SIGNET_CONFIG=$SA_CONF run_signet 1 sign --key p2/k2 --in "$E2E_DIR/data.bin" --out "$E2E_DIR/sig" --force
SIGNET_CONFIG=$SA_CONF run_signet 1 user list
SIGNET_CONFIG=$SA_CONF run_signet 1 project create p3
SIGNET_CONFIG=$SA_CONF run_signet 1 apikey create

# ---- JWTs by hand
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$E2E_DIR/sa2.key" 2>/dev/null || fail "genpkey"
openssl pkey -in "$E2E_DIR/sa2.key" -pubout -out "$E2E_DIR/sa2.pub" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$E2E_DIR/evil.key" 2>/dev/null || fail "genpkey"
api_q POST /v1/serviceaccounts "{\"name\":\"build2\",\"team\":\"builders\",\"public_key\":$(json_file_str "$E2E_DIR/sa2.pub")}" "$A"
assert_status 201 "create build2"
SA2=$(jbody -r .service_account.id)
api_q POST /v1/projects/p1/signers '{"service_account":"build2"}' "$A"; assert_status 201 "build2 signer"

# jwt KEYFILE [jq-assignments to the claims] -> prints the JWT
jwt() {
	local key=$1 now h p s
	shift
	now=$(date +%s)
	h=$(printf '{"alg":"RS256","typ":"JWT"}' | b64url)
	p=$(jq -cn --arg iss "$SA2" --arg aud "$TOKEN_URL" --arg jti "$(rand_b64 12 | tr '+/' '-_')" \
	    --argjson now "$now" "{iss:\$iss, sub:\$iss, aud:\$aud, jti:\$jti, iat:\$now, exp:(\$now+120)} ${1:+| $1}" |
	    tr -d '\n' | b64url)
	s=$(printf '%s.%s' "$h" "$p" | openssl dgst -sha256 -sign "$key" -binary | b64url)
	printf '%s.%s.%s' "$h" "$p" "$s"
}
# token_req ASSERTION: form-encoded grant; sets HTTP_STATUS (last_status) and the body
token_req() {
	local code
	code=$(curl -s --max-time 30 --cacert "$SIGNET_CA_FILE" -o "$E2E_DIR/last.body" -w '%{http_code}' \
	    --data-urlencode "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer" \
	    --data-urlencode "assertion=$1" "$TOKEN_URL") || true
	printf '%s' "${code:-000}" >"$E2E_DIR/last.status"
	{ printf 'POST /v1/oauth/token -> %s\n' "$code"; cat "$E2E_DIR/last.body"; echo; } >>"$E2E_DIR/responses.log"
}

J=$(jwt "$E2E_DIR/sa2.key")
token_req "$J"
assert_status 200 "JWT bearer grant (form)"
expect_eq "$(jbody -r .token_type)" Bearer "token_type"
expect_eq "$(jbody -r .expires_in)" 900 "expires_in"
T=$(jbody -r .access_token)
[[ $T == sna_* ]] || _e2e_soft_fail "access token format: '${T:0:8}...'"
# the same assertion again: jti accepted once
token_req "$J"
[[ $(last_status) == 400 || $(last_status) == 401 ]] || _e2e_soft_fail "replayed jti: HTTP $(last_status) (want 400/401)"
# JSON form of the grant
api_q POST /v1/oauth/token "{\"grant_type\":\"urn:ietf:params:oauth:grant-type:jwt-bearer\",\"assertion\":\"$(jwt "$E2E_DIR/sa2.key")\"}" ""
expect_status 200 "JWT bearer grant (JSON)"

# invalid assertions
bad_jwt() {	# bad_jwt WHAT ASSERTION
	token_req "$2"
	[[ $(last_status) == 400 || $(last_status) == 401 ]] ||
	    _e2e_soft_fail "JWT $1: HTTP $(last_status) (want 400/401): $(head -c 200 "$E2E_DIR/last.body")"
	if jq -e '.access_token' <"$E2E_DIR/last.body" >/dev/null 2>&1; then
		_e2e_soft_fail "JWT $1: an access token was issued"
	fi
}
bad_jwt "signed by another key" "$(jwt "$E2E_DIR/evil.key")"
bad_jwt "expired" "$(jwt "$E2E_DIR/sa2.key" '.exp = .iat - 10')"
bad_jwt "exp more than 5 min ahead" "$(jwt "$E2E_DIR/sa2.key" '.exp = .iat + 3600')"
bad_jwt "wrong audience" "$(jwt "$E2E_DIR/sa2.key" '.aud = "https://elsewhere.example/v1/oauth/token"')"
bad_jwt "unknown issuer" "$(jwt "$E2E_DIR/sa2.key" '.iss = "sac_0000000000000000" | .sub = .iss')"
bad_jwt "sub differs from iss" "$(jwt "$E2E_DIR/sa2.key" ".sub = \"$SA1\"")"
bad_jwt "no jti" "$(jwt "$E2E_DIR/sa2.key" 'del(.jti)')"
bad_jwt "no exp" "$(jwt "$E2E_DIR/sa2.key" 'del(.exp)')"
bad_jwt "iss of another account" "$(jwt "$E2E_DIR/sa2.key" ".iss = \"$SA1\" | .sub = .iss")"
good=$(jwt "$E2E_DIR/sa2.key")
bad_jwt "tampered payload" "${good%%.*}.$(printf '{"iss":"%s","sub":"%s","aud":"%s","jti":"x1","exp":%d}' \
    "$SA2" "$SA2" "$TOKEN_URL" $(($(date +%s) + 60)) | b64url).${good##*.}"
bad_jwt "alg none" "$(printf '{"alg":"none","typ":"JWT"}' | b64url).$(cut -d. -f2 <<<"$good")."
bad_jwt "garbage" "not-a-jwt"
bad_jwt "empty" ""

# ---- what the access token may do
api_q GET /v1/me "" "$T"; expect_status 200 "access token: /v1/me"
expect_eq "$(jbody -r .type)" service_account "access token: /v1/me type"
expect_eq "$(jbody -r .id)" "$SA2" "access token: /v1/me id"
DG=$(rand_b64 32)
api_q POST "/v1/keys/$K1/sign" "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digest\":\"$DG\"}" "$T"
expect_status 200 "access token signs with p1/k1"
api_q GET /v1/me/keys "" "$T"; expect_status 200 "access token: /v1/me/keys"
api_q GET "/v1/keys/$K1" "" "$T"; expect_status 200 "access token views p1/k1"
# management endpoints, each with a well-formed body: 403, not 400
while IFS='|' read -r m p b; do
	api_q "$m" "$p" "$b" "$T"
	expect_status 403 "access token: $m $p"
done <<EOF2
GET|/v1/users|
POST|/v1/users|{"email":"sa-made@acme.test"}
POST|/v1/apikeys|{"description":"x"}
GET|/v1/apikeys|
POST|/v1/teams|{"name":"sa-team"}
POST|/v1/projects|{"name":"sa-project"}
POST|/v1/keys|{"project":"p1","name":"sa-key","algorithm":"ecdsa-p256"}
GET|/v1/audit|
POST|/v1/keys/$K1/disable|
POST|/v1/projects/p1/signers|{"user":"alice@acme.test"}
GET|/v1/projects/p1/signers|
POST|/v1/serviceaccounts|{"name":"sa-made","team":"builders","public_key":$(json_file_str "$E2E_DIR/sa1.pub")}
POST|/v1/serviceaccounts/$SA2/rotate-key|{"public_key":$(json_file_str "$E2E_DIR/sa1.pub")}
DELETE|/v1/serviceaccounts/$SA2|
EOF2
api_q POST "/v1/keys/$(SIGNET_API_KEY=$A "$SIGNET" key show p2/k2 --json | jq -r .key.id)/sign" \
    "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digest\":\"$DG\"}" "$T"
expect_status 403 "access token signs with a key of another project"
# the audit trail names the service account
audit_events "$A" >"$E2E_DIR/ev" || fail "audit"
n=$(jq -s "[.[] | select(.action == \"key.sign\" and .result == \"ok\" and .actor_type == \"service_account\" and .actor_id == \"$SA2\")] | length" <"$E2E_DIR/ev")
((n >= 1)) || _e2e_soft_fail "no key.sign event with actor service_account $SA2"
if grep -q -F -- "${T#sna_*_}" "$E2E_DIR/ev" "$D/server.log"; then
	_e2e_soft_fail "the access token secret appears in the audit trail or the server log"
fi

expect_secret_not_stored "$T" "access token"
expect_eq "$(db_query "select count(*) from access_tokens where length(secret_hash) != 32" 2>&1)" 0 \
    "access_tokens.secret_hash is a 32-byte SHA-256"
grep -a -q -F -- "PRIVATE KEY" "$D"/signet.db* && _e2e_soft_fail "a private key is stored in the database"

# ---- rotation: the old key gets no new token; tokens of the old key die
api_q POST "/v1/serviceaccounts/$SA2/rotate-key" "{\"public_key\":$(json_file_str "$E2E_DIR/evil.key")}" "$A"
expect_status 400 "rotate-key with a private key PEM"
openssl pkey -in "$E2E_DIR/evil.key" -pubout -out "$E2E_DIR/evil.pub" 2>/dev/null
api_q POST "/v1/serviceaccounts/$SA2/rotate-key" "{\"public_key\":$(json_file_str "$E2E_DIR/evil.pub")}" "$A"
expect_status 200 "rotate-key"
bad_jwt "signed by the key before rotation" "$(jwt "$E2E_DIR/sa2.key")"
api_q GET /v1/me "" "$T"; expect_status 401 "access token issued before the rotation"
token_req "$(jwt "$E2E_DIR/evil.key")"; expect_status 200 "grant with the rotated-in key"
T2=$(jbody -r .access_token)
api_q GET /v1/me "" "$T2"; expect_status 200 "new access token"
# an access token past its expiry is refused (expiry moved into the past in the DB)
TID=tok_$(cut -d_ -f2 <<<"$T2")
db_exec "update access_tokens set expires_at = strftime('%s','now') - 5 where id = '$TID'"
[[ $(db_query "select count(*) from access_tokens where id = '$TID'") == 1 ]] ||
    _e2e_soft_fail "access token id is not tok_<16 hex> of the token"
api_q GET /v1/me "" "$T2"; expect_status 401 "expired access token"
token_req "$(jwt "$E2E_DIR/evil.key")"; expect_status 200 "a new grant after the expiry"
T2=$(jbody -r .access_token)
# ---- deletion: tokens die with the account
api_q DELETE "/v1/serviceaccounts/$SA2" "" "$A"; expect_status 200 "delete service account"
api_q GET /v1/me "" "$T2"; expect_status 401 "access token of a deleted service account"
bad_jwt "of a deleted account" "$(jwt "$E2E_DIR/evil.key")"
api_q GET /v1/projects/p1/signers "" "$A"
expect_eq "$(jbody -r --arg id "$SA2" '[.signers[] | select(.id == $id)] | length')" 0 "deleted account left the signers"

api_q GET /v1/audit/verify "" "$A"; expect_eq "$(jbody -r .ok)" true "audit chain"
e2e_stop_server
e2e_done
