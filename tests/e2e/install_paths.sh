#!/bin/bash
# install_paths.sh - one module path. `cmake --install` into a fresh
# prefix puts signet-pkcs11.so where p11-kit looks for modules and
# signet.module where p11-kit looks for their registrations (p11-kit's
# p11_module_path and p11_module_configs, relative to the prefix); the
# installed `signet pkcs11-module` prints exactly that path; the installed
# .module names it; and p11-kit, reading that file unchanged, shows the
# Signet token. (They used to disagree: lib/pkcs11 vs
# lib/x86_64-linux-gnu/pkcs11.)
#
# e2e-requires: signetd signet signet-pkcs11
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/external_tools.bash"
e2e_require_tool cmake pkg-config p11-kit
: "${SIGNET_BUILD_DIR:?SIGNET_BUILD_DIR must name the build directory}"

W=$E2E_DIR/work
cd "$W" || fail "cd $W"
STAGE=$W/prefix
cmake --install "$SIGNET_BUILD_DIR" --prefix "$STAGE" >install.out 2>&1 ||
	fail "cmake --install: $(tail -n5 install.out)"

p11prefix=$(pkg-config --variable=prefix p11-kit-1)
moddir=$(pkg-config --variable=p11_module_path p11-kit-1)
cfgdir=$(pkg-config --variable=p11_module_configs p11-kit-1)
MOD=$STAGE/${moddir#"$p11prefix"/}/signet-pkcs11.so
CFG=$STAGE/${cfgdir#"$p11prefix"/}/signet.module
[[ -f $MOD ]] || _e2e_soft_fail "module not installed at $MOD: $(grep -i pkcs11 install.out)"
[[ -f $CFG ]] || _e2e_soft_fail "signet.module not installed at $CFG: $(grep -i module install.out)"
expect_eq "$(sed -n 's/^module: *//p' "$CFG")" "$MOD" "signet.module names the installed module"
expect_eq "$(sed -n 's/^critical: *//p' "$CFG")" "no" "signet.module is not critical"
[[ -x $STAGE/bin/signet ]] || fail "signet not installed in $STAGE/bin"
SIGNET_PKCS11_MODULE= "$STAGE/bin/signet" pkcs11-module >pm.out 2>pm.err ||
	_e2e_soft_fail "installed signet pkcs11-module: $(cat pm.err)"
expect_eq "$(cat pm.out)" "$MOD" "installed signet pkcs11-module prints the installed module"
# The environment still overrides it.
expect_eq "$(SIGNET_PKCS11_MODULE=$SIGNET_PKCS11 "$STAGE/bin/signet" pkcs11-module)" "$SIGNET_PKCS11" \
	"SIGNET_PKCS11_MODULE overrides the path"

# ---- p11-kit reads the installed registration as it is
e2e_start_server
api_q POST /v1/projects '{"name":"app"}' "$ADMIN_KEY"; assert_status 201 "project"
api_q POST /v1/keys '{"project":"app","name":"release","algorithm":"ecdsa-p256"}' "$ADMIN_KEY"
assert_status 201 "key"
api_q POST /v1/projects/app/signers '{"user":"admin@acme.test"}' "$ADMIN_KEY"; assert_status 201 "signer"
export SIGNET_API_KEY=$ADMIN_KEY
mkdir -p "$W/home/.config/pkcs11/modules"
cp "$CFG" "$W/home/.config/pkcs11/modules/signet.module"
preload=()
[[ -n ${SIGNET_TEST_PRELOAD:-} ]] &&
	preload=("LD_PRELOAD=$SIGNET_TEST_PRELOAD" "ASAN_OPTIONS=$_e2e_asan_tool_opts")
# p11-kit ignores per-user module files for root: run it as nobody then.
if [[ $(id -u) == 0 ]]; then
	command -v setpriv >/dev/null 2>&1 || { echo "skip: setpriv missing" >&2; e2e_stop_server; exit 77; }
	chmod 755 "$E2E_DIR" "$W" "$D"
	chmod -R a+rX "$W"
	chmod 644 "$SIGNET_CA_FILE"
	as_user() { setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$W/home" "${preload[@]}" "$@"; }
else
	as_user() { env HOME="$W/home" "${preload[@]}" "$@"; }
fi
# (Not under the ASan preload: p11-kit-trust.so, loaded beside ours,
# deadlocks at exit there; see pkcs11_gnutls.sh.)
if [[ -z ${SIGNET_TEST_PRELOAD:-} ]]; then
	as_user timeout 120 p11-kit list-modules >p11kit.out 2>&1
	expect_contains "$(cat p11kit.out)" "token: Signet" "p11-kit list-modules shows the Signet token"
	expect_contains "$(cat p11kit.out)" "library-manufacturer: Signet" "p11-kit loaded the installed module"
fi

e2e_stop_server
e2e_done
