#!/usr/bin/env python3
# slow_clients.py PORT SECONDS ADDRS PER_ADDR - holds PER_ADDR connections
# from each of ADDRS loopback source addresses (127.0.0.2, 127.0.0.3, ...)
# to 127.0.0.1:PORT and trickles one byte a second into each (the start of
# a TLS ClientHello that never completes), reconnecting whatever the server
# closes, for SECONDS. Prints "opened N closed_by_server M" at the end.
# Loopback only; bounded in count and time.
import resource
import select
import socket
import sys
import time

port, secs, naddr, per = (int(a) for a in sys.argv[1:5])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
# a TLS record header announcing a 512-byte handshake record, then zeros
trickle = b"\x16\x03\x01\x02\x00" + b"\x01" + b"\x00" * 600
stop = time.monotonic() + secs
conns = {}          # socket -> (address, bytes sent)
opened = closed = 0


def connect(addr):
    global opened
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(True)
    s.settimeout(2)
    try:
        s.bind((addr, 0))
        s.connect(("127.0.0.1", port))
    except OSError:
        s.close()
        return
    s.setblocking(False)
    conns[s] = [addr, 0]
    opened += 1


addrs = ["127.0.0.%d" % (2 + i) for i in range(naddr)]
for a in addrs:
    for _ in range(per):
        connect(a)
next_tick = time.monotonic()
while time.monotonic() < stop:
    now = time.monotonic()
    if now >= next_tick:
        next_tick = now + 1.0
        for s, st in list(conns.items()):
            if st[1] >= len(trickle):
                continue
            try:
                s.send(trickle[st[1]:st[1] + 1])
                st[1] += 1
            except OSError:
                pass
    r, _, _ = select.select(list(conns), [], [], 0.2) if conns else ([], [], [])
    for s in r:
        try:
            data = s.recv(4096)
        except OSError:
            data = b""
        if not data:        # the server closed it: take its place again
            addr = conns.pop(s)[0]
            s.close()
            closed += 1
            if time.monotonic() < stop:
                connect(addr)
    # keep the count up (connects refused while the server was full)
    for a in addrs:
        have = sum(1 for st in conns.values() if st[0] == a)
        for _ in range(min(4, per - have)):
            connect(a)
for s in conns:
    s.close()
print("opened %d closed_by_server %d" % (opened, closed))
