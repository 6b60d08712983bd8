#!/bin/bash
# bad_input.sh - SPEC §6.6: bad input gets a clear 4xx with the JSON error
# shape and changes nothing.
#
# Each case below is one request; the test checks its exact status, the
# error body ({"error":{"code","message"}} with the code matching the
# status), and that a snapshot of the state (every list endpoint as the
# admin, plus row counts straight from the SQLite file) is identical
# before and after it. Audit events are not part of the snapshot: refusals
# are supposed to be audited.
# e2e-requires: signetd
source "$(dirname "$0")/lib.sh"
e2e_require_tool openssl

e2e_start_server

# ---- fixtures
mk_user alice@acme.test
mk_user signer@acme.test; SIGNER_KEY=$U_KEY
mk_user dave@acme.test
api_q POST /v1/teams '{"name":"t1"}' "$ADMIN_KEY"; assert_status 201 "team"
api_q POST /v1/teams/t1/members '{"user":"alice@acme.test","owner":true}' "$ADMIN_KEY"; assert_status 200 "member"
api_q POST /v1/projects '{"name":"p1"}' "$ADMIN_KEY"; assert_status 201 "project"
PROJECT_ID=$(jbody -r .project.id)
api_q POST /v1/projects/p1/signers '{"user":"signer@acme.test"}' "$ADMIN_KEY"; assert_status 201 "signer"
api_q POST /v1/keys '{"project":"p1","name":"k1","algorithm":"ecdsa-p256"}' "$ADMIN_KEY"; assert_status 201 "key k1"
K1=$(jbody -r .key.id)
api_q POST /v1/keys '{"project":"p1","name":"r1","algorithm":"rsa-2048"}' "$ADMIN_KEY"; assert_status 201 "key r1"
R1=$(jbody -r .key.id)
api_q POST /v1/keys '{"project":"p1","name":"ext1","algorithm":"ecdsa-p256","ca":"external","subject":"CN=ext1"}' "$ADMIN_KEY"
assert_status 201 "key ext1"
EXT1=$(jbody -r .key.id)
mk_ec_keypair "$E2E_DIR/sa.key"
PUB=$(json_file_str "$E2E_DIR/sa.key.pub")
PRIV=$(json_file_str "$E2E_DIR/sa.key")
api_q POST /v1/serviceaccounts "{\"name\":\"sa1\",\"team\":\"t1\",\"public_key\":$PUB}" "$ADMIN_KEY"
assert_status 201 "service account"
SA1=$(jbody -r .service_account.id)
mk_ec_keypair "$E2E_DIR/sa2.key"
PUB2=$(json_file_str "$E2E_DIR/sa2.key.pub")
# a public key PEM whose base64 is damaged
sed '2s/^..../!!!!/' "$E2E_DIR/sa2.key.pub" >"$E2E_DIR/broken.pub"
BROKEN_PUB=$(json_file_str "$E2E_DIR/broken.pub")
# a certificate that does not belong to ext1 (the external CA itself)
api_q POST "/v1/keys/$EXT1/csr" '{}' "$ADMIN_KEY"; assert_status 200 "csr"
jbody -r .csr >"$E2E_DIR/ext1.csr"
mk_ext_chain "$E2E_DIR/ext1.csr" "$E2E_DIR/ext1.chain"
WRONG_CHAIN=$(json_file_str "$E2E_DIR/extca/ca.pem")
# a valid chain for ext1 but with the leaf replaced by another key's cert
api_q GET "/v1/keys/$K1/certificate" "" "$ADMIN_KEY"; assert_status 200 "k1 certificate"
OTHER_LEAF=$(jbody -r .certificate)
OTHER_CHAIN=$(json_str "$OTHER_LEAF$(cat "$E2E_DIR/extca/ca.pem")")

D32=$(rand_b64 32)
D31=$(rand_b64 31)
D33=$(rand_b64 33)
D48=$(rand_b64 48)
D20=$(rand_b64 20)

# big and deep bodies
python3 - "$E2E_DIR" <<'EOF' || fail "python3 needed to build big bodies"
import json, sys
d = sys.argv[1]
open(d + "/big.json", "w").write(json.dumps({"email": "big@acme.test", "x": "A" * (1024 * 1024 + 16)}))
open(d + "/bigsign.json", "w").write(json.dumps({"mechanism": "ecdsa", "digest_algorithm": "sha256",
    "digest": "A" * (1024 * 1024 + 16)}))
