#!/usr/bin/env bash
# Signing throughput of 1, 2 and 3 signetd instances on one PostgreSQL
# behind HAProxy, against one instance on SQLite, in the same run; and the
# prepared-statement cache on the signing path (SQLite, cache on vs off).
# Per-instance CPU (signetd + its keeper) and PostgreSQL's CPU, from
# /proc, over each case. PostgreSQL keeps fsync on here (the tests turn it
# off): every case makes its audit events durable before it answers.
#   bench/scale_bench.sh [build-dir] [seconds-per-case] [client-threads]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
secs=${2:-10}
threads=${3:-8}
signetd=$build/src/server/signetd
signet=$build/src/cli/signet
work=$(mktemp -d)
pids=()
hp_pid=
cleanup() {
	local p
	[[ -n $hp_pid ]] && kill "$hp_pid" 2>/dev/null
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	bash "$top/tests/pg_cluster.sh" stop "$work/pg.env" || true
	rm -rf "$work"
}
trap cleanup EXIT
tck=$(getconf CLK_TCK)

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# CPU ticks (user + system) of a process and its children (the keeper).
ticks() {
	local p t=0 k
	for p in "$@"; do
		for k in "$p" $(ps -o pid= --ppid "$p" 2>/dev/null); do
			[[ -r /proc/$k/stat ]] || continue
			t=$((t + $(awk '{print $14 + $15}' "/proc/$k/stat")))
		done
	done
	echo "$t"
}
pg_ticks() {
	local pm
	pm=$(head -n1 "$SIGNET_PG_DIR/data/postmaster.pid")
	ticks "$pm"
}

bash "$top/tests/pg_cluster.sh" start "$work/pg.env" fsync >/dev/null
# shellcheck disable=SC1091
. "$work/pg.env"

# setup DIR [DB_URL]: init, one tenant, a project with a signer, a key.
setup() {
	local dir=$1 url=${2:-} args=()
	[[ -n $url ]] && args=(--db-url "$url")
	"$signetd" init --data-dir "$dir" "${args[@]}" --tenant bench \
	    --admin bench@example.test | tail -n1 >"$dir.key"
}
start() {	# start DIR N: N instances on DIR; sets PORTS
	local dir=$1 n=$2 i port
	PORTS=()
	for ((i = 0; i < n; i++)); do
		port=$(free_port)
		"$signetd" serve --data-dir "$dir" --listen "127.0.0.1:$port" \
		    2>>"$dir.log" &
		pids+=($!)
		PORTS+=("$port")
	done
	for port in "${PORTS[@]}"; do
		for _ in $(seq 300); do
			curl -s -o /dev/null --cacert "$dir/server-ca.pem" \
			    "https://127.0.0.1:$port/healthz" && break
			sleep 0.1
		done
	done
}
balance() {	# balance: haproxy over PORTS; sets URL
	local hp p i=0
	hp=$(free_port)
	{
		printf '%s\n' "global" "  maxconn 512" "defaults" "  mode tcp" \
		    "  timeout connect 2s" "  timeout client 60s" "  timeout server 60s" \
		    "frontend fe" "  bind 127.0.0.1:$hp" "  default_backend be" \
		    "backend be" "  balance roundrobin"
		for p in "${PORTS[@]}"; do echo "  server s$i 127.0.0.1:$p"; i=$((i + 1)); done
	} >"$work/haproxy.cfg"
	haproxy -f "$work/haproxy.cfg" -db >/dev/null 2>&1 &
	hp_pid=$!
	sleep 0.5
	URL=https://127.0.0.1:$hp
}
stop_all() {
	local p
	[[ -n $hp_pid ]] && { kill "$hp_pid" 2>/dev/null; wait "$hp_pid" 2>/dev/null || true; }
	hp_pid=
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	pids=()
}
mkkey() {	# mkkey DIR URL: project + signer + key; prints the key id
	SIGNET_URL=$2 SIGNET_API_KEY=$(cat "$1.key") SIGNET_CA_FILE=$1/server-ca.pem \
	    SIGNET_CONFIG=$work/client.conf bash -c '
		"$0" project create bench >/dev/null
		"$0" project add-signer bench --user bench@example.test >/dev/null
		"$0" key create bench k --algorithm ecdsa-p256 --ca none >/dev/null
		"$0" key show bench/k --json | jq -r ".key.id // .id"' "$signet"
}
# run LABEL DIR URL KEY: one sign_bench case; prints its line and CPU.
run() {
	local label=$1 dir=$2 url=$3 key=$4 t0 p0 t1 p1 p line cpu=""
	declare -a s0
	for p in "${pids[@]}"; do s0+=("$(ticks "$p")"); done
	p0=$(pg_ticks)
	line=$(SIGNET_URL=$url SIGNET_API_KEY=$(cat "$dir.key") \
	    SIGNET_CA_FILE=$dir/server-ca.pem SIGNET_CONFIG=$work/client.conf \
	    "$build/bench/sign_bench" --key "$key" --mech ecdsa --threads "$threads" \
	    --seconds "$secs" --label "$label")
	local i=0
	for p in "${pids[@]}"; do
		t1=$(ticks "$p")
		cpu="$cpu $(( (t1 - s0[i]) * 100 / tck / secs ))%"
		i=$((i + 1))
	done
	p1=$(pg_ticks)
	echo "$line | signetd CPU per instance:$cpu | postgres CPU $(( (p1 - p0) * 100 / tck / secs ))%"
}

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(nproc) cores, ${secs}s per case, $threads client threads, ecdsa-p256"

# SQLite: one instance, statement cache on (default) and off (baseline)
setup "$work/sq"
for cache in on off; do
	if [[ $cache == off ]]; then export SIGNET_DB_STMT_CACHE=0; else unset SIGNET_DB_STMT_CACHE; fi
	start "$work/sq" 1
	U=https://127.0.0.1:${PORTS[0]}
	[[ -f $work/sq.kid ]] || mkkey "$work/sq" "$U" >"$work/sq.kid"
	run "sqlite x1, statement cache $cache" "$work/sq" "$U" "$(cat "$work/sq.kid")"
	stop_all
done
unset SIGNET_DB_STMT_CACHE

# PostgreSQL: 1, 2, 3 instances on one database and data directory
"$SIGNET_PG_BIN/createdb" -h "$SIGNET_PG_HOST" -p "$SIGNET_PG_PORT" -U "$SIGNET_PG_USER" bench
PGURL="postgresql:///bench?host=$SIGNET_PG_HOST&port=$SIGNET_PG_PORT&user=$SIGNET_PG_USER"
setup "$work/pg" "$PGURL"
for n in 1 2 3; do
	start "$work/pg" "$n"
	balance
	[[ -f $work/pg.kid ]] || mkkey "$work/pg" "$URL" >"$work/pg.kid"
	run "postgresql x$n behind haproxy" "$work/pg" "$URL" "$(cat "$work/pg.kid")"
	stop_all
done
# PostgreSQL, one instance, cache off: the prepare round trips it saves
export SIGNET_DB_STMT_CACHE=0
start "$work/pg" 1
balance
run "postgresql x1, statement cache off" "$work/pg" "$URL" "$(cat "$work/pg.kid")"
stop_all
