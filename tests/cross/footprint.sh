#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The footprint budget of a static build (make footprint; DIR = build/static):
#   size  the stripped binary, CA bundle included, at most FOOTPRINT_KIB
#         (make footprint sets 192 KiB, 150 KiB with TINY=1; 192 when run
#         alone); then where its bytes come from, from the link map
#   RSS   peak resident memory (VmHWM) of that binary at the default
#         configuration without the answer cache (--cache-size 0: the
#         cache is reserved whole, and its own budget is the cache's; see
#         docs/cache.md), read after each of three growing loads over UDP and
#         over TCP (dnsperf through the proxy to a local unbound DoT server):
#         each at most FOOTPRINT_RSS_KIB (1024 KiB). Memory is reserved at
#         start-up and touched as load needs it, so it rises with the first
#         loads up to the bound the configuration sets, then stays there:
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
rss_budget=${FOOTPRINT_RSS_KIB:-1024}
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
p_port=$(t_free_port)
t_start_unbound "$T" "$u_port"
# The default configuration; only the upstream, its CA and the port differ,
# and dnsperf's clients, which share one address, may fill the whole table
# (the default share of one client is a quarter of it); no cache, whose
# memory is reserved whole and budgeted on its own (issue 15).
t_spawn proxy "$bin" -p "$p_port" -n "127.0.0.1:$u_port:dot.test" --ca-file "$T/ca.pem" \
    --max-inflight-per-client 512 --max-tcp-per-client 64 --cache-size 0
pid=$T_PID
t_wait_listen "$p_port" udp || t_fail "proxy did not bind udp port $p_port"
t_wait_dns 127.0.0.1 "$p_port" || t_fail "proxy not answering"

# status_kib FIELD -- VmHWM, VmRSS... of the proxy, in KiB.
status_kib() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$pid/status"; }

rows=()
hwms=()
record() { # WHEN MODE CLIENTS OUTSTANDING QUERIES COMPLETED QPS
    local hwm rss
    hwm=$(status_kib VmHWM)
    rss=$(status_kib VmRSS)
    hwms+=("$hwm")
    rows+=("$(printf '%-6s %-4s %7s %11s %8s %9s %8s %8d %8d' "$@" "$hwm" "$rss")")
}
record start - - - - - - 

# load MODE CLIENTS OUTSTANDING QUERIES -- one dnsperf run through the proxy.
load() {
    local mode=$1 clients=$2 outstanding=$3 count=$4 out completed qps
    t_make_queryfile "$T/q.txt" "$count"
    out=$(dnsperf -s 127.0.0.1 -p "$p_port" -m "$mode" -d "$T/q.txt" -n 1 \
        -c "$clients" -q "$outstanding" -t 5 2>&1) || t_fail "dnsperf $mode failed: $out"
    completed=$(sed -n 's/^ *Queries completed: *\([0-9]*\).*/\1/p' <<<"$out")
    qps=$(sed -n 's/^ *Queries per second: *\([0-9]*\).*/\1/p' <<<"$out")
    [[ $completed == "$count" ]] || t_log "dnsperf $mode: $completed of $count completed"
    record "${when:-load}" "$mode" "$clients" "$outstanding" "$count" "$completed" "$qps"
}
# Growing loads, the last reaching the default limits: --max-inflight (512
# queries in flight) and --max-tcp-clients (64).
load udp 1 10 1000
load udp 10 100 10000
load udp 100 1000 40000
load tcp 1 10 1000
load tcp 10 100 10000
load tcp 64 1000 40000
ramp_peak=${hwms[${#hwms[@]} - 1]}
# Far past the tables' limits (--max-inflight 512, --max-tcp-clients 64): some
# queries get SERVFAIL, no table grows, so neither may memory.
when=beyond load udp 400 4000 80000
when=beyond load tcp 64 4000 80000
beyond_peak=${hwms[${#hwms[@]} - 1]}
# The heaviest loads once more: a leak would keep growing.
for mode in udp tcp; do
    when=again load "$mode" 64 1000 40000
done

printf '\n## peak RSS (KiB), budget %d KiB, flat within %d %%\n' "$rss_budget" "$flat_pct"
printf '%-6s %-4s %7s %11s %8s %9s %8s %8s %8s\n' when mode clients outstanding queries completed qps VmHWM VmRSS
printf '%s\n' "${rows[@]}"
first=${hwms[1]} last=${hwms[${#hwms[@]} - 1]}
peak=0
for h in "${hwms[@]}"; do ((h > peak)) && peak=$h; done
if ((peak <= rss_budget)); then
    t_pass "VmHWM <= $rss_budget KiB at every load (peak $peak KiB)"
else
    echo "OVER: VmHWM reached $peak KiB > $rss_budget KiB"
    over+=("rss")
fi
if ((beyond_peak * 100 <= ramp_peak * (100 + flat_pct))); then
    t_pass "VmHWM flat: $beyond_peak KiB under 4x the load, $ramp_peak KiB after the growing loads ($first KiB after the lightest)"
else
    echo "OVER: VmHWM grew past the tables' limits: $ramp_peak KiB after the growing loads, $beyond_peak KiB under 4x the load (more than $flat_pct %)"
    over+=("flat")
fi
if ((last * 100 <= beyond_peak * (100 + flat_pct))); then
    t_pass "VmHWM steady: $last KiB after the heavy loads ran again, $beyond_peak KiB before"
else
    echo "OVER: VmHWM still growing: $beyond_peak KiB, then $last KiB after the heavy loads ran again"
    over+=("steady")
fi

((${#over[@]} == 0)) || t_fail "footprint over budget: ${over[*]}"
