# SPDX-License-Identifier: MIT
# Integration on with noresolv already 0, then switched off by a reload:
# dnsmasq's settings come back. Then an IPv6-only proxy, then a system with
# no dnsmasq section at all.
dhcp_init noresolv=0
use_config dnsmasq.uci
rc start
use_config dnsmasq-off.uci
rc reload
dhcp_show
use_config dnsmasq-ipv6.uci
rc reload
dhcp_show
rc shutdown
dhcp_show
UCI_SECTION=0
use_config dnsmasq.uci
rc start
