#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Security and privacy features, each shown to work and to refuse:
# SPKI pinning (right pin accepted, wrong pin refused as an authentication
# failure), the clock floor (at 1970, chains issued before or after the
# build validate, expired, misnamed, untrusted or mispinned ones do not;
# --time-file), query
# padding and edns-tcp-keepalive as the upstream sees them, honouring the
# server's keepalive, TLS session resumption, the client ACL, dropping root,
# and the hardened build.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy.sh"
t_init security
p_setup
pin_of() { # CERT -> sha256/BASE64 of its SubjectPublicKeyInfo, as in the README
    openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform der |
        openssl dgst -sha256 -binary | base64
}
GOOD_PIN=sha256/$(pin_of "$T/server.pem")
BAD_PIN=sha256/$(pin_of "$T/other-server.pem")
proxy() { # NAME ARGS...
    local name=$1
    shift
    P_PORT=$(t_free_port)
    p_start "$name" -p "$P_PORT" --ca-file "$T/ca.pem" "$@"
}

# --- Pinning (RFC 7858 §4.2).
proxy pin-good -n "$NS" --pin "dot.test=$GOOD_PIN"
t_assert_eq "$(p_dig a.test +short)" 192.0.2.1 "right pin: answered"
t_kill "$P_PID"
proxy pin-rotation -n "$NS" --pin "dot.test=$BAD_PIN" --pin "dot.test=$GOOD_PIN"
t_assert_eq "$(p_dig a.test +short)" 192.0.2.1 "one of two pins matches (key rotation): answered"
t_kill "$P_PID"
before=$(t_unbound_queries)
proxy pin-bad -n "$NS" --pin "dot.test=$BAD_PIN"
t_assert_eq "$(p_status "$(p_dig a.test)")" SERVFAIL "wrong pin: SERVFAIL"
t_assert_eq "$(t_unbound_queries)" "$before" "wrong pin: no query reached the upstream"
t_assert_match "$(grep 'AUTHENTICATION FAILED' "$P_LOG" | head -n 1)" 'public key matches no pin' \
    "wrong pin: logged as an authentication failure"
t_kill "$P_PID"

# --- Boot-time clock. A router without a clock boots at 1970 with firmware
# built months before, and its resolvers' certificates have been renewed
# since. Below the clock floor (the build time, or the last trusted time in
# --time-file) a chain is checked at the latest of the floor and its newest
# notBefore; name, chain and pin are checked as ever. The certificates are
# made around the floor, so this holds on any day.
# libfaketime is preloaded directly: the faketime command forks, and the
# process it tracks would not be the proxy.
FAKELIB=$(find /usr/lib -name libfaketime.so.1 -print -quit 2>/dev/null || true)
static_bin=0
readelf -l "$PROXY" | grep -q INTERP || static_bin=1
if ((static_bin)); then
    t_log "a static binary: libfaketime cannot hook it, the clock checks are skipped"
