#!/bin/bash
# sign_recheck.sh - the final decision of POST /v1/keys/{id}/sign re-checks
# the whole credential, the signer link and the key: a change that commits
# while the HSM works on a batch wins, and no signature leaves.
#
# "In flight" is made certain rather than hoped for: the keeper is stopped
# (SIGSTOP), a 64-digest batch is sent, the test waits until the batch's
# first frame sits unread in the keeper's socket (so the request passed
# every check before the HSM call), commits the change, then lets the keeper
# go on (SIGCONT). Each of the seven changes of issue 15 is tried: user
# disabled, API key revoked, API key expired, service account deleted,
# service-account key rotated (its tokens void), signer removed, key
# disabled / revoked / expired; plus a control batch with no change (200).
# e2e-requires: signetd
source "$(dirname "$0")/lib.sh"
e2e_require_tool openssl ss

e2e_start_server
A=$ADMIN_KEY
W=$E2E_DIR/work
KP=

resume_keeper() { [[ -n $KP ]] && kill -CONT "$KP" 2>/dev/null; KP=; }
trap 'rc=$?; resume_keeper; (exit $rc); _e2e_cleanup' EXIT

api_q POST /v1/projects '{"name":"p1"}' "$A"; assert_status 201 "project"
mk_user s@acme.test; S=$U_KEY; S_ID=$U_ID
api_q POST /v1/projects/p1/signers '{"user":"s@acme.test"}' "$A"; assert_status 201 "signer"
mk_key() {	# mk_key NAME [VALIDITY]: sets K
	api_q POST /v1/keys "{\"project\":\"p1\",\"name\":\"$1\",\"algorithm\":\"ecdsa-p256\"${2:+,\"validity\":$2}}" "$A"
	assert_status 201 "key $1"
	K=$(jbody -r .key.id)
}
mk_key k1; K1=$K

# A batch of 64 digests.
digests=$(for ((i = 0; i < 64; i++)); do printf '"%s",' "$(rand_b64 32)"; done)
printf '{"mechanism":"ecdsa","digest_algorithm":"sha256","digests":[%s]}' "${digests%,}" >"$W/batch.json"

# Bytes waiting unread in the keeper's end of its socketpair.
keeper_queued() {
	ss -x -p -H 2>/dev/null | awk -v p="pid=$1," 'index($0, p) {q += $3} END {print q + 0}'
}

# inflight CASE TOKEN KEY CHANGE-CMD WANT-STATUS
inflight() {
	local what=$1 tok=$2 key=$3 i code
	KP=$(e2e_keeper_pid) || fail "$what: no keeper"
	kill -STOP "$KP"
	rm -f "$W/out.json" "$W/code"
	( curl -s --max-time 60 --cacert "$SIGNET_CA_FILE" -H "Authorization: Bearer $tok" \
	    -H 'Content-Type: application/json' --data-binary "@$W/batch.json" -o "$W/out.json" \
	    -w '%{http_code}' "$SIGNET_URL/v1/keys/$key/sign" >"$W/code" 2>/dev/null || true ) &
	local cp=$!
	E2E_BG_PIDS=$cp
	for ((i = 0; i < 200; i++)); do
		(($(keeper_queued "$KP") > 0)) && break
		sleep 0.05
	done
	((i < 200)) || { resume_keeper; fail "$what: the batch never reached the keeper"; }
	eval "$4"
	resume_keeper
	wait "$cp"
	E2E_BG_PIDS=
	code=$(cat "$W/code")
	expect_eq "$code" "$5" "$what: status of the batch in flight"
	if [[ $5 != 200 ]] && grep -q '"signatures"' "$W/out.json"; then
		_e2e_soft_fail "$what: signatures left after the change committed"
	fi
	[[ $code == 200 || $code == 000 ]] || check_error_shape_file "$W/out.json" "$what"
	echo "sign_recheck: $what -> $code"
}
check_error_shape_file() {
	jq -e '.error.code and .error.message' <"$1" >/dev/null ||
	    _e2e_soft_fail "$2: error body is not {\"error\":{code,message}}: $(head -c 200 "$1")"
}

# control: nothing changes, the batch is signed
inflight "no change" "$S" "$K1" ':' 200
expect_eq "$(jq '.signatures | length' <"$W/out.json")" 64 "no change: 64 signatures"
n_ok=$(audit_count "$A" '.action == "key.sign" and .result == "ok"')

