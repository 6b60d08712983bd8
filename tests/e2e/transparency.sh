#!/bin/bash
# transparency.sh - the Merkle transparency log over the audit trail
# (docs/AUDIT.md): signed checkpoints, inclusion and consistency proofs,
# offline proof bundles, incremental `signet audit verify`, all checked both
# by the CLI and by an independent Python verifier (tests/tlog_verify.py,
# RFC 9162 + C2SP signed notes with Debian's python3-cryptography). Then the
# database is tampered with (an event edited, two reordered, the tail
# truncated, the tail rewritten with a recomputed chain and tree) and each
# must be caught, naming the first bad position.
# e2e-requires: signetd signet
source "$(dirname "$0")/lib.sh"
e2e_require_tool sqlite3 openssl
# Debian's python3 with python3-cryptography, not another interpreter
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3) || { echo "SKIP: no python3" >&2; exit 77; }
"$PY" -c 'import cryptography.hazmat.primitives.asymmetric.ed25519' 2>/dev/null ||
	{ echo "SKIP: $PY has no cryptography package (python3-cryptography)" >&2; exit 77; }
V=$SIGNET_SOURCE_DIR/tests/tlog_verify.py
W=$E2E_DIR/work
cd "$W" || exit 1

e2e_start_server
export SIGNET_URL SIGNET_CA_FILE SIGNET_CONFIG
must_signet login --url "$SIGNET_URL" --api-key "$ADMIN_KEY" --ca-file "$SIGNET_CA_FILE"
must_signet project create p1
must_signet key create p1 k1 --algorithm ecdsa-p256 --ca none
must_signet project add-signer p1 --user admin@acme.test
must_signet key show p1/k1 --json
jq -r .key.public_key <<<"$OUT" >k1.pub
for i in 1 2 3; do
	echo "release $i" >"f$i.bin"
	must_signet sign --key p1/k1 --in "f$i.bin" --out "f$i.sig"
	openssl dgst -sha256 -verify k1.pub -signature "f$i.sig" "f$i.bin" >/dev/null ||
	    fail "signature $i does not verify"
done

# ---- the log key and a checkpoint; the Python verifier agrees
must_signet audit log-key
VK=$OUT
api GET /v1/audit/log-key "" "$ADMIN_KEY" >/dev/null; assert_status 200 "GET log-key"
expect_eq "$(jbody -r .verifier_key)" "$VK" "CLI and API log key"
expect_eq "$(jbody -r .algorithm)" ed25519 "log key algorithm"
must_signet audit checkpoint
printf '%s\n' "$OUT" >cp1.note
expect_contains "$(head -n1 cp1.note)" "signet/" "checkpoint origin line"
out=$("$PY" "$V" checkpoint cp1.note "$VK") || _e2e_soft_fail "python checkpoint: $out"
S1=$(sed -n 2p cp1.note)
api GET /v1/audit/checkpoint "" "$ADMIN_KEY" >/dev/null
expect_eq "$(jbody -r .size)" "$S1" "checkpoint size (API vs CLI)"
expect_eq "$(jbody -r .root_hash)" "$(sed -n 3p cp1.note)" "root hash (API vs note)"
NEV=$(audit_count "$ADMIN_KEY" true)
expect_eq "$S1" "$NEV" "the newest checkpoint covers every event"

# ---- proofs: every event's bundle verifies in C (offline) and in Python
for seq in 1 2 $((S1 / 2)) "$S1"; do
	must_signet audit prove --seq "$seq"
	printf '%s\n' "$OUT" >"b$seq.json"
	out=$("$PY" "$V" bundle "b$seq.json" "$VK") || _e2e_soft_fail "python bundle $seq: $out"
	# offline: no server, no credentials
	env -u SIGNET_URL -u SIGNET_API_KEY SIGNET_CONFIG=/nonexistent \
	    "$SIGNET" audit verify-proof "b$seq.json" --log-key "$VK" >vp.out 2>vp.err ||
	    _e2e_soft_fail "verify-proof $seq offline: $(cat vp.err)"
	expect_contains "$(cat vp.out)" "Proof OK: event seq $seq" "verify-proof $seq"
