# SPDX-License-Identifier: MIT
# The shipped /etc/config/dns-tls-proxy: Cloudflare (two) and Quad9, the
# disabled IPv6 Quad9 left out, privilege drop to nobody, dnsmasq untouched.
use_config "$ROOT/openwrt/files/dns-tls-proxy.config"
dhcp_init server=8.8.8.8
rc start
rc check
rc stop
dhcp_show
