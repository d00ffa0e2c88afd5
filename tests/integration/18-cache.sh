#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The answer cache (issue 15) against a real upstream, unbound over TLS with
# a local zone of short TTLs and query logging: which queries reach the
# upstream is read from unbound's own log, name by name.
#   - a repeated query is answered from the cache (the upstream asked once,
#     no AA: a cache claims no authority), its TTLs counting down;
#   - the client gets its own spelling of the name back (0x20);
#   - a query with EDNS Client Subnet bypasses the cache;
#   - a query without RD (a secondary's SOA refresh) is neither answered
#     from the cache nor stored;
#   - NXDOMAIN and NODATA are kept for the SOA minimum, then asked again,
#     the SOA's TTL counting down meanwhile;
#   - DO and CD queries are kept apart; a CNAME answer and a chain of two
#     CNAMEs are kept whole, in the client's spelling;
#   - the 4 KB answer from the cache goes back TC over UDP, whole over TCP;
#   - prefetch: a hit in the last 10 % of the TTL makes the upstream see one
#     refresh, and the name never expires;
#   - serve-stale (RFC 8767): upstream stopped, an expired entry is served at
#     once with TTL 30, and counted; upstream hung (SIGSTOP), the stale
#     answer comes after --stale-answer-timeout, long before --timeout; none
#     after --stale-max;
#   - SIGWINCH empties the cache;
#   - --cache-size 0: every query reaches the upstream, as before the cache.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=proxy.sh
. "$(dirname "$0")/proxy.sh"
t_need_feature cache
t_init cache

# The zone: an SOA for test. (negative answers carry it; its minimum, 4 s,
# is how long they are kept), names with short TTLs for prefetch (20 s: the
# last 10 % is a 2 s window) and serve-stale (3 s), a CNAME; neg.test., whose
# SOA minimum (60 s) leaves time to watch a negative answer's TTL count down.
# shellcheck disable=SC2034 # read by t_start_unbound
T_UNBOUND_EXTRA=$'log-queries: yes
local-data: "test. 3600 IN SOA ns.test. hostmaster.test. 1 3600 600 86400 4"
local-data: "pf.test. 20 IN A 192.0.2.20"
local-data: "st.test. 3 IN A 192.0.2.3"
local-data: "st2.test. 3 IN A 192.0.2.4"
local-data: "sb.test. 3 IN A 192.0.2.5"
local-data: "cn.test. 300 IN CNAME a.test."
local-zone: "neg.test." static
local-data: "neg.test. 3600 IN SOA ns.neg.test. hostmaster.neg.test. 1 3600 600 86400 60"
local-data: "nd.neg.test. 300 IN A 192.0.2.9"
local-zone: "chain.test." transparent
auth-zone:
    name: "chain.test."
    zonefile: "'"$T/chain.zone"'"
    for-upstream: yes
    for-downstream: yes
    fallback-enabled: no'
# A chain of two CNAMEs: unbound does not follow a CNAME in its local data,
# but answers one from an auth-zone whole (local-zone transparent lets the
# query through the "test." static zone to it).
cat >"$T/chain.zone" <<'EOF'
chain.test. 3600 IN SOA ns.chain.test. hostmaster.chain.test. 1 3600 600 86400 60
chain.test. 3600 IN NS ns.chain.test.
ns.chain.test. 3600 IN A 192.0.2.53
c2.chain.test. 300 IN CNAME c1.chain.test.
c1.chain.test. 300 IN CNAME end.chain.test.
end.chain.test. 300 IN A 192.0.2.77
EOF
p_setup
p_start proxy -p "$P_PORT" -n "$NS" --ca-file "$T/ca.pem" --timeout 10
PA=$P_PID PA_LOG=$P_LOG PA_PORT=$P_PORT

