#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/bench/bench.sh -- benchmark (make bench; not part of make test).
#
#   tests/bench/bench.sh [all|compare|callgrind|upstream]
#
#   compare    dns-tls-proxy beside dnsdist, stubby and unbound (as a DoT
#              forwarder), all against the same local DoT upstream (unbound,
#              answering *.load.test from local data), driven by dnsperf over
#              UDP and TCP. Uncached settings: every query a name never asked
#              before, so every query misses every cache (ours is on, as by
#              default: each miss pays a lookup and an insert):
#                a  few clients, many queries outstanding   (BENCH_A)
#                b  50 clients                              (BENCH_B)
#                c  a fixed rate, BENCH_RATE qps            (BENCH_C)
#              Cached settings: BENCH_CACHED_NAMES names, asked once before
#              the run, then over and over; ours beside dnsdist with its
#              packet cache and unbound with its caches (BENCH_CACHED_PROXIES):
#                d  few clients, many queries outstanding   (BENCH_D)
#                e  50 clients                              (BENCH_E)
#              Each proxy runs pinned to BENCH_PROXY_CPU (0); dnsperf and the
#              upstream share BENCH_LOAD_CPU (1). For every proxy, setting and
#              transport: qps, average and 99th-percentile latency, lost
#              queries, answers other than NOERROR, the proxy's CPU time per
#              1000 answered queries, its peak RSS, and ratios against dnsdist
#              measured in the same run. A Markdown report is printed at the
#              end (and written to BENCH_OUT if set).
#   upstream   only the upstream's own capacity over TLS (dnsperf -m dot).
#   callgrind  only instructions per query of dns-tls-proxy under callgrind
#              (start-up and the TLS handshake excluded): deterministic
#              figures to track across optimisations.
#   all        upstream + compare + callgrind (the default).
#
# Knobs (environment):
#   PROXY=./dns-tls-proxy       the binary under test
#   BENCH_SECONDS=10            length of each dnsperf run
#   BENCH_REPEAT=1              rounds of the interleaved runs: with N > 1 each
#                               cell shows the run with the median CPU per
#                               query, and each ratio is the median of the N
#                               ratios of runs made side by side (range in
#                               brackets); one 10 s cell can swing by a
#                               third on a shared machine
#   BENCH_PROXIES="ours dnsdist stubby unbound"
#   BENCH_CACHED_PROXIES="ours dnsdist-cache unbound-cache"
#   BENCH_SETTINGS="a b c d e"   BENCH_MODES="udp tcp"
#   BENCH_A="-c 4 -q 200"    BENCH_B="-c 50 -q 100"
#   BENCH_RATE=5000          BENCH_C="-c 10 -q 500 -Q \$BENCH_RATE"
#   BENCH_D="\$BENCH_A"      BENCH_E="\$BENCH_B"
#   BENCH_CACHED_NAMES=100      names of the cached settings
#   BENCH_EDNS=1                dnsperf sends EDNS0 (-e), as most stub
#                               clients do; our proxy then pads like stubby
#                               and unbound do
#   BENCH_P99=1                 per-query latencies (dnsperf -v) for the p99;
#                               0 skips them (a little less work for dnsperf)
#   BENCH_TIMEOUT=5             dnsperf's query timeout (a query unanswered
#                               by then is lost)
#   BENCH_PROXY_CPU=0  BENCH_LOAD_CPU=1
#   BENCH_CG_QUERIES=20000      queries per callgrind workload
#   BENCH_UPSTREAM_NODELAY=0    1: the upstream sets TCP_NODELAY on its DoT
#                               connections (LD_PRELOAD of nodelay.c, built
#                               with $CC). Stock unbound leaves Nagle on, which
#                               stalls answers to a client that batches its
#                               queries until that client's delayed ACK
#                               (40 ms); 1 takes that out of the picture
#   OURS_ARGS="--max-inflight 4096 --max-inflight-per-client 4096
#              --max-tcp-per-client 64 --pool-size 4"
#                               extra options for ours (dnsperf's clients
#                               share one address: it may use the whole tables)
#   BENCH_OUT=FILE              also write the Markdown report to FILE
#   KEEP_TMP=1                  keep the work directory (configs, logs,
#                               dnsperf outputs, callgrind files)
#
# Needs: unbound, dnsperf, dig, python3, openssl, util-linux (taskset),
# valgrind (callgrind), stubby, dnsdist. A competitor whose binary is missing
# or that fails to start is reported and skipped.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
ROOT=$PWD
# shellcheck source=../integration/lib.sh
. tests/integration/lib.sh

WHAT=${1:-all}
case $WHAT in all | compare | callgrind | upstream) ;;
*) echo "usage: $0 [all|compare|callgrind|upstream]" >&2; exit 2 ;;
esac

