#!/usr/bin/env python3
"""tlog_verify.py - an independent verifier of Signet's transparency log.

Written from the public specifications only (RFC 9162 section 2.1, C2SP
signed-note and tlog-checkpoint), not from Signet's C code, so the test
suite can check that what signetd and `signet` produce is what those
documents say. Uses Python's `cryptography` package (Debian's
python3-cryptography) for Ed25519.

    tlog_verify.py checkpoint NOTE_FILE VKEY
    tlog_verify.py bundle BUNDLE_FILE VKEY
    tlog_verify.py consistency VKEY OLD_NOTE NEW_NOTE PROOF_JSON
    tlog_verify.py log VKEY NOTE EVENTS_JSONL [INCLUSION_DIR]

Prints one line "OK ..." and exits 0, or "FAIL ..." and exits 1.
"""
import base64
import hashlib
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


class Fail(Exception):
    pass


def sha256(b):
    return hashlib.sha256(b).digest()


def leaf_hash(data):
    return sha256(b"\x00" + data)


def node_hash(left, right):
    return sha256(b"\x01" + left + right)


def b64(s):
    try:
        return base64.b64decode(s, validate=True)
    except Exception as e:  # noqa: BLE001
        raise Fail("bad base64 %r" % s) from e


# ---- RFC 9162 2.1.1: MTH over a list of leaf inputs --------------------

