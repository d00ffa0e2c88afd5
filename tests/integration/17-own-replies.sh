#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The replies the proxy writes itself, as dig shows them: RD and CD kept
# from the query, an OPT that echoes DO (RFC 4035 §3.2.2, RFC 3225), and an
# Extended DNS Error (RFC 8914) saying why: 22 with no upstream reachable,
# 23 when the deadline passed, 18 outside --allow; none without EDNS.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy.sh"
t_init own-replies
p_setup

# The header flags and the EDNS flags of a dig output.
flags() { sed -n 's/^;; flags: \([a-z ]*\);.*/\1/p' <<<"$1" | head -n 1; }
edns_flags() { sed -n 's/^; EDNS: version: 0, flags:\([a-z ]*\);.*/\1/p' <<<"$1" | head -n 1; }

# --- No upstream reachable: SERVFAIL at once, EDE 22.
t_stop_unbound
p_start proxy -p "$P_PORT" -n "$NS" --ca-file "$T/ca.pem" --timeout 3
for proto in +notcp +tcp; do
    out=$(p_dig a.test +dnssec +cd "$proto" +time=5)
    t_assert_eq "$(p_status "$out")" SERVFAIL "SERVFAIL with the upstream down ($proto)"
    t_assert_eq "$(flags "$out")" "qr rd ra cd" "RD and CD kept ($proto)"
    t_assert_eq "$(edns_flags "$out")" " do" "DO echoed ($proto)"
    t_assert_match "$out" "EDE: 22 \(No Reachable Authority\): \(no upstream reachable\)" \
        "EDE 22 with its text ($proto)"
done
out=$(p_dig a.test +nodnssec +norecurse +time=5)
t_assert_eq "$(flags "$out")" "qr ra" "RD and CD clear when the query had them clear"
t_assert_eq "$(edns_flags "$out")" "" "no DO when the query had none"
t_assert_match "$out" "EDE: 22" "EDE 22 without DO too"
out=$(p_dig a.test +noedns +time=5)
t_assert_eq "$(p_status "$out")" SERVFAIL "SERVFAIL to a query without EDNS"
if [[ $out == *"OPT PSEUDOSECTION"* || $out == *EDE* ]]; then
    t_fail "a query without EDNS got an OPT record back"
fi
t_pass "no OPT, so no EDE, for a query without EDNS"
t_kill "$P_PID"

# --- The deadline passes (an upstream that answers its probes at once but
# the query only after 5 s): EDE 23.
p_fake slow 5000
p_start slow -p "$P_PORT" -n "127.0.0.1:$F_PORT:dot.test" --ca-file "$T/ca.pem" --timeout 1
out=$(p_dig a.test +dnssec +cd +time=5)
t_assert_eq "$(p_status "$out")" SERVFAIL "SERVFAIL at the deadline"
t_assert_eq "$(flags "$out")" "qr rd ra cd" "RD and CD kept at the deadline"
t_assert_match "$out" "EDE: 23 \(Network Error\): \(upstream timed out\)" "EDE 23 with its text"
t_kill "$P_PID"

# --- Outside --allow: REFUSED, EDE 18. Over UDP the reply is no bigger
# than the query: dig's cookie leaves room for the code, not the text.
t_restart_unbound
p_start acl -p "$P_PORT" -n "$NS" --ca-file "$T/ca.pem" --allow 192.0.2.0/24
# Over TCP the connection is closed at accept (issue 13: it held a slot), so
# the client gets no answer at all.
if out=$(p_dig a.test +tcp +dnssec +tries=1 +time=2); then
	t_fail "a TCP client outside --allow got an answer: $(p_status "$out")"
fi
t_pass "TCP client outside --allow: closed at accept, no answer"
# No cookie: the reply may be no bigger than the query, which leaves room
# for the OPT but not the EDE (the cookie case below has room for it).
out=$(p_dig a.test +dnssec +nocookie)
t_assert_eq "$(p_status "$out")" REFUSED "REFUSED outside --allow (UDP, DO)"
t_assert_eq "$(edns_flags "$out")" " do" "DO echoed in REFUSED"
out=$(p_dig a.test +cookie +qr)
# With +qr dig prints the query first: the reply's status is the last one.
t_assert_eq "$(sed -n 's/.*status: \([A-Z]*\),.*/\1/p' <<<"$out" | tail -n 1)" REFUSED \
    "REFUSED outside --allow (UDP)"
t_assert_match "$out" "EDE: 18 \(Prohibited\)" "EDE 18 over UDP"
sent=$(sed -n 's/^;; QUERY SIZE: \([0-9]*\)$/\1/p' <<<"$out")
got=$(sed -n 's/^;; MSG SIZE  rcvd: \([0-9]*\)$/\1/p' <<<"$out")
t_assert_le "$got" "$sent" "the REFUSED reply over UDP is no bigger than the query"
