#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/integration/selftest.sh -- exercise lib.sh end to end, without the
# proxy: PKI, the unbound DNS-over-TLS upstream (answers, certificate checks,
# counters, stop/restart), the wait helpers, the assertions and the clean-up
# trap.  Exits non-zero on the first failure.
#
#     bash tests/integration/selftest.sh        (KEEP_TMP=1 keeps the work dir)
#
# shellcheck disable=SC2119  # lib.sh functions whose only argument is optional
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"

t_init selftest

NAME=dns.test
PKI=$T/pki
# No proxy here: a clock floor of its own, 100 days ago.
NOW=$(date +%s)
T_CLOCK_FLOOR=$((NOW - 100 * 86400))
t_make_pki "$PKI" "$NAME"

# --- PKI -------------------------------------------------------------------
for f in ca other-ca server rsa-server other-server expired-server; do
    [[ -s $PKI/$f.pem && -s $PKI/$f.key ]] || t_fail "missing $f.pem/$f.key"
done
t_pass "PKI files exist"

ca_text=$(openssl x509 -in "$PKI/ca.pem" -noout -text)
t_assert_match "$ca_text" 'CA:TRUE' "ca.pem has CA:TRUE"
t_assert_match "$ca_text" 'Certificate Sign' "ca.pem has keyCertSign"
t_assert_match "$ca_text" 'prime256v1' "ca.pem is EC P-256"

leaf_text=$(openssl x509 -in "$PKI/server.pem" -noout -text)
t_assert_match "$leaf_text" "DNS:$NAME" "server.pem has SAN DNS:$NAME"
t_assert_match "$leaf_text" 'TLS Web Server Authentication' "server.pem has EKU serverAuth"
t_assert_match "$leaf_text" 'prime256v1' "server.pem is EC P-256"
t_assert_match "$(openssl x509 -in "$PKI/rsa-server.pem" -noout -text)" \
    'Public-Key: \(2048 bit\).*rsaEncryption|rsaEncryption.*Public-Key: \(2048 bit\)' \
    "rsa-server.pem is RSA-2048"

# Validity: from a day before the clock floor (here 100 days ago) to 30
# days from now; the expired leaf from 60 to 30 days before the floor.
nb=$(date -u -d "$(openssl x509 -in "$PKI/server.pem" -noout -startdate | cut -d= -f2)" +%s)
na=$(date -u -d "$(openssl x509 -in "$PKI/server.pem" -noout -enddate | cut -d= -f2)" +%s)
t_assert_eq "$nb" $((T_CLOCK_FLOOR - 86400)) "server.pem: notBefore a day before the floor"
t_assert_le $((NOW + 30 * 86400)) "$na" "server.pem: valid for 30 days from now"
t_assert_le "$na" $(($(date +%s) + 30 * 86400)) "server.pem: valid for 30 days from now, not more"
na=$(date -u -d "$(openssl x509 -in "$PKI/expired-server.pem" -noout -enddate | cut -d= -f2)" +%s)
t_assert_eq "$na" $((T_CLOCK_FLOOR - 30 * 86400)) "expired-server.pem: expired 30 days before the floor"

# --- ports -----------------------------------------------------------------
declare -A seen=()
for _ in $(seq 20); do
    p=$(t_free_port)
    [[ $p =~ ^[0-9]+$ ]] || t_fail "t_free_port printed '$p'"
    [[ -z ${seen[$p]:-} ]] || t_fail "t_free_port returned $p twice"
    seen[$p]=1
done
t_pass "t_free_port: 20 distinct ports"

PORT=$(t_free_port)
PORT2=$(t_free_port)

# --- unbound up, answers over TLS ------------------------------------------
t_start_unbound "$PKI" "$PORT"
t_log "unbound ready after ${T_UNBOUND_READY_MS} ms"
t_assert_eq "$(t_unbound_queries)" 0 "fresh unbound has counted no query (readiness probe sends none)"

