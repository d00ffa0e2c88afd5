#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# SIGHUP reloads the --config file without closing the listeners: new
# nameservers, ACLs and log level apply at once; a query in flight on a
# nameserver the new file removes is sent again to the others and answered
# within its deadline; a bad file is one error line and the old settings
# stay; settings that need a restart are named in a log line and keep their
# running values; more nameservers than start-up made room for is refused.
# SIGHUP still reopens the log file.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy.sh"
t_init reload
p_setup                          # unbound #1 on U_PORT: NS
U1=$T
U2=$T/u2
U2_PORT=$(t_free_port)
t_start_unbound "$U2" "$U2_PORT" "$T/server.pem" "$T/server.key"
NS2=127.0.0.1:$U2_PORT:dot.test
p_fake stall 0                   # never answers: F_PORT
NSF=127.0.0.1:$F_PORT:dot.test
CONF=$T/proxy.conf
LOG=$T/proxy-file.log

# conf LINE... -- write the config file (the port is always in it).
conf() { printf '%s\n' "port $P_PORT" "ca-file $T/ca.pem" "timeout 5" "$@" >"$CONF"; }
# hup PATTERN -- SIGHUP, then wait for one more log line matching PATTERN.
hup() {
    local before
    before=$(grep -cE -- "$1" "$LOG" || true)
    kill -HUP "$P_PID"
    t_wait_until 5 "a log line /$1/ after SIGHUP" \
        bash -c "(( \$(grep -cE -- '$1' '$LOG') > $before ))" ||
        t_fail "no log line matching /$1/ after SIGHUP"
}
q=0
# ask [DIG-ARGS] -- a fresh name (no cache can answer it); prints the answer.
ask() { q=$((q + 1)); p_dig "r$q.load.test" +short "$@"; }
count1() { t_unbound_queries "$U1"; }
count2() { t_unbound_queries "$U2"; }

conf "nameserver $NS" "verbose yes"
t_spawn proxy "$PROXY" -c "$CONF" -l "$LOG"
P_PID=$T_PID
P_LOG=$LOG
t_register_log "$LOG"
t_wait_listen "$P_PORT" udp || t_fail "proxy did not bind"
t_assert_eq "$(ask)" 192.0.2.100 "answers from the first file's nameserver"
a1=$(count1) a2=$(count2)
t_assert_eq "$a2" 0 "the second unbound has seen nothing yet"

# --- New nameservers apply at once; the listeners stay.
conf "nameserver $NS2" "verbose yes"
hup 'configuration reloaded'
t_assert_match "$(grep 'configuration reloaded' "$LOG" | tail -n 1)" 'nameserver' "the reload line names what changed"
t_assert_eq "$(ask)" 192.0.2.100 "answers after the reload"
t_assert_eq "$(ask +tcp)" 192.0.2.100 "TCP answers after the reload"
t_assert_eq "$(count1)" "$a1" "the removed nameserver gets no more queries"
# The first after the reload reaches it (the reload emptied the cache, whose
# answers came from the removed one); the TCP one is then a cache hit.
t_assert_le 1 "$(count2)" "the new nameserver answers them"
t_assert_match "$(grep 'cache flushed' "$LOG" | tail -n 1)" 'nameservers changed' "the reload emptied the cache"
t_assert_match "$(grep 'log file reopened' "$LOG" | tail -n 1)" 'reopened' "SIGHUP still reopens the log file"

# --- A query in flight on a nameserver the file removes is answered by
# another one, within its deadline (5 s).
conf "nameserver $NSF" "verbose yes"
hup 'configuration reloaded'
q=$((q + 1))
p_dig "r$q.load.test" +short +time=8 >"$T/inflight.out" &
DIG=$!
t_wait_until 5 "the query at the stalling server" grep -q "name=r$q.load.test" "$F_LOG" ||
    t_fail "the query did not reach the stalling nameserver"
start=$(t_now_us)
conf "nameserver $NS2" "verbose yes"
hup 'configuration reloaded'
wait "$DIG" || true
t_assert_eq "$(cat "$T/inflight.out")" 192.0.2.100 "the query in flight was answered by the new nameserver"
t_assert_le "$(t_elapsed_ms "$start")" 4000 "and well within its deadline"
t_assert_eq "$(p_stat errors servfail)" 0 "no SERVFAIL from the reloads"

