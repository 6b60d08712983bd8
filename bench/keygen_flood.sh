#!/usr/bin/env bash
# Tenant A's signing latency with and without tenant B flooding rsa-4096 key
# creation (docs/PERFORMANCE.md, issue 15 item 2). Loopback only.
#   bench/keygen_flood.sh [build-dir] [seconds-per-case] [flooders]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
secs=${2:-30}
flooders=${3:-56}
signetd=$build/src/server/signetd

work=$(mktemp -d)
trap 'kill $(cat "$work/pid" 2>/dev/null) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
api() {	# api METHOD PATH BODY TOKEN
	curl -s --cacert "$work/d/server-ca.pem" -X "$1" -H "Authorization: Bearer $4" \
	    -H 'Content-Type: application/json' ${3:+--data-binary "$3"} "$url$2"
}

a=$("$signetd" init --data-dir "$work/d" --tenant a --admin a@example.test | tail -n1)
b=$("$signetd" tenant create b --admin b@example.test --data-dir "$work/d" | tail -n1)
"$signetd" serve --data-dir "$work/d" --listen 127.0.0.1:0 --port-file "$work/port" \
    2>"$work/server.log" & echo $! >"$work/pid"
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port")
url=https://127.0.0.1:$port
s=$(api POST /v1/users '{"email":"s@example.test"}' "$a" | jq -r .api_key.key)
api POST /v1/projects '{"name":"pa"}' "$a" >/dev/null
api POST /v1/projects/pa/signers '{"user":"s@example.test"}' "$a" >/dev/null
ka=$(api POST /v1/keys '{"project":"pa","name":"ka","algorithm":"ecdsa-p256","ca":"none"}' "$a" | jq -r .key.id)
api POST /v1/projects '{"name":"pb"}' "$b" >/dev/null

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(nproc) cores, ${secs}s per case, $flooders flooders"
for n in 0 "$flooders"; do
	echo "## tenant B flooders: $n"
	python3 "$top/tests/e2e/keygen_flood.py" "$port" "$work/d/server-ca.pem" "$s" "$ka" "$b" pb \
	    "$n" "$secs" 127.0.0.2
done
