#!/usr/bin/env python3
"""oidc_issuer.py - a test OIDC issuer for Signet's federation tests.

Loopback only. Subcommands:
  setup DIR          test CA, a TLS certificate for 127.0.0.1 signed by it,
                     and signing keys (rsa-1, rsa-2, ec-1, ec384-1, and
                     "other": another issuer's key that reuses the kid rsa-1)
  serve DIR PORTFILE [PORT]
                     HTTPS on 127.0.0.1 (PORT or a free one, written to
                     PORTFILE). Every path prefix NAME is its own issuer
                     https://127.0.0.1:PORT/NAME with
                       /NAME/.well-known/openid-configuration
                       /NAME/jwks   keys listed in DIR/published.NAME (kids,
                                    one a line; default rsa-1 ec-1 ec384-1),
                                    Cache-Control max-age=300
                     Issuers named "slow" answer their JWKS after 30 s,
                     "huge" send 4 MiB of JWKS. Each JWKS request is
                     appended to DIR/jwks.NAME.log.
                     /gha/token?audience=AUD with "Authorization: bearer
                     <DIR/gha.secret>" answers {"value": ID token} like
                     GitHub Actions' token service (claims: DIR/gha.json).
  mint DIR --iss ISS --aud AUD [--key KID] [--alg ALG] [--kid KID]
       [--iat-offset S] [--exp-offset S] [--no-iat] [--claim K=V]...
                     prints an ID token (sub defaults to "repo:test").
"""
import base64
import datetime
import hashlib
import hmac
import json
import os
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

KEYS = {"rsa-1": "rsa", "rsa-2": "rsa", "ec-1": "p256", "ec384-1": "p384",
        "other": "rsa"}


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def write_pem(path, key):
    with open(path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))


def load_key(d, kid):
    with open(os.path.join(d, "key-%s.pem" % kid), "rb") as f:
        return serialization.load_pem_private_key(f.read(), None)


