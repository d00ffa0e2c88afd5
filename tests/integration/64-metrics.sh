#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The metrics endpoint (--metrics ADDR:PORT): GET /metrics in the Prometheus
# text format (promtool check metrics), GET /stats.json with the same
# figures, HEAD; every bad request a 4xx and a closed connection; abusive
# HTTP clients (slow, huge headers, pipelined garbage, more than the client
# limit) get closed and never stall DNS.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy.sh"
t_need_feature metrics
t_init metrics
p_setup
M_PORT=$(t_free_port)
p_start proxy -p "$P_PORT" -n "$NS" --ca-file "$T/ca.pem" --metrics "127.0.0.1:$M_PORT"
t_wait_listen "$M_PORT" tcp || t_fail "the metrics endpoint is not listening"
t_wait_dns 127.0.0.1 "$P_PORT" || t_fail "proxy not answering"
URL=http://127.0.0.1:$M_PORT

for i in 1 2 3 4 5; do p_dig "u$i.load.test" +short >/dev/null; done
for i in 1 2; do p_dig "t$i.load.test" +tcp +short >/dev/null; done
p_dig nx.test >/dev/null
# A zone transfer from outside --allow-transfer (none given): REFUSED, counted.
p_dig load.test AXFR >/dev/null || true

# --- GET /metrics
curl -sS -D "$T/m.head" -o "$T/m.body" "$URL/metrics" || t_fail "curl $URL/metrics failed"
t_assert_match "$(head -n 1 "$T/m.head")" '^HTTP/1.1 200' "GET /metrics: 200"
t_assert_match "$(cat "$T/m.head")" $'Content-Type: text/plain; version=0.0.4' "Prometheus text format 0.0.4"
out=$(promtool check metrics <"$T/m.body" 2>&1) || t_fail "promtool check metrics: $out"
t_pass "promtool check metrics accepts it"
metric() { # NAME{LABELS} -> its value (first match)
    awk -v k="$1" '$1 == k { print $2; exit }' "$T/m.body"
}
ge() { # VALUE MIN MSG
    awk -v v="$1" -v m="$2" 'BEGIN { exit !(v + 0 >= m + 0) }' || t_fail "$3: $1 < $2"
    t_pass "$3 ($1 >= $2)"
}
ge "$(metric 'dns_tls_proxy_requests_total{listener="udp"}')" 6 "UDP requests counted"
ge "$(metric 'dns_tls_proxy_requests_total{listener="tcp"}')" 2 "TCP requests counted"
ge "$(metric 'dns_tls_proxy_answer_duration_seconds_count')" 8 "latency histogram counts every answer"
ge "$(metric 'dns_tls_proxy_answer_duration_seconds_bucket{le="+Inf"}')" 8 "the +Inf bucket holds them all"
L="nameserver=\"127.0.0.1:$U_PORT:dot.test\""
ge "$(metric "dns_tls_proxy_nameserver_queries_total{$L}")" 8 "per-nameserver queries"
ge "$(metric "dns_tls_proxy_nameserver_answers_total{$L}")" 8 "per-nameserver answers"
ge "$(metric "dns_tls_proxy_nameserver_handshakes_total{$L}")" 1 "per-nameserver handshakes"
ge "$(metric "dns_tls_proxy_nameserver_connections{$L}")" 1 "an open connection"
t_assert_eq "$(metric "dns_tls_proxy_nameserver_state{$L,state=\"up\"}")" 1 "state set: up"
t_assert_eq "$(metric "dns_tls_proxy_nameserver_state{$L,state=\"resting\"}")" 0 "state set: not resting"
awk -v v="$(metric "dns_tls_proxy_nameserver_srtt_seconds{$L}")" 'BEGIN { exit !(v > 0 && v < 3) }' ||
    t_fail "srtt not measured"
t_pass "srtt measured"
t_assert_eq "$(metric 'dns_tls_proxy_servfail_total')" 0 "no SERVFAIL counted"
t_assert_eq "$(metric 'dns_tls_proxy_transfers_refused_total')" 1 "the transfer from outside --allow-transfer counted"
t_assert_eq "$(metric 'dns_tls_proxy_transfers_started_total')" 0 "no transfer relayed"

# --- GET /stats.json: parses, and says what /metrics says.
curl -sS -o "$T/s.json" "$URL/stats.json" || t_fail "curl /stats.json failed"
out=$(python3 - "$T/s.json" "127.0.0.1:$U_PORT:dot.test" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
ns = [n for n in s["nameservers"] if n["nameserver"] == sys.argv[2]]
print(s["listeners"]["udp"]["requests"] >= 6, s["listeners"]["tcp"]["requests"] >= 2,
      len(ns) == 1 and ns[0]["state"] == "up", s["answer_duration"]["count"] >= 8,
      s["transfers"]["refused"] == 1 and s["transfers"]["started"] == 0)
PY
) || t_fail "/stats.json does not parse: $(head -c 300 "$T/s.json")"
t_assert_eq "$out" "True True True True True" "/stats.json parses and carries the same figures"

# --- HEAD, and the errors: each a 4xx/5xx and a closed connection.
t_assert_match "$(curl -sS -I "$URL/metrics")" '^HTTP/1.1 200' "HEAD /metrics: 200"
t_assert_eq "$(curl -sS -o /dev/null -w '%{http_code}' "$URL/nope")" 404 "another path: 404"
t_assert_eq "$(curl -sS -o /dev/null -w '%{http_code}' -X POST --data x "$URL/metrics")" 405 "POST: 405"

