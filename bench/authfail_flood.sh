#!/usr/bin/env bash
# Signing throughput with and without a flood of bad credentials at the
# rate limit (docs/PERFORMANCE.md, issue 15 item 4). Loopback only.
#   bench/authfail_flood.sh [build-dir] [seconds-per-case] [flood-addresses]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
secs=${2:-10}
naddr=${3:-16}
signetd=$build/src/server/signetd

work=$(mktemp -d)
trap 'kill $(cat "$work/pid" 2>/dev/null) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
key=$("$signetd" init --data-dir "$work/d" --tenant bench --admin bench@example.test | tail -n1)
"$signetd" serve --data-dir "$work/d" --listen 127.0.0.1:0 --port-file "$work/port" \
    2>"$work/server.log" & echo $! >"$work/pid"
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port")
export SIGNET_URL=https://127.0.0.1:$port SIGNET_API_KEY=$key SIGNET_CA_FILE=$work/d/server-ca.pem
export SIGNET_CONFIG=$work/client.conf
"$build/src/cli/signet" project create bench >/dev/null
"$build/src/cli/signet" project add-signer bench --user bench@example.test >/dev/null
"$build/src/cli/signet" key create bench k --algorithm ecdsa-p256 --ca none >/dev/null
kid=$("$build/src/cli/signet" key show bench/k --json | jq -r '.key.id // .id')

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(nproc) cores, ${secs}s per case, $naddr flooding addresses"
echo "## no flood"
"$build/bench/sign_bench" --key "$kid" --mech ecdsa --threads 4 --seconds "$secs" --label "sign, no flood"
for rate in 10 0; do
	echo "## bad-credential flood from $naddr addresses, $rate/s each (0 = unthrottled)"
	python3 "$top/bench/authfail_flood.py" "$port" "$work/d/server-ca.pem" "$naddr" "$((secs + 2))" "$rate" &
	fp=$!
	sleep 1
	"$build/bench/sign_bench" --key "$kid" --mech ecdsa --threads 4 --seconds "$secs" --label "sign, flood $rate/s"
	wait "$fp"
	echo "auth.failure audit rows so far: $(sqlite3 -readonly "$work/d/signet.db" "select count(*) from audit_events where action = 'auth.failure'")"
	sleep 61	# the rate limiter's minute ends
done
