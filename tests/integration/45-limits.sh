#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every table has a bound, and a full table answers at once rather than
# growing: a TCP connection over --max-tcp-clients is closed immediately and
# counted; a query over --max-inflight gets SERVFAIL immediately and counted.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy.sh"
t_init limits
t_make_pki "$T" dot.test

# A server that never answers keeps queries in flight.
p_fake stall 0
P_PORT=$(t_free_port)
p_start proxy -p "$P_PORT" -n "127.0.0.1:$F_PORT:dot.test" --ca-file "$T/ca.pem" \
    --max-tcp-clients 2 --max-inflight 2 --timeout 4

out=$(python3 - "$P_PORT" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
time.sleep(0.3)
s = socket.create_connection(("127.0.0.1", port), timeout=3)
t = time.monotonic()
print("closed" if s.recv(1) == b"" else "data", "%.1f" % (time.monotonic() - t))
PY
)
t_assert_eq "$out" "closed 0.0" "TCP client over the limit closed at once"
t_assert_eq "$(p_stat errors tcp_refused)" 1 "refused TCP client counted"

# Two queries fill the table (the server never answers them)...
for i in 1 2; do (dig +tries=1 +time=6 @127.0.0.1 -p "$P_PORT" "held$i.test" >/dev/null &); done
t_wait_until 5 "two queries at the upstream" bash -c "(( \$(grep -c '^query ' '$F_LOG') >= 2 ))" ||
    t_fail "the two queries did not reach the upstream"
# ...so a third gets SERVFAIL straight away.
start=$(t_now_us)
t_assert_eq "$(p_status "$(p_dig third.test)")" SERVFAIL "query over --max-inflight: SERVFAIL"
t_assert_le "$(t_elapsed_ms "$start")" 1000 "query over --max-inflight: answered at once"
t_assert_eq "$(p_stat errors table_full)" 1 "full table counted"
t_assert_match "$(cat "$P_LOG")" 'every pending slot is busy' "full table logged"
