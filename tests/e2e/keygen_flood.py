#!/usr/bin/env python3
# keygen_flood.py - one tenant floods key creation while another signs
# (used by tenant_keygen_flood.sh and bench/keygen_flood.sh).
#
#   keygen_flood.py PORT CAFILE SIGNER_KEY KEY_ID FLOOD_KEY PROJECT \
#                   FLOODERS SECONDS FLOOD_SRC
#
# FLOODERS threads (0 = no flood) create rsa-4096 keys in PROJECT with
# FLOOD_KEY from source address FLOOD_SRC, while one thread signs with
# SIGNER_KEY on KEY_ID from 127.0.0.1, one request after another, for
# SECONDS. Prints "sign STATUS COUNT" lines, "create STATUS COUNT" lines and
# "latency_ms p50 P p99 P max M n N" for the signatures. Loopback only.
import http.client
import json
import os
import ssl
import sys
import threading
import time

port, cafile, skey, kid, fkey, project = sys.argv[1:7]
nflood, secs, fsrc = int(sys.argv[7]), float(sys.argv[8]), sys.argv[9]
port = int(port)
ctx = ssl.create_default_context(cafile=cafile)
stop = time.monotonic() + secs
lock = threading.Lock()
sign_codes, create_codes, lat = {}, {}, []


def conn(src):
    return http.client.HTTPSConnection("127.0.0.1", port, context=ctx,
                                       timeout=120, source_address=(src, 0))


def count(d, k):
    with lock:
        d[k] = d.get(k, 0) + 1


def flooder(n):
    c, i = None, 0
    while time.monotonic() < stop:
        body = json.dumps({"project": project, "name": "flood-%d-%d-%d" %
                           (os.getpid(), n, i), "algorithm": "rsa-4096",
                           "ca": "none"})
        i += 1
        try:
            if c is None:
                c = conn(fsrc)
            c.request("POST", "/v1/keys", body, {
                "Authorization": "Bearer " + fkey,
                "Content-Type": "application/json"})
            r = c.getresponse()
            r.read()
            count(create_codes, r.status)
        except Exception:
            count(create_codes, "error")
            c = None
            time.sleep(0.1)


def signer():
    body = json.dumps({"mechanism": "ecdsa", "digest_algorithm": "sha256",
                       "digest": "A" * 43 + "="})
    c = None
    while time.monotonic() < stop:
        t0 = time.monotonic()
        try:
            if c is None:
                c = conn("127.0.0.1")
            c.request("POST", "/v1/keys/%s/sign" % kid, body, {
                "Authorization": "Bearer " + skey,
                "Content-Type": "application/json"})
            r = c.getresponse()
            r.read()
            code = r.status
        except Exception:
            code = "error"
            c = None
        dt = (time.monotonic() - t0) * 1000
        count(sign_codes, code)
        if code == 200:
            with lock:
                lat.append(dt)


ts = [threading.Thread(target=flooder, args=(n,), daemon=True)
      for n in range(nflood)]
for t in ts:
    t.start()
if nflood:
    time.sleep(min(3.0, secs / 4))  # the flood is under way first
s = threading.Thread(target=signer)
s.start()
s.join()
for t in ts:
    t.join(timeout=150)
for k, v in sorted(sign_codes.items(), key=str):
    print("sign %s %d" % (k, v))
for k, v in sorted(create_codes.items(), key=str):
    print("create %s %d" % (k, v))
lat.sort()
if lat:
    def pct(p):
        return lat[min(len(lat) - 1, int(len(lat) * p))]
    print("latency_ms p50 %.1f p99 %.1f max %.1f n %d" %
          (pct(0.50), pct(0.99), lat[-1], len(lat)))