# asked NAME TYPE -- queries for NAME TYPE that reached the upstream (any
# case of the name), from unbound's query log ("info: 127.0.0.1 a.test. A IN").
asked() {
    local re="^.* info: 127\\.0\\.0\\.1 ${1//./\\.}\\. $2 IN\$"
    grep -ciE -- "$re" "$T/unbound.log" || true
}
# asked_is NAME TYPE N -- true when the upstream saw N such queries.
asked_is() { (($(asked "$1" "$2") == $3)); }
# flags OUT, answer_ttl OUT, auth_ttl OUT, owner OUT -- from a dig output.
flags() { sed -n 's/^;; flags: \([a-z ]*\);.*/\1/p' <<<"$1"; }
section_field() { # SECTION FIELD OUT
    awk -v s=";; $1 SECTION:" -v f="$2" '$0 == s { in_s = 1; next }
        in_s && NF == 0 { exit } in_s { print $f; exit }' <<<"$3"
}
answer_ttl() { section_field ANSWER 2 "$1"; }
auth_ttl() { section_field AUTHORITY 2 "$1"; }
owner() { section_field ANSWER 1 "$1"; }
# no_aa OUT MSG -- the reply did not claim authority: it came from the cache
# (unbound sets AA on its local data).
no_aa() {
    if [[ " $(flags "$1") " == *" aa "* ]]; then
        printf '%s\n' "$1" >&2
        t_fail "$2: AA set, so not from the cache"
    fi
    t_pass "$2 (no AA)"
}
# query_ms OUT -- dig's "Query time" in ms.
query_ms() { sed -n 's/^;; Query time: \([0-9]*\) msec.*/\1/p' <<<"$1"; }

t_assert_match "$(grep -- 'memory: cache' "$PA_LOG")" 'memory: cache 256 KiB' \
    "-d memory plan shows the default cache"

# Start the clocks of the names that expire while the rest runs.
t_assert_eq "$(p_dig pf.test +short)" 192.0.2.20 "pf.test (TTL 20) answered"
t_assert_eq "$(p_dig st.test +short)" 192.0.2.3 "st.test (TTL 3) answered"
t_assert_eq "$(p_dig st2.test +short)" 192.0.2.4 "st2.test (TTL 3) answered"

# --- A repeated query, from the cache; TTLs count down.
first=$(p_dig a.test)
t_assert_eq "$(section_field ANSWER 5 "$first")" 192.0.2.1 "a.test from the upstream"
t_assert_eq "$(asked a.test A)" 1 "the upstream saw a.test once"
ttl1=$(answer_ttl "$first")
second=$(p_dig a.test)
t_assert_eq "$(section_field ANSWER 5 "$second")" 192.0.2.1 "a.test again"
no_aa "$second" "the second a.test came from the cache"
t_assert_eq "$(asked a.test A)" 1 "the upstream still saw a.test once"
t_assert_le "$(answer_ttl "$second")" "$ttl1" "the cached TTL is not above the upstream's"
ttl_below() { (($(answer_ttl "$(p_dig a.test)") < $1)); }
t_wait_until 5 "the cached TTL of a.test to fall below $ttl1" ttl_below "$ttl1" ||
    t_fail "TTL does not count down"
t_pass "the cached TTL counts down"
t_assert_le "$((ttl1 - 3))" "$(answer_ttl "$(p_dig a.test)")" "by the time passed, not more"
t_assert_eq "$(asked a.test A)" 1 "every one of those from the cache"
t_assert_le 3 "$(p_stat cache hits)" "hits counted"

# --- 0x20: the client's spelling comes back, question and answer.
out=$(p_dig A.tEsT)
t_assert_match "$out" $'\n;A\\.tEsT\\.[ \t]+IN[ \t]+A' "the question in the client's spelling"
t_assert_eq "$(owner "$out")" A.tEsT. "the answer's owner in the client's spelling"
no_aa "$out" "A.tEsT answered from the entry of a.test"
t_assert_eq "$(asked a.test A)" 1 "the upstream did not see A.tEsT"

# --- EDNS Client Subnet bypasses the cache, both ways.
for i in 1 2; do
    t_assert_eq "$(p_dig a.test +subnet=198.51.100.0/24 +short)" 192.0.2.1 "a.test with ECS #$i"
done
t_assert_eq "$(asked a.test A)" 3 "both ECS queries reached the upstream"
no_aa "$(p_dig a.test)" "ECS answers did not replace the entry"

# --- A query without RD bypasses the cache both ways: not answered from
# the entry of a.test A, and its answer (a.test AAAA) not stored.
n=$(asked a.test A)
for i in 1 2; do
    out=$(p_dig a.test +norec)
    t_assert_match "$(flags "$out")" '(^| )aa( |$)' "a.test without RD #$i from the upstream"
done
t_assert_eq "$(asked a.test A)" "$((n + 2))" "both queries without RD reached the upstream"
t_assert_eq "$(p_dig a.test AAAA +norec +short)" 2001:db8::1 "a.test AAAA without RD"
out=$(p_dig a.test AAAA)
t_assert_match "$(flags "$out")" '(^| )aa( |$)' "a.test AAAA with RD then from the upstream: nothing stored"
no_aa "$(p_dig a.test AAAA)" "and the next a.test AAAA from the cache"
t_assert_eq "$(asked a.test AAAA)" 2 "the upstream saw a.test AAAA twice"