# q ARGS... -- one verified DoT query to the first unbound.
q() { t_kdig_tls 127.0.0.1 "$PORT" "$PKI/ca.pem" "$NAME" "$@"; }
nq=0 # DNS queries sent to unbound so far

out=$(q a.test A)
nq=$((nq + 1))
t_assert_match "$out" 'TLS session \(TLS1\.[23]\)' "kdig used TLS"
t_assert_match "$out" 'status: NOERROR' "a.test NOERROR"
t_assert_match "$out" 'a\.test\.[[:space:]]+300[[:space:]]+IN[[:space:]]+A[[:space:]]+192\.0\.2\.1' "a.test A 192.0.2.1"

t_assert_eq "$(q +short a.test AAAA)" "2001:db8::1" "a.test AAAA"
t_assert_eq "$(q +short two.test A)" "192.0.2.2" "two.test A"
t_assert_eq "$(q +short whatever.load.test A)" "192.0.2.100" "x.load.test A (redirect zone)"
t_assert_eq "$(q +short a.b.c.load.test A)" "192.0.2.100" "a.b.c.load.test A (redirect zone)"
nq=$((nq + 4))
for n in nx.test foo.test example.com com; do
    t_assert_match "$(q "$n" A)" 'status: NXDOMAIN' "$n NXDOMAIN (never recursed)"
    nq=$((nq + 1))
done
t_assert_match "$(q test SOA)" 'status: NOERROR' "test. apex answers (NOERROR/NODATA)"
nq=$((nq + 1))

# big.test TXT: 16 x 250 chars; exact message sizes (no EDNS / EDNS without
# padding).  kdig +tls adds EDNS padding by default, hence +nopadding/+noedns.
out=$(q big.test TXT +noedns)
t_assert_match "$out" "Received ${T_BIG_MSG_SIZE_NOEDNS} B" "big.test TXT message is ${T_BIG_MSG_SIZE_NOEDNS} bytes without EDNS"
txt=$(q +short big.test TXT)
nq=$((nq + 2))
t_assert_eq "$(tr ' ' '\n' <<<"$txt" | grep -c .)" "$T_BIG_TXT_STRINGS" "big.test has $T_BIG_TXT_STRINGS strings"
t_assert_eq "$(tr -d ' "\n' <<<"$txt" | wc -c)" $((T_BIG_TXT_STRINGS * T_BIG_TXT_LEN)) "big.test TXT payload size"
t_assert_match "$(q big.test TXT +edns=0 +nopadding)" "Received ${T_BIG_MSG_SIZE_EDNS} B" \
    "big.test TXT message is ${T_BIG_MSG_SIZE_EDNS} bytes with EDNS"
nq=$((nq + 1))

# Several queries on one TLS connection (kdig +keepopen).
out=$(q +keepopen a.test A two.test A)
nq=$((nq + 2))
t_assert_eq "$(grep -c 'status: NOERROR' <<<"$out")" 2 "two queries on one kept-open TLS connection"

# --- the certificate really is verified ------------------------------------
if out=$(t_kdig_tls 127.0.0.1 "$PORT" "$PKI/other-ca.pem" "$NAME" a.test 2>&1); then
    t_fail "kdig accepted the server with the wrong CA: $out"
fi
t_pass "kdig rejects the server with an unrelated CA"
if out=$(t_kdig_tls 127.0.0.1 "$PORT" "$PKI/ca.pem" wrong.name a.test 2>&1); then
    t_fail "kdig accepted the server under a wrong name: $out"
fi
t_pass "kdig rejects the server under a wrong name"

# --- DoT only: plain DNS over TCP/UDP gets nothing --------------------------
if out=$(t_dig @127.0.0.1 -p "$PORT" +tcp +time=1 a.test 2>&1); then
    t_fail "unbound answered plain DNS over TCP: $out"
fi
t_pass "no plain DNS over TCP on the DoT port"
if out=$(t_dig @127.0.0.1 -p "$PORT" +time=1 a.test 2>&1); then
    t_fail "unbound answered plain DNS over UDP: $out"
fi
t_pass "no plain DNS over UDP on the DoT port"

