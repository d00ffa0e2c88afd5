#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every table has a bound, and a full table answers at once rather than
# growing. TCP: a client (address) over --max-tcp-per-client is closed at
# once; with every slot taken the client idle longest makes room for a new
# one, and only when none is idle is the new one closed. Queries: one client
# over --max-inflight-per-client gets SERVFAIL at once while others are
# still served; a query over --max-inflight gets SERVFAIL at once. Each is
# counted and logged.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy.sh"
t_init limits
p_setup

# tcp_clients PORT: read "open ADDR" / "query NAME@INDEX" / "state" lines on
# stdin, one action each: open a TCP connection from ADDR, ask a.test on
# connection INDEX and print the answer's rcode (or "closed"), or print
# for every connection "open" or "closed" (closed by the proxy). "open"
# prints the new connection's fate: closed within a second, or open.
tcp_clients() {
    python3 -c '
import select, socket, struct, sys
port, conns = int(sys.argv[1]), []
def closed(s, wait):
    # Closed by the proxy within wait seconds (a taken connection is
    # never sent anything unasked).
    if not select.select([s], [], [], wait)[0]:
        return False
    try:
        return s.recv(1, socket.MSG_PEEK) == b""
    except ConnectionResetError:
        return True
for line in sys.stdin:
    cmd, arg = (line.split() + [""])[:2]
    if cmd == "open":
        s = socket.create_connection(("127.0.0.1", port), timeout=3, source_address=(arg, 0))
        conns.append(s)
        print("closed" if closed(s, 1.0) else "open", flush=True)
    elif cmd == "query":
        name, i = arg.split("@")
        s = conns[int(i)]
        q = struct.pack(">HHHHHH", 7, 0x0100, 1, 0, 0, 0)
        q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0\0\1\0\1"
        try:
            s.sendall(struct.pack(">H", len(q)) + q)
            hdr = s.recv(2)
            msg = s.recv(struct.unpack(">H", hdr)[0]) if len(hdr) == 2 else b""
            print("rcode=%d" % (msg[3] & 15) if len(msg) >= 12 else "closed", flush=True)
        except (socket.timeout, OSError):
            print("noreply", flush=True)
    elif cmd == "state":
        print(" ".join("closed" if closed(s, 0.2) else "open" for s in conns), flush=True)
' "$1"
}

# --- TCP against a real upstream: 3 slots, 2 per client.
P_PORT=$(t_free_port)
p_start tcp -p "$P_PORT" -n "$NS" --ca-file "$T/ca.pem" --max-tcp-clients 3 --max-tcp-per-client 2
out=$(printf '%s\n' "open 127.0.0.2" "open 127.0.0.2" "open 127.0.0.2" "open 127.0.0.3" "state" \
    "open 127.0.0.4" "state" "query a.test@4" | tcp_clients "$P_PORT")
t_assert_eq "$(sed -n 3p <<<"$out")" closed "a third connection from one client (--max-tcp-per-client 2): closed at once"
t_assert_eq "$(sed -n 4p <<<"$out")" open "a connection from another client: taken"
t_assert_eq "$(sed -n 5p <<<"$out")" "open open closed open" "three slots taken"
t_assert_eq "$(sed -n 6p <<<"$out")" open "every slot taken, all idle: a new client is taken"
t_assert_eq "$(sed -n 7p <<<"$out")" "closed open closed open open" "...and the client idle longest was closed for it"
t_assert_eq "$(sed -n 8p <<<"$out")" rcode=0 "the new client is answered"
t_assert_eq "$(p_stat errors tcp_client_limit)" 1 "connection over --max-tcp-per-client counted"
t_assert_eq "$(p_stat errors tcp_evicted)" 1 "idle client closed to make room counted"
t_assert_match "$(cat "$P_LOG")" 'holds 2 TCP connections \(max-tcp-per-client\)' "over --max-tcp-per-client logged"
t_kill "$P_PID"

# --- A server that never answers keeps queries in flight.
p_fake stall 0
P_PORT=$(t_free_port)
p_start proxy -p "$P_PORT" -n "127.0.0.1:$F_PORT:dot.test" --ca-file "$T/ca.pem" \
    --max-tcp-clients 2 --max-inflight 4 --timeout 5
