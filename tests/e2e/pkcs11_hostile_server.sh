#!/bin/bash
# pkcs11_hostile_server.sh - signet-pkcs11.so against a scripted HTTPS server
# (fake_server.py): whatever the service answers, the module's diagnostic
# stays ONE line (a newline or a terminal escape in the server's message
# must not start a second line or reach the terminal), at C_Initialize and
# at C_Sign, and the module writes nothing to stdout.
# e2e-requires: signetd signet-pkcs11
source "$(dirname "$0")/lib.sh"
# sanitizer builds: external tools that load the module get the ASan runtime
source "$(dirname "$0")/external_tools.bash"
e2e_require_tool pkcs11-tool python3 jq

M=$SIGNET_PKCS11
W=$E2E_DIR/work
cd "$W" || fail "cd $W"
p11tool() { timeout 60 pkcs11-tool --module "$M" "$@"; }

e2e_start_server
api_q POST /v1/projects '{"name":"app"}' "$ADMIN_KEY"; assert_status 201 "create project"
api_q POST /v1/keys '{"project":"app","name":"rsa-key","algorithm":"rsa-2048"}' "$ADMIN_KEY"
assert_status 201 "create key"
KEY_ID=$(jbody -r .key.id)
api_q POST /v1/projects/app/signers '{"user":"admin@acme.test"}' "$ADMIN_KEY"
assert_status 201 "add signer"
api_q GET /v1/me/keys "" "$ADMIN_KEY"; assert_status 200 "GET /v1/me/keys"
cp "$E2E_DIR/last.body" mekeys.json
export SIGNET_API_KEY=$ADMIN_KEY

FAKE_DIR=$E2E_DIR/fake
mkdir -p "$FAKE_DIR"
FAKE_PID=
start_fake() {
	rm -f "$FAKE_DIR/port" "$FAKE_DIR/requests.log"
	python3 "$SIGNET_SOURCE_DIR/tests/e2e/fake_server.py" "$FAKE_DIR" \
		"$D/tls/server.crt" "$D/tls/server.key" 2>"$FAKE_DIR/server.err" &
	FAKE_PID=$!
	for _ in $(seq 50); do [[ -s $FAKE_DIR/port ]] && break; sleep 0.1; done
	[[ -s $FAKE_DIR/port ]] || fail "fake server did not start: $(cat "$FAKE_DIR/server.err")"
	export SIGNET_URL=https://127.0.0.1:$(cat "$FAKE_DIR/port")
}
stop_fake() {
	[[ -n $FAKE_PID ]] && kill "$FAKE_PID" 2>/dev/null && wait "$FAKE_PID" 2>/dev/null
	FAKE_PID=
}
# keep the script's status: _e2e_cleanup exits with the $? it finds
trap 'rc=$?; stop_fake; (exit $rc); _e2e_cleanup' EXIT

ESC=$(printf '\033')
EVIL='line one\nline two \u001b[2J\u001b]0;pwned\u0007'
# check_diag FILE WHAT [N]: exactly one module line (N: one per failed
# request), nothing split off it.
check_diag() {
	local n
	n=$(grep -c '^signet-pkcs11: ' "$1")
	[[ $n == "${3:-1}" ]] || _e2e_soft_fail "$2: expected ${3:-1} 'signet-pkcs11:' line(s), got $n: $(cat "$1")"
	grep -q '^line two' "$1" && _e2e_soft_fail "$2: the server's newline split the module's line: $(cat "$1")"
	grep -q "$ESC" "$1" && _e2e_soft_fail "$2: a terminal escape from the server reached stderr"
	expect_contains "$(cat "$1")" "line one" "$2: the server's message is kept"
}

# ---- refused at C_Initialize
cat >"$FAKE_DIR/routes.json" <<JSON
{"/v1/me": [401, {"error": {"code": "unauthenticated", "message": "$EVIL"}}]}
JSON
start_fake
p11tool --list-objects >out.txt 2>err.txt
rc=$?
[[ $rc != 0 && $rc != 124 ]] || _e2e_soft_fail "pkcs11-tool against a refusing server: exit $rc"
check_diag err.txt "refused at C_Initialize"
grep -q 'signet-pkcs11' out.txt && _e2e_soft_fail "module wrote to stdout"
stop_fake