PROXY=${PROXY:-$ROOT/dns-tls-proxy}
BENCH_SECONDS=${BENCH_SECONDS:-10}
BENCH_REPEAT=${BENCH_REPEAT:-1}
BENCH_PROXIES=${BENCH_PROXIES:-"ours dnsdist stubby unbound"}
BENCH_CACHED_PROXIES=${BENCH_CACHED_PROXIES:-"ours dnsdist-cache unbound-cache"}
BENCH_SETTINGS=${BENCH_SETTINGS:-"a b c d e"}
BENCH_MODES=${BENCH_MODES:-"udp tcp"}
BENCH_A=${BENCH_A:-"-c 4 -q 200"}
BENCH_B=${BENCH_B:-"-c 50 -q 100"}
BENCH_RATE=${BENCH_RATE:-5000}
BENCH_C=${BENCH_C:-"-c 10 -q 500 -Q $BENCH_RATE"}
BENCH_D=${BENCH_D:-$BENCH_A}
BENCH_E=${BENCH_E:-$BENCH_B}
BENCH_CACHED_NAMES=${BENCH_CACHED_NAMES:-100}
BENCH_EDNS=${BENCH_EDNS:-1}
BENCH_P99=${BENCH_P99:-1}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-5}
BENCH_PROXY_CPU=${BENCH_PROXY_CPU:-0}
BENCH_LOAD_CPU=${BENCH_LOAD_CPU:-1}
BENCH_CG_QUERIES=${BENCH_CG_QUERIES:-20000}
OURS_ARGS=${OURS_ARGS:-"--max-inflight 4096 --max-inflight-per-client 4096 --max-tcp-per-client 64 --pool-size 4"}
BENCH_OUT=${BENCH_OUT:-}
BENCH_UPSTREAM_NODELAY=${BENCH_UPSTREAM_NODELAY:-0}
KNOBS="BENCH_SECONDS=$BENCH_SECONDS BENCH_REPEAT=$BENCH_REPEAT BENCH_PROXIES=\"$BENCH_PROXIES\" BENCH_CACHED_PROXIES=\"$BENCH_CACHED_PROXIES\" \
BENCH_SETTINGS=\"$BENCH_SETTINGS\" BENCH_MODES=\"$BENCH_MODES\" BENCH_A=\"$BENCH_A\" BENCH_B=\"$BENCH_B\" \
BENCH_C=\"$BENCH_C\" BENCH_D=\"$BENCH_D\" BENCH_E=\"$BENCH_E\" BENCH_CACHED_NAMES=$BENCH_CACHED_NAMES \
BENCH_EDNS=$BENCH_EDNS BENCH_P99=$BENCH_P99 BENCH_TIMEOUT=$BENCH_TIMEOUT \
BENCH_PROXY_CPU=$BENCH_PROXY_CPU BENCH_LOAD_CPU=$BENCH_LOAD_CPU BENCH_CG_QUERIES=$BENCH_CG_QUERIES \
BENCH_UPSTREAM_NODELAY=$BENCH_UPSTREAM_NODELAY OURS_ARGS=\"$OURS_ARGS\""
if [[ -n ${MAKELEVEL:-} ]]; then
    COMMAND="make bench (PROXY=$PROXY tests/bench/bench.sh $WHAT)"
else
    COMMAND="tests/bench/bench.sh $*"
fi

[[ $BENCH_SECONDS =~ ^[0-9]+$ && $BENCH_SECONDS -ge 1 ]] || { echo "BENCH_SECONDS must be a whole number >= 1" >&2; exit 2; }
[[ -x $PROXY ]] || { echo "bench: PROXY=$PROXY is not executable (make first)" >&2; exit 2; }
for tool in unbound unbound-control dnsperf dig python3 openssl taskset ss; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing" >&2; exit 2; }
done
NCPU=$(nproc)
if ((BENCH_PROXY_CPU >= NCPU || BENCH_LOAD_CPU >= NCPU)); then
    echo "bench: needs CPUs $BENCH_PROXY_CPU and $BENCH_LOAD_CPU, this machine has $NCPU" >&2
    exit 2
fi
HZ=$(getconf CLK_TCK)
EDNS_OPT=()
((BENCH_EDNS)) && EDNS_OPT=(-e)

t_init bench
REPORT=$T/report.md
: >"$REPORT"
say() { printf '%s\n' "$*" | tee -a "$REPORT"; }
note() { printf '# %s\n' "$*" >&2; }

# --------------------------------------------------------------------------
# Process figures
# --------------------------------------------------------------------------

