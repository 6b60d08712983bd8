#!/bin/bash
# slow_clients.sh - slow clients cannot lock everyone out: 12 loopback
# source addresses (127.0.0.2-127.0.0.13) x 64 connections that trickle
# one byte a second (more than the 512 connections signetd takes) run for
# 40 s; meanwhile a fresh client from 127.0.0.1 still gets /healthz and a
# signature within a few seconds, every time it tries. The handshake and
# header deadline (10 s) and the eviction of the busiest address's oldest
# incomplete connection make the room.
# e2e-requires: signetd
source "$(dirname "$0")/lib.sh"
e2e_require_tool python3

e2e_start_server
A=$ADMIN_KEY
mk_user s@acme.test; S=$U_KEY
api_q POST /v1/projects '{"name":"p1"}' "$A"; assert_status 201 "project"
api_q POST /v1/projects/p1/signers '{"user":"s@acme.test"}' "$A"; assert_status 201 "signer"
api_q POST /v1/keys '{"project":"p1","name":"k1","algorithm":"ecdsa-p256","ca":"none"}' "$A"; assert_status 201 "key"
K1=$(jbody -r .key.id)
BODY="{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digest\":\"$(rand_b64 32)\"}"

python3 "$(dirname "$0")/slow_clients.py" "$E2E_PORT" 40 12 64 >"$E2E_DIR/slow.out" 2>&1 &
SP=$!
E2E_BG_PIDS=$SP
sleep 12	# every slot the attackers can take is taken by now
ok=0 tries=0
while kill -0 "$SP" 2>/dev/null && ((tries < 8)); do
	tries=$((tries + 1))
	h=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$SIGNET_CA_FILE" "$SIGNET_URL/healthz") || true
	s=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$SIGNET_CA_FILE" \
	    -H "Authorization: Bearer $S" -H 'Content-Type: application/json' --data-binary "$BODY" \
	    "$SIGNET_URL/v1/keys/$K1/sign") || true
	echo "slow_clients: try $tries: healthz ${h:-000} sign ${s:-000}"
	[[ $h == 200 && $s == 200 ]] && ok=$((ok + 1))
	sleep 2
done
wait "$SP"
E2E_BG_PIDS=
cat "$E2E_DIR/slow.out"
((tries >= 5)) || _e2e_soft_fail "only $tries tries while the slow clients ran"
expect_eq "$ok" "$tries" "tries in which a fresh client got /healthz and a signature within 5 s each"
e2e_stop_server
e2e_done