open(d + "/deep100.json", "w").write('{"email":' + "[" * 100 + "]" * 100 + "}")
open(d + "/deep100obj.json", "w").write('{"name":' + '{"a":' * 100 + '1' + "}" * 100 + "}")
open(d + "/deep100k.json", "w").write('{"email":' + "[" * 100000 + "]" * 100000 + "}")
open(d + "/batch65.json", "w").write(json.dumps({"mechanism": "ecdsa", "digest_algorithm": "sha256",
    "digests": ["A" * 43 + "="] * 65}))
EOF

# ---- the snapshot
api_snapshot() {
	local p
	local -a urls=()
	for p in users teams projects keys serviceaccounts apikeys ca "projects/p1/signers" \
	    "apikeys?user=alice@acme.test" "teams/t1" "keys/$K1" "keys/$EXT1" "serviceaccounts/$SA1"; do
		urls+=("$SIGNET_URL/v1/$p")
	done
	# one curl (one TLS connection) and one jq for all of them
	curl -s --max-time 30 --cacert "$SIGNET_CA_FILE" -H "Authorization: Bearer $ADMIN_KEY" "${urls[@]}" |
	    jq -S 'walk(if type == "object" then del(.last_used_at) else . end)' 2>&1
}
# the database side: cheap enough to take after every case
db_snapshot() {
	db_query \
	    "select 'tenants', count(*) from tenants;
	     select 'users', count(*), sum(disabled), group_concat(role), group_concat(email) from users;
	     select 'api_keys', count(*), count(revoked_at) from api_keys;
	     select 'teams', count(*), group_concat(name) from teams;
	     select 'team_members', count(*), sum(is_owner) from team_members;
	     select 'service_accounts', count(*), group_concat(key_fingerprint), sum(key_version) from service_accounts;
	     select 'access_tokens', count(*) from access_tokens;
	     select 'projects', count(*), group_concat(name) from projects;
	     select 'project_owners', count(*) from project_owners;
	     select 'project_signers', count(*) from project_signers;
	     select 'signing_keys', count(*), group_concat(state), group_concat(coalesce(cert_serial,'-')), group_concat(name), group_concat(coalesce(length(cert_pem),0)), group_concat(coalesce(subject,'-')) from signing_keys;
	     select 'cas', count(*), sum(crl_number) from cas;" 2>&1
}

snapshot() { api_snapshot; db_snapshot; }
snapshot >"$E2E_DIR/snap.0"
grep -q '"users"' "$E2E_DIR/snap.0" || fail "snapshot failed: $(head -c 300 "$E2E_DIR/snap.0")"
db_snapshot >"$E2E_DIR/db.0"
# checkpoint WHAT: the full snapshot (every list endpoint + the database)
# is unchanged since the start (taken after each group of cases)
checkpoint() {
	snapshot >"$E2E_DIR/snap.1"
	if ! cmp -s "$E2E_DIR/snap.0" "$E2E_DIR/snap.1"; then
		_e2e_soft_fail "the $1 cases changed the state (API view):"
		diff "$E2E_DIR/snap.0" "$E2E_DIR/snap.1" | head -n 20 >&2
		cp "$E2E_DIR/snap.1" "$E2E_DIR/snap.0"
	fi
}

NCASE=0
# bad METHOD PATH STATUS BODY [TOKEN]: STATUS may be "400|404"; BODY "-" = none
bad() {
	local method=$1 path=$2 want=$3 body=$4 token=${5:-$ADMIN_KEY} got
	[[ $body == - ]] && body=
	NCASE=$((NCASE + 1))
	api_q "$method" "$path" "$body" "$token"
	got=$(last_status)
	if [[ "|$want|" != *"|$got|"* ]]; then
		_e2e_soft_fail "$method $path body='${body:0:80}': HTTP $got, want $want: $(head -c 200 "$E2E_DIR/last.body")"
	elif [[ $got != 405 ]]; then
		check_error_shape "$method $path body='${body:0:80}'" || true
	fi
	db_snapshot >"$E2E_DIR/db.1"
	if ! cmp -s "$E2E_DIR/db.0" "$E2E_DIR/db.1"; then
		_e2e_soft_fail "$method $path body='${body:0:80}' (HTTP $got) changed the state:"
		diff "$E2E_DIR/db.0" "$E2E_DIR/db.1" | head -n 20 >&2
		cp "$E2E_DIR/db.1" "$E2E_DIR/db.0"
	fi
}

