#!/bin/bash
# cli_basics.sh - the real `signet` CLI against a real signetd: login,
# users, API keys, teams, projects, keys, --json output and exit codes
# (0 ok, 1 refused, 2 usage, 3 network/TLS).
# e2e-requires: signetd signet
source "$(dirname "$0")/lib.sh"
e2e_require_tool openssl

e2e_start_server
# The CLI must work from its config file alone: keep URL/CA as shell
# variables for api() but do not pass them to signet.
export -n SIGNET_URL SIGNET_CA_FILE

KEY_RE='^snk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$'

# ---- usage errors: exit 2, before any network traffic
run_signet 2
run_signet 2 no-such-command
run_signet 2 user create
run_signet 2 user frobnicate
run_signet 2 key create p1
run_signet 2 key create p1 k1 --algorithm
run_signet 2 project add-owner p1
run_signet 2 apikey create --expires not-a-duration
run_signet 2 login --url "$SIGNET_URL"

# ---- login
must_signet login --url "$SIGNET_URL" --api-key "$ADMIN_KEY" --ca-file "$SIGNET_CA_FILE"
[[ -f $SIGNET_CONFIG ]] || fail "signet login wrote no config at \$SIGNET_CONFIG"
expect_eq "$(stat -c %a "$SIGNET_CONFIG")" 600 "config file mode"
assert_not_contains "$OUT$ERR" "${ADMIN_KEY#snk_*_}" "signet login output (secret)"

# the default location: ~/.config/signet/config, directory 0700
mkdir -p "$E2E_DIR/home"
HOME=$E2E_DIR/home env -u SIGNET_CONFIG "$SIGNET" login --url "$SIGNET_URL" --api-key "$ADMIN_KEY" \
    --ca-file "$SIGNET_CA_FILE" >/dev/null 2>&1 || _e2e_soft_fail "signet login with HOME and no SIGNET_CONFIG"
expect_eq "$(stat -c %a "$E2E_DIR/home/.config/signet/config" 2>&1)" 600 "~/.config/signet/config mode"
expect_eq "$(stat -c %a "$E2E_DIR/home/.config/signet" 2>&1)" 700 "~/.config/signet directory mode"
HOME=$E2E_DIR/home env -u SIGNET_CONFIG "$SIGNET" whoami >/dev/null 2>&1 ||
    _e2e_soft_fail "signet whoami from ~/.config/signet/config"

must_signet whoami
expect_contains "$OUT" admin@acme.test "whoami"
must_signet whoami --json
expect_eq "$(jq -r .email <<<"$OUT")" admin@acme.test "whoami --json .email"
expect_eq "$(jq -r .role <<<"$OUT")" admin "whoami --json .role"
expect_eq "$(jq -r .tenant.name <<<"$OUT")" acme "whoami --json .tenant.name"

# ---- users
must_signet user create alice@acme.test
ALICE_KEY=$(tail -n1 <<<"$OUT")
[[ $ALICE_KEY =~ $KEY_RE ]] || fail "user create: last stdout line is not an API key: '$ALICE_KEY'"
must_signet user create carol@acme.test
CAROL_KEY=$(tail -n1 <<<"$OUT")
must_signet user create dave@acme.test --role user
DAVE_KEY=$(tail -n1 <<<"$OUT")
must_signet user create erin@acme.test --role admin
ERIN_KEY=$(tail -n1 <<<"$OUT")
[[ $CAROL_KEY =~ $KEY_RE && $DAVE_KEY =~ $KEY_RE && $ERIN_KEY =~ $KEY_RE ]] ||
    fail "user create: keys not on the last line"
run_signet 1 user create alice@acme.test	# duplicate -> 409 -> exit 1
run_signet 1 user create not-an-email