# --- A bad file: one error line naming file, line and option; the old
# settings stay.
printf '%s\n' "port $P_PORT" "ca-file $T/ca.pem" "nameserver nonsense" >"$CONF"
hup 'running configuration stays'
line=$(grep 'running configuration stays' "$LOG" | tail -n 1)
t_assert_match "$line" " - ERROR - .*$CONF:3: nameserver: " "the error names the file, the line and the option"
t_assert_eq "$(grep -c "$CONF:3" "$LOG")" 1 "one line for it"
a2=$(count2)
t_assert_eq "$(ask)" 192.0.2.100 "still answers, by the old settings"
t_assert_le "$((a2 + 1))" "$(count2)" "still from the old nameserver"
printf 'port %s\nnameserver %s\nbogus-option 1\n' "$P_PORT" "$NS2" >"$CONF"
hup 'running configuration stays'
t_assert_match "$(grep 'running configuration stays' "$LOG" | tail -n 1)" "$CONF:3: bogus-option: unknown option" \
    "an unknown option: the same error as at start-up"
rm -f "$CONF"
hup 'running configuration stays'
t_assert_match "$(grep 'running configuration stays' "$LOG" | tail -n 1)" "cannot open $CONF" "a missing file: said so"
t_assert_eq "$(ask)" 192.0.2.100 "still answers"

# --- More nameservers than start-up reserved connections for: refused whole.
conf "nameserver $NS2" "nameserver $NS" "verbose yes"
hup 'running configuration stays'
t_assert_match "$(grep 'running configuration stays' "$LOG" | tail -n 1)" 'nameserver.*restart' \
    "a second nameserver needs a restart: said so"

# --- Settings that need a restart: named, kept; the rest applies.
NEWPORT=$(t_free_port)
printf '%s\n' "port $NEWPORT" "ca-file $T/ca.pem" "timeout 5" "nameserver $NS" "pool-size 1" \
    "verbose yes" "max-inflight 7" >"$CONF"
hup 'need(s)? a restart'
line=$(grep -E 'need(s)? a restart' "$LOG" | tail -n 1)
t_assert_match "$line" ' - WARN.* - .*port' "the port change is named"
t_assert_match "$line" 'pool-size' "the pool-size change is named"
t_assert_match "$line" 'max-inflight' "the max-inflight change is named"
a1=$(count1)
t_assert_eq "$(ask)" 192.0.2.100 "still answers on the old port"
t_assert_le "$((a1 + 1))" "$(count1)" "the nameserver change in the same file applied"
[[ -z $(ss -Hlun "sport = :$NEWPORT") ]] || t_fail "a listener appeared on the new port"
t_pass "nothing listens on the new port"

# --- ACLs: a file that allows only 10.0.0.0/8 refuses loopback at once.
conf "nameserver $NS" "verbose yes" "allow 10.0.0.0/8"
hup 'configuration reloaded'
out=$(p_dig "r$((q + 1)).load.test")
t_assert_eq "$(p_status "$out")" REFUSED "a client the new --allow leaves out is refused"
t_assert_eq "$(p_status "$(p_dig +tcp "r$((q + 2)).load.test" || true)")" "" "over TCP: closed at accept, no answer"
conf "nameserver $NS" "verbose yes"
hup 'configuration reloaded'
t_assert_eq "$(ask)" 192.0.2.100 "allowed again"

# --- The log level: debug lines appear after "debug yes".
before=$(grep -c ' - DEBUG - ' "$LOG" || true)
t_assert_eq "$before" 0 "no debug lines at verbose"
conf "nameserver $NS" "debug yes"
hup 'configuration reloaded'
ask >/dev/null
t_wait_until 5 "debug lines" grep -q ' - DEBUG - ' "$LOG" || t_fail "no debug lines after reloading with debug yes"
t_pass "the log level changed"

t_alive "$P_PID" || t_fail "the proxy died"
t_assert_eq "$(p_stat errors servfail)" 0 "no SERVFAIL at all"

# --- Without --config, SIGHUP only reopens the log file.
t_kill "$P_PID"
P_PORT=$(t_free_port)
t_spawn noconf "$PROXY" -v -p "$P_PORT" -n "$NS" --ca-file "$T/ca.pem" -l "$LOG"
P_PID=$T_PID
t_wait_listen "$P_PORT" udp || t_fail "proxy did not bind"
hup 'log file reopened'
t_assert_eq "$(ask)" 192.0.2.100 "answers after SIGHUP without --config"
