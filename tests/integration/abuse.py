#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Abusive TCP clients for the integration tests. Each prints one result line.

  abuse.py zero PORT              send a zero length prefix: "closed" expected
  abuse.py silent PORT            a length prefix, then nothing: time to close
  abuse.py slowloris PORT SECS    a query one byte every 0.2 s: time to close
  abuse.py idle PORT N SECS       open N connections, hold them SECS; prints
                                  how many the proxy closed at once, later, never
  abuse.py rst PORT                a query, a malformed message, half-close, then
                                  close with the reply unread (the kernel sends RST)
  abuse.py noread PORT N SECS     pipeline N queries for the big TXT answer and
                                  never read, for SECS seconds; prints "port P"
                                  (its own port) first
  abuse.py flood PORT SECS        stream 1-byte messages (dropped, never answered)
                                  as fast as it can for SECS seconds, reconnecting
                                  when closed; prints "closes=N first=T" (T: seconds
                                  until the first close, or "none")
  abuse.py refused PORT           two queries in one write, read the answers, then
                                  wait for the proxy to close: "rcodes=A,B closed T"
                                  (no rcodes when it closed without answering)
"""
import select
import socket
import struct
import sys
import time


def query(qid, name, qtype=1):
    msg = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        msg += bytes([len(label)]) + label.encode()
    return msg + b"\0" + struct.pack(">HH", qtype, 1)


def conn(port, timeout=15):
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def wait_close(s):
    """Seconds until the peer closes (reads and discards whatever comes)."""
    start = time.monotonic()
    try:
        while s.recv(65536):
            pass
        return "closed %.1f" % (time.monotonic() - start)
    except socket.timeout:
        return "open"
    except ConnectionResetError:
        return "closed %.1f" % (time.monotonic() - start)


def main():
    cmd, port = sys.argv[1], int(sys.argv[2])
    if cmd == "zero":
        s = conn(port, 5)
        s.sendall(b"\x00\x00")
        print(wait_close(s).split()[0])
    elif cmd == "silent":
        s = conn(port)
        s.sendall(b"\x00\x20")
        print(wait_close(s))
    elif cmd == "slowloris":
        s = conn(port)
        q = query(1, "a.test")
        data = struct.pack(">H", len(q)) + q
        start = time.monotonic()
        limit = float(sys.argv[3])
        s.settimeout(0.2)
        i = 0
        while time.monotonic() - start < limit:
            try:
                if i < len(data) - 1:  # never the last byte
                    s.send(data[i:i + 1])
                    i += 1
                if s.recv(1) == b"":
                    print("closed %.1f" % (time.monotonic() - start))
                    return
            except socket.timeout:
                continue
            except (BrokenPipeError, ConnectionResetError):
                print("closed %.1f" % (time.monotonic() - start))
                return
        print("open")
    elif cmd == "idle":
        # Each connection is judged by how long after its own connect it
        # was closed: "at once" under AT_ONCE seconds (the proxy's table was
        # full), "later" after that (it held a slot until the idle timeout).
        # Closes are watched while connecting, so a slow proxy (a sanitizer
        # build on a busy machine) cannot make a held slot look refused.
        n, hold = int(sys.argv[3]), float(sys.argv[4])
        AT_ONCE = 1.0
        opened = {}
        poller = select.poll()
        at_once = later = 0

        def reap(timeout_ms):
            nonlocal at_once, later
            for fd, _ in poller.poll(timeout_ms):
                sock, t_open = opened[fd]
                try:
                    if sock.recv(1) != b"":
                        continue
                except BlockingIOError:
                    continue
                except ConnectionResetError:
                    pass
                if time.monotonic() - t_open < AT_ONCE:
                    at_once += 1
                else:
                    later += 1
                poller.unregister(fd)
                del opened[fd]
                sock.close()

        total = 0
        for _ in range(n):
            try:
                sock = conn(port, 5)
            except OSError:
                continue
            sock.setblocking(False)
            total += 1
            opened[sock.fileno()] = (sock, time.monotonic())
            poller.register(sock.fileno(), select.POLLIN)
            reap(0)
        deadline = time.monotonic() + hold
        while opened and time.monotonic() < deadline:
            reap(100)
        print("opened=%d closed_at_once=%d closed_later=%d still_open=%d" % (
            total, at_once, later, len(opened)))
    elif cmd == "rst":
        s = conn(port, 5)
        q = query(7, "a.test")
        bad = b"\x00\x07" + b"\x00" * 12
        s.sendall(struct.pack(">H", len(q)) + q + struct.pack(">H", len(bad)) + bad)
        s.shutdown(socket.SHUT_WR)
        time.sleep(0.2)
        s.close()
        print("reset")
    elif cmd == "noread":
        n, hold = int(sys.argv[3]), float(sys.argv[4])
        s = conn(port, 30)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        print("port %d" % s.getsockname()[1], flush=True)
        blob = b""
        for i in range(n):
            q = query(i, "big.test", 16)
            blob += struct.pack(">H", len(q)) + q
        s.setblocking(False)
        sent = 0
        deadline = time.monotonic() + hold
        while time.monotonic() < deadline:
            try:
                if sent < len(blob):
                    sent += s.send(blob[sent:])
            except BlockingIOError:
                pass
            except (BrokenPipeError, ConnectionResetError):
                break
            time.sleep(0.05)
        print("sent %d of %d bytes, read nothing" % (sent, len(blob)))
    elif cmd == "flood":
        hold = float(sys.argv[3])
        blob = b"\x00\x01\x00" * 20000
        start = time.monotonic()
        closes, first = 0, None
        s = conn(port, 5)
        s.setblocking(False)
        off = 0  # a partial send must not cut the stream out of step
        while time.monotonic() - start < hold:
            try:
                off = (off + s.send(blob[off:])) % len(blob)
            except BlockingIOError:
                select.select([s], [s], [], 0.01)
            except (BrokenPipeError, ConnectionResetError):
                closes += 1
                if first is None:
                    first = time.monotonic() - start
                s.close()
                s = conn(port, 5)
                s.setblocking(False)
                off = 0
        s.close()
        print("closes=%d first=%s" % (closes, "none" if first is None else "%.1f" % first))
    elif cmd == "refused":
        s = conn(port, 5)
        blob = b""
        for qid in (1, 2):
            q = query(qid, "a.test")
            blob += struct.pack(">H", len(q)) + q
        rcodes = []
        buf = b""
        try:
            s.sendall(blob)
            while len(rcodes) < 2:
                chunk = s.recv(4096)
                if not chunk:
                    break
                buf += chunk
                while len(buf) >= 2 and len(buf) >= 2 + (n := struct.unpack(">H", buf[:2])[0]):
                    rcodes.append(str(buf[2 + 3] & 0x0F))  # the header's RCODE
                    buf = buf[2 + n:]
        except (socket.timeout, BrokenPipeError, ConnectionResetError):
            pass  # closed before (or without) answering: wait_close says when
        print("rcodes=%s %s" % (",".join(rcodes), wait_close(s)))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
