#!/bin/bash
# db_url.sh - `signetd init --db-url` and db_url in signetd.conf (issue 9):
# garbage is refused with a clear error and nothing written; a PostgreSQL
# URI that cannot be reached fails init without printing the URI (it may
# carry a password); an unknown scheme in signetd.conf stops serve.
# e2e-requires: signetd
source "$(dirname "$0")/lib.sh"

W=$E2E_DIR/work
for bad in "mysql://localhost/x" "sqlite:" "postgresq://x" "" "http://db/x"; do
	rm -rf "$W/d"
	"$SIGNETD" init --data-dir "$W/d" --db-url "$bad" >"$W/out" 2>"$W/err"
	rc=$?
	expect_eq "$rc" 2 "init --db-url '$bad': usage error"
	grep -q -- "--db-url" "$W/err" || _e2e_soft_fail "init --db-url '$bad': the error does not name --db-url: $(head -c 200 "$W/err")"
	[[ -e $W/d ]] && _e2e_soft_fail "init --db-url '$bad' created the data directory"
done

# unreachable server, a password in the URI: init fails, says so, never
# prints the password
rm -rf "$W/d"
"$SIGNETD" init --data-dir "$W/d" \
    --db-url "postgresql://signet:Sup3rSecretPw@127.0.0.1:1/signet?connect_timeout=2" \
    >"$W/out" 2>"$W/err"
rc=$?
expect_eq "$rc" 1 "init against an unreachable PostgreSQL fails"
grep -q "Sup3rSecretPw" "$W/out" "$W/err" && _e2e_soft_fail "init printed the database password"
grep -q '^snk_' "$W/out" && _e2e_soft_fail "a failed init printed an API key"
grep -qi "database" "$W/err" || _e2e_soft_fail "init's error does not say the database failed: $(head -c 300 "$W/err")"

# an unknown scheme written into signetd.conf: serve refuses to start
e2e_init
sed -i 's|^db_url = .*|db_url = mysql://localhost/signet|' "$D/signetd.conf"
timeout 20 "$SIGNETD" serve --data-dir "$D" --listen 127.0.0.1:0 >"$W/out" 2>"$W/err"
rc=$?
[[ $rc != 0 && $rc != 124 ]] || _e2e_soft_fail "serve with db_url = mysql://... exited $rc"
grep -q "db_url" "$W/err" || _e2e_soft_fail "serve's error does not name db_url: $(head -c 300 "$W/err")"
e2e_done
