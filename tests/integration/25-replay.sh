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
