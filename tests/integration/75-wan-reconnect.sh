#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A WAN reconnect under the proxy: the proxy runs in its own network
# namespace, its upstream beyond a veth link. With the link taken down, the
# pooled connection goes silent (no reset, no error): the proxy notices by its
# deadlines, no query waits past its deadline, and when the link comes back
# it reconnects by itself and answers again, same process.
# Needs root and network namespaces; exits 77 (skipped) where they are not
# allowed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy.sh"
t_init wan-reconnect
NS=dtp$$
HOSTIF=dtpw$$a
NSIF=dtpw$$b
NET=10.213.$(($$ % 250))
if ! ip netns add "$NS" 2>/dev/null; then
    echo "SKIP: cannot create a network namespace here (needs root)" >&2
    exit 77
fi
t_on_exit "ip netns del $NS 2>/dev/null; ip link del $HOSTIF 2>/dev/null"
ip link add "$HOSTIF" type veth peer name "$NSIF"
ip link set "$NSIF" netns "$NS"
ip addr add "$NET.1/30" dev "$HOSTIF"
ip link set "$HOSTIF" up
ip -n "$NS" addr add "$NET.2/30" dev "$NSIF"
ip -n "$NS" link set "$NSIF" up
ip -n "$NS" link set lo up
in_ns() { ip netns exec "$NS" "$@"; }

t_make_pki "$T" dot.test
U_PORT=$(t_free_port)
T_UNBOUND_ADDR=$NET.1 T_UNBOUND_EXTRA="access-control: $NET.0/30 allow" t_start_unbound "$T" "$U_PORT"
P_PORT=$(t_free_port)
t_spawn proxy ip netns exec "$NS" "$PROXY" -d -p "$P_PORT" -n "$NET.1:$U_PORT:dot.test" \
    --ca-file "$T/ca.pem" --timeout 2 --connect-timeout 1
P_PID=$T_PID
P_LOG=$T/proxy.log
ns_dig() { in_ns dig +tries=1 +time=4 @127.0.0.1 -p "$P_PORT" "$@"; }
t_wait_until 10 "the proxy answering in the namespace" \
    bash -c "ip netns exec $NS dig +short +tries=1 +time=1 @127.0.0.1 -p $P_PORT a.test | grep -qx 192.0.2.1" ||
    t_fail "proxy in the namespace not answering"
t_pass "answers through the link"

# Take the link away: the pooled connection is now silently dead.
ip link set "$HOSTIF" down
for i in 1 2 3; do
    start=$(t_now_us)
    t_assert_eq "$(p_status "$(ns_dig "down$i.test")")" SERVFAIL "link down: SERVFAIL #$i"
    t_assert_le "$(t_elapsed_ms "$start")" 2600 "link down: SERVFAIL #$i within the 2 s deadline"
done
t_assert_match "$(cat "$P_LOG")" 'connection judged dead|connect timed out' "the dead connection was noticed by deadline"

# Bring it back: the proxy reconnects by itself.
ip link set "$HOSTIF" up
start=$(t_now_us)
t_wait_until 15 "answers again after the link came back" \
    bash -c "ip netns exec $NS dig +short +tries=1 +time=1 @127.0.0.1 -p $P_PORT a.test | grep -qx 192.0.2.1" ||
    t_fail "no answer within 15 s of the link coming back"
t_pass "answers again $(t_elapsed_ms "$start") ms after the link came back"
t_alive "$P_PID" || t_fail "the proxy died"
t_pass "same proxy process throughout"
