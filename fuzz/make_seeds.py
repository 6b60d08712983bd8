#!/usr/bin/env python3
"""make_seeds.py - the fixed keys and the well-formed seeds of the fuzzers.

Run from anywhere: python3 fuzz/make_seeds.py. Writes

  fuzz/keys/*.pem     test keys (generated once, kept: the seeds are signed
                      with them). keeper_*.pem answer for the keeper double
                      (fuzz/keeper_double.c), sa_*.pem are the service
                      accounts' keys of the fuzz world (fuzz/fuzz_world.c),
                      ext_ca.pem + ext1.chain the external CA of key ext1.
                      Test material only: nothing trusts these keys.
  fuzz/seeds/jwt/     signed JWTs (fuzz_jwt): every allowed alg, and each
                      way a JWT must be refused, one file each.
  fuzz/seeds/http/    one request per row of tests/e2e/authz_matrix.tsv and
                      per actor of the matrix, plus token requests, forms,
                      queries and malformed headers (fuzz_http).

The JWTs are dated at the fuzzers' fixed clock (FUZZ_NOW in fuzz_clock.c),
so the seeds stay valid. Needs python3-cryptography (scripts/deps.sh).
"""
import base64
import datetime
import hashlib
import json
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

FUZZ = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(FUZZ)
KEYS = os.path.join(FUZZ, "keys")
FUZZ_NOW = 1780000000           # keep equal to fuzz/fuzz_clock.c
AUD = "https://127.0.0.1:8443/v1/oauth/token"

KEYSPEC = {
    "keeper_rsa2048": ("rsa", 2048), "keeper_rsa3072": ("rsa", 3072),
    "keeper_rsa4096": ("rsa", 4096), "keeper_p256": ("ec", ec.SECP256R1()),
    "keeper_p384": ("ec", ec.SECP384R1()), "keeper_ed25519": ("ed", None),
    "sa_p256": ("ec", ec.SECP256R1()), "sa_p384": ("ec", ec.SECP384R1()),
    "sa_rsa": ("rsa", 2048), "sa_other": ("ec", ec.SECP256R1()),
    "sa_fresh": ("ec", ec.SECP256R1()),
    "ext_ca": ("ec", ec.SECP256R1()),
}


def key(name):
    path = os.path.join(KEYS, name + ".pem")
    if not os.path.exists(path):
        kind, arg = KEYSPEC[name]
        if kind == "rsa":
            k = rsa.generate_private_key(65537, arg)
        elif kind == "ec":
            k = ec.generate_private_key(arg)
        else:
            k = ed25519.Ed25519PrivateKey.generate()
        with open(path, "wb") as f:
            f.write(k.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), None)


def pub_pem(k):
    return k.public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jws(k, alg, header, claims):
    """Compact JWS of header and claims (dicts or raw bytes)."""
    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    c = claims if isinstance(claims, bytes) else json.dumps(claims).encode()
    si = (b64u(h) + "." + b64u(c)).encode()
    if alg in ("ES256", "ES384"):
        md, n = (hashes.SHA256(), 32) if alg == "ES256" else (hashes.SHA384(), 48)
        r, s = decode_dss_signature(k.sign(si, ec.ECDSA(md)))
        sig = r.to_bytes(n, "big") + s.to_bytes(n, "big")
    elif alg == "RS256":
        sig = k.sign(si, padding.PKCS1v15(), hashes.SHA256())
    elif alg == "PS256":
        sig = k.sign(si, padding.PSS(padding.MGF1(hashes.SHA256()), 32),
                     hashes.SHA256())
    else:
        sig = b"x"
    return si.decode() + "." + b64u(sig)


def claims(iss, **kw):
    c = {"iss": iss, "sub": iss, "aud": AUD, "iat": FUZZ_NOW,
         "exp": FUZZ_NOW + 240, "jti": "j-" + iss}
    c.update(kw)
    return {k: v for k, v in c.items() if v is not None}


