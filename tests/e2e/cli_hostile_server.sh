#!/bin/bash
# cli_hostile_server.sh - the CLI against a scripted (lying or hostile) HTTPS server
# and at its edges: `signet audit verify` must not be fooled by events a
# real signetd never sends, every error is ONE stderr line even when the
# server's message holds a newline or a terminal escape, listings print no
# control characters, usage errors are one line, and an over-long argument
# is refused (exit 2) instead of being sent as a truncated path.
# e2e-requires: signetd signet
source "$(dirname "$0")/lib.sh"
e2e_require_tool python3 openssl jq

e2e_start_server
must_signet login --url "$SIGNET_URL" --api-key "$ADMIN_KEY" --ca-file "$SIGNET_CA_FILE"
must_signet user create alice@acme.test
must_signet team create t1

# ---- the scripted server: same TLS identity as signetd, answers from a map
FAKE_DIR=$E2E_DIR/fake
mkdir -p "$FAKE_DIR"

FAKE_PID=
start_fake() {	# start_fake: serve $FAKE_DIR/routes.json
	rm -f "$FAKE_DIR/port" "$FAKE_DIR/requests.log"
	python3 "$SIGNET_SOURCE_DIR/tests/e2e/fake_server.py" "$FAKE_DIR" \
		"$D/tls/server.crt" "$D/tls/server.key" \
		2>"$FAKE_DIR/server.err" &
	FAKE_PID=$!
	for _ in $(seq 50); do [[ -s $FAKE_DIR/port ]] && break; sleep 0.1; done
	[[ -s $FAKE_DIR/port ]] || fail "fake server did not start: $(cat "$FAKE_DIR/server.err")"
	FAKE_URL=https://127.0.0.1:$(cat "$FAKE_DIR/port")
}
stop_fake() {
	[[ -n $FAKE_PID ]] && kill "$FAKE_PID" 2>/dev/null && wait "$FAKE_PID" 2>/dev/null
	FAKE_PID=
}
# keep the script's status: _e2e_cleanup exits with the $? it finds
trap 'rc=$?; stop_fake; (exit $rc); _e2e_cleanup' EXIT

# ---- audit verify: an event with a negative seq is a failure, not a skip
# (the real log key and signed checkpoint are served alongside, so the
# events are the only lie)
audit_events "$ADMIN_KEY" >"$E2E_DIR/events.jsonl" || fail "GET /v1/audit"
api GET /v1/audit/log-key "" "$ADMIN_KEY" >"$FAKE_DIR/logkey.json"; assert_status 200 "log key"
api GET /v1/audit/checkpoint "" "$ADMIN_KEY" >"$FAKE_DIR/checkpoint.json"; assert_status 200 "checkpoint"
assert_eq "$(jq -r .size "$FAKE_DIR/checkpoint.json")" "$(wc -l <"$E2E_DIR/events.jsonl")" "checkpoint covers the events"
fake_routes() {	# fake_routes AUDIT_JSON
	jq -n --slurpfile a "$1" --slurpfile k "$FAKE_DIR/logkey.json" --slurpfile c "$FAKE_DIR/checkpoint.json" \
	    '{"/v1/audit": [200, $a[0]], "/v1/audit/log-key": [200, $k[0]], "/v1/audit/checkpoint": [200, $c[0]]}' \
	    >"$FAKE_DIR/routes.json"
}
# (an object value that is a sum needs its own parentheses in jq 1.6: without
# them jq failed, audit.json was empty and the scripted server answered null)
jq -s '{events: ((.[0:1] | map(.seq = -5 | .action = "forged")) + .[1:]), next_after: null}' \
	"$E2E_DIR/events.jsonl" >"$FAKE_DIR/audit.json" || fail "forging the events"
fake_routes "$FAKE_DIR/audit.json"
start_fake
SIGNET_URL=$FAKE_URL run_signet 1 audit verify
expect_contains "$ERR" "seq -5" "audit verify names the forged event"
SIGNET_URL=$FAKE_URL run_signet 1 audit verify --json
expect_eq "$(jq -r .ok <<<"$OUT")" false "audit verify --json .ok with a forged event"
expect_eq "$(jq -r .first_bad_seq <<<"$OUT")" -5 "audit verify --json .first_bad_seq"
stop_fake
# the untouched chain from the same source still verifies
jq -s '{events: ., next_after: null}' "$E2E_DIR/events.jsonl" >"$FAKE_DIR/audit.json" || fail "the events"
fake_routes "$FAKE_DIR/audit.json"
start_fake
SIGNET_URL=$FAKE_URL run_signet 0 audit verify
stop_fake

# ---- one stderr line, no control characters, whatever the server says
ESC=$(printf '\033')
cat >"$FAKE_DIR/routes.json" <<'JSON'
{"/v1/me": [403, {"error": {"code": "forbidden", "message": "line one\nline two \u001b[2J\u001b]0;pwned\u0007"}}],
 "/v1/users": [200, {"users": [{"id": "usr_1", "email": "ev\u001b[31mil\n@x", "role": "user",
                                "disabled": false, "created_at": "2026-01-01T00:00:00Z"}]}]}
JSON
start_fake
SIGNET_URL=$FAKE_URL run_signet 1 whoami	# run_signet checks: exactly one "signet: " line
[[ $ERR != *"$ESC"* ]] || _e2e_soft_fail "whoami: the server's escape sequence reached stderr"
expect_contains "$ERR" "line one" "whoami error keeps the server's message"
SIGNET_URL=$FAKE_URL run_signet 0 user list
[[ $OUT != *"$ESC"* ]] || _e2e_soft_fail "user list: a terminal escape from the server reached stdout"
expect_eq "$(printf '%s\n' "$OUT" | wc -l)" 2 "user list: header + one row, no line break from a cell"
stop_fake

# ---- usage errors: exit 2 and exactly one line
for args in "key create p1" "user frobnicate" "user" "no-such-command" "" \
    "key create p1 k1 --algorithm" "sign --key p1/k" "apikey create --bogus"; do
	# shellcheck disable=SC2086
	run_signet 2 $args
	[[ $(printf '%s\n' "$ERR" | grep -c .) == 1 && $ERR == "signet: "* ]] ||
		_e2e_soft_fail "signet $args: usage error is not one 'signet: ...' line: $ERR"
done

# ---- an argument too long for a request path: refused, nothing sent
long=$(printf 'a%.0s' $(seq 3000))
cat >"$FAKE_DIR/routes.json" <<'JSON'
{}
JSON
start_fake
SIGNET_URL=$FAKE_URL run_signet 2 user disable "$long@acme.test"
SIGNET_URL=$FAKE_URL run_signet 2 team remove-member t1 "$long"
SIGNET_URL=$FAKE_URL run_signet 2 service-account delete "$long"
[[ ! -s $FAKE_DIR/requests.log ]] ||
	_e2e_soft_fail "over-long arguments were sent as requests: $(head -c 300 "$FAKE_DIR/requests.log")"
stop_fake

# ---- the real server still works through the shared helpers
must_signet user disable alice@acme.test
expect_contains "$OUT" "Disabled user alice@acme.test" "user disable"
must_signet team list
expect_contains "$OUT" "t1" "team list"
must_signet apikey list --user admin@acme.test --json
jq -e '.apikeys | length >= 1' >/dev/null <<<"$OUT" || _e2e_soft_fail "apikey list --user: $OUT"

e2e_stop_server
e2e_done
