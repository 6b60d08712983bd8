#!/bin/bash
# backup_restore.sh - `signetd backup` while a signing load runs, then
# `signetd restore` onto a fresh directory (the old one moved away, so
# nothing of it can be used by accident), and the restored service:
#   - signs with the old keys (verified against the old certificates);
#   - has every signature that was returned before the backup started in
#     its audit trail, with the same hash, and `signet audit verify` passes
#     (the CLI verified the old server's log before the backup, so a
#     restored log that lost events would show up as a shrunk log);
#   - serves the old CRL (a revoked certificate listed), verified against
#     the old issuing CA certificate.
# Bad input: garbage, a truncated archive, one flipped byte, a tar without
# our manifest, a tar with "../" in a name, a non-empty target, a missing
# PIN: each a clear error and nothing written. The archive is mode 0600 and
# holds the PIN only with --with-pin.
# e2e-requires: signetd signet
source "$(dirname "$0")/lib.sh"
e2e_sqlite_only "backup/restore archives the SQLite database; PostgreSQL uses pg_dump (docs/OPERATIONS.md)"
e2e_require_tool openssl tar python3 sqlite3

W=$E2E_DIR/work
cd "$W" || fail "cd $W"
e2e_start_server
A=$ADMIN_KEY
must_signet login --url "$SIGNET_URL" --api-key "$A" --ca-file "$SIGNET_CA_FILE"
mk_user s@acme.test; S=$U_KEY
api_q POST /v1/projects '{"name":"p"}' "$A"; assert_status 201 "project"
api_q POST /v1/projects/p/signers '{"user":"s@acme.test"}' "$A"; assert_status 201 "signer"
for k in ec:ecdsa-p256 rsa:rsa-2048 gone:ecdsa-p256; do
	api_q POST /v1/keys "{\"project\":\"p\",\"name\":\"${k%%:*}\",\"algorithm\":\"${k#*:}\"}" "$A"
	assert_status 201 "key ${k%%:*}"
	declare "K_${k%%:*}=$(jbody -r .key.id)"
	must_signet cert "p/${k%%:*}"
	printf '%s\n' "$OUT" >"${k%%:*}.pem"
done
must_signet cert p/ec --chain
awk '/BEGIN CERT/{n++} n==2' <<<"$OUT" >issuing.pem
must_signet ca cert
printf '%s\n' "$OUT" >root.pem
api_q GET /v1/ca "" "$A"
ISS=$(jbody -r '.cas[] | select(.role == "issuing") | .id')
must_signet key revoke p/gone --reason superseded
GONE_SERIAL=$(openssl x509 -in gone.pem -noout -serial | cut -d= -f2)

# ---- a signing load while the backup runs
load() {	# load N: sign until the stop file appears; one line per signature
	local n=$1 i=0 code body
	while [[ ! -e $W/stop ]]; do
		i=$((i + 1))
		body="{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digest\":\"$(rand_b64 32)\"}"
		code=$(curl -s --max-time 60 --cacert "$SIGNET_CA_FILE" -H "Authorization: Bearer $S" \
		    -H 'Content-Type: application/json' --data-binary "$body" -o "$W/load.$n" \
		    -w '%{http_code}' "$SIGNET_URL/v1/keys/$K_ec/sign") || code=000
		if [[ $code == 200 ]]; then
			jq -c '.audit_event | {seq, hash}' <"$W/load.$n" >>"$W/events.$n"
		else
			echo "$code" >>"$W/errors.$n"
		fi
	done
}
: >"$W/events.1"; : >"$W/events.2"
load 1 & L1=$!
load 2 & L2=$!
E2E_BG_PIDS="$L1 $L2"
for ((i = 0; i < 300; i++)); do
	(($(cat "$W/events.1" "$W/events.2" | wc -l) >= 10)) && break
	sleep 0.1
