#!/bin/bash
# http_strict.sh - the HTTP edge refuses what it cannot read unambiguously:
# a control character (even %-encoded, %00 above all) in the path is 400,
# never the path cut short; two Content-Length headers are 400; a body that
# is not JSON on a JSON endpoint is 415 (the token endpoint keeps its form
# encoding); /metrics needs the operator's metrics_token; `signetd serve`
# is not dumpable and writes no core file. Each refusal changes nothing.
# e2e-requires: signetd
source "$(dirname "$0")/lib.sh"
e2e_require_tool python3 setpriv

e2e_start_server
A=$ADMIN_KEY
CURL=(curl -s --max-time 20 --cacert "$SIGNET_CA_FILE" --path-as-is -o "$E2E_DIR/last.body" -w '%{http_code}')
api_q POST /v1/projects '{"name":"p1"}' "$A"; assert_status 201 "project"
api_q POST /v1/keys '{"project":"p1","name":"k1","algorithm":"ecdsa-p256"}' "$A"; assert_status 201 "key"
K1=$(jbody -r .key.id)
# rows, leaving out the two the controls below create (t1, p4)
snap() { db_query "select (select count(*) from projects where name != 'p4')||'/'||(select count(*) from signing_keys where state = 'active')||'/'||(select count(*) from teams where name != 't1')"; }
S0=$(snap)

# ---- control characters in the path
for p in "/v1/keys/$K1%00/sign" "/v1/keys/$K1%00" "/v1/keys/$K1%01" "/v1/keys/$K1%1f" "/v1/keys/$K1%7F" \
    "/v1/keys/$K1%0a" "/v1/me%00" "/healthz%00" "/v1/keys/%00$K1" "/v1/projects/p1%0d%0a"; do
	code=$("${CURL[@]}" -H "Authorization: Bearer $A" "$SIGNET_URL$p") || true
	expect_eq "$code" 400 "GET $p"
	jq -e '.error.code == "invalid_request" and (.error.message|length > 0)' "$E2E_DIR/last.body" \
	    >/dev/null 2>&1 || _e2e_soft_fail "GET $p: error body $(head -c 200 "$E2E_DIR/last.body")"
done
code=$("${CURL[@]}" -X POST -H "Authorization: Bearer $A" -H 'Content-Type: application/json' \
    --data-binary '{}' "$SIGNET_URL/v1/keys/$K1%00/disable") || true
expect_eq "$code" 400 "POST /v1/keys/ID%00/disable"
api_q GET "/v1/keys/$K1" "" "$A"; expect_eq "$(jbody -r .key.state)" active "the key after POST .../ID%00/disable"
# an ordinary percent-encoded path still works
code=$("${CURL[@]}" -H "Authorization: Bearer $A" "$SIGNET_URL/v1/projects/p%31") || true
expect_eq "$code" 200 "GET /v1/projects/p%31"

