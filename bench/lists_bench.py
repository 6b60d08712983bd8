#!/usr/bin/env python3
"""lists_bench.py - costs as the data grows (issue 18), before and after.

For each build given (e.g. main's and this branch's), a fresh real signetd
(`signetd init`, SoftHSM2, SQLite) per scenario, the rows seeded straight
into its database in one transaction (the audit rows do not form a valid
chain: nothing here verifies it), then timed over one kept-alive HTTPS
connection (the median of R requests, ms):

  keys N      N signing keys in the tenant (100 per project, the caller a
              signer of each; one of them real, in the HSM):
              POST /v1/keys/{id}/sign (ECDSA P-256) and GET /v1/me/keys
  audit N     N audit events (on 1000 keys): GET /v1/audit?key=<a key with
              20 events>
  lists N     N projects (one owner each), N teams (one member each), N
              users: GET /v1/projects, /v1/teams, /v1/users, /v1/keys

Lists are read as a client sees them by default: one request (the whole
list before paging, the first page of 100 after).

  bench/lists_bench.py LABEL=BUILD_DIR [LABEL=BUILD_DIR ...] [--quick]
"""
import http.client
import json
import os
import random
import shutil
import sqlite3
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import base64


def log(*a):
    print(*a, file=sys.stderr, flush=True)


class Server:
    def __init__(self, build, work):
        self.build = build
        self.d = os.path.join(work, "d")
        self.signetd = os.path.join(build, "src/server/signetd")
        out = subprocess.run([self.signetd, "init", "--data-dir", self.d,
                              "--tenant", "bench", "--admin",
                              "bench@example.test"], check=True,
                             capture_output=True, text=True).stdout
        self.key = out.strip().splitlines()[-1]
        self.proc = None
        self.conn = None

    def start(self):
        port_file = os.path.join(self.d, "port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        self.proc = subprocess.Popen(
            [self.signetd, "serve", "--data-dir", self.d, "--listen",
             "127.0.0.1:0", "--port-file", port_file],
            stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(self.d, "server.log"), "ab"))
        for _ in range(300):
            if os.path.exists(port_file) and os.path.getsize(port_file) > 0:
                break
            time.sleep(0.1)
        self.port = int(open(port_file).read().strip())
        ctx = ssl.create_default_context(
            cafile=os.path.join(self.d, "server-ca.pem"))
        ctx.check_hostname = False
        self.conn = http.client.HTTPSConnection("127.0.0.1", self.port,
                                                context=ctx, timeout=600)

    def stop(self):
        if self.conn:
            self.conn.close()
            self.conn = None
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=60)
            self.proc = None

    def call(self, method, path, body=None, want=(200, 201), parse=True):
        hdr = {"Authorization": "Bearer " + self.key}
        data = None
        if body is not None:
            data = json.dumps(body)
            hdr["Content-Type"] = "application/json"
        self.conn.request(method, path, body=data, headers=hdr)
        r = self.conn.getresponse()
        raw = r.read()
        if r.status not in want:
            raise RuntimeError("%s %s: %d %s" % (method, path, r.status,
                                                 raw[:300]))
        return json.loads(raw) if raw and parse else None

    def timed(self, method, path, body, reps):
        # The first call warms the caches; one that takes over a second
        # (a whole list before paging, at 10^5) is the only sample taken.
        t0 = time.perf_counter()
        self.call(method, path, body, parse=False)
        first = (time.perf_counter() - t0) * 1000
        if first > 1000:
            return first
        t = []
        for _ in range(reps):
            t0 = time.perf_counter()
            self.call(method, path, body, parse=False)
            t.append((time.perf_counter() - t0) * 1000)
        return statistics.median(t)

    def tlog_caught_up(self, timeout=3600):
        """Waits until the transparency log's background catch-up has
        taken every event in (it competes for the CPU and the write lock),
        so that it does not run during the timing. seed_audit marks the
        tree as holding the seeded events already, so this is short."""
        tenant, _ = self.ids()
        t0 = time.time()
        while time.time() - t0 < timeout:
            c = self.db()
            size = c.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM "
                             "audit_tree WHERE tenant_id = ? AND level = 0",
                             (tenant,)).fetchone()[0]
            last = c.execute("SELECT COALESCE(MAX(seq), 0) FROM "
                             "audit_events WHERE tenant_id = ?",
                             (tenant,)).fetchone()[0]
            c.close()
            if size >= last:
                return time.time() - t0
            time.sleep(1)
        raise RuntimeError("the transparency log did not catch up")

    def db(self):
        c = sqlite3.connect(os.path.join(self.d, "signet.db"), timeout=60)
        c.execute("PRAGMA journal_mode=WAL")
        return c

    def ids(self):
        c = self.db()
        tenant = c.execute("SELECT id FROM tenants WHERE name = 'bench'"
                           ).fetchone()[0]
        user = c.execute("SELECT id FROM users WHERE email = "
                         "'bench@example.test'").fetchone()[0]
        c.close()
        return tenant, user