done
must_signet audit verify		# the client now knows the log up to here
# every signature returned before the backup starts must survive it
cat "$W/events.1" "$W/events.2" >"$W/before_backup"
"$SIGNETD" backup --data-dir "$D" --out "$W/full.tar" >"$W/backup.out" 2>"$W/backup.err" ||
    fail "signetd backup: $(cat "$W/backup.err")"
"$SIGNETD" backup --data-dir "$D" --out "$W/withpin.tar" --with-pin >/dev/null 2>"$W/backup2.err" ||
    fail "signetd backup --with-pin: $(cat "$W/backup2.err")"
sleep 0.5				# a few more signatures after it
touch "$W/stop"
wait "$L1" "$L2"
E2E_BG_PIDS=
nsig=$(cat "$W/events.1" "$W/events.2" | wc -l)
nbefore=$(wc -l <"$W/before_backup")
echo "backup_restore: $nsig signatures during the test, $nbefore before the backup; $(cat "$W"/errors.* 2>/dev/null | wc -l) failed"
((nbefore >= 10)) || fail "the signing load did not run ($nbefore signatures)"
[[ ! -s $W/errors.1 && ! -s $W/errors.2 ]] ||
    _e2e_soft_fail "signing failed while the backup ran: $(sort "$W"/errors.* | uniq -c | tr '\n' ' ')"
cat "$W/backup.out"

# ---- the archive
expect_eq "$(stat -c %a "$W/full.tar")" 600 "archive mode"
tar tf "$W/full.tar" >"$W/list" || fail "tar cannot list the archive"
tar tf "$W/withpin.tar" >"$W/list2" || fail "tar cannot list the --with-pin archive"
for f in signet.db signetd.conf server-ca.pem tls/server.key tls/server.crt tls/ca.key \
    hsm/softhsm2.conf signet-backup.json; do
	grep -qx "$f" "$W/list" || _e2e_soft_fail "archive lacks $f"
done
grep -q '^hsm/tokens/.*\.object$' "$W/list" || _e2e_soft_fail "archive lacks the token's objects"
grep -qx hsm/pin "$W/list" && _e2e_soft_fail "the PIN is in the archive without --with-pin"
grep -qx hsm/pin "$W/list2" || _e2e_soft_fail "--with-pin: no hsm/pin in the archive"
expect_contains "$(cat "$W/backup.out")" "PIN:      NOT included" "backup says where the PIN is"
run_backup_refusal() {	# the archive exists already: refused, left alone
	local sum
	sum=$(sha256sum <"$W/full.tar")
	"$SIGNETD" backup --data-dir "$D" --out "$W/full.tar" >/dev/null 2>"$W/err" &&
	    _e2e_soft_fail "backup over an existing file succeeded"
	expect_contains "$(cat "$W/err")" "refusing to overwrite" "backup over an existing file"
	expect_eq "$(sha256sum <"$W/full.tar")" "$sum" "existing archive untouched"
}
run_backup_refusal

# ---- the old service goes away, its directory too
e2e_stop_server
OLD=$D
mv "$OLD" "$E2E_DIR/old-moved-away"
OLDPIN=$E2E_DIR/old-moved-away/hsm/pin