# http REQUEST-PYTHON-EXPR -> "STATUS closed|open": send the bytes, read the
# answer, and whether the server closed the connection after it.
http() {
    python3 - "$M_PORT" "$1" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
try:
    s.sendall(eval(sys.argv[2]))
except OSError:
    pass
data = b""
closed = "open"
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    try:
        chunk = s.recv(65536)
    except ConnectionResetError:
        closed = "closed"
        break
    except socket.timeout:
        break
    if not chunk:
        closed = "closed"
        break
    data += chunk
status = data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/1.1 ") else "none"
print(status, closed, data.count(b"HTTP/1.1 "))
PY
}
t_assert_eq "$(http 'b"\x16\x03\x01garbage\r\n\r\n"')" "400 closed 1" "garbage: 400, closed"
t_assert_eq "$(http 'b"GET /metrics HTTP/2.0\r\n\r\n"')" "505 closed 1" "HTTP/2.0 request line: 505, closed"
t_assert_eq "$(http 'b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\n\r\n"')" "414 closed 1" "a 5000-byte target: 414, closed"
t_assert_eq "$(http 'b"GET /metrics HTTP/1.1\r\n" + b"X-Big: " + b"b" * 100000 + b"\r\n\r\n"')" \
    "431 closed 1" "a 100 KB header: 431, closed"
t_assert_eq "$(http 'b"GET /metrics HTTP/1.1\r\n" + b"X: y\r\n" * 200 + b"\r\n"')" "431 closed 1" \
    "200 header fields: 431, closed"
t_assert_eq "$(http 'b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"')" \
    "405 closed 1" "POST with a body: 405, closed"
t_assert_eq "$(http 'b"GET /metrics HTTP/1.1\r\n\r\n"')" "400 closed 1" "HTTP/1.1 without Host: 400, closed"
t_assert_eq "$(http 'b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" + b"\x00\xff garbage " * 50')" \
    "200 closed 1" "pipelined garbage after a request: one answer, then closed"
t_assert_eq "$(http 'b"GET /stats.json HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"')" \
    "200 closed 1" \
    "two pipelined requests: one answer, then closed"

# --- Slow clients hold every client slot: each is closed after the request
# timeout, a client over the limit is closed at once, and DNS never waits.
python3 - "$M_PORT" >"$T/slow.out" 2>&1 <<'PY' &
import socket, sys, time
port = int(sys.argv[1])
conns = []
for i in range(6):   # more than the endpoint's client limit
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    conns.append(s)
# A valid request head, a byte at a time, never finished.
head = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 10000
sent = [0] * len(conns)
t0 = time.monotonic()
closed = {}
while len(closed) < len(conns) and time.monotonic() - t0 < 20:
    for i, s in enumerate(conns):
        if i in closed:
            continue
        try:
            s.send(head[sent[i]:sent[i] + 1])
            sent[i] += 1
        except OSError:
            closed[i] = time.monotonic() - t0
            continue
        s.settimeout(0.01)
        try:
            if s.recv(4096) == b"":
                closed[i] = time.monotonic() - t0
        except socket.timeout:
            pass
        except OSError:
            closed[i] = time.monotonic() - t0
    time.sleep(0.3)
print("closed", len(closed), "of", len(conns))
print("last", round(max(closed.values()) if closed else -1, 1))
PY
SLOW=$!
worst=0
for i in $(seq 1 20); do
    start=$(t_now_us)
    t_assert_eq "$(p_dig "slow$i.load.test" +short)" 192.0.2.100 "DNS answers while slow HTTP clients hang on (#$i)" >/dev/null
    ms=$(t_elapsed_ms "$start")
    ((ms > worst)) && worst=$ms
    sleep 0.2
done
t_assert_le "$worst" 1500 "the slowest DNS answer beside slow HTTP clients"
wait "$SLOW" || true
t_assert_match "$(cat "$T/slow.out")" 'closed 6 of 6' "every slow HTTP client was closed"
t_assert_match "$(cat "$T/slow.out")" 'last ([0-9]|1[0-2])\.' "closed within the request timeout"
t_assert_eq "$(curl -sS -o /dev/null -w '%{http_code}' "$URL/metrics")" 200 "the endpoint serves again afterwards"
curl -sS -o "$T/m.body" "$URL/metrics"
ge "$(metric 'dns_tls_proxy_metrics_requests_total{result="timeout"}')" 1 "timeouts counted"
ge "$(metric 'dns_tls_proxy_metrics_requests_total{result="error"}')" 8 "errors counted"
t_alive "$P_PID" || t_fail "the proxy died"
t_pass "the proxy lives"

# --- Off by default: no listener.
t_kill "$P_PID"
P_PORT=$(t_free_port)
p_start plain -p "$P_PORT" -n "$NS" --ca-file "$T/ca.pem"
t_wait_dns 127.0.0.1 "$P_PORT" || t_fail "proxy not answering"
[[ -z $(ss -Hltn "sport = :$M_PORT") ]] || t_fail "something listens on the metrics port without --metrics"
t_pass "no endpoint without --metrics"
