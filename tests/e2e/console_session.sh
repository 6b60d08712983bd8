#!/bin/bash
# console_session.sh - the web console's session rules, with curl (the
# browser walk-through is console_browser.sh): garbage sign-ins change
# nothing; cookie flags; CSRF on every changing method; idle and absolute
# expiry; a session dies with its API key, its user, and at sign-out; the
# bearer header wins over a cookie; sessions stay in their tenant; pages
# need a session; only hashes are stored.
# e2e-requires: signetd
source "$(dirname "$0")/lib.sh"
e2e_require_tool sqlite3

e2e_init acme admin@acme.test
e2e_tenant_create beta admin@beta.test
BETA_KEY=$TENANT_KEY
e2e_serve

COOKIE=__Host-signet_session
H=$E2E_DIR/work/headers

# sess METHOD PATH [BODY] [CSRF] [COOKIEVALUE]: a cookie-authenticated call
# (no Authorization header); answer in last.body / last.status, headers in $H.
sess() {
	local method=$1 path=$2 body=${3-} csrf=${4-} cv=${5-$SESSION}
	local -a args=(-s --cacert "$SIGNET_CA_FILE" -X "$method" -D "$H"
	    -o "$E2E_DIR/last.body" -w '%{http_code}' -H "Cookie: $COOKIE=$cv")
	[[ -n $csrf ]] && args+=(-H "X-CSRF-Token: $csrf")
	[[ -n $body ]] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
	HTTP_STATUS=$(curl "${args[@]}" "$SIGNET_URL$path") || HTTP_STATUS=000
	printf '%s' "$HTTP_STATUS" >"$E2E_DIR/last.status"
	printf '%s %s (session) -> %s\n' "$method" "$path" "$HTTP_STATUS" >>"$E2E_DIR/responses.log"
	cat "$E2E_DIR/last.body" >>"$E2E_DIR/responses.log"
}