elif [[ -n $FAKELIB ]]; then
    export FAKETIME_DONT_FAKE_MONOTONIC=1 ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
    F=$T_CLOCK_FLOOR day=86400
    fmt() { date -u -d "@$1" +%FT%TZ; }
    # proxy_at WHEN NAME ARGS... -- the proxy with its clock at WHEN.
    proxy_at() {
        local when=$1 name=$2
        shift 2
        P_PORT=$(t_free_port)
        t_spawn "$name" env LD_PRELOAD="$FAKELIB" FAKETIME="@$when" "$PROXY" -d -p "$P_PORT" "$@"
        P_PID=$T_PID P_LOG=$T/$name.log
        t_wait_listen "$P_PORT" udp
    }
    auth_failure() { grep -m 1 'AUTHENTICATION FAILED' "$P_LOG" || true; }
    # A leaf issued 90 days after the build; a chain whose intermediate was
    # issued 10 days after it. Each served by an unbound of its own.
    t_issue "$T" late-server ca leaf $((F + 90 * day)) $((F + 180 * day))
    # Not yet valid at the real clock, whatever the floor's age: from 90 days
    # after the later of the floor and now.
    hi=$(date +%s)
    ((hi > F)) || hi=$F
    t_issue "$T" future-server ca leaf $((hi + 90 * day)) $((hi + 180 * day))
    t_issue "$T" late-ca ca ca $((F + 10 * day)) $((F + 400 * day))
    t_issue "$T" chained-server late-ca leaf $((F + 20 * day)) $((F + 120 * day))
    cat "$T/chained-server.pem" "$T/late-ca.pem" >"$T/chained-chain.pem"
    declare -A UP=()
    for spec in "late late-server.pem late-server.key" "future future-server.pem future-server.key" \
        "chained chained-chain.pem chained-server.key" \
        "expired expired-server.pem expired-server.key" "rogue other-server.pem other-server.key"; do
        read -r up cert key <<<"$spec"
        UP[$up]=$(t_free_port)
        t_start_unbound "$T/u-$up" "${UP[$up]}" "$T/$cert" "$T/$key"
    done
    T_UNBOUND_DIR=$T # the counters read below are the first unbound's
    ns() { echo "127.0.0.1:${UP[$1]}:dot.test"; }
    CA=(--ca-file "$T/ca.pem")
    t1970='1970-01-02 00:00:00'

    proxy_at "$t1970" clock-1970 -n "$NS" "${CA[@]}"
    t_assert_eq "$(p_dig a.test +short)" 192.0.2.1 "clock at 1970: a leaf issued before the build validates"
    t_assert_match "$(grep 'below the clock floor' "$P_LOG")" \
        "certificates of name=dot.test checked at $(fmt "$F"), the build time" \
        "clock at 1970: one warning line names the time used (the build time)"
    t_kill "$P_PID"
    proxy_at "$t1970" clock-1970-late -n "$(ns late)" "${CA[@]}"
    t_assert_eq "$(p_dig a.test +short)" 192.0.2.1 "clock at 1970: a leaf issued 90 days after the build validates"
    t_assert_match "$(grep 'below the clock floor' "$P_LOG")" \
        "checked at $(fmt $((F + 90 * day))), the newest notBefore in the chain" \
        "clock at 1970: the warning names the leaf's notBefore"
    t_kill "$P_PID"
    proxy_at "$t1970" clock-1970-chain -n "$(ns chained)" "${CA[@]}"
    t_assert_eq "$(p_dig a.test +short)" 192.0.2.1 "clock at 1970: a chain whose intermediate was issued after the build validates"
    t_assert_match "$(grep 'below the clock floor' "$P_LOG")" "checked at $(fmt $((F + 20 * day)))" \
        "clock at 1970: checked at the newest notBefore of leaf and intermediate"
    t_kill "$P_PID"
    proxy_at "$t1970" clock-1970-expired -n "$(ns expired)" "${CA[@]}"
    t_assert_eq "$(p_status "$(p_dig a.test)")" SERVFAIL "clock at 1970: a leaf that expired before the build is refused"
    t_assert_match "$(auth_failure)" "certificate expired at $(fmt $((F - 30 * day))), checked at $(fmt "$F") \\(the build time: the system clock is below the clock floor\\)" \
        "clock at 1970: the expired leaf's line gives its end and the time used"
    t_kill "$P_PID"
    proxy_at "$t1970" clock-1970-name -n "127.0.0.1:$U_PORT:wrong.test" "${CA[@]}"
    t_assert_eq "$(p_status "$(p_dig a.test)")" SERVFAIL "clock at 1970: a wrong name is refused"
    t_assert_match "$(auth_failure)" 'does not match the name' "clock at 1970: refused for the name"
    t_kill "$P_PID"
    proxy_at "$t1970" clock-1970-rogue -n "$(ns rogue)" "${CA[@]}"
    t_assert_eq "$(p_status "$(p_dig a.test)")" SERVFAIL "clock at 1970: an untrusted root is refused"
    t_assert_match "$(auth_failure)" "chain not trusted: the last certificate sent was issued by 'CN=dns-tls-proxy test other-ca'.*--ca-file .*/etc/ssl/certs/ca-certificates.crt" \
        "untrusted root: the line names the issuer and what to do"
    t_kill "$P_PID"
    proxy_at "$t1970" clock-1970-pin -n "$NS" "${CA[@]}" --pin "dot.test=$BAD_PIN"
    t_assert_eq "$(p_status "$(p_dig a.test)")" SERVFAIL "clock at 1970: a wrong pin is refused"
    t_assert_match "$(auth_failure)" 'public key matches no pin' "clock at 1970: refused for the pin"
    t_kill "$P_PID"

    # Far in the future the certificates are expired: the clock is used.
    proxy_at '2100-01-01 00:00:00' clock-2100 -n "$NS" "${CA[@]}"
    t_assert_eq "$(p_status "$(p_dig a.test)")" SERVFAIL "clock at 2100: the expired leaf is refused"
    server_end=$(date -u -d "$(openssl x509 -in "$T/server.pem" -noout -enddate | cut -d= -f2)" +%s)
    t_assert_match "$(auth_failure)" "certificate expired at $(fmt "$server_end"), checked at 2100-01-01T00:00:00Z \\(the system clock\\)" \
        "clock at 2100: the line gives the leaf's end and the clock"
    t_kill "$P_PID"
    # The real clock, past the floor: a leaf not yet valid is not taken on trust.
    proxy not-yet-valid -n "$(ns future)"
    t_assert_eq "$(p_status "$(p_dig a.test)")" SERVFAIL "clock set: a leaf not yet valid is refused"
    t_assert_match "$(auth_failure)" "certificate not valid before $(fmt $((hi + 90 * day))), checked at .* \\(the system clock: is it right\\?\\)" \
        "clock set: the line asks whether the clock is right"
    t_kill "$P_PID"

    # --time-file: the last trusted time is a further floor...
    echo $((F + 200 * day)) >"$T/later.time"
    proxy_at "$t1970" time-file-floor -n "$(ns late)" "${CA[@]}" --time-file "$T/later.time"
    t_assert_match "$(cat "$P_LOG")" "clock floor $(fmt $((F + 200 * day))) \(the last trusted time, from --time-file\)" \
        "--time-file: its time is the floor, logged at start-up"
    t_assert_eq "$(p_status "$(p_dig a.test)")" SERVFAIL "--time-file at 1970: a leaf that expired before the saved time is refused"
    t_assert_match "$(auth_failure)" "checked at $(fmt $((F + 200 * day))) \\(the last trusted time" \
        "--time-file at 1970: the line names the saved time"
    t_kill "$P_PID"
    # ... never written from a clock below the floor ...
    : >"$T/1970.time"
    proxy_at "$t1970" time-file-1970 -n "$NS" "${CA[@]}" --time-file "$T/1970.time"
    t_assert_eq "$(p_dig a.test +short)" 192.0.2.1 "--time-file at 1970: answered"
    t_kill "$P_PID"
    t_assert_eq "$(wc -c <"$T/1970.time")" 0 "--time-file at 1970: nothing written, not even at stop"
    # ... and written once a chain has verified against the clock, and at stop.
    echo garbage >"$T/real.time"
    start=$(date +%s)
    proxy time-file -n "$NS" --time-file "$T/real.time"
    t_assert_match "$(grep -- '--time-file' "$P_LOG")" 'holds no time; ignored' "--time-file: a corrupt file is ignored with a warning"
    t_assert_eq "$(p_dig a.test +short)" 192.0.2.1 "--time-file: answered"
    t_wait_until 5 "the time file written" grep -qx '[0-9]*' "$T/real.time" ||
        t_fail "--time-file: not written after a verified handshake"
    saved=$(<"$T/real.time")
    t_assert_le "$start" "$saved" "--time-file: holds the time of the verified handshake"
    t_assert_le "$saved" "$(date +%s)" "--time-file: not a time ahead of the clock"
    t_kill "$P_PID"
    t_assert_le "$saved" "$(<"$T/real.time")" "--time-file: written again at stop, never backwards"
    unset FAKETIME_DONT_FAKE_MONOTONIC