# --- NXDOMAIN and NODATA, kept for the SOA minimum (4 s).
t0=$(t_now_us)
out=$(p_dig nx1.test)
t_assert_eq "$(p_status "$out")" NXDOMAIN "nx1.test NXDOMAIN"
out=$(p_dig nx1.test)
t_assert_eq "$(p_status "$out")" NXDOMAIN "nx1.test NXDOMAIN again"
no_aa "$out" "the second NXDOMAIN came from the cache"
t_assert_le "$(auth_ttl "$out")" 4 "its SOA's TTL is at most the SOA minimum"
t_assert_eq "$(asked nx1.test A)" 1 "the upstream saw nx1.test once"
out=$(p_dig a.test MX)
out=$(p_dig a.test MX)
t_assert_eq "$(p_status "$out") $(section_field AUTHORITY 4 "$out")" "NOERROR SOA" "NODATA with the SOA"
no_aa "$out" "the second NODATA came from the cache"
t_assert_eq "$(asked a.test MX)" 1 "the upstream saw a.test MX once"
nx_asked_again() { p_dig nx1.test >/dev/null; asked_is nx1.test A 2; }
t_wait_until 15 "nx1.test asked again once its 4 s are over" nx_asked_again ||
    t_fail "NXDOMAIN kept past the SOA minimum"
t_assert_le 3000 "$(t_elapsed_ms "$t0")" "NXDOMAIN kept about the SOA minimum (4 s) before asking again"
nd_asked_again() { p_dig a.test MX >/dev/null; asked_is a.test MX 2; }
t_wait_until 15 "a.test MX asked again once its 4 s are over" nd_asked_again ||
    t_fail "NODATA kept past the SOA minimum"
t_pass "NODATA asked again after the SOA minimum"

# The SOA's TTL in a negative answer from the cache counts down (neg.test.:
# minimum 60 s). NAME TYPE STATUS: the first answer from the upstream, then
# wait (bounded) for one from the cache with a lower SOA TTL.
neg_countdown() {
    local name=$1 type=$2 status=$3 first ttl0 t1 out
    first=$(p_dig "$name" "$type")
    t_assert_eq "$(p_status "$first") $(section_field AUTHORITY 4 "$first")" "$status SOA" \
        "$name $type: $status with the SOA"
    ttl0=$(auth_ttl "$first")
    t_assert_le "$ttl0" 60 "$name $type: SOA TTL at most the SOA minimum"
    t_assert_le 10 "$ttl0" "$name $type: SOA TTL long enough to watch"
    t1=$(t_now_us)
    soa_lower() {
        out=$(p_dig "$name" "$type")
        [[ $(p_status "$out") == "$status" && " $(flags "$out") " != *" aa "* ]] &&
            (($(auth_ttl "$out") < ttl0))
    }
    t_wait_until 5 "the cached SOA TTL of $name $type to fall below $ttl0" soa_lower ||
        t_fail "$name $type: the SOA TTL does not count down"
    t_pass "$name $type from the cache: SOA TTL $(auth_ttl "$out") < $ttl0"
    t_assert_le "$((ttl0 - 2 - $(t_elapsed_ms "$t1") / 1000))" "$(auth_ttl "$out")" \
        "$name $type: by the time passed, not more"
    t_assert_eq "$(asked "$name" "$type")" 1 "the upstream saw $name $type once"
}
neg_countdown nx.neg.test A NXDOMAIN
neg_countdown nd.neg.test MX NOERROR

# --- DO and CD are parts of the key.
n=$(asked a.test A)
t_assert_eq "$(p_dig a.test +dnssec +short)" 192.0.2.1 "a.test with DO"
t_assert_eq "$(asked a.test A)" "$((n + 1))" "a DO query is not answered by the entry without DO"
out=$(p_dig a.test +dnssec)
no_aa "$out" "the second DO query came from the cache"
t_assert_match "$out" 'EDNS: version: 0, flags: do;' "its reply has DO set"
t_assert_eq "$(p_dig a.test +cdflag +short)" 192.0.2.1 "a.test with CD"
t_assert_eq "$(asked a.test A)" "$((n + 2))" "a CD query has an entry of its own"
out=$(p_dig a.test +cdflag)
no_aa "$out" "the second CD query came from the cache"
t_assert_match "$(flags "$out")" '(^| )cd( |$)' "its reply has CD set"
t_assert_eq "$(asked a.test A)" "$((n + 2))" "the upstream saw no more a.test"

