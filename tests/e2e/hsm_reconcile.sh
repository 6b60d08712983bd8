#!/bin/bash
# hsm_reconcile.sh - no orphaned HSM keys after a crash: `signetd serve` is
# killed with SIGKILL five times while rsa-4096 keys are being created (its
# keeper, left alone, finishes the generations in flight); after each
# restart every private key on the token has its row (signing key or CA)
# and every row its key.
# e2e-requires: signetd
source "$(dirname "$0")/lib.sh"
e2e_require_tool pkcs11-tool

e2e_start_server
A=$ADMIN_KEY
W=$E2E_DIR/work
api_q POST /v1/projects '{"name":"p1"}' "$A"; assert_status 201 "project"

creator() {	# creator ROUND ID: create keys until the server is gone
	local i=0 code
	while :; do
		code=$(curl -s --max-time 60 --cacert "$SIGNET_CA_FILE" -H "Authorization: Bearer $A" \
		    -H 'Content-Type: application/json' -o /dev/null -w '%{http_code}' \
		    --data-binary "{\"project\":\"p1\",\"name\":\"r$1-c$2-$i\",\"algorithm\":\"rsa-4096\",\"ca\":\"none\"}" \
		    "$SIGNET_URL/v1/keys") || true
		echo "${code:-000}" >>"$W/codes.$1"
		[[ ${code:-000} == 000 ]] && return 0
		i=$((i + 1))
	done
}

for round in 1 2 3 4 5; do
	creator "$round" 1 &
	c1=$!
	creator "$round" 2 &
	c2=$!
	E2E_BG_PIDS="$c1 $c2"
	# let generations get under way (rsa-4096 takes a while), then crash
	sleep "$(awk -v r="$round" 'BEGIN {print 1.2 + r * 0.35}')"
	kp=$(e2e_keeper_pid) || kp=
	kill -KILL "$SERVER_PID"
	wait "$SERVER_PID" 2>/dev/null
	SERVER_PID=
	wait "$c1" "$c2"
	E2E_BG_PIDS=
	# the keeper finishes what it was doing, sees EOF and exits
	for ((i = 0; i < 600; i++)); do
		[[ -n $kp && -d /proc/$kp && $(cut -d' ' -f3 "/proc/$kp/stat" 2>/dev/null) != Z ]] || break
		sleep 0.1
	done
	[[ -n $kp && -d /proc/$kp && $(cut -d' ' -f3 "/proc/$kp/stat" 2>/dev/null) != Z ]] &&
	    fail "round $round: the old keeper did not exit within 60 s"
	echo "hsm_reconcile: round $round: $(sort "$W/codes.$round" | uniq -c | tr '\n' ' ')"
	e2e_serve
done
grep -h "destroyed .* HSM key" "$D/server.log" | head -n 5
e2e_stop_server
expect_hsm_consistent "after five kills during key creation"
n=$(db_query "select count(*) from hsm_pending")
expect_eq "$n" 0 "hsm_pending rows left after the sweeps"
e2e_done
