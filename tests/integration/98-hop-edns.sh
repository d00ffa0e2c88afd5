#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# EDNS options of the TLS hop stay on the TLS hop (issue 16). unbound pads
# its answers to a padded query (RFC 8467's 468-byte blocks) and sends
# edns-tcp-keepalive; the proxy pads every query with EDNS. Through the
# proxy:
#  - a 1053-byte answer to a client offering 1232 bytes comes back whole,
#    not TC (padded, it would be 1404 bytes)
#  - no answer to a client carries Padding or edns-tcp-keepalive, over UDP
#    or TCP, and each is exactly as long as unbound's answer to an unpadded
#    query (kdig +tls +nopadding straight to unbound)
#  - the client's DNS COOKIE does not reach the upstream (RFC 7873: it was
#    made for the proxy), checked where the upstream reads it (fakedot.py)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy.sh"
t_init 98-hop-edns
# mid.test: 4 strings of 250 characters, a 1053-byte answer with an OPT.
mid=$(printf '"%s" ' "$(printf 'm%.0s' $(seq 250))" "$(printf 'n%.0s' $(seq 250))" \
    "$(printf 'o%.0s' $(seq 250))" "$(printf 'p%.0s' $(seq 250))")
export T_UNBOUND_EXTRA="edns-tcp-keepalive: yes
local-data: 'mid.test. 300 IN TXT ${mid% }'"
p_setup
p_start proxy -p "$P_PORT" -n "$NS" --ca-file "$T/ca.pem"
t_wait_dns 127.0.0.1 "$P_PORT" udp || t_fail "the proxy does not answer"

size() { sed -n 's/.*MSG SIZE  rcvd: \([0-9]*\).*/\1/p' <<<"$1"; }
direct() { # NAME TYPE -> the size of unbound's answer to an unpadded query
    t_kdig_tls 127.0.0.1 "$U_PORT" "$T/ca.pem" dot.test +edns +nopadding "$@" |
        sed -n 's/^;; Received \([0-9]*\) B.*/\1/p'
}
hop_options() { grep -E '^; (PADDING|TCP-KEEPALIVE|KEEPALIVE)' <<<"$1" || true; }

t_assert_eq "$(direct mid.test TXT)" 1053 "unbound's unpadded answer for mid.test is 1053 bytes"
for proto in +notcp +tcp; do
    out=$(p_dig mid.test TXT +bufsize=1232 +nocookie +keepalive +ignore "$proto")
    t_assert_match "$out" "flags: qr (aa )?rd ra;" "$proto: the 1053-byte answer to a 1232-byte client is not truncated"
    t_assert_match "$out" "ANSWER: 1," "$proto: its record is there"
    t_assert_eq "$(size "$out")" 1053 "$proto: exactly as long as unbound's unpadded answer"
    t_assert_eq "$(hop_options "$out")" "" "$proto: no Padding, no keepalive reach the client"
    out=$(p_dig a.test A +nocookie +keepalive "$proto")
    t_assert_eq "$(size "$out")" "$(direct a.test A)" "$proto: the A answer as long as unbound's unpadded one"
    t_assert_eq "$(hop_options "$out")" "" "$proto: no Padding, no keepalive on the A answer"
done
# The proxy still pads what it sends and honours what it is told: the
# upstream saw padded queries (its answers were padded: 468-byte blocks).
t_assert_eq "$(p_stat nameserver bad_answers)" 0 "no answer discarded"

# The client's cookie stays with the proxy: what the upstream reads.
t_kill "$P_PID"
p_fake ok 0
p_start fake -p "$P_PORT" -n "127.0.0.1:$F_PORT:dot.test" --ca-file "$T/ca.pem"
out=$(p_dig a.test +cookie)
t_assert_eq "$(p_status "$out")" NOERROR "a query with a cookie is answered"
t_assert_match "$(grep '^query ' "$F_LOG" | tail -n 1)" 'opts=[0-9,]+ name=a\.test\.' "the upstream logged the query's options"
if grep '^query ' "$F_LOG" | tail -n 1 | grep -qE 'opts=([0-9]+,)*10(,| )'; then
    t_fail "the client's COOKIE (option 10) reached the upstream: $(grep '^query ' "$F_LOG" | tail -n 1)"
fi
t_pass "the client's COOKIE did not reach the upstream"
t_assert_match "$(grep '^query ' "$F_LOG" | tail -n 1)" 'opts=.*12' "... which still got a padded query"