# ---- two Content-Length headers (raw TLS, curl would not send them)
raw() {	# raw REQUEST-TEXT: prints the status code of the answer
	python3 - "$E2E_PORT" "$SIGNET_CA_FILE" "$1" <<'EOF'
import socket, ssl, sys
port, ca, req = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
s = socket.create_connection(("127.0.0.1", port), timeout=15)
t = ctx.wrap_socket(s, server_hostname="127.0.0.1")
t.sendall(req.replace("\n", "\r\n").encode())
data = b""
try:
    while b"\r\n" not in data:
        chunk = t.recv(4096)
        if not chunk:
            break
        data += chunk
except Exception:
    pass
line = data.split(b"\r\n", 1)[0].decode(errors="replace")
print(line.split(" ")[1] if line.startswith("HTTP/") else "000")
EOF
}
body='{"name":"t1"}'
code=$(raw "POST /v1/teams HTTP/1.1
Host: x
Authorization: Bearer $A
Content-Type: application/json
Content-Length: ${#body}
Content-Length: ${#body}

$body")
expect_eq "$code" 400 "two equal Content-Length headers"
code=$(raw "POST /v1/teams HTTP/1.1
Host: x
Authorization: Bearer $A
Content-Type: application/json
Content-Length: 2
Content-Length: ${#body}

$body")
expect_eq "$code" 400 "two different Content-Length headers"
code=$(raw "POST /v1/teams HTTP/1.1
Host: x
Authorization: Bearer $A
Content-Type: application/json
Content-Length: ${#body}
Connection: close

$body")
expect_eq "$code" 201 "one Content-Length header (control)"

# ---- non-JSON bodies on JSON endpoints: 415
for ct in "application/x-www-form-urlencoded" "text/plain" "application/xml" "multipart/form-data; boundary=x" \
    "application/jsonx" "text/json"; do
	code=$("${CURL[@]}" -X POST -H "Authorization: Bearer $A" -H "Content-Type: $ct" \
	    --data-binary 'name=p2' "$SIGNET_URL/v1/projects") || true
	expect_eq "$code" 415 "POST /v1/projects name=p2 as $ct"
	expect_eq "$(jq -r .error.code "$E2E_DIR/last.body" 2>/dev/null)" unsupported_media_type "415 error code"
	code=$("${CURL[@]}" -X POST -H "Authorization: Bearer $A" -H "Content-Type: $ct" \
	    --data-binary '{"name":"p3"}' "$SIGNET_URL/v1/projects") || true
	expect_eq "$code" 415 "POST /v1/projects JSON text as $ct"
done
code=$("${CURL[@]}" -X POST -H "Authorization: Bearer $A" -H 'Content-Type: application/json; charset=utf-8' \
    --data-binary '{"name":"p4"}' "$SIGNET_URL/v1/projects") || true
expect_eq "$code" 201 "POST /v1/projects as application/json; charset=utf-8"
# the token endpoint still takes its form (a bad grant, but read as a form: 400)
code=$("${CURL[@]}" --data-urlencode 'grant_type=password' --data-urlencode 'assertion=x' \
    "$SIGNET_URL/v1/oauth/token") || true
expect_eq "$code" 400 "POST /v1/oauth/token as a form"
expect_eq "$(jq -r .error.code "$E2E_DIR/last.body")" invalid_request "token endpoint form error code"
expect_eq "$(snap)" "$S0" "database after the refused requests (projects/keys/teams)"

# ---- /metrics needs the operator's metrics_token
MT=$(sed -n 's/^[[:space:]]*metrics_token[[:space:]]*=[[:space:]]*//p' "$D/signetd.conf")
[[ ${#MT} -ge 32 ]] || _e2e_soft_fail "signetd init wrote no metrics_token into signetd.conf"
code=$("${CURL[@]}" "$SIGNET_URL/metrics") || true
expect_eq "$code" 401 "GET /metrics without a credential"
code=$("${CURL[@]}" -H "Authorization: Bearer $A" "$SIGNET_URL/metrics") || true
expect_eq "$code" 401 "GET /metrics with a tenant admin's API key"
code=$("${CURL[@]}" -H "Authorization: Bearer ${MT}x" "$SIGNET_URL/metrics") || true
expect_eq "$code" 401 "GET /metrics with a wrong token"
code=$("${CURL[@]}" -H "Authorization: Bearer $MT" "$SIGNET_URL/metrics") || true
expect_eq "$code" 200 "GET /metrics with the metrics_token"
grep -q '^signet_signatures_total ' "$E2E_DIR/last.body" || _e2e_soft_fail "/metrics with the token: no counters"
code=$("${CURL[@]}" -H "Authorization: Bearer $MT" "$SIGNET_URL/v1/me") || true
expect_eq "$code" 401 "the metrics_token is no API credential (/v1/me)"
grep -q -F -- "$MT" "$D/server.log" && _e2e_soft_fail "the metrics_token is in the server log"

# ---- not dumpable, no core files
expect_eq "$(awk '/^Max core file size/ {print $5 "/" $6}' "/proc/$SERVER_PID/limits")" "0/0" \
    "core file size limit of signetd serve"
e2e_stop_server
# Dumpability is visible only to another process of the same, unprivileged
# user: run the server as nobody and look at its /proc entries from nobody.
chown -R 65534:65534 "$D" "$E2E_DIR"
rm -f "$D/port"
setpriv --reuid 65534 --regid 65534 --clear-groups "$SIGNETD" serve --data-dir "$D" --listen 127.0.0.1:0 \
    --port-file "$D/port" >>"$D/server.log" 2>&1 &
SERVER_PID=$!
for ((i = 0; i < 300; i++)); do [[ -s $D/port ]] && break; sleep 0.1; done
[[ -s $D/port ]] || fail "signetd as nobody did not start"
sleep 0.5
expect_eq "$(stat -c %u "/proc/$SERVER_PID/environ")" 0 "owner of /proc/PID/environ of signetd serve (0 = not dumpable)"
if setpriv --reuid 65534 --regid 65534 --clear-groups cat "/proc/$SERVER_PID/environ" >/dev/null 2>&1; then
	_e2e_soft_fail "another process of the same user can read signetd's /proc/PID/environ"
fi
e2e_stop_server
e2e_done