# ---- generic: malformed JSON, non-objects, trailing garbage, size, depth
for path in /v1/users /v1/apikeys /v1/teams /v1/projects /v1/keys /v1/serviceaccounts \
    /v1/teams/t1/members /v1/projects/p1/owners /v1/projects/p1/signers \
    "/v1/serviceaccounts/sa1/rotate-key" "/v1/keys/$EXT1/csr"; do
	bad POST "$path" 400 '{"name":'
	bad POST "$path" 400 '{"name":"x",}'
	bad POST "$path" 400 "{'name':'x'}"
	bad POST "$path" 400 '[]'
	bad POST "$path" 400 '"a string"'
	bad POST "$path" 400 '42'
	bad POST "$path" 400 'null'
	bad POST "$path" 400 '{"name":"x"} trailing'
	bad POST "$path" 400 '{"bogus_field":1}'
	bad POST "$path" 413 "@$E2E_DIR/big.json"
	bad POST "$path" 400 "@$E2E_DIR/deep100.json"
done
bad PUT "/v1/keys/$EXT1/certificate" 400 '{"chain":'
bad PUT "/v1/keys/$EXT1/certificate" 400 '[]'
bad PUT "/v1/keys/$EXT1/certificate" 413 "@$E2E_DIR/big.json"
bad PUT "/v1/keys/$EXT1/certificate" 400 "@$E2E_DIR/deep100.json"
bad POST /v1/teams 400 "@$E2E_DIR/deep100obj.json"
bad POST /v1/users 400 "@$E2E_DIR/deep100k.json"
# empty body where one is required
for path in /v1/users /v1/teams /v1/projects /v1/keys; do
	bad POST "$path" 400 -
done
# the server survived all that
api_q GET /healthz ""; assert_status 200 "healthz after the generic cases"

checkpoint "generic"
# ---- users
bad POST /v1/users 400 '{}'
bad POST /v1/users 400 '{"email":5}'
bad POST /v1/users 400 '{"email":null}'
bad POST /v1/users 400 '{"email":["x@acme.test"]}'
bad POST /v1/users 400 '{"email":"new@acme.test","role":"root"}'
bad POST /v1/users 400 '{"email":"new@acme.test","role":1}'
bad POST /v1/users 400 '{"email":"new@acme.test","bogus":1}'
bad POST /v1/users 400 '{"email":"not-an-email"}'
bad POST /v1/users 400 '{"email":"a b@acme.test"}'
bad POST /v1/users 400 '{"email":"a@b@acme.test"}'
bad POST /v1/users 400 '{"email":"x\u0000y@acme.test"}'
bad POST /v1/users 400 '{"email":"new/x@acme.test"}'
bad POST /v1/users 400 "{\"email\":\"$(head -c 300 /dev/zero | tr '\0' a)@acme.test\"}"
bad POST /v1/users 409 '{"email":"alice@acme.test"}'
bad POST /v1/users 409 '{"email":"admin@acme.test","role":"user"}'
bad GET /v1/users/usr_0000000000000000 404 -
bad GET /v1/users/nobody@acme.test 404 -
bad POST /v1/users/usr_0000000000000000/disable 404 -
bad POST /v1/users/nobody@acme.test/disable 404 -

