#!/bin/bash
# cli_help.sh - a CLI you can learn from itself: `signet help COMMAND` and
# `signet COMMAND --help` describe every option in a line with an example,
# for every command in the help table (an option the parser takes but the
# help leaves out makes --help fail); every option the help names is one
# the parser takes; unknown commands, subcommands and options suggest the
# nearest; bash completion offers commands, subcommands and options; errors
# carry the system's reason; `signetd init --public-url` puts that URL in
# the CA certificates' CRL addresses and the TLS names.
#
# e2e-requires: signetd signet
source "$(dirname "$0")/lib.sh"

W=$E2E_DIR/work
cd "$W" || fail "cd $W"

# ---- every command's help, from the table itself
mapfile -t firsts < <("$SIGNET" help --complete)
[[ ${#firsts[@]} -ge 15 ]] || fail "signet help --complete lists ${#firsts[@]} commands"
cmds=()
for w in "${firsts[@]}"; do
	mapfile -t subs < <("$SIGNET" help --complete "$w")
	if [[ ${subs[0]:-} == --* || ${#subs[@]} -eq 0 ]]; then
		cmds+=("$w")
	else
		for s in "${subs[@]}"; do cmds+=("$w $s"); done
	fi
done
[[ ${#cmds[@]} -ge 40 ]] || fail "only ${#cmds[@]} commands in the help table"
for c in "${cmds[@]}"; do
	# shellcheck disable=SC2086
	"$SIGNET" help $c >h.out 2>h.err
	rc=$?
	[[ $rc == 0 ]] || { _e2e_soft_fail "signet help $c: exit $rc: $(cat h.err)"; continue; }
	# shellcheck disable=SC2086
	"$SIGNET" $c --help >h2.out 2>&1 || _e2e_soft_fail "signet $c --help failed: $(cat h2.out)"
	cmp -s h.out h2.out || _e2e_soft_fail "signet help $c and signet $c --help differ"
	grep -q "^usage: signet $c" h.out || _e2e_soft_fail "signet help $c: no usage line"
	grep -q '^example:' h.out || _e2e_soft_fail "signet help $c: no example"
	# Each option of the help is one the parser accepts (a value for
	# it, then --help: an unknown option fails before --help is seen).
	# shellcheck disable=SC2086
	while read -r opt; do
		[[ $opt == --help ]] && continue
		"$SIGNET" $c "$opt" x --help >o.out 2>o.err
		grep -q "unknown option" o.err && _e2e_soft_fail "signet $c: the help names $opt, the parser does not take it"
	done < <("$SIGNET" help --complete $c)
done
echo "checked the help of ${#cmds[@]} commands" >&2
"$SIGNET" help >top.out; rc=$?
expect_eq "$rc" 0 "signet help"
expect_contains "$(cat top.out)" "signet help COMMAND" "top-level help points at signet help"
"$SIGNET" help key create >kc.out
expect_contains "$(cat kc.out)" "--algorithm ALG" "key create help names --algorithm"
expect_contains "$(cat kc.out)" "rsa-2048, rsa-3072" "key create help explains --algorithm"

# ---- suggestions
run_signet 2 sing
expect_contains "$ERR" "did you mean 'sign'?" "unknown command suggests sign"
run_signet 2 key creat PROJECT NAME
expect_contains "$ERR" "did you mean 'create'?" "unknown subcommand suggests create"
run_signet 2 sign --fromat raw
expect_contains "$ERR" "did you mean --format?" "unknown option suggests --format"
run_signet 2 projct list
expect_contains "$ERR" "did you mean 'project'?" "projct suggests project"
run_signet 2 zzzzzz
[[ $ERR == *"did you mean"* ]] && _e2e_soft_fail "a far-off word got a suggestion: $ERR"
run_signet 2 help key create extra words
run_signet 2 help nosuchthing

# ---- bash completion
COMP=$SIGNET_SOURCE_DIR/src/cli/signet.bash
complete_words() {	# complete_words WORD... : what <TAB> offers after them
	bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _signet; printf "%s\n" "${COMPREPLY[@]}"' \
	    _ "$COMP" "$SIGNET" "$@"
}
expect_eq "$(complete_words ke | sort | tr '\n' ' ')" "key keys " "completion of 'ke'"
expect_contains "$(complete_words key cr)" "create" "completion of 'key cr'"
expect_eq "$(complete_words sign --fo | sort | tr '\n' ' ')" "--force --format " "completion of 'sign --fo'"
expect_contains "$(complete_words key create app k --al)" "--algorithm" "completion after positional words"

# ---- errors carry the real cause
export SIGNET_URL=https://127.0.0.1:1 SIGNET_API_KEY=snk_x
mkdir -p adir
run_signet 1 sign --key app/k --in nosuchfile --out x.sig
expect_contains "$ERR" "No such file or directory" "missing --in: the system's reason"
[[ -e x.sig ]] && _e2e_soft_fail "a signature file was written for a missing input"
run_signet 2 sign --key app/k --in - 
expect_contains "$ERR" "--in - (standard input) needs --out" "--in - without --out"
run_signet 2 sign --key app/k --in a --in b --out one.sig
run_signet 2 sign --key app/k --in adir --out x --out-dir y
run_signet 2 sign --key app/k --in adir --jobs 0
run_signet 2 sign --key app/k --in adir --jobs many
echo data >present.bin
echo old >present.bin.sig
run_signet 1 sign --key app/k --in present.bin
expect_contains "$ERR" "present.bin.sig exists (--force replaces it)" "existing output kept without --force"
expect_eq "$(cat present.bin.sig)" "old" "existing signature untouched"
unset SIGNET_URL SIGNET_API_KEY

# ---- signetd init --public-url
PD=$E2E_DIR/pub
"$SIGNETD" init --data-dir "$PD" --public-url https://signet.example.test:9443/ >init.out 2>init.err ||
	fail "signetd init --public-url: $(cat init.err)"
expect_eq "$(sed -n 's/^public_url *= *//p' "$PD/signetd.conf")" "https://signet.example.test:9443" \
	"init --public-url is the configured public URL"
sqlite3 "$PD/signet.db" "select cert_pem from cas" >cas.pem
openssl crl2pkcs7 -nocrl -certfile cas.pem 2>/dev/null | openssl pkcs7 -print_certs -text 2>/dev/null >cas.txt
expect_contains "$(cat cas.txt)" "URI:https://signet.example.test:9443/v1/ca/" \
	"the issuing CA's CRL address uses --public-url"
grep -q "127.0.0.1:8443" cas.txt && _e2e_soft_fail "a CA certificate still names https://127.0.0.1:8443"
expect_contains "$(openssl x509 -in "$PD/tls/server.crt" -noout -ext subjectAltName 2>&1)" \
	"DNS:signet.example.test" "the TLS certificate names the public URL's host"
for bad in http://x.test https://x.test/path 'https://u@x.test' https://x.test:0 https://x.test:99999 https:// ; do
	rm -rf "$E2E_DIR/bad"
	"$SIGNETD" init --data-dir "$E2E_DIR/bad" --public-url "$bad" >/dev/null 2>bad.err
	rc=$?
	expect_eq "$rc" 2 "signetd init --public-url $bad"
	[[ -e $E2E_DIR/bad/signet.db ]] && _e2e_soft_fail "signetd init --public-url $bad created a database"
done

e2e_done
