#!/bin/bash
# webhooks.sh - approval notifications to HTTPS receivers (docs/POLICIES.md
# "Webhooks"), end to end with receivers this test starts on loopback
# (webhooks_receiver.py, python3 http.server + ssl, trusted through the
# webhook_ca_file config key):
#   - `signet webhook add URL --events …` (admins; the secret once, on the
#     last line), list, remove, deliveries; garbage refused, non-admins 403;
#   - approval.requested (a signing request, and declared digests),
#     approval.decided (approved, denied), approval.expired: each an HTTPS
#     POST whose X-Signet-Signature is the HMAC-SHA256 of the body under
#     the secret (the receiver checks it), with X-Signet-Event and
#     X-Signet-Event-Id;
#   - a receiver that fails first: retried with backoff under the same
#     event id, every attempt recorded (status, http code, time);
#   - the queue survives a restart; a receiver that hangs does not slow
#     the signing path; the secret never appears in the server's log.
# e2e-requires: signetd signet
source "$(dirname "$0")/lib.sh"
e2e_require_tool openssl python3

W=$E2E_DIR/work
R=$E2E_DIR/recv
RECV_PY=$(dirname "$0")/webhooks_receiver.py
mkdir -p "$R"
cd "$W" || fail "cd $W"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -addext basicConstraints=critical,CA:TRUE \
    -keyout "$R/key.pem" -out "$R/cert.pem" 2>/dev/null || fail "openssl req"

start_recv() {	# start_recv NAME MODE: sets PORT_<NAME>
	python3 "$RECV_PY" "$R" "$1" "$2" >"$R/$1.out" 2>&1 &
	E2E_BG_PIDS="${E2E_BG_PIDS:-} $!"
	for ((i = 0; i < 100; i++)); do [[ -s $R/$1.port ]] && break; sleep 0.1; done
	[[ -s $R/$1.port ]] || fail "receiver $1 did not start: $(cat "$R/$1.out")"
	printf -v "PORT_$1" '%s' "$(cat "$R/$1.port")"
}
start_recv a ok
start_recv b fail:2
start_recv h hang

e2e_init
printf 'webhook_ca_file = %s\nwebhook_retry_base = 1\nwebhook_max_attempts = 4\n' "$R/cert.pem" >>"$D/signetd.conf"
e2e_serve
A=$ADMIN_KEY
must_signet login --url "$SIGNET_URL" --api-key "$A" --ca-file "$SIGNET_CA_FILE"

api_q POST /v1/projects '{"name":"p"}' "$A"; assert_status 201 "project"
mk_user s@acme.test; S=$U_KEY
mk_user r1@acme.test; R1=$U_KEY
api_q POST /v1/teams '{"name":"rel"}' "$A"; assert_status 201 "team"
api_q POST /v1/teams/rel/members '{"user":"r1@acme.test"}' "$A"; assert_status 200 "r1 joins rel"
api_q POST /v1/projects/p/signers '{"user":"s@acme.test"}' "$A"; assert_status 201 "signer s"
api_q POST /v1/keys '{"project":"p","name":"k","algorithm":"ecdsa-p256","ca":"none"}' "$A"; assert_status 201 "key"
K=$(jbody -r .key.id)
api_q PUT "/v1/keys/$K/policy" '{"approval":{"team":"rel","approvals":1,"ttl":"1h"}}' "$A"; assert_status 200 "policy"