must_signet user list
expect_contains "$OUT" alice@acme.test "user list"
assert_not_contains "$OUT" "${ALICE_KEY#snk_*_}" "user list (secret)"
must_signet user list --json
expect_eq "$(jq -r '[.users[].email] | sort | join(",")' <<<"$OUT")" \
    "admin@acme.test,alice@acme.test,carol@acme.test,dave@acme.test,erin@acme.test" "user list --json"
expect_eq "$(jq -r '.users[] | select(.email=="erin@acme.test") | .role' <<<"$OUT")" admin "erin's role"
expect_eq "$(jq -r '.users[] | select(.email=="dave@acme.test") | .role' <<<"$OUT")" user "dave's role"

SIGNET_API_KEY=$ERIN_KEY run_signet 0 whoami --json
expect_eq "$(jq -r .role <<<"$OUT")" admin "new admin erin can log in"
must_signet user disable erin@acme.test
SIGNET_API_KEY=$ERIN_KEY run_signet 1 whoami
api_q GET /v1/me "" "$ERIN_KEY"; expect_status 401 "disabled user's key"
must_signet user list --json
expect_eq "$(jq -r '.users[] | select(.email=="erin@acme.test") | .disabled' <<<"$OUT")" true "erin disabled"
run_signet 1 user disable nobody@acme.test
# a plain user may not manage users
SIGNET_API_KEY=$DAVE_KEY run_signet 1 user create x@acme.test
SIGNET_API_KEY=$DAVE_KEY run_signet 1 user list

# ---- API keys (as alice)
export SIGNET_API_KEY=$ALICE_KEY
must_signet apikey create
A2=$(tail -n1 <<<"$OUT")
[[ $A2 =~ $KEY_RE ]] || fail "apikey create: last line is not a key: '$A2'"
A2_ID=key_$(cut -d_ -f2 <<<"$A2")
must_signet apikey create --expires 1h
A3=$(tail -n1 <<<"$OUT")
A3_ID=key_$(cut -d_ -f2 <<<"$A3")
must_signet apikey list --json
expect_eq "$(jq -r --arg id "$A2_ID" '[.apikeys[] | select(.id==$id)] | length' <<<"$OUT")" 1 "new key in apikey list"
exp=$(jq -r --arg id "$A3_ID" '.apikeys[] | select(.id==$id) | .expires_at' <<<"$OUT")
[[ $exp != null && -n $exp ]] || _e2e_soft_fail "apikey --expires 1h: expires_at is '$exp'"
if [[ -n $exp && $exp != null ]]; then
	d=$(($(date -d "$exp" +%s) - $(date +%s)))
	((d > 3500 && d <= 3601)) || _e2e_soft_fail "apikey --expires 1h: expires in ${d}s"
fi
must_signet apikey list
expect_contains "$OUT" "$A2_ID" "apikey list (human)"
assert_not_contains "$OUT" "${A2#snk_*_}" "apikey list (secret)"
SIGNET_API_KEY=$A2 run_signet 0 whoami
run_signet 0 apikey revoke "$A2_ID"
SIGNET_API_KEY=$A2 run_signet 1 whoami
api_q GET /v1/me "" "$A2"; expect_status 401 "revoked API key"
must_signet apikey list --json
expect_eq "$(jq -r --arg id "$A2_ID" '.apikeys[] | select(.id==$id) | .revoked_at != null' <<<"$OUT")" true "revoked_at set"
# another user's key: carol cannot revoke alice's
SIGNET_API_KEY=$CAROL_KEY run_signet 1 apikey revoke "$A3_ID"
SIGNET_API_KEY=$A3 run_signet 0 whoami
run_signet 1 apikey revoke key_0000000000000000
unset SIGNET_API_KEY