done
# the bundle of a signature, found from the signature and the signed file
must_signet audit prove --signature f2.sig --in f2.bin
printf '%s\n' "$OUT" >sig2.json
expect_eq "$(jq -r .event.action sig2.json)" key.sign "prove --signature finds a key.sign event"
expect_eq "$(jq -r .event.details.digest sig2.json)" "$(sha256sum f2.bin | cut -d' ' -f1)" "its digest is the file's"
expect_eq "$(jq -r .event.details.signature_sha256 sig2.json)" "$(sha256sum f2.sig | cut -d' ' -f1)" "its signature hash is the file's"
out=$("$PY" "$V" bundle sig2.json "$VK") || _e2e_soft_fail "python signature bundle: $out"
run_signet 1 audit prove --signature f1.sig --in f2.bin	# the wrong pair

# a tampered bundle fails, and says where
jq '.event.result = "denied"' b2.json >bad.json
run_signet 1 audit verify-proof bad.json --log-key "$VK"
expect_contains "$ERR" "seq 2" "verify-proof of an edited event names it"
"$PY" "$V" bundle bad.json "$VK" >/dev/null && _e2e_soft_fail "python accepted an edited event"
jq '.inclusion.hashes[0] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="' b2.json >bad.json
run_signet 1 audit verify-proof bad.json --log-key "$VK"
expect_contains "$ERR" "inclusion proof fails" "verify-proof of a bad path"
"$PY" "$V" bundle bad.json "$VK" >/dev/null && _e2e_soft_fail "python accepted a bad path"
jq '.checkpoint |= sub("\n[0-9]+\n"; "\n999\n")' b2.json >bad.json
run_signet 1 audit verify-proof bad.json --log-key "$VK"
"$PY" "$V" bundle bad.json "$VK" >/dev/null && _e2e_soft_fail "python accepted an edited checkpoint"
# another log's key
OTHER_VK="signet/other+$(cut -d+ -f2 <<<"$VK")+$(cut -d+ -f3 <<<"$VK")"
run_signet 2 audit verify-proof b2.json --log-key "$OTHER_VK"

# ---- garbage in: clear errors, nothing changes
before=$(audit_count "$ADMIN_KEY" true)
for q in "inclusion" "inclusion?seq=1" "inclusion?size=1" "inclusion?seq=0&size=1" \
    "inclusion?seq=x&size=1" "inclusion?seq=2&size=1" "inclusion?seq=1&size=99999999" \
    "inclusion?seq=-1&size=3" "inclusion?seq=1&size=1e3" "inclusion?seq=1&size=99999999999999999999" \
    "consistency" "consistency?from=2" "consistency?from=3&to=2" "consistency?from=0&to=2" \
    "consistency?from=1&to=99999999" "consistency?from=a&to=b"; do
	api_q GET "/v1/audit/proof/$q" "" "$ADMIN_KEY"
	expect_status 400 "proof/$q"
	check_error_shape
done
api_q GET /v1/audit/proof/inclusion "" ""; expect_status 401 "proof without credentials"
api_q GET /v1/audit/checkpoint "" "snk_bogus"; expect_status 401 "checkpoint with a bad key"
api_q POST /v1/audit/checkpoint '{}' "$ADMIN_KEY"
[[ $(last_status) == 404 || $(last_status) == 405 ]] || _e2e_soft_fail "POST checkpoint: $(last_status)"
expect_eq "$(audit_count "$ADMIN_KEY" true)" "$before" "bad proof requests changed the audit trail"
run_signet 2 audit prove
run_signet 2 audit prove --seq abc
run_signet 2 audit prove --seq 0
run_signet 2 audit prove --seq 1 --in f1.bin
run_signet 2 audit prove --signature f1.sig
run_signet 2 audit prove --signature nonexistent --in f1.bin
run_signet 1 audit prove --seq 99999
run_signet 2 audit verify-proof b1.json
run_signet 2 audit verify-proof b1.json --log-key garbage
run_signet 2 audit verify-proof f1.bin --log-key "$VK"
run_signet 2 audit verify-proof nonexistent --log-key "$VK"
run_signet 2 audit checkpoint --log-key nope
run_signet 2 audit verify --bogus

