#!/bin/bash
# ci_flow.sh - the whole CI signing flow of a service account, end to end,
# with nothing but the real CLI, the real module and osslsigncode:
#   1. the signing machine makes its key pair (signet service-account keygen);
#   2. an admin creates the account in a team and makes it a signer of a project;
#   3. the signing machine logs in with its key file (JWT bearer grant, no human);
#   4. osslsigncode signs a PE through signet-pkcs11.so (certificate from the token);
#   5. osslsigncode verifies it against the built-in root.
# Then: the account can manage nothing, and rotate-key cuts it off at once.
# e2e-requires: signetd signet signet-pkcs11
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/external_tools.bash"
e2e_require_tool osslsigncode openssl

M=$SIGNET_PKCS11
BIN=$(dirname "$M")
W=$E2E_DIR/work
cd "$W" || fail "cd $W"
e2e_start_server

# The admin's CLI configuration and the signing machine's are separate files,
# as two parallel CI jobs on one machine would keep them.
ADMIN_CONF=$W/admin.conf
MACHINE_CONF=$W/machine.conf
admin() { SIGNET_CONFIG=$ADMIN_CONF SIGNET_API_KEY= must_signet "$@"; }
machine() { SIGNET_CONFIG=$MACHINE_CONF SIGNET_API_KEY= SIGNET_URL= SIGNET_CA_FILE= "$@"; }

SIGNET_CONFIG=$ADMIN_CONF SIGNET_API_KEY= must_signet login --url "$SIGNET_URL" \
    --api-key "$ADMIN_KEY" --ca-file "$SIGNET_CA_FILE"

# 1. key pair on the signing machine; the private key never leaves it
machine must_signet service-account keygen --out "$W/ci.key"
printf '%s\n' "$OUT" >"$W/ci.pub"
assert_contains "$OUT" "BEGIN PUBLIC KEY" "keygen prints the public key"
assert_eq "$(stat -c %a "$W/ci.key")" 600 "private key file mode"
openssl pkey -in "$W/ci.key" -pubout 2>/dev/null | cmp -s - "$W/ci.pub" ||
    fail "keygen's printed public key does not match its private key"

# 2. the admin registers the account and authorizes it
admin team create release-eng
admin service-account create ci-builder --team release-eng --public-key "$W/ci.pub"
admin project create desktop-app
admin key create desktop-app authenticode --algorithm rsa-3072 --validity 30d --ca builtin
admin project add-signer desktop-app --service-account ci-builder
admin ca cert
printf '%s\n' "$OUT" >"$W/root.pem"
admin cert desktop-app/authenticode --chain
printf '%s\n' "$OUT" >"$W/chain.pem"

# 3. the machine logs in with its key file only
machine must_signet login --url "$SIGNET_URL" --service-account ci-builder \
    --key-file "$W/ci.key" --ca-file "$SIGNET_CA_FILE"
assert_eq "$(stat -c %a "$MACHINE_CONF")" 600 "machine config file mode"
grep -q "BEGIN" "$MACHINE_CONF" && fail "the config file holds key material"
machine must_signet whoami --json
assert_eq "$(jq -r .type <<<"$OUT")" service_account "whoami type"
machine must_signet keys --json
URI=$(jq -r '.keys[] | select(.name == "authenticode") | .pkcs11_uri' <<<"$OUT")
[[ $URI == pkcs11:* ]] || fail "signet keys shows no PKCS#11 URI for the key: $OUT"

# 4. osslsigncode signs a PE through the module, certificate from the token
"$BIN/signet_mkpe" app.exe "ci flow" || fail "signet_mkpe"
ENGINE=
for e in /usr/lib/*/engines-3/pkcs11.so /usr/lib/*/engines-3/libpkcs11.so; do
	[[ -f $e ]] && { ENGINE=$e; break; }
done
awk '/BEGIN CERT/{n++} n>=2' "$W/chain.pem" >"$W/cas.pem"	# chain minus the leaf
args=(-pkcs11module "$M" -pkcs11cert "${URI/type=private/type=cert}" -key "$URI"
    -h sha256 -ac "$W/cas.pem" -n "Signet CI flow" -in app.exe -out app-signed.exe)
[[ -n $ENGINE ]] && args=(-pkcs11engine "$ENGINE" "${args[@]}")
SIGNET_CONFIG=$MACHINE_CONF SIGNET_API_KEY= osslsigncode sign "${args[@]}" >sign.out 2>&1 ||
    fail "osslsigncode sign through the module: $(tail -n5 sign.out)"

# 5. verify against the built-in root only
osslsigncode verify -in app-signed.exe -CAfile "$W/root.pem" >verify.out 2>&1 ||
    fail "osslsigncode verify: $(tail -n8 verify.out)"
assert_contains "$(cat verify.out)" "Signature verification: ok" "osslsigncode verify"
assert_contains "$(cat verify.out)" "CN=authenticode" "signer is the project key"

# The signature is in the audit trail with the account as actor.
admin audit list --json --key desktop-app/authenticode
expect_eq "$(jq '[.events[] | select(.action == "key.sign" and .result == "ok"
    and .actor_type == "service_account")] | length >= 1' <<<"$OUT")" true \
    "key.sign audit event by the service account"

# The account manages nothing.
machine run_signet 1 project create sneaky
machine run_signet 1 key create desktop-app sneaky --algorithm ecdsa-p256
machine run_signet 1 project add-signer desktop-app --service-account ci-builder

# rotate-key: the old key pair stops working at once, the new one works.
machine must_signet service-account keygen --out "$W/ci2.key"
printf '%s\n' "$OUT" >"$W/ci2.pub"
admin service-account rotate-key ci-builder --public-key "$W/ci2.pub"
machine run_signet 1 keys
machine must_signet login --url "$SIGNET_URL" --service-account ci-builder \
    --key-file "$W/ci2.key" --ca-file "$SIGNET_CA_FILE"
machine must_signet keys --json
expect_contains "$OUT" authenticode "keys after logging in with the rotated key"

admin audit verify
e2e_stop_server
e2e_done
