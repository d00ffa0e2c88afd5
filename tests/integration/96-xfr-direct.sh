#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The zone-transfer test bed, checked against named directly (no proxy
# yet): a primary serving a zone of T_NAMED_RECORDS (100,000) records over
# TLS and over TCP, a TLS-only zone, and a dynamic zone whose IXFR returns
# the difference. The transfer scenarios through the proxy build on these
# checks; the times logged here are the direct baseline.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

if ! t_named_available; then
    echo "SKIP: 96-xfr-direct: named cannot run here (install Debian's bind9: apt-get install bind9)" >&2
    exit 77
fi
t_init 96-xfr-direct
t_make_pki "$T/pki" primary.test
t_start_named "$T/named" "$T/pki" "$(t_free_port)" "$(t_free_port)"
t_pass "named serves big.test ($T_NAMED_RECORDS records), xot.test, ixfr.test; ready in $T_NAMED_READY_MS ms"

want=$((T_NAMED_RECORDS + 4)) # SOA, NS, ns A, the records, closing SOA

# --- AXFR of the big zone over TLS and over TCP: every record, the same.
start=$(t_now_us)
t_named_kdig_tls +time=10 axfr big.test >"$T/axfr-tls.txt"
tls_ms=$(t_elapsed_ms "$start")
start=$(t_now_us)
t_named_kdig_tcp +time=10 axfr big.test >"$T/axfr-tcp.txt"
tcp_ms=$(t_elapsed_ms "$start")
t_named_records "$T/axfr-tls.txt" >"$T/tls.rr"
t_named_records "$T/axfr-tcp.txt" >"$T/tcp.rr"
t_assert_eq "$(wc -l <"$T/tls.rr")" "$want" "AXFR over TLS: $want records"
t_assert_match "$(cat "$T/axfr-tls.txt")" "\([0-9]+ messages, $want records\)" \
    "kdig counts $want records over TLS"
t_assert_eq "$(sed -n 1p "$T/tls.rr")" "$(sed -n '$p' "$T/tls.rr")" "the transfer opens and closes with the same SOA"
t_assert_match "$(sed -n 1p "$T/tls.rr")" "^big\.test\. 3600 IN SOA ns\.big\.test\. hostmaster\.big\.test\. 1 " \
    "the first record is big.test's SOA, serial 1"
if cmp -s "$T/tls.rr" "$T/tcp.rr"; then
    t_pass "AXFR over TLS returns exactly the records AXFR over TCP returns"
else
    diff "$T/tls.rr" "$T/tcp.rr" | head -5 >&2
    t_fail "AXFR over TLS and over TCP differ"
fi
t_assert_eq "$(grep -c ' IN A 10\.' "$T/tls.rr")" "$T_NAMED_RECORDS" "every generated A record is in it"
# A second client (dig) counts the same over TCP.
dig +tries=1 +time=10 @127.0.0.1 -p "$(t_named_port)" axfr big.test >"$T/axfr-dig.txt"
t_assert_match "$(cat "$T/axfr-dig.txt")" "XFR size: $want records" "dig counts $want records"
t_log "AXFR of $want records: TLS $tls_ms ms, TCP $tcp_ms ms (kdig, one run each, $(nproc) CPUs)"

# --- xot.test: transfers over TLS only.
t_named_kdig_tls axfr xot.test >"$T/xot-tls.txt"
t_assert_eq "$(t_named_records "$T/xot-tls.txt" | wc -l)" 104 "xot.test transfers over TLS"
if t_named_kdig_tcp axfr xot.test >"$T/xot-tcp.txt" 2>&1; then :; fi
t_assert_match "$(cat "$T/xot-tcp.txt")" "REFUSED" "xot.test over plain TCP: REFUSED"
t_assert_eq "$(t_named_records "$T/xot-tcp.txt" | wc -l)" 0 "no record of xot.test over plain TCP"

# --- IXFR: after a change, the difference; up to date, one SOA; from a
# version the journal does not have, the whole zone (AXFR form).
t_assert_eq "$(t_named_serial ixfr.test)" 1 "ixfr.test starts at serial 1"
t_named_update ixfr.test "update delete h5.ixfr.test A" "update add new1.ixfr.test 300 A 192.0.2.200"
t_assert_eq "$(t_named_serial ixfr.test)" 2 "the update raised the serial to 2"
t_named_kdig_tls ixfr=1 ixfr.test >"$T/ixfr-1.txt"
soa() { printf 'ixfr.test. 3600 IN SOA ns.ixfr.test. hostmaster.ixfr.test. %s 7200 900 1209600 300' "$1"; }
expect=$(printf '%s\n' "$(soa 2)" "$(soa 1)" "h5.ixfr.test. 3600 IN A 10.0.0.5" "$(soa 2)" \
    "new1.ixfr.test. 300 IN A 192.0.2.200" "$(soa 2)")
t_assert_eq "$(t_named_records "$T/ixfr-1.txt")" "$expect" \
    "IXFR from serial 1 over TLS: SOA 2, SOA 1, the deletion, SOA 2, the addition, SOA 2"
t_named_kdig_tls ixfr=2 ixfr.test >"$T/ixfr-2.txt"
t_assert_eq "$(t_named_records "$T/ixfr-2.txt")" "$(soa 2)" "IXFR from the current serial: the single SOA"
dig +tries=1 +time=5 @127.0.0.1 -p "$(t_named_port)" ixfr=1 ixfr.test +nocmd +nostats >"$T/ixfr-dig.txt"
t_assert_eq "$(grep -v -e '^;' -e '^$' "$T/ixfr-dig.txt" | tr -s ' \t' ' ')" "$expect" \
    "dig over TCP sees the same difference"
t_named_update ixfr.test "update add new2.ixfr.test 300 A 192.0.2.201"
t_named_kdig_tls ixfr=1 ixfr.test >"$T/ixfr-two.txt"
expect=$(printf '%s\n' "$(soa 3)" "$(soa 1)" "h5.ixfr.test. 3600 IN A 10.0.0.5" "$(soa 2)" \
    "new1.ixfr.test. 300 IN A 192.0.2.200" "$(soa 2)" "$(soa 3)" \
    "new2.ixfr.test. 300 IN A 192.0.2.201" "$(soa 3)")
t_assert_eq "$(t_named_records "$T/ixfr-two.txt")" "$expect" \
    "IXFR from serial 1 after two updates: two difference sequences, 1 to 2 and 2 to 3"
# Serial 4294967295 is older than 1 (RFC 1982) and not in the journal.
t_named_kdig_tls ixfr=4294967295 ixfr.test >"$T/ixfr-axfr.txt"
t_named_records "$T/ixfr-axfr.txt" >"$T/ixfr-axfr.rr"
t_assert_eq "$(wc -l <"$T/ixfr-axfr.rr")" 105 "IXFR from a version the journal lacks: the whole zone"
t_assert_eq "$(grep -c ' SOA ' "$T/ixfr-axfr.rr")" 2 "... in AXFR form (one SOA at each end)"
