#!/usr/bin/env bash
# The transparency log at 10^4, 10^5 and 10^6 events (docs/PERFORMANCE.md):
# in-process costs (tlog_bench measure), proof latency over HTTPS, the
# first (full) and an incremental `signet audit verify`, and ECDSA signing
# throughput at each size next to the tree's share of one signature.
#   bench/tlog_bench.sh [build-dir] [sizes...]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
shift || true
sizes=${*:-10000 100000 1000000}
signetd=$build/src/server/signetd
signet=$build/src/cli/signet
tb=$build/bench/tlog_bench

work=$(mktemp -d)
trap 'kill $(cat "$work/pid" 2>/dev/null) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
key=$("$signetd" init --data-dir "$work/d" --tenant bench --admin bench@example.test | tail -n1)
ten=$(sqlite3 "$work/d/signet.db" "select id from tenants where name='bench'")
db=sqlite:$work/d/signet.db
export SIGNET_API_KEY=$key SIGNET_CA_FILE=$work/d/server-ca.pem
export SIGNET_CONFIG=$work/client.conf SIGNET_STATE_DIR=$work/state

serve() {
	rm -f "$work/port"
	"$signetd" serve --data-dir "$work/d" --listen 127.0.0.1:0 --port-file "$work/port" \
	    2>>"$work/server.log" & echo $! >"$work/pid"
	for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
	export SIGNET_URL=https://127.0.0.1:$(cat "$work/port")
}
stop() { kill "$(cat "$work/pid")"; wait "$(cat "$work/pid")" 2>/dev/null || true; }
secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }

serve
"$signet" project create bench >/dev/null
"$signet" project add-signer bench --user bench@example.test >/dev/null
"$signet" key create bench k --algorithm ecdsa-p256 --ca none >/dev/null
kid=$("$signet" key show bench/k --json | jq -r '.key.id')
stop

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(nproc) cores; sizes: $sizes"
for n in $sizes; do
	"$tb" fill "$db" "$ten" "$n"
	"$tb" measure "$db" "$ten" 300
	serve
	rm -rf "$work/state"
	echo "first signet audit verify (all $n events): $(secs "$signet" audit verify) s"
	echo "signet audit verify --full:              $(secs "$signet" audit verify --full) s"
	"$tb" fill "$db" "$ten" "$(( $(sqlite3 "$work/d/signet.db" "select max(seq) from audit_events where tenant_id='$ten'") + 100 ))" 2>/dev/null
	echo "incremental signet audit verify (+100):   $(secs "$signet" audit verify) s"
	size=$(curl -s --cacert "$SIGNET_CA_FILE" -H "Authorization: Bearer $key" "$SIGNET_URL/v1/audit/checkpoint" | jq .size)
	t0=$(date +%s.%N)
	for i in $(seq 100); do
		echo "url = \"$SIGNET_URL/v1/audit/proof/inclusion?seq=$(( (RANDOM * 32768 + RANDOM) % size + 1 ))&size=$size\""
		echo 'output = "/dev/null"'
	done >"$work/urls"
	curl -s --cacert "$SIGNET_CA_FILE" -H "Authorization: Bearer $key" -K "$work/urls"
	t1=$(date +%s.%N)
	echo "inclusion proof over HTTPS (100, one connection): $(echo "($t1 - $t0) * 10" | bc) ms each"
	"$build/bench/sign_bench" --key "$kid" --mech ecdsa --threads 1 --seconds 5 --label "signetd ecdsa-p256 at $n events"
	"$build/bench/sign_bench" --key "$kid" --mech ecdsa --threads 4 --seconds 5 --label "signetd ecdsa-p256 at $n events"
	stop
done
