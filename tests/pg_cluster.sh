#!/usr/bin/env bash
# pg_cluster.sh start ENVFILE [fsync] | stop ENVFILE
#
# A private PostgreSQL cluster for the tests (Debian's `postgresql`
# package): initdb into a new temporary directory, a unix socket there and
# a free loopback port, trust authentication for the one superuser
# "signet", C collation (ORDER BY on text as SQLite's binary order).
# Started as an unprivileged user: postgres refuses to run as root, and CI
# runs as root, so then the cluster belongs to `nobody`.
#
# start writes ENVFILE (sourced by tests/e2e/lib.sh and bench/):
#   SIGNET_PG_DIR SIGNET_PG_BIN SIGNET_PG_HOST SIGNET_PG_PORT SIGNET_PG_USER
# stop stops that cluster and removes its directory. fsync (the bench)
# keeps PostgreSQL's durability settings; the tests turn fsync off, since
# no test crashes PostgreSQL itself.
set -euo pipefail

cmd=${1:?usage: pg_cluster.sh start|stop ENVFILE}
envfile=${2:?usage: pg_cluster.sh start|stop ENVFILE}

pgbin() {
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
	[[ -n $d && -x $d/initdb ]] || { echo "pg_cluster: no PostgreSQL (apt-get install postgresql)" >&2; exit 77; }
	echo "$d"
}

as_owner() {
	if [[ $(id -u) == 0 ]]; then
		runuser -u nobody -- "$@"
	else
		"$@"
	fi
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

case $cmd in
start)
	bin=$(pgbin)
	if [[ -f $envfile ]]; then
		# A cluster left by an interrupted run: stop it first.
		"$0" stop "$envfile" || true
	fi
	dir=$(mktemp -d "${TMPDIR:-/tmp}/signet-pg.XXXXXX")
	chmod 755 "$dir"
	[[ $(id -u) == 0 ]] && chown nobody "$dir"
	port=$(free_port)
	as_owner "$bin/initdb" -D "$dir/data" -U signet --auth=trust \
	    --locale=C -E UTF8 >"$dir/initdb.log" 2>&1 || {
		cat "$dir/initdb.log" >&2; exit 1; }
	fs=off
	[[ ${3:-} == fsync ]] && fs=on
	cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 400
shared_buffers = 128MB
fsync = $fs
synchronous_commit = $fs
full_page_writes = $fs
log_min_messages = warning
EOF
	as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
	    start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
	cat >"$envfile" <<EOF
SIGNET_PG_DIR=$dir
SIGNET_PG_BIN=$bin
SIGNET_PG_HOST=$dir
SIGNET_PG_PORT=$port
SIGNET_PG_USER=signet
EOF
	echo "pg_cluster: PostgreSQL on $dir (port $port)"
	;;
stop)
	[[ -f $envfile ]] || exit 0
	# shellcheck disable=SC1090
	. "$envfile"
	if [[ -d $SIGNET_PG_DIR/data ]]; then
		as_owner "$SIGNET_PG_BIN/pg_ctl" -D "$SIGNET_PG_DIR/data" -m fast \
		    -w -t 60 stop >/dev/null 2>&1 || true
	fi
	rm -rf "$SIGNET_PG_DIR" "$envfile"
	;;
*)
	echo "usage: pg_cluster.sh start|stop ENVFILE" >&2
	exit 2
	;;
esac
