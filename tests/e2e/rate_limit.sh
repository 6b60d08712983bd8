#!/bin/bash
# rate_limit.sh - an address that keeps presenting bad credentials gets 429
# with Retry-After for the rest of the minute, for API keys and for
# service-account token requests alike; other addresses and public health
# checks are not affected; good credentials from the held-back address wait
# too (the address, not the key, is what is limited).
# e2e-requires: signetd
source "$(dirname "$0")/lib.sh"

e2e_init
printf 'auth_failure_limit = 5\n' >>"$D/signetd.conf"
e2e_serve

req() {	# req ADDR KEY PATH [METHOD] -> HTTP status in $CODE, headers in hdr.txt
	CODE=$(curl -s --interface "$1" -o /dev/null -D "$E2E_DIR/hdr.txt" \
	    -w '%{http_code}' --max-time 10 --cacert "$SIGNET_CA_FILE" \
	    -X "${4:-GET}" -H "Authorization: Bearer $2" "$SIGNET_URL$3")
}

BAD=snk_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
for i in 1 2 3 4 5; do
	req 127.0.0.1 "$BAD" /v1/me
	expect_eq "$CODE" 401 "bad key attempt $i"
done
req 127.0.0.1 "$BAD" /v1/me
expect_eq "$CODE" 429 "sixth bad key attempt"
ra=$(tr -d '\r' <"$E2E_DIR/hdr.txt" | sed -n 's/^[Rr]etry-[Aa]fter: *//p')
[[ $ra =~ ^[0-9]+$ && $ra -ge 1 && $ra -le 60 ]] ||
    _e2e_soft_fail "429 without a sane Retry-After header: '$ra'"
req 127.0.0.1 "$ADMIN_KEY" /v1/me
expect_eq "$CODE" 429 "a good key from the held-back address"
req 127.0.0.1 "" /healthz
expect_eq "$CODE" 200 "health checks from the held-back address"
# the token endpoint is held back for that address too
req 127.0.0.1 "" /v1/oauth/token POST
expect_eq "$CODE" 429 "token requests from the held-back address"

# another address is not affected
req 127.0.0.2 "$ADMIN_KEY" /v1/me
expect_eq "$CODE" 200 "a good key from another address"
# bad service-account assertions count too: a well-formed JWT for an
# account that does not exist is a 401, and the sixth is held back
b64u() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
exp=$(($(date +%s) + 120))
JWT="$(printf '{"alg":"ES256","typ":"JWT"}' | b64u).$(printf \
    '{"iss":"sac_nobody","sub":"sac_nobody","aud":"%s/v1/oauth/token","exp":%d,"jti":"j%s"}' \
    "$SIGNET_URL" "$exp" "$RANDOM" | b64u).$(head -c 64 /dev/urandom | b64u)"
for i in 1 2 3 4 5 6; do
	CODE=$(curl -s --interface 127.0.0.3 -o /dev/null -w '%{http_code}' \
	    --max-time 10 --cacert "$SIGNET_CA_FILE" \
	    --data-urlencode 'grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer' \
	    --data-urlencode "assertion=$JWT" "$SIGNET_URL/v1/oauth/token")
	want=401
	((i == 6)) && want=429
	expect_eq "$CODE" "$want" "token request $i with an assertion for an unknown account"
done
e2e_stop_server
e2e_done