# ---- bad input: a clear error, nothing written
R=$E2E_DIR/restored
restore_refused() {	# restore_refused WHAT EXPECTED-EXIT ARCHIVE [ARGS...]
	local what=$1 want=$2 in=$3 rc
	shift 3
	"$SIGNETD" restore --in "$in" --data-dir "$R" "$@" >"$W/out" 2>"$W/err"
	rc=$?
	expect_eq "$rc" "$want" "restore of $what: exit status"
	[[ $(grep -c . "$W/err") == 1 && $(cat "$W/err") == "signetd: restore: "* ]] ||
	    _e2e_soft_fail "restore of $what: not one clear line on stderr: $(head -c 300 "$W/err")"
	[[ -e $R ]] && _e2e_soft_fail "restore of $what: $R was created"
	ls -a "$E2E_DIR" | grep -q '\.restore-' && _e2e_soft_fail "restore of $what: a temporary directory was left"
	rm -rf "$R"
}
head -c 100000 /dev/urandom >"$W/garbage"
restore_refused garbage 1 "$W/garbage" --pin-file "$OLDPIN"
: >"$W/empty"
restore_refused "an empty file" 1 "$W/empty" --pin-file "$OLDPIN"
head -c $(($(stat -c %s "$W/full.tar") / 2)) "$W/full.tar" >"$W/half.tar"
restore_refused "a truncated archive" 1 "$W/half.tar" --pin-file "$OLDPIN"
# one byte of the database flipped (headers intact): the manifest's hash catches it
cp "$W/full.tar" "$W/flipped.tar"
printf '\x55' | dd of="$W/flipped.tar" bs=1 seek=40000 conv=notrunc status=none
restore_refused "an archive with a flipped byte" 1 "$W/flipped.tar" --pin-file "$OLDPIN"
expect_contains "$(cat "$W/err")" "not a valid signetd backup" "flipped byte: message"
# a well-formed tar that is not ours, and one with a path out of the directory
mkdir -p "$W/plain" && echo x >"$W/plain/signetd.conf"
tar cf "$W/plain.tar" -C "$W/plain" signetd.conf
restore_refused "a tar without a manifest" 1 "$W/plain.tar" --pin-file "$OLDPIN"
python3 - "$W/full.tar" "$W/evil.tar" <<'EOF' || fail "python3 tarfile"
import io, sys, tarfile
src = tarfile.open(sys.argv[1])
with tarfile.open(sys.argv[2], "w", format=tarfile.USTAR_FORMAT) as out:
    for m in src.getmembers():
        data = src.extractfile(m).read()
        if m.name == "signetd.conf":
            m.name = "../evil.conf"
        out.addfile(m, io.BytesIO(data))
EOF
restore_refused "a tar with ../ in a name" 1 "$W/evil.tar" --pin-file "$OLDPIN"
[[ -e $E2E_DIR/evil.conf ]] && _e2e_soft_fail "a ../ name was written outside the target"
# consistent with its manifest, but a signetd.conf that signetd serve would refuse
python3 - "$W/full.tar" "$W/badconf.tar" <<'PY' || fail "python3 tarfile"
import hashlib, io, json, sys, tarfile
src = tarfile.open(sys.argv[1])
files = {m.name: (m, src.extractfile(m).read()) for m in src.getmembers()}
conf = files["signetd.conf"][1] + b"no_such_setting = 1\n"
man = json.loads(files["signet-backup.json"][1])
for f in man["files"]:
    if f["path"] == "signetd.conf":
        f["size"], f["sha256"] = len(conf), hashlib.sha256(conf).hexdigest()
with tarfile.open(sys.argv[2], "w", format=tarfile.USTAR_FORMAT) as out:
    for name, (m, data) in files.items():
        if name == "signetd.conf":
            data = conf
        elif name == "signet-backup.json":
            data = json.dumps(man).encode()
        m.size = len(data)
        out.addfile(m, io.BytesIO(data))
PY
"$SIGNETD" restore --in "$W/badconf.tar" --data-dir "$R" --pin-file "$OLDPIN" >/dev/null 2>"$W/err" &&
    _e2e_soft_fail "restore of an archive with a broken signetd.conf succeeded"
expect_contains "$(cat "$W/err")" "does not load; nothing was restored" "broken signetd.conf: message"
[[ -e $R ]] && _e2e_soft_fail "broken signetd.conf: $R was created"
ls -a "$E2E_DIR" | grep -q '\.restore-' && _e2e_soft_fail "broken signetd.conf: a temporary directory was left"
rm -rf "$R"
restore_refused "an archive without the PIN and no --pin-file" 2 "$W/full.tar"
mkdir -p "$R" && echo keep >"$R/file"
"$SIGNETD" restore --in "$W/full.tar" --data-dir "$R" --pin-file "$OLDPIN" >/dev/null 2>"$W/err" &&
    _e2e_soft_fail "restore into a non-empty directory succeeded"
