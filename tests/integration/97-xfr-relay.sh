#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Zone transfers relayed through the proxy (issue 16): named serves a zone
# of T_NAMED_RECORDS (100,000) records over TLS only to the proxy; plain-DNS
# clients on loopback pull it through the proxy.
#  - dig and kdig AXFR through the proxy: exactly the records, in as many
#    messages, as a direct kdig +tls AXFR (dig: as dig straight from named);
#    every message with the client's ID and question, and the bytes named
#    sends over plain TCP (the TLS hop's EDNS options stripped)
#  - IXFR after dynamic updates: the difference, the single SOA "up to
#    date", and the AXFR form from a version the primary's journal lacks
#  - a real secondary (a second named whose primary is the proxy, plain DNS)
#    loads both zones, answers from them, and after an update takes the
#    difference by IXFR when told to refresh, with the answer cache on (the
#    SOA asked without RD never comes from the cache)
#  - a transfer held in flight by a client that stops reading (it resumes
#    once the test has measured): ordinary queries keep their latency
#    (medians compared, generous bound), the proxy relays no more of the
#    zone than fits its buffers, and the client then gets it all; a client
#    that stops reading for good is closed (--tcp-idle-timeout)
#  - outside --allow-transfer: REFUSED with EDE 18, over TCP and UDP; AXFR
#    and IXFR over UDP from an allowed client: TC
#  - the proxy's peak RSS (VmHWM) over the transfers, reported, and its
#    growth within the footprint budget (FOOTPRINT_RSS_KIB, 1024 KiB)
#  - a primary gone silent (--transfer-timeout) and a broken stream
#    (fakedot.py) end the client's connection after the first message
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy.sh"
t_need_feature xfr
XC=$(dirname "$0")/xfrclient.py

if ! t_named_available; then
    echo "SKIP: 97-xfr-relay: named cannot run here (install Debian's bind9: apt-get install bind9)" >&2
    exit 77
fi
t_init 97-xfr-relay
t_make_pki "$T/pki" primary.test
t_start_named "$T/named" "$T/pki" "$(t_free_port)" "$(t_free_port)"
P_PORT=$(t_free_port)
NS=127.0.0.1:$(t_named_tls_port):primary.test
# Clients on 127.0.0.1 may transfer; 127.0.0.2 (also loopback, so inside
# the default --allow) may query but not transfer.
# With the answer cache on (the default): a secondary's refresh asks the SOA
# with RD clear, and such queries bypass the cache, or the SOA kept from the
# last refresh would hide the new serial for its TTL (issue 15).
p_start proxy -p "$P_PORT" -n "$NS" --ca-file "$T/pki/ca.pem" --allow-transfer 127.0.0.1/32
t_wait_dns 127.0.0.1 "$P_PORT" udp || t_fail "the proxy does not answer"
want=$((T_NAMED_RECORDS + 4)) # SOA, NS, ns A, the records, closing SOA

# kib FIELD -- VmHWM, VmRSS... of the proxy, in KiB.
kib() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$P_PID/status"; }
rss_start=$(kib VmRSS)
# From here the peak counts from the resident size now (Linux >= 4.0).
echo 5 >"/proc/$P_PID/clear_refs"

# --- AXFR: the same records, in the same messages, as straight from named.
start=$(t_now_us)
t_named_kdig_tls +time=10 axfr big.test >"$T/direct.txt"
direct_ms=$(t_elapsed_ms "$start")
start=$(t_now_us)
kdig @127.0.0.1 -p "$P_PORT" +tcp +time=10 axfr big.test >"$T/relay-kdig.txt"
relay_ms=$(t_elapsed_ms "$start")
dig +tries=1 +time=10 @127.0.0.1 -p "$P_PORT" axfr big.test >"$T/relay-dig.txt"
t_named_records "$T/direct.txt" >"$T/direct.rr"
t_named_records "$T/relay-kdig.txt" >"$T/relay-kdig.rr"
grep -v -e '^;' -e '^$' "$T/relay-dig.txt" | tr -s ' \t' ' ' >"$T/relay-dig.rr"
t_assert_eq "$(wc -l <"$T/direct.rr")" "$want" "direct kdig +tls AXFR: $want records"
for c in kdig dig; do
    if cmp -s "$T/direct.rr" "$T/relay-$c.rr"; then
        t_pass "$c AXFR through the proxy: exactly the records of the direct transfer"
    else
        diff "$T/direct.rr" "$T/relay-$c.rr" | head -5 >&2
        t_fail "$c AXFR through the proxy differs from the direct transfer"
    fi
done
msgs=$(sed -n 's/.*(\([0-9]*\) messages, .*/\1/p' "$T/direct.txt")
t_assert_match "$(cat "$T/relay-kdig.txt")" "\($msgs messages, $want records\)" \
    "relayed message by message: $msgs messages, as named sent them"
