#!/bin/bash
# audit_tamper.sh - SPEC §6.5: the audit chain verifies, and a hand edit of
# the database is detected both by the server (/v1/audit/verify) and by the
# client (`signet audit verify`, which recomputes every hash from /v1/audit).
# Also recomputes every hash here, independently, from the documented
# canonical form (DESIGN.md: sorted compact JSON of the event without
# "hash", SHA-256, lower hex; first prev_hash = 64 zeros).
# e2e-requires: signetd signet
source "$(dirname "$0")/lib.sh"
e2e_require_tool sqlite3 sha256sum
e2e_sqlite_only "edits and restores copies of the signet.db file"

e2e_start_server
must_signet login --url "$SIGNET_URL" --api-key "$ADMIN_KEY" --ca-file "$SIGNET_CA_FILE"

# ---- some actions
must_signet user create alice@acme.test
must_signet user create bob@acme.test
must_signet team create t1
must_signet team add-member t1 alice@acme.test --owner
must_signet project create p1
must_signet project add-signer p1 --team t1
must_signet key create p1 k1 --algorithm ecdsa-p256
must_signet user disable bob@acme.test
must_signet apikey create --expires 1h

# ---- intact chain
must_signet audit verify
api_q GET /v1/audit/verify "" "$ADMIN_KEY"; assert_status 200 "audit verify"
expect_eq "$(jbody -r .ok)" true "GET /v1/audit/verify .ok (intact)"
expect_eq "$(jbody -r .first_bad_seq)" null "GET /v1/audit/verify .first_bad_seq (intact)"
NEV=$(jbody -r .events)
((NEV >= 8)) || _e2e_soft_fail "only $NEV audit events after 9 actions"

# independent recomputation of the chain from GET /v1/audit
audit_events "$ADMIN_KEY" >"$E2E_DIR/events.jsonl" || fail "GET /v1/audit"
expect_eq "$(wc -l <"$E2E_DIR/events.jsonl")" "$NEV" "GET /v1/audit returns as many events as verify counted"
prev=$(printf '0%.0s' {1..64})
want_seq=
while IFS= read -r ev; do
	seq=$(jq -r .seq <<<"$ev")
	[[ -z $want_seq ]] || expect_eq "$seq" "$want_seq" "audit seq is contiguous"
	want_seq=$((seq + 1))
	expect_eq "$(jq -r .prev_hash <<<"$ev")" "$prev" "event $seq prev_hash"
	expect_eq "$(jq -r '.details | type' <<<"$ev")" object "event $seq details type"
	h=$(jq -c -S 'del(.hash)' <<<"$ev" | tr -d '\n' | sha256sum | cut -d' ' -f1)
	expect_eq "$h" "$(jq -r .hash <<<"$ev")" "event $seq hash recomputed from its canonical form"
	prev=$(jq -r .hash <<<"$ev")
done <"$E2E_DIR/events.jsonl"
echo "audit_tamper: $NEV events, hashes recomputed independently"
grep -q '"action":"user.create"' "$E2E_DIR/events.jsonl" || _e2e_soft_fail "no user.create event"
grep -q '"action":"key.create"' "$E2E_DIR/events.jsonl" || _e2e_soft_fail "no key.create event"
# no secret ever lands in the trail
if grep -q -e 'snk_[0-9a-f]\{16\}_' -e 'PRIVATE KEY' "$E2E_DIR/events.jsonl"; then
	_e2e_soft_fail "an audit event contains an API key secret or a private key"
fi

# the trail is append-only through the API
for m in DELETE PUT PATCH; do
	api_q "$m" /v1/audit '{}' "$ADMIN_KEY"
	[[ $(last_status) == 404 || $(last_status) == 405 ]] ||
	    _e2e_soft_fail "$m /v1/audit: HTTP $(last_status) (want 404/405)"
done