# ---- refused at C_Sign
jq -n --slurpfile k mekeys.json --arg sign "/v1/keys/$KEY_ID/sign" --arg evil "$(printf "$EVIL")" \
	'{"/v1/me": [200, {"type": "user"}], "/v1/me/keys": [200, $k[0]],
	  ($sign): [403, {"error": {"code": "forbidden", "message": $evil}}]}' >"$FAKE_DIR/routes.json"
start_fake
head -c 100 /dev/urandom >data.bin
p11tool --sign --mechanism SHA256-RSA-PKCS --label app/rsa-key --input-file data.bin \
	--output-file sig.bin >out.txt 2>err.txt
rc=$?
[[ $rc != 0 && $rc != 124 ]] || _e2e_soft_fail "pkcs11-tool sign against a refusing server: exit $rc"
grep -q "POST /v1/keys/$KEY_ID/sign" "$FAKE_DIR/requests.log" ||
	_e2e_soft_fail "the module never asked the fake server to sign: $(cat "$FAKE_DIR/requests.log")"
# pkcs11-tool tries C_Sign, then C_SignUpdate + C_SignFinal: two refused
# requests, one line each
check_diag err.txt "refused at C_Sign" "$(grep -c "^POST /v1/keys/$KEY_ID/sign" "$FAKE_DIR/requests.log")"
[[ -s sig.bin ]] && _e2e_soft_fail "a signature file was written after a refusal"
stop_fake

# ---- the key a search names (?key=): a lying or refusing answer fails
# C_FindObjectsInit with one line and shows no key; a credential refused
# after C_Initialize is CKR_PIN_EXPIRED
# find_case WHAT RV ROUTES-JSON: pkcs11-tool --sign --id against ROUTES
find_case() {
	printf '%s' "$3" >"$FAKE_DIR/routes.json"
	start_fake
	p11tool --sign --mechanism SHA256-RSA-PKCS --id "$(printf '%s' "$KEY_ID" | od -An -tx1 | tr -d ' \n')" \
		--input-file data.bin --output-file sig.bin >out.txt 2>err.txt
	rc=$?
	[[ $rc != 0 && $rc != 124 ]] || _e2e_soft_fail "$1: pkcs11-tool exit $rc"
	grep -q "GET /v1/me/keys?key=$KEY_ID" "$FAKE_DIR/requests.log" ||
		_e2e_soft_fail "$1: the module did not ask for the key: $(cat "$FAKE_DIR/requests.log")"
	grep -q "POST " "$FAKE_DIR/requests.log" && _e2e_soft_fail "$1: the module tried to sign"
	if [[ $1 == *answered* ]]; then
		[[ $(grep -c '^signet-pkcs11: ' err.txt) == 1 ]] ||
			_e2e_soft_fail "$1: expected one 'signet-pkcs11:' line: $(cat err.txt)"
	else
		check_diag err.txt "$1"
	fi
	expect_contains "$(cat err.txt)" "$2" "$1: pkcs11-tool reports $2"
	[[ -s sig.bin ]] && _e2e_soft_fail "$1: a signature file was written"
	grep -q 'signet-pkcs11' out.txt && _e2e_soft_fail "$1: module wrote to stdout"
	stop_fake
	rm -f sig.bin
}
K1=$(jq -c '.keys[0]' mekeys.json)
find_case "?key= refused (401)" CKR_PIN_EXPIRED \
	"{\"/v1/me\": [200, {}], \"/v1/me/keys?key=$KEY_ID\": [401, {\"error\": {\"code\": \"unauthenticated\", \"message\": \"$EVIL\"}}]}"
find_case "?key= unavailable (503)" CKR_DEVICE_ERROR \
	"{\"/v1/me\": [200, {}], \"/v1/me/keys?key=$KEY_ID\": [503, {\"error\": {\"code\": \"unavailable\", \"message\": \"$EVIL\"}}]}"
# two keys for one name, keys not a list, no keys member: not an answer to ?key=
for bad in "{\"keys\": [$K1, $K1]}" '{"keys": "no"}' '{"key": []}' '[1]'; do
	find_case "?key= answered $bad" CKR_FUNCTION_FAILED \
		"{\"/v1/me\": [200, {}], \"/v1/me/keys?key=$KEY_ID\": [200, $bad]}"
done

e2e_stop_server
e2e_done