t_assert_match "$(cat "$T/relay-dig.txt")" "XFR size: $want records " "dig counts $want records"
t_log "AXFR of $want records in $msgs messages: direct over TLS $direct_ms ms, through the proxy" \
    "$relay_ms ms (kdig, one run each, $(nproc) CPUs)"
# Every message carries the client's ID and question (dig and kdig check
# it too, but say little when they reject a message).
out=$("$XC" xfr "$P_PORT" big.test)
t_assert_eq "$out" "rcode=0 ede=-1 messages=$msgs records=$want bytes=$(
    "$XC" xfr "$(t_named_port)" big.test | sed -n 's/.* bytes=\([0-9]*\) .*/\1/p') ids=ok complete=1 end=done" \
    "raw client: every message with its ID and question, as many bytes as named sends over TCP"
t_assert_eq "$(p_stat transfers completed)" 3 "stats: three transfers completed"
# (named may cut dig's transfer in its own way: its query differs.)
dig_msgs=$(sed -n 's/.*XFR size: .*(messages \([0-9]*\),.*/\1/p' "$T/relay-dig.txt")
t_assert_eq "$(p_stat transfers messages)" $((2 * msgs + dig_msgs)) "stats: every message counted"

# --- IXFR: the difference, up to date, AXFR form.
soa() { printf 'ixfr.test. 3600 IN SOA ns.ixfr.test. hostmaster.ixfr.test. %s 7200 900 1209600 300' "$1"; }
t_named_update ixfr.test "update delete h5.ixfr.test A" "update add new1.ixfr.test 300 A 192.0.2.200"
expect=$(printf '%s\n' "$(soa 2)" "$(soa 1)" "h5.ixfr.test. 3600 IN A 10.0.0.5" "$(soa 2)" \
    "new1.ixfr.test. 300 IN A 192.0.2.200" "$(soa 2)")
dig +tries=1 +time=5 @127.0.0.1 -p "$P_PORT" ixfr=1 ixfr.test +nocmd +nostats >"$T/ixfr-dig.txt"
t_assert_eq "$(grep -v -e '^;' -e '^$' "$T/ixfr-dig.txt" | tr -s ' \t' ' ')" "$expect" \
    "dig IXFR from serial 1 through the proxy: the difference"
kdig @127.0.0.1 -p "$P_PORT" +tcp ixfr=1 ixfr.test >"$T/ixfr-kdig.txt"
t_assert_eq "$(t_named_records "$T/ixfr-kdig.txt")" "$expect" "kdig sees the same difference"
kdig @127.0.0.1 -p "$P_PORT" +tcp ixfr=2 ixfr.test >"$T/ixfr-2.txt"
t_assert_eq "$(t_named_records "$T/ixfr-2.txt")" "$(soa 2)" "IXFR from the current serial: the single SOA"
t_assert_eq "$("$XC" xfr "$P_PORT" ixfr.test --serial 2)" \
    "rcode=0 ede=-1 messages=1 records=1 bytes=$("$XC" xfr "$(t_named_port)" ixfr.test --serial 2 |
        sed -n 's/.* bytes=\([0-9]*\) .*/\1/p') ids=ok complete=1 end=done" \
    "raw client: the up-to-date answer is one message, with its ID"
kdig @127.0.0.1 -p "$P_PORT" +tcp ixfr=4294967295 ixfr.test >"$T/ixfr-axfr.txt"
t_named_records "$T/ixfr-axfr.txt" >"$T/ixfr-axfr.rr"
t_assert_eq "$(wc -l <"$T/ixfr-axfr.rr")" 104 "IXFR from a version the journal lacks: the whole zone (SOA, NS, ns, 100 hosts, SOA)"
t_assert_eq "$(grep -c ' SOA ' "$T/ixfr-axfr.rr")" 2 "... in AXFR form"

# --- Access and transport.
out=$("$XC" xfr "$P_PORT" big.test --source 127.0.0.2)
t_assert_match "$out" "^rcode=5 ede=18 messages=1 records=0 " "TCP AXFR from outside --allow-transfer: REFUSED, EDE 18"
out=$(kdig -b 127.0.0.2 @127.0.0.1 -p "$P_PORT" +tcp +retry=0 ixfr=1 ixfr.test 2>&1 || true)
t_assert_match "$out" "REFUSED" "kdig IXFR from outside --allow-transfer: REFUSED"
t_assert_match "$("$XC" udp "$P_PORT" big.test AXFR --source 127.0.0.2)" "^rcode=5 tc=0 an=0 ede=18 id=ok" \
    "UDP AXFR from outside --allow-transfer: REFUSED, EDE 18"
