#!/bin/bash
# pkcs11_gnupg.sh - GnuPG, git and RPM through gnupg-pkcs11-scd with a
# Signet RSA key: gpg-agent runs gnupg-pkcs11-scd as its smartcard daemon,
# which loads signet-pkcs11.so; an OpenPGP key is made around the token
# key (by its keygrip, `Key-Grip:` in a batch parameter file); then a
# detached signature (gpg --verify), `git commit -S` + `git verify-commit`,
# and `rpmsign --addsign` + `rpmkeys --checksig`. The OpenPGP signatures
# are also checked to come from the Signet key (its public key is the
# OpenPGP key's). RSA only: gnupg-pkcs11-scd 0.10 handles RSA keys only.
#
# e2e-requires: signetd signet-pkcs11
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/external_tools.bash"
e2e_require_tool gpg gpg-connect-agent gpgconf gnupg-pkcs11-scd openssl
# gpg-agent and scdaemon are started by gpg, not by this script: in the
# sanitizer build the module would load into them without the ASan runtime.
[[ -z ${SIGNET_TEST_PRELOAD:-} ]] || { echo "skip: gpg-agent cannot preload ASan" >&2; exit 77; }

W=$E2E_DIR/work
cd "$W" || fail "cd $W"
e2e_start_server
api_q POST /v1/projects '{"name":"rel"}' "$ADMIN_KEY"; assert_status 201 "project"
api_q POST /v1/keys '{"project":"rel","name":"gpg","algorithm":"rsa-3072"}' "$ADMIN_KEY"
assert_status 201 "key rel/gpg"
jbody -r .key.public_key >gpg.pub
api_q POST /v1/keys '{"project":"rel","name":"gpg-ec","algorithm":"ecdsa-p256"}' "$ADMIN_KEY"
assert_status 201 "key rel/gpg-ec"
mk_user dev@acme.test
api_q POST /v1/projects/rel/signers '{"user":"dev@acme.test"}' "$ADMIN_KEY"; assert_status 201 "signer"
export SIGNET_API_KEY=$U_KEY

# A short GNUPGHOME: gpg-agent's socket path must fit in sun_path.
export GNUPGHOME=$(mktemp -d /tmp/sgpg.XXXXXX)
# keep the script's status: _e2e_cleanup exits with the $? it finds
trap 'rc=$?; gpgconf --kill all >/dev/null 2>&1; rm -rf "$GNUPGHOME"; (exit $rc); _e2e_cleanup' EXIT
printf 'scdaemon-program %s\n' "$(command -v gnupg-pkcs11-scd)" >"$GNUPGHOME/gpg-agent.conf"
printf 'providers signet\nprovider-signet-library %s\n' "$SIGNET_PKCS11" >"$GNUPGHOME/gnupg-pkcs11-scd.conf"
gpg-connect-agent 'SCD LEARN --force' /bye >learn.out 2>&1
GRIP=$(awk '$2 == "KEYPAIRINFO" {print $3; exit}' learn.out)
[[ $GRIP =~ ^[0-9A-F]{40}$ ]] || fail "gnupg-pkcs11-scd does not see the Signet key: $(cat learn.out)"
expect_contains "$(cat learn.out)" "OU=rel/CN=gpg " "gnupg-pkcs11-scd names the key by its certificate"
# RSA only: the ECDSA key beside it is not offered (docs/PKCS11.md).
expect_eq "$(grep -c ' KEYPAIRINFO ' learn.out)" 1 "gnupg-pkcs11-scd offers the RSA key only"
# The agent writes a stub ("shadowed key") for each key on the card.
gpg-connect-agent 'LEARN --force' /bye >learn2.out 2>&1
[[ -f $GNUPGHOME/private-keys-v1.d/$GRIP.key ]] || fail "gpg-agent made no key stub: $(cat learn2.out)"

printf '%s\n' 'Key-Type: RSA' "Key-Grip: $GRIP" 'Key-Usage: sign' 'Name-Real: Signet Release' \
    'Name-Email: release@acme.test' 'Expire-Date: 0' '%no-protection' '%commit' >keyparams