def ext_chain():
    """Root CA (ext_ca) and a leaf for the keeper double's P-256 key: the
    chain PUT /v1/keys/{extkey}/certificate accepts for key ext1."""
    ca, leaf_key = key("ext_ca"), key("keeper_p256")
    t0 = datetime.datetime.fromtimestamp(FUZZ_NOW - 86400, datetime.timezone.utc)
    t1 = t0 + datetime.timedelta(days=3650)
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Fuzz External CA")])
    root = (x509.CertificateBuilder().subject_name(root_name).issuer_name(root_name)
            .public_key(ca.public_key()).serial_number(1)
            .not_valid_before(t0).not_valid_after(t1)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True,
                                         True, False, False), True)
            .sign(ca, hashes.SHA256()))
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ext1")]))
            .issuer_name(root_name).public_key(leaf_key.public_key())
            .serial_number(2).not_valid_before(t0).not_valid_after(t1)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), False)
            .sign(ca, hashes.SHA256()))
    pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (leaf, root))
    with open(os.path.join(KEYS, "ext1.chain"), "wb") as f:
        f.write(pem)
    return pem.decode()


def write(dirname, name, data):
    d = os.path.join(FUZZ, "seeds", dirname)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def jwt_seeds():
    """fuzz_jwt input: byte 0 picks the verifying key (0 sa_p256, 1 sa_p384,
    2 sa_rsa, 3 sa_other; 0x80 | key also sends it to POST /v1/oauth/token
    twice), then the JWT."""
    p256, p384, rsak, other = key("sa_p256"), key("sa_p384"), key("sa_rsa"), key("sa_other")
    hdr = lambda alg, **kw: dict({"alg": alg, "typ": "JWT"}, **kw)
    good = {
        "es256": (0, jws(p256, "ES256", hdr("ES256"), claims("sa-p256"))),
        "es384": (1, jws(p384, "ES384", hdr("ES384"), claims("sa-p384"))),
        "rs256": (2, jws(rsak, "RS256", hdr("RS256"), claims("robot"))),
        "ps256": (2, jws(rsak, "PS256", hdr("PS256"), claims("robot", jti="j-ps"))),
        "aud_array": (0, jws(p256, "ES256", hdr("ES256"),
                             claims("sa-p256", aud=["x", AUD], jti="j-arr"))),
        "nbf": (0, jws(p256, "ES256", {"alg": "ES256"},
                       claims("sa-p256", nbf=FUZZ_NOW - 5, jti="j-nbf"))),
    }
    bad = {
        "expired": (0, jws(p256, "ES256", hdr("ES256"),
                           claims("sa-p256", iat=FUZZ_NOW - 900, exp=FUZZ_NOW - 600))),
        "too_long": (0, jws(p256, "ES256", hdr("ES256"),
                            claims("sa-p256", exp=FUZZ_NOW + 900))),
        "future_iat": (0, jws(p256, "ES256", hdr("ES256"),
                              claims("sa-p256", iat=FUZZ_NOW + 200))),
        "nbf_future": (0, jws(p256, "ES256", hdr("ES256"),
                              claims("sa-p256", nbf=FUZZ_NOW + 200))),
        "wrong_aud": (0, jws(p256, "ES256", hdr("ES256"),
                             claims("sa-p256", aud="https://evil.test/t"))),
        "iss_ne_sub": (0, jws(p256, "ES256", hdr("ES256"),
                              claims("sa-p256", sub="robot"))),
        "wrong_key": (3, jws(p256, "ES256", hdr("ES256"), claims("sa-p256"))),
        "alg_mismatch": (2, jws(p256, "ES256", hdr("ES256"), claims("sa-p256"))),
        "alg_none": (0, jws(None, "none", {"alg": "none"}, claims("sa-p256"))),
        "alg_hs256": (2, jws(None, "HS256", {"alg": "HS256"}, claims("robot"))),
        "crit": (0, jws(p256, "ES256", hdr("ES256", crit=["exp"]), claims("sa-p256"))),
        "typ": (0, jws(p256, "ES256", hdr("ES256", typ="at+jwt"), claims("sa-p256"))),
        "no_jti": (0, jws(p256, "ES256", hdr("ES256"), claims("sa-p256", jti=None))),
        "exp_string": (0, jws(p256, "ES256", hdr("ES256"), claims("sa-p256", exp="1"))),
        "dup_member": (0, jws(p256, "ES256", b'{"alg":"ES256","alg":"ES256"}',
                              claims("sa-p256"))),
        "not_object": (0, jws(p256, "ES256", hdr("ES256"), b"[1,2]")),
        "id_token": (2, jws(rsak, "RS256", hdr("RS256", kid="k1"),
                            {"iss": "https://ci.test", "sub": "repo:org/app",
                             "aud": "signet", "iat": FUZZ_NOW - 10,
                             "exp": FUZZ_NOW + 300})),
    }
    for name, (sel, tok) in good.items():
        write("jwt", name, bytes([0x80 | sel]) + tok.encode())
    for name, (sel, tok) in bad.items():
        write("jwt", name, bytes([sel]) + tok.encode())
    t = good["es256"][1]
    write("jwt", "bad_sig", bytes([0]) + (t[:-4] + ("AAAA" if t[-4:] != "AAAA" else "BBBB")).encode())
    write("jwt", "short_sig", bytes([0]) + t[: t.rindex(".") + 5].encode())
    write("jwt", "two_parts", bytes([0]) + t[: t.rindex(".")].encode())
    write("jwt", "four_parts", bytes([0]) + (t + ".x").encode())
    return good