def mth(leaves):
    n = len(leaves)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return leaf_hash(leaves[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def root_of_hashes(hashes):
    """MTH from leaf *hashes*, iteratively (for large logs)."""
    if not hashes:
        return sha256(b"")
    stack = []  # (size, hash) of perfect subtrees, left to right
    for h in hashes:
        size, cur = 1, h
        while stack and stack[-1][0] == size:
            s, left = stack.pop()
            cur = node_hash(left, cur)
            size += s
        stack.append((size, cur))
    acc = stack[-1][1]
    for _, h in reversed(stack[:-1]):
        acc = node_hash(h, acc)
    return acc


# ---- RFC 9162 2.1.3.2 and 2.1.4.2 ---------------------------------------

def verify_inclusion(index, size, leaf, path, root):
    if index >= size:
        raise Fail("leaf index %d outside tree of %d" % (index, size))
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise Fail("inclusion path too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0 or r != root:
        raise Fail("inclusion proof does not lead to the root")


def verify_consistency(first, second, first_hash, second_hash, path):
    if first == second:
        if path or first_hash != second_hash:
            raise Fail("consistency between equal sizes")
        return
    if first == 0 or first > second or not path:
        raise Fail("bad consistency request")
    path = list(path)
    if first & (first - 1) == 0:
        path.insert(0, first_hash)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise Fail("consistency proof too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if fr != first_hash or sr != second_hash or sn != 0:
        raise Fail("consistency proof does not match the two roots")


# ---- C2SP signed-note + tlog-checkpoint ---------------------------------

def parse_vkey(vkey):
    parts = vkey.split("+", 2)  # base64 may hold '+' too
    if len(parts) != 3:
        raise Fail("verifier key is not NAME+HASH+KEY")
    name, idhex, key = parts
    raw = b64(key)
    if len(raw) != 33 or raw[0] != 1:
        raise Fail("verifier key is not an Ed25519 key")
    pub = raw[1:]
    kid = sha256(name.encode() + b"\n" + b"\x01" + pub)[:4]
    if kid.hex() != idhex:
        raise Fail("verifier key hash does not match its name and key")
    return name, kid, Ed25519PublicKey.from_public_bytes(pub)


def verify_note(note, vkey):
    """Returns (origin, size, root) of a checkpoint note signed by vkey."""
    name, kid, pub = parse_vkey(vkey)
    text, sep, sigs = note.partition("\n\n")
    if not sep or not sigs.endswith("\n"):
        raise Fail("not a signed note")
    text += "\n"
    good = False
    for line in sigs[:-1].split("\n"):
        if not line.startswith("\u2014 "):
            raise Fail("bad signature line %r" % line)
        sname, _, sig = line[2:].rpartition(" ")
        if sname != name:
            continue
        blob = b64(sig)
        if len(blob) != 68 or blob[:4] != kid:
            continue
        try:
            pub.verify(blob[4:], text.encode())
            good = True
        except InvalidSignature:
            raise Fail("signature by %s does not verify" % name)
    if not good:
        raise Fail("no signature by %s" % name)
    lines = text.split("\n")[:-1]
    if len(lines) < 3:
        raise Fail("checkpoint body too short")
    origin, size, root = lines[0], lines[1], b64(lines[2])
    if origin != name:
        raise Fail("origin %r is not the key name %r" % (origin, name))
    if not size.isdigit() or (size != "0" and size.startswith("0")):
        raise Fail("bad tree size %r" % size)
    if len(root) != 32:
        raise Fail("root hash is not 32 bytes")
    return origin, int(size), root


# ---- audit events: the chain (docs/AUDIT.md, auditchain.h) ---------------

CANON = ["seq", "tenant_id", "id", "time", "actor_type", "actor_id",
         "action", "object_type", "object_id", "result", "details",
         "source_ip", "prev_hash"]


def event_hash(ev):
    canon = {k: ev[k] for k in CANON}
    text = json.dumps(canon, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def check_event(ev):
    h = event_hash(ev)
    if h != ev.get("hash"):
        raise Fail("event seq %s: hash does not match its contents"
                   % ev.get("seq"))
    return leaf_hash(bytes.fromhex(h))


# ---- commands -------------------------------------------------------------

def cmd_checkpoint(note_file, vkey):
    origin, size, root = verify_note(open(note_file).read(), vkey)
    return "checkpoint %s size %d root %s" % (origin, size, root.hex())


def cmd_bundle(path, vkey):
    b = json.load(open(path))
    origin, size, root = verify_note(b["checkpoint"], vkey)
    inc, ev = b["inclusion"], b["event"]
    if inc["size"] != size or inc["seq"] != ev["seq"]:
        raise Fail("bundle parts disagree")
    leaf = check_event(ev)
    verify_inclusion(ev["seq"] - 1, size, leaf,
                     [b64(h) for h in inc["hashes"]], root)
    return "event seq %d in %s at size %d" % (ev["seq"], origin, size)


def cmd_consistency(vkey, old, new, proof):
    _, s1, r1 = verify_note(open(old).read(), vkey)
    _, s2, r2 = verify_note(open(new).read(), vkey)
    p = json.load(open(proof))
    if p["from"] != s1 or p["to"] != s2:
        raise Fail("proof is for other sizes")
    verify_consistency(s1, s2, r1, r2, [b64(h) for h in p["hashes"]])
    return "size %d extends size %d" % (s2, s1)


def cmd_log(vkey, note, events_file, incl_dir=None):
    origin, size, root = verify_note(open(note).read(), vkey)
    events = [json.loads(line) for line in open(events_file) if line.strip()]
    prev = "0" * 64
    leaves = []
    for i, ev in enumerate(events[:size]):
        if ev["seq"] != i + 1:
            raise Fail("event seq %s at position %d" % (ev["seq"], i + 1))
        if ev["prev_hash"] != prev:
            raise Fail("event seq %d does not chain" % ev["seq"])
        leaves.append(check_event(ev))
        prev = ev["hash"]
    if len(leaves) < size:
        raise Fail("only %d events for a checkpoint of %d" % (len(leaves),
                                                              size))
    if root_of_hashes(leaves) != root:
        raise Fail("the events do not give the signed root")
    # spot-check the RFC's recursive definition on a prefix too
    if size <= 512 and mth([bytes.fromhex(e["hash"])
                            for e in events[:size]]) != root:
        raise Fail("recursive MTH disagrees")
    n = 0
    if incl_dir:
        import os
        for f in sorted(os.listdir(incl_dir)):
            p = json.load(open(os.path.join(incl_dir, f)))
            verify_inclusion(p["seq"] - 1, p["size"], leaves[p["seq"] - 1],
                             [b64(h) for h in p["hashes"]], root)
            n += 1
    return "%d events of %s give the signed root; %d inclusion proofs ok" % (
        size, origin, n)


def main(argv):
    cmds = {"checkpoint": cmd_checkpoint, "bundle": cmd_bundle,
            "consistency": cmd_consistency, "log": cmd_log}
    if len(argv) < 2 or argv[1] not in cmds:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        print("OK " + cmds[argv[1]](*argv[2:]))
        return 0
    except (Fail, KeyError, TypeError, ValueError) as e:
        print("FAIL %s" % e)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
