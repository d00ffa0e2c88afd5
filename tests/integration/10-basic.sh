#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The thin path end to end: real clients (dig, kdig) -> proxy -> a real DoT
# upstream (unbound with a test CA). A/AAAA over UDP and TCP, NXDOMAIN passed
# through, the client's ID kept, the 4 KB answer whole over TCP and truncated
# with TC over UDP.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy.sh"
t_init basic
p_setup
p_start proxy -p "$P_PORT" -n "$NS" --ca-file "$T/ca.pem"

t_assert_eq "$(p_dig a.test +short)" 192.0.2.1 "A over UDP"
t_assert_eq "$(p_dig a.test +short +tcp)" 192.0.2.1 "A over TCP"
t_assert_eq "$(p_dig a.test AAAA +short)" 2001:db8::1 "AAAA over UDP"
t_assert_eq "$(p_dig a.test AAAA +short +tcp)" 2001:db8::1 "AAAA over TCP"
t_assert_eq "$(p_dig two.test +short +noedns)" 192.0.2.2 "A over UDP without EDNS"
t_assert_eq "$(p_status "$(p_dig nx.test)")" NXDOMAIN "NXDOMAIN passed through over UDP"
t_assert_eq "$(p_status "$(p_dig nx.test +tcp)")" NXDOMAIN "NXDOMAIN passed through over TCP"
t_assert_eq "$(kdig @127.0.0.1 -p "$P_PORT" +short +retry=0 a.test)" 192.0.2.1 "kdig over UDP"
t_assert_eq "$(kdig @127.0.0.1 -p "$P_PORT" +tcp +short +retry=0 a.test AAAA)" 2001:db8::1 "kdig over TCP"

# The answer carries the client's own ID, whatever ID went upstream.
t_assert_match "$("$(dirname "$0")/dnsraw.py" udp "$P_PORT" 123401000001000000000000016104746573740000010001)" \
    '^id=4660 rcode=0 ' "UDP answer keeps the client's ID 0x1234"
t_assert_match "$("$(dirname "$0")/dnsraw.py" tcp "$P_PORT" beef01000001000000000000016104746573740000010001)" \
    '^id=48879 rcode=0 ' "TCP answer keeps the client's ID 0xbeef"

# The 4 KB TXT answer: whole over TCP, however many segments and records.
# (The proxy pads queries with EDNS, so unbound pads its answer: 4065 bytes
# become 4212.)
big_whole() { # DIG-OUTPUT -> true when the whole answer arrived
    [[ $1 == *"ANSWER: 1,"* && $1 =~ MSG\ SIZE\ \ rcvd:\ (4065|4212) ]] &&
        (($(grep -oE '"[a-p]{250}"' <<<"$1" | wc -l) == 16))
}
out=$(p_dig big.test TXT +tcp)
big_whole "$out" || t_fail "4 KB answer not whole over TCP: $out"
t_pass "4 KB answer whole over TCP (16 strings, $(sed -n 's/.*MSG SIZE  rcvd: //p' <<<"$out") bytes)"
# Over UDP it does not fit the client's EDNS size (dig: 1232): TC, no records.
out=$(p_dig big.test TXT +ignore)
t_assert_match "$out" 'flags:[a-z ]* tc[ ;]' "4 KB answer over UDP has TC set"
t_assert_match "$out" 'ANSWER: 0,' "truncated answer carries no records"
t_assert_match "$out" 'EDNS: version: 0' "truncated answer keeps an OPT record for an EDNS client"
out=$(p_dig big.test TXT +ignore +noedns)
t_assert_match "$out" 'flags:[a-z ]* tc[ ;]' "4 KB answer over UDP without EDNS (512 bytes) has TC set"
# A client claiming 4400 bytes still gets TC: --max-udp-size (1232) caps
# what goes in one datagram, so no answer needs IP fragments.
out=$(p_dig big.test TXT +ignore +bufsize=4400)
t_assert_match "$out" 'flags:[a-z ]* tc[ ;]' "4 KB answer over UDP with EDNS 4400: TC (--max-udp-size 1232)"
# And dig's own fallback (TC -> TCP) ends with the whole answer.
big_whole "$(p_dig big.test TXT)" || t_fail "dig's TCP retry after TC did not get the whole answer"
t_pass "dig retries over TCP after TC and gets the whole answer"
t_assert_le "1" "$(p_stat errors truncated)" "truncations are counted"
t_kill "$P_PID"

# With --max-udp-size 4400 a client that takes 4400 bytes gets it whole,
# one that takes 4000 gets TC.
P_PORT=$(t_free_port)
p_start big -p "$P_PORT" -n "$NS" --ca-file "$T/ca.pem" --max-udp-size 4400
out=$(p_dig big.test TXT +ignore +bufsize=4400)
big_whole "$out" || t_fail "4 KB answer not whole over UDP with EDNS 4400 and --max-udp-size 4400: $out"
t_pass "4 KB answer whole over UDP with EDNS 4400 and --max-udp-size 4400"
t_assert_match "$(p_dig big.test TXT +ignore +bufsize=4000)" 'flags:[a-z ]* tc[ ;]' \
    "4 KB answer over UDP with EDNS 4000: TC"
