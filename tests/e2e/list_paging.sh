#!/bin/bash
# list_paging.sh - issue 18: every list endpoint pages (?limit=, ?cursor=,
# next_cursor), a walk through the pages holds every item once and only
# what the caller may see (the same objects authz_check lets it GET or
# sign with), a walk stays complete when objects are added between pages,
# garbage limits and cursors are a 400, and the CLI follows the pages to
# the end.
# e2e-requires: signetd signet
source "$(dirname "$0")/lib.sh"
e2e_require_tool sqlite3 openssl

e2e_init acme admin@acme.test
e2e_serve
A=$ADMIN_KEY
TEN=$(db_query "select id from tenants where name = 'acme'")

# ---- fixtures: users, teams, projects with owners and signers, keys, SAs
mk_user alice@acme.test; ALICE=$U_KEY	# owns p02 directly
mk_user bob@acme.test; BOB=$U_KEY	# member of t1 (owns p04, signs p05)
mk_user carol@acme.test; CAROL=$U_KEY	# direct signer of p06
mk_user dave@acme.test; DAVE=$U_KEY	# nothing
for t in t1 t2 t3; do
	api_q POST /v1/teams "{\"name\":\"$t\"}" "$A"; assert_status 201 "team $t"
done
api_q POST /v1/teams/t1/members '{"user":"bob@acme.test"}' "$A"; assert_status 200 "t1 member"
api_q POST /v1/teams/t3/members '{"user":"bob@acme.test","owner":true}' "$A"; assert_status 200 "t3 member"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$E2E_DIR/sa1.key" 2>/dev/null ||
    fail "genpkey"
openssl pkey -in "$E2E_DIR/sa1.key" -pubout -out "$E2E_DIR/sa1.key.pub" 2>/dev/null
for i in 1 2 3; do
	((i == 1)) || mk_ec_keypair "$E2E_DIR/sa$i.key"
	PUB=$(json_file_str "$E2E_DIR/sa$i.key.pub")
	team=t1; ((i == 3)) && team=t2
	api_q POST /v1/serviceaccounts "{\"name\":\"sa$i\",\"team\":\"$team\",\"public_key\":$PUB}" "$A"
	assert_status 201 "service account sa$i"
	((i == 1)) && SA1_ID=$(jbody -r .service_account.id)
done
for i in 01 02 03 04 05 06 07; do
	api_q POST /v1/projects "{\"name\":\"p$i\"}" "$A"; assert_status 201 "project p$i"
	for k in a b; do
		api_q POST /v1/keys "{\"project\":\"p$i\",\"name\":\"k$k\",\"algorithm\":\"ecdsa-p256\",\"ca\":\"none\"}" "$A"
		assert_status 201 "key p$i/k$k"
	done
done
api_q POST /v1/projects/p02/owners '{"user":"alice@acme.test"}' "$A"; assert_status 200 "p02 owner"
api_q POST /v1/projects/p04/owners '{"team":"t1"}' "$A"; assert_status 200 "p04 owner"
api_q POST /v1/projects/p05/signers '{"team":"t1"}' "$A"; assert_status 201 "p05 signer"
api_q POST /v1/projects/p06/signers '{"user":"carol@acme.test"}' "$A"; assert_status 201 "p06 signer"
api_q POST /v1/projects/p03/signers '{"service_account":"sa1"}' "$A"; assert_status 201 "p03 signer"
api_q POST /v1/projects/p07/signers '{"user":"admin@acme.test"}' "$A"; assert_status 201 "p07 signer"
api_q GET "/v1/keys?project=p05&name=kb" "" "$A"; assert_status 200 "find p05/kb"
api_q POST "/v1/keys/$(jbody -r '.keys[0].id')/disable" '{}' "$A"; assert_status 200 "disable p05/kb"
sa_token "$E2E_DIR/sa1.key" "$SA1_ID"; SA1=$SA_TOKEN

