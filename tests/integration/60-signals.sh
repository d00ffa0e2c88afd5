#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Lifecycle: stats every --stats-interval with -s and on SIGUSR1, SIGHUP
# reopens the log file (rotation), idle TCP clients are closed after
# --tcp-idle-timeout, SIGTERM stops cleanly with exit status 0.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy.sh"
t_init signals
p_setup
LOG=$T/proxy-file.log
t_spawn proxy "$PROXY" -v -s --stats-interval 1 -l "$LOG" -p "$P_PORT" -n "$NS" \
    --ca-file "$T/ca.pem" --tcp-idle-timeout 0.5
P_PID=$T_PID
P_LOG=$LOG
t_register_log "$LOG"
t_wait_listen "$P_PORT" udp
t_assert_eq "$(p_dig a.test +short)" 192.0.2.1 "answers with -l/-s/-v"
t_assert_match "$(grep started "$LOG")" ' - INFO - dns-tls-proxy [0-9.]+ started' "-l: logs go to the file"

stats_lines() { grep -c -- '--- Stats of the proxy: #requests' "$LOG" || true; }
t_wait_until 5 "two periodic stats lines" bash -c "(( \$(grep -c -- '--- Stats of the proxy' '$LOG') >= 2 ))" ||
    t_fail "no periodic stats within 5 s with --stats-interval 1"
t_pass "-s --stats-interval 1 logs stats periodically"
t_assert_match "$(grep -- '--- Stats of UDP listener' "$LOG" | tail -n 1)" \
    '#requests [1-9][0-9]* / qps [0-9.]+ / avg_time [0-9.]+ms' "UDP listener stats in the original format"
t_assert_match "$(grep -- '--- Stats of nameserver' "$LOG" | tail -n 1)" \
    'queries [0-9]+ / answers [0-9]+ / failures 0 / auth_failures 0 / timeouts 0 / reconnects 0 / handshakes 1' \
    "per-nameserver stats"
t_assert_eq "$(p_stat 'the proxy' '#requests')" 1 "SIGUSR1 dumps the stats"

# SIGHUP reopens the log file: rotate it and the new file fills.
mv "$LOG" "$LOG.1"
kill -HUP "$P_PID"
t_wait_until 5 "a new log file after SIGHUP" test -s "$LOG" || t_fail "no new log file after SIGHUP"
t_assert_match "$(cat "$LOG")" 'log file reopened' "SIGHUP reopened the log file"

# An idle TCP client is closed after --tcp-idle-timeout.
out=$(python3 - "$P_PORT" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
t = time.monotonic()
print("closed" if s.recv(1) == b"" else "data", round(time.monotonic() - t, 1))
PY
)
t_assert_match "$out" '^closed 0\.[4-9]|^closed 1\.[0-5]' "idle TCP client closed after about 0.5 s"

t_kill "$P_PID"
t_assert_eq "$T_EXIT_STATUS" 0 "SIGTERM: clean exit, status 0"
t_assert_match "$(cat "$LOG")" 'stopped' "SIGTERM: logged the stop"

# SIGTERM with a query in flight (the server never answers): the client gets
# SERVFAIL when the grace time ends, not silence.
p_fake stall 0
P_PORT=$(t_free_port)
p_start stalled -p "$P_PORT" -n "127.0.0.1:$F_PORT:dot.test" --ca-file "$T/ca.pem" --timeout 5
p_dig held.test +time=4 >"$T/held.out" &
DIG=$!
t_wait_until 5 "the query at the upstream" grep -q '^query ' "$F_LOG" || t_fail "query did not reach the upstream"
kill -TERM "$P_PID"
wait "$DIG" || true
t_assert_eq "$(p_status "$(cat "$T/held.out")")" SERVFAIL "in-flight query answered SERVFAIL at shutdown"
t_wait_exit "$P_PID" 3 || t_fail "proxy did not exit after SIGTERM"
t_assert_eq "$T_EXIT_STATUS" 0 "exit status 0"
