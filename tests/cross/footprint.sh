#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The footprint budget of a static build (make footprint; DIR = build/static):
#   size  the stripped binary, CA bundle included, at most FOOTPRINT_KIB
#         (make footprint sets 192 KiB, 150 KiB with TINY=1; 192 when run
#         alone); then where its bytes come from, from the link map
#   RSS   peak resident memory (VmHWM) of that binary, read after each of
#         three growing loads over UDP and over TCP (dnsperf through the
#         proxy to a local unbound DoT server), in two configurations:
#           cache    the default, whose answer cache the loads fill (every
#                    load asks names of its own, far more than the cache
#                    holds: it is checked full and turning over at the end):
#                    each at most FOOTPRINT_RSS_KIB (1280 KiB, issue 15);
#           nocache  --cache-size 0: at most FOOTPRINT_RSS_NOCACHE_KIB
#                    (1024 KiB). A build without the cache (DTP_NO_CACHE,
#                    TINY=1) is measured in this one only.
#         Memory is reserved at start-up and touched as load needs it, so
#         it rises with the first loads up to the bound the configuration
#         sets, then stays there:
#         flat: once loads reach every table's limit, loads 4x heavier
#         raise it by at most FOOTPRINT_FLAT_PCT (5 %);
#         steady: the heaviest loads run again raise it no more either.
# Every measurement is made and printed even when an early one is over
# budget; the exit status is 1 when any is.
# Usage: footprint.sh DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:?usage: footprint.sh DIR (e.g. build/static)}
bin=$(cd "$dir" && pwd)/dns-tls-proxy
map=$dir/dns-tls-proxy.full.map
size_budget=$((${FOOTPRINT_KIB:-192} * 1024))
rss_budget=${FOOTPRINT_RSS_KIB:-1280}
rss_nocache_budget=${FOOTPRINT_RSS_NOCACHE_KIB:-1024}
flat_pct=${FOOTPRINT_FLAT_PCT:-5}
[[ -x $bin ]] || { echo "footprint.sh: $bin is not built (make static)" >&2; exit 2; }
for tool in unbound dnsperf dig openssl python3 ss; do
    command -v "$tool" >/dev/null || { echo "footprint.sh: needs $tool" >&2; exit 2; }
done

# shellcheck source-path=SCRIPTDIR source=../integration/lib.sh
. "$here/../integration/lib.sh"
t_init footprint
over=()

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -m), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
echo "# $("$bin" --version 2>&1 | head -n 1), $(readelf -h "$bin" | sed -n 's/^ *\(Class\|Machine\): *//p' | paste -sd, -)"

# --- Size -------------------------------------------------------------------
size=$(stat -c %s "$bin")
printf '\n## size\n%s: %d bytes = %.1f KiB (budget %d KiB)\n' "$dir/dns-tls-proxy" "$size" \
    "$(awk -v s="$size" 'BEGIN { print s / 1024 }')" "$((size_budget / 1024))"
if ((size <= size_budget)); then
    t_pass "stripped size $size <= $size_budget bytes"
else
    echo "OVER: stripped size $size > $size_budget bytes (by $(((size - size_budget + 1023) / 1024)) KiB)"
    over+=("size")
fi
if [[ -f $map ]]; then
    echo
    "$here/linkmap.py" "$map" 25
    echo
    echo "BearSSL modules linked (bytes):"
    "$here/linkmap.py" "$map" 100 bearssl
fi

# --- Peak RSS under load -----------------------------------------------------
T_CLOCK_FLOOR=$(t_clock_floor "$bin")
t_make_pki "$T" dot.test
u_port=$(t_free_port)
t_start_unbound "$T" "$u_port"

# status_kib FIELD -- VmHWM, VmRSS... of the proxy, in KiB.
status_kib() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$pid/status"; }

record() { # WHEN MODE CLIENTS OUTSTANDING QUERIES COMPLETED QPS
    local hwm rss
    hwm=$(status_kib VmHWM)
    rss=$(status_kib VmRSS)
    hwms+=("$hwm")
    rows+=("$(printf '%-6s %-4s %7s %11s %8s %9s %8s %8d %8d' "$@" "$hwm" "$rss")")
}

# load MODE CLIENTS OUTSTANDING QUERIES -- one dnsperf run through the proxy,
# every name its own (unique to this run and this load), so every query is
# a cache miss: an answer to store and a slot upstream each.
nload=0
load() {
    local mode=$1 clients=$2 outstanding=$3 count=$4 out completed qps
    nload=$((nload + 1))
    awk -v n="$count" -v s="$$" -v l="$nload" \
        'BEGIN { for (i = 0; i < n; i++) printf "q%d-%d-%d.load.test A\n", i, l, s }' >"$T/q.txt"
    out=$(dnsperf -s 127.0.0.1 -p "$p_port" -m "$mode" -d "$T/q.txt" -n 1 \
        -c "$clients" -q "$outstanding" -t 5 2>&1) || t_fail "dnsperf $mode failed: $out"
    completed=$(sed -n 's/^ *Queries completed: *\([0-9]*\).*/\1/p' <<<"$out")
    qps=$(sed -n 's/^ *Queries per second: *\([0-9]*\).*/\1/p' <<<"$out")
    [[ $completed == "$count" ]] || t_log "dnsperf $mode: $completed of $count completed"
    record "${when:-load}" "$mode" "$clients" "$outstanding" "$count" "$completed" "$qps"
}

# cache_line -- dump the stats now (SIGUSR1) and print the proxy's "---
# Stats of cache" line; nothing when there is none.
cache_line() {
    local before
    before=$(grep -c -- '--- Stats of cache' "$log" || true)
    kill -USR1 "$pid"
    t_wait_until 5 "the cache's stats line" _more_cache_lines "$before" || return 0
    grep -- '--- Stats of cache' "$log" | tail -n 1
}
_more_cache_lines() { (($(grep -c -- '--- Stats of cache' "$log" || true) > $1)); }
# field LINE NAME -- the number after NAME in a stats line.
field() { sed -n "s/.* $2 \([0-9]*\).*/\1/p" <<<"$1"; }