# ---- teams
must_signet team create t1
run_signet 1 team create t1
must_signet team add-member t1 alice@acme.test --owner
must_signet team add-member t1 carol@acme.test
must_signet team add-member t1 dave@acme.test
must_signet team remove-member t1 dave@acme.test
run_signet 1 team add-member t1 nobody@acme.test
run_signet 1 team add-member no-such-team alice@acme.test
must_signet team list --json
expect_eq "$(jq -r '.teams[] | select(.name=="t1") | [.members[].email] | sort | join(",")' <<<"$OUT")" \
    "alice@acme.test,carol@acme.test" "team t1 members"
expect_eq "$(jq -r '.teams[] | select(.name=="t1") | .members[] | select(.email=="alice@acme.test") | .owner' <<<"$OUT")" \
    true "alice is team owner"
must_signet team list
expect_contains "$OUT" t1 "team list (human)"
# the team owner manages members; a plain member does not
SIGNET_API_KEY=$ALICE_KEY run_signet 0 team add-member t1 dave@acme.test
SIGNET_API_KEY=$ALICE_KEY run_signet 0 team remove-member t1 dave@acme.test
SIGNET_API_KEY=$CAROL_KEY run_signet 1 team add-member t1 dave@acme.test
SIGNET_API_KEY=$DAVE_KEY run_signet 1 team create t2

# ---- projects
must_signet project create p1
run_signet 1 project create p1
must_signet project create p2
must_signet project add-owner p1 --user alice@acme.test
must_signet project add-signer p1 --team t1
must_signet project add-signer p1 --user dave@acme.test
run_signet 2 project add-signer p1
run_signet 1 project add-signer p1 --user nobody@acme.test
must_signet project signers p1 --json
expect_eq "$(jq -r '[.signers[] | "\(.type):\(.name)"] | sort | join(",")' <<<"$OUT")" \
    "team:t1,user:dave@acme.test" "project signers p1"
must_signet project remove-signer p1 --user dave@acme.test
must_signet project signers p1 --json
expect_eq "$(jq -r '[.signers[] | "\(.type):\(.name)"] | sort | join(",")' <<<"$OUT")" \
    "team:t1" "project signers after remove-signer"
must_signet project signers p1
expect_contains "$OUT" t1 "project signers (human)"
must_signet project list --json
expect_eq "$(jq -r '[.projects[].name] | sort | join(",")' <<<"$OUT")" p1,p2 "project list"
SIGNET_API_KEY=$ALICE_KEY run_signet 0 project list --json
expect_eq "$(jq -r '[.projects[].name] | sort | join(",")' <<<"$OUT")" p1 "alice's project list"
SIGNET_API_KEY=$DAVE_KEY run_signet 0 project list --json
expect_eq "$(jq -r '[.projects[].name] | join(",")' <<<"$OUT")" "" "dave's project list"
SIGNET_API_KEY=$CAROL_KEY run_signet 1 project add-signer p1 --user dave@acme.test

# ---- keys: one per algorithm; the owner (alice) creates them
declare -A BITS=([rsa-2048]=2048 [rsa-3072]=3072 [rsa-4096]=4096 [ecdsa-p256]=256 [ecdsa-p384]=384)
export SIGNET_API_KEY=$ALICE_KEY
for alg in rsa-2048 rsa-3072 rsa-4096 ecdsa-p256 ecdsa-p384; do
	must_signet key create p1 "k-$alg" --algorithm "$alg" --validity 30d
	must_signet key show "p1/k-$alg" --json
	expect_eq "$(jq -r .key.algorithm <<<"$OUT")" "$alg" "key show $alg .algorithm"
	expect_eq "$(jq -r .key.state <<<"$OUT")" active "key show $alg .state"
	expect_eq "$(jq -r .key.project.name <<<"$OUT")" p1 "key show $alg .project.name"
	expect_eq "$(jq -r .key.ca <<<"$OUT")" builtin "key show $alg .ca"
	expect_contains "$(jq -r .key.pkcs11_uri <<<"$OUT")" "pkcs11:" "key show $alg .pkcs11_uri"
	assert_not_contains "$OUT" "PRIVATE KEY" "key show"
	jq -r .key.public_key <<<"$OUT" >"$E2E_DIR/pub.pem"
	bits=$(openssl pkey -pubin -in "$E2E_DIR/pub.pem" -text -noout 2>/dev/null | grep -o '[0-9]* bit' | head -n1)
	expect_eq "$bits" "${BITS[$alg]} bit" "public key size of $alg"
	nb=$(date -d "$(jq -r .key.not_before <<<"$OUT")" +%s) na=$(date -d "$(jq -r .key.not_after <<<"$OUT")" +%s)
	d=$((na - nb))
	((d >= 30 * 86400 - 120 && d <= 30 * 86400 + 120)) ||
	    _e2e_soft_fail "key $alg --validity 30d: not_after - not_before = ${d}s"
	jq -r .key.certificate <<<"$OUT" >"$E2E_DIR/cert.pem"
	cpub=$(openssl x509 -in "$E2E_DIR/cert.pem" -noout -pubkey 2>/dev/null)
	expect_eq "$cpub" "$(cat "$E2E_DIR/pub.pem")" "certificate of $alg holds the key's public key"