# cpu_ticks PID [sys] -- utime+stime of the whole process (all its threads),
# or with "sys" stime alone (the kernel's share), in clock ticks; empty if
# it is gone.
cpu_ticks() {
    local s
    { read -r s <"/proc/$1/stat"; } 2>/dev/null || return 0
    s=${s##*) }
    local -a f
    read -r -a f <<<"$s"
    if [[ ${2:-} == sys ]]; then echo $((f[12])); else echo $((f[11] + f[12])); fi
}
# hwm_kb PID -- peak resident set size (VmHWM) in kB.
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
# reset_hwm PID -- reset VmHWM to the current RSS (Linux >= 4.0).
reset_hwm() { echo 5 >"/proc/$1/clear_refs" 2>/dev/null || true; }
# cpu_busy CPU -- "busy total" jiffies of one CPU from /proc/stat.
cpu_busy() {
    awk -v c="cpu$1" '$1 == c { t = 0; for (i = 2; i <= NF; i++) t += $i;
        print t - $5 - $6, t }' /proc/stat
}
# udp_drops -- the system's UDP receive-buffer drops so far (/proc/net/snmp
# RcvbufErrors: every socket, dnsperf's included).
udp_drops() {
    awk '$1 == "Udp:" { if (!h) { for (i = 2; i <= NF; i++) c[$i] = i; h = 1 }
        else { print $c["RcvbufErrors"]; exit } }' /proc/net/snmp
}
# children_cpu -- user+system CPU seconds of this shell's reaped children
# (precise: from the scheduler's runtime, unlike /proc/stat's tick samples).
# "times" runs in this shell (a $(...) subshell would see its own children).
children_cpu() {
    times >"$T/.times"
    awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] }
        printf "%.3f\n", t }' "$T/.times"
}
now_us() { local t=${EPOCHREALTIME/[.,]/}; echo $((10#$t)); }

# ready_dns PORT PROTO -- a.test answered with its address through PORT.
ready_dns() {
    local -a o=()
    [[ $2 == tcp ]] && o=(+tcp)
    [[ $(dig @127.0.0.1 -p "$1" +tries=1 +time=1 +short "${o[@]}" a.test 2>/dev/null) == 192.0.2.1 ]]
}

# wait_ready PID PORT TIMEOUT -- poll every 0.1 s until a.test is answered
# through PORT over UDP and over TCP; give up at once if PID exits, or after
# TIMEOUT seconds.
wait_ready() {
    local deadline=$(($(now_us) + $3 * 1000000))
    while t_alive "$1"; do
        ready_dns "$2" udp && ready_dns "$2" tcp && return 0
        (($(now_us) < deadline)) || { note "no answer through port $2 after $3 s"; return 1; }
        sleep 0.1
    done
    return 1
}

# qfile FILE COUNT TAG -- dnsperf input: COUNT unique names under load.test.
qfile() {
    awk -v n="$2" -v t="$3" 'BEGIN { for (i = 0; i < n; i++) printf "%s%d.load.test A\n", t, i }' >"$1"
}

# --------------------------------------------------------------------------
# The upstream: unbound, DoT only, answers *.load.test from local data
# --------------------------------------------------------------------------

UPORT=""
start_upstream() {
    [[ -n $UPORT ]] && return 0
    t_make_pki "$T/pki" dot.test >/dev/null
    CA=$T/pki/ca.pem
    UPORT=$(t_free_port)
    local preload=""
    if ((BENCH_UPSTREAM_NODELAY)); then
        preload=$T/nodelay.so
        "${CC:-cc}" -std=c11 -shared -fPIC -O2 -o "$preload" tests/bench/nodelay.c -ldl ||
            t_fail "cannot build tests/bench/nodelay.c (BENCH_UPSTREAM_NODELAY=1)"
    fi
    # lib.sh's DoT server (num-threads 1, local-data answers: no recursion,
    # nothing to look up), logging off, room for many TLS connections.
    LD_PRELOAD=$preload T_UNBOUND_VERBOSITY=0 T_UNBOUND_EXTRA=$'incoming-num-tcp: 1000\nnum-queries-per-thread: 4096' \
        t_start_unbound "$T/upstream" "$UPORT" "$T/pki/server.pem" "$T/pki/server.key"
    UPID=$T_UNBOUND_PID
    taskset -a -p -c "$BENCH_LOAD_CPU" "$UPID" >/dev/null
}

# perf_summary OUT -- "sent completed lost qps avg_ms p99_ms errors" from a
# dnsperf output (p99 from the -v lines if present, else "-").
perf_summary() {
    local out=$1 p99="-"
    if ((BENCH_P99)) && grep -q '^> ' "$out"; then
        # "> RCODE NAME TYPE LATENCY" per answer ("> T NAME TYPE" = timeout).
        p99=$(awk '$1 == ">" && NF >= 5 && $2 != "T" { print $NF }' "$out" | sort -g |
            awk '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit }
                 i = int(NR * 0.99); if (i < NR * 0.99) i++; if (i < 1) i = 1
                 printf "%.3f\n", v[i] * 1000 }')
    fi
    awk -v p99="$p99" '
        /Queries sent:/ { sent = $3 }
        /Queries completed:/ { done = $3 }
        /Queries lost:/ { lost = $3 }
        /Queries per second:/ { qps = $4 }
        /Response codes:/ { sub(/.*Response codes: */, "");
            n = split($0, w, /[ ,]+/)
            for (i = 1; i + 1 <= n; i += 3) if (w[i] != "NOERROR") err += w[i + 1] }
        /Average Latency \(s\):/ && !avg { avg = $4 }
        END { if (sent == "") { print "- - - - - - -"; exit }
              printf "%d %d %d %.0f %.3f %s %d\n", sent, done, lost, qps, avg * 1000, p99, err }' "$out"
}

UP_CAP=()
measure_upstream() {
    start_upstream
    qfile "$T/up-q.txt" $((40000 * BENCH_SECONDS)) "up$RANDOM-"
    local where cpu u0 u1 t0 t1 s
    for where in shared alone; do
        if [[ $where == shared ]]; then cpu=$BENCH_LOAD_CPU; else cpu=$BENCH_PROXY_CPU; fi
        note "upstream capacity: dnsperf -m dot $BENCH_A on CPU $cpu, upstream on CPU $BENCH_LOAD_CPU"
        u0=$(cpu_ticks "$UPID")
        t0=$(now_us)
        # shellcheck disable=SC2086
        taskset -c "$cpu" dnsperf -s 127.0.0.1 -p "$UPORT" -m dot -d "$T/up-q.txt" -l "$BENCH_SECONDS" \
            -t "$BENCH_TIMEOUT" $BENCH_A "${EDNS_OPT[@]}" -O suppress=sockready \
            >"$T/up-$where.out" 2>&1 </dev/null
        t1=$(now_us)
        u1=$(cpu_ticks "$UPID")
        s=$(perf_summary "$T/up-$where.out")
        local -a v
        read -r -a v <<<"$s"
        UP_CAP+=("| dnsperf on CPU $cpu ($( [[ $where == shared ]] && echo "sharing the upstream's core, as in the runs below" || echo "the upstream alone on its core")) | ${v[3]} | ${v[4]} | ${v[2]} | $(awk -v a="$u0" -v b="$u1" -v d=$((t1 - t0)) -v hz="$HZ" 'BEGIN { printf "%.0f", (b - a) / hz * 1e8 / d }') |")
    done
}

# --------------------------------------------------------------------------
# The proxies under test
# --------------------------------------------------------------------------

declare -A PPORT PPID_ FAILED CONF_TEXT VERSION
PROXY_ORDER=()

# conf_ours DIR PORT -- sets CMD
conf_ours() {
    # shellcheck disable=SC2206
    CMD=("$PROXY" -p "$2" -n "127.0.0.1:$UPORT:dot.test" --ca-file "$CA" $OURS_ARGS)
    CONF_TEXT[ours]="${CMD[*]}"
    VERSION[ours]=$("$PROXY" -V 2>&1 | head -n 1)
}

# conf_dnsdist DIR PORT [cache] -- sets CMD; with "cache", a packet cache.
conf_dnsdist() {
    local name=dnsdist what="no packet cache"
    command -v dnsdist >/dev/null || { echo "dnsdist is not installed"; return 1; }
    if [[ ${3:-} == cache ]]; then
        name=dnsdist-cache what="its packet cache on"
    fi
    cat >"$1/dnsdist.conf" <<EOF
-- dnsdist as a DoT forwarder: plain UDP/TCP in, DoT out, $what.
setLocal("127.0.0.1:$2", { maxInFlight = 1000 })  -- out-of-order on TCP clients
newServer({ address = "127.0.0.1:$UPORT", tls = "openssl", subjectName = "dot.test",
            caStore = "$CA", validateCertificates = true, maxInFlight = 1000 })
setSecurityPollSuffix("")  -- no version-check queries to the internet
EOF
    if [[ $name == dnsdist-cache ]]; then
        echo 'getPool(""):setCache(newPacketCache(10000, { maxTTL = 86400, minTTL = 0 }))' >>"$1/dnsdist.conf"
    fi
    dnsdist --check-config -C "$1/dnsdist.conf" >"$1/check.log" 2>&1 || { cat "$1/check.log"; return 1; }
    CMD=(dnsdist --supervised --disable-syslog -C "$1/dnsdist.conf")
    CONF_TEXT[$name]=$(cat "$1/dnsdist.conf")
    VERSION[$name]="$(dnsdist --version 2>&1 | head -n 1)"
}
conf_dnsdist-cache() { conf_dnsdist "$1" "$2" cache; }

conf_stubby() {
    command -v stubby >/dev/null || { echo "stubby is not installed"; return 1; }
    mkdir -p "$1/appdata"
    cat >"$1/stubby.yml" <<EOF
# stubby as a DoT forwarder, strict authentication, one upstream.
resolution_type: GETDNS_RESOLUTION_STUB
dns_transport_list:
  - GETDNS_TRANSPORT_TLS
tls_authentication: GETDNS_AUTHENTICATION_REQUIRED
tls_query_padding_blocksize: 128
edns_client_subnet_private: 1
round_robin_upstreams: 0
idle_timeout: 10000
tls_ca_file: "$CA"
appdata_dir: "$1/appdata"
listen_addresses:
  - 127.0.0.1@$2
upstream_recursive_servers:
  - address_data: 127.0.0.1
    tls_port: $UPORT
    tls_auth_name: "dot.test"
EOF
    stubby -i -C "$1/stubby.yml" >"$1/check.log" 2>&1 || { cat "$1/check.log"; return 1; }
    CMD=(stubby -v 3 -C "$1/stubby.yml")
    CONF_TEXT[stubby]=$(cat "$1/stubby.yml")
    VERSION[stubby]="$(stubby -V 2>&1 | head -n 1), getdns $(dpkg-query -W -f '${Version}' libgetdns10 2>/dev/null || echo '?')"
}

# conf_unbound DIR PORT [cache] -- sets CMD; with "cache", unbound's caches
# at their default sizes.
conf_unbound() {
    local name=unbound what="no cache (forward-no-cache, caches at size 0)"
    local caches=$'    msg-cache-size: 0\n    rrset-cache-size: 0' fwd_cache=yes
    if [[ ${3:-} == cache ]]; then
        name=unbound-cache what="its caches on (default sizes)" caches="" fwd_cache=no
    fi
    cat >"$1/unbound.conf" <<EOF
# unbound as a DoT forwarder: $what.
server:
    verbosity: 0
    num-threads: 1
    do-daemonize: no
    chroot: ""
    username: ""
    directory: "$1"
    pidfile: "$1/unbound.pid"
    use-syslog: no
    logfile: "$1/unbound.log"
    interface: 127.0.0.1@$2
    port: $2
    do-ip6: no
    so-reuseport: no
    access-control: 127.0.0.0/8 allow
    incoming-num-tcp: 100
    num-queries-per-thread: 4096
    do-not-query-localhost: no
    module-config: "iterator"
$caches
    tls-cert-bundle: "$CA"
    # test. is one of unbound's default local zones (NXDOMAIN): forward it.
    local-zone: "test." nodefault
forward-zone:
    name: "."
    forward-addr: 127.0.0.1@$UPORT#dot.test
    forward-tls-upstream: yes
    forward-no-cache: $fwd_cache
remote-control:
    control-enable: no
EOF
    unbound-checkconf "$1/unbound.conf" >"$1/check.log" 2>&1 || { cat "$1/check.log"; return 1; }
    CMD=(unbound -d -c "$1/unbound.conf")
    CONF_TEXT[$name]=$(cat "$1/unbound.conf")
    VERSION[$name]="unbound $(unbound -V 2>/dev/null | sed -n 's/^Version //p')"
}
conf_unbound-cache() { conf_unbound "$1" "$2" cache; }

# start_proxy NAME -- configure and start one proxy pinned to the proxy CPU,
# wait (bounded) until it answers a.test over UDP and TCP. On failure: report,
# stop it, set FAILED[NAME] and return 1.
start_proxy() {
    local name=$1 dir=$T/$1
    mkdir -p "$dir"
    local port
    port=$(t_free_port)
    CMD=()
    local log="$dir/conf.msg"
    if ! "conf_$name" "$dir" "$port" >"$log" 2>&1; then
        FAILED[$name]="configuration rejected: $(tr '\n' ' ' <"$log" | cut -c1-300)"
        note "$name: ${FAILED[$name]}"
        return 1
    fi
    t_spawn "$name" taskset -c "$BENCH_PROXY_CPU" "${CMD[@]}"
    PPID_[$name]=$T_PID
    PPORT[$name]=$port
    if ! wait_ready "$T_PID" "$port" 20; then
        if t_alive "$T_PID"; then
            FAILED[$name]="started but did not answer a.test over both UDP and TCP within 20 s"
        else
            FAILED[$name]="exited during start-up"
        fi
        FAILED[$name]+=" (log: $(tail -n 2 "$T/$name.log" | tr '\n' ' ' | cut -c1-300))"
        note "$name failed to start: ${FAILED[$name]}; last lines of its log:"
        tail -n 15 "$T/$name.log" >&2
        t_kill "$T_PID" 5
        return 1
    fi
    note "$name ready on port $port (pid $T_PID)"
}

setting_opts() {
    case $1 in
    a) echo "$BENCH_A" ;;
    b) echo "$BENCH_B" ;;
    c) echo "$BENCH_C" ;;
    d) echo "$BENCH_D" ;;
    e) echo "$BENCH_E" ;;
    *) return 1 ;;
    esac
}
setting_desc() {
    case $1 in
    a) echo "a: uncached, few clients, many outstanding ($BENCH_A)" ;;
    b) echo "b: uncached, many clients ($BENCH_B)" ;;
    c) echo "c: uncached, fixed rate ($BENCH_C)" ;;
    d) echo "d: cached ($BENCH_CACHED_NAMES names over and over), few clients, many outstanding ($BENCH_D)" ;;
    e) echo "e: cached ($BENCH_CACHED_NAMES names over and over), many clients ($BENCH_E)" ;;
    esac
}
# cached SETTING -- true for the settings that ask a few names over and over.
cached() { [[ $1 == d || $1 == e ]]; }
# setting_proxies SETTING -- the proxies measured in it.
setting_proxies() { if cached "$1"; then echo "$BENCH_CACHED_PROXIES"; else echo "$BENCH_PROXIES"; fi; }
# setting_base SETTING -- the proxy the ratios are against.
setting_base() { if cached "$1"; then echo dnsdist-cache; else echo dnsdist; fi; }