t_assert_match "$("$PROXY" -n "127.0.0.1:$F_PORT:dot.test" --max-inflight 4 --check)" \
    'max-inflight-per-client 1' "--max-inflight-per-client defaults to a quarter of --max-inflight"

# Every slot taken by a client with a query in flight: none is idle, so a
# new connection is closed at once.
busy=$(python3 - "$P_PORT" <<'PY'
import socket, struct, sys, time
port = int(sys.argv[1])
q = struct.pack(">HHHHHH", 7, 0x0100, 1, 0, 0, 0) + b"\x04busy\x04test\x00\x00\x01\x00\x01"
held = []
for src in ("127.0.0.2", "127.0.0.3"):
    s = socket.create_connection(("127.0.0.1", port), timeout=3, source_address=(src, 0))
    s.sendall(struct.pack(">H", len(q)) + q)
    held.append(s)
time.sleep(0.5)
s = socket.create_connection(("127.0.0.1", port), timeout=3, source_address=("127.0.0.4", 0))
t = time.monotonic()
print("closed" if s.recv(1) == b"" else "data", "%.1f" % (time.monotonic() - t))
PY
)
t_assert_eq "$busy" "closed 0.0" "every TCP slot busy (a query in flight each): a new client closed at once"
t_assert_eq "$(p_stat errors tcp_refused)" 1 "refused TCP client counted"
t_wait_until 7 "the held queries timed out" bash -c "grep -c 'error reply' '$P_LOG' | grep -qx 2" ||
    t_fail "the two held TCP queries did not time out"

# One client (the default share: a quarter of 4, so 1 query) asking a name
# that never comes: its next query gets SERVFAIL at once, and another
# client is still served (its query reaches the upstream).
before=$(grep -c '^query ' "$F_LOG")
(dig +tries=1 +time=7 -b 127.0.0.2 @127.0.0.1 -p "$P_PORT" slow1.test >/dev/null &)
t_wait_until 5 "the first query at the upstream" bash -c "(( \$(grep -c '^query ' '$F_LOG') >= $before + 1 ))" ||
    t_fail "the first query did not reach the upstream"
start=$(t_now_us)
t_assert_eq "$(p_status "$(p_dig -b 127.0.0.2 slow2.test)")" SERVFAIL "a second query from the same client: SERVFAIL"
t_assert_le "$(t_elapsed_ms "$start")" 1000 "...at once"
(dig +tries=1 +time=7 -b 127.0.0.3 @127.0.0.1 -p "$P_PORT" other.test >/dev/null &)
t_wait_until 5 "another client's query at the upstream" \
    bash -c "(( \$(grep -c '^query ' '$F_LOG') >= $before + 2 ))" ||
    t_fail "another client's query did not reach the upstream"
t_pass "another client is still served"
t_assert_eq "$(p_stat errors client_limit)" 1 "query over --max-inflight-per-client counted"
t_assert_match "$(cat "$P_LOG")" '127\.0\.0\.2:[0-9]+ has 1 queries in flight \(max-inflight-per-client\)' \
    "over --max-inflight-per-client logged, naming the client"

# Four clients fill the table (--max-inflight 4)...
for src in 127.0.0.4 127.0.0.5; do
    (dig +tries=1 +time=7 -b "$src" @127.0.0.1 -p "$P_PORT" "held-$src.test" >/dev/null &)
done
t_wait_until 5 "four queries at the upstream" bash -c "(( \$(grep -c '^query ' '$F_LOG') >= $before + 4 ))" ||
    t_fail "the four queries did not reach the upstream"
# ...so a query from a fifth gets SERVFAIL straight away.
start=$(t_now_us)
t_assert_eq "$(p_status "$(p_dig -b 127.0.0.6 third.test)")" SERVFAIL "query over --max-inflight: SERVFAIL"
t_assert_le "$(t_elapsed_ms "$start")" 1000 "query over --max-inflight: answered at once"
t_assert_eq "$(p_stat errors table_full)" 1 "full table counted"
t_assert_match "$(cat "$P_LOG")" 'every pending slot is busy' "full table logged"
