# fake_server.py - a scripted HTTPS server for the e2e scripts that need a
# server which lies or misbehaves in ways signetd never does (cli_hostile_server.sh,
# pkcs11_hostile_server.sh).
#
# Usage: python3 fake_server.py DIR CERT KEY
# Answers every request from DIR/routes.json, a map of path (with query,
# else without) to [status, json body]; logs "METHOD PATH" lines to
# DIR/requests.log and writes the chosen port to DIR/port.
import http.server, json, ssl, sys

d = sys.argv[1]
routes = json.load(open(d + "/routes.json"))


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def route(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        with open(d + "/requests.log", "a") as f:
            f.write("%s %s\n" % (self.command, self.path))
        st, body = routes.get(self.path) or routes.get(self.path.split("?")[0]) or \
            [404, {"error": {"code": "not_found", "message": "no route"}}]
        b = json.dumps(body).encode()
        self.send_response(st)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)

    do_GET = do_POST = do_DELETE = do_PUT = route


s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[2], sys.argv[3])
s.socket = ctx.wrap_socket(s.socket, server_side=True)
open(d + "/port", "w").write(str(s.server_address[1]))
s.serve_forever()
