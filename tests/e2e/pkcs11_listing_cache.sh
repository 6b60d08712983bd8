#!/bin/bash
# pkcs11_listing_cache.sh - issue 18: the module's token listing shared
# between the processes of one user, revalidated with the listing's ETag
# (docs/PKCS11.md "Listing cache"). At 1,100+ keys, by default, a second
# process whose search names no key (pkcs11-tool --list-objects, the
# libp11 engine, osslsigncode) pulls no key row and sends one conditional
# request the service answers 304 (both counted by the server's /metrics);
# osslsigncode signs through it and the signature verifies; a key added or
# disabled shows to the very next process. listing_cache = off: no file,
# every process pulls every row. listing_cache_ttl = 30s: within it no
# request at all and a key added shows once it ends; a key disabled fails
# to sign from the entry and the refusal drops it. The cache holds no
# credential, is 0600 in a 0700 directory, and a corrupt, truncated,
# foreign, version-1, badly tagged or too-open file or directory is ignored
# (the keys come from the service, the process works).
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
# conf KEY [VALUE]: sets (or, without VALUE, removes) a client config key
conf() { sed -i "/^$1 /d" "$SIGNET_CONFIG"; [[ -z ${2:-} ]] || echo "$1 = $2" >>"$SIGNET_CONFIG"; }
ttl() { conf listing_cache_ttl "$1"; }
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
# rows: the key rows GET /v1/me/keys sent since the last call; nm: the
# 304s it answered since the last call (the last counts kept in files:
# the calls often run in a subshell)
echo 0 >"$E2E_DIR/rows0"
echo 0 >"$E2E_DIR/nm0"
counter() {	# counter METRIC FILE
	local k
	k=$(curl -s --cacert "$SIGNET_CA_FILE" -H "Authorization: Bearer $MT" "$SIGNET_URL/metrics" |
	    awk -v m="$1" '$1 == m { k = $2 } END { print k + 0 }')
	echo $((k - $(cat "$2")))
	echo "$k" >"$2"
}
rows() { counter signet_me_keys_rows_total "$E2E_DIR/rows0"; }
nm() { counter signet_me_keys_not_modified_total "$E2E_DIR/nm0"; }
reset() { rows >/dev/null; nm >/dev/null; }
# list: one process, a class-only search; $LABELS = private keys it saw
list() {
	pkcs11-tool --module "$M" --list-objects --type privkey >objs 2>objs.err ||
	    fail "pkcs11-tool --list-objects ($1): $(cat objs.err)"
	LABELS=$(grep -c 'label:' objs)
}
FILE() { ls "$CD"/keys-*.json 2>/dev/null; }
# hfield N [FILE]: field N of the entry's header line (4: fetch time, 5: ETag)
hfield() { head -n1 "${2:-$(FILE)}" | awk -v n="$1" '{ print $n }'; }
# sethdr FILE N VALUE: the header's field N replaced, the body kept
sethdr() {
	python3 - "$@" <<'PY'
import sys
p, n, v = sys.argv[1], int(sys.argv[2]), sys.argv[3]
b = open(p, "rb").read(); i = b.index(b"\n")
f = b[:i].split(b" "); f[n - 1] = v.encode("utf-8", "surrogateescape")
open(p, "wb").write(b" ".join(f) + b[i:])
PY
}

# ---- listing_cache = off: no file, every process pays
conf listing_cache off; reset
list "off"; list "off again"
assert_eq "$LABELS" "$N" "keys on the token"
r=$(rows); ((r >= 2 * N)) || fail "with listing_cache = off two processes pulled $r rows, expected >= $((2 * N))"
[[ -z $(FILE) ]] || fail "a cache file with listing_cache = off: $(FILE)"
expect_eq "$(nm)" 0 "revalidations with listing_cache = off"

