#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# SIGUSR2 (the network changed: the OpenWrt hotplug script sends it on WAN
# up) closes every upstream connection and clears back-off. During a dnsperf
# run, UDP and TCP, three resets cost no query and no SERVFAIL: what was in
# flight on a closed connection is sent again on a new one. A nameserver
# resting after failures is usable again at once.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy.sh"
t_init reset
p_setup
M_PORT=$(t_free_port)
# dnsperf's clients share one address: let it use the whole tables.
p_start proxy -v -p "$P_PORT" -n "$NS" --ca-file "$T/ca.pem" --pool-size 2 \
    --max-inflight-per-client 512 --max-tcp-per-client 64 --metrics "127.0.0.1:$M_PORT"
t_wait_dns 127.0.0.1 "$P_PORT" || t_fail "proxy not answering"
resets() { grep -c 'reset: ' "$P_LOG" || true; }

# usr2 -- send SIGUSR2 and wait for the proxy to log the reset.
usr2() {
    local before
    before=$(resets)
    kill -USR2 "$P_PID"
    t_wait_until 5 "the reset logged" bash -c "(( \$(grep -c 'reset: ' '$P_LOG') > $before ))" ||
        t_fail "no 'reset:' log line after SIGUSR2"
}

# perf MODE -- 6000 queries at 1000 a second, three resets during the run.
perf() {
    local mode=$1 out hs_before hs_after
    t_make_queryfile "$T/q-$mode.txt" 6000
    hs_before=$(( $(p_stat nameserver handshakes) + $(p_stat nameserver resumed) ))
    dnsperf -s 127.0.0.1 -p "$P_PORT" -m "$mode" -d "$T/q-$mode.txt" -n 1 -c 8 -q 200 -Q 1000 \
        -t 5 >"$T/perf-$mode.out" 2>&1 &
    local perf_pid=$!
    local i
    for i in 1 2 3; do
        sleep 1.2 # spread the resets over the run (6 s long)
        usr2
    done
    wait "$perf_pid" || t_fail "dnsperf $mode failed: $(cat "$T/perf-$mode.out")"
    out=$(cat "$T/perf-$mode.out")
    t_assert_match "$out" "Queries completed: +6000 " "$mode: all 6000 queries completed across three resets"
    t_assert_match "$out" "Queries lost: +0 " "$mode: no query lost"
    t_assert_match "$out" "NOERROR 6000 " "$mode: every answer NOERROR (no SERVFAIL)"
    hs_after=$(( $(p_stat nameserver handshakes) + $(p_stat nameserver resumed) ))
    t_assert_le "$((hs_before + 3))" "$hs_after" "$mode: each reset made new connections (handshakes, resumed or not)"
}
perf udp
perf tcp
t_assert_eq "$(p_stat errors servfail)" 0 "no SERVFAIL counted"
t_assert_match "$(grep 'reset: ' "$P_LOG" | tail -n 1)" 'closed [1-9][0-9]* ' "the reset line says how many connections it closed"

# --- Back-off cleared: with the upstream down, the nameserver rests after
# failures; with it back, SIGUSR2 makes it usable at once.
state() { # STATE -> 1 or 0
    curl -sS "http://127.0.0.1:$M_PORT/metrics" |
        awk -v k="dns_tls_proxy_nameserver_state{nameserver=\"$NS\",state=\"$1\"}" '$1 == k { print $2 }'
}
t_stop_unbound
# A failed query, then a look: each failure rests it longer (0.5 s, 1 s,
# 2 s...), so a look soon finds it resting.
fail_and_look() {
    dig +tries=1 +time=3 @127.0.0.1 -p "$P_PORT" "down$RANDOM.load.test" >/dev/null || true
    [[ $(state resting) == 1 ]]
}
t_wait_until 20 "the nameserver resting" fail_and_look ||
    t_fail "the nameserver is not resting after failed queries"
t_pass "the nameserver rests after failures"
t_restart_unbound
usr2
t_assert_eq "$(state resting)" 0 "SIGUSR2 cleared its back-off"
t_assert_match "$(grep 'reset: ' "$P_LOG" | tail -n 1)" 'back-off' "the reset line mentions the back-off cleared"
start=$(t_now_us)
t_assert_eq "$(p_dig up.load.test +short +time=3)" 192.0.2.100 "answers at once after the reset"
t_assert_le "$(t_elapsed_ms "$start")" 1500 "without waiting out the back-off"
t_alive "$P_PID" || t_fail "the proxy died"
t_pass "same process throughout"
