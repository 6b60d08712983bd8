#!/usr/bin/env python3
"""cms_parts.py CMS.der OUTDIR - writes the SignerInfo's signature value
(OUTDIR/sigvalue.bin) and, if present, its id-aa-timeStampToken attribute
value (OUTDIR/token.der) from a DER CMS SignedData with one SignerInfo.
A small DER walker for the e2e tests: exit 1 on anything unexpected."""
import sys

TST_OID = bytes.fromhex("060b2a864886f70d010910020e")  # 1.2.840.113549.1.9.16.2.14


def tlv(b, i):
    tag = b[i]
    n = b[i + 1]
    j = i + 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(b[j:j + k], "big")
        j += k
    return tag, j, j + n  # tag, content start, end


def children(b, start, end):
    out, i = [], start
    while i < end:
        t, s, e = tlv(b, i)
        out.append((t, i, s, e))
        i = e
    return out


def main():
    b = open(sys.argv[1], "rb").read()
    t, s, e = tlv(b, 0)                       # ContentInfo
    ci = children(b, s, e)
    t, s, e = tlv(b, ci[1][2])                # [0] -> SignedData
    sd = children(b, s, e)
    sis = [c for c in sd if c[0] == 0x31][-1]  # signerInfos SET (last SET)
    si = children(b, sis[2], sis[3])
    assert len(si) == 1, "want one SignerInfo"
    fields = children(b, si[0][2], si[0][3])
    sig = [f for f in fields if f[0] == 0x04][0]
    open(sys.argv[2] + "/sigvalue.bin", "wb").write(b[sig[2]:sig[3]])
    for f in fields:
        if f[0] != 0xA1:                      # unsignedAttrs [1]
            continue
        for a in children(b, f[2], f[3]):
            parts = children(b, a[2], a[3])
            if b[parts[0][1]:parts[0][3]] == TST_OID:
                val = children(b, parts[1][2], parts[1][3])[0]
                open(sys.argv[2] + "/token.der", "wb").write(b[val[1]:val[3]])
    return 0


if __name__ == "__main__":
    sys.exit(main())
