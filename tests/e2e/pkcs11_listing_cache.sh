#!/bin/bash
# pkcs11_listing_cache.sh - issue 18: the module's token listing shared
# between the processes of one user (listing_cache_ttl, docs/PKCS11.md
# "Listing cache"). At 1,100+ keys a second process whose search names no
# key (pkcs11-tool --list-objects, the libp11 engine, osslsigncode) pulls
# no key row (counted by the server's /metrics); osslsigncode signs through
# it and the signature verifies; a key added shows after the TTL; a key
# disabled fails to sign and the next process lists without it; the cache
# holds no credential, is 0600 in a 0700 directory, and a corrupt,
# truncated, foreign or too-open file or directory is ignored (the keys
# come from the service, the process works). TTL 0 writes nothing.
#
# e2e-requires: signetd signet signet-pkcs11
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/external_tools.bash"
e2e_require_tool pkcs11-tool openssl osslsigncode

M=$SIGNET_PKCS11
BIN=$(dirname "$M")
W=$E2E_DIR/work
cd "$W" || fail "cd $W"
export XDG_RUNTIME_DIR=$E2E_DIR/run
mkdir -m 700 "$XDG_RUNTIME_DIR"
CD=$XDG_RUNTIME_DIR/signet

e2e_start_server acme admin@acme.test
must_signet login --url "$SIGNET_URL" --api-key "$ADMIN_KEY" --ca-file "$SIGNET_CA_FILE"
ttl() { sed -i '/^listing_cache_ttl/d' "$SIGNET_CONFIG"; [[ -z $1 ]] || echo "listing_cache_ttl = $1" >>"$SIGNET_CONFIG"; }
TEN=$(db_query "select id from tenants where name = 'acme'")
api_q POST /v1/projects '{"name":"many"}' "$ADMIN_KEY"; assert_status 201 "project"
api_q POST /v1/projects/many/signers '{"user":"admin@acme.test"}' "$ADMIN_KEY"; assert_status 201 "signer"
# the key osslsigncode signs with (built-in CA: a certificate on the token)
api_q POST /v1/keys '{"project":"many","name":"cs","algorithm":"rsa-2048"}' "$ADMIN_KEY"
assert_status 201 "key many/cs"
jbody -r .key.public_key >cs.pub
api_q POST /v1/keys '{"project":"many","name":"zz","algorithm":"ecdsa-p256","ca":"none"}' "$ADMIN_KEY"
assert_status 201 "key many/zz"
KEY=$(jbody -r .key.id)
jbody -r .key.public_key >zz.pub
api_q GET "/v1/me/keys?key=many%2Fcs" "" "$ADMIN_KEY"
jbody -r '.keys[0].chain[-1]' >root.pem
jbody -r '.keys[0].chain[0]' >issuing.pem
# 1,100 rows beside them carrying zz's public key (only zz is in the HSM)
db_exec "BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1100)
 INSERT INTO signing_keys (id, tenant_id, project_id, name, algorithm, state, not_before, not_after,
 ca_mode, hsm_key_id, public_key_pem, created_at)
 SELECT 'skey_bulk' || substr(CAST(100000 + i AS TEXT), 2), '$TEN', k.project_id, 'k' || substr(CAST(100000 + i AS TEXT), 2), 'ecdsa-p256', 'active',
 k.not_before, k.not_after, 'none', k.hsm_key_id, k.public_key_pem, k.created_at
 FROM n, signing_keys k WHERE k.id = '$KEY'; COMMIT;"
N=1102
MT=$(e2e_metrics_token)
# rows: the key rows GET /v1/me/keys sent since the last call (the last
# count kept in a file: the call often runs in a subshell)
echo 0 >"$E2E_DIR/rows0"
rows() {
	local k
	k=$(curl -s --cacert "$SIGNET_CA_FILE" -H "Authorization: Bearer $MT" "$SIGNET_URL/metrics" |
	    awk '$1 == "signet_me_keys_rows_total" { k = $2 } END { print k + 0 }')
	echo $((k - $(cat "$E2E_DIR/rows0")))
	echo "$k" >"$E2E_DIR/rows0"
}
# list: one process, a class-only search; $LABELS = private keys it saw
list() {
	pkcs11-tool --module "$M" --list-objects --type privkey >objs 2>objs.err ||
	    fail "pkcs11-tool --list-objects ($1): $(cat objs.err)"
	LABELS=$(grep -c 'label:' objs)
}
FILE() { ls "$CD"/keys-*.json 2>/dev/null; }

# ---- off by default: no file, every process pays
rows >/dev/null
list "no ttl"; list "no ttl again"
assert_eq "$LABELS" "$N" "keys on the token"
r=$(rows); ((r >= 2 * N)) || fail "without listing_cache_ttl two processes pulled $r rows, expected >= $((2 * N))"
[[ -z $(FILE) ]] || fail "a cache file without listing_cache_ttl: $(FILE)"
ttl 0; list "ttl 0"
[[ -z $(FILE) ]] || fail "a cache file with listing_cache_ttl = 0"

