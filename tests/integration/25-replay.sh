#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# When a connection is closed by the server or breaks, the queries in flight
# on it are sent again on another connection, within their deadline: none is
# lost, none is answered twice. When nothing answers, SERVFAIL comes at the
# deadline. (A misbehaving server, tests/integration/fakedot.py, makes the
# faults a real one will not make on demand.)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy.sh"
t_init replay
t_make_pki "$T" dot.test
raw() { "$(dirname "$0")/dnsraw.py" "$@"; }


# Each connection answers 3 queries and then closes cleanly with the rest in
# flight: 20 pipelined queries need 7 connections, and all come back once.
p_fake close-after 3
P_PORT=$(t_free_port)
p_start close -p "$P_PORT" -n "127.0.0.1:$F_PORT:dot.test" --ca-file "$T/ca.pem" --pool-size 1
t_assert_eq "$(raw pipeline "$P_PORT" 20)" "answers=20 distinct=20 matched=20" \
    "server closes after 3 answers: every pipelined query answered once"
t_assert_le 7 "$(grep -c '^conn ' "$F_LOG")" "the queries went out again on new connections"
t_assert_le 1 "$(p_stat nameserver reconnects)" "lost connections counted as reconnects"
t_kill "$P_PID"

# The same with a TCP reset instead of a clean close.
p_fake reset-after 3
P_PORT=$(t_free_port)
p_start reset -p "$P_PORT" -n "127.0.0.1:$F_PORT:dot.test" --ca-file "$T/ca.pem" --pool-size 1
t_assert_eq "$(raw pipeline "$P_PORT" 20)" "answers=20 distinct=20 matched=20" \
    "server resets after 3 answers: every pipelined query answered once"
t_kill "$P_PID"

# A server that never answers: SERVFAIL by the 2 s deadline, not later; the
# silent connection is probed, then judged dead (a connection that never
# answered also rests its nameserver, so the SERVFAIL may come sooner).
p_fake stall 0
P_PORT=$(t_free_port)
p_start stall -p "$P_PORT" -n "127.0.0.1:$F_PORT:dot.test" --ca-file "$T/ca.pem" --timeout 2
start=$(t_now_us)
t_assert_eq "$(p_status "$(p_dig a.test +time=5)")" SERVFAIL "silent server: SERVFAIL"
ms=$(t_elapsed_ms "$start")
t_assert_le 600 "$ms" "silent server: the proxy waited for an answer first"
t_assert_le "$ms" 2300 "silent server: SERVFAIL no later than the deadline"
t_assert_le 2 "$(grep -c '^query ' "$F_LOG")" "silent connection probed"
t_assert_match "$(cat "$P_LOG")" 'no answer even to a probe, connection judged dead' "silent connection judged dead"
t_kill "$P_PID"

# A query after which the server drops the connection (a drop rule that
# resets, or a query that crashes it), asked 4 times a second beside other
# clients. It is blamed for the loss, sent once more after the queries that
# were behind it, and answered SERVFAIL when it takes a second connection
# down; a connection lost that way does not rest the nameserver, so no other
# client sees a SERVFAIL (they did: the resting nameserver failed them all).
p_fake ok 0 --close-on poison.test
P_PORT=$(t_free_port)
p_start poison -p "$P_PORT" -n "127.0.0.1:$F_PORT:dot.test" --ca-file "$T/ca.pem"
t_make_queryfile "$T/q.txt" 3000
# Others ask 300 queries a second throughout: 8 s, the poison is sent
# meanwhile (for 4 s, once they are answered).
dnsperf -s 127.0.0.1 -p "$P_PORT" -d "$T/q.txt" -l 8 -Q 300 -c 4 -q 20 -t 3 >"$T/perf.out" 2>&1 &
PERF=$!
t_wait_until 5 "dnsperf under way" bash -c "(( \$(grep -c 'client: answer' '$P_LOG') >= 30 ))" ||
    t_fail "dnsperf queries not answered"
python3 - "$P_PORT" >"$T/poison.out" <<'PY'
import select, socket, struct, sys, time
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
name = b"\x06poison\x04test\x00"
for i in range(16):
    s.sendto(struct.pack(">HHHHHH", i, 0x0100, 1, 0, 0, 0) + name + b"\0\1\0\1", ("127.0.0.1", port))
    time.sleep(0.25)
rcodes, deadline = {}, time.monotonic() + 5
while len(rcodes) < 16 and select.select([s], [], [], max(0, deadline - time.monotonic()))[0]:
    msg = s.recv(512)
    rcodes[struct.unpack(">H", msg[:2])[0]] = struct.unpack(">H", msg[2:4])[0] & 15
print("answered=%d servfail=%d" % (len(rcodes), list(rcodes.values()).count(2)))
PY
wait "$PERF" || t_fail "dnsperf failed: $(tail -n 5 "$T/perf.out")"
t_assert_match "$(grep 'Queries lost' "$T/perf.out")" 'Queries lost: +0 ' "other clients: no query lost"
t_assert_match "$(grep 'Response codes' "$T/perf.out")" 'Response codes: +NOERROR [0-9]+ \(100\.00%\)$' \
    "other clients: every answer NOERROR, no SERVFAIL"
t_assert_eq "$(cat "$T/poison.out")" "answered=16 servfail=16" "the poison query: SERVFAIL every time, never silence"
t_assert_eq "$(grep -c '^close-on ' "$F_LOG")" 32 "each poison query reached the server twice, no more"
t_assert_le 16 "$(p_stat errors lost_twice)" "the poison queries counted as lost twice"
t_assert_eq "$(p_stat nameserver failures)" 0 "the nameserver was never rested"