def real_key(s):
    """A project with the admin as signer and one real ECDSA key."""
    s.call("POST", "/v1/projects", {"name": "real"})
    s.call("POST", "/v1/projects/real/signers", {"user": "bench@example.test"})
    k = s.call("POST", "/v1/keys", {"project": "real", "name": "k",
                                    "algorithm": "ecdsa-p256", "ca": "none"})
    return k["key"]["id"]


def sign_body():
    return {"mechanism": "ecdsa", "digest_algorithm": "sha256",
            "digest": base64.b64encode(os.urandom(32)).decode()}


def seed_keys(s, n):
    tenant, user = s.ids()
    c = s.db()
    now = int(time.time())
    with c:
        for i in range(n):
            p = "prj_bulk%06d" % (i // 100)
            if i % 100 == 0:
                c.execute("INSERT INTO projects (id, tenant_id, name, "
                          "created_at) VALUES (?, ?, ?, ?)",
                          (p, tenant, "bulk-%06d" % (i // 100), now))
                c.execute("INSERT INTO project_signers (project_id, "
                          "principal_type, principal_id, created_at) "
                          "VALUES (?, 'user', ?, ?)", (p, user, now))
            c.execute("INSERT INTO signing_keys (id, tenant_id, project_id, "
                      "name, algorithm, state, not_before, not_after, "
                      "ca_mode, hsm_key_id, created_at) VALUES (?, ?, ?, ?, "
                      "'ecdsa-p256', 'active', ?, ?, 'none', ?, ?)",
                      ("skey_bulk%08d" % i, tenant, p, "k%06d" % i, now - 60,
                       now + 86400 * 365, "%032x" % i, now))
    c.close()


def seed_audit(s, n):
    tenant, user = s.ids()
    c = s.db()
    seq = c.execute("SELECT COALESCE(MAX(seq), 0) FROM audit_events WHERE "
                    "tenant_id = ?", (tenant,)).fetchone()[0]
    now = int(time.time())
    rows = []
    with c:
        for i in range(n):
            seq += 1
            rows.append((seq, tenant, "evt_bulk%010d" % i, now, "user", user,
                         "key.sign", "key", "skey_bulk%08d" % (i % 1000),
                         "ok", "{}", "127.0.0.1", "0" * 64, "0" * 64))
            if len(rows) >= 50000:
                c.executemany("INSERT INTO audit_events VALUES "
                              "(?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
                rows = []
        if rows:
            c.executemany("INSERT INTO audit_events VALUES "
                          "(?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        # The Merkle tree's size is its last level-0 leaf: one dummy leaf
        # at the new end keeps signetd's catch-up (minutes at 10^6) from
        # running. Neither the tree nor the chain verifies afterwards.
        c.execute("INSERT OR REPLACE INTO audit_tree (tenant_id, level, idx, "
                  "hash) VALUES (?, 0, ?, ?)", (tenant, seq - 1, b"\0" * 32))
    c.close()


def seed_lists(s, n):
    tenant, user = s.ids()
    c = s.db()
    now = int(time.time())
    with c:
        for i in range(n):
            u = "usr_bulk%08d" % i
            c.execute("INSERT INTO users (id, tenant_id, email, role, "
                      "created_at) VALUES (?, ?, ?, 'user', ?)",
                      (u, tenant, "u%08d@example.test" % i, now))
            c.execute("INSERT INTO teams (id, tenant_id, name, created_at) "
                      "VALUES (?, ?, ?, ?)",
                      ("team_bulk%08d" % i, tenant, "team-%08d" % i, now))
            c.execute("INSERT INTO team_members (team_id, user_id, is_owner, "
                      "created_at) VALUES (?, ?, 0, ?)",
                      ("team_bulk%08d" % i, u, now))
            c.execute("INSERT INTO projects (id, tenant_id, name, "
                      "created_at) VALUES (?, ?, ?, ?)",
                      ("prj_bulk%08d" % i, tenant, "proj-%08d" % i, now))
            c.execute("INSERT INTO project_owners (project_id, "
                      "principal_type, principal_id, created_at) VALUES "
                      "(?, 'user', ?, ?)", ("prj_bulk%08d" % i, u, now))
    c.close()


def scenario_keys(label, build, n, quick, results):
    work = tempfile.mkdtemp(prefix="lists-bench-")
    try:
        s = Server(build, work)
        s.start()
        kid = real_key(s)
        s.stop()
        seed_keys(s, n - 1)
        s.start()
        sign = s.timed("POST", "/v1/keys/%s/sign" % kid, sign_body(),
                       100 if quick else 300)
        me = s.timed("GET", "/v1/me/keys", None, 20)
        results.append((label, "sign (ECDSA P-256), p50", "keys", n, sign))
        results.append((label, "GET /v1/me/keys", "keys", n, me))
        log(label, "keys", n, "sign %.2f ms, me/keys %.2f ms" % (sign, me))
        s.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def scenario_audit(label, build, n, quick, results):
    work = tempfile.mkdtemp(prefix="lists-bench-")
    try:
        s = Server(build, work)
        s.start()
        kid = real_key(s)
        for _ in range(20):
            s.call("POST", "/v1/keys/%s/sign" % kid, sign_body())
        s.stop()
        seed_audit(s, n)
        s.start()
        log(label, "audit", n, "tlog catch-up %.0f s" % s.tlog_caught_up())
        t = s.timed("GET", "/v1/audit?key=%s" % kid, None, 20)
        results.append((label, "GET /v1/audit?key= (20 events)",
                        "events", n, t))
        log(label, "audit", n, "%.2f ms" % t)
        s.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def scenario_lists(label, build, n, quick, results):
    work = tempfile.mkdtemp(prefix="lists-bench-")
    try:
        s = Server(build, work)
        seed_lists(s, n)
        seed_keys(s, n)
        s.start()
        reps = 10
        for path in ("/v1/projects", "/v1/teams", "/v1/users", "/v1/keys"):
            t = s.timed("GET", path, None, reps)
            results.append((label, "GET " + path, "objects", n, t))
            log(label, path, n, "%.2f ms" % t)
        s.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def scenarios(quick):
    for n in ([10, 1000] if quick else [10, 1000, 100000]):
        yield scenario_keys, n
    for n in ([10000] if quick else [10000, 1000000]):
        yield scenario_audit, n
    for n in ([100] if quick else [100, 10000]):
        yield scenario_lists, n


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    quick = "--quick" in sys.argv
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    results = []
    # Each scenario on every build in turn, so that both see the same
    # machine (the load of a shared machine drifts over a long run).
    for fn, n in scenarios(quick):
        for a in args:
            label, _, build = a.partition("=")
            fn(label, build, n, quick, results)
    labels = [a.partition("=")[0] for a in args]
    rows = {}
    for label, what, unit, n, t in results:
        rows.setdefault((what, unit, n), {})[label] = t
    print("| measurement | data | " + " | ".join(l + " (ms)" for l in labels)
          + " |")
    print("|---|---|" + "---|" * len(labels))
    for (what, unit, n), v in rows.items():
        print("| %s | %s %s | %s |" % (what, "{:,}".format(n), unit, " | ".join(
            "%.2f" % v[l] if l in v else "-" for l in labels)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