expect_contains "$(cat "$W/err")" "refusing" "restore into a non-empty directory"
expect_eq "$(ls "$R")" file "non-empty target untouched"
rm -rf "$R"

# ---- the real restore
"$SIGNETD" restore --in "$W/full.tar" --data-dir "$R" --pin-file "$OLDPIN" >"$W/out" 2>"$W/err" ||
    fail "signetd restore: $(cat "$W/err")"
expect_eq "$(stat -c %a "$R")" 700 "restored directory mode"
expect_eq "$(stat -c %a "$R/hsm/pin")" 600 "restored PIN mode"
grep -q "old-moved-away\|$OLD/" "$R/signetd.conf" "$R/hsm/softhsm2.conf" &&
    _e2e_soft_fail "the restored configuration still names the old directory"
# --with-pin: restorable alone, and --pin-file is then refused
"$SIGNETD" restore --in "$W/withpin.tar" --data-dir "$E2E_DIR/r2" >/dev/null 2>"$W/err" ||
    _e2e_soft_fail "restore of the --with-pin archive: $(cat "$W/err")"
cmp -s "$E2E_DIR/r2/hsm/pin" "$OLDPIN" || _e2e_soft_fail "--with-pin: the restored PIN differs"
rm -rf "$E2E_DIR/r2"

D=$R
e2e_serve
must_signet login --url "$SIGNET_URL" --api-key "$A" --ca-file "$SIGNET_CA_FILE"
# the old keys sign, verified with the old certificates
echo "signed after the restore" >data.txt
for k in ec rsa; do
	openssl x509 -in "$k.pem" -noout -pubkey >"$k.pub"
	SIGNET_API_KEY=$S "$SIGNET" sign --key "p/$k" --in data.txt --out "$k.sig" 2>"$W/err" ||
	    { _e2e_soft_fail "sign with p/$k after the restore: $(cat "$W/err")"; continue; }
	openssl dgst -sha256 -verify "$k.pub" -signature "$k.sig" data.txt >/dev/null 2>&1 ||
	    _e2e_soft_fail "the signature of p/$k does not verify with the old certificate"
	must_signet cert "p/$k"
	expect_eq "$OUT" "$(cat "$k.pem")" "certificate of p/$k after the restore"
done
# the audit trail: the chain verifies, and no signature returned before the
# backup started is missing
must_signet audit verify
must_signet audit verify --full
audit_events "$A" >"$W/restored_events" || fail "audit list"
missing=$(jq -n --slurpfile a "$W/before_backup" --slurpfile b "$W/restored_events" \
    '[$a[] | . as $e | select([$b[] | select(.seq == $e.seq and .hash == $e.hash)] | length == 0)] | length')
expect_eq "$missing" 0 "signatures returned before the backup whose event is missing after the restore"
# the old CRL, signed by the old issuing CA, lists the revoked certificate
curl -s --cacert "$SIGNET_CA_FILE" -o crl.der "$SIGNET_URL/v1/ca/$ISS/crl"
openssl crl -inform DER -in crl.der -noout -CAfile issuing.pem >/dev/null 2>&1 ||
    _e2e_soft_fail "the restored CRL does not verify against the old issuing CA"
openssl crl -inform DER -in crl.der -noout -text 2>/dev/null | grep -qi "Serial Number: *$GONE_SERIAL" ||
    _e2e_soft_fail "the restored CRL does not list the revoked certificate ($GONE_SERIAL)"
openssl verify -CAfile root.pem -untrusted issuing.pem ec.pem >/dev/null 2>&1 ||
    _e2e_soft_fail "the old certificate does not verify against the old root"
e2e_stop_server
expect_hsm_consistent "restored token"
e2e_done
