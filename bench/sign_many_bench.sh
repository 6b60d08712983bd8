#!/usr/bin/env bash
# A release of N files signed two ways against the same signetd:
#   one `signet sign --in DIR --recursive` (local parallel hashing, batch
#   requests of 64 digests, one HTTPS connection), and
#   N `signet sign --in FILE --out SIG` invocations (one process, one TLS
#   handshake and one request per file) -- what scripts did before.
# Prints seconds and files/s for each, and the speed-up.
#   bench/sign_many_bench.sh [build-dir] [files] [key-algorithm]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
n=${2:-1000}
alg=${3:-ecdsa-p256}
signetd=$build/src/server/signetd
signet=$build/src/cli/signet

work=$(mktemp -d)
trap 'kill $(cat "$work/pid" 2>/dev/null) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
key=$("$signetd" init --data-dir "$work/d" --tenant bench --admin bench@example.test | tail -n1)
"$signetd" serve --data-dir "$work/d" --listen 127.0.0.1:0 --port-file "$work/port" \
    2>"$work/server.log" & echo $! >"$work/pid"
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
export SIGNET_URL=https://127.0.0.1:$(cat "$work/port")
export SIGNET_API_KEY=$key SIGNET_CA_FILE=$work/d/server-ca.pem SIGNET_CONFIG=$work/client.conf
"$signet" project create rel >/dev/null
"$signet" project add-signer rel --user bench@example.test >/dev/null
"$signet" key create rel k --algorithm "$alg" --ca none >/dev/null

# N files of 4-64 KiB in a small tree.
mkdir -p "$work/a" "$work/b"
for i in $(seq 1 "$n"); do
  d=$((i % 10))
  mkdir -p "$work/a/$d" "$work/b/$d"
  head -c $(((i % 16 + 1) * 4096)) /dev/urandom >"$work/a/$d/f$i.bin"
done
cp -r "$work/a/." "$work/b/"

now() { date +%s.%N; }
t0=$(now)
"$signet" sign --key rel/k --in "$work/a" --recursive >/dev/null
t1=$(now)
find "$work/b" -name '*.bin' | while read -r f; do
  "$signet" sign --key rel/k --in "$f" --out "$f.sig" >/dev/null
done
t2=$(now)
[ "$(find "$work/a" -name '*.sig' | wc -l)" = "$n" ] || { echo "batch: missing signatures" >&2; exit 1; }
[ "$(find "$work/b" -name '*.sig' | wc -l)" = "$n" ] || { echo "single: missing signatures" >&2; exit 1; }
awk -v n="$n" -v a="$t0" -v b="$t1" -v c="$t2" -v alg="$alg" 'BEGIN {
  one = b - a; many = c - b
  printf "| one signet sign --in DIR --recursive | %s | %d | %.2f | %.0f |\n", alg, n, one, n / one
  printf "| %d x signet sign --in FILE --out SIG | %s | %d | %.2f | %.0f |\n", n, alg, n, many, n / many
  printf "speed-up: %.1fx\n", many / one
}'