# ---- tamper with event 3, server stopped
e2e_stop_server
TEN=$(sqlite3 "$D/signet.db" "select id from tenants where name='acme'")
[[ -n $TEN ]] || fail "no tenant row for acme"
mkdir -p "$E2E_DIR/backup"
cp "$D"/signet.db* "$E2E_DIR/backup/"
old=$(sqlite3 "$D/signet.db" "select details from audit_events where tenant_id='$TEN' and seq=3")
[[ -n $old ]] || fail "no audit event seq=3 in tenant acme"
sqlite3 "$D/signet.db" \
    "update audit_events set details='{\"tampered\":true}' where tenant_id='$TEN' and seq=3" ||
    fail "sqlite3 update"
e2e_serve
export SIGNET_URL SIGNET_CA_FILE	# new port; the config file still has the old one

run_signet 1 audit verify --full	# the edited events were verified before: only a full walk rereads them
printf '%s\n%s\n' "$OUT" "$ERR" | grep -qw 3 ||
    _e2e_soft_fail "signet audit verify does not name seq 3: $OUT $ERR"
api_q GET /v1/audit/verify "" "$ADMIN_KEY"; expect_status 200 "audit verify (tampered)"
expect_eq "$(jbody -r .ok)" false "GET /v1/audit/verify .ok after editing seq 3"
expect_eq "$(jbody -r .first_bad_seq)" 3 "GET /v1/audit/verify .first_bad_seq after editing seq 3"
# new events do not heal the chain
must_signet project create p2
api_q GET /v1/audit/verify "" "$ADMIN_KEY"
expect_eq "$(jbody -r .ok)" false "chain still broken after a new event"
expect_eq "$(jbody -r .first_bad_seq)" 3 "first_bad_seq still 3 after a new event"
e2e_stop_server

# ---- other edits: a deleted event, an edited hash
restore() { rm -f "$D"/signet.db*; cp "$E2E_DIR/backup/"signet.db* "$D/"; }

restore
sqlite3 "$D/signet.db" "delete from audit_events where tenant_id='$TEN' and seq=5" || fail "sqlite3 delete"
e2e_serve
export SIGNET_URL SIGNET_CA_FILE
run_signet 1 audit verify --full	# the edited events were verified before: only a full walk rereads them
api_q GET /v1/audit/verify "" "$ADMIN_KEY"
expect_eq "$(jbody -r .ok)" false "verify after deleting seq 5"
bad=$(jbody -r .first_bad_seq)
[[ $bad == 5 || $bad == 6 ]] || _e2e_soft_fail "deleting seq 5: first_bad_seq=$bad (want 5 or 6)"
e2e_stop_server

restore
sqlite3 "$D/signet.db" "update audit_events set hash='$(printf 'a%.0s' {1..64})' where tenant_id='$TEN' and seq=4" ||
    fail "sqlite3 update hash"
e2e_serve
export SIGNET_URL SIGNET_CA_FILE
run_signet 1 audit verify --full	# the edited events were verified before: only a full walk rereads them
api_q GET /v1/audit/verify "" "$ADMIN_KEY"
expect_eq "$(jbody -r .ok)" false "verify after editing the hash of seq 4"
expect_eq "$(jbody -r .first_bad_seq)" 4 "first_bad_seq after editing the hash of seq 4"
e2e_stop_server

restore
sqlite3 "$D/signet.db" "update audit_events set result='denied' where tenant_id='$TEN' and seq=(select max(seq) from audit_events where tenant_id='$TEN')" ||
    fail "sqlite3 update result"
e2e_serve
export SIGNET_URL SIGNET_CA_FILE
run_signet 1 audit verify --full	# the edited events were verified before: only a full walk rereads them
api_q GET /v1/audit/verify "" "$ADMIN_KEY"
expect_eq "$(jbody -r .ok)" false "verify after editing the result of the last event"

# the untouched backup still verifies
e2e_stop_server
restore
e2e_serve
export SIGNET_URL SIGNET_CA_FILE
run_signet 0 audit verify
api_q GET /v1/audit/verify "" "$ADMIN_KEY"
expect_eq "$(jbody -r .ok)" true "the untouched copy verifies"
e2e_stop_server
e2e_done
