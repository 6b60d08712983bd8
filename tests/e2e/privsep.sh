#!/bin/bash
# privsep.sh - SPEC §2: the network- and JSON-facing signetd never loads the
# PKCS#11 module, never holds the token PIN, never opens the token files;
# only the keeper child does. Checked from the outside through /proc
# (maps, fds, environ, cmdline, and a scan of signetd's memory for the PIN).
# Also: the data directory's secrets have tight modes, server-ca.pem holds
# certificates only, and signetd's own command line behaves (init refuses
# an existing database, a busy port fails fast, --version/--help).
# e2e-requires: signetd
source "$(dirname "$0")/lib.sh"
e2e_require_tool python3 openssl

e2e_init acme admin@acme.test
# ---- the data directory
mode() { stat -c %a "$1" 2>/dev/null || echo missing; }
expect_eq "$(mode "$D/hsm/pin")" 600 "mode of hsm/pin"
for f in "$D"/tls/*.key; do expect_eq "$(mode "$f")" 600 "mode of ${f#"$D"/}"; done
if [[ $E2E_DB == sqlite ]]; then
	m=$(mode "$D/signet.db")
	[[ $m == 600 || $m == 640 ]] || _e2e_soft_fail "signet.db mode $m (want 600/640)"
else
	[[ -e $D/signet.db ]] && _e2e_soft_fail "init --db-url created signet.db"
	grep -q '^db_url = postgresql://' "$D/signetd.conf" ||
	    _e2e_soft_fail "signetd.conf does not name the PostgreSQL database"
fi
m=$(mode "$D")
[[ $m == 700 || $m == 750 ]] || _e2e_soft_fail "data directory mode $m (want 700/750)"
m=$(mode "$D/hsm/tokens")
[[ $m == 700 || $m == 750 ]] || _e2e_soft_fail "hsm/tokens mode $m (want 700/750)"
grep -q "PRIVATE KEY" "$D/server-ca.pem" && _e2e_soft_fail "server-ca.pem contains a private key"
openssl x509 -in "$D/server-ca.pem" -noout 2>/dev/null || _e2e_soft_fail "server-ca.pem is not a certificate"
PIN=$(tr -d '\n' <"$D/hsm/pin")
((${#PIN} >= 8)) || _e2e_soft_fail "the token PIN has only ${#PIN} characters"
grep -q -F -- "$PIN" "$D/signetd.conf" && _e2e_soft_fail "signetd.conf contains the PIN"
# init refuses an existing database and leaves it alone
sum0=$(sha256sum "$D/signetd.conf" | cut -d' ' -f1)
[[ $E2E_DB == sqlite ]] && sum0=$(sha256sum "$D/signet.db" | cut -d' ' -f1)
"$SIGNETD" init --data-dir "$D" --tenant other --admin x@other.test >"$E2E_DIR/init2.out" 2>&1 &&
    _e2e_soft_fail "signetd init over an existing data directory succeeded"
if [[ $E2E_DB == sqlite ]]; then
	expect_eq "$(sha256sum "$D/signet.db" | cut -d' ' -f1)" "$sum0" "signetd init on an existing directory changed signet.db"
else
	expect_eq "$(sha256sum "$D/signetd.conf" | cut -d' ' -f1)" "$sum0" "signetd init on an existing directory changed signetd.conf"
fi
grep -q '^snk_' "$E2E_DIR/init2.out" && _e2e_soft_fail "a refused init printed an API key"
"$SIGNETD" tenant create acme --admin y@acme.test --data-dir "$D" >/dev/null 2>&1 &&
    _e2e_soft_fail "signetd tenant create with an existing tenant name succeeded"
"$SIGNETD" --version >"$E2E_DIR/v" 2>&1 || _e2e_soft_fail "signetd --version exit $?"
grep -q '[0-9]\+\.[0-9]\+' "$E2E_DIR/v" || _e2e_soft_fail "signetd --version: $(cat "$E2E_DIR/v")"
"$SIGNETD" --help >/dev/null 2>&1 || _e2e_soft_fail "signetd --help exit $?"
"$SIGNETD" no-such-command >/dev/null 2>&1 && _e2e_soft_fail "signetd no-such-command exit 0"

e2e_serve
# a second server on the same port fails fast
t0=$SECONDS
timeout 20 "$SIGNETD" serve --data-dir "$D" --listen "127.0.0.1:$E2E_PORT" >"$E2E_DIR/second.log" 2>&1
rc=$?
((rc != 0 && rc != 124)) || _e2e_soft_fail "a second signetd on a busy port: exit $rc (want a quick failure)"
((SECONDS - t0 < 15)) || _e2e_soft_fail "a second signetd on a busy port took $((SECONDS - t0)) s to fail"
api_q GET /healthz ""; expect_status 200 "the first server still serves"

# make the keeper work: a key and a signature
mk_user s@acme.test; S=$U_KEY
api_q POST /v1/projects '{"name":"p1"}' "$ADMIN_KEY"; assert_status 201 "project"
api_q POST /v1/projects/p1/signers '{"user":"s@acme.test"}' "$ADMIN_KEY"; assert_status 201 "signer"
api_q POST /v1/keys '{"project":"p1","name":"k1","algorithm":"rsa-2048"}' "$ADMIN_KEY"; assert_status 201 "key"
K1=$(jbody -r .key.id)
api_q POST "/v1/keys/$K1/sign" "{\"mechanism\":\"rsa-pkcs1\",\"digest_algorithm\":\"sha256\",\"digest\":\"$(rand_b64 32)\"}" "$S"
assert_status 200 "sign"

KP=$(e2e_keeper_pid) || fail "no keeper child of signetd"
SP=$SERVER_PID
MOD=$(sed -n 's/^[[:space:]]*hsm_module[[:space:]]*=[[:space:]]*//p' "$D/signetd.conf" | head -n1)
MODBASE=$(basename "${MOD:-libsofthsm2.so}")
grep -q -F "$MODBASE" "/proc/$KP/maps" || _e2e_soft_fail "the keeper has not loaded $MODBASE (is this the keeper?)"
grep -q -F "$MODBASE" "/proc/$SP/maps" && _e2e_soft_fail "signetd (network process) has $MODBASE mapped"
grep -q -i "softhsm" "/proc/$SP/maps" && _e2e_soft_fail "signetd (network process) has a SoftHSM library mapped"
for fd in /proc/"$SP"/fd/*; do
	t=$(readlink "$fd" 2>/dev/null) || continue
	case $t in
	"$D"/hsm/*) _e2e_soft_fail "signetd (network process) has $t open" ;;
	esac
done
for p in "$SP" "$KP"; do
	tr '\0' '\n' <"/proc/$p/environ" | grep -q -F -- "$PIN" && _e2e_soft_fail "pid $p has the PIN in its environment"
	tr '\0' ' ' <"/proc/$p/cmdline" | grep -q -F -- "$PIN" && _e2e_soft_fail "pid $p has the PIN on its command line"
done
# scan signetd's memory for the PIN (needs ptrace rights over the child: we are its parent)
python3 - "$SP" "$PIN" >"$E2E_DIR/memscan" 2>&1 <<'EOF'
import sys
pid, pin = sys.argv[1], sys.argv[2].encode()
found, scanned = 0, 0
with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
    for line in maps:
        parts = line.split()
        lo, hi = (int(x, 16) for x in parts[0].split("-"))
        if "r" not in parts[1] or (len(parts) > 5 and parts[5] in ("[vvar]", "[vsyscall]")):
            continue
        # Terabyte mappings are sanitizer shadow/reserve, not data: skip
        # them; read the rest in slices (overlapping by the PIN's length).
        if hi - lo > (4 << 30):
            continue
        hit, off, step = False, lo, 64 << 20
        while off < hi:
            try:
                mem.seek(off)
                data = mem.read(min(step + len(pin), hi - off))
            except (OSError, ValueError, OverflowError):
                break
            scanned += min(len(data), step)
            hit = hit or pin in data
            off += step
        found += hit
print(f"scanned={scanned} found={found}")
EOF
scan=$(cat "$E2E_DIR/memscan")
if [[ $scan =~ scanned=([0-9]+)\ found=([0-9]+) ]]; then
	((BASH_REMATCH[1] > 1000000)) || _e2e_soft_fail "memory scan read only ${BASH_REMATCH[1]} bytes"
	expect_eq "${BASH_REMATCH[2]}" 0 "regions of signetd's memory holding the token PIN"
	echo "privsep: scanned ${BASH_REMATCH[1]} bytes of signetd (pid $SP) for the PIN"
else
	# The scan is the test: a run that cannot read signetd's memory has
	# not shown the PIN is absent from it.
	_e2e_soft_fail "memory scan could not run: $(head -c 200 "$E2E_DIR/memscan")"
fi
# positive control: the same scan finds a string signetd must hold (a line
# of its TLS certificate), so "found=0" above means something
CTL=$(sed -n 3p "$D/tls/server.crt")
# the same scanner (the heredoc above) with the control string
sed -n "/^python3 - \"\$SP\" \"\$PIN\"/,/^EOF\$/p" "$0" | sed '1d;$d' >"$E2E_DIR/memscan.py"
python3 "$E2E_DIR/memscan.py" "$SP" "$CTL" >"$E2E_DIR/memscan2" 2>&1 || true
if [[ $scan == scanned=* ]]; then
	[[ $(cat "$E2E_DIR/memscan2") =~ found=[1-9] ]] ||
	    _e2e_soft_fail "memory scan control: the TLS certificate line was not found in signetd's memory"
fi
# if signetd dies hard, the keeper must not linger with the PIN
kill -KILL "$SP"
wait "$SP" 2>/dev/null
SERVER_PID=
for ((i = 0; i < 100; i++)); do
	[[ -d /proc/$KP && $(cut -d' ' -f3 "/proc/$KP/stat" 2>/dev/null) != Z ]] || break
	sleep 0.1
done
if [[ -d /proc/$KP && $(cut -d' ' -f3 "/proc/$KP/stat" 2>/dev/null) != Z ]]; then
	kill -KILL "$KP" 2>/dev/null
	_e2e_soft_fail "the keeper (pid $KP) is still running 10 s after signetd was SIGKILLed"
fi
e2e_done
