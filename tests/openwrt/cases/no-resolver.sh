# SPDX-License-Identifier: MIT
# Nothing usable: an error in the log, no instance (procd stops a running
# one), dnsmasq left with (or given back) its own upstreams.
dhcp_init server=8.8.8.8
use_config dnsmasq.uci
rc start
use_config none-usable.uci
rc reload
dhcp_show
