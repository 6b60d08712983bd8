#!/bin/bash
# webhooks_scale.sh - the webhook queue shared by several `signetd serve`
# on one database (three on PostgreSQL, two on SQLite; docs/OPERATIONS.md
# "Webhooks: outbound HTTPS"): approval requests made through every
# instance are each delivered exactly once (one event id, one 2xx at the
# receiver, one recorded attempt), although every instance's sender polls
# the same queue: a delivery is claimed by one instance (guarded UPDATE).
# e2e-requires: signetd signet
source "$(dirname "$0")/lib.sh"
e2e_require_tool openssl python3

N=2
[[ $E2E_DB == pg ]] && N=3
M=24
W=$E2E_DIR/work
R=$E2E_DIR/recv
RECV_PY=$(dirname "$0")/webhooks_receiver.py
mkdir -p "$R"
cd "$W" || fail "cd $W"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -addext basicConstraints=critical,CA:TRUE \
    -keyout "$R/key.pem" -out "$R/cert.pem" 2>/dev/null || fail "openssl req"
python3 "$RECV_PY" "$R" s slow >"$R/s.out" 2>&1 &
E2E_BG_PIDS=$!
for ((i = 0; i < 100; i++)); do [[ -s $R/s.port ]] && break; sleep 0.1; done
[[ -s $R/s.port ]] || fail "receiver did not start: $(cat "$R/s.out")"
RP=$(cat "$R/s.port")

e2e_init
printf 'webhook_ca_file = %s\nwebhook_retry_base = 1\n' "$R/cert.pem" >>"$D/signetd.conf"
A=$ADMIN_KEY
SIGNET_CA_FILE=$D/server-ca.pem
export SIGNET_CA_FILE
declare -a PIDS PORTS
scale_cleanup() {
	local rc=$? i
	for i in "${!PIDS[@]}"; do
		[[ -n ${PIDS[$i]} ]] && _e2e_kill_server "${PIDS[$i]}"
	done
	(exit "$rc")
	_e2e_cleanup
}
trap scale_cleanup EXIT
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
start_instance() {
	local i=$1 k code
	PORTS[$i]=$(free_port)
	"$SIGNETD" serve --data-dir "$D" --listen "127.0.0.1:${PORTS[$i]}" >>"$D/server.$i.log" 2>&1 &
	PIDS[$i]=$!
	for ((k = 0; k < 300; k++)); do
		kill -0 "${PIDS[$i]}" 2>/dev/null || fail "instance $i exited early: $(tail -5 "$D/server.$i.log")"
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
		    --cacert "$SIGNET_CA_FILE" "https://127.0.0.1:${PORTS[$i]}/healthz" || true)
		[[ $code == 200 ]] && return 0
		sleep 0.1
	done
	fail "instance $i did not answer /healthz within 30 s"
}
at() { local i=$1; shift; SIGNET_URL=https://127.0.0.1:${PORTS[$i]} api "$@"; }
for ((i = 0; i < N; i++)); do start_instance "$i"; done
ln -sf "$D/server.0.log" "$D/server.log"
SIGNET_URL=https://127.0.0.1:${PORTS[0]}

api_q POST /v1/projects '{"name":"p"}' "$A"; assert_status 201 "project"
mk_user s@acme.test; S=$U_KEY
mk_user r1@acme.test
api_q POST /v1/teams '{"name":"rel"}' "$A"; assert_status 201 "team"
api_q POST /v1/teams/rel/members '{"user":"r1@acme.test"}' "$A"; assert_status 200 "r1 joins rel"
api_q POST /v1/projects/p/signers '{"user":"s@acme.test"}' "$A"; assert_status 201 "signer s"
api_q POST /v1/keys '{"project":"p","name":"k","algorithm":"ecdsa-p256","ca":"none"}' "$A"; assert_status 201 "key"
K=$(jbody -r .key.id)
api_q PUT "/v1/keys/$K/policy" '{"approval":{"team":"rel"}}' "$A"; assert_status 200 "policy"
api_q POST /v1/webhooks "{\"url\":\"https://127.0.0.1:$RP/hook\",\"events\":[\"approval.requested\"]}" "$A"
assert_status 201 "webhook"
WH=$(jbody -r .webhook.id)
jbody -r .secret >"$R/s.secret"

# M approval requests, round robin over the instances, two at a time
for ((j = 0; j < M; j += 2)); do
	pids=()
	for k in 0 1; do
		curl -s --max-time 60 --cacert "$SIGNET_CA_FILE" -H "Authorization: Bearer $S" \
		    -H 'Content-Type: application/json' -o /dev/null -w '%{http_code}\n' \
		    --data-binary "$(printf '{"mechanism":"ecdsa","digest_algorithm":"sha256","digest":"%s"}' "$(head -c 32 /dev/urandom | base64 -w0)")" \
		    "https://127.0.0.1:${PORTS[$(((j + k) % N))]}/v1/keys/$K/sign" >>"$W/codes" &
		pids+=($!)
	done
	wait "${pids[@]}"
done
expect_eq "$(grep -c 202 "$W/codes")" "$M" "$M approval requests (202)"
for ((i = 0; i < 300; i++)); do
	n=$(wc -l <"$R/s.log" 2>/dev/null || echo 0)
	((n >= M)) && break
	sleep 0.1
done
sleep 3	# a duplicate, if any, has time to arrive
expect_eq "$(wc -l <"$R/s.log")" "$M" "$M events, $M requests at the receiver"
expect_eq "$(jq -r .event_id <"$R/s.log" | sort -u | wc -l)" "$M" "each event once"
expect_eq "$(jq -r .sig_ok <"$R/s.log" | sort -u)" true "every request signed"
expect_eq "$(db_query "SELECT COUNT(*) FROM webhook_deliveries WHERE webhook_id = '$WH' AND state = 'delivered' AND attempts = 1")" "$M" "each delivered at its first attempt"
expect_eq "$(db_query "SELECT COUNT(*) FROM webhook_attempts")" "$M" "one attempt recorded each"
api_q GET /v1/audit/verify "" "$A"; expect_eq "$(jbody -r .ok)" true "audit chain"
e2e_done
