#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A deliberately misbehaving DNS-over-TLS server, for the faults a real one
(unbound) will not produce on demand. It answers every question with
A 192.0.2.53 (TTL 60) unless the mode says otherwise.

  fakedot.py --port P --cert C --key K --mode MODE [--n N] [--log FILE]

Modes:
  ok              answer every query
  close-after     answer the first N queries on each connection, then close
                  it cleanly (TLS close_notify) with the rest unanswered
  reset-after     answer N, then reset the TCP connection (RST) mid-stream
  reset-mid       answer N, then send half of the next answer's TLS record
                  and reset the connection
  prefix-close    answer N, then send a length prefix and close
  stall           complete the handshake, read queries, never answer
  slow            answer each query after N milliseconds (out of order:
                  a later query may be answered first, as resolvers do),
                  but questions for the root at once (as if cached)
  garbage         answer with random bytes of a plausible length
  wrong-id        answer with the ID changed
  wrong-question  answer with a different question name
  long-answer     answer with a length prefix larger than the message that
                  follows, then stall
  stale           answer every query; but when an earlier query on the
                  connection asked the same name with other RD, CD or DO
                  bits, first send the answer made for that one (A
                  192.0.2.66, its bits) under the new query's ID: what a
                  late answer looks like when its ID was given to a new query
  xfr-stall       answer an AXFR with its first message (the zone's SOA and
                  an A record), then send nothing more (a primary gone
                  silent mid-transfer); other queries as ok
  xfr-broken      answer an AXFR with its first message, then one whose
                  question is another zone's (a stream that went wrong)

Answers echo the query's RD and CD bits, and an OPT record with its DO bit
when the query had one. --keepalive UNITS adds an edns-tcp-keepalive option
(RFC 7828, units of 100 ms) to every answer.

In any mode, --drop NAME never answers a query whose name contains NAME
(as resolvers do with a drop rule), and --close-on NAME closes the
connection (TLS close_notify) on reading a query whose name contains NAME,
answering nothing more on it (a drop rule that resets, or a query that
crashes the resolver).

The log (one line per event) lets tests count connections and queries:
  "conn N", "query N id=I conn=C len=L opts=11,12 name=a.test", "closed N".
"""
import argparse
import os
import socket
import ssl
import struct
import sys
import threading
import time

LOCK = threading.Lock()
LOG = None
COUNTERS = {"conn": 0, "query": 0}


def log(line):
    with LOCK:
        LOG.write(line + "\n")
        LOG.flush()


def bump(name):
    with LOCK:
        COUNTERS[name] += 1
        return COUNTERS[name]


def question_end(msg):
    pos = 12
    while pos < len(msg) and msg[pos] != 0:
        pos += 1 + msg[pos]
    return pos + 5


def query_opt(msg):
    """(TTL field, option codes) of the OPT record of a query (assumed
    last), or (None, []) when it has none."""
    pos = question_end(msg)
    qd, an, ns, ar = struct.unpack(">HHHH", msg[4:12])
    ttl, codes = None, []
    for _ in range(an + ns + ar):
        if pos + 11 > len(msg):
            break
        name0 = msg[pos]
        rtype, _cls, rttl, rdlen = struct.unpack(">HHIH", msg[pos + 1:pos + 11])
        rd = pos + 11
        if name0 == 0 and rtype == 41:
            ttl = rttl
            p = rd
            while p + 4 <= rd + rdlen:
                code, olen = struct.unpack(">HH", msg[p:p + 4])
                codes.append(str(code))
                p += 4 + olen
        pos = rd + rdlen
    return ttl, codes


def opt_codes(msg):
    return ",".join(query_opt(msg)[1]) or "-"


def qname(msg):
    """The question's name, dotted, lower case."""
    pos, labels = 12, []
    while pos < len(msg) and msg[pos] != 0:
        labels.append(msg[pos + 1:pos + 1 + msg[pos]].decode("ascii", "replace"))
        pos += 1 + msg[pos]
    return ".".join(labels).lower() + "."


def query_bits(msg):
    """What an answer must echo: RD, CD, and the DO bit of the OPT."""
    ttl = query_opt(msg)[0]
    return (struct.unpack(">H", msg[2:4])[0] & 0x0110, None if ttl is None else ttl & 0x8000)


