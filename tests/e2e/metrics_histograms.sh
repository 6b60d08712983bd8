#!/bin/bash
# metrics_histograms.sh - GET /metrics parsed by a real Prometheus parser
# (prometheus_client's text parser) after a known set of requests:
#   - request latency histograms by route PATTERN (never the raw path: a key
#     id or an unknown path must not become a label), method and status,
#     whose counts are exactly the requests made, and add up to
#     signet_requests_total;
#   - signing latency by key algorithm, audit commit time;
#   - keeper queue depth and database pool gauges;
#   - every histogram's buckets cumulative, +Inf == _count.
# e2e-requires: signetd
source "$(dirname "$0")/lib.sh"

PY=
for p in python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import prometheus_client.parser' 2>/dev/null; then
		PY=$p
		break
	fi
done
[[ -n $PY ]] || { echo "SKIP: metrics_histograms needs python3-prometheus-client" >&2; exit 77; }

W=$E2E_DIR/work
e2e_start_server
A=$ADMIN_KEY
MT=$(e2e_metrics_token)
api_q POST /v1/projects '{"name":"p"}' "$A"; assert_status 201 "project"
api_q POST /v1/projects/p/signers '{"user":"admin@acme.test"}' "$A"; assert_status 201 "signer"
api_q POST /v1/keys '{"project":"p","name":"ec","algorithm":"ecdsa-p256"}' "$A"; assert_status 201 "key ec"
KEC=$(jbody -r .key.id)
api_q POST /v1/keys '{"project":"p","name":"rsa","algorithm":"rsa-2048"}' "$A"; assert_status 201 "key rsa"
KRSA=$(jbody -r .key.id)

# the requests the histograms must show (besides the setup above)
for i in 1 2 3; do
	api_q POST "/v1/keys/$KEC/sign" "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digest\":\"$(rand_b64 32)\"}" "$A"
	assert_status 200 "sign ec $i"
done
api_q POST "/v1/keys/$KRSA/sign" "{\"mechanism\":\"rsa-pkcs1\",\"digest_algorithm\":\"sha256\",\"digests\":[\"$(rand_b64 32)\",\"$(rand_b64 32)\"]}" "$A"
assert_status 200 "sign rsa (batch)"
api_q POST "/v1/keys/$KEC/sign" '{"mechanism":"ecdsa","digest_algorithm":"sha256","digest":"short"}' "$A"
assert_status 400 "sign with a bad digest"
for i in 1 2; do api_q GET /v1/me "" "$A"; assert_status 200 "me"; done
api_q GET /v1/me "" ""; assert_status 401 "me without credentials"
for i in 1 2; do api_q GET "/no/such/path-$i" "" ""; assert_status 404 "unknown path"; done

curl -s --max-time 30 --cacert "$SIGNET_CA_FILE" -H "Authorization: Bearer $MT" \
    -o "$W/metrics" -w '%{http_code}' "$SIGNET_URL/metrics" >"$W/code"
assert_eq "$(cat "$W/code")" 200 "GET /metrics"
grep -q -- "$KEC" "$W/metrics" && _e2e_soft_fail "a key id is a label value in /metrics"
grep -q -- "path-1" "$W/metrics" && _e2e_soft_fail "a raw unknown path is a label value in /metrics"

"$PY" - "$W/metrics" <<'EOF' || _e2e_soft_fail "the /metrics checks above failed"
import math, sys
from prometheus_client.parser import text_string_to_metric_families

text = open(sys.argv[1]).read()
fams = {f.name: f for f in text_string_to_metric_families(text)}
bad = 0
def check(cond, what):
    global bad
    if not cond:
        bad += 1
        print("FAIL [metrics_histograms]: " + what, file=sys.stderr)

for name, typ in [("signet_http_request_duration_seconds", "histogram"),
                  ("signet_sign_duration_seconds", "histogram"),
                  ("signet_audit_commit_duration_seconds", "histogram"),
                  ("signet_keeper_queue_depth", "gauge"),
                  ("signet_db_pool_connections_in_use", "gauge"),
                  ("signet_db_pool_connections", "gauge"),
                  ("signet_requests", "counter")]:
    check(name in fams and fams[name].type == typ, "family %s of type %s" % (name, typ))
if bad:
    sys.exit(1)

def series(fam):
    """labels (without le) -> {'buckets': [(le, v)], 'count': v, 'sum': v}"""
    out = {}
    for s in fams[fam].samples:
        lab = dict(s.labels)
        le = lab.pop("le", None)
        key = tuple(sorted(lab.items()))
        d = out.setdefault(key, {"buckets": []})
        if s.name.endswith("_bucket"):
            d["buckets"].append((float(le), s.value))
        elif s.name.endswith("_count"):
            d["count"] = s.value
        elif s.name.endswith("_sum"):
            d["sum"] = s.value
    return out

