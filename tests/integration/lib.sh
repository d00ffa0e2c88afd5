# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# tests/integration/lib.sh -- helpers for dns-tls-proxy integration scenarios.
#
# Source it from a bash scenario script:
#
#     #!/usr/bin/env bash
#     set -euo pipefail
#     . "$(dirname "$0")/lib.sh"
#     t_init my-scenario
#     t_make_pki "$T/pki" dns.test
#     port=$(t_free_port)
#     t_start_unbound "$T/pki" "$port"
#     ...
#
# Everything the library starts is tracked (pid + process start time, in
# "$T/.pids") and killed by the EXIT trap that t_init installs, which also
# removes "$T" unless KEEP_TMP=1.  On a failing exit the tails of all
# registered logs are printed to stderr.
#
# Upstream: a real DNS-over-TLS server, Debian's unbound, serving only a small
# local test zone and never recursing.  The names it serves:
#
#     a.test.        A 192.0.2.1, AAAA 2001:db8::1
#     two.test.      A 192.0.2.2
#     big.test.      TXT, 16 strings x 250 chars (see T_BIG_TXT_* below)
#     *.load.test.   A 192.0.2.100 (any name below load.test, for dnsperf)
#     anything else  NXDOMAIN (nx.test., foo.test., example.com., ...)
#
# Environment knobs (all optional):
#     KEEP_TMP=1            keep $T after the run
#     T_WAIT_TIMEOUT=10     default bound (seconds) of the wait helpers
#     T_UNBOUND_VERBOSITY=1 unbound's verbosity
#     T_UNBOUND_ADDR=IP     address unbound listens on (default 127.0.0.1)
#     T_UNBOUND_EXTRA=...   extra lines for unbound's "server:" clause, e.g.
#                           $'tcp-idle-timeout: 2000\nedns-tcp-keepalive: yes'
#
# Requires: bash >= 5 (EPOCHREALTIME), python3, openssl, unbound,
# unbound-control, dig (bind9-dnsutils), kdig (knot-dnsutils).

# Guard against double sourcing.
if [[ -n ${_T_LIB_LOADED:-} ]]; then return 0; fi
_T_LIB_LOADED=1

T=${T:-}
T_NAME=${T_NAME:-}
T_PID=${T_PID:-}
# shellcheck disable=SC2034  # set for the scenario scripts
T_EXIT_STATUS=""
_T_NPASS=0
_T_EXIT_HOOKS=()

# Expected properties of the big.test TXT answer (checked by selftest.sh).
# rdata = 16 * (1 + 250) = 4016 bytes; the whole DNS message is 4054 bytes
# without EDNS, 4065 with a plain OPT record (more if EDNS padding is used:
# unbound pads TLS responses to a multiple of 468 bytes when the query carried
# a padding option, e.g. kdig +tls does by default -> 4212 bytes).
T_BIG_TXT_STRINGS=16
T_BIG_TXT_LEN=250
# shellcheck disable=SC2034  # used by scenario scripts
T_BIG_MSG_SIZE_NOEDNS=4054
# shellcheck disable=SC2034
T_BIG_MSG_SIZE_EDNS=4065

# ---------------------------------------------------------------------------
# Output and assertions
# ---------------------------------------------------------------------------

# t_log MSG... -- informational line on stderr.
t_log() { printf '# %s\n' "$*" >&2; }

