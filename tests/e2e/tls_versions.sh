#!/bin/bash
# tls_versions.sh - signetd negotiates TLS 1.2 and 1.3 only (review
# finding: GnuTLS's default priorities let clients forced to TLS 1.0/1.1
# get a session). A handshake counts as accepted only when a cipher was
# agreed: s_client prints "Protocol : TLSv1" for a failed attempt too.
# e2e-requires: signetd
source "$(dirname "$0")/lib.sh"
e2e_require_tool openssl

e2e_start_server
W=$E2E_DIR/work
mkdir -p "$W"

for v in tls1 tls1_1; do
	echo | openssl s_client -connect "127.0.0.1:$E2E_PORT" "-$v" \
	    -CAfile "$SIGNET_CA_FILE" -cipher 'DEFAULT:@SECLEVEL=0' >"$W/$v" 2>&1
	if grep -q "^New, TLSv1\(\.[01]\)\?, Cipher is [A-Z]" "$W/$v"; then
		fail "the server accepted a $v handshake"
	fi
done
for v in tls1_2 tls1_3; do
	echo | openssl s_client -connect "127.0.0.1:$E2E_PORT" "-$v" \
	    -CAfile "$SIGNET_CA_FILE" >"$W/$v" 2>&1
	grep -q "^New, TLSv1\.[23], Cipher is [A-Z]" "$W/$v" ||
	    fail "the server refused a $v handshake"
done
e2e_stop_server
echo "tls_versions: ok"