t_assert_match "$("$XC" udp "$P_PORT" big.test AXFR)" "^rcode=0 tc=1 an=0 .* id=ok" "UDP AXFR: TC, no records"
t_assert_match "$("$XC" udp "$P_PORT" ixfr.test IXFR)" "^rcode=0 tc=1 an=0 .* id=ok" "UDP IXFR: TC, no records"
t_assert_eq "$(p_dig -b 127.0.0.2 h7.big.test +short +norec)" 10.0.0.7 \
    "an ordinary query from outside --allow-transfer is answered"

# --- A transfer held in flight by a client that stops reading.
name=h4242.big.test
"$XC" latency "$P_PORT" "$name" 5 >/dev/null # warm the connection
base=$("$XC" latency "$P_PORT" "$name" 40)
t_log "ordinary queries, no transfer: $base"
done_before=$(p_stat transfers completed) msgs_before=$(p_stat transfers messages)
# A small receive buffer: the kernel holds little for it, so the proxy's
# own buffer to this client fills.
t_spawn stalled "$XC" xfr "$P_PORT" big.test --rcvbuf 8192 --stall-after 2 \
    --stall-file "$T/stalled" --go-file "$T/go"
xfr_pid=$T_PID
t_wait_until 30 "the transfer client to stall" test -e "$T/stalled" || t_fail "the transfer client never got 2 messages"
during=$("$XC" latency "$P_PORT" "$name" 40)
t_log "ordinary queries, a transfer stalled in flight: $during"
field() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" <<<"$2"; }
t_assert_eq "$(field noerror "$during")" 40 "every ordinary query answered NOERROR while the transfer stalls"
bm=$(field median_us "$base") dm=$(field median_us "$during")
t_assert_le "$dm" $((5 * bm + 50000)) "median latency during the transfer ($dm us) within 5x + 50 ms of without ($bm us)"
hwm_stalled=$(kib VmHWM)
# Still in flight: the client has not read the end, so neither has the
# proxy: back-pressure stopped it once the client's buffers were full, far
# from the end of the zone, however long it waits.
t_alive "$xfr_pid" || t_fail "the stalled transfer client exited"
t_assert_eq "$(p_stat transfers completed)" "$done_before" "the stalled transfer is not over for the proxy"
relayed=$(($(p_stat transfers messages) - msgs_before))
t_assert_le "$relayed" $((msgs / 2)) "back-pressure: $relayed of $msgs messages relayed to the stalled client"
touch "$T/go"
t_wait_exit "$xfr_pid" 120 || t_fail "the stalled transfer did not finish once its client read again"
t_assert_match "$(tail -n 1 "$T/stalled.log")" "^rcode=0 ede=-1 messages=$msgs records=$want .* ids=ok complete=1" \
    "the stalled client, reading again, gets the whole zone"

# --- A client that stops reading for good is closed as any TCP client that
# does not read its answers (--tcp-idle-timeout, 10 s), and its transfer
# with it.
failed_before=$(p_stat transfers failed)
t_spawn deaf "$XC" xfr "$P_PORT" big.test --rcvbuf 8192 --stall-after 2 \
    --stall-file "$T/deaf-stalled" --go-file "$T/deaf-go" --timeout 90
deaf_pid=$T_PID
t_wait_until 30 "the second transfer client to stall" test -e "$T/deaf-stalled" ||
    t_fail "the second transfer client never got 2 messages"
# (p_stat asks for a stats dump and waits, bounded, for its line.)
_more_failed() { (($(p_stat transfers failed) > failed_before)); }
t_wait_until 40 "the proxy to close the client that does not read" _more_failed ||
    t_fail "a transfer client that stopped reading was not closed"
t_pass "a transfer client that stopped reading was closed, its transfer counted failed"
touch "$T/deaf-go"
t_wait_exit "$deaf_pid" 60 || t_fail "the closed client did not see the end of its connection"
t_assert_match "$(tail -n 1 "$T/deaf.log")" "complete=0 end=eof$" "... it reads what was sent, then the connection's end"
t_assert_eq "$(p_dig +short h1.big.test +norec)" 10.0.0.1 "ordinary queries answered after it"

# --- A real secondary, whose primary is the proxy over plain DNS.
t_named_update ixfr.test "update add new2.ixfr.test 300 A 192.0.2.201"
S_PORT=$(t_free_port)
t_start_named_secondary "$T/secondary" "$P_PORT" "$S_PORT" big.test ixfr.test
t_named_secondary_wait big.test 1 || t_fail "the secondary did not load big.test through the proxy"
t_named_secondary_wait ixfr.test 3 || t_fail "the secondary did not load ixfr.test through the proxy"
t_pass "a secondary named loaded big.test and ixfr.test through the proxy"
sdig() { dig +tries=1 +time=3 +norec @127.0.0.1 -p "$S_PORT" "$@"; }
out=$(sdig h99999.big.test A)
t_assert_match "$out" "flags: qr aa;" "the secondary answers big.test with authority"
t_assert_eq "$(sdig +short h99999.big.test A)" 10.1.134.159 "... the zone's last record"
t_assert_eq "$(sdig +short new2.ixfr.test A)" 192.0.2.201 "... and ixfr.test as updated"
t_assert_match "$(cat "$T/secondary.log")" "transfer of 'big\.test/IN' from 127\.0\.0\.1#$P_PORT: Transfer completed: [0-9]+ messages, $want records" \
    "the secondary logs the whole transfer from the proxy"
