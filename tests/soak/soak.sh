#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Soak test (make soak; not part of make test): SOAK_SECONDS (default 600) of
# mixed UDP and TCP load through the proxy with upstream faults every
# FAULT_EVERY seconds (15: the upstream restarted, stalled for 4 s, or down
# for 4 s, in turn, so the first minute has seen each), then checks: the
# proxy never crashed, every query was answered (NOERROR, NXDOMAIN or
# SERVFAIL; none lost), and peak RSS at the end is within 5% of peak RSS
# after the first minute.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
. tests/integration/proxy.sh
PROXY=${PROXY:-$PWD/dns-tls-proxy}
SOAK_SECONDS=${SOAK_SECONDS:-600}
FAULT_EVERY=${FAULT_EVERY:-15}
UDP_QPS=${UDP_QPS:-2000}
TCP_QPS=${TCP_QPS:-1000}
t_init soak
p_setup
# -v, not -d: a log line per query would measure the disk, not the proxy.
# dnsperf's clients share one address: it may use the whole tables.
t_spawn proxy "$PROXY" -v -p "$P_PORT" -n "$NS" --ca-file "$T/ca.pem" --timeout 3 \
    --max-inflight-per-client 512 --max-tcp-per-client 64
P_PID=$T_PID
P_LOG=$T/proxy.log
P_LOG_KEEP=$P_LOG
t_wait_listen "$P_PORT" udp || t_fail "proxy did not bind"
t_wait_dns 127.0.0.1 "$P_PORT" || t_fail "proxy not answering"

# Unique names, some NXDOMAIN on purpose: 220,000 names, far more than the
# default cache holds (about 3,000), so every query is a miss that the
# proxy's cache (on, as by default) stores and a later one evicts: RSS is
# watched with the cache full and turning over.
awk 'BEGIN { for (i = 0; i < 200000; i++) printf "s%d.load.test A\n", i;
             for (i = 0; i < 20000; i++) printf "nx%d.test AAAA\n", i }' >"$T/q.txt"
perf() { # MODE QPS CLIENTS
    dnsperf -s 127.0.0.1 -p "$P_PORT" -m "$1" -d "$T/q.txt" -l "$SOAK_SECONDS" -Q "$2" \
        -c "$3" -q 500 -t 6 >"$T/perf-$1.out" 2>&1
}
perf udp "$UDP_QPS" 20 &
UDP_PERF=$!
perf tcp "$TCP_QPS" 10 &
TCP_PERF=$!

rss() { awk '/^VmRSS/ { print $2 }' "/proc/$P_PID/status"; }
hwm() { awk '/^VmHWM/ { print $2 }' "/proc/$P_PID/status"; }
start=$SECONDS next_fault=$FAULT_EVERY fault=0 hwm_1min=""
while kill -0 "$UDP_PERF" 2>/dev/null || kill -0 "$TCP_PERF" 2>/dev/null; do
    t_alive "$P_PID" || t_fail "the proxy died after $((SECONDS - start)) s"
    elapsed=$((SECONDS - start))
    if [[ -z $hwm_1min && $elapsed -ge 60 ]]; then
        hwm_1min=$(hwm)
        t_log "after 60 s: VmHWM ${hwm_1min} kB, VmRSS $(rss) kB"
    fi
    if ((elapsed >= next_fault && elapsed < SOAK_SECONDS - 10)); then
        case $((fault % 3)) in
        0) t_log "fault at ${elapsed}s: upstream restarted"; t_restart_unbound ;;
        1) t_log "fault at ${elapsed}s: upstream stalled for 4 s"
           kill -STOP "$T_UNBOUND_PID"; sleep 4; kill -CONT "$T_UNBOUND_PID" ;;
        2) t_log "fault at ${elapsed}s: upstream down for 4 s"
           t_stop_unbound; sleep 4; t_restart_unbound ;;
        esac
        fault=$((fault + 1))
        next_fault=$((next_fault + FAULT_EVERY))
    fi
    sleep 1
done
wait "$UDP_PERF" || true
wait "$TCP_PERF" || true
t_alive "$P_PID" || t_fail "the proxy died"
hwm_end=$(hwm)
[[ -n $hwm_1min ]] || hwm_1min=$hwm_end

echo "== soak: ${SOAK_SECONDS}s, $fault upstream faults, $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -m), $(nproc) cores"
for m in udp tcp; do
    sent=$(sed -n 's/ *Queries sent: *\([0-9]*\).*/\1/p' "$T/perf-$m.out")
    done_=$(sed -n 's/ *Queries completed: *\([0-9]*\).*/\1/p' "$T/perf-$m.out")
    lost=$(sed -n 's/ *Queries lost: *\([0-9]*\).*/\1/p' "$T/perf-$m.out")
    codes=$(sed -n 's/ *Response codes: *//p' "$T/perf-$m.out")
    echo "$m: sent $sent, completed $done_, lost $lost; $codes"
    t_assert_eq "$lost" 0 "$m: no query lost"
    if grep -Eo '[A-Z]+ [0-9]+' <<<"$codes" | grep -Ev '^(NOERROR|NXDOMAIN|SERVFAIL) ' | grep -q .; then
        t_fail "$m: unexpected response codes: $codes"
    fi
    t_pass "$m: every answer NOERROR, NXDOMAIN or SERVFAIL"
done
echo "peak RSS (VmHWM): ${hwm_1min} kB after 60 s, ${hwm_end} kB at the end"
t_assert_le $((hwm_end * 100)) $((hwm_1min * 105)) "peak RSS at the end within 5% of peak RSS after the first minute"
kill -USR1 "$P_PID"
sleep 0.5
grep -- '--- Stats of' "$P_LOG_KEEP" | tail -n 5
