#!/bin/bash
# authz_matrix.sh - every endpoint x every kind of caller, as data.
#
# Builds the fixtures (two tenants, users in every role, a team, a project,
# keys, a service account, revoked / expired / disabled credentials), then
# runs each row of authz_matrix.tsv once per actor and compares the HTTP
# status exactly. All mismatches are collected and printed as one table.
# e2e-requires: signetd
source "$(dirname "$0")/lib.sh"
e2e_require_tool openssl

TSV=$(dirname "$0")/authz_matrix.tsv
ACTORS=(admin powner towner tmember plain beta none revoked expired disabled sa)

e2e_init acme admin@acme.test
e2e_tenant_create beta admin@beta.test
BETA_KEY=$TENANT_KEY
e2e_serve

declare -A TOK
TOK[admin]=$ADMIN_KEY
TOK[beta]=$BETA_KEY
TOK[none]=

mk_user powner@acme.test; TOK[powner]=$U_KEY
mk_user towner@acme.test; TOK[towner]=$U_KEY; TOWNER_ID=$U_ID
mk_user tmember@acme.test; TOK[tmember]=$U_KEY
mk_user plain@acme.test; TOK[plain]=$U_KEY; PLAIN_ID=$U_ID
mk_user victim@acme.test; VICTIM_ID=$U_ID
mk_user disabled@acme.test; TOK[disabled]=$U_KEY; DISABLED_ID=$U_ID
for a in admin powner towner tmember plain; do
	mk_user "extra-$a@acme.test"
done

# team t1: towner (owner), tmember
api_q POST /v1/teams '{"name":"t1"}' "$ADMIN_KEY"; assert_status 201 "create team"
TEAM_ID=$(jbody -r .team.id)
api_q POST "/v1/teams/$TEAM_ID/members" '{"user":"towner@acme.test","owner":true}' "$ADMIN_KEY"
assert_status 200 "add team owner"
api_q POST "/v1/teams/$TEAM_ID/members" '{"user":"tmember@acme.test"}' "$ADMIN_KEY"
assert_status 200 "add team member"

# project p1: owner powner, signer team t1
api_q POST /v1/projects '{"name":"p1"}' "$ADMIN_KEY"; assert_status 201 "create project"
PROJECT_ID=$(jbody -r .project.id)
api_q POST "/v1/projects/$PROJECT_ID/owners" '{"user":"powner@acme.test"}' "$ADMIN_KEY"
assert_status 200 "add project owner"
api_q POST "/v1/projects/$PROJECT_ID/signers" '{"team":"t1"}' "$ADMIN_KEY"
assert_status 201 "add signer team"

mk_key() {	# mk_key NAME [EXTRA-JSON-MEMBERS]: sets K_ID
	api_q POST /v1/keys "{\"project\":\"$PROJECT_ID\",\"name\":\"$1\",\"algorithm\":\"ecdsa-p256\"${2:+,$2}}" "$ADMIN_KEY"
	assert_status 201 "create key $1"
	K_ID=$(jbody -r .key.id)
}
mk_key k1; KEY_ID=$K_ID
mk_key k2; KEY2_ID=$K_ID
mk_key ext1 '"ca":"external","subject":"CN=ext1"'; EXTKEY_ID=$K_ID
api_q POST /v1/webhooks '{"url":"https://127.0.0.1:9/hook","events":["approval.requested"]}' "$ADMIN_KEY"
assert_status 201 "create webhook"
WEBHOOK_ID=$(jbody -r .webhook.id)
# appr: a key whose policy needs one approval by team t1 (towner, tmember)
mk_key appr; AKEY_ID=$K_ID
api_q PUT "/v1/keys/$AKEY_ID/policy" '{"approval":{"team":"t1","approvals":1,"ttl":"1h"}}' "$ADMIN_KEY"
assert_status 200 "approval policy of appr"

api_q POST "/v1/keys/$EXTKEY_ID/csr" '{}' "$ADMIN_KEY"; assert_status 200 "csr"
jbody -r .csr >"$E2E_DIR/ext1.csr"
mk_ext_chain "$E2E_DIR/ext1.csr" "$E2E_DIR/ext1.chain"
CHAIN_JSON=$(json_file_str "$E2E_DIR/ext1.chain")

rand_hex() { od -An -tx1 -N"${1:-4}" /dev/urandom | tr -d ' \n'; }
fresh_pub() {
	local f
	f=$E2E_DIR/work/sa-$(rand_hex).key
	mk_ec_keypair "$f"
	json_file_str "$f.pub"
}
api_q POST /v1/serviceaccounts "{\"name\":\"sa1\",\"team\":\"$TEAM_ID\",\"public_key\":$(fresh_pub)}" "$ADMIN_KEY"
assert_status 201 "create service account"
SA_ID=$(jbody -r .service_account.id)