# --- counters --------------------------------------------------------------
t_assert_eq "$(t_unbound_queries)" "$nq" "total.num.queries counts exactly the $nq queries sent"
t_assert_eq "$(t_unbound_tls_queries)" "$nq" "num.query.tls counts them as TLS"

# --- open-connection gauge (total.tcpusage) --------------------------------
t_assert_eq "$(t_unbound_tcp_conns)" 0 "no TLS connection left open by kdig"
cat >"$T/hold.py" <<'PY'
import socket, ssl, sys, time
port, ca, name, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
ctx = ssl.create_default_context(cafile=ca)
conns = [ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)),
                         server_hostname=name) for _ in range(n)]
print("open", flush=True)
time.sleep(120)
PY
t_spawn hold python3 "$T/hold.py" "$PORT" "$PKI/ca.pem" "$NAME" 3
t_wait_until 10 "hold.py to connect" grep -q open "$T/hold.log" || t_fail "hold.py did not connect"
t_assert_eq "$(t_unbound_tcp_conns)" 3 "t_unbound_tcp_conns sees 3 held TLS connections"
t_kill "$T_PID"
conns_zero() { [[ $(t_unbound_tcp_conns) == 0 ]]; }
t_wait_until 5 "unbound to see the connections closed" conns_zero ||
    t_fail "tcpusage still $(t_unbound_tcp_conns) after the client exited"
t_pass "t_unbound_tcp_conns back to 0 after the client exited"
t_assert_eq "$(t_unbound_queries)" "$nq" "held connections sent no query"

# --- stop / restart ---------------------------------------------------------
pid1=$T_UNBOUND_PID
t_stop_unbound
t_alive "$pid1" && t_fail "unbound still running after t_stop_unbound"
t_pass "t_stop_unbound stopped it"
if out=$(q +time=1 a.test 2>&1); then
    t_fail "query succeeded with unbound stopped: $out"
fi
t_pass "queries fail while unbound is down"
t_restart_unbound
[[ $T_UNBOUND_PID != "$pid1" ]] || t_fail "t_restart_unbound did not start a new process"
t_assert_eq "$(q +short a.test A)" "192.0.2.1" "answers again after t_restart_unbound (same port)"
t_assert_eq "$(t_unbound_queries)" 1 "counter restarted from 0"
t_restart_unbound # restart while running
t_assert_eq "$(q +short two.test A)" "192.0.2.2" "answers after a restart of a running unbound"

# --- a second instance: RSA leaf --------------------------------------------
mkdir -p "$T/ub-rsa"
t_start_unbound "$T/ub-rsa" "$PORT2" "$PKI/rsa-server.pem" "$PKI/rsa-server.key"
out=$(t_kdig_tls 127.0.0.1 "$PORT2" "$PKI/ca.pem" "$NAME" a.test)
t_assert_match "$out" 'RSA' "RSA leaf negotiated"
t_assert_match "$out" '192\.0\.2\.1' "RSA leaf instance answers"
t_assert_eq "$(t_unbound_queries "$T/ub-rsa")" 1 "per-instance counter (RSA instance)"
t_assert_eq "$(t_unbound_queries "$PKI")" 1 "per-instance counter (first instance)"
t_stop_unbound "$T/ub-rsa"

# Leaf from the unrelated CA, and the expired leaf.
mkdir -p "$T/ub-other" "$T/ub-expired"
t_start_unbound "$T/ub-other" "$PORT2" "$PKI/other-server.pem" "$PKI/other-server.key"
t_kdig_tls 127.0.0.1 "$PORT2" "$PKI/ca.pem" "$NAME" a.test >/dev/null 2>&1 &&
    t_fail "other-server.pem accepted with ca.pem"
t_assert_eq "$(t_kdig_tls 127.0.0.1 "$PORT2" "$PKI/other-ca.pem" "$NAME" +short a.test)" \
    192.0.2.1 "other-server.pem is fine with other-ca.pem"