# ---- add (the secret alone on the last line)
must_signet webhook add "https://127.0.0.1:$PORT_a/hook" --events approval.requested,approval.decided,approval.expired
SECRET_A=$(printf '%s\n' "$OUT" | tail -n1)
[[ $SECRET_A == whsec_* ]] || fail "webhook add: the last line is not the secret: $OUT"
printf '%s' "$SECRET_A" >"$R/a.secret"
WA=$(printf '%s\n' "$OUT" | sed -n 's/^webhook  *//p')
must_signet webhook add "https://127.0.0.1:$PORT_b/hook" --events approval.requested --json
WB=$(jq -r .webhook.id <<<"$OUT")
jq -r .secret <<<"$OUT" >"$R/b.secret"
must_signet webhook list --json
expect_eq "$(jq '.webhooks | length' <<<"$OUT")" 2 "two webhooks"
expect_eq "$(jq -r "[.webhooks[] | select(.id == \"$WA\") | .events[]] | join(\",\")" <<<"$OUT")" \
    approval.requested,approval.decided,approval.expired "events listed"
expect_eq "$(grep -c whsec_ <<<"$OUT")" 0 "the list shows no secret"

wait_log() {	# wait_log NAME JQ-FILTER COUNT [SECONDS]: until COUNT lines match
	local i n=0
	for ((i = 0; i < ${4:-20} * 10; i++)); do
		n=$( [[ -f $R/$1.log ]] && jq -c "select($2)" <"$R/$1.log" | wc -l || echo 0)
		((n >= $3)) && return 0
		sleep 0.1
	done
	_e2e_soft_fail "receiver $1: $n of $3 requests matching $2 (log: $(tail -c 600 "$R/$1.log" 2>/dev/null))"
	return 1
}

# ---- approval.requested
api_q POST "/v1/keys/$K/sign" "$(printf '{"mechanism":"ecdsa","digest_algorithm":"sha256","digest":"%s","client":{"hostname":"build-7"}}' "$(head -c 32 /dev/urandom | base64 -w0)")" "$S"
assert_status 202 "approval requested"
AP=$(jbody -r .approval.id)
wait_log a ".event == \"approval.requested\" and .body.data.id == \"$AP\"" 1
expect_eq "$(jq -c "select(.body.data.id == \"$AP\") | [.sig_ok, .body.type, .body.data.state, .body.data.request.client.hostname, (.event_id == .body.id)]" <"$R/a.log" | head -1)" \
    '[true,"approval.requested","pending","build-7",true]' "a: signed body, event id header"
# b fails twice, then takes it: three attempts, one event id
wait_log b ".event == \"approval.requested\" and .status == 204" 1 30
expect_eq "$(jq -r "select(.body.data.id == \"$AP\") | .status" <"$R/b.log" | paste -sd,)" 500,500,204 "b: retried after two failures"
expect_eq "$(jq -r "select(.body.data.id == \"$AP\") | .event_id" <"$R/b.log" | sort -u | wc -l)" 1 "the same event id on every attempt"
expect_eq "$(jq -r "select(.body.data.id == \"$AP\") | .sig_ok" <"$R/b.log" | sort -u)" true "b: every attempt signed"
must_signet webhook deliveries "$WB" --json
expect_eq "$(jq -c '[.deliveries[0].state, .deliveries[0].attempts, [.deliveries[0].attempt_log[].http_status]]' <<<"$OUT")" \
    '["delivered",3,[500,500,204]]' "b: every attempt recorded"
t1=$(jq -r '.deliveries[0].attempt_log[0].at' <<<"$OUT"); t3=$(jq -r '.deliveries[0].attempt_log[2].at' <<<"$OUT")
(( $(date -d "$t3" +%s) - $(date -d "$t1" +%s) >= 3 )) || _e2e_soft_fail "backoff: attempts 1 and 3 at $t1 and $t3 (want >= 1 s + 2 s apart)"
expect_contains "$(jq -r '.deliveries[0].attempt_log[0].error' <<<"$OUT")" "500" "the failed attempt's error"
must_signet webhook deliveries "$WB"
expect_contains "$OUT" "delivered" "deliveries table"

# ---- approval.decided (approved)
api_q POST "/v1/approvals/$AP/approve" '{"comment":"ok"}' "$R1"; assert_status 200 "approved"
wait_log a ".event == \"approval.decided\" and .body.data.id == \"$AP\"" 1
expect_eq "$(jq -c "select(.event == \"approval.decided\" and .body.data.id == \"$AP\") | [.sig_ok, .body.data.state]" <"$R/a.log")" \
    '[true,"approved"]' "decided: approved"
# b subscribed to approval.requested only
sleep 1
expect_eq "$(jq -c 'select(.event != "approval.requested")' <"$R/b.log" | wc -l)" 0 "b got only its events"

# ---- declared digests, denied
head -c 100 /dev/urandom >f.bin
SIGNET_API_KEY=$S run_signet 0 approval request p/k --in f.bin --json
AP2=$(jq -r .approval.id <<<"$OUT")
wait_log a ".event == \"approval.requested\" and .body.data.id == \"$AP2\"" 1
api_q POST "/v1/approvals/$AP2/deny" '{"reason":"not a release"}' "$R1"; assert_status 200 "denied"
wait_log a ".event == \"approval.decided\" and .body.data.id == \"$AP2\" and .body.data.state == \"denied\"" 1

# ---- approval.expired (the TTL ran out: moved into the past here)
api_q POST "/v1/keys/$K/sign" "$(printf '{"mechanism":"ecdsa","digest_algorithm":"sha256","digest":"%s"}' "$(head -c 32 /dev/urandom | base64 -w0)")" "$S"
assert_status 202 "another approval"
AP3=$(jbody -r .approval.id)
db_exec "UPDATE approvals SET expires_at = 1 WHERE id = '$AP3'"
wait_log a ".event == \"approval.expired\" and .body.data.id == \"$AP3\"" 1
expect_eq "$(jq -r "select(.event == \"approval.expired\") | .body.data.id" <"$R/a.log" | grep -c "$AP3")" 1 "expired notified once"
expect_eq "$(jq -c "select(.event == \"approval.expired\") | [.sig_ok, .body.data.state, .body.data.key.name, .body.data.requested_by.name]" <"$R/a.log")" \
    '[true,"expired","k","s@acme.test"]' "expired: the approval object"

# ---- the queue survives a restart: queued while signetd is down
e2e_stop_server
n_before=$(jq -c 'select(.event == "approval.requested")' <"$R/a.log" | wc -l)
db_exec "UPDATE approvals SET expiry_notified = 0 WHERE id = '$AP3'"
e2e_serve
wait_log a ".event == \"approval.expired\" and .body.data.id == \"$AP3\"" 2
api_q GET /v1/approvals/$AP3 "" "$A"; expect_eq "$(jbody -r .approval.state)" expired "expired"

# ---- a receiver that hangs never slows the signing path
must_signet webhook add "https://127.0.0.1:$PORT_h/hook" --events approval.requested --json
WH=$(jq -r .webhook.id <<<"$OUT")
jq -r .secret <<<"$OUT" >"$R/h.secret"
api_q POST "/v1/keys/$K/sign" "$(printf '{"mechanism":"ecdsa","digest_algorithm":"sha256","digest":"%s"}' "$(head -c 32 /dev/urandom | base64 -w0)")" "$S"
assert_status 202 "request while a receiver hangs"
sleep 1
t0=$(date +%s%N)
for i in 1 2 3; do
	api_q POST "/v1/keys/$K/sign" "$(printf '{"mechanism":"ecdsa","digest_algorithm":"sha256","digest":"%s"}' "$(head -c 32 /dev/urandom | base64 -w0)")" "$S"
	expect_status 202 "request $i while the sender waits on the hanging receiver"
done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
((ms < 3000)) || _e2e_soft_fail "3 signing requests took $ms ms while a receiver hung"

# ---- who, and garbage
api_q GET /v1/webhooks "" "$S"; expect_status 403 "a user cannot list webhooks"
api_q POST /v1/webhooks '{"url":"https://127.0.0.1:1/x","events":["approval.requested"]}' "$R1"; expect_status 403 "a user cannot add one"
api_q GET "/v1/webhooks/$WA/deliveries" "" "$S"; expect_status 403 "a user cannot see deliveries"
bad() { api_q POST /v1/webhooks "$1" "$A"; expect_status 400 "webhook add: $2"; check_error_shape; }
bad '{"events":["approval.requested"]}' "no url"
bad '{"url":"https://127.0.0.1:1/x"}' "no events"
bad '{"url":"http://127.0.0.1:1/x","events":["approval.requested"]}' "http"
bad '{"url":"ftp://x/","events":["approval.requested"]}' "ftp"
bad '{"url":"https://","events":["approval.requested"]}' "no host"
bad '{"url":"https://a b/","events":["approval.requested"]}' "a space"
bad '{"url":"https://x/\u0001","events":["approval.requested"]}' "a control character"
bad "{\"url\":\"https://x/$(head -c 3000 /dev/zero | tr '\0' a)\",\"events\":[\"approval.requested\"]}" "too long"
bad '{"url":7,"events":["approval.requested"]}' "url a number"
bad '{"url":"https://x/","events":[]}' "empty events"
bad '{"url":"https://x/","events":["key.sign"]}' "unknown event"
bad '{"url":"https://x/","events":["approval.requested","approval.requested"]}' "repeated event"
bad '{"url":"https://x/","events":[1]}' "event a number"
bad '{"url":"https://x/","events":"approval.requested,,"}' "empty name in a list"
bad '{"url":"https://x/","events":{"a":1}}' "events an object"
bad '{"url":"https://x/","events":["approval.requested"],"secret":"mine"}' "unknown field"
bad '[]' "not an object"
api_q GET "/v1/webhooks/$WA/deliveries?limit=0" "" "$A"; expect_status 400 "deliveries limit=0"
api_q GET "/v1/webhooks/whk_nosuch/deliveries" "" "$A"; expect_status 404 "deliveries of no webhook"
run_signet 2 webhook add "https://127.0.0.1:1/x"  # no --events
run_signet 2 webhook add "http://127.0.0.1:1/x" --events approval.requested  # not https
run_signet 2 webhook add --events approval.requested  # no URL
run_signet 1 webhook add "https://127.0.0.1:1/x" --events nonsense  # server refuses
run_signet 2 webhook remove  # no id
run_signet 1 webhook remove whk_nosuch  # no such webhook
must_signet webhook list --json
expect_eq "$(jq '.webhooks | length' <<<"$OUT")" 3 "garbage added nothing"

# ---- remove
must_signet webhook remove "$WB"
must_signet webhook list --json
expect_eq "$(jq "[.webhooks[] | select(.id == \"$WB\")] | length" <<<"$OUT")" 0 "removed"
api_q GET "/v1/webhooks/$WB/deliveries" "" "$A"; expect_status 404 "a removed webhook's deliveries are gone"
expect_eq "$(db_query "SELECT COUNT(*) FROM webhook_deliveries WHERE webhook_id = '$WB'")" 0 "its deliveries removed"
expect_eq "$(audit_count "$A" '.action == "webhook.create" and .result == "ok"')" 3 "webhook.create audited"
expect_eq "$(audit_count "$A" '.action == "webhook.delete" and .result == "ok"')" 1 "webhook.delete audited"

# the secrets never reach the server's log
for sfile in "$R/a.secret" "$R/b.secret"; do
	sec=$(cat "$sfile")
	grep -qF "$sec" "$D/server.log" && _e2e_soft_fail "a webhook secret is in the server log"
done
api_q GET /v1/audit/verify "" "$A"; expect_eq "$(jbody -r .ok)" true "audit chain"
e2e_stop_server
e2e_done
