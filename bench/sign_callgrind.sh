#!/usr/bin/env bash
# sign_callgrind.sh - where one ECDSA P-256 signature over HTTPS spends
# signetd's instructions, counted by callgrind (docs/PERFORMANCE.md, "Where
# a signature's instructions go"). Instruction counts, unlike seconds, do not
# depend on what else the machine is doing, so builds can be compared side
# by side even on a shared machine: one column per build directory.
#
# For each build: a fresh signetd under `valgrind --tool=callgrind` (its
# keeper runs natively: callgrind does not follow the exec), one ECDSA key,
# the counters zeroed, one sign_bench client for S seconds, the counters
# dumped; then the inclusive instructions per signature of the functions
# below (the HTTP thread's path: request handling, the signing handler,
# the signing commit and its parts, the response).
#   bench/sign_callgrind.sh [seconds] BUILD [BUILD...]
# SIGNET_CALLGRIND_KEEP=DIR keeps each build's whole profile there
# (DIR/PARENT-BUILD.cg, for callgrind_annotate) beside the table.
set -euo pipefail
. "$(dirname "$0")/columns.sh"
secs=${1:-10}
shift || true
[ $# -ge 1 ] || set -- "$(cd "$(dirname "$0")/.." && pwd)/build"
command -v valgrind >/dev/null || { echo "sign_callgrind: valgrind is not installed" >&2; exit 2; }

funcs="access_cb http_process api_keys_sign audit_sign_commit audit_append_at
sn_audit_hash sn_audit_hash_with tlog_append store_audit_insert sq_commit store_sign_check
keeper_sign json_dumpb json_dump_callback"

work=$(mktemp -d)
spid=
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

one() {	# build-dir out-file
	local build=$1 out=$2 d=$work/d.$RANDOM key id n
	key=$("$build/src/server/signetd" init --data-dir "$d" --tenant bench \
	    --admin bench@example.test | tail -n1)
	rm -f "$work/port"
	valgrind --tool=callgrind --callgrind-out-file="$work/cg.%p" \
	    "$build/src/server/signetd" serve --data-dir "$d" \
	    --listen 127.0.0.1:0 --port-file "$work/port" 2>"$work/server.log" &
	spid=$!
	for _ in $(seq 600); do [ -s "$work/port" ] && break; sleep 0.1; done
	[ -s "$work/port" ] || { echo "sign_callgrind: signetd did not start" >&2; exit 1; }
	export SIGNET_URL=https://127.0.0.1:$(cat "$work/port")
	export SIGNET_API_KEY=$key SIGNET_CA_FILE=$d/server-ca.pem
	export SIGNET_CONFIG=$work/client.conf
	"$build/src/cli/signet" project create bench >/dev/null
	"$build/src/cli/signet" project add-signer bench --user bench@example.test >/dev/null
	"$build/src/cli/signet" key create bench k --algorithm ecdsa-p256 --ca none >/dev/null
	id=$("$build/src/cli/signet" key show bench/k --json | jq -r '.key.id // .id')
	# warm up (statement caches, TLS session, keeper sessions), then count
	"$build/bench/sign_bench" --key "$id" --mech ecdsa --threads 1 --seconds 1 \
	    --label warmup >/dev/null
	callgrind_control -z "$spid" >/dev/null 2>&1
	n=$("$build/bench/sign_bench" --key "$id" --mech ecdsa --threads 1 \
	    --seconds "$secs" --label counted | sed -n 's/.* n=\([0-9]*\).*/\1/p')
	callgrind_control -d "$spid" >/dev/null 2>&1
	kill "$spid"; wait "$spid" 2>/dev/null || true
	spid=
	prof=$(ls -t "$work"/cg.*.1 | head -n1)
	callgrind_annotate --inclusive=yes "$prof" 2>/dev/null >"$work/annot"
	if [ -n "${SIGNET_CALLGRIND_KEEP:-}" ]; then
		mkdir -p "$SIGNET_CALLGRIND_KEEP"
		cp "$prof" "$SIGNET_CALLGRIND_KEEP/$(basename "$(dirname "$build")")-$(basename "$build").cg"
	fi
	{
		echo "signatures $n"
		awk -v n="$n" -v list="$funcs" '
		    BEGIN { split(list, f, /[ \n]+/); for (i in f) want[f[i]] = 1 }
		    /PROGRAM TOTALS/ { gsub(",", "", $1); printf "total %.0f\n", $1 / n / 1000 }
		    {
			for (i = 2; i <= NF; i++) if ($i ~ /:[A-Za-z_0-9]+$/ || $i ~ /:[A-Za-z_0-9]+ /) break
			if (i > NF) next
			name = $i; sub(/.*:/, "", name)
			if (!(name in want) || (name in seen)) next
			seen[name] = 1; gsub(",", "", $1)
			printf "%s %.0f\n", name, $1 / n / 1000
		    }' "$work/annot"
		rm -f "$work"/cg.*
	} >"$out"
}

i=0
for b in "$@"; do
	one "$b" "$work/col.$i"
	i=$((i + 1))
done
echo "# callgrind: thousands of instructions per signature in signetd (inclusive), 1 client, ECDSA P-256, ${secs}s"
columns 22 function "signatures total $funcs" "$work" "$@"
