#!/usr/bin/env bash
# module_callgrind.sh - what one C_Sign costs the signing process in
# signet-pkcs11.so (request, TLS, the answer's parsing), counted by
# callgrind, one column per build (docs/PERFORMANCE.md "Where a
# signature's instructions go"). The signetd of each build runs natively;
# only p11_sign_bench runs under callgrind, collecting inside C_Sign alone
# (--toggle-collect), so start-up and the listing are not counted.
# Instruction counts do not depend on the machine's load.
#   bench/module_callgrind.sh [seconds] BUILD [BUILD...]
set -euo pipefail
. "$(dirname "$0")/columns.sh"
secs=${1:-10}
shift || true
[ $# -ge 1 ] || set -- "$(cd "$(dirname "$0")/.." && pwd)/build"
command -v valgrind >/dev/null || { echo "module_callgrind: valgrind is not installed" >&2; exit 2; }

work=$(mktemp -d)
spid=
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

one() {	# build-dir: prints "signatures N" and "per_sign K" (thousands)
	local build=$1 d=$work/d.$RANDOM key n total
	key=$("$build/src/server/signetd" init --data-dir "$d" --tenant bench \
	    --admin bench@example.test | tail -n1)
	rm -f "$work/port"
	"$build/src/server/signetd" serve --data-dir "$d" --listen 127.0.0.1:0 \
	    --port-file "$work/port" 2>"$work/server.log" &
	spid=$!
	for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
	[ -s "$work/port" ] || { echo "module_callgrind: signetd did not start" >&2; exit 1; }
	export SIGNET_URL=https://127.0.0.1:$(cat "$work/port")
	export SIGNET_API_KEY=$key SIGNET_CA_FILE=$d/server-ca.pem
	export SIGNET_CONFIG=$work/client.conf
	"$build/src/cli/signet" project create bench >/dev/null
	"$build/src/cli/signet" project add-signer bench --user bench@example.test >/dev/null
	"$build/src/cli/signet" key create bench k --algorithm ecdsa-p256 --ca none >/dev/null
	rm -f "$work"/cg.*
	n=$(valgrind --tool=callgrind --toggle-collect=C_Sign \
	    --callgrind-out-file="$work/cg.out" "$build/bench/p11_sign_bench" \
	    --module "$build/src/pkcs11/signet-pkcs11.so" --label bench/k \
	    --mech ecdsa --threads 1 --seconds "$secs" 2>/dev/null |
	    sed -n 's/.* n=\([0-9]*\).*/\1/p')
	kill "$spid"; wait "$spid" 2>/dev/null || true
	spid=
	total=$(cg_total "$work/cg.out")
	echo "signatures $n"
	echo "per_sign $((total / n / 1000))"
}

echo "# callgrind: thousands of instructions per C_Sign in the signing process (signet-pkcs11.so), 1 thread, ECDSA P-256, ${secs}s"
i=0
for b in "$@"; do one "$b" >"$work/col.$i"; i=$((i + 1)); done
columns 12 "" "signatures per_sign" "$work" "$@"