# --- A CNAME answer, kept whole (the pointers in it read the same).
want=$(p_dig cn.test +short)
t_assert_match "$want" '^a\.test\.' "cn.test: the CNAME"
out=$(p_dig Cn.TeSt)
no_aa "$out" "cn.test again, from the cache"
t_assert_eq "$(p_dig cn.test +short)" "$want" "the cached CNAME answer is the upstream's"
t_assert_eq "$(asked cn.test A)" 1 "the upstream saw cn.test once"
out=$(p_dig c2.chain.test)
want=$(awk '$0 == ";; ANSWER SECTION:" { a = 1; next } a && NF == 0 { exit } a { print $1, $4, $5 }' <<<"$out")
t_assert_eq "$(tr '\n' ' ' <<<"$want")" \
    "c2.chain.test. CNAME c1.chain.test. c1.chain.test. CNAME end.chain.test. end.chain.test. A 192.0.2.77 " \
    "c2.chain.test: a chain of two CNAMEs and the address"
out=$(p_dig C2.cHaIn.TeSt)
no_aa "$out" "the chain again, from the cache"
t_assert_eq "$(owner "$out")" C2.cHaIn.TeSt. "the chain's first owner in the client's spelling"
t_assert_eq "$(awk '$0 == ";; ANSWER SECTION:" { a = 1; next } a && NF == 0 { exit } a { print tolower($1), $4, tolower($5) }' <<<"$out")" \
    "$want" "the cached chain reads as the upstream's but for case (pointers right)"
t_assert_eq "$(asked c2.chain.test A)" 1 "the upstream saw c2.chain.test once"

# --- The 4 KB answer from the cache: TC over UDP, whole over TCP.
big_whole() { # DIG-OUTPUT -> true when the whole answer arrived
    [[ $1 == *"ANSWER: 1,"* ]] && (($(grep -oE '"[a-p]{250}"' <<<"$1" | wc -l) == 16))
}
out=$(p_dig big.test TXT +tcp)
big_whole "$out" || t_fail "4 KB answer not whole over TCP: $out"
t_pass "4 KB answer whole over TCP"
out=$(p_dig big.test TXT +ignore)
t_assert_match "$out" 'flags:[a-z ]* tc[ ;]' "from the cache over UDP (1232 bytes): TC"
t_assert_match "$out" 'ANSWER: 0,' "truncated: no records"
out=$(p_dig big.test TXT +ignore +noedns)
t_assert_match "$out" 'flags:[a-z ]* tc[ ;]' "over UDP without EDNS (512 bytes): TC"
out=$(p_dig big.test TXT +tcp)
big_whole "$out" || t_fail "4 KB answer from the cache not whole over TCP: $out"
no_aa "$out" "4 KB answer whole over TCP from the cache"
t_assert_eq "$(asked big.test TXT)" 1 "the upstream saw big.test once"

# --- Prefetch. pf.test (TTL 20) was asked at the start; ask it over and
# over until the upstream sees it again: that is the refresh, asked by a hit
# in the last 2 s, while every client got an answer from the cache.
pf_refreshed() {
    local out
    out=$(p_dig pf.test)
    [[ $(section_field ANSWER 5 "$out") == 192.0.2.20 ]] || { echo "pf.test: no answer: $out" >&2; exit 1; }
    [[ " $(flags "$out") " != *" aa "* ]] || { echo "pf.test answered by the upstream: $out" >&2; exit 1; }
    asked_is pf.test A 2
}
t_wait_until 40 "the prefetch of pf.test" pf_refreshed || t_fail "no prefetch of pf.test"
t_pass "prefetch: the upstream saw pf.test again while clients got it from the cache"
out=$(p_dig pf.test)
no_aa "$out" "pf.test after the refresh, from the cache"
t_assert_le 5 "$(answer_ttl "$out")" "its TTL starts again (refreshed before it expired)"
t_assert_eq "$(asked pf.test A)" 2 "one refresh only"
t_assert_eq "$(p_stat cache prefetch)" 1 "the prefetch is counted"
t_assert_eq "$(p_stat cache stale)" 0 "no stale answer so far"

# --- --cache-size 0: as before the cache.
P_PORT=$(t_free_port)
p_start nocache -p "$P_PORT" -n "$NS" --ca-file "$T/ca.pem" --cache-size 0
t_assert_match "$(grep -- 'memory: cache' "$P_LOG")" 'memory: cache off' "-d memory plan: cache off"
before=$(asked two.test A)
for i in 1 2 3; do
    out=$(p_dig two.test)
    t_assert_match "$(flags "$out")" '(^| )aa( |$)' "--cache-size 0: two.test #$i from the upstream"
