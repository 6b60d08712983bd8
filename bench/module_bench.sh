#!/usr/bin/env bash
# C_Sign loops in one process, side by side:
#   signet-pkcs11.so  -> HTTPS -> signetd -> keeper -> SoftHSM2
#   p11-kit-client.so -> unix socket -> p11-kit server -> SoftHSM2
#   SoftHSM2 directly (in-process)
# Called by bench/run.sh with SIGNET_URL / SIGNET_API_KEY / SIGNET_CA_FILE set
# and signetd keys bench/ecdsa-p256 and bench/rsa-2048 (CKA_LABEL PROJECT/KEY)
# that the caller may sign with.
#   bench/module_bench.sh BUILD SECONDS
set -euo pipefail
build=$1
secs=$2
bench=$build/bench/p11_sign_bench
softhsm=/usr/lib/softhsm/libsofthsm2.so
client=$(find /usr/lib -name p11-kit-client.so -path '*pkcs11*' | head -n1)
module=$build/src/pkcs11/signet-pkcs11.so

work=$(mktemp -d)
trap 'p11-kit server -k >/dev/null 2>&1 || true; [ -n "${srvpid:-}" ] && kill "$srvpid" 2>/dev/null; rm -rf "$work"' EXIT

# A separate SoftHSM2 token with the same key types for the two baselines.
mkdir -p "$work/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$work" >"$work/softhsm2.conf"
export SOFTHSM2_CONF=$work/softhsm2.conf
softhsm2-util --init-token --free --label bench --pin 1234 --so-pin 123456 >/dev/null
for spec in "EC:prime256v1 ecdsa-p256" "rsa:2048 rsa-2048"; do
  set -- $spec
  pkcs11-tool --module "$softhsm" --token-label bench --login --pin 1234 \
      --keypairgen --key-type "$1" --label "$2" >/dev/null
done

eval "$(p11-kit server --provider "$softhsm" -n "$work/p11kit.sock" 'pkcs11:token=bench' 2>/dev/null)"
srvpid=${P11_KIT_SERVER_PID:-}

for alg in ecdsa-p256 rsa-2048; do
  mech=ecdsa; [ "$alg" = rsa-2048 ] && mech=rsa-pkcs1
  for t in 1 4; do
    if [ -e "$module" ]; then
      "$bench" --module "$module" --label "bench/$alg" --mech "$mech" --threads "$t" \
          --seconds "$secs" --name "signet-pkcs11 $alg"
    fi
    "$bench" --module "$client" --pin 1234 --label "$alg" --mech "$mech" \
        --threads "$t" --seconds "$secs" --name "p11-kit remote $alg"
    "$bench" --module "$softhsm" --token bench --pin 1234 --label "$alg" \
        --mech "$mech" --threads "$t" --seconds "$secs" --name "softhsm2 direct $alg"
  done
done