# the service account actor: "robot" of team t1, a signer of p1
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$E2E_DIR/robot.key" 2>/dev/null || fail "genpkey"
openssl pkey -in "$E2E_DIR/robot.key" -pubout -out "$E2E_DIR/robot.pub" 2>/dev/null
api_q POST /v1/serviceaccounts "{\"name\":\"robot\",\"team\":\"$TEAM_ID\",\"public_key\":$(json_file_str "$E2E_DIR/robot.pub")}" "$ADMIN_KEY"
assert_status 201 "create service account robot"
ROBOT_ID=$(jbody -r .service_account.id)
api_q POST "/v1/projects/$PROJECT_ID/signers" '{"service_account":"robot"}' "$ADMIN_KEY"
assert_status 201 "robot signer"
sa_token "$E2E_DIR/robot.key" "$ROBOT_ID"
TOK[sa]=$SA_TOKEN

api_q GET /v1/ca "" "$ADMIN_KEY"; assert_status 200 "list CAs"
CA_ID=$(jbody -r '.cas[0].id')
[[ $CA_ID == ca_* ]] || fail "no built-in CA in GET /v1/ca"

# revoked, expired and disabled credentials
api_q POST /v1/apikeys '{"description":"to revoke"}' "${TOK[plain]}"; assert_status 201 "apikey create"
TOK[revoked]=$(jbody -r .key)
api_q DELETE "/v1/apikeys/$(jbody -r .id)" "" "${TOK[plain]}"; expect_status 200 "fixture: DELETE /v1/apikeys/{own key}"
api_q POST "/v1/users/$DISABLED_ID/disable" "" "$ADMIN_KEY"; assert_status 200 "disable user"
mk_expired_apikey "${TOK[plain]}"
TOK[expired]=$EXPIRED_KEY

# sanity: every live actor is who we think it is
for a in admin powner towner tmember plain beta sa; do
	api_q GET /v1/me "" "${TOK[$a]}"; assert_status 200 "whoami $a"
done

# ---- dynamic placeholders
new_apikey() {
	api_q POST /v1/apikeys "{\"user\":\"$PLAIN_ID\",\"description\":\"victim\"}" "$ADMIN_KEY"
	assert_status 201 "fixture: apikey for plain"
	jbody -r .id
}
new_sa() {
	api_q POST /v1/serviceaccounts "{\"name\":\"victim-sa-$(rand_hex)\",\"team\":\"$TEAM_ID\",\"public_key\":$(fresh_pub)}" "$ADMIN_KEY"
	assert_status 201 "fixture: service account"
	jbody -r .service_account.id
}
new_fed() {	# a fresh OIDC federation of {sa}
	api_q POST "/v1/serviceaccounts/$SA_ID/federations" '{"issuer":"https://ci.victim.test","audience":"signet","claims":{"repository":"org/victim"}}' "$ADMIN_KEY"
	assert_status 201 "fixture: federation"
	jbody -r .federation.id
}
new_grant() {	# a fresh pre-approval grant of appr to plain, by towner
	api_q POST "/v1/keys/$AKEY_ID/grants" '{"user":"plain@acme.test","max_signatures":1,"duration":"1h"}' "${TOK[towner]}"
	assert_status 201 "fixture: grant"
	jbody -r .grant.id
}
new_pending() {	# a fresh pending approval of appr, asked for by sa
	api_q POST "/v1/keys/$AKEY_ID/sign" "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digest\":\"$(rand_b64 32)\"}" "${TOK[sa]}"
	assert_status 202 "fixture: pending approval"
	jbody -r .approval.id
}
new_webhook() {	# a fresh webhook of acme (to a port nothing listens on)
	api_q POST /v1/webhooks '{"url":"https://127.0.0.1:9/victim","events":["approval.decided"]}' "$ADMIN_KEY"
	assert_status 201 "fixture: webhook"
	jbody -r .webhook.id
}
new_key() {
	mk_key "victim-k-$(rand_hex)"
	echo "$K_ID"
}