# ---- incremental verify: pins the key, then checks only what is new
must_signet audit verify
expect_contains "$OUT" "log key pinned" "first verify pins the log key"
ls "$SIGNET_STATE_DIR"/audit-*.json >/dev/null 2>&1 || _e2e_soft_fail "no state file after verify"
must_signet project create p2
must_signet sign --key p1/k1 --in f1.bin --out f1b.sig
must_signet audit verify
expect_contains "$OUT" "consistent with the one of" "second verify is incremental"
must_signet audit verify --json
expect_eq "$(jq -r .ok <<<"$OUT")" true "verify --json .ok"
must_signet audit verify --full
# consistency checked by Python between two signed checkpoints
must_signet audit checkpoint
printf '%s\n' "$OUT" >cp2.note
S2=$(sed -n 2p cp2.note)
api GET "/v1/audit/proof/consistency?from=$S1&to=$S2" "" "$ADMIN_KEY" >cons.json; assert_status 200 consistency
out=$("$PY" "$V" consistency "$VK" cp1.note cp2.note cons.json) || _e2e_soft_fail "python consistency: $out"
# the whole log, recomputed by Python from the events, with API inclusion proofs
audit_events "$ADMIN_KEY" >events.jsonl || fail "GET /v1/audit"
mkdir -p incl
for seq in $(seq 1 "$S2"); do
	api GET "/v1/audit/proof/inclusion?seq=$seq&size=$S2" "" "$ADMIN_KEY" >"incl/$(printf %06d "$seq").json"
done
out=$("$PY" "$V" log "$VK" cp2.note events.jsonl incl) || _e2e_soft_fail "python log: $out"
echo "python: $out"

# ---- require_inclusion_proof: the signing client checks each signature's
# event in the signed log before it hands the signature out
cp "$SIGNET_CONFIG" strict.conf
printf 'require_inclusion_proof = yes\nlog_key = %s\n' "$VK" >>strict.conf
SIGNET_CONFIG=$W/strict.conf must_signet sign --key p1/k1 --in f3.bin --out f3s.sig
openssl dgst -sha256 -verify k1.pub -signature f3s.sig f3.bin >/dev/null ||
	_e2e_soft_fail "require_inclusion_proof: the checked signature does not verify"
# a log key that is not this log's: the signature is withheld
cp "$SIGNET_CONFIG" wrongkey.conf
printf 'require_inclusion_proof = yes\nlog_key = %s\n' "$OTHER_VK" >>wrongkey.conf
rm -f f3w.sig
SIGNET_CONFIG=$W/wrongkey.conf run_signet 1 sign --key p1/k1 --in f3.bin --out f3w.sig
expect_contains "$ERR" "require_inclusion_proof: the log's checkpoint does not verify with the log key" "require_inclusion_proof failure is named"
[[ ! -s f3w.sig ]] || _e2e_soft_fail "a signature was written although its inclusion was not proven"
cp "$SIGNET_CONFIG" badval.conf
printf 'require_inclusion_proof = maybe\n' >>badval.conf
SIGNET_CONFIG=$W/badval.conf run_signet 1 sign --key p1/k1 --in f3.bin --out f3w.sig
expect_contains "$ERR" "require_inclusion_proof must be yes or no" "a bad require_inclusion_proof is refused"