# walk TOKEN PATH MEMBER LIMIT JQ-ID [CURSOR]: every page (from CURSOR),
# printing one id per item; fails on a repeated cursor or > 100 pages.
walk() {
	local token=$1 path=$2 member=$3 limit=$4 id=$5 cur=${6-} sep="?" n=0 url out next
	[[ $path == *\?* ]] && sep="&"
	while :; do
		url="$path${sep}limit=$limit"
		[[ -n $cur ]] && url+="&cursor=$cur"
		api_q GET "$url" "" "$token"
		[[ $(last_status) == 200 ]] || fail "GET $url: HTTP $(last_status): $(head -c 300 "$E2E_DIR/last.body")"
		# one jq a page: the ids, then "NEXT <cursor>" (empty at the end)
		out=$(jbody -r --argjson lim "$limit" "if (.$member | length) > \$lim then
		    \"TOO-MANY\" else empty end, (.$member[] | $id), \"NEXT \" + (.next_cursor // \"\")")
		[[ $out != TOO-MANY* ]] || fail "GET $url: more than $limit items"
		next=${out##*NEXT }
		out=${out%NEXT*}
		[[ -n ${out//[[:space:]]/} ]] && printf '%s\n' "${out%$'\n'}"
		[[ -z $next ]] && break
		[[ $next != "$cur" ]] || fail "GET $url: the same cursor again"
		cur=$next
		n=$((n + 1))
		((n < 100)) || fail "GET $path: more than 100 pages"
	done
}

# codes TOKEN METHOD BODY PATH...: the HTTP status of each request, one
# per line, from one curl process (one TLS connection) for all of them.
codes() {
	local token=$1 method=$2 body=$3 p
	shift 3
	local -a args=(-s --max-time 120 --cacert "$SIGNET_CA_FILE" -X "$method"
	    -H "Authorization: Bearer $token" -w '%{http_code}\n')
	[[ -n $body ]] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
	for p in "$@"; do args+=(-o /dev/null "$SIGNET_URL$p"); done
	curl "${args[@]}"
}
# The ids of the admin's complete list of KIND (one page of 1000).
all_ids() {
	api_q GET "/v1/$1?limit=1000" "" "$A"; assert_status 200 "all $1"
	jbody -r ".$2[].id"
}
# The objects TOKEN may GET (authz_check's answer for each), or sign with.
viewable() {
	local token=$1 kind=$2 member=$3
	local -a ids paths
	mapfile -t ids < <(all_ids "$kind" "$member")
	paths=("${ids[@]/#//v1/$kind/}")
	paste -d ' ' <(printf '%s\n' "${ids[@]}") <(codes "$token" GET "" "${paths[@]}") |
	    awk '$2 == 200 { print $1 }'
}
signable() {
	local token=$1
	local body="{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digest\":\"$(rand_b64 32)\"}"
	local -a ids paths
	mapfile -t ids < <(all_ids keys keys)
	paths=("${ids[@]/%//sign}")
	paths=("${paths[@]/#//v1/keys/}")
	paste -d ' ' <(printf '%s\n' "${ids[@]}") <(codes "$token" POST "$body" "${paths[@]}") |
	    awk '$2 == 200 { print $1 }'
}

# check WHAT TOKEN PATH MEMBER EXPECTED-IDS: paged by 2, the walk holds
# each expected id exactly once and nothing else, in the order of the one
# page that holds them all.
check() {
	local what=$1 token=$2 path=$3 member=$4 expected=$5 got
	got=$(walk "$token" "$path" "$member" 2 .id)
	[[ -z $(sort <<<"$got" | uniq -d) ]] || fail "$what: duplicates: $(sort <<<"$got" | uniq -d)"
	assert_eq "$(sort <<<"$got" | xargs)" "$(sort <<<"$expected" | xargs)" "$what"
	# one page holding everything says there is no next page
	api_q GET "$path$([[ $path == *\?* ]] && echo '&' || echo '?')limit=1000" "" "$token"
	assert_eq "$(jbody -r .next_cursor)" null "$what: next_cursor of the only page"
	assert_eq "$(jbody -r ".$member[].id" | xargs)" "$(xargs <<<"$got")" "$what: the same order in one page"
}

for who in A ALICE BOB CAROL DAVE SA1; do
	tok=${!who}
	check "$who projects" "$tok" /v1/projects projects "$(viewable "$tok" projects projects)"
	check "$who keys" "$tok" /v1/keys keys "$(viewable "$tok" keys keys)"
	check "$who teams" "$tok" /v1/teams teams "$(viewable "$tok" teams teams)"
	check "$who service accounts" "$tok" /v1/serviceaccounts service_accounts \
	    "$(viewable "$tok" serviceaccounts service_accounts)"
	check "$who me/keys" "$tok" /v1/me/keys keys "$(signable "$tok")"
done
# The expectations are not vacuous: the roles see different things.
assert_eq "$(walk "$A" /v1/projects projects 2 .name | tr '\n' ' ')" "p01 p02 p03 p04 p05 p06 p07 " "admin's projects"
assert_eq "$(walk "$BOB" /v1/projects projects 1 .name | tr '\n' ' ')" "p04 p05 " "bob's projects"
assert_eq "$(walk "$BOB" /v1/me/keys keys 1 '.project.name + "/" + .name' | tr '\n' ' ')" "p05/ka " "bob's signing keys (p05/kb disabled)"
assert_eq "$(walk "$SA1" /v1/me/keys keys 1 '.project.name + "/" + .name' | tr '\n' ' ')" "p03/ka p03/kb " "sa1's signing keys"
assert_eq "$(walk "$A" /v1/me/keys keys 1 '.project.name + "/" + .name' | tr '\n' ' ')" "p07/ka p07/kb " "the admin signs only as a signer"
assert_eq "$(walk "$BOB" /v1/teams teams 1 .name | tr '\n' ' ')" "t1 t3 " "bob's teams"
assert_eq "$(walk "$BOB" /v1/serviceaccounts service_accounts 1 .name | tr '\n' ' ')" "sa1 sa2 " "bob's service accounts"
assert_eq "$(walk "$SA1" /v1/teams teams 1 .name | wc -w)" 0 "a service account lists no teams"
# The rendered objects are those of GET /v1/<kind>/{id} (owners, members).
api_q GET /v1/projects/p04 "" "$A"; ONE=$(jbody -cS .project)
api_q GET "/v1/projects?limit=1000" "" "$A"
assert_eq "$(jbody -cS '.projects[] | select(.name == "p04")')" "$ONE" "a listed project is the shown project"
api_q GET /v1/teams/t3 "" "$A"; ONE=$(jbody -cS .team)
api_q GET "/v1/teams?limit=1000" "" "$A"
assert_eq "$(jbody -cS '.teams[] | select(.name == "t3")')" "$ONE" "a listed team is the shown team"
# users (admins only) and the audit trail
check "users" "$A" /v1/users users "$(walk "$A" /v1/users users 1000 .id)"
assert_eq "$(walk "$A" /v1/users users 2 .email | tr '\n' ' ')" \
    "admin@acme.test alice@acme.test bob@acme.test carol@acme.test dave@acme.test " "users in email order"
api_q GET "/v1/users?limit=2" "" "$ALICE"; assert_status 403 "a user lists no users"
KA=$(walk "$A" "/v1/keys?project=p03" keys 1000 .id | head -n1)
got=$(walk "$A" "/v1/audit?key=$KA" events 1 .seq)
assert_eq "$(wc -l <<<"$got")" "$(audit_count "$A" "select(.object_type == \"key\" and .object_id == \"$KA\")")" "audit ?key= walked by 1"
[[ -z $(sort <<<"$got" | uniq -d) ]] || fail "audit ?key= walk: duplicates"
got=$(walk "$A" /v1/audit events 25 .seq)
assert_eq "$(wc -l <<<"$got")" "$(audit_count "$A" true)" "audit walked by 25"
assert_eq "$(sort -n <<<"$got" | tr '\n' ' ')" "$(tr '\n' ' ' <<<"$got")" "audit in seq order"

# ---- stable under inserts: objects added before and after the cursor
# between two pages neither repeat nor hide the others.
api_q GET "/v1/projects?limit=3" "" "$A"
first=$(jbody -r '.projects[].name'); cur=$(jbody -r .next_cursor)
api_q POST /v1/projects '{"name":"p00"}' "$A"; assert_status 201 "p00"
api_q POST /v1/projects '{"name":"p035"}' "$A"; assert_status 201 "p035 (after the cursor)"
api_q POST /v1/projects '{"name":"p99"}' "$A"; assert_status 201 "p99"
rest=$(walk "$A" /v1/projects projects 2 .name "$cur")
assert_eq "$(xargs <<<"$first $rest")" "p01 p02 p03 p035 p04 p05 p06 p07 p99" \
    "a walk with inserts between pages"
# deleting the cursor's own item does not break the walk
api_q GET "/v1/keys?limit=3" "" "$A"; cur=$(jbody -r .next_cursor); last=$(jbody -r '.keys[-1].id')
api_q DELETE "/v1/keys/$last" "" "$A"; assert_status 200 "delete the page's last key"
rest=$(walk "$A" /v1/keys keys 4 '.project.name + "/" + .name' "$cur" | xargs)
assert_eq "$rest" "p02/kb p03/ka p03/kb p04/ka p04/kb p05/ka p05/kb p06/ka p06/kb p07/ka p07/kb" "keys after a deleted cursor key"

# ---- garbage: 400 with a message naming the parameter, nothing changed
api_q GET "/v1/teams?limit=2" "" "$A"; TCUR=$(jbody -r .next_cursor)
for p in /v1/projects /v1/teams /v1/keys /v1/users /v1/serviceaccounts /v1/me/keys /v1/audit; do
	for q in limit=0 limit=-1 limit=1001 limit=abc limit= "limit=1%00" cursor=abc cursor= \
	    "cursor=%ff%fe" "cursor=$(printf 'x%.0s' {1..1100})"; do
		api_q GET "$p?$q" "" "$A"; assert_status 400 "GET $p?${q:0:40}"
		assert_contains "$(jbody -r 'if (.error | type) == "object" and
		    (.error.code | type) == "string" and (.error.message | type) == "string"
		    then .error.message else "not an error object" end')" "${q%%=*}" \
		    "GET $p?${q:0:40}: error message"
	done
	[[ $p == /v1/teams ]] && continue
	api_q GET "$p?cursor=$TCUR" "" "$A"; assert_status 400 "GET $p with a teams cursor"
done
api_q GET "/v1/projects?limit=1000" "" "$A"; assert_status 200 "limit=1000 is allowed"

# ---- the CLI walks every page (the server's pages hold 1000 at most)
db_exec "BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1234)
 INSERT INTO teams (id, tenant_id, name, created_at) SELECT 'team_bulk' || substr(CAST(100000 + i AS TEXT), 2), '$TEN',
 'bulk-' || substr(CAST(100000 + i AS TEXT), 2), 0 FROM n; COMMIT;"
SIGNET_API_KEY=$A run_signet 0 team list
assert_eq "$(grep -c '^bulk-' <<<"$OUT")" 1234 "signet team list shows every page"
SIGNET_API_KEY=$A run_signet 0 team list --json
assert_eq "$(jq '.teams | length' <<<"$OUT")" 1237 "signet team list --json merges the pages"
assert_eq "$(jq -r '.teams | map(.name) | unique | length' <<<"$OUT")" 1237 "no team twice"
n=$(audit_count "$A" true)
((n > 30)) || fail "too few audit events ($n) for the audit list test"
SIGNET_API_KEY=$A run_signet 0 audit list --json
assert_eq "$(jq '.events | length' <<<"$OUT")" "$(audit_count "$A" true)" "signet audit list: every event"
SIGNET_API_KEY=$A run_signet 0 audit list --limit 5 --json
assert_eq "$(jq '.events | length' <<<"$OUT")" 5 "signet audit list --limit 5"
SIGNET_API_KEY=$A run_signet 0 project list
assert_eq "$(grep -c '^p' <<<"$OUT")" 10 "signet project list"
SIGNET_API_KEY=$BOB run_signet 0 keys
assert_contains "$OUT" "p05/ka" "signet keys"

e2e_done