done
run_signet 1 key create p1 k-rsa-2048 --algorithm rsa-2048	# duplicate
run_signet "1|2" key create p1 k-bad --algorithm rsa-1024
run_signet 1 key create no-such-project k --algorithm ecdsa-p256
must_signet key list --project p1 --json
expect_eq "$(jq -r '[.keys[].name] | sort | join(",")' <<<"$OUT")" \
    "k-ecdsa-p256,k-ecdsa-p384,k-rsa-2048,k-rsa-3072,k-rsa-4096" "key list --project p1"
must_signet key list
expect_contains "$OUT" k-ecdsa-p256 "key list (human)"
KID=$(SIGNET_API_KEY=$ADMIN_KEY "$SIGNET" key show p1/k-ecdsa-p256 --json | jq -r .key.id)
[[ $KID == skey_* ]] || _e2e_soft_fail "key id '$KID'"
must_signet key show "$KID" --json
expect_eq "$(jq -r .key.name <<<"$OUT")" k-ecdsa-p256 "key show by id"
run_signet 1 key show p1/no-such-key
must_signet key disable p1/k-ecdsa-p256
must_signet key show p1/k-ecdsa-p256 --json
expect_eq "$(jq -r .key.state <<<"$OUT")" disabled "state after disable"
must_signet key enable p1/k-ecdsa-p256
must_signet key show p1/k-ecdsa-p256 --json
expect_eq "$(jq -r .key.state <<<"$OUT")" active "state after enable"
# signers (carol, via t1) see the keys but may not manage them; dave sees none
SIGNET_API_KEY=$CAROL_KEY run_signet 0 key show p1/k-ecdsa-p256 --json
SIGNET_API_KEY=$CAROL_KEY run_signet 1 key disable p1/k-ecdsa-p256
SIGNET_API_KEY=$CAROL_KEY run_signet 1 key create p1 k-x --algorithm ecdsa-p256
SIGNET_API_KEY=$DAVE_KEY run_signet 1 key show p1/k-ecdsa-p256
SIGNET_API_KEY=$DAVE_KEY run_signet 0 key list --json
expect_eq "$(jq -r '.keys | length' <<<"$OUT")" 0 "dave's key list"
# the keys a signer may use, with PKCS#11 URIs
SIGNET_API_KEY=$CAROL_KEY run_signet 0 keys
expect_contains "$OUT" "pkcs11:" "signet keys shows PKCS#11 URIs"
expect_contains "$OUT" k-ecdsa-p256 "signet keys"
SIGNET_API_KEY=$CAROL_KEY run_signet 0 keys --json
expect_eq "$(jq -r '.keys | length' <<<"$OUT")" 5 "signet keys --json (carol)"
unset SIGNET_API_KEY
# certificates and the CA (as the admin)
must_signet cert p1/k-ecdsa-p256
expect_eq "$(grep -c 'BEGIN CERTIFICATE' <<<"$OUT")" 1 "signet cert: one certificate"
must_signet cert p1/k-ecdsa-p256 --chain
printf '%s\n' "$OUT" >"$E2E_DIR/chain.pem"
n=$(grep -c 'BEGIN CERTIFICATE' <<<"$OUT")
((n >= 2)) || _e2e_soft_fail "signet cert --chain: $n certificate(s)"
must_signet ca cert
printf '%s\n' "$OUT" >"$E2E_DIR/root.pem"
must_signet cert p1/k-ecdsa-p256
printf '%s\n' "$OUT" >"$E2E_DIR/leaf.pem"
openssl verify -CAfile "$E2E_DIR/root.pem" -untrusted "$E2E_DIR/chain.pem" -purpose any \
    "$E2E_DIR/leaf.pem" >/dev/null 2>&1 ||
    _e2e_soft_fail "the key's certificate does not chain to 'signet ca cert'"