# ---- a plain user and a service-account-free reader: proofs yes, events no
mk_user bob@acme.test user
api_q GET /v1/audit/checkpoint "" "$U_KEY"; expect_status 200 "user reads the checkpoint"
api_q GET "/v1/audit/proof/inclusion?seq=1&size=$S2" "" "$U_KEY"; expect_status 200 "user reads a proof"
api_q GET /v1/audit "" "$U_KEY"; expect_status 403 "user does not read events"
SIGNET_API_KEY=$U_KEY SIGNET_STATE_DIR=$E2E_DIR/state-bob run_signet 0 audit verify
expect_contains "$OUT" "events not read" "a user's verify checks checkpoints only"
# another tenant's log is another log
e2e_stop_server
e2e_tenant_create beta root@beta.test
e2e_serve
export SIGNET_URL SIGNET_CA_FILE
api GET /v1/audit/log-key "" "$TENANT_KEY" >/dev/null
[[ $(jbody -r .verifier_key) != "$VK" ]] || _e2e_soft_fail "tenant beta has tenant acme's log key"
api_q GET "/v1/audit/proof/inclusion?seq=1&size=$S2" "" "$TENANT_KEY"
expect_status 400 "tenant beta's log is not acme's size"
e2e_stop_server
expect_hsm_consistent "after the log keys"

# ---- tampering, each on a copy of the database taken now
if [[ $E2E_DB != sqlite ]]; then
	echo "(tampering with copies of the SQLite file: SQLite only)"
	e2e_done
fi
TEN=$(sqlite3 "$D/signet.db" "select id from tenants where name='acme'")
cp -a "$SIGNET_STATE_DIR" "$E2E_DIR/state.good"
mkdir -p "$E2E_DIR/backup"; cp "$D"/signet.db* "$E2E_DIR/backup/"
N=$(sqlite3 "$D/signet.db" "select max(seq) from audit_events where tenant_id='$TEN'")
restore() {
	rm -f "$D"/signet.db*; cp "$E2E_DIR/backup/"signet.db* "$D/"
	rm -rf "$SIGNET_STATE_DIR"; cp -a "$E2E_DIR/state.good" "$SIGNET_STATE_DIR"
}
K=4	# the first event tampered with

# (a) one event row edited
sqlite3 "$D/signet.db" "update audit_events set details='{\"tampered\":true}' where tenant_id='$TEN' and seq=$K"
e2e_serve; export SIGNET_URL SIGNET_CA_FILE
run_signet 1 audit prove --seq $K
expect_contains "$ERR" "seq $K" "(edit) prove names the event"
run_signet 1 audit verify --full
expect_contains "$ERR" "seq $K" "(edit) verify --full names the event"
api_q GET /v1/audit/verify "" "$ADMIN_KEY"
expect_eq "$(jbody -r .first_bad_seq)" "$K" "(edit) server verify names the event"
# the bundle made before the edit still proves the original event
env -u SIGNET_URL SIGNET_CONFIG=/nonexistent "$SIGNET" audit verify-proof b2.json --log-key "$VK" >/dev/null ||
	_e2e_soft_fail "(edit) an earlier bundle no longer verifies"
audit_events "$ADMIN_KEY" >ev-a.jsonl
out=$("$PY" "$V" log "$VK" cp2.note ev-a.jsonl) && _e2e_soft_fail "(edit) python accepted: $out"
expect_contains "$out" "seq $K" "(edit) python names the event"
e2e_stop_server; restore

# (b) two events reordered
sqlite3 "$D/signet.db" "update audit_events set seq=-1 where tenant_id='$TEN' and seq=$K;
    update audit_events set seq=$K where tenant_id='$TEN' and seq=$((K + 1));
    update audit_events set seq=$((K + 1)) where tenant_id='$TEN' and seq=-1"
e2e_serve; export SIGNET_URL SIGNET_CA_FILE
run_signet 1 audit prove --seq $K
expect_contains "$ERR" "seq $K" "(reorder) prove names the first moved event"
run_signet 1 audit verify --full
expect_contains "$ERR" "seq $K" "(reorder) verify --full names the first moved event"
api_q GET /v1/audit/verify "" "$ADMIN_KEY"
expect_eq "$(jbody -r .first_bad_seq)" "$K" "(reorder) server verify"
e2e_stop_server; restore

# (c) the tail truncated, tree and checkpoints with it (a careful attacker)
sqlite3 "$D/signet.db" "delete from audit_events where tenant_id='$TEN' and seq > $K;
    delete from audit_tree where tenant_id='$TEN' and ((idx + 1) << level) > $K;
    delete from audit_checkpoints where tenant_id='$TEN' and size > $K"
