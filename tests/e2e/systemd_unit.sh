#!/bin/bash
# systemd_unit.sh - `cmake --install` puts signetd.service (and the
# sysusers.d entry of its account) under the prefix; the unit's ExecStart
# names the installed signetd; `systemd-analyze verify` accepts it with no
# complaint at all (an unknown or misspelt directive is only a warning to
# systemd, so any output fails here); and the sandboxing directives are
# there with the values docs/OPERATIONS.md promises. (The unit is checked
# offline: this test does not need systemd running.)
# e2e-requires: signetd
source "$(dirname "$0")/lib.sh"
e2e_require_tool cmake
: "${SIGNET_BUILD_DIR:?SIGNET_BUILD_DIR must name the build directory}"

W=$E2E_DIR/work
STAGE=$W/prefix
cmake --install "$SIGNET_BUILD_DIR" --prefix "$STAGE" >"$W/install.out" 2>&1 ||
    fail "cmake --install: $(tail -n5 "$W/install.out")"
UNIT=$STAGE/lib/systemd/system/signetd.service
[[ -f $UNIT ]] || fail "signetd.service not installed at $UNIT: $(grep -i service "$W/install.out")"
[[ -f $STAGE/lib/sysusers.d/signet.conf ]] || _e2e_soft_fail "the sysusers.d entry is not installed"
grep -q '^u signet ' "$STAGE/lib/sysusers.d/signet.conf" || _e2e_soft_fail "sysusers.d: no 'u signet' line"

# directive VALUE of the [Service] section (the last assignment wins, as in systemd)
svc() {
	awk -v k="$1" '/^\[/{s = ($0 == "[Service]")} s && index($0, k "=") == 1 {v = substr($0, length(k) + 2)} END {print v}' "$UNIT"
}
EXEC=$(svc ExecStart)
BIN=${EXEC%% *}
# cmake --install --prefix relocates files, not the paths configured into
# them: the unit names the configured sbindir
expect_eq "$(basename "$BIN")" signetd "ExecStart runs signetd"
[[ $EXEC == *" serve --data-dir /var/lib/signet" ]] || _e2e_soft_fail "ExecStart: '$EXEC'"
[[ -x $STAGE/sbin/signetd ]] || _e2e_soft_fail "signetd not installed in $STAGE/sbin"

if command -v systemd-analyze >/dev/null 2>&1; then
	# verify wants the binary to exist: point the copy at the staged one
	sed "s|^ExecStart=$BIN |ExecStart=$STAGE/sbin/signetd |" "$UNIT" >"$W/signetd.service"
	systemd-analyze verify "$W/signetd.service" >"$W/verify.out" 2>&1
	rc=$?
	expect_eq "$rc" 0 "systemd-analyze verify exit status"
	[[ -s $W/verify.out ]] && _e2e_soft_fail "systemd-analyze verify complains: $(head -c 600 "$W/verify.out")"
	# and it does notice a misspelt directive (so the check above can fail)
	sed 's/^ProtectSystem=/ProtectSystm=/' "$W/signetd.service" >"$W/typo.service"
	systemd-analyze verify "$W/typo.service" >"$W/typo.out" 2>&1
	grep -q ProtectSystm "$W/typo.out" || _e2e_soft_fail "systemd-analyze verify did not notice a misspelt directive"
else
	echo "(systemd-analyze missing: only the directives are checked)" >&2
fi

want() {	# want DIRECTIVE VALUE
	expect_eq "$(svc "$1")" "$2" "signetd.service $1"
}
want User signet
want Group signet
want ProtectSystem strict
want ReadWritePaths /var/lib/signet
want StateDirectory signet
want NoNewPrivileges yes
want PrivateTmp yes
want PrivateDevices yes
want ProtectHome yes
want RestrictAddressFamilies "AF_UNIX AF_INET AF_INET6"
want MemoryDenyWriteExecute yes
want SystemCallFilter @system-service
want SystemCallArchitectures native
want CapabilityBoundingSet ""
want AmbientCapabilities ""
want UMask 0077
want LimitCORE 0
grep -q '^CapabilityBoundingSet=$' "$UNIT" || _e2e_soft_fail "CapabilityBoundingSet= is not empty"
# SIGTERM is signetd's clean stop; its 30 s grace fits in the stop timeout
want KillMode mixed
(($(svc TimeoutStopSec) > 30)) || _e2e_soft_fail "TimeoutStopSec $(svc TimeoutStopSec) is not above signetd's 30 s grace"
e2e_done
