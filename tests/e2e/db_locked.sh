#!/bin/bash
# db_locked.sh - SPEC §1/§6.5: the audit event of a signature is committed
# before the signature is returned, and "a failure to write it fails the
# request". Another process holds an exclusive write lock on the SQLite
# database; signing requests in that window must fail cleanly (503, no
# signature), never return a signature without its event, never turn into
# 401/500; afterwards everything works again by itself and the chain holds.
# e2e-requires: signetd
source "$(dirname "$0")/lib.sh"
e2e_require_tool sqlite3 openssl
e2e_sqlite_only "holds SQLite's file write lock from another process"

e2e_start_server
A=$ADMIN_KEY
W=$E2E_DIR/work
mk_user s@acme.test; S=$U_KEY
api_q POST /v1/projects '{"name":"p1"}' "$A"; assert_status 201 "project"
api_q POST /v1/projects/p1/signers '{"user":"s@acme.test"}' "$A"; assert_status 201 "signer"
api_q POST /v1/keys '{"project":"p1","name":"k1","algorithm":"ecdsa-p256"}' "$A"; assert_status 201 "key"
K1=$(jbody -r .key.id)
BODY1="{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digest\":\"$(rand_b64 32)\"}"
api_q POST "/v1/keys/$K1/sign" "$BODY1" "$S"; assert_status 200 "sign before the lock"
before=$(audit_count "$A" ".action == \"key.sign\" and .result == \"ok\"")

# hold an exclusive lock for 25 s
LOCKSECS=25
{
	printf 'PRAGMA busy_timeout = 10000;\nBEGIN EXCLUSIVE;\n.print locked\n.shell sleep %d\nCOMMIT;\n.print released\n' "$LOCKSECS"
} | sqlite3 "$D/signet.db" >"$W/lock.out" 2>&1 &
LOCKER=$!
E2E_BG_PIDS=$LOCKER
for ((i = 0; i < 100; i++)); do grep -q locked "$W/lock.out" 2>/dev/null && break; sleep 0.1; done
grep -q locked "$W/lock.out" || fail "could not take the database lock: $(cat "$W/lock.out")"
t_lock=$SECONDS

for i in 1 2 3; do
	curl -s --max-time 90 --cacert "$SIGNET_CA_FILE" -H "Authorization: Bearer $S" -H 'Content-Type: application/json' \
	    --data-binary "$BODY1" -o "$W/sign.$i" -D "$W/hdr.$i" -w '%{http_code}' "$SIGNET_URL/v1/keys/$K1/sign" >"$W/code.$i" &
done
code_me=$(curl -s --max-time 90 --cacert "$SIGNET_CA_FILE" -H "Authorization: Bearer $S" -o /dev/null -w '%{http_code}' \
    "$SIGNET_URL/v1/me")
[[ $code_me == 200 || $code_me == 503 ]] || _e2e_soft_fail "GET /v1/me while the database is locked: HTTP $code_me (want 200 or 503)"
for ((i = 0; i < 900; i++)); do
	[[ -s $W/code.1 && -s $W/code.2 && -s $W/code.3 ]] && break
	sleep 0.1
done
n503=0 n200=0
for i in 1 2 3; do
	c=$(cat "$W/code.$i" 2>/dev/null)
	case $c in
	503) n503=$((n503 + 1))
	     jq -e '.error.code == "unavailable"' "$W/sign.$i" >/dev/null 2>&1 ||
	         _e2e_soft_fail "503 body is not the 'unavailable' error: $(head -c 200 "$W/sign.$i")"
	     grep -q '"signature"' "$W/sign.$i" && _e2e_soft_fail "a 503 answer carries a signature"
	     grep -qi '^Retry-After: *[0-9]' "$W/hdr.$i" || _e2e_soft_fail "a 503 answer without Retry-After (SPEC §4)" ;;
	200) n200=$((n200 + 1)) ;;
	*) _e2e_soft_fail "sign while the database is locked: HTTP '$c': $(head -c 200 "$W/sign.$i")" ;;
	esac
done
echo "db_locked: while locked ($((SECONDS - t_lock)) s): $n503 x 503, $n200 x 200; /v1/me $code_me"
((n503 >= 1 || n200 == 3)) || _e2e_soft_fail "no signing request was answered"
wait "$LOCKER"
E2E_BG_PIDS=
grep -q released "$W/lock.out" || _e2e_soft_fail "the lock holder did not commit: $(cat "$W/lock.out")"

# afterwards: signing works, and every 200 has its event
api_q POST "/v1/keys/$K1/sign" "$BODY1" "$S"; expect_status 200 "sign after the lock"
after=$(audit_count "$A" ".action == \"key.sign\" and .result == \"ok\"")
((after - before >= n200 + 1)) || _e2e_soft_fail "$((after - before)) key.sign ok events for $((n200 + 1)) signatures"
api_q GET /v1/audit/verify "" "$A"; expect_eq "$(jbody -r .ok)" true "audit chain after the lock"
api_q GET /healthz ""; expect_status 200 "healthz"
e2e_stop_server
e2e_done
