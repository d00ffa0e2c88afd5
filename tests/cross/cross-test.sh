#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A cross build under qemu-user (make cross-test ARCH=A): the unit tests and
# the fuzz corpus, then real queries through the cross-built proxy to a local
# unbound DoT server on loopback (UDP and TCP, a 4 KB answer reassembled from
# TLS records, NXDOMAIN). Big-endian MIPS is the one that catches byte-order
# mistakes in the wire code.
# Usage: cross-test.sh ARCH DIR QEMU   (DIR as make cross left it)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
arch=${1:?usage: cross-test.sh ARCH DIR QEMU}
dir=$(cd "${2:?usage: cross-test.sh ARCH DIR QEMU}" && pwd)
qemu=${3:?usage: cross-test.sh ARCH DIR QEMU}
command -v "$qemu" >/dev/null || { echo "cross-test.sh: needs $qemu (apt-get install qemu-user)" >&2; exit 2; }
for f in dns-tls-proxy run; do
    [[ -x $dir/$f ]] || { echo "cross-test.sh: $dir/$f is not built (make cross ARCH=$arch)" >&2; exit 2; }
done

# shellcheck source-path=SCRIPTDIR source=../integration/lib.sh
. "$here/../integration/lib.sh"
t_init "cross-$arch"
cd "$root"

size=$(stat -c %s "$dir/dns-tls-proxy")
elf=$(readelf -h "$dir/dns-tls-proxy" | sed -n 's/^ *\(Class\|Data\|Machine\): *//p' | paste -sd, -)
t_log "$arch: $elf; $size bytes stripped"
# Static glibc is most of that; what the proxy and BearSSL take is the part
# that carries over to a musl or uClibc router build.
own=""
if [[ -f $dir/dns-tls-proxy.full.map ]]; then
    own=$("$here/linkmap.py" "$dir/dns-tls-proxy.full.map" 0 |
        awk '$1 == "proxy" { p = $2 } $1 == "bearssl" { b = $2 }
             END { printf "proxy %d + BearSSL %d bytes", p, b }')
    t_log "$arch: $own (the rest is static glibc)"
fi

# Unit tests: the runner's last line is "N tests, M failed".
out=$("$qemu" "$dir/run" 2>&1) || { printf '%s\n' "$out" | grep -v '^ok ' >&2; t_fail "$arch: unit tests failed"; }
summary=$(tail -n 1 <<<"$out")
t_assert_match "$summary" '^[0-9]+ tests, 0 failed$' "$arch: unit tests under $qemu: $summary"

# The fuzz corpus, file by file: every target the cross build made.
for bin in "$dir"/fuzz-replay-*; do
    [[ $bin == *.* ]] && continue   # link maps
    target=${bin##*/fuzz-replay-}
    files=(tests/fuzz/corpus/"$target"/*)
    out=$("$qemu" "$dir/fuzz-replay-$target" "${files[@]}" 2>&1) || t_fail "$arch: fuzz replay $target: $out"
    t_assert_eq "$out" "replay: ${#files[@]} inputs, no failure" "$arch: fuzz corpus $target"
done

# End to end. Emulation makes a handshake slower: generous timeouts.
T_CLOCK_FLOOR=$(t_clock_floor "$qemu" "$dir/dns-tls-proxy")
t_make_pki "$T" dot.test
u_port=$(t_free_port)
p_port=$(t_free_port)
t_start_unbound "$T" "$u_port"
t_spawn proxy "$qemu" "$dir/dns-tls-proxy" -v -p "$p_port" -n "127.0.0.1:$u_port:dot.test" \
    --ca-file "$T/ca.pem" --connect-timeout 10 --timeout 10
t_wait_listen "$p_port" udp 30 || t_fail "$arch: proxy did not bind udp port $p_port"
t_wait_dns 127.0.0.1 "$p_port" udp 30 || t_fail "$arch: proxy not answering"

dig_short() { t_dig @127.0.0.1 -p "$p_port" +time=10 +short "$@"; }
a=$(dig_short a.test A)
t_assert_eq "$a" 192.0.2.1 "$arch: a.test A over UDP"
aaaa=$(dig_short +tcp a.test AAAA)
t_assert_eq "$aaaa" 2001:db8::1 "$arch: a.test AAAA over TCP"
big=$(t_dig @127.0.0.1 -p "$p_port" +time=10 +tcp big.test TXT)
t_assert_match "$big" "status: NOERROR" "$arch: big.test over TCP: NOERROR"
strings=$(dig_short +tcp big.test TXT | grep -o '"[a-z]*"' |
    awk '{ n++; l += length($0) - 2 } END { print n " strings, " l " bytes" }')
t_assert_eq "$strings" "$T_BIG_TXT_STRINGS strings, $((T_BIG_TXT_STRINGS * T_BIG_TXT_LEN)) bytes" \
    "$arch: big.test TXT whole ($T_BIG_TXT_STRINGS strings of $T_BIG_TXT_LEN)"
nx=$(t_dig @127.0.0.1 -p "$p_port" +time=10 nx.test A)
t_assert_match "$nx" "status: NXDOMAIN" "$arch: nx.test NXDOMAIN"
tls=$(t_unbound_tls_queries "$T")
t_assert_match "$tls" '^[1-9][0-9]*$' "$arch: the queries reached unbound over TLS ($tls)"
suite=$(grep -o 'suite[= ][^ ]*' "$T/proxy.log" | head -n 1 || true)

echo "cross-test $arch: $summary; end to end a.test A $a, AAAA $aaaa, big.test TXT $strings, nx.test NXDOMAIN${suite:+, $suite}; dns-tls-proxy $size bytes${own:+ ($own)}"