# signin KEY: opens a session; sets SESSION (cookie value) and CSRF.
signin() {
	local -a args=(-s --cacert "$SIGNET_CA_FILE" -D "$H" -o "$E2E_DIR/last.body"
	    -w '%{http_code}' -H 'Content-Type: application/json')
	HTTP_STATUS=$(curl "${args[@]}" --data-binary "{\"api_key\":\"$1\"}" \
	    "$SIGNET_URL/v1/session") || HTTP_STATUS=000
	printf '%s' "$HTTP_STATUS" >"$E2E_DIR/last.status"
	assert_status 201 "sign in"
	SESSION=$(tr -d '\r' <"$H" | sed -n "s/^[Ss]et-[Cc]ookie: $COOKIE=\([^;]*\);.*/\1/p")
	CSRF=$(jbody -r .csrf_token)
	[[ $SESSION == sns_* && ${#CSRF} == 43 ]] || fail "sign in: no cookie or CSRF token"
}

sessions() { db_exec "SELECT count(*) FROM console_sessions"; }
events() { db_exec "SELECT count(*) FROM audit_events WHERE action = '$1'"; }

# ---- garbage sign-ins: a clear 4xx, and nothing changes
mk_user plain@acme.test; PLAIN_KEY=$U_KEY; PLAIN_ID=$U_ID
mk_user gone@acme.test; GONE_KEY=$U_KEY; GONE_ID=$U_ID
api_q POST "/v1/users/$GONE_ID/disable" "" "$ADMIN_KEY"; assert_status 200
api_q POST /v1/apikeys '{"description":"to revoke"}' "$PLAIN_KEY"; assert_status 201
REVOKED_KEY=$(jbody -r .key); REVOKED_ID=$(jbody -r .id)
api_q DELETE "/v1/apikeys/$REVOKED_ID" "" "$PLAIN_KEY"; assert_status 200

before_sessions=$(sessions)
before_creates=$(events session.create)
bad() {	# bad STATUS BODY WHAT [CONTENT-TYPE]
	local -a args=(-s --cacert "$SIGNET_CA_FILE" -o "$E2E_DIR/last.body" -w '%{http_code}'
	    -H "Content-Type: ${4:-application/json}")
	[[ $2 != NONE ]] && args+=(--data-binary "$2")
	HTTP_STATUS=$(curl "${args[@]}" -X POST "$SIGNET_URL/v1/session") || HTTP_STATUS=000
	printf '%s' "$HTTP_STATUS" >"$E2E_DIR/last.status"
	expect_status "$1" "sign-in with $3"
	check_error_shape "sign-in with $3"
}
long=$(printf 'a%.0s' {1..200})
bad 400 NONE "no body"
bad 400 '[]' "an array"
bad 400 '{"api_key":' "malformed JSON"
bad 400 '{"api_key":42}' "a number"
bad 400 '{"api_key":null}' "null"
bad 400 '{"api_key":["snk_"]}' "an array key"
bad 400 "{\"api_key\":\"$PLAIN_KEY\",\"remember\":true}" "an unknown field"
bad 400 "{\"api_key\":\"$PLAIN_KEY\",\"api_key\":\"$PLAIN_KEY\"}" "a duplicate member"
bad 400 "{\"api_key\":\"$long\"}" "an over-long key"
bad 400 '{"api_key":"snk_\u0000"}' "a NUL"
bad 401 '{"api_key":""}' "an empty key"
bad 401 '{"api_key":"snk_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}' "an unknown key"
# another valid last character (one of AEIMQUYcgkosw048), never the same
[[ ${PLAIN_KEY: -1} == A ]] && wrong=${PLAIN_KEY%?}E || wrong=${PLAIN_KEY%?}A
bad 401 "{\"api_key\":\"$wrong\"}" "a wrong secret"
bad 401 "{\"api_key\":\"$REVOKED_KEY\"}" "a revoked key"
bad 401 "{\"api_key\":\"$GONE_KEY\"}" "a disabled user's key"
bad 401 '{"api_key":"sna_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}' "an access token"
bad 401 '{"api_key":"sns_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}' "a session secret"
bad 415 "api_key=$PLAIN_KEY" "a form body" application/x-www-form-urlencoded
bad 415 "{\"api_key\":\"$PLAIN_KEY\"}" "JSON sent as text/plain" text/plain
bad 415 "{\"api_key\":\"$PLAIN_KEY\"}" "JSON sent as application/jsonx" application/jsonx
expect_eq "$(sessions)" "$before_sessions" "no session row after garbage sign-ins"
expect_eq "$(events session.create)" "$before_creates" "no session.create after garbage sign-ins"

# ---- a good sign-in: cookie flags, no key in the answer, only a hash stored
signin "$ADMIN_KEY"
setc=$(tr -d '\r' <"$H" | grep -i '^set-cookie:')
for flag in "Path=/" "Secure" "HttpOnly" "SameSite=Strict" "Max-Age=43200"; do
	expect_contains "$setc" "; $flag" "Set-Cookie has $flag"
done
expect_eq "$(jbody -r .user.email)" admin@acme.test "sign-in answer names the user"
assert_not_contains "$(cat "$E2E_DIR/last.body")" "$ADMIN_KEY" "sign-in answer"
expect_secret_not_stored "$SESSION" "session cookie"
n=$(db_exec "SELECT count(*) FROM console_sessions WHERE length(secret_hash) = 32 AND ended_at IS NULL")
expect_eq "$n" 1 "one live session, stored as a 32-byte hash"
ADMIN_SESSION=$SESSION ADMIN_CSRF=$CSRF
sess GET /v1/me; expect_status 200 "GET with the cookie"
expect_eq "$(jbody -r .credential_id)" "$(db_exec 'SELECT id FROM console_sessions')" "credential is the session"
sess GET /v1/session; expect_status 200 "GET /v1/session"
expect_eq "$(jbody -r .csrf_token)" "$CSRF" "the same CSRF token on reload"

# ---- CSRF: every changing method needs the session's own token
before=$(db_exec "SELECT count(*) FROM projects")
sess POST /v1/projects '{"name":"nocsrf"}'; expect_status 403 "POST without CSRF"; check_error_shape
[[ ${CSRF: -1} == x ]] && wrong=${CSRF%?}y || wrong=${CSRF%?}x
sess POST /v1/projects '{"name":"nocsrf"}' "$wrong"; expect_status 403 "POST with a wrong CSRF token"
sess POST /v1/projects '{"name":"nocsrf"}' "$CSRF$CSRF"; expect_status 403 "POST with an over-long CSRF token"
sess POST /v1/projects '{"name":"nocsrf"}' ""; expect_status 403 "POST with an empty CSRF token"
sess PUT /v1/keys/x/certificate '{"chain":"x"}'; expect_status 403 "PUT without CSRF"
sess DELETE /v1/apikeys/key_0000000000000000; expect_status 403 "DELETE without CSRF"
sess DELETE /v1/session; expect_status 403 "sign-out without CSRF"
expect_eq "$(db_exec "SELECT count(*) FROM projects")" "$before" "nothing created without CSRF"
n=$(events session.csrf); expect_eq "$n" 7 "each CSRF refusal is audited"
signin "$PLAIN_KEY"; PLAIN_SESSION=$SESSION PLAIN_CSRF=$CSRF
sess POST /v1/projects '{"name":"othercsrf"}' "$PLAIN_CSRF" "$ADMIN_SESSION"
expect_status 403 "another session's CSRF token"
sess POST /v1/projects '{"name":"withcsrf"}' "$ADMIN_CSRF" "$ADMIN_SESSION"
expect_status 201 "POST with the CSRF token"
PROJECT_ID=$(jbody -r .project.id)

# ---- the bearer header wins; a session secret is no bearer
api_q GET /v1/me "" "$PLAIN_KEY"; expect_eq "$(jbody -r .email)" plain@acme.test
code=$(curl -s --cacert "$SIGNET_CA_FILE" -o /dev/null -w '%{http_code}' \
    -H "Authorization: Bearer $PLAIN_KEY" -H "Cookie: $COOKIE=$ADMIN_SESSION" \
    -X POST -H 'Content-Type: application/json' --data-binary '{"name":"bearerwins"}' \
    "$SIGNET_URL/v1/projects")
expect_eq "$code" 403 "bearer of a plain user + admin cookie acts as the plain user"
api_q GET /v1/me "" "$ADMIN_SESSION"; expect_status 401 "session secret as a bearer"
api_q GET /v1/session "" "$ADMIN_KEY"; expect_status 404 "GET /v1/session with a bearer"

# ---- forged cookies
[[ ${ADMIN_SESSION: -1} == A ]] && wrong=${ADMIN_SESSION%?}E || wrong=${ADMIN_SESSION%?}A
sess GET /v1/me "" "" "$wrong"; expect_status 401 "a tampered cookie"
sess GET /v1/me "" "" "sns_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"; expect_status 401 "an unknown session"
sess GET /v1/me "" "" "$ADMIN_KEY"; expect_status 401 "an API key as the cookie"
sess GET /v1/me "" "" "garbage"; expect_status 401 "garbage cookie"

# ---- pages: only with a live session
sess GET /projects "" "" "$ADMIN_SESSION"; expect_status 200 "page with a session"
hdr=$(tr -d '\r' <"$H")
expect_contains "$hdr" "Content-Type: text/html" "page is HTML"
expect_contains "$hdr" "X-Frame-Options: DENY" "page X-Frame-Options"
expect_contains "$hdr" "Content-Security-Policy: default-src 'none'; script-src 'self'" "page CSP"
assert_not_contains "$hdr" "unsafe-inline" "page CSP"
sess GET /projects "" "" "garbage"; expect_status 303 "page with a bad cookie"
expect_contains "$(tr -d '\r' <"$H")" "Location: /signin" "redirect to the sign-in page"
code=$(curl -s --cacert "$SIGNET_CA_FILE" -o /dev/null -w '%{http_code}' "$SIGNET_URL/keys")
expect_eq "$code" 303 "page without a cookie"
code=$(curl -s --cacert "$SIGNET_CA_FILE" -o /dev/null -w '%{http_code}' "$SIGNET_URL/assets/0000000000000000/app.js")
expect_eq "$code" 404 "asset of another build"
code=$(curl -s --cacert "$SIGNET_CA_FILE" -o /dev/null -w '%{http_code}' -X POST "$SIGNET_URL/projects")
expect_eq "$code" 405 "POST to a page"

# ---- tenants: a session acts in its own tenant only
signin "$BETA_KEY"
sess GET "/v1/projects/$PROJECT_ID"; expect_status 404 "beta session on an acme project"
sess GET /v1/projects; expect_eq "$(jbody -r '.projects | length')" 0 "beta session lists no acme projects"

# ---- idle and absolute expiry (moved into the past in the database)
signin "$PLAIN_KEY"; S1=$SESSION
sid=$(db_exec "SELECT id FROM console_sessions WHERE id = 'ses_${S1:4:16}'")
db_exec "UPDATE console_sessions SET last_seen_at = last_seen_at - 1801 WHERE id = '$sid'"
sess GET /v1/me "" "" "$S1"; expect_status 401 "idle for 30 minutes"
signin "$PLAIN_KEY"; S2=$SESSION
db_exec "UPDATE console_sessions SET last_seen_at = last_seen_at - 600 WHERE id = 'ses_${S2:4:16}'"
sess GET /v1/me "" "" "$S2"; expect_status 200 "idle for 10 minutes"
db_exec "UPDATE console_sessions SET expires_at = strftime('%s','now') - 1 WHERE id = 'ses_${S2:4:16}'"
sess GET /v1/me "" "" "$S2"; expect_status 401 "past the absolute lifetime"

# ---- a session dies with its API key and with its user
api_q POST /v1/apikeys '{"description":"console"}' "$PLAIN_KEY"; assert_status 201
K2=$(jbody -r .key); K2_ID=$(jbody -r .id)
signin "$K2"; S3=$SESSION
sess GET /v1/me "" "" "$S3"; expect_status 200 "session of key 2"
sess GET /v1/me "" "" "$PLAIN_SESSION"; expect_status 200 "session of key 1"
api_q DELETE "/v1/apikeys/$K2_ID" "" "$PLAIN_KEY"; assert_status 200
sess GET /v1/me "" "" "$S3"; expect_status 401 "session after its API key was revoked"
sess GET /v1/me "" "" "$PLAIN_SESSION"; expect_status 200 "a session of another key lives on"
api_q POST "/v1/users/$PLAIN_ID/disable" "" "$ADMIN_KEY"; assert_status 200
sess GET /v1/me "" "" "$PLAIN_SESSION"; expect_status 401 "session after its user was disabled"
sess GET / "" "" "$PLAIN_SESSION"; expect_status 303 "page after the user was disabled"

# ---- sign-out
SESSION=$ADMIN_SESSION
sess DELETE /v1/session "" "$ADMIN_CSRF"; expect_status 200 "sign-out"
expect_contains "$(tr -d '\r' <"$H")" "Set-Cookie: $COOKIE=; Path=/; Max-Age=0" "sign-out clears the cookie"
sess GET /v1/me; expect_status 401 "the cookie after sign-out"
sess DELETE /v1/session "" "$ADMIN_CSRF"; expect_status 401 "second sign-out"
expect_eq "$(db_exec "SELECT count(*) FROM console_sessions WHERE id = 'ses_${ADMIN_SESSION:4:16}' AND ended_at IS NOT NULL")" 1 "ended_at set"
expect_eq "$(events session.end)" 1 "session.end audited"
n=$(db_exec "SELECT count(*) FROM audit_events WHERE action = 'auth.failure' AND details LIKE '%\"credential\":\"session\"%'")
[[ $n -ge 5 ]] || _e2e_soft_fail "bad session cookies are auth.failure events ($n)"
api GET /v1/audit/verify "" "$ADMIN_KEY"; expect_eq "$(jbody -r .ok)" true "audit chain verifies"

# ---- the audit view's filters (actor, action, until): garbage is a 400/404
for q in "action=Key.Sign" "action=key%20sign" "action=" "until=yesterday" "until=2026-13-01T00:00:00Z" \
    "action=$(printf 'a%.0s' {1..65})"; do
	api_q GET "/v1/audit?$q" "" "$ADMIN_KEY"; expect_status 400 "audit ?$q"; check_error_shape "audit ?$q"
done
api_q GET "/v1/audit?actor=nobody@acme.test" "" "$ADMIN_KEY"; expect_status 404 "audit ?actor= unknown"
api_q GET "/v1/audit?actor=admin@beta.test" "" "$ADMIN_KEY"; expect_status 404 "audit ?actor= of another tenant"
api_q GET "/v1/audit?actor=plain@acme.test&action=session.create&limit=1000" "" "$ADMIN_KEY"; expect_status 200
expect_eq "$(jbody -r "[.events[] | select(.actor_id != \"$PLAIN_ID\" or .action != \"session.create\")] | length")" 0 "actor+action filter"
[[ $(jbody -r '.events | length') -ge 3 ]] || _e2e_soft_fail "plain's session.create events found"
api_q GET "/v1/audit?until=2000-01-01T00:00:00Z" "" "$ADMIN_KEY"; expect_status 200
expect_eq "$(jbody -r '.events | length')" 0 "nothing before 2000"

e2e_stop_server
e2e_done
