#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# An answer that comes after its query was given up must never reach another
# client. The upstream ID of a query given up unanswered is not used again
# on that connection (its answer may still come), and an answer is taken
# only with the question and the RD, CD and DO bits it was asked with, so a
# client asking with CD=0 cannot receive an answer made for a CD=1 query.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy.sh"
t_init late-answers
t_make_pki "$T" dot.test
proxy() { # NAME ARGS...
    local name=$1
    shift
    P_PORT=$(t_free_port)
    p_start "$name" -p "$P_PORT" --ca-file "$T/ca.pem" "$@"
}

# The fake sends, before each answer, the answer made for an earlier query
# of the same name with other bits (A 192.0.2.66, those bits) under the new
# query's ID: as a late answer arrives when its ID went to a new query.
p_fake stale 0
proxy stale -n "127.0.0.1:$F_PORT:dot.test" --pool-size 1
for bits in "+cd cd" "+dnssec do" "+norec rd"; do
    read -r flag name <<<"$bits"
    t_assert_eq "$(p_dig "$name.test" "$flag" +short)" 192.0.2.53 "$flag query answered"
    t_assert_eq "$(p_dig "$name.test" +short)" 192.0.2.53 \
        "the same name without $flag: its own answer, not the one made for $flag"
done
t_assert_eq "$(grep -c '^stale ' "$F_LOG")" 3 "the fake sent the three stale answers"
t_assert_le 3 "$(p_stat nameserver bad_answers)" "stale answers discarded and counted"
t_kill "$P_PID"

# IDs given up are not reused on the connection. 100 queries the server
# never answers (a drop rule) time out; then 8000 more on the same
# connection. With IDs drawn at random from those not in flight (the old
# way), some 12 of the 8000 would take an ID of a query whose answer may
# still come; none may.
p_fake ok 0 --drop gone.test
proxy ids -n "127.0.0.1:$F_PORT:dot.test" --pool-size 1 --timeout 1.5 --max-inflight 1024 \
    --max-inflight-per-client 1024
python3 - "$P_PORT" <<'PY' >"$T/gone.out"
import socket, struct, sys, time
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(100):
    name = b"".join(bytes([len(l)]) + l for l in (b"g%d" % i, b"gone", b"test")) + b"\0"
    s.sendto(struct.pack(">HHHHHH", i, 0x0100, 1, 0, 0, 0) + name + b"\0\1\0\1", ("127.0.0.1", port))
s.settimeout(5)
rcodes = [struct.unpack(">H", s.recv(512)[2:4])[0] & 15 for _ in range(100)]
print("servfail=%d" % rcodes.count(2))
PY
t_assert_eq "$(cat "$T/gone.out")" "servfail=100" "100 dropped queries: SERVFAIL at the deadline"
t_make_queryfile "$T/q.txt" 8000
dnsperf -s 127.0.0.1 -p "$P_PORT" -d "$T/q.txt" -n 1 -c 4 -q 100 -t 5 >"$T/perf.out" 2>&1 ||
    t_fail "dnsperf failed: $(tail -n 5 "$T/perf.out")"
t_assert_match "$(cat "$T/perf.out")" 'Queries completed: +8000 ' "8000 queries after them: all answered"
reused=$(python3 - "$F_LOG" <<'PY'
import re, sys
gone, reused = {}, 0
for line in open(sys.argv[1]):
    m = re.match(r"query \d+ id=(\d+) conn=(\d+) .* name=(\S+)", line)
    if not m:
        continue
    qid, conn, name = int(m.group(1)), m.group(2), m.group(3)
    if name.endswith("gone.test."):
        gone.setdefault(conn, set()).add(qid)
    elif qid in gone.get(conn, ()):
        reused += 1
print(reused, sum(len(v) for v in gone.values()))
PY
)
read -r reused given_up <<<"$reused"
t_assert_le 100 "$given_up" "the 100 dropped queries reached the server"
t_assert_eq "$reused" 0 "no later query on a connection took the ID of one given up on it"
t_kill "$P_PID"