def setup(d):
    os.makedirs(d, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test OIDC CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True,
                                       True, False, False), True)
          .sign(ca_key, hashes.SHA256()))
    tls_key = ec.generate_private_key(ec.SECP256R1())
    import ipaddress
    tls = (x509.CertificateBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
           .issuer_name(ca_name).public_key(tls_key.public_key())
           .serial_number(x509.random_serial_number())
           .not_valid_before(now - datetime.timedelta(minutes=5))
           .not_valid_after(now + datetime.timedelta(days=1))
           .add_extension(x509.SubjectAlternativeName([
               x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
               x509.DNSName("localhost")]), False)
           .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), False)
           .sign(ca_key, hashes.SHA256()))
    with open(os.path.join(d, "ca.pem"), "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    with open(os.path.join(d, "tls.pem"), "wb") as f:
        f.write(tls.public_bytes(serialization.Encoding.PEM))
    write_pem(os.path.join(d, "tls.key"), tls_key)
    for kid, kind in KEYS.items():
        if kind == "rsa":
            k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        elif kind == "p256":
            k = ec.generate_private_key(ec.SECP256R1())
        else:
            k = ec.generate_private_key(ec.SECP384R1())
        write_pem(os.path.join(d, "key-%s.pem" % kid), k)


def jwk(kid, key):
    pub = key.public_key()
    if isinstance(pub, rsa.RSAPublicKey):
        n = pub.public_numbers()
        return {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
                "n": b64u(n.n.to_bytes((n.n.bit_length() + 7) // 8, "big")),
                "e": b64u(n.e.to_bytes(3, "big"))}
    n = pub.public_numbers()
    size = 32 if isinstance(pub.curve, ec.SECP256R1) else 48
    return {"kty": "EC", "kid": kid, "use": "sig",
            "crv": "P-256" if size == 32 else "P-384",
            "x": b64u(n.x.to_bytes(size, "big")),
            "y": b64u(n.y.to_bytes(size, "big"))}


def sign(key, alg, data):
    if alg == "RS256":
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    if alg in ("ES256", "ES384"):
        size = 32 if alg == "ES256" else 48
        h = hashes.SHA256() if alg == "ES256" else hashes.SHA384()
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(h)))
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    raise ValueError(alg)


def mint(d, iss, aud, kid="rsa-1", alg=None, hdr_kid=None, iat_off=0,
         exp_off=300, no_iat=False, claims=None, sub="repo:test"):
    now = int(time.time())
    key_kid = kid
    if alg is None:
        alg = {"rsa": "RS256", "p256": "ES256", "p384": "ES384"}[KEYS[kid]]
    header = {"alg": alg, "typ": "JWT",
              "kid": hdr_kid if hdr_kid is not None else
              ("rsa-1" if kid == "other" else kid)}
    body = {"iss": iss, "aud": aud, "sub": sub, "exp": now + exp_off,
            "jti": b64u(os.urandom(12))}
    if not no_iat:
        body["iat"] = now + iat_off
    body.update(claims or {})
    si = (b64u(json.dumps(header).encode()) + "." +
          b64u(json.dumps(body).encode())).encode()
    if alg == "none":
        return si.decode() + "."
    key = load_key(d, key_kid)
    if alg == "HS256":
        # The classic confusion: the issuer's public key as an HMAC secret.
        secret = key.public_key().public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo)
        sig = hmac.new(secret, si, hashlib.sha256).digest()
    else:
        sig = sign(key, alg, si)
    return si.decode() + "." + b64u(sig)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send(self, code, body, ctype="application/json", extra=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        d = self.server.dir
        u = urlparse(self.path)
        parts = u.path.strip("/").split("/")
        base = "https://127.0.0.1:%d" % self.server.server_address[1]
        if parts[:2] == ["gha", "token"]:
            with open(os.path.join(d, "gha.secret")) as f:
                want = f.read().strip()
            if self.headers.get("Authorization", "") != "bearer " + want:
                return self.send(401, b'{"message":"bad token"}')
            aud = parse_qs(u.query).get("audience", [""])[0]
            with open(os.path.join(d, "gha.json")) as f:
                spec = json.load(f)
            tok = mint(d, spec["iss"], aud, claims=spec.get("claims"),
                       sub=spec.get("sub", "repo:test"))
            return self.send(200, json.dumps({"value": tok}).encode())
        if len(parts) < 2:
            return self.send(404, b"{}")
        name, rest = parts[0], "/".join(parts[1:])
        iss = base + "/" + name
        if rest == ".well-known/openid-configuration":
            doc = {"issuer": iss, "jwks_uri": iss + "/jwks",
                   "id_token_signing_alg_values_supported": ["RS256", "ES256", "ES384"]}
            return self.send(200, json.dumps(doc).encode())
        if rest == "jwks":
            with open(os.path.join(d, "jwks.%s.log" % name), "a") as f:
                f.write("%d\n" % int(time.time()))
            if name == "slow":
                time.sleep(30)
            if name == "huge":
                blob = b'{"keys":[' + b'{"kty":"oct","k":"' + b"A" * (4 << 20) + b'"}]}'
                return self.send(200, blob)
            pub = os.path.join(d, "published." + name)
            kids = ["rsa-1", "ec-1", "ec384-1"]
            if os.path.exists(pub):
                with open(pub) as f:
                    kids = [k.strip() for k in f if k.strip()]
            keys = [jwk(k if k != "other" else "rsa-1", load_key(d, k)) for k in kids]
            return self.send(200, json.dumps({"keys": keys}).encode(),
                             extra={"Cache-Control": "public, max-age=300"})
        return self.send(404, b"{}")


def serve(d, portfile, port=0):
    srv = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    srv.daemon_threads = True
    srv.dir = d
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(d, "tls.pem"), os.path.join(d, "tls.key"))
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(portfile + ".tmp", portfile)
    srv.serve_forever()


def main(argv):
    if len(argv) >= 2 and argv[0] == "setup":
        return setup(argv[1])
    if len(argv) >= 3 and argv[0] == "serve":
        return serve(argv[1], argv[2], int(argv[3]) if len(argv) > 3 else 0)
    if len(argv) >= 2 and argv[0] == "mint":
        d, a = argv[1], argv[2:]
        opts = {"claims": {}}
        i = 0
        while i < len(a):
            k = a[i]
            if k == "--no-iat":
                opts["no_iat"] = True
                i += 1
                continue
            v = a[i + 1]
            i += 2
            if k == "--iss": opts["iss"] = v
            elif k == "--aud": opts["aud"] = v
            elif k == "--key": opts["kid"] = v
            elif k == "--alg": opts["alg"] = v
            elif k == "--kid": opts["hdr_kid"] = v
            elif k == "--sub": opts["sub"] = v
            elif k == "--iat-offset": opts["iat_off"] = int(v)
            elif k == "--exp-offset": opts["exp_off"] = int(v)
            elif k == "--claim":
                ck, cv = v.split("=", 1)
                opts["claims"][ck] = cv
            else:
                raise SystemExit("unknown option " + k)
        print(mint(d, **opts))
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]) or 0)
