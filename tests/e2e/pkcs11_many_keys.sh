#!/bin/bash
# pkcs11_many_keys.sh - issue 18: GET /v1/me/keys pages (100 keys by
# default, 1000 at most), and the module walks every page: a token with
# more keys than a page shows them all, and signs with the last one.
#
# e2e-requires: signetd signet-pkcs11
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/external_tools.bash"
e2e_require_tool pkcs11-tool openssl sqlite3

e2e_start_server acme admin@acme.test
export SIGNET_API_KEY=$ADMIN_KEY
TEN=$(db_query "select id from tenants where name = 'acme'")
api_q POST /v1/projects '{"name":"many"}' "$ADMIN_KEY"; assert_status 201 "project"
api_q POST /v1/projects/many/signers '{"user":"admin@acme.test"}' "$ADMIN_KEY"; assert_status 201 "signer"
# One real key, sorting last ("zz"), and 1234 rows beside it that carry
# its public key (the token lists them; only the real one is in the HSM).
api_q POST /v1/keys '{"project":"many","name":"zz","algorithm":"ecdsa-p256","ca":"none"}' "$ADMIN_KEY"
assert_status 201 "key many/zz"
KEY=$(jbody -r .key.id)
jbody -r .key.public_key >"$E2E_DIR/zz.pub"
db_exec "BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1234)
 INSERT INTO signing_keys (id, tenant_id, project_id, name, algorithm, state, not_before, not_after,
 ca_mode, hsm_key_id, public_key_pem, created_at)
 SELECT 'skey_bulk' || substr(CAST(100000 + i AS TEXT), 2), '$TEN', k.project_id, 'k' || substr(CAST(100000 + i AS TEXT), 2), 'ecdsa-p256', 'active',
 k.not_before, k.not_after, 'none', k.hsm_key_id, k.public_key_pem, k.created_at
 FROM n, signing_keys k WHERE k.id = '$KEY'; COMMIT;"

api_q GET /v1/me/keys "" "$ADMIN_KEY"; assert_status 200 "me/keys"
assert_eq "$(jbody '.keys | length')" 100 "the default page"
[[ $(jbody -r .next_cursor) != null ]] || fail "me/keys: no next_cursor after the first page"

P11="pkcs11-tool --module $SIGNET_PKCS11"
$P11 --list-objects --type privkey >"$E2E_DIR/objs" 2>"$E2E_DIR/objs.err" ||
    fail "pkcs11-tool --list-objects: $(cat "$E2E_DIR/objs.err")"
assert_eq "$(grep -c 'label:' "$E2E_DIR/objs")" 1235 "private keys on the token"
assert_contains "$(cat "$E2E_DIR/objs")" "many/zz" "the last page's key on the token"
head -c 1000 /dev/urandom >"$E2E_DIR/payload.bin"
ID=$(printf '%s' "$KEY" | od -An -tx1 | tr -d ' \n')
$P11 --sign --id "$ID" -m ECDSA-SHA256 --signature-format openssl -i "$E2E_DIR/payload.bin" \
    -o "$E2E_DIR/sig" 2>"$E2E_DIR/sign.err" || fail "pkcs11-tool --sign: $(cat "$E2E_DIR/sign.err")"
openssl dgst -sha256 -verify "$E2E_DIR/zz.pub" -signature "$E2E_DIR/sig" "$E2E_DIR/payload.bin" >/dev/null ||
    fail "the signature by the last page's key does not verify"
e2e_done