def xfr_first(query):
    """The first message of an AXFR answer: the question, the zone's SOA
    (serial 1) and an A record; the zone is the question's name."""
    qend = question_end(query)
    soa_rdata = b"\x02ns\xc0\x0c\x04host\xc0\x0c" + struct.pack(">IIIII", 1, 7200, 900, 1209600, 300)
    soa = b"\xc0\x0c" + struct.pack(">HHIH", 6, 1, 3600, len(soa_rdata)) + soa_rdata
    a = b"\x01h\xc0\x0c" + struct.pack(">HHIH", 1, 1, 3600, 4) + bytes((10, 0, 0, 1))
    return query[:2] + struct.pack(">HHHHH", 0x8400, 1, 2, 0, 0) + query[12:qend] + soa + a


def answer_for(query, mode, keepalive=None, addr=(192, 0, 2, 53)):
    qid = query[:2]
    qend = question_end(query)
    question = query[12:qend]
    if mode == "wrong-question":
        question = b"\x05wrong\x04test\x00" + query[qend - 4:qend]
    if mode == "wrong-id":
        qid = struct.pack(">H", (struct.unpack(">H", qid)[0] + 1) & 0xFFFF)
    # RD and CD as asked (RFC 1035, RFC 4035), DO in an OPT if it had one.
    bits, do = query_bits(query)
    flags = 0x8080 | bits
    rr = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + bytes(addr)
    options = b"" if keepalive is None else struct.pack(">HHH", 11, 2, keepalive)
    if do is None and keepalive is None:
        return qid + struct.pack(">HHHHH", flags, 1, 1, 0, 0) + question + rr
    opt = b"\x00" + struct.pack(">HHIH", 41, 1232, do or 0, len(options)) + options
    return qid + struct.pack(">HHHHH", flags, 1, 1, 0, 1) + question + rr + opt


