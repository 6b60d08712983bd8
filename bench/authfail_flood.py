#!/usr/bin/env python3
# authfail_flood.py PORT CAFILE ADDRS SECONDS [RATE] - bad credentials from
# ADDRS source addresses (127.0.0.2, ...), one kept-alive connection each,
# for SECONDS: RATE requests a second per address (10 = the default
# auth_failure_limit of 600 a minute: every one a 401), 0 = as fast as they
# go (401 up to the limit, then 429). Prints the statuses seen. Loopback only.
import http.client
import os
import ssl
import sys
import threading
import time

port, cafile, naddr, secs = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
rate = float(sys.argv[5]) if len(sys.argv) > 5 else 0
ctx = ssl.create_default_context(cafile=cafile)
stop = time.monotonic() + secs
codes, lock = {}, threading.Lock()


def flood(i):
    c = None
    nxt = time.monotonic()
    while time.monotonic() < stop:
        if rate > 0:
            nxt += 1.0 / rate
            time.sleep(max(0.0, nxt - time.monotonic()))
        tok = "snk_%s_%s" % (os.urandom(8).hex(), "A" * 43)
        try:
            if c is None:
                c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10,
                                                source_address=("127.0.0.%d" % (2 + i), 0))
            c.request("GET", "/v1/me", headers={"Authorization": "Bearer " + tok})
            r = c.getresponse()
            r.read()
            k = r.status
        except Exception:
            k, c = "error", None
        with lock:
            codes[k] = codes.get(k, 0) + 1


ts = [threading.Thread(target=flood, args=(i,)) for i in range(naddr)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print("flood " + " ".join("%s:%d" % (k, v) for k, v in sorted(codes.items(), key=str)))
