#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Serial DNS client for the callgrind part of the benchmark: COUNT queries,
one at a time (the next is sent only when the previous is answered), so the
proxy handles every query alone and its instruction count per query does not
depend on timing (no batching that varies with the machine's load).

  serial.py udp|tcp PORT COUNT PREFIX [edns] [hot=N]

Queries PREFIX-<i>.load.test A (EDNS0 with UDP size 1232 when "edns" is
given); with hot=N, i runs over 0..N-1 again and again (N names asked over
and over, for a cache). UDP uses one socket, TCP one connection. Prints
"sent=N answered=N noerror=N"; exits 1 if a query went unanswered for 10 s.
"""
import socket
import struct
import sys

TIMEOUT = 10.0


def query(qid, name, edns):
    msg = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 1 if edns else 0)
    for label in name.split("."):
        msg += bytes([len(label)]) + label.encode()
    msg += b"\0" + struct.pack(">HH", 1, 1)
    if edns:
        msg += b"\0" + struct.pack(">HHIH", 41, 1232, 0, 0)
    return msg


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed")
        buf += chunk
    return buf


def main():
    mode, port, count, prefix = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    edns = "edns" in sys.argv[5:]
    hot = count
    for arg in sys.argv[5:]:
        if arg.startswith("hot="):
            hot = max(1, int(arg[4:]))
    addr = ("127.0.0.1", port)
    if mode == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect(addr)
    else:
        s = socket.create_connection(addr)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.settimeout(TIMEOUT)
    answered = noerror = 0
    for i in range(count):
        qid = i & 0xFFFF
        q = query(qid, "%s-%d.load.test" % (prefix, i % hot), edns)
        try:
            if mode == "udp":
                s.send(q)
                while True:
                    a = s.recv(65535)
                    if len(a) >= 12 and struct.unpack(">H", a[:2])[0] == qid:
                        break
            else:
                s.sendall(struct.pack(">H", len(q)) + q)
                while True:
                    n = struct.unpack(">H", recv_exact(s, 2))[0]
                    a = recv_exact(s, n)
                    if len(a) >= 12 and struct.unpack(">H", a[:2])[0] == qid:
                        break
        except (socket.timeout, ConnectionError) as e:
            print("sent=%d answered=%d noerror=%d error=%s" % (i + 1, answered, noerror, e))
            return 1
        answered += 1
        if a[3] & 0x0F == 0:
            noerror += 1
    print("sent=%d answered=%d noerror=%d" % (count, answered, noerror))
    return 0


if __name__ == "__main__":
    sys.exit(main())
