#!/bin/bash
# http_details.sh - the HTTP surface: content types, TLS versions and the
# server certificate's names, percent-encoded path segments and query
# values (emails with '+'), RFC 3339 UTC times everywhere, lists that are
# not silently truncated, odd methods.
# e2e-requires: signetd
source "$(dirname "$0")/lib.sh"
e2e_require_tool openssl

e2e_start_server
A=$ADMIN_KEY
W=$E2E_DIR/work
CURL=(curl -s --max-time 20 --cacert "$SIGNET_CA_FILE")

ctype() {	# ctype PATH [TOKEN]
	"${CURL[@]}" -o /dev/null -w '%{content_type}' ${2:+-H "Authorization: Bearer $2"} "$SIGNET_URL$1"
}
expect_contains "$(ctype /healthz)" application/json "Content-Type of /healthz"
expect_contains "$(ctype /v1/me "$A")" application/json "Content-Type of /v1/me"
expect_contains "$(ctype /v1/nope "$A")" application/json "Content-Type of a 404"
expect_contains "$(ctype /v1/me)" application/json "Content-Type of a 401"
expect_contains "$(ctype /metrics "$(e2e_metrics_token)")" text/plain "Content-Type of /metrics"
api_q GET /v1/ca "" "$A"; CA=$(jbody -r '.cas[0].id')
expect_contains "$(ctype "/v1/ca/$CA/crl")" application/pkix-crl "Content-Type of a CRL"

# ---- TLS
code=$("${CURL[@]}" -o /dev/null -w '%{http_code}' --tlsv1.2 --tls-max 1.2 "$SIGNET_URL/healthz")
expect_eq "$code" 200 "TLS 1.2"
code=$("${CURL[@]}" -o /dev/null -w '%{http_code}' --tlsv1.3 "$SIGNET_URL/healthz")
expect_eq "$code" 200 "TLS 1.3"
# TLS 1.0 and 1.1 are refused (a client forced to them must not get a session)
for v in tls1 tls1_1; do
	echo | openssl s_client -connect "127.0.0.1:$E2E_PORT" "-$v" -CAfile "$SIGNET_CA_FILE" \
	    -cipher 'DEFAULT:@SECLEVEL=0' >"$W/$v" 2>&1
	# accepted = a cipher was agreed ("Protocol : TLSv1" is printed for a refusal too)
	if grep -q "^New, TLSv1\(\.[01]\)\?, Cipher is [A-Z]" "$W/$v"; then
		_e2e_soft_fail "the server accepts a $v handshake (want TLS 1.2+ only)"
	fi
done
code=$("${CURL[@]}" -o /dev/null -w '%{http_code}' "https://localhost:$E2E_PORT/healthz")
expect_eq "$code" 200 "the server certificate is valid for localhost"
echo | openssl s_client -connect "127.0.0.1:$E2E_PORT" -CAfile "$SIGNET_CA_FILE" -verify_return_error \
    -verify_ip 127.0.0.1 >"$W/sc" 2>&1 || _e2e_soft_fail "the server certificate does not verify for IP 127.0.0.1"
openssl s_client -connect "127.0.0.1:$E2E_PORT" -showcerts </dev/null 2>/dev/null |
    openssl x509 -noout -text >"$W/srv.txt" 2>/dev/null
grep -q "TLS Web Server Authentication" "$W/srv.txt" || _e2e_soft_fail "the server certificate lacks serverAuth EKU"
grep -q "CA:TRUE" "$W/srv.txt" && _e2e_soft_fail "the server certificate is a CA"

# ---- percent-encoding and '+'
mk_user "a+b@acme.test"; AB=$U_ID
api_q GET "/v1/users/a+b@acme.test" "" "$A"; expect_status 200 "GET /v1/users/a+b@acme.test"
expect_eq "$(jbody -r .user.id)" "$AB" "user by email with '+'"
api_q GET "/v1/users/a%2Bb%40acme.test" "" "$A"; expect_status 200 "GET /v1/users/a%2Bb%40acme.test"
expect_eq "$(jbody -r .user.id)" "$AB" "user by percent-encoded email"
api_q GET "/v1/apikeys?user=a%2Bb%40acme.test" "" "$A"; expect_status 200 "GET /v1/apikeys?user=a%2Bb%40acme.test"
expect_eq "$(jbody '.apikeys | length')" 1 "a+b's API keys"
api_q POST /v1/projects '{"name":"p1"}' "$A"; assert_status 201 "project"
api_q GET /v1/projects/p%31 "" "$A"; expect_status 200 "GET /v1/projects/p%31"
api_q GET /v1/projects/p1%2Fx "" "$A"; expect_status 404 "GET /v1/projects/p1%2Fx"
api_q POST /v1/teams '{"name":"t.x_y-z"}' "$A"; expect_status 201 "team name with . _ -"
api_q GET /v1/teams/t.x_y-z "" "$A"; expect_status 200 "GET team with . _ -"
api_q POST /v1/teams/t.x_y-z/members '{"user":"a+b@acme.test"}' "$A"; expect_status 200 "add a+b"
api_q DELETE "/v1/teams/t.x_y-z/members/a%2Bb%40acme.test" "" "$A"; expect_status 200 "remove a%2Bb%40acme.test"

