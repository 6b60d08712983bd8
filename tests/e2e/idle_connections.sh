#!/bin/bash
# idle_connections.sh - one client that opens many TCP connections and never
# speaks (no TLS handshake, "slowloris") must not deny service to other
# clients. The attacker connects from 127.0.0.2, the victim (curl) from
# 127.0.0.1, so a per-client connection limit is what makes this pass.
# e2e-requires: signetd
source "$(dirname "$0")/lib.sh"
e2e_require_tool python3

e2e_start_server
W=$E2E_DIR/work
python3 - "$E2E_PORT" "$W/ready" <<'EOF' &
import socket, sys, time
port, ready = int(sys.argv[1]), sys.argv[2]
socks = []
for i in range(600):
    try:
        s = socket.socket()
        s.bind(("127.0.0.2", 0))
        s.settimeout(2)
        s.connect(("127.0.0.1", port))
        socks.append(s)
    except OSError:
        pass
open(ready, "w").write(str(len(socks)))
time.sleep(25)
EOF
ATTACKER=$!
E2E_BG_PIDS=$ATTACKER
for ((i = 0; i < 300; i++)); do [[ -s $W/ready ]] && break; sleep 0.1; done
[[ -s $W/ready ]] || fail "the idle-connection client did not start"
echo "idle_connections: $(cat "$W/ready") idle connections from 127.0.0.2"
t0=$SECONDS
code=$(curl -s --max-time 10 --cacert "$SIGNET_CA_FILE" -o /dev/null -w '%{http_code}' "$SIGNET_URL/healthz")
expect_eq "$code" 200 "GET /healthz from another client while 127.0.0.2 holds idle connections"
api_q GET /v1/me "" "$ADMIN_KEY"
expect_status 200 "GET /v1/me from another client while 127.0.0.2 holds idle connections"
echo "idle_connections: answered in $((SECONDS - t0)) s"
kill "$ATTACKER" 2>/dev/null
wait "$ATTACKER" 2>/dev/null
E2E_BG_PIDS=
code=$(curl -s --max-time 40 --cacert "$SIGNET_CA_FILE" -o /dev/null -w '%{http_code}' "$SIGNET_URL/healthz")
expect_eq "$code" 200 "GET /healthz after the idle connections closed"
e2e_stop_server
e2e_done