# ---- shared: the first process fetches, the next ones do not
ttl 5m; rows >/dev/null
list "first"
r=$(rows); ((r >= N)) || fail "the first process pulled $r rows"
F=$(FILE)
[[ -n $F && $(wc -l <<<"$F") == 1 ]] || fail "one cache file expected: '$F'"
assert_eq "$(stat -c %a "$CD")" 700 "cache directory mode"
assert_eq "$(stat -c %a "$F")" 600 "cache file mode"
! grep -qF "$ADMIN_KEY" "$F" || fail "the API key is in the cache file"
! grep -qF "${ADMIN_KEY:0:16}" "$F" || fail "part of the API key is in the cache file"
cp "$F" good.json
list "second"
assert_eq "$LABELS" "$N" "keys on the token from the cache"
assert_eq "$(rows)" 0 "key rows pulled by a second class-only process"
# the libp11 engine searches by class alone: signs from the cached listing
cat >engine.cnf <<EOF
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = /usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so
MODULE_PATH = $M
init = 0
EOF
head -c 1000 /dev/urandom >payload.bin
OPENSSL_CONF=$W/engine.cnf openssl dgst -sha256 -engine pkcs11 -keyform engine \
    -sign "pkcs11:token=Signet;object=many%2Fzz;type=private" -out sig.der payload.bin 2>sig.err ||
    fail "engine sign: $(cat sig.err)"
openssl dgst -sha256 -verify zz.pub -signature sig.der payload.bin >/dev/null ||
    fail "the engine's signature does not verify"
assert_eq "$(rows)" 0 "key rows pulled by the libp11 engine with a fresh cache"
# osslsigncode: key and certificate from the token, the listing cached
ENGINE=
for e in /usr/lib/*/engines-3/pkcs11.so /usr/lib/*/engines-3/libpkcs11.so; do
	[[ -f $e ]] && { ENGINE=$e; break; }
done
"$BIN/signet_mkpe" a.exe "listing cache" || fail "signet_mkpe"
URI="pkcs11:token=Signet;object=many%2Fcs;type=private"
args=(-pkcs11module "$M" -pkcs11cert "${URI/type=private/type=cert}" -key "$URI" -h sha256 -ac issuing.pem)
[[ -n $ENGINE ]] && args=(-pkcs11engine "$ENGINE" "${args[@]}")
osslsigncode sign "${args[@]}" -in a.exe -out b.exe >oss.out 2>&1 ||
    fail "osslsigncode sign: $(tail -n3 oss.out | tr '\n' ' ')"
osslsigncode verify -in b.exe -CAfile root.pem >ossv.out 2>&1 ||
    fail "osslsigncode verify: $(tail -n5 ossv.out | tr '\n' ' ')"
expect_contains "$(cat ossv.out)" "CN=cs" "osslsigncode signer"
expect_eq "$(rows)" 0 "key rows pulled by osslsigncode with a fresh cache"

# ---- a key added: invisible to a class-only search until the TTL ends
# The TTL is long enough for a sanitizer build on a busy machine to list
# 1,100 keys twice inside it (a 3 s TTL ran out before the second listing).
# The refresh starts from no file, so its entry is new, and the TTL counts
# from the fetch time in that entry's header (an entry reused from before
# the refresh, or a start time taken before it, made the window too short
# on a slow sanitizer run); the test then sleeps only for what is left.
ttl 30s; rm -f "$(FILE)"; list "refresh"; rows >/dev/null
T0=$(head -n1 "$(FILE)" | awk '{ print $4 }')
[[ $T0 =~ ^[0-9]+$ ]] || fail "no fetch time in the cache header: '$T0'"
api_q POST /v1/keys '{"project":"many","name":"new","algorithm":"ecdsa-p256","ca":"none"}' "$ADMIN_KEY"
assert_status 201 "key many/new"
list "stale"
(($(date +%s) - T0 < 30)) || fail "the stale listing ended $(($(date +%s) - T0)) s after the fetch, past the 30 s TTL"
expect_eq "$LABELS" "$N" "within the TTL the listing is the cached one"
sleep $((T0 + 31 - $(date +%s)))
list "after the ttl"
expect_eq "$LABELS" "$((N + 1))" "a key added shows once the TTL is over"
expect_contains "$(cat objs)" "many/new" "the new key on the token"
r=$(rows); ((r >= N + 1)) || _e2e_soft_fail "after the TTL only $r rows were pulled"
# a key named by the search is asked for (?key=) whatever the cache says
api_q POST /v1/keys '{"project":"many","name":"newer","algorithm":"ecdsa-p256","ca":"none"}' "$ADMIN_KEY"
assert_status 201 "key many/newer"
jbody -r .key.public_key >newer.pub
NID=$(jbody -r .key.id | tr -d '\n' | od -An -tx1 | tr -d ' \n')
pkcs11-tool --module "$M" --sign --id "$NID" -m ECDSA-SHA256 --signature-format openssl \
    -i payload.bin -o sig2.der 2>sign2.err || _e2e_soft_fail "sign with a key newer than the cache: $(cat sign2.err)"