for fam in ("signet_http_request_duration_seconds", "signet_sign_duration_seconds",
            "signet_audit_commit_duration_seconds"):
    for key, d in series(fam).items():
        b = sorted(d["buckets"])
        check(b and math.isinf(b[-1][0]), "%s %s: a +Inf bucket" % (fam, key))
        check(all(b[i][1] <= b[i + 1][1] for i in range(len(b) - 1)),
              "%s %s: buckets cumulative" % (fam, key))
        check(b and b[-1][1] == d.get("count"), "%s %s: +Inf == _count" % (fam, key))
        check(d.get("sum", -1) >= 0, "%s %s: _sum present" % (fam, key))

req = series("signet_http_request_duration_seconds")
def count(route, method, status):
    return req.get((("method", method), ("route", route), ("status", str(status))), {}).get("count", 0)

check(count("/v1/keys/{id}/sign", "POST", 200) == 4, "sign 200 count %s, want 4" % count("/v1/keys/{id}/sign", "POST", 200))
check(count("/v1/keys/{id}/sign", "POST", 400) == 1, "sign 400 count")
check(count("/v1/me", "GET", 200) == 2, "me 200 count")
check(count("/v1/me", "GET", 401) == 1, "me 401 count")
check(count("unmatched", "-", 404) == 2, "unmatched 404 count %s, want 2" % count("unmatched", "-", 404))
check(count("/v1/keys", "POST", 201) == 2, "key create 201 count")
check(count("/healthz", "GET", 200) >= 1, "healthz count")
routes = {dict(k)["route"] for k in req}
check(all(r.startswith("/") or r in ("unmatched", "overflow") for r in routes), "route labels are patterns: %s" % routes)
# every request answered before this scrape is in the histograms; the
# scrape itself is counted in signet_requests_total but not yet observed
total = sum(d["count"] for d in req.values())
reqs = [s.value for s in fams["signet_requests"].samples if s.name == "signet_requests_total"][0]
check(total == reqs - 1, "histogram counts %s vs signet_requests_total %s - 1" % (total, reqs))

sign = series("signet_sign_duration_seconds")
alg = {dict(k)["algorithm"]: d["count"] for k, d in sign.items()}
check(alg.get("ecdsa-p256") == 3, "ecdsa-p256 signing count %s, want 3" % alg.get("ecdsa-p256"))
check(alg.get("rsa-2048") == 1, "rsa-2048 signing count %s, want 1 (one batch)" % alg.get("rsa-2048"))
commit = series("signet_audit_commit_duration_seconds")
check(list(commit.values())[0]["count"] == 4, "audit commits %s, want 4" % list(commit.values())[0]["count"])

g = lambda n: fams[n].samples[0].value
check(g("signet_keeper_queue_depth") == 0, "keeper queue depth at rest")
check(g("signet_db_pool_connections") == 16, "pool size %s" % g("signet_db_pool_connections"))
check(0 <= g("signet_db_pool_connections_in_use") <= 16, "pool in use")
sys.exit(1 if bad else 0)
EOF
# the keeper queue depth moves: a stopped keeper holds the calls
KP=$(e2e_keeper_pid) || fail "no keeper"
kill -STOP "$KP"
for i in 1 2 3; do
	curl -s --max-time 60 --cacert "$SIGNET_CA_FILE" -H "Authorization: Bearer $A" -H 'Content-Type: application/json' \
	    --data-binary "{\"mechanism\":\"ecdsa\",\"digest_algorithm\":\"sha256\",\"digest\":\"$(rand_b64 32)\"}" \
	    -o /dev/null "$SIGNET_URL/v1/keys/$KEC/sign" &
	E2E_BG_PIDS="${E2E_BG_PIDS:-} $!"
done
depth=0
for ((i = 0; i < 100; i++)); do
	depth=$(curl -s --max-time 10 --cacert "$SIGNET_CA_FILE" -H "Authorization: Bearer $MT" "$SIGNET_URL/metrics" |
	    sed -n 's/^signet_keeper_queue_depth //p')
	[[ $depth == 3 ]] && break
	sleep 0.1
done
kill -CONT "$KP"
expect_eq "$depth" 3 "signet_keeper_queue_depth with three signatures held by a stopped keeper"
# shellcheck disable=SC2086
wait $E2E_BG_PIDS
E2E_BG_PIDS=
e2e_stop_server
e2e_done
