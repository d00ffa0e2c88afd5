# SPDX-License-Identifier: MIT
# dnsmasq integration: the first start keeps a backup of dnsmasq's settings
# in its own section and points it at the proxy (a domain-specific server is
# kept); restart, boot (as after a power cut) and an unchanged reload write
# nothing; a port change updates the server; stop puts everything back.
dhcp_init server=8.8.8.8 server=/lan.example/192.168.1.5 cachesize=1000
use_config dnsmasq.uci
rc start
dhcp_show
rc restart
rc boot
rc reload
use_config dnsmasq-port.uci
rc reload
dhcp_show
rc stop
dhcp_show
