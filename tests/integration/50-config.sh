#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Configuration: --check prints the effective settings; precedence is command
# line > environment > file > defaults; a bad setting is one line naming the
# option (and the file and line), and the process exits non-zero before it
# binds anything. The original tool's flags and environment keep working.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy.sh"
t_init config
run() { env -i PATH="$PATH" "$@" 2>&1; }

out=$(run "$PROXY" --check)
t_assert_match "$out" 'nameserver 1\.1\.1\.1:853:cloudflare-dns\.com' "defaults: public DoT resolvers"
t_assert_match "$out" 'listen 127\.0\.0\.1' "defaults: listen on 127.0.0.1"
t_assert_match "$out" 'port 15353' "defaults: port 15353"
t_assert_match "$out" $'(^|\n)udp yes' "defaults: the UDP listener"
t_assert_match "$out" $'(^|\n)tcp yes' "defaults: the TCP listener"
t_assert_match "$out" 'trust anchors: [1-9][0-9]* from the compiled-in bundle' "defaults: compiled-in CA bundle"

cat >"$T/x.conf" <<'CONF'
# a comment
nameserver 10.0.0.1:853:file.example   # trailing comment
port 5300
pool-size 3
tcp
CONF
out=$(run "$PROXY" -c "$T/x.conf" --check)
t_assert_match "$out" 'nameserver 10\.0\.0\.1:853:file\.example' "file: nameserver"
t_assert_match "$out" 'port 5300.*udp no.*tcp yes.*pool-size 3' "file: port, tcp only, pool size"
out=$(run PORT=5301 NAMESERVERS='9.9.9.9:853:dns.quad9.net, [2620:fe::fe]:853:dns.quad9.net' \
    "$PROXY" -c "$T/x.conf" --check)
t_assert_match "$out" 'nameserver 9\.9\.9\.9:853:dns\.quad9\.net.nameserver \[2620:fe::fe\]:853:dns\.quad9\.net.listen' \
    "environment NAMESERVERS (comma separated, IPv6 in brackets) replaces the file's list"
t_assert_match "$out" 'port 5301' "environment PORT beats the file"
out=$(run PORT=5301 ENABLE_UDP=yes POOL_SIZE=4 "$PROXY" -c "$T/x.conf" -p 5302 -n 1.1.1.1:853:one.example -n 1.0.0.1:853:one.example --check)
t_assert_match "$out" 'nameserver 1\.1\.1\.1:853:one\.example.nameserver 1\.0\.0\.1:853:one\.example.listen' \
    "command line -n (repeated) replaces the environment's list"
t_assert_match "$out" 'port 5302.*udp yes.*tcp yes.*pool-size 4' "command line beats environment beats file"
out=$(run "$PROXY" --nameserver=8.8.8.8:853:dns.google -u --port 5303 --check)
t_assert_match "$out" 'nameserver 8\.8\.8\.8:853:dns\.google.*port 5303.*udp yes.*tcp no' "long options, --opt=value, -u alone"

# Errors: one line, naming the option; exit status non-zero.
check_error() { # WANT-REGEX MSG CMD...
    local want=$1 msg=$2 out rc=0
    shift 2
    out=$(run "$@") || rc=$?
    t_assert_le 1 "$rc" "$msg: non-zero exit"
    t_assert_eq "$(wc -l <<<"$out")" 1 "$msg: one line"
    t_assert_match "$out" "$want" "$msg: names the option"
}
check_error '^dns-tls-proxy: --port: .99999. is not' "bad port" "$PROXY" -p 99999
check_error '^dns-tls-proxy: --nameserver: .1\.2\.3\.4:853.: expected IP:PORT:NAME' "nameserver without NAME" "$PROXY" -n 1.2.3.4:853
check_error '^dns-tls-proxy: PORT \(environment\): ' "bad environment value" env PORT=abc "$PROXY"
check_error '^dns-tls-proxy: ENABLE_TCP \(environment\): ' "bad boolean" env ENABLE_TCP=maybe "$PROXY"
printf 'port 53\nbogus 1\n' >"$T/bad.conf"
check_error "^dns-tls-proxy: $T/bad.conf:2: bogus: unknown option" "unknown option in file" "$PROXY" -c "$T/bad.conf"
printf 'port 53\ntimeout forever\n' >"$T/bad2.conf"
check_error "^dns-tls-proxy: $T/bad2.conf:2: timeout: " "bad value in file" "$PROXY" -c "$T/bad2.conf"
check_error '^dns-tls-proxy: --config: cannot open' "missing config file" "$PROXY" -c "$T/nope.conf"
check_error '^dns-tls-proxy: --ca-file: ' "missing CA file" "$PROXY" --ca-file "$T/nope.pem"
check_error "^dns-tls-proxy: unknown option '--frobnicate'" "unknown option" "$PROXY" --frobnicate
check_error '^dns-tls-proxy: --strategy: .fast. is not fastest, order or round-robin$' "bad strategy" \
    "$PROXY" --strategy fast