RESULTS=""
# run_test NAME SETTING MODE -- one measured dnsperf run through one proxy.
# Appends "name setting mode sent done lost qps avg p99 err cpu_us_per_q
# rss_kb proxy_cpu% upstream_cpu% cpu1_busy% status udp_drops dnsperf_cpu%"
# to $RESULTS.
run_test() {
    local name=$1 set=$2 mode=$3 pid=${PPID_[$1]} port=${PPORT[$1]}
    local id=$1-$2-$3${REP:+-r$REP} opts status=ok
    opts=$(setting_opts "$set")
    if ! t_alive "$pid"; then
        printf '%s %s %s - - - - - - - - - - - - died\n' "$name" "$set" "$mode" >>"$RESULTS"
        note "$id: $name is not running"
        return
    fi
    if cached "$set"; then
        # The names of the run, each asked once first: every query of the
        # run can then be answered from a cache.
        qfile "$T/q.txt" "$BENCH_CACHED_NAMES" "hot$name$set$mode$RANDOM-"
        cp "$T/q.txt" "$T/warm.txt"
    else
        # A name never asked before for each query: dnsperf wraps around the
        # file only beyond 100,000 qps (ours has reached 43,000; a second
        # turn through the file would hit the cache).
        qfile "$T/warm.txt" 300 "w$RANDOM$name$set$mode-"
        qfile "$T/q.txt" $((100000 * BENCH_SECONDS)) "$name$set$mode$RANDOM-"
    fi
    # Warm-up (not measured): upstream connections open again after idling.
    taskset -c "$BENCH_LOAD_CPU" dnsperf -s 127.0.0.1 -p "$port" -m "$mode" -d "$T/warm.txt" -n 1 \
        -c 2 -q 20 -t "$BENCH_TIMEOUT" "${EDNS_OPT[@]}" >"$T/warm-$id.out" 2>&1 </dev/null
    local -a verbose=()
    ((BENCH_P99)) && verbose=(-v)
    reset_hwm "$pid"
    local p0 p1 u0 u1 c0 c1 d0 d1 g0 g1 t0 t1 out=$T/perf-$id.out
    p0=$(cpu_ticks "$pid") u0=$(cpu_ticks "$UPID") c0=$(cpu_busy "$BENCH_LOAD_CPU") d0=$(udp_drops)
    local k0 k1
    k0=$(cpu_ticks "$pid" sys)
    children_cpu >"$T/.g0"
    read -r g0 <"$T/.g0"
    t0=$(now_us)
    note "$id: dnsperf -m $mode $opts -l $BENCH_SECONDS"
    # shellcheck disable=SC2086
    taskset -c "$BENCH_LOAD_CPU" dnsperf -s 127.0.0.1 -p "$port" -m "$mode" -d "$T/q.txt" \
        -l "$BENCH_SECONDS" -t "$BENCH_TIMEOUT" $opts "${EDNS_OPT[@]}" "${verbose[@]}" \
        -O suppress=sockready >"$out" 2>&1 </dev/null || status=dnsperf-failed
    t1=$(now_us)
    children_cpu >"$T/.g1"
    read -r g1 <"$T/.g1"
    p1=$(cpu_ticks "$pid") u1=$(cpu_ticks "$UPID") c1=$(cpu_busy "$BENCH_LOAD_CPU") d1=$(udp_drops)
    k1=$(cpu_ticks "$pid" sys)
    if [[ -n $k0 && -n $k1 && -n $p1 ]] && ((p1 > p0)); then
        note "$id: the kernel's share of the proxy's CPU (stime of utime+stime): $((100 * (k1 - k0) / (p1 - p0))) %"
    fi
    local rss
    rss=$(hwm_kb "$pid")
    t_alive "$pid" || status=died
    local -a s
    read -r -a s <<<"$(perf_summary "$out")"
    [[ ${s[0]} == - ]] && status=no-output
    awk -v n="$name" -v st="$set" -v m="$mode" -v sent="${s[0]}" -v done="${s[1]}" -v lost="${s[2]}" \
        -v qps="${s[3]}" -v avg="${s[4]}" -v p99="${s[5]}" -v err="${s[6]}" \
        -v p0="$p0" -v p1="${p1:-$p0}" -v u0="$u0" -v u1="$u1" -v c0="$c0" -v c1="$c1" \
        -v d=$((t1 - t0)) -v hz="$HZ" -v rss="${rss:--}" -v status="$status" -v drops=$((d1 - d0)) -v g0="$g0" -v g1="$g1" 'BEGIN {
            split(c0, a, " "); split(c1, b, " ")
            cpu = (p1 - p0) / hz
            us = (done > 0) ? cpu * 1e6 / done : -1
            printf "%s %s %s %s %s %s %s %s %s %s %s %s %.0f %.0f %.0f %s %d %.0f\n", n, st, m, sent, done, lost,
                qps, avg, p99, err, (us < 0 ? "-" : sprintf("%.2f", us)), rss,
                cpu * 1e8 / d, (u1 - u0) / hz * 1e8 / d,
                (b[2] - a[2] > 0) ? 100 * (b[1] - a[1]) / (b[2] - a[2]) : 0, status, drops,
                (g1 - g0) * 1e8 / d }' >>"$RESULTS"
    note "$id: $(tail -n 1 "$RESULTS")"
    # The -v lines are big; keep only the summary unless KEEP_TMP=1.
    if [[ ${KEEP_TMP:-0} != 1 ]]; then grep -v '^> ' "$out" >"$out.s" && mv -f "$out.s" "$out"; fi
}