t_pass "other-server.pem is rejected with ca.pem"
t_stop_unbound "$T/ub-other"
PORT3=$(t_free_port)
t_start_unbound "$T/ub-expired" "$PORT3" "$PKI/expired-server.pem" "$PKI/expired-server.key"
t_kdig_tls 127.0.0.1 "$PORT3" "$PKI/ca.pem" "$NAME" a.test >/dev/null 2>&1 &&
    t_fail "expired-server.pem accepted"
t_pass "expired-server.pem is rejected"
t_stop_unbound "$T/ub-expired"

# --- dnsperf over DoT against the load.test names ----------------------------
if command -v dnsperf >/dev/null; then
    t_make_queryfile "$T/queries.txt" 2000
    t_assert_eq "$(sort -u "$T/queries.txt" | wc -l)" 2000 "query file has 2000 unique names"
    before=$(t_unbound_queries "$PKI")
    out=$(dnsperf -m dot -s 127.0.0.1 -p "$PORT" -d "$T/queries.txt" -n 1 -l 20 -c 2 -q 20 2>&1) ||
        t_fail "dnsperf failed: $out"
    t_assert_match "$out" 'Queries completed:[[:space:]]+2000 ' "dnsperf: 2000 queries completed"
    t_assert_match "$out" 'NOERROR 2000 ' "dnsperf: all NOERROR"
    t_assert_eq $(($(t_unbound_queries "$PKI") - before)) 2000 "unbound counted the dnsperf queries"
else
    t_log "dnsperf not installed, skipped"
fi

# --- t_wait_dns and t_spawn, against a tiny plain-DNS responder ------------
# It answers every query (UDP and TCP) with an empty NXDOMAIN, but only after
# a start-up delay, so t_wait_dns really has to wait.
MOCK_PORT=$(t_free_port)
cat >"$T/mockdns.py" <<'PY'
import socket, struct, sys, threading, time
port, delay = int(sys.argv[1]), float(sys.argv[2])
time.sleep(delay)
def reply(q):
    flags = struct.unpack("!H", q[2:4])[0]
    flags = 0x8000 | (flags & 0x7900) | 0x0080 | 3  # QR, keep opcode+RD, RA, NXDOMAIN
    return q[:2] + struct.pack("!HHHHH", flags, 1, 0, 0, 0) + q[12:]
def tcp():
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port)); s.listen(16)
    while True:
        c, _ = s.accept()
        try:
            n = struct.unpack("!H", c.recv(2))[0]
            q = b""
            while len(q) < n:
                q += c.recv(n - len(q))
            r = reply(q); c.sendall(struct.pack("!H", len(r)) + r)
        except Exception:
            pass
        c.close()
threading.Thread(target=tcp, daemon=True).start()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", port))
while True:
    q, a = u.recvfrom(4096); u.sendto(reply(q), a)
PY
start=$(t_now_us)
t_wait_dns 127.0.0.1 "$MOCK_PORT" udp 1 && t_fail "t_wait_dns succeeded with nothing listening"
t_assert_le "$(t_elapsed_ms "$start")" 3000 "t_wait_dns gives up after ~its timeout (1 s)"
t_wait_listen "$MOCK_PORT" udp 0.3 && t_fail "t_wait_listen succeeded with nothing listening"
t_pass "t_wait_listen times out with nothing listening"
t_spawn mockdns python3 "$T/mockdns.py" "$MOCK_PORT" 0.7
mock_pid=$T_PID
start=$(t_now_us)
t_wait_dns 127.0.0.1 "$MOCK_PORT" || t_fail "t_wait_dns (udp) timed out"
waited=$(t_elapsed_ms "$start")
t_assert_le 500 "$waited" "t_wait_dns waited for the delayed responder"
t_assert_le "$waited" 5000 "t_wait_dns returned soon after the responder came up"
t_wait_listen "$MOCK_PORT" udp 1 || t_fail "t_wait_listen (udp) timed out"
t_wait_listen "$MOCK_PORT" tcp 1 || t_fail "t_wait_listen (tcp) timed out"
t_pass "t_wait_listen sees the mock's udp and tcp sockets"
t_wait_dns 127.0.0.1 "$MOCK_PORT" tcp 5 || t_fail "t_wait_dns (tcp) timed out"
t_pass "t_wait_dns over tcp"
t_assert_match "$(t_dig @127.0.0.1 -p "$MOCK_PORT" a.test)" 'status: NXDOMAIN' "t_dig output"

