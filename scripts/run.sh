#!/usr/bin/env bash
# Quick start: installs what is missing, builds, creates an embedded data
# directory on first run (SQLite + SoftHSM2 + built-in CA; the admin API key
# is printed once) and runs signetd in the foreground.
#   SIGNET_DATA_DIR (default ./data), SIGNET_LISTEN (default 127.0.0.1:8443)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh"
cmake -S "$top" -B "$top/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$top/build" -j"$(nproc)" >/dev/null

data=${SIGNET_DATA_DIR:-$top/data}
listen=${SIGNET_LISTEN:-127.0.0.1:8443}
if [ ! -e "$data/signet.db" ]; then
  echo "signet: first run: initialising $data" >&2
  "$top/build/src/server/signetd" init --data-dir "$data" --listen "$listen"
  echo "signet: the line above is the admin API key; it is not shown again." >&2
  echo "signet: clients trust the service with --ca-file $data/server-ca.pem" >&2
  echo "signet: web console: https://$listen/ (sign in with that key)" >&2
fi
exec "$top/build/src/server/signetd" serve --data-dir "$data" --listen "$listen"
