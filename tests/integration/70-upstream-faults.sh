#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Upstream faults a real server will not make on demand (fakedot.py), and
# what the client sees: replay after a reset mid-record or a bare length
# prefix; bad answers (garbage, wrong ID, wrong question, a message shorter
# than its prefix) discarded and counted, never forwarded; a stalled or
# lying nameserver does not stop the others from serving; with every
# nameserver black-holed, SERVFAIL comes at once, and service resumes soon
# after one comes back.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy.sh"
t_init upstream-faults
t_make_pki "$T" dot.test
raw() { "$(dirname "$0")/dnsraw.py" "$@"; }
proxy() { # NAME ARGS...
    local name=$1
    shift
    P_PORT=$(t_free_port)
    p_start "$name" -p "$P_PORT" --ca-file "$T/ca.pem" "$@"
}

for mode in reset-mid prefix-close; do
    p_fake "$mode" 2
    proxy "$mode" -n "127.0.0.1:$F_PORT:dot.test" --pool-size 1
    t_assert_eq "$(raw pipeline "$P_PORT" 12)" "answers=12 distinct=12 matched=12" \
        "$mode after 2 answers: every pipelined query answered once"
    t_assert_le 2 "$(grep -c '^conn ' "$F_LOG")" "$mode: queries went out again on a new connection"
    t_kill "$P_PID"
done

# A server that completes the handshake and closes before answering: the
# nameserver rests like one that refuses connections (no reconnect loop).
p_fake close-after 0
proxy close-at-once -n "127.0.0.1:$F_PORT:dot.test" --timeout 3
start=$(t_now_us)
t_assert_eq "$(p_status "$(p_dig a.test +time=5)")" SERVFAIL "server closing before any answer: SERVFAIL"
t_assert_le "$(t_elapsed_ms "$start")" 1000 "server closing before any answer: SERVFAIL within a second"
t_assert_le "$(grep -c '^conn ' "$F_LOG")" 3 "server closing before any answer: no reconnect loop"
t_kill "$P_PID"

# Bad answers: the client gets SERVFAIL, never the bad bytes.
for mode in garbage wrong-id wrong-question long-answer; do
    p_fake "$mode" 0
    proxy "$mode" -n "127.0.0.1:$F_PORT:dot.test" --timeout 1
    out=$(p_dig a.test +time=4)
    t_assert_eq "$(p_status "$out")" SERVFAIL "$mode: SERVFAIL"
    t_assert_match "$out" 'ANSWER: 0,' "$mode: nothing from the bad answer reached the client"
    case $mode in
    wrong-id) t_assert_le 1 "$(p_stat errors unmatched)" "$mode: counted as unmatched" ;;
    long-answer) t_assert_match "$(cat "$P_LOG")" 'connection judged dead' "$mode: the connection judged dead" ;;
    *) t_assert_le 1 "$(p_stat nameserver bad_answers)" "$mode: counted as a bad answer" ;;
    esac
    t_kill "$P_PID"
done

# A slow but healthy resolver (2 s per answer, inside the 3 s deadline): the
# answer is waited for, the connection is probed, not torn down.
p_fake slow 2000
proxy slow -n "127.0.0.1:$F_PORT:dot.test" --timeout 3
for i in 1 2 3; do
    start=$(t_now_us)
    t_assert_eq "$(p_dig "slow$i.test" +short +time=5)" 192.0.2.53 "slow resolver: answer #$i arrives"
    t_assert_le "$(t_elapsed_ms "$start")" 2800 "slow resolver: answer #$i within the deadline"
done
t_assert_eq "$(grep -c '^conn ' "$F_LOG")" 1 "slow resolver: one connection throughout (probed, not torn down)"
t_kill "$P_PID"

# A stalled nameserver and a lying one next to a good one: every query is
# answered (by the good one, after a replay when needed), within the deadline.
U_PORT=$(t_free_port)
t_start_unbound "$T/unbound" "$U_PORT" "$T/server.pem" "$T/server.key"
for mode in stall garbage; do
    p_fake "$mode" 0
    proxy "two-$mode" -n "127.0.0.1:$F_PORT:dot.test" -n "127.0.0.1:$U_PORT:dot.test" --timeout 3
    ok=0
    for i in $(seq 1 10); do
        [[ $(p_dig "a.test" +short +time=4) == 192.0.2.1 ]] && ok=$((ok + 1))
    done
    t_assert_eq "$ok" 10 "$mode nameserver first in the list: the good one answers all 10 queries"
    t_kill "$P_PID"
done

# A nameserver whose answers never match (wrong question or ID), first in
# the list: after its first timeouts the good one takes the traffic.
for mode in wrong-question wrong-id; do
    p_fake "$mode" 0
    proxy "liar-$mode" -n "127.0.0.1:$F_PORT:dot.test" -n "127.0.0.1:$U_PORT:dot.test" --timeout 1
    ok=0
    for i in $(seq 1 30); do
        [[ $(p_dig "l$i.load.test" +short +time=2) == 192.0.2.100 ]] && ok=$((ok + 1))
    done
    t_assert_le 27 "$ok" "$mode nameserver first: the good one answers (of 30)"
    t_kill "$P_PID"
done

# Every nameserver black-holed: connects time out (a listener whose accept
# queue is full drops SYNs). The first query waits for --connect-timeout,
# the next ones get SERVFAIL at once; when the nameserver comes back,
# service resumes within a few seconds, same process.
B_PORT=$(t_free_port)
t_spawn blackhole python3 -c '
import socket, sys, time
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1]))); srv.listen(0)
held = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
print("ready", flush=True); time.sleep(600)' "$B_PORT"
BH_PID=$T_PID
t_wait_until 5 "black hole ready" grep -q ready "$T/blackhole.log" || t_fail "black hole not ready"
proxy blackhole -n "127.0.0.1:$B_PORT:dot.test" --timeout 3 --connect-timeout 1
start=$(t_now_us)
t_assert_eq "$(p_status "$(p_dig a.test +time=5)")" SERVFAIL "black hole: SERVFAIL"
t_assert_le "$(t_elapsed_ms "$start")" 1800 "black hole: first SERVFAIL after the connect timeout, not the query deadline"
# "At once" is the proxy's own count of queries failed without waiting
# (fast_fail); the time bound, under the 1 s connect timeout each would
# otherwise wait, leaves room for a loaded machine's dig start-up.
ff_before=$(p_stat errors fast_fail)
for i in 1 2 3; do
    start=$(t_now_us)
    t_assert_eq "$(p_status "$(p_dig a.test +time=5)")" SERVFAIL "black hole: SERVFAIL #$i"
    t_assert_le "$(t_elapsed_ms "$start")" 900 "black hole: SERVFAIL #$i without waiting for a connect"
done
t_assert_eq "$(p_stat errors fast_fail)" $((ff_before + 3)) "black hole: the 3 SERVFAILs counted as fast_fail (answered at once)"
t_kill "$BH_PID"
t_start_unbound "$T/back" "$B_PORT" "$T/server.pem" "$T/server.key"
start=$(t_now_us)
t_wait_until 10 "answers after the nameserver came back" \
    bash -c "dig +short +tries=1 +time=1 @127.0.0.1 -p $P_PORT a.test | grep -qx 192.0.2.1" ||
    t_fail "no answer within 10 s of the nameserver coming back"
t_assert_le "$(t_elapsed_ms "$start")" 3000 "service resumed within 3 s of the nameserver coming back"
