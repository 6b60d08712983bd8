#!/bin/bash
# pkcs11_failures.sh - how signet-pkcs11.so fails: a clear CKR_* code, one
# "signet-pkcs11: ..." line on stderr (or in the configured log_file), no
# signature and no hang, when the API key is revoked (before and after
# C_Initialize), the key is disabled after C_Initialize, the server stops
# during a session, or the server is down at C_Initialize.
#
# e2e-requires: signetd signet-pkcs11
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/external_tools.bash"
e2e_require_tool pkcs11-tool

M=$SIGNET_PKCS11
BIN=$(dirname "$M")
W=$E2E_DIR/work
cd "$W" || fail "cd $W"

e2e_start_server

api_q POST /v1/projects '{"name":"app"}' "$ADMIN_KEY"
assert_status 201 "create project"
api_q POST /v1/keys '{"project":"app","name":"rsa-key","algorithm":"rsa-2048"}' "$ADMIN_KEY"
assert_status 201 "create key"
KEY_ID=$(jbody -r .key.id)
mk_user dev@acme.test
DEV_KEY=$U_KEY
api_q POST /v1/projects/app/signers '{"user":"dev@acme.test"}' "$ADMIN_KEY"
assert_status 201 "add signer"
# A second API key of dev's, to revoke.
api_q POST /v1/apikeys '{"description":"pkcs11 e2e"}' "$DEV_KEY"
assert_status 201 "create second API key"
K2=$(jbody -r .key)
K2_ID=$(jbody -r .id)
export SIGNET_API_KEY=$DEV_KEY

# one_line FILE WHAT: FILE holds exactly one module diagnostic line.
one_line() {
	local n
	n=$(grep -c '^signet-pkcs11: ' "$1")
	[[ $n == 1 ]] || _e2e_soft_fail "$2: expected one 'signet-pkcs11:' line, got $n: $(cat "$1")"
}

# The --wait-sign driver: C_Initialize now, C_Sign when told.
wait_sign_start() {	# wait_sign_start: sets WS_PID, opens fd 7
	local i
	rm -f ws.in ws.out ws.err
	mkfifo ws.in
	"$BIN/signet_p11_threads" --wait-sign "$M" app/rsa-key <ws.in >ws.out 2>ws.err &
	WS_PID=$!
	E2E_BG_PIDS="${E2E_BG_PIDS:-} $WS_PID"
	exec 7>ws.in
	for ((i = 0; i < 300; i++)); do
		grep -q '^ready' ws.out 2>/dev/null && return 0
		kill -0 "$WS_PID" 2>/dev/null || break
		sleep 0.1
	done
	fail "p11_threads --wait-sign did not get ready: $(cat ws.out ws.err)"
}
wait_sign_finish() {	# -> WS_RC, WS_RV; fails if the module hangs > 90 s
	local i
	echo go >&7
	exec 7>&-
	for ((i = 0; i < 900; i++)); do
		kill -0 "$WS_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$WS_PID" 2>/dev/null; then
		kill "$WS_PID"
		fail "C_Sign hung for 90 s"
	fi
	wait "$WS_PID"
	WS_RC=$?
	WS_RV=$(sed -n 's/^rv=//p' ws.out)
}

# ---- control: the driver signs ----
wait_sign_start
wait_sign_finish
expect_eq "$WS_RC/$WS_RV" "0/0x0" "control signature"
[[ -s ws.err ]] && _e2e_soft_fail "module wrote to stderr on success: $(cat ws.err)"

# ---- API key revoked after C_Initialize: CKR_USER_NOT_LOGGED_IN ----
SIGNET_API_KEY=$K2 wait_sign_start
api_q DELETE "/v1/apikeys/$K2_ID" "" "$DEV_KEY"
# (checked through the listing: the answer's status is the API tests' job)
api_q GET /v1/apikeys "" "$DEV_KEY"
[[ $(jbody -r --arg id "$K2_ID" '.apikeys[] | select(.id == $id) | .revoked_at') != null ]] ||
    fail "the second API key was not revoked"
wait_sign_finish
expect_eq "$WS_RC/$WS_RV" "3/0x101" "sign with a revoked API key (CKR_USER_NOT_LOGGED_IN)"
one_line ws.err "revoked API key at C_Sign"

# ---- API key revoked before C_Initialize: C_Initialize fails ----
head -c 1000 /dev/urandom >data.bin
rm -f sig.bin
SIGNET_API_KEY=$K2 timeout 60 pkcs11-tool --module "$M" --sign --mechanism SHA256-RSA-PKCS \
    --input-file data.bin --output-file sig.bin >out.txt 2>err.txt
rc=$?
[[ $rc != 0 && $rc != 124 ]] || _e2e_soft_fail "pkcs11-tool with a revoked API key: exit $rc"
expect_contains "$(cat err.txt)" "CKR_PIN_INCORRECT" "revoked API key at C_Initialize"
one_line err.txt "revoked API key at C_Initialize"
[[ -s sig.bin ]] && _e2e_soft_fail "a signature was written with a revoked API key"
grep -q 'signet-pkcs11' out.txt && _e2e_soft_fail "module wrote to stdout"

# ---- key disabled after C_Initialize: CKR_FUNCTION_REJECTED ----
wait_sign_start
api_q POST "/v1/keys/$KEY_ID/disable" "" "$ADMIN_KEY"
expect_status 200 "disable key"
wait_sign_finish
expect_eq "$WS_RC/$WS_RV" "3/0x200" "sign with a disabled key (CKR_FUNCTION_REJECTED)"
one_line ws.err "disabled key at C_Sign"
api_q POST "/v1/keys/$KEY_ID/enable" "" "$ADMIN_KEY"
expect_status 200 "enable key"
# A disabled key is not on the token at all.
api_q POST "/v1/keys/$KEY_ID/disable" "" "$ADMIN_KEY"
pkcs11-tool --module "$M" --list-objects >objs.txt 2>&1
grep -q 'rsa-key' objs.txt && _e2e_soft_fail "a disabled key is listed on the token"
api_q POST "/v1/keys/$KEY_ID/enable" "" "$ADMIN_KEY"

# ---- server stops during a session: CKR_DEVICE_ERROR, no hang ----
wait_sign_start
e2e_stop_server
wait_sign_finish
expect_eq "$WS_RC/$WS_RV" "3/0x30" "sign with the server stopped (CKR_DEVICE_ERROR)"
one_line ws.err "server stopped at C_Sign"

# ---- server down at C_Initialize ----
rm -f sig.bin
timeout 60 pkcs11-tool --module "$M" --list-objects >out.txt 2>err.txt
rc=$?
[[ $rc != 0 && $rc != 124 ]] || _e2e_soft_fail "pkcs11-tool with the server down: exit $rc"
expect_contains "$(cat err.txt)" "CKR_DEVICE_ERROR" "server down at C_Initialize"
one_line err.txt "server down at C_Initialize"

# ---- log_file from the config receives the line instead of stderr ----
cat >"$W/client.conf" <<EOF
url = $SIGNET_URL
api_key = $DEV_KEY
ca_file = $SIGNET_CA_FILE
log_file = $W/module.log
EOF
chmod 600 "$W/client.conf"
SIGNET_CONFIG=$W/client.conf SIGNET_API_KEY= SIGNET_URL= \
    timeout 60 pkcs11-tool --module "$M" --list-objects >out.txt 2>err.txt
grep -q '^signet-pkcs11: ' err.txt && _e2e_soft_fail "module wrote to stderr although log_file is set"
one_line "$W/module.log" "log_file"

e2e_done
