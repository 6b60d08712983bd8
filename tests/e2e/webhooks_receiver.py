#!/usr/bin/env python3
"""webhooks_receiver.py - an HTTPS webhook receiver for tests/e2e/webhooks.sh.

usage: webhooks_receiver.py DIR NAME MODE
  serves https://127.0.0.1:PORT/ with DIR/cert.pem + DIR/key.pem, writes
  PORT to DIR/NAME.port, reads the HMAC secret from DIR/NAME.secret at each
  request, and appends one JSON line per request to DIR/NAME.log:
  {"n","event","event_id","delivery","sig_ok","status","body"}.
  MODE: "ok" (204), "fail:N" (500 for the first N requests, then 200),
  "hang" (sleeps 15 s before answering), "slow" (0.3 s, then 204).
"""
import hashlib
import hmac
import http.server
import json
import os
import ssl
import sys
import threading
import time

DIR, NAME, MODE = sys.argv[1], sys.argv[2], sys.argv[3]
lock = threading.Lock()
count = [0]


class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        try:
            with open(os.path.join(DIR, NAME + ".secret"), "rb") as f:
                secret = f.read().strip()
        except OSError:
            secret = b""
        sig = self.headers.get("X-Signet-Signature", "")
        want = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        ok = bool(secret) and hmac.compare_digest(sig, want)
        with lock:
            count[0] += 1
            k = count[0]
        status = 204
        if MODE.startswith("fail:") and k <= int(MODE[5:]):
            status = 500
        if MODE == "hang":
            time.sleep(15)
        if MODE == "slow":
            time.sleep(0.3)
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        rec = {"n": k, "event": self.headers.get("X-Signet-Event"),
               "event_id": self.headers.get("X-Signet-Event-Id"),
               "delivery": self.headers.get("X-Signet-Delivery"),
               "sig_ok": ok, "status": status, "body": parsed}
        with lock, open(os.path.join(DIR, NAME + ".log"), "a") as f:
            f.write(json.dumps(rec) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(os.path.join(DIR, "cert.pem"), os.path.join(DIR, "key.pem"))
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(os.path.join(DIR, NAME + ".port.tmp"), "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(os.path.join(DIR, NAME + ".port.tmp"), os.path.join(DIR, NAME + ".port"))
srv.serve_forever()
