#!/bin/bash
# robustness.sh - signetd under concurrency and hostile HTTP:
#   - racing creates of one name: exactly one 201, the rest 409, no 5xx;
#   - concurrent writers in two tenants: every write answered 2xx, both
#     audit chains verify with contiguous seqs and one event per write;
#   - bad credentials of every shape: 401, never 5xx, counted in /metrics;
#   - HTTP abuse: plain HTTP on the TLS port, huge/many headers, chunked
#     oversized bodies, truncated bodies, idle connections: no hang, no crash;
#   - SIGTERM in the middle of a signing load: exit 0 within 10 s, and after
#     a restart every returned signature has its audit event.
# e2e-requires: signetd
source "$(dirname "$0")/lib.sh"
e2e_require_tool openssl

e2e_init acme admin@acme.test
e2e_tenant_create beta admin@beta.test
B=$TENANT_KEY
e2e_serve
A=$ADMIN_KEY
W=$E2E_DIR/work
mk_user signer@acme.test; S=$U_KEY
api_q POST /v1/projects '{"name":"p1"}' "$A"; assert_status 201 "project"
api_q POST /v1/projects/p1/signers '{"user":"signer@acme.test"}' "$A"; assert_status 201 "signer"
api_q POST /v1/keys '{"project":"p1","name":"k1","algorithm":"ecdsa-p256"}' "$A"; assert_status 201 "key"
K1=$(jbody -r .key.id)
jbody -r .key.public_key >"$W/k1.pub"
DG=$(rand_b64 32)
SIGNBODY="{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digest\":\"$DG\"}"

# raw CURL helper for background jobs: prints the status only
st() {	# st METHOD PATH BODY TOKEN
	curl -s --max-time 60 --cacert "$SIGNET_CA_FILE" -X "$1" -o /dev/null -w '%{http_code}' \
	    ${4:+-H "Authorization: Bearer $4"} -H 'Content-Type: application/json' \
	    ${3:+--data-binary "$3"} "$SIGNET_URL$2" || true
}

