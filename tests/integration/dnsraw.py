#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Raw DNS client for the integration tests: sends exactly the bytes a test
wants (malformed ones included) over UDP or TCP and prints what came back.

  dnsraw.py udp PORT HEX            one datagram; prints "id=.. rcode=.. flags=.." or "noreply"
  dnsraw.py query PORT NAME [TYPE]  a well-formed query over UDP, same output
  dnsraw.py tcp PORT HEX            one length-prefixed message over TCP
  dnsraw.py pipeline PORT N         N queries in one TCP write, then read N answers;
                                    prints "answers=N distinct=N matched=N"
"""
import random
import socket
import struct
import sys

TIMEOUT = 3.0
TYPES = {"A": 1, "NS": 2, "TXT": 16, "AAAA": 28}


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def make_query(qid, name, qtype="A", flags=0x0100):
    return struct.pack(">HHHHHH", qid, flags, 1, 0, 0, 0) + encode_name(name) + \
        struct.pack(">HH", TYPES.get(qtype, 1), 1)


def describe(msg):
    if len(msg) < 12:
        return "short len=%d" % len(msg)
    qid, flags, qd, an, ns, ar = struct.unpack(">HHHHHH", msg[:12])
    names = [("qr", 0x8000), ("aa", 0x0400), ("tc", 0x0200), ("rd", 0x0100), ("ra", 0x0080)]
    fl = ",".join(n for n, b in names if flags & b) or "-"
    return "id=%d rcode=%d opcode=%d flags=%s qd=%d an=%d ns=%d ar=%d len=%d" % (
        qid, flags & 0xF, (flags >> 11) & 0xF, fl, qd, an, ns, ar, len(msg))


def udp(port, data):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(TIMEOUT)
    s.sendto(data, ("127.0.0.1", port))
    try:
        print(describe(s.recv(65535)))
    except socket.timeout:
        print("noreply")


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def read_msg(s):
    hdr = recv_exact(s, 2)
    if hdr is None:
        return None
    return recv_exact(s, struct.unpack(">H", hdr)[0])


def tcp(port, data):
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    s.sendall(struct.pack(">H", len(data)) + data)
    try:
        msg = read_msg(s)
        print(describe(msg) if msg is not None else "closed")
    except socket.timeout:
        print("noreply")


def pipeline(port, n):
    names = ["a.test", "two.test", "nx.test"]
    sent = {}
    blob = b""
    ids = random.sample(range(65536), n)
    for i, qid in enumerate(ids):
        name = names[i % len(names)] if i % 4 else "p%d.load.test" % i
        q = make_query(qid, name)
        sent[qid] = q[12:]
        blob += struct.pack(">H", len(q)) + q
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    s.sendall(blob)
    seen = set()
    matched = answers = 0
    try:
        while answers < n:
            msg = read_msg(s)
            if msg is None:
                break
            answers += 1
            qid = struct.unpack(">H", msg[:2])[0]
            seen.add(qid)
            # The question must be the one asked under that ID.
            if qid in sent and msg[12:12 + len(sent[qid])].lower() == sent[qid].lower():
                matched += 1
    except socket.timeout:
        pass
    print("answers=%d distinct=%d matched=%d" % (answers, len(seen), matched))


def main():
    cmd, port = sys.argv[1], int(sys.argv[2])
    if cmd == "udp":
        udp(port, bytes.fromhex(sys.argv[3]))
    elif cmd == "query":
        udp(port, make_query(random.randrange(65536), sys.argv[3],
                             sys.argv[4] if len(sys.argv) > 4 else "A"))
    elif cmd == "tcp":
        tcp(port, bytes.fromhex(sys.argv[3]))
    elif cmd == "pipeline":
        pipeline(port, int(sys.argv[3]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