else
    t_fail "libfaketime is not installed (apt-get install faketime)"
fi

# --- Padding and keepalive as the upstream sees them, and the server's
# keepalive honoured (0.5 s here, against an 8 s default idle timeout).
p_fake ok 0 --keepalive 5
# No cache: every query, UDP and TCP, must reach the upstream to be seen.
proxy padding -n "127.0.0.1:$F_PORT:dot.test" --cache-size 0
for name in a.test a-much-longer-name.example.test x.y.z.w.v.u.t.s.r.q.p.o.n.m.test; do
    p_dig "$name" >/dev/null
    p_dig "$name" +tcp >/dev/null
done
kdig @127.0.0.1 -p "$P_PORT" +retry=0 +padding=400 a.test >/dev/null # client's own padding replaced
# A 450-byte query (a big EDNS option) takes a large buffer, and is padded too.
t_assert_eq "$(p_dig big-option.test +short +ednsopt=65001:"$(printf 'ab%.0s' $(seq 1 400))")" \
    192.0.2.53 "a 450-byte query is forwarded"
lens=$(sed -n 's/^query .* len=\([0-9]*\) opts=.*/\1/p' "$F_LOG")
t_assert_eq "$(wc -l <<<"$lens")" 8 "the upstream saw all 8 queries"
t_assert_eq "$(awk '$1 % 128 != 0' <<<"$lens" | wc -l)" 0 "every query padded to a multiple of 128 bytes (lengths: $(echo $lens))"
t_assert_eq "$(grep -c 'opts=.*11' "$F_LOG")" 8 "every query carries edns-tcp-keepalive"
t_assert_eq "$(grep -c 'opts=.*12' "$F_LOG")" 8 "every query carries a Padding option"
t_assert_match "$(grep -E 'opts=([0-9]+,)*65001' "$F_LOG")" 'len=512 ' "the 450-byte query went out padded to 512 bytes"
p_dig a.test +noedns >/dev/null
t_assert_match "$(tail -n 1 "$F_LOG")" 'len=24 opts=-' "a query without EDNS goes unchanged"
start=$(t_now_us)
t_wait_until 3 "the idle connection closed after the server's 0.5 s keepalive" \
    bash -c "(( \$(grep -c '^closed' '$F_LOG') >= \$(grep -c '^conn ' '$F_LOG') ))" ||
    t_fail "the connection was not closed within 3 s: the server's keepalive was ignored"
