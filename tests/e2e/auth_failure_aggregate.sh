#!/bin/bash
# auth_failure_aggregate.sh - a bad credential costs no fsync: failed
# authentications are counted in memory and written as aggregated
# auth.failure events (per chain, source address and interval, with the
# count and the credential ids tried): into the tenant's chain when the
# credential id is one of that tenant's, into the system chain otherwise;
# nothing counted is lost at shutdown.
# e2e-requires: signetd
source "$(dirname "$0")/lib.sh"
e2e_require_tool sqlite3

e2e_start_server
A=$ADMIN_KEY
KID=key_${A:4:16}
n_before=$(audit_count "$A" '.action == "auth.failure"')
rows0=$(db_query "select count(*) from audit_events")

CURL=(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --cacert "$SIGNET_CA_FILE")
bad=0
for ((i = 0; i < 40; i++)); do	# tenant acme's key id, wrong secret
	code=$("${CURL[@]}" -H "Authorization: Bearer snk_${A:4:16}_$(head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_' | cut -c1-42)A" "$SIGNET_URL/v1/me")
	[[ $code == 401 ]] || bad=$((bad + 1))
done
for ((i = 0; i < 20; i++)); do	# ids nobody has
	code=$("${CURL[@]}" -H "Authorization: Bearer snk_$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')_${A:21}" "$SIGNET_URL/v1/me")
	[[ $code == 401 ]] || bad=$((bad + 1))
done
for ((i = 0; i < 10; i++)); do	# malformed
	code=$("${CURL[@]}" -H "Authorization: Bearer nonsense-$i" "$SIGNET_URL/v1/me")
	[[ $code == 401 ]] || bad=$((bad + 1))
done
expect_eq "$bad" 0 "answers other than 401"
# no transaction per failure: the database did not grow by 70 events
rows1=$(db_query "select count(*) from audit_events")
((rows1 - rows0 <= 4)) || _e2e_soft_fail "70 failed authentications wrote $((rows1 - rows0)) audit rows at once (want aggregated: at most a few)"

# shutdown writes what is still counted
e2e_stop_server
e2e_serve
audit_events "$A" | jq -c 'select(.action == "auth.failure")' >"$E2E_DIR/af.json"
n=$(($(grep -c . "$E2E_DIR/af.json") - n_before))
((n >= 1 && n <= 3)) || _e2e_soft_fail "tenant acme: $n auth.failure events for 40 failures (want 1 to 3, aggregated)"
sum=$(jq -s '[.[] | .details.count // 0] | add // 0' "$E2E_DIR/af.json")
expect_eq "$sum" 40 "tenant acme: sum of the aggregated counts"
jq -e --arg k "$KID" 'select(.details.credential_ids | index($k))' "$E2E_DIR/af.json" >/dev/null ||
    _e2e_soft_fail "tenant acme: no auth.failure event names the credential id $KID"
expect_eq "$(jq -r .source_ip "$E2E_DIR/af.json" | sort -u | tr '\n' ' ')" "127.0.0.1 " "source address of the events"
sys=$(db_query "select count(*) from audit_events where tenant_id = '' and action = 'auth.failure'")
syssum=$(db_query "select coalesce(sum(json_extract(details, '\$.count')), 0) from audit_events where tenant_id = '' and action = 'auth.failure'")
((sys >= 1 && sys <= 3)) || _e2e_soft_fail "system chain: $sys auth.failure events for 30 failures (want 1 to 3)"
expect_eq "$syssum" 30 "system chain: sum of the aggregated counts (unknown and malformed credentials)"
grep -q "auth.failure: .* from 127.0.0.1 with unknown credentials" "$D/server.log" ||
    _e2e_soft_fail "no operator log line for the unknown credentials"
api_q GET /v1/audit/verify "" "$A"; expect_eq "$(jbody -r .ok)" true "audit chain"
grep -q -F -- "${A:21}" "$D/server.log" && _e2e_soft_fail "a credential secret is in the server log"
e2e_stop_server
e2e_done
