#!/bin/bash
# listing_etag.sh - issue 18: GET /v1/me/keys carries a weak ETag of the
# caller's whole listing and answers a matching If-None-Match with 304
# (docs/API.md "/v1/me/keys"). For each change that can alter what a caller
# may sign with, the ETag taken before it must no longer validate after it
# (a 200 with the change), and the 304 before it is counted by /metrics
# with no key row. Time counts too: a key whose validity ends or starts
# after the listing was made. Garbage If-None-Match values get a 400 or a
# plain 200 and change nothing; signing changes no generation.
#
# e2e-requires: signetd signet
source "$(dirname "$0")/lib.sh"
e2e_require_tool curl jq openssl

e2e_start_server acme admin@acme.test
A=$ADMIN_KEY
W=$E2E_DIR/work
mkdir -p "$W"
TEN=$(db_query "select id from tenants where name = 'acme'")
MT=$(e2e_metrics_token)
mk_user dev@acme.test; U=$U_KEY
api_q POST /v1/projects '{"name":"p1"}' "$A"; assert_status 201 "project p1"
api_q POST /v1/projects '{"name":"p2"}' "$A"; assert_status 201 "project p2"
api_q POST /v1/projects/p1/signers '{"user":"dev@acme.test"}' "$A"; assert_status 201 "dev signs p1"
mkkey() {	# mkkey PROJECT NAME [EXTRA-JSON]: sets KID
	api_q POST /v1/keys "{\"project\":\"$1\",\"name\":\"$2\",\"algorithm\":\"ecdsa-p256\"${3:+,$3}}" "$A"
	assert_status 201 "key $1/$2"
	KID=$(jbody -r .key.id)
}
mkkey p1 k1 '"ca":"none"'; K1=$KID

# get TOKEN [IF-NONE-MATCH [QUERY]]: ST status, ETAG, LIST "p/k ..." (200)
get() {
	local -a h=()
	[[ -n ${2-} ]] && h=(-H "If-None-Match: $2")
	: >"$W/body"
	ST=$(curl -s --max-time 60 --cacert "$SIGNET_CA_FILE" -H "Authorization: Bearer $1" "${h[@]}" \
	    -D "$W/hdr" -o "$W/body" -w '%{http_code}' "$SIGNET_URL/v1/me/keys?${3:-limit=1000}") || ST=000
	ETAG=$(sed -n 's/^[Ee][Tt][Aa][Gg]: *//p' "$W/hdr" | tr -d '\r')
	LIST=
	[[ $ST == 200 ]] && LIST=$(jq -r '[.keys[] | .project.name + "/" + .name] | join(" ")' "$W/body")
	return 0
}
metric() {
	curl -s --cacert "$SIGNET_CA_FILE" -H "Authorization: Bearer $MT" "$SIGNET_URL/metrics" |
	    awk -v m="$1" '$1 == m { v = $2 } END { print v + 0 }'
}
gen() { db_query "select coalesce((select gen from listing_generations where tenant_id = '$TEN'), 0)"; }

# ---- the 304 path: the ETag validates itself, no key row is sent
assert_status_is() { [[ $ST == "$1" ]] || fail "$2: status $ST, expected $1 ($(head -c 300 "$W/body"))"; }

