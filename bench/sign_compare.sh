#!/usr/bin/env bash
# sign_compare.sh - POST /v1/keys/{id}/sign over HTTPS, two builds side by
# side in ONE run (docs/PERFORMANCE.md "group commit"): for each build a
# fresh data dir and signetd, ECDSA P-256 and RSA-2048 at 1, 4 and 16
# clients, the cases interleaved build by build so that a loaded machine
# slows both alike; plus raw SoftHSM2 C_Sign with 2 threads on the same
# token (the issue's yardstick).
#   bench/sign_compare.sh BASE-BUILD NEW-BUILD [seconds-per-case] [rounds]
# Each build must have src/server/signetd, src/cli/signet and bench/.
set -euo pipefail
base=${1:?base build dir}
new=${2:?new build dir}
secs=${3:-5}
rounds=${4:-1}

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# start NAME BUILD: a server of that build; sets ${NAME}_url, _key, _ca, _ec, _rsa
start() {
	local n=$1 b=$2 d=$work/$1 key port
	key=$("$b/src/server/signetd" init --data-dir "$d" --tenant bench \
	    --admin bench@example.test | tail -n1)
	"$b/src/server/signetd" serve --data-dir "$d" --listen 127.0.0.1:0 \
	    --port-file "$d.port" 2>"$d.log" &
	pids+=($!)
	for _ in $(seq 100); do [ -s "$d.port" ] && break; sleep 0.1; done
	export SIGNET_URL=https://127.0.0.1:$(cat "$d.port")
	export SIGNET_API_KEY=$key SIGNET_CA_FILE=$d/server-ca.pem
	export SIGNET_CONFIG=$d.client.conf
	"$b/src/cli/signet" project create bench >/dev/null
	"$b/src/cli/signet" project add-signer bench --user bench@example.test >/dev/null
	for alg in ecdsa-p256 rsa-2048; do
		"$b/src/cli/signet" key create bench "$alg" --algorithm "$alg" \
		    --ca none >/dev/null
	done
	eval "${n}_url=\$SIGNET_URL ${n}_key=\$key ${n}_ca=\$SIGNET_CA_FILE"
	eval "${n}_ec=$("$b/src/cli/signet" key show bench/ecdsa-p256 --json | jq -r '.key.id // .id')"
	eval "${n}_rsa=$("$b/src/cli/signet" key show bench/rsa-2048 --json | jq -r '.key.id // .id')"
}
start base "$base"
start new "$new"

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), ${secs}s per case"
echo "## raw SoftHSM2 C_Sign in process, 2 threads (the new server's token)"
pin=$(cat "$work/new/hsm/pin")
for alg in ecdsa-p256 rsa-2048; do
	mech=ecdsa; id=$new_ec
	[ "$alg" = rsa-2048 ] && { mech=rsa-pkcs1; id=$new_rsa; }
	SOFTHSM2_CONF=$work/new/hsm/softhsm2.conf "$new/bench/p11_sign_bench" \
	    --module /usr/lib/softhsm/libsofthsm2.so --token signet --pin "$pin" \
	    --label "$id" --mech "$mech" --seconds "$secs" --threads 2 \
	    --name "softhsm2 $alg"
done
echo "## POST /v1/keys/{id}/sign over HTTPS keep-alive, base vs new"
for ((r = 1; r <= rounds; r++)); do
	for alg in ecdsa-p256 rsa-2048; do
		mech=ecdsa; [ "$alg" = rsa-2048 ] && mech=rsa-pkcs1
		for t in 1 4 16; do
			for n in base new; do
				b=$base; [ $n = new ] && b=$new
				eval "export SIGNET_URL=\$${n}_url SIGNET_API_KEY=\$${n}_key SIGNET_CA_FILE=\$${n}_ca"
				if [ "$alg" = rsa-2048 ]; then eval "id=\$${n}_rsa"; else eval "id=\$${n}_ec"; fi
				"$b/bench/sign_bench" --key "$id" --mech "$mech" \
				    --threads "$t" --seconds "$secs" --label "$n $alg"
			done
		done
	done
done