checkpoint "user"
# ---- API keys
bad POST /v1/apikeys 400 '{"expires_in":"1h"}'
bad POST /v1/apikeys 400 '{"expires_in":-5}'
bad POST /v1/apikeys 400 '{"expires_in":1.5}'
bad POST /v1/apikeys 400 '{"expires_in":true}'
bad POST /v1/apikeys 400 '{"expires_in":99999999999999999999}'
bad POST /v1/apikeys 400 '{"description":5}'
bad POST /v1/apikeys 400 "{\"description\":\"$(head -c 5000 /dev/zero | tr '\0' d)\"}"
bad POST /v1/apikeys 400 '{"user":5}'
bad POST /v1/apikeys 404 '{"user":"usr_0000000000000000"}'
bad POST /v1/apikeys 404 '{"user":"nobody@acme.test"}'
bad DELETE /v1/apikeys/key_0000000000000000 404 -
bad DELETE /v1/apikeys/nonsense 404 -
bad GET "/v1/apikeys?user=nobody@acme.test" 404 -

checkpoint "API key"
# ---- teams
bad POST /v1/teams 400 '{}'
bad POST /v1/teams 400 '{"name":5}'
bad POST /v1/teams 400 '{"name":""}'
bad POST /v1/teams 400 '{"name":"a b"}'
bad POST /v1/teams 400 '{"name":"-team"}'
bad POST /v1/teams 400 '{"name":".team"}'
bad POST /v1/teams 400 "{\"name\":\"$(head -c 65 /dev/zero | tr '\0' t)\"}"
bad POST /v1/teams 400 '{"name":"t2","bogus":1}'
bad POST /v1/teams 409 '{"name":"t1"}'
bad GET /v1/teams/nope 404 -
bad GET /v1/teams/team_0000000000000000 404 -
bad POST /v1/teams/t1/members 400 '{}'
bad POST /v1/teams/t1/members 400 '{"user":5}'
bad POST /v1/teams/t1/members 400 '{"user":"dave@acme.test","owner":"yes"}'
bad POST /v1/teams/t1/members 400 '{"user":"dave@acme.test","bogus":1}'
bad POST /v1/teams/t1/members 404 '{"user":"nobody@acme.test"}'
bad POST /v1/teams/t1/members 404 '{"user":"usr_0000000000000000"}'
bad POST /v1/teams/nope/members 404 '{"user":"dave@acme.test"}'
bad DELETE /v1/teams/t1/members/nobody@acme.test 404 -
bad DELETE /v1/teams/t1/members/dave@acme.test 404 -
bad DELETE /v1/teams/nope/members/alice@acme.test 404 -

checkpoint "team"
# ---- service accounts
bad POST /v1/serviceaccounts 400 '{}'
bad POST /v1/serviceaccounts 400 "{\"name\":\"sa2\",\"team\":\"t1\"}"
bad POST /v1/serviceaccounts 400 "{\"name\":\"sa2\",\"public_key\":$PUB2}"
bad POST /v1/serviceaccounts 400 "{\"team\":\"t1\",\"public_key\":$PUB2}"
bad POST /v1/serviceaccounts 400 "{\"name\":\"sa2\",\"team\":\"t1\",\"public_key\":\"not a pem\"}"
bad POST /v1/serviceaccounts 400 "{\"name\":\"sa2\",\"team\":\"t1\",\"public_key\":$BROKEN_PUB}"
bad POST /v1/serviceaccounts 400 "{\"name\":\"sa2\",\"team\":\"t1\",\"public_key\":$PRIV}"
bad POST /v1/serviceaccounts 400 "{\"name\":\"sa2\",\"team\":\"t1\",\"public_key\":5}"
bad POST /v1/serviceaccounts 400 "{\"name\":\"a/b\",\"team\":\"t1\",\"public_key\":$PUB2}"
bad POST /v1/serviceaccounts 400 "{\"name\":\"sa2\",\"team\":\"t1\",\"public_key\":$PUB2,\"bogus\":1}"
bad POST /v1/serviceaccounts 404 "{\"name\":\"sa2\",\"team\":\"nope\",\"public_key\":$PUB2}"
bad POST /v1/serviceaccounts 409 "{\"name\":\"sa1\",\"team\":\"t1\",\"public_key\":$PUB2}"
bad GET /v1/serviceaccounts/nope 404 -
bad POST /v1/serviceaccounts/sa1/rotate-key 400 '{}'
bad POST /v1/serviceaccounts/sa1/rotate-key 400 '{"public_key":"junk"}'
bad POST /v1/serviceaccounts/sa1/rotate-key 400 "{\"public_key\":$BROKEN_PUB}"
bad POST /v1/serviceaccounts/sa1/rotate-key 400 "{\"public_key\":$PRIV}"
bad POST /v1/serviceaccounts/sa1/rotate-key 400 "{\"public_key\":$PUB2,\"bogus\":1}"
bad POST /v1/serviceaccounts/nope/rotate-key 404 "{\"public_key\":$PUB2}"
bad DELETE /v1/serviceaccounts/nope 404 -
bad DELETE /v1/serviceaccounts/sac_0000000000000000 404 -

