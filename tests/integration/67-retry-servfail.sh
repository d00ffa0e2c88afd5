#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# --retry-servfail: a SERVFAIL or REFUSED answer from one provider is asked
# once of another provider within the deadline; on by default with two
# providers (certificate names) or more; off with --retry-servfail=no; never
# to a nameserver of the same provider (1.1.1.1 and 1.0.0.1 give the same
# answers). The failing provider is fakedot.py --rcode (unbound will not
# answer SERVFAIL on demand); the good one is unbound, a second name.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy.sh"
t_init retry-servfail
t_make_pki "$T" dot.test                 # fakedot: dot.test
t_make_pki "$T/good" good.test           # unbound: good.test, another CA
cat "$T/ca.pem" "$T/good/ca.pem" >"$T/cas.pem"
U_PORT=$(t_free_port)
t_start_unbound "$T/good" "$U_PORT"
GOOD=127.0.0.1:$U_PORT:good.test

# fake NAME RCODE [CERT-DIR] -- a fakedot.py answering every query with
# RCODE (certificate of CERT-DIR, default dot.test's); its log $T/NAME.q,
# its -n argument in NS_NAME.
fake() {
    local name=$1 rcode=$2 dir=${3:-$T} port host
    port=$(t_free_port)
    host=$(openssl x509 -in "$dir/server.pem" -noout -ext subjectAltName | sed -n 's/.*DNS:\([^,]*\).*/\1/p')
    t_spawn "fake-$name" python3 "$(dirname "$0")/fakedot.py" --port "$port" --cert "$dir/server.pem" \
        --key "$dir/server.key" --rcode "$rcode" --log "$T/$name.q"
    t_wait_listen "$port" tcp || t_fail "fakedot $name did not start"
    eval "NS_$name=127.0.0.1:$port:$host"
}
asked() { grep -c '^query ' "$T/$1.q" 2>/dev/null || true; }
run() { # NAME ARGS... -- a proxy with the failing one first (--strategy order)
    local name=$1
    shift
    P_PORT=$(t_free_port)
    p_start "$name" -p "$P_PORT" --ca-file "$T/cas.pem" --strategy order --timeout 3 "$@"
}

fake sf 2
run servfail -n "$NS_sf" -n "$GOOD"
out=$(p_dig s1.load.test)
t_assert_eq "$(p_status "$out")" NOERROR "SERVFAIL from the first provider: asked again of the other"
t_assert_match "$out" '192\.0\.2\.100' "the other provider's answer"
t_assert_eq "$(asked sf)" 1 "the failing provider was asked first, once"
for i in 2 3 4 5; do
    t_assert_eq "$(p_dig "s$i.load.test" +short)" 192.0.2.100 "query $i: answered by the other provider" >/dev/null
done
t_assert_eq "$(p_stat errors servfail)" 0 "no SERVFAIL made by the proxy"
t_kill "$P_PID"

# --retry-servfail=no: the SERVFAIL goes to the client.
run off -n "$NS_sf" -n "$GOOD" --retry-servfail=no
t_assert_eq "$(p_status "$(p_dig s6.load.test)")" SERVFAIL "--retry-servfail=no: the SERVFAIL is passed on"
t_kill "$P_PID"

# One provider, two addresses: no retry (the other would say the same).
fake sf2 2
run same -n "$NS_sf" -n "$NS_sf2" --retry-servfail
t_assert_eq "$(p_status "$(p_dig s7.load.test)")" SERVFAIL "same provider: not asked again"
t_assert_eq "$(asked sf2)" 0 "the second address of the same provider was not asked"
t_kill "$P_PID"

# REFUSED is retried the same way.
fake rf 5
run refused -n "$NS_rf" -n "$GOOD"
t_assert_eq "$(p_dig r1.load.test +short)" 192.0.2.100 "REFUSED from the first provider: asked again of the other"
t_assert_eq "$(asked rf)" 1 "the refusing provider was asked once"
t_kill "$P_PID"

# NXDOMAIN is an answer, not a failure: passed on, not retried.
fake nx 3
run nxdomain -n "$NS_nx" -n "$GOOD"
before=$(t_unbound_queries "$T/good")
t_assert_eq "$(p_status "$(p_dig n1.load.test)")" NXDOMAIN "NXDOMAIN is passed on"
t_assert_eq "$(t_unbound_queries "$T/good")" "$before" "NXDOMAIN: the other provider is not asked"
t_kill "$P_PID"

# Both providers fail: one retry, then the last answer (SERVFAIL), well
# within the deadline.
fake gsf 2 "$T/good"
run both -n "$NS_sf" -n "$NS_gsf"
start=$(t_now_us)
t_assert_eq "$(p_status "$(p_dig b1.load.test)")" SERVFAIL "both providers fail: SERVFAIL"
t_assert_le "$(t_elapsed_ms "$start")" 2000 "at once, not at the deadline"
t_assert_eq "$(asked gsf)" 1 "the second provider was asked once"