get "$U"; assert_status_is 200 "first listing"
[[ $ETAG =~ ^W/\"[0-9]+-[0-9a-f]{32}\"$ ]] || fail "ETag '$ETAG' is not W/\"T-H\""
assert_eq "$LIST" "p1/k1" "dev's listing"
E=$ETAG
rows0=$(metric signet_me_keys_rows_total); nm0=$(metric signet_me_keys_not_modified_total)
get "$U" "$E"
assert_status_is 304 "If-None-Match with the current ETag"
[[ ! -s $W/body ]] || fail "a 304 with a body"
assert_eq "$ETAG" "$E" "the 304 names the listing the client has"
assert_eq "$(metric signet_me_keys_rows_total)" "$rows0" "key rows sent by a 304"
assert_eq "$(metric signet_me_keys_not_modified_total)" "$((nm0 + 1))" "304s counted"
# every page of the full listing carries it; ?key= and ?expiring= do not
get "$U" "" "limit=1"; [[ -n $ETAG ]] || fail "a page of the full listing without an ETag"
get "$U" "" "key=p1%2Fk1"; assert_status_is 200 "?key="
[[ -z $ETAG ]] || fail "?key= answered with an ETag"
get "$U" "$E" "key=p1%2Fk1"; assert_status_is 200 "?key= with If-None-Match (not evaluated)"
get "$U" "" "expiring=30d"; [[ -z $ETAG ]] || fail "?expiring= answered with an ETag"
# another caller's ETag is not this caller's
get "$A" "$E"; assert_status_is 200 "dev's ETag presented by the admin"

# ---- signing writes no generation
g=$(gen)
api_q POST "/v1/keys/$K1/sign" "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digest\":\"$(head -c 32 /dev/urandom | base64 -w0)\"}" "$U"
assert_status 200 "dev signs with p1/k1"
assert_eq "$(gen)" "$g" "listing generation after a signature"
get "$U" "$E"; assert_status_is 304 "the listing after a signature"

# change WHAT TOKEN EXPECTED-LIST CMD...: the ETag of TOKEN's listing taken
# before CMD validates before it and not after it; the listing after it is
# EXPECTED-LIST (or, for "-", CHECK run on the body).
change() {
	local what=$1 tok=$2 want=$3 e
	shift 3
	get "$tok"; assert_status_is 200 "$what: listing before"
	e=$ETAG
	get "$tok" "$e"; assert_status_is 304 "$what: revalidation before the change"
	"$@"
	get "$tok" "$e"
	[[ $ST == 200 ]] || fail "$what: the ETag taken before the change still validates (status $ST)"
	[[ $want == - ]] || expect_eq "$LIST" "$want" "$what: listing after the change"
}
ok() { local want=$1; shift; api_q "$@"; [[ $(last_status) == "$want" ]] || fail "$*: status $(last_status), expected $want: $BODY"; }

change "key added" "$U" "p1/k1 p1/k2" mkkey p1 k2; K2=$KID
change "key disabled" "$U" "p1/k1" ok 200 POST "/v1/keys/$K2/disable" '{}' "$A"
change "key enabled" "$U" "p1/k1 p1/k2" ok 200 POST "/v1/keys/$K2/enable" '{}' "$A"
change "key revoked" "$U" "p1/k1" ok 200 POST "/v1/keys/$K2/revoke" '' "$A"
get "$U"; PUB1=$(jq -r '.keys[] | select(.name == "k1") | .public_key' "$W/body")
change "key rotated" "$U" "p1/k1" ok 200 POST "/v1/keys/$K1/rotate" '{}' "$A"
[[ $(jq -r '.keys[] | select(.name == "k1") | .public_key' "$W/body") != "$PUB1" ]] ||
    fail "the rotated key's new public key is not in the listing"
mkkey p1 kb; KB=$KID
get "$U"; SER=$(jq -r '.keys[] | select(.name == "kb") | .certificate_serial' "$W/body")
[[ -n $SER && $SER != null ]] || fail "p1/kb has no certificate"
change "certificate renewed" "$U" "p1/k1 p1/kb" ok 200 POST "/v1/keys/$KB/renew" '{}' "$A"
[[ $(jq -r '.keys[] | select(.name == "kb") | .certificate_serial' "$W/body") != "$SER" ]] ||
    fail "the renewed certificate is not in the listing"
mkkey p1 kx '"ca":"external","subject":"CN=kx"'; KX=$KID
api_q POST "/v1/keys/$KX/csr" '{}' "$A"; assert_status 200 "csr of p1/kx"
jbody -r .csr >"$W/kx.csr"
mk_ext_chain "$W/kx.csr" "$W/kx.chain"
get "$U"; expect_eq "$(jq -r '.keys[] | select(.name == "kx") | .certificate' "$W/body")" null "p1/kx before its certificate"
change "certificate issued (imported)" "$U" "p1/k1 p1/kb p1/kx" \
    ok 200 PUT "/v1/keys/$KX/certificate" "{\"chain\":$(json_file_str "$W/kx.chain")}" "$A"
expect_contains "$(jq -r '.keys[] | select(.name == "kx") | .certificate' "$W/body")" "BEGIN CERTIFICATE" "p1/kx's certificate in the listing"
change "key deleted" "$U" "p1/k1 p1/kx" ok 200 DELETE "/v1/keys/$KB" '' "$A"
api_q POST /v1/teams '{"name":"rel"}' "$A"; assert_status 201 "team rel"
change "policy set" "$U" "p1/k1 p1/kx" ok 200 PUT "/v1/keys/$K1/policy" '{"approval":{"team":"rel","approvals":1,"ttl":"1h"}}' "$A"
expect_eq "$(jq -r '.keys[] | select(.name == "k1") | .approval_required' "$W/body")" true "the policy in the listing"
change "policy cleared" "$U" "p1/k1 p1/kx" ok 200 DELETE "/v1/keys/$K1/policy" '' "$A"
expect_eq "$(jq -r '.keys[] | select(.name == "k1") | .has_policy' "$W/body")" false "no policy in the listing"
# signers: directly
change "signer removed" "$U" "" ok 200 DELETE /v1/projects/p1/signers/user/dev@acme.test '' "$A"
change "signer added" "$U" "p1/k1 p1/kx" ok 201 POST /v1/projects/p1/signers '{"user":"dev@acme.test"}' "$A"
# ... through a team
mkkey p2 t1 '"ca":"none"'
api_q POST /v1/teams '{"name":"devs"}' "$A"; assert_status 201 "team devs"
change "team made a signer" "$U" "p1/k1 p1/kx" ok 201 POST /v1/projects/p2/signers '{"team":"devs"}' "$A"
change "caller joins the team" "$U" "p1/k1 p1/kx p2/t1" ok 200 POST /v1/teams/devs/members '{"user":"dev@acme.test"}' "$A"
change "caller leaves the team" "$U" "p1/k1 p1/kx" ok 200 DELETE /v1/teams/devs/members/dev@acme.test '' "$A"
api_q POST /v1/teams/devs/members '{"user":"dev@acme.test"}' "$A"; assert_status 200 "dev rejoins devs"
change "team no longer a signer" "$U" "p1/k1 p1/kx" ok 200 DELETE /v1/projects/p2/signers/team/devs '' "$A"
# ... as a service account
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$W/sa.key" 2>/dev/null || fail "genpkey"
openssl pkey -in "$W/sa.key" -pubout -out "$W/sa.key.pub" 2>/dev/null || fail "pkey -pubout"
api_q POST /v1/serviceaccounts "{\"name\":\"builder\",\"team\":\"devs\",\"public_key\":$(json_file_str "$W/sa.key.pub")}" "$A"
assert_status 201 "service account builder"
SA_ID=$(jbody -r .service_account.id)
sa_token "$W/sa.key" "$SA_ID"; S=$SA_TOKEN
change "service account made a signer" "$S" "p2/t1" ok 201 POST /v1/projects/p2/signers '{"service_account":"builder"}' "$A"
change "service account no longer a signer" "$S" "" ok 200 DELETE "/v1/projects/p2/signers/service_account/$SA_ID" '' "$A"
api_q POST /v1/projects/p2/signers '{"service_account":"builder"}' "$A"; assert_status 201 "builder signs p2 again"
get "$S"; assert_status_is 200 "builder's listing"; E=$ETAG
ok 200 DELETE "/v1/serviceaccounts/$SA_ID" '' "$A"
get "$S" "$E"; assert_status_is 401 "a deleted service account revalidates"
# the project deleted: the API has no project deletion (docs/API.md)

# ---- time: a key whose validity ends, or starts, after the listing was made
NOW=$(date +%s)
db_exec "UPDATE signing_keys SET not_after = $((NOW + 3)) WHERE id = '$K1'"
get "$U"; assert_status_is 200 "listing with p1/k1 ending in 3 s"
expect_eq "$LIST" "p1/k1 p1/kx" "p1/k1 still valid"
E=$ETAG
get "$U" "$E"; assert_status_is 304 "before p1/k1 ends"
sleep $((NOW + 5 - $(date +%s)))
get "$U" "$E"; assert_status_is 200 "after p1/k1 ended"
expect_eq "$LIST" "p1/kx" "p1/k1 gone once its validity ended"
NOW=$(date +%s)
db_exec "UPDATE signing_keys SET not_before = $((NOW + 3)), not_after = $((NOW + 86400)) WHERE id = '$K1'"
get "$U"; expect_eq "$LIST" "p1/kx" "p1/k1 not valid yet"
E=$ETAG
get "$U" "$E"; assert_status_is 304 "before p1/k1 starts"
sleep $((NOW + 5 - $(date +%s)))
get "$U" "$E"; assert_status_is 200 "after p1/k1 started"
expect_eq "$LIST" "p1/k1 p1/kx" "p1/k1 listed once valid"

# ---- garbage If-None-Match: a clear answer, nothing changed
get "$U"; E=$ETAG; OP=${E#W/}
g=$(gen); nm0=$(metric signet_me_keys_not_modified_total)
inm() {	# inm VALUE STATUS WHAT
	get "$U" "$1"
	[[ $ST == "$2" ]] || _e2e_soft_fail "If-None-Match $3: status $ST, expected $2"
	if [[ $2 == 400 ]]; then
		[[ $(jq -r .error.code "$W/body") == invalid_request || $(jq -r .error.code "$W/body") == invalid ]] ||
		    _e2e_soft_fail "If-None-Match $3: error $(head -c 200 "$W/body")"
		expect_contains "$(jq -r .error.message "$W/body")" "If-None-Match" "If-None-Match $3: message"
	fi
}
inm "$OP" 304 "strong form of the weak ETag (weak comparison)"
inm "\"x\", $E" 304 "the ETag second in a list"
inm " ,, $E ,\"y\" " 304 "empty list elements and spaces"
inm "*" 304 "*"
inm "w/$OP" 400 "lower-case w/"
inm "W/" 400 "W/ alone"
inm "W/\"abc" 400 "unterminated"
inm "abc" 400 "unquoted"
inm "\"a\" \"b\"" 400 "two tags without a comma"
inm "*, $E" 400 "* in a list"
inm "$(printf '"%s",' $(seq 1 40))" 400 "40 tags"
inm "\"$(head -c 3000 /dev/zero | tr '\0' a)\"" 400 "3000 bytes"
inm "$(printf '"\xc3\xa9t\xc3\xa9"')" 200 "non-ASCII inside the quotes"
inm "$(printf '\xc3\xa9')" 400 "non-ASCII outside quotes"
inm "W/\"$(( $(date +%s) + 3600 ))-${OP:12:32}\"" 200 "a time in the future"
inm "W/\"0-00000000000000000000000000000000\"" 200 "a well-formed tag not made here"
inm "W/\"-\"" 200 "W/\"-\""
get "$U" "" "key=p1%2Fk1"; get "$U" "abc" "key=p1%2Fk1"
[[ $ST == 400 ]] || _e2e_soft_fail "a malformed If-None-Match on ?key=: status $ST"
assert_eq "$(gen)" "$g" "listing generation after the garbage"
get "$U" "$E"; assert_status_is 304 "the ETag after the garbage"

e2e_stop_server
e2e_done