gpg --batch --generate-key keyparams >gen.out 2>&1 || fail "gpg --generate-key from the token key: $(tail -n3 gen.out)"
FPR=$(gpg --list-keys --with-colons 2>/dev/null | awk -F: '$1 == "fpr" {print $10; exit}')
[[ -n $FPR ]] || fail "no OpenPGP key made"
# The OpenPGP key is the Signet key: its keygrip (a hash of the public
# key) is the token key's.
expect_eq "$(gpg --list-keys --with-keygrip --with-colons "$FPR" 2>/dev/null | awk -F: '$1 == "grp" {print $10; exit}')" \
    "$GRIP" "the OpenPGP key is rel/gpg's key"

# ---- a detached signature
head -c 30000 /dev/urandom >release.tar
gpg --batch -u "$FPR" --detach-sign release.tar >ds.out 2>&1 || _e2e_soft_fail "gpg --detach-sign: $(tail -n3 ds.out)"
gpg --batch --verify release.tar.sig release.tar >v.out 2>&1 || _e2e_soft_fail "gpg --verify: $(tail -n3 v.out)"
expect_contains "$(cat v.out)" 'Good signature from "Signet Release <release@acme.test>"' "gpg --verify"
printf 'X' | dd of=release.tar bs=1 seek=100 conv=notrunc 2>/dev/null
gpg --batch --verify release.tar.sig release.tar >/dev/null 2>&1 && _e2e_soft_fail "gpg verified a changed file"

# ---- git commit -S / git verify-commit
if command -v git >/dev/null 2>&1; then
	git init -q repo
	(cd repo && git config user.name "Signet Release" && git config user.email release@acme.test &&
	    git config user.signingkey "$FPR" && echo a >a && git add a &&
	    git commit -q -S -m "signed through Signet") >git.out 2>&1 ||
		_e2e_soft_fail "git commit -S: $(tail -n3 git.out)"
	(cd repo && git verify-commit HEAD) >gv.out 2>&1 || _e2e_soft_fail "git verify-commit: $(tail -n3 gv.out)"
	expect_contains "$(cat gv.out)" "Good signature" "git verify-commit"
fi

# ---- rpmsign --addsign / rpmkeys --checksig
if command -v rpmbuild >/dev/null 2>&1 && command -v rpmsign >/dev/null 2>&1; then
	mkdir -p rpm/SPECS
	printf '%s\n' 'Name: hello' 'Version: 1.0' 'Release: 1' 'Summary: test' 'License: MIT' \
	    'BuildArch: noarch' '%description' 'test' '%install' 'mkdir -p %{buildroot}/opt' \
	    'echo hi > %{buildroot}/opt/hello.txt' '%files' '/opt/hello.txt' >rpm/SPECS/hello.spec
	rpmbuild --define "_topdir $W/rpm" --define '_build_id_links none' -bb rpm/SPECS/hello.spec \
	    >rb.out 2>&1 || fail "rpmbuild: $(tail -n3 rb.out)"
	RPM=$(ls rpm/RPMS/noarch/hello-1.0-1.noarch.rpm)
	rpmsign --define "_gpg_name $FPR" --define "_gpg_path $GNUPGHOME" --define "__gpg $(command -v gpg)" \
	    --addsign "$RPM" >rs.out 2>&1 ||
		_e2e_soft_fail "rpmsign --addsign: $(tail -n3 rs.out)"
	mkdir -p rpmdb
	gpg --armor --export "$FPR" >pub.asc
	rpmkeys --dbpath "$W/rpmdb" --import pub.asc >ri.out 2>&1 || _e2e_soft_fail "rpmkeys --import: $(cat ri.out)"
	rpmkeys --dbpath "$W/rpmdb" --checksig -v "$RPM" >rc.out 2>&1 || _e2e_soft_fail "rpmkeys --checksig: $(cat rc.out)"
	fp8=${FPR: -8}
	expect_contains "$(cat rc.out)" "Signature, key ID ${fp8,,}: OK" "rpmkeys --checksig: signed with the Signet key"
	grep -q "NOT OK\|NOKEY" rc.out && _e2e_soft_fail "rpmkeys --checksig: $(cat rc.out)"
fi

gpgconf --kill all >/dev/null 2>&1
e2e_stop_server
e2e_done
