#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Load through one proxy: many concurrent clients (dnsperf with 50 client
# sockets) over UDP and TCP, pipelined TCP queries answered in any order,
# every query answered, and the pool reused: over thousands of queries the
# number of TLS handshakes stays at most the pool size.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy.sh"
t_init load
p_setup
POOL=2
# dnsperf's 50 clients share one address: that client may use the whole
# tables (--max-inflight 512, --max-tcp-clients 64), as a forwarder asking
# for many would.
p_start proxy -p "$P_PORT" -n "$NS" --ca-file "$T/ca.pem" --pool-size "$POOL" \
    --max-inflight-per-client 512 --max-tcp-per-client 64
t_wait_dns 127.0.0.1 "$P_PORT" || t_fail "proxy not answering"

# perf MODE CLIENTS OUTSTANDING COUNT -- dnsperf through the proxy; checks
# that every query was answered with NOERROR.
perf() {
    local mode=$1 clients=$2 outstanding=$3 count=$4 out
    t_make_queryfile "$T/q-$mode.txt" "$count"
    out=$(dnsperf -s 127.0.0.1 -p "$P_PORT" -m "$mode" -d "$T/q-$mode.txt" -n 1 \
        -c "$clients" -q "$outstanding" -t 5 2>&1) || t_fail "dnsperf $mode failed: $out"
    t_assert_match "$out" "Queries completed: +$count " "dnsperf $mode: all $count queries completed ($clients clients, $outstanding outstanding)"
    t_assert_match "$out" "Queries lost: +0 " "dnsperf $mode: no query lost"
    t_assert_match "$out" "NOERROR $count " "dnsperf $mode: every answer NOERROR"
}
perf udp 50 200 3000
perf tcp 50 200 3000
perf tcp 4 400 2000   # few connections, many queries pipelined on each

# One TCP connection, 300 queries written at once: every answer comes back
# once, under its own ID with its own question, in whatever order.
out=$("$(dirname "$0")/dnsraw.py" pipeline "$P_PORT" 300)
t_assert_eq "$out" "answers=300 distinct=300 matched=300" "300 pipelined queries on one TCP connection"

# 50 dig processes at once, UDP and TCP mixed.
pids=()
for i in $(seq 1 50); do
    if ((i % 2)); then proto=+notcp; else proto=+tcp; fi
    (dig +tries=1 +time=5 +short @127.0.0.1 -p "$P_PORT" "$proto" "c$i.load.test" >"$T/dig-$i.out") &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
t_assert_eq "$(cat "$T"/dig-*.out | grep -c '^192.0.2.100$')" 50 "50 concurrent dig clients all answered"

t_assert_le "$(p_stat nameserver handshakes)" "$POOL" "TLS handshakes over 8000+ queries stay within the pool size"
t_assert_eq "$(p_stat errors servfail)" 0 "no SERVFAIL under load"

# --batch-window at its bounds, under a fixed rate well above where batching
# starts (1000 wake-ups a second): 0 never waits, 10000 (10 ms) waits the
# longest. Either way every query is answered, and with the longest window
# the average latency stays within a few windows (a window read as
# milliseconds or a wait that never ends would show here).
# rate MODE LABEL -- 6000 queries at 3000 a second; prints dnsperf's output.
rate() {
    local mode=$1 label=$2 out avg
    t_make_queryfile "$T/q-rate-$mode.txt" 6000
    out=$(dnsperf -s 127.0.0.1 -p "$P_PORT" -m "$mode" -d "$T/q-rate-$mode.txt" -n 1 \
        -c 10 -q 500 -Q 3000 -t 5 2>&1) || t_fail "dnsperf $mode ($label) failed: $out"
    t_assert_match "$out" "Queries completed: +6000 " "$label, $mode at 3000 qps: all 6000 queries completed"
    t_assert_match "$out" "Queries lost: +0 " "$label, $mode at 3000 qps: no query lost"
    avg=$(sed -n 's/.*Average Latency (s): *\([0-9.]*\).*/\1/p' <<<"$out" | head -n 1)
    t_assert_le "$(awk -v a="$avg" 'BEGIN { printf "%d", a * 1000 }')" 150 \
        "$label, $mode at 3000 qps: average latency ${avg}s within 150 ms"
}
for w in 0 10000; do
    t_kill "$P_PID"
    p_start "proxy-w$w" -p "$P_PORT" -n "$NS" --ca-file "$T/ca.pem" --pool-size "$POOL" --batch-window "$w" \
        --max-inflight-per-client 512 --max-tcp-per-client 64
    t_wait_dns 127.0.0.1 "$P_PORT" || t_fail "proxy (--batch-window $w) not answering"
    rate udp "--batch-window $w"
    rate tcp "--batch-window $w"
    t_assert_eq "$(p_stat errors servfail)" 0 "--batch-window $w: no SERVFAIL"
done
