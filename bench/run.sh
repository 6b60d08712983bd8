#!/usr/bin/env bash
# Reproduces docs/PERFORMANCE.md: remote signing throughput and latency over
# HTTPS with keep-alive at 1, 4 and 16 concurrent clients, side by side in
# the same run with the raw in-process SoftHSM2 C_Sign rate (the baseline).
#   bench/run.sh [build-dir] [seconds-per-case]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
secs=${2:-5}
signetd=$build/src/server/signetd
signet=$build/src/cli/signet

work=$(mktemp -d)
trap 'kill $(cat "$work/pid" 2>/dev/null) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

key=$("$signetd" init --data-dir "$work/d" --tenant bench --admin bench@example.test | tail -n1)
"$signetd" serve --data-dir "$work/d" --listen 127.0.0.1:0 --port-file "$work/port" \
    2>"$work/server.log" & echo $! >"$work/pid"
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
export SIGNET_URL=https://127.0.0.1:$(cat "$work/port")
export SIGNET_API_KEY=$key SIGNET_CA_FILE=$work/d/server-ca.pem
export SIGNET_CONFIG=$work/client.conf

"$signet" project create bench >/dev/null
"$signet" project add-signer bench --user bench@example.test >/dev/null
for alg in ecdsa-p256 rsa-2048; do
  "$signet" key create bench "$alg" --algorithm "$alg" --ca none >/dev/null
done
id_of() { "$signet" key show "bench/$1" --json | jq -r '.key.id // .id'; }

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(nproc) cores, ${secs}s per case"
echo "## baseline: SoftHSM2 C_Sign in-process (no network, no keeper), signetd's own token"
pin=$(cat "$work/d/hsm/pin")
for alg in ecdsa-p256 rsa-2048; do
  mech=ecdsa; [ "$alg" = rsa-2048 ] && mech=rsa-pkcs1
  SOFTHSM2_CONF=$work/d/hsm/softhsm2.conf "$build/bench/p11_sign_bench" \
      --module /usr/lib/softhsm/libsofthsm2.so --token signet --pin "$pin" \
      --label "$(id_of "$alg")" --mech "$mech" --seconds "$secs" --name "softhsm2 $alg"
  # issue 18's HTTPS yardstick: raw C_Sign with 2 threads in process
  SOFTHSM2_CONF=$work/d/hsm/softhsm2.conf "$build/bench/p11_sign_bench" \
      --module /usr/lib/softhsm/libsofthsm2.so --token signet --pin "$pin" \
      --label "$(id_of "$alg")" --mech "$mech" --threads 2 --seconds "$secs" \
      --name "softhsm2 $alg"
done
if [ -x "$build/bench/hsm_bench" ]; then
  echo "## the keeper round trip (socketpair + keeper process) vs SoftHSM2 in-process"
  "$build/bench/hsm_bench" --seconds "$secs"
fi
echo "## signetd: an authenticated GET /v1/me over HTTPS keep-alive (the floor a signature pays; 'sigs/s' = requests/s)"
for t in 1 16; do
  "$build/bench/sign_bench" --get /v1/me --threads "$t" --seconds "$secs" --label "signetd GET /v1/me"
done
echo "## signetd: POST /v1/keys/{id}/sign over HTTPS keep-alive"
for alg in ecdsa-p256 rsa-2048; do
  mech=ecdsa; [ "$alg" = rsa-2048 ] && mech=rsa-pkcs1
  for t in 1 4 16; do
    "$build/bench/sign_bench" --key "$(id_of "$alg")" --mech "$mech" \
        --threads "$t" --seconds "$secs" --label "signetd $alg"
  done
done
if [ -x "$top/bench/module_bench.sh" ]; then
  echo "## PKCS#11 C_Sign loops: signet-pkcs11.so vs p11-kit remoting vs SoftHSM2"
  "$top/bench/module_bench.sh" "$build" "$secs"
fi
