#!/bin/bash
# readyz.sh - GET /readyz (no authentication): 200 when the database and
# the keeper answer; 503 with Retry-After and a body naming which one does
# not, while /healthz (liveness) stays 200:
#   - the keeper stopped (SIGSTOP): "keeper" unavailable, and the probe does
#     not kill it (same pid once it runs again, and ready again);
#   - the database held under an exclusive lock by another process:
#     "database" unavailable, ready again when the lock goes.
# The body says nothing else (no paths, versions, errors); a POST is 405.
# e2e-requires: signetd
source "$(dirname "$0")/lib.sh"
e2e_require_tool sqlite3

W=$E2E_DIR/work
e2e_start_server

readyz() {	# readyz [CURL-ARGS...]: status in $HTTP_STATUS, body in last.body, headers in $W/hdr
	HTTP_STATUS=$(curl -s --max-time 40 --cacert "$SIGNET_CA_FILE" -o "$E2E_DIR/last.body" \
	    -D "$W/hdr" -w '%{http_code}' "$@" "$SIGNET_URL/readyz") || HTTP_STATUS=000
	printf '%s' "$HTTP_STATUS" >"$E2E_DIR/last.status"
}
healthz() {
	curl -s --max-time 10 --cacert "$SIGNET_CA_FILE" -o /dev/null -w '%{http_code}' "$SIGNET_URL/healthz"
}

readyz
assert_status 200 "GET /readyz"
expect_eq "$(jbody -c .)" '{"status":"ready","checks":{"database":"ok","keeper":"ok"}}' "ready body"
readyz -H "Authorization: Bearer snk_garbage"
expect_status 200 "GET /readyz with a garbage credential (none is needed or read)"
code=$(curl -s --max-time 10 --cacert "$SIGNET_CA_FILE" -o /dev/null -w '%{http_code}' -X POST "$SIGNET_URL/readyz")
expect_eq "$code" 405 "POST /readyz"

# ---- the keeper does not answer
KP=$(e2e_keeper_pid) || fail "no keeper"
kill -STOP "$KP"
readyz
kill -CONT "$KP"
expect_status 503 "GET /readyz with a stopped keeper"
check_error_shape "GET /readyz with a stopped keeper"
expect_eq "$(jbody -c .checks)" '{"database":"ok","keeper":"unavailable"}' "checks with a stopped keeper"
expect_eq "$(jbody -r .status)" not_ready "status with a stopped keeper"
grep -qi '^Retry-After: *[0-9]' "$W/hdr" || _e2e_soft_fail "503 from /readyz without Retry-After"
readyz
expect_status 200 "GET /readyz once the keeper runs again"
expect_eq "$(e2e_keeper_pid)" "$KP" "the readiness probe did not kill the slow keeper"

# ---- the database does not answer: another process holds it exclusively
# (SQLite's file lock; on PostgreSQL the test run holds no such lock)
if [[ $E2E_DB == sqlite ]]; then
	LOCKSECS=20
	printf 'PRAGMA busy_timeout = 10000;\nBEGIN EXCLUSIVE;\n.print locked\n.shell sleep %d\nCOMMIT;\n' \
	    "$LOCKSECS" | sqlite3 "$D/signet.db" >"$W/lock.out" 2>&1 &
	LOCKER=$!
	E2E_BG_PIDS=$LOCKER
	for ((i = 0; i < 100; i++)); do grep -q locked "$W/lock.out" 2>/dev/null && break; sleep 0.1; done
	grep -q locked "$W/lock.out" || fail "could not lock the database: $(cat "$W/lock.out")"
	readyz
	expect_status 503 "GET /readyz with the database locked"
	expect_eq "$(jbody -c .checks)" '{"database":"unavailable","keeper":"ok"}' "checks with the database locked"
	expect_eq "$(healthz)" 200 "GET /healthz while not ready"
	# nothing but the checks: no path, version or database error in the body
	for w in signet.db "$D" sqlite locked version; do
		grep -qi -- "$w" "$E2E_DIR/last.body" && _e2e_soft_fail "the /readyz body mentions '$w': $(cat "$E2E_DIR/last.body")"
	done
	wait "$LOCKER"
	E2E_BG_PIDS=
	readyz
	expect_status 200 "GET /readyz after the lock is released"
fi
e2e_stop_server
e2e_done
