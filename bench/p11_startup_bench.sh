#!/usr/bin/env bash
# Start-up cost of a signing process through signet-pkcs11.so, the way
# osslsigncode or jarsigner pay it once per file: a fresh process loads the
# module (C_Initialize), finds the key and signs once. At 10 and 1000 keys
# the caller may sign with (one real key with a built-in CA certificate;
# the others rows beside it that carry its public key and certificate):
#   by id      pkcs11-tool --sign --id ID (the template names the key:
#              GET /v1/me/keys?key=, one key fetched)
#   by URI     openssl + pkcs11-provider, pkcs11:object=PROJECT%2FKEY
#   libp11     openssl + the libp11 engine (osslsigncode's path): it
#              searches by class alone, so every key is listed
#   list all   pkcs11-tool --list-objects (a template that names no key)
# These run with the listing cache off (listing_cache = off); the two
# class-only searches (libp11, list all) then run through it:
#   cache revalid.   the default (cache on, listing_cache_ttl 0): the entry
#                    a previous process saved, revalidated with one
#                    conditional request (a 304)
#   cache in TTL     listing_cache_ttl = 1h: the entry used without asking
# Prints the median and p90 wall time of RUNS processes per case.
#   bench/p11_startup_bench.sh [build-dir] [runs]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
runs=${2:-20}
signetd=$build/src/server/signetd
signet=$build/src/cli/signet
module=$build/src/pkcs11/signet-pkcs11.so

work=$(mktemp -d)
trap 'kill $(cat "$work/pid" 2>/dev/null) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
key=$("$signetd" init --data-dir "$work/d" --tenant bench --admin bench@example.test | tail -n1)
"$signetd" serve --data-dir "$work/d" --listen 127.0.0.1:0 --port-file "$work/port" \
    2>"$work/server.log" & echo $! >"$work/pid"
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
export SIGNET_URL=https://127.0.0.1:$(cat "$work/port")
export SIGNET_API_KEY=$key SIGNET_CA_FILE=$work/d/server-ca.pem SIGNET_CONFIG=$work/client.conf
export XDG_RUNTIME_DIR=$work/run	# the listing cache's directory
mkdir -m 700 "$XDG_RUNTIME_DIR"
# cache MODE: the client config for off | revalid. | in TTL
cache() {
	case $1 in
	off) echo "listing_cache = off" ;;
	revalid.) echo "listing_cache = on" ;;
	"in TTL") printf 'listing_cache = on\nlisting_cache_ttl = 1h\n' ;;
	esac >"$SIGNET_CONFIG"
	chmod 600 "$SIGNET_CONFIG"
}
cache off
"$signet" project create rel >/dev/null
"$signet" project add-signer rel --user bench@example.test >/dev/null
"$signet" key create rel zz --algorithm ecdsa-p256 >/dev/null
kid=$("$signet" key show rel/zz --json | jq -r '.key.id // .id')
hexid=$(printf '%s' "$kid" | od -An -tx1 | tr -d ' \n')
head -c 4096 /dev/urandom >"$work/payload"

cat >"$work/engine.cnf" <<EOF
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = /usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so
MODULE_PATH = $module
init = 0
EOF
cat >"$work/provider.cnf" <<EOF
openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
default = default_sect
pkcs11 = pkcs11_sect
[default_sect]
activate = 1
[pkcs11_sect]
module = /usr/lib/x86_64-linux-gnu/ossl-modules/pkcs11.so
pkcs11-module-path = $module
activate = 1
EOF

# seed N: bulk keys until the caller may sign with N keys in all
seed() {
	local have
	have=$(sqlite3 "$work/d/signet.db" "select count(*) from signing_keys")
	[ "$have" -ge "$1" ] && return
	sqlite3 -cmd ".timeout 10000" "$work/d/signet.db" "BEGIN;
	WITH RECURSIVE n(i) AS (SELECT $have UNION ALL SELECT i + 1 FROM n WHERE i < $1 - 1)
	INSERT INTO signing_keys (id, tenant_id, project_id, name, algorithm, state, not_before,
	  not_after, ca_mode, ca_id, hsm_key_id, public_key_pem, cert_pem, chain_pem, created_at)
	SELECT 'skey_bulk' || substr(CAST(1000000 + i AS TEXT), 2), k.tenant_id, k.project_id,
	  'k' || substr(CAST(1000000 + i AS TEXT), 2), k.algorithm, 'active', k.not_before,
	  k.not_after, k.ca_mode, k.ca_id, k.hsm_key_id, k.public_key_pem, k.cert_pem,
	  k.chain_pem, k.created_at
	FROM n, signing_keys k WHERE k.id = '$kid'; COMMIT;"
}

one() {
	case $1 in
	"by id") pkcs11-tool --module "$module" --sign --id "$hexid" -m ECDSA-SHA256 \
	    -i "$work/payload" -o "$work/sig" ;;
	"by URI") OPENSSL_CONF=$work/provider.cnf openssl dgst -sha256 \
	    -sign "pkcs11:token=Signet;object=rel%2Fzz;type=private" -out "$work/sig" "$work/payload" ;;
	libp11) OPENSSL_CONF=$work/engine.cnf openssl dgst -sha256 -engine pkcs11 -keyform engine \
	    -sign "pkcs11:token=Signet;object=rel%2Fzz;type=private" -out "$work/sig" "$work/payload" ;;
	"list all") pkcs11-tool --module "$module" --list-objects ;;
	esac
}

# time N CASE [LABEL]: one warm-up process (it fails the bench if it
# fails, and fills the cache when one is on), then RUNS timed ones
time_case() {
	one "$2" >/dev/null 2>"$work/err" || { echo "$2 at $1 keys failed: $(cat "$work/err")" >&2; exit 1; }
	for _ in $(seq "$runs"); do
		s=$(date +%s%N)
		one "$2" >/dev/null 2>&1
		echo $(( ($(date +%s%N) - s) / 1000 ))
	done | sort -n | awk -v n="$1" -v c="${3:-$2}" '{ v[NR] = $1 }
	    END { printf "| %d | %s | %.1f | %.1f |\n", n, c, v[int((NR + 1) / 2)] / 1000, v[int(NR * 0.9 + 0.5)] / 1000 }'
}

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(nproc) cores, $runs processes per case"
echo "| keys | case | p50 ms | p90 ms |"
echo "|---:|---|---:|---:|"
for n in 10 1000; do
	seed "$n"
	cache off
	for c in "by id" "by URI" libp11 "list all"; do
		time_case "$n" "$c"
	done
	# the class-only searches again, through the cache
	for c in libp11 "list all"; do
		for m in revalid. "in TTL"; do
			cache "$m"
			rm -f "$XDG_RUNTIME_DIR"/signet/keys-*.json
			time_case "$n" "$c" "$c, cache $m"
		done
	done
done
