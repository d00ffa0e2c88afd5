# SPDX-License-Identifier: MIT
# The iface hotplug script: a reset (SIGUSR2 through the init script's
# `reset`) on ifup of a WAN interface when the service is enabled and
# running; nothing otherwise. main.reset_on_wan_up 0 turns it off, and so
# does its old name, main.restart_on_wan_up.
use_config hotplug.uci
hotplug ifup wan
hotplug ifup wwan
hotplug ifdown wan
hotplug ifupdate wan
hotplug ifup lan
FAKE_RUNNING=0
hotplug ifup wan
FAKE_RUNNING=1 FAKE_ENABLED=0
hotplug ifup wan
FAKE_ENABLED=1
use_config hotplug-off.uci
hotplug ifup wan
use_config hotplug-reset-off.uci
hotplug ifup wan
use_config "$ROOT/openwrt/files/dns-tls-proxy.config"
hotplug ifup wan
hotplug ifup wan6
rc reset
