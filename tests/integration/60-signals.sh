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

# --- The log file under --user. It is opened as root, then handed to the
# run-time user, so that user can reopen it on SIGHUP: after a rotation that
# recreates the file with the old one's owner and mode (what logrotate's
# "create" does), and after a SIGHUP with no rotation. A symbolic link is
# never followed (root would open whatever it points at).
if (($(id -u) == 0)); then
    chmod 755 "$T"
    mkdir -m 755 "$T/logs"
    ULOG=$T/logs/proxy.log
    P_PORT=$(t_free_port)
    t_spawn user "$PROXY" -v -l "$ULOG" -p "$P_PORT" -n "$NS" --ca-file "$T/ca.pem" --user 65534:65534
    P_PID=$T_PID
    t_register_log "$ULOG"
    t_wait_listen "$P_PORT" udp || t_fail "proxy with --user did not bind"
    t_assert_eq "$(p_dig a.test +short)" 192.0.2.1 "answers with --user and -l"
    t_assert_eq "$(stat -c '%u %a' "$ULOG")" "65534 640" "the log file belongs to the run-time user, mode 640"
    mv "$ULOG" "$ULOG.1"
    install -m "$(stat -c %a "$ULOG.1")" -o "$(stat -c %u "$ULOG.1")" -g "$(stat -c %g "$ULOG.1")" \
        /dev/null "$ULOG"
    kill -HUP "$P_PID"
    t_wait_until 5 "the reopen logged in the new file" grep -q 'log file reopened' "$ULOG" ||
        t_fail "under --user, SIGHUP did not reopen the rotated log: $(tail -n 2 "$ULOG.1")"
    t_pass "under --user, SIGHUP reopens the log after a rotation"
    kill -HUP "$P_PID"
    t_wait_until 5 "a second reopen" bash -c "(( \$(grep -c 'log file reopened' '$ULOG') >= 2 ))" ||
        t_fail "under --user, SIGHUP without rotation did not reopen the log"
    t_pass "under --user, SIGHUP without rotation reopens the same file"
    t_kill "$P_PID"

    ln -s "$T/logs/elsewhere" "$T/logs/link.log"
    rc=0
    out=$(timeout 10 "$PROXY" -l "$T/logs/link.log" -p "$(t_free_port)" -n "$NS" --ca-file "$T/ca.pem" \
        --user 65534:65534 2>&1) || rc=$?
    t_assert_eq "$rc" 1 "a symbolic link as the log file: refused at start-up"
    t_assert_match "$out" 'symbolic link' "the refusal says why"
    [[ ! -e $T/logs/elsewhere ]] || t_fail "the symbolic link's target was created"
    t_pass "the symbolic link's target was not touched"
fi