class BioConn:
    """TLS over memory BIOs on a plain socket, so the raw records can be cut
    (Python's SSLSocket always writes whole records)."""

    def __init__(self, ctx, sock):
        self.sock = sock
        self.inc = ssl.MemoryBIO()
        self.out = ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.out, server_side=True)
        self._pump(self.obj.do_handshake)

    def _flush(self):
        data = self.out.read()
        if data:
            self.sock.sendall(data)

    def _pump(self, op, *args):
        while True:
            try:
                result = op(*args)
                self._flush()
                return result
            except ssl.SSLWantReadError:
                self._flush()
                data = self.sock.recv(16384)
                if not data:
                    raise EOFError()
                self.inc.write(data)

    def recv_exact(self, n):
        buf = b""
        try:
            while len(buf) < n:
                chunk = self._pump(self.obj.read, n - len(buf))
                if not chunk:
                    return None
                buf += chunk
        except (EOFError, ssl.SSLZeroReturnError):
            return None
        return buf

    def read_some(self):
        """Decrypted bytes available now: b"" when none came within the
        socket's timeout, None at the end of the stream."""
        while True:
            try:
                data = self.obj.read(16384)
                self._flush()
                return data if data else None
            except ssl.SSLWantReadError:
                self._flush()
                try:
                    raw = self.sock.recv(16384)
                except socket.timeout:
                    return b""
                if not raw:
                    return None
                self.inc.write(raw)
            except ssl.SSLZeroReturnError:
                return None

    def sendall(self, data):
        self.obj.write(data)
        self._flush()

    def send_half_record(self, data):
        self.obj.write(data)
        raw = self.out.read()
        self.sock.sendall(raw[:len(raw) // 2])

    def close_notify(self):
        try:
            self.obj.unwrap()
        except ssl.SSLWantReadError:
            pass
        self._flush()

    def reset(self):
        # Linger 0: close() sends RST instead of FIN.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def close(self):
        self.sock.close()


def serve_slow(conn, cid, delay_ms, keepalive):
    """Answer each query delay_ms after it arrived, from one thread (an
    SSLObject is not to be shared between threads)."""
    conn.sock.settimeout(0.01)
    pending = []
    buf = b""
    try:
        while True:
            now = time.monotonic()
            for item in [p for p in pending if p[0] <= now]:
                pending.remove(item)
                conn.sendall(struct.pack(">H", len(item[1])) + item[1])
            data = conn.read_some()
            if data is None:
                break
            buf += data
            while len(buf) >= 2 and len(buf) >= 2 + struct.unpack(">H", buf[:2])[0]:
                qlen = struct.unpack(">H", buf[:2])[0]
                query, buf = buf[2:2 + qlen], buf[2 + qlen:]
                q = bump("query")
                log("query %d id=%d conn=%d len=%d opts=%s name=%s" % (
                    q, struct.unpack(">H", query[:2])[0], cid, len(query), opt_codes(query),
                    qname(query)))
                # The root's records are "cached": answered at once, as a
                # real resolver does while another name recurses slowly.
                delay = 0 if query[12:13] == b"\x00" else delay_ms / 1000.0
                pending.append((time.monotonic() + delay, answer_for(query, "ok", keepalive)))
    except (OSError, ssl.SSLError, EOFError):
        pass
    finally:
        log("closed %d" % cid)
        conn.close()


def serve(conn, cid, mode, n, keepalive, drop, close_on):
    answered = 0
    asked = {}  # stale mode: name -> the last query for it
    try:
        while True:
            hdr = conn.recv_exact(2)
            if hdr is None:
                break
            query = conn.recv_exact(struct.unpack(">H", hdr)[0])
            if query is None:
                break
            q = bump("query")
            name = qname(query)
            log("query %d id=%d conn=%d len=%d opts=%s name=%s" % (
                q, struct.unpack(">H", query[:2])[0], cid, len(query), opt_codes(query), name))
            if mode == "stall" or (drop and drop in name):
                continue
            if close_on and close_on in name:
                log("close-on %d %s" % (cid, name))
                conn.close_notify()
                break
            if mode == "stale":
                before = asked.get(name)
                asked[name] = query
                if before is not None and query_bits(before) != query_bits(query):
                    late = answer_for(before, "ok", keepalive, (192, 0, 2, 66))
                    late = query[:2] + late[2:]
                    conn.sendall(struct.pack(">H", len(late)) + late)
                    log("stale %d id=%d" % (cid, struct.unpack(">H", query[:2])[0]))

            if mode in ("close-after", "reset-after", "reset-mid", "prefix-close") and answered >= n:
                if mode == "close-after":
                    conn.close_notify()
                elif mode == "reset-after":
                    conn.reset()
                elif mode == "reset-mid":
                    msg = answer_for(query, "ok")
                    conn.send_half_record(struct.pack(">H", len(msg)) + msg)
                    conn.reset()
                else:
                    conn.sendall(b"\x00\x40")
                break
            if mode in ("xfr-stall", "xfr-broken") and query[question_end(query) - 4:question_end(query) - 2] == b"\x00\xfc":
                msg = xfr_first(query)
                conn.sendall(struct.pack(">H", len(msg)) + msg)
                log("xfr %d first" % cid)
                if mode == "xfr-broken":
                    other = query[:12] + b"\x05other\x04test\x00\x00\xfc\x00\x01"
                    msg = xfr_first(other)
                    conn.sendall(struct.pack(">H", len(msg)) + msg)
                    log("xfr %d broken" % cid)
                continue
            if mode == "garbage":
                msg = os.urandom(40)
            elif mode == "long-answer":
                msg = answer_for(query, "ok")
                conn.sendall(struct.pack(">H", len(msg) + 100) + msg)
                continue
            else:
                msg = answer_for(query, mode, keepalive)
            conn.sendall(struct.pack(">H", len(msg)) + msg)
            answered += 1
    except (OSError, ssl.SSLError, EOFError):
        pass
    finally:
        log("closed %d" % cid)
        try:
            conn.close()
        except OSError:
            pass


def handle(ctx, raw, cid, mode, n, keepalive, drop, close_on):
    try:
        conn = BioConn(ctx, raw)
    except (OSError, ssl.SSLError, EOFError) as e:
        log("handshake failed %d %s" % (cid, e))
        raw.close()
        return
    log("conn %d" % cid)
    if mode == "slow":
        serve_slow(conn, cid, n, keepalive)
    else:
        serve(conn, cid, mode, n, keepalive, drop, close_on)


def main():
    global LOG
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--mode", default="ok")
    ap.add_argument("--n", type=int, default=1)
    ap.add_argument("--log", default="-")
    ap.add_argument("--keepalive", type=int, default=None)
    ap.add_argument("--drop", default=None)
    ap.add_argument("--close-on", default=None)
    args = ap.parse_args()
    LOG = sys.stdout if args.log == "-" else open(args.log, "a")

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", args.port))
    srv.listen(64)
    log("listening %d mode=%s n=%d" % (args.port, args.mode, args.n))
    while True:
        raw, _ = srv.accept()
        cid = bump("conn")
        threading.Thread(target=handle, args=(ctx, raw, cid, args.mode, args.n, args.keepalive,
                                              args.drop, args.close_on), daemon=True).start()


if __name__ == "__main__":
    main()