t_pass "idle connection closed $(t_elapsed_ms "$start") ms after the last query (server keepalive 0.5 s; default 8 s)"
t_kill "$P_PID"

# --- Resumption: a forced reconnect (idle timeout) resumes the TLS session,
# and an idle proxy does not reconnect on its own.
proxy resume -n "$NS" --idle-timeout 0.3
before=$(t_unbound_stat num.query.tls.resume)
t_assert_eq "$(p_dig a.test +short)" 192.0.2.1 "first connection: answered"
idle_closed() { ! ss -Htnp state established "( dport = :$U_PORT )" | grep -q "pid=$P_PID,"; }
t_wait_until 5 "idle close" idle_closed || t_fail "the idle connection was not closed"
t_assert_eq "$(p_dig two.test +short)" 192.0.2.2 "after the reconnect: answered (a name not in the cache)"
t_assert_eq "$(p_stat nameserver resumed)" 1 "the second handshake resumed the session"
t_assert_le 1 "$(( $(t_unbound_stat num.query.tls.resume) - before ))" "unbound saw a query on a resumed session"
t_wait_until 5 "idle close" idle_closed || t_fail "the idle connection was not closed"
sleep 1 # a proxy that reconnects by itself would do so within this second
t_assert_eq "$(p_stat nameserver handshakes)" 2 "no connection opened while idle"
t_kill "$P_PID"

# --- Access control: only --allow'd clients are answered.
proxy acl -n "$NS" --allow 127.0.0.2/32
t_assert_eq "$(p_status "$(p_dig a.test)")" REFUSED "client outside --allow: REFUSED over UDP"
t_assert_eq "$(p_dig a.test +short -b 127.0.0.2)" 192.0.2.1 "client inside --allow: answered"
# Over TCP a connection from outside --allow is closed at accept, before
# anything is read: it holds no slot an allowed client could use.
t_assert_match "$("$(dirname "$0")/abuse.py" refused "$P_PORT")" '^rcodes= closed 0\.' \
    "client outside --allow over TCP: closed at once, nothing answered"