# ---- times are RFC 3339 UTC
api_q POST /v1/keys '{"project":"p1","name":"k1","algorithm":"ecdsa-p256"}' "$A"; assert_status 201 "key"
api_q POST /v1/apikeys '{"expires_in":3600}' "$A"; assert_status 201 "apikey"
for p in /v1/users /v1/apikeys /v1/teams /v1/projects /v1/keys /v1/ca "/v1/audit?limit=1000"; do
	api_q GET "$p" "" "$A"
	bad=$(jbody -r '.. | objects | to_entries[] | select((.key | test("(_at|^time|^not_before|^not_after)$")) and .value != null) |
	    select((.value | type) != "string" or (.value | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$") | not)) |
	    "\(.key)=\(.value)"' | head -n 3 | tr '\n' ' ')
	[[ -z $bad ]] || _e2e_soft_fail "GET $p: times not RFC 3339 UTC: $bad"
done

# ---- lists are complete
for i in $(seq 1 130); do
	printf '{"name":"bulk-%03d"}\n' "$i"
done | while read -r b; do
	"${CURL[@]}" -o /dev/null -H "Authorization: Bearer $A" -H 'Content-Type: application/json' --data-binary "$b" \
	    "$SIGNET_URL/v1/teams"
done
# (a page holds 100 by default: the rest is behind next_cursor, never
# silently cut off; docs/API.md "Paging")
api_q GET /v1/teams "" "$A"
got=$(jbody '[.teams[] | select(.name | startswith("bulk-"))] | length')
cur=$(jbody -r '.next_cursor // empty')
[[ -n $cur ]] || _e2e_soft_fail "GET /v1/teams: a full first page and no next_cursor"
api_q GET "/v1/teams?cursor=$cur" "" "$A"
expect_eq "$(jbody -r '.next_cursor')" null "GET /v1/teams: the second page is the last"
got=$((got + $(jbody '[.teams[] | select(.name | startswith("bulk-"))] | length')))
expect_eq "$got" 130 "GET /v1/teams lists all 130 bulk teams over its pages"
api_q GET "/v1/audit" "" "$A"
n=$(jbody '.events | length')
nx=$(jbody -r '.next_after // "null"')
[[ $nx != null || $n -ge 130 ]] || _e2e_soft_fail "GET /v1/audit: $n events and no next_after"

# ---- odd methods and routes
for m in HEAD OPTIONS TRACE; do
	code=$("${CURL[@]}" -o /dev/null -w '%{http_code}' -X "$m" "$SIGNET_URL/healthz")
	[[ $code =~ ^(200|204|404|405|501)$ ]] || _e2e_soft_fail "$m /healthz: HTTP $code"
done
code=$("${CURL[@]}" -o /dev/null -w '%{http_code}' -X TRACE -H "Authorization: Bearer $A" "$SIGNET_URL/v1/me")
[[ $code != 200 ]] || _e2e_soft_fail "TRACE /v1/me answered 200"
api_q GET /v1/nope "" ""
[[ $(last_status) == 401 || $(last_status) == 404 ]] || _e2e_soft_fail "unknown route without credentials: HTTP $(last_status)"
api_q GET /v1/me/ "" "$A"
[[ $(last_status) == 200 || $(last_status) == 404 ]] || _e2e_soft_fail "GET /v1/me/: HTTP $(last_status)"
api_q GET "/v1/me?x=1&x=2" "" "$A"; expect_status 200 "query string on /v1/me"
api_q GET /healthz ""; expect_status 200 "healthz at the end"
e2e_stop_server
e2e_done