# 1. user disabled
mk_user d@acme.test; D_KEY=$U_KEY
api_q POST /v1/projects/p1/signers '{"user":"d@acme.test"}' "$A"; assert_status 201 "signer d"
inflight "user disabled" "$D_KEY" "$K1" \
    'api_q POST /v1/users/d@acme.test/disable "" "$A"; assert_status 200 "disable user"' 401

# 2. API key revoked
api_q POST /v1/apikeys '{"description":"second"}' "$S"; assert_status 201 "second API key"
S2=$(jbody -r .key); S2_ID=$(jbody -r .id)
inflight "API key revoked" "$S2" "$K1" \
    'api_q DELETE "/v1/apikeys/$S2_ID" "" "$A"; assert_status 200 "revoke API key"' 401

# 3. API key expired (a real expiry, 4 s after creation, passes while the
# keeper is stopped)
api_q POST /v1/apikeys '{"description":"short","expires_in":4}' "$S"; assert_status 201 "short API key"
S3=$(jbody -r .key); S3_EXP=$(($(date +%s) + 4))
inflight "API key expired" "$S3" "$K1" \
    'while (($(date +%s) <= S3_EXP + 1)); do sleep 0.2; done' 401

# Service accounts: a team, a key pair, the account as signer.
api_q POST /v1/teams '{"name":"builders"}' "$A"; assert_status 201 "team"
sa_make() {	# sa_make NAME: sets SA_ID and SA_TOKEN
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$W/$1.key" 2>/dev/null || fail "genpkey"
	openssl pkey -in "$W/$1.key" -pubout -out "$W/$1.pub" 2>/dev/null || fail "pkey -pubout"
	api_q POST /v1/serviceaccounts "{\"name\":\"$1\",\"team\":\"builders\",\"public_key\":$(json_file_str "$W/$1.pub")}" "$A"
	assert_status 201 "service account $1"
	SA_ID=$(jbody -r .service_account.id)
	api_q POST /v1/projects/p1/signers "{\"service_account\":\"$1\"}" "$A"; assert_status 201 "signer $1"
	sa_token "$W/$1.key" "$SA_ID"
}

# 4. service account deleted
sa_make ci1
inflight "service account deleted" "$SA_TOKEN" "$K1" \
    'api_q DELETE "/v1/serviceaccounts/$SA_ID" "" "$A"; assert_status 200 "delete service account"' 401

# 5. service-account key rotated: its access tokens are void
sa_make ci2
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$W/ci2b.key" 2>/dev/null || fail "genpkey"
openssl pkey -in "$W/ci2b.key" -pubout -out "$W/ci2b.pub" 2>/dev/null || fail "pkey -pubout"
inflight "service-account key rotated" "$SA_TOKEN" "$K1" \
    'api_q POST "/v1/serviceaccounts/$SA_ID/rotate-key" "{\"public_key\":$(json_file_str "$W/ci2b.pub")}" "$A"; assert_status 200 "rotate-key"' 401

# 6. signer removed
inflight "signer removed" "$S" "$K1" \
    'api_q DELETE /v1/projects/p1/signers/user/s@acme.test "" "$A"; assert_status 200 "remove signer"' 403
api_q POST /v1/projects/p1/signers '{"user":"s@acme.test"}' "$A"; assert_status 201 "re-add signer"

# 7. key disabled, revoked, expired
mk_key k-dis
inflight "key disabled" "$S" "$K" \
    'api_q POST "/v1/keys/$K/disable" "" "$A"; assert_status 200 "disable key"' 409
mk_key k-rev
inflight "key revoked" "$S" "$K" \
    'api_q POST "/v1/keys/$K/revoke" "" "$A"; assert_status 200 "revoke key"' 409
mk_key k-exp 4; K_EXP=$(($(date +%s) + 4))
inflight "key expired" "$S" "$K" \
    'while (($(date +%s) <= K_EXP + 1)); do sleep 0.2; done' 409

# Only the control batch was signed: one more key.sign ok, none since.
expect_eq "$(audit_count "$A" '.action == "key.sign" and .result == "ok"')" "$n_ok" \
    "key.sign ok events after the control batch"
api_q GET /v1/audit/verify "" "$A"; expect_eq "$(jbody -r .ok)" true "audit chain"
e2e_stop_server
e2e_done
