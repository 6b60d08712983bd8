#!/usr/bin/env bash
# sign_profile.sh - where one client's ECDSA P-256 signature over HTTPS
# spends signetd's CPU (docs/PERFORMANCE.md, "profile"): a fresh signetd,
# one sign_bench client for S seconds, `perf record` on signetd (and its
# keeper), then the top symbols and libraries; and the fsyncs per
# signature at 1 and 16 clients (strace counting fsync/fdatasync: the
# audit commit, which a CPU profile does not show as it waits).
#   bench/sign_profile.sh [build-dir] [seconds] [top-n]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
secs=${2:-5}
n=${3:-25}
work=$(mktemp -d)
spid=
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

key=$("$build/src/server/signetd" init --data-dir "$work/d" --tenant bench \
    --admin bench@example.test | tail -n1)
"$build/src/server/signetd" serve --data-dir "$work/d" --listen 127.0.0.1:0 \
    --port-file "$work/port" 2>"$work/server.log" &
spid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
export SIGNET_URL=https://127.0.0.1:$(cat "$work/port")
export SIGNET_API_KEY=$key SIGNET_CA_FILE=$work/d/server-ca.pem
export SIGNET_CONFIG=$work/client.conf
"$build/src/cli/signet" project create bench >/dev/null
"$build/src/cli/signet" project add-signer bench --user bench@example.test >/dev/null
"$build/src/cli/signet" key create bench k --algorithm ecdsa-p256 --ca none >/dev/null
id=$("$build/src/cli/signet" key show bench/k --json | jq -r '.key.id // .id')
kpid=$(pgrep -P "$spid" | head -n1 || true)

# signetd serves each connection on its own thread (libmicrohttpd thread
# per connection), and perf -p only follows the threads that exist when it
# attaches: the client connects first, then perf attaches for S seconds.
"$build/bench/sign_bench" --key "$id" --mech ecdsa --threads 1 --seconds "$((secs + 2))" \
    --label "profiled signetd ecdsa-p256" &
bpid=$!
sleep 1
perf record -q -g -o "$work/perf.data" -p "$spid${kpid:+,$kpid}" -- sleep "$secs" \
    >/dev/null 2>&1 || true
wait "$bpid"
echo "## top symbols, self time (signetd + keeper)"
perf report -i "$work/perf.data" --no-children -g none --sort dso,symbol \
    --percent-limit 0.8 --stdio 2>/dev/null | grep -E '^ +[0-9]' | cut -c1-100 |
    head -n "$n"
echo "## by library"
perf report -i "$work/perf.data" --no-children -g none --sort dso --stdio \
    2>/dev/null | grep -E '^ +[0-9]' | head -n 12
for t in 1 16; do
	strace -f -qq -c -e trace=fsync,fdatasync -o "$work/strace.$t" -p "$spid" &
	stp=$!
	sleep 0.5
	out=$("$build/bench/sign_bench" --key "$id" --mech ecdsa --threads "$t" \
	    --seconds "$secs" --label "strace'd signetd ecdsa-p256")
	kill -INT "$stp" 2>/dev/null || true
	wait "$stp" 2>/dev/null || true
	sigs=$(sed -n 's/.* n=\([0-9]*\).*/\1/p' <<<"$out")
	syncs=$(awk '$NF ~ /^f(data)?sync$/ {s += $4} END {print s + 0}' "$work/strace.$t")
	echo "$t clients: $sigs signatures, $syncs fsync/fdatasync calls" \
	    "($(awk -v a="$syncs" -v b="$sigs" 'BEGIN {printf "%.2f", b ? a / b : 0}') per signature)"
done
