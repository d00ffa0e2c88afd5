#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Listening on the wildcard addresses (0.0.0.0 and ::, the container
# default), a UDP query is answered from the address it was sent to: a host
# has several (a router's LAN bridge: ULA, global, link-local), and a client
# drops a reply from another (dig: "communications error ... timed out").
# Queries to 127.0.0.2, and to a second IPv6 address on lo from a third, in
# a network namespace of our own. Needs root; exits 77 (skipped) where
# namespaces are not allowed.
set -euo pipefail
if [[ -z ${DTP_NETNS:-} ]]; then
    ns=dtp13w$$
    if ! ip netns add "$ns" 2>/dev/null; then
        echo "SKIP: cannot create a network namespace here (needs root)" >&2
        exit 77
    fi
    trap 'ip netns del "$ns" 2>/dev/null' EXIT
    rc=0
    ip netns exec "$ns" env DTP_NETNS="$ns" bash "$0" "$@" || rc=$?
    exit "$rc"
fi
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy.sh"
t_init wildcard
ip link set lo up
ip -6 addr add fd00:53::2/128 dev lo nodad
ip -6 addr add fd00:53::3/128 dev lo nodad
p_setup
p_start wild -p "$P_PORT" -n "$NS" --ca-file "$T/ca.pem" -a 0.0.0.0 -a ::
t_wait_dns 127.0.0.1 "$P_PORT" || t_fail "proxy not answering"

# Each query from an unconnected socket, so that a reply from any address
# is seen: the reply's source must be the query's destination.
from_where() { # SOURCE DESTINATION -> "ADDR rcode=N", or "noreply"
    python3 - "$1" "$2" "$P_PORT" <<'PY'
import socket, struct, sys
src, dst, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.bind((src, 0))
s.settimeout(3)
s.sendto(struct.pack(">HHHHHH", 0x1313, 0x0100, 1, 0, 0, 0) + b"\x01a\x04test\x00\x00\x01\x00\x01", (dst, port))
try:
    msg, peer = s.recvfrom(512)
    print(peer[0], "rcode=%d" % (msg[3] & 15))
except socket.timeout:
    print("noreply")
PY
}
t_assert_eq "$(from_where 127.0.0.1 127.0.0.2)" "127.0.0.2 rcode=0" "IPv4: a query to 127.0.0.2 is answered from 127.0.0.2"
t_assert_eq "$(from_where 127.0.0.1 127.0.0.1)" "127.0.0.1 rcode=0" "IPv4: a query to 127.0.0.1 is answered from 127.0.0.1"
t_assert_eq "$(from_where fd00:53::3 fd00:53::2)" "fd00:53::2 rcode=0" "IPv6: a query to fd00:53::2 is answered from fd00:53::2"
t_assert_eq "$(from_where ::1 fd00:53::3)" "fd00:53::3 rcode=0" "IPv6: a query to fd00:53::3 from ::1 is answered from fd00:53::3"

# Real clients, which drop a reply from another address.
t_assert_eq "$(t_dig @127.0.0.2 -p "$P_PORT" a.test +short)" 192.0.2.1 "dig @127.0.0.2: answered"
t_assert_eq "$(t_dig @fd00:53::2 -b fd00:53::3 -p "$P_PORT" a.test AAAA +short)" 2001:db8::1 \
    "dig @fd00:53::2 from fd00:53::3: answered"
t_assert_eq "$(kdig @fd00:53::3 -b ::1 -p "$P_PORT" +short +retry=0 +time=3 a.test)" 192.0.2.1 \
    "kdig @fd00:53::3 from ::1: answered"
# Errors the proxy makes itself leave from the right address too.
t_assert_eq "$(p_status "$(t_dig @127.0.0.2 -p "$P_PORT" nx.test)")" NXDOMAIN "NXDOMAIN to 127.0.0.2"
t_assert_match "$(t_dig @127.0.0.2 -p "$P_PORT" a.test +opcode=status)" 'status: NOTIMP' \
    "NOTIMP (made by the proxy) from 127.0.0.2"
# And over TCP, where the connection settles it.
t_assert_eq "$(t_dig @fd00:53::2 -p "$P_PORT" a.test +short +tcp)" 192.0.2.1 "TCP to fd00:53::2: answered"