# --- t_kill / t_wait_exit exit statuses -----------------------------------
t_spawn sleeper sleep 300
t_kill "$T_PID"
t_assert_eq "$T_EXIT_STATUS" 143 "t_kill: status of a process killed by SIGTERM"
mkfifo "$T/go.fifo"
# shellcheck disable=SC2016  # $0 is for the inner sh
t_spawn exiter sh -c 'read -r _ <"$0"; exit 3' "$T/go.fifo"
exiter=$T_PID
t_wait_exit "$exiter" 0.3 && t_fail "t_wait_exit returned while the process still ran"
t_alive "$exiter" || t_fail "timed-out t_wait_exit must leave the process alone"
t_pass "t_wait_exit times out on a running process"
echo go >"$T/go.fifo" # lets it exit
t_wait_exit "$exiter" || t_fail "t_wait_exit timed out"
t_assert_eq "$T_EXIT_STATUS" 3 "t_wait_exit: exit status"

# --- clean-up trap, in child scenarios --------------------------------------
# A passing child: leaves unbound and a spawned sleep running at exit.
cat >"$T/child.sh" <<'SH'
set -euo pipefail
. "$LIB"
t_init child
t_start_unbound "$T" "$(t_free_port)" "$PKI/server.pem" "$PKI/server.key"
t_spawn sleeper sleep 300
printf '%s %s %s\n' "$T" "$T_UNBOUND_PID" "$T_PID" >"$INFO"
[[ ${CHILD_FAIL:-0} == 1 ]] && t_assert_eq "got" "want" "deliberately failing assertion"
t_pass "child done"
SH
INFO=$T/child.info
KEEP_TMP=0 LIB=$HERE/lib.sh PKI=$PKI INFO=$INFO bash "$T/child.sh" >"$T/child.out" 2>&1 ||
    { cat "$T/child.out" >&2; t_fail "passing child scenario failed"; }
read -r cT cub csl <"$INFO"
for p in "$cub" "$csl"; do
    kill -0 "$p" 2>/dev/null && t_fail "child left pid $p running"
done
[[ -e $cT ]] && t_fail "child's work dir $cT not removed"
t_assert_match "$(cat "$T/child.out")" '== child: PASS \(1 checks\)' "child summary line"
t_pass "EXIT trap killed unbound + spawned process and removed \$T"

# A failing child with KEEP_TMP=1: exit 1, FAIL message, log tails, dir kept.
rc=0
CHILD_FAIL=1 KEEP_TMP=1 LIB=$HERE/lib.sh PKI=$PKI INFO=$INFO bash "$T/child.sh" >"$T/child.out" 2>&1 || rc=$?
t_assert_eq "$rc" 1 "failing child exits 1"
child_out=$(cat "$T/child.out")
t_assert_match "$child_out" 'FAIL: deliberately failing assertion' "failure message printed"
t_assert_match "$child_out" 'want: want' "assertion shows what was wanted"
t_assert_match "$child_out" 'last lines of .*unbound\.log' "log tails printed on failure"
read -r cT cub csl <"$INFO"
for p in "$cub" "$csl"; do
    kill -0 "$p" 2>/dev/null && t_fail "failing child left pid $p running"
done
[[ -d $cT ]] || { cat "$T/child.out" >&2; t_fail "KEEP_TMP=1 did not keep $cT"; }
rm -rf -- "$cT"
t_pass "failing child cleaned up its processes and kept \$T"

# The mock is still running: the EXIT trap of this script must stop it.
t_alive "$mock_pid" || t_fail "mock DNS responder died early"
t_pass "all done"
