#!/bin/bash
# cli_service_account.sh - the CLI's service-account path end to end:
# keygen on the "signing machine" (0600, never overwrites, prints only the
# public key), registration by a team owner, `signet login
# --service-account` (the client builds and signs the JWT assertion and
# trades it for an access token by itself), signing as the account, key
# rotation (the old key stops working), deletion.
# e2e-requires: signetd signet
source "$(dirname "$0")/lib.sh"
e2e_require_tool openssl
e2e_start_server

W=$E2E_DIR/work
export SIGNET_API_KEY=$ADMIN_KEY
must_signet user create alice@acme.test
ALICE_KEY=$(tail -n1 <<<"$OUT")
must_signet team create build
must_signet team add-member build alice@acme.test --owner
must_signet project create p1
must_signet key create p1 k1 --algorithm ecdsa-p256
must_signet key create p1 r1 --algorithm rsa-2048

# ---- keygen: offline, 0600, refuses to overwrite, stdout = public key only
must_signet service-account keygen --out "$W/sa.key"
printf '%s\n' "$OUT" >"$W/sa.pub"
expect_eq "$(stat -c %a "$W/sa.key")" 600 "keygen private key mode"
assert_contains "$OUT" "BEGIN PUBLIC KEY" "keygen prints the public key"
assert_not_contains "$OUT" "PRIVATE" "keygen stdout"
openssl pkey -in "$W/sa.key" -noout 2>/dev/null || fail "keygen wrote no private key"
cp "$W/sa.key" "$W/sa.key.orig"
run_signet 1 service-account keygen --out "$W/sa.key"
cmp -s "$W/sa.key" "$W/sa.key.orig" || fail "keygen overwrote an existing key"
run_signet 2 service-account keygen --out "$W/x.key" --algorithm dsa-1024
run_signet 2 service-account keygen
must_signet service-account keygen --out "$W/sa2.key" --algorithm rsa-3072
printf '%s\n' "$OUT" >"$W/sa2.pub"
# a private key is refused where a public key is expected
run_signet 2 service-account create nope --team build --public-key "$W/sa.key"

# ---- registration by a team owner
SIGNET_API_KEY=$ALICE_KEY must_signet service-account create builder --team build \
    --public-key "$W/sa.pub" --json
SA_ID=$(jq -r .service_account.id <<<"$OUT")
[[ $SA_ID == sac_* ]] || fail "service-account create: id '$SA_ID'"
must_signet project add-signer p1 --service-account builder
must_signet service-account list --json
expect_eq "$(jq -r '[.service_accounts[].name] | join(",")' <<<"$OUT")" builder "service-account list"

# ---- login as the service account (a config of its own)
unset SIGNET_API_KEY
export SIGNET_CONFIG=$E2E_DIR/sa.conf
# by name (SPEC); the id is learnt from /v1/me and stored
must_signet login --url "$SIGNET_URL" --service-account builder --key-file "$W/sa.key" \
    --ca-file "$SIGNET_CA_FILE"
expect_contains "$(cat "$SIGNET_CONFIG")" "service_account_id = $SA_ID" "config stores the account id"
# a key that is not the account's: refused, nothing written
SIGNET_CONFIG=$E2E_DIR/bad.conf run_signet 1 login --url "$SIGNET_URL" --service-account builder \
    --key-file "$W/sa2.key" --ca-file "$SIGNET_CA_FILE"
[[ ! -e $E2E_DIR/bad.conf ]] || _e2e_soft_fail "a failed login wrote a config"
expect_eq "$(stat -c %a "$SIGNET_CONFIG")" 600 "service account config mode"
must_signet whoami --json
expect_eq "$(jq -r .type <<<"$OUT")" service_account "whoami type"
expect_eq "$(jq -r .id <<<"$OUT")" "$SA_ID" "whoami id"
must_signet keys --json
expect_eq "$(jq -r '[.keys[].name] | sort | join(",")' <<<"$OUT")" k1,r1 "service account keys"

head -c 100000 /dev/urandom >"$W/data.bin"
for k in k1 r1; do
	must_signet sign --key "p1/$k" --in "$W/data.bin" --out "$W/$k.sig"
	SIGNET_API_KEY=$ADMIN_KEY SIGNET_CONFIG=$E2E_DIR/none "$SIGNET" key show "p1/$k" --json |
	    jq -r .key.public_key >"$W/$k.pub"
	openssl dgst -sha256 -verify "$W/$k.pub" -signature "$W/$k.sig" "$W/data.bin" >/dev/null 2>&1 ||
	    _e2e_soft_fail "$k: signature by the service account does not verify"
done
# a service account is not an admin
run_signet 1 user list

# ---- rotation: the old key stops working, the new one works
SIGNET_API_KEY=$ALICE_KEY SIGNET_CONFIG=$E2E_DIR/none must_signet service-account rotate-key \
    builder --public-key "$W/sa2.pub"
run_signet 1 whoami
SIGNET_CONFIG=$E2E_DIR/sa2.conf must_signet login --url "$SIGNET_URL" --service-account "$SA_ID" \
    --key-file "$W/sa2.key" --ca-file "$SIGNET_CA_FILE"
SIGNET_CONFIG=$E2E_DIR/sa2.conf must_signet sign --key p1/r1 --in "$W/data.bin" --out "$W/r1b.sig"
openssl dgst -sha256 -verify "$W/r1.pub" -signature "$W/r1b.sig" "$W/data.bin" >/dev/null 2>&1 ||
    _e2e_soft_fail "signature after rotation does not verify"

# ---- deletion
SIGNET_API_KEY=$ALICE_KEY SIGNET_CONFIG=$E2E_DIR/none must_signet service-account delete builder
SIGNET_CONFIG=$E2E_DIR/sa2.conf run_signet 1 whoami

# the private keys never appeared in any output
if grep -q "PRIVATE KEY" "$E2E_DIR/responses.log"; then
	_e2e_soft_fail "some signet output contains 'PRIVATE KEY'"
fi
e2e_stop_server
e2e_done