if t_has_feature metrics; then
    check_error '^dns-tls-proxy: METRICS \(environment\): .localhost:9153.: .localhost. is not an IPv4' \
        "bad metrics address" env METRICS=localhost:9153 "$PROXY"
    out=$(run STRATEGY=order RETRY_SERVFAIL=1 "$PROXY" --metrics '[::1]:9153' --log-queries --retry-servfail=no --check)
    t_assert_match "$out" 'metrics \[::1\]:9153.log-queries yes.strategy order.retry-servfail no' \
        "metrics, query log, strategy and retry-servfail from the environment and the command line"
else
    check_error '^dns-tls-proxy: --metrics: this build has no metrics endpoint \(built with DTP_NO_METRICS' \
        "--metrics in a build without the endpoint" "$PROXY" --metrics 127.0.0.1:9153
    t_log "skip: --metrics parsing (the proxy under test is built without metrics)"
fi
if ! t_has_feature cache; then
    check_error '^dns-tls-proxy: --cache-size: this build has no answer cache \(built with DTP_NO_CACHE' \
        "--cache-size in a build without the cache" "$PROXY" --cache-size 256
    check_error '^dns-tls-proxy: --stale-max: this build has no answer cache' \
        "STALE_MAX in a build without the cache" env STALE_MAX=60 "$PROXY"
    t_assert_match "$(run "$PROXY" --cache-size 0 --check)" 'cache-size 0' "--cache-size 0 in a build without the cache"
fi
if ! t_has_feature qlog; then
    check_error '^dns-tls-proxy: --log-queries: this build has no query log \(built with DTP_NO_QLOG' \
        "--log-queries in a build without the query log" "$PROXY" --log-queries
fi
if ! t_has_feature select; then
    check_error '^dns-tls-proxy: --strategy: this build has no resolver choice; it takes the first usable nameserver in the order given' \
        "--strategy fastest in a build without the choice" "$PROXY" --strategy fastest
    t_assert_match "$(run "$PROXY" --check)" 'strategy order' "the default strategy of a build without the choice"
fi
if ! t_has_feature xfr; then
    check_error '^dns-tls-proxy: --allow-transfer: this build has no zone-transfer relay \(built with DTP_NO_XFR' \
        "--allow-transfer in a build without the relay" "$PROXY" --allow-transfer 127.0.0.1/32
fi

# A bad configuration exits before binding: the port stays free.
P_PORT=$(t_free_port)
run "$PROXY" -p "$P_PORT" --timeout never >/dev/null || true
if ss -Hlun "sport = :$P_PORT" | grep -q .; then t_fail "port bound by a failed start"; fi
t_pass "a bad configuration binds nothing"
# A port already in use is a clear one-line error too.
python3 -c 'import socket,sys,time; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("127.0.0.1",int(sys.argv[1]))); time.sleep(30)' "$P_PORT" &
t_track $!
t_wait_listen "$P_PORT" udp
check_error "^dns-tls-proxy: --listen 127\.0\.0\.1 --port $P_PORT \(udp\): Address (already )?in use" "port in use" "$PROXY" -p "$P_PORT"

check_error '^dns-tls-proxy: --max-tcp-clients [0-9]+ .* needs [0-9]+ file descriptors; the limit is 32' \
    "descriptor limit too low" bash -c "ulimit -n 32; exec '$PROXY'"
t_assert_match "$(run "$PROXY" --help)" 'NAMESERVERS' "--help lists the environment variables"
t_assert_match "$(run "$PROXY" -V)" '^dns-tls-proxy [0-9]+\.[0-9]+\.[0-9]+'$'\n''clock floor: [0-9]+ \([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z, the build time\)'$'\n''features:( [-+][a-z]+)+$' \
    "--version: the version, the clock floor and the build's features"
