#!/bin/bash
# tenant_isolation.sh - SPEC §6.3: nothing crosses tenants.
#
# Tenant A (acme) gets one object of every kind; tenant B (beta)'s admin then
# tries every endpoint on A's ids and names: each must answer 404 (A's
# objects are indistinguishable from missing ones), B's lists must not show
# A's objects, and A's state must be unchanged afterwards. Names are per
# tenant: B may create objects with A's names, and they stay separate.
# e2e-requires: signetd
source "$(dirname "$0")/lib.sh"
e2e_require_tool openssl

e2e_init acme admin@acme.test
e2e_tenant_create beta admin@beta.test
B=$TENANT_KEY
e2e_serve
A=$ADMIN_KEY

# ---- tenant A's objects
mk_user alice@acme.test; ALICE=$U_ID; ALICE_KEY=$U_KEY
api_q POST /v1/apikeys '{"description":"alice 2"}' "$ALICE_KEY"; assert_status 201 "apikey"
APIKEY=$(jbody -r .id)
api_q POST /v1/teams '{"name":"t1"}' "$A"; assert_status 201 "team"; TEAM=$(jbody -r .team.id)
api_q POST "/v1/teams/$TEAM/members" '{"user":"alice@acme.test","owner":true}' "$A"; assert_status 200 "member"
mk_ec_keypair "$E2E_DIR/sa.key"
PUB=$(json_file_str "$E2E_DIR/sa.key.pub")
api_q POST /v1/serviceaccounts "{\"name\":\"sa1\",\"team\":\"t1\",\"public_key\":$PUB}" "$A"
assert_status 201 "service account"; SA=$(jbody -r .service_account.id)
api_q POST /v1/projects '{"name":"p1"}' "$A"; assert_status 201 "project"; PRJ=$(jbody -r .project.id)
api_q POST "/v1/projects/$PRJ/owners" '{"user":"alice@acme.test"}' "$A"; assert_status 200 "owner"
api_q POST "/v1/projects/$PRJ/signers" '{"team":"t1"}' "$A"; assert_status 201 "signer"
api_q POST /v1/keys '{"project":"p1","name":"k1","algorithm":"ecdsa-p256"}' "$A"; assert_status 201 "key"
KEY=$(jbody -r .key.id)
api_q POST /v1/keys '{"project":"p1","name":"ext1","algorithm":"ecdsa-p256","ca":"external","subject":"CN=ext1"}' "$A"
assert_status 201 "external key"; EXT=$(jbody -r .key.id)
api_q POST "/v1/keys/$EXT/csr" '{}' "$A"; assert_status 200 "csr"
jbody -r .csr >"$E2E_DIR/ext.csr"
mk_ext_chain "$E2E_DIR/ext.csr" "$E2E_DIR/ext.chain"
CHAIN=$(json_file_str "$E2E_DIR/ext.chain")
api_q GET /v1/ca "" "$A"; assert_status 200 "ca list"
mapfile -t CAS < <(jbody -r '.cas[].id')
((${#CAS[@]} >= 1)) || fail "tenant A has no CA"
api_q GET /v1/audit "" "$A"; assert_status 200 "audit"
A_EVENT_IDS=$(jbody -r '[.events[].id] | join(" ")')

DIG=$(rand_b64 32)
SIGN_BODY="{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digest\":\"$DIG\"}"
# the control: A's signer can sign with k1
api_q POST "/v1/keys/$KEY/sign" "$SIGN_BODY" "$ALICE_KEY"; assert_status 200 "A's signer signs"

snapshot() {
	local p
	local -a urls=()
	for p in users teams projects keys serviceaccounts ca "projects/$PRJ/signers" "teams/$TEAM" \
	    "keys/$KEY" "keys/$EXT" "serviceaccounts/$SA" "users/$ALICE" "apikeys?user=$ALICE"; do
		urls+=("$SIGNET_URL/v1/$p")
	done
	curl -s --max-time 30 --cacert "$SIGNET_CA_FILE" -H "Authorization: Bearer $A" "${urls[@]}" |
	    jq -S 'walk(if type == "object" then del(.last_used_at) else . end)' 2>&1
	local t=$TEN_A
	db_query \
	    "select count(*), group_concat(state) from signing_keys where tenant_id = '$t';
	     select count(*), count(revoked_at) from api_keys where tenant_id = '$t';
	     select count(*), sum(disabled) from users where tenant_id = '$t';
	     select count(*) from team_members m join teams x on x.id = m.team_id where x.tenant_id = '$t';
	     select count(*) from project_signers m join projects x on x.id = m.project_id where x.tenant_id = '$t';
	     select count(*) from project_owners m join projects x on x.id = m.project_id where x.tenant_id = '$t';
	     select count(*), sum(key_version) from service_accounts where tenant_id = '$t';
	     select count(*) from teams where tenant_id = '$t';
	     select count(*) from projects where tenant_id = '$t';"
}
TEN_A=$(db_query "select id from tenants where name = 'acme'")
[[ -n $TEN_A ]] || fail "no tenant acme in the database"
snapshot >"$E2E_DIR/snap.0"

# ---- B's lists show none of A's objects
declare -A LISTKEY=([users]=users [teams]=teams [projects]=projects [keys]=keys
    [serviceaccounts]=service_accounts [ca]=cas [apikeys]=apikeys [me/keys]=keys)
A_IDS=" $ALICE $APIKEY $TEAM $SA $PRJ $KEY $EXT ${CAS[*]} "
for p in "${!LISTKEY[@]}"; do
	api_q GET "/v1/$p" "" "$B"
	expect_status 200 "B: GET /v1/$p"
	for id in $(jbody -r ".${LISTKEY[$p]}[]?.id"); do
		[[ $A_IDS != *" $id "* ]] || _e2e_soft_fail "B's GET /v1/$p shows A's object $id"
	done
	if grep -q -e acme.test -e '"t1"' -e '"p1"' -e '"sa1"' "$E2E_DIR/last.body"; then
		_e2e_soft_fail "B's GET /v1/$p mentions A's names: $(head -c 300 "$E2E_DIR/last.body")"
	fi
done
api_q GET /v1/audit "" "$B"; expect_status 200 "B: audit"
for id in $(jbody -r '.events[].id'); do
	[[ " $A_EVENT_IDS " != *" $id "* ]] || _e2e_soft_fail "B's audit shows A's event $id"
done
if grep -q -e "$KEY" -e "$PRJ" -e "$ALICE" "$E2E_DIR/last.body"; then
	_e2e_soft_fail "B's audit mentions A's ids"
fi
api_q GET "/v1/keys?project=$PRJ" "" "$B"
[[ $(last_status) == 404 || ($(last_status) == 200 && $(jbody '.keys | length') == 0) ]] ||
    _e2e_soft_fail "B: GET /v1/keys?project=A's project: HTTP $(last_status) $(head -c 200 "$E2E_DIR/last.body")"
api_q GET "/v1/audit?key=$KEY" "" "$B"
[[ $(last_status) == 404 || ($(last_status) == 200 && $(jbody '.events | length') == 0) ]] ||
    _e2e_soft_fail "B: GET /v1/audit?key=A's key: HTTP $(last_status)"
api_q GET "/v1/apikeys?user=$ALICE" "" "$B"; expect_status 404 "B: GET /v1/apikeys?user=A's user"

# ---- every endpoint with A's ids (and names) -> 404
N404=0
nf() {	# nf METHOD PATH [BODY]
	api_q "$1" "$2" "${3-}" "$B"
	N404=$((N404 + 1))
	if [[ $(last_status) != 404 ]]; then
		_e2e_soft_fail "B: $1 $2: HTTP $(last_status), want 404: $(head -c 200 "$E2E_DIR/last.body")"
	else
		check_error_shape "B: $1 $2" || true
	fi
}
mk_ec_keypair "$E2E_DIR/new.key"
NEWPUB=$(json_file_str "$E2E_DIR/new.key.pub")
for u in "$ALICE" alice@acme.test; do
	nf GET "/v1/users/$u"
	nf POST "/v1/users/$u/disable"
done
nf POST /v1/apikeys "{\"user\":\"$ALICE\"}"
nf POST /v1/apikeys '{"user":"alice@acme.test"}'
nf DELETE "/v1/apikeys/$APIKEY"
for t in "$TEAM" t1; do
	nf GET "/v1/teams/$t"
	nf POST "/v1/teams/$t/members" '{"user":"admin@beta.test"}'
	nf DELETE "/v1/teams/$t/members/$ALICE"
	nf DELETE "/v1/teams/$t/members/alice@acme.test"
done
nf POST /v1/serviceaccounts "{\"name\":\"sa9\",\"team\":\"$TEAM\",\"public_key\":$NEWPUB}"
for s in "$SA" sa1; do
	nf GET "/v1/serviceaccounts/$s"
	nf POST "/v1/serviceaccounts/$s/rotate-key" "{\"public_key\":$NEWPUB}"
	nf DELETE "/v1/serviceaccounts/$s"
done
for p in "$PRJ" p1; do
	nf GET "/v1/projects/$p"
	nf POST "/v1/projects/$p/owners" '{"user":"admin@beta.test"}'
	nf GET "/v1/projects/$p/signers"
	nf POST "/v1/projects/$p/signers" '{"user":"admin@beta.test"}'
	nf DELETE "/v1/projects/$p/signers/team/$TEAM"
	nf DELETE "/v1/projects/$p/signers/team/t1"
done
nf POST /v1/keys "{\"project\":\"$PRJ\",\"name\":\"k9\",\"algorithm\":\"ecdsa-p256\"}"
for k in "$KEY" "$EXT"; do
	nf GET "/v1/keys/$k"
	nf GET "/v1/keys/$k/certificate"
	nf POST "/v1/keys/$k/csr" '{}'
	nf PUT "/v1/keys/$k/certificate" "{\"chain\":$CHAIN}"
	nf POST "/v1/keys/$k/sign" "$SIGN_BODY"
	nf POST "/v1/keys/$k/sign" "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digests\":[\"$DIG\"]}"
	nf POST "/v1/keys/$k/disable"
	nf POST "/v1/keys/$k/enable"
	nf POST "/v1/keys/$k/revoke"
	nf DELETE "/v1/keys/$k"
done
for c in "${CAS[@]}"; do
	nf GET "/v1/ca/$c"
done
echo "tenant_isolation: $N404 cross-tenant requests"

# B adding A's principals to B's own objects: A's users/teams/SAs are unknown to B
api_q POST /v1/teams '{"name":"bt"}' "$B"; assert_status 201 "B team"
nf POST /v1/teams/bt/members "{\"user\":\"$ALICE\"}"
nf POST /v1/teams/bt/members '{"user":"alice@acme.test"}'
api_q POST /v1/projects '{"name":"bp"}' "$B"; assert_status 201 "B project"
nf POST /v1/projects/bp/owners "{\"user\":\"$ALICE\"}"
nf POST /v1/projects/bp/owners "{\"team\":\"$TEAM\"}"
nf POST /v1/projects/bp/signers "{\"user\":\"$ALICE\"}"
nf POST /v1/projects/bp/signers "{\"team\":\"$TEAM\"}"
nf POST /v1/projects/bp/signers "{\"service_account\":\"$SA\"}"
nf POST /v1/projects/bp/signers '{"service_account":"sa1"}'

# ---- names are per tenant: B may reuse A's names, and they stay apart
api_q POST /v1/projects '{"name":"p1"}' "$B"; expect_status 201 "B creates its own p1"
BPRJ=$(jbody -r .project.id)
[[ $BPRJ != "$PRJ" ]] || _e2e_soft_fail "B's p1 has A's project id"
api_q POST /v1/teams '{"name":"t1"}' "$B"; expect_status 201 "B creates its own t1"
api_q POST /v1/users '{"email":"alice@acme.test"}' "$B"; expect_status 201 "B creates its own alice@acme.test"
B_ALICE_KEY=$(jbody -r .api_key.key)
api_q POST /v1/keys '{"project":"p1","name":"k1","algorithm":"ecdsa-p256"}' "$B"; expect_status 201 "B's p1/k1"
BKEY=$(jbody -r .key.id)
api_q GET /v1/projects/p1 "" "$B"; expect_eq "$(jbody -r .project.id)" "$BPRJ" "B's GET /v1/projects/p1 is B's"
api_q GET /v1/projects/p1 "" "$A"; expect_eq "$(jbody -r .project.id)" "$PRJ" "A's GET /v1/projects/p1 is A's"
# B's alice is not A's alice: no access to A's key, and A's alice's key is not B's
api_q GET /v1/me "" "$B_ALICE_KEY"; expect_eq "$(jbody -r .tenant.name)" beta "B's alice is in beta"
api_q POST "/v1/keys/$KEY/sign" "$SIGN_BODY" "$B_ALICE_KEY"; expect_status 404 "B's alice signs with A's key"
api_q GET "/v1/keys/$BKEY" "" "$A"; expect_status 404 "A reads B's key"
api_q POST "/v1/keys/$BKEY/sign" "$SIGN_BODY" "$ALICE_KEY"; expect_status 404 "A's signer signs with B's key"
# A's lists do not show B's objects
api_q GET /v1/projects "" "$A"
expect_eq "$(jbody -r --arg id "$BPRJ" '[.projects[] | select(.id == $id)] | length')" 0 "A's project list excludes B's p1"
api_q GET /v1/users "" "$A"
expect_eq "$(jbody -r '[.users[] | select(.email == "admin@beta.test")] | length')" 0 "A's user list excludes B's admin"


# ---- nothing of A changed
snapshot >"$E2E_DIR/snap.1"
if ! cmp -s "$E2E_DIR/snap.0" "$E2E_DIR/snap.1"; then
	_e2e_soft_fail "tenant B's requests changed tenant A's state:"
	diff "$E2E_DIR/snap.0" "$E2E_DIR/snap.1" | head -n 30 >&2
fi
api_q POST "/v1/keys/$KEY/sign" "$SIGN_BODY" "$ALICE_KEY"; expect_status 200 "A's signer still signs"
api_q GET "/v1/me" "" "$ALICE_KEY"; expect_status 200 "A's alice still enabled"

# CRLs are public (fetching one may bump the CA's crl_number, so after the snapshot)
for c in "${CAS[@]}"; do
	api_q GET "/v1/ca/$c/crl" ""
	expect_status 200 "public CRL of A's CA $c"
done

# both chains intact, and B's chain holds none of A's events
for t in "$A" "$B"; do
	api_q GET /v1/audit/verify "" "$t"
	expect_eq "$(jbody -r .ok)" true "audit verify"
done
e2e_stop_server
e2e_done
