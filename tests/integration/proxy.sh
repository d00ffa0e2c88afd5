# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Helpers shared by the scenarios: start the proxy under test against the
# test upstream, read its stats. Sourced after lib.sh.

# p_start NAME ARGS... -- start $PROXY with ARGS (logging at debug level to
# $T/NAME.log), wait until both its listeners are bound, set P_PID.
p_start() {
    local name=${1:?p_start NAME ARGS...}
    shift
    t_spawn "$name" "$PROXY" -d "$@"
    P_PID=$T_PID
    P_LOG=$T/$name.log
    t_wait_listen "$P_PORT" udp || t_fail "proxy $name did not bind udp port $P_PORT"
}

# p_setup [PKI-NAME] -- PKI for dot.test, unbound on a free port (U_PORT), a
# free port for the proxy (P_PORT), and NS, the -n argument for unbound.
p_setup() {
    t_make_pki "$T" dot.test
    U_PORT=$(t_free_port)
    P_PORT=$(t_free_port)
    t_start_unbound "$T" "$U_PORT"
    NS=127.0.0.1:$U_PORT:dot.test
}

# p_stat LABEL FIELD -- dump the proxy's stats (SIGUSR1) and print FIELD of the
# last "--- Stats of LABEL" line, e.g. p_stat nameserver handshakes.
p_stat() {
    local label=$1 field=$2 before
    before=$(grep -c -- "--- Stats of $label" "$P_LOG" || true)
    kill -USR1 "$P_PID"
    t_wait_until 5 "stats dump" _p_more_lines "$label" "$before" ||
        t_fail "no stats line for '$label' after SIGUSR1"
    grep -- "--- Stats of $label" "$P_LOG" | tail -n 1 |
        sed -n "s/.* $field \([0-9.]*\).*/\1/p"
}
_p_more_lines() { (($(grep -c -- "--- Stats of $1" "$P_LOG" || true) > $2)); }

# p_dig ARGS... -- dig the proxy (UDP unless +tcp among ARGS).
p_dig() { t_dig @127.0.0.1 -p "$P_PORT" "$@"; }

# p_status OUTPUT -- the status: field of a dig output.
p_status() { sed -n 's/.*status: \([A-Z]*\),.*/\1/p' <<<"$1" | head -n 1; }

# p_fake MODE N [FAKEDOT-OPTIONS...] -- start the misbehaving DoT server
# (fakedot.py, MODE and N as in its docstring) with the PKI of p_setup or
# t_make_pki in $T, on a fresh port; wait until it listens. Sets F_PORT and
# F_LOG (its log: "conn N", "query N ...").
p_fake() {
    local mode=${1:?p_fake MODE N} n=${2:?p_fake MODE N}
    shift 2
    F_PORT=$(t_free_port)
    F_LOG=$T/fake-$mode.log
    t_spawn "fake-$mode" python3 "$(dirname "${BASH_SOURCE[0]}")/fakedot.py" --port "$F_PORT" \
        --cert "$T/server.pem" --key "$T/server.key" --mode "$mode" --n "$n" --log "$F_LOG" "$@"
    t_wait_listen "$F_PORT" tcp 30 || t_fail "fakedot ($mode) did not start"
}
