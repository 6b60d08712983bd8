#!/bin/bash
# cli_sign_many.sh - a whole release in one `signet sign`: several --in,
# --in DIR (its files) and --in DIR --recursive with --include, signatures
# beside each file or under --out-dir, raw (batch requests of up to 64
# digests) and CMS; every signature verified with openssl against the
# key's public key; existing signatures kept without --force (and nothing
# signed then); standard input and output with "-"; --json summary; a
# progress line on a terminal only; a file that cannot be read stops the
# command before anything is signed.
#
# e2e-requires: signetd signet
source "$(dirname "$0")/lib.sh"
e2e_require_tool openssl

W=$E2E_DIR/work
cd "$W" || fail "cd $W"
e2e_start_server
api_q POST /v1/projects '{"name":"rel"}' "$ADMIN_KEY"; assert_status 201 "project"
for k in rsa:rsa-2048 ec:ecdsa-p256; do
	api_q POST /v1/keys "{\"project\":\"rel\",\"name\":\"${k%%:*}\",\"algorithm\":\"${k#*:}\"}" "$ADMIN_KEY"
	assert_status 201 "key rel/${k%%:*}"
	jbody -r .key.public_key >"${k%%:*}.pub"
done
api_q POST /v1/projects/rel/signers '{"user":"admin@acme.test"}' "$ADMIN_KEY"; assert_status 201 "signer"
api_q GET "/v1/me/keys" "" "$ADMIN_KEY"
jbody -r '.keys[0].chain[-1]' >root.pem
export SIGNET_API_KEY=$ADMIN_KEY

# A release tree: 150 files over three levels, two kinds.
mkdir -p dist/bin dist/lib/deep
for i in $(seq 1 60); do head -c $((i * 37)) /dev/urandom >"dist/bin/tool$i.bin"; done
for i in $(seq 1 60); do head -c $((i * 11)) /dev/urandom >"dist/lib/lib$i.so"; done
for i in $(seq 1 28); do echo "doc $i" >"dist/lib/deep/n$i.txt"; done
echo readme >dist/README
echo notes >dist/NOTES.txt

verify_all() {	# verify_all PUB SIGSUFFIX FILE...: each FILE's signature
	local pub=$1 suf=$2 f bad=0 n=0
	shift 2
	for f in "$@"; do
		n=$((n + 1))
		openssl dgst -sha256 -verify "$pub" -signature "$f$suf" "$f" >/dev/null 2>&1 || bad=$((bad + 1))
	done
	echo "$bad/$n"
}
before=$(audit_count "$ADMIN_KEY" '.action == "key.sign" and .result == "ok"')

# ---- --in DIR --recursive: every file, signature beside it
must_signet sign --key rel/rsa --in dist --recursive
[[ -z $ERR ]] || _e2e_soft_fail "not a terminal, yet stderr says: $ERR"
mapfile -t all < <(find dist -type f ! -name '*.sig' | sort)
expect_eq "${#all[@]}" 150 "files in the tree"
expect_eq "$(verify_all rsa.pub .sig "${all[@]}")" "0/150" "150 signatures beside their files verify"
after=$(audit_count "$ADMIN_KEY" '.action == "key.sign" and .result == "ok"')
# 150 digests in batches of 64: 3 requests, not 150.
expect_eq "$((after - before))" 3 "signing requests for 150 files"

# ---- again: the signatures exist; nothing is replaced without --force
cp dist/README.sig readme.sig.before
run_signet 1 sign --key rel/rsa --in dist --recursive
expect_contains "$ERR" "exists (--force replaces it)" "existing signatures kept"
cmp -s readme.sig.before dist/README.sig || _e2e_soft_fail "a signature changed without --force"
n=$(audit_count "$ADMIN_KEY" '.action == "key.sign" and .result == "ok"')
expect_eq "$n" "$after" "nothing signed when outputs exist"
# Signatures in the tree are not signed themselves: still 150 files.
must_signet sign --key rel/rsa --in dist --recursive --force --json
expect_eq "$(jq -r .signed <<<"$OUT")" 150 "--json: signed"
expect_eq "$(jq -r '.files | length' <<<"$OUT")" 150 "--json: files"
expect_eq "$(jq -r '.files[0].signature' <<<"$OUT")" "$(jq -r '.files[0].file' <<<"$OUT").sig" "--json: signature beside its file"
expect_eq "$(jq -r .key <<<"$OUT")" rel/rsa "--json: key"