# measure NAME BUDGET [PROXY-OPTIONS...] -- one proxy, the loads, the checks.
measure() {
    local name=$1 budget=$2 p_port first last peak h ramp_peak beyond_peak
    shift 2
    rows=() hwms=()
    p_port=$(t_free_port)
    log=$T/proxy-$name.log
    # The default configuration plus OPTIONS; only the upstream, its CA and
    # the port differ, and dnsperf's clients, which share one address, may
    # fill the whole table (the default share of one client is a quarter).
    t_spawn "proxy-$name" "$bin" -p "$p_port" -n "127.0.0.1:$u_port:dot.test" --ca-file "$T/ca.pem" \
        --max-inflight-per-client 512 --max-tcp-per-client 64 "$@"
    pid=$T_PID
    t_wait_listen "$p_port" udp || t_fail "proxy did not bind udp port $p_port"
    t_wait_dns 127.0.0.1 "$p_port" || t_fail "proxy not answering"
    record start - - - - - -
    # Growing loads, the last reaching the default limits: --max-inflight
    # (512 queries in flight) and --max-tcp-clients (64).
    load udp 1 10 1000
    load udp 10 100 10000
    load udp 100 1000 40000
    load tcp 1 10 1000
    load tcp 10 100 10000
    load tcp 64 1000 40000
    ramp_peak=${hwms[${#hwms[@]} - 1]}
    # Far past the tables' limits (--max-inflight 512, --max-tcp-clients 64):
    # some queries get SERVFAIL, no table grows, so neither may memory.
    when=beyond load udp 400 4000 80000
    when=beyond load tcp 64 4000 80000
    beyond_peak=${hwms[${#hwms[@]} - 1]}
    # The heaviest loads once more: a leak would keep growing.
    for mode in udp tcp; do
        when=again load "$mode" 64 1000 40000
    done

    printf '\n## peak RSS (KiB), %s: %s; budget %d KiB, flat within %d %%\n' "$name" \
        "${*:-the default configuration}" "$budget" "$flat_pct"
    printf '%-6s %-4s %7s %11s %8s %9s %8s %8s %8s\n' when mode clients outstanding queries completed qps VmHWM VmRSS
    printf '%s\n' "${rows[@]}"
    first=${hwms[1]} last=${hwms[${#hwms[@]} - 1]}
    peak=0
    for h in "${hwms[@]}"; do ((h > peak)) && peak=$h; done
    if ((peak <= budget)); then
        t_pass "$name: VmHWM <= $budget KiB at every load (peak $peak KiB)"
    else
        echo "OVER: $name: VmHWM reached $peak KiB > $budget KiB"
        over+=("$name-rss")
    fi
    if ((beyond_peak * 100 <= ramp_peak * (100 + flat_pct))); then
        t_pass "$name: VmHWM flat: $beyond_peak KiB under 4x the load, $ramp_peak KiB after the growing loads ($first KiB after the lightest)"
    else
        echo "OVER: $name: VmHWM grew past the tables' limits: $ramp_peak KiB after the growing loads, $beyond_peak KiB under 4x the load (more than $flat_pct %)"
        over+=("$name-flat")
    fi
    if ((last * 100 <= beyond_peak * (100 + flat_pct))); then
        t_pass "$name: VmHWM steady: $last KiB after the heavy loads ran again, $beyond_peak KiB before"
    else
        echo "OVER: $name: VmHWM still growing: $beyond_peak KiB, then $last KiB after the heavy loads ran again"
        over+=("$name-steady")
    fi
    # The cache: full and turning over, or off, as configured; else the
    # figures above are not those of the configuration they claim.
    local line entries bytes capacity evictions
    if [[ $name == nocache ]] && ! t_has_feature cache "$bin"; then
        t_pass "$name: the build has no cache (DTP_NO_CACHE)"
        t_kill "$pid"
        return 0
    fi
    line=$(cache_line)
    entries=$(field "$line" entries) bytes=$(field "$line" bytes)
    capacity=$(field "$line" capacity) evictions=$(field "$line" evictions)
    printf 'cache: entries %s / bytes %s / capacity %s / evictions %s\n' "${entries:-?}" \
        "${bytes:-?}" "${capacity:-?}" "${evictions:-?}"
    if [[ -z $capacity ]]; then
        echo "OVER: $name: no 'Stats of cache' line, so no cache figures"
        over+=("$name-cache")
    elif [[ $name == nocache ]]; then
        if ((capacity == 0 && entries == 0)); then
            t_pass "$name: the cache is off"
        else
            echo "OVER: $name: a cache of $capacity bytes with --cache-size 0"
            over+=("$name-cache")
        fi
    elif ((capacity > 0 && evictions > 0 && bytes * 10 >= capacity * 9)); then
        t_pass "$name: the cache is full ($entries entries in $bytes of $capacity bytes) and turning over ($evictions evictions)"
    else
        echo "OVER: $name: the cache is not full: $bytes of $capacity bytes, $evictions evictions"
        over+=("$name-cache")
    fi
    t_kill "$pid"
}

# A build without the cache (DTP_NO_CACHE, TINY=1) has the second only.
if t_has_feature cache "$bin"; then
    measure cache "$rss_budget"
else
    t_log "skip: the cache configuration (the build has no cache: --version says -cache)"
fi
measure nocache "$rss_nocache_budget" --cache-size 0

((${#over[@]} == 0)) || t_fail "footprint over budget: ${over[*]}"