t_assert_eq "$(p_stat errors acl_refused)" 2 "refused clients counted (a UDP query, a TCP connection)"
t_kill "$P_PID"
# Idle connections from outside --allow cannot lock allowed clients out of
# TCP: with 4 slots and 20 of them held open, an allowed client is answered.
proxy acl-fill -n "$NS" --allow 127.0.0.2/32 --max-tcp-clients 4
held=$(python3 - "$P_PORT" <<'PY'
import select, socket, struct, sys
port = int(sys.argv[1])
held = [socket.create_connection(("127.0.0.1", port), timeout=3) for _ in range(20)]
closed = sum(1 for s in held if select.select([s], [], [], 1.0)[0] and s.recv(1) == b"")
s = socket.create_connection(("127.0.0.1", port), timeout=3, source_address=("127.0.0.2", 0))
q = struct.pack(">HHHHHH", 9, 0x0100, 1, 0, 0, 0) + b"\x01a\x04test\x00\x00\x01\x00\x01"
s.sendall(struct.pack(">H", len(q)) + q)
try:
    answer = s.recv(512)
    rcode = "rcode=%d" % (answer[2 + 3] & 15) if len(answer) >= 14 else "closed"
except OSError:
    rcode = "noreply"
print("closed=%d allowed:%s" % (closed, rcode))
PY
)
t_assert_eq "$held" "closed=20 allowed:rcode=0" \
    "20 idle connections from outside --allow: each closed at once; an allowed client answered over TCP"
t_kill "$P_PID"

# --- Dropping root, with an empty chroot: nothing is needed from disk.
if (($(id -u) == 0)); then
    mkdir -p "$T/jail"
    # (LeakSanitizer cannot work without /proc: off for this one, if built in.)
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
        proxy drop -n "$NS" --user nobody --chroot "$T/jail"
    t_assert_eq "$(awk '/^Uid:/ { print $2 $3 $4 $5 }' "/proc/$P_PID/status")" 65534655346553465534 \
        "--user nobody: running as nobody"
    t_assert_eq "$(readlink "/proc/$P_PID/root")" "$T/jail" "--chroot: confined to the jail"
    t_assert_eq "$(p_dig a.test +short +tcp)" 192.0.2.1 "answers after dropping root in an empty chroot"
    t_kill "$P_PID"

    # A drop that cannot be done stops the proxy; it never runs on as root.
    for bad in "--user dtp-no-such-user" "--user nobody --chroot $T/no-such-dir"; do
        rc=0
        # shellcheck disable=SC2086 # the options are split on purpose
        out=$(timeout 10 "$PROXY" -p "$(t_free_port)" --ca-file "$T/ca.pem" -n "$NS" $bad 2>&1) || rc=$?
        t_assert_match "$rc" '^[1-9][0-9]*$' "$bad: exits non-zero (status $rc, not left running as root)"
        t_assert_match "$out" "--(user|chroot)" "$bad: the error names the option"
    done
fi

# --- The dynamic build is hardened (not the sanitizer build: ASan replaces
# it; not the static build: no PIE or RELRO without a dynamic linker).
syms=$(nm "$PROXY" 2>/dev/null || true)
if [[ $syms != *__asan_init* ]] && ((!static_bin)); then
    t_assert_match "$(readelf -h "$PROXY")" 'Type: +DYN' "PIE"
    t_assert_match "$(readelf -d "$PROXY")" 'BIND_NOW' "full RELRO (BIND_NOW)"
    t_assert_match "$(readelf -l "$PROXY")" 'GNU_RELRO' "RELRO segment"
    t_assert_match "$(nm -D "$PROXY")" '__stack_chk_fail' "stack protector"
    t_assert_match "$(nm -D "$PROXY")" '__memcpy_chk|__snprintf_chk' "_FORTIFY_SOURCE"
fi
