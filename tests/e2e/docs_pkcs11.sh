#!/bin/bash
# docs_pkcs11.sh - the examples of docs/PKCS11.md run verbatim. Every fenced
# block opened with "```sh tested" is extracted and run, in order, in one
# shell (later blocks use what earlier ones made: $MODULE, chain.pem, ...),
# with only what a reader has: `signet login` done, a project "app" with an
# RSA key "release" and an ECDSA key "release-ec" the user signs with, and
# app.tar.gz, app.exe, app.jar. A block fails on its first failing command
# (set -e -o pipefail); the test names the block and the command's output.
# (The examples once used leaf.pem and issuing.pem that no step created.)
#
# e2e-requires: signetd signet signet-pkcs11
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/external_tools.bash"
e2e_require_tool pkcs11-tool openssl jq awk

DOC=$SIGNET_SOURCE_DIR/docs/PKCS11.md
M=$SIGNET_PKCS11
BIN=$(dirname "$M")
W=$E2E_DIR/work
cd "$W" || fail "cd $W"

# ---- split the tested blocks out of the document
mkdir -p blocks
awk -v dir=blocks '
	/^```sh tested[[:space:]]*$/ { n++; f = sprintf("%s/%02d.sh", dir, n); printf "" > f; inb = 1; next }
	inb && /^```[[:space:]]*$/ { inb = 0; close(f); next }
	inb { print >> f }
	END { if (inb) exit 3 }' "$DOC" || fail "an unterminated \`\`\`sh tested block in $DOC"
nblocks=$(find blocks -name '*.sh' | wc -l)
[[ $nblocks -ge 6 ]] || fail "only $nblocks tested blocks found in $DOC"

# ---- what a reader has
e2e_start_server
api_q POST /v1/projects '{"name":"app"}' "$ADMIN_KEY"; assert_status 201 "project app"
api_q POST /v1/keys '{"project":"app","name":"release","algorithm":"rsa-3072"}' "$ADMIN_KEY"
assert_status 201 "key app/release"
api_q POST /v1/keys '{"project":"app","name":"release-ec","algorithm":"ecdsa-p256"}' "$ADMIN_KEY"
assert_status 201 "key app/release-ec"
mk_user dev@acme.test
api_q POST /v1/projects/app/signers '{"user":"dev@acme.test"}' "$ADMIN_KEY"; assert_status 201 "signer"
# signet login writes the configuration the CLI and the module read.
mkdir -p bin
ln -s "$SIGNET" bin/signet
export PATH=$W/bin:$PATH
unset SIGNET_URL SIGNET_API_KEY
"$SIGNET" login --url "https://127.0.0.1:$E2E_PORT" --api-key "$U_KEY" --ca-file "$SIGNET_CA_FILE" \
	>login.out 2>&1 || fail "signet login: $(cat login.out)"
unset SIGNET_CA_FILE
# The CLI here runs from the build tree, not an installed bin/.
export SIGNET_PKCS11_MODULE=$M
head -c 200000 /dev/urandom >app.tar.gz
"$BIN/signet_mkpe" app.exe "docs example" || fail "signet_mkpe"
if command -v jar >/dev/null 2>&1; then
	mkdir -p jar && echo "hello" >jar/hello.txt && (cd jar && jar cf ../app.jar hello.txt) || fail "jar"
fi

# ---- run them, in order, in one shell (stopping at the first failure:
# later blocks use what earlier ones made)
{
	echo "source '$SIGNET_SOURCE_DIR/tests/e2e/external_tools.bash'"
	echo "set -e -o pipefail"
	for b in blocks/*.sh; do
		# pkcs11-provider dlopens the module with RTLD_DEEPBIND, which
		# the ASan runtime refuses: that block runs in the normal build.
		if [[ -n ${SIGNET_TEST_PRELOAD:-} ]] && grep -q 'ossl-modules/pkcs11.so' "$b"; then
			echo "echo '@@ block $(basename "$b" .sh) skipped (pkcs11-provider, ASan build)' >&2"
			continue
		fi
		echo "echo '@@ block $(basename "$b" .sh)' >&2"
		cat "$b"
	done
	echo "echo '@@ all blocks ran' >&2"
} >all.sh
timeout 600 bash all.sh >all.out 2>&1 </dev/null
rc=$?
if ! grep -q '^@@ all blocks ran' all.out; then
	blk=$(grep '^@@ block' all.out | tail -n1 | cut -d' ' -f3)
	_e2e_soft_fail "docs/PKCS11.md block $blk ('$(grep -m1 -v '^[[:space:]]*#' "blocks/$blk.sh")') failed (exit $rc): $(tail -n8 all.out | tr '\n' ' ')"
fi
echo "ran $(grep -c '^@@ block' all.out) of $nblocks blocks of $DOC" >&2

e2e_stop_server
e2e_done