checkpoint "service account"
# ---- projects
bad POST /v1/projects 400 '{}'
bad POST /v1/projects 400 '{"name":5}'
bad POST /v1/projects 400 '{"name":"a/b"}'
bad POST /v1/projects 400 '{"name":"p2","bogus":1}'
bad POST /v1/projects 409 '{"name":"p1"}'
bad GET /v1/projects/nope 404 -
bad GET /v1/projects/prj_0000000000000000 404 -
bad POST /v1/projects/p1/owners 400 '{}'
bad POST /v1/projects/p1/owners 400 '{"user":5}'
bad POST /v1/projects/p1/owners 400 '{"user":"dave@acme.test","team":"t1"}'
bad POST /v1/projects/p1/owners 400 '{"service_account":"sa1"}'
bad POST /v1/projects/p1/owners 404 '{"user":"nobody@acme.test"}'
bad POST /v1/projects/p1/owners 404 '{"team":"nope"}'
bad POST /v1/projects/nope/owners 404 '{"user":"dave@acme.test"}'
bad GET /v1/projects/nope/signers 404 -
bad POST /v1/projects/p1/signers 400 '{}'
bad POST /v1/projects/p1/signers 400 '{"user":"dave@acme.test","team":"t1"}'
bad POST /v1/projects/p1/signers 400 '{"user":["dave@acme.test"]}'
bad POST /v1/projects/p1/signers 404 '{"user":"nobody@acme.test"}'
bad POST /v1/projects/p1/signers 404 '{"team":"nope"}'
bad POST /v1/projects/p1/signers 404 '{"service_account":"nope"}'
bad POST /v1/projects/nope/signers 404 '{"user":"dave@acme.test"}'
bad DELETE /v1/projects/p1/signers/user/nobody@acme.test 404 -
bad DELETE /v1/projects/p1/signers/user/dave@acme.test 404 -
bad DELETE /v1/projects/p1/signers/robot/dave@acme.test "400|404" -
bad DELETE /v1/projects/nope/signers/user/signer@acme.test 404 -

checkpoint "project"
# ---- keys
K='"project":"p1","name":"k9"'
bad POST /v1/keys 400 '{}'
bad POST /v1/keys 400 "{$K}"
bad POST /v1/keys 400 '{"project":"p1","algorithm":"ecdsa-p256"}'
bad POST /v1/keys 400 '{"name":"k9","algorithm":"ecdsa-p256"}'
bad POST /v1/keys 400 "{$K,\"algorithm\":\"rsa-1024\"}"
bad POST /v1/keys 400 "{$K,\"algorithm\":\"ed25519\"}"
bad POST /v1/keys 400 "{$K,\"algorithm\":5}"
bad POST /v1/keys 400 "{$K,\"algorithm\":\"ecdsa-p256\",\"validity\":\"forever\"}"
bad POST /v1/keys 400 "{$K,\"algorithm\":\"ecdsa-p256\",\"validity\":-1}"
bad POST /v1/keys 400 "{$K,\"algorithm\":\"ecdsa-p256\",\"validity\":0}"
bad POST /v1/keys 400 "{$K,\"algorithm\":\"ecdsa-p256\",\"validity\":true}"
bad POST /v1/keys 400 "{$K,\"algorithm\":\"ecdsa-p256\",\"validity\":1.5}"
bad POST /v1/keys 400 "{$K,\"algorithm\":\"ecdsa-p256\",\"ca\":\"bogus\"}"
bad POST /v1/keys 400 "{$K,\"algorithm\":\"ecdsa-p256\",\"subject\":\"no equals sign\"}"
bad POST /v1/keys 400 "{$K,\"algorithm\":\"ecdsa-p256\",\"subject\":5}"
bad POST /v1/keys 400 "{$K,\"algorithm\":\"ecdsa-p256\",\"allow_sha1\":\"yes\"}"
bad POST /v1/keys 400 "{$K,\"algorithm\":\"ecdsa-p256\",\"bogus\":1}"
bad POST /v1/keys 400 '{"project":"p1","name":"a/b","algorithm":"ecdsa-p256"}'
bad POST /v1/keys 404 '{"project":"nope","name":"k9","algorithm":"ecdsa-p256"}'
bad POST /v1/keys 409 '{"project":"p1","name":"k1","algorithm":"ecdsa-p256"}'
for sub in "" /certificate; do
	bad GET "/v1/keys/skey_0000000000000000$sub" 404 -
	bad GET "/v1/keys/nope$sub" 404 -