e2e_serve; export SIGNET_URL SIGNET_CA_FILE
run_signet 1 audit verify
expect_contains "$ERR" "shrank" "(truncate) verify sees the log shrink"
expect_contains "$ERR" "after event $K" "(truncate) verify names the last good event"
e2e_stop_server; restore

# (d) the tail rewritten from event K: chain recomputed, tree rebuilt by the
# server itself (it re-adds missing leaves from the rows), newly signed
"$PY" - "$D/signet.db" "$TEN" "$K" <<'PY' || fail "rewrite script"
import hashlib, json, sqlite3, sys
db, ten, k = sqlite3.connect(sys.argv[1]), sys.argv[2], int(sys.argv[3])
cols = ["seq", "tenant_id", "id", "time", "actor_type", "actor_id", "action",
        "object_type", "object_id", "result", "details", "source_ip", "prev_hash"]
import datetime
prev = db.execute("select hash from audit_events where tenant_id=? and seq=?", (ten, k - 1)).fetchone()[0]
rows = db.execute("select seq, tenant_id, id, time, actor_type, actor_id, action, object_type, "
                  "object_id, result, details, source_ip from audit_events where tenant_id=? "
                  "and seq>=? order by seq", (ten, k)).fetchall()
for r in rows:
    ev = dict(zip(cols[:-1], r))
    if ev["seq"] == k:
        ev["details"] = json.dumps({"rewritten": True}, sort_keys=True, separators=(",", ":"))
    e = dict(ev)
    e["details"] = json.loads(ev["details"])
    e["time"] = datetime.datetime.fromtimestamp(ev["time"], datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    e["prev_hash"] = prev
    h = hashlib.sha256(json.dumps(e, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()).hexdigest()
    db.execute("update audit_events set details=?, prev_hash=?, hash=? where tenant_id=? and seq=?",
               (ev["details"], prev, h, ten, ev["seq"]))
    prev = h
db.execute("delete from audit_tree where tenant_id=? and ((idx + 1) << level) > ?", (ten, k - 1))
db.execute("delete from audit_checkpoints where tenant_id=? and size >= ?", (ten, k))
db.commit()
PY
e2e_serve; export SIGNET_URL SIGNET_CA_FILE
api_q GET /v1/audit/verify "" "$ADMIN_KEY"
expect_eq "$(jbody -r .ok)" true "(rewrite) the rewrite is self-consistent to the server"
run_signet 1 audit verify
expect_contains "$ERR" "rewritten or forked" "(rewrite) incremental verify sees the fork"
run_signet 1 audit verify --full
# the rewritten events are self-consistent: what names the place is the
# compact range kept with the checkpoint verified before (one subtree)
expect_contains "$ERR" "first difference" "(rewrite) verify --full locates the rewrite"
range=$(grep -o 'events [0-9]*\.\.[0-9]*' <<<"$ERR" | head -n1 | cut -d' ' -f2)
lo=${range%%..*} hi=${range##*..}
[[ -n $range && $lo -le $K && $K -le $hi ]] ||
	_e2e_soft_fail "(rewrite) verify --full range '$range' does not hold event $K"
# the old and the new checkpoint are both signed: together, proof of a fork
must_signet audit checkpoint
printf '%s\n' "$OUT" >cp3.note
S3=$(sed -n 2p cp3.note)
"$PY" "$V" checkpoint cp3.note "$VK" >/dev/null || _e2e_soft_fail "(rewrite) new checkpoint not signed?"
api GET "/v1/audit/proof/consistency?from=$S1&to=$S3" "" "$ADMIN_KEY" >cons3.json
out=$("$PY" "$V" consistency "$VK" cp1.note cp3.note cons3.json) && _e2e_soft_fail "(rewrite) python: consistent? $out"
e2e_stop_server; restore

# the untouched copy still verifies, incrementally and in full
e2e_serve; export SIGNET_URL SIGNET_CA_FILE
must_signet audit verify
must_signet audit verify --full
e2e_stop_server
e2e_done