# ---- races on one name
race() {	# race WHAT PATH BODY
	local i
	rm -f "$W"/race.*
	for i in 1 2 3 4 5 6 7 8; do
		st POST "$2" "$3" "$A" >"$W/race.$i" &
	done
	wait_jobs
	local n201 n409 other
	n201=$(cat "$W"/race.* | grep -o '201' | wc -l)
	n409=$(cat "$W"/race.* | grep -o '409' | wc -l)
	other=$(for f in "$W"/race.*; do cat "$f"; echo; done | grep -v -e '^201$' -e '^409$' | tr '\n' ' ')
	expect_eq "$n201/$n409" "1/7" "racing creates of one $1 (201/409)"
	[[ -z ${other// /} ]] || _e2e_soft_fail "racing creates of one $1: other statuses: $other"
}
wait_jobs() {
	local j t0=$SECONDS
	for j in $(jobs -p); do
		[[ $j == "$SERVER_PID" ]] && continue
		while kill -0 "$j" 2>/dev/null; do
			((SECONDS - t0 < 120)) || fail "background requests still running after 120 s"
			sleep 0.1
		done
	done
}
race project /v1/projects '{"name":"race-p"}'
race team /v1/teams '{"name":"race-t"}'
race user /v1/users '{"email":"race@acme.test"}'
race key /v1/keys '{"project":"p1","name":"race-k","algorithm":"ecdsa-p256"}'
api_q GET "/v1/keys?project=p1&name=race-k" "" "$A"
expect_eq "$(jbody '.keys | length')" 1 "one race-k key"

# ---- concurrent writers, two tenants
writer() {	# writer ID TOKEN N: mixed writes; one status per line
	local i
	for ((i = 0; i < $3; i++)); do
		if [[ $2 != "$S" ]]; then st POST /v1/teams "{\"name\":\"w$1-$i\"}" "$2"; echo; fi
		st POST /v1/apikeys "{\"description\":\"w$1-$i\"}" "$2"
		echo
		if [[ $2 == "$S" ]]; then st POST "/v1/keys/$K1/sign" "$SIGNBODY" "$S"; echo; fi
	done >"$W/writer.$1"
}
ev_a0=$(audit_count "$A" 'true')
ev_b0=$(audit_count "$B" 'true')
writer 1 "$A" 15 &
writer 2 "$A" 15 &
writer 3 "$B" 15 &
writer 4 "$S" 15 &
wait_jobs
nw_a=$(cat "$W/writer.1" "$W/writer.2" | grep -c .)
nw_b=$(grep -c . "$W/writer.3")
bad=$(cat "$W"/writer.* | grep -v '^20[01]$' | sort | uniq -c | tr '\n' ' ')
[[ -z $bad ]] || _e2e_soft_fail "concurrent writers: non-2xx answers: $bad"
nsig=$(grep -c . "$W/writer.4")	# the signer's api keys + signatures
for t in "$A" "$B"; do
	api_q GET /v1/audit/verify "" "$t"
	expect_eq "$(jbody -r .ok)" true "audit chain after concurrent writes"
done
audit_events "$A" >"$W/ev.a" || fail "audit A"
audit_events "$B" >"$W/ev.b" || fail "audit B"
for f in "$W/ev.a" "$W/ev.b"; do
	seqs=$(jq -r .seq "$f" | sort -n)
	n=$(grep -c . <<<"$seqs")
	expect_eq "$(head -n1 <<<"$seqs")..$(tail -n1 <<<"$seqs")" "1..$n" "audit seqs contiguous ($(basename "$f"))"
	expect_eq "$(uniq -d <<<"$seqs" | wc -l)" 0 "no duplicate audit seq"
done
echo "robustness: concurrent writes: tenant A $nw_a + $nsig (signer), tenant B $nw_b"
ev_a1=$(grep -c . "$W/ev.a")
ev_b1=$(grep -c . "$W/ev.b")
((ev_a1 - ev_a0 >= nw_a + nsig)) || _e2e_soft_fail "tenant A: $((ev_a1 - ev_a0)) new events for $((nw_a + nsig)) writes"
((ev_b1 - ev_b0 >= nw_b)) || _e2e_soft_fail "tenant B: $((ev_b1 - ev_b0)) new events for $nw_b writes"
grep -q '"tenant_id"' "$W/ev.b" && {
	ta=$(jq -r .tenant_id "$W/ev.a" | sort -u | tr '\n' ' ')
	tb=$(jq -r .tenant_id "$W/ev.b" | sort -u | tr '\n' ' ')
	[[ $ta != *" "*" "* && $tb != *" "*" "* && $ta != "$tb" ]] || _e2e_soft_fail "audit tenants mixed: A=[$ta] B=[$tb]"
}

# ---- bad credentials: always 401, never 5xx
api_q GET /metrics "" "$(e2e_metrics_token)"
m0=$(sed -n 's/^signet_auth_failures_total //p' "$E2E_DIR/last.body")
KID=${A%_*}
n=0
for tok in "" "x" "snk_" "snk__" "${KID}_" "${KID}_$(rand_b64 32 | tr '+/' '-_' | tr -d '=')" \
    "${A}x" "${A:0:-1}" "${A,,}" "snk_0000000000000000_${A:21}" "sna_0000000000000000_${A:21}" \
    "$(head -c 5000 /dev/zero | tr '\0' a)" "snk_../../etc_passwd" "${A}%00"; do
	api_q GET /v1/me "" "$tok"
	[[ -z $tok ]] || n=$((n + 1))
	expect_status 401 "GET /v1/me with a bad token '${tok:0:40}'"
done
for hdr in "Authorization: Basic $(printf 'admin:pw' | base64)" "Authorization: Bearer" "Authorization: Bearer  $A" \
    "Authorization: $A" "Authorization: Bearer $A, Bearer $A"; do
	code=$(curl -s --max-time 10 --cacert "$SIGNET_CA_FILE" -o /dev/null -w '%{http_code}' -H "$hdr" "$SIGNET_URL/v1/me")
	[[ $code == 401 || ($code == 200 && $hdr == *"Bearer  "*) ]] ||
	    _e2e_soft_fail "GET /v1/me with header '${hdr:0:40}': HTTP $code (want 401)"
done
code=$(curl -s --max-time 10 --cacert "$SIGNET_CA_FILE" -o /dev/null -w '%{http_code}' \
    -H "Authorization: Bearer $(rand_b64 10)" -H "Authorization: Bearer $A" "$SIGNET_URL/v1/me")
[[ $code == 401 || $code == 400 ]] || _e2e_soft_fail "two Authorization headers: HTTP $code (want 401/400)"
api_q GET /metrics "" "$(e2e_metrics_token)"; expect_status 200 "metrics"
m1=$(sed -n 's/^signet_auth_failures_total //p' "$E2E_DIR/last.body")
[[ -n $m0 && -n $m1 ]] && ((m1 - m0 >= n)) || _e2e_soft_fail "signet_auth_failures_total grew from '$m0' to '$m1' for $n bad tokens"
# Prometheus text format: every line a comment or "name[{labels}] value",
# label values quoted (they may hold braces: route="/v1/keys/{id}/sign")
bad=$(grep -v -E '^(#.*|[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? -?[0-9.eE+-]+( [0-9]+)?)$' "$E2E_DIR/last.body" | head -n 3)
[[ -z $bad ]] || _e2e_soft_fail "/metrics is not Prometheus text: $bad"
s0=$(sed -n 's/^signet_signatures_total //p' "$E2E_DIR/last.body")
for i in 1 2 3; do api_q POST "/v1/keys/$K1/sign" "$SIGNBODY" "$S"; done
api_q GET /metrics "" "$(e2e_metrics_token)"
s1=$(sed -n 's/^signet_signatures_total //p' "$E2E_DIR/last.body")
[[ -n $s0 && -n $s1 ]] && ((s1 - s0 == 3)) || _e2e_soft_fail "signet_signatures_total went from '$s0' to '$s1' after 3 signatures"
echo "robustness: metrics auth failures $m0 -> $m1, signatures $s0 -> $s1"
grep -q -F -- "${A:21}" "$D/server.log" && _e2e_soft_fail "an API key secret is in the server log"

# ---- HTTP abuse
alive() {	# the server still answers quickly
	local c
	c=$(curl -s --max-time 5 --cacert "$SIGNET_CA_FILE" -o /dev/null -w '%{http_code}' "$SIGNET_URL/healthz")
	[[ $c == 200 ]] || _e2e_soft_fail "after $1: /healthz answered '$c'"
}
t0=$SECONDS
curl -s --max-time 10 -o /dev/null "http://127.0.0.1:$E2E_PORT/healthz"
((SECONDS - t0 < 8)) || _e2e_soft_fail "plain HTTP on the TLS port hangs"
alive "plain HTTP on the TLS port"
big=$(head -c 100000 /dev/zero | tr '\0' a)
code=$(curl -s --max-time 10 --cacert "$SIGNET_CA_FILE" -o /dev/null -w '%{http_code}' -H "X-Big: $big" "$SIGNET_URL/healthz")
[[ $code == 4* || $code == 000 ]] || _e2e_soft_fail "100 KB header: HTTP $code (want 4xx or a closed connection)"
alive "a 100 KB header"
hdrs=()
for i in $(seq 1 300); do hdrs+=(-H "X-H$i: v"); done
curl -s --max-time 10 --cacert "$SIGNET_CA_FILE" -o /dev/null "${hdrs[@]}" "$SIGNET_URL/healthz"
alive "300 headers"
head -c $((3 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >"$W/big.body"
code=$(curl -s --max-time 30 --cacert "$SIGNET_CA_FILE" -o "$W/big.out" -w '%{http_code}' -H "Authorization: Bearer $A" \
    -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' --data-binary "@$W/big.body" "$SIGNET_URL/v1/teams")
[[ $code == 413 || $code == 000 ]] || _e2e_soft_fail "3 MiB chunked body: HTTP $code (want 413)"
alive "a 3 MiB chunked body"
code=$(curl -s --max-time 30 --cacert "$SIGNET_CA_FILE" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $A" \
    -H 'Content-Type: application/json' --data-binary "@$W/big.body" "$SIGNET_URL/v1/teams")
[[ $code == 413 || $code == 000 ]] || _e2e_soft_fail "3 MiB body: HTTP $code (want 413)"
code=$(curl -s --max-time 10 --cacert "$SIGNET_CA_FILE" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $A" \
    -H 'Content-Type: application/json' -H 'Content-Length: 5000000' --data-binary '{}' "$SIGNET_URL/v1/teams")
alive "a Content-Length of 5 MB with a 2-byte body"
# a truncated body: Content-Length 100, 10 bytes sent, connection closed
{ printf 'POST /v1/teams HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":"x' "$A"; } |
    timeout 10 openssl s_client -quiet -no_ign_eof -connect "127.0.0.1:$E2E_PORT" -CAfile "$SIGNET_CA_FILE" >/dev/null 2>&1
alive "a truncated body"
api_q GET /v1/teams/x "" "$A"; expect_status 404 "a truncated body created nothing"
# invalid UTF-8 in a JSON string
printf '{"name":"t\xff\xfe"}' >"$W/utf8.json"
api_q POST /v1/teams "@$W/utf8.json" "$A"; expect_status 400 "invalid UTF-8 in JSON"
# idle TCP connections do not block others
exec {i1}<>/dev/tcp/127.0.0.1/"$E2E_PORT" || fail "tcp"
idle=("$i1")
for ((i = 0; i < 40; i++)); do
	exec {fd}<>/dev/tcp/127.0.0.1/"$E2E_PORT" && idle+=("$fd")
done
alive "${#idle[@]} idle connections"
for fd in "${idle[@]}"; do exec {fd}>&-; done

# ---- SIGTERM in the middle of a signing load
sigloop() {
	local i code
	for ((i = 0; i < 300; i++)); do
		code=$(curl -s --max-time 20 --cacert "$SIGNET_CA_FILE" -H "Authorization: Bearer $S" \
		    -H 'Content-Type: application/json' --data-binary "$SIGNBODY" -o /dev/null -w '%{http_code}' \
		    "$SIGNET_URL/v1/keys/$K1/sign") || true
		echo "${code:-000}" >>"$W/term.$1"
		[[ $code == 000 ]] && break
	done
}
before=$(audit_count "$A" ".action == \"key.sign\" and .result == \"ok\"")
sigloop 1 &
p1=$!
sigloop 2 &
p2=$!
E2E_BG_PIDS="$p1 $p2"
for ((i = 0; i < 100; i++)); do
	[[ -f $W/term.1 ]] && (($(wc -l <"$W/term.1") >= 10)) && break
	sleep 0.1
done
e2e_stop_server	# SIGTERM; must exit 0 within 10 s even with requests in flight
t0=$SECONDS
while { kill -0 "$p1" || kill -0 "$p2"; } 2>/dev/null; do
	((SECONDS - t0 < 60)) || fail "clients still hanging 60 s after the server stopped"
	sleep 0.2
done
E2E_BG_PIDS=
n200=$(cat "$W"/term.* | grep -c '^200$')
other=$(cat "$W"/term.* | grep -v -e '^200$' -e '^000$' -e '^503$' | sort | uniq -c | tr '\n' ' ')
[[ -z $other ]] || _e2e_soft_fail "during shutdown: answers other than 200/503/closed: $other"
echo "robustness: $n200 signatures before/while shutting down"
e2e_serve
export SIGNET_URL SIGNET_CA_FILE
after=$(audit_count "$A" ".action == \"key.sign\" and .result == \"ok\"")
((after - before >= n200)) || _e2e_soft_fail "after SIGTERM: $((after - before)) key.sign ok events for $n200 signatures returned"
api_q GET /v1/audit/verify "" "$A"; expect_eq "$(jbody -r .ok)" true "audit chain after SIGTERM under load"
api_q POST "/v1/keys/$K1/sign" "$SIGNBODY" "$S"; expect_status 200 "signing after restart"
# parallel key creations, some refused (same name): no orphan HSM objects
for i in 1 2 3 4 5 6; do
	st POST /v1/keys "{\"project\":\"p1\",\"name\":\"par-$((i % 3))\",\"algorithm\":\"rsa-2048\"}" "$A" >"$W/par.$i" &
done
wait_jobs
expect_eq "$(cat "$W"/par.* | grep -o 201 | wc -l)/$(cat "$W"/par.* | grep -o 409 | wc -l)" 3/3 \
    "6 parallel creates of 3 names (201/409)"
e2e_stop_server
expect_hsm_consistent "after races and parallel key creation"
e2e_done