openssl dgst -sha256 -verify newer.pub -signature sig2.der payload.bin >/dev/null ||
    _e2e_soft_fail "the signature of many/newer does not verify"

# ---- a key disabled: the cached listing still shows it, signing fails,
# and the failure drops the cache so the next process lists without it
ttl 5m; list "refill"; rows >/dev/null
api_q POST /v1/keys/$KEY/disable '{}' "$ADMIN_KEY"; assert_status 200 "disable many/zz"
OPENSSL_CONF=$W/engine.cnf openssl dgst -sha256 -engine pkcs11 -keyform engine \
    -sign "pkcs11:token=Signet;object=many%2Fzz;type=private" -out sig3.der payload.bin 2>sig3.err &&
    _e2e_soft_fail "a disabled key signed from a cached listing"
[[ -z $(FILE) ]] || _e2e_soft_fail "the cache survived a refused signature"
list "after the refusal"
expect_eq "$(grep -c 'label: *many/zz$' objs)" 0 "the disabled key is gone for the next process"
api_q POST /v1/keys/$KEY/enable '{}' "$ADMIN_KEY"; assert_status 200 "enable many/zz"

# ---- garbage: each is ignored, the process lists every key from the service
NOW=$N
rm -f "$(FILE)"; list "baseline"; NOW=$LABELS; cp "$(FILE)" good.json; F=$(FILE)
garbage() {	# garbage WHAT: the file is prepared; the next process ignores it
	rows >/dev/null
	list "$1"
	expect_eq "$LABELS" "$NOW" "$1: keys on the token"
	r=$(rows); ((r >= NOW)) || _e2e_soft_fail "$1: only $r rows pulled (the file was used)"
}
restore() { rm -f "$F"; cp good.json "$F"; chmod 600 "$F"; }
head -c "$(($(stat -c %s good.json) / 2))" good.json >"$F"; garbage "truncated file"
restore; : >"$F"; garbage "empty file"
restore; head -c 5000 /dev/urandom >"$F"; garbage "random bytes"
restore; python3 - "$F" <<'PY'; garbage "one body byte changed"
import sys; p = sys.argv[1]; b = bytearray(open(p, "rb").read()); i = b.index(b"\n") + 40; b[i] ^= 1; open(p, "wb").write(b)
PY
restore; sed -i '1s/ [0-9]* \([0-9]* [0-9a-f]*\)$/ 99999999999 \1/' "$F"; garbage "fetched in the future"
restore; sed -i '1s/^signet-listing-cache 1 [0-9a-f]*/signet-listing-cache 1 0000000000000000000000000000000000000000/' "$F"; garbage "another entry's name"
restore; printf 'signet-listing-cache 1 junk\n{}' >"$F"; garbage "bad header"
# a well-formed header over a body the token cannot take
restore; python3 - "$F" <<'PY'; garbage "valid hash over a bad listing"
import hashlib, sys, time
p = sys.argv[1]; name = open(p).read().split()[2]
body = b'{"keys":[{"id":"x","public_key":"garbage"}]}'
open(p, "wb").write(b"signet-listing-cache 1 %s %d %d %s\n" % (name.encode(), int(time.time()), len(body),
    hashlib.sha256(body).hexdigest().encode()) + body)
PY
restore; chmod 644 "$F"; garbage "file mode 0644"
restore; chown nobody "$F"; garbage "file owned by someone else"
restore; mv "$F" "$CD/elsewhere"; ln -s "$CD/elsewhere" "$F"; garbage "file is a symlink"
rm -f "$F" "$CD/elsewhere"
restore; chmod 755 "$CD"; garbage "directory mode 0755"
expect_eq "$(cmp -s good.json "$F" && echo same)" same "a directory open to others is not written"
chmod 700 "$CD"
restore; chown nobody "$CD"; garbage "directory owned by someone else"
chown root "$CD"
restore; rm -rf "$CD"; mkdir -m 700 "$E2E_DIR/realdir"; ln -s "$E2E_DIR/realdir" "$CD"; garbage "directory is a symlink"
[[ -z $(ls "$E2E_DIR/realdir") ]] || _e2e_soft_fail "the cache followed a symlinked directory"
rm -f "$CD"
list "directory made again"
[[ -n $(FILE) ]] || _e2e_soft_fail "no cache file after the directory was removed"

# ---- two credentials never share an entry
must_signet user create dev@acme.test
U_KEY=$(tail -n1 <<<"$OUT")
api_q POST /v1/projects/many/signers '{"user":"dev@acme.test"}' "$ADMIN_KEY"
before=$(FILE | wc -l)
SIGNET_API_KEY=$U_KEY list "another user"
expect_eq "$(FILE | wc -l)" "$((before + 1))" "another user's listing is its own file"

# ---- the config value is checked
for v in abc -1 2h 10x; do
	ttl "$v"
	run_signet "1|2" whoami
	expect_contains "$ERR" "listing_cache_ttl" "listing_cache_ttl = $v refused"
done
ttl ""

e2e_stop_server
e2e_done
