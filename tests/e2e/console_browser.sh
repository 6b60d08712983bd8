#!/bin/bash
# console_browser.sh - the web console in a real browser: Debian's chromium
# driven by playwright-core (tests/console, installed by scripts/deps.sh
# with `npm ci`) against a real signetd. The walk-through itself is
# tests/console/console.test.mjs; this driver starts the server, makes a
# service-account key pair for the upload, then checks from the outside
# what the browser run must have left behind (audit events, session rows).
#
# Screenshots go to $E2E_DIR/shots; with CONSOLE_SHOTS_OUT=DIR they are
# also copied there (how docs/console/ is refreshed:
#   CONSOLE_SHOTS_OUT=$PWD/docs/console ctest -R e2e_console_browser).
# e2e-requires: signetd
source "$(dirname "$0")/lib.sh"
e2e_require_tool openssl

CONSOLE_DIR=$SIGNET_SOURCE_DIR/tests/console
expect_true() { local what=$1; shift; "$@" || _e2e_soft_fail "$what"; }
missing=
command -v node >/dev/null 2>&1 || missing="node"
[[ -x /usr/bin/chromium ]] || missing="$missing chromium"
[[ -d $CONSOLE_DIR/node_modules/playwright-core ]] || missing="$missing playwright-core (npm ci in tests/console)"
if [[ -n $missing ]]; then
	# scripts/deps.sh installs all three; CI must never skip this test.
	if [[ ${CI:-} == true ]]; then
		fail "missing: $missing (scripts/deps.sh installs them)"
	fi
	echo "SKIP: $E2E_NAME needs$missing (run scripts/deps.sh)" >&2
	exit 77
fi

e2e_init
e2e_serve
mk_ec_keypair "$E2E_DIR/work/ci.key"
mk_ec_keypair "$E2E_DIR/work/ci2.key"
mk_ec_keypair "$E2E_DIR/work/old.key"
mkdir -p "$E2E_DIR/shots"

SIGNET_URL=$SIGNET_URL ADMIN_KEY=$ADMIN_KEY SA_PUB=$E2E_DIR/work/ci.key.pub \
    SA_PUB2=$E2E_DIR/work/ci2.key.pub SA_PUB3=$E2E_DIR/work/old.key.pub \
    SHOT_DIR=$E2E_DIR/shots E2E_DIR=$E2E_DIR \
    node "$CONSOLE_DIR/console.test.mjs" || fail "browser walk-through failed"

# What the browser did is on the record, in the tenant's chain.
for a in session.create session.end session.csrf user.create project.create \
    key.create key.revoke project.signer.add team.create team.member.add \
    service_account.create service_account.rotate_key service_account.delete apikey.create apikey.revoke user.disable key.csr; do
	n=$(db_exec "SELECT count(*) FROM audit_events WHERE action = '$a' AND tenant_id <> ''")
	expect_true "audit has $a ($n)" test "${n:-0}" -ge 1
done
# No session row holds its secret: only 32-byte hashes.
n=$(db_exec "SELECT count(*) FROM console_sessions WHERE length(secret_hash) <> 32")
expect_true "session secrets stored as hashes only" test "$n" = 0
n=$(db_exec "SELECT count(*) FROM console_sessions WHERE ended_at IS NOT NULL")
expect_true "sign-out recorded in the session row ($n)" test "$n" -ge 1
api GET /v1/audit/verify "" "$ADMIN_KEY"
expect_true "audit chain verifies after the browser run" test "$(jbody -r .ok)" = true

if [[ -n ${CONSOLE_SHOTS_OUT:-} ]]; then
	mkdir -p "$CONSOLE_SHOTS_OUT"
	cp "$E2E_DIR"/shots/*.png "$CONSOLE_SHOTS_OUT"/
fi
e2e_stop_server
e2e_done
