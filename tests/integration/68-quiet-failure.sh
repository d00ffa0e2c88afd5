#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# While the upstream is down the proxy stays quiet and patient: a failed
# connection is tried again at most once a second (not straight after the
# first failure), a certificate failure is not retried at once (it cannot
# help), failure lines are rate-limited per nameserver (one, then at most
# one a minute with a count), and one line says when it works again.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy.sh"
t_init quiet-failure
t_make_pki "$T" dot.test
P_PORT=$(t_free_port)
D_PORT=$(t_free_port)
NS=127.0.0.1:$D_PORT:dot.test

# A server that takes TCP connections and closes them at once, logging the
# time of each (CLOCK_MONOTONIC): every handshake fails.
t_spawn closer python3 -c '
import socket, sys, time
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1]))); srv.listen(16)
log = open(sys.argv[2], "a")
while True:
    c, _ = srv.accept()
    log.write("accept t=%.3f\n" % time.monotonic()); log.flush()
    c.close()
' "$D_PORT" "$T/closer.log"
CLOSER=$T_PID
t_wait_listen "$D_PORT" tcp || t_fail "the closing server did not start"

# gaps FILE PATTERN -> the smallest gap (ms) between the t= times of the
# lines matching PATTERN, or "none" with fewer than two.
gaps() {
    awk -v p="$2" '$0 ~ p { sub(/.*t=/, ""); t = $1 + 0; if (n++) { g = (t - last) * 1000; if (min == "" || g < min) min = g } last = t }
        END { if (n < 2) print "none"; else printf "%d\n", min }' "$1"
}

p_start proxy -p "$P_PORT" -n "$NS" --ca-file "$T/ca.pem" --timeout 2 --connect-timeout 1
t_assert_eq "$(p_status "$(p_dig first.test)")" SERVFAIL "upstream down: SERVFAIL"
t_wait_until 5 "the first connection" grep -q accept "$T/closer.log" || t_fail "no connection attempt"
sleep 2.5 # let any retries happen: they must be a second apart
g=$(gaps "$T/closer.log" accept)
[[ $g == none ]] || t_assert_le 900 "$g" "connection attempts at least a second apart (smallest gap $g ms)"
t_pass "no attempt straight after the first failure ($(grep -c accept "$T/closer.log") in 2.5 s)"

# Twenty failing queries over a few seconds: one failure line, not twenty.
for i in $(seq 1 20); do p_dig "down$i.test" +time=3 >/dev/null || true; sleep 0.1; done
t_assert_eq "$(grep -c 'cannot reach' "$P_LOG")" 1 "one 'cannot reach' line for the whole outage so far"
t_assert_le 1 "$(p_stat nameserver failures)" "the failures are counted all the same"

# The nameserver comes back: one line says so, with the outage's figures.
t_kill "$CLOSER"
t_start_unbound "$T/u" "$D_PORT" "$T/server.pem" "$T/server.key"
t_wait_until 20 "answers again" bash -c "dig +short +tries=1 +time=1 @127.0.0.1 -p $P_PORT a.test | grep -qx 192.0.2.1" ||
    t_fail "no answer after the nameserver came back"
t_pass "answers again"
t_assert_eq "$(grep -c 'works again' "$P_LOG")" 1 "one line says the nameserver works again"
t_assert_match "$(grep 'works again' "$P_LOG")" "$NS.*[0-9]+ failures" "naming it and the failures of the outage"
t_kill "$P_PID"

# A certificate failure: another CA's certificate. Not retried at once.
p_fake ok 0 --cert "$T/other-server.pem" --key "$T/other-server.key"
P_PORT=$(t_free_port)
p_start auth -p "$P_PORT" -n "127.0.0.1:$F_PORT:dot.test" --ca-file "$T/ca.pem" --timeout 2
t_assert_eq "$(p_status "$(p_dig auth1.test)")" SERVFAIL "a certificate failure: SERVFAIL"
t_wait_until 5 "the first handshake" grep -q '^accept' "$F_LOG" || t_fail "no handshake attempt"
sleep 1.5
t_assert_eq "$(grep -c '^accept' "$F_LOG")" 1 "a certificate failure is not tried again at once"
t_assert_eq "$(grep -c 'AUTHENTICATION FAILED' "$P_LOG")" 1 "and logged once"
for i in $(seq 1 10); do p_dig "auth-more$i.test" +time=3 >/dev/null || true; sleep 0.2; done
t_assert_eq "$(grep -c 'AUTHENTICATION FAILED' "$P_LOG")" 1 "ten more queries: still one AUTHENTICATION FAILED line"
g=$(gaps "$F_LOG" '^accept')
[[ $g == none ]] || t_assert_le 900 "$g" "certificate failures: attempts at least a second apart (smallest gap $g ms)"