ACTORS = ["admin", "powner", "towner", "tmember", "plain", "beta", "none",
          "revoked", "expired", "disabled", "sa"]


def request(method, path, actor, body=None, ctype="application/json", extra=()):
    lines = [method + " " + path]
    if actor != "none":
        lines.append("Authorization: Bearer {cred:%s}" % actor)
    if body is not None and ctype:
        lines.append("Content-Type: " + ctype)
    lines.extend(extra)
    return "\n".join(lines) + "\n\n" + (body or "")


def http_seeds(good_jwts, chain_pem):
    tsv = os.path.join(TOP, "tests", "e2e", "authz_matrix.tsv")
    fills = {"{pub}": json.dumps(pub_pem(key("sa_fresh"))),
             "{chain}": json.dumps(chain_pem)}
    n = 0
    with open(tsv) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            method, path, body = line.rstrip("\n").split("\t")[:3]
            body = None if body == "-" else body
            for k, v in fills.items():
                if body is not None:
                    body = body.replace(k, v)
            slug = "".join(ch if ch.isalnum() else "_" for ch in
                           (method + path).replace("{", "").replace("}", ""))
            n += 1
            for actor in ACTORS:
                extra = "extra-%s@acme.test" % actor
                b = None if body is None else \
                    body.replace("{actor}", actor).replace("{extra}", extra)
                p = path.replace("{actor}", actor).replace("{extra}", extra)
                write("http", "m%03d_%s_%s" % (n, slug[:40], actor),
                      request(method, p, actor, b))
    # token endpoint: JSON and form bodies, each good JWT, replays, garbage
    for name, (sel, tok) in good_jwts.items():
        form = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" + tok
        write("http", "oauth_form_" + name, request("POST", "/v1/oauth/token", "none",
              form, "application/x-www-form-urlencoded"))
        write("http", "oauth_json_" + name, request("POST", "/v1/oauth/token", "none",
              json.dumps({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                          "assertion": tok})))
    write("http", "form_bad_escape", request("POST", "/v1/oauth/token", "none",
          "grant_type=%zz&assertion=a", "application/x-www-form-urlencoded"))
    write("http", "form_dup", request("POST", "/v1/oauth/token", "none",
          "a=1&a=2", "application/x-www-form-urlencoded; charset=utf-8"))
    write("http", "form_many_fields", request("POST", "/v1/oauth/token", "none",
          "&".join("f%d=1" % i for i in range(65)),
          "application/x-www-form-urlencoded"))
    write("http", "form_name_not_utf8", request("POST", "/v1/oauth/token", "none",
          b"gr\x90nt_type=x&assertion=a".decode("latin-1"),
          "application/x-www-form-urlencoded").encode("latin-1"))
    write("http", "queries", request("GET", "/v1/audit?since=2026-01-01T00:00:00Z&limit=5&after=3&key={key}", "admin"))
    write("http", "query_escapes", request("GET", "/v1/keys?project=%7Bproject%7D&expiring=1d", "admin"))
    write("http", "raw_auth", "GET /v1/me\nAuthorization: Basic Zm9vOmJhcg==\n\n")
    write("http", "cookie", "GET /\nCookie: {cookie}\n\n")
    write("http", "wrong_ctype", request("POST", "/v1/projects", "admin",
          '{"name":"x"}', "text/plain"))
    write("http", "sign_rsa", request("POST", "/v1/keys/{key_rsa}/sign", "sa",
          json.dumps({"mechanism": "rsa-pss", "digest_algorithm": "sha256",
                      "digest": "{digest}"})))
    write("http", "crl_issuing", request("GET", "/v1/ca/{ca2}/crl", "none"))


