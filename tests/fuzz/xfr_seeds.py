#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed inputs of the fuzz_xfr target (see its header for the
input format): every response form of RFC 5936 and RFC 1995, split in
several ways, and a few queries for xfr_classify. Usage: xfr_seeds.py DIR.
The fuzzer grows the corpus from these; they are kept in
tests/fuzz/corpus/xfr under their own names."""
import os
import struct
import sys

ZONE = b"\x04zone\x04test\x00"
SOA, A, NS, OPT, TSIG, AXFR, IXFR = 6, 1, 2, 41, 250, 252, 251


def header(rcode=0, qd=1, an=0, ns=0, ar=0, flags=0x84):
    return struct.pack(">HBBHHHH", 0x5A5A, flags, rcode, qd, an, ns, ar)


def question(qtype):
    return ZONE + struct.pack(">HH", qtype, 1)


def rr(rtype, rdata, owner=b"\xc0\x0c", ttl=3600):
    return owner + struct.pack(">HHIH", rtype, 1, ttl, len(rdata)) + rdata


def soa(serial, owner=b"\xc0\x0c"):
    rdata = b"\x02ns\xc0\x0c\x04host\xc0\x0c" + struct.pack(">IIIII", serial, 7200, 900, 1209600, 300)
    return rr(SOA, rdata, owner)


def a(last):
    return rr(A, bytes([192, 0, 2, last]))


def ns():
    return rr(NS, b"\x02ns\xc0\x0c")


def message(records, qtype, with_question=True, rcode=0, extra=b"", ar=0):
    q = question(qtype) if with_question else b""
    owner = b"\xc0\x0c" if with_question else ZONE
    body = b"".join(r.replace(b"\xc0\x0c", owner, 1) if not with_question else r for r in records)
    return header(rcode, 1 if with_question else 0, len(records), 0, ar) + q + body + extra


def stream(mode, serial, messages):
    out = bytes([mode]) + struct.pack(">I", serial)
    for m in messages:
        out += struct.pack(">H", len(m)) + m
    return out


def incremental():
    # SOA 30 { SOA 10 -A1 SOA 20 +A2 } { SOA 20 -A2 SOA 30 +A3 +A4 } SOA 30
    return [soa(30), soa(10), a(1), soa(20), a(2), soa(20), a(2), soa(30), a(3), a(4), soa(30)]


def seeds():
    zone = [soa(2024), ns()] + [a(i) for i in range(1, 20)] + [soa(2024)]
    yield "axfr-one", stream(0, 0, [message(zone, AXFR)])
    yield "axfr-split", stream(0, 0, [message(zone[:1], AXFR), message(zone[1:10], AXFR, False),
                                      message(zone[10:], AXFR, False)])
    yield "axfr-split-q", stream(0, 0, [message(zone[i:i + 4], AXFR) for i in range(0, len(zone), 4)])
    yield "axfr-refused", stream(0, 0, [message([], AXFR, rcode=5)])
    yield "axfr-servfail-mid", stream(0, 0, [message(zone[:5], AXFR), message([], AXFR, False, 2)])
    yield "axfr-after-end", stream(0, 0, [message(zone, AXFR), message([a(9)], AXFR, False)])
    yield "axfr-bad-end", stream(0, 0, [message([soa(5), a(1), soa(6)], AXFR)])
    opt = b"\x00" + struct.pack(">HHIH", OPT, 1232, 0, 6) + b"\x00\x0c\x00\x02\x00\x00"
    tsig = b"\x03key\x00" + struct.pack(">HHIH", TSIG, 255, 0, 3) + b"\x00\x00\x00"
    yield "axfr-opt-tsig", stream(0, 0, [message(zone, AXFR, extra=opt + tsig, ar=2)])
    inc = incremental()
    yield "ixfr-incremental", stream(1, 10, [message(inc, IXFR)])
    yield "ixfr-incremental-split", stream(1, 10, [message([r], IXFR, i == 0) for i, r in enumerate(inc)])
    yield "ixfr-up-to-date", stream(1, 30, [message([soa(30)], IXFR)])
    yield "ixfr-client-newer", stream(1, 31, [message([soa(30)], IXFR)])
    yield "ixfr-wrap", stream(1, 0xFFFFFFF0, [message([soa(5), soa(0xFFFFFFF0), a(1), soa(5), a(2), soa(5)], IXFR)])
    yield "ixfr-axfr-form", stream(1, 10, [message([soa(30), ns(), a(1)], IXFR),
                                           message([a(2), soa(30)], IXFR, False)])
    yield "ixfr-out-of-sync", stream(1, 10, [message([soa(30), soa(10), soa(20), a(1), soa(25)], IXFR)])
    yield "ixfr-notimp", stream(1, 10, [header(4, 0)])

    def query(qtype, auth=b"", ns_count=0):
        return bytes([2]) + struct.pack(">HBBHHHH", 1, 0, 0, 1, 0, ns_count, 0) + question(qtype) + auth

    yield "classify-axfr", query(AXFR)
    yield "classify-ixfr", query(IXFR, soa(10), 1)
    yield "classify-ixfr-no-soa", query(IXFR)
    yield "classify-ixfr-a", query(IXFR, a(1), 1)
    yield "classify-a", query(A)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, data in seeds():
        with open(os.path.join(out, "seed-" + name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