# An update, then a refresh: the secondary asks for the difference. The
# SOA without RD, as a secondary asks it, shows the new serial at once; with
# RD it comes from the cache, as kept before the update.
serial() { awk '$4 == "SOA" { print $7; exit }' <<<"$1"; }
soa_rd=$(p_dig ixfr.test SOA +noall +answer)
t_assert_eq "$(serial "$(p_dig ixfr.test SOA +noall +answer +norec)")" 3 "SOA without RD: serial 3"
t_named_update ixfr.test "update delete new1.ixfr.test A"
t_assert_eq "$(serial "$(p_dig ixfr.test SOA +noall +answer +norec)")" 4 \
    "SOA without RD right after the update: serial 4 (not from the cache)"
t_assert_eq "$(serial "$(p_dig ixfr.test SOA +noall +answer)")" "$(serial "$soa_rd")" \
    "SOA with RD: the cached answer (the cache is on)"
t_named_secondary_rndc refresh ixfr.test >/dev/null
t_named_secondary_wait ixfr.test 4 60 || t_fail "the secondary did not take serial 4 after a refresh"
t_assert_eq "$(sdig +short new1.ixfr.test A)" "" "the secondary applied the deletion"
t_assert_match "$(cat "$T/named.log")" "transfer of 'ixfr\.test/IN': IXFR started \(serial 3 -> 4\)" \
    "the refresh reached the primary as an IXFR from serial 3"
t_assert_match "$(tail -n 1 < <(grep "transfer of 'ixfr.test/IN' from 127.0.0.1#$P_PORT: Transfer completed" "$T/secondary.log"))" \
    "Transfer completed: 1 messages, 5 records" "the secondary took the difference: 5 records"

# --- Memory: the zone went through, never into the proxy.
hwm=$(kib VmHWM)
t_log "proxy VmRSS before the transfers $rss_start KiB; VmHWM while a transfer stalled $hwm_stalled KiB," \
    "after $(p_stat transfers completed) transfers $hwm KiB (Linux /proc/$P_PID/status)"
budget=${FOOTPRINT_RSS_KIB:-1024}
if [[ -n ${SANITIZER_LOG_DIR:-} ]]; then
    t_log "under the sanitizers: VmHWM reported, not compared with the budget"
else
    t_assert_le $((hwm - rss_start)) "$budget" \
        "the transfers raised the proxy's peak RSS by at most the footprint budget ($budget KiB)"
fi

# --- A primary gone silent mid-transfer, and a stream that goes wrong:
# faults named does not make on demand, so a fake DoT server (fakedot.py)
# sends an AXFR's first message, then nothing (xfr-stall), or then a
# message for another zone (xfr-broken).
t_kill "$P_PID"
t_make_pki "$T" dot.test
for mode in xfr-stall xfr-broken; do
    p_fake "$mode" 0
    P_PORT=$(t_free_port)
    p_start "proxy-$mode" -p "$P_PORT" -n "127.0.0.1:$F_PORT:dot.test" --ca-file "$T/ca.pem" \
        --allow-transfer 127.0.0.1/32 --transfer-timeout 1
    t_wait_dns 127.0.0.1 "$P_PORT" udp || t_fail "the proxy ($mode) does not answer"
    start=$(t_now_us)
    out=$("$XC" xfr "$P_PORT" zone.test --timeout 60)
    took=$(t_elapsed_ms "$start")
    t_assert_match "$out" "^rcode=0 ede=-1 messages=1 records=2 .* complete=0 end=eof$" \
        "$mode: the client gets the first message, then the connection closes"
    t_assert_eq "$(p_stat transfers failed)" 1 "$mode: the transfer counted failed"
    t_assert_eq "$(p_stat transfers messages)" 1 "$mode: one message relayed"
    t_log "$mode: the client saw the end after $took ms (--transfer-timeout 1)"
    if [[ $mode == xfr-stall ]]; then
        why="zone transfer given up .*nothing from the primary for --transfer-timeout"
    else
        why="zone transfer broken .*after 1 messages"
    fi
    t_assert_match "$(cat "$P_LOG")" "$why" "$mode: the proxy's log says why"
    t_assert_eq "$(p_dig +short a.test)" 192.0.2.53 "$mode: ordinary queries answered after it"
    t_kill "$P_PID"
done