done
for op in disable enable revoke; do
	bad POST "/v1/keys/skey_0000000000000000/$op" 404 -
done
bad DELETE /v1/keys/skey_0000000000000000 404 -
bad POST /v1/keys/skey_0000000000000000/csr 404 '{}'
bad PUT /v1/keys/skey_0000000000000000/certificate 404 "{\"chain\":$WRONG_CHAIN}"
bad POST "/v1/keys/$EXT1/csr" 400 '{"subject":5}'
bad POST "/v1/keys/$EXT1/csr" 400 '{"subject":"garbage"}'
bad PUT "/v1/keys/$EXT1/certificate" 400 '{}'
bad PUT "/v1/keys/$EXT1/certificate" 400 '{"chain":5}'
bad PUT "/v1/keys/$EXT1/certificate" 400 '{"chain":"junk"}'
bad PUT "/v1/keys/$EXT1/certificate" 400 "{\"chain\":$WRONG_CHAIN}"
bad PUT "/v1/keys/$EXT1/certificate" 400 "{\"chain\":$OTHER_CHAIN}"
bad PUT "/v1/keys/$EXT1/certificate" 400 "{\"chain\":$(json_file_str "$E2E_DIR/ext1.chain"),\"bogus\":1}"

checkpoint "key"
# ---- signing (as an authorized signer of p1)
S() { bad POST "/v1/keys/$1/sign" "$2" "$3" "$SIGNER_KEY"; }
S "$K1" 400 '{"mechanism":"ecdsa","digest_algorithm":"sha256","digest":"!!!not base64!!!"}'
S "$K1" 400 "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digest\":\"${D32%=}\"}"
S "$K1" 400 "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digest\":\"${D32:0:20} ${D32:20}\"}"
S "$K1" 400 "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digest\":\"$D31\"}"
S "$K1" 400 "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digest\":\"$D33\"}"
S "$K1" 400 "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha384\",\"digest\":\"$D32\"}"
S "$K1" 400 "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digest\":\"$D48\"}"
S "$K1" 400 '{"mechanism":"ecdsa","digest_algorithm":"sha256","digest":""}'
S "$K1" 400 '{"mechanism":"ecdsa","digest_algorithm":"sha256","digest":5}'
S "$K1" 400 "{\"mechanism\":\"rsa-pkcs1\",\"digest_algorithm\":\"sha256\",\"digest\":\"$D32\"}"
S "$K1" 400 "{\"mechanism\":\"rsa-pss\",\"digest_algorithm\":\"sha256\",\"digest\":\"$D32\"}"
S "$R1" 400 "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digest\":\"$D32\"}"
S "$K1" 400 "{\"mechanism\":\"dsa\",\"digest_algorithm\":\"sha256\",\"digest\":\"$D32\"}"
S "$K1" 400 "{\"mechanism\":5,\"digest_algorithm\":\"sha256\",\"digest\":\"$D32\"}"
S "$K1" 400 "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"md5\",\"digest\":\"$(rand_b64 16)\"}"
S "$K1" 400 "{\"digest_algorithm\":\"sha256\",\"digest\":\"$D32\"}"
S "$K1" 400 "{\"mechanism\":\"ecdsa\",\"digest\":\"$D32\"}"
S "$K1" 400 '{"mechanism":"ecdsa","digest_algorithm":"sha256"}'
S "$K1" 400 "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digest\":\"$D32\",\"digests\":[\"$D32\"]}"
S "$K1" 400 '{"mechanism":"ecdsa","digest_algorithm":"sha256","digests":[]}'
S "$K1" 400 "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digests\":[\"$D32\",\"$D31\"]}"
S "$K1" 400 "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digests\":[\"$D32\",5]}"
S "$K1" 400 "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digests\":\"$D32\"}"
S "$K1" "400|413" "@$E2E_DIR/batch65.json"
S "$K1" 413 "@$E2E_DIR/bigsign.json"
S "$K1" 400 "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digest\":\"$D32\",\"bogus\":1}"
S "$K1" 400 "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digest\":\"$D32\",\"client\":\"me\"}"
S "$K1" 400 "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digest\":\"$D32\",\"client\":{\"hostname\":5}}"
S "$K1" 400 "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digest\":\"$D32\",\"client\":{\"bogus\":\"x\"}}"
S "$K1" 400 "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digest\":\"$D32\",\"client\":{\"hostname\":\"$(head -c 257 /dev/zero | tr '\0' h)\"}}"
S "$K1" "400|403" "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha1\",\"digest\":\"$D20\"}"
S "$R1" "400|403" "{\"mechanism\":\"rsa-pkcs1\",\"digest_algorithm\":\"sha1\",\"digest\":\"$D20\"}"
S skey_0000000000000000 404 "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digest\":\"$D32\"}"
S "$K1" 400 "@$E2E_DIR/deep100.json"
# the positive control: the same request shape, well-formed, is accepted
api_q POST "/v1/keys/$K1/sign" "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digest\":\"$D32\"}" "$SIGNER_KEY"
expect_status 200 "well-formed sign request (positive control)"

