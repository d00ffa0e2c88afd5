#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The query log (--log-queries): one line per query, whatever the log level,
# with the client, protocol, name, type, rcode, time and where the answer
# came from (the nameserver, or the proxy for the replies it makes). A name
# chosen by a hostile client is escaped: it cannot split or forge a line,
# in the query log or in any other log line. Off by default.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy.sh"
t_need_feature qlog
t_init query-log
p_setup
raw() { "$(dirname "$0")/dnsraw.py" "$@"; }
qlines() { grep -c ' - QUERY - ' "$P_LOG" || true; }
# last_qline -- the newest query-log line, once there is one more than $1.
last_qline() {
    t_wait_until 5 "a query-log line" bash -c "(( \$(grep -c ' - QUERY - ' '$P_LOG') > $1 ))" ||
        t_fail "no query-log line after query #$(($1 + 1))"
    grep ' - QUERY - ' "$P_LOG" | tail -n 1
}
FROM="from=127\\.0\\.0\\.1:$U_PORT:dot\\.test"
TIME='time=[0-9]+\.[0-9]{2}ms'

p_start proxy -p "$P_PORT" -n "$NS" --ca-file "$T/ca.pem" --log-queries
t_wait_dns 127.0.0.1 "$P_PORT" || t_fail "proxy not answering"
n=$(qlines)
t_assert_match "$(grep ' - QUERY - ' "$P_LOG" | head -n 1)" 'query client=127\.0\.0\.1:[0-9]+ proto=udp qname=a\.test\. qtype=A rcode=[A-Z]+' \
    "the readiness probe was logged"

p_dig q1.load.test +short >/dev/null
t_assert_match "$(last_qline "$n")" \
    " - QUERY - query client=127\\.0\\.0\\.1:[0-9]+ proto=udp qname=q1\\.load\\.test\\. qtype=A rcode=NOERROR $TIME $FROM\$" \
    "UDP query: client, name, type, rcode, time, nameserver"
n=$(qlines)
p_dig +tcp big.test TXT >/dev/null
t_assert_match "$(last_qline "$n")" "proto=tcp qname=big\\.test\\. qtype=TXT rcode=NOERROR $TIME $FROM\$" \
    "TCP query, TXT"
n=$(qlines)
p_dig nx.test AAAA >/dev/null
t_assert_match "$(last_qline "$n")" "qname=nx\\.test\\. qtype=AAAA rcode=NXDOMAIN $TIME $FROM\$" "NXDOMAIN"
n=$(qlines)
p_dig q2.load.test TYPE65280 >/dev/null
t_assert_match "$(last_qline "$n")" "qname=q2\\.load\\.test\\. qtype=TYPE65280 " "an unknown type as TYPEnnn"
n=$(qlines)
raw udp "$P_PORT" abcd010000010000000000000161 >/dev/null
t_assert_match "$(last_qline "$n")" "proto=udp qname=- qtype=- rcode=FORMERR $TIME from=proxy\$" \
    "a malformed query: FORMERR, made by the proxy"

# Exactly one line per query.
n=$(qlines)
for i in 1 2 3 4 5 6 7 8 9 10; do p_dig "c$i.load.test" +short >/dev/null; done
t_wait_until 5 "ten more lines" bash -c "(( \$(grep -c ' - QUERY - ' '$P_LOG') >= $n + 10 ))" ||
    t_fail "fewer than ten query-log lines for ten queries"
sleep 0.3
t_assert_eq "$(($(qlines) - n))" 10 "ten queries, ten lines"

# A hostile name: newline, CR, blanks, a backslash and a whole forged log
# line inside one label. Every byte stays inside one escaped line.
n=$(qlines)
before=$(wc -l <"$P_LOG")
python3 - "$P_PORT" <<'PY'
import socket, struct, sys
label = b"x\n2001-01-01 00:00:00,000Z - ERROR - forged\r \\ \x00\xff"
q = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + bytes([len(label)]) + label + \
    b"\x04test\x00" + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.sendto(q, ("127.0.0.1", int(sys.argv[1])))
s.recv(4096)
PY
line=$(last_qline "$n")
t_assert_match "$line" 'qname=x\\010' "the newline is written \\010"
t_assert_match "$line" 'forged\\013\\032\\\\\\032\\000\\255\.test\. qtype=A' "CR, blank, backslash, NUL, 0xff escaped"
t_assert_eq "$(tail -n +"$((before + 1))" "$P_LOG" | grep -c '^2001-01-01' || true)" 0 "no forged line in the log"
t_assert_eq "$(tail -n +"$((before + 1))" "$P_LOG" | grep -c 'forged' || true)" \
    "$(tail -n +"$((before + 1))" "$P_LOG" | grep 'forged' | grep -c '^20[0-9][0-9]-.* - [A-Z]* - ' || true)" \
    "every line naming it (debug lines too) is a whole log line"
t_assert_eq "$(tail -n +"$((before + 1))" "$P_LOG" | grep -c $'\r' || true)" 0 "no raw CR in the log"

# Whatever the log level: no -v/-d, the lines still come.
t_kill "$P_PID"
P_PORT=$(t_free_port)
t_spawn quiet "$PROXY" -p "$P_PORT" -n "$NS" --ca-file "$T/ca.pem" --log-queries
P_PID=$T_PID
P_LOG=$T/quiet.log
t_wait_dns 127.0.0.1 "$P_PORT" || t_fail "proxy not answering"
p_dig q3.load.test +short >/dev/null
t_wait_until 5 "the line" grep -q 'qname=q3\.load\.test\.' "$P_LOG" || t_fail "no query-log line at the default level"
t_pass "query-log lines at the default log level"

# Off by default.
t_kill "$P_PID"
P_PORT=$(t_free_port)
p_start off -p "$P_PORT" -n "$NS" --ca-file "$T/ca.pem"
t_wait_dns 127.0.0.1 "$P_PORT" || t_fail "proxy not answering"
p_dig q4.load.test +short >/dev/null
t_assert_eq "$(grep -c ' - QUERY - ' "$P_LOG" || true)" 0 "no query-log lines without --log-queries"