# ---- on by default: the first process fetches and saves, the next one
# revalidates with one conditional request and pulls no key row
conf listing_cache; reset
list "first"
r=$(rows); ((r >= N)) || fail "the first process pulled $r rows"
F=$(FILE)
[[ -n $F && $(wc -l <<<"$F") == 1 ]] || fail "one cache file expected: '$F'"
assert_eq "$(stat -c %a "$CD")" 700 "cache directory mode"
assert_eq "$(stat -c %a "$F")" 600 "cache file mode"
! grep -qF "$ADMIN_KEY" "$F" || fail "the API key is in the cache file"
! grep -qF "${ADMIN_KEY:0:16}" "$F" || fail "part of the API key is in the cache file"
assert_eq "$(hfield 2)" 2 "cache format version"
[[ $(hfield 5) =~ ^W/\"[0-9]+-[0-9a-f]+\"$ ]] || fail "no ETag in the cache header: '$(head -n1 "$F")'"
# the ETag stored is one the service takes back for this caller
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$SIGNET_CA_FILE" -H "Authorization: Bearer $ADMIN_KEY" \
    -H "If-None-Match: $(hfield 5)" "$SIGNET_URL/v1/me/keys?limit=1")" 304 "the stored ETag revalidated by hand"
reset
list "second"
assert_eq "$LABELS" "$N" "keys on the token from the cache"
assert_eq "$(rows)" 0 "key rows pulled by a second class-only process"
assert_eq "$(nm)" 1 "revalidations (304) of a second class-only process"
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
assert_eq "$(rows)" 0 "key rows pulled by the libp11 engine with a cache"
expect_eq "$(nm)" 1 "revalidations of the libp11 engine"
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
expect_eq "$(rows)" 0 "key rows pulled by osslsigncode with a cache"
# off again: the file there is neither read nor written
cp "$F" before-off.json
conf listing_cache off; reset
list "off with a file"
r=$(rows); ((r >= N)) || _e2e_soft_fail "listing_cache = off used the file ($r rows pulled)"
expect_eq "$(nm)" 0 "revalidations with listing_cache = off"
expect_eq "$(cmp -s before-off.json "$F" && echo same)" same "listing_cache = off leaves the file alone"
conf listing_cache

# ---- by default a change shows to the very next process: a key added...
api_q POST /v1/keys '{"project":"many","name":"new","algorithm":"ecdsa-p256","ca":"none"}' "$ADMIN_KEY"
assert_status 201 "key many/new"
N=$((N + 1)); reset
list "after a key was added"
expect_eq "$LABELS" "$N" "a key added shows to the next process"
expect_contains "$(cat objs)" "many/new" "the new key on the token"
r=$(rows); ((r >= N)) || _e2e_soft_fail "after the key was added only $r rows were pulled"
expect_eq "$(nm)" 0 "a changed listing is not a 304"
reset; list "after the refetch"
expect_eq "$(rows)/$(nm)" "0/1" "the refetched listing was saved with its new ETag (rows/304s)"
# ...and a key disabled
api_q POST /v1/keys/$KEY/disable '{}' "$ADMIN_KEY"; assert_status 200 "disable many/zz"
list "after a key was disabled"
expect_eq "$(grep -c 'label: *many/zz$' objs)" 0 "a key disabled is gone for the next process"
expect_eq "$LABELS" "$((N - 1))" "keys on the token without the disabled one"
api_q POST /v1/keys/$KEY/enable '{}' "$ADMIN_KEY"; assert_status 200 "enable many/zz"
list "after it was enabled"
expect_eq "$LABELS" "$N" "the key enabled again is back"
# a key named by the search is asked for (?key=) whatever the cache says
api_q POST /v1/keys '{"project":"many","name":"newer","algorithm":"ecdsa-p256","ca":"none"}' "$ADMIN_KEY"
assert_status 201 "key many/newer"
jbody -r .key.public_key >newer.pub
NID=$(jbody -r .key.id | tr -d '\n' | od -An -tx1 | tr -d ' \n')
pkcs11-tool --module "$M" --sign --id "$NID" -m ECDSA-SHA256 --signature-format openssl \
    -i payload.bin -o sig2.der 2>sign2.err || _e2e_soft_fail "sign with a key newer than the cache: $(cat sign2.err)"
openssl dgst -sha256 -verify newer.pub -signature sig2.der payload.bin >/dev/null ||
    _e2e_soft_fail "the signature of many/newer does not verify"
N=$((N + 1))

# ---- listing_cache_ttl = 30s: within it no request at all, a key added
# invisible to a class-only search until it ends.
# The TTL is long enough for a sanitizer build on a busy machine to list
# 1,100 keys twice inside it (a 3 s TTL ran out before the second listing).
# The refresh starts from no file, so its entry is new, and the TTL counts
# from the fetch time in that entry's header (an entry reused from before
# the refresh, or a start time taken before it, made the window too short
# on a slow sanitizer run); the test then sleeps only for what is left.
ttl 30s; rm -f "$(FILE)"; list "refresh"; reset
expect_eq "$LABELS" "$N" "keys on the token"
T0=$(hfield 4)
[[ $T0 =~ ^[0-9]+$ ]] || fail "no fetch time in the cache header: '$T0'"
api_q POST /v1/keys '{"project":"many","name":"newest","algorithm":"ecdsa-p256","ca":"none"}' "$ADMIN_KEY"
assert_status 201 "key many/newest"
list "stale"
(($(date +%s) - T0 < 30)) || fail "the stale listing ended $(($(date +%s) - T0)) s after the fetch, past the 30 s TTL"
expect_eq "$LABELS" "$N" "within the TTL the listing is the cached one"
expect_eq "$(rows)/$(nm)" "0/0" "within the TTL: no key row, no revalidation (rows/304s)"
sleep $((T0 + 31 - $(date +%s)))
list "after the ttl"
expect_eq "$LABELS" "$((N + 1))" "a key added shows once the TTL is over"
expect_contains "$(cat objs)" "many/newest" "the newest key on the token"
r=$(rows); ((r >= N + 1)) || _e2e_soft_fail "after the TTL only $r rows were pulled"
N=$((N + 1))
# an entry past its TTL that is still current: one 304, and the entry is
# rewritten as fetched now (the next process trusts it for another TTL)
sethdr "$(FILE)" 4 $(($(date +%s) - 100)); reset
list "revalidated past the ttl"
expect_eq "$LABELS" "$N" "keys on the token after a 304"
expect_eq "$(rows)/$(nm)" "0/1" "past the TTL: one revalidation (rows/304s)"
T1=$(hfield 4)
(($(date +%s) - T1 < 30)) || _e2e_soft_fail "the 304 did not refresh the fetch time ($T1)"
list "within the refreshed ttl"
expect_eq "$(rows)/$(nm)" "0/0" "within the refreshed TTL: no request (rows/304s)"

# ---- a key disabled within the TTL: the entry still shows it, signing
# fails, and the failure drops the entry so the next process lists without it
rm -f "$(FILE)"; list "refill"; reset
api_q POST /v1/keys/$KEY/disable '{}' "$ADMIN_KEY"; assert_status 200 "disable many/zz"
OPENSSL_CONF=$W/engine.cnf openssl dgst -sha256 -engine pkcs11 -keyform engine \
    -sign "pkcs11:token=Signet;object=many%2Fzz;type=private" -out sig3.der payload.bin 2>sig3.err &&
    _e2e_soft_fail "a disabled key signed from a cached listing"
[[ -z $(FILE) ]] || _e2e_soft_fail "the cache survived a refused signature"
list "after the refusal"
expect_eq "$(grep -c 'label: *many/zz$' objs)" 0 "the disabled key is gone for the next process"
api_q POST /v1/keys/$KEY/enable '{}' "$ADMIN_KEY"; assert_status 200 "enable many/zz"
ttl ""

# ---- garbage: each is ignored, the process lists every key from the service
rm -f "$(FILE)"; list "baseline"; NOW=$LABELS; cp "$(FILE)" good.json; F=$(FILE)
expect_eq "$NOW" "$N" "keys on the token"
garbage() {	# garbage WHAT: the file is prepared; the next process ignores it
	reset
	list "$1"
	expect_eq "$LABELS" "$NOW" "$1: keys on the token"
	r=$(rows); ((r >= NOW)) || _e2e_soft_fail "$1: only $r rows pulled (the file was used)"
	expect_eq "$(nm)" 0 "$1: revalidations"
}
restore() { rm -f "$F"; cp good.json "$F"; chmod 600 "$F"; }
# the good file is used (a 304): the cases below fail for their own cause
restore; reset; list "good file"
expect_eq "$(rows)/$(nm)" "0/1" "the good file: rows/304s"
restore; head -c "$(($(stat -c %s good.json) / 2))" good.json >"$F"; garbage "truncated file"
restore; : >"$F"; garbage "empty file"
restore; head -c 5000 /dev/urandom >"$F"; garbage "random bytes"
restore; python3 - "$F" <<'PY'; garbage "one body byte changed"
import sys; p = sys.argv[1]; b = bytearray(open(p, "rb").read()); i = b.index(b"\n") + 40; b[i] ^= 1; open(p, "wb").write(b)
PY
restore; sethdr "$F" 4 99999999999; garbage "fetched in the future"
restore; sethdr "$F" 3 0000000000000000000000000000000000000000; garbage "another entry's name"
restore; printf 'signet-listing-cache 2 junk\n{}' >"$F"; garbage "bad header"
# a well-formed header over a body the token cannot take
restore; python3 - "$F" <<'PY'; garbage "valid hash over a bad listing"
import hashlib, sys, time
p = sys.argv[1]; h = open(p, "rb").read().split(b"\n")[0].split(b" ")
body = b'{"keys":[{"id":"x","public_key":"garbage"}]}'
open(p, "wb").write(b"signet-listing-cache 2 %s %d %s %d %s\n" % (h[2], int(time.time()), h[4], len(body),
    hashlib.sha256(body).hexdigest().encode()) + body)
PY
# version 1 (no ETag), otherwise whole and valid
restore; python3 - "$F" <<'PY'; garbage "version-1 file"
import sys
p = sys.argv[1]; b = open(p, "rb").read(); i = b.index(b"\n"); h = b[:i].split(b" ")
open(p, "wb").write(b" ".join([h[0], b"1", h[2], h[3], h[5], h[6]]) + b[i:])
PY
restore; sethdr "$F" 5 '"strong"'; garbage "strong ETag stored"
restore; sethdr "$F" 5 'W/"'; garbage "unterminated ETag stored"
restore; sethdr "$F" 5 "W/\"$(printf 'a%.0s' {1..200})\""; garbage "over-long ETag stored"
restore; sethdr "$F" 5 "$(printf 'W/"\xe9"')"; garbage "non-ASCII ETag stored"
restore; sethdr "$F" 5 '-'; garbage "no ETag stored (nothing to revalidate with)"
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
restore

# ---- two credentials never share an entry, nor an ETag
must_signet user create dev@acme.test
U_KEY=$(tail -n1 <<<"$OUT")
api_q POST /v1/projects/many/signers '{"user":"dev@acme.test"}' "$ADMIN_KEY"
before=$(FILE | wc -l)
SIGNET_API_KEY=$U_KEY list "another user"
expect_eq "$(FILE | wc -l)" "$((before + 1))" "another user's listing is its own file"
U_F=$(FILE | grep -vxF "$F")
U_TAG=$(hfield 5 "$U_F")
[[ $U_TAG == W/* && $U_TAG != "$(hfield 5 "$F")" ]] || _e2e_soft_fail "the other user's ETag: '$U_TAG'"
# the other caller's ETag in our entry: the service does not take it
restore; sethdr "$F" 5 "$U_TAG"; garbage "another caller's ETag stored"

# ---- the config values are checked
for v in abc -1 2h 10x; do
	ttl "$v"
	run_signet "1|2" whoami
	expect_contains "$ERR" "listing_cache_ttl" "listing_cache_ttl = $v refused"
done
ttl ""
for v in yes ON 0 "off x"; do
	conf listing_cache "$v"
	run_signet "1|2" whoami
	expect_contains "$ERR" "listing_cache must be on or off" "listing_cache = $v refused"
done
conf listing_cache

e2e_stop_server
e2e_done