checkpoint "signing"
# ---- query strings, paths, methods
bad GET "/v1/audit?limit=abc" 400 -
bad GET "/v1/audit?limit=100000" 400 -
bad GET "/v1/audit?limit=-1" 400 -
bad GET "/v1/audit?after=xyz" 400 -
bad GET "/v1/audit?since=yesterday" 400 -
# paging (issue 18): every list's ?limit= and ?cursor=
for path in /v1/projects /v1/teams /v1/keys /v1/users /v1/serviceaccounts /v1/me/keys /v1/audit; do
	for q in limit=1001 limit= cursor=cDEAAmFiYw; do
		bad GET "$path?$q" 400 -
	done
done
bad GET /v1/nope 404 -
bad GET /v1/keys/..%2f..%2fetc%2fpasswd 404 -
bad GET /v1/users/%00 "400|404" -
bad PATCH /v1/users "404|405" '{"email":"x@acme.test"}'
bad DELETE /v1/users "404|405" -

checkpoint "query/path"
# ---- OAuth token endpoint (public): invalid grants and JWTs
bad POST /v1/oauth/token "400|401" '{"grant_type":"urn:ietf:params:oauth:grant-type:jwt-bearer","assertion":"not.a.jwt"}' ""
bad POST /v1/oauth/token "400|401" '{"grant_type":"urn:ietf:params:oauth:grant-type:jwt-bearer","assertion":"eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0."}' ""
bad POST /v1/oauth/token 400 '{"grant_type":"password","assertion":"x"}' ""
bad POST /v1/oauth/token 400 '{}' ""

checkpoint "OAuth"
api_q GET /healthz ""; assert_status 200 "healthz at the end"
# control: the snapshot does see a real change (so "unchanged" above means something)
api_q POST /v1/teams '{"name":"t-control"}' "$ADMIN_KEY"; expect_status 201 "control change"
snapshot >"$E2E_DIR/snap.1"
cmp -s "$E2E_DIR/snap.0" "$E2E_DIR/snap.1" && _e2e_soft_fail "the snapshot does not notice a new team"
db_snapshot >"$E2E_DIR/db.1"
cmp -s "$E2E_DIR/db.0" "$E2E_DIR/db.1" && _e2e_soft_fail "the database snapshot does not notice a new team"
echo "bad_input: $NCASE cases"
api_q GET /v1/audit/verify "" "$ADMIN_KEY"
expect_eq "$(jbody -r .ok)" true "audit chain after the bad input"
e2e_stop_server
expect_hsm_consistent "after the refused key creations"
e2e_done
