#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The upstream goes away and comes back, under one proxy process: clients get
# SERVFAIL quickly while it is down (not after the query deadline or minutes
# of back-off), and answers again once it is back, with no restart.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy.sh"
t_init upstream-down
p_setup
# No cache: a name it holds would be served stale while the upstream is
# down (18-cache tests that).
p_start proxy -p "$P_PORT" -n "$NS" --ca-file "$T/ca.pem" --timeout 3 --cache-size 0
t_assert_eq "$(p_dig a.test +short)" 192.0.2.1 "answers while the upstream is up"

t_stop_unbound
for i in 1 2 3; do
    start=$(t_now_us)
    out=$(p_dig a.test +time=5)
    t_assert_eq "$(p_status "$out")" SERVFAIL "SERVFAIL #$i while the upstream is down"
    t_assert_le "$(t_elapsed_ms "$start")" 1000 "SERVFAIL #$i came within a second, not at the 3 s deadline"
done
out=$(p_dig a.test +tcp +time=5)
t_assert_eq "$(p_status "$out")" SERVFAIL "SERVFAIL over TCP while the upstream is down"

t_restart_unbound
t_wait_until 5 "answers again after the upstream came back" \
    bash -c "dig +short +tries=1 +time=1 @127.0.0.1 -p $P_PORT a.test | grep -qx 192.0.2.1" ||
    t_fail "no answer within 5 s of the upstream coming back"
t_pass "answers again after the upstream came back"
t_assert_eq "$(p_dig a.test AAAA +short +tcp)" 2001:db8::1 "TCP answers again too"
t_alive "$P_PID" || t_fail "the proxy is no longer running"
t_pass "same proxy process throughout (pid $P_PID)"
t_assert_le 1 "$(p_stat nameserver failures)" "failed connection attempts are counted"