compare() {
    start_upstream
    RESULTS=$T/results.txt
    : >"$RESULTS"
    local name set used=" "
    # Only the proxies of the settings asked for.
    for set in $BENCH_SETTINGS; do used+="$(setting_proxies "$set") "; done
    for name in $BENCH_PROXIES $BENCH_CACHED_PROXIES; do
        case $name in ours | dnsdist | stubby | unbound | dnsdist-cache | unbound-cache) ;;
        *) note "unknown proxy '$name' (ours dnsdist stubby unbound dnsdist-cache unbound-cache)"; continue ;;
        esac
        [[ " ${PROXY_ORDER[*]} " == *" $name "* || $used != *" $name "* ]] && continue
        PROXY_ORDER+=("$name")
        start_proxy "$name" || true
    done
    # Interleaved: for each setting and transport every proxy in turn, so slow
    # drifts in the machine's background load hit all of them alike; with
    # BENCH_REPEAT, the whole round again (the report pairs the k-th run of
    # each proxy in a cell: they ran side by side).
    local mode r
    REP=""
    for ((r = 1; r <= BENCH_REPEAT; r++)); do
        ((BENCH_REPEAT > 1)) && REP=$r
        for set in $BENCH_SETTINGS; do
            setting_opts "$set" >/dev/null || { note "unknown setting '$set'"; continue; }
            for mode in $BENCH_MODES; do
                for name in "${PROXY_ORDER[@]}"; do
                    [[ -n ${FAILED[$name]:-} || " $(setting_proxies "$set") " != *" $name "* ]] && continue
                    run_test "$name" "$set" "$mode"
                done
            done
        done
    done
    STOPPED=()
    for name in "${PROXY_ORDER[@]}"; do
        [[ -n ${FAILED[$name]:-} ]] && continue
        if t_alive "${PPID_[$name]}"; then
            t_kill "${PPID_[$name]}" 10
            STOPPED+=("$name: exit status ${T_EXIT_STATUS:-?} after SIGTERM")
        else
            STOPPED+=("$name: had died before the end")
            t_kill "${PPID_[$name]}" 1
        fi
    done
}

