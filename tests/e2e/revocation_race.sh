#!/bin/bash
# revocation_race.sh - taking a right away wins against signing in flight:
# while signing loops run, the key is disabled (then the signer removed,
# then the user disabled); no request that STARTED after the change was
# acknowledged may get a signature, and every signature returned has its
# audit event.
# e2e-requires: signetd
source "$(dirname "$0")/lib.sh"
e2e_require_tool openssl

e2e_start_server
A=$ADMIN_KEY
W=$E2E_DIR/work
mk_user s@acme.test; S=$U_KEY
api_q POST /v1/projects '{"name":"p1"}' "$A"; assert_status 201 "project"
api_q POST /v1/projects/p1/signers '{"user":"s@acme.test"}' "$A"; assert_status 201 "signer"
api_q POST /v1/keys '{"project":"p1","name":"k1","algorithm":"ecdsa-p256"}' "$A"; assert_status 201 "key"
K1=$(jbody -r .key.id)
BODY1="{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digest\":\"$(rand_b64 32)\"}"

loop() {	# loop ID: sign until $W/stop exists; "start_ns status" per request
	local code t
	while [[ ! -f $W/stop ]]; do
		t=$(date +%s%N)
		code=$(curl -s --max-time 30 --cacert "$SIGNET_CA_FILE" -H "Authorization: Bearer $S" \
		    -H 'Content-Type: application/json' --data-binary "$BODY1" -o /dev/null -w '%{http_code}' \
		    "$SIGNET_URL/v1/keys/$K1/sign") || true
		echo "$t ${code:-000}" >>"$W/loop.$1"
	done
}
race_round() {	# race_round WHAT CHANGE-CMD WANT-AFTER RESTORE-CMD
	local what=$1 t_done bad n_after
	rm -f "$W"/loop.* "$W/stop"
	loop 1 &
	local p1=$!
	loop 2 &
	local p2=$!
	E2E_BG_PIDS="$p1 $p2"
	sleep 1.5
	eval "$2"
	t_done=$(date +%s%N)
	sleep 1.5
	touch "$W/stop"
	wait "$p1" "$p2"
	E2E_BG_PIDS=
	n_after=$(cat "$W"/loop.* | awk -v t="$t_done" '$1 > t' | wc -l)
	bad=$(cat "$W"/loop.* | awk -v t="$t_done" '$1 > t && $2 == 200' | wc -l)
	expect_eq "$bad" 0 "$what: signatures for requests started after the change was acknowledged"
	other=$(cat "$W"/loop.* | awk -v t="$t_done" -v w="$3" '$1 > t && $2 != w {print $2}' | sort | uniq -c | tr '\n' ' ')
	[[ -z $other ]] || _e2e_soft_fail "$what: after the change, statuses other than $3: $other"
	((n_after > 0)) || _e2e_soft_fail "$what: no request ran after the change"
	echo "revocation_race: $what: $(cat "$W"/loop.* | wc -l) requests, $n_after after the change"
	cat "$W"/loop.* >>"$W/all"
	eval "$4"
}
race_round "disable key" \
    'api_q POST "/v1/keys/$K1/disable" "" "$A"; assert_status 200 "disable"' 409 \
    'api_q POST "/v1/keys/$K1/enable" "" "$A"; assert_status 200 "enable"'
race_round "remove signer" \
    'api_q DELETE /v1/projects/p1/signers/user/s@acme.test "" "$A"; assert_status 200 "remove signer"' 403 \
    'api_q POST /v1/projects/p1/signers "{\"user\":\"s@acme.test\"}" "$A"; assert_status 201 "re-add signer"'
race_round "disable user" \
    'api_q POST /v1/users/s@acme.test/disable "" "$A"; assert_status 200 "disable user"' 401 ':'

n200=$(awk '$2 == 200' "$W/all" | wc -l)
nok=$(audit_count "$A" ".action == \"key.sign\" and .result == \"ok\"")
((nok >= n200)) || _e2e_soft_fail "$nok key.sign ok events for $n200 signatures"
api_q GET /v1/audit/verify "" "$A"; expect_eq "$(jbody -r .ok)" true "audit chain"
e2e_stop_server
e2e_done