# t_fail MSG -- report a failure on stderr and exit 1 (runs the EXIT trap).
t_fail() {
    printf 'FAIL: %s\n' "$*" >&2
    # Where it failed: the call chain, innermost first.
    local i
    for ((i = 1; i < ${#FUNCNAME[@]}; i++)); do
        printf '  at %s (%s:%s)\n' "${FUNCNAME[$i]}" \
            "${BASH_SOURCE[$i]##*/}" "${BASH_LINENO[$((i - 1))]}" >&2
    done
    exit 1
}

# t_pass MSG -- report a passed check.
t_pass() {
    _T_NPASS=$((_T_NPASS + 1))
    printf 'ok - %s\n' "$*"
}

# t_assert_eq GOT WANT MSG -- string equality.
t_assert_eq() {
    local got=$1 want=$2 msg=${3:-values differ}
    if [[ $got == "$want" ]]; then
        t_pass "$msg"
    else
        printf '  want: %q\n  got:  %q\n' "$want" "$got" >&2
        t_fail "$msg"
    fi
}

# t_assert_match STRING REGEX MSG -- bash ERE match ([[ =~ ]]).  Note: with
# a multi-line STRING '.' also matches newlines and ^/$ anchor only at the
# very start/end of the whole string.
t_assert_match() {
    local s=$1 re=$2 msg=${3:-no match}
    if [[ $s =~ $re ]]; then
        t_pass "$msg"
    else
        printf '  regex: %s\n  string:\n%s\n' "$re" "$(printf '%s\n' "$s" | sed 's/^/    | /')" >&2
        t_fail "$msg"
    fi
}

# t_assert_le A B MSG -- integer A <= B.
t_assert_le() {
    local a=$1 b=$2 msg=${3:-A <= B}
    if ! [[ $a =~ ^-?[0-9]+$ && $b =~ ^-?[0-9]+$ ]]; then
        printf '  not integers: A=%q B=%q\n' "$a" "$b" >&2
        t_fail "$msg"
    fi
    if ((a <= b)); then
        t_pass "$msg ($a <= $b)"
    else
        printf '  expected %s <= %s\n' "$a" "$b" >&2
        t_fail "$msg"
    fi
}

# ---------------------------------------------------------------------------
# Set-up, process tracking, clean-up
# ---------------------------------------------------------------------------

# t_init NAME -- make the work dir $T, install the clean-up traps.
t_init() {
    T_NAME=${1:?t_init NAME}
    T=$(mktemp -d "${TMPDIR:-/tmp}/dtp-${T_NAME//[^A-Za-z0-9_.-]/_}.XXXXXX")
    : >"$T/.pids"
    : >"$T/.logs"
    : >"$T/.ports"
    export T T_NAME
    trap '_t_cleanup' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    printf '== %s\n' "$T_NAME"
    t_log "work dir: $T"
}

# t_on_exit CMD -- run CMD (a string, eval'd) at exit, before processes are
# killed.  Hooks run in reverse order of registration.
t_on_exit() { _T_EXIT_HOOKS+=("$1"); }

# t_register_log FILE -- print FILE's tail if the scenario fails.
t_register_log() {
    [[ -n $T && -f $T/.logs ]] || return 0
    grep -qxF -- "$1" "$T/.logs" 2>/dev/null || printf '%s\n' "$1" >>"$T/.logs"
}

# Start time of PID (field 22 of /proc/PID/stat, in clock ticks since boot);
# used to make sure a tracked pid was not reused by an unrelated process.
_t_starttime() {
    local s
    local -a f
    { read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
    s=${s##*) }          # drop "pid (comm) " -- comm may contain spaces
    read -r -a f <<<"$s" # f[0] = field 3 (state) ... f[19] = field 22
    printf '%s\n' "${f[19]}"
}

# _t_alive PID [STARTTIME] -- process exists, is not a zombie, and (when
# given) has the same start time as when it was tracked.
_t_alive() {
    local pid=$1 want=${2:-} s
    { read -r s <"/proc/$pid/stat"; } 2>/dev/null || return 1
    s=${s##*) }
    local -a f
    read -r -a f <<<"$s"
    [[ ${f[0]} != Z ]] || return 1
    [[ -z $want || ${f[19]} == "$want" ]]
}

# Tracking file "$T/.pids": one line "PID STARTTIME OWNER" per process, OWNER
# being the $BASHPID of the shell that tracked it (its parent when started
# through t_spawn / t_start_unbound, so only that shell can "wait" for it).

# t_track PID -- have the EXIT trap kill PID (a process you started yourself
# with "cmd &"; prefer t_spawn).
t_track() {
    local pid=${1:?t_track PID} st
    st=$(_t_starttime "$pid") || { t_log "t_track: pid $pid is not running"; return 0; }
    printf '%s %s %s\n' "$pid" "$st" "$BASHPID" >>"$T/.pids"
}

# t_spawn NAME CMD [ARGS...] -- start CMD in the background with stdout and
# stderr appended to "$T/NAME.log", stdin from /dev/null; track it; set T_PID
# to its pid.  Use it instead of "cmd &" so the process is always cleaned up.
t_spawn() {
    local name=${1:?t_spawn NAME CMD...}
    shift
    local log="$T/$name.log"
    "$@" >>"$log" 2>&1 </dev/null &
    T_PID=$!
    t_track "$T_PID"
    t_register_log "$log"
    t_log "started $name (pid $T_PID): $*"
}

# _t_tracked PID -- print "STARTTIME OWNER" of tracked PID, or fail.
_t_tracked() {
    local lpid rest
    while read -r lpid rest; do
        [[ $lpid == "$1" ]] && { printf '%s\n' "$rest"; return 0; }
    done <"$T/.pids"
    return 1
}

# _t_kill_pids TIMEOUT PID... -- SIGTERM the given tracked pids, wait up to
# TIMEOUT seconds for all of them, SIGKILL the rest, reap them, forget them.
# Only pids in the tracking file, with the recorded start time, are touched
# (so a recycled pid is never signalled).
# shellcheck disable=SC2034  # T_EXIT_STATUS is for the scenario scripts
_t_kill_pids() {
    local timeout=$1
    shift
    local -a live=() sts=()
    local pid info st owner
    for pid in "$@"; do
        info=$(_t_tracked "$pid") || continue
        st=${info%% *}
        if _t_alive "$pid" "$st"; then
            # SIGCONT first, in case a test SIGSTOPped it. Not after: a
            # SIGCONT arriving as the process exits cancels the SIGSTOP that
            # LeakSanitizer's tracer sends it, and both then wait forever.
            kill -CONT "$pid" 2>/dev/null || true
            kill -TERM "$pid" 2>/dev/null || true
            live+=("$pid")
            sts+=("$st")
        fi
    done
    _t_wait_gone "$timeout" || true # survivors get SIGKILL below
    local i killed=0
    for i in "${!live[@]}"; do
        if _t_alive "${live[$i]}" "${sts[$i]}"; then
            t_log "pid ${live[$i]} still running ${timeout}s after SIGTERM, sending SIGKILL"
            kill -KILL "${live[$i]}" 2>/dev/null || true
            killed=1
        fi
    done
    ((killed == 0)) || _t_wait_gone 5
    # Reap the ones that are children of this shell, silently, keeping the
    # exit status of the last one.
    T_EXIT_STATUS=""
    for pid in "$@"; do
        info=$(_t_tracked "$pid") || continue
        owner=${info#* }
        [[ $owner == "$BASHPID" ]] || continue
        T_EXIT_STATUS=0
        wait "$pid" 2>/dev/null || T_EXIT_STATUS=$?
    done
    # Forget them.
    local tmp="$T/.pids.tmp" lpid rest
    : >"$tmp"
    while read -r lpid rest; do
        for pid in "$@"; do [[ $lpid == "$pid" ]] && continue 2; done
        printf '%s %s\n' "$lpid" "$rest" >>"$tmp"
    done <"$T/.pids"
    mv -f "$tmp" "$T/.pids"
}

# _t_wait_gone TIMEOUT -- helper of _t_kill_pids: poll until none of the
# caller's live[]/sts[] processes is alive, or TIMEOUT seconds.
_t_wait_gone() {
    local deadline i any
    deadline=$(_t_deadline "$1")
    while :; do
        any=0
        for i in "${!live[@]}"; do
            _t_alive "${live[$i]}" "${sts[$i]}" && { any=1; break; }
        done
        ((any)) || return 0
        _t_before "$deadline" || return 1
        sleep 0.05
    done
}

# t_kill PID [TIMEOUT] -- stop one tracked process: SIGTERM, bounded wait
# (default 5 s), then SIGKILL; forget it.  Sets T_EXIT_STATUS to its exit
# status when it is a child of this shell (143 = died of SIGTERM, 137 =
# SIGKILL, 0 = handled SIGTERM and exited 0), "" otherwise.  Untracked pids
# are left alone.
t_kill() { _t_kill_pids "${2:-5}" "${1:?t_kill PID}"; }

# t_alive PID -- true if the tracked process PID is still running.
t_alive() {
    local info
    info=$(_t_tracked "$1") || return 1
    _t_alive "$1" "${info%% *}"
}

# t_wait_exit PID [TIMEOUT] -- wait (bounded, default T_WAIT_TIMEOUT or 10 s)
# for tracked process PID to exit by itself; set T_EXIT_STATUS (as t_kill)
# and forget it.  Returns 1 (process left running and tracked) on timeout.
t_wait_exit() {
    local pid=${1:?t_wait_exit PID [TIMEOUT]} timeout=${2:-${T_WAIT_TIMEOUT:-10}}
    t_wait_until "$timeout" "pid $pid to exit" _t_not t_alive "$pid" || return 1
    _t_kill_pids 0 "$pid"
}
_t_not() { ! "$@"; }

_t_cleanup() {
    local rc=$? cmd=$BASH_COMMAND
    set +eu # clean up whatever happens
    # A plain command that failed under "set -e" (not t_fail): name it.
    if ((rc != 0)) && [[ $cmd != exit* && $cmd != t_fail* ]]; then
        printf 'FAIL: exit %d after command: %s\n' "$rc" "$cmd" >&2
    fi
    trap - EXIT INT TERM
    local i
    for ((i = ${#_T_EXIT_HOOKS[@]} - 1; i >= 0; i--)); do
        eval "${_T_EXIT_HOOKS[$i]}"
    done
    if [[ -n $T && -d $T ]]; then
        # Stop everything first, so the logs below are complete.
        local -a pids=()
        local lpid rest
        while read -r lpid rest; do pids+=("$lpid"); done <"$T/.pids"
        ((${#pids[@]} == 0)) || _t_kill_pids 5 "${pids[@]}"
        if ((rc != 0 && rc != 77)) && [[ -s $T/.logs ]]; then
            local f
            while read -r f; do
                [[ -s $f ]] || continue
                printf -- '--- last lines of %s\n' "$f" >&2
                tail -n "${T_LOG_TAIL:-25}" "$f" >&2
            done <"$T/.logs"
        fi
        if [[ ${KEEP_TMP:-0} == 1 ]]; then
            t_log "KEEP_TMP=1: kept $T"
        else
            rm -rf -- "$T"
        fi
    fi
    if ((rc == 0)); then
        printf '== %s: PASS (%d checks)\n' "$T_NAME" "$_T_NPASS"
    elif ((rc == 77)); then
        printf '== %s: SKIP (t_need_feature)\n' "$T_NAME"
    else
        printf '== %s: FAIL (exit %d, %d checks passed before)\n' "$T_NAME" "$rc" "$_T_NPASS"
    fi
    exit "$rc"
}

# ---------------------------------------------------------------------------
# Time and waiting
# ---------------------------------------------------------------------------

# Microseconds since the epoch (bash 5 EPOCHREALTIME, no fork).
_t_now_us() { local t=${EPOCHREALTIME/[.,]/}; printf '%s\n' "$((10#$t))"; }
# _t_deadline SECONDS (may be fractional) -> absolute deadline in us.
_t_deadline() {
    local now
    now=$(_t_now_us)
    awk -v n="$now" -v s="$1" 'BEGIN { printf "%.0f\n", n + s * 1000000 }'
}
_t_before() { (($(_t_now_us) < $1)); }

# t_wait_until TIMEOUT DESC CMD [ARGS...] -- poll CMD every 0.1 s until it
# succeeds; fail (return 1, message on stderr) after TIMEOUT seconds.
t_wait_until() {
    local timeout=$1 desc=$2
    shift 2
    local deadline
    deadline=$(_t_deadline "$timeout")
    while :; do
        "$@" >/dev/null 2>&1 && return 0
        if ! _t_before "$deadline"; then
            t_log "timed out after ${timeout}s waiting for: $desc"
            return 1
        fi
        sleep 0.1
    done
}

# t_wait_listen PORT [PROTO] [TIMEOUT] -- poll every 0.1 s until something
# listens on 127.0.0.1 (or any address) PORT, tcp (default) or udp.  Useful
# when the server may not answer DNS yet (e.g. its upstream is down).
t_wait_listen() {
    local port=${1:?t_wait_listen PORT [tcp|udp] [TIMEOUT]} proto=${2:-tcp}
    local timeout=${3:-${T_WAIT_TIMEOUT:-10}} flag
    case $proto in
    tcp) flag=-Hltn ;;
    udp) flag=-Hlun ;;
    *) t_fail "t_wait_listen: PROTO must be tcp or udp, not '$proto'" ;;
    esac
    t_wait_until "$timeout" "a $proto listener on port $port" \
        _t_listening "$flag" "$port"
}
_t_listening() { [[ -n $(ss "$1" "sport = :$2") ]]; }

# t_now_us -- microseconds since the epoch (for t_elapsed_ms).
t_now_us() { _t_now_us; }

# t_elapsed_ms START_US -- milliseconds since START_US (from _t_now_us).
t_elapsed_ms() { echo $((($(_t_now_us) - $1) / 1000)); }

# ---------------------------------------------------------------------------
# Ports
# ---------------------------------------------------------------------------

# t_free_port -- print a port that is currently free for both TCP and UDP on
# 127.0.0.1.  Ports are picked at random *below* the kernel's ephemeral range
# (so outgoing connections, e.g. the proxy's own upstream sockets, cannot grab
# them between now and the moment the server binds), are checked by binding
# both socket types (without SO_REUSEADDR, so TIME_WAIT leftovers count as
# busy), and are never handed out twice in one run ("$T/.ports").
t_free_port() {
    python3 - "${T:+$T/.ports}" <<'PY'
import os, random, socket, sys

used_file = sys.argv[1] if len(sys.argv) > 1 else ""
used = set()
if used_file and os.path.exists(used_file):
    with open(used_file) as f:
        used = {int(x) for x in f.read().split()}
try:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        eph_lo = int(f.read().split()[0])
except OSError:
    eph_lo = 32768
lo, hi = (10000, eph_lo) if eph_lo > 12000 else (1024, eph_lo)

def free(port):
    socks = []
    try:
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(socket.AF_INET, kind)
            socks.append(s)
            s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        for s in socks:
            s.close()

rng = random.SystemRandom()
for _ in range(500):
    p = rng.randrange(lo, hi)
    if p not in used and free(p):
        break
else:
    # Fall back to the kernel's choice (ephemeral range).
    for _ in range(50):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind(("127.0.0.1", 0))
        p = t.getsockname()[1]
        t.close()
        if p not in used and free(p):
            break
    else:
        sys.exit("t_free_port: no free port found")
if used_file:
    with open(used_file, "a") as f:
        f.write("%d\n" % p)
print(p)
PY
}

# ---------------------------------------------------------------------------
# PKI
# ---------------------------------------------------------------------------
#
# Certificate dates are set around the proxy's clock floor (the time before
# which it does not trust the system clock: its build time, which
# `dns-tls-proxy --version` prints), never around the date of the last
# commit, so that every test passes on any day. Servers and clients other
# than the proxy (unbound, kdig, openssl verify) check the real clock, so the
# usual certificates also cover now.

# t_clock_floor [CMD...] -- print the clock floor, in seconds since the epoch,
# of the proxy that CMD runs (default: $PROXY), from its --version output.
t_clock_floor() {
    local -a cmd=("$@")
    ((${#cmd[@]} > 0)) || cmd=("${PROXY:?t_clock_floor: PROXY is not set}")
    local out floor
    out=$("${cmd[@]}" --version 2>&1) || t_fail "t_clock_floor: ${cmd[*]} --version failed: $out"
    floor=$(sed -n 's/^clock floor: \([0-9][0-9]*\) .*/\1/p' <<<"$out")
    [[ -n $floor ]] || t_fail "t_clock_floor: no 'clock floor:' line in: $out"
    printf '%s\n' "$floor"
}

# t_has_feature NAME [CMD...] -- true when the proxy that CMD runs (default:
# $PROXY) was built with the optional feature NAME (metrics, xfr, cache,
# qlog, select: src/feature.h): its
# --version lists "+NAME" (a reduced build, make static TINY=1, "-NAME").
t_has_feature() {
    local name=$1
    shift
    local -a cmd=("$@")
    ((${#cmd[@]} > 0)) || cmd=("${PROXY:?t_has_feature: PROXY is not set}")
    [[ $("${cmd[@]}" --version 2>&1) =~ (^|$'\n')features:.*\ \+$name( |$) ]]
}

# t_need_feature NAME -- skip the rest of this scenario, with a line saying
# why, when $PROXY lacks the feature NAME (exit 77: run.sh counts it skipped).
t_need_feature() {
    t_has_feature "$1" && return 0
    printf 'skip %s: the proxy under test is built without %s (--version: %s)\n' \
        "$(basename "$0")" "$1" "$("$PROXY" --version 2>&1 | sed -n 's/^features: //p')"
    exit 77
}

# _t_when SECONDS -- the YYYYMMDDHHMMSSZ form openssl ca takes.
_t_when() { date -u -d "@$1" +%Y%m%d%H%M%SZ; }

_t_eckey() {
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null ||
        t_fail "openssl genpkey (EC) failed for $1"
}
_t_rsakey() {
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null ||
        t_fail "openssl genpkey (RSA) failed for $1"
}

# _t_ca_section DIR CA -- add the "openssl ca -name CA" section for DIR/CA.pem
# to DIR/.openssl-ca.cnf, with its bookkeeping in DIR/.ca-CA.
_t_ca_section() {
    local dir=$1 ca=$2
    rm -rf "$dir/.ca-$ca"
    mkdir -p "$dir/.ca-$ca/new"
    : >"$dir/.ca-$ca/index.txt"
    cat >>"$dir/.openssl-ca.cnf" <<EOF

[ ${ca//-/_} ]
database        = $dir/.ca-$ca/index.txt
new_certs_dir   = $dir/.ca-$ca/new
certificate     = $dir/$ca.pem
private_key     = $dir/$ca.key
default_md      = sha256
policy          = policy_any
unique_subject  = no
rand_serial     = yes
copy_extensions = none
email_in_dn     = no
EOF
}

# t_issue DIR OUT ISSUER KIND START END -- one certificate in the PKI that
# t_make_pki made in DIR: DIR/OUT.pem and DIR/OUT.key, valid from START to
# END (seconds since the epoch), signed by DIR/ISSUER.key (ISSUER = self for
# a root). KIND: ca (P-256, CA:TRUE, keyCertSign; usable as an ISSUER
# afterwards), leaf (P-256, for the PKI's name, EKU serverAuth), rsa-leaf
# (the same, RSA-2048), or leaf:NAME for another name. "openssl ca" is the
# only OpenSSL 3.0 command that sets both dates ("x509 -req" gained
# -not_before only in 3.4).
t_issue() {
    local dir=${1:?t_issue DIR OUT ISSUER KIND START END} out=$2 issuer=$3 kind=$4 start=$5 end=$6
    local name ext cn csr
    name=$(<"$dir/.name")
    case $kind in
    ca) ext=v3_ca cn="dns-tls-proxy test $out" ;;
    leaf) ext=v3_leaf_ec cn=$name ;;
    rsa-leaf) ext=v3_leaf_rsa cn=$name ;;
    leaf:*)
        cn=${kind#leaf:} ext=v3_leaf_${cn//[^A-Za-z0-9]/_}
        grep -qF "[ $ext ]" "$dir/.openssl-ca.cnf" ||
            printf '\n[ %s ]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = serverAuth\nsubjectAltName = DNS:%s\n' \
                "$ext" "$cn" >>"$dir/.openssl-ca.cnf"
        ;;
    *) t_fail "t_issue: KIND must be ca, leaf, rsa-leaf or leaf:NAME, not '$kind'" ;;
    esac
    if [[ $kind == rsa-leaf ]]; then _t_rsakey "$dir/$out.key"; else _t_eckey "$dir/$out.key"; fi
    chmod 600 "$dir/$out.key"
    [[ $kind != ca ]] || _t_ca_section "$dir" "$out"
    local -a self=()
    if [[ $issuer == self ]]; then
        issuer=$out
        self=(-selfsign -keyfile "$dir/$out.key")
    fi
    csr=$dir/.ca-$issuer/$out.csr
    openssl req -new -key "$dir/$out.key" -subj "/CN=$cn" -out "$csr" 2>"$csr.log" ||
        { cat "$csr.log" >&2; t_fail "openssl req failed for $out"; }
    if ! openssl ca -batch -notext -config "$dir/.openssl-ca.cnf" -name "${issuer//-/_}" \
        -extensions "$ext" -startdate "$(_t_when "$start")" -enddate "$(_t_when "$end")" \
        -in "$csr" -out "$dir/$out.pem" "${self[@]}" >"$csr.log" 2>&1; then
        cat "$csr.log" >&2
        t_fail "openssl ca failed for $out"
    fi
    rm -f "$csr.log"
}

# t_make_pki DIR NAME -- create a throw-away PKI in DIR:
#   ca.pem ca.key                 test CA (EC P-256, CA:TRUE, keyCertSign)
#   server.pem server.key         EC P-256 leaf for NAME (SAN DNS:NAME,
#                                 EKU serverAuth), signed by ca.key
#   rsa-server.pem rsa-server.key RSA-2048 leaf for NAME, signed by ca.key
#   other-ca.pem other-ca.key     a second, unrelated CA (EC P-256)
#   other-server.pem other-server.key  EC leaf for NAME signed by other-ca.key
#   expired-server.pem expired-server.key  EC leaf for NAME signed by ca.key,
#                                 expired 30 days before the floor (valid
#                                 from floor -60 to floor -30 days)
# With F the clock floor (T_CLOCK_FLOOR, else t_clock_floor of $PROXY; it is
# exported) and N now: leaves are valid from a day before the earlier of F
# and N to 30 days after the later; the CAs likewise, to 365 days after.
# Keys are PKCS#8 PEM. More certificates: t_issue.
t_make_pki() {
    local dir=${1:?t_make_pki DIR NAME} name=${2:?t_make_pki DIR NAME}
    [[ $name =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]] ||
        t_fail "t_make_pki: bad NAME '$name'"
    [[ -n ${T_CLOCK_FLOOR:-} ]] || T_CLOCK_FLOOR=$(t_clock_floor)
    export T_CLOCK_FLOOR
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    printf '%s\n' "$name" >"$dir/.name"
    cat >"$dir/.openssl-ca.cnf" <<EOF
# Generated by tests/integration/lib.sh (t_make_pki).

[ policy_any ]
commonName = supplied

[ v3_ca ]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash

[ v3_leaf_ec ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = serverAuth
subjectAltName         = DNS:$name
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid

[ v3_leaf_rsa ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature, keyEncipherment
extendedKeyUsage       = serverAuth
subjectAltName         = DNS:$name
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
EOF
    local now day=86400 lo hi
    now=$(date +%s)
    lo=$((T_CLOCK_FLOOR < now ? T_CLOCK_FLOOR : now)) hi=$((T_CLOCK_FLOOR > now ? T_CLOCK_FLOOR : now))
    t_issue "$dir" ca self ca $((lo - day)) $((hi + 365 * day))
    t_issue "$dir" other-ca self ca $((lo - day)) $((hi + 365 * day))
    t_issue "$dir" server ca leaf $((lo - day)) $((hi + 30 * day))
    t_issue "$dir" rsa-server ca rsa-leaf $((lo - day)) $((hi + 30 * day))
    t_issue "$dir" other-server other-ca leaf $((lo - day)) $((hi + 30 * day))
    t_issue "$dir" expired-server ca leaf $((T_CLOCK_FLOOR - 60 * day)) $((T_CLOCK_FLOOR - 30 * day))
    # Sanity checks, so a broken PKI fails here and not in a confusing TLS test.
    local out spec leaf issuer
    for spec in "server ca" "rsa-server ca" "other-server other-ca"; do
        read -r leaf issuer <<<"$spec"
        out=$(openssl verify -CAfile "$dir/$issuer.pem" -purpose sslserver \
            -verify_hostname "$name" "$dir/$leaf.pem" 2>&1) ||
            t_fail "t_make_pki: $leaf.pem does not verify against $issuer.pem: $out"
    done
    if openssl verify -CAfile "$dir/ca.pem" "$dir/other-server.pem" >/dev/null 2>&1; then
        t_fail "t_make_pki: other-server.pem verifies against ca.pem"
    fi
    if openssl verify -CAfile "$dir/ca.pem" -attime "$T_CLOCK_FLOOR" "$dir/expired-server.pem" >/dev/null 2>&1; then
        t_fail "t_make_pki: expired-server.pem is not expired at the floor"
    fi
    t_log "PKI for $name in $dir (clock floor $(date -u -d "@$T_CLOCK_FLOOR" +%FT%TZ))"
}


# ---------------------------------------------------------------------------
# unbound: the DNS-over-TLS upstream
# ---------------------------------------------------------------------------
#
# State is kept per DIR (DIR/unbound.conf, DIR/.port, DIR/.tracked-pid) so
# several instances can run at once (e.g. failover tests: one DIR each).
# Functions that take an optional DIR default to the last one started
# ($T_UNBOUND_DIR).

T_UNBOUND_DIR=${T_UNBOUND_DIR:-}

# _t_big_txt -- the big.test TXT rdata: 16 quoted strings of 250 chars
# (string i is the letter a+i repeated), as one presentation-format line.
_t_big_txt() {
    local i s out="" letters=abcdefghijklmnopqrstuvwxyz
    for ((i = 0; i < T_BIG_TXT_STRINGS; i++)); do
        printf -v s "%${T_BIG_TXT_LEN}s" ""
        s=${s// /${letters:i%26:1}}
        out+=" \"$s\""
    done
    printf '%s\n' "${out# }"
}

# t_start_unbound DIR PORT [CERT KEY] -- write DIR/unbound.conf, start unbound
# serving DNS-over-TLS on 127.0.0.1@PORT (TLS only: no plain UDP/TCP), wait
# until it is ready.  CERT/KEY default to DIR/server.pem DIR/server.key.
# Sets T_UNBOUND_DIR=DIR and T_UNBOUND_PID.
t_start_unbound() {
    local dir=${1:?t_start_unbound DIR PORT [CERT KEY]} port=${2:?t_start_unbound DIR PORT [CERT KEY]}
    local cert=${3:-$dir/server.pem} key=${4:-$dir/server.key}
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [[ $cert == /* ]] || cert=$PWD/$cert
    [[ $key == /* ]] || key=$PWD/$key
    [[ -r $cert && -r $key ]] || t_fail "t_start_unbound: cannot read $cert / $key"
    local conf="$dir/unbound.conf"
    # Zone data: served with local-zone/local-data rather than an auth-zone
    # (which would need a zone file, and interacts with the catch-all
    # 'local-zone: "." static': local zones are consulted first, so "." would
    # shadow the auth zone).  local-data handles everything we need:
    #  - 'local-zone: "." static' answers every name without local data with
    #    NXDOMAIN, so unbound never recurses (no internet needed, and no root
    #    priming traffic);
    #  - 'local-zone: "test." static' gives NXDOMAIN for unknown *.test names;
    #  - a 'redirect' local zone answers every name below it with the zone
    #    apex's data -- the local-data way to get a wildcard (a literal
    #    "*.load.test." local-data is NOT expanded by unbound);
    #  - the big TXT record is a single ~4 KB config line; unbound accepts it
    #    (tested up to 200 x 255-char strings / 51 KB; a 256-char string is
    #    rejected as "Bad local-data RR").
    cat >"$conf" <<EOF
# Generated by tests/integration/lib.sh (t_start_unbound).
server:
    verbosity: ${T_UNBOUND_VERBOSITY:-1}
    num-threads: 1
    do-daemonize: no
    chroot: ""
    username: ""
    directory: "$dir"
    pidfile: "$dir/unbound.pid"
    use-syslog: no
    logfile: "$dir/unbound.log"
    log-time-ascii: yes

    # DNS-over-TLS only: the proxy must really use TLS to get answers.
    interface: ${T_UNBOUND_ADDR:-127.0.0.1}@$port
    port: $port
    tls-port: $port
    tls-service-pem: "$cert"
    tls-service-key: "$key"
    do-ip4: yes
    do-ip6: no
    do-udp: no
    do-tcp: yes
    # Fail loudly on a port clash instead of sharing the port with a stale
    # instance.
    so-reuseport: no
    incoming-num-tcp: 100
    access-control: 127.0.0.0/8 allow

    # No validator, no trust anchor: nothing that would want the internet.
    module-config: "iterator"
    # Counters for t_unbound_queries / t_unbound_tls_queries (num.query.tls
    # is only printed with extended statistics).
    extended-statistics: yes
    statistics-cumulative: no

    local-zone: "." static
    local-zone: "test." static
    local-data: "a.test. 300 IN A 192.0.2.1"
    local-data: "a.test. 300 IN AAAA 2001:db8::1"
    local-data: "two.test. 300 IN A 192.0.2.2"
    local-data: 'big.test. 300 IN TXT $(_t_big_txt)'
    local-zone: "load.test." redirect
    local-data: "load.test. 300 IN A 192.0.2.100"
${T_UNBOUND_EXTRA:+$(printf '%s\n' "$T_UNBOUND_EXTRA" | sed 's/^/    /')}

remote-control:
    control-enable: yes
    control-interface: "$dir/ctl.sock"
    control-use-cert: no
EOF
    unbound-checkconf "$conf" >"$dir/checkconf.log" 2>&1 || {
        cat "$dir/checkconf.log" >&2
        t_fail "t_start_unbound: unbound-checkconf rejected $conf"
    }
    printf '%s\n' "$port" >"$dir/.port"
    T_UNBOUND_DIR=$dir
    _t_unbound_run "$dir"
}

# _t_unbound_run DIR -- start unbound on DIR/unbound.conf and wait for it.
_t_unbound_run() {
    local dir=$1 conf="$1/unbound.conf" port
    port=$(<"$dir/.port")
    t_register_log "$dir/unbound.log"
    t_register_log "$dir/unbound.stderr"
    local t0
    t0=$(_t_now_us)
    # stderr gets what unbound prints before it opens its logfile (config
    # errors, "could not open ports", ...).
    unbound -d -c "$conf" >>"$dir/unbound.stderr" 2>&1 </dev/null &
    T_UNBOUND_PID=$!
    t_track "$T_UNBOUND_PID"
    printf '%s\n' "$T_UNBOUND_PID" >"$dir/.tracked-pid"
    # Ready = the remote control answers "is running".  The TLS listening
    # socket is opened (and listen()ing) before the control socket and
    # before the event loop starts, so it accepts connections by then.  This
    # probe sends no DNS query, so the query counters start at 0.
    local deadline
    deadline=$(_t_deadline "${T_WAIT_TIMEOUT:-10}")
    while ! unbound-control -c "$conf" status >/dev/null 2>&1; do
        if ! _t_alive "$T_UNBOUND_PID"; then
            _t_unbound_dump "$dir"
            t_fail "unbound exited during start-up (port $port)"
        fi
        if ! _t_before "$deadline"; then
            _t_unbound_dump "$dir"
            t_fail "unbound not ready after ${T_WAIT_TIMEOUT:-10}s (port $port)"
        fi
        sleep 0.05
    done
    T_UNBOUND_READY_MS=$(t_elapsed_ms "$t0")
    t_log "unbound (pid $T_UNBOUND_PID) DoT on ${T_UNBOUND_ADDR:-127.0.0.1}@$port ready in ${T_UNBOUND_READY_MS} ms"
}

_t_unbound_dump() {
    local f
    for f in "$1/unbound.stderr" "$1/unbound.log"; do
        [[ -s $f ]] || continue
        printf -- '--- tail of %s\n' "$f" >&2
        tail -n 30 "$f" >&2
    done
}

# t_stop_unbound [DIR] -- SIGTERM the unbound of DIR, wait up to 10 s, then
# SIGKILL.  Its port is free afterwards.
t_stop_unbound() {
    local dir=${1:-$T_UNBOUND_DIR} pid
    [[ -n $dir && -f $dir/.tracked-pid ]] || t_fail "t_stop_unbound: no unbound started in '${dir}'"
    pid=$(<"$dir/.tracked-pid")
    _t_kill_pids 10 "$pid"
    rm -f "$dir/.tracked-pid"
    t_log "unbound (pid $pid) stopped"
}

# t_restart_unbound [DIR] -- stop (if running) and start again with the same
# config and port; wait for readiness.  Counters start again at 0.
t_restart_unbound() {
    local dir=${1:-$T_UNBOUND_DIR}
    [[ -n $dir && -f $dir/unbound.conf ]] || t_fail "t_restart_unbound: no unbound config in '${dir}'"
    [[ -f $dir/.tracked-pid ]] && t_stop_unbound "$dir"
    _t_unbound_run "$dir"
}

# t_unbound_stat NAME [DIR] -- print one counter of "unbound-control
# stats_noreset" (0 if unbound does not print it).
t_unbound_stat() {
    local want=${1:?t_unbound_stat NAME [DIR]} dir=${2:-$T_UNBOUND_DIR} out
    out=$(unbound-control -c "$dir/unbound.conf" stats_noreset 2>&1) ||
        t_fail "unbound-control stats_noreset failed: $out"
    awk -F= -v k="$want" '$1 == k { v = $2 } END { print (v == "" ? 0 : v) }' <<<"$out"
}

# t_unbound_queries [DIR] -- total queries received (total.num.queries).
# Counts every query, including t_wait_dns probes sent through the proxy;
# compare before/after values.  Reset to 0 when unbound (re)starts.
t_unbound_queries() { t_unbound_stat total.num.queries "${1:-}"; }

# t_unbound_tls_queries [DIR] -- queries received over TLS (num.query.tls).
# With this config (TLS only) it equals t_unbound_queries.
t_unbound_tls_queries() { t_unbound_stat num.query.tls "${1:-}"; }

# t_unbound_tcp_conns [DIR] -- TCP/TLS client connections unbound holds
# open right now (total.tcpusage): e.g. 1 while the proxy keeps one
# persistent upstream connection, 0 once it has closed it.  Other counters
# (t_unbound_stat): num.query.tls.resume = queries on resumed TLS sessions,
# num.query.tcp = queries over TCP (TLS included).
t_unbound_tcp_conns() { t_unbound_stat total.tcpusage "${1:-}"; }

# t_unbound_port [DIR] -- print the port of the unbound of DIR.
t_unbound_port() { cat "${1:-$T_UNBOUND_DIR}/.port"; }

# ---------------------------------------------------------------------------
# DNS clients
# ---------------------------------------------------------------------------

# t_dig ARGS... -- dig with +tries=1 +time=3 (later args override), output on
# stdout, dig's exit code returned (9 = no reply).
t_dig() { dig +tries=1 +time=3 "$@"; }

# t_kdig_tls SERVER PORT CAFILE AUTHNAME ARGS... -- query over DNS-over-TLS
# with kdig, verifying the server's certificate against CAFILE and AUTHNAME.
t_kdig_tls() {
    local server=$1 port=$2 ca=$3 name=$4
    shift 4
    kdig @"$server" -p "$port" +tls-ca="$ca" +tls-hostname="$name" \
        +retry=0 +time=3 "$@"
}

# t_wait_dns SERVER PORT [PROTO] [TIMEOUT] -- poll every 0.1 s until
# "dig @SERVER -p PORT a.test" (+tcp if PROTO=tcp) gets any reply (any
# rcode); after TIMEOUT (default T_WAIT_TIMEOUT or 10) seconds print a message
# and return 1.  Each probe is a real query (it reaches the upstream).
t_wait_dns() {
    local server=${1:?t_wait_dns SERVER PORT [udp|tcp] [TIMEOUT]} port=${2:?t_wait_dns SERVER PORT}
    local proto=${3:-udp} timeout=${4:-${T_WAIT_TIMEOUT:-10}}
    local -a opt=()
    case $proto in
    udp) ;;
    tcp) opt=(+tcp) ;;
    *) t_fail "t_wait_dns: PROTO must be udp or tcp, not '$proto'" ;;
    esac
    t_wait_until "$timeout" "a DNS reply from $server port $port/$proto" \
        dig @"$server" -p "$port" +tries=1 +time=1 "${opt[@]}" a.test
}

# t_make_queryfile FILE COUNT [TYPE] -- dnsperf query file with COUNT unique
# names under load.test (all answered by unbound with A 192.0.2.100).
t_make_queryfile() {
    local file=${1:?t_make_queryfile FILE COUNT} n=${2:?t_make_queryfile FILE COUNT} type=${3:-A}
    awk -v n="$n" -v t="$type" -v s="$$" \
        'BEGIN { for (i = 0; i < n; i++) printf "q%d-%d.load.test %s\n", i, s, t }' >"$file"
}

# A zone-transfer primary (named) for the transfer scenarios.
# shellcheck source-path=SCRIPTDIR source=lib-named.sh
. "${BASH_SOURCE[0]%/*}/lib-named.sh"
