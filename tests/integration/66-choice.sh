#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Resolver choice keeps learning (--strategy). fastest: two nameservers of
# different speeds, most queries go to the fast one while the other still
# gets an occasional query; they swap speeds mid-run and the choice
# follows. order: the first nameserver while it works, the second while it
# is down, the first again as soon as it is back. round-robin: each in turn.
# The nameservers are fakedot.py in slow mode, each delay read from a file
# the test rewrites (no real server changes speed on demand).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy.sh"
t_need_feature select
t_init choice
t_make_pki "$T" dot.test
P_PORT=$(t_free_port)
A_PORT=$(t_free_port)
B_PORT=$(t_free_port)
NSA=127.0.0.1:$A_PORT:dot.test
NSB=127.0.0.1:$B_PORT:dot.test

# fake NAME PORT -- a fakedot.py whose answer delay (ms) is in $T/NAME.delay.
fake() {
    local name=$1 port=$2
    t_spawn "fake-$name" python3 "$(dirname "$0")/fakedot.py" --port "$port" --cert "$T/server.pem" \
        --key "$T/server.key" --mode slow --n 0 --delay-file "$T/$name.delay" --log "$T/$name.q"
    eval "PID_$name=\$T_PID"
    t_wait_listen "$port" tcp || t_fail "fakedot $name did not start"
}
delay() { printf '%s\n' "$2" >"$T/$1.delay"; }
asked() { grep -c '^query ' "$T/$1.q" 2>/dev/null || true; }
n=0
# load SECONDS -- 20 queries a second for SECONDS, fresh names, over UDP.
load() {
    n=$((n + 1))
    t_make_queryfile "$T/load$n.txt" 2000
    sed -i "s/^q/l$n-/" "$T/load$n.txt"
    dnsperf -s 127.0.0.1 -p "$P_PORT" -d "$T/load$n.txt" -l "$1" -Q 20 -c 1 -q 20 -t 3 \
        >"$T/load$n.out" 2>&1 || t_fail "dnsperf failed: $(cat "$T/load$n.out")"
    grep -q 'Queries lost: *0 ' "$T/load$n.out" || t_fail "queries lost: $(grep Queries "$T/load$n.out")"
}
share() { # PART TOTAL -> percent
    echo $(($1 * 100 / ($2 > 0 ? $2 : 1)))
}

delay a 0
delay b 300
fake a "$A_PORT"
fake b "$B_PORT"

# --- fastest: the fast one takes most; the slow one is still measured.
p_start fastest -p "$P_PORT" -n "$NSA" -n "$NSB" --ca-file "$T/ca.pem" --strategy fastest --timeout 3
load 12
a=$(asked a) b=$(asked b)
t_log "fastest, a fast: a=$a b=$b"
t_assert_le 85 "$(share "$a" $((a + b)))" "most queries go to the fast nameserver (a=$a b=$b)"
t_assert_le 2 "$b" "the slow one still gets an occasional query (its time kept current)"

# They swap speeds: within about one exploration period (10 s) the choice follows.
delay a 300
delay b 0
load 12
a0=$(asked a) b0=$(asked b)
load 4
a=$(($(asked a) - a0)) b=$(($(asked b) - b0))
t_log "fastest, after the swap (last 4 s): a=$a b=$b"
t_assert_le 85 "$(share "$b" $((a + b)))" "after the swap most queries go to the now fast one (a=$a b=$b)"
t_assert_eq "$(p_stat errors servfail)" 0 "no SERVFAIL"
t_kill "$P_PID"

# --- order: the first while it works.
delay a 0
delay b 0
P_PORT=$(t_free_port)
p_start order -p "$P_PORT" -n "$NSA" -n "$NSB" --ca-file "$T/ca.pem" --strategy order --timeout 3 \
    --connect-timeout 1
a0=$(asked a) b0=$(asked b)
for i in $(seq 1 20); do p_dig "o$i.load.test" +short >/dev/null; done
t_assert_eq "$(($(asked a) - a0)) $(($(asked b) - b0))" "20 0" "order: all 20 to the first"

# The first goes away: the second answers.
t_kill "$PID_a"
b0=$(asked b)
for i in $(seq 1 20); do
    t_assert_eq "$(p_dig "d$i.load.test" +short)" 192.0.2.53 "answered with the first down (#$i)" >/dev/null
done
t_assert_le 20 "$(($(asked b) - b0))" "order: the second took them"

# It comes back: the choice goes back to it as soon as it works.
fake a "$A_PORT"
start=$(t_now_us)
back() { p_dig "w$RANDOM.load.test" +short >/dev/null; (($(asked a) > 0)); }
: >"$T/a.q"
t_wait_until 30 "queries back at the first nameserver" back || t_fail "order: never went back to the first"
t_pass "order: back to the first $(t_elapsed_ms "$start") ms after it came back"
a0=$(asked a) b0=$(asked b)
for i in $(seq 1 10); do p_dig "k$i.load.test" +short >/dev/null; done
t_assert_eq "$(($(asked a) - a0)) $(($(asked b) - b0))" "10 0" "order: all to the first again"
t_kill "$P_PID"

# --- round-robin: each in turn.
P_PORT=$(t_free_port)
p_start rr -p "$P_PORT" -n "$NSA" -n "$NSB" --ca-file "$T/ca.pem" --strategy round-robin
t_wait_dns 127.0.0.1 "$P_PORT" || t_fail "proxy not answering"
a0=$(asked a) b0=$(asked b)
for i in $(seq 1 40); do p_dig "rr$i.load.test" +short >/dev/null; done
a=$(($(asked a) - a0)) b=$(($(asked b) - b0))
t_assert_le 15 "$a" "round-robin: the first got its share ($a of 40)"
t_assert_le 15 "$b" "round-robin: the second got its share ($b of 40)"
