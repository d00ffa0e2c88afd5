#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/bench/rates.sh -- what --batch-window costs and saves at moderate
# rates: for each RATE and WINDOW, dnsperf over UDP at a fixed RATE for 5 s
# (10 clients) through the proxy to a local unbound over TLS; prints dnsperf's
# average latency, lost queries and the proxy's CPU time per query (from
# /proc/PID/stat, clock ticks, so coarse at low rates). Not part of make test.
#
#   tests/bench/rates.sh ["RATES"] ["WINDOWS"]    (default "1000 2000 3000" "0 1000")
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
. tests/integration/proxy.sh
PROXY=${PROXY:-$PWD/dns-tls-proxy}
RATES=${1:-"1000 2000 3000"}
WINDOWS=${2:-"0 1000"}
HZ=$(getconf CLK_TCK)
t_init rates
p_setup
for rate in $RATES; do
    t_make_queryfile "$T/q-$rate.txt" $((rate * 5))
    for w in $WINDOWS; do
        p_start "proxy-$rate-$w" -p "$P_PORT" -n "$NS" --ca-file "$T/ca.pem" --batch-window "$w"
        t_wait_dns 127.0.0.1 "$P_PORT" || t_fail "proxy not answering"
        c0=$(awk '{ print $14 + $15 }' "/proc/$P_PID/stat")
        out=$(dnsperf -s 127.0.0.1 -p "$P_PORT" -d "$T/q-$rate.txt" -n 1 -c 10 -q 500 -Q "$rate" -t 5 2>&1)
        c1=$(awk '{ print $14 + $15 }' "/proc/$P_PID/stat")
        avg=$(sed -n 's/.*Average Latency (s): *\([0-9.]*\).*/\1/p' <<<"$out" | head -n 1)
        lost=$(sed -n 's/.*Queries lost: *\([0-9]*\).*/\1/p' <<<"$out")
        awk -v r="$rate" -v w="$w" -v a="$avg" -v l="$lost" -v c=$((c1 - c0)) -v hz="$HZ" 'BEGIN {
            printf "rate %5d qps  --batch-window %5d: avg latency %.3f ms, lost %s, CPU %.1f us/query\n",
                r, w, a * 1000, l, c / hz * 1e6 / (r * 5) }'
        t_kill "$P_PID"
    done
done
