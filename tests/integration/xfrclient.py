#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Zone-transfer client and query timer for the transfer scenarios (no
dnspython needed: the bytes are built and read here).

  xfrclient.py xfr PORT ZONE [options]
      One AXFR (or IXFR with --serial N) over TCP to 127.0.0.1:PORT, read to
      the end of the transfer (AXFR: the SOA that opened it comes again).
      Every message must carry the query's ID, QR and the question (when it
      has one). Prints one line:
        rcode=R ede=E messages=M records=N bytes=B ids=ok complete=1|0 end=E
      where end is done (complete), rcode (an error RCODE), eof (the server
      closed the connection first) or timeout (10 s without a byte, or the
      --timeout bound).
      --source IP        bind to IP first (a client outside --allow-transfer)
      --stall-after N    after N messages, create --stall-file and read nothing
                         more until --go-file exists (the transfer is then
                         in flight, and the proxy's buffers to this client full)
      --rcvbuf BYTES     the socket's receive buffer (SO_RCVBUF): small, the
                         kernel holds little for a client that does not read
      --timeout S        bound on the whole run (default 120 s)
  xfrclient.py udp PORT ZONE TYPE [--source IP]
      One AXFR or IXFR query over UDP; prints "rcode=R tc=0|1 an=N ede=E".
  xfrclient.py latency PORT NAME COUNT
      COUNT queries (A NAME) over UDP one after another; prints
        median_us=U p90_us=U max_us=U noerror=N lost=N
"""
import os
import random
import socket
import struct
import sys
import time

TYPES = {"A": 1, "SOA": 6, "IXFR": 251, "AXFR": 252}


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def make_query(qid, zone, qtype, serial=None, rd=False):
    qd = encode_name(zone) + struct.pack(">HH", qtype, 1)
    ns = b""
    if serial is not None:
        # RFC 1995 §3: the client's SOA in the authority section.
        rdata = b"\0\0" + struct.pack(">IIIII", serial, 0, 0, 0, 0)
        ns = encode_name(zone) + struct.pack(">HHIH", 6, 1, 0, len(rdata)) + rdata
    # An OPT record, so that an EDE can come back (RFC 8914).
    opt = b"\0" + struct.pack(">HHIH", 41, 1232, 0, 0)
    head = struct.pack(">HHHHHH", qid, 0x0100 if rd else 0, 1, 0, 1 if ns else 0, 1)
    return head + qd + ns + opt, len(head) + len(qd)


def skip_name(msg, off):
    while True:
        if off >= len(msg):
            raise ValueError("name runs off the message")
        n = msg[off]
        if n == 0:
            return off + 1
        if n & 0xC0 == 0xC0:
            return off + 2
        off += 1 + n


def parse(msg):
    """Header fields, answer records as (type, rdata offset, rdlen), the EDE
    code (or -1) and the end of the question (0 if none)."""
    qid, flags, qd, an, ns, ar = struct.unpack(">HHHHHH", msg[:12])
    off = 12
    for _ in range(qd):
        off = skip_name(msg, off) + 4
    qend = off if qd else 0
    answers, ede = [], -1
    for i in range(an + ns + ar):
        off = skip_name(msg, off)
        rtype, _, _, rdlen = struct.unpack(">HHIH", msg[off:off + 10])
        off += 10
        if i < an:
            answers.append((rtype, off, rdlen))
        elif rtype == 41:
            o = off
            while o + 4 <= off + rdlen:
                code, olen = struct.unpack(">HH", msg[o:o + 4])
                if code == 15 and olen >= 2:
                    ede = struct.unpack(">H", msg[o + 4:o + 6])[0]
                o += 4 + olen
        off += rdlen
    if off != len(msg):
        raise ValueError("%d bytes after the records" % (len(msg) - off))
    return qid, flags, answers, ede, qend


def soa_rdata(msg, off, rdlen):
    # The names may be compressed: compare the five numbers at the end.
    return msg[off + rdlen - 20:off + rdlen]


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def opt_value(args, name, default=None):
    if name in args:
        return args[args.index(name) + 1]
    return default


def sock(kind, source):
    s = socket.socket(socket.AF_INET, kind)
    if source:
        s.bind((source, 0))
    return s


def xfr(args):
    port, zone = int(args[0]), args[1]
    serial = opt_value(args, "--serial")
    stall_after = int(opt_value(args, "--stall-after", "0"))
    stall_file, go_file = opt_value(args, "--stall-file"), opt_value(args, "--go-file")
    deadline = time.monotonic() + float(opt_value(args, "--timeout", "120"))
    qid = random.randrange(1, 65536)
    qtype = TYPES["IXFR"] if serial is not None else TYPES["AXFR"]
    query, qend = make_query(qid, zone, qtype, None if serial is None else int(serial))
    s = sock(socket.SOCK_STREAM, opt_value(args, "--source"))
    if opt_value(args, "--rcvbuf"):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, int(opt_value(args, "--rcvbuf")))
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    s.sendall(struct.pack(">H", len(query)) + query)
    messages = records = nbytes = 0
    ids_ok, complete, rcode, ede, first, soas = True, 0, -1, -1, None, 0
    end = "timeout"
    while time.monotonic() < deadline:
        if stall_after and messages == stall_after:
            open(stall_file, "w").close()
            while not os.path.exists(go_file) and time.monotonic() < deadline:
                time.sleep(0.02)
        try:
            head = recv_exact(s, 2)
            msg = None if head is None else recv_exact(s, struct.unpack(">H", head)[0])
        except socket.timeout:
            break
        except ConnectionResetError:
            msg = None
        if msg is None:
            end = "eof"
            break
        messages += 1
        nbytes += len(msg)
        rid, flags, answers, m_ede, m_qend = parse(msg)
        if rid != qid or not flags & 0x8000 or (m_qend and msg[12:m_qend] != query[12:qend]):
            ids_ok = False
        rcode = flags & 0xF
        ede = m_ede if m_ede >= 0 else ede
        if rcode != 0:
            end = "rcode"
            break
        for rtype, off, rdlen in answers:
            records += 1
            if rtype != TYPES["SOA"]:
                continue
            soas += 1
            if first is None:
                first = soa_rdata(msg, off, rdlen)
                # IXFR: a first SOA of the client's version is the whole
                # answer ("up to date", RFC 1995 §4).
                if serial is not None and struct.unpack(">I", first[:4])[0] == int(serial):
                    complete = 1
            elif soa_rdata(msg, off, rdlen) == first and soas % 2 == 0:
                # The closing SOA: AXFR (and IXFR's AXFR form) has two;
                # the incremental form the first, two per difference
                # (the new version's is the first again), and the last.
                complete = 1
        if complete:
            end = "done"
            break
    s.close()
    print("rcode=%d ede=%d messages=%d records=%d bytes=%d ids=%s complete=%d end=%s" % (
        rcode, ede, messages, records, nbytes, "ok" if ids_ok else "WRONG", complete, end))


def udp(args):
    port, zone, qtype = int(args[0]), args[1], args[2]
    qid = random.randrange(1, 65536)
    query, _ = make_query(qid, zone, TYPES[qtype], 1 if qtype == "IXFR" else None)
    s = sock(socket.SOCK_DGRAM, opt_value(args, "--source"))
    s.settimeout(3)
    s.sendto(query, ("127.0.0.1", port))
    try:
        msg = s.recv(65535)
    except socket.timeout:
        print("noreply")
        return
    rid, flags, answers, ede, _ = parse(msg)
    print("rcode=%d tc=%d an=%d ede=%d id=%s" % (flags & 0xF, 1 if flags & 0x0200 else 0,
                                                len(answers), ede, "ok" if rid == qid else "WRONG"))


def latency(args):
    port, name, count = int(args[0]), args[1], int(args[2])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    times, noerror, lost = [], 0, 0
    for _ in range(count):
        qid = random.randrange(1, 65536)
        query, _ = make_query(qid, name, TYPES["A"], rd=True)
        t0 = time.monotonic()
        s.sendto(query, ("127.0.0.1", port))
        try:
            while True:
                msg = s.recv(65535)
                if struct.unpack(">H", msg[:2])[0] == qid:
                    break
        except socket.timeout:
            lost += 1
            times.append(3.0)
            continue
        times.append(time.monotonic() - t0)
        if struct.unpack(">H", msg[2:4])[0] & 0xF == 0:
            noerror += 1
    times.sort()
    print("median_us=%d p90_us=%d max_us=%d noerror=%d lost=%d" % (
        times[len(times) // 2] * 1e6, times[len(times) * 9 // 10] * 1e6, times[-1] * 1e6,
        noerror, lost))


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    {"xfr": xfr, "udp": udp, "latency": latency}[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