fill() {	# fill TEXT ACTOR: prints TEXT with placeholders substituted
	local s=$1 actor=$2 v
	s=${s//\{actor\}/$actor}
	s=${s//\{extra\}/extra-$actor@acme.test}
	s=${s//\{team\}/$TEAM_ID}
	s=${s//\{team_name\}/t1}
	s=${s//\{project\}/$PROJECT_ID}
	s=${s//\{project_name\}/p1}
	s=${s//\{key\}/$KEY_ID}
	s=${s//\{key2\}/$KEY2_ID}
	s=${s//\{akey\}/$AKEY_ID}
	s=${s//\{extkey\}/$EXTKEY_ID}
	s=${s//\{sa\}/$SA_ID}
	s=${s//\{ca\}/$CA_ID}
	s=${s//\{plain_id\}/$PLAIN_ID}
	s=${s//\{plain_email\}/plain@acme.test}
	s=${s//\{victim_id\}/$VICTIM_ID}
	s=${s//\{chain\}/$CHAIN_JSON}
	if [[ $s == *"{digest}"* ]]; then s=${s//\{digest\}/$(rand_b64 32)}; fi
	if [[ $s == *"{pub}"* ]]; then v=$(fresh_pub); s=${s//\{pub\}/$v}; fi
	if [[ $s == *"{new_apikey}"* ]]; then v=$(new_apikey); s=${s//\{new_apikey\}/$v}; fi
	if [[ $s == *"{new_sa}"* ]]; then v=$(new_sa); s=${s//\{new_sa\}/$v}; fi
	if [[ $s == *"{new_key}"* ]]; then v=$(new_key); s=${s//\{new_key\}/$v}; fi
	if [[ $s == *"{new_webhook}"* ]]; then v=$(new_webhook); s=${s//\{new_webhook\}/$v}; fi
	s=${s//\{webhook\}/$WEBHOOK_ID}
	if [[ $s == *"{new_grant}"* ]]; then v=$(new_grant); s=${s//\{new_grant\}/$v}; fi
	if [[ $s == *"{pending}"* ]]; then v=$(new_pending); s=${s//\{pending\}/$v}; fi
	if [[ $s == *"{new_fed}"* ]]; then v=$(new_fed); s=${s//\{new_fed\}/$v}; fi
	[[ ! $s =~ \{[a-z_]+\} ]] || fail "unknown placeholder in '$s'"
	printf '%s' "$s"
}

expand() {	# expand EXPECTATIONS: sets WANT[actor]
	local e k v a
	WANT=()
	for e in $1; do
		k=${e%%=*} v=${e#*=}
		# one expected answer per cell: "a|b" or "-" could not fail
		[[ $v =~ ^[0-9]{3}$ ]] || fail "authz_matrix.tsv: '$e' in '$1': one HTTP status per cell"
		case $k in
		all) for a in "${ACTORS[@]}"; do WANT[$a]=$v; done ;;
		users) for a in powner towner tmember plain; do WANT[$a]=$v; done ;;
		bad) for a in none revoked expired disabled; do WANT[$a]=$v; done ;;
		*)
			[[ -n ${TOK[$k]+x} ]] || fail "authz_matrix.tsv: unknown actor '$k'"
			WANT[$k]=$v
			;;
		esac
	done
	for a in "${ACTORS[@]}"; do
		[[ -n ${WANT[$a]+x} ]] || fail "authz_matrix.tsv: no expectation for '$a' in '$1'"
	done
}

declare -A WANT
MISMATCHES=()
NCHECKS=0
NROWS=0
while IFS=$'\t' read -r method path body expect; do
	[[ -z $method || $method == \#* ]] && continue
	[[ -n $expect ]] || fail "authz_matrix.tsv: malformed row '$method $path'"
	NROWS=$((NROWS + 1))
	expand "$expect"
	# placeholders (and fresh fixtures) first, in order; then the row's
	# requests in parallel (the actors of one row never depend on each other)
	unset RP RB
	declare -A RP RB
	for a in "${ACTORS[@]}"; do
		[[ ${WANT[$a]} == - ]] && continue
		RP[$a]=$(fill "$path" "$a")
		RB[$a]=
		[[ $body == - ]] || RB[$a]=$(fill "$body" "$a")
	done
	# one curl for the whole row: one TLS connection, reused
	cargs=()
	for a in "${ACTORS[@]}"; do
		[[ -n ${RP[$a]+x} ]] || continue
		((${#cargs[@]} == 0)) || cargs+=(--next)
		cargs+=(-s --max-time 60 --cacert "$SIGNET_CA_FILE" -X "$method" -o "$E2E_DIR/m.$a.body"
		    -w "$a %{http_code}\n")
		[[ -n ${TOK[$a]} ]] && cargs+=(-H "Authorization: Bearer ${TOK[$a]}")
		[[ -n ${RB[$a]} ]] && cargs+=(-H 'Content-Type: application/json' --data-binary "${RB[$a]}")
		cargs+=("$SIGNET_URL${RP[$a]}")
		: >"$E2E_DIR/m.$a.body"
	done
	curl "${cargs[@]}" >"$E2E_DIR/m.codes" 2>/dev/null || true
	for a in "${ACTORS[@]}"; do
		[[ -n ${RP[$a]+x} ]] || continue
		want=${WANT[$a]}
		got=$(awk -v a="$a" '$1 == a {print $2}' "$E2E_DIR/m.codes")
		[[ -n $got ]] || got=000
		cp "$E2E_DIR/m.$a.body" "$E2E_DIR/last.body" 2>/dev/null || : >"$E2E_DIR/last.body"
		printf '%s' "$got" >"$E2E_DIR/last.status"
		NCHECKS=$((NCHECKS + 1))
		if [[ "|$want|" != *"|$got|"* ]]; then
			MISMATCHES+=("$(printf '%-7s %-52s %-9s %-7s %-4s %s' "$method" "$path" "$a" "$want" "$got" \
			    "$(head -c 100 "$E2E_DIR/last.body" | tr -d '\n')")")
		elif ((got >= 400)) && [[ $path != /v1/oauth/* ]]; then
			check_error_shape "$method $path as $a" || true
		fi
	done
done <"$TSV"

echo "authz matrix: $NROWS rows, $NCHECKS requests"
if ((${#MISMATCHES[@]} > 0)); then
	printf '%-7s %-52s %-9s %-7s %-4s %s\n' METHOD PATH ACTOR WANT GOT BODY >&2
	printf '%s\n' "${MISMATCHES[@]}" >&2
	_e2e_soft_fail "${#MISMATCHES[@]} authorization mismatches (table above)"
fi

# ---- visibility: lists show exactly what each caller may see
list_has() {	# list_has ACTOR PATH JQ-ARRAY ID -> "yes"/"no"
	api_q GET "$2" "" "${TOK[$1]}"
	if [[ $(last_status) != 200 ]]; then echo "HTTP$(last_status)"; return; fi
	jbody -r --arg id "$4" "if ([$3[]? | .id] | index(\$id)) != null then \"yes\" else \"no\" end"
}
expect_eq "$(list_has towner /v1/keys .keys "$KEY_ID")" yes "towner (signer) sees k1 in GET /v1/keys"
expect_eq "$(list_has plain /v1/keys .keys "$KEY_ID")" no "plain user does not see k1 in GET /v1/keys"
expect_eq "$(list_has beta /v1/keys .keys "$KEY_ID")" no "beta admin does not see k1 in GET /v1/keys"
expect_eq "$(list_has tmember /v1/me/keys .keys "$KEY_ID")" yes "tmember may sign with k1 (GET /v1/me/keys)"
expect_eq "$(list_has powner /v1/me/keys .keys "$KEY_ID")" no "project owner is not a signer (GET /v1/me/keys)"
expect_eq "$(list_has admin /v1/me/keys .keys "$KEY_ID")" no "admin is not a signer (GET /v1/me/keys)"
expect_eq "$(list_has plain /v1/me/keys .keys "$KEY_ID")" no "plain user may not sign (GET /v1/me/keys)"
expect_eq "$(list_has sa /v1/me/keys .keys "$KEY_ID")" yes "service account (signer) may sign with k1 (GET /v1/me/keys)"
expect_eq "$(list_has powner /v1/projects .projects "$PROJECT_ID")" yes "owner sees p1"
expect_eq "$(list_has tmember /v1/projects .projects "$PROJECT_ID")" yes "signer sees p1"
expect_eq "$(list_has plain /v1/projects .projects "$PROJECT_ID")" no "plain user does not see p1"
expect_eq "$(list_has tmember /v1/teams .teams "$TEAM_ID")" yes "member sees t1"
expect_eq "$(list_has powner /v1/teams .teams "$TEAM_ID")" no "non-member does not see t1"
expect_eq "$(list_has tmember /v1/serviceaccounts .service_accounts "$SA_ID")" yes "team member sees sa1"
expect_eq "$(list_has plain /v1/serviceaccounts .service_accounts "$SA_ID")" no "plain user does not see sa1"
expect_eq "$(list_has beta /v1/users .users "$PLAIN_ID")" no "beta admin does not see acme users"
expect_eq "$(list_has beta /v1/teams .teams "$TEAM_ID")" no "beta admin does not see acme teams"
expect_eq "$(list_has beta /v1/projects .projects "$PROJECT_ID")" no "beta admin does not see acme projects"
expect_eq "$(list_has beta /v1/ca .cas "$CA_ID")" no "beta admin does not see acme CAs"
# the victim of the matrix's disable row is really disabled
api_q GET "/v1/users/$VICTIM_ID" "" "$ADMIN_KEY"
expect_eq "$(jbody -r '(.user // .).disabled')" true "victim user disabled"
# plain's own API key list does not show other users' keys
api_q GET /v1/apikeys "" "${TOK[towner]}"
expect_eq "$(jbody '[.apikeys[]? | select(.description == "m-plain")] | length')" 0 "towner's apikey list excludes plain's keys"

# the chain still verifies after all of this
api_q GET /v1/audit/verify "" "$ADMIN_KEY"
expect_eq "$(jbody -r .ok)" true "audit chain ok after the matrix"

e2e_stop_server
e2e_done
