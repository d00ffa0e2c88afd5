#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Bad input from clients gets a clear answer and harms nothing: FORMERR for a
# query whose header parses but whose question does not, NOTIMP for other
# opcodes, silence (counted) for what cannot carry an ID or is a response,
# and the proxy keeps answering good queries throughout.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy.sh"
t_init malformed
p_setup
p_start proxy -p "$P_PORT" -n "$NS" --ca-file "$T/ca.pem"
raw() { "$(dirname "$0")/dnsraw.py" "$@"; }
HDR=abcd01000001000000000000   # ID 0xabcd, RD, QDCOUNT 1

t_assert_match "$(raw udp "$P_PORT" "${HDR}4061616161")" '^id=43981 rcode=1 .*qd=0' "label over 63 bytes: FORMERR"
t_assert_match "$(raw udp "$P_PORT" "${HDR}c00c00010001")" '^id=43981 rcode=1 ' "compression pointer in the question: FORMERR"
t_assert_match "$(raw udp "$P_PORT" "${HDR}0161")" '^id=43981 rcode=1 ' "truncated question: FORMERR"
t_assert_match "$(raw udp "$P_PORT" abcd01000000000000000000)" '^id=43981 rcode=1 ' "QDCOUNT 0: FORMERR"
t_assert_match "$(raw udp "$P_PORT" abcd01000002000000000000016104746573740000010001016104746573740000010001)" \
    '^id=43981 rcode=1 ' "QDCOUNT 2: FORMERR"
t_assert_match "$(raw udp "$P_PORT" abcd29000001000000000000016104746573740000010001)" \
    '^id=43981 rcode=4 opcode=5 .*qd=1' "UPDATE opcode: NOTIMP, question echoed"
t_assert_match "$(raw tcp "$P_PORT" "${HDR}4061616161")" '^id=43981 rcode=1 ' "FORMERR over TCP too"
t_assert_eq "$(raw udp "$P_PORT" "")" noreply "empty datagram: dropped"
t_assert_eq "$(raw udp "$P_PORT" abcd0100000100)" noreply "7-byte datagram: dropped"
t_assert_eq "$(raw udp "$P_PORT" abcd81000001000000000000016104746573740000010001)" noreply "a response (QR set): dropped"
t_assert_eq "$(p_stat errors dropped)" 3 "dropped datagrams are counted"
t_assert_eq "$(p_stat errors formerr)" 6 "FORMERR replies are counted"
t_assert_eq "$(p_dig a.test +short)" 192.0.2.1 "good queries still answered"