def dict_entry(tok):
    out = ""
    for ch in tok:
        if ch in '"\\' or not 32 <= ord(ch) < 127:
            out += "\\x%02x" % ord(ch)
        else:
            out += ch
    return '"%s"' % out


def http_dict():
    """fuzz/http.dict: methods, every route of the matrix (placeholders
    kept), its segments, headers, content types, query names, and the
    world's placeholders."""
    toks = ["GET ", "POST ", "PUT ", "DELETE ", "PATCH ", "HEAD ",
            "Authorization: Bearer ", "Authorization: ", "Content-Type: ",
            "Cookie: ", "X-CSRF-Token: {csrf}", "Origin: ", "\n\n",
            "application/json", "application/x-www-form-urlencoded",
            "application/timestamp-query", "application/ocsp-request",
            "; charset=utf-8", "since=", "after=", "limit=", "key=", "user=",
            "project=", "expiring=", "cursor=", "seq=", "size=", "from=",
            "to=", "&", "%00", "%2F", "+",
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer",
            "urn:ietf:params:oauth:grant-type:token-exchange", "assertion=",
            "subject_token", "2026-05-28T20:26:40Z", "{cookie}", "{digest}"]
    for a in ACTORS:
        toks.append("{cred:%s}" % a)
    for p in ("team", "project", "key", "key2", "key_rsa", "extkey", "new_key",
              "sa", "sa_p384", "new_sa", "robot", "new_apikey", "new_fed", "ca",
              "ca2", "plain_id", "victim_id", "disabled_id", "team_name",
              "project_name", "plain_email"):
        toks.append("{%s}" % p)
    tsv = os.path.join(TOP, "tests", "e2e", "authz_matrix.tsv")
    with open(tsv) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            path = line.split("\t")[1].split("?")[0]
            toks.append(path)
            toks.extend("/" + seg for seg in path.split("/") if seg and "{" not in seg)
    for k in ("mechanism", "digest_algorithm", "digest", "digests", "chain",
              "public_key", "algorithm", "subject", "ca", "name", "team",
              "owner", "user", "service_account", "issuer", "audience",
              "claims", "description", "expires_in", "role", "email",
              "allow_sha1", "reason", "api_key"):
        toks.append('"%s":' % k)
    for v in ("ecdsa", "rsa-pkcs1", "rsa-pss", "sha1", "sha256", "sha384",
              "sha512", "ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-3072",
              "rsa-4096", "builtin", "external", "none", "admin"):
        toks.append('"%s"' % v)
    seen, out = set(), []
    for t in toks:
        if t not in seen:
            seen.add(t)
            out.append(dict_entry(t))
    with open(os.path.join(FUZZ, "http.dict"), "w") as f:
        f.write("# fuzz/http.dict - written by make_seeds.py: routes, headers,\n"
                "# query names and placeholders of fuzz_http (libFuzzer -dict=).\n")
        f.write("\n".join(out) + "\n")


def main():
    for name in KEYSPEC:
        key(name)
    for name in ("sa_p256", "sa_p384", "sa_rsa", "sa_other"):
        with open(os.path.join(KEYS, name + ".pub"), "w") as f:
            f.write(pub_pem(key(name)))
    chain = ext_chain()
    good = jwt_seeds()
    http_seeds(good, chain)
    http_dict()


if __name__ == "__main__":
    sys.exit(main())