# ---- --include, --out-dir (tree mirrored), ECDSA
must_signet sign --key rel/ec --in dist --recursive --include '*.bin' --out-dir sigs
mapfile -t bins < <(cd dist && find . -name '*.bin' | sed 's|^\./||' | sort)
expect_eq "$(find sigs -type f | wc -l)" 60 "--include '*.bin': 60 signatures"
bad=0
for f in "${bins[@]}"; do
	openssl dgst -sha256 -verify ec.pub -signature "sigs/$f.sig" "dist/$f" >/dev/null 2>&1 || bad=$((bad + 1))
done
expect_eq "$bad" 0 "ECDSA signatures under --out-dir verify"
# A glob with a / matches the path below --in.
must_signet sign --key rel/ec --in dist --recursive --include 'lib/deep/*' --out-dir deep-sigs
expect_eq "$(find deep-sigs -type f | wc -l)" 28 "--include 'lib/deep/*'"
# --in DIR without --recursive: its own files only.
must_signet sign --key rel/ec --in dist --out-dir top
expect_eq "$(find top -type f | sort | tr '\n' ' ')" "top/NOTES.txt.sig top/README.sig " "--in DIR: top-level files"

# ---- several --in, one with --out-dir flattening names
must_signet sign --key rel/rsa --in dist/README --in dist/NOTES.txt --out-dir two
openssl dgst -sha256 -verify rsa.pub -signature two/README.sig dist/README >/dev/null 2>&1 ||
	_e2e_soft_fail "several --in: README"
openssl dgst -sha256 -verify rsa.pub -signature two/NOTES.txt.sig dist/NOTES.txt >/dev/null 2>&1 ||
	_e2e_soft_fail "several --in: NOTES.txt"

# ---- CMS for many files
must_signet sign --key rel/rsa --format cms --in dist/lib/deep --out-dir cms
bad=0
for f in dist/lib/deep/*.txt; do
	openssl cms -verify -binary -inform DER -in "cms/$(basename "$f").p7s" -content "$f" \
	    -CAfile root.pem -purpose any -out /dev/null 2>/dev/null || bad=$((bad + 1))
done
expect_eq "$bad" 0 "28 CMS signatures verify"

# ---- standard input and output
head -c 100000 /dev/urandom >stream.bin
"$SIGNET" sign --key rel/rsa --in - --out - <stream.bin >stream.sig 2>stream.err ||
	_e2e_soft_fail "--in - --out -: $(cat stream.err)"
openssl dgst -sha256 -verify rsa.pub -signature stream.sig stream.bin >/dev/null 2>&1 ||
	_e2e_soft_fail "--in - --out -: signature does not verify"
run_signet 2 sign --key rel/rsa --in - --in dist/README --out x.sig

# ---- a file that cannot be read: nothing is signed
n0=$(audit_count "$ADMIN_KEY" '.action == "key.sign" and .result == "ok"')
mkdir -p broken && echo a >broken/a && ln -s /nonexistent broken/b && echo c >broken/c
# (a dangling symbolic link is not a regular file: skipped, not an error)
must_signet sign --key rel/rsa --in broken --out-dir broken-sigs
expect_eq "$(find broken-sigs -type f | wc -l)" 2 "dangling link skipped"
run_signet 1 sign --key rel/rsa --in dist/README --in no/such/file --out-dir z
expect_contains "$ERR" "no/such/file: No such file or directory" "missing file named with its reason"
[[ -e z ]] && _e2e_soft_fail "signatures written although one input was missing"
n1=$(audit_count "$ADMIN_KEY" '.action == "key.sign" and .result == "ok"')
expect_eq "$n1" "$((n0 + 1))" "only the dangling-link run signed"
run_signet 1 sign --key rel/rsa --in dist --include '*.nothing'
expect_contains "$ERR" "no files to sign" "--include that matches nothing"

# ---- writing onto a directory: the system's reason
mkdir -p outdir
run_signet 1 sign --key rel/rsa --in dist/README --out outdir --force
expect_contains "$ERR" "Is a directory" "--out onto a directory: Is a directory"

# ---- the progress line, on a terminal only
if command -v script >/dev/null 2>&1; then
	script -qec "$SIGNET sign --key rel/rsa --in dist --recursive --force --out-dir tty-sigs" /dev/null \
	    >tty.out 2>&1 </dev/null
	expect_contains "$(tr '\r' '\n' <tty.out)" "signed 150/150 files" "progress line on a terminal"
	expect_contains "$(cat tty.out)" "files/s" "progress line shows the rate"
fi

e2e_stop_server
e2e_done