must_signet ca list --json
expect_eq "$(jq -r '[.cas[].role] | sort | join(",")' <<<"$OUT")" issuing,root "ca list roles"
must_signet ca list
must_signet audit list --json
n=$(jq '.events | length' <<<"$OUT")
((n > 10)) || _e2e_soft_fail "audit list --json: $n events"
must_signet audit list --key p1/k-ecdsa-p256 --json
expect_eq "$(jq -r --arg id "$KID" '[.events[] | select(.object_id != $id)] | length' <<<"$OUT")" 0 \
    "audit list --key only shows that key's events"
must_signet audit verify
SIGNET_API_KEY=$DAVE_KEY run_signet 1 audit list
unset SIGNET_API_KEY

# ---- every --json output parses
for cmd in "whoami" "user list" "apikey list" "team list" "project list" "project signers p1" \
    "key list" "key show p1/k-rsa-2048" "keys" "ca list" "audit list"; do
	# shellcheck disable=SC2086
	if run_signet 0 $cmd --json; then
		jq -e . >/dev/null 2>&1 <<<"$OUT" || _e2e_soft_fail "signet $cmd --json: not JSON: ${OUT:0:200}"
	fi
done

# ---- network / TLS failures: exit 3
# a port nothing listens on (the server's port + 0 is taken, so use a fresh closed one)
closed_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null || echo 1)
SIGNET_URL=https://127.0.0.1:$closed_port run_signet 3 whoami
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$E2E_DIR/other.key" \
    -out "$E2E_DIR/other-ca.pem" -subj /CN=other -days 1 2>/dev/null || fail "openssl req"
SIGNET_CA_FILE=$E2E_DIR/other-ca.pem run_signet 3 whoami
SIGNET_URL=https://localhost.invalid:1 run_signet 3 whoami

# ---- logout
must_signet logout
run_signet "1|2" whoami
if [[ -f $SIGNET_CONFIG ]] && grep -q -F -- "${ADMIN_KEY#snk_*_}" "$SIGNET_CONFIG"; then
	_e2e_soft_fail "signet logout left the API key in the config file"
fi

# API keys are stored hashed, never in clear, never logged (SPEC §6.4)
for k in "$ADMIN_KEY" "$ALICE_KEY" "$CAROL_KEY" "$DAVE_KEY" "$ERIN_KEY" "$A2" "$A3"; do
	expect_secret_not_stored "$k" "API key ${k:0:20}..."
done
expect_eq "$(db_query "select count(*) from api_keys where length(secret_hash) != 32" 2>&1)" 0 \
    "api_keys.secret_hash is a 32-byte SHA-256"
# no CLI output ever held a private key
if grep -q "PRIVATE KEY" "$E2E_DIR/responses.log"; then
	_e2e_soft_fail "some signet output contains 'PRIVATE KEY'"
fi
e2e_stop_server
e2e_done