done
t_assert_eq "$(asked two.test A)" "$((before + 3))" "--cache-size 0: every query reached the upstream"
t_assert_eq "$(p_stat cache hits)" 0 "--cache-size 0: no hits"
t_kill "$P_PID"

# A proxy with --stale-max 4: sb.test (TTL 3) may be served stale from 3 s
# to 7 s after it was stored, and not after.
P_PORT=$(t_free_port)
p_start stalemax -p "$P_PORT" -n "$NS" --ca-file "$T/ca.pem" --timeout 10 --stale-max 4
PB=$P_PID PB_LOG=$P_LOG PB_PORT=$P_PORT
t_assert_eq "$(p_dig sb.test +short)" 192.0.2.5 "sb.test (TTL 3) answered"

# --- Serve-stale with the upstream stopped: every nameserver fails, so the
# stale answer comes at once, not after --stale-answer-timeout.
t_stop_unbound "$T"
P_PID=$PA P_LOG=$PA_LOG P_PORT=$PA_PORT
out=$(p_dig st.test +time=12)
t_assert_eq "$(p_status "$out") $(section_field ANSWER 5 "$out")" "NOERROR 192.0.2.3" \
    "upstream stopped: expired st.test served"
t_assert_eq "$(answer_ttl "$out")" 30 "stale answer with TTL 30 (RFC 8767)"
t_assert_le "$(query_ms "$out")" 2000 "stale answer within 2 s"
t_assert_eq "$(p_stat cache stale)" 1 "the stale answer is counted"
out=$(p_dig two.test +time=12)
t_assert_eq "$(p_status "$out")" SERVFAIL "a name never cached: SERVFAIL, as before"

# --- None after --stale-max.
P_PID=$PB P_LOG=$PB_LOG P_PORT=$PB_PORT
sb_ttl() { local o; o=$(p_dig sb.test +time=12); answer_ttl "$o"; }
sb_stale() { [[ $(sb_ttl) == 30 ]]; }
sb_gone() { [[ $(p_status "$(p_dig sb.test +time=12)") == SERVFAIL ]]; }
t_wait_until 10 "sb.test served stale" sb_stale || t_fail "sb.test never served stale"
t_pass "--stale-max 4: sb.test served stale after its TTL"
t_wait_until 15 "sb.test past --stale-max" sb_gone || t_fail "sb.test still served past --stale-max"
t_pass "--stale-max 4: SERVFAIL once the entry is past it"
t_kill "$PB"

# --- Serve-stale with the upstream hung: connected, silent (SIGSTOP). The
# stale answer comes once --stale-answer-timeout (1.8 s) is over, long before
# --timeout (10 s) would give SERVFAIL.
t_restart_unbound "$T"
P_PID=$PA P_LOG=$PA_LOG P_PORT=$PA_PORT
a_answers() { [[ $(p_dig a.test +dnssec +cdflag +short) == 192.0.2.1 ]]; }
t_wait_until 15 "the proxy answering again" a_answers || t_fail "no answer after the upstream came back"
kill -STOP "$T_UNBOUND_PID"
out=$(p_dig st2.test +time=12)
kill -CONT "$T_UNBOUND_PID"
t_assert_eq "$(p_status "$out") $(section_field ANSWER 5 "$out")" "NOERROR 192.0.2.4" \
    "upstream hung: expired st2.test served"
t_assert_eq "$(answer_ttl "$out")" 30 "stale answer with TTL 30"
t_assert_le "$(query_ms "$out")" 5000 "stale answer long before the 10 s --timeout"
t_assert_eq "$(p_stat cache stale)" 2 "both stale answers counted"

# --- SIGWINCH empties the cache: the next a.test goes upstream.
n=$(asked a.test A)
kill -WINCH "$PA"
t_wait_until 5 "the flush logged" grep -q 'cache flushed on SIGWINCH' "$PA_LOG" ||
    t_fail "no flush logged after SIGWINCH"
t_assert_match "$(flags "$(p_dig a.test)")" '(^| )aa( |$)' "after SIGWINCH a.test came from the upstream"
t_assert_eq "$(asked a.test A)" "$((n + 1))" "the upstream saw it again"
no_aa "$(p_dig a.test)" "and the next one from the cache again"

t_alive "$PA" || t_fail "the proxy is no longer running"
t_pass "same proxy process throughout"
