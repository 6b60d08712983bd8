#!/usr/bin/env bash
# token_build_callgrind.sh - what building signet-pkcs11.so's token from a
# listing costs, one column per build: instructions per key counted by
# callgrind inside p11_token_from_keys (--toggle-collect; making the
# listing is not counted), and the wall time per key of a native run
# (median of ROUNDS, load dependent: compare columns of one run only).
# The listing: KEYS ECDSA P-256 keys, each with its own certificate and
# the chain [issuing CA, root] (bench/p11_token_bench.c).
#   bench/token_build_callgrind.sh [keys] BUILD [BUILD...]
set -euo pipefail
. "$(dirname "$0")/columns.sh"
keys=${1:-1000}
shift || true
[ $# -ge 1 ] || set -- "$(cd "$(dirname "$0")/.." && pwd)/build"
command -v valgrind >/dev/null || { echo "token_build_callgrind: valgrind is not installed" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

one() {	# build-dir: prints "instr_per_key K" (thousands) and "us_per_key U"
	local bench=$1/bench/p11_token_bench total
	[ -x "$bench" ] || { echo "token_build_callgrind: no $bench" >&2; exit 1; }
	valgrind --tool=callgrind --toggle-collect=p11_token_from_keys \
	    --callgrind-out-file="$work/cg.out" "$bench" --keys "$keys" \
	    --rounds 1 >/dev/null 2>&1
	total=$(cg_total "$work/cg.out")
	echo "instr_per_key $((total / keys / 1000))"
	"$bench" --keys "$keys" --rounds 9 |
	    sed -n 's/.*per_key_us=\([0-9.]*\).*/us_per_key \1/p'
}

echo "# token build from a listing of $keys keys (certificate + 2-certificate chain each): thousands of instructions and microseconds per key"
i=0
for b in "$@"; do one "$b" >"$work/col.$i"; i=$((i + 1)); done
columns 14 "" "instr_per_key us_per_key" "$work" "$@"