report_compare() {
    say ""
    say "### Throughput, latency and cost (interleaved runs, ${BENCH_SECONDS} s each)"
    say ""
    say "qps ×dnsdist and CPU/q ×dnsdist are ratios to dnsdist in the same setting and transport (qps: higher is better; CPU per query: lower is better): in the uncached settings to dnsdist without a packet cache, every query a new name (ours has its cache on: each miss pays a lookup and an insert); in the cached settings to dnsdist with its packet cache (dnsdist-cache), $BENCH_CACHED_NAMES names each asked once before the run, then over and over (unbound-cache: unbound with its caches on; stubby has none). CPU ms/1k q is the proxy's user+system CPU time per 1000 answered queries (= µs per query). RSS is the proxy's peak resident set (VmHWM) during that run. proxy %, upstream %, dnsperf % = each one's CPU time / wall time (100 = a whole core; the upstream and dnsperf share CPU $BENCH_LOAD_CPU, so upstream % + dnsperf % near 100 means the load side, not the proxy, set the pace). CPU$BENCH_LOAD_CPU % = that core's busy time from /proc/stat, other processes included; it is tick-sampled and reads low at light load (fixed rate). lost = queries dnsperf got no answer for (with, in brackets, the system's UDP receive-buffer drops during the run, any socket); errors = answers other than NOERROR."
    ((BENCH_REPEAT > 1)) && say "" && say "$BENCH_REPEAT rounds of every cell (BENCH_REPEAT): each row is that proxy's run with the median CPU per query; the ratios are the median of the $BENCH_REPEAT ratios between runs made side by side in the same round, with their range in brackets."
    local set mode
    for set in $BENCH_SETTINGS; do
        setting_opts "$set" >/dev/null || continue
        say ""
        say "**$(setting_desc "$set")**"
        say ""
        say "| transport | proxy | qps | avg ms | p99 ms | lost | errors | CPU ms/1k q | peak RSS MiB | qps ×dnsdist | CPU/q ×dnsdist | proxy % | upstream % | dnsperf % | CPU$BENCH_LOAD_CPU % |"
        say "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        for mode in $BENCH_MODES; do
            awk -v st="$set" -v m="$mode" -v order="${PROXY_ORDER[*]}" -v base="$(setting_base "$set")" '
                # sorted V N -- sorts V[1..N] (numbers) in place.
                function sorted(v, n,   i, j, t) {
                    for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
                }
                # ratio P F -- the median over the rounds of P/base in field F
                # ("n/a" if none), with the range when there are several.
                function ratio(p, f,   k, n, v, a, b) {
                    if (p == base) return "1.00"
                    n = 0
                    for (k = 1; k <= cnt[p] && k <= cnt[base]; k++) {
                        split(row[p, k], a, " "); split(row[base, k], b, " ")
                        if (a[f] != "-" && b[f] + 0 > 0) v[++n] = a[f] / b[f]
                    }
                    if (n == 0) return "n/a"
                    sorted(v, n)
                    if (n == 1) return sprintf("%.2f", v[1])
                    return sprintf("%.2f (%.2f-%.2f)", (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2, v[1], v[n])
                }
                # pick P -- the row of P'"'"'s run with the median CPU per query.
                function pick(p,   k, n, c, a, want) {
                    n = 0
                    for (k = 1; k <= cnt[p]; k++) { split(row[p, k], a, " "); if (a[11] != "-") c[++n] = a[11] + 0 }
                    if (n == 0) return row[p, cnt[p]]
                    sorted(c, n); want = c[int((n + 1) / 2)]
                    for (k = 1; k <= cnt[p]; k++) { split(row[p, k], a, " "); if (a[11] != "-" && a[11] + 0 == want) return row[p, k] }
                }
                $2 == st && $3 == m { row[$1, ++cnt[$1]] = $0 }
                END {
                    n = split(order, o, " ")
                    for (i = 1; i <= n; i++) {
                        if (!(o[i] in cnt)) continue
                        split(pick(o[i]), r, " ")
                        if (r[16] == "died" && r[4] == "-") {
                            printf "| %s | %s | died before the run |||||||||||| \n", m, o[i]; continue }
                        qr = ratio(o[i], 7)
                        cr = ratio(o[i], 11)
                        rss = (r[12] == "-") ? "-" : sprintf("%.1f", r[12] / 1024)
                        st_ = (r[16] == "ok") ? "" : " (" r[16] ")"
                        lost = r[6]; if (r[17] > 0) lost = lost " (" r[17] " UDP drops)"
                        printf "| %s | %s%s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
                            m, o[i], st_, r[7], r[8], r[9], lost, r[10], r[11], rss, qr, cr, r[13], r[14], r[18], r[15]
                    }
                }' "$RESULTS" | tee -a "$REPORT"
        done
    done
    local name
    for name in "${PROXY_ORDER[@]}"; do
        [[ -n ${FAILED[$name]:-} ]] && { say ""; say "- **$name: not measured: ${FAILED[$name]}**"; }
    done
    say ""
    say "Stopped (SIGTERM; 143 = ended by the signal's default action): $(printf '%s; ' "${STOPPED[@]}")"
    say ""
    say "### Versions and configurations"
    say ""
    for name in "${PROXY_ORDER[@]}"; do
        say "- $name: ${VERSION[$name]:-?}"
    done
    say "- load generator: $(dnsperf -h 2>&1 | sed -n 's/^Version //p' | head -n 1 | sed 's/^/dnsperf /')"
    for name in "${PROXY_ORDER[@]}"; do
        [[ -n ${CONF_TEXT[$name]:-} ]] || continue
        say ""
        say "$name (pinned with taskset -c $BENCH_PROXY_CPU):"
        say ""
        say '```'
        say "${CONF_TEXT[$name]//$T/\$T}"
        say '```'
    done
}

# --------------------------------------------------------------------------
# Instructions per query under callgrind
# --------------------------------------------------------------------------

CG_ROWS=()
CG_TOP=()
callgrind() {
    if ! command -v valgrind >/dev/null || ! command -v callgrind_control >/dev/null; then
        note "valgrind is not installed: callgrind part skipped"
        CG_ROWS+=("| (valgrind not installed) | | | | |")
        return 0
    fi
    start_upstream
    local port pid dir=$T/callgrind
    mkdir -p "$dir"
    port=$(t_free_port)
    # Instrumentation off at start (start-up, CA parsing and the first TLS
    # handshake are not counted); switched on around each workload.
    # shellcheck disable=SC2086
    t_spawn callgrind taskset -c "$BENCH_PROXY_CPU" valgrind --tool=callgrind --instr-atstart=no \
        --callgrind-out-file="$dir/callgrind.out" "$PROXY" -p "$port" \
        -n "127.0.0.1:$UPORT:dot.test" --ca-file "$CA" $OURS_ARGS
    pid=$T_PID
    if ! t_wait_listen "$port" udp 60 || ! t_wait_until 60 "proxy under valgrind to answer" ready_dns "$port" udp; then
        note "the proxy did not start under valgrind; last lines of its log:"
        tail -n 20 "$T/callgrind.log" >&2
        CG_ROWS+=("| (the proxy did not start under valgrind) | | | |")
        t_kill "$pid" 10
        return 0
    fi
    local edns=""
    ((BENCH_EDNS)) && edns=edns
    # Warm-up: the upstream connection is up and the TLS session made.
    tests/bench/serial.py udp "$port" 200 "cgw$RANDOM" $edns >/dev/null
    tests/bench/serial.py tcp "$port" 200 "cgw$RANDOM" $edns >/dev/null
    local n=$BENCH_CG_QUERIES k=0 w label ok mode kind hot
    for w in "udp serial" "tcp serial" "udp dnsperf" "tcp dnsperf" "udp cached" "tcp cached"; do
        read -r mode kind <<<"$w"
        k=$((k + 1))
        label="$mode-$kind"
        hot="cgh$k$RANDOM"
        # The cached workload's names, each asked once before counting.
        [[ $kind == cached ]] && tests/bench/serial.py "$mode" "$port" "$BENCH_CACHED_NAMES" "$hot" $edns >/dev/null
        callgrind_control -z "$pid" >>"$dir/control.log" 2>&1
        timeout 60 callgrind_control -i on "$pid" >>"$dir/control.log" 2>&1 || { note "callgrind_control failed"; break; }
        ok=1
        if [[ $kind == serial ]]; then
            tests/bench/serial.py "$mode" "$port" "$n" "cg$k$RANDOM" $edns >"$dir/$label.out" 2>&1 || ok=0
        elif [[ $kind == cached ]]; then
            tests/bench/serial.py "$mode" "$port" "$n" "$hot" $edns "hot=$BENCH_CACHED_NAMES" >"$dir/$label.out" 2>&1 || ok=0
        else
            qfile "$dir/q.txt" "$n" "cg$k$RANDOM-"
            dnsperf -s 127.0.0.1 -p "$port" -m "$mode" -d "$dir/q.txt" -n 1 -c 4 -q 50 -t 10 "${EDNS_OPT[@]}" \
                >"$dir/$label.out" 2>&1 </dev/null || ok=0
            grep -q "Queries completed: *$n " "$dir/$label.out" || ok=0
        fi
        timeout 60 callgrind_control -i off "$pid" >>"$dir/control.log" 2>&1
        timeout 60 callgrind_control -d "$label" "$pid" >>"$dir/control.log" 2>&1
        local f ir
        f=$(grep -l "^desc: Trigger: dump $label\$" "$dir"/callgrind.out.* 2>/dev/null | head -n 1)
        ir=$(sed -n 's/^totals: *//p' "$f" 2>/dev/null)
        if [[ -z $ir ]]; then
            CG_ROWS+=("| $mode | $kind | (no dump) | |")
            continue
        fi
        local what
        if [[ $kind == serial ]]; then
            what="one query at a time (tests/bench/serial.py), every name new (cache misses); deterministic"
        elif [[ $kind == cached ]]; then
            what="one query at a time, $BENCH_CACHED_NAMES names asked over and over (cache hits); deterministic"
        else
            what="dnsperf -c 4 -q 50 (batched; varies a little with timing)"
        fi
        CG_ROWS+=("| $mode | $what | $n$( ((ok)) || echo ' (not all answered)') | $ir | $(awk -v i="$ir" -v n="$n" 'BEGIN { printf "%.0f", i / n }') |")
        if [[ $kind != dnsperf ]] && command -v callgrind_annotate >/dev/null; then
            CG_TOP+=("$mode, one query at a time$([[ $kind == cached ]] && echo ", cache hits"): top functions (instructions per query)")
            CG_TOP+=("$(callgrind_annotate "$f" 2>/dev/null | awk -v n="$n" '
                /file:function/ { on = 1; getline; next }
                on && NF >= 3 && c < 12 { gsub(",", "", $1); fn = $0; sub(/^ *[0-9,]+ +\([ 0-9.%]+\) +/, "", fn)
                    printf "%8.0f  %s\n", $1 / n, fn; c++ }')")
        fi
    done
    t_kill "$pid" 20
}

report_callgrind() {
    say ""
    say "### Instructions per query (callgrind, dns-tls-proxy only)"
    say ""
    say "Instruction counts (Ir) of the proxy process between \`callgrind_control -i on\` and \`-i off\` around each workload; start-up and the upstream TLS handshake are excluded (warm-up first). User-space instructions only (the kernel's work in system calls is not counted). EDNS: $( ((BENCH_EDNS)) && echo yes || echo no). Options: \`$OURS_ARGS\`."
    say ""
    say "| transport | workload | queries | instructions | instructions/query |"
    say "| --- | --- | ---: | ---: | ---: |"
    local r
    for r in "${CG_ROWS[@]}"; do say "$r"; done
    if ((${#CG_TOP[@]})); then
        say ""
        say '```'
        for r in "${CG_TOP[@]}"; do say "$r"; done
        say '```'
    fi
}

# --------------------------------------------------------------------------

say "## dns-tls-proxy benchmark"
say ""
say "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
say "- machine: $NCPU CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(uname -sr), load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
say "- command: \`$COMMAND\`"
say "- knobs: \`$KNOBS\`"
say "- proxy under test: \`$PROXY\` ($("$PROXY" -V 2>&1 | head -n 1)), git $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?')"
say "- pinning: each proxy on CPU $BENCH_PROXY_CPU (taskset -c $BENCH_PROXY_CPU), dnsperf and the upstream on CPU $BENCH_LOAD_CPU"
say "- upstream: unbound $(unbound -V 2>/dev/null | sed -n 's/^Version //p'), DNS-over-TLS only, num-threads 1, *.load.test answered from local data (redirect zone), certificates from a test CA, $( ((BENCH_UPSTREAM_NODELAY)) && echo "TCP_NODELAY forced on (BENCH_UPSTREAM_NODELAY=1)" || echo "stock socket options (Nagle on: unbound does not set TCP_NODELAY on DoT connections)")"

case $WHAT in
all | upstream | compare) measure_upstream ;;
esac
if ((${#UP_CAP[@]})); then
    say ""
    say "### Upstream capacity (dnsperf -m dot straight to the upstream, $BENCH_A, ${BENCH_SECONDS} s)"
    say ""
    say "| dnsperf placement | qps | avg ms | lost | upstream CPU % |"
    say "| --- | ---: | ---: | ---: | ---: |"
    for r in "${UP_CAP[@]}"; do say "$r"; done
fi
case $WHAT in
all | compare) compare; report_compare ;;
esac
case $WHAT in
all | callgrind) callgrind; report_callgrind ;;
esac
say ""
say "- finished: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

# The report once more, in one piece, at the very end.
printf '\n==================== report ====================\n'
cat "$REPORT"
if [[ -n $BENCH_OUT ]]; then
    cp "$REPORT" "$BENCH_OUT" && note "report written to $BENCH_OUT"
fi
